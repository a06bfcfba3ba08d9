#!/bin/bash
# Odd sizes: a partition of 16393 sectors (8 MiB + 4.5 KiB) and a loop
# device of 4 MiB + 3.5 KiB, with 64 KiB chunks and tracking blocks, so the
# last chunk and block are partial. Filled to the last sector, taken, then
# overwritten to the last sector: the image is exactly as large, reads back
# the old content to its last byte, including writes of the last sectors;
# the tracker counts the partial block and marks it; a sibling partition
# and the rest of the disk are not part of the snapshot.
# needs: blksnap.ko, 1 disk, sfdisk, losetup
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd sfdisk losetup
d=${DISKS[0]}
load_blksnap diff_storage_minimum=2048 chunk_minimum_shift=16 tracking_block_minimum_shift=16

# odd_check DEV: the whole check on one odd-sized device.
odd_check() {
	local dev=$1 bytes sectors id img bc
	bytes=$(devsize "$dev")
	sectors=$((bytes / 512))
	((bytes % 65536)) || fail "$dev is not odd-sized"
	head -c "$bytes" /dev/urandom >"$TEST_TMP/old"
	head -c "$bytes" /dev/urandom >"$TEST_TMP/new"
	dd if="$TEST_TMP/old" of="$dev" bs=64k oflag=direct status=none || fail "fill $dev"
	cmp -s "$TEST_TMP/old" "$dev" || fail "fill of $dev read back"
	snap attach "$dev"
	[[ $(cbt "$dev" capacity) == "$bytes" ]] || fail "capacity of $dev"
	bc=$(((bytes + 65535) / 65536))
	[[ $(cbt "$dev" block_count) == "$bc" ]] ||
		fail "block_count $(cbt "$dev" block_count), expected $bc"
	id=$(snap_new "$TEST_TMP/storage" 262144 "$dev") || fail "snap_new"
	snap take "$id"
	img=$(snap_image "$dev") || fail "snap_image"
	[[ $(devsize "$img") == "$bytes" ]] || fail "image size $(devsize "$img"), expected $bytes"
	# The last sectors first, one by one, then everything.
	dd if="$TEST_TMP/new" of="$dev" bs=512 skip=$((sectors - 1)) seek=$((sectors - 1)) \
		count=1 oflag=direct conv=notrunc status=none || fail "write the last sector"
	dd if="$TEST_TMP/new" of="$dev" bs=512 skip=$((sectors - 9)) seek=$((sectors - 9)) \
		count=3 oflag=direct conv=notrunc status=none || fail "write sectors near the end"
	cmp -s <(dd if="$img" bs=512 skip=$((sectors - 16)) iflag=direct status=none) \
		<(dd if="$TEST_TMP/old" bs=512 skip=$((sectors - 16)) status=none) ||
		fail "image end after writing the last sectors"
	dd if="$TEST_TMP/new" of="$dev" bs=64k oflag=direct conv=notrunc status=none ||
		fail "overwrite $dev"
	cmp "$TEST_TMP/new" "$dev" || fail "$dev after the overwrite"
	cmp "$TEST_TMP/old" <(dd if="$img" bs=64k iflag=direct status=none) ||
		fail "image of $dev (direct reads)"
	cmp "$TEST_TMP/old" "$img" || fail "image of $dev (buffered reads)"
	# Writes to the image's last sector.
	head -c 512 /dev/urandom >"$TEST_TMP/last"
	dd if="$TEST_TMP/last" of="$img" bs=512 seek=$((sectors - 1)) oflag=direct \
		conv=notrunc status=none || fail "write the image's last sector"
	cmp -s "$TEST_TMP/last" <(dd if="$img" bs=512 skip=$((sectors - 1)) iflag=direct status=none) ||
		fail "image's last sector"
	cmp -s <(dd if="$img" bs=64k count=$((bytes - 512)) iflag=direct,count_bytes status=none) \
		<(head -c $((bytes - 512)) "$TEST_TMP/old") || fail "image before its last sector"
	cmp "$TEST_TMP/new" "$dev" || fail "image write reached $dev"
	snap destroy "$id"
	# The next take shows the partial last block as changed since the
	# first (number 2: written after take 1).
	id=$(snap_new "$TEST_TMP/storage" 262144 "$dev") || fail "snap_new"
	snap take "$id"
	[[ $(snap cbtmap -o $((bc - 1)) "$dev") == "$((bc - 1)) 2" ]] ||
		fail "last block in the map: $(snapctl cbtmap -o $((bc - 1)) "$dev")"
	snap destroy "$id"
	snap detach "$dev"
	rm -f "$TEST_TMP/storage"
}

printf 'label: dos\nstart=2048, size=16393\nstart=20480, size=16384\n' |
	sfdisk -q "$d" >/dev/null || fail "sfdisk"
blockdev --rereadpt "$d" 2>/dev/null
p1=${d}1
p2=${d}2
[[ -b $p1 && -b $p2 ]] || fail "no partitions"
mkpattern "$TEST_TMP/p2" 8192
bput "$TEST_TMP/p2" "$p2" 0 || fail "write $p2"
odd_check "$p1"
bsame "$TEST_TMP/p2" "$p2" 0 || fail "$p2 changed"

# A partition in a snapshot; its sibling and the disk are not.
snap attach "$p1"
id=$(snap_new "$TEST_TMP/storage" 262144 "$p1") || fail "snap_new"
snap take "$id"
img=$(snap_image "$p1") || fail "snap_image"
mkpattern "$TEST_TMP/q" 8192
bput "$TEST_TMP/q" "$p2" 0 || fail "write $p2"
bsame "$TEST_TMP/q" "$p2" 0 || fail "$p2 under a snapshot of $p1"
# Not the MBR, not $p1's sectors: a filter on a partition sees the
# partition's bios only, not the whole disk's.
dd if="$TEST_TMP/q" of="$d" bs=512 seek=8 count=2000 oflag=direct conv=notrunc \
	status=none || fail "write the disk before $p1"
cmp "$TEST_TMP/new" "$img" || fail "image of $p1 after writes around it"
snap destroy "$id"
snap detach "$p1"
dd if=/dev/zero of="$d" bs=1M count=1 oflag=direct status=none
blockdev --rereadpt "$d" 2>/dev/null

modprobe loop 2>/dev/null
head -c $((4 * 1048576 + 3584)) /dev/zero >"$TEST_TMP/loopfile"
loop=$(losetup -f --show "$TEST_TMP/loopfile") || skip "no loop device"
odd_check "$loop"
losetup -d "$loop"
unload_blksnap
