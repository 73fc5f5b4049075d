"""Ports and the network contract used by compute, the scheduler and the host
agent (docs/design/compute-contracts.md).

Addresses: stratus/network/allocation.py.  DHCP: one port per (network,
host) with ``device_owner=network:dhcp``, made when a port of the network is
bound there and removed with the last such port."""
from __future__ import annotations

import random
import re
import uuid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from stratus.db.models import network as m
from stratus.network import exceptions as exc
from stratus.network import l2pop, notify, views
from stratus.network.allocation import (allocate_any, allocate_fixed_ips,  # noqa: F401
                                        allocations, subnets_of, update_fixed_ips)
from stratus.network.networks import DHCP_OWNER, network_visible  # noqa: F401 (contract)
from stratus.network.bootstrap import ensure_private_network  # noqa: F401 (contract)

MAC_PREFIX = "fa:16:3e"
MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
VIF_TYPE = "tap"


def check_mac(value) -> str:
    """A lower-case unicast MAC; 400 otherwise."""
    mac = value.lower() if isinstance(value, str) else ""
    if not MAC_RE.match(mac) or int(mac[:2], 16) & 1 or mac == "00:00:00:00:00:00":
        raise exc.InvalidInput(f"'{value}' is not a valid unicast MAC address.")
    return mac


def random_mac() -> str:
    return MAC_PREFIX + "".join(f":{random.randint(0, 255):02x}" for _ in range(3))


def mac_in_use(session, network_id: str, mac: str) -> bool:
    return session.scalar(select(m.Port.id).where(m.Port.network_id == network_id,
                                                  m.Port.mac_address == mac)) is not None


def _free_mac(session, network_id: str) -> str:
    for _ in range(16):
        mac = random_mac()
        if not mac_in_use(session, network_id, mac):
            return mac
    raise exc.errors.Conflict(f"Unable to generate a unique MAC address on network "
                              f"{network_id}.")


def new_port(session, *, network_id: str, project_id: str, device_id: str = "",
             device_owner: str = "", fixed_ips=None, mac: str | None = None,
             **attrs) -> m.Port:
    """Insert a port row with its addresses (``attrs``: other Port columns)."""
    if session.get(m.Network, network_id) is None:
        raise exc.NetworkNotFound(network_id)
    mac = check_mac(mac) if mac else _free_mac(session, network_id)
    if mac_in_use(session, network_id, mac):
        raise exc.MacAddressInUse(mac, network_id)
    port = m.Port(id=str(uuid.uuid4()), network_id=network_id, project_id=project_id,
                  device_id=device_id or "", device_owner=device_owner or "",
                  mac_address=mac, **{"status": "DOWN", **attrs})
    session.add(port)
    try:
        session.flush()
    except IntegrityError:   # a concurrent request took the MAC
        raise exc.MacAddressInUse(mac, network_id) from None
    allocate_fixed_ips(session, port.id, network_id, fixed_ips)
    session.flush()
    return port


def create_port(session, *, network_id, project_id, device_id, device_owner, fixed_ips=None,
                mac=None, security_groups=None) -> dict:
    """Create a port (compute's entry point); the Neutron port dict, admin view.
    Raises NetworkNotFound, IpAddressGenerationFailure (409), IpAddressAlreadyAllocated
    (409), InvalidIpForSubnet (400), MacAddressInUse (409).  ``security_groups``:
    names or ids in the project (None: the project's ``default``); an unknown
    one is SecurityGroupNotFound (404)."""
    port = new_port(session, network_id=network_id, project_id=project_id, device_id=device_id,
                    device_owner=device_owner, fixed_ips=fixed_ips, mac=mac)
    from stratus.network import port_security, sg_state  # security groups: the default
    requested = None if security_groups is None else \
        port_security.group_ids(session, project_id, security_groups)
    port_security.on_create(session, port, {} if requested is None else
                            {"security_groups": requested}, is_admin=False)
    sg_state.bump(session, port.security_groups)
    return views.port_dict(port, allocations(session, [port.id])[port.id], admin=True)


def dhcp_device_id(host: str, network_id: str) -> str:
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host)}-{network_id}"


def ensure_dhcp_port(session, network_id: str, host: str) -> m.Port | None:
    """The DHCP port of (network, host), created if the network has a DHCP subnet."""
    dhcp_subnets = [s for s in subnets_of(session, network_id) if s.enable_dhcp]
    if not dhcp_subnets:
        return None
    port = session.scalar(select(m.Port).where(m.Port.network_id == network_id,
                                               m.Port.device_owner == DHCP_OWNER,
                                               m.Port.host_id == host))
    if port is None:
        net = session.get(m.Network, network_id)
        port = new_port(session, network_id=network_id, project_id=net.project_id,
                        device_id=dhcp_device_id(host, network_id), device_owner=DHCP_OWNER,
                        fixed_ips=[{"subnet_id": s.id} for s in dhcp_subnets],
                        host_id=host, vif_type=VIF_TYPE, status="ACTIVE")
    return port


def add_dhcp_addresses(session, sub: m.Subnet) -> None:
    """Existing DHCP ports of the subnet's network get an address on it too."""
    for port in session.scalars(select(m.Port).where(m.Port.network_id == sub.network_id,
                                                     m.Port.device_owner == DHCP_OWNER)):
        has = session.scalar(select(m.IPAllocation).where(m.IPAllocation.port_id == port.id,
                                                          m.IPAllocation.subnet_id == sub.id))
        if has is None and allocate_any(session, port.id, sub) is None:
            raise exc.IpAddressGenerationFailure(f"No more IP addresses available for subnet "
                                                 f"{sub.id}.")


def bind_ports(session, device_id: str, host: str) -> None:
    """Bind the device's ports to ``host`` (binding:host_id, vif_type "tap",
    status ACTIVE) and make sure each of their networks has a DHCP port there."""
    ports = list(session.scalars(select(m.Port).where(m.Port.device_id == device_id)))
    for port in ports:
        port.host_id, port.vif_type, port.status = host, VIF_TYPE, "ACTIVE"
        port.vif_details = {"connectivity": "l2", "port_filter": False,
                            "bridge_name": views.bridge_name(port.network_id)}
        port.revision_number += 1
    session.flush()
    for network_id in sorted({p.network_id for p in ports}):
        ensure_dhcp_port(session, network_id, host)
    notify.bump_hosts_of_networks(session, {p.network_id for p in ports})


def delete_ports_for_device(session, device_id: str) -> None:
    """Delete the device's ports and their addresses; a DHCP port left without
    any other port of its network on its host goes too (idempotent)."""
    ports = list(session.scalars(select(m.Port).where(m.Port.device_id == device_id)))
    delete_ports(session, ports)


def delete_ports(session, ports: list[m.Port]) -> None:
    places = {(p.network_id, p.host_id) for p in ports if p.host_id
              and p.device_owner != DHCP_OWNER}
    ids = [p.id for p in ports]
    if not ids:
        return
    from stratus.network import port_security, sg_state  # remote-group members change
    sg_groups = {g for gs in port_security.groups_of(session, ids).values() for g in gs}
    from stratus.network.floating_ips import disassociate_ports  # L3: FIPs let go
    disassociate_ports(session, ids)
    # the other hosts on these networks drop the ports' forwarding entries
    bump_after = ({p.network_id for p in ports}, {p.host_id for p in ports if p.host_id})
    session.execute(delete(m.IPAllocation).where(m.IPAllocation.port_id.in_(ids)))
    session.execute(delete(m.Port).where(m.Port.id.in_(ids)))
    for network_id, host in places:
        others = session.scalar(select(m.Port.id).where(
            m.Port.network_id == network_id, m.Port.host_id == host,
            m.Port.device_owner != DHCP_OWNER).limit(1))
        if others is None:
            dhcp = list(session.scalars(select(m.Port.id).where(
                m.Port.network_id == network_id, m.Port.host_id == host,
                m.Port.device_owner == DHCP_OWNER)))
            session.execute(delete(m.IPAllocation).where(m.IPAllocation.port_id.in_(dhcp)))
            session.execute(delete(m.Port).where(m.Port.id.in_(dhcp)))
    session.flush()
    notify.bump_hosts_of_networks(session, bump_after[0], also=bump_after[1])
    sg_state.bump(session, sg_groups)


def addresses_for(session, device_ids) -> dict:
    """{device_id: {network name: [address dicts]}} for many devices, one query."""
    device_ids = list(device_ids)
    out: dict[str, dict] = {d: {} for d in device_ids}
    if not device_ids:
        return out
    rows = session.execute(
        select(m.Port.device_id, m.Port.mac_address, m.Network.name, m.IPAllocation.ip_address)
        .join(m.Network, m.Network.id == m.Port.network_id)
        .join(m.IPAllocation, m.IPAllocation.port_id == m.Port.id)
        .where(m.Port.device_id.in_(device_ids))
        .order_by(m.Port.created_at, m.Port.id, m.IPAllocation.ip_address))
    for device_id, mac, net_name, ip in rows:
        out[device_id].setdefault(net_name, []).append(
            {"version": 4, "addr": ip, "OS-EXT-IPS:type": "fixed",
             "OS-EXT-IPS-MAC:mac_addr": mac})
    return out


def host_network_state(session, host: str) -> dict:
    """What the host agent converges to: the networks with ports bound to
    ``host`` (subnets included) and those ports, DHCP ports included."""
    ports = list(session.scalars(select(m.Port).where(m.Port.host_id == host)
                                 .order_by(m.Port.id)))
    allocs = allocations(session, [p.id for p in ports])
    net_ids = sorted({p.network_id for p in ports})
    nets = list(session.scalars(select(m.Network).where(m.Network.id.in_(net_ids))
                                .order_by(m.Network.id)))
    subs: dict[str, list] = {n: [] for n in net_ids}
    for s in session.scalars(select(m.Subnet).where(m.Subnet.network_id.in_(net_ids))
                             .order_by(m.Subnet.id)):
        subs[s.network_id].append(
            {"id": s.id, "cidr": s.cidr, "gateway_ip": s.gateway_ip,
             "enable_dhcp": s.enable_dhcp, "dns_nameservers": list(s.dns_nameservers),
             "host_routes": list(s.host_routes), "allocation_pools": list(s.allocation_pools)})
    # Router ports are plumbed by the router's namespace (stratus/dataplane/router.py),
    # not as taps: their networks' bridges are wanted, the ports are in "routers".
    from stratus.network.l3_state import host_routers
    from stratus.network.routers import ROUTER_OWNERS
    ports = [p for p in ports if p.device_owner not in ROUTER_OWNERS]
    from stratus.network.sg_state import firewall_state
    from stratus.network import qos   # per port: effective QoS rules, flavor vif quotas
    from stratus.network import vlan
    qos_rules, vif_quota = qos.effective_rules(session, ports), qos.vif_quotas(session, ports)
    return {
        "firewall": firewall_state(session, ports),   # stratus/dataplane/firewall.py
        "routers": host_routers(session, host),
        "tunnels": l2pop.tunnel_state(session, host, nets),
        "vlan_ports": vlan.remote_ports(session, host, nets),   # DHCP of VLAN networks
        "networks": [{"id": n.id, "name": n.name, "mtu": n.mtu, "network_type": n.network_type,
                      "physical_network": n.physical_network,
                      "segmentation_id": n.segmentation_id, "admin_state_up": n.admin_state_up,
                      "bridge": views.bridge_name(n.id), "subnets": subs[n.id]} for n in nets],
        "ports": [{"id": p.id, "network_id": p.network_id, "mac_address": p.mac_address,
                   "device_id": p.device_id, "device_owner": p.device_owner,
                   "admin_state_up": p.admin_state_up, "tap": views.tap_name(p.id),
                   "qos_rules": qos_rules[p.id], "vif_quota": vif_quota.get(p.device_id, {}),
                   "fixed_ips": sorted(({"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                                        for a in allocs[p.id]),
                                       key=lambda f: (f["subnet_id"], f["ip_address"]))}
                  for p in ports],
    }

