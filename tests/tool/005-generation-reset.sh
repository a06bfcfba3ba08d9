#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# After 255 takes the change tracker resets (new generation): the next
# blksnap backup --incremental makes a full copy and says why, and the
# one after it is incremental again; every backup restores byte for byte.
# needs: blksnap.ko, 1 disk
# timeout: 600
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd sfdisk
load_blksnap diff_storage_minimum=2048
B() { blksnap "$@" || fail "blksnap $*"; }

trap 'cleanup_blksnap; unpart' EXIT
wr() {
	dd if=/dev/urandom of="$1" bs=4k seek=$(($2 * 256)) count=$(($3 / 4)) \
		oflag=direct conv=notrunc status=none || fail "write $1 at $2 MiB"
}
shaof() { sha256sum <"$1" | cut -d' ' -f1; }
gen() { B cbtinfo "$d" | sed -n 's/^generation=//p'; }

d=$(part "${DISKS[0]}" 16)
bk=$TEST_TMP/backup
mkdir "$bk"
wr "$d" 0 1024
B backup -q --storage "$TEST_TMP" "$bk" "$d"
g0=$(gen)
wr "$d" 4 64
# Takes until the generation changes.
for ((i = 1; i <= 300; i++)); do
	id=$(B snapshot-create --storage "$TEST_TMP" --limit 1M "$d")
	B snapshot-take "$id"
	B snapshot-destroy "$id"
	[[ $(gen) == "$g0" ]] || break
done
echo "generation reset after $i takes"
((i <= 255)) || fail "no reset within 255 takes"
wr "$d" 8 64
s=$(shaof "$d")
B backup --incremental --json --storage "$TEST_TMP" "$bk" "$d" >"$TEST_TMP/j" 2>"$TEST_TMP/err"
grep -q '"type": "full"' "$TEST_TMP/j" || fail "not a full copy after a reset: $(cat "$TEST_TMP/j")"
grep -q "^blksnap: $d: full copy: the change tracker was reset" "$TEST_TMP/err" ||
	fail "no note on the full copy: $(cat "$TEST_TMP/err")"
B restore -q "$bk" "$TEST_TMP/r"
[[ $(shaof "$TEST_TMP/r") == "$s" ]] || fail "restore after the reset differs"
rm "$TEST_TMP/r"
wr "$d" 12 64
s=$(shaof "$d")
B backup --incremental --json --storage "$TEST_TMP" "$bk" "$d" >"$TEST_TMP/j"
grep -q '"type": "incremental"' "$TEST_TMP/j" || fail "not incremental after the full copy"
B restore -q "$bk" "$TEST_TMP/r"
[[ $(shaof "$TEST_TMP/r") == "$s" ]] || fail "restore of the incremental differs"

# Detached and attached again: a new tracker, a full copy.
B detach "$d"
B backup --incremental --json --storage "$TEST_TMP" "$bk" "$d" >"$TEST_TMP/j" 2>"$TEST_TMP/err"
grep -q '"type": "full"' "$TEST_TMP/j" || fail "not a full copy after detach"
grep -q "full copy: the change tracker was reset" "$TEST_TMP/err" || fail "no note after detach"
B detach "$d"
unload_blksnap
