"""Routers on a host as a pure function: the desired routers (the
``routers`` key of ``host_network_state``) and what the kernel holds →
the ordered list of actions that makes them equal.  Nothing already right is
touched, so a second plan after applying the first is empty.

Per router: a namespace ``qrouter-<id[:8]>``; per interface a veth pair
``qr-<port[:11]>`` (in the namespace, the port's MAC and addresses) /
``rq-<port[:11]>`` (on the network's bridge in the host namespace); the
gateway likewise as ``qg-`` / ``rg-`` with the floating IPs as /32s;
IPv4 forwarding on; the default route via the external subnet's gateway plus
the static routes (``proto static``); the NAT table (stratus/dataplane/nat.py).

The external world of an all-in-one cloud: a namespace ``sext-<host>`` with a
veth ``ex-<net[:11]>`` holding each used external subnet's gateway IP, its
peer ``sx-<net[:11]>`` on the external network's bridge.

Removals only touch what carries these prefixes and, for namespaces, routers
this host recorded (several hosts may share one kernel in the lab)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from stratus.dataplane import nat

NS_PREFIX = "qrouter-"
QR, QG, RQ, RG, SX, EX = "qr-", "qg-", "rq-", "rg-", "sx-", "ex-"
HOST_PREFIXES = (RQ, RG, SX)


def namespace(router_id: str, prefix: str = NS_PREFIX) -> str:
    return prefix + router_id[:8]


def external_namespace(host_ns: str) -> str:
    return f"sext-{host_ns.removeprefix('shost-')}"


@dataclass(frozen=True)
class Link:
    """A veth pair wanted: ``name`` in a namespace, ``peer`` on ``bridge``."""
    name: str
    peer: str
    bridge: str
    mac: str | None
    mtu: int | None
    addrs: frozenset


@dataclass
class RouterObserved:
    links: dict = field(default_factory=dict)     # name -> {"mac","mtu","up"} (qr-/qg-)
    addrs: dict = field(default_factory=dict)     # name -> set of "a.b.c.d/len"
    routes: frozenset = frozenset()               # {(destination, nexthop)} proto static
    forwarding: bool = False
    nat: tuple | None = None                      # (comment, rule count) or None


@dataclass
class Observed:
    namespaces: frozenset = frozenset()           # router namespaces that exist
    recorded: frozenset = frozenset()             # router ids this host recorded
    routers: dict = field(default_factory=dict)   # router id -> RouterObserved
    host_links: dict = field(default_factory=dict)  # rq-/rg-/sx- -> {"master","up","mtu"}
    external: RouterObserved | None = None        # the sext- namespace (None: absent)


@dataclass
class Action:
    op: str
    target: str
    args: dict = field(default_factory=dict)

    def __repr__(self):
        return f"{self.op}({self.target})"


# -- desired --------------------------------------------------------------------------
def _addr(ip: str, prefixlen: int) -> str:
    return f"{ip}/{prefixlen}"


def links_of(router: dict) -> list[Link]:
    out = []
    for i in router.get("interfaces") or []:
        out.append(Link(QR + i["port_id"][:11], RQ + i["port_id"][:11], i["bridge"],
                        i["mac_address"], i.get("mtu"),
                        frozenset(_addr(f["ip_address"], f["prefixlen"])
                                  for f in i["fixed_ips"])))
    gw = router.get("gateway")
    if gw is not None:
        addrs = {_addr(f["ip_address"], f["prefixlen"]) for f in gw["fixed_ips"]}
        addrs |= {_addr(f["floating_ip_address"], 32) for f in router.get("floating_ips") or []}
        out.append(Link(QG + gw["port_id"][:11], RG + gw["port_id"][:11], gw["bridge"],
                        gw["mac_address"], gw.get("mtu"), frozenset(addrs)))
    return out


def routes_of(router: dict) -> frozenset:
    gw = router.get("gateway")
    out = {(str(ipaddress.ip_network(r["destination"])), r["nexthop"])
           for r in router.get("routes") or []}
    if gw is not None and gw.get("gateway_ip"):
        out.add(("0.0.0.0/0", gw["gateway_ip"]))
    return frozenset(out)


def nat_of(router: dict) -> nat.NatSpec:
    gw = router.get("gateway")
    return nat.render(router, QG + gw["port_id"][:11] if gw else None, QR)


def external_links(routers: list[dict]) -> list[Link]:
    """One veth per external network the routers' gateways are on, holding
    the gateway IPs of its subnets."""
    addrs: dict[str, set] = {}
    gws: dict[str, dict] = {}
    for r in routers:
        gw = r.get("gateway")
        if gw is None:
            continue
        gws[gw["network_id"]] = gw
        addrs.setdefault(gw["network_id"], set()).update(
            _addr(f["gateway_ip"], f["prefixlen"]) for f in gw["fixed_ips"] if f.get("gateway_ip"))
    return [Link(EX + n[:11], SX + n[:11], gws[n]["bridge"], None, gws[n].get("mtu"),
                 frozenset(addrs[n])) for n in sorted(addrs) if addrs[n]]


# -- the diff --------------------------------------------------------------------------
def _link_actions(ns: str, want: list[Link], seen: RouterObserved, host_links: dict,
                  prefixes: tuple) -> list[Action]:
    acts: list[Action] = []
    names = {lk.name for lk in want}
    for name in sorted(seen.links):
        if name.startswith(prefixes) and name not in names:
            acts.append(Action("del_link", name, {"ns": ns}))
    for lk in want:
        have = seen.links.get(lk.name)
        peer = host_links.get(lk.peer)
        if have is None or peer is None:
            acts.append(Action("add_veth", lk.name, {"ns": ns, "link": lk,
                                                     "stale_inside": have is not None,
                                                     "stale_peer": peer is not None}))
            have, peer = {}, {}
        fix = {}
        if lk.mac and have.get("mac") != lk.mac:
            fix["mac"] = lk.mac
        if lk.mtu and have.get("mtu") != lk.mtu:
            fix["mtu"] = lk.mtu
        if not have.get("up"):
            fix["up"] = True
        if fix:
            acts.append(Action("set_link", lk.name, {"ns": ns, **fix}))
        if peer.get("master") != lk.bridge or not peer.get("up") or \
                (lk.mtu and peer.get("mtu") != lk.mtu):
            acts.append(Action("attach", lk.peer, {"bridge": lk.bridge, "mtu": lk.mtu}))
        got = set(seen.addrs.get(lk.name, ())) if lk.name in seen.links else set()
        for a in sorted(got - lk.addrs):
            acts.append(Action("del_addr", lk.name, {"ns": ns, "addr": a}))
        for a in sorted(lk.addrs - got):
            acts.append(Action("add_addr", lk.name, {"ns": ns, "addr": a}))
    return acts


def plan_router(router: dict, seen: RouterObserved | None, host_links: dict,
                ns_prefix: str = NS_PREFIX) -> list[Action]:
    ns = namespace(router["id"], ns_prefix)
    acts: list[Action] = []
    if seen is None:
        acts.append(Action("ensure_namespace", ns, {"router_id": router["id"]}))
        seen = RouterObserved()
    if not seen.forwarding:
        acts.append(Action("set_forwarding", ns))
    acts += _link_actions(ns, links_of(router), seen, host_links, (QR, QG))
    want = routes_of(router)
    for dest, hop in sorted(seen.routes - want):
        acts.append(Action("del_route", dest, {"ns": ns, "via": hop}))
    for dest, hop in sorted(want - seen.routes):
        acts.append(Action("replace_route", dest, {"ns": ns, "via": hop}))
    spec = nat_of(router)
    if seen.nat != (spec.comment, spec.rules):
        acts.append(Action("load_nat", ns, {"spec": spec}))
    return acts


def plan(routers: list[dict], observed: Observed, *, host_ns: str, ns_prefix: str = NS_PREFIX,
         external: bool = True) -> list[Action]:
    """Actions, in order: removals (routers, stray host-side ends), then each
    router, then the external namespace."""
    want = {r["id"]: r for r in routers if r.get("admin_state_up", True)}
    acts: list[Action] = []
    for rid in sorted(observed.recorded - set(want)):
        acts.append(Action("remove_router", rid, {"ns": namespace(rid, ns_prefix)}))
    peers = {lk.peer for r in want.values() for lk in links_of(r)}
    ext_links = external_links(list(want.values())) if external else []
    peers |= {lk.peer for lk in ext_links}
    for name in sorted(observed.host_links):
        if name.startswith(HOST_PREFIXES) and name not in peers:
            acts.append(Action("del_host_link", name))
    for rid in sorted(want):
        ns = namespace(rid, ns_prefix)
        seen = observed.routers.get(rid) if ns in observed.namespaces else None
        if rid not in observed.recorded and seen is not None:
            acts.append(Action("record", rid))
        acts += plan_router(want[rid], seen, observed.host_links, ns_prefix)
    ext_ns = external_namespace(host_ns)
    if ext_links:
        seen = observed.external
        if seen is None:
            acts.append(Action("ensure_external", ext_ns))
            seen = RouterObserved()
        acts += _link_actions(ext_ns, ext_links, seen, observed.host_links, (EX,))
    elif observed.external is not None:
        acts.append(Action("remove_external", ext_ns))
    return acts
