#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The DKMS package's check of the kernel it builds for (debian/dkms/
# check-kernel.sh, run by the DKMS Makefile before anything is compiled):
# headers missing, it names the package to install; a kernel without what
# blkfilter needs, it names each missing option; either way the build
# stops before the feature detection and the compiler. Fake header
# folders stand in for a kernel's; needs nothing but make.
# shellcheck source=helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v make >/dev/null || { echo "skip: no make"; exit 77; }

# The DKMS source folder's build files, laid out as debian/rules does.
src=$TEST_TMP/src
mkdir -p "$src/scripts"
cp "$TOP/debian/dkms/Makefile" "$src/Makefile"
cp "$TOP/debian/dkms/check-kernel.sh" "$src/scripts/check-kernel.sh"
printf '#!/bin/sh\necho gen-compat ran >"%s/ran"\n' "$TEST_TMP" >"$src/scripts/gen-compat.sh"

# headers NAME OPTION...: a fake header folder whose .config sets OPTIONs.
headers() {
	local dir=$TEST_TMP/$1
	shift
	mkdir -p "$dir"
	echo 'all:' >"$dir/Makefile"
	printf '%s=y\n' "$@" >"$dir/.config"
	echo "$dir"
}
# build KVER KDIR: the DKMS build (dkms.conf's MAKE line), $err and $rc set.
build() {
	rm -f "$TEST_TMP/ran"
	make -s -C "$src" KVER="$1" KDIR="$2" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	rc=$?
	err=$(cat "$TEST_TMP/err")
	[[ ! -e $TEST_TMP/ran ]] || ran=1
}
all=(CONFIG_MODULES CONFIG_KALLSYMS CONFIG_KPROBES CONFIG_FUNCTION_TRACER
	CONFIG_DYNAMIC_FTRACE CONFIG_DYNAMIC_FTRACE_WITH_REGS)

# No headers: the package to install, by name.
ran=0
build 6.1.0-99-amd64 "$TEST_TMP/none"
[[ $rc != 0 ]] || fail "no headers: the build went on"
expect_err "no headers for kernel 6\.1\.0-99-amd64 in $TEST_TMP/none: install the package linux-headers-6\.1\.0-99-amd64"
((!ran)) || fail "no headers: the feature detection ran"
sh "$src/scripts/check-kernel.sh" 6.1.0-99-amd64 2>/dev/null &&
	fail "check-kernel.sh found headers in /lib/modules/6.1.0-99-amd64/build"

# No KPROBES, no DYNAMIC_FTRACE_WITH_REGS: both named, nothing else.
dir=$(headers noregs CONFIG_MODULES CONFIG_KALLSYMS CONFIG_FUNCTION_TRACER CONFIG_DYNAMIC_FTRACE)
build 6.1.0-98-amd64 "$dir"
[[ $rc != 0 ]] || fail "no kprobes: the build went on"
expect_err "kernel 6\.1\.0-98-amd64 lacks what blkfilter needs: CONFIG_KPROBES CONFIG_DYNAMIC_FTRACE_WITH_REGS \(not set in $dir/\.config\)"
((!ran)) || fail "no kprobes: the feature detection ran"
[[ $(grep -c '^blksnap:' <<<"$err") == 1 ]] || fail "no kprobes: messages: $err"

# One option short, each in turn.
for opt in "${all[@]}"; do
	others=()
	for o in "${all[@]}"; do
		[[ $o == "$opt" ]] || others+=("$o")
	done
	dir=$(headers "no-$opt" "${others[@]}")
	sh "$src/scripts/check-kernel.sh" 6.12.0-test "$dir" 2>"$TEST_TMP/err" &&
		fail "no $opt: check-kernel.sh passed"
	err=$(cat "$TEST_TMP/err")
	expect_err "lacks what blkfilter needs: $opt \("
done

# Headers without a configuration: said so, not taken as fine.
dir=$(headers noconfig)
rm "$dir/.config"
build 6.1.0-97-amd64 "$dir"
[[ $rc != 0 ]] || fail "no .config: the build went on"
expect_err "the headers in $dir have no kernel configuration"

# Everything there: the check passes quietly and the build goes on.
dir=$(headers ok "${all[@]}")
ran=0
build 6.12.0-ok "$dir"
((ran)) || fail "all options set: the feature detection did not run ($err)"
[[ -z $err || $err != *blksnap:* ]] || fail "all options set: $err"
finish
