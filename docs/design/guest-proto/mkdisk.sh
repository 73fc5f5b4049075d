#!/bin/sh
# Assemble a BIOS-bootable disk: MBR (syslinux mbr.bin) + one FAT16 partition holding
# syslinux, vmlinuz and initrd.img. No loop devices, no mount, no root needed.
set -eu
cd ${W:-/tmp/guest-proto/build}
P_MIB=${P_MIB:-31}
rm -f part.img disk.raw
mkfs.vfat -n STRATUS -C part.img $((P_MIB*1024)) >/dev/null
syslinux --install part.img
cat > syslinux.cfg <<'C'
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=tty0 console=ttyS0,115200n8 quiet
C
mcopy -i part.img vmlinuz initrd.img syslinux.cfg ::/
truncate -s $(((P_MIB+1)*1024*1024)) disk.raw
dd if=/usr/lib/syslinux/mbr/mbr.bin of=disk.raw conv=notrunc bs=440 count=1 status=none
python3 - disk.raw $P_MIB <<'PY'
import struct, sys
path, mib = sys.argv[1], int(sys.argv[2])
start, count = 2048, mib * 2048
# one active FAT16 (LBA, type 0x0e) partition; CHS fields set to the LBA-only marker
entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0e, b"\xfe\xff\xff", start, count)
with open(path, "r+b") as f:
    f.seek(446); f.write(entry + b"\0" * 48); f.seek(510); f.write(b"\x55\xaa")
PY
dd if=part.img of=disk.raw bs=1M seek=1 conv=notrunc status=none
rm part.img
qemu-img convert -c -O qcow2 disk.raw stratus-guest.qcow2
ls -la disk.raw stratus-guest.qcow2
