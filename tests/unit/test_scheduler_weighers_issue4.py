"""IoOpsWeigher, BuildFailureWeigher, BandwidthWeigher (and a check that
ServerGroupSoftAntiAffinityWeigher matches nova): raw weights, multipliers
with nova's defaults, upstream normalisation, effect in the pipeline."""
from __future__ import annotations

import pytest

from scheduler_factories import NOW, group, host, node, spec
from stratus.common.config import Config
from stratus.scheduler import host_state, weighers
from stratus.scheduler.pipeline import Pipeline
from stratus.scheduler.weighers import (BandwidthWeigher, BuildFailureWeigher, IoOpsWeigher,
                                        ServerGroupSoftAntiAffinityWeigher)


def conf(**fs):
    return Config(overrides={"filter_scheduler": fs})


def io(n, name="h", **kw):
    return host_state.make(node(host=name, **kw), now=NOW, service_down_time=60,
                           default_az="nova", io_ops=n)


NEW = [("IoOpsWeigher", "io_ops_weight_multiplier", -1.0, -1.0),
       ("BuildFailureWeigher", "build_failure_weight_multiplier", 1000000.0, -1000000.0),
       ("BandwidthWeigher", "bandwidth_weight_multiplier", 1.0, 1.0)]


@pytest.mark.parametrize("name,option,default,effective", NEW)
def test_registered_with_nova_defaults(name, option, default, effective):
    cls = weighers.WEIGHERS[name]
    assert cls.name == name
    assert getattr(Config().filter_scheduler, option) == default
    assert cls().multiplier() == effective
    assert cls(Config()).multiplier() == effective
    sign = effective / default          # BuildFailureWeigher negates its option
    assert cls(conf(**{option: 2.0})).multiplier() == 2.0 * sign
    [w] = weighers.load([f"nova.scheduler.weights.x.{name}"])
    assert w.name == name
    assert name in [w.name for w in weighers.load(["nova.scheduler.weights.all_weighers"])]


# -- IoOpsWeigher --------------------------------------------------------------------------
@pytest.mark.parametrize("ops,normalised", [
    ([0, 0, 0], [0.0, 0.0, 0.0]),
    ([2, 4], [0.5, 1.0]),               # minval 0 as upstream: not [0, 1]
    ([0, 5, 10], [0.0, 0.5, 1.0]),
    ([3, 3], [1.0, 1.0]),               # range 0..3
])
def test_io_ops_normalisation_from_zero(ops, normalised):
    hosts = [io(n, f"h{i}") for i, n in enumerate(ops)]
    assert IoOpsWeigher().weigh_all(hosts, spec()) == normalised


def test_io_ops_weigher_prefers_quiet_hosts_by_default():
    pipe = Pipeline([], weighers.load(["IoOpsWeigher"], Config()))
    ranked = pipe.weigh([io(4, "busy"), io(1, "quiet"), io(2, "mid")], spec())
    assert [h.host for h, _ in ranked] == ["quiet", "mid", "busy"]
    assert [w for _, w in ranked] == [-0.25, -0.5, -1.0]
    packed = Pipeline([], weighers.load(["IoOpsWeigher"], conf(io_ops_weight_multiplier=1.0)))
    assert packed.weigh([io(4, "busy"), io(1, "quiet")], spec())[0][0].host == "busy"


# -- BuildFailureWeigher -----------------------------------------------------------------------
def test_failed_builds_sink_below_everything_else():
    hosts = [host(host="failing", failed_builds=1, memory_mb=65536),
             host(host="small", memory_mb=4096), host(host="fine", memory_mb=8192)]
    pipe = Pipeline([], weighers.load(["RAMWeigher", "BuildFailureWeigher"], Config()))
    ranked = pipe.weigh(hosts, spec())
    assert [h.host for h, _ in ranked] == ["fine", "small", "failing"]
    assert ranked[-1][1] == pytest.approx(1.0 - 1000000.0)


@pytest.mark.parametrize("counts,normalised", [([0, 0], [0.0, 0.0]), ([0, 2, 4], [0, .5, 1]),
                                               ([3, 5], [0.0, 1.0])])
def test_build_failure_normalisation(counts, normalised):
    hosts = [host(host=f"h{i}", failed_builds=n) for i, n in enumerate(counts)]
    assert BuildFailureWeigher().weigh_all(hosts, spec()) == normalised


def test_build_failure_multiplier_zero_disables():
    pipe = Pipeline([], weighers.load(["BuildFailureWeigher"],
                                      conf(build_failure_weight_multiplier=0.0)))
    ranked = pipe.weigh([host(host="b", failed_builds=3), host(host="a")], spec())
    assert [w for _, w in ranked] == [0.0, 0.0]


# -- BandwidthWeigher -------------------------------------------------------------------------
def test_bandwidth_weigher_free_kbps_and_spreading():
    hosts = [host(host="big", bandwidth_mbps=10000, bandwidth_kbps_used=9_000_000),  # 1 Gb free
             host(host="mid", bandwidth_mbps=2000),                                 # 2 Gb free
             host(host="agg", aggregates=[("fast", {"bandwidth_mbps": "4000"})]),   # 4 Gb free
             host(host="none")]
    w = BandwidthWeigher()
    assert [w.weigh(h, spec()) for h in hosts] == [1_000_000, 2_000_000, 4_000_000, 0]
    assert w.weigh_all(hosts, spec()) == [0.25, 0.5, 1.0, 0.0]
    ranked = Pipeline([], weighers.load(["BandwidthWeigher"])).weigh(hosts, spec())
    assert [h.host for h, _ in ranked] == ["agg", "mid", "big", "none"]
    stacked = Pipeline([], weighers.load(["BandwidthWeigher"],
                                         conf(bandwidth_weight_multiplier=-1.0)))
    assert [h.host for h, _ in stacked.weigh(hosts[:3], spec())] == ["big", "mid", "agg"]


def test_bandwidth_weigher_neutral_when_nothing_advertised():
    hosts = [host(host="a", memory_mb=4096), host(host="b", memory_mb=8192)]
    assert BandwidthWeigher().weigh_all(hosts, spec()) == [0.0, 0.0]


def test_bandwidth_weigher_overcommitted_host_weighs_zero():
    h = host(bandwidth_mbps=100, bandwidth_kbps_used=200_000)
    assert BandwidthWeigher().weigh(h, spec()) == 0


# -- ServerGroupSoftAntiAffinityWeigher (nova: -members on the host, multiplier 1.0) ---------
def test_soft_anti_affinity_matches_nova():
    g = group("soft-anti-affinity", hosts={"a": 2, "b": 1})
    s = spec(group=g, group_uuid=g.uuid)
    hosts = [host(host="a"), host(host="b"), host(host="c")]
    w = ServerGroupSoftAntiAffinityWeigher()
    assert w.multiplier() == 1.0
    assert [w.weigh(h, s) for h in hosts] == [-2, -1, 0]
    assert w.weigh_all(hosts, s) == [0.0, 0.5, 1.0]
    ranked = Pipeline([], [w]).weigh(hosts, s)
    assert [h.host for h, _ in ranked] == ["c", "b", "a"]
    # Another policy, or no group: no effect.
    other = spec(group=group("soft-affinity", hosts={"a": 2}))
    assert w.weigh_all(hosts, other) == [0.0, 0.0, 0.0]
    assert w.weigh_all(hosts, spec()) == [0.0, 0.0, 0.0]
