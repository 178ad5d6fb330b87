//! Execution: `SELECT` (scan, aggregate, kNN) and the write statements, over bound
//! expressions ([`crate::expr`]) and plans ([`crate::plan`]).
//!
//! Operators work over materialised rows (`Vec<Value>`), pulled from the storage scan in rowid
//! order; a kNN query reads only the rows the index returns (plus a filter scan when there is
//! a `WHERE`).

pub(crate) mod alter;
pub(crate) mod bulk;
pub(crate) mod cancel;
pub(crate) mod candidates;
pub(crate) mod copy;
pub(crate) mod explain;
pub(crate) mod file_source;
pub(crate) mod knn;
pub(crate) mod publish;
pub(crate) mod select;
pub(crate) mod stats;
pub(crate) mod stream;
pub(crate) mod write;

use crate::catalog::TableSchema;
use crate::error::Result;
use crate::exec::cancel::Cancel;
use crate::exec::stats::ExecStats;
use crate::expr::eval::{truthy, Ctx};
use crate::expr::Expr;
use crate::plan::access::{IndexScan, RowSource};
use crate::storage::keys;
use crate::storage::reads::Reads;
use crate::value::Value;

/// Calls `f(rowid, row)` for each row of `table` that satisfies `filter` (all rows without
/// one), until `f` returns `Ok(false)`. With `columns`, the rows handed to `f` have only those
/// columns decoded (the others are NULL); the filter is evaluated first, on the scalar columns
/// it reads, and vectors are read only for rows that pass it.
///
/// `source` is the access path the planner chose ([`RowSource`]): a full scan (rowid order),
/// a primary-key point read, or a secondary-index range scan (rowid order, or index order when
/// the plan reads the index in order); the filter is evaluated on every row either way.
///
/// Asks `cancel` every row ([`Cancel::tick`]): an interrupted or timed-out statement stops with
/// [`crate::Error::Interrupted`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn for_each_match(
    store: Reads<'_>,
    table: &TableSchema,
    filter: Option<&Expr>,
    columns: Option<&[bool]>,
    source: &RowSource,
    stats: Option<&ExecStats>,
    cancel: &Cancel,
    mut f: impl FnMut(u64, Vec<Value>) -> Result<bool>,
) -> Result<()> {
    let read = |n: u64| -> Result<()> {
        if let Some(s) = stats {
            s.rows_read.set(s.rows_read.get() + n);
        }
        cancel.tick()
    };
    let mut filter_columns = vec![false; table.columns.len()];
    if let Some(e) = filter {
        crate::expr::mark_columns(e, &mut filter_columns);
    }
    // The columns a fetched row needs: the filter's and the caller's.
    let wanted: Option<Vec<bool>> = columns.map(|c| {
        (0..table.columns.len())
            .map(|i| c.get(i).copied().unwrap_or(false) || filter_columns[i])
            .collect()
    });
    let matches = |row: &[Value]| match filter {
        Some(e) => truthy(e, Ctx::row(row)),
        None => Ok(true),
    };
    match source {
        RowSource::PrimaryKey(key) => {
            if let Some(rowid) = store.pk_lookup(table.id, key)? {
                read(1)?;
                if let Some(row) = store
                    .get_rows(table, &[rowid], wanted.as_deref())?
                    .pop()
                    .flatten()
                {
                    if matches(&row)? {
                        f(rowid, row)?;
                    }
                }
            }
            Ok(())
        }
        RowSource::Index(scan) => {
            cancel.check()?;
            let rowids = index_rowids(store, scan, None)?;
            cancel.check()?;
            if let Some(s) = stats {
                s.index_entries
                    .set(s.index_entries.get() + rowids.len() as u64);
            }
            for chunk in rowids.chunks(FETCH_CHUNK) {
                read(chunk.len() as u64)?;
                cancel.check()?;
                let rows = store.get_rows(table, chunk, wanted.as_deref())?;
                for (rowid, row) in chunk.iter().zip(rows) {
                    let Some(row) = row else { continue };
                    if (scan.covers_filter || matches(&row)?) && !f(*rowid, row)? {
                        return Ok(());
                    }
                }
            }
            Ok(())
        }
        RowSource::FullScan => {
            let Some(filter) = filter else {
                return store.scan(table, columns, |rowid, row| {
                    read(1)?;
                    f(rowid, row)
                });
            };
            let mut vectors = store.vector_cursors(table, columns);
            // Vectors the filter itself reads (`v IS NULL`, a distance bound): filled first.
            let mut filter_vectors = store.vector_cursors(table, Some(&filter_columns));
            store.scan_raw(table.id, |rowid, bytes| {
                read(1)?;
                let mut narrow = keys::decode_row(bytes, Some(&filter_columns))?;
                filter_vectors.fill(rowid, &mut narrow)?;
                if !truthy(filter, Ctx::row(&narrow))? {
                    return Ok(true);
                }
                let mut row = keys::decode_row(bytes, columns)?;
                vectors.fill(rowid, &mut row)?;
                f(rowid, row)
            })
        }
    }
}

/// Rows fetched per `multi_get` when a statement reads rows by rowid.
pub(crate) const FETCH_CHUNK: usize = 256;

/// The rowids of a secondary-index scan: in index order when the scan is ordered, else
/// sorted by rowid (so results come in the same order as a full scan's). Stops after `limit`
/// entries when given.
pub(crate) fn index_rowids(
    store: Reads<'_>,
    scan: &IndexScan,
    limit: Option<usize>,
) -> Result<Vec<u64>> {
    let mut out = Vec::with_capacity(scan.estimate.min(1 << 20) as usize);
    let limit = limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return Ok(out);
    }
    store.scan_index(&scan.ranges, scan.order == Some(true), |rowid, _| {
        out.push(rowid);
        Ok(out.len() < limit)
    })?;
    if scan.order.is_none() {
        out.sort_unstable();
    }
    Ok(out)
}
