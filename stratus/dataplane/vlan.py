"""VLAN subinterfaces of a host namespace: read the kernel (``observe``),
apply one planned change (``apply``), or both (``sync``).  The planning is
pure (vlan_plan.py)."""
from __future__ import annotations

import logging

from stratus.dataplane.converge import apply_all
from stratus.dataplane.ip import ip, ip_json
from stratus.dataplane.vlan_plan import Change, Link, desired, parse_mappings, plan

LOG = logging.getLogger(__name__)


class VlanError(RuntimeError):
    """A VLAN network cannot be wired on this host (the message says why)."""


def observe(ns: str) -> dict[str, Link]:
    """Every link of ``ns`` by name, with the VLAN details of VLAN devices."""
    found: dict[str, Link] = {}
    for link in ip_json(ns, "-d", "addr", "show"):
        info = link.get("linkinfo") or {}
        data = info.get("info_data") or {}
        kind = info.get("info_kind", "")
        vlan = kind == "vlan" and data.get("protocol", "802.1Q") == "802.1Q"
        found[link["ifname"]] = Link(
            kind=kind, lower=link.get("link") if vlan else None,
            vid=int(data["id"]) if vlan and "id" in data else None,
            master=link.get("master"), mtu=link.get("mtu"),
            up="UP" in link.get("flags", []),
            addressed=any(a.get("scope") != "link" for a in link.get("addr_info", [])))
    return found


def apply(ns: str, c: Change) -> None:
    a, dev = c.args, c.device
    if c.op == "delete":
        ip(ns, "link", "del", dev, check=False)
    elif c.op == "create":
        ip(ns, "link", "add", "link", a["lower"], "name", dev, "type", "vlan",
           "id", str(a["vid"]))
    elif c.op == "set_link":
        if "master" in a:
            ip(ns, "link", "set", dev, "master", a["master"])
        if "mtu" in a:
            ip(ns, "link", "set", dev, "mtu", str(a["mtu"]))
        if a.get("up"):
            ip(ns, "link", "set", dev, "up")
    elif c.op == "missing_interface":
        raise VlanError(f"interface {a['interface']} of physical network "
                        f"{a['physical_network']} ([linux_bridge] physical_interface_mappings) "
                        f"is not in namespace {ns}: {dev} cannot be made")
    elif c.op == "name_taken":
        raise VlanError(f"a {a['kind']} named {dev} already exists in {ns}; it is not a VLAN "
                        "subinterface Stratus may replace")
    elif c.op == "unmapped":
        LOG.warning("physical network %s has no interface on this host ([linux_bridge] "
                    "physical_interface_mappings): VLAN network bridge %s stays local",
                    a["physical_network"], dev)
    else:
        raise ValueError(f"unknown VLAN change {c.op}")


def sync(ns: str, state: dict, mappings: dict[str, str] | list[str] | None) -> list[Change]:
    """Converge the VLAN subinterfaces of ``ns`` to ``state`` (after its
    bridges exist); returns the changes applied, none when all is right.
    ``mappings``: physnet -> interface, or the option's raw entries.  Tries
    every change, then raises the first failure."""
    if isinstance(mappings, list):
        mappings = parse_mappings(mappings)
    wanted, unmapped = desired(state, mappings or {})
    changes = plan(wanted, observe(ns), unmapped)
    return apply_all(ns, changes, apply, "VLAN")
