//! Progress bars on stderr for the library's long tasks (index builds, imports).
//!
//! The library reports [`Progress`] events through the callback given to
//! `Options::on_progress`; [`ProgressReporter`] turns them into one indicatif bar per task.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vectable::Progress;

/// The bar being drawn, and the last task that finished.
#[derive(Default)]
struct State {
    /// The running task and its bar.
    bar: Option<(String, ProgressBar)>,
    /// The task whose `done == total` event came last: reports of worker threads that arrive
    /// after it must not start a new bar.
    finished: Option<String>,
}

/// Draws a progress bar per task on stderr. Clones share the same bar.
#[derive(Clone, Default)]
pub struct ProgressReporter {
    state: Arc<Mutex<State>>,
}

impl ProgressReporter {
    /// A reporter with no bar yet.
    pub fn new() -> Self {
        ProgressReporter::default()
    }

    /// The callback for `Options::on_progress`.
    ///
    /// A bar starts with the first event of a task (or any event with `done == 0`) and is
    /// cleared when `done` reaches `total`.
    pub fn callback(&self) -> impl Fn(&Progress) + Send + Sync + 'static {
        let reporter = self.clone();
        move |progress: &Progress| reporter.update(progress)
    }

    /// Removes a bar left over by a task that stopped before the end (e.g. a failed import).
    pub fn clear(&self) {
        let mut state = self.lock();
        if let Some((_, bar)) = state.bar.take() {
            bar.finish_and_clear();
        }
        state.finished = None;
    }

    /// A writer to stderr for log messages: while a bar is drawn, it is hidden for the time
    /// of each write and drawn again below the text.
    pub fn log_writer(&self) -> LogWriter {
        LogWriter {
            reporter: self.clone(),
        }
    }

    /// Runs `f` with the bar, if any, hidden from the terminal.
    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        let bar = self.lock().bar.as_ref().map(|(_, bar)| bar.clone());
        match bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn update(&self, progress: &Progress) {
        let mut state = self.lock();
        let is_new = match &state.bar {
            Some((task, _)) => progress.done == 0 || task != progress.task,
            None => true,
        };
        if is_new {
            let late = progress.done != 0 && state.finished.as_deref() == Some(progress.task);
            if late {
                return;
            }
            if let Some((_, old)) = state.bar.take() {
                old.finish_and_clear();
            }
            state.finished = None;
            if progress.done >= progress.total {
                return;
            }
            state.bar = Some((progress.task.to_string(), new_bar(progress)));
        }
        let Some((task, bar)) = &state.bar else {
            return;
        };
        bar.set_length(progress.total);
        bar.set_position(progress.done);
        if progress.done >= progress.total {
            bar.finish_and_clear();
            state.finished = Some(task.clone());
            state.bar = None;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while drawing cannot leave the state inconsistent: keep using it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes to stderr around the progress bar (see [`ProgressReporter::log_writer`]).
pub struct LogWriter {
    reporter: ProgressReporter,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.reporter
            .suspend(|| io::stderr().write_all(buf))
            .map(|()| buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// A progress bar on stderr for `progress.task`.
fn new_bar(progress: &Progress) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{msg} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::with_draw_target(Some(progress.total), ProgressDrawTarget::stderr())
        .with_style(style)
        .with_message(progress.task.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(reporter: &ProgressReporter, task: &str, done: u64, total: u64) {
        reporter.update(&Progress { task, done, total });
    }

    fn running(reporter: &ProgressReporter) -> Option<String> {
        reporter.lock().bar.as_ref().map(|(task, _)| task.clone())
    }

    #[test]
    fn bar_lives_from_first_to_last_event() {
        let reporter = ProgressReporter::new();
        event(&reporter, "import", 0, 10);
        assert_eq!(running(&reporter).as_deref(), Some("import"));
        event(&reporter, "import", 5, 10);
        assert_eq!(running(&reporter).as_deref(), Some("import"));
        event(&reporter, "import", 10, 10);
        assert_eq!(running(&reporter), None);
        // A worker thread's report arriving after the last one does not revive the bar.
        event(&reporter, "import", 7, 10);
        assert_eq!(running(&reporter), None);
        // The same task started again does.
        event(&reporter, "import", 0, 10);
        assert_eq!(running(&reporter).as_deref(), Some("import"));
    }

    #[test]
    fn log_writes_go_through_a_drawn_bar() {
        let reporter = ProgressReporter::new();
        let mut log = reporter.log_writer();
        event(&reporter, "build", 1, 10);
        // The bar is hidden around the write (the state lock is not held meanwhile).
        let n = reporter.suspend(|| {
            assert!(reporter.state.try_lock().is_ok());
            7
        });
        assert_eq!(n, 7);
        assert_eq!(log.write(b"").unwrap(), 0);
        event(&reporter, "build", 2, 10);
        assert_eq!(running(&reporter).as_deref(), Some("build"));
        reporter.clear();
        assert_eq!(reporter.suspend(|| 8), 8);
    }

    #[test]
    fn new_task_replaces_bar_and_clear_removes_it() {
        let reporter = ProgressReporter::new();
        event(&reporter, "a", 3, 10);
        event(&reporter, "b", 1, 10);
        assert_eq!(running(&reporter).as_deref(), Some("b"));
        reporter.clear();
        assert_eq!(running(&reporter), None);
        event(&reporter, "empty", 0, 0);
        assert_eq!(running(&reporter), None);
    }
}
