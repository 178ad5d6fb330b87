//! The strategies of a filtered kNN query (see [`crate::plan::knn`]): exact distances over
//! the matching rows; an HNSW search restricted to a secondary index's candidate rowids; and
//! the iterative search that evaluates the `WHERE` on the rows the graph returns. The graph
//! strategies widen (more results asked, `ef` at least that many) until min(k, matching) rows
//! pass, and return `None` — the caller then runs the exact strategy — when widening would
//! reach the whole index.

use std::collections::HashSet;

use crate::catalog::Metric;
use crate::error::Result;
use crate::exec::select::ExecCtx;
use crate::expr::eval::{truthy, Ctx};
use crate::plan::access::RowSource;
use crate::plan::knn::{graph_round_cost, KnnStrategy};
use crate::plan::SelectPlan;
use crate::value::Value;
use crate::vector::distance::QueryF32;
use crate::vector::live::IndexView;

/// A set of rowids as a bitmap over `[min, max]` (rowids are dense: assigned in order, never
/// reused).
struct RowidSet {
    base: u64,
    bits: Vec<u64>,
}

impl RowidSet {
    /// From ascending rowids.
    fn new(sorted: &[u64]) -> Self {
        let base = sorted.first().copied().unwrap_or(0);
        let span = sorted.last().map_or(0, |m| m - base + 1);
        let mut bits = vec![0u64; span.div_ceil(64) as usize];
        for &r in sorted {
            let i = r - base;
            bits[(i / 64) as usize] |= 1 << (i % 64);
        }
        RowidSet { base, bits }
    }

    fn contains(&self, r: u64) -> bool {
        r.checked_sub(self.base).is_some_and(|i| {
            self.bits
                .get((i / 64) as usize)
                .is_some_and(|w| w & (1 << (i % 64)) != 0)
        })
    }
}

/// The step `EXPLAIN ANALYZE` shows when a cosine query vector is all zeros.
pub(crate) const ZERO_QUERY_STEP: &str =
    "the query vector is all zeros: its cosine distance to every row is NaN, exact scan";

/// The step `EXPLAIN ANALYZE` shows when zero vectors keep a graph search from k ranked rows.
pub(crate) const ZERO_ROWS_FALLBACK_STEP: &str =
    "zero vectors (cosine distance NaN, sorted last) fill the search: exact scan";

/// True when every distance of `metric` from `v` is NaN: cosine with an all-zero vector, as
/// in pgvector. USearch says 1.0 for it instead, so the graph paths treat such rows (and such
/// a query) apart: a NaN distance sorts after every number (as PostgreSQL sorts NaN), and the
/// exact and index paths must agree on it.
pub(crate) fn nan_distance(metric: Metric, v: &[f32]) -> bool {
    metric == Metric::Cosine && v.iter().all(|x| *x == 0.0)
}

/// How many of `rows` have a number as their distance on `column` (not NaN: not a zero
/// vector under cosine). Rows with NaN distances sort after all of those, so a graph search
/// has found the k nearest only when this reaches k.
pub(crate) fn ranked(rows: &[Vec<Value>], column: usize, metric: Metric) -> usize {
    if metric != Metric::Cosine {
        return rows.len();
    }
    rows.iter()
        .filter(|r| !matches!(r.get(column), Some(Value::Vector(v)) if nan_distance(metric, v)))
        .count()
}

/// A view of the column's HNSW index usable for `metric` (brought into memory when needed),
/// or `None` when its index has another metric or is being built (the caller computes exact
/// distances; a query that waits for a build did so before it started, see
/// `SET index_build_wait`). A statement reading a snapshot uses only the view taken with it
/// ([`ExecCtx::acquired`]): an index view taken later would not agree with its rows.
pub(crate) fn acquire(
    cx: &ExecCtx<'_>,
    table: &crate::catalog::TableSchema,
    column: usize,
    metric: Metric,
) -> Result<Option<std::sync::Arc<IndexView>>> {
    use crate::vector::build::Acquired;
    if let Some(a) = cx.acquired {
        if a.table_id == table.id && a.column == column {
            return Ok(Some(a.view.clone()));
        }
    }
    if cx.reads.is_snapshot() {
        return Ok(None);
    }
    match cx.vectors.acquire(
        cx.store,
        table,
        cx.counters.seq,
        column,
        metric,
        cx.counters.rows,
    )? {
        Acquired::Ready(live) => Ok(Some(std::sync::Arc::new(live.view()))),
        Acquired::Unusable => Ok(None),
        Acquired::Building(build) => {
            if let Some(s) = cx.stats {
                let p = build.progress();
                s.step(format!(
                    "the index {} is being built ({} of {} vectors): exact distances",
                    build.meta.name, p.done, p.total
                ));
            }
            Ok(None)
        }
    }
}

/// A view of the column's index when it stores the rows' vectors exactly (f32): the one the
/// statement took with its snapshot, or, for a statement reading the database as it is, the
/// index in memory now.
pub(crate) fn f32_view(
    cx: &ExecCtx<'_>,
    table_id: u64,
    column: usize,
) -> Option<std::sync::Arc<IndexView>> {
    if let Some(a) = cx.acquired {
        if a.table_id == table_id && a.column == column {
            return a.view.stores_f32().then(|| a.view.clone());
        }
    }
    if cx.reads.is_snapshot() {
        return None;
    }
    cx.vectors
        .cached_f32(table_id, column)
        .map(|live| std::sync::Arc::new(live.view()))
}

/// The candidate rowids of an index scan (sorted), through the cache of index scans.
fn index_candidates(
    cx: &ExecCtx<'_>,
    table_id: u64,
    scan: &crate::plan::access::IndexScan,
) -> Result<std::sync::Arc<Vec<u64>>> {
    let (ids, cached) = cx
        .candidates
        .rowids(cx.reads, table_id, cx.generation, scan)?;
    if let Some(s) = cx.stats {
        if cached {
            s.step(format!(
                "{} candidates from the cache of index scans",
                ids.len()
            ));
        } else {
            s.index_entries
                .set(s.index_entries.get() + ids.len() as u64);
        }
    }
    Ok(ids)
}

/// Runs a graph strategy. Returns the candidate rows (all passing the filter, at least
/// min(k, matching) of them) or `None` to fall back to exact distances.
#[allow(clippy::too_many_arguments)]
pub(crate) fn filtered(
    plan: &SelectPlan,
    cx: &ExecCtx<'_>,
    column: usize,
    metric: Metric,
    query: &[f32],
    k: usize,
    strategy: KnnStrategy,
) -> Result<Option<Vec<Vec<Value>>>> {
    let (Some(table), Some(filter)) = (&plan.table, &plan.filter) else {
        return Ok(None);
    };
    if k == 0 {
        return Ok(Some(Vec::new()));
    }
    if nan_distance(metric, query) {
        if let Some(s) = cx.stats {
            s.step(ZERO_QUERY_STEP.to_string());
        }
        return Ok(None);
    }
    let Some(live) = acquire(cx, table, column, metric)? else {
        return Ok(None);
    };
    let size = live.size();
    if size <= cx.exact_threshold {
        return Ok(None);
    }
    // The planner's estimate for the exact strategy bounds how far a graph search widens.
    // A forced strategy (`SET filtered_knn = index`) widens as far as it must.
    let (exact_cost, first_round) = match &plan.access {
        crate::plan::Access::Knn {
            filtered: Some(f), ..
        } => (
            if f.forced {
                f64::INFINITY
            } else {
                f.costs[0].unwrap_or(f64::INFINITY)
            },
            f.costs[if strategy == KnnStrategy::IndexFiltered {
                1
            } else {
                2
            }]
            .unwrap_or(0.0),
        ),
        _ => (f64::INFINITY, 0.0),
    };
    let mut spent = first_round;
    let mut columns = plan.columns_read();
    crate::expr::mark_columns(filter, &mut columns);
    let note = |f: &dyn Fn(&crate::exec::stats::ExecStats)| {
        if let Some(s) = cx.stats {
            f(s);
        }
    };
    // Records one graph search round.
    let searched = |step: String, returned: usize| {
        note(&|s| {
            s.graph_searches.set(s.graph_searches.get() + 1);
            s.candidates.set(s.candidates.get() + returned as u64);
            s.step(step.clone());
        })
    };
    // Whether a round of `cost` still costs less, with what was spent, than the exact plan.
    let afford = |spent: &mut f64, cost: f64, want: usize| {
        if *spent + cost > exact_cost {
            note(&|s| {
                s.step(format!(
                    "widening to {want} would cost more than the exact strategy: falling back"
                ))
            });
            return false;
        }
        *spent += cost;
        true
    };
    // Fetches the rows of `ids` not seen before and keeps those passing the filter.
    let mut seen: HashSet<u64> = HashSet::new();
    let mut passing: Vec<Vec<Value>> = Vec::new();
    let take = |ids: &[u64],
                check: bool,
                seen: &mut HashSet<u64>,
                passing: &mut Vec<Vec<Value>>|
     -> Result<()> {
        cx.cancel.check()?;
        let new: Vec<u64> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        let rows = cx.reads.get_rows(table, &new, Some(&columns))?;
        note(&|s| s.rows_read.set(s.rows_read.get() + new.len() as u64));
        for row in rows.into_iter().flatten() {
            if !check || truthy(filter, Ctx::row(&row))? {
                passing.push(row);
            }
        }
        note(&|s| s.matched.set(passing.len() as u64));
        Ok(())
    };
    match strategy {
        KnnStrategy::Exact => Ok(None),
        KnnStrategy::IndexFiltered => {
            let RowSource::Index(scan) = &plan.source else {
                return Ok(None);
            };
            let candidates = index_candidates(cx, table.id, scan)?;
            let m = candidates.len();
            if m == 0 {
                return Ok(Some(Vec::new()));
            }
            let set = RowidSet::new(&candidates);
            let mut want = k.min(m);
            loop {
                let ef = cx.ef_search.max(want);
                let hits = live.filtered_search(query, want, ef, |id| set.contains(id))?;
                searched(
                    format!(
                        "filtered HNSW search over {m} candidates: asked {want} (ef {ef}), got {}",
                        hits.len()
                    ),
                    hits.len(),
                );
                let ids: Vec<u64> = hits.iter().map(|h| h.0).collect();
                take(&ids, !scan.covers_filter, &mut seen, &mut passing)?;
                // With the filter covered, every candidate matches: min(k, m) is the target.
                // Rows whose distance is NaN (zero vectors under cosine) sort last and do not
                // count.
                let enough = if scan.covers_filter { k.min(m) } else { k };
                if ranked(&passing, column, metric) >= enough {
                    return Ok(Some(passing));
                }
                if want >= m || want.saturating_mul(2) > size {
                    note(&|s| s.step("widening reached the candidate set: falling back"));
                    return Ok(None);
                }
                want = want.saturating_mul(4).min(m);
                if !afford(
                    &mut spent,
                    graph_round_cost(want, cx.ef_search, false),
                    want,
                ) {
                    return Ok(None);
                }
            }
        }
        KnnStrategy::Iterative => {
            let sel = match &plan.access {
                crate::plan::Access::Knn {
                    filtered: Some(f), ..
                } => f.selectivity(),
                _ => 1.0,
            };
            let mut want = (((k as f64) / sel) * 1.5).ceil().max(k as f64) as usize;
            loop {
                want = want.min(size);
                let ef = cx.ef_search.max(want);
                let hits = live.search(query, want, ef, cx.exact_threshold)?;
                searched(format!(
                    "iterative HNSW search: asked {want} (ef {ef}), got {}, WHERE evaluated on the new ones",
                    hits.len()
                ), hits.len());
                let ids: Vec<u64> = hits.iter().map(|h| h.0).collect();
                take(&ids, true, &mut seen, &mut passing)?;
                if ranked(&passing, column, metric) >= k {
                    return Ok(Some(passing));
                }
                if want.saturating_mul(2) > size || hits.len() < want {
                    note(&|s| s.step("widening would reach the whole index: falling back"));
                    return Ok(None);
                }
                // Widen by the selectivity observed so far (at least 4×), unless that would
                // cost more than exact distances over the matching rows.
                let observed = passing.len() as f64 / seen.len().max(1) as f64;
                let need = if observed > 0.0 {
                    (k as f64 / observed * 1.5).ceil() as usize
                } else {
                    want.saturating_mul(8)
                };
                want = need.max(want.saturating_mul(4));
                if !afford(
                    &mut spent,
                    graph_round_cost(want.min(size), cx.ef_search, true),
                    want,
                ) {
                    return Ok(None);
                }
            }
        }
    }
}

/// The exact strategy: the rowids that pass the filter (from a secondary-index range when it
/// answers the filter exactly, else from the access path with the filter evaluated on the
/// scalar columns it reads), then only their vectors (one `multi_get` per 1,024), ranked by
/// f32 distances; the rows within f32 rounding of the k-th are fetched (only the columns the
/// statement reads) for the caller's exact f64 ranking. Rows without a vector sort last, as
/// their NULL distance does.
///
/// # Errors
/// Storage errors; filter evaluation errors.
pub(crate) fn exact(
    plan: &SelectPlan,
    cx: &ExecCtx<'_>,
    column: usize,
    metric: Metric,
    query: &[f32],
    k: usize,
) -> Result<Vec<Vec<Value>>> {
    let Some(table) = &plan.table else {
        return Ok(Vec::new());
    };
    if k == 0 {
        return Ok(Vec::new());
    }
    let note = |f: &dyn Fn(&crate::exec::stats::ExecStats)| {
        if let Some(s) = cx.stats {
            f(s);
        }
    };
    let rowids: Vec<u64> = match &plan.source {
        RowSource::Index(scan) if scan.covers_filter => {
            index_candidates(cx, table.id, scan)?.to_vec()
        }
        source => {
            let nothing = vec![false; table.columns.len()];
            let mut ids = Vec::new();
            super::for_each_match(
                cx.reads,
                table,
                plan.filter.as_ref(),
                Some(&nothing),
                source,
                cx.stats,
                cx.cancel,
                |rowid, _| {
                    ids.push(rowid);
                    Ok(true)
                },
            )?;
            ids
        }
    };
    note(&|s| s.matched.set(s.matched.get() + rowids.len() as u64));
    let mut scored: Vec<(f32, u64)> = Vec::with_capacity(rowids.len());
    let mut without: Vec<u64> = Vec::new();
    let q = QueryF32::new(metric, query);
    let mut has = vec![false; rowids.len()];
    let mut from_index = false;
    if let Some(view) = f32_view(cx, table.id, column) {
        // The index in memory holds every committed vector exactly: no row store reads.
        let mut buf = vec![0f32; query.len()];
        from_index = true;
        for (i, id) in rowids.iter().enumerate() {
            cx.cancel.tick()?;
            match view.get(*id, &mut buf)? {
                Some(true) => {
                    has[i] = true;
                    scored.push((q.distance(&buf), *id));
                }
                Some(false) => {}
                // Written since the statement's snapshot: its vectors come from the snapshot.
                None => {
                    from_index = false;
                    break;
                }
            }
        }
        if !from_index {
            scored.clear();
            has.fill(false);
        }
    }
    if !from_index {
        // In parts, to ask `cancel` between them.
        const PART: usize = 1 << 14;
        for (p, part) in rowids.chunks(PART).enumerate() {
            cx.cancel.check()?;
            cx.reads.for_each_vector(table.id, column, part, |i, v| {
                let i = p * PART + i;
                if v.len() == query.len() {
                    has[i] = true;
                    scored.push((q.distance(v), rowids[i]));
                }
            })?;
        }
        cx.cancel.check()?;
    }
    without.extend(
        rowids
            .iter()
            .zip(&has)
            .filter(|(_, h)| !**h)
            .map(|(id, _)| *id),
    );
    note(&|s| {
        s.rows_read.set(s.rows_read.get() + rowids.len() as u64);
        s.distances.set(s.distances.get() + scored.len() as u64);
        s.step(format!(
            "exact: {} matching rows, their vectors ranked in f32, the nearest fetched",
            rowids.len()
        ));
    });
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut keep: Vec<u64> = if scored.len() > k {
        let kth = scored[k - 1].0;
        if kth.is_nan() {
            scored.iter().map(|x| x.1).collect()
        } else {
            // Everything within f32 rounding of the k-th: the exact ranking decides among them.
            let bound = kth + 1e-3 * kth.abs().max(1.0);
            scored
                .iter()
                .take_while(|(d, _)| *d <= bound)
                .map(|x| x.1)
                .collect()
        }
    } else {
        let mut all: Vec<u64> = scored.iter().map(|x| x.1).collect();
        all.extend(without.iter().take(k - scored.len()));
        all
    };
    // Rowid order, so that the caller's stable sort breaks exact ties by rowid, as a scan does.
    keep.sort_unstable();
    let columns = plan.columns_read();
    let rows = cx.reads.get_rows(table, &keep, Some(&columns))?;
    note(&|s| s.rows_read.set(s.rows_read.get() + keep.len() as u64));
    Ok(rows.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rowid_set_holds_exactly_its_members() {
        let ids = [5u64, 6, 70, 128, 1000];
        let s = RowidSet::new(&ids);
        for r in 0..1100 {
            assert_eq!(s.contains(r), ids.contains(&r), "{r}");
        }
        assert!(!RowidSet::new(&[]).contains(0));
    }
}
