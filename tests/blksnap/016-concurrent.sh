#!/bin/bash
# Several snapshots at once: three processes, one per disk, each creating,
# taking, checking (image = data at take while the disk is overwritten) and
# destroying its own snapshot again and again, while another lists the
# snapshots and reads change maps; all at the same time, all answers right.
# Then three snapshots held together, listed by collect.
# needs: blksnap.ko, 3 disks
# timeout: 300
. "$TEST_BIN/testlib.sh"
need_disks 3
load_blksnap diff_storage_minimum=4096
for i in 0 1 2; do
	snap attach "${DISKS[$i]}"
done

# Six rounds each; three on a kernel TEST_SCALE times slower (debug).
ROUNDS=$((TEST_SCALE > 1 ? 3 : 6))
worker() {
	local dev=$1 n=$2 r id img
	mkpattern "$TEST_TMP/a.$n" 4096
	mkpattern "$TEST_TMP/b.$n" 4096
	for ((r = 0; r < ROUNDS; r++)); do
		if ((r % 2)); then
			ln -sf "a.$n" "$TEST_TMP/new.$n"
			ln -sf "b.$n" "$TEST_TMP/old.$n"
		else
			ln -sf "b.$n" "$TEST_TMP/new.$n"
			ln -sf "a.$n" "$TEST_TMP/old.$n"
		fi
		bput "$TEST_TMP/old.$n" "$dev" 0 || fail "$dev: fill"
		id=$(snapctl create "$TEST_TMP/storage.$n" 32768) || fail "$dev: create"
		snap add "$dev" "$id"
		snap take "$id"
		img=$(snap_image "$dev") || fail "snap_image"
		bput "$TEST_TMP/new.$n" "$dev" 0 || fail "$dev: overwrite"
		bsame "$TEST_TMP/old.$n" "$img" 0 || fail "$dev: image, round $r"
		bsame "$TEST_TMP/new.$n" "$dev" 0 || fail "$dev: original, round $r"
		snap destroy "$id"
		rm -f "$TEST_TMP/storage.$n"
	done
}
pids=()
for i in 0 1 2; do
	worker "${DISKS[$i]}" "$i" &
	pids+=($!)
done
lister() {
	local n=0 ids
	while :; do
		ids=$(snapctl collect) || fail "collect under load"
		(($(wc -w <<<"$ids") <= 3)) || fail "more than 3 snapshots: $ids"
		snapctl cbtmap -c 4096 -r /dev/null "${DISKS[$((n % 3))]}" || fail "cbtmap under load"
		n=$((n + 1))
		sleep 0.2
	done
}
lister &
lister_pid=$!
for p in "${pids[@]}"; do
	wait "$p" || fail "a worker failed"
done
kill "$lister_pid"
wait "$lister_pid"
(($? != 1)) || fail "the lister got a wrong answer"
[[ -z $(snap collect) ]] || fail "snapshots left"

ids=()
for i in 0 1 2; do
	ids+=("$(snap_new "$TEST_TMP/s$i" 32768 "${DISKS[$i]}")")
done
for i in 0 1 2; do
	snap take "${ids[$i]}" &
	pids[i]=$!
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a take in parallel failed"
done
[[ $(snap collect | sort) == "$(printf '%s\n' "${ids[@]}" | sort)" ]] || fail "collect: $(snapctl collect)"
imgs=$(for i in 0 1 2; do snap_image "${DISKS[$i]}"; done | sort -u | wc -l)
((imgs == 3)) || fail "$imgs distinct images for 3 devices"
for i in 0 1 2; do
	snap destroy "${ids[$i]}" &
	pids[i]=$!
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a destroy in parallel failed"
done
[[ -z $(snap collect) ]] || fail "snapshots left"
for i in 0 1 2; do
	snap detach "${DISKS[$i]}"
done
unload_blksnap
