#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tool without the module: help, usage errors (exit 2), strict size
# and number parsing, errors naming their object (exit 1), JSON output.
# shellcheck source=helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"

# Help and version.
expect 0 --help
[[ $out == *Usage:* && $out == *blksnap\(8\)* && $out == *backup* ]] || fail "--help text"
expect 0 -h
expect 0 --version
[[ $out =~ ^blksnap\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "--version: $out"
expect 2
expect_err "no command given"
expect 2 --bogus
expect 2 frobnicate
expect_err "unknown command 'frobnicate'"
cmds=(version attach detach cbtinfo cbtmap markdirty cbt-save cbt-restore track snapshot-create
	snapshot-add snapshot-take snapshot-info snapshot-collect
	snapshot-wait-event snapshot-destroy backup restore list)
for c in "${cmds[@]}"; do
	expect 0 "$c" --help
	[[ $out == *Usage:*"blksnap $c"* ]] || fail "$c --help: no usage line"
	[[ $out == *"See blksnap(8)."* ]] || fail "$c --help: no pointer to the man page"
	expect 2 "$c" --no-such-option
	expect_err "Try 'blksnap $c --help'"
	grep -q "^\.SS $c\$" "$(dirname "${BASH_SOURCE[0]}")/../../man/blksnap.8" ||
		fail "$c is not in blksnap.8"
done

# Missing and extra arguments.
expect 2 attach
expect_err "missing device"
expect 2 attach /dev/a /dev/b
expect_err "too many arguments"
expect 2 snapshot-take
expect 2 snapshot-add 0123
expect 2 backup
expect_err "missing target directory"
expect 2 backup "$TEST_TMP"
expect_err "missing device"
expect 2 restore "$TEST_TMP"
expect_err "missing target"
expect 2 markdirty /dev/null
expect 2 cbt-save
expect_err "missing device"
expect 2 cbt-restore /dev/a f extra
expect_err "too many arguments"
expect 2 cbt-save --limit 1 /dev/null
expect_err "invalid limit"
expect 1 cbt-restore /dev/null "$TEST_TMP/state"
expect_err "^blksnap: /dev/null: cannot find the device's identity: Block device required"
expect 1 cbt-restore --identity x /dev/null "$TEST_TMP/nostate"
expect_err "^blksnap: /dev/null: cannot read the device's size"
expect 2 version extra

# Sizes: binary suffixes, strict.  A valid limit gets as far as the
# (missing) control device: exit 1; an invalid one is a usage error.
for s in 512 1K 1k 1KiB 4M 1G 2T 1t 18446744073709551615 16777215T; do
	expect 1 snapshot-create --storage "$TEST_TMP" --limit "$s"
	expect_err "no-control: cannot open"
done
for s in "" 0 1 511 -1 +1 " 1" "1 " 1x 1KB 1Ki 1kib 1.5G 0x10 1E 1P K \
	18446744073709551616 99999999999999999999 16777216T 17179869184G; do
	expect 2 snapshot-create --limit "$s"
	expect_err "invalid limit"
done
expect 2 backup --limit 0 "$TEST_TMP" /dev/null
expect_err "invalid limit"

# Timeouts: milliseconds, 32 bits.
for t in -1 4294967296 1s "" 1.0; do
	expect 2 snapshot-wait-event --timeout "$t" 00000000-0000-0000-0000-000000000000
	expect_err "invalid timeout"
done
expect 1 snapshot-wait-event --timeout 4294967295 00000000-0000-0000-0000-000000000000
expect_err "no-control"

# markdirty ranges: OFFSET:LENGTH, multiples of 512, LENGTH > 0.
for r in 0:0 1:512 0:1 512 :512 512: 0:-512 x:512 0:512x; do
	expect 2 markdirty /dev/null "$r"
	expect_err "invalid range"
done
expect 1 markdirty /dev/null 0:4K 1M:512
expect_err "^blksnap: /dev/null: not a block device"

# Errors name their object.
expect 1 cbtinfo /nonexistent/disk
expect_err "^blksnap: /nonexistent/disk: cannot open: No such file or directory"
expect 1 attach /dev/null
expect_err "^blksnap: /dev/null: not a block device"
expect 1 detach "$TEST_TMP"
expect_err "^blksnap: $TEST_TMP: "
expect 1 snapshot-info /dev/null
expect 1 snapshot-collect
expect_err "^blksnap: $BLKSNAP_CONTROL: cannot open \(is blksnap.ko loaded\?\)"
expect 1 snapshot-take not-an-id
expect_err "no-control"
BLKSNAP_CONTROL=/dev/null expect 1 snapshot-take not-an-id
expect_err "^blksnap: not-an-id: not a snapshot id"
BLKSNAP_CONTROL=/dev/null expect 1 snapshot-destroy 00000000-0000-0000-0000-00000000000g
expect_err "not a snapshot id"
BLKSNAP_CONTROL=/dev/null expect 1 snapshot-take 0123456789abcdef0123456789abcdef
expect_err "^blksnap: 0123456789abcdef0123456789abcdef: cannot take: Inappropriate ioctl"
BLKSNAP_CONTROL=/dev/null expect 1 snapshot-create --storage /nonexistent/dir/file
expect_err "^blksnap: /nonexistent/dir/file: cannot create a snapshot: No such file"
BLKSNAP_CONTROL=/dev/null expect 1 snapshot-create --storage /dev/null
expect_err "^blksnap: /dev/null: cannot create a snapshot with this storage"
expect 1 backup /nonexistent/dir /dev/null
expect_err "^blksnap: /nonexistent/dir: "
expect 1 backup /dev/null /dev/null
expect_err "^blksnap: /dev/null: not a directory"
expect 1 backup "$TEST_TMP" /dev/null
expect_err "^blksnap: /dev/null: not a block device"
expect 2 backup "$TEST_TMP" /dev/x/a /dev/x-a
expect_err "same backup name x-a"

# JSON, where the module is not needed.
expect 1 version --json
json_ok
[[ $(json_get '["version"][0]["module"]') == null ]] || fail "version --json: module not null"
[[ $(json_get '["version"][0]["major"]') == null ]] || fail "version --json: major not null"
[[ -z $(json_get '["version"][0]["tool"]') ||
	$(json_get '["version"][0]["tool"]') == "$("$BLKSNAP" --version | awk '{print $2}')" ]] ||
	fail "version --json: tool version"
expect_err "no-control"
expect 0 list --json "$TEST_TMP"
json_ok
[[ $(json_get '["backups"]') == "[]" || -z $(json_get '["backups"]') ]] || fail "list --json of an empty dir"

finish
