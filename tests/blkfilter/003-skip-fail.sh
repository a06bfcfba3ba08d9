#!/bin/bash
# A filter that takes bios owns them: skipped writes complete without
# reaching the disk, failed ones return EIO; reads are untouched.
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_filters
mkpattern "$TEST_TMP/old" 64
mkpattern "$TEST_TMP/new" 64
put "$TEST_TMP/old" "$d" 0 || fail "write old"
bf attach "$d" bftest

bf mode "$d" skip
put "$TEST_TMP/new" "$d" 0 || fail "skipped write must succeed"
same "$TEST_TMP/old" "$d" 0 || fail "skipped write reached the disk"
expect_stat "$d" skipped 16

bf mode "$d" fail
if put "$TEST_TMP/new" "$d" 0 2>/dev/null; then
	fail "failed write reported success"
fi
same "$TEST_TMP/old" "$d" 0 || fail "failed write reached the disk"
[[ $(bfstat "$d" failed) -ge 1 ]] || fail "no failed write counted"

bf mode "$d" pass
put "$TEST_TMP/new" "$d" 0 || fail "write in pass mode"
same "$TEST_TMP/new" "$d" 0 || fail "pass mode lost the write"
bf detach "$d" bftest
same "$TEST_TMP/new" "$d" 0 || fail "data after detach"
unload_filters
