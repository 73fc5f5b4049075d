"""``stratus image build``: the default guest image, cached by its inputs.

Inputs: Debian's cloud kernel package (apt-get download, never installed),
the host's static busybox, and the asset files.  A build is stored under
``<cache>/builds/<key>/`` where the key hashes all of them, so building again
with nothing changed returns at once; ``<cache>/current.json`` names the last
build (read by ``stratus up`` to register it)."""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time

from stratus.guestimage import disk, initramfs, kernel

LOG = logging.getLogger(__name__)
IMAGE_FILE = "stratus-guest.qcow2"
BUILD_FORMAT = 2                        # bump when the build recipe changes
HOST_BUSYBOX = "/bin/busybox"


class BuildError(RuntimeError):
    pass


def default_cache_dir() -> str:
    """/var/cache/stratus/guest-image for root, else ~/.cache/stratus/guest-image."""
    if os.geteuid() == 0:
        return "/var/cache/stratus/guest-image"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "stratus", "guest-image")


# -- pure ------------------------------------------------------------------------
def is_static_elf(head: bytes) -> bool:
    """True for an ELF64 executable without a PT_INTERP program header (no
    dynamic loader needed), judged from the file's first 4 KiB."""
    if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", head, 32)
    phentsize, phnum = struct.unpack_from("<HH", head, 54)
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 4 > len(head):
            return False
        if struct.unpack_from("<I", head, off)[0] == 3:       # PT_INTERP
            return False
    return True


def cache_key(*, kernel_deb: str, busybox_sha256: str, assets: dict[str, bytes],
              modules: list[str]) -> str:
    """Hash of everything the image is made of (16 hex digits)."""
    h = hashlib.sha256()
    h.update(f"format={BUILD_FORMAT}\nkernel={kernel_deb}\nbusybox={busybox_sha256}\n"
             f"modules={','.join(modules)}\n".encode())
    for name in sorted(assets):
        h.update(f"asset={name}:{hashlib.sha256(assets[name]).hexdigest()}\n".encode())
    return h.hexdigest()[:16]


# -- cache -----------------------------------------------------------------------
def current(cache_dir: str | None = None) -> dict | None:
    """The manifest of the last build whose image still exists, or None."""
    path = os.path.join(cache_dir or default_cache_dir(), "current.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return None
    return manifest if os.path.exists(manifest.get("path", "")) else None


def _write_json(path: str, doc: dict) -> None:
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def busybox_version(banner: str) -> str:
    """``BusyBox v1.35.0 (Debian 1:1.35.0-4) multi-call binary.`` -> ``1.35.0 (Debian 1:1.35.0-4)``."""
    m = re.match(r"\s*BusyBox v(\S+)(\s+\([^)]*\))?", banner)
    return (m.group(1) + (m.group(2) or "")) if m else "unknown"


def _busybox_version(path: str) -> str:
    return busybox_version(subprocess.run([path], capture_output=True, text=True).stdout)


def _busybox(cache_dir: str) -> str:
    """A static busybox: the host's (busybox-static) or one from its .deb."""
    if os.path.exists(HOST_BUSYBOX):
        with open(HOST_BUSYBOX, "rb") as f:
            if is_static_elf(f.read(4096)):
                return HOST_BUSYBOX
    deb = kernel.download("busybox-static", os.path.join(cache_dir, "debs"))
    dest = os.path.join(cache_dir, "busybox-static")
    if not os.path.exists(os.path.join(dest, "bin", "busybox")):
        subprocess.run(["dpkg-deb", "-x", deb, dest], check=True)
    return os.path.join(dest, "bin", "busybox")


# -- build -----------------------------------------------------------------------
def build(cache_dir: str | None = None, force: bool = False) -> str:
    """Build (or find in the cache) the guest image; returns the qcow2 path.
    Builds into one cache directory are serialised by a lock file."""
    cache_dir = os.path.abspath(cache_dir or default_cache_dir())
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(cache_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(cache_dir, force)


def _build_locked(cache_dir: str, force: bool) -> str:
    try:
        package = kernel.resolve_package()
        deb = kernel.download(package, os.path.join(cache_dir, "debs"))
        busybox = _busybox(cache_dir)
    except (kernel.KernelError, subprocess.CalledProcessError, OSError) as exc:
        last = current(cache_dir)
        if last and not force:
            LOG.warning("cannot fetch the build inputs (%s); keeping %s", exc, last["path"])
            return last["path"]
        raise BuildError(str(exc)) from exc
    assets = {n: initramfs.asset(n) for n in initramfs.asset_names()}
    key = cache_key(kernel_deb=os.path.basename(deb), busybox_sha256=_sha256_file(busybox),
                    assets=assets, modules=kernel.MODULES)
    out_dir = os.path.join(cache_dir, "builds", key)
    out = os.path.join(out_dir, IMAGE_FILE)
    manifest_path = os.path.join(out_dir, "manifest.json")
    if os.path.exists(out) and os.path.exists(manifest_path) and not force:
        with open(manifest_path) as f:
            manifest = json.load(f)
    else:
        started = time.monotonic()
        os.makedirs(out_dir, exist_ok=True)
        manifest = _assemble(cache_dir, package, deb, busybox, assets, out)
        manifest.update(key=key, build_seconds=round(time.monotonic() - started, 2))
        _write_json(manifest_path, manifest)
        LOG.info("built %s in %.1fs", out, manifest["build_seconds"])
    _write_json(os.path.join(cache_dir, "current.json"), manifest)
    _prune(cache_dir, keep_build=key, keep_package=package, keep_deb=deb)
    return out


def _assemble(cache_dir: str, package: str, deb: str, busybox: str,
              assets: dict[str, bytes], out: str) -> dict:
    """Unpack the kernel, make the initramfs and the disk; the manifest fields."""
    root = os.path.join(cache_dir, "kernel", package)
    release = kernel.extract(deb, root)
    deps = kernel.modules_dep(root, release, busybox)
    needed = kernel.closure(deps, kernel.MODULES)
    list_full = subprocess.run([busybox, "--list-full"], capture_output=True, text=True,
                               check=True).stdout
    with open(busybox, "rb") as f:
        busybox_bytes = f.read()
    entries = initramfs.entries(
        busybox=busybox_bytes, applets=initramfs.applet_links(list_full), release=release,
        modules=initramfs.read_modules(os.path.join(root, "lib", "modules", release), needed),
        modules_dep={m: deps.get(m, []) for m in needed}, load=kernel.MODULES)
    with tempfile.TemporaryDirectory(prefix="guest-build-", dir=cache_dir) as work:
        initrd = os.path.join(work, "initrd.img")
        with open(initrd, "wb") as f:
            f.write(initramfs.image(entries))
        vmlinuz = os.path.join(work, "vmlinuz")
        shutil.copyfile(kernel.vmlinuz_path(root, release), vmlinuz)
        disk.make_disk(out, work, vmlinuz, initrd, assets["syslinux.cfg"])
    return {"path": out, "kernel_package": package, "kernel_deb": os.path.basename(deb),
            "kernel_release": release, "busybox_version": _busybox_version(busybox),
            "modules": needed, "size": os.path.getsize(out), "sha256": _sha256_file(out)}


def _prune(cache_dir: str, *, keep_build: str, keep_package: str, keep_deb: str) -> None:
    """Drop older builds, unpacked kernels and kernel .debs (the registered
    images live in the Image service's store, not here)."""
    for sub, keep in (("builds", keep_build), ("kernel", keep_package)):
        base = os.path.join(cache_dir, sub)
        for name in os.listdir(base) if os.path.isdir(base) else []:
            if name != keep:
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    debs = os.path.join(cache_dir, "debs")
    for name in os.listdir(debs) if os.path.isdir(debs) else []:
        if name.startswith("linux-image-") and name != os.path.basename(keep_deb):
            os.unlink(os.path.join(debs, name))
