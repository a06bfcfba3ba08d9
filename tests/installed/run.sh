#!/bin/bash
# The installed-system test: the built Debian packages on a real Debian 12
# system, as a sysadmin installs, updates and boots it.
#
# Usage: tests/installed/run.sh [--quick] [--debs DIR] [--lock FILE]
#                               [--timeout SECONDS] [--append ARGS]
#
# A root file system from Debian's packages (mkimage.sh, cached under
# $BLKSNAP_CACHE/installed) boots in QEMU (software emulation, as
# tests/vm/run.sh) with systemd as PID 1 and the stock 6.12 kernel, on a
# virtio disk (the first one, found by its label: a drive given with
# if=virtio would come after the -device ones, and /dev/vda would be a
# data disk): a copy-on-write overlay of the cached image, so that the
# cache stays clean. More virtio disks: bsdata and bsrestore hold the
# ext4 that is backed up and its restore; bsrootlog, bsrootbk and
# bsrootcopy the root device's write-intent log, its backups and their
# restore. The host's folder
# WORK/payload (the packages of DIR, default build/deb, those of a higher
# version built from the tree by mkupgrade.sh, and guest.sh) is shared
# with the guest over 9p. Four boots, each running one stage of guest.sh
# (see there) and powering off, or crashing:
#
#   1. on 6.12: apt install (DKMS compiles in the guest), dkms status,
#      backup and restore, the upgrade under a live snapshot
#   2. on 6.12: the 6.1 kernel, without then with its headers (DKMS
#      builds for it unasked); the root device added to the tracking
#      configuration with a write-intent log and 6.1's initramfs updated
#      (the package's hook)
#   3. on 6.1, the same disks, from that initramfs: the root device was
#      attached by it before the root mount; backup and restore; a full
#      backup of the root device, a file written, then a crash (sysrq-b)
#   4. on 6.1 again: the root device attached by the initramfs, its
#      tracking recovered from the log; an incremental backup of it,
#      restored, holds the files written before the crash and since;
#      purge, nothing left
#
# The "reboot" is a power cycle: QEMU boots the kernel directly, and the
# last boot takes the 6.1 kernel and initrd that the guest installed in
# its own /boot (stage 2 copies them out), as a boot loader would after
# choosing that entry. Logs: build/test-logs/installed/.
#
# --quick: CI's form, one boot on 6.12 (stage quick of guest.sh): the
# install with DKMS compiling in the guest, dkms status, on-demand
# loading, the backup and restore, then the purge and its checks; no
# upgrade, no second kernel, no reboot (those take 22 more minutes).
#
# --lock FILE: each boot holds FILE (flock) while QEMU runs, so that the
# test shares the machine's VM slot boot by boot (each under 15 minutes)
# rather than for the whole test; the image and the packages are built
# outside it. Do not also run the whole script under flock on FILE.
#
# Exit status: 0 passed, 1 failed, 2 usage or setup error.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$TOP/tests/installed
debs=$TOP/build/deb
timeout=3600
lock=
quick=
log_dir=$TOP/build/test-logs/installed
append=

while (($#)); do
	case $1 in
	--quick) quick=1; shift ;;
	--debs) debs=$(cd "${2:?}" && pwd); shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--lock) lock=${2:?}; shift 2 ;;
	--append) append=${2:?}; shift 2 ;;
	*) echo "Usage: $0 [--quick] [--debs DIR] [--lock FILE] [--timeout SECONDS] [--append ARGS]" >&2; exit 2 ;;
	esac
done

die() { echo "installed: $*" >&2; exit 2; }
ls "$debs"/blksnap-dkms_*_all.deb >/dev/null 2>&1 || die "no packages in $debs: run 'make deb'"

start=$(date +%s)
"$HERE/mkimage.sh" || die "mkimage.sh failed"
CACHE=$("$HERE/mkimage.sh" --print-dir)
t_image=$(($(date +%s) - start))

WORK=$(mktemp -d /tmp/blksnap-installed.XXXXXX)
qpid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[[ -z $qpid ]] || kill "$qpid" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/payload/debs" "$log_dir"
rm -f "$log_dir"/*
for f in "$debs"/*.deb; do
	[[ $f == *-dbgsym_* ]] || cp "$f" "$WORK/payload/debs/"
done
cp "$HERE/guest.sh" "$WORK/payload/"
t0=$(date +%s)
if [[ -z $quick ]]; then
	"$HERE/mkupgrade.sh" "$WORK/payload/debs-up" || die "mkupgrade.sh failed"
fi
t_upgrade=$(($(date +%s) - t0))
qemu-img create -q -f qcow2 -b "$CACHE/rootfs.img" -F raw "$WORK/root.qcow2"
truncate -s 1G "$WORK/data.img" "$WORK/restore.img"
# The root device's write-intent log, its backups and their restore.
truncate -s 16M "$WORK/rootlog.img"
truncate -s 8G "$WORK/rootbk.img" "$WORK/rootcopy.img"
# QEMU's options for the raw disks besides the root one, each seen in the
# guest as /dev/disk/by-id/virtio-bsNAME (its serial) for WORK/NAME.img.
data_disks=()
for d in data restore rootlog rootbk rootcopy; do
	data_disks+=(-drive "file=$WORK/$d.img,format=raw,if=none,id=bs$d,cache=unsafe"
		-device "virtio-blk-pci,drive=bs$d,serial=bs$d")
done

# boot STAGE KERNEL INITRD: one boot running one stage; 0 if it passed.
boot() {
	local stage=$1 kernel=$2 initrd=$3 t0 deadline rc=1
	echo "$stage" >"$WORK/payload/stage"
	[[ -z $lock ]] || { exec 8>"$lock" && flock 8; }
	t0=$(date +%s)
	deadline=$((t0 + timeout))
	echo "installed: boot $((++nboot)): stage $stage on $(basename "$kernel")"
	# cache=unsafe: the disks are thrown away after the test, so a
	# guest's flush (dpkg and the DKMS build flush often) need not wait
	# for the host's disk, which CI's kernel build keeps busy.  CI's first
	# run of this test failed on a kernel report 516 s into the boot,
	# beside that build; what report it was did not reach CI's output.
	# No CMPXCHG16B: QEMU's emulation of it now and then corrupts RFLAGS
	# (see tests/vm/run.sh, cpu_model).
	# watchdog_thresh=60 and an RCU stall timeout of 60 s: the guest's
	# clock is the host's, so while its CPUs stand still its time runs
	# on; CI twice saw a "soft lockup" of some 26 s at about 520 s into
	# this boot, in the stock kernel's own writeback with our modules
	# unloaded, and never a test VM (tests/vm keeps the kernel's
	# thresholds).  Why the CPUs stand still is not known: single-threaded
	# TCG, the benchmark smoke run's guest stood still for good, QEMU
	# idle, on an otherwise idle host (tests/run-all.sh).  A CPU that
	# never schedules is still reported, after 120 s instead of 20.
	qemu-system-x86_64 -accel tcg,thread=single -machine pc -cpu max,cx16=off -smp 2 -m 2G \
		-nodefaults -display none -no-reboot \
		-kernel "$kernel" -initrd "$initrd" \
		-append "root=LABEL=root rw console=ttyS0 panic=-1 loglevel=6 watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=60 $append" \
		-serial "file:$log_dir/console-$stage.log" \
		-drive "file=$WORK/root.qcow2,format=qcow2,if=none,id=root,cache=unsafe" \
		-device virtio-blk-pci,drive=root,serial=root \
		"${data_disks[@]}" \
		-virtfs "local,path=$WORK/payload,mount_tag=payload,security_model=none,id=payload" \
		-nic none &
	qpid=$!
	# The host's dirty page cache and load, sampled while the guest runs,
	# told when the stage fails: what the host did when the guest saw
	# time jump.
	local dirty=0 load=0 d
	while kill -0 "$qpid" 2>/dev/null; do
		d=$(awk '/^(Dirty|Writeback):/ { kb += $2 } END { print int(kb / 1024) }' /proc/meminfo)
		((d <= dirty)) || dirty=$d
		load=$(awk -v m="$load" '{ print ($1 > m) ? $1 : m }' /proc/loadavg)
		if (($(date +%s) > deadline)); then
			echo "installed: stage $stage: no power-off after ${timeout}s, killing QEMU"
			kill "$qpid"
			break
		fi
		sleep 5
	done
	wait "$qpid" || true
	qpid=
	[[ -z $lock ]] || exec 8>&-
	cp "$WORK/payload/log-$stage.txt" "$log_dir/" 2>/dev/null || true
	local result report
	result=$(grep -a '^RESULT' "$log_dir/log-$stage.txt" 2>/dev/null | tail -n1 || true)
	if [[ $result == "RESULT PASS" ]]; then
		rc=0
	else
		echo "installed: stage $stage failed: ${result:-no result (see $log_dir/console-$stage.log)}"
		report=$("$TOP/tests/vm/kernel-report.sh" "$log_dir/console-$stage.log" 2>/dev/null || true)
		[[ -z $report ]] || echo "installed: kernel report: $report"
		echo "installed: host during the boot: up to $dirty MiB dirty or under writeback, load up to $load"
		tail -n 40 "$log_dir/log-$stage.txt" 2>/dev/null || tail -n 40 "$log_dir/console-$stage.log"
	fi
	grep -a '^== ' "$log_dir/log-$stage.txt" 2>/dev/null | sed 's/^/    /' || true
	echo "installed: stage $stage: $(($(date +%s) - t0)) s"
	return $rc
}

nboot=0
k612=$(find "$CACHE" -maxdepth 1 -name 'vmlinuz-6.12*' | sort -V | tail -n1)
rel612=${k612##*/vmlinuz-}
status=failed
if [[ -n $quick ]]; then
	! boot quick "$k612" "$CACHE/initrd.img-$rel612" || status=passed
elif boot install "$k612" "$CACHE/initrd.img-$rel612" &&
	boot kernel "$k612" "$CACHE/initrd.img-$rel612"; then
	rel61=$(cat "$WORK/payload/boot/release")
	boot reboot "$WORK/payload/boot/vmlinuz-$rel61" "$WORK/payload/boot/initrd.img-$rel61" &&
		boot crashed "$WORK/payload/boot/vmlinuz-$rel61" "$WORK/payload/boot/initrd.img-$rel61" &&
		status=passed
fi
up_time=" packages of the upgrade ${t_upgrade} s,"
[[ -z $quick ]] || up_time=
echo "installed: image ${t_image} s,$up_time whole test $(($(date +%s) - start)) s"
if [[ $status == passed ]]; then
	echo "1 passed, 0 failed"
	exit 0
fi
echo "0 passed, 1 failed"
exit 1
