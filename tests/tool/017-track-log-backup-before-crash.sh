#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A crash after a backup that came after the last save (the changes
# numbers of the invariant in blksnap(8) NOTES): a full backup saves the
# state (number 1) and checkpoints the log; a write A; an incremental
# backup whose configuration does not list the device (so no save: its
# number 2 is above the state's); a write W; the crash (the filter
# detached without a save, the modules reloaded).  track start recovers
# from state 1 and the log; then snapshots are taken before the next
# backup (a stop without --detach, and a snapshot), so that the recovered
# tracker's numbers pass the backup's 2.  The incremental backup must
# still copy A's and W's regions (the blocks changed since the older of
# the backup and the state): it is incremental, on the older
# generation, reads A and W again, and its chain restored equals the
# device.  The next one reads exactly what was written since.
# needs: blksnap.ko, 2 disks, mkfs.ext4
# timeout: 400
. "$TEST_BIN/testlib.sh"
track_log_env
MIB=1048576
: >"$TEST_TMP/other.conf"
cbtfield() { B cbtinfo "$d" | sed -n "s/^$1=//p"; }

randwrite "$d" 0 65536
track 0 start
B backup -q --config "$conf" "$bk" "$d"
[[ $(cbtfield changes_number) == 1 ]] || fail "not at number 1 after the full backup"
gen=$(cbtfield generation)
randwrite "$d" 4 1024				# A
blksnap backup --incremental --json --config "$TEST_TMP/other.conf" "$bk" "$d" \
	>"$TEST_TMP/j" 2>"$TEST_TMP/err" || fail "backup 2"
cat "$TEST_TMP/j" "$TEST_TMP/err"
grep -q "its checkpoint stays" "$TEST_TMP/err" || fail "backup 2 moved the checkpoint"
[[ $(json_val type <"$TEST_TMP/j") == incremental ]] || fail "backup 2 not incremental"
[[ $(cbtfield changes_number) == 2 ]] || fail "not at number 2 after backup 2"
randwrite "$d" 30 1024				# W

# The crash.
B detach "$d"
unload_blksnap
load_blksnap diff_storage_minimum=2048
track 0 start
grep -q "recovered from .* (generation $gen, number 1) and the 2 regions" "$TEST_TMP/err" ||
	fail "start did not recover from state 1 with A's and W's regions"
# Takes before the backup: the tracker's number passes backup 2's.
track 0 stop
track 0 start
grep -q "already tracked, with its write-intent log" "$TEST_TMP/err" || fail "second start"
id=$(B snapshot-create --storage "$TEST_TMP" --limit 64M "$d")
B snapshot-take "$id"
B snapshot-destroy "$id"
(($(cbtfield changes_number) > 2)) || fail "the tracker did not pass number 2"
randwrite "$d" 50 1024

B backup --incremental --json --config "$conf" "$bk" "$d" >"$TEST_TMP/j" 2>"$TEST_TMP/err"
cat "$TEST_TMP/j" "$TEST_TMP/err"
[[ $(json_val type <"$TEST_TMP/j") == incremental ]] || fail "not incremental after the crash"
read_bytes=$(json_val bytes_read <"$TEST_TMP/j")
echo "after the crash: $read_bytes bytes read (A, W and 1 MiB after the recovery)"
((read_bytes == 3 * MIB)) || fail "read $read_bytes bytes, not A, W and the last MiB"
meta=$(json_val metadata <"$TEST_TMP/j")
grep -q "^base_generation=$gen\$" "$meta" || fail "no base_generation in $meta"
grep -q "^base_changes_number=1\$" "$meta" || fail "the base is not number 1 in $meta"
B restore -q "$bk" "$TEST_TMP/r"
cmp "$TEST_TMP/r" "$d" || fail "restored chain differs from the device"
rm "$TEST_TMP/r"
randwrite "$d" 60 1024
incremental_exact "$d" 1
