# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fault injection helpers for the tests/fault group; sourced after
# testlib.sh, never run. They need a kernel with fault injection
# (CONFIG_FAULT_INJECTION_DEBUG_FS, CONFIG_FAIL_MAKE_REQUEST, CONFIG_FAILSLAB,
# CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_STACKTRACE_FILTER): the debug
# kernel. Stock kernels have none, and the tests skip there.
#
# Every setting changed through fault_set or make_it_fail is put back when
# the test exits (fault_trap), before the blksnap cleanup, so that the next
# test of the boot and the cleanup itself run without injected faults.

FAULT_DIR=/sys/kernel/debug
# "attr/file" -> value before the test changed it.
declare -A FAULT_SAVED=()
# make-it-fail files set by the test.
declare -A FAULT_MIF=()

# need_fault ATTR...: skip unless the kernel has these fault attributes
# (fail_make_request, failslab, fail_page_alloc) in debugfs.
need_fault() {
	local a
	[[ -d $FAULT_DIR/tracing || -d $FAULT_DIR/block ]] ||
		mount -t debugfs debugfs "$FAULT_DIR" 2>/dev/null
	for a in "$@"; do
		[[ -d $FAULT_DIR/$a ]] ||
			skip "kernel without $a (no fault injection: needs the debug kernel)"
	done
}

# need_fault_stack ATTR...: skip unless these attributes have the stack
# trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER).
need_fault_stack() {
	local a
	for a in "$@"; do
		[[ -f $FAULT_DIR/$a/require-start ]] ||
			skip "$a without stack trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)"
	done
}

# fault_set ATTR FILE VALUE: set a fault attribute file, remembering its
# old value for fault_restore.
fault_set() {
	local f=$FAULT_DIR/$1/$2
	[[ -f $f ]] || fail "no $f"
	[[ -n ${FAULT_SAVED[$1/$2]+x} ]] || FAULT_SAVED[$1/$2]=$(cat "$f")
	echo "$3" >"$f" || fail "cannot write $3 to $f"
}

# fault_get ATTR FILE
fault_get() {
	cat "$FAULT_DIR/$1/$2"
}

# fault_filters ATTR: let the attribute inject into every allocation,
# sleeping ones and single pages too (the defaults skip both), and print
# its messages without stack dumps (verbose 1: a stack dump is a "Call
# Trace" that fails the test). Needed for fail-nth too.
fault_filters() {
	fault_set "$1" verbose 1
	case $1 in
	failslab)
		fault_set "$1" ignore-gfp-wait N
		fault_set "$1" cache-filter N
		;;
	fail_page_alloc)
		fault_set "$1" ignore-gfp-wait N
		fault_set "$1" ignore-gfp-highmem N
		fault_set "$1" min-order 0
		;;
	esac
}

# fault_on ATTR PROBABILITY [INTERVAL [TIMES]]: inject with this
# probability (percent) at every INTERVAL-th (default 1) chance, TIMES
# times (default -1, no limit).
fault_on() {
	fault_filters "$1"
	fault_set "$1" interval "${3:-1}"
	fault_set "$1" times "${4:--1}"
	fault_set "$1" space 0
	fault_set "$1" probability "$2"
}

# fault_off ATTR...: no more injection (the stack ranges stay).
fault_off() {
	local a
	for a in "$@"; do
		[[ -f $FAULT_DIR/$a/probability ]] || continue
		echo 0 >"$FAULT_DIR/$a/probability" || fail "cannot turn $a off"
	done
}

# fault_range ATTR require|reject START END: a stack trace filter range
# (hex); "require" injects only below a caller in [START, END), "reject"
# never below one in it.
fault_range() {
	fault_set "$1" stacktrace-depth 32
	fault_set "$1" "$2-start" "0x$3"
	fault_set "$1" "$2-end" "0x$4"
}

# make_it_fail DEV 0|1: fail_make_request for a disk or partition.
make_it_fail() {
	local f
	f=$(sysfs_dev "$1")/make-it-fail
	[[ -f $f ]] || skip "no $f (CONFIG_FAIL_MAKE_REQUEST)"
	echo "$2" >"$f" || fail "cannot write $f"
	FAULT_MIF[$f]=1
}

# fault_restore: everything fault_set and make_it_fail changed back.
fault_restore() {
	local k f
	for f in "${!FAULT_MIF[@]}"; do
		echo 0 >"$f" 2>/dev/null
	done
	# Probabilities first, so that nothing is injected meanwhile.
	for k in "${!FAULT_SAVED[@]}"; do
		[[ $k == */probability ]] && echo "${FAULT_SAVED[$k]}" >"$FAULT_DIR/$k" 2>/dev/null
	done
	for k in "${!FAULT_SAVED[@]}"; do
		[[ $k == */probability ]] || echo "${FAULT_SAVED[$k]}" >"$FAULT_DIR/$k" 2>/dev/null
	done
	FAULT_MIF=()
	FAULT_SAVED=()
	return 0
}

# fault_trap: at exit, injection off, then the blksnap cleanup. Call after
# load_blksnap (which sets its own trap).
fault_trap() {
	trap 'fault_restore; cleanup_blksnap' EXIT
}

# fault_count: how many "forcing a failure" messages the kernel logged so
# far (verbose 1; allocations with __GFP_NOWARN fail silently).
fault_count() {
	dmesg | grep -c 'FAULT_INJECTION: forcing a failure'
}

# hexadd HEX N: HEX + N, as 16 hex digits.
hexadd() {
	printf '%016x' $((0x$1 + $2))
}

# sym_range SYMBOL [MODULE]: "START END" (16 hex digits each) of a function
# from /proc/kallsyms: its address and the next higher symbol's (the
# kernel's own symbols are listed in address order, a module's are not).
# Empty if there is no such symbol (inlined, renamed).
sym_range() {
	if [[ -n ${2:-} ]]; then
		grep -F "[$2]" /proc/kallsyms >"$TEST_TMP/kallsyms.$2"
		awk -v s="$1" '
			NR == FNR { if ($3 == s && $1 !~ /^0+$/) start = $1; next }
			start != "" && $1 > start && (end == "" || $1 < end) { end = $1 }
			END { if (start != "" && end != "") print start, end }
		' "$TEST_TMP/kallsyms.$2" "$TEST_TMP/kallsyms.$2"
		return
	fi
	awk -v s="$1" '
		start == "" && NF == 3 && $3 == s && $1 !~ /^0+$/ { start = $1; next }
		start != "" && $1 > start { print start, $1; exit }
	' /proc/kallsyms
}

# mod_text_range MODULE: "START END" of the module's code: from its .text
# section up to the first section, of any module, that starts above it
# and is not code of this module (at most .text + coresize).
mod_text_range() {
	local m=$1 d=/sys/module/$1/sections start end f n a size
	[[ -r $d/.text ]] || fail "no $d/.text"
	read -r a <"$d/.text"
	start=$(printf '%016x' "$a")
	[[ $start =~ ^0+$ ]] && fail "$d/.text reads 0: kernel addresses hidden (kptr_restrict)"
	read -r size <"/sys/module/$m/coresize"
	end=$(hexadd "$start" "$size")
	for f in /sys/module/*/sections/.* /sys/module/*/sections/*; do
		n=${f##*/}
		[[ $n == . || $n == .. ]] && continue
		if [[ $f == "$d/$n" ]]; then
			case $n in
			.text* | .noinstr.text | .exit.text | .altinstr_replacement | .static_call.text | .fixup) continue ;;
			esac
		fi
		read -r a 2>/dev/null <"$f" || continue
		a=$(printf '%016x' "$a")
		[[ $a > $start && $a < $end ]] && end=$a
	done
	echo "$start $end"
}

# blkfilter_text_range: "START END" of blkfilter's code: blkfilter.ko's,
# or where filters are built in (the in-tree series), the run of kernel
# functions of block/blk-filter.c around blkfilter_register(), whose names
# all start with bf_, blkfilter or __blkfilter, or are filter_show or
# bdev_filter (one object file's functions lie together).
blkfilter_text_range() {
	if ! blkfilter_builtin; then
		mod_text_range blkfilter
		return
	fi
	awk 'NF == 3 && $2 ~ /^[tT]$/ { print $1, $3 }' /proc/kallsyms | sort |
		awk '
		function ours(n) { return n ~ /^(bf_|blkfilter|__blkfilter|filter_show|bdev_filter)/ }
		{ addr[NR] = $1; name[NR] = $2; if ($2 == "blkfilter_register") at = NR }
		END {
			if (!at) exit 1
			for (f = at; f > 1 && ours(name[f - 1]); f--);
			for (l = at; l < NR && ours(name[l + 1]); l++);
			if (l == NR) exit 1
			print addr[f], addr[l + 1]
		}'
}

# within SECONDS WHAT CMD...: CMD must succeed, and end within SECONDS (a
# lock left held would keep it waiting).
within() {
	local secs=$1 what=$2 pid
	shift 2
	"$@" &
	pid=$!
	if ! wait_gone "$pid" "$secs"; then
		echo "$what: still running after ${secs}s; its stack:" >&2
		cat "/proc/$pid/stack" >&2 2>/dev/null
		echo w >/proc/sysrq-trigger 2>/dev/null
		fail "$what did not end within ${secs}s"
	fi
	wait "$pid" || fail "$what failed"
}

# settle DEV: wait (up to 10 s) until DEV has no I/O in flight and wrote
# nothing for 0.3 s: the module's writes to a storage device are done.
settle() {
	local f i a b
	f=$(sysfs_dev "$1")/stat
	read -r -a a <"$f"
	for ((i = 0; i < 30; i++)); do
		sleep 0.3
		read -r -a b <"$f"
		((b[8] == 0 && b[6] == a[6])) && return 0
		a=("${b[@]}")
	done
	fail "$1 still busy after 10 s"
}

# wait_error DEV SECONDS: wait until the snapshot of DEV has failed; prints
# its error_code (0 if it did not fail in time).
wait_error() {
	local i e=0
	for ((i = 0; i < $2 * 10; i++)); do
		e=$(snap_field "$1" error_code)
		[[ $e == 0 ]] || break
		sleep 0.1
	done
	echo "$e"
}

# check_event WAITER_OUTPUT DEV ERR: the output of "snapctl wait" is one
# corrupted event of DEV with ERR, an error_code (negative): the event
# carries the positive errno, as the v6 series sends it.
check_event() {
	local out
	out=$(cat "$1")
	grep -qx code=0 <<<"$out" || fail "event code: $out"
	grep -qx "dev=$(majmin "$2")" <<<"$out" || fail "event device, expected $(majmin "$2"): $out"
	grep -qx "err=${3#-}" <<<"$out" || fail "event error, expected ${3#-}: $out"
}

# image_fails IMG OFFSET_KIB KIB: a direct read of the image fails.
image_fails() {
	! dd if="$1" of=/dev/null bs=64k skip="$(($2 / 64))" count="$(($3 / 64))" \
		iflag=direct status=none 2>/dev/null
}

# image_write_fails IMG OFFSET_KIB: a 64 KiB direct write to the image fails.
image_write_fails() {
	! dd if=/dev/zero of="$1" bs=64k seek="$(($2 / 64))" count=1 oflag=direct \
		conv=notrunc status=none 2>/dev/null
}

# expect_write DEV FILE OFFSET_MIB: write FILE to DEV at OFFSET_MIB in
# 256 KiB direct writes, which must succeed, and to the same place of
# $TEST_TMP/expect, the copy of what DEV must hold.
expect_write() {
	dd if="$2" of="$1" bs=256k seek="$3M" oflag=direct,seek_bytes conv=notrunc \
		status=none || fail "a write to $1 at $3 MiB failed"
	dd if="$2" of="$TEST_TMP/expect" bs=1M seek="$3" conv=notrunc status=none ||
		fail "expect"
}

# expect_held DEV WHAT: DEV holds $TEST_TMP/expect from its start.
expect_held() {
	bsame "$TEST_TMP/expect" "$1" 0 || fail "$2: $1 does not hold what was written"
}
