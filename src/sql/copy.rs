//! `COPY t [(col, …)] FROM 'file' WITH (FORMAT csv | parquet, HEADER, DELIMITER)` binding: the
//! table, the columns to fill, the path and the [`CopyFormat`] the reader in
//! [`crate::exec::copy`] takes.

use std::path::PathBuf;

use sqlparser::ast as sql;

use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::exec::copy::CopyFormat;
use crate::sql::bind;
use crate::sql::Catalog;

/// The parts of sqlparser's `Statement::Copy` that `COPY … FROM` uses (`COPY … TO` is refused
/// before binding).
pub(crate) struct CopyStatement<'a> {
    pub source: &'a sql::CopySource,
    pub target: &'a sql::CopyTarget,
    pub options: &'a [sql::CopyOption],
    pub legacy_options: &'a [sql::CopyLegacyOption],
}

/// A bound `COPY … FROM`.
#[derive(Debug, Clone)]
pub(crate) struct CopyFrom {
    pub table: TableSchema,
    pub path: PathBuf,
    pub format: CopyFormat,
    /// `COPY t (a, b)`: the positions of the listed columns, in list order (`None`: all).
    pub columns: Option<Vec<usize>>,
}

/// Binds `COPY t [(col, …)] FROM 'path' [WITH (…)]`. Without `FORMAT`, a `.parquet` file is
/// Parquet and anything else CSV; CSV has no header line and `,` as delimiter unless the
/// options say so. A column list names the table columns the file fills (see
/// [`crate::exec::copy::read_rows_into`]); the others are `NULL`.
///
/// # Errors
/// [`Error::Unsupported`] for `COPY (query)`, `STDIN` / `PROGRAM`, pre-9.0 options, another
/// option or format; [`Error::NoSuchTable`]; [`Error::NoSuchColumn`] for a listed column the
/// table does not have; [`Error::InvalidArgument`] for a column listed twice.
pub(crate) fn bind_copy(c: &CopyStatement<'_>, catalog: &dyn Catalog) -> Result<CopyFrom> {
    let sql::CopySource::Table {
        table_name,
        columns,
    } = c.source
    else {
        return Err(Error::unsupported("COPY (query)"));
    };
    let sql::CopyTarget::File { filename } = c.target else {
        return Err(Error::unsupported(
            "COPY FROM STDIN / PROGRAM; give a file path",
        ));
    };
    if !c.legacy_options.is_empty() {
        return Err(Error::unsupported(
            "pre-9.0 COPY options; use WITH (FORMAT ..., HEADER ...)",
        ));
    }
    let path = PathBuf::from(filename);
    let mut format_name: Option<String> = None;
    let mut header = None;
    let mut delimiter = b',';
    for o in c.options {
        match o {
            sql::CopyOption::Format(f) => format_name = Some(f.value.to_ascii_lowercase()),
            sql::CopyOption::Header(h) => header = Some(*h),
            sql::CopyOption::Delimiter(c) if c.is_ascii() => delimiter = *c as u8,
            other => return Err(Error::unsupported(format!("COPY option {other}"))),
        }
    }
    let format_name = format_name.unwrap_or_else(|| {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("parquet") => "parquet".into(),
            _ => "csv".into(),
        }
    });
    let format = match format_name.as_str() {
        "csv" => CopyFormat::Csv {
            header: header.unwrap_or(false),
            delimiter,
        },
        "parquet" => CopyFormat::Parquet,
        other => {
            return Err(Error::unsupported(format!(
                "COPY format {other}; use csv or parquet"
            )))
        }
    };
    let table = catalog.table(&bind::object_name(table_name)?)?;
    let columns = if columns.is_empty() {
        None
    } else {
        let mut list: Vec<usize> = Vec::with_capacity(columns.len());
        for id in columns {
            let c = table.require_column(&bind::ident_name(id))?;
            if list.contains(&c) {
                return Err(Error::invalid(format!(
                    "column {} is listed twice in COPY {}",
                    table.columns[c].name, table.name
                )));
            }
            list.push(c);
        }
        Some(list)
    };
    Ok(CopyFrom {
        table,
        path,
        format,
        columns,
    })
}
