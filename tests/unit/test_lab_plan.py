"""The lab's shape (pure): host names, namespaces, underlay addresses, limits."""
from __future__ import annotations

import pytest

from stratus.lab.plan import LabError, plan


def test_hosts_namespaces_and_underlay_addresses():
    lab = plan(3, "lab", "10.250.0.0/24")
    assert [h.host for h in lab.hosts] == ["lab1", "lab2", "lab3"]
    assert [h.namespace for h in lab.hosts] == ["shost-lab1", "shost-lab2", "shost-lab3"]
    assert [h.underlay_ip for h in lab.hosts] == ["10.250.0.11", "10.250.0.12", "10.250.0.13"]
    assert {h.prefixlen for h in lab.hosts} == {24}
    assert lab.fabric_namespace == "sfab-lab" and lab.fabric_bridge == "fab0"
    assert len({h.fabric_port for h in lab.hosts}) == 3


def test_names_fit_the_kernel_limit():
    lab = plan(200, "abcdef", "10.0.0.0/16")
    for h in lab.hosts:
        assert len(h.namespace) <= 15 and len(h.fabric_port) <= 15
    assert len({h.fabric_port for h in lab.hosts}) == 200
    assert len(lab.fabric_namespace) <= 15


def test_same_arguments_same_lab():
    assert plan(2, "x1") == plan(2, "x1")
    assert plan(2, "x1") != plan(3, "x1")


@pytest.mark.parametrize("n, prefix, cidr, words", [
    (0, "lab", "10.250.0.0/24", "at least one"),
    (201, "lab", "10.0.0.0/16", "at most"),
    (2, "", "10.250.0.0/24", "prefix"),
    (2, "1ab", "10.250.0.0/24", "prefix"),
    (2, "toolong", "10.250.0.0/24", "prefix"),
    (2, "la-b", "10.250.0.0/24", "prefix"),
    (2, "lab", "10.250.0.0/33", "underlay_cidr"),
    (2, "lab", "10.250.0.1/24", "underlay_cidr"),
    (10, "lab", "10.250.0.0/28", "too small"),
])
def test_bad_shapes_are_refused_with_a_reason(n, prefix, cidr, words):
    with pytest.raises(LabError, match=words):
        plan(n, prefix, cidr)
