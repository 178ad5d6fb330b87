//! The planner: a bound `SELECT` ([`BoundSelect`], from [`crate::sql::select`]) becomes a
//! [`SelectPlan`], which [`crate::exec::select`] runs (or, for `EXPLAIN`, describes).
//!
//! [`plan_select`] picks the access path. [`choose_access`] is the kNN pass:
//! `ORDER BY <vector column> <op> <constant> [ASC] LIMIT k` (also with the operator's
//! function form) without a `WHERE` becomes [`Access::Knn`] when the column's index has that
//! metric or can be built lazily with it. Anything else is a full scan + sort; with a `LIMIT`
//! the sort keeps only the top `LIMIT + OFFSET` rows.
//!
//! A `WHERE` makes a kNN query a full scan with exact distances. There are no secondary
//! indexes, so the filter is evaluated on every row either way, and the matching rows' vectors
//! are decoded in that scan; one exact distance per match adds little to it, while searching
//! the HNSW index over the matching rowids (USearch `filtered_search`, what this planner did
//! before) was approximate and, on data without cluster structure, missed most true neighbours
//! (recall@10 0.17 at 50% selectivity on 100K random 768-d vectors; 1.000 exact).
//!
//! [`BoundSelect`]: crate::sql::select::BoundSelect
//! [`SelectPlan`]: crate::plan::SelectPlan
//! [`plan_select`]: crate::plan::plan_select
//! [`choose_access`]: crate::plan::choose_access
//! [`Access::Knn`]: crate::plan::Access::Knn

use crate::catalog::{Metric, TableSchema};
use crate::expr::{self, BinOp, Expr, Func};
pub(crate) use crate::sql::select::AggPlan;
use crate::sql::select::BoundSelect;
use crate::value::{DataType, Value};

/// How rows are found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Access {
    /// Scan every row (filter, sort, limit).
    FullScan,
    /// Ask the HNSW index of `column` for the `k` nearest rows to `query`.
    Knn {
        column: usize,
        metric: Metric,
        query: Vec<f32>,
        k: usize,
    },
}

/// A planned `SELECT`: the bound query and how its rows are found.
#[derive(Debug, Clone)]
pub(crate) struct SelectPlan {
    pub table: Option<TableSchema>,
    pub filter: Option<Expr>,
    pub projections: Vec<Expr>,
    pub names: Vec<String>,
    pub aggregate: Option<AggPlan>,
    /// Sort keys and `true` for DESC.
    pub order_by: Vec<(Expr, bool)>,
    pub limit: Option<usize>,
    pub offset: usize,
    pub access: Access,
}

impl SelectPlan {
    /// Which columns of the scanned rows the projections, sort keys, group keys and
    /// aggregates read (the filter is evaluated separately); scans decode only these.
    pub fn columns_read(&self) -> Vec<bool> {
        let n = self.table.as_ref().map_or(0, |t| t.columns.len());
        let mut mask = vec![false; n];
        for e in self
            .projections
            .iter()
            .chain(self.order_by.iter().map(|(e, _)| e))
        {
            expr::mark_columns(e, &mut mask);
        }
        if let Some(agg) = &self.aggregate {
            for e in agg
                .group_by
                .iter()
                .chain(agg.aggs.iter().filter_map(|a| a.arg.as_ref()))
            {
                expr::mark_columns(e, &mut mask);
            }
        }
        mask
    }
}

/// What the planner needs from the catalog (table names were resolved by the binder).
pub(crate) trait PlanCatalog {
    /// The metric of the index on a column, or `None` when it has none (a lazy build may
    /// create one with any metric).
    fn index_metric(&self, table_id: u64, column: usize) -> Option<Metric>;
}

/// Plans a bound `SELECT`: the same query, with the access path [`choose_access`] picks.
pub(crate) fn plan_select(bound: BoundSelect, catalog: &dyn PlanCatalog) -> SelectPlan {
    let BoundSelect {
        table,
        filter,
        projections,
        names,
        aggregate,
        order_by,
        limit,
        offset,
    } = bound;
    let mut plan = SelectPlan {
        table,
        filter,
        projections,
        names,
        aggregate,
        order_by,
        limit,
        offset,
        access: Access::FullScan,
    };
    plan.access = choose_access(&plan, catalog);
    plan
}

/// If the plan orders by the distance between a vector column and a constant vector, ascending,
/// with a LIMIT, returns (column, metric, query).
pub(crate) fn knn_shape(plan: &SelectPlan) -> Option<(usize, Metric, Vec<f32>)> {
    if plan.aggregate.is_some() || plan.order_by.len() != 1 || plan.limit.is_none() {
        return None;
    }
    let table = plan.table.as_ref()?;
    let (key, desc) = &plan.order_by[0];
    if *desc {
        return None;
    }
    let (metric, a, b) = match key {
        Expr::Binary(BinOp::Distance(m), a, b) => (*m, a.as_ref(), b.as_ref()),
        Expr::Func(Func::L2Distance, args) if args.len() == 2 => (Metric::L2, &args[0], &args[1]),
        Expr::Func(Func::CosineDistance, args) if args.len() == 2 => {
            (Metric::Cosine, &args[0], &args[1])
        }
        _ => return None,
    };
    let (col, q) = match (a, b) {
        (Expr::Column(c), Expr::Literal(Value::Vector(q)))
        | (Expr::Literal(Value::Vector(q)), Expr::Column(c)) => (*c, q),
        _ => return None,
    };
    match table.columns.get(col)?.data_type {
        DataType::Vector(n) if n == q.len() => Some((col, metric, q.clone())),
        _ => None,
    }
}

/// The kNN pass: index kNN when the shape fits, there is no `WHERE`, and the column's index
/// (existing or lazy) has the query's metric.
pub(crate) fn choose_access(plan: &SelectPlan, catalog: &dyn PlanCatalog) -> Access {
    if plan.filter.is_some() {
        return Access::FullScan;
    }
    let Some((column, metric, query)) = knn_shape(plan) else {
        return Access::FullScan;
    };
    let Some(table) = plan.table.as_ref() else {
        return Access::FullScan;
    };
    match catalog.index_metric(table.id, column) {
        Some(m) if m != metric => Access::FullScan,
        _ => {
            let k = plan.limit.unwrap_or(0).saturating_add(plan.offset);
            Access::Knn {
                column,
                metric,
                query,
                k,
            }
        }
    }
}
