#!/bin/bash
# Every error of the blksnap filter's BLKFILTER_CTL commands
# (kernel/blksnap/blksnap.rst): optlen too small, bad pointers, cbtmap
# offsets at and past the end, cbtdirty with an empty range, a range past
# the end or wrapping, too many ranges (checked whole: nothing marked),
# snapshotadd with an unknown id, twice, to another snapshot, after take,
# with the snapshot's storage on the device, its disk or its partition;
# callers without CAP_SYS_ADMIN. The devices and the module work
# afterwards.
# needs: blksnap.ko, 3 disks, sfdisk, mkfs.ext4
. "$TEST_BIN/testlib.sh"
need_disks 3
need_cmd sfdisk mkfs.ext4
d=${DISKS[0]}
d2=${DISKS[1]}
d3=${DISKS[2]}
load_blksnap diff_storage_minimum=2048
s=$TEST_TMP/storage
mkpattern "$TEST_TMP/p" 1024
bput "$TEST_TMP/p" "$d" 0 || fail "write"

snap attach "$d"
cap=$(cbt "$d" capacity)
bc=$(cbt "$d" block_count)
bs=$(cbt "$d" block_size)
sectors=$((cap / 512))
id=$(snap create "$s" 65536) || fail "create"

# optlen smaller than the command's structure, and bad opt pointers.
for len in 0 4 8; do
	snapctl -L "$len" -e EINVAL cbtinfo "$d" || fail "cbtinfo optlen $len"
	snapctl -L "$len" -e EINVAL info "$d" || fail "snapshotinfo optlen $len"
	snapctl -L "$len" -e EINVAL cbtmap -1 -n 16 "$d" || fail "cbtmap optlen $len"
	snapctl -L "$len" -e EINVAL dirty "$d" 0:8 || fail "cbtdirty optlen $len"
	snapctl -L "$len" -e EINVAL add "$d" "$id" || fail "snapshotadd optlen $len"
done
snapctl -L 32 -e EINVAL cbtinfo "$d" || fail "cbtinfo optlen 32"
snapctl -L 35 -e EINVAL info "$d" || fail "snapshotinfo optlen 35"
snapctl -L 15 -e EINVAL add "$d" "$id" || fail "snapshotadd optlen 15"
snapctl -F -e EFAULT cbtinfo "$d" || fail "cbtinfo, bad pointer"
snapctl -F -e EFAULT info "$d" || fail "snapshotinfo, bad pointer"
snapctl -F -e EFAULT cbtmap -1 -n 16 "$d" || fail "cbtmap, bad pointer"
snapctl -F -e EFAULT dirty "$d" 0:8 || fail "cbtdirty, bad pointer"
snapctl -F -e EFAULT add "$d" "$id" || fail "snapshotadd, bad pointer"
[[ -z $(snap_field "$d" image) ]] || fail "added by a failed call"

# cbtmap: the end of the map.
[[ $(snap cbtmap -1 -o 0 -n 16 "$d") == copied=16 ]] || fail "cbtmap 16 bytes"
[[ $(snap cbtmap -1 -o $((bc - 10)) -n 4096 "$d") == copied=10 ]] || fail "cbtmap at the end"
[[ $(snap cbtmap -1 -o "$bc" -n 16 "$d") == copied=0 ]] || fail "cbtmap at block_count"
snapctl -e EINVAL cbtmap -1 -o $((bc + 1)) -n 16 "$d" || fail "cbtmap past the end"
snapctl -e EINVAL cbtmap -1 -o 0xffffffff -n 16 "$d" || fail "cbtmap offset 2^32-1"
snapctl -B -e EFAULT cbtmap -1 -o 0 -n 16 "$d" || fail "cbtmap into a bad buffer"

# cbtdirty: checked whole before anything is marked.
snapctl -e EINVAL dirty "$d" 0:0 || fail "cbtdirty, empty range"
snapctl -e EINVAL dirty "$d" "$sectors":8 || fail "cbtdirty at the end"
snapctl -e EINVAL dirty "$d" $((sectors - 8)):16 || fail "cbtdirty across the end"
snapctl -e EINVAL dirty "$d" 0xfffffffffffffff8:16 || fail "cbtdirty wrapping range"
snapctl -e EINVAL dirty "$d" 8:0xffffffffffffffff || fail "cbtdirty huge count"
snapctl -e EINVAL dirty -n 1048577 "$d" 0:8 || fail "cbtdirty 1048577 ranges"
snapctl -e EINVAL dirty -n 0xffffffff "$d" 0:8 || fail "cbtdirty 2^32-1 ranges"
snapctl -B -e EFAULT dirty "$d" 0:8 || fail "cbtdirty, bad array"
# cbtdirty marks the readable map with changes_number: take once first.
take=$(snap create "$s.t" 65536) || fail "create"
snap add "$d" "$take"
snap take "$take"
snap destroy "$take"
[[ -z $(snap cbtmap "$d") ]] || fail "map not empty after a take"
snapctl -e EINVAL dirty "$d" 0:8 "$((bs * 7 / 512))":8 "$sectors":8 ||
	fail "cbtdirty, valid ranges then a bad one"
snapctl -e EINVAL dirty "$d" 0:8 "$((bs * 7 / 512))":0 || fail "cbtdirty, valid then empty"
snap dirty -n 0 "$d" 0:8
[[ -z $(snap cbtmap "$d") ]] || fail "failed cbtdirty marked: $(snapctl cbtmap "$d")"
snap dirty "$d" $((sectors - 1)):1
[[ $(snap cbtmap "$d") == "$((bc - 1)) 1" ]] ||
	fail "cbtdirty of the last sector: $(snapctl cbtmap "$d")"

# snapshotadd.
snapctl -e ESRCH add "$d" "$(rand_id)" || fail "add, unknown id"
snapctl -e ENOENT add "$d2" "$id" || fail "add without the filter"
snap add "$d" "$id"
snapctl -e EALREADY add "$d" "$id" || fail "add twice"
id2=$(snap create "$s.2" 65536) || fail "create"
snapctl -e EBUSY add "$d" "$id2" || fail "add to another snapshot"
snap attach "$d2"
snap take "$id"
snapctl -e EBUSY add "$d2" "$id" || fail "add after take"
[[ -n $(snap_field "$d" image) ]] || fail "no image for $d"
[[ -z $(snap_field "$d2" image) ]] || fail "image for $d2, not added"
snapctl -e EBUSY add "$d" "$id2" || fail "add a taken device to another snapshot"
snap destroy "$id"
[[ -z $(snap_field "$d" image) ]] || fail "image name after destroy"
snap add "$d" "$id2"
snap destroy "$id2"
snap detach "$d2"

# The storage on the device: a file on a partition of $d2; a partition
# holding it as a block device; a whole disk holding it.
printf 'label: dos\nstart=2048, size=262144\nstart=266240, size=262144\n' |
	sfdisk -q "$d2" >/dev/null || fail "sfdisk"
blockdev --rereadpt "$d2" 2>/dev/null
p1=${d2}1
p2=${d2}2
[[ -b $p1 && -b $p2 ]] || fail "no partitions"
mkfs.ext4 -q -F "$p1" || fail "mkfs"
mkdir "$TEST_TMP/mnt"
mount "$p1" "$TEST_TMP/mnt" || fail "mount"
id=$(snap create "$TEST_TMP/mnt/storage" 65536) || fail "create"
snap attach "$p1"
snapctl -e EINVAL add "$p1" "$id" || fail "storage file on the device"
snap attach "$d2"
snapctl -e EINVAL add "$d2" "$id" || fail "storage file on a partition of the disk"
snap attach "$p2"
snap add "$p2" "$id"
snap destroy "$id"
umount "$TEST_TMP/mnt" || fail "umount"

# Callers without CAP_SYS_ADMIN.
id=$(snap create "$s.3" 65536) || fail "create"
snapctl -u -e EPERM cbtinfo "$d" || fail "unprivileged cbtinfo"
snapctl -u -e EPERM info "$d" || fail "unprivileged snapshotinfo"
snapctl -u -e EPERM cbtmap -1 -n 16 "$d" || fail "unprivileged cbtmap"
snapctl -u -e EPERM dirty "$d" 0:8 || fail "unprivileged cbtdirty"
snapctl -u -e EPERM add "$d" "$id" || fail "unprivileged snapshotadd"
snapctl -u -e EPERM detach "$d" || fail "unprivileged detach"
[[ $(snap cbtmap "$d" | wc -l) == 1 ]] || fail "map changed by unprivileged calls"
snap add "$d" "$id"
snap destroy "$id"

bsame "$TEST_TMP/p" "$d" 0 || fail "data changed"
blksnap_ok "$d" "$d3"

# Block devices as storage (opened with O_EXCL).
id=$(snap create "$p2" 65536) || fail "create with storage $p2"
snapctl -e EINVAL add "$p2" "$id" || fail "storage partition itself"
snapctl -e EINVAL add "$d2" "$id" || fail "disk of the storage partition"
snap add "$p1" "$id"
snap destroy "$id"
id=$(snap create "$d3" 65536) || fail "create with storage $d3"
snapctl -e EINVAL add "$d3" "$id" || fail "storage disk itself"
snap destroy "$id"
for dev in "$d" "$p1" "$p2" "$d2" "$d3"; do
	snap detach "$dev"
done
unload_blksnap
dd if=/dev/zero of="$d2" bs=1M count=1 oflag=direct status=none
blockdev --rereadpt "$d2" 2>/dev/null
true
