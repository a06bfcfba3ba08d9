#!/bin/bash
# Copy-on-write treats every bio that changes data: after take, a
# REQ_NOWAIT write to a chunk not yet preserved fails with EAGAIN and leaves
# the device alone, and succeeds once the chunk is preserved; discard and
# write-zeroes on the original leave the image's data as it was at take;
# flushes pass.  The change map marks what discard and write-zeroes touched.
# needs: blksnap.ko, 1 disk, xfs_io, blkdiscard
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd xfs_io blkdiscard
d=${DISKS[0]}
load_blksnap diff_storage_minimum=16384
mkpattern "$TEST_TMP/old" 8192
put "$TEST_TMP/old" "$d" 0 || fail "fill"
sync
snap attach "$d"
bs=$(cbt "$d" block_size)
id=$(snap_new "$TEST_TMP/storage" 131072 "$d")
snap take "$id"
img=$(snap_image "$d")

# RWF_NOWAIT on an unpreserved chunk: EAGAIN, and nothing written.
out=$(xfs_io -d -c "pwrite -N -V 1 -S 0xab 0 4096" "$d" 2>&1) &&
	fail "nowait write to a fresh chunk succeeded: $out"
grep -qi 'resource temporarily unavailable' <<<"$out" ||
	fail "nowait write: expected EAGAIN, got: $out"
same "$TEST_TMP/old" "$d" 0 || fail "the refused write changed the device"
# A blocking write preserves the chunk; then NOWAIT goes through.
xfs_io -d -c "pwrite -S 0xcd 0 4096" "$d" >/dev/null || fail "write"
xfs_io -d -c "pwrite -N -V 1 -S 0xef 0 4096" "$d" >/dev/null ||
	fail "nowait write to a preserved chunk failed"
cmp -s <(dd if="$d" bs=4096 count=1 iflag=direct status=none) \
	<(head -c 4096 /dev/zero | tr '\0' '\357') ||
	fail "device does not hold the nowait write"

# Discard and write-zeroes of the original: the image keeps the old data.
blkdiscard -o $((1024 * 1024)) -l $((1024 * 1024)) "$d" ||
	skip "the disk does not discard"
blkdiscard -z -o $((3 * 1024 * 1024)) -l $((2 * 1024 * 1024)) "$d" ||
	fail "write-zeroes"
cmp -s <(dd if="$d" bs=1M skip=3 count=2 iflag=direct status=none) \
	<(head -c $((2 * 1024 * 1024)) /dev/zero) || fail "write-zeroes did not zero"
sync
same "$TEST_TMP/old" "$img" 0 || fail "image changed by discard or write-zeroes"
# A flush of the original passes (and does not hang).
timeout 30 xfs_io -c fsync "$d" || fail "flush"
[[ $(snap_field "$d" error_code) == 0 ]] || fail "snapshot failed"
snap destroy "$id"

# The next snapshot's map has the discarded and zeroed blocks.
id=$(snap_new "$TEST_TMP/storage2" 65536 "$d")
snap take "$id"
n=$(cbt "$d" changes_number)
snapctl cbtmap "$d" >"$TEST_TMP/map" || fail "cbtmap"
for kib in 0 1024 2044 3072 5116; do
	b=$((kib * 1024 / bs))
	v=$(awk -v b="$b" '$1 == b {print $2}' "$TEST_TMP/map")
	[[ -n $v && $v -ge $n ]] || fail "block $b (at $kib KiB) not marked: '$v' < $n"
done
snap destroy "$id"
snap detach "$d"
unload_blksnap
