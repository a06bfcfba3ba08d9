#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# libblksnap.so exports the API and nothing else, with its soname, and
# the installed files (make install with DESTDIR) are where they belong.
# shellcheck source=helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
so=$BLKSNAP_LIB/libblksnap.so.1
if ! command -v nm >/dev/null || ! command -v readelf >/dev/null; then
	echo "skip: needs binutils"
	exit 77
fi
[[ -f $so ]] || fail "no $so"
readelf -d "$so" | grep -q 'SONAME.*\[libblksnap\.so\.1\]' || fail "soname"
syms=$(nm -D --defined-only "$so" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' | sort)
api=$(sed -n 's/^\([a-z_]*\)(.*/\1/p; s/^[a-z].* \**\(blksnap_[a-z_]*\)(.*/\1/p' \
	"$TOP/lib/include/blksnap/blksnap.h" | sort -u)
[[ $syms == "$api" ]] || fail "exported symbols differ from the header: $(diff <(echo "$api") <(echo "$syms") | tr '\n' ' ')"
nm -D --defined-only "$so" | awk '$2 != "A" && $2 != "T"' | grep . && fail "exported data or other symbols"

# make install into a scratch root.
dest=$TEST_TMP/root
make -s -C "$TOP" install DESTDIR="$dest" PREFIX=/usr >"$TEST_TMP/install.log" 2>&1 ||
	{ cat "$TEST_TMP/install.log"; fail "make install"; finish; }
for f in usr/lib/libblksnap.so.1 usr/lib/libblksnap.so usr/lib/libblksnap.a \
	usr/include/blksnap/blksnap.h usr/lib/pkgconfig/blksnap.pc usr/sbin/blksnap \
	usr/share/man/man8/blksnap.8 usr/share/man/man3/libblksnap.3; do
	[[ -e $dest/$f ]] || fail "make install: no /$f"
done
grep -q '^prefix=/usr$' "$dest/usr/lib/pkgconfig/blksnap.pc" || fail "pc prefix"
grep -q '^Version: [0-9]' "$dest/usr/lib/pkgconfig/blksnap.pc" || fail "pc version"
# A program built against the installed files only.
cat >"$TEST_TMP/p.c" <<'C'
#include <blksnap/blksnap.h>
#include <stdio.h>
int main(void) { puts(blksnap_lib_version()); return 0; }
C
if command -v pkg-config >/dev/null; then
	flags=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$dest/usr/lib/pkgconfig \
		pkg-config --cflags --libs blksnap) || fail "pkg-config"
else
	flags="-I$dest/usr/include -L$dest/usr/lib -lblksnap"
fi
# shellcheck disable=SC2086 # flags are words
cc -Wall -Werror -o "$TEST_TMP/p" "$TEST_TMP/p.c" $flags || fail "build against the install"
v=$(LD_LIBRARY_PATH=$dest/usr/lib "$TEST_TMP/p") || fail "run against the install"
[[ $v == "$(sed -n 's/^BLKSNAP_VERSION := //p' "$TOP/lib/version.mk")" ]] || fail "version $v"
finish
