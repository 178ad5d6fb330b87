//! `INSERT` / `COPY`, `UPDATE` and `DELETE`: every check first, then one `WriteBatch` holding
//! the rows, the primary-key entries, the change-log entries of indexed vector columns and the
//! table counters; cached vector indexes are updated only after the batch committed.

use std::collections::HashSet;

use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::expr::eval::{eval, Ctx};
use crate::expr::Expr;
use crate::storage::{Change, ChangeOp, Counters, Store};
use crate::value::{coerce, Value};
use crate::vector::{Progress, ProgressFn, VectorChange, VectorIndexes};

/// A table and its counters, as the database holds them.
#[derive(Debug, Clone)]
pub(crate) struct TableEntry {
    pub schema: TableSchema,
    pub counters: Counters,
}

fn check_not_null(t: &TableSchema, row: &[Value]) -> Result<()> {
    for (i, c) in t.columns.iter().enumerate() {
        if (c.not_null || t.primary_key == Some(i)) && row[i].is_null() {
            return Err(Error::NotNull {
                table: t.name.clone(),
                column: c.name.clone(),
            });
        }
    }
    Ok(())
}

fn dup(t: &TableSchema, pk: usize, key: &Value) -> Error {
    Error::DuplicateKey {
        table: t.name.clone(),
        column: t.columns[pk].name.clone(),
        key: key.to_sql_literal(),
    }
}

/// Inserts full-width rows whose values already have their columns' types.
///
/// # Errors
/// [`Error::NotNull`], [`Error::DuplicateKey`]; nothing is written on error.
pub(crate) fn insert_rows(
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    rows: Vec<Vec<Value>>,
    progress: Option<&ProgressFn>,
) -> Result<u64> {
    let t = &entry.schema;
    let indexed = vectors.indexed_columns(t.id);
    let mut counters = entry.counters;
    let mut batch = store.batch();
    let mut new_keys: HashSet<Vec<u8>> = HashSet::new();
    let task = format!("importing into {}", t.name);
    let total = rows.len() as u64;
    let report = |done: u64| {
        if let Some(cb) = progress {
            cb(&Progress {
                task: &task,
                done,
                total,
            });
        }
    };
    if total >= 10_000 {
        report(0);
    }
    for (n, row) in rows.iter().enumerate() {
        check_not_null(t, row)?;
        if let Some(pk) = t.primary_key {
            let key = &row[pk];
            let encoded = crate::storage::keys::pk_key(t.id, key).ok_or_else(|| {
                Error::type_mismatch(t.qualified(pk), "INTEGER or TEXT key", key.type_name())
            })?;
            if !new_keys.insert(encoded) || store.pk_lookup(t.id, key)?.is_some() {
                return Err(dup(t, pk, key));
            }
        }
        let rowid = counters.next_rowid;
        counters.next_rowid += 1;
        batch.put_row(t.id, rowid, row)?;
        if let Some(pk) = t.primary_key {
            batch.put_pk(t.id, &row[pk], rowid);
        }
        for &c in &indexed {
            if !row[c].is_null() {
                counters.seq += 1;
                batch.log_change(
                    t.id,
                    c,
                    Change {
                        seq: counters.seq,
                        rowid,
                        op: ChangeOp::Upsert,
                    },
                );
            }
        }
        if total >= 10_000 && n % 5_000 == 0 && n > 0 {
            report(n as u64);
        }
    }
    counters.rows += total;
    batch.put_counters(t.id, &counters)?;
    store.write(batch)?;
    if total >= 10_000 {
        report(total);
    }
    let first = entry.counters.next_rowid;
    entry.counters = counters;
    if !indexed.is_empty() {
        let changes: Vec<VectorChange<'_>> = rows
            .iter()
            .enumerate()
            .flat_map(|(i, row)| {
                indexed.iter().filter_map(move |&c| match &row[c] {
                    Value::Vector(v) => Some(VectorChange {
                        column: c,
                        rowid: first + i as u64,
                        vector: Some(v),
                    }),
                    _ => None,
                })
            })
            .collect();
        vectors.apply(store, t.id, counters.seq, &changes);
    }
    Ok(total)
}

/// `UPDATE t SET col = expr, … [WHERE filter]`.
///
/// # Errors
/// Type and vector errors naming `table.column`, [`Error::NotNull`], [`Error::DuplicateKey`];
/// nothing is written on error.
pub(crate) fn update(
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    assignments: &[(usize, Expr)],
    filter: Option<&Expr>,
) -> Result<u64> {
    let t = &entry.schema;
    let indexed = vectors.indexed_columns(t.id);
    let mut counters = entry.counters;
    let mut batch = store.batch();
    let mut changed: Vec<(u64, Vec<Value>, Vec<Value>)> = Vec::new();
    super::for_each_match(store, t, filter, None, |rowid, row| {
        let mut new_row = row.clone();
        for (c, e) in assignments {
            let v = eval(e, Ctx::row(&row))?;
            new_row[*c] = coerce(v, t.columns[*c].data_type, &t.qualified(*c))?;
        }
        check_not_null(t, &new_row)?;
        changed.push((rowid, row, new_row));
        Ok(true)
    })?;
    // Primary-key changes: the old keys of updated rows are free; new keys must be unique.
    if let Some(pk) = t.primary_key {
        let moved: Vec<&(u64, Vec<Value>, Vec<Value>)> = changed
            .iter()
            .filter(|(_, old, new)| old[pk] != new[pk])
            .collect();
        if !moved.is_empty() {
            let freed: HashSet<u64> = moved.iter().map(|(rowid, _, _)| *rowid).collect();
            let mut taken: HashSet<Vec<u8>> = HashSet::new();
            for (_, _, new) in &moved {
                let key = &new[pk];
                let enc = crate::storage::keys::pk_key(t.id, key).ok_or_else(|| {
                    Error::type_mismatch(t.qualified(pk), "INTEGER or TEXT key", key.type_name())
                })?;
                if !taken.insert(enc) {
                    return Err(dup(t, pk, key));
                }
                if let Some(owner) = store.pk_lookup(t.id, key)? {
                    if !freed.contains(&owner) {
                        return Err(dup(t, pk, key));
                    }
                }
            }
            for (_, old, _) in &moved {
                batch.delete_pk(t.id, &old[pk]);
            }
            for (rowid, _, new) in &moved {
                batch.put_pk(t.id, &new[pk], *rowid);
            }
        }
    }
    let mut vchanges: Vec<(usize, u64, Option<usize>)> = Vec::new();
    for (i, (rowid, old, new)) in changed.iter().enumerate() {
        batch.put_row(t.id, *rowid, new)?;
        for &c in &indexed {
            if old[c] != new[c] {
                counters.seq += 1;
                batch.log_change(
                    t.id,
                    c,
                    Change {
                        seq: counters.seq,
                        rowid: *rowid,
                        op: ChangeOp::Upsert,
                    },
                );
                vchanges.push((c, *rowid, if new[c].is_null() { None } else { Some(i) }));
            }
        }
    }
    batch.put_counters(t.id, &counters)?;
    store.write(batch)?;
    entry.counters = counters;
    if !vchanges.is_empty() || !indexed.is_empty() {
        let changes: Vec<VectorChange<'_>> = vchanges
            .iter()
            .map(|&(c, rowid, i)| VectorChange {
                column: c,
                rowid,
                vector: i.and_then(|i| match &changed[i].2[c] {
                    Value::Vector(v) => Some(v.as_slice()),
                    _ => None,
                }),
            })
            .collect();
        vectors.apply(store, t.id, counters.seq, &changes);
    }
    Ok(changed.len() as u64)
}

/// `DELETE FROM t [WHERE filter]`.
pub(crate) fn delete(
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    filter: Option<&Expr>,
) -> Result<u64> {
    let t = &entry.schema;
    let indexed = vectors.indexed_columns(t.id);
    let mut counters = entry.counters;
    let mut batch = store.batch();
    let mut deleted: Vec<(u64, Vec<usize>)> = Vec::new();
    super::for_each_match(store, t, filter, None, |rowid, row| {
        batch.delete_row(t.id, rowid);
        if let Some(pk) = t.primary_key {
            batch.delete_pk(t.id, &row[pk]);
        }
        let cols: Vec<usize> = indexed
            .iter()
            .copied()
            .filter(|&c| !row[c].is_null())
            .collect();
        deleted.push((rowid, cols));
        Ok(true)
    })?;
    for (rowid, cols) in &deleted {
        for &c in cols {
            counters.seq += 1;
            batch.log_change(
                t.id,
                c,
                Change {
                    seq: counters.seq,
                    rowid: *rowid,
                    op: ChangeOp::Delete,
                },
            );
        }
    }
    counters.rows = counters.rows.saturating_sub(deleted.len() as u64);
    batch.put_counters(t.id, &counters)?;
    store.write(batch)?;
    entry.counters = counters;
    let changes: Vec<VectorChange<'_>> = deleted
        .iter()
        .flat_map(|(rowid, cols)| {
            cols.iter().map(move |&c| VectorChange {
                column: c,
                rowid: *rowid,
                vector: None,
            })
        })
        .collect();
    if !changes.is_empty() {
        vectors.apply(store, t.id, counters.seq, &changes);
    }
    Ok(deleted.len() as u64)
}
