"""VXLAN devices, forwarding and neighbour entries in a host namespace: read
the kernel (``observe``), apply one planned change (``apply``), or both
(``sync``).  The planning is pure (vxlan_plan.py)."""
from __future__ import annotations

import json
import logging

from stratus.dataplane.converge import apply_all
from stratus.dataplane.ip import ip, ip_json, run
from stratus.dataplane.vxlan_plan import FLOOD_MAC, PREFIX, Change, Device, desired, plan

LOG = logging.getLogger(__name__)


def _bridge_json(ns: str, *args: str) -> list[dict]:
    out = run(["ip", "netns", "exec", ns, "bridge", "-j", *args])
    return json.loads(out) if out.strip() else []


def observe(ns: str) -> dict[str, Device]:
    found: dict[str, Device] = {}
    for link in ip_json(ns, "-d", "link", "show", "type", "vxlan"):
        name = link.get("ifname")   # `ip` prints [{}] before the vxlan module is loaded
        if not name or not name.startswith(PREFIX):
            continue
        data = (link.get("linkinfo") or {}).get("info_data") or {}
        fdb = frozenset((e["mac"].lower(), e["dst"]) for e in _bridge_json(ns, "fdb", "show",
                                                                           "dev", name)
                        if e.get("dst"))
        neigh = frozenset((e["dst"], e["lladdr"].lower()) for e in ip_json(ns, "neigh", "show",
                                                                           "dev", name)
                          if e.get("lladdr") and "PERMANENT" in (e.get("state") or []))
        found[name] = Device(vni=int(data.get("id", -1)), local=data.get("local"),
                             port=int(data.get("port", 0)), learning=bool(data.get("learning")),
                             proxy=bool(data.get("proxy")), master=link.get("master"),
                             mtu=link.get("mtu"), up="UP" in link.get("flags", []),
                             fdb=fdb, neigh=neigh)
    return found


def apply(ns: str, c: Change) -> None:
    a, dev = c.args, c.device
    if c.op == "delete_device":
        ip(ns, "link", "del", dev, check=False)
    elif c.op == "create_device":
        ip(ns, "link", "add", dev, "type", "vxlan", "id", str(a["vni"]), "local", a["local"],
           "dstport", str(a["port"]), "nolearning", *(["proxy"] if a["proxy"] else []))
    elif c.op == "set_link":
        if "master" in a:
            ip(ns, "link", "set", dev, "master", a["master"])
        if "mtu" in a:
            ip(ns, "link", "set", dev, "mtu", str(a["mtu"]))
        if a.get("up"):
            ip(ns, "link", "set", dev, "up")
    elif c.op == "fdb_add":
        verb = "append" if a["mac"] == FLOOD_MAC else "replace"
        run(["ip", "netns", "exec", ns, "bridge", "fdb", verb, a["mac"], "dev", dev,
             "dst", a["dst"], "self", "permanent"])
    elif c.op == "fdb_del":
        run(["ip", "netns", "exec", ns, "bridge", "fdb", "del", a["mac"], "dev", dev,
             "dst", a["dst"], "self"], check=False)
    elif c.op == "neigh_add":
        ip(ns, "neigh", "replace", a["ip"], "lladdr", a["mac"], "dev", dev, "nud", "permanent")
    elif c.op == "neigh_del":
        ip(ns, "neigh", "del", a["ip"], "dev", dev, check=False)
    else:
        raise ValueError(f"unknown VXLAN change {c.op}")


def sync(ns: str, state: dict, udp_port: int = 4789, arp_responder: bool = True) -> list[Change]:
    """Converge the host namespace's VXLAN devices to ``state``; returns the
    changes applied (none when everything is already right).  Raises the
    first failure after trying every change."""
    changes = plan(desired(state, udp_port, arp_responder), observe(ns))
    return apply_all(ns, changes, apply, "VXLAN")
