//! Query results: [`Rows`] (buffered), [`Row`] (borrowed from a [`Rows`]), [`OwnedRow`] (a
//! row by value, from `rows.into_iter()` or a [`RowCursor`](crate::RowCursor)), typed access
//! with [`Row::get`], borrowed access with [`Row::get_ref`], and [`MappedRows`].

use std::sync::Arc;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::value::{FromValueRef, Value, ValueRef};

/// The result of a query: column names and every row, in result order, held in memory.
///
/// [`Database::query`](crate::Database::query) always returns the whole result at once (it
/// is fully buffered); for a large result use
/// [`Database::query_iter`](crate::Database::query_iter), which streams.
///
/// Iterate with `for row in &rows` (borrowed [`Row`]s) or `for row in rows` (by value:
/// [`OwnedRow`]s); read a cell with [`Row::get`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    columns: Arc<[String]>,
    rows: Vec<Vec<Value>>,
}

impl Rows {
    pub(crate) fn new(columns: Vec<String>, rows: Vec<Vec<Value>>) -> Self {
        Rows {
            columns: columns.into(),
            rows,
        }
    }

    /// Column names, in order (the alias where one was given).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The column names, shared (cheap to clone).
    pub(crate) fn shared_columns(&self) -> Arc<[String]> {
        self.columns.clone()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the query returned no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The `i`-th row (0-based), if there is one.
    pub fn get(&self, i: usize) -> Option<Row<'_>> {
        self.rows.get(i).map(|values| Row {
            columns: &self.columns,
            values,
        })
    }

    /// Iterates over the rows.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        self.rows.iter().map(|values| Row {
            columns: &self.columns,
            values,
        })
    }

    /// The raw values, row by row.
    pub fn values(&self) -> &[Vec<Value>] {
        &self.rows
    }

    /// Consumes the result and returns its rows as value lists.
    pub fn into_values(self) -> Vec<Vec<Value>> {
        self.rows
    }

    /// Maps every row into `T` by its column names with serde (see [`Row::deserialize`]).
    ///
    /// # Errors
    /// [`Error::Deserialize`] naming the first column that does not fit.
    pub fn deserialize<'a, T: Deserialize<'a>>(&'a self) -> Result<Vec<T>> {
        self.iter().map(|r| r.deserialize()).collect()
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = Row<'a>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = Row<'a>> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl IntoIterator for Rows {
    type Item = OwnedRow;
    type IntoIter = IntoRows;
    /// The rows by value, in result order.
    fn into_iter(self) -> IntoRows {
        IntoRows {
            columns: self.columns,
            rows: self.rows.into_iter(),
        }
    }
}

/// The by-value iterator of a [`Rows`] (`for row in rows`), yielding [`OwnedRow`]s.
#[derive(Debug, Clone)]
pub struct IntoRows {
    columns: Arc<[String]>,
    rows: std::vec::IntoIter<Vec<Value>>,
}

impl Iterator for IntoRows {
    type Item = OwnedRow;
    fn next(&mut self) -> Option<OwnedRow> {
        self.rows.next().map(|values| OwnedRow {
            columns: self.columns.clone(),
            values,
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
    }
}

impl ExactSizeIterator for IntoRows {}

/// One row of a [`Rows`], borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for usize {}
    impl Sealed for &str {}
}

/// A column reference for [`Row::get`]: a 0-based `usize` or a column name (`&str`).
pub trait RowIndex: sealed::Sealed {
    /// Resolves to a 0-based position.
    fn index(&self, columns: &[String]) -> Result<usize>;
}

impl RowIndex for usize {
    fn index(&self, columns: &[String]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(Error::InvalidColumn(self.to_string()))
        }
    }
}

impl RowIndex for &str {
    fn index(&self, columns: &[String]) -> Result<usize> {
        columns
            .iter()
            .position(|c| c == self)
            .or_else(|| columns.iter().position(|c| c.eq_ignore_ascii_case(self)))
            .ok_or_else(|| Error::InvalidColumn((*self).to_string()))
    }
}

impl<'a> Row<'a> {
    /// Reads column `idx` (a 0-based index or a name) as `T`.
    ///
    /// `T` is any [`FromValue`](crate::FromValue) type (`i64`, `f64`, `String`, `Vec<f32>`,
    /// `[f32; N]`, `Vec<f64>`, `Option<T>`…) or a type borrowed from the row: `&str` for TEXT,
    /// `&[f32]` for a vector (and `Option<&str>`, `Option<&[f32]>`).
    ///
    /// # Errors
    /// [`Error::InvalidColumn`] when there is no such column; [`Error::InvalidColumnType`] when
    /// the value does not convert to `T` (e.g. NULL into `i64`: ask for `Option<i64>`; a
    /// `VECTOR(3)` into `[f32; 4]`), naming the column.
    pub fn get<T: FromValueRef<'a>>(&self, idx: impl RowIndex) -> Result<T> {
        let i = idx.index(self.columns)?;
        let v = &self.values[i];
        T::from_value_ref(v).ok_or_else(|| Error::InvalidColumnType {
            index: i,
            name: self.columns[i].clone(),
            expected: T::NAME,
            found: v.type_name(),
        })
    }

    /// The value of column `idx`, borrowed: a [`ValueRef`] whose
    /// [`as_str`](ValueRef::as_str) and [`as_vector`](ValueRef::as_vector) give `&str` and
    /// `&[f32]` without copying.
    ///
    /// # Errors
    /// [`Error::InvalidColumn`] when there is no such column.
    pub fn get_ref(&self, idx: impl RowIndex) -> Result<ValueRef<'a>> {
        Ok(ValueRef::from(&self.values[idx.index(self.columns)?]))
    }

    /// Maps the row into `T` with serde: a struct's fields (or a map's keys) are the columns by
    /// name, a tuple's elements the columns by position. A vector column reads into
    /// `Vec<f32>`, `[f32; N]` or `Vec<f64>`, TEXT into `String` or `&str`, NULL into `Option`.
    /// Columns the struct does not name are ignored (unless it says
    /// `#[serde(deny_unknown_fields)]`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = vectable::Database::open(dir.path())?;
    /// #[derive(serde::Deserialize)]
    /// struct Doc { id: i64, title: Option<String>, embedding: [f32; 2] }
    ///
    /// db.execute("CREATE TABLE docs (id INTEGER, title TEXT, embedding VECTOR(2))", ())?;
    /// db.execute("INSERT INTO docs VALUES (1, 'red', '[1, 0]')", ())?;
    /// let doc: Doc = db.query_row("SELECT * FROM docs", (), |r| r.deserialize())?;
    /// assert_eq!((doc.id, doc.title.as_deref(), doc.embedding), (1, Some("red"), [1.0, 0.0]));
    /// # Ok::<(), vectable::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Deserialize`] naming the column whose value does not fit its field (a
    /// `VECTOR(3)` into `[f32; 4]`, text into an integer, NULL into a non-`Option`), or the
    /// field no column provides.
    pub fn deserialize<T: Deserialize<'a>>(&self) -> Result<T> {
        crate::de::from_row(self.columns, self.values)
    }

    /// All values of the row.
    pub fn values(&self) -> &'a [Value] {
        self.values
    }

    /// Column names of the result.
    pub fn columns(&self) -> &'a [String] {
        self.columns
    }

    /// The row, copied into an [`OwnedRow`].
    pub fn to_owned_row(&self) -> OwnedRow {
        OwnedRow {
            columns: self.columns.to_vec().into(),
            values: self.values.to_vec(),
        }
    }
}

/// A row by value: what `for row in rows` and a [`RowCursor`](crate::RowCursor) yield. It
/// owns its values and shares the column names with the other rows of its result.
///
/// It has the methods of [`Row`] ([`get`](OwnedRow::get), [`get_ref`](OwnedRow::get_ref),
/// [`deserialize`](OwnedRow::deserialize)), and [`as_row`](OwnedRow::as_row) lends it as one.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl OwnedRow {
    pub(crate) fn new(columns: Arc<[String]>, values: Vec<Value>) -> OwnedRow {
        OwnedRow { columns, values }
    }

    /// The row as a borrowed [`Row`] (for a closure that takes `&Row`).
    pub fn as_row(&self) -> Row<'_> {
        Row {
            columns: &self.columns,
            values: &self.values,
        }
    }

    /// Reads column `idx` as `T`, as [`Row::get`] (including `&str` and `&[f32]`, borrowed
    /// from this row).
    ///
    /// # Errors
    /// As [`Row::get`].
    pub fn get<'r, T: FromValueRef<'r>>(&'r self, idx: impl RowIndex) -> Result<T> {
        self.as_row().get(idx)
    }

    /// The value of column `idx`, borrowed, as [`Row::get_ref`].
    ///
    /// # Errors
    /// [`Error::InvalidColumn`] when there is no such column.
    pub fn get_ref(&self, idx: impl RowIndex) -> Result<ValueRef<'_>> {
        self.as_row().get_ref(idx)
    }

    /// Maps the row into `T` with serde, as [`Row::deserialize`].
    ///
    /// # Errors
    /// As [`Row::deserialize`].
    pub fn deserialize<'r, T: Deserialize<'r>>(&'r self) -> Result<T> {
        self.as_row().deserialize()
    }

    /// Column names of the result.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// All values of the row.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The values, by value.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

/// Turns `Err(Error::QueryReturnedNoRows)` into `Ok(None)`, as in rusqlite.
pub trait OptionalExtension<T> {
    /// `Ok(Some(v))`, `Ok(None)` for no row, or the other error.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
