#!/bin/bash
# Run the whole test suite: every VM test group on every kernel in $KERNELS,
# then the host tests. Used by "make check" and CI.
#
# Usage: tests/run-all.sh [GROUP|TESTFILE...]
#
# VM tests are tests/<group>/NNN-*.sh, except the groups vm and those listed
# in tests/host-groups (one a line). They run in tests/vm/run.sh, one boot
# per kernel for up to $BOOT_MAX (30) tests, $VM_JOBS (1) boots at a time:
# each VM runs on one host thread (TCG), so two keep two cores busy. With
# VM_JOBS above 1 the debug kernel's tests, the slowest, are dealt out to
# that many boots, which start first. Which groups run on which kernel
# is in tests/kernel-groups ("KERNEL GROUP..." lines; "all" or a kernel not
# listed there runs every group); tests and groups named on the command
# line run on every kernel. Host tests are whatever tests/host/run.sh runs,
# if it exists.
#
# Nothing is built here: the modules (build/KVER/modules-out) and test
# programs (build/tests-bin) must already exist ("make check" builds them).
#
# Environment: KERNELS (default "6.12 6.1"; "debug" is the kernel of
# scripts/debug-kernel.sh), BOOT_MAX, VM_JOBS, DEBUG_BUILD (a command that
# builds the debug kernel and its modules, "make debug-kernel": run in the
# background, niced, while the other kernels' VMs run, whose guests leave
# the host's cores idle whenever they wait; the debug kernel's boots
# start as soon as it is built), BENCH_SMOKE (0 skips the benchmark smoke
# run that follows a full run), BENCH_SMOKE_BY (the latest it starts, in
# seconds from the run's start, default 3600), INSTALLED (0 skips the
# installed-system test's short form, tests/installed/run.sh --quick, of
# the packages in INSTALLED_DEBS, default build/deb), and what
# tests/vm/run.sh reads (MODDIR, PROGDIR, BLKSNAP_CACHE). Extra options for
# run.sh can be given in VM_OPTS. MODULE_OPTS (default
# "blkfilter.ibt_safe=1") go on every boot's kernel command line, whence
# the guest adds them to its insmods: the stock kernels' tests run
# blkfilter.ko's IBT-safe hooks, those that CPUs with indirect branch
# tracking get; its default hooks are what blkfilter/013 (beside the
# IBT-safe ones) and the benchmark smoke run use. MODULE_OPTS= runs the
# suite with the default hooks.
#
# Output ends with "N passed, N failed, N skipped"; exit status 1 if any
# test failed or could not run.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start_all=$(date +%s)
KERNELS=${KERNELS:-6.12 6.1}
BOOT_MAX=${BOOT_MAX:-30}
VM_JOBS=${VM_JOBS:-1}
BENCH_SMOKE_BY=${BENCH_SMOKE_BY:-3600}
LOG_DIR=${LOG_DIR:-$TOP/build/test-logs}
read -r -a vm_opts <<<"${VM_OPTS:-}"
MODULE_OPTS=${MODULE_OPTS-blkfilter.ibt_safe=1}
[[ -z $MODULE_OPTS ]] || vm_opts=(--append "$MODULE_OPTS" "${vm_opts[@]}")

npass=0 nfail=0 nskip=0
summary=()
finish() {
	echo
	echo "==== summary ===="
	((${#summary[@]} == 0)) || printf '%s\n' "${summary[@]}"
	echo "$npass passed, $nfail failed, $nskip skipped"
	if ((nfail)); then exit 1; fi
	exit 0
}
fail_setup() {
	echo "run-all: $*" >&2
	summary+=("FAIL setup: $*")
	nfail=$((nfail + 1))
}

host_groups=(vm host)
if [[ -f $TOP/tests/host-groups ]]; then
	while read -r g _; do
		[[ -z $g || $g == \#* ]] || host_groups+=("$g")
	done <"$TOP/tests/host-groups"
fi
is_host_group() {
	local g
	for g in "${host_groups[@]}"; do [[ $1 == "$g" ]] && return 0; done
	return 1
}

# Groups per kernel, from tests/kernel-groups.
declare -A kgroups=()
if [[ -f $TOP/tests/kernel-groups ]]; then
	while read -r k gs; do
		[[ -z $k || $k == \#* ]] || kgroups[$k]=" ${gs%%#*} "
	done <"$TOP/tests/kernel-groups"
fi
# kernel_tests K: the tests to run on kernel K, in ktests.
# An entry GROUP/NNN names one test of a group, -GROUP/NNN leaves it out.
kernel_tests() {
	ktests=()
	local t g n
	for t in "${tests[@]}"; do
		g=${t%/*}
		g=${g##*/}
		n=${t##*/}
		n=$g/${n%%-*}
		((explicit)) || [[ ${kgroups[$1]:-} != *" -$n "* ]] || continue
		if ((explicit)) || [[ -z ${kgroups[$1]:-} || ${kgroups[$1]} == *" all "* ||
			${kgroups[$1]} == *" $g "* || ${kgroups[$1]} == *" $n "* ]]; then
			ktests+=("$t")
		fi
	done
}

# The VM tests, in order.
tests=()
explicit=0
add_group() {
	local f
	for f in "$TOP/tests/$1"/[0-9][0-9][0-9]-*.sh; do
		[[ -f $f ]] && tests+=("$f")
	done
	return 0
}
if (($#)); then
	for a in "$@"; do
		if [[ -f $a ]]; then
			tests+=("$(cd "$(dirname "$a")" && pwd)/$(basename "$a")")
		elif [[ -d $TOP/tests/$a ]]; then
			add_group "$a"
		else
			echo "run-all: no such test or group: $a" >&2
			exit 2
		fi
	done
	run_host=0
	explicit=1
else
	for d in "$TOP"/tests/*/; do
		g=$(basename "$d")
		is_host_group "$g" || add_group "$g"
	done
	run_host=1
fi

# Artifacts built by "make": check before booting anything.
if [[ -f $TOP/tests/Makefile && ! -d ${PROGDIR:-$TOP/build/tests-bin} ]]; then
	fail_setup "no test programs in ${PROGDIR:-build/tests-bin}: run 'make tests-bin' first"
fi
build_pid=
if [[ -n ${DEBUG_BUILD:-} && " $KERNELS " == *" debug "* ]]; then
	mkdir -p "$LOG_DIR"
	echo "run-all: building the debug kernel in the background ($LOG_DIR/debug-build.log)"
	rm -f "$LOG_DIR/debug-built-at"
	# When it ended, for the timeline, and for the scheduler below.
	(
		rc=0
		bash -c "$DEBUG_BUILD" || rc=$?
		echo $(($(date +%s) - start_all)) >"$LOG_DIR/debug-built-at"
		exit "$rc"
	) >"$LOG_DIR/debug-build.log" 2>&1 &
	build_pid=$!
fi
for k in $KERNELS; do
	# Checked once it is built.
	[[ -z $build_pid || $k != debug ]] || continue
	if [[ $k == debug* ]]; then
		kver=$("$TOP/scripts/kver.sh" "$k") || { fail_setup "no $k kernel: run 'make debug-kernel'"; continue; }
	else
		kver=$("$TOP/scripts/kver.sh" "$k") || { fail_setup "kernel $k is not installed: run 'make deps'"; continue; }
	fi
	if [[ -f $TOP/kernel/Makefile ]]; then
		moddir=${MODDIR:-$TOP/build/$kver/modules-out}
		if ! compgen -G "$moddir/*.ko" >/dev/null; then
			how="make modules KVER=$kver"
			[[ $k != debug* ]] || how="make debug-kernel"
			fail_setup "no modules in $moddir: run '$how' first"
		fi
	fi
done
((nfail == 0)) || finish

echo "run-all: ${#tests[@]} VM tests on kernels: $KERNELS ($VM_JOBS boots at a time)"
mkdir -p "$LOG_DIR"

# The boots: "KERNEL BOOT N", their tests in $LOG_DIR/tests-KERNEL-bootN;
# the debug kernel's first, as they take longest, or last while it builds.
boots=()
first=()
declare -A ktotal=()
for k in $KERNELS; do
	kernel_tests "$k"
	((${#ktests[@]})) || continue
	ktotal[$k]=${#ktests[@]}
	nb=$(((${#ktests[@]} + BOOT_MAX - 1) / BOOT_MAX))
	[[ $k != debug* ]] || ((nb >= VM_JOBS)) || nb=$VM_JOBS
	((nb <= ${#ktests[@]})) || nb=${#ktests[@]}
	for ((b = 1; b <= nb; b++)); do
		: >"$LOG_DIR/tests-$k-boot$b"
	done
	# Longest first, each to the boot with the least so far, weighed by
	# their timeouts (times their most boots, for a test with boots of its
	# own, which tests/vm/run.sh runs after the boot's other tests): the
	# boots end close together.
	declare -A load=()
	for ((b = 1; b <= nb; b++)); do load[$b]=0; done
	while read -r w t; do
		best=1
		for ((b = 2; b <= nb; b++)); do
			((load[$b] < load[$best])) && best=$b
		done
		load[$best]=$((load[$best] + w))
		echo "$t" >>"$LOG_DIR/tests-$k-boot$best"
	done < <(for t in "${ktests[@]}"; do
		w=$(sed -n 's/^#[[:space:]]*timeout:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$t" | head -n1)
		mb=$(sed -n 's/^#[[:space:]]*boots:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$t" | head -n1)
		echo "$((${w:-120} * ${mb:-1})) $t"
	done | sort -s -k1,1nr)
	unset load
	for ((b = 1; b <= nb; b++)); do
		entry="$k $b $(wc -l <"$LOG_DIR/tests-$k-boot$b")"
		if [[ $k == debug* ]]; then first+=("$entry"); else boots+=("$entry"); fi
	done
done
# The host tests and the benchmark smoke run: while the debug kernel
# builds, right after the other kernels' boots, beside the build's last
# minutes rather than after everything; else after the last boot started,
# in the time in which one boot is over and another not yet. The
# installed-system test, one long job (about 12 minutes), first: started
# late, it would hold a slot that the debug kernel's boots, the longest,
# wait for once the build is done.
extra=()
early=()
if ((run_host)); then
	[[ ! -x $TOP/tests/host/run.sh ]] || extra+=("host 0 0")
	[[ ${BENCH_SMOKE:-1} == 0 || ! -x $TOP/bench/run.sh ]] || extra+=("bench 0 0")
	[[ ${INSTALLED:-1} == 0 ]] || early+=("installed 0 0")
fi
# While the debug kernel builds, its boots wait in their own queue and
# start as soon as it is built and a slot is free, before what is left of
# the others: the longest jobs first, so that the run ends with them
# rather than with one of them started last.
if [[ -n $build_pid ]]; then
	queue=("${early[@]}" "${boots[@]}" "${extra[@]}")
	debug_queue=("${first[@]}")
	boots=("${boots[@]}" "${first[@]}")
	jobs=("${queue[@]}" "${first[@]}")
else
	boots=("${first[@]}" "${boots[@]}")
	jobs=("${early[@]}" "${boots[@]}" "${extra[@]}")
	queue=("${jobs[@]}")
	debug_queue=()
fi

# run_boot KERNEL BOOT: one VM; its results in results-KERNEL-bootBOOT.txt.
run_boot() {
	local k=$1 b=$2 rc=0 res=$LOG_DIR/results-$1-boot$2.txt t0
	local -a chunk
	mapfile -t chunk <"$LOG_DIR/tests-$k-boot$b"
	rm -f "$res"
	t0=$(date +%s)
	echo "==== kernel $k, boot $b: ${#chunk[@]} tests ===="
	"$TOP/tests/vm/run.sh" --kernel "$k" --log-dir "$LOG_DIR" --results "$res" \
		"${vm_opts[@]}" "${chunk[@]}" 2>&1 | sed -u "s/^/[$k#$b] /" || rc=$?
	echo "$rc $(($(date +%s) - t0))" >"$LOG_DIR/status-$k-boot$b"
}

# run_host_tests: tests/host/run.sh; its output in host.log, its exit
# status in status-host.
run_host_tests() {
	local rc=0
	echo "==== host tests ===="
	"$TOP/tests/host/run.sh" 2>&1 | tee "$LOG_DIR/host.log" | sed -u 's/^/[host] /' || rc=$?
	echo "$rc" >"$LOG_DIR/status-host"
}

# A short run of the benchmarks, so that they cannot rot: it fails only if
# they produce no numbers, never on a ratio (timings are noisy). Its timed
# boot runs multi-threaded, as the benchmarks do: on one host thread
# (--tcg-thread single, its mode until 2026-12-07, to leave CI's other
# core to the VM beside it) the guest stood still twice in two runs here
# that day, all its CPUs halted and QEMU idle, at two different points of
# the run, until the VM's limit of 38 minutes, and a third time with the
# guest's CMPXCHG16B on; multi-threaded it has not.
# Output in bench-smoke.log, exit status in status-bench. About 6 minutes
# here alone (a 5-minute timed boot on both cores, a 1-minute counted one
# on one): it is skipped (and says so) when its turn comes later than
# BENCH_SMOKE_BY seconds into the run (default 3600: CI's run of
# 2026-12-07 at 15:50 came to it at 3,525 s and ended at 3,944 without it;
# with it about 4,100), which happens only on a slow run, where it would
# take the run past CI's 75 minutes.
run_bench_smoke() {
	local rc=0 at=$(($(date +%s) - start_all))
	if ((at > BENCH_SMOKE_BY)); then
		echo "its turn came at $at s of the run, after BENCH_SMOKE_BY=$BENCH_SMOKE_BY s" \
			>"$LOG_DIR/bench-smoke.log"
		echo skip >"$LOG_DIR/status-bench"
		echo "==== benchmark smoke run: not started, $at s into the run ===="
		return
	fi
	echo "==== benchmark smoke run ===="
	"$TOP/bench/run.sh" --quick --kernel 6.12 --tcg-thread multi \
		>"$LOG_DIR/bench-smoke.log" 2>&1 || rc=$?
	echo "$rc" >"$LOG_DIR/status-bench"
	echo "==== benchmark smoke run: exit $rc ===="
}

# The installed-system test in its short form (tests/installed/run.sh
# --quick: the packages of $INSTALLED_DEBS installed in a Debian 12 VM,
# DKMS compiling in the guest, a backup and restore, the purge). Output in
# installed.log, exit status in status-installed.
run_installed() {
	local rc=0 debs=${INSTALLED_DEBS:-$TOP/build/deb}
	echo "==== installed-system test (quick) ===="
	if ! compgen -G "$debs/blksnap-dkms_*.deb" >/dev/null; then
		echo "no packages in $debs: run 'make deb'" >"$LOG_DIR/installed.log"
		rc=2
	else
		"$TOP/tests/installed/run.sh" --quick --debs "$debs" --timeout 1800 \
			>"$LOG_DIR/installed.log" 2>&1 || rc=$?
	fi
	echo "$rc" >"$LOG_DIR/status-installed"
	echo "==== installed-system test (quick): exit $rc ===="
}

# run_job KERNEL BOOT: a boot, or the host tests (host), the benchmark
# smoke run (bench) or the installed-system test (installed); when it
# started and ended, in seconds from run-all's start, in span-KERNEL-BOOT.
run_job() {
	local t0=$(($(date +%s) - start_all))
	case $1 in
	host) run_host_tests ;;
	bench) run_bench_smoke ;;
	installed) run_installed ;;
	*) run_boot "$1" "$2" ;;
	esac
	echo "$t0 $(($(date +%s) - start_all))" >"$LOG_DIR/span-$1-$2"
}

# debug_built: wait for the background build of the debug kernel; true if
# it gave a kernel and modules.
debug_built() {
	local rc=0 kver
	[[ -n $build_pid ]] || return 0
	echo "run-all: waiting for the debug kernel's build"
	wait "$build_pid" || rc=$?
	build_pid=
	read -r built_at 2>/dev/null <"$LOG_DIR/debug-built-at" ||
		built_at=$(($(date +%s) - start_all))
	tail -n 3 "$LOG_DIR/debug-build.log"
	if ((rc)); then
		fail_setup "the debug kernel's build failed (exit $rc, $LOG_DIR/debug-build.log)"
		debug_failed=1
		return 1
	fi
	if ! kver=$("$TOP/scripts/kver.sh" debug) ||
		! compgen -G "${MODDIR:-$TOP/build/$kver/modules-out}/*.ko" >/dev/null; then
		fail_setup "no debug kernel or modules after its build"
		debug_failed=1
		return 1
	fi
}

debug_failed=0
built_at=
running=()
rm -f "$LOG_DIR/status-host" "$LOG_DIR/status-bench" "$LOG_DIR/status-installed" \
	"$LOG_DIR"/span-*
# next_job: the next job to start, in entry; false once there is none.
# A boot of the debug kernel as soon as it is built, or once nothing else
# is left (after waiting for its build); else the next of the others.
next_job() {
	if ((${#debug_queue[@]})) &&
		{ [[ -z $build_pid || -f $LOG_DIR/debug-built-at ]] || ((${#queue[@]} == 0)); }; then
		if debug_built; then
			entry=${debug_queue[0]}
			debug_queue=("${debug_queue[@]:1}")
			return 0
		fi
		debug_queue=()
	fi
	((${#queue[@]})) || return 1
	entry=${queue[0]}
	queue=("${queue[@]:1}")
}

for ((;;)); do
	# A free slot first: which job goes next depends on when it is free.
	while ((${#running[@]} >= VM_JOBS)); do
		wait -n "${running[@]}" 2>/dev/null || true
		alive=()
		for p in "${running[@]}"; do
			kill -0 "$p" 2>/dev/null && alive+=("$p")
		done
		running=("${alive[@]}")
	done
	next_job || break
	read -r k b _ <<<"$entry"
	rm -f "$LOG_DIR/status-$k-boot$b"
	if ((VM_JOBS > 1)); then
		run_job "$k" "$b" &
		running+=($!)
	else
		run_job "$k" "$b"
	fi
done
wait

declare -A ksecs=() ktimes=()
failed_vm=()
for entry in "${boots[@]}"; do
	read -r k b n <<<"$entry"
	res=$LOG_DIR/results-$k-boot$b.txt
	[[ $k == debug ]] && ((debug_failed)) && continue
	read -r rc secs <"$LOG_DIR/status-$k-boot$b" 2>/dev/null || { rc="?"; secs=0; }
	ksecs[$k]=$((${ksecs[$k]:-0} + secs))
	summary+=("kernel $k boot $b: $n tests in $secs s")
	if [[ ! -f $res ]]; then
		fail_setup "kernel $k boot $b: tests/vm/run.sh gave no results (exit $rc)"
		continue
	fi
	while read -r name st secs; do
		secs=${secs:-0}
		ktimes[$k]+="$secs $name"$'\n'
		case $st in
		pass) npass=$((npass + 1)); summary+=("PASS $k:$name ($secs s)") ;;
		skip) nskip=$((nskip + 1)); summary+=("SKIP $k:$name ($secs s)") ;;
		*) nfail=$((nfail + 1)); summary+=("FAIL $k:$name ($secs s)")
		   failed_vm+=("$k:$name") ;;
		esac
	done <"$res"
done
# Among CI's last lines: each kernel's total and its slowest tests, and
# every failed test.
for k in $KERNELS; do
	[[ -n ${ktotal[$k]:-} ]] || continue
	summary+=("kernel $k: ${ktotal[$k]} tests in ${ksecs[$k]:-0} s of boots")
	line=$(sort -rn <<<"${ktimes[$k]:-}" | head -n 8 |
		awk 'NF == 2 { printf "%s %s %d s", sep, $2, $1; sep = "," }')
	[[ -z $line ]] || summary+=("  slowest on $k:$line")
done
((${#failed_vm[@]} == 0)) || summary+=("failed: ${failed_vm[*]}")
# Where the time went, among CI's last lines: each job's start and end.
line=
for entry in "${jobs[@]}"; do
	read -r k b _ <<<"$entry"
	read -r s e 2>/dev/null <"$LOG_DIR/span-$k-$b" || continue
	[[ $b == 0 ]] && line+=" $k $s-$e," || line+=" $k#$b $s-$e,"
done
[[ -z $built_at ]] || line+=" debug kernel built at $built_at,"
[[ -z $line ]] || summary+=("timeline (s from run-all's start):${line%,}")

if [[ " ${jobs[*]} " == *" host 0 0 "* ]]; then
	out=$LOG_DIR/host.log
	read -r rc <"$LOG_DIR/status-host" 2>/dev/null || rc=1
	line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n1 || true)
	if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
		npass=$((npass + BASH_REMATCH[1]))
		nfail=$((nfail + BASH_REMATCH[2]))
		nskip=$((nskip + ${BASH_REMATCH[4]:-0}))
		summary+=("host: $line")
		if ((rc != 0 && BASH_REMATCH[2] == 0)); then
			fail_setup "tests/host/run.sh exited $rc"
		fi
	elif ((rc == 0)); then
		npass=$((npass + 1)); summary+=("PASS host")
	else
		nfail=$((nfail + 1)); summary+=("FAIL host (exit $rc)")
	fi
fi

# job_result JOB NAME LOG PATTERN LINES: the exit status of JOB
# (status-JOB) counted as the one test NAME; if it failed, the last LINES
# lines of LOG matching PATTERN (the cause, where CI's last lines show
# it) go into the summary.
job_result() {
	local rc line
	read -r rc 2>/dev/null <"$LOG_DIR/status-$1" || rc=1
	if [[ $rc == 0 ]]; then
		npass=$((npass + 1)); summary+=("PASS $2")
		return 0
	fi
	nfail=$((nfail + 1))
	summary+=("FAIL $2 (exit $rc, log $3)")
	while read -r line; do
		summary+=("  $2: $line")
	done < <(tr -d '\r' 2>/dev/null <"$3" | grep -aE "$4" | tail -n "$5")
}

if [[ " ${jobs[*]} " == *" bench 0 0 "* ]] &&
	[[ $(cat "$LOG_DIR/status-bench" 2>/dev/null) == skip ]]; then
	nskip=$((nskip + 1))
	summary+=("SKIP bench/smoke: $(cat "$LOG_DIR/bench-smoke.log")")
elif [[ " ${jobs[*]} " == *" bench 0 0 "* ]]; then
	echo "==== benchmark smoke run ===="
	tail -n 3 "$LOG_DIR/bench-smoke.log" 2>/dev/null
	# The errors the bench reported, the VM's verdict, any kernel report.
	job_result bench bench/smoke "$LOG_DIR/bench-smoke.log" \
		'^(error: |bench: the (counted )?VM|vm: |FAIL)|Oops|BUG:|WARNING:|[Pp]anic|double fault' 20
fi

if [[ " ${jobs[*]} " == *" installed 0 0 "* ]]; then
	echo "==== installed-system test (quick) ===="
	grep -E '^installed: ' "$LOG_DIR/installed.log" 2>/dev/null | tail -n 8
	job_result installed installed/quick "$LOG_DIR/installed.log" \
		'^(installed: |RESULT |no packages)' 10
fi

finish
