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
