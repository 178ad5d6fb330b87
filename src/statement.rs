//! [`Statement`]: a prepared statement, parsed once by [`Database::prepare`] and bound,
//! planned and run on each call.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::cursor::{MappedRows, RowCursor};
use crate::db::{Database, Output};
use crate::error::{Error, Result};
use crate::row::{Row, Rows};
use crate::sql::cache::ParsedStatement;
use crate::value::Params;

/// A prepared statement: SQL text parsed once by [`Database::prepare`], then bound against the
/// catalog, planned and run on each call with that call's parameters.
///
/// Only parsing is saved: binding depends on the parameter values (a query vector's length is
/// checked against its column, a constant `LIMIT $1` is read) and on the catalog, so a
/// statement prepared before `DROP TABLE t; CREATE TABLE t (…)` runs against the new `t`.
/// [`Database::query`] and the other `Database` methods keep recently parsed statements too
/// (see [`Options::statement_cache_capacity`](crate::Options::statement_cache_capacity)); a
/// `Statement` also skips the cache lookup and keeps its parse however many others run.
///
/// A `Statement` holds a clone of its [`Database`], so it keeps the database open; it is
/// `Send + Sync` and cheap to clone.
///
/// ## Example
/// ```
/// use vectable::{params, Database};
///
/// let dir = tempfile::tempdir()?;
/// let db = Database::open(dir.path())?;
/// db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, embedding VECTOR(3))", ())?;
///
/// let insert = db.prepare("INSERT INTO docs VALUES ($1, $2)")?;
/// for (id, v) in [(1, [1.0f32, 0.0, 0.0]), (2, [0.0, 1.0, 0.0]), (3, [0.0, 0.0, 1.0])] {
///     assert_eq!(insert.execute(params![id, &v[..]])?, 1);
/// }
///
/// let nearest = db.prepare("SELECT id FROM docs ORDER BY embedding <-> $1 LIMIT 1")?;
/// assert_eq!(nearest.parameter_count(), 1);
/// let id: i64 = nearest.query_row(params![vec![0.1f32, 0.9, 0.0]], |r| r.get(0))?;
/// assert_eq!(id, 2);
/// # Ok::<(), vectable::Error>(())
/// ```
#[derive(Clone)]
pub struct Statement {
    db: Database,
    parsed: Arc<ParsedStatement>,
    sql: Arc<str>,
}

impl std::fmt::Debug for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statement")
            .field("sql", &self.sql)
            .field("parameter_count", &self.parsed.params)
            .finish()
    }
}

impl Statement {
    pub(crate) fn new(db: Database, parsed: Arc<ParsedStatement>, sql: &str) -> Statement {
        Statement {
            db,
            parsed,
            sql: Arc::from(sql),
        }
    }

    /// The SQL text it was prepared from.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The number of parameters the statement takes: the largest `n` of its `$n`
    /// placeholders (0 when it has none). Every call must give at most this many, and at
    /// least as many as the placeholders it uses.
    pub fn parameter_count(&self) -> usize {
        self.parsed.params
    }

    /// Binds `params`, plans and runs the statement, and returns its [`Output`].
    ///
    /// # Errors
    /// [`Error::Parameter`] when more parameters are given than
    /// [`parameter_count`](Self::parameter_count), or fewer than a `$n` it uses; otherwise as
    /// [`Database::run`] (binding errors such as [`Error::NoSuchTable`] or
    /// [`Error::DimensionMismatch`] come from this call, not from `prepare`).
    pub fn run(&self, params: impl Params) -> Result<Output> {
        self.db.run_prepared(&self.parsed, params)
    }

    /// Runs the statement and returns the number of rows it inserted, updated, deleted or
    /// copied (0 for other statements; the row count for a `SELECT`), as
    /// [`Database::execute`].
    ///
    /// # Errors
    /// As [`Statement::run`]; on error nothing was written.
    pub fn execute(&self, params: impl Params) -> Result<u64> {
        self.run(params).map(Output::affected)
    }

    /// Runs the statement and returns its rows (empty for statements without rows), as
    /// [`Database::query`].
    ///
    /// # Errors
    /// As [`Statement::run`].
    pub fn query(&self, params: impl Params) -> Result<Rows> {
        self.run(params).map(Output::rows)
    }

    /// Runs the statement and maps its first row with `f`, as [`Database::query_row`].
    ///
    /// # Errors
    /// [`Error::QueryReturnedNoRows`] when there is no row (see
    /// [`OptionalExtension`](crate::OptionalExtension)); otherwise as [`Statement::run`] or
    /// whatever `f` returns.
    pub fn query_row<T>(
        &self,
        params: impl Params,
        f: impl FnOnce(Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let rows = self.query(params)?;
        let row = rows.get(0).ok_or(Error::QueryReturnedNoRows)?;
        f(row)
    }

    /// Runs the statement and returns a [`RowCursor`] over its rows, streaming a full scan
    /// with bounded memory, as [`Database::query_iter`].
    ///
    /// # Errors
    /// As [`Statement::run`]; read errors come as `Err` items of the cursor.
    pub fn query_iter(&self, params: impl Params) -> Result<RowCursor> {
        self.db.query_iter_prepared(&self.parsed, params)
    }

    /// Runs the statement and maps each row with `f`, lazily, as [`Database::query_map`]
    /// (rusqlite's `query_map`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = vectable::Database::open(dir.path())?;
    /// db.execute("CREATE TABLE t (id INTEGER, name TEXT)", ())?;
    /// db.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')", ())?;
    /// let stmt = db.prepare("SELECT name FROM t WHERE id >= $1")?;
    /// let names: Vec<String> = stmt.query_map([1], |r| r.get(0))?.collect::<Result<_, _>>()?;
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok::<(), vectable::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Statement::query_iter`]; each item is `f`'s result or a read error.
    pub fn query_map<T, F>(&self, params: impl Params, f: F) -> Result<MappedRows<F>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(MappedRows::new(self.query_iter(params)?, f))
    }

    /// Runs the statement and maps every row into `T` with serde, by column name, as
    /// [`Database::query_as`].
    ///
    /// # Errors
    /// As [`Statement::run`]; [`Error::Deserialize`] naming the column that does not fit.
    pub fn query_as<T: DeserializeOwned>(&self, params: impl Params) -> Result<Vec<T>> {
        self.query_iter(params)?
            .map(|r| r.and_then(|row| row.deserialize()))
            .collect()
    }
}
