"""EcuFilter, BandwidthFilter, IoOpsFilter, AggregateIoOpsFilter,
SimpleCIDRAffinityFilter and ImagePropertiesFilter: pass/fail edges, reason
texts, aggregate metadata, nova's canonicalisation and version predicates."""
from __future__ import annotations

from types import MappingProxyType

import pytest

from scheduler_factories import host, spec
from stratus.common.config import Config
from stratus.scheduler import filters, image_props
from stratus.scheduler.filters import (AggregateIoOpsFilter, BandwidthFilter, EcuFilter,
                                       ImagePropertiesFilter, IoOpsFilter,
                                       SimpleCIDRAffinityFilter)
from stratus.scheduler.pipeline import Pipeline

NEW = ["EcuFilter", "BandwidthFilter", "IoOpsFilter", "AggregateIoOpsFilter",
       "SimpleCIDRAffinityFilter", "ImagePropertiesFilter"]


def conf(**fs):
    return Config(overrides={"filter_scheduler": fs})


@pytest.mark.parametrize("name", NEW)
def test_registered_by_upstream_name_and_opt_in(name):
    assert filters.FILTERS[name].name == name
    assert name not in Config().filter_scheduler.enabled_filters
    [f] = filters.load([f"nova.scheduler.filters.x.{name}"])
    assert f.name == name


# -- EcuFilter -------------------------------------------------------------------------
@pytest.mark.parametrize("ecu,used,asked,ok", [
    (0, 0, 0, True),            # asks for none: passes even where none are advertised
    (10, 10, 0, True),
    (0, 0, 1, False),           # strict: a host advertising none cannot serve a demand
    (10, 0, 10, True), (10, 1, 10, False), (10, 6, 4, True), (10, 7, 4, False),
    (10, 12, 1, False),         # over-committed (advertised figure lowered)
])
def test_ecu_filter(ecu, used, asked, ok):
    assert EcuFilter().host_passes(host(ecu=ecu, ecu_used=used), spec(ecu=asked)) is ok


def test_ecu_filter_reason():
    assert EcuFilter().reason(spec(ecu=12)) == "needs 12 unallocated ECU(s)"


# -- BandwidthFilter ----------------------------------------------------------------------
@pytest.mark.parametrize("mbps,used_kbps,asked_kbps,ok", [
    (0, 0, 0, True), (0, 0, 1, False),
    (1000, 0, 1_000_000, True), (1000, 1, 1_000_000, False),
    (1000, 600_000, 400_000, True), (1000, 600_001, 400_000, False),
])
def test_bandwidth_filter_host_config(mbps, used_kbps, asked_kbps, ok):
    h = host(bandwidth_mbps=mbps, bandwidth_kbps_used=used_kbps)
    assert BandwidthFilter().host_passes(h, spec(bandwidth_kbps=asked_kbps)) is ok


@pytest.mark.parametrize("aggregates,host_mbps,limit_kbps", [
    ([("a", {"bandwidth_mbps": "500"})], 0, 500_000),            # aggregate applies
    ([("a", {"bandwidth_mbps": "500"}), ("b", {"bandwidth_mbps": "300"})], 0, 300_000),
    ([("a", {"bandwidth_mbps": "500"}), ("b", {"bandwidth_mbps": "lots"})], 0, 500_000),
    ([("a", {"bandwidth_mbps": "500"})], 200, 200_000),          # host config wins
    ([("a", {"other": "1"})], 0, 0),
])
def test_bandwidth_filter_aggregate_metadata(aggregates, host_mbps, limit_kbps):
    h = host(aggregates=aggregates, bandwidth_mbps=host_mbps)
    assert h.bandwidth_kbps_limit == limit_kbps
    f = BandwidthFilter()
    if limit_kbps:
        assert f.host_passes(h, spec(bandwidth_kbps=limit_kbps))
    assert not f.host_passes(h, spec(bandwidth_kbps=limit_kbps + 1))


def test_bandwidth_filter_reason_in_mbps():
    assert BandwidthFilter().reason(spec(bandwidth_kbps=400_000)) == \
        "needs 400 Mbit/s of unallocated network bandwidth"
    assert "0.5 Mbit/s" in BandwidthFilter().reason(spec(bandwidth_kbps=500))


def test_no_valid_host_fault_names_bandwidth_filter():
    pipe = Pipeline(filters.load(["ComputeFilter", "EcuFilter", "BandwidthFilter"]), [])
    hosts = [host(id=1, host="a", bandwidth_mbps=100, ecu=8),
             host(id=2, host="b", bandwidth_mbps=300, bandwidth_kbps_used=100_000, ecu=8)]
    result = pipe.run(hosts, spec(ecu=4, bandwidth_kbps=400_000))
    assert result.weighed == ()
    msg = result.fault_message()
    assert msg.startswith("No valid host was found. BandwidthFilter removed the last 2 host(s)")
    assert "400 Mbit/s" in msg
    ok = pipe.run(hosts, spec(ecu=4, bandwidth_kbps=200_000))
    assert [h.host for h in ok.hosts] == ["b"]


# -- IoOpsFilter / AggregateIoOpsFilter -----------------------------------------------
@pytest.mark.parametrize("io_ops,ok", [(0, True), (7, True), (8, False), (9, False)])
def test_io_ops_filter_default_8(io_ops, ok):
    assert Config().filter_scheduler.max_io_ops_per_host == 8
    assert IoOpsFilter().host_passes(_io(io_ops), spec()) is ok
    assert IoOpsFilter(Config()).host_passes(_io(io_ops), spec()) is ok


def _io(n, aggregates=()):
    from scheduler_factories import NOW, node
    from stratus.scheduler import host_state
    return host_state.make(node(), now=NOW, service_down_time=60, default_az="nova",
                           aggregates=aggregates, io_ops=n)


def test_io_ops_filter_configured_and_reason():
    f = IoOpsFilter(conf(max_io_ops_per_host=2))
    assert f.host_passes(_io(1), spec()) and not f.host_passes(_io(2), spec())
    assert f.reason(spec()) == ("already has max_io_ops_per_host (2) or more I/O-heavy "
                                "operations in flight")


@pytest.mark.parametrize("values,io_ops,ok", [
    ([], 7, True), ([], 8, False),                         # no metadata: the option
    (["3"], 2, True), (["3"], 3, False),                   # aggregate lowers it
    (["20"], 15, True),                                    # ... or raises it
    (["20", "5"], 5, False),                               # several values: the smallest
    (["20", "x"], 9, False),                               # one not an int: the option (8)
    (["20", "x"], 7, True),
])
def test_aggregate_io_ops_filter(values, io_ops, ok):
    aggs = [(f"a{i}", {"max_io_ops_per_host": v}) for i, v in enumerate(values)]
    assert AggregateIoOpsFilter(Config()).host_passes(_io(io_ops, aggs), spec()) is ok


def test_aggregate_io_ops_reason():
    assert "aggregate's max_io_ops_per_host (default 8)" in AggregateIoOpsFilter().reason(spec())


# -- SimpleCIDRAffinityFilter ---------------------------------------------------------------
def hints(**kw):
    return spec(hints=MappingProxyType(kw))


@pytest.mark.parametrize("host_ip,hint,ok", [
    ("10.1.2.3", {}, True),                                           # no hint: all pass
    (None, {}, True),
    ("10.1.2.3", {"build_near_host_ip": "10.1.2.200"}, True),         # default /24
    ("10.1.3.3", {"build_near_host_ip": "10.1.2.200"}, False),
    ("10.1.3.3", {"build_near_host_ip": "10.1.2.200", "cidr": "/16"}, True),
    ("10.2.3.3", {"build_near_host_ip": "10.1.2.200", "cidr": "/16"}, False),
    ("10.1.2.3", {"build_near_host_ip": ["10.1.2.9", "192.0.2.1"]}, True),   # first of a list
    (None, {"build_near_host_ip": "10.1.2.200"}, False),              # host reported none
    ("not-an-ip", {"build_near_host_ip": "10.1.2.200"}, False),
    ("2001:db8::5", {"build_near_host_ip": "2001:db8::1", "cidr": "/64"}, True),
    ("2001:db9::5", {"build_near_host_ip": "2001:db8::1", "cidr": "/64"}, False),
    ("10.1.2.3", {"build_near_host_ip": "10.1.2.200", "cidr": "/99"}, False),  # bad hint
])
def test_simple_cidr_affinity(host_ip, hint, ok):
    h = host(host_ip=host_ip)
    f = SimpleCIDRAffinityFilter()
    assert f.host_passes(h, hints(**hint)) is ok
    assert (f.filter_all([h], hints(**hint)) == [h]) is ok


def test_simple_cidr_reason():
    f = SimpleCIDRAffinityFilter()
    assert f.reason(hints(build_near_host_ip="10.1.2.200")) == "host_ip not in 10.1.2.0/24"
    assert f.reason(hints(build_near_host_ip="10.1.2.200", cidr="/40")).startswith(
        "invalid build_near_host_ip/cidr hint")


# -- ImagePropertiesFilter ------------------------------------------------------------------
QEMU_X86 = {"supported_instances": [["x86_64", "qemu", "hvm"], ["x86_64", "kvm", "hvm"]]}


def img(**props):
    return spec(image_props=MappingProxyType(props))


@pytest.mark.parametrize("props,stats,version,ok", [
    ({}, {}, 0, True),                                               # asks nothing
    ({"img_hv_requested_version": ">=9.0"}, {}, 7002000, True),      # version alone: ignored
    ({"hw_architecture": "x86_64"}, {}, 0, False),                   # host advertises nothing
    ({"hw_architecture": "x86_64"}, QEMU_X86, 0, True),
    ({"hw_architecture": "AMD64"}, QEMU_X86, 0, True),               # canonicalised
    ({"hw_architecture": "aarch64"}, QEMU_X86, 0, False),
    ({"hw_architecture": "i386"}, {"supported_instances": [["i686", "qemu", "hvm"]]}, 0, True),
    ({"img_hv_type": "KVM"}, QEMU_X86, 0, True),
    ({"img_hv_type": "xen"}, QEMU_X86, 0, False),
    ({"img_hv_type": "xapi"}, {"supported_instances": [["x86_64", "xen", "xen"]]}, 0, True),
    ({"hw_vm_mode": "hv"}, QEMU_X86, 0, True),                       # hv -> hvm
    ({"hw_vm_mode": "pv"}, QEMU_X86, 0, False),                      # pv -> xen
    ({"hw_architecture": "x86_64", "img_hv_type": "qemu", "hw_vm_mode": "hvm"},
     QEMU_X86, 0, True),
    ({"hw_architecture": "x86_64", "img_hv_type": "qemu",
      "img_hv_requested_version": ">=7.0"}, QEMU_X86, 7002022, True),
    ({"hw_architecture": "x86_64", "img_hv_requested_version": ">=7.3"},
     QEMU_X86, 7002022, False),
    ({"hw_architecture": "x86_64", "img_hv_requested_version": ">=6.0, <7"},
     QEMU_X86, 7002022, False),
    ({"hw_architecture": "x86_64", "img_hv_requested_version": ">=9.0"},
     QEMU_X86, 0, True),                                             # host reports no version
    ({"hw_architecture": "sparc9"}, QEMU_X86, 0, False),             # unknown name
    ({"hw_architecture": "x86_64", "img_hv_requested_version": "newest"},
     QEMU_X86, 7002022, False),                                      # malformed predicate
])
def test_image_properties_filter(props, stats, version, ok):
    h = host(stats=stats, hypervisor_version=version)
    assert ImagePropertiesFilter().host_passes(h, img(**props)) is ok


def test_image_properties_default_architecture():
    h = host(stats={"supported_instances": [["aarch64", "qemu", "hvm"]]})
    assert ImagePropertiesFilter().host_passes(h, img())
    f = ImagePropertiesFilter(conf(image_properties_default_architecture="x86_64"))
    assert not f.host_passes(h, img())
    assert f.host_passes(h, img(hw_architecture="aarch64"))   # the image's own wins


def test_image_properties_reason():
    f = ImagePropertiesFilter()
    assert f.reason(img(hw_architecture="amd64", img_hv_requested_version=">=2.0")) == \
        "cannot run the image (architecture=x86_64, hypervisor version >=2.0)"
    assert "invalid image property: Architecture name 'sparc9'" in \
        f.reason(img(hw_architecture="sparc9"))


@pytest.mark.parametrize("props,expected", [
    ({"architecture": "x86_64", "hypervisor_type": "qemu", "vm_mode": "hvm", "os": "x"},
     {"hw_architecture": "x86_64", "img_hv_type": "qemu", "hw_vm_mode": "hvm"}),
    ({"architecture": "i686", "hw_architecture": "x86_64"}, {"hw_architecture": "x86_64"}),
    ({"img_hv_requested_version": ">=2.0", "architecture": ""},
     {"img_hv_requested_version": ">=2.0"}),
    ({}, {}),
])
def test_from_image_legacy_and_current_names(props, expected):
    assert image_props.from_image(props) == expected


@pytest.mark.parametrize("version,text", [(7002022, "7.2.22"), (1000, "1.0"),
                                          (2011000, "2.11.0"), (5, "5")])
def test_version_to_str_as_oslo(version, text):
    assert image_props.version_to_str(version) == text


@pytest.mark.parametrize("info,expected", [
    ({"cpu_info": {"arch": "x86_64"}}, [["x86_64", "qemu", "hvm"]]),
    ({"cpu_info": {"arch": "amd64", "accel": "kvm"}},
     [["x86_64", "qemu", "hvm"], ["x86_64", "kvm", "hvm"]]),
    ({"cpu_info": {"arch": "aarch64", "accel": "tcg"}}, [["aarch64", "qemu", "hvm"]]),
])
def test_supported_instances_advertised(info, expected):
    assert image_props.supported_instances(info) == expected
