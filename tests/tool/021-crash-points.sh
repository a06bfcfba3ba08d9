#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Change tracking across crashes at random points during writes: a 64 MiB
# partition tracked by "blksnap track" with a write-intent log of 1 MiB
# regions in a file of a second disk's ext4, which also holds the
# configuration, the state files, the backups and a mirror: the device as
# the latest backup restored it.  Each boot but the first recovers from
# the crash that ended the one before and checks:
#   - the old log marks only regions of the last round's writes, and
#     (unless a backup was under way at the crash) every region in which
#     the device differs from the mirror (blkcmp compares them; what the
#     tracker says is not trusted);
#   - "track start" recovers (the saved state and the log's regions);
#     after a write, the incremental backup reads at most the blocks
#     changed since the mirror plus the log's regions, and its chain,
#     restored, equals the device block for block (and becomes the mirror).
# Then a round: writes by fio into 1 to 4 random regions, in one round of
# three an incremental backup started meanwhile, and a reset with no sync
# (sysrq-b) after a random 0.3 to 2.8 s.  The first boot makes the full
# backup and the first round, the last one (boot CRASH_POINTS + 1) only
# recovers and checks.
#
# Environment (tests/vm/run.sh --test-env): CRASH_POINTS (default 20; more
# needs --boots CRASH_POINTS+1), CRASH_SEED (default random, printed: the
# same regions, modes and delays again; the moments of the writes differ),
# CRASH_LOG=0 (no log: every backup after a crash must be full, saying
# why).
# boots: 21
# needs: blksnap.ko, 2 disks, fio
# timeout: 120
. "$TEST_BIN/testlib.sh"
need_disks 2
need_cmd sfdisk mkfs.ext4 fio
load_blksnap diff_storage_minimum=2048
keep_env "${DISKS[1]}"
LOG=$S/vda1.log
REGION=$((1 << 20))
points=${CRASH_POINTS:-20}
uselog=${CRASH_LOG:-1}
d=${DISKS[0]}1

if ((BOOT_NUMBER == 1)); then
	seed=${CRASH_SEED:-$((SRANDOM % 1000000))}
	echo "$seed" >"$S/seed"
	[[ $(part "${DISKS[0]}" 64) == "$d" ]] || fail "partition"
	mkdir -p "$bk"
	logopt=
	((!uselog)) || logopt=" log=$LOG log-region=1M"
	cat >"$conf" <<-EOC
	state-dir $BLKSNAP_STATE_DIR
	storage $S
	device IDENTITY=$(part_ident "${DISKS[0]}")$logopt
	EOC
fi
seed=$(<"$S/seed") || fail "no seed"
RANDOM=$((seed * 1000 + BOOT_NUMBER))
echo "boot $BOOT_NUMBER of $((points + 1)), seed $seed (again: tests/vm/run.sh --test-env CRASH_SEED=$seed ...)"

# mirror_update: the latest backup's chain restored, equal to the device,
# is the new mirror.
mirror_update() {
	B restore -q --name "${d#/dev/}" "$bk" "$S/mirror.new"
	cmp "$S/mirror.new" "$d" || fail "the restored chain differs from the device"
	mv "$S/mirror.new" "$S/mirror" || fail "mv"
	sync
}

# subset A B: every number of the list A is in the list B.
subset() {
	local x
	for x in $1; do
		[[ " $2 " == *" $x "* ]] || return 1
	done
}

# recover: after the crash of the round recorded in $S/round.
recover() {
	local regions='' inflight=0 marked='' changed blocks read_bytes
	# shellcheck disable=SC1091 # written by round()
	. "$S/round" || fail "no record of the last round"
	if ((uselog)); then
		cbtlog decode "$LOG" >"$TEST_TMP/log" || fail "cbtlog decode $LOG"
		grep -qx 'crc=ok' "$TEST_TMP/log" || fail "the log's header is damaged"
		marked=$(sed -n 's/^bits=//p' "$TEST_TMP/log")
		echo "the log marks regions: ${marked:-none}; the round wrote $regions"
		subset "$marked" "$regions" || fail "the log marks regions the round did not write"
	fi
	changed=$(blkcmp -r "$REGION" "$S/mirror" "$d" 4096 | sed -n 's/^regions=//p') ||
		fail "blkcmp"
	echo "the device differs from the mirror in regions: ${changed:-none}"
	if ((uselog && !inflight)); then
		subset "$changed" "$marked" || fail "a region written since the checkpoint is not in the log"
	fi
	track 0 start
	if ((uselog)); then
		grep -q "recovered from .* and the $(wc -w <<<"$marked") regions of 1.0 MiB that $LOG marks" \
			"$TEST_TMP/err" || fail "not recovered from the log"
	fi
	# A write after the recovery, before the backup.
	randwrite "$d" $((RANDOM % 64)) 64
	blocks=$(blkcmp "$S/mirror" "$d" 4096 | sed -n 's/^blocks=//p') || fail "blkcmp"
	B backup -c "$conf" --incremental --json "$bk" "$d" >"$TEST_TMP/j" 2>"$TEST_TMP/err"
	cat "$TEST_TMP/err"
	read_bytes=$(json_val bytes_read <"$TEST_TMP/j")
	if ((uselog)); then
		[[ $(json_val type <"$TEST_TMP/j") == incremental ]] || fail "not incremental after a crash"
		echo "incremental: $read_bytes bytes read, $((blocks * 4096)) changed since the mirror, $(wc -w <<<"$marked") regions marked"
		((read_bytes <= blocks * 4096 + $(wc -w <<<"$marked") * REGION)) ||
			fail "read more than the changed blocks and the marked regions"
	else
		[[ $(json_val type <"$TEST_TMP/j") == full ]] || fail "not full after a crash without a log"
		grep -q "full copy: the change tracker was reset" "$TEST_TMP/err" ||
			fail "the full copy does not say why"
	fi
	mirror_update
}

# round: writes into random regions, in one round of three a backup
# meanwhile, and a crash at a random moment.
round() {
	local n r regions=() ms inflight=$((RANDOM % 3 == 0)) fiojobs=() mode
	n=$((1 + RANDOM % 4))
	while ((${#regions[@]} < n)); do
		r=$((RANDOM % 64))
		[[ " ${regions[*]} " == *" $r "* ]] || regions+=("$r")
	done
	ms=$((300 + RANDOM % 2500))
	printf 'regions="%s"\ninflight=%d\n' "${regions[*]}" "$inflight" >"$S/round"
	sync
	mode=
	((!inflight)) || mode=", a backup meanwhile"
	echo "round $BOOT_NUMBER: writes into regions ${regions[*]}$mode, a crash after $ms ms"
	for r in "${regions[@]}"; do
		fiojobs+=(--name="r$r" --offset=$((r * REGION)) --size="$REGION")
	done
	fio --filename="$d" --direct=1 --ioengine=libaio --iodepth=4 --rw=randwrite \
		--bs=4k --time_based --runtime=60 --randrepeat=0 --refill_buffers \
		"${fiojobs[@]}" >"$TEST_TMP/fio" 2>&1 &
	crash_in "$ms"
	if ((inflight)); then
		sleep "0.$((RANDOM % 10))"
		B backup -c "$conf" --incremental -q "$bk" "$d"
	fi
	wait
	cat "$TEST_TMP/fio"
	fail "fio ended before the crash"
}

if ((BOOT_NUMBER == 1)); then
	randwrite "$d" 0 65536
	track 0 start
	B backup -c "$conf" -q "$bk" "$d"
	mirror_update
else
	recover
fi
((BOOT_NUMBER <= points)) || exit 0
round
