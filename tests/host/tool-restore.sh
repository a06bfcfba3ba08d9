#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# restore and list on synthetic backups made here, in the format of
# blksnap(8): a full backup and two incremental ones of a device whose
# size is not a multiple of the tracker block; restored byte for byte at
# each point of the chain, and every kind of damage refused before
# anything is written.
# shellcheck source=helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"

bs=4096
size=45000 # 11 blocks, the last one 4040 bytes
gen=00112233-4455-6677-8899-aabbccddeeff
D=$TEST_TMP/b
mkdir -p "$D"

# meta DIR NAME SEQ TYPE BASE BASECN CN CHANGED DATASIZE: a metadata file.
meta() {
	{
		echo "# blksnap backup metadata"
		echo "format=1"
		echo "name=$2"
		echo "device=/dev/$2"
		echo "sequence=$3"
		echo "type=$4"
		if [[ $4 == incremental ]]; then
			echo "base=$5"
			echo "base_changes_number=$6"
		fi
		echo "device_size=$size"
		echo "block_size=$bs"
		echo "block_count=11"
		echo "generation=$gen"
		echo "changes_number=$7"
		echo "changed_blocks=$8"
		echo "data_size=$9"
		echo "bytes_copied=$9"
		echo "time=1700000000"
		echo "some_future_key=ignored"
		echo "complete=1"
	} >"$1/$2.$(printf %06u "$3").meta"
}

# Full backup 1: random data, block 4 all zero.
head -c $size /dev/urandom >"$TEST_TMP/exp1"
dd if=/dev/zero of="$TEST_TMP/exp1" bs=$bs seek=4 count=1 conv=notrunc status=none
cp "$TEST_TMP/exp1" "$D/vdb.000001.img"
meta "$D" vdb 1 full "" "" 1 11 $size

# Incremental 2: blocks 2-3 and the short last block 10 changed.
cp "$TEST_TMP/exp1" "$TEST_TMP/exp2"
head -c $((2 * bs)) /dev/urandom >"$TEST_TMP/c23"
head -c $((size - 10 * bs)) /dev/urandom >"$TEST_TMP/c10"
dd if="$TEST_TMP/c23" of="$TEST_TMP/exp2" bs=$bs seek=2 conv=notrunc status=none
dd if="$TEST_TMP/c10" of="$TEST_TMP/exp2" bs=$bs seek=10 conv=notrunc status=none
cat "$TEST_TMP/c23" "$TEST_TMP/c10" >"$D/vdb.000002.img"
printf '# blocks\n2 2\n10 1\n' >"$D/vdb.000002.blocks"
meta "$D" vdb 2 incremental 1 1 2 3 $((2 * bs + size - 10 * bs))

# Incremental 3: block 0 became zeros (a hole in the data file), 5-6 new.
cp "$TEST_TMP/exp2" "$TEST_TMP/exp3"
dd if=/dev/zero of="$TEST_TMP/exp3" bs=$bs seek=0 count=1 conv=notrunc status=none
head -c $((2 * bs)) /dev/urandom >"$TEST_TMP/c56"
dd if="$TEST_TMP/c56" of="$TEST_TMP/exp3" bs=$bs seek=5 conv=notrunc status=none
truncate -s $bs "$D/vdb.000003.img"
cat "$TEST_TMP/c56" >>"$D/vdb.000003.img"
printf '0 1\n5 2\n' >"$D/vdb.000003.blocks"
meta "$D" vdb 3 incremental 2 2 3 3 $((3 * bs))
cp -a "$D" "$TEST_TMP/pristine"

# The chain checks out; list shows it.
expect 0 restore --check "$D"
[[ $out == *vdb.000001\ full*vdb.000002\ incremental*vdb.000003\ incremental* ]] ||
	fail "restore --check output: $out"
expect 0 restore --check --json "$D"
json_ok
if command -v python3 >/dev/null; then
	[[ $(json_get '["chain"][0]["type"]') == full ]] || fail "json chain[0]"
	[[ $(json_get '["chain"][2]["sequence"]') == 3 ]] || fail "json chain[2]"
	[[ $(json_get '["chain"][2]["device_size"]') == "$size" ]] || fail "json device_size"
	[[ $(json_get '["chain"][1]["name"]') == vdb ]] || fail "json name"
	[[ $(json_get '["chain"][1]["target"]') == null ]] || fail "json target of a check"
fi
expect 0 list "$D"
[[ $(grep -c ' ok$' <<<"$out") == 3 ]] || fail "list: $out"
[[ $(head -n1 <<<"$out") == "NAME"*"SEQUENCE"*"TYPE"*"BASE"*"DATA_SIZE"*"STATE" ]] || fail "list header: $out"
[[ $(sed -n 3p <<<"$out" | tr -s ' ') == "vdb 2 incremental 1 $(stat -c %s "$D/vdb.000002.img") ok" ]] ||
	fail "list row 2: $out"
expect 0 list --noheadings --raw "$D"
[[ $(head -n1 <<<"$out") == "vdb 1 full - $(stat -c %s "$D/vdb.000001.img") ok" ]] || fail "list -n -r: $out"
expect 0 list --json "$D"
json_ok
[[ -z $(json_get '["backups"][1]["base"]') || $(json_get '["backups"][1]["base"]') == 1 ]] ||
	fail "list --json base"

# Restore each point of the chain to a new file.
expect 0 restore -q "$D" "$TEST_TMP/r3"
cmp "$TEST_TMP/r3" "$TEST_TMP/exp3" || fail "restore of the latest backup differs"
expect 0 restore -q "$D/vdb.000002.meta" "$TEST_TMP/r2"
cmp "$TEST_TMP/r2" "$TEST_TMP/exp2" || fail "restore of backup 2 differs"
expect 0 restore --json "$D/vdb.000001.meta" "$TEST_TMP/r1"
json_ok
[[ -z $(json_get '["chain"]') || ($(json_get '["chain"][0]["target"]') == "$TEST_TMP/r1" &&
	$(json_get '["chain"][0]["sequence"]') == 1) ]] || fail "restore --json: $out"
cmp "$TEST_TMP/r1" "$TEST_TMP/exp1" || fail "restore of backup 1 differs"
[[ $(stat -c %s "$TEST_TMP/r1") == "$size" ]] || fail "restored size"
# Over an existing file, from a relative METAFILE.
cp "$TEST_TMP/exp1" "$TEST_TMP/r3"
(cd "$D" && "$BLKSNAP" restore -q vdb.000003.meta "$TEST_TMP/r3") || fail "relative METAFILE"
cmp "$TEST_TMP/r3" "$TEST_TMP/exp3" || fail "restore over a file differs"
# --name among several devices.
cp "$D/vdb.000001.img" "$D/vdc.000001.img"
sed 's/^name=vdb$/name=vdc/' "$D/vdb.000001.meta" >"$D/vdc.000001.meta"
expect 1 restore "$D" "$TEST_TMP/x"
expect_err "several devices.*--name"
expect 0 restore -q --name vdc "$D" "$TEST_TMP/rc"
cmp "$TEST_TMP/rc" "$TEST_TMP/exp1" || fail "restore --name vdc"
expect 1 restore --name vdd "$D" "$TEST_TMP/x"
expect_err "no backup of vdd"
expect 1 restore --name vdc "$D/vdb.000001.meta" "$TEST_TMP/x"
rm "$D"/vdc.*
# Targets that are neither a file nor a block device.
expect 1 restore "$D" "$TEST_TMP"
expect_err "not a block device or regular file"
expect 1 restore "$D" /nonexistent/dir/file
expect_err "^blksnap: /nonexistent/dir/"
expect 1 restore "$TEST_TMP/nonexistent" "$TEST_TMP/x"
expect_err "^blksnap: $TEST_TMP/nonexistent: "
expect 1 restore "$TEST_TMP/exp1" "$TEST_TMP/x"
expect_err "not a backup directory or NAME.SEQ.meta"

# damage WHY COMMAND: on a fresh copy of the backups, COMMAND (run in the
# copy) breaks the chain: restore must refuse with a message matching WHY
# and write nothing.
damage() {
	local why=$1
	shift
	rm -rf "$D" "$TEST_TMP/x"
	cp -a "$TEST_TMP/pristine" "$D"
	(cd "$D" && eval "$*")
	expect 1 restore "$D/vdb.000003.meta" "$TEST_TMP/x"
	expect_err "broken backup chain.*$why"
	[[ ! -e $TEST_TMP/x ]] || fail "damage '$*': target written"
	compgen -G "$TEST_TMP/.blksnap-restore*" >/dev/null && fail "temporary file left"
}
damage "incomplete" "sed -i '/^complete=1/d' vdb.000002.meta"
damage "incomplete" "echo extra=1 >>vdb.000001.meta"
damage "incomplete" "head -c 100 vdb.000003.meta >m && mv m vdb.000003.meta"
damage "generation differs" "sed -i 's/^generation=0/generation=f/' vdb.000001.meta"
damage "changes number" "sed -i 's/^changes_number=2/changes_number=1/' vdb.000002.meta"
damage "changes number" "sed -i 's/^base_changes_number=2/base_changes_number=0/' vdb.000003.meta"
damage "vdb.000001.meta: No such file" "rm vdb.000001.meta"
damage "vdb.000002.img: No such file" "rm vdb.000002.img"
damage "vdb.000001.img: size" "truncate -s 44999 vdb.000001.img"
damage "vdb.000003.img: size" "truncate -s 100000 vdb.000003.img"
damage "blocks listed" "printf '0 1\n5 1\n' >vdb.000003.blocks"
damage "out of order" "printf '5 2\n0 1\n' >vdb.000003.blocks"
damage "past the end" "printf '0 1\n10 2\n' >vdb.000003.blocks"
damage "not 'START COUNT'" "printf '0 1\n5 x\n' >vdb.000003.blocks"
damage "vdb.000002.blocks: No such file" "rm vdb.000002.blocks"
damage "format 2 not supported" "sed -i 's/^format=1/format=2/' vdb.000001.meta"
damage "does not match" "sed -i 's/^block_count=11/block_count=12/' vdb.000001.meta"
damage "differ from backup" "sed -i 's/^device_size=45000/device_size=44000/;s/^data_size=45000/data_size=44000/' vdb.000001.meta; truncate -s 44000 vdb.000001.img"
damage "base 3 is not before 3" "sed -i 's/^base=2/base=3/' vdb.000003.meta"
damage "bad sequence" "sed -i 's/^sequence=3/sequence=-3/' vdb.000003.meta"
damage "names vdb.000004" "sed -i 's/^sequence=3/sequence=4/' vdb.000003.meta"
damage "no generation" "sed -i '/^generation=/d' vdb.000002.meta"
damage "not a power of two" "sed -i 's/^block_size=4096/block_size=4000/' vdb.000001.meta"

# The latest complete backup is the one chosen from a directory: an
# incomplete newer one is passed over, not restored.
rm -rf "$D"
cp -a "$TEST_TMP/pristine" "$D"
sed -i '/^complete=1/d' "$D/vdb.000003.meta"
expect 0 restore -q "$D" "$TEST_TMP/r2b"
cmp "$TEST_TMP/r2b" "$TEST_TMP/exp2" || fail "incomplete newest backup not passed over"
expect 0 list "$D"
grep -q '000003\|  3 .* bad$' <<<"$out" || grep -q ' 3 .*bad' <<<"$out" || fail "list: incomplete not shown bad: $out"

finish
