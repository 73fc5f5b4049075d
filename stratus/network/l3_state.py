"""The routers a host agent converges to: the ``routers`` key of
``host_network_state`` (stratus/network/ports.py).

Each router placed on the host, with its interfaces and gateway (ports with
their MACs, networks, bridges and addresses with prefix lengths), the
external subnet's gateway (the default route), its static routes and the
floating IPs it NATs.  Names of devices are the data plane's business
(stratus/dataplane/router_plan.py); this is data only."""
from __future__ import annotations

import ipaddress

from sqlalchemy import select

from stratus.db.models import network as m
from stratus.db.models.router import FloatingIP, Router
from stratus.network import views
from stratus.network.allocation import allocations
from stratus.network.routers import ROUTER_GATEWAY, router_ports


def _port(session, port: m.Port, allocs, subnets: dict, nets: dict) -> dict:
    net = nets.get(port.network_id) or session.get(m.Network, port.network_id)
    fixed = []
    for a in sorted(allocs, key=lambda a: (a.subnet_id, a.ip_address)):
        sub = subnets.get(a.subnet_id) or session.get(m.Subnet, a.subnet_id)
        fixed.append({"subnet_id": a.subnet_id, "ip_address": a.ip_address, "cidr": sub.cidr,
                      "prefixlen": ipaddress.ip_network(sub.cidr).prefixlen,
                      "gateway_ip": sub.gateway_ip})
    return {"port_id": port.id, "mac_address": port.mac_address, "network_id": port.network_id,
            "mtu": net.mtu, "bridge": views.bridge_name(port.network_id), "fixed_ips": fixed}


def router_state(session, router: Router) -> dict:
    ports = router_ports(session, router.id)
    allocs = allocations(session, [p.id for p in ports])
    interfaces, gateway = [], None
    for p in ports:
        d = _port(session, p, allocs[p.id], {}, {})
        if p.device_owner == ROUTER_GATEWAY:
            gw = next((f["gateway_ip"] for f in d["fixed_ips"] if f["gateway_ip"]), None)
            gateway = {**d, "gateway_ip": gw, "enable_snat": router.enable_snat}
        else:
            interfaces.append(d)
    fips = [] if gateway is None else [
        {"id": f.id, "floating_ip_address": f.floating_ip_address,
         "fixed_ip_address": f.fixed_ip_address}
        for f in session.scalars(select(FloatingIP).where(
            FloatingIP.router_id == router.id, FloatingIP.fixed_ip_address.is_not(None),
            FloatingIP.floating_network_id == gateway["network_id"])
            .order_by(FloatingIP.floating_ip_address))]
    return {"id": router.id, "admin_state_up": router.admin_state_up,
            "interfaces": sorted(interfaces, key=lambda i: i["port_id"]), "gateway": gateway,
            "routes": list(router.routes or []), "floating_ips": fips}


def host_routers(session, host: str) -> list[dict]:
    return [router_state(session, r) for r in session.scalars(
        select(Router).where(Router.host == host).order_by(Router.id))]
