//! Staging of big statements: a redo log of their writes, so that a statement over more rows
//! than fit one bounded `WriteBatch` stays all-or-nothing.
//!
//! A staged statement (a `COPY`, `UPDATE` or `DELETE` over more than `write_batch_rows` rows)
//! goes through three steps:
//!
//! 1. **Stage.** Each chunk of rows is checked and encoded into the writes it makes (rows,
//!    vectors, primary-key and secondary-index entries, change-log entries) in a [`Batch`];
//!    that batch's RocksDB representation is stored as one *staged chunk* under
//!    `'s' ‖ statement id ‖ chunk seq` in the `catalog` column family (one `WriteBatch` per
//!    chunk, no fsync). Readers never look there, so nothing is visible yet.
//! 2. **Commit.** When every chunk is staged and checked, one small *commit record*
//!    (`'s' ‖ statement id ‖ u64::MAX`, holding the statement's last writes: the table
//!    counters) is written through [`Store::write`]. This is the statement's commit point.
//! 3. **Apply.** The staged chunks are written to their final keys in key order (one
//!    `WriteBatch` each), then the commit record's writes together with the deletion of the
//!    statement's whole staging range, in one last batch.
//!
//! Chunks staged as [`Phase::Late`] apply after every [`Phase::Early`] chunk: an `UPDATE` that
//! moves primary or unique keys stages the deletions of old keys early and the insertions of
//! new keys late, so a key freed by a row of a later chunk and taken by a row of an earlier
//! chunk ends up taken, as in one batch.
//!
//! Applying is idempotent (every write is a put or a delete of a fixed key), so
//! [`Store::recover_staging`], run at open, replays the apply of a statement whose commit
//! record exists and deletes the staging range of one whose commit record does not: a crash
//! before the commit record leaves nothing, a crash after it loses nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{Direction, IteratorMode, WriteBatch};
use serde::{Deserialize, Serialize};

use super::{keys, Batch, Store, CF_CATALOG};
use crate::error::{Error, Result};

/// First byte of every staging key.
pub(super) const STAGING_TAG: u8 = b's';
/// The chunk seq of a statement's commit record (after all its chunks).
const COMMIT_SEQ: u64 = u64::MAX;
/// Chunk seqs of [`Phase::Late`] chunks start here.
const LATE_SEQ: u64 = 1 << 62;
/// Version byte of a staged chunk and of a commit record.
const STAGED_FORMAT: u8 = 1;

/// Statement ids of this process (unique per process; the staging range is empty after open,
/// and one write statement runs at a time per database).
static NEXT_STATEMENT: AtomicU64 = AtomicU64::new(1);

/// `'s' ‖ statement id ‖ chunk seq` (17 bytes).
fn staging_key(statement: u64, seq: u64) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = STAGING_TAG;
    k[1..9].copy_from_slice(&statement.to_be_bytes());
    k[9..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Whether a `catalog` key is a staging key (a staged chunk or a commit record).
pub(crate) fn is_staging_key(key: &[u8]) -> bool {
    key.len() == 17 && key[0] == STAGING_TAG
}

/// When a staged chunk applies: every early chunk (in staging order) before every late one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Early,
    Late,
}

/// The vector changes of one staged chunk, so that the cached vector indexes can be updated
/// after the chunk is applied: `(column, rowid, the row now has a vector)`, and the table's
/// change sequence after the chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChunkChanges {
    pub table_id: u64,
    pub seq: u64,
    pub changes: Vec<(usize, u64, bool)>,
}

/// What [`Store::recover_staging`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Statements whose commit record was found: their writes were applied.
    pub applied: usize,
    /// Statements without one: their staged chunks were deleted.
    pub discarded: usize,
}

/// One statement's staging range, from [`Store::begin_staging`].
pub(crate) struct Staging<'s> {
    store: &'s Store,
    statement: u64,
    early: u64,
    late: u64,
}

impl Store {
    /// Starts staging a statement (see the [module documentation](self)); nothing is written
    /// until the first [`Staging::stage`].
    pub fn begin_staging(&self) -> Staging<'_> {
        Staging {
            store: self,
            statement: NEXT_STATEMENT.fetch_add(1, Ordering::Relaxed),
            early: 0,
            late: LATE_SEQ,
        }
    }

    /// At open: applies the staged writes of every statement that has a commit record and
    /// deletes the staging range of every one that has none (see the
    /// [module documentation](self)). Afterwards the staging range is empty.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a malformed staged chunk, or RocksDB's.
    pub fn recover_staging(&self) -> Result<Recovered> {
        let mut found = Recovered::default();
        while let Some(statement) = self.first_staged_statement()? {
            let committed = self
                .db
                .get_cf(self.cf(CF_CATALOG), staging_key(statement, COMMIT_SEQ))?
                .is_some();
            if committed {
                apply(self, statement, |_| Ok(()))?;
                found.applied += 1;
            } else {
                discard(self, statement)?;
                found.discarded += 1;
            }
        }
        Ok(found)
    }

    /// The number of staging keys (staged chunks and commit records) in the store: 0 except
    /// while a big statement runs or after a crash before the next open.
    #[cfg(test)]
    pub fn staging_len(&self) -> Result<usize> {
        let mut n = 0;
        let it = self.db.iterator_cf(
            self.cf(CF_CATALOG),
            IteratorMode::From(&[STAGING_TAG], Direction::Forward),
        );
        for item in it {
            let (k, _) = item?;
            if k.first() != Some(&STAGING_TAG) {
                break;
            }
            n += usize::from(is_staging_key(&k));
        }
        Ok(n)
    }

    /// The id of the first statement with staging keys.
    fn first_staged_statement(&self) -> Result<Option<u64>> {
        let mut it = self.db.iterator_cf(
            self.cf(CF_CATALOG),
            IteratorMode::From(&[STAGING_TAG], Direction::Forward),
        );
        match it.next() {
            Some(Ok((k, _))) if is_staging_key(&k) => Ok(Some(u64::from_be_bytes(
                k[1..9].try_into().expect("a 17-byte staging key"),
            ))),
            Some(Err(e)) => Err(e.into()),
            _ => Ok(None),
        }
    }
}

impl Staging<'_> {
    /// Stores `batch` (the final writes of one chunk of rows) as a staged chunk of `phase`,
    /// with `changes` for the cached vector indexes; one `WriteBatch`, not synced. Nothing
    /// becomes visible.
    ///
    /// # Errors
    /// RocksDB's ([`Error::Storage`]).
    pub fn stage(&mut self, batch: Batch<'_>, phase: Phase, changes: &ChunkChanges) -> Result<()> {
        let seq = match phase {
            Phase::Early => {
                self.early += 1;
                self.early - 1
            }
            Phase::Late => {
                self.late += 1;
                self.late - 1
            }
        };
        let header = keys::encode(changes)?;
        let data = batch.wb.data();
        let mut value = Vec::with_capacity(5 + header.len() + data.len());
        value.push(STAGED_FORMAT);
        value.extend_from_slice(
            &u32::try_from(header.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        value.extend_from_slice(&header);
        value.extend_from_slice(data);
        let mut wb = WriteBatch::default();
        wb.put_cf(
            self.store.cf(CF_CATALOG),
            staging_key(self.statement, seq),
            value,
        );
        self.store.db.write(wb)?;
        Ok(())
    }

    /// Writes the commit record, holding `last` (the statement's last writes, such as its
    /// table counters), through [`Store::write`]: from here on the statement is committed,
    /// and a reopen after a crash applies it.
    ///
    /// # Errors
    /// RocksDB's ([`Error::Storage`]); then nothing is committed.
    pub fn commit(&self, last: Batch<'_>) -> Result<()> {
        let mut value = vec![STAGED_FORMAT];
        value.extend_from_slice(last.wb.data());
        let mut batch = self.store.batch();
        batch.wb.put_cf(
            self.store.cf(CF_CATALOG),
            staging_key(self.statement, COMMIT_SEQ),
            value,
        );
        self.store.write(batch)
    }

    /// After [`Staging::commit`]: writes the staged chunks to their final keys, calling
    /// `on_chunk` after each with its vector changes, then the commit record's writes and the
    /// deletion of the staging range.
    ///
    /// # Errors
    /// `on_chunk`'s, RocksDB's, or [`Error::Corrupt`] for a malformed chunk; the statement
    /// stays committed and the next open finishes applying it.
    pub fn apply(self, on_chunk: impl FnMut(&ChunkChanges) -> Result<()>) -> Result<()> {
        apply(self.store, self.statement, on_chunk)
    }

    /// Before [`Staging::commit`]: deletes what was staged (the statement is abandoned).
    ///
    /// # Errors
    /// RocksDB's; the next open deletes the staged chunks then.
    pub fn discard(self) -> Result<()> {
        discard(self.store, self.statement)
    }
}

fn discard(store: &Store, statement: u64) -> Result<()> {
    let mut wb = WriteBatch::default();
    wb.delete_range_cf(
        store.cf(CF_CATALOG),
        staging_key(statement, 0),
        staging_key(statement + 1, 0),
    );
    store.db.write(wb)?;
    Ok(())
}

fn malformed(what: &str) -> Error {
    Error::Corrupt(format!("staged statement: malformed {what}"))
}

fn apply(
    store: &Store,
    statement: u64,
    mut on_chunk: impl FnMut(&ChunkChanges) -> Result<()>,
) -> Result<()> {
    let cf = store.cf(CF_CATALOG);
    let first = staging_key(statement, 0);
    let commit = staging_key(statement, COMMIT_SEQ);
    // Staged chunks are read once: they stay out of the block cache.
    let mut read = rocksdb::ReadOptions::default();
    read.fill_cache(false);
    read.set_readahead_size(4 << 20);
    let mut it = store.db.raw_iterator_cf_opt(cf, read);
    it.seek(first);
    while it.valid() {
        let (Some(k), Some(v)) = (it.key(), it.value()) else {
            break;
        };
        if k >= &commit[..] {
            break;
        }
        let (&version, rest) = v.split_first().ok_or_else(|| malformed("chunk"))?;
        if version != STAGED_FORMAT || rest.len() < 4 {
            return Err(malformed("chunk"));
        }
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let header = rest.get(4..4 + len).ok_or_else(|| malformed("chunk"))?;
        let changes: ChunkChanges = keys::decode(header, "staged chunk")?;
        store
            .db
            .write(WriteBatch::from_data(&rest[4 + len..]))
            .map_err(Error::from)?;
        on_chunk(&changes)?;
        it.next();
    }
    it.status()?;
    drop(it);
    let record = store
        .db
        .get_cf(cf, commit)?
        .ok_or_else(|| malformed("commit record (missing)"))?;
    let (&version, data) = record
        .split_first()
        .ok_or_else(|| malformed("commit record"))?;
    if version != STAGED_FORMAT {
        return Err(malformed("commit record"));
    }
    let mut last = store.batch();
    last.wb = WriteBatch::from_data(data);
    last.wb
        .delete_range_cf(cf, first, staging_key(statement + 1, 0));
    store.write(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Access;

    fn counters(rows: u64) -> crate::storage::Counters {
        crate::storage::Counters {
            rows,
            ..Default::default()
        }
    }

    /// A staged chunk holding one catalog write (the next table id), for a visible effect.
    fn stage_one(staging: &mut Staging<'_>, store: &Store, id: u64, phase: Phase) {
        let mut b = store.batch();
        b.put_next_table_id(id).unwrap();
        staging.stage(b, phase, &ChunkChanges::default()).unwrap();
    }

    #[test]
    fn discard_and_recover_without_commit_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        let mut s = store.begin_staging();
        stage_one(&mut s, &store, 7, Phase::Early);
        assert_eq!(store.staging_len().unwrap(), 1);
        s.discard().unwrap();
        assert_eq!(store.staging_len().unwrap(), 0);

        // Staged, never committed: recovery drops it.
        let mut s = store.begin_staging();
        stage_one(&mut s, &store, 8, Phase::Early);
        stage_one(&mut s, &store, 9, Phase::Early);
        // The statement is abandoned (a crash): neither applied nor discarded.
        let r = store.recover_staging().unwrap();
        assert_eq!((r.applied, r.discarded), (0, 1));
        assert_eq!(store.staging_len().unwrap(), 0);
        assert_eq!(store.load_catalog().unwrap().next_table_id, 1);
    }

    #[test]
    fn recovery_applies_a_committed_statement_late_chunks_last() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        let mut s = store.begin_staging();
        // Late is staged first but applies after the early chunks: 5 wins over 3 and 4.
        stage_one(&mut s, &store, 5, Phase::Late);
        stage_one(&mut s, &store, 3, Phase::Early);
        stage_one(&mut s, &store, 4, Phase::Early);
        let mut last = store.batch();
        last.put_counters(1, &counters(42)).unwrap();
        s.commit(last).unwrap();
        // A crash before the apply.
        // Applying twice (a crash during the first apply) gives the same result.
        let r = store.recover_staging().unwrap();
        assert_eq!((r.applied, r.discarded), (1, 0));
        assert_eq!(store.staging_len().unwrap(), 0);
        let loaded = store.load_catalog().unwrap();
        assert_eq!(loaded.next_table_id, 5);
        assert_eq!(store.recover_staging().unwrap(), Recovered::default());
    }

    #[test]
    fn apply_reports_each_chunk_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        let mut s = store.begin_staging();
        for seq in 1..=3 {
            let changes = ChunkChanges {
                table_id: 1,
                seq,
                changes: vec![(0, seq, true)],
            };
            s.stage(store.batch(), Phase::Early, &changes).unwrap();
        }
        s.commit(store.batch()).unwrap();
        let mut seen = Vec::new();
        s.apply(|c| {
            seen.push(c.seq);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [1, 2, 3]);
        assert_eq!(store.staging_len().unwrap(), 0);
    }
}
