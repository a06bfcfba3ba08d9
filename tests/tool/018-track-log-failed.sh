#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A write-intent log that fails: the log is a block device (device-mapper
# over a disk); after a full backup (state saved, the log's checkpoint)
# the log device turns to "error", a write to the tracked device passes
# and lands but fails the log; track status shows it FAILED and marks the
# state; the log device works again (the stale log on it looks sound), and
# a crash follows (the filter detached without a save, the modules
# reloaded).  track start refuses the log ("the write-intent log failed
# at ..."), the incremental backup is full, saying why, and equals the
# device.
# needs: blksnap.ko, 2 disks, dmsetup (dm-mod)
# timeout: 300
. "$TEST_BIN/testlib.sh"
need_disks 2
need_cmd sfdisk dmsetup
modprobe dm-mod 2>/dev/null
[[ -c /dev/mapper/control ]] || skip "no device-mapper"
load_blksnap diff_storage_minimum=2048
dm=bstool-log
cleanup() {
	dmsetup resume --noudevsync "$dm" 2>/dev/null
	cleanup_blksnap
	dmsetup remove --noudevsync "$dm" 2>/dev/null
	unpart
}
trap cleanup EXIT
backup_env

d=$(part "${DISKS[0]}" 64)
lsize=$((8 * 2048))
ldev=$(dm_linear "$dm" "$lsize" "${DISKS[1]}")
conf=$TEST_TMP/tracking.conf
cat >"$conf" <<EOF
state-dir $TEST_TMP/tstate
storage $TEST_TMP
device $d log=$ldev log-region=1M
EOF

randwrite "$d" 0 65536
track 0 start
grep -q "write-intent log $ldev attached" "$TEST_TMP/err" || fail "log not attached"
B backup -q --config "$conf" "$bk" "$d"
randwrite "$d" 4 1024
dm_table "$dm" "$lsize" error
randwrite "$d" 9 1024
track_status
[[ $(json_val log-state <"$TEST_TMP/j") == FAILED ]] || fail "status: the log not FAILED"
[[ $(json_val state <"$TEST_TMP/j") == log-failed ]] || fail "status: the state not marked"
dm_table "$dm" "$lsize" "linear ${DISKS[1]} 0"
cbtlog decode "$ldev" | grep -q '^crc=ok' || echo "(the log's header was zeroed)"

# The crash.
B detach "$d"
unload_blksnap
load_blksnap diff_storage_minimum=2048
track 0 start
grep -q "the write-intent log failed at .*: the writes since are unknown" "$TEST_TMP/err" ||
	fail "start: no reason for the refused log"
grep -q "the next incremental backup is full" "$TEST_TMP/err" || fail "start: no full backup said"
randwrite "$d" 20 1024
B backup --incremental --json --config "$conf" "$bk" "$d" >"$TEST_TMP/j" 2>"$TEST_TMP/err"
cat "$TEST_TMP/j" "$TEST_TMP/err"
[[ $(json_val type <"$TEST_TMP/j") == full ]] || fail "not full after a failed log"
grep -q "full copy: the change tracker was reset .*refused: the write-intent log failed at" \
	"$TEST_TMP/err" || fail "no reason for the full copy"
B restore -q "$bk" "$TEST_TMP/r"
cmp "$TEST_TMP/r" "$d" || fail "restored backup differs from the device"
# The log works again after the start: the next crash is recovered.
track_status
[[ $(json_val log-state <"$TEST_TMP/j") == ok ]] || fail "status: the log not attached again"
