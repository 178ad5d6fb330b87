//! A shell session: an open database, the printer and the settings changed by dot commands.
//!
//! [`Session`] runs SQL text and dot commands; reading input (interactive or scripted) is the
//! job of `repl.rs`.

use std::fmt;
use std::io::{self, Stdout};
use std::path::Path;
use std::time::Instant;

use vectable::{split_statements, Database, Output, Value};

use crate::command::{Command, HELP};
use crate::print::{human_bytes, Mode, Printer};
use crate::progress::ProgressReporter;

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
    printer: Printer<Stdout>,
    timer: bool,
    progress: Option<ProgressReporter>,
}

impl Session {
    /// A session on `db` printing to stdout in `mode`, with the timer on or off.
    /// `progress` is the reporter given to the database, if any, to clean up after failures.
    pub fn new(db: Database, mode: Mode, timer: bool, progress: Option<ProgressReporter>) -> Self {
        Session {
            db,
            printer: Printer::new(io::stdout(), mode),
            timer,
            progress,
        }
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

    /// Writes one line of text to the output (banners, notices).
    pub fn message(&mut self, text: &str) -> Result<(), ShellError> {
        self.printer.line(text)?;
        Ok(self.printer.flush()?)
    }

    /// Runs SQL text that may hold several `;`-separated statements, in order, stopping at the
    /// first one that fails.
    pub fn run_sql(&mut self, sql: &str) -> Result<(), ShellError> {
        for statement in split_statements(sql) {
            self.run_statement(&statement)?;
        }
        Ok(())
    }

    /// Runs one statement and prints its result (only queries print anything).
    fn run_statement(&mut self, statement: &str) -> Result<(), ShellError> {
        let start = Instant::now();
        let result = self.db.run(statement, ());
        if let Some(progress) = &self.progress {
            progress.clear();
        }
        let output = result?;
        // Row counts (`Affected`) and statement tags (`Done`) are not printed, to keep the
        // output clean for scripts.
        if let Output::Rows(rows) = &output {
            self.printer.print(rows.columns(), rows.values())?;
        }
        if self.timer {
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            self.printer.line(&format!("Run Time: {ms:.3} ms"))?;
            self.printer.flush()?;
        }
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
                    Value::Text(s.last_load.to_string()),
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
