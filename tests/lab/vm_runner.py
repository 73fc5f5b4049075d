"""Run a command (a pytest run) inside a throwaway QEMU VM booting a Debian kernel.

For lab tests this host's kernel cannot run (no 802.1Q here and on CI):
``scripts/install.sh --test`` unpacks a Debian kernel package, never installed
into the system, into ``.cache/vm-kernel/`` (``release`` names its version).
The VM has no disk and no network device (``-nic none``): its root is the
HOST's ``/`` shared read-only over 9p (QEMU's ``-virtfs ... readonly=on``),
with tmpfs on ``/tmp /run /var/tmp /var/lib /root``, so the repo, its
``.venv`` and the host's tools are where they are on the host and nothing the
VM does reaches the host.  The initrd (built per run, a few MB: busybox, the
virtio + 9p modules and ``/init``) mounts that root, lets the kernel load any
other module on demand from the cached tree (busybox ``modprobe``; the usermode
helper runs in the initramfs root, which holds a symlink to the modules), then
runs the command chrooted into the shared root and prints a marker line with
its exit status on the serial console, which the host reads from a file.
QEMU is killed on timeout; the temporary directory always goes.

``python tests/lab/vm_runner.py tests/lab/test_vlan_provider.py`` runs by hand.
"""
from __future__ import annotations

import dataclasses
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL_CACHE = os.path.join(REPO, ".cache", "vm-kernel")
BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p")          # to mount the root
MARK = "@@stratus-vm"
RC_RE = re.compile(r"^@@stratus-vm rc=(\d+)@@\s*$", re.M)
BOOTED_RE = re.compile(r"^@@stratus-vm booted@@\s*$", re.M)
TMPFS_DIRS = ("tmp", "run", "var/tmp", "var/lib", "root")


@dataclasses.dataclass(frozen=True)
class Kernel:
    release: str
    vmlinuz: str
    moddir: str            # .../lib/modules/<release>


@dataclasses.dataclass
class Result:
    rc: int | None         # the command's exit status; None: no marker (timeout, crash)
    console: str
    boot_seconds: float | None    # QEMU start -> root mounted, command starting
    total_seconds: float
    accel: str


def find_kernel(cache: str = KERNEL_CACHE) -> Kernel | None:
    """The unpacked kernel, or None when install.sh has not fetched it."""
    try:
        with open(os.path.join(cache, "release")) as f:
            release = f.read().strip()
    except OSError:
        return None
    k = Kernel(release, os.path.join(cache, "boot", f"vmlinuz-{release}"),
               os.path.join(cache, "lib", "modules", release))
    ok = os.path.isfile(k.vmlinuz) and os.path.isfile(os.path.join(k.moddir, "modules.dep"))
    return k if ok else None


def module_load_order(modules_dep: str, names: tuple[str, ...]) -> list[str]:
    """``modules.dep`` text + module names -> the .ko paths (relative to the
    modules dir) to insmod, every dependency before its users, each once."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in modules_dep.splitlines():
        if ":" not in line:
            continue
        path, rest = line.split(":", 1)
        deps[path] = rest.split()
        by_name[os.path.basename(path).split(".ko")[0].replace("-", "_")] = path
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        for d in deps.get(path, []):
            visit(d)
        order.append(path)

    for n in names:
        key = n.replace("-", "_")
        if key not in by_name:
            raise KeyError(f"module {n} not in modules.dep (built in, or not this kernel?)")
        visit(by_name[key])
    return order


def init_script(release: str, moddir: str, insmods: list[str], command: str,
                keep: str = REPO) -> str:
    """The VM's /init (busybox sh): mount the host's / read-only, run ``command``
    chrooted into it, print ``@@stratus-vm rc=N@@``, power off.  ``keep`` (the
    repo) stays visible even when it lies under one of the tmpfs directories."""
    loads = "\n".join(f"insmod /lib/modules/{release}/{p}" for p in insmods)
    tmpfs = "\n".join(f"mount -t tmpfs -o mode=1777 tmpfs /newroot/{d}" for d in TMPFS_DIRS)
    if any(keep.startswith(f"/{d}/") for d in TMPFS_DIRS):
        q = shlex.quote(keep)
        tmpfs = (f"mkdir /keep; mount --bind /newroot{q} /keep\n{tmpfs}\n"
                 f"mkdir -p /newroot{q}; mount --bind /keep /newroot{q}")
    return f"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo 1 > /proc/sys/kernel/printk
{loads}
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /newroot \\
  || {{ echo "cannot mount the host root"; echo "{MARK} rc=250@@"; poweroff -f; }}
# on-demand module loading (8021q, bridge, veth, nf_tables...) from the cached kernel tree
rm -rf /lib/modules/{release}; ln -s /newroot{shlex.quote(moddir)} /lib/modules/{release}
echo /bin/modprobe > /proc/sys/kernel/modprobe
# tun: /dev/net/tun appears only once it is loaded (no static nodes here); vxlan: with it
# unloaded `ip -j link show type vxlan` prints [{{}}] (a host agent has it loaded already)
modprobe tun; modprobe vxlan
{tmpfs}
mount -t proc proc /newroot/proc; mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev; mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts; mount -t tmpfs tmpfs /newroot/dev/shm
echo "{MARK} booted@@"
chroot /newroot /bin/sh -c {shlex.quote(command)} </dev/null 2>&1
echo "{MARK} rc=$?@@"
poweroff -f
"""


def newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A cpio ``newc`` archive (what the kernel unpacks as initramfs) of
    ``(name, mode, data)``; a symlink's data is its target."""
    out = io.BytesIO()

    def put(name: str, mode: int, data: bytes, ino: int) -> None:
        raw = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(raw), 0)
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + raw)
        out.write(b"\0" * (-out.tell() % 4) + data)
        out.write(b"\0" * (-out.tell() % 4))

    for i, (name, mode, data) in enumerate(entries, start=1):
        put(name, mode, data, i)
    put("TRAILER!!!", 0, b"", 0)
    return out.getvalue()


def build_initrd(kernel: Kernel, command: str) -> bytes:
    with open(os.path.join(kernel.moddir, "modules.dep")) as f:
        insmods = module_load_order(f.read(), BOOT_MODULES)
    with open(shutil.which("busybox") or "/bin/busybox", "rb") as f:
        busybox = f.read()
    d, x = 0o040755, 0o100755
    entries = [(n, d, b"") for n in ("bin", "dev", "proc", "sys", "newroot", "lib",
                                     "lib/modules", f"lib/modules/{kernel.release}")]
    entries += [("bin/busybox", x, busybox),
                ("init", x, init_script(kernel.release, kernel.moddir, insmods,
                                        command).encode())]
    dirs = set()
    for p in insmods:
        parts = p.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    base = f"lib/modules/{kernel.release}"
    entries += [(f"{base}/{q}", d, b"") for q in sorted(dirs, key=lambda s: s.count("/"))]
    for p in insmods:
        with open(os.path.join(kernel.moddir, p), "rb") as f:
            entries.append((f"{base}/{p}", 0o100644, f.read()))
    return newc(entries)


def choose_accel(binary: str) -> str:
    """TCG unless ``STRATUS_VM_ACCEL=kvm`` (or ``auto``: the project's KVM probe).
    The emulator boots this kernel in ~5 s; KVM is not the default because on
    nested hosts (this one, CI) the boot-sector probe passes yet a real kernel
    hangs at entry under KVM (see stratus/virt/qemu/kvm_probe.py)."""
    want = os.environ.get("STRATUS_VM_ACCEL", "tcg")
    if want == "auto":
        from stratus.virt.qemu.kvm_probe import kvm_usable
        return "kvm" if kvm_usable(binary, cpu="host") else "tcg"
    if want not in ("kvm", "tcg"):
        raise ValueError(f"STRATUS_VM_ACCEL must be tcg, kvm or auto, not {want!r}")
    return want


def qemu_command(binary: str, kernel: Kernel, initrd: str, console: str, accel: str,
                 memory_mb: int = 1536, cpus: int = 1) -> list[str]:
    """One vCPU by default: under TCG each vCPU is a busy host thread, and the
    test suite runs other VMs (with zero-loss ping streams) beside this one."""
    accel_args = (["-accel", "kvm", "-cpu", "host"] if accel == "kvm"
                  else ["-accel", "tcg,thread=multi", "-cpu", "max"])
    return [binary, "-no-user-config", "-nodefaults", "-machine", "q35", *accel_args,
            "-m", str(memory_mb), "-smp", str(cpus), "-display", "none", "-no-reboot",
            "-nic", "none", "-kernel", kernel.vmlinuz, "-initrd", initrd,
            "-append", "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,"
                       "multidevs=remap",
            "-serial", f"file:{console}"]


def run(command: str, timeout: float = 300.0, kernel: Kernel | None = None,
        accel: str | None = None, binary: str = "qemu-system-x86_64") -> Result:
    """Boot the VM, run ``command`` (sh) in it, return its status and console."""
    kernel = kernel or find_kernel()
    if kernel is None:
        raise FileNotFoundError(f"no VM kernel in {KERNEL_CACHE}: run scripts/install.sh --test")
    accel = accel or choose_accel(binary)
    tmp = tempfile.mkdtemp(prefix="stratus-vm-")
    start = time.monotonic()
    proc = None
    try:
        initrd, console = os.path.join(tmp, "initrd"), os.path.join(tmp, "console.log")
        with open(initrd, "wb") as f:
            f.write(build_initrd(kernel, command))
        with open(os.path.join(tmp, "qemu.err"), "wb") as err:
            proc = subprocess.Popen(qemu_command(binary, kernel, initrd, console, accel),
                                    stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        boot, text = None, ""
        deadline = start + timeout
        while time.monotonic() < deadline:
            text = _read(console)
            if boot is None and BOOTED_RE.search(text):
                boot = time.monotonic() - start
            if RC_RE.search(text) or proc.poll() is not None:
                break
            time.sleep(0.1)
        if proc.poll() is None:
            try:
                proc.wait(timeout=5 if RC_RE.search(text) else 0)   # poweroff follows rc
            except subprocess.TimeoutExpired:
                pass
        text = _read(console) + _read(os.path.join(tmp, "qemu.err"))
        m = RC_RE.search(text)
        return Result(int(m.group(1)) if m else None, text, boot,
                      time.monotonic() - start, accel)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def pytest_command(args: list[str], repo: str = REPO) -> str:
    """The shell command running pytest from ``repo`` inside the VM."""
    env = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "
           "PYTHONDONTWRITEBYTECODE=1 TMPDIR=/tmp")
    return (f"cd {shlex.quote(repo)} && env {env} {shlex.quote(repo)}/.venv/bin/python -m pytest"
            f" -q -rs --color=no -p no:cacheprovider {' '.join(shlex.quote(a) for a in args)}")


if __name__ == "__main__":
    res = run(pytest_command(sys.argv[1:] or ["tests/lab/test_vlan_provider.py"]))
    print(res.console)
    print(f"rc={res.rc} accel={res.accel} boot={res.boot_seconds and round(res.boot_seconds, 1)}s"
          f" total={res.total_seconds:.1f}s")
    sys.exit(0 if res.rc == 0 else 1)
