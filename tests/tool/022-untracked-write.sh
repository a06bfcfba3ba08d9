#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A saved tracking state older than the device's last untracked write is
# refused, and the next backup is full, saying why; a state with no such
# write is restored.  Partitions A and B (64 MiB each) of two disks, named
# in the configuration by their identity; the configuration, the states
# and the backups on a third disk's ext4 that the boots share.
#   boot 1: full backups of both.  Stop and start with no write between:
#           both restored (no false alarm in the boot of the save).  A
#           stop, a write to A (untracked), a start: A's state refused
#           ("written while untracked ... between the save"), B's
#           restored; A's backup full, saying why (from the mark that the
#           refusal left on the state file), B's exact; then A's exact on
#           the new tracker.  Stop.
#   boot 2: a write to B before the start (untracked, in a later boot): B's
#           state refused ("since this boot before its tracker was
#           attached"), A's restored; B's backup full, saying why, A's
#           exact.  Then a stop, the module reloaded, a start: both
#           restored again.  Then B with a write-intent log: a tracker
#           detached without a save and started again with nothing
#           written between is recovered; with a write between, refused
#           ("between its tracker's detach") and the backup full.
# boots: 2
# needs: blksnap.ko, 3 disks
# timeout: 180
. "$TEST_BIN/testlib.sh"
need_disks 3
need_cmd sfdisk mkfs.ext4
load_blksnap diff_storage_minimum=2048
keep_env "${DISKS[2]}"
two_tracked 64 64
# refused DEV PATTERN: track start refused DEV's state, saying PATTERN.
refused() {
	grep -E "(^blksnap: $1: saved tracking state .* refused|: not restored to $1): .*$2" "$TEST_TMP/err" ||
		fail "$1: state not refused for '$2'"
}

echo "boot $BOOT_NUMBER"
case $BOOT_NUMBER in
1)
	track 0 start
	B backup -q "$bk" "$a" "$b"
	randwrite "$a" 4 1024
	track 0 stop --detach
	track 0 start
	restored 2
	randwrite "$b" 8 1024
	track 0 stop --detach
	# Untracked: the tracker is detached.
	randwrite "$a" 20 2048
	track 0 start
	restored 1
	refused "$a" "written while untracked: [0-9]* sectors between the save"
	# The backup's reason comes from the mark on the state file.
	backup_full_because "$a" "written while untracked"
	incremental_exact "$b" 1
	randwrite "$a" 30 1024
	incremental_exact "$a" 1
	track 0 stop --detach
	;;
2)
	# Untracked: written in this boot before the start.
	randwrite "$b" 40 1024
	track 0 start
	restored 1
	refused "$b" "since this boot before its tracker was attached"
	backup_full_because "$b" "written while untracked"
	randwrite "$a" 40 1024
	incremental_exact "$a" 1
	# A module reload between a stop and a start, nothing written.
	track 0 stop --detach
	unload_blksnap
	load_blksnap diff_storage_minimum=2048
	track 0 start
	restored 2
	randwrite "$a" 50 1024
	randwrite "$b" 50 2048
	incremental_exact "$a" 1
	incremental_exact "$b" 2
	# B with a write-intent log: its state becomes valid with the log.
	# A tracker that ends without a save (blksnap detach) is recovered
	# when nothing was written until the next start, refused when
	# something was.
	track 0 stop --detach
	sed -i "/$(part_ident "${DISKS[1]}" | sed 's/[;=]/./g')/s|\$| log=$S/b.log log-region=1M|" "$conf"
	cat "$conf"
	track 0 start
	restored 2
	grep -q "write-intent log $S/b.log attached" "$TEST_TMP/err" || fail "no log for B"
	B detach "$b"
	track 0 start
	grep -q "^blksnap: $b: recovered from" "$TEST_TMP/err" || fail "B not recovered"
	B detach "$b"
	randwrite "$b" 60 1024
	track 0 start
	refused "$b" "2048 sectors between its tracker's detach"
	backup_full_because "$b" "written while untracked"
	track 0 stop --detach
	exit 0
	;;
esac
boot_again
