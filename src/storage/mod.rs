//! RocksDB storage: the catalog, the rows, the vectors, the primary-key and secondary indexes
//! and the vector change log.
//!
//! Column families (key layouts in [`keys`]):
//! - `catalog`: table schemas (with column defaults and identity), per-table counters (next
//!   rowid, change sequence, identity counter), vector and
//!   secondary index metadata, the storage layout version, all written and read by
//!   [`catalog`]; and big statements' staged chunks ([`staging`]);
//! - `rows`: `table id ‖ rowid → row` with its scalar columns only (vector columns are stored
//!   as NULL), so a scan, a filter or a count never reads vector bytes;
//! - `vectors`: `table id ‖ column ‖ rowid → f32s`, one rowid-ordered range per vector column;
//! - `pk`: `table id ‖ primary key → rowid`, for `PRIMARY KEY` uniqueness and lookups;
//! - `sindex`: `table id ‖ index id ‖ encoded values ‖ rowid → ()`, secondary indexes;
//! - `changelog`: `table id ‖ column ‖ seq → rowid ‖ op`, the changes to indexed vector columns
//!   since their index file was last saved (see [`crate::vector`]).
//!
//! Writes go through a [`Batch`], one RocksDB `WriteBatch` per statement, with the WAL on,
//! committed by [`Store::write`], which syncs the WAL or not as the [`Synchronous`] level says.

mod alter;
mod catalog;
pub(crate) mod durability;
pub(crate) mod keys;
pub(crate) mod migrate;
pub(crate) mod reads;
pub(crate) mod snapshot;
pub(crate) mod staging;

use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};

use rocksdb::{ColumnFamily, DBRawIterator, Direction, IteratorMode, WriteBatch, WriteOptions, DB};

use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::value::{DataType, Value};
pub(crate) use catalog::{Counters, LoadedCatalog};
pub(crate) use durability::Durability;
pub use durability::Synchronous;

const CF_CATALOG: &str = "catalog";
const CF_ROWS: &str = "rows";
const CF_PK: &str = "pk";
const CF_CHANGELOG: &str = "changelog";
const CF_VECTORS: &str = "vectors";
const CF_SINDEX: &str = "sindex";
/// Size of the block cache shared by the column families (bytes).
const BLOCK_CACHE_BYTES: usize = 256 << 20;
const ALL_CFS: [&str; 6] = [
    CF_CATALOG,
    CF_ROWS,
    CF_PK,
    CF_CHANGELOG,
    CF_VECTORS,
    CF_SINDEX,
];

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

/// A key range of a secondary index: the keys `k` with `start <= k < end`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct KeyRange {
    pub start: Vec<u8>,
    pub end: Vec<u8>,
}

/// How [`Store::open`] opens RocksDB.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Access {
    /// The primary instance, creating the database when missing.
    ReadWrite,
    /// A secondary instance, which reads a database that a primary (in this or another
    /// process) may hold open for writing, and follows it with [`Store::catch_up`]. RocksDB
    /// keeps the secondary's own info log in a temporary directory, outside the database.
    Secondary,
    /// A primary instance in RocksDB's in-memory environment: nothing reaches the disk.
    Memory,
}

/// RocksDB info logs (`LOG`, `LOG.old.*`) kept in `<dir>/db`: each open starts a new one.
const KEEP_LOG_FILES: usize = 3;
/// An info log is rolled over past this size (bytes).
const MAX_LOG_FILE_BYTES: usize = 1 << 20;

/// The RocksDB database of one vectable directory (`<dir>/db`).
pub(crate) struct Store {
    db: DB,
    /// Where a secondary instance keeps its info log; removed after `db` is closed.
    secondary_dir: Option<tempfile::TempDir>,
    /// The [`Synchronous`] level ([`Synchronous::code`]) every commit honours.
    synchronous: AtomicU8,
    /// An in-memory database (RocksDB's memory `Env`, which has no WAL sync).
    memory: bool,
}

impl Store {
    /// Opens the RocksDB database in `path` (`<dir>/db`); [`Access::ReadWrite`] and
    /// [`Access::Memory`] create it when missing.
    ///
    /// # Errors
    /// [`Error::Locked`] when another process has it open for writing, [`Error::Corrupt`]
    /// when RocksDB reports corruption, [`Error::Open`] otherwise; each names the database
    /// directory (the parent of `path`).
    pub fn open(path: &Path, access: Access) -> Result<Store> {
        let dir = path.parent().unwrap_or(path);
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(!matches!(access, Access::Secondary));
        opts.create_missing_column_families(!matches!(access, Access::Secondary));
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        opts.increase_parallelism(2);
        opts.set_keep_log_file_num(KEEP_LOG_FILES);
        opts.set_max_log_file_size(MAX_LOG_FILE_BYTES);
        if matches!(access, Access::Memory) {
            let env = rocksdb::Env::mem_env().map_err(|e| open_error(e, dir))?;
            opts.set_env(&env);
        }
        // One block cache for every column family: point reads by rowid (kNN results,
        // index scans) then hit memory instead of reading and decompressing a block.
        let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let cfs = ALL_CFS.map(|name| {
            let mut cf_opts = rocksdb::Options::default();
            let mut table = rocksdb::BlockBasedOptions::default();
            table.set_block_cache(&cache);
            table.set_bloom_filter(10.0, false);
            cf_opts.set_block_based_table_factory(&table);
            // f32 vectors do not compress; decompressing a block per vector read is pure cost.
            cf_opts.set_compression_type(if name == CF_VECTORS {
                rocksdb::DBCompressionType::None
            } else {
                rocksdb::DBCompressionType::Lz4
            });
            rocksdb::ColumnFamilyDescriptor::new(name, cf_opts)
        });
        let (db, secondary_dir) = match access {
            Access::ReadWrite | Access::Memory => (DB::open_cf_descriptors(&opts, path, cfs), None),
            Access::Secondary => {
                // A secondary keeps every table file open, so that the primary's compactions
                // cannot delete a file from under it.
                opts.set_max_open_files(-1);
                let log_dir = tempfile::Builder::new()
                    .prefix("vectable-reader-")
                    .tempdir()
                    .map_err(|e| Error::Open {
                        path: dir.to_path_buf(),
                        reason: format!("cannot create a temporary directory: {e}"),
                    })?;
                let db = DB::open_cf_descriptors_as_secondary(&opts, path, log_dir.path(), cfs);
                (db, Some(log_dir))
            }
        };
        let db = db.map_err(|e| open_error(e, dir))?;
        Ok(Store {
            db,
            secondary_dir,
            synchronous: AtomicU8::new(Synchronous::default().code()),
            memory: matches!(access, Access::Memory),
        })
    }

    /// True when `path` (`<dir>/db`) holds a RocksDB database with vectable's column
    /// families. Reads only RocksDB's `CURRENT` and manifest, takes no lock.
    ///
    /// # Errors
    /// As [`Store::open`] (a damaged `CURRENT` or manifest is [`Error::Corrupt`]).
    pub fn exists(path: &Path) -> Result<bool> {
        if !path.join("CURRENT").is_file() {
            return Ok(false);
        }
        let opts = rocksdb::Options::default();
        let cfs =
            DB::list_cf(&opts, path).map_err(|e| open_error(e, path.parent().unwrap_or(path)))?;
        Ok(cfs.iter().any(|c| c == CF_CATALOG))
    }

    /// A secondary instance reads what the primary has written since it last caught up.
    /// Returns whether anything new was found (always `false` for a primary).
    ///
    /// # Errors
    /// [`Error::Storage`] when RocksDB cannot read the primary's manifest or log.
    pub fn catch_up(&self) -> Result<bool> {
        if self.secondary_dir.is_none() {
            return Ok(false);
        }
        let before = self.db.latest_sequence_number();
        self.db.try_catch_up_with_primary()?;
        Ok(self.db.latest_sequence_number() != before)
    }

    fn cf(&self, name: &str) -> &ColumnFamily {
        // The column families are created by `open`; a missing one is a bug.
        self.db
            .cf_handle(name)
            .unwrap_or_else(|| panic!("column family {name} was created at open"))
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

    /// Commits a statement's batch atomically: written to the WAL, and the WAL synced when
    /// the [`Synchronous`] level is [`Synchronous::Full`]. Every commit of a statement goes
    /// through here (or [`Store::write_with`]).
    ///
    /// # Errors
    /// [`Error::Storage`] when RocksDB fails to write or sync; nothing of the batch is then
    /// visible.
    pub fn write(&self, batch: Batch) -> Result<()> {
        self.write_with(batch, Durability::Statement)
    }

    /// Commits a batch atomically, syncing the WAL as `durability` says: a statement that
    /// commits several batches writes all but the last with [`Durability::Deferred`] and the
    /// last with [`Durability::Statement`] (syncing the WAL syncs what was written before).
    ///
    /// # Errors
    /// As [`Store::write`].
    pub fn write_with(&self, batch: Batch, durability: Durability) -> Result<()> {
        let sync = durability == Durability::Statement && self.synchronous().syncs_commits();
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.db.write_opt(batch.wb, &opts)?;
        Ok(())
    }

    /// Syncs the WAL (RocksDB `FlushWAL(sync = true)`) when the level is
    /// [`Synchronous::Full`]: what a statement that wrote with [`Durability::Deferred`] calls
    /// at its end if its last write was deferred too.
    ///
    /// # Errors
    /// [`Error::Storage`] when RocksDB fails to sync.
    /// A no-op for an in-memory database.
    pub fn sync_wal(&self) -> Result<()> {
        if self.synchronous().syncs_commits() && !self.memory {
            self.db.flush_wal(true)?;
        }
        Ok(())
    }

    /// The [`Synchronous`] level commits honour.
    pub fn synchronous(&self) -> Synchronous {
        Synchronous::from_code(self.synchronous.load(Ordering::Relaxed))
    }

    /// Sets the [`Synchronous`] level of the following commits.
    pub fn set_synchronous(&self, level: Synchronous) {
        self.synchronous.store(level.code(), Ordering::Relaxed);
    }

    /// A new, empty batch.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            store: self,
            wb: WriteBatch::default(),
        }
    }

    /// Compacts every key range of table `table_id` (rows, vectors, primary-key and
    /// secondary-index entries, change log) in RocksDB: deleted and overwritten versions are
    /// dropped from the SST files (`VACUUM`).
    pub fn compact_table(&self, table_id: u64) -> Result<()> {
        let (lo, hi) = keys::table_range(table_id);
        for name in [CF_ROWS, CF_PK, CF_CHANGELOG, CF_VECTORS, CF_SINDEX] {
            self.db
                .compact_range_cf(self.cf(name), Some(&lo[..]), Some(&hi[..]));
        }
        Ok(())
    }

    /// Flushes memtables to SST files, which RocksDB syncs (with its manifest) at every
    /// [`Synchronous`] level: after it, every earlier commit survives a power loss, and a
    /// reopen has less WAL to replay. (A commit is durable against power loss only when its
    /// WAL was synced, which [`Store::write`] does under [`Synchronous::Full`].)
    pub fn flush(&self) -> Result<()> {
        for name in ALL_CFS {
            self.db.flush_cf(self.cf(name))?;
        }
        Ok(())
    }
}

/// The [`Error`] for a failed open of the database in directory `dir`: RocksDB's lock
/// failures ("While lock file: <dir>/db/LOCK: …" when another process holds it, "lock hold
/// by current process" when another RocksDB handle of this process does) are
/// [`Error::Locked`], its corruption reports
/// are [`Error::Corrupt`], anything else is [`Error::Open`].
fn open_error(e: rocksdb::Error, dir: &Path) -> Error {
    let msg = e.to_string();
    match e.kind() {
        rocksdb::ErrorKind::IOError
            if msg.contains("While lock file") || msg.contains("lock hold by current process") =>
        {
            Error::Locked(dir.to_path_buf())
        }
        rocksdb::ErrorKind::Corruption => {
            Error::Corrupt(format!("database {}: {msg}", dir.display()))
        }
        _ => Error::Open {
            path: dir.to_path_buf(),
            reason: msg,
        },
    }
}

fn bad_change() -> Error {
    Error::Corrupt("malformed change-log entry".into())
}

/// The vector columns of `table` selected by `columns` (all with `None`).
fn vector_columns(table: &TableSchema, columns: Option<&[bool]>) -> Vec<usize> {
    table
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            matches!(c.data_type, DataType::Vector(_))
                && columns.is_none_or(|m| m.get(*i).copied().unwrap_or(false))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Forward cursors over some vector columns of one table, following a rowid-ordered scan.
pub(crate) struct VectorCursors<'a> {
    table_id: u64,
    /// (column, iterator, positioned yet).
    cursors: Vec<(usize, DBRawIterator<'a>, bool)>,
}

impl<'a> VectorCursors<'a> {
    /// Cursors over the vector columns of `table` that `columns` asks for (all with `None`),
    /// each an iterator over the `vectors` column family made by `iter` (of the database or
    /// of a snapshot).
    pub(crate) fn new(
        table: &TableSchema,
        columns: Option<&[bool]>,
        mut iter: impl FnMut() -> DBRawIterator<'a>,
    ) -> VectorCursors<'a> {
        VectorCursors {
            table_id: table.id,
            cursors: vector_columns(table, columns)
                .into_iter()
                .map(|c| (c, iter(), false))
                .collect(),
        }
    }

    /// Puts the stored vectors of `rowid` into `row` (left NULL where there is none). Rowids
    /// must come in ascending order; the cursor steps forward, and seeks only on a gap.
    pub fn fill(&mut self, rowid: u64, row: &mut [Value]) -> Result<()> {
        for (c, it, started) in &mut self.cursors {
            let want = keys::vector_key(self.table_id, *c, rowid);
            if !*started {
                it.seek(want);
                *started = true;
            } else {
                let mut steps = 0;
                while it.valid() && it.key().is_some_and(|k| k < &want[..]) {
                    if steps == 8 {
                        it.seek(want);
                        break;
                    }
                    it.next();
                    steps += 1;
                }
            }
            if it.valid() && it.key() == Some(&want[..]) {
                if let (Some(v), Some(slot)) = (it.value(), row.get_mut(*c)) {
                    *slot = Value::Vector(keys::decode_vector(v)?);
                }
            } else {
                it.status()?;
            }
        }
        Ok(())
    }
}

/// One statement's writes, committed together by [`Store::write`].
pub(crate) struct Batch<'a> {
    store: &'a Store,
    wb: WriteBatch,
}

impl Batch<'_> {
    /// Writes a row: its scalar columns to `rows` and each vector column to `vectors` (a
    /// NULL vector deletes the stored one).
    pub fn put_row(&mut self, table: &TableSchema, rowid: u64, row: &[Value]) -> Result<()> {
        self.put_scalar_row(table, rowid, row)?;
        for (c, col) in table.columns.iter().enumerate() {
            if matches!(col.data_type, DataType::Vector(_)) {
                self.put_vector(table.id, c, rowid, row.get(c));
            }
        }
        Ok(())
    }

    /// Writes only the scalar part of a row (its vector columns are stored as NULL and their
    /// `vectors` entries are left as they are).
    pub fn put_scalar_row(&mut self, table: &TableSchema, rowid: u64, row: &[Value]) -> Result<()> {
        let has_vector = row.iter().any(|v| matches!(v, Value::Vector(_)));
        let bytes = if has_vector {
            let scalar: Vec<Value> = row
                .iter()
                .map(|v| match v {
                    Value::Vector(_) => Value::Null,
                    other => other.clone(),
                })
                .collect();
            keys::encode_row(&scalar)?
        } else {
            keys::encode_row(row)?
        };
        self.wb.put_cf(
            self.store.cf(CF_ROWS),
            keys::row_key(table.id, rowid),
            bytes,
        );
        Ok(())
    }

    /// Stores (or, for NULL / `None`, deletes) the vector of one column of one row.
    pub fn put_vector(&mut self, table_id: u64, column: usize, rowid: u64, v: Option<&Value>) {
        let key = keys::vector_key(table_id, column, rowid);
        match v {
            Some(Value::Vector(v)) => {
                self.wb
                    .put_cf(self.store.cf(CF_VECTORS), key, keys::encode_vector(v))
            }
            _ => self.wb.delete_cf(self.store.cf(CF_VECTORS), key),
        }
    }

    /// Deletes a row and its vectors.
    pub fn delete_row(&mut self, table: &TableSchema, rowid: u64) {
        self.wb
            .delete_cf(self.store.cf(CF_ROWS), keys::row_key(table.id, rowid));
        for (c, col) in table.columns.iter().enumerate() {
            if matches!(col.data_type, DataType::Vector(_)) {
                self.put_vector(table.id, c, rowid, None);
            }
        }
    }

    /// Adds a secondary-index entry (a key from [`keys::sindex_key`]).
    pub fn put_sindex(&mut self, key: &[u8]) {
        self.wb.put_cf(self.store.cf(CF_SINDEX), key, []);
    }

    /// Removes a secondary-index entry.
    pub fn delete_sindex(&mut self, key: &[u8]) {
        self.wb.delete_cf(self.store.cf(CF_SINDEX), key);
    }

    /// Writes a row's bytes as they are (the migration's raw access).
    pub(crate) fn put_raw_row(&mut self, table_id: u64, rowid: u64, bytes: &[u8]) {
        self.wb.put_cf(
            self.store.cf(CF_ROWS),
            keys::row_key(table_id, rowid),
            bytes,
        );
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
}

/// Feeds `f` the `(rowid, encoded row)` pairs of table `table_id` from rowid `from` on, in
/// rowid order, read through `it` (an iterator over the `rows` column family, of the database
/// or of a snapshot) until `f` returns false.
///
/// # Errors
/// `f`'s error, a malformed key ([`Error::Corrupt`]), or RocksDB's.
pub(crate) fn scan_rows_from(
    mut it: DBRawIterator<'_>,
    table_id: u64,
    from: u64,
    mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<()> {
    let (_, end) = keys::table_range(table_id);
    it.seek(keys::row_key(table_id, from));
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

/// Feeds `f` the `(rowid, stored f32 bytes)` pairs of one vector column in rowid order, read
/// through `it` (an iterator over the `vectors` column family, of the database or of a
/// snapshot), until `f` returns false.
///
/// # Errors
/// `f`'s error, a malformed key or value ([`Error::Corrupt`]), or RocksDB's.
pub(crate) fn scan_vector_range(
    mut it: DBRawIterator<'_>,
    table_id: u64,
    column: usize,
    mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<()> {
    let (start, end) = keys::vector_column_range(table_id, column);
    it.seek(start);
    while it.valid() {
        let (Some(k), Some(v)) = (it.key(), it.value()) else {
            break;
        };
        if k >= &end[..] {
            break;
        }
        let rowid = u64::from_be_bytes(
            k.get(12..20)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Error::Corrupt("vector key".into()))?,
        );
        match v.split_first() {
            Some((&keys::VECTOR_FORMAT, rest)) => {
                if !f(rowid, rest)? {
                    return Ok(());
                }
            }
            _ => return Err(Error::Corrupt("stored vector: malformed".into())),
        }
        it.next();
    }
    it.status()?;
    Ok(())
}
