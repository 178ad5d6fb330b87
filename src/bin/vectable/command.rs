//! Dot commands (`.tables`, `.mode csv`, …): parsing a line into a [`Command`] and the help text.
//!
//! Parsing is separate from running (see `session.rs`) so each command's syntax can be tested
//! without a database.

use std::path::PathBuf;

use crate::print::Mode;

/// One dot command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `.tables`: list the tables.
    Tables,
    /// `.schema [TABLE]`: the `CREATE TABLE` statement of every table, or of one.
    Schema(Option<String>),
    /// `.indexes`: status of the vector indexes, then the B-tree indexes.
    Indexes,
    /// `.mode [MODE]`: set the output mode, or show it when no mode is given.
    Mode(Option<Mode>),
    /// `.timer on|off`: print the run time after each statement.
    Timer(bool),
    /// `.import FILE TABLE`: load a CSV or Parquet file into a table with `COPY`, or create
    /// the table from the file (`CREATE TABLE … AS FROM`) when it does not exist.
    Import {
        /// The file to read.
        file: PathBuf,
        /// The table to append to or create.
        table: String,
    },
    /// `\d [TABLE]` (as in psql): the columns of TABLE (`DESCRIBE TABLE`), or the tables.
    Describe(Option<String>),
    /// `.headers on|off`: print column names in the table modes and csv mode.
    Headers(bool),
    /// `.maxwidth [N]`: the width drawn tables must fit in (0: no limit); shows it without N.
    MaxWidth(Option<usize>),
    /// `.maxrows [N]`: the most rows a drawn table shows (0: all); shows it without N.
    MaxRows(Option<usize>),
    /// `.read FILE`: run the SQL and dot commands in FILE.
    Read(PathBuf),
    /// `.output [FILE]`: send results to FILE, or back to stdout without one.
    Output(Option<PathBuf>),
    /// `.open DIR`: close the database and open (or create) the one in DIR.
    Open(PathBuf),
    /// `.help`: list the dot commands.
    Help,
    /// `.quit` or `.exit`: leave the shell.
    Quit,
}

/// Text printed by `.help`.
pub const HELP: &str = "\
.tables                 List the tables
.schema [TABLE]         Show the CREATE TABLE and CREATE INDEX statements of every table, or of TABLE
.indexes                Show the vector indexes (parameters, size, last load) and B-tree indexes
.mode [MODE]            Set the output mode: table (default), box, markdown, csv, json or line
.headers on|off         Show column names in the table modes and csv mode
.maxwidth [N]           Fit tables in N characters (0: no limit; default: the terminal width)
.maxrows [N]            Show at most N rows of a table, first and last (0: all; default 40 on a terminal)
.timer on|off           Print the run time of each statement
.import FILE TABLE      Append FILE (.csv with a header line, or .parquet) to TABLE; create TABLE from FILE if missing
.read FILE              Run the SQL statements and dot commands in FILE
.output [FILE]          Write results to FILE, or to the standard output again without FILE
.open DIR               Close this database and open (or create) the one in DIR
\\d [TABLE]              Describe TABLE's columns (DESCRIBE TABLE), or list the tables
.help                   Show this message
.quit, .exit            Leave the shell (also \\q, exit or quit)

Statements end with ';'. Tab completes keywords, table and column names and dot commands.
Ctrl-C cancels a running statement, .import or index build, and clears the current input at
the prompt; Ctrl-D, or Ctrl-C twice on an empty line, leaves.";

/// The dot commands' names, for tab completion.
pub const NAMES: &[&str] = &[
    ".exit",
    ".headers",
    ".help",
    ".import",
    ".indexes",
    ".maxrows",
    ".maxwidth",
    ".mode",
    ".open",
    ".output",
    ".quit",
    ".read",
    ".schema",
    ".tables",
    ".timer",
];

impl Command {
    /// Parses a dot-command line such as `.mode csv` (surrounding whitespace is ignored).
    ///
    /// Arguments are separated by whitespace; an argument may be quoted with `'…'` or `"…"`
    /// to contain spaces (`.import 'my data.csv' items`).
    ///
    /// # Errors
    /// A message for an unknown command, a missing or extra argument, or a bad value.
    pub fn parse(line: &str) -> Result<Command, String> {
        let words = split_args(line.trim())?;
        let Some((name, args)) = words.split_first() else {
            return Err("empty command".into());
        };
        let name = name.as_str();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let usage = |syntax: &str| format!("usage: {syntax}");
        match name {
            ".tables" => no_args(&args, ".tables").map(|()| Command::Tables),
            ".schema" => match args.as_slice() {
                [] => Ok(Command::Schema(None)),
                [table] => Ok(Command::Schema(Some((*table).to_string()))),
                _ => Err(usage(".schema [TABLE]")),
            },
            ".indexes" | ".indices" => no_args(&args, ".indexes").map(|()| Command::Indexes),
            ".mode" => match args.as_slice() {
                [] => Ok(Command::Mode(None)),
                [mode] => mode.parse().map(|m| Command::Mode(Some(m))),
                _ => Err(usage(".mode table|csv|json|line")),
            },
            ".timer" => match args.as_slice() {
                [flag] => parse_flag(flag)
                    .map(Command::Timer)
                    .ok_or_else(|| usage(".timer on|off")),
                _ => Err(usage(".timer on|off")),
            },
            ".import" => match args.as_slice() {
                [file, table] => Ok(Command::Import {
                    file: PathBuf::from(file),
                    table: (*table).to_string(),
                }),
                _ => Err(usage(".import FILE TABLE")),
            },
            "\\d" => match args.as_slice() {
                [] => Ok(Command::Describe(None)),
                [table] => Ok(Command::Describe(Some((*table).to_string()))),
                _ => Err(usage("\\d [TABLE]")),
            },
            ".headers" => match args.as_slice() {
                [flag] => parse_flag(flag)
                    .map(Command::Headers)
                    .ok_or_else(|| usage(".headers on|off")),
                _ => Err(usage(".headers on|off")),
            },
            ".maxwidth" => match args.as_slice() {
                [] => Ok(Command::MaxWidth(None)),
                [n] => n
                    .parse()
                    .map(|n| Command::MaxWidth(Some(n)))
                    .map_err(|_| usage(".maxwidth [N] (a number of characters, 0 for no limit)")),
                _ => Err(usage(".maxwidth [N]")),
            },
            ".maxrows" => match args.as_slice() {
                [] => Ok(Command::MaxRows(None)),
                [n] => n
                    .parse()
                    .map(|n| Command::MaxRows(Some(n)))
                    .map_err(|_| usage(".maxrows [N] (a number of rows, 0 for all)")),
                _ => Err(usage(".maxrows [N]")),
            },
            ".read" => match args.as_slice() {
                [file] => Ok(Command::Read(PathBuf::from(file))),
                _ => Err(usage(".read FILE")),
            },
            ".output" => match args.as_slice() {
                [] => Ok(Command::Output(None)),
                [file] => Ok(Command::Output(Some(PathBuf::from(file)))),
                _ => Err(usage(".output [FILE]")),
            },
            ".open" => match args.as_slice() {
                [dir] => Ok(Command::Open(PathBuf::from(dir))),
                _ => Err(usage(".open DIR")),
            },
            ".help" => no_args(&args, ".help").map(|()| Command::Help),
            ".quit" | ".exit" => no_args(&args, name).map(|()| Command::Quit),
            _ => Err(format!(
                "unknown command {name}; enter .help for the list of commands"
            )),
        }
    }
}

/// `on`/`off` (also `true`/`false`, `1`/`0`), in any case.
fn parse_flag(flag: &str) -> Option<bool> {
    match flag.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Some(true),
        "off" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Refuses arguments to a command that takes none.
fn no_args(args: &[&str], name: &str) -> Result<(), String> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(format!("{name} takes no arguments"))
    }
}

/// Splits a command line at whitespace, honouring `'…'` and `"…"` quotes (a doubled quote
/// inside a quoted argument stands for one quote character).
fn split_args(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '\'' || c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some(q) if q == c => {
                        if chars.peek() == Some(&c) {
                            chars.next();
                            word.push(c);
                        } else {
                            break;
                        }
                    }
                    Some(other) => word.push(other),
                    None => return Err(format!("unterminated {c}quoted{c} argument")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe() {
        assert_eq!(Command::parse("\\d"), Ok(Command::Describe(None)));
        assert_eq!(
            Command::parse(" \\d items "),
            Ok(Command::Describe(Some("items".into())))
        );
        assert!(Command::parse("\\d a b").is_err());
    }

    #[test]
    fn tables() {
        assert_eq!(Command::parse(".tables"), Ok(Command::Tables));
        assert_eq!(Command::parse("  .tables  "), Ok(Command::Tables));
        assert!(Command::parse(".tables x").is_err());
    }

    #[test]
    fn schema() {
        assert_eq!(Command::parse(".schema"), Ok(Command::Schema(None)));
        assert_eq!(
            Command::parse(".schema items"),
            Ok(Command::Schema(Some("items".into())))
        );
        assert!(Command::parse(".schema a b").is_err());
    }

    #[test]
    fn indexes() {
        assert_eq!(Command::parse(".indexes"), Ok(Command::Indexes));
        assert_eq!(Command::parse(".indices"), Ok(Command::Indexes));
        assert!(Command::parse(".indexes items").is_err());
    }

    #[test]
    fn mode() {
        assert_eq!(Command::parse(".mode"), Ok(Command::Mode(None)));
        assert_eq!(
            Command::parse(".mode table"),
            Ok(Command::Mode(Some(Mode::Table)))
        );
        assert_eq!(
            Command::parse(".mode csv"),
            Ok(Command::Mode(Some(Mode::Csv)))
        );
        assert_eq!(
            Command::parse(".mode JSON"),
            Ok(Command::Mode(Some(Mode::Json)))
        );
        assert_eq!(
            Command::parse(".mode line"),
            Ok(Command::Mode(Some(Mode::Line)))
        );
        assert!(Command::parse(".mode html").is_err());
        assert!(Command::parse(".mode csv json").is_err());
    }

    #[test]
    fn timer() {
        assert_eq!(Command::parse(".timer on"), Ok(Command::Timer(true)));
        assert_eq!(Command::parse(".timer OFF"), Ok(Command::Timer(false)));
        assert!(Command::parse(".timer").is_err());
        assert!(Command::parse(".timer maybe").is_err());
    }

    #[test]
    fn import() {
        assert_eq!(
            Command::parse(".import data/items.csv items"),
            Ok(Command::Import {
                file: PathBuf::from("data/items.csv"),
                table: "items".into()
            })
        );
        assert_eq!(
            Command::parse(".import 'my ''big'' file.parquet' items"),
            Ok(Command::Import {
                file: PathBuf::from("my 'big' file.parquet"),
                table: "items".into()
            })
        );
        assert!(Command::parse(".import items.csv").is_err());
        assert!(Command::parse(".import 'unterminated.csv items").is_err());
    }

    #[test]
    fn headers_maxwidth_maxrows() {
        assert_eq!(Command::parse(".headers off"), Ok(Command::Headers(false)));
        assert_eq!(Command::parse(".headers ON"), Ok(Command::Headers(true)));
        assert!(Command::parse(".headers").is_err());
        assert_eq!(Command::parse(".maxwidth"), Ok(Command::MaxWidth(None)));
        assert_eq!(
            Command::parse(".maxwidth 0"),
            Ok(Command::MaxWidth(Some(0)))
        );
        assert!(Command::parse(".maxwidth wide").is_err());
        assert_eq!(
            Command::parse(".maxrows 10"),
            Ok(Command::MaxRows(Some(10)))
        );
        assert_eq!(Command::parse(".maxrows"), Ok(Command::MaxRows(None)));
        assert!(Command::parse(".maxrows -1").is_err());
    }

    #[test]
    fn read_output_open() {
        assert_eq!(
            Command::parse(".read 'my script.sql'"),
            Ok(Command::Read(PathBuf::from("my script.sql")))
        );
        assert!(Command::parse(".read").is_err());
        assert_eq!(Command::parse(".output"), Ok(Command::Output(None)));
        assert_eq!(
            Command::parse(".output out.csv"),
            Ok(Command::Output(Some(PathBuf::from("out.csv"))))
        );
        assert_eq!(
            Command::parse(".open other"),
            Ok(Command::Open(PathBuf::from("other")))
        );
        assert!(Command::parse(".open").is_err());
    }

    #[test]
    fn names_cover_every_command() {
        for name in NAMES {
            let err = Command::parse(name).err().unwrap_or_default();
            assert!(!err.starts_with("unknown command"), "{name}: {err}");
            assert!(HELP.contains(name), "{name} is not in .help");
        }
    }

    #[test]
    fn help() {
        assert_eq!(Command::parse(".help"), Ok(Command::Help));
    }

    #[test]
    fn quit_and_exit() {
        assert_eq!(Command::parse(".quit"), Ok(Command::Quit));
        assert_eq!(Command::parse(".exit"), Ok(Command::Quit));
        assert!(Command::parse(".exit 3").is_err());
    }

    #[test]
    fn unknown() {
        let err = Command::parse(".frobnicate").unwrap_err();
        assert!(err.starts_with("unknown command .frobnicate"), "{err}");
        assert!(Command::parse("").is_err());
    }
}
