// SPDX-License-Identifier: GPL-2.0
/*
 * The blkfilter module: block device filters on a stock kernel.
 *
 * core.c is the mechanism, the same code as block/blk-filter.c in the
 * kernel tree; this module adds what the kernel tree has in its block
 * layer: the hooks that bring bios, ioctls and device removals to core.c
 * (hook.c) and the attribute "filter" of every disk and partition
 * (sysfs.c).  Out of tree only (kernel/intree/mkseries.sh leaves this file
 * out).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/srcu.h>

#include "blkfilter.h"

static int __init bf_init(void)
{
	int ret;

	/* First: it finds the class of block devices, which the hooks need. */
	ret = bf_sysfs_init();
	if (ret)
		return ret;
	ret = bf_hooks_init();
	if (ret)
		goto out_sysfs;
	pr_info("block device filtering ready\n");
	return 0;

out_sysfs:
	bf_sysfs_exit();
	return ret;
}

static void __exit bf_exit(void)
{
	bf_hooks_exit();
	bf_sysfs_exit();
	/* The frees of attachments queued by bf_put() run before it goes. */
	srcu_barrier(&bf_srcu);
	rcu_barrier();
}

module_init(bf_init);
module_exit(bf_exit);
MODULE_DESCRIPTION("Block device filtering on stock kernels");
MODULE_LICENSE("GPL");
