"""The security-group compiler (stratus/dataplane/firewall.py), pure: golden
chains for every rule kind, remote-group sets, anti-spoofing with allowed
address pairs, untouched ports, and the transaction that replaces the
tables' contents (stale chains and sets deleted, nothing of the remaining
ports lost)."""
from __future__ import annotations

import copy

import pytest

from stratus.dataplane import firewall as fw

P1 = "11111111-aaaa-4000-8000-000000000001"
P2 = "22222222-bbbb-4000-8000-000000000002"
NET = "99999999-cccc-4000-8000-000000000009"


def rule(direction="ingress", ethertype="IPv4", protocol=None, lo=None, hi=None,
         prefix=None, group=None):
    return {"id": "r", "direction": direction, "ethertype": ethertype, "protocol": protocol,
            "port_range_min": lo, "port_range_max": hi, "remote_ip_prefix": prefix,
            "remote_group_id": group}


def port(pid, mac, ip, owner="compute:nova"):
    return {"id": pid, "network_id": NET, "mac_address": mac, "device_owner": owner,
            "tap": "tap" + pid[:11], "fixed_ips": [{"subnet_id": "s", "ip_address": ip}]}


def state(rules, *, pairs=(), enabled=True, groups2=("g1",), stateful=True, members=None):
    return {
        "networks": [{"id": NET}],
        "ports": [port(P1, "fa:16:3e:00:00:01", "10.0.0.5"),
                  port(P2, "fa:16:3e:00:00:02", "10.0.0.6")],
        "firewall": {
            "ports": {P1: {"port_security_enabled": enabled, "security_groups": ["g1"],
                           "allowed_address_pairs": list(pairs)},
                      P2: {"port_security_enabled": True, "security_groups": list(groups2),
                           "allowed_address_pairs": []}},
            "groups": {"g1": {"stateful": stateful, "rules": rules}},
            "members": members or {}}}


@pytest.mark.parametrize("r, line", [
    (rule(), "meta nfproto ipv4 accept"),
    (rule(ethertype="IPv6"), "meta nfproto ipv6 accept"),
    (rule(protocol="tcp", lo=22, hi=22), "meta nfproto ipv4 meta l4proto 6 th dport 22 accept"),
    (rule(protocol="udp", lo=1000, hi=2000),
     "meta nfproto ipv4 meta l4proto 17 th dport 1000-2000 accept"),
    (rule(protocol="tcp"), "meta nfproto ipv4 meta l4proto 6 accept"),
    (rule(protocol="6", lo=80, hi=81), "meta nfproto ipv4 meta l4proto 6 th dport 80-81 accept"),
    (rule(protocol="sctp", lo=9, hi=9), "meta nfproto ipv4 meta l4proto 132 th dport 9 accept"),
    (rule(protocol="icmp"), "meta nfproto ipv4 meta l4proto icmp accept"),
    (rule(protocol="icmp", lo=8), "meta nfproto ipv4 meta l4proto icmp icmp type 8 accept"),
    (rule(protocol="icmp", lo=3, hi=4),
     "meta nfproto ipv4 meta l4proto icmp icmp type 3 icmp code 4 accept"),
    (rule(ethertype="IPv6", protocol="icmp", lo=128),
     "meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type 128 accept"),
    (rule(ethertype="IPv6", protocol="ipv6-icmp"),
     "meta nfproto ipv6 meta l4proto ipv6-icmp accept"),
    (rule(protocol="gre"), "meta nfproto ipv4 meta l4proto 47 accept"),
    (rule(protocol="112"), "meta nfproto ipv4 meta l4proto 112 accept"),
    (rule(prefix="10.9.0.0/16"), "meta nfproto ipv4 ip saddr 10.9.0.0/16 accept"),
    (rule(prefix="0.0.0.0/0", protocol="udp", lo=53, hi=53),
     "meta nfproto ipv4 meta l4proto 17 th dport 53 accept"),
    (rule(ethertype="IPv6", prefix="2001:db8::/32"),
     "meta nfproto ipv6 ip6 saddr 2001:db8::/32 accept"),
    (rule(group="g1", protocol="tcp", lo=5432, hi=5432),
     "meta nfproto ipv4 ip saddr @rg4-g1 meta l4proto 6 th dport 5432 accept"),
])
def test_ingress_rule_kinds(r, line):
    rs = fw.compile_ruleset(state([r]))
    chain = rs.chains["inet"][f"ingress-{P1}"]
    assert chain[-2:] == [line, "drop"]


def test_egress_rules_use_destination_and_return():
    rs = fw.compile_ruleset(state([rule("egress", prefix="192.0.2.0/24", protocol="tcp",
                                        lo=443, hi=443)]))
    chain = rs.chains["inet"][f"egress-{P1}"]
    assert chain[-2:] == ["meta nfproto ipv4 ip daddr 192.0.2.0/24 meta l4proto 6 "
                          "th dport 443 return", "drop"]
    assert "return" not in " ".join(rs.chains["inet"][f"ingress-{P1}"])  # ingress accepts
    assert not any(line.endswith("accept") for line in chain)   # egress never accepts


def test_golden_port_chains():
    rs = fw.compile_ruleset(state([rule(protocol="icmp")]))
    assert rs.chains["inet"][f"ingress-{P1}"] == [
        "ct state established,related accept", "ct state invalid drop",
        "udp sport 67 udp dport 68 accept", "udp sport 547 udp dport 546 accept",
        f"icmpv6 type {fw.ND_IN} accept",
        "meta nfproto ipv4 meta l4proto icmp accept", "drop"]
    assert rs.chains["inet"][f"egress-{P1}"] == [
        "udp sport 68 udp dport 67 return", "udp sport 67 udp dport 68 drop",
        "udp sport 546 udp dport 547 return", "udp sport 547 udp dport 546 drop",
        "icmpv6 type nd-router-advert drop", f"icmpv6 type {fw.ND_OUT} return",
        "ct state established,related return", "ct state invalid drop", "drop"]
    assert rs.chains["bridge"][f"from-{P1}"] == [
        "meta mark set 0x00000001", "ether saddr != { fa:16:3e:00:00:01 } drop",
        "arp saddr ip 0.0.0.0 return",
        "arp saddr ether . arp saddr ip { fa:16:3e:00:00:01 . 10.0.0.5 } return",
        "ether type arp drop",
        "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return",
        "ether saddr . ip saddr { fa:16:3e:00:00:01 . 10.0.0.5 } return", "ether type ip drop",
        f"ip6 saddr :: icmpv6 type {fw.ND_OUT} return",
        "ether saddr . ip6 saddr { fa:16:3e:00:00:01 . fe80::f816:3eff:fe00:1 } return",
        "ether type ip6 drop"]
    assert rs.chains["bridge"][f"to-{P2}"] == ["meta mark set meta mark | 0x00020000"]
    assert rs.chains["inet"]["sg-forward"][1:] == [
        f"meta mark & 0x0000ffff vmap {{ 0x00000001 : jump egress-{P1}, "
        f"0x00000002 : jump egress-{P2} }}",
        f"meta mark & 0xffff0000 vmap {{ 0x00010000 : jump ingress-{P1}, "
        f"0x00020000 : jump ingress-{P2} }}"]
    assert rs.chains["bridge"]["port-in"][1] == (
        f'iifname vmap {{ "tap{P1[:11]}" : jump from-{P1}, "tap{P2[:11]}" : jump from-{P2} }}')
    assert rs.chains["inet"]["sg-zone"][1] == (
        f'iifname "brq{NET[:11]}" ct zone set {fw.conntrack_zone(NET)}')


def test_port_without_groups_drops_everything_but_basics():
    rs = fw.compile_ruleset(state([rule()], groups2=()))
    assert rs.chains["inet"][f"ingress-{P2}"][-1] == "drop"
    assert not any("nfproto" in line for line in rs.chains["inet"][f"ingress-{P2}"])


def test_stateless_group_has_no_conntrack():
    rs = fw.compile_ruleset(state([rule()], stateful=False))
    assert not any("ct state" in line for line in rs.chains["inet"][f"ingress-{P1}"])
    assert not any("ct state" in line for line in rs.chains["inet"][f"egress-{P1}"])


def test_remote_group_sets_hold_collapsed_members():
    members = {"g1": {"IPv4": ["10.0.0.5", "10.0.0.6", "10.0.0.4/30", "10.5.0.1"],
                      "IPv6": ["2001:db8::5"]}}
    rs = fw.compile_ruleset(state([rule(group="g1"), rule(ethertype="IPv6", group="g1")],
                                  members=members))
    assert rs.sets["inet"]["rg4-g1"] == ("ipv4_addr", ["10.0.0.4/30", "10.5.0.1"])
    assert rs.sets["inet"]["rg6-g1"] == ("ipv6_addr", ["2001:db8::5"])
    assert "set rg4-g1 { type ipv4_addr; flags interval; elements = { 10.0.0.4/30, " \
           "10.5.0.1 }; }" in rs.text()


def test_remote_group_without_members_is_an_empty_set():
    rs = fw.compile_ruleset(state([rule(group="gX")]))
    assert rs.sets["inet"]["rg4-gX"] == ("ipv4_addr", [])
    assert "set rg4-gX { type ipv4_addr; flags interval; }" in rs.text()


def test_allowed_address_pairs_extend_anti_spoofing():
    pairs = [{"ip_address": "10.0.0.100", "mac_address": "fa:16:3e:00:00:01"},
             {"ip_address": "192.168.7.0/24", "mac_address": "fa:16:3e:aa:bb:cc"}]
    chain = fw.compile_ruleset(state([], pairs=pairs)).chains["bridge"][f"from-{P1}"]
    assert "ether saddr != { fa:16:3e:00:00:01, fa:16:3e:aa:bb:cc } drop" in chain
    assert ("ether saddr . ip saddr { fa:16:3e:00:00:01 . 10.0.0.5, fa:16:3e:00:00:01 . "
            "10.0.0.100, fa:16:3e:aa:bb:cc . 192.168.7.0/24 } return") in chain
    assert any("fa:16:3e:aa:bb:cc . fe80::f816:3eff:feaa:bbcc" in line for line in chain)


def test_port_security_off_and_trusted_ports_are_not_filtered():
    st = state([rule()], enabled=False)
    st["ports"].append(port("33333333-dddd-4000-8000-000000000003", "fa:16:3e:00:00:03",
                            "10.0.0.2", owner="network:dhcp"))
    st["firewall"]["ports"]["33333333-dddd-4000-8000-000000000003"] = {
        "port_security_enabled": True, "security_groups": [], "allowed_address_pairs": []}
    rs = fw.compile_ruleset(st)
    assert rs.ports == [P2]
    assert not any(P1 in c or "33333333" in c for f in fw.FAMILIES for c in rs.chains[f])


def test_state_without_firewall_compiles_empty():
    rs = fw.compile_ruleset({"networks": [], "ports": [port(P1, "fa:16:3e:00:00:01",
                                                            "10.0.0.5")]})
    assert rs.empty and set(rs.chains["inet"]) == {"sg-zone", "sg-forward", "sg-input"}


def test_duplicate_rules_across_groups_render_once():
    st = state([rule(protocol="tcp", lo=22, hi=22)])
    st["firewall"]["groups"]["g2"] = copy.deepcopy(st["firewall"]["groups"]["g1"])
    st["firewall"]["ports"][P1]["security_groups"] = ["g1", "g2"]
    chain = fw.compile_ruleset(st).chains["inet"][f"ingress-{P1}"]
    assert sum("th dport 22" in line for line in chain) == 1


def test_compile_is_deterministic():
    st = state([rule(group="g1")], members={"g1": {"IPv4": ["10.0.0.6", "10.0.0.5"]}})
    assert fw.compile_ruleset(st).text() == fw.compile_ruleset(copy.deepcopy(st)).text()


def test_no_leak_desired_holds_only_remaining_ports():
    """200 ports, 190 removed: the desired chains are exactly the 10 left."""
    st = {"networks": [{"id": NET}], "ports": [],
          "firewall": {"ports": {}, "groups": {"g1": {"stateful": True,
                                                      "rules": [rule(group="g1")]}},
                       "members": {"g1": {"IPv4": []}}}}
    ids = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(200)]
    for n, pid in enumerate(ids):
        st["ports"].append(port(pid, f"fa:16:3e:00:{n // 256:02x}:{n % 256:02x}",
                                f"10.1.{n // 250}.{n % 250 + 1}"))
        st["firewall"]["ports"][pid] = {"port_security_enabled": True,
                                        "security_groups": ["g1"], "allowed_address_pairs": []}
    full = fw.compile_ruleset(st)
    keep = set(ids[::20])
    st["ports"] = [p for p in st["ports"] if p["id"] in keep]
    rest = fw.compile_ruleset(st)
    per_port = {c for f in fw.FAMILIES for c in rest.chains[f] if "-" in c and
                c.split("-", 1)[1] in ids}
    assert per_port == {f"{k}-{pid}" for pid in keep for k in ("from", "to", "egress",
                                                                  "ingress")}
    script = fw.transaction(rest, {f: set(full.chains[f]) for f in fw.FAMILIES},
                            {f: set(full.sets[f]) for f in fw.FAMILIES})
    deleted = {line.split()[-1] for line in script.splitlines()
               if line.startswith("delete chain")}
    assert deleted == {f"{k}-{pid}" for pid in set(ids) - keep
                       for k in ("from", "to", "egress", "ingress")}
    assert "delete table" not in script and "flush ruleset" not in script


def test_transaction_flushes_then_deletes_then_declares():
    rs = fw.compile_ruleset(state([rule()]))
    script = fw.transaction(rs, {"bridge": {"port-in", "from-old"}, "inet": {"sg-forward"}},
                            {"bridge": set(), "inet": {"rg4-old"}})
    lines = script.splitlines()
    assert lines[:2] == ["add table bridge stratus-sg", "add table inet stratus-sg"]
    assert lines.index("flush chain bridge stratus-sg from-old") < \
        lines.index("delete chain bridge stratus-sg from-old") < \
        lines.index("table bridge stratus-sg {")
    assert "delete set inet stratus-sg rg4-old" in lines
    assert "delete chain bridge stratus-sg port-in" not in lines


def test_link_local():
    assert fw.link_local("fa:16:3e:00:00:01") == "fe80::f816:3eff:fe00:1"
