#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check the in-tree series in patches/linux-6.12.
#
# Usage: check-series.sh [--quick] [--full-config]
#
#   --quick        only check that the committed patches are what
#                  mkseries.sh makes of the sources now (about a minute;
#                  for CI).
#   --full-config  build the last step with x86_64_defconfig and
#                  kvm_guest.config instead of a small configuration.
#
# Without --quick, also, in $INTREE_CACHE (default build/intree):
# - scripts/checkpatch.pl --strict of the tree on every patch;
# - every patch applied in turn to the pristine tree, with block/ built
#   after each, and drivers/block/blksnap/ once it is there;
# - the new files built again with W=1 and sparse (C=2), and checked with
#   scripts/kernel-doc -none -Wall;
# - bzImage and modules of the whole series; block/ without BLK_FILTER;
# - make htmldocs SPHINXDIRS=block, if sphinx-build is installed.
# Builds run with "nice -n 10 make -j$JOBS" (JOBS defaults to 2).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
PATCHES=$TOP/patches/linux-6.12
CACHE=${INTREE_CACHE:-$TOP/build/intree}
SRC=$CACHE/linux-source-6.12
JOBS=${JOBS:-2}
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="blksnap developers" GIT_AUTHOR_EMAIL=blksnap@localhost
export GIT_COMMITTER_NAME="blksnap developers"
export GIT_COMMITTER_EMAIL=blksnap@localhost
export LC_ALL=C
# Debian's python3, with the modules the tree's scripts need (ply, git).
export PATH=/usr/bin:/bin:$PATH

quick=0
full=0
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	--full-config) full=1 ;;
	*)
		echo "usage: $0 [--quick] [--full-config]" >&2
		exit 2
		;;
	esac
done

fail=0
bad() {
	echo "check-series: FAIL: $*" >&2
	fail=1
}
step() {
	echo "check-series: $* ($(date -u +%H:%M:%S))"
}
g() {
	git -c gc.auto=0 -c maintenance.auto=false -C "$SRC" "$@"
}

# 1. Up to date with the sources.
step "regenerating the series"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$HERE/mkseries.sh" "$tmp/patches" >/dev/null
if ! diff -r "$PATCHES" "$tmp/patches" >"$tmp/diff"; then
	bad "patches/linux-6.12 is not what the sources give; run 'make series'"
	head -n 40 "$tmp/diff" >&2
fi
if ((quick)); then
	((fail)) || echo "check-series: the series is up to date"
	exit $fail
fi

mapfile -t series <"$PATCHES/series"

# 2. checkpatch, with the tree's own script.
g checkout -q -f -B check pristine
g clean -q -fdx
step "checkpatch --strict"
for p in "${series[@]}"; do
	if ! (cd "$SRC" && perl scripts/checkpatch.pl --strict --quiet \
		--show-types "$PATCHES/$p"); then
		bad "checkpatch: $p"
	fi
done

# 3. Each patch builds on its own.
OBJ=$CACHE/obj
mkdir -p "$OBJ"
kmake() {
	nice -n 10 make -s -C "$SRC" O="$1" -j"$JOBS" "${@:2}"
}
# The base configuration is made once per build directory (tinyconfig
# alone takes minutes on a busy machine); each patch then only adds ours.
configure() {
	local obj=$1 filter=$2 base
	base=$1.config-$( ((full)) && [ "$1" = "$OBJ" ] && echo full || echo small)
	if [ ! -s "$base" ]; then
		if ((full)) && [ "$obj" = "$OBJ" ]; then
			kmake "$obj" x86_64_defconfig kvm_guest.config >/dev/null
		else
			kmake "$obj" tinyconfig >/dev/null
			"$SRC/scripts/config" --file "$obj/.config" -e 64BIT \
				-e BLOCK -e MODULES -e MODULE_UNLOAD -e BLK_DEV \
				-e JUMP_LABEL -e PRINTK -e SYSFS -e PROC_FS \
				-e MSDOS_PARTITION
		fi
		cp "$obj/.config" "$base"
	fi
	cp "$base" "$obj/.config"
	if [ "$filter" = y ]; then
		"$SRC/scripts/config" --file "$obj/.config" -e BLK_FILTER \
			-m BLKSNAP
	else
		"$SRC/scripts/config" --file "$obj/.config" -d BLK_FILTER
	fi
	kmake "$obj" olddefconfig >/dev/null
}

n=0
for p in "${series[@]}"; do
	n=$((n + 1))
	if ! g am -q --whitespace=error "$PATCHES/$p"; then
		bad "$p does not apply"
		g am --abort || true
		break
	fi
	dirs=(block/)
	[ -f "$SRC/drivers/block/blksnap/Makefile" ] && dirs+=(drivers/block/blksnap/)
	configure "$OBJ" y
	step "patch $n: building ${dirs[*]}"
	if ! kmake "$OBJ" "${dirs[@]}" >"$tmp/build.log" 2>&1; then
		bad "build after $p"
		tail -n 30 "$tmp/build.log" >&2
	elif grep -E 'warning:|error:' "$tmp/build.log" >&2; then
		bad "warnings building after $p"
	fi
done

# 4. The new files: W=1, sparse, kernel-doc.
new_c=(block/blk-filter.o)
for f in "$SRC"/drivers/block/blksnap/*.c; do
	f=${f#"$SRC/"}
	new_c+=("${f%.c}.o")
done
step "W=1 C=2 on the new files"
if ! kmake "$OBJ" W=1 C=2 "${new_c[@]}" >"$tmp/w1.log" 2>&1; then
	bad "W=1 C=2 build"
	tail -n 30 "$tmp/w1.log" >&2
elif grep -E 'warning:|error:' "$tmp/w1.log" >&2; then
	bad "W=1 or sparse warnings"
fi
step "kernel-doc -none -Wall"
(cd "$SRC" && git -c core.quotepath=off diff --name-only --diff-filter=A pristine HEAD -- \
	'*.c' '*.h') >"$tmp/new-files"
mapfile -t new_files <"$tmp/new-files"
if (cd "$SRC" && scripts/kernel-doc -none -Wall "${new_files[@]}") 2>&1 |
	tee "$tmp/kdoc.log" | grep . >&2; then
	bad "kernel-doc warnings"
fi

# 5. The whole kernel, and the block layer without filters.
step "bzImage modules ($( ((full)) && echo x86_64_defconfig+kvm_guest || echo small) config)"
if ! kmake "$OBJ" bzImage modules >"$tmp/full.log" 2>&1; then
	bad "bzImage modules"
	tail -n 30 "$tmp/full.log" >&2
elif grep -E 'warning:|error:' "$tmp/full.log" >&2; then
	bad "warnings in the full build"
fi
NOF=$CACHE/obj-nofilter
mkdir -p "$NOF"
configure "$NOF" n
step "block/ without BLK_FILTER"
if ! kmake "$NOF" block/ >"$tmp/nof.log" 2>&1; then
	bad "block/ without BLK_FILTER"
	tail -n 30 "$tmp/nof.log" >&2
fi

# 6. The documentation.
if command -v sphinx-build >/dev/null; then
	step "htmldocs SPHINXDIRS=block"
	if ! kmake "$CACHE/obj-doc" htmldocs SPHINXDIRS=block >"$tmp/doc.log" 2>&1; then
		bad "htmldocs"
		tail -n 30 "$tmp/doc.log" >&2
	elif grep -E 'blkfilter|blksnap|blk-filter' "$tmp/doc.log" |
		grep -Ei 'warning|error' >&2; then
		bad "htmldocs warnings on our files"
	fi
else
	echo "check-series: sphinx-build not installed, htmldocs skipped"
fi

step "done"
((fail)) && exit 1
echo "check-series: all checks passed"
