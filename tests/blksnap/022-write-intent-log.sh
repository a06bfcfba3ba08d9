#!/bin/bash
# The write-intent log (cbtlog, an extension: kernel/blksnap/blksnap.rst,
# "Crash safety"), checked on disk by decoding the log: a log on a file of
# another disk holds the regions written before it was attached and those
# written since, exactly; a take keeps the old regions until the
# checkpoint, which clears them on disk while those written after the take
# stay; every refusal with its errno and the tracker unchanged.  On a log
# that is a block device: a second write into a region causes no log I/O;
# a log that fails (device-mapper "error") fails the log while the writes
# to the original succeed and land.  A filter detach leaves the log on
# disk.  The data written is read back at the end.
# needs: blksnap.ko, 3 disks, mkfs.ext4; dmsetup (dm-mod) for the log
# device, else that part is skipped
# timeout: 180
. "$TEST_BIN/testlib.sh"
need_disks 3
need_blksnap
need_cmd mkfs.ext4
d=${DISKS[0]}
fsd=${DISKS[1]}
ld=${DISKS[2]}
MIB=1048576
load_blksnap diff_storage_minimum=2048
s=$TEST_TMP/storage
mnt=$TEST_TMP/logfs
dm=bswil-log
cleanup() {
	dmsetup resume --noudevsync "$dm" 2>/dev/null
	cleanup_blksnap
	dmsetup remove --noudevsync "$dm" 2>/dev/null
	umount "$mnt" 2>/dev/null
}
trap cleanup EXIT
ext4_at "$fsd" "$mnt"
log=$mnt/log

# w MIB: 4 KiB of random data at MIB MiB of $d, a direct write that must
# succeed; the data is kept for the end.
w() {
	head -c 4096 /dev/urandom >"$TEST_TMP/w.$1"
	dd if="$TEST_TMP/w.$1" of="$d" bs=4k seek=$(($1 * 256)) oflag=direct \
		conv=notrunc status=none || fail "a write at $1 MiB failed"
}
# cl ARGS: cbtlog, which must succeed.
cl() {
	cbtlog "$@" || fail "cbtlog $*"
}
# field KEY LINES: the value of KEY in KEY=VALUE lines.
field() {
	sed -n "s/^$1=//p" <<<"$2"
}
# bits LOG: the regions set in the log on disk; its header must be sound.
bits() {
	local out
	out=$(cbtlog decode "$1") || fail "decode $1"
	[[ $(field crc "$out") == ok && $(field magic "$out") == BSNAPWIL ]] ||
		fail "log header: $out"
	field bits "$out"
}

snap attach "$d"
gen=$(cbt "$d" generation)
out=$(cl "$d" status)
[[ $(field attached "$out") == 0 && $(field region_size "$out") == $((64 * MIB)) ]] ||
	fail "status without a log: $out"
out=$(cl -r $MIB "$d" status)
size=$(field log_size "$out")
[[ $(field region_count "$out") == 2048 && $size == 8192 ]] ||
	fail "geometry of 1 MiB regions on 2 GiB: $out"

# A write before the log: region 5.
w 5

# Refusals, the tracker unchanged.
truncate -s "$size" "$log"
r() { # r ERRNO ARGS...: cbtlog must end with ERRNO.
	local e=$1
	shift
	cbtlog -e "$e" "$@" >/dev/null || fail "cbtlog $* (expected $e)"
}
for len in 0 8 79; do
	r EINVAL -L "$len" "$d" status
done
r E2BIG -L 4097 "$d" status
r E2BIG -L 88 -T 1 "$d" status
r EINVAL -L 88 -S 80 "$d" status
r EINVAL -S 84 "$d" status
r EFAULT -F "$d" status
r EINVAL -f 1 -r $MIB "$d" attach "$log"
r EINVAL -R 1 -r $MIB "$d" attach "$log"
r EINVAL -o 9 "$d" status
r EINVAL -r $((3 * MIB)) "$d" attach "$log"
r EINVAL -r $((MIB / 2)) "$d" attach "$log"
r EINVAL -r $((MIB << 21)) "$d" attach "$log"
r EINVAL -r $((3 * MIB)) "$d" status
r EBADF -B -r $MIB "$d" attach "$log"
r EINVAL -r $MIB "$d" attach "$d"
truncate -s $((size - 4096)) "$log"
r ENOSPC -r $MIB "$d" attach "$log"
r ENODATA "$d" detach
r ENODATA "$d" checkpoint
[[ $(field attached "$(cl "$d" status)") == 0 ]] || fail "a refused attach attached"
[[ $(cbt "$d" generation) == "$gen" && $(cbt "$d" changes_number) == 0 ]] ||
	fail "the tracker changed"
[[ -z $(snapctl cbtmap "$d") ]] || fail "readable map changed"

# The log on a file of another disk: the write before it is there.
truncate -s "$size" "$log"
out=$(cl -r $MIB "$d" attach "$log")
[[ $(field attached "$out") == 1 && $(field failed "$out") == 0 &&
	$(field sequence "$out") == 1 && $(field generation "$out") == "$gen" &&
	$(field changes_number "$out") == 0 ]] || fail "attach: $out"
r EBUSY -r $MIB "$d" attach "$log"
cbtrestore -e EBUSY -n 3 "$d" || fail "cbtrestore with a log"
[[ $(bits "$log") == 5 ]] || fail "log after attach: $(bits "$log")"
hdr=$(cbtlog decode "$log")
[[ $(field generation "$hdr") == "$gen" && $(field region_size "$hdr") == "$MIB" &&
	$(field region_count "$hdr") == 2048 && $(field capacity "$hdr") == "$(devsize "$d")" ]] ||
	fail "header: $hdr"
# Writes into two regions mark exactly those, and one across a boundary
# both of its regions.
w 3
w 17
dd if=/dev/urandom of="$d" bs=8k seek=$((20 * MIB - 4096)) count=1 \
	oflag=direct,seek_bytes conv=notrunc status=none || fail "write across 20 MiB"
[[ $(bits "$log") == "3 5 17 19 20" ]] || fail "log after writes: $(bits "$log")"

# A take: the old regions stay; a write after it into an old region (3)
# and into a new one (40).
id=$(snap_new "$s" 65536 "$d")
snap take "$id"
[[ $(cbt "$d" changes_number) == 1 ]] || fail "number after take"
w 3
w 40
[[ $(bits "$log") == "3 5 17 19 20 40" ]] || fail "log after take: $(bits "$log")"
r ESTALE -n 0 "$d" checkpoint
r ESTALE -g 00112233445566778899aabbccddeeff "$d" checkpoint
[[ $(bits "$log") == "3 5 17 19 20 40" ]] || fail "log after a stale checkpoint"
# The checkpoint of the take: the regions written since it stay.
seq=$(field sequence "$(cl "$d" status)")
out=$(cl "$d" checkpoint)
[[ $(field changes_number "$out") == 1 && $(field sequence "$out") -gt "$seq" ]] ||
	fail "checkpoint: $out"
[[ $(bits "$log") == "3 40" ]] || fail "log after checkpoint: $(bits "$log")"
hdr=$(cbtlog decode "$log")
[[ $(field changes_number "$hdr") == 1 && $(field generation "$hdr") == "$gen" ]] ||
	fail "header after checkpoint: $hdr"
w 5
[[ $(bits "$log") == "3 5 40" ]] || fail "log after a write after checkpoint"
snap destroy "$id"
rm -f "$s"
cl "$d" detach >/dev/null
[[ $(field attached "$(cl "$d" status)") == 0 ]] || fail "detach"
w 60
[[ $(bits "$log") == "3 5 40" ]] || fail "a detached log changed: $(bits "$log")"

# A log on a block device: device-mapper over the third disk.
if command -v dmsetup >/dev/null && { modprobe dm-mod 2>/dev/null; [[ -c /dev/mapper/control ]]; }; then
	lsize=$((size / 512))
	ldev=$(dm_linear "$dm" "$lsize" "$ld")
	cl -r $MIB "$d" attach "$ldev" >/dev/null
	n0=$(blkstat "$ldev" 4)
	w 7
	n1=$(blkstat "$ldev" 4)
	((n1 > n0)) || fail "no log write for a new region ($n0, $n1)"
	seq=$(field sequence "$(cl "$d" status)")
	for i in 1 2 3 4; do
		dd if=/dev/urandom of="$d" bs=4k seek=$((7 * 256 + i)) count=1 \
			oflag=direct conv=notrunc status=none || fail "write"
	done
	w 7
	n2=$(blkstat "$ldev" 4)
	[[ $n2 == "$n1" ]] || fail "writes into a marked region wrote the log ($n1, $n2)"
	[[ $(field sequence "$(cl "$d" status)") == "$seq" ]] || fail "sequence moved"
	# The log fails: the writes pass and land, the log says so.
	dm_table "$dm" "$lsize" error
	w 9
	w 11
	out=$(cl "$d" status)
	[[ $(field failed "$out") == 1 && $(field error "$out") -lt 0 ]] ||
		fail "a failed log: $out"
	r EIO "$d" checkpoint
	dmesg | grep -q "write-intent log failed" || fail "no message of the failure"
	dm_table "$dm" "$lsize" "linear $ld 0"
	w 13
	cl "$d" detach >/dev/null
	# The writes since the take, then 7; not 9, 11, 13.
	[[ $(bits "$ldev") == "3 5 7 40 60" ]] || fail "the log before it failed: $(bits "$ldev")"
	dmsetup remove --noudevsync "$dm" || fail "dmsetup remove"
else
	echo "no device-mapper: the log on a block device is not tested"
fi

# A filter detach leaves the log as it is.
cl -r $MIB "$d" attach "$log" >/dev/null
w 30
before=$(bits "$log")
snap detach "$d"
[[ $(bits "$log") == "$before" ]] || fail "detach changed the log"
[[ $before == *" 30 "* ]] || fail "region 30 not in $before"

for f in "$TEST_TMP"/w.*; do
	m=${f##*.}
	[[ $(sha_of "$d" $((m * 1024)) 4) == $(sha256sum <"$f" | cut -d' ' -f1) ]] ||
		fail "the data written at $m MiB is not on the device"
done
umount "$mnt"
unload_blksnap
