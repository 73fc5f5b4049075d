"""The VXLAN/l2population planner (pure): desired devices from a host state,
and the minimal changes against what the kernel holds."""
from __future__ import annotations

from stratus.dataplane.bridge import bridge_name
from stratus.dataplane.vxlan_plan import FLOOD_MAC, Device, desired, device_name, plan

NET = "11111111-2222-3333-4444-555555555555"


def state(remote=(), local_ip="10.0.0.1", vni=100, mtu=1450):
    return {"networks": [{"id": NET, "mtu": mtu}], "ports": [],
            "tunnels": {"local_ip": local_ip, "networks": {NET: {
                "vni": vni, "peers": sorted({r["vtep"] for r in remote}),
                "remote_ports": list(remote)}}}}


R1 = {"mac": "FA:16:3E:00:00:01", "ips": ["10.1.0.5"], "vtep": "10.0.0.2"}
R2 = {"mac": "fa:16:3e:00:00:02", "ips": ["10.1.0.6", "10.1.0.7"], "vtep": "10.0.0.3"}


def device_for(w: dict, **kw) -> Device:
    base = dict(vni=w["vni"], local=w["local"], port=w["port"], proxy=w["proxy"],
                master=w["master"], mtu=w["mtu"], up=True, fdb=w["fdb"], neigh=w["neigh"])
    base.update(kw)
    return Device(**base)


def test_desired_lists_flood_unicast_and_neighbour_entries():
    w = desired(state([R1, R2]))[device_name(100)]
    assert w["master"] == bridge_name(NET) and w["local"] == "10.0.0.1" and w["port"] == 4789
    assert w["fdb"] == {(FLOOD_MAC, "10.0.0.2"), (FLOOD_MAC, "10.0.0.3"),
                        ("fa:16:3e:00:00:01", "10.0.0.2"), ("fa:16:3e:00:00:02", "10.0.0.3")}
    assert w["neigh"] == {("10.1.0.5", "fa:16:3e:00:00:01"), ("10.1.0.6", "fa:16:3e:00:00:02"),
                          ("10.1.0.7", "fa:16:3e:00:00:02")}


def test_no_local_ip_or_no_network_means_no_tunnels():
    assert desired(state([R1], local_ip=None)) == {}
    s = state([R1])
    s["networks"] = []
    assert desired(s) == {}


def test_arp_responder_off_means_no_neighbour_entries():
    w = desired(state([R1]), arp_responder=False)[device_name(100)]
    assert w["neigh"] == frozenset() and not w["proxy"]


def test_fresh_host_creates_device_then_entries_in_order():
    changes = plan(desired(state([R1])), {})
    assert [c.op for c in changes] == ["create_device", "set_link", "fdb_add", "fdb_add",
                                       "neigh_add"]
    assert changes[1].args == {"master": bridge_name(NET), "mtu": 1450, "up": True}


def test_converged_host_plans_nothing():
    w = desired(state([R1, R2]))
    assert plan(w, {n: device_for(d) for n, d in w.items()}) == []


def test_only_differences_are_planned():
    w = desired(state([R1, R2]))
    name = device_name(100)
    stale = ("fa:16:3e:99:99:99", "10.0.0.9")
    have = device_for(w[name], fdb=(w[name]["fdb"] - {("fa:16:3e:00:00:02", "10.0.0.3")})
                      | {stale}, neigh=w[name]["neigh"] - {("10.1.0.7", "fa:16:3e:00:00:02")})
    changes = plan(w, {name: have})
    assert [(c.op, c.args) for c in changes] == [
        ("fdb_del", {"mac": stale[0], "dst": stale[1]}),
        ("fdb_add", {"mac": "fa:16:3e:00:00:02", "dst": "10.0.0.3"}),
        ("neigh_add", {"ip": "10.1.0.7", "mac": "fa:16:3e:00:00:02"})]


def test_wrong_identity_recreates_but_wrong_link_settings_only_fix_them():
    w = desired(state([R1]))
    name = device_name(100)
    for bad in (dict(vni=101), dict(local="10.0.0.9"), dict(port=8472), dict(learning=True),
                dict(proxy=False)):
        ops = [c.op for c in plan(w, {name: device_for(w[name], **bad)})]
        assert ops[:2] == ["delete_device", "create_device"], bad
    changes = plan(w, {name: device_for(w[name], master=None, mtu=1500, up=False)})
    assert [(c.op, c.args) for c in changes] == [
        ("set_link", {"master": bridge_name(NET), "mtu": 1450, "up": True})]


def test_unwanted_vxlan_devices_go_and_foreign_ones_stay():
    w = desired(state([R1]))
    observed = {n: device_for(d) for n, d in w.items()}
    observed["vxlan-7"] = Device(vni=7, local="10.0.0.1", port=4789)
    observed["other0"] = Device(vni=8, local="10.0.0.1", port=4789)
    assert [(c.op, c.device) for c in plan(w, observed)] == [("delete_device", "vxlan-7")]


def test_vni_change_moves_to_a_new_device_name():
    w = desired(state([R1], vni=200))
    old = desired(state([R1], vni=100))
    ops = [(c.op, c.device) for c in plan(w, {n: device_for(d) for n, d in old.items()})]
    assert ops[0] == ("delete_device", "vxlan-100")
    assert ("create_device", "vxlan-200") in ops
