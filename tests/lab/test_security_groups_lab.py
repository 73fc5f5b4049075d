"""Security groups for real, as root, in namespaces this test creates
(``sgt-*``): a host namespace with a network's bridge and three fake VMs
(namespaces on veth pairs whose host ends carry the ports' tap names).
stratus.dataplane.nft applies the compiled ruleset; real traffic checks
that rules open exactly what they say (ICMP, TCP port, UDP port, remote
group), that an established TCP connection survives a re-apply, that
anti-spoofing drops a changed IP or MAC unless an allowed address pair
covers it, and that after 200 ports made and most deleted through the
domain functions the kernel holds exactly the remaining ports' chains.
Cleanup runs even when a test fails."""
from __future__ import annotations

import copy
import subprocess
import sys
import uuid

import pytest

from stratus.dataplane import firewall, netns, nft
from stratus.dataplane.ip import ip

TAG = uuid.uuid4().hex[:5]
HOST_NS = f"sgt-h{TAG}"
NET = f"{TAG}net-" + uuid.uuid4().hex[:20]
BRIDGE = "brq" + NET[:11]
VMS = {"a": 5, "b": 6, "c": 7}
PORTS = {k: {"id": f"{TAG}{k}{n}-" + uuid.uuid4().hex, "network_id": NET,
             "mac_address": f"fa:16:3e:66:00:{n:02x}", "device_owner": "compute:nova",
             "fixed_ips": [{"subnet_id": "s", "ip_address": f"10.66.0.{n}"}]}
         for k, n in VMS.items()}
for _p in PORTS.values():
    _p["tap"] = "tap" + _p["id"][:11]

SERVER = r"""
import socket, sys, threading
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(8)
    while True:
        c, _ = s.accept()
        def echo(c=c):
            while True:
                d = c.recv(100)
                if not d: break
                c.sendall(d)
        threading.Thread(target=echo, daemon=True).start()
def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port))
    while True:
        d, a = s.recvfrom(100); s.sendto(d, a)
for p in (8080, 8081): threading.Thread(target=tcp, args=(p,), daemon=True).start()
for p in (5353, 5354): threading.Thread(target=udp, args=(p,), daemon=True).start()
print("ready", flush=True); sys.stdin.read()
"""
CLIENT = r"""
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
s.settimeout(1.5)
try:
    if kind == "tcp": s.connect((host, port)); s.sendall(b"hi")
    else: s.sendto(b"hi", (host, port))
    sys.exit(0 if s.recv(10) == b"hi" else 1)
except OSError:
    sys.exit(1)
"""
HOLD = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
for line in sys.stdin:
    s.sendall(b"x"); print("ok" if s.recv(10) == b"x" else "bad", flush=True)
"""


def vm(k: str) -> str:
    return f"sgt-{TAG}{k}"


def rule(direction="ingress", protocol=None, lo=None, hi=None, prefix=None, group=None,
         ethertype="IPv4"):
    return {"id": uuid.uuid4().hex, "direction": direction, "ethertype": ethertype,
            "protocol": protocol, "port_range_min": lo, "port_range_max": hi,
            "remote_ip_prefix": prefix, "remote_group_id": group}


EGRESS = [rule("egress"), rule("egress", ethertype="IPv6")]


def make_state(web_rules, *, pairs=()) -> dict:
    """b is in 'web' (the rules under test); a is in 'clients', c in 'others'."""
    return {
        "networks": [{"id": NET}], "ports": [copy.deepcopy(p) for p in PORTS.values()],
        "firewall": {
            "ports": {PORTS["a"]["id"]: {"port_security_enabled": True,
                                         "security_groups": ["clients"],
                                         "allowed_address_pairs": list(pairs)},
                      PORTS["b"]["id"]: {"port_security_enabled": True,
                                         "security_groups": ["web"],
                                         "allowed_address_pairs": []},
                      PORTS["c"]["id"]: {"port_security_enabled": True,
                                         "security_groups": ["others"],
                                         "allowed_address_pairs": []}},
            "groups": {"web": {"stateful": True, "rules": EGRESS + web_rules},
                       "clients": {"stateful": True, "rules": EGRESS},
                       "others": {"stateful": True, "rules": EGRESS}},
            "members": {"clients": {"IPv4": ["10.66.0.5"], "IPv6": []}}}}


def run_in(ns: str, *argv: str) -> int:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True,
                          timeout=20).returncode


def ping(src: str, dst: str) -> bool:
    return run_in(vm(src), "ping", "-c", "1", "-W", "1", f"10.66.0.{VMS[dst]}") == 0


def reach(src: str, kind: str, dst: str, port: int) -> bool:
    return run_in(vm(src), sys.executable, "-c", CLIENT, kind, f"10.66.0.{VMS[dst]}",
                  str(port)) == 0


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    servers = []
    try:
        netns.ensure(HOST_NS)
        ip(HOST_NS, "link", "add", BRIDGE, "type", "bridge")
        ip(HOST_NS, "link", "set", BRIDGE, "up")
        for k, p in PORTS.items():
            netns.ensure(vm(k))
            ip(HOST_NS, "link", "add", p["tap"], "type", "veth", "peer", "name", "eth0",
               "netns", vm(k))
            ip(HOST_NS, "link", "set", p["tap"], "master", BRIDGE, "up")
            ip(vm(k), "link", "set", "eth0", "address", p["mac_address"])
            ip(vm(k), "addr", "add", f"10.66.0.{VMS[k]}/24", "dev", "eth0")
            ip(vm(k), "link", "set", "eth0", "up")
        srv = subprocess.Popen(["ip", "netns", "exec", vm("b"), sys.executable, "-c", SERVER],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        servers.append(srv)
        assert srv.stdout.readline().strip() == "ready"
        yield str(tmp_path_factory.mktemp("sgstate"))
    finally:
        for srv in servers:
            srv.kill()
            srv.wait()
        for k in PORTS:
            netns.delete(vm(k))
        netns.delete(HOST_NS)


def apply(state, state_dir) -> bool:
    return nft.sync(HOST_NS, state, state_dir)


def test_rules_open_and_close_exactly_what_they_say(lab):
    assert ping("a", "b") and reach("a", "tcp", "b", 8080)     # nothing applied yet
    web = [rule(protocol="icmp", prefix="10.66.0.5/32"), rule(protocol="tcp", lo=8080, hi=8080),
           rule(protocol="udp", lo=5353, hi=5353, group="clients")]
    assert apply(make_state(web), lab) is True
    assert apply(make_state(web), lab) is False                 # converged: no transaction
    assert ping("a", "b") and not ping("c", "b")                # ICMP from 10.66.0.5 only
    assert reach("a", "tcp", "b", 8080) and reach("c", "tcp", "b", 8080)
    assert not reach("a", "tcp", "b", 8081)                     # other TCP port closed
    assert reach("a", "udp", "b", 5353) and not reach("c", "udp", "b", 5353)  # remote group
    assert not reach("a", "udp", "b", 5354)
    # a's group has no ingress rules: only replies of what a started come in.
    assert not ping("b", "a")
    closed = [r for r in web if r["protocol"] != "icmp"]
    apply(make_state(closed), lab)
    assert not ping("a", "b") and reach("a", "tcp", "b", 8080)   # ICMP closed, TCP stays
    apply(make_state(closed + [rule(protocol="icmp", group="clients")]), lab)
    assert ping("a", "b") and not ping("c", "b")                # ICMP from the group only


def test_remote_group_members_follow_state(lab):
    web = [rule(protocol="icmp", group="others")]
    st = make_state(web)
    apply(st, lab)
    assert not ping("c", "b")                # "others" has no members yet
    st["firewall"]["members"]["others"] = {"IPv4": ["10.66.0.7"], "IPv6": []}
    apply(st, lab)
    assert ping("c", "b") and not ping("a", "b")


def test_established_connection_survives_reapply(lab):
    apply(make_state([rule(protocol="tcp", lo=8080, hi=8080)]), lab)
    hold = subprocess.Popen(["ip", "netns", "exec", vm("a"), sys.executable, "-c", HOLD,
                             "10.66.0.6", "8080"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        hold.stdin.write("1\n")
        hold.stdin.flush()
        assert hold.stdout.readline().strip() == "ok"
        # A changed ruleset that still allows the flow: a new rule, groups reordered.
        assert apply(make_state([rule(protocol="udp", lo=5353, hi=5353),
                                 rule(protocol="tcp", lo=8080, hi=8080)]), lab)
        hold.stdin.write("2\n")
        hold.stdin.flush()
        assert hold.stdout.readline().strip() == "ok"
        # Even without the rule, the established flow lives on (conntrack),
        # while a new connection to the port is refused.
        assert apply(make_state([]), lab)
        hold.stdin.write("3\n")
        hold.stdin.flush()
        assert hold.stdout.readline().strip() == "ok"
        assert not reach("a", "tcp", "b", 8080)
    finally:
        hold.kill()
        hold.wait()


def test_anti_spoofing_ip_mac_and_address_pairs(lab):
    web = [rule(protocol="icmp")]
    apply(make_state(web), lab)
    assert ping("a", "b")
    ip(vm("a"), "addr", "add", "10.66.0.50/24", "dev", "eth0")
    try:
        ok = run_in(vm("a"), "ping", "-c", "1", "-W", "1", "-I", "10.66.0.50", "10.66.0.6")
        assert ok != 0                                           # spoofed source dropped
        apply(make_state(web, pairs=[{"ip_address": "10.66.0.48/29",
                                      "mac_address": PORTS["a"]["mac_address"]}]), lab)
        ok = run_in(vm("a"), "ping", "-c", "1", "-W", "1", "-I", "10.66.0.50", "10.66.0.6")
        assert ok == 0                                           # the pair allows it
    finally:
        ip(vm("a"), "addr", "del", "10.66.0.50/24", "dev", "eth0")
    ip(vm("a"), "link", "set", "eth0", "address", "fa:16:3e:66:00:99")
    try:
        ip(vm("b"), "neigh", "flush", "all")
        assert not ping("a", "b")                                # spoofed MAC dropped
    finally:
        ip(vm("a"), "link", "set", "eth0", "address", PORTS["a"]["mac_address"])
        ip(vm("b"), "neigh", "flush", "all")
    assert ping("a", "b")


def test_port_security_off_is_unfiltered(lab):
    st = make_state([])
    apply(st, lab)
    assert not ping("a", "b")
    st["firewall"]["ports"][PORTS["b"]["id"]]["port_security_enabled"] = False
    apply(st, lab)
    assert ping("a", "b")
    chains, _, _ = nft.observe(HOST_NS)
    assert f"ingress-{PORTS['b']['id']}" not in chains["inet"]


def test_no_leak_after_200_ports(lab, tmp_path):
    """200 ports with security groups made and 180 deleted through the domain
    functions on SQLite: the kernel's chains and sets are those of the 20 left."""
    from stratus.common.config import Config
    from stratus.db.base import Base, Database
    from stratus.network import networks, port_security, ports, subnets
    from stratus.network import security_groups as groups
    import stratus.db.models  # noqa: F401
    db = Database(f"sqlite:///{tmp_path}/leak.sqlite", 1)
    Base.metadata.create_all(db.engine)
    host = f"sgt{TAG}"
    try:
        with db.session() as s:
            conf = Config(overrides={"network": {"vni_ranges": "5:7"}})
            net = networks.create_network(s, conf, project_id="p1", name="leak")
            subnets.create_subnet(s, net, project_id="p1", cidr="10.200.0.0/23")
            web = groups.create_group(s, project_id="p1", name="web")
            groups.create_rule(s, web, {"direction": "ingress", "protocol": "tcp",
                                        "port_range_min": 80, "port_range_max": 80,
                                        "remote_group_id": web.id}, project_id="p1",
                               caller_project="p1", is_admin=False)
            made = []
            for n in range(200):
                p = ports.new_port(s, network_id=net.id, project_id="p1", host_id=host,
                                   device_owner="compute:nova")
                port_security.on_create(s, p, {"security_groups": [web.id]} if n % 2 else {},
                                        is_admin=False)
                made.append(p)
            apply(ports.host_network_state(s, host), str(tmp_path))
            chains, _, _ = nft.observe(HOST_NS)
            assert len(chains["inet"]) == 3 + 2 * 200
            ports.delete_ports(s, made[20:])
            state = ports.host_network_state(s, host)
        apply(state, str(tmp_path))
        chains, sets, _ = nft.observe(HOST_NS)
        want = firewall.compile_ruleset(state)
        assert chains == {f: set(want.chains[f]) for f in firewall.FAMILIES}
        assert sets == {f: set(want.sets[f]) for f in firewall.FAMILIES}
        left = {c.split("-", 1)[1] for f in chains for c in chains[f]
                if c.startswith(("from-", "to-", "egress-", "ingress-"))}
        assert left == {p.id for p in made[:20]}
        members = nft.nft(HOST_NS, "-j", "list", "set", "inet", firewall.TABLE,
                          firewall.group_set(web.id, 4))
        assert members.count("10.200.") == 10    # the web members still alive
    finally:
        db.dispose()


def test_restart_and_drift(lab, tmp_path):
    """A lost state file (a fresh agent) costs one identical, atomic re-apply;
    a hand-made change to the table is detected against the kernel and
    undone; a converged host gets no transaction at all."""
    st = make_state([rule(protocol="icmp")])
    apply(st, lab)
    assert apply(st, lab) is False
    fresh = str(tmp_path / "fresh-agent")
    assert apply(st, fresh) is True and apply(st, fresh) is False
    assert ping("a", "b")
    nft.nft(HOST_NS, "insert", "rule", "inet", firewall.TABLE, f"ingress-{PORTS['b']['id']}",
            "drop")
    assert not ping("a", "b")
    assert apply(st, fresh) is True        # the kernel no longer matches the record
    assert ping("a", "b") and apply(st, fresh) is False
