#!/bin/bash
# Attach and detach from several processes at once on two disks: every
# call gets a defined answer, and the end state is consistent. Four
# workers, 40 calls each (40 / TEST_SCALE on a slower, debug, kernel).
# timeout: 400
. "$TEST_BIN/testlib.sh"
need_disks 2
load_filters
mkpattern "$TEST_TMP/p" 256
put "$TEST_TMP/p" "${DISKS[0]}" 0 || fail "write"
worker() {
	local dev
	for _ in $(seq $((40 / TEST_SCALE))); do
		dev=${DISKS[$((RANDOM % 2))]}
		if ((RANDOM % 2)); then
			bfctl -e OK,EALREADY attach "$dev" bftest || return 1
		else
			bfctl -e OK,ENOENT detach "$dev" bftest || return 1
		fi
		dd if="$dev" of=/dev/null bs=4k count=8 iflag=direct status=none || return 1
	done
}
pids=()
for _ in 1 2 3 4; do
	worker &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a worker got an unexpected answer"
done
for dev in "${DISKS[0]}" "${DISKS[1]}"; do
	bfctl detach "$dev" bftest 2>/dev/null || true
done
[[ $(attached_count) == 0 ]] || fail "attached count $(attached_count)"
same "$TEST_TMP/p" "${DISKS[0]}" 0 || fail "data"
unload_filters
