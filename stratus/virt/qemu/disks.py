"""Instance disks with ``qemu-img``: overlays on cached base images,
flattened copies for snapshots.

The base image (downloaded once per host by the agent) is never written: each
instance gets a qcow2 overlay backed by it, grown to the flavor's root disk.
Command construction is pure; the ``run`` helpers execute it.
"""
from __future__ import annotations

import json
import os
import subprocess

GiB = 1024 ** 3
BACKING_FORMATS = ("qcow2", "raw")


class DiskError(Exception):
    """A qemu-img command failed; the message carries its stderr."""


def target_size(base_virtual_size: int, root_gb: int) -> int:
    """Bytes of the overlay: the flavor's root disk, never smaller than the image
    (root_gb 0 means "the image's size", as in nova)."""
    return max(int(base_virtual_size), int(root_gb) * GiB)


def info_command(path: str) -> list[str]:
    return ["qemu-img", "info", "-U", "--output=json", path]


def overlay_command(base: str, base_format: str, overlay: str, size: int) -> list[str]:
    if base_format not in BACKING_FORMATS:
        raise ValueError(f"cannot back an overlay with a {base_format} image")
    return ["qemu-img", "create", "-q", "-f", "qcow2", "-F", base_format,
            "-b", os.path.abspath(base), overlay, str(size)]


def convert_command(src: str, dst: str, out_format: str = "qcow2",
                    src_format: str | None = None) -> list[str]:
    """Flatten ``src`` (and its backing chain) into a standalone image; ``-U``
    lets it read a disk a paused QEMU still holds open."""
    argv = ["qemu-img", "convert", "-U", "-O", out_format]
    if src_format:
        argv += ["-f", src_format]
    return argv + [src, dst]


def _run(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiskError(f"{' '.join(argv[:2])} failed: {exc}") from None
    if proc.returncode != 0:
        raise DiskError(f"{' '.join(argv[:2])} failed: {proc.stderr.strip()}")
    return proc.stdout


def image_info(path: str) -> dict:
    return json.loads(_run(info_command(path)))


def usable_base(base: str, base_format: str) -> tuple[str, str]:
    """A (path, format) that can back an overlay: qcow2 and raw as they are,
    other formats converted once to ``<base>.qcow2`` next to the original."""
    if base_format in BACKING_FORMATS:
        return base, base_format
    converted = base + ".qcow2"
    if not os.path.exists(converted):
        tmp = converted + ".part"
        _run(convert_command(base, tmp, "qcow2", base_format))
        os.replace(tmp, converted)
    return converted, "qcow2"


def create_overlay(base: str, base_format: str, overlay: str, root_gb: int) -> int:
    """Create ``overlay`` on ``base``; returns its virtual size in bytes."""
    base, base_format = usable_base(base, base_format)
    size = target_size(image_info(base)["virtual-size"], root_gb)
    tmp = overlay + ".part"
    _run(overlay_command(base, base_format, tmp, size))
    os.replace(tmp, overlay)
    return size


def flatten(src: str, dst: str) -> None:
    """Write a standalone qcow2 copy of ``src`` (no backing file) to ``dst``."""
    tmp = dst + ".part"
    try:
        _run(convert_command(src, tmp))
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
