#!/bin/bash
# A snapshot of two devices is one instant of both: writer threads stamp
# blocks of both disks in one sequence each (a thread writes disk A, then
# disk B, then A, ... one write at a time), so the two images must hold,
# for each thread, exactly its writes up to one common point (snapctl
# stamp); no write issued after take returned is in them, every write
# completed before take was called is; two reads agree; the originals
# hold every write. The second time with chunk_maximum_in_queue=8 (writers
# wait for the storage) and free_diff_buffer_pool_size=0.
# needs: blksnap.ko, 2 disks
# timeout: 240
. "$TEST_BIN/testlib.sh"
need_disks 2
load_blksnap diff_storage_minimum=16384
a=${DISKS[0]}
b=${DISKS[1]}
for round in 1 2; do
	if ((round == 2)); then
		# Writers wait for the storage; no chunk buffers kept.
		echo 8 >/sys/module/blksnap/parameters/chunk_maximum_in_queue
		echo 0 >/sys/module/blksnap/parameters/free_diff_buffer_pool_size
	fi
	id=$(snap_new "$TEST_TMP/storage" 1048576 "$a" "$b") || fail "snap_new"
	snap stamp -t 3 -b 4096 -w 500 -a 1200 "$id" "$a" "$b"
	ia=$(snap_image "$a") || fail "snap_image"
	ib=$(snap_image "$b") || fail "snap_image"
	[[ $ia != "$ib" ]] || fail "one image for two devices"
	for dev in "$a" "$b"; do
		[[ $(snap_field "$dev" error_code) == 0 ]] || fail "$dev: error_code $(snap_field "$dev" error_code)"
	done
	snap destroy "$id"
	rm -f "$TEST_TMP/storage"
	echo "round $round: consistent"
done
snap detach "$a"
snap detach "$b"
unload_blksnap
