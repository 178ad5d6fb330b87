//! The exclusive section of a write statement.
//!
//! A write statement prepares everything — binds, reads what its checks need, encodes rows,
//! builds its `WriteBatch` — while readers run (the database holds an *upgradable* read lock,
//! which excludes other writers only). It then **publishes** in a short exclusive section:
//! the `WriteBatch` commit (written to the WAL, not yet synced), the table's new counters
//! and the index changes (vectors appended to a tail, tombstones: no graph work), seen by
//! readers all at once. The WAL sync of `SET synchronous = full` and the graph work follow
//! the section, with readers running again (a reader may so see a statement whose WAL sync
//! is still under way; it is acknowledged only after the sync).

use crate::error::Result;
use crate::exec::write::TableEntry;
use crate::storage::Store;

/// What runs in the exclusive section: commits, applies, updates the entry.
pub(crate) type Commit<'a> = Box<dyn FnOnce(&mut TableEntry) -> Result<()> + 'a>;

/// How a write statement publishes its changes.
pub(crate) trait Publish {
    /// Runs `commit` with no reader running: `commit` commits the statement's last batch with
    /// [`crate::storage::Durability::Deferred`], applies the index changes and updates the
    /// entry it is given (`entry`, the statement's copy of the table's); the counters and
    /// generation it leaves become what readers see. Then syncs the WAL as the
    /// `synchronous` level says.
    ///
    /// # Errors
    /// `commit`'s, and [`crate::Error::Storage`] when the WAL sync fails (the statement is
    /// then committed in the WAL but possibly not on disk).
    fn publish(&self, entry: &mut TableEntry, commit: Commit<'_>) -> Result<()>;
}

/// For statements that hold the database's write lock throughout (DDL, `CREATE TABLE … AS`):
/// runs `commit`, then syncs.
pub(crate) struct Locked<'a>(pub &'a Store);

impl Publish for Locked<'_> {
    fn publish(&self, entry: &mut TableEntry, commit: Commit<'_>) -> Result<()> {
        commit(entry)?;
        self.0.sync_wal()
    }
}
