#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Change tracking across clean reboots, as a server's boot and shutdown
# run it: "blksnap track start" at boot, "track stop --detach" at
# shutdown, the configuration, the state files, the backups and the
# snapshots' storage on a file system of a third disk that the boots
# share.  Partitions A (64 MiB) and B (32 MiB) of two disks, named in the
# configuration by their identity (the disks' serial numbers).
#   boot 1: a full backup of each, writes, stop.
#   boot 2: start restores both; a write; each incremental backup reads
#           exactly the blocks written since the full one, both sides of
#           the reboot, and its chain restored equals the device; writes,
#           stop; then B's state file replaced by A's (another device's
#           state offered for B).
#   boot 3: A's incremental exact again; start refuses B's state ("belongs
#           to another device") and B's backup is full, saying why;
#           writes, stop; then B's partition grown by 8 MiB.
#   boot 4: A exact again; B's state refused ("size changed"), its backup
#           full, saying why.
# boots: 4
# needs: blksnap.ko, 3 disks
# timeout: 180
. "$TEST_BIN/testlib.sh"
need_disks 3
need_cmd sfdisk mkfs.ext4
load_blksnap diff_storage_minimum=2048
keep_env "${DISKS[2]}"
two_tracked 64 32
# state DISK: the state file of its first partition.
state() { part_ident "$1" | sed 's/[^A-Za-z0-9.+@-]/_/g; s|^|'"$BLKSNAP_STATE_DIR"'/|; s/$/.cbt/'; }

echo "boot $BOOT_NUMBER"
case $BOOT_NUMBER in
1)
	track 0 start
	B backup -q "$bk" "$a" "$b"
	randwrite "$a" 4 1024
	randwrite "$a" 20 2048
	randwrite "$b" 2 1024
	track 0 stop --detach
	;;
2)
	track 0 start
	restored 2
	randwrite "$a" 40 1024
	incremental_exact "$a" 4
	incremental_exact "$b" 1
	randwrite "$a" 8 2048
	randwrite "$b" 6 1024
	track 0 stop --detach
	cp "$(state "${DISKS[0]}")" "$(state "${DISKS[1]}")" || fail "cp"
	;;
3)
	track 0 start
	restored 1
	grep -q "belongs to another device" "$TEST_TMP/err" || fail "B's state not refused"
	randwrite "$a" 50 1024
	incremental_exact "$a" 3
	backup_full_because "$b" "belongs to another device"
	randwrite "$a" 12 1024
	randwrite "$b" 10 1024
	track 0 stop --detach
	printf 'label: dos\nstart=2048, size=%d\n' $((40 * 2048)) |
		sfdisk -q "${DISKS[1]}" >/dev/null || fail "resize"
	;;
4)
	[[ $(blockdev --getsize64 "$b") == $((40 << 20)) ]] || fail "B not resized"
	track 0 start
	restored 1
	grep -q "size changed since it was saved" "$TEST_TMP/err" || fail "B's state not refused"
	randwrite "$a" 60 1024
	incremental_exact "$a" 2
	backup_full_because "$b" "size changed since it was saved"
	track 0 stop --detach
	exit 0
	;;
esac
boot_again
