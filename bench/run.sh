#!/bin/bash
# Benchmarks of blksnap, run in QEMU guests booting Debian's stock kernels.
#
# Usage: bench/run.sh [OPTIONS]
#
# One boot per kernel runs two guest scripts:
#  - blkfilter-idle: 4 KiB random-read IOPS of a null_blk device with
#    blkfilter not loaded (A), loaded with nothing attached (B), with bftest
#    attached to another device (C) and to the measured device itself (D),
#    measured alternately A,B,C,D,A,B,...; then, in a second, short boot
#    whose guest clock counts instructions (QEMU -icount), the same with
#    three configurations of 4 KiB random writes more: not loaded (W),
#    blksnap attached, tracking only (T), and rewrites of chunks preserved
#    by a snapshot held (S)
#  - snapshot-cost: what snapshots cost a running workload on virtio disks:
#    no snapshot, blksnap tracking only, blksnap snapshots (storage on a
#    disk, on tmpfs), dm-snapshot and dm-thin, for first-touch 4 KiB random
#    writes at queue depths 1, 8 and 32 and 1 MiB sequential ones
#    (time-based, every write a first touch), rewrites, reads of the
#    images, the copy-on-write stages of a held write (blksnap's
#    tracepoints, where it has them), take latency under load, the first
#    write into a region of a write-intent log, and attach and take on a
#    4 TiB device.
# Prints tables of medians and ratios with a PASS/MISS line per target, and
# writes them with the raw numbers to build/bench/results-KVER-DATE.txt and
# a chart of the ratios to build/bench/results-KVER-DATE.png (gnuplot).
# See bench/README.md.
#
# Options:
#   --kernel 6.12|6.1   kernel series (default 6.12); may be repeated, one
#                       boot per kernel
#   --quick             smoke run: 1 repetition, short runs, small regions
#   --reps N            repetitions (default 5; quick 1)
#   --runtime SECONDS   length of one time-based measurement (default 3;
#                       quick 1)
#   --ft-runtime SECONDS
#                       length of one first-touch write run (default 10;
#                       quick 1); the first-touch regions and the disks
#                       grow with it
#   --seq-region MIB    the first-touch sequential region (default
#                       ft-runtime x 1200 MiB/s, what a snapshot's writes
#                       may reach); a run that writes through it fails
#   --rand-region MIB   the first-touch random region (default 4 x what
#                       ft-runtime of 20000 IOPS writes); the same
#   --trace SECONDS     length of each traced run of the copy-on-write
#                       stages (default 3; quick 1; 0: none)
#   --chunk-kib N       blksnap's chunk for those (default: what the module
#                       logs when the device is added to the snapshot)
#   --out DIR           where results and logs go (default build/bench)
#   --ab TREE           A/B: the first-touch rounds (and their traced runs)
#                       only, with the modules of TREE (another checkout,
#                       built here for the same kernel) as configurations
#                       snapdb and snaptb beside this tree's snapd and
#                       snapt, rotated with them in every round; no
#                       blkfilter-idle boots; results in
#                       results-ab-KVER-DATE.txt
#   --tcg-thread multi|single
#                       QEMU's TCG for the timed boot (default multi: the
#                       guest's two CPUs run at once, on two host cores);
#                       single runs both on one host thread, half the
#                       host's CPU for a run whose numbers are only
#                       checked to exist (the smoke run of make check)
#   --counted yes|no|only  the boot that counts instructions (default yes,
#                       except for 6.1: Debian's 6.1 kernel prints nothing
#                       and never reaches the tests under QEMU 7.2's
#                       -icount here, with sleep=off or on; its targets
#                       are then MISS for want of a number); only: that
#                       boot alone, its numbers and targets, no timed boot
#
# Modules and test programs are built first (make modules, make tests-bin),
# unless MODDIR names a directory of already built modules.
#
# Exit status: 0 when every configuration produced numbers, 1 when the VM
# run failed or a number is missing or not numeric, 2 usage or setup error.
# A ratio below its target prints MISS but never fails the run: timings in
# an emulated guest are noisy.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GUEST=$TOP/bench/guest/blkfilter-idle.sh
GUEST_SNAP=$TOP/bench/guest/snapshot-cost.sh
TARGET=0.99 # B/A: a loaded blkfilter with nothing attached costs < 1 %
TARGET_TRACK=0.98 # T/W, by instruction count: tracking costs < 2 %
# IBT-safe mode: at most 20 % more instructions per bio than the default
# (d/D pass-through, t/T tracking only); as ratios of IOPS, >= 1 / 1.2.
TARGET_IBT=0.833
TARGET_REWRITE=0.95 # S/W, by instruction count: rewrites with a snapshot
TARGET_LOG=0.98 # L/T, by instruction count: a write-intent log's steady state
CONFIGS=(A B C D)
# c, d, t: C, D, T with blkfilter.ko's IBT-safe hooks (ibt_safe=1).
CONFIGS_COUNTED=(A B C D W T L S c d t)
declare -A LABEL=(
	[A]="blkfilter not loaded (baseline)"
	[B]="loaded, no filter attached"
	[C]="bftest on nullb1, not on nullb0"
	[D]="bftest on nullb0"
	[W]="writes: blkfilter not loaded"
	[T]="writes: blksnap tracking only"
	[L]="writes: tracking, a write-intent log, regions marked"
	[S]="writes: snapshot held, rewrites"
	[c]="C, IBT-safe hooks"
	[d]="D, IBT-safe hooks"
	[t]="T, IBT-safe hooks"
)

kernels=()
quick=
reps=
runtime=
ft_runtime=
seq_region=
rand_region=
trace=
chunk_kib=
out=$TOP/build/bench
counted=
ab=
tcg_thread=multi

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
	exit "${1:-2}"
}
die() {
	echo "bench: $*" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--kernel) kernels+=("${2:?}"); shift 2 ;;
	--quick) quick=1; shift ;;
	--reps) reps=${2:?}; shift 2 ;;
	--runtime) runtime=${2:?}; shift 2 ;;
	--ft-runtime) ft_runtime=${2:?}; shift 2 ;;
	--seq-region) seq_region=${2:?}; shift 2 ;;
	--rand-region) rand_region=${2:?}; shift 2 ;;
	--trace) trace=${2:?}; shift 2 ;;
	--chunk-kib) chunk_kib=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--counted) counted=${2:?}; shift 2 ;;
	--ab) ab=${2:?}; shift 2 ;;
	--tcg-thread) tcg_thread=${2:?}; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "bench: unknown argument $1" >&2; usage ;;
	esac
done
((${#kernels[@]})) || kernels=(6.12)
[[ $tcg_thread == multi || $tcg_thread == single ]] ||
	die "--tcg-thread: multi or single, not '$tcg_thread'"
if [[ -n $quick ]]; then
	reps=${reps:-1}
	runtime=${runtime:-1}
	ft_runtime=${ft_runtime:-1}
	trace=${trace:-1}
else
	reps=${reps:-5}
	runtime=${runtime:-3}
	ft_runtime=${ft_runtime:-10}
	trace=${trace:-3}
fi
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps needs a positive number"
[[ $runtime =~ ^[1-9][0-9]*$ ]] || die "--runtime needs a positive number"
[[ $ft_runtime =~ ^[1-9][0-9]*$ ]] || die "--ft-runtime needs a positive number"
[[ $trace =~ ^[0-9]+$ ]] || die "--trace needs a number of seconds"
[[ -z $chunk_kib || $chunk_kib =~ ^[1-9][0-9]*$ ]] || die "--chunk-kib needs a positive number"
# First-touch regions, MiB: every write of a run must be the first to its
# block, so a region must hold all that the fastest configuration that
# needs it writes in a run.  Random: the baseline at QD 32, at most
# RAND_IOPS: 4 KiB x RAND_IOPS x ft-runtime, four times over, so that
# fio's random map stays sparse.
# Sequential: a snapshot's writes, at most SEQ_RATE MiB/s (the baseline and
# cowio, which need no first touch, go round it).  The guest fails a run
# that wrote through its region.
RAND_IOPS=20000
SEQ_RATE=1200
rand_region=${rand_region:-$(((RAND_IOPS * 4 * 4 * ft_runtime / 1024 + 63) / 64 * 64))}
seq_region=${seq_region:-$((SEQ_RATE * ft_runtime))}
[[ $rand_region =~ ^[1-9][0-9]*$ ]] || die "--rand-region needs a positive number"
[[ $seq_region =~ ^[1-9][0-9]*$ ]] || die "--seq-region needs a positive number"
# Every disk of the same size, sparse: the original holds the small
# regions (320 MiB at most) and both first-touch ones; what the host file
# system gets is what the guest prefills (about the original, the
# sequential region again on the storage disk and the random one on the
# COW disk) and what the runs write.
disk_gib=$(((320 + seq_region + rand_region + 256 + 1023) / 1024))
disk_gib=$((disk_gib < 3 ? 3 : disk_gib))
[[ -z $counted || $counted =~ ^(yes|no|only)$ ]] || die "--counted: yes, no or only, not '$counted'"
mode=$([[ -n $quick ]] && echo quick || echo full)
if [[ -n $ab ]]; then
	[[ -f $ab/kernel/blksnap/area.c ]] || die "--ab: $ab is not a blksnap tree"
	ab=$(cd "$ab" && pwd)
	[[ $ab != "$TOP" ]] || die "--ab: $ab is this tree"
	mode="$mode, A/B first-touch only (B: $ab)"
fi
[[ $tcg_thread == multi ]] || mode="$mode, single-threaded TCG"

mkdir -p "$out/logs"

# median: of the numbers on stdin, one a line.
median() {
	sort -n | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			if (NR % 2) print v[(NR + 1) / 2]
			else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# chart_png DATA PNG KERNEL DATE: grouped bars of the ratios (DATA.writes,
# DATA.reads, DATA.idle from report.awk), each group's target a red dashed
# line.
chart_png() {
	local data=$1 png=$2 f
	if ! command -v gnuplot >/dev/null; then
		echo "bench: no gnuplot (scripts/deps.sh installs gnuplot-nox), no chart"
		return 0
	fi
	[[ -s $data.writes && -s $data.reads && -s $data.idle ]] || return 0
	# targets: a dashed segment over each group (row N at x = N - 2)
	for f in writes reads idle; do
		awk 'NR > 1 && $NF != "-" {
			printf "set arrow from %.2f,%s to %.2f,%s nohead front lc rgb \"red\" lw 2 dt 2\n",
				NR - 2 - 0.45, $NF, NR - 2 + 0.45, $NF
		}' "$data.$f" >"$data.$f.gp"
	done
	gnuplot 2>"$data.err" <<-EOF || { echo "bench: gnuplot failed:"; cat "$data.err"; }
		set terminal pngcairo size 1400,520 font ",10" noenhanced
		set output "$png"
		set datafile missing "-"
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set yrange [0:*]
		set grid ytics
		set key below horizontal font ",9"
		set multiplot layout 1,3 title "blksnap bench, $3, $4: ratios of medians; red dashes: targets"
		set title "writes: ratio to no snapshot"
		load "$data.writes.gp"
		plot for [i=2:6] "$data.writes" using i:xtic(1) title columnheader(i)
		unset arrow
		set title "reads: image / original device"
		load "$data.reads.gp"
		plot for [i=2:5] "$data.reads" using i:xtic(1) title columnheader(i)
		unset arrow
		set title "null_blk 4 KiB reads: blkfilter / not loaded"
		load "$data.idle.gp"
		plot for [i=2:4] "$data.idle" using i:xtic(1) title columnheader(i)
		unset multiplot
	EOF
	[[ -s $png ]] && echo "bench: chart in $png"
	return 0
}

# The blkfilter-idle numbers of one boot, set by idle_parse: IV[C] the
# IOPS of configuration C in run order, IM[C] their median, IH[C] "HOOKED
# CHECKED" (__submit_bio's hook seen in so many of the checks), II[KEY] the
# other "bench: KEY VALUE" lines, IBAD what was wrong.
declare -A IV=() IM=() IH=() II=()
IBAD=()

# idle_parse REPS CONFIG...: the guest's "bench: " lines (prefix removed)
# on stdin.
idle_parse() {
	local n=$1 k v c r w nh nk vs=()
	shift
	IV=() IM=() IH=() II=() IBAD=()
	local -A hooks=()
	while read -r k v; do
		case $k in
		iops)
			read -r c r v <<<"$v"
			if [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
				IV[$c]+="$v "
			else
				IBAD+=("config $c rep $r: '$v' is not a number")
			fi
			;;
		hook)
			# CONFIG REP BEFORE AFTER: __submit_bio hooked (yes/no/-)
			read -r c r v <<<"$v"
			hooks[$c]+="$v "
			;;
		cowwrites)
			# S REP N: the storage's writes during a run of rewrites
			read -r c r v <<<"$v"
			[[ $v == 0 ]] || IBAD+=("config $c rep $r: $v writes to the storage during rewrites of preserved chunks")
			;;
		logwrites)
			# L REP N: the log's writes during a run in the steady state
			read -r c r v <<<"$v"
			[[ $v == 0 ]] || IBAD+=("config $c rep $r: $v log writes in the steady state")
			;;
		m | wa | diag | ftfill | dmexc | latrun | lat | take | takewindow | big | logfirst | phase | note) ;;
		*) II[$k]=$v ;;
		esac
	done
	# What is measured is what is meant: the bio hook is in place while
	# a filter is attached and not otherwise (blkfilter has no per-bio
	# code then).
	for c in "$@"; do
		nh=0
		nk=0
		for w in ${hooks[$c]:-}; do
			[[ $w == - ]] && continue
			nk=$((nk + 1))
			[[ $w == yes ]] && nh=$((nh + 1))
		done
		IH[$c]="$nh $nk"
		if ((nk)); then
			case $c in
			A | B | W) ((nh == 0)) || IBAD+=("config $c: __submit_bio hooked in $nh of $nk checks") ;;
			*) ((nh == nk)) || IBAD+=("config $c: __submit_bio not hooked in $((nk - nh)) of $nk checks") ;;
			esac
		fi
		read -r -a vs <<<"${IV[$c]:-}"
		((${#vs[@]} == n)) || IBAD+=("config $c: ${#vs[@]} of $n numbers")
		((${#vs[@]})) || continue
		IM[$c]=$(printf '%s\n' "${vs[@]}" | median)
	done
	[[ -n ${II[done]+x} ]] || IBAD+=("no 'bench: done' line")
	return 0
}

# ratio X Y: X / Y to 3 places, or "-".
ratio() {
	awk -v x="${1:-}" -v y="${2:-}" 'BEGIN {
		if (x == "" || y == "" || y <= 0) print "-"
		else printf "%.3f\n", x / y
	}'
}

# idle_table CONFIG...: a row per configuration from IV and IM, its ratio
# to A's (W's for T), then the raw numbers.
idle_table() {
	local c b mn mx sp vs=()
	printf '%-2s %-34s %10s %10s %10s %7s %8s\n' "" configuration median min max spread "ratio"
	for c in "$@"; do
		read -r -a vs <<<"${IV[$c]:-}"
		if ((${#vs[@]} == 0)) || [[ -z ${IM[$c]:-} ]]; then
			printf '%-2s %-34s %10s\n' "$c" "${LABEL[$c]}" "-"
			continue
		fi
		mn=$(printf '%s\n' "${vs[@]}" | sort -n | head -n1)
		mx=$(printf '%s\n' "${vs[@]}" | sort -n | tail -n1)
		sp=$(awk -v a="$mn" -v b="$mx" -v m="${IM[$c]}" \
			'BEGIN { printf "%.1f%%", (m > 0 ? 100 * (b - a) / m : 0) }')
		b=A
		[[ $c == [WTLSt] ]] && b=W
		printf '%-2s %-34s %10s %10s %10s %7s %8s\n' "$c" "${LABEL[$c]}" \
			"${IM[$c]}" "$mn" "$mx" "$sp" "$(ratio "${IM[$c]}" "${IM[$b]:-}")"
	done
	echo
	echo "raw IOPS per repetition, in run order:"
	for c in "$@"; do
		echo "  $c: ${IV[$c]:-}"
	done
}

# target_line NAME RATIO TARGET: the PASS/MISS line, as report.awk's.
target_line() {
	awk -v n="$1" -v r="$2" -v t="$3" 'BEGIN {
		ok = r != "-" && r + 0 >= t + 0
		printf "bench: target %-22s ratio=%s target >= %s %s\n", n, r, t,
			(ok ? "PASS" : "MISS")
	}'
}

# report_errors REPORT: the "error: " lines of report.awk's REPORT added to
# the caller's bad[].
report_errors() {
	local l
	while read -r l; do
		bad+=("${l#error: }")
	done < <(grep '^error: ' <<<"$1" || true)
}

# report_body REPORT LINES: report.awk's tables and targets, the guest's
# raw numbers (LINES) and the caller's bad[] as error lines.
report_body() {
	grep -v '^error: ' <<<"$1"
	echo
	echo "raw numbers, in run order (bench: lines of the guest):"
	grep -E '^(m|il|wa|diag|ftfill|dmexc|latrun|lat|take|big|logfirst|prof|phase|note) ' <<<"$2" | sed 's/^/  /'
	if ((${#bad[@]})); then
		echo
		printf 'error: %s\n' "${bad[@]}"
	fi
}

# ab_report KVER DATE RESULTS LOAD0 LOAD1 LINES: the results of an A/B run
# (--ab): the first-touch tables of report.awk, the two builds named.
# Returns 1 if a number is missing.
ab_report() {
	local kver=$1 date=$2 res=$3 load0=$4 load1=$5 lines=$6 report
	local -a bad=()
	local ka=${MODDIR:-$TOP/build/$kver/modules-out}/blksnap.ko kb=$MODDIR_B/blksnap.ko
	report=$(awk -v reps="$reps" -v ab=1 -v only=ft -f "$TOP/bench/report.awk" <<<"$lines") ||
		bad+=("bench/report.awk failed")
	report_errors "$report"
	{
		echo "bench results, $date, kernel $kver, $mode"
		echo
		echo "A:         $TOP, $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?'), blksnap.ko sha256 $(sha256sum "$ka" | cut -c1-16)"
		echo "B:         $ab, $(git -C "$ab" describe --always --dirty 2>/dev/null || echo '?'), blksnap.ko sha256 $(sha256sum "$kb" | cut -c1-16)"
		grep -E '^snap(regions_mib|disks|fio|cpus) ' <<<"$lines" | sed 's/^snap\([a-z_]*\) /\1: /'
		echo "host:      $(nproc) CPUs, load $load0 -> $load1"
		report_body "$report" "$lines"
	} | tee "$res"
	echo "bench: results in $res"
	((${#bad[@]} == 0))
}

# counted_boot SERIES KVER STAMP: the boot that counts instructions; sets
# IM (its medians), idle_counted (its table), creps, cruntime and CBAD
# (what was wrong).
CBAD=()
creps=
cruntime=
idle_counted=
counted_boot() {
	CBAD=()
	idle_counted=
	# The second boot: blkfilter-idle again, with the guest's clock
	# counting instructions (1 ns each), so that an IOPS is 1e9 over the
	# instructions of an I/O: no host noise, one thread of TCG.  Three
	# repetitions are plenty (they agree to 0.1 %); 2 s runs.
	local series=$1 kver=$2 stamp=$3
	creps=$((reps < 3 ? reps : 3))
	cruntime=$((runtime < 2 ? runtime : 2))
	local clog=$out/logs/bench-counted-$kver-$stamp.log crc=0 docount=${counted:-yes}
	[[ -z $counted && $series == 6.1 ]] && docount=no
	IM=()
	if [[ $docount == no ]]; then
		echo "bench: no boot counting instructions on $kver (--counted no, the default for 6.1)"
		idle_counted="(not run: --counted no, the default for 6.1, whose kernel does not boot under -icount here)"
	else
		echo "bench: blkfilter-idle by instruction count (QEMU -icount) on $kver: $creps repetitions, ${cruntime} s runs"
		"$TOP/tests/vm/run.sh" --kernel "$series" --show-output \
			--disks 1 --disk-size 64M --icount 0 \
			--log-dir "$out/logs" --results "$out/logs/results-counted-$kver.txt" \
			--timeout $((300 + creps * ${#CONFIGS_COUNTED[@]} * (cruntime * 10 + 30))) \
			--append "bench.reps=$creps bench.runtime=$cruntime bench.track=1 bench.ibt=1" \
			"$GUEST" >"$clog" 2>&1 || crc=$?
		grep '^vm: ' "$clog" || true
		if ((crc)); then
			echo "bench: the counted VM run failed (exit $crc); its output:" >&2
			grep -v '^vm: ' "$clog" | tail -n 40 >&2
			CBAD+=("the counted VM run failed (exit $crc), log in $clog")
		else
			idle_parse "$creps" "${CONFIGS_COUNTED[@]}" \
				< <(tr -d '\r' <"$clog" | sed -n 's/^bench: //p')
			CBAD+=("${IBAD[@]/#/counted: }")
			idle_counted=$(idle_table "${CONFIGS_COUNTED[@]}")
		fi
	fi
}

# counted_report: the counted boot's table, targets and instruction
# counts, from IM and idle_counted.
counted_report() {
	local cb=${IM[B]:-} ca=${IM[A]:-}
	local ct=${IM[T]:-} cw=${IM[W]:-} cs=${IM[S]:-}
	echo "blkfilter-idle by instruction count: the same, and 4 KiB random writes"
	echo "over the first GiB (W, T, L, S), in a boot whose guest clock advances 1 ns per instruction"
	echo "(QEMU -icount shift=0,sleep=off, one TCG thread): IOPS = 1e9 over"
	echo "the instructions per I/O, median of $creps x $cruntime s"
	echo
	if [[ -n $idle_counted ]]; then
		echo "$idle_counted"
	else
		echo "(no numbers: the counted boot failed)"
	fi
	echo
	target_line no-filter-loaded "$(ratio "$cb" "$ca")" "$TARGET"
	target_line tracking-only-nullb "$(ratio "$ct" "$cw")" "$TARGET_TRACK"
	target_line rewrite-snapshot-nullb "$(ratio "$cs" "$cw")" "$TARGET_REWRITE"
	target_line write-intent-log-nullb "$(ratio "${IM[L]:-}" "$ct")" "$TARGET_LOG"
	target_line ibt-safe-pass-through "$(ratio "${IM[d]:-}" "${IM[D]:-}")" "$TARGET_IBT"
	target_line ibt-safe-tracking "$(ratio "${IM[t]:-}" "$ct")" "$TARGET_IBT"
	awk -v a="$ca" -v b="$cb" -v w="$cw" -v t="$ct" -v s="$cs" -v l="${IM[L]:-}" \
		-v C="${IM[C]:-}" -v D="${IM[D]:-}" -v c="${IM[c]:-}" -v d="${IM[d]:-}" \
		-v t2="${IM[t]:-}" 'BEGIN {
		if (a > 0 && b > 0)
			printf "bench: info counted: %.0f instructions per read not loaded, %+.0f loaded\n", 1e9 / a, 1e9 / b - 1e9 / a
		if (w > 0 && t > 0)
			printf "bench: info counted: %.0f instructions per write not loaded, %+.0f tracking (null_blk: a device that costs nothing, the worst case)\n", 1e9 / w, 1e9 / t - 1e9 / w
		if (w > 0 && s > 0)
			printf "bench: info counted: %+.0f instructions per rewrite of a preserved chunk with a snapshot held\n", 1e9 / s - 1e9 / w
		if (t > 0 && l > 0)
			printf "bench: info counted: %+.0f instructions per write with a write-intent log, regions marked, over tracking only\n", 1e9 / l - 1e9 / t
		# The IBT-safe hooks beside the default: instructions per bio
		# added to the baseline (A for reads, W for writes), and the
		# whole I/O in one mode over the other.
		if (a > 0 && C > 0 && c > 0)
			printf "bench: info counted IBT-safe: filter elsewhere %+.0f default, %+.0f IBT-safe; per read %.3f\n", 1e9 / C - 1e9 / a, 1e9 / c - 1e9 / a, C / c
		if (a > 0 && D > 0 && d > 0)
			printf "bench: info counted IBT-safe: pass-through filter %+.0f default, %+.0f IBT-safe; per read %.3f\n", 1e9 / D - 1e9 / a, 1e9 / d - 1e9 / a, D / d
		if (w > 0 && t > 0 && t2 > 0)
			printf "bench: info counted IBT-safe: tracking only %+.0f default, %+.0f IBT-safe; per write %.3f\n", 1e9 / t - 1e9 / w, 1e9 / t2 - 1e9 / w, t / t2
	}'
}

# bench_kernel SERIES: one boot, one results file. Returns 1 on failure.
bench_kernel() {
	local series=$1 kver stamp date log res
	kver=$("$TOP/scripts/kver.sh" "$series") || die "no installed kernel $series"
	if [[ -z ${MODDIR:-} ]]; then
		make -C "$TOP" --no-print-directory -s modules KVER="$kver" >/dev/null ||
			die "building the modules for $kver failed"
	fi
	make -C "$TOP" --no-print-directory -s tests-bin >/dev/null ||
		die "building the test programs failed"

	local -a guests=("$GUEST" "$GUEST_SNAP")
	local append=
	if [[ -n $ab ]]; then
		make -C "$ab" --no-print-directory -s modules KVER="$kver" >/dev/null ||
			die "building the modules of $ab for $kver failed"
		export MODDIR_B=$ab/build/$kver/modules-out
		guests=("$GUEST_SNAP")
		append=" bench.only=ft bench.ab=1"
	fi

	stamp=$(date +%Y%m%d-%H%M%S)
	date=$(date '+%Y-%m-%d %H:%M:%S %z')
	log=$out/logs/bench-$kver-$stamp.log
	res=$out/results-${ab:+ab-}$kver-$stamp.txt
	if [[ $counted == only ]]; then
		res=$out/results-counted-$kver-$stamp.txt
		counted_boot "$series" "$kver" "$stamp"
		{
			echo "bench results, $date, kernel $kver, the counted boot only"
			echo
			counted_report
			if ((${#CBAD[@]})); then
				echo
				printf 'error: %s\n' "${CBAD[@]}"
			fi
		} | tee "$res"
		echo "bench: results in $res"
		((${#CBAD[@]} == 0))
		return
	fi
	echo "bench: blkfilter-idle and snapshot-cost on $kver, $mode: $reps repetitions, ${runtime} s runs, first-touch ${ft_runtime} s over ${seq_region} and ${rand_region} MiB, disks of ${disk_gib} GiB"

	# Guest time: for blkfilter-idle, warm-up, then per measurement the
	# run, a 1 s pause and module and fio start-up (slow under emulation);
	# for snapshot-cost, prefill (at 200 MiB/s or more), per repetition
	# 16 time-based first-touch runs and 2 short ones with their set-ups,
	# 6 rewrite measurements and 12 reads, then 8 interleaved base/track
	# pairs per write test and 8 base/snapd/snapt rewrite triples (1 each
	# when quick), 3 traced runs, the takes and the 4 TiB device.
	local tmo=$((180 + reps * ${#CONFIGS[@]} * (runtime + 15)))
	tmo=$((tmo + 600 + (320 + 2 * seq_region + 3 * rand_region) / 200))
	tmo=$((tmo + reps * (16 * (ft_runtime + 30) + 60 + 6 * (runtime + 30) + 12 * (runtime + 10))))
	tmo=$((tmo + (3 * 2 + 3) * (quick ? 1 : 8) * (runtime + 30) + 3 * (trace + 90)))
	# A/B: the first-touch runs of two more configurations a round.
	[[ -z $ab ]] || tmo=$((tmo + reps * 8 * (ft_runtime + 30) + 3 * (trace + 90)))
	local load0 load1 rc=0 q=0
	[[ -n $quick ]] && q=1
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	# Multi-threaded TCG by default: the guest's CPUs run at once, as on
	# hardware. (Tests run single-threaded: QEMU 7.2 mis-executes code
	# patched under load, see tests/vm/run.sh; the benchmarks hook and
	# unhook only between runs of fio.)
	"$TOP/tests/vm/run.sh" --kernel "$series" --show-output \
		--disks 5 --disk-size "${disk_gib}G" --disk-cache none --tcg-thread "$tcg_thread" --mem 3G \
		--log-dir "$out/logs" --results "$out/logs/results-$kver.txt" \
		--timeout "$tmo" \
		--append "bench.reps=$reps bench.runtime=$runtime bench.quick=$q bench.ft_runtime=$ft_runtime bench.seq_mib=$seq_region bench.rnd_mib=$rand_region bench.trace=$trace${chunk_kib:+ bench.chunk_kib=$chunk_kib}$append" \
		"${guests[@]}" >"$log" 2>&1 || rc=$?
	load1=$(cut -d' ' -f1-3 /proc/loadavg)
	grep '^vm: ' "$log" || true
	if ((rc)); then
		echo "bench: the VM run failed (exit $rc); its output:" >&2
		grep -v '^vm: ' "$log" | tail -n 60 >&2
		echo "bench: full log in $log" >&2
		return 1
	fi

	# The guest's result lines.
	local -a lines
	mapfile -t lines < <(tr -d '\r' <"$log" | sed -n 's/^bench: //p')
	local snaplines
	snaplines=$(printf '%s\n' "${lines[@]}" |
		grep -E '^(m|il|wa|diag|ftfill|dmexc|latrun|lat|take|big|logfirst|prof|phase|note|snap[a-z_]*|take[a-z]+)( |$)' || true)
	if [[ -n $ab ]]; then
		ab_report "$kver" "$date" "$res" "$load0" "$load1" "$snaplines"
		return
	fi
	local -A info=()
	local k bad=() idle
	idle_parse "$reps" "${CONFIGS[@]}" < <(printf '%s\n' "${lines[@]}")
	for k in "${!II[@]}"; do
		info[$k]=${II[$k]}
	done
	bad+=("${IBAD[@]}")
	local ma=${IM[A]:-} mb=${IM[B]:-} mc=${IM[C]:-} md=${IM[D]:-}
	local timed_hooked="${IH[B]} ${IH[C]%% *} ${IH[D]%% *}"
	idle=$(idle_table "${CONFIGS[@]}")

	counted_boot "$series" "$kver" "$stamp"
	bad+=("${CBAD[@]}")
	local cb=${IM[B]:-} ca=${IM[A]:-} cc=${IM[C]:-} cd=${IM[D]:-}
	local ct=${IM[T]:-} cw=${IM[W]:-} cs=${IM[S]:-}

	# snapshot-cost: tables, targets and chart data from report.awk.
	local report chart=$out/.chart-$kver-$stamp
	report=$(awk -v reps="$reps" -v chart="$chart" -v idle_a="$ma" \
		-v idle_b="$mb" -v idle_c="$mc" -v idle_d="$md" \
		-v cidle_a="$ca" -v cidle_b="$cb" -v cidle_c="$cc" -v cidle_d="$cd" \
		-f "$TOP/bench/report.awk" <<<"$snaplines") ||
		bad+=("bench/report.awk failed")
	report_errors "$report"

	{
		echo "bench results, $date, kernel ${info[kernel]:-$kver}, $mode"
		echo
		echo "blkfilter-idle: 4 KiB random-read IOPS of /dev/nullb0, median of $reps"
		echo
		echo "date:      $date"
		echo "kernel:    ${info[kernel]:-$kver}"
		echo "mode:      $mode, $reps repetitions x $runtime s, order ${CONFIGS[*]} repeated"
		echo "fio:       ${info[fio]:-?}"
		echo "device:    ${info[device]:-?}, scheduler ${info[scheduler]:-?}"
		echo "guest:     ${info[cpus]:-?} vCPUs, QEMU TCG, ASLR ${info[aslr]:-?}; host $(nproc) CPUs, load $load0 -> $load1"
		echo
		echo "$idle"
		echo
		echo "bench: info no-filter-loaded, timed: B/A $(ratio "$mb" "$ma") (host noise: single runs spread 20-40 %; the target uses the counted boot below)"
		local nh nk
		read -r nh nk _ <<<"$timed_hooked"
		if ((nk)); then
			read -r _ _ c_h d_h <<<"$timed_hooked"
			echo "bench: info no-filter-loaded: __submit_bio hooked in $nh of $nk checks of B, $c_h of C's, $d_h of D's; unhooked, no code of blkfilter runs per bio"
		else
			echo "bench: info no-filter-loaded: no tracefs in the guest, the bio hook not checked"
		fi
		echo
		counted_report
		echo
		echo "snapshot-cost: what snapshots cost a running workload, median of $reps"
		echo
		echo "settings:  ${info[snapregions_mib]:-?} (MiB)"
		echo "disks:     ${info[snapdisks]:-?}, virtio, ${disk_gib} GiB sparse host files"
		echo "fio:       ${info[snapfio]:-?}, time-based runs ${runtime} s, first-touch ${ft_runtime} s, traced ${trace} s"
		echo "guest:     ${info[snapcpus]:-?} vCPUs, 3 GiB, QEMU TCG; host $(nproc) CPUs, load $load0 -> $load1"
		echo "order:     per repetition the first-touch runs (per queue depth every configuration,"
		echo "           rotated; then the sequential ones), the rewrites (rotated), then reads"
		report_body "$report" "$snaplines"
	} | tee "$res"
	chart_png "$chart" "${res%.txt}.png" "${info[kernel]:-$kver}" "$date"
	rm -f "$chart".*
	echo "bench: results in $res (VM log $log)"
	((${#bad[@]} == 0))
}

rc=0
for k in "${kernels[@]}"; do
	bench_kernel "$k" || rc=1
done
exit "$rc"
