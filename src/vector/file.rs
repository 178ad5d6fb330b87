//! The index file format: what vectable appends to USearch's file (the unreachable list and
//! the save stamp with its CRC-32), the fingerprint the catalog records, and the temporary
//! files of saves.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::check::{self, STAMP_MAGIC_CRC, STAMP_MAGIC_V4};
use crate::catalog::IndexMeta;

/// CRC-32 over the file size and the first and last 4 KiB of the file.
pub(super) fn fingerprint(path: &Path) -> std::io::Result<(u64, u32)> {
    let mut f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    let mut buf = vec![0u8; 4096.min(len as usize)];
    f.read_exact(&mut buf)?;
    h.update(&buf);
    if len > 4096 {
        let tail = 4096.min(len - 4096);
        f.seek(SeekFrom::Start(len - tail))?;
        let mut buf = vec![0u8; tail as usize];
        f.read_exact(&mut buf)?;
        h.update(&buf);
    }
    Ok((len, h.finalize()))
}

/// What vectable keeps in an index file besides USearch's graph (see [`append_save_stamp`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Trailer {
    /// Labels of vectors no graph search can reach (see [`super::repair`]), sorted.
    pub unreachable: Vec<u64>,
    /// Labels of vectors in the file that are deleted or superseded (see [`super::live`]).
    pub tombstones: Vec<u64>,
    /// `(rowid, label)` of every row whose current vector's label is not its rowid.
    pub relabeled: Vec<(u64, u64)>,
}

/// Appends the trailer that makes every save's file unique and checkable, then a 48-byte
/// stamp. USearch reads files by their own lengths and ignores the trailing bytes.
///
/// The trailer (magic `vectabl4`) is `n` little-endian u64 words: the unreachable labels,
/// the tombstoned labels, the `(rowid, label)` pairs of relabeled rows, then the three
/// counts. The stamp is: `n` (u64), the magic, the table id, the column, the table sequence
/// (u64 each), a 32-bit nonce, and the CRC-32 of every byte of the file before it (all
/// little-endian). The fingerprint in the catalog covers only the ends of the file; with the
/// stamp in the last 4 KiB, a file from another save or another index never matches the
/// catalog, even when it differs from the current one only in the middle. The CRC lets
/// [`check`] find damage anywhere in the file.
///
/// Older stamps still read: `vectabl3` (the `n` words are the unreachable labels only),
/// `vectabl2` (as `vectabl3` with a 64-bit nonce and no CRC) and `vectable` (no list).
pub(super) fn append_save_stamp(
    path: &Path,
    meta: &IndexMeta,
    seq: u64,
    trailer: &Trailer,
) -> std::io::Result<()> {
    use std::io::Write;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ (u64::from(std::process::id()) << 32);
    let nonce = (nonce ^ (nonce >> 32)) as u32;
    let mut words: Vec<u64> = Vec::with_capacity(
        trailer.unreachable.len() + trailer.tombstones.len() + 2 * trailer.relabeled.len() + 3,
    );
    words.extend(&trailer.unreachable);
    words.extend(&trailer.tombstones);
    for (rowid, label) in &trailer.relabeled {
        words.push(*rowid);
        words.push(*label);
    }
    words.push(trailer.unreachable.len() as u64);
    words.push(trailer.tombstones.len() as u64);
    words.push(trailer.relabeled.len() as u64);
    let mut stamp = Vec::with_capacity(48 + 8 * words.len());
    for w in &words {
        stamp.extend_from_slice(&w.to_le_bytes());
    }
    stamp.extend_from_slice(&(words.len() as u64).to_le_bytes());
    stamp.extend_from_slice(STAMP_MAGIC_V4);
    stamp.extend_from_slice(&meta.table_id.to_le_bytes());
    stamp.extend_from_slice(&(meta.column_index as u64).to_le_bytes());
    stamp.extend_from_slice(&seq.to_le_bytes());
    stamp.extend_from_slice(&nonce.to_le_bytes());
    let mut f = fs::OpenOptions::new().read(true).append(true).open(path)?;
    let len = f.metadata()?.len();
    let mut h = crc32fast::Hasher::new();
    check::crc_prefix(&mut f, len, &mut h, &AtomicBool::new(false))?;
    h.update(&stamp);
    stamp.extend_from_slice(&h.finalize().to_le_bytes());
    f.write_all(&stamp)
}

/// The first 8 bytes of the stamp of a file whose trailer lists unreachable vectors, without
/// a checksum (files saved before [`STAMP_MAGIC_CRC`]).
const STAMP_MAGIC: &[u8; 8] = b"vectabl2";

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// The trailer of a saved index file (see [`append_save_stamp`]); empty for a file saved
/// before trailers existed, the unreachable list only for `vectabl2`/`vectabl3` files.
///
/// # Errors
/// I/O errors, and `InvalidData` when the counts disagree with the file's length.
pub(super) fn read_trailer(path: &Path) -> std::io::Result<Trailer> {
    let mut f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len < 48 {
        return Ok(Trailer::default());
    }
    let mut tail = [0u8; 48];
    f.seek(SeekFrom::Start(len - 48))?;
    f.read_exact(&mut tail)?;
    let magic = &tail[8..16];
    if magic != STAMP_MAGIC && magic != STAMP_MAGIC_CRC && magic != STAMP_MAGIC_V4 {
        return Ok(Trailer::default());
    }
    let n = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
    if n.checked_mul(8).is_none_or(|b| b > len - 48) {
        return Err(invalid(format!(
            "trailer lists {n} words, more than the file holds"
        )));
    }
    let mut bytes = vec![0u8; n as usize * 8];
    f.seek(SeekFrom::Start(len - 48 - 8 * n))?;
    f.read_exact(&mut bytes)?;
    let words: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    if magic != STAMP_MAGIC_V4 {
        return Ok(Trailer {
            unreachable: words,
            ..Trailer::default()
        });
    }
    let Some([n1, n2, n3]) = words.len().checked_sub(3).map(|at| {
        [words[at], words[at + 1], words[at + 2]].map(|w| usize::try_from(w).unwrap_or(usize::MAX))
    }) else {
        return Err(invalid("trailer too short for its counts".into()));
    };
    let body = words.len() - 3;
    if n1
        .checked_add(n2)
        .and_then(|s| s.checked_add(n3.checked_mul(2)?))
        != Some(body)
    {
        return Err(invalid(format!(
            "trailer counts ({n1} unreachable, {n2} tombstones, {n3} relabeled) disagree with its {body} words"
        )));
    }
    Ok(Trailer {
        unreachable: words[..n1].to_vec(),
        tombstones: words[n1..n1 + n2].to_vec(),
        relabeled: words[n1 + n2..body]
            .chunks_exact(2)
            .map(|p| (p[0], p[1]))
            .collect(),
    })
}

/// How many tombstones the trailer of a saved index file lists, from its last 72 bytes (0 for
/// a file saved before tombstones, or one that cannot be read).
pub(super) fn tombstone_count(path: &Path) -> u64 {
    let read = || -> std::io::Result<u64> {
        let mut f = fs::File::open(path)?;
        let len = f.metadata()?.len();
        if len < 72 {
            return Ok(0);
        }
        let mut tail = [0u8; 72];
        f.seek(SeekFrom::Start(len - 72))?;
        f.read_exact(&mut tail)?;
        if &tail[32..40] != STAMP_MAGIC_V4 {
            return Ok(0);
        }
        Ok(u64::from_le_bytes(tail[8..16].try_into().expect("8 bytes")))
    };
    read().unwrap_or(0)
}

/// Removes the temporary files (`.tmp-*.usearch`) of saves that a killed process left behind
/// in the vectors directory. Runs when the database is opened, after its lock is taken, so no
/// other process can be writing them; table and column names cannot start with a dot, so no
/// index file matches.
pub(super) fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".tmp-") && name.ends_with(".usearch") {
            match fs::remove_file(entry.path()) {
                Ok(()) => log::info!("removed {name}, left by an interrupted index save"),
                Err(e) => {
                    log::warn!("cannot remove {name}, left by an interrupted index save: {e}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{HnswParams, Metric};
    use crate::vector::repair::tests::{empty_index, parallel_index};

    /// The meta of an 8-d L2 index `t_v_hnsw` on column 0 of table 1, for stamp tests.
    fn test_meta() -> IndexMeta {
        IndexMeta {
            name: "t_v_hnsw".into(),
            table_id: 1,
            table: "t".into(),
            column: "v".into(),
            column_index: 0,
            dims: 8,
            params: HnswParams::with_metric(Metric::L2),
            explicit: false,
            saved: None,
        }
    }

    /// The unreachable keys, tombstones and relabeled rows survive a save (the file's trailer), and files saved before the
    /// trailer existed read as having none.
    #[test]
    fn the_unreachable_list_round_trips_through_the_file_trailer() {
        let dir = tempfile::tempdir().unwrap();
        let (index, keys, _) = parallel_index(5, 50);
        let meta = test_meta();
        for list in [vec![], vec![keys[3]], vec![keys[1], keys[7], keys[40]]] {
            let path = dir.path().join("t.usearch");
            index.save(path.to_str().unwrap()).unwrap();
            let trailer = Trailer {
                tombstones: list.iter().map(|k| k + 1).collect(),
                relabeled: list.iter().map(|k| (k + 2, k + 2 + (1 << 48))).collect(),
                unreachable: list,
            };
            append_save_stamp(&path, &meta, 9, &trailer).unwrap();
            assert_eq!(read_trailer(&path).unwrap(), trailer);
            assert_eq!(tombstone_count(&path), trailer.tombstones.len() as u64);
            let view = empty_index();
            view.view(path.to_str().unwrap()).unwrap();
            assert_eq!(view.size(), 50);
        }
        // The stamp of a file saved by vectable 0.1 / layout 2 before the list: no trailer.
        let path = dir.path().join("old.usearch");
        index.save(path.to_str().unwrap()).unwrap();
        let mut old = std::fs::read(&path).unwrap();
        old.extend_from_slice(b"vectable");
        old.extend_from_slice(&[7u8; 32]);
        std::fs::write(&path, &old).unwrap();
        assert_eq!(read_trailer(&path).unwrap(), Trailer::default());
        // A damaged count is an error, not a huge allocation.
        let mut bad = std::fs::read(dir.path().join("t.usearch")).unwrap();
        let at = bad.len() - 48;
        bad[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&path, &bad).unwrap();
        assert!(read_trailer(&path).is_err());
    }

    /// The CRC at the end of a saved file catches a byte flipped anywhere, also far from the
    /// 4 KiB ends the fingerprint covers; a file with a `vectabl2` stamp has no checksum.
    #[test]
    fn the_stamp_checksum_covers_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let (index, _, _) = parallel_index(7, 2000);
        let meta = test_meta();
        let path = dir.path().join("t.usearch");
        index.save(path.to_str().unwrap()).unwrap();
        append_save_stamp(
            &path,
            &meta,
            3,
            &Trailer {
                unreachable: vec![1007],
                ..Trailer::default()
            },
        )
        .unwrap();
        let stop = AtomicBool::new(false);
        let verify = |p: &Path| check::verify(&mut fs::File::open(p).unwrap(), &stop).unwrap();
        assert_eq!(verify(&path), Some(true));
        assert_eq!(read_trailer(&path).unwrap().unreachable, vec![1007]);
        let good = fs::read(&path).unwrap();
        assert!(good.len() > 3 * 4096, "{}", good.len());
        let before = fingerprint(&path).unwrap();
        for at in [
            good.len() / 2,
            4096 + 17,
            good.len() - 4096 - 1,
            good.len() - 1,
        ] {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            fs::write(&path, &bad).unwrap();
            assert_eq!(verify(&path), Some(false), "byte {at} of {}", good.len());
        }
        // A middle byte: the fingerprint does not see it, the checksum does.
        let mut bad = good.clone();
        bad[good.len() / 2] ^= 0x01;
        fs::write(&path, &bad).unwrap();
        assert_eq!(fingerprint(&path).unwrap(), before);
        // A file saved with the older stamp has no checksum to compare.
        // (`vectabl2`: the unreachable labels alone before the stamp.)
        let usearch_len = good.len() - 48 - 8 * 4;
        let mut old = good[..usearch_len].to_vec();
        old.extend_from_slice(&1007u64.to_le_bytes());
        old.extend_from_slice(&1u64.to_le_bytes());
        old.extend_from_slice(STAMP_MAGIC);
        old.extend_from_slice(&good[good.len() - 32..]);
        fs::write(&path, &old).unwrap();
        assert_eq!(verify(&path), None);
        assert_eq!(read_trailer(&path).unwrap().unreachable, vec![1007]);
    }
}
