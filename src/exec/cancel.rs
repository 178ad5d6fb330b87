//! Cancelling running statements: [`InterruptHandle`] (as rusqlite's, over
//! `sqlite3_interrupt`) and `statement_timeout` (as PostgreSQL's).
//!
//! Each statement gets a [`Cancel`] token when it starts: a flag shared with the database's
//! set of running statements, and a deadline when a timeout is set. [`InterruptHandle::interrupt`]
//! sets the flag of every statement in the set at that moment; a statement that starts later
//! gets a new flag and is not affected. The loops that can run long (row scans, exact kNN,
//! vector index builds, `CREATE INDEX`, `COPY`, `UPDATE`, `DELETE`) ask the token between
//! rows or chunks ([`Cancel::tick`], [`Cancel::check`]) and stop with
//! [`Error::Interrupted`]. They ask only before the statement's `WriteBatch` is written, so
//! an interrupted statement writes nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// Why a statement stopped with [`Error::Interrupted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InterruptReason {
    /// [`InterruptHandle::interrupt`] was called while it ran (the shell calls it on Ctrl-C).
    Interrupt,
    /// It ran longer than `statement_timeout` (the duration it had).
    Timeout(Duration),
}

impl fmt::Display for InterruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterruptReason::Interrupt => f.write_str("interrupted"),
            InterruptReason::Timeout(d) => write!(
                f,
                "statement canceled: it ran longer than statement_timeout ({})",
                format_duration(*d)
            ),
        }
    }
}

/// A duration as `SHOW statement_timeout` would print it: `0` (none), `250ms`, `5s`, `2min`,
/// `1h`; a whole number in the largest unit that divides it.
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0".into();
    }
    for (unit, per) in [("h", 3_600_000), ("min", 60_000), ("s", 1_000)] {
        if ms.is_multiple_of(per) {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
}

/// Parses a `statement_timeout` value as PostgreSQL does: an integer is milliseconds; a
/// number followed by a unit `ms`, `s`, `min` or `h` (spaces allowed between) is that long;
/// `0` disables the timeout. Returns `None` for anything else (negative, fractional
/// milliseconds are rounded down, an unknown unit, an overflow).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    let per_unit_ms = match unit.trim() {
        "" | "ms" => 1.0,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    let ms = n * per_unit_ms;
    // u32::MAX milliseconds (about 49 days) is far beyond any sensible bound.
    if !ms.is_finite() || ms > f64::from(u32::MAX) {
        return None;
    }
    Some(Duration::from_millis(ms as u64))
}

/// The per-statement token the long loops ask whether to stop.
#[derive(Debug)]
pub(crate) struct Cancel {
    flag: Arc<AtomicBool>,
    /// The deadline and the timeout it came from.
    deadline: Option<(Instant, Duration)>,
    /// Calls of [`Cancel::tick`], to look at the clock every [`TICKS_PER_CHECK`] only.
    ticks: AtomicU32,
}

/// Rows between two full checks in [`Cancel::tick`].
const TICKS_PER_CHECK: u32 = 1_024;

impl Cancel {
    /// A token that never fires (unit tests).
    #[cfg(test)]
    pub fn never() -> Cancel {
        Cancel {
            flag: Arc::new(AtomicBool::new(false)),
            deadline: None,
            ticks: AtomicU32::new(0),
        }
    }

    /// A token that fires when `flag` is set, with no deadline (a background index build's:
    /// no statement's interrupt reaches it).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Cancel {
        Cancel {
            flag,
            deadline: None,
            ticks: AtomicU32::new(0),
        }
    }

    /// Checks the flag and the deadline now.
    ///
    /// # Errors
    /// [`Error::Interrupted`] when the statement was interrupted or its time is up.
    pub fn check(&self) -> Result<()> {
        if self.flag.load(Ordering::Relaxed) {
            return Err(Error::Interrupted {
                reason: InterruptReason::Interrupt,
            });
        }
        if let Some((deadline, timeout)) = self.deadline {
            if Instant::now() >= deadline {
                return Err(Error::Interrupted {
                    reason: InterruptReason::Timeout(timeout),
                });
            }
        }
        Ok(())
    }

    /// A cheap check for a per-row loop: a full [`Cancel::check`] every 1,024 calls.
    ///
    /// # Errors
    /// As [`Cancel::check`].
    pub fn tick(&self) -> Result<()> {
        if self
            .ticks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(TICKS_PER_CHECK)
        {
            self.check()
        } else {
            Ok(())
        }
    }
}

/// The statements running on one database, by id, with their flags.
#[derive(Debug, Default)]
pub(crate) struct Running {
    next_id: std::sync::atomic::AtomicU64,
    flags: Mutex<HashMap<u64, Arc<AtomicBool>>>,
}

/// Registers a statement in [`Running`] for as long as it lives; derefs to its [`Cancel`].
pub(crate) struct StatementGuard {
    running: Arc<Running>,
    id: u64,
    cancel: Cancel,
}

impl std::ops::Deref for StatementGuard {
    type Target = Cancel;
    fn deref(&self) -> &Cancel {
        &self.cancel
    }
}

impl Drop for StatementGuard {
    fn drop(&mut self) {
        self.running.flags.lock().remove(&self.id);
    }
}

impl Running {
    /// Registers a statement starting now, with `timeout` (none when zero).
    pub fn start(self: &Arc<Self>, timeout: Duration) -> StatementGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let flag = Arc::new(AtomicBool::new(false));
        self.flags.lock().insert(id, flag.clone());
        let now = Instant::now();
        let deadline = (!timeout.is_zero()).then(|| (now + timeout, timeout));
        StatementGuard {
            running: self.clone(),
            id,
            cancel: Cancel {
                flag,
                deadline,
                ticks: AtomicU32::new(0),
            },
        }
    }

    fn interrupt_all(&self) {
        for flag in self.flags.lock().values() {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

/// Cancels the statements running on a [`Database`](crate::Database) from any thread (as
/// rusqlite's `InterruptHandle`). Returned by
/// [`Database::interrupt_handle`](crate::Database::interrupt_handle); cheap to clone; it does
/// not keep the database open.
///
/// ```no_run
/// # use vectable::{Database, Error, InterruptReason};
/// # let db = Database::open("./data")?;
/// let handle = db.interrupt_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(1));
///     handle.interrupt();
/// });
/// match db.query("SELECT count(*) FROM big WHERE body LIKE '%needle%'", ()) {
///     Err(Error::Interrupted { reason: InterruptReason::Interrupt }) => println!("cancelled"),
///     other => println!("{:?}", other.map(|rows| rows.len())),
/// }
/// # Ok::<(), vectable::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct InterruptHandle {
    pub(crate) running: Arc<Running>,
}

impl InterruptHandle {
    /// Cancels every statement running at this moment on the database (and its clones): each
    /// stops at its next check (within about 1,024 rows or one chunk of an index build) and
    /// returns [`Error::Interrupted`] with [`InterruptReason::Interrupt`], having written
    /// nothing. Statements that start after this call are not affected. Does nothing when no
    /// statement is running or the database is closed.
    pub fn interrupt(&self) {
        self.running.interrupt_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_postgresql_does() {
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(parse_duration("0"), ms(0));
        assert_eq!(parse_duration("250"), ms(250));
        assert_eq!(parse_duration("250ms"), ms(250));
        assert_eq!(parse_duration("5s"), ms(5_000));
        assert_eq!(parse_duration(" 1.5 s "), ms(1_500));
        assert_eq!(parse_duration("2min"), ms(120_000));
        assert_eq!(parse_duration("1h"), ms(3_600_000));
        for bad in [
            "",
            "s",
            "five",
            "5 sec",
            "-1",
            "5d",
            "1e9h",
            ".",
            "99999999999",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_print_in_their_largest_whole_unit() {
        let f = |ms| format_duration(Duration::from_millis(ms));
        assert_eq!(f(0), "0");
        assert_eq!(f(250), "250ms");
        assert_eq!(f(5_000), "5s");
        assert_eq!(f(1_500), "1500ms");
        assert_eq!(f(120_000), "2min");
        assert_eq!(f(7_200_000), "2h");
    }

    #[test]
    fn interrupt_reaches_running_statements_only() {
        let running = Arc::new(Running::default());
        let handle = InterruptHandle {
            running: running.clone(),
        };
        let first = running.start(Duration::ZERO);
        assert!(first.check().is_ok());
        handle.interrupt();
        assert!(matches!(
            first.check(),
            Err(Error::Interrupted {
                reason: InterruptReason::Interrupt
            })
        ));
        let later = running.start(Duration::ZERO);
        assert!(later.check().is_ok());
        drop(first);
        drop(later);
        assert!(running.flags.lock().is_empty());
    }

    #[test]
    fn a_passed_deadline_is_a_timeout() {
        let running = Arc::new(Running::default());
        let t = Duration::from_nanos(1);
        let guard = running.start(t);
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(
            guard.check(),
            Err(Error::Interrupted {
                reason: InterruptReason::Timeout(d)
            }) if d == t
        ));
        // The first tick checks fully; the next 1,023 only count.
        assert!(guard.tick().is_err());
        assert!(guard.tick().is_ok());
    }
}
