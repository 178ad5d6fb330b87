//! The storage side of `ALTER TABLE DROP COLUMN`: a column's stored vectors and change log
//! are keyed by its position, so the columns after a dropped one move down by one.

use super::{keys, Batch, CF_VECTORS};
use crate::error::Result;

impl Batch<'_> {
    /// Deletes every stored vector of column `column`.
    pub fn delete_vector_column(&mut self, table_id: u64, column: usize) {
        let (start, end) = keys::vector_column_range(table_id, column);
        self.wb
            .delete_range_cf(self.store.cf(CF_VECTORS), &start[..], &end[..]);
    }

    /// Moves the stored vectors of column `from` to column `to` (whose range must be empty
    /// or deleted in this batch first) and the change-log entries with them.
    ///
    /// # Errors
    /// [`crate::Error::Storage`] / [`crate::Error::Corrupt`] reading the old entries.
    pub fn move_vector_column(&mut self, table_id: u64, from: usize, to: usize) -> Result<()> {
        let store = self.store;
        let mut moved: Vec<(u64, Vec<u8>)> = Vec::new();
        store.reads().scan_vectors(table_id, from, |rowid, bytes| {
            let mut v = Vec::with_capacity(bytes.len() + 1);
            v.push(keys::VECTOR_FORMAT);
            v.extend_from_slice(bytes);
            moved.push((rowid, v));
            Ok(true)
        })?;
        self.delete_vector_column(table_id, from);
        for (rowid, v) in moved {
            self.wb.put_cf(
                store.cf(CF_VECTORS),
                keys::vector_key(table_id, to, rowid),
                v,
            );
        }
        let changes = store.changes_since(table_id, from, 0)?;
        self.clear_log(table_id, from);
        for c in changes {
            self.log_change(table_id, to, c);
        }
        Ok(())
    }
}
