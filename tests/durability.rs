//! Durability: `SET synchronous` / `Options::synchronous`, and a power-loss test that shows
//! what each level keeps.
//!
//! ## The power-loss test
//!
//! A power loss keeps what reached the disk: the bytes of a file up to its last `fsync` /
//! `fdatasync`, and nothing written after. rust-rocksdb does not expose RocksDB's
//! `FaultInjectionTestEnv`, so the test injects the same fault at the file boundary, as that
//! Env's `DropUnsyncedFileData` does:
//!
//! 1. The parent creates a database (a table with an HNSW index, a few rows, a `CHECKPOINT`),
//!    closes it, and records the size of every file in `db/` and `vectors/`: the state
//!    before the crash, taken as synced.
//! 2. It compiles a small C shim (`cc -shared -fPIC`; the test fails with a clear message
//!    when there is no C compiler) and runs a child process (this test binary, role
//!    `child_writer`) with the shim in `LD_PRELOAD`. The shim wraps `fsync` and `fdatasync`:
//!    for a regular file under the database directory it appends `sync <inode> <size>
//!    <path>` to a side log, the size taken before the real sync (what the sync made
//!    durable), written after it succeeds. It also wraps `open`/`open64`/`openat`/
//!    `openat64`: a file created or truncated under the directory is logged `new <inode>`
//!    (nothing of it is synced yet). Files are tracked by inode, so renames (RocksDB's
//!    `CURRENT`, the atomic save of an index file) need no wrapping. Each record is one
//!    `write` to a file opened with `O_APPEND`, so a SIGKILL leaves the log whole.
//!    `sync_file_range` and `msync` do not count as syncs: RocksDB uses neither for
//!    durability with its default options.
//! 3. The child opens the database at the level under test and runs single-row `INSERT`s,
//!    printing `ACK <i>` after each returns; after the first 40 it runs `CHECKPOINT` and
//!    prints `SAVED <log offset>`; then it inserts on. The parent SIGKILLs it 30
//!    acknowledgements after the checkpoint, and reads every line it printed.
//! 4. "Drop unsynced data": every file of `db/` and `vectors/` is truncated to its last
//!    synced size, and a file never synced since it was created is removed, as a power loss
//!    may leave them.
//! 5. The parent reopens the database (RocksDB's default point-in-time WAL recovery) and
//!    checks it is consistent whatever the level: the child's rows are a prefix of the
//!    statements it ran (no statement half applied, none missing before a present one), the
//!    row count matches a scan, primary keys are unique, every row reads back intact, and a
//!    kNN query through the index returns exactly the table's rows. Then, per level:
//!    - `full`: every acknowledged `INSERT` is present, and the WAL was synced at least once
//!      per statement after the checkpoint;
//!    - `normal` and `off`: the WAL was never synced after the checkpoint, so every
//!      statement acknowledged after it is lost, while those before it survive (`CHECKPOINT`
//!      flushes the memtables to synced table files);
//!    - `off` also saved the index file without syncing it (the shim saw no sync under
//!      `vectors/`); the lost file is rebuilt from rows, which the kNN check covers.
//!
//! With the same shim, `full_syncs_the_wal_once_per_statement` counts the WAL syncs of each
//! statement: exactly one under `full` for a multi-row `INSERT`, a 500-row `COPY`, `UPDATE`s,
//! a `DELETE`, `CREATE TABLE` and `CREATE INDEX` (each commits one batch), none under
//! `normal`.
//!
//! Nothing is timed: the child is killed after a number of acknowledgements. The power-loss
//! tests run on Linux only (`LD_PRELOAD`, `/proc/self/fd`).
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vectable::{params, Database, Error, Options, Synchronous};

// ---------------------------------------------------------------------------------------------
// SET synchronous and Options::synchronous

#[test]
fn options_default_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.synchronous(), Synchronous::Full);
    assert_eq!(Synchronous::default(), Synchronous::Full);
    assert!(format!("{:?}", Options::default()).contains("synchronous: Full"));
    drop(db);
    let db =
        Database::open_with(dir.path(), Options::new().synchronous(Synchronous::Normal)).unwrap();
    assert_eq!(db.synchronous(), Synchronous::Normal);
    // The level is a session setting: a new handle starts from its options again.
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.synchronous(), Synchronous::Full);
}

#[test]
fn set_synchronous_accepts_names_numbers_and_strings() {
    let db = Database::open_in_memory().unwrap();
    let other = db.clone();
    for (sql, want) in [
        ("SET synchronous = off", Synchronous::Off),
        ("SET synchronous = FULL", Synchronous::Full),
        ("SET synchronous TO normal", Synchronous::Normal),
        ("SET synchronous = 'off'", Synchronous::Off),
        ("SET synchronous = 'Full'", Synchronous::Full),
        ("SET synchronous = 1", Synchronous::Normal),
        ("SET synchronous = 0", Synchronous::Off),
        ("SET synchronous = 2", Synchronous::Full),
        ("SET synchronous = '1'", Synchronous::Normal),
    ] {
        db.execute(sql, ()).unwrap();
        assert_eq!(db.synchronous(), want, "{sql}");
        // Clones share the setting, as they share ef_search.
        assert_eq!(other.synchronous(), want, "{sql}");
    }
    db.execute("SET synchronous = $1", ["off"]).unwrap();
    assert_eq!(db.synchronous(), Synchronous::Off);
    db.execute("SET synchronous = $1", [2]).unwrap();
    assert_eq!(db.synchronous(), Synchronous::Full);
}

#[test]
fn set_synchronous_rejects_other_values_naming_them() {
    let db = Database::open_in_memory().unwrap();
    db.execute("SET synchronous = normal", ()).unwrap();
    for (sql, value) in [
        ("SET synchronous = extra", "extra"),
        ("SET synchronous = 3", "3"),
        ("SET synchronous = -1", "-1"),
        ("SET synchronous = 'fast'", "fast"),
        ("SET synchronous = on", "on"),
        ("SET synchronous = 1.5", "1.5"),
        ("SET synchronous = ''", ""),
    ] {
        let e = db.execute(sql, ()).unwrap_err();
        match &e {
            Error::InvalidArgument(m) => {
                assert!(m.contains("synchronous"), "{sql}: {m}");
                assert!(m.contains(&format!("{value:?}")), "{sql}: {m}");
                assert!(m.contains("full, normal or off"), "{sql}: {m}");
            }
            other => panic!("{sql}: expected InvalidArgument, got {other:?}"),
        }
        assert_eq!(db.synchronous(), Synchronous::Normal, "{sql} changed it");
    }
    let e = db.execute("SET synchronous = full, off", ()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert_eq!(db.synchronous(), Synchronous::Normal);
}

#[test]
fn every_level_keeps_what_a_clean_close_wrote() {
    for level in [Synchronous::Full, Synchronous::Normal, Synchronous::Off] {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_with(dir.path(), Options::new().synchronous(level)).unwrap();
        setup_table(&db);
        for i in 0..20 {
            insert(&db, 100 + i);
        }
        db.execute("CHECKPOINT", ()).unwrap();
        insert(&db, 500);
        drop(db);
        let db = Database::open(dir.path()).unwrap();
        let ids = check_consistent(&db);
        assert_eq!(ids.len(), SETUP_ROWS + 21, "{level}");
        assert!(ids.contains(&500), "{level}");
    }
}

// ---------------------------------------------------------------------------------------------
// The power-loss test

const DIMS: usize = 8;
/// Rows the parent inserts before the child runs (ids 0..SETUP_ROWS).
const SETUP_ROWS: usize = 10;
/// The child's first id; its statement `i` inserts id `CHILD_BASE + i`.
const CHILD_BASE: i64 = 1000;
/// Statements the child runs before its `CHECKPOINT`.
const BEFORE_CHECKPOINT: u64 = 40;
/// Acknowledgements after the checkpoint at which the parent kills the child.
const KILL_AFTER: u64 = 30;
/// Statements the child runs at most (it waits to be killed after them).
const CHILD_STATEMENTS: u64 = 400;

/// The vector of row `id`.
fn vector_of(id: i64) -> Vec<f32> {
    (0..DIMS)
        .map(|d| ((id as f32 + 1.0) * (d as f32 + 1.0) * 0.37).sin())
        .collect()
}

fn setup_table(db: &Database) {
    db.execute(
        &format!("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, v VECTOR({DIMS}))"),
        (),
    )
    .unwrap();
    db.execute(
        "CREATE INDEX t_v ON t USING hnsw (v) WITH (metric = 'l2')",
        (),
    )
    .unwrap();
    for id in 0..SETUP_ROWS as i64 {
        insert(db, id);
    }
}

fn insert(db: &Database, id: i64) {
    db.execute(
        "INSERT INTO t VALUES ($1, $2, $3)",
        params![id, id * 2, vector_of(id)],
    )
    .unwrap();
}

/// Checks the table is consistent and returns its ids, sorted: the count matches a scan,
/// ids are unique, each row reads back as inserted, and kNN through the index returns
/// exactly the scanned rows.
fn check_consistent(db: &Database) -> Vec<i64> {
    let rows = db.query("SELECT id, n, v FROM t", ()).unwrap();
    let mut ids = Vec::new();
    for row in &rows {
        let id: i64 = row.get(0).unwrap();
        let n: i64 = row.get(1).unwrap();
        let v: Vec<f32> = row.get(2).unwrap();
        assert_eq!(n, id * 2, "row {id}");
        assert_eq!(v, vector_of(id), "row {id}");
        ids.push(id);
    }
    ids.sort_unstable();
    let unique = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), unique, "duplicate primary keys");
    let count: i64 = db
        .query_row("SELECT count(*) FROM t", (), |r| r.get(0))
        .unwrap();
    assert_eq!(count as usize, ids.len(), "count(*) differs from a scan");
    let knn = db
        .query(
            "SELECT id FROM t ORDER BY v <-> $1 LIMIT 10000",
            params![vector_of(7)],
        )
        .unwrap();
    let mut got: Vec<i64> = knn.iter().map(|r| r.get(0).unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, ids, "kNN through the index differs from the rows");
    ids
}

/// The fault-injection shim (see the module docs).
const SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int log_fd = -1;
static const char *root;
static size_t root_len;

__attribute__((constructor)) static void shim_init(void) {
    int (*real_open)(const char *, int, ...) =
        (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    const char *log = getenv("VECTABLE_SYNC_LOG");
    root = getenv("VECTABLE_SYNC_DIR");
    if (log == NULL || root == NULL || real_open == NULL) return;
    root_len = strlen(root);
    log_fd = real_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* The canonical path of fd into path, and whether it is a regular file under the root. */
static int tracked(int fd, char *path, size_t cap, struct stat *st) {
    char link[64];
    ssize_t n;
    if (log_fd < 0 || fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, cap - 1);
    if (n <= 0) return 0;
    path[n] = '\0';
    return strncmp(path, root, root_len) == 0 && path[root_len] == '/';
}

static void log_line(const char *line, int len) {
    if (len > 0) {
        ssize_t w = write(log_fd, line, (size_t)len);
        (void)w;
    }
}

#define WRAP_SYNC(name)                                                              \
    int name(int fd) {                                                               \
        static int (*real)(int);                                                     \
        char path[PATH_MAX], line[PATH_MAX + 96];                                    \
        struct stat st;                                                              \
        int r, is_tracked, len;                                                      \
        if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, #name);                     \
        is_tracked = tracked(fd, path, sizeof path, &st);                            \
        r = real(fd);                                                                \
        if (r == 0 && is_tracked) {                                                  \
            len = snprintf(line, sizeof line, "sync\t%llu\t%lld\t%s\n",              \
                           (unsigned long long)st.st_ino, (long long)st.st_size, path); \
            if (len > 0 && (size_t)len < sizeof line) log_line(line, len);           \
        }                                                                            \
        return r;                                                                    \
    }

WRAP_SYNC(fsync)
WRAP_SYNC(fdatasync)

static void opened(int fd, int flags, int existed) {
    char path[PATH_MAX], line[PATH_MAX + 64];
    struct stat st;
    int len;
    if (fd < 0 || !((flags & O_TRUNC) || ((flags & O_CREAT) && !existed))) return;
    if (!tracked(fd, path, sizeof path, &st)) return;
    len = snprintf(line, sizeof line, "new\t%llu\t%s\n", (unsigned long long)st.st_ino, path);
    if (len > 0 && (size_t)len < sizeof line) log_line(line, len);
}

static mode_t mode_arg(int flags, va_list ap) {
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, unsigned int) : 0;
}

#define WRAP_OPEN(name)                                                              \
    int name(const char *path, int flags, ...) {                                     \
        static int (*real)(const char *, int, ...);                                  \
        va_list ap;                                                                  \
        mode_t mode;                                                                 \
        int existed = 1, fd;                                                         \
        va_start(ap, flags);                                                         \
        mode = mode_arg(flags, ap);                                                  \
        va_end(ap);                                                                  \
        if (!real) real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name);  \
        if (log_fd >= 0 && (flags & O_CREAT)) existed = access(path, F_OK) == 0;     \
        fd = real(path, flags, mode);                                                \
        opened(fd, flags, existed);                                                  \
        return fd;                                                                   \
    }

#define WRAP_OPENAT(name)                                                            \
    int name(int dirfd, const char *path, int flags, ...) {                          \
        static int (*real)(int, const char *, int, ...);                             \
        va_list ap;                                                                  \
        mode_t mode;                                                                 \
        int existed = 1, fd;                                                         \
        va_start(ap, flags);                                                         \
        mode = mode_arg(flags, ap);                                                  \
        va_end(ap);                                                                  \
        if (!real) real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, #name); \
        if (log_fd >= 0 && (flags & O_CREAT)) existed = faccessat(dirfd, path, F_OK, 0) == 0; \
        fd = real(dirfd, path, flags, mode);                                         \
        opened(fd, flags, existed);                                                  \
        return fd;                                                                   \
    }

WRAP_OPEN(open)
WRAP_OPEN(open64)
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)
"#;

/// Compiles [`SHIM`] into `dir` and returns the shared object's path.
fn build_shim(dir: &Path) -> PathBuf {
    let src = dir.join("sync_shim.c");
    let lib = dir.join("sync_shim.so");
    std::fs::write(&src, SHIM).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("-ldl")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the durability test needs a C compiler to build its fault-injection shim, \
                 and `{cc}` could not be run: {e} (install one, e.g. gcc, or set CC)"
            )
        });
    assert!(
        out.status.success(),
        "compiling the fault-injection shim with `{cc}` failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lib
}

/// Size of every file in `db/` and `vectors/` of `root`, by inode.
fn file_sizes(root: &Path) -> BTreeMap<u64, u64> {
    let mut sizes = BTreeMap::new();
    for sub in ["db", "vectors"] {
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let m = e.unwrap().metadata().unwrap();
            if m.is_file() {
                sizes.insert(m.ino(), m.len());
            }
        }
    }
    sizes
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// One record of the shim's log.
#[derive(Debug)]
enum Record {
    /// `fsync`/`fdatasync` of (inode, size before the sync, path).
    Sync(u64, u64, String),
    /// A file created or truncated: (inode).
    New(u64),
}

fn parse_log(text: &str) -> Vec<Record> {
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            match f.as_slice() {
                ["sync", ino, size, path] => Record::Sync(
                    ino.parse().unwrap(),
                    size.parse().unwrap(),
                    path.to_string(),
                ),
                ["new", ino, _path] => Record::New(ino.parse().unwrap()),
                _ => panic!("malformed line in the shim's log: {line:?}"),
            }
        })
        .collect()
}

/// What [`drop_unsynced`] did.
#[derive(Debug, Default)]
struct Dropped {
    /// Files cut back to their last synced size: (path, size, synced size).
    truncated: Vec<(PathBuf, u64, u64)>,
    /// Files never synced since they were created.
    removed: Vec<PathBuf>,
}

/// Makes `db/` and `vectors/` of `root` what a power loss could leave: each file cut back to
/// its last synced size (`baseline` for files that existed before the child, then the
/// shim's records), files created and never synced removed.
fn drop_unsynced(root: &Path, baseline: &BTreeMap<u64, u64>, records: &[Record]) -> Dropped {
    let mut synced: BTreeMap<u64, u64> = baseline.clone();
    for r in records {
        match r {
            Record::Sync(ino, size, _) => {
                synced.insert(*ino, *size);
            }
            Record::New(ino) => {
                synced.remove(ino);
            }
        }
    }
    let mut dropped = Dropped::default();
    for sub in ["db", "vectors"] {
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if !m.is_file() {
                continue;
            }
            match synced.get(&m.ino()) {
                Some(&size) if m.len() > size => {
                    let f = std::fs::OpenOptions::new()
                        .write(true)
                        .open(e.path())
                        .unwrap();
                    f.set_len(size).unwrap();
                    dropped.truncated.push((e.path(), m.len(), size));
                }
                Some(_) => {}
                None => {
                    std::fs::remove_file(e.path()).unwrap();
                    dropped.removed.push(e.path());
                }
            }
        }
    }
    dropped
}

/// Child role: opens the database at `VECTABLE_DURABILITY_LEVEL`, inserts rows (`ACK <i>`
/// after each), `CHECKPOINT`s after [`BEFORE_CHECKPOINT`] (`SAVED <log offset>`), inserts on,
/// then waits to be killed.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "run by the power-loss tests in a child process"]
fn child_writer() {
    let dir = PathBuf::from(std::env::var("VECTABLE_DURABILITY_DIR").expect("run by a parent"));
    let level = Synchronous::parse(&std::env::var("VECTABLE_DURABILITY_LEVEL").unwrap()).unwrap();
    let log = PathBuf::from(std::env::var("VECTABLE_SYNC_LOG").unwrap());
    // Each level set another way: the default, the option, the SQL setting.
    let db = match level {
        Synchronous::Normal => {
            Database::open_with(&dir, Options::new().synchronous(Synchronous::Normal)).unwrap()
        }
        Synchronous::Off => {
            let db = Database::open(&dir).unwrap();
            db.execute("SET synchronous = off", ()).unwrap();
            db
        }
        _ => Database::open(&dir).unwrap(),
    };
    assert_eq!(db.synchronous(), level);
    // A kNN query maps the index, so the inserts reach it and the checkpoint saves it.
    db.query(
        "SELECT id FROM t ORDER BY v <-> $1 LIMIT 3",
        params![vector_of(1)],
    )
    .unwrap();
    for i in 0..CHILD_STATEMENTS {
        insert(&db, CHILD_BASE + i as i64);
        println!("ACK {i}");
        if i + 1 == BEFORE_CHECKPOINT {
            db.execute("CHECKPOINT", ()).unwrap();
            let offset = std::fs::metadata(&log).map_or(0, |m| m.len());
            println!("SAVED {offset}");
        }
    }
    println!("DONE");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// What the parent read from the child's output.
#[derive(Default)]
struct Seen {
    /// `ACK` lines: statements `0..acked` returned.
    acked: u64,
    /// The shim log's length at the checkpoint (`SAVED`).
    saved_at: Option<usize>,
}

impl Seen {
    fn line(&mut self, line: &str) {
        // libtest may print `test child_writer ... ` before the first line.
        if let Some(at) = line.find("ACK ") {
            let i: u64 = line[at + 4..].trim().parse().unwrap();
            assert_eq!(i, self.acked, "acknowledgements out of order");
            self.acked += 1;
        } else if let Some(at) = line.find("SAVED ") {
            self.saved_at = Some(line[at + 6..].trim().parse().unwrap());
        }
    }
}

/// What one power-loss run saw.
struct Run {
    /// Statements acknowledged (their indexes are `0..acked`: the child runs them in order).
    acked: u64,
    /// The child's rows present after the power loss, as statement indexes, sorted.
    present: Vec<u64>,
    /// WAL syncs after the checkpoint.
    wal_syncs_after_checkpoint: usize,
    /// Syncs of files under `vectors/` (index saves).
    index_syncs: usize,
    dropped: Dropped,
}

/// Runs the child at `level`, kills it, drops unsynced data, reopens and checks the
/// database is consistent (see the module docs).
fn power_loss(level: Synchronous) -> Run {
    let scratch = tempfile::tempdir().unwrap();
    let shim = build_shim(scratch.path());
    let root = scratch.path().join("db-dir");
    {
        let db = Database::open(&root).unwrap();
        setup_table(&db);
        db.execute("CHECKPOINT", ()).unwrap();
    }
    let root = root.canonicalize().unwrap();
    let baseline = file_sizes(&root);
    let log = scratch.path().join("sync.log");
    let stderr_log = scratch.path().join("child-stderr.log");
    let child_stderr = || std::fs::read_to_string(&stderr_log).unwrap_or_default();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_writer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LD_PRELOAD", &shim)
        .env("VECTABLE_SYNC_LOG", &log)
        .env("VECTABLE_SYNC_DIR", &root)
        .env("VECTABLE_DURABILITY_DIR", &root)
        .env("VECTABLE_DURABILITY_LEVEL", level.to_string())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_log).unwrap())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Seen::default();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut killed = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                seen.line(&line);
                if seen.acked >= BEFORE_CHECKPOINT + KILL_AFTER {
                    child.kill().unwrap(); // SIGKILL: the process dies, then the power
                    killed = true;
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                assert!(
                    Instant::now() < deadline,
                    "the child hangs\n{}",
                    child_stderr()
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    child.wait().unwrap();
    // Whatever the child printed before it died.
    for line in rx.iter() {
        seen.line(&line);
    }
    reader.join().unwrap();
    assert!(killed, "the child stopped early\n{}", child_stderr());
    let Seen { acked, saved_at } = seen;
    let saved_at = saved_at.expect("the child checkpointed");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let records = parse_log(&text);
    assert!(
        records.iter().any(|r| matches!(r, Record::Sync(..))),
        "the shim recorded no sync at all: was it loaded?\n{}",
        child_stderr()
    );
    let after = parse_log(&text[saved_at..]);
    let db_dir = root.join("db");
    let vectors_dir = root.join("vectors");
    let wal_syncs_after_checkpoint = after
        .iter()
        .filter(|r| {
            matches!(r, Record::Sync(_, _, p)
                if Path::new(p).starts_with(&db_dir) && p.ends_with(".log"))
        })
        .count();
    let index_syncs = records
        .iter()
        .filter(|r| matches!(r, Record::Sync(_, _, p) if Path::new(p).starts_with(&vectors_dir)))
        .count();

    let dropped = drop_unsynced(&root, &baseline, &records);

    let db = Database::open(&root).unwrap();
    let ids = check_consistent(&db);
    for id in 0..SETUP_ROWS as i64 {
        assert!(
            ids.contains(&id),
            "{level}: a row of before the child is lost"
        );
    }
    let present: Vec<u64> = ids
        .iter()
        .filter(|&&id| id >= CHILD_BASE)
        .map(|&id| (id - CHILD_BASE) as u64)
        .collect();
    // Never corrupt: the surviving statements are a prefix of those run, and at most one
    // more than acknowledged (the one in flight at the kill).
    let expected_prefix: Vec<u64> = (0..present.len() as u64).collect();
    assert_eq!(
        present, expected_prefix,
        "{level}: the child's rows are not a prefix of its statements"
    );
    assert!(
        present.len() as u64 <= acked + 1,
        "{level}: rows never inserted"
    );
    eprintln!(
        "synchronous = {level}: {acked} acknowledged, {} present after the power loss; WAL \
         synced {wal_syncs_after_checkpoint} times after the checkpoint, index files {index_syncs} \
         times; truncated {:?}, removed {:?}",
        present.len(),
        dropped
            .truncated
            .iter()
            .map(|(p, from, to)| format!("{} {from} → {to}", file_name(p)))
            .collect::<Vec<_>>(),
        dropped
            .removed
            .iter()
            .map(|p| file_name(p))
            .collect::<Vec<_>>()
    );
    Run {
        acked,
        present,
        wal_syncs_after_checkpoint,
        index_syncs,
        dropped,
    }
}

#[cfg(target_os = "linux")]
#[test]
fn power_loss_with_full_loses_no_acknowledged_statement() {
    let run = power_loss(Synchronous::Full);
    assert!(
        run.present.len() as u64 >= run.acked,
        "full lost acknowledged statements: {} of {} present ({:?})",
        run.present.len(),
        run.acked,
        run.dropped
    );
    // Each statement after the checkpoint synced the WAL.
    assert!(
        run.wal_syncs_after_checkpoint as u64 >= run.acked - BEFORE_CHECKPOINT,
        "{} WAL syncs for {} statements",
        run.wal_syncs_after_checkpoint,
        run.acked - BEFORE_CHECKPOINT
    );
    assert!(run.index_syncs > 0, "the index save was not synced");
}

/// `normal` and `off`: statements acknowledged after the checkpoint were never synced, so
/// the power loss takes them all; those before the checkpoint survive.
fn assert_loses_unsynced_statements(level: Synchronous, run: &Run) {
    assert_eq!(
        run.wal_syncs_after_checkpoint, 0,
        "{level}: the WAL was synced after the checkpoint"
    );
    assert_eq!(
        run.present.len() as u64,
        BEFORE_CHECKPOINT,
        "{level}: expected exactly the {BEFORE_CHECKPOINT} statements before the checkpoint \
         to survive, {} acknowledged ({:?})",
        run.acked,
        run.dropped
    );
    assert!(run.acked > BEFORE_CHECKPOINT);
    assert!(
        !run.dropped.truncated.is_empty() || !run.dropped.removed.is_empty(),
        "{level}: nothing was dropped"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn power_loss_with_normal_loses_the_last_statements_but_stays_consistent() {
    let run = power_loss(Synchronous::Normal);
    assert_loses_unsynced_statements(Synchronous::Normal, &run);
    assert!(run.index_syncs > 0, "normal still syncs index saves");
}

#[cfg(target_os = "linux")]
#[test]
fn power_loss_with_off_loses_the_last_statements_and_does_not_sync_index_files() {
    let run = power_loss(Synchronous::Off);
    assert_loses_unsynced_statements(Synchronous::Off, &run);
    assert_eq!(run.index_syncs, 0, "off synced an index file");
    // The index file saved unsynced at the checkpoint was lost; the kNN check in
    // `power_loss` found the rebuilt index equal to the rows.
    assert!(
        run.dropped
            .removed
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "usearch")),
        "{:?}",
        run.dropped
    );
}

// ---------------------------------------------------------------------------------------------
// One WAL sync per statement under `full`, whatever the statement writes

/// Child role: opens the database at `VECTABLE_DURABILITY_LEVEL` and runs the statements of
/// `VECTABLE_DURABILITY_SQL`, printing `MARK <log offset>` before each and after the last.
#[test]
#[cfg(target_os = "linux")]
#[ignore = "run by full_syncs_the_wal_once_per_statement in a child process"]
fn child_statements() {
    let dir = PathBuf::from(std::env::var("VECTABLE_DURABILITY_DIR").expect("run by a parent"));
    let level = Synchronous::parse(&std::env::var("VECTABLE_DURABILITY_LEVEL").unwrap()).unwrap();
    let log = PathBuf::from(std::env::var("VECTABLE_SYNC_LOG").unwrap());
    let sql = std::env::var("VECTABLE_DURABILITY_SQL").unwrap();
    let db = Database::open_with(&dir, Options::new().synchronous(level)).unwrap();
    let mark = || println!("MARK {}", std::fs::metadata(&log).map_or(0, |m| m.len()));
    for stmt in vectable::split_statements(&sql) {
        mark();
        db.execute(&stmt, ()).unwrap();
    }
    mark();
}

/// The number of WAL syncs during each statement of `sql`, run at `level` in a child
/// process with the shim.
#[cfg(target_os = "linux")]
fn wal_syncs_per_statement(level: Synchronous, sql: &str, scratch: &Path) -> Vec<usize> {
    let shim = build_shim(scratch);
    let root = scratch.join(format!("db-{level}"));
    {
        let db = Database::open(&root).unwrap();
        setup_table(&db);
    }
    let root = root.canonicalize().unwrap();
    let log = scratch.join(format!("sync-{level}.log"));
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_statements",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LD_PRELOAD", &shim)
        .env("VECTABLE_SYNC_LOG", &log)
        .env("VECTABLE_SYNC_DIR", &root)
        .env("VECTABLE_DURABILITY_DIR", &root)
        .env("VECTABLE_DURABILITY_LEVEL", level.to_string())
        .env("VECTABLE_DURABILITY_SQL", sql)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let marks: Vec<usize> = stdout
        .lines()
        .filter_map(|l| {
            l.find("MARK ")
                .map(|at| l[at + 5..].trim().parse().unwrap())
        })
        .collect();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let wal = root.join("db");
    marks
        .windows(2)
        .map(|w| {
            parse_log(&text[w[0]..w[1]])
                .iter()
                .filter(|r| {
                    matches!(r, Record::Sync(_, _, p)
                        if Path::new(p).starts_with(&wal) && p.ends_with(".log"))
                })
                .count()
        })
        .collect()
}

#[test]
#[cfg(target_os = "linux")]
fn full_syncs_the_wal_once_per_statement() {
    let scratch = tempfile::tempdir().unwrap();
    let csv = scratch.path().join("rows.csv");
    let mut text = String::from("id,n\n");
    for id in 2000..2500 {
        text.push_str(&format!("{id},{}\n", id * 2));
    }
    std::fs::write(&csv, text).unwrap();
    let values: Vec<String> = (3000..3100)
        .map(|id| format!("({id}, {})", id * 2))
        .collect();
    let statements = [
        format!("INSERT INTO t (id, n) VALUES {}", values.join(", ")),
        format!(
            "COPY t (id, n) FROM '{}' WITH (FORMAT csv, HEADER true)",
            csv.display()
        ),
        "UPDATE t SET n = n + 0 WHERE id >= 2000".to_string(),
        format!("UPDATE t SET v = '{:?}' WHERE id < 5", vector_of(1)),
        "DELETE FROM t WHERE id >= 2400 AND id < 2500".to_string(),
        "CREATE TABLE u (id INTEGER PRIMARY KEY)".to_string(),
        "CREATE INDEX t_n ON t (n)".to_string(),
    ];
    let sql = statements.join(";\n");
    let full = wal_syncs_per_statement(Synchronous::Full, &sql, scratch.path());
    assert_eq!(
        full,
        vec![1; statements.len()],
        "full: WAL syncs per statement of {statements:#?}"
    );
    let normal = wal_syncs_per_statement(Synchronous::Normal, &sql, scratch.path());
    assert_eq!(normal, vec![0; statements.len()], "normal");
}
