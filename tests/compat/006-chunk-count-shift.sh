#!/bin/bash
# The v6 series' module parameter chunk_maximum_count_shift works beside
# the seed documentation's chunk_maximum_count: loaded with
# chunk_maximum_count_shift=9, the module allows 512 chunks per device
# (chunk_maximum_count reads 512, the shift reads back 9), so a 2 GiB disk
# gets chunks of 4 MiB; a snapshot with those chunks keeps the data of
# take under writes that straddle chunk boundaries. Setting the shift at
# run time changes the count; a shift above 31 is refused.
# needs: blksnap.ko, 1 disk
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
P=/sys/module/blksnap/parameters
mark="compat/006 ($$)"
echo "<6>$mark" >/dev/kmsg
load_blksnap diff_storage_minimum=16384 chunk_maximum_count_shift=9
[[ $(cat $P/chunk_maximum_count) == 512 ]] || fail "chunk_maximum_count $(cat $P/chunk_maximum_count)"
[[ $(cat $P/chunk_maximum_count_shift) == 9 ]] || fail "shift reads $(cat $P/chunk_maximum_count_shift)"

size=$(devsize "$d")
want_kib=4096
((size == 2 << 30)) || want_kib=
mkpattern "$TEST_TMP/old" 16384
mkpattern "$TEST_TMP/new" 8192
bput "$TEST_TMP/old" "$d" 0 || fail "fill"
id=$(snap_new "$TEST_TMP/storage" 1048576 "$d") || fail "snap_new"
kib=$(dmesg | sed -n "\|$mark|,\$p" | sed -n 's/.*added to snapshot .*, chunks of \([0-9]*\) KiB.*/\1/p' | tail -n1)
echo "chunks of $kib KiB on a disk of $size bytes"
[[ -n $kib ]] || fail "no chunk size in the kernel log"
((kib * 1024 * 512 >= size)) || fail "chunks of $kib KiB: more than 512 on $size bytes"
[[ -z $want_kib || $kib == "$want_kib" ]] || fail "chunks of $kib KiB, expected $want_kib"
snap take "$id"
img=$(snap_image "$d")
# 8 MiB written from 2 MiB on: across chunk boundaries.
bput "$TEST_TMP/new" "$d" 2048 || fail "write"
bsame "$TEST_TMP/old" "$img" 0 || fail "image differs from the device at take"
snap destroy "$id"

echo 20 >$P/chunk_maximum_count_shift || fail "set the shift"
[[ $(cat $P/chunk_maximum_count) == 1048576 ]] || fail "count after shift 20: $(cat $P/chunk_maximum_count)"
echo 32 >$P/chunk_maximum_count_shift 2>/dev/null && fail "shift 32 accepted"
[[ $(cat $P/chunk_maximum_count) == 1048576 ]] || fail "a refused shift changed the count"
snap detach "$d"
unload_blksnap
