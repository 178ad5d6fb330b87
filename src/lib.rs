//! # vectable
//!
//! An embedded SQL table store with vector columns. Rows live in RocksDB; every `VECTOR(n)`
//! column gets an HNSW index from USearch, built lazily by the first nearest-neighbour query
//! that needs it, saved to `<dir>/vectors/<table>_<column>.usearch`, and memory-mapped back —
//! not rebuilt — on the first query after a restart. SQL is PostgreSQL's, parsed by
//! sqlparser, with pgvector's distance operators.
//!
//! ```
//! use vectable::{Database, params};
//!
//! let dir = tempfile::tempdir()?;
//! let db = Database::open(dir.path())?;
//! db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, lang TEXT, embedding VECTOR(3))", ())?;
//! db.execute("INSERT INTO docs VALUES (1, 'en', '[1,0,0]'), (2, 'de', '[0,1,0]'), (3, 'en', '[0,0,1]')", ())?;
//!
//! // The k nearest rows that satisfy the filter; `<=>` is cosine distance, `<->` L2, `<#>` -dot.
//! let rows = db.query(
//!     "SELECT id, embedding <=> $1 AS d FROM docs WHERE lang = 'en' ORDER BY embedding <=> $1 LIMIT 1",
//!     params![vec![0.9f32, 0.1, 0.0]],
//! )?;
//! assert_eq!(rows.get(0).unwrap().get::<i64>("id")?, 1);
//! # Ok::<(), vectable::Error>(())
//! ```
//!
//! Distances: `<->` is Euclidean distance in [0, ∞); `<=>` is cosine distance 1 − cos in
//! [0, 2]; `<#>` is the negative inner product (smaller is more similar), as in pgvector.
//!
//! ## Reading results
//!
//! - [`Database::query`] returns [`Rows`], the whole result in memory: `for row in &rows`
//!   gives borrowed [`Row`]s, `for row in rows` gives [`OwnedRow`]s by value.
//! - [`Row::get`] converts a column to any [`FromValue`] type (`i64`, `String`, `Vec<f32>`,
//!   `[f32; N]`, `Vec<f64>`, `Option<T>`…) or borrows it as `&str` / `&[f32]`
//!   ([`FromValueRef`]); [`Row::get_ref`] gives a [`ValueRef`].
//! - [`Database::query_map`] / [`Statement::query_map`] map rows lazily through a closure
//!   ([`MappedRows`]); [`Row::deserialize`] and [`Database::query_as`] map rows into a serde
//!   `Deserialize` type by column name.
//! - [`Database::query_iter`] returns a [`RowCursor`] that streams a `SELECT … FROM t
//!   [WHERE …]` without `ORDER BY`, aggregates or kNN from a RocksDB snapshot with at most 256
//!   rows in memory (other statements are buffered).
//!
//! ## From async code
//!
//! Calls block, so run them on a blocking thread (`tokio::task::spawn_blocking`, or any
//! thread pool) with a clone of the [`Database`], which is `Clone + Send + Sync`:
//!
//! ```
//! # let dir = tempfile::tempdir()?;
//! # let db = vectable::Database::open(dir.path())?;
//! # db.execute("CREATE TABLE docs (id INTEGER, title TEXT)", ())?;
//! let handle = db.clone();
//! // With tokio: `tokio::task::spawn_blocking(move || …).await`.
//! let titles = std::thread::spawn(move || {
//!     handle
//!         .query_map("SELECT title FROM docs", (), |r| r.get::<String>(0))?
//!         .collect::<vectable::Result<Vec<String>>>()
//! })
//! .join()
//! .expect("no panic")?;
//! assert!(titles.is_empty());
//! # Ok::<(), vectable::Error>(())
//! ```

#![warn(missing_docs)]

/// Table schemas, index metadata and identifier rules.
pub mod catalog;
/// Streaming query cursors and `query_map`.
mod cursor;
/// The public `Database` handle and its `Options`: open, statement dispatch, locking.
mod db;
/// Mapping rows into serde types.
mod de;
/// The error type.
mod error;
/// Execution operators: `SELECT` (scan, filter, sort, aggregate, kNN, `EXPLAIN` text),
/// `INSERT` / `UPDATE` / `DELETE`, `COPY` readers.
pub(crate) mod exec;
/// Bound expressions and their evaluation, shared by the binder and the executor.
pub(crate) mod expr;
/// The planner passes: access path (scan, primary key, secondary index), kNN, filtered-kNN
/// strategy by estimated cost.
pub(crate) mod plan;
/// Query results.
mod row;
/// Parsing, and binding every statement against the catalog.
pub(crate) mod sql;
/// Prepared statements.
mod statement;
/// RocksDB storage: catalog, rows, vectors, primary keys, secondary indexes, change log;
/// storage-layout migration.
pub(crate) mod storage;
/// Values, types and parameters.
mod value;
/// Vector-index lifecycle: build, cache, save, map, catch up.
pub(crate) mod vector;

pub use catalog::{ColumnDef, Metric, Quantization, SecondaryIndex, TableSchema};
pub use cursor::{MappedRows, RowCursor};
pub use db::{Database, Options, Output, MAX_EF_SEARCH};
pub use error::{Error, Result};
pub use exec::cancel::{InterruptHandle, InterruptReason};
pub use row::{IntoRows, OptionalExtension, OwnedRow, Row, RowIndex, Rows};
pub use sql::set::FilteredKnnSetting;
pub use sql::{split_statements, split_statements_at};
pub use statement::Statement;
pub use storage::Synchronous;
pub use value::{
    format_f32, format_real, format_vector, DataType, FromValue, FromValueRef, Params, ToValue,
    Value, ValueRef, MAX_VECTOR_DIMS,
};
pub use vector::{BuildProgress, FileCheck, IndexStatus, LoadEvent, Progress};
