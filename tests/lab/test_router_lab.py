"""A router for real, as root, inside namespaces this test creates (``rtt-``
+ random; the router's ``qrouter-<id[:8]>`` and the external ``sext-rtt-…``
carry the same random tag): the host sync builds the bridges of a private and
an external network, the router namespace and the external world; a "VM"
namespace on the private bridge reaches the external namespace through SNAT
(the far side sees the router's gateway IP), the external namespace reaches
the VM through its floating IP (ping and TCP), a re-sync plans nothing and
leaves the NAT table alone (same handle), an established TCP flow through the
floating IP survives re-syncs (even one that replaces the NAT table), and
disassociation closes both new and established traffic.  Cleanup runs even
when the test fails."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest

from stratus.dataplane import netns, router_plan
from stratus.dataplane.ip import ip
from stratus.dataplane.router import nft_table, sync_routers
from stratus.dataplane.sync import sync_host

TAG = uuid.uuid4().hex[:5]
HOST_NS = f"rtt-h{TAG}"
VM_NS = f"rtt-v{TAG}"
EXT_NS = router_plan.external_namespace(HOST_NS)
PRIV, PUB = "a" + uuid.uuid4().hex[:10] + "-p", "b" + uuid.uuid4().hex[:10] + "-e"
ROUTER_ID = f"{TAG}rtt-" + uuid.uuid4().hex[:20]
ROUTER_NS = router_plan.namespace(ROUTER_ID)
GW_IP, FIP, VM_IP = "172.31.4.2", "172.31.4.20", "10.88.0.5"
PORT = 7000 + int(TAG, 16) % 1000


def network(nid, cidr, gw):
    return {"id": nid, "name": nid, "mtu": 1500, "network_type": "flat",
            "subnets": [{"id": "s" + nid, "cidr": cidr, "gateway_ip": gw, "enable_dhcp": False,
                         "dns_nameservers": [], "host_routes": [], "allocation_pools": []}]}


def router(fips=()):
    return {"id": ROUTER_ID, "admin_state_up": True, "routes": [],
            "interfaces": [{"port_id": "q" + TAG + "interface", "mac_address": "fa:16:3e:88:00:01",
                            "network_id": PRIV, "mtu": 1500, "bridge": "brq" + PRIV[:11],
                            "fixed_ips": [{"subnet_id": "s" + PRIV, "ip_address": "10.88.0.1",
                                           "cidr": "10.88.0.0/24", "prefixlen": 24,
                                           "gateway_ip": "10.88.0.1"}]}],
            "gateway": {"port_id": "g" + TAG + "gateway", "mac_address": "fa:16:3e:88:00:02",
                        "network_id": PUB, "mtu": 1500, "bridge": "brq" + PUB[:11],
                        "gateway_ip": "172.31.4.1", "enable_snat": True,
                        "fixed_ips": [{"subnet_id": "s" + PUB, "ip_address": GW_IP,
                                       "cidr": "172.31.4.0/24", "prefixlen": 24,
                                       "gateway_ip": "172.31.4.1"}]},
            "floating_ips": [{"id": f"f{i}", "floating_ip_address": a, "fixed_ip_address": b}
                             for i, (a, b) in enumerate(fips)]}


def state(fips=()):
    return {"networks": [network(PRIV, "10.88.0.0/24", "10.88.0.1"),
                         network(PUB, "172.31.4.0/24", "172.31.4.1")],
            "ports": [], "routers": [router(fips)]}


def in_ns(ns, *argv, timeout=10, check=False):
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                          timeout=timeout, check=check)


def ping(ns, addr) -> bool:
    return in_ns(ns, "ping", "-c", "1", "-W", "1", addr).returncode == 0


def peer_seen(server_ns, client_ns, addr, port) -> str:
    """Connect from ``client_ns`` to ``addr:port`` served in ``server_ns``;
    the source address the server saw."""
    srv = subprocess.Popen(["ip", "netns", "exec", server_ns, "socat", "-T", "5",
                            f"TCP-LISTEN:{port},reuseaddr", "SYSTEM:echo $SOCAT_PEERADDR"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(20):
            out = in_ns(client_ns, "socat", "-T", "3", "-", f"TCP:{addr}:{port}")
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
            in_ns(client_ns, "sleep", "0.1")
        return ""
    finally:
        srv.kill()
        srv.wait()


CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
for line in sys.stdin:
    try:
        s.sendall(line.encode()); print(s.recv(100).decode().strip() or "EOF", flush=True)
    except OSError as e:
        print("ERR", type(e).__name__, flush=True)
"""


@pytest.fixture
def lab():
    state_dir = tempfile.mkdtemp(prefix="rtt-")
    procs: list[subprocess.Popen] = []
    try:
        yield state_dir, procs
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for ns in (VM_NS, ROUTER_NS, EXT_NS, HOST_NS):
            netns.delete(ns)
        shutil.rmtree(state_dir, ignore_errors=True)


def fake_vm():
    netns.ensure(VM_NS)
    ip(HOST_NS, "link", "add", f"rtt{TAG}v", "type", "veth", "peer", "name", "eth0",
       "netns", VM_NS)
    ip(HOST_NS, "link", "set", f"rtt{TAG}v", "master", "brq" + PRIV[:11])
    ip(HOST_NS, "link", "set", f"rtt{TAG}v", "up")
    ip(VM_NS, "link", "set", "eth0", "up")
    ip(VM_NS, "addr", "add", f"{VM_IP}/24", "dev", "eth0")
    ip(VM_NS, "route", "add", "default", "via", "10.88.0.1")


def test_router_snat_floating_ip_and_quiet_resync(lab):
    state_dir, procs = lab
    sync_host(HOST_NS, state(), state_dir)
    assert netns.exists(ROUTER_NS) and netns.exists(EXT_NS)
    fake_vm()
    # SNAT: the VM reaches the external world as the router's gateway IP
    assert ping(VM_NS, "172.31.4.1")
    assert peer_seen(EXT_NS, VM_NS, "172.31.4.1", PORT) == GW_IP
    assert not ping(EXT_NS, FIP)
    # floating IP: 1:1 both ways
    sync_host(HOST_NS, state([(FIP, VM_IP)]), state_dir)
    assert ping(EXT_NS, FIP)
    assert peer_seen(VM_NS, EXT_NS, FIP, PORT + 1) == "172.31.4.1"
    assert peer_seen(EXT_NS, VM_NS, "172.31.4.1", PORT + 2) == FIP
    # an established flow through the floating IP
    echo = subprocess.Popen(["ip", "netns", "exec", VM_NS, "socat",
                             f"TCP-LISTEN:{PORT + 3},reuseaddr", "EXEC:cat"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(echo)
    in_ns(VM_NS, "sleep", "0.3")
    client = subprocess.Popen(["ip", "netns", "exec", EXT_NS, sys.executable, "-c", CLIENT,
                               FIP, str(PORT + 3)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    procs.append(client)

    def say(word: str) -> str:
        client.stdin.write(word + "\n")
        client.stdin.flush()
        return client.stdout.readline().strip()

    assert say("one") == "one"
    # re-sync: nothing to do, the NAT table untouched (same handle)
    before = nft_table(ROUTER_NS)
    sync_host(HOST_NS, state([(FIP, VM_IP)]), state_dir)
    actions, failures = sync_routers(HOST_NS, [router([(FIP, VM_IP)])], state_dir)
    assert (actions, failures) == ([], [])
    assert nft_table(ROUTER_NS) == before
    assert say("two") == "two"
    # a NAT change replaces the table atomically: the flow survives that too
    sync_host(HOST_NS, state([(FIP, VM_IP), ("172.31.4.21", "10.88.0.6")]), state_dir)
    after = nft_table(ROUTER_NS)
    assert after["handle"] != before["handle"] and after["rules"] == before["rules"] + 3
    assert say("three") == "three"
    # disassociation closes new and established traffic
    sync_host(HOST_NS, state(), state_dir)
    assert not ping(EXT_NS, FIP)
    assert say("four") in ("ERR TimeoutError", "EOF")   # dropped: no echo comes back
    assert ping(VM_NS, "172.31.4.1")          # SNAT still works
    # the router goes: its namespace and the external world go too
    sync_host(HOST_NS, {**state(), "routers": []}, state_dir)
    assert not netns.exists(ROUTER_NS) and not netns.exists(EXT_NS)
    assert os.listdir(os.path.join(state_dir, "routers")) == []
