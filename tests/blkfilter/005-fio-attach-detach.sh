#!/bin/bash
# Attach and detach again and again while fio writes with verification:
# no write is lost, duplicated or torn, and the filter sees the load.
# 128 MiB three times; on a slower (debug) kernel 64 / TEST_SCALE MiB once.
# Regression: a submit_bio callback racing with detach found no filter
# through bdev_filter() and crashed.
# timeout: 400
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd fio
d=${DISKS[0]}
load_filters
fio --name=load --filename="$d" --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randwrite --bs=4k --size=$((TEST_SCALE > 1 ? 64 / TEST_SCALE : 128))m --verify=crc32c \
	--verify_fatal=1 --do_verify=1 --loops=$((TEST_SCALE > 1 ? 1 : 3)) \
	--randrepeat=0 --output="$TEST_TMP/fio.log" &
fio_pid=$!
n=0
seen=0
while kill -0 "$fio_pid" 2>/dev/null && ((n < 150)); do
	bf attach "$d" bftest
	sleep 0.05
	w=$(bfstat "$d" writes)
	((w > 0)) && seen=$((seen + 1))
	bf detach "$d" bftest
	n=$((n + 1))
done
wait "$fio_pid" || { cat "$TEST_TMP/fio.log"; fail "fio failed"; }
grep -q "err= 0" "$TEST_TMP/fio.log" || { cat "$TEST_TMP/fio.log"; fail "fio errors"; }
((n >= 5)) || fail "only $n attach cycles ran during the load"
((seen >= 1)) || fail "the filter never saw a write"
echo "attach/detach cycles: $n, with writes seen: $seen"
[[ $(attached_count) == 0 ]] || fail "left attached"
unload_filters
