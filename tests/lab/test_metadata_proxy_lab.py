"""The metadata path for real, as root, in namespaces this test creates: a
host namespace with one network's bridge and DHCP; two fake VMs (namespaces
on veths to the bridge) take their leases with busybox udhcpc, install the
classless static route 169.254.169.254/32 via the DHCP port that DHCP gave
them, and fetch http://169.254.169.254/openstack/latest/meta_data.json
through the proxy in the DHCP namespace to the service's unix socket (an
SQLite database holds the instances).  Each gets its own uuid, a spoofed
X-Forwarded-For changes nothing, a re-sync keeps the same listener, and an
empty state closes it.  Cleanup runs even when the test fails."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import types
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit"))
from metadata_db import instance, network  # noqa: E402

from stratus.dataplane import bridge, dnsmasq, netns  # noqa: E402
from stratus.dataplane.ip import ip  # noqa: E402
from stratus.dataplane.sync import sync_host  # noqa: E402
from stratus.db.base import Base, Database  # noqa: E402
from stratus.db.models import network as nm  # noqa: E402
from stratus.metadata.proxy import MetadataProxy  # noqa: E402
from stratus.metadata.server import MetadataServer  # noqa: E402

TAG = uuid.uuid4().hex[:5]
HOST_NS = f"shost-md{TAG}"
SCRIPT = """#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/$mask" dev "$interface"
set -- $staticroutes
while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
"""
FETCH = """
import http.client, sys
c = http.client.HTTPConnection("169.254.169.254", 80, timeout=10)
c.request("GET", sys.argv[1], headers=dict(h.split(": ", 1) for h in sys.argv[2:]))
r = c.getresponse(); sys.stdout.write("%d\\n" % r.status); sys.stdout.write(r.read().decode())
"""


def fetch(ns: str, path: str, *headers: str) -> tuple[int, str]:
    cp = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", FETCH, path,
                         *headers], capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    status, _, body = cp.stdout.partition("\n")
    return int(status), body


@pytest.fixture
def lab(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/md.sqlite", 2)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    conf = types.SimpleNamespace(metadata=types.SimpleNamespace(metadata_proxy_shared_secret=""))
    server = MetadataServer(conf, db, str(tmp_path / "metadata.sock"))
    server.start()
    proxy = MetadataProxy(HOST_NS, server.path)
    state_dir = str(tmp_path / "agent")
    try:
        yield db, proxy, state_dir, tmp_path
    finally:
        proxy.close()
        server.stop()
        for pidfile in (tmp_path / "agent" / "dhcp").glob("*/pid"):
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        for ns in netns.list_all():
            if ns.endswith(TAG):
                netns.delete(ns)
        db.dispose()


def desired(db) -> dict:
    """host_network_state's shape, from the rows (networks, subnets, ports)."""
    with db.session() as s:
        net = s.query(nm.Network).one()
        sub = s.query(nm.Subnet).one()
        ports = []
        for p in s.query(nm.Port).order_by(nm.Port.id):
            ips = [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                   for a in s.query(nm.IPAllocation).filter_by(port_id=p.id)]
            ports.append({"id": p.id, "network_id": p.network_id, "mac_address": p.mac_address,
                          "device_owner": p.device_owner, "device_id": p.device_id,
                          "tap": bridge.tap_name(p.id), "fixed_ips": ips})
        subnet = {"id": sub.id, "cidr": sub.cidr, "gateway_ip": sub.gateway_ip,
                  "enable_dhcp": True, "dns_nameservers": [], "host_routes": []}
        return {"networks": [{"id": net.id, "name": net.name, "mtu": 1500,
                              "subnets": [subnet]}], "ports": ports}


def fake_vm(state: dict, ip_address: str, tmp_path) -> str:
    p = next(p for p in state["ports"] if p["fixed_ips"][0]["ip_address"] == ip_address)
    n = ip_address.split(".")[-1]
    ns, outside = f"mdvm{n}{TAG}", f"mv{TAG}{n}"
    netns.ensure(ns)
    ip(HOST_NS, "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip(ns, "link", "set", "eth0", "address", p["mac_address"])
    ip(ns, "link", "set", "eth0", "up")
    ip(HOST_NS, "link", "set", outside, "master", bridge.bridge_name(p["network_id"]))
    ip(HOST_NS, "link", "set", outside, "up")
    script = tmp_path / "udhcpc.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    cp = subprocess.run(["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0", "-n",
                         "-q", "-f", "-t", "5", "-T", "2", "-O", "staticroutes",
                         "-s", str(script)], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return ns


def test_vms_fetch_their_own_metadata_through_the_proxy(lab):
    db, proxy, state_dir, tmp_path = lab
    with db.session() as s:
        net, sub = network(s, "10.79.0.0/24")
        a = instance(s, net, sub, "10.79.0.5", name="alpha")
        b = instance(s, net, sub, "10.79.0.6", name="beta")
        dhcp = nm.Port(id=str(uuid.uuid4()), network_id=net, project_id="p1",
                       device_owner="network:dhcp", device_id="dhcp", host_id="h1",
                       mac_address="fa:16:3e:79:00:02")
        s.add(dhcp)
        s.flush()
        s.add(nm.IPAllocation(subnet_id=sub, ip_address="10.79.0.2", port_id=dhcp.id,
                              network_id=net))
    state = desired(db)
    sync_host(HOST_NS, state, state_dir, lease_seconds=600)
    assert proxy.sync(state) == [f"address {dnsmasq.namespace(net, HOST_NS)}",
                                 f"open {dnsmasq.namespace(net, HOST_NS)}"]
    vm_a, vm_b = fake_vm(state, "10.79.0.5", tmp_path), fake_vm(state, "10.79.0.6", tmp_path)
    route = ip(vm_a, "route", "show", "169.254.169.254")
    assert "via 10.79.0.2" in route

    status, body = fetch(vm_a, "/openstack/latest/meta_data.json")
    assert status == 200 and json.loads(body)["uuid"] == a
    status, body = fetch(vm_b, "/openstack/latest/meta_data.json",
                         "X-Forwarded-For: 10.79.0.5", f"X-Neutron-Network-ID: {net}")
    assert status == 200 and json.loads(body)["uuid"] == b      # the spoof is overwritten
    assert fetch(vm_b, "/latest/meta-data/local-ipv4") == (200, "10.79.0.6")

    # An agent-style re-sync: nothing to do, the same listener keeps serving.
    listener = proxy.listeners[dnsmasq.namespace(net, HOST_NS)]
    sync_host(HOST_NS, state, state_dir, lease_seconds=600)
    assert proxy.sync(state) == []
    assert proxy.listeners[dnsmasq.namespace(net, HOST_NS)] is listener
    assert json.loads(fetch(vm_a, "/openstack/latest/meta_data.json")[1])["uuid"] == a

    # The instance's port goes away: the service answers 404, never someone else's data.
    with db.session() as s:
        s.query(nm.IPAllocation).filter_by(ip_address="10.79.0.6").delete()
    assert fetch(vm_b, "/openstack/latest/meta_data.json")[0] == 404

    # No DHCP wanted any more: the listener is closed.
    assert proxy.sync({"networks": [], "ports": []}) == [
        f"close {dnsmasq.namespace(net, HOST_NS)}"]
    assert proxy.listeners == {}
