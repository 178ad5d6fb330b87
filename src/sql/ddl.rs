//! DDL binding: `CREATE TABLE`, `CREATE INDEX … USING hnsw | btree`, `DROP TABLE`,
//! `DROP INDEX`.
//!
//! Each binder checks the statement against the [`Catalog`] the caller read under its write
//! lock and returns what to create or drop; writing it is [`crate::db`]'s job.

use sqlparser::ast as sql;

use crate::catalog::{
    self, ColumnDef, ColumnExtras, HnswParams, IndexMeta, Metric, Quantization, SecondaryIndex,
};
use crate::error::{Error, Result};
use crate::sql::alter;
use crate::sql::bind;
use crate::sql::Catalog;
use crate::value::DataType;

/// A bound `CREATE TABLE`: a new table's validated name, columns and primary key (the id is
/// given when it is written).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CreateTable {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Position of the `PRIMARY KEY` column (INTEGER or TEXT, `not_null` set).
    pub primary_key: Option<usize>,
    /// Defaults and identity, one per column.
    pub extras: Vec<ColumnExtras>,
}

/// Binds `CREATE TABLE`: `None` when `IF NOT EXISTS` finds the table (nothing to do).
///
/// # Errors
/// [`Error::Unsupported`] for `OR REPLACE` / `TEMPORARY` / `AS SELECT`, column options other
/// than `NULL` / `NOT NULL` / `PRIMARY KEY` / `DEFAULT constant` / `GENERATED { ALWAYS | BY
/// DEFAULT } AS IDENTITY` (or `SERIAL`), more than one identity column, a key of several columns or of a type other than
/// INTEGER or TEXT; [`Error::InvalidIdentifier`]; [`Error::InvalidArgument`] for a column
/// declared twice or no columns; [`Error::NoSuchColumn`] for a `PRIMARY KEY (c)` naming no
/// column; [`Error::TableExists`]; [`Error::FileNameCollision`] when a vector column's index
/// file name would be another column's.
pub(crate) fn bind_create_table(
    ct: &sql::CreateTable,
    catalog: &dyn Catalog,
) -> Result<Option<CreateTable>> {
    if ct.or_replace || ct.query.is_some() || ct.temporary || ct.external {
        return Err(Error::unsupported(
            "CREATE OR REPLACE / TEMPORARY / EXTERNAL / AS SELECT",
        ));
    }
    let name = bind::object_name(&ct.name)?;
    catalog::validate_identifier(&name)?;
    let mut columns: Vec<ColumnDef> = Vec::new();
    let mut extras: Vec<ColumnExtras> = Vec::new();
    let mut primary_key = None;
    for (i, c) in ct.columns.iter().enumerate() {
        let cname = bind::ident_name(&c.name);
        catalog::validate_identifier(&cname)?;
        if columns.iter().any(|x| x.name.eq_ignore_ascii_case(&cname)) {
            return Err(Error::invalid(format!(
                "column {cname} is declared twice in table {name}"
            )));
        }
        let col = alter::bind_column(&name, &cname, c)?;
        if col.primary_key && primary_key.replace(i).is_some() {
            return Err(Error::unsupported("more than one PRIMARY KEY column"));
        }
        if col.extras.identity.is_some() && extras.iter().any(|e| e.identity.is_some()) {
            return Err(Error::unsupported(
                "more than one identity column in a table",
            ));
        }
        columns.push(col.def);
        extras.push(col.extras);
    }
    if columns.is_empty() {
        return Err(Error::invalid(format!(
            "table {name} needs at least one column"
        )));
    }
    for con in &ct.constraints {
        match con {
            sql::TableConstraint::PrimaryKey(pk) => {
                let [col] = pk.columns.as_slice() else {
                    return Err(Error::unsupported("a PRIMARY KEY of several columns"));
                };
                let cname = match &col.column.expr {
                    sql::Expr::Identifier(id) => bind::ident_name(id),
                    other => return Err(Error::unsupported(format!("PRIMARY KEY ({other})"))),
                };
                let i = columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&cname))
                    .ok_or_else(|| Error::NoSuchColumn {
                        table: name.clone(),
                        column: cname.clone(),
                    })?;
                if primary_key.replace(i).is_some_and(|p| p != i) {
                    return Err(Error::unsupported("more than one PRIMARY KEY column"));
                }
                columns[i].not_null = true;
            }
            other => return Err(Error::unsupported(format!("table constraint {other}"))),
        }
    }
    if let Some(pk) = primary_key {
        if !matches!(columns[pk].data_type, DataType::Integer | DataType::Text) {
            return Err(Error::unsupported(format!(
                "PRIMARY KEY of type {} (use INTEGER or TEXT)",
                columns[pk].data_type
            )));
        }
    }

    if catalog.table(&name).is_ok() {
        return if ct.if_not_exists {
            Ok(None)
        } else {
            Err(Error::TableExists(name))
        };
    }
    // Two (table, column) pairs must not share an index file name.
    let mut files: Vec<(String, String, String)> = Vec::new();
    for t in catalog.tables() {
        for c in &t.columns {
            if matches!(c.data_type, DataType::Vector(_)) {
                files.push((
                    catalog::index_file_name(&t.name, &c.name).to_lowercase(),
                    t.name.clone(),
                    c.name.clone(),
                ));
            }
        }
    }
    for c in &columns {
        if matches!(c.data_type, DataType::Vector(_)) {
            let f = catalog::index_file_name(&name, &c.name).to_lowercase();
            if let Some((_, ot, oc)) = files.iter().find(|(g, _, _)| *g == f) {
                return Err(Error::FileNameCollision {
                    file: catalog::index_file_name(&name, &c.name),
                    table: name.clone(),
                    column: c.name.clone(),
                    other_table: ot.clone(),
                    other_column: oc.clone(),
                });
            }
            files.push((f, name.clone(), c.name.clone()));
        }
    }
    Ok(Some(CreateTable {
        name,
        columns,
        primary_key,
        extras,
    }))
}

/// Binds `DROP TABLE a, b`: the catalog names of the tables to drop, every name resolved
/// before any is dropped (a missing one must leave all tables in place). A name listed twice
/// appears twice.
///
/// # Errors
/// [`Error::NoSuchTable`] without `IF EXISTS`; [`Error::Unsupported`] for a qualified name.
pub(crate) fn bind_drop_tables(
    names: &[sql::ObjectName],
    if_exists: bool,
    catalog: &dyn Catalog,
) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for n in names {
        let name = bind::object_name(n)?;
        match catalog.table(&name) {
            Ok(t) => keys.push(t.name),
            Err(_) if if_exists => {}
            Err(_) => return Err(Error::NoSuchTable(name)),
        }
    }
    Ok(keys)
}

/// The indexes a `DROP INDEX` names: vector indexes by (table id, column), secondary ones by
/// their table's catalog name and definition.
#[derive(Debug, Default)]
pub(crate) struct DropIndexes {
    pub vector: Vec<(u64, usize)>,
    pub secondary: Vec<(String, SecondaryIndex)>,
}

/// Binds `DROP INDEX a, b`: each index to drop once, every name resolved before any is
/// dropped (a missing one must leave all indexes in place).
///
/// # Errors
/// [`Error::NoSuchIndex`] without `IF EXISTS`; [`Error::Unsupported`] for a qualified name.
pub(crate) fn bind_drop_indexes(
    names: &[sql::ObjectName],
    if_exists: bool,
    catalog: &dyn Catalog,
) -> Result<DropIndexes> {
    let mut out = DropIndexes::default();
    let secondary = catalog.secondary_indexes();
    for n in names {
        let name = bind::object_name(n)?;
        let found = catalog
            .indexes()
            .into_iter()
            .find(|m| m.name.eq_ignore_ascii_case(&name));
        let btree = secondary
            .iter()
            .find(|(_, s)| s.name.eq_ignore_ascii_case(&name));
        match (found, btree) {
            (Some(m), _) => {
                if !out.vector.contains(&(m.table_id, m.column_index)) {
                    out.vector.push((m.table_id, m.column_index))
                }
            }
            (None, Some((t, s))) => {
                if !out.secondary.iter().any(|(_, x)| x == s) {
                    out.secondary.push((t.name.clone(), s.clone()));
                }
            }
            (None, None) if if_exists => {}
            (None, None) => return Err(Error::NoSuchIndex(name)),
        }
    }
    Ok(out)
}

/// A bound `CREATE INDEX`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NewIndex {
    /// An HNSW index on a vector column (its metadata, `explicit`, not yet saved).
    Hnsw(IndexMeta),
    /// A secondary (B-tree) index of the table with this catalog name; its id is given when
    /// it is built.
    BTree {
        table: String,
        name: String,
        columns: Vec<usize>,
        unique: bool,
    },
}

/// True when an index name is taken by any index, vector or secondary.
fn index_name_taken(catalog: &dyn Catalog, name: &str) -> bool {
    catalog
        .indexes()
        .iter()
        .any(|m| m.name.eq_ignore_ascii_case(name))
        || catalog
            .secondary_indexes()
            .iter()
            .any(|(_, s)| s.name.eq_ignore_ascii_case(name))
}

/// Binds `CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON t [USING btree] (col, …)`: `None`
/// when `IF NOT EXISTS` finds the name taken. The default name is `<table>_<cols>_idx`.
///
/// # Errors
/// [`Error::NoSuchTable`] / [`Error::NoSuchColumn`]; [`Error::TypeMismatch`] for a vector
/// column; [`Error::InvalidArgument`] for a column listed twice; [`Error::Unsupported`] for
/// an expression, an operator class or `WITH` options; [`Error::InvalidIdentifier`];
/// [`Error::IndexExists`] when the name is taken by any index.
fn bind_btree_index(ci: &sql::CreateIndex, catalog: &dyn Catalog) -> Result<Option<NewIndex>> {
    if !ci.with.is_empty() {
        return Err(Error::unsupported("WITH options on a B-tree index"));
    }
    let t = catalog.table(&bind::object_name(&ci.table_name)?)?;
    let mut columns = Vec::new();
    for c in &ci.columns {
        let name = match &c.column.expr {
            sql::Expr::Identifier(id) => bind::ident_name(id),
            other => return Err(Error::unsupported(format!("index on expression {other}"))),
        };
        if c.operator_class.is_some() {
            return Err(Error::unsupported("operator classes on a B-tree index"));
        }
        let i = t.require_column(&name)?;
        if let DataType::Vector(_) = t.columns[i].data_type {
            return Err(Error::type_mismatch(
                format!("CREATE INDEX … USING btree on {}", t.qualified(i)),
                "a scalar column (a VECTOR column takes USING hnsw)",
                t.columns[i].data_type.to_string(),
            ));
        }
        if columns.contains(&i) {
            return Err(Error::invalid(format!(
                "column {} is listed twice in the index",
                t.columns[i].name
            )));
        }
        columns.push(i);
    }
    let name = match &ci.name {
        Some(n) => bind::object_name(n)?,
        None => {
            let cols: Vec<&str> = columns
                .iter()
                .map(|&c| t.columns[c].name.as_str())
                .collect();
            format!("{}_{}_idx", t.name, cols.join("_"))
        }
    };
    catalog::validate_identifier(&name)?;
    if index_name_taken(catalog, &name) {
        return if ci.if_not_exists {
            Ok(None)
        } else {
            Err(Error::IndexExists(name))
        };
    }
    Ok(Some(NewIndex::BTree {
        table: t.name,
        name,
        columns,
        unique: ci.unique,
    }))
}

/// Binds `CREATE INDEX`. `USING hnsw`, or no `USING` on one VECTOR column: the new HNSW
/// index's metadata (`explicit`, not yet saved), `None` when `IF NOT EXISTS` finds an
/// explicit index of that name or on that column (a lazily built index of the same column is
/// replaced). `USING btree`, or no `USING` on scalar columns: a secondary index (see
/// `bind_btree_index`).
///
/// Options: `metric` (`l2`, `cosine`, `ip`; also pgvector's operator classes), `m` (2–256),
/// `ef_construction` (1–4096), `quantization` (`f32`, `f16`, `i8`).
///
/// # Errors
/// [`Error::Unsupported`] for partial / INCLUDE indexes, a UNIQUE HNSW index, another index
/// type, several columns or an expression; [`Error::InvalidArgument`] for an unknown or out-of-range
/// option; [`Error::NoSuchTable`] / [`Error::NoSuchColumn`]; [`Error::TypeMismatch`] for a
/// column that is not a vector; [`Error::InvalidIdentifier`]; [`Error::IndexExists`].
pub(crate) fn bind_create_index(
    ci: &sql::CreateIndex,
    catalog: &dyn Catalog,
) -> Result<Option<NewIndex>> {
    if ci.predicate.is_some() || !ci.include.is_empty() {
        return Err(Error::unsupported("partial or INCLUDE indexes"));
    }
    let table_name = bind::object_name(&ci.table_name)?;
    let hnsw = match &ci.using {
        Some(sql::IndexType::Custom(id)) if id.value.eq_ignore_ascii_case("hnsw") => true,
        Some(sql::IndexType::BTree) => false,
        Some(other) => {
            return Err(Error::unsupported(format!(
                "index type {other}; vectable has USING btree and USING hnsw"
            )))
        }
        // Without USING: one VECTOR column gets HNSW, anything else a B-tree.
        None => match ci.columns.as_slice() {
            [col] => match &col.column.expr {
                sql::Expr::Identifier(id) => {
                    let t = catalog.table(&table_name)?;
                    t.column_index(&bind::ident_name(id))
                        .is_some_and(|c| matches!(t.columns[c].data_type, DataType::Vector(_)))
                }
                _ => false,
            },
            _ => false,
        },
    };
    if !hnsw {
        return bind_btree_index(ci, catalog);
    }
    if ci.unique {
        return Err(Error::unsupported("UNIQUE HNSW index"));
    }
    let [col] = ci.columns.as_slice() else {
        return Err(Error::unsupported("an index on several columns"));
    };
    let col_name = match &col.column.expr {
        sql::Expr::Identifier(id) => bind::ident_name(id),
        other => return Err(Error::unsupported(format!("index on expression {other}"))),
    };
    let params = hnsw_params(col.operator_class.as_ref(), &ci.with)?;
    let t = catalog.table(&table_name)?;
    let column = t.require_column(&col_name)?;
    let DataType::Vector(dims) = t.columns[column].data_type else {
        return Err(Error::type_mismatch(
            format!("CREATE INDEX on {}", t.qualified(column)),
            "a VECTOR column",
            t.columns[column].data_type.to_string(),
        ));
    };
    let name = match &ci.name {
        Some(n) => bind::object_name(n)?,
        None => format!("{}_{}_hnsw", t.name, t.columns[column].name),
    };
    catalog::validate_identifier(&name)?;
    if catalog
        .secondary_indexes()
        .iter()
        .any(|(_, s)| s.name.eq_ignore_ascii_case(&name))
    {
        return if ci.if_not_exists {
            Ok(None)
        } else {
            Err(Error::IndexExists(name))
        };
    }
    let metas = catalog.indexes();
    if let Some(existing) = metas.iter().find(|m| m.name.eq_ignore_ascii_case(&name)) {
        if ci.if_not_exists {
            return Ok(None);
        }
        if existing.explicit || (existing.table_id, existing.column_index) != (t.id, column) {
            return Err(Error::IndexExists(name));
        }
    }
    if let Some(existing) = catalog.index(t.id, column) {
        if existing.explicit {
            if ci.if_not_exists {
                return Ok(None);
            }
            return Err(Error::IndexExists(format!(
                "{} (column {} already has it; DROP INDEX first)",
                existing.name,
                t.qualified(column)
            )));
        }
    }
    Ok(Some(NewIndex::Hnsw(IndexMeta {
        name,
        table_id: t.id,
        table: t.name.clone(),
        column: t.columns[column].name.clone(),
        column_index: column,
        dims,
        params,
        explicit: true,
        saved: None,
    })))
}

/// The operator class and `WITH (metric = 'cosine', m = 16, ef_construction = 128,
/// quantization = 'f32')` of `CREATE INDEX`, over the defaults (cosine). pgvector's operator
/// classes pick the metric: `vector_l2_ops` (`<->`), `vector_cosine_ops` (`<=>`),
/// `vector_ip_ops` (`<#>`).
///
/// # Errors
/// [`Error::Unsupported`] for another operator class; [`Error::InvalidArgument`] for an
/// unknown or out-of-range option, or a `metric` that contradicts the operator class.
fn hnsw_params(opclass: Option<&sql::ObjectName>, with: &[sql::Expr]) -> Result<HnswParams> {
    let mut params = HnswParams::with_metric(Metric::Cosine);
    let mut by_opclass = None;
    if let Some(opclass) = opclass {
        let oc = opclass.to_string().to_ascii_lowercase();
        params.metric = match oc.as_str() {
            "vector_l2_ops" => Metric::L2,
            "vector_cosine_ops" => Metric::Cosine,
            "vector_ip_ops" => Metric::InnerProduct,
            _ => {
                return Err(Error::unsupported(format!(
                    "operator class {oc}; vectable has vector_l2_ops, vector_cosine_ops and \
                     vector_ip_ops"
                )))
            }
        };
        by_opclass = Some((oc, params.metric));
    }
    for w in with {
        let sql::Expr::BinaryOp {
            left,
            op: sql::BinaryOperator::Eq,
            right,
        } = w
        else {
            return Err(Error::invalid(format!(
                "index option {w}: expected name = value"
            )));
        };
        let key = match left.as_ref() {
            sql::Expr::Identifier(id) => id.value.to_ascii_lowercase(),
            other => return Err(Error::invalid(format!("index option {other}"))),
        };
        let val = match right.as_ref() {
            sql::Expr::Value(v) => match &v.value {
                sql::Value::SingleQuotedString(s) => s.clone(),
                sql::Value::Number(n, _) => n.clone(),
                other => other.to_string(),
            },
            sql::Expr::Identifier(id) => id.value.clone(),
            other => other.to_string(),
        };
        let int = |lo: usize, hi: usize| -> Result<usize> {
            val.parse::<usize>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "index option {key} must be an integer from {lo} to {hi}, got {val}"
                    ))
                })
        };
        match key.as_str() {
            "metric" => {
                params.metric = Metric::parse(&val).ok_or_else(|| {
                    Error::invalid(format!("unknown metric {val}: use l2, cosine or ip"))
                })?;
                if let Some((oc, m)) = &by_opclass {
                    if *m != params.metric {
                        return Err(Error::invalid(format!(
                            "operator class {oc} is metric {m}, but the index option says \
                             metric = {val}"
                        )));
                    }
                }
            }
            "m" => params.m = int(2, 256)?,
            "ef_construction" => params.ef_construction = int(1, 4096)?,
            "quantization" => {
                params.quantization = Quantization::parse(&val).ok_or_else(|| {
                    Error::invalid(format!("unknown quantization {val}: use f32, f16 or i8"))
                })?
            }
            _ => {
                return Err(Error::invalid(format!(
                "unknown index option {key}; vectable has metric, m, ef_construction, quantization"
            )))
            }
        }
    }
    Ok(params)
}
