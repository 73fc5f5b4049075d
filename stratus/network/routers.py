"""Routers: creation and placement, the external gateway (``ext-gw-mode``),
interfaces and static routes (``extraroute``), with neutron's checks.

Every function runs inside the caller's transaction and raises before it
writes anything that would be left half-made: on an error the API's session
rolls back whole.  Changes a host agent must act on bump the revision of the
router's host (stratus/compute/revision.py).  Router ports are ordinary ports
(stratus/network/ports.py) bound to the router's host."""
from __future__ import annotations

import ipaddress
import uuid

from sqlalchemy import func, select

from stratus.db.models import network as m
from stratus.db.models.router import FloatingIP, Router
from stratus.network import exceptions as exc
from stratus.network import l3_errors as l3
from stratus.network import ports as port_lib

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATINGIP_OWNER = "network:floatingip"
ROUTER_OWNERS = (ROUTER_INTERFACE, ROUTER_GATEWAY)
MAX_ROUTES = 30


def bump(session, *hosts) -> None:
    from stratus.compute import revision
    for host in sorted({h for h in hosts if h}):
        revision.bump(session, host)


# -- placement ------------------------------------------------------------------------
def pick_host(session, conf, hints=()) -> str | None:
    """The up, enabled compute host with the fewest routers (ties: by name),
    taken from the zones ``hints`` names when one of them has such a host
    (router_availability_zone, stratus/network/availability_zones.py);
    None if no host is up.  Deterministic for a given database state."""
    from stratus.compute.zones import is_up
    from stratus.db.models.compute import ComputeNode
    nodes = [n for n in session.scalars(select(ComputeNode).order_by(ComputeNode.host))
             if not n.disabled and is_up(n, conf.compute.service_down_time)]
    if not nodes:
        return None
    if hints:
        from stratus.network import availability_zones as az
        keep = set(az.prefer([n.host for n in nodes],
                             az.host_zone_map(session, conf, [n.host for n in nodes]), hints))
        nodes = [n for n in nodes if n.host in keep]
    load = dict(session.execute(select(Router.host, func.count()).where(Router.host.is_not(None))
                                .group_by(Router.host)).all())
    return min(nodes, key=lambda n: (load.get(n.host, 0), n.host)).host


def place(session, router: Router, host: str | None) -> None:
    """Put ``router`` (and its ports) on ``host``; both hosts' agents are told."""
    old = router.host
    router.host = host
    for port in router_ports(session, router.id):
        port.host_id = host or ""
        port.vif_type = port_lib.VIF_TYPE if host else "unbound"
    for fip in _fips_via(session, router.id):   # a FIP is up where its router runs
        fip.status = "ACTIVE" if host else "DOWN"
    session.flush()
    bump(session, old, host)


def place_unplaced(session, conf) -> int:
    """Place routers that have no host yet (made before any host was up);
    returns how many were placed.  Called when an agent registers."""
    todo = list(session.scalars(select(Router).where(Router.host.is_(None))
                                .order_by(Router.created_at, Router.id)))
    placed = 0
    for router in todo:
        host = pick_host(session, conf, router.availability_zone_hints)
        if host is None:
            break
        place(session, router, host)
        placed += 1
    return placed


# -- reads -----------------------------------------------------------------------------
def router_ports(session, router_id: str, owner: str | None = None) -> list[m.Port]:
    stmt = select(m.Port).where(m.Port.device_id == router_id,
                                m.Port.device_owner.in_([owner] if owner else ROUTER_OWNERS))
    return list(session.scalars(stmt.order_by(m.Port.created_at, m.Port.id)))


def interface_subnets(session, router_id: str) -> list[tuple[m.Port, m.Subnet]]:
    """(port, subnet) of each address of the router's interfaces."""
    ports = router_ports(session, router_id, ROUTER_INTERFACE)
    allocs = port_lib.allocations(session, [p.id for p in ports])
    out = []
    for p in ports:
        for a in allocs[p.id]:
            out.append((p, session.get(m.Subnet, a.subnet_id)))
    return out


def gateway_port(session, router: Router) -> m.Port | None:
    return session.get(m.Port, router.gw_port_id) if router.gw_port_id else None


def _fips_via(session, router_id: str) -> list[FloatingIP]:
    return list(session.scalars(select(FloatingIP).where(FloatingIP.router_id == router_id)))


# -- create / delete --------------------------------------------------------------------
def create_router(session, conf, *, project_id: str, name: str = "", description: str = "",
                  admin_state_up: bool = True, gateway: dict | None = None,
                  is_admin: bool = False, availability_zone_hints=()) -> Router:
    hints = list(availability_zone_hints)
    router = Router(id=str(uuid.uuid4()), project_id=project_id, name=name,
                    description=description, admin_state_up=admin_state_up, status="ACTIVE",
                    routes=[], enable_snat=True, availability_zone_hints=hints,
                    host=pick_host(session, conf, hints))
    session.add(router)
    session.flush()
    if gateway:
        set_gateway(session, router, gateway, is_admin)
    bump(session, router.host)
    return router


def delete_router(session, router: Router) -> None:
    """409 RouterInUse while it has interfaces; its gateway port goes with it."""
    if router_ports(session, router.id, ROUTER_INTERFACE):
        raise l3.RouterInUse(router.id)
    for fip in _fips_via(session, router.id):
        _clear_fip(fip)
    port_lib.delete_ports(session, router_ports(session, router.id))
    session.delete(router)
    session.flush()
    bump(session, router.host)


def _clear_fip(fip: FloatingIP) -> None:
    fip.fixed_port_id = fip.fixed_ip_address = fip.router_id = None
    fip.status = "DOWN"
    fip.revision_number += 1


# -- gateway ------------------------------------------------------------------------------
def _overlap_check(session, router: Router, new: list[m.Subnet], skip_port: str | None = None):
    """400 if a subnet in ``new`` overlaps one already on the router."""
    on = [(p, s) for p, s in interface_subnets(session, router.id) if p.id != skip_port]
    gw = gateway_port(session, router)
    if gw is not None and gw.id != skip_port:
        on += [(gw, session.get(m.Subnet, a.subnet_id))
               for a in port_lib.allocations(session, [gw.id])[gw.id]]
    for sub in new:
        for _, other in on:
            if other.id != sub.id and ipaddress.ip_network(other.cidr).overlaps(
                    ipaddress.ip_network(sub.cidr)):
                raise l3.BadRequest("router", f"Cidr {sub.cidr} of subnet {sub.id} overlaps "
                                    f"with cidr {other.cidr} of subnet {other.id}.")


def set_gateway(session, router: Router, info: dict | None, is_admin: bool) -> None:
    """Apply ``external_gateway_info`` ({} / None clears it)."""
    info = info or {}
    if not isinstance(info, dict) or set(info) - {"network_id", "enable_snat",
                                                  "external_fixed_ips"}:
        raise exc.HTTPBadRequest("Invalid input for external_gateway_info. Reason: expected "
                                 "a dictionary of network_id, enable_snat and "
                                 "external_fixed_ips.")
    if not is_admin and ("enable_snat" in info or "external_fixed_ips" in info):
        key = "enable_snat" if "enable_snat" in info else "external_fixed_ips"
        raise exc.errors.Forbidden(f"(rule:update_router:external_gateway_info:{key}) is "
                                   "disallowed by policy")
    net_id = info.get("network_id")
    current = gateway_port(session, router)
    if current is not None and (net_id != current.network_id):
        if any(f.floating_network_id == current.network_id for f in _fips_via(session,
                                                                             router.id)):
            raise l3.RouterExternalGatewayInUseByFloatingIp(router.id, current.network_id)
        port_lib.delete_ports(session, [current])
        router.gw_port_id, current = None, None
    if net_id is None:
        if info:
            raise exc.HTTPBadRequest("Invalid input for external_gateway_info. Reason: "
                                     "network_id is required.")
        router.enable_snat = True
        router.revision_number += 1
        session.flush()
        bump(session, router.host)
        return
    net = session.get(m.Network, net_id) if isinstance(net_id, str) else None
    if net is None:
        raise exc.NetworkNotFound(net_id)
    if not net.external:
        raise l3.BadRequest("router", f"Network {net_id} is not an external network")
    snat = info.get("enable_snat", True)
    if not isinstance(snat, bool):
        raise exc.HTTPBadRequest(f"'{snat}' is not a valid boolean value for enable_snat.")
    fixed = info.get("external_fixed_ips")
    if fixed is not None and not isinstance(fixed, list):
        raise exc.HTTPBadRequest("external_fixed_ips must be a list.")
    subnets = port_lib.subnets_of(session, net_id)
    if not subnets:
        raise l3.BadRequest("router", f"Network {net_id} has no subnets: it cannot be the "
                            "external gateway.")
    if current is None:
        port = port_lib.new_port(session, network_id=net_id, project_id="",
                                 device_id=router.id, device_owner=ROUTER_GATEWAY,
                                 fixed_ips=fixed, host_id=router.host or "",
                                 vif_type=port_lib.VIF_TYPE if router.host else "unbound",
                                 status="ACTIVE")
        _overlap_check(session, router, [session.get(m.Subnet, a.subnet_id) for a in
                                         port_lib.allocations(session, [port.id])[port.id]],
                       skip_port=port.id)
        router.gw_port_id = port.id
    elif fixed is not None:
        port_lib.update_fixed_ips(session, current, fixed)
    router.enable_snat = snat
    router.revision_number += 1
    session.flush()
    bump(session, router.host)


# -- interfaces ------------------------------------------------------------------------
def _info(router: Router, port: m.Port, subnet_ids: list[str]) -> dict:
    return {"id": router.id, "tenant_id": router.project_id, "project_id": router.project_id,
            "port_id": port.id, "network_id": port.network_id,
            "subnet_id": subnet_ids[0] if subnet_ids else None, "subnet_ids": subnet_ids}


def _check_new_subnet(session, router: Router, sub: m.Subnet, skip_port: str | None = None):
    for _, other in interface_subnets(session, router.id):
        if other.id == sub.id:
            raise l3.BadRequest("router", f"Router already has a port on subnet {sub.id}")
    _overlap_check(session, router, [sub], skip_port)


def add_interface(session, router: Router, *, subnet: m.Subnet | None = None,
                  port: m.Port | None = None) -> dict:
    """Attach ``subnet`` (a new port holding its gateway IP) or an existing
    unbound ``port``; returns neutron's interface info."""
    if subnet is not None:
        if not subnet.gateway_ip:
            raise l3.BadRequest("router", "Subnet for router interface must have a gateway "
                                "IP")
        _check_new_subnet(session, router, subnet)
        taken = session.scalar(select(m.IPAllocation.port_id).where(
            m.IPAllocation.subnet_id == subnet.id,
            m.IPAllocation.ip_address == subnet.gateway_ip))
        if taken:
            raise l3.IpAddressInUse(subnet.network_id, subnet.gateway_ip)
        port = port_lib.new_port(session, network_id=subnet.network_id,
                                 project_id=router.project_id, device_id=router.id,
                                 device_owner=ROUTER_INTERFACE, fixed_ips=[],
                                 host_id=router.host or "", status="ACTIVE",
                                 vif_type=port_lib.VIF_TYPE if router.host else "unbound")
        # The gateway IP is reserved from ports by the IPAM; only the router's
        # interface may hold it (the allocation's primary key settles races).
        from stratus.network.allocation import _insert
        _insert(session, port.id, subnet.network_id, subnet.id, subnet.gateway_ip)
        subnet_ids = [subnet.id]
    else:
        if port.device_id or port.device_owner:
            raise l3.PortInUse(port.id, port.network_id, port.device_id or port.device_owner)
        allocs = port_lib.allocations(session, [port.id])[port.id]
        if not allocs:
            raise l3.BadRequest("router", "Router port must have at least one fixed IP")
        if len({a.subnet_id for a in allocs}) > 1:
            raise l3.BadRequest("router", "Cannot have multiple IPv4 subnets on router port")
        sub = session.get(m.Subnet, allocs[0].subnet_id)
        _check_new_subnet(session, router, sub)
        port.device_id, port.device_owner = router.id, ROUTER_INTERFACE
        port.host_id = router.host or ""
        port.vif_type = port_lib.VIF_TYPE if router.host else "unbound"
        port.status = "ACTIVE"
        port.revision_number += 1
        subnet_ids = [sub.id]
    router.revision_number += 1
    session.flush()
    bump(session, router.host)
    return _info(router, port, subnet_ids)


def remove_interface(session, router: Router, *, subnet_id: str | None = None,
                     port_id: str | None = None) -> dict:
    """Detach by port or subnet; 409 while floating IPs or routes need it."""
    pairs = interface_subnets(session, router.id)
    if port_id is not None:
        found = [(p, s) for p, s in pairs if p.id == port_id]
        if not found:
            raise l3.RouterInterfaceNotFound(router.id, port_id)
        if subnet_id is not None and all(s.id != subnet_id for _, s in found):
            raise l3.RouterInterfaceNotFoundForSubnet(router.id, subnet_id)
    else:
        found = [(p, s) for p, s in pairs if s.id == subnet_id]
        if not found:
            raise l3.RouterInterfaceNotFoundForSubnet(router.id, subnet_id)
    port = found[0][0]
    subs = [s for p, s in pairs if p.id == port.id]
    for sub in subs:
        net = ipaddress.ip_network(sub.cidr)
        if any(f.fixed_ip_address and ipaddress.ip_address(f.fixed_ip_address) in net
               for f in _fips_via(session, router.id)):
            raise l3.RouterInterfaceInUseByFloatingIP(router.id, sub.id)
        if any(ipaddress.ip_address(r["nexthop"]) in net for r in router.routes or []):
            raise l3.RouterInterfaceInUseByRoute(router.id, sub.id)
    info = _info(router, port, [s.id for s in subs])
    port_lib.delete_ports(session, [port])
    router.revision_number += 1
    session.flush()
    bump(session, router.host)
    return info


# -- routes --------------------------------------------------------------------------------
def check_routes(session, router: Router, routes) -> list[dict]:
    """Validated, de-duplicated routes; nexthops must be on a router subnet."""
    if not isinstance(routes, list):
        raise exc.HTTPBadRequest(f"Invalid input for routes. Reason: '{routes}' is not a "
                                 "list.")
    nets, own = [], set()
    for p, s in interface_subnets(session, router.id):
        nets.append(ipaddress.ip_network(s.cidr))
    gw = gateway_port(session, router)
    ports = router_ports(session, router.id)
    for ports_allocs in port_lib.allocations(session, [p.id for p in ports]).values():
        own |= {a.ip_address for a in ports_allocs}
        if gw is not None:
            nets += [ipaddress.ip_network(session.get(m.Subnet, a.subnet_id).cidr)
                     for a in ports_allocs if a.port_id == gw.id]
    out: list[dict] = []
    for r in routes:
        if not isinstance(r, dict) or set(r) != {"destination", "nexthop"}:
            raise exc.HTTPBadRequest(f"Invalid input for routes. Reason: {r} must have exactly "
                                     "destination and nexthop.")
        try:
            dest = ipaddress.ip_network(r["destination"])
            hop = ipaddress.ip_address(r["nexthop"])
        except (ValueError, TypeError):
            raise exc.HTTPBadRequest(f"Invalid input for routes. Reason: '{r}' has an invalid "
                                     "destination or nexthop.") from None
        if dest.version != 4 or hop.version != 4:
            raise l3.InvalidRoutes(routes, "only IPv4 routes are supported")
        if not any(hop in n for n in nets):
            raise l3.InvalidRoutes(routes, "the nexthop is not connected with router")
        if str(hop) in own:
            raise l3.InvalidRoutes(routes, "the nexthop is used by router")
        route = {"destination": str(dest), "nexthop": str(hop)}
        if route not in out:
            out.append(route)
    if len(out) > MAX_ROUTES:
        raise l3.RoutesExhausted(router.id, MAX_ROUTES)
    return out


def set_routes(session, router: Router, routes) -> None:
    router.routes = check_routes(session, router, routes)
    router.revision_number += 1
    session.flush()
    bump(session, router.host)
