//! Reading the input of `COPY table FROM 'path' [WITH (FORMAT csv|parquet, HEADER true, DELIMITER ',')]`.
//!
//! [`read_rows`] turns a CSV or Parquet file into rows of [`Value`]s in table column order, each
//! value already converted to its column's type with [`coerce`] (which also checks vector
//! dimensions and finiteness). Table columns the input does not have are `NULL`. `NOT NULL` and
//! primary-key checks are left to the caller.
//!
//! # CSV
//!
//! * With `HEADER true` the first record names the columns (matched with
//!   [`TableSchema::column_index`]; an unknown name is [`Error::NoSuchColumn`], a name given
//!   twice is an [`Error::Import`]). Without a header, fields map positionally onto all table
//!   columns. Either way a record with a different number of fields is an error.
//! * An empty field is `NULL`. Otherwise, by the column's type: `INTEGER` parses an `i64` (an
//!   integral real such as `3.0` is accepted too); `REAL` parses an `f64`; `BOOLEAN` accepts
//!   `true/false/t/f/yes/no/1/0` in any case; `TEXT` is taken as is; `VECTOR(n)` parses a
//!   literal `[0.1,0.2,…]` with [`parse_vector`]. Numbers and booleans may be surrounded by
//!   spaces.
//! * A conversion error is reported as [`Error::Import`] with the 1-based line of the record
//!   (the header is line 1) and the message `column <name>: <error>`.
//!
//! # Parquet
//!
//! * Columns are matched by name; a file column the table does not have is
//!   [`Error::NoSuchColumn`]; table columns missing from the file are `NULL`.
//! * Arrow types map to values as follows, then go through [`coerce`] for the column's type:
//!   `Int8/16/32/64`, `UInt8/16/32` → `Integer`; `UInt64` → `Integer` when it fits in an
//!   `i64`, an error otherwise; `Float16/32/64` → `Real`; `Utf8`, `LargeUtf8`, `Utf8View` →
//!   `Text`; `Boolean` → `Boolean`; `FixedSizeList`, `List` or `LargeList` of
//!   `Float16/32/64` → `Vector`; dictionary-encoded columns map like their values; nulls →
//!   `NULL`. A `NULL` element inside a vector is an error.
//! * A value that does not fit its column (text into `INTEGER`, a 768-wide vector into
//!   `VECTOR(384)`…) is reported as [`Error::Import`] with the 1-based row number and the
//!   message `column <name>: <error from coerce>`. Other arrow types are refused before any row
//!   is read, with the type named.
//!
//! Arrays are downcast once per record batch and column, and vectors are copied straight from
//! the child array's value buffer.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::RecordBatch;
use arrow_array::{Array, ArrowPrimitiveType, OffsetSizeTrait, PrimitiveArray};
use arrow_schema::DataType as ArrowType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::exec::cancel::Cancel;
use crate::value::{coerce, parse_vector, DataType, Value};

/// The input format of a `COPY … FROM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyFormat {
    /// Comma- (or `delimiter`-) separated values, optionally with a header line.
    Csv {
        /// The first record names the columns.
        header: bool,
        /// Field separator byte (`b','` by default).
        delimiter: u8,
    },
    /// Apache Parquet, read through the arrow reader.
    Parquet,
}

/// [`read_rows_cancellable`] with a token that never fires (the unit tests' entry).
#[cfg(test)]
pub(crate) fn read_rows(
    path: &Path,
    format: &CopyFormat,
    table: &TableSchema,
) -> Result<Vec<Vec<Value>>> {
    read_rows_cancellable(path, format, table, &Cancel::never())
}

/// Reads `path` in `format` into rows for `table`.
///
/// Returns one `Vec<Value>` per input row, each of length `table.columns.len()`, in table
/// column order, every value converted to its column's type; `NULL` for table columns the input
/// does not have. See the [module documentation](self) for the mapping rules.
///
/// # Errors
/// [`Error::Import`] for a missing or unreadable file, a malformed record, a value that cannot
/// be converted (with its line or row) or an unsupported Parquet column type;
/// [`Error::NoSuchColumn`] for an input column the table does not have;
/// [`Error::Interrupted`] when the statement is interrupted or times out (`cancel` is asked
/// every 1,024 CSV records and every Parquet record batch).
pub(crate) fn read_rows_cancellable(
    path: &Path,
    format: &CopyFormat,
    table: &TableSchema,
    cancel: &Cancel,
) -> Result<Vec<Vec<Value>>> {
    read_rows_into(path, format, table, None, cancel)
}

/// [`read_rows`] for `COPY t (col, …) FROM`: with `columns` (table column positions, in the
/// order of the list), only those columns are filled, the others are `NULL`. A CSV file
/// without a header fills them by position (its records have as many fields as the list);
/// a CSV file with a header and a Parquet file fill each listed column from the file column
/// of the same name, and skip file columns not listed.
///
/// # Errors
/// As [`read_rows`]; [`Error::Import`] when the file has no column for a listed one.
pub(crate) fn read_rows_into(
    path: &Path,
    format: &CopyFormat,
    table: &TableSchema,
    columns: Option<&[usize]>,
    cancel: &Cancel,
) -> Result<Vec<Vec<Value>>> {
    let mut reader = RowReader::open(path, format, table, columns)?;
    reader.next_chunk(usize::MAX, cancel)
}

pub(crate) fn import_error(path: &Path, line: Option<u64>, message: impl Into<String>) -> Error {
    Error::Import {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Wraps a conversion error of one value as `column <name>: <error>` at `line`.
fn cell_error(path: &Path, table: &TableSchema, col: usize, line: u64, inner: Error) -> Error {
    import_error(
        path,
        Some(line),
        format!("column {}: {inner}", table.columns[col].name),
    )
}

/// Maps input column names onto table column positions, refusing unknown and repeated names.
fn map_names<'a>(
    path: &Path,
    table: &TableSchema,
    names: impl Iterator<Item = &'a str>,
    line: Option<u64>,
) -> Result<Vec<usize>> {
    let mut seen = HashSet::new();
    let mut mapping = Vec::new();
    for name in names {
        let index = table.require_column(name)?;
        if !seen.insert(index) {
            return Err(import_error(
                path,
                line,
                format!(
                    "column {} appears more than once in the input",
                    table.columns[index].name
                ),
            ));
        }
        mapping.push(index);
    }
    Ok(mapping)
}

/// Maps named input columns onto the listed table columns (`COPY t (a, b)`): a name that is
/// a listed column maps to it, any other name is skipped (`None`); every listed column must
/// appear exactly once.
fn map_listed<'a>(
    path: &Path,
    table: &TableSchema,
    list: &[usize],
    names: impl Iterator<Item = &'a str>,
    line: Option<u64>,
) -> Result<Vec<Option<usize>>> {
    let mut seen = HashSet::new();
    let mut mapping = Vec::new();
    for name in names {
        let col = table.column_index(name).filter(|c| list.contains(c));
        if let Some(c) = col {
            if !seen.insert(c) {
                return Err(import_error(
                    path,
                    line,
                    format!(
                        "column {} appears more than once in the input",
                        table.columns[c].name
                    ),
                ));
            }
        }
        mapping.push(col);
    }
    if let Some(&missing) = list.iter().find(|c| !seen.contains(*c)) {
        return Err(import_error(
            path,
            line,
            format!(
                "the file has no column {} (listed in the COPY column list)",
                table.columns[missing].name
            ),
        ));
    }
    Ok(mapping)
}

/// A `COPY` input opened for reading in chunks of rows (see [`RowReader::open`]).
pub(crate) struct RowReader<'a> {
    path: &'a Path,
    table: &'a TableSchema,
    /// `table.column` of each table column, for conversion errors.
    contexts: Vec<String>,
    /// Rows handed out so far.
    rows_read: u64,
    source: Source,
}

enum Source {
    /// An empty CSV file (not even a header): no rows.
    Empty,
    Csv {
        reader: csv::Reader<BufReader<File>>,
        /// The table column of each field (`None`: skipped).
        mapping: Vec<Option<usize>>,
        record: csv::StringRecord,
        /// The first line is a header.
        header: bool,
        /// The file's line count, once [`RowReader::total_hint`] counted it.
        lines: Option<u64>,
    },
    Parquet {
        reader: ParquetRecordBatchReader,
        mapping: Vec<Option<usize>>,
        /// Rows of the last record batch not handed out yet.
        pending: std::vec::IntoIter<Vec<Value>>,
        /// The row count in the file's metadata.
        total: u64,
    },
}

impl<'a> RowReader<'a> {
    /// Opens `path` in `format` for `table`; with `columns`, as [`read_rows_into`] describes.
    /// A CSV header and a Parquet schema are read and checked here, rows by
    /// [`RowReader::next_chunk`].
    ///
    /// # Errors
    /// As [`read_rows_into`], for the file, its header or its schema.
    pub(crate) fn open(
        path: &'a Path,
        format: &CopyFormat,
        table: &'a TableSchema,
        columns: Option<&[usize]>,
    ) -> Result<RowReader<'a>> {
        let file = File::open(path)
            .map_err(|e| import_error(path, None, format!("cannot open file: {e}")))?;
        let source = match *format {
            CopyFormat::Csv { header, delimiter } => {
                open_csv(path, file, header, delimiter, table, columns)?
            }
            CopyFormat::Parquet => open_parquet(path, file, table, columns)?,
        };
        Ok(RowReader {
            path,
            table,
            contexts: (0..table.columns.len())
                .map(|c| table.qualified(c))
                .collect(),
            rows_read: 0,
            source,
        })
    }

    /// The next rows of the file, at most `max` (at least 1), in file order; empty at the end
    /// of the file. Each row is as [`read_rows_into`] returns it.
    ///
    /// # Errors
    /// As [`read_rows_into`], naming the line (CSV) or row (Parquet) of the bad value;
    /// [`Error::Interrupted`] when `cancel` fires (asked every 1,024 CSV records and every
    /// Parquet record batch).
    pub(crate) fn next_chunk(&mut self, max: usize, cancel: &Cancel) -> Result<Vec<Vec<Value>>> {
        let max = max.max(1);
        let rows = match &mut self.source {
            Source::Empty => Vec::new(),
            Source::Csv {
                reader,
                mapping,
                record,
                ..
            } => csv_chunk(
                self.path,
                reader,
                mapping,
                record,
                self.table,
                &self.contexts,
                max,
                cancel,
            )?,
            Source::Parquet {
                reader,
                mapping,
                pending,
                total,
            } => {
                let mut rows = Vec::with_capacity((*total).min(max as u64) as usize);
                while rows.len() < max {
                    if let Some(row) = pending.next() {
                        rows.push(row);
                        continue;
                    }
                    let Some(batch) = reader.next() else { break };
                    cancel.check()?;
                    let first_row = self.rows_read + rows.len() as u64 + 1;
                    let batch = batch.map_err(|e| {
                        import_error(
                            self.path,
                            None,
                            format!("cannot read Parquet data after row {}: {e}", first_row - 1),
                        )
                    })?;
                    *pending = parquet_rows(
                        self.path,
                        &batch,
                        mapping,
                        self.table,
                        &self.contexts,
                        first_row,
                    )?
                    .into_iter();
                }
                rows
            }
        };
        self.rows_read += rows.len() as u64;
        Ok(rows)
    }

    /// The number of rows the file holds: for Parquet from its metadata; for CSV its line
    /// count less the header, counted once at the first call (a field with line breaks inside
    /// quotes makes it an overestimate). Never less than the rows read so far.
    pub(crate) fn total_hint(&mut self) -> u64 {
        let total = match &mut self.source {
            Source::Empty => 0,
            Source::Parquet { total, .. } => *total,
            Source::Csv { lines, header, .. } => *lines
                .get_or_insert_with(|| count_lines(self.path).saturating_sub(u64::from(*header))),
        };
        total.max(self.rows_read)
    }
}

/// The number of lines of a file (a last line without a line break counts); 0 when it cannot
/// be read.
fn count_lines(path: &Path) -> u64 {
    use std::io::Read;
    let Ok(mut file) = File::open(path) else {
        return 0;
    };
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                last = buf[n - 1];
            }
        }
    }
    lines + u64::from(last != b'\n')
}

// ---------------------------------------------------------------------------------------------
// CSV

fn open_csv(
    path: &Path,
    file: File,
    header: bool,
    delimiter: u8,
    table: &TableSchema,
    columns: Option<&[usize]>,
) -> Result<Source> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(header)
        .delimiter(delimiter)
        // Field counts are checked here, to report them in our own words.
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 20, file));

    let mapping: Vec<Option<usize>> = if header {
        let names = reader.headers().map_err(|e| csv_error(path, &e))?.clone();
        if names.is_empty() {
            // An empty file: no header and no rows.
            return Ok(Source::Empty);
        }
        match columns {
            Some(list) => map_listed(path, table, list, names.iter().map(str::trim), Some(1))?,
            None => map_names(path, table, names.iter().map(str::trim), Some(1))?
                .into_iter()
                .map(Some)
                .collect(),
        }
    } else {
        match columns {
            Some(list) => list.iter().copied().map(Some).collect(),
            None => (0..table.columns.len()).map(Some).collect(),
        }
    };
    Ok(Source::Csv {
        reader,
        mapping,
        record: csv::StringRecord::new(),
        header,
        lines: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn csv_chunk(
    path: &Path,
    reader: &mut csv::Reader<BufReader<File>>,
    mapping: &[Option<usize>],
    record: &mut csv::StringRecord,
    table: &TableSchema,
    contexts: &[String],
    max: usize,
    cancel: &Cancel,
) -> Result<Vec<Vec<Value>>> {
    let mut rows = Vec::new();
    while rows.len() < max {
        cancel.tick()?;
        match reader.read_record(record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, &e)),
        }
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != mapping.len() {
            // The csv crate skips blank lines, so this is a real short or long record.
            return Err(import_error(
                path,
                Some(line),
                format!("expected {} fields, found {}", mapping.len(), record.len()),
            ));
        }
        let mut row = vec![Value::Null; table.columns.len()];
        for (field, &col) in record.iter().zip(mapping) {
            let Some(col) = col else { continue };
            let ty = table.columns[col].data_type;
            row[col] = csv_value(field, ty, &contexts[col])
                .map_err(|e| cell_error(path, table, col, line, e))?;
        }
        rows.push(row);
    }
    Ok(rows)
}

pub(crate) fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let line = e.position().map(csv::Position::line);
    let message = match e.kind() {
        csv::ErrorKind::Io(io) => format!("cannot read file: {io}"),
        _ => e.to_string(),
    };
    import_error(path, line, message)
}

/// Converts one CSV field to a value of type `ty` (`context` is `table.column`).
fn csv_value(field: &str, ty: DataType, context: &str) -> Result<Value> {
    if field.is_empty() {
        return Ok(Value::Null);
    }
    let bad = |what: &str| {
        Error::type_mismatch(
            context,
            ty.to_string(),
            format!("{what} {:?}", shorten(field)),
        )
    };
    let value = match ty {
        DataType::Integer => {
            let t = field.trim();
            match t.parse::<i64>() {
                Ok(i) => Value::Integer(i),
                // `3.0` is an integer written as a real; coerce accepts integral reals only.
                Err(_) => match t.parse::<f64>() {
                    Ok(r) => Value::Real(r),
                    Err(_) => return Err(bad("text")),
                },
            }
        }
        DataType::Real => Value::Real(field.trim().parse::<f64>().map_err(|_| bad("text"))?),
        DataType::Boolean => Value::Boolean(parse_bool(field.trim()).ok_or_else(|| bad("text"))?),
        DataType::Text => Value::Text(field.to_string()),
        DataType::Vector(_) => Value::Vector(parse_vector(field, context)?),
        // A future type: let coerce decide what text can become.
        #[allow(unreachable_patterns)]
        _ => Value::Text(field.to_string()),
    };
    coerce(value, ty, context)
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["true", "t", "yes", "1"];
    const FALSE: [&str; 4] = ["false", "f", "no", "0"];
    if TRUE.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Some(true)
    } else if FALSE.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Some(false)
    } else {
        None
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        let mut t: String = s.chars().take(40).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Parquet

fn open_parquet(
    path: &Path,
    file: File,
    table: &TableSchema,
    columns: Option<&[usize]>,
) -> Result<Source> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| import_error(path, None, format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let names = schema.fields().iter().map(|f| f.name().as_str());
    let mapping: Vec<Option<usize>> = match columns {
        Some(list) => map_listed(path, table, list, names, None)?,
        None => map_names(path, table, names, None)?
            .into_iter()
            .map(Some)
            .collect(),
    };
    for (field, &col) in schema.fields().iter().zip(&mapping) {
        let Some(col) = col else { continue };
        if !supported(field.data_type()) {
            return Err(import_error(
                path,
                None,
                format!(
                    "column {}: unsupported Parquet column type {} (expected integers, floats, \
                     strings, booleans or lists of floats)",
                    table.columns[col].name,
                    field.data_type()
                ),
            ));
        }
    }
    let total = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let reader = builder
        .build()
        .map_err(|e| import_error(path, None, format!("cannot read Parquet file: {e}")))?;
    Ok(Source::Parquet {
        reader,
        mapping,
        pending: Vec::new().into_iter(),
        total,
    })
}

/// The rows of one record batch whose first row is row `first_row` (1-based) of the file.
fn parquet_rows(
    path: &Path,
    batch: &RecordBatch,
    mapping: &[Option<usize>],
    table: &TableSchema,
    contexts: &[String],
    first_row: u64,
) -> Result<Vec<Vec<Value>>> {
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(batch.num_rows());
    rows.resize_with(batch.num_rows(), || vec![Value::Null; table.columns.len()]);
    for (array, &col) in batch.columns().iter().zip(mapping) {
        let Some(col) = col else { continue };
        let ty = table.columns[col].data_type;
        let context = &contexts[col];
        let mut put = |i: usize, v: Result<Value>| -> Result<()> {
            let v = v
                .and_then(|v| coerce(v, ty, context))
                .map_err(|e| cell_error(path, table, col, first_row + i as u64, e))?;
            if let Some(row) = rows.get_mut(i) {
                row[col] = v;
            }
            Ok(())
        };
        convert_array(array.as_ref(), &mut put).map_err(|e| match e {
            e @ Error::Import { .. } => e,
            other => import_error(
                path,
                None,
                format!("column {}: {other}", table.columns[col].name),
            ),
        })?;
    }
    Ok(rows)
}

/// Whether an arrow type can be turned into values by [`convert_array`].
pub(crate) fn supported(ty: &ArrowType) -> bool {
    use ArrowType as T;
    match ty {
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::UInt8 | T::UInt16 | T::UInt32 | T::UInt64 => {
            true
        }
        T::Float16 | T::Float32 | T::Float64 => true,
        T::Utf8 | T::LargeUtf8 | T::Utf8View | T::Boolean | T::Null => true,
        T::FixedSizeList(f, _) | T::List(f) | T::LargeList(f) => {
            matches!(f.data_type(), T::Float16 | T::Float32 | T::Float64)
        }
        T::Dictionary(_, values) => supported(values) && !matches!(**values, T::Dictionary(..)),
        _ => false,
    }
}

/// Calls `put(i, value)` for every element of `array`, in order. The array is downcast once;
/// per-element conversion errors (a `UInt64` too large, a `NULL` inside a vector) are passed
/// to `put` as `Err`, which decides what to do with them.
fn convert_array(
    array: &dyn Array,
    put: &mut dyn FnMut(usize, Result<Value>) -> Result<()>,
) -> Result<()> {
    use ArrowType as T;
    let n = array.len();
    match array.data_type() {
        T::Null => (0..n).try_for_each(|i| put(i, Ok(Value::Null))),
        T::Int8 => primitive::<Int8Type>(array, put, |x| Ok(Value::Integer(x.into()))),
        T::Int16 => primitive::<Int16Type>(array, put, |x| Ok(Value::Integer(x.into()))),
        T::Int32 => primitive::<Int32Type>(array, put, |x| Ok(Value::Integer(x.into()))),
        T::Int64 => primitive::<Int64Type>(array, put, |x| Ok(Value::Integer(x))),
        T::UInt8 => primitive::<UInt8Type>(array, put, |x| Ok(Value::Integer(x.into()))),
        T::UInt16 => primitive::<UInt16Type>(array, put, |x| Ok(Value::Integer(x.into()))),
        T::UInt32 => primitive::<UInt32Type>(array, put, |x| Ok(Value::Integer(x.into()))),
        T::UInt64 => primitive::<UInt64Type>(array, put, |x| {
            i64::try_from(x).map(Value::Integer).map_err(|_| {
                Error::invalid(format!(
                    "UInt64 value {x} does not fit in a 64-bit signed INTEGER"
                ))
            })
        }),
        T::Float16 => primitive::<Float16Type>(array, put, |x| Ok(Value::Real(x.to_f64()))),
        T::Float32 => primitive::<Float32Type>(array, put, |x| Ok(Value::Real(x.into()))),
        T::Float64 => primitive::<Float64Type>(array, put, |x| Ok(Value::Real(x))),
        T::Boolean => {
            let a = downcast(array.as_boolean_opt(), array)?;
            (0..n).try_for_each(|i| {
                put(
                    i,
                    Ok(if a.is_null(i) {
                        Value::Null
                    } else {
                        Value::Boolean(a.value(i))
                    }),
                )
            })
        }
        T::Utf8 => strings::<i32>(array, put),
        T::LargeUtf8 => strings::<i64>(array, put),
        T::Utf8View => {
            let a = downcast(array.as_string_view_opt(), array)?;
            (0..n).try_for_each(|i| {
                put(
                    i,
                    Ok(if a.is_null(i) {
                        Value::Null
                    } else {
                        Value::Text(a.value(i).to_string())
                    }),
                )
            })
        }
        T::FixedSizeList(..) => {
            let a = downcast(array.as_fixed_size_list_opt(), array)?;
            let width = usize::try_from(a.value_length()).unwrap_or(0);
            let values = FloatSlice::new(a.values().as_ref())?;
            (0..n).try_for_each(|i| {
                let v = if a.is_null(i) {
                    Ok(Value::Null)
                } else {
                    // In arrow 60 the child array of a sliced FixedSizeList is sliced too, so
                    // element `i` starts at `i * width`.
                    values.vector(i * width, (i + 1) * width)
                };
                put(i, v)
            })
        }
        T::List(_) => lists::<i32>(array, put),
        T::LargeList(_) => lists::<i64>(array, put),
        T::Dictionary(..) => {
            let a = downcast(array.as_any_dictionary_opt(), array)?;
            // Convert each distinct value once, then look the keys up. A value that fails to
            // convert is converted again when a row uses it, to report its error on that row.
            let dict_values = a.values();
            let mut dict: Vec<Option<Value>> = Vec::with_capacity(dict_values.len());
            convert_array(dict_values.as_ref(), &mut |_, v| {
                dict.push(v.ok());
                Ok(())
            })?;
            let keys = a.normalized_keys();
            (0..n).try_for_each(|i| {
                if array.is_null(i) {
                    return put(i, Ok(Value::Null));
                }
                let key = keys.get(i).copied().unwrap_or(usize::MAX);
                let v = match dict.get(key) {
                    Some(Some(v)) => Ok(v.clone()),
                    Some(None) => {
                        let mut err = Ok(Value::Null);
                        convert_array(dict_values.slice(key, 1).as_ref(), &mut |_, v| {
                            err = v;
                            Ok(())
                        })?;
                        err
                    }
                    None => Err(Error::Corrupt(format!("dictionary key {key} out of range"))),
                };
                put(i, v)
            })
        }
        other => Err(Error::unsupported(format!("Parquet column type {other}"))),
    }
}

/// Downcast result, or an error naming the array's type (only on inconsistent arrow data).
fn downcast<'a, A: ?Sized>(a: Option<&'a A>, array: &dyn Array) -> Result<&'a A> {
    a.ok_or_else(|| {
        Error::Corrupt(format!(
            "unexpected arrow array for type {}",
            array.data_type()
        ))
    })
}

fn primitive<T: ArrowPrimitiveType>(
    array: &dyn Array,
    put: &mut dyn FnMut(usize, Result<Value>) -> Result<()>,
    convert: impl Fn(T::Native) -> Result<Value>,
) -> Result<()> {
    let a: &PrimitiveArray<T> = downcast(array.as_primitive_opt::<T>(), array)?;
    let values = a.values();
    for (i, &x) in values.iter().enumerate() {
        put(
            i,
            if a.is_null(i) {
                Ok(Value::Null)
            } else {
                convert(x)
            },
        )?;
    }
    Ok(())
}

fn strings<O: OffsetSizeTrait>(
    array: &dyn Array,
    put: &mut dyn FnMut(usize, Result<Value>) -> Result<()>,
) -> Result<()> {
    let a = downcast(array.as_string_opt::<O>(), array)?;
    (0..a.len()).try_for_each(|i| {
        put(
            i,
            Ok(if a.is_null(i) {
                Value::Null
            } else {
                Value::Text(a.value(i).to_string())
            }),
        )
    })
}

fn lists<O: OffsetSizeTrait>(
    array: &dyn Array,
    put: &mut dyn FnMut(usize, Result<Value>) -> Result<()>,
) -> Result<()> {
    let a = downcast(array.as_list_opt::<O>(), array)?;
    let offsets = a.value_offsets();
    let values = FloatSlice::new(a.values().as_ref())?;
    (0..a.len()).try_for_each(|i| {
        let v = if a.is_null(i) {
            Ok(Value::Null)
        } else {
            match (offsets.get(i), offsets.get(i + 1)) {
                (Some(s), Some(e)) => values.vector(s.as_usize(), e.as_usize()),
                _ => Err(Error::Corrupt("list offsets out of range".into())),
            }
        };
        put(i, v)
    })
}

/// The float child array of a list column, downcast once.
enum FloatSlice<'a> {
    F16(&'a PrimitiveArray<Float16Type>),
    F32(&'a PrimitiveArray<Float32Type>),
    F64(&'a PrimitiveArray<Float64Type>),
}

impl<'a> FloatSlice<'a> {
    fn new(values: &'a dyn Array) -> Result<Self> {
        Ok(match values.data_type() {
            ArrowType::Float16 => FloatSlice::F16(downcast(values.as_primitive_opt(), values)?),
            ArrowType::Float32 => FloatSlice::F32(downcast(values.as_primitive_opt(), values)?),
            ArrowType::Float64 => FloatSlice::F64(downcast(values.as_primitive_opt(), values)?),
            other => return Err(Error::unsupported(format!("vectors of {other}"))),
        })
    }

    /// Elements `start..end` as a vector (no dimension or finiteness check: coerce does those).
    fn vector(&self, start: usize, end: usize) -> Result<Value> {
        let (array, len): (&dyn Array, usize) = match self {
            FloatSlice::F16(a) => (*a, a.len()),
            FloatSlice::F32(a) => (*a, a.len()),
            FloatSlice::F64(a) => (*a, a.len()),
        };
        if start > end || end > len {
            return Err(Error::Corrupt(format!(
                "vector elements {start}..{end} out of range"
            )));
        }
        if array.null_count() > 0 {
            if let Some(p) = (start..end).find(|&j| array.is_null(j)) {
                return Err(Error::invalid(format!(
                    "vector element {} is NULL",
                    p - start
                )));
            }
        }
        Ok(Value::Vector(match self {
            FloatSlice::F16(a) => a.values()[start..end].iter().map(|x| x.to_f32()).collect(),
            FloatSlice::F32(a) => a.values()[start..end].to_vec(),
            FloatSlice::F64(a) => a.values()[start..end].iter().map(|&x| x as f32).collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{
        BooleanBuilder, FixedSizeListBuilder, Float32Builder, Float64Builder, Int64Builder,
        ListBuilder, StringBuilder,
    };
    use arrow_array::{
        ArrayRef, Date32Array, DictionaryArray, Float32Array, Int16Array, Int32Array, Int64Array,
        Int8Array, LargeStringArray, RecordBatch, UInt16Array, UInt32Array, UInt64Array,
        UInt8Array,
    };
    use arrow_schema::{Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;

    use super::*;
    use crate::catalog::ColumnDef;

    fn table(cols: &[(&str, DataType)]) -> TableSchema {
        TableSchema {
            id: 1,
            name: "t".into(),
            columns: cols
                .iter()
                .map(|(name, ty)| ColumnDef {
                    name: (*name).into(),
                    data_type: *ty,
                    not_null: false,
                })
                .collect(),
            primary_key: None,
            extras: Vec::new(),
        }
    }

    fn csv_format(header: bool) -> CopyFormat {
        CopyFormat::Csv {
            header,
            delimiter: b',',
        }
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn write_parquet(
        dir: &tempfile::TempDir,
        name: &str,
        columns: Vec<(&str, ArrayRef)>,
    ) -> std::path::PathBuf {
        let path = dir.path().join(name);
        let batch =
            RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a)))
                .unwrap();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let mut writer =
            ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), Some(props))
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        path
    }

    fn fixed_list(rows: &[Option<Vec<f32>>], width: i32) -> ArrayRef {
        let mut b = FixedSizeListBuilder::new(Float32Builder::new(), width);
        for row in rows {
            match row {
                Some(v) => {
                    b.values().append_slice(v);
                    b.append(true);
                }
                None => {
                    b.values().append_slice(&vec![0.0; width as usize]);
                    b.append(false);
                }
            }
        }
        Arc::new(b.finish())
    }

    fn import_line(e: &Error) -> Option<u64> {
        match e {
            Error::Import { line, .. } => *line,
            other => panic!("expected Error::Import, got {other:?}"),
        }
    }

    // ----------------------------------------------------------------------------------------
    // CSV

    #[test]
    fn csv_header_maps_by_name_and_converts_every_type() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[
            ("id", DataType::Integer),
            ("name", DataType::Text),
            ("score", DataType::Real),
            ("ok", DataType::Boolean),
            ("v", DataType::Vector(3)),
            ("extra", DataType::Text),
        ]);
        let path = write(
            &dir,
            "a.csv",
            "v,ok,score,name,ID\n\
             \"[0.5, -1, 2e-3]\",TRUE,1.25,\"hello, world\",1\n\
             \"[1,2,3]\", no ,7, x ,  2 \n\
             \"[0,0,1]\",T,-0.5,\"quote \"\"q\"\"\",3.0\n",
        );
        let rows = read_rows(&path, &csv_format(true), &t).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            vec![
                Value::Integer(1),
                Value::Text("hello, world".into()),
                Value::Real(1.25),
                Value::Boolean(true),
                Value::Vector(vec![0.5, -1.0, 0.002]),
                Value::Null,
            ]
        );
        // Text is kept as is (spaces included); numbers and booleans are trimmed; REAL accepts
        // integers; INTEGER accepts an integral real.
        assert_eq!(rows[1][0], Value::Integer(2));
        assert_eq!(rows[1][1], Value::Text(" x ".into()));
        assert_eq!(rows[1][2], Value::Real(7.0));
        assert_eq!(rows[1][3], Value::Boolean(false));
        assert_eq!(rows[2][0], Value::Integer(3));
        assert_eq!(rows[2][1], Value::Text("quote \"q\"".into()));
        assert_eq!(rows[2][3], Value::Boolean(true));
    }

    #[test]
    fn csv_booleans() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("b", DataType::Boolean)]);
        let path = write(&dir, "b.csv", "true\nFalse\nt\nF\nYES\nno\n1\n0\n");
        let rows = read_rows(&path, &csv_format(false), &t).unwrap();
        let got: Vec<Value> = rows.into_iter().map(|mut r| r.remove(0)).collect();
        let want = [true, false, true, false, true, false, true, false].map(Value::Boolean);
        assert_eq!(got, want);
        let path = write(&dir, "bad.csv", "true\nmaybe\n");
        let e = read_rows(&path, &csv_format(false), &t).unwrap_err();
        assert_eq!(import_line(&e), Some(2));
        assert!(e.to_string().contains("column b:"), "{e}");
    }

    #[test]
    fn csv_positional_with_delimiter_and_field_count() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[
            ("id", DataType::Integer),
            ("name", DataType::Text),
            ("v", DataType::Vector(2)),
        ]);
        let path = write(&dir, "p.csv", "1|curl|[1,2]\r\n2|wget|[3,4]\r\n");
        let format = CopyFormat::Csv {
            header: false,
            delimiter: b'|',
        };
        let rows = read_rows(&path, &format, &t).unwrap();
        assert_eq!(
            rows,
            vec![
                vec![
                    Value::Integer(1),
                    Value::Text("curl".into()),
                    Value::Vector(vec![1.0, 2.0])
                ],
                vec![
                    Value::Integer(2),
                    Value::Text("wget".into()),
                    Value::Vector(vec![3.0, 4.0])
                ],
            ]
        );

        let path = write(&dir, "short.csv", "1|curl|[1,2]\n2|wget\n");
        let e = read_rows(&path, &format, &t).unwrap_err();
        assert_eq!(import_line(&e), Some(2));
        assert!(e.to_string().contains("expected 3 fields, found 2"), "{e}");

        // With a header the count is the header's.
        let path = write(&dir, "long.csv", "id,name\n1,a\n2,b,c\n");
        let e = read_rows(&path, &csv_format(true), &t).unwrap_err();
        assert_eq!(import_line(&e), Some(3));
    }

    #[test]
    fn csv_empty_fields_are_null() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[
            ("id", DataType::Integer),
            ("name", DataType::Text),
            ("score", DataType::Real),
            ("ok", DataType::Boolean),
            ("v", DataType::Vector(2)),
        ]);
        let path = write(&dir, "n.csv", "id,name,score,ok,v\n1,,,,\n,\"\",,,\n");
        let rows = read_rows(&path, &csv_format(true), &t).unwrap();
        assert_eq!(
            rows[0],
            vec![
                Value::Integer(1),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null
            ]
        );
        assert_eq!(rows[1], vec![Value::Null; 5]);
    }

    #[test]
    fn csv_bad_row_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("id", DataType::Integer), ("name", DataType::Text)]);
        let path = write(&dir, "bad.csv", "id,name\n1,a\nabc,b\n3,c\n");
        let e = read_rows(&path, &csv_format(true), &t).unwrap_err();
        match &e {
            Error::Import {
                path: p,
                line,
                message,
            } => {
                assert_eq!(p, &path);
                assert_eq!(*line, Some(3));
                assert!(message.starts_with("column id: "), "{message}");
                assert!(
                    message.contains("INTEGER") && message.contains("abc"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("(line 3)"), "{e}");

        // Lines count physical lines: a quoted field spanning two lines moves later records.
        let path = write(&dir, "multi.csv", "id,name\n1,\"two\nlines\"\nx,b\n");
        let e = read_rows(&path, &csv_format(true), &t).unwrap_err();
        assert_eq!(import_line(&e), Some(4));
    }

    #[test]
    fn csv_vector_errors() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("v", DataType::Vector(3))]);
        let path = write(&dir, "v.csv", "v\n\"[1,2,3]\"\n\"[1,2]\"\n");
        let e = read_rows(&path, &csv_format(true), &t).unwrap_err();
        assert_eq!(import_line(&e), Some(3));
        assert!(
            e.to_string().contains("expected 3 dimensions, found 2"),
            "{e}"
        );

        let path = write(&dir, "nan.csv", "\"[1,NaN,3]\"\n");
        let e = read_rows(&path, &csv_format(false), &t).unwrap_err();
        assert_eq!(import_line(&e), Some(1));
        assert!(e.to_string().contains("non-finite"), "{e}");

        let path = write(&dir, "lit.csv", "1;2;3\n");
        let e = read_rows(&path, &csv_format(false), &t).unwrap_err();
        assert!(
            e.to_string().contains("column v: invalid vector literal"),
            "{e}"
        );
    }

    #[test]
    fn csv_unknown_and_repeated_columns() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("id", DataType::Integer)]);
        let path = write(&dir, "u.csv", "id,colour\n1,red\n");
        match read_rows(&path, &csv_format(true), &t) {
            Err(Error::NoSuchColumn { table, column }) => {
                assert_eq!(table, "t");
                assert_eq!(column, "colour");
            }
            other => panic!("{other:?}"),
        }
        let path = write(&dir, "r.csv", "id,ID\n1,2\n");
        let e = read_rows(&path, &csv_format(true), &t).unwrap_err();
        assert!(e.to_string().contains("more than once"), "{e}");
    }

    #[test]
    fn csv_empty_file_and_invalid_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("id", DataType::Integer), ("name", DataType::Text)]);
        let path = write(&dir, "e.csv", "");
        assert!(read_rows(&path, &csv_format(true), &t).unwrap().is_empty());
        assert!(read_rows(&path, &csv_format(false), &t).unwrap().is_empty());
        let path = write(&dir, "h.csv", "id,name\n");
        assert!(read_rows(&path, &csv_format(true), &t).unwrap().is_empty());

        let path = dir.path().join("bin.csv");
        std::fs::write(&path, b"1,ok\n2,\xff\xfe\n").unwrap();
        let e = read_rows(&path, &csv_format(false), &t).unwrap_err();
        assert!(matches!(e, Error::Import { .. }), "{e:?}");
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("id", DataType::Integer)]);
        let path = dir.path().join("nope.csv");
        for format in [csv_format(true), CopyFormat::Parquet] {
            match read_rows(&path, &format, &t) {
                Err(Error::Import {
                    path: p,
                    line: None,
                    message,
                }) => {
                    assert_eq!(p, path);
                    assert!(message.contains("No such file"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Parquet

    #[test]
    fn parquet_round_trip_of_every_type() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[
            ("i8", DataType::Integer),
            ("i16", DataType::Integer),
            ("i32", DataType::Integer),
            ("i64", DataType::Integer),
            ("u8", DataType::Integer),
            ("u16", DataType::Integer),
            ("u32", DataType::Integer),
            ("u64", DataType::Integer),
            ("f32", DataType::Real),
            ("f64", DataType::Real),
            ("int_as_real", DataType::Real),
            ("s", DataType::Text),
            ("ls", DataType::Text),
            ("b", DataType::Boolean),
            ("v", DataType::Vector(3)),
            ("lv", DataType::Vector(2)),
            ("sv", DataType::Vector(2)),
            ("absent", DataType::Text),
        ]);
        let mut i64s = Int64Builder::new();
        i64s.append_value(i64::MIN);
        i64s.append_null();
        let mut f64s = Float64Builder::new();
        f64s.append_value(2.5);
        f64s.append_null();
        let mut strs = StringBuilder::new();
        strs.append_value("héllo");
        strs.append_null();
        let mut bools = BooleanBuilder::new();
        bools.append_value(true);
        bools.append_null();
        let mut lists = ListBuilder::new(Float64Builder::new());
        lists.values().append_slice(&[0.25, -4.0]);
        lists.append(true);
        lists.append(false);
        let path = write_parquet(
            &dir,
            "all.parquet",
            vec![
                (
                    "i8",
                    Arc::new(Int8Array::from(vec![Some(-8), None])) as ArrayRef,
                ),
                ("i16", Arc::new(Int16Array::from(vec![Some(-16), None]))),
                ("i32", Arc::new(Int32Array::from(vec![Some(-32), None]))),
                ("i64", Arc::new(i64s.finish())),
                ("u8", Arc::new(UInt8Array::from(vec![Some(8), None]))),
                ("u16", Arc::new(UInt16Array::from(vec![Some(16), None]))),
                (
                    "u32",
                    Arc::new(UInt32Array::from(vec![Some(u32::MAX), None])),
                ),
                (
                    "u64",
                    Arc::new(UInt64Array::from(vec![Some(i64::MAX as u64), None])),
                ),
                ("f32", Arc::new(Float32Array::from(vec![Some(1.5), None]))),
                ("f64", Arc::new(f64s.finish())),
                (
                    "int_as_real",
                    Arc::new(Int32Array::from(vec![Some(7), None])),
                ),
                ("s", Arc::new(strs.finish())),
                (
                    "ls",
                    Arc::new(LargeStringArray::from(vec![Some("large"), None])),
                ),
                ("b", Arc::new(bools.finish())),
                ("v", fixed_list(&[Some(vec![0.1, 0.2, 0.3]), None], 3)),
                ("lv", Arc::new(lists.finish())),
                (
                    "sv",
                    Arc::new(arrow_array::StringArray::from(vec![Some("[1, 2]"), None])),
                ),
            ],
        );
        let rows = read_rows(&path, &CopyFormat::Parquet, &t).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            vec![
                Value::Integer(-8),
                Value::Integer(-16),
                Value::Integer(-32),
                Value::Integer(i64::MIN),
                Value::Integer(8),
                Value::Integer(16),
                Value::Integer(u32::MAX.into()),
                Value::Integer(i64::MAX),
                Value::Real(1.5),
                Value::Real(2.5),
                Value::Real(7.0),
                Value::Text("héllo".into()),
                Value::Text("large".into()),
                Value::Boolean(true),
                Value::Vector(vec![0.1, 0.2, 0.3]),
                Value::Vector(vec![0.25, -4.0]),
                Value::Vector(vec![1.0, 2.0]),
                Value::Null,
            ]
        );
        assert_eq!(rows[1], vec![Value::Null; t.columns.len()]);
    }

    #[test]
    fn parquet_wrong_vector_width_names_dimensions() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[
            ("id", DataType::Integer),
            ("embedding", DataType::Vector(384)),
        ]);
        let path = write_parquet(
            &dir,
            "w.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
                (
                    "embedding",
                    fixed_list(&[Some(vec![0.5; 768]), Some(vec![0.5; 768])], 768),
                ),
            ],
        );
        let e = read_rows(&path, &CopyFormat::Parquet, &t).unwrap_err();
        match &e {
            Error::Import { line, message, .. } => {
                assert_eq!(*line, Some(1));
                assert!(
                    message.starts_with("column embedding: vector dimension mismatch"),
                    "{message}"
                );
                assert!(
                    message.contains("expected 384 dimensions, found 768"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parquet_errors_name_the_row_across_batches() {
        // 3000 rows span several record batches; row 2500 has a 2-wide vector in VECTOR(3).
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("id", DataType::Integer), ("v", DataType::Vector(3))]);
        let mut lists = ListBuilder::new(Float32Builder::new());
        for i in 1..=3000 {
            let width = if i == 2500 { 2 } else { 3 };
            lists.values().append_slice(&vec![i as f32; width]);
            lists.append(true);
        }
        let path = write_parquet(
            &dir,
            "l.parquet",
            vec![
                (
                    "id",
                    Arc::new(Int64Array::from_iter_values(1..=3000)) as ArrayRef,
                ),
                ("v", Arc::new(lists.finish())),
            ],
        );
        let e = read_rows(&path, &CopyFormat::Parquet, &t).unwrap_err();
        assert_eq!(import_line(&e), Some(2500));
        assert!(
            e.to_string().contains("expected 3 dimensions, found 2"),
            "{e}"
        );

        // The rows before it were read in order.
        let t2 = table(&[("id", DataType::Integer)]);
        let path = write_parquet(
            &dir,
            "ids.parquet",
            vec![(
                "id",
                Arc::new(Int64Array::from_iter_values(1..=3000)) as ArrayRef,
            )],
        );
        let rows = read_rows(&path, &CopyFormat::Parquet, &t2).unwrap();
        assert_eq!(rows.len(), 3000);
        assert!(rows
            .iter()
            .enumerate()
            .all(|(i, r)| r == &vec![Value::Integer(i as i64 + 1)]));
    }

    #[test]
    fn parquet_type_mismatch_and_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("id", DataType::Integer)]);
        let path = write_parquet(
            &dir,
            "s.parquet",
            vec![(
                "id",
                Arc::new(arrow_array::StringArray::from(vec![None, Some("7")])) as ArrayRef,
            )],
        );
        let e = read_rows(&path, &CopyFormat::Parquet, &t).unwrap_err();
        assert_eq!(import_line(&e), Some(2));
        assert!(e.to_string().contains("column id: type mismatch"), "{e}");

        let path = write_parquet(
            &dir,
            "u.parquet",
            vec![(
                "id",
                Arc::new(UInt64Array::from(vec![1, u64::MAX])) as ArrayRef,
            )],
        );
        let e = read_rows(&path, &CopyFormat::Parquet, &t).unwrap_err();
        assert_eq!(import_line(&e), Some(2));
        assert!(e.to_string().contains("18446744073709551615"), "{e}");

        // A NULL element inside a vector.
        let tv = table(&[("v", DataType::Vector(2))]);
        let mut lists = ListBuilder::new(Float32Builder::new());
        lists.values().append_value(1.0);
        lists.values().append_null();
        lists.append(true);
        let path = write_parquet(
            &dir,
            "n.parquet",
            vec![("v", Arc::new(lists.finish()) as ArrayRef)],
        );
        let e = read_rows(&path, &CopyFormat::Parquet, &tv).unwrap_err();
        assert_eq!(import_line(&e), Some(1));
        assert!(e.to_string().contains("element 1 is NULL"), "{e}");
    }

    #[test]
    fn parquet_unknown_column_unsupported_type_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("id", DataType::Integer), ("day", DataType::Integer)]);
        let path = write_parquet(
            &dir,
            "x.parquet",
            vec![
                ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
                (
                    "colour",
                    Arc::new(arrow_array::StringArray::from(vec!["red"])),
                ),
            ],
        );
        match read_rows(&path, &CopyFormat::Parquet, &t) {
            Err(Error::NoSuchColumn { table, column }) => {
                assert_eq!((table.as_str(), column.as_str()), ("t", "colour"))
            }
            other => panic!("{other:?}"),
        }

        let path = write_parquet(
            &dir,
            "d.parquet",
            vec![("day", Arc::new(Date32Array::from(vec![1])) as ArrayRef)],
        );
        let e = read_rows(&path, &CopyFormat::Parquet, &t).unwrap_err();
        assert_eq!(import_line(&e), None);
        assert!(e.to_string().contains("Date32"), "{e}");

        let path = write(&dir, "g.parquet", "this is not parquet");
        let e = read_rows(&path, &CopyFormat::Parquet, &t).unwrap_err();
        assert!(e.to_string().contains("not a readable Parquet file"), "{e}");
    }

    #[test]
    fn parquet_dictionary_strings() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("section", DataType::Text)]);
        let dict: DictionaryArray<Int32Type> = vec![Some("net"), None, Some("net"), Some("utils")]
            .into_iter()
            .collect();
        let path = write_parquet(
            &dir,
            "dict.parquet",
            vec![("section", Arc::new(dict) as ArrayRef)],
        );
        let rows = read_rows(&path, &CopyFormat::Parquet, &t).unwrap();
        let got: Vec<Value> = rows.into_iter().map(|mut r| r.remove(0)).collect();
        assert_eq!(
            got,
            vec![
                Value::Text("net".into()),
                Value::Null,
                Value::Text("net".into()),
                Value::Text("utils".into())
            ]
        );
    }

    #[test]
    fn parquet_schema_field_round_trip_with_nullable_fixed_list() {
        // A FixedSizeList with a nullable child field, as most writers produce, also reads.
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[("v", DataType::Vector(2))]);
        let field = Arc::new(Field::new("item", ArrowType::Float32, true));
        let values = Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0, 4.0]));
        let list = arrow_array::FixedSizeListArray::new(field, 2, values, None);
        let schema = Arc::new(Schema::new(vec![Field::new(
            "v",
            list.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(list)]).unwrap();
        let path = dir.path().join("f.parquet");
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let rows = read_rows(&path, &CopyFormat::Parquet, &t).unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Value::Vector(vec![1.0, 2.0])],
                vec![Value::Vector(vec![3.0, 4.0])]
            ]
        );
    }

    #[test]
    fn real_sample_parquet() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples/debian_packages_5k.parquet");
        if !path.exists() {
            eprintln!("skipping: {} not found", path.display());
            return;
        }
        let t = table(&[
            ("id", DataType::Integer),
            ("name", DataType::Text),
            ("section", DataType::Text),
            ("component", DataType::Text),
            ("priority", DataType::Text),
            ("version", DataType::Text),
            ("description", DataType::Text),
            ("installed_size", DataType::Integer),
            ("embedding", DataType::Vector(384)),
        ]);
        let started = std::time::Instant::now();
        let rows = read_rows(&path, &CopyFormat::Parquet, &t).unwrap();
        eprintln!("read {} rows in {:?}", rows.len(), started.elapsed());
        assert_eq!(rows.len(), 5000);
        assert!(rows.iter().all(|r| r.len() == 9));
        assert!(matches!(rows[0][0], Value::Integer(_)));
        assert!(matches!(rows[0][1], Value::Text(_)));
        match &rows[0][8] {
            Value::Vector(v) => {
                assert_eq!(v.len(), 384);
                let norm = v
                    .iter()
                    .map(|x| f64::from(*x) * f64::from(*x))
                    .sum::<f64>()
                    .sqrt();
                assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
            }
            other => panic!("{other:?}"),
        }

        // The same file into a narrower VECTOR column fails on row 1, naming the dimensions.
        let mut narrow = t.clone();
        narrow.columns[8].data_type = DataType::Vector(768);
        let e = read_rows(&path, &CopyFormat::Parquet, &narrow).unwrap_err();
        assert_eq!(import_line(&e), Some(1));
        assert!(
            e.to_string().contains("expected 768 dimensions, found 384"),
            "{e}"
        );
    }
}
