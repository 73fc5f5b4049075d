"""QoS for real, as root, in namespaces this test creates (``qos-<tag>``): a
host namespace with a bridge, a "VM" namespace whose eth0 is a veth whose
host end is named like a VM tap, and a sink namespace on the same bridge.
A 10 Mbit/s bandwidth-limit rule in each direction is applied by
``stratus.dataplane.qos.sync`` and a TCP transfer measured: it lands in a
generous band around 10 Mbit/s; a re-sync changes nothing; after the policy
is removed the transfer is far faster and no IFB is left.  Behaviour, not
speed: the bands are wide."""
from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from stratus.dataplane import netns, qos, qos_plan
from stratus.dataplane.ip import ip, links

TAG = uuid.uuid4().hex[:6]
HOST, VM, SINK = f"qos-h{TAG}", f"qos-v{TAG}", f"qos-s{TAG}"
PORT_ID = f"{TAG}00-1111-2222-3333-444444444444"
TAP = "tap" + PORT_ID[:11]
SECONDS = 3

RECV = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5201)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); c.recv(65536); start = time.monotonic(); n = 0
while time.monotonic() - start < float(sys.argv[1]):
    b = c.recv(65536)
    if not b: break
    n += len(b)
print(n * 8 / (time.monotonic() - start) / 1e6, flush=True)
"""
SEND = """
import socket, sys, time
c = socket.create_connection((sys.argv[1], 5201), timeout=10)
end = time.monotonic() + float(sys.argv[2])
buf = b"x" * 65536
try:
    while time.monotonic() < end: c.sendall(buf)
except OSError: pass
"""


def mbps(src: str, dst: str, dst_ip: str) -> float:
    """Mbit/s of a TCP stream from namespace ``src`` to ``dst`` (receiver-measured)."""
    recv = subprocess.Popen(["ip", "netns", "exec", dst, sys.executable, "-c", RECV,
                             str(SECONDS)], stdout=subprocess.PIPE, text=True)
    try:
        assert recv.stdout.readline().strip() == "ready"
        subprocess.run(["ip", "netns", "exec", src, sys.executable, "-c", SEND, dst_ip,
                        str(SECONDS + 1)], check=True, timeout=30)
        return float(recv.stdout.readline())
    finally:
        recv.kill()
        recv.wait()


@pytest.fixture
def lab():
    try:
        for ns in (HOST, VM, SINK):
            netns.ensure(ns)
        ip(HOST, "link", "add", "br0", "type", "bridge")
        ip(HOST, "link", "set", "br0", "up")
        for ns, outside, addr in ((VM, TAP, "10.66.0.5/24"), (SINK, "sink0", "10.66.0.9/24")):
            ip(HOST, "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip(HOST, "link", "set", outside, "master", "br0")
            ip(HOST, "link", "set", outside, "up")
            ip(ns, "addr", "add", addr, "dev", "eth0")
            ip(ns, "link", "set", "eth0", "up")
            ip(ns, "link", "set", "eth0", "gso_max_size", "65536", check=False)
        yield
    finally:
        for ns in (HOST, VM, SINK):
            netns.delete(ns)


def state(*rules) -> dict:
    return {"ports": [{"id": PORT_ID, "tap": TAP, "device_owner": "compute:nova",
                       "qos_rules": list(rules)}]}


def rule(direction):
    return {"type": "bandwidth_limit", "max_kbps": 10000, "max_burst_kbps": 200,
            "direction": direction}


def test_ten_megabit_both_ways_then_unlimited(lab):
    changes = qos.sync(HOST, state(rule("egress"), rule("ingress")))
    assert {(c.op, c.direction) for c in changes} == {("set", "egress"), ("set", "ingress")}
    assert links(HOST)[qos_plan.ifb_name(TAP)]["kind"] == "ifb"
    assert qos.sync(HOST, state(rule("egress"), rule("ingress"))) == []   # a re-sync: nothing

    out, into = mbps(VM, SINK, "10.66.0.9"), mbps(SINK, VM, "10.66.0.5")
    print(f"limited: VM egress {out:.1f}, VM ingress {into:.1f} Mbit/s")
    assert 5 <= out <= 15, f"VM egress {out:.1f} Mbit/s with a 10 Mbit/s limit"
    assert 5 <= into <= 15, f"VM ingress {into:.1f} Mbit/s with a 10 Mbit/s limit"

    changes = qos.sync(HOST, state())          # the policy is gone
    assert {c.op for c in changes} == {"clear", "remove_ifb"}
    assert qos_plan.ifb_name(TAP) not in links(HOST)
    assert qos.sync(HOST, state()) == []
    out, into = mbps(VM, SINK, "10.66.0.9"), mbps(SINK, VM, "10.66.0.5")
    print(f"unlimited: VM egress {out:.0f}, VM ingress {into:.0f} Mbit/s")
    assert out > 40 and into > 40, f"unlimited: {out:.0f} / {into:.0f} Mbit/s"
