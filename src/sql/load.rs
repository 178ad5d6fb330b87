//! Loading without a hand-written `CREATE TABLE`: the SQL side of files read as tables and of
//! `CREATE TABLE t AS SELECT …` / `CREATE TABLE t AS FROM 'file'`.
//!
//! - [`rewrite_as_from`]: duckdb's `CREATE TABLE t AS FROM …` becomes `… AS SELECT * FROM …`
//!   before sqlparser sees it (sqlparser's PostgreSQL dialect has no FROM-first queries).
//! - [`file_source`]: the path of `SELECT … FROM 'path'` (sqlparser parses a single-quoted
//!   name in `FROM` as an identifier quoted with `'`; a table name is never quoted that way).
//! - [`FileCatalog`]: the catalog the binder sees for such a query, with the file's schema
//!   under the path.
//! - [`output_types`]: the types of a bound query's select list, as far as the expressions
//!   tell; [`column_types`] settles each column from the values, falling back to those.

use sqlparser::ast::{self as sql, SetExpr, TableFactor};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

use crate::catalog::{IndexMeta, SecondaryIndex, TableSchema};
use crate::error::{Error, Result};
use crate::expr::{AggFunc, BinOp, Expr, Func};
use crate::sql::select::AggPlan;
use crate::sql::Catalog;
use crate::value::{DataType, Value};

/// Turns `CREATE TABLE … AS FROM …` into `CREATE TABLE … AS SELECT * FROM …` by inserting
/// tokens: only in a statement that starts with `CREATE`, at the first `AS` followed by `FROM`
/// outside parentheses.
pub(crate) fn rewrite_as_from(tokens: &mut Vec<TokenWithSpan>) {
    let significant: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t.token, Token::Whitespace(_)))
        .map(|(i, _)| i)
        .collect();
    let keyword =
        |i: usize, k: Keyword| matches!(&tokens[i].token, Token::Word(w) if w.keyword == k);
    if !significant
        .first()
        .is_some_and(|&i| keyword(i, Keyword::CREATE))
    {
        return;
    }
    let mut depth = 0i32;
    for pair in significant.windows(2) {
        match tokens[pair[0]].token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if depth == 0 && keyword(pair[0], Keyword::AS) && keyword(pair[1], Keyword::FROM) {
            let at = pair[1];
            let space = || TokenWithSpan::wrap(Token::Whitespace(Whitespace::Space));
            tokens.splice(
                at..at,
                [
                    TokenWithSpan::wrap(Token::make_keyword("SELECT")),
                    space(),
                    TokenWithSpan::wrap(Token::Mul),
                    space(),
                ],
            );
            return;
        }
    }
}

/// The file a query reads: `Some(path)` when its `FROM` is one single-quoted name
/// (`SELECT … FROM 'data/items.parquet'`).
pub(crate) fn file_source(q: &sql::Query) -> Option<&str> {
    let SetExpr::Select(select) = q.body.as_ref() else {
        return None;
    };
    let [twj] = select.from.as_slice() else {
        return None;
    };
    let TableFactor::Table { name, .. } = &twj.relation else {
        return None;
    };
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .filter(|id| id.quote_style == Some('\''))
            .map(|id| id.value.as_str()),
        _ => None,
    }
}

/// The file an `INSERT … SELECT` reads, as [`file_source`].
pub(crate) fn insert_file_source(ins: &sql::Insert) -> Option<&str> {
    ins.source.as_deref().and_then(file_source)
}

/// A catalog that also has a file's schema, under its path (as [`file_source`] returns it).
pub(crate) struct FileCatalog<'a> {
    pub inner: &'a dyn Catalog,
    pub path: &'a str,
    pub schema: &'a TableSchema,
}

impl Catalog for FileCatalog<'_> {
    fn table(&self, name: &str) -> Result<TableSchema> {
        if name == self.path {
            Ok(self.schema.clone())
        } else {
            self.inner.table(name)
        }
    }
    fn tables(&self) -> Vec<TableSchema> {
        self.inner.tables()
    }
    fn indexes(&self) -> Vec<IndexMeta> {
        self.inner.indexes()
    }
    fn index(&self, table_id: u64, column: usize) -> Option<IndexMeta> {
        self.inner.index(table_id, column)
    }
    fn secondary_indexes(&self) -> Vec<(TableSchema, SecondaryIndex)> {
        self.inner.secondary_indexes()
    }
}

/// The type of each select-list expression, when the expression tells it (a column, a cast,
/// a distance, a comparison, `count(*)`…); `None` when it does not (`NULL`, `coalesce` of
/// `NULL`s).
pub(crate) fn output_types(
    table: Option<&TableSchema>,
    projections: &[Expr],
    aggregate: Option<&AggPlan>,
) -> Vec<Option<DataType>> {
    projections
        .iter()
        .map(|e| expr_type(e, table, aggregate))
        .collect()
}

fn value_type(v: &Value) -> Option<DataType> {
    Some(match v {
        Value::Integer(_) => DataType::Integer,
        Value::Real(_) => DataType::Real,
        Value::Text(_) => DataType::Text,
        Value::Boolean(_) => DataType::Boolean,
        Value::Vector(v) => DataType::Vector(v.len()),
        _ => return None,
    })
}

fn expr_type(e: &Expr, table: Option<&TableSchema>, agg: Option<&AggPlan>) -> Option<DataType> {
    let ty = |x: &Expr| expr_type(x, table, agg);
    let numeric = |a: &Expr, b: &Expr| match (ty(a), ty(b)) {
        (Some(DataType::Integer), Some(DataType::Integer)) => Some(DataType::Integer),
        (Some(DataType::Real), _) | (_, Some(DataType::Real)) => Some(DataType::Real),
        _ => None,
    };
    match e {
        Expr::Literal(v) => value_type(v),
        Expr::Column(i) => table?.columns.get(*i).map(|c| c.data_type),
        Expr::GroupKey(i) => expr_type(agg?.group_by.get(*i)?, table, None),
        Expr::Agg(i) => {
            let call = agg?.aggs.get(*i)?;
            let arg = call.arg.as_ref().and_then(|a| expr_type(a, table, None));
            match call.func {
                AggFunc::CountStar | AggFunc::Count => Some(DataType::Integer),
                AggFunc::Avg => Some(DataType::Real),
                AggFunc::Sum => match arg {
                    Some(DataType::Integer) => Some(DataType::Integer),
                    _ => Some(DataType::Real),
                },
                AggFunc::Min | AggFunc::Max => arg,
            }
        }
        Expr::Neg(x) => ty(x),
        Expr::Not(_)
        | Expr::IsNull(..)
        | Expr::InList { .. }
        | Expr::Between { .. }
        | Expr::Like { .. } => Some(DataType::Boolean),
        Expr::Binary(op, a, b) => match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => numeric(a, b),
            BinOp::Concat => Some(DataType::Text),
            BinOp::Distance(_) => Some(DataType::Real),
            _ => Some(DataType::Boolean),
        },
        Expr::Func(f, args) => match f {
            Func::L2Distance | Func::CosineDistance | Func::InnerProduct | Func::VectorNorm => {
                Some(DataType::Real)
            }
            Func::VectorDims | Func::Length => Some(DataType::Integer),
            Func::Lower | Func::Upper => Some(DataType::Text),
            Func::Abs | Func::Round => args.first().and_then(ty),
            Func::Coalesce => args.iter().find_map(ty),
        },
        Expr::Cast(_, t) => Some(*t),
        Expr::Array(items) => Some(DataType::Vector(items.len())),
    }
}

/// The column type of each output column of a `CREATE TABLE … AS`: the type of its non-NULL
/// values (`INTEGER` and `REAL` together make `REAL`), else the expression's type from
/// [`output_types`], else `TEXT` (a column of `NULL`s only).
///
/// # Errors
/// [`Error::TypeMismatch`] naming the column when its values have two types (`TEXT` and
/// `INTEGER` from a `coalesce`), or vectors of two lengths.
pub(crate) fn column_types(
    names: &[String],
    rows: &[Vec<Value>],
    static_types: &[Option<DataType>],
) -> Result<Vec<DataType>> {
    (0..names.len())
        .map(|c| {
            let mut seen: Option<DataType> = None;
            for row in rows {
                let Some(t) = row.get(c).and_then(value_type) else {
                    continue;
                };
                seen = Some(match (seen, t) {
                    (None, t) => t,
                    (Some(a), b) if a == b => a,
                    (Some(DataType::Integer), DataType::Real)
                    | (Some(DataType::Real), DataType::Integer) => DataType::Real,
                    (Some(a), b) => {
                        return Err(Error::type_mismatch(
                            format!("column {} of CREATE TABLE AS", names[c]),
                            a.to_string(),
                            format!("{b} (CAST the expression to one type)"),
                        ))
                    }
                });
            }
            Ok(seen
                .or(static_types.get(c).copied().flatten())
                .unwrap_or(DataType::Text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{parse_one, Parsed};
    use sqlparser::ast::Statement as SqlStatement;

    fn query(sql: &str) -> Box<sql::Query> {
        match parse_one(sql).unwrap().0 {
            Parsed::Sql(s) => match *s {
                SqlStatement::Query(q) => q,
                SqlStatement::CreateTable(ct) => ct.query.expect("AS query"),
                other => panic!("{other}"),
            },
            Parsed::Checkpoint => panic!(),
        }
    }

    #[test]
    fn a_quoted_from_is_a_file() {
        assert_eq!(
            file_source(&query("SELECT * FROM 'data/x.parquet' WHERE a > 1")),
            Some("data/x.parquet")
        );
        assert_eq!(file_source(&query("SELECT * FROM \"x\"")), None);
        assert_eq!(file_source(&query("SELECT * FROM x")), None);
        assert_eq!(
            file_source(&query("CREATE TABLE t AS SELECT a FROM 'f.csv'")),
            Some("f.csv")
        );
    }

    #[test]
    fn as_from_becomes_select_star() {
        let q = query("CREATE TABLE t AS FROM 'f.parquet' WHERE id < 3");
        assert_eq!(file_source(&q), Some("f.parquet"));
        assert_eq!(q.to_string(), "SELECT * FROM 'f.parquet' WHERE id < 3");
        // Elsewhere nothing changes.
        assert!(parse_one("SELECT a AS from_x FROM t").is_ok());
    }

    #[test]
    fn column_types_from_values_then_expressions() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let rows = vec![
            vec![Value::Integer(1), Value::Null, Value::Null],
            vec![Value::Real(1.5), Value::Null, Value::Null],
        ];
        let types = column_types(&names, &rows, &[None, Some(DataType::Vector(3)), None]).unwrap();
        assert_eq!(
            types,
            vec![DataType::Real, DataType::Vector(3), DataType::Text]
        );
        let bad = vec![vec![Value::Integer(1)], vec![Value::Text("x".into())]];
        assert!(matches!(
            column_types(&names[..1], &bad, &[None]),
            Err(Error::TypeMismatch { .. })
        ));
    }
}
