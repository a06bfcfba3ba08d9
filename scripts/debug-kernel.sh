#!/bin/bash
# Build the debug kernel the VM tests boot as "--kernel debug": Debian's
# linux-source-6.12 with the in-tree series (patches/linux-6.12) applied,
# x86_64_defconfig + kvm_guest.config + every tests/debug-kernel/*.config
# (KASAN, lockdep, kmemleak, KFENCE, fault injection, block device filters
# built in and blksnap as a module, what the tests need).  One build is
# both the debug kernel and the in-tree series booted.
#
# With DEBUG_VARIANT=stock, the same without the series ("--kernel
# debug-stock", release ...-blksnap-debug-stock, in debug-kernel-stock/):
# a debug kernel that our out-of-tree modules load into, so that what only
# they have (kernel/blkfilter/hook.c, sysfs.c) runs under the same checks
# ("make check-debug-stock", by hand).
#
# Usage: scripts/debug-kernel.sh [--print DIR|release|kdir|bzimage|modroot]
#
# Everything lives in ${BLKSNAP_CACHE:-/var/cache/blksnap}/debug-kernel:
#   src-VERSION/  the extracted source tarball (one per package version),
#                 with the series applied; applied/ holds the patches that
#                 are, so that a changed series is reversed and applied
#                 again, and only the files it touches are built again
#   obj/          the build directory (make O=obj); usable as KDIR for
#                 out-of-tree modules
#   out/bzImage, out/release (the kernel release, uname -r),
#   out/modroot/lib/modules/RELEASE/  modules_install output
#   out/key       written last: the key of the build in out/
# The build is skipped when out/key matches: source package version, the
# series, the config fragments and this script. Otherwise obj/ is rebuilt
# (incrementally if the source version did not change). Builds run under "nice -n 10" and
# take a lock, so concurrent callers wait for one build.
#
# --print NAME prints a path (or the release) of the current build and
# exits 1 if there is none; it never builds.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${BLKSNAP_CACHE:-/var/cache/blksnap}
VARIANT=${DEBUG_VARIANT:-intree}
case $VARIANT in
intree) DK=$CACHE/debug-kernel ;;
stock) DK=$CACHE/debug-kernel-stock ;;
*) echo "debug-kernel: DEBUG_VARIANT is intree or stock, not $VARIANT" >&2; exit 2 ;;
esac
OBJ=$DK/obj
OUT=$DK/out
FRAG_DIR=$TOP/tests/debug-kernel
PKG=linux-source-6.12

print() {
	[[ -s $OUT/key && -s $OUT/release ]] || exit 1
	case $1 in
	release) cat "$OUT/release" ;;
	kdir) echo "$OBJ" ;;
	bzimage) echo "$OUT/bzImage" ;;
	modroot) echo "$OUT/modroot" ;;
	dir) echo "$DK" ;;
	*) echo "debug-kernel: --print: unknown $1" >&2; exit 2 ;;
	esac
	exit 0
}
if (($#)); then
	[[ $1 == --print && $# == 2 ]] || { echo "Usage: $0 [--print dir|release|kdir|bzimage|modroot]" >&2; exit 2; }
	print "$2"
fi

tarball() {
	find /usr/src -maxdepth 1 -name "$PKG.tar.xz" | head -n1
}
if [[ -z $(tarball) ]]; then
	"$TOP/scripts/deps.sh"
fi
TARBALL=$(tarball)
[[ -n $TARBALL ]] || { echo "debug-kernel: no /usr/src/$PKG.tar.xz after scripts/deps.sh" >&2; exit 1; }
PKGVER=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || stat -c '%s-%Y' "$TARBALL")

shopt -s nullglob
frags=("$FRAG_DIR"/*.config)
if [[ $VARIANT == stock ]]; then
	# No series: none of its options.
	for i in "${!frags[@]}"; do
		[[ ${frags[i]} != "$FRAG_DIR/intree.config" ]] || unset 'frags[i]'
	done
	frags=("${frags[@]}")
fi
shopt -u nullglob
((${#frags[@]})) || { echo "debug-kernel: no fragments in $FRAG_DIR" >&2; exit 1; }

PATCHES=$TOP/patches/linux-6.12
[[ -s $PATCHES/series ]] || { echo "debug-kernel: no series in $PATCHES" >&2; exit 1; }
series_hash() { # DIR: hash of the series file and its patches
	(cd "$1" && cat series && xargs cat <series) | sha256sum | cut -c1-16
}
SERIES_HASH=$(series_hash "$PATCHES")

KEY=$( {
	echo "$PKG $PKGVER"
	if [[ $VARIANT == intree ]]; then echo "series $SERIES_HASH"; else echo "variant $VARIANT"; fi
	sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
	for f in "${frags[@]}"; do
		echo "${f##*/} $(sha256sum <"$f" | cut -d' ' -f1)"
	done
} | sha256sum | cut -c1-16)

mkdir -p "$DK"
exec 9>"$DK/lock"
if ! flock -n 9; then
	echo "debug-kernel: another build is running, waiting for it"
	flock 9
fi

if [[ -s $OUT/key && $(cat "$OUT/key") == "$KEY" && -s $OUT/bzImage ]]; then
	echo "debug-kernel: $(cat "$OUT/release") is up to date ($OUT)"
	exit 0
fi

start=$(date +%s)
SRC_TOP=$DK/src-$PKGVER
SRC=$SRC_TOP/$PKG
if [[ ! -f $SRC/Makefile || ! -f $SRC_TOP/.complete ]]; then
	# Another version's source and build are stale: drop them.
	for old in "$DK"/src-*; do
		[[ $old == "$SRC_TOP" ]] || rm -rf "$old"
	done
	rm -rf "$SRC_TOP" "$OBJ"
	mkdir -p "$SRC_TOP"
	echo "debug-kernel: extracting $TARBALL ($PKGVER)"
	tar -xJf "$TARBALL" -C "$SRC_TOP"
	touch "$SRC_TOP/.complete"
fi
# The series: the one applied reversed if it changed, then the new one.
APPLIED=$SRC_TOP/applied
if [[ $VARIANT == intree ]] &&
	[[ ! -s $APPLIED/series || $(series_hash "$APPLIED") != "$SERIES_HASH" ]]; then
	# Files the old series touched keep their time stamps where the new
	# one leaves their contents as they were: a header that every object
	# includes (the series touches rcupdate.h and blkdev.h) would
	# otherwise rebuild the whole kernel after any change of the series.
	stamps=$SRC_TOP/stamps
	: >"$stamps"
	if [[ -s $APPLIED/series ]]; then
		sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$APPLIED"/*.patch | sort -u |
			while read -r f; do
				[[ -f $SRC/$f ]] || continue
				printf '%s %s %s\n' "$(stat -c %Y "$SRC/$f")" \
					"$(sha256sum <"$SRC/$f" | cut -d' ' -f1)" "$f"
			done >"$stamps"
		echo "debug-kernel: reversing the series applied before"
		mapfile -t old <"$APPLIED/series"
		for ((i = ${#old[@]} - 1; i >= 0; i--)); do
			patch -R -p1 -s -d "$SRC" <"$APPLIED/${old[i]}" ||
				{ echo "debug-kernel: cannot reverse ${old[i]}; remove $SRC_TOP" >&2; exit 1; }
		done
	fi
	rm -rf "$APPLIED"
	mapfile -t new <"$PATCHES/series"
	echo "debug-kernel: applying ${#new[@]} patches of $PATCHES"
	for p in "${new[@]}"; do
		patch -p1 -s -N -d "$SRC" --no-backup-if-mismatch <"$PATCHES/$p" ||
			{ echo "debug-kernel: $p does not apply; remove $SRC_TOP" >&2; exit 1; }
		mkdir -p "$APPLIED"
		cp "$PATCHES/$p" "$APPLIED/"
		echo "$p" >>"$APPLIED/series.part"
	done
	mv "$APPLIED/series.part" "$APPLIED/series"
	while read -r mtime sum f; do
		[[ -f $SRC/$f && $(sha256sum <"$SRC/$f" | cut -d' ' -f1) == "$sum" ]] &&
			touch -d "@$mtime" "$SRC/$f"
	done <"$stamps"
	rm -f "$stamps"
fi

[[ -f $OBJ/.version-of ]] && [[ $(cat "$OBJ/.version-of") != "$PKGVER" ]] && rm -rf "$OBJ"
mkdir -p "$OBJ"
echo "$PKGVER" >"$OBJ/.version-of"

rm -f "$OUT/key"
localversion=
[[ $VARIANT == intree ]] || localversion=-$VARIANT
kmake() {
	nice -n 10 make -C "$SRC" O="$OBJ" -j"$(nproc)" LOCALVERSION="$localversion" "$@"
}

# Configuration: defconfig, then the fragments, then olddefconfig; every
# line of the fragments must survive.
kmake -s x86_64_defconfig
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" \
	"$SRC/kernel/configs/kvm_guest.config" "${frags[@]}" >"$DK/merge.log"
kmake -s olddefconfig
bad=0
while read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		opt=${BASH_REMATCH[1]}
		got=$(grep -E "^$opt=" "$OBJ/.config" || true)
		[[ $got == "$line" ]] && continue
		echo "debug-kernel: wanted $line, got ${got:-not set}" >&2
		bad=1
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		opt=${BASH_REMATCH[1]}
		got=$(grep -E "^$opt=" "$OBJ/.config" || true)
		[[ -z $got ]] && continue
		echo "debug-kernel: wanted $opt not set, got $got" >&2
		bad=1
	fi
done < <(cat "${frags[@]}")
((bad == 0)) || { echo "debug-kernel: the fragments do not apply (see above)" >&2; exit 1; }

echo "debug-kernel: building in $OBJ"
kmake bzImage modules
release=$(kmake -s kernelrelease)

rm -rf "$OUT"
mkdir -p "$OUT"
kmake -s INSTALL_MOD_PATH="$OUT/modroot" modules_install >/dev/null
cp "$OBJ/arch/x86/boot/bzImage" "$OUT/bzImage"
echo "$release" >"$OUT/release"
echo "$KEY" >"$OUT/key"
echo "debug-kernel: $release built in $(($(date +%s) - start)) s ($OUT)"
