"""QEMU command lines, built as pure functions of a launch spec.

No side effects here: the driver decides the paths and the accelerator, this
module only turns them into argv lists, so every option can be unit-tested.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

from stratus.virt.base import InstanceSpec

# A UNIX socket path longer than this does not fit in sockaddr_un (108 bytes
# with the terminating NUL); such sockets are bound relative to the cwd.
MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class Layout:
    """Absolute paths of one instance's files (see stratus.virt.paths)."""
    dir: str
    disk: str
    config_drive: str | None
    console_log: str
    qmp_socket: str
    pidfile: str


def qemu_opt(value: str) -> str:
    """Escape a value for a QEMU ``key=value,...`` option (commas double)."""
    return value.replace(",", ",,")


def cpu_model(accel: str, cpu_mode: str = "") -> str:
    """``host`` under KVM, ``max`` under TCG, unless the operator chose one."""
    if cpu_mode:
        return cpu_mode
    return "host" if accel == "kvm" else "max"


def socket_arg(path: str, cwd: str) -> str:
    """The path QEMU should bind: relative to ``cwd`` when the absolute one is too long."""
    if len(path) <= MAX_SOCKET_PATH:
        return path
    prefix = cwd.rstrip("/") + "/"
    if not path.startswith(prefix):
        raise ValueError(f"socket path {path} too long and not under {cwd}")
    return path[len(prefix):]


def netns_wrap(argv: list[str], netns: str | None) -> list[str]:
    """Run ``argv`` inside a network namespace when one is given."""
    if not netns:
        return list(argv)
    return ["ip", "netns", "exec", netns, *argv]


def nic_args(taps: list[dict[str, str]]) -> list[str]:
    args: list[str] = []
    for i, tap in enumerate(taps):
        netdev = f"tap,id=net{i},ifname={qemu_opt(tap['tap'])},script=no,downscript=no"
        device = f"virtio-net-pci,netdev=net{i},mac={tap['mac']}"
        args += ["-netdev", netdev, "-device", device]
    return args


def incoming_uri(saved_state: str) -> str:
    """Migration URI reading a state file written by :func:`outgoing_uri`."""
    return f"exec:cat {shlex.quote(saved_state)}"


def outgoing_uri(saved_state: str) -> str:
    """Migration URI that writes the VM state to a file (QEMU 7.2 has no ``file:``)."""
    return f"exec:cat > {shlex.quote(saved_state)}"


def build_command(spec: InstanceSpec, layout: Layout, *, binary: str, accel: str,
                  cpu_mode: str = "", incoming: str | None = None,
                  daemonize: bool = True) -> list[str]:
    """The full argv that starts ``spec``'s VM (wrapped in ``ip netns exec``
    when the spec names a namespace).  ``accel`` is ``kvm`` or ``tcg``;
    ``incoming`` is a migration URI to restore a suspended VM from."""
    if accel not in ("kvm", "tcg"):
        raise ValueError(f"unknown accelerator {accel!r}")
    qmp = socket_arg(layout.qmp_socket, layout.dir)
    argv = [
        binary,
        "-name", f"guest={qemu_opt(spec.name or spec.uuid)}",
        "-uuid", spec.uuid,
        "-no-user-config", "-nodefaults",
        "-machine", "pc", "-accel", accel,
        "-cpu", cpu_model(accel, cpu_mode),
        "-smp", str(int(spec.vcpus)),
        "-m", str(int(spec.memory_mb)),
        "-rtc", "base=utc",
        "-display", "none", "-vga", "none",
        "-chardev", f"socket,id=qmp,path={qemu_opt(qmp)},server=on,wait=off",
        "-mon", "chardev=qmp,mode=control",
        "-chardev", f"file,id=serial0,path={qemu_opt(layout.console_log)},append=on",
        "-serial", "chardev:serial0",
        "-drive", f"file={qemu_opt(layout.disk)},format=qcow2,if=none,id=disk0,cache=writeback",
        "-device", "virtio-blk-pci,drive=disk0,bootindex=0",
    ]
    if layout.config_drive:
        argv += ["-drive", f"file={qemu_opt(layout.config_drive)},format=raw,if=none,"
                           "id=cd0,media=cdrom,readonly=on",
                 "-device", "ide-cd,drive=cd0,bus=ide.1"]
    argv += nic_args(spec.taps)
    if incoming:
        argv += ["-incoming", incoming]
    if daemonize:
        argv += ["-daemonize", "-pidfile", layout.pidfile]
    return netns_wrap(argv, spec.netns)


def is_qemu_of(cmdline: list[str], uuid: str) -> bool:
    """True when a process's argv (``/proc/<pid>/cmdline`` split on NUL) is
    the QEMU of instance ``uuid`` (it carries ``-uuid <uuid>``)."""
    for i, arg in enumerate(cmdline[:-1]):
        if arg == "-uuid" and cmdline[i + 1] == uuid:
            return True
    return False
