#!/bin/bash
# Harness self-test, expected to FAIL ("kernel: WARNING: ..."): a kernel
# WARNING in a boot that the test ends with a crash fails the test, as in
# any other boot (a line of its shape is injected, as in 001-warn).
# boots: 3
# timeout: 30
. "$TEST_BIN/testlib.sh"
((BOOT_NUMBER == 1)) || fail "boot $BOOT_NUMBER: the WARNING of boot 1 went unseen"
echo "<4>WARNING: CPU: 0 PID: 1 at fake/selftest.c:1 blksnap_selftest+0x0/0x10" >/dev/kmsg
crash_in 200
sleep 30
