#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# blksnap backup: a full backup, then incremental ones holding only the
# changed tracker blocks (writes and discards), each restored byte for
# byte to a file and to a block device; the backup files and metadata are
# as blksnap(8) says.
# needs: blksnap.ko, 2 disks
# timeout: 400
. "$TEST_BIN/testlib.sh"
need_disks 2
need_cmd sfdisk blkdiscard
load_blksnap diff_storage_minimum=16384
B() { blksnap "$@" || fail "blksnap $*"; }

trap 'cleanup_blksnap; unpart' EXIT
# wr DEV OFFSET_MIB KIB: random data, direct I/O.
wr() {
	dd if=/dev/urandom of="$1" bs=4k seek=$(($2 * 256)) count=$(($3 / 4)) \
		oflag=direct conv=notrunc status=none || fail "write $1 at $2 MiB"
}
shaof() { sha256sum <"$1" | cut -d' ' -f1; }
# jval KEY: the first value of KEY in the JSON on stdin.
jval() { sed -n "s/.*\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n1; }

d=$(part "${DISKS[0]}" 64)
t=$(part "${DISKS[1]}" 64)
n=${d#/dev/}
bk=$TEST_TMP/backup
mkdir "$bk"
# The checks of sparseness below count on zeros where nothing is written:
# earlier tests of the boot may have left data on the disk.
dd if=/dev/zero of="$d" bs=1M count=64 oflag=direct status=none || fail "zero $d"

# 1: full.
wr "$d" 0 8192
wr "$d" 40 4096
wr "$d" 63 1024
sha1=$(shaof "$d")
B backup --verify --json "$bk" "$d" >"$TEST_TMP/j1"
[[ $(jval type <"$TEST_TMP/j1") == full ]] || fail "first backup not full: $(cat "$TEST_TMP/j1")"
[[ $(jval sequence <"$TEST_TMP/j1") == 1 ]] || fail "first sequence"
[[ $(jval verified <"$TEST_TMP/j1") == true ]] || fail "not verified"
[[ -f $bk/$n.000001.img && -f $bk/$n.000001.meta && ! -e $bk/$n.000001.blocks ]] ||
	fail "files of the full backup: $(ls -a "$bk")"
[[ $(tail -n1 "$bk/$n.000001.meta") == complete=1 ]] || fail "meta does not end with complete=1"
grep -qx "device=$d" "$bk/$n.000001.meta" || fail "meta device"
grep -qx "changes_number=1" "$bk/$n.000001.meta" || fail "meta changes_number"
[[ $(stat -c %s "$bk/$n.000001.img") == $((64 << 20)) ]] || fail "image size"
# Sparse: about the 13 MiB written, not 64.
(($(du -k "$bk/$n.000001.img" | cut -f1) < 20 * 1024)) || fail "image not sparse"
B restore -q "$bk" "$TEST_TMP/r1"
[[ $(shaof "$TEST_TMP/r1") == "$sha1" ]] || fail "restore of the full backup differs"
rm "$TEST_TMP/r1"

# 2: incremental: 1 MiB written, 4 KiB written, 4 MiB discarded.
wr "$d" 20 1024
wr "$d" 50 4
blkdiscard -o $((40 << 20)) -l $((4 << 20)) "$d" || fail "discard"
sha2=$(shaof "$d")
B backup --incremental --json "$bk" "$d" >"$TEST_TMP/j2"
[[ $(jval type <"$TEST_TMP/j2") == incremental ]] || fail "second backup not incremental: $(cat "$TEST_TMP/j2")"
[[ $(jval base <"$TEST_TMP/j2") == 1 ]] || fail "base"
read_bytes=$(jval bytes_read <"$TEST_TMP/j2")
bs=$(sed -n 's/^block_size=//p' "$bk/$n.000002.meta")
# At most the changed bytes plus one block each side of every range.
((read_bytes >= (5 << 20) + 4096 && read_bytes <= (5 << 20) + 4096 + 6 * bs)) ||
	fail "incremental read $read_bytes bytes"
[[ -f $bk/$n.000002.blocks ]] || fail "no block list"
grep -qx "base=1" "$bk/$n.000002.meta" || fail "meta base"
B restore -q "$bk" "$TEST_TMP/r2"
[[ $(shaof "$TEST_TMP/r2") == "$sha2" ]] || fail "restore of the incremental backup differs"
rm "$TEST_TMP/r2"
B restore -q "$bk/$n.000001.meta" "$TEST_TMP/r1"
[[ $(shaof "$TEST_TMP/r1") == "$sha1" ]] || fail "restore of backup 1 after 2 differs"
rm "$TEST_TMP/r1"

# 3: nothing changed: an empty incremental backup.
B backup --incremental --verify --json "$bk" "$d" >"$TEST_TMP/j3"
[[ $(jval type <"$TEST_TMP/j3") == incremental ]] || fail "third backup not incremental"
[[ $(jval changed_blocks <"$TEST_TMP/j3") == 0 ]] || fail "changes without writes: $(cat "$TEST_TMP/j3")"

# 4: more writes; restored to a block device.
wr "$d" 0 4
wr "$d" 30 2048
sha4=$(shaof "$d")
B backup --incremental --verify "$bk" "$d"
B restore -q --name "$n" "$bk" "$t"
[[ $(shaof "$t") == "$sha4" ]] || fail "restore to a device differs"
B restore --check "$bk" | grep -c . | grep -qx 4 || fail "chain of 4"
out=$(B list "$bk")
[[ $(grep -c " ok$" <<<"$out") == 4 ]] || fail "list: $out"

# A full backup on request, even with a usable chain; the old stay.
B backup --json "$bk" "$d" | jval type | grep -qx full || fail "backup without --incremental not full"
[[ -f $bk/$n.000004.meta && -f $bk/$n.000005.meta ]] || fail "backups 4 and 5"
B restore -q "$bk" "$TEST_TMP/r5"
[[ $(shaof "$TEST_TMP/r5") == "$sha4" ]] || fail "restore of backup 5"
[[ -z $(B snapshot-collect) ]] || fail "snapshot left behind"
compgen -G "$bk/.*" >/dev/null && fail "temporary files left: $(ls -a "$bk")"
blksnap detach "$d"
unload_blksnap
