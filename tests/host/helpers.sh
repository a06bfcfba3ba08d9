# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for the tool-*.sh host tests; sourced, never run.  run.sh sets
# BLKSNAP (the tool), BLKSNAP_LIB, PRELOAD_DIR and TEST_TMP.

set -u
: "${BLKSNAP:?run by tests/host/run.sh}" "${TEST_TMP:?}"
# Never the real control device, whatever the host has.
export BLKSNAP_CONTROL=$TEST_TMP/no-control
# Never the host's modprobe either.
export BLKSNAP_MODPROBE=''
nfail=0

fail() {
	echo "FAIL: $*" >&2
	nfail=$((nfail + 1))
}

# run ARGS...: the tool, with $out, $err and $rc set.
run() {
	"$BLKSNAP" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	rc=$?
	out=$(cat "$TEST_TMP/out")
	err=$(cat "$TEST_TMP/err")
}

# expect RC ARGS...: run, and check the exit status.
expect() {
	local want=$1
	shift
	run "$@"
	[[ $rc == "$want" ]] || fail "blksnap $*: exit $rc, expected $want (stderr: $err)"
}

# expect_err PATTERN: stderr of the last run matches the extended regex.
expect_err() {
	[[ $err =~ $1 ]] || fail "stderr '$err' does not match '$1'"
}

# json_ok: stdout of the last run is valid JSON (when python3 exists).
json_ok() {
	command -v python3 >/dev/null || return 0
	python3 -m json.tool <"$TEST_TMP/out" >/dev/null ||
		fail "invalid JSON: $out"
}

# json_get EXPR: a value from the JSON stdout of the last run, e.g.
# json_get '["chain"][0]["type"]'; empty without python3.
json_get() {
	command -v python3 >/dev/null || return 0
	python3 -c "import json,sys; v=json.load(open(sys.argv[1]))$1; print(json.dumps(v) if not isinstance(v, str) else v)" "$TEST_TMP/out"
}

finish() {
	((nfail == 0)) || { echo "$nfail checks failed" >&2; exit 1; }
	exit 0
}
