#!/bin/bash
# Harness self-test, expected to FAIL: the test exits 0, but a kernel
# WARNING appears in the log while it runs, which the runner must catch.
# (No stock-kernel WARNING can be triggered reliably from userspace, so a
# line of the same shape is injected through /dev/kmsg.)
# timeout: 30
echo "<4>WARNING: CPU: 0 PID: 1 at fake/selftest.c:1 blksnap_selftest+0x0/0x10" >/dev/kmsg
exit 0
