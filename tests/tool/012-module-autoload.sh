#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tool loads the module when it finds none: snapshot-collect and
# attach run "modprobe blksnap", which pulls in blkfilter, and then do
# their work; when modprobe fails the tool says so, names what gives a
# module (the blksnap-dkms package), exits 1 and leaves nothing loaded.
# needs: blksnap.ko, 1 disk
# timeout: 120
. "$TEST_BIN/testlib.sh"
need_disks 1
need_blksnap
d=${DISKS[0]}
trap cleanup_blksnap EXIT
[[ -d /sys/module/blksnap ]] && fail "blksnap loaded before the test"
modinfo blksnap >/dev/null 2>&1 || fail "modprobe cannot find blksnap in this VM"

# Loaded by a control device command.
out=$(blksnap snapshot-collect 2>"$TEST_TMP/err") || fail "collect: $(cat "$TEST_TMP/err")"
[[ -z $out && ! -s $TEST_TMP/err ]] || fail "collect output: '$out' '$(cat "$TEST_TMP/err")'"
[[ -d /sys/module/blksnap && -c /dev/blksnap-control ]] || fail "not loaded by collect"
blkfilter_builtin || [[ -d /sys/module/blkfilter ]] || fail "blkfilter not pulled in"
unload_blksnap

# Loaded by attach, which then attaches.
blksnap attach "$d" || fail "attach without the module"
[[ $(cat "/sys/block/${d#/dev/}/filter") == blksnap ]] || fail "not attached"
blksnap cbtinfo "$d" | grep -q '^block_count=[1-9]' || fail "cbtinfo after the load"
blksnap detach "$d" || fail "detach"
unload_blksnap

# modprobe fails: the reason, what to install, exit 1, nothing loaded.
BLKSNAP_MODPROBE=false blksnap snapshot-collect 2>"$TEST_TMP/err" && fail "collect without a module"
cat "$TEST_TMP/err"
grep -q "^blksnap: no blksnap module for kernel $(uname -r): .*blksnap-dkms" "$TEST_TMP/err" ||
	fail "no hint: $(cat "$TEST_TMP/err")"
grep -q "^blksnap: /dev/blksnap-control: cannot open: the blksnap module is not loaded" "$TEST_TMP/err" ||
	fail "no error: $(cat "$TEST_TMP/err")"
BLKSNAP_MODPROBE=false blksnap attach "$d" 2>"$TEST_TMP/err" && fail "attach without a module"
grep -q "blksnap-dkms" "$TEST_TMP/err" || fail "attach, no hint: $(cat "$TEST_TMP/err")"
[[ -d /sys/module/blksnap ]] && fail "loaded although modprobe failed"
exit 0
