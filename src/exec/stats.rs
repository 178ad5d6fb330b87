//! What `EXPLAIN ANALYZE` counts while a `SELECT` runs.

use std::cell::{Cell, RefCell};
use std::time::Instant;

use crate::value::Value;

/// Counters one statement's execution fills when it runs under `EXPLAIN ANALYZE`.
#[derive(Debug)]
pub(crate) struct ExecStats {
    /// When the statement started (steps are stamped relative to it).
    pub started: Instant,
    /// Rows read from storage (scanned, or fetched by rowid).
    pub rows_read: Cell<u64>,
    /// Rows that passed the `WHERE` (or were candidates without one).
    pub matched: Cell<u64>,
    /// Secondary-index entries read.
    pub index_entries: Cell<u64>,
    /// HNSW searches run.
    pub graph_searches: Cell<u64>,
    /// Rowids those searches returned.
    pub candidates: Cell<u64>,
    /// Exact distances computed.
    pub distances: Cell<u64>,
    /// What the executor did, in order (strategy rounds, fallbacks).
    pub steps: RefCell<Vec<String>>,
    /// The first sort key of each returned row (the distance, for a kNN query).
    pub result_keys: RefCell<Vec<Value>>,
}

impl Default for ExecStats {
    fn default() -> Self {
        ExecStats {
            started: Instant::now(),
            rows_read: Cell::new(0),
            matched: Cell::new(0),
            index_entries: Cell::new(0),
            graph_searches: Cell::new(0),
            candidates: Cell::new(0),
            distances: Cell::new(0),
            steps: RefCell::new(Vec::new()),
            result_keys: RefCell::new(Vec::new()),
        }
    }
}

impl ExecStats {
    /// Records a step, stamped with the time since the statement started (milliseconds).
    pub fn step(&self, s: impl Into<String>) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.steps
            .borrow_mut()
            .push(format!("{} (done at {ms:.3} ms)", s.into()));
    }
}

/// Tie-aware recall@k of `got` against `exact` (both the distances of returned rows, nearest
/// first): the fraction of the exact answer's rows matched by a returned row no farther than
/// the exact k-th distance. 1.0 when the exact answer is empty.
pub(crate) fn recall(got: &[Value], exact: &[Value]) -> f64 {
    let Some(kth) = exact.last().and_then(as_f64) else {
        return 1.0;
    };
    let tol = 1e-9 * kth.abs().max(1.0);
    let hits = got
        .iter()
        .filter_map(as_f64)
        .filter(|d| *d <= kth + tol)
        .count()
        .min(exact.len());
    hits as f64 / exact.len() as f64
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Real(r) => Some(*r),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_is_tie_aware() {
        let r = |xs: &[f64]| xs.iter().map(|x| Value::Real(*x)).collect::<Vec<_>>();
        assert_eq!(recall(&r(&[0.1, 0.2, 0.3]), &r(&[0.1, 0.2, 0.3])), 1.0);
        assert!((recall(&r(&[0.1, 0.2, 0.5]), &r(&[0.1, 0.2, 0.3])) - 2.0 / 3.0).abs() < 1e-12);
        // A different row at the same distance as the k-th counts.
        assert_eq!(recall(&r(&[0.1, 0.3]), &r(&[0.1, 0.3])), 1.0);
        assert_eq!(recall(&[], &[]), 1.0);
        assert_eq!(recall(&[], &r(&[0.1])), 0.0);
    }
}
