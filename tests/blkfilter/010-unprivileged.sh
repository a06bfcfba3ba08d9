#!/bin/bash
# Callers without CAP_SYS_ADMIN get EPERM from every filter ioctl, and
# change nothing.
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_filters
bfctl -u -e EPERM attach "$d" bftest || fail "unprivileged attach"
[[ $(attached_count) == 0 ]] || fail "attached by an unprivileged caller"
bf attach "$d" bftest
bf reset "$d"
bfctl -u -e EPERM detach "$d" bftest || fail "unprivileged detach"
bfctl -u -e EPERM stats "$d" || fail "unprivileged ctl"
bfctl -u -e EPERM mode "$d" skip || fail "unprivileged ctl mode"
[[ $(attached_count) == 1 ]] || fail "detached by an unprivileged caller"
mkpattern "$TEST_TMP/p" 16
put "$TEST_TMP/p" "$d" 0 || fail "write"
same "$TEST_TMP/p" "$d" 0 || fail "mode changed by an unprivileged caller"
expect_stat "$d" writes 4
bf detach "$d" bftest
unload_filters
