#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest side of the snapshot-cost benchmark (run by bench/run.sh through
# tests/vm/run.sh): what snapshots cost a running workload, blksnap against
# dm-snapshot and dm-thin, on virtio disks in this one boot.
#
# Disks: ORIG (the original, prefilled with non-zero data), STORE (blksnap's
# difference storage), COW (dm-snapshot's exception store), TDATA and TMETA
# (dm-thin's pool). Write configurations, each set up fresh for every
# measurement and measured in rounds whose order rotates:
#   base    ORIG, no module loaded
#   track   blksnap attached to ORIG, no snapshot
#   snapd   blksnap snapshot taken, difference storage the STORE disk
#   snapt   blksnap snapshot taken, difference storage a file on tmpfs
#   dmsnap  dm-snapshot (persistent, chunk 8 sectors) of ORIG, COW on COW,
#           writes through the snapshot-origin device; the COW's header
#           chunk zeroed before every create, so that the store starts
#           empty (checked: no exception before the run, one per chunk
#           written after it)
#   dmthin  thin volume in a pool on TDATA/TMETA (block 64 KiB) with one
#           thin snapshot, writes to the origin volume
# First-touch writes (base, snapd, snapt, dmsnap; every write the first to
# its chunk since the snapshot: a fresh snapshot per run, over a region no
# run of it can write through, checked after every run; in quick mode one
# snapshot for the three queue depths, each on a third of the region),
# time-based (bench.ft_runtime s):
#   randw-qdN  4 KiB random writes (fio's random map: each block at most
#              once) at queue depth N = 1, 8, 32, IOPS, and for snapd and
#              dmsnap the bytes written to the storage per byte written (wa)
#   seqw       1 MiB sequential writes, QD 8, MiB/s; snapt once through
#              what its tmpfs holds (not time-based); and in the base
#              set-up cowio (the device alone doing copy-on-write's I/O: a
#              1 MiB read per 1 MiB write, time-based) and tmpcp (1 MiB
#              writes into a tmpfs file, no I/O); randw-qdN's cowio the
#              same with 4 KiB random reads and writes at queue depth N
# Rewrites (all six configurations), time-based (bench.runtime s):
#   rew     4 KiB random writes, QD 8, over a region written (preserved)
#           once after the set-up, IOPS
# Read tests (a taken snapshot, a region preserved by writing it after take,
# another left untouched), MiB/s for seqr (1 MiB) and IOPS for randr (4 KiB),
# QD 8, time-based:
#   orig    ORIG itself; imgU/imgP the blksnap image over the untouched and
#   the preserved region; store STORE itself where that region's old data
#   lies (no snapshot in the way: the bound of imgP on this disk);
#   dmU/dmP the dm-snapshot device over the same.
# After the rounds, back to back: tracking only against the baseline,
# rewrites with a snapshot against it, and the image's random reads against
# the original's and a dm-linear's over it (lin).
# Then, if blksnap has its copy-on-write tracepoints, short traced runs of
# first-touch writes (snapd; random at QD 8 and 32, sequential at QD 8;
# quick: random at QD 32) with the time of each stage of a held write.
# Then, if perf is there, a CPU profile of the vCPU fio runs on (tracking
# only and rewrites with a snapshot on ORIG, tracking only on null_blk).
# Then take latency (ext4 on ORIG, fio writing to it, create/add/take/destroy
# repeated, the take ioctl timed by snapctl take -T), the latency of the
# first write into a region of a write-intent log (cbtlog, regions of
# 1 MiB on the STORE disk: 4 KiB writes at QD 1, one per region, first
# with every region new, then marked, then with no module) and the cost of
# attach and take on a 4 TiB dm-zero device (time, /proc/meminfo before
# and after).
#
# Settings from the kernel command line: bench.reps=N (default 5),
# bench.runtime=SECONDS of time-based runs (default 3),
# bench.ft_runtime=SECONDS of first-touch runs (default 10),
# bench.seq_mib=MIB and bench.rnd_mib=MIB, the first-touch regions (default
# 12000 and 3136), bench.trace=SECONDS of each traced run (default 3, 0:
# none), bench.chunk_kib=N, blksnap's chunk for the traced runs (default:
# what the module logs at snapshotadd), bench.quick=1 (small regions, few
# takes).
#
# Output: "bench: KEY VALUE..." lines; measurements as
# "bench: m TEST CONFIG REP VALUE", the back-to-back pairs (tracking only),
# triples (rewrites with a snapshot) and sets of image reads as
# "bench: il TEST CONFIG N VALUE", how much of its region a first-touch
# run wrote as "bench: ftfill TEST CONFIG REP WRITTEN BLOCKS" (in its
# block size), dm-snapshot's exceptions after one as "bench: dmexc TEST
# REP EXCEPTIONS CHUNKS_WRITTEN", write amplification as
# "bench: wa TEST CONFIG REP RATIO", the copy-on-write I/O of snapd and dmsnap
# as "bench: diag TEST CONFIG REP ORIG_READS KIB STORAGE_WRITES KIB", the
# traced runs as "bench: latrun TEST QD KEY=VALUE..." and "bench: lat TEST
# QD STAGE N MEDIAN_US P90_US", takes
# as "bench: take REP NS WINDOW_NS FREEZE_NS", the log's passes as "bench:
# logfirst first|marked|base WRITES P50_US P90_US LOG_WRITES", the
# profile as "bench: prof
# RUN SAMPLES BLKFILTER_PCT BLKSNAP_PCT TRAMPOLINE_PCT IDLE_PCT", the large
# device as "bench: big KEY VALUE"; then "bench: snapdone". Exit 0, 77, 1;
# 1 also when a first-touch run wrote through its region or dm-snapshot's
# store did not grow by the chunks written.
# timeout: 14400
. "$TEST_BIN/testlib.sh"
set -o pipefail

reps=5
runtime=3
ft_runtime=10
seq_mib=12000
rnd_mib=3136
trace=3
chunk_kib=
quick=0
only=
ab=0
read -r -a cmdline </proc/cmdline
for arg in "${cmdline[@]}"; do
	case $arg in
	bench.reps=*) reps=${arg#bench.reps=} ;;
	bench.runtime=*) runtime=${arg#bench.runtime=} ;;
	bench.ft_runtime=*) ft_runtime=${arg#bench.ft_runtime=} ;;
	bench.seq_mib=*) seq_mib=${arg#bench.seq_mib=} ;;
	bench.rnd_mib=*) rnd_mib=${arg#bench.rnd_mib=} ;;
	bench.trace=*) trace=${arg#bench.trace=} ;;
	bench.chunk_kib=*) chunk_kib=${arg#bench.chunk_kib=} ;;
	bench.quick=*) quick=${arg#bench.quick=} ;;
	bench.only=*) only=${arg#bench.only=} ;;
	bench.ab=*) ab=${arg#bench.ab=} ;;
	esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || fail "bad bench.reps=$reps"
[[ $runtime =~ ^[1-9][0-9]*$ ]] || fail "bad bench.runtime=$runtime"
[[ $ft_runtime =~ ^[1-9][0-9]*$ ]] || fail "bad bench.ft_runtime=$ft_runtime"
[[ $seq_mib =~ ^[1-9][0-9]*$ ]] || fail "bad bench.seq_mib=$seq_mib"
[[ $rnd_mib =~ ^[1-9][0-9]*$ ]] || fail "bad bench.rnd_mib=$rnd_mib"
[[ $trace =~ ^[0-9]+$ ]] || fail "bad bench.trace=$trace"
[[ -z $chunk_kib || $chunk_kib =~ ^[1-9][0-9]*$ ]] || fail "bad bench.chunk_kib=$chunk_kib"
[[ -z $only || $only == ft ]] || fail "bad bench.only=$only"
[[ $ab == [01] ]] || fail "bad bench.ab=$ab"
# A/B: the modules of a second build, beside ours (bench/ab.sh).
AB_MODULES=/opt/tests/modules-b
if ((ab)); then
	[[ -f $AB_MODULES/blksnap.ko && -f $AB_MODULES/blkfilter.ko ]] ||
		fail "bench.ab=1 but no modules in $AB_MODULES"
	cmp -s "$TEST_MODULES/blksnap.ko" "$AB_MODULES/blksnap.ko" &&
		echo "bench: note: A and B have the same blksnap.ko"
fi

need_blksnap
need_cmd fio dmsetup mkfs.ext4 insmod rmmod modprobe snapctl cbtlog
need_disks 5
ORIG=${DISKS[0]}
STORE=${DISKS[1]}
COW=${DISKS[2]}
TDATA=${DISKS[3]}
TMETA=${DISKS[4]}

# Regions of ORIG, MiB: rewrite, untouched read, preserved read (together
# SMALL, at the start: dm-thin's volume covers these only), first-touch
# sequential, first-touch random.  The first-touch regions are sized by
# bench/run.sh from what the fastest configuration writes in a run, with
# margin: the random one several times what the baseline writes at QD 32,
# so that fio's random map stays sparse; the sequential one what a
# snapshot's writes could reach (the baseline and cowio, which need no
# first touch, go round it).  Every run is checked not to have written
# more blocks than its region has.
if ((quick)); then
	REW=8 RDU=32 RDP=32 TAKES=3 LOADWAIT=1 ILV=1 ILR=1
else
	REW=64 RDU=128 RDP=128 TAKES=20 LOADWAIT=3 ILV=8 ILR=16
fi
SEQ=$seq_mib
RND=$rnd_mib
# snapt's sequential run: once through what its storage (TMPFS_LIMIT) holds
# with room for the storage's own overhead.
SEQT=$((SEQ < 768 ? SEQ : 768))
OFF_REW=0
OFF_RDU=$((OFF_REW + REW))
OFF_RDP=$((OFF_RDU + RDU))
SMALL=$((OFF_RDP + RDP))
OFF_SEQ=$SMALL
OFF_RND=$((OFF_SEQ + SEQ))
SPAN=$((OFF_RND + RND))
# What the storage disks are prefilled over: all a snapshot's copies of
# one run can take (at most its region) on STORE; on COW, the random region
# (dm-snapshot's sequential first writes copy a tenth of that in a run).
STORE_SPAN=$((SEQ > RND ? SEQ : RND))
COW_SPAN=$RND
FT_QDS=(1 8 32)
QD=8
TMPFS=/mnt/bench-tmpfs
TMPFS_LIMIT=$((1024 * 2048)) # sectors: 1 GiB, allocated at create
BIG_SECTORS=$((1 << 33))     # 4 TiB

cpu=$(($(nproc) - 1))

sectors_of() { blockdev --getsz "$1"; }
# wsect DEV...: sectors written to these disks so far (sum).
wsect() {
	local d s=0
	for d in "$@"; do
		s=$((s + $(blkstat "$d" 6)))
	done
	echo "$s"
}
# settle DEV...: wait (up to 20 s) until nothing is in flight on the disks
# and their write counters stay still for half a second.
settle() {
	local a b i d busy
	for ((i = 0; i < 40; i++)); do
		a=$(wsect "$@")
		sleep 0.5
		b=$(wsect "$@")
		busy=0
		for d in "$@"; do
			(($(blkstat "$d" 8) == 0)) || busy=1
		done
		((a == b && !busy)) && return 0
	done
	echo "bench: note: $* still busy after 20 s"
}

# cpu_busy: "BUSY TOTAL" jiffies of all CPUs so far (/proc/stat).
cpu_busy() {
	local -a f
	read -r -a f </proc/stat
	# cpu user nice system idle iowait irq softirq steal
	local busy=$((f[1] + f[2] + f[3] + f[6] + f[7] + f[8]))
	echo "$busy $((busy + f[4] + f[5]))"
}
# settle_cpu WHAT: wait (up to 20 s) until the CPUs were busy less than
# 10 % of half a second.  Copy-on-write to tmpfs has no disk to watch: its
# copies go on into the storage file after the writes they held were let
# go.  Says how long it waited when that was more than a second.
settle_cpu() {
	local -a a b
	local i
	for ((i = 0; i < 40; i++)); do
		read -r -a a <<<"$(cpu_busy)"
		sleep 0.5
		read -r -a b <<<"$(cpu_busy)"
		if (((b[0] - a[0]) * 10 < b[1] - a[1])); then
			((i < 2)) || echo "bench: note: $1: CPUs busy for $((i / 2)) s"
			return 0
		fi
	done
	echo "bench: note: $1: CPUs still busy after 20 s"
}

# iost DEV: "READ_IOS READ_SECTORS WRITE_IOS WRITE_SECTORS" so far.
iost() { blkstat "$1" 0 2 4 6; }
# diag TEST CONFIG REP ORIG_BEFORE STORE_BEFORE: after a write test of
# snapd or dmsnap, the I/O its copy-on-write made: reads of the original
# beyond none, writes to the storage (counts and KiB), once the storage is
# idle.
diag() {
	local o0 s0 o1 s1
	read -r -a o0 <<<"$4"
	read -r -a s0 <<<"$5"
	settle "${WDEVS[@]}"
	read -r -a o1 <<<"$(iost "$ORIG")"
	read -r -a s1 <<<"$(iost "${WDEVS[0]}")"
	echo "bench: diag $1 $2 $3 $((o1[0] - o0[0])) $(((o1[1] - o0[1]) / 2))" \
		"$((s1[2] - s0[2])) $(((s1[3] - s0[3]) / 2))"
}

# fio_job DEV RW BS OFF_MIB SIZE_MIB TIMED [IO_MIB]: one fio run over the
# region, time-based or once through it (or IO_MIB of it); prints
# "KIB_PER_S IOPS KIB_DONE" of its reads or writes.  A region past the
# device's end is an error (fio would do nothing and succeed).
fio_job() {
	local dev=$1 rw=$2 bs=$3 off=$4 size=$5 timed=$6 io=${7:-} out err
	if [[ ! -b $dev ]]; then
		echo "fio_job: $dev is not a block device" >&2
		return 1
	fi
	if (((off + size) * 2048 > $(sectors_of "$dev"))); then
		echo "fio_job: $dev ends before ${off} + ${size} MiB" >&2
		return 1
	fi
	local -a opt=(--name=b --filename="$(fio_file "$dev")"
		--allow_file_create=0 --direct=1 --ioengine=libaio
		--iodepth="$QD" --rw="$rw" --bs="$bs" --offset="${off}M"
		--size="${size}M" --cpus_allowed="$cpu" --randrepeat=1
		--output-format=terse --terse-version=3)
	((timed)) && opt+=(--time_based --runtime="$runtime")
	[[ -n $io ]] && opt+=(--io_size="${io}M")
	out=$(fio "${opt[@]}" 2>&1) || { echo "$out" >&2; return 1; }
	out=$(grep ';' <<<"$out" | tail -n1)
	err=$(cut -d';' -f5 <<<"$out")
	[[ $err == 0 ]] || { echo "fio error $err" >&2; return 1; }
	# terse v3: reads KiB;KiB/s;IOPS in fields 6-8, writes in 47-49
	awk -F';' -v w="$([[ $rw == *read ]] && echo 0 || echo 41)" \
		'{ print $(7 + w), $(8 + w), $(6 + w) }' <<<"$out"
}

# tmpfs_rate MIB: MiB/s of buffered 1 MiB writes of MIB into a new file on
# $TMPFS, one CPU.
tmpfs_rate() {
	local out
	out=$(fio --name=t --filename="$TMPFS/rate" --ioengine=psync --rw=write \
		--bs=1m --size="${1}M" --cpus_allowed="$cpu" --output-format=terse \
		--terse-version=3 2>&1) || { echo "$out" >&2; return 1; }
	rm -f "$TMPFS/rate"
	grep ';' <<<"$out" | tail -n1 | awk -F';' '{ printf "%.1f", $48 / 1024 }'
}

# rew_prepare WHAT: before a rewrite run on $DEV, write its region once
# (copied, under a snapshot), then wait until the disks the writes and
# their copies went to and the CPUs are quiet.
rew_prepare() {
	fio_job "$DEV" write 1m "$OFF_REW" "$REW" 0 >/dev/null || fail "preserve: $1"
	settle "$ORIG" "${WDEVS[@]}"
	settle_cpu "$1"
}

# ---- configurations -----------------------------------------------------
mods_loaded() { [[ -d /sys/module/blksnap ]]; }
# The modules load_mods loads: ours, or (snapdb, snaptb) the A/B build's.
MODS=$TEST_MODULES
load_mods() {
	mods_loaded && return 0
	insmod "$MODS/blkfilter.ko" || fail "insmod blkfilter from $MODS"
	insmod "$MODS/blksnap.ko" || fail "insmod blksnap from $MODS"
}
unload_mods() {
	mods_loaded || return 0
	rmmod blksnap || fail "rmmod blksnap"
	rmmod blkfilter || fail "rmmod blkfilter"
}
attached() { [[ $(cat "/sys/block/${ORIG#/dev/}/filter" 2>/dev/null) == blksnap ]]; }
dm_exists() { [[ -e /dev/mapper/$1 ]] && dmsetup info "$1" >/dev/null 2>&1; }
dm_create() {
	dmsetup create --noudevsync "$1" --table "$2" || fail "dmsetup create $1: $2"
	dmsetup mknodes "$1"
	[[ -b /dev/mapper/$1 ]] || fail "no /dev/mapper/$1"
}
dm_remove() {
	local i
	dm_exists "$1" || return 0
	for ((i = 0; i < 20; i++)); do
		dmsetup remove --noudevsync "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	fail "dmsetup remove $1"
}

# dm_exceptions: the exceptions (chunks copied) in dm-snapshot bs's store:
# its status "ALLOCATED/TOTAL METADATA" in sectors, chunks of 8.
dm_exceptions() {
	local -a f
	read -r -a f <<<"$(dmsetup status bs)"
	[[ ${f[2]:-} == snapshot && ${f[3]:-} =~ ^[0-9]+/[0-9]+$ && ${f[4]:-} =~ ^[0-9]+$ ]] ||
		fail "dmsnap: status '${f[*]}'"
	echo $(((${f[3]%%/*} - f[4]) / 8))
}

SNAP_ID=
blksnap_new() { # STORAGE LIMIT
	load_mods
	attached || snap attach "$ORIG"
	SNAP_ID=$(snapctl create "$1" "$2") || fail "create $1"
	snap add "$ORIG" "$SNAP_ID"
	snap take "$SNAP_ID"
}
blksnap_end() {
	[[ -n $SNAP_ID ]] && snap destroy "$SNAP_ID"
	SNAP_ID=
	rm -f "$TMPFS/diff"
}
THIN_SNAP=0
thin_snap() {
	dmsetup suspend --noudevsync bthin || fail "suspend bthin"
	dmsetup message bpool 0 "create_snap 1 0" || fail "create_snap"
	dmsetup resume --noudevsync bthin || fail "resume bthin"
	THIN_SNAP=1
}
thin_unsnap() {
	((THIN_SNAP)) || return 0
	dm_remove bthinsnap
	dmsetup message bpool 0 "delete 1" || fail "delete thin snapshot"
	THIN_SNAP=0
}

# teardown: back to nothing (base).
teardown() {
	blksnap_end
	dm_remove bs
	dm_remove bo
	thin_unsnap
	attached && snap detach "$ORIG"
	unload_mods
	return 0
}

# setup CONFIG: teardown, then CONFIG, fresh. Sets DEV (where the workload
# goes) and WDEVS (the disks whose writes are storage writes).
setup() {
	teardown
	DEV=$ORIG
	WDEVS=()
	MODS=$TEST_MODULES
	case $1 in
	snapdb | snaptb) MODS=$AB_MODULES ;;
	esac
	case $1 in
	base) ;;
	track) load_mods; snap attach "$ORIG" ;;
	snapd | snapdb)
		blksnap_new "$STORE" "$(sectors_of "$STORE")"
		WDEVS=("$STORE")
		;;
	snapt | snaptb) blksnap_new "$TMPFS/diff" "$TMPFS_LIMIT" ;;
	dmsnap)
		# A persistent store whose header is valid is loaded with
		# the exceptions it holds (the previous run's): then nothing
		# written there is copied.  Its first chunk zeroed, it starts
		# empty.
		dd if=/dev/zero of="$COW" bs=4k count=1 oflag=direct status=none ||
			fail "clear the COW header"
		dm_create bs "0 $ORIG_SECT snapshot $ORIG $COW P 8"
		dm_create bo "0 $ORIG_SECT snapshot-origin $ORIG"
		local e
		e=$(dm_exceptions) || exit 1
		((e == 0)) || fail "dmsnap: the new exception store holds $e exceptions"
		DEV=/dev/mapper/bo
		WDEVS=("$COW")
		;;
	dmthin)
		thin_snap
		DEV=/dev/mapper/bthin
		WDEVS=("$TDATA" "$TMETA")
		;;
	*) fail "unknown config $1" ;;
	esac
}

# check CONFIG: the configuration is the intended one and healthy.
check() {
	local e s
	case $1 in
	base)
		! mods_loaded || fail "base: blksnap loaded"
		! dm_exists bo || fail "base: dm-snapshot present"
		;;
	track)
		attached || fail "track: not attached"
		[[ -z $(snapctl collect) ]] || fail "track: a snapshot exists"
		;;
	snapd | snapt | snapdb | snaptb)
		attached || fail "$1: not attached"
		e=$(snap_field "$ORIG" error_code)
		[[ $e == 0 ]] || fail "$1: snapshot error_code=$e"
		[[ -n $(snap_field "$ORIG" image) ]] || fail "$1: no image"
		;;
	dmsnap)
		s=$(dmsetup status bs) || fail "dmsnap: no status"
		[[ $s == *snapshot* && $s != *Invalid* && $s != *Overflow* ]] ||
			fail "dmsnap: status '$s'"
		;;
	dmthin)
		s=$(dmsetup status bpool) || fail "dmthin: no pool status"
		[[ $s != *Fail* && $s != *out_of_data_space* && $s != *" ro "* ]] ||
			fail "dmthin: pool status '$s'"
		((THIN_SNAP)) || fail "dmthin: no thin snapshot"
		;;
	esac
}

# ---- set-up of the disks --------------------------------------------------
cleanup() {
	local p
	for p in $(jobs -p); do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	umount /mnt/bench-ext4 2>/dev/null
	blksnap_end 2>/dev/null
	dm_remove bs 2>/dev/null
	dm_remove bo 2>/dev/null
	dm_remove bz 2>/dev/null
	dm_remove bthinsnap 2>/dev/null
	dm_remove bthin 2>/dev/null
	dm_remove bpool 2>/dev/null
	cleanup_blksnap >/dev/null
	umount "$TMPFS" 2>/dev/null
	return 0
}
trap cleanup EXIT

for m in dm-mod dm-snapshot crc32c_generic dm-thin-pool dm-zero; do
	modprobe "$m" 2>/dev/null
done
[[ -d /sys/module/dm_snapshot ]] || skip "no dm-snapshot"
ORIG_SECT=$((SPAN * 2048))
(($(sectors_of "$ORIG") >= ORIG_SECT)) || fail "$ORIG smaller than $SPAN MiB"
(($(sectors_of "$STORE") >= STORE_SPAN * 2048)) || fail "$STORE smaller than $STORE_SPAN MiB"
(($(sectors_of "$COW") >= COW_SPAN * 2048)) || fail "$COW smaller than $COW_SPAN MiB"
mkdir -p "$TMPFS" /mnt/bench-ext4
mount -t tmpfs -o size=1536m tmpfs "$TMPFS" || fail "mount tmpfs"

# The original and the thin origin hold real data, not host-file holes;
# so do the storage disks where copy-on-write puts old data (measured:
# reads of what copy-on-write had just written into holes of a fresh disk
# file ran 0.7-0.8 of reads of the prefilled original, with or without the
# image in between; and a write into a hole allocates in the host's file
# system, which a write to the original does not).
fio_job "$ORIG" write 1m 0 "$SPAN" 0 >/dev/null || fail "prefill $ORIG"
fio_job "$STORE" write 1m 0 "$STORE_SPAN" 0 >/dev/null || fail "prefill $STORE"
fio_job "$COW" write 1m 0 "$COW_SPAN" 0 >/dev/null || fail "prefill $COW"
# dm-thin: pool block 64 KiB (LVM's default for thin pools), no zeroing of
# new blocks; the origin volume prefilled as ORIG.  It is measured in the
# rewrites only, so it spans the small regions.
dd if=/dev/zero of="$TMETA" bs=1M count=1 oflag=direct status=none
dm_create bpool "0 $(sectors_of "$TDATA") thin-pool $TMETA $TDATA 128 0 1 skip_block_zeroing"
dmsetup message bpool 0 "create_thin 0" || fail "create_thin"
dm_create bthin "0 $((SMALL * 2048)) thin /dev/mapper/bpool 0"
fio_job /dev/mapper/bthin write 1m 0 "$SMALL" 0 >/dev/null || fail "prefill bthin"

echo "bench: kernel $(uname -r)"
echo "bench: snapcpus $(nproc)"
echo "bench: snapdisks orig=$ORIG store=$STORE cow=$COW thin_data=$TDATA thin_meta=$TMETA"
echo "bench: snapregions_mib seq=$SEQ seq_tmpfs=$SEQT rand=$RND rewrite=$REW read_untouched=$RDU read_preserved=$RDP prefilled=orig:$SPAN,store:$STORE_SPAN,cow:$COW_SPAN"
echo "bench: snapfio $(fio --version) ioengine=libaio direct=1 iodepth=$QD (first-touch random ${FT_QDS[*]}) cpus_allowed=$cpu"
echo "bench: snapreps $reps"
echo "bench: snapruntime $runtime"
echo "bench: snapftruntime $ft_runtime"
phase() { echo "bench: phase $1 $SECONDS"; }
phase prefilled

# ---- write tests ----------------------------------------------------------
WCONFIGS=(base track snapd snapt dmsnap dmthin)
FTCONFIGS=(base snapd snapt dmsnap)
((ab)) && FTCONFIGS=(base snapd snapdb snapt snaptb dmsnap)

# ft_run TEST CONFIG REP OFF_MIB SIZE_MIB: one first-touch run on CONFIG,
# set up (cowio: base), time-based: randw-qdN, 4 KiB random writes at
# queue depth N (fio's random map: each block at most once; cowio: read
# and written half and half); seqw, 1 MiB
# sequential writes at QD 8 (cowio: read and written half and half; snapt:
# once through the region, what its tmpfs holds).  A run that needs every
# write to be a first touch (all random runs, the baseline's too, which
# sizes the region; the snapshots' sequential ones) fails if it wrote as
# many blocks as its region has; dm-snapshot's fails unless its store grew
# by one exception per chunk written.  Prints the number (IOPS, MiB/s),
# the region's fill, and for snapd and dmsnap what the storage got.
ft_run() {
	local t=$1 c=$2 r=$3 off=$4 size=$5 cfg=$2 q=$QD rw=write bs=1m bsk=1024
	local timed=1 first=1 v kps iops kib n nb e0 e d dg=0 w0 w1 o0 s0
	case $t in
	randw-qd*)
		q=${t#randw-qd} rw=randwrite bs=4k bsk=4
		[[ $c == cowio ]] && cfg=base rw=randrw first=0
		;;
	seqw)
		case $c in
		base) first=0 ;;
		cowio) cfg=base rw=rw first=0 ;;
		snapt | snaptb) timed=0 first=0 ;;
		esac
		;;
	*) fail "unknown first-touch test $t" ;;
	esac
	check "$cfg"
	if [[ $c == snapd || $c == snapdb || $c == dmsnap ]]; then
		dg=1
		settle "${WDEVS[@]}"
		w0=$(wsect "${WDEVS[@]}")
		o0=$(iost "$ORIG")
		s0=$(iost "${WDEVS[0]}")
	fi
	if [[ $c == dmsnap ]]; then
		e0=$(dm_exceptions) || exit 1
	fi
	v=$(QD=$q runtime=$ft_runtime fio_job "$DEV" "$rw" "$bs" "$off" "$size" "$timed") ||
		fail "$t $c $r"
	check "$cfg"
	read -r kps iops kib <<<"$v"
	n=$((kib / bsk))
	nb=$((size * 1024 / bsk))
	echo "bench: ftfill $t $c $r $n $nb"
	((!first || n < nb)) ||
		fail "$t $c rep $r: $n writes of $bs in a region of $nb blocks: fio went round it, so not every write was a first touch; give bench/run.sh a larger --$([[ $t == seqw ]] && echo seq || echo rand)-region"
	if [[ $t == seqw ]]; then
		v=$(awk -v k="$kps" 'BEGIN { printf "%.1f", k / 1024 }')
	else
		v=$iops
	fi
	echo "bench: m $t $c $r $v"
	if [[ $c == dmsnap ]]; then
		# One exception per 4 KiB chunk written (each written once),
		# give or take a metadata area's rounding.
		e=$(dm_exceptions) || exit 1
		e=$((e - e0))
		echo "bench: dmexc $t $r $e $((kib / 4))"
		d=$((e - kib / 4))
		((d < 0)) && d=$((-d))
		((d * 100 <= kib / 4 + 800)) ||
			fail "$t dmsnap rep $r: the exception store grew by $e chunks for $((kib / 4)) chunks' first writes: copy-on-write did not happen as measured"
	fi
	if ((dg)); then
		diag "$t" "$c" "$r" "$o0" "$s0"
		w1=$(wsect "${WDEVS[@]}")
		echo "bench: wa $t $c $r $(awk -v w=$((w1 - w0)) -v k="$kib" \
			'BEGIN { printf "%.2f", (k > 0 ? w / 2 / k : 0) }')"
	fi
	# Copies to tmpfs go on after the writes they held were let go: the
	# next run starts on quiet CPUs.
	[[ $c == snapt || $c == snaptb ]] && settle_cpu "$t $c $r"
	return 0
}

# measure_first_touch REP: every first-touch run of a round: per queue
# depth each configuration in a fresh set-up (the order rotated by the
# round), then the sequential ones, then tmpcp.  Quick: a set-up per
# configuration for its three queue depths, each on a third of the random
# region (no run touches another's blocks).
measure_first_touch() {
	local r=$1 q i k n v c
	local -a randc=("${FTCONFIGS[@]}" cowio)
	local -a seqc=(base snapd snapt dmsnap cowio)
	((ab)) && seqc=(base snapd snapdb snapt snaptb dmsnap cowio)
	n=${#randc[@]}
	if ((quick)); then
		for ((i = 0; i < n; i++)); do
			c=${randc[$(((i + r - 1) % n))]}
			setup "${c/#cowio/base}"
			k=0
			for q in "${FT_QDS[@]}"; do
				ft_run "randw-qd$q" "$c" "$r" $((OFF_RND + k * RND / 3)) $((RND / 3))
				k=$((k + 1))
			done
			teardown
		done
	else
		for q in "${FT_QDS[@]}"; do
			for ((i = 0; i < n; i++)); do
				c=${randc[$(((i + r - 1) % n))]}
				setup "${c/#cowio/base}"
				ft_run "randw-qd$q" "$c" "$r" "$OFF_RND" "$RND"
				teardown
			done
		done
	fi
	n=${#seqc[@]}
	for ((i = 0; i < n; i++)); do
		c=${seqc[$(((i + r - 1) % n))]}
		setup "${c/#cowio/base}"
		ft_run seqw "$c" "$r" "$OFF_SEQ" "$([[ $c == snapt || $c == snaptb ]] && echo "$SEQT" || echo "$SEQ")"
		teardown
	done
	# What storing old data on tmpfs costs the guest's CPU alone: 1 MiB
	# writes into a new tmpfs file (pages allocated, cleared and copied
	# into), on one CPU, no I/O.
	v=$(tmpfs_rate "$SEQT") || fail "tmpfs rate $r"
	echo "bench: m seqw tmpcp $r $v"
}

# measure_rew CONFIG REP: rewrites of a preserved region.
measure_rew() {
	local c=$1 r=$2 v
	setup "$c"
	check "$c"
	rew_prepare "rew $c $r"
	v=$(fio_job "$DEV" randwrite 4k "$OFF_REW" "$REW" 1) || fail "rew $c $r"
	check "$c"
	echo "bench: m rew $c $r $(cut -d' ' -f2 <<<"$v")"
	teardown
}

# ---- read tests -----------------------------------------------------------
# read_pair TEST DEV OFF SIZE CONFIG REP
read_one() {
	local t=$1 dev=$2 off=$3 size=$4 c=$5 r=$6 v
	if [[ $t == seqr ]]; then
		v=$(fio_job "$dev" read 1m "$off" "$size" 1) || fail "$t $c $r"
		echo "bench: m $t $c $r $(awk '{ printf "%.1f", $1 / 1024 }' <<<"$v")"
	else
		v=$(fio_job "$dev" randread 4k "$off" "$size" 1) || fail "$t $c $r"
		echo "bench: m $t $c $r $(cut -d' ' -f2 <<<"$v")"
	fi
}
# reads_setup WHAT: a blksnap snapshot taken (snapd) and its preserved
# region written once; sets READS to the runs "DEV OFF_MIB SIZE_MIB NAME"
# of the original and of the image over the untouched and preserved region.
reads_setup() {
	local img
	setup snapd
	check snapd
	img=$(snap_image "$ORIG")
	fio_job "$ORIG" write 1m "$OFF_RDP" "$RDP" 0 >/dev/null || fail "preserve ($1)"
	settle "$STORE"
	READS=("$ORIG $OFF_RDU $RDU orig" "$img $OFF_RDU $RDU imgU"
		"$img $OFF_RDP $RDP imgP")
}
measure_reads_blksnap() { # REP
	local r=$1 t i
	reads_setup "rounds"
	# The storage is filled from its start, so the preserved region's
	# old data is its first RDP MiB.  The order rotates with the
	# repetition: the first run after a change reads slower or faster.
	local -a runs=("${READS[@]}" "$STORE 0 $RDP store")
	for t in seqr randr; do
		for ((i = 0; i < 4; i++)); do
			# shellcheck disable=SC2086 # four words
			read_one "$t" ${runs[$(((i + r) % 4))]} "$r"
		done
	done
	check snapd
	teardown
}
measure_reads_dm() { # REP
	local r=$1 t i
	setup dmsnap
	check dmsnap
	fio_job /dev/mapper/bo write 1m "$OFF_RDP" "$RDP" 0 >/dev/null || fail "preserve"
	settle "$COW"
	# dmU first in odd repetitions, dmP in even ones.
	local -a runs=("$OFF_RDP $RDP dmP" "$OFF_RDU $RDU dmU")
	for t in seqr randr; do
		for ((i = 0; i < 2; i++)); do
			# shellcheck disable=SC2086 # three words
			read_one "$t" /dev/mapper/bs ${runs[$(((i + r) % 2))]} "$r"
		done
	done
	check dmsnap
	teardown
}

# Warm-up, not counted: one time-based run.  (Killing a backgrounded
# fio_job killed its subshell, not fio, which read on into the first
# repetition.)
fio_job "$ORIG" randread 4k 0 "$SPAN" 1 >/dev/null || fail "warm-up"

for ((r = 1; r <= reps; r++)); do
	measure_first_touch "$r"
	phase "first-touch-$r"
	[[ $only == ft ]] && continue
	n=${#WCONFIGS[@]}
	for ((i = 0; i < n; i++)); do
		measure_rew "${WCONFIGS[$(((i + r - 1) % n))]}" "$r"
	done
	phase "writes-$r"
	if ((r % 2)); then
		measure_reads_blksnap "$r"
		measure_reads_dm "$r"
	else
		measure_reads_dm "$r"
		measure_reads_blksnap "$r"
	fi
done

phase rounds
# bench.only=ft: the first-touch rounds and their traced runs only.
if [[ $only != ft ]]; then
	# ---- tracking only, interleaved -------------------------------------------
	# The tracking-only targets ask for 0.98 of the baseline, finer than the
	# host's drift between set-ups minutes apart.  So base and track also
	# alternate back to back, ILV pairs per test (which goes first alternates),
	# each a fresh set-up, time-based runs of the three workloads over their
	# regions (without a snapshot a first touch is no different).
	# "bench: il TEST CONFIG PAIR VALUE", MiB/s for seqw, IOPS for the others.
	for t in seqw randw rew; do
		for ((i = 1; i <= ILV; i++)); do
			order=(base track)
			((i % 2)) || order=(track base)
			for c in "${order[@]}"; do
				setup "$c"
				check "$c"
				case $t in
				seqw) v=$(fio_job "$DEV" write 1m "$OFF_SEQ" "$SEQ" 1) ;;
				randw) v=$(fio_job "$DEV" randwrite 4k "$OFF_RND" "$RND" 1) ;;
				rew) v=$(fio_job "$DEV" randwrite 4k "$OFF_REW" "$REW" 1) ;;
				esac || fail "interleaved $t $c $i"
				check "$c"
				if [[ $t == seqw ]]; then
					v=$(awk '{ printf "%.1f", $1 / 1024 }' <<<"$v")
				else
					v=$(cut -d' ' -f2 <<<"$v")
				fi
				echo "bench: il $t $c $i $v"
			done
		done
	done
	# Rewrites of preserved chunks with a snapshot held, the same way: base,
	# snapd and snapt back to back, ILV triples (the order rotates), each a
	# fresh set-up whose rewrite region is written once (preserved, for the
	# snapshots) and settled before the time-based run.
	# "bench: il rewsnap CONFIG TRIPLE IOPS".
	for ((i = 1; i <= ILV; i++)); do
		order=(base snapd snapt)
		order=("${order[@]:$(((i - 1) % 3))}" "${order[@]:0:$(((i - 1) % 3))}")
		for c in "${order[@]}"; do
			setup "$c"
			check "$c"
			rew_prepare "rewsnap $c $i"
			v=$(fio_job "$DEV" randwrite 4k "$OFF_REW" "$REW" 1) ||
				fail "interleaved rewsnap $c $i"
			check "$c"
			echo "bench: il rewsnap $c $i $(cut -d' ' -f2 <<<"$v")"
		done
	done
	teardown
	# Random reads of the image, the same way: one snapshot taken, the
	# preserved region written once, then ILR sets of orig, imgU, imgP and lin
	# back to back (the order rotates, each in each place as often), where lin
	# is a dm-linear device over ORIG: what any bio-based device stacked on the
	# original costs these reads, the image's own path aside.  Single runs
	# here spread by 20-50 %, the paired ratio of 5 rounds by 0.1; the image
	# targets are held to the median of these sets.
	# "bench: il randr CONFIG SET IOPS".
	reads_setup "interleaved reads"
	dm_create blin "0 $(sectors_of "$ORIG") linear $ORIG 0"
	runs=("${READS[@]}" "/dev/mapper/blin $OFF_RDU $RDU lin")
	for ((i = 1; i <= ILR; i++)); do
		for ((j = 0; j < 4; j++)); do
			read -r dev off size c <<<"${runs[$(((i + j) % 4))]}"
			v=$(fio_job "$dev" randread 4k "$off" "$size" 1) ||
				fail "interleaved randr $c $i"
			echo "bench: il randr $c $i $(cut -d' ' -f2 <<<"$v")"
		done
	done
	dm_remove blin
	check snapd
	teardown
	phase interleaved
fi
# ---- copy-on-write stages, traced -----------------------------------------
# Short runs of first-touch writes (snapd, a fresh snapshot each) with
# blksnap's copy-on-write tracepoints on, after the timed runs and apart
# from them: a write held (cow_hold: sector, nr_sectors), the read of old
# data issued for chunks [chunk, chunk + count) (cow_load) and done
# (cow_load_done), the held write sent on (cow_release), old data stored
# (cow_store_done).  A write's sectors map to chunks by the chunk size the
# module logs at snapshotadd (or bench.chunk_kib); per held write: hold to
# the last of its chunks' reads issued, to their completion, to its
# release.  The events are switched on and off only while fio does not run
# (their static keys patch code, see the take section), into a large
# buffer; tracefs' "fields" option (6.3 and later) prints every field as
# NAME=VALUE, whatever format the events print.  Without the events (a
# module that has none), a note and nothing else.
# "bench: latrun TEST QD KEY=VALUE..." and
# "bench: lat TEST QD STAGE N MEDIAN_US P90_US".
TR=/sys/kernel/tracing
COW_EVENTS=(cow_hold cow_load cow_load_done cow_release cow_store_done)
# cow_events: sets COW_EVDIRS to the events' directories (named NAME or
# blksnap_NAME), or returns 1 if one is missing.
cow_events() {
	local e d
	COW_EVDIRS=()
	for e in "${COW_EVENTS[@]}"; do
		for d in "$TR/events/blksnap/$e" "$TR/events/blksnap/blksnap_$e" ""; do
			[[ -z $d || -e $d/enable ]] && break
		done
		[[ -n $d ]] || return 1
		COW_EVDIRS+=("$d")
	done
}
# cow_trace_events 0|1: the copy-on-write events off or on.
cow_trace_events() {
	local d
	for d in "${COW_EVDIRS[@]}"; do
		echo "$1" >"$d/enable" || fail "tracefs: $d/enable=$1"
	done
}
# chunk_sectors: blksnap's chunk for ORIG in the snapshot last added, in
# sectors, or nothing.
chunk_sectors() {
	local k=$chunk_kib
	[[ -n $k ]] || k=$(dmesg | sed -n "s/.* ${ORIG#/dev/} added to snapshot .*chunks of \([0-9][0-9]*\) KiB.*/\1/p" | tail -n1)
	[[ -z $k ]] || echo $((k * 2))
}
# cow_stages CHUNK_SECTORS SUMMARY: the trace on stdin; prints "STAGE US"
# per held write and stage, and KEY=VALUE counts to SUMMARY.  The values
# are read from "name=value", or from the "(decimal)" after a hex value
# (the fields option).
cow_stages() {
	awk -v cs="$1" -v sum="$2" '
	function num(v) { return v ~ /^-?[0-9]+$/ }
	{
		ev = ""
		for (i = 1; i < NF; i++)
			if ($i ~ /^[0-9]+\.[0-9]+:$/ && $(i + 1) ~ /^(blksnap_)?cow_[a-z_]+:$/) {
				t = substr($i, 1, length($i) - 1) * 1000000
				ev = substr($(i + 1), 1, length($(i + 1)) - 1)
				sub(/^blksnap_/, "", ev)
				break
			}
		if (ev == "")
			next
		sector = ""
		nr = ""
		chunk = ""
		count = ""
		err = ""
		for (j = i + 2; j <= NF; j++) {
			p = index($j, "=")
			if (!p)
				continue
			k = substr($j, 1, p - 1)
			v = substr($j, p + 1)
			if (j < NF && $(j + 1) ~ /^\(-?[0-9]+\)$/)
				v = substr($(j + 1), 2, length($(j + 1)) - 2)
			sub(/,$/, "", v)
			if (k == "sector") sector = v
			else if (k == "nr_sectors") nr = v
			else if (k == "chunk") chunk = v
			else if (k == "count") count = v
			else if (k == "error") err = v
		}
		nev++
		if (ev == "cow_hold" || ev == "cow_release") {
			if (!num(sector) || !num(nr)) {
				bad++
				next
			}
			key = sector "+" nr
			if (ev == "cow_hold") {
				nh++
				hs[nh] = sector
				hn[nh] = nr
				ht[nh] = t
				held[key] = nh
			} else if (key in held) {
				hr[held[key]] = t
				delete held[key]
			} else
				orphan++
		} else if (ev == "cow_load" || ev == "cow_load_done") {
			if (!num(chunk) || !num(count)) {
				bad++
				next
			}
			if (ev == "cow_load") {
				nl++
				for (c = chunk + 0; c < chunk + count; c++)
					if (!(c in lt))
						lt[c] = t
			} else {
				if (num(err) && err != 0)
					loaderr++
				for (c = chunk + 0; c < chunk + count; c++)
					if (!(c in ld))
						ld[c] = t
			}
		} else if (ev == "cow_store_done") {
			ns++
			if (num(err) && err != 0)
				storeerr++
			if (num(chunk) && num(count))
				for (c = chunk + 0; c < chunk + count; c++)
					if (!(c in sd))
						sd[c] = t
		}
	}
	END {
		for (i = 1; i <= nh; i++) {
			if (!(i in hr)) {
				unrel++
				continue
			}
			rel++
			printf "hold-release %.1f\n", hr[i] - ht[i]
			c0 = int(hs[i] / cs)
			c1 = int((hs[i] + hn[i] - 1) / cs)
			tl = -1
			td = -1
			tsd = -1
			miss = 0
			for (c = c0; c <= c1; c++) {
				if (!(c in lt) || !(c in ld)) {
					miss = 1
					break
				}
				if (lt[c] > tl)
					tl = lt[c]
				if (ld[c] > td)
					td = ld[c]
				if (!(c in sd))
					tsd = -2
				else if (tsd != -2 && sd[c] > tsd)
					tsd = sd[c]
			}
			if (miss) {
				noload++
				continue
			}
			# Old data read before the write came (read ahead): its
			# stages start at the hold.
			if (tl < ht[i])
				ahead++
			t1 = tl > ht[i] ? tl : ht[i]
			t2 = td > t1 ? td : t1
			printf "hold-load %.1f\n", t1 - ht[i]
			printf "load-done %.1f\n", t2 - t1
			printf "done-release %.1f\n", hr[i] - t2
			# The old data on the storage: after the write went on.
			if (tsd >= 0)
				printf "done-stored %.1f\n", tsd - t2
		}
		printf "events=%d held=%d released=%d unreleased=%d matched=%d ahead=%d no_load=%d release_unmatched=%d loads=%d stores=%d load_errors=%d store_errors=%d unparsed=%d\n",
			nev, nh, rel, unrel, rel - noload, ahead, noload, orphan, nl, ns,
			loaderr, storeerr, bad > sum
	}'
}
# trace_run TEST QD [CONFIG]: one traced run of TEST (randw: 4 KiB random
# writes, seqw: 1 MiB sequential) at QD, on CONFIG (snapd, or the A/B
# build's snapdb: its lines then name the test TEST.b), bench.trace
# seconds.
trace_run() {
	local t=$1 q=$2 c=${3:-snapd} rw=randwrite bs=4k bsk=4 off=$OFF_RND size=$RND cs v kps iops kib
	local buf fo='' ov x f st out=/tmp/bench-trace tn=$t
	[[ $c == snapdb ]] && tn=$t.b
	[[ $t == seqw ]] && rw=write bs=1m bsk=1024 off=$OFF_SEQ size=$SEQ
	setup "$c"
	check "$c"
	cs=$(chunk_sectors)
	if [[ -z $cs ]]; then
		echo "bench: note: trace $t QD $q: blksnap's chunk size unknown (no 'added to snapshot' line); bench/run.sh --chunk-kib gives it"
		teardown
		return 0
	fi
	echo 0 >"$TR/tracing_on"
	: >"$TR/trace"
	# "N", or "N (expanded: M)" before the buffer was first used
	buf=$(cat "$TR/buffer_size_kb")
	if [[ $buf =~ expanded:\ *([0-9]+) ]]; then
		buf=${BASH_REMATCH[1]}
	else
		buf=${buf%% *}
	fi
	echo 32768 >"$TR/buffer_size_kb" || fail "tracefs: buffer_size_kb"
	if [[ -e $TR/options/fields ]]; then
		fo=$(cat "$TR/options/fields")
		echo 1 >"$TR/options/fields"
	fi
	cow_trace_events 1
	echo 1 >"$TR/tracing_on"
	v=$(QD=$q runtime=$trace fio_job "$DEV" "$rw" "$bs" "$off" "$size" 1) ||
		fail "traced $t QD $q"
	echo 0 >"$TR/tracing_on"
	cow_trace_events 0
	check "$c"
	read -r kps iops kib <<<"$v"
	((kib / bsk < size * 1024 / bsk)) ||
		fail "traced $t QD $q: fio went round its region"
	ov=0
	for f in "$TR"/per_cpu/cpu*/stats; do
		x=$(sed -n 's/^overrun: *//p' "$f")
		ov=$((ov + ${x:-0}))
	done
	cow_stages "$cs" "$out.sum" <"$TR/trace" >"$out.val"
	: >"$TR/trace"
	echo "$buf" >"$TR/buffer_size_kb"
	[[ -z $fo ]] || echo "$fo" >"$TR/options/fields"
	echo "bench: latrun $tn $q writes=$((kib / bsk)) iops=$iops mibs=$((kps / 1024)) chunk_kib=$((cs / 2)) write_us=$((iops ? 1000000 * q / iops : 0)) overrun=$ov fields=$([[ -n $fo ]] && echo yes || echo no) $(cat "$out.sum")"
	((ov == 0)) || echo "bench: note: trace $t QD $q: $ov events lost (ring buffer overrun)"
	for st in hold-load load-done done-release hold-release done-stored; do
		awk -v s="$st" '$1 == s { print $2 }' "$out.val" | sort -n | awk -v t="$tn" -v q="$q" -v s="$st" '
			{ v[NR] = $1 }
			END {
				if (NR == 0)
					exit
				m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "bench: lat %s %s %s %d %.0f %.0f\n", t, q, s, NR, m, v[int((9 * NR + 9) / 10)]
			}'
	done
	rm -f "$out.sum" "$out.val"
	teardown
}
if ((trace)); then
	load_mods
	if cow_events; then
		teardown
		tcs=(snapd)
		((ab)) && tcs=(snapd snapdb)
		for c in "${tcs[@]}"; do
			if ((quick)); then
				trace_run randw 32 "$c"
			else
				trace_run randw 1 "$c"
				trace_run randw 8 "$c"
				trace_run randw 32 "$c"
				trace_run seqw 8 "$c"
			fi
		done
	else
		echo "bench: note: blksnap has no copy-on-write tracepoints (${COW_EVENTS[*]}, or with blksnap_ before, under $TR/events/blksnap): no per-stage latencies"
	fi
	teardown
	phase trace
fi
if [[ $only == ft ]]; then
	echo "bench: snapdone"
	exit 0
fi
# ---- where the submitting CPU's time goes ---------------------------------
# A ratio near 1 is finer than this host's noise; the CPU time spent in
# blksnap's code is not.  perf samples the vCPU that fio runs on (cpu-clock,
# a timer: no PMU under TCG) for as long as a time-based run, from a second
# into a run of fio two seconds longer, and the share of the
# samples in blkfilter, blksnap and the ftrace trampoline of the bio hook
# (an anonymous kernel address; none where the hook is a direct call, whose
# stub is blkfilter's) is what they cost that CPU; idle is the
# share it waited with nothing to run.  Runs: tracking only (1 MiB
# sequential and 4 KiB random writes) and rewrites of preserved chunks on
# the virtio disk, and tracking only (random) on null_blk, where
# the CPU is the bottleneck and the share is the throughput lost.
# "bench: prof RUN SAMPLES BLKFILTER_PCT BLKSNAP_PCT TRAMPOLINE_PCT IDLE_PCT".
prof_report() { # RUN FILE
	perf report -i "$2" --stdio --no-children --sort dso,sym -g none \
		--percent-limit 0 2>/dev/null | awk -v run="$1" '
		/^# Samples: / { n = $3; if (n ~ /K$/) n = n * 1000 }
		/^#/ || NF < 4 { next }
		{ p = $1; sub("%", "", p) }
		$2 == "[blkfilter]" { bf += p }
		$2 == "[blksnap]" { bs += p }
		$2 == "[unknown]" && $3 == "[k]" { tr += p }
		$NF == "pv_native_safe_halt" || $NF == "default_idle" { idle += p }
		END { printf "bench: prof %s %s %.2f %.2f %.2f %.2f\n", run, n + 0, bf, bs, tr, idle }'
}
# profile RUN CONFIG TEST: TEST (seqw, randw, rew) on CONFIG, sampled.
profile() {
	local run=$1 c=$2 t=$3 off size out=/tmp/bench-prof.$1 pid
	setup "$c"
	check "$c"
	local rw=randwrite bs=4k
	case $t in
	seqw) off=$OFF_SEQ size=$SEQ rw=write bs=1m ;;
	randw) off=$OFF_RND size=$RND ;;
	rew)
		off=$OFF_REW size=$REW
		rew_prepare "profile $run"
		;;
	esac
	# Sampled for the runtime from one second into a run two seconds
	# longer: fio's start and end are not the workload.
	runtime=$((runtime + 2)) fio_job "$DEV" "$rw" "$bs" "$off" "$size" 1 \
		>/dev/null &
	pid=$!
	sleep 1
	perf record -q -o "$out" -C "$cpu" -e cpu-clock -F 2000 -- sleep "$runtime" ||
		fail "perf record $run"
	wait "$pid" || fail "profile $run"
	check "$c"
	# Reported once the modules are gone: perf then names their
	# symbols from what it recorded, not from files it cannot find.
	teardown
	prof_report "$run" "$out"
	rm -f "$out"
}
if command -v perf >/dev/null; then
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	profile seqw-track track seqw
	profile randw-track track randw
	profile rew-snapd snapd rew
	# As large as the original, so that the same random region fits
	# (no memory behind it).
	modprobe null_blk nr_devices=1 queue_mode=2 irqmode=0 completion_nsec=0 \
		gb=$(((SPAN + 1023) / 1024)) memory_backed=0 || fail "modprobe null_blk"
	ORIG_SAVED=$ORIG
	ORIG=/dev/nullb0
	profile randw-track-nullb track randw
	ORIG=$ORIG_SAVED
	rmmod null_blk || fail "rmmod null_blk"
	phase profile
else
	echo "bench: note: no perf in the guest, no CPU profile"
fi
# ---- take latency under load ----------------------------------------------
dm_remove bthin
dm_remove bpool
teardown
mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 "$ORIG" ||
	fail "mkfs.ext4"
mount "$ORIG" /mnt/bench-ext4 || fail "mount ext4"
load_mods
snap attach "$ORIG"
# The freeze-to-thaw window from the function tracer: the entries of the
# block layer's freeze and thaw calls that blksnap makes.  Set up before
# fio starts and taken down after it stops: switching a tracer patches
# kernel code (ftrace call sites, the scheduler's tracepoints), which
# QEMU's multi-threaded TCG may run stale on the other CPU (see
# tests/selftest/003-code-patching.sh); tracing_on patches nothing.
window=0
if [[ -w $TR/set_ftrace_filter ]]; then
	echo 0 >"$TR/tracing_on"
	echo nop >"$TR/current_tracer"
	: >"$TR/set_ftrace_filter"
	for f in bdev_freeze bdev_thaw freeze_bdev thaw_bdev blkfilter_sync; do
		echo "$f" >>"$TR/set_ftrace_filter" 2>/dev/null
	done
	if grep -q . "$TR/set_ftrace_filter" && echo function >"$TR/current_tracer"; then
		window=1
	fi
fi
fio --name=load --directory=/mnt/bench-ext4 --size=256M --rw=randwrite \
	--bs=4k --iodepth="$QD" --direct=1 --ioengine=libaio --time_based \
	--runtime=3600 --cpus_allowed="$cpu" >/dev/null 2>&1 &
fiopid=$!
sleep "$LOADWAIT"
kill -0 "$fiopid" 2>/dev/null || fail "fio on ext4 did not start"
echo "bench: takeload fio randwrite 4k iodepth=$QD direct on ext4 on $ORIG, storage $STORE"
echo "bench: takewindow $( ((window)) && echo ftrace || echo none)"
# window_ns: from the first freeze to the last thaw in the trace, then
# from the first freeze to the first blkfilter_sync (the filesystems'
# freeze; what follows up to the thaw is blksnap's switch), or "-".
window_ns() {
	awk 'function ts(l, a, n) { sub(/:.*/, "", l); n = split(l, a, " "); return a[n] }
		/ (bdev_freeze|freeze_bdev) / && f == "" { f = ts($0) }
		/ blkfilter_sync / && s == "" { s = ts($0) }
		/ (bdev_thaw|thaw_bdev) / { t = ts($0) }
		END {
			if (f == "" || t == "")
				exit
			printf "%.0f %s\n", (t - f) * 1e9, s == "" ? "-" : sprintf("%.0f", (s - f) * 1e9)
		}' "$TR/trace"
}
for ((i = 1; i <= TAKES; i++)); do
	id=$(snapctl create "$STORE" "$(sectors_of "$STORE")") || fail "create"
	snap add "$ORIG" "$id"
	if ((window)); then
		echo 0 >"$TR/tracing_on"
		: >"$TR/trace"
		echo 1 >"$TR/tracing_on"
	fi
	out=$(snapctl take -T "$id") || fail "take $i"
	w=-
	if ((window)); then
		echo 0 >"$TR/tracing_on"
		w=$(window_ns)
		[[ -n $w ]] || fail "take $i: no freeze and thaw in the trace"
	fi
	[[ $(snap_field "$ORIG" error_code) == 0 ]] || fail "take $i: snapshot failed"
	snap destroy "$id"
	echo "bench: take $i ${out#take_ns=} $w"
	sleep 0.2
done
kill -0 "$fiopid" 2>/dev/null || fail "fio on ext4 stopped during the takes"
kill "$fiopid"
wait "$fiopid" 2>/dev/null
if ((window)); then
	echo nop >"$TR/current_tracer"
	: >"$TR/set_ftrace_filter"
fi
umount /mnt/bench-ext4 || fail "umount ext4"
teardown

phase takes
# ---- write-intent log: the first write into a region ----------------------
# Tracking only on ORIG with a write-intent log (cbtlog) on the raw STORE
# disk, regions of 1 MiB (the smallest: thousands of first writes in
# seconds). 4 KiB writes at QD 1, one at the start of each of the first
# LOGN regions of ORIG, in three passes over the same offsets: "first"
# (every write the first into its region since the log's attach: it waits
# for one log write with a flush before it passes), "marked" (the same
# writes again, their regions marked: no log I/O), and "base" (no module
# loaded). Completion latency (fio's clat, µs) median and 90th percentile,
# and the log writes each pass made.
LOGN=$((quick ? 1024 : 4096))
# logpass NAME: one pass; prints "bench: logfirst NAME IOS P50 P90 LOGW".
logpass() {
	local out l0=0 l1=0
	attached && l0=$(cbtlog "$ORIG" status | sed -n 's/^sequence=//p')
	out=$(fio --name=lf --filename="$(fio_file "$ORIG")" --allow_file_create=0 \
		--direct=1 --ioengine=libaio --iodepth=1 --rw=write:1020k --bs=4k \
		--size="${LOGN}M" --number_ios="$LOGN" --cpus_allowed="$cpu" \
		--percentile_list=50:90 --output-format=terse --terse-version=3 2>&1) ||
		{ echo "$out" >&2; fail "log pass $1"; }
	attached && l1=$(cbtlog "$ORIG" status | sed -n 's/^sequence=//p')
	grep ';' <<<"$out" | tail -n1 | awk -F';' -v n="$1" -v lw=$((l1 - l0)) '
		{ p50 = $59; p90 = $60; sub(/.*=/, "", p50); sub(/.*=/, "", p90)
		  printf "bench: logfirst %s %d %s %s %d\n", n, $47 / 4, p50, p90, lw }'
}
teardown
load_mods
snap attach "$ORIG"
cbtlog -r 1048576 "$ORIG" attach "$STORE" >/dev/null || fail "attach a log on $STORE"
settle "$ORIG" "$STORE"
logpass first
[[ $(cbtlog "$ORIG" status | sed -n 's/^failed=//p') == 0 ]] || fail "the log failed"
settle "$ORIG" "$STORE"
logpass marked
cbtlog "$ORIG" detach >/dev/null || fail "detach the log"
teardown
settle "$ORIG"
logpass base
phase logfirst
# ---- attach and take on a 4 TiB device -----------------------------------
# meminfo_kib: kernel memory that a module's allocations show in: Slab,
# VmallocUsed, Percpu (KiB, summed), and the parts.
meminfo_kib() {
	awk '/^(Slab|VmallocUsed|Percpu):/ { s += $2; p = p $1 $2 " " }
		END { print s, p }' /proc/meminfo
}
dm_create bz "0 $BIG_SECTORS zero"
load_mods
for p in tracking_block_minimum_shift tracking_block_maximum_count \
	tracking_block_maximum_shift chunk_minimum_shift chunk_maximum_count \
	chunk_maximum_shift; do
	echo "bench: big param_$p $(cat "/sys/module/blksnap/parameters/$p")"
done
sync
sleep 1
m0=$(meminfo_kib)
t0=${EPOCHREALTIME/./}
snap attach /dev/mapper/bz
t1=${EPOCHREALTIME/./}
sleep 1
m1=$(meminfo_kib)
id=$(snapctl create "$STORE" "$(sectors_of "$STORE")") || fail "create (4 TiB)"
snap add /dev/mapper/bz "$id"
sleep 1
m2=$(meminfo_kib)
out=$(snapctl take -T "$id") || fail "take (4 TiB)"
sleep 1
m3=$(meminfo_kib)
echo "bench: big sectors $BIG_SECTORS"
echo "bench: big attach_us $((t1 - t0))"
echo "bench: big take_ns ${out#take_ns=}"
echo "bench: big tracker_block_size $(cbt /dev/mapper/bz block_size)"
echo "bench: big tracker_block_count $(cbt /dev/mapper/bz block_count)"
echo "bench: big mem_before_kib $m0"
echo "bench: big mem_attached_kib $m1"
echo "bench: big mem_added_kib $m2"
echo "bench: big mem_taken_kib $m3"
snap destroy "$id"
snap detach /dev/mapper/bz
dm_remove bz
teardown
phase big
echo "bench: snapdone"
