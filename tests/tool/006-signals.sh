#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# blksnap backup interrupted by SIGINT or SIGTERM at random points: exit
# 130 or 143 (or 0 if it was done), the snapshot destroyed, no temporary
# file left, no incomplete backup looking complete; the chain stays good.
# After SIGKILL the snapshot stays (nothing can clean up) but no backup
# looks complete either.
# needs: blksnap.ko, 1 disk
# timeout: 600
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd sfdisk
load_blksnap diff_storage_minimum=16384
B() { blksnap "$@" || fail "blksnap $*"; }

trap 'cleanup_blksnap; unpart' EXIT
shaof() { sha256sum <"$1" | cut -d' ' -f1; }
# complete_count: backups whose metadata is complete.
complete_count() {
	local f n=0
	for f in "$bk"/*.meta; do
		[[ -f $f && $(tail -n1 "$f") == complete=1 ]] && n=$((n + 1))
	done
	echo "$n"
}

d=$(part "${DISKS[0]}" 128)
bk=$TEST_TMP/backup
mkdir "$bk"
dd if=/dev/urandom of="$d" bs=1M count=96 oflag=direct status=none || fail "fill"
s=$(shaof "$d")
B backup -q --storage "$TEST_TMP" "$bk" "$d"
n=1
for round in $(seq 1 8); do
	sig=INT
	((round % 2)) && sig=TERM
	# 0 to 2.5 s: before the snapshot, while copying, while verifying.
	delay=$((RANDOM % 26))
	opt=--verify
	((round % 3 == 0)) && opt=--incremental
	blksnap backup -q $opt --storage "$TEST_TMP" "$bk" "$d" 2>"$TEST_TMP/err" &
	pid=$!
	sleep "$((delay / 10)).$((delay % 10))"
	kill -"$sig" "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	echo "round $round: SIG$sig after $((delay / 10)).$((delay % 10)) s: exit $rc $(head -n1 "$TEST_TMP/err")"
	case $rc in
	0) n=$((n + 1)) ;;
	130 | 143)
		# A signal in the first few tenths of a second may come before
		# the tool has set up its handlers (the exec alone takes that
		# long under emulation): the default action then ends it before
		# it did anything, which the checks below hold it to.
		grep -q "interrupted by signal" "$TEST_TMP/err" ||
			{ ((delay < 3)) && [[ ! -s $TEST_TMP/err ]]; } ||
			fail "no message: $(cat "$TEST_TMP/err")"
		;;
	*) fail "round $round: exit $rc: $(cat "$TEST_TMP/err")" ;;
	esac
	[[ -z $(B snapshot-collect) ]] || fail "round $round: snapshot left behind"
	compgen -G "$bk/.*" >/dev/null && fail "round $round: temporary files left: $(ls -a "$bk")"
	[[ $(complete_count) == "$n" ]] || fail "round $round: $(complete_count) complete backups, expected $n"
	out=$(B list "$bk")
	grep -q ' bad$\| broken$' <<<"$out" && fail "round $round: list: $out"
done
B restore -q "$bk" "$TEST_TMP/r"
[[ $(shaof "$TEST_TMP/r") == "$s" ]] || fail "restore after the interruptions differs"
rm "$TEST_TMP/r"

# SIGKILL: the snapshot stays, but no backup looks complete.
blksnap backup -q --verify --storage "$TEST_TMP" "$bk" "$d" &
pid=$!
sleep 0.5
kill -KILL "$pid"
wait "$pid" 2>/dev/null
rc=$?
echo "SIGKILL: exit $rc"
((rc == 137)) || n=$((n + 1)) # it was done before the signal
[[ $(complete_count) == "$n" ]] || fail "SIGKILL: a backup looks complete"
ids=$(B snapshot-collect)
[[ -n $ids ]] || echo "SIGKILL came after the end"
for id in $ids; do B snapshot-destroy "$id"; done
out=$(B list "$bk")
grep -q ' bad$\| broken$' <<<"$out" && fail "list after SIGKILL: $out"
B restore -q "$bk" "$TEST_TMP/r"
[[ $(shaof "$TEST_TMP/r") == "$s" ]] || fail "restore after SIGKILL differs"
B detach "$d"
unload_blksnap
