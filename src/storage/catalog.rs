//! The catalog records: the one module that writes and reads the `catalog` column family's
//! table, counter, index and layout records.
//!
//! Every record value is `version byte ‖ bincode 2 (standard config)`, made by
//! [`keys::encode`] with version byte [`keys::FORMAT_VERSION`] (1); the schema and counter
//! records append an *extension* ([`encode_ext`]) that readers predating it ignore. Integers
//! in keys are big-endian. The version byte is shared with change-log entries and staged-chunk
//! headers (the same envelope), so it lives in `keys`; fields are added as extensions, not by
//! changing it.
//!
//! | record | key | value | written by |
//! |---|---|---|---|
//! | table schema | `t` ‖ table id (u64), 9 bytes | `1 ‖ TableSchema ‖ extras` (column defaults and identity, `Vec<ColumnExtras>`) | [`Batch::create_table`] (CREATE TABLE in `db/mod.rs`, CREATE TABLE … AS and file tables in `db/load.rs`), [`Batch::put_table`] (ALTER TABLE, `exec/alter.rs`) |
//! | counters | `c` ‖ table id, 9 bytes | `1 ‖ Counters ‖ identity (i64)` | [`Batch::create_table`]; [`Batch::put_counters`] by every statement that writes rows (`exec/write.rs`, `exec/bulk.rs`) |
//! | next table id | `next_table_id` | `1 ‖ u64` (absent: 1) | [`Batch::create_table`] |
//! | vector index | `i` ‖ table id ‖ column (u32), 13 bytes | `1 ‖ IndexMeta` | [`Batch::create_index`], [`Batch::record_index_save`], [`Batch::drop_index`] (`vector/lifecycle.rs`, `vector/cache.rs`); [`Batch::put_index`] / [`Batch::delete_index`] when ALTER TABLE renames or moves a column (`exec/alter.rs`) |
//! | secondary index | `x` ‖ table id ‖ index id (u32), 13 bytes | `1 ‖ SecondaryIndex` | [`Batch::put_sindex_meta`] (CREATE INDEX in `exec/write.rs`, ALTER TABLE DROP COLUMN renumbering), [`Batch::drop_sindex`] (DROP INDEX, DROP COLUMN) |
//! | storage layout | `layout` | `1 ‖ u32` (absent: layout 1, or a new database) | [`Batch::put_layout`] (`storage/migrate.rs`) |
//!
//! The catalog column family also holds the staged chunks of big statements under
//! `s` ‖ statement id ‖ chunk seq; those are owned by `storage/staging.rs`, which writes and
//! reads its own keys, and [`Store::load_catalog`] skips them.
//!
//! Invariants (most upheld by one `Batch` method, so a call site cannot forget half of it):
//! - CREATE TABLE writes the schema, the counters and the next table id in one batch
//!   ([`Batch::create_table`]); table ids are never reused.
//! - A table's counters are written in the batch of the rows they count (for a staged
//!   statement, in its commit record).
//! - DROP TABLE deletes the schema, the counters, the secondary-index records and every key
//!   range the table owns in the other column families in one batch ([`Batch::drop_table`]);
//!   its vector-index records are dropped before, one [`Batch::drop_index`] each.
//! - A vector index's record is written or deleted in the same batch that clears the column's
//!   change log when the index is registered or dropped ([`Batch::create_index`],
//!   [`Batch::drop_index`]), and in the same batch that truncates the log up to the saved
//!   sequence when its file is saved ([`Batch::record_index_save`]): the log always holds
//!   exactly the changes after the saved file.
//! - A secondary index's record is written in the batch holding all its entries, and dropped
//!   with all of them ([`Batch::drop_sindex`]).

use std::collections::HashMap;

use rocksdb::{Direction, IteratorMode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::staging::STAGING_TAG;
use super::{keys, Batch, Store, CF_CATALOG, CF_CHANGELOG, CF_PK, CF_ROWS, CF_SINDEX, CF_VECTORS};
use crate::catalog::{IndexMeta, SecondaryIndex, TableSchema};
use crate::error::{Error, Result};

/// First byte of a table-schema key.
const TABLE_TAG: u8 = b't';
/// First byte of a counters key.
const COUNTERS_TAG: u8 = b'c';
/// First byte of a vector-index key.
const INDEX_TAG: u8 = b'i';
/// First byte of a secondary-index key.
const SINDEX_TAG: u8 = b'x';
/// Key of the next table id.
const NEXT_TABLE_ID_KEY: &[u8] = b"next_table_id";
/// Key of the database's storage layout version.
const LAYOUT_KEY: &[u8] = b"layout";

/// `tag ‖ table id` (9 bytes).
fn table_id_key(tag: u8, table_id: u64) -> [u8; 9] {
    let mut k = [tag; 9];
    k[1..].copy_from_slice(&table_id.to_be_bytes());
    k
}

/// `tag ‖ table id ‖ n (u32)` (13 bytes).
fn table_id_n_key(tag: u8, table_id: u64, n: u32) -> [u8; 13] {
    let mut k = [tag; 13];
    k[1..9].copy_from_slice(&table_id.to_be_bytes());
    k[9..].copy_from_slice(&n.to_be_bytes());
    k
}

/// Key of a table schema: `"t" ‖ table id`.
fn table_key(table_id: u64) -> [u8; 9] {
    table_id_key(TABLE_TAG, table_id)
}

/// Key of a table's counters: `"c" ‖ table id`.
fn counters_key(table_id: u64) -> [u8; 9] {
    table_id_key(COUNTERS_TAG, table_id)
}

/// Key of a vector index: `"i" ‖ table id ‖ column (u32)`.
fn index_key(table_id: u64, column: usize) -> [u8; 13] {
    table_id_n_key(INDEX_TAG, table_id, column as u32)
}

/// Key of a secondary index: `"x" ‖ table id ‖ index id (u32)`.
fn sindex_meta_key(table_id: u64, index_id: u32) -> [u8; 13] {
    table_id_n_key(SINDEX_TAG, table_id, index_id)
}

/// Per-table counters, written in the same batch as the rows they count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counters {
    /// The rowid the next inserted row gets (rowids are never reused).
    pub next_rowid: u64,
    /// The table's change sequence: the number of vector changes ever logged for it.
    pub seq: u64,
    /// Number of rows in the table.
    pub rows: u64,
    /// The largest value the identity column has held: generated values continue from
    /// here + 1 (0 for a new table). Stored after the other fields (see [`encode_ext`]).
    #[serde(skip)]
    pub identity: i64,
}

/// Everything the catalog column family holds, read once at open.
pub(crate) struct LoadedCatalog {
    pub tables: Vec<(TableSchema, Counters)>,
    pub indexes: Vec<IndexMeta>,
    pub secondary: Vec<SecondaryIndex>,
    pub next_table_id: u64,
    /// The storage layout recorded in the catalog (`None`: a layout-1 database, or a new one).
    pub layout: Option<u32>,
}

/// `version byte ‖ bincode(value) ‖ bincode(ext)`: a record with an extension appended.
/// Readers that predate the extension decode `value` and ignore the trailing bytes.
fn encode_ext<T: Serialize, E: Serialize>(value: &T, ext: &E) -> Result<Vec<u8>> {
    let mut out = keys::encode(value)?;
    bincode::serde::encode_into_std_write(ext, &mut out, bincode::config::standard())
        .map_err(|e| Error::Corrupt(format!("cannot encode record: {e}")))?;
    Ok(out)
}

/// Inverse of [`encode_ext`]; a record written without the extension (by an older version)
/// gets `E::default()`.
fn decode_ext<T: DeserializeOwned, E: DeserializeOwned + Default>(
    bytes: &[u8],
    what: &str,
) -> Result<(T, E)> {
    match bytes.split_first() {
        Some((&keys::FORMAT_VERSION, rest)) => {
            let (v, used) = bincode::serde::decode_from_slice(rest, bincode::config::standard())
                .map_err(|e| Error::Corrupt(format!("{what}: {e}")))?;
            let tail = &rest[used..];
            let ext = if tail.is_empty() {
                E::default()
            } else {
                bincode::serde::decode_from_slice(tail, bincode::config::standard())
                    .map_err(|e| Error::Corrupt(format!("{what} (extension): {e}")))?
                    .0
            };
            Ok((v, ext))
        }
        _ => Ok((keys::decode(bytes, what)?, E::default())),
    }
}

impl Store {
    /// Reads the whole catalog: every table with its counters (default counters for a table
    /// without a counters record), the vector and secondary indexes, the next table id (1
    /// when absent) and the layout. Staged chunks are skipped.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a record that does not decode, naming its kind;
    /// [`Error::Storage`] when RocksDB fails to read.
    pub fn load_catalog(&self) -> Result<LoadedCatalog> {
        let cf = self.cf(CF_CATALOG);
        let mut tables = Vec::new();
        let mut indexes = Vec::new();
        let mut secondary = Vec::new();
        let mut counters = HashMap::new();
        let mut next_table_id = 1;
        let mut layout = None;
        // The staging range (`s…`, see `staging`) may hold a big statement's rows: skipped.
        let before_staging = self
            .db
            .iterator_cf(cf, IteratorMode::Start)
            .take_while(|item| {
                item.as_ref()
                    .map_or(true, |(k, _)| k.first() < Some(&STAGING_TAG))
            });
        let after_staging = self.db.iterator_cf(
            cf,
            IteratorMode::From(&[STAGING_TAG + 1], Direction::Forward),
        );
        for item in before_staging.chain(after_staging) {
            let (k, v) = item?;
            if &*k == NEXT_TABLE_ID_KEY {
                next_table_id = keys::decode(&v, "next table id")?;
            } else if &*k == LAYOUT_KEY {
                layout = Some(keys::decode::<u32>(&v, "storage layout")?);
            } else if k.len() == 13 && k[0] == SINDEX_TAG {
                secondary.push(keys::decode::<SecondaryIndex>(&v, "secondary index")?);
            } else if k.len() == 9 && k[0] == TABLE_TAG {
                let (mut t, extras): (TableSchema, _) = decode_ext(&v, "table schema")?;
                t.extras = extras;
                tables.push(t);
            } else if k.len() == 9 && k[0] == COUNTERS_TAG {
                let id = u64::from_be_bytes(k[1..9].try_into().expect("9-byte key"));
                let (mut c, identity): (Counters, i64) = decode_ext(&v, "table counters")?;
                c.identity = identity;
                counters.insert(id, c);
            } else if k.len() == 13 && k[0] == INDEX_TAG {
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
            secondary,
            next_table_id,
            layout,
        })
    }
}

/// Catalog writes, grouped by the statement that makes them.
impl Batch<'_> {
    /// CREATE TABLE: writes a new table's schema (with its column extras) and counters, and
    /// `next_table_id` (the id the following CREATE TABLE takes, `schema.id + 1`).
    ///
    /// # Errors
    /// [`Error::Corrupt`] when a record cannot be encoded.
    pub fn create_table(
        &mut self,
        schema: &TableSchema,
        counters: &Counters,
        next_table_id: u64,
    ) -> Result<()> {
        self.put_table(schema)?;
        self.put_counters(schema.id, counters)?;
        self.put_next_table_id(next_table_id)
    }

    /// Writes a table's schema record (ALTER TABLE rewrites it).
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the record cannot be encoded.
    pub fn put_table(&mut self, schema: &TableSchema) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            table_key(schema.id),
            encode_ext(schema, &schema.extras)?,
        );
        Ok(())
    }

    /// Writes a table's counters; every statement that writes rows calls it in the batch
    /// holding them.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the record cannot be encoded.
    pub fn put_counters(&mut self, table_id: u64, counters: &Counters) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            counters_key(table_id),
            encode_ext(counters, &counters.identity)?,
        );
        Ok(())
    }

    /// Writes the next table id (outside this module, only storage tests call it alone).
    pub(super) fn put_next_table_id(&mut self, id: u64) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            NEXT_TABLE_ID_KEY,
            keys::encode(&id)?,
        );
        Ok(())
    }

    /// DROP TABLE: removes a table's schema, counters and the records of its `secondary`
    /// indexes, and every key range it owns in the other column families (rows, vectors,
    /// primary keys, secondary-index entries, change log). Its vector-index records are
    /// removed beforehand by [`Batch::drop_index`].
    pub fn drop_table(&mut self, table_id: u64, secondary: &[SecondaryIndex]) {
        let catalog = self.store.cf(CF_CATALOG);
        self.wb.delete_cf(catalog, table_key(table_id));
        self.wb.delete_cf(catalog, counters_key(table_id));
        for s in secondary {
            self.wb.delete_cf(catalog, sindex_meta_key(table_id, s.id));
        }
        let (start, end) = keys::table_range(table_id);
        for cf in [CF_ROWS, CF_PK, CF_CHANGELOG, CF_VECTORS, CF_SINDEX] {
            self.wb.delete_range_cf(self.store.cf(cf), start, end);
        }
    }

    /// Registers a new vector index (built lazily by a query, or by CREATE INDEX): writes
    /// its record and clears the column's change log, since the index is built from the rows.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the record cannot be encoded.
    pub fn create_index(&mut self, meta: &IndexMeta) -> Result<()> {
        self.put_index(meta)?;
        self.clear_log(meta.table_id, meta.column_index);
        Ok(())
    }

    /// Records a saved index file: writes `meta` (whose `saved` describes the file) and
    /// deletes the column's change log up to and including the saved sequence
    /// (`meta.saved.seq`), which the file holds. With `saved` unset only the record is
    /// written.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the record cannot be encoded.
    pub fn record_index_save(&mut self, meta: &IndexMeta) -> Result<()> {
        self.put_index(meta)?;
        if let Some(saved) = &meta.saved {
            self.truncate_log(meta.table_id, meta.column_index, saved.seq);
        }
        Ok(())
    }

    /// DROP INDEX (and DROP TABLE, per indexed column): removes a vector index's record and
    /// the column's change log.
    pub fn drop_index(&mut self, table_id: u64, column: usize) {
        self.delete_index(table_id, column);
        self.clear_log(table_id, column);
    }

    /// Writes a vector index's record alone (ALTER TABLE: a renamed table or column, or a
    /// column moved down by DROP COLUMN, whose change log moves with its vectors).
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the record cannot be encoded.
    pub fn put_index(&mut self, meta: &IndexMeta) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            index_key(meta.table_id, meta.column_index),
            keys::encode(meta)?,
        );
        Ok(())
    }

    /// Deletes a vector index's record alone (ALTER TABLE DROP COLUMN, with
    /// [`Batch::put_index`] under the column's new position).
    pub fn delete_index(&mut self, table_id: u64, column: usize) {
        self.wb
            .delete_cf(self.store.cf(CF_CATALOG), index_key(table_id, column));
    }

    /// Records a secondary index (CREATE INDEX, in the batch holding all its entries; ALTER
    /// TABLE DROP COLUMN when its column positions change).
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the record cannot be encoded.
    pub fn put_sindex_meta(&mut self, s: &SecondaryIndex) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            sindex_meta_key(s.table_id, s.id),
            keys::encode(s)?,
        );
        Ok(())
    }

    /// Removes a secondary index: its catalog record and all its entries.
    pub fn drop_sindex(&mut self, s: &SecondaryIndex) {
        self.wb
            .delete_cf(self.store.cf(CF_CATALOG), sindex_meta_key(s.table_id, s.id));
        let prefix = keys::sindex_prefix(s.table_id, s.id);
        let end = keys::prefix_successor(&prefix).expect("an index prefix is not all 0xFF");
        self.wb
            .delete_range_cf(self.store.cf(CF_SINDEX), &prefix[..], &end[..]);
    }

    /// Records the storage layout version (the migration's last write).
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the record cannot be encoded.
    pub fn put_layout(&mut self, version: u32) -> Result<()> {
        self.wb.put_cf(
            self.store.cf(CF_CATALOG),
            LAYOUT_KEY,
            keys::encode(&version)?,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::{
        ColumnDef, ColumnExtras, HnswParams, Identity, Metric, SavedIndex, SecondaryIndex,
    };
    use crate::storage::{Access, Change, ChangeOp};
    use crate::value::{DataType, Value};

    fn schema(id: u64, name: &str) -> TableSchema {
        TableSchema {
            id,
            name: name.into(),
            columns: vec![
                ColumnDef {
                    name: "id".into(),
                    data_type: DataType::Integer,
                    not_null: true,
                },
                ColumnDef {
                    name: "v".into(),
                    data_type: DataType::Vector(3),
                    not_null: false,
                },
            ],
            primary_key: Some(0),
            extras: vec![ColumnExtras {
                default: Some(Value::Integer(7)),
                identity: Some(Identity::Always),
            }],
        }
    }

    fn index(table_id: u64, column: usize) -> IndexMeta {
        IndexMeta {
            name: "docs_v_hnsw".into(),
            table_id,
            table: "docs".into(),
            column: "v".into(),
            column_index: column,
            dims: 3,
            params: HnswParams::with_metric(Metric::Cosine),
            explicit: true,
            saved: None,
        }
    }

    fn sindex(table_id: u64, id: u32) -> SecondaryIndex {
        SecondaryIndex {
            name: format!("s{id}"),
            id,
            table_id,
            columns: vec![0],
            unique: true,
        }
    }

    fn bincode<T: Serialize>(v: &T) -> Vec<u8> {
        bincode::serde::encode_to_vec(v, bincode::config::standard()).unwrap()
    }

    /// Every key and value of the `catalog` column family, staged chunks included.
    fn raw_catalog(store: &Store) -> BTreeMap<Vec<u8>, Vec<u8>> {
        store
            .db
            .iterator_cf(store.cf(CF_CATALOG), IteratorMode::Start)
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect()
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        (dir, store)
    }

    #[test]
    fn every_record_has_its_documented_key_and_bytes() {
        let (_dir, store) = open();
        let t = schema(0x0102, "docs");
        let counters = Counters {
            next_rowid: 300,
            seq: 5,
            rows: 299,
            identity: -4,
        };
        let m = index(0x0102, 1);
        let s = sindex(0x0102, 3);
        let mut b = store.batch();
        b.create_table(&t, &counters, 0x0103).unwrap();
        b.put_index(&m).unwrap();
        b.put_sindex_meta(&s).unwrap();
        b.put_layout(2).unwrap();
        store.write(b).unwrap();

        // The format, spelled out independently of the code under test: a version byte 1,
        // then bincode 2 (standard), then the extension for schemas and counters.
        let record = |parts: &[Vec<u8>]| {
            let mut v = vec![1u8];
            for p in parts {
                v.extend_from_slice(p);
            }
            v
        };
        let id = [0, 0, 0, 0, 0, 0, 0x01, 0x02];
        let with = |tag: u8, tail: &[u8]| {
            let mut k = vec![tag];
            k.extend_from_slice(&id);
            k.extend_from_slice(tail);
            k
        };
        let expected: BTreeMap<Vec<u8>, Vec<u8>> = [
            (with(b't', &[]), record(&[bincode(&t), bincode(&t.extras)])),
            (
                with(b'c', &[]),
                record(&[bincode(&(300u64, 5u64, 299u64)), bincode(&-4i64)]),
            ),
            (with(b'i', &[0, 0, 0, 1]), record(&[bincode(&m)])),
            (with(b'x', &[0, 0, 0, 3]), record(&[bincode(&s)])),
            (b"next_table_id".to_vec(), record(&[bincode(&0x0103u64)])),
            (b"layout".to_vec(), record(&[bincode(&2u32)])),
        ]
        .into_iter()
        .collect();
        assert_eq!(raw_catalog(&store), expected);
    }

    #[test]
    fn what_is_written_loads_back_and_staged_chunks_are_skipped() {
        let (_dir, store) = open();
        let t = schema(1, "docs");
        let mut m = index(1, 1);
        m.saved = Some(SavedIndex {
            seq: 9,
            file_bytes: 4096,
            rows: 10,
            fingerprint: 77,
        });
        let counters = Counters {
            next_rowid: 11,
            seq: 9,
            rows: 10,
            identity: 10,
        };
        let mut b = store.batch();
        b.create_table(&t, &counters, 2).unwrap();
        b.put_index(&m).unwrap();
        b.put_sindex_meta(&sindex(1, 1)).unwrap();
        // A staged chunk whose bytes decode as no catalog record.
        b.wb.put_cf(store.cf(CF_CATALOG), [b's'; 17], [0xFF; 3]);
        store.write(b).unwrap();

        let loaded = store.load_catalog().unwrap();
        assert_eq!(loaded.tables, vec![(t, counters)]);
        assert_eq!(loaded.indexes, vec![m]);
        assert_eq!(loaded.secondary, vec![sindex(1, 1)]);
        assert_eq!(loaded.next_table_id, 2);
        assert_eq!(loaded.layout, None);
    }

    #[test]
    fn a_damaged_record_is_corrupt_and_named() {
        let (_dir, store) = open();
        let mut b = store.batch();
        b.wb.put_cf(store.cf(CF_CATALOG), table_key(4), [1, 0xFF, 0xFF]);
        store.write(b).unwrap();
        match store.load_catalog() {
            Err(Error::Corrupt(msg)) => assert!(msg.contains("table schema"), "{msg}"),
            other => panic!("{:?}", other.map(|c| c.tables)),
        }
    }

    #[test]
    fn drop_table_removes_its_records_and_rows_and_keeps_the_other_table() {
        let (_dir, store) = open();
        let (a, b_) = (schema(1, "a"), schema(2, "b"));
        let mut b = store.batch();
        b.create_table(&a, &Counters::default(), 2).unwrap();
        b.create_table(&b_, &Counters::default(), 3).unwrap();
        for t in [&a, &b_] {
            b.put_sindex_meta(&sindex(t.id, 1)).unwrap();
            b.put_row(t, 0, &[Value::Integer(1), Value::Vector(vec![1.0; 3])])
                .unwrap();
        }
        store.write(b).unwrap();

        let mut b = store.batch();
        b.drop_table(1, &[sindex(1, 1)]);
        store.write(b).unwrap();
        let loaded = store.load_catalog().unwrap();
        assert_eq!(loaded.tables, vec![(b_.clone(), Counters::default())]);
        assert_eq!(loaded.secondary, vec![sindex(2, 1)]);
        // Table ids are never reused.
        assert_eq!(loaded.next_table_id, 3);
        assert_eq!(store.reads().get_rows(&a, &[0], None).unwrap(), vec![None]);
        assert!(store.reads().get_rows(&b_, &[0], None).unwrap()[0].is_some());
    }

    #[test]
    fn index_records_change_with_the_change_log_in_one_batch() {
        let (_dir, store) = open();
        let log = |store: &Store, seqs: std::ops::RangeInclusive<u64>| {
            let mut b = store.batch();
            for seq in seqs {
                b.log_change(
                    1,
                    1,
                    Change {
                        seq,
                        rowid: seq,
                        op: ChangeOp::Upsert,
                    },
                );
            }
            store.write(b).unwrap();
        };
        let seqs = |store: &Store| -> Vec<u64> {
            store
                .changes_since(1, 1, 0)
                .unwrap()
                .iter()
                .map(|c| c.seq)
                .collect()
        };
        // Registering an index clears the log: the index is built from the rows.
        log(&store, 1..=3);
        let mut m = index(1, 1);
        let mut b = store.batch();
        b.create_index(&m).unwrap();
        store.write(b).unwrap();
        assert_eq!(seqs(&store), Vec::<u64>::new());
        assert_eq!(store.load_catalog().unwrap().indexes, vec![m.clone()]);

        // A save truncates the log up to the saved sequence, no further.
        log(&store, 4..=8);
        m.saved = Some(SavedIndex {
            seq: 6,
            file_bytes: 1,
            rows: 6,
            fingerprint: 1,
        });
        let mut b = store.batch();
        b.record_index_save(&m).unwrap();
        store.write(b).unwrap();
        assert_eq!(seqs(&store), vec![7, 8]);
        assert_eq!(store.load_catalog().unwrap().indexes, vec![m]);

        // Dropping it removes the record and the rest of the log.
        let mut b = store.batch();
        b.drop_index(1, 1);
        store.write(b).unwrap();
        assert_eq!(seqs(&store), Vec::<u64>::new());
        assert!(store.load_catalog().unwrap().indexes.is_empty());
    }

    #[test]
    fn a_record_without_its_extension_decodes_with_the_default() {
        // A record as written before the extension existed, and one with it.
        let old = keys::encode(&(7u64, "t".to_string())).unwrap();
        let (v, ext): ((u64, String), Vec<u32>) = decode_ext(&old, "record").unwrap();
        assert_eq!((v, ext), ((7, "t".into()), vec![]));
        let new = encode_ext(&(7u64, "t".to_string()), &vec![3u32, 4]).unwrap();
        let (v, ext): ((u64, String), Vec<u32>) = decode_ext(&new, "record").unwrap();
        assert_eq!((v, ext), ((7, "t".into()), vec![3, 4]));
        // Readers that predate the extension ignore it.
        assert_eq!(
            keys::decode::<(u64, String)>(&new, "record").unwrap(),
            (7, "t".into())
        );
        assert!(matches!(
            decode_ext::<(u64, String), Vec<u32>>(&new[..new.len() - 1], "record"),
            Err(Error::Corrupt(_))
        ));
    }
}
