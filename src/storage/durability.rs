//! [`Synchronous`]: how hard a statement's commit pushes its writes to the disk (`SET
//! synchronous`, [`Options::synchronous`](crate::Options::synchronous)), after SQLite's
//! `PRAGMA synchronous`.

use crate::error::{Error, Result};

/// How durable a committed statement is: whether its commit waits for the disk (`fsync`).
///
/// Every level writes RocksDB's write-ahead log (WAL) before a statement returns, so a
/// crash of the process (a panic, SIGKILL, OOM kill) never loses an acknowledged statement.
/// The levels differ in what survives a crash of the machine (power loss, kernel panic):
///
/// | level | at each statement's commit | after a power loss |
/// |---|---|---|
/// | [`Full`](Synchronous::Full) (default) | the WAL is fsynced | every acknowledged statement is there |
/// | [`Normal`](Synchronous::Normal) | the WAL is written, the OS syncs it later | the last statements (those of the last seconds) may be lost; the database is consistent |
/// | [`Off`](Synchronous::Off) | as `Normal`, and index saves do not fsync either | as `Normal`, and an index file may be lost or torn: it is rebuilt from rows |
///
/// A statement is atomic at every level: after any crash it is wholly there or wholly absent.
/// `CHECKPOINT` flushes RocksDB's memtables to synced table files at every level, so the rows
/// of statements before it survive a power loss even under `Normal` or `Off`; so does closing
/// the database (dropping its last handle).
///
/// The names and numbers are SQLite's: `SET synchronous = full | normal | off`, or `2 | 1 |
/// 0`. The default is `Full`, as in SQLite and PostgreSQL (`synchronous_commit = on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// Each statement's commit syncs the WAL (`fdatasync`) before it returns (SQLite 2).
    #[default]
    Full,
    /// The WAL is written at each commit but not synced (SQLite 1).
    Normal,
    /// Nothing is synced at commits or index saves: for bulk loads (SQLite 0).
    Off,
}

impl Synchronous {
    /// Parses `full`, `normal` or `off` (any case), or SQLite's numbers `2`, `1`, `0`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the value for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" | "2" => Ok(Self::Full),
            "normal" | "1" => Ok(Self::Normal),
            "off" | "0" => Ok(Self::Off),
            _ => Err(Error::invalid(format!(
                "invalid value for synchronous: {s:?}; use full, normal or off (or 2, 1, 0)"
            ))),
        }
    }

    /// The level as stored in an atomic (SQLite's number).
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Full => 2,
            Self::Normal => 1,
            Self::Off => 0,
        }
    }

    /// The inverse of [`Synchronous::code`].
    pub(crate) fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Off,
            1 => Self::Normal,
            _ => Self::Full,
        }
    }

    /// True when a statement's commit syncs the WAL.
    pub(crate) fn syncs_commits(self) -> bool {
        self == Self::Full
    }

    /// True when saving an index file syncs it and its directory.
    pub(crate) fn syncs_index_files(self) -> bool {
        self != Self::Off
    }
}

impl std::fmt::Display for Synchronous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Full => "full",
            Self::Normal => "normal",
            Self::Off => "off",
        })
    }
}

/// How one commit of [`Store::write_with`](super::Store::write_with) treats the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// As the store's [`Synchronous`] level says: synced under `Full`. What every statement's
    /// last (or only) commit uses.
    Statement,
    /// Written to the WAL, not synced, whatever the level: an intermediate batch of a
    /// statement that commits several; its last commit ([`Durability::Statement`]) syncs
    /// them all, since syncing the WAL syncs everything written before.
    Deferred,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        for (text, want) in [
            ("full", Synchronous::Full),
            ("FULL", Synchronous::Full),
            ("2", Synchronous::Full),
            ("Normal", Synchronous::Normal),
            ("1", Synchronous::Normal),
            ("off", Synchronous::Off),
            ("0", Synchronous::Off),
        ] {
            assert_eq!(Synchronous::parse(text).unwrap(), want, "{text}");
            assert_eq!(Synchronous::from_code(want.code()), want);
            assert_eq!(Synchronous::parse(&want.to_string()).unwrap(), want);
        }
        for bad in ["extra", "3", "-1", "on", "", "fullest"] {
            let e = Synchronous::parse(bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(m) if m.contains(&format!("{bad:?}"))),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn only_full_syncs_commits_and_only_off_skips_index_syncs() {
        assert!(Synchronous::Full.syncs_commits());
        assert!(!Synchronous::Normal.syncs_commits());
        assert!(!Synchronous::Off.syncs_commits());
        assert!(Synchronous::Normal.syncs_index_files());
        assert!(!Synchronous::Off.syncs_index_files());
    }
}
