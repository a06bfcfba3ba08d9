#!/bin/bash
# Every kind of difference storage holds the old data: a whole disk opened
# with O_EXCL (held exclusively until destroy: mkfs cannot open it), a
# named file on tmpfs, an O_TMPFILE file on tmpfs (its memory given back at
# destroy), a named file and an O_TMPFILE file on ext4. For each, 8 MiB
# are overwritten after take and the image still reads the old data.
# A file made large enough beforehand is used as it is.
# needs: blksnap.ko, 3 disks, mkfs.ext4
. "$TEST_BIN/testlib.sh"
need_disks 3
need_cmd mkfs.ext4
d=${DISKS[0]}
sd=${DISKS[1]}
fsd=${DISKS[2]}
load_blksnap diff_storage_minimum=8192
mkpattern "$TEST_TMP/old" 8192
mkpattern "$TEST_TMP/new" 8192
mkfs.ext4 -q -F "$fsd" || fail "mkfs"
mkdir "$TEST_TMP/ext4" "$TEST_TMP/tmpdir"
mount "$fsd" "$TEST_TMP/ext4" || fail "mount"
tmpfs_used() {
	df -k "$TEST_TMP" | awk 'NR == 2 {print $3}'
}

# check_storage STORAGE [LIMIT]: take with this storage, overwrite, compare.
check_storage() {
	local id img
	bput "$TEST_TMP/old" "$d" 0 || fail "fill"
	id=$(snap_new "$1" "${2:-65536}" "$d") || fail "snap_new"
	snap take "$id"
	img=$(snap_image "$d") || fail "snap_image"
	bput "$TEST_TMP/new" "$d" 0 || fail "overwrite"
	bsame "$TEST_TMP/old" "$img" 0 || fail "image with storage $1"
	bsame "$TEST_TMP/new" "$d" 0 || fail "original with storage $1"
	[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code with storage $1"
	echo "$id" >"$TEST_TMP/id"
}

check_storage "$TEST_TMP/named"
snap destroy "$(cat "$TEST_TMP/id")"
sz=$(stat -c %s "$TEST_TMP/named")
((sz >= 8 << 20 && sz <= 65536 * 512)) || fail "named tmpfs storage of $sz bytes"
rm "$TEST_TMP/named"
# A file's present size is used first: 20 MiB made beforehand, the 1 GiB
# default portion, a 20 MiB limit: it never grows.
echo 2097152 >/sys/module/blksnap/parameters/diff_storage_minimum
fallocate -l $((20 << 20)) "$TEST_TMP/presized" || fail "fallocate"
check_storage "$TEST_TMP/presized" 40960
snap destroy "$(cat "$TEST_TMP/id")"
[[ $(stat -c %s "$TEST_TMP/presized") == $((20 << 20)) ]] ||
	fail "presized storage changed size: $(stat -c %s "$TEST_TMP/presized")"
rm "$TEST_TMP/presized"
echo 8192 >/sys/module/blksnap/parameters/diff_storage_minimum

before=$(tmpfs_used)
check_storage "$TEST_TMP/tmpdir"
during=$(tmpfs_used)
[[ -z $(ls -A "$TEST_TMP/tmpdir") ]] || fail "O_TMPFILE storage has a name"
snap destroy "$(cat "$TEST_TMP/id")"
after=$(tmpfs_used)
echo "tmpfs used: $before KiB before, $during during, $after after"
((during - before >= 8192)) || fail "O_TMPFILE storage did not use tmpfs"
((after - before < 1024)) || fail "O_TMPFILE storage not freed at destroy"

check_storage "$TEST_TMP/ext4/named"
snap destroy "$(cat "$TEST_TMP/id")"
[[ -s $TEST_TMP/ext4/named ]] || fail "named ext4 storage"
check_storage "$TEST_TMP/ext4"
snap destroy "$(cat "$TEST_TMP/id")"
umount "$TEST_TMP/ext4" || fail "umount"
fsck.ext4 -fn "$fsd" >/dev/null || fail "fsck of the storage file system"
# Last: a whole disk.
dd if=/dev/zero of="$sd" bs=1M count=64 oflag=direct status=none || fail "zero $sd"
check_storage "$sd"
mkfs.ext4 -q -F "$sd" 2>/dev/null && fail "storage disk not held exclusively"
# The old data went to the storage disk.
nonzero=$(dd if="$sd" bs=1M count=64 iflag=direct status=none | tr -d '\0' | wc -c)
((nonzero > 6 << 20)) || fail "only $nonzero non-zero bytes on the storage disk"
snap destroy "$(cat "$TEST_TMP/id")"
id=$(snap create "$sd" 65536) || fail "storage disk not released at destroy"
snap destroy "$id"

snap detach "$d"
unload_blksnap
