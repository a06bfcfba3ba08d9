/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interface between the parts of the blkfilter module, or in the
 * kernel tree between block/blk-filter.c and the rest of the block layer.
 */
#ifndef _BLKFILTER_INTERNAL_H
#define _BLKFILTER_INTERNAL_H

#include <linux/blk-filter.h>
#include <linux/kernel.h>
#include <linux/refcount.h>
#include <linux/rcupdate.h>
#include <linux/srcu.h>
#include <linux/types.h>
#ifndef BLKFILTER_IN_TREE
#include <linux/device.h>
#endif

struct bio;
struct block_device;
struct device_attribute;
struct file;
struct gendisk;

/**
 * struct bf_attachment - a filter attached to one block device
 * @dev: device number of @bdev; the key in bf_attached.
 * @node: entry in bf_attached.
 * @bdev: the filtered device; a reference is held on its struct device.
 * @flt: what the filter's attach returned.
 * @ops: the filter's operations; a reference is held on ops->owner.
 * @name: a copy of ops->name, for readers that hold no reference.
 * @ref: one for the entry in bf_attached, one per running ctl.
 * @dead: set under bf_mutex when detach begins; from then on bios pass
 *	the filter by.  Read locklessly.
 * @rcu: frees the structure after lockless readers are gone: an SRCU grace
 *	period (the I/O path), then an RCU one (sysfs).
 */
struct bf_attachment {
	dev_t dev;
	struct hlist_node node;
	struct block_device *bdev;
	struct blkfilter *flt;
	const struct blkfilter_operations *ops;
	char name[BLKFILTER_NAME_LENGTH];
	refcount_t ref;
	bool dead;
	struct rcu_head rcu;
};

/**
 * struct blkfilter_dying - a disk or a partition being deleted
 * @link: entry in the list of devices being deleted.
 * @disk: the disk, for del_gendisk(); or NULL.
 * @part: the partition, for its removal; or NULL.
 *
 * Lives on the stack of the deleting function while the kernel deletes
 * the device, so that no filter can be attached to it in the meantime.
 */
struct blkfilter_dying {
	struct list_head link;
	struct gendisk *disk;
	struct block_device *part;
};

/* Protects the I/O path's use of an attachment against its detach. */
extern struct srcu_struct bf_srcu;

#ifdef BLKFILTER_IN_TREE
#ifdef CONFIG_BLK_FILTER
/* blk-filter.c */
bool bf_filter_bio(struct bio *bio);
long blkfilter_ioctl(struct block_device *bdev, unsigned int cmd,
		     void __user *argp);
void blkfilter_device_going(struct blkfilter_dying *dying);
void blkfilter_device_gone(struct blkfilter_dying *dying);
/* The attribute "filter" of disks and partitions. */
extern struct device_attribute blkfilter_attr_filter;

/*
 * The block layer passes bios to blk-filter.c (blkfilter_submit_bio())
 * while blkfilter_attached is on: while a filter is attached anywhere.
 */
static inline int bf_submit_hook_get(void)
{
	static_branch_inc(&blkfilter_attached);
	return 0;
}

static inline void bf_submit_hook_put(void)
{
	static_branch_dec(&blkfilter_attached);
}

/*
 * Where the block layer looks for a filter: it reads bdev->bd_filter
 * inside the queue usage section of the device.  Set with the queue
 * frozen, cleared once the filter is dead.
 */
static inline void bf_bdev_set_filter(struct block_device *bdev,
				      struct blkfilter *flt)
{
	WRITE_ONCE(bdev->bd_filter, flt);
}
#else
static inline long blkfilter_ioctl(struct block_device *bdev,
				   unsigned int cmd, void __user *argp)
{
	return -ENOTTY;
}

static inline void blkfilter_device_going(struct blkfilter_dying *dying)
{
}

static inline void blkfilter_device_gone(struct blkfilter_dying *dying)
{
}
#endif /* CONFIG_BLK_FILTER */
#else /* !BLKFILTER_IN_TREE */
/*
 * The blkfilter module, for stock kernels.  core.c and this header are
 * also block/blk-filter.c and block/blk-filter-internal.h of the in-tree
 * series, made by kernel/intree/mkseries.sh with BLKFILTER_IN_TREE
 * defined: there the block layer calls core.c, here the hooks of hook.c
 * do.  What differs is in this header, on either side of that macro, and
 * in kernel/intree/glue/blk-filter.diff (what only block/blk-filter.c
 * has: the block layer's entry, which hook.c's bio hook stands for here).
 */

/* core.c, for the hooks and sysfs.c: as in the tree, with BLK_FILTER. */
bool bf_filter_bio(struct bio *bio);
long blkfilter_ioctl(struct block_device *bdev, unsigned int cmd,
		     void __user *argp);
void blkfilter_device_going(struct blkfilter_dying *dying);
void blkfilter_device_gone(struct blkfilter_dying *dying);
extern struct device_attribute blkfilter_attr_filter;

/* hook.c */
int bf_hooks_init(void);
void bf_hooks_exit(void);
/* Until bf_submit_hook_put(), bios reach bf_filter_bio(). */
int bf_submit_hook_get(void);
void bf_submit_hook_put(void);
/* The bio hook's direct-call entry, in assembly (not global). */
void bf_submit_direct(void);

/* sysfs.c */
int bf_sysfs_init(void);
void bf_sysfs_exit(void);
/* The class of disks and partitions, set by bf_sysfs_init(). */
extern typeof_member(struct device, class) bf_block_class;

/*
 * A stock kernel's devices have no bd_filter: the bio hook looks each
 * device up in bf_attached (bf_filter_bio()).
 */
static inline void bf_bdev_set_filter(struct block_device *bdev,
				      struct blkfilter *flt)
{
}
#endif /* BLKFILTER_IN_TREE */

#endif /* _BLKFILTER_INTERNAL_H */
