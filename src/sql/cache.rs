//! The statement cache: recently parsed statements, keyed by their SQL text, so that running
//! the same text again (`db.query(sql, params)` in a loop) binds and plans it without parsing
//! it again. Binding is not cached: it depends on the parameters and on the catalog.

use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;

use crate::error::Result;
use crate::sql::{parse_one, Parsed};

/// A parsed statement and the largest `$n` it uses, shared (through an `Arc`) by the cache
/// and by prepared statements.
#[derive(Debug)]
pub(crate) struct ParsedStatement {
    pub parsed: Parsed,
    /// The largest `n` of its `$n` placeholders (0 when none).
    pub params: usize,
}

impl ParsedStatement {
    /// Parses exactly one statement; see [`parse_one`].
    pub fn parse(sql: &str) -> Result<ParsedStatement> {
        let (parsed, params) = parse_one(sql)?;
        Ok(ParsedStatement { parsed, params })
    }
}

/// Statements longer than this many bytes of SQL text are parsed on every run and never
/// cached: a long text is almost always a bulk `INSERT` of literal values, run once, whose
/// syntax tree is several times the size of its text and would only push out the statements
/// that do repeat.
pub(crate) const MAX_CACHED_SQL_LEN: usize = 16 * 1024;

/// A least-recently-used cache of parsed statements; capacity 0 disables it.
pub(crate) struct StatementCache {
    lru: Option<Mutex<LruCache<String, Arc<ParsedStatement>>>>,
}

impl StatementCache {
    /// A cache of at most `capacity` statements (none when 0).
    pub fn new(capacity: usize) -> StatementCache {
        StatementCache {
            lru: NonZeroUsize::new(capacity).map(|n| Mutex::new(LruCache::new(n))),
        }
    }

    /// The parsed statement of `sql`: from the cache, or parsed now (and then cached unless it
    /// is longer than [`MAX_CACHED_SQL_LEN`]). Errors are not cached.
    ///
    /// # Errors
    /// As [`parse_one`].
    pub fn get(&self, sql: &str) -> Result<Arc<ParsedStatement>> {
        let lru = self
            .lru
            .as_ref()
            .filter(|_| sql.len() <= MAX_CACHED_SQL_LEN);
        if let Some(lru) = lru {
            if let Some(hit) = lru.lock().get(sql) {
                return Ok(Arc::clone(hit));
            }
        }
        // Parse outside the lock: other threads' hits need not wait for it.
        let parsed = Arc::new(ParsedStatement::parse(sql)?);
        if let Some(lru) = lru {
            lru.lock().put(sql.to_string(), Arc::clone(&parsed));
        }
        Ok(parsed)
    }

    /// How many statements are cached.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lru.as_ref().map_or(0, |l| l.lock().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_share_one_parse_and_errors_are_not_cached() {
        let cache = StatementCache::new(2);
        let a = cache.get("SELECT $1").unwrap();
        assert_eq!(a.params, 1);
        assert!(Arc::ptr_eq(&a, &cache.get("SELECT $1").unwrap()));
        assert!(cache.get("SELEC 1").is_err());
        assert_eq!(cache.len(), 1);
        // Least recently used goes first: `SELECT $1` was used after `SELECT 2` was added.
        cache.get("SELECT 2").unwrap();
        cache.get("SELECT $1").unwrap();
        cache.get("SELECT 3").unwrap();
        assert_eq!(cache.len(), 2);
        assert!(Arc::ptr_eq(&a, &cache.get("SELECT $1").unwrap()));
    }

    #[test]
    fn capacity_zero_and_long_statements_are_not_cached() {
        let off = StatementCache::new(0);
        let a = off.get("SELECT 1").unwrap();
        assert!(!Arc::ptr_eq(&a, &off.get("SELECT 1").unwrap()));
        assert_eq!(off.len(), 0);

        let cache = StatementCache::new(4);
        let long = format!("SELECT '{}'", "x".repeat(MAX_CACHED_SQL_LEN));
        let b = cache.get(&long).unwrap();
        assert!(!Arc::ptr_eq(&b, &cache.get(&long).unwrap()));
        assert_eq!(cache.len(), 0);
    }
}
