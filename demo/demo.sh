#!/bin/bash
# Demo of blksnap, run in a VM by "make demo" (tests/vm/run.sh): the
# environment is that of a VM test (TEST_DISKS, TEST_MODULES, TEST_BIN,
# TEST_TMP). Placeholder until the modules and tools exist.
# timeout: 600
set -euo pipefail

echo "demo: kernel $(uname -r), disks: ${TEST_DISKS:-none}"
shopt -s nullglob
mods=("${TEST_MODULES:-/opt/tests/modules}"/*.ko)
if ((${#mods[@]} == 0)); then
	echo "demo: no blksnap modules built yet"
	exit 77
fi
echo "demo: modules available: ${mods[*]##*/}"
