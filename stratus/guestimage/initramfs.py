"""The guest's whole userland, as initramfs entries (pure: bytes in, entries out).

busybox-static with one symlink per applet, the kernel modules, the init
scripts from ``assets/`` and the static UDP echo server.  The disk is only
read at boot; nothing the guest writes persists."""
from __future__ import annotations

import base64
import os
from importlib import resources

from stratus.guestimage import cpio

# asset file -> (path in the guest, mode)
ASSET_FILES = {
    "rcS": ("etc/init.d/rcS", 0o755),
    "inittab": ("etc/inittab", 0o644),
    "udhcpc.script": ("etc/udhcpc.script", 0o755),
    "jsonflat.awk": ("etc/jsonflat.awk", 0o644),
}
DIRS = ["bin", "sbin", "usr/bin", "usr/sbin", "etc/init.d", "etc/acpi/PWRF", "proc", "sys",
        "dev", "run", "tmp", "mnt", "root", "var/log", "www", "lib/modules"]


def asset(name: str) -> bytes:
    return resources.files("stratus.guestimage").joinpath("assets", name).read_bytes()


def asset_names() -> list[str]:
    """Every asset file (they all go into the build's cache key)."""
    root = resources.files("stratus.guestimage").joinpath("assets")
    return sorted(p.name for p in root.iterdir() if p.is_file())


def udp_echo() -> bytes:
    """The 4.7 KB static UDP echo server (assembled from assets/udp-echo.S;
    the test suite reassembles it when binutils is installed)."""
    return base64.b64decode(asset("udp-echo.b64"))


def applet_links(list_full: str) -> list[str]:
    """Applet paths from ``busybox --list-full``, without busybox itself (a
    symlink over bin/busybox would replace the binary by a loop)."""
    out = []
    for line in list_full.split():
        path = line.strip().strip("/")
        if path and path != "bin/busybox" and ".." not in path.split("/"):
            out.append(path)
    return sorted(set(out))


def entries(*, busybox: bytes, applets: list[str], release: str,
            modules: dict[str, bytes], modules_dep: dict[str, list[str]],
            load: list[str]) -> list[cpio.Entry]:
    """The initramfs: ``modules`` maps paths under lib/modules/<release>/ to
    .ko bytes, ``modules_dep`` is their dependency table, ``load`` the module
    names /etc/modules lists (loaded in that order by rcS)."""
    out = [cpio.directory(d) for d in DIRS]
    out.append(cpio.directory("root", 0o700))
    out.append(cpio.file("bin/busybox", busybox, 0o755))
    for path in applets:
        out.append(cpio.symlink(path, "/bin/busybox"))
    out.append(cpio.symlink("init", "/sbin/init"))
    for name, (path, mode) in ASSET_FILES.items():
        out.append(cpio.file(path, asset(name), mode))
    out.append(cpio.file("usr/bin/udp-echo", udp_echo(), 0o755))
    out.append(cpio.file("etc/acpi/PWRF/00000080", b"#!/bin/sh\npoweroff\n", 0o755))
    out.append(cpio.file("etc/passwd", b"root:*:0:0:root:/root:/bin/sh\n"))
    out.append(cpio.file("etc/group", b"root:x:0:\n"))
    out.append(cpio.file("etc/hosts", b"127.0.0.1 localhost\n"))
    out.append(cpio.file("etc/modules", "".join(f"{m}\n" for m in load).encode()))
    base = f"lib/modules/{release}"
    for rel, data in modules.items():
        out.append(cpio.file(f"{base}/{rel}", data))
    dep = "".join(f"{m}: {' '.join(modules_dep.get(m, []))}".rstrip() + "\n"
                  for m in sorted(modules))
    out.append(cpio.file(f"{base}/modules.dep", dep.encode()))
    dirs = {p for e in out for p in cpio.parents(e.path)}
    out.extend(cpio.directory(d) for d in sorted(dirs - {e.path for e in out}))
    return out


def image(entries_: list[cpio.Entry]) -> bytes:
    """The gzip-compressed newc archive the kernel unpacks."""
    return cpio.gzip_deterministic(cpio.archive(entries_))


def read_modules(module_dir: str, paths: list[str]) -> dict[str, bytes]:
    out = {}
    for rel in paths:
        with open(os.path.join(module_dir, rel), "rb") as f:
            out[rel] = f.read()
    return out
