#!/bin/bash
# Install every Debian package needed to build, test, demo and benchmark
# blksnap, and cache checkpatch.pl from the kernel source tarball.
# Idempotent: does no apt work when everything is already installed.
#
# Usage: deps.sh [--flavours]
#   --flavours  also Debian's rt (PREEMPT_RT) kernels of 6.12 and 6.1 and
#               its cloud kernel of 6.12, with headers ("make
#               check-flavours")
set -euo pipefail

PACKAGES=(
	build-essential make gcc
	qemu-system-x86
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-image-amd64 linux-headers-amd64
	linux-source-6.12
	busybox-static bash fio e2fsprogs xfsprogs dmsetup kmod cpio
	sparse xz-utils zstd util-linux fdisk bc flex bison
	libelf-dev libssl-dev perl gnuplot-nox shellcheck linux-perf
	unifdef python3-ply python3-git python3-sphinx
	libsmartcols-dev zlib1g-dev pkg-config
	dpkg-dev debhelper dh-dkms dkms fakeroot lintian mmdebstrap qemu-utils
)

FLAVOUR_PACKAGES=(
	linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64
	linux-image-6.12-cloud-amd64 linux-headers-6.12-cloud-amd64
	linux-image-rt-amd64 linux-headers-rt-amd64
)
case ${1:-} in
--flavours) PACKAGES+=("${FLAVOUR_PACKAGES[@]}") ;;
"") ;;
*) echo "Usage: $0 [--flavours]" >&2; exit 2 ;;
esac

CACHE=${BLKSNAP_CACHE:-/var/cache/blksnap}
CP_DIR=$CACHE/checkpatch
CP_FILES=(scripts/checkpatch.pl scripts/spelling.txt scripts/const_structs.checkpatch)

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
	echo "deps: installing: ${missing[*]}"
	sudo=()
	((EUID == 0)) || sudo=(sudo)
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "deps: all ${#PACKAGES[@]} packages installed"
fi

have_all=1
for f in "${CP_FILES[@]}"; do
	[[ -s $CP_DIR/${f#scripts/} ]] || have_all=0
done
if ((!have_all)); then
	tarball=$(find /usr/src -maxdepth 1 -name 'linux-source-6.12*.tar.xz' | sort -V | tail -n1)
	[[ -n $tarball ]] || { echo "deps: no linux-source-6.12 tarball in /usr/src" >&2; exit 1; }
	top=$(tar -tJf "$tarball" 2>/dev/null | head -n1 | cut -d/ -f1) || true
	[[ -n $top ]] || { echo "deps: cannot read $tarball" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	tar -xJf "$tarball" -C "$tmp" "${CP_FILES[@]/#/$top/}"
	mkdir -p "$CP_DIR"
	for f in "${CP_FILES[@]}"; do
		install -m 0644 "$tmp/$top/$f" "$CP_DIR/${f#scripts/}"
	done
	chmod 0755 "$CP_DIR/checkpatch.pl"
	echo "deps: checkpatch cached in $CP_DIR"
fi
