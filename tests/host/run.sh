#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host tests: need no kernel module. Each is a C program in this folder,
# built and run here; exit 0 pass, 77 skip, other fail.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=$TOP/build/host-tests
mkdir -p "$OUT"
pass=0 fail=0 skip=0
for src in "$HERE"/*.c; do
	name=host/$(basename "$src" .c)
	bin=$OUT/$(basename "$src" .c)
	if ! cc -O2 -Wall -Wextra -Werror -I"$TOP/include/uapi" -o "$bin" "$src"; then
		echo "FAIL $name (build)"
		fail=$((fail + 1))
		continue
	fi
	"$bin"
	case $? in
	0) echo "PASS $name"; pass=$((pass + 1)) ;;
	77) echo "SKIP $name"; skip=$((skip + 1)) ;;
	*) echo "FAIL $name"; fail=$((fail + 1)) ;;
	esac
done
echo "$pass passed, $fail failed, $skip skipped"
((fail == 0))
