//! The filtered-kNN pass: how `… WHERE <filter> ORDER BY v <op> q LIMIT k` finds its rows.
//!
//! Three strategies, each returning exactly min(k, matching) rows ranked by the exact
//! distances of the stored vectors:
//! - [`KnnStrategy::Exact`]: read the matching rows (through the access path the access pass
//!   chose: a secondary-index range, or a scan of the scalar columns), fetch only their vectors,
//!   compute exact distances, keep the top k. Cost grows with the number of matches.
//! - [`KnnStrategy::IndexFiltered`]: collect the candidate rowids from the secondary index and
//!   search the HNSW graph with a predicate on them (USearch `filtered_search`: the walk goes
//!   through every node but only candidates enter the results), asking for more results (and
//!   a matching `ef`) until min(k, matching) rows are found. `ef` is not widened up front by
//!   the selectivity: the search already walks until it holds `ef` matching nodes, and on the
//!   real data widening doubled the latency without raising recall (0.998 → 1.000).
//! - [`KnnStrategy::Iterative`]: search the HNSW graph for `k / selectivity` neighbours,
//!   evaluate the `WHERE` on the rows it returns, and search again with a wider list until k
//!   rows pass — pgvector 0.8's iterative index scan.
//!
//! Every graph strategy falls back to `Exact` when widening reaches the whole index without
//! k rows, so no strategy returns fewer rows than match.
//!
//! The choice (`SET filtered_knn = auto`, the default) compares estimated costs, which
//! depend on the estimated number of matching rows: the count of the secondary-index entries
//! in the filter's ranges when an index applies (as Qdrant's planner uses its payload-index
//! cardinality), else the fraction of a sample of the table's rows that pass the filter.
//! `SET filtered_knn = exact | index` forces a strategy. `EXPLAIN` prints the estimate, the
//! costs and the choice.

use std::fmt;

use crate::catalog::TableSchema;
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::access::{RowSource, SAMPLE_ROWS};
use crate::plan::PlanCatalog;
pub use crate::sql::set::FilteredKnnSetting;
use crate::value::DataType;

/// The session settings the kNN passes read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KnnSettings {
    pub ef_search: usize,
    pub exact_threshold: usize,
    pub filtered: FilteredKnnSetting,
}

/// A filtered-kNN strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KnnStrategy {
    Exact,
    IndexFiltered,
    Iterative,
}

impl fmt::Display for KnnStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Exact => "exact distances over the matching rows",
            Self::IndexFiltered => "HNSW search filtered to the secondary index's candidates",
            Self::Iterative => "iterative HNSW search, WHERE evaluated on the rows it returns",
        })
    }
}

/// The filtered-kNN choice and the figures it was made from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FilteredKnn {
    pub strategy: KnnStrategy,
    /// Estimated matching rows.
    pub estimate: u64,
    /// Where the estimate comes from.
    pub estimate_source: String,
    /// Rows in the table.
    pub rows: u64,
    /// Estimated cost of each strategy in microseconds (`None`: not possible here).
    pub costs: [Option<f64>; 3],
    /// Why this strategy.
    pub reason: String,
    /// Set by `SET filtered_knn = exact | index` rather than by cost: a graph strategy then
    /// widens as far as it must instead of falling back when widening costs more than exact.
    pub forced: bool,
}

impl FilteredKnn {
    /// `estimate / rows`, at least 1/rows.
    pub fn selectivity(&self) -> f64 {
        let rows = self.rows.max(1) as f64;
        (self.estimate as f64 / rows).clamp(1.0 / rows, 1.0)
    }
}

// Cost model, in microseconds, fitted on 2 cores to the 20K real set (see README, "Filtered
// kNN"): reading one secondary-index key; reading one row by rowid; scanning one row's scalar
// columns and evaluating the filter; ranking one candidate's vector (per 384 dimensions),
// read from the HNSW index in memory or from RocksDB; one unfiltered HNSW search, per unit
// of ef. A filtered graph search costs about that search over √selectivity (it walks until
// it has ef matching nodes, and on real data matches cluster near the query).
const C_KEY: f64 = 0.15;
const C_ROW: f64 = 1.5;
const C_SCAN: f64 = 0.5;
const C_VECTOR_MEMORY_384: f64 = 0.6;
const C_VECTOR_STORED_384: f64 = 1.3;
const C_SEARCH_PER_EF: f64 = 4.0;

/// The estimated cost (µs) of one graph search asking for `want` results with `ef` at least
/// that, plus reading and filtering the `want` rows it returns when `fetch`.
pub(crate) fn graph_round_cost(want: usize, ef_search: usize, fetch: bool) -> f64 {
    C_SEARCH_PER_EF * ef_search.max(want) as f64 + if fetch { want as f64 * C_ROW } else { 0.0 }
}

/// Chooses the strategy of a filtered kNN query on `column` of `table`.
///
/// # Errors
/// Storage errors from sampling.
pub(crate) fn choose(
    table: &TableSchema,
    column: usize,
    filter: &Expr,
    k: usize,
    source: &RowSource,
    catalog: &dyn PlanCatalog,
) -> Result<Option<FilteredKnn>> {
    let settings = catalog.knn_settings();
    let rows = catalog.row_count(table.id);
    let dims = match table.columns.get(column).map(|c| c.data_type) {
        Some(DataType::Vector(n)) => n,
        _ => return Ok(None),
    };
    let (estimate, estimate_source) = match source {
        RowSource::PrimaryKey(_) => (1, "primary key".to_string()),
        RowSource::Index(scan) if scan.estimate_sampled && !scan.estimate_capped => (
            scan.estimate,
            format!(
                "index {} has over {} entries; a sample of the rows puts them at this",
                scan.index.name,
                super::access::COUNT_LIMIT
            ),
        ),
        RowSource::Index(scan) if !scan.estimate_capped => (
            scan.estimate,
            format!("count of index {} entries", scan.index.name),
        ),
        RowSource::Index(scan) => (
            scan.estimate,
            format!("index {} has at least this many entries", scan.index.name),
        ),
        RowSource::FullScan => {
            let (sel, n) = catalog.sample_selectivity(table, filter, SAMPLE_ROWS)?;
            // A sample with no match still leaves up to one in 2n rows matching.
            let sel = if sel == 0.0 && n > 0 {
                0.5 / n as f64
            } else {
                sel
            };
            (
                (sel * rows as f64).round() as u64,
                format!("{:.1}% of a sample of {n} rows", sel * 100.0),
            )
        }
    };
    let m = estimate as f64;
    let sel = (m / rows.max(1) as f64).clamp(1.0 / rows.max(1) as f64, 1.0);
    let per_vector = if catalog.vectors_in_memory(table.id, column) {
        C_VECTOR_MEMORY_384
    } else {
        C_VECTOR_STORED_384
    };
    let c_vector = per_vector * (dims as f64 / 384.0).max(0.25);
    let search = |ef: usize| C_SEARCH_PER_EF * ef as f64;
    let exact = match source {
        RowSource::PrimaryKey(_) => C_ROW + c_vector,
        RowSource::Index(s) => {
            m * C_KEY + if s.covers_filter { 0.0 } else { m * C_ROW } + m * c_vector
        }
        RowSource::FullScan => rows as f64 * C_SCAN + m * c_vector,
    };
    let index_filtered = match source {
        RowSource::Index(s) if !s.estimate_capped => {
            let ef = settings.ef_search.max(k);
            Some(m * C_KEY + search(ef) / sel.sqrt() + k as f64 * C_ROW)
        }
        _ => None,
    };
    let iterative = {
        let want = ((k as f64 / sel) * 1.5).ceil().min(rows as f64);
        Some(search(settings.ef_search.max(want as usize)) + want * C_ROW)
    };
    let costs = [Some(exact), index_filtered, iterative];
    let small_index =
        catalog.index_size(table.id, column).map_or(rows, |n| n) <= settings.exact_threshold as u64;
    let (strategy, reason) = match settings.filtered {
        FilteredKnnSetting::Exact => (
            KnnStrategy::Exact,
            "forced by SET filtered_knn = exact".to_string(),
        ),
        FilteredKnnSetting::Index => (
            if index_filtered.is_some() {
                KnnStrategy::IndexFiltered
            } else {
                KnnStrategy::Iterative
            },
            "forced by SET filtered_knn = index".to_string(),
        ),
        FilteredKnnSetting::Auto if small_index || matches!(source, RowSource::PrimaryKey(_)) => (
            KnnStrategy::Exact,
            format!(
                "at most {} vectors: exact distances cost no more than a graph search",
                settings.exact_threshold.max(1)
            ),
        ),
        FilteredKnnSetting::Auto => {
            let mut best = (KnnStrategy::Exact, exact);
            for (s, c) in [
                (KnnStrategy::IndexFiltered, index_filtered),
                (KnnStrategy::Iterative, iterative),
            ] {
                if let Some(c) = c {
                    if c < best.1 {
                        best = (s, c);
                    }
                }
            }
            (best.0, "lowest estimated cost".to_string())
        }
    };
    Ok(Some(FilteredKnn {
        strategy,
        estimate,
        estimate_source,
        rows,
        costs,
        reason,
        forced: settings.filtered != FilteredKnnSetting::Auto,
    }))
}
