//! A shell session: an open database, the printer and the settings changed by dot commands.
//!
//! [`Session`] runs SQL text and dot commands; reading input (interactive or scripted) is the
//! job of `repl.rs`.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use vectable::{split_statements_at, Database, Output, Value};

use crate::command::{Command, HELP};
use crate::print::{human_bytes, Mode, Printer};
use crate::progress::ProgressReporter;

/// Rows a drawn table shows at most by default when stdout is a terminal (`.maxrows`).
const TERMINAL_MAX_ROWS: usize = 40;

/// Opens a database directory for `.open`, with the options the shell was started with.
pub type Opener = Box<dyn Fn(&Path) -> vectable::Result<Database>>;

/// What the input loop should do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next input.
    Continue,
    /// `.quit`: stop reading input.
    Quit,
}

/// Anything that makes a statement or command fail; printed as `Error: <message>`.
#[derive(Debug)]
pub enum ShellError {
    /// The library refused or failed the statement.
    Db(vectable::Error),
    /// A dot command that does not parse or cannot run.
    Command(String),
    /// Writing the output failed.
    Io(io::Error),
    /// SQL that does not parse, with the position counted from the start of the input (the
    /// script, the `-c` text, the file of `.read`, or the statement typed at the prompt).
    Syntax(SyntaxError),
}

/// A parse error placed in the input it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// sqlparser's message, without its position.
    pub message: String,
    /// 1-based line in the input.
    pub line: usize,
    /// 1-based column (in characters) in that line.
    pub column: usize,
    /// The text of that line.
    pub text: String,
    /// The file the input came from (`.read`), if any.
    pub file: Option<PathBuf>,
}

/// The longest line shown in full under a syntax error; longer ones show a window around
/// the error.
const MAX_ECHO: usize = 100;

impl fmt::Display for SyntaxError {
    /// ```text
    /// syntax error: Expected: an SQL statement, found: FORM
    /// LINE 3: SELECT * FORM t;
    ///                  ^
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => writeln!(f, "syntax error in {}: {}", file.display(), self.message)?,
            None => writeln!(f, "syntax error: {}", self.message)?,
        }
        let chars: Vec<char> = self
            .text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let caret = self.column.saturating_sub(1);
        let (start, end) = if chars.len() <= MAX_ECHO {
            (0, chars.len())
        } else {
            let start = caret
                .saturating_sub(MAX_ECHO / 2)
                .min(chars.len() - MAX_ECHO);
            (start, start + MAX_ECHO)
        };
        let mut shown: String = chars[start..end].iter().collect();
        let mut caret = caret - start.min(caret);
        if start > 0 {
            shown.insert(0, '…');
            caret += 1;
        }
        if end < chars.len() {
            shown.push('…');
        }
        let prefix = format!("LINE {}: ", self.line);
        writeln!(f, "{prefix}{}", shown.trim_end())?;
        write!(f, "{}^", " ".repeat(prefix.chars().count() + caret))
    }
}

impl ShellError {
    /// True when the output was closed by its reader (`vectable -c ... | head`): not worth a
    /// message, the shell just stops.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ShellError::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// True when the statement was cancelled by Ctrl-C (not by `statement_timeout`).
    pub fn is_interrupt(&self) -> bool {
        matches!(
            self,
            ShellError::Db(vectable::Error::Interrupted {
                reason: vectable::InterruptReason::Interrupt
            })
        )
    }
}

impl fmt::Display for ShellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShellError::Db(e) => write!(f, "{e}"),
            ShellError::Command(message) => f.write_str(message),
            ShellError::Io(e) => write!(f, "cannot write the output: {e}"),
            ShellError::Syntax(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ShellError {}

impl From<vectable::Error> for ShellError {
    fn from(e: vectable::Error) -> Self {
        ShellError::Db(e)
    }
}

impl From<io::Error> for ShellError {
    fn from(e: io::Error) -> Self {
        ShellError::Io(e)
    }
}

/// An open database and the shell's settings.
pub struct Session {
    db: Database,
    printer: Printer<Box<dyn Write>>,
    timer: bool,
    progress: Option<ProgressReporter>,
    opener: Option<Opener>,
}

impl Session {
    /// A session on `db` printing to stdout in `mode`, with the timer on or off.
    /// `progress` is the reporter given to the database, if any, to clean up after failures.
    ///
    /// When stdout is a terminal, drawn tables fit its width and show at most 40 rows.
    pub fn new(db: Database, mode: Mode, timer: bool, progress: Option<ProgressReporter>) -> Self {
        let mut printer: Printer<Box<dyn Write>> = Printer::new(Box::new(io::stdout()), mode);
        let terminal = io::stdout().is_terminal();
        printer.set_terminal(terminal);
        if terminal {
            printer.set_max_rows(TERMINAL_MAX_ROWS);
        }
        Session {
            db,
            printer,
            timer,
            progress,
            opener: None,
        }
    }

    /// How `.open DIR` opens a database (with the options the shell was started with);
    /// without one, `.open` uses `Database::open`.
    pub fn set_opener(&mut self, opener: Opener) {
        self.opener = Some(opener);
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// What the banner says about the database: its directory (and read-only), or that it
    /// is a transient in-memory one.
    pub fn describe_database(&self) -> String {
        if self.db.is_in_memory() {
            "Connected to a transient in-memory database.\nUse \".open DIR\" to open a database."
                .to_string()
        } else if self.db.is_read_only() {
            format!("database {} (read-only)", self.path().display())
        } else {
            format!("database {}", self.path().display())
        }
    }

    /// The tables and their column names, for tab completion.
    pub fn names(&self) -> Vec<(String, Vec<String>)> {
        self.db
            .tables()
            .into_iter()
            .map(|t| {
                let columns = t.columns.iter().map(|c| c.name.clone()).collect();
                (t.name.clone(), columns)
            })
            .collect()
    }

    /// Writes one line of text to the output (banners, notices).
    pub fn message(&mut self, text: &str) -> Result<(), ShellError> {
        self.printer.line(text)?;
        Ok(self.printer.flush()?)
    }

    /// Runs SQL text that may hold several `;`-separated statements, in order, stopping at the
    /// first one that fails. `first_line` is the line of the input where `sql` starts, so that
    /// a syntax error gives its line in the whole input.
    pub fn run_sql(&mut self, sql: &str, first_line: usize) -> Result<(), ShellError> {
        for (offset, statement) in split_statements_at(sql) {
            match self.run_statement(&statement) {
                Err(ShellError::Db(vectable::Error::Parse {
                    message,
                    line,
                    column,
                })) => {
                    return Err(ShellError::Syntax(place_syntax_error(
                        sql, offset, first_line, message, line, column,
                    )))
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// Runs one statement and prints its result: rows, or in the modes for people the number
    /// of rows a write changed (`3 rows inserted`).
    fn run_statement(&mut self, statement: &str) -> Result<(), ShellError> {
        let start = Instant::now();
        let result = self.db.run(statement, ());
        if let Some(progress) = &self.progress {
            progress.clear();
        }
        match result? {
            Output::Rows(rows) => self.printer.print(rows.columns(), rows.values())?,
            Output::Affected(n) if self.printer.mode().is_human() => {
                self.printer.line(&affected_message(statement, n))?;
            }
            // Statement tags (`Done`) are not printed, as in sqlite3 and duckdb.
            _ => {}
        }
        if self.timer {
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            self.printer.line(&format!("Run Time: {ms:.3} ms"))?;
        }
        self.printer.flush()?;
        Ok(())
    }

    /// Parses and runs a dot-command line such as `.mode csv`.
    pub fn run_command_line(&mut self, line: &str) -> Result<Flow, ShellError> {
        let command = Command::parse(line).map_err(ShellError::Command)?;
        self.run_command(command)
    }

    /// Runs a parsed dot command.
    pub fn run_command(&mut self, command: Command) -> Result<Flow, ShellError> {
        match command {
            Command::Describe(Some(table)) => {
                self.run_statement(&format!("DESCRIBE \"{}\"", table.replace('"', "\"\"")))?;
            }
            Command::Tables | Command::Describe(None) => {
                for table in self.db.tables() {
                    self.printer.line(&table.name)?;
                }
            }
            Command::Schema(None) => {
                let secondary = self.db.secondary_indexes();
                for table in self.db.tables() {
                    self.printer.line(&table.create_sql())?;
                    for (_, s) in secondary.iter().filter(|(t, _)| t.id == table.id) {
                        self.printer.line(&s.create_sql(&table))?;
                    }
                }
            }
            Command::Schema(Some(name)) => {
                let table = self
                    .db
                    .table(&name)
                    .ok_or_else(|| ShellError::Command(format!("no such table: {name}")))?;
                self.printer.line(&table.create_sql())?;
                for (_, s) in self
                    .db
                    .secondary_indexes()
                    .iter()
                    .filter(|(t, _)| t.id == table.id)
                {
                    self.printer.line(&s.create_sql(&table))?;
                }
            }
            Command::Indexes => self.print_indexes()?,
            Command::Mode(None) => {
                let current = self.printer.mode().to_string();
                self.printer.line(&current)?;
            }
            Command::Mode(Some(mode)) => self.printer.set_mode(mode),
            Command::Timer(on) => self.timer = on,
            Command::Headers(on) => self.printer.set_headers(on),
            Command::MaxWidth(Some(width)) => self.printer.set_max_width(Some(width)),
            Command::MaxWidth(None) => {
                let text = match self.printer.max_width() {
                    Some(0) => "0 (no limit)".to_string(),
                    Some(n) => n.to_string(),
                    None => match crate::print::terminal_width() {
                        Some(n) => format!("{n} (the terminal width)"),
                        None => "0 (no limit)".to_string(),
                    },
                };
                self.printer.line(&text)?;
            }
            Command::MaxRows(Some(rows)) => self.printer.set_max_rows(rows),
            Command::MaxRows(None) => {
                let rows = self.printer.max_rows();
                let text = if rows == 0 {
                    "0 (all rows)".to_string()
                } else {
                    rows.to_string()
                };
                self.printer.line(&text)?;
            }
            Command::Read(file) => {
                let script = std::fs::read_to_string(&file).map_err(|e| {
                    ShellError::Command(format!("cannot read {}: {e}", file.display()))
                })?;
                let flow = crate::repl::run_script(self, &script).map_err(|e| match e {
                    ShellError::Syntax(mut e) => {
                        e.file.get_or_insert(file.clone());
                        ShellError::Syntax(e)
                    }
                    other => other,
                })?;
                if flow == Flow::Quit {
                    return Ok(Flow::Quit);
                }
            }
            Command::Output(None) => {
                let mut old = self.printer.replace_output(Box::new(io::stdout()));
                self.printer.set_terminal(io::stdout().is_terminal());
                old.flush()?;
            }
            Command::Output(Some(file)) => {
                let out = File::create(&file).map_err(|e| {
                    ShellError::Command(format!("cannot write {}: {e}", file.display()))
                })?;
                let mut old = self.printer.replace_output(Box::new(BufWriter::new(out)));
                self.printer.set_terminal(false);
                old.flush()?;
            }
            Command::Open(dir) => {
                if dir.canonicalize().ok() != self.db.path().canonicalize().ok() {
                    // The new database opens before the old one closes, so a failure leaves
                    // the session where it was.
                    let db = match &self.opener {
                        Some(open) => open(&dir),
                        None => Database::open(&dir),
                    }?;
                    self.db = db;
                }
            }
            Command::Import { file, table } => {
                // A missing table is created from the file, as sqlite3's `.import` does.
                let sql = if self.db.table(&table).is_some() {
                    import_sql(&file, &table)
                } else {
                    create_from_sql(&file, &table)
                }
                .map_err(ShellError::Command)?;
                self.run_statement(&sql)?;
            }
            Command::Help => self.printer.line(HELP)?,
            Command::Quit => return Ok(Flow::Quit),
        }
        self.printer.flush()?;
        Ok(Flow::Continue)
    }

    /// `.indexes`: one row per vector index, printed in the current mode.
    fn print_indexes(&mut self) -> io::Result<()> {
        let columns: Vec<String> = [
            "name",
            "table",
            "column",
            "metric",
            "dims",
            "quantization",
            "m",
            "ef_construction",
            "rows",
            "memory",
            "file size",
            "last load",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect();
        let int = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        let size = |n: usize| int(u64::try_from(n).unwrap_or(u64::MAX));
        let rows: Vec<Vec<Value>> = self
            .db
            .index_status()
            .into_iter()
            .map(|s| {
                vec![
                    Value::Text(s.name),
                    Value::Text(s.table),
                    Value::Text(s.column),
                    Value::Text(s.metric.to_string()),
                    size(s.dims),
                    Value::Text(s.quantization.to_string()),
                    size(s.m),
                    size(s.ef_construction),
                    int(s.rows),
                    Value::Text(human_bytes(s.memory_bytes)),
                    s.file_bytes
                        .map_or(Value::Null, |b| Value::Text(human_bytes(b))),
                    Value::Text(match s.build {
                        // A build running now (lazy or CREATE INDEX) and how far it is.
                        Some(b) => format!(
                            "building ({} of {} vectors, {}%{})",
                            b.done,
                            b.total,
                            (b.done * 100).checked_div(b.total).unwrap_or(0),
                            match b.waiting {
                                0 => String::new(),
                                1 => ", 1 query waiting".into(),
                                n => format!(", {n} queries waiting"),
                            }
                        ),
                        None => s.last_load.to_string(),
                    }),
                ]
            })
            .collect();
        self.printer.print(&columns, &rows)?;
        // B-tree (secondary) indexes, when there are any.
        let secondary = self.db.secondary_indexes();
        if secondary.is_empty() {
            return Ok(());
        }
        let columns: Vec<String> = ["name", "table", "columns", "type"]
            .iter()
            .map(|c| c.to_string())
            .collect();
        let rows: Vec<Vec<Value>> = secondary
            .into_iter()
            .map(|(t, s)| {
                let cols: Vec<&str> = s
                    .columns
                    .iter()
                    .map(|&c| t.columns.get(c).map_or("?", |c| c.name.as_str()))
                    .collect();
                vec![
                    Value::Text(s.name.clone()),
                    Value::Text(t.name.clone()),
                    Value::Text(cols.join(", ")),
                    Value::Text(if s.unique { "btree, unique" } else { "btree" }.into()),
                ]
            })
            .collect();
        self.printer.print(&columns, &rows)
    }
}

/// Moves a parse error from the statement that starts at byte `offset` of `sql` into the
/// input: `line` and `column` are 1-based in the (trimmed) statement, `first_line` is the
/// input line where `sql` starts.
fn place_syntax_error(
    sql: &str,
    offset: usize,
    first_line: usize,
    message: String,
    line: u64,
    column: u64,
) -> SyntaxError {
    let before = &sql[..offset.min(sql.len())];
    let start_line = before.matches('\n').count();
    let start_column = before
        .rsplit('\n')
        .next()
        .map_or(0, |text| text.chars().count());
    let line = usize::try_from(line).unwrap_or(1).max(1);
    let column = usize::try_from(column).unwrap_or(1).max(1);
    let (line_in_sql, column) = if line == 1 {
        (start_line, start_column + column)
    } else {
        (start_line + line - 1, column)
    };
    SyntaxError {
        message,
        line: first_line + line_in_sql,
        column,
        text: sql.lines().nth(line_in_sql).unwrap_or("").to_string(),
        file: None,
    }
}

/// `3 rows inserted`, `1 row updated`…: the verb comes from the statement's first word.
fn affected_message(statement: &str, n: u64) -> String {
    let first = statement
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .to_ascii_uppercase();
    let verb = match first.as_str() {
        "INSERT" => "inserted",
        "UPDATE" => "updated",
        "DELETE" => "deleted",
        "COPY" => "copied",
        _ => "changed",
    };
    let rows = if n == 1 { "row" } else { "rows" };
    format!("{n} {rows} {verb}")
}

/// The `COPY` statement run by `.import FILE TABLE`; the format comes from the file extension.
///
/// # Errors
/// A message when the extension is neither `.csv` nor `.parquet`, or the path is not UTF-8.
pub fn import_sql(file: &Path, table: &str) -> Result<String, String> {
    let path = file
        .to_str()
        .ok_or_else(|| format!("the file name {} is not valid UTF-8", file.display()))?;
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let options = match extension.as_deref() {
        Some("csv") => "FORMAT csv, HEADER true",
        Some("parquet") => "FORMAT parquet",
        _ => {
            return Err(format!(
                "cannot tell the format of {path}: .import reads .csv and .parquet files"
            ))
        }
    };
    let quoted = path.replace('\'', "''");
    Ok(format!("COPY {table} FROM '{quoted}' WITH ({options})"))
}

/// The statement run by `.import FILE TABLE` when TABLE does not exist:
/// `CREATE TABLE TABLE AS FROM 'FILE'`, which takes the column names and types from the file
/// (see the README's "Loading files").
///
/// # Errors
/// As [`import_sql`].
pub fn create_from_sql(file: &Path, table: &str) -> Result<String, String> {
    import_sql(file, table)?;
    let quoted = file.to_str().unwrap_or_default().replace('\'', "''");
    Ok(format!("CREATE TABLE {table} AS FROM '{quoted}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_into_a_new_table() {
        assert_eq!(
            create_from_sql(Path::new("/tmp/bob's.csv"), "items").as_deref(),
            Ok("CREATE TABLE items AS FROM '/tmp/bob''s.csv'")
        );
        assert!(create_from_sql(Path::new("items.json"), "items").is_err());
    }

    #[test]
    fn syntax_error_counts_lines_from_the_input() {
        let sql = "SELECT 1;\n\nSELECT * FORM t;";
        // sqlparser reports line 1, column 10 of the third statement's own text.
        let e = place_syntax_error(
            sql,
            11,
            1,
            "Expected: end of statement, found: FORM".into(),
            1,
            10,
        );
        assert_eq!((e.line, e.column), (3, 10));
        assert_eq!(
            e.to_string(),
            "syntax error: Expected: end of statement, found: FORM\n\
             LINE 3: SELECT * FORM t;\n\
             \x20                ^"
        );
        // A statement that starts in the middle of a line, error on its second line.
        let sql = "SELECT 1; SELECT\n  a b c;";
        let e = place_syntax_error(sql, 10, 5, "m".into(), 2, 7);
        assert_eq!((e.line, e.column, e.text.as_str()), (6, 7, "  a b c;"));
        let e = place_syntax_error(sql, 10, 5, "m".into(), 1, 3);
        assert_eq!((e.line, e.column), (5, 13));
    }

    #[test]
    fn long_lines_show_a_window_around_the_error() {
        let text = format!("SELECT {} FORM t;", "x, ".repeat(100));
        let e = SyntaxError {
            message: "m".into(),
            line: 1,
            column: text.find("FORM").unwrap() + 1,
            text,
            file: Some(PathBuf::from("a.sql")),
        };
        let shown = e.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], "syntax error in a.sql: m");
        assert!(lines[1].starts_with("LINE 1: …"), "{shown}");
        let caret = lines[2].chars().count() - 1;
        let under: String = lines[1].chars().skip(caret).take(4).collect();
        assert_eq!(under, "FORM", "{shown}");
    }

    #[test]
    fn affected_rows_messages() {
        assert_eq!(
            affected_message("insert into t values (1)", 1),
            "1 row inserted"
        );
        assert_eq!(
            affected_message("  UPDATE t SET a = 1", 3),
            "3 rows updated"
        );
        assert_eq!(affected_message("DELETE FROM t", 0), "0 rows deleted");
        assert_eq!(affected_message("COPY t FROM 'x.csv'", 2), "2 rows copied");
    }

    #[test]
    fn import_csv() {
        assert_eq!(
            import_sql(Path::new("data/items.csv"), "items").as_deref(),
            Ok("COPY items FROM 'data/items.csv' WITH (FORMAT csv, HEADER true)")
        );
    }

    #[test]
    fn import_parquet_quotes_path() {
        assert_eq!(
            import_sql(Path::new("/tmp/bob's.PARQUET"), "t").as_deref(),
            Ok("COPY t FROM '/tmp/bob''s.PARQUET' WITH (FORMAT parquet)")
        );
    }

    #[test]
    fn import_unknown_extension() {
        assert!(import_sql(Path::new("items.json"), "items").is_err());
        assert!(import_sql(Path::new("items"), "items").is_err());
    }
}
