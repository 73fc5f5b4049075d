"""IP address management as pure functions (no database): subnet validation
with Neutron's defaults and errors, and address allocation from pools.

Errors are the API errors the Neutron API returns, so callers raise them as is.
"""
from __future__ import annotations

import ipaddress

from stratus.common import errors


class IpAddressGenerationFailure(errors.Conflict):
    """No free address left on the subnet(s) (Neutron's 409)."""


class IpAddressAlreadyAllocated(errors.Conflict):
    pass


class InvalidIpForSubnet(errors.BadRequest):
    pass


class HTTPBadRequest(errors.BadRequest):
    """A malformed attribute value (upstream's type for attribute validation)."""


class GatewayConflictWithAllocationPools(errors.Conflict):
    pass


class OverlappingAllocationPools(errors.Conflict):
    pass


class OutOfBoundsAllocationPool(errors.BadRequest):
    pass


class InvalidAllocationPool(errors.BadRequest):
    pass


class InvalidInput(errors.BadRequest):
    def __init__(self, message: str):
        super().__init__(f"Invalid input for operation: {message}")


def parse_cidr(cidr) -> ipaddress.IPv4Network:
    """An IPv4 network from ``cidr``; 400 if it is not one or has host bits set."""
    if not isinstance(cidr, str):
        raise HTTPBadRequest(f"Invalid input for cidr. Reason: '{cidr}' is not a valid "
                                "IP subnet.")
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise HTTPBadRequest(f"Invalid input for cidr. Reason: '{cidr}' is not a valid "
                                "IP subnet.") from None
    if net.version != 4:
        raise HTTPBadRequest(f"Invalid input for cidr. Reason: only IPv4 subnets are "
                                f"supported, got '{cidr}'.")
    if str(net) != cidr and "/" in cidr:
        raise HTTPBadRequest(f"Invalid input for cidr. Reason: '{cidr}' isn't a recognized "
                                f"IP subnet cidr, '{net}' is recommended.")
    if net.prefixlen > 30:
        raise HTTPBadRequest(f"Invalid input for cidr. Reason: prefix length of '{cidr}' "
                                "leaves no usable addresses (at most /30).")
    return net


def parse_ip(value, field: str = "ip_address") -> ipaddress.IPv4Address:
    try:
        ip = ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        ip = None
    if ip is None or ip.version != 4:
        raise HTTPBadRequest(f"Invalid input for {field}. Reason: '{value}' is not a valid "
                                "IPv4 address.")
    return ip


def default_gateway(net: ipaddress.IPv4Network) -> str:
    return str(net.network_address + 1)


def plan_subnet(cidr: str, gateway_ip="default", pools=None) -> dict:
    """Validate a subnet's addressing; returns ``{"cidr", "gateway_ip", "allocation_pools"}``.

    ``gateway_ip`` "default" means the first host address, None means no gateway.
    Without ``pools`` the pool is every host address except the gateway (split
    around it), as Neutron computes it."""
    net = parse_cidr(cidr)
    gw = None
    if gateway_ip == "default":
        gw = net.network_address + 1
    elif gateway_ip is not None:
        gw = parse_ip(gateway_ip, "gateway_ip")
        if gw not in net or gw in (net.network_address, net.broadcast_address):
            raise InvalidInput(f"Gateway IP {gw} is not a "
                                    f"valid host address of subnet {net}.")
    first, last = net.network_address + 1, net.broadcast_address - 1
    if pools is None:
        ranges = [(first, last)]
        if gw is not None:
            ranges = [r for r in ((first, gw - 1), (gw + 1, last)) if r[0] <= r[1]]
    else:
        ranges = []
        for p in pools:
            if not isinstance(p, dict) or set(p) != {"start", "end"}:
                raise InvalidAllocationPool("Invalid input for allocation_pools: each pool must be "
                                        "{\"start\": IP, \"end\": IP}.")
            s, e = parse_ip(p["start"], "allocation_pools"), parse_ip(p["end"], "allocation_pools")
            if s > e:
                raise InvalidAllocationPool(f"Invalid input for operation: allocation pool {s}-{e} "
                                        "starts after it ends.")
            if s < first or e > last:
                raise OutOfBoundsAllocationPool(f"The allocation pool {s}-{e} spans beyond the subnet "
                                        f"cidr {net}.")
            if gw is not None and s <= gw <= e:
                raise GatewayConflictWithAllocationPools(f"Gateway ip {gw} conflicts with allocation pool {s}-{e}.")
            ranges.append((s, e))
        ranges.sort()
        for (s1, e1), (s2, e2) in zip(ranges, ranges[1:]):
            if s2 <= e1:
                raise OverlappingAllocationPools(f"Found overlapping allocation pools: {s1}-{e1} and "
                                        f"{s2}-{e2} for subnet {net}.")
    return {"cidr": str(net), "gateway_ip": str(gw) if gw is not None else None,
            "allocation_pools": [{"start": str(s), "end": str(e)} for s, e in ranges]}


def in_pools(ip, pools) -> bool:
    ip = ipaddress.ip_address(ip)
    return any(ipaddress.ip_address(p["start"]) <= ip <= ipaddress.ip_address(p["end"])
               for p in pools)


def check_specific(subnet: dict, ip: str, used: set[str]) -> str:
    """Validate a requested address on ``subnet`` (dict with cidr, gateway_ip):
    inside the cidr, not network/broadcast, not the gateway, not in use."""
    addr = parse_ip(ip)
    net = ipaddress.ip_network(subnet["cidr"])
    if addr not in net or addr in (net.network_address, net.broadcast_address):
        raise InvalidIpForSubnet(f"IP address {addr} is not a valid IP for the specified "
                                 f"subnet {subnet.get('id', net)}.")
    if subnet.get("gateway_ip") == str(addr):
        raise IpAddressAlreadyAllocated(f"IP address {addr} already allocated in subnet "
                                        f"{subnet.get('id', net)} (it is the gateway).")
    if str(addr) in used:
        raise IpAddressAlreadyAllocated(f"IP address {addr} already allocated in subnet "
                                        f"{subnet.get('id', net)}")
    return str(addr)


def first_free(pools, used: set[str]) -> str | None:
    """The lowest free address of the pools (Neutron allocates sequentially
    too), or None when all are used.  Cost is O(|used| + pools)."""
    for p in sorted(pools, key=lambda p: ipaddress.ip_address(p["start"])):
        ip, end = ipaddress.ip_address(p["start"]), ipaddress.ip_address(p["end"])
        while ip <= end:
            if str(ip) not in used:
                return str(ip)
            ip += 1
    return None


def pool_size(pools) -> int:
    return sum(int(ipaddress.ip_address(p["end"])) - int(ipaddress.ip_address(p["start"])) + 1
               for p in pools)
