#!/bin/bash
# Harness self-test: the emulator runs code that the kernel patches while
# other CPUs execute it.  blkfilter hooks __submit_bio() through ftrace on
# the first attach and unhooks it after the last detach, under I/O; this
# does the same with the kernel's own function tracer, no module of ours
# loaded, while two fio jobs (one per CPU) write and verify their data.
#
# Why it is here: QEMU 7.2's multi-threaded TCG (-accel tcg,thread=multi)
# mis-executes such code now and then: "Oops: int3" at __submit_bio+0x1
# within seconds of this loop (the int3 of the kernel's text_poke_bp()
# executed after the patch was complete), and once a double fault.  The VM
# therefore runs single-threaded TCG by default (tests/vm/run.sh
# --tcg-thread); this test fails if that ever stops being enough.
#
# Needs: CONFIG_FUNCTION_TRACER (tracefs), fio, one spare disk.
# timeout: 180
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd fio
d=${DISKS[0]}
TR=/sys/kernel/tracing
[[ -e $TR/current_tracer ]] || mount -t tracefs nodev "$TR" 2>/dev/null
[[ -w $TR/set_ftrace_filter ]] || skip "no function tracer (tracefs)"
grep -qw function "$TR/available_tracers" || skip "no function tracer"
echo __submit_bio >"$TR/set_ftrace_filter" || skip "__submit_bio is not traceable"

# Two jobs, 16 MiB each, written at random and verified, twice.
fio --name=load --filename="$d" --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randwrite --bs=4k --size=16m --offset_increment=16m --numjobs=2 \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --loops=$((4 / TEST_SCALE)) \
	--randrepeat=0 --output="$TEST_TMP/fio.log" &
fio_pid=$!
n=0
while kill -0 "$fio_pid" 2>/dev/null; do
	echo function >"$TR/current_tracer" || fail "cannot start the function tracer"
	sleep 0.05
	echo nop >"$TR/current_tracer" || fail "cannot stop the function tracer"
	sleep 0.1
	n=$((n + 1))
done
: >"$TR/set_ftrace_filter"
wait "$fio_pid" || { cat "$TEST_TMP/fio.log"; fail "fio failed"; }
grep -q "err= 0" "$TEST_TMP/fio.log" || { cat "$TEST_TMP/fio.log"; fail "fio errors"; }
((n >= 10)) || fail "only $n patch cycles ran during the load"
echo "__submit_bio patched $((2 * n)) times under load, data verified"
