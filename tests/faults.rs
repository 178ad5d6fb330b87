//! Faults found in review (issue 12, item 7), each silent before its fix:
//!
//! - an index file damaged in its middle was memory-mapped as valid: the catalog's
//!   fingerprint covers only the file's size and its first and last 4 KiB. Every save now ends
//!   the file with a CRC-32 of the whole file, checked in the background after mapping; a
//!   mismatch logs a warning and the next query rebuilds the index from rows;
//! - a zero vector's cosine distance is NaN in the exact paths (as in pgvector) but 1.0 in
//!   USearch, so the index and exact paths ranked it differently: NaN now sorts after every
//!   number on both;
//! - a kNN query whose metric differs from its column's index was scanned without a word:
//!   `EXPLAIN` now names the index, both metrics and the fix, and pgvector's operator classes
//!   (`vector_l2_ops`, `vector_cosine_ops`, `vector_ip_ops`) pick an index's metric.

mod common;

use std::path::Path;
use std::sync::{Mutex, Once};

use common::*;
use vectable::{params, Database, Error, FileCheck, LoadEvent, Metric, Options, Value};

/// Warnings logged by the crate in this test binary (all tests share one logger).
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            WARNINGS.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn capture_warnings() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Warn);
    });
}

fn warned(about: &str, what: &str) -> bool {
    WARNINGS
        .lock()
        .unwrap()
        .iter()
        .any(|w| w.contains(about) && w.contains(what))
}

/// A deterministic vector in [-1, 1)^dims.
fn pseudo_vec(seed: u64, dims: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    (0..dims)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Creates `table (id INTEGER PRIMARY KEY, embedding VECTOR(dims))` with ids `1..=n`;
/// `vector(id)` gives each row's vector.
fn table_of(db: &Database, table: &str, dims: usize, n: i64, vector: impl Fn(i64) -> Vec<f32>) {
    db.execute(
        &format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY, embedding VECTOR({dims}))"),
        (),
    )
    .unwrap();
    for chunk in (1..=n).collect::<Vec<_>>().chunks(100) {
        let mut slots = Vec::new();
        let mut p = Vec::new();
        for (j, id) in chunk.iter().enumerate() {
            slots.push(format!("(${}, ${})", 2 * j + 1, 2 * j + 2));
            p.push(Value::Integer(*id));
            p.push(Value::Vector(vector(*id)));
        }
        db.execute(
            &format!("INSERT INTO {table} VALUES {}", slots.join(", ")),
            p,
        )
        .unwrap();
    }
}

fn knn(db: &Database, sql: &str, q: &[f32]) -> Vec<i64> {
    ids(&db
        .query(sql, params![q.to_vec()])
        .unwrap_or_else(|e| panic!("{sql}: {e}")))
}

/// Asserts that L2 kNN on `table` equals brute force over the rows for a few queries.
fn assert_l2_knn_exact(db: &Database, table: &str, dims: usize) {
    let rows = all_vectors(db, table);
    for s in 0..8 {
        let q = pseudo_vec(7_000_001 + s, dims);
        let got = knn(
            db,
            &format!("SELECT id FROM {table} ORDER BY embedding <-> $1 LIMIT 10"),
            &q,
        );
        let truth: Vec<i64> = brute_force(&rows, &q, 10, l2)
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(got, truth, "{table}: query {s}");
    }
}

fn last_load(db: &Database, table: &str) -> LoadEvent {
    status(db, table, "embedding").last_load
}

/// Flips one bit at `at` in the index file of `table`; asserts `at` is more than 4 KiB from
/// both ends of the file, where the fingerprint does not look.
fn damage_middle(dir: &Path, table: &str, at: usize) {
    let path = dir
        .join("vectors")
        .join(format!("{table}_embedding.usearch"));
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(
        at > 4096 && at + 4096 < bytes.len(),
        "offset {at} of {}",
        bytes.len()
    );
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
}

const DIMS: usize = 32;
const ROWS: i64 = 1500;

/// A database with `table` (1,500 × 32-d, L2) whose index is built and saved.
fn saved_index(dir: &Path, table: &str) {
    let db = Database::open(dir).unwrap();
    table_of(&db, table, DIMS, ROWS, |id| pseudo_vec(id as u64, DIMS));
    assert_l2_knn_exact(&db, table, DIMS);
    assert_eq!(last_load(&db, table).kind(), "built");
}

/// A file damaged in its middle passes the open-time checks and is mapped; the background
/// check finds the damage, warns, and the next query rebuilds the index from rows. A clean
/// file passes the check.
#[test]
fn index_file_damaged_in_the_middle_is_found_by_the_background_check() {
    capture_warnings();
    let dir = tempfile::tempdir().unwrap();
    saved_index(dir.path(), "damaged");
    // 1,500 × 32 f32 = 192,000 bytes of vectors near the start of the file; the graph follows.
    damage_middle(dir.path(), "damaged", 100_001);
    let db = Database::open(dir.path()).unwrap();
    let q = pseudo_vec(1, DIMS);
    let sql = "SELECT id FROM damaged ORDER BY embedding <-> $1 LIMIT 10";
    knn(&db, sql, &q);
    // The open-time checks do not read the middle: the file is mapped.
    assert_eq!(last_load(&db, "damaged").kind(), "mapped");
    db.wait_for_index_checks();
    let st = status(&db, "damaged", "embedding");
    match &st.file_check {
        FileCheck::Failed { reason } => assert!(reason.contains("checksum"), "{reason}"),
        other => panic!("the damaged file passed its check: {other:?}"),
    }
    assert!(
        warned("damaged_embedding_hnsw", "checksum"),
        "no warning: {:?}",
        WARNINGS.lock().unwrap()
    );
    // The next query rebuilds from rows, and answers equal brute force.
    assert_l2_knn_exact(&db, "damaged", DIMS);
    match last_load(&db, "damaged") {
        LoadEvent::Rebuilt { reason, .. } => assert!(reason.contains("checksum"), "{reason}"),
        other => panic!("not rebuilt: {other}"),
    }
    assert_eq!(
        status(&db, "damaged", "embedding").file_check,
        FileCheck::NotApplicable
    );
    drop(db);
    // The rebuild saved a sound file: it is mapped and passes its check.
    let db = Database::open(dir.path()).unwrap();
    assert_l2_knn_exact(&db, "damaged", DIMS);
    assert_eq!(last_load(&db, "damaged").kind(), "mapped");
    db.wait_for_index_checks();
    assert_eq!(
        status(&db, "damaged", "embedding").file_check,
        FileCheck::Passed
    );
}

/// A write that reaches the index before its check has failed (the mapped index is promoted
/// from the damaged file) must not save it as a new, valid-looking file: `CHECKPOINT` skips
/// it, the next query rebuilds it with the write, and a reopen finds a sound file.
#[test]
fn a_damaged_index_is_never_saved_over_its_file() {
    capture_warnings();
    let dir = tempfile::tempdir().unwrap();
    saved_index(dir.path(), "written");
    damage_middle(dir.path(), "written", 100_001);
    let moved = pseudo_vec(99, DIMS);
    {
        let db = Database::open(dir.path()).unwrap();
        knn(
            &db,
            "SELECT id FROM written ORDER BY embedding <-> $1 LIMIT 1",
            &moved,
        );
        assert_eq!(last_load(&db, "written").kind(), "mapped");
        db.execute(
            "UPDATE written SET embedding = $1 WHERE id = 700",
            params![moved.clone()],
        )
        .unwrap();
        db.checkpoint().unwrap();
        db.wait_for_index_checks();
        assert_l2_knn_exact(&db, "written", DIMS);
        assert_eq!(last_load(&db, "written").kind(), "rebuilt");
        assert_eq!(
            knn(
                &db,
                "SELECT id FROM written ORDER BY embedding <-> $1 LIMIT 1",
                &moved
            ),
            vec![700]
        );
    }
    let db = Database::open(dir.path()).unwrap();
    assert_l2_knn_exact(&db, "written", DIMS);
    assert_eq!(last_load(&db, "written").kind(), "mapped");
    db.wait_for_index_checks();
    assert_eq!(
        status(&db, "written", "embedding").file_check,
        FileCheck::Passed
    );
    assert_eq!(
        knn(
            &db,
            "SELECT id FROM written ORDER BY embedding <-> $1 LIMIT 1",
            &moved
        ),
        vec![700]
    );
}

/// The expected cosine order: distances that are numbers first, ascending, then NaN ones
/// (zero vectors), ties by id.
fn cosine_truth(rows: &[(i64, Vec<f32>)], q: &[f32], k: usize) -> Vec<i64> {
    let mut all: Vec<(bool, f64, i64)> = rows
        .iter()
        .map(|(id, v)| {
            let d = cosine(v, q);
            (d.is_nan(), if d.is_nan() { 0.0 } else { d }, *id)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    all.into_iter().take(k).map(|x| x.2).collect()
}

/// Zero vectors under cosine: their distance is NaN (pgvector's value) and they rank after
/// every row with a number, the same in the index path (exhaustive and graph), the filtered
/// graph paths and the exact path; a zero query vector (every distance NaN) returns rows in
/// id order on every path. Before the fix the index path ranked zero vectors at USearch's 1.0,
/// ahead of rows farther than that (`k` 150 of 300 reaches past 1.0).
#[test]
fn zero_vectors_rank_the_same_in_the_index_and_exact_paths() {
    for threshold in [2_000, 0] {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_with(dir.path(), Options::new().exact_search_threshold(threshold))
            .unwrap();
        let dims = 8;
        table_of(&db, "z", dims, 300, |id| {
            if id % 15 == 0 {
                vec![0.0; dims]
            } else {
                pseudo_vec(id as u64 + 500, dims)
            }
        });
        db.execute("SET ef_search = 1000", ()).unwrap();
        let rows = all_vectors(&db, "z");
        let mut queries: Vec<Vec<f32>> = (0..4).map(|s| pseudo_vec(90_000 + s, dims)).collect();
        queries.push(vec![0.0; dims]);
        for (qi, q) in queries.iter().enumerate() {
            for k in [10, 150, 290, 300] {
                let truth = cosine_truth(&rows, q, k);
                let index = knn(
                    &db,
                    &format!("SELECT id FROM z ORDER BY embedding <=> $1 LIMIT {k}"),
                    q,
                );
                assert_eq!(index, truth, "index path, query {qi}, k {k}, {threshold}");
                for strategy in ["exact", "index"] {
                    db.execute(&format!("SET filtered_knn = {strategy}"), ())
                        .unwrap();
                    let filtered = knn(
                        &db,
                        &format!(
                            "SELECT id FROM z WHERE id > 0 ORDER BY embedding <=> $1 LIMIT {k}"
                        ),
                        q,
                    );
                    assert_eq!(
                        filtered, truth,
                        "filtered_knn = {strategy}, query {qi}, k {k}, {threshold}"
                    );
                }
            }
        }
        let st = status(&db, "z", "embedding");
        assert_eq!(st.metric, Metric::Cosine);
        assert_eq!(st.rows, 300, "zero vectors are in the index");
        // The distance itself is NaN, as pgvector has it.
        let d: f64 = db
            .query_row(
                "SELECT embedding <=> $1 FROM z WHERE id = 15",
                params![queries[0].clone()],
                |r| r.get(0),
            )
            .unwrap();
        assert!(d.is_nan(), "{d}");
    }
}

fn explain(db: &Database, sql: &str) -> Vec<String> {
    values(db, &format!("EXPLAIN {sql}"))
        .into_iter()
        .map(|r| r[0].to_string())
        .collect()
}

/// A query whose metric differs from its column's index (explicit, or lazily built by the
/// first query's metric) says so in `EXPLAIN`, and is answered exactly.
#[test]
fn explain_says_when_the_query_metric_differs_from_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let dims = 4;
    table_of(&db, "t", dims, 200, |id| pseudo_vec(id as u64, dims));
    table_of(&db, "lazy", dims, 200, |id| pseudo_vec(id as u64, dims));
    db.execute(
        "CREATE INDEX t_v ON t USING hnsw (embedding vector_cosine_ops)",
        (),
    )
    .unwrap();
    let q = pseudo_vec(5, dims);
    let lit = format!("'{}'", vectable::format_vector(&q, usize::MAX));
    let plan = explain(
        &db,
        &format!("SELECT id FROM t ORDER BY embedding <-> {lit} LIMIT 5"),
    );
    assert!(plan[0].starts_with("Full scan on t"), "{plan:?}");
    assert!(
        plan.iter()
            .any(|l| l.contains("index t_v is cosine, the query uses l2 (<->): exact scan")),
        "{plan:?}"
    );
    assert!(
        plan.iter()
            .any(|l| l.contains("USING hnsw (embedding vector_l2_ops)")),
        "{plan:?}"
    );
    // With a WHERE too.
    let plan = explain(
        &db,
        &format!("SELECT id FROM t WHERE id > 3 ORDER BY embedding <#> {lit} LIMIT 5"),
    );
    assert!(
        plan.iter()
            .any(|l| l.contains("index t_v is cosine, the query uses ip (<#>): exact scan")),
        "{plan:?}"
    );
    // The matching operator uses the index, and its plan has no such line.
    let plan = explain(
        &db,
        &format!("SELECT id FROM t ORDER BY embedding <=> {lit} LIMIT 5"),
    );
    assert!(
        plan[0].starts_with("Index kNN scan on t.embedding using index t_v"),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|l| l.contains("exact scan")), "{plan:?}");
    // A lazily built index takes the first query's metric; a later metric is scanned, and
    // EXPLAIN names the lazy index.
    knn(
        &db,
        "SELECT id FROM lazy ORDER BY embedding <=> $1 LIMIT 5",
        &q,
    );
    let plan = explain(
        &db,
        &format!("SELECT id FROM lazy ORDER BY embedding <-> {lit} LIMIT 5"),
    );
    assert!(
        plan.iter().any(|l| l
            .contains("index lazy_embedding_hnsw is cosine, the query uses l2 (<->): exact scan")),
        "{plan:?}"
    );
    // The scanned answer is exact.
    let rows = all_vectors(&db, "lazy");
    let truth: Vec<i64> = brute_force(&rows, &q, 5, l2)
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(
        knn(
            &db,
            "SELECT id FROM lazy ORDER BY embedding <-> $1 LIMIT 5",
            &q
        ),
        truth
    );
}

/// pgvector's operator classes pick the metric of `CREATE INDEX … USING hnsw`: `index_status`
/// shows it, the matching operator is answered by the index (EXPLAIN ANALYZE runs an HNSW
/// search), and the answers equal brute force.
#[test]
fn operator_classes_pick_the_index_metric() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let dims = 6;
    let cases = [
        ("vector_l2_ops", Metric::L2, "<->"),
        ("vector_cosine_ops", Metric::Cosine, "<=>"),
        ("vector_ip_ops", Metric::InnerProduct, "<#>"),
    ];
    for (i, (opclass, metric, op)) in cases.iter().enumerate() {
        let table = format!("t{i}");
        table_of(&db, &table, dims, 300, |id| pseudo_vec(id as u64 * 3, dims));
        db.execute(
            &format!("CREATE INDEX {table}_idx ON {table} USING hnsw (embedding {opclass})"),
            (),
        )
        .unwrap();
        let st = status(&db, &table, "embedding");
        assert_eq!(st.metric, *metric, "{opclass}");
        assert!(st.explicit);
        assert_eq!(st.name, format!("{table}_idx"));
        let q = pseudo_vec(77 + i as u64, dims);
        let lit = format!("'{}'", vectable::format_vector(&q, usize::MAX));
        let sql = format!("SELECT id FROM {table} ORDER BY embedding {op} {lit} LIMIT 7");
        let plan = explain(&db, &sql);
        assert!(
            plan[0].starts_with(&format!(
                "Index kNN scan on {table}.embedding using index {table}_idx"
            )),
            "{opclass}: {plan:?}"
        );
        let analyzed: Vec<String> = values(&db, &format!("EXPLAIN ANALYZE {sql}"))
            .into_iter()
            .map(|r| r[0].to_string())
            .collect();
        assert!(
            analyzed.iter().any(|l| l.contains("HNSW search")),
            "{opclass}: {analyzed:?}"
        );
        let dist: fn(&[f32], &[f32]) -> f64 = match metric {
            Metric::L2 => l2,
            Metric::Cosine => cosine,
            _ => |a, b| {
                -a.iter()
                    .zip(b)
                    .map(|(x, y)| *x as f64 * *y as f64)
                    .sum::<f64>()
            },
        };
        let truth: Vec<i64> = brute_force(&all_vectors(&db, &table), &q, 7, dist)
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(ids(&db.query(&sql, ()).unwrap()), truth, "{opclass}");
        // The index still has this metric after a reopen (it is in the catalog).
        assert_eq!(last_load(&db, &table).kind(), "built");
    }
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    for (i, (_, metric, _)) in cases.iter().enumerate() {
        assert_eq!(status(&db, &format!("t{i}"), "embedding").metric, *metric);
    }
}

/// An operator class and a `metric` option that disagree are an error naming both, and no
/// index is created; an unknown operator class is unsupported.
#[test]
fn operator_class_and_metric_option_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    table_of(&db, "t", 3, 10, |id| pseudo_vec(id as u64, 3));
    let err = db
        .execute(
            "CREATE INDEX t_v ON t USING hnsw (embedding vector_l2_ops) WITH (metric = 'cosine')",
            (),
        )
        .unwrap_err();
    match &err {
        Error::InvalidArgument(msg) => {
            assert!(
                msg.contains("vector_l2_ops") && msg.contains("cosine"),
                "{msg}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(db.index_status().is_empty());
    // Agreeing ones are fine.
    db.execute(
        "CREATE INDEX t_v ON t USING hnsw (embedding vector_l2_ops) WITH (metric = 'l2', m = 8)",
        (),
    )
    .unwrap();
    assert_eq!(status(&db, "t", "embedding").metric, Metric::L2);
    assert_eq!(status(&db, "t", "embedding").m, 8);
    let err = db
        .execute(
            "CREATE INDEX t_w ON t USING hnsw (embedding vector_hamming_ops)",
            (),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");
}
