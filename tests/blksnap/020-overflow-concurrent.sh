#!/bin/bash
# Overflow under many first writes at once: fio writes 4 KiB blocks at
# random, 32 at a time, with a verification header, over 64 MiB of a disk (a third of it on the debug kernel, TEST_SCALE)
# whose snapshot's storage may hold 4 MiB (the old data of 1024 chunks).
# Copies are then loaded, released and stored in batches, and a batch that
# no longer fits is stored copy by copy. The snapshot fails with ENOSPC
# (error_code -28, one corrupted event), every write to the original
# succeeded and reads back as written (fio's verification), the storage
# never grew past its limit, the image's reads fail with EIO, and the
# device works on. Twice: 4 KiB and 64 KiB chunks.
# needs: blksnap.ko, 1 disk, fio
# timeout: 240
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd fio
d=${DISKS[0]}
limit=8192
load_blksnap diff_storage_minimum=1024
for shift in 12 16; do
	echo "$shift" >/sys/module/blksnap/parameters/chunk_minimum_shift ||
		fail "set chunk_minimum_shift"
	s=$TEST_TMP/storage.$shift
	id=$(snap_new "$s" "$limit" "$d") || fail "snap_new"
	snap take "$id"
	img=$(snap_image "$d") || fail "snap_image"
	fio --name=over --filename="$d" --direct=1 --ioengine=libaio \
		--iodepth=32 --rw=randwrite --bs=4k --size=$((64 / TEST_SCALE))m --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --randrepeat=0 \
		--output="$TEST_TMP/fio.$shift" ||
		{ cat "$TEST_TMP/fio.$shift"; fail "fio on the original failed (chunks of $((1 << (shift - 10))) KiB)"; }
	grep -q "err= 0" "$TEST_TMP/fio.$shift" || { cat "$TEST_TMP/fio.$shift"; fail "fio errors"; }
	for _ in $(seq 50); do
		[[ $(snap_field "$d" error_code) == 0 ]] || break
		sleep 0.1
	done
	[[ $(snap_field "$d" error_code) == -28 ]] ||
		fail "error_code $(snap_field "$d" error_code), expected -28 (chunks of $((1 << (shift - 10))) KiB)"
	(($(stat -c %s "$s") <= limit * 512)) ||
		fail "storage of $(stat -c %s "$s") bytes, over the limit $((limit * 512))"
	out=$(snapctl wait "$id" 1000) || fail "no event"
	grep -qx err=28 <<<"$out" || fail "event: $out"
	snapctl -e ENOENT wait "$id" 0 || fail "a second event"
	dd if="$img" of=/dev/null bs=64k count=16 iflag=direct status=none 2>/dev/null &&
		fail "image read succeeded after overflow"
	snap destroy "$id"
	rm -f "$s"
	echo "chunks of $((1 << (shift - 10))) KiB: overflow under 32 writes at once, every write landed"
done
# The device works on: a last verified pass without a snapshot.
fio --name=after --filename="$d" --direct=1 --ioengine=libaio --iodepth=8 \
	--rw=randwrite --bs=4k --size=8m --verify=crc32c --verify_fatal=1 \
	--do_verify=1 --output="$TEST_TMP/fio.after" ||
	{ cat "$TEST_TMP/fio.after"; fail "fio after the overflows"; }
snap detach "$d"
unload_blksnap
