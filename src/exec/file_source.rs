//! Files read as tables: `SELECT … FROM 'file.parquet'`, `CREATE TABLE t AS FROM 'file.csv'`
//! and the shell's `.import` into a new table.
//!
//! [`read_file`] infers a schema from the file ([`infer_schema`]) and reads every row with the
//! `COPY` readers of [`crate::exec::copy`] against that schema; [`run_select`] runs a bound
//! `SELECT` over those rows in memory (filter, aggregate, sort, `LIMIT`; a kNN `ORDER BY` is an
//! exact sort by distance).
//!
//! # Format
//! `.parquet` (any case) is Parquet; `.tsv` is tab-separated; anything else is CSV (`,`).
//!
//! # Column types
//! * Parquet: signed and unsigned integers → `INTEGER`; `Float16/32/64` → `REAL`; `Utf8`,
//!   `LargeUtf8`, `Utf8View` → `TEXT`; `Boolean` → `BOOLEAN`; an all-`NULL` column → `TEXT`;
//!   `FixedSizeList(n)` of floats → `VECTOR(n)`; `List` / `LargeList` of floats → `VECTOR(n)`
//!   with `n` the length of the first non-`NULL` list (every other row must have `n`
//!   elements, else an [`Error::Import`] naming the row); dictionary-encoded columns like
//!   their values. Any other type is [`Error::UnsupportedFileColumn`].
//! * CSV: every non-empty field of a column is classified, and the column takes the type all
//!   of them fit: `INTEGER` (`i64`), `REAL` (numbers, integers among them), `BOOLEAN`
//!   (`true`/`false`/`t`/`f`/`yes`/`no`), `VECTOR(n)` (`[…]` lists of `n` numbers: a list of
//!   another length is an [`Error::Import`] naming the line), else `TEXT`. A column with no
//!   non-empty field is `TEXT`. Empty fields are `NULL`.
//! * CSV header: the first line is a header when each of its fields is non-empty, text (not
//!   a number, boolean or vector) and distinct from the others; otherwise the columns are
//!   called `column1`, `column2`, ….

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::Array;
use arrow_schema::{DataType as ArrowType, Field};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::catalog::{ColumnDef, TableSchema};
use crate::error::{Error, Result};
use crate::exec::cancel::Cancel;
use crate::exec::copy::{self, import_error, CopyFormat};
use crate::exec::select::{self, ExecCtx};
use crate::expr::eval::{truthy, Ctx};
use crate::plan::access::RowSource;
use crate::plan::{Access, SelectPlan};
use crate::row::Rows;
use crate::sql::select::BoundSelect;
use crate::value::{parse_vector, DataType, Value, MAX_VECTOR_DIMS};

/// The table id of a file read as a table (no stored table has it: ids count up from 1).
pub(crate) const FILE_TABLE_ID: u64 = u64::MAX;

/// How a file is read, from its extension.
fn format_of(path: &Path) -> CopyFormat {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("parquet") => CopyFormat::Parquet,
        Some("tsv") => CopyFormat::Csv {
            header: false,
            delimiter: b'\t',
        },
        _ => CopyFormat::Csv {
            header: false,
            delimiter: b',',
        },
    }
}

/// The schema of a file read as a table, and how to read it (for CSV: whether the first line
/// is a header). The schema is named after the path and has no primary key.
///
/// # Errors
/// [`Error::Import`] naming the path for a missing, unreadable, malformed or empty file, or a
/// vector column whose rows disagree on the number of dimensions (CSV);
/// [`Error::UnsupportedFileColumn`] for a column no vectable type holds.
pub(crate) fn infer_schema(path: &Path) -> Result<(TableSchema, CopyFormat)> {
    let (columns, format) = match format_of(path) {
        CopyFormat::Parquet => (parquet_columns(path)?, CopyFormat::Parquet),
        CopyFormat::Csv { delimiter, .. } => {
            let (columns, header) = csv_columns(path, delimiter)?;
            (columns, CopyFormat::Csv { header, delimiter })
        }
    };
    Ok((
        TableSchema {
            id: FILE_TABLE_ID,
            name: path.display().to_string(),
            columns,
            primary_key: None,
            extras: Vec::new(),
        },
        format,
    ))
}

/// Reads a whole file as a table: its inferred schema and its rows (values of the schema's
/// column types).
///
/// # Errors
/// As [`infer_schema`], and [`Error::Import`] for a value that does not fit (e.g. a variable
/// list whose length differs from the first row's), naming the line or row.
pub(crate) fn read_file(path: &Path, cancel: &Cancel) -> Result<(TableSchema, Vec<Vec<Value>>)> {
    let (schema, format) = infer_schema(path)?;
    let rows = copy::read_rows_cancellable(path, &format, &schema, cancel)?;
    Ok((schema, rows))
}

/// Runs a `SELECT` bound against a file's schema over the file's rows: filter, then
/// aggregate or sort, `OFFSET` / `LIMIT`, and project.
///
/// # Errors
/// Evaluation errors of the expressions (type mismatches, division by zero…).
pub(crate) fn run_select(
    bound: BoundSelect,
    rows: Vec<Vec<Value>>,
    cx: &ExecCtx<'_>,
) -> Result<Rows> {
    let plan = SelectPlan {
        table: bound.table,
        filter: bound.filter,
        projections: bound.projections,
        names: bound.names,
        aggregate: bound.aggregate,
        order_by: bound.order_by,
        limit: bound.limit,
        offset: bound.offset,
        access: Access::FullScan,
        source: RowSource::FullScan,
    };
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows {
        let keep = match &plan.filter {
            Some(f) => truthy(f, Ctx::row(&row))?,
            None => true,
        };
        if keep {
            kept.push(row);
        }
    }
    if let Some(agg) = &plan.aggregate {
        return select::aggregate(&plan, agg, kept);
    }
    select::finish_sorted(&plan, cx, kept)
}

// ---------------------------------------------------------------------------------------------
// Parquet

fn parquet_columns(path: &Path) -> Result<Vec<ColumnDef>> {
    let file =
        File::open(path).map_err(|e| import_error(path, None, format!("cannot open file: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| import_error(path, None, format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    drop(builder);
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            Ok(ColumnDef {
                name: f.name().clone(),
                data_type: parquet_type(path, i, f, f.data_type())?,
                not_null: false,
            })
        })
        .collect()
}

/// The column type of the `index`-th (top-level) field of a Parquet file.
fn parquet_type(path: &Path, index: usize, field: &Field, ty: &ArrowType) -> Result<DataType> {
    use ArrowType as T;
    let unsupported = || Error::UnsupportedFileColumn {
        path: path.to_path_buf(),
        column: field.name().clone(),
        type_name: field.data_type().to_string(),
    };
    let floats = |f: &Field| matches!(f.data_type(), T::Float16 | T::Float32 | T::Float64);
    let dims = |n: usize| {
        if (1..=MAX_VECTOR_DIMS).contains(&n) {
            Ok(DataType::Vector(n))
        } else {
            Err(import_error(
                path,
                None,
                format!(
                    "column {}: lists of {n} floats cannot be a VECTOR(n) (1 ≤ n ≤ {MAX_VECTOR_DIMS})",
                    field.name()
                ),
            ))
        }
    };
    Ok(match ty {
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::UInt8 | T::UInt16 | T::UInt32 | T::UInt64 => {
            DataType::Integer
        }
        T::Float16 | T::Float32 | T::Float64 => DataType::Real,
        T::Utf8 | T::LargeUtf8 | T::Utf8View | T::Null => DataType::Text,
        T::Boolean => DataType::Boolean,
        T::FixedSizeList(f, n) if floats(f) => dims(usize::try_from(*n).unwrap_or(0))?,
        T::List(f) | T::LargeList(f) if floats(f) => match first_list_len(path, index)? {
            Some(n) => dims(n)?,
            None => {
                return Err(import_error(
                    path,
                    None,
                    format!(
                        "column {}: every list is NULL, so its VECTOR(n) dimensions are unknown",
                        field.name()
                    ),
                ))
            }
        },
        T::Dictionary(_, values) if !matches!(**values, T::Dictionary(..)) => {
            parquet_type(path, index, field, values)?
        }
        _ => return Err(unsupported()),
    })
}

/// The length of the first non-NULL list in the `index`-th column (reads only that column,
/// up to that list).
fn first_list_len(path: &Path, index: usize) -> Result<Option<usize>> {
    let read_error = |e: &dyn std::fmt::Display| {
        import_error(path, None, format!("cannot read Parquet file: {e}"))
    };
    let file =
        File::open(path).map_err(|e| import_error(path, None, format!("cannot open file: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(&e))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| read_error(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| read_error(&e))?;
        let Some(array) = batch.columns().first() else {
            return Ok(None);
        };
        let found = match array.data_type() {
            ArrowType::List(_) => array.as_list_opt::<i32>().and_then(|l| {
                (0..l.len())
                    .find(|&i| l.is_valid(i))
                    .map(|i| usize::try_from(l.value_length(i)).unwrap_or(0))
            }),
            ArrowType::LargeList(_) => array.as_list_opt::<i64>().and_then(|l| {
                (0..l.len())
                    .find(|&i| l.is_valid(i))
                    .map(|i| usize::try_from(l.value_length(i)).unwrap_or(0))
            }),
            _ => None,
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// CSV

/// What the non-empty fields of a CSV column seen so far fit.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// No non-empty field yet.
    Empty,
    Integer,
    Real,
    Boolean,
    /// `[…]` lists of this many numbers.
    Vector(usize),
    Text,
}

fn classify(field: &str) -> Kind {
    let t = field.trim();
    if t.is_empty() {
        return Kind::Empty;
    }
    if t.parse::<i64>().is_ok() {
        return Kind::Integer;
    }
    // `nan` and `inf` parse as f64 but are words here.
    if t.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
        && t.parse::<f64>().is_ok_and(f64::is_finite)
    {
        return Kind::Real;
    }
    if t.starts_with('[') {
        if let Ok(v) = parse_vector(t, "") {
            return Kind::Vector(v.len());
        }
    }
    if copy::parse_bool(t).is_some() {
        return Kind::Boolean;
    }
    Kind::Text
}

/// The kind of a column after one more field. `Err` carries the earlier vector width when a
/// vector of another width comes.
fn merge(a: Kind, b: Kind) -> std::result::Result<Kind, usize> {
    use Kind as K;
    Ok(match (a, b) {
        (K::Empty, x) | (x, K::Empty) => x,
        (K::Integer, K::Real) | (K::Real, K::Integer) => K::Real,
        (K::Vector(n), K::Vector(m)) if n != m => return Err(n),
        (x, y) if x == y => x,
        _ => K::Text,
    })
}

fn csv_columns(path: &Path, delimiter: u8) -> Result<(Vec<ColumnDef>, bool)> {
    let file =
        File::open(path).map_err(|e| import_error(path, None, format!("cannot open file: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 20, file));
    let mut records = reader.records();
    let first = match records.next() {
        Some(r) => r.map_err(|e| copy::csv_error(path, &e))?,
        None => return Err(import_error(path, None, "the file is empty: no columns")),
    };
    let first_fields: Vec<String> = first.iter().map(|f| f.trim().to_string()).collect();
    let mut distinct = HashSet::new();
    let header = first_fields
        .iter()
        .all(|f| classify(f) == Kind::Text && distinct.insert(f.to_ascii_lowercase()));
    let names: Vec<String> = if header {
        first_fields.clone()
    } else {
        (1..=first_fields.len())
            .map(|i| format!("column{i}"))
            .collect()
    };
    let mut kinds = vec![Kind::Empty; first_fields.len()];
    let mut add = |record: &csv::StringRecord| -> Result<()> {
        for (i, field) in record.iter().enumerate().take(kinds.len()) {
            let k = classify(field);
            kinds[i] = merge(kinds[i], k).map_err(|n| {
                let line = record.position().map(csv::Position::line);
                let found = match k {
                    Kind::Vector(m) => m,
                    _ => 0,
                };
                import_error(
                    path,
                    line,
                    format!(
                        "column {}: a vector of {found} dimensions, earlier rows have {n}",
                        names[i]
                    ),
                )
            })?;
        }
        Ok(())
    };
    if !header {
        add(&first)?;
    }
    for record in records {
        let record = record.map_err(|e| copy::csv_error(path, &e))?;
        add(&record)?;
    }
    let columns = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| ColumnDef {
            name: names[i].clone(),
            data_type: match k {
                Kind::Integer => DataType::Integer,
                Kind::Real => DataType::Real,
                Kind::Boolean => DataType::Boolean,
                Kind::Vector(n) => DataType::Vector(*n),
                Kind::Empty | Kind::Text => DataType::Text,
            },
            not_null: false,
        })
        .collect();
    Ok((columns, header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_fields() {
        assert_eq!(classify(" 12 "), Kind::Integer);
        assert_eq!(classify("-1.5e3"), Kind::Real);
        assert_eq!(classify("nan"), Kind::Text);
        assert_eq!(classify("TRUE"), Kind::Boolean);
        assert_eq!(classify("[1, 2.5, 3]"), Kind::Vector(3));
        assert_eq!(classify("[1, x]"), Kind::Text);
        assert_eq!(classify(""), Kind::Empty);
        assert_eq!(merge(Kind::Integer, Kind::Real), Ok(Kind::Real));
        assert_eq!(merge(Kind::Integer, Kind::Text), Ok(Kind::Text));
        assert_eq!(merge(Kind::Vector(2), Kind::Vector(3)), Err(2));
        assert_eq!(merge(Kind::Empty, Kind::Boolean), Ok(Kind::Boolean));
    }
}
