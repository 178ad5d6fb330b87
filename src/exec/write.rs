//! `INSERT` / `COPY`, `UPDATE` and `DELETE`: every check first, then one `WriteBatch` holding
//! the rows, their vectors, the primary-key and secondary-index entries, the change-log entries
//! of indexed vector columns and the table counters; cached vector indexes are updated only
//! after the batch committed.

use std::collections::{HashMap, HashSet};

use crate::catalog::{SecondaryIndex, TableSchema};
use crate::error::{Error, Result};
use crate::exec::cancel::Cancel;
use crate::expr::eval::{eval, Ctx};
use crate::expr::Expr;
use crate::plan::access::RowSource;
use crate::storage::{keys, Batch, Change, ChangeOp, Counters, KeyRange, Store};
use crate::value::{coerce, DataType, Value};
use crate::vector::{Progress, ProgressFn, VectorChange, VectorIndexes};

use super::bulk::{StagedDelete, StagedUpdate};
use super::publish::Publish;
use crate::storage::Durability;

/// A table, its counters and its secondary indexes, as the database holds them.
#[derive(Debug, Clone)]
pub(crate) struct TableEntry {
    pub schema: TableSchema,
    pub counters: Counters,
    pub indexes: Vec<SecondaryIndex>,
    /// Bumped by every committed write to the table (in memory only): keys the cache of
    /// secondary-index scan results ([`crate::exec::candidates`]).
    pub generation: u64,
}

/// The index-key prefix (`table ‖ index ‖ values`) of a row, and whether uniqueness applies
/// to it (a UNIQUE index, no NULL among the values).
pub(super) fn index_prefix(
    t: &TableSchema,
    s: &SecondaryIndex,
    row: &[Value],
) -> Result<(Vec<u8>, bool)> {
    let p = keys::sindex_values_prefix(t.id, s.id, &s.columns, row)
        .ok_or_else(|| Error::Corrupt(format!("index {} covers a vector column", s.name)))?;
    let checked = s.unique && s.columns.iter().all(|&c| !row[c].is_null());
    Ok((p, checked))
}

pub(super) fn entry_key(prefix: &[u8], rowid: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&rowid.to_be_bytes());
    k
}

pub(super) fn prefix_range(prefix: &[u8]) -> KeyRange {
    KeyRange {
        start: prefix.to_vec(),
        end: keys::prefix_successor(prefix).expect("index prefixes end in a value tag"),
    }
}

/// An updated row whose index entry moves: (rowid, old prefix, new prefix, uniqueness
/// applies to the new values, position in the statement's changed rows).
type IndexMove = (u64, Vec<u8>, Vec<u8>, bool, usize);

/// `DuplicateKey` for a UNIQUE index.
pub(crate) fn unique_violation(t: &TableSchema, s: &SecondaryIndex, row: &[Value]) -> Error {
    let names: Vec<&str> = s
        .columns
        .iter()
        .map(|&c| t.columns[c].name.as_str())
        .collect();
    let vals: Vec<String> = s.columns.iter().map(|&c| row[c].to_sql_literal()).collect();
    Error::DuplicateKey {
        table: t.name.clone(),
        column: names.join(", "),
        key: if vals.len() == 1 {
            vals[0].clone()
        } else {
            format!("({})", vals.join(", "))
        },
        index: format!("unique index {}", s.name),
    }
}

/// Adds the secondary-index entries of a new row to `batch`.
fn index_row(
    batch: &mut Batch<'_>,
    t: &TableSchema,
    indexes: &[SecondaryIndex],
    rowid: u64,
    row: &[Value],
) -> Result<()> {
    for s in indexes {
        let (p, _) = index_prefix(t, s, row)?;
        batch.put_sindex(&entry_key(&p, rowid));
    }
    Ok(())
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

pub(super) fn dup(t: &TableSchema, pk: usize, key: &Value) -> Error {
    Error::DuplicateKey {
        table: t.name.clone(),
        column: t.columns[pk].name.clone(),
        key: key.to_sql_literal(),
        index: "primary key".into(),
    }
}

/// The identity value of a new row: NULL (the column left out, or NULL given) gets the
/// counter's next value; an explicit value (`BY DEFAULT`, or `COPY`) is kept and moves the
/// counter up to it, so later generated values do not collide with it.
fn fill_identity(t: &TableSchema, c: usize, counters: &mut Counters, v: &mut Value) -> Result<()> {
    match v {
        Value::Null => {
            counters.identity = counters.identity.checked_add(1).ok_or_else(|| {
                Error::invalid(format!(
                    "identity column {} is out of values",
                    t.qualified(c)
                ))
            })?;
            *v = Value::Integer(counters.identity);
        }
        Value::Integer(i) => counters.identity = counters.identity.max(*i),
        _ => {}
    }
    Ok(())
}

/// The primary keys and unique-index values of the rows an insert statement added so far
/// (encoded), to refuse a duplicate within the statement.
#[derive(Default)]
pub(super) struct NewKeys {
    pk: HashSet<Vec<u8>>,
    unique: HashSet<Vec<u8>>,
}

/// Checks one new row against the table (NOT NULL, primary key, unique indexes, among the
/// rows committed and the statement's earlier rows in `keys`), fills its identity column, and
/// adds its writes to `batch`: the row, its vectors, its key and index entries, and a
/// change-log entry per non-NULL indexed vector column (`indexed`). Returns its rowid;
/// `counters` count it (except `rows`, which the caller adds).
///
/// # Errors
/// [`Error::NotNull`], [`Error::DuplicateKey`], a type mismatch for a key of another type.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert_row(
    store: &Store,
    batch: &mut Batch<'_>,
    t: &TableSchema,
    indexes: &[SecondaryIndex],
    indexed: &[usize],
    counters: &mut Counters,
    keys: &mut NewKeys,
    row: &mut [Value],
) -> Result<u64> {
    if let Some((c, _)) = t.identity() {
        fill_identity(t, c, counters, &mut row[c])?;
    }
    let row = &*row;
    check_not_null(t, row)?;
    if let Some(pk) = t.primary_key {
        let key = &row[pk];
        let encoded = crate::storage::keys::pk_key(t.id, key).ok_or_else(|| {
            Error::type_mismatch(t.qualified(pk), "INTEGER or TEXT key", key.type_name())
        })?;
        if !keys.pk.insert(encoded) || store.reads().pk_lookup(t.id, key)?.is_some() {
            return Err(dup(t, pk, key));
        }
    }
    for s in indexes {
        let (p, checked) = index_prefix(t, s, row)?;
        if checked
            && (!keys.unique.insert(p.clone())
                || store.reads().index_has_other(&prefix_range(&p), None)?)
        {
            return Err(unique_violation(t, s, row));
        }
    }
    let rowid = counters.next_rowid;
    counters.next_rowid += 1;
    batch.put_row(t, rowid, row)?;
    index_row(batch, t, indexes, rowid, row)?;
    if let Some(pk) = t.primary_key {
        batch.put_pk(t.id, &row[pk], rowid);
    }
    for &c in indexed {
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
    Ok(rowid)
}

/// Inserts full-width rows whose values already have their columns' types. A NULL in the
/// identity column is replaced by the next generated value (see `fill_identity`); the
/// counter is written in the same batch as the rows.
///
/// # Errors
/// [`Error::NotNull`], [`Error::DuplicateKey`]; nothing is written on error.
pub(crate) fn insert_rows(
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    rows: Vec<Vec<Value>>,
    progress: Option<&ProgressFn>,
    publish: &dyn Publish,
    cancel: &Cancel,
) -> Result<u64> {
    insert_rows_in(
        store,
        vectors,
        entry,
        rows,
        progress,
        store.batch(),
        publish,
        cancel,
    )
}

/// [`insert_rows`] into a batch that already holds other writes of the statement (the new
/// table of a `CREATE TABLE … AS`), written together with the rows.
///
/// # Errors
/// As [`insert_rows`]; nothing (not even what `batch` already held) is written on error.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_rows_in(
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    rows: Vec<Vec<Value>>,
    progress: Option<&ProgressFn>,
    mut batch: Batch<'_>,
    publish: &dyn Publish,
    cancel: &Cancel,
) -> Result<u64> {
    let t = &entry.schema;
    let indexed = vectors.indexed_columns(t.id);
    let mut counters = entry.counters;
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
    let mut keys = NewKeys::default();
    let mut rows = rows;
    for (n, row) in rows.iter_mut().enumerate() {
        cancel.tick()?;
        insert_row(
            store,
            &mut batch,
            t,
            &entry.indexes,
            &indexed,
            &mut counters,
            &mut keys,
            row,
        )?;
        if total >= 10_000 && n % 5_000 == 0 && n > 0 {
            report(n as u64);
        }
    }
    counters.rows += total;
    batch.put_counters(t.id, &counters)?;
    // The last chance to stop: after this the statement is committed.
    cancel.check()?;
    let first = entry.counters.next_rowid;
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
    publish_batch(publish, store, vectors, entry, batch, counters, changes)?;
    if total >= 10_000 {
        report(total);
    }
    Ok(total)
}

/// Publishes a statement's one `WriteBatch` ([`Publish::publish`]): commits it (its WAL sync
/// follows the exclusive section), makes `counters` the table's, and hands `changes` to the
/// cached vector indexes (their tails). A statement that logged no vector change leaves the
/// indexes' sequence as it was, as the table's is.
///
/// # Errors
/// [`Error::Storage`] from the commit or the WAL sync.
fn publish_batch(
    publish: &dyn Publish,
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    batch: Batch<'_>,
    counters: Counters,
    changes: Vec<VectorChange<'_>>,
) -> Result<()> {
    publish.publish(
        entry,
        Box::new(move |entry| {
            store.write_with(batch, Durability::Deferred)?;
            entry.counters = counters;
            entry.generation += 1;
            if !changes.is_empty() {
                vectors.apply(&entry.schema, counters.seq, &changes);
            }
            Ok(())
        }),
    )
}

/// An updated row: (rowid, old values, new values).
pub(super) type Changed = (u64, Vec<Value>, Vec<Value>);

/// `UPDATE t SET col = expr, … [WHERE filter]`. Up to `chunk_rows` changed rows are written in
/// one `WriteBatch`; more are staged chunk by chunk and applied after a commit record
/// ([`crate::exec::bulk`]), so memory stays bounded and the statement all-or-nothing.
///
/// # Errors
/// Type and vector errors naming `table.column`, [`Error::NotNull`], [`Error::DuplicateKey`];
/// nothing is written on error.
#[allow(clippy::too_many_arguments)]
pub(crate) fn update(
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    assignments: &[(usize, Expr)],
    filter: Option<&Expr>,
    source: &RowSource,
    chunk_rows: usize,
    publish: &dyn Publish,
    cancel: &Cancel,
) -> Result<u64> {
    let t = &entry.schema;
    let mut changed: Vec<Changed> = Vec::new();
    let mut staged: Option<StagedUpdate<'_>> = None;
    let scanned = super::for_each_match(
        store.reads(),
        t,
        filter,
        None,
        source,
        None,
        cancel,
        |rowid, row| {
            let mut new_row = row.clone();
            for (c, e) in assignments {
                let v = eval(e, Ctx::row(&row))?;
                new_row[*c] = coerce(v, t.columns[*c].data_type, &t.qualified(*c))?;
            }
            check_not_null(t, &new_row)?;
            changed.push((rowid, row, new_row));
            if changed.len() >= chunk_rows.max(1) {
                let st = staged.get_or_insert_with(|| {
                    StagedUpdate::new(store, vectors, t, &entry.indexes, entry.counters)
                });
                st.stage(std::mem::take(&mut changed), cancel)?;
            }
            Ok(true)
        },
    );
    match staged {
        None => {
            scanned?;
            update_in_one_batch(store, vectors, entry, changed, publish, cancel)
        }
        Some(st) => st.finish(scanned, changed, entry, publish, cancel),
    }
}

/// The rest of an [`update`] whose changed rows all fit one `WriteBatch`.
fn update_in_one_batch(
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    changed: Vec<Changed>,
    publish: &dyn Publish,
    cancel: &Cancel,
) -> Result<u64> {
    let t = &entry.schema;
    let indexed = vectors.indexed_columns(t.id);
    let mut counters = entry.counters;
    let mut batch = store.batch();
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
                if let Some(owner) = store.reads().pk_lookup(t.id, key)? {
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
    // Secondary indexes: entries whose values changed move; UNIQUE values must stay unique
    // (a value freed by another updated row of this statement may be taken).
    for s in &entry.indexes {
        let mut moves: Vec<IndexMove> = Vec::new();
        for (i, (rowid, old, new)) in changed.iter().enumerate() {
            let (op, _) = index_prefix(t, s, old)?;
            let (np, checked) = index_prefix(t, s, new)?;
            if op != np {
                moves.push((*rowid, op, np, checked, i));
            }
        }
        let freed: HashMap<&[u8], Vec<u64>> = moves.iter().fold(HashMap::new(), |mut m, mv| {
            m.entry(mv.1.as_slice()).or_default().push(mv.0);
            m
        });
        let mut taken: HashSet<&[u8]> = HashSet::new();
        for (_, _, np, checked, i) in &moves {
            if !*checked {
                continue;
            }
            if !taken.insert(np.as_slice()) {
                return Err(unique_violation(t, s, &changed[*i].2));
            }
            let leaving = freed.get(np.as_slice());
            let mut conflict = false;
            store.reads().scan_index(
                std::slice::from_ref(&prefix_range(np)),
                false,
                |owner, _| {
                    if !leaving.is_some_and(|l| l.contains(&owner)) {
                        conflict = true;
                        return Ok(false);
                    }
                    Ok(true)
                },
            )?;
            if conflict {
                return Err(unique_violation(t, s, &changed[*i].2));
            }
        }
        for (rowid, op, np, _, _) in &moves {
            batch.delete_sindex(&entry_key(op, *rowid));
            batch.put_sindex(&entry_key(np, *rowid));
        }
    }
    let mut vchanges: Vec<(usize, u64, Option<usize>)> = Vec::new();
    for (i, (rowid, old, new)) in changed.iter().enumerate() {
        cancel.tick()?;
        batch.put_scalar_row(t, *rowid, new)?;
        for (c, col) in t.columns.iter().enumerate() {
            if matches!(col.data_type, DataType::Vector(_)) && old[c] != new[c] {
                batch.put_vector(t.id, c, *rowid, Some(&new[c]));
            }
        }
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
    cancel.check()?;
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
    publish_batch(publish, store, vectors, entry, batch, counters, changes)?;
    Ok(changed.len() as u64)
}

/// `DELETE FROM t [WHERE filter]`. Up to `chunk_rows` rows are deleted in one `WriteBatch`;
/// more are staged chunk by chunk, as [`update`] does.
///
/// # Errors
/// [`Error::Interrupted`], storage errors; nothing is written on error.
#[allow(clippy::too_many_arguments)]
pub(crate) fn delete(
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    filter: Option<&Expr>,
    source: &RowSource,
    chunk_rows: usize,
    publish: &dyn Publish,
    cancel: &Cancel,
) -> Result<u64> {
    let t = &entry.schema;
    let mut staged: Option<StagedDelete<'_>> = None;
    let mut pending: Vec<(u64, Vec<Value>)> = Vec::new();
    // Vectors are not read: deleting a row deletes its vector keys whatever they hold.
    let scalar: Vec<bool> = t
        .columns
        .iter()
        .map(|c| !matches!(c.data_type, DataType::Vector(_)))
        .collect();
    let scanned = super::for_each_match(
        store.reads(),
        t,
        filter,
        Some(&scalar),
        source,
        None,
        cancel,
        |rowid, row| {
            pending.push((rowid, row));
            if pending.len() >= chunk_rows.max(1) {
                let st = staged.get_or_insert_with(|| {
                    StagedDelete::new(store, vectors, t, &entry.indexes, entry.counters)
                });
                st.stage(std::mem::take(&mut pending), cancel)?;
            }
            Ok(true)
        },
    );
    if let Some(st) = staged {
        return st.finish(scanned, pending, entry, publish, cancel);
    }
    scanned?;
    let indexed = vectors.indexed_columns(t.id);
    let mut counters = entry.counters;
    let mut batch = store.batch();
    let mut deleted: Vec<(u64, Vec<usize>)> = Vec::new();
    for (rowid, row) in pending {
        batch.delete_row(t, rowid);
        if let Some(pk) = t.primary_key {
            batch.delete_pk(t.id, &row[pk]);
        }
        for s in &entry.indexes {
            let (p, _) = index_prefix(t, s, &row)?;
            batch.delete_sindex(&entry_key(&p, rowid));
        }
        // Whether the row had a vector is not known without reading it: a delete is logged
        // for every indexed vector column (removing an absent key is a no-op).
        deleted.push((rowid, indexed.clone()));
    }
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
    cancel.check()?;
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
    publish_batch(publish, store, vectors, entry, batch, counters, changes)?;
    Ok(deleted.len() as u64)
}

/// Builds a new secondary index over the table's existing rows and records it: the catalog
/// record and every entry go into one `WriteBatch`, so a crash leaves either no index or a
/// complete one. Reads only the indexed columns. Reports progress (`building index <name>`)
/// on tables of 10,000 rows or more.
///
/// # Errors
/// [`Error::DuplicateKey`] naming the index and a duplicated value when a `UNIQUE` index
/// meets two rows with the same non-NULL values; nothing is written.
pub(crate) fn create_index(
    store: &Store,
    entry: &mut TableEntry,
    index: SecondaryIndex,
    progress: Option<&ProgressFn>,
    cancel: &Cancel,
) -> Result<()> {
    let t = &entry.schema;
    let mut mask = vec![false; t.columns.len()];
    for &c in &index.columns {
        mask[c] = true;
    }
    let total = entry.counters.rows;
    let task = format!("building index {}", index.name);
    let report = |done: u64| {
        if let Some(cb) = progress {
            if total >= 10_000 {
                cb(&Progress {
                    task: &task,
                    done,
                    total,
                });
            }
        }
    };
    report(0);
    // (value prefix, rowid, the row's indexed values) in rowid order.
    let mut entries: Vec<(Vec<u8>, u64, bool)> = Vec::with_capacity(total as usize);
    let mut values: HashMap<u64, Vec<Value>> = HashMap::new();
    let mut n = 0u64;
    super::for_each_match(
        store.reads(),
        t,
        None,
        Some(&mask),
        &RowSource::FullScan,
        None,
        cancel,
        |rowid, row| {
            let (p, checked) = index_prefix(t, &index, &row)?;
            if checked {
                values.insert(
                    rowid,
                    index.columns.iter().map(|&c| row[c].clone()).collect(),
                );
            }
            entries.push((p, rowid, checked));
            n += 1;
            if n.is_multiple_of(10_000) && n < total {
                report(n);
            }
            Ok(true)
        },
    )?;
    if index.unique {
        let mut sorted: Vec<&(Vec<u8>, u64, bool)> = entries.iter().filter(|e| e.2).collect();
        sorted.sort();
        for pair in sorted.windows(2) {
            if pair[0].0 == pair[1].0 {
                let mut row = vec![Value::Null; t.columns.len()];
                for (&c, v) in index.columns.iter().zip(&values[&pair[1].1]) {
                    row[c] = v.clone();
                }
                return Err(unique_violation(t, &index, &row));
            }
        }
    }
    cancel.check()?;
    let mut batch = store.batch();
    batch.put_sindex_meta(&index)?;
    for (p, rowid, _) in &entries {
        batch.put_sindex(&entry_key(p, *rowid));
    }
    cancel.check()?;
    store.write(batch)?;
    report(total.max(n));
    entry.indexes.push(index);
    Ok(())
}
