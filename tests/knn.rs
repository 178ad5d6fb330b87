//! kNN queries on the bundled real data (5,000 Debian packages, 384-d MiniLM embeddings):
//! index results against a brute-force oracle, filtered kNN at many selectivities, metric
//! fallback, EXPLAIN, scalar subqueries as the query vector.

mod common;

use common::*;
use vectable::{params, Value};

#[test]
fn dev_queries_match_brute_force_with_high_recall() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let rows = all_vectors(&db, "packages");
    assert_eq!(rows.len(), 5000);
    let (queries, _) = dev_queries();
    let k = 10;
    let mut hits = 0usize;
    for q in &queries {
        let got = db
            .query(
                "SELECT id, embedding <=> $1 AS d FROM packages ORDER BY embedding <=> $1 LIMIT 10",
                params![q.clone()],
            )
            .unwrap();
        assert_eq!(got.len(), k);
        let truth = brute_force(&rows, q, k, cosine);
        let got_ids = ids(&got);
        hits += got_ids
            .iter()
            .filter(|id| truth.iter().any(|t| t.0 == **id))
            .count();
        // Distances returned are the true distances of the stored vectors, ascending.
        let ds: Vec<f64> = got.iter().map(|r| r.get::<f64>("d").unwrap()).collect();
        for w in ds.windows(2) {
            assert!(w[0] <= w[1]);
        }
        for (id, d) in got_ids.iter().zip(&ds) {
            let v = &rows.iter().find(|r| r.0 == *id).unwrap().1;
            assert!((cosine(v, q) - d).abs() < 1e-6);
        }
    }
    let recall = hits as f64 / (queries.len() * k) as f64;
    eprintln!(
        "recall@10 at the default ef_search over {} dev queries: {recall:.4}",
        queries.len()
    );
    assert!(recall >= 0.95, "recall@10 {recall}");
    assert_eq!(
        status(&db, "packages", "embedding").last_load.kind(),
        "built"
    );
}

#[test]
fn index_order_equals_exact_order_for_every_metric() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let rows = all_vectors(&db, "packages");
    let (queries, _) = dev_queries();
    // The exact path: a full scan + sort, forced by ordering on an expression the planner
    // does not turn into kNN (distance + 0).
    for q in queries.iter().take(20) {
        let exact = db
            .query(
                "SELECT id FROM packages ORDER BY (embedding <-> $1) + 0 LIMIT 5",
                params![q.clone()],
            )
            .unwrap();
        let truth: Vec<i64> = brute_force(&rows, q, 5, l2)
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(ids(&exact), truth);
    }
    // L2 through the index: for unit vectors the order equals cosine's.
    let q = &queries[0];
    let via_l2 = db
        .query(
            "SELECT id FROM packages ORDER BY embedding <-> $1 LIMIT 10",
            params![q.clone()],
        )
        .unwrap();
    let truth: Vec<i64> = brute_force(&rows, q, 10, l2)
        .into_iter()
        .map(|t| t.0)
        .collect();
    let overlap = ids(&via_l2).iter().filter(|i| truth.contains(i)).count();
    assert!(overlap >= 9, "{overlap}");
    // The column's index now has metric l2, so a cosine query falls back to an exact scan.
    let explain = db
        .query(
            "EXPLAIN SELECT id FROM packages ORDER BY embedding <=> $1 LIMIT 10",
            params![q.clone()],
        )
        .unwrap();
    let text: Vec<String> = explain
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect();
    assert!(text[0].starts_with("Full scan"), "{text:?}");
    let cos = db
        .query(
            "SELECT id FROM packages ORDER BY embedding <=> $1 LIMIT 10",
            params![q.clone()],
        )
        .unwrap();
    let truth: Vec<i64> = brute_force(&rows, q, 10, cosine)
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(ids(&cos), truth);
}

#[test]
fn filtered_knn_returns_min_k_matching_at_every_selectivity() {
    let dir = tempfile::tempdir().unwrap();
    // With a WHERE the distances are exact: the answer is brute force over the matching rows,
    // in order, at every selectivity.
    let db = sample_db(dir.path());
    let rows = all_vectors(&db, "packages");
    let (queries, _) = dev_queries();
    let q = &queries[3];
    // id < n selects n rows: 0.1% .. 100%.
    for n in [5i64, 50, 500, 2500, 5000] {
        let got = db
            .query(
                "SELECT id, embedding <=> $1 FROM packages WHERE id < $2 ORDER BY embedding <=> $1 LIMIT 10",
                params![q.clone(), n],
            )
            .unwrap();
        assert_eq!(got.len(), 10.min(n as usize), "selectivity {n}/5000");
        let got_ids = ids(&got);
        assert!(got_ids.iter().all(|id| *id < n));
        let subset: Vec<(i64, Vec<f32>)> = rows.iter().filter(|r| r.0 < n).cloned().collect();
        let truth = brute_force(&subset, q, 10, cosine);
        for (i, (_, td)) in truth.iter().enumerate() {
            let d: f64 = got.get(i).unwrap().get(1).unwrap();
            assert!(
                (d - td).abs() < 1e-5,
                "selectivity {n}, rank {i}: {got_ids:?} vs {truth:?}"
            );
        }
    }
    // A text filter on real categories.
    let got = db
        .query(
            "SELECT name, section FROM packages WHERE section = 'database' ORDER BY embedding <=> (SELECT embedding FROM packages WHERE name = 'postgresql-15') LIMIT 10",
            (),
        )
        .unwrap();
    let matching: i64 = db
        .query_row(
            "SELECT count(*) FROM packages WHERE section = 'database'",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(got.len() as i64, matching.min(10));
    assert!(got
        .iter()
        .all(|r| r.get::<String>(1).unwrap() == "database"));
    // No match: no rows.
    let none = db
        .query(
            "SELECT id FROM packages WHERE section = 'no-such' ORDER BY embedding <=> $1 LIMIT 10",
            params![q.clone()],
        )
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn scalar_subquery_gives_the_query_vector() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let names: Vec<String> = db
        .query("SELECT name FROM packages ORDER BY embedding <=> (SELECT embedding FROM packages WHERE name = 'curl') LIMIT 10", ())
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    if names.iter().any(|n| n == "curl") {
        assert_eq!(names[0], "curl");
    }
    // Whatever the first package is, a row is its own nearest neighbour.
    let first: String = db
        .query_row("SELECT name FROM packages WHERE id = 1", (), |r| r.get(0))
        .unwrap();
    let nearest: String = db
        .query_row(
            "SELECT name FROM packages ORDER BY embedding <=> (SELECT embedding FROM packages WHERE id = 1) LIMIT 1",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(nearest, first);
}

#[test]
fn explain_shows_the_chosen_plan() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let lines = |sql: &str| -> Vec<String> {
        db.query(sql, params![vec![0.05f32; 384]])
            .unwrap()
            .iter()
            .map(|r| r.get::<String>(0).unwrap())
            .collect()
    };
    let knn = lines("EXPLAIN SELECT name FROM packages ORDER BY embedding <=> $1 LIMIT 10");
    assert!(
        knn[0].starts_with("Index kNN scan on packages.embedding"),
        "{knn:?}"
    );
    assert!(
        knn.iter().any(|l| l.contains("metric: cosine")
            && l.contains("k: 10")
            && l.contains("ef_search: 64")),
        "{knn:?}"
    );
    let filtered = lines(
        "EXPLAIN SELECT name FROM packages WHERE section = 'net' ORDER BY embedding <=> $1 LIMIT 5",
    );
    assert!(
        filtered[0].starts_with("Filtered kNN on packages.embedding: "),
        "{filtered:?}"
    );
    assert!(
        filtered
            .iter()
            .any(|l| l.starts_with("  estimate: ") && l.contains("of a sample of 1000 rows")),
        "{filtered:?}"
    );
    assert!(
        filtered.contains(&"  filter: section = 'net'".to_string()),
        "{filtered:?}"
    );
    let scan = lines("EXPLAIN SELECT name FROM packages ORDER BY embedding <=> $1 DESC LIMIT 5");
    assert!(scan[0].starts_with("Full scan"), "{scan:?}");
    let no_limit = lines("EXPLAIN SELECT name FROM packages ORDER BY embedding <=> $1");
    assert!(no_limit[0].starts_with("Full scan"), "{no_limit:?}");
    db.execute("SET ef_search = 100", ()).unwrap();
    let knn = lines("EXPLAIN SELECT name FROM packages ORDER BY embedding <=> $1 LIMIT 10");
    assert!(knn.iter().any(|l| l.contains("ef_search: 100")), "{knn:?}");
}

#[test]
fn vector_literal_forms_and_functions() {
    let dir = tempfile::tempdir().unwrap();
    let db = vectable::Database::open(dir.path()).unwrap();
    db.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, e VECTOR(3))", ())
        .unwrap();
    db.execute(
        "INSERT INTO v VALUES (1, '[1,0,0]'), (2, ARRAY[0,1,0]), (3, [0,0,1]), (4, $1)",
        params![vec![1.0f32, 1.0, 0.0]],
    )
    .unwrap();
    let r = db
        .query_row(
            "SELECT e <-> '[0,0,0]', e <=> '[1,0,0]', e <#> '[1,0,0]', l2_distance(e, '[0,0,0]'), cosine_distance(e, ARRAY[1,0,0]), inner_product(e, [1,0,0]), vector_dims(e), vector_norm(e) FROM v WHERE id = 4",
            (),
            |r| Ok(r.values().to_vec()),
        )
        .unwrap();
    let s2 = 2f64.sqrt();
    let f = |v: &Value| match v {
        Value::Real(x) => *x,
        Value::Integer(i) => *i as f64,
        other => panic!("{other:?}"),
    };
    let want = [s2, 1.0 - 1.0 / s2, -1.0, s2, 1.0 - 1.0 / s2, 1.0, 3.0, s2];
    for (g, w) in r.iter().zip(want) {
        assert!((f(g) - w).abs() < 1e-6, "{r:?}");
    }
    let order = ids(&db
        .query(
            "SELECT id FROM v ORDER BY e <-> '[0.9, 0.1, 0]' LIMIT 4",
            (),
        )
        .unwrap());
    assert_eq!(order, vec![1, 4, 2, 3]);
}
