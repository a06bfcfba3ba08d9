#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# blksnap backup of a mounted ext4 file system while it is being written:
# full, then incremental; each restored image passes e2fsck and holds the
# files as they were before the backup.
# needs: blksnap.ko, 1 disk
# timeout: 400
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd sfdisk mkfs.ext4 e2fsck losetup
load_blksnap diff_storage_minimum=16384
B() { blksnap "$@" || fail "blksnap $*"; }

trap 'cleanup_blksnap; unpart' EXIT
m=$TEST_TMP/m
r=$TEST_TMP/r
bk=$TEST_TMP/backup
mkdir -p "$m" "$r" "$bk"
# busy: a writer, until killed.
busy() {
	local i=0
	while :; do
		head -c 65536 /dev/urandom >"$m/busy.$((i % 8))" || exit 1
		i=$((i + 1))
	done
}
# check_restore SUMFILE: the latest backup restored to a file passes
# e2fsck and holds the files of SUMFILE.
check_restore() {
	local loop
	rm -f "$TEST_TMP/img"
	B restore -q "$bk" "$TEST_TMP/img"
	e2fsck -fn "$TEST_TMP/img" >"$TEST_TMP/fsck.log" 2>&1 ||
		{ cat "$TEST_TMP/fsck.log"; fail "e2fsck of the restored image"; }
	loop=$(losetup -f --show -r "$TEST_TMP/img") || fail "losetup"
	mount -o ro "$loop" "$r" || fail "mount the restored image"
	(cd "$r" && sha256sum -c --quiet "$1") || fail "files of the restored image"
	umount "$r" || fail "umount"
	losetup -d "$loop"
}

modprobe loop 2>/dev/null
d=$(part "${DISKS[0]}" 128)
mkfs.ext4 -q "$d" || fail "mkfs"
mount "$d" "$m" || fail "mount"
for i in $(seq 1 20); do
	head -c $((RANDOM * 16 + i)) /dev/urandom >"$m/f$i" || fail "write f$i"
done
mkdir "$m/dir"
head -c 4194304 /dev/urandom >"$m/dir/big" || fail "write big"
(cd "$m" && sha256sum f* dir/big) >"$TEST_TMP/sum1"
busy &
pid=$!
sleep 0.5
B backup --verify -q "$bk" "$d"
kill "$pid"
wait "$pid" 2>/dev/null
check_restore "$TEST_TMP/sum1"

# Changes, and an incremental backup while written.
head -c 50000 /dev/urandom >"$m/f1" || fail "change f1"
rm "$m/f2"
for i in $(seq 1 5); do
	head -c 100000 /dev/urandom >"$m/new$i" || fail "write new$i"
done
dd if=/dev/urandom of="$m/dir/big" bs=64k count=4 seek=10 conv=notrunc status=none ||
	fail "change big"
(cd "$m" && sha256sum f* new* dir/big) >"$TEST_TMP/sum2"
busy &
pid=$!
sleep 0.5
B backup --incremental --verify --json "$bk" "$d" >"$TEST_TMP/j"
grep -q '"type": "incremental"' "$TEST_TMP/j" || fail "not incremental: $(cat "$TEST_TMP/j")"
kill "$pid"
wait "$pid" 2>/dev/null
check_restore "$TEST_TMP/sum2"
umount "$m" || fail "umount"
[[ -z $(B snapshot-collect) ]] || fail "snapshot left behind"
blksnap detach "$d"
unload_blksnap
