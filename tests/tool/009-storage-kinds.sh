#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The difference storage as the library picks it from what the path is: a
# directory (an unnamed file: nothing appears in it), a path that does not
# exist (a file created; backup removes it again), an existing file (kept),
# a block device (held exclusively while the snapshot lives); and backups
# made with each restore byte for byte.
# needs: blksnap.ko, 2 disks
# timeout: 300
. "$TEST_BIN/testlib.sh"
need_disks 2
need_cmd sfdisk
load_blksnap diff_storage_minimum=16384
B() { blksnap "$@" || fail "blksnap $*"; }

trap 'cleanup_blksnap; unpart' EXIT
shaof() { sha256sum <"$1" | cut -d' ' -f1; }
d=$(part "${DISKS[0]}" 32)
sdev=${DISKS[1]}
dd if=/dev/urandom of="$d" bs=1M count=8 oflag=direct status=none || fail "fill"
s=$(shaof "$d")
bk=$TEST_TMP/backup
st=$TEST_TMP/st
mkdir "$bk" "$st"

# Directory.
id=$(B snapshot-create --storage "$st" "$d")
B snapshot-take "$id"
[[ -z $(ls -A "$st") ]] || fail "a file appeared in the storage directory"
B snapshot-destroy "$id"
# New file: created, left after snapshot-destroy.
id=$(B snapshot-create --storage "$st/new" --limit 16M "$d")
[[ -f $st/new ]] || fail "storage file not created"
[[ $(stat -c %a "$st/new") == 600 ]] || fail "storage file mode"
B snapshot-destroy "$id"
[[ -f $st/new ]] || fail "storage file removed by snapshot-destroy"
# Existing file: used, kept.
id=$(B snapshot-create --storage "$st/new" --limit 16M "$d")
B snapshot-destroy "$id"
[[ -f $st/new ]] || fail "existing storage file removed"
rm "$st/new"
# Block device: exclusive while the snapshot lives.
id=$(B snapshot-create --storage "$sdev" "$d")
blksnap snapshot-create --storage "$sdev" 2>"$TEST_TMP/err" && fail "second exclusive open"
grep -q "^blksnap: $sdev: cannot create a snapshot: the storage device is in use" "$TEST_TMP/err" ||
	fail "busy message: $(cat "$TEST_TMP/err")"
B snapshot-destroy "$id"
id=$(B snapshot-create --storage "$sdev")
B snapshot-destroy "$id"

# Backups with each kind; a storage file backup creates is removed again.
for storage in "$st" "$st/made-by-backup" "$sdev"; do
	B backup -q --storage "$storage" "$bk" "$d"
done
[[ ! -e $st/made-by-backup ]] || fail "backup left its storage file"
BLKSNAP_STORAGE=$st B backup -q "$bk" "$d"
for seq in 1 2 3 4; do
	B restore -q "$bk/${d#/dev/}.00000$seq.meta" "$TEST_TMP/r"
	[[ $(shaof "$TEST_TMP/r") == "$s" ]] || fail "restore of backup $seq differs"
	rm "$TEST_TMP/r"
done
[[ -z $(B snapshot-collect) ]] || fail "snapshot left behind"
B detach "$d"
unload_blksnap
