#!/bin/bash
# Snapshots whose storages would wait for each other are refused: A keeps
# its storage in a file on disk 2's ext4; B of disk 2 with its storage on
# disk 1's ext4 would close the loop (each one's copy-on-write writes fresh
# chunks of the other: seen to deadlock on 6.1), so adding disk 2 to B is
# EDEADLK; so is the add closing a loop of three (A on 2, B on 3, C on 1).
# One-way dependencies are fine: A works with B's storage elsewhere, its
# image holds the data of take, the file systems stay clean.
# needs: blksnap.ko, 3 disks, mkfs.ext4, fsck.ext4
. "$TEST_BIN/testlib.sh"
need_disks 3
need_cmd mkfs.ext4 fsck.ext4
load_blksnap diff_storage_minimum=4096
# No lazy init: ext4lazyinit zeroing inode tables after take would copy
# tens of MiB and overflow the 32 MiB storages, depending on timing.
for i in 0 1 2; do
	mkdir "$TEST_TMP/m$i"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 \
		"${DISKS[$i]}" || fail "mkfs ${DISKS[$i]}"
	mount "${DISKS[$i]}" "$TEST_TMP/m$i" || fail "mount ${DISKS[$i]}"
done
head -c $((4 << 20)) /dev/urandom >"$TEST_TMP/m0/data" || fail "write"
sync
sum=$(sha256sum <"$TEST_TMP/m0/data")

# Two: A (disk 0) stores on disk 1; B (disk 1) storing on disk 0 closes it.
ida=$(snap_new "$TEST_TMP/m1/storage-a" 65536 "${DISKS[0]}") || fail "snap_new A"
idb=$(snap create "$TEST_TMP/m0/storage-b" 65536) || fail "create B"
snap attach "${DISKS[1]}"
snapctl -e EDEADLK add "${DISKS[1]}" "$idb" || fail "B on disk 0 for A on disk 1: not EDEADLK"
snap destroy "$idb"
# B stores elsewhere: no loop.
idb=$(snap create "$TEST_TMP/storage-b" 65536) || fail "create B"
snap add "${DISKS[1]}" "$idb"
snap take "$ida"
snap take "$idb"
head -c $((4 << 20)) /dev/urandom >"$TEST_TMP/new"
dd if="$TEST_TMP/new" of="$TEST_TMP/m0/data" bs=64k conv=notrunc,fsync status=none ||
	fail "overwrite"
head -c $((2 << 20)) /dev/urandom >"$TEST_TMP/m1/more" && sync
img=$(snap_image "${DISKS[0]}") || fail "snap_image"
[[ $(snap_field "${DISKS[0]}" error_code) == 0 ]] || fail "A failed"
fsck.ext4 -fn "$img" >/dev/null || fail "fsck of A's image"
mkdir "$TEST_TMP/i"
mount -o ro "$img" "$TEST_TMP/i" || fail "mount A's image"
[[ $(sha256sum <"$TEST_TMP/i/data") == "$sum" ]] || fail "data in A's image"
umount "$TEST_TMP/i" || fail "umount"
snap destroy "$ida"
snap destroy "$idb"

# Three: A (disk 0) on disk 1, B (disk 1) on disk 2, C (disk 2) on disk 0.
ida=$(snap_new "$TEST_TMP/m1/storage-a" 65536 "${DISKS[0]}") || fail "snap_new A"
idb=$(snap_new "$TEST_TMP/m2/storage-b" 65536 "${DISKS[1]}") || fail "snap_new B"
idc=$(snap create "$TEST_TMP/m0/storage-c" 65536) || fail "create C"
snap attach "${DISKS[2]}"
snapctl -e EDEADLK add "${DISKS[2]}" "$idc" || fail "a loop of three: not EDEADLK"
for id in "$ida" "$idb" "$idc"; do
	snap destroy "$id"
done

cmp -s "$TEST_TMP/new" "$TEST_TMP/m0/data" || fail "original data"
for i in 0 1 2; do
	umount "$TEST_TMP/m$i" || fail "umount"
	fsck.ext4 -fn "${DISKS[$i]}" >/dev/null || fail "fsck of ${DISKS[$i]}"
	snap detach "${DISKS[$i]}"
done
unload_blksnap
