"""Subnets: addressing checked by the pure IPAM (stratus/network/ipam.py),
overlap within a network refused, deletion refused while ports use them."""
from __future__ import annotations

import ipaddress
import uuid

from sqlalchemy import delete, func, select

from stratus.db.models import network as m
from stratus.network import exceptions as exc
from stratus.network import ipam
from stratus.network.networks import DHCP_OWNER


def _check_dns(servers) -> list[str]:
    if not isinstance(servers, list):
        raise exc.HTTPBadRequest("dns_nameservers must be a list of IP addresses.")
    for s in servers:
        ipam.parse_ip(s, "dns_nameservers")
    if len(set(servers)) != len(servers):
        raise exc.HTTPBadRequest(f"Duplicate nameserver in {servers}.")
    return list(servers)


def _check_routes(routes) -> list[dict]:
    if not isinstance(routes, list):
        raise exc.HTTPBadRequest("host_routes must be a list of {destination, nexthop}.")
    out = []
    for r in routes:
        if not isinstance(r, dict) or set(r) != {"destination", "nexthop"}:
            raise exc.HTTPBadRequest(f"Invalid host route {r}: needs exactly destination and "
                                   "nexthop.")
        try:
            dest = ipaddress.ip_network(r["destination"])
        except (ValueError, TypeError):
            raise exc.HTTPBadRequest(f"'{r['destination']}' is not a valid host route "
                                   "destination.") from None
        ipam.parse_ip(r["nexthop"], "host_routes")
        out.append({"destination": str(dest), "nexthop": r["nexthop"]})
    return out


def create_subnet(session, net: m.Network, *, project_id: str, cidr, name: str = "",
                  description: str = "", ip_version: int = 4, gateway_ip="default",
                  allocation_pools=None, enable_dhcp: bool = True, dns_nameservers=(),
                  host_routes=()) -> m.Subnet:
    if ip_version != 4:
        raise exc.InvalidInput(f"ip_version {ip_version} is not supported; only 4.")
    plan = ipam.plan_subnet(cidr, gateway_ip, allocation_pools)
    new = ipaddress.ip_network(plan["cidr"])
    for other in session.scalars(select(m.Subnet).where(m.Subnet.network_id == net.id)):
        if ipaddress.ip_network(other.cidr).overlaps(new):
            raise exc.InvalidInput(f"Requested subnet with cidr: {new} for network: {net.id} "
                                   f"overlaps with another subnet.")
    sub = m.Subnet(id=str(uuid.uuid4()), network_id=net.id, project_id=project_id, name=name,
                   description=description, ip_version=4, cidr=plan["cidr"],
                   gateway_ip=plan["gateway_ip"], enable_dhcp=enable_dhcp,
                   allocation_pools=plan["allocation_pools"],
                   dns_nameservers=_check_dns(list(dns_nameservers)),
                   host_routes=_check_routes(list(host_routes)))
    session.add(sub)
    session.flush()
    if enable_dhcp:
        from stratus.network.ports import add_dhcp_addresses
        add_dhcp_addresses(session, sub)
    return sub


def update_subnet(session, sub: m.Subnet, changes: dict) -> m.Subnet:
    """Apply name/description/gateway_ip/enable_dhcp/dns_nameservers/host_routes/
    allocation_pools; addressing changes are re-validated as a whole."""
    if "gateway_ip" in changes or "allocation_pools" in changes:
        gw = changes.get("gateway_ip", sub.gateway_ip)
        pools = changes.get("allocation_pools", sub.allocation_pools)
        plan = ipam.plan_subnet(sub.cidr, gw, pools)
        sub.gateway_ip, sub.allocation_pools = plan["gateway_ip"], plan["allocation_pools"]
        if sub.gateway_ip and session.scalar(select(m.IPAllocation).where(
                m.IPAllocation.subnet_id == sub.id,
                m.IPAllocation.ip_address == sub.gateway_ip)):
            raise exc.errors.Conflict(f"Gateway ip {sub.gateway_ip} conflicts with an "
                                      "address allocated to a port.")
    if "dns_nameservers" in changes:
        sub.dns_nameservers = _check_dns(changes["dns_nameservers"])
    if "host_routes" in changes:
        sub.host_routes = _check_routes(changes["host_routes"])
    for key in ("name", "description", "enable_dhcp"):
        if key in changes:
            setattr(sub, key, changes[key])
    sub.revision_number += 1
    session.flush()
    if sub.enable_dhcp:
        from stratus.network.ports import add_dhcp_addresses
        add_dhcp_addresses(session, sub)
    return sub


def delete_subnet(session, sub: m.Subnet) -> None:
    """409 SubnetInUse if a port other than DHCP holds an address from it."""
    owners = select(m.Port.id).where(m.Port.device_owner != DHCP_OWNER)
    busy = session.scalar(select(func.count()).select_from(m.IPAllocation).where(
        m.IPAllocation.subnet_id == sub.id, m.IPAllocation.port_id.in_(owners)))
    if busy:
        raise exc.SubnetInUse(sub.id)
    session.execute(delete(m.IPAllocation).where(m.IPAllocation.subnet_id == sub.id))
    session.delete(sub)
    session.flush()
