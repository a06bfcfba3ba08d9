#!/bin/bash
# Harness self-test, expected to FAIL ("no result: VM died (panic?) in
# boot 2 of ..."): a test across boots whose second boot panics, which the
# test did not ask for.
# boots: 3
# timeout: 30
. "$TEST_BIN/testlib.sh"
((BOOT_NUMBER == 1)) && boot_again
echo c >/proc/sysrq-trigger
