#!/bin/bash
# Print the newest installed kernel release of a series and flavour.
#
# Usage: kver.sh SERIES[-FLAVOUR] | debug
#
# SERIES is 6.12 or 6.1 ("6.1" never matches 6.12); FLAVOUR is one of
# Debian's: amd64 (the generic kernel, the default), cloud or rt (their
# releases end in -amd64, -cloud-amd64 and -rt-amd64). So "6.12" ->
# "6.12.118+deb12-amd64", "6.12-rt" -> "6.12.118+deb12-rt-amd64", "6.1" ->
# "6.1.0-57-amd64": with several flavours installed, the generic one is
# still the one "6.12" names. Only kernels with both /boot/vmlinuz-* and
# /lib/modules/*/kernel count. Exit status 1 if there is none. "debug"
# (and "debug-stock") prints the release of the debug kernel built by
# scripts/debug-kernel.sh (DEBUG_VARIANT=stock), if it was built.
set -euo pipefail
(($# == 1)) || { echo "Usage: $0 SERIES[-FLAVOUR]|debug|debug-stock" >&2; exit 2; }
case $1 in
debug) exec "$(dirname "${BASH_SOURCE[0]}")/debug-kernel.sh" --print release ;;
debug-stock) DEBUG_VARIANT=stock exec "$(dirname "${BASH_SOURCE[0]}")/debug-kernel.sh" --print release ;;
esac
series=${1%%-*}
flavour=amd64
[[ $1 == *-* ]] && flavour=${1#*-}
case $flavour in
amd64) suffix=-amd64 ;;
cloud | rt) suffix=-$flavour-amd64 ;;
*) echo "kver.sh: unknown flavour '$flavour' (amd64, cloud, rt)" >&2; exit 2 ;;
esac
best=
for k in /boot/vmlinuz-"$series".* /boot/vmlinuz-"$series"-*; do
	[[ -f $k ]] || continue
	k=${k#/boot/vmlinuz-}
	[[ -d /lib/modules/$k/kernel ]] || continue
	[[ $k == *"$suffix" ]] || continue
	# The generic suffix ends the others' too.
	[[ $flavour != amd64 || ($k != *-rt-amd64 && $k != *-cloud-amd64) ]] || continue
	best=$(printf '%s\n' "$best" "$k" | sed '/^$/d' | sort -V | tail -n1)
done
[[ -n $best ]] || exit 1
echo "$best"
