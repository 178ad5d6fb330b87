//! Bound expressions: the tree the binder ([`crate::sql`]) produces and the executor
//! ([`crate::exec`]) evaluates, with column references resolved to positions, parameters and
//! constants folded to literals, and aggregates replaced by references to their slots.
//!
//! [`eval`](crate::expr::eval) evaluates them (three-valued logic, vector distances); the binder uses it to fold
//! constant subexpressions, the executor on every row. Neither layer calls into the other for
//! this.

pub(crate) mod eval;

use crate::catalog::{Metric, TableSchema};
use crate::error::{Error, Result};
use crate::value::{DataType, Value};

/// A bound scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(Value),
    /// A column of the scanned row, by position.
    Column(usize),
    /// In aggregate output: the i-th `GROUP BY` key.
    GroupKey(usize),
    /// In aggregate output: the i-th aggregate's value.
    Agg(usize),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    IsNull(Box<Expr>, bool),
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    Func(Func, Vec<Expr>),
    Cast(Box<Expr>, DataType),
    /// `ARRAY[...]` with non-constant elements.
    Array(Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    Concat,
    /// `<->`, `<=>`, `<#>`.
    Distance(Metric),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    L2Distance,
    CosineDistance,
    InnerProduct,
    VectorDims,
    VectorNorm,
    Abs,
    Lower,
    Upper,
    Length,
    Round,
    Coalesce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggFunc {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

/// An aggregate call found while binding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AggCall {
    pub func: AggFunc,
    pub arg: Option<Expr>,
}

/// True when `e` reads no column, group key or aggregate (so it can be folded).
pub(crate) fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Literal(_) => true,
        Expr::Column(_) | Expr::GroupKey(_) | Expr::Agg(_) => false,
        Expr::Neg(x) | Expr::Not(x) | Expr::IsNull(x, _) | Expr::Cast(x, _) => is_constant(x),
        Expr::Binary(_, a, b) => is_constant(a) && is_constant(b),
        Expr::InList { expr, list, .. } => is_constant(expr) && list.iter().all(is_constant),
        Expr::Between {
            expr, low, high, ..
        } => is_constant(expr) && is_constant(low) && is_constant(high),
        Expr::Like { expr, pattern, .. } => is_constant(expr) && is_constant(pattern),
        Expr::Func(_, args) | Expr::Array(args) => args.iter().all(is_constant),
    }
}

/// Sets `mask[i]` for every column `i` the expression reads.
pub(crate) fn mark_columns(e: &Expr, mask: &mut [bool]) {
    match e {
        Expr::Column(i) => {
            if let Some(m) = mask.get_mut(*i) {
                *m = true;
            }
        }
        Expr::Literal(_) | Expr::GroupKey(_) | Expr::Agg(_) => {}
        Expr::Neg(x) | Expr::Not(x) | Expr::IsNull(x, _) | Expr::Cast(x, _) => {
            mark_columns(x, mask)
        }
        Expr::Binary(_, a, b) => {
            mark_columns(a, mask);
            mark_columns(b, mask);
        }
        Expr::InList { expr, list, .. } => {
            mark_columns(expr, mask);
            list.iter().for_each(|x| mark_columns(x, mask));
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            mark_columns(expr, mask);
            mark_columns(low, mask);
            mark_columns(high, mask);
        }
        Expr::Like { expr, pattern, .. } => {
            mark_columns(expr, mask);
            mark_columns(pattern, mask);
        }
        Expr::Func(_, args) | Expr::Array(args) => args.iter().for_each(|x| mark_columns(x, mask)),
    }
}

/// Rewrites an expression for evaluation over aggregate output: subexpressions equal to a
/// `GROUP BY` key become [`Expr::GroupKey`]; any other column reference is an error.
pub(crate) fn over_groups(e: Expr, keys: &[Expr], table: &TableSchema) -> Result<Expr> {
    if let Some(i) = keys.iter().position(|k| *k == e) {
        return Ok(Expr::GroupKey(i));
    }
    let rec = |x: Box<Expr>| over_groups(*x, keys, table).map(Box::new);
    let all = |xs: Vec<Expr>| {
        xs.into_iter()
            .map(|x| over_groups(x, keys, table))
            .collect::<Result<Vec<_>>>()
    };
    Ok(match e {
        Expr::Column(i) => {
            return Err(Error::invalid(format!(
                "column {} must appear in GROUP BY or be used in an aggregate",
                table.columns[i].name
            )))
        }
        Expr::Literal(_) | Expr::GroupKey(_) | Expr::Agg(_) => e,
        Expr::Neg(x) => Expr::Neg(rec(x)?),
        Expr::Not(x) => Expr::Not(rec(x)?),
        Expr::IsNull(x, n) => Expr::IsNull(rec(x)?, n),
        Expr::Cast(x, t) => Expr::Cast(rec(x)?, t),
        Expr::Binary(op, a, b) => Expr::Binary(op, rec(a)?, rec(b)?),
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: rec(expr)?,
            list: all(list)?,
            negated,
        },
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => Expr::Between {
            expr: rec(expr)?,
            low: rec(low)?,
            high: rec(high)?,
            negated,
        },
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => Expr::Like {
            expr: rec(expr)?,
            pattern: rec(pattern)?,
            negated,
            case_insensitive,
        },
        Expr::Func(f, args) => Expr::Func(f, all(args)?),
        Expr::Array(args) => Expr::Array(all(args)?),
    })
}
