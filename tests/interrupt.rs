//! Cancelling statements: `Database::interrupt_handle()` from another thread or from a
//! progress callback, and `statement_timeout`. An interrupted statement returns
//! `Error::Interrupted`, writes nothing, leaves no half-built index behind, and the next
//! statement runs normally.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::{count, fixed_list, write_parquet};
use vectable::{Database, Error, InterruptHandle, InterruptReason, Options};

const DIMS: usize = 8;

/// A deterministic pseudo-random vector for row `i`.
fn vector(i: usize) -> Vec<f32> {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..DIMS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 10_000) as f32 / 10_000.0 - 0.5
        })
        .collect()
}

fn vector_text(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("[{}]", parts.join(","))
}

/// A CSV file of rows `from..to` of `t (id, name, v)`.
fn write_csv(path: &std::path::Path, from: usize, to: usize) {
    let mut text = String::from("id,name,v\n");
    for i in from..to {
        text.push_str(&format!("{i},name{i},\"{}\"\n", vector_text(&vector(i))));
    }
    std::fs::write(path, text).unwrap();
}

const SCHEMA: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v VECTOR(8))";

fn copy_sql(path: &std::path::Path) -> String {
    format!(
        "COPY t FROM '{}' WITH (FORMAT csv, HEADER true)",
        path.display()
    )
}

/// A database whose progress callback interrupts its own statements while `armed` is set,
/// at the first report with `done > 0` of a task whose name contains `task`.
struct Armed {
    db: Database,
    armed: Arc<AtomicBool>,
}

fn db_interrupting_on(dir: &std::path::Path, task: &'static str) -> Armed {
    let handle: Arc<OnceLock<InterruptHandle>> = Arc::default();
    let armed = Arc::new(AtomicBool::new(false));
    let (h, a) = (handle.clone(), armed.clone());
    let db = Database::open_with(
        dir,
        Options::new().on_progress(move |p| {
            if p.done > 0 && p.task.contains(task) && a.load(Ordering::SeqCst) {
                if let Some(h) = h.get() {
                    h.interrupt();
                }
            }
        }),
    )
    .unwrap();
    handle.set(db.interrupt_handle()).unwrap();
    Armed { db, armed }
}

/// `t` with `n` rows, loaded by COPY.
fn fill(db: &Database, dir: &std::path::Path, n: usize) {
    db.execute(SCHEMA, ()).unwrap();
    let csv = dir.join("fill.csv");
    write_csv(&csv, 0, n);
    assert_eq!(db.execute(&copy_sql(&csv), ()).unwrap(), n as u64);
    std::fs::remove_file(csv).unwrap();
}

fn is_interrupt<T: std::fmt::Debug>(r: &vectable::Result<T>) -> bool {
    matches!(
        r,
        Err(Error::Interrupted {
            reason: InterruptReason::Interrupt
        })
    )
}

/// Runs `f` while another thread calls `interrupt()` over and over; retried a few times in
/// case the statement finished before that thread got a turn. Returns the first result that
/// is an interrupt, or the last one.
fn under_interrupts<T: std::fmt::Debug>(
    db: &Database,
    mut f: impl FnMut() -> vectable::Result<T>,
) -> vectable::Result<T> {
    let mut last = None;
    for _ in 0..5 {
        let handle = db.interrupt_handle();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let interrupter = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                handle.interrupt();
                std::thread::yield_now();
            }
        });
        let r = f();
        stop.store(true, Ordering::SeqCst);
        interrupter.join().unwrap();
        if is_interrupt(&r) {
            return r;
        }
        last = Some(r);
    }
    last.unwrap()
}

#[test]
fn interrupt_handle_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<InterruptHandle>();
}

#[test]
fn an_interrupt_with_nothing_running_affects_no_later_statement() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    fill(&db, dir.path(), 100);
    let handle = db.interrupt_handle();
    handle.interrupt();
    handle.clone().interrupt();
    assert_eq!(count(&db, "t"), 100);
    assert_eq!(db.execute("DELETE FROM t WHERE id < 10", ()).unwrap(), 10);
}

#[test]
fn interrupt_cancels_a_long_scan_and_the_next_statement_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    fill(&db, dir.path(), 100_000);
    let r = under_interrupts(&db, || {
        db.query("SELECT id FROM t WHERE name = 'nobody'", ())
    });
    assert!(is_interrupt(&r), "{r:?}");
    assert_eq!(r.unwrap_err().to_string(), "interrupted");
    // Interrupts reach only running statements: this one is not affected.
    let rows = db
        .query("SELECT id FROM t WHERE name = 'name77'", ())
        .unwrap();
    assert_eq!(common::ids(&rows), [77]);
}

#[test]
fn interrupt_cancels_an_exact_knn_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    fill(&db, dir.path(), 100_000);
    db.execute("SET filtered_knn = exact", ()).unwrap();
    let q = vector_text(&vector(5));
    let sql = format!("SELECT id FROM t WHERE name <> 'x' ORDER BY v <-> '{q}' LIMIT 3");
    let r = under_interrupts(&db, || db.query(&sql, ()));
    assert!(is_interrupt(&r), "{r:?}");
    assert_eq!(common::int_column(&db, &sql)[0], 5);
}

#[test]
fn interrupted_update_and_delete_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    fill(&db, dir.path(), 100_000);
    let r = under_interrupts(&db, || db.execute("UPDATE t SET name = 'changed'", ()));
    assert!(is_interrupt(&r), "{r:?}");
    assert_eq!(
        common::int_column(&db, "SELECT count(*) FROM t WHERE name = 'changed'"),
        [0]
    );
    let r = under_interrupts(&db, || db.execute("DELETE FROM t WHERE id >= 0", ()));
    assert!(is_interrupt(&r), "{r:?}");
    assert_eq!(count(&db, "t"), 100_000);
    assert_eq!(
        db.execute("DELETE FROM t WHERE id >= 50000", ()).unwrap(),
        50_000
    );
    assert_eq!(count(&db, "t"), 50_000);
}

#[test]
fn interrupted_copy_writes_nothing_csv_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let Armed { db, armed } = db_interrupting_on(dir.path(), "importing into t");
    fill(&db, dir.path(), 1_000);
    let n = 30_000;
    let csv = dir.path().join("more.csv");
    write_csv(&csv, 1_000, 1_000 + n);
    let parquet = dir.path().join("more.parquet");
    let ids: Vec<i64> = (1_000..1_000 + n as i64).collect();
    write_parquet(
        &parquet,
        vec![
            ("id", Arc::new(arrow_array::Int64Array::from(ids)) as _),
            (
                "v",
                fixed_list(
                    &(1_000..1_000 + n)
                        .map(|i| Some(vector(i)))
                        .collect::<Vec<_>>(),
                    DIMS as i32,
                ),
            ),
        ],
    );
    let copy_parquet = format!("COPY t FROM '{}' WITH (FORMAT parquet)", parquet.display());
    armed.store(true, Ordering::SeqCst);
    for sql in [copy_sql(&csv), copy_parquet.clone()] {
        let r = db.execute(&sql, ());
        assert!(is_interrupt(&r), "{sql}: {r:?}");
        assert_eq!(count(&db, "t"), 1_000);
        assert!(db
            .query("SELECT id FROM t WHERE id = 1000", ())
            .unwrap()
            .is_empty());
    }
    armed.store(false, Ordering::SeqCst);
    assert_eq!(db.execute(&copy_parquet, ()).unwrap(), n as u64);
    assert_eq!(count(&db, "t"), 1_000 + n as i64);
}

#[test]
fn interrupted_create_index_leaves_no_index_and_builds_again() {
    let dir = tempfile::tempdir().unwrap();
    let Armed { db, armed } = db_interrupting_on(dir.path(), "building index");
    let n = 20_000;
    fill(&db, dir.path(), n);
    armed.store(true, Ordering::SeqCst);
    let r = db.execute("CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops)", ());
    assert!(is_interrupt(&r), "{r:?}");
    assert!(db.index_status().is_empty(), "{:?}", db.index_status());
    let files: Vec<_> = std::fs::read_dir(dir.path().join("vectors"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(files.is_empty(), "{files:?}");

    // A secondary index over 20,000 rows reports progress at 10,000: interrupted there.
    let r = db.execute("CREATE INDEX t_name ON t (name)", ());
    assert!(is_interrupt(&r), "{r:?}");
    assert!(db.secondary_indexes().is_empty());

    armed.store(false, Ordering::SeqCst);
    db.execute("CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops)", ())
        .unwrap();
    db.execute("CREATE INDEX t_name ON t (name)", ()).unwrap();
    let s = common::status(&db, "t", "v");
    assert!(s.explicit);
    assert_eq!(s.rows, n as u64);
    assert_eq!(db.secondary_indexes().len(), 1);
    let q = vector_text(&vector(123));
    let ids = common::int_column(
        &db,
        &format!("SELECT id FROM t ORDER BY v <-> '{q}' LIMIT 1"),
    );
    assert_eq!(ids, [123]);
}

#[test]
fn an_interrupted_lazy_index_build_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let Armed { db, armed } = db_interrupting_on(dir.path(), "building index");
    let n = 20_000;
    fill(&db, dir.path(), n);
    let q = vector_text(&vector(4_321));
    let knn = format!("SELECT id FROM t ORDER BY v <=> '{q}' LIMIT 1");
    armed.store(true, Ordering::SeqCst);
    let r = db.query(&knn, ());
    assert!(is_interrupt(&r), "{r:?}");
    assert!(db.index_status().is_empty(), "{:?}", db.index_status());
    armed.store(false, Ordering::SeqCst);
    assert_eq!(common::int_column(&db, &knn), [4_321]);
    assert_eq!(common::status(&db, "t", "v").rows, n as u64);
}

#[test]
fn statement_timeout_cancels_a_long_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    fill(&db, dir.path(), 100_000);
    let scan = "SELECT id FROM t WHERE name = 'nobody'";
    assert_eq!(db.statement_timeout(), Duration::ZERO);
    db.execute("SET statement_timeout = 1", ()).unwrap();
    assert_eq!(db.statement_timeout(), Duration::from_millis(1));
    let e = db.query(scan, ()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Interrupted {
                reason: InterruptReason::Timeout(d)
            } if d == Duration::from_millis(1)
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("statement_timeout (1ms)"), "{e}");
    // Nothing written by a timed-out write either.
    let e = db.execute("UPDATE t SET name = 'changed'", ()).unwrap_err();
    assert!(matches!(e, Error::Interrupted { .. }), "{e:?}");
    db.execute("SET statement_timeout = 0", ()).unwrap();
    assert!(db.query(scan, ()).unwrap().is_empty());
    assert_eq!(
        common::int_column(&db, "SELECT count(*) FROM t WHERE name = 'changed'"),
        [0]
    );

    // The same from Options.
    drop(db);
    let db = Database::open_with(
        dir.path(),
        Options::new().statement_timeout(Duration::from_millis(1)),
    )
    .unwrap();
    assert!(matches!(
        db.query(scan, ()),
        Err(Error::Interrupted {
            reason: InterruptReason::Timeout(_)
        })
    ));
}

#[test]
fn statement_timeout_takes_postgresql_durations() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    for (sql, ms) in [
        ("SET statement_timeout = '5s'", 5_000),
        ("SET statement_timeout TO '250ms'", 250),
        ("SET statement_timeout = '2min'", 120_000),
        ("SET statement_timeout = '1h'", 3_600_000),
        ("SET statement_timeout = '1500'", 1_500),
        ("SET statement_timeout = 0", 0),
    ] {
        db.execute(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(db.statement_timeout(), Duration::from_millis(ms), "{sql}");
    }
    db.execute("SET statement_timeout = $1", ["3s"]).unwrap();
    assert_eq!(db.statement_timeout(), Duration::from_secs(3));
    // Clones share it, as they share ef_search.
    assert_eq!(db.clone().statement_timeout(), Duration::from_secs(3));
}

#[test]
fn a_statement_timeout_that_is_not_a_duration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.execute("SET statement_timeout = '5s'", ()).unwrap();
    for (sql, value) in [
        ("SET statement_timeout = 'soon'", "soon"),
        ("SET statement_timeout = '5 days'", "5 days"),
        ("SET statement_timeout = '1.5x'", "1.5x"),
        ("SET statement_timeout = -5", "-5"),
        ("SET statement_timeout = five", "five"),
        ("SET statement_timeout = 1.5", "1.5"),
    ] {
        match db.execute(sql, ()) {
            Err(Error::InvalidDuration { setting, value: v }) => {
                assert_eq!(setting, "statement_timeout", "{sql}");
                assert_eq!(v, value, "{sql}");
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    let e = db
        .execute("SET statement_timeout = 'soon'", ())
        .unwrap_err();
    assert!(e.to_string().contains("statement_timeout"), "{e}");
    assert!(e.to_string().contains("\"soon\""), "{e}");
    // The setting kept its value.
    assert_eq!(db.statement_timeout(), Duration::from_secs(5));
}
