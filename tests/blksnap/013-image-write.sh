#!/bin/bash
# Writes to an image: they read back from the image, never reach the
# original; a sector written into a chunk never copied keeps the rest of
# the chunk's old data; a write to a chunk the original already changed
# keeps that chunk's old data around it; later writes to the original do
# not show in the image; the change map marks the image's writes at once
# (readable map: changes_number; active map: the next number, as cbtdirty
# does); a new snapshot's image has none of them.
# needs: blksnap.ko, 1 disk
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_blksnap diff_storage_minimum=2048
mkpattern "$TEST_TMP/old" 4096
bput "$TEST_TMP/old" "$d" 0 || fail "fill"
id=$(snap_new "$TEST_TMP/storage" 131072 "$d") || fail "snap_new"
bs=$(cbt "$d" block_size)
((bs == 4096)) || skip "expects 4 KiB tracking blocks, got $bs"
snap take "$id"
cn=$(cbt "$d" changes_number)
img=$(snap_image "$d") || fail "snap_image"
mkpattern "$TEST_TMP/w1" 64
mkpattern "$TEST_TMP/w3" 8
mkpattern "$TEST_TMP/q" 64
head -c 512 /dev/urandom >"$TEST_TMP/w2"

# w1: 64 KiB at 1 MiB; w2: one sector at 2 MiB + 1536; w3: 8 KiB at
# 3 MiB + 4 KiB after the original changed 3 MiB..3 MiB + 64 KiB.
bput "$TEST_TMP/w1" "$img" 1024 || fail "write w1 to the image"
dd if="$TEST_TMP/w2" of="$img" bs=512 seek=$((2 * 2048 + 3)) oflag=direct conv=notrunc \
	status=none || fail "write w2 to the image"
bput "$TEST_TMP/q" "$d" 3072 || fail "write the original"
bput "$TEST_TMP/w3" "$img" $((3072 + 4)) || fail "write w3 to the image"
# The expected image.
cp "$TEST_TMP/old" "$TEST_TMP/want"
dd if="$TEST_TMP/w1" of="$TEST_TMP/want" bs=1k seek=1024 conv=notrunc status=none
dd if="$TEST_TMP/w2" of="$TEST_TMP/want" bs=512 seek=$((2 * 2048 + 3)) conv=notrunc status=none
dd if="$TEST_TMP/w3" of="$TEST_TMP/want" bs=1k seek=$((3072 + 4)) conv=notrunc status=none
# And the original.
cp "$TEST_TMP/old" "$TEST_TMP/orig"
dd if="$TEST_TMP/q" of="$TEST_TMP/orig" bs=1k seek=3072 conv=notrunc status=none

bsame "$TEST_TMP/want" "$img" 0 || fail "image after writes to it"
bsame "$TEST_TMP/orig" "$d" 0 || fail "original after writes to the image"
# More writes to the original, over the image's written places.
bput "$TEST_TMP/q" "$d" 1024 || fail "write the original at 1 MiB"
bput "$TEST_TMP/q" "$d" 2048 || fail "write the original at 2 MiB"
dd if="$TEST_TMP/q" of="$TEST_TMP/orig" bs=1k seek=1024 conv=notrunc status=none
dd if="$TEST_TMP/q" of="$TEST_TMP/orig" bs=1k seek=2048 conv=notrunc status=none
bsame "$TEST_TMP/want" "$img" 0 || fail "image after more writes to the original"
bsame "$TEST_TMP/orig" "$d" 0 || fail "original"
# Buffered reads of the image see the same.
cmp -s -n $((4 << 20)) "$TEST_TMP/want" "$img" || fail "image, buffered reads"

# The readable map marks the image's blocks at once with changes_number:
# the backup being made from this snapshot copies them.
map=$(snap cbtmap "$d")
want=$(for b in $(seq 256 271) 512 769 770; do echo "$b $cn"; done)
[[ $map == "$want" ]] || fail "readable map [${map//$'\n'/, }], expected [${want//$'\n'/, }]"
snap destroy "$id"

# A new snapshot: none of the image writes, the original's data.
id=$(snap_new "$TEST_TMP/storage2" 131072 "$d") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d") || fail "snap_image"
bsame "$TEST_TMP/orig" "$img" 0 || fail "new image"
# The active map had them too, with the next number, as the original's
# writes after the first take: the next backup copies them again.
map=$(snap cbtmap "$d")
want=$(for b in $(seq 256 271) $(seq 512 527) $(seq 768 783); do echo "$b $((cn + 1))"; done)
[[ $map == "$want" ]] || fail "map of the next take [${map//$'\n'/, }], expected [${want//$'\n'/, }]"
snap destroy "$id"
snap detach "$d"
unload_blksnap
