#!/usr/bin/env python3
"""Docket's benchmark driver (run through scripts/bench). Every figure is printed beside a baseline
measured in the same run on the same rows, as a ratio."""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

COLUMNS = ["id", "prompt", "response", "category", "risk", "uncertainty", "diversity", "embedding", "meta"]


def generate(path_jsonl, path_csv, n, seed, with_embedding, dim=16):
    """Items with given diversity (or embeddings), written as JSONL and as CSV with the same values."""
    rng = random.Random(seed)
    cats = ["violence", "weapons", "self-harm", "fraud", "privacy", "hate", "medical", "cyber"]
    with open(path_jsonl, "w") as fj, open(path_csv, "w") as fc:
        fc.write(",".join(c for c in COLUMNS if with_embedding or c != "embedding") + "\n")
        for i in range(n):
            risk = round(rng.betavariate(2, 5), 4)
            unc = round(rng.random(), 4)
            row = {"id": f"it{i:08d}", "prompt": f"prompt number {i} about {cats[i % 8]}",
                   "response": f"response text {i} with some words in it", "category": cats[i % 8],
                   "risk": risk, "uncertainty": unc}
            if with_embedding:
                v = [rng.gauss(0, 1) for _ in range(dim)]
                row["embedding"] = [round(x, 4) for x in v]
            else:
                row["diversity"] = round(rng.random(), 4)
            row["meta"] = {"batch": i // 1000}
            fj.write(json.dumps(row, separators=(",", ":")) + "\n")
            cells = []
            for c in COLUMNS:
                if c == "embedding" and not with_embedding:
                    continue
                v = row.get(c)
                if v is None:
                    cells.append("")
                elif isinstance(v, (list, dict)):
                    cells.append('"' + json.dumps(v, separators=(",", ":")).replace('"', '""') + '"')
                else:
                    cells.append(str(v))
            fc.write(",".join(cells) + "\n")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def timed_peak(cmd):
    """Wall time and peak RSS (MB) of a command, via GNU time."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    peak_kb = int(p.stderr.strip().splitlines()[-1])
    return elapsed, peak_kb / 1024


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docket", required=True)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--claims", type=int, default=2000, help="claims per process")
    args = ap.parse_args()
    docket = args.docket
    os.makedirs(args.out, exist_ok=True)
    report = []

    def say(line):
        print(line, flush=True)
        report.append(line)

    for n in [int(s) for s in args.sizes.split(",")]:
        say(f"\n== {n:,} items ==")
        jl, csv = os.path.join(args.out, f"items-{n}.jsonl"), os.path.join(args.out, f"items-{n}.csv")
        if not os.path.exists(jl):
            generate(jl, csv, n, seed=n, with_embedding=False)
        db = os.path.join(args.out, f"docket-{n}.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        run([docket, "init", "--db", db, "--labels", "safe,borderline,unsafe", "--overlap", "2", "--seed", "1"])
        t_docket, peak = timed_peak([docket, "import", "items", "--db", db, jl])
        # Baseline: the sqlite3 shell importing the same rows as CSV into a plain table.
        base = os.path.join(args.out, f"baseline-{n}.db")
        if os.path.exists(base):
            os.remove(base)
        schema = "CREATE TABLE items (" + ", ".join(f"{c} TEXT" for c in COLUMNS if c != "embedding") + ");"
        t0 = time.perf_counter()
        run(["sqlite3", base], input=f"{schema}\n.mode csv\n.import --skip 1 {csv} items\n")
        t_sqlite = time.perf_counter() - t0
        # Like for like: the same rows into a WAL table with Docket's two per-item indexes
        # (unique id, and the queue's (score DESC, id)).
        os.remove(base)
        indexed = ("PRAGMA journal_mode=WAL;\nCREATE TABLE items (seq INTEGER PRIMARY KEY, " + ", ".join(f"{c} TEXT" for c in COLUMNS if c != "embedding")
                   + ", UNIQUE (id));\nCREATE INDEX q ON items (risk DESC, id);")
        cols = ",".join(c for c in COLUMNS if c != "embedding")
        t0 = time.perf_counter()
        run(["sqlite3", base], input=f"{indexed}\nCREATE TEMP TABLE raw ({cols});\n.mode csv\n.import --skip 1 {csv} raw\n"
                                     f"INSERT INTO items ({cols}) SELECT * FROM raw;\n")
        t_indexed = time.perf_counter() - t0
        say(f"import:  docket {n / t_docket:,.0f} rows/s ({t_docket:.2f} s); sqlite3 .import into a plain table {n / t_sqlite:,.0f} rows/s "
            f"({t_sqlite:.2f} s): ratio {t_sqlite / t_docket:.2f}; sqlite3 .import into the same indexes {n / t_indexed:,.0f} rows/s "
            f"({t_indexed:.2f} s): ratio {t_indexed / t_docket:.2f}")
        say(f"import peak memory: {peak:.0f} MB")
        t_csv, peak_csv = timed_peak([docket, "import", "items", "--db", db, csv])
        say(f"re-import of the same rows as CSV (all unchanged): {n / t_csv:,.0f} rows/s, peak {peak_csv:.0f} MB")

        # Queue preview in-process, and the whole command with process start.
        out = run([docket, "queue-timing", "--db", db, "--budget", "1000", "--repeats", "30"]).stdout
        ns = [int(l.split()[2]) for l in out.splitlines()]
        t0 = time.perf_counter()
        run([docket, "queue", "--db", db, "--budget", "1000", "--json"])
        whole = time.perf_counter() - t0
        t0 = time.perf_counter()
        run([docket, "--version"])
        startup = time.perf_counter() - t0
        say(f"queue --budget 1000: median {statistics.median(ns) / 1e6:.2f} ms, p99 {pct(ns, 0.99) / 1e6:.2f} ms in-process; "
            f"whole command {whole * 1000:.0f} ms (process start alone {startup * 1000:.0f} ms)")

        # Claim latency with 1, 4 and 8 processes claiming flat out.
        for procs in (1, 4, 8):
            names = [f"b{procs}-{i}" for i in range(procs)]
            for name in names:
                run([docket, "reviewers", "add", "--db", db, name])
            ps = [subprocess.Popen([docket, "claim-loop", "--db", db, "--as", name, "--count", str(args.claims)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in names]
            lat = []
            for p in ps:
                o, e = p.communicate()
                if p.returncode != 0:
                    sys.exit(e)
                lat += [int(l.split()[2]) for l in o.splitlines() if l.startswith("claim ")]
            say(f"claim, {procs} process{'es' if procs > 1 else ''}: p50 {pct(lat, 0.5) / 1e6:.3f} ms, "
                f"p99 {pct(lat, 0.99) / 1e6:.3f} ms over {len(lat):,} claims")
        # The reviewer's wait: from submitting a label to the next item ready to show.
        run([docket, "reviewers", "add", "--db", db, "timing"])
        out = run([docket, "review-timing", "--db", db, "--as", "timing", "--count", str(args.claims)]).stdout
        ns = [int(l.split()[2]) for l in out.splitlines() if l.startswith("next ")]
        say(f"submit to next item: p50 {pct(ns, 0.5) / 1e6:.3f} ms, p99 {pct(ns, 0.99) / 1e6:.3f} ms over {len(ns):,} submissions")
        t0 = time.perf_counter()
        chk = subprocess.run([docket, "check", "--db", db], capture_output=True, text=True)
        t_check = time.perf_counter() - t0
        say(f"check after the claim runs: {'OK' if chk.returncode == 0 else chk.stderr.strip()} ({t_check:.1f} s)")

    # Embedding diversity: the lazy greedy queue against items with given diversity, same size.
    n = 100_000
    jl, csv = os.path.join(args.out, f"emb-{n}.jsonl"), os.path.join(args.out, f"emb-{n}.csv")
    if not os.path.exists(jl):
        generate(jl, csv, n, seed=7, with_embedding=True)
    db = os.path.join(args.out, f"emb-{n}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    run([docket, "init", "--db", db, "--seed", "1"])
    run([docket, "import", "items", "--db", db, jl])
    out = run([docket, "queue-timing", "--db", db, "--budget", "1000", "--repeats", "5"]).stdout
    ns = [int(l.split()[2]) for l in out.splitlines()]
    say(f"\n== {n:,} items with 16-d embeddings (diversity by lazy greedy k-center) ==")
    say(f"queue --budget 1000: median {statistics.median(ns) / 1e6:.1f} ms in-process")
    with open(os.path.join(args.out, "report.txt"), "w") as f:
        f.write("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
