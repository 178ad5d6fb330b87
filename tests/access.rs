//! Access paths on the bundled sample (5,000 real Debian packages, 384-d MiniLM embeddings):
//! secondary (B-tree) indexes — round trips under writes, uniqueness, the planner's use of them
//! and its `EXPLAIN` — and filtered kNN, which must return exactly min(k, matching) rows at
//! every selectivity with every strategy, ranked by exact distance, with the recall `EXPLAIN
//! ANALYZE` reports equal to one computed here by brute force.

mod common;

use common::{cosine, dev_queries, sample_db};
use vectable::{params, Database, Error, Value};

/// (id, section, installed_size) of every row, read by a plain scan (no WHERE).
fn scalar_rows(db: &Database) -> Vec<(i64, Option<String>, Option<i64>)> {
    db.query("SELECT id, section, installed_size FROM packages", ())
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect()
}

fn sorted_ids(db: &Database, sql: &str) -> Vec<i64> {
    let mut v: Vec<i64> = db
        .query(sql, ())
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    v.sort_unstable();
    v
}

fn explain(db: &Database, sql: &str) -> Vec<String> {
    db.query(&format!("EXPLAIN {sql}"), ())
        .unwrap()
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect()
}

type Pred = Box<dyn Fn(&(i64, Option<String>, Option<i64>)) -> bool>;

/// Filters on `section` (text) and `installed_size` (integer, with NULLs), each with the
/// same predicate written in Rust.
fn filters() -> Vec<(&'static str, Pred)> {
    let sec = |f: fn(&str) -> bool| -> Pred { Box::new(move |r| r.1.as_deref().is_some_and(f)) };
    let size = |f: fn(i64) -> bool| -> Pred { Box::new(move |r| r.2.is_some_and(f)) };
    vec![
        ("section = 'libs'", sec(|s| s == "libs")),
        ("section = 'no such section'", sec(|_| false)),
        (
            "section IN ('python', 'math', 'python')",
            sec(|s| s == "python" || s == "math"),
        ),
        ("section < 'd'", sec(|s| s < "d")),
        ("section <= 'devel'", sec(|s| s <= "devel")),
        ("'x11' < section", sec(|s| s > "x11")),
        ("section >= 'utils'", sec(|s| s >= "utils")),
        (
            "section BETWEEN 'java' AND 'perl'",
            sec(|s| ("java"..="perl").contains(&s)),
        ),
        (
            "section > 'a' AND section < 'c'",
            sec(|s| s > "a" && s < "c"),
        ),
        ("section IS NULL", Box::new(|r| r.1.is_none())),
        ("installed_size IS NULL", Box::new(|r| r.2.is_none())),
        ("installed_size < 20", size(|n| n < 20)),
        (
            "installed_size BETWEEN 100 AND 150",
            size(|n| (100..=150).contains(&n)),
        ),
        (
            "installed_size = 64 AND section = 'libs'",
            Box::new(|r| r.2 == Some(64) && r.1.as_deref() == Some("libs")),
        ),
        (
            "section = 'libs' AND id % 2 = 0",
            Box::new(|r| r.1.as_deref() == Some("libs") && r.0 % 2 == 0),
        ),
        (
            "section = 'libs' OR installed_size = 64",
            Box::new(|r| r.1.as_deref() == Some("libs") || r.2 == Some(64)),
        ),
    ]
}

fn check_filters(db: &Database, when: &str) {
    let rows = scalar_rows(db);
    for (w, pred) in filters() {
        let mut want: Vec<i64> = rows.iter().filter(|r| pred(r)).map(|r| r.0).collect();
        want.sort_unstable();
        let got = sorted_ids(db, &format!("SELECT id FROM packages WHERE {w}"));
        assert_eq!(got, want, "{when}: WHERE {w}");
        let n: i64 = db
            .query_row(
                &format!("SELECT count(*) FROM packages WHERE {w}"),
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n as usize, want.len(), "{when}: count(*) WHERE {w}");
    }
}

#[test]
fn secondary_indexes_answer_like_a_scan_through_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    check_filters(&db, "no index");
    db.execute("CREATE INDEX packages_section ON packages (section)", ())
        .unwrap();
    db.execute(
        "CREATE INDEX packages_size ON packages USING btree (installed_size, section)",
        (),
    )
    .unwrap();
    // The planner uses them.
    let plan = explain(&db, "SELECT id FROM packages WHERE section = 'libs'");
    assert!(
        plan[0].starts_with(
            "Index scan on packages using packages_section (section = 'libs'; estimate "
        ),
        "{plan:?}"
    );
    let plan = explain(
        &db,
        "SELECT id FROM packages WHERE installed_size BETWEEN 100 AND 150",
    );
    assert!(
        plan[0].contains("using packages_size (installed_size BETWEEN 100 AND 150"),
        "{plan:?}"
    );
    let plan = explain(&db, "SELECT count(*) FROM packages WHERE section = 'math'");
    assert!(
        plan.iter()
            .any(|l| l.contains("count(*) counts index keys")),
        "{plan:?}"
    );
    check_filters(&db, "after CREATE INDEX");

    // Writes keep the indexes in step: inserts (with NULLs), updates of indexed and
    // unindexed columns, deletes through the index itself.
    db.execute(
        "INSERT INTO packages (id, name, section, installed_size) VALUES \
         (900001, 'a', 'libs', 64), (900002, 'b', NULL, NULL), (900003, 'c', 'zzz', 7)",
        (),
    )
    .unwrap();
    db.execute(
        "UPDATE packages SET section = 'math' WHERE section = 'python' AND installed_size < 100",
        (),
    )
    .unwrap();
    db.execute(
        "UPDATE packages SET installed_size = installed_size + 1 WHERE section = 'libs'",
        (),
    )
    .unwrap();
    db.execute(
        "UPDATE packages SET description = 'x' WHERE section = 'devel'",
        (),
    )
    .unwrap();
    let deleted = db
        .execute("DELETE FROM packages WHERE section = 'doc'", ())
        .unwrap();
    assert!(deleted > 0);
    assert_eq!(
        db.query_row(
            "SELECT count(*) FROM packages WHERE section = 'doc'",
            (),
            |r| r.get::<i64>(0)
        )
        .unwrap(),
        0
    );
    check_filters(&db, "after writes");

    // Reopened, the indexes are still there and still right.
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.secondary_indexes().len(), 2);
    check_filters(&db, "after reopen");

    // DROP INDEX: back to scans, same answers.
    db.execute("DROP INDEX packages_section", ()).unwrap();
    db.execute("DROP INDEX IF EXISTS packages_section", ())
        .unwrap();
    let plan = explain(&db, "SELECT id FROM packages WHERE section = 'libs'");
    assert_eq!(plan[0], "Full scan on packages");
    check_filters(&db, "after DROP INDEX");
    db.execute("DROP TABLE packages", ()).unwrap();
    assert!(db.secondary_indexes().is_empty());
}

#[test]
fn order_by_an_indexed_column_reads_the_index_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let queries = [
        "SELECT id, installed_size FROM packages ORDER BY installed_size LIMIT 25",
        "SELECT id, installed_size FROM packages ORDER BY installed_size DESC LIMIT 25",
        "SELECT id, installed_size FROM packages ORDER BY installed_size LIMIT 7 OFFSET 3000",
        "SELECT id, installed_size FROM packages WHERE id % 3 = 0 ORDER BY installed_size DESC LIMIT 40",
        "SELECT id, section FROM packages ORDER BY section LIMIT 4990",
    ];
    let before: Vec<_> = queries.iter().map(|q| db.query(q, ()).unwrap()).collect();
    db.execute("CREATE INDEX by_size ON packages (installed_size)", ())
        .unwrap();
    db.execute("CREATE INDEX by_section ON packages (section)", ())
        .unwrap();
    for (q, want) in queries.iter().zip(&before) {
        let plan = explain(&db, q);
        assert!(plan[0].contains("key order"), "{q}: {plan:?}");
        // Same rows in the same order, ties (many sizes repeat) broken by rowid as a scan does.
        assert_eq!(&db.query(q, ()).unwrap(), want, "{q}");
    }
}

#[test]
fn unique_indexes_are_enforced_and_write_nothing_on_violation() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT, n INTEGER, tag TEXT);
         INSERT INTO t VALUES (1, 'a@x', 1, 'p'), (2, 'b@x', 2, 'p'), (3, NULL, 3, 'q'), (4, NULL, 4, 'q');",
    )
    .unwrap();
    // Over existing duplicates: an error naming the index and a duplicated value, no index.
    match db.execute("CREATE UNIQUE INDEX t_tag ON t (tag)", ()) {
        Err(Error::DuplicateKey {
            key, index, column, ..
        }) => {
            assert!(key == "'p'" || key == "'q'", "{key}");
            assert_eq!(
                (index.as_str(), column.as_str()),
                ("unique index t_tag", "tag")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(db.secondary_indexes().is_empty());
    // NULLs are distinct, as in PostgreSQL.
    db.execute("CREATE UNIQUE INDEX t_email ON t (email)", ())
        .unwrap();
    db.execute("CREATE UNIQUE INDEX t_n ON t (n)", ()).unwrap();
    let before = db.query("SELECT * FROM t ORDER BY id", ()).unwrap();
    for (sql, dup) in [
        ("INSERT INTO t VALUES (5, 'a@x', 5, 'r')", "'a@x'"),
        (
            "INSERT INTO t VALUES (5, 'c@x', 5, 'r'), (6, 'c@x', 6, 'r')",
            "'c@x'",
        ),
        ("UPDATE t SET email = 'b@x' WHERE id = 1", "'b@x'"),
        ("UPDATE t SET n = 2 WHERE id = 3", "2"),
        ("UPDATE t SET n = 7", "7"),
    ] {
        match db.execute(sql, ()) {
            Err(Error::DuplicateKey { key, index, .. }) => {
                assert_eq!(key, dup, "{sql}");
                assert!(index.starts_with("unique index t_"), "{index}");
            }
            other => panic!("{sql}: {other:?}"),
        }
        assert_eq!(
            db.query("SELECT * FROM t ORDER BY id", ()).unwrap(),
            before,
            "{sql}"
        );
    }
    // A value freed by another row of the same statement may be taken.
    db.execute("UPDATE t SET n = n + 1", ()).unwrap();
    db.execute("UPDATE t SET n = 6 - n", ()).unwrap();
    assert_eq!(
        common::int_column(&db, "SELECT n FROM t ORDER BY id"),
        vec![4, 3, 2, 1]
    );
    db.execute(
        "INSERT INTO t VALUES (5, NULL, NULL, 'r'), (6, NULL, NULL, 'r')",
        (),
    )
    .unwrap();
    assert_eq!(
        common::int_column(&db, "SELECT id FROM t WHERE email IS NULL ORDER BY id"),
        vec![3, 4, 5, 6]
    );
    // A unique index over several columns.
    db.execute("DROP INDEX t_n", ()).unwrap();
    db.execute("CREATE UNIQUE INDEX t_tag_n ON t (tag, n)", ())
        .unwrap();
    match db.execute("UPDATE t SET tag = 'q', n = 2 WHERE id = 1", ()) {
        Err(Error::DuplicateKey { key, column, .. }) => {
            assert_eq!((key.as_str(), column.as_str()), ("('q', 2)", "tag, n"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn index_ddl_errors_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, v VECTOR(2))",
        (),
    )
    .unwrap();
    db.execute("CREATE INDEX t_s ON t (s)", ()).unwrap();
    db.execute("CREATE INDEX t_v ON t USING hnsw (v)", ())
        .unwrap();
    assert!(matches!(
        db.execute("CREATE INDEX x ON nope (s)", ()),
        Err(Error::NoSuchTable(t)) if t == "nope"
    ));
    assert!(matches!(
        db.execute("CREATE INDEX x ON t (nope)", ()),
        Err(Error::NoSuchColumn { column, .. }) if column == "nope"
    ));
    assert!(matches!(
        db.execute("CREATE INDEX t_s ON t (id)", ()),
        Err(Error::IndexExists(n)) if n == "t_s"
    ));
    assert!(matches!(
        db.execute("CREATE INDEX t_v ON t (s)", ()),
        Err(Error::IndexExists(n)) if n == "t_v"
    ));
    assert!(matches!(
        db.execute("CREATE INDEX t_s ON t USING hnsw (v)", ()),
        Err(Error::IndexExists(n)) if n == "t_s"
    ));
    assert!(matches!(
        db.execute("CREATE INDEX x ON t USING btree (v)", ()),
        Err(Error::TypeMismatch { .. })
    ));
    assert!(matches!(
        db.execute("CREATE INDEX x ON t (s, s)", ()),
        Err(Error::InvalidArgument(_))
    ));
    db.execute("CREATE INDEX IF NOT EXISTS t_s ON t (id)", ())
        .unwrap();
    assert!(matches!(
        db.execute("DROP INDEX nope", ()),
        Err(Error::NoSuchIndex(n)) if n == "nope"
    ));
    // A missing name among several drops none of them.
    assert!(matches!(
        db.execute("DROP INDEX t_s, nope", ()),
        Err(Error::NoSuchIndex(_))
    ));
    assert_eq!(db.secondary_indexes().len(), 1);
    assert!(matches!(
        db.execute("SET filtered_knn = fast", ()),
        Err(Error::UnknownStrategy(s)) if s == "fast"
    ));
    db.execute("SET filtered_knn = 'exact'", ()).unwrap();
    assert_eq!(db.filtered_knn().to_string(), "exact");
    assert_eq!(db.secondary_indexes()[0].1.name, "t_s");
    assert_eq!(db.secondary_indexes()[0].1.columns, vec![1]);
}

/// Filters on the sample from 0.1% to 100% selectivity: sections of different sizes, and
/// synthetic ones on the real rows (`installed_size` ranges, `id` ranges).
fn selectivity_filters(db: &Database) -> Vec<String> {
    let mut sections: Vec<(String, i64)> = db
        .query("SELECT section, count(*) AS n FROM packages WHERE section IS NOT NULL GROUP BY section ORDER BY n DESC, section", ())
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    let mut out = Vec::new();
    // The largest section, one around 2%, one around 0.5%, one of a handful of rows.
    for target in [1_000_000i64, 100, 25, 5] {
        if let Some(i) = sections.iter().position(|(_, n)| *n <= target) {
            out.push(format!("section = '{}'", sections.remove(i).0));
        }
    }
    for n in [5, 50, 500, 2500] {
        out.push(format!("id % 5000 < {n}"));
    }
    out.push("installed_size >= 0".to_string());
    out.push("id >= 0".to_string());
    out
}

#[test]
fn filtered_knn_returns_min_k_matching_at_every_selectivity_and_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    db.execute("CREATE INDEX packages_section ON packages (section)", ())
        .unwrap();
    db.execute(
        "CREATE INDEX packages_size ON packages (installed_size)",
        (),
    )
    .unwrap();
    let all: Vec<(i64, Vec<f32>)> = common::all_vectors(&db, "packages");
    let (queries, _) = dev_queries();
    let k = 10;
    for filter in selectivity_filters(&db) {
        // Which rows match, by the database's own scan (no kNN involved).
        let matching: std::collections::HashSet<i64> =
            sorted_ids(&db, &format!("SELECT id FROM packages WHERE {filter}"))
                .into_iter()
                .collect();
        let want_rows = k.min(matching.len());
        for strategy in ["exact", "index", "auto"] {
            db.execute(&format!("SET filtered_knn = {strategy}"), ())
                .unwrap();
            let mut recall_sum = 0.0;
            let n_queries = 20;
            for q in queries.iter().take(n_queries) {
                let rows = db
                    .query(
                        &format!("SELECT id, embedding <=> $1 AS d FROM packages WHERE {filter} ORDER BY embedding <=> $1 LIMIT {k}"),
                        params![q.clone()],
                    )
                    .unwrap();
                assert_eq!(rows.len(), want_rows, "{filter} / {strategy}");
                let got: Vec<(i64, f64)> = rows
                    .iter()
                    .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
                    .collect();
                for (id, d) in &got {
                    assert!(
                        matching.contains(id),
                        "{filter} / {strategy}: row {id} does not match"
                    );
                    let v = &all.iter().find(|r| r.0 == *id).unwrap().1;
                    assert!((cosine(v, q) - d).abs() < 1e-6, "exact distance");
                }
                assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "nearest first");
                let mut truth: Vec<f64> = all
                    .iter()
                    .filter(|r| matching.contains(&r.0))
                    .map(|r| cosine(&r.1, q))
                    .collect();
                truth.sort_by(f64::total_cmp);
                truth.truncate(k);
                if let Some(kth) = truth.last() {
                    let hits = got.iter().filter(|(_, d)| *d <= kth + 1e-9).count();
                    recall_sum += hits as f64 / truth.len() as f64;
                } else {
                    recall_sum += 1.0;
                }
            }
            let recall = recall_sum / n_queries as f64;
            let floor = if strategy == "exact" { 1.0 } else { 0.95 };
            assert!(
                recall >= floor - 1e-12,
                "{filter} / {strategy}: recall@10 {recall}"
            );
        }
    }
}

#[test]
fn explain_shows_the_filtered_knn_choice() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    db.execute("CREATE INDEX packages_section ON packages (section)", ())
        .unwrap();
    let q = "SELECT name FROM packages WHERE section = 'math' ORDER BY embedding <=> $1 LIMIT 10";
    let (queries, _) = dev_queries();
    let lines = |sql: &str| -> Vec<String> {
        db.query(&format!("EXPLAIN {sql}"), params![queries[0].clone()])
            .unwrap()
            .iter()
            .map(|r| r.get::<String>(0).unwrap())
            .collect()
    };
    let n_math: i64 = db
        .query_row(
            "SELECT count(*) FROM packages WHERE section = 'math'",
            (),
            |r| r.get(0),
        )
        .unwrap();
    let auto = lines(q);
    assert_eq!(
        auto[0],
        "Filtered kNN on packages.embedding: exact distances over the matching rows"
    );
    assert_eq!(auto[1], "  why: lowest estimated cost");
    assert!(
        auto[2].starts_with(&format!("  estimate: {n_math} of 5000 rows match (")),
        "{auto:?}"
    );
    assert!(
        auto[2].ends_with("count of index packages_section entries)"),
        "{auto:?}"
    );
    assert!(
        auto[3].starts_with("  estimated cost (µs): exact "),
        "{auto:?}"
    );
    assert_eq!(
        auto[4],
        format!("  candidates: Index scan on packages using packages_section (section = 'math'; estimate {n_math} entries)")
    );
    db.execute("SET filtered_knn = index", ()).unwrap();
    let forced = lines(q);
    assert_eq!(forced[0], "Filtered kNN on packages.embedding: HNSW search filtered to the secondary index's candidates");
    assert_eq!(forced[1], "  why: forced by SET filtered_knn = index");
    // Without a usable index: the estimate comes from a sample; graph search is iterative.
    let q2 = "SELECT name FROM packages WHERE id % 2 = 0 ORDER BY embedding <=> $1 LIMIT 10";
    let it = lines(q2);
    assert_eq!(it[0], "Filtered kNN on packages.embedding: iterative HNSW search, WHERE evaluated on the rows it returns");
    assert!(it[2].contains("of a sample of 1000 rows"), "{it:?}");
    db.execute("SET filtered_knn = auto", ()).unwrap();
    let it = lines(q2);
    assert_eq!(it[1], "  why: lowest estimated cost");
    assert!(
        it[0].contains("iterative"),
        "a 50% filter goes to the graph: {it:?}"
    );
}

#[test]
fn explain_analyze_recall_equals_brute_force_recall() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    db.execute("CREATE INDEX packages_section ON packages (section)", ())
        .unwrap();
    // A narrow ef_search so the graph answer is not always perfect.
    db.execute("SET ef_search = 8", ()).unwrap();
    let all = common::all_vectors(&db, "packages");
    let (queries, _) = dev_queries();
    let mut imperfect = 0;
    for (filter, strategy) in [
        ("id % 2 = 0", "index"),
        ("section = 'libs'", "index"),
        ("id >= 0", "auto"),
    ] {
        db.execute(&format!("SET filtered_knn = {strategy}"), ())
            .unwrap();
        let matching: std::collections::HashSet<i64> =
            sorted_ids(&db, &format!("SELECT id FROM packages WHERE {filter}"))
                .into_iter()
                .collect();
        for q in queries.iter().take(15) {
            let sql = format!(
                "SELECT id FROM packages WHERE {filter} ORDER BY embedding <=> $1 LIMIT 10"
            );
            let got = common::ids(&db.query(&sql, params![q.clone()]).unwrap());
            let rows: Vec<(i64, Vec<f32>)> = all
                .iter()
                .filter(|r| matching.contains(&r.0))
                .cloned()
                .collect();
            let truth = common::brute_force(&rows, q, 10, cosine);
            let brute = got
                .iter()
                .filter(|id| truth.iter().any(|t| t.0 == **id))
                .count() as f64
                / truth.len() as f64;
            let analyzed: Vec<String> = db
                .query(&format!("EXPLAIN ANALYZE {sql}"), params![q.clone()])
                .unwrap()
                .iter()
                .map(|r| r.get::<String>(0).unwrap())
                .collect();
            let line = analyzed
                .iter()
                .find(|l| l.trim_start().starts_with("recall@10: "))
                .unwrap_or_else(|| panic!("{analyzed:?}"));
            let reported: f64 = line.trim_start()["recall@10: ".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                (reported - brute).abs() < 1e-3,
                "{filter}: EXPLAIN ANALYZE says {reported}, brute force {brute}\n{analyzed:#?}"
            );
            assert!(
                analyzed
                    .iter()
                    .any(|l| l.starts_with("  rows returned: 10, time: ")),
                "{analyzed:?}"
            );
            if brute < 1.0 {
                imperfect += 1;
            }
        }
    }
    // The comparison must have met approximate answers, or it proves little.
    assert!(
        imperfect > 0,
        "every answer was exact; the test cannot tell recall apart"
    );
}

#[test]
fn a_point_read_of_scalar_columns_does_not_need_vectors() {
    // Rows and vectors live apart: a scan projecting scalar columns, a count and a filter
    // give the same answers as before, and the vector is still there for whoever asks.
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v VECTOR(3), s TEXT, w VECTOR(2));
         INSERT INTO t VALUES (1, '[1,2,3]', 'a', NULL), (2, NULL, 'b', '[0.5, 0.5]'), (3, '[0,0,1]', NULL, '[1,0]');
         UPDATE t SET v = '[9,9,9]' WHERE id = 3;
         UPDATE t SET s = 'c' WHERE id = 1;
         UPDATE t SET w = NULL WHERE id = 2;",
    )
    .unwrap();
    let rows = db.query("SELECT * FROM t ORDER BY id", ()).unwrap();
    assert_eq!(
        rows.values(),
        &[
            vec![
                Value::Integer(1),
                Value::Vector(vec![1.0, 2.0, 3.0]),
                Value::Text("c".into()),
                Value::Null
            ],
            vec![
                Value::Integer(2),
                Value::Null,
                Value::Text("b".into()),
                Value::Null
            ],
            vec![
                Value::Integer(3),
                Value::Vector(vec![9.0, 9.0, 9.0]),
                Value::Null,
                Value::Vector(vec![1.0, 0.0])
            ],
        ]
    );
    assert_eq!(
        common::int_column(&db, "SELECT id FROM t WHERE v IS NULL"),
        vec![2]
    );
    assert_eq!(
        common::int_column(&db, "SELECT id FROM t WHERE w IS NOT NULL"),
        vec![3]
    );
    db.execute("DELETE FROM t WHERE id = 3", ()).unwrap();
    db.execute("INSERT INTO t (id, s) VALUES (3, 'z')", ())
        .unwrap();
    assert_eq!(
        db.query("SELECT v, w FROM t WHERE id = 3", ())
            .unwrap()
            .values(),
        &[vec![Value::Null, Value::Null]]
    );
}

#[test]
fn repeated_filters_see_every_write() {
    // The candidate rowids of a secondary-index scan are cached between queries; a write to
    // the table must make the next query read the index again.
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    db.execute("CREATE INDEX packages_section ON packages (section)", ())
        .unwrap();
    let (queries, _) = dev_queries();
    let q = queries[0].clone();
    let sql = "SELECT id FROM packages WHERE section = 'math' ORDER BY embedding <=> $1 LIMIT 5";
    for strategy in ["exact", "index"] {
        db.execute(&format!("SET filtered_knn = {strategy}"), ())
            .unwrap();
        let before = common::ids(&db.query(sql, params![q.clone()]).unwrap());
        assert_eq!(
            before,
            common::ids(&db.query(sql, params![q.clone()]).unwrap())
        );
        let analyzed: Vec<String> = db
            .query(&format!("EXPLAIN ANALYZE {sql}"), params![q.clone()])
            .unwrap()
            .iter()
            .map(|r| r.get::<String>(0).unwrap())
            .collect();
        assert!(
            analyzed
                .iter()
                .any(|l| l.contains("from the cache of index scans")),
            "{strategy}: {analyzed:?}"
        );
        // Move the nearest one out of the section, and the nearest row of the whole table in.
        let nearest = common::ids(
            &db.query(
                "SELECT id FROM packages ORDER BY embedding <=> $1 LIMIT 1",
                params![q.clone()],
            )
            .unwrap(),
        )[0];
        db.execute(
            "UPDATE packages SET section = 'gone' WHERE id = $1",
            [before[0]],
        )
        .unwrap();
        db.execute(
            "UPDATE packages SET section = 'math' WHERE id = $1",
            [nearest],
        )
        .unwrap();
        let after = common::ids(&db.query(sql, params![q.clone()]).unwrap());
        assert_eq!(after[0], nearest, "{strategy}");
        assert!(
            !after.contains(&before[0]) || before[0] == nearest,
            "{strategy}"
        );
        // Put the first one back; the next strategy starts from this state.
        db.execute(
            "UPDATE packages SET section = 'math' WHERE id = $1",
            [before[0]],
        )
        .unwrap();
    }
}
