"""The pure IPAM: subnet planning (defaults, explicit pools, gateway), and
allocation (sequential, specific, exhaustion, release)."""
from __future__ import annotations

import pytest

from stratus.common import errors
from stratus.network import ipam


def test_default_pool_excludes_gateway_network_and_broadcast():
    p = ipam.plan_subnet("10.0.0.0/26")
    assert p == {"cidr": "10.0.0.0/26", "gateway_ip": "10.0.0.1",
                 "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.62"}]}


def test_gateway_in_the_middle_splits_the_default_pool():
    p = ipam.plan_subnet("10.0.0.0/29", "10.0.0.4")
    assert p["allocation_pools"] == [{"start": "10.0.0.1", "end": "10.0.0.3"},
                                     {"start": "10.0.0.5", "end": "10.0.0.6"}]


def test_no_gateway_gives_every_host_address():
    p = ipam.plan_subnet("10.0.0.0/30", None)
    assert p["gateway_ip"] is None
    assert p["allocation_pools"] == [{"start": "10.0.0.1", "end": "10.0.0.2"}]


def test_explicit_pools_sorted():
    p = ipam.plan_subnet("10.0.0.0/24", "default", [{"start": "10.0.0.50", "end": "10.0.0.60"},
                                                   {"start": "10.0.0.10", "end": "10.0.0.20"}])
    assert [x["start"] for x in p["allocation_pools"]] == ["10.0.0.10", "10.0.0.50"]


@pytest.mark.parametrize("cidr, gw, pools, err, text", [
    ("10.0.0.0/33", "default", None, ipam.HTTPBadRequest, "10.0.0.0/33"),
    ("banana", "default", None, ipam.HTTPBadRequest, "banana"),
    ("10.0.0.7/24", "default", None, ipam.HTTPBadRequest, "10.0.0.0/24"),
    ("fd00::/64", "default", None, ipam.HTTPBadRequest, "IPv4"),
    ("10.0.0.0/31", "default", None, ipam.HTTPBadRequest, "/30"),
    ("10.0.0.0/24", "10.0.1.1", None, ipam.InvalidInput, "10.0.1.1"),
    ("10.0.0.0/24", "10.0.0.255", None, ipam.InvalidInput, "10.0.0.255"),
    ("10.0.0.0/24", "nope", None, ipam.HTTPBadRequest, "nope"),
    ("10.0.0.0/24", "default", [{"start": "10.0.0.1", "end": "10.0.0.5"}],
     ipam.GatewayConflictWithAllocationPools, "10.0.0.1"),
    ("10.0.0.0/24", "default", [{"start": "10.0.0.9", "end": "10.0.0.5"}],
     ipam.InvalidAllocationPool, "10.0.0.9"),
    ("10.0.0.0/24", "default", [{"start": "10.0.0.9", "end": "10.0.0.255"}],
     ipam.OutOfBoundsAllocationPool, "10.0.0.255"),
    ("10.0.0.0/24", "default", [{"start": "10.0.0.9"}], ipam.InvalidAllocationPool, "start"),
    ("10.0.0.0/24", "default", [{"start": "10.0.0.2", "end": "10.0.0.9"},
                                {"start": "10.0.0.9", "end": "10.0.0.12"}],
     ipam.OverlappingAllocationPools, "overlapping"),
])
def test_bad_subnets(cidr, gw, pools, err, text):
    with pytest.raises(err) as e:
        ipam.plan_subnet(cidr, gw, pools)
    assert text.lower() in e.value.message.lower()
    assert isinstance(e.value, errors.APIError) and e.value.status in (400, 409)


POOLS = [{"start": "10.0.0.2", "end": "10.0.0.4"}, {"start": "10.0.0.10", "end": "10.0.0.10"}]


def test_sequential_allocation_skips_used_and_exhausts():
    used: set[str] = set()
    got = []
    while (ip := ipam.first_free(POOLS, used)) is not None:
        got.append(ip)
        used.add(ip)
    assert got == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.10"]
    assert len(got) == ipam.pool_size(POOLS)
    used.discard("10.0.0.3")                       # release
    assert ipam.first_free(POOLS, used) == "10.0.0.3"


SUBNET = {"id": "s1", "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1"}


def test_specific_ip():
    assert ipam.check_specific(SUBNET, "10.0.0.200", set()) == "10.0.0.200"
    with pytest.raises(ipam.IpAddressAlreadyAllocated):
        ipam.check_specific(SUBNET, "10.0.0.200", {"10.0.0.200"})
    with pytest.raises(ipam.IpAddressAlreadyAllocated):
        ipam.check_specific(SUBNET, "10.0.0.1", set())
    for bad in ("10.0.1.5", "10.0.0.0", "10.0.0.255"):
        with pytest.raises(ipam.InvalidIpForSubnet):
            ipam.check_specific(SUBNET, bad, set())
    with pytest.raises(ipam.HTTPBadRequest):
        ipam.check_specific(SUBNET, "not-an-ip", set())


def test_in_pools():
    assert ipam.in_pools("10.0.0.10", POOLS) and not ipam.in_pools("10.0.0.5", POOLS)
