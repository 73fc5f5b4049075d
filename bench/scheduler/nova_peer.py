"""Upstream nova's filter scheduler over the bench's host set (run by a python
that has ``nova`` installed; see run.py --nova).

    nova_peer.py DB_PATH N default|all DECISIONS

Reads the compute_node, aggregate and instance rows of the bench's SQLite
file and, per decision, does what nova's HostManager does for every request
(builds ComputeNode objects from the rows and updates a HostState per host:
``refresh``), then ``HostFilterHandler.get_filtered_objects`` with nova's
default enabled_filters (``default``) or every filter of ``all_filters``
(``all``), and ``HostWeightHandler.get_weighed_objects`` with all weighers
(``filter_weigh``).  Nova claims in the placement service (HTTP), so there
is no claim phase to compare.  Prints one JSON line.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")

from nova import conf as nova_conf  # noqa: E402
from nova import objects  # noqa: E402

objects.register_all()
CONF = nova_conf.CONF
CONF([], project="nova")

from nova.scheduler import filters, host_manager, weights  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402

NOVA_DEFAULT = ["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
                "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"]
FLAVORS = [(1, 512, 1), (2, 2048, 20), (4, 8192, 40), (8, 16384, 80)]


def rows(db: sqlite3.Connection, sql: str) -> list[dict]:
    cur = db.execute(sql)
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur]


def parse_ts(v):
    return dt.datetime.fromisoformat(v).replace(tzinfo=dt.timezone.utc) if v else None


def main() -> int:
    path, n, mode, decisions = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    db = sqlite3.connect(path)
    aggs = {}
    for a in rows(db, "SELECT id, uuid, name FROM aggregate"):
        aggs[a["id"]] = objects.Aggregate(id=a["id"], uuid=a["uuid"], name=a["name"],
                                          metadata={}, hosts=[])
    for md in rows(db, "SELECT aggregate_id, key, value FROM aggregate_metadata"):
        aggs[md["aggregate_id"]].metadata[md["key"]] = md["value"]
    host_aggs: dict[str, list] = {}
    for ah in rows(db, "SELECT aggregate_id, host FROM aggregate_host"):
        host_aggs.setdefault(ah["host"], []).append(aggs[ah["aggregate_id"]])
    cell = uuidutils.generate_uuid()
    states: dict[str, host_manager.HostState] = {}
    fh, wh = filters.HostFilterHandler(), weights.HostWeightHandler()
    classes = fh.get_matching_classes(["nova.scheduler.filters.all_filters"])
    names = NOVA_DEFAULT if mode == "default" else sorted(c.__name__ for c in classes)
    fobjs = [c() for c in classes if c.__name__ in names]
    wobjs = [c() for c in wh.get_matching_classes(["nova.scheduler.weights.all_weighers"])]
    refresh, fw, survivors = [], [], []
    for k in range(decisions):
        t0 = time.perf_counter()
        for r in rows(db, "SELECT * FROM compute_node ORDER BY id"):   # HostManager, per request
            cn = objects.ComputeNode(
                id=r["id"], uuid=r["uuid"], host=r["host"], hypervisor_hostname=r["host"],
                vcpus=r["vcpus"], memory_mb=r["memory_mb"], local_gb=r["local_gb"],
                vcpus_used=r["vcpus_used"], memory_mb_used=r["memory_mb_used"],
                local_gb_used=r["local_gb_used"],
                free_ram_mb=r["memory_mb"] - r["memory_mb_used"],
                free_disk_gb=r["local_gb"] - r["local_gb_used"],
                disk_available_least=r["local_gb"] - r["local_gb_used"],
                running_vms=r["running_vms"], hypervisor_type=r["hypervisor_type"],
                hypervisor_version=r["hypervisor_version"] or 0, cpu_info="{}",
                current_workload=0, stats={}, numa_topology=None, pci_device_pools=None,
                cpu_allocation_ratio=r["cpu_allocation_ratio"],
                ram_allocation_ratio=r["ram_allocation_ratio"],
                disk_allocation_ratio=r["disk_allocation_ratio"], host_ip="127.0.0.1",
                supported_hv_specs=[], updated_at=None, metrics="[]", service_id=None,
                mapped=1)
            svc = objects.Service(host=r["host"], disabled=bool(r["disabled"]),
                                  disabled_reason=r["disabled_reason"],
                                  forced_down=bool(r["forced_down"]),
                                  last_seen_up=parse_ts(r["last_seen_up"]),
                                  updated_at=None, created_at=None, binary="nova-compute")
            hs = states.get(r["host"])
            if hs is None:
                hs = states[r["host"]] = host_manager.HostState(r["host"], r["host"], cell)
            hs.update(cn, svc, host_aggs.get(r["host"], []), {})
        t1 = time.perf_counter()
        vcpus, mem, disk = FLAVORS[k % len(FLAVORS)]
        extra = {} if mode == "default" else {
            "capabilities:hypervisor_type": "QEMU",
            "aggregate_instance_extra_specs:tier": "<or> gold <or> silver"}
        flavor = objects.Flavor(vcpus=vcpus, memory_mb=mem, root_gb=disk, ephemeral_gb=0,
                                swap=0, extra_specs=extra)
        hints = {}
        if mode == "all" and k % 4 == 0:
            hints["query"] = [json.dumps([">=", "$free_ram_mb", mem])]
        spec = objects.RequestSpec(
            flavor=flavor, num_instances=1, project_id="p", availability_zone=None,
            ignore_hosts=None, force_hosts=None, force_nodes=None, scheduler_hints=hints,
            instance_group=None, image=objects.ImageMeta.from_dict({"properties": {}}),
            requested_destination=None, instance_uuid=uuidutils.generate_uuid(),
            is_bfv=False, retry=None, limits=None, pci_requests=None, numa_topology=None)
        passed = list(fh.get_filtered_objects(fobjs, list(states.values()), spec, 0))
        weighed = wh.get_weighed_objects(wobjs, passed, spec)
        t2 = time.perf_counter()
        refresh.append(t1 - t0)
        fw.append(t2 - t1)
        survivors.append(len(weighed))
    totals = sorted(a + b for a, b in zip(refresh, fw))

    def pct(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))] * 1e3
    print(json.dumps({
        "hosts": n, "filters": mode, "impl": "nova", "decisions": decisions,
        "p50_ms": pct(totals, 50), "p99_ms": pct(totals, 99),
        "decisions_per_s": decisions / sum(totals),
        "refresh_p50_ms": pct(refresh, 50), "filter_weigh_p50_ms": pct(fw, 50),
        "mean_survivors": statistics.mean(survivors), "filter_names": names}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
