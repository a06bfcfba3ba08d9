#!/bin/bash
# The packages of a second, higher version, for the installed-system
# test's upgrade (guest.sh): the tree copied aside with ".1" appended to
# BLKSNAP_VERSION (lib/version.mk, the one place it is defined), and its
# "make deb" run there. The sources are those of the tree; only the
# version differs.
#
# Usage: mkupgrade.sh OUT_DIR
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:?Usage: mkupgrade.sh OUT_DIR}
tree=$(mktemp -d /tmp/blksnap-upgrade.XXXXXX)
trap 'rm -rf "$tree"' EXIT

tar -C "$TOP" --exclude=./build --exclude=./.git -cf - . | tar -C "$tree" -xf -
sed -i 's/^\(BLKSNAP_VERSION *:= *.*\)$/\1.1/' "$tree/lib/version.mk"
version=$(sed -n 's/^BLKSNAP_VERSION *:= *//p' "$tree/lib/version.mk")
echo "mkupgrade: version $version"
make -s -C "$tree" deb >"$tree/deb.log" 2>&1 || { tail -n 30 "$tree/deb.log"; exit 1; }
mkdir -p "$out"
rm -f "$out"/*.deb
find "$tree/build/deb" -maxdepth 1 -name "*_${version}_*.deb" ! -name '*-dbgsym_*' -exec cp -t "$out" {} +
ls "$out"
