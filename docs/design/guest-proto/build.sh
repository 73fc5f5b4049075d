#!/bin/sh
# Build the Stratus guest: initramfs (busybox + modules + init) and a bootable disk.
set -eu
W=${W:-/tmp/guest-proto/build}; SRC=$(dirname $(readlink -f $0)); DEB=/tmp/guest-proto/deb
rm -rf $W; mkdir -p $W/k $W/bb $W/root; cd $W
dpkg-deb -x $DEB/linux-image-*cloud-amd64_*.deb k
dpkg-deb -x $DEB/busybox-static_*.deb bb
V=$(ls k/lib/modules); R=$W/root
mkdir -p $R/bin $R/sbin $R/usr/bin $R/usr/sbin $R/etc/init.d $R/etc/acpi/PWRF $R/proc $R/sys $R/dev $R/run $R/tmp $R/mnt $R/root
cp bb/bin/busybox $R/bin/busybox
for a in $($R/bin/busybox --list-full); do [ "$a" = bin/busybox ] && continue; ln -sf /bin/busybox $R/$a 2>/dev/null || true; done
MODS="virtio_pci virtio_net virtio_blk virtio_scsi sd_mod sr_mod ata_piix isofs vfat nls_cp437 nls_ascii button evdev"
bb/bin/busybox depmod -b k $V
for m in $MODS; do
  grep -E "(^|/)$m\.ko:" k/lib/modules/$V/modules.dep | tr -d : | tr ' ' '\n'
done | sort -u | while read f; do mkdir -p $R/lib/modules/$V/$(dirname $f); cp k/lib/modules/$V/$f $R/lib/modules/$V/$f; done
bb/bin/busybox depmod -b $R $V
echo $MODS | tr ' ' '\n' > $R/etc/modules
install -m755 $SRC/rcS $R/etc/init.d/rcS; install -m755 $SRC/udhcpc.script $R/etc/udhcpc.script
install -m644 $SRC/inittab $R/etc/inittab; install -m755 $SRC/udp-echo $R/usr/bin/udp-echo
printf '#!/bin/sh\npoweroff\n' > $R/etc/acpi/PWRF/00000080; chmod 755 $R/etc/acpi/PWRF/00000080
echo 'root:*:0:0:root:/root:/bin/sh' > $R/etc/passwd; echo 'root:x:0:' > $R/etc/group
ln -s /sbin/init $R/init
(cd $R && find . | cpio -o -H newc --quiet | gzip -9) > initrd.img
cp k/boot/vmlinuz-$V vmlinuz
ls -la vmlinuz initrd.img
