"""CPUWeigher, DiskWeigher and NumInstancesWeigher: raw weights, multipliers,
upstream normalisation and how they combine in the pipeline."""
from __future__ import annotations

import pytest

from scheduler_factories import host, spec
from stratus.common.config import Config
from stratus.scheduler import weighers
from stratus.scheduler.pipeline import Pipeline
from stratus.scheduler.weighers import CPUWeigher, DiskWeigher, NumInstancesWeigher, RAMWeigher


def conf(**fs):
    return Config(overrides={"filter_scheduler": fs})


NEW = [("CPUWeigher", "cpu_weight_multiplier", 1.0),
       ("DiskWeigher", "disk_weight_multiplier", 1.0),
       ("NumInstancesWeigher", "num_instances_weight_multiplier", 0.0)]


@pytest.mark.parametrize("name,option,default", NEW)
def test_registered_with_upstream_defaults_and_not_enabled(name, option, default):
    cls = weighers.WEIGHERS[name]
    assert cls.name == name
    assert getattr(Config().filter_scheduler, option) == default
    assert cls().multiplier() == default                  # no configuration
    assert cls(Config()).multiplier() == default
    assert cls(conf(**{option: -3.5})).multiplier() == -3.5
    assert name not in Config().filter_scheduler.weight_classes
    [w] = weighers.load([f"nova.scheduler.weights.x.{name}"])
    assert w.name == name


def test_all_weighers_includes_them():
    names = [w.name for w in weighers.load(["nova.scheduler.weights.all_weighers"])]
    assert {"CPUWeigher", "DiskWeigher", "NumInstancesWeigher"} <= set(names)


# vcpus, used, reserved, ratio -> free vCPUs
@pytest.mark.parametrize("vcpus,used,reserved,ratio,free", [
    (4, 0, 0, 1.0, 4), (4, 3, 0, 1.0, 1), (4, 0, 0, 4.0, 16), (4, 6, 0, 4.0, 10),
    (8, 2, 2, 2.0, 10), (4, 6, 0, 1.0, -2),               # over-committed: negative
])
def test_cpu_weigher_raw(vcpus, used, reserved, ratio, free):
    h = host(vcpus=vcpus, vcpus_used=used, reserved_host_cpus=reserved, cpu_allocation_ratio=ratio)
    assert CPUWeigher().weigh(h, spec()) == free


# local_gb, used, reserved_mb -> free MiB
@pytest.mark.parametrize("gb,used,reserved_mb,free_mb", [
    (100, 0, 0, 102400), (100, 40, 0, 61440), (100, 0, 2048, 100352), (100, 90, 10240, 0),
])
def test_disk_weigher_raw(gb, used, reserved_mb, free_mb):
    h = host(local_gb=gb, local_gb_used=used, reserved_host_disk_mb=reserved_mb)
    assert DiskWeigher().weigh(h, spec()) == free_mb


@pytest.mark.parametrize("num", [0, 1, 7, 50])
def test_num_instances_weigher_raw(num):
    assert NumInstancesWeigher().weigh(host(num_instances=num), spec()) == num


@pytest.mark.parametrize("cls,hosts,expected", [
    (CPUWeigher, [host(host="a", vcpus_used=0), host(host="b", vcpus_used=2),
                  host(host="c", vcpus_used=4)], [1.0, 0.5, 0.0]),
    (CPUWeigher, [host(host="a"), host(host="b")], [0.0, 0.0]),          # all equal -> 0
    (DiskWeigher, [host(host="a", local_gb_used=10), host(host="b", local_gb_used=60),
                   host(host="c", local_gb_used=100)], [1.0, 40 / 90, 0.0]),
    (NumInstancesWeigher, [host(host="a", num_instances=2), host(host="b", num_instances=6),
                           host(host="c", num_instances=10)], [0.0, 0.5, 1.0]),
    (NumInstancesWeigher, [host(host="a", num_instances=3)], [0.0]),      # single host
])
def test_normalised(cls, hosts, expected):
    assert cls().weigh_all(hosts, spec()) == pytest.approx(expected)


def ranking(weigher_names, hosts, **opts):
    p = Pipeline([], weighers.load(weigher_names, conf(**opts)))
    return [(h.host, round(w, 6)) for h, w in p.weigh(hosts, spec())]


# hosts: a busy (3 vcpus used, 7 instances), b idle, c half
def three():
    return [host(host="a", vcpus_used=3, local_gb_used=80, num_instances=7),
            host(host="b", vcpus_used=0, local_gb_used=0, num_instances=0),
            host(host="c", vcpus_used=2, local_gb_used=40, num_instances=3)]


@pytest.mark.parametrize("names,opts,expected", [
    # CPUWeigher alone: free 1, 4, 2 -> 0, 1, 1/3
    (["CPUWeigher"], {}, [("b", 1.0), ("c", 0.333333), ("a", 0.0)]),
    (["CPUWeigher"], {"cpu_weight_multiplier": 2.0}, [("b", 2.0), ("c", 0.666667), ("a", 0.0)]),
    (["CPUWeigher"], {"cpu_weight_multiplier": -1.0},                     # stack
     [("a", 0.0), ("c", -0.333333), ("b", -1.0)]),
    (["CPUWeigher"], {"cpu_weight_multiplier": 0.0}, [("a", 0.0), ("b", 0.0), ("c", 0.0)]),
    # DiskWeigher: free 20, 100, 60 GB -> 0, 1, 0.5
    (["DiskWeigher"], {}, [("b", 1.0), ("c", 0.5), ("a", 0.0)]),
    (["DiskWeigher"], {"disk_weight_multiplier": -0.5}, [("a", 0.0), ("c", -0.25), ("b", -0.5)]),
    # NumInstancesWeigher: default multiplier 0 -> no effect (ties sorted by name)
    (["NumInstancesWeigher"], {}, [("a", 0.0), ("b", 0.0), ("c", 0.0)]),
    (["NumInstancesWeigher"], {"num_instances_weight_multiplier": 1.0},   # pack
     [("a", 1.0), ("c", 0.428571), ("b", 0.0)]),
    (["NumInstancesWeigher"], {"num_instances_weight_multiplier": -1.0},  # spread
     [("b", 0.0), ("c", -0.428571), ("a", -1.0)]),
    # combined: sum of multiplied normalised weights
    (["CPUWeigher", "DiskWeigher"], {}, [("b", 2.0), ("c", 0.833333), ("a", 0.0)]),
    (["CPUWeigher", "NumInstancesWeigher"],
     {"cpu_weight_multiplier": 1.0, "num_instances_weight_multiplier": 3.0},
     [("a", 3.0), ("c", 1.619048), ("b", 1.0)]),
    (["CPUWeigher", "DiskWeigher", "NumInstancesWeigher"],
     {"cpu_weight_multiplier": -1.0, "disk_weight_multiplier": 2.0,
      "num_instances_weight_multiplier": -0.5},
     [("b", 1.0), ("c", 0.452381), ("a", -0.5)]),
])
def test_combined_ranking(names, opts, expected):
    assert ranking(names, three(), **opts) == expected


def test_with_ram_weigher():
    hosts = [host(host="a", memory_mb_used=0, vcpus_used=4),
             host(host="b", memory_mb_used=8192, vcpus_used=0)]
    # RAM prefers a (1,0), CPU prefers b (0,1): the multipliers decide.
    assert ranking(["RAMWeigher", "CPUWeigher"], hosts,
                   cpu_weight_multiplier=2.0)[0][0] == "b"
    assert ranking(["RAMWeigher", "CPUWeigher"], hosts,
                   ram_weight_multiplier=2.0)[0][0] == "a"
    assert RAMWeigher(conf()).multiplier() == 1.0
