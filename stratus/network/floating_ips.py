"""Floating IPs: allocation from an external network's pool (a port owned by
``network:floatingip`` holds the address, so the IPAM is the ports'),
association with a fixed IP of a port reachable through a router whose
gateway is on that external network, disassociation and release.

Runs inside the caller's transaction; every check happens before the first
write that could be left behind, and an error rolls the transaction back."""
from __future__ import annotations

import ipaddress
import uuid

from sqlalchemy import select

from stratus.db.models import network as m
from stratus.db.models.router import FloatingIP, Router
from stratus.network import exceptions as exc
from stratus.network import l3_errors as l3
from stratus.network import ports as port_lib
from stratus.network.routers import FLOATINGIP_OWNER, ROUTER_INTERFACE, bump


def _bad(msg: str) -> l3.BadRequest:
    return l3.BadRequest("floatingip", msg)


def router_for(session, external_network_id: str, subnet: m.Subnet) -> Router | None:
    """A router with an interface on ``subnet`` and its gateway on the
    external network (neutron's ``_get_router_for_floatingip``)."""
    iface_routers = select(m.Port.device_id).join(
        m.IPAllocation, m.IPAllocation.port_id == m.Port.id).where(
        m.Port.device_owner == ROUTER_INTERFACE, m.IPAllocation.subnet_id == subnet.id)
    gw_ports = select(m.Port.id).where(m.Port.network_id == external_network_id)
    return session.scalar(select(Router).where(Router.id.in_(iface_routers),
                                               Router.gw_port_id.in_(gw_ports))
                          .order_by(Router.created_at, Router.id).limit(1))


def _fixed_ip(session, port: m.Port, fixed_ip_address) -> tuple[str, m.Subnet]:
    allocs = port_lib.allocations(session, [port.id])[port.id]
    if fixed_ip_address is not None:
        match = [a for a in allocs if a.ip_address == fixed_ip_address]
        if not match:
            raise _bad(f"Port {port.id} does not have fixed ip {fixed_ip_address}")
        alloc = match[0]
    elif not allocs:
        raise _bad(f"Cannot add floating IP to port {port.id} that has no fixed IPv4 "
                   "addresses")
    elif len(allocs) > 1:
        raise _bad(f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a "
                   "specific IPv4 address when assigning a floating IP")
    else:
        alloc = allocs[0]
    return alloc.ip_address, session.get(m.Subnet, alloc.subnet_id)


def associate(session, fip: FloatingIP, port: m.Port, fixed_ip_address=None) -> None:
    """Point ``fip`` at a fixed IP of ``port`` (which the caller may use)."""
    if port.device_owner.startswith("network:"):
        raise _bad(f"Port {port.id} has owner {port.device_owner} and therefore cannot be "
                   "associated with a floating IP")
    if fixed_ip_address is not None:
        try:
            fixed_ip_address = str(ipaddress.IPv4Address(fixed_ip_address))
        except (ValueError, TypeError):
            raise exc.HTTPBadRequest(f"Invalid input for fixed_ip_address. Reason: "
                                     f"'{fixed_ip_address}' is not a valid IP address.") from None
    fixed_ip, subnet = _fixed_ip(session, port, fixed_ip_address)
    router = router_for(session, fip.floating_network_id, subnet)
    if router is None:
        raise l3.ExternalGatewayForFloatingIPNotFound(fip.floating_network_id, subnet.id,
                                                      port.id)
    other = session.scalar(select(FloatingIP).where(
        FloatingIP.floating_network_id == fip.floating_network_id,
        FloatingIP.fixed_port_id == port.id, FloatingIP.fixed_ip_address == fixed_ip,
        FloatingIP.id != fip.id))
    if other is not None:
        raise l3.FloatingIPPortAlreadyAssociated(fip.id, fip.floating_ip_address, port.id,
                                                 fixed_ip, fip.floating_network_id)
    old_router = session.get(Router, fip.router_id) if fip.router_id else None
    fip.fixed_port_id, fip.fixed_ip_address, fip.router_id = port.id, fixed_ip, router.id
    fip.status = "ACTIVE" if router.host else "DOWN"
    fip.revision_number += 1
    session.flush()
    bump(session, router.host, old_router.host if old_router else None)


def disassociate(session, fip: FloatingIP) -> None:
    router = session.get(Router, fip.router_id) if fip.router_id else None
    fip.fixed_port_id = fip.fixed_ip_address = fip.router_id = None
    fip.status = "DOWN"
    fip.revision_number += 1
    session.flush()
    bump(session, router.host if router else None)


def create(session, *, project_id: str, network_id: str, floating_ip_address=None,
           subnet_id=None, description: str = "", port: m.Port | None = None,
           fixed_ip_address=None) -> FloatingIP:
    """Allocate an address on external network ``network_id`` (the caller
    checked visibility) and associate it with ``port`` if given."""
    net = session.get(m.Network, network_id)
    if net is None:
        raise exc.NetworkNotFound(network_id)
    if not net.external:
        raise _bad(f"Network {network_id} is not a valid external network")
    subnets = port_lib.subnets_of(session, network_id)
    if subnet_id is not None and subnet_id not in {s.id for s in subnets}:
        raise _bad(f"Subnet {subnet_id} is not on external network {network_id}")
    if not subnets:
        raise _bad(f"Network {network_id} does not contain any IPv4 subnet")
    entry = {}
    if subnet_id is not None:
        entry["subnet_id"] = subnet_id
    if floating_ip_address is not None:
        entry["ip_address"] = floating_ip_address
    fip_id = str(uuid.uuid4())
    fport = port_lib.new_port(session, network_id=network_id, project_id="", device_id=fip_id,
                              device_owner=FLOATINGIP_OWNER,
                              fixed_ips=[entry] if entry else None, status="N/A")
    address = port_lib.allocations(session, [fport.id])[fport.id][0].ip_address
    fip = FloatingIP(id=fip_id, project_id=project_id, description=description,
                     floating_network_id=network_id, floating_port_id=fport.id,
                     floating_ip_address=address, status="DOWN")
    session.add(fip)
    session.flush()
    if port is not None:
        associate(session, fip, port, fixed_ip_address)
    return fip


def release(session, fip: FloatingIP) -> None:
    router = session.get(Router, fip.router_id) if fip.router_id else None
    fport = session.get(m.Port, fip.floating_port_id)
    session.delete(fip)
    session.flush()
    if fport is not None:
        port_lib.delete_ports(session, [fport])
    bump(session, router.host if router else None)


def disassociate_ports(session, port_ids) -> None:
    """The ports are going away: their floating IPs stay allocated, unassociated
    (neutron's ``disassociate_floatingips``)."""
    port_ids = list(port_ids)
    if not port_ids:
        return
    for fip in session.scalars(select(FloatingIP).where(FloatingIP.fixed_port_id.in_(port_ids))):
        disassociate(session, fip)
