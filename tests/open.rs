//! Opening databases: read-only handles beside a writer (in this process and in another),
//! one shared handle per directory, databases only where asked, in-memory databases, bounded
//! RocksDB info logs, corruption told apart from a held lock; and the shell's `--readonly`,
//! `--create` and no-argument in-memory mode.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

use rand::{Rng, SeedableRng};
use vectable::{Database, Error, Options};

const DIMS: usize = 8;

fn vector(rng: &mut rand::rngs::StdRng) -> Vec<f32> {
    (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", parts.join(", "))
}

/// A database with table `t (id, name, v VECTOR(8))` holding rows `1..=n`.
fn setup(dir: &Path, n: usize, seed: u64) -> (Database, Vec<Vec<f32>>) {
    let db = Database::open(dir).unwrap();
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v VECTOR(8))",
        (),
    )
    .unwrap();
    let vectors = insert_rows(&db, 1, n, seed);
    (db, vectors)
}

fn insert_rows(db: &Database, first: usize, n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let vectors: Vec<Vec<f32>> = (0..n).map(|_| vector(&mut rng)).collect();
    for (chunk_no, chunk) in vectors.chunks(100).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let id = first + chunk_no * 100 + i;
                format!("({id}, 'row {id}', '{}')", literal(v))
            })
            .collect();
        db.execute(&format!("INSERT INTO t VALUES {}", values.join(", ")), ())
            .unwrap();
    }
    vectors
}

fn count(db: &Database, table: &str) -> i64 {
    db.query_row(&format!("SELECT count(*) FROM {table}"), (), |r| r.get(0))
        .unwrap()
}

/// The ids of the `k` rows nearest to `q` (L2) through SQL.
fn knn(db: &Database, q: &[f32], k: usize) -> Vec<i64> {
    db.query(
        &format!("SELECT id FROM t ORDER BY v <-> '{}' LIMIT {k}", literal(q)),
        (),
    )
    .unwrap()
    .iter()
    .map(|r| r.get::<i64>(0).unwrap())
    .collect()
}

/// The ids of the `k` rows nearest to `q` (L2), computed here; `vectors[i]` is row `i + 1`.
fn exact_knn(vectors: &[Vec<f32>], q: &[f32], k: usize) -> Vec<i64> {
    let mut d: Vec<(f32, i64)> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let s: f32 = v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum();
            (s, i as i64 + 1)
        })
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.into_iter().take(k).map(|(_, id)| id).collect()
}

/// Name → (size, modification time) of every file under `dir`, recursively.
fn listing(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), (m.len(), m.modified().unwrap()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Read-only handles.

#[test]
fn a_read_only_handle_refuses_every_write_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, vectors) = setup(dir.path(), 300, 1);
    writer
        .execute(
            "CREATE INDEX t_v ON t USING hnsw (v) WITH (metric = 'l2')",
            (),
        )
        .unwrap();
    writer
        .execute("CREATE INDEX t_name ON t (name)", ())
        .unwrap();
    // Changes after the index's save: a reader must catch up on them in memory.
    let more = insert_rows(&writer, 301, 50, 2);
    let all: Vec<Vec<f32>> = vectors.into_iter().chain(more).collect();
    let before = listing(dir.path());

    let reader = Database::open_read_only(dir.path()).unwrap();
    assert!(reader.is_read_only());
    let csv = dir.path().join("rows.csv");
    let writes = [
        ("INSERT INTO t (id, name) VALUES (1000, 'x')", "INSERT"),
        ("UPDATE t SET name = 'y' WHERE id = 1", "UPDATE"),
        ("DELETE FROM t WHERE id = 1", "DELETE"),
        (
            &*format!("COPY t FROM '{}' WITH (FORMAT csv)", csv.display()),
            "COPY",
        ),
        ("CREATE TABLE u (id INTEGER PRIMARY KEY)", "CREATE TABLE"),
        ("CREATE INDEX t_id ON t (id)", "CREATE INDEX"),
        ("DROP INDEX t_name", "DROP INDEX"),
        ("DROP TABLE t", "DROP TABLE"),
        ("CHECKPOINT", "CHECKPOINT"),
    ];
    for (sql, what) in writes {
        match reader.execute(sql, ()) {
            Err(Error::ReadOnly { path, statement }) => {
                assert_eq!(path, dir.path(), "{sql}");
                assert_eq!(statement, what, "{sql}");
            }
            other => panic!("{sql}: expected Error::ReadOnly, got {other:?}"),
        }
    }
    assert!(matches!(
        reader.checkpoint(),
        Err(Error::ReadOnly { statement, .. }) if statement == "CHECKPOINT"
    ));
    let e = reader.execute("DELETE FROM t", ()).unwrap_err();
    assert!(
        e.to_string().contains(&dir.path().display().to_string()),
        "{e}"
    );

    // Reads work and are correct: the saved index is mapped and caught up in memory.
    assert_eq!(count(&reader, "t"), 350);
    reader.execute("SET ef_search = 200", ()).unwrap();
    for seed in 0..5 {
        let q = vector(&mut rand::rngs::StdRng::seed_from_u64(100 + seed));
        assert_eq!(knn(&reader, &q, 5), exact_knn(&all, &q, 5), "query {seed}");
    }
    assert_eq!(
        reader
            .query("SELECT id FROM t WHERE name = 'row 42'", ())
            .unwrap()
            .len(),
        1
    );
    drop(reader);
    // Not a byte changed: no index file, no catalog entry, no RocksDB file.
    assert_eq!(listing(dir.path()), before);
    assert_eq!(count(&writer, "t"), 350);
}

#[test]
fn a_read_only_handle_searches_a_column_without_index_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, vectors) = setup(dir.path(), 200, 3);
    let before = listing(dir.path().join("vectors").as_path());
    let reader = Database::open_read_only(dir.path()).unwrap();
    let q = vector(&mut rand::rngs::StdRng::seed_from_u64(7));
    assert_eq!(knn(&reader, &q, 10), exact_knn(&vectors, &q, 10));
    assert!(reader.index_status().is_empty());
    drop(reader);
    assert_eq!(listing(dir.path().join("vectors").as_path()), before);
    drop(writer);
}

#[test]
fn a_read_only_handle_sees_each_committed_write_at_its_next_statement() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, vectors) = setup(dir.path(), 100, 4);
    writer
        .execute(
            "CREATE INDEX t_v ON t USING hnsw (v) WITH (metric = 'l2')",
            (),
        )
        .unwrap();
    let reader = Database::open_read_only(dir.path()).unwrap();
    assert_eq!(count(&reader, "t"), 100);
    let q = vector(&mut rand::rngs::StdRng::seed_from_u64(9));
    assert_eq!(knn(&reader, &q, 3), exact_knn(&vectors, &q, 3));

    // A new row right at the query point becomes the nearest for the reader.
    writer
        .execute(
            &format!("INSERT INTO t VALUES (500, 'new', '{}')", literal(&q)),
            (),
        )
        .unwrap();
    assert_eq!(count(&reader, "t"), 101);
    assert_eq!(knn(&reader, &q, 1), [500]);
    writer.execute("DELETE FROM t WHERE id = 500", ()).unwrap();
    assert_eq!(knn(&reader, &q, 3), exact_knn(&vectors, &q, 3));
    writer
        .execute("UPDATE t SET name = 'renamed' WHERE id = 7", ())
        .unwrap();
    let name: String = reader
        .query_row("SELECT name FROM t WHERE id = 7", (), |r| r.get(0))
        .unwrap();
    assert_eq!(name, "renamed");

    // Tables created and dropped by the writer appear and disappear.
    writer
        .execute("CREATE TABLE u (id INTEGER PRIMARY KEY)", ())
        .unwrap();
    writer.execute("INSERT INTO u VALUES (1), (2)", ()).unwrap();
    assert_eq!(count(&reader, "u"), 2);
    writer.execute("DROP TABLE u", ()).unwrap();
    assert!(matches!(
        reader.query("SELECT * FROM u", ()),
        Err(Error::NoSuchTable(_))
    ));
    // After the writer checkpoints (new index file), the reader still answers correctly.
    insert_rows(&writer, 1000, 20, 5);
    writer.checkpoint().unwrap();
    assert_eq!(count(&reader, "t"), 120);
    assert_eq!(knn(&reader, &q, 3), knn(&writer, &q, 3));
}

#[test]
fn read_only_needs_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    assert!(matches!(
        Database::open_read_only(&missing),
        Err(Error::NotADatabase { path, .. }) if path == missing
    ));
    assert!(!missing.exists());
    assert!(matches!(
        Database::open_read_only(dir.path()),
        Err(Error::NotADatabase { path, .. }) if path == dir.path()
    ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // Through Options too.
    assert!(matches!(
        Database::open_with(dir.path(), Options::new().read_only(true)),
        Err(Error::NotADatabase { .. })
    ));
}

/// Child role of [`a_reader_process_sees_consistent_counts_while_a_writer_process_writes`]: the
/// writer. Inserts 40 statements of 10 rows each into `VECTABLE_DIR`, then prints `DONE`.
#[test]
#[ignore = "run by a_reader_process_sees_consistent_counts_while_a_writer_process_writes"]
fn child_writer() {
    let dir = std::env::var("VECTABLE_DIR").expect("run by the parent test");
    let db = Database::open(&dir).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for s in 0..40 {
        let values: Vec<String> = (0..10)
            .map(|i| {
                let id = 1000 + s * 10 + i;
                format!("({id}, 'w', '{}')", literal(&vector(&mut rng)))
            })
            .collect();
        db.execute(&format!("INSERT INTO t VALUES {}", values.join(", ")), ())
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    println!("DONE");
}

#[test]
fn a_reader_process_sees_consistent_counts_while_a_writer_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = setup(dir.path(), 100, 6);
    db.execute(
        "CREATE INDEX t_v ON t USING hnsw (v) WITH (metric = 'l2')",
        (),
    )
    .unwrap();
    drop(db);
    let mut writer = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_writer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VECTABLE_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Reader processes: the shell, read-only, while the writer process runs.
    let mut last = 100;
    let mut reads = 0;
    loop {
        let done = writer.try_wait().unwrap().is_some();
        let o = vectable(
            &[
                "--readonly",
                dir.path().to_str().unwrap(),
                "--mode",
                "csv",
                "-c",
                "SELECT count(*) AS n, max(id) AS m FROM t",
            ],
            None,
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let counts: Vec<i64> = out
            .lines()
            .nth(1)
            .unwrap_or_else(|| panic!("{out}"))
            .split(',')
            .map(|x| x.parse().unwrap())
            .collect();
        let (n, max) = (counts[0], counts[1]);
        // Whole statements only, the rows up to the highest id seen, never fewer rows than
        // a previous reader saw.
        assert_eq!(n % 10, 0, "{out}");
        assert_eq!(n, if max < 1000 { 100 } else { max - 899 }, "{out}");
        assert!(n >= last, "{out} after {last}");
        eprintln!("a reader process saw {n} rows");
        last = n;
        reads += 1;
        if done {
            break;
        }
    }
    let out = writer.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("DONE"));
    assert!(reads >= 1);
    assert_eq!(
        last, 500,
        "the last reader started after the writer finished"
    );
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(count(&db, "t"), 500);
}

// ---------------------------------------------------------------------------------------------
// One handle per directory in a process.

#[test]
fn opening_an_open_directory_again_shares_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = setup(dir.path(), 10, 8);
    // Another spelling of the same directory.
    let b = Database::open(dir.path().join(".")).unwrap();
    assert_eq!(count(&b, "t"), 10);
    b.execute("INSERT INTO t (id, name) VALUES (100, 'b')", ())
        .unwrap();
    assert_eq!(count(&a, "t"), 11);
    // Session settings are shared as between clones.
    a.execute("SET ef_search = 123", ()).unwrap();
    assert_eq!(b.ef_search(), 123);
    // A read-only handle beside them is its own instance, following them.
    let r = Database::open_read_only(dir.path()).unwrap();
    assert!(!a.is_read_only() && r.is_read_only());
    assert_eq!(r.ef_search(), 64);
    a.execute("INSERT INTO t (id, name) VALUES (101, 'a')", ())
        .unwrap();
    assert_eq!(count(&r, "t"), 12);
    let r2 = Database::open_read_only(dir.path()).unwrap();
    r2.execute("SET ef_search = 77", ()).unwrap();
    assert_eq!(r.ef_search(), 77);
    drop((a, b, r, r2));
    // Closed: opening again opens it afresh, at once.
    let c = Database::open(dir.path()).unwrap();
    assert_eq!(count(&c, "t"), 12);
    assert_eq!(c.ef_search(), 64);
}

#[test]
fn reopening_in_a_loop_while_the_last_handle_closes_never_reports_locked() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 10, 9);
    for i in 0..20 {
        let db = Database::open(dir.path()).unwrap();
        db.execute(
            &format!("INSERT INTO t (id, name) VALUES ({}, 'x')", 100 + i),
            (),
        )
        .unwrap();
        // Dropped on another thread while this one opens again.
        std::thread::spawn(move || drop(db));
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(count(&db, "t"), 30);
}

// ---------------------------------------------------------------------------------------------
// Databases only where asked.

#[test]
fn a_directory_holding_other_files_is_not_made_a_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let e = Database::open(dir.path()).unwrap_err();
    assert!(
        matches!(&e, Error::NotADatabase { path, .. } if path == dir.path()),
        "{e:?}"
    );
    assert!(
        e.to_string().contains(&dir.path().display().to_string()),
        "{e}"
    );
    assert!(e.to_string().contains("create"), "{e}");
    // Nothing was written.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);

    // Asked explicitly, it is created beside the file, and is then recognised.
    let db = Database::open_with(dir.path(), Options::new().create_in_non_empty(true)).unwrap();
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)", ())
        .unwrap();
    drop(db);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "mine"
    );
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.tables().len(), 1);
}

#[test]
fn a_missing_or_empty_directory_becomes_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a").join("b");
    Database::open(&nested).unwrap();
    assert!(nested.join("db").join("CURRENT").is_file());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    Database::open(&empty).unwrap();
    assert!(empty.join("db").join("CURRENT").is_file());
}

#[test]
fn a_file_or_a_foreign_rocksdb_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("somefile");
    std::fs::write(&file, "x").unwrap();
    for e in [
        Database::open(&file).unwrap_err(),
        Database::open_with(&file, Options::new().create_in_non_empty(true)).unwrap_err(),
        Database::open_read_only(&file).unwrap_err(),
    ] {
        assert!(
            matches!(&e, Error::NotADatabase { path, .. } if path == &file),
            "{e:?}"
        );
        assert!(e.to_string().contains(&file.display().to_string()), "{e}");
    }
    // Below a file: the error names the path (not a bare "Not a directory").
    let below = file.join("db");
    let e = Database::open(&below).unwrap_err();
    assert!(
        matches!(&e, Error::Open { path, .. } if path == &below),
        "{e:?}"
    );
    assert!(e.to_string().contains(&below.display().to_string()), "{e}");

    // A RocksDB database without vectable's catalog.
    let foreign = dir.path().join("foreign");
    {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        rocksdb::DB::open(&opts, foreign.join("db")).unwrap();
    }
    let e = Database::open(&foreign).unwrap_err();
    assert!(
        matches!(&e, Error::NotADatabase { path, .. } if path == &foreign),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// In-memory databases.

#[test]
fn an_in_memory_database_works_end_to_end_and_leaves_no_files() {
    let db = Database::open_in_memory().unwrap();
    assert!(db.is_in_memory() && !db.is_read_only());
    let path = db.path().to_path_buf();
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v VECTOR(8))",
        (),
    )
    .unwrap();
    let vectors = insert_rows(&db, 1, 400, 12);
    db.execute(
        "CREATE INDEX t_v ON t USING hnsw (v) WITH (metric = 'l2')",
        (),
    )
    .unwrap();
    db.execute("SET ef_search = 200", ()).unwrap();
    for seed in 0..5 {
        let q = vector(&mut rand::rngs::StdRng::seed_from_u64(200 + seed));
        assert_eq!(knn(&db, &q, 5), exact_knn(&vectors, &q, 5));
    }
    let plan: Vec<String> = db
        .query(
            "EXPLAIN SELECT id FROM t ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 3",
            (),
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect();
    assert!(plan.join("\n").contains("t_v"), "{plan:?}");
    db.execute("DELETE FROM t WHERE id <= 100", ()).unwrap();
    db.checkpoint().unwrap();
    assert_eq!(count(&db, "t"), 300);
    // RocksDB's files live in memory: none on disk.
    assert!(!path.join("db").join("CURRENT").exists());
    // A second in-memory database is another database.
    let other = Database::open_in_memory().unwrap();
    assert!(other.tables().is_empty());
    assert_ne!(other.path(), path);
    let clone = db.clone();
    drop(db);
    assert_eq!(count(&clone, "t"), 300);
    drop(clone);
    // The DELETE left a quarter of the index tombstoned and an automatic rebuild may be
    // running in the background: dropping the last handle stops it, waits for its thread and
    // closes the database before it returns.
    assert!(!path.exists(), "{} left behind", path.display());
}

#[test]
fn dropping_the_last_handle_during_a_lazy_build_closes_the_database_before_it_returns() {
    // A lazy build's thread holds the database while it reads its snapshot and while it
    // publishes. Closed on that thread after the last handle's drop returned, the database
    // could close while the process exits, after RocksDB's static mutexes are destroyed
    // (SIGABRT "pthread lock: Invalid argument", or a heap corruption).
    for round in 0..3 {
        let db = Database::open_in_memory_with(Options::new().index_build_wait(false)).unwrap();
        let path = db.path().to_path_buf();
        db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v VECTOR(8))",
            (),
        )
        .unwrap();
        let vectors = insert_rows(&db, 1, 20_000, 30 + round);
        // Starts the lazy build on its thread and answers exactly meanwhile.
        let q = vectors[7].clone();
        assert_eq!(knn(&db, &q, 5), exact_knn(&vectors, &q, 5));
        // Rows written during the build, for its catch-up to add.
        insert_rows(&db, 20_001, 5_000, 40 + round);
        // Every vector of the snapshot added: the thread takes the database again, saves the
        // graph, adds the rows written since the snapshot and publishes.
        let building = loop {
            match db.index_status().first().and_then(|s| s.build) {
                Some(p) if p.total > 0 && p.done >= p.total => break true,
                Some(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
                None => break false,
            }
        };
        std::thread::sleep(std::time::Duration::from_millis(5));
        drop(db);
        assert!(
            !path.exists(),
            "round {round} (build running at the drop: {building}): {} left behind",
            path.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Housekeeping.

#[test]
fn info_logs_stay_bounded_over_many_opens() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..12 {
        let db = Database::open(dir.path()).unwrap();
        db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY)", ())
            .unwrap();
    }
    let logs: Vec<String> = std::fs::read_dir(dir.path().join("db"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("LOG"))
        .collect();
    assert!(!logs.is_empty());
    assert!(logs.len() <= 3, "{logs:?}");
}

/// Names of the files in `<dir>/db` that start with `prefix`.
#[test]
fn a_closed_database_leaves_nothing_in_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    // The bytes of RocksDB's write-ahead log files.
    let wal_bytes = |dir: &Path| -> u64 {
        std::fs::read_dir(dir.join("db"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum()
    };
    let (db, vectors) = setup(dir.path(), 300, 14);
    let q = vectors[3].clone();
    let before = knn(&db, &q, 5);
    db.execute("DELETE FROM t WHERE id <= 10", ()).unwrap();
    assert!(wal_bytes(dir.path()) > 0, "the statements went to the WAL");
    drop(db);
    // Closing flushed the memtables: the next open has no WAL to replay into new level-0
    // files.
    assert_eq!(wal_bytes(dir.path()), 0);
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(count(&db, "t"), 290);
    let after: Vec<i64> = before.into_iter().filter(|&id| id > 10).collect();
    assert_eq!(knn(&db, &q, after.len()), after);
}

fn db_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("db"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect()
}

#[test]
fn a_corrupt_database_is_corrupt_not_locked() {
    // CURRENT that does not end with a newline.
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 10, 13);
    std::fs::write(dir.path().join("db").join("CURRENT"), "MANIFEST-000").unwrap();
    for e in [
        Database::open(dir.path()).unwrap_err(),
        Database::open_read_only(dir.path()).unwrap_err(),
    ] {
        assert!(
            matches!(&e, Error::Corrupt(m) if m.contains(&dir.path().display().to_string())),
            "{e:?}"
        );
    }

    // A manifest with damaged records.
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 10, 14);
    for manifest in db_files(dir.path(), "MANIFEST-") {
        let mut bytes = std::fs::read(&manifest).unwrap();
        for b in bytes.iter_mut().skip(7) {
            *b ^= 0x5a;
        }
        std::fs::write(&manifest, bytes).unwrap();
    }
    let e = Database::open(dir.path()).unwrap_err();
    assert!(matches!(&e, Error::Corrupt(_)), "{e:?}");
}

#[test]
fn a_held_lock_is_locked_and_names_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 10, 15);
    // Hold RocksDB's lock with a plain RocksDB handle (in this process, outside vectable).
    let db_path = dir.path().join("db");
    let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &db_path).unwrap();
    let holder = rocksdb::DB::open_cf(&rocksdb::Options::default(), &db_path, cfs).unwrap();
    let e = Database::open(dir.path()).unwrap_err();
    assert!(matches!(&e, Error::Locked(p) if p == dir.path()), "{e:?}");
    assert!(
        e.to_string().contains(&dir.path().display().to_string()),
        "{e}"
    );
    // A reader is not stopped by the lock.
    assert_eq!(
        count(&Database::open_read_only(dir.path()).unwrap(), "t"),
        10
    );
    drop(holder);
    assert_eq!(count(&Database::open(dir.path()).unwrap(), "t"), 10);
}

// ---------------------------------------------------------------------------------------------
// The shell.

fn vectable(args: &[&str], stdin: Option<&str>, cwd: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vectable"));
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_shell_without_a_directory_uses_an_in_memory_database() {
    let cwd = tempfile::tempdir().unwrap();
    let o = vectable(
        &["--mode", "csv"],
        Some(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v VECTOR(2));
             INSERT INTO t VALUES (1, '[1, 0]'), (2, '[0, 1]');
             SELECT id FROM t ORDER BY v <-> '[0.1, 0.9]' LIMIT 1;",
        ),
        Some(cwd.path()),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), ["id", "2"]);
    // No ./data (nor anything else) appeared where the shell was started.
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}

#[test]
fn the_interactive_shell_without_a_directory_says_it_is_in_memory() {
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vectable"));
    cmd.current_dir(cwd.path()).env("HOME", cwd.path());
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    p.exp_string("Connected to a transient in-memory database.")
        .unwrap();
    p.exp_string("Use \".open DIR\" to open a database.")
        .unwrap();
    p.send_line("SELECT 40 + 2 AS answer;").unwrap();
    p.exp_string("42").unwrap();
    p.send_line(".quit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn the_shell_creates_a_database_in_a_non_empty_directory_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let d = dir.path().to_str().unwrap();
    let o = vectable(&[d, "-c", "SHOW TABLES"], None, None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(d), "{}", stderr(&o));
    assert!(stderr(&o).contains("--create"), "{}", stderr(&o));
    assert!(!dir.path().join("db").exists());

    let o = vectable(
        &[
            d,
            "--create",
            "-c",
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
        ],
        None,
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = vectable(&[d, "--mode", "csv", "-c", "SHOW TABLES"], None, None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), ["name", "t"]);

    // A file: the error names it.
    let file = dir.path().join("notes.txt");
    let o = vectable(&[file.to_str().unwrap(), "-c", "SHOW TABLES"], None, None);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(file.to_str().unwrap()),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_shell_reads_read_only_beside_a_writer_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = setup(dir.path(), 25, 16);
    let d = dir.path().to_str().unwrap();
    let o = vectable(
        &[
            "--readonly",
            d,
            "--mode",
            "csv",
            "-c",
            "SELECT count(*) AS n FROM t",
        ],
        None,
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), ["n", "25"]);

    let o = vectable(
        &["--readonly", d, "-c", "INSERT INTO t (id) VALUES (99)"],
        None,
        None,
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    assert!(stderr(&o).contains(d), "{}", stderr(&o));
    assert_eq!(count(&writer, "t"), 25);

    // Without --readonly, the writer's lock stops the shell, naming the directory.
    let o = vectable(&[d, "-c", "SELECT 1"], None, None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("locked"), "{}", stderr(&o));
    assert!(stderr(&o).contains(d), "{}", stderr(&o));
}
