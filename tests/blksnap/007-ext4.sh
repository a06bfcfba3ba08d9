#!/bin/bash
# An ext4 file system snapshotted while mounted and written to: the image
# passes fsck.ext4 -fn, mounts, holds the files written before take with
# their checksums, not the files created, changed or deleted after take;
# files written to the mounted image stay in the image (fsck still clean)
# and never reach the original, whose file system stays clean too. A take
# of a file system frozen already (fsfreeze) works, and thaws back.
# needs: blksnap.ko, 1 disk, mkfs.ext4, fsck.ext4
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd mkfs.ext4 fsck.ext4 sha256sum
d=${DISKS[0]}
load_blksnap diff_storage_minimum=16384
fs_snapshot_check "$d" "mkfs.ext4 -q -F" "fsck.ext4 -fn" 0
# Take while the file system is frozen already (fsfreeze): no deadlock.
mount "$d" "$TEST_TMP/orig" || fail "mount"
fsfreeze -f "$TEST_TMP/orig" || fail "fsfreeze"
id=$(snap_new "$TEST_TMP/storage" 65536 "$d") || fail "snap_new"
timeout 60 snapctl take "$id"
rc=$?
fsfreeze -u "$TEST_TMP/orig" || fail "thaw"
((rc == 0)) || fail "take of a frozen file system: exit $rc"
{ echo after >"$TEST_TMP/orig/after" && sync; } || fail "write after thaw"
img=$(snap_image "$d") || fail "snap_image"
fsck.ext4 -fn "$img" >/dev/null || fail "fsck of the image of a frozen file system"
snap destroy "$id"
umount "$TEST_TMP/orig" || fail "umount"
snap detach "$d"
unload_blksnap
