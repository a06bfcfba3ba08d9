#!/bin/bash
# Harness self-test, expected to FAIL ("asked for a reboot, but has no
# '# boots:' line"): a test of the shared boot that asks for another.
# timeout: 30
. "$TEST_BIN/testlib.sh"
boot_again
