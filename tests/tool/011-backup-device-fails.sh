#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One device of a snapshot of two fails (its writes overflow the difference
# storage), the other does not (issue 19's failure isolation): by hand, the
# corrupted event names the written device only and the other image stays
# readable and equal to its device at take; then, once it is written to,
# it fails with an event of its own.  blksnap backup of both, in either
# order, while one is written: exit 3 naming it, no backup of it, a
# complete backup of the other that restores equal to it at take; and the
# next incremental backups of both build on their own latest complete ones.
# needs: blksnap.ko, 2 disks
# timeout: 600
. "$TEST_BIN/testlib.sh"
need_disks 2
need_cmd sfdisk
load_blksnap diff_storage_minimum=2048
B() { blksnap "$@" || fail "blksnap $*"; }

trap 'cleanup_blksnap; unpart' EXIT
shaof() { sha256sum <"$1" | cut -d' ' -f1; }
# writer DEV: 1 MiB random writes all over DEV's first 96 MiB, until killed.
writer() {
	while :; do
		dd if=/dev/urandom of="$1" bs=1M count=1 seek=$((RANDOM % 96)) \
			oflag=direct conv=notrunc status=none || exit 1
	done
}

d1=$(part "${DISKS[0]}" 96)
d2=$(part "${DISKS[1]}" 32)
n1=${d1#/dev/}
n2=${d2#/dev/}
mm1=$(cat "/sys/class/block/$n1/dev")
mm2=$(cat "/sys/class/block/$n2/dev")
dd if=/dev/urandom of="$d1" bs=1M count=96 oflag=direct status=none || fail "fill $d1"
dd if=/dev/urandom of="$d2" bs=1M count=32 oflag=direct status=none || fail "fill $d2"

# By hand: d1 overflows the storage, d2 stays sound until written.
s2=$(shaof "$d2")
id=$(B snapshot-create --storage "$TEST_TMP" --limit 1M "$d1" "$d2")
B snapshot-take "$id"
img1=$(B snapshot-info "$d1" | sed -n 's/^image=//p')
img2=$(B snapshot-info "$d2" | sed -n 's/^image=//p')
[[ $img1 == "/dev/blksnap-image_$mm1" && $img2 == "/dev/blksnap-image_$mm2" ]] ||
	fail "image names: $img1 $img2"
dd if=/dev/urandom of="$d1" bs=1M count=4 oflag=direct status=none || fail "write $d1"
out=$(B snapshot-wait-event --timeout 10000 "$id")
grep -qx "device=$mm1" <<<"$out" || fail "event: $out"
grep -qx 'error=28 (No space left on device)' <<<"$out" || fail "event error: $out"
blksnap snapshot-wait-event --timeout 0 "$id" >"$TEST_TMP/out"
[[ $? == 4 ]] || fail "an event for $d2: $(cat "$TEST_TMP/out")"
B snapshot-info "$d1" | grep -q '^error=-28 ' || fail "snapshot-info $d1"
[[ $(B snapshot-info "$d2") == $'error=0\nimage='"$img2" ]] || fail "snapshot-info $d2"
[[ $(shaof "$img2") == "$s2" ]] || fail "image of $d2 differs from $d2 at take"
dd if="$img1" of=/dev/null bs=1M iflag=direct status=none 2>/dev/null &&
	fail "image of the failed $d1 still readable"
# Now d2 needs room too: its own event.
dd if=/dev/urandom of="$d2" bs=1M count=4 oflag=direct status=none || fail "write $d2"
out=$(B snapshot-wait-event --timeout 10000 "$id")
grep -qx "device=$mm2" <<<"$out" || fail "second event: $out"
grep -qx 'error=28 (No space left on device)' <<<"$out" || fail "second event error: $out"
B snapshot-info "$d2" | grep -q '^error=-28 ' || fail "snapshot-info $d2 after its overflow"
B snapshot-destroy "$id"
for d in "$d1" "$d2"; do
	[[ $(B snapshot-info "$d") == $'error=0\nimage=' ]] || fail "snapshot-info $d after destroy"
done

# Backups: a full one of both, then runs in which d1 is written with too
# little room for it, in both orders.
bk=$TEST_TMP/backup
mkdir "$bk"
B backup -q --storage "$TEST_TMP" "$bk" "$d1" "$d2"
seq2=1
for order in "$d1 $d2" "$d2 $d1"; do
	dd if=/dev/urandom of="$d2" bs=1M count=2 seek=$((RANDOM % 30)) oflag=direct \
		conv=notrunc status=none || fail "change $d2"
	s2=$(shaof "$d2")
	writer "$d1" &
	w=$!
	sleep 0.5
	# Full copies: d1's takes long enough for the writer to overflow
	# the storage first.
	# shellcheck disable=SC2086 # the two devices
	blksnap backup --json --storage "$TEST_TMP" --limit 2M "$bk" $order \
		>"$TEST_TMP/j" 2>"$TEST_TMP/err"
	rc=$?
	kill "$w"
	wait "$w" 2>/dev/null
	echo "backup $order: exit $rc"
	cat "$TEST_TMP/err"
	seq2=$((seq2 + 1))
	[[ $rc == 3 ]] || fail "$order: exit $rc, expected 3"
	grep -q "^blksnap: $d1: no backup: the snapshot failed: No space left on device (the difference storage overflowed" \
		"$TEST_TMP/err" || fail "$order: message"
	grep -qx "blksnap: 1 of 2 devices backed up; no backup of $d1" "$TEST_TMP/err" ||
		fail "$order: last line"
	grep -q "$d2: no backup" "$TEST_TMP/err" && fail "$order: $d2 failed"
	if ! grep -q '"failed": true' "$TEST_TMP/j" || ! grep -q '"errno": 28' "$TEST_TMP/j"; then
		fail "$order: JSON of $d1: $(cat "$TEST_TMP/j")"
	fi
	grep -q "\"metadata\": \"$bk/$n2.$(printf %06u $seq2).meta\"" "$TEST_TMP/j" ||
		fail "$order: JSON of $d2: $(cat "$TEST_TMP/j")"
	[[ $(find "$bk" -name "$n1.*" | wc -l) == 2 ]] || fail "$order: files of $d1: $(ls "$bk")"
	[[ $(tail -n1 "$bk/$n2.$(printf %06u $seq2).meta") == complete=1 ]] ||
		fail "$order: no complete backup of $d2: $(ls "$bk")"
	compgen -G "$bk/.*" >/dev/null && fail "$order: temporary files left: $(ls -a "$bk")"
	[[ -z $(B snapshot-collect) ]] || fail "$order: snapshot left behind"
	B restore -q --name "$n2" "$bk" "$TEST_TMP/r2"
	[[ $(shaof "$TEST_TMP/r2") == "$s2" ]] || fail "$order: restore of $d2 differs from it at take"
	rm -f "$TEST_TMP/r2"
done

# Both again, with room: d1 builds on its backup 1, d2 on its latest.
s1=$(shaof "$d1")
s2=$(shaof "$d2")
B backup --incremental --json --storage "$TEST_TMP" "$bk" "$d1" "$d2" >"$TEST_TMP/j"
grep -qx "base=1" "$bk/$n1.000002.meta" || fail "base of $d1's backup 2"
grep -qx "base=$seq2" "$bk/$n2.$(printf %06u $((seq2 + 1))).meta" || fail "base of $d2's latest backup"
B restore -q --name "$n1" "$bk" "$TEST_TMP/r1"
B restore -q --name "$n2" "$bk" "$TEST_TMP/r2"
[[ $(shaof "$TEST_TMP/r1") == "$s1" ]] || fail "restore of $d1 differs"
[[ $(shaof "$TEST_TMP/r2") == "$s2" ]] || fail "restore of $d2 differs"
out=$(B list "$bk")
grep -q ' bad$\| broken$' <<<"$out" && fail "list: $out"
for d in "$d1" "$d2"; do blksnap detach "$d"; done
unload_blksnap
