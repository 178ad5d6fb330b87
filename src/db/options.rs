//! [`Options`]: the settings of [`Database::open_with`](crate::Database::open_with).

use std::sync::Arc;

use crate::sql::set::MAX_EF_SEARCH;
use crate::storage::Synchronous;
use crate::vector::{Progress, ProgressFn};
#[cfg(doc)]
use crate::Database;

/// Settings for [`Database::open_with`].
///
/// ## Defaults
/// - `index_cache_capacity`: 16 indexes
/// - `ef_search`: 64
/// - `checkpoint_changes`: 10,000 changes
/// - `build_threads`: the number of available cores
/// - `exact_search_threshold`: 2,000 vectors
/// - `statement_cache_capacity`: 64 statements
/// - `on_progress`: none
/// - `read_only`: false
/// - `create_in_non_empty`: false
/// - `statement_timeout`: none (zero)
/// - `auto_vacuum`: 0.2 (rebuild a vector index when a fifth of its vectors are tombstones)
/// - `synchronous`: [`Synchronous::Full`]
/// - `index_build_wait`: true (a kNN query waits for its column's index build)
/// - `write_batch_rows`: 2,000 rows
/// - `index_write_share`: 0.025 (while queries want every core, the graph inserts of written
///   vectors get at least 2.5% of the cores)
#[derive(Clone)]
pub struct Options {
    pub(crate) index_cache_capacity: usize,
    pub(crate) ef_search: usize,
    pub(crate) checkpoint_changes: u64,
    pub(crate) build_threads: usize,
    pub(crate) exact_search_threshold: usize,
    pub(crate) statement_cache_capacity: usize,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) read_only: bool,
    pub(crate) create_in_non_empty: bool,
    pub(crate) statement_timeout: std::time::Duration,
    pub(crate) auto_vacuum: f64,
    pub(crate) synchronous: Synchronous,
    pub(crate) index_build_wait: bool,
    pub(crate) write_batch_rows: usize,
    pub(crate) index_write_share: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            index_cache_capacity: 16,
            ef_search: 64,
            checkpoint_changes: 10_000,
            build_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            exact_search_threshold: 2_000,
            statement_cache_capacity: 64,
            progress: None,
            read_only: false,
            create_in_non_empty: false,
            statement_timeout: std::time::Duration::ZERO,
            auto_vacuum: 0.2,
            synchronous: Synchronous::default(),
            index_build_wait: true,
            write_batch_rows: 2_000,
            index_write_share: crate::vector::pacing::DEFAULT_INDEX_WRITE_SHARE,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("index_cache_capacity", &self.index_cache_capacity)
            .field("ef_search", &self.ef_search)
            .field("checkpoint_changes", &self.checkpoint_changes)
            .field("build_threads", &self.build_threads)
            .field("auto_vacuum", &self.auto_vacuum)
            .field("exact_search_threshold", &self.exact_search_threshold)
            .field("statement_cache_capacity", &self.statement_cache_capacity)
            .field("on_progress", &self.progress.is_some())
            .field("read_only", &self.read_only)
            .field("create_in_non_empty", &self.create_in_non_empty)
            .field("statement_timeout", &self.statement_timeout)
            .field("synchronous", &self.synchronous)
            .field("index_build_wait", &self.index_build_wait)
            .field("write_batch_rows", &self.write_batch_rows)
            .field("index_write_share", &self.index_write_share)
            .finish()
    }
}

impl Options {
    /// The defaults listed on [`Options`].
    pub fn new() -> Options {
        Options::default()
    }

    /// How many vector indexes stay in memory at once (a count of indexes, not bytes; at
    /// least 1). When a new one is needed, the least recently used is saved if dirty and
    /// then dropped from memory; its next use maps it back.
    pub fn index_cache_capacity(mut self, n: usize) -> Options {
        self.index_cache_capacity = n.max(1);
        self
    }

    /// Initial `ef_search` (USearch `expansion_search`, the candidate list size of an HNSW
    /// search), 1 to 10,000; `SET ef_search = n` changes it later. Larger is slower and more
    /// accurate.
    pub fn ef_search(mut self, n: usize) -> Options {
        self.ef_search = n.clamp(1, MAX_EF_SEARCH);
        self
    }

    /// Save a dirty index after this many changes to it (inserted, updated or deleted
    /// vectors). Between saves, changes are kept in the change log, so nothing is lost.
    pub fn checkpoint_changes(mut self, n: u64) -> Options {
        self.checkpoint_changes = n.max(1);
        self
    }

    /// Threads adding vectors while an index is built.
    pub fn build_threads(mut self, n: usize) -> Options {
        self.build_threads = n.max(1);
        self
    }

    /// A kNN query on an index holding at most this many vectors searches it exhaustively
    /// (USearch `exact_search`) instead of through its HNSW graph: at that size it costs about
    /// the same and cannot miss a row. 0 sends every index kNN query through the graph.
    /// (A kNN query with a `WHERE` never uses the index: it computes exact distances over the
    /// matching rows while the scan evaluates the filter.)
    pub fn exact_search_threshold(mut self, n: usize) -> Options {
        self.exact_search_threshold = n;
        self
    }

    /// How many parsed statements [`Database::run`], [`execute`](Database::execute),
    /// [`query`](Database::query), [`query_row`](Database::query_row) and
    /// [`prepare`](Database::prepare) keep, by SQL text, so that running the same text again
    /// does not parse it again (each run still binds and plans it with its parameters). The
    /// least recently used goes first; statements over 16 KiB of text are never kept. 0
    /// disables the cache.
    pub fn statement_cache_capacity(mut self, n: usize) -> Options {
        self.statement_cache_capacity = n;
        self
    }

    /// Whether a kNN query on a column whose index is being built (lazily, or by `CREATE
    /// INDEX`) waits for the build (`true`, the default) or computes exact distances over the
    /// rows meanwhile (`false`). Either way no database lock is held during the build or the
    /// wait: writers and other queries proceed. `SET index_build_wait = on | off` changes it
    /// later. See the README's "Index builds".
    pub fn index_build_wait(mut self, wait: bool) -> Options {
        self.index_build_wait = wait;
        self
    }

    /// Opens the database read-only, as [`Database::open_read_only`] does: while another
    /// handle or process holds it open for writing, and without writing anything.
    pub fn read_only(mut self, yes: bool) -> Options {
        self.read_only = yes;
        self
    }

    /// Creates a new database even in a directory that holds other files (never in place of
    /// a vectable database: an existing one is opened). Without it, [`Database::open`]
    /// creates a database only in a missing or empty directory and returns
    /// [`Error::NotADatabase`](crate::Error::NotADatabase) for a directory holding other files.
    /// The database takes the entries `db/` and `vectors/` of the directory. (`vectable --create`.)
    pub fn create_in_non_empty(mut self, yes: bool) -> Options {
        self.create_in_non_empty = yes;
        self
    }

    /// Cancels a statement that runs longer than `timeout` with [`Error::Interrupted`]
    /// ([`InterruptReason::Timeout`]); it writes nothing. Zero (the default) disables the
    /// timeout. Measured from the start of the statement, waiting for the lock included, and
    /// checked every 1,024 rows or one chunk of an index build, so a statement may run a few
    /// milliseconds past it. `SET statement_timeout = '5s'` changes it later (an integer is
    /// milliseconds; units `ms`, `s`, `min`, `h`; `0` disables).
    ///
    /// [`Error::Interrupted`]: crate::Error::Interrupted
    /// [`InterruptReason::Timeout`]: crate::InterruptReason::Timeout
    pub fn statement_timeout(mut self, timeout: std::time::Duration) -> Options {
        self.statement_timeout = timeout;
        self
    }

    /// Rebuilds a vector index from rows, in the background (a build from a snapshot that
    /// replaces the index when done), once a write leaves `fraction` of the vectors in its
    /// graph tombstones (deleted rows and overwritten vectors, which searches skip; see
    /// `VACUUM` in the README). Default 0.2; `1.0` or more turns automatic
    /// rebuilds off (`VACUUM` still rebuilds). A NaN or negative fraction is taken as the
    /// default.
    pub fn auto_vacuum(mut self, fraction: f64) -> Options {
        self.auto_vacuum = if fraction.is_nan() || fraction < 0.0 {
            0.2
        } else {
            fraction
        };
        self
    }

    /// How durable each statement's commit is (see [`Synchronous`] for what each level
    /// guarantees and costs): [`Synchronous::Full`] (the default) syncs the write-ahead log at
    /// every commit, so an acknowledged statement survives a power loss; `Normal` leaves the
    /// sync to the OS (a process crash loses nothing, a power loss may lose the last
    /// statements); `Off` also skips the fsync of index files, for bulk loads. `SET
    /// synchronous = full | normal | off` changes it later.
    pub fn synchronous(mut self, level: Synchronous) -> Options {
        self.synchronous = level;
        self
    }

    /// The most rows a `COPY`, `UPDATE` or `DELETE` writes in one RocksDB `WriteBatch` (a
    /// count of rows, at least 1; default 2,000).
    ///
    /// - A statement of at most `n` rows is one `WriteBatch`.
    /// - A bigger one reads, checks and stages its rows in chunks of `n`, writes a commit
    ///   record, then applies the chunks one `WriteBatch` each. It stays all-or-nothing (an
    ///   error, an interrupt or a crash before the commit record leaves the table as it was; a
    ///   crash after it is finished at the next open), and its memory is bounded by the chunk
    ///   (about `n` × the row size: 3 MB of vectors per chunk of 2,000 `VECTOR(384)` rows)
    ///   plus RocksDB's write buffers. See the README's "COPY, UPDATE and DELETE at any size".
    ///
    /// Larger chunks cost memory; much smaller ones cost a write per chunk. `SET
    /// write_batch_rows = n` changes it later.
    pub fn write_batch_rows(mut self, n: usize) -> Options {
        self.write_batch_rows = n.max(1);
        self
    }

    /// Readers first: while queries run, the HNSW inserts that written vectors cost
    /// (about 0.7 ms of a core each at 384 dimensions and `ef_construction` 128, run by a
    /// background flush) may take the cores the queries leave, and at least `share` of all
    /// cores (a fraction, greater than 0 and at most 1; default 0.025). A write statement that
    /// leaves more graph work than that budget waits after it has committed (its rows are
    /// visible and durable meanwhile), at most 1 s per statement; with no query running no
    /// writer waits. `1` turns the pacing off: writers then run as fast as they can and take
    /// the cores from queries. A NaN is taken as the default; values outside (0, 1] are
    /// clamped. `SET index_write_share = x` changes it later. See the README's "Locking".
    pub fn index_write_share(mut self, share: f64) -> Options {
        // Clamped (and a NaN replaced) where it is applied: `Pacer::set_share`.
        self.index_write_share = share;
        self
    }

    /// Calls `f` while an index is built or rows are imported (`COPY`): first with
    /// `done == 0`, last with `done == total`.
    pub fn on_progress(mut self, f: impl Fn(&Progress<'_>) + Send + Sync + 'static) -> Options {
        self.progress = Some(Arc::new(f));
        self
    }
}
