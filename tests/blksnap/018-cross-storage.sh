#!/bin/bash
# Two snapshots whose storages sit on each other's devices (A of disk 1
# keeps its storage in a file on disk 2's ext4, B of disk 2 on disk 1's)
# would wait for each other: the second add is refused with EDEADLK.  With
# B's storage elsewhere, copy-on-write of A writes fresh blocks of B's
# device, which go through B's copy-on-write. It must end without deadlock;
# each snapshot is then either
# whole (its image clean, with the data of take) or failed with -ENOSPC
# (image I/O errors), never anything else; the original file systems hold
# all their writes and stay clean.
# needs: blksnap.ko, 2 disks, mkfs.ext4, fsck.ext4
# timeout: 240
. "$TEST_BIN/testlib.sh"
need_disks 2
need_cmd mkfs.ext4 fsck.ext4
a=${DISKS[0]}
b=${DISKS[1]}
load_blksnap diff_storage_minimum=4096
mkdir "$TEST_TMP/a" "$TEST_TMP/b" "$TEST_TMP/ia" "$TEST_TMP/ib"
for x in a b; do
	dev=$a
	[[ $x == b ]] && dev=$b
	mkfs.ext4 -q -F "$dev" || fail "mkfs $dev"
	mount "$dev" "$TEST_TMP/$x" || fail "mount $dev"
	head -c $((6 << 20)) /dev/urandom >"$TEST_TMP/$x/data" || fail "write $x"
	sha256sum <"$TEST_TMP/$x/data" >"$TEST_TMP/$x.sum"
done
sync
ida=$(snap_new "$TEST_TMP/b/storage-of-a" 65536 "$a") || fail "snap_new a"
# B's storage on a's file system would close a loop (the copy-on-write of
# each waiting for the other's): refused with EDEADLK, and nothing changes.
idb=$(snapctl create "$TEST_TMP/a/storage-of-b" 65536) || fail "create b"
snap attach "$b"
snapctl -e EDEADLK add "$b" "$idb" ||
	fail "a loop of storages was accepted"
snap destroy "$idb"
rm -f "$TEST_TMP/a/storage-of-b"
# B's storage in memory: A's copy-on-write lands on b and goes through B's.
idb=$(snap_new "$TEST_TMP/storage-of-b" 65536 "$b") || fail "snap_new b"
snap take "$ida"
snap take "$idb"
# Overwrite both in place, in parallel, and sync: every chunk written
# copies, and the copies land on the other snapshot's device.
for x in a b; do
	(
		head -c $((6 << 20)) /dev/urandom >"$TEST_TMP/$x.new" || exit 1
		dd if="$TEST_TMP/$x.new" of="$TEST_TMP/$x/data" bs=64k conv=notrunc,fsync \
			status=none || exit 1
		head -c $((4 << 20)) /dev/urandom >"$TEST_TMP/$x/more" && sync
	) &
done
ok=1
for p in $(jobs -p); do
	wait_gone "$p" 120 || { ok=0; break; }
	wait "$p" || fail "writer failed"
done
((ok)) || fail "writers hang: copy-on-write into each other's storage deadlocks"
# The ping-pong goes on in the background: let it settle.
for _ in $(seq 30); do
	[[ $(snap_field "$a" error_code) != 0 && $(snap_field "$b" error_code) != 0 ]] && break
	sleep 0.5
done
for x in a b; do
	dev=$a
	[[ $x == b ]] && dev=$b
	ec=$(snap_field "$dev" error_code)
	img=$(snap_image "$dev") || fail "snap_image"
	if [[ $ec == -28 ]]; then
		echo "snapshot of $dev overflowed"
		dd if="$img" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null &&
			fail "image of $dev reads after overflow"
		continue
	fi
	[[ $ec == 0 ]] || fail "$dev: error_code $ec"
	echo "snapshot of $dev whole"
	fsck.ext4 -fn "$img" >/dev/null || fail "fsck of the image of $dev"
	mount -o ro "$img" "$TEST_TMP/i$x" || fail "mount the image of $dev"
	[[ $(sha256sum <"$TEST_TMP/i$x/data") == "$(cat "$TEST_TMP/$x.sum")" ]] ||
		fail "data in the image of $dev"
	[[ ! -e $TEST_TMP/i$x/more ]] || fail "file of after take in the image of $dev"
	umount "$TEST_TMP/i$x" || fail "umount image"
done
snap destroy "$ida"
snap destroy "$idb"
for x in a b; do
	dev=$a
	[[ $x == b ]] && dev=$b
	cmp -s "$TEST_TMP/$x.new" "$TEST_TMP/$x/data" || fail "original data of $dev"
	umount "$TEST_TMP/$x" || fail "umount $dev"
	fsck.ext4 -fn "$dev" >/dev/null || fail "fsck of $dev"
	snap detach "$dev"
done
unload_blksnap
