#!/bin/bash
# Bios that the filter submits from its own submit_bio callback to its own
# device are not passed to it again, and complete.
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_filters
mkpattern "$TEST_TMP/p" 64
bf attach "$d" bftest
bf own "$d" 8
put "$TEST_TMP/p" "$d" 0 || fail "write"
same "$TEST_TMP/p" "$d" 0 || fail "data"
expect_stat "$d" own_submitted 8
expect_stat "$d" own_seen 0
expect_stat "$d" reads 16
# Detach waits for the filter's own reads; nothing is left behind.
bf detach "$d" bftest
unload_filters
