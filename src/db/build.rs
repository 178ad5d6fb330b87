//! Index builds that hold no database lock (see [`crate::vector::build`]): the thread of a
//! lazy build, `CREATE INDEX … USING hnsw`, and a kNN query waiting for a build
//! (`SET index_build_wait = on`) with the lock released.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use parking_lot::RwLockWriteGuard;
use sqlparser::ast::Query;

use super::{lookup, Database, Inner, State};
use crate::catalog::IndexMeta;
use crate::error::{Error, Result};
use crate::exec::cancel::Cancel;
use crate::exec::knn::nan_distance;
use crate::exec::select::ExecCtx;
use crate::plan::knn::KnnStrategy;
use crate::plan::{Access, SelectPlan};
use crate::value::Value;
use crate::vector::build::{build_index, read_vectors, Acquired, AcquiredIndex, Build};

/// Has `inner`'s index manager start lazy builds on threads of their own. The threads hold
/// the database only while they read the snapshot and while they publish; when its last
/// handle is dropped, the running builds are stopped and their threads joined before the
/// database closes (see `Shared`).
pub(super) fn install(inner: &Arc<Inner>) {
    let weak = Arc::downgrade(inner);
    inner
        .vectors
        .set_build_spawner(Box::new(move |build: Arc<Build>| {
            let weak = weak.clone();
            std::thread::Builder::new()
                .name(format!("vectable build {}", build.meta.name))
                .spawn(move || run_lazy(&weak, &build))
        }));
}

/// The change sequence of the table with id `table_id`, if it still exists.
fn table_seq(state: &State, table_id: u64) -> Option<u64> {
    state
        .tables
        .values()
        .find(|e| e.schema.id == table_id)
        .map(|e| e.counters.seq)
}

fn abandoned(build: &Build, reason: &str) -> Error {
    Error::IndexBuildAbandoned {
        index: build.meta.name.clone(),
        reason: reason.to_string(),
    }
}

/// Ends the build as failed if its thread stops without having ended it (a panic).
struct EndGuard<'a> {
    weak: &'a Weak<Inner>,
    build: &'a Arc<Build>,
}

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        if self.build.running() {
            let e = Error::VectorIndex("the build thread stopped".into());
            fail(self.weak, self.build, &e);
        }
    }
}

/// Cleans up after a failed build and ends it.
fn fail(weak: &Weak<Inner>, build: &Arc<Build>, e: &Error) {
    if let Some(inner) = weak.upgrade() {
        let _r = inner.state.read();
        inner.vectors.fail_build(&inner.store, build, e);
    }
    build.finish(Err(e.to_string()));
}

/// The body of a lazy build's thread. The build is ended (waiting queries woken) only after
/// the thread has let go of the database, so that a handle dropped then closes it.
fn run_lazy(weak: &Weak<Inner>, build: &Arc<Build>) {
    let _end = EndGuard { weak, build };
    let cancel = build.cancel();
    match lazy_steps(weak, build, &cancel) {
        Ok(()) => build.finish(Ok(())),
        Err(e) => fail(weak, build, &e),
    }
}

fn lazy_steps(weak: &Weak<Inner>, build: &Arc<Build>, cancel: &Cancel) -> Result<()> {
    let closed = || abandoned(build, "the database was closed");
    let dropped = || abandoned(build, "its table was dropped");
    // The sequence and the snapshot, together under the upgradable lock: no write statement
    // runs then. A writer that prepared before the index was registered logs no change for
    // it; it has published (and its rows are in the snapshot) before this lock is granted.
    let (snapshot_seq, keys, data) = {
        let inner = weak.upgrade().ok_or_else(closed)?;
        let state = inner.state.upgradable_read();
        let seq = table_seq(&state, build.key.0).ok_or_else(dropped)?;
        let snap = inner.store.snapshot();
        drop(state);
        let (keys, data) = read_vectors(&snap, build, cancel)?;
        (seq, keys, data)
    };
    let built = build_index(build, &keys, data, cancel)?;
    let inner = weak.upgrade().ok_or_else(closed)?;
    let caught = inner
        .vectors
        .catch_up_build(&inner.store, build, built, snapshot_seq)?;
    let state = inner.state.read();
    let seq = table_seq(&state, build.key.0).ok_or_else(dropped)?;
    inner.vectors.publish(&inner.store, build, caught, seq)?;
    Ok(())
}

impl Database {
    /// `SET index_build_wait`: whether a kNN query on a column whose index is being built
    /// waits for the build (true) or computes exact distances meanwhile (false).
    pub fn index_build_wait(&self) -> bool {
        self.inner.index_build_wait.load(Ordering::Relaxed)
    }

    /// `CREATE INDEX … USING hnsw`: registers the index under the write lock `state`, takes
    /// the table's sequence and a snapshot, releases the lock, builds from the snapshot, and
    /// publishes under the read lock. Reads and writes proceed meanwhile; kNN queries on the
    /// column compute exact distances or wait (`SET index_build_wait`). When `cancel` fires or
    /// the build fails, the index is forgotten.
    pub(super) fn create_vector_index(
        &self,
        state: RwLockWriteGuard<'_, State>,
        meta: IndexMeta,
        cancel: &Cancel,
    ) -> Result<()> {
        let inner = &self.inner;
        let entry = lookup(&state, &meta.table)?;
        let (table_id, rows, snapshot_seq) =
            (entry.schema.id, entry.counters.rows, entry.counters.seq);
        let build = inner.vectors.create(&inner.store, meta, rows)?;
        let snap = inner.store.snapshot();
        drop(state);
        let read = read_vectors(&snap, &build, cancel);
        drop(snap);
        let result = read
            .and_then(|(keys, data)| build_index(&build, &keys, data, cancel))
            .and_then(|built| {
                let caught =
                    inner
                        .vectors
                        .catch_up_build(&inner.store, &build, built, snapshot_seq)?;
                let state = inner.state.read();
                let seq = table_seq(&state, table_id)
                    .ok_or_else(|| abandoned(&build, "its table was dropped"))?;
                inner
                    .vectors
                    .publish(&inner.store, &build, caught, seq)
                    .map(|_| ())
            });
        if let Err(e) = &result {
            let _r = inner.state.read();
            inner.vectors.fail_build(&inner.store, &build, e);
        }
        build.finish(result.as_ref().map(|_| ()).map_err(ToString::to_string));
        result
    }

    /// What a planned query's HNSW index search finds: the column's index, brought into
    /// memory now, or its build, running or started now; with whether the query would wait
    /// for a build (not when its query vector is all zeros under cosine, nor when the planner
    /// chose exact distances, which read the index only for its vectors).
    fn acquire_for(&self, state: &State, plan: &SelectPlan) -> Result<Option<(Acquired, bool)>> {
        let (
            Some(table),
            Access::Knn {
                column,
                metric,
                query,
                k,
                filtered,
            },
        ) = (&plan.table, &plan.access)
        else {
            return Ok(None);
        };
        if *k == 0 || nan_distance(*metric, query) {
            return Ok(None);
        }
        if filtered
            .as_ref()
            .is_some_and(|f| f.strategy == KnnStrategy::Exact)
        {
            // Exact distances: an index in memory lends its vectors, none is brought in.
            return Ok(self
                .inner
                .vectors
                .cached_f32(table.id, *column)
                .map(|live| (Acquired::Ready(live), false)));
        }
        let entry = lookup(state, &table.name)?;
        let acquired = self.inner.vectors.acquire(
            &self.inner.store,
            table,
            entry.counters.seq,
            *column,
            *metric,
            entry.counters.rows,
        )?;
        Ok(Some((acquired, true)))
    }

    /// Plans `q` under the read lock and runs `f` on the plan.
    ///
    /// With `wait` (a query, or `EXPLAIN ANALYZE`), the statement then runs **without the
    /// lock**, on what it took under it: a RocksDB snapshot, the table's counters, and a view
    /// of the index its kNN search uses ([`crate::vector::live::IndexView`]), all as of the
    /// same committed statement. Writers publish meanwhile without waiting for it, and it
    /// sees none of their changes. With `SET index_build_wait = on`, a plan that needs an
    /// index being built first waits for the build with the lock released (writers and other
    /// readers proceed), then plans again; it waits once. A statement whose index is being
    /// built and that does not wait computes exact distances, under the lock.
    ///
    /// Without `wait` (`EXPLAIN`), and on a read-only database, `f` runs under the lock, on
    /// the database as it is.
    pub(super) fn planned<T>(
        &self,
        q: &Query,
        params: &[Value],
        cancel: &Cancel,
        wait: bool,
        f: impl Fn(&SelectPlan, &ExecCtx<'_>) -> Result<T>,
    ) -> Result<T> {
        // A query in flight from before it takes the lock: writers' graph work yields to it
        // (see `vector::pacing`).
        let _in_flight = self.inner.vectors.pacer.mark();
        let mut waited = false;
        loop {
            let state = self.inner.state.read();
            let plan = self.plan(&state, q, params, cancel)?;
            // A read-only database has no writer to let in (and RocksDB's secondary
            // instances take no snapshots).
            if !wait || self.inner.read_only {
                return f(&plan, &self.exec_ctx(&state, plan.table.as_ref(), cancel));
            }
            let found = self.acquire_for(&state, &plan)?;
            let acquired = match found {
                Some((Acquired::Building(build), true)) if !waited && self.index_build_wait() => {
                    drop(state);
                    build.wait(cancel)?;
                    waited = true;
                    continue;
                }
                Some((Acquired::Building(_), _)) => {
                    return f(&plan, &self.exec_ctx(&state, plan.table.as_ref(), cancel));
                }
                Some((Acquired::Ready(live), _)) => {
                    plan.table.as_ref().and_then(|t| match plan.access {
                        Access::Knn { column, .. } => Some(AcquiredIndex {
                            table_id: t.id,
                            column,
                            view: Arc::new(live.view()),
                        }),
                        Access::FullScan => None,
                    })
                }
                Some((Acquired::Unusable, _)) | None => None,
            };
            let snap = self.inner.store.snapshot();
            let mut cx = self.exec_ctx(&state, plan.table.as_ref(), cancel);
            drop(state);
            cx.reads = snap.reads();
            cx.acquired = acquired.as_ref();
            return f(&plan, &cx);
        }
    }
}
