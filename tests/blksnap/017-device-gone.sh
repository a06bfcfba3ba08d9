#!/bin/bash
# Devices going away fail their part of a snapshot with -ENODEV: detaching
# the filter from a device of a taken snapshot, and removing a disk
# (null_blk) of a taken snapshot, each send one corrupted event with the
# device's major:minor and ENODEV (positive, as the v6 series sends it);
# the image's I/O then fails; destroy works; the snapshot's other device
# keeps a working image with its data at take and no error, as in the
# series. A snapshot whose device was detached before take
# fails to take with ENODEV. The storage disk removed under a taken
# snapshot fails it with -EIO (or -ENODEV), and the original's writes all
# land. The other devices and the module go on working.
# needs: blksnap.ko, 2 disks, null_blk with configfs
. "$TEST_BIN/testlib.sh"
need_disks 2
d=${DISKS[0]}
d2=${DISKS[1]}
load_blksnap diff_storage_minimum=2048
mkpattern "$TEST_TMP/p" 1024

# check_event ID DEV: the one corrupted event of ID is DEV's -ENODEV.
check_event() {
	local out
	out=$(snap wait "$1" 5000)
	grep -qx code=0 <<<"$out" || fail "event code: $out"
	grep -qx "dev=$2" <<<"$out" || fail "event device, expected $2: $out"
	grep -qx err=19 <<<"$out" || fail "event error, expected 19: $out"
	snapctl -e ENOENT wait "$1" 100 || fail "a second event"
}

# Detach after take: that device's part fails, the other's image works.
bput "$TEST_TMP/p" "$d" 0 || fail "write"
mkpattern "$TEST_TMP/p2" 1024
bput "$TEST_TMP/p2" "$d2" 0 || fail "write $d2"
id=$(snap_new "$TEST_TMP/s1" 65536 "$d" "$d2") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d")
img2=$(snap_image "$d2")
snap detach "$d"
check_event "$id" "$(majmin "$d")"
dd if="$img" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null &&
	fail "image read of a detached device succeeded"
snapctl -e ENOENT cbtinfo "$d" || fail "cbtinfo after detach"
bput "$TEST_TMP/p" "$d2" 0 || fail "write $d2"
# Only the detached device's part fails.
[[ $(snap_field "$d2" error_code) == 0 ]] || fail "$d2: error_code $(snap_field "$d2" error_code)"
bsame "$TEST_TMP/p2" "$img2" 0 || fail "image of $d2 after $d was detached"
bsame "$TEST_TMP/p" "$d2" 0 || fail "write to $d2 did not land"
bput "$TEST_TMP/p" "$d" 1024 || fail "write after detach"
bsame "$TEST_TMP/p" "$d" 1024 || fail "data after detach"
snap destroy "$id"
[[ ! -e $img && ! -e $img2 ]] || fail "images left after destroy"

# Detach before take.
snap attach "$d"
id=$(snap_new "$TEST_TMP/s2" 65536 "$d" "$d2") || fail "snap_new"
snap detach "$d"
# Checked at the end, so that the rest runs too.
late=
snapctl -e ENODEV take "$id" || late="take of a snapshot whose device was detached did not fail with ENODEV"
snap destroy "$id"

# A disk removed under a taken snapshot.
need_nullb
nb=/sys/kernel/config/nullb/snapgone
nd=$(nullb_new snapgone 64) || fail "no null_blk disk"
bput "$TEST_TMP/p" "$nd" 0 || fail "write $nd"
mm=$(majmin "$nd")
id=$(snap_new "$TEST_TMP/s3" 65536 "$nd" "$d2") || fail "snap_new"
snap take "$id"
img=$(snap_image "$nd")
exec 3<"$img"
bsame "$TEST_TMP/p" "$img" 0 || fail "image of $nd"
echo 0 >"$nb/power"
check_event "$id" "$mm"
n=$(dd bs=4k count=1 iflag=direct status=none <&3 2>/dev/null | wc -c)
((n == 0)) || fail "read $n bytes of the image of a removed disk"
exec 3<&-
# The other device goes on: copy-on-write of new writes, its image as at take.
bput "$TEST_TMP/p2" "$d2" 0 || fail "write $d2 after $nd was removed"
[[ $(snap_field "$d2" error_code) == 0 ]] || fail "$d2 failed with the removed disk"
bsame "$TEST_TMP/p" "$(snap_image "$d2")" 0 || fail "image of $d2 after $nd was removed"
snap destroy "$id"
rmdir "$nb"

# The storage disk removed under a taken snapshot: copy-on-write cannot
# store, the snapshot fails with -EIO or -ENODEV; the original's writes
# all land.
nd=$(nullb_new snapgone 64) || fail "no null_blk disk"
id=$(snap_new "$nd" 131072 "$d") || fail "snap_new with storage $nd"
snap take "$id"
img=$(snap_image "$d")
echo 0 >"$nb/power"
mkpattern "$TEST_TMP/q" 4096
bput "$TEST_TMP/q" "$d" 0 || fail "write with the storage gone"
bsame "$TEST_TMP/q" "$d" 0 || fail "data with the storage gone"
out=$(snap wait "$id" 5000) || fail "no event with the storage gone"
grep -qx "dev=$(majmin "$d")" <<<"$out" || fail "event device: $out"
dd if="$img" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null &&
	fail "image read succeeded with the storage gone"
# An I/O error (or the device gone), not "no space": more space would not
# help.
ec=$(snap_field "$d" error_code)
grep -qx "err=${ec#-}" <<<"$out" || fail "event error differs from error_code $ec: $out"
[[ $ec == -5 || $ec == -19 ]] ||
	late+="${late:+; }storage disk removed: error_code $ec, expected -EIO (-5) or -ENODEV (-19)"
snap destroy "$id"
rmdir "$nb"
rmmod null_blk 2>/dev/null
blksnap_ok "$d" "$d2"
snap detach "$d"
snap detach "$d2"
unload_blksnap
[[ -z $late ]] || fail "$late"
