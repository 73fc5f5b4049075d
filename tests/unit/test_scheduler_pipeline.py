"""The filter -> weigher pipeline: survivors, weights, subset pick, fault text."""
from __future__ import annotations

import random

import pytest

from scheduler_factories import group, host, spec
from stratus.common.config import Config
from stratus.scheduler import filters, weighers
from stratus.scheduler.pipeline import Pipeline

DEFAULT = ["AvailabilityZoneFilter", "ComputeFilter", "RamFilter", "CoreFilter", "DiskFilter",
           "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"]


def pipe(names=DEFAULT, weights=("RAMWeigher",), subset=1, rng=None, **fs):
    conf = Config(overrides={"filter_scheduler": fs}) if fs else None
    return Pipeline(filters.load(names, conf), weighers.load(weights, conf), subset, rng)


def cloud():
    """h1 full of RAM, h2 disabled, h3 roomy, h4 half used, h5 in az1."""
    return [host(id=1, host="h1", memory_mb_used=8000),
            host(id=2, host="h2", disabled=True),
            host(id=3, host="h3"),
            host(id=4, host="h4", memory_mb_used=4096),
            host(id=5, host="h5", aggregates=[("a", {"availability_zone": "az1"})])]


def test_filters_run_in_order_and_survivors_are_recorded():
    result = pipe().run(cloud(), spec(memory_mb=1024))
    assert [s.name for s in result.steps] == DEFAULT
    by = {s.name: s for s in result.steps}
    assert by["ComputeFilter"].removed == ("h2",)
    assert by["RamFilter"].removed == ("h1",)
    assert by["RamFilter"].survivors == ("h3", "h4", "h5")
    assert [h.host for h in result.hosts] == ["h3", "h5", "h4"]   # most free RAM first


def test_weights_are_normalised_and_multiplied():
    result = pipe(ram_weight_multiplier=-1.0).run(cloud(), spec(memory_mb=64))
    weights = {h.host: w for h, w in result.weighed}
    assert weights["h1"] == pytest.approx(0.0)                    # least free RAM, stacking
    assert weights["h3"] == pytest.approx(-1.0)
    assert result.hosts[0].host == "h1"


def test_weighers_sum_with_their_multipliers():
    s = spec(group=group("soft-anti-affinity", {"h3": 1}))
    hosts = [host(id=3, host="h3"), host(id=4, host="h4", memory_mb_used=1024)]
    # RAM alone prefers h3; the soft-anti-affinity weigher (x2) outweighs it.
    p = pipe(["ComputeFilter"], ("RAMWeigher", "ServerGroupSoftAntiAffinityWeigher"),
             soft_anti_affinity_weight_multiplier=2.0)
    assert [h.host for h in p.run(hosts, s).hosts] == ["h4", "h3"]
    p = pipe(["ComputeFilter"], ("RAMWeigher", "ServerGroupSoftAntiAffinityWeigher"),
             soft_anti_affinity_weight_multiplier=0.0)
    assert [h.host for h in p.run(hosts, s).hosts] == ["h3", "h4"]


def test_equal_weights_tie_break_by_host_name():
    hosts = [host(id=i, host=n) for i, n in enumerate(["c", "a", "b"])]
    assert [h.host for h in pipe().run(hosts, spec()).hosts] == ["a", "b", "c"]


@pytest.mark.parametrize("s,message", [
    (spec(memory_mb=16384),
     "No valid host was found. RamFilter removed the last 4 host(s) (needs 16384 MB RAM)"),
    (spec(availability_zone="az9"),
     "No valid host was found. AvailabilityZoneFilter removed the last 5 host(s) "
     "(not in availability zone 'az9')"),
    (spec(availability_zone="az1", vcpus=8),
     "No valid host was found. CoreFilter removed the last 1 host(s) (needs 8 vCPU(s))"),
    (spec(disk_gb=500), "No valid host was found. DiskFilter removed the last 3 host(s) "
                        "(needs 500 GB disk)"),
])
def test_no_valid_host_names_the_filter_that_removed_the_last_hosts(s, message):
    result = pipe().run(cloud(), s)
    assert result.weighed == ()
    assert result.fault_message() == message
    assert result.steps[-1].survivors == ()          # filtering stops at the empty step


def test_no_hosts_at_all_and_all_down():
    assert pipe().run([], spec()).fault_message() == (
        "No valid host was found. There are no compute hosts.")
    down = [host(id=1, host="a", forced_down=True), host(id=2, host="b", last_seen_up=None)]
    assert pipe().run(down, spec()).fault_message() == (
        "No valid host was found. ComputeFilter removed the last 2 host(s) "
        "(compute service disabled or down)")


def test_fault_message_fits_the_column_and_details_break_down_every_filter():
    p = pipe(["AvailabilityZoneFilter"])
    result = p.run([host()], spec(availability_zone="z" * 400))
    assert len(result.fault_message()) == 255
    details = pipe().run(cloud(), spec(memory_mb=16384)).details()
    assert details.splitlines()[0] == "5 host(s) considered"
    assert "ComputeFilter: 5 -> 4 (removed h2: compute service disabled or down)" in details
    assert "RamFilter: 4 -> 0 (removed h1, h3, h4, h5: needs 16384 MB RAM)" in details


def test_affinity_group_pipeline_first_member_and_followers():
    hosts = [host(id=i, host=f"h{i}") for i in range(1, 4)]
    first = pipe().run(hosts, spec(group=group("affinity")))
    assert len(first.hosts) == 3
    follow = pipe().run(hosts, spec(group=group("affinity", {"h2": 1})))
    assert [h.host for h in follow.hosts] == ["h2"]
    anti = pipe().run(hosts, spec(group=group("anti-affinity", {"h1": 1, "h2": 1, "h3": 1})))
    assert anti.fault_message().startswith(
        "No valid host was found. ServerGroupAntiAffinityFilter removed the last 3 host(s)")


def test_forced_host_restricts_candidates_but_filters_still_apply():
    result = pipe().run(cloud(), spec(force_host="h4"))
    assert [h.host for h in result.hosts] == ["h4"]
    assert result.steps[0].name == "ForcedHost"
    gone = pipe().run(cloud(), spec(force_host="nope"))
    assert gone.fault_message() == ("No valid host was found. ForcedHost removed the last 5 "
                                    "host(s) (not the requested host 'nope')")
    full = pipe().run(cloud(), spec(force_host="h1", memory_mb=1024))
    assert "RamFilter removed the last 1 host(s)" in full.fault_message()


@pytest.mark.parametrize("subset,expected_firsts", [
    (1, {"h3"}),
    (2, {"h3", "h5"}),
    (3, {"h3", "h4", "h5"}),
    (50, {"h3", "h4", "h5", "h1"}),           # larger than the host list: any survivor
])
def test_host_subset_size_picks_randomly_among_the_best(subset, expected_firsts):
    p = pipe(subset=subset, rng=random.Random(7))
    result = p.run(cloud(), spec(memory_mb=64))
    firsts = set()
    for _ in range(200):
        order = p.candidates(result)
        assert sorted(h.host for h in order) == ["h1", "h3", "h4", "h5"]   # all kept as alternates
        rest = [h.host for h in order[1:]]
        assert rest == [h.host for h in result.hosts if h.host != order[0].host]
        firsts.add(order[0].host)
    assert firsts == expected_firsts


def test_candidates_of_an_empty_result():
    p = pipe()
    assert p.candidates(p.run([], spec())) == []


def test_from_conf_always_applies_the_retry_filter_first():
    p = Pipeline.from_conf(Config())
    assert [f.name for f in p.filters] == ["RetryFilter"] + DEFAULT
    c = Config(overrides={"filter_scheduler": {"enabled_filters": ["ComputeFilter", "RetryFilter"],
                                               "host_subset_size": 3}})
    p = Pipeline.from_conf(c)
    assert [f.name for f in p.filters] == ["ComputeFilter", "RetryFilter"]
    assert p.host_subset_size == 3
    result = p.run(cloud(), spec(tried_hosts=frozenset({"h3", "h4"})))
    assert [h.host for h in result.hosts] == ["h5", "h1"]


def test_explain_dict_lists_survivors_removed_and_weights():
    d = pipe().run(cloud(), spec(memory_mb=1024)).as_dict()
    assert d["hosts_considered"] == 5
    ram = next(f for f in d["filters"] if f["name"] == "RamFilter")
    assert ram == {"name": "RamFilter", "hosts_in": 4, "survivors": ["h3", "h4", "h5"],
                   "removed": ["h1"], "reason": "needs 1024 MB RAM"}
    assert [w["host"] for w in d["weights"]] == ["h3", "h5", "h4"]
    assert d["reason"] is None
    assert pipe().run(cloud(), spec(memory_mb=99999)).as_dict()["reason"].startswith("RamFilter")


def test_module_explain_uses_the_configured_pipeline():
    from stratus.scheduler.pipeline import explain
    c = Config(overrides={"filter_scheduler": {"enabled_filters": ["ComputeFilter"]}})
    d = explain(c, cloud(), spec(tried_hosts=frozenset({"h3"})))
    assert [f["name"] for f in d["filters"]] == ["RetryFilter", "ComputeFilter"]
    assert d["filters"][0]["removed"] == ["h3"]
    assert d["filters"][1]["removed"] == ["h2"]
