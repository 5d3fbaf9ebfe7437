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


def generate(path_jsonl, path_csv, n, seed, with_embedding, dim=16, prefix="it"):
    """Items with given diversity (or embeddings), written as JSONL and as CSV with the same values."""
    rng = random.Random(seed)
    cats = ["violence", "weapons", "self-harm", "fraud", "privacy", "hate", "medical", "cyber"]
    with open(path_jsonl, "w") as fj, open(path_csv, "w") as fc:
        fc.write(",".join(c for c in COLUMNS if with_embedding or c != "embedding") + "\n")
        for i in range(n):
            risk = round(rng.betavariate(2, 5), 4)
            unc = round(rng.random(), 4)
            row = {"id": f"{prefix}{i:08d}", "prompt": f"prompt number {i} about {cats[i % 8]}",
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


def remove_db(path):
    """A project's file and the files SQLite and Docket keep beside it."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


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
    ap.add_argument("--stats-items", type=int, default=1_000_000, help="items for the statistics benchmark (5 labels each)")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: session, queue, export, postgres, stats, clusters")
    ap.add_argument("--pg-items", type=int, default=100_000, help="items for the PostgreSQL benchmark")
    ap.add_argument("--cluster-sizes", default="16:100000,64:100000,384:100000,16:1000000,64:1000000,384:1000000",
                    help="DIM:ITEMS runs of exact near-duplicate grouping (1M items is the target; slow on diffuse data)")
    ap.add_argument("--session-items", type=int, default=200, help="items for the reviewer-session benchmark")
    args = ap.parse_args()
    docket = args.docket
    os.makedirs(args.out, exist_ok=True)
    report = []

    def say(line):
        print(line, flush=True)
        report.append(line)

    skip = set(args.skip.split(",")) if args.skip else set()
    if "clusters" not in skip:
        cluster_bench(docket, args, say)
    if "session" not in skip:
        session_bench(docket, args, say)
    for n in ([] if "queue" in skip else [int(s) for s in args.sizes.split(",")]):
        say(f"\n== {n:,} items ==")
        jl, csv = os.path.join(args.out, f"items-{n}.jsonl"), os.path.join(args.out, f"items-{n}.csv")
        if not os.path.exists(jl):
            generate(jl, csv, n, seed=n, with_embedding=False)
        db = os.path.join(args.out, f"docket-{n}.db")
        remove_db(db)
        run([docket, "init", "--db", db, "--labels", "safe,borderline,unsafe", "--overlap", "2", "--seed", "1"])
        os.sync()  # every timed import starts with no other writing pending
        t_docket, peak = timed_peak([docket, "import", "items", "--db", db, jl])
        # Baseline: the sqlite3 shell importing the same rows as CSV into a plain table.
        base = os.path.join(args.out, f"baseline-{n}.db")
        if os.path.exists(base):
            os.remove(base)
        schema = "CREATE TABLE items (" + ", ".join(f"{c} TEXT" for c in COLUMNS if c != "embedding") + ");"
        os.sync()
        t0 = time.perf_counter()
        run(["sqlite3", base], input=f"{schema}\n.mode csv\n.import --skip 1 {csv} items\n")
        t_sqlite = time.perf_counter() - t0
        # Like for like: the same rows into a WAL table with Docket's two per-item indexes
        # (unique id, and the queue's (score DESC, id)).
        os.remove(base)
        indexed = ("PRAGMA journal_mode=WAL;\nCREATE TABLE items (seq INTEGER PRIMARY KEY, " + ", ".join(f"{c} TEXT" for c in COLUMNS if c != "embedding")
                   + ", UNIQUE (id));\nCREATE INDEX q ON items (risk DESC, id);")
        cols = ",".join(c for c in COLUMNS if c != "embedding")
        os.sync()
        t0 = time.perf_counter()
        run(["sqlite3", base], input=f"{indexed}\nCREATE TEMP TABLE raw ({cols});\n.mode csv\n.import --skip 1 {csv} raw\n"
                                     f"INSERT INTO items ({cols}) SELECT * FROM raw;\n")
        t_indexed = time.perf_counter() - t0
        say(f"import:  docket {n / t_docket:,.0f} rows/s ({t_docket:.2f} s); sqlite3 .import into a plain table {n / t_sqlite:,.0f} rows/s "
            f"({t_sqlite:.2f} s): ratio {t_sqlite / t_docket:.2f}; sqlite3 .import into the same indexes {n / t_indexed:,.0f} rows/s "
            f"({t_indexed:.2f} s): ratio {t_indexed / t_docket:.2f}")
        say(f"import peak memory: {peak:.0f} MB")
        # Adding as many new items again, to a project that already holds n (the shell: the same
        # rows appended to its plain table, which holds the first n).
        jl2, csv2 = os.path.join(args.out, f"items-{n}-more.jsonl"), os.path.join(args.out, f"items-{n}-more.csv")
        if not os.path.exists(jl2):
            generate(jl2, csv2, n, seed=n + 1, with_embedding=False, prefix="more")
        # Into a copy, so the queue and claims below still see n items.
        more_db = os.path.join(args.out, f"docket-{n}-more.db")
        remove_db(more_db)
        run(["sqlite3", db, f".backup {more_db}"])
        os.sync()
        t_more, peak_more = timed_peak([docket, "import", "items", "--db", more_db, jl2])
        plain = os.path.join(args.out, f"baseline-{n}-plain.db")
        if os.path.exists(plain):
            os.remove(plain)
        run(["sqlite3", plain], input=f"{schema}\n.mode csv\n.import --skip 1 {csv} items\n")
        os.sync()
        t0 = time.perf_counter()
        run(["sqlite3", plain], input=f".mode csv\n.import --skip 1 {csv2} items\n")
        t_more_sqlite = time.perf_counter() - t0
        say(f"import of {n:,} more into a project holding {n:,}: docket {n / t_more:,.0f} rows/s ({t_more:.2f} s), peak {peak_more:.0f} MB; "
            f"sqlite3 .import into the plain table holding {n:,} {n / t_more_sqlite:,.0f} rows/s ({t_more_sqlite:.2f} s): ratio {t_more_sqlite / t_more:.2f}")
        os.sync()
        t_csv, peak_csv = timed_peak([docket, "import", "items", "--db", db, csv])
        say(f"re-import of the same rows as CSV (all unchanged): {n / t_csv:,.0f} rows/s, peak {peak_csv:.0f} MB")

        # Queue preview in-process, and the whole command with process start.
        # The first preview of a process reads the index from the page cache into SQLite's: it is
        # reported apart from the steady state, whose p99 needs a few hundred runs to mean anything.
        out = run([docket, "queue-timing", "--db", db, "--budget", "1000", "--repeats", "300"]).stdout
        ns = [int(l.split()[2]) for l in out.splitlines()]
        cold, ns = ns[0], ns[1:]
        t0 = time.perf_counter()
        run([docket, "queue", "--db", db, "--budget", "1000", "--json"])
        whole = time.perf_counter() - t0
        t0 = time.perf_counter()
        run([docket, "--version"])
        startup = time.perf_counter() - t0
        say(f"queue --budget 1000: median {statistics.median(ns) / 1e6:.2f} ms, p99 {pct(ns, 0.99) / 1e6:.2f} ms in-process over {len(ns)} runs "
            f"after the first ({cold / 1e6:.1f} ms); "
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

    if "export" not in skip:
        for n in [int(x) for x in args.sizes.split(",")]:
            export_bench(docket, args, say, n)
    if "postgres" not in skip:
        postgres_bench(docket, args, say)
    if "stats" not in skip:
        stats_bench(docket, args, say)
    if "queue" in skip:
        write_report(args, report)
        return

    # Embedding diversity: the lazy greedy queue against items with given diversity, same size.
    n = 100_000
    jl, csv = os.path.join(args.out, f"emb-{n}.jsonl"), os.path.join(args.out, f"emb-{n}.csv")
    if not os.path.exists(jl):
        generate(jl, csv, n, seed=7, with_embedding=True)
    db = os.path.join(args.out, f"emb-{n}.db")
    remove_db(db)
    run([docket, "init", "--db", db, "--seed", "1"])
    run([docket, "import", "items", "--db", db, jl])
    out = run([docket, "queue-timing", "--db", db, "--budget", "1000", "--repeats", "5"]).stdout
    ns = [int(l.split()[2]) for l in out.splitlines()]
    say(f"\n== {n:,} items with 16-d embeddings (diversity by lazy greedy k-center) ==")
    say(f"queue --budget 1000: median {statistics.median(ns) / 1e6:.1f} ms in-process")
    write_report(args, report)


def labels_project(docket, args, n):
    """A project of n items with 5 labels each (seeded), loaded with the sqlite3 shell."""
    db = os.path.join(args.out, f"labels-{n}.db")
    if os.path.exists(db):
        return db
    tmp = db + ".building"
    remove_db(tmp)
    run([docket, "init", "--db", tmp, "--labels", "a,b,c", "--seed", "1"])
    items = os.path.join(args.out, f"labels-items-{n}.jsonl")
    with open(items, "w") as f:
        for i in range(n):
            f.write('{"id":"s%d","category":"c%d"}\n' % (i, i % 4))
    run([docket, "import", "items", "--db", tmp, items])
    for r in range(5):
        run([docket, "reviewers", "add", "--db", tmp, f"r{r}"])
    rng = random.Random(n)
    csv = os.path.join(args.out, f"labels-{n}.csv")
    with open(csv, "w") as f:
        for i in range(n):
            for r in range(5):
                f.write(f"{i + 1},{r + 1},{'abc'[rng.randrange(3)]},{1_795_000_000_000 + rng.randrange(10**9)}\n")
    run(["sqlite3", tmp], input=f"CREATE TEMP TABLE raw (item INTEGER, reviewer INTEGER, label TEXT, at INTEGER);\n.mode csv\n.import {csv} raw\n"
         "INSERT INTO feedback (item, reviewer, kind, label, created_at, source) "
         "SELECT item, (SELECT id FROM reviewers WHERE name = 'r' || (raw.reviewer - 1)), 'label', label, at, 'import' FROM raw;\n")
    os.rename(tmp, db)
    if os.path.exists(tmp + ".lock"):
        os.remove(tmp + ".lock")
    return db


def export_bench(docket, args, say, n, rounds=3):
    """export --format labels of n items x 5 labels, against sqlite3 -json over the same join: each
    side run `rounds` times, alternating, and the median taken (this machine's disk and page cache
    make single runs vary by a quarter)."""
    db = labels_project(docket, args, n)
    out_file = os.path.join(args.out, f"export-{n}.jsonl")
    json_file = os.path.join(args.out, f"sqlite-json-{n}.json")
    query = ("SELECT i.id AS item, r.name AS reviewer, f.label, f.created_at FROM feedback f JOIN items i ON i.seq = f.item "
             "JOIN reviewers r ON r.id = f.reviewer WHERE f.kind = 'label' ORDER BY f.item, f.reviewer;")
    docket_times, sqlite_times, peaks = [], [], []
    for _ in range(rounds):
        # Each side starts with no other writing pending (the sections before leave gigabytes for
        # the disk, which would slow whichever side runs first), and writes a new file.
        for path in (out_file, json_file):
            if os.path.exists(path):
                os.remove(path)
        os.sync()
        t, peak = timed_peak([docket, "export", "--db", db, "--format", "labels", "--out", out_file])
        docket_times.append(t)
        peaks.append(peak)
        os.sync()
        t0 = time.perf_counter()
        with open(json_file, "w") as sink:
            subprocess.run(["sqlite3", "-json", db, query], stdout=sink, check=True)
        sqlite_times.append(time.perf_counter() - t0)
    t_export, t_sqlite = statistics.median(docket_times), statistics.median(sqlite_times)
    size = os.path.getsize(out_file) / 1e6
    say(f"\nexport labels, {n:,} items x 5 labels (median of {rounds}): docket {n / t_export:,.0f} items/s ({t_export:.2f} s, "
        f"runs {', '.join(f'{t:.2f}' for t in docket_times)}; {size:,.0f} MB, peak {max(peaks):.0f} MB); "
        f"sqlite3 -json over the same join {n / t_sqlite:,.0f} items/s ({t_sqlite:.2f} s, runs {', '.join(f'{t:.2f}' for t in sqlite_times)}): "
        f"ratio {t_sqlite / t_export:.2f}")


def session_bench(docket, args, say):
    """A scripted reviewer in a pseudo-terminal, answering items that ask for a label and a
    rating: single-key mode (one key per ask, no Enter) beside line mode (`L R` then Enter).
    Counts the keys sent and times each item from the first key to the next item's prompt."""
    import pty
    import re
    n = args.session_items
    d = os.path.join(args.out, "session")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    db = os.path.join(d, "p.db")
    run([docket, "init", "--db", db, "--labels", "safe,borderline,unsafe", "--seed", "1"])
    with open(os.path.join(d, "docket.yaml"), "w") as f:
        f.write("labels: [safe, borderline, unsafe]\nrating: {name: helpfulness, scale: [1, 5]}\n"
                "asks: [label, rating]\noverlap: 2\nexplore: 0\n")
    run([docket, "config", "apply", "--db", db, os.path.join(d, "docket.yaml")])
    with open(os.path.join(d, "items.jsonl"), "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"s{i:05d}", "prompt": f"prompt {i}", "response": f"response {i}", "risk": round(1 - i / n, 6)}) + "\n")
    run([docket, "import", "items", "--db", db, os.path.join(d, "items.jsonl")])
    rng = random.Random(3)
    answers = [(rng.randint(1, 3), rng.randint(1, 5)) for _ in range(n)]
    results = {}
    for name, keys in (("keys", True), ("line", False)):
        run([docket, "reviewers", "add", "--db", db, name])
        pid, fd = pty.fork()
        if pid == 0:
            env = dict(os.environ, PAGER="cat", TERM="xterm", HOME=d, COLUMNS="100")
            os.execve(docket, [docket, "review", "--db", db, "--as", name] + (["--keys"] if keys else []), env)
        buf = b""
        prompt = re.compile(rb"\? keys > " if keys else rb"docket> ")

        def wait(count):
            nonlocal buf
            deadline = time.time() + 30
            while len(prompt.findall(buf)) < count:
                if time.time() > deadline:
                    sys.exit(f"session bench: no prompt after {buf[-400:]!r}")
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk

        seen = 1
        wait(seen)
        sent, times = 0, []
        for label, rating in answers:
            t0 = time.perf_counter()
            if keys:
                for k in (str(label), str(rating)):
                    os.write(fd, k.encode())
                    sent += 1
                    seen += 1
                    wait(seen)
            else:
                line = f"{label} {rating}\r"
                os.write(fd, line.encode())
                sent += len(line)
                seen += 1
                wait(seen)
            times.append(time.perf_counter() - t0)
        os.write(fd, b":quit\r" if keys else b"quit\r")
        try:
            while os.read(fd, 65536):
                pass
        except OSError:
            pass
        os.waitpid(pid, 0)
        results[name] = (sent / n, statistics.median(times), pct(times, 0.99))
    stored = run(["sqlite3", db, "SELECT count(*) FROM assignments WHERE state = 'done'"]).stdout.strip()
    say(f"\n== reviewer session: {n} items asking a label and a rating, scripted in a pseudo-terminal ==")
    for name in ("keys", "line"):
        k, med, p99 = results[name]
        say(f"{'single-key' if name == 'keys' else 'line mode '}: {k:.1f} keys/item, program time per item p50 {med * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")
    say(f"single-key / line mode keys per item: {results['keys'][0] / results['line'][0]:.2f}x; {stored} assignments done (expected {2 * n})")


def postgres_bench(docket, args, say):
    """The same project on PostgreSQL (a throwaway cluster started for the run) beside SQLite:
    import against psql's COPY of the same rows, claim latency from 1 to 32 processes, export."""
    import shutil
    import tempfile
    if not shutil.which("psql"):
        say("\n== PostgreSQL == skipped: psql is not installed")
        return
    n = args.pg_items
    say(f"\n== PostgreSQL, {n:,} items (throwaway cluster on loopback, fsync off) ==")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cluster = tempfile.mkdtemp(prefix="docket-bench-pg-")
    url = run([os.path.join(root, "scripts/pg-cluster"), "start", cluster]).stdout.strip()
    try:
        def database(name):
            run(["psql", "-X", "-q", url, "-c", f"DROP DATABASE IF EXISTS {name}", "-c", f"CREATE DATABASE {name}"])
            return url.rsplit("/", 1)[0] + "/" + name
        jl, csv = os.path.join(args.out, f"items-{n}.jsonl"), os.path.join(args.out, f"items-{n}.csv")
        if not os.path.exists(jl):
            generate(jl, csv, n, seed=n, with_embedding=False)
        pg = database("bench")
        lite = os.path.join(args.out, f"pg-side-{n}.db")
        remove_db(lite)
        for db in (pg, lite):
            run([docket, "init", "--db", db, "--labels", "safe,borderline,unsafe", "--overlap", "2", "--seed", "1"])
        t_pg, peak = timed_peak([docket, "import", "items", "--db", pg, jl])
        t_lite, _ = timed_peak([docket, "import", "items", "--db", lite, jl])
        base = database("baseline")
        cols = ",".join(c for c in COLUMNS if c != "embedding")
        run(["psql", "-X", "-q", base, "-c", "CREATE TABLE items (" + ", ".join(f"{c} TEXT" for c in COLUMNS if c != "embedding") + ")"])
        t0 = time.perf_counter()
        run(["psql", "-X", "-q", base, "-c", f"\\copy items ({cols}) FROM '{os.path.abspath(csv)}' WITH (FORMAT csv, HEADER true)"])
        t_copy = time.perf_counter() - t0
        say(f"import: docket on PostgreSQL {n / t_pg:,.0f} rows/s ({t_pg:.2f} s, peak {peak:.0f} MB); psql \\copy of the same rows "
            f"into a plain table {n / t_copy:,.0f} rows/s: ratio {t_copy / t_pg:.2f}; docket on SQLite {n / t_lite:,.0f} rows/s")
        t_re, _ = timed_peak([docket, "import", "items", "--db", pg, jl])
        say(f"re-import of the same rows (all unchanged) on PostgreSQL: {n / t_re:,.0f} rows/s")
        for procs in (1, 4, 8, 32):
            names = [f"pg{procs}-{i}" for i in range(procs)]
            for name in names:
                run([docket, "reviewers", "add", "--db", pg, name])
            count = max(50, args.claims // procs)
            t0 = time.perf_counter()
            ps = [subprocess.Popen([docket, "claim-loop", "--db", pg, "--as", name, "--count", str(count)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in names]
            lat = []
            for p in ps:
                o, e = p.communicate()
                if p.returncode != 0:
                    sys.exit(e)
                lat += [int(l.split()[2]) for l in o.splitlines() if l.startswith("claim ")]
            wall = time.perf_counter() - t0
            say(f"claim on PostgreSQL, {procs} process{'es' if procs > 1 else ''}: p50 {pct(lat, 0.5) / 1e6:.3f} ms, "
                f"p99 {pct(lat, 0.99) / 1e6:.3f} ms over {len(lat):,} claims ({len(lat) / wall:,.0f} claims/s in all)")
        # A reviewer's own login role (row-level security, the guard, the backlogs) against the
        # owner acting for a reviewer, each reviewing the same number of items in one session.
        items = max(50, args.claims // 10)
        login = "bench_reviewer"
        run(["psql", "-X", "-q", pg, "-c", f"DROP ROLE IF EXISTS {login}", "-c", f"CREATE ROLE {login} LOGIN"])
        run([docket, "reviewers", "add", "--db", pg, "held", "--user", login])
        run([docket, "reviewers", "add", "--db", pg, "owned", "--user", "bench_nobody"])
        held_url = pg.replace("://docket@", f"://{login}@")
        per_item = {}
        for name, cmd in (("owner --as", [docket, "review", "--db", pg, "--as", "owned"]), ("own login", [docket, "review", "--db", held_url])):
            t0 = time.perf_counter()
            p = subprocess.run(cmd, input="safe\n" * items + "quit\n", capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(p.stderr)
            per_item[name] = (time.perf_counter() - t0) / items
        t0 = time.perf_counter()
        run([docket, "status", "--db", pg])
        catch_up = time.perf_counter() - t0
        say(f"review on PostgreSQL, {items} items in one session: a reviewer's own login {per_item['own login'] * 1e3:.2f} ms an item, "
            f"the owner acting for a reviewer {per_item['owner --as'] * 1e3:.2f} ms (ratio {per_item['own login'] / per_item['owner --as']:.2f}); "
            f"the next staff command links and applies what the login left in {catch_up:.2f} s")
        run(["psql", "-X", "-q", pg, "-c", f"DROP ROLE IF EXISTS {login}"])
        chk = subprocess.run([docket, "check", "--db", pg], capture_output=True, text=True)
        say(f"check after the claim runs on PostgreSQL: {'OK' if chk.returncode == 0 else chk.stderr.strip()}")
        for db, name in ((pg, "PostgreSQL"), (lite, "SQLite")):
            t0 = time.perf_counter()
            out = run([docket, "export", "--db", db, "--format", "events"]).stdout
            say(f"export --format events on {name}: {len(out.splitlines()):,} records in {time.perf_counter() - t0:.2f} s")
    finally:
        subprocess.run([os.path.join(root, "scripts/pg-cluster"), "stop", cluster], capture_output=True)


def cluster_bench(docket, args, say):
    """Exact near-duplicate grouping (export --group-by cluster) of generated embeddings (the target:
    1M items at 16-384 dimensions in seconds), beside one pass of 8 dot products per item over the
    same vectors."""
    say("\n== near-duplicate groups, exact (radius 0.2) ==")
    for spec in args.cluster_sizes.split(","):
        dim, n = spec.split(":")
        out = run([docket, "cluster-timing", "--count", n, "--dimension", dim]).stdout.split()
        fields = dict(zip(out[0::2], out[1::2]))
        say(f"{int(n):,} items, {dim}-d: {float(fields['exact_s']):.2f} s for {int(fields['groups']):,} groups (largest {fields['largest']}); "
            f"one pass of 8 dot products {float(fields['pass_s']):.2f} s: {float(fields['exact_s']) / float(fields['pass_s']):.1f}x a pass")


def write_report(args, report):
    with open(os.path.join(args.out, "report.txt"), "w") as f:
        f.write("\n".join(report) + "\n")


def stats_bench(docket, args, say):
    """Agreement statistics and Dawid–Skene on 5 reviewers × N items, against the Python reference
    packages on the same data in the same run (installed into a throwaway virtualenv)."""
    n = args.stats_items
    venv = os.path.join(args.out, "refenv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "numpy", "pandas", "scikit-learn", "statsmodels", "krippendorff", "crowd-kit"], check=True)
    matrix = os.path.join(args.out, f"labels-{n}.txt")
    rng = random.Random(5)
    if not os.path.exists(matrix):
        with open(matrix, "w") as f:
            for _ in range(n):
                truth = rng.choices("012", weights=[6, 3, 1])[0]
                f.write("".join(truth if rng.random() < skill else rng.choice("012") for skill in (0.9, 0.8, 0.75, 0.6, 0.5)) + "\n")
    say(f"\n== statistics: 5 reviewers x {n:,} items ({5 * n:,} labels), data already in memory on both sides ==")
    out = run([docket, "stats-timing", "--matrix", matrix, "--iterations", "20"]).stdout
    ours = {l.split()[0]: (float(l.split()[1]), l.split()[2]) for l in out.splitlines()}
    reference = r'''
import sys, time, json
import numpy as np, pandas as pd, krippendorff
from statsmodels.stats.inter_rater import fleiss_kappa, aggregate_raters
from sklearn.metrics import cohen_kappa_score
from crowdkit.aggregation import DawidSkene
m = np.array([[int(c) for c in line.strip()] for line in open(sys.argv[1])], dtype=np.int64)
out = {}
t = time.perf_counter(); v = krippendorff.alpha(reliability_data=m.T.astype(float), level_of_measurement="nominal"); out["krippendorff"] = (time.perf_counter() - t, v)
t = time.perf_counter(); counts, _ = aggregate_raters(m); v = fleiss_kappa(counts, method="fleiss"); out["fleiss"] = (time.perf_counter() - t, v)
t = time.perf_counter(); ks = [cohen_kappa_score(m[:, a], m[:, b]) for a in range(5) for b in range(a + 1, 5)]; out["pairwise"] = (time.perf_counter() - t, sum(ks) / len(ks))
df = pd.DataFrame({"task": np.repeat(np.arange(len(m)), 5), "worker": np.tile(np.arange(5), len(m)), "label": m.reshape(-1)})
t = time.perf_counter(); ds = DawidSkene(n_iter=20, tol=0).fit(df); out["dawid-skene"] = (time.perf_counter() - t, float(ds.priors_.sort_index().iloc[0]))
print(json.dumps({k: [v[0] * 1000, v[1]] for k, v in out.items()}))
'''
    theirs = json.loads(run([py, "-c", reference, matrix]).stdout)
    names = {"krippendorff": "krippendorff.alpha", "fleiss": "statsmodels fleiss_kappa", "pairwise": "scikit-learn cohen_kappa_score x10",
             "dawid-skene": "crowd-kit DawidSkene (20 iterations)"}
    for key in ("krippendorff", "fleiss", "pairwise", "dawid-skene"):
        mine_ms, mine_value = ours[key]
        ref_ms, ref_value = theirs[key]
        say(f"{key}: docket {mine_ms:,.0f} ms (value {float(mine_value):.6f}); {names[key]} {ref_ms:,.0f} ms (value {ref_value:.6f}): "
            f"{ref_ms / mine_ms:.1f}x faster")

    # The whole command from the database: 1M items, 5M labels loaded with the sqlite3 shell.
    db = os.path.join(args.out, f"stats-{n}.db")
    remove_db(db)
    run([docket, "init", "--db", db, "--labels", "a,b,c", "--seed", "1"])
    items = os.path.join(args.out, f"stats-items-{n}.jsonl")
    with open(items, "w") as f:
        for i in range(n):
            f.write('{"id":"s%d"}\n' % i)
    run([docket, "import", "items", "--db", db, items])
    for r in range(5):
        run([docket, "reviewers", "add", "--db", db, f"r{r}"])
    csv = os.path.join(args.out, f"stats-labels-{n}.csv")
    with open(matrix) as src, open(csv, "w") as f:
        for i, line in enumerate(src):
            for r, c in enumerate(line.strip()):
                f.write(f"{i + 1},{r + 1},{'abc'[int(c)]}\n")
    run(["sqlite3", db], input=f"CREATE TEMP TABLE raw (item INTEGER, reviewer INTEGER, label TEXT);\n.mode csv\n.import {csv} raw\n"
         "INSERT INTO feedback (item, reviewer, kind, label, created_at, source) "
         "SELECT item, (SELECT id FROM reviewers WHERE name = 'r' || (raw.reviewer - 1)), 'label', label, 0, 'import' FROM raw;\n")
    t0 = time.perf_counter()
    out = run([docket, "agreement", "--db", db, "--metric", "krippendorff", "--json"]).stdout
    whole = time.perf_counter() - t0
    say(f"docket agreement --metric krippendorff from the database ({5 * n:,} labels): {whole:.2f} s, alpha {json.loads(out)[0]['value']:.6f}")

if __name__ == "__main__":
    main()
