"""Boot the guest image under QEMU TCG on a private network namespace.

``GuestLab`` creates a namespace ``sgi-<random>`` holding a bridge (the
guest's gateway, 10.231.7.1/24), a tap for the guest and dnsmasq serving one
static lease; ``boot()`` starts QEMU inside that namespace with the image
(read-only, ``snapshot=on``), an optional config drive as an IDE CD-ROM, and
the serial console in a file.  Everything (QEMU, dnsmasq, the namespace with
its links) is removed by ``close()``, which the context manager always calls.

Run as a script to measure boot times: ``python tests/guest/guest_harness.py
IMAGE [RUNS]`` prints the seconds from QEMU start to the ready line.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SUBNET = "10.231.7"
GATEWAY = f"{SUBNET}.1"
GUEST_IP = f"{SUBNET}.50"
GUEST_MAC = "52:54:00:5a:67:01"
READY = re.compile(r"=== STRATUS GUEST READY (.*) ===")


def sh(*cmd: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kw)


class GuestLab:
    def __init__(self, prefix: str = "sgi-"):
        self.ns = prefix + secrets.token_hex(3)
        self.dir = tempfile.mkdtemp(prefix=self.ns + "-")
        self.bridge, self.tap = "sgibr0", "sgitap0"
        self.procs: list[subprocess.Popen] = []
        self.console = os.path.join(self.dir, "console.log")
        self.started = 0.0

    # -- set-up ---------------------------------------------------------------------
    def __enter__(self) -> "GuestLab":
        try:
            self._network()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def ns_exec(self, *cmd: str, check: bool = True, timeout: float = 30,
                **kw) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", self.ns, *cmd, check=check, timeout=timeout, **kw)

    def _network(self) -> None:
        sh("ip", "netns", "add", self.ns)
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "add", self.bridge, "type", "bridge", "forward_delay", "0"],
                    ["ip", "addr", "add", f"{GATEWAY}/24", "dev", self.bridge],
                    ["ip", "link", "set", self.bridge, "up"],
                    ["ip", "tuntap", "add", self.tap, "mode", "tap"],
                    ["ip", "link", "set", self.tap, "master", self.bridge],
                    ["ip", "link", "set", self.tap, "up"]):
            self.ns_exec(*cmd)
        self._spawn("dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
                    "--no-resolv", "--no-hosts", f"--interface={self.bridge}",
                    "--bind-interfaces", "--except-interface=lo",
                    f"--dhcp-range={SUBNET}.0,static,255.255.255.0,1h",
                    f"--dhcp-host={GUEST_MAC},{GUEST_IP}",
                    f"--dhcp-option=option:router,{GATEWAY}",
                    f"--dhcp-option=121,169.254.169.254/32,{GATEWAY},0.0.0.0/0,{GATEWAY}",
                    f"--dhcp-leasefile={self.dir}/leases",
                    f"--pid-file={self.dir}/dnsmasq.pid", log="dnsmasq.log")

    def _spawn(self, *cmd: str, log: str) -> subprocess.Popen:
        out = open(os.path.join(self.dir, log), "wb")
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, *cmd], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        out.close()
        self.procs.append(proc)
        return proc

    def serve_metadata(self, files: dict[str, bytes]) -> None:
        """A metadata service stand-in: 169.254.169.254:80 on the bridge serving
        ``files`` ({"openstack/latest/meta_data.json": ...})."""
        root = os.path.join(self.dir, "metadata")
        for rel, data in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "wb") as f:
                f.write(data)
        self.ns_exec("ip", "addr", "add", "169.254.169.254/32", "dev", self.bridge)
        self._spawn(sys.executable, "-m", "http.server", "--bind", "169.254.169.254",
                    "--directory", root, "80", log="metadata.log")

    # -- the VM ---------------------------------------------------------------------
    def boot(self, image: str, config_drive: str | None = None, memory_mb: int = 192,
             vcpus: int = 1) -> subprocess.Popen:
        argv = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-machine", "pc",
                "-accel", "tcg", "-cpu", "max", "-smp", str(vcpus), "-m", str(memory_mb),
                "-display", "none", "-vga", "none",
                "-chardev", f"file,id=ser0,path={self.console},append=on",
                "-serial", "chardev:ser0",
                "-drive", f"file={image},format=qcow2,if=none,id=d0,snapshot=on",
                "-device", "virtio-blk-pci,drive=d0,bootindex=0",
                "-netdev", f"tap,id=n0,ifname={self.tap},script=no,downscript=no",
                "-device", f"virtio-net-pci,netdev=n0,mac={GUEST_MAC}"]
        if config_drive:
            argv += ["-drive", f"file={config_drive},format=raw,if=none,id=cd0,"
                               "media=cdrom,readonly=on",
                     "-device", "ide-cd,drive=cd0,bus=ide.1"]
        self.started = time.monotonic()
        return self._spawn(*argv, log="qemu.log")

    def console_text(self) -> str:
        try:
            with open(self.console, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout: float = 90) -> tuple[str, float]:
        """(the ready line's fields, seconds since boot()); AssertionError with
        the console's tail when it does not come."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            m = READY.search(self.console_text())
            if m:
                return m.group(1), time.monotonic() - self.started
            if self.procs and self.procs[-1].poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no ready line after {time.monotonic() - self.started:.1f}s; "
                             f"console tail:\n{self.console_text()[-3000:]}")

    # -- tear-down ------------------------------------------------------------------
    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        self.procs.clear()
        sh("ip", "netns", "del", self.ns, check=False)
        if not os.environ.get("STRATUS_GUEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def measure(image: str, runs: int = 3, memory_mb: int = 192) -> list[float]:
    """Seconds from QEMU start to the ready line, per boot (config drive with
    a hostname, as the QEMU driver gives every instance)."""
    from stratus.virt.configdrive import make_config_drive
    times = []
    for i in range(runs):
        with GuestLab() as lab:
            drive = make_config_drive(os.path.join(lab.dir, "disk.config"),
                                      uuid=f"00000000-0000-4000-8000-{i:012d}",
                                      name=f"bench-{i}", hostname=f"bench-{i}")
            lab.boot(image, config_drive=drive, memory_mb=memory_mb)
            _, seconds = lab.wait_ready()
            times.append(round(seconds, 2))
    return times


if __name__ == "__main__":
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    mem = int(sys.argv[3]) if len(sys.argv) > 3 else 192
    t = measure(sys.argv[1], runs, mem)
    print("ready after", t, "median", sorted(t)[len(t) // 2])
