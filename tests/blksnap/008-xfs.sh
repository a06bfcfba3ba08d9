#!/bin/bash
# As 007-ext4 with XFS: the image, once mounted to replay the log that a
# frozen XFS leaves, passes xfs_repair -n, mounts with
# -o nouuid beside the original, holds the files of before take only;
# writes to the image stay there.
# needs: blksnap.ko, 1 disk, mkfs.xfs, xfs_repair, xfs support
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd mkfs.xfs xfs_repair sha256sum
modprobe xfs 2>/dev/null
grep -qw xfs /proc/filesystems || skip "no xfs in the kernel"
d=${DISKS[0]}
load_blksnap diff_storage_minimum=16384
fs_snapshot_check "$d" "mkfs.xfs -q -f" "xfs_repair -n" 1 -o nouuid
snap detach "$d"
unload_blksnap
