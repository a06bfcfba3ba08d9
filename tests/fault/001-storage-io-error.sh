#!/bin/bash
# fail_make_request on the difference storage: a virtio disk used whole as
# the storage, then a file on ext4 on that disk.
#  1. Image reads while the storage fails: chunks read from the storage fail
#     with EIO, chunks still on the original read fine; either the snapshot
#     survives and, once the storage works again, its image is exactly the
#     data of take, or it failed with -EIO (an I/O to the storage failed).
#  2. Copy-on-write while the storage fails (a writer busy when the failures
#     start, more writes after): every write to the original succeeds and
#     lands; the snapshot fails with -EIO (snapshotinfo error_code, one
#     corrupted event with the device and -EIO), its image reads and writes
#     fail; destroy, detach and unload end within a timeout.
#  3. The same with the storage a file on ext4 on the failing disk: -EIO
#     (or -EROFS, once ext4 aborted its journal).
# The original holds exactly what was written (checked against a copy);
# the module works afterwards with the same storage disk. Leaks and lockdep
# reports are caught by the harness.
# needs: blksnap.ko, 2 disks, fail_make_request (the debug kernel), mkfs.ext4
# timeout: 300
. "$TEST_BIN/testlib.sh"
. "$TEST_BIN/faultlib.sh"
need_disks 2
need_blksnap
need_fault fail_make_request
need_cmd mkfs.ext4
d=${DISKS[0]}
sd=${DISKS[1]}
F=fail_make_request
load_blksnap diff_storage_minimum=65536
fault_trap
[[ -f $(sysfs_dev "$sd")/make-it-fail ]] || skip "no make-it-fail for $sd"
fault_on $F 100

MIB=32
mkpattern "$TEST_TMP/expect" $((MIB * 1024))
bput "$TEST_TMP/expect" "$d" 0 || fail "fill"

echo "== 1. image reads with the storage failing"
id=$(snap_new "$sd" $((256 * 2048)) "$d") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d") || fail "snap_image"
cp "$TEST_TMP/expect" "$TEST_TMP/pre"
mkpattern "$TEST_TMP/p1" 4096
expect_write "$d" "$TEST_TMP/p1" 0
settle "$sd"
make_it_fail "$sd" 1
image_fails "$img" 0 1024 || fail "image read of stored chunks succeeded with the storage failing"
dd if="$img" bs=1M skip=8 count=1 iflag=direct status=none 2>/dev/null |
	cmp -s - <(dd if="$TEST_TMP/pre" bs=1M skip=8 count=1 status=none) ||
	fail "image read of chunks on the original failed or differs with the storage failing"
make_it_fail "$sd" 0
ec=$(snap_field "$d" error_code)
case $ec in
0)
	bsame "$TEST_TMP/pre" "$img" 0 || fail "the image differs from take once the storage works again"
	echo "the snapshot survived failed image reads of the storage"
	;;
-5)
	image_fails "$img" 8192 64 || fail "image of a failed snapshot reads"
	echo "failed image reads of the storage failed the snapshot"
	;;
*) fail "error_code $ec after failed image reads" ;;
esac
expect_held "$d" "part 1"
within 60 "destroy" snap destroy "$id"

echo "== 2. copy-on-write with the storage failing"
id=$(snap_new "$sd" $((256 * 2048)) "$d") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d") || fail "snap_image"
snap wait "$id" 120000 >"$TEST_TMP/waiter" &
waiter=$!
mkpattern "$TEST_TMP/p2" $((16 * 1024))
dd if="$TEST_TMP/p2" of="$d" bs=256k seek=4M oflag=direct,seek_bytes conv=notrunc \
	status=none &
writer=$!
sleep 1
make_it_fail "$sd" 1
wait "$writer" || fail "a write to the original failed while the storage started failing"
dd if="$TEST_TMP/p2" of="$TEST_TMP/expect" bs=1M seek=4 conv=notrunc status=none
mkpattern "$TEST_TMP/p3" 8192
expect_write "$d" "$TEST_TMP/p3" 20
ec=$(wait_error "$d" 10)
[[ $ec == -5 ]] || fail "error_code $ec with the storage failing, expected -5"
wait_gone "$waiter" 10 || fail "no event"
wait "$waiter" || fail "the waiter failed"
cat "$TEST_TMP/waiter"
check_event "$TEST_TMP/waiter" "$d" -5
snapctl -e ENOENT wait "$id" 200 || fail "a second event"
image_fails "$img" 0 64 || fail "image read of a stored chunk of a failed snapshot succeeded"
image_fails "$img" 30720 64 || fail "image read of a chunk on the original of a failed snapshot succeeded"
image_write_fails "$img" 30720 || fail "image write to a failed snapshot succeeded"
mkpattern "$TEST_TMP/p4" 2048
expect_write "$d" "$TEST_TMP/p4" 28
expect_held "$d" "part 2, storage failing"
make_it_fail "$sd" 0
image_fails "$img" 0 64 || fail "image of a failed snapshot reads once the storage works"
within 60 "destroy" snap destroy "$id"
[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code after destroy: the series reports none"
expect_held "$d" "part 2, after destroy"

echo "== 3. a file storage on ext4 on the failing disk"
mkdir -p "$TEST_TMP/st"
mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=1 "$sd" || fail "mkfs.ext4"
mount "$sd" "$TEST_TMP/st" || fail "mount"
id=$(snap_new "$TEST_TMP/st/diff" $((256 * 2048)) "$d") || fail "snap_new"
sync
snap take "$id"
img=$(snap_image "$d") || fail "snap_image"
cp "$TEST_TMP/expect" "$TEST_TMP/pre"
mkpattern "$TEST_TMP/p5" 2048
expect_write "$d" "$TEST_TMP/p5" 0
bsame "$TEST_TMP/pre" "$img" 0 || fail "image before the storage fails"
make_it_fail "$sd" 1
mkpattern "$TEST_TMP/p6" 8192
expect_write "$d" "$TEST_TMP/p6" 8
ec=$(wait_error "$d" 10)
echo "error_code $ec"
[[ $ec == -5 || $ec == -30 ]] || fail "error_code $ec with the ext4 storage failing, expected -5 (or -30)"
image_fails "$img" 8192 64 || fail "image read of a failed snapshot succeeded"
expect_held "$d" "part 3, storage failing"
make_it_fail "$sd" 0
within 60 "destroy" snap destroy "$id"
within 60 "umount of the failed storage" umount "$TEST_TMP/st"
wipefs -qa "$sd" >/dev/null

echo "== the module goes on"
within 30 "detach" snap detach "$d"
expect_held "$d" "after detach"
blksnap_ok "$d"
# The storage disk works again as storage.
id=$(snap_new "$sd" $((64 * 2048)) "$d") || fail "snap_new"
snap take "$id"
cp "$TEST_TMP/expect" "$TEST_TMP/pre"
mkpattern "$TEST_TMP/p7" 1024
expect_write "$d" "$TEST_TMP/p7" 0
bsame "$TEST_TMP/pre" "$(snap_image "$d")" 0 || fail "image with the storage disk back"
[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code of the last snapshot"
within 60 "destroy" snap destroy "$id"
within 30 "detach" snap detach "$d"
expect_held "$d" "at the end"
fault_restore
within 60 "unload" unload_blksnap
