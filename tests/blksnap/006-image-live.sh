#!/bin/bash
# The image is one instant of the device while writes go on across take.
# Writer threads stamp 4 KiB blocks with (thread, sequence) records
# (snapctl stamp); each thread writes one block at a time, so the image
# must hold, for each thread, exactly its writes up to some point that lies
# between the last write completed before take was called and the last one
# issued before take returned; no block torn; two reads of the image, one
# right after take and one after many more writes, identical; the original
# holds every write. Done with 4 KiB chunks by 4 and by 16 writer threads
# (many first writes at once: their loads, releases and stores batched) and
# with 64 KiB chunks by 16 threads (a 4 KiB write then copies part of a
# chunk that others still write).
# needs: blksnap.ko, 1 disk
# timeout: 300
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_blksnap diff_storage_minimum=16384
for run in "12 4" "12 16" "16 16"; do
	read -r shift threads <<<"$run"
	echo "$shift" >/sys/module/blksnap/parameters/chunk_minimum_shift ||
		fail "set chunk_minimum_shift"
	id=$(snap_new "$TEST_TMP/storage" 1048576 "$d") || fail "snap_new"
	snap stamp -t "$threads" -b 8192 -w 600 -a 1500 "$id" "$d"
	[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code $(snap_field "$d" error_code)"
	snap destroy "$id"
	rm -f "$TEST_TMP/storage"
done
snap detach "$d"
unload_blksnap
