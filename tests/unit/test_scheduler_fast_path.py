"""The vectorised pipeline (masks, weigher values, lexsort ranking) gives the
slow path's answer exactly: same survivors, weights and order, over random
host sets and request specs, for every registered filter and weigher."""
from __future__ import annotations

import dataclasses
import json
import random
from types import MappingProxyType

import numpy as np
import pytest

from stratus.common.config import Config
from stratus.scheduler import filters as filters_mod
from stratus.scheduler import weighers as weighers_mod
from stratus.scheduler.columns import Columns, HostList
from stratus.scheduler.pipeline import Pipeline

from scheduler_factories import NOW, group, host, spec

AGGS = [("az-a", {"availability_zone": "a"}), ("az-b", {"availability_zone": "b"}),
        ("ssd", {"ssd": "true", "max_instances_per_host": "3"}),
        ("iso", {"filter_tenant_id": "p1,p2"}), ("big", {"max_instances_per_host": "x"}),
        ("bw", {"bandwidth_mbps": "1000"})]


def random_host(rng: random.Random, i: int):
    vcpus = rng.choice([0, 2, 4, 8, 16])
    mem = rng.choice([1024, 4096, 8192, 16384])
    disk = rng.choice([10, 50, 100])
    aggs = rng.sample(AGGS, rng.randrange(0, 3))
    return host(
        id=i, host=f"h{rng.randrange(10**6)}-{i}", aggregates=aggs,
        num_instances=rng.randrange(0, 6),
        vcpus=vcpus, memory_mb=mem, local_gb=disk,
        vcpus_used=rng.randrange(0, vcpus * 2 + 1), memory_mb_used=rng.randrange(0, mem + 1),
        local_gb_used=rng.randrange(0, disk + 1),
        cpu_allocation_ratio=rng.choice([1.0, 1.5, 4.0, 16.0]),
        ram_allocation_ratio=rng.choice([1.0, 1.5]),
        disk_allocation_ratio=rng.choice([0.9, 1.0, 2.0]),
        reserved_host_cpus=rng.choice([0, 0, 1]),
        reserved_host_memory_mb=rng.choice([0, 512]),
        reserved_host_disk_mb=rng.choice([0, 1000, 2048]),
        disabled=rng.random() < 0.1, forced_down=rng.random() < 0.05,
        last_seen_up=None if rng.random() < 0.05 else NOW,
        hypervisor_type=rng.choice(["QEMU", "KVM"]),
        stats={"gpu": rng.choice(["0", "1"])},
        ecu=rng.choice([0, 10, 40]), ecu_used=rng.randrange(0, 10),
        bandwidth_mbps=rng.choice([0, 100]), bandwidth_kbps_used=rng.randrange(0, 50000),
        failed_builds=rng.randrange(0, 3))


def random_spec(rng: random.Random, hosts):
    names = [h.host for h in hosts]
    pick = (lambda k: frozenset(rng.sample(names, min(k, len(names))))) if names else \
        (lambda k: frozenset())
    extra = {}
    if rng.random() < 0.3:
        extra["aggregate_instance_extra_specs:ssd"] = rng.choice(["true", "false"])
    if rng.random() < 0.3:
        extra["capabilities:hypervisor_type"] = rng.choice(["QEMU", "<or> KVM <or> QEMU"])
    if rng.random() < 0.2:
        extra["gpu"] = "1"
    hints = {}
    if rng.random() < 0.3:
        hints["query"] = json.dumps(rng.choice([
            [">=", "$free_ram_mb", rng.choice([512, 4096])],
            ["and", [">", "$vcpus_total", 2], ["<", "$num_instances", 4]],
            ["bad-op", 1]]))
    g = None
    if rng.random() < 0.4:
        policy = rng.choice(["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"])
        g = group(policy, hosts={n: rng.randrange(1, 3) for n in pick(rng.randrange(0, 4))},
                  rules={"max_server_per_host": rng.choice([1, 2])})
    return spec(
        project_id=rng.choice(["p1", "p3"]), vcpus=rng.choice([1, 2, 4]),
        memory_mb=rng.choice([256, 2048, 8192]), disk_gb=rng.choice([1, 20, 80]),
        availability_zone=rng.choice([None, None, "a", "b", "nova", "zz"]),
        force_host=rng.choice(names) if names and rng.random() < 0.1 else None,
        hints=MappingProxyType(hints), group=g, group_uuid=g.uuid if g else None,
        tried_hosts=pick(rng.randrange(0, 3)) if rng.random() < 0.3 else frozenset(),
        same_host_hosts=pick(rng.randrange(0, 5)) if rng.random() < 0.2 else None,
        different_host_hosts=pick(rng.randrange(0, 5)) if rng.random() < 0.2 else frozenset(),
        extra_specs=MappingProxyType(extra),
        ecu=rng.choice([0, 0, 5]), bandwidth_kbps=rng.choice([0, 0, 20000]))


def pipeline(rng_seed: int, subset: int = 1) -> Pipeline:
    conf = Config(overrides={"filter_scheduler": {
        "enabled_filters": sorted(filters_mod.FILTERS),
        "weight_classes": ["nova.scheduler.weights.all_weighers"],
        "num_instances_weight_multiplier": -1.0, "cpu_weight_multiplier": 0.5,
        "max_instances_per_host": 4, "host_subset_size": subset}})
    return Pipeline.from_conf(conf, rng=random.Random(rng_seed))


@pytest.mark.parametrize("seed", range(300))
def test_fast_path_equals_slow_path(seed):
    rng = random.Random(seed)
    hosts = [random_host(rng, i) for i in range(rng.randrange(0, 40))]
    hl = HostList.of(hosts)
    pipe = pipeline(seed, subset=rng.choice([1, 3]))
    for _ in range(5):
        sp = random_spec(rng, hosts)
        slow = pipe.run_slow(hosts, sp)
        fast = pipe.run_fast(hl, hl.columns, sp)
        assert [(h.host, w) for h, w in fast.weighed] == \
            [(h.host, w) for h, w in slow.weighed]
        # What the service uses: run() (falls back to slow when nothing passes).
        res = pipe.run(hl, sp)
        assert [h.host for h in res.hosts] == [h.host for h in slow.hosts]
        if not slow.weighed:
            assert res.fault_message() == slow.fault_message()
        state = pipe.rng.getstate()
        a = [h.host for h in pipe.candidates(res)]
        pipe.rng.setstate(state)
        b = [h.host for h in pipe.candidates(slow)]
        assert a == b
        assert [h.host for h in pipe.candidates(res)[:2]] == a[:2] or pipe.host_subset_size > 1


@pytest.mark.parametrize("name", sorted(filters_mod.FILTERS))
def test_every_filter_mask_matches_host_passes(name):
    """Filter by filter (not only the conjunction), over many hosts and specs."""
    rng = random.Random(name)
    conf = Config(overrides={"filter_scheduler": {"max_instances_per_host": 3}})
    f = filters_mod.load([name], conf)[0]
    for _ in range(60):
        hosts = [random_host(rng, i) for i in range(rng.randrange(1, 25))]
        cols = Columns(hosts)
        sp = random_spec(rng, hosts)
        m = f.mask(cols, sp)
        if m is NotImplemented:
            continue
        expected = [f.host_passes(h, sp) for h in hosts]
        got = [True] * len(hosts) if m is True else [bool(x) for x in m]
        assert got == expected


@pytest.mark.parametrize("name", sorted(weighers_mod.WEIGHERS))
def test_every_weigher_values_match_weigh(name):
    rng = random.Random(name)
    w = weighers_mod.load([name])[0]
    for _ in range(40):
        hosts = [random_host(rng, i) for i in range(rng.randrange(1, 25))]
        cols = Columns(hosts)
        sp = random_spec(rng, hosts)
        idx = np.asarray(sorted(rng.sample(range(len(hosts)), rng.randrange(0, len(hosts) + 1))),
                         dtype=np.int64)
        got = w.values(cols, idx, sp)
        if got is NotImplemented:
            continue
        assert [float(x) for x in got] == [float(w.weigh(hosts[i], sp)) for i in idx.tolist()]


def test_columns_set_and_copy_are_independent():
    rng = random.Random(1)
    hosts = [random_host(rng, i) for i in range(5)]
    cols = Columns(hosts)
    snap = cols.copy()
    moved = random_host(rng, 99)
    cols.set(2, moved)
    assert cols.vcpus_used[2] == moved.vcpus_used
    assert snap.vcpus_used[2] == hosts[2].vcpus_used
    assert cols.name_index[moved.host] == 2 and moved.host not in snap.name_index


@pytest.mark.parametrize("seed", range(100))
def test_fast_ranking_equals_slow_ranking(seed):
    """Few filters, so that many hosts survive and the ranking is exercised."""
    rng = random.Random(seed)
    hosts = [random_host(rng, i) for i in range(rng.randrange(1, 60))]
    hl = HostList.of(hosts)
    conf = Config(overrides={"filter_scheduler": {
        "enabled_filters": ["RamFilter"],
        "weight_classes": ["nova.scheduler.weights.all_weighers"],
        "num_instances_weight_multiplier": rng.choice([0.0, 1.0, -2.0]),
        "ram_weight_multiplier": rng.choice([1.0, -1.0, 0.0])}})
    pipe = Pipeline.from_conf(conf)
    for _ in range(5):
        sp = random_spec(rng, hosts)
        slow = pipe.run_slow(hosts, sp)
        fast = pipe.run_fast(hl, hl.columns, sp)
        assert [(h.host, w) for h, w in fast.weighed] == \
            [(h.host, w) for h, w in slow.weighed]


CAPABILITY_SPECS = [
    {"capabilities:hypervisor_type": "QEMU"},
    {"capabilities:stats:gpu": "1", "capabilities:free_ram_mb": ">= 4096"},
    {"gpu": "<or> 0 <or> 1", "vcpus_total": ">= 8", "capabilities:nope": "x"},
    {"hw:cpu_policy": "dedicated"},
]
QUERIES = [[">=", "$free_ram_mb", 4096], ["and", ["=", "$hypervisor_type", "KVM"],
                                           ["<", "$num_instances", 4]],
           ["=", "$stats.gpu", "1"]]


@pytest.mark.parametrize("seed", range(40))
def test_partitions_follow_row_updates_across_snapshots(seed):
    """The host cache's life: snapshots ask for partitions, the origin keeps
    them up to date through set(), later snapshots get them ready-made; masks
    always equal host_passes over the current rows."""
    rng = random.Random(seed)
    hosts = [random_host(rng, i) for i in range(rng.randrange(1, 30))]
    cols = Columns(hosts)
    caps = filters_mod.load(["ComputeCapabilitiesFilter"], Config())[0]
    jsonf = filters_mod.load(["JsonFilter"], Config())[0]
    for rnd in range(6):
        snap = cols.copy()
        if rnd > 0:
            assert any(k[0] == "capability" for k in snap._partitions)
        for extra in CAPABILITY_SPECS:
            sp = spec(extra_specs=MappingProxyType(extra))
            m = caps.mask(snap, sp)
            got = [True] * len(hosts) if m is True else [bool(x) for x in m]
            assert got == [caps.host_passes(h, sp) for h in hosts]
        for q in QUERIES:
            sp = spec(hints=MappingProxyType({"query": json.dumps(q)}))
            assert [bool(x) for x in jsonf.mask(snap, sp)] == \
                [jsonf.host_passes(h, sp) for h in hosts]
        for _ in range(rng.randrange(1, 4)):     # rows change in the origin
            i = rng.randrange(len(hosts))
            hosts[i] = dataclasses.replace(random_host(rng, 1000 + rnd), host=hosts[i].host)
            cols.set(i, hosts[i])
