//! A write statement's [`Publish`]: the upgradable read lock it prepared under, upgraded for
//! the commit (see [`crate::exec::publish`]).

use std::cell::RefCell;

use parking_lot::RwLockUpgradableReadGuard;

use super::State;
use crate::error::Result;
use crate::exec::publish::{Commit, Publish};
use crate::exec::write::TableEntry;
use crate::storage::Store;

/// Holds the database's upgradable read lock from the statement's start: other writers wait,
/// readers run. [`Publish::publish`] upgrades it for the commit and copies the table entry's
/// new counters into the database's state before readers run again.
pub(super) struct Publisher<'a> {
    store: &'a Store,
    guard: RefCell<RwLockUpgradableReadGuard<'a, State>>,
    /// The table's key in [`State::tables`].
    key: String,
}

impl<'a> Publisher<'a> {
    pub(super) fn new(
        store: &'a Store,
        guard: RwLockUpgradableReadGuard<'a, State>,
        key: String,
    ) -> Self {
        Publisher {
            store,
            guard: RefCell::new(guard),
            key,
        }
    }
}

impl Publish for Publisher<'_> {
    fn publish(&self, entry: &mut TableEntry, commit: Commit<'_>) -> Result<()> {
        self.guard.borrow_mut().with_upgraded(|state| {
            let result = commit(entry);
            // Whatever `commit` did to the counters is committed (it changes them only after
            // its batch is written).
            if let Some(e) = state.tables.get_mut(&self.key) {
                e.counters = entry.counters;
                e.generation = entry.generation;
            }
            result
        })?;
        self.store.sync_wal()
    }
}
