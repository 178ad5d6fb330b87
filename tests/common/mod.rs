//! Helpers shared by the integration tests: the bundled sample, the dev queries, and a
//! brute-force kNN oracle independent of vectable's own code.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use vectable::{Database, Options};

/// `data/samples/` of this repository.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join("samples")
}

pub const SAMPLE_SCHEMA: &str =
    "CREATE TABLE packages (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
    section TEXT, component TEXT, priority TEXT, installed_size INTEGER, version TEXT, \
    description TEXT, embedding VECTOR(384))";

/// Creates `packages` in `db` from the bundled 5,000-row Parquet sample.
pub fn load_sample(db: &Database) {
    db.execute(SAMPLE_SCHEMA, ()).unwrap();
    let path = samples().join("debian_packages_5k.parquet");
    let n = db
        .execute(
            &format!(
                "COPY packages FROM '{}' WITH (FORMAT parquet)",
                path.display()
            ),
            (),
        )
        .unwrap();
    assert_eq!(n, 5000);
}

/// A fresh database with the sample loaded.
pub fn sample_db(dir: &Path) -> Database {
    let db = Database::open(dir).unwrap();
    load_sample(&db);
    db
}

pub fn sample_db_with(dir: &Path, options: Options) -> Database {
    let db = Database::open_with(dir, options).unwrap();
    load_sample(&db);
    db
}

/// Reads a little-endian float32 2-d `.npy` file: (rows, cols, data).
pub fn read_npy_f32(path: &Path) -> (usize, usize, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'<f4'"), "{header}");
    let shape = &header[header.find("'shape': (").unwrap() + 10..];
    let shape = &shape[..shape.find(')').unwrap()];
    let dims: Vec<usize> = shape
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let data: Vec<f32> = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(data.len(), dims[0] * dims[1]);
    (dims[0], dims[1], data)
}

/// The 100 dev queries (384-d) and their texts.
pub fn dev_queries() -> (Vec<Vec<f32>>, Vec<String>) {
    let (n, d, data) = read_npy_f32(&samples().join("queries_dev.npy"));
    let qs = (0..n).map(|i| data[i * d..(i + 1) * d].to_vec()).collect();
    let texts = std::fs::read_to_string(samples().join("queries_dev.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    (qs, texts)
}

/// Cosine distance in f64, computed here independently of the crate.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        ab += *x as f64 * *y as f64;
        aa += *x as f64 * *x as f64;
        bb += *y as f64 * *y as f64;
    }
    1.0 - ab / (aa.sqrt() * bb.sqrt())
}

pub fn l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// All (id, embedding) pairs of a table, read with a plain scan.
pub fn all_vectors(db: &Database, table: &str) -> Vec<(i64, Vec<f32>)> {
    db.query(
        &format!("SELECT id, embedding FROM {table} WHERE embedding IS NOT NULL"),
        (),
    )
    .unwrap()
    .iter()
    .map(|r| (r.get::<i64>(0).unwrap(), r.get::<Vec<f32>>(1).unwrap()))
    .collect()
}

/// Exact top-k ids by `dist`, ties broken by id.
pub fn brute_force(
    rows: &[(i64, Vec<f32>)],
    q: &[f32],
    k: usize,
    dist: fn(&[f32], &[f32]) -> f64,
) -> Vec<(i64, f64)> {
    let mut all: Vec<(i64, f64)> = rows.iter().map(|(id, v)| (*id, dist(v, q))).collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

/// Ids of a query result's first column.
pub fn ids(rows: &vectable::Rows) -> Vec<i64> {
    rows.iter().map(|r| r.get::<i64>(0).unwrap()).collect()
}

/// The index status row of `table.column`.
pub fn status(db: &Database, table: &str, column: &str) -> vectable::IndexStatus {
    db.index_status()
        .into_iter()
        .find(|s| s.table == table && s.column == column)
        .unwrap_or_else(|| panic!("no index on {table}.{column}"))
}

/// `SELECT count(*) FROM table`.
pub fn count(db: &Database, table: &str) -> i64 {
    db.query_row(&format!("SELECT count(*) FROM {table}"), (), |r| r.get(0))
        .unwrap()
}

/// The raw values of a parameterless query.
pub fn values(db: &Database, sql: &str) -> Vec<Vec<vectable::Value>> {
    db.query(sql, ())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_values()
}

/// The names of all tables, sorted.
pub fn table_names(db: &Database) -> Vec<String> {
    db.tables().into_iter().map(|t| t.name).collect()
}

/// The first column of a parameterless query, as i64 (panics on anything else).
pub fn int_column(db: &Database, sql: &str) -> Vec<i64> {
    ids(&db.query(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}")))
}

/// Writes `columns` as one record batch to a Parquet file at `path`.
pub fn write_parquet(path: &Path, columns: Vec<(&str, arrow_array::ArrayRef)>) {
    let batch = arrow_array::RecordBatch::try_from_iter(
        columns.into_iter().map(|(n, a)| (n.to_string(), a)),
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// A `FixedSizeList<Float32>` column of width `width`; `None` is a NULL list.
pub fn fixed_list(rows: &[Option<Vec<f32>>], width: i32) -> arrow_array::ArrayRef {
    use arrow_array::builder::{FixedSizeListBuilder, Float32Builder};
    let mut b = FixedSizeListBuilder::new(Float32Builder::new(), width);
    for row in rows {
        match row {
            Some(v) => {
                b.values().append_slice(v);
                b.append(true);
            }
            None => {
                b.values().append_slice(&vec![0.0; width as usize]);
                b.append(false);
            }
        }
    }
    std::sync::Arc::new(b.finish())
}

/// Runs the ignored test `name` of the current test binary in a child process with
/// `VECTABLE_DIR=dir`, asserts it succeeded, and returns its stdout.
pub fn run_child_test(name: &str, dir: &Path) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VECTABLE_DIR", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
