//! Big statements in bounded memory: a `COPY`, `UPDATE` or `DELETE` over more rows than
//! `write_batch_rows` is staged chunk by chunk, committed by one commit record and applied in
//! bounded batches (issue 12, item 6).
//!
//! Each test sets the chunk small (100 rows) and writes ~5,000 generated rows, and compares
//! with the same statement run in one batch (the default chunk of 10,000 rows): same rows,
//! same key and index entries, same kNN answers. Errors in the last chunk, an interrupt and a
//! SIGKILL must leave the table as it was and no staged writes behind.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::builder::{FixedSizeListBuilder, Float32Builder};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vectable::{params, Database, Error, InterruptHandle, Options, Value};

const DIMS: usize = 8;
const ROWS: i64 = 5_000;
const CHUNK: usize = 100;

const SCHEMA: &[&str] = &[
    "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, cat TEXT, v VECTOR(8))",
    "CREATE UNIQUE INDEX t_name ON t (name)",
    "CREATE INDEX t_cat ON t (cat)",
    "CREATE INDEX t_v ON t USING hnsw (v)",
];

/// One generated row: (id, name, cat, v).
type Row = (i64, String, String, Vec<f32>);

fn rows(ids: std::ops::RangeInclusive<i64>, seed: u64) -> Vec<Row> {
    let mut rng = StdRng::seed_from_u64(seed);
    ids.map(|id| {
        (
            id,
            format!("n{id}"),
            ["a", "b", "c"][rng.random_range(0..3)].to_string(),
            (0..DIMS).map(|_| rng.random_range(-1.0..1.0)).collect(),
        )
    })
    .collect()
}

fn vector_text(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("[{}]", parts.join(","))
}

fn write_csv(path: &Path, rows: &[Row]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["id", "name", "cat", "v"]).unwrap();
    for (id, name, cat, v) in rows {
        w.write_record([id.to_string(), name.clone(), cat.clone(), vector_text(v)])
            .unwrap();
    }
    w.flush().unwrap();
}

fn write_parquet(path: &Path, rows: &[Row]) {
    let mut vs = FixedSizeListBuilder::new(Float32Builder::new(), DIMS as i32);
    for (_, _, _, v) in rows {
        vs.values().append_slice(v);
        vs.append(true);
    }
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))) as ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.1))),
        ),
        (
            "cat",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.2))),
        ),
        ("v", Arc::new(vs.finish())),
    ])
    .unwrap();
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    // Small record batches: the reader crosses many of them per chunk.
    for start in (0..batch.num_rows()).step_by(700) {
        let len = 700.min(batch.num_rows() - start);
        w.write(&batch.slice(start, len)).unwrap();
    }
    w.close().unwrap();
}

fn create(dir: &Path, chunk: usize) -> Database {
    let db = Database::open_with(dir, Options::new().write_batch_rows(chunk)).unwrap();
    for sql in SCHEMA {
        db.execute(sql, ()).unwrap();
    }
    db
}

fn copy_sql(path: &Path) -> String {
    let format = if path.extension().is_some_and(|e| e == "parquet") {
        "parquet"
    } else {
        "csv, HEADER true"
    };
    format!("COPY t FROM '{}' WITH (FORMAT {format})", path.display())
}

/// The ids whose key and name lookups [`snapshot`] checks: those around every boundary of
/// chunks of 100 rows, and more.
fn sample_ids() -> impl Iterator<Item = i64> {
    (0..=ROWS + 2)
        .chain([100_000, 100_001])
        .filter(|i| i % 100 <= 2 || i % 13 == 0 || *i >= 100_000)
}

/// Everything a reader can see of `t`: its rows by id, and answers that go through the
/// primary key, both secondary indexes and the vector index.
#[derive(Debug, PartialEq)]
struct Snapshot {
    rows: Vec<Vec<Value>>,
    count: i64,
    by_key: Vec<Vec<Value>>,
    by_name: Vec<Vec<Value>>,
    by_cat: i64,
    knn: Vec<Vec<Value>>,
}

fn snapshot(db: &Database) -> Snapshot {
    let values = |sql: &str, p: Vec<Value>| db.query(sql, p).unwrap().values().to_vec();
    let mut knn = Vec::new();
    let mut rng = StdRng::seed_from_u64(99);
    for _ in 0..5 {
        let q: Vec<f32> = (0..DIMS).map(|_| rng.random_range(-1.0..1.0)).collect();
        knn.extend(values(
            "SELECT id FROM t ORDER BY v <-> $1 LIMIT 10",
            vec![Value::Vector(q)],
        ));
    }
    Snapshot {
        rows: values("SELECT id, name, cat, v FROM t ORDER BY id", vec![]),
        count: db
            .query_row("SELECT count(*) FROM t", (), |r| r.get(0))
            .unwrap(),
        by_key: sample_ids()
            .flat_map(|id| {
                values(
                    "SELECT id, name FROM t WHERE id = $1",
                    vec![Value::Integer(id)],
                )
            })
            .collect(),
        by_name: sample_ids()
            .flat_map(|id| [format!("n{id}"), format!("n{id}_")])
            .flat_map(|name| values("SELECT id FROM t WHERE name = $1", vec![Value::Text(name)]))
            .collect(),
        by_cat: db
            .query_row("SELECT count(*) FROM t WHERE cat = 'b'", (), |r| r.get(0))
            .unwrap(),
        knn,
    }
}

/// Asserts two snapshots are equal, naming the first difference (not printing both).
fn assert_same(got: &Snapshot, want: &Snapshot, context: &str) {
    fn first_diff<T: PartialEq + std::fmt::Debug>(what: &str, a: &[T], b: &[T]) -> Option<String> {
        if a == b {
            return None;
        }
        let i = a
            .iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        Some(format!(
            "{what}: {} vs {} entries, first difference at {i}: {:?} vs {:?}",
            a.len(),
            b.len(),
            a.get(i),
            b.get(i)
        ))
    }
    let diff = first_diff("rows", &got.rows, &want.rows)
        .or_else(|| first_diff("count", &[got.count], &[want.count]))
        .or_else(|| first_diff("key lookups", &got.by_key, &want.by_key))
        .or_else(|| first_diff("name lookups", &got.by_name, &want.by_name))
        .or_else(|| first_diff("cat count", &[got.by_cat], &[want.by_cat]))
        .or_else(|| first_diff("kNN", &got.knn, &want.knn));
    if let Some(d) = diff {
        panic!("{context}: {d}");
    }
}

/// The staging keys (`'s'` ‖ statement ‖ seq, 17 bytes, in the `catalog` column family) left
/// in the database at `dir`, read with RocksDB directly after the database is closed.
fn staging_keys(dir: &Path) -> usize {
    staging(dir).0
}

/// (staging keys, commit records among them: seq `u64::MAX`) in the database at `dir`.
fn staging(dir: &Path) -> (usize, usize) {
    let path = dir.join("db");
    let opts = rocksdb::Options::default();
    let cfs = rocksdb::DB::list_cf(&opts, &path).unwrap();
    let db = rocksdb::DB::open_cf_for_read_only(&opts, &path, &cfs, false).unwrap();
    let cf = db.cf_handle("catalog").unwrap();
    let keys: Vec<Box<[u8]>> = db
        .iterator_cf(cf, rocksdb::IteratorMode::Start)
        .map(|item| item.unwrap().0)
        .filter(|k| k.len() == 17 && k[0] == b's')
        .collect();
    let commits = keys.iter().filter(|k| k[9..] == [0xFF; 8]).count();
    (keys.len(), commits)
}

/// Closes `db` (the last handle) and asserts no staged write is left.
fn assert_no_staging(db: Database, dir: &Path) {
    drop(db);
    assert_eq!(
        staging_keys(dir),
        0,
        "staged writes left in {}",
        dir.display()
    );
}

#[test]
fn chunked_copy_equals_single_batch_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = rows(1..=ROWS, 1);
    let csv = tmp.path().join("rows.csv");
    let parquet = tmp.path().join("rows.parquet");
    write_csv(&csv, &data);
    write_parquet(&parquet, &data);
    for file in [&csv, &parquet] {
        let one = tmp
            .path()
            .join(format!("one-{}", file.display().to_string().len()));
        let chunked = tmp
            .path()
            .join(format!("chunked-{}", file.display().to_string().len()));
        let a = create(&one, 10_000);
        assert_eq!(a.execute(&copy_sql(file), ()).unwrap(), ROWS as u64);
        let expected = snapshot(&a);
        assert_eq!(expected.count, ROWS);
        assert_eq!(expected.rows[4999][1], Value::Text("n5000".into()));

        let b = create(&chunked, 10_000);
        // The index is in memory before the COPY: it follows the applied chunks.
        assert!(b
            .query(
                "SELECT id FROM t ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 1",
                ()
            )
            .unwrap()
            .is_empty());
        b.execute("SET write_batch_rows = 100", ()).unwrap();
        assert_eq!(b.write_batch_rows(), CHUNK);
        assert_eq!(b.execute(&copy_sql(file), ()).unwrap(), ROWS as u64);
        assert_same(&snapshot(&b), &expected, &file.display().to_string());
        // Rowids and counters continue as after one batch.
        b.execute(
            "INSERT INTO t VALUES (100001, 'extra', 'a', '[1,1,1,1,1,1,1,1]')",
            (),
        )
        .unwrap();
        a.execute(
            "INSERT INTO t VALUES (100001, 'extra', 'a', '[1,1,1,1,1,1,1,1]')",
            (),
        )
        .unwrap();
        assert_same(&snapshot(&b), &snapshot(&a), "after one more INSERT");
        drop(a);
        assert_no_staging(b, &chunked);
        // And after a reopen (index saved at close, mapped back).
        let b = Database::open(&chunked).unwrap();
        let a = Database::open(&one).unwrap();
        assert_same(&snapshot(&b), &snapshot(&a), "after reopening");
    }
}

#[test]
fn a_file_of_at_most_one_chunk_is_one_batch_and_a_file_of_exactly_two_is_staged() {
    let tmp = tempfile::tempdir().unwrap();
    for n in [CHUNK as i64 - 1, CHUNK as i64, 2 * CHUNK as i64] {
        let file = tmp.path().join(format!("{n}.csv"));
        write_csv(&file, &rows(1..=n, 2));
        let dir = tmp.path().join(format!("db{n}"));
        let db = create(&dir, CHUNK);
        assert_eq!(db.execute(&copy_sql(&file), ()).unwrap(), n as u64);
        assert_eq!(snapshot(&db).count, n);
        assert_no_staging(db, &dir);
    }
}

/// Whether an error is the one expected.
type Expect = Box<dyn Fn(&Error) -> bool>;

/// `(file, the error it must give)`: one bad row in the last chunk of a 5,000-row file.
fn bad_files(tmp: &Path) -> Vec<(PathBuf, Expect)> {
    let mut out: Vec<(PathBuf, Expect)> = Vec::new();
    let base = rows(1..=ROWS, 3);

    // A 7-wide vector on data line 4,990 (line 4,991 of the file, after the header).
    let path = tmp.join("dims.csv");
    let mut r = base.clone();
    r[4989].3.pop();
    write_csv(&path, &r);
    out.push((
        path,
        Box::new(|e| {
            matches!(e, Error::Import { line: Some(4991), message, .. }
                if message.contains("expected 8 dimensions, found 7"))
        }),
    ));

    // NaN in a vector on the last row of a Parquet file (row 5,000).
    let path = tmp.join("nan.parquet");
    let mut r = base.clone();
    r[4999].3[2] = f32::NAN;
    write_parquet(&path, &r);
    out.push((
        path,
        Box::new(|e| matches!(e, Error::Import { line: Some(5000), message, .. } if message.contains("column v"))),
    ));

    // Row 4,995 repeats the key of row 10: a duplicate within the file.
    let path = tmp.join("dup_in_file.csv");
    let mut r = base.clone();
    r[4994].0 = 10;
    write_csv(&path, &r);
    out.push((
        path,
        Box::new(|e| matches!(e, Error::DuplicateKey { key, index, .. } if key == "10" && index == "primary key")),
    ));

    // The last row takes the key of a row already in the table.
    let path = tmp.join("dup_in_table.parquet");
    let mut r = base.clone();
    r[4999].0 = 100_000;
    write_parquet(&path, &r);
    out.push((
        path,
        Box::new(|e| matches!(e, Error::DuplicateKey { key, .. } if key == "100000")),
    ));

    // Row 4,998 repeats the unique name of row 3.
    let path = tmp.join("dup_name.csv");
    let mut r = base.clone();
    r[4997].1 = "n3".into();
    write_csv(&path, &r);
    out.push((
        path,
        Box::new(|e| matches!(e, Error::DuplicateKey { key, index, .. } if key == "'n3'" && index == "unique index t_name")),
    ));
    out
}

#[test]
fn a_bad_row_in_the_last_chunk_leaves_the_table_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let db = create(&dir, CHUNK);
    db.execute(
        "INSERT INTO t VALUES (100000, 'first', 'a', '[0,0,0,0,0,0,0,1]'), \
         (100001, 'second', 'b', '[0,0,0,0,0,0,1,0]')",
        (),
    )
    .unwrap();
    let before = snapshot(&db);
    for (path, expected) in bad_files(tmp.path()) {
        let e = db.execute(&copy_sql(&path), ()).unwrap_err();
        assert!(expected(&e), "{}: {e:?}", path.display());
        assert_same(&snapshot(&db), &before, &path.display().to_string());
    }
    // The identity of the next rows is unchanged too: a good COPY still works.
    let good = tmp.path().join("good.csv");
    write_csv(&good, &rows(1..=ROWS, 3));
    assert_eq!(db.execute(&copy_sql(&good), ()).unwrap(), ROWS as u64);
    assert_eq!(snapshot(&db).count, ROWS + 2);
    assert_no_staging(db, &dir);
}

#[test]
fn an_interrupted_copy_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("rows.parquet");
    write_parquet(&file, &rows(1..=ROWS, 4));
    let dir = tmp.path().join("db");
    // Interrupts the statement once 2,000 rows are staged (from the progress callback).
    let handle: Arc<Mutex<Option<InterruptHandle>>> = Arc::default();
    let h = handle.clone();
    let options = Options::new()
        .write_batch_rows(CHUNK)
        .on_progress(move |p| {
            if p.task.starts_with("importing") && p.done >= 2_000 && p.done < p.total {
                if let Some(h) = h.lock().unwrap().as_ref() {
                    h.interrupt();
                }
            }
        });
    let db = Database::open_with(&dir, options).unwrap();
    for sql in SCHEMA {
        db.execute(sql, ()).unwrap();
    }
    db.execute(
        "INSERT INTO t VALUES (100000, 'first', 'a', '[0,0,0,0,0,0,0,1]')",
        (),
    )
    .unwrap();
    let before = snapshot(&db);
    *handle.lock().unwrap() = Some(db.interrupt_handle());
    match db.execute(&copy_sql(&file), ()) {
        Err(Error::Interrupted { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_same(&snapshot(&db), &before, "after the interrupted COPY");
    *handle.lock().unwrap() = None;
    assert_no_staging(db, &dir);
}

/// Runs the same statements on a database with chunks of 100 rows and on one with one batch,
/// and compares after each.
#[test]
fn big_update_and_delete_equal_the_single_batch_result() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("rows.csv");
    write_csv(&file, &rows(1..=ROWS, 5));
    let (one, chunked) = (tmp.path().join("one"), tmp.path().join("chunked"));
    let a = create(&one, 10_000);
    let b = create(&chunked, CHUNK);
    for db in [&a, &b] {
        db.execute(&copy_sql(&file), ()).unwrap();
        // The vector index in memory: it follows the applied chunks.
        db.query(
            "SELECT id FROM t ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 1",
            (),
        )
        .unwrap();
    }
    let statements = [
        // Vectors and an indexed column of a third of the rows.
        "UPDATE t SET v = '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]', cat = 'z' WHERE id % 3 = 0",
        // Every key moves onto the key of the next row: a key is freed by a row of a later
        // chunk than the one that takes it.
        "UPDATE t SET id = id + 1",
        // Unique names move too.
        "UPDATE t SET name = name || '_'",
        // And back: a key is freed by a row of an earlier chunk.
        "UPDATE t SET id = id - 1",
        "DELETE FROM t WHERE cat = 'a'",
        "UPDATE t SET v = NULL WHERE id % 7 = 0",
        "DELETE FROM t WHERE id > 4000",
    ];
    for sql in statements {
        let n = a.execute(sql, ()).unwrap();
        assert_eq!(b.execute(sql, ()).unwrap(), n, "{sql}");
        assert!(n > CHUNK as u64, "{sql}: {n} rows is not a big statement");
        assert_same(&snapshot(&b), &snapshot(&a), &format!("after {sql}"));
    }
    drop(a);
    assert_no_staging(b, &chunked);
    let (a, b) = (
        Database::open(&one).unwrap(),
        Database::open(&chunked).unwrap(),
    );
    assert_same(&snapshot(&b), &snapshot(&a), "after reopening");
}

#[test]
fn a_big_update_that_hits_a_duplicate_in_its_last_chunk_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("rows.csv");
    write_csv(&file, &rows(1..=ROWS, 6));
    let dir = tmp.path().join("db");
    let db = create(&dir, CHUNK);
    db.execute(&copy_sql(&file), ()).unwrap();
    // Rows that keep their key and name, which the updates below run into.
    db.execute(
        "INSERT INTO t VALUES (5001, 'n4990_', 'a', '[1,0,0,0,0,0,0,0]')",
        (),
    )
    .unwrap();
    let before = snapshot(&db);
    // Row 5,000 would take key 5,001, which row 5,001 keeps.
    match db.execute("UPDATE t SET id = id + 1, cat = 'q' WHERE id <= 5000", ()) {
        Err(Error::DuplicateKey { key, index, .. }) => {
            assert_eq!((key.as_str(), index.as_str()), ("5001", "primary key"))
        }
        other => panic!("{other:?}"),
    }
    assert_same(&snapshot(&db), &before, "after the duplicate key");
    // Row 4,990 would take the name row 5,001 keeps.
    match db.execute("UPDATE t SET name = name || '_' WHERE id <= 5000", ()) {
        Err(Error::DuplicateKey { key, index, .. }) => {
            assert_eq!(
                (key.as_str(), index.as_str()),
                ("'n4990_'", "unique index t_name")
            )
        }
        other => panic!("{other:?}"),
    }
    assert_same(&snapshot(&db), &before, "after the duplicate name");
    // Two updated rows take one name.
    match db.execute(
        "UPDATE t SET name = 'same' WHERE id = 7 OR id = 4999 OR id % 2 = 0",
        (),
    ) {
        Err(Error::DuplicateKey { key, .. }) => assert_eq!(key, "'same'"),
        other => panic!("{other:?}"),
    }
    assert_same(&snapshot(&db), &before, "after the name taken twice");
    assert_no_staging(db, &dir);
}

/// The child of [`killed_during_a_big_copy_it_is_all_or_nothing`]: copies the file into the
/// database at `VECTABLE_DIR` in chunks of 100 rows, printing `BEGIN` before and `OK <µs>`
/// after.
#[test]
#[ignore = "run by killed_during_a_big_copy_it_is_all_or_nothing"]
fn child_copy() {
    let dir = std::env::var("VECTABLE_DIR").expect("run by the parent test");
    let file = std::env::var("VECTABLE_FILE").unwrap();
    let db = Database::open_with(&dir, Options::new().write_batch_rows(CHUNK)).unwrap();
    let sql = match std::env::var("VECTABLE_SQL") {
        Ok(sql) => sql,
        Err(_) => copy_sql(Path::new(&file)),
    };
    println!("BEGIN");
    let started = Instant::now();
    db.execute(&sql, ()).unwrap();
    println!("OK {}", started.elapsed().as_micros());
}

/// Runs [`child_copy`] with `sql` on the database at `dir`, and SIGKILLs it `kill_after` its
/// start (never with `None`). Returns how long the statement took when it finished (µs).
fn run_child(
    dir: &Path,
    file: &Path,
    sql: Option<&str>,
    kill_after: Option<Duration>,
) -> Option<u64> {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_copy",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VECTABLE_DIR", dir)
        .env("VECTABLE_FILE", file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(sql) = sql {
        command.env("VECTABLE_SQL", sql);
    }
    let mut child = command.spawn().unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut finished = None;
    for line in lines {
        let line = line.unwrap();
        if line.contains("BEGIN") {
            if let Some(d) = kill_after {
                std::thread::sleep(d);
                child.kill().unwrap(); // SIGKILL
                break;
            }
        } else if let Some(at) = line.find("OK ") {
            finished = Some(line[at + 3..].trim().parse::<u64>().unwrap());
        }
    }
    child.wait().unwrap();
    finished
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn killed_during_a_big_update_it_is_all_or_nothing() {
    let seed: u64 = std::env::var("VECTABLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261201);
    eprintln!("update crash test seed {seed} (VECTABLE_SEED reruns it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().unwrap();
    let n: i64 = 10_000;
    let file = tmp.path().join("rows.csv");
    write_csv(&file, &rows(1..=n, 8));
    let template = tmp.path().join("template");
    let db = create(&template, 100_000);
    db.execute(&copy_sql(&file), ()).unwrap();
    drop(db);
    // Every key moves onto the next row's, every unique name changes: the staged deletions
    // of old entries and insertions of new ones must all land, or none.
    let sql = "UPDATE t SET id = id + 1, name = name || 'x', v = '[1,1,1,1,1,1,1,1]'";
    let mut typical_us = None;
    let (mut none, mut all, mut committed) = (0, 0, 0);
    for round in 0..12 {
        let dir = tmp.path().join(format!("db{round}"));
        copy_dir(&template, &dir);
        // Kills in the second half: the apply after the commit record is short.
        let kill_after =
            typical_us.map(|us: u64| Duration::from_micros(rng.random_range(us / 3..us * 11 / 10)));
        let took = run_child(&dir, &file, Some(sql), kill_after);
        if typical_us.is_none() {
            typical_us = Some(took.expect("the first round runs the whole UPDATE"));
        }
        committed += usize::from(staging(&dir).1 > 0);
        let db = Database::open(&dir).unwrap();
        let count = |sql: &str| -> i64 { db.query_row(sql, (), |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT count(*) FROM t"), n, "round {round}");
        let moved = count("SELECT count(*) FROM t WHERE name LIKE '%x'");
        assert!(
            moved == 0 || moved == n,
            "round {round}: {moved} of {n} rows updated"
        );
        let (shift, suffix) = if moved == n { (1, "x") } else { (0, "") };
        for k in [1, 2, 777, n / 2, n] {
            // The primary key, the unique index, the row and its vector agree.
            let name = format!("n{k}{suffix}");
            let by_key = db
                .query("SELECT name, v FROM t WHERE id = $1", params![k + shift])
                .unwrap();
            assert_eq!(
                by_key.values()[0][0],
                Value::Text(name.clone()),
                "round {round}"
            );
            let v = match &by_key.values()[0][1] {
                Value::Vector(v) => v.clone(),
                other => panic!("{other:?}"),
            };
            assert_eq!(v == vec![1.0; DIMS], moved == n, "round {round}");
            let by_name = db
                .query("SELECT id FROM t WHERE name = $1", params![name])
                .unwrap();
            assert_eq!(
                by_name.values()[0][0],
                Value::Integer(k + shift),
                "round {round}"
            );
        }
        if moved == n {
            all += 1;
        } else {
            none += 1;
            assert!(db
                .query("SELECT id FROM t WHERE id = $1", params![n + 1])
                .unwrap()
                .is_empty());
        }
        assert_no_staging(db, &dir);
    }
    eprintln!(
        "update crash test: {all} rounds with every row updated, {none} with none; \
         {committed} killed after the commit record (finished at open)"
    );
    assert!(all >= 1);
}

#[test]
fn killed_during_a_big_copy_it_is_all_or_nothing() {
    let seed: u64 = std::env::var("VECTABLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261130);
    eprintln!("copy crash test seed {seed} (VECTABLE_SEED reruns it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().unwrap();
    let n: i64 = 20_000;
    let file = tmp.path().join("rows.csv");
    let data = rows(1..=n, 7);
    write_csv(&file, &data);
    let mut typical_us: Option<u64> = None;
    let (mut none, mut all, mut killed_while_staged, mut killed_after_commit) = (0, 0, 0, 0);
    for round in 0..12 {
        let dir = tmp.path().join(format!("db{round}"));
        drop(create(&dir, CHUNK));
        // The first round runs to the end, to learn how long the COPY takes.
        let kill_after =
            typical_us.map(|us: u64| Duration::from_micros(rng.random_range(0..us * 6 / 5)));
        let finished = run_child(&dir, &file, None, kill_after);
        if typical_us.is_none() {
            typical_us = Some(finished.expect("the first round copies the whole file"));
        }
        let (staged, commits) = staging(&dir);
        killed_while_staged += usize::from(staged > 0);
        killed_after_commit += usize::from(commits > 0);
        let db = Database::open(&dir).unwrap();
        let count: i64 = db
            .query_row("SELECT count(*) FROM t", (), |r| r.get(0))
            .unwrap();
        assert!(
            count == 0 || count == n,
            "round {round}: {count} rows of {n}"
        );
        if count == n {
            all += 1;
            let last = db
                .query("SELECT id, name FROM t WHERE id = $1", params![n])
                .unwrap();
            assert_eq!(last.values()[0][1], Value::Text(format!("n{n}")));
            let near = db
                .query(
                    "SELECT id FROM t ORDER BY v <-> $1 LIMIT 1",
                    params![data[123].3.clone()],
                )
                .unwrap();
            assert_eq!(near.values()[0][0], Value::Integer(124));
        } else {
            none += 1;
            // Nothing half-written is visible through the indexes either.
            assert!(db
                .query("SELECT id FROM t WHERE name = 'n1'", ())
                .unwrap()
                .is_empty());
            assert!(db
                .query("SELECT id FROM t WHERE id = 1", ())
                .unwrap()
                .is_empty());
        }
        // Open finished or dropped whatever was staged.
        assert_no_staging(db, &dir);
    }
    eprintln!(
        "copy crash test: {all} rounds with every row, {none} with none; \
         {killed_while_staged} killed with staged writes, {killed_after_commit} of them after \
         the commit record"
    );
    assert!(all >= 1);
}

#[test]
fn set_write_batch_rows_takes_a_positive_integer() {
    let db = Database::open_in_memory().unwrap();
    assert_eq!(db.write_batch_rows(), 2_000);
    db.execute("SET write_batch_rows = 50", ()).unwrap();
    assert_eq!(db.write_batch_rows(), 50);
    for bad in ["0", "-3", "'many'", "1.5"] {
        match db.execute(&format!("SET write_batch_rows = {bad}"), ()) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains("write_batch_rows"), "{m}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(db.write_batch_rows(), 50);
    let db = Database::open_in_memory_with(Options::new().write_batch_rows(0)).unwrap();
    assert_eq!(db.write_batch_rows(), 1);
}
