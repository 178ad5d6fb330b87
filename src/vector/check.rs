//! The whole-file checksum of saved index files, verified in the background after a file is
//! mapped or loaded.
//!
//! Opening an index checks only the file's size, a CRC of its first and last 4 KiB and the
//! USearch header against the catalog, so that startup does not read the whole file. A file
//! damaged in its middle passes those checks. Every save therefore also ends the file with a
//! CRC-32 of all its bytes before it (the last 4 bytes of the stamp, see
//! `append_save_stamp`), and a thread started when the file is mapped or loaded reads the
//! file once and compares. Until it has finished, queries are answered from the file as
//! mapped; on a mismatch it logs a warning and marks the index [`FileCheck::Failed`], and the
//! next query that needs the index drops it and rebuilds it from the rows.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

/// The state of the whole-file checksum check of an index that came from its file
/// (see [`IndexStatus::file_check`](crate::IndexStatus::file_check)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileCheck {
    /// Nothing to check: the index is not in memory, or it was built from rows in this
    /// process.
    NotApplicable,
    /// A background thread is reading the file; queries are answered from the file as mapped
    /// meanwhile.
    Pending,
    /// The file matches the CRC-32 recorded when it was saved.
    Passed,
    /// The file was saved before vectable recorded a whole-file checksum: only its size, its
    /// first and last 4 KiB and its header were checked. Its next save adds the checksum.
    NoChecksum,
    /// The file does not match its checksum: the next query that needs the index rebuilds it
    /// from the rows (a warning is logged).
    Failed {
        /// What was found.
        reason: String,
    },
}

impl fmt::Display for FileCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileCheck::NotApplicable => f.write_str("-"),
            FileCheck::Pending => f.write_str("checking"),
            FileCheck::Passed => f.write_str("passed"),
            FileCheck::NoChecksum => f.write_str("no checksum"),
            FileCheck::Failed { reason } => write!(f, "failed ({reason})"),
        }
    }
}

/// The check of one index, shared by the checking thread and the index in memory.
pub(crate) struct CheckState {
    result: Mutex<FileCheck>,
    done: Condvar,
}

impl CheckState {
    pub fn new(initial: FileCheck) -> Arc<Self> {
        Arc::new(CheckState {
            result: Mutex::new(initial),
            done: Condvar::new(),
        })
    }

    /// The current state.
    pub fn get(&self) -> FileCheck {
        self.result.lock().clone()
    }

    /// The reason of a failed check, if it failed.
    pub fn failure(&self) -> Option<String> {
        match &*self.result.lock() {
            FileCheck::Failed { reason } => Some(reason.clone()),
            _ => None,
        }
    }

    /// Blocks while the check is pending; returns the outcome.
    pub fn wait(&self) -> FileCheck {
        let mut r = self.result.lock();
        while *r == FileCheck::Pending {
            self.done.wait(&mut r);
        }
        r.clone()
    }

    fn finish(&self, outcome: FileCheck) {
        *self.result.lock() = outcome;
        self.done.notify_all();
    }
}

/// The first 8 bytes of the stamp of a file whose last 4 bytes are the CRC-32 of every byte
/// before them (and whose trailer lists unreachable vectors, as with `vectabl2`).
pub(crate) const STAMP_MAGIC_CRC: &[u8; 8] = b"vectabl3";

/// The magic of the current stamp: as [`STAMP_MAGIC_CRC`], with tombstones and relabeled rows
/// in the trailer (see `file::append_save_stamp`).
pub(crate) const STAMP_MAGIC_V4: &[u8; 8] = b"vectabl4";

/// Bytes read per call while checksumming.
const CHUNK: usize = 1 << 20;

/// Feeds bytes `[0, len)` of `f` to `h`, asking `stop` between 1 MiB reads.
pub(crate) fn crc_prefix(
    f: &mut File,
    len: u64,
    h: &mut crc32fast::Hasher,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    f.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; CHUNK.min(len as usize).max(1)];
    let mut left = len;
    while left > 0 {
        if stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "the database is closing",
            ));
        }
        let n = (left as usize).min(buf.len());
        f.read_exact(&mut buf[..n])?;
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

/// Compares a saved index file with the CRC-32 at its end: `Ok(None)` when the file's stamp
/// does not start with [`STAMP_MAGIC_CRC`] (saved before checksums existed), else whether
/// the CRC-32 of every byte but the last 4 equals the last 4 (little-endian).
pub(crate) fn verify(f: &mut File, stop: &AtomicBool) -> std::io::Result<Option<bool>> {
    let len = f.metadata()?.len();
    if len < 48 {
        return Ok(None);
    }
    let mut tail = [0u8; 48];
    f.seek(SeekFrom::Start(len - 48))?;
    f.read_exact(&mut tail)?;
    if &tail[8..16] != STAMP_MAGIC_CRC && &tail[8..16] != STAMP_MAGIC_V4 {
        return Ok(None);
    }
    let recorded = u32::from_le_bytes(tail[44..48].try_into().expect("4 bytes"));
    let mut h = crc32fast::Hasher::new();
    crc_prefix(f, len - 4, &mut h, stop)?;
    Ok(Some(h.finalize() == recorded))
}

/// Starts the background check of `file` (the file as it was mapped or loaded, opened before
/// that) for the index `name`; returns its state, [`FileCheck::Pending`] until it finishes.
/// `stop` ends it early (the database is closing; the state is then `NotApplicable`).
pub(crate) fn spawn(
    name: String,
    path: PathBuf,
    mut file: File,
    stop: Arc<AtomicBool>,
) -> Arc<CheckState> {
    let state = CheckState::new(FileCheck::Pending);
    let shared = state.clone();
    let started = std::thread::Builder::new()
        .name("vectable-check".to_string())
        .spawn(move || {
            let t = std::time::Instant::now();
            let outcome = match verify(&mut file, &stop) {
                Ok(Some(true)) => {
                    log::debug!(
                        "vector index {name}: {} matches its checksum ({} ms)",
                        path.display(),
                        t.elapsed().as_millis()
                    );
                    FileCheck::Passed
                }
                Ok(None) => FileCheck::NoChecksum,
                Ok(Some(false)) => FileCheck::Failed {
                    reason: "file does not match its checksum (CRC-32 of the whole file): \
                             damaged after it was saved"
                        .to_string(),
                },
                // Closing: nobody will ask any more, but do not leave a waiter blocked.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => FileCheck::NotApplicable,
                Err(e) => FileCheck::Failed {
                    reason: format!("cannot read the file to verify its checksum: {e}"),
                },
            };
            if let FileCheck::Failed { reason } = &outcome {
                log::warn!(
                    "vector index {name}: {} {reason}; the next query that needs the index \
                     rebuilds it from rows",
                    path.display()
                );
            }
            shared.finish(outcome);
        });
    if let Err(e) = started {
        // The rows are the truth: without a check, rebuild rather than trust the file.
        state.finish(FileCheck::Failed {
            reason: format!("cannot start the checksum check: {e}"),
        });
    }
    state
}
