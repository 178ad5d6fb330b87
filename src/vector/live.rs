//! An index in memory ([`LiveIndex`]) and its searches.

use parking_lot::{Condvar, Mutex, RwLock, RwLockWriteGuard};
use std::path::Path;
use std::sync::Arc;
use usearch::{Index, MetricKind, ScalarKind};

use super::check::{CheckState, FileCheck};
use super::{distance, search_threads, usearch_err};
use crate::error::{Error, Result};
/// A counting semaphore bounding concurrent searches to the thread contexts USearch reserved.
struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Slots {
    pub(super) fn new(n: usize) -> Self {
        Slots {
            free: Mutex::new(n.max(1)),
            cv: Condvar::new(),
        }
    }
    fn acquire(&self) -> SlotGuard<'_> {
        let mut free = self.free.lock();
        while *free == 0 {
            self.cv.wait(&mut free);
        }
        *free -= 1;
        SlotGuard(self)
    }
}

struct SlotGuard<'a>(&'a Slots);
impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock() += 1;
        self.0.cv.notify_one();
    }
}

pub(super) struct IndexState {
    pub(super) index: Index,
    /// A read-only `view` of the file (promoted to an owned copy before the first write).
    pub(super) mapped: bool,
    /// The table change sequence this index reflects.
    pub(super) seq: u64,
    /// Changes applied since the last save.
    pub(super) dirty: u64,
    /// Current USearch `expansion_search`.
    pub(super) ef_search: usize,
    /// Keys of vectors that no graph search can reach (outside the level-0 graph's main
    /// component after the repair, see [`repair_stranded`]), sorted: every search also
    /// compares the query with each of them exactly. Empty in a healthy index; saved in the
    /// file's trailer.
    pub(super) unreachable: Vec<u64>,
}

/// An index in memory.
pub(crate) struct LiveIndex {
    pub(super) state: RwLock<IndexState>,
    slots: Slots,
    /// The checksum check of the file this index was mapped or loaded from.
    pub(super) check: Arc<CheckState>,
}
/// Replaces a read-only view with an owned copy loaded from the same file.
pub(super) fn promote(st: &mut IndexState, path: &Path) -> Result<()> {
    if !st.mapped {
        return Ok(());
    }
    let path_str = path.to_str().ok_or_else(|| Error::IndexFile {
        path: path.to_path_buf(),
        reason: "path is not UTF-8".into(),
    })?;
    let owned = Index::restore(path_str).map_err(|e| Error::IndexFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if owned.size() != st.index.size() {
        return Err(Error::IndexFile {
            path: path.to_path_buf(),
            reason: "file changed under a mapped index".into(),
        });
    }
    owned.change_expansion_search(st.ef_search);
    owned
        .reserve_capacity_and_threads(owned.size().max(64), search_threads())
        .map_err(usearch_err)?;
    st.index = owned;
    st.mapped = false;
    Ok(())
}

pub(super) fn ensure_capacity(index: &Index, adds: usize) -> Result<()> {
    let need = index.size() + adds;
    if need > index.capacity() {
        let cap = need.max(index.capacity() * 2).max(64);
        index
            .reserve_capacity_and_threads(cap, search_threads())
            .map_err(usearch_err)?;
    }
    Ok(())
}

impl LiveIndex {
    pub(super) fn new(index: Index, mapped: bool, seq: u64, dirty: u64, slots: usize) -> Self {
        index.change_expansion_search(64);
        LiveIndex {
            state: RwLock::new(IndexState {
                index,
                mapped,
                seq,
                dirty,
                ef_search: 64,
                unreachable: Vec::new(),
            }),
            slots: Slots::new(slots),
            check: CheckState::new(FileCheck::NotApplicable),
        }
    }

    /// The same index, with the checksum check of the file it came from.
    pub(super) fn with_check(mut self, check: Arc<CheckState>) -> Self {
        self.check = check;
        self
    }

    /// Approximate k nearest neighbours of `query`: `(rowid, index distance)` pairs, nearest
    /// first. `ef_search` is USearch's `expansion_search`.
    ///
    /// An index of at most `exact_up_to` vectors is searched exhaustively
    /// (USearch `exact_search`, which skips removed vectors): as cheap as a graph search at that
    /// size, and immune to what a small HNSW graph can get wrong — vectors left unreachable when
    /// USearch reuses the slots of removed vectors, or distinct vectors cut off by many exact
    /// duplicates (both found by tests/differential.rs).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef_search: usize,
        exact_up_to: usize,
    ) -> Result<Vec<(u64, f32)>> {
        let guard = self.with_ef(ef_search);
        if k == 0 || guard.index.size() == 0 {
            return Ok(Vec::new());
        }
        // USearch allocates result buffers of `k` entries up front: a huge LIMIT must not turn
        // into a huge allocation (LIMIT 2^40 aborted the process before this clamp).
        let k = k.min(guard.index.size());
        let _slot = self.slots.acquire();
        let exact = guard.index.size() <= exact_up_to;
        let matches = if exact {
            guard.index.exact_search(query, k)
        } else {
            guard.index.search(query, k)
        }
        .map_err(usearch_err)?;
        let mut found: Vec<(u64, f32)> = matches.keys.into_iter().zip(matches.distances).collect();
        if !exact {
            guard.merge_unreachable(query, k, |_| true, &mut found)?;
        }
        Ok(found)
    }
}

impl IndexState {
    /// Compares `query` with every unreachable vector that `keep` accepts, and merges those
    /// nearer than the `k`-th of `found` (nearest first, USearch distances) into it.
    pub(super) fn merge_unreachable(
        &self,
        query: &[f32],
        k: usize,
        keep: impl Fn(u64) -> bool,
        found: &mut Vec<(u64, f32)>,
    ) -> Result<()> {
        if self.unreachable.is_empty() {
            return Ok(());
        }
        let metric = self.index.metric_kind();
        let mut buf = vec![0f32; self.index.dimensions()];
        for &key in &self.unreachable {
            if !keep(key) || found.iter().any(|(k2, _)| *k2 == key) {
                continue;
            }
            if self.index.get(key, &mut buf).map_err(usearch_err)? == 0 {
                continue;
            }
            let d = usearch_distance(metric, query, &buf);
            if found.len() < k || found.last().is_some_and(|(_, worst)| d < *worst) {
                let at = found.partition_point(|(_, x)| *x <= d);
                found.insert(at, (key, d));
                found.truncate(k);
            }
        }
        Ok(())
    }

    /// Forgets `key` as unreachable: its vector was removed or added anew.
    pub(super) fn relinked(&mut self, key: u64) {
        if let Ok(at) = self.unreachable.binary_search(&key) {
            self.unreachable.remove(at);
        }
    }
}

/// The distance USearch reports for `metric` (f32): squared L2, `1 − cos` (1 when either
/// vector is all zeros, as USearch has it), or `1 − a·b`.
fn usearch_distance(metric: MetricKind, a: &[f32], b: &[f32]) -> f32 {
    if metric == MetricKind::L2sq {
        let d = distance::l2(a, b);
        (d * d) as f32
    } else if metric == MetricKind::Cos {
        let d = distance::cosine(a, b);
        if d.is_nan() {
            1.0
        } else {
            d as f32
        }
    } else {
        (1.0 - distance::dot(a, b)) as f32
    }
}

impl LiveIndex {
    /// Vectors in the index.
    pub fn size(&self) -> usize {
        self.state.read().index.size()
    }

    /// The `k` nearest neighbours of `query` among the keys (rowids) `keep` accepts:
    /// USearch `filtered_search` with `expansion_search` = `ef`. The walk visits every node
    /// the HNSW search would; only accepted keys enter the results. Returns `(rowid, index
    /// distance)` pairs, nearest first; fewer than `k` when the walk found fewer.
    pub fn filtered_search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: impl Fn(u64) -> bool,
    ) -> Result<Vec<(u64, f32)>> {
        let guard = self.with_ef(ef);
        if k == 0 || guard.index.size() == 0 {
            return Ok(Vec::new());
        }
        let k = k.min(guard.index.size());
        let _slot = self.slots.acquire();
        let matches = guard
            .index
            .filtered_search(query, k, &keep)
            .map_err(usearch_err)?;
        let mut found: Vec<(u64, f32)> = matches.keys.into_iter().zip(matches.distances).collect();
        guard.merge_unreachable(query, k, &keep, &mut found)?;
        Ok(found)
    }

    /// True when the index stores f32 vectors, so [`LiveIndex::get`] returns them exactly.
    pub fn stores_f32(&self) -> bool {
        self.state.read().index.scalar_kind() == ScalarKind::F32
    }

    /// Copies the vector stored under `rowid` into `buf` (of the index's dimensions); false
    /// when the index has no such key.
    pub fn get(&self, rowid: u64, buf: &mut [f32]) -> Result<bool> {
        let st = self.state.read();
        Ok(st.index.get(rowid, buf).map_err(usearch_err)? > 0)
    }

    /// A read guard on the state with `expansion_search` set to `ef`.
    fn with_ef(&self, ef: usize) -> parking_lot::RwLockReadGuard<'_, IndexState> {
        let r = self.state.read();
        if r.ef_search == ef {
            return r;
        }
        drop(r);
        let mut w = self.state.write();
        if w.ef_search != ef {
            w.index.change_expansion_search(ef);
            w.ef_search = ef;
        }
        RwLockWriteGuard::downgrade(w)
    }
}
