//! Binding: sqlparser expressions (`SqlExpr`) → vectable's [`Expr`], with column names
//! resolved against the table, `$n` parameters substituted, scalar subqueries evaluated once,
//! aggregates collected, vector literals parsed and checked against the column they meet,
//! and constant subexpressions folded.

use sqlparser::ast::{
    self as sql, BinaryOperator, DataType as SqlDataType, Expr as SqlExpr, FunctionArg,
    FunctionArgExpr, FunctionArguments, UnaryOperator, Value as SqlValue,
};

use crate::catalog::{Metric, TableSchema};
use crate::error::{Error, Result};
use crate::expr::eval::eval_const;
use crate::expr::{is_constant, AggCall, AggFunc, BinOp, Expr, Func};
use crate::value::{self, DataType, Value};

/// Evaluates an uncorrelated scalar subquery (provided by the executor).
pub(crate) type SubqueryFn<'a> = &'a dyn Fn(&sql::Query) -> Result<Value>;

/// Binding context.
pub(crate) struct Binder<'a> {
    pub table: Option<&'a TableSchema>,
    pub params: &'a [Value],
    pub subquery: SubqueryFn<'a>,
    /// Where aggregates go; `None` where aggregates are not allowed.
    pub aggs: Option<Vec<AggCall>>,
}

/// Unquoted identifiers fold to lower case, as in PostgreSQL; quoted ones keep their case.
pub(crate) fn ident_name(id: &sql::Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

/// The last part of an object name (`schema.table` → `table`), folded like [`ident_name`].
pub(crate) fn object_name(name: &sql::ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .map(ident_name)
            .ok_or_else(|| Error::unsupported(format!("name {name}"))),
        _ => Err(Error::unsupported(format!(
            "qualified name {name} (schemas are not supported)"
        ))),
    }
}

/// Parses a sqlparser number literal.
pub(crate) fn number(text: &str) -> Result<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::Integer(i));
    }
    text.parse::<f64>()
        .map(Value::Real)
        .map_err(|_| Error::invalid(format!("bad number {text}")))
}

/// Converts a SQL data type to a column type.
pub(crate) fn data_type(ty: &SqlDataType) -> Result<DataType> {
    use SqlDataType as T;
    Ok(match ty {
        T::Integer(_)
        | T::Int(_)
        | T::BigInt(_)
        | T::SmallInt(_)
        | T::Int2(_)
        | T::Int4(_)
        | T::Int8(_)
        | T::TinyInt(_) => DataType::Integer,
        T::Real
        | T::Double(_)
        | T::DoublePrecision
        | T::Float(_)
        | T::Float4
        | T::Float8
        | T::Float32
        | T::Float64
        | T::Numeric(_)
        | T::Decimal(_) => DataType::Real,
        T::Text
        | T::Varchar(_)
        | T::Char(_)
        | T::CharacterVarying(_)
        | T::Character(_)
        | T::String(_) => DataType::Text,
        T::Boolean | T::Bool => DataType::Boolean,
        T::Custom(name, mods) => {
            let n = name.to_string().to_ascii_lowercase();
            match n.as_str() {
                "vector" => {
                    let dims = match mods.as_slice() {
                        [d] => d.parse::<usize>().ok(),
                        _ => None,
                    }
                    .ok_or_else(|| Error::invalid("VECTOR needs its dimensions: VECTOR(n)"))?;
                    if dims == 0 || dims > value::MAX_VECTOR_DIMS {
                        return Err(Error::invalid(format!(
                            "VECTOR({dims}): dimensions must be between 1 and {}",
                            value::MAX_VECTOR_DIMS
                        )));
                    }
                    DataType::Vector(dims)
                }
                "int" | "integer" | "bigint" => DataType::Integer,
                "double" | "float" | "real" => DataType::Real,
                "string" => DataType::Text,
                _ => return Err(Error::unsupported(format!("data type {ty}"))),
            }
        }
        _ => return Err(Error::unsupported(format!("data type {ty}"))),
    })
}

/// The deepest expression nesting accepted (SQLite's default limit). Binding, folding and
/// evaluation recurse once per level, and sqlparser builds a left-deep chain such as
/// `1 + 1 + ... + 1` without recursing (so its own recursion limit does not apply): 8,000
/// terms overflowed a 2 MiB thread stack and aborted the process.
pub(crate) const MAX_EXPR_DEPTH: usize = 1000;

thread_local! {
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Binder<'_> {
    fn column(&self, name: &str) -> Result<Expr> {
        match self.table {
            Some(t) => Ok(Expr::Column(t.require_column(name)?)),
            None => Err(Error::NoSuchColumn {
                table: String::new(),
                column: name.to_string(),
            }),
        }
    }

    fn column_type(&self, e: &Expr) -> Option<(String, DataType)> {
        match (e, self.table) {
            (Expr::Column(i), Some(t)) => Some((t.qualified(*i), t.columns[*i].data_type)),
            _ => None,
        }
    }

    /// Binds an expression and folds it if it is constant.
    pub fn bind(&mut self, e: &SqlExpr) -> Result<Expr> {
        let bound = self.bind_inner(e)?;
        fold(bound)
    }

    /// Binds an expression that must be constant (an `INSERT` value) and evaluates it.
    pub fn bind_value(&mut self, e: &SqlExpr) -> Result<Value> {
        match self.bind(e)? {
            Expr::Literal(v) => Ok(v),
            other => eval_const(&other),
        }
    }

    /// Binds one level, refusing nesting deeper than [`MAX_EXPR_DEPTH`] (counted across the
    /// nested binders of subqueries, on this thread).
    fn bind_inner(&mut self, e: &SqlExpr) -> Result<Expr> {
        struct Level;
        impl Drop for Level {
            fn drop(&mut self) {
                DEPTH.with(|d| d.set(d.get() - 1));
            }
        }
        let depth = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let _level = Level;
        if depth > MAX_EXPR_DEPTH {
            return Err(Error::Parse {
                message: format!(
                    "expression nested too deeply (more than {MAX_EXPR_DEPTH} levels)"
                ),
                line: 1,
                column: 1,
            });
        }
        self.bind_level(e)
    }

    fn bind_level(&mut self, e: &SqlExpr) -> Result<Expr> {
        Ok(match e {
            SqlExpr::Identifier(id) => self.column(&ident_name(id))?,
            SqlExpr::CompoundIdentifier(parts) => {
                let (Some(col), Some(t)) = (parts.last(), self.table) else {
                    return Err(Error::unsupported(format!("name {e}")));
                };
                if parts.len() == 2 && !ident_name(&parts[0]).eq_ignore_ascii_case(&t.name) {
                    return Err(Error::NoSuchTable(ident_name(&parts[0])));
                }
                self.column(&ident_name(col))?
            }
            SqlExpr::Value(v) => Expr::Literal(self.literal(&v.value)?),
            SqlExpr::Nested(inner) => self.bind_inner(inner)?,
            SqlExpr::UnaryOp { op, expr } => {
                let inner = self.bind_inner(expr)?;
                match op {
                    UnaryOperator::Minus => Expr::Neg(Box::new(inner)),
                    UnaryOperator::Plus => inner,
                    UnaryOperator::Not => Expr::Not(Box::new(inner)),
                    _ => return Err(Error::unsupported(format!("operator {op}"))),
                }
            }
            SqlExpr::BinaryOp { left, op, right } => {
                let l = self.bind_inner(left)?;
                let r = self.bind_inner(right)?;
                let op = match op {
                    BinaryOperator::Plus => BinOp::Add,
                    BinaryOperator::Minus => BinOp::Sub,
                    BinaryOperator::Multiply => BinOp::Mul,
                    BinaryOperator::Divide => BinOp::Div,
                    BinaryOperator::Modulo => BinOp::Mod,
                    BinaryOperator::Eq => BinOp::Eq,
                    BinaryOperator::NotEq => BinOp::NotEq,
                    BinaryOperator::Lt => BinOp::Lt,
                    BinaryOperator::LtEq => BinOp::LtEq,
                    BinaryOperator::Gt => BinOp::Gt,
                    BinaryOperator::GtEq => BinOp::GtEq,
                    BinaryOperator::And => BinOp::And,
                    BinaryOperator::Or => BinOp::Or,
                    BinaryOperator::StringConcat => BinOp::Concat,
                    BinaryOperator::LtDashGt => BinOp::Distance(Metric::L2),
                    BinaryOperator::Spaceship => BinOp::Distance(Metric::Cosine),
                    BinaryOperator::Custom(s) if s == "<#>" => {
                        BinOp::Distance(Metric::InnerProduct)
                    }
                    other => return Err(Error::unsupported(format!("operator {other}"))),
                };
                if let BinOp::Distance(m) = op {
                    let (l, r) = self.vector_operands(l, r, m.operator())?;
                    return Ok(Expr::Binary(op, Box::new(l), Box::new(r)));
                }
                Expr::Binary(op, Box::new(l), Box::new(r))
            }
            SqlExpr::IsNull(x) => Expr::IsNull(Box::new(self.bind_inner(x)?), false),
            SqlExpr::IsNotNull(x) => Expr::IsNull(Box::new(self.bind_inner(x)?), true),
            // `x IS [NOT] TRUE / FALSE` is never NULL: `coalesce(x = TRUE, FALSE)` (the `=`
            // keeps the type check: `1 IS TRUE` is an error, as in PostgreSQL).
            SqlExpr::IsTrue(x) => self.is_bool(x, true, false)?,
            SqlExpr::IsNotTrue(x) => self.is_bool(x, true, true)?,
            SqlExpr::IsFalse(x) => self.is_bool(x, false, false)?,
            SqlExpr::IsNotFalse(x) => self.is_bool(x, false, true)?,
            SqlExpr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: Box::new(self.bind_inner(expr)?),
                list: list
                    .iter()
                    .map(|x| self.bind_inner(x))
                    .collect::<Result<_>>()?,
                negated: *negated,
            },
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => Expr::Between {
                expr: Box::new(self.bind_inner(expr)?),
                low: Box::new(self.bind_inner(low)?),
                high: Box::new(self.bind_inner(high)?),
                negated: *negated,
            },
            SqlExpr::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            } => {
                if escape_char.is_some() || *any {
                    return Err(Error::unsupported("LIKE ... ESCAPE / LIKE ANY"));
                }
                Expr::Like {
                    expr: Box::new(self.bind_inner(expr)?),
                    pattern: Box::new(self.bind_inner(pattern)?),
                    negated: *negated,
                    case_insensitive: false,
                }
            }
            SqlExpr::ILike {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            } => {
                if escape_char.is_some() || *any {
                    return Err(Error::unsupported("ILIKE ... ESCAPE / ILIKE ANY"));
                }
                Expr::Like {
                    expr: Box::new(self.bind_inner(expr)?),
                    pattern: Box::new(self.bind_inner(pattern)?),
                    negated: *negated,
                    case_insensitive: true,
                }
            }
            SqlExpr::Array(arr) => {
                let elems: Vec<Expr> = arr
                    .elem
                    .iter()
                    .map(|x| self.bind_inner(x))
                    .collect::<Result<_>>()?;
                Expr::Array(elems)
            }
            SqlExpr::Cast {
                expr,
                data_type: ty,
                ..
            } => {
                let inner = self.bind_inner(expr)?;
                // `::vector` without dimensions casts to a vector of any length (pgvector).
                let target = match ty {
                    SqlDataType::Custom(name, mods)
                        if mods.is_empty() && name.to_string().eq_ignore_ascii_case("vector") =>
                    {
                        DataType::Vector(0)
                    }
                    _ => data_type(ty)?,
                };
                Expr::Cast(Box::new(inner), target)
            }
            SqlExpr::Subquery(q) => Expr::Literal((self.subquery)(q)?),
            SqlExpr::Function(f) => self.function(f)?,
            SqlExpr::TypedString(ts) => {
                let text = match &ts.value.value {
                    SqlValue::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                Expr::Cast(
                    Box::new(Expr::Literal(Value::Text(text))),
                    data_type(&ts.data_type)?,
                )
            }
            other => return Err(Error::unsupported(format!("expression {other}"))),
        })
    }

    /// `x IS [NOT] <value>` for a boolean `value`: TRUE or FALSE, never NULL.
    fn is_bool(&mut self, x: &SqlExpr, value: bool, negated: bool) -> Result<Expr> {
        let is = Expr::Func(
            Func::Coalesce,
            vec![
                Expr::Binary(
                    BinOp::Eq,
                    Box::new(self.bind_inner(x)?),
                    Box::new(Expr::Literal(Value::Boolean(value))),
                ),
                Expr::Literal(Value::Boolean(false)),
            ],
        );
        Ok(if negated { Expr::Not(Box::new(is)) } else { is })
    }

    fn literal(&self, v: &SqlValue) -> Result<Value> {
        Ok(match v {
            SqlValue::Number(n, _) => number(n)?,
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => {
                Value::Text(s.clone())
            }
            SqlValue::EscapedStringLiteral(s) => Value::Text(s.clone()),
            SqlValue::Boolean(b) => Value::Boolean(*b),
            SqlValue::Null => Value::Null,
            SqlValue::Placeholder(p) => {
                let n: usize = p
                    .strip_prefix('$')
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| Error::Parameter(format!("placeholder {p}: use $1, $2, …")))?;
                if n == 0 {
                    return Err(Error::Parameter("parameters are numbered from $1".into()));
                }
                self.params.get(n - 1).cloned().ok_or_else(|| {
                    Error::Parameter(format!(
                        "${n} was used but {} parameter(s) were given",
                        self.params.len()
                    ))
                })?
            }
            other => return Err(Error::unsupported(format!("literal {other}"))),
        })
    }

    /// Makes both operands of a distance operator vectors: text and array literals become
    /// vectors, and a constant meeting a vector column must have that column's dimensions.
    fn vector_operands(&self, l: Expr, r: Expr, op: &str) -> Result<(Expr, Expr)> {
        let l = fold(l)?;
        let r = fold(r)?;
        let lt = self.column_type(&l);
        let rt = self.column_type(&r);
        let fix = |e: Expr, other: &Option<(String, DataType)>| -> Result<Expr> {
            match e {
                Expr::Literal(v) => {
                    let (context, dims) = match other {
                        Some((name, DataType::Vector(n))) => (name.clone(), Some(*n)),
                        Some((name, ty)) => {
                            return Err(Error::type_mismatch(
                                format!("operator {op}"),
                                "VECTOR",
                                format!("{ty} column {name}"),
                            ))
                        }
                        None => (format!("operator {op}"), None),
                    };
                    let v = match v {
                        Value::Null => return Ok(Expr::Literal(Value::Null)),
                        Value::Text(s) => value::parse_vector(&s, &context)?,
                        Value::Vector(v) => {
                            value::check_finite(&v, &context)?;
                            v
                        }
                        other => {
                            return Err(Error::type_mismatch(
                                format!("operator {op}"),
                                "VECTOR",
                                other.type_name(),
                            ))
                        }
                    };
                    if let Some(n) = dims {
                        if v.len() != n {
                            return Err(Error::DimensionMismatch {
                                column: context,
                                expected: n,
                                found: v.len(),
                            });
                        }
                    }
                    Ok(Expr::Literal(Value::Vector(v)))
                }
                e => Ok(e),
            }
        };
        let l2 = fix(l, &rt)?;
        let r2 = fix(r, &lt)?;
        for (t, name) in [(&lt, "left"), (&rt, "right")] {
            if let Some((col, ty)) = t {
                if !matches!(ty, DataType::Vector(_)) {
                    return Err(Error::type_mismatch(
                        format!("{name} operand of {op}"),
                        "VECTOR",
                        format!("{ty} column {col}"),
                    ));
                }
            }
        }
        Ok((l2, r2))
    }

    fn function(&mut self, f: &sql::Function) -> Result<Expr> {
        let name = f.name.to_string().to_ascii_lowercase();
        if f.over.is_some() || f.filter.is_some() {
            return Err(Error::unsupported(format!("window or FILTER on {name}")));
        }
        let (args, distinct) = match &f.args {
            FunctionArguments::None => (Vec::new(), false),
            FunctionArguments::List(list) => {
                let distinct = list.duplicate_treatment == Some(sql::DuplicateTreatment::Distinct);
                (list.args.clone(), distinct)
            }
            FunctionArguments::Subquery(_) => {
                return Err(Error::unsupported(format!("{name}(subquery)")))
            }
        };
        let agg = match name.as_str() {
            "count" => Some(AggFunc::Count),
            "sum" => Some(AggFunc::Sum),
            "avg" => Some(AggFunc::Avg),
            "min" => Some(AggFunc::Min),
            "max" => Some(AggFunc::Max),
            _ => None,
        };
        if let Some(mut func) = agg {
            if distinct {
                return Err(Error::unsupported(format!("{name}(DISTINCT ...)")));
            }
            if self.aggs.is_none() {
                return Err(Error::invalid(format!(
                    "aggregate {name}() is not allowed here"
                )));
            }
            let arg = match args.as_slice() {
                [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if func == AggFunc::Count => {
                    func = AggFunc::CountStar;
                    None
                }
                [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => {
                    // Aggregates do not nest: bind the argument with aggregates disallowed.
                    let saved = self.aggs.take();
                    let bound = self.bind_inner(e);
                    self.aggs = saved;
                    Some(bound?)
                }
                _ => return Err(Error::invalid(format!("{name}() takes one argument"))),
            };
            let aggs = self.aggs.as_mut().expect("checked above");
            let call = AggCall { func, arg };
            let i = match aggs.iter().position(|a| *a == call) {
                Some(i) => i,
                None => {
                    aggs.push(call);
                    aggs.len() - 1
                }
            };
            return Ok(Expr::Agg(i));
        }
        let mut bound = Vec::with_capacity(args.len());
        for a in &args {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => bound.push(self.bind_inner(e)?),
                _ => return Err(Error::unsupported(format!("argument {a} of {name}()"))),
            }
        }
        let (func, arity) = match name.as_str() {
            "l2_distance" => (Func::L2Distance, 2),
            "cosine_distance" => (Func::CosineDistance, 2),
            "inner_product" => (Func::InnerProduct, 2),
            "vector_dims" => (Func::VectorDims, 1),
            "vector_norm" => (Func::VectorNorm, 1),
            "abs" => (Func::Abs, 1),
            "lower" => (Func::Lower, 1),
            "upper" => (Func::Upper, 1),
            "length" | "char_length" => (Func::Length, 1),
            "round" => (Func::Round, usize::MAX),
            "coalesce" => (Func::Coalesce, usize::MAX),
            _ => return Err(Error::unsupported(format!("function {name}()"))),
        };
        if arity != usize::MAX && bound.len() != arity {
            return Err(Error::invalid(format!(
                "{name}() takes {arity} argument(s), got {}",
                bound.len()
            )));
        }
        if func == Func::Round && !(1..=2).contains(&bound.len()) {
            return Err(Error::invalid("round() takes 1 or 2 arguments"));
        }
        if func == Func::Coalesce && bound.is_empty() {
            return Err(Error::invalid("coalesce() needs at least one argument"));
        }
        match func {
            Func::L2Distance | Func::CosineDistance | Func::InnerProduct => {
                let r = bound.pop().expect("arity 2");
                let l = bound.pop().expect("arity 2");
                let (l, r) = self.vector_operands(l, r, &format!("{name}()"))?;
                Ok(Expr::Func(func, vec![l, r]))
            }
            Func::VectorDims | Func::VectorNorm => {
                let a = fold(bound.pop().expect("arity 1"))?;
                let a = match a {
                    Expr::Literal(Value::Text(s)) => Expr::Literal(Value::Vector(
                        value::parse_vector(&s, &format!("{name}()"))?,
                    )),
                    e => e,
                };
                Ok(Expr::Func(func, vec![a]))
            }
            _ => Ok(Expr::Func(func, bound)),
        }
    }
}

/// Evaluates constant subexpressions once.
fn fold(e: Expr) -> Result<Expr> {
    if is_constant(&e) && !matches!(e, Expr::Literal(_)) {
        Ok(Expr::Literal(eval_const(&e)?))
    } else {
        Ok(e)
    }
}
