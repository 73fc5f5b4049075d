"""Scheduler drivers (scheduler/drivers.py): selection by config, and the
``chance`` driver's fixed checks and uniformly random pick."""
from __future__ import annotations

import collections
import random

import pytest

from scheduler_factories import group, host, spec
from stratus.common.config import Config, ConfigError
from stratus.scheduler import cells, drivers
from stratus.scheduler.pipeline import Pipeline


def conf(driver=None, legacy=None, **fs):
    over = {"filter_scheduler": fs}
    if driver is not None:
        over["scheduler"] = {"driver": driver}
    if legacy is not None:
        over["DEFAULT"] = {"scheduler_driver": legacy}
    return Config(overrides=over)


@pytest.mark.parametrize("driver, legacy, expected", [
    (None, None, "filter_scheduler"),
    ("chance", None, "chance"),
    ("chance_scheduler", None, "chance"),
    ("nova.scheduler.chance.ChanceScheduler", None, "chance"),
    ("nova.scheduler.filter_scheduler.FilterScheduler", None, "filter_scheduler"),
    (None, "nova.scheduler.chance.ChanceScheduler", "chance"),   # deprecated [DEFAULT] name
    ("chance", "filter_scheduler", "chance"),                    # the new option wins
])
def test_driver_is_selected_by_config(driver, legacy, expected):
    c = conf(driver, legacy)
    assert drivers.driver_name(c) == expected
    pipe = drivers.load(c)
    assert pipe.driver == expected
    assert isinstance(pipe, drivers.ChancePipeline) == (expected == "chance")


def test_unknown_driver_is_a_config_error_naming_the_option():
    with pytest.raises(ConfigError, match=r"\[scheduler\] driver: unknown scheduler driver "
                                          r"'caching_scheduler'"):
        drivers.load(conf("caching_scheduler"))
    with pytest.raises(ConfigError, match=r"\[DEFAULT\] scheduler_driver"):
        drivers.load(conf(legacy="bogus"))


def test_chance_applies_its_fixed_checks_whatever_enabled_filters_says():
    # enabled_filters would let everything through; chance still checks.
    p = drivers.load(conf("chance", enabled_filters=["AllHostsFilter"]))
    names = [f.name for f in p.filters]
    assert names[:6] == ["RetryFilter", "ComputeFilter", "AvailabilityZoneFilter",
                         "RamFilter", "CoreFilter", "DiskFilter"]
    assert names[-2:] == ["ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"]
    assert p.weighers == []
    hosts = [host(id=1, host="down", forced_down=True),
             host(id=2, host="full", memory_mb_used=8000),
             host(id=3, host="few-cpus", vcpus=1),
             host(id=4, host="tried"),
             host(id=5, host="grouped"),
             host(id=6, host="elsewhere", aggregates=[("x", {"availability_zone": "az9"})]),
             host(id=7, host="ok1"), host(id=8, host="ok2", memory_mb_used=4096)]
    s = spec(vcpus=2, memory_mb=1024, tried_hosts=frozenset({"tried"}), group_uuid="g-1",
             group=group("anti-affinity", {"grouped": 1}), availability_zone="nova")
    result = p.run(hosts, s)
    removed = {step.name: step.removed for step in result.steps if step.removed}
    assert removed == {"RetryFilter": ("tried",), "ComputeFilter": ("down",),
                       "AvailabilityZoneFilter": ("elsewhere",), "RamFilter": ("full",),
                       "CoreFilter": ("few-cpus",),
                       "ServerGroupAntiAffinityFilter": ("grouped",)}
    assert sorted(h.host for h in result.hosts) == ["ok1", "ok2"]
    assert {w for _, w in result.weighed} == {0.0}          # no weigher: no preference


def test_chance_picks_uniformly_among_the_survivors():
    p = drivers.load(conf("chance"), random.Random(42))
    hosts = [host(id=k, host=f"h{k}", memory_mb_used=1024 * k) for k in range(4)]
    result = p.run(hosts, spec())
    firsts = collections.Counter(p.candidates(result)[0].host for _ in range(800))
    assert set(firsts) == {"h0", "h1", "h2", "h3"}
    assert all(150 <= n <= 250 for n in firsts.values()), firsts   # ~200 each
    order = p.candidates(result)
    assert sorted(h.host for h in order) == ["h0", "h1", "h2", "h3"]   # all are alternates


def test_filter_scheduler_prefers_the_best_weighed_host_where_chance_does_not():
    hosts = [host(id=1, host="roomy"), host(id=2, host="busy", memory_mb_used=6000)]
    fs = drivers.load(conf(), random.Random(0))
    assert {fs.candidates(fs.run(hosts, spec()))[0].host for _ in range(50)} == {"roomy"}
    ch = drivers.load(conf("chance"), random.Random(0))
    assert {ch.candidates(ch.run(hosts, spec()))[0].host for _ in range(50)} == {"roomy",
                                                                                  "busy"}


def test_chance_no_valid_host_names_the_check_and_works_with_cells():
    p = drivers.load(conf("chance"))
    hosts = [host(id=1, host="a", cell="c1"), host(id=2, host="b", cell="c2")]
    d = cells.decide(p, hosts, spec(memory_mb=99999), conf("chance"))
    assert "RamFilter removed the last 1 host(s) (needs 99999 MB RAM)" in d.fault_message()
    assert isinstance(p, Pipeline)
