//! Result printing: the output [`Mode`]s and the [`Printer`] that writes query results.
//!
//! The printer works on plain column names and value rows rather than on `vectable::Rows`,
//! so it can print any tabular data (`.indexes` uses it too) and be tested without a database.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use comfy_table::presets::{ASCII_MARKDOWN, UTF8_FULL_CONDENSED};
use comfy_table::{
    Cell, CellAlignment, ContentArrangement, ContentLineStyle, LineStyle, Row, Table, TableStyle,
};
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
    /// Like `table`, drawn with comfy-table's condensed UTF-8 preset (dotted column rules).
    Box,
    /// A GitHub-flavoured Markdown table.
    Markdown,
}

impl Mode {
    /// Every mode, in the order `.help` lists them.
    pub const ALL: [Mode; 6] = [
        Mode::Table,
        Mode::Box,
        Mode::Markdown,
        Mode::Csv,
        Mode::Json,
        Mode::Line,
    ];

    /// True for the modes meant for people (drawn tables and line mode), where notices such as
    /// row counts are printed; false for csv and json, whose output is data only.
    pub fn is_human(self) -> bool {
        !matches!(self, Mode::Csv | Mode::Json)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Table => "table",
            Mode::Csv => "csv",
            Mode::Json => "json",
            Mode::Line => "line",
            Mode::Box => "box",
            Mode::Markdown => "markdown",
        })
    }
}

impl FromStr for Mode {
    type Err = String;

    /// Parses a mode name (`table`, `box`, `markdown`, `csv`, `json`, `line`) in any case.
    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown mode {s:?}; expected table, box, markdown, csv, json or line")
            })
    }
}

/// Writes results to `W` in the current [`Mode`].
pub struct Printer<W: Write> {
    out: W,
    mode: Mode,
    headers: bool,
    max_width: Option<usize>,
    max_rows: usize,
    terminal: bool,
}

impl<W: Write> Printer<W> {
    /// A printer writing to `out` in `mode`, with headers, no row limit, and tables as wide
    /// as their content.
    pub fn new(out: W, mode: Mode) -> Self {
        Printer {
            out,
            mode,
            headers: true,
            max_width: None,
            max_rows: 0,
            terminal: false,
        }
    }

    /// The current output mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Changes the output mode for the next results.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// Prints (or not) the column names in the table modes and csv mode.
    pub fn set_headers(&mut self, on: bool) {
        self.headers = on;
    }

    /// The width limit of drawn tables in characters: `None` follows the terminal (when the
    /// output is one, see [`Printer::set_terminal`]), `Some(0)` means no limit.
    pub fn max_width(&self) -> Option<usize> {
        self.max_width
    }

    /// Sets the width limit of drawn tables (see [`Printer::max_width`]).
    pub fn set_max_width(&mut self, width: Option<usize>) {
        self.max_width = width;
    }

    /// The most rows a drawn table shows (0: all); longer results show their first and last
    /// rows and a count.
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    /// Sets the row limit of drawn tables (see [`Printer::max_rows`]).
    pub fn set_max_rows(&mut self, rows: usize) {
        self.max_rows = rows;
    }

    /// Tells the printer whether its output is a terminal, whose width then limits tables.
    pub fn set_terminal(&mut self, terminal: bool) {
        self.terminal = terminal;
    }

    /// Replaces the output (`.output FILE`); returns the previous one.
    pub fn replace_output(&mut self, out: W) -> W {
        std::mem::replace(&mut self.out, out)
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
    /// the table modes and `csv` mode, `[]` in `json` mode and nothing in `line` mode.
    pub fn print(&mut self, columns: &[String], rows: &[Vec<Value>]) -> io::Result<()> {
        if columns.is_empty() {
            return Ok(());
        }
        match self.mode {
            Mode::Table => self.print_table(TABLE_STYLE, columns, rows),
            Mode::Box => self.print_table(UTF8_FULL_CONDENSED, columns, rows),
            Mode::Markdown => self.print_table(ASCII_MARKDOWN, columns, rows),
            Mode::Csv => self.print_csv(columns, rows),
            Mode::Json => self.print_json(columns, rows),
            Mode::Line => self.print_line(columns, rows),
        }?;
        self.out.flush()
    }

    /// The width tables must fit in, if any.
    fn table_width(&self) -> Option<usize> {
        match self.max_width {
            Some(0) => None,
            Some(n) => Some(n),
            None if self.terminal => terminal_width(),
            None => None,
        }
    }

    fn print_table(
        &mut self,
        style: TableStyle,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> io::Result<()> {
        let mut table = Table::new();
        table.load_style(style);
        table.force_no_tty();
        let width = self.table_width();
        if let Some(width) = width {
            // Long cells are cut to one line ending in `…` instead of wrapping.
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(width).unwrap_or(u16::MAX))
                .set_truncation_indicator("…");
        }
        let one_line = |mut row: Row| {
            if width.is_some() {
                row.max_height(1);
            }
            row
        };
        if self.headers {
            table.set_header(one_line(Row::from(
                columns
                    .iter()
                    .map(|c| Cell::new(c).set_alignment(CellAlignment::Center))
                    .collect::<Vec<_>>(),
            )));
        }
        let (head, tail) = shown_rows(rows.len(), self.max_rows);
        for row in &rows[..head] {
            table.add_row(one_line(Row::from(
                row.iter().map(table_cell).collect::<Vec<_>>(),
            )));
        }
        if head + tail < rows.len() {
            table.add_row(one_line(Row::from(
                columns
                    .iter()
                    .map(|_| Cell::new("…").set_alignment(CellAlignment::Center))
                    .collect::<Vec<_>>(),
            )));
        }
        for row in &rows[rows.len() - tail..] {
            table.add_row(one_line(Row::from(
                row.iter().map(table_cell).collect::<Vec<_>>(),
            )));
        }
        writeln!(self.out, "{table}")?;
        if head + tail < rows.len() {
            writeln!(self.out, "{} rows ({} shown)", rows.len(), head + tail)?;
        }
        Ok(())
    }

    fn print_csv(&mut self, columns: &[String], rows: &[Vec<Value>]) -> io::Result<()> {
        let mut writer = csv::Writer::from_writer(&mut self.out);
        if self.headers {
            writer.write_record(columns).map_err(csv_io_error)?;
        }
        for row in rows {
            writer
                .write_record(row.iter().map(|v| match v {
                    Value::Null => String::new(),
                    v => v.to_string(),
                }))
                .map_err(csv_io_error)?;
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

/// How many of `total` rows a table shows from the start and from the end under a limit of
/// `max_rows` (0: no limit): all of them, or the first half (rounded up) and the last half.
fn shown_rows(total: usize, max_rows: usize) -> (usize, usize) {
    if max_rows == 0 || total <= max_rows {
        (total, 0)
    } else {
        let head = max_rows.div_ceil(2);
        (head, max_rows - head)
    }
}

/// The terminal's width in characters: `$COLUMNS` when set to a positive number, else what
/// the terminal reports for stdout; `None` when neither is known.
pub fn terminal_width() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
    {
        return Some(columns);
    }
    // comfy-table asks the terminal (through crossterm) when stdout is one.
    Table::new()
        .width()
        .map(usize::from)
        .filter(|&width| width > 0)
}

/// The I/O error inside a csv error, so that a closed pipe stays recognisable as one.
fn csv_io_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// A table-mode cell: numbers right-aligned, long vectors shortened.
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
        for mode in Mode::ALL {
            assert_eq!(render(mode, &[], &[]), "");
        }
    }

    #[test]
    fn mode_names() {
        for mode in Mode::ALL {
            assert_eq!(mode.to_string().parse::<Mode>(), Ok(mode));
        }
        assert_eq!("Markdown".parse::<Mode>(), Ok(Mode::Markdown));
        assert!("html".parse::<Mode>().is_err());
    }

    #[test]
    fn markdown_and_box_modes() {
        let (columns, rows) = sample();
        let text = render(Mode::Markdown, &columns, &rows[..1]);
        assert_eq!(
            text,
            "\
| id | name |             embedding            |
|----|------|----------------------------------|
|  1 | curl | [0.5000, -0.2500, 1.0000, …] (4) |
"
        );
        let text = render(Mode::Box, &columns, &rows);
        assert!(text.starts_with('┌'), "{text}");
        assert!(text.contains("│ 22 ┆ say \"hi\", ok ┆ NULL"), "{text}");
    }

    #[test]
    fn headers_off() {
        let (columns, rows) = sample();
        let mut printer = Printer::new(Vec::new(), Mode::Csv);
        printer.set_headers(false);
        printer.print(&columns, &rows[..1]).unwrap();
        printer.set_mode(Mode::Table);
        printer.print(&columns, &rows[..1]).unwrap();
        let text = String::from_utf8(printer.out).unwrap();
        assert!(text.starts_with("1,curl,"), "{text}");
        assert!(!text.contains("name"), "{text}");
        assert!(text.contains("│ 1 │ curl │"), "{text}");
    }

    #[test]
    fn max_width_cuts_long_cells_to_one_line() {
        let columns = vec!["id".to_string(), "description".to_string()];
        let long = "a long description that keeps going ".repeat(20);
        let rows = vec![vec![Value::Integer(7), Value::Text(long.clone())]];
        let mut printer = Printer::new(Vec::new(), Mode::Table);
        printer.set_max_width(Some(40));
        printer.print(&columns, &rows).unwrap();
        let text = String::from_utf8(printer.out).unwrap();
        // Top border, header, separator, one line for the row, bottom border.
        assert_eq!(text.lines().count(), 5, "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 40, "{line:?}");
        }
        assert!(text.contains('…'), "{text}");
        // 0 is no limit: the row is printed whole, on one line.
        let mut printer = Printer::new(Vec::new(), Mode::Table);
        printer.set_max_width(Some(0));
        printer.set_terminal(true);
        printer.print(&columns, &rows).unwrap();
        let text = String::from_utf8(printer.out).unwrap();
        assert!(text.contains(long.trim_end()), "{text}");
    }

    #[test]
    fn max_rows_shows_first_and_last_rows() {
        let columns = vec!["n".to_string()];
        let rows: Vec<Vec<Value>> = (1..=10).map(|i| vec![Value::Integer(i)]).collect();
        let mut printer = Printer::new(Vec::new(), Mode::Table);
        printer.set_max_rows(4);
        printer.print(&columns, &rows).unwrap();
        let text = String::from_utf8(printer.out).unwrap();
        let cells: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with('│'))
            .map(|l| l.trim_matches('│').trim())
            .collect();
        assert_eq!(cells, ["n", "1", "2", "…", "9", "10"], "{text}");
        assert!(text.ends_with("10 rows (4 shown)\n"), "{text}");
        assert_eq!(shown_rows(4, 4), (4, 0));
        assert_eq!(shown_rows(10, 0), (10, 0));
        assert_eq!(shown_rows(10, 5), (3, 2));
    }

    #[test]
    fn bytes_for_people() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(8 * 1024 * 1024), "8.0 MiB");
    }
}
