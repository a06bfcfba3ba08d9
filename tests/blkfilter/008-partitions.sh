#!/bin/bash
# A filter on a partition sees that partition's bios only, at the
# partition's offsets; the whole disk and the other partition are not
# filtered; removing the partition detaches the filter.
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd sfdisk
d=${DISKS[0]}
load_filters
printf 'label: dos\nstart=2048, size=65536\nstart=67584, size=65536\n' |
	sfdisk -q "$d" >/dev/null || fail "sfdisk"
blockdev --rereadpt "$d" 2>/dev/null
p1=${d}1
p2=${d}2
[[ -b $p1 && -b $p2 ]] || fail "no partitions"
expect_filter "$p1" ""
mkpattern "$TEST_TMP/p" 16
bf attach "$p1" bftest
expect_filter "$p1" bftest
expect_filter "$d" ""
expect_filter "$p2" ""
bf reset "$p1"
put "$TEST_TMP/p" "$p1" 512 || fail "write p1"
expect_stat "$p1" writes 4
expect_stat "$p1" last_write_sector $((512 * 2 + 24))
expect_stat "$p1" max_write_end $((512 * 2 + 32))
put "$TEST_TMP/p" "$p2" 0 || fail "write p2"
put "$TEST_TMP/p" "$d" 0 || fail "write whole disk"
put "$TEST_TMP/p" "$d" $((1024 + 256)) || fail "write whole disk in p1"
expect_stat "$p1" writes 4
expect_stat "$p1" outside 0
same "$TEST_TMP/p" "$p1" 512 || fail "p1 data"
# The whole-disk write landed inside p1 at 256 KiB.
same "$TEST_TMP/p" "$p1" 256 || fail "p1 data via disk"
same "$TEST_TMP/p" "$p2" 0 || fail "p2 data"
# Both filtered: the disk's filter does not see the partition's bios.
bf attach "$d" bftest
bf reset "$d"
put "$TEST_TMP/p" "$p1" 0 || fail "write p1 again"
expect_stat "$d" writes 0
bf detach "$d" bftest
# Deleting the partition detaches its filter.
printf 'label: dos\n%s : start=67584, size=65536\n' "$p2" |
	sfdisk -q "$d" >/dev/null || fail "rewrite the partition table"
blockdev --rereadpt "$d" 2>/dev/null
[[ -b $p1 ]] && fail "partition still there"
[[ $(attached_count) == 0 ]] || fail "filter left on a deleted partition"
same "$TEST_TMP/p" "$p2" 0 || fail "p2 data after deletion"
unload_filters
