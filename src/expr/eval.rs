//! Expression evaluation with SQL's three-valued logic: comparisons with NULL give NULL,
//! `WHERE` keeps only rows where the condition is true.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::expr::{BinOp, Expr, Func};
use crate::value::{self, DataType, Value};
use crate::vector::distance;

/// What an expression can read: the scanned row, or (after aggregation) group keys and
/// aggregate values.
#[derive(Clone, Copy, Default)]
pub(crate) struct Ctx<'a> {
    pub row: &'a [Value],
    pub keys: &'a [Value],
    pub aggs: &'a [Value],
}

impl<'a> Ctx<'a> {
    pub fn row(row: &'a [Value]) -> Self {
        Ctx {
            row,
            keys: &[],
            aggs: &[],
        }
    }
}

/// Evaluates an expression without a row (constant folding).
pub(crate) fn eval_const(e: &Expr) -> Result<Value> {
    eval(e, Ctx::default())
}

/// True when `e` evaluates to TRUE (NULL and FALSE are not).
pub(crate) fn truthy(e: &Expr, ctx: Ctx<'_>) -> Result<bool> {
    match eval(e, ctx)? {
        Value::Boolean(b) => Ok(b),
        Value::Null => Ok(false),
        other => Err(Error::type_mismatch("WHERE", "BOOLEAN", other.type_name())),
    }
}

fn cell<'v>(values: &'v [Value], i: usize, what: &str) -> Result<&'v Value> {
    values
        .get(i)
        .ok_or_else(|| Error::Corrupt(format!("{what} {i} is missing from the row")))
}

/// Like [`eval`], but borrows instead of cloning when `e` is a column, a literal, a group
/// key or an aggregate.
fn eval_cow<'a>(e: &'a Expr, ctx: Ctx<'a>) -> Result<Cow<'a, Value>> {
    Ok(match e {
        Expr::Literal(v) => Cow::Borrowed(v),
        Expr::Column(i) => Cow::Borrowed(cell(ctx.row, *i, "column")?),
        Expr::GroupKey(i) => Cow::Borrowed(cell(ctx.keys, *i, "group key")?),
        Expr::Agg(i) => Cow::Borrowed(cell(ctx.aggs, *i, "aggregate")?),
        other => Cow::Owned(eval(other, ctx)?),
    })
}

/// Evaluates `e` in `ctx`.
pub(crate) fn eval(e: &Expr, ctx: Ctx<'_>) -> Result<Value> {
    Ok(match e {
        Expr::Literal(v) => v.clone(),
        Expr::Column(i) => cell(ctx.row, *i, "column")?.clone(),
        Expr::GroupKey(i) => cell(ctx.keys, *i, "group key")?.clone(),
        Expr::Agg(i) => cell(ctx.aggs, *i, "aggregate")?.clone(),
        Expr::Neg(x) => match eval(x, ctx)? {
            Value::Null => Value::Null,
            Value::Integer(i) => Value::Integer(
                i.checked_neg()
                    .ok_or_else(|| Error::invalid("integer overflow"))?,
            ),
            Value::Real(r) => Value::Real(-r),
            Value::Vector(v) => Value::Vector(v.into_iter().map(|x| -x).collect()),
            other => {
                return Err(Error::type_mismatch(
                    "unary -",
                    "a number",
                    other.type_name(),
                ))
            }
        },
        Expr::Not(x) => match eval(x, ctx)? {
            Value::Null => Value::Null,
            Value::Boolean(b) => Value::Boolean(!b),
            other => return Err(Error::type_mismatch("NOT", "BOOLEAN", other.type_name())),
        },
        Expr::IsNull(x, negated) => Value::Boolean(eval(x, ctx)?.is_null() != *negated),
        Expr::Binary(op, a, b) => binary(*op, a, b, ctx)?,
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let v = eval(expr, ctx)?;
            if v.is_null() {
                return Ok(Value::Null);
            }
            let mut saw_null = false;
            for item in list {
                let w = eval(item, ctx)?;
                match compare(&v, &w, "IN")? {
                    Some(Ordering::Equal) => return Ok(Value::Boolean(!negated)),
                    None => saw_null = true,
                    _ => {}
                }
            }
            if saw_null {
                Value::Null
            } else {
                Value::Boolean(*negated)
            }
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            // `x BETWEEN lo AND hi` is `x >= lo AND x <= hi`, with three-valued AND: one
            // false side makes it false even when the other side is NULL.
            let v = eval(expr, ctx)?;
            let lo = compare(&v, &eval(low, ctx)?, "BETWEEN")?.map(|o| o != Ordering::Less);
            let hi = compare(&v, &eval(high, ctx)?, "BETWEEN")?.map(|o| o != Ordering::Greater);
            match (lo, hi) {
                (Some(false), _) | (_, Some(false)) => Value::Boolean(*negated),
                (Some(true), Some(true)) => Value::Boolean(!*negated),
                _ => Value::Null,
            }
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => match (eval(expr, ctx)?, eval(pattern, ctx)?) {
            (Value::Null, _) | (_, Value::Null) => Value::Null,
            (Value::Text(s), Value::Text(p)) => {
                let m = if *case_insensitive {
                    like(&s.to_lowercase(), &p.to_lowercase())?
                } else {
                    like(&s, &p)?
                };
                Value::Boolean(m != *negated)
            }
            (a, _) => return Err(Error::type_mismatch("LIKE", "TEXT", a.type_name())),
        },
        Expr::Func(f, args) => func(*f, args, ctx)?,
        Expr::Cast(x, ty) => cast(eval(x, ctx)?, *ty)?,
        Expr::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match eval(item, ctx)? {
                    Value::Integer(i) => out.push(i as f64),
                    Value::Real(r) => out.push(r),
                    other => {
                        return Err(Error::type_mismatch(
                            "ARRAY element",
                            "a number",
                            other.type_name(),
                        ))
                    }
                }
            }
            if out.is_empty() {
                return Err(Error::InvalidVector {
                    literal: "ARRAY[]".into(),
                    reason: "a vector needs at least one dimension".into(),
                });
            }
            Value::Vector(value::finite_f32(out.into_iter(), "ARRAY literal")?)
        }
    })
}

fn cast(v: Value, ty: DataType) -> Result<Value> {
    Ok(match (v, ty) {
        (Value::Null, _) => Value::Null,
        (Value::Text(s), DataType::Integer) => Value::Integer(
            s.trim()
                .parse()
                .map_err(|_| Error::type_mismatch("CAST", "INTEGER", format!("text {s:?}")))?,
        ),
        (Value::Text(s), DataType::Real) => Value::Real(
            s.trim()
                .parse()
                .map_err(|_| Error::type_mismatch("CAST", "REAL", format!("text {s:?}")))?,
        ),
        (Value::Text(s), DataType::Boolean) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "1" => Value::Boolean(true),
            "false" | "f" | "no" | "0" => Value::Boolean(false),
            _ => {
                return Err(Error::type_mismatch(
                    "CAST",
                    "BOOLEAN",
                    format!("text {s:?}"),
                ))
            }
        },
        (Value::Real(r), DataType::Integer) => {
            if !r.is_finite() || r.abs() >= 9.2e18 {
                return Err(Error::invalid("integer overflow in CAST"));
            }
            Value::Integer(r.round() as i64)
        }
        (Value::Boolean(b), DataType::Integer) => Value::Integer(i64::from(b)),
        // `::vector` without dimensions (see the binder).
        (Value::Text(s), DataType::Vector(0)) => {
            Value::Vector(value::parse_vector(&s, "::vector")?)
        }
        (Value::Vector(v), DataType::Vector(0)) => Value::Vector(v),
        (v, DataType::Text) => Value::Text(v.to_string()),
        (v, ty) => value::coerce(v, ty, "CAST")?,
    })
}

/// SQL comparison: `None` when either side is NULL.
pub(crate) fn compare(a: &Value, b: &Value, context: &str) -> Result<Option<Ordering>> {
    Ok(Some(match (a, b) {
        (Value::Null, _) | (_, Value::Null) => return Ok(None),
        (Value::Integer(_) | Value::Real(_), Value::Integer(_) | Value::Real(_))
        | (Value::Text(_), Value::Text(_))
        | (Value::Boolean(_), Value::Boolean(_))
        | (Value::Vector(_), Value::Vector(_)) => a.total_cmp(b),
        (Value::Vector(v), Value::Text(s)) => {
            Value::Vector(v.clone()).total_cmp(&Value::Vector(value::parse_vector(s, context)?))
        }
        (Value::Text(s), Value::Vector(v)) => {
            Value::Vector(value::parse_vector(s, context)?).total_cmp(&Value::Vector(v.clone()))
        }
        _ => return Err(Error::type_mismatch(context, a.type_name(), b.type_name())),
    }))
}

fn binary(op: BinOp, a: &Expr, b: &Expr, ctx: Ctx<'_>) -> Result<Value> {
    // AND / OR short-circuit with three-valued logic.
    if matches!(op, BinOp::And | BinOp::Or) {
        let l = as_bool(eval(a, ctx)?, op)?;
        match (op, l) {
            (BinOp::And, Some(false)) => return Ok(Value::Boolean(false)),
            (BinOp::Or, Some(true)) => return Ok(Value::Boolean(true)),
            _ => {}
        }
        let r = as_bool(eval(b, ctx)?, op)?;
        return Ok(match (op, l, r) {
            (BinOp::And, _, Some(false)) => Value::Boolean(false),
            (BinOp::And, Some(true), Some(true)) => Value::Boolean(true),
            (BinOp::Or, _, Some(true)) => Value::Boolean(true),
            (BinOp::Or, Some(false), Some(false)) => Value::Boolean(false),
            _ => Value::Null,
        });
    }
    // Borrow columns and literals: a distance over a 384-d row must not copy the vector.
    let l = eval_cow(a, ctx)?;
    let r = eval_cow(b, ctx)?;
    let (l, r) = (l.as_ref(), r.as_ref());
    if l.is_null() || r.is_null() {
        return Ok(Value::Null);
    }
    let name = op_name(op);
    Ok(match op {
        BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq => {
            let Some(o) = compare(l, r, name)? else {
                return Ok(Value::Null);
            };
            Value::Boolean(match op {
                BinOp::Eq => o == Ordering::Equal,
                BinOp::NotEq => o != Ordering::Equal,
                BinOp::Lt => o == Ordering::Less,
                BinOp::LtEq => o != Ordering::Greater,
                BinOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            })
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => arith(op, l, r)?,
        BinOp::Concat => Value::Text(format!("{l}{r}")),
        BinOp::Distance(m) => {
            let (x, y) = vectors(l, r, name)?;
            real(distance::distance(m, x, y))
        }
        BinOp::And | BinOp::Or => unreachable!("handled above"),
    })
}

fn real(x: f64) -> Value {
    Value::Real(x)
}

fn as_bool(v: Value, op: BinOp) -> Result<Option<bool>> {
    match v {
        Value::Null => Ok(None),
        Value::Boolean(b) => Ok(Some(b)),
        other => Err(Error::type_mismatch(
            op_name(op),
            "BOOLEAN",
            other.type_name(),
        )),
    }
}

fn op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Eq => "=",
        BinOp::NotEq => "<>",
        BinOp::Lt => "<",
        BinOp::LtEq => "<=",
        BinOp::Gt => ">",
        BinOp::GtEq => ">=",
        BinOp::And => "AND",
        BinOp::Or => "OR",
        BinOp::Concat => "||",
        BinOp::Distance(m) => m.operator(),
    }
}

fn vectors<'v>(l: &'v Value, r: &'v Value, op: &str) -> Result<(&'v [f32], &'v [f32])> {
    match (l, r) {
        (Value::Vector(x), Value::Vector(y)) => {
            if x.len() != y.len() {
                return Err(Error::DimensionMismatch {
                    column: format!("operator {op}"),
                    expected: x.len(),
                    found: y.len(),
                });
            }
            Ok((x, y))
        }
        (Value::Vector(_), other) | (other, _) => Err(Error::type_mismatch(
            format!("operator {op}"),
            "VECTOR",
            other.type_name(),
        )),
    }
}

fn arith(op: BinOp, l: &Value, r: &Value) -> Result<Value> {
    let overflow = || Error::invalid(format!("integer overflow in {}", op_name(op)));
    match (l, r) {
        (Value::Integer(a), Value::Integer(b)) => Ok(Value::Integer(match op {
            BinOp::Add => a.checked_add(*b).ok_or_else(overflow)?,
            BinOp::Sub => a.checked_sub(*b).ok_or_else(overflow)?,
            BinOp::Mul => a.checked_mul(*b).ok_or_else(overflow)?,
            BinOp::Div => {
                if *b == 0 {
                    return Err(Error::invalid("division by zero"));
                }
                a.checked_div(*b).ok_or_else(overflow)?
            }
            _ => {
                if *b == 0 {
                    return Err(Error::invalid("division by zero"));
                }
                a.checked_rem(*b).ok_or_else(overflow)?
            }
        })),
        (Value::Integer(_) | Value::Real(_), Value::Integer(_) | Value::Real(_)) => {
            let a = f64_of(l);
            let b = f64_of(r);
            if matches!(op, BinOp::Div | BinOp::Mod) && b == 0.0 {
                return Err(Error::invalid("division by zero"));
            }
            Ok(Value::Real(match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                _ => a % b,
            }))
        }
        (Value::Vector(a), Value::Vector(b)) if matches!(op, BinOp::Add | BinOp::Sub) => {
            let (a, b) = vectors(l, r, op_name(op)).map(|_| (a, b))?;
            let out: Vec<f64> = a
                .iter()
                .zip(b)
                .map(|(x, y)| {
                    if op == BinOp::Add {
                        f64::from(*x) + f64::from(*y)
                    } else {
                        f64::from(*x) - f64::from(*y)
                    }
                })
                .collect();
            Ok(Value::Vector(value::finite_f32(
                out.into_iter(),
                op_name(op),
            )?))
        }
        _ => Err(Error::type_mismatch(
            format!("operator {}", op_name(op)),
            l.type_name(),
            r.type_name(),
        )),
    }
}

fn f64_of(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Real(r) => *r,
        _ => f64::NAN,
    }
}

fn func(f: Func, args: &[Expr], ctx: Ctx<'_>) -> Result<Value> {
    if f == Func::Coalesce {
        for a in args {
            let v = eval(a, ctx)?;
            if !v.is_null() {
                return Ok(v);
            }
        }
        return Ok(Value::Null);
    }
    let vals: Vec<Cow<'_, Value>> = args
        .iter()
        .map(|a| eval_cow(a, ctx))
        .collect::<Result<_>>()?;
    if vals.iter().any(|v| v.is_null()) {
        return Ok(Value::Null);
    }
    let name = func_name(f);
    Ok(match f {
        Func::L2Distance | Func::CosineDistance | Func::InnerProduct => {
            let (x, y) = vectors(&vals[0], &vals[1], name)?;
            real(match f {
                Func::L2Distance => distance::l2(x, y),
                Func::CosineDistance => distance::cosine(x, y),
                _ => distance::dot(x, y),
            })
        }
        Func::VectorDims => match vals[0].as_ref() {
            Value::Vector(v) => Value::Integer(v.len() as i64),
            other => {
                return Err(Error::type_mismatch(
                    "vector_dims()",
                    "VECTOR",
                    other.type_name(),
                ))
            }
        },
        Func::VectorNorm => match vals[0].as_ref() {
            Value::Vector(v) => Value::Real(distance::norm(v)),
            other => {
                return Err(Error::type_mismatch(
                    "vector_norm()",
                    "VECTOR",
                    other.type_name(),
                ))
            }
        },
        Func::Abs => match vals[0].as_ref() {
            Value::Integer(i) => Value::Integer(
                i.checked_abs()
                    .ok_or_else(|| Error::invalid("integer overflow in abs()"))?,
            ),
            Value::Real(r) => Value::Real(r.abs()),
            other => return Err(Error::type_mismatch("abs()", "a number", other.type_name())),
        },
        Func::Lower | Func::Upper | Func::Length => match vals[0].as_ref() {
            Value::Text(s) => match f {
                Func::Lower => Value::Text(s.to_lowercase()),
                Func::Upper => Value::Text(s.to_uppercase()),
                _ => Value::Integer(s.chars().count() as i64),
            },
            other => {
                return Err(Error::type_mismatch(
                    format!("{name}()"),
                    "TEXT",
                    other.type_name(),
                ))
            }
        },
        Func::Round => {
            let digits = match vals.get(1).map(|v| v.as_ref()) {
                None => 0,
                Some(Value::Integer(d)) => (*d).clamp(-20, 20) as i32,
                Some(other) => {
                    return Err(Error::type_mismatch(
                        "round()",
                        "INTEGER",
                        other.type_name(),
                    ))
                }
            };
            match vals[0].as_ref() {
                Value::Integer(i) => Value::Integer(*i),
                Value::Real(r) => {
                    let p = 10f64.powi(digits);
                    Value::Real((r * p).round() / p)
                }
                other => {
                    return Err(Error::type_mismatch(
                        "round()",
                        "a number",
                        other.type_name(),
                    ))
                }
            }
        }
        Func::Coalesce => unreachable!("handled above"),
    })
}

fn func_name(f: Func) -> &'static str {
    match f {
        Func::L2Distance => "l2_distance",
        Func::CosineDistance => "cosine_distance",
        Func::InnerProduct => "inner_product",
        Func::VectorDims => "vector_dims",
        Func::VectorNorm => "vector_norm",
        Func::Abs => "abs",
        Func::Lower => "lower",
        Func::Upper => "upper",
        Func::Length => "length",
        Func::Round => "round",
        Func::Coalesce => "coalesce",
    }
}

/// One element of a `LIKE` pattern.
#[derive(Clone, Copy, PartialEq)]
enum LikeTok {
    /// `%`: any run of characters.
    Any,
    /// `_`: exactly one character.
    One,
    /// A character matched literally (also `\%`, `\_`, `\\`, `\x`).
    Lit(char),
}

/// SQL `LIKE`: `%` matches any run of characters, `_` exactly one, and `\` (PostgreSQL's
/// default escape character) makes the next character literal.
///
/// # Errors
/// A pattern ending in a lone `\` (as PostgreSQL: "LIKE pattern must not end with escape
/// character").
pub(crate) fn like(s: &str, p: &str) -> Result<bool> {
    let s: Vec<char> = s.chars().collect();
    let mut p_tokens = Vec::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        p_tokens.push(match c {
            '%' => LikeTok::Any,
            '_' => LikeTok::One,
            '\\' => LikeTok::Lit(chars.next().ok_or_else(|| {
                Error::invalid("LIKE pattern must not end with escape character")
            })?),
            c => LikeTok::Lit(c),
        });
    }
    let p = p_tokens;
    let (mut i, mut j) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while i < s.len() {
        let step = match p.get(j) {
            Some(LikeTok::One) => true,
            Some(LikeTok::Lit(c)) => *c == s[i],
            _ => false,
        };
        if step {
            i += 1;
            j += 1;
        } else if p.get(j) == Some(&LikeTok::Any) {
            star = Some(j);
            mark = i;
            j += 1;
        } else if let Some(st) = star {
            j = st + 1;
            mark += 1;
            i = mark;
        } else {
            return Ok(false);
        }
    }
    while p.get(j) == Some(&LikeTok::Any) {
        j += 1;
    }
    Ok(j == p.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let like = |s: &str, p: &str| like(s, p).unwrap();
        assert!(like("postgresql", "post%"));
        assert!(like("postgresql", "%sql"));
        assert!(like("abc", "a_c"));
        assert!(like("abc", "%"));
        assert!(!like("abc", "a_"));
        assert!(like("a%c", "a%c"));
        assert!(!like("", "_"));
        assert!(like("mississippi", "%iss%pi"));
        // `\` escapes the next character, as in PostgreSQL.
        assert!(like("a%", "a\\%"));
        assert!(!like("ab", "a\\%"));
        assert!(like("a_", "a\\_"));
        assert!(!like("ab", "a\\_"));
        assert!(like("a\\b", "a\\\\b"));
        assert!(like("ab", "a\\b"));
        assert!(!like("a\\b", "a\\b"));
        assert!(super::like("a", "a\\").is_err());
    }

    #[test]
    fn three_valued_logic() {
        let null = || Box::new(Expr::Literal(Value::Null));
        let t = || Box::new(Expr::Literal(Value::Boolean(true)));
        let f = || Box::new(Expr::Literal(Value::Boolean(false)));
        assert_eq!(
            eval_const(&Expr::Binary(BinOp::And, null(), f())).unwrap(),
            Value::Boolean(false)
        );
        assert_eq!(
            eval_const(&Expr::Binary(BinOp::Or, null(), t())).unwrap(),
            Value::Boolean(true)
        );
        assert_eq!(
            eval_const(&Expr::Binary(BinOp::And, null(), t())).unwrap(),
            Value::Null
        );
        assert_eq!(
            eval_const(&Expr::Binary(BinOp::Eq, null(), t())).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn arithmetic_errors() {
        let i = |v| Box::new(Expr::Literal(Value::Integer(v)));
        assert!(eval_const(&Expr::Binary(BinOp::Div, i(1), i(0))).is_err());
        assert!(eval_const(&Expr::Binary(BinOp::Add, i(i64::MAX), i(1))).is_err());
        assert_eq!(
            eval_const(&Expr::Binary(BinOp::Div, i(7), i(2))).unwrap(),
            Value::Integer(3)
        );
    }
}
