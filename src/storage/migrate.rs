//! Storage layout upgrades, run by `Database::open` before anything else reads rows.
//!
//! - Layout 1 (vectable 0.1): each row held its vectors inline, under version byte 1.
//! - Layout 2: rows hold scalar columns only (version byte 2); vectors live in the `vectors`
//!   column family; secondary indexes exist. The catalog records the layout under
//!   `layout` (see `storage::catalog`).
//!
//! Upgrading 1 → 2 rewrites every row whose version byte is 1, moving its vectors out, in
//! batches of at most [`MIGRATE_BATCH_ROWS`] rows, then records layout 2. Each batch is atomic
//! and the rewrite is idempotent (a row already at version 2 is skipped), so a crash halfway
//! leaves a database that the next open finishes migrating; a layout-1 row is never read as a
//! layout-2 one, because the two carry different version bytes. USearch index files, the
//! change log and the primary-key index do not change: rowids stay the same.
//!
//! A database of a newer layout than this build knows is refused with
//! [`Error::UnsupportedLayout`].

use std::path::Path;

use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::storage::{keys, Durability, LoadedCatalog, Store};
use crate::value::DataType;

/// Rows rewritten per `WriteBatch` during a migration.
pub const MIGRATE_BATCH_ROWS: usize = 4096;

/// Brings the database to [`keys::LAYOUT_VERSION`]. Returns the number of rows rewritten.
///
/// # Errors
/// [`Error::UnsupportedLayout`] for a newer layout; [`Error::Corrupt`] for a row that decodes
/// under neither layout; [`Error::Storage`].
pub(crate) fn upgrade(store: &Store, catalog: &LoadedCatalog, path: &Path) -> Result<u64> {
    match catalog.layout {
        Some(v) if v == keys::LAYOUT_VERSION => return Ok(0),
        Some(v) if v > keys::LAYOUT_VERSION => {
            return Err(Error::UnsupportedLayout {
                path: path.to_path_buf(),
                found: v,
                supported: keys::LAYOUT_VERSION,
            })
        }
        _ => {}
    }
    let mut moved = 0;
    for (table, _) in &catalog.tables {
        moved += upgrade_table(store, table)?;
    }
    let mut batch = store.batch();
    batch.put_layout(keys::LAYOUT_VERSION)?;
    store.write(batch)?;
    if moved > 0 {
        log::info!(
            "migrated {} from storage layout 1 to {}: {moved} rows rewritten",
            path.display(),
            keys::LAYOUT_VERSION
        );
    }
    Ok(moved)
}

fn upgrade_table(store: &Store, table: &TableSchema) -> Result<u64> {
    let has_vectors = table
        .columns
        .iter()
        .any(|c| matches!(c.data_type, DataType::Vector(_)));
    let mut moved = 0u64;
    let mut from = 0u64;
    loop {
        // Read a batch of layout-1 rows, then rewrite them; the next pass resumes after the
        // last rowid read, so memory stays bounded by one batch.
        let mut pending: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut last = None;
        store
            .reads()
            .scan_raw_from(table.id, from, |rowid, bytes| {
                last = Some(rowid);
                match bytes.first() {
                    Some(&keys::ROW_FORMAT) => {}
                    Some(&1) => pending.push((rowid, bytes.to_vec())),
                    _ => {
                        return Err(Error::Corrupt(format!(
                            "row {rowid} of table {}: unknown format version",
                            table.name
                        )))
                    }
                }
                Ok(pending.len() < MIGRATE_BATCH_ROWS)
            })?;
        let Some(last) = last else { break };
        let mut batch = store.batch();
        for (rowid, bytes) in &pending {
            let row = keys::decode_row_as(1, bytes, None)?;
            if has_vectors {
                batch.put_row(table, *rowid, &row)?;
            } else {
                batch.put_raw_row(table.id, *rowid, &keys::encode_row(&row)?);
            }
        }
        // Synced with the layout record that ends the migration.
        store.write_with(batch, Durability::Deferred)?;
        moved += pending.len() as u64;
        match last.checked_add(1) {
            Some(next) => from = next,
            None => break,
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ColumnDef;
    use crate::storage::Counters;
    use crate::value::Value;
    use crate::{params, Database};

    fn schema() -> TableSchema {
        TableSchema {
            id: 1,
            name: "docs".into(),
            columns: vec![
                ColumnDef {
                    name: "id".into(),
                    data_type: DataType::Integer,
                    not_null: true,
                },
                ColumnDef {
                    name: "title".into(),
                    data_type: DataType::Text,
                    not_null: false,
                },
                ColumnDef {
                    name: "v".into(),
                    data_type: DataType::Vector(3),
                    not_null: false,
                },
            ],
            primary_key: Some(0),
            extras: Vec::new(),
        }
    }

    fn row(i: i64) -> Vec<Value> {
        vec![
            Value::Integer(i),
            Value::Text(format!("doc {i}")),
            if i % 7 == 3 {
                Value::Null
            } else {
                Value::Vector(vec![i as f32, 1.0, -(i as f32) / 2.0])
            },
        ]
    }

    /// Writes a database the way vectable 0.1 (storage layout 1) did: rows with their
    /// vectors inline under version byte 1, no layout record. `already` rows are written in
    /// layout 2, as a migration cut off halfway leaves them.
    fn write_layout_1(dir: &Path, n: i64, already: i64) {
        let store = Store::open(&dir.join("db"), crate::storage::Access::ReadWrite).unwrap();
        let t = schema();
        let mut batch = store.batch();
        batch.put_table(&t).unwrap();
        batch
            .put_counters(
                t.id,
                &Counters {
                    next_rowid: n as u64,
                    seq: 0,
                    rows: n as u64,
                    identity: 0,
                },
            )
            .unwrap();
        batch.put_next_table_id(2).unwrap();
        for i in 0..n {
            let r = row(i);
            if i < already {
                batch.put_row(&t, i as u64, &r).unwrap();
            } else {
                batch.put_raw_row(t.id, i as u64, &keys::encode(&r).unwrap());
            }
            batch.put_pk(t.id, &r[0], i as u64);
        }
        store.write(batch).unwrap();
    }

    fn check(db: &Database, n: i64) {
        let rows = db.query("SELECT * FROM docs ORDER BY id", ()).unwrap();
        assert_eq!(rows.len() as i64, n);
        for (i, r) in rows.values().iter().enumerate() {
            assert_eq!(r, &row(i as i64));
        }
        // kNN builds its index from the migrated vectors.
        let got: Vec<i64> = db
            .query(
                "SELECT id FROM docs ORDER BY v <-> $1 LIMIT 3",
                params![vec![12.0f32, 1.0, -6.0]],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect();
        assert_eq!(got[0], 12);
        let mut next = got[1..].to_vec();
        next.sort_unstable();
        assert_eq!(next, vec![11, 13]);
        assert_eq!(
            db.query_row("SELECT title FROM docs WHERE id = 5", (), |r| r
                .get::<String>(0))
                .unwrap(),
            "doc 5"
        );
    }

    #[test]
    fn a_layout_1_database_is_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        // More rows than one migration batch, so the batching and resumption run.
        let n = MIGRATE_BATCH_ROWS as i64 * 2 + 100;
        write_layout_1(dir.path(), n, 0);
        let db = Database::open(dir.path()).unwrap();
        check(&db, n);
        drop(db);
        // The layout is recorded: a second open rewrites nothing.
        let store = Store::open(&dir.path().join("db"), crate::storage::Access::ReadWrite).unwrap();
        let cat = store.load_catalog().unwrap();
        assert_eq!(cat.layout, Some(keys::LAYOUT_VERSION));
        assert_eq!(upgrade(&store, &cat, dir.path()).unwrap(), 0);
    }

    #[test]
    fn a_migration_cut_off_halfway_is_finished_on_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        write_layout_1(dir.path(), 500, 200);
        let store = Store::open(&dir.path().join("db"), crate::storage::Access::ReadWrite).unwrap();
        let cat = store.load_catalog().unwrap();
        assert_eq!(cat.layout, None);
        assert_eq!(upgrade(&store, &cat, dir.path()).unwrap(), 300);
        drop(store);
        check(&Database::open(dir.path()).unwrap(), 500);
    }

    #[test]
    fn a_newer_layout_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        write_layout_1(dir.path(), 10, 10);
        {
            let store =
                Store::open(&dir.path().join("db"), crate::storage::Access::ReadWrite).unwrap();
            let mut b = store.batch();
            b.put_layout(keys::LAYOUT_VERSION + 1).unwrap();
            store.write(b).unwrap();
        }
        match Database::open(dir.path()) {
            Err(Error::UnsupportedLayout {
                found, supported, ..
            }) => assert_eq!((found, supported), (3, 2)),
            other => panic!("{other:?}"),
        }
        let store = Store::open(&dir.path().join("db"), crate::storage::Access::ReadWrite).unwrap();
        assert_eq!(store.load_catalog().unwrap().layout, Some(3));
    }
}
