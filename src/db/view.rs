//! The catalog as the binders ([`crate::sql::Catalog`]) and the planner
//! ([`crate::plan::PlanCatalog`]) see it, under the database's lock.

use crate::catalog::{IndexMeta, Metric, SecondaryIndex, TableSchema};
use crate::error::Result;
use crate::exec::write::TableEntry;
use crate::expr::Expr;
use crate::plan::access::IndexStats;
use crate::plan::knn::KnnSettings;
use crate::plan::PlanCatalog;
use crate::sql::Catalog;
use crate::storage::KeyRange;

use super::{lookup, Database, State};

pub(super) struct CatalogView<'a> {
    pub(super) db: &'a Database,
    pub(super) state: &'a State,
}

impl Catalog for CatalogView<'_> {
    fn table(&self, name: &str) -> Result<TableSchema> {
        lookup(self.state, name).map(|e| e.schema.clone())
    }
    fn tables(&self) -> Vec<TableSchema> {
        self.state
            .tables
            .values()
            .map(|e| e.schema.clone())
            .collect()
    }
    fn indexes(&self) -> Vec<IndexMeta> {
        self.db.inner.vectors.all_metas()
    }
    fn index(&self, table_id: u64, column: usize) -> Option<IndexMeta> {
        self.db.inner.vectors.meta(table_id, column)
    }
    fn secondary_indexes(&self) -> Vec<(TableSchema, SecondaryIndex)> {
        self.state
            .tables
            .values()
            .flat_map(|e| e.indexes.iter().map(|s| (e.schema.clone(), s.clone())))
            .collect()
    }
}

impl IndexStats for CatalogView<'_> {
    fn count(&self, ranges: &[KeyRange], cap: u64) -> Result<u64> {
        let mut n = 0u64;
        self.db
            .inner
            .store
            .reads()
            .scan_index(ranges, false, |_, _| {
                n += 1;
                Ok(n < cap)
            })?;
        Ok(n)
    }
    fn sample_selectivity(
        &self,
        table: &TableSchema,
        filter: &Expr,
        n: usize,
    ) -> Result<(f64, u64)> {
        let entry = entry_by_id(self.state, table.id);
        let generation = entry.map_or(0, |e| e.generation);
        let key = (table.id, generation, format!("{filter:?}"));
        if let Some(hit) = self.db.inner.samples.lock().get(&key) {
            return Ok(*hit);
        }
        // Spread the sample over the rowid range: 64 short runs starting at rowids placed by
        // the golden ratio, so that neither a table loaded in the order of the filtered column
        // nor a column periodic in the rowid is judged by a few aligned stretches.
        let next_rowid = entry.map_or(0, |e| e.counters.next_rowid);
        let runs = 64u64;
        let per_run = (n as u64).div_ceil(runs).max(1);
        let (mut seen, mut hits) = (0u64, 0u64);
        let mut mask = vec![false; table.columns.len()];
        crate::expr::mark_columns(filter, &mut mask);
        let has_vector = table
            .columns
            .iter()
            .enumerate()
            .any(|(i, c)| mask[i] && matches!(c.data_type, crate::value::DataType::Vector(_)));
        // A filter that fails on a row counts as not matching here; the statement itself
        // reports the error.
        let passes = |row: &[crate::value::Value]| {
            u64::from(
                crate::expr::eval::truthy(filter, crate::expr::eval::Ctx::row(row))
                    .unwrap_or(false),
            )
        };
        if has_vector {
            // Rare: a filter on a vector column; the plain scan fills vectors.
            self.db
                .inner
                .store
                .reads()
                .scan(table, Some(&mask), |_, row| {
                    seen += 1;
                    hits += passes(&row);
                    Ok(seen < n as u64)
                })?;
        } else {
            for r in 0..runs {
                if seen >= n as u64 {
                    break;
                }
                let phase = (r as f64 * 0.618_033_988_749_895).fract();
                let from = (next_rowid as f64 * phase) as u64;
                let mut taken = 0u64;
                self.db
                    .inner
                    .store
                    .reads()
                    .scan_raw_from(table.id, from, |_, bytes| {
                        let row = crate::storage::keys::decode_row(bytes, Some(&mask))?;
                        seen += 1;
                        taken += 1;
                        hits += passes(&row);
                        Ok(taken < per_run && seen < n as u64)
                    })?;
            }
        }
        let result = (
            if seen == 0 {
                0.0
            } else {
                hits as f64 / seen as f64
            },
            seen,
        );
        self.db.inner.samples.lock().put(key, result);
        Ok(result)
    }
}

impl PlanCatalog for CatalogView<'_> {
    fn index_metric(&self, table_id: u64, column: usize) -> Option<Metric> {
        self.db.inner.vectors.metric(table_id, column)
    }
    fn table_indexes(&self, table_id: u64) -> Vec<SecondaryIndex> {
        entry_by_id(self.state, table_id).map_or_else(Vec::new, |e| e.indexes.clone())
    }
    fn row_count(&self, table_id: u64) -> u64 {
        entry_by_id(self.state, table_id).map_or(0, |e| e.counters.rows)
    }
    fn vectors_in_memory(&self, table_id: u64, column: usize) -> bool {
        self.db.inner.vectors.cached_f32(table_id, column).is_some()
    }
    fn index_size(&self, table_id: u64, column: usize) -> Option<u64> {
        self.db
            .inner
            .vectors
            .meta(table_id, column)
            .and_then(|m| m.saved.map(|s| s.rows))
    }
    fn knn_settings(&self) -> KnnSettings {
        KnnSettings {
            ef_search: self.db.ef_search(),
            exact_threshold: self.db.inner.exact_threshold,
            filtered: self.db.filtered_knn(),
        }
    }
}

fn entry_by_id(state: &State, table_id: u64) -> Option<&TableEntry> {
    state.tables.values().find(|e| e.schema.id == table_id)
}
