#!/bin/bash
# Harness self-test: write random data to a spare disk and read it back.
# timeout: 60
set -euo pipefail

read -r -a disks <<<"${TEST_DISKS:-}"
((${#disks[@]})) || { echo "no spare disks"; exit 77; }
disk=${disks[-1]}

dd if=/dev/urandom of="$TEST_TMP/data" bs=1M count=8 status=none
dd if="$TEST_TMP/data" of="$disk" bs=1M oflag=direct conv=fsync status=none
dd if="$disk" of="$TEST_TMP/back" bs=1M count=8 iflag=direct status=none
cmp "$TEST_TMP/data" "$TEST_TMP/back"
echo "$TEST_NAME: 8 MiB written to and read back from $disk"
