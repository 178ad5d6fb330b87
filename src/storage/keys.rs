//! Key and value encodings of the column families.
//!
//! All integers in keys are big-endian so that RocksDB's byte order is numeric order:
//! a table's rows are one contiguous, rowid-ordered range under its 8-byte table id, and a
//! column's change log is one seq-ordered range. Every stored *value* starts with
//! [`FORMAT_VERSION`], followed by the bincode 2 (`standard` config) encoding of the record.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, Result};
use crate::value::Value;

/// Version byte prefixed to every stored value.
pub const FORMAT_VERSION: u8 = 1;

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
    let Some(columns) = columns else {
        return decode(bytes, "row");
    };
    let bad = || Error::Corrupt("row: truncated or malformed".into());
    let mut r = match bytes.split_first() {
        Some((&FORMAT_VERSION, rest)) => Reader(rest),
        Some((v, _)) => return Err(Error::Corrupt(format!("row: unknown format version {v}"))),
        None => return Err(bad()),
    };
    let n = usize::try_from(r.varint().ok_or_else(bad)?).map_err(|_| bad())?;
    let mut out = Vec::with_capacity(n.min(4096));
    for i in 0..n {
        let want = columns.get(i).copied().unwrap_or(false);
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

/// Catalog key of a table schema: `"t" ‖ table id`.
pub fn table_key(table_id: u64) -> [u8; 9] {
    let mut k = [b't'; 9];
    k[1..].copy_from_slice(&table_id.to_be_bytes());
    k
}

/// Catalog key of a table's counters (next rowid, change sequence): `"c" ‖ table id`.
pub fn counters_key(table_id: u64) -> [u8; 9] {
    let mut k = [b'c'; 9];
    k[1..].copy_from_slice(&table_id.to_be_bytes());
    k
}

/// Catalog key of a vector index: `"i" ‖ table id ‖ column (u32)`.
pub fn index_key(table_id: u64, column: usize) -> [u8; 13] {
    let mut k = [b'i'; 13];
    k[1..9].copy_from_slice(&table_id.to_be_bytes());
    k[9..].copy_from_slice(&(column as u32).to_be_bytes());
    k
}

/// Catalog key of the next table id.
pub const NEXT_TABLE_ID_KEY: &[u8] = b"next_table_id";

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
        let bytes = encode(&row).unwrap();
        let all = vec![true; row.len()];
        assert_eq!(decode_row(&bytes, Some(&all)).unwrap(), row);
        let some: Vec<bool> = (0..row.len()).map(|i| i % 2 == 0).collect();
        let got = decode_row(&bytes, Some(&some)).unwrap();
        for (i, v) in got.iter().enumerate() {
            assert_eq!(*v, if some[i] { row[i].clone() } else { Value::Null });
        }
        assert!(decode_row(&bytes[..bytes.len() - 3], Some(&all)).is_err());
    }

    #[test]
    fn values_round_trip_with_version_byte() {
        let row = vec![
            Value::Integer(1),
            Value::Vector(vec![0.5, -1.0]),
            Value::Null,
        ];
        let bytes = encode(&row).unwrap();
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode::<Vec<Value>>(&bytes, "row").unwrap(), row);
        let mut bad = bytes.clone();
        bad[0] = 9;
        assert!(matches!(
            decode::<Vec<Value>>(&bad, "row"),
            Err(Error::Corrupt(_))
        ));
        assert!(decode::<Vec<Value>>(&bytes[..3], "row").is_err());
    }
}
