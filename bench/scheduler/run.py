"""bench/scheduler: scheduling decisions at 1,000 and 10,000 fake hosts.

Builds N compute_node rows (varied capacity, AZ and tier aggregates, a few
disabled / down hosts, existing instances) in a temporary SQLite file (or
PostgreSQL with --pg / STRATUS_TEST_DATABASE_URL) through the real models,
then runs M decisions through the real service path, timed per phase:

* refresh: read the instance, resolve its request spec, load the host
  states (``state_loader.load_hosts``: the host state cache, refreshed);
* filter+weigh: ``Pipeline.run`` and ``candidates``;
* claim: ``placement.place`` (the atomic claim, in its own transaction)
  on the candidates in order, as service._schedule_one does.

Between decisions (not timed) the world moves as it would at that scale:
another scheduler claims on a random host (a row the cache must re-read)
and live agents heartbeat every 10 s.  ``--naive`` runs the same decisions with
the cache and the vectorised path off (every host read and filtered in
Python per decision: the pre-cache code path).  ``--nova PYTHON`` also
runs upstream nova's filter scheduler (filters and weighers, in-process, see
nova_peer.py) over the same host set with that interpreter.

Ends with one line per (hosts, filters):
``hosts=<n> filters=<default|all> p50_ms=<x> p99_ms=<y> decisions_per_s=<z>``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from sqlalchemy import insert, select, update  # noqa: E402

from stratus.common.config import Config  # noqa: E402
from stratus.db.base import Base, Database  # noqa: E402
from stratus.db.models import compute as m  # noqa: E402
from stratus.scheduler import claims, filters, host_cache, placement, request, state_loader  # noqa: E402,E501
from stratus.scheduler.pipeline import Pipeline  # noqa: E402
from stratus.scheduler.placement import Outcome  # noqa: E402

AZS = ("az1", "az2", "az3")
TIERS = ("gold", "silver", "bronze")
SHAPES = [(16, 65536, 500), (32, 131072, 1000), (64, 262144, 2000), (8, 32768, 250)]
FLAVORS = [(1, 512, 1), (2, 2048, 20), (4, 8192, 40), (8, 16384, 80)]


def now() -> dt.datetime:
    return host_cache.utcnow()


def build_hosts(db: Database, n: int, rng: random.Random) -> None:
    """n compute nodes, AZ and tier aggregates, ~2 instances per host."""
    t = now()
    rows, instances = [], []
    for i in range(n):
        vcpus, mem, disk = SHAPES[i % len(SHAPES)]
        used = rng.randrange(0, vcpus)
        rows.append(dict(
            id=i + 1, uuid=str(uuidlib.uuid4()), host=f"node-{i:05d}", service_id=i + 1,
            hypervisor_type="QEMU", hypervisor_version=1, cpu_info={}, stats={},
            vcpus=vcpus, memory_mb=mem, local_gb=disk, vcpus_used=used,
            memory_mb_used=used * 2048, local_gb_used=used * 20, running_vms=2,
            cpu_allocation_ratio=4.0, ram_allocation_ratio=1.0, disk_allocation_ratio=1.0,
            reserved_host_memory_mb=512, reserved_host_disk_mb=0, reserved_host_cpus=0,
            disabled=(i % 97 == 0), disabled_reason="maintenance" if i % 97 == 0 else None,
            forced_down=False, revision=0, sched_version=0,
            sched_changed_at=t - dt.timedelta(hours=1),    # registered long ago
            last_seen_up=t - dt.timedelta(seconds=600 if i % 89 == 0 else 1),
            created_at=t, updated_at=t))
        for k in range(2):
            instances.append(dict(
                uuid=str(uuidlib.uuid4()), display_name="x", hostname="x", project_id="p",
                user_id="u", flavor={"vcpus": 1}, flavor_id="1", vcpus=1, memory_mb=512,
                root_gb=1, vm_state="active", task_state=None, host=f"node-{i:05d}",
                request_spec={}, created_at=t, deleted=0))
    with db.session() as s:
        s.execute(insert(m.ComputeNode.__table__), rows)
        s.execute(insert(m.Instance.__table__), instances)
        agg_id = 0
        for kind, names in (("availability_zone", AZS), ("tier", TIERS)):
            for j, name in enumerate(names):
                agg_id += 1
                s.execute(insert(m.Aggregate.__table__), [dict(
                    id=agg_id, uuid=str(uuidlib.uuid4()), name=f"{kind}-{name}", created_at=t)])
                s.execute(insert(m.AggregateMetadata.__table__),
                          [dict(aggregate_id=agg_id, key=kind, value=name)])
                s.execute(insert(m.AggregateHost.__table__), [   # tiers cut across zones
                    dict(aggregate_id=agg_id, host=f"node-{i:05d}")
                    for i in range(n) if (i if kind == "availability_zone" else i // 3) % 3 == j])


def new_instance(db: Database, rng: random.Random, mode: str, k: int) -> str:
    """An instance waiting in 'scheduling', with hints that keep filters=all meaningful."""
    vcpus, mem, disk = FLAVORS[k % len(FLAVORS)]
    extra, rspec = {}, {}
    if mode == "all":
        extra = {"capabilities:hypervisor_type": "QEMU",
                 "aggregate_instance_extra_specs:tier": "<or> gold <or> silver"}
        hints = {"different_host": []}
        if k % 4 == 0:
            hints["query"] = json.dumps([">=", "$free_ram_mb", mem])
        rspec = {"scheduler_hints": hints}
        if k % 2 == 0:
            rspec["availability_zone"] = AZS[k % len(AZS)]
    u = str(uuidlib.uuid4())
    with db.session() as s:
        s.execute(insert(m.Instance.__table__), [dict(
            uuid=u, display_name="b", hostname="b", project_id="p", user_id="u",
            flavor={"vcpus": vcpus, "ram": mem, "disk": disk, "swap": 0, "extra_specs": extra},
            flavor_id="f", vcpus=vcpus, memory_mb=mem, root_gb=disk, ephemeral_gb=0,
            vm_state="building", task_state="scheduling", request_spec=rspec,
            created_at=now(), deleted=0)])
    return u


def foreign_activity(db: Database, n: int, rng: random.Random) -> None:
    """What other processes do meanwhile: one claim by another scheduler and
    the heartbeats due (last_seen_up only)."""
    with db.session() as s:
        nid = rng.randrange(1, n + 1)
        cn = m.ComputeNode.__table__.c
        s.execute(update(m.ComputeNode.__table__).where(cn.id == nid).values(
            vcpus_used=cn.vcpus_used, **claims.changed(cn)))
        # Agents heartbeat every 10 s: live hosts whose beat is older get a new
        # one (the silent hosts, 10 minutes behind, stay silent).
        t = now()
        s.execute(update(m.ComputeNode.__table__).where(
            cn.last_seen_up < t - dt.timedelta(seconds=10),
            cn.last_seen_up > t - dt.timedelta(seconds=50)).values(last_seen_up=t))


def decide(db, conf, pipe, uuid):
    """One decision, as service._schedule_one, timed per phase (seconds)."""
    c0 = time.thread_time()
    t0 = time.perf_counter()
    with db.session() as s:
        inst = s.scalar(select(m.Instance).where(m.Instance.uuid == uuid))
        spec = state_loader.resolve(s, request.from_instance(inst))
        hosts = state_loader.load_hosts(s, conf)
    t1 = time.perf_counter()
    result = pipe.run(hosts, spec)
    cands = pipe.candidates(result)[:5]
    t2 = time.perf_counter()
    outcome = None
    for host in cands:
        outcome = placement.place(db, spec, host)
        if outcome in (Outcome.PLACED, Outcome.GONE):
            break
    t3 = time.perf_counter()
    return (t1 - t0, t2 - t1, t3 - t2, time.thread_time() - c0), outcome, len(hosts), \
        len(result.weighed)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def run_case(url: str, n: int, mode: str, decisions: int, naive: bool, seed: int,
             profile: str | None) -> dict:
    db = Database(url, 2)
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    rng = random.Random(seed)
    build_hosts(db, n, rng)
    fs = {"host_state_cache": not naive}
    if mode == "all":
        fs["enabled_filters"] = sorted(filters.FILTERS)
        fs["weight_classes"] = ["nova.scheduler.weights.all_weighers"]
    conf = Config(overrides={"filter_scheduler": fs})
    pipe = Pipeline.from_conf(conf, rng=random.Random(seed))
    if naive:    # the pre-cache path: every host read, filtered and weighed in Python
        pipe.run = pipe.run_slow
    # Warm-up (not counted): the first full read of the cache.
    for k in range(3):
        decide(db, conf, pipe, new_instance(db, rng, mode, k))
    # Steady state: the hosts were all written a moment ago, and a refresh
    # re-scans what changed in the last host_cache.MARGIN seconds; a real
    # scheduler does not start 0 s after 10,000 hosts registered.
    if not naive:
        time.sleep(host_cache.MARGIN + 0.5)
    phases, outcomes, survivors = [], {}, []
    prof = None
    if profile:
        import cProfile
        prof = cProfile.Profile()
    start = time.perf_counter()
    busy = 0.0
    for k in range(decisions):
        foreign_activity(db, n, rng)
        uuid = new_instance(db, rng, mode, k)
        if prof:
            prof.enable()
        ph, outcome, total, passed = decide(db, conf, pipe, uuid)
        if prof:
            prof.disable()
        phases.append(ph)
        busy += sum(ph[:3])
        survivors.append(passed)
        outcomes[outcome.value if outcome else "none"] = \
            outcomes.get(outcome.value if outcome else "none", 0) + 1
    wall = time.perf_counter() - start
    if prof:
        prof.dump_stats(profile)
    cache = host_cache.existing(db.engine)
    totals = [sum(p[:3]) for p in phases]
    out = {
        "hosts": n, "filters": mode, "impl": "naive" if naive else "stratus",
        "decisions": decisions, "p50_ms": pct(totals, 50) * 1e3, "p99_ms": pct(totals, 99) * 1e3,
        "decisions_per_s": decisions / busy, "wall_s": wall,
        "refresh_p50_ms": pct([p[0] for p in phases], 50) * 1e3,
        "filter_weigh_p50_ms": pct([p[1] for p in phases], 50) * 1e3,
        "claim_p50_ms": pct([p[2] for p in phases], 50) * 1e3,
        "refresh_p99_ms": pct([p[0] for p in phases], 99) * 1e3,
        "filter_weigh_p99_ms": pct([p[1] for p in phases], 99) * 1e3,
        "claim_p99_ms": pct([p[2] for p in phases], 99) * 1e3,
        "cpu_p50_ms": pct([p[3] for p in phases], 50) * 1e3,
        "mean_survivors": statistics.mean(survivors), "outcomes": outcomes,
        "cache": dict(cache.stats) if cache else None,
    }
    db.dispose()
    return out


def run_nova(python: str, url: str, n: int, mode: str, decisions: int, seed: int) -> dict:
    """Upstream nova's filters/weighers over the same host rows (nova_peer.py)."""
    db = Database(url, 2)
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    build_hosts(db, n, random.Random(seed))
    db.dispose()
    path = url.split("///", 1)[-1]
    peer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nova_peer.py")
    proc = subprocess.run([python, peer, path, str(n), mode, str(decisions)],
                          capture_output=True, text=True, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"hosts": n, "filters": mode, "impl": "nova",
                "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def line(r: dict) -> str:
    return (f"hosts={r['hosts']} filters={r['filters']} p50_ms={r['p50_ms']:.2f} "
            f"p99_ms={r['p99_ms']:.2f} decisions_per_s={r['decisions_per_s']:.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", default="1000,10000")
    ap.add_argument("--filters", default="default,all")
    ap.add_argument("--decisions", type=int, default=300)
    ap.add_argument("--naive", action="store_true", help="also run the pre-cache path")
    ap.add_argument("--naive-decisions", type=int, default=30)
    ap.add_argument("--nova", default=os.environ.get("STRATUS_BENCH_NOVA_PYTHON", ""),
                    help="python of a venv with nova installed (peer); empty: skip")
    ap.add_argument("--nova-decisions", type=int, default=20)
    ap.add_argument("--pg", default=os.environ.get("STRATUS_TEST_DATABASE_URL", ""),
                    help="PostgreSQL URL (its tables are dropped and re-created!)")
    ap.add_argument("--profile", default="", help="cProfile output file (last case)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    import stratus.db.models  # noqa: F401
    results = []
    with tempfile.TemporaryDirectory(prefix="stratus-bench-sched-") as tmp:
        url = args.pg or f"sqlite:///{tmp}/sched.sqlite"
        for n in [int(x) for x in args.hosts.split(",")]:
            for mode in args.filters.split(","):
                cases = [(False, args.decisions)]
                if args.naive:
                    cases.append((True, args.naive_decisions))
                for naive, count in cases:
                    r = run_case(url, n, mode, count, naive, args.seed, args.profile or None)
                    results.append(r)
                    print(f"[{r['impl']}] {line(r)}  refresh={r['refresh_p50_ms']:.2f}/"
                          f"{r['refresh_p99_ms']:.2f} filter+weigh={r['filter_weigh_p50_ms']:.2f}/"
                          f"{r['filter_weigh_p99_ms']:.2f} claim={r['claim_p50_ms']:.2f}/"
                          f"{r['claim_p99_ms']:.2f} ms (p50/p99) cpu={r['cpu_p50_ms']:.2f} ms  survivors~"
                          f"{r['mean_survivors']:.0f} outcomes={r['outcomes']} "
                          f"cache={r['cache']}", flush=True)
                if args.nova and not args.pg:
                    r = run_nova(args.nova, f"sqlite:///{tmp}/nova.sqlite", n, mode,
                                 args.nova_decisions, args.seed)
                    results.append(r)
                    if "error" in r:
                        print(f"[nova] hosts={n} filters={mode}: unavailable ({r['error']})")
                    else:
                        print(f"[nova] {line(r)}  refresh={r['refresh_p50_ms']:.2f} "
                              f"filter+weigh={r['filter_weigh_p50_ms']:.2f} ms (p50; no claim: "
                              f"nova claims in placement)  filters={r['filter_names']}",
                              flush=True)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "scheduler.json"), "w") as f:
        json.dump(results, f, indent=1)
    print()
    for r in results:
        if r.get("impl") == "stratus":
            print(line(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
