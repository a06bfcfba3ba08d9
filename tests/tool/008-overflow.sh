#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A snapshot whose difference storage overflows: snapshot-wait-event
# reports the corrupted event with its device, its error (positive, 28)
# and its CLOCK_MONOTONIC time, snapshot-info the error (-28) until the
# snapshot is destroyed; blksnap backup fails with exit 3 and a clear
# message, destroys the snapshot and writes nothing.
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
# uptime_ns: the time since boot, as CLOCK_MONOTONIC is without suspend.
uptime_ns() {
	local s
	read -r s _ </proc/uptime
	echo $((10#${s/./} * 10000000))
}
id=$(B snapshot-create --storage "$TEST_TMP" --limit 1M "$d")
B snapshot-take "$id"
t0=$(uptime_ns)
dd if=/dev/urandom of="$d" bs=1M count=4 oflag=direct status=none || fail "write"
out=$(B snapshot-wait-event --timeout 10000 "$id")
t1=$(uptime_ns)
grep -qx 'event=corrupted' <<<"$out" || fail "event: $out"
grep -qx "device=$mm" <<<"$out" || fail "event device: $out"
grep -qx 'error=28 (No space left on device)' <<<"$out" || fail "event error: $out"
t=$(sed -n 's/^time_ns=//p' <<<"$out")
# /proc/uptime has hundredths: a margin of a second either side.
((t >= t0 - 1000000000 && t <= t1 + 1000000000)) ||
	fail "event time $t not CLOCK_MONOTONIC ($t0..$t1)"
blksnap snapshot-wait-event --timeout 0 "$id" >/dev/null
[[ $? == 4 ]] || fail "a second event"
B snapshot-info "$d" | grep -q '^error=-28 ' || fail "snapshot-info error"
B snapshot-info --json "$d" | grep -q '"error": -28' || fail "snapshot-info --json error"
B snapshot-destroy "$id"
out=$(B snapshot-info "$d")
[[ $out == $'error=0\nimage=' ]] || fail "snapshot-info after destroy: $out"

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
