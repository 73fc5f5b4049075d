"""Issue 5's lab, for real: ``stratus up --hosts 2`` runs the cloud over two
lab hosts (namespaces with their own underlay address on the lab's fabric,
one agent process each).  Two QEMU VMs of one VXLAN network, forced onto
different hosts, reach each other over the tunnel: the first VM's user data
pings the second and prints what it got, and the first host's DHCP
namespace reaches the second host's VM.  ``stratus lab down`` then leaves no
namespace, agent or QEMU process behind.

Needs root and the guest image; skips otherwise."""
from __future__ import annotations

import os
import re
import subprocess
import uuid as uuidlib

import pytest

from conftest import STRATUS, clean_env, qemu_conf_or_skip, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="lab hosts need root (netns)")

PREFIX = "lx" + uuidlib.uuid4().hex[:4]
TOKEN = uuidlib.uuid4().hex[:8]


def namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def lab_down(state_dir) -> subprocess.CompletedProcess:
    return subprocess.run([STRATUS, "lab", "down", "--state-dir", str(state_dir)],
                          capture_output=True, text=True, timeout=300, env=clean_env(),
                          cwd=state_dir)


@pytest.fixture(scope="module")
def lab_cloud(module_servers):
    conf = qemu_conf_or_skip(f"{PREFIX}x") + f"\n[lab]\nhost_prefix = {PREFIX}\n"
    cloud = module_servers.start(extra_conf=conf, extra_args=("--hosts", "2"))
    try:
        yield cloud
    finally:
        module_servers.close()
        cp = lab_down(cloud.state_dir)
        print(cp.stdout, cp.stderr)


def test_two_hosts_vxlan_vm_to_vm_and_clean_lab_down(lab_cloud, tmp_path):
    c = lab_cloud
    hosts = [f"{PREFIX}1", f"{PREFIX}2"]

    def both_up():
        hv = c.openstack("hypervisor", "list")
        names = {h["Hypervisor Hostname"] for h in hv if h.get("State") == "up"}
        return set(hosts) <= names
    wait_for(both_up, 90, "both lab hosts registered")
    for h in hosts:
        assert f"shost-{h}" in namespaces()

    net = c.openstack("network", "create", "labnet")
    assert net["provider:network_type"] == "vxlan", net
    c.openstack("subnet", "create", "--network", "labnet", "--subnet-range", "10.99.0.0/24",
                "labsub")
    ud = tmp_path / "ud.sh"
    ud.write_text("#!/bin/sh\n"
                  "for i in $(seq 1 60); do\n"
                  "  if ping -c 1 -W 1 10.99.0.22 >/dev/null 2>&1; then\n"
                  f"    echo PEER-OK-{TOKEN}; exit 0\n"
                  "  fi\n"
                  "  sleep 1\n"
                  "done\n"
                  f"echo PEER-FAILED-{TOKEN}\n")
    common = ("--image", "stratus-guest", "--flavor", "m1.tiny")
    c.openstack("server", "create", *common, "--nic", f"net-id={net['id']},v4-fixed-ip=10.99.0.22",
                "--availability-zone", f"nova:{hosts[1]}", "vm-b")
    c.openstack("server", "create", *common, "--nic", f"net-id={net['id']},v4-fixed-ip=10.99.0.21",
                "--availability-zone", f"nova:{hosts[0]}", "--user-data", str(ud), "vm-a")
    for name, host in (("vm-a", hosts[0]), ("vm-b", hosts[1])):
        s = wait_for(lambda n=name: (lambda s: s if s["status"] in ("ACTIVE", "ERROR") else None)(
            c.openstack("server", "show", n)), 240, f"{name} ACTIVE")
        assert s["status"] == "ACTIVE", s
        assert s["OS-EXT-SRV-ATTR:host"] == host

    def console():
        return c.openstack("console", "log", "show", "vm-a", json_out=False,
                           check=False).stdout or ""
    log = wait_for(lambda: (lambda t: t if f"PEER-" + f"OK-{TOKEN}" in t or
                            f"PEER-FAILED-{TOKEN}" in t else None)(console()),
                   240, "vm-a's ping of vm-b")
    assert f"PEER-OK-{TOKEN}" in log, log[-2000:]

    # The first host's DHCP namespace reaches the second host's DHCP port over
    # the tunnel (the VMs themselves only admit their security group's members).
    dhcp_ns = f"qdhcp-{net['id'][:8]}-{hosts[0]}"
    dhcp_ips = [ip for p in c.openstack("port", "list", "--network", "labnet",
                                         "--device-owner", "network:dhcp")
                for ip in re.findall(r"\d+\.\d+\.\d+\.\d+", str(p["Fixed IP Addresses"]))]
    assert len(dhcp_ips) == 2, dhcp_ips
    for address in dhcp_ips:
        ping = subprocess.run(["ip", "netns", "exec", dhcp_ns, "ping", "-c", "2", "-W", "2",
                               address], capture_output=True, text=True)
        assert ping.returncode == 0, ping.stdout + ping.stderr
    # Each host has the network's VXLAN device with the other as its only peer.
    fdb = subprocess.run(["ip", "netns", "exec", f"shost-{hosts[0]}", "bridge", "fdb", "show"],
                         capture_output=True, text=True).stdout
    assert re.search(r"00:00:00:00:00:00 dev vxlan-\d+ dst 10\.250\.0\.12", fdb), fdb

    for name in ("vm-a", "vm-b"):
        c.openstack("server", "delete", "--wait", name, json_out=False, timeout=180)


def test_lab_down_removes_everything(lab_cloud):
    c = lab_cloud
    # stop the cloud (its agents stop with it), then take the lab down
    c.server.stop()
    cp = lab_down(c.state_dir)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    left = [n for n in namespaces() if PREFIX in n]
    assert left == [], left
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert not [line for line in ps.splitlines() if PREFIX in line and "grep" not in line]
    assert lab_down(c.state_dir).stdout.strip() == "no lab is up"
