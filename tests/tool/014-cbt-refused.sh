#!/bin/bash
# A tracking state that does not belong to the device is refused by
# cbt-restore, with its reason, the tracker left fresh; the next backup
# --incremental is then a full copy that says why, and restores byte for
# byte: the state of another disk (the files swapped), the device resized
# since the save, another tracker block size (module parameters), no state
# at all.
# needs: blksnap.ko, 2 disks
# timeout: 400
. "$TEST_BIN/testlib.sh"
need_disks 2
need_cmd sfdisk
load_blksnap diff_storage_minimum=2048
trap 'cleanup_blksnap; unpart' EXIT
backup_env

a=$(part "${DISKS[0]}" 32)
b=$(part "${DISKS[1]}" 32)
sa=$BLKSNAP_STATE_DIR/serial_blksnap-disk0_part_1_start_2048.cbt
sb=$BLKSNAP_STATE_DIR/serial_blksnap-disk1_part_1_start_2048.cbt
randwrite "$a" 0 32768
randwrite "$b" 0 32768
B backup -q "$bk" "$b"
randwrite "$b" 2 1024

# refused NEEDLE: cbt-restore of $b fails saying NEEDLE, the tracker is a
# fresh one, and backup --incremental makes a full copy saying NEEDLE too
# (from the default state file), which restores byte for byte.
refused() {
	local g
	blksnap cbt-restore "$b" 2>"$TEST_TMP/err" && fail "restored: $1"
	cat "$TEST_TMP/err"
	grep -q "$1" "$TEST_TMP/err" || fail "cbt-restore does not say '$1'"
	B attach "$b"
	[[ $(B cbtinfo "$b" | sed -n 's/^changes_number=//p') == 0 ]] || fail "tracker not fresh"
	g=$(B cbtinfo "$b" | sed -n 's/^generation=//p')
	grep -q "generation=$g" "$bk"/*.meta && fail "a refused state's generation in the tracker"
	randwrite "$b" 6 1024
	backup_full_because "$b" "$2"
}

# Another disk's state, under this disk's name (the disks swapped, say).
B attach "$a"
B cbt-save -q --detach "$a"
B cbt-save -q --detach "$b"
cp "$sa" "$sb"
blksnap cbt-restore "$b" "$sa" 2>"$TEST_TMP/err" && fail "another disk's state restored from its file"
grep -q "belongs to another device (serial:blksnap-disk0;part=1;start=2048, this one is serial:blksnap-disk1;part=1;start=2048)" \
	"$TEST_TMP/err" || fail "wrong reason: $(cat "$TEST_TMP/err")"
refused "belongs to another device" "refused: it belongs to another device"

# Resized since the save: the same partition, 8 MiB larger.
B cbt-save -q --detach "$b"
printf 'label: dos\nstart=2048, size=%d\n' $((40 * 2048)) | sfdisk -q "${DISKS[1]}" >/dev/null ||
	fail "resize"
blockdev --rereadpt "${DISKS[1]}" || fail "rereadpt"
[[ $(blockdev --getsize64 "$b") == $((40 << 20)) ]] || fail "not resized"
refused "size changed since it was saved" "size changed since it was saved"

# Another tracker block size: the module loaded with other parameters.
B cbt-save -q --detach "$b"
unload_blksnap
load_blksnap diff_storage_minimum=2048 tracking_block_minimum_shift=16
refused "block size differs" "has another tracker block size"

# A corrupt state file: one byte of the map changed.
B cbt-save -q --detach "$b"
printf '\x7f' | dd of="$sb" bs=1 seek=$((400 + 100)) conv=notrunc status=none || fail "corrupt"
refused "change map is corrupt (CRC)" "unusable: its change map is corrupt (CRC)"

# No state file.
B detach "$b"
rm "$sb"
refused "No such file" "no saved tracking state"
B detach "$b"
unload_blksnap
