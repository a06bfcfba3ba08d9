#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tool, finding no module (the default control device missing), runs
# "modprobe blksnap" once and, when that fails, says what gives this
# kernel a module: the blksnap-dkms package, or with its sources present
# the headers package or the dkms command.  A fake modprobe stands in
# for the host's ($BLKSNAP_MODPROBE); with BLKSNAP_CONTROL set, or
# BLKSNAP_MODPROBE empty, nothing is run.
# shellcheck source=helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
if [[ -e /sys/module/blksnap || -e /dev/blksnap-control ]]; then
	echo "skip: the host has the blksnap module loaded"
	exit 77
fi
rel=$(uname -r)
cat >"$TEST_TMP/modprobe" <<SH
#!/bin/sh
echo "\$*" >>"$TEST_TMP/calls"
echo "modprobe: FATAL: Module blksnap not found in directory /lib/modules/$rel" >&2
exit 1
SH
chmod +x "$TEST_TMP/modprobe"
unset BLKSNAP_CONTROL

BLKSNAP_MODPROBE=$TEST_TMP/modprobe expect 1 snapshot-collect
[[ $(cat "$TEST_TMP/calls") == blksnap ]] || fail "modprobe calls: $(cat "$TEST_TMP/calls")"
expect_err "^modprobe: FATAL: Module blksnap not found"
expect_err "blksnap: no blksnap module for kernel $rel: (install the blksnap-dkms package|blksnap-dkms cannot build one without this kernel's headers: install linux-headers-$rel|blksnap-dkms has not built one: run 'dkms autoinstall -k $rel')"
expect_err "blksnap: /dev/blksnap-control: cannot open: the blksnap module is not loaded"
[[ $(grep -c . <<<"$err") == 3 ]] || fail "messages: $err"
if ! compgen -G "/usr/src/blksnap-*" >/dev/null; then
	expect_err "install the blksnap-dkms package \(apt install blksnap-dkms\)"
fi

# backup goes the same way, before touching its directory.
rm -f "$TEST_TMP/calls"
BLKSNAP_MODPROBE=$TEST_TMP/modprobe expect 1 backup "$TEST_TMP/bk" /dev/null
[[ ! -e $TEST_TMP/calls || $(cat "$TEST_TMP/calls") == blksnap ]] || fail "backup: modprobe calls"

# Never run: an empty BLKSNAP_MODPROBE, or a control device given.
rm -f "$TEST_TMP/calls"
BLKSNAP_MODPROBE='' expect 1 snapshot-collect
expect_err "no blksnap module for kernel $rel"
BLKSNAP_CONTROL=$TEST_TMP/no-control BLKSNAP_MODPROBE=$TEST_TMP/modprobe expect 1 snapshot-collect
expect_err "cannot open \(is blksnap.ko loaded\?\)"
[[ ! -e $TEST_TMP/calls ]] || fail "modprobe run: $(cat "$TEST_TMP/calls")"
# version only reports.
BLKSNAP_MODPROBE=$TEST_TMP/modprobe expect 1 version
[[ ! -e $TEST_TMP/calls ]] || fail "version ran modprobe"
finish
