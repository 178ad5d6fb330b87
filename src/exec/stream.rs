//! Streaming `SELECT`: a scan (`SELECT … FROM t [WHERE …] [LIMIT …] [OFFSET …]`, no
//! `ORDER BY`, aggregate or kNN; a full scan, or a secondary-index range scan whose rowids are
//! collected first) read from a RocksDB snapshot and handed over in batches of
//! [`STREAM_BATCH`] projected rows through a channel of [`STREAM_QUEUE`] batches, so at most
//! `(STREAM_QUEUE + 2) × STREAM_BATCH` rows are in memory whatever the table's size.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;

use crate::error::Result;
use crate::expr::eval::{eval, truthy, Ctx};
use crate::plan::access::RowSource;
use crate::plan::{Access, SelectPlan};
use crate::storage::keys;
use crate::storage::snapshot::StoreSnapshot;
use crate::value::Value;

/// Rows per batch sent to the cursor.
pub(crate) const STREAM_BATCH: usize = 64;
/// Batches the channel holds while the cursor has not taken them.
pub(crate) const STREAM_QUEUE: usize = 2;

/// One batch of result rows, or the error that ended the scan.
pub(crate) type Batch = Result<Vec<Vec<Value>>>;

/// True when the plan reads its table in rowid order and yields the rows as it reads them
/// (a full scan, or a secondary-index range scan not read in key order), so it can stream.
pub(crate) fn streams(plan: &SelectPlan) -> bool {
    plan.table.is_some()
        && plan.aggregate.is_none()
        && plan.order_by.is_empty()
        && matches!(plan.access, Access::FullScan)
        && match &plan.source {
            RowSource::FullScan => true,
            RowSource::Index(scan) => scan.order.is_none(),
            RowSource::PrimaryKey(_) => false,
        }
}

/// Scans the plan's table in `snap`, sending the projected rows that pass the filter to `tx`
/// in batches; an error is sent as the last batch. Stops early when `cancel` is set or the
/// receiver is gone.
pub(crate) fn produce(
    snap: &StoreSnapshot<'_>,
    plan: &SelectPlan,
    tx: &SyncSender<Batch>,
    cancel: &AtomicBool,
) {
    let mut batch = Vec::with_capacity(STREAM_BATCH);
    let result = scan(snap, plan, tx, cancel, &mut batch);
    // The rows before an error are delivered, then the error.
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
    if let Err(e) = result {
        let _ = tx.send(Err(e));
    }
}

fn scan(
    snap: &StoreSnapshot<'_>,
    plan: &SelectPlan,
    tx: &SyncSender<Batch>,
    cancel: &AtomicBool,
    batch: &mut Vec<Vec<Value>>,
) -> Result<()> {
    let Some(table) = &plan.table else {
        return Ok(());
    };
    let mut left = plan.limit.unwrap_or(usize::MAX);
    if left == 0 {
        return Ok(());
    }
    let mut skip = plan.offset;
    let columns = plan.columns_read();
    let mut filter_columns = vec![false; table.columns.len()];
    if let Some(f) = &plan.filter {
        crate::expr::mark_columns(f, &mut filter_columns);
    }
    let mut vectors = snap.reads().vector_cursors(table, Some(&columns));
    // Vectors the filter itself reads: filled first, for every row.
    let mut filter_vectors = snap.reads().vector_cursors(table, Some(&filter_columns));
    let visit = |rowid: u64, bytes: &[u8]| -> Result<bool> {
        if cancel.load(Ordering::Relaxed) {
            return Ok(false);
        }
        if let Some(filter) = &plan.filter {
            let mut narrow = keys::decode_row(bytes, Some(&filter_columns))?;
            filter_vectors.fill(rowid, &mut narrow)?;
            if !truthy(filter, Ctx::row(&narrow))? {
                return Ok(true);
            }
        }
        if skip > 0 {
            skip -= 1;
            return Ok(true);
        }
        let mut row = keys::decode_row(bytes, Some(&columns))?;
        vectors.fill(rowid, &mut row)?;
        let out = plan
            .projections
            .iter()
            .map(|e| eval(e, Ctx::row(&row)))
            .collect::<Result<Vec<_>>>()?;
        batch.push(out);
        left -= 1;
        if batch.len() == STREAM_BATCH && tx.send(Ok(std::mem::take(batch))).is_err() {
            // The cursor is gone.
            return Ok(false);
        }
        Ok(left > 0)
    };
    match &plan.source {
        // The secondary index's rowids (8 bytes per entry), then their rows in rowid order.
        RowSource::Index(scan) => {
            let rowids = snap.index_rowids(&scan.ranges)?;
            snap.rows_by_id(table.id, &rowids, visit)
        }
        _ => snap.reads().scan_raw_from(table.id, 0, visit),
    }
}
