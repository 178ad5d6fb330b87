//! The row API modelled on rusqlite: rows by value and by reference, `get` of borrowed `&str`
//! and `&[f32]`, `get_ref`, fixed-size and f64 vectors in and out (exact conversions only),
//! `query_map`, serde mapping of rows into structs, and the streaming `query_iter` cursor
//! (every row once, from a snapshot that later writes do not change, no deadlock when the
//! consumer writes).

use std::path::Path;

use serde::Deserialize;
use vectable::{params, Database, Error, OwnedRow, Value, ValueRef};

fn open(dir: &Path) -> Database {
    Database::open(dir).unwrap()
}

fn docs(dir: &Path) -> Database {
    let db = open(dir);
    db.execute(
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, score REAL, embedding VECTOR(3))",
        (),
    )
    .unwrap();
    db.execute(
        "INSERT INTO docs VALUES (1, 'red', 0.5, '[1, 0, 0]'), (2, NULL, NULL, NULL), \
         (3, 'blue', 2, '[0, 0.25, 1]')",
        (),
    )
    .unwrap();
    db
}

#[test]
fn rows_iterate_by_value_and_by_reference() {
    let dir = tempfile::tempdir().unwrap();
    let db = docs(dir.path());
    let rows = db
        .query("SELECT id, title FROM docs ORDER BY id", ())
        .unwrap();
    let mut borrowed = Vec::new();
    for row in &rows {
        borrowed.push(row.get::<i64>("id").unwrap());
    }
    assert_eq!(borrowed, [1, 2, 3]);

    let iter = rows.clone().into_iter();
    assert_eq!(iter.len(), 3);
    let owned: Vec<OwnedRow> = iter.collect();
    assert_eq!(owned[0].columns(), ["id", "title"]);
    assert_eq!(owned[0].get::<String>(1).unwrap(), "red");
    assert_eq!(owned[1].get::<Option<String>>("title").unwrap(), None);
    assert_eq!(owned[2].get::<&str>("title").unwrap(), "blue");
    assert_eq!(owned[2].as_row().get::<i64>(0).unwrap(), 3);
    assert_eq!(
        owned[2].clone().into_values(),
        [Value::Integer(3), Value::Text("blue".into())]
    );
    // Rows outlive the `Rows` they came from.
    let mut titles = Vec::new();
    for row in rows {
        titles.push(row.get::<Option<String>>(1).unwrap());
    }
    assert_eq!(titles, [Some("red".into()), None, Some("blue".into())]);
}

#[test]
fn borrowed_text_and_vectors_with_get_and_get_ref() {
    let dir = tempfile::tempdir().unwrap();
    let db = docs(dir.path());
    let rows = db
        .query("SELECT id, title, embedding FROM docs ORDER BY id", ())
        .unwrap();
    let first = rows.get(0).unwrap();
    let title: &str = first.get("title").unwrap();
    let v: &[f32] = first.get("embedding").unwrap();
    assert_eq!((title, v), ("red", &[1.0f32, 0.0, 0.0][..]));
    // The borrowed slice is the row's own storage, not a copy.
    assert!(std::ptr::eq(
        v.as_ptr(),
        match &first.values()[2] {
            Value::Vector(x) => x.as_ptr(),
            other => panic!("{other:?}"),
        }
    ));
    assert_eq!(first.get_ref(1).unwrap().as_str().unwrap(), "red");
    assert_eq!(
        first.get_ref("embedding").unwrap().as_vector().unwrap(),
        [1.0, 0.0, 0.0]
    );
    assert_eq!(first.get_ref(0).unwrap(), ValueRef::Integer(1));
    assert_eq!(first.get_ref(0).unwrap().as_f64().unwrap(), 1.0);

    let second = rows.get(1).unwrap();
    assert_eq!(second.get::<Option<&str>>(1).unwrap(), None);
    assert_eq!(second.get::<Option<&[f32]>>(2).unwrap(), None);
    assert!(second.get_ref(1).unwrap().is_null());
    match second.get::<&str>(1) {
        Err(Error::InvalidColumnType {
            index: 1,
            name,
            expected: "&str",
            found,
        }) => assert_eq!((name.as_str(), found.as_str()), ("title", "NULL")),
        other => panic!("{other:?}"),
    }
    match first.get_ref(0).unwrap().as_str() {
        Err(Error::TypeMismatch {
            expected, found, ..
        }) => assert_eq!((expected.as_str(), found.as_str()), ("TEXT", "INTEGER")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        first.get_ref(1).unwrap().as_vector(),
        Err(Error::TypeMismatch { .. })
    ));
    assert!(matches!(first.get_ref(9), Err(Error::InvalidColumn(_))));
    // ValueRef converts back to an owned Value.
    assert_eq!(
        Value::from(first.get_ref(2).unwrap()),
        Value::Vector(vec![1.0, 0.0, 0.0])
    );
}

#[test]
fn fixed_size_arrays_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = docs(dir.path());
    let v: [f32; 3] = [0.5, 0.5, 0.0];
    db.execute(
        "INSERT INTO docs (id, embedding) VALUES ($1, $2)",
        params![4, v],
    )
    .unwrap();
    db.execute(
        "INSERT INTO docs (id, embedding) VALUES ($1, $2)",
        (5, [0.0f32, 1.0, 0.0]),
    )
    .unwrap();
    let got: [f32; 3] = db
        .query_row("SELECT embedding FROM docs WHERE id = 4", (), |r| r.get(0))
        .unwrap();
    assert_eq!(got, v);
    let got: [f32; 3] = db
        .query_row("SELECT embedding FROM docs WHERE id = 5", (), |r| {
            r.get("embedding")
        })
        .unwrap();
    assert_eq!(got, [0.0, 1.0, 0.0]);
    // A length that differs is an error naming the column and the vector's type.
    match db.query_row("SELECT embedding FROM docs WHERE id = 4", (), |r| {
        r.get::<[f32; 4]>(0)
    }) {
        Err(Error::InvalidColumnType {
            index: 0,
            name,
            found,
            ..
        }) => assert_eq!((name.as_str(), found.as_str()), ("embedding", "VECTOR(3)")),
        other => panic!("{other:?}"),
    }
    let nullable: Option<[f32; 3]> = db
        .query_row("SELECT embedding FROM docs WHERE id = 2", (), |r| r.get(0))
        .unwrap();
    assert_eq!(nullable, None);
}

#[test]
fn f64_vectors_bind_when_exact_and_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = docs(dir.path());
    // Every element is exactly an f32: accepted, by every parameter form.
    db.execute(
        "INSERT INTO docs (id, embedding) VALUES ($1, $2)",
        params![10, vec![0.5f64, -0.25, 3.0]],
    )
    .unwrap();
    db.execute(
        "INSERT INTO docs (id, embedding) VALUES ($1, $2)",
        (11, &[1.0f64, 0.0, 0.125][..]),
    )
    .unwrap();
    db.execute(
        "INSERT INTO docs (id, embedding) VALUES (12, $1)",
        [[0.75f64, 0.0, 1.0]],
    )
    .unwrap();
    let out: Vec<f64> = db
        .query_row("SELECT embedding FROM docs WHERE id = 10", (), |r| r.get(0))
        .unwrap();
    assert_eq!(out, [0.5, -0.25, 3.0]);
    // f32 → f64 is exact for any stored value.
    let third = 1.0f32 / 3.0;
    db.execute(
        "UPDATE docs SET embedding = $1 WHERE id = 11",
        params![vec![third, 0.0, 0.0]],
    )
    .unwrap();
    let out: Vec<f64> = db
        .query_row("SELECT embedding FROM docs WHERE id = 11", (), |r| r.get(0))
        .unwrap();
    assert_eq!(out[0], f64::from(third));
    let count = |db: &Database| -> i64 {
        db.query_row("SELECT count(*) FROM docs", (), |r| r.get(0))
            .unwrap()
    };
    let before = count(&db);

    // 0.1 has no exact f32: refused, naming the parameter, the element and its value.
    for err in [
        db.execute(
            "INSERT INTO docs (id, embedding) VALUES ($1, $2)",
            params![20, vec![0.5f64, 0.1, 0.0]],
        ),
        db.execute(
            "INSERT INTO docs (id, embedding) VALUES ($1, $2)",
            (20, vec![0.5f64, 0.1, 0.0]),
        ),
        db.prepare("INSERT INTO docs (id, embedding) VALUES ($1, $2)")
            .unwrap()
            .execute(params![20, &[0.5f64, 0.1, 0.0][..]]),
    ] {
        match err {
            Err(Error::Parameter(m)) => {
                assert!(m.contains("$2"), "{m}");
                assert!(m.contains("element 1"), "{m}");
                assert!(m.contains("0.1"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }
    match db.execute("SELECT $1", [[1.0f64, 1e-50]]) {
        Err(Error::Parameter(m)) => assert!(m.starts_with("$1: element 1"), "{m}"),
        other => panic!("{other:?}"),
    }
    match db.query_iter("SELECT $1", (Some(vec![f64::NAN]),)) {
        Err(Error::Parameter(m)) => assert!(m.contains("$1"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&db), before, "a refused statement writes nothing");
}

#[test]
fn query_map_on_the_database_and_on_a_statement() {
    let dir = tempfile::tempdir().unwrap();
    let db = docs(dir.path());
    let titles: Vec<Option<String>> = db
        .query_map("SELECT title FROM docs ORDER BY id", (), |r| r.get(0))
        .unwrap()
        .collect::<vectable::Result<_>>()
        .unwrap();
    assert_eq!(titles, [Some("red".into()), None, Some("blue".into())]);

    let stmt = db
        .prepare("SELECT id, embedding FROM docs WHERE id <> $1")
        .unwrap();
    let mapped = stmt
        .query_map([2], |r| Ok((r.get::<i64>(0)?, r.get::<[f32; 3]>(1)?)))
        .unwrap();
    assert_eq!(mapped.columns(), ["id", "embedding"]);
    let pairs: Vec<(i64, [f32; 3])> = mapped.collect::<vectable::Result<_>>().unwrap();
    assert_eq!(pairs, [(1, [1.0, 0.0, 0.0]), (3, [0.0, 0.25, 1.0])]);

    // A failing closure yields its error for that row; the other rows still map.
    let results: Vec<vectable::Result<String>> = db
        .query_map("SELECT title FROM docs", (), |r| r.get(0))
        .unwrap()
        .collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(matches!(
        results[1],
        Err(Error::InvalidColumnType { index: 0, .. })
    ));
    // Statement errors come from the call itself.
    assert!(matches!(
        db.query_map("SELECT * FROM nope", (), |r| r.get::<i64>(0)),
        Err(Error::NoSuchTable(_))
    ));
}

#[derive(Debug, Deserialize, PartialEq)]
struct Doc {
    id: i64,
    title: Option<String>,
    score: Option<f64>,
    embedding: Option<Vec<f32>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Color {
    Red,
    Blue,
}

#[test]
fn rows_deserialize_into_structs_by_column_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = docs(dir.path());
    let all: Vec<Doc> = db.query_as("SELECT * FROM docs ORDER BY id", ()).unwrap();
    assert_eq!(
        all,
        [
            Doc {
                id: 1,
                title: Some("red".into()),
                score: Some(0.5),
                embedding: Some(vec![1.0, 0.0, 0.0])
            },
            Doc {
                id: 2,
                title: None,
                score: None,
                embedding: None
            },
            Doc {
                id: 3,
                title: Some("blue".into()),
                score: Some(2.0),
                embedding: Some(vec![0.0, 0.25, 1.0])
            },
        ]
    );
    let stmt = db.prepare("SELECT * FROM docs WHERE id = $1").unwrap();
    assert_eq!(stmt.query_as::<Doc>([2]).unwrap()[0].title, None);

    // Borrowed text, fixed-size arrays, f64 vectors, renamed fields, enums from text, and
    // columns the struct does not name (score) are ignored.
    #[derive(Debug, Deserialize)]
    struct View<'a> {
        #[serde(rename = "id")]
        key: u32,
        title: &'a str,
        color: Color,
        embedding: [f32; 3],
        wide: Vec<f64>,
    }
    let rows = db
        .query(
            "SELECT id, title, title AS color, score, embedding, embedding AS wide \
             FROM docs WHERE title IS NOT NULL ORDER BY id",
            (),
        )
        .unwrap();
    let views: Vec<View<'_>> = rows.deserialize().unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!((views[0].key, views[0].title), (1, "red"));
    assert_eq!(
        (&views[1].color, views[1].embedding),
        (&Color::Blue, [0.0, 0.25, 1.0])
    );
    assert_eq!(views[0].color, Color::Red);
    assert_eq!(views[1].wide, [0.0, 0.25, 1.0]);

    // Tuples map by position; an OwnedRow deserializes too.
    let row = db
        .query_iter("SELECT id, title FROM docs WHERE id = 1", ())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let (id, title): (i64, String) = row.deserialize().unwrap();
    assert_eq!((id, title.as_str()), (1, "red"));
}

#[test]
fn a_row_that_does_not_fit_the_struct_names_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = docs(dir.path());
    let err_of = |r: vectable::Result<()>| match r {
        Err(Error::Deserialize { column, message }) => (column, message),
        other => panic!("{other:?}"),
    };

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Wide {
        embedding: [f32; 4],
    }
    let (column, message) = err_of(
        db.query_row("SELECT embedding FROM docs WHERE id = 1", (), |r| {
            r.deserialize::<Wide>()
        })
        .map(drop),
    );
    assert_eq!(column.as_deref(), Some("embedding"));
    assert!(message.contains('4') && message.contains('3'), "{message}");

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Narrow {
        embedding: [f32; 2],
    }
    let (column, _) = err_of(
        db.query_row("SELECT embedding FROM docs WHERE id = 1", (), |r| {
            r.deserialize::<Narrow>()
        })
        .map(drop),
    );
    assert_eq!(column.as_deref(), Some("embedding"));

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Typed {
        id: i64,
        title: i64,
    }
    let (column, message) = err_of(
        db.query_row("SELECT id, title FROM docs WHERE id = 1", (), |r| {
            r.deserialize::<Typed>()
        })
        .map(drop),
    );
    assert_eq!(column.as_deref(), Some("title"));
    assert!(message.contains("red"), "{message}");
    // NULL into a field that is not an Option.
    let (column, _) = err_of(
        db.query_row(
            "SELECT id, score AS title FROM docs WHERE id = 2",
            (),
            |r| r.deserialize::<Typed>(),
        )
        .map(drop),
    );
    assert_eq!(column.as_deref(), Some("title"));

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Missing {
        id: i64,
        author: String,
    }
    let (column, message) = err_of(db.query_as::<Missing>("SELECT id FROM docs", ()).map(drop));
    assert_eq!(column.as_deref(), Some("author"));
    assert!(message.contains("author"), "{message}");
}

/// A table larger than the cursor's in-memory bound (256 rows).
const N: i64 = 3_000;

fn big(dir: &Path) -> Database {
    let db = open(dir);
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, grp INTEGER, v VECTOR(2))",
        (),
    )
    .unwrap();
    for chunk in (0..N).collect::<Vec<_>>().chunks(500) {
        let sql = chunk
            .iter()
            .map(|i| format!("({i}, {}, '[{i}, 1]')", i % 7))
            .collect::<Vec<_>>()
            .join(", ");
        db.execute(&format!("INSERT INTO t VALUES {sql}"), ())
            .unwrap();
    }
    db
}

#[test]
fn query_iter_streams_every_row_once_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = big(dir.path());
    let cursor = db.query_iter("SELECT id, v FROM t", ()).unwrap();
    assert!(cursor.is_streaming());
    assert_eq!(cursor.columns(), ["id", "v"]);
    let mut seen = vec![0u32; N as usize];
    let mut n = 0i64;
    for row in cursor {
        let row = row.unwrap();
        let id: i64 = row.get(0).unwrap();
        let v: [f32; 2] = row.get(1).unwrap();
        assert_eq!(v, [id as f32, 1.0], "row {id} is read as it was");
        seen[id as usize] += 1;
        n += 1;
        // The consumer writes to the same database on the same thread while it iterates:
        // no deadlock, and the cursor does not see the writes.
        match n {
            10 => {
                db.execute("INSERT INTO t VALUES ($1, 0, '[0, 0]')", [-1])
                    .unwrap();
            }
            20 => {
                db.execute("UPDATE t SET v = '[-1, -1]' WHERE id >= 2000", ())
                    .unwrap();
            }
            30 => {
                db.execute("DELETE FROM t WHERE id >= 2500", ()).unwrap();
            }
            _ => {}
        }
    }
    assert!(
        seen.iter().all(|&c| c == 1),
        "every row exactly once (missing or repeated: {:?})",
        seen.iter()
            .enumerate()
            .filter(|(_, &c)| c != 1)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(n, N);
    // The writes did happen.
    let count: i64 = db
        .query_row("SELECT count(*) FROM t", (), |r| r.get(0))
        .unwrap();
    assert_eq!(count, 2_500 + 1);
}

/// Reads `SELECT … WHERE grp = 3` slowly while another thread rewrites the table.
fn concurrent_writer(indexed: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = big(dir.path());
    if indexed {
        db.execute("CREATE INDEX t_grp ON t (grp)", ()).unwrap();
        let plan = db
            .query("EXPLAIN SELECT id, grp, v FROM t WHERE grp = 3", ())
            .unwrap();
        assert!(format!("{:?}", plan.values()).contains("t_grp"), "{plan:?}");
    }
    let expected: Vec<Vec<Value>> = db
        .query("SELECT id, grp, v FROM t WHERE grp = 3", ())
        .unwrap()
        .into_values();
    let cursor = db
        .query_iter("SELECT id, grp, v FROM t WHERE grp = 3", ())
        .unwrap();
    assert!(cursor.is_streaming());
    // Another thread rewrites the table while the cursor is read slowly.
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            for i in 0..20 {
                db.execute("UPDATE t SET grp = 3, v = '[9, 9]' WHERE id % 20 = $1", [i])
                    .unwrap();
                db.execute("DELETE FROM t WHERE id % 40 = $1", [i]).unwrap();
            }
        })
    };
    let mut got = Vec::new();
    for (i, row) in cursor.enumerate() {
        got.push(row.unwrap().into_values());
        if i % 64 == 0 {
            std::thread::yield_now();
        }
    }
    writer.join().unwrap();
    assert_eq!(got, expected);
    // A new cursor sees the writes.
    let after = db.query_iter("SELECT id FROM t WHERE grp = 3", ()).unwrap();
    assert_ne!(after.count(), expected.len());
}

#[test]
fn a_concurrent_writer_does_not_change_what_the_cursor_returns() {
    concurrent_writer(false);
}

#[test]
fn a_concurrent_writer_does_not_change_what_an_index_driven_cursor_returns() {
    concurrent_writer(true);
}

#[test]
fn streamed_results_equal_buffered_results_for_every_shape() {
    let dir = tempfile::tempdir().unwrap();
    let db = big(dir.path());
    db.execute("CREATE INDEX t_grp ON t (grp)", ()).unwrap();
    for (sql, streams) in [
        ("SELECT * FROM t", true),
        ("SELECT id * 2 AS twice, v FROM t WHERE id % 3 = 1", true),
        (
            "SELECT id FROM t WHERE v IS NOT NULL LIMIT 300 OFFSET 1000",
            true,
        ),
        ("SELECT id FROM t LIMIT 0", true),
        ("SELECT id FROM t WHERE id < 0", true),
        ("SELECT id FROM t ORDER BY id DESC LIMIT 500", false),
        ("SELECT grp, count(*) FROM t GROUP BY grp", false),
        ("SELECT id FROM t WHERE id = 7", false),
        // Through the secondary index on grp (rowids first, then the rows).
        ("SELECT id, v FROM t WHERE grp = 3", true),
        (
            "SELECT id FROM t WHERE grp IN (1, 5) AND id % 2 = 0 LIMIT 100 OFFSET 20",
            true,
        ),
        ("SELECT id FROM t WHERE grp = 2 ORDER BY grp LIMIT 5", false),
        ("SELECT id FROM t ORDER BY v <-> '[5, 1]' LIMIT 3", false),
        ("SELECT 1 + 1", false),
        ("SHOW TABLES", false),
    ] {
        let buffered = db.query(sql, ()).unwrap();
        let cursor = db.query_iter(sql, ()).unwrap();
        assert_eq!(cursor.is_streaming(), streams, "{sql}");
        assert_eq!(cursor.columns(), buffered.columns(), "{sql}");
        let streamed: Vec<Vec<Value>> = cursor.map(|r| r.unwrap().into_values()).collect();
        assert_eq!(streamed, buffered.values(), "{sql}");
    }
    // A statement without rows runs (once) and yields nothing.
    assert_eq!(
        db.query_iter("DELETE FROM t WHERE id = 0", ())
            .unwrap()
            .count(),
        0
    );
    assert!(db
        .query("SELECT id FROM t WHERE id = 0", ())
        .unwrap()
        .is_empty());
}

#[test]
fn a_read_error_ends_the_stream_after_the_rows_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = big(dir.path());
    let items: Vec<vectable::Result<OwnedRow>> = db
        .query_iter("SELECT 1 / (id - 1000) AS x FROM t", ())
        .unwrap()
        .collect();
    assert_eq!(items.len(), 1001);
    assert!(items[..1000].iter().all(|r| r.is_ok()));
    assert!(matches!(items[1000], Err(Error::InvalidArgument(_))));
}

#[test]
fn dropping_a_cursor_early_releases_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = big(dir.path());
    let mut cursor = db.query_iter("SELECT id FROM t", ()).unwrap();
    assert_eq!(cursor.next().unwrap().unwrap().get::<i64>(0).unwrap(), 0);
    // Also a cursor whose filter matches nothing (its reader is busy scanning).
    let idle = db.query_iter("SELECT id FROM t WHERE id < 0", ()).unwrap();
    drop(db);
    drop(cursor);
    drop(idle);
    // The last handle is gone with the cursors: the directory can be opened again.
    let db = open(dir.path());
    let count: i64 = db
        .query_row("SELECT count(*) FROM t", (), |r| r.get(0))
        .unwrap();
    assert_eq!(count, N);
}

#[test]
fn cursors_and_owned_rows_can_move_to_other_threads() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<vectable::RowCursor>();
    assert_send::<OwnedRow>();
    assert_send::<vectable::Rows>();
    let dir = tempfile::tempdir().unwrap();
    let db = big(dir.path());
    let cursor = db.query_iter("SELECT id FROM t", ()).unwrap();
    let n = std::thread::spawn(move || cursor.filter(|r| r.is_ok()).count())
        .join()
        .unwrap();
    assert_eq!(n as i64, N);
}
