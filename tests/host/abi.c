// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The UAPI must stay binary compatible with the v6 series: struct sizes,
 * field offsets and ioctl numbers are pinned here, for the compiler's ABI
 * (x86_64) and, built with -m32, for 32-bit callers.
 */
#include <stddef.h>
#include <stdio.h>

#include <linux/blk-filter.h>
#include <linux/blksnap.h>

#define SIZE(t, n) _Static_assert(sizeof(t) == (n), #t " size")
#define OFF(t, f, n) _Static_assert(offsetof(t, f) == (n), #t "." #f)
#define NUM(c, n) _Static_assert((c) == (n), #c " number")

SIZE(struct blkfilter_name, 32);
SIZE(struct blkfilter_ctl, 48);
OFF(struct blkfilter_ctl, cmd, 32);
OFF(struct blkfilter_ctl, optlen, 36);
OFF(struct blkfilter_ctl, opt, 40);
NUM(BLKFILTER_ATTACH, 0xc020128cu);
NUM(BLKFILTER_DETACH, 0xc020128du);
NUM(BLKFILTER_CTL, 0xc030128eu);

OFF(struct blksnap_cbtinfo, generation_id, 16);
OFF(struct blksnap_cbtinfo, changes_number, 32);
SIZE(struct blksnap_cbtmap, 16);
SIZE(struct blksnap_sectors, 16);
OFF(struct blksnap_cbtdirty, dirty_sectors, 8);
SIZE(struct blksnap_snapshotadd, 16);
SIZE(struct blksnap_snapshotinfo, 36);
SIZE(struct blksnap_version, 8);
OFF(struct blksnap_snapshot_create, diff_storage_fd, 8);
OFF(struct blksnap_snapshot_create, id, 12);
OFF(struct blksnap_snapshot_collect, ids, 8);
SIZE(struct blksnap_snapshot_event, 4096);
OFF(struct blksnap_snapshot_event, time_label, 24);
OFF(struct blksnap_snapshot_event, data, 32);
SIZE(struct blksnap_event_corrupted, 12);
NUM(blkfilter_ctl_blksnap_snapshotinfo, 4);
/* Extensions: new numbers after the series', fixed layouts, no padding. */
NUM(blkfilter_ctl_blksnap_cbtrestore, 5);
SIZE(struct blksnap_cbtrestore, 48);
OFF(struct blksnap_cbtrestore, generation_id, 16);
OFF(struct blksnap_cbtrestore, changes_number, 32);
OFF(struct blksnap_cbtrestore, flags, 36);
OFF(struct blksnap_cbtrestore, map, 40);
NUM(IOCTL_BLKSNAP_VERSION, 0x80085600u);
NUM(IOCTL_BLKSNAP_SNAPSHOT_DESTROY, 0x40105602u);
NUM(IOCTL_BLKSNAP_SNAPSHOT_TAKE, 0x40105603u);
NUM(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, 0x90005605u);

/* These differ with the ABI's alignment of __u64: print, then compare. */
int main(void)
{
	int bad = 0;

#if defined(__x86_64__)
	bad |= sizeof(struct blksnap_cbtinfo) != 40;
	bad |= sizeof(struct blksnap_cbtdirty) != 16;
	bad |= sizeof(struct blksnap_snapshot_create) != 32;
	bad |= sizeof(struct blksnap_snapshot_collect) != 16;
	bad |= IOCTL_BLKSNAP_SNAPSHOT_CREATE != 0xc0205601u;
	bad |= IOCTL_BLKSNAP_SNAPSHOT_COLLECT != 0x80105604u;
#endif
	printf("abi: create %zu bytes, collect %zu, cbtinfo %zu: %s\n",
	       sizeof(struct blksnap_snapshot_create),
	       sizeof(struct blksnap_snapshot_collect),
	       sizeof(struct blksnap_cbtinfo), bad ? "WRONG" : "ok");
	return bad;
}
