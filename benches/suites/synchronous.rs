//! Suite `synchronous`: single-row `INSERT` rate on an indexed table at each `SET synchronous`
//! level, and the cost of the WAL fsync per statement (`full` − `normal`).
//!
//! Each run inserts into a fresh table with an HNSW index (cosine, 384 dimensions), one row
//! per statement through a prepared `INSERT … VALUES ($1, $2, $3)`, in `target/bench/work`
//! (the disk the fsync cost depends on). Levels are interleaved run by run, so that a
//! disturbance of the machine hits all three alike.

use std::time::Instant;

use serde_json::json;
use vectable::{params, Synchronous};

use super::{empty_table, fmt, show, sj, stat, unit_vectors, Ctx};

/// Rows per run: 2,000 in the quick mode, 10,000 with `--full`.
pub(crate) fn suite_synchronous(cx: &mut Ctx) {
    let n = if cx.full { 10_000usize } else { 2_000 };
    let dims = 384usize;
    let reps = 3;
    let vecs = unit_vectors(n, dims, 11);
    let levels = [Synchronous::Full, Synchronous::Normal, Synchronous::Off];
    // rates[level][rep]: rows per second.
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); levels.len()];
    for _ in 0..reps {
        for (l, level) in levels.iter().enumerate() {
            rates[l].push(insert_rate(cx, *level, &vecs, n, dims));
        }
    }
    let s = cx.report.section(
        &format!(
            "Single-row INSERT into an indexed table ({} rows × {dims}, cosine HNSW) by `SET synchronous`",
            n
        ),
        &["synchronous", "rows/s", "µs per INSERT", "rows/s vs normal"],
    );
    let normal = stat(&rates[1]).median;
    let mut out = serde_json::Map::new();
    for (l, level) in levels.iter().enumerate() {
        let r = stat(&rates[l]);
        let us: Vec<f64> = rates[l].iter().map(|x| 1e6 / x).collect();
        cx.report.row(
            s,
            vec![
                format!("`{level}`"),
                show(r),
                show(stat(&us)),
                format!("{:.2}", r.median / normal),
            ],
        );
        out.insert(
            level.to_string(),
            json!({"rows_per_s": sj(r), "us_per_insert": sj(stat(&us))}),
        );
    }
    // The WAL fsync per statement: full − normal, run by run.
    let fsync_us: Vec<f64> = rates[0]
        .iter()
        .zip(&rates[1])
        .map(|(f, nm)| 1e6 / f - 1e6 / nm)
        .collect();
    let cost = stat(&fsync_us);
    cx.report.note(
        s,
        format!(
            "WAL fsync per statement (`full` − `normal`): {} µs (median of {reps} runs, min–max {}–{}).",
            fmt(cost.median),
            fmt(cost.min),
            fmt(cost.max)
        ),
    );
    out.insert("fsync_us_per_statement".into(), sj(cost));
    cx.report
        .json
        .insert("synchronous".into(), serde_json::Value::Object(out));
    cx.report.print_section(s);
}

/// Rows per second of `n` single-row INSERTs at `level` into a fresh indexed table.
fn insert_rate(cx: &Ctx, level: Synchronous, vecs: &[f32], n: usize, dims: usize) -> f64 {
    let dir = cx.base.join("synchronous");
    let db = empty_table(&dir, dims, true);
    db.execute(&format!("SET synchronous = {level}"), ())
        .unwrap();
    assert_eq!(db.synchronous(), level);
    let insert = db.prepare("INSERT INTO t VALUES ($1, $2, $3)").unwrap();
    let t0 = Instant::now();
    for i in 0..n {
        let v = vecs[i * dims..(i + 1) * dims].to_vec();
        insert
            .execute(params![i as i64, (i % 1000) as i64, v])
            .unwrap();
    }
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    drop(insert);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    rate
}
