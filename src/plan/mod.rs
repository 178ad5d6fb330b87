//! The planner: a bound `SELECT` ([`BoundSelect`], from [`crate::sql::select`]) becomes a
//! [`SelectPlan`], which [`crate::exec::select`] runs (or, for `EXPLAIN`, describes).
//!
//! [`plan_select`] runs the passes in order:
//! 1. the access-path pass ([`access`]): full scan, primary-key read, or a secondary-index
//!    range chosen by counted entries; an index read in key order for `ORDER BY col LIMIT n`;
//! 2. the kNN pass ([`choose_access`]): `ORDER BY <vector column> <op> <constant> [ASC] LIMIT
//!    k` (also with the operator's function form) becomes [`Access::Knn`] when the column's
//!    index has that metric or can be built lazily with it;
//! 3. with a `WHERE`, the filtered-kNN pass ([`knn`]): exact, filtered HNSW or iterative HNSW
//!    by estimated cost.
//!
//! Anything else is a scan + sort; with a `LIMIT` the sort keeps only the top
//! `LIMIT + OFFSET` rows. `EXPLAIN` text comes from [`crate::exec::explain`].
//!
//! [`BoundSelect`]: crate::sql::select::BoundSelect
//! [`SelectPlan`]: crate::plan::SelectPlan
//! [`plan_select`]: crate::plan::plan_select
//! [`choose_access`]: crate::plan::choose_access
//! [`Access::Knn`]: crate::plan::Access::Knn

pub(crate) mod access;
pub(crate) mod knn;

use crate::catalog::SecondaryIndex;
use crate::plan::access::{IndexStats, RowSource};
use crate::plan::knn::FilteredKnn;

use crate::catalog::{Metric, TableSchema};
use crate::error::Result;
use crate::expr::{self, BinOp, Expr, Func};
pub(crate) use crate::sql::select::AggPlan;
use crate::sql::select::BoundSelect;
use crate::value::{DataType, Value};

/// How rows are found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Access {
    /// Scan every row (filter, sort, limit).
    FullScan,
    /// Ask the HNSW index of `column` for the `k` nearest rows to `query`; with a `WHERE`,
    /// by the filtered-kNN strategy in `filtered`.
    Knn {
        column: usize,
        metric: Metric,
        query: Vec<f32>,
        k: usize,
        filtered: Option<FilteredKnn>,
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
    /// How the scan (or an exact filtered kNN) finds the rows the `WHERE` selects.
    pub source: RowSource,
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
pub(crate) trait PlanCatalog: IndexStats {
    /// The metric of the index on a column, or `None` when it has none (a lazy build may
    /// create one with any metric).
    fn index_metric(&self, table_id: u64, column: usize) -> Option<Metric>;
    /// The secondary indexes of a table.
    fn table_indexes(&self, table_id: u64) -> Vec<SecondaryIndex>;
    /// Rows in a table (kept by every write).
    fn row_count(&self, table_id: u64) -> u64;
    /// True when the column's HNSW index is in memory and stores f32 vectors (the exact
    /// strategy then reads vectors from it instead of RocksDB).
    fn vectors_in_memory(&self, table_id: u64, column: usize) -> bool;
    /// Vectors in the column's loaded or saved HNSW index, if known.
    fn index_size(&self, table_id: u64, column: usize) -> Option<u64>;
    /// The session's `ef_search`, exact-search threshold and `filtered_knn` setting.
    fn knn_settings(&self) -> knn::KnnSettings;
}

/// Plans a bound `SELECT`: the same query, with the access path [`choose_access`] picks.
///
/// # Errors
/// Storage errors from the estimates (index counts, the selectivity sample).
pub(crate) fn plan_select(bound: BoundSelect, catalog: &dyn PlanCatalog) -> Result<SelectPlan> {
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
        source: RowSource::FullScan,
    };
    if let Some(t) = &plan.table {
        let indexes = catalog.table_indexes(t.id);
        let rows = catalog.row_count(t.id);
        plan.source = access::choose_source(t, &indexes, plan.filter.as_ref(), rows, catalog)?;
        if let (RowSource::FullScan, Some((col, desc)), Some(_), None) = (
            &plan.source,
            order_by_column(&plan),
            plan.limit,
            &plan.aggregate,
        ) {
            if let Some(src) = access::ordered_source(t, &indexes, col, desc) {
                plan.source = src;
            }
        }
    }
    plan.access = choose_access(&plan, catalog)?;
    Ok(plan)
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

/// `ORDER BY col [DESC]` on one plain column: (column, descending).
fn order_by_column(plan: &SelectPlan) -> Option<(usize, bool)> {
    match plan.order_by.as_slice() {
        [(Expr::Column(c), desc)] => Some((*c, *desc)),
        _ => None,
    }
}

/// The kNN pass: index kNN when the shape fits and the column's index (existing or lazy) has
/// the query's metric; with a `WHERE`, the filtered-kNN pass ([`knn::choose`]) picks how.
pub(crate) fn choose_access(plan: &SelectPlan, catalog: &dyn PlanCatalog) -> Result<Access> {
    let Some((column, metric, query)) = knn_shape(plan) else {
        return Ok(Access::FullScan);
    };
    let Some(table) = plan.table.as_ref() else {
        return Ok(Access::FullScan);
    };
    match catalog.index_metric(table.id, column) {
        Some(m) if m != metric => Ok(Access::FullScan),
        _ => {
            let k = plan.limit.unwrap_or(0).saturating_add(plan.offset);
            let filtered = match &plan.filter {
                None => None,
                Some(f) => match knn::choose(table, column, f, k, &plan.source, catalog)? {
                    Some(choice) => Some(choice),
                    None => return Ok(Access::FullScan),
                },
            };
            Ok(Access::Knn {
                column,
                metric,
                query,
                k,
                filtered,
            })
        }
    }
}
