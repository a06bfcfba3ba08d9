#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Generate the in-tree variant of blkfilter and blksnap: a patch series
# against Debian's linux-source-6.12, made from the same sources as the
# out-of-tree modules.
#
# Usage: mkseries.sh [OUTPUT_DIR]     (default: patches/linux-6.12)
#
# The tarball (/usr/src/linux-source-6.12.tar.xz, or $INTREE_TARBALL) is
# extracted once into $INTREE_CACHE (default build/intree), a git repository
# whose "pristine" branch holds it as shipped.  Each run rebuilds the
# "series" branch from there, one commit per patch, and writes the patches
# with git format-patch: fixed author and dates, zero commit ids, no
# signature, so that an unchanged source gives byte-identical patches.
#
# How the sources become the in-tree files:
# - C sources and headers go through unifdef: BLKFILTER_IN_TREE is
#   defined, and each HAVE_* macro of kernel/scripts/gen-compat.sh is
#   defined or undefined as the 6.12 tree asks; the include of "compat.h"
#   (kernel/compat/, the 6.12 API on older kernels) goes, and that of
#   "blkfilter.h" names it block/blk-filter-internal.h.
#   kernel/blkfilter/hook.c, the ftrace hooks, kernel/blkfilter/sysfs.c,
#   the filter attribute put on each device, and kernel/blkfilter/main.c,
#   the module's init, have no in-tree part: the block layer calls core.c
#   (glue/blkfilter-core.diff; glue/blk-filter.diff adds the entry it
#   calls), and the attribute is among those of disks and partitions.
# - .rst files go through rst-intree.awk (".. out-of-tree:" and
#   ".. in-tree:" comments).
# - The changes to existing kernel files are the hand-written diffs in
#   glue/; MAINTAINERS, the documentation index and the ioctl number list
#   are edited here.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${1:-$TOP/patches/linux-6.12}
CACHE=${INTREE_CACHE:-$TOP/build/intree}
TARBALL=${INTREE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
SRC=$CACHE/linux-source-6.12

# Nothing of the user's git configuration may change the output.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="blksnap developers" GIT_AUTHOR_EMAIL=blksnap@localhost
export GIT_COMMITTER_NAME="blksnap developers"
export GIT_COMMITTER_EMAIL=blksnap@localhost
export TZ=UTC LC_ALL=C
SOB="Signed-off-by: $GIT_AUTHOR_NAME <$GIT_AUTHOR_EMAIL>"

die() {
	echo "mkseries: $*" >&2
	exit 1
}

command -v unifdef >/dev/null || die "unifdef missing: run scripts/deps.sh"

g() {
	git -c gc.auto=0 -c maintenance.auto=false -C "$SRC" "$@"
}

# The pristine tree, extracted once and kept with the tarball's identity.
prepare() {
	local id
	[ -f "$TARBALL" ] || die "no $TARBALL: run scripts/deps.sh"
	id=$(stat -c '%s %Y' "$TARBALL")
	if [ -d "$SRC/.git" ] && [ "$(cat "$CACHE/tarball.id" 2>/dev/null)" = "$id" ] &&
	   g rev-parse -q --verify pristine >/dev/null; then
		return
	fi
	echo "mkseries: extracting $TARBALL into $CACHE"
	rm -rf "$SRC"
	mkdir -p "$CACHE"
	tar -xJf "$TARBALL" -C "$CACHE"
	[ -f "$SRC/Makefile" ] || die "$TARBALL has no linux-source-6.12/"
	g init -q -b pristine
	g add -f .
	GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		g commit -q -m "linux-source-6.12 as shipped by Debian"
	echo "$id" >"$CACHE/tarball.id"
}

# unifdef arguments: the in-tree marker and the features of this tree.
unifdef_args() {
	local line
	UNIFDEF_ARGS=(-DBLKFILTER_IN_TREE)
	bash "$TOP/kernel/scripts/gen-compat.sh" "$SRC" "$CACHE/compat-gen.h"
	while read -r line; do
		case $line in
		"#define HAVE_"*)
			line=${line#"#define "}
			UNIFDEF_ARGS+=("-D${line%% *}")
			;;
		"/* HAVE_"*" is not set */")
			line=${line#"/* "}
			UNIFDEF_ARGS+=("-U${line%% *}")
			;;
		esac
	done <"$CACHE/compat-gen.h"
	# Declared in include/linux/rcupdate.h by the series itself.
	UNIFDEF_ARGS+=(-DHAVE_RCU_EXPEDITE_GP_DECL)
}

# c_file SOURCE DEST: a C source or header of ours, in-tree
c_file() {
	local dst=$SRC/$2 rc=0
	mkdir -p "$(dirname "$dst")"
	unifdef "${UNIFDEF_ARGS[@]}" -o "$dst" "$TOP/$1" || rc=$?
	[ "$rc" -le 1 ] || die "unifdef failed on $1"
	sed -i -e '/^#include "compat.h"$/d' \
		-e 's/^#include "blkfilter.h"$/#include "blk-filter-internal.h"/' \
		"$dst"
	g add -f "$2"
}

# rst_file SOURCE DEST: a documentation file of ours, in-tree
rst_file() {
	mkdir -p "$(dirname "$SRC/$2")"
	awk -f "$HERE/rst-intree.awk" "$TOP/$1" >"$SRC/$2"
	g add -f "$2"
}

glue() {
	g apply --index "$HERE/glue/$1"
}

# doc_index NAME AFTER: add NAME after AFTER in the toctree of
# Documentation/block
doc_index() {
	sed -i "/^   $2\$/a\\   $1" "$SRC/Documentation/block/index.rst"
	g add -f Documentation/block/index.rst
}

# The MAINTAINERS entries, rewritten from these lists before each commit.
BF_FILES=()
BS_FILES=()

maintainers() {
	python3 - "$SRC/MAINTAINERS" "${#BF_FILES[@]}" "${BF_FILES[@]}" "${BS_FILES[@]}" <<'EOF'
import sys
path, nbf = sys.argv[1], int(sys.argv[2])
bf, bs = sys.argv[3:3 + nbf], sys.argv[3 + nbf:]
titles = ("BLOCK DEVICE FILTERS\n", "BLOCK DEVICE SNAPSHOTS (BLKSNAP)\n")
text = open(path).read()
# drop the entries written before
blocks = text.split("\n\n")
blocks = [b for b in blocks if not b.lstrip("\n").startswith(titles)]
text = "\n\n".join(blocks)
new = ""
for title, files in zip(titles, (bf, bs)):
    if not files:
        continue
    new += title + "M:\tblksnap developers <blksnap@localhost>\n" \
        "L:\tlinux-block@vger.kernel.org\nS:\tMaintained\n"
    new += "".join("F:\t%s\n" % f for f in sorted(files)) + "\n"
anchor = "\nBLOCK LAYER\n"
assert text.count(anchor) == 1
text = text.replace(anchor, "\n" + new + "BLOCK LAYER\n")
open(path, "w").write(text)
EOF
	g add -f MAINTAINERS
}

N=0
# commit SUBJECT BODY: one patch of the series
commit() {
	local date
	N=$((N + 1))
	date=$(printf '2026-01-01T00:%02d:00Z' "$N")
	maintainers
	printf '%s\n\n%s\n\n%s\n' "$1" "$2" "$SOB" |
		GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date g commit -q -F -
}

prepare
g checkout -q -f -B series pristine
g clean -q -fdx
unifdef_args

# 1: the mechanism in the block layer
c_file kernel/blkfilter/core.c block/blk-filter.c
glue blk-filter.diff
c_file kernel/blkfilter/blkfilter.h block/blk-filter-internal.h
c_file include/linux/blk-filter.h include/linux/blk-filter.h
c_file include/uapi/linux/blk-filter.h include/uapi/linux/blk-filter.h
glue blkfilter-core.diff
BF_FILES+=(block/blk-filter-internal.h block/blk-filter.c
	include/linux/blk-filter.h include/uapi/linux/blk-filter.h)
commit "block: block device filters" \
"A block device filter sees the bios of one block device, a disk or a
partition, and may take any of them.  It is attached to a device in use
and detached again with the BLKFILTER_ATTACH and BLKFILTER_DETACH ioctls
of the device, and receives commands of its own through BLKFILTER_CTL.
The sysfs attribute 'filter' of disks and partitions names the attached
filter; a filter is detached when its disk or partition is deleted.

The filter's submit_bio callback is called inside the queue usage section
that the submission path enters anyway: in blk_mq_submit_bio() after the
checks that need it and before splitting, and around ->submit_bio for
bio based devices.  Attaching a filter publishes bdev->bd_filter with the
queue frozen, so that every bio entering the queue afterwards sees it,
and bios that entered before have completed when attach returns.

No cost for devices without a filter: the check is behind a static key
that is enabled only while a filter is attached somewhere, and no queue
enter or exit is added.  Bios that a filter submits to its own device
from its callback pass the filter once.

The same code builds as a module for unpatched kernels, with ftrace in
place of the calls from the block layer."

# 2: its documentation
rst_file kernel/blkfilter/blkfilter.rst Documentation/block/blkfilter.rst
doc_index blkfilter blk-mq
BF_FILES+=(Documentation/block/blkfilter.rst)
commit "Documentation: block device filters" \
"What a block device filter is, the ioctls that attach, detach and control
one, how to write one and what it costs; the kernel-doc of the interface."

# 3: the userspace interface of blksnap
c_file include/uapi/linux/blksnap.h include/uapi/linux/blksnap.h
sed -i "/^'V'   C0     media\/si4713.h /a\\'V'   00-1F  uapi/linux/blksnap.h                                      conflict!" \
	"$SRC/Documentation/userspace-api/ioctl/ioctl-number.rst"
g add -f Documentation/userspace-api/ioctl/ioctl-number.rst
BS_FILES+=(include/uapi/linux/blksnap.h)
commit "blksnap: the userspace interface" \
"The ioctls of /dev/blksnap-control (version, snapshot create, destroy,
take, collect, wait for an event) and the BLKFILTER_CTL commands of the
blksnap filter (change tracker information and map, marking ranges
dirty, adding the device to a snapshot, its snapshot's state)."

# 4: its documentation
rst_file kernel/blksnap/blksnap.rst Documentation/block/blksnap.rst
doc_index blksnap blkfilter
BS_FILES+=(Documentation/block/blksnap.rst)
commit "Documentation: blksnap" \
"What blksnap does with each call of its interface, its module
parameters, and its choices on errors, overflow, partitions and devices
that go away."

# 5-9: the module, a part at a time
c_file kernel/blksnap/blksnap.h drivers/block/blksnap/blksnap.h
c_file kernel/blksnap/main.c drivers/block/blksnap/main.c
BS_FILES+=(drivers/block/blksnap/blksnap.h drivers/block/blksnap/main.c)
commit "blksnap: module parameters and the control device" \
"The internal interface of the parts of the module, its parameters, and
/dev/blksnap-control with its ioctls."

c_file kernel/blksnap/tracker.c drivers/block/blksnap/tracker.c
BS_FILES+=(drivers/block/blksnap/tracker.c)
commit "blksnap: the filter and its change tracker" \
"The blksnap block device filter: a change tracker per device, with a map
of the changes since the last snapshot and the map as it was then, the
BLKFILTER_CTL commands, and the writes of a device sent through
copy-on-write while a snapshot holds it."

glue rcu-expedite-decl.diff
commit "rcu: declare rcu_expedite_gp() and rcu_unexpedite_gp() in rcupdate.h" \
"Both are exported, for rcutorture, and declared in kernel/rcu/rcu.h only.
blksnap expedites grace periods while it takes a snapshot, from the first
filesystem freeze to the last thaw, as the PM notifier does for suspend:
writers of the devices wait for the freezes, and each filesystem's freeze
waits for a grace period at each of its three levels.  Measured under
QEMU with fio writing 4 KiB random blocks to ext4: the freeze took a
median of 72 ms, 24 ms with grace periods expedited.

With rcupdate.rcu_normal=1 nothing is expedited, as before."

c_file kernel/blksnap/snapshot.c drivers/block/blksnap/snapshot.c
BS_FILES+=(drivers/block/blksnap/snapshot.c)
commit "blksnap: snapshots" \
"Snapshots of one or more devices: create, add a device, take (all the
devices at the same point, with their filesystems frozen), events,
destroy, and the failure of a snapshot whose device goes away."

c_file kernel/blksnap/map.c drivers/block/blksnap/map.c
c_file kernel/blksnap/trace.h drivers/block/blksnap/trace.h
c_file kernel/blksnap/area.c drivers/block/blksnap/area.c
BS_FILES+=(drivers/block/blksnap/map.c drivers/block/blksnap/trace.h
	drivers/block/blksnap/area.c)
commit "blksnap: copy-on-write" \
"The copy-on-write state of a device of a taken snapshot: the chunk map,
an xarray that says where each chunk's old data is; holding a write to
chunks not yet preserved, reading their old data, releasing the write and
storing the old data in the difference storage; and where the snapshot's
data of a stretch is, for the image.  Tracepoints mark the stages of a
held write."

c_file kernel/blksnap/storage.c drivers/block/blksnap/storage.c
BS_FILES+=(drivers/block/blksnap/storage.c)
commit "blksnap: the difference storage" \
"The storage of the old data of a snapshot: a file, written through the
VFS and grown with fallocate() as it fills, or a block device."

c_file kernel/blksnap/image.c drivers/block/blksnap/image.c
BS_FILES+=(drivers/block/blksnap/image.c)
commit "blksnap: snapshot images" \
"The image of each device of a taken snapshot: a block device of its own,
readable and writable.  A read whose data lies in one place, on the
original or on a storage that is a block device, is sent on there; other
bios are served by work items."

c_file kernel/blksnap/wil.c drivers/block/blksnap/wil.c
BS_FILES+=(drivers/block/blksnap/wil.c)
commit "blksnap: the write-intent log of a change tracker" \
"An extension beyond the v6 interface, for change tracking that survives
a crash: a log of the regions of a device written since the state of its
tracker was last saved, in a small file or on a block device, written
with IOCB_DSYNC before the first write into a region passes.  Writes into
regions on the log already pass with a bit test and no lock."

# 10: Kconfig and Makefile
mkdir -p "$SRC/drivers/block/blksnap"
# shellcheck disable=SC2016 # a make variable
sed -e 's/^obj-m :=/obj-$(CONFIG_BLKSNAP) +=/' -e '/^ccflags-y/d' \
	"$TOP/kernel/blksnap/Kbuild" >"$SRC/drivers/block/blksnap/Makefile"
g add -f drivers/block/blksnap/Makefile
glue blksnap-build.diff
BS_FILES=(Documentation/block/blksnap.rst drivers/block/blksnap/
	include/uapi/linux/blksnap.h)
commit "blksnap: build the module" \
"Kconfig and Makefile of blksnap, which needs BLK_FILTER."

# The patches, replacing those written before.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g -c core.abbrev=12 format-patch -q --zero-commit --no-signature \
	--no-thread --no-cover-letter -o "$tmp" pristine..series
mkdir -p "$OUT"
rm -f "$OUT"/*.patch "$OUT/series"
for p in "$tmp"/*.patch; do
	cp "$p" "$OUT/"
	basename "$p" >>"$OUT/series"
done
echo "mkseries: $(wc -l <"$OUT/series") patches in $OUT"
