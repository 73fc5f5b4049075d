"""Routers on a host for real: observe the kernel, plan
(stratus/dataplane/router_plan.py, pure), apply the actions.

Level-triggered and safe to call any number of times: a restart re-reads the
namespaces, links, addresses, routes and the NAT table's digest and changes
only what differs; the NAT table is replaced (one ``nft -f`` transaction)
only when its content differs, never flushed.  Routers this host set up are
recorded in ``<state_dir>/routers/<id>`` so it removes only its own."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile

from stratus.dataplane import netns
from stratus.dataplane import router_plan as rp
from stratus.dataplane.ip import CommandError, addresses, ip, ip_json, links, run
from stratus.dataplane.nat import FAMILY, TABLE

LOG = logging.getLogger(__name__)
RULE_LINE = re.compile(r"# handle \d+$")


def _record_dir(state_dir: str) -> str:
    return os.path.join(state_dir, "routers")


def recorded(state_dir: str) -> set[str]:
    d = _record_dir(state_dir)
    return set(os.listdir(d)) if os.path.isdir(d) else set()


def record(state_dir: str, router_id: str) -> None:
    os.makedirs(_record_dir(state_dir), exist_ok=True)
    open(os.path.join(_record_dir(state_dir), router_id), "a").close()


def forget(state_dir: str, router_id: str) -> None:
    try:
        os.unlink(os.path.join(_record_dir(state_dir), router_id))
    except FileNotFoundError:
        pass


def nft_table(ns: str) -> dict | None:
    """{"handle", "comment", "rules"} of ``ip stratus-nat`` in ``ns``, None if absent."""
    cp = subprocess.run(netns.exec_argv(ns, ["nft", "-a", "list", "table", FAMILY, TABLE]),
                        capture_output=True, text=True, timeout=30)
    if cp.returncode != 0:
        return None
    lines = [ln.strip() for ln in cp.stdout.splitlines()]
    head = re.search(r"# handle (\d+)", lines[0]) if lines else None
    comment = next((m.group(1) for ln in lines
                    if (m := re.match(r'comment "(.*)"', ln))), None)
    rules = sum(1 for ln in lines if RULE_LINE.search(ln)
                and not ln.startswith(("chain ", "table ")))
    return {"handle": int(head.group(1)) if head else None, "comment": comment,
            "rules": rules}


def _forwarding(ns: str) -> bool:
    cp = subprocess.run(netns.exec_argv(ns, ["cat", "/proc/sys/net/ipv4/ip_forward"]),
                        capture_output=True, text=True, timeout=30)
    return cp.stdout.strip() == "1"


def _routes(ns: str) -> frozenset:
    out = set()
    for r in ip_json(ns, "route", "show", "proto", "static"):
        dst = r.get("dst", "")
        dst = "0.0.0.0/0" if dst == "default" else (dst if "/" in dst else dst + "/32")
        if r.get("gateway"):
            out.add((dst, r["gateway"]))
    return frozenset(out)


def observe_ns(ns: str, prefixes: tuple, full: bool = True) -> rp.RouterObserved:
    found = {n: {"mac": i["address"], "mtu": i["mtu"], "up": i["up"]}
             for n, i in links(ns).items() if n.startswith(prefixes)}
    seen = rp.RouterObserved(links=found, addrs={n: addresses(ns, n) for n in found})
    if full:
        seen.routes, seen.forwarding = _routes(ns), _forwarding(ns)
        table = nft_table(ns)
        seen.nat = (table["comment"], table["rules"]) if table else None
    return seen


def observe(host_ns: str, routers: list[dict], state_dir: str, ns_prefix: str) -> rp.Observed:
    spaces = frozenset(n for n in netns.list_all() if n.startswith(ns_prefix))
    mine = recorded(state_dir)
    seen = {}
    for rid in sorted(mine | {r["id"] for r in routers}):
        ns = rp.namespace(rid, ns_prefix)
        if ns in spaces:
            seen[rid] = observe_ns(ns, (rp.QR, rp.QG))
    host = {n: {"master": i["master"], "up": i["up"], "mtu": i["mtu"]}
            for n, i in links(host_ns).items() if n.startswith(rp.HOST_PREFIXES)}
    ext_ns = rp.external_namespace(host_ns)
    ext = observe_ns(ext_ns, (rp.EX,), full=False) if netns.exists(ext_ns) else None
    return rp.Observed(namespaces=spaces, recorded=frozenset(mine), routers=seen,
                       host_links=host, external=ext)


def _load_nat(ns: str, script: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
        f.write(script)
    try:
        run(netns.exec_argv(ns, ["nft", "-f", f.name]))
    finally:
        os.unlink(f.name)


def apply(host_ns: str, action: rp.Action, state_dir: str) -> None:
    a, t = action.args, action.target
    if action.op == "remove_router":
        netns.delete(a["ns"])
        forget(state_dir, t)
    elif action.op == "del_host_link":
        ip(host_ns, "link", "del", t, check=False)
    elif action.op == "ensure_namespace":
        netns.ensure(t)
        record(state_dir, a["router_id"])
    elif action.op == "record":
        record(state_dir, t)
    elif action.op in ("ensure_external",):
        netns.ensure(t)
    elif action.op == "remove_external":
        netns.delete(t)
    elif action.op == "set_forwarding":
        run(netns.exec_argv(t, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]))
    elif action.op == "del_link":
        ip(a["ns"], "link", "del", t, check=False)
    elif action.op == "add_veth":
        lk = a["link"]
        if a["stale_inside"]:
            ip(a["ns"], "link", "del", lk.name, check=False)
        if a["stale_peer"]:
            ip(host_ns, "link", "del", lk.peer, check=False)
        ip(host_ns, "link", "add", lk.peer, "type", "veth", "peer", "name", lk.name,
           "netns", a["ns"])
    elif action.op == "set_link":
        if "mac" in a:
            ip(a["ns"], "link", "set", t, "address", a["mac"])
        if "mtu" in a:
            ip(a["ns"], "link", "set", t, "mtu", str(a["mtu"]))
        ip(a["ns"], "link", "set", t, "up")
    elif action.op == "attach":
        ip(host_ns, "link", "set", t, "master", a["bridge"])
        if a.get("mtu"):
            ip(host_ns, "link", "set", t, "mtu", str(a["mtu"]))
        ip(host_ns, "link", "set", t, "up")
    elif action.op == "add_addr":
        ip(a["ns"], "addr", "add", a["addr"], "dev", t)
    elif action.op == "del_addr":
        ip(a["ns"], "addr", "del", a["addr"], "dev", t)
    elif action.op == "replace_route":
        ip(a["ns"], "route", "replace", t, "via", a["via"], "proto", "static")
    elif action.op == "del_route":
        ip(a["ns"], "route", "del", t, "via", a["via"], "proto", "static", check=False)
    elif action.op == "load_nat":
        _load_nat(t, a["spec"].script())
    else:
        raise ValueError(f"unknown router action {action.op}")


def sync_routers(host_ns: str, routers: list[dict], state_dir: str, *,
                 ns_prefix: str = rp.NS_PREFIX, external: bool = True
                 ) -> tuple[list[rp.Action], list[tuple[rp.Action, Exception]]]:
    """Converge the routers of this host; returns (plan, failures).  A failed
    action does not stop the others; the next sync retries what is still off."""
    actions = rp.plan(routers, observe(host_ns, routers, state_dir, ns_prefix),
                      host_ns=host_ns, ns_prefix=ns_prefix, external=external)
    failures = []
    for action in actions:
        try:
            apply(host_ns, action, state_dir)
        except (CommandError, OSError, subprocess.SubprocessError, ValueError) as exc:
            LOG.warning("router action %r failed: %s", action, exc)
            failures.append((action, exc))
    return actions, failures
