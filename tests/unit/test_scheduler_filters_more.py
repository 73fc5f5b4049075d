"""The aggregate, capability, instance-count, tenancy and JSON filters, and the
extra-spec operator language, as tables of (host, request) -> passes."""
from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from scheduler_factories import host, spec
from stratus.common.config import Config
from stratus.scheduler import extra_specs_ops, filters, host_attrs
from stratus.scheduler.filters import (AggregateInstanceExtraSpecsFilter,
                                       AggregateMultiTenancyIsolation,
                                       AggregateNumInstancesFilter, ComputeCapabilitiesFilter,
                                       JsonFilter, NumInstancesFilter)
from stratus.scheduler.filters import json_filter
from stratus.scheduler.pipeline import Pipeline


def conf(**fs):
    return Config(overrides={"filter_scheduler": fs})


def flavor(**extra):
    return spec(extra_specs=MappingProxyType(extra))


def hinted(query):
    return spec(hints=MappingProxyType({"query": query}))


# --- registry and defaults -------------------------------------------------

NEW = ["NumInstancesFilter", "AggregateNumInstancesFilter", "AggregateInstanceExtraSpecsFilter",
       "ComputeCapabilitiesFilter", "AggregateMultiTenancyIsolation", "JsonFilter"]


@pytest.mark.parametrize("name", NEW)
def test_registered_by_upstream_name_and_path(name):
    assert filters.FILTERS[name].name == name
    [f] = filters.load([f"nova.scheduler.filters.x.{name}"])
    assert f.name == name
    assert isinstance(f.reason(spec()), str) and f.reason(spec())


@pytest.mark.parametrize("name", NEW)
def test_not_enabled_by_default(name):
    assert name not in Config().filter_scheduler.enabled_filters


def test_defaults():
    c = Config().filter_scheduler
    assert c.max_instances_per_host == 50


# --- extra_specs_ops ---------------------------------------------------------

@pytest.mark.parametrize("value,req,matches", [
    # no operator: plain string equality
    ("1", "1", True), ("1", "2", False), ("true", "true", True), ("True", "true", False),
    ("abc", "abc def", False), (None, "x", False), ("", "", True),
    # = is a numeric floor
    ("123", "= 123", True), ("124", "= 123", True), ("122", "= 123", False),
    ("123.5", "= 123", True), ("abc", "= 123", False), (None, "= 1", False),
    # numeric equal / not equal / >= / <=
    ("123", "== 123", True), ("123.0", "== 123", True), ("124", "== 123", False),
    ("124", "!= 123", True), ("123", "!= 123", False), ("x", "!= 123", False),
    ("1000", ">= 500", True), ("500", ">= 500", True), ("499", ">= 500", False),
    ("10", "<= 20", True), ("20", "<= 20", True), ("21", "<= 20", False),
    ("9", ">= 10", False),                   # numeric, not lexicographic
    # string operators (lexicographic)
    ("abc", "s== abc", True), ("abd", "s== abc", False),
    ("abd", "s!= abc", True), ("abc", "s!= abc", False),
    ("abd", "s>= abc", True), ("abc", "s>= abc", True), ("abb", "s>= abc", False),
    ("abd", "s> abc", True), ("abc", "s> abc", False),
    ("abb", "s<= abc", True), ("abc", "s<= abc", True), ("abd", "s<= abc", False),
    ("abb", "s< abc", True), ("abc", "s< abc", False),
    ("9", "s> 10", True),                    # lexicographic on purpose
    # <in>: substring
    ("12311321", "<in> 11", True), ("12311321", "<in> 12311321", True),
    ("12310321", "<in> 11", False), ("12310321", "<in>", False),
    # <all-in>: every word is contained
    ("[aes, mmx, aux]", "<all-in> aes mmx", True), ("[aes, mmx, aux]", "<all-in> aes", True),
    ("[aes, mmx, aux]", "<all-in> aes txt", False), ("[aes]", "<all-in>", False),
    # <or>: one of the alternatives
    ("12", "<or> 11 <or> 12", True), ("13", "<or> 11 <or> 12", False),
    ("11", "<or> 11", True), ("11", "<or> 11 <or>", True), ("x", "<or>", False),
    ("12", "<or> 11 <or> 12 <or> 13", True), ("<or>", "<or> 11 <or> 12", False),
    # operators with a missing operand never match
    ("1", "==", False), ("1", "s==", False),
])
def test_extra_specs_ops_match(value, req, matches):
    assert extra_specs_ops.match(value, req) is matches


def test_every_operator_is_covered():
    assert set(extra_specs_ops.OPERATORS) | {extra_specs_ops.OR} == {
        "=", "<in>", "<all-in>", "<or>", "s==", "s!=", "s>=", "s>", "s<=", "s<",
        "==", "!=", ">=", "<="}


# --- NumInstancesFilter / AggregateNumInstancesFilter -----------------------

@pytest.mark.parametrize("num,limit,passes", [
    (0, None, True), (49, None, True), (50, None, False), (51, None, False),
    (0, 1, True), (1, 1, False), (4, 5, True), (5, 5, False), (0, 0, False),
])
def test_num_instances_filter(num, limit, passes):
    f = NumInstancesFilter(None if limit is None else conf(max_instances_per_host=limit))
    assert f.host_passes(host(num_instances=num), spec()) is passes


def test_num_instances_filter_reason_names_the_limit():
    assert "7" in NumInstancesFilter(conf(max_instances_per_host=7)).reason(spec())


def agg(name, **md):
    return (name, {k: str(v) for k, v in md.items()})


@pytest.mark.parametrize("aggregates,num,passes", [
    ((), 9, True), ((), 10, False),                                    # conf default (10)
    ((agg("a", max_instances_per_host=3),), 2, True),
    ((agg("a", max_instances_per_host=3),), 3, False),
    ((agg("a", max_instances_per_host=20),), 15, True),                # raises the limit too
    ((agg("a", max_instances_per_host=20), agg("b", max_instances_per_host=4)), 4, False),
    ((agg("a", max_instances_per_host=20), agg("b", max_instances_per_host=4)), 3, True),
    ((agg("a", max_instances_per_host=4), agg("b", max_instances_per_host=20)), 3, True),
    ((agg("a", max_instances_per_host=5), agg("b", max_instances_per_host=2),
      agg("c", max_instances_per_host=8)), 2, False),                   # smallest of three
    ((agg("a", max_instances_per_host=5), agg("b")), 5, False),         # b has no value
    ((agg("a", max_instances_per_host="x"),), 9, True),                # invalid -> conf
    ((agg("a", max_instances_per_host="x"),), 10, False),
    ((agg("a", max_instances_per_host="x"), agg("b", max_instances_per_host=2)), 5, True),
    ((agg("a", max_instances_per_host=0),), 0, False),
])
def test_aggregate_num_instances_filter(aggregates, num, passes):
    f = AggregateNumInstancesFilter(conf(max_instances_per_host=10))
    assert f.host_passes(host(aggregates=aggregates, num_instances=num), spec()) is passes


def test_aggregate_num_instances_filter_without_conf_uses_50():
    f = AggregateNumInstancesFilter()
    assert f.host_passes(host(num_instances=49), spec())
    assert not f.host_passes(host(num_instances=50), spec())


@pytest.mark.parametrize("values,default,expected", [
    ([], 7, 7), (["3"], 7, 3), (["3", "1", "2"], 7, 1), (["3", "x"], 7, 7), ([" 4"], 7, 4),
])
def test_min_int(values, default, expected):
    assert host_attrs.min_int(values, default) == expected


# --- AggregateInstanceExtraSpecsFilter -------------------------------------

SSD = (agg("fast", ssd="true", speed="1000", cpu="aes,mmx"),)


@pytest.mark.parametrize("aggregates,extra,passes", [
    ((), {}, True),                                                      # no extra specs
    (SSD, {}, True),
    ((), {"ssd": "true"}, False),                                        # no metadata
    (SSD, {"ssd": "true"}, True),                                        # unscoped
    (SSD, {"ssd": "false"}, False),
    (SSD, {"aggregate_instance_extra_specs:ssd": "true"}, True),         # scoped
    (SSD, {"aggregate_instance_extra_specs:ssd": "false"}, False),
    (SSD, {"aggregate_instance_extra_specs:missing": "x"}, False),
    (SSD, {"hw:cpu_policy": "dedicated"}, True),                         # other scope ignored
    (SSD, {"capabilities:hypervisor_type": "Xen"}, True),
    (SSD, {"quota:vif_inbound_average": "100"}, True),
    (SSD, {"ssd": "true", "speed": ">= 500"}, True),                     # all must match
    (SSD, {"ssd": "true", "speed": ">= 2000"}, False),
    (SSD, {"speed": "= 1000"}, True), (SSD, {"speed": "= 1001"}, False),
    (SSD, {"speed": "== 1000"}, True), (SSD, {"speed": "!= 1000"}, False),
    (SSD, {"speed": "<= 1000"}, True), (SSD, {"speed": "<= 999"}, False),
    (SSD, {"speed": "s== 1000"}, True), (SSD, {"speed": "s!= 1000"}, False),
    (SSD, {"speed": "s> 0999"}, True), (SSD, {"speed": "s< 0999"}, False),
    (SSD, {"speed": "s>= 1000"}, True), (SSD, {"speed": "s<= 1000"}, True),
    (SSD, {"ssd": "<in> ru"}, True), (SSD, {"ssd": "<in> fa"}, False),
    (SSD, {"ssd": "<or> false <or> true"}, True), (SSD, {"ssd": "<or> no <or> maybe"}, False),
    # comma-separated values are split, as nova's aggregate_metadata_get_by_host
    (SSD, {"cpu": "mmx"}, True), (SSD, {"cpu": "aes"}, True), (SSD, {"cpu": "<all-in> aes"}, True),
    (SSD, {"cpu": "aes,mmx"}, False),
    # several aggregates: one of the values must match
    ((agg("a", ssd="false"), agg("b", ssd="true")), {"ssd": "true"}, True),
    ((agg("a", ssd="false"), agg("b", gpu="1")), {"ssd": "true", "gpu": "1"}, False),
    ((agg("a", ssd="true"), agg("b", gpu="1")), {"ssd": "true", "gpu": "1"}, True),
])
def test_aggregate_instance_extra_specs_filter(aggregates, extra, passes):
    f = AggregateInstanceExtraSpecsFilter()
    assert f.host_passes(host(aggregates=aggregates), flavor(**extra)) is passes


def test_aggregate_instance_extra_specs_reason_lists_the_checked_specs():
    r = AggregateInstanceExtraSpecsFilter().reason(
        flavor(**{"aggregate_instance_extra_specs:ssd": "true", "hw:x": "y"}))
    assert "ssd=true" in r and "hw:x" not in r


# --- ComputeCapabilitiesFilter ------------------------------------------------

CPU_INFO = json.dumps({"arch": "x86_64", "features": ["aes", "avx"], "topology": {"cores": 4}})


def cap_host(**kw):
    base = dict(hypervisor_type="QEMU", memory_mb=8192, memory_mb_used=1024, vcpus=8,
                vcpus_used=2, num_instances=3,
                stats={"cpu_info": CPU_INFO, "gpu": "nvidia", "io": {"ops": 4}, "ecu": "40"})
    base.update(kw)
    return host(**base)


@pytest.mark.parametrize("extra,passes", [
    ({}, True),
    ({"capabilities:hypervisor_type": "QEMU"}, True),
    ({"capabilities:hypervisor_type": "Xen"}, False),
    ({"capabilities:hypervisor_type": "s== QEMU"}, True),
    ({"capabilities:hypervisor_type": "s!= QEMU"}, False),
    ({"capabilities:hypervisor_type": "<or> Xen <or> QEMU"}, True),
    ({"capabilities:hypervisor_type": "<in> EM"}, True),
    ({"capabilities:free_ram_mb": ">= 7168"}, True),
    ({"capabilities:free_ram_mb": ">= 7169"}, False),
    ({"capabilities:free_ram_mb": "= 4096"}, True),
    ({"capabilities:vcpus_total": "== 8"}, True),
    ({"capabilities:vcpus_total": "!= 8"}, False),
    ({"capabilities:vcpus_used": "<= 2"}, True),
    ({"capabilities:vcpus_used": "<= 1"}, False),
    ({"capabilities:num_instances": "s< 4"}, True),
    ({"capabilities:num_instances": "s> 4"}, False),
    ({"capabilities:num_instances": "s>= 3"}, True),
    ({"capabilities:num_instances": "s<= 2"}, False),
    ({"capabilities:gpu": "nvidia"}, True),                             # from stats
    ({"capabilities:gpu": "amd"}, False),
    ({"capabilities:ecu": ">= 32"}, True),
    ({"capabilities:stats:ecu": ">= 41"}, False),                       # explicit stats path
    ({"capabilities:missing": "x"}, False),                             # missing fails
    ({"capabilities:cpu_info:arch": "x86_64"}, True),                   # JSON string walked
    ({"capabilities:cpu_info:arch": "aarch64"}, False),
    ({"capabilities:cpu_info:features": "<all-in> aes avx"}, True),
    ({"capabilities:cpu_info:features": "<all-in> aes sse9"}, False),
    ({"capabilities:cpu_info:topology:cores": ">= 4"}, True),
    ({"capabilities:cpu_info:nope:x": "1"}, False),
    ({"capabilities:io:ops": "<= 4"}, True),
    ({"capabilities:hypervisor_type:x": "1"}, False),                   # walk into a plain str
    ({"hypervisor_type": "QEMU"}, True),                                # unscoped, known attr
    ({"hypervisor_type": "Xen"}, False),
    ({"gpu": "amd"}, False),                                            # unscoped stat
    ({"unknown_thing": "1"}, True),                                     # unscoped, unknown: ignored
    ({"aggregate_instance_extra_specs:ssd": "true"}, True),             # other scope ignored
    ({"hw:cpu_policy": "dedicated"}, True),
    ({"capabilities:hypervisor_type": "QEMU", "capabilities:gpu": "amd"}, False),
])
def test_compute_capabilities_filter(extra, passes):
    assert ComputeCapabilitiesFilter().host_passes(cap_host(), flavor(**extra)) is passes


# --- AggregateMultiTenancyIsolation -----------------------------------------

@pytest.mark.parametrize("aggregates,project,passes", [
    ((), "p1", True),                                                   # no aggregate
    ((agg("a", ssd="true"),), "p1", True),                              # no tenant metadata
    ((agg("a", filter_tenant_id="p1"),), "p1", True),
    ((agg("a", filter_tenant_id="p1"),), "p2", False),
    ((agg("a", filter_tenant_id="p1,p2"),), "p2", True),                # comma list
    ((agg("a", filter_tenant_id="p1, p2"),), "p2", True),               # spaces stripped
    ((agg("a", filter_tenant_id="p1,p2"),), "p3", False),
    ((agg("a", filter_tenant_id="p1", filter_tenant_id_2="p3"),), "p3", True),   # suffixed keys
    ((agg("a", filter_tenant_id_x="p3"),), "p3", True),
    ((agg("a", filter_tenant_id_x="p3"),), "p1", False),
    ((agg("a", filter_tenant_id="p1"), agg("b", filter_tenant_id="p2")), "p2", True),  # union
    ((agg("a", filter_tenant_id="p1"), agg("b", filter_tenant_id="p2")), "p3", False),
    ((agg("a", filter_tenant_id="p1"), agg("b", ssd="true")), "p2", False),
    ((agg("a", filter_tenant="p1"),), "p2", True),                      # not the prefix
    ((agg("a", filter_tenant_id=""),), "p2", True),                     # empty: no isolation
])
def test_aggregate_multitenancy_isolation(aggregates, project, passes):
    f = AggregateMultiTenancyIsolation()
    assert f.host_passes(host(aggregates=aggregates), spec(project_id=project)) is passes


# --- JsonFilter -------------------------------------------------------------------

# free_ram_mb 7168, free_disk_mb 81920, vcpus_total 8, vcpus_used 2,
# total_usable_ram_mb 8192, num_instances 3, hypervisor_type QEMU, stats.gpu nvidia
@pytest.mark.parametrize("query,passes", [
    (None, True), ("", True), ([], True), ("[]", True),
    (["=", "$vcpus_total", 8], True), (["=", "$vcpus_total", 4], False),
    (["=", "$hypervisor_type", "QEMU"], True), (["=", "$hypervisor_type", "Xen"], False),
    (["=", 8, "$vcpus_total", 8], True), (["=", 8, "$vcpus_total", 7], False),   # all equal
    (["<", "$vcpus_used", 3], True), (["<", "$vcpus_used", 2], False),
    (["<", 1, 2, 3], True), (["<", 1, 3, 0], False),                            # first vs each
    ([">", "$free_ram_mb", 7000], True), ([">", "$free_ram_mb", 7168], False),
    (["<=", "$num_instances", 3], True), (["<=", "$num_instances", 2], False),
    ([">=", "$free_disk_mb", 81920], True), ([">=", "$free_disk_mb", 81921], False),
    ([">=", "$total_usable_ram_mb", 8192], True),
    (["in", "$hypervisor_type", "Xen", "QEMU"], True), (["in", "$hypervisor_type", "Xen"], False),
    (["in", "$num_instances", 1, 2, 3], True),
    (["=", "$stats.gpu", "nvidia"], True), (["=", "$stats.gpu", "amd"], False),
    ([">=", "$stats.io.ops", 4], True),                                # nested stats
    (["not", ["=", "$vcpus_total", 8]], False), (["not", ["=", "$vcpus_total", 4]], True),
    (["not", True, False], True), (["not", True], False),              # top-level list: any
    (["or", ["=", "$vcpus_total", 4], ["=", "$vcpus_total", 8]], True),
    (["or", ["=", "$vcpus_total", 4], ["=", "$vcpus_total", 5]], False),
    (["and", ["=", "$vcpus_total", 8], [">=", "$free_ram_mb", 1024]], True),
    (["and", ["=", "$vcpus_total", 8], [">=", "$free_ram_mb", 9999]], False),
    (["and", ["not", ["=", "$vcpus_total", 4]], [">", "$free_ram_mb", 0]], True),
    (["and", ["not", ["=", "$vcpus_total", 8]], [">", "$free_ram_mb", 0]], False),  # nested not
    (["or", ["and", [">", 1, 2], True], ["in", "$stats.gpu", "nvidia", "amd"]], True),
    # a variable the host lacks is dropped (upstream), leaving too few args
    (["=", "$stats.nothing", 1], False),
    ([">", "$stats.gpu", 1], False),                                    # str vs int: no match
    (json.dumps([">=", "$free_ram_mb", 1024]), True),                   # JSON text hint
    ([json.dumps(["<", "$free_ram_mb", 1024])], False),                 # one-element list of text
])
def test_json_filter(query, passes):
    h = cap_host(local_gb=100, local_gb_used=20)
    f = JsonFilter()
    assert f.host_passes(h, hinted(query)) is passes
    assert f.filter_all([h], hinted(query)) == ([h] if passes else [])
    if query not in (None, ""):
        json_filter.validate(query)


@pytest.mark.parametrize("query,message", [
    ("[", "not valid JSON"),
    ("{\"a\": 1}", "must be a JSON list"),
    ("3", "must be a JSON list"),
    ({"a": 1}, "must be a JSON list"),
    (["~", 1, 2], "unknown operator '~'"),
    ([3, 1, 2], "unknown operator 3"),
    (["and", ["xor", 1, 2]], "unknown operator 'xor'"),
    (["=", 1], "takes at least 2"), (["<", 1], "takes at least 2"), ([">", 1], "takes at least 2"),
    (["<=", 1], "takes at least 2"), ([">=", 1], "takes at least 2"), (["in", 1], "takes at least 2"),
    (["not"], "takes at least 1"), (["or"], "takes at least 1"), (["and"], "takes at least 1"),
    (["and", ["="]], "takes at least 2"),
    (["=", "$no_such_var", 1], "unknown variable '$no_such_var'"),
    (["=", "$", 1], "unknown variable"),
    (["and", []], "empty list"),
    (["=", {"x": 1}, 1], "objects are not allowed"),
])
def test_json_filter_bad_queries(query, message):
    with pytest.raises(ValueError, match=message.replace("$", r"\$").replace("[", r"\[")):
        json_filter.validate(query)
    f = JsonFilter()
    h = cap_host()
    assert f.host_passes(h, hinted(query)) is False                 # never an exception
    assert f.filter_all([h], hinted(query)) == []
    assert message.split("'")[0].split(" ")[0] in f.reason(hinted(query))


@pytest.mark.parametrize("query", [None, "", [], "[]"])
def test_json_filter_validate_accepts_empty(query):
    json_filter.validate(query)


def test_json_filter_reason_shows_the_query():
    assert '"$free_ram_mb"' in JsonFilter().reason(hinted([">=", "$free_ram_mb", 1]))


def test_json_filter_variables_use_nova_names():
    h = cap_host(local_gb=100, local_gb_used=20, reserved_host_disk_mb=1024)
    for name, value in [("free_ram_mb", 7168), ("free_disk_mb", 80896), ("vcpus_total", 8),
                        ("vcpus_used", 2), ("total_usable_ram_mb", 8192), ("num_instances", 3),
                        ("hypervisor_type", "QEMU")]:
        assert host_attrs.variable(h, name) == value, name


# --- in the pipeline -------------------------------------------------------------

def test_pipeline_names_the_new_filter_that_removed_the_last_hosts():
    hosts = [host(host="a", num_instances=5), host(host="b", num_instances=1,
                                                   aggregates=(agg("x", filter_tenant_id="other"),))]
    p = Pipeline(filters.load(["NumInstancesFilter", "AggregateMultiTenancyIsolation"],
                              conf(max_instances_per_host=5)), [])
    r = p.run(hosts, spec(project_id="mine"))
    assert r.hosts == []
    assert "AggregateMultiTenancyIsolation removed the last 1 host(s)" in r.fault_message()
    assert r.steps[0].removed == ("a",)
