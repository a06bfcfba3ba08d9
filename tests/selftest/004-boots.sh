#!/bin/bash
# Harness self-test of a test across boots ("# boots:", tests/vm/run.sh):
# the disks persist from one boot to the next, a clean reboot syncs, a
# crash does not.  Boot 1 writes block 1 of a spare disk through the page
# cache and asks for a clean reboot; boot 2 finds it, writes block 2 with
# direct I/O and block 3 through the page cache, and asks for a crash
# while it waits; boot 3 finds block 2 and not block 3.
# boots: 3
# timeout: 60
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[-1]}
# block N: 4 KiB of a pattern that names block N.
block() { yes "block $1 " | head -c 4096; }
# has N: true if block N of the disk holds its pattern.
has() { dd if="$d" bs=4k skip="$1" count=1 iflag=direct status=none | cmp -s - <(block "$1"); }

echo "boot $BOOT_NUMBER"
case $BOOT_NUMBER in
1)
	block 1 | dd of="$d" bs=4k seek=1 conv=notrunc status=none || fail "write block 1"
	boot_again
	;;
2)
	has 1 || fail "block 1 lost across a clean reboot"
	block 2 | dd of="$d" bs=4k seek=2 oflag=direct conv=notrunc status=none || fail "write block 2"
	# Held open: the last close of a block device writes its page cache.
	exec 3<"$d"
	block 3 | dd of="$d" bs=4k seek=3 conv=notrunc status=none || fail "write block 3"
	crash_in 500
	sleep 30
	fail "no crash within 30 s"
	;;
3)
	has 1 || fail "block 1 lost"
	has 2 || fail "block 2 (written with direct I/O) lost across the crash"
	has 3 && fail "block 3 (in the page cache only) survived the crash: was it synced?"
	echo "blocks 1 and 2 kept, block 3 lost, as expected"
	;;
*) fail "boot $BOOT_NUMBER: no such boot" ;;
esac
