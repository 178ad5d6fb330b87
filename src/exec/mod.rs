//! Execution: expression evaluation, `SELECT` (scan, aggregate, kNN) and the write statements.
//!
//! Operators work over materialised rows (`Vec<Value>`), pulled from the storage scan in rowid
//! order; a kNN query reads only the rows the index returns (plus a filter scan when there is
//! a `WHERE`).

pub(crate) mod copy;
pub(crate) mod expr;
pub(crate) mod select;
pub(crate) mod write;
