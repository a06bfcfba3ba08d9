#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# blksnap track with a write-intent log (log= in the configuration) on a
# file of another disk, and a simulated crash in one boot: track start
# attaches the device and creates the log; a full backup saves the state
# and makes it the log's checkpoint; writes (aligned MiBs and a 4 KiB
# write in a region of its own); then the filter is detached WITHOUT a
# save (what a crash leaves: the old log and the last checkpointed state)
# and the modules are reloaded.  track start recovers (says so, status
# shows the state valid with its log); the incremental backup is
# incremental, reads between the bytes changed and the bytes changed plus
# the marked regions (exactly the regions here), and its chain restored
# equals the device block for block.  Then a clean stop and start keep the
# generation and the next incremental backup reads exactly what was
# written.  A log on a configured device is refused.
# needs: blksnap.ko, 2 disks, mkfs.ext4
# timeout: 400
. "$TEST_BIN/testlib.sh"
track_log_env
MIB=1048576
generation() { B cbtinfo "$d" | sed -n 's/^generation=//p'; }
reload() {
	unload_blksnap
	load_blksnap diff_storage_minimum=2048
}

# A log on the tracked device's own disk: refused, the device untracked.
printf 'device %s log=%s\n' "$d" "${DISKS[0]}" >"$TEST_TMP/bad.conf"
blksnap track -c "$TEST_TMP/bad.conf" start 2>"$TEST_TMP/err"
rc=$?
cat "$TEST_TMP/err"
((rc == 1)) || fail "a log on the tracked disk: exit $rc"
grep -q "the write-intent log ${DISKS[0]} is on the configured device" "$TEST_TMP/err" ||
	fail "no reason for the refused log"
[[ -z $(blksnap_devices) ]] || fail "attached despite its log on the disk"

randwrite "$d" 0 65536
track 0 start
grep -q "no saved tracking state" "$TEST_TMP/err" || fail "no note on the missing state"
grep -q "write-intent log $log attached (64 regions of 1.0 MiB)" "$TEST_TMP/err" ||
	fail "log not attached"
[[ -f $log ]] || fail "log file not created"
track_status
[[ $(json_val log-state <"$TEST_TMP/j") == ok ]] || fail "status: log not ok"
[[ $(json_val region-size <"$TEST_TMP/j") == "$MIB" ]] || fail "status: region size"
B backup -q --config "$conf" "$bk" "$d"
state=$(ls "$sd"/*.cbt) || fail "no state saved by the backup"
track_status
[[ $(json_val state <"$TEST_TMP/j") == logged ]] || fail "status: state not logged"
[[ $(json_val marked-regions <"$TEST_TMP/j") == 0 ]] || fail "regions left after the checkpoint"

# 3 MiB in 3 regions, and 4 KiB in a fourth region.
randwrite "$d" 4 1024
randwrite "$d" 20 2048
dd if=/dev/urandom of="$d" bs=4k seek=$((40 * 256 + 25)) count=1 oflag=direct \
	conv=notrunc status=none || fail "write"
changed=$((3 * MIB + 4096))
track_status
[[ $(json_val marked-regions <"$TEST_TMP/j") == 4 ]] || fail "status: not 4 regions marked"
gen=$(generation)

# The crash: no save, the tracker gone, the log and state left as they are.
B detach "$d"
reload
track 0 start
grep -q "recovered from $state (generation $gen, number 1) and the 4 regions of 1.0 MiB that $log marks" \
	"$TEST_TMP/err" || fail "start did not recover"
[[ $(generation) != "$gen" ]] || fail "a recovery kept the generation"
grep -q "$gen 1\$" "$state.links" || fail "no link to the old generation: $(cat "$state.links")"
track_status
[[ $(json_val state <"$TEST_TMP/j") == logged ]] || fail "status: recovered state not logged"
[[ $(json_val log-state <"$TEST_TMP/j") == ok ]] || fail "status: log not attached again"
B backup --incremental --json --config "$conf" "$bk" "$d" >"$TEST_TMP/j" 2>"$TEST_TMP/err"
cat "$TEST_TMP/j" "$TEST_TMP/err"
[[ $(json_val type <"$TEST_TMP/j") == incremental ]] || fail "not incremental after the crash"
read_bytes=$(json_val bytes_read <"$TEST_TMP/j")
echo "after the crash: $read_bytes bytes read for $changed bytes changed in 4 regions"
((read_bytes >= changed && read_bytes <= changed + 4 * MIB)) ||
	fail "read $read_bytes bytes: not within [$changed, $changed + 4 MiB]"
((read_bytes == 4 * MIB)) || fail "read $read_bytes bytes, not the 4 regions"
B restore -q "$bk" "$TEST_TMP/r"
cmp "$TEST_TMP/r" "$d" || fail "restored chain differs from the device"
rm "$TEST_TMP/r"

# A clean stop and start: the generation goes on, nothing more copied.
track 0 stop --detach
grep -q "the write-intent log's checkpoint" "$TEST_TMP/err" || fail "stop: no checkpoint"
gen=$(sed -n 's/.*generation \([0-9a-f-]*\), number.*/\1/p' "$TEST_TMP/err")
reload
# As the initramfs: attached first, a write, then the restore.
track 0 start --attach-only --quiet
randwrite "$d" 50 1024
track 0 start
grep -q "restored from $state .* with the 0 regions its write-intent log marks" \
	"$TEST_TMP/err" || fail "clean start: not restored"
[[ $(generation) == "$gen" ]] || fail "a clean start changed the generation"
randwrite "$d" 60 1024
incremental_exact "$d" 2
