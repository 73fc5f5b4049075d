"""Kernel package resolution and module closure (pure parts), and the disk (MBR, FAT times)."""
from __future__ import annotations

import struct

import pytest

from stratus.guestimage import disk, kernel

DEPENDS = """linux-image-cloud-amd64
  Depends: linux-image-6.1.0-56-cloud-amd64
"""

MODULES_DEP = """kernel/drivers/scsi/sr_mod.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/cdrom/cdrom.ko kernel/drivers/scsi/scsi_common.ko
kernel/fs/isofs/isofs.ko: kernel/drivers/cdrom/cdrom.ko
kernel/drivers/cdrom/cdrom.ko:
kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko
kernel/drivers/scsi/scsi_common.ko:
kernel/drivers/net/virtio_net.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/net/net_failover.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/virtio/virtio.ko:
kernel/drivers/input/misc/xen-kbdfront.ko.xz:
"""


def test_versioned_package_from_apt_cache_depends():
    assert kernel.versioned_package(DEPENDS) == "linux-image-6.1.0-56-cloud-amd64"
    with pytest.raises(kernel.KernelError):
        kernel.versioned_package("linux-image-cloud-amd64\n  Depends: foo\n")


def test_parse_modules_dep():
    deps = kernel.parse_modules_dep(MODULES_DEP)
    assert deps["kernel/fs/isofs/isofs.ko"] == ["kernel/drivers/cdrom/cdrom.ko"]
    assert deps["kernel/drivers/virtio/virtio.ko"] == []
    assert len(deps) == 10


def test_module_name():
    assert kernel.module_name("kernel/fs/isofs/isofs.ko") == "isofs"
    assert kernel.module_name("kernel/drivers/input/misc/xen-kbdfront.ko.xz") == "xen_kbdfront"


def test_closure_is_transitive_sorted_and_deduplicated():
    deps = kernel.parse_modules_dep(MODULES_DEP)
    assert kernel.closure(deps, ["sr_mod", "isofs"]) == [
        "kernel/drivers/cdrom/cdrom.ko", "kernel/drivers/scsi/scsi_common.ko",
        "kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/sr_mod.ko",
        "kernel/fs/isofs/isofs.ko"]
    assert kernel.closure(deps, ["virtio_net"]) == [
        "kernel/drivers/net/net_failover.ko", "kernel/drivers/net/virtio_net.ko",
        "kernel/drivers/virtio/virtio.ko", "kernel/net/core/failover.ko"]
    assert kernel.closure(deps, ["xen-kbdfront"]) == ["kernel/drivers/input/misc/xen-kbdfront.ko.xz"]


def test_closure_names_missing_modules():
    with pytest.raises(kernel.KernelError, match="virtio_blk, e1000"):
        kernel.closure(kernel.parse_modules_dep(MODULES_DEP), ["isofs", "virtio_blk", "e1000"])


def test_mbr_partition_table():
    table = disk.mbr_partition_table(2048, 31 * 2048)
    assert len(table) == 66 and table[-2:] == b"\x55\xaa"
    boot, _, ptype, _, start, count = struct.unpack("<B3sB3sII", table[:16])
    assert (boot, ptype, start, count) == (0x80, 0x0E, 2048, 63488)
    assert table[16:64] == b"\0" * 48


def test_partition_size():
    mib = 1024 * 1024
    assert disk.partition_mib(0) == 16
    assert disk.partition_mib(27 * mib) == 31
    assert disk.partition_mib(27 * mib + 1) == 32


def _fat16_boot_sector(bps=512, reserved=4, nfats=2, root_entries=512, per_fat=32):
    bs = bytearray(512)
    struct.pack_into("<H", bs, 11, bps)
    struct.pack_into("<H", bs, 14, reserved)
    bs[16] = nfats
    struct.pack_into("<H", bs, 17, root_entries)
    struct.pack_into("<H", bs, 22, per_fat)
    return bytes(bs)


def test_fat_root_dir():
    assert disk.fat_root_dir(_fat16_boot_sector()) == ((4 + 2 * 32) * 512, 512 * 32)
    with pytest.raises(disk.DiskError):
        disk.fat_root_dir(bytes(512))


def _dir_entry(name: bytes, attr: int, stamp: int = 0x1234):
    e = bytearray(32)
    e[:11] = name.ljust(11)
    e[11] = attr
    e[13] = 77
    struct.pack_into("<HHH", e, 14, stamp, stamp, stamp)
    struct.pack_into("<HH", e, 22, stamp, stamp)
    struct.pack_into("<I", e, 28, 999)                 # size: untouched
    return bytes(e)


def test_fixed_dir_times_sets_every_stamp_and_nothing_else():
    lfn = _dir_entry(b"\x41l\0d\0l\0", 0x0F)
    deleted = b"\xe5" + _dir_entry(b"OLD", 0x20)[1:]
    entries = _dir_entry(b"VMLINUZ", 0x20) + lfn + deleted + _dir_entry(b"STRATUS", 0x08) + bytes(64)
    fixed = disk.fixed_dir_times(entries)
    for off in (0, 96):
        e = fixed[off:off + 32]
        assert e[13] == 0
        assert struct.unpack_from("<HHHHH", e, 14)[:3] == (0, disk.DOS_DATE, disk.DOS_DATE)
        assert struct.unpack_from("<HH", e, 22) == (0, disk.DOS_DATE)
        assert e[:12] == entries[off:off + 12] and e[28:] == entries[off + 28:off + 32]
    assert fixed[32:96] == entries[32:96]              # long-name and deleted entries kept
    assert fixed[128:] == entries[128:]
    assert disk.DOS_DATE == (20 << 9) | (1 << 5) | 1
