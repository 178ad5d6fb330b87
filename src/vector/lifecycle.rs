//! The lifecycle of an index: brought into memory by [`VectorIndexes::acquire`] (mapped from
//! its file, caught up from the change log, or built from rows), kept current by
//! [`VectorIndexes::apply`], saved by [`VectorIndexes::checkpoint`] and on eviction.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use usearch::Index;

use super::check::{self, CheckState, FileCheck};
use super::file::{append_save_stamp, fingerprint, read_trailer, Trailer};
use super::live::{add_all, empty_like, IndexState, LiveIndex};
use super::repair::repair_stranded;
use super::{
    index_options, metric_kind, ms_since, scalar_kind, search_threads, usearch_err, Key, LoadEvent,
    Progress, VectorChange, VectorIndexes,
};
use crate::catalog::{HnswParams, IndexMeta, Metric, SavedIndex, TableSchema};
use crate::error::{Error, Result};
use crate::exec::cancel::Cancel;
use crate::storage::{Change, Store};

impl VectorIndexes {
    /// The index of `column` usable for `metric`, bringing it into memory when needed:
    /// from the cache; else mapped (and caught up) from its file; else built from rows.
    /// A column without an index gets one lazily with `metric` and default parameters.
    ///
    /// Returns `Ok(None)` when the column's index has another metric (the caller scans).
    /// `table_seq` is the table's current change sequence. Must be called with no writer
    /// running (the database's read or write lock held). A build asks `cancel` between
    /// chunks; an interrupted build is discarded (a lazily created index is forgotten).
    #[allow(clippy::too_many_arguments)]
    pub fn acquire(
        &self,
        store: &Store,
        table: &TableSchema,
        table_seq: u64,
        column: usize,
        metric: Metric,
        row_estimate: u64,
        cancel: &Cancel,
    ) -> Result<Option<Arc<LiveIndex>>> {
        let key = (table.id, column);
        if let Some(m) = self.metric(table.id, column) {
            if m != metric {
                return Ok(None);
            }
            if let Some(live) = self.cached(key) {
                return Ok(Some(live));
            }
        }
        let lock = self.key_lock(key);
        let guard = lock.lock();
        if let Some(live) = self.cached(key) {
            return Ok(Some(live));
        }
        let meta = match self.meta(table.id, column) {
            Some(meta) if meta.params.metric != metric => return Ok(None),
            Some(meta) => meta,
            // A read-only database records no new index: the caller computes exact distances.
            None if self.config.read_only => return Ok(None),
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
        let started = Instant::now();
        let (live, event) = match self.open_saved(store, &meta, table_seq, started) {
            Ok(found) => found,
            Err(reason) => {
                let first = meta.saved.is_none();
                if !first {
                    log::warn!("rebuilding vector index {} from rows: {reason}", meta.name);
                }
                let live = match self.build(store, table, &meta, table_seq, row_estimate, cancel) {
                    Ok(live) => live,
                    Err(e) => {
                        if first && !meta.explicit {
                            // Do not leave a lazily created index behind that was never built.
                            let _ = self.forget(store, key);
                        }
                        return Err(e);
                    }
                };
                let ms = ms_since(started);
                let event = if first {
                    LoadEvent::Built { ms }
                } else {
                    LoadEvent::Rebuilt { reason, ms }
                };
                (live, event)
            }
        };
        self.last_load.lock().insert(key, event);
        let evicted = self.cache.lock().push(key, live.clone());
        drop(guard);
        if let Some((ekey, old)) = evicted {
            if ekey != key {
                self.save_evicted(store, ekey, &old);
            }
        }
        Ok(Some(live))
    }

    fn save_evicted(&self, store: &Store, key: Key, live: &LiveIndex) {
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
        let trailer = read_trailer(&path).map_err(|e| format!("unreadable trailer: {e}"))?;
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
        // Opened before the file is mapped, for the background checksum check: if a save
        // replaces the file in between, `still_saved` notices on a read-only database; a
        // writable database's saves cannot run meanwhile (the key lock is held).
        let file = fs::File::open(&path).map_err(|e| format!("cannot open the file: {e}"))?;
        index
            .view(path_str)
            .map_err(|e| format!("cannot map the file: {e}"))?;
        still_saved()?;
        if index.size() as u64 != saved.rows || index.dimensions() != meta.dims {
            return Err("mapped index disagrees with the catalog".into());
        }
        let delta = empty_like(&options).map_err(|e| e.to_string())?;
        let mut state = IndexState::new(index, true, delta, saved.seq, 0);
        state.unreachable = trailer.unreachable;
        state.restore(trailer.tombstones, trailer.relabeled);
        let threads = self.config.build_threads.max(search_threads());
        let live =
            LiveIndex::new(state, threads).with_check(self.start_check(meta, path.clone(), file));
        if changes.is_empty() {
            return Ok((
                Arc::new(live),
                LoadEvent::Mapped {
                    ms: ms_since(started),
                },
            ));
        }
        {
            // The changes since the save go to the delta: the base stays mapped.
            let mut st = live.state.write();
            let applied = catch_up(store, meta, &mut st, &changes, threads)
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

    /// Builds an index from the rows of `table`, saves it, and returns it. Asks `cancel`
    /// every 1,024 vectors read and between chunks of vectors added; when it fires, returns
    /// [`Error::Interrupted`] before anything is saved.
    fn build(
        &self,
        store: &Store,
        table: &TableSchema,
        meta: &IndexMeta,
        table_seq: u64,
        row_estimate: u64,
        cancel: &Cancel,
    ) -> Result<Arc<LiveIndex>> {
        let column = meta.column_index;
        let dims = meta.dims;
        let mut keys = Vec::with_capacity(row_estimate as usize);
        let mut data: Vec<f32> = Vec::with_capacity(row_estimate as usize * dims);
        // Read only the vector column's own range: no row is decoded.
        store.scan_vectors(table.id, column, |rowid, bytes| {
            cancel.tick()?;
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
        let threads = self.config.build_threads.max(1);
        let index = Index::new(&index_options(meta)).map_err(usearch_err)?;
        index
            .reserve_capacity_and_threads(keys.len().max(64), threads.max(search_threads()))
            .map_err(usearch_err)?;
        let task = format!("building index {}.{}", table.name, meta.column);
        let total = keys.len() as u64;
        let done = AtomicU64::new(0);
        let report = |n: u64| {
            if let Some(cb) = &self.config.progress {
                cb(&Progress {
                    task: &task,
                    done: n,
                    total,
                });
            }
        };
        report(0);
        let chunk = 256usize;
        let next = AtomicU64::new(0);
        let failure: Mutex<Option<Error>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let start = next.fetch_add(chunk as u64, AtomicOrdering::Relaxed) as usize;
                    if start >= keys.len() || failure.lock().is_some() {
                        break;
                    }
                    if let Err(e) = cancel.check() {
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
                    let n = done.fetch_add((end - start) as u64, AtomicOrdering::Relaxed)
                        + (end - start) as u64;
                    if n < total {
                        report(n);
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
        let (repaired, unreachable) = repair_stranded(&index, &keys, &data, dims)?;
        log::info!(
            "index {}: the connectivity check over {} vectors took {} ms, re-added {repaired}, \
             and left {} to be compared exactly",
            meta.name,
            keys.len(),
            started.elapsed().as_millis(),
            unreachable.len()
        );
        cancel.check()?;
        report(total);
        drop(data);
        let mut state = IndexState::new(
            index,
            false,
            empty_like(&index_options(meta))?,
            table_seq,
            1,
        );
        state.unreachable = unreachable;
        let live = Arc::new(LiveIndex::new(state, threads.max(search_threads())));
        if let Err(e) = self.save(store, meta, &live) {
            // The index is usable; its file is not. It stays dirty and is saved later.
            log::warn!("saving vector index {} failed: {e}", meta.name);
        }
        Ok(live)
    }

    /// Saves a loaded index atomically and records the save in the catalog.
    /// On a read-only database, does nothing: the index stays in memory only.
    fn save(&self, store: &Store, meta: &IndexMeta, live: &LiveIndex) -> Result<()> {
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
        let _saving = live.saving.lock();
        let path = self.path_of(meta);
        let io_err = |e: std::io::Error| Error::IndexFile {
            path: path.clone(),
            reason: e.to_string(),
        };
        let file_err = |e: &dyn std::fmt::Display| Error::IndexFile {
            path: path.clone(),
            reason: e.to_string(),
        };
        fs::create_dir_all(&self.dir).map_err(io_err)?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".usearch")
            .tempfile_in(&self.dir)
            .map_err(io_err)?;
        let tmp_str = tmp
            .path()
            .to_str()
            .ok_or_else(|| file_err(&"path is not UTF-8"))?;
        let threads = self.config.build_threads.max(1);
        // What the new file holds, and, for a merge, what it was made from.
        let st = live.state.read();
        let (seq, dirty) = (st.seq, st.dirty);
        let merge = if st.mapped && !st.delta_labels.is_empty() {
            // A mapped base and a delta: merge them into a new base, without holding the
            // state (queries and writes go on; writes after this point stay in the delta).
            let dims = st.delta.dimensions();
            let mut entries: Vec<(u64, Vec<f32>)> = Vec::new();
            for &label in &st.delta_labels {
                if st.tombstones.contains(&label) {
                    continue;
                }
                let mut v = vec![0f32; dims];
                if st.delta.get(label, &mut v).map_err(usearch_err)? > 0 {
                    entries.push((label, v));
                }
            }
            let trailer = Trailer {
                unreachable: st.unreachable.clone(),
                tombstones: st
                    .tombstones
                    .iter()
                    .copied()
                    .filter(|&l| st.base.contains(l))
                    .collect(),
                relabeled: st.relabeled.iter().map(|(r, l)| (*r, *l)).collect(),
            };
            let merged_len = st.delta_labels.len();
            drop(st);
            let merged = Index::new(&index_options(meta)).map_err(usearch_err)?;
            let path_str = path
                .to_str()
                .ok_or_else(|| file_err(&"path is not UTF-8"))?;
            merged.load(path_str).map_err(|e| file_err(&e))?;
            let adds: Vec<(u64, &[f32])> =
                entries.iter().map(|(l, v)| (*l, v.as_slice())).collect();
            let lost = add_all(&merged, &adds, threads)?;
            let mut trailer = trailer;
            trailer.unreachable.extend(lost);
            trailer.unreachable.sort_unstable();
            trailer.unreachable.dedup();
            merged.save(tmp_str).map_err(|e| file_err(&e))?;
            (merged.size() as u64, Some(merged_len), trailer)
        } else {
            st.base.save(tmp_str).map_err(|e| file_err(&e))?;
            let trailer = Trailer {
                unreachable: st.unreachable.clone(),
                tombstones: st.tombstones.iter().copied().collect(),
                relabeled: st.relabeled.iter().map(|(r, l)| (*r, *l)).collect(),
            };
            let rows = st.base.size() as u64;
            drop(st);
            (rows, None, trailer)
        };
        let (rows, merged_len, trailer) = merge;
        append_save_stamp(tmp.path(), meta, seq, &trailer).map_err(io_err)?;
        // `SET synchronous = off`: no fsync (a power loss may cost a rebuild from rows).
        let sync = store.synchronous().syncs_index_files();
        if sync {
            tmp.as_file().sync_all().map_err(io_err)?;
        }
        let (file_bytes, fp) = fingerprint(tmp.path()).map_err(io_err)?;
        tmp.persist(&path).map_err(|e| io_err(e.error))?;
        if let Some(d) = sync.then(|| fs::File::open(&self.dir).ok()).flatten() {
            let _ = d.sync_all();
        }
        let saved = SavedIndex {
            seq,
            file_bytes,
            rows,
            fingerprint: fp,
        };
        let key = (meta.table_id, meta.column_index);
        {
            let mut metas = self.metas.lock();
            let Some(current) = metas.get_mut(&key) else {
                return Ok(()); // dropped meanwhile
            };
            let mut updated = current.clone();
            updated.saved = Some(saved);
            let mut batch = store.batch();
            batch.put_index(&updated)?;
            batch.truncate_log(meta.table_id, meta.column_index, seq);
            store.write(batch)?;
            *current = updated;
        }
        self.damaged.lock().remove(&key);
        match merged_len {
            None => {
                let mut st = live.state.write();
                st.dirty = st.dirty.saturating_sub(dirty);
            }
            Some(merged_len) => {
                // Map the new file and keep in the delta only what was written meanwhile.
                let options = index_options(meta);
                let base = Index::new(&options).map_err(usearch_err)?;
                let path_str = path
                    .to_str()
                    .ok_or_else(|| file_err(&"path is not UTF-8"))?;
                base.view(path_str).map_err(|e| file_err(&e))?;
                let delta = empty_like(&options)?;
                let mut st = live.state.write();
                let dims = st.delta.dimensions();
                let mut later: Vec<(u64, Vec<f32>)> = Vec::new();
                for &label in &st.delta_labels[merged_len..] {
                    let mut v = vec![0f32; dims];
                    if st.delta.get(label, &mut v).map_err(usearch_err)? > 0 {
                        later.push((label, v));
                    }
                }
                let adds: Vec<(u64, &[f32])> =
                    later.iter().map(|(l, v)| (*l, v.as_slice())).collect();
                super::live::add_all(&delta, &adds, threads)?;
                st.replace_base(base, delta, later.iter().map(|(l, _)| *l).collect());
                st.dirty = st.dirty.saturating_sub(dirty);
                // The check of the old file is moot: this one was just written.
                drop(st);
            }
        }
        Ok(())
    }

    /// Applies committed row changes to the cached indexes of `table_id` and records the
    /// new table sequence. Indexes not in memory catch up from the change log when loaded.
    /// An index that fails to apply a change is dropped from the cache (it will catch up).
    ///
    /// An index whose tombstones pass [`VectorConfig::auto_vacuum`] of its base afterwards is
    /// rebuilt from rows ([`VectorIndexes::vacuum`]'s rebuild), in the writing statement.
    pub fn apply(
        &self,
        store: &Store,
        table: &TableSchema,
        new_seq: u64,
        changes: &[VectorChange<'_>],
    ) {
        let table_id = table.id;
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
                let writes: Vec<(u64, Option<&[f32]>)> = changes
                    .iter()
                    .filter(|c| c.column == column)
                    .map(|c| (c.rowid, c.vector))
                    .collect();
                let mut st = live.state.write();
                if !writes.is_empty() {
                    st.write(&writes, self.config.build_threads)?;
                    st.dirty += writes.len() as u64;
                }
                st.seq = new_seq;
                Ok(st.dirty)
            })();
            let dead = live.state.read().dead_fraction();
            if result.is_ok() && dead > self.config.auto_vacuum {
                if let Some(meta) = self.meta(table_id, column) {
                    log::info!(
                        "vector index {}: {:.0}% of its vectors are tombstones; rebuilding it",
                        meta.name,
                        dead * 100.0
                    );
                    match self.rebuild(store, table, &meta, new_seq, &Cancel::never()) {
                        Ok(()) => continue,
                        Err(e) => log::warn!("rebuilding vector index {} failed: {e}", meta.name),
                    }
                }
            }
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

    /// Builds the index of `meta` anew from the rows (at table sequence `table_seq`) and puts
    /// it in the cache in place of the old one: its tombstones are gone and its recall is a
    /// fresh build's.
    fn rebuild(
        &self,
        store: &Store,
        table: &TableSchema,
        meta: &IndexMeta,
        table_seq: u64,
        cancel: &Cancel,
    ) -> Result<()> {
        let key = (meta.table_id, meta.column_index);
        let started = Instant::now();
        let estimate = self.cached(key).map_or(0, |l| l.size() as u64);
        let live = self.build(store, table, meta, table_seq, estimate, cancel)?;
        self.last_load.lock().insert(
            key,
            LoadEvent::Rebuilt {
                reason: "VACUUM".into(),
                ms: ms_since(started),
            },
        );
        let evicted = self.cache.lock().push(key, live);
        if let Some((ekey, old)) = evicted {
            if ekey != key {
                self.save_evicted(store, ekey, &old);
            }
        }
        Ok(())
    }

    /// `VACUUM`: rebuilds from rows every index of `table` that has tombstones (in memory, or
    /// in its saved file's trailer) or changes not yet saved; an index with neither is left
    /// alone. Returns how many were rebuilt.
    ///
    /// # Errors
    /// [`Error::Interrupted`] when `cancel` fires (the old index stays), storage errors.
    pub fn vacuum(
        &self,
        store: &Store,
        table: &TableSchema,
        table_seq: u64,
        cancel: &Cancel,
    ) -> Result<usize> {
        let mut rebuilt = 0;
        for column in self.indexed_columns(table.id) {
            let Some(meta) = self.meta(table.id, column) else {
                continue;
            };
            let key = (table.id, column);
            let lock = self.key_lock(key);
            let _guard = lock.lock();
            let due = match self.cached(key) {
                Some(live) => {
                    let st = live.state.read();
                    !st.tombstones.is_empty() || st.dirty > 0
                }
                None => match &meta.saved {
                    None => false,
                    Some(saved) => {
                        let trailer = read_trailer(&self.path_of(&meta)).unwrap_or_default();
                        !trailer.tombstones.is_empty()
                            || !store.changes_since(table.id, column, saved.seq)?.is_empty()
                    }
                },
            };
            if !due {
                continue;
            }
            self.rebuild(store, table, &meta, table_seq, cancel)?;
            rebuilt += 1;
        }
        Ok(rebuilt)
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

    /// Creates (builds and saves) an explicit index, replacing a lazily created one. When the
    /// build fails or `cancel` fires, the index is forgotten (metadata and file).
    pub fn create(
        &self,
        store: &Store,
        table: &TableSchema,
        table_seq: u64,
        meta: IndexMeta,
        row_estimate: u64,
        cancel: &Cancel,
    ) -> Result<()> {
        let key = (meta.table_id, meta.column_index);
        self.forget(store, key)?;
        let mut batch = store.batch();
        batch.put_index(&meta)?;
        batch.clear_log(meta.table_id, meta.column_index);
        store.write(batch)?;
        self.metas.lock().insert(key, meta.clone());
        let started = Instant::now();
        let live = match self.build(store, table, &meta, table_seq, row_estimate, cancel) {
            Ok(live) => live,
            Err(e) => {
                let _ = self.forget(store, key);
                return Err(e);
            }
        };
        self.last_load.lock().insert(
            key,
            LoadEvent::Built {
                ms: ms_since(started),
            },
        );
        let evicted = self.cache.lock().push(key, live);
        if let Some((ekey, old)) = evicted {
            if ekey != key {
                self.save_evicted(store, ekey, &old);
            }
        }
        Ok(())
    }
}
/// Re-reads the rows named by `changes` and makes the index agree with them (their old
/// vectors tombstoned, their current ones added).
fn catch_up(
    store: &Store,
    meta: &IndexMeta,
    st: &mut IndexState,
    changes: &[Change],
    threads: usize,
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
    let writes: Vec<(u64, Option<&[f32]>)> = rowids
        .iter()
        .zip(&vectors)
        .map(|(rowid, v)| {
            let v = v.as_deref().filter(|v| v.len() == meta.dims);
            (*rowid, v)
        })
        .collect();
    st.write(&writes, threads)?;
    Ok(rowids.len() as u64)
}
