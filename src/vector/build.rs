//! Index builds that hold no database lock.
//!
//! A build (lazy, started by a kNN query, or by `CREATE INDEX`) goes through three steps:
//!
//! 1. **register**: the index's metadata is recorded (so every later write to the column logs
//!    its rowid in the change log) and a [`Build`] is entered in the manager's table of
//!    running builds, under the database lock;
//! 2. **build**: the table's change sequence and a RocksDB snapshot are taken together under
//!    the database's read lock, the lock is released, and the column's vectors are read from
//!    the snapshot ([`read_vectors`]) and added to a new USearch index ([`build_index`]) with
//!    no lock held: readers and writers proceed. The new graph is then saved as of the
//!    snapshot, still with no database lock ([`VectorIndexes::catch_up_build`]), and caught
//!    up with most of the change-log entries written since;
//! 3. **publish** ([`VectorIndexes::publish`]): under the database's read lock again (which
//!    excludes writers, so no write falls between the catch-up and the publication), the
//!    manager checks that the build is still the column's current one (a `DROP INDEX`,
//!    `DROP TABLE`, `ALTER TABLE` or a newer build abandons it), applies the last change-log
//!    entries and puts the index into the cache. The entries after the snapshot stay in the
//!    change log until the next save.
//!
//! While a column's build runs, [`VectorIndexes::acquire`] returns it
//! ([`Acquired::Building`]): a kNN query then computes exact distances, or waits for it
//! without holding the database lock (`SET index_build_wait`). Queries that wait share one
//! build: they wait on the same [`Build`].
//!
//! A lazy build runs on a thread of its own (see `db::build`), so that the query that
//! started it can answer at once. It is not cancelled by a query being interrupted while
//! other queries wait for it; when the last query waiting for it is interrupted (or times
//! out), it is cancelled and the lazily created index forgotten, as when the build ran
//! inside the query. It stops when the database is closed. A `CREATE INDEX` build runs in its
//! statement and stops when the statement is interrupted; the index is then forgotten.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use usearch::Index;

use super::file::Trailer;
use super::lifecycle::{record_save, seal};
use super::live::{empty_like, IndexState, LiveIndex, COPY_UP_TO};
use super::repair::repair_stranded;
use super::{
    index_options, ms_since, search_threads, usearch_err, Key, LoadEvent, Progress, ProgressFn,
    VectorIndexes,
};
use crate::catalog::{IndexMeta, SavedIndex};
use crate::error::{Error, Result};
use crate::exec::cancel::Cancel;
use crate::storage::snapshot::StoreSnapshot;
use crate::storage::Store;

/// How far a running index build is, in [`IndexStatus::build`](crate::IndexStatus::build).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildProgress {
    /// Vectors added to the new index so far.
    pub done: u64,
    /// Vectors to add: the table's row count until the vectors have been read, then the
    /// number of vectors read from the snapshot.
    pub total: u64,
    /// kNN queries waiting for it now (`SET index_build_wait = on`).
    pub waiting: u64,
}

/// What [`VectorIndexes::acquire`] found for a column.
pub(crate) enum Acquired {
    /// The index, in memory.
    Ready(Arc<LiveIndex>),
    /// The index is being built (by this call or earlier): answer exactly or wait for it.
    Building(Arc<Build>),
    /// No usable index: the column's index has another metric, or a read-only database
    /// cannot create one. The caller computes exact distances.
    Unusable,
}

/// An index a statement acquired while it was planned, for its execution.
pub(crate) struct AcquiredIndex {
    pub table_id: u64,
    pub column: usize,
    /// The index as it was when the statement took its snapshot.
    pub view: Arc<super::live::IndexView>,
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Running,
    Published,
    Failed(String),
}

/// Starts a lazy build on a thread of its own (installed by the database at open) and
/// returns that thread.
pub(crate) type Spawner =
    Box<dyn Fn(Arc<Build>) -> std::io::Result<std::thread::JoinHandle<()>> + Send + Sync>;

/// One running index build, shared by the builder and the queries waiting for it.
pub(crate) struct Build {
    /// (table id, column).
    pub key: Key,
    /// The index's metadata when the build started.
    pub meta: IndexMeta,
    /// `Some(reason)` when a saved file could not be used (a rebuild).
    pub rebuild_reason: Option<String>,
    /// Started lazily by a query (not by `CREATE INDEX`).
    pub lazy: bool,
    /// Forget the index's metadata when the build fails: a lazily created index never built,
    /// or an index of `CREATE INDEX`.
    pub forget_on_failure: bool,
    /// The table's row count when the build started (capacity to reserve).
    pub row_estimate: u64,
    threads: usize,
    progress: Option<ProgressFn>,
    done: AtomicU64,
    total: AtomicU64,
    /// Set to stop the build (abandoned, the database closing, its last waiter interrupted).
    stop: Arc<AtomicBool>,
    /// Queries waiting for it now.
    waiters: AtomicUsize,
    started: Instant,
    outcome: Mutex<Outcome>,
    finished: Condvar,
}

impl Build {
    /// How far it is.
    pub fn progress(&self) -> BuildProgress {
        BuildProgress {
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            waiting: self.waiters.load(Ordering::Relaxed) as u64,
        }
    }

    /// The token the builder asks between chunks: it fires when the build is stopped.
    pub fn cancel(&self) -> Cancel {
        Cancel::from_flag(self.stop.clone())
    }

    /// [`Error::IndexBuildAbandoned`] once the build was stopped (its index dropped or
    /// changed, the database closing).
    fn check_stopped(&self) -> Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(Error::IndexBuildAbandoned {
                index: self.meta.name.clone(),
                reason: "it was dropped or changed while it was being built".into(),
            });
        }
        Ok(())
    }

    /// Asks the builder to stop at its next check.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Records how the build ended (the first call wins) and wakes the waiting queries.
    pub fn finish(&self, outcome: std::result::Result<(), String>) {
        let mut g = self.outcome.lock();
        if *g == Outcome::Running {
            *g = match outcome {
                Ok(()) => Outcome::Published,
                Err(reason) => Outcome::Failed(reason),
            };
        }
        self.finished.notify_all();
    }

    /// True until [`finish`](Self::finish) was called.
    pub fn running(&self) -> bool {
        *self.outcome.lock() == Outcome::Running
    }

    /// Blocks until the build has ended (published or failed), asking `cancel` every 50 ms.
    /// The caller must hold no database lock (the build takes the read lock to publish).
    ///
    /// Returns `Ok(())` however the build ended: the caller plans again and finds the index,
    /// or computes exact distances.
    ///
    /// # Errors
    /// [`Error::Interrupted`] when `cancel` fires. If no other query waits for a lazy build
    /// then, the build is stopped and this returns once it has ended (and its index was
    /// forgotten), so that nothing of it is left behind.
    pub fn wait(&self, cancel: &Cancel) -> Result<()> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut g = self.outcome.lock();
        while *g == Outcome::Running {
            self.finished.wait_for(&mut g, Duration::from_millis(50));
            if let Err(e) = cancel.check() {
                let last = self.waiters.fetch_sub(1, Ordering::SeqCst) == 1;
                if last && self.lazy {
                    self.stop();
                    while *g == Outcome::Running {
                        self.finished.wait(&mut g);
                    }
                }
                return Err(e);
            }
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    /// Reports `done` of `total` vectors added to the progress counters and callback.
    fn report(&self, task: &str, done: u64, total: u64) {
        self.done.store(done, Ordering::Relaxed);
        if let Some(cb) = &self.progress {
            cb(&Progress { task, done, total });
        }
    }
}

/// The running builds of a database's indexes.
pub(crate) struct Builds {
    running: Mutex<HashMap<Key, Arc<Build>>>,
    spawner: OnceLock<Spawner>,
    /// The threads of lazy builds started (finished ones are pruned when another starts).
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Builds {
    pub fn new() -> Self {
        Builds {
            running: Mutex::new(HashMap::new()),
            spawner: OnceLock::new(),
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Stops every running build (the database is closing).
    pub fn stop_all(&self) {
        for b in self.running.lock().values() {
            b.stop();
        }
    }
}

/// The vectors of a built index, not yet published.
pub(crate) struct Built {
    index: Index,
    unreachable: Vec<u64>,
    threads: usize,
}

/// What [`VectorIndexes::save_built`] saved: the file's size and fingerprint, and the file
/// mapped when the build is served mapped.
struct SavedBuild {
    mapped: Option<Index>,
    file: (u64, u32),
}

/// A build caught up with the change log up to `seq`, not yet published.
pub(crate) struct CaughtUp {
    live: Arc<LiveIndex>,
    /// The change-log sequence the catch-up went to.
    seq: u64,
    threads: usize,
    /// The built graph was saved (as of its snapshot) before the catch-up.
    saved: bool,
}

impl CaughtUp {
    /// Applies the change-log entries after `seq` (as far as the log goes now), moves `seq`
    /// to the last of them and returns how many there were.
    fn advance(&mut self, store: &Store, meta: &IndexMeta) -> Result<usize> {
        let changes = store.changes_since(meta.table_id, meta.column_index, self.seq)?;
        let mut st = self.live.state.write();
        super::lifecycle::catch_up(store, meta, &mut st, &changes, self.threads)?;
        st.dirty += changes.len() as u64;
        self.seq = changes.iter().map(|c| c.seq).max().unwrap_or(self.seq);
        Ok(changes.len())
    }
}

/// True when `a` and `b` describe the same index, whatever their last save (a build's own
/// save, [`VectorIndexes::save_built`], records one while the build runs).
fn same_index(a: &IndexMeta, b: &IndexMeta) -> bool {
    let unsaved = |m: &IndexMeta| IndexMeta {
        saved: None,
        ..m.clone()
    };
    unsaved(a) == unsaved(b)
}

/// Reads the vectors of the build's column from `snap`: (rowids, their f32s end to end).
/// Asks `cancel` every 1,024 vectors.
///
/// # Errors
/// [`Error::Interrupted`]; storage errors.
pub(crate) fn read_vectors(
    snap: &StoreSnapshot<'_>,
    build: &Build,
    cancel: &Cancel,
) -> Result<(Vec<u64>, Vec<f32>)> {
    let meta = &build.meta;
    let dims = meta.dims;
    let estimate = usize::try_from(build.row_estimate).unwrap_or(0);
    let mut keys = Vec::with_capacity(estimate);
    let mut data: Vec<f32> = Vec::with_capacity(estimate.saturating_mul(dims));
    // Read only the vector column's own range: no row is decoded.
    snap.reads()
        .scan_vectors(meta.table_id, meta.column_index, |rowid, bytes| {
            cancel.tick()?;
            if keys.len() % 4096 == 0 {
                build.check_stopped()?;
            }
            if bytes.len() == dims * 4 {
                keys.push(rowid);
                data.extend(
                    bytes
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            }
            Ok(true)
        })?;
    build.total.store(keys.len() as u64, Ordering::Relaxed);
    Ok((keys, data))
}

/// Builds a USearch index of `keys`/`data` with the build's parameters on its threads, then
/// runs the connectivity check. Asks `cancel` between chunks of 256 vectors.
///
/// # Errors
/// [`Error::Interrupted`]; [`Error::VectorIndex`] when USearch fails.
pub(crate) fn build_index(
    build: &Build,
    keys: &[u64],
    data: Vec<f32>,
    cancel: &Cancel,
) -> Result<Built> {
    let meta = &build.meta;
    let dims = meta.dims;
    let threads = build.threads.max(1);
    let index = Index::new(&index_options(meta)).map_err(usearch_err)?;
    index
        .reserve_capacity_and_threads(keys.len().max(64), threads.max(search_threads()))
        .map_err(usearch_err)?;
    let task = format!("building index {}.{}", meta.table, meta.column);
    let total = keys.len() as u64;
    build.total.store(total, Ordering::Relaxed);
    build.report(&task, 0, total);
    let chunk = 256usize;
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let start = next.fetch_add(chunk as u64, Ordering::Relaxed) as usize;
                if start >= keys.len() || failure.lock().is_some() {
                    break;
                }
                if let Err(e) = cancel.check().and_then(|()| build.check_stopped()) {
                    *failure.lock() = Some(e);
                    return;
                }
                let end = (start + chunk).min(keys.len());
                for i in start..end {
                    if let Err(e) = index.add(keys[i], &data[i * dims..(i + 1) * dims]) {
                        *failure.lock() = Some(usearch_err(e));
                        return;
                    }
                }
                let n =
                    done.fetch_add((end - start) as u64, Ordering::Relaxed) + (end - start) as u64;
                if n < total {
                    build.report(&task, n, total);
                }
            });
        }
    });
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    cancel.check()?;
    // Even a serial build can leave a vector unreachable (see `repair_stranded`), so the
    // check runs after every build.
    let started = Instant::now();
    let (repaired, unreachable) = repair_stranded(&index, keys, &data, dims)?;
    log::info!(
        "index {}: the connectivity check over {} vectors took {} ms, re-added {repaired}, \
         and left {} to be compared exactly",
        meta.name,
        keys.len(),
        started.elapsed().as_millis(),
        unreachable.len()
    );
    cancel.check()?;
    build.check_stopped()?;
    build.report(&task, total, total);
    Ok(Built {
        index,
        unreachable,
        threads: threads.max(search_threads()),
    })
}

impl VectorIndexes {
    /// Installs what starts lazy builds on their own threads (the database does, at open).
    pub fn set_build_spawner(&self, spawner: Spawner) {
        let _ = self.builds.spawner.set(spawner);
    }

    /// Stops every running build and waits for the threads of lazy builds to end (the
    /// database's last handle is being dropped; see `db::Shared`). A stopped build ends at its
    /// next check, between chunks of vectors read or added.
    pub fn stop_builds_and_wait(&self) {
        self.builds.stop_all();
        let threads = std::mem::take(&mut *self.builds.threads.lock());
        for thread in threads {
            // A build thread that panicked has ended its build (`EndGuard`).
            let _ = thread.join();
        }
    }

    /// The running build of `key`, if any.
    pub fn running_build(&self, key: Key) -> Option<Arc<Build>> {
        self.builds.running.lock().get(&key).cloned()
    }

    /// Registers a build of the index `meta` (already recorded in the catalog and in
    /// `metas`), replacing (and stopping) any earlier build of the same column.
    pub(crate) fn begin_build(
        &self,
        meta: IndexMeta,
        rebuild_reason: Option<String>,
        lazy: bool,
        row_estimate: u64,
    ) -> Arc<Build> {
        let key = (meta.table_id, meta.column_index);
        let forget_on_failure = !lazy || (meta.saved.is_none() && !meta.explicit);
        let build = Arc::new(Build {
            key,
            meta,
            rebuild_reason,
            lazy,
            forget_on_failure,
            row_estimate,
            threads: self.config.build_threads,
            progress: self.config.progress.clone(),
            done: AtomicU64::new(0),
            total: AtomicU64::new(row_estimate),
            stop: Arc::new(AtomicBool::new(false)),
            waiters: AtomicUsize::new(0),
            started: Instant::now(),
            outcome: Mutex::new(Outcome::Running),
            finished: Condvar::new(),
        });
        if let Some(old) = self.builds.running.lock().insert(key, build.clone()) {
            old.stop();
            old.finish(Err("replaced by a newer build".into()));
        }
        build
    }

    /// Registers a lazy build of `meta` and starts it on its own thread.
    pub(crate) fn start_lazy_build(
        &self,
        meta: IndexMeta,
        rebuild_reason: Option<String>,
        row_estimate: u64,
    ) -> Arc<Build> {
        let build = self.begin_build(meta, rebuild_reason, true, row_estimate);
        let started = match self.builds.spawner.get() {
            Some(spawn) => spawn(build.clone()).map_err(|e| e.to_string()),
            None => Err("no build thread".to_string()),
        };
        match started {
            Ok(thread) => {
                let mut threads = self.builds.threads.lock();
                threads.retain(|t| !t.is_finished());
                threads.push(thread);
            }
            Err(reason) => {
                log::warn!(
                    "cannot start the build of index {}: {reason}",
                    build.meta.name
                );
                self.builds.running.lock().remove(&build.key);
                build.finish(Err(reason));
            }
        }
        build
    }

    /// Stops and forgets the running build of `key`, if any (its index was dropped, detached
    /// or reloaded): it will not be published.
    pub(crate) fn abandon_build(&self, key: Key) {
        if let Some(b) = self.builds.running.lock().remove(&key) {
            b.stop();
            b.finish(Err(
                "the index was dropped or changed while it was built".into()
            ));
        }
    }

    /// True while `build` is the running build of its column and the column's index still
    /// has the metadata the build started with.
    fn is_current(&self, build: &Arc<Build>) -> bool {
        let registered = self
            .builds
            .running
            .lock()
            .get(&build.key)
            .is_some_and(|b| Arc::ptr_eq(b, build));
        registered
            && self
                .metas
                .lock()
                .get(&build.key)
                .is_some_and(|m| same_index(m, &build.meta))
    }

    /// Saves a finished build as of its snapshot (see `save_built`; on failure the
    /// publication saves it) and catches it up with the change-log entries after
    /// `snapshot_seq` (the table sequence its snapshot was taken at), as far as the log goes
    /// now, in rounds while they shrink, **without** the database lock: writes go on
    /// meanwhile, and [`VectorIndexes::publish`] applies only what they logged since, under
    /// the lock. (Applying the whole catch-up under the lock
    /// held writers, and readers queued behind them, for up to 40 s at the end of a 20K × 768
    /// `CREATE INDEX` with writes running.) Catch-ups re-read each row's current vector, so
    /// an entry applied twice does no harm.
    ///
    /// # Errors
    /// Storage and [`Error::VectorIndex`] errors.
    pub(crate) fn catch_up_build(
        &self,
        store: &Store,
        build: &Build,
        built: Built,
        snapshot_seq: u64,
    ) -> Result<CaughtUp> {
        let meta = &build.meta;
        let saved = match self.save_built(store, build, &built, snapshot_seq) {
            Ok(saved) => saved,
            Err(e) => {
                // Publishing saves it then, as any index.
                log::warn!("saving the new vector index {} failed: {e}", meta.name);
                None
            }
        };
        // A saved build too big for flushes to copy is served from its file, mapped, as after
        // a reopen: later writes go to a delta beside it (small, so that flushes add to copies
        // of it, see `LiveIndex::flush_tail`), and the built graph's memory is freed. A
        // smaller one keeps its graph and takes writes itself (flushes copy it): a merge of a
        // delta into a mapped base adds the delta's vectors a second time, which a bulk load
        // into a new index (`CREATE INDEX` on an empty table, then `COPY`) would pay in full.
        let delta = empty_like(&index_options(meta))?;
        let was_saved = saved.is_some();
        let Built {
            index,
            unreachable,
            threads,
        } = built;
        let mut state = match saved {
            Some(SavedBuild {
                mapped: Some(base),
                file,
            }) => {
                drop(index);
                let mut state = IndexState::new(base, true, delta, snapshot_seq, 0);
                state.base_file = Some(file);
                state
            }
            _ => IndexState::new(index, false, delta, snapshot_seq, u64::from(!was_saved)),
        };
        state.unreachable = Arc::new(unreachable);
        let mut caught = CaughtUp {
            live: Arc::new(LiveIndex::new(state, threads)),
            seq: snapshot_seq,
            threads,
            saved: was_saved,
        };
        // Writes go on during the catch-up: catch up again with what they logged meanwhile,
        // while that shrinks, so that the publication (which holds writers) applies little.
        // One round left 300 rows of 768 dimensions, 607 ms, to a publication.
        let mut applied = caught.advance(store, meta)?;
        for _ in 0..8 {
            if applied <= 16 {
                break;
            }
            let next = caught.advance(store, meta)?;
            if next >= applied {
                break;
            }
            applied = next;
        }
        Ok(caught)
    }

    /// Saves a finished build's graph, as of its snapshot (`snapshot_seq`), before its
    /// catch-up and without any lock: the file is written and synced while writers and
    /// readers go on, and only its installation (the rename and the catalog record, which
    /// truncates the change log up to `snapshot_seq`) holds the index metadata's lock, where
    /// the build is checked to be still the column's current one (a `DROP INDEX`, `DROP
    /// TABLE` or `ALTER TABLE` abandons the build before it removes the record). Saving at
    /// publication instead held writers for the whole save (3.98 s for 20,000 × 768 vectors,
    /// part 7 of the live benchmark). A crash after this save and before the publication
    /// finds a valid file and catches up from the change log. Returns the saved file's size
    /// and fingerprint and, for a build of more than [`COPY_UP_TO`] vectors (served mapped,
    /// see [`VectorIndexes::catch_up_build`]), the file mapped (before it is renamed into
    /// place, so that it is this file whatever happens to the path later); `None` when
    /// nothing was saved (read-only, or the build was abandoned).
    ///
    /// # Errors
    /// [`Error::IndexFile`] and storage errors; the caller then saves at publication.
    fn save_built(
        &self,
        store: &Store,
        build: &Build,
        built: &Built,
        snapshot_seq: u64,
    ) -> Result<Option<SavedBuild>> {
        if self.config.read_only {
            return Ok(None);
        }
        let meta = &build.meta;
        let path = self.path_of(meta);
        let tmp = self.temp_file(&path)?;
        let file_err = |e: &dyn std::fmt::Display| Error::IndexFile {
            path: path.clone(),
            reason: e.to_string(),
        };
        let tmp_str = tmp
            .path()
            .to_str()
            .ok_or_else(|| file_err(&"path is not UTF-8"))?;
        built.index.save(tmp_str).map_err(|e| file_err(&e))?;
        let trailer = Trailer {
            unreachable: built.unreachable.clone(),
            ..Trailer::default()
        };
        let (file_bytes, fingerprint) = seal(store, &tmp, &path, meta, snapshot_seq, &trailer)?;
        let mapped = if built.index.size() > COPY_UP_TO {
            let base = Index::new(&index_options(meta)).map_err(usearch_err)?;
            base.view(tmp_str).map_err(|e| file_err(&e))?;
            Some(base)
        } else {
            None
        };
        let saved = SavedIndex {
            seq: snapshot_seq,
            file_bytes,
            rows: built.index.size() as u64,
            fingerprint,
        };
        let mut metas = self.metas.lock();
        let current = self
            .builds
            .running
            .lock()
            .get(&build.key)
            .is_some_and(|b| std::ptr::eq(Arc::as_ptr(b), build));
        let Some(entry) = metas.get_mut(&build.key) else {
            return Ok(None);
        };
        if !current || !same_index(entry, &build.meta) {
            return Ok(None);
        }
        self.install(store, tmp, &path)?;
        record_save(store, entry, saved)?;
        drop(metas);
        self.damaged.lock().remove(&build.key);
        Ok(Some(SavedBuild {
            mapped,
            file: (file_bytes, fingerprint),
        }))
    }

    /// Publishes a build caught up by [`VectorIndexes::catch_up_build`] (the caller then
    /// calls [`Build::finish`]): applies the change-log entries after the catch-up's
    /// sequence, sets the index's sequence to `table_seq` and puts it into the cache (and
    /// saves it only when its save before the catch-up failed). Must be called with no
    /// writer of the table publishing (the database's read lock held), so that no change
    /// falls between the catch-up and the publication.
    ///
    /// # Errors
    /// [`Error::IndexBuildAbandoned`] when the build is no longer the column's current one
    /// (the index was dropped or changed meanwhile): nothing is published. Storage and
    /// [`Error::VectorIndex`] errors from the catch-up.
    pub(crate) fn publish(
        &self,
        store: &Store,
        build: &Arc<Build>,
        caught: CaughtUp,
        table_seq: u64,
    ) -> Result<Arc<LiveIndex>> {
        let key = build.key;
        let lock = self.key_lock(key);
        let guard = lock.lock();
        if !self.is_current(build) {
            return Err(Error::IndexBuildAbandoned {
                index: build.meta.name.clone(),
                reason: "it was dropped or changed while it was being built".into(),
            });
        }
        let meta = &build.meta;
        let mut caught = caught;
        caught.advance(store, meta)?;
        let live = caught.live.clone();
        live.state.write().seq = table_seq;
        let ms = ms_since(build.started);
        let event = match &build.rebuild_reason {
            None => LoadEvent::Built { ms },
            Some(reason) => LoadEvent::Rebuilt {
                reason: reason.clone(),
                ms,
            },
        };
        self.last_load.lock().insert(key, event);
        let evicted = self.cache.lock().push(key, live.clone());
        self.builds.running.lock().remove(&key);
        // A build saved before its catch-up leaves what was caught up to the change log (and a
        // later save); one whose early save failed is saved now.
        if !caught.saved {
            if let Err(e) = self.save(store, meta, &live) {
                // The index is usable; its file is not. It stays dirty and is saved later.
                log::warn!("saving vector index {} failed: {e}", meta.name);
            }
        }
        drop(guard);
        if let Some((ekey, old)) = evicted {
            if ekey != key {
                self.save_evicted(store, ekey, &old);
            }
        }
        Ok(live)
    }

    /// Cleans up after a build that failed with `error` (the caller then calls
    /// [`Build::finish`]): when it is still the column's current build,
    /// it is unregistered and, for a lazily created index never built or a `CREATE INDEX`,
    /// the index is forgotten (metadata, change log, file). Must be called with no writer
    /// running (the database's read lock held).
    pub(crate) fn fail_build(&self, store: &Store, build: &Arc<Build>, error: &Error) {
        let key = build.key;
        let lock = self.key_lock(key);
        let guard = lock.lock();
        if self.is_current(build) {
            self.builds.running.lock().remove(&key);
            if build.forget_on_failure {
                if let Err(e) = self.forget(store, key) {
                    log::warn!("cannot forget index {}: {e}", build.meta.name);
                }
            }
        }
        drop(guard);
        match error {
            // Stopped on purpose: a statement interrupted, the index dropped, the database
            // closing.
            Error::Interrupted { .. } | Error::IndexBuildAbandoned { .. } => {
                log::info!("building vector index {} stopped: {error}", build.meta.name);
            }
            _ => log::warn!("building vector index {} failed: {error}", build.meta.name),
        }
    }
}
