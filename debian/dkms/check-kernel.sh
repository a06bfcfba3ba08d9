#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Can blkfilter and blksnap be built for, and work on, this kernel?  Checks
# that its headers are installed and that it has what blkfilter's hooks
# need (kprobes, to find kallsyms_lookup_name; ftrace with registers, to
# redirect block layer functions).  Says what is missing on stderr and
# exits 1, so that the DKMS build stops here rather than giving a module
# that fails to load.
#
# Usage: check-kernel.sh RELEASE [HEADERS_DIR]
kver=$1
kdir=${2:-/lib/modules/$1/build}

if [ ! -f "$kdir/Makefile" ]; then
	echo "blksnap: no headers for kernel $kver in $kdir: install the package linux-headers-$kver (apt install linux-headers-$kver)" >&2
	exit 1
fi
config=$kdir/.config
[ -f "$config" ] || config=$kdir/include/config/auto.conf
if [ ! -f "$config" ]; then
	echo "blksnap: the headers in $kdir have no kernel configuration (.config): cannot check the kernel" >&2
	exit 1
fi
missing=
for opt in CONFIG_MODULES CONFIG_KALLSYMS CONFIG_KPROBES CONFIG_FUNCTION_TRACER \
	CONFIG_DYNAMIC_FTRACE CONFIG_DYNAMIC_FTRACE_WITH_REGS; do
	grep -q "^$opt=y" "$config" || missing="$missing $opt"
done
if [ -n "$missing" ]; then
	echo "blksnap: kernel $kver lacks what blkfilter needs:$missing (not set in $config); blksnap cannot work on this kernel: use a kernel built with these options (Debian's are)" >&2
	exit 1
fi
exit 0
