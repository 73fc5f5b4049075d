#!/usr/bin/env python3
"""Identity benchmark: Keystone v3 token issue and validate, Stratus against
upstream Keystone in the same run.

    .venv/bin/python bench/identity/run.py [--quick] [--targets a,b,...]

For each target (a fresh server on an empty state directory / database):
token issue (POST /v3/auth/tokens, password, project-scoped) and token
validate (GET /v3/auth/tokens, X-Subject-Token) with C closed-loop clients,
C in --concurrency; requests/s, p50/p99 latency, errors, server CPU per
request, server memory idle and after the load.  Then the ratio of each
Stratus target to Keystone on the same database, and the time a fresh
``stratus up`` takes to answer.  Every process started is stopped and every
temporary directory removed, also on Ctrl-C or failure.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
try:
    import httpx  # noqa: F401
    import yaml  # noqa: F401
except ImportError:  # started with a bare python: use the project's venv
    venv_python = os.path.join(ROOT, ".venv", "bin", "python")
    if os.path.exists(venv_python) and os.path.realpath(sys.executable) != os.path.realpath(venv_python):
        os.execv(venv_python, [venv_python] + sys.argv)
    raise

sys.path.insert(0, HERE)
import procs  # noqa: E402
from loadgen import run_load  # noqa: E402
from targets import (DEFAULT_TARGETS, QUICK_TARGETS, STRATUS, TARGETS, Running,  # noqa: E402
                     Target, Unavailable, free_port, wait_ready)

OPS = ("issue", "validate")


def busy_cpu_seconds() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """Peak memory of a server tree, sampled every ``period`` s while load runs."""

    def __init__(self, server: procs.Server, period: float = 0.5):
        super().__init__(daemon=True)
        self.server, self.period = server, period
        self.peak = {"rss_mib": 0.0, "pss_mib": 0.0}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.period):
            mem = self.server.memory()
            for key in self.peak:
                self.peak[key] = max(self.peak[key], mem[key])

    def stop(self) -> dict:
        self._stop_event.set()
        self.join(timeout=5)
        return self.peak


def auth_body(run: Running) -> dict:
    return {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": run.username, "domain": {"id": "default"}, "password": run.password}}},
        "scope": {"project": {"name": run.project, "domain": {"id": "default"}}}}}


def issue_token(run: Running) -> str:
    resp = httpx.post(f"{run.auth_url}/auth/tokens", json=auth_body(run), timeout=60)
    if resp.status_code != 201:
        raise Unavailable(f"token issue answered {resp.status_code}: {resp.text[:200]}")
    return resp.headers["X-Subject-Token"]


def make_requests(run: Running):
    """(issue, validate) request callables and the status each expects."""
    url = f"{run.auth_url}/auth/tokens"
    body = json.dumps(auth_body(run)).encode()
    admin, subject = issue_token(run), issue_token(run)
    check = httpx.get(url, headers={"X-Auth-Token": admin, "X-Subject-Token": subject},
                      timeout=60)
    if check.status_code != 200:
        raise Unavailable(f"token validate answered {check.status_code}: {check.text[:200]}")
    issue_headers = {"Content-Type": "application/json"}
    validate_headers = {"X-Auth-Token": admin, "X-Subject-Token": subject}

    def issue(client):
        return client.post(url, content=body, headers=issue_headers)

    def validate(client):
        return client.get(url, headers=validate_headers)

    return {"issue": (issue, 201), "validate": (validate, 200)}


def bench_target(target: Target, args, workdir: str) -> dict:
    out: dict = {"target": target.name, "kind": target.kind, "database": target.database,
                 "workers": target.workers, "served_by": target.command}
    run = target.start(workdir)
    out.update(ready_s=round(run.ready_s, 2), setup_s=round(run.setup_s, 2))
    sampler = None
    try:
        requests = make_requests(run)
        time.sleep(1.0)  # let start-up work settle before the idle reading
        out["memory_idle"] = run.server.memory()
        sampler = Sampler(run.server)
        sampler.start()
        cells = []
        marks: dict = {}
        for op in OPS:
            request, expected = requests[op]
            for conc in args.concurrency:
                res = asyncio.run(run_load(
                    request, expected, conc, args.duration, warmup=args.warmup,
                    max_requests=args.max_requests,
                    on_measure_start=lambda: marks.update(cpu0=run.server.cpu(),
                                                          busy0=busy_cpu_seconds())))
                server_cpu = run.server.cpu() - marks["cpu0"]
                busy = busy_cpu_seconds() - marks["busy0"]
                cell = {"op": op, **res.summary()}
                done = res.ok + res.error_count
                cell["server_cpu_ms_per_req"] = (
                    round(server_cpu * 1000 / done, 2) if done else None)
                cell["server_cores"] = round(server_cpu / res.elapsed, 2)
                # CPU that neither the server nor this load generator used: other
                # work on the machine, which skews the figures when it is large
                cell["other_cores"] = round(
                    max(0.0, busy - server_cpu - res.client_cpu) / res.elapsed, 2)
                cells.append(cell)
                print(f"  {target.name:<16} {op:<8} C={conc:<3} {fmt_cell(cell)}", flush=True)
                if not run.server.alive():
                    raise Unavailable(f"server died under load; log tail:\n"
                                      f"{run.server.log_tail()}")
        out["memory_peak"] = sampler.stop()
        out["memory_end"] = run.server.memory()
        out["cells"] = cells
        out["server_log_errors"] = scan_log_for_errors(run, workdir)
    finally:
        if sampler is not None:
            sampler.stop()
        run.server.stop()
    return out


def scan_log_for_errors(run: Running, workdir: str) -> list[str]:
    """Distinct ERROR/Traceback lines the server logged during the run."""
    seen: dict[str, int] = {}
    for dirpath, _, files in os.walk(workdir):
        for name in files:
            if not name.endswith(".log") or name == "setup.log":
                continue
            try:
                with open(os.path.join(dirpath, name), errors="replace") as f:
                    for line in f:
                        if "Traceback" in line or " ERROR " in line or "Exception" in line:
                            key = line.strip()[-160:]
                            seen[key] = seen.get(key, 0) + 1
            except OSError:
                continue
    return [f"{n}x {line}" for line, n in list(seen.items())[:10]]


def cold_start(repeats: int) -> dict:
    """Seconds from exec of ``stratus up`` on an empty state dir to the first
    200 on /identity/v3 (SQLite; includes schema creation and bootstrap)."""
    times = []
    for _ in range(repeats):
        workdir = tempfile.mkdtemp(prefix="stratus-bench-cold-")
        server = None
        try:
            port = free_port()
            server = procs.Server("stratus-cold", [STRATUS, "up", "--state-dir",
                                                   os.path.join(workdir, "state"), "--port",
                                                   str(port), "--no-user-clouds"],
                                  os.path.join(workdir, "server.log"),
                                  env=dict(os.environ, HOME=workdir), cwd=workdir)
            times.append(wait_ready(server, f"http://127.0.0.1:{port}/identity/v3"))
        finally:
            if server:
                server.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    return {"runs_s": [round(t, 2) for t in times], "median_s": round(statistics.median(times), 2)}


# ---------------------------------------------------------------- reporting

def ms(v) -> str:
    return "-" if v is None else (f"{v:.1f}" if v < 100 else f"{v:.0f}")


def fmt_cell(cell: dict) -> str:
    errs = sum(cell["errors"].values())
    return (f"{cell['rps']:>8.1f} req/s  p50 {ms(cell['p50_ms']):>6} ms  "
            f"p99 {ms(cell['p99_ms']):>6} ms  errors {errs}  cpu: server "
            f"{cell['server_cores']:.2f} client {cell['client_cpu_s'] / cell['elapsed_s']:.2f} "
            f"other {cell['other_cores']:.2f}" + (f"  {cell['errors']}" if errs else ""))


def peer_of(result: dict, results: list[dict]) -> dict | None:
    """The Keystone result to compare a Stratus result with: same database if run."""
    keystones = [r for r in results if r["kind"] == "keystone" and "cells" in r]
    keystones.sort(key=lambda r: (r["database"] != result["database"], "cache" in r["served_by"]))
    return keystones[0] if keystones else None


def ratio(a, b) -> str:
    if a is None or b in (None, 0):
        return "-"
    return f"{a / b:.2f}" if a / b < 10 else f"{a / b:.0f}"


def report(results: list[dict], cold: dict | None, args) -> str:
    lines = []
    w = lines.append
    w("")
    w(f"Identity benchmark: {args.duration:g}s per cell after {args.warmup:g}s warm-up, "
      f"closed-loop clients C={','.join(map(str, args.concurrency))}, "
      f"{os.cpu_count()} CPUs shared by server and load generator")
    w("")
    head = (f"{'target':<16} {'op':<8} {'C':>3} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'errors':>6} {'cpu ms/req':>10} {'other':>5}   {'vs keystone':<24}")
    w(head)
    w(f"{'':<53}{'':>10} {'':>5}   {'req/s x':>7} {'p50 x':>7} {'p99 x':>7}")
    w("-" * len(head))
    for r in results:
        if "cells" not in r:
            w(f"{r['target']}: unavailable ({r.get('error', '?')})")
            continue
        peer = peer_of(r, results) if r["kind"] == "stratus" else None
        for cell in r["cells"]:
            pc = None
            if peer:
                pc = next((c for c in peer["cells"] if c["op"] == cell["op"]
                           and c["concurrency"] == cell["concurrency"]), None)
            errs = sum(cell["errors"].values())
            rel = ""
            if pc:
                rel = (f"{ratio(cell['rps'], pc['rps']):>7} {ratio(cell['p50_ms'], pc['p50_ms']):>7} "
                       f"{ratio(cell['p99_ms'], pc['p99_ms']):>7}  ({peer['target']})")
            w(f"{r['target']:<16} {cell['op']:<8} {cell['concurrency']:>3} {cell['rps']:>8.1f} "
              f"{ms(cell['p50_ms']):>7} {ms(cell['p99_ms']):>7} {errs:>6} "
              f"{ms(cell['server_cpu_ms_per_req']):>10} {cell['other_cores']:>5.2f}   {rel}")
    w("")
    w("cpu ms/req = server CPU per request; other = cores busy with neither server nor load "
      "generator (noise; figures are unreliable when it is high)")
    noisy = sorted({r["target"] for r in results for c in r.get("cells", [])
                    if c["other_cores"] > 0.3})
    if noisy:
        w(f"WARNING: other work used over 0.3 of a core during some cells of {', '.join(noisy)};"
          " rerun on a quiet machine for figures to quote")
    w("req/s x = Stratus/Keystone throughput (>1: Stratus faster); p50 x, p99 x = latency "
      "ratios (<1: Stratus faster); the peer is default-config Keystone on the same database")
    w("")
    head = (f"{'target':<16} {'db':<10} {'workers':>7} {'ready s':>8} {'RSS idle':>9} "
            f"{'RSS peak':>9} {'RSS end':>8} {'PSS idle':>9} {'PSS end':>8} {'RSS x':>6}")
    w(head + "   (MiB, summed over the process tree)")
    w("-" * len(head))
    for r in results:
        if "cells" not in r:
            continue
        peer = peer_of(r, results) if r["kind"] == "stratus" else None
        idle, end, peak = r["memory_idle"], r["memory_end"], r["memory_peak"]
        ready = f"{r['ready_s']:.2f}" + (f"+{r['setup_s']:.0f}" if r.get("setup_s") else "")
        w(f"{r['target']:<16} {r['database']:<10} {r['workers']:>7} {ready:>8} "
          f"{idle['rss_mib']:>9.0f} {peak['rss_mib']:>9.0f} {end['rss_mib']:>8.0f} "
          f"{idle['pss_mib']:>9.0f} {end['pss_mib']:>8.0f} "
          f"{ratio(end['rss_mib'], peer['memory_end']['rss_mib']) if peer else '':>6}")
    w("ready s = exec to first 200 on the version document, on a fresh state; keystone's "
      "+N is keystone-manage db_sync/fernet/bootstrap before exec. RSS x = RSS end ratio.")
    if cold:
        w("")
        w(f"Fresh `stratus up` (empty state dir, SQLite) to first 200 on /identity/v3: "
          f"median {cold['median_s']:.2f}s over {len(cold['runs_s'])} run(s) {cold['runs_s']}")
    problems = [(r["target"], r["server_log_errors"]) for r in results if r.get("server_log_errors")]
    for name, errs in problems:
        w("")
        w(f"{name}: errors in the server log:")
        for line in errs:
            w(f"  {line}")
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="short smoke run (~1 min: 3 targets, C=1,32, 1 s per cell)")
    p.add_argument("--targets", help=f"comma-separated, from {','.join(TARGETS)} "
                   f"(default: all; with --quick {','.join(QUICK_TARGETS)})")
    p.add_argument("--concurrency", help="client counts (default 1,8,32; with --quick 1,32)")
    p.add_argument("--duration", type=float, help="seconds measured per cell (default 10)")
    p.add_argument("--warmup", type=float, help="unrecorded seconds before each cell (default 1)")
    p.add_argument("--max-requests", type=int, default=200_000,
                   help="cap on requests per cell (default 200000)")
    p.add_argument("--cold-starts", type=int, help="fresh `stratus up` timings (default 3)")
    p.add_argument("--output", help="JSON results file (default bench/results/identity-<time>.json)")
    p.add_argument("--keep", action="store_true", help="keep temporary dirs (server logs)")
    args = p.parse_args(argv)
    if args.targets is None:
        args.targets = ",".join(QUICK_TARGETS if args.quick else DEFAULT_TARGETS)
    if args.concurrency is None:
        args.concurrency = "1,32" if args.quick else "1,8,32"
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        p.error(f"unknown target(s) {unknown}; choose from {list(TARGETS)}")
    if args.duration is None:
        args.duration = 1.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 0.3 if args.quick else 1.0
    if args.cold_starts is None:
        args.cold_starts = 1 if args.quick else 3
    return args


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    # A job started in the background by a non-interactive shell inherits an
    # ignored SIGINT; Ctrl-C / kill -INT must still stop and clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    results: list[dict] = []
    cold = None
    tmpdirs: list[str] = []
    started = time.time()
    try:
        for name in args.targets:
            target = TARGETS[name]
            workdir = tempfile.mkdtemp(prefix=f"bench-{name}-")
            tmpdirs.append(workdir)
            print(f"== {name}: {target.command} on {target.database}", flush=True)
            try:
                results.append(bench_target(target, args, workdir))
            except Exception as exc:  # Unavailable, or a bug on either side: go on
                reason = str(exc) if isinstance(exc, Unavailable) else f"failed: {exc!r}"
                print(f"  {name}: unavailable ({reason})", flush=True)
                results.append({"target": name, "kind": target.kind, "database": target.database,
                                "workers": target.workers, "error": reason.splitlines()[0]})
            finally:
                target.cleanup()
        if any(TARGETS[t].kind == "stratus" for t in args.targets) and args.cold_starts > 0:
            print("== cold start: fresh `stratus up` until /identity/v3 answers", flush=True)
            try:
                cold = cold_start(args.cold_starts)
            except Unavailable as exc:
                print(f"  cold start unavailable ({str(exc).splitlines()[0]})")
    except KeyboardInterrupt:
        print("\ninterrupted; stopping servers", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        for d in tmpdirs:
            if args.keep:
                print(f"kept {d}")
            else:
                shutil.rmtree(d, ignore_errors=True)
    print(report(results, cold, args))
    out = args.output or os.path.join(
        ROOT, "bench", "results", f"identity-{dt.datetime.now():%Y%m%d-%H%M%S}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"started": dt.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
                   "args": {k: v for k, v in vars(args).items()}, "results": results,
                   "cold_start": cold, "loadavg_end": os.getloadavg()}, f, indent=1)
    print(f"\nresults: {os.path.relpath(out)}  (total {time.time() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
