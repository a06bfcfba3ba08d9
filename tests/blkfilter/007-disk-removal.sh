#!/bin/bash
# A filter is detached when its disk goes away, even with the device still
# open; the ioctls on the dead disk return ENODEV.
. "$TEST_BIN/testlib.sh"
need_nullb
load_filters
nb=/sys/kernel/config/nullb/bftest0
dev=$(nullb_new bftest0 512) || fail "no null_blk disk"
mkpattern "$TEST_TMP/p" 64
put "$TEST_TMP/p" "$dev" 0 || fail "write"
bf attach "$dev" bftest
same "$TEST_TMP/p" "$dev" 0 || fail "data"
[[ $(attached_count) == 1 ]] || fail "not attached"
exec 3<"$dev"
echo 0 >"$nb/power"
[[ $(attached_count) == 0 ]] || fail "still attached after the disk went away"
bfctl -e ENODEV attach fd:3 bftest || fail "attach to a dead disk"
bfctl -e ENODEV detach fd:3 bftest || fail "detach from a dead disk"
bfctl -e ENODEV stats fd:3 || fail "ctl to a dead disk"
exec 3<&-
rmdir "$nb"
dmesg | grep -q "bftest: detached from" || fail "no detach message"
unload_filters
rmmod null_blk
