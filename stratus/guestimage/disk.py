"""A BIOS-bootable disk from a kernel and an initramfs, without root or mounts.

Layout: syslinux's MBR boot code, one active FAT16 partition at 1 MiB holding
ldlinux.sys, syslinux.cfg, vmlinuz and initrd.img.  ``mkfs.vfat -C`` makes the
filesystem in a file, ``syslinux --install`` and ``mcopy`` work on that file
(through mtools), the partition entry is written here, and ``qemu-img convert
-c`` makes the compressed qcow2."""
from __future__ import annotations

import os
import struct
import subprocess

MIB = 1024 * 1024
SECTOR = 512
PART_START = 2048                       # sectors: the partition starts at 1 MiB
MBR_CODE_PATHS = ["/usr/lib/syslinux/mbr/mbr.bin", "/usr/lib/SYSLINUX/mbr.bin",
                  "/usr/share/syslinux/mbr.bin"]
VOLUME_ID = "5354524d"                  # fixed FAT serial ("STRM"): reproducible
FIXED_MTIME = 946684800                 # 2000-01-01: file times inside the FAT


class DiskError(RuntimeError):
    pass


# -- pure ------------------------------------------------------------------------
def partition_mib(payload_bytes: int) -> int:
    """FAT partition size for files of ``payload_bytes`` in total: room for
    syslinux and FAT overhead, at least 16 MiB (FAT16 territory)."""
    return max(16, -(-payload_bytes // MIB) + 4)


def mbr_partition_table(start: int, sectors: int) -> bytes:
    """Bytes 446..511 of the MBR: one active FAT16-LBA (type 0x0e) partition
    (CHS fields set to the LBA-only marker), three empty ones, 0x55AA."""
    entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0E, b"\xfe\xff\xff",
                        start, sectors)
    return entry + b"\0" * 48 + b"\x55\xaa"


DOS_DATE = ((2000 - 1980) << 9) | (1 << 5) | 1       # 2000-01-01 in FAT's date format


def fat_root_dir(boot_sector: bytes) -> tuple[int, int]:
    """(byte offset, size) of the root directory of a FAT12/16 filesystem."""
    bps, = struct.unpack_from("<H", boot_sector, 11)
    reserved, = struct.unpack_from("<H", boot_sector, 14)
    nfats = boot_sector[16]
    root_entries, = struct.unpack_from("<H", boot_sector, 17)
    per_fat, = struct.unpack_from("<H", boot_sector, 22)
    if not (bps and per_fat and root_entries):
        raise DiskError("not a FAT12/16 boot sector")
    return (reserved + nfats * per_fat) * bps, root_entries * 32


def fixed_dir_times(entries: bytes) -> bytes:
    """Directory entries with every timestamp set to 2000-01-01 00:00 (FAT
    tools stamp the build time; a fixed time makes builds reproducible)."""
    out = bytearray(entries)
    for off in range(0, len(out) - 31, 32):
        if out[off] == 0:                       # end of directory
            break
        if out[off] == 0xE5 or out[off + 11] == 0x0F:     # deleted, long-name part
            continue
        out[off + 13] = 0
        struct.pack_into("<HHH", out, off + 14, 0, DOS_DATE, DOS_DATE)
        struct.pack_into("<HH", out, off + 22, 0, DOS_DATE)
    return bytes(out)


def mbr_code_path() -> str:
    for p in MBR_CODE_PATHS:
        if os.path.exists(p):
            return p
    raise DiskError("syslinux MBR code (mbr.bin) not found: install the syslinux-common package")


# -- side effects ----------------------------------------------------------------
def _run(cmd: list[str], **kw) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise DiskError(f"{' '.join(cmd)} failed ({res.returncode}): "
                        f"{(res.stderr or res.stdout).strip()[-500:]}")


def make_fat(path: str, mib: int, files: dict[str, str]) -> None:
    """A FAT filesystem image of ``mib`` MiB with syslinux installed and
    ``files`` ({name in the root directory: host path}) copied in."""
    if os.path.exists(path):
        os.unlink(path)
    _run(["mkfs.vfat", "-n", "STRATUS", "-i", VOLUME_ID, "-C", path, str(mib * 1024)])
    _run(["syslinux", "--install", path])
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(FIXED_MTIME), MTOOLS_SKIP_CHECK="1")
    for name, src in sorted(files.items()):
        os.utime(src, (FIXED_MTIME, FIXED_MTIME))
        _run(["mcopy", "-m", "-o", "-i", path, src, f"::/{name}"], env=env)
    with open(path, "r+b") as f:
        offset, size = fat_root_dir(f.read(512))
        f.seek(offset)
        entries = fixed_dir_times(f.read(size))
        f.seek(offset)
        f.write(entries)


def make_disk(out_qcow2: str, workdir: str, vmlinuz: str, initrd: str,
              syslinux_cfg: bytes) -> str:
    """Assemble the disk in ``workdir`` and convert it to ``out_qcow2``."""
    cfg = os.path.join(workdir, "syslinux.cfg")
    with open(cfg, "wb") as f:
        f.write(syslinux_cfg)
    mib = partition_mib(os.path.getsize(vmlinuz) + os.path.getsize(initrd))
    part = os.path.join(workdir, "part.img")
    make_fat(part, mib, {"vmlinuz": vmlinuz, "initrd.img": initrd, "syslinux.cfg": cfg})
    raw = os.path.join(workdir, "disk.raw")
    with open(mbr_code_path(), "rb") as f:
        code = f.read(440)
    with open(raw, "wb") as out, open(part, "rb") as src:
        out.write(code.ljust(446, b"\0"))
        out.write(mbr_partition_table(PART_START, mib * MIB // SECTOR))
        out.write(b"\0" * (PART_START * SECTOR - 512))
        while chunk := src.read(MIB):
            out.write(chunk)
    os.unlink(part)
    tmp = out_qcow2 + ".tmp"
    _run(["qemu-img", "convert", "-c", "-O", "qcow2", raw, tmp])
    os.unlink(raw)
    os.replace(tmp, out_qcow2)
    return out_qcow2
