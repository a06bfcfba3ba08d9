#!/bin/bash
# The cbtrestore extension (kernel/blksnap/blksnap.rst): every refusal
# with its errno and the tracker left as it was (generation, number, map,
# still restorable); then a restore merged with the writes since the
# attach, seen in the readable map at the next take; a second restore and
# one into a tracker that was in a snapshot are EBUSY. The devices and the
# module work afterwards.
# needs: blksnap.ko, 2 disks
. "$TEST_BIN/testlib.sh"
need_disks 2
d=${DISKS[0]}
d2=${DISKS[1]}
load_blksnap diff_storage_minimum=2048
s=$TEST_TMP/storage

snap attach "$d"
cap=$(cbt "$d" capacity)
bc=$(cbt "$d" block_count)
bs=$(cbt "$d" block_size)
gen=$(cbt "$d" generation)
echo "tracker: $bc blocks of $bs bytes, $cap bytes"
# A write after the attach, in block 7.
dd if=/dev/urandom of="$d" bs=4k seek=$((7 * bs / 4096)) count=1 oflag=direct \
	conv=notrunc status=none || fail "write"

r() { # r ERRNO OPTIONS...: cbtrestore of $d must end with ERRNO.
	local e=$1
	shift
	cbtrestore -e "$e" "$@" "$d" || fail "cbtrestore $* (expected $e)"
}
# The structure.
for len in 0 8 40 47; do
	r EINVAL -L "$len"
done
r E2BIG -L 4097
r E2BIG -L 64 -T 1
r EFAULT -F
r EINVAL -f 1
r EINVAL -r 1
r EINVAL -n 255
r EINVAL -b 0
# Another geometry.
r ERANGE -c $((cap + 512))
r ERANGE -c $((cap - 512))
r ERANGE -s $((bs * 2))
r ERANGE -s $((bs / 2))
r ERANGE -b $((bc + 1))
r ERANGE -b $((bc - 1))
r ERANGE -b 0xffffffff
# The map.
r EFAULT -M
r EFAULT -Z
r EINVAL -n 3 -v 4
r EINVAL -n 3 -V $((bc - 1)):200
r EINVAL -n 0 -V 0:1

# Nothing changed: the same tracker, the attach's write still in it.
[[ $(cbt "$d" generation) == "$gen" ]] || fail "generation changed by a refused restore"
[[ $(cbt "$d" changes_number) == 0 ]] || fail "number changed by a refused restore"
[[ -z $(snapctl cbtmap "$d") ]] || fail "readable map changed by a refused restore"

# A restore (a larger structure, zero beyond: accepted): generation and
# number are the saved ones; block 3 saved as changed at 2.
g=00112233445566778899aabbccddeeff
cbtrestore -L 64 -n 3 -V 3:2 -g "$g" "$d" || fail "restore"
cbtrestore -e EBUSY -n 3 "$d" || fail "second restore"
[[ $(cbt "$d" generation) == "$g" ]] || fail "generation not restored: $(cbt "$d" generation)"
[[ $(cbt "$d" changes_number) == 3 ]] || fail "number not restored"
[[ $(snapctl cbtmap "$d") == "3 2" ]] || fail "readable map: $(snapctl cbtmap "$d")"
# A write after the restore, in block 11; then a take: the writes since
# the attach (block 7) and since the restore (11) are changes after 3.
dd if=/dev/urandom of="$d" bs=4k seek=$((11 * bs / 4096)) count=1 oflag=direct \
	conv=notrunc status=none || fail "write"
id=$(snap_new "$s" 65536 "$d")
snap take "$id"
[[ $(cbt "$d" changes_number) == 4 ]] || fail "number after take: $(cbt "$d" changes_number)"
[[ $(cbt "$d" generation) == "$g" ]] || fail "generation after take"
want=$'3 2\n7 4\n11 4'
[[ $(snapctl cbtmap "$d") == "$want" ]] || fail "map after take: $(snapctl cbtmap "$d")"
snap destroy "$id"
rm -f "$s"

# A tracker that was in a snapshot, even one destroyed before its take.
snap attach "$d2"
id=$(snap_new "$s" 65536 "$d2")
cbtrestore -e EBUSY "$d2" || fail "restore into a tracker in a snapshot"
snap destroy "$id"
rm -f "$s"
cbtrestore -e EBUSY "$d2" || fail "restore into a tracker that was in a snapshot"

blksnap_ok "$d" "$d2"
snap detach "$d"
snap detach "$d2"
unload_blksnap
