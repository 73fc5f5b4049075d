"""RequestSpec from an instance row and its request_spec JSON."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from stratus.scheduler import request


def row(request_spec=None, requested_az=None, swap=0, **kw):
    base = dict(uuid="i-1", project_id="p", vcpus=2, memory_mb=2048, root_gb=10,
                ephemeral_gb=5, flavor={"swap": swap, "extra_specs": {"k": "v"}},
                requested_az=requested_az, request_spec=request_spec)
    base.update(kw)
    return SimpleNamespace(**base)


@pytest.mark.parametrize("swap,disk", [(0, 15), (1, 16), (1024, 16), (1025, 17)])
def test_resources_include_ephemeral_and_swap_rounded_up(swap, disk):
    s = request.from_instance(row(swap=swap))
    assert (s.vcpus, s.memory_mb, s.disk_gb) == (2, 2048, disk)
    assert s.extra_specs == {"k": "v"}


@pytest.mark.parametrize("value,az,host", [
    (None, None, None), ("", None, None), ("az1", "az1", None), ("az1:h1", "az1", "h1"),
    ("az1:h1:n1", "az1", "h1"), (":h1", None, "h1"),
])
def test_availability_zone_may_force_a_host(value, az, host):
    s = request.from_instance(row(requested_az=value))
    assert (s.availability_zone, s.force_host) == (az, host)


def test_hints_group_and_forced_hosts_as_the_api_writes_them():
    s = request.from_instance(row(
        requested_az="az1",
        request_spec={"scheduler_hints": {"group": "g-hint", "same_host": "i-9"},
                      "group": {"uuid": "g-1", "policy": "affinity", "rules": {}},
                      "different_host": ["i-7", "i-8"], "force_hosts": ["h3"]}))
    assert s.group_uuid == "g-1"                       # the resolved group wins
    assert (s.availability_zone, s.force_host) == ("az1", "h3")
    assert request.hint_list(s, "same_host") == ["i-9"]
    assert request.hint_list(s, "different_host") == ["i-7", "i-8"]
    assert request.from_instance(row(request_spec={"scheduler_hints": {"group": ["g-2"]}})
                                 ).group_uuid == "g-2"
    assert request.from_instance(row()).group_uuid is None


def test_with_retry_records_each_failed_host_once_and_counts_attempts():
    raw = {"scheduler_hints": {}}
    once = request.with_retry(raw, "h1")
    assert once["retry"] == {"hosts": ["h1"], "num_attempts": 1}
    assert raw == {"scheduler_hints": {}}              # the input is not modified
    twice = request.with_retry(once, "h1")
    assert twice["retry"] == {"hosts": ["h1"], "num_attempts": 2}
    s = request.from_instance(row(request_spec=request.with_retry(twice, "h2")))
    assert (s.num_attempts, s.tried_hosts) == (3, frozenset({"h1", "h2"}))
    assert request.with_retry(None, None)["retry"] == {"hosts": [], "num_attempts": 1}
