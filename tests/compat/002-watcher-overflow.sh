#!/bin/bash
# A v6 client's event watcher across an overflow of two devices: right
# after create the client's 100 ms wait gets ENOENT ("nothing yet"); a
# watcher polls WAIT_EVENT every second (ENOENT: poll again) while another
# process fills the storage, first through device A only, then through B.
# Each device fails on its own as it next needs space: after A failed, B's
# image still reads back as B was at take; then B fails too. The watcher
# sees exactly one event per failed device, each with the device's
# major:minor and the positive ENOSPC (28), and snapshotinfo gives each
# -28; after destroy the watcher's next wait returns ESRCH and it exits.
# Every write to the originals landed.
# needs: blksnap.ko, 2 disks
. "$TEST_BIN/testlib.sh"
need_disks 2
a=${DISKS[0]}
b=${DISKS[1]}
load_blksnap diff_storage_minimum=1024
MIB=8
limit=8192
for x in a b; do
	mkpattern "$TEST_TMP/$x.old" $((MIB * 1024))
	mkpattern "$TEST_TMP/$x.new" $((MIB * 1024))
done
bput "$TEST_TMP/a.old" "$a" 0 || fail "fill $a"
bput "$TEST_TMP/b.old" "$b" 0 || fail "fill $b"

id=$(snap create "$TEST_TMP/storage" "$limit") || fail "create"
# The v6 library's first call on a new session.
snapctl -e ENOENT wait "$id" 100 || fail "wait right after create: not ENOENT"
snap attach "$a"
snap attach "$b"
snap add "$a" "$id"
snap add "$b" "$id"
snap take "$id"
ia=$(snap_image "$a")
ib=$(snap_image "$b")
[[ $ia == "/dev/blksnap-image_$(majmin "$a")" ]] || fail "image of $a named $ia"
[[ $ib == "/dev/blksnap-image_$(majmin "$b")" ]] || fail "image of $b named $ib"
snapctl watch "$id" 1000 >"$TEST_TMP/watch" 2>&1 &
watcher=$!

# wait_failed DEV: the snapshot of DEV failed within 10 s.
wait_failed() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(snap_field "$1" error_code) == 0 ]] || return 0
		sleep 0.1
	done
	return 1
}

# Overflow through A alone: twice the limit of changes.
bput "$TEST_TMP/a.new" "$a" 0 || fail "write $a"
dd if="$TEST_TMP/a.new" of="$a" bs=1M seek=$MIB oflag=direct conv=notrunc status=none ||
	fail "write $a"
wait_failed "$a" || fail "$a did not fail with the storage full"
[[ $(snap_field "$a" error_code) == -28 ]] || fail "$a: error_code $(snap_field "$a" error_code)"
[[ $(snap_field "$b" error_code) == 0 ]] || fail "$b failed with $a: $(snap_field "$b" error_code)"
bsame "$TEST_TMP/b.old" "$ib" 0 || fail "image of $b after $a overflowed"
dd if="$ia" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null &&
	fail "image of the failed $a reads"
sleep 2
[[ $(grep -c '^event' "$TEST_TMP/watch") == 1 ]] || fail "events after A: $(cat "$TEST_TMP/watch")"

# Now B needs space and fails too.
bput "$TEST_TMP/b.new" "$b" 0 || fail "write $b"
wait_failed "$b" || fail "$b did not fail with the storage full"
[[ $(snap_field "$b" error_code) == -28 ]] || fail "$b: error_code $(snap_field "$b" error_code)"
sleep 2
snap destroy "$id"
wait_gone "$watcher" 10 || fail "the watcher did not end after destroy"
wait "$watcher" || fail "the watcher failed: $(cat "$TEST_TMP/watch")"
cat "$TEST_TMP/watch"
mapfile -t ev < <(grep '^event' "$TEST_TMP/watch")
((${#ev[@]} == 2)) || fail "${#ev[@]} events for 2 failed devices"
for x in "$a" "$b"; do
	[[ $(grep -c " dev=$(majmin "$x") err=28 " "$TEST_TMP/watch") == 1 ]] ||
		fail "not one ENOSPC event of $x"
done
grep -q '^event code=0 ' "$TEST_TMP/watch" || fail "event code"
polls=$(sed -n 's/^polls=//p' "$TEST_TMP/watch")
((polls >= 2)) || fail "the watcher polled $polls times"
[[ $(snap_field "$a" error_code) == 0 && -z $(snap_field "$a" image) ]] ||
	fail "snapshotinfo after destroy: $(snapctl info "$a")"
snapctl -e ESRCH wait "$id" 100 || fail "wait after destroy"

# Every write landed.
bsame "$TEST_TMP/a.new" "$a" 0 || fail "$a: writes lost"
bsame "$TEST_TMP/a.new" "$a" $((MIB * 1024)) || fail "$a: writes lost"
bsame "$TEST_TMP/b.new" "$b" 0 || fail "$b: writes lost"
blksnap_ok "$a" "$b"
snap detach "$a"
snap detach "$b"
unload_blksnap
