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
//!   owned base) in the background once it holds [`TAIL_VECTORS`], one add at a time between
//!   searches;
//! - a query searches an [`IndexView`]: the above as of one table sequence, shared `Arc`s it
//!   holds without any lock, so that writes and flushes never wait for it.
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

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
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
    /// True when some slot is free (a core has no search).
    fn idle(&self) -> bool {
        *self.free.lock() > 0
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

/// `k` and `expansion_search` of the first, narrow search for each vector in the check after
/// parallel adds (see [`add_all`]).
const CHECK_NARROW: usize = 4;

/// A background flush of a tail this long runs on all cores when it adds to a copy of the
/// delta (see [`LiveIndex::flush_threads`]).
const PARALLEL_FLUSH: usize = 1024;

/// A statement that writes at least this many vectors is a bulk writer's: a tail holding its
/// vectors flushes on all cores (see [`LiveIndex::flush_threads`]). Part 5 of the live
/// benchmark (1,000-row `INSERT`s into an empty indexed table) went from 0.74× to 0.81× of
/// raw USearch adds when its first statement's flush stopped running on one core.
const BULK_STATEMENT: usize = 64;

/// A statement's write leaves its vectors in the tail; once it holds this many, a background
/// flush (lowered priority; one core unless the tail is long or a bulk writer's, see
/// [`LiveIndex::flush_threads`]) moves the tail into a graph. Every search compares the
/// query with each tail vector: part 6 of the live benchmark (two kNN readers beside a writer
/// at 300 rows/s, 63K × 384, adds then beside searches) gave readers 0.69 of their throughput
/// alone and 3.1× their p99 with 1,024 here, 0.86 and 1.18× with 256.
pub(crate) const TAIL_VECTORS: usize = 256;

/// A writer that leaves a tail this long after its statement (the background flush is behind)
/// waits for a flush of the whole tail before its statement returns.
pub(crate) const TAIL_BACKPRESSURE: usize = 4096;

/// A write that leaves a tail this long moves it into a graph at once, inside its statement,
/// on all cores (a `COPY` or a statement over many rows applies its changes chunk by chunk).
pub(crate) const TAIL_CAP: usize = 8192;

/// Vectors not yet in a graph, stored flat (`dims` floats each), with their labels: one
/// block of the tail. Immutable once made, so that a view ([`IndexView`]) shares it.
#[derive(Default)]
pub(super) struct Chunk {
    dims: usize,
    labels: Vec<u64>,
    data: Vec<f32>,
    /// ‖v‖² of each vector (cosine).
    norms: Vec<f32>,
    /// Label → position in `labels`.
    pos: HashMap<u64, usize>,
    /// Vectors written by statements of at least [`BULK_STATEMENT`] vectors (see
    /// [`LiveIndex::flush_threads`]).
    bulk: usize,
}

impl Chunk {
    fn new(dims: usize, entries: &[(u64, &[f32])]) -> Self {
        let mut c = Chunk {
            dims,
            ..Chunk::default()
        };
        for (label, v) in entries {
            c.push(*label, v);
        }
        if entries.len() >= BULK_STATEMENT {
            c.bulk = entries.len();
        }
        c
    }

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn vector(&self, at: usize) -> &[f32] {
        &self.data[at * self.dims..(at + 1) * self.dims]
    }

    fn push(&mut self, label: u64, v: &[f32]) {
        self.pos.insert(label, self.labels.len());
        self.labels.push(label);
        self.data.extend_from_slice(v);
        self.norms.push(distance::lanes(v, v, |x, _| x * x));
    }

    /// The two chunks' vectors in one chunk (`self`'s first).
    fn joined(&self, other: &Chunk) -> Chunk {
        let mut c = Chunk {
            dims: self.dims,
            labels: Vec::with_capacity(self.len() + other.len()),
            data: Vec::with_capacity(self.data.len() + other.data.len()),
            norms: Vec::with_capacity(self.len() + other.len()),
            pos: HashMap::with_capacity(self.len() + other.len()),
            bulk: self.bulk + other.bulk,
        };
        for part in [self, other] {
            for &label in part.labels.iter() {
                c.pos.insert(label, c.labels.len());
                c.labels.push(label);
            }
            c.data.extend_from_slice(&part.data);
            c.norms.extend_from_slice(&part.norms);
        }
        c
    }

    /// The `k` nearest vectors `keep` accepts, by USearch's distance for `metric`, merged
    /// into `found`.
    fn search_into(
        &self,
        metric: MetricKind,
        query: &[f32],
        k: usize,
        keep: &dyn Fn(u64) -> bool,
        dedup: bool,
        found: &mut Vec<(u64, f32)>,
    ) {
        let qq = distance::lanes(query, query, |x, _| x * x);
        for (i, &label) in self.labels.iter().enumerate() {
            if !keep(label) {
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

/// The **tail**: vectors written by statements and not yet in a graph, in immutable chunks.
/// A statement's vectors make one chunk; the last chunks are joined while the last is at
/// least as long as the one before (a binary counter: a tail of `n` vectors has at most
/// log2(n) + 1 chunks, and each vector is copied O(log n) times), so a view copies a few
/// `Arc`s. A deleted or superseded tail vector stays in its chunk under a tombstone until
/// the flush that moves the tail into a graph drops it.
#[derive(Default)]
pub(super) struct Tail {
    dims: usize,
    chunks: Vec<Arc<Chunk>>,
    /// Vectors in `chunks`.
    len: usize,
    /// The first `frozen` chunks are being moved into a graph by a flush: never joined.
    frozen: usize,
}

impl Tail {
    fn new(dims: usize) -> Self {
        Tail {
            dims,
            ..Tail::default()
        }
    }

    /// Vectors in the tail (tombstoned ones included).
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Vectors in the tail written by multi-row statements (of at least [`BULK_STATEMENT`]
    /// vectors).
    fn bulk(&self) -> usize {
        self.chunks.iter().map(|c| c.bulk).sum()
    }

    fn contains(&self, label: u64) -> bool {
        self.chunks.iter().any(|c| c.pos.contains_key(&label))
    }

    /// The vector of `label`, if the tail holds it.
    pub(super) fn get(&self, label: u64) -> Option<&[f32]> {
        self.chunks
            .iter()
            .find_map(|c| c.pos.get(&label).map(|&at| c.vector(at)))
    }

    /// Appends one statement's vectors as a chunk.
    fn push(&mut self, entries: &[(u64, &[f32])]) {
        if entries.is_empty() {
            return;
        }
        self.len += entries.len();
        self.chunks.push(Arc::new(Chunk::new(self.dims, entries)));
        while self.chunks.len() >= self.frozen + 2 {
            let n = self.chunks.len();
            if self.chunks[n - 1].len() < self.chunks[n - 2].len() {
                break;
            }
            let last = self.chunks.pop().unwrap_or_default();
            let before = self.chunks.pop().unwrap_or_default();
            self.chunks.push(Arc::new(before.joined(&last)));
        }
    }

    /// Drops the first `n` chunks (a flush moved them into a graph).
    fn drop_front(&mut self, n: usize) {
        let n = n.min(self.chunks.len());
        self.len -= self.chunks[..n].iter().map(|c| c.len()).sum::<usize>();
        self.chunks.drain(..n);
        self.frozen = 0;
    }
}

/// Tombstones in two sets shared copy-on-write with views ([`IndexView`]): the recent ones
/// in a small set that a write copies when a view holds it, folded into the large one when
/// it grows past an eighth of it (at least [`TOMBSTONE_FOLD`]), so that a write costs
/// O(recent) and a view two `Arc`s.
#[derive(Clone, Default)]
pub(super) struct Tombstones {
    old: Arc<HashSet<u64>>,
    new: Arc<HashSet<u64>>,
}

/// The recent tombstones are folded into the others past this many (or an eighth of them).
const TOMBSTONE_FOLD: usize = 1024;

impl Tombstones {
    pub(super) fn contains(&self, label: &u64) -> bool {
        self.new.contains(label) || self.old.contains(label)
    }

    pub(super) fn len(&self) -> usize {
        self.old.len() + self.new.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &u64> {
        self.old.iter().chain(self.new.iter())
    }

    pub(super) fn insert(&mut self, label: u64) {
        if self.contains(&label) {
            return;
        }
        Arc::make_mut(&mut self.new).insert(label);
        if self.new.len() > TOMBSTONE_FOLD.max(self.old.len() / 8) {
            let new = std::mem::take(Arc::make_mut(&mut self.new));
            Arc::make_mut(&mut self.old).extend(new);
        }
    }

    pub(super) fn remove(&mut self, label: &u64) {
        if self.new.contains(label) {
            Arc::make_mut(&mut self.new).remove(label);
        } else if self.old.contains(label) {
            Arc::make_mut(&mut self.old).remove(label);
        }
    }

    pub(super) fn retain(&mut self, mut f: impl FnMut(&u64) -> bool) {
        let old: HashSet<u64> = self.iter().copied().filter(|l| f(l)).collect();
        *self = Tombstones {
            old: Arc::new(old),
            new: Arc::default(),
        };
    }
}

impl FromIterator<u64> for Tombstones {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        Tombstones {
            old: Arc::new(iter.into_iter().collect()),
            new: Arc::default(),
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
    /// Flushes started so far (each numbered, see [`LiveIndex::flushed`]).
    flushes: u64,
    /// Every change up to this table sequence is in a graph (see [`IndexState::graph_seq`]).
    graph_seq: u64,
    /// Labels of deleted or superseded vectors, in the base, the delta or the tail (a tail
    /// vector's tombstone goes with it when a flush drops it from the tail unflushed).
    pub(super) tombstones: Tombstones,
    /// Tombstones that are in the base (for the fraction `VACUUM` looks at).
    pub(super) base_dead: usize,
    /// Rowid → current (or last) label, for rows whose label is not their rowid.
    pub(super) relabeled: HashMap<u64, u64>,
    /// The table change sequence this index reflects.
    pub(super) seq: u64,
    /// Changes applied since the last save.
    pub(super) dirty: u64,
    /// Labels of vectors that no graph search can reach (outside the level-0 graph's main
    /// component after the repair, see [`super::repair`]), sorted: every search also
    /// compares the query with each of them exactly. Empty in a healthy index; saved in the
    /// file's trailer.
    pub(super) unreachable: Arc<Vec<u64>>,
    /// Size and fingerprint of the file a mapped base was mapped from (a merge loads that
    /// file when the index path still holds it).
    pub(super) base_file: Option<(u64, u32)>,
}

/// An index in memory.
pub(crate) struct LiveIndex {
    pub(super) state: RwLock<IndexState>,
    slots: Slots,
    /// Held shared by every search of the graphs, exclusively to grow a graph (USearch
    /// reallocates its nodes), to change `expansion_search`, and by a flush's in-place adds,
    /// a slice of [`ADD_SLICE`] at a time: USearch's graph search beside a concurrent `add`
    /// read links being written (segfaults in `filtered_search`, and searches that came back
    /// with 1 hit of 3 over 1,900 vectors, both found by tests/concurrency.rs), and its
    /// `exact_search` walked a slot being filled (a segfault found by bench part 6). A flush
    /// into a graph (the delta, or an owned base) of at most [`COPY_UP_TO`] vectors adds to
    /// a copy instead (see [`copy_of`]) and holds searches off not at all.
    graph: RwLock<Graph>,
    /// The label sets of recent flushes, by number: a view drops graph hits of flushes
    /// started after it was taken. Pruned when no view needs them.
    flushed: Mutex<VecDeque<(u64, Arc<HashSet<u64>>)>>,
    /// The views alive, by the number of flushes started before each (with counts).
    views: Mutex<BTreeMap<u64, usize>>,
    /// Held by a tail flush and by a save, which must not interleave.
    pub(super) maintenance: Mutex<()>,
    /// A background tail flush is running (or about to).
    pub(super) flusher: std::sync::atomic::AtomicBool,
    /// The checksum check of the file this index was mapped or loaded from.
    pub(super) check: Arc<CheckState>,
    /// CPU time of one insert into the delta (or owned base) graph, in nanoseconds: a moving
    /// average of what one-core flushes measured (see [`LiveIndex::insert_cost`]).
    insert_ns: std::sync::atomic::AtomicU64,
    /// The estimated CPU time of one insert into a graph of this index's size, in
    /// nanoseconds ([`INSERT_NS_PER_DIM_EF`]).
    insert_estimate_ns: u64,
}

/// Nanoseconds of a core per dimension and per unit of `ef_construction` of one HNSW insert,
/// for the estimate before a flush measures it: 0.7 ms at 384 dimensions and 128 on this
/// project's 2-core machine (the live benchmark's profile).
const INSERT_NS_PER_DIM_EF: u64 = 14;

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
    run_parallel(vectors.len(), threads, |i| {
        let (label, v) = vectors[i];
        index.add(label, v).map_err(usearch_err)
    })?;
    let metric = index.metric_kind();
    // Found at `k` vectors, or tied: `k` vectors at least as near as the vector itself (exact
    // duplicates, or inner product, where a vector need not be its own nearest) say nothing
    // either way, and count as found.
    let findable = |label: u64, v: &[f32], k: usize, ties: bool| -> Result<bool> {
        let k = index.size().min(k);
        let found = index.search(v, k).map_err(usearch_err)?;
        let own = usearch_distance(metric, v, v) + 1e-5;
        Ok(found.keys.contains(&label)
            || (ties && found.keys.len() == k && found.distances.last().is_some_and(|d| *d <= own)))
    };
    // The vectors of `at` that `findable` does not find, searched on the same threads
    // (searches beside searches are safe).
    let not_found = |at: &[usize], k: usize, ties: bool| -> Result<Vec<usize>> {
        let missing: Mutex<Vec<usize>> = Mutex::new(Vec::new());
        run_parallel(at.len(), threads, |i| {
            let (label, v) = vectors[at[i]];
            if !findable(label, v, k, ties)? {
                missing.lock().push(at[i]);
            }
            Ok(())
        })?;
        let mut missing = missing.into_inner();
        missing.sort_unstable();
        Ok(missing)
    };
    // First narrow: `k` = `expansion_search` = [`CHECK_NARROW`], where a vector found is
    // reachable (a graph path led there). Those not found (about 1 in 100 here: the narrow
    // beam misses some reachable ones; all exact duplicates) are searched again at `k` 16
    // and the index's own `expansion_search`, and those still not found re-added, serially.
    // (Checked on one thread at `k` 16 and the default `expansion_search`, the check held
    // part 5 of the live benchmark at 0.46× of raw adds; on all cores, 0.64–0.69×; the
    // narrow pass halves the check's time again.) No search of `index` runs meanwhile:
    // parallel adds go to an index no search sees yet or hold the graph lock.
    let ef = index.expansion_search();
    index.change_expansion_search(CHECK_NARROW);
    let all: Vec<usize> = (0..vectors.len()).collect();
    let narrow = not_found(&all, CHECK_NARROW, false);
    index.change_expansion_search(ef);
    let missing = not_found(&narrow?, 16, true)?;
    let mut lost = Vec::new();
    for (label, v) in missing.into_iter().map(|i| &vectors[i]) {
        index.remove(*label).map_err(usearch_err)?;
        index.add(*label, v).map_err(usearch_err)?;
        if !findable(*label, v, 16, true)? {
            lost.push(*label);
        }
    }
    lost.sort_unstable();
    Ok(lost)
}

/// Runs `f(i)` for every `i` in `0..n` on `threads` threads, which take chunks of 64 in
/// turn; stops at the first error, which it returns.
fn run_parallel(n: usize, threads: usize, f: impl Fn(usize) -> Result<()> + Sync) -> Result<()> {
    const CHUNK: usize = 64;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let start = next.fetch_add(CHUNK, std::sync::atomic::Ordering::Relaxed);
                if start >= n || failure.lock().is_some() {
                    break;
                }
                for i in start..(start + CHUNK).min(n) {
                    if let Err(e) = f(i) {
                        *failure.lock() = Some(e);
                        return;
                    }
                }
            });
        }
    });
    failure.into_inner().map_or(Ok(()), Err)
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
            flushes: 0,
            graph_seq: seq,
            delta: Arc::new(delta),
            delta_labels: Vec::new(),
            tombstones: Tombstones::default(),
            base_dead: 0,
            relabeled: HashMap::new(),
            seq,
            dirty,
            unreachable: Arc::default(),
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
    /// in neither (nor in the tail) are dropped (they were left out of the merge).
    pub(super) fn replace_base(&mut self, base: Index, delta: Index, later: Vec<u64>) {
        self.base = Arc::new(base);
        self.delta = Arc::new(delta);
        self.delta_labels = later;
        self.mapped = true;
        let (base, delta, tail) = (&self.base, &self.delta, &self.tail);
        self.tombstones
            .retain(|&l| base.contains(l) || delta.contains(l) || tail.contains(l));
        self.base_dead = self
            .tombstones
            .iter()
            .filter(|&&l| base.contains(l))
            .count();
        Arc::make_mut(&mut self.unreachable).retain(|&l| base.contains(l) || delta.contains(l));
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

    /// Tail vectors under a tombstone (deleted or superseded before a flush moved them).
    pub(super) fn tail_tombstones(&self) -> usize {
        self.tail
            .chunks
            .iter()
            .flat_map(|c| c.labels.iter())
            .filter(|l| self.tombstones.contains(l))
            .count()
    }

    /// Vectors a running flush has already added to the graph it fills (they are in the tail
    /// too until it ends).
    pub(super) fn flushed_so_far(&self) -> usize {
        self.flushing
            .iter()
            .filter(|&&l| self.target().contains(l))
            .count()
    }

    /// Vectors a search can return.
    pub(super) fn live(&self) -> usize {
        let mut n = (self.base.size() + self.delta.size() + self.tail.len()) as i64
            - self.tombstones.len() as i64;
        // While a flush runs, a vector may be in the tail and the graph (counted twice; a
        // tombstone counts once).
        n -= self.flushed_so_far() as i64;
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

    /// A flush adds to a copy of the graph it fills, swapped in when the adds are done (see
    /// [`copy_of`]): no search waits for them. True for a graph (the delta, or a small owned
    /// base) of at most [`COPY_UP_TO`] vectors.
    fn flushes_into_copy(&self) -> bool {
        self.target().size() <= COPY_UP_TO
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

    /// Copies the current vector of `rowid` into `buf` (of the index's dimensions); false
    /// when the index has none.
    fn get(&self, rowid: u64, buf: &mut [f32]) -> Result<bool> {
        let Some(label) = self.label_of(rowid) else {
            return Ok(false);
        };
        if let Some(v) = self.tail.get(label) {
            buf.copy_from_slice(v);
            return Ok(true);
        }
        let index = if self.base.contains(label) {
            &self.base
        } else {
            &self.delta
        };
        Ok(index.get(label, buf).map_err(usearch_err)? > 0)
    }

    /// Tombstones `rowid`'s current vector, if any (in a graph or in the tail).
    fn retire(&mut self, rowid: u64) {
        if let Some(label) = self.label_of(rowid) {
            self.tombstones.insert(label);
            if self.base.contains(label) {
                self.base_dead += 1;
            }
            if let Ok(at) = self.unreachable.binary_search(&label) {
                Arc::make_mut(&mut self.unreachable).remove(at);
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
        let mut adds: Vec<(u64, &[f32])> = Vec::new();
        // Rowid → its entry in `adds`: a rowid written twice in one statement keeps its last
        // vector, under the label its first one took.
        let mut pending: HashMap<u64, usize> = HashMap::new();
        for &(rowid, v) in changes {
            if let Some(at) = pending.remove(&rowid) {
                adds[at].1 = &[];
            } else {
                self.retire(rowid);
            }
            if let Some(v) = v {
                let label = self.fresh_label(rowid)?;
                pending.insert(rowid, adds.len());
                adds.push((label, v));
            }
        }
        adds.retain(|(_, v)| !v.is_empty());
        self.tail.push(&adds);
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
            let unreachable = Arc::make_mut(&mut self.unreachable);
            unreachable.extend(lost);
            unreachable.sort_unstable();
        }
        Ok(())
    }
}

/// What [`LiveIndex::graph`] guards: the USearch graphs themselves (no data of its own).
#[derive(Default)]
pub(super) struct Graph;

/// What one statement's searches see: the index as it was at table sequence `seq` (its
/// base and delta graphs, the tail's chunks, the tombstones and the unreachable list, as
/// shared `Arc`s), taken under the state's read lock in microseconds ([`LiveIndex::view`])
/// and searched with no lock on the state, so that a writer's append and a flush's
/// bookkeeping never wait for a search, and a statement's searches agree with the RocksDB
/// snapshot taken with the view.
///
/// The graphs are shared with the live index, and a flush may add vectors to them while the
/// view is searched: flushes are numbered and leave their label sets in the live index; a
/// search drops the graph hits of flushes started after its view was taken (the vectors the
/// view can see among those are in its tail).
pub(crate) struct IndexView {
    live: Arc<LiveIndex>,
    base: Arc<Index>,
    delta: Arc<Index>,
    tail: Vec<Arc<Chunk>>,
    tombstones: Tombstones,
    unreachable: Arc<Vec<u64>>,
    /// A flush was running when the view was taken: its vectors may be in the view's tail
    /// and in a graph both.
    flushing: bool,
    /// Flushes started before the view was taken.
    flushes: u64,
    /// Vectors the view can return, at most (a flush that was running may count some twice).
    size: usize,
    /// The table sequence the view reflects.
    seq: u64,
}

impl Drop for IndexView {
    fn drop(&mut self) {
        let mut views = self.live.views.lock();
        if let Some(n) = views.get_mut(&self.flushes) {
            *n -= 1;
            if *n == 0 {
                views.remove(&self.flushes);
            }
        }
    }
}

impl IndexView {
    /// Vectors the view can return, at most (tombstones excluded).
    pub fn size(&self) -> usize {
        self.size
    }

    /// True when the index stores f32 vectors, so [`IndexView::get`] returns them exactly.
    pub fn stores_f32(&self) -> bool {
        self.base.scalar_kind() == ScalarKind::F32
    }

    /// Approximate k nearest neighbours of `query`: `(rowid, index distance)` pairs, nearest
    /// first. `ef_search` is USearch's `expansion_search`.
    ///
    /// A base or delta of at most `exact_up_to` vectors is searched exhaustively (USearch
    /// `exact_search`): as cheap as a graph search at that size, and immune to what a small
    /// HNSW graph can get wrong (distinct vectors cut off by many exact duplicates, found by
    /// tests/differential.rs).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef_search: usize,
        exact_up_to: usize,
    ) -> Result<Vec<(u64, f32)>> {
        // USearch allocates result buffers of `k` entries up front: a huge LIMIT must not turn
        // into a huge allocation (LIMIT 2^40 aborted the process before this clamp).
        let k = k.min(self.size);
        if k == 0 {
            return Ok(Vec::new());
        }
        let _slot = self.live.slots.acquire();
        let found = self.search_all(query, k, ef_search, exact_up_to, None)?;
        Ok(found.into_iter().map(|(l, d)| (rowid_of(l), d)).collect())
    }

    /// The `k` nearest neighbours of `query` among the rowids `keep` accepts: USearch
    /// `filtered_search` with `expansion_search` = `ef`, over the base, the delta and the tail.
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
        let k = k.min(self.size);
        if k == 0 {
            return Ok(Vec::new());
        }
        let _slot = self.live.slots.acquire();
        let keep_label = |label: u64| keep(rowid_of(label));
        let found = self.search_all(query, k, ef, 0, Some(&keep_label))?;
        Ok(found.into_iter().map(|(l, d)| (rowid_of(l), d)).collect())
    }

    /// Copies the vector `rowid` had at the view's sequence into `buf` (of the index's
    /// dimensions): `Some(false)` when it had none, `None` when the index has changed since
    /// the view was taken (the caller reads the vector from its RocksDB snapshot).
    pub fn get(&self, rowid: u64, buf: &mut [f32]) -> Result<Option<bool>> {
        let st = self.live.state.read();
        if st.seq != self.seq {
            return Ok(None);
        }
        st.get(rowid, buf).map(Some)
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
        for &label in self.unreachable.iter() {
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

    /// Base, delta and tail searched and merged (labels, nearest first, at most `k`). When
    /// the delta holds at least [`PARALLEL_DELTA`] vectors or the tail [`PARALLEL_TAIL`] and
    /// a core is idle, the delta and the tail are searched on a second thread beside the
    /// base's search: a [`SearchHelpers`] thread (a scoped thread when the search is
    /// filtered, or no helper is idle).
    fn search_all(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        exact_up_to: usize,
        keep: Option<&(dyn Fn(u64) -> bool + Sync)>,
    ) -> Result<Vec<(u64, f32)>> {
        let later = self.live.flushed_after(self.flushes);
        // No graph of this index changes while the guard is held (flushes add between
        // searches, see `LiveIndex::flush_tail_locked`).
        let graph = self.live.graph_for(&self.base, &self.delta, ef);
        let exact_base = keep.is_none() && self.base.size() <= exact_up_to;
        let exact_delta = keep.is_none() && self.delta.size() <= exact_up_to;
        let tomb = &self.tombstones;
        let later_labels: usize = later.iter().map(|s| s.len()).sum();
        let excluded = tomb.len() + later_labels;
        // Graph vectors this view can see, that the caller accepts.
        let in_graph = |l: u64| {
            !tomb.contains(&l) && !later.iter().any(|s| s.contains(&l)) && keep.is_none_or(|f| f(l))
        };
        let in_tail = |l: u64| !tomb.contains(&l) && keep.is_none_or(|f| f(l));
        let filter = excluded > 0 || keep.is_some();
        let dedup = self.flushing;
        let tail_len: usize = self.tail.iter().map(|c| c.len()).sum();
        // A second thread only helps when a core is idle: not when every search slot (one
        // per core) holds a search.
        let parallel = (self.delta.size() >= PARALLEL_DELTA || tail_len >= PARALLEL_TAIL)
            && search_threads() > 1
            && self.live.slots.idle();
        let base = || {
            search_index(
                &self.base, query, k, exact_base, filter, excluded, &in_graph,
            )
        };
        let how = Beside {
            k,
            exact: exact_delta,
            filter,
            excluded,
            dedup,
        };
        let beside = || search_beside(&self.delta, &self.tail, query, how, &in_graph, &in_tail);
        // An unfiltered search hands the delta and the tail to a helper thread, with owned
        // copies of what it reads; a filtered one (its `keep` is borrowed) starts a scoped
        // thread.
        let helper = if parallel && keep.is_none() {
            let (delta, tail) = (self.delta.clone(), self.tail.clone());
            let (tomb, later, query) = (tomb.clone(), later.clone(), query.to_vec());
            SearchHelpers::get().run(move || {
                let in_graph = |l: u64| !tomb.contains(&l) && !later.iter().any(|s| s.contains(&l));
                let in_tail = |l: u64| !tomb.contains(&l);
                search_beside(&delta, &tail, &query, how, &in_graph, &in_tail)
            })
        } else {
            None
        };
        let panicked = || Err(Error::VectorIndex("delta search panicked".into()));
        let (base, other) = if let Some(rx) = helper {
            // The helper reads the graphs under this search's `graph` hold: its result is
            // received before the hold is dropped, even when the base's search panics.
            let base = std::panic::catch_unwind(std::panic::AssertUnwindSafe(base));
            let other = rx.recv().unwrap_or_else(|_| panicked());
            match base {
                Ok(base) => (base, other),
                Err(p) => std::panic::resume_unwind(p),
            }
        } else if parallel {
            std::thread::scope(|s| {
                let other = s.spawn(beside);
                let base = base();
                let other = other.join().unwrap_or_else(|_| panicked());
                (base, other)
            })
        } else {
            (base(), beside())
        };
        let mut found = base?;
        for hit in other? {
            if dedup && found.iter().any(|(l, _)| *l == hit.0) {
                continue;
            }
            insert_sorted(&mut found, k, hit);
        }
        if !(exact_base && exact_delta) || keep.is_some() {
            self.merge_unreachable(query, k, &in_graph, &mut found)?;
        }
        drop(graph);
        Ok(found)
    }
}

/// The `k` nearest vectors of `index` that `keep` accepts (labels, nearest first):
/// exhaustive when `exact`, else a graph search, filtered when `filter` (else `keep` is
/// only applied to the results). `excluded`: how many vectors `keep` may turn away.
#[allow(clippy::too_many_arguments)]
fn search_index(
    index: &Index,
    query: &[f32],
    k: usize,
    exact: bool,
    filter: bool,
    excluded: usize,
    keep: &(dyn Fn(u64) -> bool + Sync),
) -> Result<Vec<(u64, f32)>> {
    if index.size() == 0 || k == 0 {
        return Ok(Vec::new());
    }
    let matches = if exact {
        // USearch's exhaustive search takes no filter: ask for enough to drop tombstones
        // and later flushes' vectors.
        let want = (k + excluded).min(index.size());
        index.exact_search(query, want)
    } else if !filter {
        index.search(query, k.min(index.size()))
    } else {
        index.filtered_search(query, k.min(index.size()), |label: u64| keep(label))
    }
    .map_err(usearch_err)?;
    let mut found: Vec<(u64, f32)> = matches
        .keys
        .into_iter()
        .zip(matches.distances)
        .filter(|(l, _)| keep(*l))
        .collect();
    found.truncate(k);
    Ok(found)
}

/// How [`search_beside`] searches: `k`, and as [`search_index`] for the delta (`exact`,
/// `filter`, `excluded`); `dedup`: drop tail vectors the delta returned too (a flush was
/// running when the view was taken).
#[derive(Clone, Copy)]
struct Beside {
    k: usize,
    exact: bool,
    filter: bool,
    excluded: usize,
    dedup: bool,
}

/// The delta's and the tail's `k` nearest (labels, nearest first): the part of a search
/// that runs beside the base's (see [`IndexView::search_all`]).
fn search_beside(
    delta: &Index,
    tail: &[Arc<Chunk>],
    query: &[f32],
    how: Beside,
    in_graph: &(dyn Fn(u64) -> bool + Sync),
    in_tail: &dyn Fn(u64) -> bool,
) -> Result<Vec<(u64, f32)>> {
    let Beside {
        k,
        exact,
        filter,
        excluded,
        dedup,
    } = how;
    let mut found = search_index(delta, query, k, exact, filter, excluded, in_graph)?;
    let metric = delta.metric_kind();
    for chunk in tail {
        chunk.search_into(metric, query, k, in_tail, dedup, &mut found);
    }
    Ok(found)
}

/// A job for a [`SearchHelpers`] thread.
type HelperJob = Box<dyn FnOnce() + Send>;

/// Threads kept for searching a view's delta and tail beside the caller's search of the
/// base (one per core beyond the first, started at the first such search). Starting a
/// thread per search cost the caller about 45 µs here (`clone` and stack setup: part 4 of
/// the live benchmark, a 63K base and a delta of 10,000, timed inside `search_all`); a job
/// handed to a waiting helper costs a futex wake, and the helper's wake-up overlaps the
/// caller's base search. The index search of a query with a delta went from about +100 µs
/// over the same query without one to about +80 µs.
struct SearchHelpers {
    jobs: std::sync::mpsc::Sender<HelperJob>,
    /// Helpers waiting for a job.
    idle: std::sync::atomic::AtomicUsize,
}

impl SearchHelpers {
    fn get() -> &'static SearchHelpers {
        static HELPERS: std::sync::OnceLock<SearchHelpers> = std::sync::OnceLock::new();
        HELPERS.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<HelperJob>();
            let rx = Arc::new(Mutex::new(rx));
            let mut started = 0;
            for i in 1..search_threads() {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("vectable search {i}"))
                    .spawn(move || loop {
                        let job = rx.lock().recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    });
                if spawned.is_ok() {
                    started += 1;
                }
            }
            SearchHelpers {
                jobs: tx,
                idle: std::sync::atomic::AtomicUsize::new(started),
            }
        })
    }

    /// Runs `job` on an idle helper and returns the receiver of its result; `None` (the
    /// caller runs it) when no helper is idle.
    fn run<T: Send + 'static>(
        &'static self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<std::sync::mpsc::Receiver<T>> {
        use std::sync::atomic::Ordering;
        self.idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .ok()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        // A panic in the job drops `tx`: the caller's `recv` fails and reports it.
        let wrapped: HelperJob = Box::new(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            self.idle.fetch_add(1, Ordering::AcqRel);
            if let Ok(out) = out {
                let _ = tx.send(out);
            }
        });
        if self.jobs.send(wrapped).is_err() {
            self.idle.fetch_add(1, Ordering::AcqRel);
            return None;
        }
        Some(rx)
    }
}

/// A flush's single-core adds hold the graphs from searches for at most about this long at a
/// time, plus one add (0.7 ms at 384 dimensions and `ef_construction` 128): searches wait for
/// one add at most.
const ADD_SLICE: std::time::Duration = std::time::Duration::from_micros(200);

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
        let ef = state
            .base
            .expansion_add()
            .max(state.delta.expansion_add())
            .max(1);
        let estimate = (state.base.dimensions() * ef) as u64 * INSERT_NS_PER_DIM_EF;
        LiveIndex {
            state: RwLock::new(state),
            slots: Slots::new(slots),
            graph: RwLock::new(Graph),
            flushed: Mutex::new(VecDeque::new()),
            views: Mutex::new(BTreeMap::new()),
            maintenance: Mutex::new(()),
            flusher: std::sync::atomic::AtomicBool::new(false),
            check: CheckState::new(FileCheck::NotApplicable),
            insert_ns: std::sync::atomic::AtomicU64::new(0),
            insert_estimate_ns: estimate,
        }
    }

    /// What [`super::pacing`] charges a writer per written vector: the CPU time of inserting
    /// it into a graph of this index's size. That is the larger of what one-core flushes
    /// measured (thread CPU time per vector, the copy of the graph included; a moving
    /// average) and an estimate from the dimensions and `ef_construction`: a flush into a
    /// small delta costs less (0.15–0.3 ms per vector against 0.7 ms at 63K × 384 here), but
    /// each vector is inserted again into the base when the delta is merged, and every
    /// query searches the delta meanwhile.
    pub fn insert_cost(&self) -> std::time::Duration {
        let measured = self.insert_ns.load(std::sync::atomic::Ordering::Relaxed);
        std::time::Duration::from_nanos(measured.max(self.insert_estimate_ns))
    }

    /// Folds one flush's measured cost per insert into [`LiveIndex::insert_cost`].
    fn measured_insert(&self, per_insert: std::time::Duration) {
        use std::sync::atomic::Ordering;
        let new = u64::try_from(per_insert.as_nanos()).unwrap_or(u64::MAX);
        let old = self.insert_ns.load(Ordering::Relaxed);
        let avg = if old == 0 {
            new
        } else {
            (old / 2).saturating_add(new / 2)
        };
        self.insert_ns.store(avg, Ordering::Relaxed);
    }

    /// The same index, with the checksum check of the file it came from.
    pub(super) fn with_check(mut self, check: Arc<CheckState>) -> Self {
        self.check = check;
        self
    }

    /// The index as it is now, for searches that hold no lock on it (see [`IndexView`]).
    pub fn view(self: &Arc<Self>) -> IndexView {
        let st = self.state.read();
        *self.views.lock().entry(st.flushes).or_insert(0) += 1;
        IndexView {
            live: self.clone(),
            base: st.base.clone(),
            delta: st.delta.clone(),
            tail: st.tail.chunks.clone(),
            tombstones: st.tombstones.clone(),
            unreachable: st.unreachable.clone(),
            flushing: !st.flushing.is_empty(),
            flushes: st.flushes,
            size: (st.base.size() + st.delta.size() + st.tail.len())
                .saturating_sub(st.tombstones.len()),
            seq: st.seq,
        }
    }

    /// The label sets of the flushes started after the first `flushes`.
    fn flushed_after(&self, flushes: u64) -> Vec<Arc<HashSet<u64>>> {
        self.flushed
            .lock()
            .iter()
            .filter(|(n, _)| *n > flushes)
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// A shared hold on the graphs, with `expansion_search` = `ef` on `base` and `delta`.
    fn graph_for(
        &self,
        base: &Index,
        delta: &Index,
        ef: usize,
    ) -> parking_lot::RwLockReadGuard<'_, Graph> {
        let g = self.graph.read();
        if base.expansion_search() == ef && delta.expansion_search() == ef {
            return g;
        }
        drop(g);
        let w = self.graph.write();
        base.change_expansion_search(ef);
        delta.change_expansion_search(ef);
        RwLockWriteGuard::downgrade(w)
    }

    /// Vectors in the index (tombstones excluded).
    pub fn size(&self) -> usize {
        self.counted(IndexState::live)
    }

    /// Keeps flushes from adding while held (take it after the state's lock).
    pub(super) fn counting(&self) -> parking_lot::RwLockReadGuard<'_, Graph> {
        self.graph.read()
    }

    /// `f` on the state, with no flush adding meanwhile (a count taken mid-add was off by
    /// one: the graph's size and its key lookup move separately).
    pub(super) fn counted<T>(&self, f: impl FnOnce(&IndexState) -> T) -> T {
        let st = self.state.read();
        let _g = self.graph.read();
        f(&st)
    }

    /// Cores for a flush of a tail of `tail` vectors, out of `all`: all of them when the adds
    /// go to a copy of the graph (see [`copy_of`]; parallel adds in place would hold every
    /// search off for the whole flush) and the tail holds a multi-row statement's vectors
    /// (at least [`BULK_STATEMENT`] in one statement) or at least [`PARALLEL_FLUSH`] vectors;
    /// else one (a single-row writer's flushes stay on one core, beside queries).
    pub(super) fn flush_threads(&self, tail: usize, all: usize) -> usize {
        let st = self.state.read();
        if (tail >= PARALLEL_FLUSH || st.tail.bulk() > 0) && st.flushes_into_copy() {
            all.max(1)
        } else {
            1
        }
    }

    /// Tail vectors waiting for a graph.
    pub fn tail_len(&self) -> usize {
        self.state.read().tail.len()
    }

    /// Moves the tail's vectors into a graph (the delta beside a mapped base, else the base)
    /// when it holds at least `min` of them, on up to `threads` cores. Searches go on
    /// meanwhile: the adds hold no lock on the state, and the tail keeps the vectors until
    /// they are in the graph. A graph of at most [`COPY_UP_TO`] vectors takes them in a
    /// copy swapped in at the end; otherwise the adds run in place between searches (see
    /// [`LiveIndex`]'s `graph` lock). Skipped when a save or another flush holds the index
    /// (`wait` false) — the next write retries.
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
        let (chunks, alive, snap_seq, target, threads, grown, copy) = {
            let st = self.state.upgradable_read();
            if st.tail.len() < min.max(1) {
                return Ok(0);
            }
            let mut st = parking_lot::RwLockUpgradableReadGuard::upgrade(st);
            st.tail.frozen = st.tail.chunks.len();
            let chunks = st.tail.chunks.clone();
            // Tombstoned tail vectors are not added: their tombstones go with the chunks.
            let alive: HashSet<u64> = chunks
                .iter()
                .flat_map(|c| c.labels.iter().copied())
                .filter(|l| !st.tombstones.contains(l))
                .collect();
            st.flushing.extend(alive.iter().copied());
            st.flushes += 1;
            let number = st.flushes;
            let target = st.target().clone();
            let copy = st.flushes_into_copy();
            // Views taken before an in-place flush drop its vectors from graph hits; sets no
            // view needs any more go. (A view never sees a copy's vectors in its graphs.)
            let oldest = self.views.lock().keys().next().copied().unwrap_or(u64::MAX);
            let mut flushed = self.flushed.lock();
            flushed.retain(|(n, _)| *n > oldest);
            if !copy {
                flushed.push_back((number, Arc::new(alive.clone())));
            }
            drop(flushed);
            // Room for the adds, and a thread context for every search that may run beside
            // them and for every adding thread (the adds take no search slot). Growing
            // reallocates the graph and its key lookup: no search (graph lock) and no
            // lookup by a writer's append (state lock) may run meanwhile.
            let threads = threads.clamp(1, search_threads());
            let grown = if copy {
                Ok(())
            } else {
                let _g = self.graph.write();
                let need = target.size() + alive.len();
                let cap = if need > target.capacity() {
                    need.max(target.capacity() * 2)
                } else {
                    target.capacity()
                };
                target
                    .reserve_capacity_and_threads(cap, self.slots.total + threads)
                    .map_err(usearch_err)
            };
            (chunks, alive, st.seq, target, threads, grown, copy)
        };
        let adds: Vec<(u64, &[f32])> = chunks
            .iter()
            .flat_map(|c| {
                c.labels
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| alive.contains(l))
                    .map(|(i, &l)| (l, c.vector(i)))
            })
            .collect();
        // The adds hold no lock on the state (a write's append must not wait for them: it
        // runs while the database excludes readers). In place, the graph they add to stays
        // this one: only a merge replaces it, and merges hold `maintenance` too.
        let cpu_before = (threads == 1).then(super::thread_cpu_time).flatten();
        let result = grown.and_then(|_| {
            if copy {
                let fresh = {
                    // Only `graph_for`'s change of `expansion_search` writes beside a copy.
                    let _g = self.graph.read();
                    copy_of(&target)?
                };
                fresh
                    .reserve_capacity_and_threads(
                        fresh.size() + adds.len(),
                        self.slots.total + threads,
                    )
                    .map_err(usearch_err)?;
                let lost = add_all(&fresh, &adds, threads)?;
                return Ok((Some(fresh), lost));
            }
            if threads > 1 {
                // Parallel adds, and their check that may remove and re-add a vector (see
                // `add_all`): searches of this index wait for the whole of it.
                let _alone = self.graph.write();
                return add_all(&target, &adds, threads).map(|lost| (None, lost));
            }
            // One core: searches run between slices of adds, the waiting ones first (a fair
            // unlock: the flush would otherwise take the lock straight back and starve them).
            let mut at = 0;
            while at < adds.len() {
                let g = self.graph.write();
                let started = std::time::Instant::now();
                while at < adds.len() && started.elapsed() < ADD_SLICE {
                    let (label, v) = adds[at];
                    if let Err(e) = target.add(label, v) {
                        parking_lot::RwLockWriteGuard::unlock_fair(g);
                        return Err(usearch_err(e));
                    }
                    at += 1;
                }
                parking_lot::RwLockWriteGuard::unlock_fair(g);
            }
            Ok((None, Vec::new()))
        });
        if let (Some(before), Some(after), true) = (
            cpu_before,
            super::thread_cpu_time(),
            result.is_ok() && !adds.is_empty(),
        ) {
            self.measured_insert(
                after.saturating_sub(before) / u32::try_from(adds.len()).unwrap_or(u32::MAX),
            );
        }
        let mut st = self.state.write();
        st.flushing.clear();
        let (fresh, lost) = match result {
            Ok(done) => done,
            Err(e) => {
                // The vectors stay in the tail (searches still find them there). In place,
                // the copies that reached the graph go, so that the next flush adds them once.
                if !copy {
                    let _g = self.graph.write();
                    for &(l, _) in &adds {
                        if target.contains(l) {
                            let _ = target.remove(l);
                        }
                    }
                }
                st.tail.frozen = 0;
                return Err(e);
            }
        };
        if let Some(fresh) = fresh {
            if st.mapped {
                st.delta = Arc::new(fresh);
            } else {
                st.base = Arc::new(fresh);
            }
        }
        // Every change up to the copy's sequence is now in the graph (later ones may still be
        // in the tail).
        st.graph_seq = snap_seq;
        for c in &chunks {
            for l in &c.labels {
                if !alive.contains(l) {
                    st.tombstones.remove(l);
                }
            }
        }
        st.tail.drop_front(chunks.len());
        if st.mapped {
            st.delta_labels.extend(adds.iter().map(|(l, _)| *l));
        } else {
            let base = &st.base;
            st.base_dead = st.tombstones.iter().filter(|&&l| base.contains(l)).count();
        }
        if !lost.is_empty() {
            let tomb = &st.tombstones;
            let lost: Vec<u64> = lost.into_iter().filter(|l| !tomb.contains(l)).collect();
            let unreachable = Arc::make_mut(&mut st.unreachable);
            unreachable.extend(lost);
            unreachable.sort_unstable();
        }
        Ok(adds.len())
    }
}

/// An owned copy of `index` (its graph and vectors, `expansion_search` included), through
/// USearch's buffer serialization (`save_to_buffer`, `load_from_buffer`).
///
/// Why flushes add to a copy: USearch's base-layer search takes no lock ("assuming read-only
/// simultaneous access", `search_to_find_in_base_` in `index.hpp`), so an `add` beside it is
/// a data race (it segfaulted here), and adding in place means holding searches off for each
/// add. Copying a delta of 10,000 × 384 vectors (about 17 MB) costs a few ms against the
/// 180 ms of adding 256 vectors; the copy's cost grows with the delta, hence
/// [`COPY_UP_TO`].
///
/// # Errors
/// [`Error::VectorIndex`] when USearch fails to serialize or load.
fn copy_of(index: &Index) -> Result<Index> {
    let options = IndexOptions {
        dimensions: index.dimensions(),
        metric: index.metric_kind(),
        quantization: index.scalar_kind(),
        connectivity: index.connectivity(),
        expansion_add: index.expansion_add(),
        expansion_search: index.expansion_search(),
        multi: index.multi(),
    };
    let copy = Index::new(&options).map_err(usearch_err)?;
    let mut buf = vec![0u8; index.serialized_length()];
    index.save_to_buffer(&mut buf).map_err(usearch_err)?;
    copy.load_from_buffer(&buf).map_err(usearch_err)?;
    copy.change_expansion_search(index.expansion_search());
    Ok(copy)
}

/// A graph of at most this many vectors (the delta beside a mapped base, or an owned base)
/// takes a flush's adds in a copy (see [`copy_of`]); a larger one (an owned base past this
/// size, or a delta under a `checkpoint_changes` far above its default of 10,000) takes them
/// in place, between searches.
pub(super) const COPY_UP_TO: usize = 32_768;

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned base of 200 vectors on a line: rowid `i` at `[i, 0, 0, 0]` (squared L2).
    fn line_index() -> Arc<LiveIndex> {
        line_index_of(200, false)
    }

    /// [`line_index`] with `n` vectors, its base taken as mapped when `mapped` (writes go to
    /// the delta).
    fn line_index_of(n: u64, mapped: bool) -> Arc<LiveIndex> {
        let options = IndexOptions {
            dimensions: 4,
            metric: MetricKind::L2sq,
            quantization: ScalarKind::F32,
            connectivity: 16,
            expansion_add: 64,
            expansion_search: 64,
            multi: false,
        };
        let base = empty_like(&options).unwrap();
        ensure_capacity(&base, n as usize).unwrap();
        for i in 0..n {
            base.add(i, &[i as f32, 0.0, 0.0, 0.0]).unwrap();
        }
        let delta = empty_like(&options).unwrap();
        Arc::new(LiveIndex::new(
            IndexState::new(base, mapped, delta, 1, 0),
            2,
        ))
    }

    fn nearest(view: &IndexView, k: usize) -> Vec<u64> {
        let found = view.search(&[0.0; 4], k, 64, 0).unwrap();
        found.into_iter().map(|(r, _)| r).collect()
    }

    /// Applies one statement's changes at table sequence `seq`, as a writer's publish does.
    fn publish(live: &LiveIndex, seq: u64, changes: &[(u64, Option<&[f32]>)]) {
        let mut st = live.state.write();
        st.append(changes).unwrap();
        st.seq = seq;
    }

    /// A view answers as of the sequence it was taken at, whatever statements and flushes
    /// come after it; it holds no lock meanwhile (the writes below would deadlock).
    #[test]
    fn a_view_answers_as_of_its_sequence_while_writes_and_flushes_go_on() {
        view_as_of_its_sequence(&line_index());
    }

    /// The same, with a flush that adds in place (a graph larger than [`COPY_UP_TO`]): views
    /// drop the graph hits of flushes started after them.
    #[test]
    fn a_view_answers_as_of_its_sequence_beside_a_flush_in_place() {
        let live = line_index_of(COPY_UP_TO as u64 + 1, false);
        view_as_of_its_sequence(&live);
        assert_eq!(live.state.read().base.size(), COPY_UP_TO + 2);
    }

    fn view_as_of_its_sequence(live: &Arc<LiveIndex>) {
        let before = live.view();
        // Row 0 deleted; row 500 written at 0.5 (the nearest now).
        publish(live, 2, &[(0, None), (500, Some(&[0.5, 0.0, 0.0, 0.0]))]);
        let after = live.view();
        assert_eq!(nearest(&before, 2), [0, 1]);
        assert_eq!(nearest(&after, 2), [500, 1]);
        // The flush moves row 500 from the tail into the graph: a view taken before the
        // write still does not see it, one taken after sees it once.
        assert_eq!(live.flush_tail(1, 1, true).unwrap(), 1);
        assert_eq!(live.tail_len(), 0);
        assert_eq!(nearest(&before, 2), [0, 1]);
        assert_eq!(nearest(&after, 2), [500, 1]);
        let flushed = live.view();
        assert_eq!(nearest(&flushed, 3), [500, 1, 2]);
        // Vectors by rowid: as of the view, or `None` once the index has moved on.
        let mut buf = [0f32; 4];
        assert_eq!(before.get(1, &mut buf).unwrap(), None);
        assert_eq!(flushed.get(500, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, [0.5, 0.0, 0.0, 0.0]);
        assert_eq!(flushed.get(0, &mut buf).unwrap(), Some(false));
    }

    /// A flush into a delta adds to a copy and swaps it in: the graphs a view holds never
    /// change under it (USearch's searches take no lock against adds), and the view still
    /// answers as of its sequence.
    #[test]
    fn a_flush_into_the_delta_leaves_the_graphs_of_earlier_views_unchanged() {
        let live = line_index_of(200, true);
        publish(&live, 2, &[(500, Some(&[0.5, 0.0, 0.0, 0.0]))]);
        assert_eq!(live.flush_tail(1, 1, true).unwrap(), 1);
        let before = live.view();
        let delta_before = before.delta.clone();
        assert_eq!(delta_before.size(), 1);
        publish(
            &live,
            3,
            &[
                (600, Some(&[0.25, 0.0, 0.0, 0.0])),
                (601, Some(&[0.75, 0.0, 0.0, 0.0])),
            ],
        );
        assert_eq!(live.flush_tail(1, 1, true).unwrap(), 2);
        // The earlier view's delta is the graph it was: one vector, not three.
        assert_eq!(delta_before.size(), 1);
        assert!(!delta_before.contains(600));
        assert_eq!(nearest(&before, 3), [0, 500, 1]);
        let after = live.view();
        assert!(!Arc::ptr_eq(&after.delta, &delta_before));
        assert_eq!(after.delta.size(), 3);
        assert_eq!(nearest(&after, 4), [0, 600, 500, 601]);
        assert_eq!(live.state.read().delta_labels, [500, 600, 601]);
    }

    /// A tail vector deleted before its flush is not added to the graph, and its tombstone
    /// goes with it; the views taken while it lived still see it.
    #[test]
    fn a_tail_vector_deleted_before_its_flush_leaves_no_tombstone() {
        let live = line_index();
        publish(&live, 2, &[(600, Some(&[0.25, 0.0, 0.0, 0.0]))]);
        let with = live.view();
        publish(&live, 3, &[(600, None), (5, None)]);
        assert_eq!(live.state.read().tombstones.len(), 2);
        assert_eq!(live.flush_tail(1, 1, true).unwrap(), 0);
        let st = live.state.read();
        assert_eq!((st.tombstones.len(), st.tail.len(), st.live()), (1, 0, 199));
        drop(st);
        assert_eq!(nearest(&with, 2), [0, 600]);
        assert_eq!(nearest(&live.view(), 2), [0, 1]);
    }

    /// The tail keeps at most log2(n) + 1 chunks, the older ones longer, and a flush drops
    /// only the chunks it moved.
    #[test]
    fn the_tail_joins_its_chunks_like_a_binary_counter() {
        let mut tail = Tail::new(1);
        for i in 0..1000u64 {
            tail.push(&[(i, &[i as f32][..])]);
            let lens: Vec<usize> = tail.chunks.iter().map(|c| c.len()).collect();
            assert!(lens.windows(2).all(|w| w[0] > w[1]), "{lens:?}");
        }
        assert_eq!(tail.len(), 1000);
        // 1000 = 0b1111101000: one chunk per set bit.
        assert_eq!(tail.chunks.len(), 6);
        assert_eq!(tail.get(777), Some(&[777.0][..]));
        tail.frozen = tail.chunks.len();
        tail.push(&[(1000, &[1000.0][..])]);
        tail.push(&[(1001, &[1001.0][..])]);
        // The two new chunks join each other, never a frozen one.
        assert_eq!(tail.chunks.len(), 7);
        tail.drop_front(6);
        assert_eq!((tail.len(), tail.chunks.len()), (2, 1));
        assert!(tail.contains(1001) && !tail.contains(777));
    }

    /// A flush of a multi-row statement's vectors runs on all cores (into a copy of the
    /// delta) even below [`PARALLEL_FLUSH`]; the same number written one row per statement
    /// flushes on one core, and so does a bulk tail whose graph is flushed in place.
    #[test]
    fn a_multi_row_statement_flushes_on_all_cores_and_single_rows_on_one() {
        let v = |i: u64| [i as f32 + 0.5, 1.0, 0.0, 0.0];
        let vecs: Vec<[f32; 4]> = (0..300).map(v).collect();
        let changes: Vec<(u64, Option<&[f32]>)> = vecs
            .iter()
            .enumerate()
            .map(|(i, x)| (1_000 + i as u64, Some(&x[..])))
            .collect();
        // Three statements of 100 rows.
        let bulk = line_index_of(200, true);
        for (i, part) in changes.chunks(100).enumerate() {
            publish(&bulk, 2 + i as u64, part);
        }
        assert_eq!(bulk.flush_threads(300, 2), 2);
        let single = line_index_of(200, true);
        for (i, c) in changes.iter().enumerate() {
            publish(&single, 2 + i as u64, std::slice::from_ref(c));
        }
        assert_eq!(single.state.read().tail.len(), 300);
        assert_eq!(single.flush_threads(300, 2), 1);
        // A long tail flushes on all cores whoever wrote it.
        assert_eq!(single.flush_threads(PARALLEL_FLUSH, 2), 2);
        // Into a graph past `COPY_UP_TO`, in place: one core.
        let in_place = line_index_of(COPY_UP_TO as u64 + 1, false);
        publish(&in_place, 2, &changes);
        assert_eq!(in_place.flush_threads(300, 2), 1);
        // After the flush, the bulk tail's marks are gone with its chunks.
        assert_eq!(bulk.flush_tail(1, 2, true).unwrap(), 300);
        assert_eq!(bulk.state.read().tail.bulk(), 0);
        assert_eq!(nearest(&bulk.view(), 1), [0]);
    }

    /// A delta of [`PARALLEL_DELTA`] vectors or more is searched beside the base: on a
    /// helper thread when the search is unfiltered, on a scoped one when filtered (on one
    /// thread on a single core). Each way, the answers merge the base's and the delta's.
    #[test]
    fn a_big_delta_is_searched_beside_the_base_and_merged() {
        let live = line_index_of(200, true);
        let vecs: Vec<[f32; 4]> = (0..PARALLEL_DELTA)
            .map(|i| [1_000.5 + i as f32, 0.0, 0.0, 0.0])
            .collect();
        let near = [0.25f32, 0.0, 0.0, 0.0];
        let mut changes: Vec<(u64, Option<&[f32]>)> = vecs
            .iter()
            .enumerate()
            .map(|(i, v)| (10_000 + i as u64, Some(&v[..])))
            .collect();
        changes.push((9_999, Some(&near[..])));
        publish(&live, 2, &changes);
        live.flush_tail(1, 2, true).unwrap();
        assert_eq!(live.state.read().delta.size(), PARALLEL_DELTA + 1);
        let view = live.view();
        for _ in 0..3 {
            // The base's 0 and 1, the delta's 0.25.
            assert_eq!(nearest(&view, 3), [0, 9_999, 1]);
            // Near the delta's vectors: the delta's first two, then the base's last.
            let found = view.search(&[1_000.6, 0.0, 0.0, 0.0], 3, 64, 0).unwrap();
            let rows: Vec<u64> = found.iter().map(|(r, _)| *r).collect();
            assert_eq!(rows, [10_000, 10_001, 10_002]);
            // Filtered: odd rowids only.
            let found = view
                .filtered_search(&[0.0; 4], 3, 64, |r| r % 2 == 1)
                .unwrap();
            let rows: Vec<u64> = found.iter().map(|(r, _)| *r).collect();
            assert_eq!(rows, [9_999, 1, 3]);
        }
    }

    /// Parallel adds of many exact duplicates: the narrow first search of the check finds
    /// almost none of them by label, the wide one accepts their ties, and none is reported
    /// lost. A distinct vector among them is found by its own label or reported lost (the
    /// duplicates' neighbour lists fill with each other, so it can end up with no link in:
    /// searches then compare it exactly).
    #[test]
    fn the_check_after_parallel_adds_accepts_exact_duplicates() {
        let index = empty_like(&IndexOptions {
            dimensions: 4,
            metric: MetricKind::Cos,
            quantization: ScalarKind::F32,
            connectivity: 16,
            expansion_add: 64,
            expansion_search: 64,
            multi: false,
        })
        .unwrap();
        let same = [1.0f32, 2.0, 3.0, 4.0];
        let other = [4.0f32, -3.0, 2.0, -1.0];
        let mut adds: Vec<(u64, &[f32])> = (0..1_000u64).map(|l| (l, &same[..])).collect();
        adds.push((5_000, &other[..]));
        let lost = add_all(&index, &adds, 2).unwrap();
        assert!(lost.iter().all(|l| *l == 5_000), "{lost:?}");
        assert_eq!(index.size(), 1_001);
        if lost.is_empty() {
            assert_eq!(index.search(&other, 1).unwrap().keys, [5_000]);
        }
    }
}
