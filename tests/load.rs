//! Loading without a hand-written `CREATE TABLE` (issue 13, item 4): `CREATE TABLE t AS
//! SELECT …`, `CREATE TABLE t AS FROM 'file'`, `SELECT … FROM 'file'`, the shell's `.import`
//! into a missing table, and `COPY t (col, …) FROM`. Every failure leaves nothing behind.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder};
use arrow_array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use vectable::{DataType, Database, Error, Value};

fn sample() -> PathBuf {
    common::samples().join("debian_packages_5k.parquet")
}

fn count(db: &Database, table: &str) -> i64 {
    db.query_row(&format!("SELECT count(*) FROM {table}"), (), |r| r.get(0))
        .unwrap()
}

fn types(db: &Database, table: &str) -> Vec<(String, DataType)> {
    db.table(table)
        .unwrap_or_else(|| panic!("no table {table}"))
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.data_type))
        .collect()
}

fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch =
        RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap();
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn list_column(rows: &[&[f32]]) -> ArrayRef {
    let mut b = ListBuilder::new(Float32Builder::new());
    for r in rows {
        b.values().append_slice(r);
        b.append(true);
    }
    Arc::new(b.finish())
}

/// The table is absent now and after reopening the directory (nothing was written).
fn assert_no_table(db: Database, dir: &Path, table: &str) {
    assert!(db.table(table).is_none());
    drop(db);
    let db = Database::open(dir).unwrap();
    assert!(
        db.table(table).is_none(),
        "{table} came back after reopening"
    );
}

#[test]
fn create_table_as_select_with_filter_and_vector_then_knn() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sample_db(dir.path());
    let python: i64 = db
        .query_row(
            "SELECT count(*) FROM packages WHERE section = 'python'",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert!(python > 10);
    let n = db
        .execute(
            "CREATE TABLE py AS SELECT id, upper(name) AS uname, installed_size / 1024.0 AS mib, \
             vector_dims(embedding) AS dims, embedding FROM packages WHERE section = 'python'",
            (),
        )
        .unwrap();
    assert_eq!(n as i64, python);
    assert_eq!(count(&db, "py"), python);
    assert_eq!(
        types(&db, "py"),
        vec![
            ("id".into(), DataType::Integer),
            ("uname".into(), DataType::Text),
            ("mib".into(), DataType::Real),
            ("dims".into(), DataType::Integer),
            ("embedding".into(), DataType::Vector(384)),
        ]
    );
    // No primary key: rows get rowids, as CREATE TABLE without PRIMARY KEY.
    assert_eq!(db.table("py").unwrap().primary_key, None);

    // kNN on the new table equals the filtered kNN on the source.
    let q: Vec<f32> = db
        .query_row(
            "SELECT embedding FROM packages WHERE section = 'python' ORDER BY id LIMIT 1",
            (),
            |r| r.get(0),
        )
        .unwrap();
    let ids = |sql: &str| -> Vec<i64> {
        db.query(sql, vectable::params![q.clone()])
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect()
    };
    let got = ids("SELECT id FROM py ORDER BY embedding <=> $1 LIMIT 5");
    let want =
        ids("SELECT id FROM packages WHERE section = 'python' ORDER BY embedding <=> $1 LIMIT 5");
    assert_eq!(got.len(), 5);
    assert_eq!(got, want);

    // The new table is an ordinary table: it takes inserts and survives a reopen.
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(count(&db, "py"), python);
    db.execute("INSERT INTO py (id, uname) VALUES (-1, 'NEW')", ())
        .unwrap();
    assert_eq!(count(&db, "py"), python + 1);
}

#[test]
fn create_table_as_from_parquet_gives_vector_384() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let n = db
        .execute(
            &format!("CREATE TABLE pk AS FROM '{}'", sample().display()),
            (),
        )
        .unwrap();
    assert_eq!(n, 5000);
    assert_eq!(count(&db, "pk"), 5000);
    assert_eq!(
        types(&db, "pk"),
        vec![
            ("id".into(), DataType::Integer),
            ("name".into(), DataType::Text),
            ("section".into(), DataType::Text),
            ("component".into(), DataType::Text),
            ("priority".into(), DataType::Text),
            ("installed_size".into(), DataType::Integer),
            ("version".into(), DataType::Text),
            ("description".into(), DataType::Text),
            ("embedding".into(), DataType::Vector(384)),
        ]
    );
    // The same through SELECT * FROM 'file', with a filter.
    db.execute(
        &format!(
            "CREATE TABLE IF NOT EXISTS net AS SELECT * FROM '{}' WHERE section = 'net'",
            sample().display()
        ),
        (),
    )
    .unwrap();
    let net: i64 = db
        .query_row("SELECT count(*) FROM pk WHERE section = 'net'", (), |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(count(&db, "net"), net);
    // kNN over the new table finds a row's own vector first.
    let name: String = db
        .query_row(
            "SELECT name FROM pk ORDER BY embedding <=> (SELECT embedding FROM pk WHERE id = 42) LIMIT 1",
            (),
            |r| r.get(0),
        )
        .unwrap();
    let want: String = db
        .query_row("SELECT name FROM pk WHERE id = 42", (), |r| r.get(0))
        .unwrap();
    assert_eq!(name, want);
}

#[test]
fn select_from_csv_and_parquet_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let csv = dir.path().join("items.csv");
    std::fs::write(
        &csv,
        "id,name,score,ok,v\n\
         1,apple,1.5,true,\"[1, 0]\"\n\
         2,banana,3,false,\"[0, 1]\"\n\
         3,cherry,,true,\"[0.9, 0.1]\"\n\
         4,date,2.5,,\n",
    )
    .unwrap();
    let p = csv.display();
    let rows = db
        .query(
            &format!("SELECT name, score FROM '{p}' WHERE score > 1 ORDER BY score DESC LIMIT 2"),
            (),
        )
        .unwrap();
    let got: Vec<(String, f64)> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(got, vec![("banana".into(), 3.0), ("date".into(), 2.5)]);

    let (n, total): (i64, f64) = db
        .query_row(
            &format!("SELECT count(*), sum(score) FROM '{p}' WHERE ok"),
            (),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, total), (2, 1.5));

    // kNN over the file: an exact sort by distance.
    let near: Vec<i64> = db
        .query(
            &format!("SELECT id FROM '{p}' ORDER BY v <-> '[1, 0.05]' LIMIT 2"),
            (),
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(near, vec![1, 3]);

    // Types inferred from the values; a column of integers and reals is REAL.
    db.execute(&format!("CREATE TABLE items AS FROM '{p}'"), ())
        .unwrap();
    assert_eq!(
        types(&db, "items"),
        vec![
            ("id".into(), DataType::Integer),
            ("name".into(), DataType::Text),
            ("score".into(), DataType::Real),
            ("ok".into(), DataType::Boolean),
            ("v".into(), DataType::Vector(2)),
        ]
    );
    assert_eq!(
        db.query_row("SELECT score FROM items WHERE id = 3", (), |r| r
            .get::<Option<f64>>(0))
            .unwrap(),
        None
    );

    // INSERT … SELECT from the file appends to a table; EXPLAIN over a file is refused.
    let n = db
        .execute(
            &format!(
                "INSERT INTO items (id, name) SELECT id + 10, lower(name) FROM '{p}' WHERE ok"
            ),
            (),
        )
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(count(&db, "items"), 6);
    assert!(matches!(
        db.execute(&format!("EXPLAIN SELECT * FROM '{p}'"), ()),
        Err(Error::Unsupported(_))
    ));

    // A CSV file without a header line: columns column1, column2, ….
    let bare = dir.path().join("bare.csv");
    std::fs::write(&bare, "1,x\n2,y\n3,z\n").unwrap();
    let rows = db
        .query(
            &format!(
                "SELECT column2 FROM '{}' WHERE column1 >= 2 ORDER BY column1",
                bare.display()
            ),
            (),
        )
        .unwrap();
    let got: Vec<String> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(got, vec!["y", "z"]);

    // A .tsv file is tab-separated.
    let tsv = dir.path().join("t.tsv");
    std::fs::write(&tsv, "id\tword\n1\tone, two\n").unwrap();
    let word: String = db
        .query_row(
            &format!("SELECT word FROM '{}' WHERE id = 1", tsv.display()),
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(word, "one, two");

    // A Parquet file, with GROUP BY, and as a scalar subquery inside a query on a table.
    let sections = db
        .query(
            &format!(
                "SELECT section, count(*) AS n FROM '{}' GROUP BY section ORDER BY n DESC LIMIT 1",
                sample().display()
            ),
            (),
        )
        .unwrap();
    assert_eq!(sections.len(), 1);
    let n: i64 = db
        .query_row(
            &format!(
                "SELECT count(*) FROM items WHERE id < (SELECT max(id) FROM '{}')",
                csv.display()
            ),
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 3);
}

#[test]
fn variable_lists_become_vectors_when_every_row_matches() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let good = dir.path().join("good.parquet");
    write_parquet(
        &good,
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("v", list_column(&[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0]])),
        ],
    );
    db.execute(
        &format!("CREATE TABLE good AS FROM '{}'", good.display()),
        (),
    )
    .unwrap();
    assert_eq!(types(&db, "good")[1], ("v".into(), DataType::Vector(3)));

    let bad = dir.path().join("bad.parquet");
    write_parquet(
        &bad,
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("v", list_column(&[&[1.0, 0.0, 0.0], &[0.0, 1.0]])),
        ],
    );
    match db.execute(&format!("CREATE TABLE bad AS FROM '{}'", bad.display()), ()) {
        Err(Error::Import {
            path,
            line,
            message,
        }) => {
            assert_eq!(path, bad);
            assert_eq!(line, Some(2));
            assert!(
                message.contains("expected 3 dimensions, found 2"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_no_table(db, &dir.path().join("db"), "bad");
}

#[test]
fn shell_import_creates_a_missing_table() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("fruit.csv");
    std::fs::write(&csv, "id,name,v\n1,apple,\"[1, 0]\"\n2,pear,\"[0, 1]\"\n").unwrap();
    let import = format!(".import {} fruit", csv.display());
    let o = Command::new(env!("CARGO_BIN_EXE_vectable"))
        .arg(dir.path().join("db"))
        .args([
            "--mode",
            "csv",
            "-c",
            &import,
            "-c",
            ".schema fruit",
            // The table exists now: a second .import appends.
            "-c",
            &import,
            "-c",
            "SELECT count(*) AS n FROM fruit",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("CREATE TABLE fruit (id INTEGER, name TEXT, v VECTOR(2));"),
        "{out}"
    );
    assert!(out.contains("n\n4\n"), "{out}");
}

#[test]
fn copy_with_a_column_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, v VECTOR(2))",
        (),
    )
    .unwrap();

    // CSV without a header: the fields fill the listed columns in order.
    let bare = dir.path().join("bare.csv");
    std::fs::write(&bare, "alpha,1\nbeta,2\n").unwrap();
    let n = db
        .execute(&format!("COPY t (name, id) FROM '{}'", bare.display()), ())
        .unwrap();
    assert_eq!(n, 2);
    let row = db
        .query_row("SELECT id, name, score, v FROM t WHERE id = 2", (), |r| {
            Ok(r.values().to_vec())
        })
        .unwrap();
    assert_eq!(
        row,
        vec![
            Value::Integer(2),
            Value::Text("beta".into()),
            Value::Null,
            Value::Null
        ]
    );

    // CSV with a header: by name; file columns not listed are skipped.
    let named = dir.path().join("named.csv");
    std::fs::write(&named, "extra,score,id\nx,0.5,3\ny,0.25,4\n").unwrap();
    db.execute(
        &format!(
            "COPY t (id, score) FROM '{}' WITH (FORMAT csv, HEADER true)",
            named.display()
        ),
        (),
    )
    .unwrap();
    let score: f64 = db
        .query_row("SELECT score FROM t WHERE id = 4", (), |r| r.get(0))
        .unwrap();
    assert_eq!(score, 0.25);

    // Parquet: by name.
    let pq = dir.path().join("p.parquet");
    write_parquet(
        &pq,
        vec![
            ("v", list_column(&[&[1.0, 2.0]])),
            (
                "junk",
                Arc::new(StringArray::from(vec!["ignored"])) as ArrayRef,
            ),
            ("id", Arc::new(Int64Array::from(vec![5]))),
        ],
    );
    db.execute(&format!("COPY t (id, v) FROM '{}'", pq.display()), ())
        .unwrap();
    let v: Vec<f32> = db
        .query_row("SELECT v FROM t WHERE id = 5", (), |r| r.get(0))
        .unwrap();
    assert_eq!(v, vec![1.0, 2.0]);
    assert_eq!(count(&db, "t"), 5);

    // A listed column the table lacks, or one the file lacks: nothing written.
    match db.execute(&format!("COPY t (id, nope) FROM '{}'", bare.display()), ()) {
        Err(Error::NoSuchColumn { table, column }) => {
            assert_eq!((table.as_str(), column.as_str()), ("t", "nope"))
        }
        other => panic!("{other:?}"),
    }
    match db.execute(&format!("COPY t (id, name) FROM '{}'", pq.display()), ()) {
        Err(Error::Import { message, .. }) => {
            assert!(message.contains("no column name"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Without a header, the record has two fields for a one-column list.
    assert!(matches!(
        db.execute(&format!("COPY t (id) FROM '{}'", bare.display()), ()),
        Err(Error::Import { .. })
    ));
    assert_eq!(count(&db, "t"), 5);
}

#[test]
fn errors_name_the_file_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("db");
    let db = Database::open(&db_dir).unwrap();

    // A missing file.
    let missing = dir.path().join("missing.csv");
    for sql in [
        format!("SELECT * FROM '{}'", missing.display()),
        format!("CREATE TABLE m AS FROM '{}'", missing.display()),
    ] {
        match db.execute(&sql, ()) {
            Err(Error::Import { path, .. }) => assert_eq!(path, missing),
            other => panic!("{sql}: {other:?}"),
        }
    }
    assert!(db.table("m").is_none());

    // A malformed Parquet file.
    let garbage = dir.path().join("garbage.parquet");
    std::fs::write(&garbage, "this is not parquet").unwrap();
    match db.execute(
        &format!("CREATE TABLE g AS FROM '{}'", garbage.display()),
        (),
    ) {
        Err(Error::Import { path, message, .. }) => {
            assert_eq!(path, garbage);
            assert!(message.contains("not a readable Parquet file"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // A CSV file whose vectors disagree on their length.
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "id,v\n1,\"[1, 2]\"\n2,\"[1, 2, 3]\"\n").unwrap();
    match db.execute(
        &format!("CREATE TABLE r AS FROM '{}'", ragged.display()),
        (),
    ) {
        Err(Error::Import {
            path,
            line,
            message,
        }) => {
            assert_eq!(path, ragged);
            assert_eq!(line, Some(3));
            assert!(message.contains("column v"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // A column type vectable has no type for: named, with its type.
    let dates = dir.path().join("dates.parquet");
    write_parquet(
        &dates,
        vec![
            ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("day", Arc::new(Date32Array::from(vec![19000]))),
        ],
    );
    match db.execute(&format!("CREATE TABLE d AS FROM '{}'", dates.display()), ()) {
        Err(Error::UnsupportedFileColumn {
            path,
            column,
            type_name,
        }) => {
            assert_eq!(path, dates);
            assert_eq!(column, "day");
            assert_eq!(type_name, "Date32");
        }
        other => panic!("{other:?}"),
    }

    // CREATE TABLE AS into an existing table.
    db.execute("CREATE TABLE e (id INTEGER)", ()).unwrap();
    db.execute("INSERT INTO e VALUES (1)", ()).unwrap();
    assert!(matches!(
        db.execute("CREATE TABLE e AS SELECT 2 AS id", ()),
        Err(Error::TableExists(t)) if t == "e"
    ));
    assert_eq!(count(&db, "e"), 1);

    // A failure while computing the rows, and an unnamed expression column: no table.
    assert!(matches!(
        db.execute("CREATE TABLE z AS SELECT id / 0 AS q FROM e", ()),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.execute("CREATE TABLE z AS SELECT id + 1 FROM e", ()),
        Err(Error::InvalidIdentifier { .. })
    ));

    for t in ["g", "r", "d"] {
        assert!(db.table(t).is_none(), "{t}");
    }
    assert_no_table(db, &db_dir, "z");
}
