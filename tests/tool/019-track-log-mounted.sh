#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The root device's case: a device with a write-intent log whose file
# system is mounted read-write when track stop runs.  A full backup (the
# state saved, the log's checkpoint), files written; track stop --detach
# leaves it tracked with its log, says so and succeeds (exit 0); the file
# system goes read-only (as the shutdown's last remount), then the filter
# is detached without a save and the modules reloaded (the reboot).  track
# start recovers from the state and the log, and the incremental backup
# is incremental, reads less than the device, and its chain restored
# equals the device block for block, whose files are those written.
# needs: blksnap.ko, 2 disks, mkfs.ext4
# timeout: 400
. "$TEST_BIN/testlib.sh"
track_log_env
root=$TEST_TMP/root
trap 'umount "$root" 2>/dev/null; cleanup_blksnap; umount "$mnt" 2>/dev/null; unpart' EXIT
ext4_at "$d" "$root"

track 0 start
B backup -q --config "$conf" "$bk" "$d"
for i in 1 2 3; do
	head -c $((i * 300000)) /dev/urandom >"$root/f$i" || fail "write f$i"
done
sync
track 0 stop --detach
grep -q "not saved: $root is mounted read-write from it; left tracked with its write-intent log" \
	"$TEST_TMP/err" || fail "stop: no note on the device left tracked"
[[ -n $(blksnap_devices) ]] || fail "detached though not saved"
(cd "$root" && sha256sum f1 f2 f3) >"$TEST_TMP/sums" || fail "sha256sum"
mount -o remount,ro "$root" || fail "remount read-only"

# The reboot, as after a crash: no save.
B detach "$d"
unload_blksnap
load_blksnap diff_storage_minimum=2048
track 0 start
grep -q "recovered from" "$TEST_TMP/err" || fail "start did not recover"
B backup --incremental --json --config "$conf" "$bk" "$d" >"$TEST_TMP/j" 2>"$TEST_TMP/err"
cat "$TEST_TMP/j" "$TEST_TMP/err"
[[ $(json_val type <"$TEST_TMP/j") == incremental ]] || fail "not incremental"
read_bytes=$(json_val bytes_read <"$TEST_TMP/j")
echo "after the reboot: $read_bytes bytes read of $(devsize "$d")"
((read_bytes > 900000 && read_bytes < $(devsize "$d"))) || fail "read $read_bytes bytes"
B restore -q "$bk" "$TEST_TMP/r"
cmp "$TEST_TMP/r" "$d" || fail "restored chain differs from the device"
# The image equals the device, whose files are those written.
echo 3 >/proc/sys/vm/drop_caches
(cd "$root" && sha256sum -c --quiet "$TEST_TMP/sums") || fail "files of the device"
