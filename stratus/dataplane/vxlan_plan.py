"""VXLAN with l2population, as a pure function: desired tunnels (from
``stratus.network.l2pop.tunnel_state`` and the host's networks) and what the
kernel holds -> the ordered list of changes.

Per VXLAN network a host carries: one device ``vxlan-<vni>`` (named by the
segment, so a restart finds the same device and the VNI mapping is never
rebuilt) with ``nolearning`` and ARP ``proxy``, enslaved to the network's
bridge; a flooding entry ``00:00:00:00:00:00 -> peer`` per remote host
(broadcast by head-end replication, no multicast); a static forwarding entry
per remote port MAC; and a permanent neighbour entry per remote port IP, so
ARP requests for remote VMs are answered by the local VXLAN device.

Only differences are planned: an entry present and right is left alone, a
stale one is deleted one by one (nothing is flushed), and a device is
re-created only when its identity (VNI, local endpoint, port) is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from stratus.dataplane.bridge import bridge_name
from stratus.dataplane.converge import link_settings

PREFIX = "vxlan-"
FLOOD_MAC = "00:00:00:00:00:00"


def device_name(vni: int) -> str:
    return f"{PREFIX}{int(vni)}"


@dataclass(frozen=True)
class Device:
    """What the kernel shows of one ``vxlan-*`` device."""
    vni: int
    local: str | None
    port: int
    learning: bool = False
    proxy: bool = True
    master: str | None = None
    mtu: int | None = None
    up: bool = True
    fdb: frozenset = frozenset()      # (mac, dst) static entries with a dst
    neigh: frozenset = frozenset()    # (ip, mac) permanent entries


@dataclass(frozen=True)
class Change:
    op: str       # delete_device | create_device | set_link | fdb_del | fdb_add |
    #               neigh_del | neigh_add
    device: str
    args: dict = field(default_factory=dict)

    def __repr__(self):
        extra = " ".join(f"{k}={v}" for k, v in sorted(self.args.items()))
        return f"{self.op}({self.device}{' ' + extra if extra else ''})"


def desired(state: dict, udp_port: int = 4789, arp_responder: bool = True) -> dict[str, dict]:
    """device name -> wanted device (vni, local, port, proxy, master, mtu,
    fdb, neigh) for the host state the agent API returned."""
    tunnels = state.get("tunnels") or {}
    local = tunnels.get("local_ip")
    if not local:
        return {}
    nets = {n["id"]: n for n in state.get("networks", [])}
    out = {}
    for net_id, t in sorted((tunnels.get("networks") or {}).items()):
        net = nets.get(net_id)
        if net is None or t.get("vni") is None:
            continue
        fdb = {(FLOOD_MAC, peer) for peer in t.get("peers", [])}
        neigh = set()
        for p in t.get("remote_ports", []):
            fdb.add((p["mac"].lower(), p["vtep"]))
            if arp_responder:
                neigh |= {(ip, p["mac"].lower()) for ip in p.get("ips", [])}
        out[device_name(t["vni"])] = {
            "vni": int(t["vni"]), "local": local, "port": int(udp_port), "proxy": arp_responder,
            "master": bridge_name(net_id), "mtu": net.get("mtu"),
            "fdb": frozenset(fdb), "neigh": frozenset(neigh)}
    return out


def plan(wanted: dict[str, dict], observed: dict[str, Device]) -> list[Change]:
    """Changes that make ``observed`` (``vxlan-*`` devices only) match ``wanted``."""
    changes: list[Change] = []
    for name in sorted(set(observed) - set(wanted)):
        if name.startswith(PREFIX):
            changes.append(Change("delete_device", name))
    for name, w in sorted(wanted.items()):
        have = observed.get(name)
        identity_ok = (have is not None and have.vni == w["vni"] and have.local == w["local"]
                       and have.port == w["port"] and not have.learning
                       and have.proxy == w["proxy"])
        if have is not None and not identity_ok:
            changes.append(Change("delete_device", name))
        if not identity_ok:
            changes.append(Change("create_device", name, {"vni": w["vni"], "local": w["local"],
                                                          "port": w["port"],
                                                          "proxy": w["proxy"]}))
            have = Device(vni=w["vni"], local=w["local"], port=w["port"], proxy=w["proxy"],
                          up=False)
        link = link_settings(have, w)
        if link:
            changes.append(Change("set_link", name, link))
        for mac, dst in sorted(have.fdb - w["fdb"]):
            changes.append(Change("fdb_del", name, {"mac": mac, "dst": dst}))
        for ip, mac in sorted(have.neigh - w["neigh"]):
            changes.append(Change("neigh_del", name, {"ip": ip, "mac": mac}))
        for mac, dst in sorted(w["fdb"] - have.fdb):
            changes.append(Change("fdb_add", name, {"mac": mac, "dst": dst}))
        for ip, mac in sorted(w["neigh"] - have.neigh):
            changes.append(Change("neigh_add", name, {"ip": ip, "mac": mac}))
    return changes
