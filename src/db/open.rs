//! Opening a database: which paths are databases, the process-wide registry of open
//! directories, read-only (secondary) and in-memory instances, and a read-only handle's
//! catch-up with the writer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize};
use std::sync::{Arc, LazyLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::{table_entries, Database, Inner, Options, Shared, State};
use crate::error::{Error, Result};
use crate::exec::candidates::CandidateCache;
use crate::sql::cache::StatementCache;
use crate::sql::Command;
use crate::storage::keys::LAYOUT_VERSION;
use crate::storage::{Access, Store};
use crate::vector::{VectorConfig, VectorIndexes};

/// The databases this process has open, by (canonical directory, read-only).
type Registry = HashMap<(PathBuf, bool), Registered>;

/// A database in the registry.
struct Registered {
    /// Its handles' shared state: gone once the last handle is dropped.
    shared: Weak<Shared>,
    /// Its `Inner::closed_token`: gone once it is closed, RocksDB included.
    open: Weak<()>,
}

static OPEN: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// How long an open waits for a handle of the same directory that this process is closing.
const CLOSING_WAIT: Duration = Duration::from_secs(5);

/// Opens the database in directory `path` (see [`Database::open`]), or returns the one this
/// process already has open there in the same mode.
pub(super) fn open_dir(path: &Path, options: Options) -> Result<Arc<Shared>> {
    let read_only = options.read_only;
    prepare(path, &options)?;
    let canonical = path.canonicalize().map_err(|e| open_error(path, &e))?;
    let key = (canonical, read_only);
    let mut open = OPEN.lock();
    open.retain(|k, r| k == &key || r.open.strong_count() > 0);
    let started = Instant::now();
    let closing = match open.get(&key) {
        Some(r) => match r.shared.upgrade() {
            Some(shared) => return Ok(shared),
            // The last handle was dropped and the database may still be closing: wait until
            // it is closed. Opening beside it would fail on RocksDB's lock, and before that
            // rotate and delete the info logs it writes (RocksDB does that before locking).
            None => {
                while r.open.strong_count() > 0 && started.elapsed() < CLOSING_WAIT {
                    std::thread::sleep(Duration::from_millis(1));
                }
                true
            }
        },
        None => false,
    };
    let access = if read_only {
        Access::Secondary
    } else {
        Access::ReadWrite
    };
    let store = loop {
        match Store::open(&path.join("db"), access) {
            Err(Error::Locked(_)) if closing && started.elapsed() < CLOSING_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other?,
        }
    };
    let inner = Arc::new(new_inner(path.to_path_buf(), store, options, None)?);
    super::build::install(&inner);
    let closed_token = Arc::downgrade(&inner.closed_token);
    let shared = Arc::new(Shared { inner });
    open.insert(
        key,
        Registered {
            shared: Arc::downgrade(&shared),
            open: closed_token,
        },
    );
    Ok(shared)
}

/// Opens a new in-memory database (see [`Database::open_in_memory`]).
pub(super) fn open_memory(options: Options) -> Result<Arc<Shared>> {
    let temp = tempfile::Builder::new()
        .prefix("vectable-memory-")
        .tempdir()
        .map_err(|e| Error::Open {
            path: std::env::temp_dir(),
            reason: format!("cannot create a temporary directory: {e}"),
        })?;
    let path = temp.path().to_path_buf();
    std::fs::create_dir_all(path.join("vectors")).map_err(|e| open_error(&path, &e))?;
    let store = Store::open(&path.join("db"), Access::Memory)?;
    let options = options.read_only(false);
    let inner = Arc::new(new_inner(path, store, options, Some(temp))?);
    super::build::install(&inner);
    Ok(Arc::new(Shared { inner }))
}

/// Checks that `path` is a database or a place to create one, and creates its directories
/// when it is to be created.
fn prepare(path: &Path, options: &Options) -> Result<()> {
    let not_a_database = |reason: &str| Error::NotADatabase {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    match std::fs::metadata(path) {
        Ok(m) if !m.is_dir() => Err(not_a_database("it is a file, not a directory")),
        Ok(_) => {
            if Store::exists(&path.join("db"))? {
                if !options.read_only {
                    std::fs::create_dir_all(path.join("vectors"))
                        .map_err(|e| open_error(path, &e))?;
                }
                return Ok(());
            }
            if path.join("db").join("CURRENT").is_file() {
                return Err(not_a_database(
                    "its db/ holds a RocksDB database without vectable's catalog",
                ));
            }
            // `db/` and `vectors/` alone are what an interrupted creation leaves.
            let others = std::fs::read_dir(path)
                .map_err(|e| open_error(path, &e))?
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name() != "db" && e.file_name() != "vectors")
                .count();
            if options.read_only {
                return Err(not_a_database("it holds no vectable database"));
            }
            if others > 0 && !options.create_in_non_empty {
                return Err(not_a_database(
                    "the directory holds other files and no vectable database (to create one \
                     there, use vectable --create or Options::create_in_non_empty)",
                ));
            }
            std::fs::create_dir_all(path.join("vectors")).map_err(|e| open_error(path, &e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if options.read_only {
                return Err(not_a_database("it does not exist"));
            }
            std::fs::create_dir_all(path.join("vectors")).map_err(|e| open_error(path, &e))
        }
        Err(e) => Err(open_error(path, &e)),
    }
}

fn open_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The handle state of a database whose store is open.
fn new_inner(
    path: PathBuf,
    store: Store,
    options: Options,
    temp_dir: Option<tempfile::TempDir>,
) -> Result<Inner> {
    let read_only = options.read_only;
    store.set_synchronous(options.synchronous);
    if !read_only {
        // A big statement a crash interrupted: applied when it committed, dropped otherwise.
        let recovered = store.recover_staging()?;
        if recovered != Default::default() {
            log::info!(
                "{}: finished {} committed statement(s), dropped {} uncommitted one(s)",
                path.display(),
                recovered.applied,
                recovered.discarded
            );
        }
    }
    let mut loaded = store.load_catalog()?;
    if read_only {
        match loaded.layout {
            Some(v) if v == LAYOUT_VERSION => {}
            Some(v) if v > LAYOUT_VERSION => {
                return Err(Error::UnsupportedLayout {
                    path,
                    found: v,
                    supported: LAYOUT_VERSION,
                })
            }
            _ if loaded.tables.is_empty() => {}
            _ => {
                return Err(Error::ReadOnly {
                    path,
                    statement: "upgrading the storage layout (open it read-write once)".into(),
                })
            }
        }
    } else {
        crate::storage::migrate::upgrade(&store, &loaded, &path)?;
    }
    let secondary = std::mem::take(&mut loaded.secondary);
    let tables = table_entries(loaded.tables, secondary);
    let vectors = VectorIndexes::new(
        path.join("vectors"),
        VectorConfig {
            cache_capacity: options.index_cache_capacity,
            checkpoint_changes: options.checkpoint_changes,
            build_threads: options.build_threads,
            progress: options.progress.clone(),
            read_only,
            auto_vacuum: options.auto_vacuum,
            index_write_share: options.index_write_share,
        },
        loaded.indexes,
    );
    Ok(Inner {
        path,
        store,
        state: RwLock::new(State {
            tables,
            next_table_id: loaded.next_table_id,
        }),
        vectors,
        ef_search: AtomicUsize::new(options.ef_search),
        filtered_knn: AtomicU8::new(0),
        exact_threshold: options.exact_search_threshold,
        progress: options.progress,
        statements: StatementCache::new(options.statement_cache_capacity),
        candidates: CandidateCache::default(),
        samples: parking_lot::Mutex::new(lru::LruCache::new(
            std::num::NonZeroUsize::new(256).expect("non-zero"),
        )),
        read_only,
        temp_dir,
        running: Default::default(),
        write_batch_rows: AtomicUsize::new(options.write_batch_rows),
        statement_timeout_ms: std::sync::atomic::AtomicU64::new(
            u64::try_from(options.statement_timeout.as_millis()).unwrap_or(u64::MAX),
        ),
        index_build_wait: std::sync::atomic::AtomicBool::new(options.index_build_wait),
        closed_token: Arc::new(()),
    })
}

/// The name of the write a command is, or `None` for a command that only reads
/// (`SELECT`, `EXPLAIN`, `SHOW TABLES`, `SET`).
pub(super) fn write_name(command: &Command<'_>) -> Option<&'static str> {
    match command {
        Command::Select(_)
        | Command::Explain { .. }
        | Command::ShowTables
        | Command::Set(_)
        | Command::Describe(_) => None,
        Command::AlterTable(_) => Some("ALTER TABLE"),
        Command::Checkpoint => Some("CHECKPOINT"),
        Command::CreateTable(_) => Some("CREATE TABLE"),
        Command::CreateIndex(_) => Some("CREATE INDEX"),
        Command::DropTable { .. } => Some("DROP TABLE"),
        Command::DropIndex { .. } => Some("DROP INDEX"),
        Command::Insert(_) => Some("INSERT"),
        Command::Update(_) => Some("UPDATE"),
        Command::Delete(_) => Some("DELETE"),
        Command::Copy(_) => Some("COPY"),
        Command::Vacuum(_) => Some("VACUUM"),
    }
}

impl Database {
    /// [`Error::ReadOnly`] for `statement` on a read-only handle.
    pub(super) fn refuse_if_read_only(&self, statement: &str) -> Result<()> {
        if self.inner.read_only {
            return Err(Error::ReadOnly {
                path: self.inner.path.clone(),
                statement: statement.to_string(),
            });
        }
        Ok(())
    }

    /// A read-only handle reads what the writer committed since the last statement: RocksDB
    /// catches up, and when anything changed the catalog is read again, the vector indexes
    /// are dropped from memory and the caches keyed by write generation are invalidated.
    /// Runs under the write lock, so no statement of this handle reads meanwhile.
    pub(super) fn catch_up(&self) -> Result<()> {
        let inner = &self.inner;
        let mut state = inner.state.write();
        if !inner.store.catch_up()? {
            return Ok(());
        }
        let mut loaded = inner.store.load_catalog()?;
        let secondary = std::mem::take(&mut loaded.secondary);
        let mut tables = table_entries(loaded.tables, secondary);
        for (name, entry) in &mut tables {
            // A new generation: cached candidates and samples of the old state do not apply.
            entry.generation = state
                .tables
                .get(name)
                .map_or(0, |old| old.generation.wrapping_add(1));
        }
        state.tables = tables;
        state.next_table_id = loaded.next_table_id;
        inner.vectors.reload(loaded.indexes);
        inner.samples.lock().clear();
        Ok(())
    }
}
