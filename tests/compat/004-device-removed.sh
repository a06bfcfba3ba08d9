#!/bin/bash
# A multi-device backup survives the loss of one original, as with the v6
# series: a snapshot of a null_blk disk and a virtio disk; after take the
# null_blk disk is removed while the virtio disk is written all over the
# region a backup reads. Only the removed disk's image fails (one event:
# its major:minor, ENODEV 19, seen by a v6 watcher; its snapshotinfo gone
# with it); the other image reads back equal to its device at take, twice,
# and snapshotinfo reports no error for it. Destroy ends the watcher.
# needs: blksnap.ko, 1 disk, null_blk with configfs
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_blksnap diff_storage_minimum=16384
need_nullb
nb=/sys/kernel/config/nullb/compat4
nd=$(nullb_new compat4 64) || fail "no null_blk disk"
mm=$(majmin "$nd")
MIB=16
mkpattern "$TEST_TMP/take" $((MIB * 1024))
mkpattern "$TEST_TMP/after" $((MIB * 1024))
bput "$TEST_TMP/take" "$d" 0 || fail "fill $d"
bput "$TEST_TMP/take" "$nd" 0 || fail "fill $nd"

id=$(snap_new "$TEST_TMP/storage" 1048576 "$nd" "$d") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d")
snapctl watch "$id" 1000 >"$TEST_TMP/watch" 2>&1 &
watcher=$!
bsame "$TEST_TMP/take" "$(snap_image "$nd")" 0 || fail "image of $nd before removal"
echo 0 >"$nb/power"
# Copy-on-write of the remaining device, all over the region, meanwhile.
bput "$TEST_TMP/after" "$d" 0 || fail "write $d after the removal"
for _ in $(seq 50); do
	grep -q '^event' "$TEST_TMP/watch" && break
	sleep 0.1
done
[[ $(snap_field "$d" error_code) == 0 ]] || fail "$d failed: $(snap_field "$d" error_code)"
bsame "$TEST_TMP/take" "$img" 0 || fail "image of $d after $nd was removed"
bsame "$TEST_TMP/take" "$img" 0 || fail "image of $d, second read"
bsame "$TEST_TMP/after" "$d" 0 || fail "$d: writes lost"
snap destroy "$id"
wait_gone "$watcher" 10 || fail "the watcher did not end after destroy"
wait "$watcher" || fail "the watcher failed: $(cat "$TEST_TMP/watch")"
cat "$TEST_TMP/watch"
[[ $(grep -c '^event' "$TEST_TMP/watch") == 1 ]] || fail "not one event"
grep -q "^event code=0 dev=$mm err=19 " "$TEST_TMP/watch" || fail "not ENODEV of $mm"
rmdir "$nb"
rmmod null_blk 2>/dev/null
blksnap_ok "$d"
snap detach "$d"
unload_blksnap
