#!/bin/bash
# The change tracker: the readable map marks exactly the blocks written
# (writes, discards, write-zeroes, at block_size granularity, straddling
# block ends) between two snapshots, with the number of the snapshot they
# came after; the map does not move while a snapshot is held; reading it in
# small pieces gives the same bytes; changes_number goes up by one per take
# and after 255 takes the generation resets (new id, changes_number 0, zero
# map); the block size follows tracking_block_minimum_shift,
# tracking_block_maximum_count and tracking_block_maximum_shift.
# needs: blksnap.ko, 1 disk
# timeout: 240
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_blksnap diff_storage_minimum=2048
s=$TEST_TMP/storage
snap attach "$d"
bs=$(cbt "$d" block_size)
bc=$(cbt "$d" block_count)
gen=$(cbt "$d" generation)
echo "block_size $bs, block_count $bc"

# wr BLOCK OFFSET_IN_BLOCK BYTES: a direct write (multiples of 512).
wr() {
	dd if=/dev/urandom of="$d" bs=512 seek=$((($1 * bs + $2) / 512)) \
		count=$(($3 / 512)) oflag=direct conv=notrunc status=none ||
		fail "write at block $1"
}
# take_one: a snapshot of $d taken and destroyed.
take_one() {
	local id
	id=$(snapctl create "$s" 65536) || fail "create"
	snap add "$d" "$id"
	snap take "$id"
	snap destroy "$id"
}
# map_is EXPECTED: the readable map's non-zero bytes, "INDEX VALUE" lines.
map_is() {
	local got
	got=$(snap cbtmap "$d")
	[[ $got == "$1" ]] || fail "map: got [${got//$'\n'/, }] expected [${1//$'\n'/, }]"
}
lines() {
	local v=$1 b
	shift
	for b in "$@"; do echo "$b $v"; done | sort -n -k1,1
}
merge() {
	sort -n -k1,1 | awk '{v[$1] = $2} END {for (b in v) print b, v[b]}' | sort -n -k1,1
}

# Before the first take.
A=(10 20 21 35 36 99)
wr 10 0 4096
wr 20 $((bs - 512)) 1024 # straddles 20 and 21
wr 35 $((bs / 2)) "$bs"   # straddles 35 and 36
wr 99 $((bs - 512)) 512
discard=
if (($(cat "$(sysfs_dev "$d")/queue/discard_max_bytes") > 0)); then
	blkdiscard -f -o $((30 * bs)) -l $((3 * bs)) "$d" || fail "discard"
	A+=(30 31 32)
	discard=1
fi
blkdiscard -f -z -o $((40 * bs)) -l $((2 * bs)) "$d" || fail "write-zeroes"
A+=(40 41)
id=$(snap_new "$s" 65536 "$d") || fail "snap_new"
snap take "$id"
[[ $(cbt "$d" changes_number) == 1 ]] || fail "changes_number after the first take"
[[ $(cbt "$d" generation) == "$gen" ]] || fail "generation changed"
mapA=$(lines 1 "${A[@]}")
map_is "$mapA"
# Held snapshot: later writes do not show in the readable map.
B=(10 50 60 61 62 63 98 99)
wr 10 512 512
wr 50 0 4096
wr 60 0 $((4 * bs))
wr 98 $((bs - 512)) 1024
map_is "$mapA"
# The map read in small pieces, and a part of it.
snap cbtmap -r "$TEST_TMP/m1" "$d"
snap cbtmap -c 7 -r "$TEST_TMP/m2" "$d"
cmp -s "$TEST_TMP/m1" "$TEST_TMP/m2" || fail "map read in 7-byte pieces differs"
snap cbtmap -o 5 -n 1000 -c 33 -r "$TEST_TMP/m3" "$d"
cmp -s "$TEST_TMP/m3" <(dd if="$TEST_TMP/m1" bs=1 skip=5 count=1000 status=none) ||
	fail "part of the map differs"
snap destroy "$id"
map_is "$mapA"

id=$(snap_new "$s" 65536 "$d") || fail "snap_new"
snap take "$id"
[[ $(cbt "$d" changes_number) == 2 ]] || fail "changes_number after the second take"
mapB=$( { lines 1 "${A[@]}"; lines 2 "${B[@]}"; } | merge)
map_is "$mapB"
# A backup that recorded number 1 copies exactly the blocks of B.
got=$(snap cbtmap "$d" | awk '$2 > 1 {print $1}' | tr '\n' ' ')
[[ $got == "${B[*]} " ]] ||
	fail "blocks changed since 1: $got"
snap destroy "$id"
[[ -n $discard ]] || echo "no discard support: discards not checked"

# 255 takes: changes_number counts up, then the generation resets.
snap cycle "$d" "$s" 65536 260 >"$TEST_TMP/cycle"
prev=2
reset_at=
i=2
while read -r cn g; do
	i=$((i + 1))
	if [[ $g != "$gen" ]]; then
		reset_at=$prev
		[[ $cn == 0 ]] || fail "new generation with changes_number $cn"
		break
	fi
	((cn == prev + 1)) || fail "take $i: changes_number $cn after $prev"
	prev=$cn
done <"$TEST_TMP/cycle"
[[ -n $reset_at ]] || fail "no generation reset after 262 takes"
echo "generation reset after changes_number $reset_at"
((reset_at == 254 || reset_at == 255)) || fail "reset after changes_number $reset_at"
# The cycles after the reset count again from 1 in the new generation.
after=$(awk -v g="$gen" '$2 != g' "$TEST_TMP/cycle" | awk '{print $1}' | tr '\n' ' ')
want=$(seq -s ' ' 0 $((262 - i)))
[[ $after == "$want " ]] || fail "changes_number after the reset: $after"
[[ $(awk -v g="$gen" '$2 != g {print $2}' "$TEST_TMP/cycle" | sort -u | wc -l) == 1 ]] ||
	fail "more than one new generation"
map_is ""
wr 5 0 4096
take_one
[[ $(cbt "$d" changes_number) == $((263 - i)) ]] || fail "changes_number after the reset"
map_is "5 $((263 - i))"
snap detach "$d"

# Block size from the parameters, for devices attached afterwards.
P=/sys/module/blksnap/parameters
cap=$(devsize "$d")
check_bs() {
	snap attach "$d"
	[[ $(cbt "$d" block_size) == "$1" ]] || fail "block_size $(cbt "$d" block_size), expected $1"
	[[ $(cbt "$d" block_count) == $(((cap + $1 - 1) / $1)) ]] ||
		fail "block_count $(cbt "$d" block_count) for block size $1"
	wr 3 0 512
	take_one
	map_is "$(((3 * bs) / $1)) 1"
	snap detach "$d"
}
bs=4096
echo 16 >$P/tracking_block_minimum_shift
check_bs 65536
echo 12 >$P/tracking_block_minimum_shift
echo 1024 >$P/tracking_block_maximum_count
# Smallest power of two giving at most 1024 blocks.
want=4096
while (((cap + want - 1) / want > 1024)); do want=$((want * 2)); done
check_bs "$want"
echo 20 >$P/tracking_block_maximum_shift
check_bs $((want < 1048576 ? want : 1048576))
unload_blksnap
