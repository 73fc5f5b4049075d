"""Every scheduler filter as a table of (host, request) -> passes."""
from __future__ import annotations

import datetime as dt

import pytest

from scheduler_factories import NOW, group, host, spec
from stratus.common.config import ConfigError
from stratus.scheduler import filters
from stratus.scheduler.filters import (AllHostsFilter, AvailabilityZoneFilter, ComputeFilter,
                                       CoreFilter, DifferentHostFilter, DiskFilter, RamFilter,
                                       RetryFilter, SameHostFilter, ServerGroupAffinityFilter,
                                       ServerGroupAntiAffinityFilter)
from stratus.scheduler.host_state import is_up

F = filters.FILTERS


@pytest.mark.parametrize("kw,passes", [
    ({}, True),
    ({"disabled": True, "disabled_reason": "maintenance"}, False),
    ({"forced_down": True}, False),
    ({"last_seen_up": None}, False),                                  # never reported
    ({"last_seen_up": NOW - dt.timedelta(seconds=60)}, True),        # exactly at the limit
    ({"last_seen_up": NOW - dt.timedelta(seconds=61)}, False),       # heartbeat too old
    ({"forced_down": True, "last_seen_up": NOW}, False),
])
def test_compute_filter(kw, passes):
    assert ComputeFilter().host_passes(host(**kw), spec()) is passes


def test_is_up_accepts_aware_now_with_naive_heartbeat():
    aware = NOW.replace(tzinfo=dt.timezone.utc)
    assert is_up(False, NOW - dt.timedelta(seconds=1), aware, 60)
    assert not is_up(False, NOW - dt.timedelta(seconds=61), aware, 60)


# memory 8192, used, reserved, ratio, request -> passes
@pytest.mark.parametrize("used,reserved,ratio,want,passes", [
    (0, 0, 1.0, 8192, True),
    (0, 0, 1.0, 8193, False),
    (4096, 0, 1.0, 4096, True),
    (4096, 0, 1.0, 4097, False),
    (0, 512, 1.0, 7680, True),       # reserved memory is never given out
    (0, 512, 1.0, 7681, False),
    (0, 512, 1.5, 11520, True),      # (8192-512)*1.5
    (0, 512, 1.5, 11521, False),
    (8000, 0, 1.5, 4288, True),      # overcommit lets a full host take more
    (9000, 0, 1.0, 1, False),        # already over (ratio lowered later)
])
def test_ram_filter(used, reserved, ratio, want, passes):
    h = host(memory_mb_used=used, reserved_host_memory_mb=reserved, ram_allocation_ratio=ratio)
    assert RamFilter().host_passes(h, spec(memory_mb=want)) is passes


@pytest.mark.parametrize("vcpus,used,reserved,ratio,want,passes", [
    (4, 0, 0, 1.0, 4, True),
    (4, 0, 0, 1.0, 5, False),
    (4, 3, 0, 1.0, 1, True),
    (4, 3, 0, 1.0, 2, False),
    (4, 60, 0, 16.0, 4, True),       # 64 virtual CPUs at ratio 16
    (4, 61, 0, 16.0, 4, False),
    (4, 0, 1, 16.0, 3, True),        # (4-1)*16 = 48
    (4, 45, 1, 16.0, 3, True),
    (4, 46, 1, 16.0, 3, False),
    (4, 0, 0, 16.0, 5, False),       # never more vCPUs than the host has, whatever the ratio
    (4, 0, 1, 16.0, 4, False),       # ... nor than its unreserved CPUs
])
def test_core_filter(vcpus, used, reserved, ratio, want, passes):
    h = host(vcpus=vcpus, vcpus_used=used, reserved_host_cpus=reserved,
             cpu_allocation_ratio=ratio)
    assert CoreFilter().host_passes(h, spec(vcpus=want)) is passes


@pytest.mark.parametrize("used,reserved_mb,ratio,want,passes", [
    (0, 0, 1.0, 100, True),
    (0, 0, 1.0, 101, False),
    (90, 0, 1.0, 10, True),
    (90, 0, 1.0, 11, False),
    (0, 1024, 1.0, 99, True),        # 1 GiB reserved
    (0, 1024, 1.0, 100, False),
    (0, 512, 1.0, 99, True),         # half a GiB reserved: 99.5 GB usable
    (0, 512, 1.0, 100, False),
    (0, 0, 2.0, 200, True),
    (150, 0, 2.0, 51, False),
    (0, 0, 1.0, 0, True),            # diskless flavor
])
def test_disk_filter(used, reserved_mb, ratio, want, passes):
    h = host(local_gb_used=used, reserved_host_disk_mb=reserved_mb, disk_allocation_ratio=ratio)
    assert DiskFilter().host_passes(h, spec(disk_gb=want)) is passes


AZ1 = [("agg1", {"availability_zone": "az1"})]
AZ12 = [("agg1", {"availability_zone": "az1"}), ("agg2", {"availability_zone": "az2"})]
PLAIN = [("fast", {"ssd": "true"})]


@pytest.mark.parametrize("aggs,requested,passes", [
    ((), None, True),
    ((), "nova", True),              # default zone of hosts in no AZ aggregate
    ((), "az1", False),
    (AZ1, "az1", True),
    (AZ1, "nova", False),            # an AZ aggregate takes the host out of the default zone
    (AZ1, None, True),
    (AZ12, "az2", True),
    (AZ12, "az3", False),
    (PLAIN, "nova", True),           # aggregates without AZ metadata do not change it
    (PLAIN, "fast", False),
])
def test_availability_zone_filter(aggs, requested, passes):
    h = host(aggregates=aggs)
    assert AvailabilityZoneFilter().host_passes(h, spec(availability_zone=requested)) is passes


def test_host_availability_zone_and_metadata_come_from_aggregates():
    h = host(aggregates=AZ12 + PLAIN)
    assert h.availability_zone == "az1,az2"
    assert h.aggregates == ("agg1", "agg2", "fast")
    assert h.aggregate_metadata["ssd"] == frozenset({"true"})
    assert host().availability_zone == "nova"


@pytest.mark.parametrize("grp,name,passes", [
    (None, "h1", True),                                        # no group
    (group("affinity"), "h1", True),                           # first member: anywhere
    (group("affinity", {"h1": 1}), "h1", True),
    (group("affinity", {"h1": 1}), "h2", False),
    (group("anti-affinity", {"h1": 1}), "h2", True),           # other policies ignored
    (group("soft-affinity", {"h1": 1}), "h2", True),
])
def test_server_group_affinity_filter(grp, name, passes):
    assert ServerGroupAffinityFilter().host_passes(host(host=name), spec(group=grp)) is passes


@pytest.mark.parametrize("grp,name,passes", [
    (None, "h1", True),
    (group("anti-affinity"), "h1", True),                      # empty group / first member
    (group("anti-affinity", {"h1": 1}), "h1", False),
    (group("anti-affinity", {"h1": 1}), "h2", True),
    (group("anti-affinity", {"h1": 1, "h2": 1}), "h2", False),
    (group("anti-affinity", {"h1": 1}, {"max_server_per_host": 2}), "h1", True),
    (group("anti-affinity", {"h1": 2}, {"max_server_per_host": 2}), "h1", False),
    (group("anti-affinity", {"h1": 1}, {"max_server_per_host": "bad"}), "h1", False),
    (group("affinity", {"h1": 1}), "h1", True),                # other policies ignored
    (group("soft-anti-affinity", {"h1": 3}), "h1", True),
])
def test_server_group_anti_affinity_filter(grp, name, passes):
    assert ServerGroupAntiAffinityFilter().host_passes(host(host=name), spec(group=grp)) is passes


@pytest.mark.parametrize("tried,name,passes", [
    (frozenset(), "h1", True),
    (frozenset({"h1"}), "h1", False),
    (frozenset({"h1"}), "h2", True),
])
def test_retry_filter(tried, name, passes):
    assert RetryFilter().host_passes(host(host=name), spec(tried_hosts=tried)) is passes


@pytest.mark.parametrize("same,name,passes", [
    (None, "h1", True),                  # no hint
    (frozenset(), "h1", False),          # hint names instances that are nowhere
    (frozenset({"h1"}), "h1", True),
    (frozenset({"h1"}), "h2", False),
])
def test_same_host_filter(same, name, passes):
    assert SameHostFilter().host_passes(host(host=name), spec(same_host_hosts=same)) is passes


@pytest.mark.parametrize("different,name,passes", [
    (frozenset(), "h1", True),
    (frozenset({"h1"}), "h1", False),
    (frozenset({"h1"}), "h2", True),
])
def test_different_host_filter(different, name, passes):
    s = spec(different_host_hosts=different)
    assert DifferentHostFilter().host_passes(host(host=name), s) is passes


def test_all_hosts_filter_passes_even_a_down_host():
    assert AllHostsFilter().host_passes(host(forced_down=True), spec())


@pytest.mark.parametrize("f,s,text", [
    (RamFilter(), spec(memory_mb=2048), "needs 2048 MB RAM"),
    (CoreFilter(), spec(vcpus=3), "needs 3 vCPU(s)"),
    (DiskFilter(), spec(disk_gb=20), "needs 20 GB disk"),
    (AvailabilityZoneFilter(), spec(availability_zone="az9"), "not in availability zone 'az9'"),
    (ComputeFilter(), spec(), "compute service disabled or down"),
    (RetryFilter(), spec(tried_hosts=frozenset({"b", "a"})), "already tried a, b"),
])
def test_reasons_name_what_was_missing(f, s, text):
    assert f.reason(s) == text


def test_every_filter_has_its_upstream_name_and_filter_all_keeps_order():
    for name, cls in F.items():
        assert cls.name == name == cls.__name__
    hosts = [host(id=i, host=f"h{i}", memory_mb_used=used)
             for i, used in enumerate([0, 8000, 100, 0])]
    kept = RamFilter().filter_all(hosts, spec(memory_mb=1024))
    assert [h.host for h in kept] == ["h0", "h2", "h3"]


def test_load_keeps_configured_order_accepts_upstream_paths_and_rejects_typos():
    loaded = filters.load(["RamFilter", "nova.scheduler.filters.compute_filter.ComputeFilter"])
    assert [f.name for f in loaded] == ["RamFilter", "ComputeFilter"]
    with pytest.raises(ConfigError, match="RamFliter"):
        filters.load(["RamFliter"])
