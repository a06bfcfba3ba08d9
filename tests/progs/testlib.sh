# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for the tests that run in the guest; sourced, never run.
# A test exits 0 on pass, 77 on skip (after printing why), else fail.

set -u

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "skip: $*"
	exit 77
}

# need_disks N: sets DISKS=(first N spare disks) or skips.
need_disks() {
	read -r -a DISKS <<<"${TEST_DISKS:-}"
	((${#DISKS[@]} >= $1)) || skip "needs $1 disks, have ${#DISKS[@]}"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "needs $c"
	done
}

# cleanup_filters: after a failed test, detach bftest wherever it is
# attached and unload, so that the next test starts clean.
cleanup_filters() {
	local f dev
	[[ -d /sys/module/bftest ]] || return 0
	for f in /sys/block/*/filter /sys/block/*/*/filter; do
		[[ -r $f ]] || continue
		case $(cat "$f") in
		bftest | bftest-alt) ;;
		*) continue ;;
		esac
		dev=${f%/filter}
		dev=/dev/${dev##*/}
		bfctl detach "$dev" "$(cat "$f")" 2>/dev/null
	done
	rmmod bftest 2>/dev/null
	rmmod blkfilter 2>/dev/null
	return 0
}

# load_filters: blkfilter and the bftest filter, unloaded at exit.
load_filters() {
	trap cleanup_filters EXIT
	insmod "$TEST_MODULES/blkfilter.ko" || fail "insmod blkfilter"
	insmod "$TEST_MODULES/bftest.ko" || fail "insmod bftest"
}

unload_filters() {
	rmmod bftest || fail "rmmod bftest"
	rmmod blkfilter || fail "rmmod blkfilter"
}

# bf ARGS: bfctl that must succeed.
bf() {
	bfctl "$@" || fail "bfctl $*"
}

# bfstat DEV KEY: one counter of the bftest filter on DEV.
bfstat() {
	local v
	v=$(bfctl stats "$1" | sed -n "s/^$2=//p")
	[[ -n $v ]] || fail "no counter $2 on $1"
	echo "$v"
}

# expect_stat DEV KEY VALUE
expect_stat() {
	local v
	v=$(bfstat "$1" "$2")
	[[ $v == "$3" ]] || fail "$1: $2 is $v, expected $3"
}

attached_count() {
	cat /sys/module/bftest/parameters/attached
}

# mkpattern FILE KIB: a file of random data.
mkpattern() {
	head -c "$(($2 * 1024))" /dev/urandom >"$1" || fail "mkpattern $1"
}

# put FILE DEV OFFSET_KIB: write FILE to DEV at OFFSET with direct I/O.
put() {
	dd if="$1" of="$2" bs=4k seek="$(($3 / 4))" oflag=direct conv=notrunc \
		status=none
}

# same FILE DEV OFFSET_KIB: true if DEV holds FILE at OFFSET.
same() {
	local n
	n=$(($(wc -c <"$1") / 4096))
	dd if="$2" bs=4k skip="$(($3 / 4))" count="$n" iflag=direct status=none |
		cmp -s - "$1"
}
