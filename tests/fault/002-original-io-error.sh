#!/bin/bash
# fail_make_request on the original device.
#  1. Image reads while the original fails: chunks already preserved read
#     fine from the storage, chunks still only on the original fail with
#     EIO; the snapshot does not fail (no copy-on-write failed), and once
#     the original works again the whole image is the data of take.
#  2. Copy-on-write whose reads of old data fail: only the bios the module
#     submits to read old data fail (the stack trace filter aims at the
#     module's function that submits them), every write to the original
#     succeeds and lands; the snapshot fails with -EIO (error_code, one
#     corrupted event with the device and -EIO), image reads fail;
#     destroy, detach, unload end within a timeout.
#  3. The same on a partition, through its own make-it-fail.
# The original holds exactly what was written (checked against a copy);
# a new snapshot works afterwards.
# needs: blksnap.ko, 1 disk, fail_make_request with the stack trace filter
#   (the debug kernel)
# timeout: 300
. "$TEST_BIN/testlib.sh"
. "$TEST_BIN/faultlib.sh"
need_disks 1
need_blksnap
need_fault fail_make_request
need_fault_stack fail_make_request
d=${DISKS[0]}
F=fail_make_request
load_blksnap diff_storage_minimum=65536
fault_trap
[[ -f $(sysfs_dev "$d")/make-it-fail ]] || skip "no make-it-fail for $d"
fault_on $F 100

MIB=24
mkpattern "$TEST_TMP/expect" $((MIB * 1024))
bput "$TEST_TMP/expect" "$d" 0 || fail "fill"

original_ok() {
	make_it_fail "$1" 0
	expect_held "$1" "$2"
}

echo "== 1. image reads with the original failing"
id=$(snap_new "$TEST_TMP/s1" $((128 * 2048)) "$d") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d") || fail "snap_image"
cp "$TEST_TMP/expect" "$TEST_TMP/pre"
mkpattern "$TEST_TMP/p1" 4096
expect_write "$d" "$TEST_TMP/p1" 0
make_it_fail "$d" 1
# Preserved chunks come from the storage.
dd if="$img" bs=1M count=4 iflag=direct status=none 2>/dev/null |
	cmp -s - <(dd if="$TEST_TMP/pre" bs=1M count=4 status=none) ||
	fail "image read of preserved chunks failed or differs with the original failing"
image_fails "$img" 8192 1024 || fail "image read of chunks on the failing original succeeded"
image_fails "$img" 12288 1024 || fail "image read of chunks on the failing original succeeded"
# Reads of a large range that starts with preserved chunks (and goes
# beyond what may have been read ahead of the writes: cow_ahead_kib).
image_fails "$img" 3072 9216 || fail "image read across preserved and failing chunks succeeded"
make_it_fail "$d" 0
[[ $(snap_field "$d" error_code) == 0 ]] ||
	fail "error_code $(snap_field "$d" error_code) after failed image reads of the original"
snapctl -e ENOENT wait "$id" 0 || fail "an event after failed image reads"
bsame "$TEST_TMP/pre" "$img" 0 || fail "the image differs from take once the original works again"
original_ok "$d" "part 1"
within 60 "destroy" snap destroy "$id"

# The function that submits the reads of old data: the stack trace filter
# fails only the bios submitted below it, not the writes that the module
# sends on from its work items.
load_fn=
for fn in bs_copy_load bs_load_next_run; do
	r=$(sym_range "$fn" blksnap)
	if [[ -n $r ]]; then
		load_fn=$fn
		read -r load_start load_end <<<"$r"
		break
	fi
done
[[ -n $load_fn ]] || skip "no bs_copy_load or bs_load_next_run in /proc/kallsyms"
echo "reads of old data fail below $load_fn ($load_start-$load_end)"
fault_range $F require "$load_start" "$load_end"

# cow_fails DEV LABEL: a taken snapshot of DEV whose reads of old data fail.
cow_fails() {
	local dev=$1 id img waiter writer ec
	id=$(snap_new "$TEST_TMP/s.$2" $((128 * 2048)) "$dev") || fail "snap_new"
	snap take "$id"
	img=$(snap_image "$dev") || fail "snap_image"
	snap wait "$id" 120000 >"$TEST_TMP/waiter" &
	waiter=$!
	mkpattern "$TEST_TMP/p2" 2048
	expect_write "$dev" "$TEST_TMP/p2" 0
	mkpattern "$TEST_TMP/p3" 8192
	dd if="$TEST_TMP/p3" of="$dev" bs=256k seek=4M oflag=direct,seek_bytes \
		conv=notrunc status=none &
	writer=$!
	sleep 0.5
	make_it_fail "$dev" 1
	wait "$writer" || fail "a write to $dev failed while reads of old data started failing"
	dd if="$TEST_TMP/p3" of="$TEST_TMP/expect" bs=1M seek=4 conv=notrunc status=none
	mkpattern "$TEST_TMP/p4" 4096
	expect_write "$dev" "$TEST_TMP/p4" 12
	ec=$(wait_error "$dev" 10)
	[[ $ec == -5 ]] || fail "error_code $ec with reads of old data failing, expected -5"
	wait_gone "$waiter" 10 || fail "no event"
	wait "$waiter" || fail "the waiter failed"
	cat "$TEST_TMP/waiter"
	check_event "$TEST_TMP/waiter" "$dev" -5
	snapctl -e ENOENT wait "$id" 200 || fail "a second event"
	image_fails "$img" 0 64 || fail "image read of a failed snapshot succeeded"
	image_fails "$img" 20480 64 || fail "image read of a failed snapshot succeeded"
	image_write_fails "$img" 20480 || fail "image write to a failed snapshot succeeded"
	# The original still fails reads below the module only: plain I/O works.
	mkpattern "$TEST_TMP/p5" 1024
	expect_write "$dev" "$TEST_TMP/p5" 16
	bsame "$TEST_TMP/expect" "$dev" 0 || fail "$dev does not hold what was written"
	make_it_fail "$dev" 0
	within 60 "destroy" snap destroy "$id"
	[[ $(snap_field "$dev" error_code) == 0 ]] || fail "error_code after destroy: the series reports none"
	original_ok "$dev" "after destroy"
	within 30 "detach" snap detach "$dev"
}

echo "== 2. copy-on-write with reads of old data failing"
cow_fails "$d" disk
blksnap_ok "$d"
within 30 "detach" snap detach "$d"

echo "== 3. the same on a partition"
p=$(part "$d" 64) || fail "part"
[[ -f $(sysfs_dev "$p")/make-it-fail ]] || fail "no make-it-fail for $p"
mkpattern "$TEST_TMP/expect" $((MIB * 1024))
bput "$TEST_TMP/expect" "$p" 0 || fail "fill $p"
cow_fails "$p" part
blksnap_ok "$p"
within 30 "detach" snap detach "$p"
unpart
fault_restore
within 60 "unload" unload_blksnap
