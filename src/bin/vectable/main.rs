//! `vectable`: the command-line shell of the vectable table store, in the manner of the
//! `sqlite3` and `duckdb` shells.
//!
//! ```text
//! vectable [DIR] [--readonly | --create] [-c SQL]... [--mode table|box|markdown|csv|json|line] [--timer]
//! ```
//!
//! Without DIR, the shell opens a transient in-memory database.
//! With `-c`, runs the given statements and dot commands and exits; with piped stdin, runs
//! all of it and exits (both stop at the first error, with exit code 1); otherwise opens an
//! interactive prompt.

mod command;
mod complete;
mod interrupt;
mod print;
mod progress;
mod repl;
mod session;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use vectable::{Database, Options};

use crate::print::Mode;
use crate::progress::ProgressReporter;
use crate::session::{Flow, Session, ShellError};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "vectable",
    version,
    about = "SQL shell for a vectable database"
)]
struct Args {
    /// Database directory: created when missing or empty; without it, a transient in-memory
    /// database.
    dir: Option<PathBuf>,

    /// Open DIR read-only: works while another process writes to it; writes are refused.
    #[arg(long, requires = "dir", conflicts_with = "create")]
    readonly: bool,

    /// Create a new database in DIR even when the directory holds other files.
    #[arg(long, requires = "dir")]
    create: bool,

    /// Run SQL statements (separated by `;`) or a dot command, then exit; may be repeated.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    commands: Vec<String>,

    /// Output mode for query results.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Mode::Table)]
    mode: Mode,

    /// Print the run time of each statement.
    #[arg(long)]
    timer: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let progress = std::io::stderr().is_terminal().then(ProgressReporter::new);
    init_logging(progress.clone());

    let options = {
        let progress = progress.clone();
        let (readonly, create) = (args.readonly, args.create);
        move || {
            let mut options = Options::new()
                .read_only(readonly)
                .create_in_non_empty(create);
            if let Some(reporter) = &progress {
                options = options.on_progress(reporter.callback());
            }
            options
        }
    };
    let opened = match &args.dir {
        Some(dir) => Database::open_with(dir, options()),
        None => Database::open_in_memory_with(options()),
    };
    let db = match opened {
        Ok(db) => db,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = interrupt::install(db.interrupt_handle()) {
        eprintln!("Warning: Ctrl-C will not cancel statements: {e}");
    }
    let mut session = Session::new(db, args.mode, args.timer, progress);
    session.set_opener(Box::new(move |dir| Database::open_with(dir, options())));

    if !args.commands.is_empty() {
        for script in &args.commands {
            match repl::run_script(&mut session, script) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Quit) => break,
                Err(e) => return report(&e),
            }
        }
        return ExitCode::SUCCESS;
    }

    if !std::io::stdin().is_terminal() {
        let mut script = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut script) {
            eprintln!("Error: cannot read the standard input: {e}");
            return ExitCode::FAILURE;
        }
        return match repl::run_script(&mut session, &script) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => report(&e),
        };
    }

    match repl::interactive(&mut session) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the error that stopped a non-interactive run; the exit code is 1, except when the
/// reader of stdout went away (`| head`), which is not an error of the script.
fn report(error: &ShellError) -> ExitCode {
    if error.is_broken_pipe() {
        return ExitCode::SUCCESS;
    }
    eprintln!("Error: {error}");
    ExitCode::FAILURE
}

/// Sends library log messages (warnings by default; see `VECTABLE_LOG`) to stderr; while a
/// progress bar is drawn, through it, so that a message does not print over the bar.
fn init_logging(progress: Option<ProgressReporter>) {
    let target = match progress {
        Some(reporter) => env_logger::Target::Pipe(Box::new(reporter.log_writer())),
        None => env_logger::Target::Stderr,
    };
    // Fails only when a logger is already installed, which cannot happen here.
    let _ = env_logger::Builder::new()
        .filter_level(log::LevelFilter::Warn)
        // rustyline warns when the terminal does not answer its cursor-position query.
        .filter_module("rustyline", log::LevelFilter::Off)
        .parse_env("VECTABLE_LOG")
        .target(target)
        .format_timestamp(None)
        .try_init();
}
