"""bench/boot: how long a real VM takes to boot, and how the Compute API
lists 1,000 servers.

1. Boot (QEMU driver; TCG, and KVM when this machine can use it): for each of
   ``--boots`` servers, the time from ``POST /servers`` to status ACTIVE and
   to the guest's "STRATUS GUEST READY" line in the console output; median
   over the boots.  The peer in the same run: the same image booted by plain
   QEMU with no cloud (from QEMU start to the ready line).  Needs root
   (namespaces, taps) and the guest image (``stratus image build``).
2. List (fake driver, scale simulation): ``--servers`` servers created in
   batches (min/max_count), then the latency of ``GET /servers`` and
   ``GET /servers/detail`` (median and p95 of ``--requests`` calls).

Prints the figures and writes them as JSON to bench/results/boot.json.
Nothing is asserted: tests assert behaviour, benchmarks measure.

    .venv/bin/python bench/boot/run.py                 # full: 5 boots, 1,000 servers
    .venv/bin/python bench/boot/run.py --boots 1 --servers 100 --skip-kvm
"""
from __future__ import annotations

import argparse
import json
import os
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
STRATUS = str(Path(sys.executable).parent / "stratus")
READY = "=== STRATUS GUEST READY"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cloud:
    """A `stratus up` of its own in a temporary state directory."""

    def __init__(self, conf: str):
        self.dir = Path(tempfile.mkdtemp(prefix="stratus-bench-boot-"))
        (self.dir / "stratus.conf").write_text("[identity]\npassword_hash_rounds = 4\n" + conf)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["NO_PROXY"] = "127.0.0.1"
        self.proc = subprocess.Popen(
            [STRATUS, "up", "--state-dir", str(self.dir), "--port", str(self.port),
             "--no-user-clouds"], stdout=open(self.dir / "up.out", "wb"),
            stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.http = httpx.Client(timeout=120, trust_env=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.http.get(f"{self.base}/identity/v3").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit(f"stratus up did not start; see {self.dir}/up.out")
        creds = json.loads((self.dir / "credentials.json").read_text())
        self.token = self._token("demo", creds["demo"], "demo")
        self.admin = self._token("admin", creds["admin"], "admin")
        # The host agent registers its host shortly after the API is up.
        wait(lambda: self.call("GET", "/compute/v2.1/os-hypervisors",
                               self.admin).json().get("hypervisors"), 60, "the host agent")

    def _token(self, user, password, project) -> str:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        r = self.http.post(f"{self.base}/identity/v3/auth/tokens", json=body)
        r.raise_for_status()
        return r.headers["X-Subject-Token"]

    def call(self, method, path, token=None, **kw) -> httpx.Response:
        headers = {"X-Auth-Token": token or self.token}
        return self.http.request(method, f"{self.base}{path}", headers=headers, **kw)

    def first_id(self, path, key, name) -> str:
        r = self.call("GET", path, params={"name": name})
        r.raise_for_status()
        return r.json()[key][0]["id"]

    def close(self, keep: bool = False) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def wait(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def status_of(cloud, sid) -> str:
    r = cloud.call("GET", f"/compute/v2.1/servers/{sid}")
    return "GONE" if r.status_code == 404 else r.json()["server"]["status"]


def boot_once(cloud, image, flavor, net) -> tuple[float, float]:
    body = {"server": {"name": f"bench-{uuidlib.uuid4().hex[:6]}", "imageRef": image,
                       "flavorRef": flavor, "networks": [{"uuid": net}]}}
    t0 = time.monotonic()
    r = cloud.call("POST", "/compute/v2.1/servers", json=body)
    r.raise_for_status()
    sid = r.json()["server"]["id"]
    try:
        def active():
            s = status_of(cloud, sid)
            if s == "ERROR":
                raise RuntimeError(f"server {sid} went to ERROR")
            return s == "ACTIVE"
        wait(active, 300, "ACTIVE")
        t_active = time.monotonic() - t0

        def ready():
            r = cloud.call("POST", f"/compute/v2.1/servers/{sid}/action",
                           json={"os-getConsoleOutput": {"length": 50}})
            return r.status_code == 200 and READY in r.json().get("output", "")
        wait(ready, 300, "the ready line")
        return t_active, time.monotonic() - t0
    finally:
        cloud.call("DELETE", f"/compute/v2.1/servers/{sid}")
        wait(lambda: status_of(cloud, sid) == "GONE", 120, "delete")


def bench_boot(args, virt_type: str) -> dict:
    host = "b" + uuidlib.uuid4().hex[:6]
    cloud = Cloud(f"[compute]\ncompute_driver = qemu\nhost = {host}\n"
                  f"agent_poll_interval = 0.2\n[qemu]\nvirt_type = {virt_type}\n")
    try:
        image = cloud.first_id("/image/v2/images", "images", "stratus-guest")
        r = cloud.call("GET", "/compute/v2.1/flavors")
        flavor = next(f["id"] for f in r.json()["flavors"] if f["name"] == "m1.tiny")
        r = cloud.call("GET", "/network/v2.0/networks", params={"name": "private"})
        net = r.json()["networks"][0]["id"]
        runs = [boot_once(cloud, image, flavor, net) for _ in range(args.boots)]
    finally:
        cloud.close(args.keep)
        for ns in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                 text=True).stdout.split("\n"):
            name = ns.split(" ")[0]
            if name and (name == f"shost-{host}" or name.endswith(f"-{host}")):
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return {"virt_type": virt_type, "boots": len(runs),
            "active_s": [round(a, 2) for a, _ in runs],
            "ready_s": [round(b, 2) for _, b in runs],
            "median_active_s": round(statistics.median(a for a, _ in runs), 2),
            "median_ready_s": round(statistics.median(b for _, b in runs), 2)}


def bench_list(args) -> dict:
    cloud = Cloud("[compute]\ncompute_driver = fake\nhost = benchfake\n"
                  "agent_poll_interval = 0.5\nresync_interval = 600\n"
                  "[quota]\ninstances = -1\ncores = -1\nram = -1\n")
    try:
        image = cloud.first_id("/image/v2/images", "images", "stratus-guest")
        r = cloud.call("GET", "/compute/v2.1/flavors")
        flavor = next(f["id"] for f in r.json()["flavors"] if f["name"] == "m1.tiny")
        t0, made = time.monotonic(), 0
        while made < args.servers:
            n = min(100, args.servers - made)
            body = {"server": {"name": "scale", "imageRef": image, "flavorRef": flavor,
                               "networks": "none", "min_count": n, "max_count": n}}
            r = cloud.call("POST", "/compute/v2.1/servers", json=body)
            if r.status_code != 202:
                raise RuntimeError(f"create failed: {r.status_code} {r.text[:300]}")
            made += n
        created_s = time.monotonic() - t0

        def all_active():
            r = cloud.call("GET", "/compute/v2.1/servers/detail",
                           params={"status": "ACTIVE", "limit": 1000})
            return len(r.json()["servers"]) >= args.servers
        wait(all_active, 1800, f"{args.servers} servers ACTIVE")
        active_s = time.monotonic() - t0
        out = {"servers": args.servers, "create_s": round(created_s, 1),
               "all_active_s": round(active_s, 1)}
        for path in ("/compute/v2.1/servers", "/compute/v2.1/servers/detail"):
            times = []
            for _ in range(args.requests):
                t = time.monotonic()
                r = cloud.call("GET", path, params={"limit": 1000})
                times.append(time.monotonic() - t)
                assert len(r.json()["servers"]) == min(args.servers, 1000)
            times.sort()
            key = path.rsplit("/", 1)[-1]
            out[f"{key}_median_ms"] = round(statistics.median(times) * 1000, 1)
            out[f"{key}_p95_ms"] = round(times[int(0.95 * (len(times) - 1))] * 1000, 1)
        return out
    finally:
        cloud.close(args.keep)


def bench_bare(args) -> dict:
    """The peer: the same guest image booted by plain QEMU (same TCG flags, a
    config drive, a tap with dnsmasq in a namespace; tests/guest/guest_harness.py),
    with no cloud around it.  The difference to ``boot_tcg`` is what the cloud adds."""
    sys.path.insert(0, str(ROOT / "tests" / "guest"))
    import guest_harness
    from stratus.guestimage.build import build
    runs = guest_harness.measure(build(), args.boots, memory_mb=256)  # m1.tiny's RAM
    return {"boots": len(runs), "ready_s": runs,
            "median_ready_s": round(statistics.median(runs), 2)}


def kvm_usable() -> bool:
    from stratus.virt.qemu import cmdline, kvm_probe
    return kvm_probe.kvm_usable("qemu-system-x86_64", cmdline.cpu_model("kvm", ""))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--boots", type=int, default=5)
    p.add_argument("--servers", type=int, default=1000)
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--skip-boot", action="store_true")
    p.add_argument("--skip-list", action="store_true")
    p.add_argument("--skip-kvm", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the state directories")
    args = p.parse_args()
    results: dict = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if not args.skip_boot:
        if os.geteuid() != 0:
            results["boot"] = "skipped: needs root (namespaces, taps)"
        else:
            results["boot_tcg"] = bench_boot(args, "qemu")
            print(f"TCG boot, median of {args.boots}: ACTIVE "
                  f"{results['boot_tcg']['median_active_s']} s, ready line "
                  f"{results['boot_tcg']['median_ready_s']} s "
                  f"(all: {results['boot_tcg']['ready_s']})", flush=True)
            bare = results["boot_bare_qemu"] = bench_bare(args)
            print(f"peer, plain QEMU (TCG) with the same image, median of {args.boots}: "
                  f"ready line {bare['median_ready_s']} s (all: {bare['ready_s']}); the cloud "
                  f"adds {round(results['boot_tcg']['median_ready_s'] - bare['median_ready_s'], 2)}"
                  " s", flush=True)
            if args.skip_kvm or not kvm_usable():
                results["boot_kvm"] = "unavailable (KVM not usable on this machine)"
                print("KVM boot: unavailable (KVM not usable on this machine)", flush=True)
            else:
                results["boot_kvm"] = bench_boot(args, "kvm")
                print(f"KVM boot, median of {args.boots}: ACTIVE "
                      f"{results['boot_kvm']['median_active_s']} s, ready line "
                      f"{results['boot_kvm']['median_ready_s']} s", flush=True)
    if not args.skip_list:
        lst = results["list"] = bench_list(args)
        print(f"fake driver, {lst['servers']} servers (created in {lst['create_s']} s, all "
              f"ACTIVE after {lst['all_active_s']} s): GET /servers median "
              f"{lst['servers_median_ms']} ms p95 {lst['servers_p95_ms']} ms; "
              f"GET /servers/detail median {lst['detail_median_ms']} ms "
              f"p95 {lst['detail_p95_ms']} ms", flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "boot.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
