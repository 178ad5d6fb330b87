//! Result printing: the output [`Mode`]s and the [`Printer`] that writes query results.
//!
//! The printer works on plain column names and value rows rather than on `vectable::Rows`,
//! so it can print any tabular data (`.indexes` uses it too) and be tested without a database.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use comfy_table::{Cell, CellAlignment, ContentLineStyle, LineStyle, Table, TableStyle};
use vectable::{format_vector, Value};

/// Vectors longer than this are shortened in `table` mode: `[0.0123, -0.0456, 0.0789, …] (384)`.
const TABLE_VECTOR_ITEMS: usize = 3;

/// Box-drawing borders in the style of the duckdb shell.
const TABLE_STYLE: TableStyle = TableStyle::new()
    .top_border(LineStyle::new('┌', '─', '┬', '┐'))
    .header_lines(ContentLineStyle::new('│', '│', '│'))
    .header_separator(LineStyle::new('├', '─', '┼', '┤'))
    .content_lines(ContentLineStyle::new('│', '│', '│'))
    .bottom_border(LineStyle::new('└', '─', '┴', '┘'));

/// How query results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// A box-drawn table; long vectors are shortened.
    #[default]
    Table,
    /// RFC 4180 CSV with a header line; NULL is an empty field, vectors are written in full.
    Csv,
    /// A JSON array with one object per row; vectors are arrays, NULL is `null`.
    Json,
    /// sqlite3's line mode: `column = value` per line, a blank line between rows.
    Line,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Table => "table",
            Mode::Csv => "csv",
            Mode::Json => "json",
            Mode::Line => "line",
        })
    }
}

impl FromStr for Mode {
    type Err = String;

    /// Parses `table`, `csv`, `json` or `line` (in any case).
    fn from_str(s: &str) -> Result<Mode, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Mode::Table),
            "csv" => Ok(Mode::Csv),
            "json" => Ok(Mode::Json),
            "line" => Ok(Mode::Line),
            _ => Err(format!(
                "unknown mode {s:?}; expected table, csv, json or line"
            )),
        }
    }
}

/// Writes results to `W` in the current [`Mode`].
pub struct Printer<W: Write> {
    out: W,
    mode: Mode,
}

impl<W: Write> Printer<W> {
    /// A printer writing to `out` in `mode`.
    pub fn new(out: W, mode: Mode) -> Self {
        Printer { out, mode }
    }

    /// The current output mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Changes the output mode for the next results.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// Writes `text` and a newline, whatever the mode (for messages and dot-command output).
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "{text}")
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Prints a result set: `columns` are the names, each row has one value per column.
    ///
    /// A result without columns prints nothing; a result without rows prints the header in
    /// `table` and `csv` mode, `[]` in `json` mode and nothing in `line` mode.
    pub fn print(&mut self, columns: &[String], rows: &[Vec<Value>]) -> io::Result<()> {
        if columns.is_empty() {
            return Ok(());
        }
        match self.mode {
            Mode::Table => self.print_table(columns, rows),
            Mode::Csv => self.print_csv(columns, rows),
            Mode::Json => self.print_json(columns, rows),
            Mode::Line => self.print_line(columns, rows),
        }?;
        self.out.flush()
    }

    fn print_table(&mut self, columns: &[String], rows: &[Vec<Value>]) -> io::Result<()> {
        let mut table = Table::new();
        table.load_style(TABLE_STYLE);
        table.set_header(
            columns
                .iter()
                .map(|c| Cell::new(c).set_alignment(CellAlignment::Center))
                .collect::<Vec<_>>(),
        );
        for row in rows {
            table.add_row(row.iter().map(table_cell).collect::<Vec<_>>());
        }
        writeln!(self.out, "{table}")
    }

    fn print_csv(&mut self, columns: &[String], rows: &[Vec<Value>]) -> io::Result<()> {
        let mut writer = csv::Writer::from_writer(&mut self.out);
        writer.write_record(columns).map_err(io::Error::from)?;
        for row in rows {
            writer
                .write_record(row.iter().map(|v| match v {
                    Value::Null => String::new(),
                    v => v.to_string(),
                }))
                .map_err(io::Error::from)?;
        }
        writer.flush()
    }

    fn print_json(&mut self, columns: &[String], rows: &[Vec<Value>]) -> io::Result<()> {
        // Objects are written by hand so keys keep the column order (serde_json's map sorts).
        self.out.write_all(b"[")?;
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",\n")?;
            }
            self.out.write_all(b"{")?;
            for (j, (name, value)) in columns.iter().zip(row).enumerate() {
                if j > 0 {
                    self.out.write_all(b",")?;
                }
                serde_json::to_writer(&mut self.out, name)?;
                self.out.write_all(b":")?;
                write_json_value(&mut self.out, value)?;
            }
            self.out.write_all(b"}")?;
        }
        self.out.write_all(b"]\n")
    }

    fn print_line(&mut self, columns: &[String], rows: &[Vec<Value>]) -> io::Result<()> {
        let width = columns.iter().map(|c| c.chars().count()).max().unwrap_or(0);
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                writeln!(self.out)?;
            }
            for (name, value) in columns.iter().zip(row) {
                writeln!(self.out, "{name:>width$} = {value}")?;
            }
        }
        Ok(())
    }
}

/// A `table`-mode cell: numbers right-aligned, long vectors shortened.
fn table_cell(value: &Value) -> Cell {
    match value {
        Value::Integer(_) | Value::Real(_) => Cell::new(value).set_alignment(CellAlignment::Right),
        Value::Vector(v) if v.len() > TABLE_VECTOR_ITEMS => {
            Cell::new(format_vector(v, TABLE_VECTOR_ITEMS))
        }
        other => Cell::new(other),
    }
}

/// Writes one value as JSON: NULL (and non-finite reals) as `null`, vectors as arrays.
fn write_json_value<W: Write>(out: &mut W, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Null => serde_json::to_writer(out, &()),
        Value::Integer(i) => serde_json::to_writer(out, i),
        Value::Real(r) => serde_json::to_writer(out, r),
        Value::Text(s) => serde_json::to_writer(out, s),
        Value::Boolean(b) => serde_json::to_writer(out, b),
        Value::Vector(v) => serde_json::to_writer(out, v),
        other => serde_json::to_writer(out, &other.to_string()),
    }
}

/// Formats a byte count for people: `512 B`, `1.5 KiB`, `8.0 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<String>, Vec<Vec<Value>>) {
        let columns = vec![
            "id".to_string(),
            "name".to_string(),
            "embedding".to_string(),
        ];
        let rows = vec![
            vec![
                Value::Integer(1),
                Value::Text("curl".into()),
                Value::Vector(vec![0.5, -0.25, 1.0, 2.0]),
            ],
            vec![
                Value::Integer(22),
                Value::Text("say \"hi\", ok".into()),
                Value::Null,
            ],
        ];
        (columns, rows)
    }

    fn render(mode: Mode, columns: &[String], rows: &[Vec<Value>]) -> String {
        let mut printer = Printer::new(Vec::new(), mode);
        printer.print(columns, rows).expect("printing to a Vec");
        String::from_utf8(printer.out).expect("UTF-8 output")
    }

    #[test]
    fn table_mode() {
        let (columns, rows) = sample();
        let text = render(Mode::Table, &columns, &rows);
        let expected = "\
┌────┬──────────────┬──────────────────────────────────┐
│ id │     name     │             embedding            │
├────┼──────────────┼──────────────────────────────────┤
│  1 │ curl         │ [0.5000, -0.2500, 1.0000, …] (4) │
│ 22 │ say \"hi\", ok │ NULL                             │
└────┴──────────────┴──────────────────────────────────┘
";
        assert_eq!(text, expected);
    }

    #[test]
    fn table_mode_short_vector_in_full() {
        let columns = vec!["v".to_string()];
        let rows = vec![vec![Value::Vector(vec![1.0, 2.5, 3.0])]];
        let text = render(Mode::Table, &columns, &rows);
        assert!(text.contains("│ [1,2.5,3] │"), "{text}");
    }

    #[test]
    fn table_mode_empty_result_prints_header() {
        let (columns, _) = sample();
        let text = render(Mode::Table, &columns, &[]);
        assert!(text.contains("│ id │ name │ embedding │"), "{text}");
        assert_eq!(text.lines().count(), 4, "{text}");
    }

    #[test]
    fn csv_mode() {
        let (columns, rows) = sample();
        let text = render(Mode::Csv, &columns, &rows);
        assert_eq!(
            text,
            "id,name,embedding\n1,curl,\"[0.5,-0.25,1,2]\"\n22,\"say \"\"hi\"\", ok\",\n"
        );
    }

    #[test]
    fn json_mode() {
        let (columns, rows) = sample();
        let text = render(Mode::Json, &columns, &rows);
        assert_eq!(
            text,
            "[{\"id\":1,\"name\":\"curl\",\"embedding\":[0.5,-0.25,1.0,2.0]},\n\
             {\"id\":22,\"name\":\"say \\\"hi\\\", ok\",\"embedding\":null}]\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed[1]["id"], 22);
        assert!(render(Mode::Json, &columns, &[]).starts_with("[]"));
    }

    #[test]
    fn json_mode_other_values() {
        let columns = vec!["r".to_string(), "b".to_string(), "nan".to_string()];
        let rows = vec![vec![
            Value::Real(0.5),
            Value::Boolean(true),
            Value::Real(f64::NAN),
        ]];
        assert_eq!(
            render(Mode::Json, &columns, &rows),
            "[{\"r\":0.5,\"b\":true,\"nan\":null}]\n"
        );
    }

    #[test]
    fn line_mode() {
        let (columns, rows) = sample();
        let text = render(Mode::Line, &columns, &rows);
        assert_eq!(
            text,
            "       id = 1\n     name = curl\nembedding = [0.5,-0.25,1,2]\n\n       id = 22\n     name = say \"hi\", ok\nembedding = NULL\n"
        );
    }

    #[test]
    fn no_columns_prints_nothing() {
        for mode in [Mode::Table, Mode::Csv, Mode::Json, Mode::Line] {
            assert_eq!(render(mode, &[], &[]), "");
        }
    }

    #[test]
    fn mode_names() {
        for mode in [Mode::Table, Mode::Csv, Mode::Json, Mode::Line] {
            assert_eq!(mode.to_string().parse::<Mode>(), Ok(mode));
        }
        assert!("html".parse::<Mode>().is_err());
    }

    #[test]
    fn bytes_for_people() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(8 * 1024 * 1024), "8.0 MiB");
    }
}
