"""Fixed IPs of ports in the database: the IPAM (stratus/network/ipam.py)
picks, the ``ip_allocation`` primary key (subnet, address) settles races: the
loser's request fails with 409 IpAddressAlreadyAllocated and its transaction
rolls back whole (no SAVEPOINTs: pysqlite would commit an outermost one)."""
from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from stratus.db.models import network as m
from stratus.network import exceptions as exc
from stratus.network import ipam


def subnets_of(session, network_id: str) -> list[m.Subnet]:
    return list(session.scalars(select(m.Subnet).where(m.Subnet.network_id == network_id)
                                .order_by(m.Subnet.created_at, m.Subnet.id)))


def _used(session, subnet_id: str) -> set[str]:
    return set(session.scalars(select(m.IPAllocation.ip_address)
                               .where(m.IPAllocation.subnet_id == subnet_id)))


def _insert(session, port_id, network_id, subnet_id, ip) -> None:
    """Claim one address.  No SAVEPOINT (pysqlite commits an outermost one), so
    a concurrent claim of the same address fails this whole request with 409."""
    session.add(m.IPAllocation(subnet_id=subnet_id, ip_address=ip, port_id=port_id,
                               network_id=network_id))
    try:
        session.flush()
    except IntegrityError:
        raise exc.IpAddressAlreadyAllocated(f"IP address {ip} already allocated in subnet "
                                            f"{subnet_id}") from None


def allocate_any(session, port_id, sub: m.Subnet) -> str | None:
    ip = ipam.first_free(sub.allocation_pools, _used(session, sub.id))
    if ip is not None:
        _insert(session, port_id, sub.network_id, sub.id, ip)
    return ip


def _allocate_specific(session, port_id, sub: m.Subnet, ip: str) -> str:
    ip = ipam.check_specific({"id": sub.id, "cidr": sub.cidr, "gateway_ip": sub.gateway_ip},
                             ip, _used(session, sub.id))
    _insert(session, port_id, sub.network_id, sub.id, ip)
    return ip


def _subnet_for_ip(subnets, ip: str, network_id: str) -> m.Subnet:
    addr = ipam.parse_ip(ip)
    for sub in subnets:
        if addr in ipaddress.ip_network(sub.cidr):
            return sub
    raise exc.InvalidIpForSubnet(f"IP address {addr} is not a valid IP for any of the subnets "
                                 f"on the specified network {network_id}.")


def allocate_fixed_ips(session, port_id: str, network_id: str, fixed_ips) -> None:
    """Give the port its addresses: ``None`` = one from the first subnet with a
    free address; else each ``{"subnet_id"?, "ip_address"?}`` entry."""
    subnets = subnets_of(session, network_id)
    if fixed_ips is None:
        if not subnets:
            return
        for sub in subnets:
            if allocate_any(session, port_id, sub):
                return
        raise exc.IpAddressGenerationFailure(f"No more IP addresses available on network "
                                             f"{network_id}.")
    by_id = {s.id: s for s in subnets}
    for entry in fixed_ips:
        if not isinstance(entry, dict) or not entry or set(entry) - {"subnet_id", "ip_address"}:
            raise exc.InvalidInput(f"Invalid fixed_ips entry {entry!r}: expected subnet_id "
                                   "and/or ip_address.")
        sid, ip = entry.get("subnet_id"), entry.get("ip_address")
        if sid is not None and sid not in by_id:
            raise exc.InvalidInput(f"Failed to create port on network {network_id}, because "
                                   f"fixed_ips included invalid subnet {sid}.")
        sub = by_id[sid] if sid else _subnet_for_ip(subnets, ip, network_id)
        if ip is not None:
            _allocate_specific(session, port_id, sub, ip)
        elif allocate_any(session, port_id, sub) is None:
            raise exc.IpAddressGenerationFailure(f"No more IP addresses available for subnet "
                                                 f"{sub.id}.")


def allocations(session, port_ids) -> dict[str, list[m.IPAllocation]]:
    out: dict[str, list[m.IPAllocation]] = {p: [] for p in port_ids}
    rows = session.scalars(select(m.IPAllocation).where(m.IPAllocation.port_id.in_(port_ids)))
    for a in rows:
        out[a.port_id].append(a)
    return out


def update_fixed_ips(session, port: m.Port, fixed_ips: list) -> None:
    """Replace the port's addresses: entries naming an address it already has
    keep it; the others are allocated; unlisted ones are released."""
    current = {(a.subnet_id, a.ip_address): a for a in allocations(session, [port.id])[port.id]}
    keep, new = set(), []
    for entry in fixed_ips:
        ip = entry.get("ip_address") if isinstance(entry, dict) else None
        match = [k for k in current if k[1] == ip and entry.get("subnet_id") in (None, k[0])]
        if match:
            keep.add(match[0])
        else:
            new.append(entry)
    for key, alloc in current.items():
        if key not in keep:
            session.delete(alloc)
    session.flush()
    allocate_fixed_ips(session, port.id, port.network_id, new)
    session.flush()
