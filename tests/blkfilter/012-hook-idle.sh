#!/bin/bash
# Nothing of blkfilter runs per bio while no filter is attached anywhere:
# __submit_bio() carries no ftrace hook after loading, has one while a
# filter is attached (to one device or two), and loses it again within a
# few seconds of the last detach; unloading takes the ioctl and disk
# removal hooks away too.  Reads and writes pass unchanged throughout.
# needs: blkfilter.ko, bftest.ko, 2 disks, tracefs with enabled_functions
. "$TEST_BIN/testlib.sh"
need_blkfilter_module "the block layer calls filters, no hook"
need_disks 2
d=${DISKS[0]}
other=${DISKS[1]}
rc=0
ftrace_hooked __submit_bio || rc=$?
((rc != 2)) || skip "no tracefs enabled_functions"
((rc != 0)) || skip "__submit_bio is traced already by someone else"

# unhooked_within SECONDS FUNCTION: FUNCTION loses its hook in time.
unhooked_within() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		ftrace_hooked "$2" || return 0
		sleep 0.1
	done
	return 1
}

mkpattern "$TEST_TMP/p" 16
load_filters
ftrace_hooked blkdev_ioctl || fail "blkdev_ioctl not hooked with blkfilter loaded"
ftrace_hooked __submit_bio && fail "__submit_bio hooked with no filter attached"
put "$TEST_TMP/p" "$d" 0 || fail "write, nothing attached"
same "$TEST_TMP/p" "$d" 0 || fail "data, nothing attached"

bf attach "$d" bftest
ftrace_hooked __submit_bio || fail "__submit_bio not hooked with a filter attached"
bf attach "$other" bftest
bf reset "$other"
bf detach "$d" bftest
ftrace_hooked __submit_bio || fail "__submit_bio unhooked while $other has a filter"
put "$TEST_TMP/p" "$other" 64 || fail "write through the filter"
same "$TEST_TMP/p" "$other" 64 || fail "data through the filter"
expect_stat "$other" writes 4
bf detach "$other" bftest
unhooked_within 5 __submit_bio || fail "__submit_bio still hooked 5 s after the last detach"
same "$TEST_TMP/p" "$d" 0 || fail "data after the last detach"

# Attach again after the unhook: hooked again, bios seen again.
bf attach "$d" bftest
ftrace_hooked __submit_bio || fail "__submit_bio not hooked on the second attach"
bf reset "$d"
same "$TEST_TMP/p" "$d" 0 || fail "data, attached again"
expect_stat "$d" reads 4
bf detach "$d" bftest

unload_filters
for f in __submit_bio blkdev_ioctl del_gendisk device_del; do
	ftrace_hooked "$f" && fail "$f still hooked after unloading"
done
same "$TEST_TMP/p" "$d" 0 || fail "data after unloading"
