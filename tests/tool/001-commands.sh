#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every command of the blksnap tool on a real device: version, attach and
# detach, cbtinfo, cbtmap, markdirty, the snapshot life cycle, wait-event
# and the errors that name their object, keyed on the module's errnos of
# issue 19 (wait-event: ENOENT no event, ESRCH no such snapshot, also for
# a waiter when it is destroyed; take ESRCH; destroy ENODEV).
# needs: blksnap.ko, 1 disk
# timeout: 300
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_blksnap diff_storage_minimum=16384
B() { blksnap "$@" || fail "blksnap $*"; }

out=$(B version)
grep -q '^module: 1\.0\.0\.0$' <<<"$out" || fail "version: $out"
B version --json | grep -q '"major": 1' || fail "version --json"
blksnap --version | grep -q '^blksnap [0-9]' || fail "--version"

# Filter and tracker.
B attach "$d"
B attach "$d"
[[ $(cat "/sys/block/${d#/dev/}/filter") == blksnap ]] || fail "sysfs filter"
out=$(B cbtinfo "$d")
bs=$(sed -n 's/^block_size=//p' <<<"$out")
bc=$(sed -n 's/^block_count=//p' <<<"$out")
[[ $(sed -n 's/^device_size=//p' <<<"$out") == "$(blockdev --getsize64 "$d")" ]] ||
	fail "cbtinfo device_size: $out"
[[ $(sed -n 's/^changes_number=//p' <<<"$out") == 0 ]] || fail "changes_number: $out"
B cbtinfo --json "$d" | grep -q "\"block_count\": $bc" || fail "cbtinfo --json"
B detach "$d"
blksnap detach "$d" 2>"$TEST_TMP/err" && fail "second detach"
grep -q "^blksnap: $d: no filter is attached" "$TEST_TMP/err" || fail "detach message: $(cat "$TEST_TMP/err")"
blksnap cbtinfo "$d" 2>"$TEST_TMP/err" && fail "cbtinfo without filter"
grep -q "^blksnap: $d: .*not attached" "$TEST_TMP/err" || fail "cbtinfo message"

# A snapshot with the device added at create; the write before it is
# tracked, the filter being attached first.
B attach "$d"
mkpattern "$TEST_TMP/p" 1024
put "$TEST_TMP/p" "$d" 0 || fail "write"
id=$(B snapshot-create --storage "$TEST_TMP" --limit 64M "$d")
[[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "id $id"
B snapshot-collect | grep -qx "$id" || fail "collect"
B snapshot-collect --json | grep -q "\"$id\"" || fail "collect --json"
blksnap snapshot-add "$id" "$d" 2>"$TEST_TMP/err" && fail "added twice"
grep -q "^blksnap: $d: cannot add to the snapshot: added already" "$TEST_TMP/err" || fail "add twice message"
out=$(B snapshot-info "$d")
grep -qx 'error=0' <<<"$out" || fail "info before take: $out"
grep -qx 'image=' <<<"$out" || fail "image before take: $out"
B snapshot-take "$id"
blksnap snapshot-take "$id" 2>"$TEST_TMP/err" && fail "taken twice"
grep -q "^blksnap: $id: cannot take: taken already" "$TEST_TMP/err" || fail "take twice message"
img=$(B snapshot-info "$d" | sed -n 's/^image=//p')
[[ -b $img ]] || fail "no image $img"
# Named after the original's device number.
[[ $img == "/dev/blksnap-image_$(cat "/sys/class/block/${d#/dev/}/dev")" ]] ||
	fail "image name $img"
B snapshot-info --json "$d" | grep -q "\"image\": \"${img#/dev/}\"" || fail "info --json"
put "$TEST_TMP/p" "$d" 2048 || fail "write after take"
same "$TEST_TMP/p" "$img" 0 || fail "image content"
# The map after the first take: the first write, changes number 1.
out=$(B cbtinfo "$d")
[[ $(sed -n 's/^changes_number=//p' <<<"$out") == 1 ]] || fail "changes_number after take: $out"
out=$(B cbtmap "$d")
[[ $(head -n1 <<<"$out") == "START COUNT VALUE" ]] || fail "cbtmap header: $out"
[[ $(sed -n 2p <<<"$out") == "0 $(((1024 * 1024 + bs - 1) / bs)) 1" ]] || fail "cbtmap: $out"
[[ $(B cbtmap --noheadings "$d" | head -n1) == "0 $(((1024 * 1024 + bs - 1) / bs)) 1" ]] ||
	fail "cbtmap --noheadings"
out=$(B cbtmap --json "$d")
grep -q '"runs"' <<<"$out" || fail "cbtmap --json: $out"
grep -q "\"count\": $(((1024 * 1024 + bs - 1) / bs))," <<<"$out" || fail "cbtmap --json count: $out"
B cbtmap --all -n "$d" | awk '{n += $2} END {exit n != '"$bc"'}' || fail "cbtmap --all covers the map"
B cbtmap --output "$TEST_TMP/map" "$d"
[[ $(stat -c %s "$TEST_TMP/map") == "$bc" ]] || fail "raw map size"
B cbtmap --output - "$d" | cmp -s - "$TEST_TMP/map" || fail "raw map on stdout"
out=$(blksnap snapshot-wait-event --timeout 0 "$id")
[[ $? == 4 && $out == "no event" ]] || fail "wait-event without event: $out"
# A waiter learns at once that its snapshot is destroyed.
blksnap snapshot-wait-event --timeout 60000 "$id" >/dev/null 2>"$TEST_TMP/waiter" &
waiter=$!
sleep 1
t0=$SECONDS
B snapshot-destroy "$id"
wait "$waiter"
rc=$?
((rc == 1 && SECONDS - t0 < 20)) || fail "waiter: exit $rc after $((SECONDS - t0)) s"
grep -qx "blksnap: $id: no such snapshot" "$TEST_TMP/waiter" || fail "waiter message: $(cat "$TEST_TMP/waiter")"
[[ -z $(B snapshot-collect) ]] || fail "snapshot left"
out=$(B snapshot-info "$d")
[[ $out == $'error=0\nimage=' ]] || fail "info after destroy: $out"
blksnap snapshot-destroy "$id" 2>"$TEST_TMP/err" && fail "destroyed twice"
grep -q "^blksnap: $id: cannot destroy: no such snapshot" "$TEST_TMP/err" || fail "destroy message"
blksnap snapshot-wait-event "$id" 2>"$TEST_TMP/err"
[[ $? == 1 ]] || fail "wait-event on a destroyed snapshot"
grep -qx "blksnap: $id: no such snapshot" "$TEST_TMP/err" || fail "wait-event message: $(cat "$TEST_TMP/err")"
blksnap snapshot-take "$id" 2>"$TEST_TMP/err" && fail "take of a destroyed snapshot"
grep -qx "blksnap: $id: cannot take: no such snapshot" "$TEST_TMP/err" || fail "take message: $(cat "$TEST_TMP/err")"

# Several snapshots: collect asks for the number, then the ids.
ids=()
for i in 1 2 3; do
	ids+=("$(B snapshot-create --storage "$TEST_TMP" --limit 16M)")
done
out=$(B snapshot-collect)
for id in "${ids[@]}"; do
	grep -qx "$id" <<<"$out" || fail "collect of three: $out"
done
[[ $(grep -c . <<<"$out") == 3 ]] || fail "collect of three: $out"
B snapshot-destroy "${ids[@]}"

# markdirty: in both maps, seen in the readable one at once.
B markdirty "$d" 64M:4K $((bs * 30000)):512
map=$(B cbtmap "$d")
grep -q "^$((64 * 1048576 / bs)) 1 " <<<"$map" || fail "markdirty 64M: $map"
grep -q "^30000 1 " <<<"$map" || fail "markdirty block 30000: $map"
blksnap markdirty "$d" "$(blockdev --getsize64 "$d"):512" 2>"$TEST_TMP/err" && fail "markdirty past the end"
grep -q "^blksnap: $d: cannot mark" "$TEST_TMP/err" || fail "markdirty message"

# Created empty, added, taken; an event-less wait times out.
id=$(B snapshot-create --storage "$TEST_TMP/named" --json | sed -n 's/.*"id": "\(.*\)".*/\1/p')
[[ -n $id ]] || fail "create --json"
[[ -f $TEST_TMP/named ]] || fail "named storage file not created"
blksnap snapshot-take "$id" 2>"$TEST_TMP/err" && fail "take without devices"
grep -q "no device" "$TEST_TMP/err" || fail "take without devices message"
B snapshot-add "$id" "$d"
B snapshot-take "$id"
blksnap snapshot-wait-event --timeout 200 --json "$id" | grep -q '"event": null' ||
	fail "wait-event --json timeout"
B snapshot-destroy "$id"
rm -f "$TEST_TMP/named"

# Errors naming their object.
blksnap snapshot-add 00000000-0000-0000-0000-000000000000 "$d" 2>"$TEST_TMP/err" && fail "add to unknown"
grep -q "^blksnap: $d: cannot add to the snapshot: no such snapshot" "$TEST_TMP/err" || fail "unknown snapshot message: $(cat "$TEST_TMP/err")"
blksnap snapshot-create --storage /dev/null 2>"$TEST_TMP/err" && fail "storage /dev/null"
grep -q "^blksnap: /dev/null: " "$TEST_TMP/err" || fail "storage message"
B detach "$d"
unload_blksnap
