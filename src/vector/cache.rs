//! The manager of a database's vector indexes: their metadata, the LRU cache of the indexes
//! in memory, and their status. Bringing an index into memory, applying writes and saving
//! are in [`super::lifecycle`].

use std::collections::HashMap;
use std::fs;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;

use super::build::Builds;
use super::check::{CheckState, FileCheck};
use super::file::{remove_stale_temp_files, tombstone_count};
use super::live::LiveIndex;
use super::pacing::Pacer;
use super::{IndexStatus, Key, LoadEvent, VectorConfig};
use crate::catalog::{IndexMeta, Metric, Quantization};
use crate::error::Result;
use crate::storage::Store;

/// The manager of all vector indexes of a database.
pub(crate) struct VectorIndexes {
    pub(super) dir: PathBuf,
    pub(super) config: VectorConfig,
    pub(super) metas: Mutex<HashMap<Key, IndexMeta>>,
    pub(super) cache: Mutex<LruCache<Key, Arc<LiveIndex>>>,
    pub(super) key_locks: Mutex<HashMap<Key, Arc<Mutex<()>>>>,
    /// One save of an index's file at a time, whichever copy of the index makes it (an
    /// evicted copy may still be saving when the index is mapped again).
    pub(super) save_locks: Mutex<HashMap<Key, Arc<Mutex<()>>>>,
    pub(super) last_load: Mutex<HashMap<Key, LoadEvent>>,
    /// Indexes whose file failed its checksum check, with the reason: their file is not
    /// used again until a save replaces it.
    pub(super) damaged: Mutex<HashMap<Key, String>>,
    /// Indexes that passed `checkpoint_changes` changes in a write: saved (merged) by
    /// [`VectorIndexes::save_due`] after the statement, not inside it.
    pub(super) due: Mutex<Vec<Key>>,
    /// A write left a tail of at least `TAIL_VECTORS` (see `flush_tails`): statements that
    /// wrote nothing find it false and skip the cache walk.
    pub(super) full_tails: AtomicBool,
    /// The checks started (finished ones are pruned when another starts).
    pub(super) checks: Mutex<Vec<Arc<CheckState>>>,
    /// Set when the manager is dropped: running checks stop.
    pub(super) stop: Arc<AtomicBool>,
    /// The index builds running now (see [`super::build`]).
    pub(super) builds: Builds,
    /// The background tail flushes started (finished ones are pruned when another starts);
    /// joined when the manager is dropped, so that none outlives the database (a flush
    /// thread dropping the last handle of an index while the process exits aborted it in
    /// USearch's destructor: "pthread lock: Invalid argument").
    pub(super) flushes: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// How long writers wait for the graph work they leave while queries run (see
    /// [`super::pacing`]).
    pub(crate) pacer: Arc<Pacer>,
}

impl Drop for VectorIndexes {
    fn drop(&mut self) {
        self.stop.store(true, AtomicOrdering::Relaxed);
        self.builds.stop_all();
        for flush in std::mem::take(&mut *self.flushes.lock()) {
            let _ = flush.join();
        }
    }
}
impl VectorIndexes {
    pub fn new(dir: PathBuf, config: VectorConfig, metas: Vec<IndexMeta>) -> Self {
        if !config.read_only {
            // A reader must not remove the temporary file of a save the writer is making.
            remove_stale_temp_files(&dir);
        }
        let cap = NonZeroUsize::new(config.cache_capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        let pacer = Arc::new(Pacer::new(
            super::search_threads(),
            config.index_write_share,
        ));
        VectorIndexes {
            dir,
            config,
            metas: Mutex::new(
                metas
                    .into_iter()
                    .map(|m| ((m.table_id, m.column_index), m))
                    .collect(),
            ),
            cache: Mutex::new(LruCache::new(cap)),
            key_locks: Mutex::new(HashMap::new()),
            save_locks: Mutex::new(HashMap::new()),
            last_load: Mutex::new(HashMap::new()),
            damaged: Mutex::new(HashMap::new()),
            due: Mutex::new(Vec::new()),
            full_tails: AtomicBool::new(false),
            checks: Mutex::new(Vec::new()),
            stop: Arc::new(AtomicBool::new(false)),
            builds: Builds::new(),
            flushes: Mutex::new(Vec::new()),
            pacer,
        }
    }

    /// Blocks until every background checksum check started so far has finished (see
    /// [`check`]).
    pub fn wait_for_checks(&self) {
        let checks: Vec<Arc<CheckState>> = self.checks.lock().clone();
        for c in checks {
            c.wait();
        }
    }

    /// The cached index of `key`, unless its file failed the checksum check: such an index
    /// is dropped from the cache (its unsaved changes are in the change log) and its file
    /// marked as not to be used, so the caller rebuilds it from rows.
    pub(super) fn cached(&self, key: Key) -> Option<Arc<LiveIndex>> {
        let mut cache = self.cache.lock();
        let live = cache.get(&key)?.clone();
        if let Some(reason) = live.check.failure() {
            cache.pop(&key);
            drop(cache);
            self.damaged.lock().insert(key, reason);
            return None;
        }
        Some(live)
    }

    pub(super) fn path_of(&self, meta: &IndexMeta) -> PathBuf {
        self.dir.join(meta.file_name())
    }

    pub(super) fn key_lock(&self, key: Key) -> Arc<Mutex<()>> {
        self.key_locks.lock().entry(key).or_default().clone()
    }

    pub(super) fn save_lock(&self, key: Key) -> Arc<Mutex<()>> {
        self.save_locks.lock().entry(key).or_default().clone()
    }

    /// The column's index if it is in memory already and stores f32 vectors (so
    /// [`super::live::IndexView::get`] returns the stored vectors exactly); never loads one.
    pub fn cached_f32(&self, table_id: u64, column: usize) -> Option<Arc<LiveIndex>> {
        let key = (table_id, column);
        let f32 = self
            .metas
            .lock()
            .get(&key)
            .is_some_and(|m| m.params.quantization == Quantization::F32);
        if !f32 {
            return None;
        }
        self.cache
            .lock()
            .peek(&key)
            .filter(|live| live.check.failure().is_none())
            .cloned()
    }

    /// The metadata of the index on a column, if it has one.
    pub fn meta(&self, table_id: u64, column: usize) -> Option<IndexMeta> {
        self.metas.lock().get(&(table_id, column)).cloned()
    }

    /// The metric of the index on a column, if it has one (no clone of the metadata: this
    /// is on every kNN query's path).
    pub fn metric(&self, table_id: u64, column: usize) -> Option<Metric> {
        self.metas
            .lock()
            .get(&(table_id, column))
            .map(|m| m.params.metric)
    }

    /// All index metadata.
    pub fn all_metas(&self) -> Vec<IndexMeta> {
        self.metas.lock().values().cloned().collect()
    }

    /// Columns of a table that have an index (their changes are logged).
    pub fn indexed_columns(&self, table_id: u64) -> Vec<usize> {
        let mut cols: Vec<usize> = self
            .metas
            .lock()
            .keys()
            .filter(|k| k.0 == table_id)
            .map(|k| k.1)
            .collect();
        cols.sort_unstable();
        cols
    }
}

impl VectorIndexes {
    /// Removes an index: metadata, change log, cache entry and file.
    pub fn forget(&self, store: &Store, key: Key) -> Result<()> {
        if self.config.read_only {
            return Ok(());
        }
        self.abandon_build(key);
        let meta = self.metas.lock().get(&key).cloned();
        if let Some(meta) = meta {
            let mut batch = store.batch();
            batch.drop_index(key.0, key.1);
            store.write(batch)?;
            self.metas.lock().remove(&key);
            self.cache.lock().pop(&key);
            self.last_load.lock().remove(&key);
            let path = self.path_of(&meta);
            if let Err(e) = fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log::warn!("cannot remove {}: {e}", path.display());
                }
            }
        }
        Ok(())
    }

    /// Takes the index of a column out of memory (metadata, cache entry, last load) without
    /// saving it or touching its file, catalog record or change log, for `ALTER TABLE`; returns
    /// its metadata. A dirty index loses nothing: its unsaved changes are in the change log.
    pub fn detach(&self, key: Key) -> Option<IndexMeta> {
        self.abandon_build(key);
        let meta = self.metas.lock().remove(&key)?;
        self.cache.lock().pop(&key);
        self.last_load.lock().remove(&key);
        Some(meta)
    }

    /// Registers a detached index under its new metadata (after `ALTER TABLE` renamed its
    /// table or column, or moved the column), renaming its file from `old_file` to
    /// [`IndexMeta::file_name`] when they differ. A file that cannot be renamed is left
    /// behind with a warning: the next query then rebuilds the index from the rows.
    pub fn attach(&self, meta: IndexMeta, old_file: &str) {
        let new_file = meta.file_name();
        if new_file != old_file {
            let from = self.dir.join(old_file);
            let to = self.dir.join(&new_file);
            if let Err(e) = fs::rename(&from, &to) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log::warn!("cannot rename {} to {}: {e}", from.display(), to.display());
                }
            }
        }
        self.metas
            .lock()
            .insert((meta.table_id, meta.column_index), meta);
    }

    /// Deletes the file of an index taken out by [`detach`](Self::detach) (`ALTER TABLE
    /// DROP COLUMN`); a missing file is fine.
    pub fn remove_file(&self, meta: &IndexMeta) {
        let path = self.path_of(meta);
        if let Err(e) = fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                log::warn!("cannot remove {}: {e}", path.display());
            }
        }
    }

    /// Removes every index of a table (its rows and logs are deleted by the caller's batch).
    pub fn forget_table(&self, store: &Store, table_id: u64) -> Result<()> {
        for column in self.indexed_columns(table_id) {
            self.forget(store, (table_id, column))?;
        }
        Ok(())
    }

    /// Replaces the index metadata with `metas`, as a read-only database re-reads its catalog
    /// after the writer changed it, and drops every index from memory (the next query maps
    /// the saved file again and catches up from the change log, in memory).
    pub fn reload(&self, metas: Vec<IndexMeta>) {
        let metas: HashMap<Key, IndexMeta> = metas
            .into_iter()
            .map(|m| ((m.table_id, m.column_index), m))
            .collect();
        // A build whose index the writer did not change goes on (it catches up when done).
        let keys: Vec<Key> = self.metas.lock().keys().copied().collect();
        for key in keys {
            if self
                .running_build(key)
                .is_some_and(|b| metas.get(&key) != Some(&b.meta))
            {
                self.abandon_build(key);
            }
        }
        *self.metas.lock() = metas;
        self.cache.lock().clear();
        self.last_load.lock().clear();
    }

    /// Status of every index, sorted by table and column name.
    pub fn status(&self) -> Vec<IndexStatus> {
        let metas = self.all_metas();
        let mut out: Vec<IndexStatus> = metas
            .into_iter()
            .map(|m| {
                let key = (m.table_id, m.column_index);
                let live = self.cache.lock().peek(&key).cloned();
                let (rows, memory, dirty, mapped, unreachable, file_check, delta, dead, tail) =
                    match &live {
                        Some(l) => {
                            let st = l.state.read();
                            let _adds = l.counting();
                            let tail_dead = st.tail_tombstones() as u64;
                            let tail = st.tail.len() as u64 - tail_dead;
                            // A flush's vectors are counted once, in the tail, until it ends.
                            let flushed = if st.mapped { st.flushed_so_far() } else { 0 };
                            let delta = st.delta.size().saturating_sub(flushed) as u64;
                            (
                                st.live() as u64,
                                (st.base.memory_usage() + st.delta.memory_usage()) as u64,
                                st.dirty,
                                st.mapped,
                                st.unreachable.len() as u64,
                                l.check.get(),
                                delta + tail,
                                st.tombstones.len() as u64 - tail_dead,
                                tail,
                            )
                        }
                        None => (
                            m.saved.as_ref().map_or(0, |s| {
                                s.rows.saturating_sub(tombstone_count(&self.path_of(&m)))
                            }),
                            0,
                            0,
                            false,
                            0,
                            FileCheck::NotApplicable,
                            0,
                            0,
                            0,
                        ),
                    };
                IndexStatus {
                    name: m.name.clone(),
                    table: m.table.clone(),
                    column: m.column.clone(),
                    metric: m.params.metric,
                    dims: m.dims,
                    m: m.params.m,
                    ef_construction: m.params.ef_construction,
                    quantization: m.params.quantization,
                    explicit: m.explicit,
                    rows,
                    memory_bytes: memory,
                    file_bytes: m.saved.as_ref().map(|s| s.file_bytes),
                    last_load: self
                        .last_load
                        .lock()
                        .get(&key)
                        .cloned()
                        .unwrap_or(LoadEvent::NotLoaded),
                    dirty_changes: dirty,
                    mapped,
                    unreachable,
                    file_check,
                    delta_rows: delta,
                    tail_rows: tail,
                    tombstones: dead,
                    build: self.running_build(key).map(|b| b.progress()),
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.table, &a.column).cmp(&(&b.table, &b.column)));
        out
    }
}
