#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# blksnap track with a configuration file naming a partition by its stable
# identity (the disk's serial), and a second device that is absent:
# track start attaches (exit 5: one device absent), a full backup, writes,
# track stop saves and detaches into the file's state-dir; blksnap.ko and
# blkfilter.ko unloaded and loaded again; track start --attach-only for
# the device (as the initramfs runs it), a write, then track start
# restores into that tracker, keeping the write; track start again is a
# no-op; more writes.  The incremental backup then reads exactly the
# blocks written since the full one, and the chain restored elsewhere
# equals the device block for block.  A stop without --detach and a start:
# the tracker goes on, its state file consumed; the next incremental
# backup reads only what was written since the previous one.  Last, track stop refuses a device
# with a file system mounted read-write (exit 1) and saves it unmounted.
# needs: blksnap.ko, 1 disk
# timeout: 400
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd sfdisk mkfs.ext4
load_blksnap diff_storage_minimum=2048
trap 'umount "$TEST_TMP/mnt" 2>/dev/null; cleanup_blksnap; unpart' EXIT
backup_env

d=$(part "${DISKS[0]}" 64)
serial=$(cat "/sys/class/block/${DISKS[0]##*/}/serial") || fail "no serial"
ident="serial:$serial;part=1;start=2048"
conf=$TEST_TMP/tracking.conf
sd=$TEST_TMP/tstate
mkdir -p "$TEST_TMP/mnt"	# track stop makes $sd
cat >"$conf" <<EOF
# test configuration
state-dir $sd
storage $TEST_TMP
device IDENTITY=$ident
device IDENTITY=serial:no-such-disk
EOF
generation() { B cbtinfo "$d" | sed -n 's/^generation=//p'; }
reload() {
	unload_blksnap
	load_blksnap diff_storage_minimum=2048
}

randwrite "$d" 0 65536
track 5 start
grep -q "no-such-disk.*absent: not tracked" "$TEST_TMP/err" || fail "no note on the absent device"
grep -q "no saved tracking state" "$TEST_TMP/err" || fail "no note on the missing state"
[[ -n $(blksnap_devices) ]] || fail "not attached by track start"
B backup -q "$bk" "$d"
# 3 MiB changed before the reload.
randwrite "$d" 4 1024
randwrite "$d" 20 2048
gen=$(generation)
track 5 stop --detach
state=$(ls "$sd"/*.cbt) || fail "no state file in the configured state-dir"
[[ $state == "$sd/serial_${serial}_part_1_start_2048.cbt" ]] || fail "state file name: $state"
[[ -z $(blksnap_devices) ]] || fail "still attached after track stop --detach"
blksnap track -c "$conf" status --json >"$TEST_TMP/j" || fail "track status"
cat "$TEST_TMP/j"
[[ $(json_val state <"$TEST_TMP/j") == saved ]] || fail "status: not saved"

reload
# As the initramfs: attach only, this device alone; a write before the
# state is restored.
track 0 start --attach-only --quiet "$d"
[[ -n $(blksnap_devices) ]] || fail "not attached by track start --attach-only"
randwrite "$d" 40 1024
track 5 start
grep -q "restored from $state" "$TEST_TMP/err" || fail "state not restored"
[[ $(generation) == "$gen" ]] || fail "generation not carried over"
track 5 start
grep -q "already tracked, with the state restored" "$TEST_TMP/err" || fail "second start not idempotent"
[[ $(generation) == "$gen" ]] || fail "generation changed by the second start"
blksnap track -c "$conf" status --json >"$TEST_TMP/j" || fail "track status"
[[ $(json_val state <"$TEST_TMP/j") == consumed ]] || fail "status: not consumed"
[[ $(json_val tracked <"$TEST_TMP/j") == true ]] || fail "status: not tracked"
randwrite "$d" 50 1024

incremental_exact "$d" 5

# Saved without --detach, then started again: the tracker goes on, and
# the state is marked consumed (after a crash it would miss what follows).
track 5 stop
track 5 start
grep -q "already tracked since the save to $state" "$TEST_TMP/err" || fail "start after a stop without --detach"
blksnap track -c "$conf" status --json >"$TEST_TMP/j" || fail "track status"
[[ $(json_val state <"$TEST_TMP/j") == consumed ]] || fail "status: not consumed after the start"
randwrite "$d" 60 1024
incremental_exact "$d" 1

# Mounted read-write: not saved, still attached; unmounted: saved.
mkfs.ext4 -q -F "$d" || fail "mkfs"
mount "$d" "$TEST_TMP/mnt" || fail "mount"
track 1 stop --detach
grep -q "not saved: .*mounted read-write" "$TEST_TMP/err" || fail "no reason for the refusal"
[[ -n $(blksnap_devices) ]] || fail "detached though not saved"
umount "$TEST_TMP/mnt" || fail "umount"
track 5 stop --detach
[[ -z $(blksnap_devices) ]] || fail "still attached after track stop --detach"
unload_blksnap
