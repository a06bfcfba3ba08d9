#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Demo, run in a VM on a stock kernel by "make demo": the main job.  An
# ext4 filesystem with files and fio writing to it gets a full backup while
# the writes go on; more files change; an incremental backup copies only
# what the change tracker marked.  Both backups are restored to a second
# disk and checked: fsck clean, the files as they were at each take.
# timeout: 900
. "$TEST_BIN/testlib.sh"
need_disks 2
need_cmd fio mkfs.ext4 e2fsck blksnap
set -o pipefail

d=${DISKS[0]}
r=${DISKS[1]}
n=${d#/dev/}
mnt=$TEST_TMP/mnt
bk=$TEST_TMP/backup
say() { echo "demo: $*"; }
now_us() { echo "${EPOCHREALTIME/./}"; }
B() { blksnap "$@" || fail "blksnap $*"; }
# jval KEY FILE: the first value of KEY in a JSON file.
jval() { sed -n "s/.*\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2" | head -n1; }
# files DIR FIRST LAST KIB: files DIR/fFIRST..fLAST of random data.
files() {
	local i
	for ((i = $2; i <= $3; i++)); do
		head -c "$(($4 * 1024))" /dev/urandom >"$1/f$i" || fail "write $1/f$i"
	done
}
# sums DIR: checksums of the demo's files, sorted.
sums() { (cd "$1" && sha256sum f* | sort -k2); }

say "kernel $(uname -r), a stock Debian kernel; data disk $d, restore disk $r"
load_blksnap diff_storage_minimum=65536
say "modules: $(lsmod | awk '$1 ~ /^(blkfilter|blksnap)$/ {printf "%s ", $1}')"

mkfs.ext4 -q -F "$d" || fail "mkfs"
mkdir -p "$mnt" "$bk"
mount -t ext4 "$d" "$mnt" || fail "mount"
files "$mnt" 1 100 1024
sync
sums "$mnt" >"$TEST_TMP/sums1"
say "ext4 on $d with 100 files of 1 MiB; fio now writes 256 KiB/s to it all along"
fio --name=load --directory="$mnt" --nrfiles=2 --size=32m --bs=16k \
	--rw=randwrite --ioengine=libaio --direct=1 --iodepth=4 --rate=256k \
	--time_based --runtime=600 --output="$TEST_TMP/fio.log" &
fio_pid=$!
sleep 2

say "full backup while fio writes"
t0=$(now_us)
B backup --verify --json "$bk" "$d" >"$TEST_TMP/full.json"
t1=$(now_us)
full_bytes=$(jval bytes_copied "$TEST_TMP/full.json")
[[ $(jval type "$TEST_TMP/full.json") == full ]] || fail "first backup not full"

say "changing files: 10 rewritten, 10 new"
files "$mnt" 91 110 1024
sync
sums "$mnt" >"$TEST_TMP/sums2"

say "incremental backup while fio writes"
t2=$(now_us)
B backup --incremental --verify --json "$bk" "$d" >"$TEST_TMP/incr.json"
t3=$(now_us)
incr_bytes=$(jval bytes_copied "$TEST_TMP/incr.json")
[[ $(jval type "$TEST_TMP/incr.json") == incremental ]] ||
	fail "second backup not incremental: $(cat "$TEST_TMP/incr.json")"
kill "$fio_pid" 2>/dev/null
wait "$fio_pid" 2>/dev/null
[[ -z $(B snapshot-collect) ]] || fail "a snapshot was left behind"

# check SEQ SUMS: restore backup SEQ to the restore disk, fsck, compare.
check() {
	B restore --quiet "$bk/$n.$(printf %06d "$1").meta" "$r"
	e2fsck -fn "$r" >"$TEST_TMP/fsck.log" 2>&1 || {
		cat "$TEST_TMP/fsck.log"
		fail "fsck of restored backup $1"
	}
	mkdir -p "$TEST_TMP/r$1"
	mount -t ext4 -o ro "$r" "$TEST_TMP/r$1" || fail "mount restored backup $1"
	sums "$TEST_TMP/r$1" >"$TEST_TMP/rsums$1"
	umount "$TEST_TMP/r$1"
	cmp -s "$TEST_TMP/rsums$1" "$2" || {
		diff "$TEST_TMP/rsums$1" "$2" | head
		fail "files of restored backup $1 differ from the files at its take"
	}
	say "backup $1 restored to $r: fsck clean, $(wc -l <"$2") files as they were at its take"
}
check 1 "$TEST_TMP/sums1"
check 2 "$TEST_TMP/sums2"
umount "$mnt"

ms() { echo "$((($2 - $1) / 1000)) ms"; }
echo
echo "==== summary ===="
printf '%-12s %14s %10s\n' backup "bytes copied" time
printf '%-12s %14s %10s\n' full "$full_bytes" "$(ms "$t0" "$t1")"
printf '%-12s %14s %10s\n' incremental "$incr_bytes" "$(ms "$t2" "$t3")"
echo "checks: both backups restored, fsck clean, files as at each take: passed"
