//! `SELECT` binding: a sqlparser query → a [`BoundSelect`], with the table resolved through
//! the [`Catalog`], the select list, `WHERE`, `GROUP BY`, `HAVING` and `ORDER BY` bound to
//! [`Expr`]s (aliases and positions resolved, aggregates collected into an [`AggPlan`]) and
//! `LIMIT` / `OFFSET` evaluated. Choosing how to find the rows is the planner's job
//! ([`crate::plan::plan_select`]).

use sqlparser::ast::{
    self as sql, GroupByExpr, LimitClause, OrderByKind, SelectItem, SetExpr, TableFactor,
};

use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::expr::{self, AggCall, Expr};
use crate::sql::bind::{self, Binder, SubqueryFn};
use crate::sql::Catalog;
use crate::value::Value;

/// Aggregation step of a `SELECT`: the `GROUP BY` keys, the aggregate calls, and `HAVING`
/// (over the keys and aggregates).
#[derive(Debug, Clone)]
pub(crate) struct AggPlan {
    pub group_by: Vec<Expr>,
    pub aggs: Vec<AggCall>,
    pub having: Option<Expr>,
}

/// A bound `SELECT`: names resolved, expressions bound and folded, `LIMIT` and `OFFSET`
/// evaluated. Projections, sort keys and `HAVING` of an aggregate query read group keys and
/// aggregates ([`Expr::GroupKey`], [`Expr::Agg`]), not columns.
#[derive(Debug, Clone)]
pub(crate) struct BoundSelect {
    pub table: Option<TableSchema>,
    pub filter: Option<Expr>,
    pub projections: Vec<Expr>,
    pub names: Vec<String>,
    pub aggregate: Option<AggPlan>,
    /// Sort keys and `true` for DESC.
    pub order_by: Vec<(Expr, bool)>,
    pub limit: Option<usize>,
    pub offset: usize,
}

/// Largest `LIMIT` / `OFFSET` accepted.
pub(crate) const MAX_LIMIT: i64 = 1 << 40;

fn const_usize(
    e: &sql::Expr,
    params: &[Value],
    subquery: SubqueryFn<'_>,
    what: &str,
) -> Result<usize> {
    let mut b = Binder {
        table: None,
        params,
        subquery,
        aggs: None,
    };
    match b.bind(e)? {
        Expr::Literal(Value::Integer(n)) if (0..=MAX_LIMIT).contains(&n) => Ok(n as usize),
        Expr::Literal(Value::Null) if what == "LIMIT" => Ok(usize::MAX),
        Expr::Literal(v) => Err(Error::invalid(format!(
            "{what} must be an integer between 0 and {MAX_LIMIT}, got {}",
            v.to_sql_literal()
        ))),
        _ => Err(Error::invalid(format!("{what} must be a constant"))),
    }
}

/// Binds a query.
///
/// # Errors
/// [`Error::Unsupported`] for SQL vectable does not have (CTEs, joins, `DISTINCT`, set
/// operations…); [`Error::NoSuchTable`] / [`Error::NoSuchColumn`]; [`Error::InvalidArgument`] for a bad
/// `LIMIT`, position or grouping; any binding error of an expression.
pub(crate) fn bind_select(
    query: &sql::Query,
    catalog: &dyn Catalog,
    params: &[Value],
    subquery: SubqueryFn<'_>,
) -> Result<BoundSelect> {
    if query.with.is_some() {
        return Err(Error::unsupported("WITH (common table expressions)"));
    }
    if query.fetch.is_some() || !query.locks.is_empty() {
        return Err(Error::unsupported("FETCH / FOR UPDATE"));
    }
    let select = match query.body.as_ref() {
        SetExpr::Select(s) => s,
        SetExpr::Query(_) => return Err(Error::unsupported("parenthesized query")),
        SetExpr::Values(_) => return Err(Error::unsupported("VALUES as a query")),
        _ => return Err(Error::unsupported("UNION / INTERSECT / EXCEPT")),
    };
    if select.distinct.is_some() {
        return Err(Error::unsupported("SELECT DISTINCT"));
    }
    let table = match select.from.as_slice() {
        [] => None,
        [twj] => {
            if !twj.joins.is_empty() {
                return Err(Error::unsupported("joins"));
            }
            match &twj.relation {
                TableFactor::Table {
                    name, args: None, ..
                } => Some(catalog.table(&bind::object_name(name)?)?),
                _ => return Err(Error::unsupported("FROM other than a table name")),
            }
        }
        _ => return Err(Error::unsupported("joins (several tables in FROM)")),
    };

    let (limit, offset) = match &query.limit_clause {
        None => (None, 0),
        Some(LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(Error::unsupported("LIMIT BY"));
            }
            let l = limit
                .as_ref()
                .map(|e| const_usize(e, params, subquery, "LIMIT"))
                .transpose()?;
            let o = offset
                .as_ref()
                .map(|o| const_usize(&o.value, params, subquery, "OFFSET"))
                .transpose()?
                .unwrap_or(0);
            (l.filter(|&l| l != usize::MAX), o)
        }
        Some(LimitClause::OffsetCommaLimit { .. }) => return Err(Error::unsupported("LIMIT a, b")),
    };

    let mut binder = Binder {
        table: table.as_ref(),
        params,
        subquery,
        aggs: Some(Vec::new()),
    };

    // Projections.
    let mut projections = Vec::new();
    let mut names = Vec::new();
    for item in &select.projection {
        match item {
            SelectItem::UnnamedExpr(e) => {
                names.push(output_name(e));
                projections.push(binder.bind(e)?);
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                names.push(bind::ident_name(alias));
                projections.push(binder.bind(expr)?);
            }
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                let t = table
                    .as_ref()
                    .ok_or_else(|| Error::invalid("SELECT * needs a FROM clause"))?;
                for (i, c) in t.columns.iter().enumerate() {
                    names.push(c.name.clone());
                    projections.push(Expr::Column(i));
                }
            }
            other => return Err(Error::unsupported(format!("select item {other}"))),
        }
    }

    // WHERE: no aggregates.
    let filter = match &select.selection {
        Some(e) => {
            let mut wb = Binder {
                table: table.as_ref(),
                params,
                subquery,
                aggs: None,
            };
            Some(wb.bind(e)?)
        }
        None => None,
    };

    let group_exprs: Vec<Expr> = match &select.group_by {
        GroupByExpr::Expressions(exprs, mods) if mods.is_empty() => {
            let mut gb = Binder {
                table: table.as_ref(),
                params,
                subquery,
                aggs: None,
            };
            exprs
                .iter()
                .map(|e| match positional(e, &projections)? {
                    Some(p) => Ok(p),
                    None => gb.bind(e),
                })
                .collect::<Result<_>>()?
        }
        _ => return Err(Error::unsupported("GROUP BY ALL / ROLLUP / CUBE")),
    };
    let having = select.having.as_ref().map(|h| binder.bind(h)).transpose()?;

    // ORDER BY: an output alias, an output position, or an expression.
    let mut order_by = Vec::new();
    if let Some(ob) = &query.order_by {
        let OrderByKind::Expressions(items) = &ob.kind else {
            return Err(Error::unsupported("ORDER BY ALL"));
        };
        for item in items {
            if item.options.nulls_first.is_some() {
                return Err(Error::unsupported(
                    "NULLS FIRST / NULLS LAST (NULLs sort last ascending, first descending)",
                ));
            }
            let desc = item.options.sort == Some(sql::OrderBySort::Desc);
            let bound = match alias_ref(&item.expr, &names, &projections) {
                Some(e) => e,
                None => match positional(&item.expr, &projections)? {
                    Some(e) => e,
                    None => binder.bind(&item.expr)?,
                },
            };
            order_by.push((bound, desc));
        }
    }

    let aggs = binder.aggs.take().unwrap_or_default();
    let aggregate = if !aggs.is_empty() || !group_exprs.is_empty() || having.is_some() {
        let t_owned;
        let t = match table.as_ref() {
            Some(t) => t,
            None => {
                t_owned = TableSchema {
                    id: 0,
                    name: String::new(),
                    columns: vec![],
                    primary_key: None,
                    extras: Vec::new(),
                };
                &t_owned
            }
        };
        projections = projections
            .into_iter()
            .map(|e| expr::over_groups(e, &group_exprs, t))
            .collect::<Result<_>>()?;
        order_by = order_by
            .into_iter()
            .map(|(e, d)| Ok((expr::over_groups(e, &group_exprs, t)?, d)))
            .collect::<Result<_>>()?;
        let having = having
            .map(|h| expr::over_groups(h, &group_exprs, t))
            .transpose()?;
        Some(AggPlan {
            group_by: group_exprs,
            aggs,
            having,
        })
    } else {
        None
    };

    Ok(BoundSelect {
        table,
        filter,
        projections,
        names,
        aggregate,
        order_by,
        limit,
        offset,
    })
}

/// `ORDER BY 2` → the second output expression.
fn positional(e: &sql::Expr, projections: &[Expr]) -> Result<Option<Expr>> {
    if let sql::Expr::Value(v) = e {
        if let sql::Value::Number(n, _) = &v.value {
            let i: usize = n
                .parse()
                .map_err(|_| Error::invalid(format!("bad position {n}")))?;
            return projections
                .get(i.wrapping_sub(1))
                .cloned()
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("position {i} is not in the select list")));
        }
    }
    Ok(None)
}

/// `ORDER BY dist` where `dist` is an output alias.
fn alias_ref(e: &sql::Expr, names: &[String], projections: &[Expr]) -> Option<Expr> {
    let sql::Expr::Identifier(id) = e else {
        return None;
    };
    let name = bind::ident_name(id);
    names
        .iter()
        .position(|n| *n == name)
        .map(|i| projections[i].clone())
}

fn output_name(e: &sql::Expr) -> String {
    match e {
        sql::Expr::Identifier(id) => bind::ident_name(id),
        sql::Expr::CompoundIdentifier(parts) => {
            parts.last().map(bind::ident_name).unwrap_or_default()
        }
        sql::Expr::Function(f) => f.name.to_string().to_lowercase(),
        other => other.to_string(),
    }
}
