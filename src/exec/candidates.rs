//! A small cache of secondary-index scan results (the sorted rowids in a set of key ranges),
//! so that a filtered kNN query repeated with the same filter — the usual shape in a service:
//! a handful of tenants, languages or sections — does not walk the same index entries again.
//!
//! Entries are keyed by the table's write generation, which every committed `INSERT`,
//! `UPDATE`, `DELETE` and `COPY` on the table bumps: an entry from before a write is never
//! looked up again and ages out of the LRU. Readers hold the database's read lock, so the
//! generation cannot change under them.

use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;

use crate::error::Result;
use crate::plan::access::IndexScan;
use crate::storage::reads::Reads;
use crate::storage::KeyRange;

/// Entries kept (scan results, not bytes).
const CAPACITY: usize = 32;
/// Larger results are not kept (8 bytes each: at most 32 × 800 KB).
const MAX_ROWIDS: usize = 100_000;

type Key = (u64, u64, u32, Vec<KeyRange>);

/// The cache; one per database.
pub(crate) struct CandidateCache {
    entries: Mutex<LruCache<Key, Arc<Vec<u64>>>>,
}

impl Default for CandidateCache {
    fn default() -> Self {
        CandidateCache {
            entries: Mutex::new(LruCache::new(
                std::num::NonZeroUsize::new(CAPACITY).expect("non-zero"),
            )),
        }
    }
}

impl CandidateCache {
    /// The rowids of an unordered index scan, sorted, from the cache when the table has not
    /// been written since they were read. The flag says whether they came from the cache.
    pub fn rowids(
        &self,
        store: Reads<'_>,
        table_id: u64,
        generation: u64,
        scan: &IndexScan,
    ) -> Result<(Arc<Vec<u64>>, bool)> {
        let key = (table_id, generation, scan.index.id, scan.ranges.clone());
        if let Some(hit) = self.entries.lock().get(&key) {
            return Ok((hit.clone(), true));
        }
        let ids = Arc::new(super::index_rowids(store, scan, None)?);
        if ids.len() <= MAX_ROWIDS {
            self.entries.lock().put(key, ids.clone());
        }
        Ok((ids, false))
    }
}
