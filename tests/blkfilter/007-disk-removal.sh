#!/bin/bash
# A filter is detached when its disk goes away, even with the device still
# open; the ioctls on the dead disk return ENODEV.
. "$TEST_BIN/testlib.sh"
modprobe null_blk nr_devices=0 2>/dev/null || skip "no null_blk"
[[ -d /sys/kernel/config/nullb ]] || skip "null_blk has no configfs"
load_filters
nb=/sys/kernel/config/nullb/bftest0
mkdir "$nb" || fail "mkdir $nb"
echo 512 >"$nb/size"
echo 1 >"$nb/memory_backed"
echo 1 >"$nb/power"
# Named after the configfs item on newer kernels, nullbN on older ones.
dev=/dev/bftest0
[[ -b $dev ]] || dev=/dev/nullb$(cat "$nb/index")
[[ -b $dev ]] || fail "no device for $nb"
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
