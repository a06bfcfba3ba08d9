#!/bin/bash
# Boot a QEMU VM (software emulation) with a Debian kernel and run tests in it.
#
# Usage: tests/vm/run.sh [OPTIONS] TEST...
#
# TEST is a bash script; its name in the results is its path relative to
# tests/ (or to the top of the tree) without ".sh", e.g. selftest/001-pass.
# The tests share one boot, in the order given, except those with a line
# "# boots: MAX": each of them runs after the others in a series of up to
# MAX boots of its own, on disks of its own that persist from one boot of
# the series to the next (and are new for the next test).  The guest runs
# the test again in each boot, with BOOT_NUMBER (1, 2, ...) in its
# environment, until it ends with a result; in a boot it ends by asking
# for the next one (see tests/vm/init): after a clean shutdown (exit
# status 78) or by a reset with no sync (sysrq-b) at a moment it chose.
# QEMU runs with -no-reboot and this script starts the next boot; any
# other end of a boot (a panic, a hang) fails the test, and the kernel log
# checks apply to every boot.  "# timeout:" is per boot.
#
# Options:
#   --kernel 6.12|6.1[-cloud|-rt]|debug
#                       kernel series to boot (default 6.12), and Debian
#                       flavour (default the generic one); the newest
#                       installed kernel of that series is used (see
#                       scripts/kver.sh); "debug" is
#                       the debug kernel of scripts/debug-kernel.sh (KASAN,
#                       lockdep, kmemleak, ...), with its own modules
#   --disks N           number of spare virtio disks (default 4)
#   --disk-size SIZE    size of each sparse disk file (default 2G)
#   --disk-cache MODE   QEMU cache mode of the disks: writeback (default)
#                       or none (O_DIRECT on the host, as the benchmarks
#                       use: a host disk, not the host's page cache).  With
#                       none, QEMU 7.2 on this host fails writes that are
#                       not 4 KiB aligned now and then (EIO in the guest,
#                       no module loaded: a 1 KiB-block ext4 frozen while
#                       written), so tests use writeback
#   --tcg-thread MODE   single (default) or multi: QEMU's TCG with one
#                       host thread for all guest CPUs, or one each.  QEMU
#                       7.2's multi-threaded TCG now and then executes code
#                       the kernel has just patched in its old form ("Oops:
#                       int3" at __submit_bio+0x1 when ftrace unhooks it
#                       under I/O, the kernel's own tracer too: see
#                       tests/selftest/003-code-patching.sh), so tests run
#                       single; the benchmarks use multi (two CPUs really
#                       running at once) and patch no code under load;
#                       the CPU has no CMPXCHG16B (see cpu_model)
#   --icount SHIFT      the guest's clock counts instructions, 2^SHIFT ns
#                       each, and jumps over idle time (QEMU -icount
#                       shift=SHIFT,sleep=off; one TCG thread): timings in
#                       the guest become instruction counts, the same from
#                       run to run, for the benchmarks; no use for real I/O
#                       (waits for the host take no guest time)
#   --boots MAX         the most boots of each series (instead of the
#                       tests' "# boots:" lines), for a longer run of a
#                       test that takes its length from the environment
#   --test-env NAME=VALUE  the tests' environment in the guest gets it
#                       (kernel command line blksnap.env=NAME=VALUE; no
#                       blanks), e.g. CRASH_POINTS=100
#   --mem SIZE          guest memory (default 2G)
#   --smp N             guest CPUs (default 2)
#   --timeout SECONDS   wall-clock limit of the whole VM run (default: sum
#                       of the test timeouts + margin)
#   --log-dir DIR       where logs and results go (default build/test-logs)
#   --results FILE      per-test "NAME STATUS SECONDS" lines (default
#                       LOG_DIR/results-KVER.txt)
#   --append ARGS       extra kernel command line (given twice: both)
#   --timeout-scale N   multiply every test's timeout by N (default 1, 3 on
#                       the debug kernel, which runs several times slower)
#   --show-output       print the output of every test, passed and skipped
#                       ones too (by default only that of failed tests),
#                       and keep the console log in LOG_DIR
#
# Environment: MODDIR (default build/KVER/modules-out), PROGDIR (default
# build/tests-bin), BLKSNAP_CACHE (initramfs cache dir), MODDIR_B (a
# second build of the modules, see mkinitramfs.sh).
#
# Exit status: 0 all passed or skipped, 1 a test failed, 2 usage or setup
# error.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$TOP/tests/vm

series=6.12
ndisks=4
disk_size=2G
disk_cache=writeback
tcg_thread=single
icount=
mem=2G
smp=2
timeout=
log_dir=$TOP/build/test-logs
results=
append=
tscale=
show_output=
boots_max=
test_env=

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
	exit "${1:-2}"
}
die() {
	echo "run.sh: $*" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--kernel) series=${2:?}; shift 2 ;;
	--disks) ndisks=${2:?}; shift 2 ;;
	--disk-size) disk_size=${2:?}; shift 2 ;;
	--disk-cache) disk_cache=${2:?}; shift 2 ;;
	--tcg-thread) tcg_thread=${2:?}; shift 2 ;;
	--icount) icount=${2:?}; shift 2 ;;
	--boots) boots_max=${2:?}; shift 2 ;;
	--test-env) test_env+=" blksnap.env=${2:?}"; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--log-dir) log_dir=${2:?}; shift 2 ;;
	--results) results=${2:?}; shift 2 ;;
	--append) append+=" ${2:?}"; shift 2 ;;
	--timeout-scale) tscale=${2:?}; shift 2 ;;
	--show-output) show_output=1; shift ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
(($#)) || usage
[[ $ndisks =~ ^[0-9]+$ ]] || die "--disks needs a number"
[[ -z $boots_max || $boots_max =~ ^[1-9][0-9]*$ ]] || die "--boots needs a positive number"
[[ $test_env != *" blksnap.env="[!A-Za-z_]* ]] || die "--test-env: NAME=VALUE"
[[ $disk_cache == none || $disk_cache == writeback ]] ||
	die "--disk-cache: none or writeback, not '$disk_cache'"
[[ $tcg_thread == single || $tcg_thread == multi ]] ||
	die "--tcg-thread: single or multi, not '$tcg_thread'"
[[ -z $icount || $icount =~ ^[0-9]$ ]] || die "--icount: a shift of 0 to 9, not '$icount'"
[[ -z $icount || $tcg_thread == single ]] || die "--icount needs --tcg-thread single"
# Under -icount, QEMU 7.2 now and then leaves garbage in RFLAGS after a
# CMPXCHG16B (the bits of a register, the trap flag among them): the guest
# takes a stray debug exception (a WARNING in exc_debug_kernel) or a
# double fault ("Fatal exception in interrupt"), both right after SLUB's
# this_cpu_cmpxchg16b in kmem_cache_alloc_noprof, with no module of ours
# loaded (null_blk and fio alone: 3 of 6 boots of 60 one-GiB rounds,
# 2026-12-06).  Without CMPXCHG16B, SLUB takes its locked path instead,
# and the same rounds ran clean in 4 boots of 4.  Multi-threaded TCG takes
# the same path for the instruction (run alone, all other CPUs stopped)
# and met the same double fault in a benchmark boot (kmem_cache_alloc_lru_
# noprof, RFLAGS 7e3a9302, 2026-12-07).  Single-threaded TCG without
# icount kept it, having never met it in thousands of test boots, until
# the benchmark smoke run met it there too (kmem_cache_alloc_noprof+0x6b
# under io_submit, EFLAGS bf2ec282, 2026-12-07): no boot has CMPXCHG16B.
cpu_model=max,cx16=off

debug=0
case $series in
debug) debug=1 variant=intree ;;
debug-stock) debug=1 variant=stock ;;
esac
if ((debug)); then
	dk() { DEBUG_VARIANT=$variant "$TOP/scripts/debug-kernel.sh" --print "$1"; }
	KVER=$(dk release) || die "no $series kernel built (run 'make debug-kernel' or 'make check-debug-stock')"
	VMLINUZ=$(dk bzimage)
	MODROOT=$(dk modroot)
else
	KVER=$("$TOP/scripts/kver.sh" "$series") || die "no installed kernel $series.* with modules (run scripts/deps.sh)"
	VMLINUZ=/boot/vmlinuz-$KVER
	MODROOT=
fi
export MODROOT
[[ -n $tscale ]] || { ((debug)) && tscale=3 || tscale=1; }
[[ $tscale =~ ^[1-9][0-9]*$ ]] || die "--timeout-scale needs a positive number"
[[ -r $VMLINUZ ]] || die "cannot read $VMLINUZ"

MODDIR=${MODDIR:-$TOP/build/$KVER/modules-out}
PROGDIR=${PROGDIR:-$TOP/build/tests-bin}
# Without the test programs every test fails at its first line, after a
# boot: say so before it.
[[ -r $PROGDIR/testlib.sh ]] || die "no test programs in $PROGDIR: run 'make tests-bin'"
results=${results:-$log_dir/results-$KVER.txt}
mkdir -p "$log_dir" "$(dirname "$results")"

# Test names and files; the tests of the shared boot (single) and those
# with boots of their own (multi, with the most boots and the wall-clock
# limit of one boot).
header() {
	sed -n "s/^#[[:space:]]*$1:[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$2" | head -n1
}
names=()
files=()
single=()
multi=()
declare -A max_boots=() boot_limit=()
total_timeout=0
for f in "$@"; do
	[[ -f $f ]] || die "no such test: $f"
	abs=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
	case $abs in
	"$TOP"/tests/*) n=${abs#"$TOP"/tests/} ;;
	"$TOP"/*) n=${abs#"$TOP"/} ;;
	*) n=$(basename "$(dirname "$abs")")/$(basename "$abs") ;;
	esac
	n=${n%.sh}
	names+=("$n")
	files+=("$abs")
	t=$(header timeout "$abs")
	t=$((${t:-180} * tscale + 25))
	b=$(header boots "$abs")
	if [[ -n $b ]]; then
		multi+=("$n")
		max_boots[$n]=${boots_max:-$b}
		boot_limit[$n]=$((t + 120))
		total_timeout=$((total_timeout + max_boots[$n] * boot_limit[$n]))
	else
		single+=("$n")
		total_timeout=$((total_timeout + t))
	fi
done
timeout=${timeout:-$((total_timeout + 120))}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/blksnap-vm.XXXXXX")
qpid=
cleanup() {
	[[ -z $qpid ]] || kill "$qpid" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Initramfs: the cached base image plus this run's tests.
base=$TOP/build/vm/initramfs-$KVER.cpio.gz
t0=$(date +%s.%N)
"$HERE/mkinitramfs.sh" "$KVER" "$base" "$MODDIR" "$PROGDIR" >"$WORK/mkinitramfs.log" 2>&1 ||
	{ cat "$WORK/mkinitramfs.log" >&2; die "mkinitramfs.sh failed"; }
t1=$(date +%s.%N)
mkdir -p "$WORK/suite/opt/tests/suite"
for i in "${!names[@]}"; do
	mkdir -p "$WORK/suite/opt/tests/suite/$(dirname "${names[$i]}")"
	cp "${files[$i]}" "$WORK/suite/opt/tests/suite/${names[$i]}.sh"
done
if [[ -d $TOP/tests/lib ]]; then
	mkdir -p "$WORK/suite/opt/tests/lib"
	cp -r "$TOP/tests/lib/." "$WORK/suite/opt/tests/lib/"
fi
printf '%s\n' "${single[@]}" >"$WORK/suite/opt/tests/list"
(cd "$WORK/suite" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner=0:0 --quiet) | gzip -1 >"$WORK/suite.cpio.gz"
cat "$base" "$WORK/suite.cpio.gz" >"$WORK/initrd"
printf 'vm: kernel %s, initramfs %s MiB (prepared in %.1f s)\n' "$KVER" \
	"$(du -m "$WORK/initrd" | cut -f1)" "$(echo "$t1 - $t0" | bc)"

# Sparse disks; cache=none (O_DIRECT) only if asked for and the host file
# system allows it.
cache=$disk_cache
if [[ $cache == none ]] &&
	! dd if=/dev/zero of="$WORK/odirect" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
	cache=writeback
fi
rm -f "$WORK/odirect"
echo "vm: $ndisks disks of $disk_size, cache=$cache, tcg thread=$tcg_thread${icount:+, icount shift=$icount}, cpu $cpu_model"
drives=()
# Each disk has a serial number, as real disks do: its stable identity in
# the guest (/sys/block/vdX/serial), which blksnap's tracking state names.
for ((i = 0; i < ndisks; i++)); do
	drives+=(-drive "file=$WORK/disk$i.img,format=raw,if=none,id=disk$i,cache=$cache,aio=threads,discard=unmap"
		-device "virtio-blk-pci,drive=disk$i,serial=blksnap-disk$i")
done
# new_disks: empty disks, for the shared boot and for each series of boots.
new_disks() {
	local i
	for ((i = 0; i < ndisks; i++)); do
		rm -f "$WORK/disk$i.img"
		truncate -s "$disk_size" "$WORK/disk$i.img"
	done
}

console=$WORK/console.log	# this boot's
consoles=$WORK/consoles.log	# every boot's, each after a "vm: boot" line
reslog=$WORK/results.log
cmdline="console=ttyS0 panic=-1 loglevel=5 log_buf_len=16M rdinit=/init blksnap.timeout_scale=$tscale$test_env"
# The debug kernel interprets ACPI's PCI interrupt routing so slowly that
# it hits the AML loop timeout (30 s, then 90 s more to reach the tests):
# route by the BIOS's table instead.  With 5-level paging (QEMU's max
# CPU has LA57) its KASAN reports a "wild-memory-access" at 0.005 s in
# every boot: an interrupt taken inside identify_cpu(), while the CPU's
# feature bits are being read again, checks an irq_desc's lock against
# the shadow bounds of 4-level paging (no module of ours exists yet):
# 4-level paging, as most machines run, avoids that false report.
((!debug)) || cmdline+=" pci=noacpi no5lvl"
cmdline+=" $append"
# start_vm ARGS: boot with ARGS added to the kernel command line.
start_vm() {
	: >"$console"
	: >"$reslog"
	shown=0
	ready=
	again=
	killed=
	start=$(date +%s.%N)
	qemu-system-x86_64 -accel "tcg,thread=$tcg_thread" ${icount:+-icount "shift=$icount,sleep=off"} -machine pc -cpu "$cpu_model" -smp "$smp" -m "$mem" \
		-nodefaults -display none -no-reboot \
		-kernel "$VMLINUZ" -initrd "$WORK/initrd" -append "$cmdline$1" \
		-serial "file:$console" -serial "file:$reslog" \
		"${drives[@]}" </dev/null >"$WORK/qemu.out" 2>&1 &
	qpid=$!
}

declare -A status=() reason=() spent=() wall=()
leaks=
report_new() {
	local line n st rs ts ta lines=() now took data
	# Whole lines only: QEMU may be in the middle of writing the last one,
	# which is then read again, whole, next time.
	data=$(tr -d '\r' <"$reslog"; echo .)
	data=${data%.}
	if [[ $data != *$'\n' ]]; then
		[[ $data == *$'\n'* ]] && data=${data%$'\n'*}$'\n' || data=
	fi
	[[ -z $data ]] || mapfile -t lines <<<"${data%$'\n'}"
	for line in "${lines[@]:shown}"; do
		case $line in
		"blksnap-test: ready"*)
			[[ -n $ready ]] || ready=$(date +%s.%N)
			[[ -n $last ]] || last=$ready
			printf 'vm: %sbooted to first test in %.1f s\n' "${boot_name:+$boot_name: }" "$(echo "$ready - $start" | bc)"
			;;
		"blksnap-test: reboot "* | "blksnap-test: crash "*)
			# The test asked for the next boot: after a clean
			# shutdown, or a reset the guest is about to make.
			read -r again_how again <<<"${line#blksnap-test: }"
			;;
		"blksnap-test: time "*)
			read -r n ts ta <<<"${line#blksnap-test: time }"
			spent[$n]=$(printf 'test %d.%d, after %d.%d' \
				$((ts / 10)) $((ts % 10)) $((ta / 10)) $((ta % 10)))
			;;
		"blksnap-test: result vm/kmemleak "*)
			# kmemleak's scan after a boot's tests (tests/vm/init):
			# a failure in any boot fails the run.
			read -r n st rs <<<"${line#blksnap-test: result }"
			[[ $st == pass ]] || leaks=${rs:-kmemleak: leaks}
			echo "${st^^} vm/kmemleak${rs:+ $rs}"
			;;
		"blksnap-test: result "*)
			read -r n st rs <<<"${line#blksnap-test: result }"
			status[$n]=$st
			reason[$n]=$rs
			now=$(date +%s.%N)
			wall[$n]=$(printf '%.0f' "$(echo "$now - ${last:-$now}" | bc)")
			took="(${wall[$n]} s${spent[$n]:+: ${spent[$n]}})"
			last=$now
			case $st in
			pass) echo "PASS $n $took" ;;
			skip) echo "SKIP $n $took${rs:+ $rs}" ;;
			*) echo "FAIL $n $took${rs:+ $rs}" ;;
			esac
			;;
		esac
	done
	shown=${#lines[@]}
}

# boot_vm ARGS LIMIT: one boot (ARGS added to the kernel command line),
# ended by the guest, or killed after LIMIT seconds or at the deadline of
# the whole run; sets qrc, killed, ready, again (the test that asked for
# the next boot) and again_how (reboot or crash), and adds the boot's
# console to $consoles.  Software emulation rarely oopses in early boot
# (an int3 of kernel text patching, seen under host load), before any
# module or test of ours ran: that boot alone is tried once more;
# everything later counts.
boot_vm() {
	local attempt end
	for attempt in 1 2; do
		start_vm "$1"
		end=$(($(date +%s) + $2))
		((end <= deadline)) || end=$deadline
		while kill -0 "$qpid" 2>/dev/null; do
			report_new
			if (($(date +%s) > end)); then
				echo "vm: ${boot_name:+$boot_name: }wall-clock limit of $((end - ${start%.*}))s exceeded, killing QEMU"
				killed=$((end - ${start%.*}))
				kill "$qpid" 2>/dev/null || true
				sleep 1
				kill -KILL "$qpid" 2>/dev/null || true
				break
			fi
			sleep 0.5
		done
		qrc=0
		wait "$qpid" || qrc=$?
		qpid=
		report_new
		{ echo "vm: ${boot_name:-boot}"; tr -d '\r' <"$console"; } >>"$consoles"
		[[ ! -s $WORK/qemu.out ]] || sed 's/^/qemu: /' "$WORK/qemu.out"
		if ((attempt == 1)) && [[ -z $ready && -z $killed ]] &&
			grep -q 'Kernel panic' "$console"; then
			cp "$console" "$WORK/console-boot-panic.log"
			echo "vm: the kernel panicked while booting, before any test ran; booting again"
			continue
		fi
		break
	done
}

# no_result TEST...: those of the tests without a result fail, saying how
# the last boot ended.
no_result() {
	local n rs
	for n in "$@"; do
		[[ -z ${status[$n]:-} ]] || continue
		if [[ -n $killed ]]; then
			rs="no result: VM killed after ${killed}s"
		elif grep -q '^blksnap-test: done' <(tr -d '\r' <"$reslog"); then
			rs="no result"
		else
			rs="no result: VM died (panic?)"
		fi
		[[ -z $boot_name ]] || rs+=" in $boot_name"
		echo "FAIL $n $rs"
		status[$n]=fail
		reason[$n]=$rs
	done
}

deadline=$(($(date +%s) + timeout))
: >"$consoles"
if ((${#single[@]})); then
	new_disks
	boot_name=
	last=
	boot_vm "" "$timeout"
	printf 'vm: ran %d tests in %.1f s (QEMU exit %d)\n' "${#single[@]}" \
		"$(echo "$(date +%s.%N) - $start" | bc)" "$qrc"
	if [[ -n $again && -z ${status[$again]:-} ]]; then
		status[$again]=fail
		reason[$again]="asked for a $again_how, but has no '# boots:' line"
		echo "FAIL $again ${reason[$again]}"
	fi
	no_result "${single[@]}"
fi
for n in "${multi[@]}"; do
	new_disks
	last=
	series=$(date +%s.%N)
	for ((b = 1; ; b++)); do
		boot_name="boot $b of $n"
		if (($(date +%s) >= deadline)); then
			status[$n]=fail
			reason[$n]="no result: the run's wall-clock limit of ${timeout}s reached before $boot_name"
			echo "FAIL $n ${reason[$n]}"
			break
		fi
		boot_vm " blksnap.tests=$n blksnap.boot=$b" "${boot_limit[$n]}"
		[[ -n ${status[$n]:-} || $again != "$n" || -n $killed ]] && break
		printf 'vm: %s ended in a %s after %.1f s\n' "$boot_name" "$again_how" \
			"$(echo "$(date +%s.%N) - $start" | bc)"
		if ((b == max_boots[$n])); then
			status[$n]=fail
			reason[$n]="asked for boot $((b + 1)), more than its ${max_boots[$n]}"
			echo "FAIL $n ${reason[$n]}"
			break
		fi
	done
	no_result "$n"
	printf 'vm: %s ran in %d boots, %.1f s\n' "$n" "$b" "$(echo "$(date +%s.%N) - $series" | bc)"
done
boot_name=

# The first kernel report of the console in one line (CI's last lines name it).
summary=$("$TOP/tests/vm/kernel-report.sh" "$consoles")
[[ -z $summary ]] || echo "vm: kernel report: $summary"

npass=0 nfail=0 nskip=0
failed=()
: >"$results.tmp"
for n in "${names[@]}"; do
	st=${status[$n]}
	case $st in
	pass) npass=$((npass + 1)) ;;
	skip) nskip=$((nskip + 1)) ;;
	*) nfail=$((nfail + 1)); failed+=("$n"); st=fail ;;
	esac
	echo "$n $st ${wall[$n]:-0}" >>"$results.tmp"
done
# boot_failure NAME REASON: a failure of the boot's, not of a test's.
boot_failure() {
	nfail=$((nfail + 1))
	failed+=("$1")
	reason[$1]=$2
	echo "$1 fail 0" >>"$results.tmp"
}
# A kernel report that failed no test (before the first test, between two
# tests' checks, or after the last one, at power-off) fails the boot: it
# counts as a failure of its own, vm/kernel-log.
if [[ -n $summary ]] && ((nfail == 0)); then
	echo "FAIL vm/kernel-log kernel report outside the tests: $summary"
	boot_failure vm/kernel-log "kernel report outside the tests"
fi
# So do kmemleak's finds after a boot's tests, vm/kmemleak.
[[ -z $leaks ]] || boot_failure vm/kmemleak "$leaks"
mv "$results.tmp" "$results"

# Output of a test: the console lines between its start and result lines.
test_output() {
	awk -v s="blksnap-test: start $1" -v e="blksnap-test: result $1 " '
		$0 == s { on = 1; buf = ""; next }
		on && index($0, e) == 1 { on = 0 }
		on && index($0, "blksnap-test: time ") != 1 { print }' "$2"
}

if ((nfail)) || [[ -n $show_output ]]; then
	stamp=$(date +%Y%m%d-%H%M%S)
	kept=$log_dir/console-$KVER-$stamp.log
	cp "$consoles" "$kept"
	echo "vm: console log kept in $kept"
fi
if [[ -n $show_output ]]; then
	for n in "${names[@]}"; do
		[[ ${status[$n]:-fail} != fail ]] || continue
		echo "---- output of $n (${status[$n]}${reason[$n]:+ ${reason[$n]}}) ----"
		test_output "$n" "$kept"
		echo "---- end of $n ----"
	done
fi
if ((nfail)); then
	for n in "${failed[@]}"; do
		[[ $n != vm/kernel-log ]] || continue
		echo "---- output of $n (${reason[$n]}) ----"
		test_output "$n" "$kept" | tail -n 150
		echo "---- end of $n ----"
	done
fi
echo "$npass passed, $nfail failed, $nskip skipped"
((nfail == 0))
