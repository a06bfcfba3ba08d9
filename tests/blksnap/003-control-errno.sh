#!/bin/bash
# Every error of the control device's ioctls (kernel/blksnap/blksnap.rst):
# unknown ids, bad storage descriptors, zero and absurd limits, take twice,
# take without devices, destroy twice, the two-call protocol of collect,
# wait_event timeout/EINTR/no such snapshot, bad pointers, callers without
# CAP_SYS_ADMIN; a failed call leaves no snapshot behind and the module
# works afterwards. The errnos the seed leaves open are the v6 series':
# an unknown id is ESRCH (take, wait, add) or ENODEV (destroy), a wait
# without event ENOENT, collect without an array counts.
# needs: blksnap.ko, 1 disk
. "$TEST_BIN/testlib.sh"
need_disks 1
d=${DISKS[0]}
load_blksnap diff_storage_minimum=2048
s=$TEST_TMP/storage
unknown=$(rand_id)

snapctl -e ENODEV destroy "$unknown" || fail "destroy, unknown id"
snapctl -e ESRCH take "$unknown" || fail "take, unknown id"
snapctl -e ESRCH wait "$unknown" 0 || fail "wait, unknown id"
snapctl -e ESRCH wait "$unknown" 100 || fail "wait 100 ms, unknown id"

# Descriptors: open for reading and writing (else EBADF), and a regular
# file or a block device opened with O_EXCL (else EINVAL).
snapctl -e EBADF create -m rdonly "$s" 65536 || fail "read-only file"
snapctl -e EBADF create -m wronly "$s" 65536 || fail "write-only file"
snapctl -e EBADF create -m closed "$s" 65536 || fail "closed descriptor"
snapctl -e EBADF create -m fd:1000 "$s" 65536 || fail "descriptor never opened"
snapctl -e EINVAL create -m fifo "$TEST_TMP/fifo" 65536 || fail "FIFO opened O_RDWR"
snapctl -e EINVAL create -m null "$s" 65536 || fail "/dev/null opened O_RDWR"
if [[ -e /proc/net/unix ]]; then
	snapctl -e EINVAL create -m socket "$s" 65536 || fail "socket"
else
	echo "no AF_UNIX sockets in this kernel (the debug kernel): socket not tried"
fi
snapctl -e EINVAL create -m noexcl "$d" 65536 || fail "block device without O_EXCL"
# Both wrong (not read-write, not a file): either answer.
snapctl -e EBADF,EINVAL create -m pipe "$s" 65536 || fail "pipe"
snapctl -e EBADF,EINVAL create -m dir "$TEST_TMP" 65536 || fail "directory"
# Limits.
snapctl -e EINVAL create "$s" 0 || fail "limit 0"
snapctl -e EINVAL create "$s" 0xffffffffffffffff || fail "limit 2^64-1"
snapctl -e EINVAL create "$s" $((1 << 54)) || fail "limit of 2^63 bytes"
snapctl -e EINVAL create "$s" $(((1 << 62) + 1)) || fail "limit 2^62+1"
[[ -z $(snap collect) ]] || fail "a failed create left a snapshot"
# Just below the overflow is a valid limit.
id=$(snap create "$s" $(((1 << 54) - 1))) || fail "create"
snap destroy "$id"
# Bad pointers.
snapctl -F -e EFAULT version || fail "version, bad pointer"
snapctl -F -e EFAULT create "$s" 65536 || fail "create, bad pointer"
snapctl -F -e EFAULT take "$unknown" || fail "take, bad pointer"
snapctl -F -e EFAULT destroy "$unknown" || fail "destroy, bad pointer"
snapctl -F -e EFAULT wait "$unknown" 0 || fail "wait, bad pointer"
snapctl -F -e EFAULT collect -n 0 || fail "collect, bad pointer"
[[ -z $(snap collect) ]] || fail "a failed call left a snapshot"

# Life cycle errors.
id=$(snap create "$s" 65536) || fail "create"
[[ $id =~ ^[0-9a-f]{32}$ ]] || fail "id '$id'"
snapctl -e ENODEV take "$id" || fail "take without devices"
snap attach "$d"
snap add "$d" "$id"
snap take "$id"
snapctl -e EALREADY take "$id" || fail "take twice"
img=$(snap_image "$d") || fail "snap_image"
snap destroy "$id"
[[ ! -e $img ]] || fail "image left after destroy"
snapctl -e ENODEV destroy "$id" || fail "destroy twice"
snapctl -e ESRCH take "$id" || fail "take after destroy"
snapctl -e ESRCH add "$d" "$id" || fail "add after destroy"

# collect: the count without an array, ENODATA with one too small.
a=$(snap create "$s.a" 65536) || fail "create"
b=$(snap create "$s.b" 65536) || fail "create"
c=$(snap create "$s.c" 65536) || fail "create"
want=$(printf '%s\n' "$a" "$b" "$c" | sort)
[[ $(snap collect | sort) == "$want" ]] || fail "collect: $(snapctl collect)"
out=$(snap collect -n 0) || fail "collect without an array, with 3"
[[ $out == $'count=3\nuntouched=1' ]] || fail "collect count 0: $out"
out=$(snapctl -e ENODATA collect -n 2) || fail "collect count 2 with 3"
[[ $(head -n2 <<<"$out") == $'count=3\nuntouched=1' ]] || fail "collect count 2: $out"
out=$(snap collect -n 3)
[[ $(head -n1 <<<"$out") == count=3 ]] || fail "collect count 3: $out"
[[ $(tail -n +3 <<<"$out" | sort) == "$want" ]] || fail "collect count 3 ids: $out"
out=$(snap collect -n 100)
[[ $(head -n1 <<<"$out") == count=3 ]] || fail "collect count 100: $out"
[[ $(tail -n +3 <<<"$out" | sort) == "$want" ]] || fail "collect count 100 ids: $out"
snapctl -B -e EFAULT collect -n 3 || fail "collect into a bad array"

# wait_event: nothing happens to a healthy snapshot.
snapctl -e ENOENT wait "$a" 0 || fail "wait 0"
t0=$(now_ms)
snapctl -e ENOENT wait "$a" 1000 || fail "wait 1000"
dt=$(($(now_ms) - t0))
((dt >= 900 && dt < 10000)) || fail "wait 1000 ms took $dt ms"
snapctl -e EINTR wait "$a" 30000 &
p=$!
sleep 0.5
kill -USR1 "$p"
wait_gone "$p" 5 || fail "wait not interrupted by a signal"
wait "$p" || fail "wait interrupted: not EINTR"
snapctl -e ESRCH wait "$b" 30000 &
p=$!
sleep 0.5
snap destroy "$b"
wait_gone "$p" 5 || fail "wait not ended by destroy"
wait "$p" || fail "wait ended by destroy: not ESRCH"

# Callers without CAP_SYS_ADMIN change nothing.
snapctl -u -e EPERM version || fail "unprivileged version"
snapctl -u -e EPERM create "$s.u" 65536 || fail "unprivileged create"
snapctl -u -e EPERM take "$a" || fail "unprivileged take"
snapctl -u -e EPERM destroy "$a" || fail "unprivileged destroy"
snapctl -u -e EPERM collect -n 10 || fail "unprivileged collect"
snapctl -u -e EPERM wait "$a" 0 || fail "unprivileged wait"
snapctl -u -e EPERM add "$d" "$a" || fail "unprivileged add"
want=$(printf '%s\n' "$a" "$c" | sort)
[[ $(snap collect | sort) == "$want" ]] || fail "snapshots changed by failed calls"
snap add "$d" "$a"
snap take "$a"
[[ -n $(snap_field "$d" image) ]] || fail "not taken"
snap destroy "$a"
snap destroy "$c"
[[ -z $(snap collect) ]] || fail "snapshots left"
[[ $(snap collect -n 0) == $'count=0\nuntouched=1' ]] || fail "collect count 0 with none"
blksnap_ok "$d"
snap detach "$d"
unload_blksnap
