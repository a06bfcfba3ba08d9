#!/bin/bash
# Harness self-test: a test that cannot run exits 77 and says why.
echo "skipping on purpose: harness self-test of the skip path"
exit 77
