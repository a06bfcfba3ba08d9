#!/bin/bash
# The filter sees every bio of its device, by direction, with the right
# sectors, and the data passes through unchanged.
. "$TEST_BIN/testlib.sh"
need_disks 2
d=${DISKS[0]}
other=${DISKS[1]}
load_filters
bf attach "$d" bftest
bf reset "$d"
mkpattern "$TEST_TMP/p" 40
put "$TEST_TMP/p" "$d" 1024 || fail "write"
expect_stat "$d" writes 10
expect_stat "$d" write_sectors 80
expect_stat "$d" last_write_sector $((1024 * 2 + 72))
expect_stat "$d" max_write_end $((1024 * 2 + 80))
same "$TEST_TMP/p" "$d" 1024 || fail "data read back differs"
expect_stat "$d" reads 10
expect_stat "$d" outside 0
expect_stat "$d" read_sectors 80
# I/O to another disk is not seen.
put "$TEST_TMP/p" "$other" 0 || fail "write other"
same "$TEST_TMP/p" "$other" 0 || fail "read other"
expect_stat "$d" writes 10
expect_stat "$d" reads 10
expect_stat "$d" outside 0
expect_stat "$d" outside 0
bf detach "$d" bftest
unload_filters
