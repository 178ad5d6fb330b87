//! `EXPLAIN` and `EXPLAIN ANALYZE` of a `SELECT`: the access path, the filtered-kNN strategy
//! with the estimate and costs it was chosen from, and — when analyzed — what ran, with rows,
//! time and the recall of the answer against an exact scan of the same rows.

use std::time::Instant;

use sqlparser::ast as sql;

use crate::error::Result;
use crate::exec::select::{self, ExecCtx};
use crate::exec::stats::{recall, ExecStats};
use crate::plan::access::RowSource;
use crate::plan::knn::KnnStrategy;
use crate::plan::{Access, SelectPlan};
use crate::value::Value;

/// The access-path line of a plan.
fn source_line(plan: &SelectPlan) -> String {
    let name = plan
        .table
        .as_ref()
        .map_or("(no table)".to_string(), |t| t.name.clone());
    match &plan.source {
        RowSource::FullScan => format!("Full scan on {name}"),
        RowSource::PrimaryKey(v) => {
            let col = plan
                .table
                .as_ref()
                .and_then(|t| t.primary_key.map(|p| t.columns[p].name.clone()))
                .unwrap_or_default();
            format!(
                "Primary-key lookup on {name} ({col} = {})",
                v.to_sql_literal()
            )
        }
        RowSource::Index(s) => match s.order {
            Some(desc) => format!(
                "Index scan on {name} using {} in {} key order ({})",
                s.index.name,
                if desc { "descending" } else { "ascending" },
                s.condition
            ),
            None => format!(
                "Index scan on {name} using {} ({}; {} {} entries)",
                s.index.name,
                s.condition,
                if s.estimate_capped {
                    "at least"
                } else if s.estimate_sampled {
                    "sampled estimate"
                } else {
                    "estimate"
                },
                s.estimate
            ),
        },
    }
}

/// The text of `EXPLAIN`, one line per row.
pub(crate) fn explain(plan: &SelectPlan, query: &sql::Query, cx: &ExecCtx<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    let select = match query.body.as_ref() {
        sql::SetExpr::Select(s) => Some(s),
        _ => None,
    };
    let where_text = select
        .and_then(|s| s.selection.as_ref())
        .map(ToString::to_string);
    let order_text = query.order_by.as_ref().map(|o| o.to_string());
    match &plan.access {
        Access::Knn {
            column,
            metric,
            k,
            filtered,
            ..
        } => {
            let t = plan.table.as_ref().expect("kNN plans have a table");
            let state = match cx.vectors.meta(t.id, *column) {
                Some(m) => format!(
                    "index {} (HNSW, m={}, ef_construction={}, {})",
                    m.name, m.params.m, m.params.ef_construction, m.params.quantization
                ),
                None => "HNSW index built lazily on first use".to_string(),
            };
            match filtered {
                None => {
                    lines.push(format!(
                        "Index kNN scan on {}.{} using {state}",
                        t.name, t.columns[*column].name
                    ));
                }
                Some(f) => {
                    lines.push(format!(
                        "Filtered kNN on {}.{}: {}",
                        t.name, t.columns[*column].name, f.strategy
                    ));
                    lines.push(format!("  why: {}", f.reason));
                    lines.push(format!(
                        "  estimate: {} of {} rows match ({:.2}%; {})",
                        f.estimate,
                        f.rows,
                        f.selectivity() * 100.0,
                        f.estimate_source
                    ));
                    let cost = |c: Option<f64>| c.map_or("n/a".to_string(), |c| format!("{c:.0}"));
                    lines.push(format!(
                        "  estimated cost (µs): exact {}, filtered HNSW {}, iterative HNSW {}",
                        cost(f.costs[0]),
                        cost(f.costs[1]),
                        cost(f.costs[2])
                    ));
                    if f.strategy != KnnStrategy::Iterative {
                        lines.push(format!("  candidates: {}", source_line(plan)));
                    }
                    if f.strategy != KnnStrategy::Exact {
                        lines.push(format!("  graph: {state}"));
                    }
                    if let Some(w) = &where_text {
                        lines.push(format!("  filter: {w}"));
                    }
                }
            }
            lines.push(format!(
                "  metric: {metric} ({}), k: {k}, ef_search: {}",
                metric.operator(),
                cx.ef_search
            ));
            if filtered.is_none() {
                lines.push(format!(
                    "  search: exhaustive (USearch exact_search) while the index holds at most {} vectors, else the HNSW graph",
                    cx.exact_threshold
                ));
                lines.push(format!(
                    "  then: fetch the {k} rows by rowid (only the columns read), recompute exact distances, sort"
                ));
            } else {
                lines.push(
                    "  then: rank by exact distances of the stored vectors; exactly min(k, matching) rows"
                        .to_string(),
                );
            }
        }
        Access::FullScan => {
            lines.push(source_line(plan));
            if let Some(w) = &where_text {
                lines.push(format!("  filter: {w}"));
            }
            if let Some(agg) = &plan.aggregate {
                lines.push(format!(
                    "  aggregate: {} group key(s), {} aggregate(s)",
                    agg.group_by.len(),
                    agg.aggs.len()
                ));
                if let RowSource::Index(s) = &plan.source {
                    if s.covers_filter
                        && agg.group_by.is_empty()
                        && agg
                            .aggs
                            .iter()
                            .all(|a| a.func == crate::expr::AggFunc::CountStar)
                    {
                        lines.push("  (count(*) counts index keys and reads no row)".to_string());
                    }
                }
            }
            if let Some(o) = &order_text {
                match plan.limit {
                    Some(l) if plan.aggregate.is_none() => lines.push(format!(
                        "  sort: {o} (top-N: keeps the first {} rows)",
                        l.saturating_add(plan.offset)
                    )),
                    _ => lines.push(format!("  sort: {o}")),
                }
            }
            lines.extend(knn_metric_mismatch(plan, cx));
        }
    }
    if plan.limit.is_some() || plan.offset > 0 {
        lines.push(format!(
            "  limit: {}, offset: {}",
            plan.limit.map_or("none".to_string(), |l| l.to_string()),
            plan.offset
        ));
    }
    lines.push(format!("  output: {}", plan.names.join(", ")));
    lines
}

/// For a kNN-shaped query scanned because the column's HNSW index has another metric, the
/// lines that say so: `index t_v_hnsw is cosine, the query uses l2 (<->): exact scan …` and
/// how to index the query's metric instead.
fn knn_metric_mismatch(plan: &SelectPlan, cx: &ExecCtx<'_>) -> Vec<String> {
    let Some((col, metric, _)) = crate::plan::knn_shape(plan) else {
        return Vec::new();
    };
    let Some(t) = plan.table.as_ref() else {
        return Vec::new();
    };
    let Some(m) = cx.vectors.meta(t.id, col) else {
        return Vec::new();
    };
    if m.params.metric == metric {
        return Vec::new();
    }
    let opclass = match metric {
        crate::catalog::Metric::L2 => "vector_l2_ops",
        crate::catalog::Metric::Cosine => "vector_cosine_ops",
        crate::catalog::Metric::InnerProduct => "vector_ip_ops",
    };
    vec![
        format!(
            "  index {} is {}, the query uses {metric} ({}): exact scan (another metric)",
            m.name,
            m.params.metric,
            metric.operator(),
        ),
        format!(
            "  (a column has one HNSW index; to index {metric} instead: DROP INDEX {}; \
             CREATE INDEX ON {} USING hnsw ({} {opclass}))",
            m.name, t.name, t.columns[col].name,
        ),
    ]
}

/// `EXPLAIN ANALYZE`: the plan's lines, then the statement run with counters, then (for a
/// kNN query) the same rows ranked exactly, for the recall@k of the answer.
///
/// # Errors
/// Whatever running the statement returns.
pub(crate) fn analyze(
    plan: &SelectPlan,
    query: &sql::Query,
    cx: &ExecCtx<'_>,
) -> Result<Vec<String>> {
    let mut lines = explain(plan, query, cx);
    let stats = ExecStats::default();
    let run_cx = ExecCtx {
        stats: Some(&stats),
        ..*cx
    };
    let started = Instant::now();
    let rows = select::run(plan, &run_cx)?;
    let elapsed = started.elapsed();
    lines.push("Actual:".to_string());
    if stats.steps.borrow().is_empty() {
        stats.step(format!(
            "{}: {} rows read, {} passed the filter",
            source_line(plan),
            stats.rows_read.get(),
            stats.matched.get()
        ));
    }
    for s in stats.steps.borrow().iter() {
        lines.push(format!("  step: {s}"));
    }
    if stats.graph_searches.get() > 0 {
        lines.push(format!(
            "  HNSW searches: {}, rowids returned: {}",
            stats.graph_searches.get(),
            stats.candidates.get()
        ));
    }
    if stats.index_entries.get() > 0 {
        lines.push(format!(
            "  secondary-index entries read: {}",
            stats.index_entries.get()
        ));
    }
    lines.push(format!(
        "  rows read: {}{}, distances computed: {}",
        stats.rows_read.get(),
        if plan.filter.is_some() {
            format!(", rows passing the filter: {}", stats.matched.get())
        } else {
            String::new()
        },
        stats.distances.get()
    ));
    lines.push(format!(
        "  rows returned: {}, time: {:.3} ms",
        rows.len(),
        elapsed.as_secs_f64() * 1000.0
    ));
    if let Access::Knn { k, filtered, .. } = &plan.access {
        // The same statement with exact distances over every matching row.
        let mut exact_plan = plan.clone();
        match &mut exact_plan.access {
            Access::Knn {
                filtered: Some(f), ..
            } => f.strategy = KnnStrategy::Exact,
            other => *other = Access::FullScan,
        }
        let exact_stats = ExecStats::default();
        let exact_cx = ExecCtx {
            stats: Some(&exact_stats),
            ..*cx
        };
        select::run(&exact_plan, &exact_cx)?;
        let exact_keys: Vec<Value> = exact_stats.result_keys.borrow().clone();
        let got: Vec<Value> = stats.result_keys.borrow().clone();
        if let Some(f) = filtered {
            lines.push(format!(
                "  matching rows: estimated {}, actual {}",
                f.estimate,
                exact_stats.matched.get()
            ));
        }
        lines.push(format!(
            "  recall@{k}: {:.3} (against exact distances over the same rows: {} of {} found)",
            recall(&got, &exact_keys),
            (recall(&got, &exact_keys) * exact_keys.len() as f64).round() as usize,
            exact_keys.len()
        ));
    }
    Ok(lines)
}
