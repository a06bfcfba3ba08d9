#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest side of the blkfilter-idle benchmark (run by bench/run.sh through
# tests/vm/run.sh): 4 KiB random-read IOPS of /dev/nullb0 (null_blk, no
# memory backing, inline completion) with fio, in four configurations
# measured alternately in this one boot:
#   A  blkfilter not loaded (baseline)
#   B  blkfilter.ko and bftest.ko loaded, no filter attached anywhere
#   C  bftest attached to /dev/nullb1, the other device (the per-bio hook is
#      registered, nullb0 has no filter)
#   D  bftest attached to /dev/nullb0 itself
# and with bench.track=1 three more, of 4 KiB random writes over the first
# WRITE_MIB of the device:
#   W  blkfilter not loaded (the writes' baseline)
#   T  blksnap attached to /dev/nullb0, no snapshot (change tracking only)
#   L  T with a write-intent log (cbtlog, 64 MiB regions, a file on tmpfs),
#      every region of the write region marked before (one pass of 1 MiB
#      writes): the steady state; the log must get no write during the run
#   S  a blksnap snapshot of /dev/nullb0 held, difference storage on
#      /dev/nullb1, the region preserved once before (1 MiB writes over it):
#      rewrites of preserved chunks; nullb1 must get no write during the run
# and with bench.ibt=1 C, D and T again with blkfilter.ko's IBT-safe hooks
# (ibt_safe=1: what runs on CPUs with indirect branch tracking), as c, d
# and t.  The others run with its default (the fastest where the CPU does
# not track indirect branches; QEMU's emulation never does).
#
# Settings come from the kernel command line: bench.reps=N (default 5),
# bench.runtime=SECONDS per measurement (default 5), bench.track=0|1,
# bench.ibt=0|1.
# bench/run.sh also runs it in a boot whose guest clock counts instructions
# (QEMU -icount): there each IOPS is a count of instructions per I/O.
#
# Output: "bench: KEY VALUE..." lines, one "bench: iops CONFIG REP IOPS" and
# one "bench: hook CONFIG REP BEFORE AFTER" (__submit_bio hooked before and
# after the run: yes, no, - unknown) per measurement, one "bench: cowwrites
# S REP N" (writes nullb1 got during S's run) per S, one "bench: logwrites
# L REP N" (log writes during L's run) per L, then "bench: done".
# Exit 0, 77 (skip) or 1.
# timeout: 3600
. "$TEST_BIN/testlib.sh"

reps=5
runtime=5
track=0
ibt=0
read -r -a cmdline </proc/cmdline
for arg in "${cmdline[@]}"; do
	case $arg in
	bench.reps=*) reps=${arg#bench.reps=} ;;
	bench.runtime=*) runtime=${arg#bench.runtime=} ;;
	bench.track=*) track=${arg#bench.track=} ;;
	bench.ibt=*) ibt=${arg#bench.ibt=} ;;
	esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || fail "bad bench.reps=$reps"
[[ $runtime =~ ^[1-9][0-9]*$ ]] || fail "bad bench.runtime=$runtime"
[[ $track == [01] ]] || fail "bad bench.track=$track"
[[ $ibt == [01] ]] || fail "bad bench.ibt=$ibt"

need_cmd fio modprobe insmod rmmod bfctl
((track)) && need_cmd snapctl blockdev cbtlog
DEV=/dev/nullb0
OTHER=/dev/nullb1
NULLB_OPTS=(nr_devices=2 queue_mode=2 irqmode=0 completion_nsec=0 gb=4
	memory_backed=0)
WRITE_MIB=1024

modprobe null_blk "${NULLB_OPTS[@]}" || skip "cannot load null_blk"
# Fixed user address layout for fio: under QEMU TCG (direct-mapped software
# TLB) a random layout made some whole runs 20-35 % slower than the rest.
aslr=$(cat /proc/sys/kernel/randomize_va_space)
echo 0 >/proc/sys/kernel/randomize_va_space
trap 'cleanup_filters; cleanup_blksnap >/dev/null; rmmod null_blk 2>/dev/null
	echo "$aslr" >/proc/sys/kernel/randomize_va_space' EXIT
for _ in $(seq 50); do
	[[ -b $DEV && -b $OTHER ]] && break
	sleep 0.1
done
[[ -b $DEV && -b $OTHER ]] || fail "no $DEV and $OTHER after loading null_blk"
for d in "$DEV" "$OTHER"; do
	# No I/O scheduler: the cheapest path, so that a hook's cost shows.
	echo none >"/sys/block/${d#/dev/}/queue/scheduler" 2>/dev/null
done

# fio pinned to the last CPU; the others take the rest of the guest.
cpu=$(($(nproc) - 1))
FIO_OPTS=(--name=bench --filename="$DEV" --direct=1
	--bs=4k --iodepth=32 --numjobs=1 --cpus_allowed="$cpu"
	--output-format=terse --terse-version=3)

# fio_iops ENGINE SECONDS [RW]: IOPS of one time-based run of random reads
# (terse field 8) over the device or, with RW randwrite, writes (field 49)
# over its first WRITE_MIB.
fio_iops() {
	local out err iops rw=${3:-randread} f=8 size=()
	[[ $rw == randwrite ]] && f=49 size=(--size="${WRITE_MIB}M")
	out=$(fio "${FIO_OPTS[@]}" --rw="$rw" --ioengine="$1" --time_based \
		--runtime="$2" "${size[@]}") || return 1
	out=$(grep ';' <<<"$out" | tail -n1)
	err=$(cut -d';' -f5 <<<"$out")
	iops=$(cut -d';' -f"$f" <<<"$out")
	[[ $err == 0 && $iops =~ ^[0-9]+$ && $iops -gt 0 ]] || return 1
	echo "$iops"
}

engine=
for e in io_uring libaio; do
	if fio_iops "$e" 1 >/dev/null 2>&1; then
		engine=$e
		break
	fi
done
[[ -n $engine ]] || fail "fio works with neither io_uring nor libaio on $DEV"

# Configurations. Each set_X goes there from any other state.
filters_loaded() { [[ -d /sys/module/blkfilter ]]; }
# MODE: the ibt_safe parameter blkfilter.ko is loaded with, 0 or 1; the
# mode it shows, N or Y.
MODE=0
blkfilter_mode() { cat /sys/module/blkfilter/parameters/ibt_safe 2>/dev/null; }
# want_mode 0|1: the next configuration's mode; blkfilter and what uses it
# are unloaded if loaded in the other one.
want_mode() {
	local was=$MODE
	MODE=$1
	[[ $was == "$MODE" ]] || set_A
}
insmod_blkfilter() {
	insmod "$TEST_MODULES/blkfilter.ko" "ibt_safe=$MODE" ||
		fail "insmod blkfilter ibt_safe=$MODE"
}
tracking() { [[ $(cat "/sys/block/${DEV#/dev/}/filter" 2>/dev/null) == blksnap ]]; }
SNAP_ID=
# no_blksnap: no snapshot, blksnap detached and unloaded (blkfilter may
# stay).
no_blksnap() {
	[[ -d /sys/module/blksnap ]] || return 0
	if [[ -n $SNAP_ID ]]; then
		snapctl destroy "$SNAP_ID" || fail "destroy snapshot $SNAP_ID"
		SNAP_ID=
	fi
	if tracking; then
		snapctl detach "$DEV" || fail "detach blksnap from $DEV"
	fi
	rmmod blksnap || fail "rmmod blksnap"
}
attached_to() { [[ $(cat "/sys/block/${1#/dev/}/filter" 2>/dev/null) == bftest ]]; }
load() {
	filters_loaded && return 0
	insmod_blkfilter
	insmod "$TEST_MODULES/bftest.ko" || fail "insmod bftest"
}
attach() { attached_to "$1" || bf attach "$1" bftest; }
detach() {
	if filters_loaded && attached_to "$1"; then
		bf detach "$1" bftest
	fi
	return 0
}
set_A() {
	no_blksnap
	detach "$DEV"
	detach "$OTHER"
	if filters_loaded; then
		if [[ -d /sys/module/bftest ]]; then
			rmmod bftest || fail "rmmod bftest"
		fi
		rmmod blkfilter || fail "rmmod blkfilter"
	fi
}
set_B() { want_mode 0; no_blksnap; load; detach "$DEV"; detach "$OTHER"; }
set_C() { want_mode 0; no_blksnap; load; detach "$DEV"; attach "$OTHER"; }
set_D() { want_mode 0; no_blksnap; load; detach "$OTHER"; attach "$DEV"; }
set_c() { want_mode 1; no_blksnap; load; detach "$DEV"; attach "$OTHER"; }
set_d() { want_mode 1; no_blksnap; load; detach "$OTHER"; attach "$DEV"; }
set_W() { set_A; }
# log_field KEY: a field of the write-intent log's state on DEV.
log_field() {
	cbtlog "$DEV" status | sed -n "s/^$1=//p"
}
set_T() {
	want_mode 0
	if tracking && [[ $(log_field attached) == 1 ]]; then
		cbtlog "$DEV" detach >/dev/null || fail "detach the log of $DEV"
	fi
	tracking && [[ -z $SNAP_ID ]] && return 0
	set_A
	insmod_blkfilter
	insmod "$TEST_MODULES/blksnap.ko" || fail "insmod blksnap"
	snapctl attach "$DEV" || fail "attach blksnap to $DEV"
}
set_t() {
	want_mode 1
	tracking && [[ -z $SNAP_ID ]] && return 0
	set_A
	insmod_blkfilter
	insmod "$TEST_MODULES/blksnap.ko" || fail "insmod blksnap"
	snapctl attach "$DEV" || fail "attach blksnap to $DEV"
}
# set_L: T with a log on tmpfs, every region of the write region marked.
set_L() {
	set_T
	local log=$TEST_TMP/bench-wil size
	size=$(log_field log_size)
	rm -f "$log"
	truncate -s "$size" "$log" || fail "log file"
	cbtlog "$DEV" attach "$log" >/dev/null || fail "attach a log to $DEV"
	fio --name=mark --filename="$DEV" --direct=1 --ioengine="$engine" \
		--rw=write --bs=1m --iodepth=8 --size="${WRITE_MIB}M" \
		--output-format=terse >/dev/null || fail "mark the write region"
	[[ $(log_field failed) == 0 ]] || fail "the log failed"
}

# set_S: a new snapshot of DEV (storage: all of OTHER), the write region
# preserved by one pass of 1 MiB writes.
set_S() {
	set_T
	SNAP_ID=$(snapctl create "$OTHER" "$(blockdev --getsz "$OTHER")") ||
		fail "create a snapshot, storage $OTHER"
	snapctl add "$DEV" "$SNAP_ID" || fail "add $DEV to $SNAP_ID"
	snapctl take "$SNAP_ID" || fail "take $SNAP_ID"
	local s0
	s0=$(blkstat "$OTHER" 6)
	fio --name=preserve --filename="$DEV" --direct=1 --ioengine="$engine" \
		--rw=write --bs=1m --iodepth=8 --size="${WRITE_MIB}M" \
		--output-format=terse >/dev/null || fail "preserve the write region"
	(($(blkstat "$OTHER" 6) - s0 >= WRITE_MIB * 2048)) ||
		fail "the write region was not copied to $OTHER"
}

# state: "unloaded", "tracking", or "loaded DEV-ATTACHED OTHER-ATTACHED
# COUNT".
state() {
	filters_loaded || { echo unloaded; return; }
	if tracking; then
		if [[ -n $SNAP_ID && -n $(snapctl collect) ]]; then
			echo snapshot
		elif [[ $(log_field attached) == 1 ]]; then
			echo log
		else
			echo tracking
		fi
		return
	fi
	local d=0 o=0
	attached_to "$DEV" && d=1
	attached_to "$OTHER" && o=1
	echo "loaded $d $o $(attached_count)"
}
declare -A want_state=([A]="unloaded" [B]="loaded 0 0 0" [C]="loaded 0 1 1"
	[D]="loaded 1 0 1" [W]="unloaded" [T]="tracking" [L]="log" [S]="snapshot"
	[c]="loaded 0 1 1" [d]="loaded 1 0 1" [t]="tracking")
# check_state CONFIG: the configuration is what it should be, in its mode.
check_state() {
	local s m
	s=$(state)
	[[ $s == "${want_state[$1]}" ]] ||
		fail "config $1: state is '$s', expected '${want_state[$1]}'"
	filters_loaded || return 0
	m=$(blkfilter_mode)
	case $1 in
	[cdt]) [[ $m == Y ]] || fail "config $1: blkfilter's ibt_safe is $m, not Y" ;;
	*) [[ $m == N ]] || fail "config $1: blkfilter's ibt_safe is $m, not N" ;;
	esac
}

echo "bench: kernel $(uname -r)"
echo "bench: cpus $(nproc)"
echo "bench: device $DEV null_blk ${NULLB_OPTS[*]}"
echo "bench: scheduler $(cat "/sys/block/${DEV#/dev/}/queue/scheduler")"
echo "bench: fio $(fio --version) ioengine=$engine direct=1 rw=randread bs=4k iodepth=32 numjobs=1 cpus_allowed=$cpu"
echo "bench: track $track"
echo "bench: ibt $ibt"
echo "bench: aslr off"
echo "bench: reps $reps"
echo "bench: runtime $runtime"

# Warm-up, not counted: first runs of fio and the device are slower.
fio_iops "$engine" 2 >/dev/null || fail "warm-up fio run"

# hook_state: "yes" if ftrace calls something at __submit_bio()'s entry
# (blkfilter's bio hook, while a filter is attached), "no", or "-" without
# tracefs.
hook_state() {
	local rc=0
	ftrace_hooked __submit_bio || rc=$?
	case $rc in
	0) echo yes ;;
	1) echo no ;;
	*) echo - ;;
	esac
}

configs=(A B C D)
((track)) && configs+=(W T L S)
((ibt)) && configs+=(c d)
((ibt && track)) && configs+=(t)
for ((r = 1; r <= reps; r++)); do
	for c in "${configs[@]}"; do
		# When each configuration starts, in the guest's clock: what a
		# kernel log line's time stamp falls into.
		echo "bench: note config $c rep $r at $(cut -d' ' -f1 /proc/uptime) s"
		"set_$c"
		check_state "$c"
		sleep 1 # let module load/attach work settle
		before=$(hook_state)
		rw=randread
		[[ $c == [WTLSt] ]] && rw=randwrite
		w0=$(blkstat "$OTHER" 4)
		[[ $c == L ]] && l0=$(log_field sequence)
		iops=$(fio_iops "$engine" "$runtime" "$rw") ||
			fail "fio run, config $c rep $r"
		check_state "$c"
		echo "bench: iops $c $r $iops"
		# Rewrites of preserved chunks copy nothing.
		[[ $c == S ]] && echo "bench: cowwrites S $r $(($(blkstat "$OTHER" 4) - w0))"
		# The steady state: every write finds its region on the log.
		[[ $c == L ]] && echo "bench: logwrites L $r $(($(log_field sequence) - l0))"
		echo "bench: hook $c $r $before $(hook_state)"
	done
done
set_A
echo "bench: done"
