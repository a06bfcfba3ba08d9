#!/bin/bash
# The guest's half of the installed-system test (see run.sh), run as root
# by the image's blksnap-installed-test.service with the host's folder
# mounted on /payload. One stage a boot:
#
#   install  (stock 6.12) apt installs the built packages (DKMS compiles
#            the modules in the guest), checks dkms status and on-demand
#            loading, backs up a mounted ext4 under writes and restores
#            it, upgrades the packages to a higher version (payload/
#            debs-up) under a live snapshot (the modules must stay loaded
#            and the upgrade say so)
#            and configures the data disk's change tracking (the unit
#            started, a full backup; the power-off saves the tracker)
#   kernel   (6.12 again) checks that the unit restored the tracker at
#            boot (an incremental backup reads about what was written
#            since, its chain restored equals the files), installs the
#            6.1 kernel without its headers (the
#            package to install must be named), then its headers, and
#            checks that DKMS built the modules for it unasked; adds the
#            root device to the tracking configuration, with a log, and
#            updates 6.1's initramfs
#   reboot   (6.1, the same disks, from its initramfs) the root device
#            attached by it; a backup and restore again; a full backup
#            of the root device (tracked with a write-intent log), a file
#            written on it, then a crash (sysrq-b, no sync)
#   crashed  (6.1) the root device attached by the initramfs, its
#            tracking recovered from the log by the unit; an incremental
#            backup of it, restored, holds the files written before the
#            crash and since; purges the packages and checks that nothing
#            of them is left
#   quick    (stock 6.12, CI's form in one boot) install's steps without
#            the upgrade, then reboot's purge and its checks
#
# Prints "== step (N s)" lines with the time each step took and ends with
# "RESULT PASS" or "RESULT FAIL: why".
set -uo pipefail

stage=${1:?stage}
crash=0
P=/payload
DATA=/dev/disk/by-id/virtio-bsdata
DATA_ID=$DATA
SCRATCH=/dev/disk/by-id/virtio-bsrestore
# The root device's write-intent log, the restore of its backups (as
# large as the root device) and an ext4 for the backups and the
# snapshot's storage.
ROOT_LOG=/dev/disk/by-id/virtio-bsrootlog
ROOT_COPY=/dev/disk/by-id/virtio-bsrootcopy
ROOT_BKFS=/dev/disk/by-id/virtio-bsrootbk
RBK=/srv/rootbk
BK=/srv/backups
MNT=/mnt/data
PKGS=(blksnap blksnap-dkms libblksnap1 libblksnap-dev)

fail() {
	echo "RESULT FAIL: $*"
	exit 1
}
t_step=$(date +%s)
step() {
	local now
	now=$(date +%s)
	echo "== $* (previous step $((now - t_step)) s)"
	t_step=$now
}
# Files of ours by name anywhere on the root file system.
ours() {
	find / -xdev \( -name '*blksnap*' -o -name '*blkfilter*' \) \
		-not -path '/payload/*' -not -path "$BK/*" 2>/dev/null | sort
}
sums() { (cd "$1" && sha256sum f* | sort -k2); }
files() { # DIR FIRST LAST: files of 1 MiB of random data
	local i
	for ((i = $2; i <= $3; i++)); do
		head -c 1M /dev/urandom >"$1/f$i" || fail "write $1/f$i"
	done
}
# Writes to the mounted file system all along, beside the files compared.
busy_start() {
	mkdir -p "$MNT/churn"
	(
		i=0
		while :; do
			dd if=/dev/urandom of="$MNT/churn/c$((i % 8))" bs=64k count=16 \
				conv=fsync status=none 2>/dev/null
			i=$((i + 1))
		done
	) &
	busy_pid=$!
	sleep 1
}
busy_stop() {
	kill "$busy_pid" 2>/dev/null
	wait "$busy_pid" 2>/dev/null
}
# restored_same BACKUP SUMS: BACKUP (a backup's metadata or a folder of
# backups) restored to the scratch disk: fsck clean, and its files'
# checksums those of the file SUMS.
restored_same() {
	blksnap restore --quiet "$1" "$SCRATCH" || fail "blksnap restore $1"
	e2fsck -fn "$SCRATCH" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; fail "fsck of $1 restored"; }
	mkdir -p /mnt/restored
	mount -o ro "$SCRATCH" /mnt/restored || fail "mount $1 restored"
	sums /mnt/restored >/tmp/rsums
	umount /mnt/restored
	cmp -s "$2" /tmp/rsums || { diff "$2" /tmp/rsums | head; fail "the files of $1 restored differ"; }
}

# backup_check FIRST_NEW LAST_NEW: new files, a backup under writes, its
# restore to the scratch disk: fsck clean and the files as they were.
backup_check() {
	files "$MNT" "$1" "$2"
	sync
	sums "$MNT" >/tmp/sums
	busy_start
	blksnap backup --verify --quiet --json "$BK" "$DATA" >/tmp/backup.json ||
		{ busy_stop; fail "blksnap backup of $DATA"; }
	busy_stop
	cat /tmp/backup.json
	local name meta
	name=${DATA#/dev/}
	meta=$(find "$BK" -name "$name.*.meta" | sort | tail -n1)
	[[ -n $meta ]] || fail "no backup of $name in $BK: $(ls "$BK")"
	restored_same "$meta" /tmp/sums
	echo "restored $meta: fsck clean, $(wc -l </tmp/rsums) files as at the backup"
}
dkms_has() { # KERNEL: the modules built and installed for it
	dkms status -m blksnap -k "$1" | grep -q ': installed' &&
		modinfo -k "$1" -n blksnap | grep -q updates/dkms &&
		modinfo -k "$1" -n blkfilter | grep -q updates/dkms
}

export DEBIAN_FRONTEND=noninteractive
echo "installed-test: stage $stage on $(uname -r)"
udevadm settle
[[ -b $DATA && -b $SCRATCH ]] || fail "no data disks ($DATA, $SCRATCH)"
# The devices' own names: backups are named after them.
DATA=$(readlink -f "$DATA")
SCRATCH=$(readlink -f "$SCRATCH")

# install_packages: apt install, dkms status, on-demand loading, the
# tool's files, a backup of a mounted ext4 under writes and its restore.
install_packages() {
	ours >/tmp/ours-before
	cp /tmp/ours-before "$P/ours-before.txt"
	step "apt install the packages (DKMS builds for $(uname -r))"
	debs=()
	for p in "${PKGS[@]}"; do
		debs+=("$(ls "$P"/debs/"${p}"_*.deb)")
	done
	apt-get install -y "${debs[@]}" || fail "apt install"
	step "dkms status"
	dkms status
	dkms_has "$(uname -r)" || fail "dkms did not install the modules for $(uname -r)"
	[[ ! -d /sys/module/blksnap ]] || fail "blksnap loaded before anyone asked"

	step "modprobe blksnap loads blkfilter"
	modprobe blksnap || fail "modprobe blksnap"
	[[ -d /sys/module/blkfilter ]] || fail "modprobe blksnap did not load blkfilter"
	blksnap version || fail "blksnap version"
	[[ -f /usr/share/bash-completion/completions/blksnap ]] || fail "no bash completion"
	man -w blksnap >/dev/null 2>&1 || [[ -f /usr/share/man/man8/blksnap.8.gz ]] || fail "no man page"

	step "backup of a mounted ext4 under writes, restore, compare"
	mkfs.ext4 -q -F "$DATA" || fail "mkfs"
	mkdir -p "$MNT" "$BK"
	mount "$DATA" "$MNT" || fail "mount $DATA"
	backup_check 1 40
}

json_val() { sed -n "s/.*\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n1; }

# track_start: the data disk in /etc/blksnap/tracking.conf (by its
# /dev/disk/by-id name, which stays the same across boots), the
# package's blksnap-tracking.service started as the boot would, a full
# backup of the disk into $BK/track to start a chain on. The power-off
# that ends the stage stops the unit, which saves the tracker.
track_start() {
	step "change tracking across a reboot: configure, start the unit, a full backup"
	mkdir -p /etc/blksnap "$BK/track"
	printf 'state-dir /var/lib/blksnap\nstorage /var/tmp\ndevice %s\n' \
		"$DATA_ID" >/etc/blksnap/tracking.conf
	systemctl start blksnap-tracking.service || fail "start blksnap-tracking.service"
	blksnap track status || fail "track status"
	[[ $(cat "/sys/block/${DATA#/dev/}/filter" 2>/dev/null) == blksnap ]] ||
		fail "the unit did not attach blksnap to $DATA"
	mount "$DATA" "$MNT" || fail "mount $DATA"
	files "$MNT" 61 64
	umount "$MNT" || fail "umount"
	blksnap backup --json "$BK/track" "$DATA" >/tmp/track-full.json ||
		fail "full backup of $DATA"
	[[ $(json_val type </tmp/track-full.json) == full ]] || fail "the first backup is not full"
}

# track_after_reboot: the unit restored the tracker at boot; files
# written, then an incremental backup reads about what was written, and
# its chain, restored, holds the files as they were.
track_after_reboot() {
	step "change tracking across a reboot: restored at boot, an incremental backup"
	systemctl is-active blksnap-tracking.service || fail "blksnap-tracking.service is not active"
	journalctl -b -u blksnap-tracking.service --no-pager | tail -n 20
	blksnap track status --json | tee /tmp/track-status.json
	[[ $(cat "/sys/block/${DATA#/dev/}/filter" 2>/dev/null) == blksnap ]] ||
		fail "blksnap is not attached to $DATA after the boot"
	mount "$DATA" "$MNT" || fail "mount $DATA"
	files "$MNT" 65 72
	sums "$MNT" >/tmp/track-sums
	umount "$MNT" || fail "umount"
	blksnap backup --incremental --json "$BK/track" "$DATA" >/tmp/track-inc.json ||
		fail "incremental backup of $DATA"
	cat /tmp/track-inc.json
	local type read_b
	type=$(json_val type </tmp/track-inc.json)
	read_b=$(json_val bytes_read </tmp/track-inc.json)
	[[ $type == incremental ]] || fail "the backup after the reboot is $type, not incremental"
	# 8 MiB of files and ext4's metadata, out of a 1 GiB disk.
	((read_b <= 32 << 20)) || fail "the incremental backup read $read_b bytes for 8 MiB of files"
	restored_same "$BK/track" /tmp/track-sums
	echo "incremental after the reboot: $read_b bytes read, the chain restored as written"
}

# root_attached: the initramfs (its local-premount script) attached the
# root device before the root file system was mounted: the tool's record
# of that attach (/run/blksnap, which the initramfs hands over) counts no
# sector written before it, and the tracker is still the one it made
# (unless --restored: the unit restored a saved state into it).
root_attached() {
	step "the initramfs attached the root device before mounting it"
	ROOTDEV=$(findmnt -no SOURCE /)
	local mm rec gen count seq
	mm=$(lsblk -dno MAJ:MIN "$ROOTDEV" | tr -d ' ')
	rec=/run/blksnap/attach-$mm
	ls -l /run/blksnap
	journalctl -b -k --no-pager | grep -i -E 'blksnap|blkfilter' | head -n 5
	read -r gen count seq <"$rec" || fail "no record of the attach of $ROOTDEV ($rec)"
	echo "attach record of $ROOTDEV: tracker $gen, $count sectors written before, disk sequence number $seq"
	[[ $count == 0 ]] || fail "$count sectors written on $ROOTDEV before its attach"
	[[ $(cat "/sys/class/block/${ROOTDEV#/dev/}/filter" 2>/dev/null) == blksnap ]] ||
		fail "blksnap is not attached to $ROOTDEV"
	# A restore or a recovery (--restored) gives the tracker the saved
	# state's generation, or a new one.
	[[ ${1:-} == --restored || $(blksnap cbtinfo "$ROOTDEV" | sed -n 's/^generation=//p') == "$gen" ]] ||
		fail "the tracker of $ROOTDEV is not the one the initramfs attached"
	journalctl -b -u blksnap-tracking.service --no-pager | tail -n 20
	echo "$ROOTDEV attached by the initramfs with nothing written before (tracker $gen)"
}

# root_full: the unit tracks the root device with its log (attached at
# boot); a full backup of it, which checkpoints the log, then a file
# written on it and synced: the crash that ends the stage follows.
root_full() {
	step "the root device with its write-intent log: a full backup, a file, then a crash"
	local st
	blksnap track status || fail "track status"
	st=$(blksnap track status --json | tr -d '\n' | grep -o '{[^{}]*"LABEL=root"[^{}]*}')
	echo "$st"
	grep -q '"log-state": *"ok"' <<<"$st" || fail "the root device's write-intent log is not attached"
	mkdir -p "$RBK"
	mount "$ROOT_BKFS" "$RBK" || fail "mount $ROOT_BKFS"
	mkdir -p "$RBK/bk"
	blksnap backup --config /etc/blksnap/tracking.conf --storage "$RBK" --json \
		"$RBK/bk" "$ROOTDEV" >/tmp/root-full.json || fail "full backup of $ROOTDEV"
	cat /tmp/root-full.json
	[[ $(json_val type </tmp/root-full.json) == full ]] || fail "the first backup of $ROOTDEV is not full"
	head -c 8M /dev/urandom >/var/tmp/rootfile-1 || fail "write /var/tmp/rootfile-1"
	sync
	(cd /var/tmp && sha256sum rootfile-1) >"$RBK/sums-1"
	umount "$RBK" || fail "umount $RBK"
	sync
}

# root_recovered: after the crash the unit recovered the root device's
# tracking from its state (the full backup's) and the regions its log
# marks; a file written, an incremental backup reads those regions and
# what was written since, not the device, and its chain restored holds
# both files as written.
root_recovered() {
	step "after the crash: the root device's tracking recovered from its log, an incremental backup"
	local line regions region=$((4 << 20)) type read_b
	journalctl -b -u blksnap-tracking.service --no-pager >/tmp/unit.log
	tail -n 20 /tmp/unit.log
	line=$(grep 'recovered from .* regions of' /tmp/unit.log | head -n1)
	[[ -n $line ]] || fail "the unit did not recover the root device's tracking from its log"
	regions=$(sed -n 's/.* and the \([0-9][0-9]*\) regions of .*/\1/p' <<<"$line")
	[[ -n $regions ]] || fail "no count of marked regions in: $line"
	mkdir -p "$RBK"
	mount "$ROOT_BKFS" "$RBK" || fail "mount $ROOT_BKFS"
	head -c 8M /dev/urandom >/var/tmp/rootfile-2 || fail "write /var/tmp/rootfile-2"
	sync
	{ cat "$RBK/sums-1" && (cd /var/tmp && sha256sum rootfile-2); } >/tmp/root-sums
	blksnap backup --incremental --config /etc/blksnap/tracking.conf --storage "$RBK" \
		--json "$RBK/bk" "$ROOTDEV" >/tmp/root-inc.json || fail "incremental backup of $ROOTDEV"
	cat /tmp/root-inc.json
	type=$(json_val type </tmp/root-inc.json)
	read_b=$(json_val bytes_read </tmp/root-inc.json)
	[[ $type == incremental ]] || fail "the backup of $ROOTDEV after the crash is $type, not incremental"
	# The marked regions, the file and what the system wrote since the
	# boot (its journal, the unit's state files): far less than the device.
	((read_b <= regions * region + (256 << 20))) ||
		fail "the incremental backup read $read_b bytes for $regions regions of 4 MiB"
	blksnap restore --quiet "$RBK/bk" "$ROOT_COPY" || fail "restore the root device's chain"
	e2fsck -fn "$ROOT_COPY" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; fail "fsck of the root device restored"; }
	mkdir -p /mnt/rootcopy
	mount -o ro,noload "$ROOT_COPY" /mnt/rootcopy || fail "mount the root device restored"
	(cd /mnt/rootcopy/var/tmp && sha256sum rootfile-1 rootfile-2) >/tmp/root-rsums
	umount /mnt/rootcopy
	# Its label is the root's: no LABEL=root but the root device.
	wipefs -q -a "$ROOT_COPY" || fail "wipefs $ROOT_COPY"
	udevadm settle
	umount "$RBK" || fail "umount $RBK"
	cmp -s /tmp/root-sums /tmp/root-rsums || { diff /tmp/root-sums /tmp/root-rsums; fail "the root device's files restored differ"; }
	echo "root device after a crash: $regions regions marked, $read_b bytes read, the chain restored holds the files as written"
}

# purge_packages: apt purge, then nothing of ours is left: not in dkms,
# not loaded, no file on the disk, nothing in dpkg.
purge_packages() {
	step "purge the packages"
	apt-get purge -y "${PKGS[@]}" || fail "apt purge"
	step "nothing left"
	left=$(dkms status 2>&1 | grep blksnap || true)
	[[ -z $left ]] || fail "dkms status still lists: $left"
	[[ ! -d /sys/module/blksnap && ! -d /sys/module/blkfilter ]] || fail "modules still loaded: $(lsmod | grep -E 'blksnap|blkfilter')"
	ours >/tmp/ours-after
	extra=$(comm -13 "$P/ours-before.txt" /tmp/ours-after)
	[[ -z $extra ]] || fail "left on the disk: $extra"
	held=$(dpkg -l "${PKGS[@]}" 2>/dev/null | grep -E '^(ii|rc)' || true)
	[[ -z $held ]] || fail "dpkg still has: $held"
	echo "purged: dkms status empty, modules unloaded, no file of ours left"
}

case $stage in
quick)
	install_packages
	umount "$MNT" || fail "umount"
	blksnap detach "$DATA" 2>/dev/null || true
	purge_packages
	;;
install)
	install_packages

	step "upgrade the packages under a live snapshot"
	up=()
	for p in "${PKGS[@]}"; do
		up+=("$(ls "$P"/debs-up/"${p}"_*.deb)")
	done
	v1=$(dpkg-query -W -f='${Version}' blksnap-dkms)
	v2=$(dpkg-deb -f "${up[0]}" Version)
	dpkg --compare-versions "$v2" gt "$v1" || fail "no higher version to upgrade to ($v2 after $v1)"
	id=$(blksnap snapshot-create --storage /var/tmp "$DATA") || fail "snapshot-create"
	blksnap snapshot-take "$id" || fail "snapshot-take"
	refs=$(cat /sys/module/blksnap/refcnt)
	apt-get install -y "${up[@]}" 2>&1 | tee /tmp/upgrade.log
	[[ ${PIPESTATUS[0]} == 0 ]] || fail "apt upgrade to $v2"
	grep -q "blksnap is in use.*version $v2 takes effect at the next reboot" /tmp/upgrade.log ||
		fail "the upgrade did not say the new modules wait for the next reboot"
	[[ -d /sys/module/blksnap && -d /sys/module/blkfilter ]] ||
		fail "the upgrade unloaded the modules under a live snapshot"
	[[ $(cat /sys/module/blksnap/refcnt) == "$refs" ]] || fail "blksnap's references changed"
	blksnap snapshot-collect | grep -q "$id" || fail "the snapshot is gone"
	blksnap snapshot-destroy "$id" || fail "snapshot-destroy"
	dkms status
	dkms status -m blksnap -v "$v2" -k "$(uname -r)" | grep -q ': installed' ||
		fail "the upgrade left no modules of $v2 for $(uname -r)"
	[[ -z $(dkms status -m blksnap -v "$v1") ]] || fail "dkms still has $v1"
	dkms_has "$(uname -r)" || fail "the upgrade left no modules for $(uname -r)"

	umount "$MNT" || fail "umount"
	track_start
	;;
kernel)
	track_after_reboot
	step "install the 6.1 kernel without its headers: the package to install is named"
	apt-get install -y /opt/kernel-6.1/linux-image-*.deb 2>&1 | tee /tmp/k61.log
	[[ ${PIPESTATUS[0]} == 0 ]] || fail "apt install the 6.1 kernel"
	k61=$(find /lib/modules -maxdepth 1 -name '6.1.*' -printf '%f\n' | sort -V | tail -n1)
	[[ -n $k61 ]] || fail "no 6.1 kernel installed"
	grep -q "blksnap-dkms: kernel $k61 has no headers.*apt install linux-headers-$k61" /tmp/k61.log ||
		fail "installing $k61 without headers did not name linux-headers-$k61"
	! dkms_has "$k61" || fail "modules for $k61 without its headers?"

	step "install its headers: DKMS builds for $k61 unasked"
	apt-get install -y /opt/kernel-6.1/*.deb || fail "apt install the 6.1 headers"
	dkms status
	dkms_has "$k61" || fail "dkms did not build the modules for $k61"

	# The next boot, on 6.1, boots this initramfs, as a boot loader would.
	step "the root device in tracking.conf, with a log: the initramfs of $k61 attaches it"
	mkfs.ext4 -q "$ROOT_BKFS" || fail "mkfs.ext4 $ROOT_BKFS"
	echo "device LABEL=root log=$ROOT_LOG log-region=4M" >>/etc/blksnap/tracking.conf
	update-initramfs -u -k "$k61" || fail "update-initramfs -u -k $k61"
	lsinitramfs "/boot/initrd.img-$k61" >/tmp/initrd.list || fail "lsinitramfs"
	for f in scripts/local-premount/blksnap usr/sbin/blksnap etc/blksnap/tracking.conf \
		"lib/modules/$k61/updates/dkms/blksnap.ko"; do
		grep -qE "^(usr/)?$f" /tmp/initrd.list || fail "$f not in the initramfs of $k61"
	done
	mkdir -p "$P/boot"
	cp "/boot/vmlinuz-$k61" "/boot/initrd.img-$k61" "$P/boot/" || fail "copy the 6.1 kernel out"
	echo "$k61" >"$P/boot/release"
	step "stage kernel done"
	;;
reboot)
	[[ $(uname -r) == 6.1.* ]] || fail "not booted into 6.1"
	root_attached
	step "dkms status on $(uname -r)"
	dkms status
	dkms_has "$(uname -r)" || fail "no modules for $(uname -r)"
	modprobe blksnap || fail "modprobe blksnap"
	[[ -d /sys/module/blkfilter ]] || fail "modprobe blksnap did not load blkfilter"

	step "backup again on 6.1, restore, compare"
	mkdir -p "$MNT"
	mount "$DATA" "$MNT" || fail "mount $DATA"
	backup_check 41 60
	umount "$MNT"
	root_full
	crash=1
	;;
crashed)
	[[ $(uname -r) == 6.1.* ]] || fail "not booted into 6.1"
	root_attached --restored
	root_recovered
	# The administrator's own files: the tracking configuration and the
	# states the unit saved (a purge leaves what the package did not make).
	systemctl stop blksnap-tracking.service
	rm -rf /etc/blksnap /var/lib/blksnap
	blksnap detach "$DATA" 2>/dev/null || true
	blksnap detach "$ROOTDEV" || fail "detach the root device"
	purge_packages
	;;
*) fail "unknown stage $stage" ;;
esac
if dmesg | grep -E 'BUG:|WARNING:|Oops|INFO: task .* blocked|rcu: INFO|page allocation failure|Call Trace' >/tmp/oops; then
	dmesg | tail -n 60
	fail "the kernel reported: $(head -n1 /tmp/oops)"
fi
echo "RESULT PASS"
if ((crash)); then
	# A reset with no sync, as a power loss: the tee to the payload gets
	# the result out first.
	sleep 2
	echo 1 >/proc/sys/kernel/sysrq
	echo b >/proc/sysrq-trigger
fi
