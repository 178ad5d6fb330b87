//! vectable's benchmark suite: reload vs rebuild, SQL overhead over raw USearch, recall/speed
//! on real data, filtered kNN, ingest, concurrency.
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
//! `reload`, `overhead`, `recall`, `filtered`, `ingest`, `concurrency`. `--cases` restricts the
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

/// Suite 4. Filtered kNN at 0.1%–50% selectivity on 100K × 768.
fn suite_filtered(cx: &mut Ctx) {
    let dir = table_100k(cx);
    let d = BIG_DIMS;
    let vecs = unit_vectors(100_000, d, 1);
    let db = Database::open(&dir).unwrap();
    let nq = 30;
    let qs = unit_vectors(nq, d, 11);
    let s = cx.report.section(
        "Filtered kNN on 100K × 768, k = 10 (`WHERE bucket < b`, 30 queries × 3 rounds; µs)",
        &[
            "selectivity",
            "matching rows",
            "strategy",
            "recall@10",
            "rows returned = min(k, matching)",
            "p50 latency",
        ],
    );
    let mut out = Vec::new();
    // `None`: no WHERE clause at all, the unfiltered baseline on the same data.
    for (b, label) in [
        (Some(1i64), "0.1%"),
        (Some(10), "1%"),
        (Some(100), "10%"),
        (Some(500), "50%"),
        (None, "no WHERE"),
    ] {
        let matching: Vec<usize> = (0..100_000)
            .filter(|i| b.is_none_or(|b| (*i as i64 % 1000) < b))
            .collect();
        let mut rec = 0.0;
        let mut exact_count = true;
        let mut p50s = Vec::new();
        for round in 0..3 {
            let mut lat = Vec::new();
            for i in 0..nq {
                let q = &qs[i * d..(i + 1) * d];
                let t0 = Instant::now();
                let r = match b {
                    Some(b) => db.query(
                        "SELECT id FROM t WHERE bucket < $2 ORDER BY v <=> $1 LIMIT 10",
                        params![q.to_vec(), b],
                    ),
                    None => db.query(
                        "SELECT id FROM t ORDER BY v <=> $1 LIMIT 10",
                        params![q.to_vec()],
                    ),
                }
                .unwrap();
                lat.push(t0.elapsed().as_secs_f64() * 1e6);
                if round == 0 {
                    exact_count &= r.len() == K.min(matching.len());
                    let mut all: Vec<(i64, f64)> = matching
                        .iter()
                        .map(|&id| (id as i64, cosine(&vecs[id * d..(id + 1) * d], q)))
                        .collect();
                    all.sort_by(|a, b| a.1.total_cmp(&b.1));
                    let t: Vec<i64> = all.iter().take(K).map(|x| x.0).collect();
                    rec += recall(&ids_of(&r), &t);
                }
            }
            p50s.push(percentile(&lat, 50.0));
        }
        let strategy = if b.is_none() {
            "HNSW search (no filter)"
        } else {
            "scan + exact top-k"
        };
        let p = stat(&p50s);
        let r = rec / nq as f64;
        cx.report.row(
            s,
            vec![
                label.into(),
                matching.len().to_string(),
                strategy.into(),
                format!("{r:.3}"),
                exact_count.to_string(),
                show(p),
            ],
        );
        out.push(json!({"selectivity": label, "matching": matching.len(), "recall_at_10": r, "exact_count": exact_count, "p50_us": sj(p)}));
    }
    cx.report.note(s, "Target: recall@10 ≥ 0.95 at every selectivity with exactly min(k, matching) rows. A `WHERE` is evaluated by scanning all 100K rows, and the scan computes exact distances over the matching rows (a top-k sort), so filtered recall is exact by construction and the latency is the scan's. Random Gaussian 768-d vectors have no cluster structure, the hardest case for HNSW: the `no WHERE` row is the index's own recall on this data; on the real data it is in the recall section.".into());
    cx.report.json.insert("filtered".into(), Json::Array(out));
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
    let suites: [Suite; 6] = [
        ("reload", suite_reload),
        ("overhead", suite_overhead),
        ("recall", suite_recall),
        ("filtered", suite_filtered),
        ("ingest", suite_ingest),
        ("concurrency", suite_concurrency),
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
