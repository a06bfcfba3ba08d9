#!/bin/bash
# The image holds the device's content at take: with the device quiet and
# filled with known data, a snapshot is taken, then the whole region is
# overwritten (fio, random writes of mixed sizes, then sequential) while
# the image is read again and again with different block sizes; every read
# of the image gives the known data, the original ends with the new data.
# The image is as large as the device, its untouched parts read as the
# device's, and it goes away at destroy.
# needs: blksnap.ko, 1 disk, fio
. "$TEST_BIN/testlib.sh"
need_disks 1
need_cmd fio
d=${DISKS[0]}
load_blksnap diff_storage_minimum=16384
MIB=9 # a multiple of 3: read in 12 KiB blocks below
mkpattern "$TEST_TMP/old" $((MIB * 1024))
bput "$TEST_TMP/old" "$d" 0 || fail "fill"
# The device's end, untouched by the writes below.
end_kib=$(($(devsize "$d") / 1024 - 1024))
tail_sha=$(sha_of "$d" "$end_kib" 1024)
old_sha=$(sha256sum <"$TEST_TMP/old" | cut -d' ' -f1)

id=$(snap_new "$TEST_TMP/storage" $((2 * MIB * 2048)) "$d") || fail "snap_new"
snap take "$id"
img=$(snap_image "$d") || fail "snap_image"
[[ $(devsize "$img") == "$(devsize "$d")" ]] ||
	fail "image size $(devsize "$img"), device $(devsize "$d")"
[[ $(sha_of "$img" 0 $((MIB * 1024))) == "$old_sha" ]] || fail "image before the writes"

fio --name=over --filename="$d" --direct=1 --ioengine=libaio --iodepth=8 \
	--rw=randwrite --bssplit=4k/50:16k/20:64k/20:512k/10 --size=${MIB}m \
	--number_ios=1200 --randrepeat=0 --output="$TEST_TMP/fio.log" &
fio_pid=$!
reads=0
while kill -0 "$fio_pid" 2>/dev/null || ((reads < 2)); do
	case $((reads % 3)) in
	0) sha=$(dd if="$img" bs=1M count=$MIB iflag=direct status=none | sha256sum) ;;
	1) sha=$(dd if="$img" bs=12k count=$((MIB * 1024 / 12)) iflag=direct status=none | sha256sum) ;;
	2) sha=$( {
		dd if="$img" bs=4k count=256 iflag=direct status=none
		dd if="$img" bs=64k skip=16 count=$((MIB * 16 - 16)) iflag=direct status=none
	} | sha256sum) ;;
	esac
	[[ ${sha%% *} == "$old_sha" ]] || fail "image read $reads during the writes differs"
	reads=$((reads + 1))
done
wait "$fio_pid" || { cat "$TEST_TMP/fio.log"; fail "fio"; }
grep -q "err= 0" "$TEST_TMP/fio.log" || { cat "$TEST_TMP/fio.log"; fail "fio errors"; }
echo "image read $reads times during the writes"
[[ $(sha_of "$d" 0 $((MIB * 1024))) != "$old_sha" ]] || fail "the writes did not change the device"

# Everything overwritten: the whole region is in the difference storage.
mkpattern "$TEST_TMP/new" $((MIB * 1024))
bput "$TEST_TMP/new" "$d" 0 || fail "overwrite"
bsame "$TEST_TMP/new" "$d" 0 || fail "original after the overwrite"
bsame "$TEST_TMP/old" "$img" 0 || fail "image after the overwrite"
# Sector-sized reads at odd places.
for off in 1 4095 8191 $((MIB * 2048 - 3)); do
	cmp -s <(dd if="$img" bs=512 skip="$off" count=3 status=none) \
		<(dd if="$TEST_TMP/old" bs=512 skip="$off" count=3 status=none) ||
		fail "image sectors at $off"
done
[[ $(sha_of "$img" "$end_kib" 1024) == "$tail_sha" ]] || fail "image end"
[[ $(sha_of "$img" $((MIB * 1024)) 1024) == "$(sha_of "$d" $((MIB * 1024)) 1024)" ]] ||
	fail "image beyond the written region"
[[ $(snap_field "$d" error_code) == 0 ]] || fail "error_code $(snap_field "$d" error_code)"
snap destroy "$id"
[[ ! -e $img ]] || fail "$img left after destroy"
bsame "$TEST_TMP/new" "$d" 0 || fail "original after destroy"
snap detach "$d"
unload_blksnap
