#!/bin/bash
# Harness self-test, expected to FAIL ("asked for boot 3, more than its
# 2"): a test that asks for more boots than its "# boots:" line allows.
# boots: 2
# timeout: 30
. "$TEST_BIN/testlib.sh"
boot_again
