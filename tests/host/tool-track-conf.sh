#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# blksnap track without the module: the configuration file's errors, each
# named FILE:LINE and all of them reported (exit 1); absent devices (exit
# 5 for start and stop, "absent" in status); DEVICE arguments that are no
# configured device; options of another action (exit 2).
# shellcheck source=helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
c=$TEST_TMP/tracking.conf

# bad LINE MESSAGE: a configuration of that one line after a comment and
# a good line is refused, naming line 3.
bad() {
	printf '# comment\n\ndevice /dev/disk/by-id/ok\n' >"$c"
	# The good line first: the bad one is line 4.
	printf '%s\n' "$1" >>"$c"
	expect 1 track status -c "$c"
	[[ $err == *"$c:4: $2"* ]] || fail "'$1': stderr '$err', expected '$c:4: $2'"
	[[ -z $out ]] || fail "'$1': output despite the error: $out"
}
bad 'frobnicate 1' "unknown keyword 'frobnicate'"
bad 'device' "device: missing the device"
bad 'device sdb' "device 'sdb': not an absolute path nor TAG=VALUE"
bad 'device SERIAL=x' "device 'SERIAL=x': unknown tag 'SERIAL'"
bad 'device UUID=' "device 'UUID=': empty value"
bad 'device LABEL=a storage' "'storage': an option of a device is KEY=VALUE"
bad 'device LABEL=a storage=tmp' "storage 'tmp': not an absolute path"
bad 'device LABEL=a limit=1' "invalid limit '1'"
bad 'device LABEL=a limit=12Q' "invalid limit '12Q'"
bad 'device LABEL=a colour=red' "unknown option 'colour' of a device"
bad "device LABEL=a identity=$(printf 'x%.0s' {1..300})" "identity longer than 255 bytes"
bad 'device /dev/disk/by-id/ok' "device '/dev/disk/by-id/ok' already on line 3"
bad 'device LABEL=a log=var/log' "log 'var/log': not an absolute path"
bad 'device LABEL=a log=/l log-region=3M' "invalid log-region '3M' (a power of two from 1M to 1T)"
bad 'device LABEL=a log=/l log-region=512K' "invalid log-region '512K'"
bad 'device LABEL=a log=/l log-region=2T' "invalid log-region '2T'"
bad 'device LABEL=a log=/l log-region=x' "invalid log-region 'x'"
bad 'device LABEL=a log-region=1M' "log-region without log"
bad 'device LABEL=a log=' "'log=': an option of a device is KEY=VALUE"
bad 'state-dir' "state-dir takes one absolute path"
bad 'state-dir var/lib' "state-dir 'var/lib': not an absolute path"
bad 'storage /a /b' "storage takes one absolute path"
bad 'limit' "limit takes one size"
bad 'limit -1' "invalid limit '-1'"
bad "device /$(printf 'x%.0s' {1..4100})" "line longer than 4096 bytes"
bad "device /a $(printf 'k=v %.0s' {1..15})" "more than 16 words"

# Given twice; every bad line reported, not only the first.
printf 'state-dir /a\nstate-dir /b\nbogus\nlimit 1M\nlimit 2M\n' >"$c"
expect 1 track start -c "$c"
expect_err "$c:2: state-dir given twice"
expect_err "$c:3: unknown keyword 'bogus'"
expect_err "$c:5: limit given twice"
[[ $err != *"$c:1:"* && $err != *"$c:4:"* ]] || fail "good lines reported: $err"

# One log for two devices.
printf 'device LABEL=a log=/var/log/l\ndevice LABEL=b log=/var/log/l log-region=1G\n' >"$c"
expect 1 track status -c "$c"
expect_err "$c:2: log '/var/log/l' already the log of line 1"

expect 1 track status -c "$TEST_TMP/none.conf"
expect_err "none.conf: cannot open the configuration: No such file"

# Blanks, tabs, comments and CRs are fine; no devices: nothing to do.
printf '  # only comments\n\t\nstate-dir\t/var/lib/x \r\n' >"$c"
expect 0 track start -c "$c"
expect 0 track stop -c "$c"
expect 0 track status -c "$c" --noheadings
[[ -z $out ]] || fail "status of no devices: $out"

# Absent devices: start and stop do nothing for them, exit 5.
cat >"$c" <<CONF
state-dir $TEST_TMP/state
device $TEST_TMP/no-such-device storage=/tmp limit=1G
device UUID=00000000-no-such-uuid
device LABEL=a/b
device IDENTITY=serial:no-such-disk
device /dev/null
CONF
expect 5 track start -c "$c"
expect_err "no-such-device: $c line 2: absent: not tracked"
expect_err "IDENTITY=serial:no-such-disk: $c line 5: absent: not tracked"
expect_err "/dev/null: $c line 6: not tracked: Block device required"
expect 5 track stop -c "$c" --detach
expect_err "UUID=00000000-no-such-uuid: $c line 3: absent: not saved"
expect 0 track status -c "$c"
[[ $(grep -c absent <<<"$out") == 5 ]] || fail "status: not 5 absent devices: $out"
expect 0 track status -c "$c" --json
json_ok
[[ $(json_get '["devices"][3]["device"]') == IDENTITY=serial:no-such-disk ]] ||
	fail "status --json: device 3"
[[ $(json_get '["devices"][3]["line"]') == 5 ]] || fail "status --json: line"
[[ $(json_get '["devices"][3]["state"]') == absent ]] || fail "status --json: state"

# DEVICE arguments: only configured ones; others a note (none with -q).
expect 0 track start -c "$c" --attach-only /dev/zero
expect_err "/dev/zero: not a device of $c: nothing done"
expect 0 track start -c "$c" --attach-only --quiet /dev/zero
[[ -z $err ]] || fail "--quiet: $err"

# Actions and their options.
expect 2 track -c "$c"
expect_err "missing action"
expect 2 track -c "$c" restart
expect_err "unknown action 'restart'"
expect 2 track -c "$c" stop --attach-only
expect_err "an option of 'track start' given to 'track stop'"
expect 2 track -c "$c" start --json
expect 2 track -c "$c" status --detach
expect 2 track -c "$c" start --wait 5s
expect_err "invalid wait '5s'"
expect 5 track -c "$c" start --wait 1
finish
