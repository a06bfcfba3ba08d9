#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A snapshot whose difference storage overflows: snapshot-wait-event
# reports the corrupted event with its device and error, snapshot-info the
# error; blksnap backup fails with exit 3 and a clear message, destroys the
# snapshot and writes nothing.
# needs: blksnap.ko, 1 disk
# timeout: 300
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd sfdisk
load_blksnap diff_storage_minimum=2048
B() { blksnap "$@" || fail "blksnap $*"; }

trap 'cleanup_blksnap; unpart' EXIT
d=$(part "${DISKS[0]}" 128)
dd if=/dev/urandom of="$d" bs=1M count=96 oflag=direct status=none || fail "fill"
mm=$(cat "/sys/class/block/${d#/dev/}/dev")

# By hand.
id=$(B snapshot-create --storage "$TEST_TMP" --limit 1M "$d")
B snapshot-take "$id"
dd if=/dev/urandom of="$d" bs=1M count=4 oflag=direct status=none || fail "write"
out=$(B snapshot-wait-event --timeout 10000 "$id")
grep -qx 'event=corrupted' <<<"$out" || fail "event: $out"
grep -qx "device=$mm" <<<"$out" || fail "event device: $out"
grep -q '^error=-28 ' <<<"$out" || fail "event error: $out"
blksnap snapshot-wait-event --timeout 0 "$id" >/dev/null
[[ $? == 4 ]] || fail "a second event"
B snapshot-info "$d" | grep -q '^error=-28 ' || fail "snapshot-info error"
B snapshot-info --json "$d" | grep -q '"error": -28' || fail "snapshot-info --json error"
B snapshot-destroy "$id"

# During a backup: a writer that overflows 2 MiB of storage at once.
bk=$TEST_TMP/backup
mkdir "$bk"
(
	while :; do
		dd if=/dev/urandom of="$d" bs=1M count=1 seek=$((RANDOM % 96)) \
			oflag=direct conv=notrunc status=none || exit 1
	done
) &
w=$!
blksnap backup --storage "$TEST_TMP" --limit 2M "$bk" "$d" 2>"$TEST_TMP/err"
rc=$?
kill "$w"
wait "$w" 2>/dev/null
cat "$TEST_TMP/err"
[[ $rc == 3 ]] || fail "exit $rc, expected 3"
grep -q "No space left on device (the difference storage overflowed" "$TEST_TMP/err" ||
	fail "message"
[[ -z $(ls -A "$bk") ]] || fail "files written: $(ls -A "$bk")"
[[ -z $(B snapshot-collect) ]] || fail "snapshot left behind"
B detach "$d"
unload_blksnap
