"""The guest's kernel and modules, from Debian's cloud kernel package.

Nothing is installed on the host: the versioned ``linux-image-*-cloud-amd64``
.deb is fetched with ``apt-get download`` into a cache directory and unpacked
there with ``dpkg-deb -x``; ``busybox depmod`` (kmod is not always installed)
writes the modules.dep from which the needed modules' closure is taken."""
from __future__ import annotations

import glob
import logging
import os
import re
import subprocess

LOG = logging.getLogger(__name__)

METAPACKAGE = "linux-image-cloud-amd64"

# What the guest loads at boot (/etc/modules), in this order; their
# dependencies come along.  af_packet, unix, devtmpfs and the 8250 serial
# console are built into Debian's cloud kernel.
MODULES = ["virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi", "sd_mod", "sr_mod",
           "ata_piix", "isofs", "vfat", "nls_cp437", "nls_ascii", "button", "evdev"]


class KernelError(RuntimeError):
    pass


# -- pure parsing ----------------------------------------------------------------
def versioned_package(apt_cache_depends: str) -> str:
    """The versioned kernel package the metapackage depends on, from the output
    of ``apt-cache depends linux-image-cloud-amd64``."""
    found = re.findall(r"^\s*Depends:\s*(linux-image-\S+-cloud-amd64)\s*$",
                       apt_cache_depends, re.M)
    if not found:
        raise KernelError(f"no linux-image-*-cloud-amd64 dependency in: {apt_cache_depends!r}")
    return found[0]


def parse_modules_dep(text: str) -> dict[str, list[str]]:
    """modules.dep -> {module file: [dependency files]} (paths relative to the
    module directory, e.g. ``kernel/drivers/net/virtio_net.ko``)."""
    deps: dict[str, list[str]] = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        mod, _, rest = line.partition(":")
        deps[mod.strip()] = rest.split()
    return deps


def module_name(path: str) -> str:
    """``kernel/fs/isofs/isofs.ko.xz`` -> ``isofs`` (``-`` and ``_`` are the same)."""
    base = os.path.basename(path)
    base = re.sub(r"\.ko(\.(xz|gz|zst))?$", "", base)
    return base.replace("-", "_")


def closure(deps: dict[str, list[str]], names: list[str]) -> list[str]:
    """Module files needed to load ``names``: each one and all its dependencies,
    sorted.  Raises KernelError naming the modules the kernel does not have."""
    by_name = {module_name(p): p for p in deps}
    missing = [n for n in names if n.replace("-", "_") not in by_name]
    if missing:
        raise KernelError(f"kernel has no module(s): {', '.join(missing)}")
    todo = [by_name[n.replace("-", "_")] for n in names]
    seen: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(deps.get(path, []))
    return sorted(seen)


# -- side effects ----------------------------------------------------------------
def _run(cmd: list[str], cwd: str | None = None) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise KernelError(f"{' '.join(cmd)} failed ({res.returncode}): "
                          f"{(res.stderr or res.stdout).strip()[-500:]}")
    return res.stdout


def resolve_package() -> str:
    """The current versioned cloud kernel package name, from the apt cache."""
    return versioned_package(_run(["apt-cache", "depends", METAPACKAGE]))


def find_deb(deb_dir: str, package: str) -> str | None:
    found = sorted(glob.glob(os.path.join(deb_dir, f"{package}_*.deb")))
    return found[-1] if found else None


def download(package: str, deb_dir: str) -> str:
    """The .deb of ``package`` in ``deb_dir``, downloaded if not there yet
    (``apt-get update`` is run once if the first download fails)."""
    os.makedirs(deb_dir, exist_ok=True)
    deb = find_deb(deb_dir, package)
    if deb:
        return deb
    try:
        _run(["apt-get", "download", package], cwd=deb_dir)
    except KernelError as exc:
        LOG.warning("apt-get download %s failed (%s); running apt-get update", package, exc)
        _run(["apt-get", "update"])
        _run(["apt-get", "download", package], cwd=deb_dir)
    deb = find_deb(deb_dir, package)
    if not deb:
        raise KernelError(f"apt-get download {package} left no .deb in {deb_dir}")
    return deb


def extract(deb: str, dest: str) -> str:
    """Unpack ``deb`` into ``dest`` (once); returns the kernel release (the
    directory name under lib/modules)."""
    marker = os.path.join(dest, ".extracted")
    if not os.path.exists(marker):
        os.makedirs(dest, exist_ok=True)
        _run(["dpkg-deb", "-x", deb, dest])
        with open(marker, "w") as f:
            f.write(os.path.basename(deb))
    releases = sorted(os.listdir(os.path.join(dest, "lib", "modules")))
    if len(releases) != 1:
        raise KernelError(f"expected one kernel release in {deb}, found {releases}")
    return releases[0]


def vmlinuz_path(root: str, release: str) -> str:
    return os.path.join(root, "boot", f"vmlinuz-{release}")


def modules_dep(root: str, release: str, busybox: str) -> dict[str, list[str]]:
    """Run ``busybox depmod`` on the unpacked kernel (once) and parse the result."""
    path = os.path.join(root, "lib", "modules", release, "modules.dep")
    if not os.path.exists(path):
        _run([busybox, "depmod", "-b", root, release])
    with open(path) as f:
        return parse_modules_dep(f.read())
