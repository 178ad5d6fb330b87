//! [`RowCursor`]: query results read as they are produced, and [`MappedRows`]: a cursor whose
//! rows go through a closure (`query_map`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::exec::stream::Batch;
use crate::row::{OwnedRow, Row, Rows};
use crate::value::Value;

/// The rows of a query, yielded one by one as an `Iterator<Item = Result<OwnedRow>>`, from
/// [`Database::query_iter`](crate::Database::query_iter) or
/// [`Statement::query_iter`](crate::Statement::query_iter).
///
/// ## What streams
/// A query over one table without `ORDER BY`, aggregates, `GROUP BY` or kNN —
/// `SELECT … FROM t [WHERE …] [LIMIT n] [OFFSET m]` — **streams**: a reader thread reads the
/// table in rowid order and hands rows over in batches of 64 through a queue of 2 batches, so
/// the cursor holds at most 256 result rows in memory (plus RocksDB's block cache) however
/// large the table is. When the planner answers the `WHERE` through a secondary index, the
/// reader first collects the matching rowids from the index (8 bytes per entry), then reads
/// those rows in the same way. [`is_streaming`](RowCursor::is_streaming) says which kind a
/// cursor is.
///
/// Every other statement (kNN, `ORDER BY`, aggregates, a primary-key lookup, a query without
/// `FROM`, `EXPLAIN`, `SHOW TABLES`, writes) runs to completion when the cursor is created
/// and the cursor iterates over its buffered result, as
/// [`Database::query`](crate::Database::query) does.
///
/// ## Consistency and locking
/// A streaming cursor reads a RocksDB snapshot taken, under the database's read lock, right
/// after the query was bound: it returns the rows as they were when `query_iter` returned,
/// exactly once each, in rowid order, whatever is written meanwhile. No lock is held while
/// the cursor is alive, so the code consuming it may write to the same database, from the
/// same thread or another, without deadlock (writes are simply not seen by the cursor). While
/// it is alive, the snapshot keeps RocksDB from discarding the row versions it can see, so
/// do not keep a cursor open for hours on a table that is being rewritten.
///
/// Dropping the cursor stops the reader thread and waits for it (it checks for that between
/// rows); the thread holds a clone of the [`Database`](crate::Database), so the database
/// closes when both the last handle and the cursor are dropped.
///
/// ## Errors
/// Binding and planning errors are returned by `query_iter` itself; an error while reading
/// (a damaged row, a failing expression such as a division by zero in the projection) is
/// yielded as an `Err` item, after which the cursor ends.
#[derive(Debug)]
pub struct RowCursor {
    columns: Arc<[String]>,
    source: Source,
}

#[derive(Debug)]
enum Source {
    Buffered(std::vec::IntoIter<Vec<Value>>),
    Stream(Stream),
}

#[derive(Debug)]
struct Stream {
    rx: Option<Receiver<Batch>>,
    batch: std::vec::IntoIter<Vec<Value>>,
    cancel: Arc<AtomicBool>,
    producer: Option<JoinHandle<()>>,
    done: bool,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        // A producer blocked on the full queue wakes up with a send error.
        self.rx.take();
        if let Some(h) = self.producer.take() {
            let _ = h.join();
        }
    }
}

impl Stream {
    fn next(&mut self) -> Option<Result<Vec<Value>>> {
        loop {
            if let Some(row) = self.batch.next() {
                return Some(Ok(row));
            }
            if self.done {
                return None;
            }
            let received = self.rx.as_ref().map(|rx| rx.recv());
            match received {
                Some(Ok(Ok(batch))) => self.batch = batch.into_iter(),
                Some(Ok(Err(e))) => {
                    self.done = true;
                    return Some(Err(e));
                }
                // The producer finished (or, against every expectation, panicked).
                Some(Err(_)) | None => {
                    self.done = true;
                    let panicked = self.producer.take().is_some_and(|h| h.join().is_err());
                    if panicked {
                        return Some(Err(Error::Io(std::io::Error::other(
                            "the query cursor's reader thread panicked",
                        ))));
                    }
                    return None;
                }
            }
        }
    }
}

impl RowCursor {
    pub(crate) fn buffered(rows: Rows) -> RowCursor {
        RowCursor {
            columns: rows.shared_columns(),
            source: Source::Buffered(rows.into_values().into_iter()),
        }
    }

    pub(crate) fn streaming(
        columns: Arc<[String]>,
        rx: Receiver<Batch>,
        cancel: Arc<AtomicBool>,
        producer: JoinHandle<()>,
    ) -> RowCursor {
        RowCursor {
            columns,
            source: Source::Stream(Stream {
                rx: Some(rx),
                batch: Vec::new().into_iter(),
                cancel,
                producer: Some(producer),
                done: false,
            }),
        }
    }

    /// Column names, in order (the alias where one was given).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// True when the rows are read as the cursor advances (with bounded memory); false when
    /// the result was computed in full and buffered (see the type's documentation).
    pub fn is_streaming(&self) -> bool {
        matches!(self.source, Source::Stream(_))
    }
}

impl Iterator for RowCursor {
    type Item = Result<OwnedRow>;

    fn next(&mut self) -> Option<Result<OwnedRow>> {
        let values = match &mut self.source {
            Source::Buffered(rows) => Ok(rows.next()?),
            Source::Stream(s) => s.next()?,
        };
        Some(values.map(|v| OwnedRow::new(self.columns.clone(), v)))
    }
}

/// The rows of a query mapped by a closure, from `query_map` (as rusqlite's `MappedRows`): an
/// `Iterator<Item = Result<T>>` over a [`RowCursor`], so it streams when the query does.
/// A row whose closure fails yields that `Err`; iteration can continue after it.
pub struct MappedRows<F> {
    cursor: RowCursor,
    f: F,
}

impl<F> std::fmt::Debug for MappedRows<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedRows")
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl<F> MappedRows<F> {
    pub(crate) fn new(cursor: RowCursor, f: F) -> Self {
        MappedRows { cursor, f }
    }

    /// Column names of the result.
    pub fn columns(&self) -> &[String] {
        self.cursor.columns()
    }
}

impl<T, F: FnMut(&Row<'_>) -> Result<T>> Iterator for MappedRows<F> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        Some(match self.cursor.next()? {
            Ok(row) => (self.f)(&row.as_row()),
            Err(e) => Err(e),
        })
    }
}
