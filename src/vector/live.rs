//! An index in memory ([`LiveIndex`]): a base graph, a delta beside it, tombstones; and
//! their searches.
//!
//! The shape is an LSM tree's, as LanceDB's fragments and Milvus's growing and sealed
//! segments have it:
//!
//! - the **base** is the index as saved, memory-mapped from its file (USearch `view`), or an
//!   owned index right after a build or a merge in this process;
//! - the **delta** is a small owned USearch index beside a mapped base that takes the
//!   vectors written since the base was saved (a mapped base is read-only, and copying it
//!   into memory on the first write cost 81 ms at 63K vectors and would cost 1.6 GB at
//!   1M × 384). An owned base takes writes itself, so it has no delta;
//! - **tombstones** name the vectors (in the base or the delta) whose row was deleted or
//!   whose vector was rewritten. USearch never removes them: every search filters them out,
//!   and the graph keeps its links through them, as hnswlib's `mark_deleted` does. USearch's
//!   own `remove` frees the slot for the next `add` to reuse, and the reused node keeps the
//!   incoming links of the old vector: recall@10 fell from 0.976 to 0.963 on the 63K set after
//!   deleting a third and rewriting 1,000 vectors (0.988 to 0.945 at 20K). Tombstones cost
//!   search time instead; `VACUUM` rebuilds an index whose tombstones pass a fraction.
//! - the **tail** holds the vectors written by statements and not yet in a graph: a statement
//!   only appends to it (no HNSW insert while it excludes readers), every search compares the
//!   query with each tail vector, and [`LiveIndex::flush_tail`] moves it into the delta (or an
//!   owned base) in the background once it holds [`TAIL_VECTORS`], with searches running.
//!
//! Since a tombstoned vector stays in the graph under its key, a row whose vector is written
//! again gets a new USearch key, its **label**: the rowid in the low 48 bits and a version in
//! the high 16 (rowids stay below 2^48). Rows whose current label is not their rowid are
//! listed in `relabeled`. Searches return rowids.
//!
//! A query searches the base (tombstones filtered), the delta and the tail and merges the
//! lists by distance; a delta of [`PARALLEL_DELTA`] vectors or more is searched on a thread of
//! its own beside the base. A merge
//! (`VectorIndexes::save`, on `CHECKPOINT`, at close, on eviction, or when the delta grows as
//! large as the base or `checkpoint_changes`) copies the base into memory, adds the delta,
//! writes a new file and maps it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock, RwLockWriteGuard};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use super::check::{CheckState, FileCheck};
use super::{distance, search_threads, usearch_err};
use crate::error::{Error, Result};

/// A counting semaphore bounding concurrent searches to the thread contexts USearch reserved.
struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
    /// Searches that may run at once.
    total: usize,
}

impl Slots {
    pub(super) fn new(n: usize) -> Self {
        Slots {
            free: Mutex::new(n.max(1)),
            cv: Condvar::new(),
            total: n.max(1),
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

/// Rowids are the low 48 bits of a label; the version the high 16.
pub(super) const ROWID_MASK: u64 = (1 << 48) - 1;
const VERSION_STEP: u64 = 1 << 48;

/// The rowid a label stands for.
pub(super) fn rowid_of(label: u64) -> u64 {
    label & ROWID_MASK
}

/// Tail flushes and catch-ups add their vectors on all cores from this many on.
const PARALLEL_ADDS: usize = 256;

/// A statement's write leaves its vectors in the tail; once it holds this many, a background
/// flush (one core) moves the tail into a graph. At 384 dimensions an exhaustive pass over a full
/// tail costs about as much as a tenth of an HNSW search of the 63K set.
pub(crate) const TAIL_VECTORS: usize = 1024;

/// A writer that leaves a tail this long after its statement (the background flush is behind)
/// moves it into the graph itself, on all cores, before its statement returns.
pub(crate) const TAIL_BACKPRESSURE: usize = 4 * TAIL_VECTORS;

/// A write that leaves a tail this long moves it into a graph at once, inside its statement
/// (a `COPY` or a statement over many rows applies its changes chunk by chunk).
pub(crate) const TAIL_CAP: usize = 8 * TAIL_VECTORS;

/// Vectors not yet in a graph, stored flat (`dims` floats each), with their labels.
#[derive(Default)]
pub(super) struct Tail {
    dims: usize,
    labels: Vec<u64>,
    data: Vec<f32>,
    /// ‖v‖² of each vector (cosine).
    norms: Vec<f32>,
    /// Label → position in `labels`.
    pos: HashMap<u64, usize>,
}

impl Tail {
    fn new(dims: usize) -> Self {
        Tail {
            dims,
            ..Tail::default()
        }
    }

    pub(super) fn len(&self) -> usize {
        self.labels.len()
    }

    fn contains(&self, label: u64) -> bool {
        self.pos.contains_key(&label)
    }

    fn vector(&self, at: usize) -> &[f32] {
        &self.data[at * self.dims..(at + 1) * self.dims]
    }

    /// The vector of `label`, if the tail holds it.
    pub(super) fn get(&self, label: u64) -> Option<&[f32]> {
        self.pos.get(&label).map(|&at| self.vector(at))
    }

    fn push(&mut self, label: u64, v: &[f32]) {
        self.pos.insert(label, self.labels.len());
        self.labels.push(label);
        self.data.extend_from_slice(v);
        self.norms.push(distance::lanes(v, v, |x, _| x * x));
    }

    /// Removes `label` (the last vector takes its place); false when absent.
    fn remove(&mut self, label: u64) -> bool {
        let Some(at) = self.pos.remove(&label) else {
            return false;
        };
        let last = self.labels.len() - 1;
        if at != last {
            let moved = self.labels[last];
            self.labels.swap(at, last);
            self.norms.swap(at, last);
            let (d, dims) = (&mut self.data, self.dims);
            d.copy_within(last * dims..(last + 1) * dims, at * dims);
            self.pos.insert(moved, at);
        }
        self.labels.pop();
        self.norms.pop();
        self.data.truncate(last * self.dims);
        true
    }

    /// The `k` nearest vectors `keep` accepts, by USearch's distance for `metric`, merged
    /// into `found`.
    fn search_into(
        &self,
        metric: MetricKind,
        query: &[f32],
        k: usize,
        keep: Option<&dyn Fn(u64) -> bool>,
        dedup: bool,
        found: &mut Vec<(u64, f32)>,
    ) {
        if self.labels.is_empty() {
            return;
        }
        let qq = distance::lanes(query, query, |x, _| x * x);
        for (i, &label) in self.labels.iter().enumerate() {
            if keep.is_some_and(|f| !f(label)) {
                continue;
            }
            let v = self.vector(i);
            let d = if metric == MetricKind::L2sq {
                distance::lanes(v, query, |x, y| (x - y) * (x - y))
            } else {
                let dot = distance::lanes(v, query, |x, y| x * y);
                if metric == MetricKind::Cos {
                    let denom = (self.norms[i] * qq).sqrt();
                    if denom == 0.0 {
                        1.0
                    } else {
                        1.0 - dot / denom
                    }
                } else {
                    1.0 - dot
                }
            };
            if dedup && found.iter().any(|(l, _)| *l == label) {
                continue;
            }
            insert_sorted(found, k, (label, d));
        }
    }
}

pub(super) struct IndexState {
    /// The base graph: mapped from the file (`mapped`), or owned.
    pub(super) base: Arc<Index>,
    /// `base` is a read-only `view` of the saved file.
    pub(super) mapped: bool,
    /// Vectors written since a mapped base was saved (empty beside an owned base).
    pub(super) delta: Arc<Index>,
    /// Labels in `delta`, in the order they were added (tombstoned ones included).
    pub(super) delta_labels: Vec<u64>,
    /// Vectors written by statements and not yet in a graph (the **tail**): searched
    /// exhaustively, moved into the delta (or an owned base) by [`LiveIndex::flush_tail`]
    /// once [`TAIL_VECTORS`] have gathered, after the writing statement.
    pub(super) tail: Tail,
    /// Labels being moved from the tail into a graph by a running flush.
    pub(super) flushing: HashSet<u64>,
    /// Every change up to this table sequence is in a graph (see [`IndexState::graph_seq`]).
    graph_seq: u64,
    /// Labels of deleted or superseded vectors, in the base or the delta (a tail vector that
    /// is deleted or superseded simply leaves the tail).
    pub(super) tombstones: HashSet<u64>,
    /// Tombstones that are in the base (for the fraction `VACUUM` looks at).
    pub(super) base_dead: usize,
    /// Rowid → current (or last) label, for rows whose label is not their rowid.
    pub(super) relabeled: HashMap<u64, u64>,
    /// The table change sequence this index reflects.
    pub(super) seq: u64,
    /// Changes applied since the last save.
    pub(super) dirty: u64,
    /// Current USearch `expansion_search`.
    pub(super) ef_search: usize,
    /// Labels of vectors that no graph search can reach (outside the level-0 graph's main
    /// component after the repair, see [`super::repair`]), sorted: every search also
    /// compares the query with each of them exactly. Empty in a healthy index; saved in the
    /// file's trailer.
    pub(super) unreachable: Vec<u64>,
    /// Size and fingerprint of the file a mapped base was mapped from (a merge loads that
    /// file when the index path still holds it).
    pub(super) base_file: Option<(u64, u32)>,
}

/// An index in memory.
pub(crate) struct LiveIndex {
    pub(super) state: RwLock<IndexState>,
    slots: Slots,
    /// Held by a tail flush and by a save, which must not interleave.
    pub(super) maintenance: Mutex<()>,
    /// A background tail flush is running (or about to).
    pub(super) flusher: std::sync::atomic::AtomicBool,
    /// The checksum check of the file this index was mapped or loaded from.
    pub(super) check: Arc<CheckState>,
}

/// Grows `index` so that `adds` more vectors fit, with a thread context per search slot and
/// per adding thread.
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

/// Adds `vectors` (`(label, vector)`) to `index`: on all cores when there are at least
/// [`PARALLEL_ADDS`], then checks that a search for each added vector finds it, and re-adds
/// serially those it does not (USearch's concurrent `add` can leave a vector unreachable,
/// unum-cloud/USearch#735, see [`super::repair`]). Returns the labels still not found, to be
/// compared exactly by every search.
pub(super) fn add_all(
    index: &Index,
    vectors: &[(u64, &[f32])],
    threads: usize,
) -> Result<Vec<u64>> {
    ensure_capacity(index, vectors.len())?;
    // No more threads than the thread contexts every index here has reserved (at least
    // `search_threads()`, see `ensure_capacity` and `empty_like`).
    let threads = threads
        .clamp(1, search_threads())
        .min(vectors.len().div_ceil(PARALLEL_ADDS).max(1));
    if threads <= 1 {
        for (label, v) in vectors {
            index.add(*label, v).map_err(usearch_err)?;
        }
        return Ok(Vec::new());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    const CHUNK: usize = 64;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let start = next.fetch_add(CHUNK, std::sync::atomic::Ordering::Relaxed);
                if start >= vectors.len() || failure.lock().is_some() {
                    break;
                }
                for (label, v) in &vectors[start..(start + CHUNK).min(vectors.len())] {
                    if let Err(e) = index.add(*label, v) {
                        *failure.lock() = Some(usearch_err(e));
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    let k = index.size().min(16);
    let metric = index.metric_kind();
    // Found, or tied: `k` vectors at least as near as the vector itself (exact duplicates,
    // or inner product, where a vector need not be its own nearest) say nothing either way.
    let findable = |label: u64, v: &[f32]| -> Result<bool> {
        let found = index.search(v, k).map_err(usearch_err)?;
        let own = usearch_distance(metric, v, v) + 1e-5;
        Ok(found.keys.contains(&label)
            || (found.keys.len() == k && found.distances.last().is_some_and(|d| *d <= own)))
    };
    let mut lost = Vec::new();
    for (label, v) in vectors {
        if !findable(*label, v)? {
            index.remove(*label).map_err(usearch_err)?;
            index.add(*label, v).map_err(usearch_err)?;
            if !findable(*label, v)? {
                lost.push(*label);
            }
        }
    }
    lost.sort_unstable();
    Ok(lost)
}

/// An empty owned index with the options of `like`.
pub(super) fn empty_like(options: &IndexOptions) -> Result<Index> {
    let index = Index::new(options).map_err(usearch_err)?;
    index
        .reserve_capacity_and_threads(64, search_threads())
        .map_err(usearch_err)?;
    Ok(index)
}

impl IndexState {
    /// A state over `base`, with no delta and no tombstones.
    pub(super) fn new(base: Index, mapped: bool, delta: Index, seq: u64, dirty: u64) -> Self {
        base.change_expansion_search(64);
        let tail = Tail::new(base.dimensions());
        delta.change_expansion_search(64);
        IndexState {
            base: Arc::new(base),
            mapped,
            tail,
            flushing: HashSet::new(),
            graph_seq: seq,
            delta: Arc::new(delta),
            delta_labels: Vec::new(),
            tombstones: HashSet::new(),
            base_dead: 0,
            relabeled: HashMap::new(),
            seq,
            dirty,
            ef_search: 64,
            unreachable: Vec::new(),
            base_file: None,
        }
    }

    /// Takes the tombstones and relabeled rows of a saved file's trailer.
    pub(super) fn restore(&mut self, tombstones: Vec<u64>, relabeled: Vec<(u64, u64)>) {
        self.base_dead = tombstones
            .iter()
            .filter(|&&l| self.base.contains(l))
            .count();
        self.tombstones = tombstones.into_iter().collect();
        self.relabeled = relabeled.into_iter().collect();
    }

    /// After a merge: `base` maps the new file (which holds every delta vector added before
    /// the merge began), `delta` holds the `later` labels added since. Tombstones of vectors
    /// in neither are dropped (they were left out of the merge).
    pub(super) fn replace_base(&mut self, base: Index, delta: Index, later: Vec<u64>) {
        base.change_expansion_search(self.ef_search);
        delta.change_expansion_search(self.ef_search);
        self.base = Arc::new(base);
        self.delta = Arc::new(delta);
        self.delta_labels = later;
        self.mapped = true;
        let (base, delta) = (&self.base, &self.delta);
        self.tombstones
            .retain(|&l| base.contains(l) || delta.contains(l));
        self.base_dead = self
            .tombstones
            .iter()
            .filter(|&&l| base.contains(l))
            .count();
        self.unreachable
            .retain(|&l| base.contains(l) || delta.contains(l));
    }

    /// The table sequence up to which every change is in a graph (the base, the delta, and
    /// tombstones): what a saved file reflects. Tombstones and relabeled rows of later
    /// changes are saved too; a catch-up from the change log after this sequence skips what
    /// they already say.
    pub(super) fn graph_seq(&self) -> u64 {
        if self.tail.len() == 0 && self.flushing.is_empty() {
            self.seq
        } else {
            self.graph_seq
        }
    }

    /// Vectors a search can return.
    pub(super) fn live(&self) -> usize {
        let mut n = (self.base.size() + self.delta.size() + self.tail.len()) as i64
            - self.tombstones.len() as i64;
        // While a flush runs, a vector may be in the tail and the graph (counted twice), or
        // tombstoned (retired meanwhile) before its add reached the graph.
        for &l in &self.flushing {
            let in_graph = self.target().contains(l);
            if in_graph && self.tail.contains(l) {
                n -= 1;
            } else if !in_graph && self.tombstones.contains(&l) {
                n += 1;
            }
        }
        n.max(0) as usize
    }

    /// The fraction of the base's vectors that are tombstones.
    pub(super) fn dead_fraction(&self) -> f64 {
        if self.base.size() == 0 {
            0.0
        } else {
            self.base_dead as f64 / self.base.size() as f64
        }
    }

    /// The index a write adds to: the delta beside a mapped base, else the base.
    fn target(&self) -> &Arc<Index> {
        if self.mapped {
            &self.delta
        } else {
            &self.base
        }
    }

    fn holds(&self, label: u64) -> bool {
        self.tail.contains(label)
            || self.flushing.contains(&label)
            || self.base.contains(label)
            || self.delta.contains(label)
    }

    /// The label of `rowid`'s current vector, if the index has one.
    pub(super) fn label_of(&self, rowid: u64) -> Option<u64> {
        let label = self.relabeled.get(&rowid).copied().unwrap_or(rowid);
        (!self.tombstones.contains(&label) && self.holds(label)).then_some(label)
    }

    /// Tombstones `rowid`'s current vector, if any.
    fn retire(&mut self, rowid: u64) {
        if let Some(label) = self.label_of(rowid) {
            // A tail vector leaves the tail; one a flush is adding to a graph is also
            // tombstoned there.
            if self.tail.remove(label) && !self.flushing.contains(&label) {
                return;
            }
            self.tombstones.insert(label);
            if self.base.contains(label) {
                self.base_dead += 1;
            }
            if let Ok(at) = self.unreachable.binary_search(&label) {
                self.unreachable.remove(at);
            }
        }
    }

    /// A label for a new vector of `rowid`: its last label while no index holds that, else
    /// the next version.
    fn fresh_label(&mut self, rowid: u64) -> Result<u64> {
        let mut label = self.relabeled.get(&rowid).copied().unwrap_or(rowid);
        while self.holds(label) {
            label = label.checked_add(VERSION_STEP).ok_or_else(|| {
                Error::VectorIndex(format!("row {rowid}'s vector was rewritten 65,535 times since the index was built; VACUUM rebuilds it"))
            })?;
        }
        if label == rowid {
            self.relabeled.remove(&rowid);
        } else {
            self.relabeled.insert(rowid, label);
        }
        Ok(label)
    }

    /// Applies a statement's row changes `(rowid, new vector or None)`, in order: each
    /// rowid's old vector becomes a tombstone (or leaves the tail) and its new one joins the
    /// tail, where searches compare it exhaustively until [`LiveIndex::flush_tail`] moves it
    /// into a graph. Costs no graph work: it runs while the writer excludes readers. Rowids
    /// above 2^48 are an error (and nothing is applied).
    pub(super) fn append(&mut self, changes: &[(u64, Option<&[f32]>)]) -> Result<()> {
        if let Some((rowid, _)) = changes.iter().find(|(r, _)| *r > ROWID_MASK) {
            return Err(Error::VectorIndex(format!(
                "rowid {rowid} is beyond the 2^48 an index can hold"
            )));
        }
        let dims = self.base.dimensions();
        if let Some((rowid, v)) = changes
            .iter()
            .find(|(_, v)| v.is_some_and(|v| v.len() != dims))
        {
            return Err(Error::VectorIndex(format!(
                "row {rowid}'s vector has {} dimensions, the index {dims}",
                v.map_or(0, <[f32]>::len)
            )));
        }
        if self.tail.len() == 0 && self.flushing.is_empty() {
            // Everything before this statement is in a graph.
            self.graph_seq = self.seq;
        }
        for &(rowid, v) in changes {
            self.retire(rowid);
            if let Some(v) = v {
                let label = self.fresh_label(rowid)?;
                self.tail.push(label, v);
            }
        }
        Ok(())
    }

    /// Applies row changes `(rowid, new vector or None)`, in order, straight into a graph:
    /// each rowid's old vector becomes a tombstone and its new one is added (to the delta
    /// beside a mapped base, else to the base), on all cores when there are many. For
    /// catch-ups on an index no reader sees yet. Rowids above 2^48 are an error.
    pub(super) fn write(
        &mut self,
        changes: &[(u64, Option<&[f32]>)],
        threads: usize,
    ) -> Result<()> {
        let mut adds: Vec<(u64, &[f32])> = Vec::new();
        let mut pending: HashMap<u64, usize> = HashMap::new();
        for &(rowid, v) in changes {
            if rowid > ROWID_MASK {
                return Err(Error::VectorIndex(format!(
                    "rowid {rowid} is beyond the 2^48 an index can hold"
                )));
            }
            // A rowid written twice in one statement: its last vector wins.
            if let Some(at) = pending.remove(&rowid) {
                adds[at].1 = &[];
            }
            self.retire(rowid);
            if let Some(v) = v {
                let label = self.fresh_label(rowid)?;
                pending.insert(rowid, adds.len());
                adds.push((label, v));
            }
        }
        adds.retain(|(_, v)| !v.is_empty());
        let lost = add_all(self.target(), &adds, threads)?;
        if self.mapped {
            self.delta_labels.extend(adds.iter().map(|(l, _)| *l));
        }
        if !lost.is_empty() {
            self.unreachable.extend(lost);
            self.unreachable.sort_unstable();
        }
        Ok(())
    }

    /// Compares `query` with every unreachable vector that `keep` accepts, and merges those
    /// nearer than the `k`-th of `found` (nearest first, USearch distances, labels) into it.
    fn merge_unreachable(
        &self,
        query: &[f32],
        k: usize,
        keep: &dyn Fn(u64) -> bool,
        found: &mut Vec<(u64, f32)>,
    ) -> Result<()> {
        if self.unreachable.is_empty() {
            return Ok(());
        }
        let metric = self.base.metric_kind();
        let mut buf = vec![0f32; self.base.dimensions()];
        for &label in &self.unreachable {
            if !keep(label) || found.iter().any(|(l, _)| *l == label) {
                continue;
            }
            let index = if self.base.contains(label) {
                &self.base
            } else {
                &self.delta
            };
            if index.get(label, &mut buf).map_err(usearch_err)? == 0 {
                continue;
            }
            let d = usearch_distance(metric, query, &buf);
            insert_sorted(found, k, (label, d));
        }
        Ok(())
    }

    /// The `k` nearest live vectors of `index` that `keep` accepts (labels, nearest first):
    /// exhaustive when `exact`, else a graph search, filtered when there is anything to
    /// filter.
    fn search_one(
        &self,
        index: &Index,
        query: &[f32],
        k: usize,
        exact: bool,
        keep: Option<&dyn Fn(u64) -> bool>,
    ) -> Result<Vec<(u64, f32)>> {
        if index.size() == 0 || k == 0 {
            return Ok(Vec::new());
        }
        let matches = if exact && keep.is_none() {
            // USearch's exhaustive search takes no filter: ask for enough to drop tombstones.
            let want = (k + self.tombstones.len()).min(index.size());
            index.exact_search(query, want)
        } else if keep.is_none() && self.tombstones.is_empty() {
            index.search(query, k.min(index.size()))
        } else {
            let tomb = &self.tombstones;
            index.filtered_search(query, k.min(index.size()), |label: u64| {
                !tomb.contains(&label) && keep.is_none_or(|f| f(label))
            })
        }
        .map_err(usearch_err)?;
        let mut found: Vec<(u64, f32)> = matches
            .keys
            .into_iter()
            .zip(matches.distances)
            .filter(|(l, _)| !self.tombstones.contains(l))
            .collect();
        found.truncate(k);
        Ok(found)
    }

    /// Base, delta and tail searched and merged (labels, nearest first, at most `k`). When
    /// the delta holds at least [`PARALLEL_DELTA`] vectors or the tail [`PARALLEL_TAIL`], the
    /// delta and the tail are searched on a second thread beside the base's search.
    fn search_all(
        &self,
        query: &[f32],
        k: usize,
        exact_up_to: usize,
        keep: Option<&(dyn Fn(u64) -> bool + Sync)>,
    ) -> Result<Vec<(u64, f32)>> {
        let keep_dyn = keep.map(|f| f as &dyn Fn(u64) -> bool);
        // While a flush runs, its vectors are in the tail and (some of them) in a graph. The
        // graph it adds to is searched through its links, never exhaustively: USearch's
        // `exact_search` walks every slot and crashed on one a concurrent `add` was filling
        // (its graph search takes the node locks an add takes).
        let dedup = !self.flushing.is_empty();
        let (into_base, into_delta) = (dedup && !self.mapped, dedup && self.mapped);
        let exact_base = self.base.size() <= exact_up_to && !into_base;
        let exact_delta = self.delta.size() <= exact_up_to && !into_delta;
        let metric = self.base.metric_kind();
        // The delta's and the tail's nearest, merged.
        let beside = || -> Result<Vec<(u64, f32)>> {
            let keep = keep.map(|f| f as &dyn Fn(u64) -> bool);
            let mut found = self.search_one(&self.delta, query, k, exact_delta, keep)?;
            self.tail
                .search_into(metric, query, k, keep, dedup, &mut found);
            Ok(found)
        };
        let parallel = (self.delta.size() >= PARALLEL_DELTA || self.tail.len() >= PARALLEL_TAIL)
            && search_threads() > 1;
        let (base, other) = if parallel {
            std::thread::scope(|s| {
                let other = s.spawn(beside);
                let base = self.search_one(&self.base, query, k, exact_base, keep_dyn);
                let other = other
                    .join()
                    .unwrap_or_else(|_| Err(Error::VectorIndex("delta search panicked".into())));
                (base, other)
            })
        } else {
            (
                self.search_one(&self.base, query, k, exact_base, keep_dyn),
                beside(),
            )
        };
        let mut found = base?;
        for hit in other? {
            if dedup && found.iter().any(|(l, _)| *l == hit.0) {
                continue;
            }
            insert_sorted(&mut found, k, hit);
        }
        if !(exact_base && exact_delta) || keep.is_some() {
            let all = |_: u64| true;
            self.merge_unreachable(query, k, keep_dyn.unwrap_or(&all), &mut found)?;
        }
        Ok(found)
    }
}

/// A tail of this many vectors is compared on the second thread too.
const PARALLEL_TAIL: usize = 256;

/// A delta of this many vectors is searched on a thread of its own beside the base.
const PARALLEL_DELTA: usize = 2048;

/// Inserts `hit` into `found` (nearest first) when it is among the `k` nearest.
fn insert_sorted(found: &mut Vec<(u64, f32)>, k: usize, hit: (u64, f32)) {
    if found.len() < k || found.last().is_some_and(|(_, worst)| hit.1 < *worst) {
        let at = found.partition_point(|(_, x)| *x <= hit.1);
        found.insert(at, hit);
        found.truncate(k);
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
    pub(super) fn new(state: IndexState, slots: usize) -> Self {
        LiveIndex {
            state: RwLock::new(state),
            slots: Slots::new(slots),
            maintenance: Mutex::new(()),
            flusher: std::sync::atomic::AtomicBool::new(false),
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
    /// A base or delta of at most `exact_up_to` vectors is searched exhaustively
    /// (USearch `exact_search`): as cheap as a graph search at that size, and immune to what
    /// a small HNSW graph can get wrong (distinct vectors cut off by many exact duplicates,
    /// found by tests/differential.rs).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef_search: usize,
        exact_up_to: usize,
    ) -> Result<Vec<(u64, f32)>> {
        let guard = self.with_ef(ef_search);
        // USearch allocates result buffers of `k` entries up front: a huge LIMIT must not turn
        // into a huge allocation (LIMIT 2^40 aborted the process before this clamp).
        let k = k.min(guard.live());
        if k == 0 {
            return Ok(Vec::new());
        }
        let _slot = self.slots.acquire();
        let found = guard.search_all(query, k, exact_up_to, None)?;
        Ok(found.into_iter().map(|(l, d)| (rowid_of(l), d)).collect())
    }

    /// Vectors in the index (tombstones excluded).
    pub fn size(&self) -> usize {
        self.state.read().live()
    }

    /// The `k` nearest neighbours of `query` among the rowids `keep` accepts:
    /// USearch `filtered_search` with `expansion_search` = `ef`, over the base and the delta.
    /// The walk visits every node the HNSW search would; only accepted keys enter the
    /// results. Returns `(rowid, index distance)` pairs, nearest first; fewer than `k` when
    /// the walk found fewer.
    pub fn filtered_search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: impl Fn(u64) -> bool + Sync,
    ) -> Result<Vec<(u64, f32)>> {
        let guard = self.with_ef(ef);
        let k = k.min(guard.live());
        if k == 0 {
            return Ok(Vec::new());
        }
        let _slot = self.slots.acquire();
        let keep_label = |label: u64| keep(rowid_of(label));
        let found = guard.search_all(query, k, 0, Some(&keep_label))?;
        Ok(found.into_iter().map(|(l, d)| (rowid_of(l), d)).collect())
    }

    /// True when the index stores f32 vectors, so [`LiveIndex::get`] returns them exactly.
    pub fn stores_f32(&self) -> bool {
        self.state.read().base.scalar_kind() == ScalarKind::F32
    }

    /// Copies the current vector of `rowid` into `buf` (of the index's dimensions); false
    /// when the index has none.
    pub fn get(&self, rowid: u64, buf: &mut [f32]) -> Result<bool> {
        let st = self.state.read();
        let Some(label) = st.label_of(rowid) else {
            return Ok(false);
        };
        if let Some(v) = st.tail.get(label) {
            buf.copy_from_slice(v);
            return Ok(true);
        }
        let index = if st.base.contains(label) {
            &st.base
        } else {
            &st.delta
        };
        Ok(index.get(label, buf).map_err(usearch_err)? > 0)
    }

    /// Tail vectors waiting for a graph.
    pub fn tail_len(&self) -> usize {
        self.state.read().tail.len()
    }

    /// Moves the tail's vectors into a graph (the delta beside a mapped base, else the base)
    /// when it holds at least `min` of them, on up to `threads` cores. Searches go on
    /// meanwhile: the adds run under the state's read lock (USearch adds and searches are
    /// concurrent), and the tail keeps the vectors until they are in the graph. Skipped
    /// when a save or another flush holds the index (`wait` false) — the next write retries.
    ///
    /// # Errors
    /// [`Error::VectorIndex`] when USearch fails to grow or add; the vectors then stay in the
    /// tail.
    pub fn flush_tail(&self, min: usize, threads: usize, wait: bool) -> Result<usize> {
        let _m = if wait {
            self.maintenance.lock()
        } else {
            match self.maintenance.try_lock() {
                Some(m) => m,
                None => return Ok(0),
            }
        };
        self.flush_tail_locked(min, threads)
    }

    /// [`LiveIndex::flush_tail`] with `maintenance` held by the caller.
    pub(super) fn flush_tail_locked(&self, min: usize, threads: usize) -> Result<usize> {
        let (labels, data, dims, snap_seq) = {
            let st = self.state.upgradable_read();
            if st.tail.len() < min.max(1) {
                return Ok(0);
            }
            let mut st = parking_lot::RwLockUpgradableReadGuard::upgrade(st);
            let n = st.tail.len();
            // Room for the tail, and a thread context for every search that may run beside
            // the adds and for every adding thread: the adds take no search slot, so
            // queries go on at full width meanwhile.
            let target = st.target();
            let need = target.size() + n;
            let cap = if need > target.capacity() {
                need.max(target.capacity() * 2)
            } else {
                target.capacity()
            };
            target
                .reserve_capacity_and_threads(
                    cap,
                    self.slots.total + threads.clamp(1, search_threads()),
                )
                .map_err(usearch_err)?;
            let labels = st.tail.labels.clone();
            st.flushing.extend(labels.iter().copied());
            (labels, st.tail.data.clone(), st.tail.dims, st.seq)
        };
        let adds: Vec<(u64, &[f32])> = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| (l, &data[i * dims..(i + 1) * dims]))
            .collect();
        let threads = threads.clamp(1, search_threads());
        // The adds hold no lock on the state (a write's append must not wait for them: it
        // runs while the database excludes readers). The graph they add to stays this one:
        // only a merge replaces it, and merges hold `maintenance` too.
        let target = self.state.read().target().clone();
        let result = add_all(&target, &adds, threads);
        let mut st = self.state.write();
        let lost = match result {
            Ok(lost) => lost,
            Err(e) => {
                // The vectors stay in the tail (searches still find them there): drop the
                // copies that reached the graph, so that the next flush adds them once.
                for &l in &labels {
                    if st.target().contains(l) {
                        let _ = st.target().remove(l);
                    }
                    st.flushing.remove(&l);
                }
                return Err(e);
            }
        };
        // Every change up to the copy's sequence is now in the graph (later ones may still be
        // in the tail).
        st.graph_seq = snap_seq;
        let mut moved = 0;
        for &l in &labels {
            st.flushing.remove(&l);
            if st.tail.remove(l) {
                moved += 1;
            } else {
                // Retired while the flush ran: `retire` tombstoned it.
                st.tombstones.insert(l);
            }
        }
        if st.mapped {
            st.delta_labels.extend(labels.iter().copied());
        } else {
            let base = &st.base;
            st.base_dead = st.tombstones.iter().filter(|&&l| base.contains(l)).count();
        }
        if !lost.is_empty() {
            let tomb = &st.tombstones;
            let lost: Vec<u64> = lost.into_iter().filter(|l| !tomb.contains(l)).collect();
            st.unreachable.extend(lost);
            st.unreachable.sort_unstable();
        }
        Ok(moved)
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
            w.base.change_expansion_search(ef);
            w.delta.change_expansion_search(ef);
            w.ef_search = ef;
        }
        RwLockWriteGuard::downgrade(w)
    }
}
