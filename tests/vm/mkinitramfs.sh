#!/bin/bash
# Build the initramfs for the test VM.
#
# Usage: mkinitramfs.sh KVER OUT.cpio.gz MODDIR PROGDIR
#
# OUT is a concatenation of three gzip'd newc archives, which the kernel
# unpacks in order:
#   1. userland: busybox, bash and the host tools the tests use, with their
#      shared libraries (cached; key: this script + the host files);
#   2. kernel modules of KVER needed by the tests (cached; key: this script +
#      the module tree of KVER);
#   3. overlay: /init, MODDIR/*.ko in /opt/tests/modules, PROGDIR files in
#      /opt/tests/bin and the depmod output covering 2 and MODDIR (rebuilt
#      when any input changed); MODDIR_B/*.ko, if MODDIR_B is set, in
#      /opt/tests/modules-b (a second build, for bench/ab.sh).
# Caches live in ${BLKSNAP_CACHE:-/var/cache/blksnap}/initramfs.
# The modules of KVER are taken from MODROOT/lib/modules/KVER (MODROOT
# empty: the host's, as installed by Debian's packages; the debug kernel
# gives its modules_install directory).
set -euo pipefail

usage() {
	echo "Usage: $0 KVER OUT.cpio.gz MODDIR PROGDIR" >&2
	exit 2
}
(($# == 4)) || usage
KVER=$1
OUT=$2
MODDIR=$3
PROGDIR=$4

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INIT=$HERE/init
MODROOT=${MODROOT:-}
HOSTMODS=$MODROOT/lib/modules/$KVER
modinfo_k=(modinfo -k "$KVER")
[[ -z $MODROOT ]] || modinfo_k+=(-b "$MODROOT")
[[ -d $HOSTMODS/kernel ]] || { echo "$0: no modules for $KVER in $HOSTMODS" >&2; exit 1; }
[[ -f $INIT ]] || { echo "$0: missing $INIT" >&2; exit 1; }

CACHE=${BLKSNAP_CACHE:-/var/cache/blksnap}/initramfs
if ! mkdir -p "$CACHE" 2>/dev/null || [[ ! -w $CACHE ]]; then
	CACHE=$HERE/../../build/cache/initramfs
	mkdir -p "$CACHE"
fi
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Host programs copied into the guest, by the name the tests call them.
PROGRAMS=(
	bash fio
	mke2fs mkfs.ext4 e2fsck fsck.ext4 tune2fs dumpe2fs
	mkfs.xfs xfs_repair xfs_io
	dmsetup
	sfdisk blockdev blkdiscard losetup fsfreeze findmnt mount umount wipefs
	kmod modprobe insmod rmmod lsmod modinfo depmod
	cmp stat timeout dd sync sha256sum md5sum truncate script
	perf
)

# Modules wanted in the guest: globs relative to kernel/, then their
# dependencies are added.
MODULE_GLOBS=(
	drivers/block/virtio_blk.ko* drivers/block/null_blk drivers/block/loop.ko*
	drivers/block/brd.ko*
	drivers/virtio
	drivers/scsi/scsi_debug.ko* drivers/scsi/sd_mod.ko* drivers/scsi/sg.ko*
	drivers/scsi/scsi_mod.ko* drivers/scsi/scsi_common.ko*
	drivers/md/dm-*.ko* drivers/md/persistent-data
	fs/ext4 fs/jbd2 fs/mbcache.ko* fs/xfs
	lib/crc* lib/libcrc32c.ko* crypto/crc32c* crypto/crc32_generic.ko*
	crypto/crct10dif* crypto/crc64* arch/x86/crypto/crc32c* arch/x86/crypto/crct10dif*
)

hash_of() { sha256sum | cut -c1-16; }
SELF_HASH=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Write a gzip'd newc archive of directory $1 to $2 (atomically).
pack() {
	(cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --owner=0:0 --quiet) | gzip -6 -n >"$2.tmp.$$"
	mv "$2.tmp.$$" "$2"
}

# --- 1. userland --------------------------------------------------------
declare -A files=()   # host path -> 1 (binaries and libraries to copy)
declare -A links=()   # guest path -> target (program names that are links)
for prog in "${PROGRAMS[@]}"; do
	p=$(command -v "$prog") || { echo "$0: host program $prog not found (run scripts/deps.sh)" >&2; exit 1; }
	real=$(readlink -f "$p")
	files[$real]=1
	gdir=$(dirname "$p")
	gdir=/usr/${gdir#/usr/}
	[[ $gdir == /usr/ ]] && gdir=/usr/bin
	greal=/usr/${real#/usr/}
	[[ $gdir/$prog == "$greal" ]] || links[$gdir/$prog]=$greal
	while read -r lib; do
		files[$lib]=1
	done < <(ldd "$real" 2>/dev/null | grep -o '/[^ ]*' || true)
done
links[/usr/sbin/modprobe]=/usr/bin/kmod # the kernel's request_module helper
files[/bin/busybox]=1
[[ -f /etc/mke2fs.conf ]] && files[/etc/mke2fs.conf]=1

USER_KEY=$( {
	echo "$SELF_HASH"
	for f in "${!files[@]}"; do stat -L -c '%n %s %Y' "$f"; done | LC_ALL=C sort
	for k in "${!links[@]}"; do echo "$k ${links[$k]}"; done | LC_ALL=C sort
} | hash_of)
USER_CPIO=$CACHE/userland-$USER_KEY.cpio.gz

if [[ ! -s $USER_CPIO ]]; then
	s=$TMP/userland
	mkdir -p "$s"/usr/{bin,sbin,lib,lib64} "$s"/{dev,proc,sys,tmp,run,mnt,etc,root,opt/tests/bin,opt/tests/modules}
	ln -s usr/bin "$s/bin"
	ln -s usr/sbin "$s/sbin"
	ln -s usr/lib "$s/lib"
	ln -s usr/lib64 "$s/lib64"
	for f in "${!files[@]}"; do
		case $f in
		/usr/*) dst=$f ;;
		/etc/*) dst=$f ;;
		*) dst=/usr$f ;;
		esac
		mkdir -p "$s$(dirname "$dst")"
		cp -L "$f" "$s$dst"
	done
	for k in "${!links[@]}"; do
		ln -sf "${links[$k]}" "$s$k"
	done
	ln -s busybox "$s/usr/bin/sh"
	echo 'root:x:0:0:root:/root:/bin/bash' >"$s/etc/passwd"
	echo 'root:x:0:' >"$s/etc/group"
	ln -s /proc/mounts "$s/etc/mtab"
	pack "$s" "$USER_CPIO.$$"
	mv "$USER_CPIO.$$" "$USER_CPIO"
	echo "mkinitramfs: userland $(du -sm "$s" | cut -f1) MiB -> $USER_CPIO"
fi

# --- 2. kernel modules --------------------------------------------------
MOD_KEY=$( {
	echo "$SELF_HASH $KVER $MODROOT"
	printf '%s\n' "${MODULE_GLOBS[@]}"
	stat -c '%n %s %Y' "$HOSTMODS/modules.dep" "$HOSTMODS/modules.order"
} | hash_of)
MOD_STAGE=$CACHE/modules-$KVER-$MOD_KEY
MOD_CPIO=$MOD_STAGE.cpio.gz

if [[ ! -s $MOD_CPIO || ! -d $MOD_STAGE ]]; then
	rm -rf "$MOD_STAGE"
	s=$TMP/modules
	dst=$s/usr/lib/modules/$KVER
	mkdir -p "$dst"
	declare -A mods=()
	shopt -s nullglob
	for g in "${MODULE_GLOBS[@]}"; do
		# shellcheck disable=SC2206 # intended glob expansion
		matches=($HOSTMODS/kernel/$g)
		for m in "${matches[@]}"; do
			# A glob without wildcards stays as it is: a directory
			# of a kernel that builds it in (the debug kernel's ext4).
			[[ -e $m ]] || continue
			if [[ -d $m ]]; then
				while IFS= read -r -d '' f; do mods[$f]=1; done \
					< <(find "$m" -name '*.ko*' -print0)
			else
				mods[$m]=1
			fi
		done
	done
	shopt -u nullglob
	# Dependency closure, using the host copy of KVER's modules.dep.
	declare -A done_=()
	queue=("${!mods[@]}")
	while ((${#queue[@]})); do
		m=${queue[0]}
		queue=("${queue[@]:1}")
		[[ -n ${done_[$m]:-} ]] && continue
		done_[$m]=1
		mods[$m]=1
		for d in $("${modinfo_k[@]}" -F depends "$m" | tr ',' ' '); do
			p=$("${modinfo_k[@]}" -n "$d" 2>/dev/null) || continue
			p=${p//\/\//\/}
			[[ $p == "$HOSTMODS"/* ]] && queue+=("$p")
		done
	done
	for m in "${!mods[@]}"; do
		rel=${m#"$HOSTMODS"/}
		mkdir -p "$dst/$(dirname "$rel")"
		case $m in
		*.ko) xz -q -c --check=crc32 "$m" >"$dst/$rel.xz" ;; # kmod decompresses
		*) cp "$m" "$dst/$rel" ;;
		esac
	done
	cp "$HOSTMODS"/modules.{order,builtin,builtin.modinfo} "$dst/"
	pack "$s" "$MOD_CPIO.$$"
	mv "$s/usr/lib/modules/$KVER" "$MOD_STAGE"
	mv "$MOD_CPIO.$$" "$MOD_CPIO"
	echo "mkinitramfs: ${#mods[@]} modules for $KVER ($(du -sm "$MOD_STAGE" | cut -f1) MiB) -> $MOD_CPIO"
	# Drop stale caches of this kernel.
	for old in "$CACHE"/modules-"$KVER"-*; do
		[[ $old == "$MOD_STAGE" || $old == "$MOD_CPIO" ]] || rm -rf "$old"
	done
fi

# --- 3. overlay and final image -----------------------------------------
shopt -s nullglob
kos=("$MODDIR"/*.ko)
# MODDIR_B: a second build of our modules (bench/ab.sh), in
# /opt/tests/modules-b, loaded by path only.
kosb=()
[[ -z ${MODDIR_B:-} ]] || kosb=("$MODDIR_B"/*.ko)
progs=()
if [[ -d $PROGDIR ]]; then
	for f in "$PROGDIR"/*; do
		[[ -f $f && ( -x $f || $f == *.sh ) ]] && progs+=("$f")
	done
fi
shopt -u nullglob

OUT_KEY=$( {
	echo "$SELF_HASH $USER_KEY $MOD_KEY $KVER"
	sha256sum "$INIT"
	((${#kos[@]} == 0)) || sha256sum "${kos[@]}"
	((${#kosb[@]} == 0)) || { echo B; sha256sum "${kosb[@]}"; }
	((${#progs[@]} == 0)) || sha256sum "${progs[@]}"
} | hash_of)

if [[ -s $OUT && -f $OUT.key && $(cat "$OUT.key") == "$OUT_KEY" ]]; then
	echo "mkinitramfs: $OUT is up to date"
	exit 0
fi

s=$TMP/overlay
mkdir -p "$s/opt/tests/bin" "$s/opt/tests/modules"
install -m 0755 "$INIT" "$s/init"
for f in "${kos[@]}"; do cp "$f" "$s/opt/tests/modules/"; done
if ((${#kosb[@]})); then
	mkdir -p "$s/opt/tests/modules-b"
	for f in "${kosb[@]}"; do cp "$f" "$s/opt/tests/modules-b/"; done
fi
for f in "${progs[@]}"; do cp -p "$f" "$s/opt/tests/bin/"; done
# depmod over the staged kernel modules plus ours (in extra/) so that
# "modprobe NAME" works in the guest for both.
root=$TMP/depmod
mkdir -p "$root/lib/modules/$KVER/extra"
ln -s "$MOD_STAGE/kernel" "$root/lib/modules/$KVER/kernel"
cp "$MOD_STAGE"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$KVER/"
for f in "${kos[@]}"; do cp "$f" "$root/lib/modules/$KVER/extra/"; done
depmod -b "$root" "$KVER"
mdst=$s/usr/lib/modules/$KVER
mkdir -p "$mdst"
cp "$root/lib/modules/$KVER"/modules.* "$mdst/"
if ((${#kos[@]})); then
	mkdir -p "$mdst/extra"
	for f in "${kos[@]}"; do ln -s "/opt/tests/modules/${f##*/}" "$mdst/extra/${f##*/}"; done
fi
pack "$s" "$TMP/overlay.cpio.gz"

mkdir -p "$(dirname "$OUT")"
cat "$USER_CPIO" "$MOD_CPIO" "$TMP/overlay.cpio.gz" >"$OUT.tmp.$$"
mv "$OUT.tmp.$$" "$OUT"
echo "$OUT_KEY" >"$OUT.key"
echo "mkinitramfs: $OUT ($(du -m "$OUT" | cut -f1) MiB compressed)"
