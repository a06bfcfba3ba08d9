/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API of 6.12 on older kernels, for the out-of-tree build of
 * blkfilter and blksnap.
 *
 * The modules call the API of the newest kernel they support, as the same
 * code does in the kernel tree; where the kernel built against lacks a
 * part of it (a HAVE_* macro of compat-gen.h, which
 * kernel/scripts/gen-compat.sh writes from the kernel's headers, is not
 * set), this header supplies it from what that kernel has.  In the kernel
 * tree there is no such header: kernel/intree/mkseries.sh deletes the
 * includes of "compat.h", and the code calls the kernel's own functions.
 *
 * Code shared with the kernel tree calls only the kernel's names here, never
 * a compat_*() helper; the COMPAT_* macros are for the out-of-tree-only
 * files (kernel/blkfilter/hook.c, sysfs.c).  A header that older kernels
 * lack has a stand-in beside this one, in linux/: include the kernel's
 * name, <linux/bio-integrity.h>, and the kernel's own is found first where
 * it exists.
 */
#ifndef _BLKSNAP_COMPAT_H
#define _BLKSNAP_COMPAT_H

#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/ftrace.h>

#include "compat-gen.h"

/*
 * bdev_freeze() and bdev_thaw(), 6.8: freeze_bdev() and thaw_bdev()
 * before, with the same arguments and results.
 */
#ifndef HAVE_BDEV_FREEZE
static inline int bdev_freeze(struct block_device *bdev)
{
	return freeze_bdev(bdev);
}

static inline int bdev_thaw(struct block_device *bdev)
{
	return thaw_bdev(bdev);
}
#endif

/* file_bdev(), 6.9: the device of a block device file. */
#ifndef HAVE_FILE_BDEV
static inline struct block_device *file_bdev(struct file *bdev_file)
{
	return I_BDEV(bdev_file->f_mapping->host);
}
#endif

/*
 * blk_alloc_disk(lim, node), 6.9: a disk whose queue has the limits @lim
 * (NULL: the defaults), or an ERR_PTR().  Before, blk_alloc_disk(node)
 * returned NULL on failure and the limits were set afterwards, one call
 * each: of @lim, the fields that the modules set are applied, a field
 * left 0 keeping its default: logical_block_size, physical_block_size and
 * max_hw_sectors.  A macro, as the kernel's, for a lock class per caller.
 */
#ifndef HAVE_BLK_ALLOC_DISK_LIM
static inline struct gendisk *__compat_blk_alloc_disk(struct queue_limits *lim,
						      int node,
						      struct lock_class_key *lkclass)
{
	struct gendisk *disk = __blk_alloc_disk(node, lkclass);

	if (!disk)
		return ERR_PTR(-ENOMEM);
	if (!lim)
		return disk;
	if (lim->logical_block_size)
		blk_queue_logical_block_size(disk->queue,
					     lim->logical_block_size);
	if (lim->physical_block_size)
		blk_queue_physical_block_size(disk->queue,
					      lim->physical_block_size);
	if (lim->max_hw_sectors)
		blk_queue_max_hw_sectors(disk->queue, lim->max_hw_sectors);
	return disk;
}

#undef blk_alloc_disk
#define blk_alloc_disk(lim, node_id)					\
({									\
	static struct lock_class_key __key;				\
									\
	__compat_blk_alloc_disk(lim, node_id, &__key);			\
})
#endif

/* BLK_DEF_MAX_SECTORS_CAP: BLK_DEF_MAX_SECTORS before, the same value. */
#ifndef BLK_DEF_MAX_SECTORS_CAP
#define BLK_DEF_MAX_SECTORS_CAP	BLK_DEF_MAX_SECTORS
#endif

/*
 * rcu_expedite_gp() and rcu_unexpedite_gp() are exported by
 * kernel/rcu/update.c and declared in kernel/rcu/rcu.h only, except in a
 * kernel with the in-tree series, which declares them in
 * <linux/rcupdate.h>.  Tiny RCU has neither, and never expedites.
 */
#ifndef HAVE_RCU_EXPEDITE_GP_DECL
#ifdef CONFIG_TINY_RCU
static inline void rcu_expedite_gp(void)
{
}

static inline void rcu_unexpedite_gp(void)
{
}
#else
void rcu_expedite_gp(void);
void rcu_unexpedite_gp(void);
#endif
#endif

/*
 * The callbacks of a class interface get the device alone since 6.4, and
 * the interface too before: COMPAT_CLASS_INTF_PARAMS is their parameter
 * list, with the device named dev.
 */
#ifdef HAVE_CLASS_INTERFACE_DEV_ONLY
#define COMPAT_CLASS_INTF_PARAMS	struct device *dev
#else
#define COMPAT_CLASS_INTF_PARAMS	struct device *dev, \
					struct class_interface *intf
#endif

/*
 * ftrace_regs_get_argument(), 6.2, a macro: before it, x86's struct
 * ftrace_regs holds the pt_regs, whose argument registers the lighter
 * trampoline (DYNAMIC_FTRACE_WITH_ARGS) saves too.
 */
#if defined(CONFIG_DYNAMIC_FTRACE_WITH_ARGS) && \
	!defined(ftrace_regs_get_argument)
#define ftrace_regs_get_argument(fregs, n) \
	regs_get_kernel_argument(&(fregs)->regs, n)
#endif

#endif /* _BLKSNAP_COMPAT_H */
