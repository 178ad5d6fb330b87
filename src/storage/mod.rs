//! RocksDB storage: the catalog, the rows, the primary-key index and the vector change log.
//!
//! Column families (key layouts in [`keys`]):
//! - `catalog`: table schemas, per-table counters (next rowid, change sequence), index metadata;
//! - `rows`: `table id ‖ rowid → row`, so a table scan is a prefix scan in rowid order;
//! - `pk`: `table id ‖ primary key → rowid`, for `PRIMARY KEY` uniqueness and lookups;
//! - `changelog`: `table id ‖ column ‖ seq → rowid ‖ op`, the changes to indexed vector columns
//!   since their index file was last saved (see [`crate::vector`]).
//!
//! Writes go through a [`Batch`], one RocksDB `WriteBatch` per statement, with the WAL on.

pub(crate) mod keys;

use std::path::Path;

use rocksdb::{ColumnFamily, DBRawIterator, Direction, IteratorMode, WriteBatch, DB};
use serde::{Deserialize, Serialize};

use crate::catalog::{IndexMeta, TableSchema};
use crate::error::{Error, Result};
use crate::value::Value;

const CF_CATALOG: &str = "catalog";
const CF_ROWS: &str = "rows";
const CF_PK: &str = "pk";
const CF_CHANGELOG: &str = "changelog";

/// Per-table counters, written in the same batch as the rows they count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counters {
    /// The rowid the next inserted row gets (rowids are never reused).
    pub next_rowid: u64,
    /// The table's change sequence: the number of vector changes ever logged for it.
    pub seq: u64,
    /// Number of rows in the table.
    pub rows: u64,
}

/// What happened to a row's vector, as recorded in the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeOp {
    /// The row was inserted or its vector changed: re-read it.
    Upsert = 1,
    /// The row was deleted (or its vector set to NULL).
    Delete = 2,
}

/// One change-log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    pub seq: u64,
    pub rowid: u64,
    pub op: ChangeOp,
}

/// Everything the catalog column family holds, read once at open.
pub(crate) struct LoadedCatalog {
    pub tables: Vec<(TableSchema, Counters)>,
    pub indexes: Vec<IndexMeta>,
    pub next_table_id: u64,
}

/// The RocksDB database of one vectable directory (`<dir>/db`).
pub(crate) struct Store {
    db: DB,
}

impl Store {
    /// Opens (creating when missing) the RocksDB database in `path`.
    ///
    /// # Errors
    /// [`Error::Locked`] when another process has it open, [`Error::Storage`] otherwise.
    pub fn open(path: &Path) -> Result<Store> {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        opts.increase_parallelism(2);
        let cfs = [CF_CATALOG, CF_ROWS, CF_PK, CF_CHANGELOG].map(|name| {
            let mut cf_opts = rocksdb::Options::default();
            cf_opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
            rocksdb::ColumnFamilyDescriptor::new(name, cf_opts)
        });
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("lock") || msg.contains("LOCK") {
                Error::Locked(path.parent().unwrap_or(path).to_path_buf())
            } else {
                Error::Storage(e)
            }
        })?;
        Ok(Store { db })
    }

    fn cf(&self, name: &str) -> &ColumnFamily {
        // The four column families are created by `open`; a missing one is a bug.
        self.db
            .cf_handle(name)
            .unwrap_or_else(|| panic!("column family {name} was created at open"))
    }

    /// Reads the whole catalog.
    pub fn load_catalog(&self) -> Result<LoadedCatalog> {
        let cf = self.cf(CF_CATALOG);
        let mut tables = Vec::new();
        let mut indexes = Vec::new();
        let mut counters = std::collections::HashMap::new();
        let mut next_table_id = 1;
        for item in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (k, v) = item?;
            if &*k == keys::NEXT_TABLE_ID_KEY {
                next_table_id = keys::decode(&v, "next table id")?;
            } else if k.len() == 9 && k[0] == b't' {
                tables.push(keys::decode::<TableSchema>(&v, "table schema")?);
            } else if k.len() == 9 && k[0] == b'c' {
                let id = u64::from_be_bytes(k[1..9].try_into().expect("9-byte key"));
                counters.insert(id, keys::decode::<Counters>(&v, "table counters")?);
            } else if k.len() == 13 && k[0] == b'i' {
                indexes.push(keys::decode::<IndexMeta>(&v, "index metadata")?);
            }
        }
        let tables = tables
            .into_iter()
            .map(|t| {
                let c = counters.get(&t.id).copied().unwrap_or_default();
                (t, c)
            })
            .collect();
        Ok(LoadedCatalog {
            tables,
            indexes,
            next_table_id,
        })
    }

    /// Reads several rows in one RocksDB `multi_get`; the result is in the order of `rowids`.
    pub fn get_rows(&self, table_id: u64, rowids: &[u64]) -> Result<Vec<Option<Vec<Value>>>> {
        let cf = self.cf(CF_ROWS);
        let keys: Vec<[u8; 16]> = rowids.iter().map(|&r| keys::row_key(table_id, r)).collect();
        self.db
            .batched_multi_get_cf(cf, keys.iter(), false)
            .into_iter()
            .map(|r| match r? {
                Some(bytes) => Ok(Some(keys::decode(&bytes, "row")?)),
                None => Ok(None),
            })
            .collect()
    }

    /// Calls `f(rowid, row)` for every row of the table in rowid order, until `f` returns
    /// `Ok(false)` or an error. With `columns`, only those columns are decoded (the others are
    /// `Value::Null`; see [`keys::decode_row`]).
    pub fn scan(
        &self,
        table_id: u64,
        columns: Option<&[bool]>,
        mut f: impl FnMut(u64, Vec<Value>) -> Result<bool>,
    ) -> Result<()> {
        self.scan_raw(table_id, |rowid, bytes| {
            f(rowid, keys::decode_row(bytes, columns)?)
        })
    }

    /// Like [`scan`](Self::scan), handing over each row's stored bytes undecoded.
    pub fn scan_raw(
        &self,
        table_id: u64,
        mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let (start, end) = keys::table_range(table_id);
        let mut it: DBRawIterator<'_> = self.db.raw_iterator_cf(self.cf(CF_ROWS));
        it.seek(start);
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if k >= &end[..] {
                break;
            }
            if !f(keys::rowid_of(k)?, v)? {
                return Ok(());
            }
            it.next();
        }
        it.status()?;
        Ok(())
    }

    /// The rowid holding primary key `key`, if any.
    pub fn pk_lookup(&self, table_id: u64, key: &Value) -> Result<Option<u64>> {
        let Some(k) = keys::pk_key(table_id, key) else {
            return Ok(None);
        };
        match self.db.get_pinned_cf(self.cf(CF_PK), k)? {
            Some(v) if v.len() == 8 => Ok(Some(u64::from_be_bytes(v[..8].try_into().expect("8")))),
            Some(_) => Err(Error::Corrupt("primary-key entry is not 8 bytes".into())),
            None => Ok(None),
        }
    }

    /// Change-log entries of one column with `seq > after`, in sequence order.
    pub fn changes_since(&self, table_id: u64, column: usize, after: u64) -> Result<Vec<Change>> {
        let start = keys::change_key(table_id, column, after.saturating_add(1));
        let end = keys::change_key(table_id, column + 1, 0);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(CF_CHANGELOG),
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (k, v) = item?;
            if *k >= end[..] {
                break;
            }
            let seq = u64::from_be_bytes(k[12..20].try_into().map_err(|_| bad_change())?);
            if v.len() != 10 || v[0] != keys::FORMAT_VERSION {
                return Err(bad_change());
            }
            let rowid = u64::from_be_bytes(v[1..9].try_into().map_err(|_| bad_change())?);
            let op = match v[9] {
                1 => ChangeOp::Upsert,
                2 => ChangeOp::Delete,
                _ => return Err(bad_change()),
            };
            out.push(Change { seq, rowid, op });
        }
        Ok(out)
    }

    /// Commits a batch atomically (WAL on).
    pub fn write(&self, batch: Batch) -> Result<()> {
        self.db.write(batch.wb)?;
        Ok(())
    }

    /// A new, empty batch.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            store: self,
            wb: WriteBatch::default(),
        }
    }

    /// Flushes memtables to SST files (the WAL already makes writes durable; this shortens
    /// recovery).
    pub fn flush(&self) -> Result<()> {
        for name in [CF_CATALOG, CF_ROWS, CF_PK, CF_CHANGELOG] {
            self.db.flush_cf(self.cf(name))?;
        }
        Ok(())
    }
}

fn bad_change() -> Error {
    Error::Corrupt("malformed change-log entry".into())
}

/// One statement's writes, committed together by [`Store::write`].
pub(crate) struct Batch<'a> {
    store: &'a Store,
    wb: WriteBatch,
}

impl Batch<'_> {
    pub fn put_table(&mut self, schema: &TableSchema) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            keys::table_key(schema.id),
            keys::encode(schema)?,
        );
        Ok(())
    }

    pub fn put_counters(&mut self, table_id: u64, counters: &Counters) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            keys::counters_key(table_id),
            keys::encode(counters)?,
        );
        Ok(())
    }

    pub fn put_next_table_id(&mut self, id: u64) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            keys::NEXT_TABLE_ID_KEY,
            keys::encode(&id)?,
        );
        Ok(())
    }

    /// Removes a table: schema, counters, rows, primary keys and change log.
    pub fn delete_table(&mut self, table_id: u64) {
        let catalog = self.store.cf(CF_CATALOG);
        self.wb.delete_cf(catalog, keys::table_key(table_id));
        self.wb.delete_cf(catalog, keys::counters_key(table_id));
        let (start, end) = keys::table_range(table_id);
        for cf in [CF_ROWS, CF_PK, CF_CHANGELOG] {
            self.wb.delete_range_cf(self.store.cf(cf), start, end);
        }
    }

    pub fn put_row(&mut self, table_id: u64, rowid: u64, row: &[Value]) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_ROWS),
            keys::row_key(table_id, rowid),
            keys::encode(&row)?,
        );
        Ok(())
    }

    pub fn delete_row(&mut self, table_id: u64, rowid: u64) {
        self.wb
            .delete_cf(self.store.cf(CF_ROWS), keys::row_key(table_id, rowid));
    }

    pub fn put_pk(&mut self, table_id: u64, key: &Value, rowid: u64) {
        if let Some(k) = keys::pk_key(table_id, key) {
            self.wb.put_cf(self.store.cf(CF_PK), k, rowid.to_be_bytes());
        }
    }

    pub fn delete_pk(&mut self, table_id: u64, key: &Value) {
        if let Some(k) = keys::pk_key(table_id, key) {
            self.wb.delete_cf(self.store.cf(CF_PK), k);
        }
    }

    pub fn log_change(&mut self, table_id: u64, column: usize, change: Change) {
        let mut v = [0u8; 10];
        v[0] = keys::FORMAT_VERSION;
        v[1..9].copy_from_slice(&change.rowid.to_be_bytes());
        v[9] = change.op as u8;
        self.wb.put_cf(
            self.store.cf(CF_CHANGELOG),
            keys::change_key(table_id, column, change.seq),
            v,
        );
    }

    /// Deletes the change log of a column up to and including `upto_seq`.
    pub fn truncate_log(&mut self, table_id: u64, column: usize, upto_seq: u64) {
        self.wb.delete_range_cf(
            self.store.cf(CF_CHANGELOG),
            keys::change_key(table_id, column, 0),
            keys::change_key(table_id, column, upto_seq.saturating_add(1)),
        );
    }

    /// Deletes the whole change log of a column.
    pub fn clear_log(&mut self, table_id: u64, column: usize) {
        self.wb.delete_range_cf(
            self.store.cf(CF_CHANGELOG),
            keys::change_key(table_id, column, 0),
            keys::change_key(table_id, column + 1, 0),
        );
    }

    pub fn put_index(&mut self, meta: &IndexMeta) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            keys::index_key(meta.table_id, meta.column_index),
            keys::encode(meta)?,
        );
        Ok(())
    }

    pub fn delete_index(&mut self, table_id: u64, column: usize) {
        self.wb
            .delete_cf(self.store.cf(CF_CATALOG), keys::index_key(table_id, column));
    }
}
