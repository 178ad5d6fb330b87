//! Ctrl-C (SIGINT) while something runs: cancels the running statement through the database's
//! [`InterruptHandle`]; a second Ctrl-C before the shell gets back to its prompt (or to the
//! next input of a script) quits it, for when nothing cancellable is running.
//!
//! At the interactive prompt the terminal is in raw mode and Ctrl-C reaches rustyline as a
//! key instead (see `repl.rs`).

use std::sync::atomic::{AtomicU32, Ordering};

use vectable::InterruptHandle;

/// SIGINTs received since the last [`reset`].
static SEEN: AtomicU32 = AtomicU32::new(0);

/// Exit code after a second Ctrl-C: 128 + SIGINT, as shells report it.
const EXIT_ON_SIGINT: i32 = 130;

/// Installs the SIGINT handler for the whole process.
///
/// # Errors
/// When a handler is already installed or the signal cannot be handled.
pub fn install(handle: InterruptHandle) -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(move || {
        if SEEN.fetch_add(1, Ordering::SeqCst) >= 1 {
            std::process::exit(EXIT_ON_SIGINT);
        }
        handle.interrupt();
    })
}

/// Forgets earlier Ctrl-Cs (the shell is back at its prompt).
pub fn reset() {
    SEEN.store(0, Ordering::SeqCst);
}

/// True when Ctrl-C was pressed since the last [`reset`].
pub fn seen() -> bool {
    SEEN.load(Ordering::SeqCst) > 0
}
