//! Execution: `SELECT` (scan, aggregate, kNN) and the write statements, over bound
//! expressions ([`crate::expr`]) and plans ([`crate::plan`]).
//!
//! Operators work over materialised rows (`Vec<Value>`), pulled from the storage scan in rowid
//! order; a kNN query reads only the rows the index returns (plus a filter scan when there is
//! a `WHERE`).

pub(crate) mod copy;
pub(crate) mod select;
pub(crate) mod write;

use crate::catalog::TableSchema;
use crate::error::Result;
use crate::expr::eval::{truthy, Ctx};
use crate::expr::{mark_columns, BinOp, Expr};
use crate::storage::{keys, Store};
use crate::value::{DataType, Value};

/// Calls `f(rowid, row)` for each row of `table` that satisfies `filter` (all rows without
/// one), in rowid order, until `f` returns `Ok(false)`. With `columns`, the rows handed to `f`
/// have only those columns decoded (the others are NULL); the filter is evaluated on a first,
/// narrower decode of just the columns it reads.
///
/// A filter that pins the primary key (`pk = constant`, alone or as one term of an `AND`)
/// reads that one row through the primary-key index instead of scanning the table.
pub(crate) fn for_each_match(
    store: &Store,
    table: &TableSchema,
    filter: Option<&Expr>,
    columns: Option<&[bool]>,
    mut f: impl FnMut(u64, Vec<Value>) -> Result<bool>,
) -> Result<()> {
    let matches = |row: &[Value]| match filter {
        Some(e) => truthy(e, Ctx::row(row)),
        None => Ok(true),
    };
    if let (Some(pk), Some(e)) = (table.primary_key, filter) {
        // Only a constant of the key's own type: `int_pk = 'x'` must fail as a scan would.
        let key = pk_constant(e, pk).filter(|k| {
            matches!(
                (k, table.columns[pk].data_type),
                (Value::Integer(_), DataType::Integer) | (Value::Text(_), DataType::Text)
            )
        });
        if let Some(key) = key {
            if let Some(rowid) = store.pk_lookup(table.id, key)? {
                if let Some(row) = store.get_rows(table.id, &[rowid])?.pop().flatten() {
                    if matches(&row)? {
                        f(rowid, row)?;
                    }
                }
            }
            return Ok(());
        }
    }
    let Some(filter) = filter else {
        return store.scan(table.id, columns, f);
    };
    let mut filter_columns = vec![false; table.columns.len()];
    mark_columns(filter, &mut filter_columns);
    store.scan_raw(table.id, |rowid, bytes| {
        let narrow = keys::decode_row(bytes, Some(&filter_columns))?;
        if !truthy(filter, Ctx::row(&narrow))? {
            return Ok(true);
        }
        f(rowid, keys::decode_row(bytes, columns)?)
    })
}

/// The constant `c` of a `pk = c` term that every matching row must satisfy.
fn pk_constant(e: &Expr, pk: usize) -> Option<&Value> {
    match e {
        Expr::Binary(BinOp::Eq, a, b) => match (a.as_ref(), b.as_ref()) {
            (Expr::Column(c), Expr::Literal(v)) | (Expr::Literal(v), Expr::Column(c))
                if *c == pk && matches!(v, Value::Integer(_) | Value::Text(_)) =>
            {
                Some(v)
            }
            _ => None,
        },
        Expr::Binary(BinOp::And, a, b) => pk_constant(a, pk).or_else(|| pk_constant(b, pk)),
        _ => None,
    }
}
