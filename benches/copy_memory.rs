//! Peak memory of a big `COPY` (issue 12, item 6): a generated N × 384 Parquet file is copied
//! into a table in a fresh child process, which reports its peak resident set (`VmHWM` of
//! `/proc/self/status`, Linux) and its resident set before the `COPY`.
//!
//! ```text
//! VECTABLE_COPY_ROWS=100000 cargo bench --bench copy_memory
//! VECTABLE_COPY_ROWS=1000000 cargo bench --bench copy_memory        # the 1 GiB target
//! VECTABLE_COPY_BATCH_ROWS=2000000 cargo bench --bench copy_memory  # one WriteBatch, to compare
//! ```
//!
//! `VECTABLE_COPY_ROWS` is N (default 100,000); `VECTABLE_COPY_BATCH_ROWS` sets
//! `write_batch_rows` (default: the library's, 2,000). The table has a primary key and no
//! vector index, so the figure is the `COPY`'s own (reading, checking, staging, applying); an
//! HNSW index held in memory meanwhile adds its own size (about 1.6 GB at 1M × 384).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{FixedSizeListArray, Float32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vectable::{Database, Options};

const DIMS: usize = 384;

/// A resident-set figure of this process in KiB (`VmHWM`: the peak, `VmRSS`: now).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|x| x.parse().ok()))
        })
        .unwrap_or(0)
}

/// Writes `n` rows `(id, v)` of random unit vectors, 10,000 rows per record batch, without
/// holding the whole file in memory.
fn write_parquet(path: &Path, n: usize) {
    let item = Arc::new(Field::new("item", ArrowType::Float32, false));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", ArrowType::Int64, false),
        Field::new(
            "v",
            ArrowType::FixedSizeList(item.clone(), DIMS as i32),
            false,
        ),
    ]));
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    let mut rng = StdRng::seed_from_u64(12);
    let mut at = 0;
    while at < n {
        let end = (at + 10_000).min(n);
        let mut values = Vec::with_capacity((end - at) * DIMS);
        for _ in at..end {
            let v: Vec<f32> = (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            values.extend(v.into_iter().map(|x| x / norm));
        }
        let list = FixedSizeListArray::try_new(
            item.clone(),
            DIMS as i32,
            Arc::new(Float32Array::from(values)),
            None,
        )
        .unwrap();
        let ids = Int64Array::from_iter_values(at as i64..end as i64);
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(list)]).unwrap();
        w.write(&batch).unwrap();
        at = end;
    }
    w.close().unwrap();
}

/// The child: opens a new database in `dir`, copies `file`, prints one line of JSON.
fn child(dir: &str, file: &str) {
    let mut options = Options::new();
    if let Some(n) = std::env::var("VECTABLE_COPY_BATCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        options = options.write_batch_rows(n);
    }
    let db = Database::open_with(dir, options).unwrap();
    db.execute(
        &format!("CREATE TABLE t (id INTEGER PRIMARY KEY, v VECTOR({DIMS}))"),
        (),
    )
    .unwrap();
    let before_kb = status_kb("VmRSS:");
    let t = Instant::now();
    let n = db
        .execute(&format!("COPY t FROM '{file}' WITH (FORMAT parquet)"), ())
        .unwrap();
    let seconds = t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "rows": n,
            "write_batch_rows": db.write_batch_rows(),
            "seconds": seconds,
            "rss_before_kb": before_kb,
            "peak_rss_kb": status_kb("VmHWM:"),
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(&args[1], &args[2]);
        return;
    }
    let n: usize = std::env::var("VECTABLE_COPY_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/copy-memory");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let file = work.join(format!("rows_{n}x{DIMS}.parquet"));
    write_parquet(&file, n);
    let file_mb = std::fs::metadata(&file).map_or(0, |m| m.len()) as f64 / 1e6;
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .arg(work.join("db"))
        .arg(&file)
        .output()
        .expect("spawn the benchmark child");
    assert!(
        out.status.success(),
        "the COPY child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout);
    let r: serde_json::Value = line
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("the child prints one JSON line");
    let mib = |kb: &serde_json::Value| kb.as_f64().unwrap_or(f64::NAN) / 1024.0;
    println!("# COPY peak memory ({n} × {DIMS} Parquet, {file_mb:.0} MB)\n");
    println!("| rows | write_batch_rows | seconds | RSS before COPY (MiB) | peak RSS (MiB) |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {:.1} | {:.0} | {:.0} |",
        r["rows"],
        r["write_batch_rows"],
        r["seconds"].as_f64().unwrap_or(f64::NAN),
        mib(&r["rss_before_kb"]),
        mib(&r["peak_rss_kb"]),
    );
    let _ = std::fs::remove_dir_all(&work);
}
