#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# blksnap backup to a file system that fills up: a clear error naming the
# file, exit 1, the snapshot destroyed, nothing left in the target; the
# same for restore to a file.
# needs: blksnap.ko, 1 disk
# timeout: 300
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd sfdisk
load_blksnap diff_storage_minimum=16384
B() { blksnap "$@" || fail "blksnap $*"; }

trap 'cleanup_blksnap; unpart' EXIT
d=$(part "${DISKS[0]}" 64)
n=${d#/dev/}
dd if=/dev/urandom of="$d" bs=1M count=32 oflag=direct status=none || fail "fill"
small=$TEST_TMP/small
mkdir "$small"
mount -t tmpfs -o size=8m tmpfs "$small" || fail "mount tmpfs"
blksnap backup --storage "$TEST_TMP" "$small" "$d" 2>"$TEST_TMP/err"
rc=$?
cat "$TEST_TMP/err"
[[ $rc == 1 ]] || fail "exit $rc"
grep -q "^blksnap: $small/$n.000001.img: cannot write: No space left on device" "$TEST_TMP/err" ||
	fail "message"
[[ -z $(ls -A "$small") ]] || fail "files left: $(ls -A "$small")"
[[ -z $(B snapshot-collect) ]] || fail "snapshot left behind"

# Restore into a full file system: the target never appears.
bk=$TEST_TMP/backup
mkdir "$bk"
B backup -q --storage "$TEST_TMP" "$bk" "$d"
blksnap restore -q "$bk" "$small/restored" 2>"$TEST_TMP/err"
rc=$?
cat "$TEST_TMP/err"
[[ $rc == 1 ]] || fail "restore: exit $rc"
grep -q "^blksnap: $small/restored: cannot write: No space left on device" "$TEST_TMP/err" ||
	fail "restore message"
[[ -z $(ls -A "$small") ]] || fail "restore left files: $(ls -A "$small")"
umount "$small"
B detach "$d"
unload_blksnap
