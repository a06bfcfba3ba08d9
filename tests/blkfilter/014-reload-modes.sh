#!/bin/bash
# blkfilter.ko unloaded and loaded again and again, switching between
# ibt_safe=1 and the default, while fio writes with verification to the
# filtered device and to another: each load attaches bftest, sees writes,
# detaches and unloads, at once or after the bio hook's delayed removal.
# Regression: a guest double fault in kmem_cache_alloc, seen once in a
# benchmark that reloaded blkfilter from ibt_safe=1 to the default.
# needs: blkfilter.ko, bftest.ko, 2 disks, fio
# timeout: 400
. "$TEST_BIN/testlib.sh"
need_blkfilter_module "the block layer calls filters, no module to reload"
need_disks 2
need_cmd fio
d=${DISKS[0]}
other=${DISKS[1]}
PARAM=/sys/module/blkfilter/parameters/ibt_safe
trap cleanup_filters EXIT
# Verified as it goes (verify_backlog): the run is time-based.
fio --direct=1 --ioengine=libaio --iodepth=8 --rw=randwrite --bs=4k \
	--size=$((64 / TEST_SCALE))m --verify=crc32c --verify_fatal=1 \
	--verify_backlog=64 --time_based --runtime=$((60 * TEST_SCALE)) \
	--randrepeat=0 --output="$TEST_TMP/fio.log" \
	--name=filtered --filename="$d" --name=other --filename="$other" &
fio_pid=$!
n=0
seen=0
while kill -0 "$fio_pid" 2>/dev/null && ((n < 40)); do
	mode=$((n % 2))
	want=N
	if ((mode)) || grep -qw ibt /proc/cpuinfo; then want=Y; fi
	# The real insmod: the test chooses the parameter itself.
	PATH=/usr/sbin:/usr/bin insmod "$TEST_MODULES/blkfilter.ko" "ibt_safe=$mode" ||
		fail "cycle $n: insmod blkfilter ibt_safe=$mode"
	[[ $(cat "$PARAM") == "$want" ]] ||
		fail "cycle $n: ibt_safe=$mode reads $(cat "$PARAM"), not $want"
	insmod "$TEST_MODULES/bftest.ko" || fail "cycle $n: insmod bftest"
	bf attach "$d" bftest
	sleep 0.1
	w=$(bfstat "$d" writes)
	((w > 0)) && seen=$((seen + 1))
	bf detach "$d" bftest
	rmmod bftest || fail "cycle $n: rmmod bftest"
	# Every third time the bio hook goes first, a second after the detach.
	((n % 3 == 2)) && sleep 1.5
	rmmod blkfilter || fail "cycle $n: rmmod blkfilter"
	n=$((n + 1))
done
wait "$fio_pid" || { cat "$TEST_TMP/fio.log"; fail "fio failed"; }
# Both jobs ran and neither had an error.
[[ $(grep -c "err= 0" "$TEST_TMP/fio.log") == 2 ]] ||
	{ cat "$TEST_TMP/fio.log"; fail "fio errors"; }
((n >= 10)) || fail "only $n reload cycles ran during the load"
((seen >= n / 2)) || fail "the filter saw writes in only $seen of $n cycles"
echo "reload cycles: $n, with writes seen: $seen"
