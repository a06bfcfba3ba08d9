#!/bin/bash
# Print the newest installed kernel version of a series, e.g. "6.12" ->
# "6.12.117+deb12-amd64", "6.1" -> "6.1.0-56-amd64" ("6.1" never matches
# 6.12). Only kernels with both /boot/vmlinuz-* and /lib/modules/*/kernel
# count. Exit status 1 if there is none. "debug" prints the release of the
# debug kernel built by scripts/debug-kernel.sh, if it was built.
set -euo pipefail
(($# == 1)) || { echo "Usage: $0 SERIES" >&2; exit 2; }
if [[ $1 == debug ]]; then
	exec "$(dirname "${BASH_SOURCE[0]}")/debug-kernel.sh" --print release
fi
best=
for k in /boot/vmlinuz-"$1".* /boot/vmlinuz-"$1"-*; do
	[[ -f $k ]] || continue
	k=${k#/boot/vmlinuz-}
	[[ -d /lib/modules/$k/kernel ]] || continue
	best=$(printf '%s\n' "$best" "$k" | sed '/^$/d' | sort -V | tail -n1)
done
[[ -n $best ]] || exit 1
echo "$best"
