#!/bin/bash
# A filter on a disk under device-mapper sees the bios that dm sends it,
# at the disk's offsets.
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd dmsetup
modprobe dm-mod 2>/dev/null || skip "no dm-mod"
d=${DISKS[0]}
load_filters
bf attach "$d" bftest
bf reset "$d"
dmsetup create --noudevsync bftest-lin --table "0 65536 linear $d 8192" ||
	fail "dmsetup create"
dmsetup mknodes bftest-lin
mkpattern "$TEST_TMP/p" 16
put "$TEST_TMP/p" /dev/mapper/bftest-lin 64 || fail "write through dm"
expect_stat "$d" last_write_sector $((8192 + 128 + 24))
expect_stat "$d" write_sectors 32
same "$TEST_TMP/p" "$d" $((4096 + 64)) || fail "data under dm"
dmsetup remove --noudevsync bftest-lin || fail "dmsetup remove"
bf detach "$d" bftest
unload_filters
