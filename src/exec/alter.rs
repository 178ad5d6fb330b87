//! `ALTER TABLE` and `DESCRIBE`.
//!
//! Each `ALTER TABLE` is one `WriteBatch`: the new schema record with every row rewritten
//! (`ADD COLUMN` appends the default or NULL to each row, `DROP COLUMN` removes the value and
//! moves the stored vectors and change log of later vector columns down one position), the
//! secondary-index records it changes (an index on a dropped column is dropped, as PostgreSQL
//! drops dependent indexes) and the vector-index records. Only after the batch committed are
//! the vector indexes in memory re-registered and their files renamed
//! (`<table>_<column>.usearch` follows the new names) or, for a dropped column, deleted; a
//! crash in between leaves a file under its old name, and the next kNN query rebuilds the
//! index from the rows.

use std::collections::BTreeMap;

use crate::catalog::{Identity, IndexMeta, TableSchema};
use crate::error::{Error, Result};
use crate::exec::write::TableEntry;
use crate::row::Rows;
use crate::sql::alter::{AlterOp, AlterTable};
use crate::storage::{keys, Store};
use crate::value::{DataType, Value};
use crate::vector::VectorIndexes;

fn is_vector(t: &TableSchema, c: usize) -> bool {
    matches!(t.columns[c].data_type, DataType::Vector(_))
}

/// Runs a bound `ALTER TABLE` on the table entries of the database (keyed by table name).
///
/// # Errors
/// [`Error::NotNull`] for `ADD COLUMN … NOT NULL` without a default on a table with rows;
/// [`Error::NoSuchTable`]; [`Error::Storage`] / [`Error::Corrupt`]. Nothing is written on
/// error.
pub(crate) fn alter_table(
    store: &Store,
    vectors: &VectorIndexes,
    tables: &mut BTreeMap<String, TableEntry>,
    bound: AlterTable,
) -> Result<()> {
    let entry = tables
        .get_mut(&bound.table)
        .ok_or_else(|| Error::NoSuchTable(bound.table.clone()))?;
    let t = entry.schema.clone();
    let mut new = t.clone();
    new.extras.resize(t.columns.len(), Default::default());
    let mut batch = store.batch();
    // Vector indexes to re-register after the commit: (old key, new metadata or None to
    // delete, old file name).
    let mut moved: Vec<((u64, usize), Option<IndexMeta>, String)> = Vec::new();
    match &bound.op {
        AlterOp::AddColumn { column, extras } => {
            if column.not_null && extras.default.is_none() && entry.counters.rows > 0 {
                return Err(Error::NotNull {
                    table: t.name.clone(),
                    column: column.name.clone(),
                });
            }
            new.columns.push(column.clone());
            new.extras.push(extras.clone());
            let c = new.columns.len() - 1;
            let fill = extras.default.clone().unwrap_or(Value::Null);
            let vector = matches!(column.data_type, DataType::Vector(_));
            store.reads().scan_raw(t.id, |rowid, bytes| {
                let mut row = keys::decode_row(bytes, None)?;
                row.resize(c, Value::Null);
                row.push(fill.clone());
                if vector {
                    batch.put_vector(t.id, c, rowid, Some(&fill));
                }
                batch.put_scalar_row(&new, rowid, &row)?;
                Ok(true)
            })?;
        }
        AlterOp::DropColumn(c) => {
            let c = *c;
            new.columns.remove(c);
            new.extras.remove(c);
            if let Some(pk) = new.primary_key.filter(|&pk| pk > c) {
                new.primary_key = Some(pk - 1);
            }
            let mut kept = Vec::new();
            for s in &entry.indexes {
                if s.columns.contains(&c) {
                    batch.drop_sindex(s);
                    continue;
                }
                let mut s2 = s.clone();
                for x in &mut s2.columns {
                    if *x > c {
                        *x -= 1;
                    }
                }
                if s2 != *s {
                    batch.put_sindex_meta(&s2)?;
                }
                kept.push(s2);
            }
            store.reads().scan_raw(t.id, |rowid, bytes| {
                let mut row = keys::decode_row(bytes, None)?;
                if c < row.len() {
                    row.remove(c);
                }
                batch.put_scalar_row(&new, rowid, &row)?;
                Ok(true)
            })?;
            if is_vector(&t, c) {
                batch.delete_vector_column(t.id, c);
                batch.clear_log(t.id, c);
            }
            for j in c + 1..t.columns.len() {
                if is_vector(&t, j) {
                    batch.move_vector_column(t.id, j, j - 1)?;
                }
            }
            for col in vectors.indexed_columns(t.id) {
                let Some(meta) = vectors.meta(t.id, col) else {
                    continue;
                };
                let file = meta.file_name();
                if col == c {
                    batch.delete_index(t.id, col);
                    moved.push(((t.id, col), None, file));
                } else if col > c {
                    batch.delete_index(t.id, col);
                    let mut m = meta;
                    m.column_index = col - 1;
                    batch.put_index(&m)?;
                    moved.push(((t.id, col), Some(m), file));
                }
            }
            entry.indexes = kept;
        }
        AlterOp::RenameColumn { column, new_name } => {
            new.columns[*column].name = new_name.clone();
            if let Some(meta) = vectors.meta(t.id, *column) {
                let file = meta.file_name();
                let mut m = meta;
                m.column = new_name.clone();
                batch.put_index(&m)?;
                moved.push(((t.id, *column), Some(m), file));
            }
        }
        AlterOp::RenameTable(new_name) => {
            new.name = new_name.clone();
            for col in vectors.indexed_columns(t.id) {
                if let Some(meta) = vectors.meta(t.id, col) {
                    let file = meta.file_name();
                    let mut m = meta;
                    m.table = new_name.clone();
                    batch.put_index(&m)?;
                    moved.push(((t.id, col), Some(m), file));
                }
            }
        }
    }
    batch.put_table(&new)?;
    store.write(batch)?;
    let detached: Vec<Option<IndexMeta>> =
        moved.iter().map(|(k, _, _)| vectors.detach(*k)).collect();
    for ((_, m, file), old) in moved.into_iter().zip(detached) {
        match m {
            Some(m) => vectors.attach(m, &file),
            None => {
                if let Some(old) = old {
                    vectors.remove_file(&old);
                }
            }
        }
    }
    entry.schema = new;
    entry.generation += 1;
    if let AlterOp::RenameTable(new_name) = bound.op {
        if let Some(e) = tables.remove(&bound.table) {
            tables.insert(new_name, e);
        }
    }
    Ok(())
}

/// `DESCRIBE t`: one row per column, as DuckDB's `DESCRIBE`: `column_name`, `column_type`,
/// `null` (`YES` / `NO`), `key` (`PRI` for the primary key, `UNI` for a column with a
/// one-column unique index, `MUL` for the first column of another index, else NULL),
/// `default` (the default value as SQL, or `GENERATED ALWAYS AS IDENTITY` / `GENERATED BY
/// DEFAULT AS IDENTITY`, else NULL) and `extra` (the indexes on the column, e.g.
/// `hnsw index docs_emb (cosine)`, `unique index docs_title`, joined by `; `, else NULL).
pub(crate) fn describe(entry: &TableEntry, vectors: &VectorIndexes) -> Rows {
    let t = &entry.schema;
    let text = |s: String| Value::Text(s);
    let rows = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let extras = t.extras(i);
            let key = if t.primary_key == Some(i) {
                Some("PRI")
            } else if entry.indexes.iter().any(|s| s.unique && s.columns == [i]) {
                Some("UNI")
            } else if entry.indexes.iter().any(|s| s.columns.first() == Some(&i)) {
                Some("MUL")
            } else {
                None
            };
            let default = match (extras.identity, &extras.default) {
                (Some(Identity::Always), _) => Some("GENERATED ALWAYS AS IDENTITY".to_string()),
                (Some(_), _) => Some("GENERATED BY DEFAULT AS IDENTITY".to_string()),
                (None, Some(v)) => Some(v.to_sql_literal()),
                (None, None) => None,
            };
            let mut indexes: Vec<String> = Vec::new();
            if let Some(m) = vectors.meta(t.id, i) {
                indexes.push(format!("hnsw index {} ({})", m.name, m.params.metric));
            }
            for s in entry.indexes.iter().filter(|s| s.columns.contains(&i)) {
                indexes.push(format!(
                    "{}index {}",
                    if s.unique { "unique " } else { "" },
                    s.name
                ));
            }
            let null = !(c.not_null || t.primary_key == Some(i));
            vec![
                text(c.name.clone()),
                text(c.data_type.to_string()),
                text(if null { "YES" } else { "NO" }.to_string()),
                key.map_or(Value::Null, |k| text(k.to_string())),
                default.map_or(Value::Null, text),
                if indexes.is_empty() {
                    Value::Null
                } else {
                    text(indexes.join("; "))
                },
            ]
        })
        .collect();
    Rows::new(
        [
            "column_name",
            "column_type",
            "null",
            "key",
            "default",
            "extra",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    )
}
