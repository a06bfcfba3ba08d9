#!/bin/bash
# Destroy with the image's file system mounted and being read: the image
# goes, the file system's reads fail instead of hanging, it unmounts, no
# Oops or warning; the original file system is untouched and clean.
# needs: blksnap.ko, 1 disk, mkfs.ext4, fsck.ext4
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd mkfs.ext4 fsck.ext4
d=${DISKS[0]}
load_blksnap diff_storage_minimum=4096
mkdir "$TEST_TMP/o" "$TEST_TMP/i"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$d" || fail "mkfs"
mount "$d" "$TEST_TMP/o" || fail "mount"
for i in $(seq 8); do
	head -c $((1 << 20)) /dev/urandom >"$TEST_TMP/o/f$i" || fail "write"
done
(cd "$TEST_TMP/o" && sha256sum f*) >"$TEST_TMP/sums"
id=$(snap_new "$TEST_TMP/storage" 131072 "$d") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d") || fail "snap_image"
mount -o ro "$img" "$TEST_TMP/i" || fail "mount the image"
(
	while :; do
		echo 3 >/proc/sys/vm/drop_caches
		cat "$TEST_TMP"/i/f* >/dev/null 2>&1 || exit 0
	done
) &
reader=$!
sleep 1
snap destroy "$id"
wait_gone "$reader" 30 || fail "reads of the destroyed image's file system hang"
umount "$TEST_TMP/i" || umount -l "$TEST_TMP/i" || fail "umount the destroyed image"
(cd "$TEST_TMP/o" && sha256sum -c --quiet "$TEST_TMP/sums") || fail "original files"
umount "$TEST_TMP/o" || fail "umount"
fsck.ext4 -fn "$d" >/dev/null || fail "fsck of the original"
snap detach "$d"
unload_blksnap
