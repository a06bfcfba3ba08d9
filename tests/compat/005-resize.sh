#!/bin/bash
# A device that grows between takes (a loop device over a file, grown and
# re-read with losetup -c), as the v6 series handles it: until the next
# take the tracker keeps its size; at that take it starts over with the new
# size (cbtinfo: new capacity and block count, a new generation,
# changes_number 0), and the image has the new size and the data of the
# grown part. Writes to the grown part after it are tracked: the next take
# lists their block with changes_number 1.
# needs: blksnap.ko, loop
. "$TEST_BIN/testlib.sh"
need_cmd losetup truncate
load_blksnap diff_storage_minimum=2048
modprobe loop 2>/dev/null
f=$TEST_TMP/backing
truncate -s 32M "$f"
loop=$(losetup -f --show "$f") || skip "no loop device"
trap 'losetup -d "$loop" 2>/dev/null; cleanup_blksnap' EXIT
mkpattern "$TEST_TMP/p" 32768
bput "$TEST_TMP/p" "$loop" 0 || fail "fill $loop"
snap attach "$loop"
id=$(snap_new "$TEST_TMP/s1" 65536 "$loop") || fail "snap_new"
snap take "$id"
snap destroy "$id"
gen1=$(cbt "$loop" generation)
bs=$(cbt "$loop" block_size)
[[ $(cbt "$loop" capacity) == $((32 << 20)) ]] || fail "capacity $(cbt "$loop" capacity)"

truncate -s 48M "$f"
losetup -c "$loop" || fail "losetup -c"
[[ $(devsize "$loop") == $((48 << 20)) ]] || fail "$loop did not grow"
# Until the next take, as before.
[[ $(cbt "$loop" capacity) == $((32 << 20)) ]] || fail "capacity changed before take"
mkpattern "$TEST_TMP/q" 16384
bput "$TEST_TMP/q" "$loop" 32768 || fail "write the grown part"
id=$(snap_new "$TEST_TMP/s2" 65536 "$loop") || fail "snap_new"
snap take "$id"
[[ $(cbt "$loop" capacity) == $((48 << 20)) ]] || fail "capacity $(cbt "$loop" capacity) after take"
[[ $(cbt "$loop" block_count) == $(((48 << 20) / bs)) ]] || fail "block_count $(cbt "$loop" block_count)"
[[ $(cbt "$loop" generation) != "$gen1" ]] || fail "same generation after a resize"
[[ $(cbt "$loop" changes_number) == 0 ]] || fail "changes_number $(cbt "$loop" changes_number)"
img=$(snap_image "$loop")
[[ $(devsize "$img") == $((48 << 20)) ]] || fail "image of $(devsize "$img") bytes"
bsame "$TEST_TMP/p" "$img" 0 || fail "image, old part"
bsame "$TEST_TMP/q" "$img" 32768 || fail "image, grown part"
# A write to the grown part after this take.
mkpattern "$TEST_TMP/r" 4
bput "$TEST_TMP/r" "$loop" 40960 || fail "write after take"
bsame "$TEST_TMP/q" "$img" 32768 || fail "image changed by a write"
snap destroy "$id"
id=$(snap_new "$TEST_TMP/s3" 65536 "$loop") || fail "snap_new"
snap take "$id"
[[ $(cbt "$loop" changes_number) == 1 ]] || fail "changes_number $(cbt "$loop" changes_number)"
want="$(((40960 * 1024) / bs)) 1"
[[ $(snap cbtmap "$loop") == "$want" ]] || fail "cbtmap: $(snapctl cbtmap "$loop"), expected $want"
snap destroy "$id"
snap detach "$loop"
losetup -d "$loop"
unload_blksnap
