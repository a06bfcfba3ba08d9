#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tool's messages and exit codes keyed on the module's errnos (issue
# 19, as in the v6 series), with a fake module (preload-module.so):
# snapshot-wait-event -ENOENT is "no event" (exit 4), -ESRCH "no such
# snapshot", an event's errno positive; snapshot-take -ESRCH and
# snapshot-destroy -ENODEV "no such snapshot"; snapshot-collect's size
# query and array.
# shellcheck source=helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
: "${PRELOAD_DIR:?}"
so=$PRELOAD_DIR/preload-module.so
[[ -f $so ]] || { echo "no $so"; exit 1; }
export BLKSNAP_CONTROL=/dev/null
id=5a5a5a5a-5a5a-5a5a-5a5a-5a5a5a5a5a5a
# fake VAR=VALUE... EXPECTED_RC ARGS...: the tool with the fake module.
fake() {
	local vars=()
	while [[ $1 == *=* ]]; do
		vars+=("$1")
		shift
	done
	export "${vars[@]}" LD_PRELOAD=$so
	expect "$@"
	unset LD_PRELOAD FAKE_WAIT FAKE_TAKE FAKE_DESTROY FAKE_COLLECT
}

# snapshot-wait-event.
fake FAKE_WAIT=ENOENT 4 snapshot-wait-event --timeout 0 "$id"
[[ $out == "no event" && -z $err ]] || fail "no event: '$out' '$err'"
fake FAKE_WAIT=ENOENT 4 snapshot-wait-event --json "$id"
json_ok
[[ -z $(json_get '["event"][0]["id"]') ||
	($(json_get '["event"][0]["id"]') == "$id" && $(json_get '["event"][0]["event"]') == null) ]] ||
	fail "no event, JSON: $out"
fake FAKE_WAIT=ESRCH 1 snapshot-wait-event "$id"
[[ $err == "blksnap: $id: no such snapshot" && -z $out ]] || fail "no such snapshot: '$out' '$err'"
# The errno of the module before issue 19 means nothing special now.
fake FAKE_WAIT=ETIMEDOUT 1 snapshot-wait-event "$id"
expect_err "^blksnap: $id: cannot wait for an event: Connection timed out"
fake FAKE_WAIT=EINTR 1 snapshot-wait-event "$id"
expect_err "^blksnap: $id: cannot wait for an event: Interrupted system call"
fake FAKE_WAIT=253:16:28:5000000000 0 snapshot-wait-event "$id"
[[ $out == $'event=corrupted\ntime_ns=5000000000\ndevice=253:16\nerror=28 (No space left on device)' ]] ||
	fail "event: $out"
fake FAKE_WAIT=8:1:5:7 0 snapshot-wait-event --json "$id"
json_ok
ev='["event"][0]'
if [[ -n $(json_get "$ev") ]]; then
	[[ $(json_get "$ev"'["event"]') == corrupted && $(json_get "$ev"'["dev_major"]') == 8 &&
		$(json_get "$ev"'["dev_minor"]') == 1 && $(json_get "$ev"'["error"]') == 5 &&
		$(json_get "$ev"'["error_text"]') == "Input/output error" &&
		$(json_get "$ev"'["time_ns"]') == 7 ]] || fail "event, JSON: $out"
fi

# snapshot-take and snapshot-destroy.
fake FAKE_TAKE=ESRCH 1 snapshot-take "$id"
[[ $err == "blksnap: $id: cannot take: no such snapshot" ]] || fail "take: $err"
fake FAKE_TAKE=ENOENT 1 snapshot-take "$id"
expect_err "^blksnap: $id: cannot take: No such file or directory"
fake FAKE_TAKE=EALREADY 1 snapshot-take "$id"
expect_err "cannot take: taken already"
fake FAKE_TAKE=0 0 snapshot-take "$id"
fake FAKE_DESTROY=ENODEV 1 snapshot-destroy "$id"
[[ $err == "blksnap: $id: cannot destroy: no such snapshot" ]] || fail "destroy: $err"
fake FAKE_DESTROY=ENOENT 1 snapshot-destroy "$id"
expect_err "^blksnap: $id: cannot destroy: No such file or directory"
fake FAKE_DESTROY=0 0 snapshot-destroy "$id" "$id"

# snapshot-collect: none, two, and a set that grows between the calls.
fake FAKE_COLLECT=0 0 snapshot-collect
[[ -z $out ]] || fail "collect of none: $out"
fake FAKE_COLLECT=2 0 snapshot-collect
[[ $out == $'11111111-1111-1111-1111-111111111111\n22222222-2222-2222-2222-222222222222' ]] ||
	fail "collect of two: $out"
fake "FAKE_COLLECT=1 2 3" 0 snapshot-collect --json
json_ok
[[ -z $(json_get '["snapshots"]') ||
	($(json_get '["snapshots"][2]["id"]') == 33333333-3333-3333-3333-333333333333 &&
	$(json_get '["snapshots"].__len__()') == 3) ]] ||
	fail "collect of a growing set: $out"
finish
