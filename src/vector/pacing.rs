//! Readers first: how much of the cores the graph work of writes may take while queries run.
//!
//! A written vector costs its HNSW insert later, in a background flush of the tail (about
//! 0.7 ms of a core at 384 dimensions and `ef_construction` 128: USearch's `add`). A writer
//! that inserts rows as fast as it can would leave that much work per row, and on 2 cores two
//! kNN readers beside it kept 0.26–0.35 of their throughput, with 9–12× their p99 (part 6
//! of the live benchmark): their cores went to the inserts, and every query compared a
//! growing delta and tail. So, like RocksDB's delayed writes (`delayed_write_rate`, which
//! slow writers while compaction is behind) and Qdrant's optimizer CPU budget, a write
//! statement that leaves graph work waits after it commits, until that work fits a budget:
//!
//! - **Demand.** The queries in flight, averaged over about [`WINDOW`] of wall time, or the
//!   number running now if higher (a query counts from before it takes the database's lock
//!   to the end of its statement; wall time, so that a query waiting for a core still counts
//!   as wanting one). With no query running and none ended in the last [`QUIET`], the demand
//!   is zero at once.
//! - **Budget.** The graph work of writes may take the cores the queries do not want, and at
//!   least `index_write_share` of all cores: `cores × max(share, 1 − demand / cores)` seconds
//!   of a core per second. With no query running the budget is every core, and no writer
//!   waits; with queries on every core it is the share.
//! - **Cost.** Each written vector is charged [`LiveIndex::insert_cost`]: the larger of the
//!   index's measured one-core flush cost per vector and an estimate from its dimensions and
//!   `ef_construction` (a vector inserted into a small delta is inserted again into the base
//!   at the next merge). A token bucket holds up to [`BURST`] of credit, so a burst of writes
//!   does not wait; a statement waits at most [`MAX_WAIT`] (the debt beyond is forgiven, so
//!   one big `COPY` does not stall the writes after it for minutes).
//!
//! [`LiveIndex::insert_cost`]: super::live::LiveIndex::insert_cost
//!
//! The statement has committed before it waits: a reader sees its rows at once, and a crash
//! during the wait loses nothing. `SET index_write_share = 1` turns the pacing off.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The default `index_write_share`: the least share of the cores that written vectors' graph
/// inserts may take while queries want every core.
pub const DEFAULT_INDEX_WRITE_SHARE: f64 = 0.025;

/// How far back the demand of queries is averaged.
pub(super) const WINDOW: Duration = Duration::from_millis(200);

/// The demand is sampled at most this often (shorter intervals hold too few query ends).
const SAMPLE: Duration = Duration::from_millis(5);

/// Credit of the token bucket at most, in seconds of a core: about 140 inserts at 384
/// dimensions, so that short bursts of writes never wait.
pub(super) const BURST: f64 = 0.1;

/// With no query running and none ended for this long, the queries have stopped: the demand
/// is zero at once (readers in a loop start their next query within microseconds).
const QUIET: Duration = Duration::from_millis(10);

/// Below this many queries in flight on average, no writer waits.
const IDLE: f64 = 0.01;

/// The longest a statement waits.
pub(super) const MAX_WAIT: Duration = Duration::from_secs(1);

thread_local! {
    /// Nanoseconds of a core of graph work the statement on this thread left, not yet paced.
    static OWED_NS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A database's pacing of writes beside queries (see the module's docs).
pub(crate) struct Pacer {
    /// The origin of `last_end_ns`.
    epoch: Instant,
    /// When the last query ended, in nanoseconds since `epoch`.
    last_end_ns: AtomicU64,
    cores: f64,
    /// `index_write_share` as `f64` bits.
    share: AtomicU64,
    /// Nanoseconds of wall time of finished queries, summed.
    busy_ns: AtomicU64,
    /// Queries running now.
    in_flight: AtomicUsize,
    state: Mutex<PaceState>,
}

struct PaceState {
    /// When `demand` was last sampled, and `busy_ns` then.
    sampled: Instant,
    busy_at: u64,
    /// Queries in flight, averaged over about [`WINDOW`].
    demand: f64,
    /// Credit in seconds of a core (negative: debt), as of `refilled`.
    tokens: f64,
    refilled: Instant,
}

/// A query in flight: counts towards the demand until dropped.
pub(crate) struct QueryMark {
    pacer: Arc<Pacer>,
    start: Instant,
}

impl Drop for QueryMark {
    fn drop(&mut self) {
        let now = Instant::now();
        let ns =
            u64::try_from(now.saturating_duration_since(self.start).as_nanos()).unwrap_or(u64::MAX);
        self.pacer.busy_ns.fetch_add(ns, Ordering::Relaxed);
        let end = now.saturating_duration_since(self.pacer.epoch).as_nanos();
        self.pacer
            .last_end_ns
            .fetch_max(u64::try_from(end).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.pacer.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pacer {
    /// A pacer for `cores` cores with the given `index_write_share` (see
    /// [`Pacer::set_share`]).
    pub fn new(cores: usize, share: f64) -> Self {
        let now = Instant::now();
        let p = Pacer {
            epoch: now,
            last_end_ns: AtomicU64::new(0),
            cores: cores.max(1) as f64,
            share: AtomicU64::new(0),
            busy_ns: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            state: Mutex::new(PaceState {
                sampled: now,
                busy_at: 0,
                demand: 0.0,
                tokens: BURST,
                refilled: now,
            }),
        };
        p.set_share(share);
        p
    }

    /// Sets `index_write_share`, clamped to (0, 1]; 1 turns pacing off.
    pub fn set_share(&self, share: f64) {
        let s = if share.is_nan() {
            DEFAULT_INDEX_WRITE_SHARE
        } else {
            share.clamp(f64::MIN_POSITIVE, 1.0)
        };
        self.share.store(s.to_bits(), Ordering::Relaxed);
    }

    /// The current `index_write_share`.
    pub fn share(&self) -> f64 {
        f64::from_bits(self.share.load(Ordering::Relaxed))
    }

    /// Marks a query in flight until the mark is dropped.
    pub fn mark(self: &Arc<Self>) -> QueryMark {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        QueryMark {
            pacer: self.clone(),
            start: Instant::now(),
        }
    }

    /// Records graph work the statement running on this thread left: `vectors` inserts of
    /// `each` each. The same thread's [`Pacer::charge`] takes it: a query never pays for a
    /// writer's work.
    pub fn owe(&self, vectors: usize, each: Duration) {
        if vectors == 0 {
            return;
        }
        let ns = u64::try_from(each.as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_mul(vectors as u64);
        OWED_NS.with(|o| o.set(o.get().saturating_add(ns)));
    }

    /// Queries in flight, averaged over about [`WINDOW`] (as last sampled).
    #[cfg(test)]
    pub fn demand(&self) -> f64 {
        self.state.lock().demand
    }

    /// How long the writer that just committed should wait for the graph work owed so far
    /// (see the module's docs); charges it. Zero when nothing is owed, when pacing is off,
    /// or when the budget covers it.
    pub fn charge(&self) -> Duration {
        let owed = OWED_NS.with(|o| o.replace(0));
        let share = self.share();
        if owed == 0 || share >= 1.0 {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let mut st = self.state.lock();
        let since = now.saturating_duration_since(st.sampled);
        let running = self.in_flight.load(Ordering::Relaxed);
        let last_end = self.epoch + Duration::from_nanos(self.last_end_ns.load(Ordering::Relaxed));
        if running == 0 && now.saturating_duration_since(last_end) >= QUIET {
            // No query runs and none ended lately: the queries have stopped (the average
            // would take about `WINDOW` to say so).
            st.demand = 0.0;
            st.busy_at = self.busy_ns.load(Ordering::Relaxed);
            st.sampled = now;
        } else if since >= SAMPLE {
            let busy = self.busy_ns.load(Ordering::Relaxed);
            let average = busy.saturating_sub(st.busy_at) as f64 / since.as_nanos() as f64;
            let a = (since.as_secs_f64() / WINDOW.as_secs_f64()).min(1.0);
            st.demand = a * average + (1.0 - a) * st.demand;
            st.busy_at = busy;
            st.sampled = now;
        }
        // Queries that started since the last sample count at once (the average lags by
        // about `WINDOW` when queries start).
        let demand = st.demand.max(running as f64);
        if demand < IDLE {
            // No query running: no writer waits (the tail's backpressure still bounds what
            // the flushes owe).
            st.tokens = BURST;
            st.refilled = now;
            return Duration::ZERO;
        }
        let free = (1.0 - demand / self.cores).clamp(0.0, 1.0);
        // Seconds of a core per second the graph work may take.
        let rate = self.cores * free.max(share);
        let elapsed = now.saturating_duration_since(st.refilled).as_secs_f64();
        st.refilled = now;
        st.tokens = (st.tokens + elapsed * rate).min(BURST);
        st.tokens -= owed as f64 / 1e9;
        st.tokens = st.tokens.max(-rate * MAX_WAIT.as_secs_f64());
        if st.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-st.tokens / rate)
        }
    }

    /// Charges what is owed and waits as long as [`Pacer::charge`] says. Call it with no
    /// lock held.
    pub fn pace(&self) -> Duration {
        let wait = self.charge();
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pacer with `running` queries in flight now (the marks returned), whose bucket is
    /// empty.
    fn busy_pacer(cores: usize, share: f64, running: usize) -> (Arc<Pacer>, Vec<QueryMark>) {
        let p = Arc::new(Pacer::new(cores, share));
        let marks = (0..running).map(|_| p.mark()).collect();
        {
            let mut st = p.state.lock();
            st.tokens = 0.0;
            st.refilled = Instant::now();
        }
        (p, marks)
    }

    #[test]
    fn with_queries_on_every_core_writes_get_the_share() {
        let (p, _running) = busy_pacer(2, 0.05, 2);
        // 10 inserts of 1 ms: 10 ms of a core, at 0.1 of a core per second: 100 ms.
        p.owe(10, Duration::from_millis(1));
        let wait = p.charge();
        assert!(
            (wait.as_secs_f64() - 0.1).abs() < 0.01,
            "waited {wait:?}, expected about 100 ms"
        );
    }

    #[test]
    fn with_one_query_on_two_cores_writes_get_the_other_core() {
        let (p, _running) = busy_pacer(2, 0.05, 1);
        p.owe(10, Duration::from_millis(1));
        let wait = p.charge();
        // 10 ms of a core at 1 core per second.
        assert!(
            (wait.as_secs_f64() - 0.01).abs() < 0.002,
            "waited {wait:?}, expected about 10 ms"
        );
    }

    #[test]
    fn without_queries_a_writer_never_waits_beyond_its_own_work() {
        let p = Arc::new(Pacer::new(2, 0.05));
        p.owe(10, Duration::from_millis(1));
        // Demand 0: the budget is both cores; the burst covers the first 20 ms of work.
        assert_eq!(p.charge(), Duration::ZERO);
    }

    #[test]
    fn a_share_of_one_turns_pacing_off_and_the_wait_is_capped() {
        let (p, _running) = busy_pacer(2, 1.0, 2);
        p.owe(1000, Duration::from_millis(1));
        assert_eq!(p.charge(), Duration::ZERO);
        p.set_share(0.05);
        p.owe(100_000, Duration::from_millis(1));
        let wait = p.charge();
        assert!(wait <= MAX_WAIT + Duration::from_millis(1), "{wait:?}");
        assert!(wait >= MAX_WAIT - Duration::from_millis(50), "{wait:?}");
    }

    #[test]
    fn a_statement_pays_only_for_the_graph_work_its_own_thread_left() {
        let (p, _running) = busy_pacer(2, 0.05, 2);
        p.owe(10, Duration::from_millis(1));
        // A query finishing on another thread meanwhile owes nothing and never waits.
        let other = std::thread::scope(|s| s.spawn(|| p.charge()).join().unwrap());
        assert_eq!(other, Duration::ZERO);
        assert!(p.charge() > Duration::ZERO);
    }

    #[test]
    fn once_the_queries_have_stopped_a_writer_does_not_wait() {
        let p = Arc::new(Pacer::new(2, 0.05));
        // A query that ran alone for a while, then ended.
        let q = p.mark();
        std::thread::sleep(WINDOW);
        drop(q);
        std::thread::sleep(QUIET * 2);
        // Far more than the credit: it would wait with any demand left.
        p.owe(1000, Duration::from_millis(1));
        assert_eq!(p.charge(), Duration::ZERO);
    }

    #[test]
    fn finished_queries_raise_the_demand() {
        let p = Arc::new(Pacer::new(2, 0.05));
        // Two queries that each last the whole sample: about 2 in flight.
        let (a, b) = (p.mark(), p.mark());
        std::thread::sleep(WINDOW + SAMPLE);
        drop((a, b));
        p.owe(1, Duration::from_micros(1));
        p.charge();
        let d = p.demand();
        assert!(d > 1.5 && d <= 2.1, "demand {d}");
    }
}
