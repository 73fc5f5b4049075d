"""Build and remove a lab's namespaces, underlay and provider fabric (side
effects of plan.py).

``ensure`` is level-triggered: it reads what exists and adds only what is
missing, so ``stratus lab up`` twice is harmless and never disturbs hosts
that already carry traffic.  ``remove`` deletes the fabric namespace (the
host namespaces are removed by each host's teardown, which also stops its
VMs and dnsmasq)."""
from __future__ import annotations

from stratus.dataplane import netns
from stratus.dataplane.ip import addresses, ip, links
from stratus.lab.plan import PROVIDER_INTERFACE, Lab, LabHost


def _ensure_veth(lab: Lab, h: LabHost, fabric_end: str, host_end: str, bridge: str) -> None:
    """The veth ``fabric_end`` (port of ``bridge``) <-> ``host_end`` (in the
    host namespace), both up; a stale fabric end whose peer is gone is re-made."""
    if host_end not in links(h.namespace):
        if fabric_end in links(lab.fabric_namespace):
            ip(lab.fabric_namespace, "link", "del", fabric_end)
        ip(lab.fabric_namespace, "link", "add", fabric_end, "type", "veth", "peer",
           "name", host_end, "netns", h.namespace)
    fab = links(lab.fabric_namespace)
    if fab[fabric_end].get("master") != bridge:
        ip(lab.fabric_namespace, "link", "set", fabric_end, "master", bridge)
    if not fab[fabric_end]["up"]:
        ip(lab.fabric_namespace, "link", "set", fabric_end, "up")
    if not links(h.namespace)[host_end]["up"]:
        ip(h.namespace, "link", "set", host_end, "up")


def _ensure_bridge(ns: str, name: str) -> None:
    """A plain bridge (VLAN filtering stays off, its default: tagged frames
    are forwarded like any other), up."""
    have = links(ns)
    if name not in have:
        ip(ns, "link", "add", name, "type", "bridge")
        have = links(ns)
    if not have[name]["up"]:
        ip(ns, "link", "set", name, "up")


def _ensure_host(lab: Lab, h: LabHost) -> None:
    netns.ensure(h.namespace)
    have = links(h.namespace)
    if "ul0" not in have:
        fab = links(lab.fabric_namespace)
        if h.fabric_port in fab:        # a stale end whose host namespace is gone
            ip(lab.fabric_namespace, "link", "del", h.fabric_port)
        ip(lab.fabric_namespace, "link", "add", h.fabric_port, "type", "veth", "peer",
           "name", "ul0", "netns", h.namespace)
        have = links(h.namespace)
    fab = links(lab.fabric_namespace)
    if fab[h.fabric_port].get("master") != lab.fabric_bridge:
        ip(lab.fabric_namespace, "link", "set", h.fabric_port, "master", lab.fabric_bridge)
    if not fab[h.fabric_port]["up"]:
        ip(lab.fabric_namespace, "link", "set", h.fabric_port, "up")
    want = f"{h.underlay_ip}/{h.prefixlen}"
    if want not in addresses(h.namespace, "ul0"):
        ip(h.namespace, "addr", "add", want, "dev", "ul0")
    if not have["ul0"]["up"]:
        ip(h.namespace, "link", "set", "ul0", "up")
    if not have.get("lo", {}).get("up"):
        ip(h.namespace, "link", "set", "lo", "up")
    if h.provider_port:     # physnet1: VLAN networks' tagged frames between hosts
        _ensure_veth(lab, h, h.provider_port, PROVIDER_INTERFACE, lab.provider_bridge)


def ensure(lab: Lab) -> None:
    netns.ensure(lab.fabric_namespace)
    fab = links(lab.fabric_namespace)
    if lab.fabric_bridge not in fab:
        ip(lab.fabric_namespace, "link", "add", lab.fabric_bridge, "type", "bridge")
        fab = links(lab.fabric_namespace)
    if not fab[lab.fabric_bridge]["up"]:
        ip(lab.fabric_namespace, "link", "set", lab.fabric_bridge, "up")
    _ensure_bridge(lab.fabric_namespace, lab.provider_bridge)
    for h in lab.hosts:
        _ensure_host(lab, h)


def remove(lab: Lab) -> bool:
    return netns.delete(lab.fabric_namespace)
