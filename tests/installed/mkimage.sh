#!/bin/bash
# Build the root filesystem of the installed-system test: Debian 12 from
# Debian's packages (mmdebstrap), systemd as PID 1, the stock 6.12 kernel,
# its headers, a compiler and dkms; the 6.1 kernel and its headers are
# downloaded into /opt/kernel-6.1 for the guest to install later, with no
# network. The result is a raw ext4 image (the whole disk is the file
# system; QEMU boots the kernel directly, see run.sh), with the 6.12
# kernel and initrd copied beside it.
#
# Usage: mkimage.sh [--print-dir]
#
# Cached in $BLKSNAP_CACHE/installed (default /var/cache/blksnap): kept
# while tests/installed/packages and this script are unchanged, rebuilt
# when either changes. --print-dir prints the cache directory and exits.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${BLKSNAP_CACHE:-/var/cache/blksnap}/installed
[[ ${1:-} != --print-dir ]] || { echo "$CACHE"; exit 0; }
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
SIZE=8G

mapfile -t pkgs < <(sed -e 's/#.*//' "$HERE/packages" | tr -s ' \t' '\n' | sed '/^$/d')
key=$(cat "$HERE/packages" "$HERE/mkimage.sh" | sha256sum | cut -c1-16)

if [[ -f $CACHE/key && $(cat "$CACHE/key") == "$key" && -f $CACHE/rootfs.img ]]; then
	echo "mkimage: cached image $CACHE/rootfs.img ($key)"
	exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
rm -rf "$CACHE/root" "$CACHE/rootfs.img" "$CACHE/key" "$CACHE"/vmlinuz-* "$CACHE"/initrd.img-*
start=$(date +%s)
echo "mkimage: building the root filesystem (${pkgs[*]})"

# The guest's side of the test: mount the host's folder and run the stage
# the host asked for (run.sh writes payload/stage); then power off.
unit='[Unit]
Description=blksnap installed-system test
After=local-fs.target systemd-udevd.service systemd-modules-load.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/blksnap-installed-test
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target'
# shellcheck disable=SC2016 # the guest expands it
runner='#!/bin/sh
mkdir -p /payload
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 payload /payload || { echo "installed-test: no payload"; systemctl poweroff; exit 1; }
stage=$(cat /payload/stage)
bash /payload/guest.sh "$stage" 2>&1 | tee /payload/log-"$stage".txt
sync
umount /payload
systemctl poweroff --no-block'

# The hooks' "$1" is the new root: mmdebstrap's argument, not ours.
# shellcheck disable=SC2016
mmdebstrap --variant=minbase --mode=root \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--aptopt='APT::Install-Recommends "false"' \
	--include="$(IFS=,; echo "${pkgs[*]}")" \
	--customize-hook='echo "/dev/vda / ext4 errors=remount-ro 0 1" >"$1/etc/fstab"' \
	--customize-hook='echo blksnap-guest >"$1/etc/hostname"' \
	--customize-hook='chroot "$1" passwd -d root' \
	--customize-hook="printf '%s\n' '$unit' >\"\$1/etc/systemd/system/blksnap-installed-test.service\"" \
	--customize-hook="printf '%s\n' '$runner' >\"\$1/usr/local/sbin/blksnap-installed-test\"" \
	--customize-hook='chmod 0755 "$1/usr/local/sbin/blksnap-installed-test"' \
	--customize-hook='chroot "$1" systemctl enable blksnap-installed-test.service' \
	--customize-hook='chroot "$1" apt-get clean' \
	--customize-hook='chroot "$1" apt-get install -y -q --download-only linux-image-amd64 linux-headers-amd64' \
	--customize-hook='mkdir -p "$1/opt/kernel-6.1" && mv "$1"/var/cache/apt/archives/*.deb "$1/opt/kernel-6.1/"' \
	--customize-hook='copy-out /boot "'"$CACHE"'"' \
	"$SUITE" "$CACHE/root" \
	"deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
	"deb $SECURITY $SUITE-security main"

mv "$CACHE"/boot/vmlinuz-* "$CACHE"/boot/initrd.img-* "$CACHE"/
rm -rf "${CACHE:?}/boot"
mke2fs -q -t ext4 -L root -d "$CACHE/root" "$CACHE/rootfs.img" "$SIZE"
rm -rf "$CACHE/root"
echo "$key" >"$CACHE/key"
echo "mkimage: $CACHE/rootfs.img built in $(($(date +%s) - start)) s"
