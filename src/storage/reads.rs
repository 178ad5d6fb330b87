//! [`Reads`]: the reads of rows, vectors and index entries, of the database as it is now or
//! of a snapshot ([`super::snapshot::StoreSnapshot`]).

use rocksdb::{ColumnFamily, DBPinnableSlice, DBRawIterator, ReadOptions, Snapshot};

use super::{
    keys, scan_rows_from, scan_vector_range, vector_columns, KeyRange, Store, VectorCursors,
};
use super::{CF_PK, CF_ROWS, CF_SINDEX, CF_VECTORS};
use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::value::Value;

/// The read side of a [`Store`]: of the database as it is now ([`Store::reads`]), or as it
/// was when a snapshot was taken ([`super::snapshot::StoreSnapshot::reads`]), where later
/// commits are invisible. Cheap to copy.
#[derive(Clone, Copy)]
pub(crate) struct Reads<'a> {
    store: &'a Store,
    snap: Option<&'a Snapshot<'a>>,
}

impl Store {
    /// Reads of the database as it is now.
    pub fn reads(&self) -> Reads<'_> {
        Reads {
            store: self,
            snap: None,
        }
    }
}

impl<'a> Reads<'a> {
    /// Reads as of `snap`.
    pub(super) fn at(store: &'a Store, snap: &'a Snapshot<'a>) -> Self {
        Reads {
            store,
            snap: Some(snap),
        }
    }

    /// True when these are reads of a snapshot.
    pub fn is_snapshot(&self) -> bool {
        self.snap.is_some()
    }

    fn opts(&self) -> ReadOptions {
        let mut o = ReadOptions::default();
        if let Some(s) = self.snap {
            o.set_snapshot(s);
        }
        o
    }

    fn iter(&self, cf: &str) -> DBRawIterator<'a> {
        self.store
            .db
            .raw_iterator_cf_opt(self.store.cf(cf), self.opts())
    }

    fn multi_get<K: AsRef<[u8]>>(
        &self,
        cf: &ColumnFamily,
        keys: &[K],
    ) -> Vec<std::result::Result<Option<DBPinnableSlice<'a>>, rocksdb::Error>> {
        self.store
            .db
            .batched_multi_get_cf_opt(cf, keys.iter(), false, &self.opts())
    }
    /// Reads several rows in one RocksDB `multi_get`; the result is in the order of `rowids`.
    /// With `columns`, only those columns are decoded (the others are NULL), and only the
    /// vector columns among them are read from the `vectors` family (one `multi_get` each).
    pub fn get_rows(
        self,
        table: &TableSchema,
        rowids: &[u64],
        columns: Option<&[bool]>,
    ) -> Result<Vec<Option<Vec<Value>>>> {
        let cf = self.store.cf(CF_ROWS);
        let keys: Vec<[u8; 16]> = rowids.iter().map(|&r| keys::row_key(table.id, r)).collect();
        let mut rows: Vec<Option<Vec<Value>>> = self
            .multi_get(cf, &keys)
            .into_iter()
            .map(|r| match r? {
                Some(bytes) => Ok(Some(keys::decode_row(&bytes, columns)?)),
                None => Ok(None),
            })
            .collect::<Result<_>>()?;
        for c in vector_columns(table, columns) {
            let present: Vec<u64> = rowids
                .iter()
                .zip(&rows)
                .filter(|(_, r)| r.is_some())
                .map(|(id, _)| *id)
                .collect();
            let mut vs = self.get_vectors(table.id, c, &present)?.into_iter();
            for row in rows.iter_mut().flatten() {
                if let Some(Some(v)) = vs.next() {
                    if let Some(slot) = row.get_mut(c) {
                        *slot = Value::Vector(v);
                    }
                }
            }
        }
        Ok(rows)
    }

    /// The vectors of column `column` of several rows (one `multi_get`), in `rowids` order;
    /// `None` where the row has none.
    pub fn get_vectors(
        self,
        table_id: u64,
        column: usize,
        rowids: &[u64],
    ) -> Result<Vec<Option<Vec<f32>>>> {
        let keys: Vec<[u8; 20]> = rowids
            .iter()
            .map(|&r| keys::vector_key(table_id, column, r))
            .collect();
        self.multi_get(self.store.cf(CF_VECTORS), &keys)
            .into_iter()
            .map(|r| match r? {
                Some(bytes) => Ok(Some(keys::decode_vector(&bytes)?)),
                None => Ok(None),
            })
            .collect()
    }

    /// Calls `f(i, vector)` for the vector of column `column` of each `rowids[i]` that has one
    /// (`multi_get`s of 1,024 keys), the vector decoded into a buffer reused from call to call.
    pub fn for_each_vector(
        self,
        table_id: u64,
        column: usize,
        rowids: &[u64],
        mut f: impl FnMut(usize, &[f32]),
    ) -> Result<()> {
        let mut buf: Vec<f32> = Vec::new();
        for (c, chunk) in rowids.chunks(1024).enumerate() {
            let keys: Vec<[u8; 20]> = chunk
                .iter()
                .map(|&r| keys::vector_key(table_id, column, r))
                .collect();
            for (i, r) in self
                .multi_get(self.store.cf(CF_VECTORS), &keys)
                .into_iter()
                .enumerate()
            {
                let Some(bytes) = r? else { continue };
                match bytes.split_first() {
                    Some((&keys::VECTOR_FORMAT, rest)) if rest.len() % 4 == 0 => {
                        buf.clear();
                        buf.extend(
                            rest.chunks_exact(4)
                                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                        );
                        f(c * 1024 + i, &buf);
                    }
                    _ => return Err(Error::Corrupt("stored vector: malformed".into())),
                }
            }
        }
        Ok(())
    }

    /// Calls `f(rowid, row)` for every row of the table in rowid order, until `f` returns
    /// `Ok(false)` or an error. With `columns`, only those columns are decoded (the others are
    /// `Value::Null`; see [`keys::decode_row`]); vector columns are read only when asked for,
    /// by a cursor over their own range that moves forward with the scan.
    pub fn scan(
        self,
        table: &TableSchema,
        columns: Option<&[bool]>,
        mut f: impl FnMut(u64, Vec<Value>) -> Result<bool>,
    ) -> Result<()> {
        let mut vectors = self.vector_cursors(table, columns);
        self.scan_raw(table.id, |rowid, bytes| {
            let mut row = keys::decode_row(bytes, columns)?;
            vectors.fill(rowid, &mut row)?;
            f(rowid, row)
        })
    }

    /// Cursors over the vector columns of `table` that `columns` asks for (all with `None`),
    /// to fill rows of a rowid-ordered scan with [`VectorCursors::fill`].
    pub fn vector_cursors(
        self,
        table: &TableSchema,
        columns: Option<&[bool]>,
    ) -> VectorCursors<'a> {
        VectorCursors::new(table, columns, || self.iter(CF_VECTORS))
    }

    /// Calls `f(rowid, vector)` for every stored vector of one column, in rowid order.
    pub fn scan_vectors(
        self,
        table_id: u64,
        column: usize,
        f: impl FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        scan_vector_range(self.iter(CF_VECTORS), table_id, column, f)
    }

    /// Calls `f(rowid, key)` for every entry of a secondary index within `ranges` (in order,
    /// ranges visited in the order given), until `f` returns `Ok(false)`. With `reverse`, each
    /// range is walked from its end.
    pub fn scan_index(
        self,
        ranges: &[KeyRange],
        reverse: bool,
        mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let mut it = self.iter(CF_SINDEX);
        let order: Vec<&KeyRange> = if reverse {
            ranges.iter().rev().collect()
        } else {
            ranges.iter().collect()
        };
        for r in order {
            if reverse {
                it.seek_for_prev(&r.end);
                // seek_for_prev lands on a key <= end; `end` itself is excluded.
                if it.valid() && it.key() == Some(&r.end[..]) {
                    it.prev();
                }
            } else {
                it.seek(&r.start);
            }
            while it.valid() {
                let Some(k) = it.key() else { break };
                if k >= &r.end[..] || k < &r.start[..] {
                    break;
                }
                if !f(keys::sindex_rowid(k)?, k)? {
                    return Ok(());
                }
                if reverse {
                    it.prev();
                } else {
                    it.next();
                }
            }
            it.status()?;
        }
        Ok(())
    }

    /// True when some entry of the index lies in `[start, end)` for a rowid other than
    /// `except` (uniqueness checks).
    pub fn index_has_other(self, range: &KeyRange, except: Option<u64>) -> Result<bool> {
        let mut found = false;
        self.scan_index(std::slice::from_ref(range), false, |rowid, _| {
            if Some(rowid) != except {
                found = true;
                return Ok(false);
            }
            Ok(true)
        })?;
        Ok(found)
    }

    /// Like [`scan`](Self::scan), handing over each row's stored bytes undecoded.
    pub fn scan_raw(self, table_id: u64, f: impl FnMut(u64, &[u8]) -> Result<bool>) -> Result<()> {
        self.scan_raw_from(table_id, 0, f)
    }

    /// [`scan_raw`](Self::scan_raw) starting at rowid `from`.
    pub fn scan_raw_from(
        self,
        table_id: u64,
        from: u64,
        f: impl FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        scan_rows_from(self.iter(CF_ROWS), table_id, from, f)
    }

    /// The rowid holding primary key `key`, if any.
    pub fn pk_lookup(self, table_id: u64, key: &Value) -> Result<Option<u64>> {
        let Some(k) = keys::pk_key(table_id, key) else {
            return Ok(None);
        };
        match self
            .store
            .db
            .get_pinned_cf_opt(self.store.cf(CF_PK), k, &self.opts())?
        {
            Some(v) if v.len() == 8 => Ok(Some(u64::from_be_bytes(v[..8].try_into().expect("8")))),
            Some(_) => Err(Error::Corrupt("primary-key entry is not 8 bytes".into())),
            None => Ok(None),
        }
    }
}
