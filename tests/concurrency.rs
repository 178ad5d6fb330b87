//! Concurrency: 4 reader threads run kNN and filtered queries on two tables while 1 writer
//! inserts, updates and deletes, checkpoints, and drops indexes (so that readers race to build
//! them lazily), with an index cache of capacity 1 so that every switch of table evicts (and
//! saves) the other table's index.
//!
//! Every write statement keeps invariants that a reader can check within one statement:
//! - rows come in groups of [`GROUP`] with the same `g` (inserted and deleted as a whole);
//! - a group's rows share `gv`, which one UPDATE bumps for the whole group;
//! - a row's vector is a function of (`id`, `ver`), and one UPDATE sets both.
//!
//! Readers check those invariants on what they read, that kNN returns exactly `k` distinct
//! rows (tables never shrink below 100 rows), nearest first, and that a filtered kNN returns
//! only matching rows. The run is bounded: if the threads do not finish within a minute of
//! the end of the workload, the test fails (a deadlock).
//!
//! 5 seconds by default; `VECTABLE_STRESS=1` runs 60 seconds.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vectable::{params, Database, Options, Value};

const DIMS: usize = 16;
const GROUP: i64 = 4;
const TABLES: [&str; 2] = ["t", "u"];
const K: usize = 10;

/// The vector of row `id` at version `ver`.
fn vector_of(id: i64, ver: i64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64((id as u64).wrapping_mul(1_000_003) ^ ver as u64);
    (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn insert_group(db: &Database, table: &str, g: i64) {
    let mut sql = format!("INSERT INTO {table} (id, g, gv, ver, v) VALUES ");
    let mut ps: Vec<Value> = Vec::new();
    for i in 0..GROUP {
        let id = g * GROUP + i;
        if i > 0 {
            sql.push_str(", ");
        }
        let b = ps.len();
        sql.push_str(&format!("(${}, ${}, 0, 0, ${})", b + 1, b + 2, b + 3));
        ps.extend([
            Value::Integer(id),
            Value::Integer(g),
            Value::Vector(vector_of(id, 0)),
        ]);
    }
    db.execute(&sql, ps).unwrap();
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>()
}

/// One reader statement, checked. Returns the number of rows it read.
fn read_once(db: &Database, rng: &mut StdRng) -> usize {
    let table = TABLES[rng.random_range(0..2)];
    match rng.random_range(0..4) {
        0 | 1 => {
            let q: Vec<f32> = (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let filtered = rng.random_bool(0.5);
            let sql = if filtered {
                format!(
                    "SELECT id, g, ver, v FROM {table} WHERE g % 3 = 0 ORDER BY v <-> $1 LIMIT {K}"
                )
            } else {
                format!("SELECT id, g, ver, v FROM {table} ORDER BY v <-> $1 LIMIT {K}")
            };
            let rows = db.query(&sql, params![q.clone()]).unwrap();
            if !filtered {
                assert_eq!(rows.len(), K, "{sql}");
            }
            let mut ids = Vec::new();
            let mut last = f32::NEG_INFINITY;
            for r in rows.iter() {
                let (id, g, ver): (i64, i64, i64) =
                    (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap());
                let v: Vec<f32> = r.get(3).unwrap();
                assert_eq!(
                    v,
                    vector_of(id, ver),
                    "{table} row {id}: vector and ver disagree"
                );
                assert_eq!(g, id / GROUP, "{table} row {id}");
                if filtered {
                    assert_eq!(g % 3, 0, "{sql}: row {id} does not match the filter");
                }
                let d = l2(&v, &q);
                assert!(d >= last - 1e-4, "{sql}: not nearest first");
                last = d;
                ids.push(id);
            }
            let n = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), n, "{sql}: a row twice");
            n
        }
        2 => {
            let bad = db
                .query(
                    &format!(
                        "SELECT g, count(*), min(gv), max(gv) FROM {table} GROUP BY g \
                         HAVING count(*) <> {GROUP} OR min(gv) <> max(gv)"
                    ),
                    (),
                )
                .unwrap();
            assert_eq!(bad.len(), 0, "{table}: a group half written: {bad:?}");
            1
        }
        _ => {
            let n: i64 = db
                .query_row(&format!("SELECT count(*) FROM {table}"), (), |r| r.get(0))
                .unwrap();
            assert!(n >= 100 && n % GROUP == 0, "{table}: {n} rows");
            1
        }
    }
}

#[test]
fn four_readers_one_writer_evictions_and_checkpoints() {
    let stress = std::env::var("VECTABLE_STRESS").is_ok_and(|v| v == "1");
    let run_for = Duration::from_secs(if stress { 60 } else { 5 });
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with(
        dir.path(),
        Options::new()
            .index_cache_capacity(1)
            .checkpoint_changes(50),
    )
    .unwrap();
    let mut next_group = [0i64; 2];
    for (ti, table) in TABLES.iter().enumerate() {
        db.execute(
            &format!(
                "CREATE TABLE {table} (id INTEGER PRIMARY KEY, g INTEGER NOT NULL, \
                 gv INTEGER NOT NULL, ver INTEGER NOT NULL, v VECTOR({DIMS}))"
            ),
            (),
        )
        .unwrap();
        for g in 0..50 {
            insert_group(&db, table, g);
        }
        next_group[ti] = 50;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = mpsc::channel::<&'static str>();
    let mut handles = Vec::new();
    for r in 0..4u64 {
        let (db, stop, reads, done) = (db.clone(), stop.clone(), reads.clone(), done_tx.clone());
        handles.push(std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(r);
            while !stop.load(Ordering::Relaxed) {
                read_once(&db, &mut rng);
                reads.fetch_add(1, Ordering::Relaxed);
            }
            done.send("reader").unwrap();
        }));
    }
    let writer = {
        let (db, stop, done) = (db.clone(), stop.clone(), done_tx.clone());
        std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(99);
            // Live groups per table, and each row's version.
            let mut groups: [Vec<i64>; 2] = [(0..50).collect(), (0..50).collect()];
            let mut vers = std::collections::HashMap::<(usize, i64), i64>::new();
            let mut writes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let ti = rng.random_range(0..2);
                let table = TABLES[ti];
                let live = &mut groups[ti];
                match rng.random_range(0..100) {
                    0..=29 => {
                        let g = next_group[ti];
                        next_group[ti] += 1;
                        insert_group(&db, table, g);
                        live.push(g);
                    }
                    30..=54 if live.len() > 26 => {
                        let g = live.swap_remove(rng.random_range(0..live.len()));
                        let n = db
                            .execute(&format!("DELETE FROM {table} WHERE g = $1"), params![g])
                            .unwrap();
                        assert_eq!(n, GROUP as u64);
                    }
                    55..=69 => {
                        let g = live[rng.random_range(0..live.len())];
                        db.execute(
                            &format!("UPDATE {table} SET gv = gv + 1 WHERE g = $1"),
                            params![g],
                        )
                        .unwrap();
                    }
                    70..=94 => {
                        let g = live[rng.random_range(0..live.len())];
                        let id = g * GROUP + rng.random_range(0..GROUP);
                        let ver = vers.entry((ti, id)).or_insert(0);
                        *ver += 1;
                        db.execute(
                            &format!("UPDATE {table} SET v = $1, ver = $2 WHERE id = $3"),
                            params![vector_of(id, *ver), *ver, id],
                        )
                        .unwrap();
                    }
                    95..=97 => db.execute("CHECKPOINT", ()).map(|_| ()).unwrap(),
                    _ => db
                        .execute(&format!("DROP INDEX IF EXISTS {table}_v_hnsw"), ())
                        .map(|_| ())
                        .unwrap(),
                }
                writes += 1;
            }
            done.send("writer").unwrap();
            writes
        })
    };
    drop(done_tx);
    let started = Instant::now();
    std::thread::sleep(run_for);
    stop.store(true, Ordering::Relaxed);
    // Bounded: every thread reports within a minute, or the run deadlocked.
    for _ in 0..5 {
        match done_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("threads still running a minute after the stop: deadlock")
            }
            // A thread panicked (its assertion is reported by join below).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    for h in handles {
        h.join().expect("a reader failed");
    }
    let writes = writer.join().expect("the writer failed");
    let reads = reads.load(Ordering::Relaxed);
    let evictions: Vec<String> = db
        .index_status()
        .iter()
        .map(|s| format!("{}.{}: {}", s.table, s.column, s.last_load))
        .collect();
    eprintln!(
        "concurrency: {reads} reads and {writes} writes in {:.1} s; indexes {evictions:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(reads > 0 && writes > 0);
    db.wait_for_tail_flushes().unwrap();
    // After the run: each index holds exactly the table's vectors.
    for table in TABLES {
        let n: u64 = db
            .query_row(&format!("SELECT count(*) FROM {table}"), (), |r| r.get(0))
            .unwrap();
        db.query(
            &format!("SELECT id FROM {table} ORDER BY v <-> $1 LIMIT 1"),
            params![vec![0f32; DIMS]],
        )
        .unwrap();
        let st = db
            .index_status()
            .into_iter()
            .find(|s| s.table == table)
            .unwrap();
        assert_eq!(
            st.rows, n,
            "{table}: index and rows disagree ({})",
            st.last_load
        );
    }
}

// ---------------------------------------------------------------------------------------
// Index builds that block nobody (issue 12, item 4). A build is held open, not timed: the
// progress callback of the build blocks its worker threads at their first report (a `Gate`)
// until the test releases them, so "the build is still running" is a fact, not a guess.
// Threads that must not block run with a bound (`within`): if they do not finish within two
// minutes the test fails as a deadlock would, never on speed.

/// Holds index builds at their first progress report while armed; counts build starts.
#[derive(Default)]
struct Gate {
    state: std::sync::Mutex<GateState>,
    cv: std::sync::Condvar,
}

#[derive(Default)]
struct GateState {
    armed: bool,
    reached: bool,
    /// Builds started (progress reports of `building index` with `done == 0`).
    starts: u64,
}

impl Gate {
    fn options(gate: &Arc<Gate>) -> Options {
        let g = gate.clone();
        Options::new()
            // Searches of an index this small compare every vector: the answers equal an
            // exact scan exactly when the index holds exactly the table's vectors.
            .exact_search_threshold(1_000_000)
            .on_progress(move |p| {
                if !p.task.starts_with("building index") {
                    return;
                }
                let mut s = g.state.lock().unwrap();
                if p.done == 0 {
                    s.starts += 1;
                }
                if s.armed && p.done > 0 && p.done < p.total {
                    s.reached = true;
                    g.cv.notify_all();
                    while s.armed {
                        s = g.cv.wait(s).unwrap();
                    }
                }
            })
    }

    fn arm(&self) {
        let mut s = self.state.lock().unwrap();
        s.armed = true;
        s.reached = false;
    }

    /// Blocks until a build is held at the gate.
    fn wait_reached(&self) {
        let mut s = self.state.lock().unwrap();
        let bound = Instant::now() + Duration::from_secs(120);
        while !s.reached {
            assert!(Instant::now() < bound, "no index build reached the gate");
            s = self
                .cv
                .wait_timeout(s, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    fn release(&self) {
        self.state.lock().unwrap().armed = false;
        self.cv.notify_all();
    }

    fn starts(&self) -> u64 {
        self.state.lock().unwrap().starts
    }
}

/// Runs `f` on another thread and returns its result; fails if it has not finished within
/// two minutes (it is blocked: a deadlock bound, not a speed assertion).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("{what} did not finish: blocked"))
}

const BUILD_ROWS: i64 = 3_000;

/// The model of a table: id → vector.
type Model = std::collections::BTreeMap<i64, Vec<f32>>;

/// `t` (or `table`) with `BUILD_ROWS` rows and no index.
fn build_table(db: &Database, table: &str, rows: i64) -> Model {
    db.execute(
        &format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY, v VECTOR({DIMS}))"),
        (),
    )
    .unwrap();
    let mut model = Model::new();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(500) {
        let mut sql = format!("INSERT INTO {table} (id, v) VALUES ");
        let mut ps: Vec<Value> = Vec::new();
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
            ps.extend([Value::Integer(*id), Value::Vector(vector_of(*id, 0))]);
            model.insert(*id, vector_of(*id, 0));
        }
        db.execute(&sql, ps).unwrap();
    }
    model
}

/// The ids of the `k` nearest rows of the model (L2), nearest first, ties by id.
fn nearest(model: &Model, q: &[f32], k: usize) -> Vec<i64> {
    let mut all: Vec<(f32, i64)> = model.iter().map(|(id, v)| (l2(v, q), *id)).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|x| x.1).collect()
}

fn knn(db: &Database, table: &str, q: &[f32], k: usize) -> Vec<i64> {
    db.query(
        &format!("SELECT id FROM {table} ORDER BY v <-> $1 LIMIT {k}"),
        params![q.to_vec()],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0).unwrap())
    .collect()
}

fn build_progress(db: &Database, table: &str) -> Option<vectable::BuildProgress> {
    db.index_status()
        .into_iter()
        .find(|s| s.table == table)
        .and_then(|s| s.build)
}

/// Single-row writes while a build runs: inserts of new ids, vector updates, deletes. Applies
/// them to `model` and returns the ids inserted or updated.
fn single_row_writes(db: &Database, table: &str, model: &mut Model, first_new: i64) -> Vec<i64> {
    let mut written = Vec::new();
    for i in 0..40 {
        let id = first_new + i;
        db.execute(
            &format!("INSERT INTO {table} (id, v) VALUES ($1, $2)"),
            params![id, vector_of(id, 0)],
        )
        .unwrap();
        model.insert(id, vector_of(id, 0));
        written.push(id);
    }
    for id in (0..BUILD_ROWS).step_by(150) {
        db.execute(
            &format!("UPDATE {table} SET v = $1 WHERE id = $2"),
            params![vector_of(id, 1), id],
        )
        .unwrap();
        model.insert(id, vector_of(id, 1));
        written.push(id);
    }
    for id in (7..BUILD_ROWS).step_by(300) {
        assert_eq!(
            db.execute(&format!("DELETE FROM {table} WHERE id = $1"), [id])
                .unwrap(),
            1
        );
        model.remove(&id);
    }
    written
}

/// The index answers equal the model's: every row written is found at distance 0 as its own
/// nearest, deleted rows are gone, and random queries return the model's nearest.
fn assert_index_equals_model(db: &Database, table: &str, model: &Model, written: &[i64]) {
    let st = db
        .index_status()
        .into_iter()
        .find(|s| s.table == table)
        .unwrap();
    assert_eq!(st.build, None, "{table}: still building");
    assert_eq!(st.rows, model.len() as u64, "{table}: {}", st.last_load);
    for id in written {
        let v = &model[id];
        assert_eq!(
            knn(db, table, v, 1),
            [*id],
            "{table}: row {id} written during the build"
        );
    }
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..20 {
        let q: Vec<f32> = (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        assert_eq!(knn(db, table, &q, K), nearest(model, &q, K), "{table}");
    }
}

#[test]
fn a_lazy_build_blocks_no_writer_and_no_reader() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let db = Database::open_with(dir.path(), Gate::options(&gate)).unwrap();
    let mut model = build_table(&db, "t", BUILD_ROWS);
    let other = build_table(&db, "u", 500);
    // `u`'s index is built (the query waits for it: the default).
    let q: Vec<f32> = vector_of(-1, 0);
    assert_eq!(knn(&db, "u", &q, K), nearest(&other, &q, K));
    assert!(db.index_build_wait());

    db.execute("SET index_build_wait = off", ()).unwrap();
    assert!(!db.index_build_wait());
    gate.arm();
    // The query that starts the lazy build answers at once, with exact distances.
    assert_eq!(knn(&db, "t", &q, K), nearest(&model, &q, K));
    gate.wait_reached();
    let p = build_progress(&db, "t").expect("t's index is being built");
    assert!(p.done > 0 && p.done < p.total, "{p:?}");
    let plan = db
        .query(
            "EXPLAIN ANALYZE SELECT id FROM t ORDER BY v <-> $1 LIMIT 3",
            params![q.clone()],
        )
        .unwrap();
    let plan: Vec<String> = plan.iter().map(|r| r.get(0).unwrap()).collect();
    assert!(
        plan.iter()
            .any(|l| l.contains("is being built") && l.contains("exact distances")),
        "{plan:?}"
    );

    // A writer completes single-row statements while the build is held.
    let (w, mut m) = (db.clone(), model.clone());
    let (written, m) = within("the writer", move || {
        let written = single_row_writes(&w, "t", &mut m, 100_000);
        (written, m)
    });
    model = m;
    assert!(
        build_progress(&db, "t").is_some(),
        "the build was still running while the writer wrote"
    );
    // Readers of another table and of the same table proceed: exact answers meanwhile,
    // including the rows written during the build.
    let r = db.clone();
    let (model2, other2) = (model.clone(), other.clone());
    within("the readers", move || {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..10 {
            let q: Vec<f32> = (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            assert_eq!(knn(&r, "u", &q, K), nearest(&other2, &q, K));
            assert_eq!(knn(&r, "t", &q, K), nearest(&model2, &q, K));
        }
        let n: i64 = r
            .query_row("SELECT count(*) FROM t", (), |row| row.get(0))
            .unwrap();
        assert_eq!(n as usize, model2.len());
    });
    assert!(build_progress(&db, "t").is_some());
    assert_eq!(gate.starts(), 2, "u's build and t's");

    gate.release();
    // Waiting for the build: the next query answers from the published index.
    db.execute("SET index_build_wait = on", ()).unwrap();
    knn(&db, "t", &q, K);
    assert_eq!(common_status(&db, "t").last_load.kind(), "built");
    assert_index_equals_model(&db, "t", &model, &written);
    assert_eq!(gate.starts(), 2);
    // The build saved its graph as of its snapshot before catching up, holding no lock; its
    // publication saved nothing (a save there held writers for the whole file write). The
    // 70 rows written during the build (40 inserts, 20 updates, 10 deletes) are the index's
    // unsaved changes, kept in the change log.
    let st = common_status(&db, "t");
    assert!(st.file_bytes.is_some_and(|b| b > 0), "{st:?}");
    assert_eq!(st.dirty_changes, written.len() as u64 + 10, "{st:?}");
}

fn common_status(db: &Database, table: &str) -> vectable::IndexStatus {
    db.index_status()
        .into_iter()
        .find(|s| s.table == table)
        .unwrap()
}

#[test]
fn queries_waiting_for_a_lazy_build_share_one_build_and_block_no_writer() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let db = Database::open_with(dir.path(), Gate::options(&gate)).unwrap();
    let mut model = build_table(&db, "t", BUILD_ROWS);
    gate.arm();
    let queries: Vec<Vec<f32>> = (0..2).map(|i| vector_of(-10 - i, 0)).collect();
    let waiting: Vec<_> = queries
        .iter()
        .map(|q| {
            let (db, q) = (db.clone(), q.clone());
            std::thread::spawn(move || knn(&db, "t", &q, K))
        })
        .collect();
    // Both queries wait for the one build (held at the gate).
    let bound = Instant::now() + Duration::from_secs(120);
    while build_progress(&db, "t").is_none_or(|p| p.waiting < 2) {
        assert!(Instant::now() < bound, "the queries never both waited");
        std::thread::sleep(Duration::from_millis(2));
    }
    // Waiting queries hold no lock: a writer proceeds.
    let w = db.clone();
    within("the writer", move || {
        w.execute(
            "INSERT INTO t (id, v) VALUES ($1, $2)",
            params![200_000, vector_of(200_000, 0)],
        )
        .unwrap();
    });
    model.insert(200_000, vector_of(200_000, 0));
    assert!(build_progress(&db, "t").is_some());
    gate.release();
    for (h, q) in waiting.into_iter().zip(&queries) {
        assert_eq!(h.join().unwrap(), nearest(&model, q, K));
    }
    assert_eq!(gate.starts(), 1, "one build for both queries");
    assert_eq!(common_status(&db, "t").last_load.kind(), "built");
    assert_index_equals_model(&db, "t", &model, &[200_000]);
}

#[test]
fn create_index_includes_every_write_acknowledged_while_it_built() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let db = Database::open_with(dir.path(), Gate::options(&gate)).unwrap();
    let mut model = build_table(&db, "t", BUILD_ROWS);
    gate.arm();
    let c = db.clone();
    let create = std::thread::spawn(move || {
        c.execute("CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops)", ())
    });
    gate.wait_reached();
    let (w, mut m) = (db.clone(), model.clone());
    let (written, m) = within("the writer", move || {
        let written = single_row_writes(&w, "t", &mut m, 100_000);
        (written, m)
    });
    model = m;
    // Meanwhile, with `index_build_wait = off`, kNN queries answer exactly.
    db.execute("SET index_build_wait = off", ()).unwrap();
    let q = vector_of(-3, 0);
    let r = db.clone();
    let want = nearest(&model, &q, K);
    within("a reader", move || assert_eq!(knn(&r, "t", &q, K), want));
    assert!(build_progress(&db, "t").is_some());
    gate.release();
    create.join().unwrap().unwrap();
    let st = common_status(&db, "t");
    assert!(st.explicit);
    assert_eq!(st.last_load.kind(), "built");
    assert_index_equals_model(&db, "t", &model, &written);
    // The saved file and the change log give the same index after a reopen.
    drop(db);
    let db =
        Database::open_with(dir.path(), Options::new().exact_search_threshold(1_000_000)).unwrap();
    assert_index_equals_model(&db, "t", &model, &written);
}

#[test]
fn an_index_dropped_while_it_builds_is_never_published() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let db = Database::open_with(dir.path(), Gate::options(&gate)).unwrap();
    let mut model = build_table(&db, "t", BUILD_ROWS);

    // A lazy build, then DROP INDEX while it runs: the build is abandoned.
    db.execute("SET index_build_wait = off", ()).unwrap();
    gate.arm();
    knn(&db, "t", &vector_of(-1, 0), K);
    gate.wait_reached();
    let d = db.clone();
    within("DROP INDEX", move || {
        d.execute("DROP INDEX t_v_hnsw", ()).unwrap();
    });
    assert!(db.index_status().is_empty());
    let (w, mut m) = (db.clone(), model.clone());
    let (written, m) = within("the writer", move || {
        let written = single_row_writes(&w, "t", &mut m, 100_000);
        (written, m)
    });
    model = m;
    gate.release();
    // The next query builds anew (and waits for it): the index holds the current rows.
    db.execute("SET index_build_wait = on", ()).unwrap();
    let q = vector_of(-2, 0);
    assert_eq!(knn(&db, "t", &q, K), nearest(&model, &q, K));
    assert_eq!(common_status(&db, "t").last_load.kind(), "built");
    assert_index_equals_model(&db, "t", &model, &written);

    // CREATE INDEX, then DROP TABLE while it builds: the statement says so; nothing is left.
    build_table(&db, "big", BUILD_ROWS);
    gate.arm();
    let c = db.clone();
    let create = std::thread::spawn(move || {
        c.execute("CREATE INDEX big_v ON big USING hnsw (v vector_l2_ops)", ())
    });
    gate.wait_reached();
    let d = db.clone();
    within("DROP TABLE", move || {
        d.execute("DROP TABLE big", ()).unwrap();
    });
    gate.release();
    let r = create.join().unwrap();
    assert!(
        matches!(&r, Err(vectable::Error::IndexBuildAbandoned { index, .. }) if index == "big_v"),
        "{r:?}"
    );
    assert!(db.index_status().iter().all(|s| s.table != "big"));
    let files: Vec<String> = std::fs::read_dir(dir.path().join("vectors"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("big"))
        .collect();
    assert!(files.is_empty(), "{files:?}");
}

#[test]
fn set_index_build_wait_takes_on_and_off() {
    let db = Database::open_in_memory().unwrap();
    assert!(db.index_build_wait());
    for (sql, want) in [
        ("SET index_build_wait = off", false),
        ("SET index_build_wait = on", true),
        ("SET index_build_wait = 'off'", false),
        ("SET index_build_wait TO true", true),
        ("SET index_build_wait = false", false),
    ] {
        db.execute(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(db.index_build_wait(), want, "{sql}");
    }
    let e = db.execute("SET index_build_wait = maybe", ()).unwrap_err();
    assert!(
        matches!(&e, vectable::Error::InvalidArgument(m) if m.contains("index_build_wait")),
        "{e:?}"
    );
    let db = Database::open_in_memory_with(Options::new().index_build_wait(false)).unwrap();
    assert!(!db.index_build_wait());
}

#[test]
fn a_query_giving_up_on_a_build_others_wait_for_does_not_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let db = Database::open_with(dir.path(), Gate::options(&gate)).unwrap();
    let model = build_table(&db, "t", BUILD_ROWS);
    gate.arm();
    let q = vector_of(-4, 0);
    let (b, bq) = (db.clone(), q.clone());
    let waiting = std::thread::spawn(move || knn(&b, "t", &bq, K));
    let bound = Instant::now() + Duration::from_secs(120);
    while build_progress(&db, "t").is_none_or(|p| p.waiting < 1) {
        assert!(Instant::now() < bound, "the query never waited");
        std::thread::sleep(Duration::from_millis(2));
    }
    // Another query runs out of time while the build is held: it gives up, the build goes on.
    db.execute("SET statement_timeout = 1", ()).unwrap();
    let r = db.query(
        "SELECT id FROM t ORDER BY v <-> $1 LIMIT 3",
        params![q.clone()],
    );
    db.execute("SET statement_timeout = 0", ()).unwrap();
    assert!(
        matches!(r, Err(vectable::Error::Interrupted { .. })),
        "{r:?}"
    );
    assert!(build_progress(&db, "t").is_some_and(|p| p.waiting == 1));
    gate.release();
    assert_eq!(waiting.join().unwrap(), nearest(&model, &q, K));
    assert_eq!(gate.starts(), 1);
    assert_eq!(common_status(&db, "t").last_load.kind(), "built");
}

/// A write statement prepares (binds, encodes, checks keys) while readers run, and only its
/// publish excludes them (issue 12, item 4). Held open, not timed: the statement's progress
/// callback blocks it at its first report, before it has encoded a row; a reader must then
/// finish (bounded by `within`) and see none of its rows; released, the statement commits
/// and its rows and vectors are all visible at once.
#[test]
fn a_reader_runs_while_a_writer_prepares_its_statement() {
    type Held = Arc<(std::sync::Mutex<(bool, bool)>, std::sync::Condvar)>;
    // (armed, reached)
    let held: Held = Arc::new((std::sync::Mutex::new((false, false)), Default::default()));
    let h = held.clone();
    // Searches compare every vector: answers equal an exact scan when the index holds exactly
    // the table's vectors (a graph search over 10,500 random vectors may miss one).
    let options = Options::new()
        .exact_search_threshold(1_000_000)
        .on_progress(move |p| {
            if !p.task.starts_with("importing into") || p.done != 0 {
                return;
            }
            let (m, cv) = &*h;
            let mut s = m.lock().unwrap();
            if s.0 {
                s.1 = true;
                cv.notify_all();
                while s.0 {
                    s = cv.wait(s).unwrap();
                }
            }
        });
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with(dir.path(), options).unwrap();
    let mut model = build_table(&db, "t", 500);
    // The index exists (and is searched) before the write.
    let q = vector_of(1, 0);
    assert_eq!(knn(&db, "t", &q, K), nearest(&model, &q, K));
    held.0.lock().unwrap().0 = true;
    // 10,000 rows: a statement that reports progress.
    let ids: Vec<i64> = (10_000..20_000).collect();
    let mut sql = String::from("INSERT INTO t (id, v) VALUES ");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let v: Vec<String> = vector_of(*id, 0).iter().map(|x| x.to_string()).collect();
        sql.push_str(&format!("({id}, '[{}]')", v.join(",")));
        model.insert(*id, vector_of(*id, 0));
    }
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || db.execute(&sql, ()).unwrap())
    };
    {
        let (m, cv) = &*held;
        let mut s = m.lock().unwrap();
        let bound = Instant::now() + Duration::from_secs(120);
        while !s.1 {
            assert!(Instant::now() < bound, "the INSERT never reported progress");
            s = cv.wait_timeout(s, Duration::from_millis(50)).unwrap().0;
        }
    }
    // The writer holds its statement open: readers run, and see the table as before it.
    let r = db.clone();
    let (count, near) = within("a reader beside a preparing writer", move || {
        let n: i64 = r
            .query_row("SELECT count(*) FROM t", (), |row| row.get(0))
            .unwrap();
        (n, knn(&r, "t", &vector_of(10_001, 0), 1))
    });
    assert_eq!(count, 500);
    assert!(
        near[0] < 500,
        "a row of the unpublished statement was seen: {near:?}"
    );
    {
        let (m, cv) = &*held;
        m.lock().unwrap().0 = false;
        cv.notify_all();
    }
    assert_eq!(writer.join().unwrap(), 10_000);
    let n: i64 = db
        .query_row("SELECT count(*) FROM t", (), |row| row.get(0))
        .unwrap();
    assert_eq!(n, 10_500);
    db.wait_for_tail_flushes().unwrap();
    assert_index_equals_model(&db, "t", &model, &[10_001, 15_000, 19_999]);
}

/// Snapshot readers: a kNN query plans under the database lock, takes a RocksDB snapshot and
/// a view of its index there, and runs without the lock, while a writer moves rows one
/// `UPDATE` at a time (each gives its row a new point and version), and its vectors pass
/// through the tail, background flushes, merges and automatic rebuilds.
///
/// A reader reads a row's version and point (`q`), runs the kNN for `q`, then reads the
/// version again. Versions only grow, so when both reads agree the row sat at `q` for the
/// whole kNN, and its snapshot and index view, whatever statement they stand at, hold that
/// row at `q`: it must come first, at that version. (Rows never share a point: HNSW graphs
/// lose clusters of identical vectors, which would make the check a test of recall.)
#[test]
fn knn_readers_answer_as_of_one_statement_while_a_writer_moves_rows() {
    const ROWS: i64 = 1_500;
    const DIMS: usize = 8;
    let point = |id: i64, ver: i64| -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64((id as u64) << 32 ^ ver as u64);
        (0..DIMS)
            .map(|_| rng.random_range(-10.0f32..10.0))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    // Merges every 2,000 changes: the writer's 4,000 statements cross several.
    let db = Database::open_with(dir.path(), Options::new().checkpoint_changes(2_000)).unwrap();
    db.execute_batch(&format!(
        "CREATE TABLE m (id INTEGER PRIMARY KEY, ver INTEGER, v VECTOR({DIMS}))"
    ))
    .unwrap();
    for id in 0..ROWS {
        db.execute(
            "INSERT INTO m VALUES ($1, 0, $2)",
            params![id, point(id, 0)],
        )
        .unwrap();
    }
    db.execute("SET ef_search = 400", ()).unwrap();
    let knn = "SELECT id, ver, v FROM m ORDER BY v <-> $1 LIMIT 3";
    db.query(knn, params![point(0, 0)]).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let checked = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, done) = (db.clone(), done.clone());
        std::thread::spawn(move || {
            for s in 1..=4_000i64 {
                let id = (s * 7) % ROWS;
                db.execute(
                    "UPDATE m SET ver = $1, v = $2 WHERE id = $3",
                    params![s, point(id, s), id],
                )
                .unwrap();
            }
            done.store(true, Ordering::Release);
        })
    };
    let readers: Vec<_> = (0..2u64)
        .map(|seed| {
            let (db, done, checked) = (db.clone(), done.clone(), checked.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed);
                let version = |id: i64| -> i64 {
                    db.query_row("SELECT ver FROM m WHERE id = $1", params![id], |r| r.get(0))
                        .unwrap()
                };
                while !done.load(Ordering::Acquire) {
                    let id = rng.random_range(0..ROWS);
                    let before = version(id);
                    let rows = db.query(knn, params![point(id, before)]).unwrap();
                    let after = version(id);
                    let got: Vec<(i64, i64, Vec<f32>)> = rows
                        .iter()
                        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
                        .collect();
                    assert_eq!(got.len(), 3);
                    assert!(
                        got[0].0 != got[1].0 && got[1].0 != got[2].0 && got[0].0 != got[2].0,
                        "a row twice: {got:?}"
                    );
                    for (rid, ver, v) in &got {
                        assert_eq!(
                            v,
                            &point(*rid, *ver),
                            "row {rid}: vector and version disagree"
                        );
                    }
                    if before == after {
                        assert_eq!(
                            (got[0].0, got[0].1),
                            (id, before),
                            "row {id} sat at version {before} for the whole query, yet the \
                             nearest to its point are {got:?}"
                        );
                        checked.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    // The check ran, not only the reads around it.
    assert!(checked.load(Ordering::Relaxed) > 0);
}
