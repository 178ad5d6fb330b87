//! vectable's benchmark suite: reload vs rebuild, SQL overhead over raw USearch, recall/speed
//! on real data, access paths on real data (filtered kNN strategies, secondary indexes),
//! filtered kNN, ingest, concurrency.
//!
//! ```text
//! cargo bench --bench vectable_bench -- [--quick|--full] [--json PATH] [--only SUITE,...]
//!                                         [--cases ROWSxDIMS,...]
//! ```
//!
//! `--quick` (the default, what `make bench` runs) takes a few minutes on 2 cores; `--full`
//! adds the 1,000,000-vector cases. Every figure is the median of repeated runs with min and
//! max beside it; comparisons are measured side by side in the same run. Results go to stdout
//! as markdown tables and to `target/bench/results.json` (or `--json PATH`). Suites:
//! `reload`, `overhead`, `recall`, `access`, `filtered`, `ingest`, `concurrency`, `synchronous`, `live`. `--cases` restricts the
//! reload suite to the given sizes, e.g. `--only reload --cases 1000000x384`.
//!
//! Timings that must start at `Database::open` (reload vs rebuild) run in a fresh child
//! process: this binary re-executes itself with `--child`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{FixedSizeListArray, Float32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};
use vectable::{params, Database, LoadEvent, Options, Value};

const K: usize = 10;

// ---------------------------------------------------------------------------------------------
// Statistics and reporting

#[derive(Clone, Copy, Debug)]
struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

fn stat(xs: &[f64]) -> Stat {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Stat {
        median,
        min: *v.first().unwrap_or(&f64::NAN),
        max: *v.last().unwrap_or(&f64::NAN),
    }
}

fn percentile(xs: &[f64], p: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i.min(v.len() - 1)]
}

fn fmt(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn show(s: Stat) -> String {
    format!("{} ({}–{})", fmt(s.median), fmt(s.min), fmt(s.max))
}

fn sj(s: Stat) -> Json {
    json!({"median": s.median, "min": s.min, "max": s.max})
}

struct Section {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

#[derive(Default)]
struct Report {
    sections: Vec<Section>,
    json: serde_json::Map<String, Json>,
}

impl Report {
    fn section(&mut self, title: &str, headers: &[&str]) -> usize {
        self.sections.push(Section {
            title: title.to_string(),
            headers: headers.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        });
        self.sections.len() - 1
    }

    fn row(&mut self, s: usize, cells: Vec<String>) {
        self.sections[s].rows.push(cells);
    }

    fn note(&mut self, s: usize, note: String) {
        self.sections[s].notes.push(note);
    }

    fn print_section(&self, i: usize) {
        let s = &self.sections[i];
        println!("\n### {}\n", s.title);
        println!("| {} |", s.headers.join(" | "));
        println!(
            "|{}|",
            s.headers
                .iter()
                .map(|_| "---")
                .collect::<Vec<_>>()
                .join("|")
        );
        for r in &s.rows {
            println!("| {} |", r.join(" | "));
        }
        for n in &s.notes {
            println!("\n{n}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Data

/// `n` random unit vectors of `dims` dimensions (Gaussian directions), row-major.
fn unit_vectors(n: usize, dims: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n * dims);
    for _ in 0..n {
        let mut v: Vec<f64> = (0..dims)
            .map(|_| {
                // Box–Muller.
                let u1: f64 = rng.random::<f64>().max(1e-12);
                let u2: f64 = rng.random();
                (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        out.extend(v.into_iter().map(|x| x as f32));
    }
    out
}

/// Writes `id`, `bucket = id % 1000`, `v` (FixedSizeList<f32, dims>) rows `[start, start+n)`.
fn write_parquet(path: &Path, start: usize, vecs: &[f32], dims: usize) {
    let n = vecs.len() / dims;
    let item = Arc::new(Field::new("item", ArrowType::Float32, false));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", ArrowType::Int64, false),
        Field::new("bucket", ArrowType::Int64, false),
        Field::new(
            "v",
            ArrowType::FixedSizeList(item.clone(), dims as i32),
            false,
        ),
    ]));
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    let chunk = 20_000;
    let mut at = 0;
    while at < n {
        let end = (at + chunk).min(n);
        let ids: Vec<i64> = (start + at..start + end).map(|i| i as i64).collect();
        let buckets: Vec<i64> = ids.iter().map(|i| i % 1000).collect();
        let values = Float32Array::from(vecs[at * dims..end * dims].to_vec());
        let list =
            FixedSizeListArray::try_new(item.clone(), dims as i32, Arc::new(values), None).unwrap();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(Int64Array::from(buckets)),
                Arc::new(list),
            ],
        )
        .unwrap();
        w.write(&batch).unwrap();
        at = end;
    }
    w.close().unwrap();
}

fn create_table_sql(dims: usize) -> String {
    format!("CREATE TABLE t (id INTEGER PRIMARY KEY, bucket INTEGER, v VECTOR({dims}))")
}

/// A fresh database in `dir` with table `t` of `n` random rows (seeded by `seed`), no index.
fn random_table(dir: &Path, n: usize, dims: usize, seed: u64, scratch: &Path) -> Vec<f32> {
    let _ = std::fs::remove_dir_all(dir);
    let vecs = unit_vectors(n, dims, seed);
    let pq = scratch.join(format!("rows_{n}_{dims}_{seed}.parquet"));
    write_parquet(&pq, 0, &vecs, dims);
    let db = Database::open(dir).unwrap();
    db.execute(&create_table_sql(dims), ()).unwrap();
    db.execute(
        &format!("COPY t FROM '{}' WITH (FORMAT parquet)", pq.display()),
        (),
    )
    .unwrap();
    let _ = std::fs::remove_file(pq);
    vecs
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|x| x.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat` (Linux; 0 when
/// unavailable). Unlike wall time, it does not grow when other processes compete for the cores.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // Clock ticks are 100 per second on Linux (`getconf CLK_TCK`).
    (ticks(11) + ticks(12)) / 100.0
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        ab += *x as f64 * *y as f64;
        aa += *x as f64 * *x as f64;
        bb += *y as f64 * *y as f64;
    }
    1.0 - ab / (aa * bb).sqrt()
}

fn ids_of(rows: &vectable::Rows) -> Vec<i64> {
    rows.iter().map(|r| r.get::<i64>(0).unwrap()).collect()
}

fn recall(got: &[i64], truth: &[i64]) -> f64 {
    if truth.is_empty() {
        return 1.0;
    }
    got.iter().filter(|g| truth.contains(g)).count() as f64 / truth.len() as f64
}

// ---------------------------------------------------------------------------------------------
// Child processes

fn child(args: &[String]) {
    // Library log messages (e.g. the repair walk's time: `VECTABLE_LOG=info`) go to stderr,
    // which the parent passes on.
    let _ = env_logger::Builder::new()
        .filter_level(log::LevelFilter::Warn)
        .parse_env("VECTABLE_LOG")
        .format_timestamp(None)
        .try_init();
    match args.first().map(String::as_str) {
        Some("first-query") => {
            let dir = &args[1];
            let dims: usize = args[2].parse().unwrap();
            let q = unit_vectors(1, dims, 999);
            let t0 = Instant::now();
            let db = Database::open(dir).unwrap();
            let rows = db
                .query("SELECT id FROM t ORDER BY v <=> $1 LIMIT 10", params![q])
                .unwrap();
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            assert_eq!(rows.len(), K);
            let st = &db.index_status()[0];
            // The index's own share of `ms`: scan + build + save, or mapping the file.
            let load_ms = match st.last_load {
                LoadEvent::Built { ms } | LoadEvent::Mapped { ms } => ms,
                _ => f64::NAN,
            };
            println!(
                "{}",
                json!({"ms": ms, "load_ms": load_ms, "cpu_s": cpu_seconds(), "rss_kb": rss_kb(), "event": st.last_load.kind(), "file_bytes": st.file_bytes})
            );
        }
        Some("drop-index") => {
            let db = Database::open(&args[1]).unwrap();
            db.execute("DROP INDEX IF EXISTS t_v_hnsw", ()).unwrap();
        }
        Some(cmd @ ("live-rw" | "live-ro")) => live::child(cmd, &args[1..]),
        other => panic!("unknown child command {other:?}"),
    }
}

fn run_child(args: &[&str]) -> Json {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .args(args)
        .output()
        .expect("spawn the benchmark child");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Json::Null)
}

// ---------------------------------------------------------------------------------------------
// Suites

struct Ctx {
    full: bool,
    /// `--cases 100000x384,...`: the reload suite runs only these (rows × dims).
    cases: Option<Vec<(usize, usize)>>,
    base: PathBuf,
    report: Report,
}

/// Suite 1. Time of the first kNN query on a fresh table (lazy build + save) vs after reopening
/// (memory-mapped), each from `Database::open` to the first row in a fresh process.
fn suite_reload(cx: &mut Ctx) {
    let s = cx.report.section(
        "Reload vs rebuild: first kNN query, Database::open → first row, fresh process (ms)",
        &[
            "rows",
            "dims",
            "lazy build + save",
            "build CPU s",
            "mapped after reopen",
            "ratio",
            "file MiB",
            "RSS built MiB",
            "RSS mapped MiB",
        ],
    );
    // Quick: 1K and 10K at both widths, and the target case 100K × 768 built once (random
    // 768-d vectors take minutes to index on 2 cores). Full: also 100K × 384 and 1M.
    let mut cases = vec![
        (1_000usize, 384usize),
        (1_000, 768),
        (10_000, 384),
        (10_000, 768),
        (100_000, 768),
    ];
    if cx.full {
        cases.extend([(100_000, 384), (1_000_000, 384), (1_000_000, 768)]);
    }
    if let Some(only) = &cx.cases {
        cases = only.clone();
    }
    let mut out = Vec::new();
    for (n, dims) in cases {
        {
            let dir = cx.base.join(format!("reload_{n}_{dims}"));
            random_table(&dir, n, dims, 1, &cx.base);
            let d = dir.to_str().unwrap();
            let build_reps = if n >= 1_000_000 || (n >= 100_000 && !cx.full) {
                1
            } else {
                3
            };
            let (mut builds, mut maps, mut build_cpu) = (Vec::new(), Vec::new(), Vec::new());
            let mut map_only = Vec::new();
            let (mut rss_built, mut rss_mapped, mut file) = (0f64, 0f64, 0f64);
            for _ in 0..build_reps {
                run_child(&["drop-index", d]);
                let j = run_child(&["first-query", d, &dims.to_string()]);
                assert_eq!(j["event"], "built", "{j}");
                builds.push(j["ms"].as_f64().unwrap());
                build_cpu.push(j["cpu_s"].as_f64().unwrap_or(0.0));
                rss_built = j["rss_kb"].as_f64().unwrap() / 1024.0;
                file = j["file_bytes"].as_f64().unwrap_or(0.0) / 1048576.0;
            }
            for _ in 0..5 {
                let j = run_child(&["first-query", d, &dims.to_string()]);
                assert_eq!(j["event"], "mapped", "{j}");
                maps.push(j["ms"].as_f64().unwrap());
                map_only.push(j["load_ms"].as_f64().unwrap_or(f64::NAN));
                rss_mapped = j["rss_kb"].as_f64().unwrap() / 1024.0;
            }
            let (b, m) = (stat(&builds), stat(&maps));
            eprintln!(
                "reload {n} × {dims}: build {} ms ({} CPU s), mapped {} ms, of which mapping \
                 the index {} ms",
                show(b),
                show(stat(&build_cpu)),
                show(m),
                show(stat(&map_only))
            );
            cx.report.row(
                s,
                vec![
                    n.to_string(),
                    dims.to_string(),
                    show(b),
                    format!("{:.1}", stat(&build_cpu).median),
                    show(m),
                    format!("{:.0}×", b.median / m.median),
                    format!("{file:.1}"),
                    format!("{rss_built:.0}"),
                    format!("{rss_mapped:.0}"),
                ],
            );
            out.push(
                json!({"rows": n, "dims": dims, "build_ms": sj(b), "mapped_ms": sj(m),
                "ratio": b.median / m.median, "file_bytes": file * 1048576.0,
                "mapping_ms": sj(stat(&map_only)),
                "build_cpu_s": sj(stat(&build_cpu)),
                "rss_built_mib": rss_built, "rss_mapped_mib": rss_mapped}),
            );
            if !(n == 100_000 && dims == BIG_DIMS) {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
    cx.report.note(s, "Target: at 100K × 768 the mapped first query is ≥ 1,000× faster than the lazy build and under 50 ms.".into());
    cx.report.json.insert("reload".into(), Json::Array(out));
    cx.report.print_section(s);
}

/// Width of the 100K-row table shared by the overhead, filtered and concurrency suites.
const BIG_DIMS: usize = 768;

/// The 100K × 768 table of the reload suite, with its index (created if that suite did not
/// run).
fn table_100k(cx: &Ctx) -> PathBuf {
    let dir = cx.base.join(format!("reload_100000_{BIG_DIMS}"));
    if !dir.join("db").exists() {
        random_table(&dir, 100_000, BIG_DIMS, 1, &cx.base);
    }
    let db = Database::open(&dir).unwrap();
    db.query(
        "SELECT id FROM t ORDER BY v <=> $1 LIMIT 1",
        params![unit_vectors(1, BIG_DIMS, 5)],
    )
    .unwrap();
    dir
}

/// Suite 2. SQL kNN through `Database::query` vs `usearch::Index::search` on the same index file.
fn suite_overhead(cx: &mut Ctx) {
    let dir = table_100k(cx);
    let db = Database::open(&dir).unwrap();
    let sql = "SELECT id FROM t ORDER BY v <=> $1 LIMIT 10";
    let nq = 1000;
    let qs = unit_vectors(nq, BIG_DIMS, 7);
    let q = |i: usize| qs[i * BIG_DIMS..(i + 1) * BIG_DIMS].to_vec();
    db.query(sql, params![q(0)]).unwrap(); // maps the index
    let file = dir.join("vectors").join("t_v.usearch");
    let raw = usearch::Index::restore_view(file.to_str().unwrap()).unwrap();
    raw.change_expansion_search(64);
    let explain = format!("EXPLAIN {sql}");
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let (mut sql_p50, mut sql_p99, mut sql_qps) = (vec![], vec![], vec![]);
    let (mut raw_p50, mut raw_p99, mut raw_qps) = (vec![], vec![], vec![]);
    let (mut parse_p50, mut plan_p50) = (vec![], vec![]);
    for _round in 0..5 {
        let mut lat = Vec::with_capacity(nq);
        let t = Instant::now();
        for i in 0..nq {
            let t0 = Instant::now();
            let r = db.query(sql, params![q(i)]).unwrap();
            lat.push(t0.elapsed().as_secs_f64() * 1e6);
            assert_eq!(r.len(), K);
        }
        sql_qps.push(nq as f64 / t.elapsed().as_secs_f64());
        sql_p50.push(percentile(&lat, 50.0));
        sql_p99.push(percentile(&lat, 99.0));
        let mut lat = Vec::with_capacity(nq);
        let t = Instant::now();
        for i in 0..nq {
            let v = q(i);
            let t0 = Instant::now();
            let m = raw.search(&v, K).unwrap();
            lat.push(t0.elapsed().as_secs_f64() * 1e6);
            assert_eq!(m.keys.len(), K);
        }
        raw_qps.push(nq as f64 / t.elapsed().as_secs_f64());
        raw_p50.push(percentile(&lat, 50.0));
        raw_p99.push(percentile(&lat, 99.0));
        let mut lat = Vec::with_capacity(nq);
        for _ in 0..nq {
            let t0 = Instant::now();
            let _ = sqlparser::parser::Parser::parse_sql(&dialect, sql).unwrap();
            lat.push(t0.elapsed().as_secs_f64() * 1e6);
        }
        parse_p50.push(percentile(&lat, 50.0));
        let mut lat = Vec::with_capacity(nq);
        for i in 0..nq {
            let t0 = Instant::now();
            db.query(&explain, params![q(i)]).unwrap();
            lat.push(t0.elapsed().as_secs_f64() * 1e6);
        }
        plan_p50.push(percentile(&lat, 50.0));
    }
    let s = cx.report.section(
        "SQL overhead: k = 10, ef_search 64, 100K × 768, mapped index (µs; 1,000 queries × 5 rounds)",
        &["path", "p50", "p99", "QPS"],
    );
    let (sp, rp) = (stat(&sql_p50), stat(&raw_p50));
    cx.report.row(
        s,
        vec![
            "`Database::query` (SQL)".into(),
            show(sp),
            show(stat(&sql_p99)),
            show(stat(&sql_qps)),
        ],
    );
    cx.report.row(
        s,
        vec![
            "`usearch::Index::search` (raw, same file)".into(),
            show(rp),
            show(stat(&raw_p99)),
            show(stat(&raw_qps)),
        ],
    );
    let (pp, ep) = (stat(&parse_p50), stat(&plan_p50));
    let rest = sp.median - ep.median - rp.median;
    cx.report.note(s, format!(
        "p50 ratio SQL / raw: **{:.2}×** (target ≤ 1.25×). Where the SQL time goes (p50): sqlparser parse {} µs; bind + plan (EXPLAIN, parsed once: the statement cache holds it) {} µs; index search {} µs; row fetch of the 10 results, exact distances, sort and projection ≈ {} µs.",
        sp.median / rp.median, fmt(pp.median), fmt(ep.median), fmt(rp.median), fmt(rest.max(0.0))
    ));
    cx.report.json.insert("overhead".into(), json!({"sql_p50_us": sj(sp), "sql_p99_us": sj(stat(&sql_p99)), "sql_qps": sj(stat(&sql_qps)),
        "raw_p50_us": sj(rp), "raw_p99_us": sj(stat(&raw_p99)), "raw_qps": sj(stat(&raw_qps)),
        "ratio_p50": sp.median / rp.median, "parse_p50_us": sj(pp), "explain_p50_us": sj(ep)}));
    cx.report.print_section(s);
}

/// The first `K` ids of each row of an exact ground-truth `.npy` (little-endian i64).
fn read_ground_truth(path: &Path) -> Vec<Vec<i64>> {
    let (n, w, descr, b) = read_npy(path);
    assert_eq!(descr, "<i8", "{}", path.display());
    (0..n)
        .map(|i| {
            (0..K)
                .map(|j| {
                    i64::from_le_bytes(b[(i * w + j) * 8..(i * w + j + 1) * 8].try_into().unwrap())
                })
                .collect()
        })
        .collect()
}

fn read_npy(path: &Path) -> (usize, usize, String, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hl])
        .unwrap()
        .to_string();
    let shape = &header[header.find("'shape': (").unwrap() + 10..];
    let shape = &shape[..shape.find(')').unwrap()];
    let dims: Vec<usize> = shape
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let descr = header[header.find("'descr': '").unwrap() + 10..]
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    (dims[0], dims[1], descr, bytes[10 + hl..].to_vec())
}

/// Suite 3. Recall@10 and latency vs `ef_search` and quantization on the real Debian data.
fn suite_recall(cx: &mut Ctx) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = repo.join("../shared/datasets/debian_packages");
    let (parquet, gt_path, label) = if shared.join("packages.parquet").exists() {
        (
            shared.join("packages.parquet"),
            Some(shared.join("gt_dev.npy")),
            "20,000 Debian packages (../shared)",
        )
    } else {
        (
            repo.join("data/samples/debian_packages_5k.parquet"),
            None,
            "5,000 Debian packages (data/samples)",
        )
    };
    let dir = cx.base.join("recall");
    let _ = std::fs::remove_dir_all(&dir);
    let db = Database::open(&dir).unwrap();
    db.execute("CREATE TABLE packages (id INTEGER PRIMARY KEY, name TEXT, section TEXT, component TEXT, priority TEXT, installed_size INTEGER, version TEXT, description TEXT, embedding VECTOR(384))", ()).unwrap();
    db.execute(
        &format!(
            "COPY packages FROM '{}' WITH (FORMAT parquet)",
            parquet.display()
        ),
        (),
    )
    .unwrap();
    let (nq, d, _, qbytes) = read_npy(&repo.join("data/samples/queries_dev.npy"));
    let qs: Vec<Vec<f32>> = (0..nq)
        .map(|i| {
            qbytes[i * d * 4..(i + 1) * d * 4]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
        .collect();
    let truth: Vec<Vec<i64>> = match &gt_path {
        Some(p) => read_ground_truth(p),
        None => {
            let rows: Vec<(i64, Vec<f32>)> = db
                .query("SELECT id, embedding FROM packages", ())
                .unwrap()
                .iter()
                .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
                .collect();
            qs.iter()
                .map(|q| {
                    let mut all: Vec<(i64, f64)> =
                        rows.iter().map(|(id, v)| (*id, cosine(v, q))).collect();
                    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                    all.iter().take(K).map(|x| x.0).collect()
                })
                .collect()
        }
    };
    let sql = "SELECT id FROM packages ORDER BY embedding <=> $1 LIMIT 10";
    let measure = |db: &Database| -> (f64, Stat) {
        let mut rec = 0.0;
        let mut p50s = Vec::new();
        for round in 0..5 {
            let mut lat = Vec::new();
            for (q, t) in qs.iter().zip(&truth) {
                let t0 = Instant::now();
                let r = db.query(sql, params![q.clone()]).unwrap();
                lat.push(t0.elapsed().as_secs_f64() * 1e6);
                if round == 0 {
                    rec += recall(&ids_of(&r), t);
                }
            }
            p50s.push(percentile(&lat, 50.0));
        }
        (rec / qs.len() as f64, stat(&p50s))
    };
    db.query(sql, params![qs[0].clone()]).unwrap(); // lazy build, f32
    let s = cx.report.section(
        &format!("Recall@10 and latency on {label}, 100 dev queries, cosine (µs)"),
        &["index", "ef_search", "recall@10", "p50 latency"],
    );
    let mut out = Vec::new();
    for ef in [16usize, 32, 64, 128, 256] {
        db.execute(&format!("SET ef_search = {ef}"), ()).unwrap();
        let (r, p) = measure(&db);
        cx.report.row(
            s,
            vec![
                "f32, m 16, ef_construction 128".into(),
                ef.to_string(),
                format!("{r:.3}"),
                show(p),
            ],
        );
        out.push(
            json!({"quantization": "f32", "ef_search": ef, "recall_at_10": r, "p50_us": sj(p)}),
        );
    }
    db.execute("SET ef_search = 64", ()).unwrap();
    // Filtered kNN on real data: each dev query filtered by its section (filter_dev.txt), against
    // the dataset's exact filtered ground truth (or brute force over the sample).
    let sections: Vec<String> = std::fs::read_to_string(repo.join("data/samples/filter_dev.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let filtered_truth: Vec<Vec<i64>> = match &gt_path {
        Some(p) => {
            // Queries with fewer than K matching rows pad their row with -1.
            read_ground_truth(&p.with_file_name("gt_dev_filtered.npy"))
                .into_iter()
                .map(|ids| ids.into_iter().filter(|id| *id >= 0).collect())
                .collect()
        }
        None => qs
            .iter()
            .zip(&sections)
            .map(|(q, sec)| {
                let rows: Vec<(i64, Vec<f32>)> = db
                    .query(
                        "SELECT id, embedding FROM packages WHERE section = $1",
                        params![sec.clone()],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
                    .collect();
                let mut all: Vec<(i64, f64)> =
                    rows.iter().map(|(id, v)| (*id, cosine(v, q))).collect();
                all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                all.iter().take(K).map(|x| x.0).collect()
            })
            .collect(),
    };
    let mut frec = 0.0;
    let mut fp50 = Vec::new();
    for round in 0..3 {
        let mut lat = Vec::new();
        for ((q, sec), t) in qs.iter().zip(&sections).zip(&filtered_truth) {
            let t0 = Instant::now();
            let r = db
                .query(
                    "SELECT id FROM packages WHERE section = $2 ORDER BY embedding <=> $1 LIMIT 10",
                    params![q.clone(), sec.clone()],
                )
                .unwrap();
            lat.push(t0.elapsed().as_secs_f64() * 1e6);
            if round == 0 {
                frec += recall(&ids_of(&r), t);
            }
        }
        fp50.push(percentile(&lat, 50.0));
    }
    let (frec, fp) = (frec / qs.len() as f64, stat(&fp50));
    cx.report.row(
        s,
        vec![
            "f32, `WHERE section = <the query's dev filter>`".into(),
            "64".into(),
            format!("{frec:.3}"),
            show(fp),
        ],
    );
    out.push(json!({"quantization": "f32", "ef_search": 64, "filter": "section", "recall_at_10": frec, "p50_us": sj(fp)}));
    for quant in ["f16", "i8"] {
        db.execute("DROP INDEX IF EXISTS packages_embedding_hnsw", ())
            .unwrap();
        db.execute("DROP INDEX IF EXISTS q", ()).unwrap();
        db.execute(&format!("CREATE INDEX q ON packages USING hnsw (embedding) WITH (metric = 'cosine', quantization = '{quant}')"), ()).unwrap();
        let (r, p) = measure(&db);
        cx.report.row(
            s,
            vec![
                format!("{quant}, m 16, ef_construction 128"),
                "64".into(),
                format!("{r:.3}"),
                show(p),
            ],
        );
        out.push(
            json!({"quantization": quant, "ef_search": 64, "recall_at_10": r, "p50_us": sj(p)}),
        );
    }
    cx.report.note(s, "Target: recall@10 ≥ 0.95 at the default ef_search (64). Result rows are re-ranked by exact f32 distance, so quantization affects only which candidates are found.".into());
    cx.report.json.insert("recall".into(), Json::Array(out));
    cx.report.print_section(s);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Suite 4. Filtered kNN at 0.1%–100% selectivity on 100K × 768, with the planner's choice
/// (`filtered_knn = auto`) without and with a secondary index on the filtered column.
fn suite_filtered(cx: &mut Ctx) {
    let dir = table_100k(cx);
    let d = BIG_DIMS;
    let vecs = unit_vectors(100_000, d, 1);
    let db = Database::open(&dir).unwrap();
    db.execute("SET filtered_knn = auto", ()).unwrap();
    let nq = 30;
    let qs = unit_vectors(nq, d, 11);
    let q = |i: usize| &qs[i * d..(i + 1) * d];
    let s = cx.report.section(
        &format!("Filtered kNN on 100K × 768, k = 10, ef_search {} (`WHERE bucket < b`, bucket = id % 1000, filtered_knn = auto; 30 queries × 3 rounds; µs)", db.ef_search()),
        &[
            "selectivity",
            "matching rows",
            "index on bucket",
            "strategy (EXPLAIN)",
            "recall@10",
            "rows returned = min(k, matching)",
            "p50 latency",
            "p99 latency",
        ],
    );
    // Exact ground truth per selectivity (`None`: no WHERE clause, the unfiltered baseline).
    let cases: [(Option<i64>, &str); 6] = [
        (Some(1), "0.1%"),
        (Some(10), "1%"),
        (Some(100), "10%"),
        (Some(500), "50%"),
        (Some(1000), "100%"),
        (None, "no WHERE"),
    ];
    let mut all: Vec<Vec<(f64, i64)>> = (0..nq)
        .map(|i| {
            (0..100_000)
                .map(|id| (cosine(&vecs[id * d..(id + 1) * d], q(i)), id as i64))
                .collect()
        })
        .collect();
    for a in &mut all {
        a.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    }
    let mut out = Vec::new();
    let mut verdicts = Vec::new();
    let mut run = |cx: &mut Ctx, indexed: bool, cases: &[(Option<i64>, &str)]| {
        for &(b, label) in cases {
            let keep = |id: i64| b.is_none_or(|b| id % 1000 < b);
            let matching = (0..100_000i64).filter(|i| keep(*i)).count();
            let truth: Vec<Vec<i64>> = all
                .iter()
                .map(|a| {
                    a.iter()
                        .filter(|x| keep(x.1))
                        .take(K)
                        .map(|x| x.1)
                        .collect()
                })
                .collect();
            let (sql, with_b) = match b {
                Some(_) => (
                    "SELECT id FROM t WHERE bucket < $2 ORDER BY v <=> $1 LIMIT 10",
                    true,
                ),
                None => ("SELECT id FROM t ORDER BY v <=> $1 LIMIT 10", false),
            };
            let bv = b.unwrap_or(0);
            let strategies: Vec<String> = (0..nq)
                .map(|i| {
                    if with_b {
                        explained(&db, sql, params![q(i), bv]).0
                    } else {
                        explained(&db, sql, params![q(i)]).0
                    }
                })
                .collect();
            let tm = timed_rounds(3, nq, |i| {
                ids_of(
                    &if with_b {
                        db.query(sql, params![q(i), bv])
                    } else {
                        db.query(sql, params![q(i)])
                    }
                    .unwrap(),
                )
            });
            let (p50, p99, got, w) = (tm.p50, tm.p99, &tm.first, tm.slowest());
            let r = got
                .iter()
                .zip(&truth)
                .map(|(g, t)| recall(g, t))
                .sum::<f64>()
                / nq as f64;
            let exact_count = got.iter().all(|g| g.len() == K.min(matching));
            let analyze = if with_b {
                analyzed(&db, sql, params![q(w), bv])
            } else {
                analyzed(&db, sql, params![q(w)])
            };
            let (strat, sj_) = tally(&strategies);
            cx.report.row(
                s,
                vec![
                    label.into(),
                    matching.to_string(),
                    if b.is_none() {
                        "—".into()
                    } else if indexed {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                    strat,
                    format!("{r:.3}"),
                    exact_count.to_string(),
                    show(p50),
                    show(p99),
                ],
            );
            if b.is_some() && (r < 0.95 || !exact_count) {
                verdicts.push(format!(
                    "{label} {} index: recall {r:.3}{}",
                    if indexed { "with" } else { "without" },
                    if exact_count { "" } else { ", rows short" }
                ));
            }
            out.push(
                json!({"selectivity": label, "bucket_lt": b, "matching": matching,
                "secondary_index": b.map(|_| indexed), "strategies": sj_, "recall_at_10": r,
                "exact_count": exact_count, "p50_us": sj(p50), "p99_us": sj(p99),
                "slowest_query": {"query": w, "us": tm.first_us[w], "explain_analyze": analyze}}),
            );
        }
    };
    let t0 = Instant::now();
    run(cx, false, &cases[..5]);
    eprintln!(
        "filtered: without index {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    db.execute("CREATE INDEX IF NOT EXISTS t_bucket ON t (bucket)", ())
        .unwrap();
    let create_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    run(cx, true, &cases);
    eprintln!("filtered: with index {:.0} s", t0.elapsed().as_secs_f64());
    // The concurrency suite measures inserts into this table without the secondary index.
    db.execute("DROP INDEX t_bucket", ()).unwrap();
    cx.report.note(s, format!(
        "Target: recall@10 ≥ 0.95 at every selectivity with exactly min(k, matching) rows: {}. `CREATE INDEX t_bucket ON t (bucket)` took {create_s:.2} s. Random Gaussian 768-d vectors have no cluster structure, the hardest case for HNSW: the `no WHERE` row is the graph's own recall on this data, and a filtered query that the planner sends to the graph (filtered or iterative HNSW) cannot do better; exact distances over the matching rows are exact by construction. On the real data see the access suite.",
        if verdicts.is_empty() { "met".to_string() } else { format!("**missed** ({})", verdicts.join("; ")) }
    ));
    cx.report.json.insert(
        "filtered".into(),
        json!({"rows": 100_000, "dims": d, "queries": nq, "ef_search": db.ef_search(),
            "create_index_s": create_s, "cases": out}),
    );
    cx.report.print_section(s);
}

/// A fresh database in `dir` with an empty table `t`, and an HNSW index on `v` if asked.
fn empty_table(dir: &Path, dims: usize, with_index: bool) -> Database {
    let _ = std::fs::remove_dir_all(dir);
    let db = Database::open(dir).unwrap();
    db.execute(&create_table_sql(dims), ()).unwrap();
    if with_index {
        db.execute(
            "CREATE INDEX t_v ON t USING hnsw (v) WITH (metric = 'cosine')",
            (),
        )
        .unwrap();
    }
    db
}

/// Suite 5. Ingest: COPY from Parquet and batched INSERT, without and with an index; index build
/// throughput vs raw USearch `add` with the same threads.
fn suite_ingest(cx: &mut Ctx) {
    let n = if cx.full { 100_000usize } else { 20_000 };
    let dims = 384usize;
    let vecs = unit_vectors(n, dims, 3);
    let pq = cx.base.join("ingest.parquet");
    write_parquet(&pq, 0, &vecs, dims);
    // Adding to a live index is ~100× slower than storing rows: the quick suite measures it
    // on a quarter of the rows.
    let n_idx = if cx.full { n } else { n / 4 };
    let pq_idx = cx.base.join("ingest_idx.parquet");
    write_parquet(&pq_idx, 0, &vecs[..n_idx * dims], dims);
    let s = cx.report.section(
        &format!(
            "Ingest of {}K × 384 rows (rows/s) and index build (vectors/s)",
            n / 1000
        ),
        &["operation", "without index", "with index", "with / without"],
    );
    let mut out = serde_json::Map::new();
    // COPY.
    let copy = |with_index: bool| -> f64 {
        let dir = cx.base.join("ingest_copy");
        let db = empty_table(&dir, dims, with_index);
        let (file, rows) = if with_index {
            (&pq_idx, n_idx)
        } else {
            (&pq, n)
        };
        let t0 = Instant::now();
        db.execute(
            &format!("COPY t FROM '{}' WITH (FORMAT parquet)", file.display()),
            (),
        )
        .unwrap();
        let r = rows as f64 / t0.elapsed().as_secs_f64();
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
        r
    };
    let reps = 3;
    let c0 = stat(&(0..reps).map(|_| copy(false)).collect::<Vec<_>>());
    let c1 = stat(&(0..reps).map(|_| copy(true)).collect::<Vec<_>>());
    cx.report.row(
        s,
        vec![
            "`COPY t FROM 'x.parquet'`".into(),
            show(c0),
            show(c1),
            format!("{:.2}", c1.median / c0.median),
        ],
    );
    out.insert(
        "copy_rows_per_s".into(),
        json!({"without_index": sj(c0), "with_index": sj(c1)}),
    );
    // Batched, parameterised INSERT: 100 rows per statement.
    let insert = |with_index: bool| -> f64 {
        let dir = cx.base.join("ingest_insert");
        let db = empty_table(&dir, dims, with_index);
        let per = 100;
        let placeholders: Vec<String> = (0..per)
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!("INSERT INTO t VALUES {}", placeholders.join(", "));
        let t0 = Instant::now();
        let rows = if with_index { n_idx } else { n };
        for b in 0..rows / per {
            let mut p: Vec<Value> = Vec::with_capacity(3 * per);
            for i in b * per..(b + 1) * per {
                p.push(Value::Integer(i as i64));
                p.push(Value::Integer(i as i64 % 1000));
                p.push(Value::Vector(vecs[i * dims..(i + 1) * dims].to_vec()));
            }
            db.execute(&sql, p).unwrap();
        }
        let r = rows as f64 / t0.elapsed().as_secs_f64();
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
        r
    };
    let i0 = stat(&(0..reps).map(|_| insert(false)).collect::<Vec<_>>());
    let i1 = stat(&(0..reps).map(|_| insert(true)).collect::<Vec<_>>());
    cx.report.row(
        s,
        vec![
            "`INSERT` of 100 rows per statement, bound `$n`".into(),
            show(i0),
            show(i1),
            format!("{:.2}", i1.median / i0.median),
        ],
    );
    out.insert(
        "insert_rows_per_s".into(),
        json!({"without_index": sj(i0), "with_index": sj(i1)}),
    );
    // Index build: vectable's lazy build (scan rows + add + save) vs raw USearch add.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dir = cx.base.join("ingest_build");
    let _ = std::fs::remove_dir_all(&dir);
    {
        let db = Database::open(&dir).unwrap();
        db.execute(&create_table_sql(dims), ()).unwrap();
        db.execute(
            &format!("COPY t FROM '{}' WITH (FORMAT parquet)", pq.display()),
            (),
        )
        .unwrap();
    }
    let mut ours = Vec::new();
    let mut raw = Vec::new();
    for _ in 0..reps {
        let db = Database::open_with(&dir, Options::new().build_threads(threads)).unwrap();
        db.execute("DROP INDEX IF EXISTS t_v_hnsw", ()).unwrap();
        let t0 = Instant::now();
        db.query(
            "SELECT id FROM t ORDER BY v <=> $1 LIMIT 1",
            params![vecs[..dims].to_vec()],
        )
        .unwrap();
        ours.push(n as f64 / t0.elapsed().as_secs_f64());
        drop(db);
        let index = usearch::Index::new(&usearch::IndexOptions {
            dimensions: dims,
            metric: usearch::MetricKind::Cos,
            quantization: usearch::ScalarKind::F32,
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            multi: false,
        })
        .unwrap();
        index.reserve_capacity_and_threads(n, threads).unwrap();
        let next = AtomicU64::new(0);
        let t0 = Instant::now();
        std::thread::scope(|sc| {
            for _ in 0..threads {
                sc.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= n {
                        break;
                    }
                    index
                        .add(i as u64, &vecs[i * dims..(i + 1) * dims])
                        .unwrap();
                });
            }
        });
        raw.push(n as f64 / t0.elapsed().as_secs_f64());
    }
    let (o, r) = (stat(&ours), stat(&raw));
    cx.report.row(
        s,
        vec![
            format!("index build, {threads} threads: vectable lazy build (scan + add + save)"),
            show(o),
            "—".into(),
            "—".into(),
        ],
    );
    cx.report.row(
        s,
        vec![
            format!("index build, {threads} threads: raw `usearch::Index::add`"),
            show(r),
            "—".into(),
            "—".into(),
        ],
    );
    cx.report.note(s, format!(
        "Build throughput vectable / raw USearch: **{:.2}×** (target ≥ 0.8×). COPY Parquet without index: {} rows/s (target ≥ 50,000). \"With index\" means the column already has an HNSW index, which every row is added to (measured on {} rows).",
        o.median / r.median, fmt(c0.median), n_idx
    ));
    out.insert("build_vectors_per_s".into(), json!({"vectable": sj(o), "raw_usearch": sj(r), "ratio": o.median / r.median, "threads": threads}));
    cx.report.json.insert("ingest".into(), Json::Object(out));
    cx.report.print_section(s);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&pq);
    let _ = std::fs::remove_file(&pq_idx);
}

/// Suite 6. kNN QPS with 1 and 2 reader threads while one writer inserts.
fn suite_concurrency(cx: &mut Ctx) {
    let dir = table_100k(cx);
    let db = Database::open(&dir).unwrap();
    let d = BIG_DIMS;
    let qs = unit_vectors(200, d, 13);
    let wv = unit_vectors(2_000, d, 17);
    let s = cx.report.section(
        "Concurrency on 100K × 768: kNN QPS while one writer inserts single rows (3 s × 3 rounds)",
        &["readers", "kNN QPS (all readers)", "writer rows/s"],
    );
    let mut out = Vec::new();
    let next_id = AtomicU64::new(1_000_000);
    for readers in [1usize, 2] {
        let (mut qps, mut wps) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            let stop = AtomicBool::new(false);
            let queries = AtomicU64::new(0);
            let writes = AtomicU64::new(0);
            let dur = Duration::from_secs(3);
            std::thread::scope(|sc| {
                for r in 0..readers {
                    let (db, stop, queries, qs) = (&db, &stop, &queries, &qs);
                    sc.spawn(move || {
                        let mut i = r;
                        while !stop.load(Ordering::Relaxed) {
                            let q = qs[(i % 200) * d..(i % 200 + 1) * d].to_vec();
                            let rows = db
                                .query("SELECT id FROM t ORDER BY v <=> $1 LIMIT 10", params![q])
                                .unwrap();
                            assert_eq!(rows.len(), K);
                            queries.fetch_add(1, Ordering::Relaxed);
                            i += readers;
                        }
                    });
                }
                {
                    let (db, stop, writes, wv, next_id) = (&db, &stop, &writes, &wv, &next_id);
                    sc.spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            let id = next_id.fetch_add(1, Ordering::Relaxed);
                            let j = (id as usize) % 2_000;
                            db.execute(
                                "INSERT INTO t VALUES ($1, 0, $2)",
                                params![id as i64, wv[j * d..(j + 1) * d].to_vec()],
                            )
                            .unwrap();
                            writes.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
                std::thread::sleep(dur);
                stop.store(true, Ordering::Relaxed);
            });
            qps.push(queries.load(Ordering::Relaxed) as f64 / dur.as_secs_f64());
            wps.push(writes.load(Ordering::Relaxed) as f64 / dur.as_secs_f64());
        }
        let (q, w) = (stat(&qps), stat(&wps));
        cx.report
            .row(s, vec![readers.to_string(), show(q), show(w)]);
        out.push(json!({"readers": readers, "knn_qps": sj(q), "writer_rows_per_s": sj(w)}));
    }
    cx.report.note(s, "Reads run concurrently with each other; a write statement waits for running reads and runs alone (one RwLock), so readers and the writer take turns.".into());
    cx.report
        .json
        .insert("concurrency".into(), Json::Array(out));
    cx.report.print_section(s);
}

// ---------------------------------------------------------------------------------------------
// Suite 7: access paths on the real Debian data.

/// Latencies of a measurement: the rounds' p50 and p99 (µs), and the results and latencies of
/// the first round.
struct Timed<T> {
    p50: Stat,
    p99: Stat,
    first: Vec<T>,
    first_us: Vec<f64>,
}

impl<T> Timed<T> {
    /// The query that was slowest in the first round.
    fn slowest(&self) -> usize {
        (0..self.first_us.len())
            .max_by(|a, b| self.first_us[*a].total_cmp(&self.first_us[*b]))
            .unwrap_or(0)
    }
}

/// Runs `f(i)` for every query `i < nq` in `rounds` rounds, timing each call.
fn timed_rounds<T>(rounds: usize, nq: usize, mut f: impl FnMut(usize) -> T) -> Timed<T> {
    let (mut p50, mut p99, mut first) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_us = Vec::new();
    for round in 0..rounds {
        let mut lat = Vec::with_capacity(nq);
        for i in 0..nq {
            let t0 = Instant::now();
            let out = f(i);
            lat.push(t0.elapsed().as_secs_f64() * 1e6);
            if round == 0 {
                first.push(out);
            }
        }
        p50.push(percentile(&lat, 50.0));
        p99.push(percentile(&lat, 99.0));
        if round == 0 {
            first_us = lat;
        }
    }
    Timed {
        p50: stat(&p50),
        p99: stat(&p99),
        first,
        first_us,
    }
}

/// One untimed pass over the queries, then one timed pass: each path measured this way starts
/// from the same cache state (its own data warm), whatever ran before it.
fn warm_then_time<T>(nq: usize, mut f: impl FnMut(usize) -> T) -> Timed<T> {
    for i in 0..nq {
        f(i);
    }
    timed_rounds(1, nq, f)
}

/// The short name of the strategy in the first line of a kNN query's `EXPLAIN`.
fn short_strategy(first_line: &str) -> String {
    if first_line.starts_with("Index kNN scan") {
        "HNSW (no filter)".into()
    } else if first_line.contains("exact distances") {
        "exact".into()
    } else if first_line.contains("secondary index's candidates") {
        "filtered HNSW".into()
    } else if first_line.contains("iterative") {
        "iterative HNSW".into()
    } else {
        first_line.to_string()
    }
}

/// The strategy `EXPLAIN` reports for `sql` with `params` (first line, shortened) and the
/// planner's estimate of the matching rows (`estimate: N of M rows`), if it printed one.
fn explained(db: &Database, sql: &str, params: &[&dyn vectable::ToValue]) -> (String, Option<f64>) {
    let rows = db.query(&format!("EXPLAIN {sql}"), params).unwrap();
    let lines: Vec<String> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    let estimate = lines.iter().find_map(|l| {
        l.trim()
            .strip_prefix("estimate: ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    });
    (short_strategy(&lines[0]), estimate)
}

/// The lines of `EXPLAIN ANALYZE sql` (kept in the JSON report for one query per case).
fn analyzed(db: &Database, sql: &str, params: &[&dyn vectable::ToValue]) -> Vec<String> {
    db.query(&format!("EXPLAIN ANALYZE {sql}"), params)
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect()
}

/// Median (min–max) of the planner's estimate over the actual matching rows, per query.
fn estimate_ratio(est: &[Option<f64>], actual: &[usize]) -> Option<Stat> {
    let r: Vec<f64> = est
        .iter()
        .zip(actual)
        .filter_map(|(e, a)| {
            // A filter matching no row: an estimate of 0 is exact.
            e.map(|e| {
                if *a == 0 && e == 0.0 {
                    1.0
                } else {
                    e / (*a).max(1) as f64
                }
            })
        })
        .collect();
    (!r.is_empty()).then(|| stat(&r))
}

fn show_ratio(s: Option<Stat>) -> String {
    s.map_or("—".into(), |s| {
        format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max)
    })
}

/// `exact 97, filtered HNSW 3`: how often each strategy was chosen, most frequent first.
fn tally(names: &[String]) -> (String, Json) {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for n in names {
        match counts.iter_mut().find(|(m, _)| m == n) {
            Some(c) => c.1 += 1,
            None => counts.push((n.clone(), 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let text = if counts.len() == 1 {
        counts[0].0.clone()
    } else {
        counts
            .iter()
            .map(|(n, c)| format!("{n} ×{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let j = Json::Object(counts.into_iter().map(|(n, c)| (n, json!(c))).collect());
    (text, j)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// One real data set of the access suite.
struct RealSet {
    /// Short name for tables and JSON (`20K`, `63K`, `5K sample`).
    tag: &'static str,
    parquet: PathBuf,
    queries: PathBuf,
    filters: PathBuf,
    /// `gt_dev.npy` (its sibling `gt_dev_filtered.npy` is the filtered truth); `None`: brute force.
    gt: Option<PathBuf>,
}

/// The data sets of the access suite: the 20K and 63K Debian sets when `../shared` has them,
/// else (or with `VECTABLE_BENCH_SAMPLE` set) the bundled 5K sample with brute-force ground truth.
fn access_sets(cx: &Ctx) -> Vec<RealSet> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = repo.join("../shared/datasets");
    let mut sets = Vec::new();
    let sample_only = std::env::var_os("VECTABLE_BENCH_SAMPLE").is_some();
    for (dir, tag, quick) in [
        ("debian_packages", "20K", true),
        ("debian_packages_63k", "63K", ACCESS_63K_QUICK),
    ] {
        let d = shared.join(dir);
        if !sample_only && d.join("packages.parquet").exists() && (cx.full || quick) {
            sets.push(RealSet {
                tag,
                parquet: d.join("packages.parquet"),
                queries: d.join("queries_dev.npy"),
                filters: d.join("filter_dev.txt"),
                gt: Some(d.join("gt_dev.npy")),
            });
        }
    }
    if sets.is_empty() {
        let s = repo.join("data/samples");
        sets.push(RealSet {
            tag: "5K sample",
            parquet: s.join("debian_packages_5k.parquet"),
            queries: s.join("queries_dev.npy"),
            filters: s.join("filter_dev.txt"),
            gt: None,
        });
    }
    sets
}

/// Whether the quick mode (`make bench`) includes the 63K set: measured on 2 busy cores, the
/// suite took 136–188 s with both sets (20K 36–50 s, 63K 95–138 s; four runs), within its
/// budget of about 4 minutes.
const ACCESS_63K_QUICK: bool = true;

/// Selectivities of the synthetic filter `bucket < s` (bucket = id % 1000).
const BUCKETS: [(i64, &str); 5] = [
    (1, "0.1%"),
    (10, "1%"),
    (100, "10%"),
    (500, "50%"),
    (1000, "100%"),
];

/// Section indexes of the access suite's markdown tables.
struct AccessTables {
    unfiltered: usize,
    section: usize,
    synthetic: usize,
    count: usize,
}

/// Suite 7. Access paths on real data: unfiltered SQL kNN against raw USearch on the same file,
/// filtered kNN by section without and with a secondary index under each `filtered_knn`
/// setting, synthetic filters of known selectivity, and `count(*)` through an index.
fn suite_access(cx: &mut Ctx) {
    let sets = access_sets(cx);
    let rounds = 3;
    let t = AccessTables {
        unfiltered: cx.report.section(
            "Access 1. Unfiltered kNN, k = 10: SQL `SELECT id FROM packages ORDER BY embedding <=> $1 LIMIT 10` vs raw `usearch::Index::search` on vectable's own index file, separate passes (µs; p50 and p99 of each round: median (min–max) of 3 rounds)",
            &["data", "ef_search", "SQL p50", "SQL p99", "raw p50", "raw p99", "SQL / raw p50", "SQL − raw p50", "of which bind + plan (EXPLAIN p50)", "prepared `Statement` p50", "recall@10 SQL", "recall@10 raw"],
        ),
        section: cx.report.section(
            "Access 2. Filtered kNN with the dev filters, `… WHERE section = $2 ORDER BY embedding <=> $1 LIMIT 10` (µs; 3 rounds)",
            &["data", "secondary index on section", "filtered_knn", "ef_search", "strategy (EXPLAIN, per query)", "estimated / actual matching rows", "p50", "p99", "recall@10", "% short of min(k, matching)", "p50 / unfiltered p50"],
        ),
        synthetic: cx.report.section(
            "Access 3. Synthetic filters on the real rows, `WHERE bucket < s` (bucket = id % 1000), filtered_knn = auto, ef_search 40 (µs; 3 rounds)",
            &["data", "selectivity", "matching rows", "index on bucket", "strategy (EXPLAIN)", "estimated / actual matching rows", "p50", "p99", "recall@10", "rows = min(k, matching)", "p50 / unfiltered p50"],
        ),
        count: cx.report.section(
            "Access 4. `SELECT count(*) FROM packages WHERE section = $1` (µs; p50 of 10 runs, median (min–max) of 3 rounds)",
            &["data", "section", "matching rows", "p50 without index", "p50 with index", "µs per matching row (with index)", "without / with"],
        ),
    };
    let mut out = Vec::new();
    for set in &sets {
        let started = Instant::now();
        let j = access_on(cx, set, rounds, &t);
        eprintln!(
            "access {}: {:.0} s",
            set.tag,
            started.elapsed().as_secs_f64()
        );
        out.push(j);
    }
    cx.report.note(t.unfiltered, format!("Targets: SQL / raw p50 ≤ 1.10 and a fixed cost per query (SQL p50 − raw p50) of about 15 µs. The raw index is `Index::restore_view` of `<dir>/vectors/packages_embedding.usearch` with the same `expansion_search`; each round runs all queries through `Database::query`, then all through raw USearch, then `EXPLAIN` of the same text (bind + plan: the statement cache holds the parse), then a prepared `Statement`, each pass timed after an untimed pass of the same path (so each starts with its own data in the CPU caches). {}", access_target_line(&out, "unfiltered")));
    cx.report.note(t.section, format!("Targets: with the index, p50 ≤ 1.5 × the unfiltered SQL p50 (same ef_search) and recall@10 ≥ 0.99; without it, p50 ≤ 3 ×; 0% of queries short of min(k, matching) rows. recall@10 is against the dataset's `gt_dev_filtered.npy` (brute force on the 5K sample), denominator min(10, matching). The `filtered_knn = index` rows force the graph: filtered HNSW with a secondary index, iterative without. {}", access_target_line(&out, "section")));
    cx.report.note(t.synthetic, format!("Ground truth is brute force in the bench (cosine = 1 − dot on these unit vectors) over the rows with bucket < s; no target was set beyond 0 short queries, but recall below 0.99 is flagged. {}", access_target_line(&out, "synthetic")));
    cx.report.note(t.count, "Without an index `count(*)` scans every row's scalar columns; with one it counts the index keys in the range and reads no row, so its time follows the matching rows.".into());
    cx.report.json.insert(
        "access".into(),
        json!({"k": K, "rounds": rounds, "datasets": out, "targets": {
            "sql_over_raw_p50": 1.10, "fixed_cost_us": 15.0,
            "filtered_p50_over_unfiltered_with_index": 1.5, "filtered_p50_over_unfiltered_without_index": 3.0,
            "filtered_recall_with_index": 0.99, "short_queries_pct": 0.0}}),
    );
    for s in [t.unfiltered, t.section, t.synthetic, t.count] {
        cx.report.print_section(s);
    }
}

/// `met` / `missed` per data set for one part of the access suite, from its JSON.
fn access_target_line(out: &[Json], part: &str) -> String {
    let mut parts = Vec::new();
    for d in out {
        let tag = d["dataset"].as_str().unwrap_or("?");
        let verdicts = d["verdicts"][part].as_array().cloned().unwrap_or_default();
        let text: Vec<String> = verdicts
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        parts.push(format!("{tag}: {}", text.join("; ")));
    }
    parts.join(". ")
}

/// Reads a float32 `.npy` of shape (n, d) into rows.
fn read_f32_rows(path: &Path) -> Vec<Vec<f32>> {
    let (n, d, descr, b) = read_npy(path);
    assert_eq!(descr, "<f4", "{}", path.display());
    (0..n)
        .map(|i| {
            b[i * d * 4..(i + 1) * d * 4]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
        .collect()
}

fn access_on(cx: &mut Ctx, set: &RealSet, rounds: usize, t: &AccessTables) -> Json {
    let tag = set.tag;
    let dir = cx.base.join(format!("access_{}", tag.replace(' ', "_")));
    let _ = std::fs::remove_dir_all(&dir);
    let db = Database::open(&dir).unwrap();
    let t0 = Instant::now();
    db.execute("CREATE TABLE packages (id INTEGER PRIMARY KEY, name TEXT, section TEXT, component TEXT, priority TEXT, installed_size INTEGER, version TEXT, description TEXT, embedding VECTOR(384), bucket INTEGER)", ()).unwrap();
    // COPY matches Parquet columns by name and leaves `bucket` (not in the file) NULL.
    db.execute(
        &format!(
            "COPY packages FROM '{}' WITH (FORMAT parquet)",
            set.parquet.display()
        ),
        (),
    )
    .unwrap();
    let copy_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    db.execute("UPDATE packages SET bucket = id % 1000", ())
        .unwrap();
    let update_s = t0.elapsed().as_secs_f64();
    // The rows, in memory for the ground truth.
    let rows = db
        .query("SELECT id, section, embedding FROM packages", ())
        .unwrap();
    let n = rows.len();
    let dims = 384;
    let mut vecs = vec![0f32; n * dims];
    let mut sections = vec![String::new(); n];
    for r in rows.iter() {
        let id: i64 = r.get(0).unwrap();
        let id = id as usize;
        assert!(id < n, "ids are 0..n-1");
        sections[id] = r.get(1).unwrap();
        let v: Vec<f32> = r.get(2).unwrap();
        vecs[id * dims..(id + 1) * dims].copy_from_slice(&v);
    }
    drop(rows);
    let qs = read_f32_rows(&set.queries);
    let filters: Vec<String> = std::fs::read_to_string(&set.filters)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let nq = qs.len().min(filters.len());
    let buckets: Vec<i64> = (0..n as i64).map(|i| i % 1000).collect();
    // Brute-force ground truth: unfiltered, per dev filter, and per synthetic selectivity.
    let t0 = Instant::now();
    let mut bf_plain = Vec::with_capacity(nq);
    let mut bf_section = Vec::with_capacity(nq);
    let mut bf_bucket: Vec<Vec<Vec<i64>>> = vec![Vec::with_capacity(nq); BUCKETS.len()];
    for (q, sec) in qs.iter().zip(&filters).take(nq) {
        let mut all: Vec<(f64, i64)> = (0..n)
            .map(|id| {
                let v = &vecs[id * dims..(id + 1) * dims];
                let dot: f64 = v.iter().zip(q).map(|(a, b)| *a as f64 * *b as f64).sum();
                (1.0 - dot, id as i64)
            })
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let top = |keep: &dyn Fn(usize) -> bool| -> Vec<i64> {
            all.iter()
                .filter(|(_, id)| keep(*id as usize))
                .take(K)
                .map(|x| x.1)
                .collect()
        };
        bf_plain.push(top(&|_| true));
        bf_section.push(top(&|id| sections[id] == *sec));
        for (b, (s, _)) in BUCKETS.iter().enumerate() {
            bf_bucket[b].push(top(&|id| buckets[id] < *s));
        }
    }
    let gt_s = t0.elapsed().as_secs_f64();
    let (truth, ftruth) = match &set.gt {
        Some(p) => (
            read_ground_truth(p),
            read_ground_truth(&p.with_file_name("gt_dev_filtered.npy"))
                .into_iter()
                .map(|ids| ids.into_iter().filter(|id| *id >= 0).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
        ),
        None => (bf_plain.clone(), bf_section.clone()),
    };
    // The bench's brute force against the dataset's ground truth (1.0 unless ties differ).
    let agree = bf_plain
        .iter()
        .zip(&truth)
        .map(|(a, b)| recall(a, b))
        .sum::<f64>()
        / nq as f64;
    let agree_f = bf_section
        .iter()
        .zip(&ftruth)
        .map(|(a, b)| recall(a, b))
        .sum::<f64>()
        / nq as f64;
    let section_rows = |sec: &str| sections.iter().filter(|s| *s == sec).count();
    let q = |i: usize| &qs[i][..];

    // 1. Unfiltered kNN, SQL vs raw USearch.
    let knn = "SELECT id FROM packages ORDER BY embedding <=> $1 LIMIT 10";
    let t0 = Instant::now();
    db.query(knn, params![q(0)]).unwrap(); // lazy build + save
    let build_s = t0.elapsed().as_secs_f64();
    db.checkpoint().unwrap();
    let file = dir.join("vectors").join("packages_embedding.usearch");
    let raw = usearch::Index::restore_view(file.to_str().unwrap()).unwrap();
    // Rowids are assigned in COPY order from 0, so a row's USearch key is its id; checked here.
    let key_is_id = (0..n)
        .step_by((n / 50).max(1))
        .filter(|&id| {
            raw.search(&vecs[id * dims..(id + 1) * dims], 1)
                .unwrap()
                .keys
                .first()
                == Some(&(id as u64))
        })
        .count();
    let key_is_id = key_is_id * 10 >= 9 * (0..n).step_by((n / 50).max(1)).count();
    let mut unfiltered_p50 = std::collections::HashMap::new();
    let mut j_unf = Vec::new();
    let mut v_unf = Vec::new();
    for ef in [40usize, 64] {
        db.execute(&format!("SET ef_search = {ef}"), ()).unwrap();
        raw.change_expansion_search(ef);
        let (mut sp50, mut sp99, mut rp50, mut rp99) = (vec![], vec![], vec![], vec![]);
        let explain_knn = format!("EXPLAIN {knn}");
        let prepared = db.prepare(knn).unwrap();
        let (mut ep50, mut pp50) = (vec![], vec![]);
        let (mut srec, mut rrec) = (0.0, 0.0);
        for round in 0..rounds {
            let sql_t = warm_then_time(nq, |i| ids_of(&db.query(knn, params![q(i)]).unwrap()));
            sp50.push(sql_t.p50.median);
            sp99.push(sql_t.p99.median);
            let raw_t = warm_then_time(nq, |i| raw.search(q(i), K).unwrap().keys);
            rp50.push(raw_t.p50.median);
            rp99.push(raw_t.p99.median);
            let explain_t =
                warm_then_time(nq, |i| db.query(&explain_knn, params![q(i)]).unwrap().len());
            ep50.push(explain_t.p50.median);
            let prep_t = warm_then_time(nq, |i| prepared.query(params![q(i)]).unwrap().len());
            pp50.push(prep_t.p50.median);
            let (got, rgot) = (&sql_t.first, &raw_t.first);
            if round == 0 {
                for i in 0..nq {
                    assert_eq!(got[i].len(), K);
                    srec += recall(&got[i], &truth[i]);
                    let ids: Vec<i64> = rgot[i].iter().map(|k| *k as i64).collect();
                    rrec += recall(&ids, &truth[i]);
                }
            }
        }
        let (sp, rp) = (stat(&sp50), stat(&rp50));
        let (srec, rrec) = (
            srec / nq as f64,
            if key_is_id {
                rrec / nq as f64
            } else {
                f64::NAN
            },
        );
        let ratio = sp.median / rp.median;
        let fixed = sp.median - rp.median;
        let (ep, pp) = (stat(&ep50), stat(&pp50));
        unfiltered_p50.insert(ef, sp.median);
        cx.report.row(
            t.unfiltered,
            vec![
                tag.into(),
                ef.to_string(),
                show(sp),
                show(stat(&sp99)),
                show(rp),
                show(stat(&rp99)),
                format!("{ratio:.2}×"),
                fmt(fixed),
                show(ep),
                show(pp),
                format!("{srec:.3}"),
                format!("{rrec:.3}"),
            ],
        );
        v_unf.push(format!(
            "ef {ef}: ratio {ratio:.2}× {} (≤ 1.10), fixed cost {} µs {} (≈ 15)",
            met(ratio <= 1.10),
            fmt(fixed),
            met(fixed <= 20.0)
        ));
        j_unf.push(
            json!({"ef_search": ef, "sql_p50_us": sj(sp), "sql_p99_us": sj(stat(&sp99)),
            "raw_p50_us": sj(rp), "raw_p99_us": sj(stat(&rp99)), "sql_over_raw_p50": ratio,
            "fixed_cost_us": fixed, "explain_p50_us": sj(ep), "prepared_p50_us": sj(pp), "recall_at_10_sql": srec, "recall_at_10_raw": rrec}),
        );
    }
    drop(raw);

    // 4 (without an index). count(*) by section: the smallest, a middle one and the largest
    // sections, and the largest dev filter.
    let mut by_size: Vec<(String, usize)> = Vec::new();
    for s in &sections {
        match by_size.iter_mut().find(|(m, _)| m == s) {
            Some(c) => c.1 += 1,
            None => by_size.push((s.clone(), 1)),
        }
    }
    by_size.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut count_secs: Vec<(String, usize)> = vec![
        by_size[0].clone(),
        by_size[by_size.len() / 2].clone(),
        by_size[by_size.len() * 9 / 10].clone(),
        by_size[by_size.len() - 1].clone(),
    ];
    count_secs.dedup();
    let count_sql = "SELECT count(*) FROM packages WHERE section = $1";
    let count_pass = |db: &Database| -> Vec<(Stat, i64)> {
        count_secs
            .iter()
            .map(|(sec, _)| {
                db.query(count_sql, params![sec.as_str()]).unwrap(); // warm
                let tm = timed_rounds(rounds, 10, |_| {
                    db.query(count_sql, params![sec.as_str()])
                        .unwrap()
                        .iter()
                        .next()
                        .unwrap()
                        .get::<i64>(0)
                        .unwrap()
                });
                (tm.p50, tm.first[0])
            })
            .collect()
    };
    let counts_without = count_pass(&db);

    // 2 and 3. Filtered kNN, by section and synthetic, under a setting.
    let fsql = "SELECT id FROM packages WHERE section = $2 ORDER BY embedding <=> $1 LIMIT 10";
    let bsql = "SELECT id FROM packages WHERE bucket < $2 ORDER BY embedding <=> $1 LIMIT 10";
    let mut j_sec = Vec::new();
    let mut v_sec = Vec::new();
    let mut section_pass = |cx: &mut Ctx, indexed: bool, mode: &str, ef: usize| {
        db.execute(&format!("SET filtered_knn = {mode}"), ())
            .unwrap();
        db.execute(&format!("SET ef_search = {ef}"), ()).unwrap();
        let (strategies, estimates): (Vec<String>, Vec<Option<f64>>) = (0..nq)
            .map(|i| explained(&db, fsql, params![q(i), filters[i].as_str()]))
            .unzip();
        let actual: Vec<usize> = (0..nq).map(|i| section_rows(&filters[i])).collect();
        let est = estimate_ratio(&estimates, &actual);
        for (i, f) in filters.iter().enumerate().take(nq.min(5)) {
            db.query(fsql, params![q(i), f.as_str()]).unwrap(); // warm
        }
        let tm = timed_rounds(rounds, nq, |i| {
            ids_of(&db.query(fsql, params![q(i), filters[i].as_str()]).unwrap())
        });
        let (p50, p99, got, w) = (tm.p50, tm.p99, &tm.first, tm.slowest());
        let slowest = json!({"query": w, "filter": filters[w], "matching": section_rows(&filters[w]),
            "us": tm.first_us[w],
            "explain_analyze": analyzed(&db, fsql, params![q(w), filters[w].as_str()])});
        let mut rec = 0.0;
        let mut short = 0;
        for i in 0..nq {
            rec += recall(&got[i], &ftruth[i]);
            if got[i].len() < K.min(section_rows(&filters[i])) {
                short += 1;
            }
        }
        let rec = rec / nq as f64;
        let short_pct = 100.0 * short as f64 / nq as f64;
        let ratio = p50.median / unfiltered_p50[&ef];
        let (strat, sj_) = tally(&strategies);
        cx.report.row(
            t.section,
            vec![
                tag.into(),
                if indexed { "yes" } else { "no" }.into(),
                mode.into(),
                ef.to_string(),
                strat,
                show_ratio(est),
                show(p50),
                show(p99),
                format!("{rec:.3}"),
                format!("{short_pct:.0}%"),
                format!("{ratio:.2}×"),
            ],
        );
        if mode == "auto" {
            let limit = if indexed { 1.5 } else { 3.0 };
            let mut v = format!(
                "{} index, ef {ef}: p50 ratio {ratio:.2}× {} (≤ {limit})",
                if indexed { "with" } else { "without" },
                met(ratio <= limit)
            );
            if indexed {
                v += &format!(", recall {rec:.3} {} (≥ 0.99)", met(rec >= 0.99));
            }
            v += &format!(", short {short_pct:.0}% {}", met(short == 0));
            v_sec.push(v);
        }
        j_sec.push(
            json!({"secondary_index": indexed, "filtered_knn": mode, "ef_search": ef,
            "strategies": sj_, "estimate_over_actual": est.map(sj), "p50_us": sj(p50), "p99_us": sj(p99), "recall_at_10": rec,
            "short_pct": short_pct, "p50_over_unfiltered_p50": ratio, "slowest_query": slowest}),
        );
    };
    let mut j_syn = Vec::new();
    let mut v_syn = Vec::new();
    let mut synthetic_pass = |cx: &mut Ctx, indexed: bool| {
        db.execute("SET filtered_knn = auto", ()).unwrap();
        db.execute("SET ef_search = 40", ()).unwrap();
        for (b, (s, label)) in BUCKETS.iter().enumerate() {
            let matching = buckets.iter().filter(|x| **x < *s).count();
            let (strategies, estimates): (Vec<String>, Vec<Option<f64>>) = (0..nq)
                .map(|i| explained(&db, bsql, params![q(i), *s]))
                .unzip();
            let est = estimate_ratio(&estimates, &vec![matching; nq]);
            db.query(bsql, params![q(0), *s]).unwrap(); // warm
            let tm = timed_rounds(rounds, nq, |i| {
                ids_of(&db.query(bsql, params![q(i), *s]).unwrap())
            });
            let (p50, p99, got, w) = (tm.p50, tm.p99, &tm.first, tm.slowest());
            let slowest = json!({"query": w, "us": tm.first_us[w],
                "explain_analyze": analyzed(&db, bsql, params![q(w), *s])});
            let mut rec = 0.0;
            let mut exact_count = true;
            for i in 0..nq {
                rec += recall(&got[i], &bf_bucket[b][i]);
                exact_count &= got[i].len() == K.min(matching);
            }
            let rec = rec / nq as f64;
            let ratio = p50.median / unfiltered_p50[&40];
            let (strat, sj_) = tally(&strategies);
            cx.report.row(
                t.synthetic,
                vec![
                    tag.into(),
                    label.to_string(),
                    matching.to_string(),
                    if indexed { "yes" } else { "no" }.into(),
                    strat,
                    show_ratio(est),
                    show(p50),
                    show(p99),
                    format!("{rec:.3}"),
                    exact_count.to_string(),
                    format!("{ratio:.2}×"),
                ],
            );
            if rec < 0.99 || !exact_count {
                v_syn.push(format!(
                    "{label} {} index: recall {rec:.3}{}",
                    if indexed { "with" } else { "without" },
                    if exact_count { "" } else { ", **rows short**" }
                ));
            }
            j_syn.push(
                json!({"selectivity": label, "bucket_lt": s, "matching": matching,
                "secondary_index": indexed, "strategies": sj_, "estimate_over_actual": est.map(sj), "p50_us": sj(p50), "p99_us": sj(p99),
                "recall_at_10": rec, "exact_count": exact_count, "p50_over_unfiltered_p50": ratio,
                "slowest_query": slowest}),
            );
        }
    };
    let t_parts = Instant::now();
    for mode in ["auto", "exact", "index"] {
        section_pass(cx, false, mode, 40);
    }
    synthetic_pass(cx, false);
    let no_index_s = t_parts.elapsed().as_secs_f64();
    let t0 = Instant::now();
    db.execute("CREATE INDEX packages_section ON packages (section)", ())
        .unwrap();
    let index_section_s = t0.elapsed().as_secs_f64();
    db.execute("CREATE INDEX packages_bucket ON packages (bucket)", ())
        .unwrap();
    let t_parts = Instant::now();
    for (mode, ef) in [("auto", 40), ("exact", 40), ("index", 40), ("auto", 64)] {
        section_pass(cx, true, mode, ef);
    }
    synthetic_pass(cx, true);
    let with_index_s = t_parts.elapsed().as_secs_f64();
    db.execute("SET filtered_knn = auto", ()).unwrap();
    db.execute("SET ef_search = 40", ()).unwrap();
    if v_syn.is_empty() {
        v_syn.push("recall ≥ 0.99 and min(k, matching) rows at every selectivity".into());
    }

    // 4 (with the index).
    let counts_with = count_pass(&db);
    let mut j_cnt = Vec::new();
    for (((sec, m), (a, ca)), (b, cb)) in count_secs.iter().zip(&counts_without).zip(&counts_with) {
        assert_eq!(*ca as usize, *m, "count(*) without index, section {sec}");
        assert_eq!(*cb as usize, *m, "count(*) with index, section {sec}");
        cx.report.row(
            t.count,
            vec![
                tag.into(),
                format!("`{sec}`"),
                m.to_string(),
                show(*a),
                show(*b),
                format!("{:.3}", b.median / *m as f64),
                format!("{:.0}×", a.median / b.median),
            ],
        );
        j_cnt.push(
            json!({"section": sec, "matching": m, "p50_us_without_index": sj(*a),
            "p50_us_with_index": sj(*b), "us_per_matching_row_with_index": b.median / *m as f64,
            "us_per_table_row_without_index": a.median / n as f64}),
        );
    }
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    json!({"dataset": tag, "rows": n, "queries": nq, "parquet": set.parquet.display().to_string(),
        "ground_truth": if set.gt.is_some() { "dataset gt_dev*.npy" } else { "brute force" },
        "bruteforce_vs_dataset_gt": {"unfiltered": agree, "filtered": agree_f},
        "seconds": {"copy": copy_s, "update_bucket": update_s, "ground_truth": gt_s, "lazy_build_first_query": build_s,
            "create_index_section": index_section_s, "parts_without_index": no_index_s, "parts_with_index": with_index_s},
        "unfiltered": j_unf, "section_filter": j_sec, "synthetic": j_syn, "count": j_cnt,
        "verdicts": {"unfiltered": v_unf, "section": v_sec, "synthetic": v_syn}})
}

#[path = "suites/synchronous.rs"]
mod synchronous;

#[path = "suites/live.rs"]
mod live;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..]);
        return;
    }
    let full = args.iter().any(|a| a == "--full");
    let json_path = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/results.json"));
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').map(str::to_string).collect());
    let cases: Option<Vec<(usize, usize)>> = args
        .iter()
        .position(|a| a == "--cases")
        .and_then(|i| args.get(i + 1))
        .map(|s| {
            s.split(',')
                .map(|c| {
                    let (n, d) = c.split_once('x').expect("--cases ROWSxDIMS,...");
                    (n.parse().unwrap(), d.parse().unwrap())
                })
                .collect()
        });
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/work");
    std::fs::create_dir_all(&base).unwrap();
    let mut cx = Ctx {
        full,
        cases,
        base: base.clone(),
        report: Report::default(),
    };
    println!(
        "# vectable benchmarks ({} mode, {} cores)",
        if full { "full" } else { "quick" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let started = Instant::now();
    type Suite = (&'static str, fn(&mut Ctx));
    let suites: [Suite; 9] = [
        ("reload", suite_reload),
        ("overhead", suite_overhead),
        ("recall", suite_recall),
        ("access", suite_access),
        ("filtered", suite_filtered),
        ("ingest", suite_ingest),
        ("concurrency", suite_concurrency),
        ("synchronous", synchronous::suite_synchronous),
        ("live", live::suite_live),
    ];
    for (name, f) in suites {
        if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == name)) {
            continue;
        }
        let t = Instant::now();
        f(&mut cx);
        eprintln!("suite {name}: {:.0} s", t.elapsed().as_secs_f64());
    }
    cx.report
        .json
        .insert("mode".into(), json!(if full { "full" } else { "quick" }));
    cx.report
        .json
        .insert("seconds".into(), json!(started.elapsed().as_secs_f64()));
    if let Some(dir) = json_path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&Json::Object(cx.report.json)).unwrap(),
    )
    .unwrap();
    println!(
        "\n(total {:.0} s; JSON in {})",
        started.elapsed().as_secs_f64(),
        json_path.display()
    );
    let _ = std::fs::remove_dir_all(&base);
}
