"""l2population: what each host needs to carry its VXLAN networks without
multicast or flood-and-learn.

For every VXLAN network a host has ports on, the control plane knows every
other host with ports on it (the flooding list: broadcast and unknown
unicast go to each of them, head-end replication) and every remote port's
MAC and IPs (static forwarding entries: MAC -> remote tunnel endpoint, and
neighbour entries so the local VXLAN device answers ARP itself).  Hosts are
addressed by the tunnel endpoint (``compute_node.tunnel_ip``) their agent
registered (``[vxlan] local_ip``); a host without one takes no part in
tunnels (its VXLAN networks stay host-local)."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from stratus.db.models import network as m
from stratus.db.models.compute import ComputeNode

NOT_ON_SEGMENT = ("network:floatingip",)   # addresses with no MAC on the segment


def tunnel_ips(session) -> dict[str, str]:
    return {h: ip for h, ip in session.execute(
        select(ComputeNode.host, ComputeNode.tunnel_ip)
        .where(ComputeNode.tunnel_ip.is_not(None), ComputeNode.tunnel_ip != ""))}


def tunnel_state(session, host: str, networks: list) -> dict:
    """``{"local_ip": ip | None, "networks": {network_id: {"vni", "peers",
    "remote_ports"}}}`` for the VXLAN networks among ``networks`` (Network
    rows the host carries).  ``peers`` are sorted endpoint IPs;
    ``remote_ports`` are ``{"mac", "ips", "fixed_ips", "vtep"}`` sorted by
    MAC (``fixed_ips`` as ports have them: every host's dnsmasq knows every
    port of the network, so whichever answers a broadcast gives the same
    address and none NAKs another host's client)."""
    vxlan = {n.id: n for n in networks if n.network_type == "vxlan"}
    endpoints = tunnel_ips(session) if vxlan else {}
    local_ip = endpoints.get(host)
    out: dict = {"local_ip": local_ip, "networks": {}}
    if not vxlan or local_ip is None:
        return out
    rows = session.execute(
        select(m.Port.id, m.Port.network_id, m.Port.mac_address, m.Port.host_id,
               m.IPAllocation.ip_address, m.IPAllocation.subnet_id)
        .outerjoin(m.IPAllocation, m.IPAllocation.port_id == m.Port.id)
        .where(m.Port.network_id.in_(sorted(vxlan)), m.Port.host_id.is_not(None),
               m.Port.host_id != host, m.Port.device_owner.not_in(NOT_ON_SEGMENT)))
    ports: dict[str, dict] = {}
    for port_id, net_id, mac, port_host, ip, subnet_id in rows:
        vtep = endpoints.get(port_host)
        if vtep is None or vtep == local_ip:
            continue
        p = ports.setdefault(port_id, {"network_id": net_id, "mac": mac, "vtep": vtep,
                                       "fixed_ips": []})
        if ip:
            p["fixed_ips"].append({"subnet_id": subnet_id, "ip_address": ip})
    by_net: dict[str, list] = defaultdict(list)
    for p in ports.values():
        fixed = sorted(p["fixed_ips"], key=lambda f: (f["subnet_id"], f["ip_address"]))
        by_net[p.pop("network_id")].append(
            dict(p, fixed_ips=fixed, ips=sorted(f["ip_address"] for f in fixed)))
    for net_id, net in sorted(vxlan.items()):
        remote = sorted(by_net.get(net_id, []), key=lambda p: p["mac"])
        out["networks"][net_id] = {"vni": net.segmentation_id,
                                   "peers": sorted({p["vtep"] for p in remote}),
                                   "remote_ports": remote}
    return out
