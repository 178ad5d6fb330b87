//! The cursor-returning query methods of [`Database`]: `query_iter` (streaming where the plan
//! allows), `query_map` and `query_as`.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::{checked_params, Database};
use crate::cursor::{MappedRows, RowCursor};
use crate::error::{Error, Result};
use crate::exec::cancel::Cancel;
use crate::exec::select;
use crate::exec::stream::{self, STREAM_QUEUE};
use crate::row::Row;
use crate::sql::cache::ParsedStatement;
use crate::sql::{self, Command};
use crate::value::Params;

impl Database {
    /// Runs a query and returns a [`RowCursor`] over its rows, which **streams** a scan
    /// (`SELECT … FROM t [WHERE …] [LIMIT …]` without `ORDER BY`, aggregates or kNN) with at
    /// most 256 rows in memory, from a consistent snapshot; other statements are run in full
    /// and buffered. See [`RowCursor`] for exactly what streams and what the cursor
    /// guarantees.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = vectable::Database::open(dir.path())?;
    /// db.execute("CREATE TABLE t (id INTEGER, name TEXT)", ())?;
    /// db.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')", ())?;
    /// let mut names = String::new();
    /// for row in db.query_iter("SELECT name FROM t WHERE id > $1", [1])? {
    ///     names.push_str(row?.get::<&str>(0)?);
    /// }
    /// assert_eq!(names, "bc");
    /// # Ok::<(), vectable::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Database::execute`] for parsing, binding and planning; errors while reading come
    /// as `Err` items of the cursor.
    pub fn query_iter(&self, sql: &str, params: impl Params) -> Result<RowCursor> {
        let parsed = self.inner.statements.get(sql)?;
        self.query_iter_prepared(&parsed, params)
    }

    /// Runs a query and maps each row with `f`, lazily: an iterator of `Result<T>` over a
    /// [`RowCursor`] (so it streams when [`query_iter`](Database::query_iter) would), as
    /// rusqlite's `query_map`.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = vectable::Database::open(dir.path())?;
    /// db.execute("CREATE TABLE t (id INTEGER, v VECTOR(2))", ())?;
    /// db.execute("INSERT INTO t VALUES (1, '[1, 0]'), (2, '[0, 1]')", ())?;
    /// let pairs: Vec<(i64, [f32; 2])> = db
    ///     .query_map("SELECT id, v FROM t", (), |r| Ok((r.get(0)?, r.get(1)?)))?
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(pairs, [(1, [1.0, 0.0]), (2, [0.0, 1.0])]);
    /// # Ok::<(), vectable::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Database::query_iter`]; each item is `f`'s result or a read error.
    pub fn query_map<T, F>(&self, sql: &str, params: impl Params, f: F) -> Result<MappedRows<F>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(MappedRows::new(self.query_iter(sql, params)?, f))
    }

    /// Runs a query and maps every row into `T` with serde, by column name (see
    /// [`Row::deserialize`]).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = vectable::Database::open(dir.path())?;
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct Doc { id: i64, embedding: Vec<f32> }
    ///
    /// db.execute("CREATE TABLE docs (id INTEGER, embedding VECTOR(2))", ())?;
    /// db.execute("INSERT INTO docs VALUES (1, '[0.5, 1]')", ())?;
    /// let docs: Vec<Doc> = db.query_as("SELECT * FROM docs", ())?;
    /// assert_eq!(docs, [Doc { id: 1, embedding: vec![0.5, 1.0] }]);
    /// # Ok::<(), vectable::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Database::query`]; [`Error::Deserialize`] naming the column that does not fit.
    pub fn query_as<T: DeserializeOwned>(&self, sql: &str, params: impl Params) -> Result<Vec<T>> {
        self.query_iter(sql, params)?
            .map(|r| r.and_then(|row| row.deserialize()))
            .collect()
    }

    /// [`query_iter`](Database::query_iter) of a parsed statement.
    pub(crate) fn query_iter_prepared(
        &self,
        parsed: &ParsedStatement,
        params: impl Params,
    ) -> Result<RowCursor> {
        let params = checked_params(parsed, params)?;
        // Only a table scan streams; a file source (`FROM 'f.parquet'`) and every other
        // statement run in full.
        let q = match sql::command(&parsed.parsed)? {
            Command::Select(q) if sql::load::file_source(q).is_none() => q,
            _ => {
                return self
                    .run_parsed(&parsed.parsed, &params)
                    .map(|o| RowCursor::buffered(o.rows()))
            }
        };
        if self.inner.read_only {
            self.catch_up()?;
        }
        // Binding, planning and a buffered run can be interrupted or time out; a streaming
        // cursor runs at its caller's pace and is stopped by dropping it.
        let token = self.inner.running.start(self.statement_timeout());
        let token: &Cancel = &token;
        let state = self.inner.state.read();
        let plan = self.plan(&state, q, &params, token)?;
        if !stream::streams(&plan) {
            // Planned again, waiting for an index build first if it must (`index_build_wait`).
            drop(state);
            return self
                .planned(q, &params, token, true, select::run)
                .map(RowCursor::buffered);
        }
        let columns: Arc<[String]> = plan.names.clone().into();
        let (tx, rx) = sync_channel(STREAM_QUEUE);
        let (ready_tx, ready_rx) = sync_channel::<()>(1);
        let cancel = Arc::new(AtomicBool::new(false));
        let producer = {
            let db = self.clone();
            let cancel = cancel.clone();
            std::thread::Builder::new()
                .name("vectable-cursor".into())
                .spawn(move || {
                    let snap = db.inner.store.snapshot();
                    let _ = ready_tx.send(());
                    stream::produce(&snap, &plan, &tx, &cancel);
                })?
        };
        // The snapshot is taken while this thread holds the read lock, so it holds exactly
        // the statements committed when the query was bound; the lock is released before any
        // caller code runs, so the caller may write while it iterates.
        if ready_rx.recv().is_err() {
            let _ = producer.join();
            return Err(Error::Io(std::io::Error::other(
                "the query cursor's reader thread did not start",
            )));
        }
        drop(state);
        Ok(RowCursor::streaming(columns, rx, cancel, producer))
    }
}
