//! `SELECT` execution: full scan (filter → sort → limit → project, where a sort under a
//! `LIMIT` keeps only the top `LIMIT + OFFSET` rows; or filter → group → having → sort → limit
//! → project) and the index kNN scan.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::exec::stats::ExecStats;
use crate::expr::eval::{eval, truthy, Ctx};
use crate::expr::{AggCall, AggFunc, Expr};
use crate::plan::access::RowSource;
use crate::plan::knn::KnnStrategy;
use crate::plan::{Access, SelectPlan};
use crate::row::Rows;
use crate::storage::reads::Reads;
use crate::storage::{Counters, Store};
use crate::value::Value;
use crate::vector::VectorIndexes;

/// What a `SELECT` runs against.
pub(crate) struct ExecCtx<'a> {
    /// For what a query may write: an index's catalog record, a lazily loaded index.
    pub store: &'a Store,
    /// Where the query reads rows: the database now, or the snapshot the query took.
    pub reads: Reads<'a>,
    pub vectors: &'a VectorIndexes,
    /// Counters of the plan's table.
    pub counters: Counters,
    pub ef_search: usize,
    /// An index of at most this many vectors is searched exhaustively (USearch
    /// `exact_search`) rather than through its HNSW graph.
    pub exact_threshold: usize,
    /// Counters for `EXPLAIN ANALYZE` (`None` otherwise).
    pub stats: Option<&'a ExecStats>,
    /// Recent secondary-index scan results, and the write generation of the plan's table.
    pub candidates: &'a crate::exec::candidates::CandidateCache,
    pub generation: u64,
    /// The statement's interrupt flag and deadline.
    pub cancel: &'a crate::exec::cancel::Cancel,
    /// The index the statement brought into memory while it was planned (when it checked
    /// for an index build to wait for): used as is, so that one statement uses one index.
    pub acquired: Option<&'a crate::vector::build::AcquiredIndex>,
}

impl ExecCtx<'_> {
    fn note(&self, f: impl FnOnce(&ExecStats)) {
        if let Some(s) = self.stats {
            f(s);
        }
    }
}

/// Runs a plan.
pub(crate) fn run(plan: &SelectPlan, cx: &ExecCtx<'_>) -> Result<Rows> {
    if let Access::Knn {
        column,
        metric,
        query,
        k,
        filtered,
    } = &plan.access
    {
        let found = match filtered.as_ref().map(|f| f.strategy) {
            None => knn(plan, cx, *column, *metric, query, *k)?,
            Some(KnnStrategy::Exact) => None,
            Some(strategy) => {
                super::knn::filtered(plan, cx, *column, *metric, query, *k, strategy)?
            }
        };
        if let Some(rows) = found {
            return finish_sorted(plan, cx, rows);
        }
        if filtered.is_some() {
            let rows = super::knn::exact(plan, cx, *column, *metric, query, *k)?;
            return finish_sorted(plan, cx, rows);
        }
    }
    full_scan(plan, cx)
}

/// Rows passing the filter, in rowid order; a query without FROM has one empty row.
/// Stops after `stop_after` rows.
fn scan_filtered(
    plan: &SelectPlan,
    cx: &ExecCtx<'_>,
    stop_after: usize,
) -> Result<Vec<Vec<Value>>> {
    let Some(table) = &plan.table else {
        let keep = match &plan.filter {
            Some(f) => truthy(f, Ctx::row(&[]))?,
            None => true,
        };
        return Ok(if keep { vec![Vec::new()] } else { Vec::new() });
    };
    let mut out = Vec::new();
    if stop_after == 0 {
        return Ok(out);
    }
    for_each_row(plan, cx, table, |row| {
        out.push(row);
        Ok(out.len() < stop_after)
    })?;
    Ok(out)
}

/// Calls `f` with each row of `table` passing the filter (the plan's columns decoded), in
/// rowid order, until it returns false.
fn for_each_row(
    plan: &SelectPlan,
    cx: &ExecCtx<'_>,
    table: &TableSchema,
    mut f: impl FnMut(Vec<Value>) -> Result<bool>,
) -> Result<()> {
    let columns = plan.columns_read();
    super::for_each_match(
        cx.reads,
        table,
        plan.filter.as_ref(),
        Some(&columns),
        &plan.source,
        cx.stats,
        cx.cancel,
        |_, row| {
            cx.note(|s| s.matched.set(s.matched.get() + 1));
            f(row)
        },
    )
}

/// `SELECT count(*) … [WHERE …]` and nothing else: only the number of matching rows matters.
fn counts_only(plan: &SelectPlan) -> bool {
    plan.aggregate.as_ref().is_some_and(|a| {
        a.group_by.is_empty() && a.aggs.iter().all(|c| c.func == AggFunc::CountStar)
    })
}

fn full_scan(plan: &SelectPlan, cx: &ExecCtx<'_>) -> Result<Rows> {
    if let Some(agg) = &plan.aggregate {
        if let (true, RowSource::Index(scan)) = (counts_only(plan), &plan.source) {
            if scan.covers_filter {
                // The index ranges are the filter: count keys, read no row.
                let mut n = 0u64;
                cx.reads.scan_index(&scan.ranges, false, |_, _| {
                    n += 1;
                    Ok(true)
                })?;
                cx.note(|s| {
                    s.index_entries.set(s.index_entries.get() + n);
                    s.matched.set(s.matched.get() + n);
                    s.step("count(*): counted index keys, read no row");
                });
                let rows = vec![Vec::new(); n as usize];
                return aggregate(plan, agg, rows);
            }
        }
        let rows = scan_filtered(plan, cx, usize::MAX)?;
        return aggregate(plan, agg, rows);
    }
    if let (RowSource::Index(scan), Some(limit), Some(table)) =
        (&plan.source, plan.limit, &plan.table)
    {
        if scan.order.is_some() {
            let rows =
                ordered_index_rows(plan, cx, table, scan, limit.saturating_add(plan.offset))?;
            return finish_sorted(plan, cx, rows);
        }
    }
    if plan.order_by.is_empty() {
        let stop = plan
            .limit
            .map_or(usize::MAX, |l| l.saturating_add(plan.offset));
        let rows = scan_filtered(plan, cx, stop)?;
        let rows: Vec<Vec<Value>> = rows.into_iter().skip(plan.offset).collect();
        return project(plan, rows.iter().map(|r| Ctx::row(r)));
    }
    let (Some(limit), Some(table)) = (plan.limit, &plan.table) else {
        let rows = scan_filtered(plan, cx, usize::MAX)?;
        return finish_sorted(plan, cx, rows);
    };
    // Top-N: keep at most 2N keyed rows; sorting (stably) and cutting back to N whenever the
    // buffer fills keeps the first N in sort order, ties in scan order, as a full sort would.
    let n = limit.saturating_add(plan.offset);
    let mut top: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    for_each_row(plan, cx, table, |row| {
        let keys = sort_keys(plan, &row)?;
        if n > 0 {
            top.push((keys, row));
            if top.len() >= n.saturating_mul(2).max(64) {
                sort_keyed(&mut top, &plan.order_by);
                top.truncate(n);
            }
        }
        Ok(true)
    })?;
    finish_keyed(plan, cx, top)
}

/// The first `n` rows of an `ORDER BY col LIMIT n` read in index order, plus every row tied
/// with the n-th, in rowid order (so the stable sort that follows breaks ties by rowid, as it
/// does after a full scan). Reads `n` entries first and four times more each time the filter
/// or ties leave it short.
fn ordered_index_rows(
    plan: &SelectPlan,
    cx: &ExecCtx<'_>,
    table: &TableSchema,
    scan: &crate::plan::access::IndexScan,
    n: usize,
) -> Result<Vec<Vec<Value>>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut columns = plan.columns_read();
    if let Some(f) = &plan.filter {
        crate::expr::mark_columns(f, &mut columns);
    }
    let mut want = n.saturating_add(16);
    loop {
        let rowids = super::index_rowids(cx.reads, scan, Some(want))?;
        cx.note(|s| {
            s.index_entries
                .set(s.index_entries.get() + rowids.len() as u64)
        });
        let mut out: Vec<(u64, Vec<Value>, Vec<Value>)> = Vec::new();
        let mut complete = false;
        'fetch: for chunk in rowids.chunks(super::FETCH_CHUNK) {
            let rows = cx.reads.get_rows(table, chunk, Some(&columns))?;
            cx.note(|s| s.rows_read.set(s.rows_read.get() + chunk.len() as u64));
            for (rowid, row) in chunk.iter().zip(rows) {
                let Some(row) = row else { continue };
                if let Some(f) = &plan.filter {
                    if !truthy(f, Ctx::row(&row))? {
                        continue;
                    }
                }
                let keys = sort_keys(plan, &row)?;
                if out.len() >= n && out[n - 1].1 != keys {
                    complete = true;
                    break 'fetch;
                }
                out.push((*rowid, keys, row));
            }
        }
        if complete || rowids.len() < want {
            cx.note(|s| s.matched.set(s.matched.get() + out.len() as u64));
            out.sort_by_key(|(rowid, _, _)| *rowid);
            return Ok(out.into_iter().map(|(_, _, r)| r).collect());
        }
        want = want.saturating_mul(4);
    }
}

/// The row's ORDER BY keys.
fn sort_keys(plan: &SelectPlan, row: &[Value]) -> Result<Vec<Value>> {
    plan.order_by
        .iter()
        .map(|(e, _)| eval(e, Ctx::row(row)))
        .collect()
}

/// Sorts rows by the ORDER BY keys (NULLs last ascending, first descending, ties in input
/// order), applies OFFSET/LIMIT, projects.
pub(crate) fn finish_sorted(
    plan: &SelectPlan,
    cx: &ExecCtx<'_>,
    rows: Vec<Vec<Value>>,
) -> Result<Rows> {
    let keyed = rows
        .into_iter()
        .map(|row| Ok((sort_keys(plan, &row)?, row)))
        .collect::<Result<Vec<_>>>()?;
    if crate::plan::knn_shape(plan).is_some() {
        cx.note(|s| s.distances.set(s.distances.get() + keyed.len() as u64));
    }
    finish_keyed(plan, cx, keyed)
}

/// [`finish_sorted`] for rows already paired with their keys.
fn finish_keyed(
    plan: &SelectPlan,
    cx: &ExecCtx<'_>,
    mut keyed: Vec<(Vec<Value>, Vec<Value>)>,
) -> Result<Rows> {
    sort_keyed(&mut keyed, &plan.order_by);
    let take = plan.limit.unwrap_or(usize::MAX);
    let kept: Vec<(Vec<Value>, Vec<Value>)> =
        keyed.into_iter().skip(plan.offset).take(take).collect();
    cx.note(|s| {
        *s.result_keys.borrow_mut() = kept
            .iter()
            .map(|(k, _)| k.first().cloned().unwrap_or(Value::Null))
            .collect()
    });
    project(plan, kept.iter().map(|(_, r)| Ctx::row(r)))
}

fn sort_keyed<T>(keyed: &mut [(Vec<Value>, T)], order: &[(Expr, bool)]) {
    keyed.sort_by(|(a, _), (b, _)| {
        for ((x, y), (_, desc)) in a.iter().zip(b).zip(order) {
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                // NULLS LAST for ASC, NULLS FIRST for DESC (PostgreSQL's default).
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => x.total_cmp(y),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

fn project<'a>(plan: &SelectPlan, ctxs: impl Iterator<Item = Ctx<'a>>) -> Result<Rows> {
    let mut out = Vec::new();
    for ctx in ctxs {
        out.push(
            plan.projections
                .iter()
                .map(|e| eval(e, ctx))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    Ok(Rows::new(plan.names.clone(), out))
}

/// A compensated (Kahan–Babuška–Neumaier) sum of reals, as SQLite sums them: adding 0.001
/// ten times gives 0.01, not 0.010000000000000002.
#[derive(Default)]
struct RealSum {
    sum: f64,
    compensation: f64,
}

impl RealSum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if t.is_finite() {
            self.compensation += if self.sum.abs() >= x.abs() {
                (self.sum - t) + x
            } else {
                (x - t) + self.sum
            };
        }
        self.sum = t;
    }

    fn value(&self) -> f64 {
        if self.sum.is_finite() {
            self.sum + self.compensation
        } else {
            self.sum
        }
    }
}

enum Acc {
    Count(i64),
    Sum {
        int: i64,
        real: RealSum,
        is_real: bool,
        any: bool,
    },
    Avg {
        sum: RealSum,
        n: u64,
    },
    Min(Value),
    Max(Value),
}

impl Acc {
    fn new(f: AggFunc) -> Acc {
        match f {
            AggFunc::Count | AggFunc::CountStar => Acc::Count(0),
            AggFunc::Sum => Acc::Sum {
                int: 0,
                real: RealSum::default(),
                is_real: false,
                any: false,
            },
            AggFunc::Avg => Acc::Avg {
                sum: RealSum::default(),
                n: 0,
            },
            AggFunc::Min => Acc::Min(Value::Null),
            AggFunc::Max => Acc::Max(Value::Null),
        }
    }

    fn add(&mut self, call: &AggCall, row: &[Value]) -> Result<()> {
        let v = match &call.arg {
            Some(e) => eval(e, Ctx::row(row))?,
            None => Value::Boolean(true), // COUNT(*)
        };
        if v.is_null() {
            return Ok(());
        }
        match self {
            Acc::Count(n) => *n += 1,
            Acc::Sum {
                int,
                real,
                is_real,
                any,
            } => {
                *any = true;
                match v {
                    Value::Integer(i) if !*is_real => match int.checked_add(i) {
                        Some(s) => *int = s,
                        None => return Err(Error::invalid("integer overflow in SUM")),
                    },
                    Value::Integer(i) => real.add(i as f64),
                    Value::Real(r) => {
                        if !*is_real {
                            *is_real = true;
                            *real = RealSum::default();
                            real.add(*int as f64);
                        }
                        real.add(r);
                    }
                    other => {
                        return Err(Error::type_mismatch("SUM", "a number", other.type_name()))
                    }
                }
            }
            Acc::Avg { sum, n } => match v {
                Value::Integer(i) => {
                    sum.add(i as f64);
                    *n += 1;
                }
                Value::Real(r) => {
                    sum.add(r);
                    *n += 1;
                }
                other => return Err(Error::type_mismatch("AVG", "a number", other.type_name())),
            },
            Acc::Min(m) => {
                if m.is_null() || v.total_cmp(m) == Ordering::Less {
                    *m = v;
                }
            }
            Acc::Max(m) => {
                if m.is_null() || v.total_cmp(m) == Ordering::Greater {
                    *m = v;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Value {
        match self {
            Acc::Count(n) => Value::Integer(n),
            Acc::Sum { any: false, .. } => Value::Null,
            Acc::Sum {
                int, real, is_real, ..
            } => {
                if is_real {
                    Value::Real(real.value())
                } else {
                    Value::Integer(int)
                }
            }
            Acc::Avg { n: 0, .. } => Value::Null,
            Acc::Avg { sum, n } => Value::Real(sum.value() / n as f64),
            Acc::Min(v) | Acc::Max(v) => v,
        }
    }
}

/// A finished group: its keys and its aggregate values.
type Group = (Vec<Value>, Vec<Value>);

pub(crate) fn aggregate(
    plan: &SelectPlan,
    agg: &crate::plan::AggPlan,
    rows: Vec<Vec<Value>>,
) -> Result<Rows> {
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut groups: Vec<(Vec<Value>, Vec<Acc>)> = Vec::new();
    for row in &rows {
        let keys: Vec<Value> = agg
            .group_by
            .iter()
            .map(|e| eval(e, Ctx::row(row)))
            .collect::<Result<_>>()?;
        // -0.0 and 0.0 are one group (they are equal), as in PostgreSQL.
        let normalized: Vec<Value> = keys
            .iter()
            .map(|k| match k {
                Value::Real(r) if *r == 0.0 => Value::Real(0.0),
                other => other.clone(),
            })
            .collect();
        let id = crate::storage::keys::encode(&normalized)?;
        let gi = *index.entry(id).or_insert_with(|| {
            groups.push((keys, agg.aggs.iter().map(|a| Acc::new(a.func)).collect()));
            groups.len() - 1
        });
        for (acc, call) in groups[gi].1.iter_mut().zip(&agg.aggs) {
            acc.add(call, row)?;
        }
    }
    if groups.is_empty() && agg.group_by.is_empty() {
        groups.push((
            Vec::new(),
            agg.aggs.iter().map(|a| Acc::new(a.func)).collect(),
        ));
    }
    let mut done: Vec<Group> = groups
        .into_iter()
        .map(|(k, accs)| (k, accs.into_iter().map(Acc::finish).collect()))
        .collect();
    if let Some(h) = &agg.having {
        let mut kept = Vec::with_capacity(done.len());
        for (k, a) in done {
            if truthy(
                h,
                Ctx {
                    row: &[],
                    keys: &k,
                    aggs: &a,
                },
            )? {
                kept.push((k, a));
            }
        }
        done = kept;
    }
    let mut keyed: Vec<(Vec<Value>, Group)> = Vec::with_capacity(done.len());
    for (k, a) in done {
        let sort_keys = plan
            .order_by
            .iter()
            .map(|(e, _)| {
                eval(
                    e,
                    Ctx {
                        row: &[],
                        keys: &k,
                        aggs: &a,
                    },
                )
            })
            .collect::<Result<_>>()?;
        keyed.push((sort_keys, (k, a)));
    }
    sort_keyed(&mut keyed, &plan.order_by);
    let take = plan.limit.unwrap_or(usize::MAX);
    let groups: Vec<Group> = keyed
        .into_iter()
        .skip(plan.offset)
        .take(take)
        .map(|(_, g)| g)
        .collect();
    project(
        plan,
        groups.iter().map(|(k, a)| Ctx {
            row: &[],
            keys: k,
            aggs: a,
        }),
    )
}

/// Index kNN. Returns the candidate rows (at least `min(k, matching)` of them, unsorted), or
/// `None` when the caller must fall back to a full scan.
fn knn(
    plan: &SelectPlan,
    cx: &ExecCtx<'_>,
    column: usize,
    metric: crate::catalog::Metric,
    query: &[f32],
    k: usize,
) -> Result<Option<Vec<Vec<Value>>>> {
    let Some(table) = &plan.table else {
        return Ok(None);
    };
    if k == 0 {
        return Ok(Some(Vec::new()));
    }
    if super::knn::nan_distance(metric, query) {
        cx.note(|s| s.step(super::knn::ZERO_QUERY_STEP.to_string()));
        return Ok(None);
    }
    let Some(live) = super::knn::acquire(cx, table, column, metric)? else {
        return Ok(None);
    };
    debug_assert!(plan.filter.is_none());
    let mut want = k;
    loop {
        let Some((rows, hits)) = knn_round(plan, cx, &live, column, query, want)? else {
            return Ok(None);
        };
        // Under cosine a zero vector is 1.0 away in USearch but NaN away exactly, and sorts
        // after every number: the rows must hold k others, or the search asks for more.
        let ranked = super::knn::ranked(&rows, column, metric);
        if ranked >= k {
            return Ok(Some(rows));
        }
        if hits < want || want.saturating_mul(2) > live.size() {
            cx.note(|s| s.step(super::knn::ZERO_ROWS_FALLBACK_STEP.to_string()));
            return Ok(None);
        }
        want = want
            .saturating_add(rows.len() - ranked)
            .max(want.saturating_mul(2));
    }
}

/// One index search for `want` rows: the rows (at least `min(want, table rows)`) and how many
/// the search returned, or `None` when the caller must fall back to a full scan.
fn knn_round(
    plan: &SelectPlan,
    cx: &ExecCtx<'_>,
    live: &crate::vector::live::IndexView,
    column: usize,
    query: &[f32],
    k: usize,
) -> Result<Option<(Vec<Vec<Value>>, usize)>> {
    let Some(table) = &plan.table else {
        return Ok(None);
    };
    let hits = live.search(query, k, cx.ef_search, cx.exact_threshold)?;
    cx.note(|s| {
        s.graph_searches.set(s.graph_searches.get() + 1);
        s.candidates.set(s.candidates.get() + hits.len() as u64);
        s.step(format!(
            "HNSW search (ef_search {}): asked {k}, got {}",
            cx.ef_search,
            hits.len()
        ));
    });
    if hits.len() < k && (hits.len() as u64) < cx.counters.rows {
        return Ok(None);
    }
    let ids: Vec<u64> = hits.iter().map(|h| h.0).collect();
    // Only the columns the statement reads: the vector column for the exact distance, the
    // projected ones; nothing else of the row.
    let mut columns = plan.columns_read();
    // An index that stores f32 holds the rows' vectors exactly: read them from it (memory)
    // rather than from RocksDB. The exact distance is still computed from them, so results
    // are the same whichever path ran.
    let from_index = columns.get(column).copied().unwrap_or(false) && live.stores_f32();
    if from_index {
        columns[column] = false;
    }
    let rows = cx.reads.get_rows(table, &ids, Some(&columns))?;
    cx.note(|s| s.rows_read.set(s.rows_read.get() + ids.len() as u64));
    if rows.iter().any(Option::is_none) {
        return Ok(None);
    }
    let mut rows: Vec<Vec<Value>> = rows.into_iter().flatten().collect();
    cx.note(|s| {
        s.step(format!(
            "fetched the {} rows by rowid ({})",
            rows.len(),
            if from_index {
                "vectors from the index in memory"
            } else {
                "vectors from RocksDB"
            }
        ))
    });
    if from_index {
        let mut buf = vec![0f32; query.len()];
        let mut vectors: Vec<Option<Vec<f32>>> = Vec::with_capacity(ids.len());
        for id in &ids {
            match live.get(*id, &mut buf)? {
                Some(true) => vectors.push(Some(buf.clone())),
                Some(false) => return Ok(None),
                None => {
                    // Written since the statement's snapshot: its vectors come from the
                    // snapshot.
                    vectors = cx.reads.get_vectors(table.id, column, &ids)?;
                    break;
                }
            }
        }
        for (row, v) in rows.iter_mut().zip(vectors) {
            let Some(v) = v else {
                return Ok(None);
            };
            if let Some(slot) = row.get_mut(column) {
                *slot = Value::Vector(v);
            }
        }
    }
    Ok(Some((rows, hits.len())))
}
