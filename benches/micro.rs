//! Criterion micro-benchmarks of the per-query work around the index: parsing a kNN
//! statement; parse + bind + plan (through `EXPLAIN`, which plans without running), and bind +
//! plan alone when the statement cache holds the parse; a whole kNN query with the statement
//! cache, without it, and as a prepared `Statement`; and the scan that fetches and decodes
//! rows.
//!
//! ```text
//! cargo bench --bench micro                # all
//! cargo bench --bench micro -- parse       # a subset, by name
//! cargo bench --bench micro -- statement/  # the statement cache and prepared statements
//! ```
//!
//! Figures are criterion's (time per iteration, with a confidence interval); the suite-level
//! comparisons (SQL vs raw USearch, reload vs rebuild) are in `vectable_bench`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use vectable::{params, Database, Options};

/// Width of the bench table's vectors (all-MiniLM-L6-v2's, as in the bundled sample).
const DIMS: usize = 384;
const ROWS: usize = 1_000;
/// The statement of `vectable_bench`'s SQL-overhead suite.
const KNN: &str = "SELECT id FROM t ORDER BY v <=> $1 LIMIT 10";

fn vector(rng: &mut StdRng) -> Vec<f32> {
    (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// A `ROWS`-row table `t (id, name, lang, v VECTOR(384))` in a temporary directory.
fn table() -> (tempfile::TempDir, Database) {
    table_with(Options::new())
}

/// [`table`], opened with `options`.
fn table_with(options: Options) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with(dir.path(), options).unwrap();
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, lang TEXT, v VECTOR(384))",
        (),
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    for i in 0..ROWS as i64 {
        db.execute(
            "INSERT INTO t VALUES ($1, $2, $3, $4)",
            params![
                i,
                format!("package-{i}"),
                if i % 2 == 0 { "en" } else { "de" },
                vector(&mut rng)
            ],
        )
        .unwrap();
    }
    (dir, db)
}

fn sql(c: &mut Criterion) {
    let (_dir, db) = table();
    // Without the statement cache, every `EXPLAIN` parses its text again.
    let (_dir_off, uncached) = table_with(Options::new().statement_cache_capacity(0));
    let q = vector(&mut StdRng::seed_from_u64(2));
    let mut g = c.benchmark_group("sql");
    g.bench_function("parse kNN statement (sqlparser)", |b| {
        b.iter(|| Parser::parse_sql(&PostgreSqlDialect {}, black_box(KNN)).unwrap())
    });
    let explain = format!("EXPLAIN {KNN}");
    g.bench_function(
        "parse + bind + plan kNN statement (EXPLAIN, no statement cache)",
        |b| {
            b.iter(|| {
                uncached
                    .query(black_box(&explain), params![q.clone()])
                    .unwrap()
            })
        },
    );
    g.bench_function(
        "bind + plan kNN statement (EXPLAIN, statement cache hit)",
        |b| b.iter(|| db.query(black_box(&explain), params![q.clone()]).unwrap()),
    );
    g.finish();
}

/// The same kNN query (index kNN over 1,000 rows, k = 10) run by text with the statement cache
/// (every run after the first is a hit: no parsing), by text without it (parsed every run),
/// and through a prepared `Statement`. Each run binds the query vector and plans.
fn statement(c: &mut Criterion) {
    let (_dir, db) = table();
    let (_dir_off, uncached) = table_with(Options::new().statement_cache_capacity(0));
    let q = vector(&mut StdRng::seed_from_u64(2));
    let prepared = db.prepare(KNN).unwrap();
    let mut g = c.benchmark_group("statement");
    g.bench_function("kNN query through db.query (statement cache hit)", |b| {
        b.iter(|| db.query(black_box(KNN), params![q]).unwrap())
    });
    g.bench_function(
        "kNN query through db.query (statement_cache_capacity(0): parsed each time)",
        |b| b.iter(|| uncached.query(black_box(KNN), params![q]).unwrap()),
    );
    g.bench_function("kNN query through a prepared Statement", |b| {
        b.iter(|| prepared.query(params![q]).unwrap())
    });
    g.finish();
}

fn rows(c: &mut Criterion) {
    let (_dir, db) = table();
    let mut g = c.benchmark_group("rows");
    g.throughput(Throughput::Elements(100));
    g.bench_function(
        "scan + decode 100 rows (id, text, text, 384-d vector)",
        |b| {
            b.iter(|| {
                let rows = db.query("SELECT * FROM t LIMIT 100", ()).unwrap();
                assert_eq!(rows.len(), 100);
                rows
            })
        },
    );
    g.bench_function("scan + decode 100 rows, project id", |b| {
        b.iter(|| db.query("SELECT id FROM t LIMIT 100", ()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, sql, statement, rows);
criterion_main!(benches);
