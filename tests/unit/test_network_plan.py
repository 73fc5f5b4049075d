"""The host data plane's plan (pure): desired host state vs observed kernel
state → actions, with removals only of Stratus-named strays, in a safe order."""
from __future__ import annotations

from stratus.dataplane.plan import Observed, plan

NET = "11111111-aaaa-4bbb-8ccc-000000000001"
NET2 = "22222222-aaaa-4bbb-8ccc-000000000002"


def ns_of(network_id):
    return f"qdhcp-{network_id[:8]}-h1"


def port(pid, net=NET, owner="compute:nova", ip="10.0.0.5", subnet="s1"):
    return {"id": pid, "network_id": net, "mac_address": "fa:16:3e:00:00:01",
            "device_owner": owner, "fixed_ips": [{"subnet_id": subnet, "ip_address": ip}]}


def network(nid=NET, dhcp=True, subnet="s1"):
    return {"id": nid, "mtu": 1450, "subnets": [
        {"id": subnet, "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1", "enable_dhcp": dhcp,
         "dns_nameservers": [], "host_routes": []}]}


def ops(actions):
    return [(a.op, a.target) for a in actions]


STATE = {"networks": [network()],
         "ports": [port("vm-port-000001"), port("dhcp-port-00001", owner="network:dhcp",
                                                 ip="10.0.0.2")]}


def test_empty_everything_is_a_noop():
    assert plan({"networks": [], "ports": []}, Observed(), ns_of) == []


def test_fresh_host_builds_bridge_then_dhcp_then_taps():
    assert ops(plan(STATE, Observed(), ns_of)) == [
        ("ensure_network", NET), ("ensure_dhcp", NET), ("plug_tap", "vm-port-000001")]


def test_dhcp_action_carries_subnet_port_and_served_ports():
    dhcp = [a for a in plan(STATE, Observed(), ns_of) if a.op == "ensure_dhcp"][0]
    assert dhcp.args["subnet"]["id"] == "s1"
    assert dhcp.args["dhcp_port"]["id"] == "dhcp-port-00001"
    assert {p["id"] for p in dhcp.args["ports"]} == {"vm-port-000001", "dhcp-port-00001"}


def test_converged_host_only_reasserts_nothing_is_removed():
    seen = Observed(bridges=frozenset({"brq" + NET[:11]}),
                    taps=frozenset({"tapvm-port-000", "tapdhcp-port-0"}),
                    dhcp_networks=frozenset({NET}), dhcp_namespaces=frozenset({ns_of(NET)}))
    assert not [a for a in plan(STATE, seen, ns_of) if a.op.startswith("remove")]


def test_strays_removed_ports_before_dhcp_before_bridges():
    seen = Observed(bridges=frozenset({"brq" + NET[:11], "brq" + NET2[:11], "docker0"}),
                    taps=frozenset({"tapvm-port-000", "tapold-port-00", "vethXYZ"}),
                    dhcp_networks=frozenset({NET, NET2}),
                    dhcp_namespaces=frozenset({ns_of(NET), ns_of(NET2), "qdhcp-deadbeef-h1"}))
    removals = [x for x in ops(plan(STATE, seen, ns_of)) if x[0].startswith("remove")]
    assert removals == [("remove_tap", "tapold-port-00"), ("remove_dhcp", NET2),
                        ("remove_namespace", "qdhcp-deadbeef-h1"),
                        ("remove_bridge", "brq" + NET2[:11])]


def test_network_without_dhcp_gets_no_dnsmasq_and_old_one_goes():
    state = {"networks": [network(dhcp=False)], "ports": [port("vm-port-000001")]}
    seen = Observed(dhcp_networks=frozenset({NET}), dhcp_namespaces=frozenset({ns_of(NET)}))
    assert ops(plan(state, seen, ns_of)) == [("remove_dhcp", NET), ("ensure_network", NET),
                                             ("plug_tap", "vm-port-000001")]


def test_dhcp_port_without_address_on_a_dhcp_subnet_is_not_served():
    state = {"networks": [network()],
             "ports": [port("dhcp-port-00001", owner="network:dhcp", subnet="other")]}
    assert ops(plan(state, Observed(), ns_of)) == [("ensure_network", NET)]


def test_ports_of_unknown_networks_are_ignored():
    state = {"networks": [], "ports": [port("vm-port-000001")]}
    seen = Observed(taps=frozenset({"tapvm-port-000"}))
    assert ops(plan(state, seen, ns_of)) == [("remove_tap", "tapvm-port-000")]


def test_two_networks_sorted_and_independent():
    state = {"networks": [network(NET2, subnet="s2"), network()],
             "ports": [port("b-port", NET2, subnet="s2"), port("a-port")]}
    assert ops(plan(state, Observed(), ns_of)) == [
        ("ensure_network", NET), ("ensure_network", NET2),
        ("plug_tap", "a-port"), ("plug_tap", "b-port")]
