//! Reading input: the interactive prompt (rustyline) and scripts (`-c` arguments, piped stdin).
//!
//! Both feed lines to an [`InputBuffer`], which collects SQL until a statement ends with `;`
//! and passes dot-command lines (`.tables`) through at once when no statement is pending.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{
    Cmd, ConditionalEventHandler, Editor, Event, EventContext, EventHandler, KeyEvent, RepeatCount,
};

use crate::complete::ShellHelper;
use crate::interrupt;
use crate::session::{Flow, Session, ShellError};

/// Prompt when no statement is pending.
const PROMPT: &str = "vectable> ";
/// Prompt while a statement continues over several lines.
const CONTINUATION_PROMPT: &str = "     ...> ";
/// History file name, in `$HOME`.
const HISTORY_FILE: &str = ".vectable_history";
/// Environment variable naming another history file (empty: no history file).
const HISTORY_ENV: &str = "VECTABLE_HISTORY";

/// A complete unit of input, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A dot-command line, trimmed.
    Command(String),
    /// SQL text ending with `;`; may hold several statements.
    Sql(String),
}

/// Collects input lines until they form a complete statement or a dot command.
#[derive(Debug, Default)]
pub struct InputBuffer {
    text: String,
}

impl InputBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        InputBuffer::default()
    }

    /// True when no statement is pending (the next line may be a dot command).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Forgets the pending input (Ctrl-C).
    pub fn clear(&mut self) {
        self.text.clear();
    }

    /// Adds one line of input; returns what is ready to run, if anything.
    ///
    /// With nothing pending, `\q`, `exit` and `quit` (with or without `;`) are `.quit`.
    pub fn push_line(&mut self, line: &str) -> Option<Input> {
        if self.text.is_empty() && is_quit(line) {
            return Some(Input::Command(".quit".to_string()));
        }
        // Dot commands, and psql's `\d`.
        if self.text.is_empty() && line.trim_start().starts_with(['.', '\\']) {
            return Some(Input::Command(line.trim().to_string()));
        }
        self.text.push_str(line);
        self.text.push('\n');
        match scan(&self.text) {
            SqlState::Empty => {
                // Blank lines and complete comments: nothing to run, nothing pending.
                self.text.clear();
                None
            }
            SqlState::Incomplete => None,
            SqlState::Complete => Some(Input::Sql(std::mem::take(&mut self.text))),
        }
    }

    /// At the end of the input: the pending SQL, even without its final `;`, if any.
    pub fn finish(&mut self) -> Option<String> {
        let text = std::mem::take(&mut self.text);
        (!text.trim().is_empty()).then_some(text)
    }
}

/// `\q`, `exit` or `quit`, in any case, with or without a final `;`.
fn is_quit(line: &str) -> bool {
    let word = line.trim().trim_end_matches(';').trim_end();
    word == "\\q" || word.eq_ignore_ascii_case("exit") || word.eq_ignore_ascii_case("quit")
}

/// Whether buffered SQL text is ready to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqlState {
    /// Only whitespace and complete comments.
    Empty,
    /// Some SQL, not yet ended by a top-level `;` (or inside a quote or comment).
    Incomplete,
    /// The last thing outside quotes and comments is a `;`.
    Complete,
}

/// Scans SQL for quotes (`'…'`, `"…"`) and comments (`-- …`, `/* … */`) to tell whether it
/// ends with a statement-terminating `;`.
fn scan(sql: &str) -> SqlState {
    #[derive(PartialEq)]
    enum In {
        Code,
        Quote(char),
        LineComment,
        BlockComment,
    }
    let mut state = In::Code;
    let mut has_content = false;
    let mut ends_with_semicolon = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match state {
            In::Code => match c {
                '-' if chars.peek() == Some(&'-') => {
                    chars.next();
                    state = In::LineComment;
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    state = In::BlockComment;
                }
                c if c.is_whitespace() => {}
                c => {
                    has_content = true;
                    ends_with_semicolon = c == ';';
                    if c == '\'' || c == '"' {
                        state = In::Quote(c);
                    }
                }
            },
            // A doubled quote inside a quoted string closes and reopens it: same result.
            In::Quote(q) if c == q => state = In::Code,
            In::Quote(_) => {}
            In::LineComment if c == '\n' => state = In::Code,
            In::LineComment => {}
            In::BlockComment if c == '*' && chars.peek() == Some(&'/') => {
                chars.next();
                state = In::Code;
            }
            In::BlockComment => {}
        }
    }
    let open = matches!(state, In::Quote(_) | In::BlockComment);
    if open {
        SqlState::Incomplete
    } else if !has_content {
        SqlState::Empty
    } else if ends_with_semicolon {
        SqlState::Complete
    } else {
        SqlState::Incomplete
    }
}

/// Runs a script (one `-c` argument, or all of stdin): SQL statements and dot-command lines in
/// order. SQL at the end without a final `;` runs too. Stops at the first error.
///
/// Syntax errors give their line counted from the start of `script`.
pub fn run_script(session: &mut Session, script: &str) -> Result<Flow, ShellError> {
    let mut buffer = InputBuffer::new();
    // The 1-based line where the pending SQL starts.
    let mut first_line = 1;
    for (i, line) in script.lines().enumerate() {
        if interrupt::seen() {
            return Err(ShellError::Command("interrupted".into()));
        }
        if buffer.is_empty() {
            first_line = i + 1;
        }
        if let Some(input) = buffer.push_line(line) {
            if run_input(session, &input, first_line)? == Flow::Quit {
                return Ok(Flow::Quit);
            }
        }
    }
    if let Some(rest) = buffer.finish() {
        session.run_sql(&rest, first_line)?;
    }
    Ok(Flow::Continue)
}

/// Runs one unit of input; SQL starts at line `first_line` of the input.
fn run_input(session: &mut Session, input: &Input, first_line: usize) -> Result<Flow, ShellError> {
    match input {
        Input::Command(line) => session.run_command_line(line),
        Input::Sql(sql) => session.run_sql(sql, first_line).map(|()| Flow::Continue),
    }
}

/// The history file: `$VECTABLE_HISTORY` when set (none when it is empty), else
/// `$HOME/.vectable_history`.
fn history_path() -> Option<PathBuf> {
    match std::env::var_os(HISTORY_ENV) {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)),
        None => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(HISTORY_FILE)),
    }
}

/// Records whether the line was empty when Ctrl-C was pressed at the prompt, then lets
/// rustyline interrupt the line as usual.
struct CtrlC {
    on_empty_line: Arc<AtomicBool>,
}

impl ConditionalEventHandler for CtrlC {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        self.on_empty_line
            .store(ctx.line().is_empty(), Ordering::Relaxed);
        None
    }
}

/// The interactive prompt: reads until `.quit`, Ctrl-D, or Ctrl-C twice on an empty line,
/// reporting errors and going on. Ctrl-C on a line with text clears it (and any pending
/// statement); Ctrl-C while a statement runs cancels it (see `interrupt.rs`). Each input is
/// appended to the history file as soon as it is entered.
///
/// # Errors
/// Only when the terminal cannot be set up.
pub fn interactive(session: &mut Session) -> Result<(), ReadlineError> {
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(ShellHelper::default()));
    let on_empty_line = Arc::new(AtomicBool::new(false));
    editor.bind_sequence(
        KeyEvent::ctrl('c'),
        EventHandler::Conditional(Box::new(CtrlC {
            on_empty_line: on_empty_line.clone(),
        })),
    );
    let history = history_path();
    if let Some(path) = &history {
        // A missing or unreadable history file is normal on the first run.
        let _ = editor.load_history(path);
    }
    let banner = format!(
        "vectable {} — {}\nEnter \".help\" for usage hints. Ctrl-C cancels a running \
         statement; Ctrl-D, or Ctrl-C twice on an empty line, exits.",
        env!("CARGO_PKG_VERSION"),
        session.describe_database()
    );
    if session.message(&banner).is_err() {
        return Ok(());
    }

    let mut buffer = InputBuffer::new();
    // The last input was Ctrl-C on an empty line with nothing pending.
    let mut ctrl_c_on_empty = false;
    loop {
        interrupt::reset();
        let prompt = if buffer.is_empty() {
            PROMPT
        } else {
            CONTINUATION_PROMPT
        };
        if let Some(helper) = editor.helper_mut() {
            helper.set_names(session.names());
        }
        match editor.readline(prompt) {
            Ok(line) => {
                ctrl_c_on_empty = false;
                let Some(input) = buffer.push_line(&line) else {
                    continue;
                };
                let entry = match &input {
                    Input::Command(text) | Input::Sql(text) => text.trim_end(),
                };
                let _ = editor.add_history_entry(entry);
                if let Some(path) = &history {
                    // Saved before it runs, so a shell killed meanwhile keeps it. Not being
                    // able to write it (read-only home) is not worth a message.
                    let _ = editor.append_history(path);
                }
                match run_input(session, &input, 1) {
                    Ok(Flow::Continue) => {}
                    Ok(Flow::Quit) => break,
                    Err(e) if e.is_interrupt() => eprintln!("Interrupted"),
                    Err(e) => eprintln!("Error: {e}"),
                }
            }
            Err(ReadlineError::Interrupted) => {
                let empty = buffer.is_empty() && on_empty_line.load(Ordering::Relaxed);
                buffer.clear();
                if !empty {
                    ctrl_c_on_empty = false;
                } else if ctrl_c_on_empty {
                    break;
                } else {
                    ctrl_c_on_empty = true;
                    eprintln!("(press Ctrl-C again or Ctrl-D to exit)");
                }
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("Error: {e}");
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str) -> Option<Input> {
        Some(Input::Sql(text.to_string()))
    }

    #[test]
    fn single_line_statement() {
        let mut b = InputBuffer::new();
        assert_eq!(b.push_line("SELECT 1;"), sql("SELECT 1;\n"));
        assert!(b.is_empty());
    }

    #[test]
    fn multi_line_statement() {
        let mut b = InputBuffer::new();
        assert_eq!(b.push_line("SELECT *"), None);
        assert!(!b.is_empty());
        assert_eq!(b.push_line("FROM items"), None);
        assert_eq!(
            b.push_line("LIMIT 3;"),
            sql("SELECT *\nFROM items\nLIMIT 3;\n")
        );
    }

    #[test]
    fn dot_command_only_when_nothing_pending() {
        let mut b = InputBuffer::new();
        assert_eq!(
            b.push_line("  .mode csv "),
            Some(Input::Command(".mode csv".into()))
        );
        assert_eq!(b.push_line("SELECT 1.5"), None);
        assert_eq!(b.push_line(".5;"), sql("SELECT 1.5\n.5;\n"));
    }

    #[test]
    fn semicolons_in_quotes_and_comments() {
        let mut b = InputBuffer::new();
        assert_eq!(b.push_line("INSERT INTO t VALUES ('a;"), None);
        assert_eq!(
            b.push_line("b''c');"),
            sql("INSERT INTO t VALUES ('a;\nb''c');\n")
        );
        assert_eq!(b.push_line("SELECT 1 -- done;"), None);
        assert_eq!(b.push_line(";"), sql("SELECT 1 -- done;\n;\n"));
        assert_eq!(b.push_line("SELECT /* ; */ 2"), None);
        assert_eq!(b.push_line(";"), sql("SELECT /* ; */ 2\n;\n"));
        assert_eq!(b.push_line("SELECT \"a;b\""), None);
    }

    #[test]
    fn blank_lines_and_comments_are_dropped() {
        let mut b = InputBuffer::new();
        assert_eq!(b.push_line(""), None);
        assert_eq!(b.push_line("-- a comment"), None);
        assert!(b.is_empty());
        assert_eq!(b.push_line("/* open"), None);
        assert!(!b.is_empty());
        assert_eq!(b.push_line("closed */"), None);
        assert!(b.is_empty());
    }

    #[test]
    fn finish_returns_unterminated_sql() {
        let mut b = InputBuffer::new();
        assert_eq!(b.push_line("SELECT 1"), None);
        assert_eq!(b.finish().as_deref(), Some("SELECT 1\n"));
        assert_eq!(b.finish(), None);
    }

    #[test]
    fn quit_words() {
        for line in ["\\q", "exit", "QUIT;", "  quit ; "] {
            let mut b = InputBuffer::new();
            assert_eq!(
                b.push_line(line),
                Some(Input::Command(".quit".into())),
                "{line}"
            );
        }
        // Inside a statement they are SQL.
        let mut b = InputBuffer::new();
        assert_eq!(b.push_line("SELECT 1 AS"), None);
        assert_eq!(b.push_line("exit;"), sql("SELECT 1 AS\nexit;\n"));
    }

    #[test]
    fn clear_forgets_pending_input() {
        let mut b = InputBuffer::new();
        assert_eq!(b.push_line("SELECT"), None);
        b.clear();
        assert_eq!(
            b.push_line(".tables"),
            Some(Input::Command(".tables".into()))
        );
    }
}
