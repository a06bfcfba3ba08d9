#!/bin/bash
# A filter module cannot be unloaded while attached, nor blkfilter while a
# filter module is loaded; the device keeps working meanwhile. Unloaded,
# blkfilter's ioctls are gone (ENOTTY); where filters are built in, the
# unloaded filter is unknown (ENOENT).
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_filters
bf attach "$d" bftest
rmmod bftest 2>/dev/null && fail "bftest unloaded while attached"
rmmod blkfilter 2>/dev/null && fail "blkfilter unloaded under bftest"
mkpattern "$TEST_TMP/p" 32
put "$TEST_TMP/p" "$d" 0 || fail "write"
same "$TEST_TMP/p" "$d" 0 || fail "data"
expect_stat "$d" writes 8
bf detach "$d" bftest
unload_filters
if blkfilter_builtin; then
	# The block layer has the ioctls; the filter is unknown now.
	bfctl -e ENOENT attach "$d" bftest || fail "attach of an unloaded filter"
else
	# Gone: the ioctls are unknown again, as on a kernel without the module.
	bfctl -e ENOTTY attach "$d" bftest || fail "ioctl after unload"
fi
same "$TEST_TMP/p" "$d" 0 || fail "data after unload"
