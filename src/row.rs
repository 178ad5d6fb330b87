//! Query results: [`Rows`], [`Row`] and typed access with [`Row::get`].

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

/// The result of a query: column names and rows, in result order.
///
/// Iterate with `for row in &rows` or [`Rows::iter`]; read a cell with [`Row::get`].
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
}

impl<'a> IntoIterator for &'a Rows {
    type Item = Row<'a>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = Row<'a>> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// One row of a [`Rows`].
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
    /// # Errors
    /// [`Error::InvalidColumn`] when there is no such column; [`Error::InvalidColumnType`] when
    /// the value does not convert to `T` (e.g. NULL into `i64`: ask for `Option<i64>`).
    pub fn get<T: FromValue>(&self, idx: impl RowIndex) -> Result<T> {
        let i = idx.index(self.columns)?;
        let v = &self.values[i];
        T::from_value(v).ok_or_else(|| Error::InvalidColumnType {
            index: i,
            name: self.columns[i].clone(),
            expected: T::NAME,
            found: v.type_name(),
        })
    }

    /// The value of column `idx`, borrowed.
    ///
    /// # Errors
    /// [`Error::InvalidColumn`] when there is no such column.
    pub fn get_ref(&self, idx: impl RowIndex) -> Result<&'a Value> {
        Ok(&self.values[idx.index(self.columns)?])
    }

    /// All values of the row.
    pub fn values(&self) -> &'a [Value] {
        self.values
    }

    /// Column names of the result.
    pub fn columns(&self) -> &'a [String] {
        self.columns
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
