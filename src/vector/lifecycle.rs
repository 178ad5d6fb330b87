//! The lifecycle of an index: brought into memory by [`VectorIndexes::acquire`] (mapped from
//! its file, caught up from the change log, or built from rows by a build that holds no
//! database lock, see [`super::build`]), kept current by
//! [`VectorIndexes::apply`], saved by [`VectorIndexes::checkpoint`] and on eviction.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use usearch::Index;

use super::build::{Acquired, Build};
use super::check::{self, CheckState, FileCheck};
use super::file::{append_save_stamp, fingerprint, read_unreachable};
use super::live::{ensure_capacity, promote, IndexState, LiveIndex};
use super::{
    index_options, metric_kind, ms_since, scalar_kind, search_threads, usearch_err, Key, LoadEvent,
    VectorChange, VectorIndexes,
};
use crate::catalog::{HnswParams, IndexMeta, Metric, SavedIndex, TableSchema};
use crate::error::{Error, Result};
use crate::storage::{Change, Store};

impl VectorIndexes {
    /// The index of `column` usable for `metric`, bringing it into memory when needed:
    /// from the cache; else mapped (and caught up) from its file; else built from rows by a
    /// lazy build on a thread of its own (see [`super::build`]), which this returns as
    /// [`Acquired::Building`] at once, as it returns a build already running for the column.
    /// A column without an index gets one lazily with `metric` and default parameters.
    ///
    /// Returns [`Acquired::Unusable`] when the column's index has another metric (the caller
    /// scans). `table_seq` is the table's current change sequence; `row_estimate` its rows.
    /// Must be called with no writer running (the database's read or write lock held).
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] when the column is not a vector column; storage errors.
    pub fn acquire(
        &self,
        store: &Store,
        table: &TableSchema,
        table_seq: u64,
        column: usize,
        metric: Metric,
        row_estimate: u64,
    ) -> Result<Acquired> {
        let key = (table.id, column);
        if let Some(m) = self.metric(table.id, column) {
            if m != metric {
                return Ok(Acquired::Unusable);
            }
            if let Some(live) = self.cached(key) {
                return Ok(Acquired::Ready(live));
            }
        }
        let lock = self.key_lock(key);
        let guard = lock.lock();
        if let Some(live) = self.cached(key) {
            return Ok(Acquired::Ready(live));
        }
        let meta = match self.meta(table.id, column) {
            Some(meta) if meta.params.metric != metric => return Ok(Acquired::Unusable),
            Some(meta) => meta,
            // A read-only database records no new index: the caller computes exact distances.
            None if self.config.read_only => return Ok(Acquired::Unusable),
            None => {
                let col = &table.columns[column];
                let crate::value::DataType::Vector(dims) = col.data_type else {
                    return Err(Error::type_mismatch(
                        table.qualified(column),
                        "VECTOR",
                        col.data_type.to_string(),
                    ));
                };
                let meta = IndexMeta {
                    name: format!("{}_{}_hnsw", table.name, col.name),
                    table_id: table.id,
                    table: table.name.clone(),
                    column: col.name.clone(),
                    column_index: column,
                    dims,
                    params: HnswParams::with_metric(metric),
                    explicit: false,
                    saved: None,
                };
                let mut batch = store.batch();
                batch.put_index(&meta)?;
                batch.clear_log(table.id, column);
                store.write(batch)?;
                self.metas.lock().insert(key, meta.clone());
                meta
            }
        };
        if let Some(build) = self.running_build(key) {
            return Ok(Acquired::Building(build));
        }
        let started = Instant::now();
        match self.open_saved(store, &meta, table_seq, started) {
            Ok((live, event)) => {
                self.last_load.lock().insert(key, event);
                let evicted = self.cache.lock().push(key, live.clone());
                drop(guard);
                if let Some((ekey, old)) = evicted {
                    if ekey != key {
                        self.save_evicted(store, ekey, &old);
                    }
                }
                Ok(Acquired::Ready(live))
            }
            Err(reason) => {
                let rebuild = meta.saved.is_some().then(|| {
                    log::warn!("rebuilding vector index {} from rows: {reason}", meta.name);
                    reason
                });
                let build = self.start_lazy_build(meta, rebuild, row_estimate);
                Ok(Acquired::Building(build))
            }
        }
    }

    pub(super) fn save_evicted(&self, store: &Store, key: Key, live: &LiveIndex) {
        let lock = self.key_lock(key);
        let _g = lock.lock();
        if live.state.read().dirty == 0 {
            return;
        }
        if let Some(meta) = self.meta(key.0, key.1) {
            if let Err(e) = self.save(store, &meta, live) {
                log::warn!("saving evicted vector index {} failed: {e}; its changes stay in the change log", meta.name);
            }
        }
    }

    /// Tries the saved file: validate, map, catch up. `Err(reason)` means "rebuild".
    fn open_saved(
        &self,
        store: &Store,
        meta: &IndexMeta,
        table_seq: u64,
        started: Instant,
    ) -> std::result::Result<(Arc<LiveIndex>, LoadEvent), String> {
        let saved = meta
            .saved
            .as_ref()
            .ok_or_else(|| "never saved".to_string())?;
        let key = (meta.table_id, meta.column_index);
        if let Some(reason) = self.damaged.lock().get(&key) {
            return Err(reason.clone());
        }
        let path = self.path_of(meta);
        let (len, fp) =
            fingerprint(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if len != saved.file_bytes {
            return Err(format!(
                "file is {len} bytes, the catalog expects {}",
                saved.file_bytes
            ));
        }
        if fp != saved.fingerprint {
            return Err("file content differs from the last save (fingerprint)".into());
        }
        if saved.seq > table_seq {
            return Err("file is newer than the table's change sequence".into());
        }
        let path_str = path.to_str().ok_or("index path is not UTF-8")?;
        let header = Index::metadata(path_str).map_err(|e| format!("unreadable header: {e}"))?;
        if header.dimensions != meta.dims as u64
            || header.metric != metric_kind(meta.params.metric)
            || header.quantization != scalar_kind(meta.params.quantization)
            || header.count_present != saved.rows
            || header.multi
        {
            return Err("file header disagrees with the catalog".into());
        }
        let unreachable =
            read_unreachable(&path).map_err(|e| format!("unreadable trailer: {e}"))?;
        let changes = store
            .changes_since(meta.table_id, meta.column_index, saved.seq)
            .map_err(|e| format!("cannot read the change log: {e}"))?;
        // On a read-only database the writer may save (rename a new file over this one)
        // between the check above and the map below: what was mapped is the checked file
        // only if the path still holds it afterwards (every save's file is unique).
        let still_saved = || {
            if self.config.read_only
                && fingerprint(&path).ok() != Some((saved.file_bytes, saved.fingerprint))
            {
                return Err("the file was replaced while it was read".to_string());
            }
            Ok(())
        };
        let options = index_options(meta);
        let index = Index::new(&options).map_err(|e| e.to_string())?;
        // Opened before the file is mapped or loaded, for the background checksum check: if
        // a save replaces the file in between, `still_saved` notices on a read-only database;
        // a writable database's saves cannot run meanwhile (no writer runs during `acquire`,
        // and the key lock is held).
        let file = fs::File::open(&path).map_err(|e| format!("cannot open the file: {e}"))?;
        if changes.is_empty() {
            index
                .view(path_str)
                .map_err(|e| format!("cannot map the file: {e}"))?;
            still_saved()?;
            if index.size() as u64 != saved.rows || index.dimensions() != meta.dims {
                return Err("mapped index disagrees with the catalog".into());
            }
            let live = LiveIndex::new(index, true, saved.seq, 0, search_threads())
                .with_check(self.start_check(meta, path.clone(), file));
            live.state.write().unreachable = unreachable;
            return Ok((
                Arc::new(live),
                LoadEvent::Mapped {
                    ms: ms_since(started),
                },
            ));
        }
        index
            .load(path_str)
            .map_err(|e| format!("cannot load the file: {e}"))?;
        still_saved()?;
        if index.size() as u64 != saved.rows {
            return Err("loaded index disagrees with the catalog".into());
        }
        let threads = self.config.build_threads.max(search_threads());
        // One USearch thread context per concurrent search slot.
        index
            .reserve_capacity_and_threads(index.size().max(64), threads)
            .map_err(|e| format!("cannot reserve: {e}"))?;
        let live = LiveIndex::new(index, false, saved.seq, 0, threads)
            .with_check(self.start_check(meta, path.clone(), file));
        {
            let mut st = live.state.write();
            st.unreachable = unreachable;
            let applied = catch_up(store, meta, &mut st, &changes)
                .map_err(|e| format!("catch-up failed: {e}"))?;
            st.seq = table_seq;
            st.dirty = applied.max(1);
        }
        Ok((
            Arc::new(live),
            LoadEvent::CaughtUp {
                changes: changes.len() as u64,
                ms: ms_since(started),
            },
        ))
    }

    /// Starts the background checksum check of the file of `meta` (opened as `file`).
    pub(super) fn start_check(
        &self,
        meta: &IndexMeta,
        path: PathBuf,
        file: fs::File,
    ) -> Arc<CheckState> {
        let state = check::spawn(meta.name.clone(), path, file, self.stop.clone());
        let mut checks = self.checks.lock();
        checks.retain(|c| c.get() == FileCheck::Pending);
        checks.push(state.clone());
        state
    }

    /// Saves a loaded index atomically and records the save in the catalog.
    /// On a read-only database, does nothing: the index stays in memory only.
    pub(super) fn save(&self, store: &Store, meta: &IndexMeta, live: &LiveIndex) -> Result<()> {
        if self.config.read_only {
            return Ok(());
        }
        // An index mapped or loaded from a file that may be damaged must not be written to a
        // new file (with a valid checksum) before its check has passed.
        if let FileCheck::Failed { reason } = live.check.wait() {
            log::info!(
                "not saving vector index {}: its file failed the checksum check ({reason}); \
                 it is rebuilt from rows when next used",
                meta.name
            );
            return Ok(());
        }
        let st = live.state.read();
        let path = self.path_of(meta);
        let io_err = |e: std::io::Error| Error::IndexFile {
            path: path.clone(),
            reason: e.to_string(),
        };
        fs::create_dir_all(&self.dir).map_err(io_err)?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".usearch")
            .tempfile_in(&self.dir)
            .map_err(io_err)?;
        let tmp_str = tmp.path().to_str().ok_or_else(|| Error::IndexFile {
            path: path.clone(),
            reason: "path is not UTF-8".into(),
        })?;
        st.index.save(tmp_str).map_err(|e| Error::IndexFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        append_save_stamp(tmp.path(), meta, st.seq, &st.unreachable).map_err(io_err)?;
        tmp.as_file().sync_all().map_err(io_err)?;
        let (file_bytes, fp) = fingerprint(tmp.path()).map_err(io_err)?;
        tmp.persist(&path).map_err(|e| io_err(e.error))?;
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        let saved = SavedIndex {
            seq: st.seq,
            file_bytes,
            rows: st.index.size() as u64,
            fingerprint: fp,
        };
        let key = (meta.table_id, meta.column_index);
        let mut metas = self.metas.lock();
        let Some(current) = metas.get_mut(&key) else {
            return Ok(()); // dropped meanwhile
        };
        let mut updated = current.clone();
        updated.saved = Some(saved);
        let mut batch = store.batch();
        batch.put_index(&updated)?;
        batch.truncate_log(meta.table_id, meta.column_index, st.seq);
        store.write(batch)?;
        *current = updated;
        drop(metas);
        drop(st);
        self.damaged.lock().remove(&key);
        live.state.write().dirty = 0;
        Ok(())
    }

    /// Applies committed row changes to the cached indexes of `table_id` and records the
    /// new table sequence. Indexes not in memory catch up from the change log when loaded.
    /// An index that fails to apply a change is dropped from the cache (it will catch up).
    pub fn apply(&self, store: &Store, table_id: u64, new_seq: u64, changes: &[VectorChange<'_>]) {
        let cols = self.indexed_columns(table_id);
        for column in cols {
            let key = (table_id, column);
            let Some(live) = self.cache.lock().peek(&key).cloned() else {
                continue;
            };
            if let Some(reason) = live.check.failure() {
                // Its changes are in the change log; the next query rebuilds it from rows.
                self.cache.lock().pop(&key);
                self.damaged.lock().insert(key, reason);
                continue;
            }
            let result = (|| -> Result<u64> {
                let mut st = live.state.write();
                let mine: Vec<&VectorChange<'_>> =
                    changes.iter().filter(|c| c.column == column).collect();
                if !mine.is_empty() {
                    promote(&mut st, &self.path_of_key(key)?)?;
                    let adds = mine.iter().filter(|c| c.vector.is_some()).count();
                    ensure_capacity(&st.index, adds)?;
                    for c in &mine {
                        st.relinked(c.rowid);
                        if st.index.contains(c.rowid) {
                            st.index.remove(c.rowid).map_err(usearch_err)?;
                        }
                        if let Some(v) = c.vector {
                            st.index.add(c.rowid, v).map_err(usearch_err)?;
                        }
                    }
                    st.dirty += mine.len() as u64;
                }
                st.seq = new_seq;
                Ok(st.dirty)
            })();
            match result {
                Ok(dirty) if dirty >= self.config.checkpoint_changes.max(1) => {
                    if let Some(meta) = self.meta(table_id, column) {
                        if let Err(e) = self.save(store, &meta, &live) {
                            log::warn!("periodic save of vector index {} failed: {e}", meta.name);
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    log::warn!("vector index change failed ({e}); the index will catch up from the change log");
                    self.cache.lock().pop(&key);
                }
            }
        }
    }

    fn path_of_key(&self, key: Key) -> Result<PathBuf> {
        self.meta(key.0, key.1)
            .map(|m| self.path_of(&m))
            .ok_or_else(|| Error::VectorIndex("index metadata disappeared".into()))
    }

    /// Saves every dirty index in the cache.
    ///
    /// # Errors
    /// The first [`Error::IndexFile`] or storage error; the other indexes are still tried.
    pub fn checkpoint(&self, store: &Store) -> Result<()> {
        let entries: Vec<(Key, Arc<LiveIndex>)> = self
            .cache
            .lock()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let mut first_err = None;
        for (key, live) in entries {
            if live.state.read().dirty == 0 {
                continue;
            }
            if let Some(meta) = self.meta(key.0, key.1) {
                if let Err(e) = self.save(store, &meta, &live) {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Registers an explicit index (`CREATE INDEX`), replacing a lazily created one, and
    /// returns its build, which the caller runs without the database lock (see
    /// [`super::build`]). Must be called under the database's write lock.
    ///
    /// # Errors
    /// Storage errors writing the catalog.
    pub fn create(&self, store: &Store, meta: IndexMeta, row_estimate: u64) -> Result<Arc<Build>> {
        let key = (meta.table_id, meta.column_index);
        self.forget(store, key)?;
        let mut batch = store.batch();
        batch.put_index(&meta)?;
        batch.clear_log(meta.table_id, meta.column_index);
        store.write(batch)?;
        self.metas.lock().insert(key, meta.clone());
        Ok(self.begin_build(meta, None, false, row_estimate))
    }
}
/// Re-reads the rows named by `changes` and makes the index agree with them.
pub(super) fn catch_up(
    store: &Store,
    meta: &IndexMeta,
    st: &mut IndexState,
    changes: &[Change],
) -> Result<u64> {
    // Every entry, whatever its op, means "this row's vector may have changed": re-reading
    // the row's current state makes applying the log idempotent.
    let rowids: Vec<u64> = changes
        .iter()
        .map(|c| c.rowid)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let vectors = store.get_vectors(meta.table_id, meta.column_index, &rowids)?;
    ensure_capacity(&st.index, rowids.len())?;
    for (rowid, v) in rowids.iter().zip(vectors) {
        st.relinked(*rowid);
        if st.index.contains(*rowid) {
            st.index.remove(*rowid).map_err(usearch_err)?;
        }
        if let Some(v) = v {
            if v.len() == meta.dims {
                st.index.add(*rowid, &v).map_err(usearch_err)?;
            }
        }
    }
    Ok(rowids.len() as u64)
}
