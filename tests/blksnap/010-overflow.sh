#!/bin/bash
# Overflow: with a storage limit of 4 MiB grown in 512 KiB portions
# (diff_storage_minimum=1024), 8 MiB are overwritten after take. The
# storage file grows portion by portion up to the limit, never past it; the
# snapshot then fails: snapshotinfo error_code -ENOSPC, one corrupted event
# with the device's major:minor, ENOSPC (positive, as the v6 series sends
# it) and a CLOCK_MONOTONIC time, image reads and writes fail with EIO;
# every write to the original succeeded and landed. After destroy
# snapshotinfo says nothing (error_code 0, no image), as in the series; a
# new snapshot works. A 2 MiB loop device as storage overflows too.
# needs: blksnap.ko, 1 disk
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
portion=1024
limit=8192
load_blksnap diff_storage_minimum=$portion
s=$TEST_TMP/storage
MIB=8
mkpattern "$TEST_TMP/old" $((MIB * 1024))
mkpattern "$TEST_TMP/new" $((MIB * 1024))
bput "$TEST_TMP/old" "$d" 0 || fail "fill"
id=$(snap_new "$s" "$limit" "$d") || fail "snap_new"
sizes=("$(stat -c %s "$s")")
snap take "$id"
# A waiter already waiting gets the event.
snap wait "$id" 120000 >"$TEST_TMP/waiter" &
waiter=$!
img=$(snap_image "$d") || fail "snap_image"
sizes+=("$(stat -c %s "$s")")
overflow_at=
for ((m = 0; m < MIB * 2; m++)); do
	dd if="$TEST_TMP/new" of="$d" bs=512k skip=$m seek=$m count=1 \
		oflag=direct conv=notrunc status=none ||
		fail "write to the original failed at $((m * 512)) KiB"
	sizes+=("$(stat -c %s "$s")")
	if [[ -z $overflow_at && $(snap_field "$d" error_code) != 0 ]]; then
		overflow_at=$m
	fi
done
for _ in $(seq 50); do
	[[ $(snap_field "$d" error_code) == 0 ]] || break
	sleep 0.1
done
mapfile -t distinct < <(printf '%s\n' "${sizes[@]}" | uniq)
echo "storage sizes: ${distinct[*]}; failed after $((${overflow_at:-0} * 512)) KiB written"
[[ $(snap_field "$d" error_code) == -28 ]] || fail "error_code $(snap_field "$d" error_code), expected -28"
prev=0
for sz in "${sizes[@]}"; do
	((sz >= prev)) || fail "storage shrank: ${sizes[*]}"
	((sz <= limit * 512)) || fail "storage of $sz bytes, over the limit $((limit * 512))"
	((sz % (portion * 512) == 0 || sz == limit * 512)) ||
		fail "storage size $sz is no multiple of the portion"
	prev=$sz
done
((${#distinct[@]} >= 4)) || fail "the storage did not grow in portions: ${distinct[*]}"
((sizes[-1] >= limit * 512 - portion * 512)) || fail "overflow at ${sizes[-1]} bytes, limit $((limit * 512))"

wait_gone "$waiter" 10 || fail "the waiter got no event"
wait "$waiter" || fail "the waiter failed"
[[ $(grep -c . "$TEST_TMP/waiter") == 5 ]] || fail "waiter: $(cat "$TEST_TMP/waiter")"
grep -qx err=28 "$TEST_TMP/waiter" || fail "waiter: $(cat "$TEST_TMP/waiter")"
out=$(cat "$TEST_TMP/waiter")
echo "$out"
grep -qx code=0 <<<"$out" || fail "event code"
grep -qx "dev=$(majmin "$d")" <<<"$out" || fail "event device, expected $(majmin "$d")"
grep -qx err=28 <<<"$out" || fail "event error"
age=$(sed -n 's/^age_ms=//p' <<<"$out")
((age >= 0 && age < 600000)) || fail "event time $age ms ago: not CLOCK_MONOTONIC"
snapctl -e ENOENT wait "$id" 0 || fail "a second event"
snapctl -e ENOENT wait "$id" 200 || fail "a second event"

dd if="$img" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null &&
	fail "image read succeeded after overflow"
dd if="$img" of=/dev/null bs=4k count=1 skip=$((1 << 18)) iflag=direct status=none 2>/dev/null &&
	fail "image read of an untouched chunk succeeded after overflow"
dd if=/dev/zero of="$img" bs=4k count=1 oflag=direct conv=notrunc status=none 2>/dev/null &&
	fail "image write succeeded after overflow"
bsame "$TEST_TMP/new" "$d" 0 || fail "original: not every write landed"
# The device still works under the failed snapshot.
bput "$TEST_TMP/old" "$d" 0 || fail "write after overflow"
bsame "$TEST_TMP/old" "$d" 0 || fail "data after overflow"
snapctl -e EALREADY,ENOSPC take "$id" || fail "take of a failed snapshot"
snap destroy "$id"
[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code after destroy $(snap_field "$d" error_code)"
[[ -z $(snap_field "$d" image) ]] || fail "image after destroy"
(($(stat -c %s "$s") <= limit * 512)) || fail "storage over the limit after destroy"

id=$(snap_new "$s.2" 65536 "$d") || fail "snap_new"
[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code of a new snapshot"
snap take "$id"
bsame "$TEST_TMP/old" "$(snap_image "$d")" 0 || fail "image of the new snapshot"
snap destroy "$id"

# A block device storage overflows too: a 2 MiB loop device.
modprobe loop 2>/dev/null
truncate -s 2M "$TEST_TMP/loopfile"
loop=$(losetup -f --show "$TEST_TMP/loopfile") || fail "losetup"
id=$(snap_new "$loop" 1048576 "$d") || fail "snap_new with storage $loop"
snap take "$id"
bput "$TEST_TMP/old" "$d" 0 || fail "write under a loop storage"
bsame "$TEST_TMP/old" "$d" 0 || fail "data under a loop storage"
for _ in $(seq 50); do
	[[ $(snap_field "$d" error_code) == 0 ]] || break
	sleep 0.1
done
[[ $(snap_field "$d" error_code) == -28 ]] ||
	fail "loop storage: error_code $(snap_field "$d" error_code), expected -28"
snap destroy "$id"
losetup -d "$loop"
snap detach "$d"
unload_blksnap
