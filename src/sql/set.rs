//! `SET` binding: vectable has one setting, `ef_search` (also as pgvector's
//! `hnsw.ef_search`).

use sqlparser::ast as sql;

use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::sql::bind::{self, Binder};
use crate::value::Value;

/// Largest `SET ef_search` accepted.
pub const MAX_EF_SEARCH: usize = 10_000;

/// A bound `SET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setting {
    /// `SET ef_search = n`, 1 ≤ n ≤ [`MAX_EF_SEARCH`].
    EfSearch(usize),
}

/// Binds `SET ef_search = n` (`n` may be a parameter or a constant expression).
///
/// # Errors
/// [`Error::Unsupported`] for other forms of `SET`; [`Error::InvalidArgument`] for another
/// setting, several values, or a value that is not an integer from 1 to [`MAX_EF_SEARCH`].
pub(crate) fn bind_set(set: &sql::Set, params: &[Value]) -> Result<Setting> {
    let sql::Set::SingleAssignment {
        variable, values, ..
    } = set
    else {
        return Err(Error::unsupported(format!("{set}")));
    };
    // `hnsw.ef_search` (pgvector's name) has two parts; object_name accepts only one.
    let name = variable
        .0
        .iter()
        .map(|p| p.as_ident().map_or_else(|| p.to_string(), bind::ident_name))
        .collect::<Vec<_>>()
        .join(".");
    if name != "ef_search" && name != "hnsw.ef_search" {
        return Err(Error::invalid(format!(
            "unknown setting {name}; vectable has ef_search"
        )));
    }
    let [value] = values.as_slice() else {
        return Err(Error::invalid("SET ef_search takes one value"));
    };
    let noop = |_: &sql::Query| Err(Error::unsupported("subquery in SET"));
    let mut b = Binder {
        table: None,
        params,
        subquery: &noop,
        aggs: None,
    };
    match b.bind(value)? {
        Expr::Literal(Value::Integer(n)) if n >= 1 && n as usize <= MAX_EF_SEARCH => {
            Ok(Setting::EfSearch(n as usize))
        }
        _ => Err(Error::invalid(format!(
            "ef_search must be an integer from 1 to {MAX_EF_SEARCH}, got {value}"
        ))),
    }
}
