//! DML binding: `INSERT` (target columns and `VALUES` rows, or a bound `SELECT`), `UPDATE`
//! (assignments and filter) and `DELETE` (filter), each against the table's schema.
//!
//! Nothing is written here: the bound statements go to [`crate::exec::write`].

use sqlparser::ast as sql;

use crate::catalog::{Identity, TableSchema};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::row::Rows;
use crate::sql::bind::{self, Binder, SubqueryFn};
use crate::sql::select::{bind_select, BoundSelect};
use crate::sql::Catalog;
use crate::value::{coerce, Value};

/// A bound `INSERT`.
#[derive(Debug, Clone)]
pub(crate) struct Insert {
    pub table: TableSchema,
    /// The table column each source value goes to, in source order (every column, in table
    /// order, when the statement lists none).
    pub targets: Vec<usize>,
    pub source: InsertSource,
}

/// Where an `INSERT`'s rows come from.
#[derive(Debug, Clone)]
pub(crate) enum InsertSource {
    /// `VALUES`: evaluated rows, one value per target, not yet converted to the column types.
    Values(Vec<Vec<Value>>),
    /// `INSERT … SELECT`.
    Select(Box<BoundSelect>),
}

impl Insert {
    /// The table's name and the rows to write: the source rows (`run` runs an
    /// `INSERT … SELECT`'s query), each placed in table column order (the column DEFAULT, else NULL, for columns not
    /// targeted) and converted to the column types.
    ///
    /// # Errors
    /// Whatever `run` returns; [`Error::InvalidArgument`] when the query returns a different
    /// number of columns than there are targets; the conversion errors of
    /// [`coerce`], naming the column (and the row, for several rows).
    pub fn into_rows(
        self,
        run: impl FnOnce(BoundSelect) -> Result<Rows>,
    ) -> Result<(String, Vec<Vec<Value>>)> {
        let Insert {
            table,
            targets,
            source,
        } = self;
        let source_rows = match source {
            InsertSource::Values(rows) => rows,
            InsertSource::Select(select) => {
                let rows = run(*select)?;
                if rows.columns().len() != targets.len() {
                    return Err(Error::invalid(format!(
                        "INSERT ... SELECT returns {} columns for {} target columns",
                        rows.columns().len(),
                        targets.len()
                    )));
                }
                rows.into_values()
            }
        };
        let single = source_rows.len() == 1;
        let mut rows = Vec::with_capacity(source_rows.len());
        for (n, src) in source_rows.into_iter().enumerate() {
            // Columns left out get their DEFAULT (NULL when none).
            let mut row: Vec<Value> = (0..table.columns.len())
                .map(|c| table.extras(c).default.unwrap_or(Value::Null))
                .collect();
            for (v, &c) in src.into_iter().zip(&targets) {
                // Errors name the column, and the row of a multi-row INSERT.
                let context = if single {
                    table.qualified(c)
                } else {
                    format!("{} (row {})", table.qualified(c), n + 1)
                };
                row[c] = coerce(v, table.columns[c].data_type, &context)?;
            }
            rows.push(row);
        }
        Ok((table.name, rows))
    }
}

/// The keyword `DEFAULT` as a value of `INSERT … VALUES` (sqlparser reads it as an unquoted
/// identifier).
fn is_default_keyword(e: &sql::Expr) -> bool {
    matches!(e, sql::Expr::Identifier(id)
        if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

/// Binds `INSERT INTO t [(columns)] VALUES … | SELECT …`. The keyword `DEFAULT` as a value
/// stands for the column's default (NULL when none; the next value of an identity column).
///
/// # Errors
/// [`Error::Unsupported`] for `ON CONFLICT` / `RETURNING` / `OR` / `SET`, a table function or
/// a source other than `VALUES` or `SELECT`; [`Error::NoSuchTable`] /
/// [`Error::NoSuchColumn`]; [`Error::InvalidArgument`] for a column listed twice or a row of
/// the wrong width; [`Error::IdentityAlways`] when a value other than `DEFAULT` (or a
/// `SELECT`) targets a `GENERATED ALWAYS` identity column (also without a column list); any
/// binding error of the values or the query.
pub(crate) fn bind_insert(
    ins: &sql::Insert,
    catalog: &dyn Catalog,
    params: &[Value],
    subquery: SubqueryFn<'_>,
) -> Result<Insert> {
    if ins.on.is_some()
        || ins.returning.is_some()
        || ins.or.is_some()
        || !ins.assignments.is_empty()
    {
        return Err(Error::unsupported(
            "INSERT with ON CONFLICT / RETURNING / OR / SET",
        ));
    }
    let sql::TableObject::TableName(tname) = &ins.table else {
        return Err(Error::unsupported("INSERT into a table function"));
    };
    let table_name = bind::object_name(tname)?;
    let source = ins
        .source
        .as_ref()
        .ok_or_else(|| Error::unsupported("INSERT without VALUES"))?;
    let table = catalog.table(&table_name)?;
    let targets: Vec<usize> = if ins.columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        let mut seen = Vec::new();
        for c in &ins.columns {
            let i = table.require_column(&bind::object_name(c)?)?;
            if seen.contains(&i) {
                return Err(Error::invalid(format!(
                    "column {} is listed twice",
                    table.columns[i].name
                )));
            }
            seen.push(i);
        }
        seen
    };
    // A `GENERATED ALWAYS` identity column may be targeted only by the keyword DEFAULT.
    let always = match table.identity() {
        Some((c, Identity::Always)) if targets.contains(&c) => Some(c),
        _ => None,
    };
    let always_error = |c: usize| Error::IdentityAlways {
        table: table.name.clone(),
        column: table.columns[c].name.clone(),
    };
    let source = match source.body.as_ref() {
        sql::SetExpr::Values(values) => {
            let mut b = Binder {
                table: None,
                params,
                subquery,
                aggs: None,
            };
            let mut out = Vec::with_capacity(values.rows.len());
            for (n, row) in values.rows.iter().enumerate() {
                if row.content.len() != targets.len() {
                    return Err(Error::invalid(format!(
                        "row {} of INSERT has {} values for {} columns",
                        n + 1,
                        row.content.len(),
                        targets.len()
                    )));
                }
                let mut vals = Vec::with_capacity(row.content.len());
                for (e, &c) in row.content.iter().zip(&targets) {
                    if is_default_keyword(e) {
                        // NULL in an identity column is generated at insert.
                        vals.push(table.extras(c).default.unwrap_or(Value::Null));
                    } else if always == Some(c) {
                        return Err(always_error(c));
                    } else {
                        vals.push(b.bind_value(e)?);
                    }
                }
                out.push(vals);
            }
            InsertSource::Values(out)
        }
        sql::SetExpr::Select(_) => {
            if let Some(c) = always {
                return Err(always_error(c));
            }
            InsertSource::Select(Box::new(bind_select(source, catalog, params, subquery)?))
        }
        _ => {
            return Err(Error::unsupported(
                "INSERT source other than VALUES or SELECT",
            ))
        }
    };
    Ok(Insert {
        table,
        targets,
        source,
    })
}

/// A bound `UPDATE`.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    pub table: TableSchema,
    /// Column and new value; constant values are already converted to the column's type.
    pub assignments: Vec<(usize, Expr)>,
    pub filter: Option<Expr>,
}

/// Binds `UPDATE t SET c = e, … [WHERE …]`.
///
/// # Errors
/// [`Error::Unsupported`] for `FROM` / `RETURNING` / joins / `LIMIT` / `SET (a, b) = …`;
/// [`Error::NoSuchTable`] / [`Error::NoSuchColumn`]; a constant that does not convert to its
/// column's type (a vector literal of the wrong dimension, say), before any row is touched;
/// [`Error::IdentityAlways`] for a `GENERATED ALWAYS` identity column; any binding error.
pub(crate) fn bind_update(
    up: &sql::Update,
    catalog: &dyn Catalog,
    params: &[Value],
    subquery: SubqueryFn<'_>,
) -> Result<Update> {
    if up.from.is_some()
        || up.returning.is_some()
        || !up.table.joins.is_empty()
        || up.limit.is_some()
    {
        return Err(Error::unsupported(
            "UPDATE with FROM / RETURNING / joins / LIMIT",
        ));
    }
    let sql::TableFactor::Table { name, .. } = &up.table.relation else {
        return Err(Error::unsupported("UPDATE of something other than a table"));
    };
    let table = catalog.table(&bind::object_name(name)?)?;
    let mut b = Binder {
        table: Some(&table),
        params,
        subquery,
        aggs: None,
    };
    let mut assignments = Vec::new();
    for a in &up.assignments {
        let sql::AssignmentTarget::ColumnName(cn) = &a.target else {
            return Err(Error::unsupported("UPDATE ... SET (a, b) = ..."));
        };
        let c = table.require_column(&bind::object_name(cn)?)?;
        if table.identity() == Some((c, Identity::Always)) {
            return Err(Error::IdentityAlways {
                table: table.name.clone(),
                column: table.columns[c].name.clone(),
            });
        }
        let mut e = b.bind(&a.value)?;
        // Check constants (vector literals especially) before touching any row.
        if let Expr::Literal(v) = e {
            e = Expr::Literal(coerce(v, table.columns[c].data_type, &table.qualified(c))?);
        }
        assignments.push((c, e));
    }
    let filter = up.selection.as_ref().map(|s| b.bind(s)).transpose()?;
    Ok(Update {
        table,
        assignments,
        filter,
    })
}

/// A bound `DELETE`.
#[derive(Debug, Clone)]
pub(crate) struct Delete {
    pub table: TableSchema,
    pub filter: Option<Expr>,
}

/// Binds `DELETE FROM t [WHERE …]`.
///
/// # Errors
/// [`Error::Unsupported`] for `USING` / `RETURNING` / `ORDER BY` / `LIMIT`, several tables or
/// something other than a table; [`Error::NoSuchTable`]; any binding error of the filter.
pub(crate) fn bind_delete(
    del: &sql::Delete,
    catalog: &dyn Catalog,
    params: &[Value],
    subquery: SubqueryFn<'_>,
) -> Result<Delete> {
    if del.using.is_some()
        || del.returning.is_some()
        || del.limit.is_some()
        || !del.order_by.is_empty()
    {
        return Err(Error::unsupported(
            "DELETE with USING / RETURNING / ORDER BY / LIMIT",
        ));
    }
    let tables = match &del.from {
        sql::FromTable::WithFromKeyword(t) | sql::FromTable::WithoutKeyword(t) => t,
    };
    let [twj] = tables.as_slice() else {
        return Err(Error::unsupported("DELETE from several tables"));
    };
    let sql::TableFactor::Table { name, .. } = &twj.relation else {
        return Err(Error::unsupported(
            "DELETE from something other than a table",
        ));
    };
    let table = catalog.table(&bind::object_name(name)?)?;
    let filter = {
        let mut b = Binder {
            table: Some(&table),
            params,
            subquery,
            aggs: None,
        };
        del.selection.as_ref().map(|s| b.bind(s)).transpose()?
    };
    Ok(Delete { table, filter })
}
