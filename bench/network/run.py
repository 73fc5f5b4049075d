"""bench/network: the data plane measured with real VMs on a two-host lab.

``stratus up --hosts 2`` in a temporary state directory (lab prefix
``bn<hex>``), a VXLAN network with a router to ``public``, two VMs forced
onto different hosts, then:

1. **VM-to-VM throughput across hosts**: VM A sends ``--mb`` MiB from
   /dev/zero with busybox ``nc`` to VM B's ``nc -l`` sink (``--repeats``
   times; the guest times itself with /proc/uptime).  The peer in the same
   run: the same transfer, same tools, between the two hosts' DHCP
   namespaces — plain namespaces on the same bridges and VXLAN tunnel — so
   the ratio is the cost of the guest (QEMU TCG, virtio) and of its port's
   security-group filtering.
2. **Boot to floating-IP ping**: a port with a floating IP, then ``POST
   /servers`` on it; the time until the VM answers ping on the floating IP
   from the external namespace ``sext-<router host>`` (median of ``--boots``).
3. **Security-group rule apply latency**: ``--rules`` rules (TCP ports) made
   through the API in a group on VM A's port (one POST each: Stratus has no
   bulk create), and the time until host 1's nftables ruleset holds all of
   them.  And the nft apply itself: the firewall compiler and ``nft.sync``
   on a scratch namespace with one port and the same number of rules (first
   apply, no-op re-sync, re-apply after one rule changed).

The guests are driven through a remote shell their user data starts
(``nc -ll -p 9000 -e /bin/sh``), reached from the DHCP namespace of their
host.  Needs root, QEMU and the guest image (``stratus image build``).
Prints the figures, one ``SUMMARY`` line per figure, and writes them to
bench/results/network.json.  Nothing is asserted.

    .venv/bin/python bench/network/run.py                 # ~3-5 min under TCG
    .venv/bin/python bench/network/run.py --mb 16 --repeats 1 --boots 1 --rules 200
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
STRATUS = str(Path(sys.executable).parent / "stratus")
USER_DATA = ("#!/bin/sh\n"
             "nc -ll -p 9000 -e /bin/sh </dev/null >/dev/null 2>&1 &\n"
             "echo REMOTE-SHELL-UP\n")
CIDR, GW, IP_A, IP_B = "10.96.0.0/24", "10.96.0.1", "10.96.0.21", "10.96.0.22"
REMOTE = ("import socket,sys\n"
          "s=socket.create_connection((sys.argv[1],9000),timeout=10)\n"
          "s.settimeout(None)\n"
          "s.sendall(sys.stdin.buffer.read());s.shutdown(socket.SHUT_WR)\n"
          "out=b''\n"
          "while True:\n"
          "  d=s.recv(65536)\n"
          "  if not d: break\n"
          "  out+=d\n"
          "sys.stdout.write(out.decode(errors='replace'))\n")


def sh(*argv, check=True, timeout=120, **kw) -> str:
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode:
        raise RuntimeError(f"{' '.join(argv)}: exit {cp.returncode}: {cp.stderr[-500:]}")
    return cp.stdout


def wait(fn, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def remote(ns: str, ip: str, script: str, timeout: float = 60) -> str:
    cp = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", REMOTE, ip],
                        input=script + "\nexit\n", capture_output=True, text=True,
                        timeout=timeout)
    if cp.returncode:
        raise RuntimeError(f"remote shell {ip}: {cp.stderr[-300:]}")
    return cp.stdout


def remote_ok(ns: str, ip: str) -> bool:
    try:
        return "alive" in remote(ns, ip, "echo alive", timeout=15)
    except (RuntimeError, subprocess.TimeoutExpired):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cloud:
    """``stratus up --hosts 2`` of its own; ``close`` stops it and takes the lab down."""

    def __init__(self, prefix: str, hosts: int = 2, virt_type: str = "qemu"):
        self.prefix, self.hosts = prefix, [f"{prefix}{i}" for i in range(1, hosts + 1)]
        self.dir = Path(tempfile.mkdtemp(prefix="stratus-bench-net-"))
        (self.dir / "stratus.conf").write_text(
            "[identity]\npassword_hash_rounds = 4\n[compute]\ncompute_driver = qemu\n"
            f"host = {prefix}x\nagent_poll_interval = 0.5\nreport_interval = 5\n"
            f"[qemu]\nvirt_type = {virt_type}\n[lab]\nhost_prefix = {prefix}\n")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["NO_PROXY"] = "127.0.0.1"
        self.proc = subprocess.Popen(
            [STRATUS, "up", "--state-dir", str(self.dir), "--port", str(self.port),
             "--no-user-clouds", "--hosts", str(hosts)], stdout=open(self.dir / "up.out", "wb"),
            stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=self.dir)
        self.http = httpx.Client(timeout=120, trust_env=False)
        wait(self._answers, 90, f"stratus up (see {self.dir}/up.out)")
        creds = json.loads((self.dir / "credentials.json").read_text())
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": creds["admin"]}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        r = self.http.post(f"{self.base}/identity/v3/auth/tokens", json=body)
        r.raise_for_status()
        self.token = r.headers["X-Subject-Token"]
        self.project = r.json()["token"]["project"]["id"]
        wait(lambda: {h["hypervisor_hostname"] for h in self.get(
            "/compute/v2.1/os-hypervisors/detail")["hypervisors"] if h["state"] == "up"}
            >= set(self.hosts), 120, "the lab hosts")

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"stratus up exited; see {self.dir}/up.out")
        try:
            return self.http.get(f"{self.base}/identity/v3").status_code == 200
        except httpx.HTTPError:
            return False

    def call(self, method, path, expect=(200, 201, 202, 204), **kw):
        r = self.http.request(method, f"{self.base}{path}",
                              headers={"X-Auth-Token": self.token}, **kw)
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body):
        return self.call("POST", path, json=body)

    def close(self, keep: bool = False) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        sh(STRATUS, "lab", "down", "--state-dir", str(self.dir), check=False, timeout=300,
           cwd=self.dir)
        sh(STRATUS, "agent", "--teardown", "--state-dir", str(self.dir), "--host",
           f"{self.prefix}x", check=False, timeout=300, cwd=self.dir)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# -- the world the figures need ----------------------------------------------------------
def setup(cloud: Cloud) -> dict:
    net = cloud.post("/network/v2.0/networks", {"network": {"name": "bnnet"}})["network"]
    sub = cloud.post("/network/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "cidr": CIDR, "gateway_ip": GW, "ip_version": 4}})["subnet"]
    public = cloud.get("/network/v2.0/networks", params={"name": "public"})["networks"][0]
    router = cloud.post("/network/v2.0/routers", {"router": {
        "name": "bnrouter", "external_gateway_info": {"network_id": public["id"]}}})["router"]
    cloud.call("PUT", f"/network/v2.0/routers/{router['id']}/add_router_interface",
               json={"subnet_id": sub["id"]})
    sg = cloud.post("/network/v2.0/security-groups",
                    {"security_group": {"name": "bench"}})["security_group"]
    for proto, port in (("icmp", None), ("tcp", 5001), ("tcp", 9000)):
        cloud.post("/network/v2.0/security-group-rules", {"security_group_rule": {
            "security_group_id": sg["id"], "direction": "ingress", "protocol": proto,
            "remote_ip_prefix": "0.0.0.0/0",
            **({"port_range_min": port, "port_range_max": port} if port else {})}})
    image = cloud.get("/image/v2/images", params={"name": "stratus-guest"})["images"][0]["id"]
    flavor = next(f["id"] for f in cloud.get("/compute/v2.1/flavors")["flavors"]
                  if f["name"] == "m1.tiny")
    return {"net": net, "sub": sub, "public": public, "router": router, "sg": sg,
            "image": image, "flavor": flavor}


def boot(cloud: Cloud, w: dict, name: str, host: str | None, ip: str | None = None,
         user_data: str | None = USER_DATA) -> tuple[dict, dict, float]:
    """A port in the bench group, then a server on it; (server, port, t0)."""
    fixed = {"subnet_id": w["sub"]["id"], **({"ip_address": ip} if ip else {})}
    port = cloud.post("/network/v2.0/ports", {"port": {
        "network_id": w["net"]["id"], "fixed_ips": [fixed],
        "security_groups": [w["sg"]["id"]]}})["port"]
    body = {"server": {"name": name, "imageRef": w["image"], "flavorRef": w["flavor"],
                       "networks": [{"port": port["id"]}]}}
    if host:
        body["server"]["availability_zone"] = f"nova:{host}"
    if user_data:
        body["server"]["user_data"] = base64.b64encode(user_data.encode()).decode()
    return port, body, time.monotonic()


def create(cloud: Cloud, body: dict) -> dict:
    return cloud.post("/compute/v2.1/servers", body)["server"]


def status(cloud: Cloud, sid: str) -> str:
    r = cloud.call("GET", f"/compute/v2.1/servers/{sid}", expect=(200, 404))
    return "GONE" if r is None or "server" not in r else r["server"]["status"]


def console(cloud: Cloud, sid: str) -> str:
    r = cloud.call("POST", f"/compute/v2.1/servers/{sid}/action",
                   json={"os-getConsoleOutput": {}}, expect=(200, 404, 409))
    return (r or {}).get("output", "")


def wait_active(cloud: Cloud, sid: str) -> None:
    def active():
        s = status(cloud, sid)
        if s == "ERROR":
            raise RuntimeError(f"server {sid} went to ERROR")
        return s == "ACTIVE"
    wait(active, 300, f"server {sid} ACTIVE", 0.5)


def delete(cloud: Cloud, sid: str) -> None:
    cloud.call("DELETE", f"/compute/v2.1/servers/{sid}", expect=(204, 404))
    wait(lambda: status(cloud, sid) == "GONE", 180, "delete", 0.5)


def dhcp_ns(w: dict, host: str) -> tuple[str, str]:
    ns = f"qdhcp-{w['net']['id'][:8]}-{host}"
    ip = next(a for a in re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", sh("ip", "-n", ns, "addr"))
              if a.startswith("10.96."))
    return ns, ip


# -- 1. throughput ----------------------------------------------------------------------
def mbit(nbytes: int, seconds: float) -> float:
    return round(nbytes * 8 / seconds / 1e6, 1) if seconds > 0 else 0.0


def guest_clock_ratio(ns: str) -> float:
    """Guest seconds per host second over a 3 s sleep (TCG guests may drift)."""
    t0 = time.monotonic()
    out = remote(ns, IP_A, "a=$(cut -d' ' -f1 /proc/uptime); sleep 3; "
                           "b=$(cut -d' ' -f1 /proc/uptime); echo CLK $a $b")
    wall = time.monotonic() - t0
    a, b = map(float, re.search(r"CLK ([\d.]+) ([\d.]+)", out).groups())
    return round((b - a) / wall, 3)      # wall includes the shell's start: a lower bound


def bench_throughput(cloud: Cloud, w: dict, args) -> dict:
    """The sender times its transfer: the guest with /proc/uptime (10 ms
    ticks), the namespaces with ``date +%s.%N``; neither figure includes
    starting a shell.  The sink counts what it got (``wc -c``) and a transfer
    that did not deliver every byte is an error.  busybox's small ``nc`` stops
    at EOF on either side, so the sink's stdin is a ``sleep`` that never
    ends during the transfer."""
    h1, h2 = cloud.hosts[:2]
    ns1, _ = dhcp_ns(w, h1)
    ns2, ip2 = dhcp_ns(w, h2)
    count = args.mb * 16              # 64 KiB blocks
    nbytes = count * 65536
    vm, peer = [], []
    for _ in range(args.repeats):
        remote(ns2, IP_B, "rm -f /tmp/rx; sleep 600 </dev/null 2>/dev/null | "
                          "(nc -l -p 5001 | wc -c > /tmp/rx.t; mv /tmp/rx.t /tmp/rx) "
                          ">/dev/null 2>&1 &\necho sink")
        time.sleep(0.5)
        out = remote(ns1, IP_A, "a=$(cut -d' ' -f1 /proc/uptime)\n"
                                f"dd if=/dev/zero bs=65536 count={count} 2>/dev/null | "
                                f"nc {IP_B} 5001\n"
                                "b=$(cut -d' ' -f1 /proc/uptime)\necho XFER $a $b",
                     timeout=600)
        m = re.search(r"XFER ([\d.]+) ([\d.]+)", out)
        got = wait(lambda: remote(ns2, IP_B, "cat /tmp/rx 2>/dev/null").strip(), 60,
                   "the sink's count")
        if not m or int(got) != nbytes:
            raise RuntimeError(f"VM transfer incomplete: sent {out!r}, sink got {got} bytes")
        vm.append(mbit(nbytes, float(m.group(2)) - float(m.group(1))))
        remote(ns2, IP_B, "killall sleep 2>/dev/null; true")
    for _ in range(args.repeats):
        sink = subprocess.Popen(["ip", "netns", "exec", ns2, "sh", "-c",
                                 "sleep 600 | busybox nc -l -p 5001 | wc -c"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                start_new_session=True)
        try:
            time.sleep(0.5)
            out = sh("ip", "netns", "exec", ns1, "sh", "-c",
                     "a=$(date +%s.%N); "
                     f"dd if=/dev/zero bs=65536 count={count} 2>/dev/null | "
                     f"busybox nc {ip2} 5001; b=$(date +%s.%N); echo XFER $a $b", timeout=600)
            got = sink.stdout.readline().strip()
        finally:
            os.killpg(sink.pid, signal.SIGKILL)
            sink.wait()
        if got != str(nbytes):
            raise RuntimeError(f"namespace transfer incomplete: sink got {got} bytes")
        a, b = map(float, re.search(r"XFER ([\d.]+) ([\d.]+)", out).groups())
        peer.append(mbit(nbytes, b - a))
    out = {"mib": args.mb, "repeats": args.repeats, "vm_mbit_s": vm,
           "namespaces_mbit_s": peer, "guest_clock_ratio": guest_clock_ratio(ns1),
           "median_vm_mbit_s": statistics.median(vm),
           "median_namespaces_mbit_s": statistics.median(peer)}
    out["vm_over_namespaces"] = round(out["median_vm_mbit_s"] /
                                      out["median_namespaces_mbit_s"], 3)
    return out


# -- 2. boot to floating-IP ping ----------------------------------------------------------
def router_host(cloud: Cloud, w: dict) -> str:
    gw = cloud.get("/network/v2.0/ports", params={
        "device_id": w["router"]["id"], "device_owner": "network:router_gateway"})["ports"][0]
    return wait(lambda: next((h for h in cloud.hosts if f"rg-{gw['id'][:11]}" in
                              sh("ip", "-n", f"shost-{h}", "link", "show")), None),
                60, "the router's host")


def bench_fip(cloud: Cloud, w: dict, args) -> dict:
    ext = f"sext-{router_host(cloud, w)}"
    runs = []
    for i in range(args.boots):
        host = cloud.hosts[i % len(cloud.hosts)]
        # the IPAM hands the deleted port's address to the next port: its DHCP
        # lease must have been released (stratus/dataplane/dnsmasq.py)
        port, body, _ = boot(cloud, w, f"bnfip{i}", host, user_data=None)
        fip = cloud.post("/network/v2.0/floatingips", {"floatingip": {
            "floating_network_id": w["public"]["id"], "port_id": port["id"]}})["floatingip"]
        addr = fip["floating_ip_address"]
        t0 = time.monotonic()
        server = create(cloud, body)
        try:
            def answers():
                return subprocess.run(["ip", "netns", "exec", ext, "ping", "-c", "1", "-W",
                                       "1", addr], capture_output=True).returncode == 0
            wait(answers, 300, f"ping of {addr}", 0.1)
            runs.append({"host": host, "seconds": round(time.monotonic() - t0, 2)})
        finally:
            delete(cloud, server["id"])
            cloud.call("DELETE", f"/network/v2.0/floatingips/{fip['id']}", expect=(204, 404))
            cloud.call("DELETE", f"/network/v2.0/ports/{port['id']}", expect=(204, 404))
    return {"boots": runs, "external_namespace": ext,
            "median_s": statistics.median(r["seconds"] for r in runs)}


# -- 3. security-group rules --------------------------------------------------------------
def dports(ns: str, lo: int, n: int) -> int:
    text = sh("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "stratus-sg",
              check=False)
    return len({int(p) for p in re.findall(r"dport (\d+)", text) if lo <= int(p) < lo + n})


def bench_sg_api(cloud: Cloud, w: dict, port_a: dict, args) -> dict:
    n, lo = args.rules, 20000
    cloud.call("PUT", f"/network/v2.0/quotas/{cloud.project}",
               json={"quota": {"security_group_rule": -1}})
    big = cloud.post("/network/v2.0/security-groups",
                     {"security_group": {"name": "bench-1k"}})["security_group"]
    cloud.call("PUT", f"/network/v2.0/ports/{port_a['id']}",
               json={"port": {"security_groups": [w["sg"]["id"], big["id"]]}})
    ns = f"shost-{cloud.hosts[0]}"
    bulk = cloud.call("POST", "/network/v2.0/security-group-rules", expect=range(100, 600),
                      json={"security_group_rules": [{"security_group_id": big["id"],
                                                      "direction": "ingress"}]})
    bulk_ok = isinstance(bulk, dict) and "security_group_rules" in bulk
    t0 = time.monotonic()
    for i in range(n):
        cloud.post("/network/v2.0/security-group-rules", {"security_group_rule": {
            "security_group_id": big["id"], "direction": "ingress", "protocol": "tcp",
            "port_range_min": lo + i, "port_range_max": lo + i,
            "remote_ip_prefix": "0.0.0.0/0"}})
    t_api = time.monotonic()
    wait(lambda: dports(ns, lo, n) == n, 600, f"{n} rules in {ns}'s ruleset", 0.25)
    t_done = time.monotonic()
    return {"rules": n, "bulk_create_supported": bulk_ok,
            "api_create_s": round(t_api - t0, 2),
            "api_rules_per_s": round(n / (t_api - t0), 1),
            "last_post_to_ruleset_s": round(t_done - t_api, 2),
            "first_post_to_ruleset_s": round(t_done - t0, 2)}


def bench_nft_direct(args) -> dict:
    from stratus.dataplane import firewall, netns, nft
    from stratus.dataplane.ip import ip
    tag = uuidlib.uuid4().hex[:5]
    ns, net = f"sbn-{tag}", f"bn{tag}-" + uuidlib.uuid4().hex[:20]
    pid = f"bn{tag}p-" + uuidlib.uuid4().hex
    port = {"id": pid, "network_id": net, "mac_address": "fa:16:3e:55:00:05",
            "device_owner": "compute:nova", "tap": "tap" + pid[:11],
            "fixed_ips": [{"subnet_id": "s", "ip_address": "10.55.0.5"}]}

    def rules(n, first=20000):
        """An egress rule and ``n`` TCP ingress rules (ports 20000.., the
        first one ``first``)."""
        out = [{"id": "egress", "direction": "egress", "ethertype": "IPv4",
                "protocol": None, "port_range_min": None, "port_range_max": None,
                "remote_ip_prefix": None, "remote_group_id": None}]
        for i in range(n):
            port_no = first if i == 0 else 20000 + i
            out.append({"id": f"r{i}", "direction": "ingress", "ethertype": "IPv4",
                        "protocol": "tcp", "port_range_min": port_no,
                        "port_range_max": port_no,
                        "remote_ip_prefix": "0.0.0.0/0", "remote_group_id": None})
        return out

    def state(rs):
        return {"networks": [{"id": net}], "ports": [dict(port)],
                "firewall": {"ports": {pid: {"port_security_enabled": True,
                                             "security_groups": ["g"],
                                             "allowed_address_pairs": []}},
                             "groups": {"g": {"stateful": True, "rules": rs}},
                             "members": {}}}
    tmp = tempfile.mkdtemp(prefix="bench-nft-")
    try:
        netns.ensure(ns)
        ip(ns, "link", "add", "brq" + net[:11], "type", "bridge")
        ip(ns, "link", "add", port["tap"], "type", "veth", "peer", "name", "p" + tag)
        ip(ns, "link", "set", port["tap"], "master", "brq" + net[:11])
        s1, s2 = state(rules(args.rules)), state(rules(args.rules, first=19000))
        t = time.monotonic()
        firewall.compile_ruleset(s1)
        compile_s = time.monotonic() - t
        t = time.monotonic()
        applied_first = nft.sync(ns, s1, tmp)
        first_s = time.monotonic() - t
        t = time.monotonic()
        applied_noop = nft.sync(ns, s1, tmp)
        noop_s = time.monotonic() - t
        t = time.monotonic()
        applied_change = nft.sync(ns, s2, tmp)
        change_s = time.monotonic() - t
        have = dports(ns, 20001, args.rules - 1) + 1
        return {"rules": args.rules, "compile_ms": round(compile_s * 1000, 1),
                "first_apply_ms": round(first_s * 1000, 1), "first_applied": applied_first,
                "noop_sync_ms": round(noop_s * 1000, 1), "noop_applied": applied_noop,
                "one_rule_changed_ms": round(change_s * 1000, 1),
                "change_applied": applied_change, "rules_in_kernel": have}
    finally:
        netns.delete(ns)
        shutil.rmtree(tmp, ignore_errors=True)


# -- main ---------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=32, help="MiB per transfer (default 32)")
    ap.add_argument("--repeats", type=int, default=3, help="transfers per path (default 3)")
    ap.add_argument("--boots", type=int, default=3, help="boots for the FIP figure (3)")
    ap.add_argument("--rules", type=int, default=1000, help="security-group rules (1000)")
    ap.add_argument("--virt-type", default="qemu",
                    help="[qemu] virt_type of the lab hosts (default qemu: TCG)")
    ap.add_argument("--keep", action="store_true", help="keep the state directory")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/network needs root (lab namespaces)")
        return 2
    from stratus.guestimage import build
    build.build()
    prefix = "bn" + uuidlib.uuid4().hex[:4]
    results: dict = {"prefix": prefix}
    t_start = time.monotonic()
    print("3. security groups: nft apply on a scratch namespace ...", flush=True)
    results["nft_direct"] = bench_nft_direct(args)
    print(json.dumps(results["nft_direct"]), flush=True)
    cloud = Cloud(prefix, virt_type=args.virt_type)
    try:
        w = setup(cloud)
        h1, h2 = cloud.hosts[:2]
        port_a, body_a, _ = boot(cloud, w, "bn-a", h1, IP_A)
        _, body_b, _ = boot(cloud, w, "bn-b", h2, IP_B)
        vms = [create(cloud, body_a), create(cloud, body_b)]
        for s in vms:
            wait_active(cloud, s["id"])
            wait(lambda s=s: "REMOTE-SHELL-UP" in console(cloud, s["id"]), 300,
                 "the guest's user data", 0.5)
        wait(lambda: remote_ok(dhcp_ns(w, h1)[0], IP_A), 120, "vm A's shell")
        wait(lambda: remote_ok(dhcp_ns(w, h2)[0], IP_B), 120, "vm B's shell")
        print("1. VM-to-VM throughput across hosts ...", flush=True)
        results["throughput"] = bench_throughput(cloud, w, args)
        print(json.dumps(results["throughput"]), flush=True)
        print("3. security groups: rules through the API ...", flush=True)
        results["sg_api"] = bench_sg_api(cloud, w, port_a, args)
        print(json.dumps(results["sg_api"]), flush=True)
        for s in vms:
            delete(cloud, s["id"])
        print("2. server create -> ping on its floating IP ...", flush=True)
        results["fip"] = bench_fip(cloud, w, args)
        print(json.dumps(results["fip"]), flush=True)
    finally:
        cloud.close(args.keep)
    left = [n for n in sh("ip", "netns", "list").split() if prefix in n]
    results["namespaces_left"] = left
    results["total_s"] = round(time.monotonic() - t_start, 1)
    out = ROOT / "bench" / "results" / "network.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    t, f, a, d = (results[k] for k in ("throughput", "fip", "sg_api", "nft_direct"))
    print(f"SUMMARY throughput: VM-to-VM across lab hosts {t['median_vm_mbit_s']} Mbit/s "
          f"(busybox nc, {t['mib']} MiB, median of {t['repeats']}); the same between two "
          f"namespaces over the same VXLAN {t['median_namespaces_mbit_s']} Mbit/s; "
          f"ratio {t['vm_over_namespaces']}")
    print(f"SUMMARY boot-to-floating-IP ping: median {f['median_s']} s over "
          f"{len(f['boots'])} boots ({', '.join(str(r['seconds']) for r in f['boots'])})")
    print(f"SUMMARY security-group rules via API: {a['rules']} rules created in "
          f"{a['api_create_s']} s ({a['api_rules_per_s']}/s, bulk create "
          f"{'yes' if a['bulk_create_supported'] else 'no'}); last POST -> in the host's "
          f"nft ruleset {a['last_post_to_ruleset_s']} s; first POST -> all in "
          f"{a['first_post_to_ruleset_s']} s")
    print(f"SUMMARY nft apply of {d['rules']} rules: compile {d['compile_ms']} ms, first "
          f"apply {d['first_apply_ms']} ms, no-op re-sync {d['noop_sync_ms']} ms "
          f"(applied: {d['noop_applied']}), one rule changed {d['one_rule_changed_ms']} ms")
    print(f"results in {out}; lab namespaces left: {left or 'none'}; total "
          f"{results['total_s']} s")
    return 0 if not left else 1


if __name__ == "__main__":
    sys.exit(main())
