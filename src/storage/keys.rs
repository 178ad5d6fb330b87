//! Key and value encodings of the column families.
//!
//! All integers in keys are big-endian so that RocksDB's byte order is numeric order:
//! a table's rows are one contiguous, rowid-ordered range under its 8-byte table id, a vector
//! column's values one rowid-ordered range under `table id ‖ column`, and a column's change
//! log one seq-ordered range. Every stored *value* starts with a version byte: catalog records
//! and change-log entries [`FORMAT_VERSION`] (1), followed by the bincode 2 (`standard`
//! config) encoding of the record; rows [`ROW_FORMAT`] (2), the same encoding with every
//! vector column stored as NULL (the vectors live in their own column family, see
//! [`vector_key`]). Secondary-index keys use the order-preserving encoding of
//! [`encode_index_value`]. The catalog's keys and records are defined in
//! [`super::catalog`], nowhere else.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, Result};
use crate::value::Value;

/// Version byte prefixed to every stored catalog record and change-log entry.
pub const FORMAT_VERSION: u8 = 1;

/// Version byte of a row in layout 2: bincode of the row with its vector columns as NULL.
/// (Layout 1 rows carried their vectors inline under version byte 1; they are migrated on
/// open, see `storage::migrate`.)
pub const ROW_FORMAT: u8 = 2;

/// Version byte of a stored vector: `2 ‖ little-endian f32s`.
pub const VECTOR_FORMAT: u8 = 2;

/// `version byte ‖ bincode(value)`.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut out = vec![FORMAT_VERSION];
    bincode::serde::encode_into_std_write(value, &mut out, bincode::config::standard())
        .map_err(|e| Error::Corrupt(format!("cannot encode record: {e}")))?;
    Ok(out)
}

/// Inverse of [`encode`]; `what` names the record in the error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    match bytes.split_first() {
        Some((&FORMAT_VERSION, rest)) => {
            let (v, _) = bincode::serde::decode_from_slice(rest, bincode::config::standard())
                .map_err(|e| Error::Corrupt(format!("{what}: {e}")))?;
            Ok(v)
        }
        Some((v, _)) => Err(Error::Corrupt(format!(
            "{what}: unknown format version {v}"
        ))),
        None => Err(Error::Corrupt(format!("{what}: empty value"))),
    }
}

/// Decodes a stored row, materialising only the columns whose `columns[i]` is true (the
/// others are `Value::Null`); `None` decodes every column. Skipping is cheap: a vector is one
/// length-prefixed byte string, so an unread vector column costs a length read.
///
/// This mirrors bincode 2's `standard()` encoding of `Vec<Value>` (varint lengths and enum
/// tags, zig-zag varint integers, little-endian floats); the round-trip test below keeps the
/// two in step.
pub fn decode_row(bytes: &[u8], columns: Option<&[bool]>) -> Result<Vec<Value>> {
    decode_row_as(ROW_FORMAT, bytes, columns)
}

/// `ROW_FORMAT ‖ bincode(row)`; the caller has replaced vector values by NULL.
pub fn encode_row(row: &[Value]) -> Result<Vec<u8>> {
    let mut out = vec![ROW_FORMAT];
    bincode::serde::encode_into_std_write(row, &mut out, bincode::config::standard())
        .map_err(|e| Error::Corrupt(format!("cannot encode row: {e}")))?;
    Ok(out)
}

/// [`decode_row`] for a row stored under version byte `version` (1: a layout-1 row with its
/// vectors inline, read only by the migration).
pub fn decode_row_as(version: u8, bytes: &[u8], columns: Option<&[bool]>) -> Result<Vec<Value>> {
    let bad = || Error::Corrupt("row: truncated or malformed".into());
    let mut r = match bytes.split_first() {
        Some((&v, rest)) if v == version => Reader(rest),
        Some((&1, _)) => {
            return Err(Error::Corrupt(
                "row of storage layout 1 (vectors inline) in a layout-2 database".into(),
            ))
        }
        Some((v, _)) => return Err(Error::Corrupt(format!("row: unknown format version {v}"))),
        None => return Err(bad()),
    };
    let n = usize::try_from(r.varint().ok_or_else(bad)?).map_err(|_| bad())?;
    let mut out = Vec::with_capacity(n.min(4096));
    for i in 0..n {
        let want = columns.is_none_or(|c| c.get(i).copied().unwrap_or(false));
        let v = match r.varint().ok_or_else(bad)? {
            0 => Value::Null,
            1 => {
                let z = r.varint().ok_or_else(bad)?;
                Value::Integer(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            2 => Value::Real(f64::from_le_bytes(
                r.take(8).ok_or_else(bad)?.try_into().map_err(|_| bad())?,
            )),
            3 => {
                let len = usize::try_from(r.varint().ok_or_else(bad)?).map_err(|_| bad())?;
                let b = r.take(len).ok_or_else(bad)?;
                if want {
                    Value::Text(String::from_utf8(b.to_vec()).map_err(|_| bad())?)
                } else {
                    Value::Null
                }
            }
            4 => Value::Boolean(r.take(1).ok_or_else(bad)?[0] != 0),
            5 => {
                let len = usize::try_from(r.varint().ok_or_else(bad)?).map_err(|_| bad())?;
                let b = r.take(len).ok_or_else(bad)?;
                if want {
                    if !len.is_multiple_of(4) {
                        return Err(bad());
                    }
                    Value::Vector(
                        b.chunks_exact(4)
                            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                            .collect(),
                    )
                } else {
                    Value::Null
                }
            }
            _ => return Err(bad()),
        };
        out.push(if want { v } else { Value::Null });
    }
    Ok(out)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    /// bincode's varint: one byte below 251, else a marker (251: u16, 252: u32, 253: u64)
    /// followed by the little-endian value.
    fn varint(&mut self) -> Option<u64> {
        let b = self.take(1)?[0];
        Some(match b {
            0..=250 => u64::from(b),
            251 => u64::from(u16::from_le_bytes(self.take(2)?.try_into().ok()?)),
            252 => u64::from(u32::from_le_bytes(self.take(4)?.try_into().ok()?)),
            253 => u64::from_le_bytes(self.take(8)?.try_into().ok()?),
            _ => return None,
        })
    }
}

/// `table id ‖ rowid` (16 bytes).
pub fn row_key(table_id: u64, rowid: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&table_id.to_be_bytes());
    k[8..].copy_from_slice(&rowid.to_be_bytes());
    k
}

/// The rowid of a row key.
pub fn rowid_of(key: &[u8]) -> Result<u64> {
    key.get(8..16)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::Corrupt(format!("row key of {} bytes", key.len())))
}

/// `[table id, table id + 1)` as 8-byte prefixes: the range of everything a table owns in a
/// column family keyed by table id first.
pub fn table_range(table_id: u64) -> ([u8; 8], [u8; 8]) {
    (table_id.to_be_bytes(), (table_id + 1).to_be_bytes())
}

/// Primary-key index key: `table id ‖ tag ‖ key bytes`. Integers are tagged 1 and stored with
/// the sign bit flipped (so they sort numerically); text is tagged 2 and stored as UTF-8.
pub fn pk_key(table_id: u64, key: &Value) -> Option<Vec<u8>> {
    let mut k = table_id.to_be_bytes().to_vec();
    match key {
        Value::Integer(i) => {
            k.push(1);
            k.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Text(s) => {
            k.push(2);
            k.extend_from_slice(s.as_bytes());
        }
        _ => return None,
    }
    Some(k)
}

/// Change-log key: `table id ‖ column (u32) ‖ seq (u64)` (20 bytes).
pub fn change_key(table_id: u64, column: usize, seq: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&table_id.to_be_bytes());
    k[8..12].copy_from_slice(&(column as u32).to_be_bytes());
    k[12..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Vector key: `table id ‖ column (u32) ‖ rowid` (20 bytes), so one vector column of one
/// table is a contiguous, rowid-ordered range.
pub fn vector_key(table_id: u64, column: usize, rowid: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&table_id.to_be_bytes());
    k[8..12].copy_from_slice(&(column as u32).to_be_bytes());
    k[12..].copy_from_slice(&rowid.to_be_bytes());
    k
}

/// `[table id ‖ column, table id ‖ column + 1)`: the range of one vector column.
pub fn vector_column_range(table_id: u64, column: usize) -> ([u8; 12], [u8; 12]) {
    let mut a = [0u8; 12];
    a[..8].copy_from_slice(&table_id.to_be_bytes());
    a[8..].copy_from_slice(&(column as u32).to_be_bytes());
    let mut b = a;
    b[8..].copy_from_slice(&(column as u32 + 1).to_be_bytes());
    (a, b)
}

/// `VECTOR_FORMAT ‖ little-endian f32s`.
pub fn encode_vector(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + v.len() * 4);
    out.push(VECTOR_FORMAT);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Inverse of [`encode_vector`].
pub fn decode_vector(bytes: &[u8]) -> Result<Vec<f32>> {
    match bytes.split_first() {
        Some((&VECTOR_FORMAT, rest)) if rest.len() % 4 == 0 => Ok(rest
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()),
        _ => Err(Error::Corrupt("stored vector: malformed".into())),
    }
}

/// Secondary-index key prefix: `table id ‖ index id (u32)`.
pub fn sindex_prefix(table_id: u64, index_id: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&table_id.to_be_bytes());
    k[8..].copy_from_slice(&index_id.to_be_bytes());
    k
}

/// Type tags of the order-preserving encoding; NULL sorts after every value, so an
/// ascending index scan yields NULLs last, as PostgreSQL's `ORDER BY … ASC` does.
pub const TAG_BOOL: u8 = 0x10;
/// Integers (sign bit flipped, big-endian).
pub const TAG_INT: u8 = 0x20;
/// Reals (IEEE bits, order-flipped).
pub const TAG_REAL: u8 = 0x30;
/// Text (0x00 escaped as 0x00 0xFF, terminated by 0x00 0x00).
pub const TAG_TEXT: u8 = 0x40;
/// NULL.
pub const TAG_NULL: u8 = 0xF0;

/// Appends the order-preserving encoding of `v` to `out`: for two values `a`, `b` of one
/// column type, `enc(a) < enc(b)` bytewise iff `a.total_cmp(b)` is `Less`, and no encoding
/// is a prefix of another (so the encodings of several columns concatenate). `-0.0` encodes
/// as `0.0` (they compare equal).
///
/// Returns `None` for a vector (not indexable by a B-tree).
pub fn encode_index_value(v: &Value, out: &mut Vec<u8>) -> Option<()> {
    match v {
        Value::Null => out.push(TAG_NULL),
        Value::Boolean(b) => {
            out.push(TAG_BOOL);
            out.push(u8::from(*b));
        }
        Value::Integer(i) => {
            out.push(TAG_INT);
            out.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Real(r) => {
            out.push(TAG_REAL);
            // -0.0 and 0.0 compare equal; otherwise the order is f64::total_cmp's, as in
            // `Value::total_cmp` (-NaN first, NaN last).
            let r = if *r == 0.0 { 0.0 } else { *r };
            let bits = r.to_bits();
            let ordered = if bits >> 63 == 0 {
                bits ^ (1 << 63)
            } else {
                !bits
            };
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        Value::Text(s) => {
            out.push(TAG_TEXT);
            for &b in s.as_bytes() {
                out.push(b);
                if b == 0 {
                    out.push(0xFF);
                }
            }
            out.extend_from_slice(&[0, 0]);
        }
        Value::Vector(_) => return None,
    }
    Some(())
}

/// Full secondary-index key: `prefix ‖ enc(values…) ‖ rowid`.
#[cfg(test)]
pub fn sindex_key(table_id: u64, index_id: u32, values: &[&Value], rowid: u64) -> Option<Vec<u8>> {
    let mut k = sindex_prefix(table_id, index_id).to_vec();
    for v in values {
        encode_index_value(v, &mut k)?;
    }
    k.extend_from_slice(&rowid.to_be_bytes());
    Some(k)
}

/// `prefix ‖ enc(row[c] for c in columns)`: the part of a row's index key before its rowid.
/// `None` when a column holds a vector.
pub fn sindex_values_prefix(
    table_id: u64,
    index_id: u32,
    columns: &[usize],
    row: &[Value],
) -> Option<Vec<u8>> {
    let mut k = sindex_prefix(table_id, index_id).to_vec();
    for &c in columns {
        encode_index_value(row.get(c).unwrap_or(&Value::Null), &mut k)?;
    }
    Some(k)
}

/// The rowid at the end of a secondary-index key.
pub fn sindex_rowid(key: &[u8]) -> Result<u64> {
    key.len()
        .checked_sub(8)
        .filter(|&n| n >= 12)
        .and_then(|n| key[n..].try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::Corrupt(format!("secondary-index key of {} bytes", key.len())))
}

/// The smallest byte string greater than every string that starts with `prefix`
/// (`None` when `prefix` is all 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last < 0xFF {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}

/// The storage layout this build writes: 2 = vectors in their own column family, secondary
/// indexes. (1: vectors inline in the rows.)
pub const LAYOUT_VERSION: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_keys_sort_by_table_then_rowid() {
        let mut keys = vec![
            row_key(2, 1),
            row_key(1, 300),
            row_key(1, 2),
            row_key(1, 256),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                row_key(1, 2),
                row_key(1, 256),
                row_key(1, 300),
                row_key(2, 1)
            ]
        );
        assert_eq!(rowid_of(&row_key(7, 42)).unwrap(), 42);
        assert!(rowid_of(&[1, 2, 3]).is_err());
    }

    #[test]
    fn integer_pk_keys_sort_numerically() {
        let a = pk_key(1, &Value::Integer(-5)).unwrap();
        let b = pk_key(1, &Value::Integer(3)).unwrap();
        let c = pk_key(1, &Value::Integer(i64::MAX)).unwrap();
        assert!(a < b && b < c);
        assert_ne!(
            pk_key(1, &Value::Text("1".into())),
            pk_key(1, &Value::Integer(1))
        );
        assert!(pk_key(1, &Value::Null).is_none());
    }

    #[test]
    fn partial_row_decode_matches_bincode() {
        let long = "x".repeat(70_000);
        let row = vec![
            Value::Integer(-1),
            Value::Integer(i64::MIN),
            Value::Integer(300),
            Value::Real(-2.5),
            Value::Text("héllo".into()),
            Value::Text(long.clone()),
            Value::Boolean(true),
            Value::Null,
            Value::Vector(vec![0.25; 384]),
            Value::Integer(i64::MAX),
        ];
        // Layout 1 (migration input) carried vectors inline under version byte 1.
        let v1 = encode(&row).unwrap();
        assert_eq!(v1[0], 1);
        let all = vec![true; row.len()];
        assert_eq!(decode_row_as(1, &v1, Some(&all)).unwrap(), row);
        assert_eq!(decode_row_as(1, &v1, None).unwrap(), row);
        let bytes = encode_row(&row).unwrap();
        assert_eq!(bytes[0], ROW_FORMAT);
        assert_eq!(decode_row(&bytes, Some(&all)).unwrap(), row);
        let some: Vec<bool> = (0..row.len()).map(|i| i % 2 == 0).collect();
        let got = decode_row(&bytes, Some(&some)).unwrap();
        for (i, v) in got.iter().enumerate() {
            assert_eq!(*v, if some[i] { row[i].clone() } else { Value::Null });
        }
        assert!(decode_row(&bytes[..bytes.len() - 3], Some(&all)).is_err());
        // A layout-1 row is never read as a layout-2 one.
        assert!(matches!(decode_row(&v1, None), Err(Error::Corrupt(_))));
    }

    #[test]
    fn values_round_trip_with_version_byte() {
        let rec = (7u64, String::from("x"));
        let bytes = encode(&rec).unwrap();
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode::<(u64, String)>(&bytes, "rec").unwrap(), rec);
        let mut bad = bytes.clone();
        bad[0] = 9;
        assert!(matches!(
            decode::<(u64, String)>(&bad, "rec"),
            Err(Error::Corrupt(_))
        ));
        assert!(decode::<(u64, String)>(&bytes[..1], "rec").is_err());
        let v = vec![0.5f32, -1.0, f32::MIN_POSITIVE];
        assert_eq!(decode_vector(&encode_vector(&v)).unwrap(), v);
        assert!(decode_vector(&[VECTOR_FORMAT, 1, 2]).is_err());
    }

    #[test]
    fn index_encoding_preserves_order() {
        let enc = |v: &Value| {
            let mut k = Vec::new();
            encode_index_value(v, &mut k).unwrap();
            k
        };
        let groups: Vec<Vec<Value>> = vec![
            [i64::MIN, -300, -1, 0, 1, 255, 256, i64::MAX]
                .map(Value::Integer)
                .to_vec(),
            [
                f64::NEG_INFINITY,
                -1e300,
                -2.5,
                -1e-300,
                0.0,
                1e-300,
                3.0,
                f64::INFINITY,
                f64::NAN,
            ]
            .map(Value::Real)
            .to_vec(),
            ["", "\0", "a", "a\0", "a\0\0", "a\u{1}", "ab", "b", "é"]
                .map(|s| Value::Text(s.to_string()))
                .to_vec(),
            vec![Value::Boolean(false), Value::Boolean(true)],
        ];
        for g in &groups {
            for a in g {
                for b in g {
                    assert_eq!(enc(a).cmp(&enc(b)), a.total_cmp(b), "{a:?} vs {b:?}");
                    // No encoding is a proper prefix of another.
                    if enc(a) != enc(b) {
                        assert!(!enc(b).starts_with(&enc(a)), "{a:?} prefixes {b:?}");
                    }
                }
                // NULL sorts after every value of every type.
                assert!(enc(a) < enc(&Value::Null));
            }
        }
        assert_eq!(enc(&Value::Real(-0.0)), enc(&Value::Real(0.0)));
        let mut k = Vec::new();
        assert!(encode_index_value(&Value::Vector(vec![1.0]), &mut k).is_none());
        assert_eq!(
            sindex_rowid(&sindex_key(1, 2, &[&Value::Integer(5)], 77).unwrap()).unwrap(),
            77
        );
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF]), None);
    }
}
