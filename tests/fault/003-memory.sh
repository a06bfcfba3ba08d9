#!/bin/bash
# Memory allocation failures in the module's paths: failslab and
# fail_page_alloc, restricted by the stack trace filter to allocations made
# below the code of blksnap.ko (or of blkfilter.ko), never below vmalloc
# (whose failures the kernel reports with a stack dump).
#  1. Every allocation of each call, one after the other (fail-nth, in the
#     calling task): attach, create, add, take, cbtinfo, cbtmap, cbtdirty,
#     snapshotinfo, collect, wait, destroy, detach each either succeed or
#     fail with ENOMEM, and leave a state that works: a failed attach
#     attaches nothing, a failed create creates no snapshot, a failed add
#     adds nothing, a failed take leaves a snapshot that destroy removes,
#     destroy always succeeds. The first 16 points of a call are all tried,
#     then ever fewer (N grows by half each time), for 30 s at most.
#  2. Failures at random (2% to 50% of the allocations, in any task: the
#     copy-on-write and image work items too) through rounds of attach,
#     create, add, take, writes to the original, image reads and writes,
#     cbtmap, cbtdirty, destroy, detach: calls succeed or fail with ENOMEM;
#     every write to the original succeeds; an image read that succeeds
#     returns the data of take, an image write that succeeded reads back;
#     a snapshot that failed says -ENOMEM (or -EIO, -ENOSPC: the storage
#     could not be written or grown) and sent its one corrupted event.
# Then, injection off, the original holds exactly what was written, a new
# snapshot works, the module unloads. Leaks and lockdep reports are caught
# by the harness.
# needs: blksnap.ko, 1 disk, failslab and fail_page_alloc with the stack
#   trace filter (the debug kernel), failnth
# timeout: 400
. "$TEST_BIN/testlib.sh"
. "$TEST_BIN/faultlib.sh"
need_disks 1
need_blksnap
need_fault failslab fail_page_alloc
need_fault_stack failslab fail_page_alloc
need_cmd failnth
d=${DISKS[0]}
load_blksnap diff_storage_minimum=16384
fault_trap
[[ -w /proc/self/fail-nth ]] || skip "no /proc/self/fail-nth"
ATTRS=(failslab fail_page_alloc)
read -r bs_start bs_end <<<"$(mod_text_range blksnap)"
read -r bf_start bf_end <<<"$(blkfilter_text_range)"
[[ -n $bf_end ]] || fail "blkfilter's code not found"
echo "blksnap code $bs_start-$bs_end, blkfilter code $bf_start-$bf_end"
vm=$(sym_range __vmalloc_node_range_noprof)
[[ -n $vm ]] || vm=$(sym_range __vmalloc_node_range)
[[ -n $vm ]] || fail "no __vmalloc_node_range in /proc/kallsyms"
for a in "${ATTRS[@]}"; do
	fault_filters "$a"
	# shellcheck disable=SC2086 # two words
	fault_range "$a" reject $vm
done
# aim START END: inject only below code in [START, END).
aim() {
	local a
	for a in "${ATTRS[@]}"; do
		fault_range "$a" require "$1" "$2"
	done
}
aim "$bs_start" "$bs_end"

MIB=8
mkpattern "$TEST_TMP/expect" $((MIB * 1024))
bput "$TEST_TMP/expect" "$d" 0 || fail "fill"
attached() {
	[[ $(cat "$(sysfs_dev "$d")/filter" 2>/dev/null) == blksnap ]]
}
no_snapshots() {
	local ids
	ids=$(snapctl collect) || fail "collect"
	[[ -z $ids ]] || fail "$1: snapshots left: $ids"
}

# run [-n N] CMD...: CMD, with the N-th allocation below the aimed code
# failing if -n is given; sets INJ (1 if that allocation was reached), OUT
# (CMD's output) and ERR (OK or the errno name snapctl printed).
run() {
	local rc pre=()
	if [[ $1 == -n ]]; then
		pre=(failnth "$2")
		shift 2
	fi
	OUT=$("${pre[@]}" "$@" 2>"$TEST_TMP/run.err")
	rc=$?
	INJ=0
	[[ $(tail -n1 "$TEST_TMP/run.err") == injected ]] && INJ=1
	ERR=OK
	if ((rc)); then
		ERR=$(grep -o '([A-Z0-9?]*)$' "$TEST_TMP/run.err" | tail -n1 | tr -d '()')
		[[ -n $ERR ]] || ERR="exit status $rc: $(head -n3 "$TEST_TMP/run.err")"
	fi
}

# expect WHAT ERRS: ERR is OK or one of ERRS (comma-separated).
expect() {
	[[ $ERR == OK || ",$2," == *",$ERR,"* ]] || fail "$1: $ERR"
}

# sweep NAME ERRS: for N = 1, 2, ... until the N-th allocation is not
# reached any more (or SWEEP_SECONDS have passed): pre_NAME, call_NAME N
# (which runs its call with "run -n N"), the call must end with OK or one
# of ERRS, post_NAME checks the state and undoes what the call did.
SWEEP_SECONDS=30
sweep() {
	local name=$1 n=1 runs=0 injected=0 failed=0 t0=$SECONDS end=""
	while :; do
		"pre_$name"
		"call_$name" "$n"
		runs=$((runs + 1))
		expect "$name with allocation $n failing" "$2"
		((INJ)) && injected=$((injected + 1))
		[[ $ERR == OK ]] || failed=$((failed + 1))
		"post_$name"
		((INJ)) || break
		if ((SECONDS - t0 > SWEEP_SECONDS)); then
			end=" (stopped: time)"
			break
		fi
		if ((n < 16)); then
			n=$((n + 1))
		else
			n=$((n + n / 2))
		fi
	done
	echo "$name: $runs runs up to allocation $n$end, $injected reached, $failed calls failed, $((SECONDS - t0)) s"
}

S=$TEST_TMP/storage
LIMIT=8192
sid=
images_gone() {
	local x
	for x in /sys/block/blksnap-image*; do
		[[ -e $x ]] && fail "$1: image $x left"
	done
	return 0
}
# new_snap: a snapshot of $d in sid, not taken.
new_snap() {
	rm -f "$S"
	sid=$(snapctl create "$S" $LIMIT) || fail "create"
	snap add "$d" "$sid"
}
end_snap() {
	within 60 "destroy" snap destroy "$sid"
	no_snapshots "$1"
	images_gone "$1"
}

echo "== 1. each allocation of each call, below blksnap.ko"
# attach: nothing attached after a failure.
pre_attach() { attached && snap detach "$d"; }
call_attach() { run -n "$1" snapctl attach "$d"; }
post_attach() {
	if [[ $ERR == OK ]]; then
		attached || fail "attach succeeded but no filter"
	else
		attached && fail "a failed attach left the filter attached"
		snapctl -e ENOENT cbtinfo "$d" || fail "cbtinfo after a failed attach"
		snap attach "$d"
	fi
	[[ $(cbt "$d" changes_number) == 0 ]] || fail "a new tracker with changes"
}
sweep attach ENOMEM

# create: no snapshot after a failure.
pre_create() { rm -f "$S"; }
call_create() { run -n "$1" snapctl create "$S" $LIMIT; }
post_create() {
	if [[ $ERR == OK ]]; then
		[[ $(snapctl collect) == "$OUT" ]] || fail "create: collect does not list $OUT"
		snap destroy "$OUT"
	fi
	no_snapshots "create"
}
sweep create ENOMEM

# add: a failed add adds nothing; the device can be added afterwards.
pre_add() {
	rm -f "$S"
	sid=$(snapctl create "$S" $LIMIT) || fail "create"
}
call_add() { run -n "$1" snapctl add "$d" "$sid"; }
post_add() {
	if [[ $ERR == OK ]]; then
		snapctl -e EALREADY add "$d" "$sid" || fail "add again after add"
	else
		snapctl -e ENODEV take "$sid" || fail "take after a failed add"
		snap destroy "$sid"
		new_snap
	fi
	snap take "$sid"
	cmp -s -n 1048576 "$d" "$(snap_image "$d")" || fail "image after add"
	end_snap add
}
sweep add ENOMEM

# take: a failed take leaves a snapshot that destroy removes, images too.
pre_take() { new_snap; }
call_take() { run -n "$1" snapctl take "$sid"; }
post_take() {
	if [[ $ERR == OK ]]; then
		cmp -s -n 1048576 "$d" "$(snap_image "$d")" || fail "image after take"
	fi
	end_snap take
}
sweep take ENOMEM

# The calls on a taken snapshot.
new_snap
snap take "$sid"
for c in cbtinfo cbtmap dirty info collect wait; do
	eval "pre_$c() { :; }; post_$c() { :; }"
done
call_cbtinfo() { run -n "$1" snapctl cbtinfo "$d"; }
# A user buffer not yet touched: a page fault below the ioctl can fail.
call_cbtmap() { run -n "$1" snapctl cbtmap "$d"; }
call_dirty() { run -n "$1" snapctl dirty "$d" 0:8 8192:16; }
call_info() { run -n "$1" snapctl info "$d"; }
call_collect() { run -n "$1" snapctl collect; }
call_wait() { run -n "$1" snapctl -e ENOENT wait "$sid" 0; }
sweep cbtinfo ENOMEM
sweep cbtmap ENOMEM,EFAULT
sweep dirty ENOMEM
sweep info ENOMEM
sweep collect ENOMEM
sweep wait ENOMEM
[[ $(snap_field "$d" error_code) == 0 ]] || fail "the snapshot failed"
end_snap calls

# destroy: always succeeds, even with copy-on-write data in memory.
pre_destroy() {
	new_snap
	snap take "$sid"
	dd if="$TEST_TMP/expect" of="$d" bs=256k count=4 oflag=direct conv=notrunc status=none ||
		fail "write"
}
call_destroy() { run -n "$1" snapctl destroy "$sid"; }
post_destroy() { no_snapshots destroy; images_gone destroy; }
sweep destroy ""

# detach: a failed detach leaves the filter attached.
pre_detach() { attached || snap attach "$d"; }
call_detach() { run -n "$1" snapctl detach "$d"; }
post_detach() {
	if [[ $ERR == OK ]]; then
		attached && fail "detach succeeded but the filter is attached"
	else
		attached || fail "a failed detach detached"
	fi
}
sweep detach ENOMEM

echo "== 1b. each allocation of attach, ctl, detach, below blkfilter.ko"
aim "$bf_start" "$bf_end"
sweep attach ENOMEM
sweep cbtinfo ENOMEM
new_snap
sweep info ENOMEM
end_snap blkfilter
sweep detach ENOMEM
aim "$bs_start" "$bs_end"
expect_held "$d" "part 1"

echo "== 2. failures at random, in every task"
# inject PERCENT: that share of the allocations below blksnap.ko fails.
inject() {
	local a
	for a in "${ATTRS[@]}"; do
		fault_on "$a" "$1"
	done
}
# retry WHAT ERRS CMD...: run CMD until it succeeds (up to 20 times); every
# failure must be one of ERRS.
retry() {
	local what=$1 errs=$2 i
	shift 2
	for ((i = 0; i < 20; i++)); do
		run "$@"
		expect "$what" "$errs"
		[[ $ERR == OK ]] && return 0
	done
	return 1
}
# image_check IMG: read the image 1 MiB at a time; every read that succeeds
# must return the data of take (the file pre). Prints the reads that
# succeeded.
image_check() {
	local i ok=0
	for ((i = 0; i < MIB; i++)); do
		if dd if="$1" of="$TEST_TMP/piece" bs=1M skip=$i count=1 iflag=direct \
			status=none 2>/dev/null; then
			dd if="$TEST_TMP/pre" bs=1M skip=$i count=1 status=none |
				cmp -s - "$TEST_TMP/piece" ||
				fail "image read at $i MiB succeeded with wrong data"
			ok=$((ok + 1))
		fi
	done
	echo "$ok"
}
dirty_chunk=$((MIB - 1))
stats=()
for pct in 2 10 25 50; do
	inject "$pct"
	outcome=""
	if ! retry "attach" ENOMEM snapctl attach "$d"; then
		stats+=("$pct%: attach failed 20 times")
		continue
	fi
	rm -f "$S"
	if ! retry "create" ENOMEM snapctl create "$S" 65536; then
		stats+=("$pct%: create failed 20 times")
		fault_off "${ATTRS[@]}"
		within 30 "detach" snap detach "$d"
		continue
	fi
	sid=$OUT
	retry "add" ENOMEM snapctl add "$d" "$sid" || outcome="add failed 20 times"
	run snapctl take "$sid"
	expect "take" "ENOMEM,ENODEV"
	[[ $ERR == OK ]] || outcome="${outcome:-take $ERR}"
	if [[ -z $outcome ]]; then
		cp "$TEST_TMP/expect" "$TEST_TMP/pre"
		img=$(snap_image "$d") || fail "snap_image"
		# Copy-on-write under failures: the writes must all land.
		for off in 0 3 5 6; do
			mkpattern "$TEST_TMP/w" 512
			dd if="$TEST_TMP/w" of="$d" bs=128k seek=$((off * 1024 + pct * 8))k \
				oflag=direct,seek_bytes conv=notrunc status=none ||
				fail "a write to the original failed at $pct%"
			dd if="$TEST_TMP/w" of="$TEST_TMP/expect" bs=1k seek=$((off * 1024 + pct * 8)) \
				conv=notrunc status=none
		done
		good=$(image_check "$img") || exit 1
		# An image write that succeeds reads back (unless the snapshot
		# failed meanwhile).
		mkpattern "$TEST_TMP/iw" 64
		wrote=0
		dd if="$TEST_TMP/iw" of="$img" bs=64k seek=$((dirty_chunk * 16)) oflag=direct \
			conv=notrunc status=none 2>/dev/null && wrote=1
		if ((wrote)) && dd if="$img" of="$TEST_TMP/piece" bs=64k skip=$((dirty_chunk * 16)) \
			count=1 iflag=direct status=none 2>/dev/null; then
			cmp -s "$TEST_TMP/piece" "$TEST_TMP/iw" ||
				fail "an image write succeeded but does not read back"
		fi
		run snapctl cbtmap "$d"
		expect "cbtmap" "ENOMEM,EFAULT"
		run snapctl dirty "$d" 0:8
		expect "cbtdirty" "ENOMEM"
		run snapctl info "$d"
		expect "snapshotinfo" "ENOMEM"
		run snapctl -e OK,ENOENT wait "$sid" 0
		expect "wait" "ENOMEM"
		seen=0
		[[ $ERR == OK && $OUT == *code=0* ]] && seen=1
		# A failed snapshot sent its one event, whatever failed.
		fault_off "${ATTRS[@]}"
		ec=$(snap_field "$d" error_code)
		case $ec in
		0 | -12 | -5 | -28) ;;
		*) fail "error_code $ec under allocation failures" ;;
		esac
		if [[ $ec != 0 ]] && ((!seen)); then
			snapctl wait "$sid" 0 >"$TEST_TMP/event" ||
				fail "the snapshot failed with $ec, but no event came"
			check_event "$TEST_TMP/event" "$d" "$ec"
		fi
		inject "$pct"
		outcome="error_code $ec, $good of $MIB image reads of 1 MiB succeeded, image write $wrote"
	fi
	within 60 "destroy" snap destroy "$sid"
	images_gone "round $pct%"
	run snapctl detach "$d"
	expect "detach" ENOMEM
	fault_off "${ATTRS[@]}"
	attached && within 30 "detach" snap detach "$d"
	no_snapshots "round $pct%"
	expect_held "$d" "round $pct%"
	stats+=("$pct%: $outcome")
done
printf '%s\n' "${stats[@]}"

echo "== injection off: everything works"
fault_restore
expect_held "$d" "the end"
blksnap_ok "$d"
snap detach "$d"
within 60 "unload" unload_blksnap
