#!/bin/bash
# Harness self-test, expected to FAIL: the test exits 1.
# timeout: 30
echo "failing on purpose: harness self-test of the failure path"
exit 1
