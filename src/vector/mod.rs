//! The vector-index lifecycle: build, cache, save, map, catch up.
//!
//! Every `VECTOR(n)` column can have one HNSW index (USearch), described by an
//! [`IndexMeta`] in the catalog and stored in `<dir>/vectors/<table>_<column>.usearch`.
//! An index comes into memory in one of four ways, reported by [`LoadEvent`]:
//!
//! - **built**: the first kNN query on a column with no index (or `CREATE INDEX`) scans the
//!   rows, adds their vectors with `reserve` + parallel `add`, and saves the file;
//! - **mapped**: on the first query after a restart, a saved file whose size, fingerprint and
//!   USearch header match the catalog is memory-mapped (`Index::view`); no row is read. A
//!   thread then reads the whole file once and compares it with the CRC-32 the save wrote at
//!   its end (see [`check`]); until it has finished, answers come from the file as mapped,
//!   and if it fails, the next query rebuilds the index;
//! - **caught-up**: as mapped, but the change log has entries newer than the file (the process
//!   stopped before the next save): those rows are re-read into the delta beside the mapped
//!   file;
//! - **rebuilt**: the file is missing, truncated, damaged or disagrees with the catalog: the
//!   index is built from rows again and a warning is logged. The rows are the truth; answers
//!   never depend on the file being intact.
//!
//! Writes keep cached indexes current without copying a mapped one: new vectors go to a tail
//! that searches compare exhaustively, then (in the background, 1,024 at a time) to a delta
//! graph beside it, and old ones become tombstones (see [`live`]); each write appends to the
//! change log in the statement's batch. A dirty index is saved on `CHECKPOINT`, when it is evicted from
//! the LRU cache, when the database is closed, and after `Options::checkpoint_changes` changes
//! (after the statement); saving a mapped index with a delta merges them into a new file. A
//! save writes a temporary file in `<dir>/vectors/`, fsyncs it, renames it over the old file,
//! and then records the new [`SavedIndex`] and truncates the change log in one batch.
//! `VACUUM` (and a write that leaves a fifth of an index tombstoned, in the background)
//! rebuilds from rows.
//!
//! The module's parts: [`cache`] (the manager: metadata, the LRU cache of loaded indexes,
//! status), [`lifecycle`] (acquire: map, catch up or build; apply writes; save; checkpoint),
//! [`live`] (an index in memory and its searches), [`file`] (the file format: save stamp,
//! checksum trailer, temporary files), [`repair`] (the connectivity check after a build),
//! [`check`] (the background whole-file checksum check) and [`pacing`] (how long a writer
//! waits for its graph inserts while queries want the cores).

pub(crate) mod build;
pub(crate) mod cache;
pub(crate) mod check;
pub(crate) mod distance;
pub(crate) mod file;
pub(crate) mod lifecycle;
pub(crate) mod live;
pub(crate) mod pacing;
pub(crate) mod repair;

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Instant;

use usearch::{IndexOptions, MetricKind, ScalarKind};

use crate::catalog::{IndexMeta, Metric, Quantization};
use crate::error::Error;
pub use build::BuildProgress;
pub(crate) use cache::VectorIndexes;
pub use check::FileCheck;
/// How an index came into memory the last time (see the module docs).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LoadEvent {
    /// Not in memory since the database was opened.
    NotLoaded,
    /// Built from rows because it did not exist yet; `ms` is scan + build + save time.
    Built {
        /// Milliseconds.
        ms: f64,
    },
    /// Memory-mapped from its file; no row was read.
    Mapped {
        /// Milliseconds from the first query's request to a searchable index.
        ms: f64,
    },
    /// Loaded from its file and brought up to date with `changes` change-log entries.
    CaughtUp {
        /// Change-log entries applied.
        changes: u64,
        /// Milliseconds.
        ms: f64,
    },
    /// Built from rows again because the file could not be used.
    Rebuilt {
        /// Why the file was not used.
        reason: String,
        /// Milliseconds.
        ms: f64,
    },
}

impl LoadEvent {
    /// `not loaded`, `built`, `mapped`, `caught-up` or `rebuilt`.
    pub fn kind(&self) -> &'static str {
        match self {
            LoadEvent::NotLoaded => "not loaded",
            LoadEvent::Built { .. } => "built",
            LoadEvent::Mapped { .. } => "mapped",
            LoadEvent::CaughtUp { .. } => "caught-up",
            LoadEvent::Rebuilt { .. } => "rebuilt",
        }
    }
}

impl fmt::Display for LoadEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadEvent::NotLoaded => f.write_str("not loaded"),
            LoadEvent::Built { ms } => write!(f, "built ({ms:.1} ms)"),
            LoadEvent::Mapped { ms } => write!(f, "mapped ({ms:.1} ms)"),
            LoadEvent::CaughtUp { changes, ms } => {
                write!(f, "caught-up ({changes} changes, {ms:.1} ms)")
            }
            LoadEvent::Rebuilt { reason, ms } => write!(f, "rebuilt ({reason}; {ms:.1} ms)"),
        }
    }
}

/// One row of [`Database::index_status`](crate::Database::index_status).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IndexStatus {
    /// Index name.
    pub name: String,
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
    /// Distance metric.
    pub metric: Metric,
    /// Vector dimensions.
    pub dims: usize,
    /// HNSW `m` (connectivity).
    pub m: usize,
    /// HNSW `ef_construction` (expansion on add).
    pub ef_construction: usize,
    /// Vector storage inside the index.
    pub quantization: Quantization,
    /// Created by `CREATE INDEX` (true) or lazily by a query (false).
    pub explicit: bool,
    /// Vectors a search can return (tombstones excluded): of the index in memory, or of the
    /// saved file when not loaded.
    pub rows: u64,
    /// Bytes of memory the loaded index uses (USearch `memory_usage`); 0 when not loaded.
    pub memory_bytes: u64,
    /// Size of the saved file in bytes, if it has been saved.
    pub file_bytes: Option<u64>,
    /// How it came into memory the last time.
    pub last_load: LoadEvent,
    /// Changes applied in memory since the last save.
    pub dirty_changes: u64,
    /// True when the index is a read-only memory map of its file.
    pub mapped: bool,
    /// Vectors no graph search can reach, which every search compares with the query
    /// exactly (see the README's "Graph repair"); 0 when not loaded.
    pub unreachable: u64,
    /// The background check of the whole file's checksum, for an index mapped or loaded
    /// from its file ([`FileCheck::NotApplicable`] when not loaded or built from rows).
    pub file_check: FileCheck,
    /// Vectors written since the base was saved (beside a mapped base: the delta, tombstoned
    /// ones included) or not yet in a graph (the tail, compared exhaustively by searches);
    /// merged into a new base by the next save. 0 when not loaded.
    pub delta_rows: u64,
    /// Of [`IndexStatus::delta_rows`], the vectors not yet in a graph (the *tail*): written by
    /// statements since the last flush, compared exhaustively by every search until a
    /// background flush (started by the write that brings the tail to 1,024 vectors) adds them
    /// to the graph, or a save does.
    pub tail_rows: u64,
    /// Deleted or superseded vectors still in the graph, filtered out of every search, until
    /// `VACUUM` rebuilds the index. 0 when not loaded.
    pub tombstones: u64,
    /// The progress of the build running now (lazy or `CREATE INDEX`), if any: until it is
    /// published, kNN queries on the column compute exact distances or wait for it (`SET
    /// index_build_wait`).
    pub build: Option<BuildProgress>,
}

/// Progress report of a long operation (index build, import), for
/// [`Options::on_progress`](crate::Options::on_progress).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// What is being done, e.g. `building index packages.embedding`.
    pub task: &'a str,
    /// Units done (vectors or rows).
    pub done: u64,
    /// Units in all; `done == total` is the last report of a task.
    pub total: u64,
}

/// The callback type of [`Options::on_progress`](crate::Options::on_progress).
pub type ProgressFn = Arc<dyn Fn(&Progress<'_>) + Send + Sync>;

/// Settings of the index manager (from [`Options`](crate::Options)).
#[derive(Clone)]
pub(crate) struct VectorConfig {
    pub cache_capacity: usize,
    pub checkpoint_changes: u64,
    pub build_threads: usize,
    pub progress: Option<ProgressFn>,
    /// A read-only database: indexes are mapped, caught up and built in memory only; no
    /// `.usearch` file and no index metadata is ever written.
    pub read_only: bool,
    /// Rebuild an index when this fraction of its base's vectors are tombstones.
    pub auto_vacuum: f64,
    /// The least share of the cores written vectors' graph inserts may take while queries
    /// want every core (see [`pacing`]).
    pub index_write_share: f64,
}

type Key = (u64, usize);

/// One change to apply to cached indexes after a statement committed.
pub(crate) struct VectorChange<'a> {
    pub column: usize,
    pub rowid: u64,
    /// The new vector, or `None` when the row was deleted or its vector set to NULL.
    pub vector: Option<&'a [f32]>,
}

/// How much a background flush lowers its thread's CPU priority (Linux `nice` steps).
const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority by [`BACKGROUND_NICE`] (Linux: `setpriority` on
/// the thread's id, which affects that thread and the threads it starts; elsewhere a no-op),
/// for index maintenance beside queries: the queries get the cores first, and the
/// maintenance takes what they leave (RocksDB's `Env::LowerThreadPoolCPUPriority` does the
/// same for its compactions). The priority cannot be raised back without privileges: call
/// it on threads made for the work.
pub(crate) fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid`, `getpriority` and `setpriority` take plain integers and touch no
    // memory of ours.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, (now + BACKGROUND_NICE).min(19));
    }
}

/// CPU time the calling thread has used (Linux `CLOCK_THREAD_CPUTIME_ID`); `None` elsewhere.
pub(crate) fn thread_cpu_time() -> Option<std::time::Duration> {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `clock_gettime` writes one `timespec` we own.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return Some(std::time::Duration::new(
                u64::try_from(ts.tv_sec).unwrap_or(0),
                u32::try_from(ts.tv_nsec).unwrap_or(0),
            ));
        }
        None
    }
    #[cfg(not(target_os = "linux"))]
    None
}

fn search_threads() -> usize {
    std::thread::available_parallelism()
        .map(NonZeroUsize::get)
        .unwrap_or(2)
}

fn usearch_err(e: impl fmt::Display) -> Error {
    Error::VectorIndex(e.to_string())
}

fn metric_kind(m: Metric) -> MetricKind {
    match m {
        Metric::L2 => MetricKind::L2sq,
        Metric::Cosine => MetricKind::Cos,
        Metric::InnerProduct => MetricKind::IP,
    }
}

fn scalar_kind(q: Quantization) -> ScalarKind {
    match q {
        Quantization::F32 => ScalarKind::F32,
        Quantization::F16 => ScalarKind::F16,
        Quantization::I8 => ScalarKind::I8,
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn index_options(meta: &IndexMeta) -> IndexOptions {
    IndexOptions {
        dimensions: meta.dims,
        metric: metric_kind(meta.params.metric),
        quantization: scalar_kind(meta.params.quantization),
        connectivity: meta.params.m,
        expansion_add: meta.params.ef_construction,
        expansion_search: 64,
        multi: false,
    }
}
