#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Demo, run in a VM by "make demo": an ext4 filesystem under load gets the
# test filter attached and detached on the fly, without being unmounted;
# the filter counts the I/O it sees, and the data is checked afterwards.
# The blksnap snapshot and backup demo replaces this once they exist.
# timeout: 600
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd fio mkfs.ext4 e2fsck
set -o pipefail

d=${DISKS[0]}
mnt=$TEST_TMP/mnt
say() { echo "demo: $*"; }

say "kernel $(uname -r), a stock Debian kernel; disk $d"
load_filters
say "modules loaded: $(lsmod | awk '$1 ~ /^(blkfilter|bftest)$/ {printf "%s ", $1}')"

mkfs.ext4 -q -F "$d" || fail "mkfs"
mkdir -p "$mnt"
mount -t ext4 "$d" "$mnt" || fail "mount"
say "ext4 mounted on $d; fio writes files with checksums in the background"
fio --name=demo --directory="$mnt" --nrfiles=8 --size=96m --bs=16k \
	--rw=randwrite --ioengine=libaio --direct=1 --iodepth=8 \
	--verify=crc32c --do_verify=1 --loops=2 --output="$TEST_TMP/fio.log" &
fio_pid=$!
sleep 2

say "attach the 'bftest' filter while fio runs (BLKFILTER_ATTACH on $d)"
bf attach "$d" bftest
say "/sys/block/${d#/dev/}/filter: $(cat "/sys/block/${d#/dev/}/filter")"
for i in 1 2 3; do
	sleep 2
	eval "$(bfctl stats "$d" | sed 's/^/st_/')"
	# shellcheck disable=SC2154 # set by the eval above
	say "after ${i}x2 s: filter saw $st_writes writes ($((st_write_sectors / 2048)) MiB), $st_reads reads"
done
say "detach it again, still under load"
bf detach "$d" bftest
say "/sys/block/${d#/dev/}/filter: '$(cat "/sys/block/${d#/dev/}/filter" 2>/dev/null)'"

wait "$fio_pid" || { cat "$TEST_TMP/fio.log"; fail "fio failed"; }
grep -q "err= 0" "$TEST_TMP/fio.log" || fail "fio reported errors"
say "fio finished: every block it wrote verified"
umount "$mnt" || fail "umount"
e2fsck -fn "$d" >"$TEST_TMP/fsck.log" 2>&1 || { cat "$TEST_TMP/fsck.log"; fail "fsck"; }
say "e2fsck: clean"
unload_filters
say "modules unloaded; all checks passed"
