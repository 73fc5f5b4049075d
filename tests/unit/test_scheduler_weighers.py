"""Weighers and upstream's normalisation."""
from __future__ import annotations

import pytest

from scheduler_factories import group, host, spec
from stratus.common.config import Config, ConfigError
from stratus.scheduler import weighers
from stratus.scheduler.weighers import (RAMWeigher, ServerGroupSoftAffinityWeigher,
                                        ServerGroupSoftAntiAffinityWeigher, normalize)


@pytest.mark.parametrize("values,lo,hi,expected", [
    ([], None, None, []),
    ([5], None, None, [0.0]),                      # a single host: nothing to rank
    ([3, 3, 3], None, None, [0.0, 0.0, 0.0]),      # all equal -> all 0
    ([0, 5, 10], None, None, [0.0, 0.5, 1.0]),
    ([10, 0], None, None, [1.0, 0.0]),
    ([-4, -2, 0], None, None, [0.0, 0.5, 1.0]),
    ([1, 2], 0, 4, [0.25, 0.5]),                  # a fixed range
])
def test_normalize(values, lo, hi, expected):
    assert normalize(values, lo, hi) == pytest.approx(expected)


def conf(**fs):
    return Config(overrides={"filter_scheduler": fs})


def test_ram_weigher_ranks_by_free_physical_ram_and_reads_its_multiplier():
    hosts = [host(host="a", memory_mb_used=4096),
             host(host="b", memory_mb_used=0, reserved_host_memory_mb=1024),
             host(host="c", memory_mb_used=7000)]
    w = RAMWeigher(conf(ram_weight_multiplier=-2.0))
    assert [w.weigh(h, spec()) for h in hosts] == [4096, 7168, 1192]
    assert w.multiplier() == -2.0
    assert w.weigh_all(hosts, spec()) == pytest.approx([(4096 - 1192) / 5976, 1.0, 0.0])
    assert RAMWeigher().multiplier() == 1.0       # no configuration: upstream default


@pytest.mark.parametrize("cls,policy,expected", [
    (ServerGroupSoftAffinityWeigher, "soft-affinity", [2, 0, 1]),
    (ServerGroupSoftAffinityWeigher, "soft-anti-affinity", [0, 0, 0]),
    (ServerGroupSoftAntiAffinityWeigher, "soft-anti-affinity", [-2, 0, -1]),
    (ServerGroupSoftAntiAffinityWeigher, "anti-affinity", [0, 0, 0]),
])
def test_soft_group_weighers_count_members_per_host(cls, policy, expected):
    s = spec(group=group(policy, {"a": 2, "c": 1}))
    hosts = [host(host=n) for n in "abc"]
    assert [cls().weigh(h, s) for h in hosts] == expected


def test_soft_group_weighers_ignore_requests_without_group():
    assert ServerGroupSoftAffinityWeigher().weigh(host(), spec()) == 0
    assert ServerGroupSoftAntiAffinityWeigher().weigh(host(), spec()) == 0


def test_soft_multipliers_come_from_config():
    c = conf(soft_affinity_weight_multiplier=3.0, soft_anti_affinity_weight_multiplier=0.5)
    assert ServerGroupSoftAffinityWeigher(c).multiplier() == 3.0
    assert ServerGroupSoftAntiAffinityWeigher(c).multiplier() == 0.5


def test_load_names_all_weighers_and_typos():
    assert [w.name for w in weighers.load(["RAMWeigher"])] == ["RAMWeigher"]
    assert {w.name for w in weighers.load(["nova.scheduler.weights.all_weighers"])} == set(
        weighers.WEIGHERS)
    with pytest.raises(ConfigError, match="RamWeigher"):
        weighers.load(["RamWeigher"])
