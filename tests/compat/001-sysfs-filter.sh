#!/bin/bash
# The sysfs file "filter" is on every disk and partition while blkfilter.ko
# is loaded, as the in-tree series has it: an empty line without a filter,
# the filter's name with one. Devices there before the load have it, and
# so do those that appear after: partitions of a table written and read
# again, a null_blk disk, a snapshot image. Attaching blksnap names it,
# detaching empties it again. A deleted partition and a removed disk leave
# no directory behind and nothing in the kernel log; once the module is
# unloaded no "filter" file is left anywhere. Then blkfilter is loaded and
# unloaded ten times while a partition table is written and wiped in a
# loop: afterwards every device has the file after a load, none after the
# unload. Where filters are built in (the in-tree series) every device has
# the file from the start and keeps it; the parts about loading and
# unloading blkfilter.ko are left out there.
# needs: blksnap.ko, 1 disk, sfdisk, null_blk with configfs
. "$TEST_BIN/testlib.sh"
need_disks 1
need_blksnap
need_cmd sfdisk
# Built into the kernel (the in-tree series), the attribute is the block
# layer's own: there before any module, and never taken off; what comes
# and goes with blkfilter.ko is checked only out of tree.
builtin=0
blkfilter_builtin && builtin=1
d=${DISKS[0]}
need_nullb
nb=/sys/kernel/config/nullb/compat1

# filter_files: the "filter" files of all disks and partitions.
filter_files() {
	compgen -G '/sys/class/block/*/filter'
	compgen -G '/sys/block/*/filter'
	compgen -G '/sys/block/*/*/filter'
	return 0
}

churn=
# stop_churn: end the loop below and wait for it, and so for the command
# it was running, which may hold the disk open.
stop_churn() {
	[[ -n $churn ]] || return 0
	touch "$TEST_TMP/stop"
	wait "$churn" 2>/dev/null
	churn=
}

cleanup() {
	stop_churn
	cleanup_blksnap
	if [[ -d $nb ]]; then
		echo 0 >"$nb/power"
		rmdir "$nb"
	fi
	rmmod null_blk 2>/dev/null
	unpart
}

left=$(filter_files)
((builtin)) || [[ -z $left ]] || fail "filter files before blkfilter is loaded: $left"
mark="compat/001 ($$): loading the modules"
echo "<6>$mark" >/dev/kmsg
load_blksnap diff_storage_minimum=2048
trap cleanup EXIT

# Every disk and partition there before the load.
n=0
for b in /sys/class/block/*; do
	expect_filter "${b##*/}" ""
	n=$((n + 1))
done
((n)) || fail "no block devices"
echo "the $n devices there before the load have the file"

# Partitions that appear after the load.
printf 'label: dos\nstart=2048, size=65536\nstart=67584, size=65536\n' |
	sfdisk -q "$d" >/dev/null || fail "sfdisk"
blockdev --rereadpt "$d" || fail "re-read the partition table"
p1=${d}1
p2=${d}2
[[ -b $p1 && -b $p2 ]] || fail "no partitions"
expect_filter "$p1" ""
expect_filter "$p2" ""

# A disk that appears after the load.
nd=$(nullb_new compat1 64) || fail "no null_blk disk"
expect_filter "$nd" ""

# Attached: the name, on that device only; detached: empty again.
snap attach "$p1"
expect_filter "$p1" blksnap
expect_filter "$d" ""
expect_filter "$p2" ""
snap attach "$nd"
expect_filter "$nd" blksnap
snap detach "$p1"
expect_filter "$p1" ""
expect_filter "$nd" blksnap

# A disk that blksnap adds: the image of a snapshot.
id=$(snap_new "$TEST_TMP/storage" 65536 "$nd") || fail "snap_new"
snap take "$id"
img=$(snap_image "$nd") || fail "snap_image"
expect_filter "$img" ""
snap destroy "$id"
[[ -e $(sysfs_dev "$img") ]] && fail "$img still in sysfs after destroy"
snap detach "$nd"
expect_filter "$nd" ""

# A partition deleted, a disk removed: their directories go.
printf 'label: dos\n%s : start=67584, size=65536\n' "$p2" |
	sfdisk -q "$d" >/dev/null || fail "rewrite the partition table"
blockdev --rereadpt "$d" || fail "re-read the partition table"
[[ -e /sys/class/block/${p1#/dev/} || -e /sys/block/${d#/dev/}/${p1#/dev/} ]] &&
	fail "$p1 still in sysfs after its deletion"
expect_filter "$p2" ""
nbdir=/sys/class/block/${nd#/dev/}
echo 0 >"$nb/power"
rmdir "$nb" || fail "rmdir $nb"
[[ -e $nbdir ]] && fail "$nd still in sysfs after its removal"
rmmod null_blk 2>/dev/null

if ((builtin)); then
	unload_blksnap
	for b in /sys/class/block/*; do
		expect_filter "${b##*/}" ""
	done
	echo "filters built in: the file stays on every device"
	exit 0
fi

# Unloaded: no file left.
unload_blksnap
left=$(filter_files)
[[ -z $left ]] || fail "filter files after blkfilter was unloaded: $left"

# Loads and unloads while partitions come and go: the module's walk of
# the devices at load and unload meets devices being added and deleted.
# Checked once the partitions stand still.
(
	n=0
	while [[ ! -e $TEST_TMP/stop ]]; do
		printf 'label: dos\nstart=2048, size=8192\nstart=10240, size=8192\n' |
			sfdisk -q "$d" >/dev/null 2>&1
		blockdev --rereadpt "$d" 2>/dev/null
		wipefs -qa "$d" >/dev/null 2>&1
		blockdev --rereadpt "$d" 2>/dev/null
		n=$((n + 1))
		echo "$n" >"$TEST_TMP/churned"
	done
) &
churn=$!
for _ in $(seq 10); do
	insmod "$TEST_MODULES/blkfilter.ko" || fail "insmod blkfilter under partition changes"
	# A partition's deletion holds the module while it passes through
	# blkfilter's hook: "in use" for that long (seen on 6.1-rt).
	for ((i = 0; i < 100; i++)); do
		rmmod blkfilter 2>/dev/null && break
		sleep 0.1
	done
	((i < 100)) || fail "rmmod blkfilter under partition changes: in use for 10 s"
done
stop_churn
echo "$(cat "$TEST_TMP/churned" 2>/dev/null) partition tables written and wiped during the loads"
printf 'label: dos\nstart=2048, size=8192\n' | sfdisk -q "$d" >/dev/null ||
	fail "sfdisk after the changes"
blockdev --rereadpt "$d" || fail "re-read the partition table"
insmod "$TEST_MODULES/blkfilter.ko" || fail "insmod blkfilter"
for b in /sys/class/block/*; do
	expect_filter "${b##*/}" ""
done
expect_filter "$p1" ""
rmmod blkfilter || fail "rmmod blkfilter"
left=$(filter_files)
[[ -z $left ]] || fail "filter files after blkfilter was unloaded: $left"

# Nothing about sysfs files in the kernel log since the load.
log=$(dmesg | sed -n "\|$mark|,\$p" | tail -n +2 | grep -E 'filter attribute|sysfs|kernfs')
[[ -z $log ]] || fail "kernel log: $log"
