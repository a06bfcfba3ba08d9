#!/bin/bash
# Harness self-test, expected to FAIL: an Oops in the kernel (here a NULL
# dereference bftest makes on request) fails this test, and the harness
# fails the tests after it at once instead of running them on a broken
# kernel. Run with another test after it, e.g. selftest/001-pass.
# timeout: 60
. "$TEST_BIN/testlib.sh"
need_disks 1
load_filters
bf attach "${DISKS[0]}" bftest
bfctl ctl "${DISKS[0]}" bftest 4
echo "bfctl survived the Oops request"
