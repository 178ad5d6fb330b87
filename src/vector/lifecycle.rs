//! The lifecycle of an index: brought into memory by [`VectorIndexes::acquire`] (mapped from
//! its file, caught up from the change log, or built from rows by a build that holds no
//! database lock, see [`super::build`]), kept current by
//! [`VectorIndexes::apply`], saved by [`VectorIndexes::checkpoint`] and on eviction.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tempfile::NamedTempFile;

use usearch::Index;

use super::build::{build_index, read_vectors, Acquired, Build};
use super::check::{self, CheckState, FileCheck};
use super::file::{append_save_stamp, fingerprint, read_trailer, Trailer};
use super::live::{add_all, empty_like, IndexState, LiveIndex};
use super::{
    index_options, metric_kind, ms_since, scalar_kind, search_threads, usearch_err, Key, LoadEvent,
    VectorChange, VectorIndexes,
};
use crate::catalog::{HnswParams, IndexMeta, Metric, SavedIndex, TableSchema};
use crate::error::{Error, Result};
use crate::exec::cancel::Cancel;
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
                batch.create_index(&meta)?;
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
        state.base_file = Some((saved.file_bytes, saved.fingerprint));
        state.unreachable = std::sync::Arc::new(trailer.unreachable);
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
        let key = (meta.table_id, meta.column_index);
        // A build of this index is running (a rebuild: `VACUUM`, automatic, or from rows
        // after a failed load): it catches up from the change log after its snapshot and
        // saves what it publishes. Saving this copy now would truncate the log past that
        // snapshot, and the build would miss what it dropped (found by
        // tests/concurrency.rs: an evicted copy saved during an automatic rebuild).
        if self.running_build(key).is_some() {
            return Ok(());
        }
        let save_lock = self.save_lock(key);
        let _saving = save_lock.lock();
        // No tail flush interleaves with the save; the tail goes into the graph first.
        let _maintenance = live.maintenance.lock();
        // One thread: searches of an evicted copy may still run beside it (see `flush_tails`).
        live.flush_tail_locked(1, 1)?;
        let path = self.path_of(meta);
        let file_err = |e: &dyn std::fmt::Display| Error::IndexFile {
            path: path.clone(),
            reason: e.to_string(),
        };
        let tmp = self.temp_file(&path)?;
        let tmp_str = tmp
            .path()
            .to_str()
            .ok_or_else(|| file_err(&"path is not UTF-8"))?;
        let threads = self.config.build_threads.max(1);
        // What the new file holds, and, for a merge, what it was made from.
        let st = live.state.read();
        // Vectors written since the flush above stay in the tail (and the change log).
        let (seq, dirty) = (st.graph_seq(), st.dirty);
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
            let trailer = trailer_of(&st);
            let merged_len = st.delta_labels.len();
            // The base is normally the file at `path`, loaded as is. Another save may have
            // replaced that file since the base was mapped (an evicted copy of this index,
            // saved after the index was mapped again): then the base itself is written out
            // and loaded, so that the merge adds the delta to this base and no other.
            let path_holds_base = st.base_file.is_some() && fingerprint(&path).ok() == st.base_file;
            let own_copy = if path_holds_base {
                None
            } else {
                let copy = self.temp_file(&path)?;
                let copy_str = copy
                    .path()
                    .to_str()
                    .ok_or_else(|| file_err(&"path is not UTF-8"))?;
                st.base.save(copy_str).map_err(|e| file_err(&e))?;
                Some(copy)
            };
            drop(st);
            let merged = Index::new(&index_options(meta)).map_err(usearch_err)?;
            let source = own_copy.as_ref().map_or(path.as_path(), |c| c.path());
            let source_str = source
                .to_str()
                .ok_or_else(|| file_err(&"path is not UTF-8"))?;
            merged.load(source_str).map_err(|e| file_err(&e))?;
            drop(own_copy);
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
            let trailer = trailer_of(&st);
            let rows = st.base.size() as u64;
            drop(st);
            (rows, None, trailer)
        };
        let (rows, merged_len, trailer) = merge;
        let (file_bytes, fp) = seal(store, &tmp, &path, meta, seq, &trailer)?;
        // A copy of the index older than the last save (an evicted copy, saved late) must not
        // replace the newer file: the change log is truncated up to the newer one.
        if self
            .meta(meta.table_id, meta.column_index)
            .and_then(|m| m.saved)
            .is_some_and(|saved| saved.seq > seq)
        {
            log::info!(
                "not saving an older copy of vector index {} (sequence {seq})",
                meta.name
            );
            return Ok(());
        }
        // A merge maps its new file before the rename, so that what it maps is this file
        // whatever another save does to the path afterwards.
        let new_base = match merged_len {
            Some(_) => {
                let base = Index::new(&index_options(meta)).map_err(usearch_err)?;
                base.view(tmp_str).map_err(|e| file_err(&e))?;
                Some(base)
            }
            None => None,
        };
        self.install(store, tmp, &path)?;
        let saved = SavedIndex {
            seq,
            file_bytes,
            rows,
            fingerprint: fp,
        };
        {
            let mut metas = self.metas.lock();
            let Some(current) = metas.get_mut(&key) else {
                return Ok(()); // dropped meanwhile
            };
            record_save(store, current, saved)?;
        }
        self.damaged.lock().remove(&key);
        match merged_len {
            None => {
                let mut st = live.state.write();
                st.dirty = st.dirty.saturating_sub(dirty);
            }
            Some(merged_len) => {
                // The new file, mapped; the delta keeps only what was written meanwhile.
                let options = index_options(meta);
                let base = new_base.ok_or_else(|| file_err(&"merged file not mapped"))?;
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
                st.base_file = Some((file_bytes, fp));
                st.dirty = st.dirty.saturating_sub(dirty);
                // The check of the old file is moot: this one was just written.
                drop(st);
            }
        }
        Ok(())
    }

    /// A new temporary file (`.tmp-*.usearch`) beside the index files, for a save of the
    /// index at `path` (named in errors); removed when dropped unless installed.
    ///
    /// # Errors
    /// [`Error::IndexFile`] when the directory or the file cannot be created.
    pub(super) fn temp_file(&self, path: &Path) -> Result<NamedTempFile> {
        let io_err = |e: std::io::Error| Error::IndexFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        fs::create_dir_all(&self.dir).map_err(io_err)?;
        tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".usearch")
            .tempfile_in(&self.dir)
            .map_err(io_err)
    }

    /// Renames a sealed `tmp` over `path` and, unless `SET synchronous = off`, syncs the
    /// directory, so that the catalog record written next never names a file a power loss
    /// could take back.
    ///
    /// # Errors
    /// [`Error::IndexFile`] when the rename fails.
    pub(super) fn install(&self, store: &Store, tmp: NamedTempFile, path: &Path) -> Result<()> {
        tmp.persist(path).map_err(|e| Error::IndexFile {
            path: path.to_path_buf(),
            reason: e.error.to_string(),
        })?;
        if store.synchronous().syncs_index_files() {
            if let Ok(d) = fs::File::open(&self.dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// Applies committed row changes to the cached indexes of `table_id` and records the
    /// new table sequence. Indexes not in memory catch up from the change log when loaded.
    /// An index that fails to apply a change is dropped from the cache (it will catch up).
    ///
    /// An index whose tombstones pass [`VectorConfig::auto_vacuum`] of its base afterwards is
    /// rebuilt from rows by a background build (a snapshot, then a catch-up from the change
    /// log), which replaces it when done; meanwhile queries use it as it is.
    pub fn apply(&self, table: &TableSchema, new_seq: u64, changes: &[VectorChange<'_>]) {
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
                    // Into the tail: the graph work is `flush_tails`', after the statement.
                    st.append(&writes)?;
                    st.dirty += writes.len() as u64;
                }
                let inserts = writes.iter().filter(|(_, v)| v.is_some()).count();
                self.pacer.owe(inserts, live.insert_cost());
                st.seq = new_seq;
                let (dirty, tail) = (st.dirty, st.tail.len());
                drop(st);
                if tail >= super::live::TAIL_VECTORS {
                    self.full_tails
                        .store(true, std::sync::atomic::Ordering::Release);
                }
                if tail >= super::live::TAIL_CAP {
                    live.flush_tail(1, self.config.build_threads, true)?;
                }
                Ok(dirty)
            })();
            let dead = live.state.read().dead_fraction();
            if result.is_ok() && dead > self.config.auto_vacuum && self.running_build(key).is_none()
            {
                if let Some(meta) = self.meta(table_id, column) {
                    log::info!(
                        "vector index {}: {:.0}% of its vectors are tombstones; rebuilding it in \
                         the background",
                        meta.name,
                        dead * 100.0
                    );
                    // Queries keep using this index (tombstones filtered) until the rebuild,
                    // which reads a snapshot and catches up from the change log, is published.
                    let reason = format!("{:.0}% tombstones", dead * 100.0);
                    self.start_lazy_build(meta, Some(reason), live.size() as u64);
                }
            }
            match result {
                Ok(dirty) if dirty >= self.config.checkpoint_changes.max(1) => {
                    let mut due = self.due.lock();
                    if !due.contains(&key) {
                        due.push(key);
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

    /// Builds the index of `meta` anew from the rows (a snapshot at table sequence
    /// `table_seq`) and publishes it in place of the old one: its tombstones are gone and its
    /// recall is a fresh build's. Must be called with no writer running; must not hold the
    /// key lock (the publish takes it). A failed rebuild leaves the old index.
    fn rebuild(
        &self,
        store: &Store,
        meta: &IndexMeta,
        table_seq: u64,
        reason: &str,
        cancel: &Cancel,
    ) -> Result<()> {
        let key = (meta.table_id, meta.column_index);
        let estimate = self.cached(key).map_or(0, |l| l.size() as u64);
        // A rebuild of an index that exists: on failure it is not forgotten.
        let build = self.begin_build(meta.clone(), Some(reason.to_string()), true, estimate);
        let result = (|| {
            let snap = store.snapshot();
            let (keys, data) = read_vectors(&snap, &build, cancel)?;
            drop(snap);
            let built = build_index(&build, &keys, data, cancel)?;
            let caught = self.catch_up_build(store, &build, built, table_seq)?;
            self.publish(store, &build, caught, table_seq).map(|_| ())
        })();
        if let Err(e) = &result {
            self.fail_build(store, &build, e);
        }
        build.finish(result.as_ref().map(|_| ()).map_err(ToString::to_string));
        result
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
            self.rebuild(store, &meta, table_seq, "VACUUM", cancel)?;
            rebuilt += 1;
        }
        Ok(rebuilt)
    }

    /// Moves into their graphs the tails of cached indexes that hold at least
    /// [`super::live::TAIL_VECTORS`] vectors: on a background thread of its own per index, at
    /// a lowered CPU priority ([`super::lower_thread_priority`]), so that the writer returns
    /// at once and queries get the cores first; on one core, or on all for a long tail or a
    /// multi-row statement's, added to a copy of its graph ([`LiveIndex::flush_threads`]).
    /// When a tail has grown to [`super::live::TAIL_BACKPRESSURE`] (writes outpace the
    /// background flush), the calling writer waits for a flush of the whole tail, made at the
    /// same lowered priority: while queries keep the cores busy, writes slow to what the
    /// cores leave.
    /// The database calls it after each write statement without holding its lock: queries run
    /// meanwhile (a flush adds with no lock on the index's state). A failure is logged; the
    /// vectors stay in the tail, where searches still find them.
    pub fn flush_tails(&self) {
        use std::sync::atomic::Ordering;
        if !self.full_tails.swap(false, Ordering::AcqRel) {
            return;
        }
        let full: Vec<(Key, Arc<LiveIndex>)> = self
            .cache
            .lock()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let warn = |key: Key, e: &Error| {
            log::warn!(
                "adding written vectors to the graph of vector index {key:?} failed: {e}; \
                 searches compare them exhaustively meanwhile"
            );
        };
        for (key, live) in full {
            let tail = live.tail_len();
            if tail >= super::live::TAIL_BACKPRESSURE {
                // All cores only into a copy of the graph: in place, parallel adds and their
                // check would hold every search off (see `LiveIndex::flush_threads`).
                let threads = live.flush_threads(tail, self.config.build_threads);
                let flushed = std::thread::scope(|s| {
                    s.spawn(|| {
                        super::lower_thread_priority();
                        live.flush_tail(1, threads, true)
                    })
                    .join()
                });
                match flushed {
                    Ok(Err(e)) => warn(key, &e),
                    Err(_) => warn(key, &Error::VectorIndex("the flush panicked".into())),
                    Ok(Ok(_)) => {}
                }
            } else if tail >= super::live::TAIL_VECTORS && live.flusher.swap(true, Ordering::AcqRel)
            {
                // A flush of this index is running: the next statement looks again.
                self.full_tails.store(true, Ordering::Release);
            } else if tail >= super::live::TAIL_VECTORS {
                let l = live.clone();
                let threads = live.flush_threads(tail, self.config.build_threads);
                let spawned = std::thread::Builder::new()
                    .name("vectable tail flush".into())
                    .spawn(move || {
                        super::lower_thread_priority();
                        if let Err(e) = l.flush_tail(super::live::TAIL_VECTORS, threads, true) {
                            warn(key, &e);
                        }
                        l.flusher.store(false, Ordering::Release);
                    });
                match spawned {
                    Ok(handle) => {
                        let mut flushes = self.flushes.lock();
                        flushes.retain(|h| !h.is_finished());
                        flushes.push(handle);
                    }
                    Err(_) => {
                        live.flusher.store(false, Ordering::Release);
                        if let Err(e) = live.flush_tail(super::live::TAIL_VECTORS, 1, false) {
                            warn(key, &e);
                        }
                    }
                }
            }
        }
    }

    /// Waits until no background tail flush runs, then flushes every tail still holding
    /// [`super::live::TAIL_VECTORS`] vectors or more (a flush skipped while another ran
    /// waits for the next write otherwise): afterwards every tail is shorter than that
    /// (tests and benchmarks that time whole writes, graph work included).
    ///
    /// # Errors
    /// [`Error::VectorIndex`] from a flush (its vectors stay in the tail).
    pub fn wait_for_flushes(&self) -> Result<()> {
        let all: Vec<Arc<LiveIndex>> = self.cache.lock().iter().map(|(_, v)| v.clone()).collect();
        for live in all {
            while live.flusher.load(std::sync::atomic::Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let tail = live.tail_len();
            if tail >= super::live::TAIL_VECTORS {
                let threads = live.flush_threads(tail, self.config.build_threads);
                live.flush_tail(super::live::TAIL_VECTORS, threads, true)?;
            }
        }
        Ok(())
    }

    /// True when a write left an index past `checkpoint_changes` unsaved changes.
    pub fn has_due_saves(&self) -> bool {
        !self.due.lock().is_empty()
    }

    /// Saves (for a mapped index with a delta: merges) the indexes that writes left past
    /// `checkpoint_changes` unsaved changes. The database calls it after the statement,
    /// holding its lock upgradable (no writer publishes meanwhile; queries run). A failure is
    /// logged; the changes stay in the change log.
    pub fn save_due(&self, store: &Store) {
        let keys = std::mem::take(&mut *self.due.lock());
        for key in keys {
            // A rebuild is on its way: it saves what it publishes.
            if self.running_build(key).is_some() {
                continue;
            }
            let Some(live) = self.cache.lock().peek(&key).cloned() else {
                continue;
            };
            if live.state.read().dirty < self.config.checkpoint_changes.max(1) {
                continue;
            }
            if let Some(meta) = self.meta(key.0, key.1) {
                if let Err(e) = self.save(store, &meta, &live) {
                    log::warn!("periodic save of vector index {} failed: {e}", meta.name);
                }
            }
        }
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
            // An index being rebuilt (automatically, in the background) is saved when the
            // rebuild publishes it; until then its changes are in the change log.
            if live.state.read().dirty == 0 || self.running_build(key).is_some() {
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
        batch.create_index(&meta)?;
        store.write(batch)?;
        self.metas.lock().insert(key, meta.clone());
        Ok(self.begin_build(meta, None, false, row_estimate))
    }
}
/// Records `saved` as the last save of the index whose metadata is `entry` (the caller holds
/// the metadata lock): first in the catalog, which truncates the index's change log up to
/// `saved.seq`, then in `entry`.
///
/// # Errors
/// Storage errors; `entry` is then unchanged.
pub(super) fn record_save(store: &Store, entry: &mut IndexMeta, saved: SavedIndex) -> Result<()> {
    let mut updated = entry.clone();
    updated.saved = Some(saved);
    let mut batch = store.batch();
    batch.record_index_save(&updated)?;
    store.write(batch)?;
    *entry = updated;
    Ok(())
}

/// Appends the save stamp (`seq`, `trailer`) to the USearch file written to `tmp` and, unless
/// `SET synchronous = off` (then a power loss may cost a rebuild from rows), syncs it.
/// Returns its size in bytes and fingerprint. `path` is the index file, named in errors.
///
/// # Errors
/// [`Error::IndexFile`] on I/O errors.
pub(super) fn seal(
    store: &Store,
    tmp: &NamedTempFile,
    path: &Path,
    meta: &IndexMeta,
    seq: u64,
    trailer: &Trailer,
) -> Result<(u64, u32)> {
    let io_err = |e: std::io::Error| Error::IndexFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    append_save_stamp(tmp.path(), meta, seq, trailer).map_err(io_err)?;
    if store.synchronous().syncs_index_files() {
        tmp.as_file().sync_all().map_err(io_err)?;
    }
    fingerprint(tmp.path()).map_err(io_err)
}

/// What a save's file trailer lists for `st`: the unreachable labels, the tombstones of the
/// base (a merge's delta keeps only live vectors; tail vectors written since the save's flush
/// are replayed from the change log) and the rows whose label is not their rowid.
fn trailer_of(st: &IndexState) -> Trailer {
    Trailer {
        unreachable: st.unreachable.to_vec(),
        tombstones: st
            .tombstones
            .iter()
            .copied()
            .filter(|&l| st.base.contains(l))
            .collect(),
        relabeled: st.relabeled.iter().map(|(r, l)| (*r, *l)).collect(),
    }
}

/// Re-reads the rows named by `changes` and makes the index agree with them (their old
/// vectors tombstoned, their current ones added).
pub(super) fn catch_up(
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
    let vectors = store
        .reads()
        .get_vectors(meta.table_id, meta.column_index, &rowids)?;
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
