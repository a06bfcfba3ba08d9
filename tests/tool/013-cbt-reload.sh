#!/bin/bash
# Change tracking across a module reload: a full backup, writes, cbt-save
# and detach, blksnap.ko and blkfilter.ko unloaded and loaded again, attach
# and cbt-restore, more writes; the incremental backup then reads exactly
# the blocks written since the full one (both sides of the reload), and
# the chain restored elsewhere equals the device block for block. The
# state file is used once: after a second reload without a save (as after
# a crash) it is refused and the backup is full, saying why.  The state
# restored is rewritten in format version 1 first: earlier versions'
# files are still read.
# needs: blksnap.ko, 1 disk
# timeout: 400
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd sfdisk
load_blksnap diff_storage_minimum=2048
trap 'cleanup_blksnap; unpart' EXIT
backup_env
reload() {
	unload_blksnap
	load_blksnap diff_storage_minimum=2048
}

d=$(part "${DISKS[0]}" 64)
randwrite "$d" 0 65536
B backup -q "$bk" "$d"
# 3 MiB changed before the reload.
randwrite "$d" 4 1024
randwrite "$d" 20 2048
B cbt-save --detach "$d" 2>"$TEST_TMP/err"
cat "$TEST_TMP/err"
state=$(ls "$BLKSNAP_STATE_DIR"/*.cbt) || fail "no state file"
[[ $state == */serial_blksnap-disk0_part_1_start_2048.cbt ]] || fail "state file name: $state"
[[ $(stat -c %s "$state") == $((400 + 65536 / 4)) ]] || fail "state file size"
[[ -z $(blksnap_devices) ]] || fail "still attached after --detach"
gen=$(sed -n 's/^generation=//p' "$bk"/*.000001.meta)
# Earlier versions wrote version 1 (the first 328 bytes of the header):
# still read.  The saved file rewritten so; the header's CRC-32 is
# gzip's (its trailer holds the CRC-32 of the data).
{
	head -c 8 "$state"
	printf '\x01\x00\x00\x00'
	tail -c +13 "$state" | head -c 308
} >"$TEST_TMP/v1"
{
	cat "$TEST_TMP/v1"
	gzip -c <"$TEST_TMP/v1" | tail -c 8 | head -c 4
	head -c 4 /dev/zero
	tail -c +401 "$state"
} >"$state.v1" || fail "state of version 1"
mv "$state.v1" "$state" || fail "mv"
[[ $(stat -c %s "$state") == $((328 + 65536 / 4)) ]] || fail "state file of version 1: size"

reload
# cbt-restore attaches; 1 MiB more after it.
B cbt-restore "$d"
[[ $(B cbtinfo "$d" | sed -n 's/^generation=//p') == "$gen" ]] || fail "generation not carried over"
randwrite "$d" 40 1024
incremental_exact "$d" 4

# Reloaded again without a save: the consumed state is refused.
B detach "$d"
reload
B attach "$d"
randwrite "$d" 8 1024
blksnap cbt-restore "$d" 2>"$TEST_TMP/err" && fail "a consumed state restored"
cat "$TEST_TMP/err"
grep -q "restored once already" "$TEST_TMP/err" || fail "no reason for the refusal"
backup_full_because "$d" "restored once already"
B detach "$d"
unload_blksnap
