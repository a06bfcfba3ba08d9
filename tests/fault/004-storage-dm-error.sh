#!/bin/bash
# I/O errors of the difference storage without fault injection, so that it
# runs on stock kernels too: the storage is a device-mapper device over a
# virtio disk whose table is switched from linear to "error" while
# copy-on-write runs (a writer busy when the errors start, more writes
# after), then back. Every write to the original succeeds and lands; the
# snapshot fails with -EIO (error_code, one corrupted event with the device
# and -EIO), image reads and writes fail; destroy ends within a timeout and
# the error stays after it; once the table is linear again the same
# storage serves a new snapshot; detach and unload end within a timeout.
# needs: blksnap.ko, 2 disks, dmsetup (dm-mod)
# timeout: 180
. "$TEST_BIN/testlib.sh"
. "$TEST_BIN/faultlib.sh"
need_disks 2
need_blksnap
need_cmd dmsetup
d=${DISKS[0]}
sd=${DISKS[1]}
modprobe dm-mod 2>/dev/null
[[ -c /dev/mapper/control ]] || skip "no device-mapper"
load_blksnap diff_storage_minimum=65536
dm=bsfault-storage
size=$((256 * 2048))
dmsetup create --noudevsync "$dm" --table "0 $size linear $sd 0" || fail "dmsetup create"
dmsetup mknodes "$dm"
st=/dev/mapper/$dm
[[ -b $st ]] || fail "no $st"
trap 'dmsetup resume --noudevsync "$dm" 2>/dev/null; cleanup_blksnap; dmsetup remove --noudevsync "$dm" 2>/dev/null' EXIT
# table TARGET: switch the storage's table ("linear $sd 0" or "error").
table() {
	dmsetup suspend --noudevsync "$dm" || fail "dmsetup suspend"
	dmsetup load "$dm" --table "0 $size $1" || fail "dmsetup load $1"
	dmsetup resume --noudevsync "$dm" || fail "dmsetup resume"
}

MIB=24
mkpattern "$TEST_TMP/expect" $((MIB * 1024))
bput "$TEST_TMP/expect" "$d" 0 || fail "fill"

id=$(snap_new "$st" "$size" "$d") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d") || fail "snap_image"
cp "$TEST_TMP/expect" "$TEST_TMP/pre"
snap wait "$id" 120000 >"$TEST_TMP/waiter" &
waiter=$!
mkpattern "$TEST_TMP/p1" 2048
expect_write "$d" "$TEST_TMP/p1" 0
bsame "$TEST_TMP/pre" "$img" 0 || fail "image before the storage fails"
mkpattern "$TEST_TMP/p2" 8192
dd if="$TEST_TMP/p2" of="$d" bs=256k seek=4M oflag=direct,seek_bytes conv=notrunc \
	status=none &
writer=$!
sleep 0.5
table error
wait "$writer" || fail "a write to the original failed while the storage started failing"
dd if="$TEST_TMP/p2" of="$TEST_TMP/expect" bs=1M seek=4 conv=notrunc status=none
mkpattern "$TEST_TMP/p3" 4096
expect_write "$d" "$TEST_TMP/p3" 12
ec=$(wait_error "$d" 10)
[[ $ec == -5 ]] || fail "error_code $ec with the storage failing, expected -5"
wait_gone "$waiter" 10 || fail "no event"
wait "$waiter" || fail "the waiter failed"
cat "$TEST_TMP/waiter"
check_event "$TEST_TMP/waiter" "$d" -5
snapctl -e ENOENT wait "$id" 200 || fail "a second event"
image_fails "$img" 0 64 || fail "image read of a stored chunk of a failed snapshot succeeded"
image_fails "$img" 20480 64 || fail "image read of a chunk on the original of a failed snapshot succeeded"
image_write_fails "$img" 20480 || fail "image write to a failed snapshot succeeded"
expect_held "$d" "storage failing"
table "linear $sd 0"
image_fails "$img" 0 64 || fail "image of a failed snapshot reads once the storage works"
within 60 "destroy" snap destroy "$id"
[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code after destroy: the series reports none"
expect_held "$d" "after destroy"

# The same storage works again.
id=$(snap_new "$st" "$size" "$d") || fail "snap_new"
snap take "$id"
cp "$TEST_TMP/expect" "$TEST_TMP/pre"
mkpattern "$TEST_TMP/p4" 2048
expect_write "$d" "$TEST_TMP/p4" 16
bsame "$TEST_TMP/pre" "$(snap_image "$d")" 0 || fail "image with the storage back"
[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code of the new snapshot"
within 60 "destroy" snap destroy "$id"
within 30 "detach" snap detach "$d"
expect_held "$d" "at the end"
within 60 "unload" unload_blksnap
dmsetup remove --noudevsync "$dm" || fail "dmsetup remove"
