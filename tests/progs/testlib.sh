# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for the tests that run in the guest; sourced, never run.
# A test exits 0 on pass, 77 on skip (after printing why), else fail.

set -u

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "skip: $*"
	exit 77
}

# TEST_SCALE: 1, or how many times slower than a stock kernel the kernel
# under test runs (3 on the debug kernel). Tests whose workload is large
# for the sake of volume divide it by this; what they check stays the same.
TEST_SCALE=${TEST_SCALE:-1}

# need_disks N: sets DISKS=(first N spare disks) or skips.
need_disks() {
	read -r -a DISKS <<<"${TEST_DISKS:-}"
	((${#DISKS[@]} >= $1)) || skip "needs $1 disks, have ${#DISKS[@]}"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "needs $c"
	done
}

# blkfilter_builtin: the kernel has block device filters built in (the
# in-tree series, as the debug kernel has it): there is no blkfilter.ko to
# load or unload, and no hook.
blkfilter_builtin() {
	grep -q ' blkfilter_register$' /proc/kallsyms
}

# need_blkfilter_module WHY: skip where filters are built into the kernel.
need_blkfilter_module() {
	! blkfilter_builtin || skip "block device filters are built into this kernel (the in-tree series): $*"
}

# load_blkfilter, unload_blkfilter: the module, where there is one.
load_blkfilter() {
	blkfilter_builtin || insmod "$TEST_MODULES/blkfilter.ko" || fail "insmod blkfilter"
}
unload_blkfilter() {
	blkfilter_builtin || rmmod blkfilter || fail "rmmod blkfilter"
}

# cleanup_filters: after a failed test, detach bftest wherever it is
# attached and unload, so that the next test starts clean.
cleanup_filters() {
	local f dev
	[[ -d /sys/module/bftest ]] || return 0
	for f in /sys/block/*/filter /sys/block/*/*/filter; do
		[[ -r $f ]] || continue
		case $(cat "$f") in
		bftest | bftest-alt) ;;
		*) continue ;;
		esac
		dev=${f%/filter}
		dev=/dev/${dev##*/}
		bfctl detach "$dev" "$(cat "$f")" 2>/dev/null
	done
	rmmod bftest 2>/dev/null
	rmmod blkfilter 2>/dev/null
	return 0
}

# load_filters: blkfilter and the bftest filter, unloaded at exit.
load_filters() {
	trap cleanup_filters EXIT
	load_blkfilter
	insmod "$TEST_MODULES/bftest.ko" || fail "insmod bftest"
}

unload_filters() {
	rmmod bftest || fail "rmmod bftest"
	unload_blkfilter
}

# bf ARGS: bfctl that must succeed.
bf() {
	bfctl "$@" || fail "bfctl $*"
}

# bfstat DEV KEY: one counter of the bftest filter on DEV.
bfstat() {
	local v
	v=$(bfctl stats "$1" | sed -n "s/^$2=//p")
	[[ -n $v ]] || fail "no counter $2 on $1"
	echo "$v"
}

# expect_stat DEV KEY VALUE
expect_stat() {
	local v
	v=$(bfstat "$1" "$2")
	[[ $v == "$3" ]] || fail "$1: $2 is $v, expected $3"
}

attached_count() {
	cat /sys/module/bftest/parameters/attached
}

# ftrace_hooked FUNCTION: 0 if ftrace calls something at FUNCTION's entry
# (blkfilter's hooks, a tracer), 1 if not, 2 without tracefs'
# enabled_functions (mounted here if need be).
ftrace_hooked() {
	local tr=/sys/kernel/tracing
	[[ -e $tr/enabled_functions ]] || mount -t tracefs nodev "$tr" 2>/dev/null
	[[ -r $tr/enabled_functions ]] || return 2
	grep -q "^$1 " "$tr/enabled_functions"
}

# mkpattern FILE KIB: a file of random data.
mkpattern() {
	head -c "$(($2 * 1024))" /dev/urandom >"$1" || fail "mkpattern $1"
}

# put FILE DEV OFFSET_KIB: write FILE to DEV at OFFSET with direct I/O.
put() {
	dd if="$1" of="$2" bs=4k seek="$(($3 / 4))" oflag=direct conv=notrunc \
		status=none
}

# same FILE DEV OFFSET_KIB: true if DEV holds FILE at OFFSET.
same() {
	local n
	n=$(($(wc -c <"$1") / 4096))
	dd if="$2" bs=4k skip="$(($3 / 4))" count="$n" iflag=direct status=none |
		cmp -s - "$1"
}

# randwrite DEV OFFSET_MIB KIB: random data at OFFSET, direct I/O.
randwrite() {
	dd if=/dev/urandom of="$1" bs=4k seek=$(($2 * 256)) count=$(($3 / 4)) \
		oflag=direct conv=notrunc status=none || fail "write $1 at $2 MiB"
}

# json_val KEY: the first value of KEY in the JSON on stdin (a string
# without its quotes, a number, true or false).
json_val() {
	sed -n "s/.*\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n1
}

# backup_env: the blksnap tool's backups in $bk, its difference storage
# in TEST_TMP, its tracking state files in $BLKSNAP_STATE_DIR; a failed
# tool command fails the test (B ARGS).
backup_env() {
	export BLKSNAP_STATE_DIR=$TEST_TMP/state BLKSNAP_STORAGE=$TEST_TMP
	bk=$TEST_TMP/backup
	mkdir -p "$BLKSNAP_STATE_DIR" "$bk" || fail "mkdir"
}
B() { blksnap "$@" || fail "blksnap $*"; }

# incremental_exact DEV MIB: an incremental backup of DEV into $bk that
# reads exactly MIB MiB (the blocks written since the previous backup), and
# whose chain, restored to a file, equals DEV block for block.
incremental_exact() {
	local read_bytes
	B backup --incremental --json "$bk" "$1" >"$TEST_TMP/j" 2>"$TEST_TMP/err"
	cat "$TEST_TMP/j" "$TEST_TMP/err"
	[[ $(json_val type <"$TEST_TMP/j") == incremental ]] || fail "not incremental"
	read_bytes=$(json_val bytes_read <"$TEST_TMP/j")
	echo "incremental: $read_bytes bytes read for $2 MiB written"
	((read_bytes == $2 << 20)) || fail "read $read_bytes bytes, written $2 MiB"
	restored_equals "$1"
}

# restored_equals DEV: DEV's latest backup in $bk, restored to a file,
# equals DEV block for block.
restored_equals() {
	local n=${1#/dev/}
	B restore -q --name "${n//\//-}" "$bk" "$TEST_TMP/r"
	cmp "$TEST_TMP/r" "$1" || fail "restored chain differs from $1"
	rm "$TEST_TMP/r"
}

# backup_full_because DEV REASON: backup --incremental of DEV into $bk
# makes a full copy whose note on standard error gives REASON (a grep
# pattern), and the chain restored to a file equals DEV block for block.
backup_full_because() {
	B backup --incremental --json "$bk" "$1" >"$TEST_TMP/j" 2>"$TEST_TMP/err"
	cat "$TEST_TMP/err"
	[[ $(json_val type <"$TEST_TMP/j") == full ]] || fail "$1: not a full copy ($2)"
	grep -q "full copy: the change tracker was reset.*$2" "$TEST_TMP/err" ||
		fail "$1: the full copy does not say '$2'"
	restored_equals "$1"
}

# ---- tests across boots -----------------------------------------------
# A test with a "# boots: MAX" line runs again in each boot of a series on
# the same disks, BOOT_NUMBER telling which (tests/vm/run.sh, init).

# boot_again: end this boot with a clean shutdown (the EXIT traps run,
# the guest syncs and powers off); the next boot runs the test again.
boot_again() {
	echo "boot $BOOT_NUMBER ends: clean shutdown, then boot $((BOOT_NUMBER + 1))"
	exit 78
}

# crash_in MS: the guest is reset MS milliseconds from now, with no sync
# (sysrq-b), and the next boot runs the test again.  The writes the guest's
# disks completed stay (they are in the host's cache), those in flight may
# be lost or partly done, the guest's page cache is lost.  The test goes
# on meanwhile and must not end first: its exit status would count.
crash_in() {
	[[ -p ${TEST_BOOT_CTL:-} ]] || fail "no crash control (run by tests/vm/init?)"
	echo "boot $BOOT_NUMBER ends in $1 ms: a reset with no sync, then boot $((BOOT_NUMBER + 1))"
	echo "crash $1" >"$TEST_BOOT_CTL" || fail "crash request"
}

# keep_env DEV: for the tests of blksnap track across boots (after
# load_blksnap): the ext4 on DEV that the boots share, at S=/mnt/keep (the
# same path in every boot: the configuration names it), made in the first
# boot, mounted as it is in the others (its journal replayed after a
# crash), unmounted at exit; on it the tool's state-dir and storage, the
# backups ($bk) and the configuration ($conf).
keep_env() {
	S=/mnt/keep
	mkdir -p "$S" || fail "mkdir $S"
	((BOOT_NUMBER > 1)) || mkfs.ext4 -q -F "$1" || fail "mkfs.ext4 $1"
	mount "$1" "$S" || fail "mount $1 in boot $BOOT_NUMBER"
	trap 'cd /; umount "$S" 2>/dev/null; cleanup_blksnap' EXIT
	export BLKSNAP_STATE_DIR=$S/state BLKSNAP_STORAGE=$S
	bk=$S/backup
	conf=$S/tracking.conf
}

# need_nullb: null_blk with configfs, or skip.
need_nullb() {
	modprobe null_blk nr_devices=0 2>/dev/null || skip "no null_blk"
	[[ -d /sys/kernel/config/nullb ]] || skip "null_blk has no configfs"
}

# nullb_new NAME MIB: a memory-backed null_blk disk of MIB MiB made through
# configfs (/sys/kernel/config/nullb/NAME) and powered on; prints its
# device, named after NAME on newer kernels, nullbN on older ones.
nullb_new() {
	local nb=/sys/kernel/config/nullb/$1 dev=/dev/$1
	mkdir "$nb" || fail "mkdir $nb"
	echo "$2" >"$nb/size"
	echo 1 >"$nb/memory_backed"
	echo 1 >"$nb/power"
	[[ -b $dev ]] || dev=/dev/nullb$(cat "$nb/index")
	[[ -b $dev ]] || fail "no device for $nb"
	echo "$dev"
}

# ---- blksnap ------------------------------------------------------------
# The module is loaded by load_blksnap, which also arranges that whatever a
# test leaves (background jobs, mounted images, snapshots, attached
# filters) is undone at exit, so the next test of the boot starts clean.

need_blksnap() {
	[[ -f $TEST_MODULES/blksnap.ko ]] || skip "no blksnap.ko built"
	blkfilter_builtin || [[ -f $TEST_MODULES/blkfilter.ko ]] || skip "no blkfilter.ko built"
}

# blksnap_devices: the devices with the blksnap filter attached.
blksnap_devices() {
	local f dev
	for f in /sys/block/*/filter /sys/block/*/*/filter; do
		[[ -r $f && $(cat "$f" 2>/dev/null) == blksnap ]] || continue
		dev=${f%/filter}
		echo "/dev/${dev##*/}"
	done
}

cleanup_blksnap() {
	local p id dev mnt
	echo "($SECONDS s)"
	for p in $(jobs -p); do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	while read -r dev mnt _; do
		[[ $dev == /dev/blksnap-image* ]] && umount "$mnt" 2>/dev/null
		# A test that failed with a file system frozen would leave its
		# device unusable for the next tests.
		[[ $mnt == "${TEST_TMP:-/nonexistent}"/* ]] && fsfreeze -u "$mnt" 2>/dev/null
	done </proc/mounts
	# What a writer to a vanished image may have created in devtmpfs.
	for dev in /dev/blksnap-image*; do
		[[ -e $dev && ! -b $dev ]] && rm -f "$dev"
	done
	[[ -d /sys/module/blksnap ]] || { rmmod blkfilter 2>/dev/null; return 0; }
	for id in $(snapctl collect 2>/dev/null); do
		snapctl destroy "$id" 2>/dev/null
	done
	for dev in $(blksnap_devices); do
		snapctl detach "$dev" 2>/dev/null
	done
	rmmod blksnap 2>/dev/null
	rmmod blkfilter 2>/dev/null
	return 0
}

# load_blksnap [PARAM=VALUE...]: blkfilter and blksnap with these module
# parameters; everything undone at exit.
load_blksnap() {
	need_blksnap
	trap cleanup_blksnap EXIT
	load_blkfilter
	insmod "$TEST_MODULES/blksnap.ko" "$@" || fail "insmod blksnap $*"
	[[ -c /dev/blksnap-control ]] || fail "no /dev/blksnap-control"
}

# unload_blksnap: must succeed (nothing left attached or created).
unload_blksnap() {
	rmmod blksnap || fail "rmmod blksnap"
	unload_blkfilter
}

# snap ARGS: snapctl that must succeed.
snap() {
	snapctl "$@" || fail "snapctl $*"
}

# snap_new STORAGE LIMIT_SECTORS DEV...: create a snapshot with this
# storage, attach the filter to each DEV where needed and add it; prints
# the id.
snap_new() {
	local storage=$1 limit=$2 id dev
	shift 2
	id=$(snapctl create "$storage" "$limit") || fail "create $storage $limit"
	for dev in "$@"; do
		[[ $(cat "$(sysfs_dev "$dev")/filter" 2>/dev/null) == blksnap ]] ||
			snap attach "$dev"
		snap add "$dev" "$id"
	done
	echo "$id"
}

# sysfs_dev DEV: the sysfs directory of a disk or partition.
sysfs_dev() {
	local n=${1#/dev/}
	if [[ -d /sys/block/$n ]]; then
		echo "/sys/block/$n"
	else
		echo "/sys/class/block/$n"
	fi
}

# expect_filter DEV NAME: the sysfs file "filter" of a disk or partition
# exists and reads NAME and a newline (NAME empty: no filter attached).
expect_filter() {
	local f v
	f=$(sysfs_dev "$1")/filter
	[[ -f $f ]] || fail "$1: no $f"
	v=$(cat "$f" && echo .) || fail "$1: cannot read $f"
	[[ $v == "$2"$'\n.' ]] || fail "$1: $f reads '${v%.}', expected '$2'"
}

# blkstat DEV FIELD...: these fields (0-based) of the disk's I/O statistics
# (Documentation/block/stat.rst: 0 reads, 2 sectors read, 4 writes,
# 6 sectors written, 8 in flight), space-separated.
blkstat() {
	local -a blkstat_f blkstat_v=()
	local i
	read -r -a blkstat_f <"$(sysfs_dev "$1")/stat"
	shift
	for i in "$@"; do
		blkstat_v+=("${blkstat_f[$i]}")
	done
	echo "${blkstat_v[*]}"
}

# snap_field DEV KEY: a key of "snapctl info DEV" (error_code, image).
snap_field() {
	local out
	out=$(snapctl info "$1") || fail "info $1"
	sed -n "s/^$2=//p" <<<"$out"
}

# snap_image DEV: the image device of DEV, from snapshotinfo.
snap_image() {
	local name
	name=$(snap_field "$1" image)
	[[ -n $name ]] || fail "$1 has no image"
	if [[ ! -b /dev/$name ]]; then
		ls -ld /dev/blksnap* /sys/block/blksnap* >&2
		fail "no block device /dev/$name"
	fi
	echo "/dev/$name"
}

# fio_file PATH: PATH as fio's --filename wants it.  fio reads a ':' as
# the end of one file's name and the start of another's, and image names
# have one (blksnap-image_MAJOR:MINOR): unescaped, fio would create and
# use regular files "blksnap-image_254" and "0" instead of the image.
fio_file() {
	echo "${1//:/\\:}"
}

# cbt DEV KEY: a key of "snapctl cbtinfo DEV".
cbt() {
	local out
	out=$(snapctl cbtinfo "$1") || fail "cbtinfo $1"
	sed -n "s/^$2=//p" <<<"$out"
}

# devsize DEV: size in bytes.
devsize() {
	snapctl size "$1" || fail "size of $1"
}

# majmin DEV: MAJOR:MINOR of a block device.
majmin() {
	cat "$(sysfs_dev "$1")/dev"
}

# sha_of DEV OFFSET_KIB KIB: sha256 of a range, read with direct I/O.
sha_of() {
	dd if="$1" bs=4k skip="$(($2 / 4))" count="$(($3 / 4))" iflag=direct \
		status=none | sha256sum | cut -d' ' -f1
}

# blksnap_ok DEV...: the module still works after whatever came before: a
# snapshot of DEV taken, its image read, destroyed.
blksnap_ok() {
	local id dev img
	id=$(snap_new "$TEST_TMP/ok-storage" 65536 "$@") || fail "snap_new"
	snap take "$id"
	for dev in "$@"; do
		img=$(snap_image "$dev") || fail "snap_image"
		cmp -s -n 1048576 "$dev" "$img" || fail "image of $dev differs"
	done
	snap destroy "$id"
	rm -f "$TEST_TMP/ok-storage"
}

# bput FILE DEV OFFSET_KIB, bsame FILE DEV OFFSET_KIB: as put and same, with
# direct I/O of up to 1 MiB (image I/O goes through a work item per bio:
# 4 KiB at a time is slow under emulation).
bput() {
	dd if="$1" of="$2" bs=1M seek="$(($3 * 1024))" oflag=direct,seek_bytes \
		conv=notrunc status=none
}
bsame() {
	dd if="$2" bs=1M skip="$(($3 * 1024))" count="$(wc -c <"$1")" \
		iflag=direct,skip_bytes,count_bytes status=none | cmp -s - "$1"
}

# rand_id: a random snapshot id (32 hex digits), unknown to the module.
rand_id() {
	od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# now_ms: milliseconds of CLOCK_REALTIME.
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# wait_gone PID SECONDS: true if PID ended within SECONDS.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# wait_open PATH SECONDS COMM: true once a process named COMM has PATH
# open, within SECONDS.
wait_open() {
	local end=$((SECONDS + $2)) f p comm
	while ((SECONDS < end)); do
		for p in /proc/[0-9]*; do
			{ comm=$(<"$p/comm"); } 2>/dev/null || continue
			[[ $comm == "$3" ]] || continue
			for f in "$p"/fd/*; do
				[[ $(readlink "$f" 2>/dev/null) == "$1" ]] && return 0
			done
		done
		sleep 0.2
	done
	return 1
}

# fs_snapshot_check DEV "MKFS CMD" "FSCK CMD" REPLAY [MOUNT OPTION...]: a
# file system on DEV, snapshotted while mounted and written to: the image
# passes fsck, mounts, holds the files of before take with their checksums
# and none of after; files written to the mounted image stay there and never
# reach the original, which stays clean. REPLAY 1: mount and unmount the
# image before fsck, for file systems whose freeze leaves a log to replay
# (XFS: a copy of a frozen XFS fails xfs_repair -n without it, as with
# fsfreeze and dd). Needs load_blksnap first.
fs_snapshot_check() {
	local d=$1 mkfs fsck replay=$4 opts img i id busy
	read -r -a mkfs <<<"$2"
	read -r -a fsck <<<"$3"
	shift 4
	opts=("$@")
	mkdir -p "$TEST_TMP/orig" "$TEST_TMP/snap"
	"${mkfs[@]}" "$d" >/dev/null || fail "mkfs"
	mount "$d" "$TEST_TMP/orig" || fail "mount"
	cd "$TEST_TMP/orig" || fail "cd"
	for i in $(seq 1 20); do
		head -c $((RANDOM * 32 + i)) /dev/urandom >"f$i" || fail "write f$i"
	done
	mkdir dir
	head -c $((8 << 20)) /dev/urandom >dir/big || fail "write big"
	sha256sum f* dir/big >"$TEST_TMP/before.sum"
	cd / || fail "cd"
	# A writer busy during take: the freeze must let it through after.
	(
		i=0
		while :; do
			head -c 65536 /dev/urandom >"$TEST_TMP/orig/busy.$((i % 4))" || exit 1
			i=$((i + 1))
		done
	) &
	busy=$!
	sleep 0.5
	id=$(snap_new "$TEST_TMP/storage" 524288 "$d") || fail "snap_new"
	snap take "$id"
	sleep 0.5
	kill "$busy"
	wait "$busy" 2>/dev/null
	img=$(snap_image "$d") || fail "snap_image"
	# After take: new files, changed files, a deleted file.
	cd "$TEST_TMP/orig" || fail "cd"
	for i in $(seq 1 10); do
		head -c 100000 /dev/urandom >"new$i" || fail "write new$i"
	done
	head -c 50000 /dev/urandom >f1 || fail "change f1"
	dd if=/dev/urandom of=dir/big bs=1M count=2 seek=3 conv=notrunc status=none ||
		fail "change big"
	rm f2
	cd / || fail "cd"
	sync
	if ((replay)); then
		mount "${opts[@]}" "$img" "$TEST_TMP/snap" || fail "mount the image to replay its log"
		umount "$TEST_TMP/snap" || fail "umount the image"
	fi
	"${fsck[@]}" "$img" || fail "${fsck[*]} on the image"
	mount "${opts[@]}" -o ro "$img" "$TEST_TMP/snap" || fail "mount the image"
	(cd "$TEST_TMP/snap" && sha256sum -c --quiet "$TEST_TMP/before.sum") ||
		fail "files of the image differ from before take"
	ls "$TEST_TMP/snap"/new* 2>/dev/null && fail "files created after take are in the image"
	umount "$TEST_TMP/snap" || fail "umount the image"
	# Writes to the image.
	mount "${opts[@]}" "$img" "$TEST_TMP/snap" || fail "mount the image read-write"
	head -c 300000 /dev/urandom >"$TEST_TMP/snap/onimage" || fail "write to the image"
	rm "$TEST_TMP/snap/f3"
	sha256sum "$TEST_TMP/snap/onimage" >"$TEST_TMP/onimage.sum"
	umount "$TEST_TMP/snap" || fail "umount the image"
	"${fsck[@]}" "$img" || fail "${fsck[*]} on the written image"
	mount "${opts[@]}" -o ro "$img" "$TEST_TMP/snap" || fail "mount the image again"
	sha256sum -c --quiet "$TEST_TMP/onimage.sum" || fail "file written to the image"
	umount "$TEST_TMP/snap" || fail "umount the image"
	[[ -e $TEST_TMP/orig/onimage || ! -e $TEST_TMP/orig/f3 ]] &&
		fail "writes to the image reached the original"
	snap destroy "$id"
	umount "$TEST_TMP/orig" || fail "umount"
	"${fsck[@]}" "$d" || fail "${fsck[*]} on the original"
	mount "$d" "$TEST_TMP/orig" || fail "mount the original"
	(cd "$TEST_TMP/orig" && grep -v ' f1$\| dir/big$\| f2$' "$TEST_TMP/before.sum" |
		sha256sum -c --quiet) || fail "files of the original"
	[[ -e $TEST_TMP/orig/new10 ]] || fail "new files lost"
	umount "$TEST_TMP/orig" || fail "umount"
	rm -f "$TEST_TMP/storage"
}

# part DISK MIB: one partition of MIB MiB on DISK; prints its path.
part() {
	printf 'label: dos\nstart=2048, size=%d\n' $(($2 * 2048)) | sfdisk -q "$1" >/dev/null ||
		fail "sfdisk $1"
	blockdev --rereadpt "$1" 2>/dev/null
	[[ -b ${1}1 ]] || fail "no partition ${1}1"
	echo "${1}1"
}
# unpart: no partition table left for the next test of the boot.
unpart() {
	local x
	for x in "${DISKS[@]}"; do
		[[ -b ${x}1 ]] || continue
		wipefs -qa "$x" >/dev/null 2>&1
		blockdev --rereadpt "$x" 2>/dev/null
	done
	return 0
}

# part_ident DISK: the identity of DISK's first partition as part() makes
# it (by the disk's serial number; blksnap(8), TRACKING STATE).
part_ident() { echo "serial:$(cat "/sys/class/block/${1##*/}/serial");part=1;start=2048"; }

# two_tracked MIB_A MIB_B: after keep_env, the partitions a (of DISKS[0])
# and b (of DISKS[1]) in $a and $b; in the first boot made, of those
# sizes, filled with random data, and named by their identities in $conf
# with the state folder and storage of keep_env.
two_tracked() {
	a=${DISKS[0]}1
	b=${DISKS[1]}1
	((BOOT_NUMBER == 1)) || return 0
	[[ $(part "${DISKS[0]}" "$1") == "$a" && $(part "${DISKS[1]}" "$2") == "$b" ]] ||
		fail "partitions"
	mkdir -p "$bk"
	cat >"$conf" <<-EOC
	state-dir $BLKSNAP_STATE_DIR
	storage $S
	device IDENTITY=$(part_ident "${DISKS[0]}")
	device IDENTITY=$(part_ident "${DISKS[1]}")
	EOC
	randwrite "$a" 0 $(($1 << 10))
	randwrite "$b" 0 $(($2 << 10))
}

# restored N: the last track command restored N states.
restored() {
	[[ $(grep -c "restored from" "$TEST_TMP/err") == "$1" ]] || fail "$1 states not restored"
}

# track WANT ARGS...: blksnap track with the configuration $conf; its
# exit status in $rc must be WANT; its stderr shown and in $TEST_TMP/err.
track() {
	local want=$1
	shift
	blksnap track -c "${conf:?}" "$@" 2>"$TEST_TMP/err"
	rc=$?
	cat "$TEST_TMP/err"
	[[ $rc == "$want" ]] || fail "track $*: exit $rc, expected $want"
}
# track_status: blksnap track status --json of $conf, in $TEST_TMP/j and
# shown.
track_status() {
	blksnap track -c "${conf:?}" status --json >"$TEST_TMP/j" || fail "track status"
	cat "$TEST_TMP/j"
}
# ext4_at DISK DIR: a new ext4 file system on DISK mounted at DIR.
ext4_at() {
	mkfs.ext4 -q -F "$1" || fail "mkfs $1"
	mkdir -p "$2"
	mount "$1" "$2" || fail "mount $1"
}
# dm_linear NAME SECTORS DEV: a device-mapper device NAME over the first
# SECTORS of DEV, without udev; prints its /dev/dm-N.
dm_linear() {
	local n
	dmsetup create --noudevsync "$1" --table "0 $2 linear $3 0" ||
		fail "dmsetup create $1"
	dmsetup mknodes "$1"
	n=/dev/dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')
	[[ -b $n ]] || fail "no $n"
	echo "$n"
}
# dm_table NAME SECTORS TARGET: NAME's table becomes "0 SECTORS TARGET".
dm_table() {
	dmsetup suspend --noudevsync "$1" || fail "dmsetup suspend $1"
	dmsetup load "$1" --table "0 $2 $3" || fail "dmsetup load $1 $3"
	dmsetup resume --noudevsync "$1" || fail "dmsetup resume $1"
}

# track_log_env: for the tests of the write-intent log: $d, a partition
# of 64 MiB of the first disk; an ext4 file system of the second disk at
# $mnt; $conf with the state-dir $sd and $d with the log $log, a file on
# it, of 1 MiB regions; the tool's environment (backup_env); all undone
# at exit.
track_log_env() {
	need_disks 2
	need_cmd sfdisk mkfs.ext4
	load_blksnap diff_storage_minimum=2048
	mnt=$TEST_TMP/logfs
	trap 'cleanup_blksnap; umount "$mnt" 2>/dev/null; unpart' EXIT
	backup_env
	d=$(part "${DISKS[0]}" 64)
	ext4_at "${DISKS[1]}" "$mnt"
	log=$mnt/blksnap/log
	mkdir -p "$mnt/blksnap"
	conf=$TEST_TMP/tracking.conf
	sd=$TEST_TMP/tstate
	cat >"$conf" <<CONF
state-dir $sd
storage $TEST_TMP
device $d log=$log log-region=1M
CONF
}
