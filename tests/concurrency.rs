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
