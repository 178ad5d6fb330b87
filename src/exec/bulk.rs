//! Big statements in bounded memory: `COPY`, `UPDATE` and `DELETE` over more rows than
//! `write_batch_rows` (see [`crate::Options::write_batch_rows`]).
//!
//! Below that size a statement is written in one `WriteBatch` ([`crate::exec::write`]).
//! Above it, its rows are checked and encoded chunk by chunk, each chunk's writes staged in
//! the store ([`crate::storage::staging`]: a redo log nobody reads); when every chunk is staged
//! and every check passed, one commit record is written and the staged writes are applied to
//! their final keys chunk by chunk, the cached vector indexes following each chunk through
//! [`VectorIndexes::apply`]. An error or an interrupt before the commit record deletes what
//! was staged: the table is unchanged.
//!
//! What stays in memory across chunks is compact: for `COPY`, the encoded primary and unique
//! keys of the new rows (to refuse duplicates within the file); for `UPDATE`, the same for
//! rows whose keys change, plus the rowids whose keys move.

use super::publish::Publish;
use std::collections::HashSet;

use super::cancel::Cancel;
use super::copy::RowReader;
use super::write::{
    dup, entry_key, index_prefix, insert_row, prefix_range, unique_violation, Changed, NewKeys,
    TableEntry,
};
use crate::catalog::{SecondaryIndex, TableSchema};
use crate::error::{Error, Result};
use crate::storage::staging::{ChunkChanges, Phase, Staging};
use crate::storage::{keys, Change, ChangeOp, Counters, Store};
use crate::value::{DataType, Value};
use crate::vector::{Progress, ProgressFn, VectorChange, VectorIndexes};

/// `COPY … FROM` a file: reads `reader` in chunks of `chunk_rows` rows. A file of at most
/// `chunk_rows` rows is inserted in one `WriteBatch`; a bigger one is staged chunk by chunk
/// and committed at the end (see the [module documentation](self)). Returns the rows copied.
///
/// Reports progress (`importing into <table>`) after every staged chunk, with the total
/// [`RowReader::total_hint`] gives.
///
/// # Errors
/// The reader's ([`Error::Import`] naming the line or row, …), [`Error::NotNull`],
/// [`Error::DuplicateKey`] (against the table or an earlier row of the file),
/// [`Error::Interrupted`] (checked per row and per chunk); nothing is written on error.
#[allow(clippy::too_many_arguments)]
pub(crate) fn copy(
    store: &Store,
    vectors: &VectorIndexes,
    entry: &mut TableEntry,
    mut reader: RowReader<'_>,
    chunk_rows: usize,
    progress: Option<&ProgressFn>,
    publish: &dyn Publish,
    cancel: &Cancel,
) -> Result<u64> {
    let chunk_rows = chunk_rows.max(1);
    let first = reader.next_chunk(chunk_rows, cancel)?;
    let second = if first.len() < chunk_rows {
        Vec::new()
    } else {
        reader.next_chunk(chunk_rows, cancel)?
    };
    if second.is_empty() {
        return super::write::insert_rows(store, vectors, entry, first, progress, publish, cancel);
    }
    let t = entry.schema.clone();
    let task = format!("importing into {}", t.name);
    let report = |done: u64, total: u64| {
        if let Some(cb) = progress {
            cb(&Progress {
                task: &task,
                done,
                total,
            });
        }
    };
    report(0, reader.total_hint());
    let indexed = vectors.indexed_columns(t.id);
    let mut staging = store.begin_staging();
    let mut counters = entry.counters;
    let staged = (|| -> Result<u64> {
        let mut keys = NewKeys::default();
        let mut done = 0u64;
        let mut chunk = first;
        let mut next = Some(second);
        while !chunk.is_empty() {
            cancel.check()?;
            let mut batch = store.batch();
            let mut changes = ChunkChanges {
                table_id: t.id,
                ..ChunkChanges::default()
            };
            for row in &mut chunk {
                cancel.tick()?;
                let rowid = insert_row(
                    store,
                    &mut batch,
                    &t,
                    &entry.indexes,
                    &indexed,
                    &mut counters,
                    &mut keys,
                    row,
                )?;
                for &c in &indexed {
                    if !row[c].is_null() {
                        changes.changes.push((c, rowid, true));
                    }
                }
            }
            changes.seq = counters.seq;
            staging.stage(batch, Phase::Early, &changes)?;
            done += chunk.len() as u64;
            // Not `done == total` before the end: that is the last report of a task.
            report(done, reader.total_hint().max(done + 1));
            chunk = match next.take() {
                Some(c) => c,
                None => reader.next_chunk(chunk_rows, cancel)?,
            };
        }
        Ok(done)
    })();
    let n = match staged {
        Ok(n) => n,
        Err(e) => return Err(abandon(staging, e)),
    };
    counters.rows += n;
    commit_and_apply(store, vectors, staging, entry, counters, publish, cancel)?;
    report(n, n);
    Ok(n)
}

/// Deletes what a statement staged and returns its error `e` (a failure to delete is logged:
/// the next open deletes the staged chunks).
fn abandon(staging: Staging<'_>, e: Error) -> Error {
    if let Err(d) = staging.discard() {
        log::warn!("deleting the staged writes of a failed statement failed: {d}");
    }
    e
}

/// Writes the commit record (holding the table's new `counters`), applies the staged chunks
/// and updates `entry`.
fn commit_and_apply(
    store: &Store,
    vectors: &VectorIndexes,
    staging: Staging<'_>,
    entry: &mut TableEntry,
    counters: Counters,
    publish: &dyn Publish,
    cancel: &Cancel,
) -> Result<()> {
    let mut last = store.batch();
    let written = last
        .put_counters(entry.schema.id, &counters)
        // The last chance to stop: after the commit record the statement is committed.
        .and_then(|()| cancel.check());
    if let Err(e) = written {
        return Err(abandon(staging, e));
    }
    if let Err(e) = staging.commit(last) {
        return Err(abandon(staging, e));
    }
    // Readers see the staged rows appear all at once: the apply runs in the exclusive section.
    publish.publish(
        entry,
        Box::new(|entry| {
            let t = &entry.schema;
            let applied = staging.apply(|chunk| {
                if !chunk.changes.is_empty() {
                    apply_vectors(store, vectors, t, chunk)?;
                }
                Ok(())
            });
            // Committed either way: when applying failed, the next open finishes it.
            entry.counters = counters;
            entry.generation += 1;
            applied
        }),
    )
}

/// Hands the vector changes of one applied chunk to the cached vector indexes (the vectors
/// read back from the store, where the chunk just wrote them).
fn apply_vectors(
    store: &Store,
    vectors: &VectorIndexes,
    t: &TableSchema,
    chunk: &ChunkChanges,
) -> Result<()> {
    let mut columns: Vec<usize> = chunk.changes.iter().map(|c| c.0).collect();
    columns.sort_unstable();
    columns.dedup();
    let mut read: Vec<(usize, u64, Option<Vec<f32>>)> = Vec::with_capacity(chunk.changes.len());
    for c in columns {
        let mine: Vec<&(usize, u64, bool)> = chunk.changes.iter().filter(|x| x.0 == c).collect();
        let upserts: Vec<u64> = mine.iter().filter(|x| x.2).map(|x| x.1).collect();
        let mut got = store.reads().get_vectors(t.id, c, &upserts)?.into_iter();
        for &&(_, rowid, has) in &mine {
            let v = if has { got.next().flatten() } else { None };
            read.push((c, rowid, v));
        }
    }
    let changes: Vec<VectorChange<'_>> = read
        .iter()
        .map(|(c, rowid, v)| VectorChange {
            column: *c,
            rowid: *rowid,
            vector: v.as_deref(),
        })
        .collect();
    vectors.apply(t, chunk.seq, &changes);
    Ok(())
}

/// The table's vector columns.
fn vector_columns(t: &TableSchema) -> impl Iterator<Item = usize> + '_ {
    t.columns
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.data_type, DataType::Vector(_)))
        .map(|(i, _)| i)
}

/// A staged `UPDATE` (see [`crate::exec::write::update`]).
pub(super) struct StagedUpdate<'s> {
    store: &'s Store,
    vectors: &'s VectorIndexes,
    staging: Staging<'s>,
    t: TableSchema,
    indexes: Vec<SecondaryIndex>,
    indexed: Vec<usize>,
    counters: Counters,
    count: u64,
    /// Rows whose primary key changes.
    pk_moved: HashSet<u64>,
    /// The new primary keys taken by the statement (encoded).
    pk_taken: HashSet<Vec<u8>>,
    /// (rowid holding a new key now, the new key): a duplicate unless that row's key moves.
    pk_owners: Vec<(u64, Value)>,
    /// Per secondary index: rows whose entry moves.
    index_moved: Vec<HashSet<u64>>,
    /// Per UNIQUE index: the new values taken by the statement (encoded).
    index_taken: Vec<HashSet<Vec<u8>>>,
    /// Per secondary index: (rowid holding new unique values now, the new row).
    index_owners: Vec<Vec<(u64, Vec<Value>)>>,
}

impl<'s> StagedUpdate<'s> {
    pub(super) fn new(
        store: &'s Store,
        vectors: &'s VectorIndexes,
        t: &TableSchema,
        indexes: &[SecondaryIndex],
        counters: Counters,
    ) -> Self {
        StagedUpdate {
            store,
            vectors,
            staging: store.begin_staging(),
            t: t.clone(),
            indexes: indexes.to_vec(),
            indexed: vectors.indexed_columns(t.id),
            counters,
            count: 0,
            pk_moved: HashSet::new(),
            pk_taken: HashSet::new(),
            pk_owners: Vec::new(),
            index_moved: vec![HashSet::new(); indexes.len()],
            index_taken: vec![HashSet::new(); indexes.len()],
            index_owners: vec![Vec::new(); indexes.len()],
        }
    }

    /// Checks and stages one chunk of updated rows: their new images, vectors and change-log
    /// entries, and the deletions of moving key and index entries, early; the insertions of
    /// their new entries late (see [`Phase`]).
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] for a key or unique value two rows of the statement take,
    /// [`Error::Interrupted`], storage errors.
    pub(super) fn stage(&mut self, changed: Vec<Changed>, cancel: &Cancel) -> Result<()> {
        cancel.check()?;
        let (store, t) = (self.store, &self.t);
        let mut early = store.batch();
        let mut late = store.batch();
        let mut late_writes = false;
        if let Some(pk) = t.primary_key {
            for (rowid, old, new) in changed.iter().filter(|(_, o, n)| o[pk] != n[pk]) {
                let key = &new[pk];
                let enc = keys::pk_key(t.id, key).ok_or_else(|| {
                    Error::type_mismatch(t.qualified(pk), "INTEGER or TEXT key", key.type_name())
                })?;
                if !self.pk_taken.insert(enc) {
                    return Err(dup(t, pk, key));
                }
                self.pk_moved.insert(*rowid);
                if let Some(owner) = store.reads().pk_lookup(t.id, key)? {
                    self.pk_owners.push((owner, key.clone()));
                }
                early.delete_pk(t.id, &old[pk]);
                late.put_pk(t.id, key, *rowid);
                late_writes = true;
            }
        }
        for (i, s) in self.indexes.iter().enumerate() {
            for (rowid, old, new) in &changed {
                let (op, _) = index_prefix(t, s, old)?;
                let (np, checked) = index_prefix(t, s, new)?;
                if op == np {
                    continue;
                }
                self.index_moved[i].insert(*rowid);
                early.delete_sindex(&entry_key(&op, *rowid));
                late.put_sindex(&entry_key(&np, *rowid));
                late_writes = true;
                if !checked {
                    continue;
                }
                if !self.index_taken[i].insert(np.clone()) {
                    return Err(unique_violation(t, s, new));
                }
                let owners = &mut self.index_owners[i];
                store.reads().scan_index(
                    std::slice::from_ref(&prefix_range(&np)),
                    false,
                    |owner, _| {
                        owners.push((owner, new.clone()));
                        Ok(true)
                    },
                )?;
            }
        }
        let mut changes = ChunkChanges {
            table_id: t.id,
            ..ChunkChanges::default()
        };
        for (rowid, old, new) in &changed {
            cancel.tick()?;
            early.put_scalar_row(t, *rowid, new)?;
            for c in vector_columns(t) {
                if old[c] != new[c] {
                    early.put_vector(t.id, c, *rowid, Some(&new[c]));
                }
            }
            for &c in &self.indexed {
                if old[c] != new[c] {
                    self.counters.seq += 1;
                    early.log_change(
                        t.id,
                        c,
                        Change {
                            seq: self.counters.seq,
                            rowid: *rowid,
                            op: ChangeOp::Upsert,
                        },
                    );
                    changes.changes.push((c, *rowid, !new[c].is_null()));
                }
            }
        }
        changes.seq = self.counters.seq;
        self.staging.stage(early, Phase::Early, &changes)?;
        if late_writes {
            let none = ChunkChanges {
                table_id: t.id,
                seq: self.counters.seq,
                changes: Vec::new(),
            };
            self.staging.stage(late, Phase::Late, &none)?;
        }
        self.count += changed.len() as u64;
        Ok(())
    }

    /// Ends the statement after its scan (`scanned`): stages the `rest` of the changed rows,
    /// checks the keys the statement takes against rows that keep theirs, then commits and
    /// applies; or, on any error, deletes what was staged. Returns the rows updated.
    ///
    /// # Errors
    /// The scan's or staging's error, [`Error::DuplicateKey`], storage errors; nothing is
    /// written on error.
    pub(super) fn finish(
        mut self,
        scanned: Result<()>,
        rest: Vec<Changed>,
        entry: &mut TableEntry,
        publish: &dyn Publish,
        cancel: &Cancel,
    ) -> Result<u64> {
        let checked = scanned.and_then(|()| {
            if !rest.is_empty() {
                self.stage(rest, cancel)?;
            }
            self.check_owners()
        });
        if let Err(e) = checked {
            return Err(abandon(self.staging, e));
        }
        commit_and_apply(
            self.store,
            self.vectors,
            self.staging,
            entry,
            self.counters,
            publish,
            cancel,
        )?;
        Ok(self.count)
    }

    /// A new key or unique value held by a row that keeps it is a duplicate.
    fn check_owners(&self) -> Result<()> {
        let t = &self.t;
        if let Some(pk) = t.primary_key {
            if let Some((_, key)) = self
                .pk_owners
                .iter()
                .find(|(owner, _)| !self.pk_moved.contains(owner))
            {
                return Err(dup(t, pk, key));
            }
        }
        for (i, s) in self.indexes.iter().enumerate() {
            if let Some((_, row)) = self.index_owners[i]
                .iter()
                .find(|(owner, _)| !self.index_moved[i].contains(owner))
            {
                return Err(unique_violation(t, s, row));
            }
        }
        Ok(())
    }
}

/// A staged `DELETE` (see [`crate::exec::write::delete`]).
pub(super) struct StagedDelete<'s> {
    store: &'s Store,
    vectors: &'s VectorIndexes,
    staging: Staging<'s>,
    t: TableSchema,
    indexes: Vec<SecondaryIndex>,
    indexed: Vec<usize>,
    counters: Counters,
    count: u64,
}

impl<'s> StagedDelete<'s> {
    pub(super) fn new(
        store: &'s Store,
        vectors: &'s VectorIndexes,
        t: &TableSchema,
        indexes: &[SecondaryIndex],
        counters: Counters,
    ) -> Self {
        StagedDelete {
            store,
            vectors,
            staging: store.begin_staging(),
            t: t.clone(),
            indexes: indexes.to_vec(),
            indexed: vectors.indexed_columns(t.id),
            counters,
            count: 0,
        }
    }

    /// Stages the deletion of one chunk of rows (`(rowid, row)` with at least the key and
    /// indexed columns decoded): the rows, vectors, key and index entries, and a change-log
    /// entry per indexed vector column.
    ///
    /// # Errors
    /// [`Error::Interrupted`], storage errors.
    pub(super) fn stage(&mut self, rows: Vec<(u64, Vec<Value>)>, cancel: &Cancel) -> Result<()> {
        cancel.check()?;
        let t = &self.t;
        let mut batch = self.store.batch();
        let mut changes = ChunkChanges {
            table_id: t.id,
            ..ChunkChanges::default()
        };
        for (rowid, row) in &rows {
            cancel.tick()?;
            batch.delete_row(t, *rowid);
            if let Some(pk) = t.primary_key {
                batch.delete_pk(t.id, &row[pk]);
            }
            for s in &self.indexes {
                let (p, _) = index_prefix(t, s, row)?;
                batch.delete_sindex(&entry_key(&p, *rowid));
            }
            for &c in &self.indexed {
                self.counters.seq += 1;
                batch.log_change(
                    t.id,
                    c,
                    Change {
                        seq: self.counters.seq,
                        rowid: *rowid,
                        op: ChangeOp::Delete,
                    },
                );
                changes.changes.push((c, *rowid, false));
            }
        }
        changes.seq = self.counters.seq;
        self.staging.stage(batch, Phase::Early, &changes)?;
        self.count += rows.len() as u64;
        Ok(())
    }

    /// Ends the statement after its scan, as [`StagedUpdate::finish`] does. Returns the rows
    /// deleted.
    ///
    /// # Errors
    /// The scan's or staging's error, storage errors; nothing is written on error.
    pub(super) fn finish(
        mut self,
        scanned: Result<()>,
        rest: Vec<(u64, Vec<Value>)>,
        entry: &mut TableEntry,
        publish: &dyn Publish,
        cancel: &Cancel,
    ) -> Result<u64> {
        let staged = scanned.and_then(|()| {
            if rest.is_empty() {
                Ok(())
            } else {
                self.stage(rest, cancel)
            }
        });
        if let Err(e) = staged {
            return Err(abandon(self.staging, e));
        }
        self.counters.rows = self.counters.rows.saturating_sub(self.count);
        commit_and_apply(
            self.store,
            self.vectors,
            self.staging,
            entry,
            self.counters,
            publish,
            cancel,
        )?;
        Ok(self.count)
    }
}
