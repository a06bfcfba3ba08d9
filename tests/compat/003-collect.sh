#!/bin/bash
# The two-call protocol of IOCTL_BLKSNAP_SNAPSHOT_COLLECT as v6 clients
# make it: first without an array (success, count set), then with an array
# of that count. With 0, 1 and 3 snapshots the count and the ids are those
# of the snapshots created (compared as sets); an array one too small is
# ENODATA with the count needed and leaves the array untouched.
# needs: blksnap.ko
. "$TEST_BIN/testlib.sh"
load_blksnap diff_storage_minimum=2048
ids=()
for n in 0 1 3; do
	while ((${#ids[@]} < n)); do
		ids+=("$(snap create "$TEST_TMP/s.${#ids[@]}" 65536)") || fail "create"
	done
	out=$(snap collect -n 0)
	[[ $out == "count=$n"$'\nuntouched=1' ]] || fail "size query with $n: $out"
	want=$(printf '%s\n' "${ids[@]}" | sed '/^$/d' | sort)
	got=$(snap collect | sort)
	[[ $got == "$want" ]] || fail "collect with $n: $got, expected $want"
	if ((n)); then
		out=$(snap collect -n "$n")
		[[ $(head -n1 <<<"$out") == "count=$n" ]] || fail "collect -n $n: $out"
		[[ $(tail -n +3 <<<"$out" | sort) == "$want" ]] || fail "collect -n $n ids: $out"
	fi
	if ((n > 1)); then
		out=$(snapctl -e ENODATA collect -n $((n - 1))) || fail "array too small with $n"
		[[ $out == "count=$n"$'\nuntouched=1' ]] || fail "array too small with $n: $out"
	fi
	echo "$n snapshots: collected"
done
for id in "${ids[@]}"; do
	snap destroy "$id"
done
[[ $(snap collect -n 0) == $'count=0\nuntouched=1' ]] || fail "size query after destroy"
unload_blksnap
