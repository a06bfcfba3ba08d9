#!/bin/bash
# blkfilter.ko loaded with ibt_safe=1 (what it chooses where the CPU tracks
# indirect branches, and CI's stock boots force) and with the default, one
# after the other in this boot: the bio hook sees every bio of its device
# once with the data unchanged, none of another device, and passes bios
# that the block layer splits.
# The parameter shows the mode in use, and the tests of a boot with
# blkfilter.ibt_safe=1 get that mode.
# needs: blkfilter.ko, bftest.ko, 2 disks
. "$TEST_BIN/testlib.sh"
need_blkfilter_module "the block layer calls filters, no hook"
need_disks 2
d=${DISKS[0]}
other=${DISKS[1]}
PARAM=/sys/module/blkfilter/parameters/ibt_safe
trap cleanup_filters EXIT
mkpattern "$TEST_TMP/p" 40
# 4 MiB at once: split by the block layer into several bios.
mkpattern "$TEST_TMP/big" 4096

# run MODE: the checks with blkfilter.ko loaded with ibt_safe=MODE.
run() {
	local want=N
	[[ $1 == 1 ]] && want=Y
	# The real insmod: the test chooses the parameter itself.
	PATH=/usr/sbin:/usr/bin insmod "$TEST_MODULES/blkfilter.ko" "ibt_safe=$1" ||
		fail "insmod blkfilter ibt_safe=$1"
	insmod "$TEST_MODULES/bftest.ko" || fail "insmod bftest"
	# Default: IBT-safe only where the CPU tracks indirect branches.
	if [[ $1 == 1 ]] || grep -qw ibt /proc/cpuinfo; then want=Y; fi
	[[ $(cat "$PARAM") == "$want" ]] ||
		fail "ibt_safe=$1: the parameter reads $(cat "$PARAM"), not $want"
	bf attach "$d" bftest
	bf reset "$d"
	put "$TEST_TMP/p" "$d" 1024 || fail "ibt_safe=$1: write"
	expect_stat "$d" writes 10
	expect_stat "$d" write_sectors 80
	same "$TEST_TMP/p" "$d" 1024 || fail "ibt_safe=$1: data read back differs"
	expect_stat "$d" reads 10
	put "$TEST_TMP/p" "$other" 0 || fail "ibt_safe=$1: write other"
	same "$TEST_TMP/p" "$other" 0 || fail "ibt_safe=$1: read other"
	expect_stat "$d" writes 10
	expect_stat "$d" reads 10
	expect_stat "$d" outside 0
	dd if="$TEST_TMP/big" of="$d" bs=4M count=1 seek=1 oflag=direct status=none ||
		fail "ibt_safe=$1: 4 MiB write"
	# Split remainders are seen again, as in the series: at least all.
	local ws
	ws=$(bfstat "$d" write_sectors)
	((ws >= 80 + 8192)) || fail "ibt_safe=$1: write_sectors $ws after 4 MiB more"
	cmp -n $((4 << 20)) "$TEST_TMP/big" <(dd if="$d" bs=4M skip=1 count=1 iflag=direct status=none) ||
		fail "ibt_safe=$1: 4 MiB read back differs"
	bf detach "$d" bftest
	rmmod bftest || fail "rmmod bftest"
	rmmod blkfilter || fail "rmmod blkfilter"
}

run 1
run 0
# The suites of a boot with blkfilter.ibt_safe=1 on its command line (CI's
# stock boots) load blkfilter.ko in that mode (tests/vm/init).
if grep -qw blkfilter.ibt_safe=1 /proc/cmdline; then
	load_blkfilter
	[[ $(cat "$PARAM") == Y ]] ||
		fail "blkfilter.ibt_safe=1 on the command line, but insmod loaded it with ibt_safe $(cat "$PARAM")"
	unload_blkfilter
fi
