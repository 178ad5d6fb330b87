//! [`StoreSnapshot`]: reads of the rows and vectors as they were when it was taken
//! (a RocksDB snapshot), for streaming query cursors.

use rocksdb::{DBRawIterator, Snapshot};

use super::reads::Reads;
use super::{keys, KeyRange, Store, CF_ROWS, CF_SINDEX};
use crate::error::Result;

/// A consistent view of the store at one point: later writes are invisible to it. It keeps
/// the versions it can see from being compacted away until it is dropped.
pub(crate) struct StoreSnapshot<'a> {
    store: &'a Store,
    snap: Snapshot<'a>,
}

impl Store {
    /// A snapshot of the store as it is now.
    pub fn snapshot(&self) -> StoreSnapshot<'_> {
        StoreSnapshot {
            store: self,
            snap: self.db.snapshot(),
        }
    }
}

impl<'a> StoreSnapshot<'a> {
    /// Reads as of the snapshot.
    pub fn reads(&self) -> Reads<'_> {
        Reads::at(self.store, &self.snap)
    }

    /// The rowids of the secondary-index entries in `ranges`, sorted (8 bytes per entry).
    pub fn index_rowids(&self, ranges: &[KeyRange]) -> Result<Vec<u64>> {
        let mut it = self.snap.raw_iterator_cf(self.store.cf(CF_SINDEX));
        let mut out = Vec::new();
        for r in ranges {
            it.seek(&r.start);
            while it.valid() {
                let Some(k) = it.key() else { break };
                if k >= &r.end[..] {
                    break;
                }
                out.push(keys::sindex_rowid(k)?);
                it.next();
            }
            it.status()?;
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Calls `f(rowid, bytes)` for each of `rowids` (ascending) that has a row in the
    /// snapshot, until `f` returns `Ok(false)`.
    pub fn rows_by_id(
        &self,
        table_id: u64,
        rowids: &[u64],
        mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let mut it: DBRawIterator<'_> = self.snap.raw_iterator_cf(self.store.cf(CF_ROWS));
        for &rowid in rowids {
            let key = keys::row_key(table_id, rowid);
            it.seek(key);
            match (it.key(), it.value()) {
                (Some(k), Some(v)) if k == &key[..] => {
                    if !f(rowid, v)? {
                        return Ok(());
                    }
                }
                _ => it.status()?,
            }
        }
        Ok(())
    }
}
