"""Create and tear down an emulated WAN link between two fresh namespaces.

    with Link(rate_mbps=100, rtt_ms=100, loss=0.01, mtu=1500) as link:
        subprocess.run(link.server_cmd(["python3", "-m", "http.server"]), ...)
        link.client_ns, link.server_ns, link.client_ip, link.server_ip

Two namespaces ``wan-<hex>-c`` (client) and ``wan-<hex>-s`` (server), each
with loopback up and a TUN device ``wan0`` (point-to-point, 10.201.0.1 on
the client side, 10.201.0.2 on the server side, MTU ``mtu``), joined by the
forwarder of emulator.py running in its own process.  Each direction is its
own emulated link with the same rate, one-way delay rtt/2, loss and
reordering.  Both namespaces allow TCP socket buffers up to 64 MiB (a tuned
host: the default 4-6 MiB cap would window-limit TCP below 1 Gbit/s x 100 ms).
Their default TCP congestion control is the host's (BBR on this machine; a
namespace may only pick one of tcp_allowed_congestion_control, so callers
wanting CUBIC set it per socket with TCP_CONGESTION).

Leaving the block — normally, by an exception or by KeyboardInterrupt —
stops the forwarder (its devices vanish with it), kills every process still
inside the two namespaces (all of them were started by the caller through
this link) and deletes the namespaces.  ``close()`` is idempotent.  After
close, ``stats`` holds the forwarder's per-direction counters.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "wan-"
CLIENT_IP, SERVER_IP = "10.201.0.1", "10.201.0.2"
DEV = "wan0"
TCP_BUF_MAX = 64 * 1024 * 1024


def _ip(*args: str) -> None:
    cp = subprocess.run(["ip", *args], capture_output=True, text=True)
    if cp.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {cp.stderr.strip()}")


def ns_exec(ns: str, argv: list[str]) -> list[str]:
    """The command line running ``argv`` inside namespace ``ns``."""
    return ["ip", "netns", "exec", ns, *argv]


def ns_pids(ns: str) -> list[int]:
    cp = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    return [int(x) for x in cp.stdout.split()] if cp.returncode == 0 else []


def wan_namespaces() -> list[str]:
    """Every namespace with the emulator's prefix (for leak checks)."""
    cp = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in cp.stdout.splitlines()
            if line.startswith(PREFIX)]


class Link:
    def __init__(self, rate_mbps: float, rtt_ms: float, loss: float = 0.0, mtu: int = 1500,
                 reorder: float = 0.0, reorder_delay_ms: float = 5.0,
                 queue_bytes: int | None = None, seed: int | None = None):
        self.rate_mbps, self.rtt_ms, self.loss, self.mtu = rate_mbps, rtt_ms, loss, mtu
        self.reorder, self.reorder_delay_ms = reorder, reorder_delay_ms
        self.queue_bytes, self.seed = queue_bytes, seed
        tag = uuid.uuid4().hex[:6]
        self.client_ns, self.server_ns = f"{PREFIX}{tag}-c", f"{PREFIX}{tag}-s"
        self.client_ip, self.server_ip = CLIENT_IP, SERVER_IP
        self.dev = DEV
        self.stats: dict | None = None
        self._proc: subprocess.Popen | None = None
        self._statsfile = None
        self._made: list[str] = []

    # -- helpers for callers -------------------------------------------------
    def client_cmd(self, argv: list[str]) -> list[str]:
        return ns_exec(self.client_ns, argv)

    def server_cmd(self, argv: list[str]) -> list[str]:
        return ns_exec(self.server_ns, argv)

    def describe(self) -> str:
        return (f"{self.rate_mbps:g} Mbit/s, RTT {self.rtt_ms:g} ms, loss {self.loss:.2%}, "
                f"MTU {self.mtu}")

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self) -> "Link":
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        for ns in (self.client_ns, self.server_ns):
            _ip("netns", "add", ns)
            self._made.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
            for key in ("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"):
                subprocess.run(ns_exec(ns, ["sysctl", "-q", "-w",
                                            f"{key}=4096 131072 {TCP_BUF_MAX}"]),
                               check=True, capture_output=True)
            # The link is IPv4: no IPv6 link-local chatter (MLD, router
            # solicitations) crosses it and gets counted among the emulated drops.
            for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"):
                subprocess.run(ns_exec(ns, ["sysctl", "-q", "-w", f"{key}=1"]),
                               check=False, capture_output=True)
        self._start_forwarder()

    def reconfigure(self, **params) -> None:
        """Change the link (rate_mbps, rtt_ms, loss, mtu, reorder, ...) keeping
        the namespaces and what runs in them: the forwarder is restarted and
        the devices re-created, so open connections through the link break,
        but servers listening on 0.0.0.0 keep serving.  ``stats`` then holds
        the counters of the previous configuration."""
        for key, value in params.items():
            if not hasattr(self, key):
                raise TypeError(f"unknown link parameter {key!r}")
            setattr(self, key, value)
        self._stop_forwarder()
        self._start_forwarder()

    def _start_forwarder(self) -> None:
        fd, self._statsfile = tempfile.mkstemp(prefix="wan-stats-", suffix=".json")
        os.close(fd)
        argv = [sys.executable, "-m", "bench.wan.emulator",
                "--ns-a", self.client_ns, "--ns-b", self.server_ns, "--dev", self.dev,
                "--rate-mbps", str(self.rate_mbps), "--delay-ms", str(self.rtt_ms / 2),
                "--loss", str(self.loss), "--reorder", str(self.reorder),
                "--reorder-delay-ms", str(self.reorder_delay_ms), "--mtu", str(self.mtu),
                "--stats", self._statsfile, "--rt"]
        if self.queue_bytes is not None:
            argv += ["--queue-bytes", str(self.queue_bytes)]
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self._proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                      stdin=subprocess.DEVNULL, text=True)
        line = self._proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the WAN forwarder did not start (exit {self._proc.poll()})")
        for ns, mine, peer in ((self.client_ns, self.client_ip, self.server_ip),
                               (self.server_ns, self.server_ip, self.client_ip)):
            _ip("-n", ns, "link", "set", self.dev, "mtu", str(self.mtu),
                "txqueuelen", "10000", "up")
            _ip("-n", ns, "addr", "add", f"{mine}/32", "peer", f"{peer}/32", "dev", self.dev)

    def _stop_forwarder(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.stdout.close()
        if self._statsfile:
            try:
                with open(self._statsfile) as f:
                    self.stats = json.load(f)
            except (OSError, ValueError):
                pass
            try:
                os.unlink(self._statsfile)
            except OSError:
                pass
            self._statsfile = None

    def close(self) -> None:
        self._stop_forwarder()
        made, self._made = self._made, []
        for ns in made:
            self._kill_inside(ns)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    @staticmethod
    def _kill_inside(ns: str) -> None:
        """Stop what the caller left running in ``ns`` (TERM, then KILL)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = ns_pids(ns)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 3
            while ns_pids(ns) and time.monotonic() < deadline:
                time.sleep(0.05)
