//! The Rust API: parameter forms, typed row access and its errors, `query_row` with
//! `optional()`, `execute` / `execute_batch` / `run`, schemas, index status, options, and a
//! `Database` shared by reader threads while another thread writes; prepared statements and the
//! statement cache.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use vectable::{
    params, ColumnDef, DataType, Database, Error, Metric, OptionalExtension, Options, Output,
    Quantization, Value,
};

fn open(dir: &Path) -> Database {
    Database::open(dir).unwrap()
}

fn row_values(db: &Database, sql: &str, p: impl vectable::Params) -> Vec<Value> {
    db.query_row(sql, p, |r| Ok(r.values().to_vec())).unwrap()
}

#[test]
fn params_as_unit_tuples_arrays_and_the_macro() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    assert_eq!(row_values(&db, "SELECT 1", ()), [Value::Integer(1)]);
    // Tuples of 1 to 8 elements of mixed types.
    assert_eq!(row_values(&db, "SELECT $1", (7,)), [Value::Integer(7)]);
    assert_eq!(
        row_values(&db, "SELECT $1, $2", ("a", String::from("b"))),
        [Value::Text("a".into()), Value::Text("b".into())]
    );
    assert_eq!(
        row_values(
            &db,
            "SELECT $1, $2, $3, $4, $5, $6, $7, $8",
            (1i8, 2u16, 3i32, 4u64, 5usize, 1.5f32, 2.5f64, true)
        ),
        [
            Value::Integer(1),
            Value::Integer(2),
            Value::Integer(3),
            Value::Integer(4),
            Value::Integer(5),
            Value::Real(1.5),
            Value::Real(2.5),
            Value::Boolean(true)
        ]
    );
    // u64 beyond i64 saturates.
    assert_eq!(
        row_values(&db, "SELECT $1", (u64::MAX,)),
        [Value::Integer(i64::MAX)]
    );
    // Arrays bind one parameter per element — an [f32; N] passed directly is N reals.
    assert_eq!(
        row_values(&db, "SELECT $1 + $2 + $3", [1, 2, 3]),
        [Value::Integer(6)]
    );
    assert_eq!(
        row_values(&db, "SELECT $1 || $2", ["x", "y"]),
        [Value::Text("xy".into())]
    );
    assert_eq!(
        row_values(&db, "SELECT $1, $2", [0.5f32, 2.0]),
        [Value::Real(0.5), Value::Real(2.0)]
    );
    assert_eq!(
        row_values(&db, "SELECT $1, $2", [vec![1.0f32, 2.0], vec![3.0f32]]),
        [Value::Vector(vec![1.0, 2.0]), Value::Vector(vec![3.0])]
    );
    // Vec<Value> and &[Value].
    let vals = vec![Value::Integer(3), Value::Null];
    assert_eq!(
        row_values(&db, "SELECT $1, $2 IS NULL", vals.as_slice()),
        [Value::Integer(3), Value::Boolean(true)]
    );
    assert_eq!(
        row_values(&db, "SELECT $2, $1", vals),
        [Value::Null, Value::Integer(3)]
    );

    // params! mixes types; Vec<f32>, &[f32] and [f32; N] bind as one VECTOR each; Option is NULL or the value.
    db.execute(
        "CREATE TABLE v (id INTEGER PRIMARY KEY, label TEXT, n INTEGER, e VECTOR(3))",
        (),
    )
    .unwrap();
    let owned = vec![1.0f32, 0.0, 0.0];
    let slice: &[f32] = &[0.0, 1.0, 0.0];
    let array = [0.0f32, 0.0, 1.0];
    db.execute(
        "INSERT INTO v VALUES ($1, $2, $3, $4)",
        params![1, "owned", Some(10i64), owned],
    )
    .unwrap();
    db.execute(
        "INSERT INTO v VALUES ($1, $2, $3, $4)",
        params![2, String::from("slice"), Option::<i64>::None, slice],
    )
    .unwrap();
    db.execute(
        "INSERT INTO v VALUES ($1, $2, $3, $4)",
        params![3i64, Option::<&str>::None, 30u8, array],
    )
    .unwrap();
    db.execute(
        "INSERT INTO v VALUES ($1, $2, $3, $4)",
        params![4, "none", 40, Option::<Vec<f32>>::None],
    )
    .unwrap();
    db.execute(
        "INSERT INTO v VALUES ($1, $2, $3, $4)",
        params![5, "some", 50, Some(vec![1.0f32, 1.0, 1.0])],
    )
    .unwrap();
    assert_eq!(
        values(&db, "SELECT * FROM v ORDER BY id"),
        [
            vec![
                Value::Integer(1),
                Value::Text("owned".into()),
                Value::Integer(10),
                Value::Vector(vec![1.0, 0.0, 0.0])
            ],
            vec![
                Value::Integer(2),
                Value::Text("slice".into()),
                Value::Null,
                Value::Vector(vec![0.0, 1.0, 0.0])
            ],
            vec![
                Value::Integer(3),
                Value::Null,
                Value::Integer(30),
                Value::Vector(vec![0.0, 0.0, 1.0])
            ],
            vec![
                Value::Integer(4),
                Value::Text("none".into()),
                Value::Integer(40),
                Value::Null
            ],
            vec![
                Value::Integer(5),
                Value::Text("some".into()),
                Value::Integer(50),
                Value::Vector(vec![1.0, 1.0, 1.0])
            ],
        ]
    );
    // A slice parameter as the kNN query; params![] with nothing.
    let q: &[f32] = &[0.1, 0.9, 0.0];
    assert_eq!(
        ids(&db
            .query("SELECT id FROM v ORDER BY e <-> $1 LIMIT 2", params![q])
            .unwrap()),
        [2, 1]
    );
    assert_eq!(
        db.query("SELECT count(*) FROM v", params![])
            .unwrap()
            .values(),
        [vec![Value::Integer(5)]]
    );
    // A Value parameter, and a borrowed one.
    let v = Value::Vector(vec![1.0, 0.0, 0.0]);
    assert_eq!(
        ids(&db
            .query("SELECT id FROM v WHERE e = $1", params![&v])
            .unwrap()),
        [1]
    );
    assert_eq!(
        ids(&db.query("SELECT id FROM v WHERE e = $1", (v,)).unwrap()),
        [1]
    );
}

#[test]
fn row_get_by_index_and_name_with_every_type() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, big INTEGER, neg INTEGER, r REAL, s TEXT, b BOOLEAN, e VECTOR(2), nothing TEXT)", ())
        .unwrap();
    db.execute(
        "INSERT INTO t VALUES (7, 5000000000, -3, 2.5, 'hi', TRUE, '[0.5, -1]', NULL)",
        (),
    )
    .unwrap();
    let rows = db.query("SELECT * FROM t", ()).unwrap();
    let r = rows.get(0).unwrap();
    assert_eq!(r.get::<i64>(0).unwrap(), 7);
    assert_eq!(r.get::<i64>("id").unwrap(), 7);
    assert_eq!(
        r.get::<i64>("ID").unwrap(),
        7,
        "names match case-insensitively"
    );
    assert_eq!(r.get::<i32>("id").unwrap(), 7);
    assert_eq!(r.get::<u64>("id").unwrap(), 7);
    assert_eq!(r.get::<usize>("id").unwrap(), 7);
    assert_eq!(r.get::<i64>("big").unwrap(), 5_000_000_000);
    assert_eq!(r.get::<u64>("big").unwrap(), 5_000_000_000);
    assert_eq!(r.get::<i32>("neg").unwrap(), -3);
    assert_eq!(r.get::<f64>("id").unwrap(), 7.0, "integers read as f64");
    assert_eq!(r.get::<f64>(3).unwrap(), 2.5);
    assert_eq!(r.get::<f32>("r").unwrap(), 2.5f32);
    assert_eq!(r.get::<String>(4).unwrap(), "hi");
    assert!(r.get::<bool>("b").unwrap());
    assert_eq!(r.get::<Vec<f32>>("e").unwrap(), [0.5, -1.0]);
    assert_eq!(r.get::<Value>("nothing").unwrap(), Value::Null);
    assert_eq!(r.get::<Value>("s").unwrap(), Value::Text("hi".into()));
    assert_eq!(r.get::<Option<String>>("nothing").unwrap(), None);
    assert_eq!(
        r.get::<Option<String>>("s").unwrap(),
        Some("hi".to_string())
    );
    assert_eq!(r.get::<Option<i64>>(0).unwrap(), Some(7));
    assert_eq!(
        r.get::<Option<Vec<f32>>>("e").unwrap(),
        Some(vec![0.5, -1.0])
    );
    assert_eq!(r.get_ref("s").unwrap(), vectable::ValueRef::Text("hi"));
    assert_eq!(r.values().len(), 8);
    assert_eq!(r.columns()[7], "nothing");

    // Conversions that do not hold.
    let bad = |e: Error, index: usize, name: &str, expected: &str, found: &str| match e {
        Error::InvalidColumnType {
            index: i,
            name: n,
            expected: x,
            found: f,
        } => {
            assert_eq!(
                (i, n.as_str(), x, f.as_str()),
                (index, name, expected, found)
            )
        }
        e => panic!("{e:?}"),
    };
    bad(
        r.get::<String>(0).unwrap_err(),
        0,
        "id",
        "String",
        "INTEGER",
    );
    bad(
        r.get::<i64>("nothing").unwrap_err(),
        7,
        "nothing",
        "i64",
        "NULL",
    );
    bad(r.get::<i32>("big").unwrap_err(), 1, "big", "i32", "INTEGER");
    bad(r.get::<u64>("neg").unwrap_err(), 2, "neg", "u64", "INTEGER");
    bad(
        r.get::<usize>("neg").unwrap_err(),
        2,
        "neg",
        "usize",
        "INTEGER",
    );
    bad(r.get::<i64>("r").unwrap_err(), 3, "r", "i64", "REAL");
    bad(r.get::<f64>("s").unwrap_err(), 4, "s", "f64", "TEXT");
    bad(r.get::<bool>("id").unwrap_err(), 0, "id", "bool", "INTEGER");
    bad(
        r.get::<Vec<f32>>("s").unwrap_err(),
        4,
        "s",
        "Vec<f32>",
        "TEXT",
    );
    bad(
        r.get::<String>("e").unwrap_err(),
        6,
        "e",
        "String",
        "VECTOR(2)",
    );
    bad(
        r.get::<Option<i64>>("s").unwrap_err(),
        4,
        "s",
        "i64",
        "TEXT",
    );
    // Columns that do not exist.
    assert!(matches!(r.get::<i64>(8), Err(Error::InvalidColumn(c)) if c == "8"));
    assert!(matches!(r.get::<i64>("nope"), Err(Error::InvalidColumn(c)) if c == "nope"));
    assert!(matches!(r.get_ref(100), Err(Error::InvalidColumn(_))));

    // Rows: length, iteration, positions, raw values; aliases name the result columns.
    db.execute("INSERT INTO t (id) VALUES (8), (9)", ())
        .unwrap();
    let rows = db
        .query("SELECT id AS key, s FROM t ORDER BY id", ())
        .unwrap();
    assert_eq!((rows.len(), rows.is_empty()), (3, false));
    assert_eq!(rows.columns(), ["key", "s"]);
    assert!(rows.get(3).is_none());
    assert_eq!(rows.iter().len(), 3);
    let mut keys = Vec::new();
    for row in &rows {
        keys.push(row.get::<i64>("key").unwrap());
    }
    assert_eq!(keys, [7, 8, 9]);
    assert!(
        matches!(
            rows.get(0).unwrap().get::<i64>("id"),
            Err(Error::InvalidColumn(_))
        ),
        "the alias replaces the name"
    );
    assert_eq!(rows.values()[1], [Value::Integer(8), Value::Null]);
    let owned = rows.clone().into_values();
    assert_eq!(owned.len(), 3);
    assert_eq!(owned[2][0], Value::Integer(9));
    assert!(db
        .query("SELECT * FROM t WHERE id < 0", ())
        .unwrap()
        .is_empty());
}

#[test]
fn query_row_and_optional() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')").unwrap();
    let name: String = db
        .query_row("SELECT name FROM t WHERE id = $1", [2], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "b");
    // The first row of several.
    let first: i64 = db
        .query_row("SELECT id FROM t ORDER BY id DESC", (), |r| r.get(0))
        .unwrap();
    assert_eq!(first, 3);
    // No row.
    assert!(matches!(
        db.query_row("SELECT name FROM t WHERE id = 9", (), |r| r
            .get::<String>(0)),
        Err(Error::QueryReturnedNoRows)
    ));
    let none = db
        .query_row("SELECT name FROM t WHERE id = 9", (), |r| {
            r.get::<String>(0)
        })
        .optional()
        .unwrap();
    assert_eq!(none, None);
    let some = db
        .query_row("SELECT name FROM t WHERE id = 1", (), |r| {
            r.get::<String>(0)
        })
        .optional()
        .unwrap();
    assert_eq!(some.as_deref(), Some("a"));
    // Other errors pass through optional(), from the statement and from the closure.
    assert!(matches!(
        db.query_row("SELECT * FROM nope", (), |r| r.get::<i64>(0))
            .optional(),
        Err(Error::NoSuchTable(_))
    ));
    assert!(matches!(
        db.query_row("SELECT name FROM t WHERE id = 1", (), |r| r.get::<i64>(0))
            .optional(),
        Err(Error::InvalidColumnType { .. })
    ));
    // The closure can build any value.
    let pair = db
        .query_row("SELECT id, name FROM t WHERE id = 3", (), |r| {
            Ok((r.get::<i64>(0)?, r.get::<String>(1)?))
        })
        .unwrap();
    assert_eq!(pair, (3, "c".to_string()));
}

#[test]
fn execute_returns_rows_affected() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    assert_eq!(
        db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, e VECTOR(2))",
            ()
        )
        .unwrap(),
        0
    );
    assert_eq!(
        db.execute(
            "INSERT INTO t VALUES (1, 1, '[1, 0]'), (2, 2, '[0, 1]'), (3, 3, NULL)",
            ()
        )
        .unwrap(),
        3
    );
    assert_eq!(
        db.execute(
            "INSERT INTO t (id, n) SELECT id + 10, n FROM t WHERE n >= 2",
            ()
        )
        .unwrap(),
        2
    );
    assert_eq!(
        db.execute("UPDATE t SET n = n * 10 WHERE id > 2", ())
            .unwrap(),
        3
    );
    assert_eq!(
        db.execute("UPDATE t SET n = n", ()).unwrap(),
        5,
        "matched rows count even when unchanged"
    );
    assert_eq!(
        db.execute("UPDATE t SET n = 0 WHERE id = 99", ()).unwrap(),
        0
    );
    assert_eq!(db.execute("DELETE FROM t WHERE id >= 10", ()).unwrap(), 2);
    // A SELECT's row count.
    assert_eq!(db.execute("SELECT * FROM t", ()).unwrap(), 3);
    assert_eq!(db.execute("SELECT * FROM t WHERE id > 5", ()).unwrap(), 0);
    assert_eq!(db.execute("SET ef_search = 40", ()).unwrap(), 0);
    assert_eq!(db.execute("CHECKPOINT", ()).unwrap(), 0);
    assert_eq!(
        db.execute("CREATE INDEX i ON t USING hnsw (e)", ())
            .unwrap(),
        0
    );
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, "id,n\n20,1\n21,2\n22,3\n23,4\n").unwrap();
    assert_eq!(
        db.execute(
            &format!(
                "COPY t FROM '{}' WITH (FORMAT csv, HEADER true)",
                csv.display()
            ),
            ()
        )
        .unwrap(),
        4
    );
    assert_eq!(db.execute("DROP INDEX i", ()).unwrap(), 0);
    assert_eq!(db.execute("DELETE FROM t", ()).unwrap(), 7);
    assert_eq!(db.execute("DROP TABLE t", ()).unwrap(), 0);
    // query() runs writes too and returns no rows for them.
    db.execute("CREATE TABLE u (x INTEGER)", ()).unwrap();
    let rows = db.query("INSERT INTO u VALUES (1), (2)", ()).unwrap();
    assert!(rows.is_empty() && rows.columns().is_empty());
    assert_eq!(count(&db, "u"), 2);
}

#[test]
fn execute_batch_runs_statements_in_order_and_stops_at_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute_batch(
        "CREATE TABLE b (id INTEGER PRIMARY KEY, s TEXT);
         INSERT INTO b VALUES (1, 'a;b'); -- a comment; with a semicolon
         INSERT INTO b VALUES (2, 'it''s; fine');;
         /* block; comment */ UPDATE b SET s = s || '!' WHERE id = 2;",
    )
    .unwrap();
    assert_eq!(
        values(&db, "SELECT s FROM b ORDER BY id"),
        [
            [Value::Text("a;b".into())],
            [Value::Text("it's; fine!".into())]
        ]
    );
    db.execute_batch("").unwrap();
    db.execute_batch(" ; ; ").unwrap();
    // The statement before the failing one stays; the ones after it do not run.
    let e = db.execute_batch(
        "INSERT INTO b VALUES (3, 'c'); INSERT INTO nope VALUES (1); INSERT INTO b VALUES (4, 'd')",
    );
    assert!(matches!(e, Err(Error::NoSuchTable(t)) if t == "nope"));
    assert_eq!(
        ids(&db.query("SELECT id FROM b ORDER BY id", ()).unwrap()),
        [1, 2, 3]
    );
    // A failing statement inside the batch writes nothing itself.
    let e = db.execute_batch("INSERT INTO b VALUES (5, 'e'), (1, 'dup')");
    assert!(matches!(e, Err(Error::DuplicateKey { .. })));
    assert_eq!(count(&db, "b"), 3);
    // The splitter is public.
    assert_eq!(
        vectable::split_statements("SELECT ';' ; -- x; y\nSELECT 2;;"),
        ["SELECT ';'".to_string(), "SELECT 2".to_string()]
    );
}

#[test]
fn run_returns_an_output_per_statement_kind() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let done = |s: &str| Output::Done(s.to_string());
    assert_eq!(
        db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(2))", ())
            .unwrap(),
        done("CREATE TABLE")
    );
    assert_eq!(
        db.run("INSERT INTO t VALUES (1, '[1, 0]'), (2, '[0, 1]')", ())
            .unwrap(),
        Output::Affected(2)
    );
    assert_eq!(
        db.run("UPDATE t SET e = '[1, 1]' WHERE id = 2", ())
            .unwrap(),
        Output::Affected(1)
    );
    assert_eq!(
        db.run("CREATE INDEX ti ON t USING hnsw (e)", ()).unwrap(),
        done("CREATE INDEX")
    );
    assert_eq!(db.run("SET ef_search = 16", ()).unwrap(), done("SET"));
    assert_eq!(db.run("CHECKPOINT", ()).unwrap(), done("CHECKPOINT"));
    match db.run("SELECT id, e FROM t ORDER BY id", ()).unwrap() {
        Output::Rows(rows) => {
            assert_eq!(rows.columns(), ["id", "e"]);
            assert_eq!(
                rows.values()[1],
                [Value::Integer(2), Value::Vector(vec![1.0, 1.0])]
            );
        }
        other => panic!("{other:?}"),
    }
    match db
        .run(
            "EXPLAIN SELECT id FROM t ORDER BY e <=> '[1, 0]' LIMIT 1",
            (),
        )
        .unwrap()
    {
        Output::Rows(rows) => assert!(rows
            .get(0)
            .unwrap()
            .get::<String>("plan")
            .unwrap()
            .starts_with("Index kNN scan")),
        other => panic!("{other:?}"),
    }
    match db.run("SHOW TABLES", ()).unwrap() {
        Output::Rows(rows) => assert_eq!(rows.values(), [vec![Value::Text("t".into())]]),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        db.run("DELETE FROM t WHERE id = 1", ()).unwrap(),
        Output::Affected(1)
    );
    assert_eq!(db.run("DROP INDEX ti", ()).unwrap(), done("DROP INDEX"));
    assert_eq!(db.run("DROP TABLE t", ()).unwrap(), done("DROP TABLE"));
    // run() takes exactly one statement.
    assert!(matches!(
        db.run("CREATE TABLE a (x INTEGER); CREATE TABLE b (x INTEGER)", ()),
        Err(Error::Parse { .. })
    ));
    assert!(db.tables().is_empty());
    // A trailing semicolon is fine.
    assert_eq!(
        db.run("CREATE TABLE a (x INTEGER);", ()).unwrap(),
        done("CREATE TABLE")
    );
}

#[test]
fn tables_and_table_describe_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    assert!(db.tables().is_empty());
    assert!(db.table("docs").is_none());
    db.execute("CREATE TABLE zed (x TEXT)", ()).unwrap();
    db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, score DOUBLE PRECISION, ok BOOLEAN, e VECTOR(5))", ())
        .unwrap();
    let names: Vec<String> = db.tables().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["docs", "zed"]);
    let t = db.table("DOCS").expect("lookups ignore case");
    assert_eq!(t.name, "docs");
    assert_eq!(t.primary_key, Some(0));
    let col = |name: &str, data_type, not_null| ColumnDef {
        name: name.into(),
        data_type,
        not_null,
    };
    assert_eq!(
        t.columns,
        [
            col("id", DataType::Integer, true),
            col("title", DataType::Text, true),
            col("score", DataType::Real, false),
            col("ok", DataType::Boolean, false),
            col("e", DataType::Vector(5), false),
        ]
    );
    assert_eq!(
        (t.column_index("TITLE"), t.column_index("nope")),
        (Some(1), None)
    );
    assert_eq!(t.qualified(4), "docs.e");
    assert!(matches!(
        t.require_column("nope"),
        Err(Error::NoSuchColumn { .. })
    ));
    // create_sql recreates the same schema.
    let sql = t.create_sql();
    assert_eq!(sql, "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, score REAL, ok BOOLEAN, e VECTOR(5));");
    db.execute("DROP TABLE docs", ()).unwrap();
    db.execute(&sql, ()).unwrap();
    let again = db.table("docs").unwrap();
    assert_eq!(
        (again.columns, again.primary_key),
        (t.columns, t.primary_key)
    );
    assert_ne!(again.id, t.id, "table ids are never reused");
    assert_eq!(db.path(), dir.path());
}

#[test]
fn index_status_follows_the_index_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vectors").join("docs_e.usearch");
    {
        let db = open(dir.path());
        db.execute(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, e VECTOR(3))",
            (),
        )
        .unwrap();
        db.execute(
            "CREATE TABLE other (id INTEGER PRIMARY KEY, f VECTOR(2))",
            (),
        )
        .unwrap();
        for i in 0..50i64 {
            db.execute(
                "INSERT INTO docs VALUES ($1, $2)",
                params![i, vec![i as f32, 1.0, (i % 5) as f32]],
            )
            .unwrap();
        }
        assert!(
            db.index_status().is_empty(),
            "no index before the first kNN query"
        );
        db.query("SELECT id FROM docs ORDER BY e <=> '[1, 1, 1]' LIMIT 3", ())
            .unwrap();
        let st = status(&db, "docs", "e");
        assert_eq!(
            (st.name.as_str(), st.metric, st.dims, st.explicit),
            ("docs_e_hnsw", Metric::Cosine, 3, false)
        );
        assert_eq!(
            (st.m, st.ef_construction, st.quantization),
            (16, 128, Quantization::F32)
        );
        // Built and saved; small enough that its graph takes writes itself (not mapped).
        assert_eq!((st.rows, st.dirty_changes, st.mapped), (50, 0, false));
        assert_eq!(st.last_load.kind(), "built");
        assert!(st.memory_bytes > 0);
        assert_eq!(st.file_bytes, Some(std::fs::metadata(&file).unwrap().len()));
        db.execute("INSERT INTO docs VALUES (50, '[5, 5, 5]')", ())
            .unwrap();
        db.execute("DELETE FROM docs WHERE id < 2", ()).unwrap();
        let st = status(&db, "docs", "e");
        assert_eq!((st.rows, st.dirty_changes), (49, 3));
        // A second index; the list is sorted by table and column.
        db.execute("CREATE INDEX other_f ON other USING hnsw (f) WITH (metric = 'ip', quantization = 'i8')", ()).unwrap();
        let all = db.index_status();
        assert_eq!(
            all.iter().map(|s| s.table.as_str()).collect::<Vec<_>>(),
            ["docs", "other"]
        );
        assert_eq!(
            (
                all[1].metric,
                all[1].quantization,
                all[1].explicit,
                all[1].rows
            ),
            (Metric::InnerProduct, Quantization::I8, true, 0)
        );
    }
    let db = open(dir.path());
    let st = status(&db, "docs", "e");
    assert_eq!(
        (st.last_load.kind(), st.memory_bytes, st.rows),
        ("not loaded", 0, 49)
    );
    assert_eq!(
        st.file_bytes,
        Some(std::fs::metadata(&file).unwrap().len()),
        "saved at close"
    );
    db.query("SELECT id FROM docs ORDER BY e <=> '[1, 1, 1]' LIMIT 3", ())
        .unwrap();
    let st = status(&db, "docs", "e");
    assert_eq!(
        (st.last_load.kind(), st.mapped, st.rows),
        ("mapped", true, 49)
    );
}

#[test]
fn options_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        Database::open_with(dir.path(), Options::new().ef_search(0))
            .unwrap()
            .ef_search(),
        1
    );
    assert_eq!(
        Database::open_with(dir.path(), Options::new().ef_search(1_000_000))
            .unwrap()
            .ef_search(),
        vectable::MAX_EF_SEARCH
    );
    // on_progress reports a large import: first done == 0, last done == total.
    let seen: Arc<Mutex<Vec<(String, u64, u64)>>> = Arc::default();
    let sink = seen.clone();
    let db = Database::open_with(
        dir.path(),
        Options::new().on_progress(move |p| {
            sink.lock()
                .unwrap()
                .push((p.task.to_string(), p.done, p.total))
        }),
    )
    .unwrap();
    db.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER)", ())
        .unwrap();
    let csv = dir.path().join("big.csv");
    let mut text = String::from("id,n\n");
    for i in 0..12_000 {
        text.push_str(&format!("{i},{}\n", i * 2));
    }
    std::fs::write(&csv, text).unwrap();
    assert_eq!(
        db.execute(
            &format!(
                "COPY big FROM '{}' WITH (FORMAT csv, HEADER true)",
                csv.display()
            ),
            ()
        )
        .unwrap(),
        12_000
    );
    let seen = seen.lock().unwrap().clone();
    let imports: Vec<&(String, u64, u64)> = seen.iter().filter(|p| p.0.contains("big")).collect();
    assert!(imports.len() >= 2, "{seen:?}");
    assert_eq!((imports[0].1, imports[0].2), (0, 12_000));
    assert_eq!(
        (imports.last().unwrap().1, imports.last().unwrap().2),
        (12_000, 12_000)
    );
    assert!(imports.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(
        values(&db, "SELECT sum(n) FROM big"),
        [[Value::Integer(12_000 * 11_999)]]
    );
}

#[test]
fn value_helpers() {
    assert_eq!(Value::Text("it's".into()).to_sql_literal(), "'it''s'");
    assert_eq!(Value::Real(2.0).to_sql_literal(), "2.0");
    assert_eq!(Value::Vector(vec![1.0, 2.5]).to_sql_literal(), "[1,2.5]");
    assert_eq!(Value::Null.to_sql_literal(), "NULL");
    assert_eq!(Value::Boolean(false).to_string(), "false");
    assert_eq!(Value::Text("plain".into()).to_string(), "plain");
    assert_eq!(Value::Vector(vec![0.5; 3]).type_name(), "VECTOR(3)");
    assert_eq!(DataType::Vector(384).to_string(), "VECTOR(384)");
    assert_eq!(
        vectable::format_vector(&[0.5, -0.25, 1.0], 2),
        "[0.5000, -0.2500, …] (3)"
    );
    // The text form of a vector is a valid literal that reads back exactly.
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute("CREATE TABLE v (e VECTOR(3))", ()).unwrap();
    let orig = vec![0.1f32, -1e-7, 123456.79];
    db.execute(
        &format!("INSERT INTO v VALUES ('{}')", Value::Vector(orig.clone())),
        (),
    )
    .unwrap();
    assert_eq!(
        db.query_row("SELECT e FROM v", (), |r| r.get::<Vec<f32>>(0))
            .unwrap(),
        orig
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrency

/// A pseudo-random 8-d vector for row `i` (splitmix64), in [-1, 1) per dimension.
fn vec_of(i: i64) -> Vec<f32> {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..8)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

#[test]
fn cloned_handles_query_in_threads_while_one_inserts() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Database>();

    const TOTAL: i64 = 1300;
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute(
        "CREATE TABLE c (id INTEGER PRIMARY KEY, embedding VECTOR(8))",
        (),
    )
    .unwrap();
    for start in (0..300i64).step_by(5) {
        let vs: Vec<Vec<f32>> = (start..start + 5).map(vec_of).collect();
        db.execute(
            "INSERT INTO c VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8), ($9, $10)",
            params![
                start,
                vs[0],
                start + 1,
                vs[1],
                start + 2,
                vs[2],
                start + 3,
                vs[3],
                start + 4,
                vs[4]
            ],
        )
        .unwrap();
    }
    db.query(
        "SELECT id FROM c ORDER BY embedding <-> $1 LIMIT 1",
        params![vec_of(0)],
    )
    .unwrap(); // build the index
               // A wide search list makes the approximate search find an exact match reliably, so the
               // test checks consistency, not recall. (HNSW can strand exact duplicates in clusters of
               // near-identical vectors: the test data avoids those.)
    db.execute("SET ef_search = 500", ()).unwrap();

    let writing = AtomicBool::new(true);
    let queries = AtomicUsize::new(0);
    let during_writes = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let writer_db = db.clone();
        let writing = &writing;
        s.spawn(move || {
            for start in (300..TOTAL).step_by(5) {
                let vs: Vec<Vec<f32>> = (start..start + 5).map(vec_of).collect();
                writer_db
                    .execute(
                        "INSERT INTO c VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8), ($9, $10)",
                        params![
                            start,
                            vs[0],
                            start + 1,
                            vs[1],
                            start + 2,
                            vs[2],
                            start + 3,
                            vs[3],
                            start + 4,
                            vs[4]
                        ],
                    )
                    .unwrap();
                // Let the readers in between statements.
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
            writing.store(false, Ordering::SeqCst);
        });
        for t in 0..4i64 {
            let db = db.clone();
            let (queries, during_writes) = (&queries, &during_writes);
            s.spawn(move || {
                let mut last_count = 0i64;
                let mut j = 0i64;
                loop {
                    let still_writing = writing.load(Ordering::SeqCst);
                    let q = vec_of(j * 4 + t);
                    let rows = db
                        .query("SELECT id, embedding AS e, embedding <-> $1 AS d FROM c ORDER BY embedding <-> $1 LIMIT 10", params![q.clone()])
                        .unwrap();
                    assert_eq!(rows.len(), 10);
                    let mut prev = f64::NEG_INFINITY;
                    for r in &rows {
                        let d: f64 = r.get("d").unwrap();
                        let e: Vec<f32> = r.get("e").unwrap();
                        let id: i64 = r.get("id").unwrap();
                        assert_eq!(e, vec_of(id));
                        assert!((d - l2(&e, &q)).abs() < 1e-4);
                        assert!(d >= prev);
                        prev = d;
                    }
                    // The query vector is a stored row whenever its id is: it comes first.
                    let n: i64 = db.query_row("SELECT count(*) FROM c", (), |r| r.get(0)).unwrap();
                    if j * 4 + t < 300 {
                        assert_eq!(rows.get(0).unwrap().get::<f64>("d").unwrap(), 0.0);
                    }
                    // Whole statements only: the count moves in steps of 5 and never backwards.
                    assert!(n % 5 == 0 && (300..=TOTAL).contains(&n) && n >= last_count, "{n} after {last_count}");
                    last_count = n;
                    queries.fetch_add(1, Ordering::Relaxed);
                    if still_writing {
                        during_writes.fetch_add(1, Ordering::Relaxed);
                    }
                    j += 1;
                    if !still_writing && j >= 25 {
                        break;
                    }
                }
            });
        }
    });
    assert!(queries.load(Ordering::Relaxed) >= 100);
    eprintln!(
        "{} kNN queries, {} while the writer ran",
        queries.load(Ordering::Relaxed),
        during_writes.load(Ordering::Relaxed)
    );
    assert!(
        during_writes.load(Ordering::Relaxed) > 0,
        "no query overlapped the writes"
    );
    assert_eq!(count(&db, "c"), TOTAL);
    assert_eq!(status(&db, "c", "embedding").rows, TOTAL as u64);
    let all = all_vectors(&db, "c");
    assert_eq!(all.len(), TOTAL as usize);
    for i in (0..TOTAL).step_by(41) {
        let got = ids(&db
            .query(
                "SELECT id FROM c ORDER BY embedding <-> $1 LIMIT 5",
                params![vec_of(i)],
            )
            .unwrap());
        let truth: Vec<i64> = brute_force(&all, &vec_of(i), 5, l2)
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(got[0], i);
        assert!(
            got.iter().filter(|g| truth.contains(g)).count() >= 4,
            "{got:?} vs {truth:?}"
        );
    }
}

#[test]
fn prepared_statements_query_execute_and_query_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute(
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, e VECTOR(3))",
        (),
    )
    .unwrap();
    let insert = db.prepare("INSERT INTO docs VALUES ($1, $2, $3)").unwrap();
    assert_eq!(insert.parameter_count(), 3);
    assert_eq!(insert.sql(), "INSERT INTO docs VALUES ($1, $2, $3)");
    for (id, title, e) in [
        (1, "red", [1.0f32, 0.0, 0.0]),
        (2, "green", [0.0, 1.0, 0.0]),
        (3, "blue", [0.0, 0.0, 1.0]),
    ] {
        assert_eq!(insert.execute(params![id, title, &e[..]]).unwrap(), 1);
    }
    // Each call binds its own parameters; errors leave the statement usable.
    assert!(matches!(
        insert.execute(params![1, "again", vec![1.0f32, 0.0, 0.0]]),
        Err(Error::DuplicateKey { .. })
    ));
    assert!(matches!(
        insert.execute(params![4, "short", vec![1.0f32, 0.0]]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert_eq!(
        insert
            .execute(params![4, "dark red", vec![0.9f32, 0.1, 0.0]])
            .unwrap(),
        1
    );

    let by_id = db.prepare("SELECT title FROM docs WHERE id = $1").unwrap();
    let title = |id: i64| by_id.query_row([id], |r| r.get::<String>(0));
    assert_eq!(title(2).unwrap(), "green");
    assert_eq!(title(4).unwrap(), "dark red");
    assert!(matches!(title(9), Err(Error::QueryReturnedNoRows)));
    assert_eq!(title(9).optional().unwrap(), None);

    let knn = db
        .prepare("SELECT id, e <-> $1 AS d FROM docs ORDER BY e <-> $1 LIMIT $2")
        .unwrap();
    assert_eq!(knn.parameter_count(), 2);
    let rows = knn.query(params![vec![1.0f32, 0.0, 0.0], 2]).unwrap();
    assert_eq!(ids(&rows), [1, 4]);
    assert_eq!(
        rows,
        db.query(knn.sql(), params![vec![1.0f32, 0.0, 0.0], 2])
            .unwrap()
    );
    assert_eq!(
        ids(&knn.query(params![vec![0.0f32, 0.0, 1.0], 1]).unwrap()),
        [3]
    );
    // execute() of a query is its row count, as Database::execute.
    assert_eq!(knn.execute(params![vec![0.0f32, 1.0, 0.0], 3]).unwrap(), 3);

    let update = db
        .prepare("UPDATE docs SET title = upper(title) WHERE id <= $1")
        .unwrap();
    assert_eq!(update.execute([2]).unwrap(), 2);
    assert_eq!(update.run([0]).unwrap(), Output::Affected(0));
    assert_eq!(title(1).unwrap(), "RED");
    let delete = db.prepare("DELETE FROM docs WHERE id = $1").unwrap();
    assert_eq!(delete.execute([4]).unwrap(), 1);
    assert_eq!(delete.execute([4]).unwrap(), 0);

    // Statements without parameters, and vectable's own CHECKPOINT.
    let count = db.prepare("SELECT count(*) FROM docs").unwrap();
    assert_eq!(count.parameter_count(), 0);
    assert_eq!(count.query_row((), |r| r.get::<i64>(0)).unwrap(), 3);
    let checkpoint = db.prepare("CHECKPOINT").unwrap();
    assert_eq!(
        checkpoint.run(()).unwrap(),
        Output::Done("CHECKPOINT".into())
    );
    // A clone shares the parse, and works from another thread.
    let c = count.clone();
    let n = std::thread::spawn(move || c.query_row((), |r| r.get::<i64>(0)).unwrap())
        .join()
        .unwrap();
    assert_eq!(n, 3);
    assert!(format!("{count:?}").contains("SELECT count(*) FROM docs"));

    // prepare() reports parse errors; binding errors come from each run.
    assert!(matches!(db.prepare("SELEC 1"), Err(Error::Parse { .. })));
    assert!(matches!(
        db.prepare("SELECT 1; SELECT 2"),
        Err(Error::Parse { .. })
    ));
    let missing = db.prepare("SELECT * FROM nowhere").unwrap();
    assert!(matches!(missing.query(()), Err(Error::NoSuchTable(_))));
}

#[test]
fn prepared_statement_parameter_count_errors_match_the_database_methods() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let stmt = db.prepare("SELECT $1, $3").unwrap();
    assert_eq!(stmt.parameter_count(), 3);
    assert_eq!(
        stmt.query((1, 2, 3)).unwrap().values(),
        [vec![Value::Integer(1), Value::Integer(3)]]
    );
    // Too many: checked before binding. Too few: `$3` has no value.
    for n in [4, 2] {
        let p: Vec<Value> = (1..=n).map(Value::Integer).collect();
        let prepared = stmt.query(p.clone()).unwrap_err();
        let direct = db.query(stmt.sql(), p).unwrap_err();
        assert!(matches!(prepared, Error::Parameter(_)), "{prepared}");
        assert_eq!(prepared.to_string(), direct.to_string());
    }
    assert_eq!(
        stmt.query([1, 2, 3, 4]).unwrap_err().to_string(),
        db.query("SELECT $1, $3", [1, 2, 3, 4])
            .unwrap_err()
            .to_string()
    );
    let none = db.prepare("SELECT 1").unwrap();
    assert!(matches!(none.execute([1]), Err(Error::Parameter(_))));
    assert!(matches!(
        db.prepare("SELECT $0").unwrap().query([1]),
        Err(Error::Parameter(_))
    ));
}

#[test]
fn a_prepared_statement_binds_against_the_table_as_it_is_at_each_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(2));
         INSERT INTO t VALUES (1, '[1, 0]'), (2, '[0, 1]')",
    )
    .unwrap();
    let all = db.prepare("SELECT * FROM t ORDER BY id").unwrap();
    let knn = db
        .prepare("SELECT id FROM t ORDER BY e <=> $1 LIMIT 1")
        .unwrap();
    let insert = db.prepare("INSERT INTO t (id, e) VALUES ($1, $2)").unwrap();
    assert_eq!(all.query(()).unwrap().columns(), ["id", "e"]);
    assert_eq!(ids(&knn.query(params![vec![0.1f32, 0.9]]).unwrap()), [2]);

    db.execute("DROP TABLE t", ()).unwrap();
    assert!(matches!(all.query(()), Err(Error::NoSuchTable(_))));
    assert!(matches!(
        knn.query(params![vec![0.1f32, 0.9]]),
        Err(Error::NoSuchTable(_))
    ));

    // Same name, other columns: the statements see the new schema.
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT, e VECTOR(3))",
        (),
    )
    .unwrap();
    assert_eq!(all.query(()).unwrap().columns(), ["id", "label", "e"]);
    assert!(all.query(()).unwrap().is_empty());
    // The old dimension is now an error naming the new column; the new one works.
    assert!(matches!(
        insert.execute(params![1, vec![1.0f32, 0.0]]),
        Err(Error::DimensionMismatch {
            expected: 3,
            found: 2,
            ..
        })
    ));
    insert.execute(params![1, vec![1.0f32, 0.0, 0.0]]).unwrap();
    insert.execute(params![2, vec![0.0f32, 0.0, 1.0]]).unwrap();
    assert!(matches!(
        knn.query(params![vec![0.1f32, 0.9]]),
        Err(Error::DimensionMismatch {
            expected: 3,
            found: 2,
            ..
        })
    ));
    assert_eq!(
        ids(&knn.query(params![vec![0.1f32, 0.0, 0.9]]).unwrap()),
        [2]
    );
    assert_eq!(
        all.query(()).unwrap().values()[0],
        [
            Value::Integer(1),
            Value::Null,
            Value::Vector(vec![1.0, 0.0, 0.0])
        ]
    );
    // The same holds for statements run by text, which come from the statement cache.
    assert_eq!(
        db.query("SELECT * FROM t ORDER BY id", ())
            .unwrap()
            .columns(),
        ["id", "label", "e"]
    );
}

/// Runs the same script with the statement cache on and off: the outputs and error messages
/// must be the same, statement by statement.
#[test]
fn the_statement_cache_gives_the_same_results_as_no_cache() {
    let script: Vec<(&str, Vec<Value>)> = {
        let v = |x: &[f32]| Value::Vector(x.to_vec());
        vec![
            (
                "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, e VECTOR(2))",
                vec![],
            ),
            (
                "INSERT INTO t VALUES ($1, $2, $3)",
                vec![Value::Integer(1), Value::Text("a".into()), v(&[1.0, 0.0])],
            ),
            (
                "INSERT INTO t VALUES ($1, $2, $3)",
                vec![Value::Integer(2), Value::Text("b".into()), v(&[0.0, 1.0])],
            ),
            (
                "INSERT INTO t VALUES ($1, $2, $3)",
                vec![Value::Integer(2), Value::Text("dup".into()), v(&[0.0, 1.0])],
            ),
            (
                "INSERT INTO t VALUES ($1, $2, $3)",
                vec![Value::Integer(3), Value::Text("c".into()), v(&[0.7, 0.7])],
            ),
            (
                "SELECT id, e <-> $1 AS d FROM t ORDER BY d LIMIT 2",
                vec![v(&[1.0, 0.1])],
            ),
            (
                "SELECT id, e <-> $1 AS d FROM t ORDER BY d LIMIT 2",
                vec![v(&[0.0, 1.0])],
            ),
            (
                "SELECT id, e <-> $1 AS d FROM t ORDER BY d LIMIT 2",
                vec![v(&[0.0, 1.0, 0.0])],
            ),
            (
                "SELECT id FROM t WHERE name = $1",
                vec![Value::Text("b".into())],
            ),
            (
                "SELECT id FROM t WHERE name = $1",
                vec![Value::Text("b".into()), Value::Text("extra".into())],
            ),
            ("SELECT id FROM t WHERE name = $1", vec![]),
            ("SELEC id FROM t", vec![]),
            ("SELEC id FROM t", vec![]),
            (
                "UPDATE t SET name = $1 WHERE id = $2",
                vec![Value::Text("z".into()), Value::Integer(3)],
            ),
            ("SELECT * FROM t ORDER BY id", vec![]),
            (
                "EXPLAIN SELECT id FROM t ORDER BY e <=> $1 LIMIT 1",
                vec![v(&[1.0, 0.0])],
            ),
            ("DROP TABLE t", vec![]),
            ("SELECT * FROM t ORDER BY id", vec![]),
            (
                "CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(3), extra TEXT)",
                vec![],
            ),
            (
                "INSERT INTO t (id, e) VALUES ($1, $2)",
                vec![Value::Integer(1), v(&[0.0, 0.0, 1.0])],
            ),
            ("SELECT * FROM t ORDER BY id", vec![]),
            (
                "SELECT id, e <-> $1 AS d FROM t ORDER BY d LIMIT 2",
                vec![v(&[0.0, 1.0])],
            ),
            ("SET ef_search = $1", vec![Value::Integer(32)]),
            ("CHECKPOINT", vec![]),
            ("DELETE FROM t WHERE id = $1", vec![Value::Integer(1)]),
            ("SELECT count(*) FROM t", vec![]),
        ]
    };
    let run = |options: Options| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_with(dir.path(), options).unwrap();
        script
            .iter()
            .map(|(sql, p)| match db.run(sql, p.clone()) {
                Ok(out) => format!("{out:?}"),
                Err(e) => format!("error: {e}"),
            })
            .collect()
    };
    let cached = run(Options::new());
    let uncached = run(Options::new().statement_cache_capacity(0));
    let tiny = run(Options::new().statement_cache_capacity(1));
    for (i, (sql, _)) in script.iter().enumerate() {
        assert_eq!(cached[i], uncached[i], "statement {i}: {sql}");
        assert_eq!(tiny[i], uncached[i], "statement {i}: {sql}");
    }
    // The script does exercise errors and rows.
    assert!(cached.iter().filter(|o| o.starts_with("error")).count() >= 6);
    assert!(cached[5].contains("Integer(1)"), "{}", cached[5]);
}
