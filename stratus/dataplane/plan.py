"""The host data plane's plan as a pure function: desired state (from
``stratus.network.ports.host_network_state``) and observed state (what the
kernel and the state dir hold) → the ordered list of actions.

Ensures are level-triggered (each reads the kernel and changes only what
differs), so every desired object gets one; removals are planned only for
Stratus-named objects (``brq*``, ``tap*``, ``qdhcp-*``) nobody wants any more.
Order: removals of ports, then DHCP, then bridges; then bridges, DHCP, taps."""
from __future__ import annotations

from dataclasses import dataclass, field

from stratus.dataplane.bridge import BRIDGE_PREFIX, TAP_PREFIX, bridge_name, tap_name

DHCP_OWNER = "network:dhcp"


@dataclass(frozen=True)
class Observed:
    bridges: frozenset = frozenset()       # brq* link names in the host namespace
    taps: frozenset = frozenset()          # tap* link names (VM taps and DHCP veth ends)
    dhcp_networks: frozenset = frozenset()  # network ids with DHCP state
    dhcp_namespaces: frozenset = frozenset()  # qdhcp-* namespaces of this host


@dataclass
class Action:
    op: str          # remove_tap | remove_dhcp | remove_namespace | remove_bridge |
    #                  ensure_network | ensure_dhcp | plug_tap
    target: str
    args: dict = field(default_factory=dict)

    def __repr__(self):
        return f"{self.op}({self.target})"


def dhcp_subnet(network: dict, dhcp_port: dict) -> dict | None:
    """The subnet dnsmasq serves: the first DHCP-enabled one the port has an IP on."""
    on = {f["subnet_id"] for f in dhcp_port["fixed_ips"]}
    return next((s for s in network["subnets"] if s["enable_dhcp"] and s["id"] in on), None)


def plan(state: dict, observed: Observed, namespace_of) -> list[Action]:
    """``namespace_of(network_id)`` names a network's DHCP namespace."""
    nets = {n["id"]: n for n in state["networks"]}
    ports = [p for p in state["ports"] if p["network_id"] in nets]
    dhcp = {p["network_id"]: p for p in ports if p["device_owner"] == DHCP_OWNER}
    vm_ports = [p for p in ports if p["device_owner"] != DHCP_OWNER]
    serving = {nid: dhcp_subnet(nets[nid], p) for nid, p in dhcp.items()}
    serving = {nid: s for nid, s in serving.items() if s is not None}
    want_taps = {tap_name(p["id"]) for p in vm_ports} | \
        {tap_name(dhcp[nid]["id"]) for nid in serving}
    want_bridges = {bridge_name(n) for n in nets}
    want_ns = {namespace_of(n) for n in serving}

    actions: list[Action] = []
    actions += [Action("remove_tap", t) for t in sorted(observed.taps - want_taps)
                if t.startswith(TAP_PREFIX)]
    actions += [Action("remove_dhcp", n) for n in sorted(observed.dhcp_networks - set(serving))]
    stale_ns = observed.dhcp_namespaces - want_ns - \
        {namespace_of(n) for n in observed.dhcp_networks - set(serving)}
    actions += [Action("remove_namespace", n) for n in sorted(stale_ns)]
    actions += [Action("remove_bridge", b) for b in sorted(observed.bridges - want_bridges)
                if b.startswith(BRIDGE_PREFIX)]
    actions += [Action("ensure_network", nid, {"network": nets[nid]}) for nid in sorted(nets)]
    remote = (state.get("tunnels") or {}).get("networks") or {}
    vlan_remote = state.get("vlan_ports") or {}     # other hosts' ports of VLAN networks
    for nid in sorted(serving):
        elsewhere = (remote.get(nid) or {}).get("remote_ports", []) + vlan_remote.get(nid, [])
        served = [p for p in ports if p["network_id"] == nid] + [
            {"id": "remote-" + r["mac"], "network_id": nid, "mac_address": r["mac"],
             "device_owner": "", "fixed_ips": r["fixed_ips"]}
            for r in elsewhere if r.get("fixed_ips")]
        actions.append(Action("ensure_dhcp", nid, {"network": nets[nid],
                                                   "subnet": serving[nid],
                                                   "dhcp_port": dhcp[nid], "ports": served}))
    actions += [Action("plug_tap", p["id"], {"port": p, "network": nets[p["network_id"]]})
                for p in sorted(vm_ports, key=lambda p: p["id"])]
    return actions
