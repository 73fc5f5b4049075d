"""VLAN provider networks on a host, as a pure function: the host's VLAN
networks and ``[linux_bridge] physical_interface_mappings`` -> the VLAN
subinterfaces wanted, and what the kernel holds -> the ordered changes.

As Neutron's Linux bridge agent: a VLAN network with segmentation id ``vid``
on physical network ``physnet`` (mapped to interface ``ifname``) is its
bridge ``brq<id>`` with the 802.1Q subinterface ``<ifname>.<vid>`` enslaved
to it, so every frame leaving the bridge by the physical interface carries
the tag and only frames tagged ``vid`` enter it.  The device is named by
the segment (the upstream rule, shortened with a hash past 15 characters),
so a restart finds the same device and never rebuilds it.

Only differences are planned: a device present and right is left alone, a
master/MTU/state that differs is set, a device is re-created only when its
identity (lower interface, VLAN id) is wrong.  A device is removed only when
it is ours (a ``vlan`` device whose name is the one this module gives its
lower interface and id), holds no address and is enslaved to a Stratus
bridge or to none: an operator's own ``eth1.10`` with an address is never
touched.  Nothing is flushed."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from stratus.dataplane.bridge import BRIDGE_PREFIX, bridge_name
from stratus.dataplane.converge import link_settings

MAX_NAME = 15          # the kernel's IFNAMSIZ - 1
HASH_LEN = 6           # as neutron.plugins.common.utils.get_interface_name


def subinterface_name(interface: str, vid: int) -> str:
    """``eth1`` + 100 -> ``eth1.100``; a name past 15 characters keeps the
    head of the interface name, 6 hex digits of its SHA-1 and ``.vid``
    (Neutron's rule, so both agents name one subinterface alike)."""
    postfix = f".{int(vid)}"
    if len(interface) + len(postfix) <= MAX_NAME:
        return interface + postfix
    digest = hashlib.sha1(interface.encode()).hexdigest()[:HASH_LEN]
    return interface[:MAX_NAME - len(postfix) - HASH_LEN] + digest + postfix


def parse_mappings(entries: list[str]) -> dict[str, str]:
    """``["physnet1:eth1"]`` -> ``{"physnet1": "eth1"}``; ValueError naming a
    malformed or repeated entry."""
    out: dict[str, str] = {}
    for entry in entries:
        physnet, sep, ifname = (p.strip() for p in entry.partition(":"))
        if not sep or not physnet or not ifname or ":" in ifname:
            raise ValueError(f"[linux_bridge] physical_interface_mappings: {entry!r} is not "
                             "'physnet:interface'")
        if physnet in out:
            raise ValueError(f"[linux_bridge] physical_interface_mappings: physnet "
                             f"{physnet!r} is mapped twice")
        if len(ifname) > MAX_NAME:
            raise ValueError(f"[linux_bridge] physical_interface_mappings: {ifname!r} is "
                             f"longer than {MAX_NAME} characters")
        out[physnet] = ifname
    return out


@dataclass(frozen=True)
class Link:
    """What the kernel shows of one link of the host namespace."""
    kind: str = ""
    lower: str | None = None      # the VLAN device's lower link
    vid: int | None = None
    master: str | None = None
    mtu: int | None = None
    up: bool = True
    addressed: bool = False       # holds an IPv4/IPv6 address


@dataclass(frozen=True)
class Change:
    op: str    # delete | create | set_link | missing_interface | name_taken | unmapped
    device: str
    args: dict = field(default_factory=dict)

    def __repr__(self):
        extra = " ".join(f"{k}={v}" for k, v in sorted(self.args.items()))
        return f"vlan.{self.op}({self.device}{' ' + extra if extra else ''})"


def desired(state: dict, mappings: dict[str, str]) -> tuple[dict[str, dict], list[Change]]:
    """(device name -> {lower, vid, master, mtu, network_id, physical_network},
    ``unmapped`` changes for the VLAN networks whose physnet has no interface
    here: those stay local to the host, like VXLAN without a local_ip)."""
    wanted: dict[str, dict] = {}
    unmapped: list[Change] = []
    for net in sorted(state.get("networks") or [], key=lambda n: n["id"]):
        if net.get("network_type") != "vlan" or net.get("segmentation_id") is None:
            continue
        physnet = net.get("physical_network")
        ifname = mappings.get(physnet)
        if ifname is None:
            unmapped.append(Change("unmapped", bridge_name(net["id"]),
                                   {"physical_network": physnet}))
            continue
        vid = int(net["segmentation_id"])
        wanted[subinterface_name(ifname, vid)] = {
            "lower": ifname, "vid": vid, "master": bridge_name(net["id"]),
            "mtu": net.get("mtu"), "network_id": net["id"], "physical_network": physnet}
    return wanted, unmapped


def owned(name: str, link: Link) -> bool:
    """A VLAN device this module would have made: named after its lower link and id."""
    return (link.kind == "vlan" and link.lower is not None and link.vid is not None
            and name == subinterface_name(link.lower, link.vid))


def plan(wanted: dict[str, dict], observed: dict[str, Link],
         unmapped: list[Change] = ()) -> list[Change]:
    """Changes that make the host namespace's links (``observed``: every link,
    by name) carry exactly the ``wanted`` subinterfaces."""
    changes: list[Change] = []
    for name in sorted(set(observed) - set(wanted)):
        link = observed[name]
        if owned(name, link) and not link.addressed and \
                (link.master is None or link.master.startswith(BRIDGE_PREFIX)):
            changes.append(Change("delete", name))
    for name, w in sorted(wanted.items()):
        if w["lower"] not in observed:
            changes.append(Change("missing_interface", name,
                                  {"interface": w["lower"],
                                   "physical_network": w["physical_network"]}))
            continue
        have = observed.get(name)
        if have is not None and (have.lower, have.vid) != (w["lower"], w["vid"]):
            if not owned(name, have):
                changes.append(Change("name_taken", name, {"kind": have.kind or "device"}))
                continue
            changes.append(Change("delete", name))
            have = None
        if have is None:
            changes.append(Change("create", name, {"lower": w["lower"], "vid": w["vid"]}))
            have = Link(kind="vlan", lower=w["lower"], vid=w["vid"], up=False)
        link = link_settings(have, w)
        if link:
            changes.append(Change("set_link", name, link))
    return changes + list(unmapped)
