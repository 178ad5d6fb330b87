//! Table schemas and vector-index metadata, and the rules for names that become file names.
//!
//! The catalog is stored in RocksDB's `catalog` column family; this module
//! only defines the records and validates them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::value::DataType;

/// Longest table or column name, in bytes.
pub const MAX_IDENTIFIER_LEN: usize = 64;

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Column name (`[A-Za-z_][A-Za-z0-9_]*`).
    pub name: String,
    /// Declared type.
    pub data_type: DataType,
    /// `NOT NULL` (always true for the primary key).
    pub not_null: bool,
}

/// A table's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Internal id, never reused; the prefix of the table's row keys.
    pub id: u64,
    /// Table name (`[A-Za-z_][A-Za-z0-9_]*`).
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<ColumnDef>,
    /// Index into `columns` of the declared `PRIMARY KEY`, if any.
    pub primary_key: Option<usize>,
}

impl TableSchema {
    /// Position of the column called `name` (exact match first, then ASCII case-insensitive).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .or_else(|| {
                self.columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(name))
            })
    }

    /// Like [`column_index`](Self::column_index), with [`Error::NoSuchColumn`] when missing.
    pub fn require_column(&self, name: &str) -> Result<usize> {
        self.column_index(name).ok_or_else(|| Error::NoSuchColumn {
            table: self.name.clone(),
            column: name.to_string(),
        })
    }

    /// `table.column`, for messages.
    pub fn qualified(&self, column: usize) -> String {
        format!("{}.{}", self.name, self.columns[column].name)
    }

    /// The `CREATE TABLE` statement that recreates this schema.
    pub fn create_sql(&self) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut s = format!("{} {}", c.name, c.data_type);
                if self.primary_key == Some(i) {
                    s.push_str(" PRIMARY KEY");
                } else if c.not_null {
                    s.push_str(" NOT NULL");
                }
                s
            })
            .collect();
        format!("CREATE TABLE {} ({});", self.name, cols.join(", "))
    }
}

/// Distance metric of a vector index and of the SQL distance operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Metric {
    /// `<->`, `l2_distance`: Euclidean distance √Σ(aᵢ−bᵢ)², in [0, ∞).
    L2,
    /// `<=>`, `cosine_distance`: 1 − cos(a, b), in [0, 2].
    Cosine,
    /// `<#>`: negative inner product −Σaᵢbᵢ, in (−∞, ∞); smaller is more similar.
    InnerProduct,
}

impl Metric {
    /// Parses `l2`, `cosine` or `ip` (also `euclidean`, `inner_product`).
    pub fn parse(s: &str) -> Option<Metric> {
        match s.to_ascii_lowercase().as_str() {
            "l2" | "euclidean" | "l2sq" => Some(Metric::L2),
            "cosine" | "cos" => Some(Metric::Cosine),
            "ip" | "inner_product" | "dot" => Some(Metric::InnerProduct),
            _ => None,
        }
    }

    /// The SQL operator that orders by this metric.
    pub fn operator(self) -> &'static str {
        match self {
            Metric::L2 => "<->",
            Metric::Cosine => "<=>",
            Metric::InnerProduct => "<#>",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::L2 => "l2",
            Metric::Cosine => "cosine",
            Metric::InnerProduct => "ip",
        })
    }
}

/// How an index stores vectors (the rows always keep full f32 values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Quantization {
    /// 4 bytes per dimension (default).
    F32,
    /// 2 bytes per dimension.
    F16,
    /// 1 byte per dimension.
    I8,
}

impl Quantization {
    /// Parses `f32`, `f16` or `i8`.
    pub fn parse(s: &str) -> Option<Quantization> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Some(Quantization::F32),
            "f16" => Some(Quantization::F16),
            "i8" => Some(Quantization::I8),
            _ => None,
        }
    }
}

impl fmt::Display for Quantization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quantization::F32 => "f32",
            Quantization::F16 => "f16",
            Quantization::I8 => "i8",
        })
    }
}

/// HNSW parameters of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HnswParams {
    /// Distance metric.
    pub metric: Metric,
    /// `m`: graph connectivity, edges per node (USearch `connectivity`). Default 16.
    pub m: usize,
    /// `ef_construction`: candidate list size while inserting (USearch `expansion_add`). Default 128.
    pub ef_construction: usize,
    /// Storage of vectors inside the index.
    pub quantization: Quantization,
}

impl HnswParams {
    /// Defaults: `m` 16, `ef_construction` 128, `f32`.
    pub fn with_metric(metric: Metric) -> Self {
        HnswParams {
            metric,
            m: 16,
            ef_construction: 128,
            quantization: Quantization::F32,
        }
    }
}

/// What the catalog remembers of an index's last successful save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedIndex {
    /// The table change sequence the file reflects: every change with a larger sequence is
    /// in the change log.
    pub seq: u64,
    /// File size in bytes.
    pub file_bytes: u64,
    /// Vectors in the file.
    pub rows: u64,
    /// CRC-32 of the first and last 4 KiB of the file, to notice a swapped or rewritten file
    /// without reading it whole.
    pub fingerprint: u32,
}

/// A vector index on one column: created by `CREATE INDEX` or lazily by a kNN query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    /// Index name (`<table>_<column>_hnsw` for lazily created ones).
    pub name: String,
    /// Table id.
    pub table_id: u64,
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
    /// Position of the column in the table.
    pub column_index: usize,
    /// Dimensions of the column.
    pub dims: usize,
    /// HNSW parameters.
    pub params: HnswParams,
    /// True for `CREATE INDEX`, false for an index built lazily by a query.
    pub explicit: bool,
    /// The last successful save, if any.
    pub saved: Option<SavedIndex>,
}

impl IndexMeta {
    /// The index file's name: `<table>_<column>.usearch`.
    pub fn file_name(&self) -> String {
        index_file_name(&self.table, &self.column)
    }
}

/// A secondary (B-tree) index on one or more scalar columns: `CREATE [UNIQUE] INDEX name ON
/// t (a, b)`. Its entries live in RocksDB's `sindex` column family as
/// `table id ‖ index id ‖ order-preserving encoding of the values ‖ rowid`, written in the
/// same `WriteBatch` as the row they point to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondaryIndex {
    /// Index name (unique in the database, across vector and secondary indexes).
    pub name: String,
    /// Id of the index within its table (the key prefix after the table id).
    pub id: u32,
    /// Table id.
    pub table_id: u64,
    /// Positions of the indexed columns in the table, in index order.
    pub columns: Vec<usize>,
    /// `UNIQUE`: no two rows share the same non-NULL values (NULLs are distinct, as in
    /// PostgreSQL).
    pub unique: bool,
}

impl SecondaryIndex {
    /// The `CREATE INDEX` statement that recreates this index.
    pub fn create_sql(&self, table: &TableSchema) -> String {
        let cols: Vec<&str> = self
            .columns
            .iter()
            .map(|&c| table.columns.get(c).map_or("?", |c| c.name.as_str()))
            .collect();
        format!(
            "CREATE {}INDEX {} ON {} ({});",
            if self.unique { "UNIQUE " } else { "" },
            self.name,
            table.name,
            cols.join(", ")
        )
    }
}

/// `<table>_<column>.usearch`.
pub fn index_file_name(table: &str, column: &str) -> String {
    format!("{table}_{column}.usearch")
}

/// Checks a table or column name: `[A-Za-z_][A-Za-z0-9_]*`, 1–64 bytes.
///
/// # Errors
/// [`Error::InvalidIdentifier`] naming the identifier and the rule it breaks.
pub fn validate_identifier(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidIdentifier {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return bad("names cannot be empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return bad("names start with a letter or '_' (they become file names)")
        }
        _ => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return bad("names use only A-Z, a-z, 0-9 and '_' (they become file names)");
    }
    if name.len() > MAX_IDENTIFIER_LEN {
        return bad("names are at most 64 bytes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(validate_identifier("docs_2").is_ok());
        assert!(validate_identifier("_x").is_ok());
        for bad in ["", "2x", "a-b", "../x", "a.b", "é", "a b"] {
            assert!(
                matches!(
                    validate_identifier(bad),
                    Err(Error::InvalidIdentifier { .. })
                ),
                "{bad}"
            );
        }
        assert!(validate_identifier(&"a".repeat(65)).is_err());
    }

    #[test]
    fn create_sql_round_trips_shape() {
        let t = TableSchema {
            id: 1,
            name: "docs".into(),
            columns: vec![
                ColumnDef {
                    name: "id".into(),
                    data_type: DataType::Integer,
                    not_null: true,
                },
                ColumnDef {
                    name: "v".into(),
                    data_type: DataType::Vector(3),
                    not_null: false,
                },
            ],
            primary_key: Some(0),
        };
        assert_eq!(
            t.create_sql(),
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, v VECTOR(3));"
        );
    }
}
