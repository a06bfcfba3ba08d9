#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# blksnap backup shows a progress line (bytes done of total, rate, time
# left) when stderr is a terminal, and says nothing about progress when it
# is not; the backup is the same either way.
# needs: blksnap.ko, 1 disk, script (util-linux, for a pseudo-terminal)
# timeout: 300
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd script sfdisk
load_blksnap diff_storage_minimum=16384
trap 'cleanup_blksnap; unpart' EXIT
# A 256 MiB partition: long enough a copy for a few progress lines.
d=$(part "${DISKS[0]}" 256)
n=${d#/dev/}
mkpattern "$TEST_TMP/p" 16384
put "$TEST_TMP/p" "$d" 0 || fail "write"

# On a terminal: the line is redrawn in place ("\r"), ends with "left".
mkdir "$TEST_TMP/tty"
script -qec "blksnap backup $TEST_TMP/tty $d" "$TEST_TMP/typescript" \
	>/dev/null 2>&1 || fail "backup on a terminal: $(cat "$TEST_TMP/typescript")"
tr '\r' '\n' <"$TEST_TMP/typescript" >"$TEST_TMP/lines"
grep -Eq "^blksnap: $d: [0-9.]+ ?[KMGT]?i?B? of [0-9.]+ ?[KMGT]?i?B?, .*/s, [0-9]+:[0-9]{2} left" \
	"$TEST_TMP/lines" || {
	cat -v "$TEST_TMP/typescript" | head -c 2000
	fail "no progress line on a terminal"
}

# Not a terminal: no progress line at all.
mkdir "$TEST_TMP/file"
blksnap backup "$TEST_TMP/file" "$d" 2>"$TEST_TMP/stderr" >/dev/null ||
	fail "backup: $(cat "$TEST_TMP/stderr")"
grep -q ' left' "$TEST_TMP/stderr" && fail "progress printed to a file: $(cat "$TEST_TMP/stderr")"
cmp -s "$TEST_TMP/tty/$n.000001.img" "$TEST_TMP/file/$n.000001.img" ||
	fail "the two backups differ"
[[ -z $(blksnap snapshot-collect) ]] || fail "a snapshot was left behind"
snapctl detach "$d" || fail "detach"
unload_blksnap
