#!/bin/bash
# Every return code of the BLKFILTER_* ioctls, and that a failed call
# leaves the device, its data and the attached filter as they were; the
# sysfs file "filter" names the filter attached, an empty line without one.
# needs: 1 disk
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_filters
expect_filter "$d" ""
mkpattern "$TEST_TMP/p" 64
put "$TEST_TMP/p" "$d" 0 || fail "write pattern"

bfctl -e ENOENT attach "$d" nosuch || fail "unknown filter"
bfctl -e ENOENT detach "$d" bftest || fail "detach with none attached"
bfctl -e ENOENT ctl "$d" bftest 0 || fail "ctl with none attached"
bfctl -e ENOENT attach-noterm "$d" || fail "32-byte name without NUL"
bf attach "$d" bftest
bfctl -e EALREADY attach "$d" bftest || fail "same filter twice"
bfctl -e EBUSY attach "$d" bftest-alt || fail "another filter attached"
bfctl -e EINVAL detach "$d" bftest-alt || fail "detach with wrong name"
bfctl -e EINVAL detach-noterm "$d" || fail "detach, 32-byte name"
bfctl -e ENOENT ctl "$d" bftest-alt 0 || fail "ctl to another filter"
bfctl -e EINVAL ctl "$d" bftest 99 || fail "unknown bftest command"
bfctl -e EFAULT efault-attach "$d" || fail "attach, bad pointer"
bfctl -e EFAULT efault-detach "$d" || fail "detach, bad pointer"
bfctl -e EFAULT efault-ctl "$d" || fail "ctl, bad pointer"
bfctl -e EFAULT efault-ctlbuf "$d" || fail "ctl, bad buffer pointer"
expect_filter "$d" bftest
[[ $(attached_count) == 1 ]] || fail "attached count $(attached_count)"
same "$TEST_TMP/p" "$d" 0 || fail "data changed by failed calls"
bf reset "$d"
put "$TEST_TMP/p" "$d" 64 || fail "write after failed calls"
expect_stat "$d" writes 16
bf detach "$d" bftest

# A filter without ctl.
bf attach "$d" bftest-alt
bfctl -e ENOTTY ctl "$d" bftest-alt 0 || fail "ctl to a filter without ctl"
expect_filter "$d" bftest-alt
bf detach "$d" bftest-alt
expect_filter "$d" ""
same "$TEST_TMP/p" "$d" 64 || fail "data lost"
[[ $(attached_count) == 0 ]] || fail "attached count after detach"
unload_filters
