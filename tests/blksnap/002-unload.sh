#!/bin/bash
# blksnap.ko cannot be unloaded while attached to a device, while a
# snapshot exists (even one without devices) or while one is taken, nor
# blkfilter.ko under it; the devices go on working meanwhile, and it unloads
# once all is gone.
# needs: blksnap.ko, 1 disk
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_blksnap diff_storage_minimum=2048
mkpattern "$TEST_TMP/p" 256

snap attach "$d"
rmmod blksnap 2>/dev/null && fail "blksnap unloaded while attached"
rmmod blkfilter 2>/dev/null && fail "blkfilter unloaded under blksnap"
bput "$TEST_TMP/p" "$d" 0 || fail "write while attached"
bsame "$TEST_TMP/p" "$d" 0 || fail "data while attached"
snap detach "$d"

id=$(snap create "$TEST_TMP/s" 65536) || fail "create"
rmmod blksnap 2>/dev/null && fail "blksnap unloaded with a snapshot"
snap destroy "$id"
unload_blksnap

load_blksnap diff_storage_minimum=2048
id=$(snap_new "$TEST_TMP/s" 65536 "$d") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d") || fail "snap_image"
rmmod blksnap 2>/dev/null && fail "blksnap unloaded with a taken snapshot"
mkpattern "$TEST_TMP/q" 256
bput "$TEST_TMP/q" "$d" 0 || fail "write under the snapshot"
bsame "$TEST_TMP/q" "$d" 0 || fail "data under the snapshot"
bsame "$TEST_TMP/p" "$img" 0 || fail "image"
# An image still open after destroy holds the module, and gives no data.
exec 3<"$img"
snap destroy "$id"
[[ ! -e $img ]] || fail "$img left after destroy"
snap detach "$d"
rmmod blksnap 2>/dev/null && fail "blksnap unloaded with an image still open"
# A dead disk has size 0: a read fails or finds the end, never data.
n=$(dd bs=4k count=1 iflag=direct status=none <&3 2>/dev/null | wc -c)
((n == 0)) || fail "read $n bytes of a destroyed image"
exec 3<&-
unload_blksnap
bsame "$TEST_TMP/q" "$d" 0 || fail "data after unload"
