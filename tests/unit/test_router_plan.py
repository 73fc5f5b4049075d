"""The router planner (stratus/dataplane/router_plan.py) as a pure function:
from nothing it builds everything in order; from the state it produced it
plans nothing; each kind of drift is repaired by exactly the action it
needs; removals touch only this host's routers and Stratus-named links."""
from __future__ import annotations

import copy

import pytest

from stratus.dataplane import router_plan as rp

HOST = "shost-h1"


def router(rid="r1aaaaaaaa", fips=(), routes=(), snat=True, gateway=True, admin=True):
    r = {"id": rid, "admin_state_up": admin, "routes": [dict(d) for d in routes],
         "interfaces": [{"port_id": "pi-" + rid, "mac_address": "fa:16:3e:00:00:01",
                         "network_id": "net-priv", "mtu": 1450, "bridge": "brqnet-priv",
                         "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.1",
                                        "cidr": "10.0.0.0/24", "prefixlen": 24,
                                        "gateway_ip": "10.0.0.1"}]}],
         "gateway": None, "floating_ips": [
             {"id": f"f{i}", "floating_ip_address": a, "fixed_ip_address": b}
             for i, (a, b) in enumerate(fips)]}
    if gateway:
        r["gateway"] = {"port_id": "pg-" + rid, "mac_address": "fa:16:3e:00:00:02",
                        "network_id": "net-pub", "mtu": 1500, "bridge": "brqnet-pub",
                        "gateway_ip": "172.24.4.1", "enable_snat": snat,
                        "fixed_ips": [{"subnet_id": "s2", "ip_address": "172.24.4.10",
                                       "cidr": "172.24.4.0/24", "prefixlen": 24,
                                       "gateway_ip": "172.24.4.1"}]}
    return r


def converged(routers, external=True) -> rp.Observed:
    """What the kernel holds after applying a plan for ``routers``."""
    obs = rp.Observed(namespaces=frozenset(rp.namespace(r["id"]) for r in routers),
                      recorded=frozenset(r["id"] for r in routers))
    for r in routers:
        links = rp.links_of(r)
        spec = rp.nat_of(r)
        obs.routers[r["id"]] = rp.RouterObserved(
            links={lk.name: {"mac": lk.mac, "mtu": lk.mtu, "up": True} for lk in links},
            addrs={lk.name: set(lk.addrs) for lk in links}, routes=rp.routes_of(r),
            forwarding=True, nat=(spec.comment, spec.rules))
        for lk in links:
            obs.host_links[lk.peer] = {"master": lk.bridge, "up": True, "mtu": lk.mtu}
    ext = rp.external_links(routers) if external else []
    if ext:
        obs.external = rp.RouterObserved(
            links={lk.name: {"mac": None, "mtu": lk.mtu, "up": True} for lk in ext},
            addrs={lk.name: set(lk.addrs) for lk in ext})
        for lk in ext:
            obs.host_links[lk.peer] = {"master": lk.bridge, "up": True, "mtu": lk.mtu}
    return obs


def ops(actions):
    return [(a.op, a.target) for a in actions]


def test_from_nothing_builds_everything_in_order():
    r = router(fips=[("172.24.4.20", "10.0.0.5")],
               routes=[{"destination": "192.0.2.0/24", "nexthop": "10.0.0.9"}])
    acts = rp.plan([r], rp.Observed(), host_ns=HOST)
    got = [a.op for a in acts]
    assert got[:2] == ["ensure_namespace", "set_forwarding"]
    assert got.count("add_veth") == 3          # qr-, qg-, and the external world's ex-
    assert got.index("replace_route") > max(i for i, o in enumerate(got) if o == "add_addr"
                                             and acts[i].args["ns"] == "qrouter-r1aaaaaa")
    assert ("replace_route", "0.0.0.0/0") in ops(acts)
    assert ("replace_route", "192.0.2.0/24") in ops(acts)
    qg = [a for a in acts if a.op == "add_addr" and a.target.startswith("qg-")]
    assert sorted(a.args["addr"] for a in qg) == ["172.24.4.10/24", "172.24.4.20/32"]
    ext = [a for a in acts if a.args.get("ns") == "sext-h1" and a.op == "add_addr"]
    assert [a.args["addr"] for a in ext] == ["172.24.4.1/24"]
    assert "ensure_external" in got and got.index("ensure_external") > got.index("load_nat")


@pytest.mark.parametrize("r", [
    router(), router(gateway=False), router(snat=False),
    router(fips=[("172.24.4.20", "10.0.0.5"), ("172.24.4.21", "10.0.0.6")]),
    router(routes=[{"destination": "192.0.2.0/24", "nexthop": "10.0.0.9"}]),
])
def test_converged_state_plans_nothing(r):
    assert rp.plan([r], converged([r]), host_ns=HOST) == []


def test_no_external_world_when_disabled():
    r = router()
    acts = rp.plan([r], converged([r], external=False), host_ns=HOST, external=False)
    assert acts == []
    obs = converged([r])
    assert ops(rp.plan([r], obs, host_ns=HOST, external=False)) == [
        ("del_host_link", "sx-net-pub"), ("remove_external", "sext-h1")]


def test_each_drift_gets_exactly_its_fix():
    r = router(fips=[("172.24.4.20", "10.0.0.5")])
    qr, qg = "qr-pi-r1aaaaaa", "qg-pg-r1aaaaaa"
    cases = []
    o = converged([r]); o.routers[r["id"]].forwarding = False
    cases.append((o, [("set_forwarding", "qrouter-r1aaaaaa")]))
    o = converged([r]); o.routers[r["id"]].links[qr]["up"] = False
    cases.append((o, [("set_link", qr)]))
    o = converged([r]); o.routers[r["id"]].links[qr]["mac"] = "fa:16:3e:ff:ff:ff"
    cases.append((o, [("set_link", qr)]))
    o = converged([r]); o.host_links["rq-pi-r1aaaaaa"]["master"] = None
    cases.append((o, [("attach", "rq-pi-r1aaaaaa")]))
    o = converged([r]); o.routers[r["id"]].addrs[qg].discard("172.24.4.20/32")
    cases.append((o, [("add_addr", qg)]))
    o = converged([r]); o.routers[r["id"]].addrs[qg].add("172.24.4.99/32")
    cases.append((o, [("del_addr", qg)]))
    o = converged([r]); o.routers[r["id"]].routes = frozenset({("0.0.0.0/0", "172.24.4.1"),
                                                                ("198.51.100.0/24", "10.0.0.7")})
    cases.append((o, [("del_route", "198.51.100.0/24")]))
    o = converged([r]); o.routers[r["id"]].nat = None
    cases.append((o, [("load_nat", "qrouter-r1aaaaaa")]))
    o = converged([r]); o.routers[r["id"]].nat = (rp.nat_of(r).comment, 0)   # rules flushed
    cases.append((o, [("load_nat", "qrouter-r1aaaaaa")]))
    o = converged([r]); del o.routers[r["id"]].links[qr]
    cases.append((o, [("add_veth", qr), ("set_link", qr), ("attach", "rq-pi-r1aaaaaa"),
                      ("add_addr", qr)]))
    o = converged([r]); o.routers[r["id"]].links["qr-stale000000"] = {"up": True}
    cases.append((o, [("del_link", "qr-stale000000")]))
    o = converged([r]); o.host_links["rq-stale000000"] = {"master": "brqx", "up": True}
    o.host_links["tapnotmine000"] = {"master": "brqx", "up": True}
    cases.append((o, [("del_host_link", "rq-stale000000")]))
    for observed, want in cases:
        assert ops(rp.plan([r], observed, host_ns=HOST)) == want


def test_veth_with_one_end_missing_is_recreated_whole():
    r = router()
    o = converged([r])
    del o.host_links["rq-pi-r1aaaaaa"]
    [add] = [a for a in rp.plan([r], o, host_ns=HOST) if a.op == "add_veth"]
    assert add.args["stale_inside"] is True and add.args["stale_peer"] is False


def test_floating_ip_change_reloads_nat_and_moves_addresses():
    before = router(fips=[("172.24.4.20", "10.0.0.5")])
    after = router(fips=[("172.24.4.21", "10.0.0.5")])
    assert ops(rp.plan([after], converged([before]), host_ns=HOST)) == [
        ("del_addr", "qg-pg-r1aaaaaa"), ("add_addr", "qg-pg-r1aaaaaa"),
        ("load_nat", "qrouter-r1aaaaaa")]


def test_snat_toggle_reloads_nat_only():
    assert ops(rp.plan([router(snat=False)], converged([router()]), host_ns=HOST)) == [
        ("load_nat", "qrouter-r1aaaaaa")]


def test_removals_only_of_recorded_routers():
    mine, theirs = router("mine00000000"), router("theirs000000")
    obs = converged([mine])
    obs.namespaces |= {rp.namespace(theirs["id"])}   # another host's router, same kernel
    acts = rp.plan([], obs, host_ns=HOST)
    assert ("remove_router", "mine00000000") in ops(acts)
    assert all("theirs" not in a.target for a in acts)
    assert ("remove_external", "sext-h1") in ops(acts)


def test_admin_down_router_is_removed():
    r = router()
    assert ("remove_router", r["id"]) in ops(rp.plan([{**r, "admin_state_up": False}],
                                                     converged([r]), host_ns=HOST))


def test_existing_namespace_not_recorded_is_adopted():
    r = router()
    obs = converged([r])
    obs.recorded = frozenset()
    assert ops(rp.plan([r], obs, host_ns=HOST)) == [("record", r["id"])]


def test_two_routers_share_one_external_link():
    a, b = router("aaaaaaaa1111"), router("bbbbbbbb2222")
    b = copy.deepcopy(b)
    b["gateway"]["fixed_ips"][0]["ip_address"] = "172.24.4.11"
    links = rp.external_links([a, b])
    assert [(lk.name, sorted(lk.addrs)) for lk in links] == [("ex-net-pub", ["172.24.4.1/24"])]
    assert rp.plan([a, b], converged([a, b]), host_ns=HOST) == []


def test_routes_normalized():
    r = router(routes=[{"destination": "192.0.2.7/32", "nexthop": "10.0.0.9"}])
    assert rp.routes_of(r) == {("192.0.2.7/32", "10.0.0.9"), ("0.0.0.0/0", "172.24.4.1")}
    assert rp.routes_of(router(gateway=False)) == frozenset()
