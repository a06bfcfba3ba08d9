#!/bin/bash
# Build the root filesystem of the installed-system test: Debian 12 from
# Debian's packages (mmdebstrap, variant minbase, no recommends), systemd
# as PID 1, the stock 6.12 kernel, its headers, a compiler and dkms; the
# 6.1 kernel and its headers are downloaded into /opt/kernel-6.1 for the
# guest to install later, with no network (image-hook.sh). The result is a
# raw ext4 image labelled "root" (the whole disk is the file system; QEMU
# boots the kernel directly, see run.sh), with the 6.12 kernel and initrd
# copied beside it.
#
# Usage: mkimage.sh [--print-dir]
#
# Cached in $BLKSNAP_CACHE/installed (default /var/cache/blksnap): kept
# while tests/installed/packages, this script and image-hook.sh are
# unchanged, rebuilt when one changes. --print-dir prints the cache
# directory and exits. Packages the host has in $APT_ARCHIVES (default
# /var/cache/apt/archives; empty: none) are not downloaded again. dpkg
# runs under eatmydata while the image is built (mmdebstrap's hook; the
# image's own dpkg is left as Debian ships it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${BLKSNAP_CACHE:-/var/cache/blksnap}/installed
[[ ${1:-} != --print-dir ]] || { echo "$CACHE"; exit 0; }
APT_ARCHIVES=${APT_ARCHIVES-/var/cache/apt/archives}
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
SIZE=8G

mapfile -t pkgs < <(sed -e 's/#.*//' "$HERE/packages" | tr -s ' \t' '\n' | sed '/^$/d')
key=$(cat "$HERE/packages" "$HERE/mkimage.sh" "$HERE/image-hook.sh" | sha256sum | cut -c1-16)

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

hooks=()
[[ -z $APT_ARCHIVES ]] ||
	hooks+=(--setup-hook="$HERE/image-hook.sh setup \"\$1\" $APT_ARCHIVES")
hooks+=(--essential-hook="$HERE/image-hook.sh essential \"\$1\"")
hooks+=(--customize-hook="$HERE/image-hook.sh customize \"\$1\" $CACHE")
mmdebstrap --variant=minbase --mode=root \
	--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--aptopt='APT::Install-Recommends "false"' \
	--include="$(IFS=,; echo "${pkgs[*]}")" \
	"${hooks[@]}" \
	"$SUITE" "$CACHE/root" \
	"deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
	"deb $SECURITY $SUITE-security main"
t_strap=$(($(date +%s) - start))

mke2fs -q -t ext4 -L root -d "$CACHE/root" "$CACHE/rootfs.img" "$SIZE"
rm -rf "$CACHE/root"
echo "$key" >"$CACHE/key"
echo "mkimage: $CACHE/rootfs.img built in $(($(date +%s) - start)) s (mmdebstrap $t_strap s)"
