#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# blksnap backup of several devices at once: one snapshot, one chain per
# device, full then incremental, each restored byte for byte; a run that
# cannot add one device writes nothing for any (a device whose snapshot
# fails while copying: 011).
# needs: blksnap.ko, 3 disks
# timeout: 400
. "$TEST_BIN/testlib.sh"
need_disks 3
need_cmd sfdisk
load_blksnap diff_storage_minimum=16384
B() { blksnap "$@" || fail "blksnap $*"; }

trap 'cleanup_blksnap; unpart' EXIT
wr() {
	dd if=/dev/urandom of="$1" bs=4k seek=$(($2 * 256)) count=$(($3 / 4)) \
		oflag=direct conv=notrunc status=none || fail "write $1 at $2 MiB"
}
shaof() { sha256sum <"$1" | cut -d' ' -f1; }

d1=$(part "${DISKS[0]}" 48)
d2=$(part "${DISKS[1]}" 32)
d3=${DISKS[2]}
n1=${d1#/dev/}
n2=${d2#/dev/}
bk=$TEST_TMP/backup
mkdir "$bk"
# One of them attached beforehand, the other not.
B attach "$d2"
wr "$d1" 0 4096
wr "$d1" 47 1024
wr "$d2" 10 2048
s1=$(shaof "$d1")
s2=$(shaof "$d2")
B backup --verify --json --storage "$TEST_TMP" "$bk" "$d1" "$d2" >"$TEST_TMP/j"
[[ $(grep -c '"type": "full"' "$TEST_TMP/j") == 2 ]] || fail "two full backups: $(cat "$TEST_TMP/j")"
id1=$(sed -n 's/^snapshot=//p' "$bk/$n1.000001.meta")
id2=$(sed -n 's/^snapshot=//p' "$bk/$n2.000001.meta")
[[ -n $id1 && $id1 == "$id2" ]] || fail "not one snapshot: $id1 $id2"
grep -q "\"snapshot\": \"$id1\"" "$TEST_TMP/j" || fail "json snapshot id"

wr "$d1" 20 64
wr "$d2" 0 4
wr "$d2" 31 1024
t1=$(shaof "$d1")
t2=$(shaof "$d2")
B backup --incremental --json --storage "$TEST_TMP" "$bk" "$d1" "$d2" >"$TEST_TMP/j"
[[ $(grep -c '"type": "incremental"' "$TEST_TMP/j") == 2 ]] || fail "two incremental backups: $(cat "$TEST_TMP/j")"
B restore -q --name "$n1" "$bk" "$TEST_TMP/r1"
B restore -q --name "$n2" "$bk" "$TEST_TMP/r2"
[[ $(shaof "$TEST_TMP/r1") == "$t1" ]] || fail "restore of $d1 differs"
[[ $(shaof "$TEST_TMP/r2") == "$t2" ]] || fail "restore of $d2 differs"
B restore -q "$bk/$n1.000001.meta" "$TEST_TMP/q1"
B restore -q "$bk/$n2.000001.meta" "$TEST_TMP/q2"
[[ $(shaof "$TEST_TMP/q1") == "$s1" ]] || fail "restore of $d1 backup 1 differs"
[[ $(shaof "$TEST_TMP/q2") == "$s2" ]] || fail "restore of $d2 backup 1 differs"
rm -f "$TEST_TMP"/[rq][12]
blksnap restore "$bk" "$TEST_TMP/x" 2>"$TEST_TMP/err" && fail "restore without --name"
grep -q "several devices" "$TEST_TMP/err" || fail "several devices message"

# The same device twice, and a device that cannot be added (it holds the
# storage): nothing written for any device, no snapshot left.
blksnap backup "$bk" "$d1" "$d1" 2>"$TEST_TMP/err"
[[ $? == 2 ]] || fail "same device twice"
mkfs.ext4 -q "$d3" || fail "mkfs"
mkdir "$TEST_TMP/m"
mount "$d3" "$TEST_TMP/m" || fail "mount"
blksnap backup --storage "$TEST_TMP/m" "$bk" "$d1" "$d3" 2>"$TEST_TMP/err" && fail "storage on a device of the snapshot"
grep -q "^blksnap: $d3: cannot add to the snapshot: the difference storage is on this device" "$TEST_TMP/err" ||
	fail "storage message: $(cat "$TEST_TMP/err")"
umount "$TEST_TMP/m"
[[ $(find "$bk" -name '*.000003.*' | wc -l) == 0 ]] || fail "files of a failed backup"
compgen -G "$bk/.*" >/dev/null && fail "temporary files left"
[[ -z $(B snapshot-collect) ]] || fail "snapshot left behind"
for dev in "$d1" "$d2" "$d3"; do blksnap detach "$dev"; done
unload_blksnap
