//! [`Database`]: the public handle, and [`Options`].
//!
//! The database opens the store and the vector indexes, holds the catalog state behind one
//! lock, and dispatches each statement: it takes the lock the statement needs, has
//! [`crate::sql`] bind it against the catalog, [`crate::plan`] plan a `SELECT`, and
//! [`crate::exec`], [`crate::storage`] or [`crate::vector`] carry it out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use sqlparser::ast::Query;

use crate::catalog::{SecondaryIndex, TableSchema};
use crate::error::{Error, Result};
use crate::exec::alter as exec_alter;
use crate::exec::bulk;
use crate::exec::cancel::{Cancel, InterruptHandle, Running};
use crate::exec::candidates::CandidateCache;
use crate::exec::copy;
use crate::exec::explain;
use crate::exec::publish::Locked;
use crate::exec::select::{self, ExecCtx};
use crate::exec::write::{self, TableEntry};
use crate::expr::Expr;
use crate::plan::access::{self as access_path, RowSource};
use crate::plan::{self, SelectPlan};
use crate::row::{Row, Rows};
use crate::sql::alter;
use crate::sql::cache::{ParsedStatement, StatementCache};
use crate::sql::copy::bind_copy;
use crate::sql::ddl::{self, CreateTable, NewIndex};
use crate::sql::dml;
use crate::sql::select::{bind_select, BoundSelect};
use crate::sql::set::{bind_set, FilteredKnnSetting, Setting};
use crate::sql::{self, Catalog, Command, Parsed};
use crate::statement::Statement;
use crate::storage::{Counters, Store};
use crate::value::{Params, Value};
use crate::vector::{IndexStatus, ProgressFn, VectorIndexes};

pub use crate::sql::set::MAX_EF_SEARCH;
pub use options::Options;
use publish::Publisher;
use view::CatalogView;

mod build;
mod load;
mod open;
mod options;
mod publish;
mod stream;
mod view;

/// The result of [`Database::run`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// Rows of a `SELECT`, `EXPLAIN` or `SHOW TABLES`.
    Rows(Rows),
    /// Rows inserted, updated, deleted or copied (also the rows of a `CREATE TABLE … AS`).
    Affected(u64),
    /// A statement without rows completed (`CREATE TABLE`, `SET`, `CHECKPOINT`…); the text is
    /// the statement's tag.
    Done(String),
}

impl Output {
    /// What [`Database::execute`] returns for it.
    pub(crate) fn affected(self) -> u64 {
        match self {
            Output::Affected(n) => n,
            Output::Rows(r) => r.len() as u64,
            Output::Done(_) => 0,
        }
    }

    /// What [`Database::query`] returns for it.
    pub(crate) fn rows(self) -> Rows {
        match self {
            Output::Rows(r) => r,
            _ => Rows::default(),
        }
    }
}

pub(crate) struct State {
    pub tables: BTreeMap<String, TableEntry>,
    pub next_table_id: u64,
}

/// (table id, write generation, filter as text): what a selectivity sample depends on.
type SampleKey = (u64, u64, String);

struct Inner {
    path: PathBuf,
    store: Store,
    /// Readers share it; a write statement holds it upgradable (other writers wait, readers
    /// run) and exclusively only to publish; schema statements hold it exclusively.
    state: RwLock<State>,
    vectors: VectorIndexes,
    ef_search: AtomicUsize,
    /// `SET filtered_knn`: 0 auto, 1 exact, 2 index.
    filtered_knn: AtomicU8,
    exact_threshold: usize,
    progress: Option<ProgressFn>,
    /// Recently parsed statements, by SQL text.
    statements: StatementCache,
    /// Recent secondary-index scan results.
    candidates: CandidateCache,
    /// Recent filter-selectivity samples, by (table id, write generation, filter).
    samples: parking_lot::Mutex<lru::LruCache<SampleKey, (f64, u64)>>,
    /// Opened read-only (a RocksDB secondary instance): every write is [`Error::ReadOnly`].
    read_only: bool,
    /// The directory of an in-memory database (index files), removed after the store is
    /// closed (fields drop in declaration order).
    temp_dir: Option<tempfile::TempDir>,
    /// The statements running now, for [`InterruptHandle::interrupt`].
    running: Arc<Running>,
    /// `SET statement_timeout`, in milliseconds; 0 is none.
    statement_timeout_ms: AtomicU64,
    /// `SET index_build_wait`: a kNN query waits for its column's index build (true) or
    /// computes exact distances meanwhile.
    index_build_wait: std::sync::atomic::AtomicBool,
    /// `SET write_batch_rows`: rows per `WriteBatch` of a big statement.
    write_batch_rows: AtomicUsize,
    /// Dropped last, when the store is closed: the registry of open directories holds a
    /// `Weak` of it and opens the directory again only once it is gone (see `open::open_dir`).
    closed_token: Arc<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.read_only {
            return;
        }
        if let Err(e) = self.vectors.checkpoint(&self.store) {
            log::warn!(
                "saving vector indexes at close failed: {e}; their changes stay in the change log"
            );
        }
        // Memtables to SST files, as `CHECKPOINT`: RocksDB's close does not flush them when
        // the WAL holds them, and the next open would replay that WAL and flush it into new
        // level-0 files (more of them at every open, until a compaction runs beside the first
        // statements). An in-memory database is gone after this.
        if self.temp_dir.is_none() {
            if let Err(e) = self.store.flush() {
                log::warn!(
                    "flushing RocksDB's memtables at close failed: {e}; the next open \
                     replays its WAL"
                );
            }
        }
    }
}

/// An open vectable database: a directory with RocksDB in `db/` and vector indexes in
/// `vectors/`.
///
/// `Database` is `Send + Sync` and cheap to clone (clones share one open database and its
/// session settings, such as `ef_search`). Reads run concurrently. Write statements
/// (`INSERT`, `UPDATE`, `DELETE`, `COPY`) run one at a time and prepare beside the reads
/// (binding, reading what their checks need, encoding rows); they exclude reads only to
/// publish: the `WriteBatch` commit and the switch of what readers see (counters, index
/// changes), after which the WAL is synced (`SET synchronous`) and written vectors are added
/// to their HNSW graph with reads running. Schema statements, `VACUUM` and `CHECKPOINT` run
/// alone. Each statement is atomic. Dropping the last clone closes the database before
/// the drop returns: running lazy index builds are stopped and waited for, dirty vector
/// indexes are saved and RocksDB is closed (a [`RowCursor`](crate::RowCursor) still open
/// keeps it open until the cursor is dropped).
///
/// Statements are parsed once per SQL text: the last parsed statements are kept (see
/// [`Options::statement_cache_capacity`]), and [`Database::prepare`] returns a [`Statement`]
/// that holds its parse. Binding and planning happen at every run.
///
/// ## Example
/// ```
/// use vectable::{Database, params};
///
/// let dir = tempfile::tempdir()?;
/// let db = Database::open(dir.path())?;
/// db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, embedding VECTOR(3))", ())?;
/// db.execute(
///     "INSERT INTO docs VALUES (1, 'red', '[1, 0, 0]'), (2, 'green', '[0, 1, 0]'), (3, 'dark red', '[0.9, 0.1, 0]')",
///     (),
/// )?;
/// let query = vec![1.0f32, 0.05, 0.0];
/// let rows = db.query(
///     "SELECT title, embedding <=> $1 AS distance FROM docs ORDER BY embedding <=> $1 LIMIT 2",
///     params![query],
/// )?;
/// let titles: Vec<String> = rows.iter().map(|r| r.get("title")).collect::<Result<_, _>>()?;
/// assert_eq!(titles, ["red", "dark red"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Database {
    inner: Arc<Shared>,
}

/// What the clones of a [`Database`] share: the open database. Dropped with the last clone,
/// it stops the lazy index builds and waits for their threads, which hold the database for
/// moments ([`Inner`] stays alive while they do), so that the database closes (indexes
/// saved, RocksDB closed, an in-memory database's directory removed) on the thread that drops
/// the last handle, before that drop returns. Closed by a build thread instead, it could close
/// after the process began to exit: RocksDB's close locks static mutexes that are destroyed
/// by then ("pthread lock: Invalid argument", SIGABRT, seen at the end of a test binary).
struct Shared {
    inner: Arc<Inner>,
}

impl std::ops::Deref for Shared {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.inner.vectors.stop_builds_and_wait();
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.path)
            .finish()
    }
}

pub(super) fn lookup<'s>(state: &'s State, name: &str) -> Result<&'s TableEntry> {
    state
        .tables
        .get(name)
        .or_else(|| {
            state
                .tables
                .values()
                .find(|t| t.schema.name.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| Error::NoSuchTable(name.to_string()))
}

impl Database {
    /// Opens the database in directory `path` with default [`Options`], creating a new one
    /// when `path` is missing or an empty directory.
    ///
    /// - A directory holding a vectable database (`db/` with RocksDB's `CURRENT` and
    ///   vectable's column families): opened.
    /// - A missing or empty directory: a new database is created.
    /// - A directory holding other files: [`Error::NotADatabase`], unless
    ///   [`Options::create_in_non_empty`] is set.
    /// - A directory this process already has open (by the same canonical path, in the same
    ///   mode, read-write or read-only): a handle to that same database, as a clone of the
    ///   first handle would be; the later call's [`Options`] are ignored. A read-only and a
    ///   read-write handle of one directory are separate instances and may coexist.
    ///
    /// # Errors
    /// [`Error::Locked`] when another process has it open for writing; [`Error::NotADatabase`]
    /// as above, or when `path` is a file; [`Error::Corrupt`] when RocksDB reports corruption;
    /// [`Error::Open`] when the directory cannot be created or read, or RocksDB fails
    /// otherwise; [`Error::UnsupportedLayout`]; [`Error::Storage`] when the catalog cannot be
    /// read. Every one of them names the path.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, Options::default())
    }

    /// Opens the database in directory `path` with `options`. Opening reads only the catalog:
    /// vector indexes are mapped lazily by the first query that needs them.
    ///
    /// # Errors
    /// As [`Database::open`]; read-only, as [`Database::open_read_only`].
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Database> {
        open::open_dir(path.as_ref(), options).map(|inner| Database { inner })
    }

    /// Opens the existing database in directory `path` read-only, even while another handle
    /// or process has it open for writing. Any number of read-only handles may be open.
    ///
    /// - Each statement sees the database as the writer last committed it: at its start the
    ///   handle catches up with the writer (a RocksDB secondary instance,
    ///   `try_catch_up_with_primary`), then reads a consistent state, committed statements
    ///   whole. [`Database::tables`], [`Database::index_status`] and the like show the state
    ///   as of the last statement.
    /// - Nothing is written to the directory: vector index files are mapped read-only; an
    ///   index that is stale or unsaved is caught up or built in memory only; a column with
    ///   no index is searched by exact distances.
    /// - Every write (`INSERT`, `UPDATE`, `DELETE`, `COPY`, `CREATE`, `DROP`, `CHECKPOINT`)
    ///   returns [`Error::ReadOnly`]; `SELECT`, `EXPLAIN`, `SHOW TABLES` and `SET` work.
    ///
    /// # Errors
    /// [`Error::NotADatabase`] when `path` is missing, empty or not a vectable database;
    /// [`Error::ReadOnly`] when the database's storage layout needs an upgrade (open it
    /// read-write once); otherwise as [`Database::open`] (but never [`Error::Locked`]).
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, Options::default().read_only(true))
    }

    /// Opens a new, empty database that lives in memory and is gone when the last clone of
    /// the handle is dropped: rows in RocksDB's in-memory environment, vector index files in
    /// a temporary directory that is removed then. [`Database::path`] is that directory.
    ///
    /// # Errors
    /// [`Error::Open`] when the temporary directory cannot be created.
    pub fn open_in_memory() -> Result<Database> {
        Database::open_in_memory_with(Options::default())
    }

    /// [`Database::open_in_memory`] with `options` (`read_only` and `create_in_non_empty`
    /// do not apply).
    ///
    /// # Errors
    /// As [`Database::open_in_memory`].
    pub fn open_in_memory_with(options: Options) -> Result<Database> {
        open::open_memory(options).map(|inner| Database { inner })
    }

    /// True for a handle from [`Database::open_read_only`] (or [`Options::read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// True for a database from [`Database::open_in_memory`].
    pub fn is_in_memory(&self) -> bool {
        self.inner.temp_dir.is_some()
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs one statement and returns the number of rows it inserted, updated, deleted or
    /// copied (0 for other statements; the row count for a `SELECT`).
    ///
    /// `params` binds `$1`, `$2`, …: `()`, a tuple, an array, or [`params!`](crate::params).
    ///
    /// A write that leaves vectors for an HNSW index may wait after it has committed (up to
    /// 1 s) while queries keep every core busy: see [`Options::index_write_share`].
    ///
    /// ```no_run
    /// # use vectable::{Database, params};
    /// # let db = Database::open("./data")?;
    /// db.execute("INSERT INTO docs (id, embedding) VALUES ($1, $2)", (7, vec![0.1f32, 0.2, 0.3]))?;
    /// db.execute("DELETE FROM docs WHERE id = $1", [7])?;
    /// # Ok::<(), vectable::Error>(())
    /// ```
    ///
    /// # Errors
    /// Any [`Error`] variant for the statement's failure; on error nothing was written.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<u64> {
        self.run(sql, params).map(Output::affected)
    }

    /// Runs one statement and returns its rows (empty for statements without rows). The
    /// whole result is computed and held in memory; [`Database::query_iter`] streams a large
    /// scan instead.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub fn query(&self, sql: &str, params: impl Params) -> Result<Rows> {
        self.run(sql, params).map(Output::rows)
    }

    /// Runs a query and maps its first row with `f`.
    ///
    /// # Errors
    /// [`Error::QueryReturnedNoRows`] when there is no row (see
    /// [`OptionalExtension`](crate::OptionalExtension)); otherwise as [`Database::execute`]
    /// or whatever `f` returns.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let rows = self.query(sql, params)?;
        let row = rows.get(0).ok_or(Error::QueryReturnedNoRows)?;
        f(row)
    }

    /// Runs several `;`-separated statements without parameters, stopping at the first error.
    ///
    /// # Errors
    /// The first statement's error; statements before it stay committed.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        for stmt in crate::sql::split_statements(sql) {
            self.run(&stmt, ())?;
        }
        Ok(())
    }

    /// Runs exactly one statement of any kind and returns its [`Output`].
    ///
    /// # Errors
    /// As [`Database::execute`]; [`Error::Parse`] when `sql` holds more than one statement.
    pub fn run(&self, sql: &str, params: impl Params) -> Result<Output> {
        let parsed = self.inner.statements.get(sql)?;
        self.run_prepared(&parsed, params)
    }

    /// Parses one statement into a [`Statement`] that runs it with parameters, as often as
    /// needed, without parsing it again. Binding and planning happen at each run, against the
    /// tables as they are then.
    ///
    /// ```
    /// # use vectable::{params, Database};
    /// # let dir = tempfile::tempdir()?;
    /// # let db = Database::open(dir.path())?;
    /// db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT)", ())?;
    /// let insert = db.prepare("INSERT INTO docs VALUES ($1, $2)")?;
    /// insert.execute(params![1, "red"])?;
    /// insert.execute(params![2, "green"])?;
    /// assert_eq!(db.query("SELECT * FROM docs", ())?.len(), 2);
    /// # Ok::<(), vectable::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Parse`] when `sql` does not parse or holds more or less than one statement.
    /// Unknown tables and other binding errors are reported when the statement runs.
    pub fn prepare(&self, sql: &str) -> Result<Statement> {
        let parsed = self.inner.statements.get(sql)?;
        Ok(Statement::new(self.clone(), parsed, sql))
    }

    /// Runs a parsed statement with `params` (after checking there are not too many).
    pub(crate) fn run_prepared(
        &self,
        parsed: &ParsedStatement,
        params: impl Params,
    ) -> Result<Output> {
        let params = checked_params(parsed, params)?;
        self.run_parsed(&parsed.parsed, &params)
    }

    /// Saves every vector index that changed since its last save, truncates their change
    /// logs, and flushes RocksDB's memtables. (`CHECKPOINT` in SQL.)
    ///
    /// # Errors
    /// [`Error::IndexFile`] when an index file cannot be written (its changes stay in the
    /// change log, so nothing is lost); [`Error::Storage`].
    pub fn checkpoint(&self) -> Result<()> {
        self.refuse_if_read_only("CHECKPOINT")?;
        let _w = self.inner.state.write();
        self.inner.vectors.checkpoint(&self.inner.store)?;
        self.inner.store.flush()
    }

    /// Status of every vector index: rows, memory, file size, and how it last came into
    /// memory (`built`, `mapped`, `caught-up`, `rebuilt`).
    pub fn index_status(&self) -> Vec<IndexStatus> {
        let _r = self.inner.state.read();
        self.inner.vectors.status()
    }

    /// Blocks until the background checks of every index file mapped or loaded so far have
    /// read their whole file and compared it with its checksum (see
    /// [`IndexStatus::file_check`]). Queries need not wait: until a check has finished they
    /// are answered from the file as mapped, and a failed check makes the next query rebuild
    /// the index from rows. Takes about as long as reading the files from disk.
    pub fn wait_for_index_checks(&self) {
        self.inner.vectors.wait_for_checks();
    }

    /// Waits until the background flushes of written vectors into their HNSW graphs have
    /// finished, and flushes what they left (see [`IndexStatus::tail_rows`]): a write
    /// statement returns once its rows are committed and searchable (a search compares the
    /// tail's vectors exhaustively), and the graph insert of a full tail (256 vectors) runs
    /// after it on a thread of its own. Afterwards each index's tail holds fewer than 256
    /// vectors. Queries need not wait; benchmarks that time writes including their graph work
    /// do.
    ///
    /// # Errors
    /// [`Error::VectorIndex`] when USearch fails to add (the vectors stay in the tail, where
    /// searches still find them).
    pub fn wait_for_tail_flushes(&self) -> Result<()> {
        self.inner.vectors.wait_for_flushes()
    }

    /// Schemas of all tables, sorted by name.
    pub fn tables(&self) -> Vec<TableSchema> {
        self.inner
            .state
            .read()
            .tables
            .values()
            .map(|e| e.schema.clone())
            .collect()
    }

    /// The schema of one table.
    pub fn table(&self, name: &str) -> Option<TableSchema> {
        lookup(&self.inner.state.read(), name)
            .ok()
            .map(|e| e.schema.clone())
    }

    /// The current `ef_search` of this database handle and its clones.
    pub fn ef_search(&self) -> usize {
        self.inner.ef_search.load(Ordering::Relaxed)
    }

    /// The current `SET filtered_knn` strategy (`auto` unless set).
    pub fn filtered_knn(&self) -> FilteredKnnSetting {
        match self.inner.filtered_knn.load(Ordering::Relaxed) {
            1 => FilteredKnnSetting::Exact,
            2 => FilteredKnnSetting::Index,
            _ => FilteredKnnSetting::Auto,
        }
    }

    /// A handle that cancels the statements running on this database (and its clones) from
    /// another thread; see [`InterruptHandle::interrupt`].
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle {
            running: self.inner.running.clone(),
        }
    }

    /// The current `statement_timeout` of this database handle and its clones (zero: none).
    /// Set by [`Options::statement_timeout`] and `SET statement_timeout`.
    pub fn statement_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.inner.statement_timeout_ms.load(Ordering::Relaxed))
    }

    /// The current [`Synchronous`](crate::Synchronous) level of this database handle and its
    /// clones: how durable each statement's commit is. Set by
    /// [`Options::synchronous`] (default `full`) and `SET synchronous`.
    pub fn synchronous(&self) -> crate::Synchronous {
        self.inner.store.synchronous()
    }

    /// The current `write_batch_rows` of this database handle and its clones: a `COPY`,
    /// `UPDATE` or `DELETE` over more rows is staged in chunks of this many rows (see
    /// [`Options::write_batch_rows`]). Set by `SET write_batch_rows = n`.
    pub fn write_batch_rows(&self) -> usize {
        self.inner.write_batch_rows.load(Ordering::Relaxed)
    }

    /// The current `index_write_share` of this database handle and its clones: the least
    /// share of the cores the graph inserts of written vectors may take while queries want
    /// every core (see [`Options::index_write_share`]). Set by `SET index_write_share = x`.
    pub fn index_write_share(&self) -> f64 {
        self.inner.vectors.pacer.share()
    }

    /// The secondary (B-tree) indexes of every table, with the table's schema, by table name
    /// then index id.
    pub fn secondary_indexes(&self) -> Vec<(TableSchema, SecondaryIndex)> {
        self.catalog(&self.inner.state.read()).secondary_indexes()
    }

    /// The catalog as the binders and the planner see it, under the caller's lock.
    fn catalog<'a>(&'a self, state: &'a State) -> CatalogView<'a> {
        CatalogView { db: self, state }
    }

    /// Runs one parsed statement (see [`Database::run_command`]), then saves (merges) the
    /// vector indexes its writes left past `checkpoint_changes` changes, holding the lock
    /// upgradable: other writers and schema statements wait, so nothing is published during
    /// the merge (saves beside other writers raced with background builds and evictions),
    /// and queries run on (on their snapshots and index views).
    fn run_parsed(&self, parsed: &Parsed, params: &[Value]) -> Result<Output> {
        let out = self.run_command(parsed, params);
        // Written vectors join their graphs here, outside the statement's lock; the writer
        // then waits while queries want the cores its graph work would take.
        self.inner.vectors.flush_tails();
        self.inner.vectors.pacer.pace();
        if self.inner.vectors.has_due_saves() {
            let _u = self.inner.state.upgradable_read();
            self.inner.vectors.save_due(&self.inner.store);
        }
        out
    }

    /// Runs one parsed statement: takes the lock it needs, binds it, runs it.
    fn run_command(&self, parsed: &Parsed, params: &[Value]) -> Result<Output> {
        let command = sql::command(parsed)?;
        if self.inner.read_only {
            if let Some(name) = open::write_name(&command) {
                self.refuse_if_read_only(name)?;
            }
            self.catch_up()?;
        }
        // Registered as running until it returns: `interrupt()` and the timeout reach it.
        let cancel = self.inner.running.start(self.statement_timeout());
        let cancel: &Cancel = &cancel;
        match command {
            Command::Checkpoint => {
                self.checkpoint()?;
                Ok(Output::Done("CHECKPOINT".into()))
            }
            Command::Select(q) if sql::load::file_source(q).is_some() => {
                let state = self.inner.state.read();
                self.select(&state, q, params, cancel).map(Output::Rows)
            }
            Command::Select(q) => self
                .planned(q, params, cancel, true, select::run)
                .map(Output::Rows),
            Command::Explain { query: q, analyze } => {
                let lines = self.planned(q, params, cancel, analyze, |plan, cx| {
                    if analyze {
                        explain::analyze(plan, q, cx)
                    } else {
                        Ok(explain::explain(plan, q, cx))
                    }
                })?;
                Ok(Output::Rows(Rows::new(
                    vec!["plan".into()],
                    lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
                )))
            }
            Command::ShowTables => {
                let state = self.inner.state.read();
                let rows = state
                    .tables
                    .keys()
                    .map(|n| vec![Value::Text(n.clone())])
                    .collect();
                Ok(Output::Rows(Rows::new(vec!["name".into()], rows)))
            }
            Command::Set(set) => match bind_set(set, params)? {
                Setting::EfSearch(n) => {
                    self.inner.ef_search.store(n, Ordering::Relaxed);
                    Ok(Output::Done("SET".into()))
                }
                Setting::StatementTimeout(d) => {
                    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                    self.inner.statement_timeout_ms.store(ms, Ordering::Relaxed);
                    Ok(Output::Done("SET".into()))
                }
                Setting::Synchronous(level) => {
                    self.inner.store.set_synchronous(level);
                    Ok(Output::Done("SET".into()))
                }
                Setting::WriteBatchRows(n) => {
                    self.inner.write_batch_rows.store(n, Ordering::Relaxed);
                    Ok(Output::Done("SET".into()))
                }
                Setting::FilteredKnn(f) => {
                    let code = match f {
                        FilteredKnnSetting::Exact => 1,
                        FilteredKnnSetting::Index => 2,
                        _ => 0,
                    };
                    self.inner.filtered_knn.store(code, Ordering::Relaxed);
                    Ok(Output::Done("SET".into()))
                }
                Setting::IndexBuildWait(on) => {
                    self.inner.index_build_wait.store(on, Ordering::Relaxed);
                    Ok(Output::Done("SET".into()))
                }
                Setting::IndexWriteShare(share) => {
                    self.inner.vectors.pacer.set_share(share);
                    Ok(Output::Done("SET".into()))
                }
            },
            Command::CreateTable(ct) if ct.query.is_some() => {
                self.create_table_as(ct, params, cancel)
            }
            Command::CreateTable(ct) => {
                let mut state = self.inner.state.write();
                // `None`: IF NOT EXISTS, and it exists.
                let bound = ddl::bind_create_table(ct, &self.catalog(&state))?;
                if let Some(ct) = bound {
                    self.create_table(&mut state, ct)?;
                }
                Ok(Output::Done("CREATE TABLE".into()))
            }
            Command::DropTable { names, if_exists } => {
                let mut state = self.inner.state.write();
                let keys = ddl::bind_drop_tables(names, if_exists, &self.catalog(&state))?;
                for key in keys {
                    // A table listed twice is dropped once.
                    let Some((id, indexes)) = state
                        .tables
                        .get(&key)
                        .map(|e| (e.schema.id, e.indexes.clone()))
                    else {
                        continue;
                    };
                    self.inner.vectors.forget_table(&self.inner.store, id)?;
                    let mut batch = self.inner.store.batch();
                    batch.drop_table(id, &indexes);
                    self.inner.store.write(batch)?;
                    state.tables.remove(&key);
                }
                Ok(Output::Done("DROP TABLE".into()))
            }
            Command::DropIndex { names, if_exists } => {
                let mut state = self.inner.state.write();
                let drop = ddl::bind_drop_indexes(names, if_exists, &self.catalog(&state))?;
                for key in drop.vector {
                    self.inner.vectors.forget(&self.inner.store, key)?;
                }
                if !drop.secondary.is_empty() {
                    let mut batch = self.inner.store.batch();
                    for (_, s) in &drop.secondary {
                        batch.drop_sindex(s);
                    }
                    self.inner.store.write(batch)?;
                    for (table, s) in drop.secondary {
                        if let Some(e) = state.tables.get_mut(&table) {
                            e.indexes.retain(|x| x.id != s.id);
                        }
                    }
                }
                Ok(Output::Done("DROP INDEX".into()))
            }
            Command::CreateIndex(ci) => {
                let mut state = self.inner.state.write();
                // `None`: IF NOT EXISTS, and it exists.
                match ddl::bind_create_index(ci, &self.catalog(&state))? {
                    None => {}
                    // Built without the lock: reads and writes proceed meanwhile.
                    Some(NewIndex::Hnsw(meta)) => self.create_vector_index(state, meta, cancel)?,
                    Some(NewIndex::BTree {
                        table,
                        name,
                        columns,
                        unique,
                    }) => {
                        let entry = lookup_mut(&mut state, &table)?;
                        let index = SecondaryIndex {
                            name,
                            id: entry.indexes.iter().map(|s| s.id).max().unwrap_or(0) + 1,
                            table_id: entry.schema.id,
                            columns,
                            unique,
                        };
                        write::create_index(
                            &self.inner.store,
                            entry,
                            index,
                            self.inner.progress.as_ref(),
                            cancel,
                        )?;
                    }
                }
                Ok(Output::Done("CREATE INDEX".into()))
            }
            Command::Insert(ins) if sql::load::insert_file_source(ins).is_some() => {
                let path = sql::load::insert_file_source(ins).unwrap_or_default();
                self.insert_from_file(ins, path, params, cancel)
            }
            // Writes prepare under the upgradable read lock (readers run, other writers wait)
            // and publish under the exclusive one (`db::publish`).
            Command::Insert(ins) => {
                let state = self.inner.state.upgradable_read();
                let bound = {
                    let sub = |q: &Query| self.subquery(&state, q, params, cancel);
                    dml::bind_insert(ins, &self.catalog(&state), params, &sub)?
                };
                let (key, rows) = bound.into_rows(|s| self.run_select(&state, s, cancel))?;
                let (mut entry, publish) = self.for_write(state, &key)?;
                let n = write::insert_rows(
                    &self.inner.store,
                    &self.inner.vectors,
                    &mut entry,
                    rows,
                    self.inner.progress.as_ref(),
                    &publish,
                    cancel,
                )?;
                Ok(Output::Affected(n))
            }
            Command::Update(up) => {
                let state = self.inner.state.upgradable_read();
                let bound = {
                    let sub = |q: &Query| self.subquery(&state, q, params, cancel);
                    dml::bind_update(up, &self.catalog(&state), params, &sub)?
                };
                let source = self.write_source(&state, &bound.table.name, bound.filter.as_ref())?;
                let (mut entry, publish) = self.for_write(state, &bound.table.name)?;
                let n = write::update(
                    &self.inner.store,
                    &self.inner.vectors,
                    &mut entry,
                    &bound.assignments,
                    bound.filter.as_ref(),
                    &source,
                    self.write_batch_rows(),
                    &publish,
                    cancel,
                )?;
                Ok(Output::Affected(n))
            }
            Command::Delete(del) => {
                let state = self.inner.state.upgradable_read();
                let bound = {
                    let sub = |q: &Query| self.subquery(&state, q, params, cancel);
                    dml::bind_delete(del, &self.catalog(&state), params, &sub)?
                };
                let source = self.write_source(&state, &bound.table.name, bound.filter.as_ref())?;
                let (mut entry, publish) = self.for_write(state, &bound.table.name)?;
                let n = write::delete(
                    &self.inner.store,
                    &self.inner.vectors,
                    &mut entry,
                    bound.filter.as_ref(),
                    &source,
                    self.write_batch_rows(),
                    &publish,
                    cancel,
                )?;
                Ok(Output::Affected(n))
            }
            Command::AlterTable(at) => {
                let mut state = self.inner.state.write();
                let bound = alter::bind_alter_table(at, &self.catalog(&state))?;
                if let Some(bound) = bound {
                    exec_alter::alter_table(
                        &self.inner.store,
                        &self.inner.vectors,
                        &mut state.tables,
                        bound,
                    )?;
                }
                Ok(Output::Done("ALTER TABLE".into()))
            }
            Command::Vacuum(name) => {
                let state = self.inner.state.write();
                let keys: Vec<String> = match name {
                    Some(name) => {
                        let name = sql::bind::object_name(name)?;
                        lookup(&state, &name)?;
                        vec![name]
                    }
                    None => state.tables.keys().cloned().collect(),
                };
                for key in keys {
                    let entry = lookup(&state, &key)?;
                    self.inner.vectors.vacuum(
                        &self.inner.store,
                        &entry.schema,
                        entry.counters.seq,
                        cancel,
                    )?;
                    self.inner.store.compact_table(entry.schema.id)?;
                }
                Ok(Output::Done("VACUUM".into()))
            }
            Command::Describe(name) => {
                let state = self.inner.state.read();
                let entry = lookup(&state, &sql::bind::object_name(name)?)?;
                Ok(Output::Rows(exec_alter::describe(
                    entry,
                    &self.inner.vectors,
                )))
            }
            Command::Copy(c) => {
                let state = self.inner.state.upgradable_read();
                let c = bind_copy(&c, &self.catalog(&state))?;
                let reader =
                    copy::RowReader::open(&c.path, &c.format, &c.table, c.columns.as_deref())?;
                let chunk_rows = self.write_batch_rows();
                let (mut entry, publish) = self.for_write(state, &c.table.name)?;
                let n = bulk::copy(
                    &self.inner.store,
                    &self.inner.vectors,
                    &mut entry,
                    reader,
                    chunk_rows,
                    self.inner.progress.as_ref(),
                    &publish,
                    cancel,
                )?;
                Ok(Output::Affected(n))
            }
        }
    }

    fn exec_ctx<'a>(
        &'a self,
        state: &State,
        table: Option<&TableSchema>,
        cancel: &'a Cancel,
    ) -> ExecCtx<'a> {
        let entry = table.and_then(|t| state.tables.get(&t.name));
        let counters = entry.map(|e| e.counters).unwrap_or_default();
        ExecCtx {
            store: &self.inner.store,
            reads: self.inner.store.reads(),
            vectors: &self.inner.vectors,
            counters,
            ef_search: self.ef_search(),
            exact_threshold: self.inner.exact_threshold,
            stats: None,
            candidates: &self.inner.candidates,
            generation: entry.map_or(0, |e| e.generation),
            cancel,
            acquired: None,
        }
    }

    /// The access path of an `UPDATE` or `DELETE` of the table `key` (a catalog name).
    fn write_source(&self, state: &State, key: &str, filter: Option<&Expr>) -> Result<RowSource> {
        let entry = lookup(state, key)?;
        access_path::choose_source(
            &entry.schema,
            &entry.indexes,
            filter,
            entry.counters.rows,
            &self.catalog(state),
        )
    }

    /// Binds and plans a query.
    fn plan(
        &self,
        state: &State,
        q: &Query,
        params: &[Value],
        cancel: &Cancel,
    ) -> Result<SelectPlan> {
        if let Some(path) = sql::load::file_source(q) {
            return Err(Error::unsupported(format!(
                "EXPLAIN of a query over the file '{path}'"
            )));
        }
        let sub = |q: &Query| self.subquery(state, q, params, cancel);
        let bound = bind_select(q, &self.catalog(state), params, &sub)?;
        plan::plan_select(bound, &self.catalog(state))
    }

    /// Plans and runs a bound query.
    fn run_select(&self, state: &State, bound: BoundSelect, cancel: &Cancel) -> Result<Rows> {
        let plan = plan::plan_select(bound, &self.catalog(state))?;
        let cx = self.exec_ctx(state, plan.table.as_ref(), cancel);
        select::run(&plan, &cx)
    }

    /// Binds, plans and runs a query.
    fn select(&self, state: &State, q: &Query, params: &[Value], cancel: &Cancel) -> Result<Rows> {
        if let Some(path) = sql::load::file_source(q) {
            return self
                .select_file(state, q, params, path, cancel)
                .map(|(rows, _)| rows);
        }
        let plan = self.plan(state, q, params, cancel)?;
        let cx = self.exec_ctx(state, plan.table.as_ref(), cancel);
        select::run(&plan, &cx)
    }

    /// A scalar subquery: one column, at most one row (none is NULL).
    fn subquery(
        &self,
        state: &State,
        q: &Query,
        params: &[Value],
        cancel: &Cancel,
    ) -> Result<Value> {
        let rows = self.select(state, q, params, cancel)?;
        if rows.columns().len() != 1 {
            return Err(Error::invalid(format!(
                "a scalar subquery returns one column, this one returns {}",
                rows.columns().len()
            )));
        }
        match rows.len() {
            0 => Ok(Value::Null),
            1 => Ok(rows.values()[0][0].clone()),
            n => Err(Error::invalid(format!(
                "a scalar subquery returned {n} rows, expected at most one"
            ))),
        }
    }

    /// Writes a new table's schema and counters.
    fn create_table(&self, state: &mut State, ct: CreateTable) -> Result<()> {
        let id = state.next_table_id;
        let schema = TableSchema {
            id,
            name: ct.name.clone(),
            columns: ct.columns,
            primary_key: ct.primary_key,
            extras: ct.extras,
        };
        let counters = Counters::default();
        let mut batch = self.inner.store.batch();
        batch.create_table(&schema, &counters, id + 1)?;
        self.inner.store.write(batch)?;
        state.next_table_id = id + 1;
        state.tables.insert(
            ct.name,
            TableEntry {
                schema,
                counters,
                indexes: Vec::new(),
                generation: 0,
            },
        );
        Ok(())
    }

    /// Inserts rows already converted to the table's column types (INSERT and COPY).
    fn insert_rows(
        &self,
        state: &mut State,
        key: &str,
        rows: Vec<Vec<Value>>,
        cancel: &Cancel,
    ) -> Result<Output> {
        let entry = lookup_mut(state, key)?;
        let n = write::insert_rows(
            &self.inner.store,
            &self.inner.vectors,
            entry,
            rows,
            self.inner.progress.as_ref(),
            &Locked(&self.inner.store),
            cancel,
        )?;
        Ok(Output::Affected(n))
    }

    /// The statement's copy of table `name`'s entry, and the [`Publisher`] that will commit
    /// it, holding the upgradable lock `state` from here on.
    fn for_write<'a>(
        &'a self,
        state: parking_lot::RwLockUpgradableReadGuard<'a, State>,
        name: &str,
    ) -> Result<(TableEntry, Publisher<'a>)> {
        let entry = lookup(&state, name)?.clone();
        let key = entry.schema.name.clone();
        Ok((entry, Publisher::new(&self.inner.store, state, key)))
    }
}

/// The tables of a catalog as read from the store.
fn table_entries(
    tables: Vec<(TableSchema, Counters)>,
    mut secondary: Vec<SecondaryIndex>,
) -> BTreeMap<String, TableEntry> {
    secondary.sort_by_key(|s| s.id);
    tables
        .into_iter()
        .map(|(schema, counters)| {
            let indexes = secondary
                .iter()
                .filter(|s| s.table_id == schema.id)
                .cloned()
                .collect();
            (
                schema.name.clone(),
                TableEntry {
                    schema,
                    counters,
                    indexes,
                    generation: 0,
                },
            )
        })
        .collect()
}

/// The values of `params` for `parsed`, each converted by [`crate::ToValue::to_param`],
/// after checking there are not more than the statement uses.
fn checked_params(parsed: &ParsedStatement, params: impl Params) -> Result<Vec<Value>> {
    let params = params.try_into_values()?;
    let used = parsed.params;
    if params.len() > used {
        return Err(Error::Parameter(format!(
            "{} parameter(s) were given but the statement uses {used}",
            params.len()
        )));
    }
    Ok(params)
}

/// The entry of the table whose catalog name is `key` (as a binder returned it).
fn lookup_mut<'s>(state: &'s mut State, key: &str) -> Result<&'s mut TableEntry> {
    state
        .tables
        .get_mut(key)
        .ok_or_else(|| Error::NoSuchTable(key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn database_is_send_sync_clone() {
        assert_send_sync::<Database>();
        assert_send_sync::<Statement>();
    }
}
