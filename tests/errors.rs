//! The bad-input catalogue: every case asserts the exact `Error` variant (and its fields where
//! they carry information) and that nothing was written — row contents, table lists and vector
//! indexes are compared before and after.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use vectable::{params, Database, Error, Params, TableSchema, Value};

/// `t` with two rows and a built vector index on `e`.
fn setup(dir: &Path) -> Database {
    let db = Database::open(dir).unwrap();
    db.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER, r REAL, b BOOLEAN, e VECTOR(3));
         INSERT INTO t VALUES (1, 'one', 10, 1.0, TRUE, '[1, 0, 0]'), (2, 'two', 20, 2.5, FALSE, '[0, 1, 0]');",
    )
    .unwrap();
    db.query("SELECT id FROM t ORDER BY e <-> '[1, 0, 0]' LIMIT 1", ())
        .unwrap();
    db
}

/// Everything a failed statement must leave untouched.
#[derive(Debug, PartialEq)]
struct Snapshot {
    tables: Vec<TableSchema>,
    rows: Vec<Vec<Vec<Value>>>,
    indexes: Vec<(String, String, u64, u64)>,
    knn: Vec<i64>,
}

fn snapshot(db: &Database) -> Snapshot {
    let tables = db.tables();
    let rows = tables
        .iter()
        .map(|t| values(db, &format!("SELECT * FROM {} ORDER BY 1", t.name)))
        .collect();
    let indexes = db
        .index_status()
        .into_iter()
        .map(|s| (s.table, s.column, s.rows, s.dirty_changes))
        .collect();
    let knn = match db.table("t") {
        Some(_) => int_column(
            db,
            "SELECT id FROM t ORDER BY e <-> '[0.1, 0.8, 0.3]' LIMIT 5",
        ),
        None => Vec::new(),
    };
    Snapshot {
        tables,
        rows,
        indexes,
        knn,
    }
}

/// Runs `sql`, expects an error, and checks that the database did not change.
fn fails(db: &Database, sql: &str, params: impl Params) -> Error {
    let before = snapshot(db);
    let e = match db.execute(sql, params) {
        Ok(n) => panic!("{sql}: expected an error, got Ok({n})"),
        Err(e) => e,
    };
    assert_eq!(
        snapshot(db),
        before,
        "{sql} changed the database before failing with {e:?}"
    );
    e
}

// ---------------------------------------------------------------------------------------------

#[test]
fn parse_errors_carry_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    match fails(&db, "SELECT *\nFROM t WHERE a = = 1", ()) {
        Error::Parse {
            line,
            column,
            message,
        } => {
            assert_eq!((line, column), (2, 18));
            assert!(!message.is_empty());
        }
        e => panic!("{e:?}"),
    }
    // sqlparser gives no position for an unexpected end of input: the error points just past
    // the end of the text.
    match fails(&db, "INSERT INTO t VALUES (3, 'x'", ()) {
        Error::Parse {
            line,
            column,
            message,
        } => {
            assert_eq!((line, column), (1, 29));
            assert!(message.contains("EOF"), "{message}");
        }
        e => panic!("{e:?}"),
    }
    match fails(&db, "UPDATE t\n  SET n = 1\n  WHERE id = 1 1", ()) {
        Error::Parse { line, column, .. } => assert_eq!((line, column), (3, 16)),
        e => panic!("{e:?}"),
    }
    match fails(&db, "SELEC id FROM t", ()) {
        Error::Parse { line, column, .. } => assert_eq!((line, column), (1, 1)),
        e => panic!("{e:?}"),
    }
    // Two statements where one is expected, and none at all.
    assert!(matches!(
        fails(&db, "DELETE FROM t; DELETE FROM t", ()),
        Error::Parse { .. }
    ));
    assert!(matches!(fails(&db, "   ", ()), Error::Parse { .. }));
    // execute_batch stops at the broken statement; the ones before it stay committed.
    let e = db.execute_batch("INSERT INTO t (id, name) VALUES (3, 'three'); INSERT INTO t VALUES (4,; INSERT INTO t (id, name) VALUES (5, 'five')");
    assert!(matches!(e, Err(Error::Parse { .. })), "{e:?}");
    assert_eq!(int_column(&db, "SELECT id FROM t ORDER BY id"), [1, 2, 3]);
}

#[test]
fn unknown_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    for sql in [
        "SELECT * FROM nope",
        "INSERT INTO nope VALUES (1)",
        "UPDATE nope SET x = 1",
        "DELETE FROM nope",
        "DROP TABLE nope",
        "DROP TABLE t, nope",
        "CREATE INDEX ON nope USING hnsw (e)",
        "EXPLAIN SELECT * FROM nope",
        "COPY nope FROM '/dev/null'",
        "SELECT id FROM t WHERE n = (SELECT max(x) FROM nope)",
        "INSERT INTO t SELECT * FROM nope",
    ] {
        match fails(&db, sql, ()) {
            Error::NoSuchTable(name) => assert_eq!(name, "nope", "{sql}"),
            e => panic!("{sql}: {e:?}"),
        }
    }
    // A qualified column naming another table.
    assert!(
        matches!(fails(&db, "SELECT other.id FROM t", ()), Error::NoSuchTable(n) if n == "other")
    );
}

#[test]
fn unknown_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    for sql in [
        "SELECT nope FROM t",
        "SELECT id FROM t WHERE nope = 1",
        "SELECT id FROM t ORDER BY nope",
        "SELECT t.nope FROM t",
        "SELECT count(nope) FROM t",
        "SELECT n FROM t GROUP BY nope",
        "INSERT INTO t (id, name, nope) VALUES (3, 'x', 1)",
        "UPDATE t SET nope = 1",
        "UPDATE t SET n = nope",
        "UPDATE t SET n = 1 WHERE nope IS NULL",
        "DELETE FROM t WHERE nope = 1",
        "CREATE INDEX ON t USING hnsw (nope)",
        "CREATE TABLE t2 (a INTEGER, PRIMARY KEY (nope))",
    ] {
        match fails(&db, sql, ()) {
            Error::NoSuchColumn { column, .. } => assert_eq!(column, "nope", "{sql}"),
            e => panic!("{sql}: {e:?}"),
        }
    }
    match fails(&db, "SELECT nope FROM t", ()) {
        Error::NoSuchColumn { table, column } => {
            assert_eq!((table.as_str(), column.as_str()), ("t", "nope"))
        }
        e => panic!("{e:?}"),
    }
    // Without FROM there is no column at all.
    assert!(
        matches!(fails(&db, "SELECT id", ()), Error::NoSuchColumn { table, .. } if table.is_empty())
    );
    // A CSV header naming an unknown column.
    let file = dir.path().join("unknown.csv");
    std::fs::write(&file, "id,name,nope\n3,x,1\n").unwrap();
    let e = fails(
        &db,
        &format!(
            "COPY t FROM '{}' WITH (FORMAT csv, HEADER true)",
            file.display()
        ),
        (),
    );
    assert!(
        matches!(&e, Error::NoSuchColumn { column, .. } if column == "nope"),
        "{e:?}"
    );
}

#[test]
fn type_mismatch_on_insert() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    match fails(
        &db,
        "INSERT INTO t (id, name, n) VALUES (3, 'x', 'abc')",
        (),
    ) {
        Error::TypeMismatch {
            context,
            expected,
            found,
        } => {
            assert_eq!(
                (context.as_str(), expected.as_str(), found.as_str()),
                ("t.n", "INTEGER", "TEXT")
            )
        }
        e => panic!("{e:?}"),
    }
    for (sql, ctx) in [
        ("INSERT INTO t (id, name, n) VALUES (3, 'x', 2.5)", "t.n"),
        ("INSERT INTO t (id, name) VALUES (3, 42)", "t.name"),
        ("INSERT INTO t (id, name, b) VALUES (3, 'x', 'yes')", "t.b"),
        ("INSERT INTO t (id, name, b) VALUES (3, 'x', 1)", "t.b"),
        ("INSERT INTO t (id, name, r) VALUES (3, 'x', TRUE)", "t.r"),
        ("INSERT INTO t (id, name, e) VALUES (3, 'x', 7)", "t.e"),
        ("INSERT INTO t (id, name) VALUES ('three', 'x')", "t.id"),
    ] {
        match fails(&db, sql, ()) {
            Error::TypeMismatch { context, .. } => {
                assert!(context.starts_with(ctx), "{sql}: {context}")
            }
            e => panic!("{sql}: {e:?}"),
        }
    }
    // A vector parameter into an integer column.
    assert!(matches!(
        fails(
            &db,
            "INSERT INTO t (id, name, n) VALUES (3, 'x', $1)",
            params![vec![1.0f32, 2.0, 3.0]]
        ),
        Error::TypeMismatch { .. }
    ));
    // One bad row among several: none is written.
    match fails(
        &db,
        "INSERT INTO t (id, name, n) VALUES (3, 'a', 1), (4, 'b', 'bad'), (5, 'c', 3)",
        (),
    ) {
        Error::TypeMismatch { context, .. } => assert!(context.contains("row 2"), "{context}"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn type_mismatch_in_expressions_and_updates() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    for sql in [
        "UPDATE t SET n = 'x'",
        "UPDATE t SET b = n WHERE id = 2",
        "SELECT id FROM t WHERE e = 1",
        "SELECT id FROM t WHERE id = 'abc'",
        "SELECT id FROM t WHERE n > 0 AND id = '1'",
        "DELETE FROM t WHERE id = 'abc'",
        "SELECT id FROM t WHERE name",
        "SELECT id FROM t WHERE n AND b",
        "SELECT 'a' + 1",
        "SELECT -name FROM t",
        "SELECT NOT n FROM t",
        "SELECT id FROM t WHERE n LIKE '1%'",
        "SELECT sum(name) FROM t",
        "SELECT id FROM t ORDER BY n <-> '[1, 2, 3]' LIMIT 1",
        "SELECT e <-> 5 FROM t",
        "SELECT vector_dims(n) FROM t",
        "SELECT upper(n) FROM t",
        "CREATE INDEX ON t USING hnsw (n)",
    ] {
        assert!(
            matches!(fails(&db, sql, ()), Error::TypeMismatch { .. }),
            "{sql}"
        );
    }
    // A text primary key compared with a number fails the same way (no silent empty lookup).
    db.execute("CREATE TABLE k (name TEXT PRIMARY KEY)", ())
        .unwrap();
    db.execute("INSERT INTO k VALUES ('a')", ()).unwrap();
    assert!(matches!(
        fails(&db, "SELECT * FROM k WHERE name = 5", ()),
        Error::TypeMismatch { .. }
    ));
}

#[test]
fn dimension_mismatch_names_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let check = |e: Error, col: &str, found: usize| match e {
        Error::DimensionMismatch {
            column,
            expected,
            found: f,
        } => {
            assert!(column.starts_with(col), "{column}");
            assert_eq!((expected, f), (3, found));
            column
        }
        e => panic!("{e:?}"),
    };
    // INSERT: literal, parameter, one bad row of several.
    assert_eq!(
        check(
            fails(
                &db,
                "INSERT INTO t (id, name, e) VALUES (3, 'x', '[1, 2]')",
                ()
            ),
            "t.e",
            2
        ),
        "t.e"
    );
    check(
        fails(
            &db,
            "INSERT INTO t (id, name, e) VALUES (3, 'x', ARRAY[1, 2, 3, 4])",
            (),
        ),
        "t.e",
        4,
    );
    check(
        fails(
            &db,
            "INSERT INTO t (id, name, e) VALUES (3, 'x', $1)",
            params![vec![1.0f32; 4]],
        ),
        "t.e",
        4,
    );
    let col = check(
        fails(
            &db,
            "INSERT INTO t (id, name, e) VALUES (3, 'x', '[1,2,3]'), (4, 'y', '[1,2,3,4,5]')",
            (),
        ),
        "t.e",
        5,
    );
    assert!(col.contains("row 2"), "{col}");
    // UPDATE: literal and parameter.
    check(
        fails(&db, "UPDATE t SET e = '[1, 2, 3, 4]' WHERE id = 1", ()),
        "t.e",
        4,
    );
    check(
        fails(&db, "UPDATE t SET e = $1", params![&[1.0f32][..]]),
        "t.e",
        1,
    );
    // Query operands: literal, parameter, function form, either side.
    check(
        fails(&db, "SELECT id FROM t ORDER BY e <-> '[1, 2]' LIMIT 1", ()),
        "t.e",
        2,
    );
    check(
        fails(
            &db,
            "SELECT id FROM t ORDER BY $1 <=> e LIMIT 1",
            params![vec![0.5f32; 2]],
        ),
        "t.e",
        2,
    );
    check(
        fails(&db, "SELECT id FROM t WHERE (e <#> '[1, 2, 3, 4]') < 0", ()),
        "t.e",
        4,
    );
    check(
        fails(&db, "SELECT l2_distance(e, '[1]') FROM t", ()),
        "t.e",
        1,
    );
    // Two constants of different sizes.
    assert!(matches!(
        fails(&db, "SELECT '[1, 2]' <-> '[1, 2, 3]'", ()),
        Error::DimensionMismatch { .. }
    ));
}

#[test]
fn non_finite_vector_from_a_literal() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    for (lit, pos) in [
        ("[1, NaN, 3]", 1),
        ("[1e39, 0, 0]", 0),
        ("[0, 0, inf]", 2),
        ("[0, -inf, 0]", 1),
        ("[-1e300, 0, 0]", 0),
    ] {
        match fails(
            &db,
            &format!("INSERT INTO t (id, name, e) VALUES (3, 'x', '{lit}')"),
            (),
        ) {
            Error::NonFiniteVector { column, position } => {
                assert_eq!((column.as_str(), position), ("t.e", pos), "{lit}")
            }
            e => panic!("{lit}: {e:?}"),
        }
        let e = fails(&db, &format!("UPDATE t SET e = '{lit}' WHERE id = 2"), ());
        assert!(
            matches!(e, Error::NonFiniteVector { position, .. } if position == pos),
            "{lit}: {e:?}"
        );
        let e = fails(
            &db,
            &format!("SELECT id FROM t ORDER BY e <=> '{lit}' LIMIT 1"),
            (),
        );
        assert!(
            matches!(e, Error::NonFiniteVector { position, .. } if position == pos),
            "{lit}: {e:?}"
        );
    }
    assert!(matches!(
        fails(
            &db,
            "INSERT INTO t (id, name, e) VALUES (3, 'x', ARRAY[1, 1e39, 0])",
            ()
        ),
        Error::NonFiniteVector { position: 1, .. }
    ));
}

#[test]
fn non_finite_vector_from_a_bound_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    for (v, pos) in [
        (vec![1.0f32, f32::NAN, 0.0], 1),
        (vec![f32::INFINITY, 0.0, 0.0], 0),
        (vec![0.0, 0.0, f32::NEG_INFINITY], 2),
    ] {
        match fails(
            &db,
            "INSERT INTO t (id, name, e) VALUES (3, 'x', $1)",
            params![v.clone()],
        ) {
            Error::NonFiniteVector { column, position } => {
                assert_eq!((column.as_str(), position), ("t.e", pos))
            }
            e => panic!("{e:?}"),
        }
        let e = fails(
            &db,
            "UPDATE t SET e = $1 WHERE id = 1",
            params![v.as_slice()],
        );
        assert!(
            matches!(e, Error::NonFiniteVector { ref column, position } if column == "t.e" && position == pos),
            "{e:?}"
        );
        let e = fails(
            &db,
            "SELECT id FROM t ORDER BY e <-> $1 LIMIT 1",
            params![v.clone()],
        );
        assert!(
            matches!(e, Error::NonFiniteVector { position, .. } if position == pos),
            "{e:?}"
        );
        let e = fails(
            &db,
            "SELECT id FROM t WHERE cosine_distance($1, e) < 1",
            params![v.clone()],
        );
        assert!(
            matches!(e, Error::NonFiniteVector { position, .. } if position == pos),
            "{e:?}"
        );
    }
    // Several rows with parameters: the second is bad, the first is not written.
    let e = fails(
        &db,
        "INSERT INTO t (id, name, e) VALUES (3, 'x', $1), (4, 'y', $2)",
        params![vec![1.0f32, 2.0, 3.0], vec![1.0f32, f32::NAN, 3.0]],
    );
    assert!(
        matches!(e, Error::NonFiniteVector { position: 1, .. }),
        "{e:?}"
    );
}

#[test]
fn invalid_vector_literal() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    for lit in [
        "[1, x, 3]",
        "1, 2, 3",
        "[]",
        "[1,,3]",
        "",
        "hello",
        "[1 2 3]",
        "(1, 2, 3)",
    ] {
        match fails(
            &db,
            &format!("INSERT INTO t (id, name, e) VALUES (3, 'x', '{lit}')"),
            (),
        ) {
            Error::InvalidVector { literal, reason } => {
                assert_eq!(literal, lit);
                assert!(!reason.is_empty());
            }
            e => panic!("{lit:?}: {e:?}"),
        }
        assert!(
            matches!(
                fails(&db, &format!("UPDATE t SET e = '{lit}'"), ()),
                Error::InvalidVector { .. }
            ),
            "{lit}"
        );
        assert!(
            matches!(
                fails(
                    &db,
                    &format!("SELECT id FROM t ORDER BY e <-> '{lit}' LIMIT 1"),
                    ()
                ),
                Error::InvalidVector { .. }
            ),
            "{lit}"
        );
    }
    assert!(matches!(
        fails(&db, "SELECT vector_dims('abc')", ()),
        Error::InvalidVector { .. }
    ));
    assert!(matches!(
        fails(
            &db,
            "INSERT INTO t (id, name, e) VALUES (3, 'x', $1)",
            ["[1, 2, x]"]
        ),
        Error::InvalidVector { .. }
    ));
}

#[test]
fn duplicate_key_within_one_insert() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    match fails(
        &db,
        "INSERT INTO t (id, name) VALUES (3, 'a'), (4, 'b'), (3, 'c')",
        (),
    ) {
        Error::DuplicateKey {
            table, column, key, ..
        } => {
            assert_eq!(
                (table.as_str(), column.as_str(), key.as_str()),
                ("t", "id", "3")
            )
        }
        e => panic!("{e:?}"),
    }
    // Text keys, quoted in the message.
    db.execute("CREATE TABLE k (name TEXT PRIMARY KEY)", ())
        .unwrap();
    match fails(&db, "INSERT INTO k VALUES ('a'), ('it''s'), ('it''s')", ()) {
        Error::DuplicateKey { key, .. } => assert_eq!(key, "'it''s'"),
        e => panic!("{e:?}"),
    }
    // INSERT ... SELECT producing the same key twice.
    assert!(matches!(
        fails(&db, "INSERT INTO t (id, name) SELECT 7, name FROM t", ()),
        Error::DuplicateKey { key, .. } if key == "7"
    ));
}

#[test]
fn duplicate_key_against_an_existing_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    match fails(
        &db,
        "INSERT INTO t (id, name) VALUES (5, 'new'), (2, 'again')",
        (),
    ) {
        Error::DuplicateKey { key, .. } => assert_eq!(key, "2"),
        e => panic!("{e:?}"),
    }
    assert!(matches!(
        fails(&db, "INSERT INTO t SELECT * FROM t", ()),
        Error::DuplicateKey { .. }
    ));
    assert!(matches!(
        fails(&db, "INSERT INTO t (id, name) VALUES ($1, $2)", (1, "x")),
        Error::DuplicateKey { .. }
    ));
    // Also after a reopen (the key index is persistent).
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert!(
        matches!(fails(&db, "INSERT INTO t (id, name) VALUES (1, 'x')", ()), Error::DuplicateKey { key, .. } if key == "1")
    );
    // And from a COPY, with its other rows not written.
    let file = dir.path().join("dup.csv");
    std::fs::write(&file, "id,name\n10,ten\n11,eleven\n2,two again\n").unwrap();
    let e = fails(
        &db,
        &format!(
            "COPY t FROM '{}' WITH (FORMAT csv, HEADER true)",
            file.display()
        ),
        (),
    );
    assert!(
        matches!(e, Error::DuplicateKey { ref key, .. } if key == "2"),
        "{e:?}"
    );
}

#[test]
fn duplicate_key_via_update() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    db.execute("INSERT INTO t (id, name) VALUES (3, 'three')", ())
        .unwrap();
    match fails(&db, "UPDATE t SET id = 1 WHERE id = 2", ()) {
        Error::DuplicateKey { key, column, .. } => {
            assert_eq!((key.as_str(), column.as_str()), ("1", "id"))
        }
        e => panic!("{e:?}"),
    }
    // Every row onto the same key.
    assert!(
        matches!(fails(&db, "UPDATE t SET id = 7", ()), Error::DuplicateKey { key, .. } if key == "7")
    );
    // Two rows swapping onto one key while a third keeps it.
    assert!(
        matches!(fails(&db, "UPDATE t SET id = 4 - id WHERE id < 3", ()), Error::DuplicateKey { key, .. } if key == "3")
    );
    assert!(matches!(
        fails(&db, "UPDATE t SET id = id % 2 + 2", ()),
        Error::DuplicateKey { .. }
    ));
}

#[test]
fn not_null_violations() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let check = |e: Error, col: &str| match e {
        Error::NotNull { table, column } => {
            assert_eq!((table.as_str(), column.as_str()), ("t", col))
        }
        e => panic!("{e:?}"),
    };
    check(
        fails(
            &db,
            "INSERT INTO t VALUES (3, NULL, 1, 1.0, TRUE, NULL)",
            (),
        ),
        "name",
    );
    check(
        fails(&db, "INSERT INTO t (id, n) VALUES (3, 1)", ()),
        "name",
    );
    check(
        fails(&db, "INSERT INTO t (id, name) VALUES (NULL, 'x')", ()),
        "id",
    );
    check(
        fails(&db, "INSERT INTO t (name) VALUES ('no key')", ()),
        "id",
    );
    check(
        fails(
            &db,
            "INSERT INTO t (id, name) VALUES (3, 'ok'), (4, NULL)",
            (),
        ),
        "name",
    );
    check(
        fails(
            &db,
            "INSERT INTO t (id, name) VALUES (3, $1)",
            params![Option::<&str>::None],
        ),
        "name",
    );
    check(
        fails(&db, "UPDATE t SET name = NULL WHERE id = 2", ()),
        "name",
    );
    check(fails(&db, "UPDATE t SET id = NULL", ()), "id");
    check(
        fails(&db, "UPDATE t SET name = CAST(NULL AS TEXT)", ()),
        "name",
    );
    let file = dir.path().join("nulls.csv");
    std::fs::write(&file, "id,name\n3,three\n4,\n").unwrap();
    check(
        fails(
            &db,
            &format!(
                "COPY t FROM '{}' WITH (FORMAT csv, HEADER true)",
                file.display()
            ),
            (),
        ),
        "name",
    );
}

#[test]
fn update_failing_halfway_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    db.execute(
        "INSERT INTO t (id, name, n, r, e) VALUES (3, '[0, 0, 1]', 30, 3.0, '[0, 0, 1]'), \
         (4, '[1, 1, 0]', 40, 4.5, '[1, 1, 0]'), (5, 'not a vector', 50, 5.0, '[1, 1, 1]')",
        (),
    )
    .unwrap();
    db.execute("CHECKPOINT", ()).unwrap();
    // Row 1 (1.0) converts to INTEGER, row 2 (2.5) does not.
    assert!(matches!(
        fails(&db, "UPDATE t SET n = r", ()),
        Error::TypeMismatch { .. }
    ));
    // Division by zero on the fourth row, after a vector and a key were assigned in earlier ones.
    let e = fails(
        &db,
        "UPDATE t SET e = '[0.1, 0.9, 0]', id = id + 100, n = 10 / (id - 4)",
        (),
    );
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.contains("division by zero")),
        "{e:?}"
    );
    // NOT NULL: rows 1 and 2 have a boolean to turn into text, row 3 has NULL.
    let e = fails(
        &db,
        "UPDATE t SET e = $1, name = CAST(b AS TEXT)",
        params![vec![9.0f32, 9.0, 9.0]],
    );
    assert!(
        matches!(&e, Error::NotNull { column, .. } if column == "name"),
        "{e:?}"
    );
    // Text parsed as a vector per row: rows 3 and 4 parse, row 5 does not.
    let e = fails(&db, "UPDATE t SET e = name WHERE id >= 3", ());
    assert!(
        matches!(&e, Error::InvalidVector { literal, .. } if literal == "not a vector"),
        "{e:?}"
    );
    // A key change that collides only on the last row.
    let e = fails(
        &db,
        "UPDATE t SET id = CAST(n / 10 AS INTEGER) + (id / 5) * -4",
        (),
    );
    assert!(matches!(&e, Error::DuplicateKey { .. }), "{e:?}");
    assert_eq!(status(&db, "t", "e").dirty_changes, 0);
    assert_eq!(
        int_column(
            &db,
            "SELECT id FROM t ORDER BY e <-> '[0.1, 0.8, 0.3]' LIMIT 5"
        ),
        [2, 4, 3, 5, 1]
    );
}

#[test]
fn identifiers_that_would_escape_the_vectors_dir() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let db = Database::open(&root).unwrap();
    for name in [
        "../x",
        "../../etc/x",
        "a-b",
        "a.b",
        "x/y",
        "1abc",
        "with space",
        "é",
        &"a".repeat(65),
    ] {
        let sql = format!("CREATE TABLE \"{name}\" (id INTEGER, e VECTOR(2))");
        match fails(&db, &sql, ()) {
            Error::InvalidIdentifier { name: n, reason } => {
                assert_eq!(n, name);
                assert!(!reason.is_empty());
            }
            e => panic!("{name}: {e:?}"),
        }
        let sql = format!("CREATE TABLE ok (\"{name}\" VECTOR(2))");
        assert!(
            matches!(fails(&db, &sql, ()), Error::InvalidIdentifier { .. }),
            "{sql}"
        );
    }
    db.execute("CREATE TABLE ok (id INTEGER, e VECTOR(2))", ())
        .unwrap();
    db.execute("INSERT INTO ok VALUES (1, '[1, 0]')", ())
        .unwrap();
    assert!(matches!(
        fails(&db, "CREATE INDEX \"../idx\" ON ok USING hnsw (e)", ()),
        Error::InvalidIdentifier { .. }
    ));
    assert!(matches!(
        fails(&db, "CREATE INDEX \"a-b\" ON ok USING hnsw (e)", ()),
        Error::InvalidIdentifier { .. }
    ));
    // 64 bytes is allowed.
    db.execute(&format!("CREATE TABLE {} (x INTEGER)", "a".repeat(64)), ())
        .unwrap();
    // Nothing appeared outside the database directory or inside vectors/.
    let mut outside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    outside.sort();
    assert_eq!(outside, ["root"]);
    let mut inside: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    inside.sort();
    assert_eq!(inside, ["db", "vectors"]);
    assert_eq!(std::fs::read_dir(root.join("vectors")).unwrap().count(), 0);
    assert_eq!(table_names(&db), ["a".repeat(64), "ok".to_string()]);
}

#[test]
fn index_file_name_collision() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.execute("CREATE TABLE a_b (c VECTOR(2))", ()).unwrap();
    match fails(&db, "CREATE TABLE a (id INTEGER, b_c VECTOR(2))", ()) {
        Error::FileNameCollision {
            file,
            table,
            column,
            other_table,
            other_column,
        } => {
            assert_eq!(file, "a_b_c.usearch");
            assert_eq!((table.as_str(), column.as_str()), ("a", "b_c"));
            assert_eq!((other_table.as_str(), other_column.as_str()), ("a_b", "c"));
        }
        e => panic!("{e:?}"),
    }
    // Case differences do not help on case-insensitive file systems.
    assert!(matches!(
        fails(&db, "CREATE TABLE \"A\" (\"B_c\" VECTOR(2))", ()),
        Error::FileNameCollision { .. }
    ));
    // A non-vector column of that name has no index file, so it is fine.
    db.execute("CREATE TABLE a (id INTEGER, b_c INTEGER)", ())
        .unwrap();
    assert_eq!(table_names(&db), ["a", "a_b"]);
    // Once a_b is dropped the name is free.
    db.execute("DROP TABLE a_b", ()).unwrap();
    db.execute("CREATE TABLE a_b_x (id INTEGER)", ()).unwrap();
    db.execute("CREATE TABLE x (id INTEGER, a_b_c VECTOR(2))", ())
        .unwrap();
    db.execute("CREATE TABLE a_b (c VECTOR(3))", ()).unwrap();
}

#[test]
fn limit_and_offset_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    for sql in [
        "SELECT id FROM t LIMIT -1",
        "SELECT id FROM t ORDER BY id LIMIT -5",
        "SELECT id FROM t LIMIT 99999999999999999999",
        "SELECT id FROM t LIMIT 1099511627777",
        "SELECT id FROM t LIMIT 9223372036854775807",
        "SELECT id FROM t LIMIT 2.5",
        "SELECT id FROM t LIMIT 'ten'",
        "SELECT id FROM t OFFSET -1",
        "SELECT id FROM t LIMIT 1 OFFSET 99999999999999999999",
        "SELECT id FROM t ORDER BY e <-> '[1, 0, 0]' LIMIT -1",
    ] {
        assert!(
            matches!(fails(&db, sql, ()), Error::InvalidArgument(_)),
            "{sql}"
        );
    }
    assert!(matches!(
        fails(&db, "SELECT id FROM t LIMIT $1", [-3]),
        Error::InvalidArgument(_)
    ));
    // The largest accepted limit works, on a scan and on an index kNN scan (where it once
    // became a 2^40-entry USearch result buffer and aborted the process), filtered or not.
    for sql in [
        "SELECT id FROM t LIMIT 1099511627776",
        "SELECT id FROM t ORDER BY e <-> '[1, 0, 0]' LIMIT 1099511627776",
        "SELECT id FROM t ORDER BY e <-> '[1, 0, 0]' LIMIT 1099511627775 OFFSET 1",
        "SELECT id FROM t WHERE id > 0 ORDER BY e <=> '[1, 0, 0]' LIMIT 1099511627776",
    ] {
        let want = if sql.contains("OFFSET") { 1 } else { 2 };
        assert_eq!(db.query(sql, ()).unwrap().len(), want, "{sql}");
    }
}

#[test]
fn huge_limit_on_a_filtered_knn_query() {
    // A filtered kNN query is a scan that keeps the top LIMIT + OFFSET rows: a huge LIMIT
    // must not become a huge allocation.
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(3));
         INSERT INTO t VALUES (1, '[1, 0, 0]'), (2, '[0, 1, 0]'), (3, '[0, 0, 1]');",
    )
    .unwrap();
    let rows = db
        .query(
            "SELECT id FROM t WHERE id >= 2 ORDER BY e <=> '[1, 0, 0]' LIMIT 1099511627776",
            (),
        )
        .unwrap();
    let mut got: Vec<i64> = (0..rows.len())
        .map(|i| rows.get(i).unwrap().get(0).unwrap())
        .collect();
    got.sort();
    assert_eq!(got, vec![2, 3]);
}

#[test]
fn ef_search_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    db.execute("SET ef_search = 80", ()).unwrap();
    for sql in [
        "SET ef_search = 0",
        "SET ef_search = 1000000",
        "SET ef_search = 10001",
        "SET ef_search = -1",
        "SET ef_search = 2.5",
        "SET ef_search = 'fast'",
        "SET ef_search = NULL",
        "SET work_mem = 10",
    ] {
        assert!(
            matches!(fails(&db, sql, ()), Error::InvalidArgument(_)),
            "{sql}"
        );
        assert_eq!(db.ef_search(), 80, "{sql}");
    }
}

#[test]
fn missing_or_extra_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    assert!(matches!(fails(&db, "SELECT $2", (1,)), Error::Parameter(_)));
    assert!(matches!(fails(&db, "SELECT $1", ()), Error::Parameter(_)));
    assert!(matches!(fails(&db, "SELECT $0", (1,)), Error::Parameter(_)));
    assert!(matches!(
        fails(&db, "INSERT INTO t (id, name) VALUES ($1, $2)", (3,)),
        Error::Parameter(_)
    ));
    assert!(matches!(
        fails(&db, "UPDATE t SET n = $2 WHERE id = $1", [1]),
        Error::Parameter(_)
    ));
    assert!(matches!(
        fails(&db, "DELETE FROM t WHERE id = $1", ()),
        Error::Parameter(_)
    ));
    assert!(matches!(
        fails(
            &db,
            "INSERT INTO t (id, name) VALUES ($1, 'a'), ($2, 'b'), ($3, 'c')",
            (3, 4)
        ),
        Error::Parameter(_)
    ));
    // More parameters than the statement uses (Error::Parameter's documented second case).
    assert!(matches!(
        fails(&db, "INSERT INTO t (id, name) VALUES ($1, $2)", (3, "x", 5)),
        Error::Parameter(_)
    ));
    assert!(matches!(
        fails(&db, "SELECT $1", (1, 2)),
        Error::Parameter(_)
    ));
    assert!(matches!(
        fails(&db, "DELETE FROM t", [1]),
        Error::Parameter(_)
    ));
}

#[test]
fn vector_dimensions_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    for sql in [
        "CREATE TABLE v (e VECTOR(0))",
        "CREATE TABLE v (e VECTOR(16001))",
        "CREATE TABLE v (e VECTOR(99999999999999999999))",
        "CREATE TABLE v (e VECTOR)",
    ] {
        assert!(
            matches!(fails(&db, sql, ()), Error::InvalidArgument(_)),
            "{sql}"
        );
    }
    assert!(db.table("v").is_none());
    db.execute(
        &format!("CREATE TABLE v (e VECTOR({}))", vectable::MAX_VECTOR_DIMS),
        (),
    )
    .unwrap();
    assert_eq!(
        db.table("v").unwrap().columns[0].data_type,
        vectable::DataType::Vector(16000)
    );
}

#[test]
fn copy_from_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let missing = dir.path().join("no-such.csv");
    for opts in [
        "WITH (FORMAT csv, HEADER true)",
        "WITH (FORMAT parquet)",
        "",
    ] {
        match fails(
            &db,
            &format!("COPY t FROM '{}' {opts}", missing.display()),
            (),
        ) {
            Error::Import {
                path,
                line,
                message,
            } => {
                assert_eq!(path, missing);
                assert_eq!(line, None);
                assert!(!message.is_empty());
            }
            e => panic!("{opts}: {e:?}"),
        }
    }
}

#[test]
fn copy_csv_with_a_bad_row_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let file = dir.path().join("bad.csv");
    let copy = format!(
        "COPY t FROM '{}' WITH (FORMAT csv, HEADER true)",
        file.display()
    );
    // Line 5 (the header is line 1) has text in an INTEGER column.
    std::fs::write(&file, "id,name,n\n3,a,1\n4,b,2\n5,c,3\n6,d,abc\n7,e,5\n").unwrap();
    match fails(&db, &copy, ()) {
        Error::Import {
            path,
            line,
            message,
        } => {
            assert_eq!(path, file);
            assert_eq!(line, Some(5));
            assert!(message.contains("column n"), "{message}");
        }
        e => panic!("{e:?}"),
    }
    assert!(fails(&db, &copy, ()).to_string().contains("(line 5)"));
    // A vector with the wrong number of dimensions on line 3.
    std::fs::write(&file, "id,name,e\n3,a,\"[1,2,3]\"\n4,b,\"[1,2]\"\n").unwrap();
    match fails(&db, &copy, ()) {
        Error::Import { line, message, .. } => {
            assert_eq!(line, Some(3));
            assert!(
                message.contains("column e") && message.contains("expected 3 dimensions, found 2"),
                "{message}"
            );
        }
        e => panic!("{e:?}"),
    }
    // A NaN in a vector on line 2, a short record on line 4.
    std::fs::write(&file, "id,name,e\n3,a,\"[1,NaN,3]\"\n").unwrap();
    assert!(matches!(
        fails(&db, &copy, ()),
        Error::Import { line: Some(2), .. }
    ));
    std::fs::write(&file, "id,name,n\n3,a,1\n4,b,2\n5,c\n").unwrap();
    assert!(matches!(
        fails(&db, &copy, ()),
        Error::Import { line: Some(4), .. }
    ));
    // Without a header, lines count from the first record.
    std::fs::write(&file, "3,a,1,1.0,true,\n4,b,2,x,true,\n").unwrap();
    let e = fails(
        &db,
        &format!("COPY t FROM '{}' WITH (FORMAT csv)", file.display()),
        (),
    );
    assert!(
        matches!(e, Error::Import { line: Some(2), ref message, .. } if message.contains("column r")),
        "{e:?}"
    );
}

#[test]
fn copy_parquet_with_the_wrong_vector_width() {
    use arrow_array::{ArrayRef, Int64Array, StringArray};
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let file = dir.path().join("wide.parquet");
    write_parquet(
        &file,
        vec![
            ("id", Arc::new(Int64Array::from(vec![3, 4])) as ArrayRef),
            (
                "name",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            (
                "e",
                fixed_list(&[Some(vec![1.0; 4]), Some(vec![2.0; 4])], 4),
            ),
        ],
    );
    match fails(
        &db,
        &format!("COPY t FROM '{}' WITH (FORMAT parquet)", file.display()),
        (),
    ) {
        Error::Import {
            path,
            line,
            message,
        } => {
            assert_eq!(path, file);
            assert_eq!(line, Some(1));
            assert!(message.contains("column e"), "{message}");
            assert!(
                message.contains("expected 3 dimensions, found 4"),
                "{message}"
            );
        }
        e => panic!("{e:?}"),
    }
    // A file that is not Parquet at all.
    let junk = dir.path().join("junk.parquet");
    std::fs::write(&junk, b"definitely not parquet").unwrap();
    assert!(matches!(
        fails(&db, &format!("COPY t FROM '{}'", junk.display()), ()),
        Error::Import { .. }
    ));
}

#[test]
fn unsupported_sql() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    db.execute("CREATE TABLE u (id INTEGER)", ()).unwrap();
    for sql in [
        "SELECT * FROM t JOIN u ON t.id = u.id",
        "SELECT * FROM t LEFT JOIN u ON t.id = u.id",
        "SELECT * FROM t, u",
        "SELECT DISTINCT name FROM t",
        "SELECT id FROM t UNION SELECT id FROM u",
        "WITH x AS (SELECT id FROM t) SELECT * FROM x",
        "SELECT * FROM (SELECT id FROM t) AS s",
        "SELECT id FROM t ORDER BY id NULLS FIRST",
        "SELECT count(DISTINCT name) FROM t",
        "SELECT row_number() OVER () FROM t",
        "SELECT nosuchfunction(id) FROM t",
        "INSERT INTO t (id, name) VALUES (3, 'x') RETURNING id",
        "INSERT INTO t (id, name) VALUES (1, 'x') ON CONFLICT DO NOTHING",
        "UPDATE t SET n = 1 RETURNING id",
        "DELETE FROM t RETURNING id",
        "CREATE OR REPLACE TABLE c AS SELECT * FROM t",
        "CREATE TABLE c (a INTEGER, b INTEGER, PRIMARY KEY (a, b))",
        "CREATE TABLE c (a INTEGER PRIMARY KEY, b INTEGER PRIMARY KEY)",
        "CREATE TABLE c (a REAL PRIMARY KEY)",
        "CREATE TABLE c (a INTEGER UNIQUE)",
        "CREATE TABLE c (a INTEGER DEFAULT (SELECT 1))",
        "CREATE TABLE c (a DATE)",
        "CREATE TABLE s.c (a INTEGER)",
        "CREATE VIEW w AS SELECT * FROM t",
        "CREATE UNIQUE INDEX ON t USING hnsw (e)",
        "ALTER TABLE t ALTER COLUMN n SET NOT NULL",
        "DROP VIEW w",
        "COPY t TO '/tmp/out.csv'",
        "COPY t FROM STDIN",
        "COPY (SELECT * FROM t) TO '/tmp/out.csv'",
        "BEGIN",
    ] {
        let e = fails(&db, sql, ());
        assert!(matches!(e, Error::Unsupported(_)), "{sql}: {e:?}");
    }
    assert_eq!(table_names(&db), ["t", "u"]);
}

#[test]
fn create_table_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    match fails(&db, "CREATE TABLE t (x INTEGER)", ()) {
        Error::TableExists(name) => assert_eq!(name, "t"),
        e => panic!("{e:?}"),
    }
    // Unquoted names fold to lower case, so T is t.
    assert!(matches!(
        fails(&db, "CREATE TABLE T (x INTEGER)", ()),
        Error::TableExists(_)
    ));
    // Lookups are case-insensitive, so a quoted "T" is taken too.
    assert!(matches!(
        fails(&db, "CREATE TABLE \"T\" (x INTEGER)", ()),
        Error::TableExists(_)
    ));
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert!(matches!(
        fails(&db, "CREATE TABLE t (x INTEGER)", ()),
        Error::TableExists(_)
    ));
}

#[test]
fn other_invalid_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    for sql in [
        "SELECT 1 / 0",
        "SELECT id / 0 FROM t",
        "SELECT n % 0 FROM t",
        "SELECT 1.5 / 0",
        "SELECT 9223372036854775807 + 1",
        "SELECT -9223372036854775807 - 2",
        "SELECT name, count(*) FROM t",
        "SELECT id FROM t GROUP BY name",
        "SELECT id FROM t WHERE count(*) > 1",
        "SELECT (SELECT id FROM t)",
        "SELECT (SELECT id, name FROM t WHERE id = 1)",
        "SELECT id FROM t ORDER BY 3",
        "SELECT id FROM t ORDER BY 0",
        "SELECT * ",
        "INSERT INTO t (id, name) VALUES (3)",
        "INSERT INTO t (id, id) VALUES (3, 4)",
        "INSERT INTO t (id, name) SELECT id FROM t",
        "CREATE TABLE c (a INTEGER, A TEXT)",
        "CREATE INDEX ON t USING hnsw (e) WITH (metric = 'hamming')",
        "CREATE INDEX ON t USING hnsw (e) WITH (m = 1)",
        "CREATE INDEX ON t USING hnsw (e) WITH (quantization = 'b1')",
        "CREATE INDEX ON t USING hnsw (e) WITH (colour = 'blue')",
        "UPDATE t SET n = 1 / (id - 2)",
        "DELETE FROM t WHERE 1 / (id - 1) = 1",
    ] {
        let e = fails(&db, sql, ());
        assert!(matches!(e, Error::InvalidArgument(_)), "{sql}: {e:?}");
    }
    assert!(matches!(fails(&db, "DROP INDEX nope", ()), Error::NoSuchIndex(n) if n == "nope"));
    db.execute("CREATE INDEX idx ON t USING hnsw (e)", ())
        .unwrap();
    assert!(matches!(
        fails(&db, "CREATE INDEX idx ON t USING hnsw (e)", ()),
        Error::IndexExists(_)
    ));
    // Several names, one missing: nothing is dropped.
    assert!(matches!(fails(&db, "DROP INDEX idx, nope", ()), Error::NoSuchIndex(n) if n == "nope"));
    assert_eq!(status(&db, "t", "e").name, "idx");
}

// ---------------------------------------------------------------------------------------------
// A directory held open by this process, opened by another one.

/// Child role: opens `VECTABLE_DIR` and prints the outcome.
#[test]
#[ignore = "run by a_second_process_gets_locked"]
fn child_tries_to_open() {
    let dir = std::env::var("VECTABLE_DIR").expect("run by the parent test");
    match Database::open(&dir) {
        Ok(db) => println!("CHILD RESULT: opened with {} tables", db.tables().len()),
        Err(Error::Locked(path)) => println!("CHILD RESULT: Locked({})", path.display()),
        Err(e) => println!("CHILD RESULT: other error {e:?}"),
    }
}

fn run_child(dir: &Path) -> String {
    let stdout = run_child_test("child_tries_to_open", dir);
    stdout
        .lines()
        .find_map(|l| l.split_once("CHILD RESULT: ").map(|(_, r)| r.to_string()))
        .unwrap_or_else(|| panic!("no result from the child: {stdout}"))
}

#[test]
fn a_second_process_gets_locked() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    assert_eq!(
        run_child(dir.path()),
        format!("Locked({})", dir.path().display())
    );
    // The holder is unaffected and can still write.
    db.execute("INSERT INTO t (id, name) VALUES (3, 'three')", ())
        .unwrap();
    drop(db);
    // Once closed, another process can open it.
    assert_eq!(run_child(dir.path()), "opened with 1 tables");
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(count(&db, "t"), 3);
}
