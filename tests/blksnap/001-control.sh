#!/bin/bash
# The control device and a new change tracker: /dev/blksnap-control mode
# 0600, version 1.0.0.0, every module parameter with its default, no
# snapshot; attach gives the device a tracker (capacity, block size from
# the parameters, block count, a random generation, changes_number 0, an
# all-zero readable map that writes before the first take do not touch);
# snapshotinfo says no error and no image; a new attach gets a new
# generation.
# needs: blksnap.ko, 1 disk
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_blksnap diff_storage_minimum=2097152

[[ -c /dev/blksnap-control ]] || fail "/dev/blksnap-control is no char device"
[[ $(stat -c %a /dev/blksnap-control) == 600 ]] ||
	fail "/dev/blksnap-control mode $(stat -c %a /dev/blksnap-control)"
[[ $(snap version) == 1.0.0.0 ]] || fail "version $(snapctl version)"

for kv in tracking_block_minimum_shift=12 tracking_block_maximum_count=2097152 \
	tracking_block_maximum_shift=26 chunk_minimum_shift=12 \
	chunk_maximum_count=16777216 chunk_maximum_shift=26 \
	chunk_maximum_in_queue=16384 free_diff_buffer_pool_size=2048 \
	diff_storage_minimum=2097152; do
	f=/sys/module/blksnap/parameters/${kv%=*}
	[[ -r $f ]] || fail "no parameter ${kv%=*}"
	[[ $(cat "$f") == "${kv#*=}" ]] || fail "${kv%=*} is $(cat "$f"), expected ${kv#*=}"
done

[[ -z $(snap collect) ]] || fail "snapshots at load"
[[ $(snap collect -n 0) == $'count=0\nuntouched=1' ]] || fail "collect with count 0"

snap attach "$d"
[[ $(cat "$(sysfs_dev "$d")/filter") == blksnap ]] || fail "sysfs filter name"
cap=$(devsize "$d")
[[ $(cbt "$d" capacity) == "$cap" ]] || fail "capacity $(cbt "$d" capacity), expected $cap"
# Smallest power of two >= 4 KiB giving at most 2097152 blocks, <= 64 MiB.
bs=4096
while ((bs < 1 << 26 && (cap + bs - 1) / bs > 2097152)); do
	bs=$((bs * 2))
done
[[ $(cbt "$d" block_size) == "$bs" ]] || fail "block_size $(cbt "$d" block_size), expected $bs"
bc=$(((cap + bs - 1) / bs))
[[ $(cbt "$d" block_count) == "$bc" ]] || fail "block_count $(cbt "$d" block_count), expected $bc"
[[ $(cbt "$d" changes_number) == 0 ]] || fail "changes_number $(cbt "$d" changes_number)"
gen=$(cbt "$d" generation)
[[ $gen =~ ^[0-9a-f]{32}$ && $gen != 00000000000000000000000000000000 ]] ||
	fail "generation '$gen'"

# Writes mark the active map only: the readable map stays zero until take.
mkpattern "$TEST_TMP/p" 64
bput "$TEST_TMP/p" "$d" 0 || fail "write"
snap cbtmap -r "$TEST_TMP/map" "$d"
[[ $(stat -c %s "$TEST_TMP/map") == "$bc" ]] || fail "map is $(stat -c %s "$TEST_TMP/map") bytes, expected $bc"
cmp -s -n "$bc" "$TEST_TMP/map" /dev/zero || fail "readable map not zero before the first take"
[[ -z $(snap cbtmap "$d") ]] || fail "non-zero map bytes before the first take"

[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code $(snap_field "$d" error_code)"
[[ -z $(snap_field "$d" image) ]] || fail "image '$(snap_field "$d" image)' without a snapshot"

snap detach "$d"
[[ -z $(cat "$(sysfs_dev "$d")/filter" 2>/dev/null) ]] || fail "filter left after detach"
snapctl -e ENOENT cbtinfo "$d" || fail "cbtinfo after detach"
snap attach "$d"
gen2=$(cbt "$d" generation)
[[ $gen2 != "$gen" ]] || fail "the same generation $gen after a new attach"
[[ $(cbt "$d" changes_number) == 0 ]] || fail "changes_number after a new attach"
snap detach "$d"
bsame "$TEST_TMP/p" "$d" 0 || fail "data"
unload_blksnap
[[ ! -e /dev/blksnap-control ]] || fail "/dev/blksnap-control left after unload"
