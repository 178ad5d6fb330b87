//! `SET` binding: vectable has seven settings, `ef_search` (also as pgvector's
//! `hnsw.ef_search`), `filtered_knn`, `statement_timeout`, `synchronous`,
//! `index_build_wait`, `write_batch_rows` and `index_write_share`.

use sqlparser::ast as sql;

use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::sql::bind::{self, Binder};
use crate::storage::Synchronous;
use crate::value::Value;

/// Largest `SET ef_search` accepted.
pub const MAX_EF_SEARCH: usize = 10_000;

/// A bound `SET`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Setting {
    /// `SET ef_search = n`, 1 ≤ n ≤ [`MAX_EF_SEARCH`].
    EfSearch(usize),
    /// `SET filtered_knn = auto | exact | index`.
    FilteredKnn(FilteredKnnSetting),
    /// `SET statement_timeout = '5s'` (zero: none).
    StatementTimeout(std::time::Duration),
    /// `SET synchronous = full | normal | off` (or `2 | 1 | 0`).
    Synchronous(Synchronous),
    /// `SET index_build_wait = on | off`.
    IndexBuildWait(bool),
    /// `SET write_batch_rows = n`, n ≥ 1: rows per `WriteBatch` of a big statement.
    WriteBatchRows(usize),
    /// `SET index_write_share = x`, 0 < x ≤ 1: the least share of the cores writes' graph
    /// inserts may take while queries run.
    IndexWriteShare(f64),
}

/// The text of a setting's value given as a word, a quoted string or a literal.
fn word(value: &sql::Expr) -> String {
    match value {
        sql::Expr::Identifier(id) => id.value.clone(),
        sql::Expr::Value(v) => match &v.value {
            sql::Value::SingleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// `SET filtered_knn`: which strategy a kNN query with a `WHERE` uses (see the README's
/// "kNN plans").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FilteredKnnSetting {
    /// Chosen by estimated cost (the default).
    #[default]
    Auto,
    /// Always exact distances over the matching rows.
    Exact,
    /// Always the HNSW graph: a search filtered to a secondary index's candidates when an
    /// index answers the filter, else the iterative search.
    Index,
}

impl FilteredKnnSetting {
    /// Parses `auto`, `exact` or `index` (any case).
    ///
    /// # Errors
    /// [`Error::UnknownStrategy`] for any other text.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "exact" => Ok(Self::Exact),
            "index" => Ok(Self::Index),
            _ => Err(Error::UnknownStrategy(s.to_string())),
        }
    }
}

impl std::fmt::Display for FilteredKnnSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Exact => "exact",
            Self::Index => "index",
        })
    }
}

/// Binds `SET ef_search = n` (`n` may be a parameter or a constant expression) and
/// `SET filtered_knn = auto | exact | index`.
///
/// # Errors
/// [`Error::Unsupported`] for other forms of `SET`; [`Error::InvalidArgument`] for another
/// setting, several values, or a value that is not an integer from 1 to [`MAX_EF_SEARCH`];
/// [`Error::UnknownStrategy`] for a `filtered_knn` value other than the three;
/// [`Error::InvalidDuration`] for a `statement_timeout` that is not a duration;
/// [`Error::InvalidArgument`] naming the value for a `synchronous` other than `full`,
/// `normal`, `off`, `2`, `1` or `0`.
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
    if name == "filtered_knn" {
        let [value] = values.as_slice() else {
            return Err(Error::invalid("SET filtered_knn takes one value"));
        };
        let text = word(value);
        return FilteredKnnSetting::parse(&text).map(Setting::FilteredKnn);
    }
    if name == "index_build_wait" {
        let [value] = values.as_slice() else {
            return Err(Error::invalid("SET index_build_wait takes one value"));
        };
        let text = word(value);
        return match text.to_ascii_lowercase().as_str() {
            "on" | "true" | "1" => Ok(Setting::IndexBuildWait(true)),
            "off" | "false" | "0" => Ok(Setting::IndexBuildWait(false)),
            _ => Err(Error::invalid(format!(
                "SET index_build_wait takes on or off, not {text}"
            ))),
        };
    }
    let noop = |_: &sql::Query| Err(Error::unsupported("subquery in SET"));
    let mut b = Binder {
        table: None,
        params,
        subquery: &noop,
        aggs: None,
    };
    if name == "synchronous" {
        let [value] = values.as_slice() else {
            return Err(Error::invalid("SET synchronous takes one value"));
        };
        let text = match value {
            sql::Expr::Identifier(id) => id.value.clone(),
            sql::Expr::Value(v) if !matches!(v.value, sql::Value::Placeholder(_)) => {
                match &v.value {
                    sql::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                }
            }
            // A parameter, or an expression such as `-1`.
            other => match b.bind(other)? {
                Expr::Literal(Value::Integer(n)) => n.to_string(),
                Expr::Literal(Value::Text(t)) => t,
                _ => other.to_string(),
            },
        };
        return Synchronous::parse(&text).map(Setting::Synchronous);
    }
    if name == "statement_timeout" {
        let [value] = values.as_slice() else {
            return Err(Error::invalid("SET statement_timeout takes one value"));
        };
        let bad = |text: String| Error::InvalidDuration {
            setting: "statement_timeout".into(),
            value: text,
        };
        // `SET statement_timeout = five`: a word, not a column.
        if let sql::Expr::Identifier(id) = value {
            return Err(bad(id.value.clone()));
        }
        return match b.bind(value)? {
            Expr::Literal(Value::Integer(n)) => u64::try_from(n)
                .map(|ms| Setting::StatementTimeout(std::time::Duration::from_millis(ms)))
                .map_err(|_| bad(n.to_string())),
            Expr::Literal(Value::Text(t)) => crate::exec::cancel::parse_duration(&t)
                .map(Setting::StatementTimeout)
                .ok_or_else(|| bad(t)),
            _ => Err(bad(value.to_string())),
        };
    }
    if name == "write_batch_rows" {
        let [value] = values.as_slice() else {
            return Err(Error::invalid("SET write_batch_rows takes one value"));
        };
        return match b.bind(value)? {
            Expr::Literal(Value::Integer(n)) if n >= 1 => Ok(Setting::WriteBatchRows(
                usize::try_from(n).unwrap_or(usize::MAX),
            )),
            _ => Err(Error::invalid(format!(
                "write_batch_rows must be an integer of at least 1, got {value}"
            ))),
        };
    }
    if name == "index_write_share" {
        let [value] = values.as_slice() else {
            return Err(Error::invalid("SET index_write_share takes one value"));
        };
        let share = match b.bind(value)? {
            Expr::Literal(Value::Integer(n)) => Some(n as f64),
            Expr::Literal(Value::Real(x)) => Some(x),
            _ => None,
        };
        return match share {
            Some(x) if x > 0.0 && x <= 1.0 => Ok(Setting::IndexWriteShare(x)),
            _ => Err(Error::invalid(format!(
                "index_write_share must be a number greater than 0 and at most 1, got {value}"
            ))),
        };
    }
    if name != "ef_search" && name != "hnsw.ef_search" {
        return Err(Error::invalid(format!(
            "unknown setting {name}; vectable has ef_search, filtered_knn, statement_timeout, \
             synchronous, index_build_wait, write_batch_rows and index_write_share"
        )));
    }
    let [value] = values.as_slice() else {
        return Err(Error::invalid("SET ef_search takes one value"));
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
