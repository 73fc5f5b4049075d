#!/usr/bin/env bash
# Installs everything Stratus needs on a fresh Debian 12 machine (run as root).
# Idempotent: re-running only fills in what is missing.
#   scripts/install.sh          Debian packages, .venv, the stratus package and the
#                               clients a user needs (openstack CLI, openstacksdk)
#   scripts/install.sh --test   also the test tools (pytest, tempest) and a Debian kernel
#                               for tests/lab/test_vlan_in_vm.py (in .cache/vm-kernel/)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# qemu for VMs; busybox, syslinux, mtools, dosfstools, cpio and genisoimage build the
# guest image and config drives; dnsmasq serves DHCP; nftables for security groups and NAT.
DEBS="python3 python3-venv python3-dev gcc make iproute2 procps curl qemu-system-x86 qemu-utils
  busybox-static dnsmasq-base syslinux syslinux-common mtools dosfstools cpio genisoimage nftables
  iputils-ping"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing >/dev/null
fi

PY=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
  $PY -m venv .venv
fi
stamp=.venv/.stratus-installed
sum=$(cat pyproject.toml requirements*.txt constraints.txt | sha256sum | cut -c1-16)
log=.venv/install.log
if [ ! -f "$stamp" ] || ! grep -q "runtime $sum" "$stamp"; then
  echo "installing Stratus and the openstack client into .venv (log: $log)"
  if ! { .venv/bin/pip install -q -c constraints.txt -r requirements.txt -r requirements-client.txt &&
         .venv/bin/pip install -q --no-deps -e .; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "install failed; full log in $log" >&2
    exit 1
  fi
  echo "runtime $sum" >> "$stamp"
fi
if [ $want_test = 1 ] && ! grep -q "test $sum" "$stamp"; then
  echo "installing the test tools into .venv (log: $log)"
  if ! .venv/bin/pip install -q -c constraints.txt -r requirements-test.txt >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "install failed; full log in $log" >&2
    exit 1
  fi
  echo "test $sum" >> "$stamp"
fi

# --test: a Debian kernel with 802.1Q and 9p, NOT installed into this system: its package
# is downloaded and unpacked into .cache/vm-kernel/ (modules indexed with busybox depmod).
# tests/lab/test_vlan_in_vm.py boots it under QEMU when this host's kernel has no 8021q.
kdir=.cache/vm-kernel
if [ $want_test = 1 ] && [ ! -s "$kdir/release" ]; then
  resolve() { apt-cache depends linux-image-amd64 2>/dev/null |
              awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
  pkg=$(resolve)
  if [ -z "$pkg" ]; then apt-get update -qq; pkg=$(resolve); fi
  [ -n "$pkg" ] || { echo "cannot resolve linux-image-amd64 to a kernel package" >&2; exit 1; }
  echo "fetching the test VM kernel $pkg into $kdir"
  dl=$(mktemp -d); chmod 755 "$dl"          # apt's _apt user writes the download
  trap 'rm -rf "$dl"' EXIT
  (cd "$dl" && apt-get download -qq "$pkg" 2>/dev/null)
  rm -rf "$kdir.new"; mkdir -p "$kdir.new"
  dpkg-deb -x "$dl"/"$pkg"_*.deb "$kdir.new"
  rel=${pkg#linux-image-}
  m="$kdir.new/lib/modules/$rel/kernel"
  [ -f "$kdir.new/boot/vmlinuz-$rel" ] && [ -d "$m" ] || { echo "unexpected layout of $pkg" >&2; exit 1; }
  # hardware the VM has not got: a third of the size
  rm -rf "$m/sound" "$m/drivers/gpu" "$m/drivers/media" "$m/drivers/infiniband" \
         "$m/drivers/staging" "$m/drivers/net/wireless" "$m/drivers/net/ethernet" "$m/drivers/usb"
  busybox depmod -b "$kdir.new" "$rel"
  echo "$rel" > "$kdir.new/release"
  rm -rf "$kdir"; mv "$kdir.new" "$kdir"
  rm -rf "$dl"; trap - EXIT
fi
