#!/bin/bash
# mmdebstrap's hooks for the installed-system test's root filesystem (see
# mkimage.sh), run as root on the host with the new root as argument:
#
#   image-hook.sh setup ROOT APT_CACHE
#       before the download: hard-links the .debs of APT_CACHE (the host's
#       /var/cache/apt/archives) into the new root's, so that apt
#       downloads only what the host does not have (same file system
#       only; apt checks each file's hash, stale ones are downloaded)
#   image-hook.sh essential ROOT
#       before the kernels are installed: their initramfs holds what
#       booting from the virtio disk needs (virtio_pci, virtio_blk, ext4;
#       MODULES=list), not initramfs-tools' default of most of the
#       kernel's drivers: under emulation that default costs minutes at
#       every kernel installed, and the test is of blksnap, not of the
#       initramfs
#   image-hook.sh customize ROOT OUT
#       after the packages are installed: the test's service, an fstab
#       finding the root by its label, root without password; the 6.1
#       kernel's packages (image, headers, their dependencies) in
#       /opt/kernel-6.1 for the guest to install with no network; the
#       apt cache emptied; the 6.12 kernel and initrd copied to OUT
set -euo pipefail

hook=${1:?hook}
root=${2:?root}
K61=/opt/kernel-6.1
K61_PKGS=(linux-image-amd64 linux-headers-amd64)

case $hook in
setup)
	cache=${3:?apt cache}
	[[ -d $cache ]] || exit 0
	mkdir -p "$root/var/cache/apt/archives"
	find "$cache" -maxdepth 1 -name '*.deb' -exec ln -t "$root/var/cache/apt/archives" {} + ||
		echo "image-hook: cannot link the packages of $cache (another file system?): apt downloads them all"
	;;
essential)
	mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"
	echo MODULES=list >"$root/etc/initramfs-tools/conf.d/virtio-root"
	cat >"$root/etc/initramfs-tools/hooks/virtio-root" <<'HOOK'
#!/bin/sh
# The drivers of the installed-system test's root disk (see
# /etc/initramfs-tools/conf.d/virtio-root).
case $1 in prereqs) exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
force_load virtio_pci
force_load virtio_blk
force_load ext4
HOOK
	chmod 0755 "$root/etc/initramfs-tools/hooks/virtio-root"
	;;
customize)
	out=${3:?out}
	echo "LABEL=root / ext4 errors=remount-ro 0 1" >"$root/etc/fstab"
	echo blksnap-guest >"$root/etc/hostname"
	chroot "$root" passwd -d root
	cat >"$root/etc/systemd/system/blksnap-installed-test.service" <<'UNIT'
[Unit]
Description=blksnap installed-system test
After=local-fs.target systemd-udevd.service systemd-modules-load.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/blksnap-installed-test
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target
UNIT
	# The guest's side of the test: mount the host's folder, run the
	# stage the host asked for (run.sh writes payload/stage), power off.
	cat >"$root/usr/local/sbin/blksnap-installed-test" <<'RUNNER'
#!/bin/sh
mkdir -p /payload
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 payload /payload || { echo "installed-test: no payload"; systemctl poweroff; exit 1; }
stage=$(cat /payload/stage)
bash /payload/guest.sh "$stage" 2>&1 | tee /payload/log-"$stage".txt
sync
umount /payload
systemctl poweroff --no-block
RUNNER
	chmod 0755 "$root/usr/local/sbin/blksnap-installed-test"
	chroot "$root" systemctl enable blksnap-installed-test.service

	# The 6.1 kernel's packages: those the host has are linked, apt
	# downloads the rest.
	mkdir -p "$root$K61/partial" "$root/tmp/k61-list/partial"
	chroot "$root" apt-get install -qq --print-uris -o Dir::Cache::Archives=/tmp/k61-list \
		"${K61_PKGS[@]}" | awk '{ print $2 }' >"$root/tmp/k61-list/names"
	[[ -s $root/tmp/k61-list/names ]] || { echo "image-hook: no 6.1 kernel packages" >&2; exit 1; }
	while read -r f; do
		[[ ! -f $root/var/cache/apt/archives/$f ]] || ln "$root/var/cache/apt/archives/$f" "$root$K61/"
	done <"$root/tmp/k61-list/names"
	chroot "$root" apt-get install -y -q --download-only -o Dir::Cache::Archives="$K61" "${K61_PKGS[@]}"
	rm -rf "$root/tmp/k61-list" "$root$K61/partial" "$root$K61/lock"
	echo "image-hook: $(find "$root$K61" -name '*.deb' | wc -l) packages in $K61"
	chroot "$root" apt-get clean

	cp "$root"/boot/vmlinuz-* "$root"/boot/initrd.img-* "$out/"
	;;
*)
	echo "image-hook: unknown hook $hook" >&2
	exit 2
	;;
esac
