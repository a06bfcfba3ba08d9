/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interface between the parts of the blkfilter module, or in the
 * kernel tree between block/blk-filter.c and the rest of the block layer.
 */
#ifndef BLKFILTER_IN_TREE
/*
 * Shared with the in-tree series (kernel/intree/mkseries.sh), which makes
 * this block/blk-filter-internal.h: code under BLKFILTER_IN_TREE is only
 * there, code under its negation only here.
 */
#endif
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

#ifndef BLKFILTER_IN_TREE
/* hook.c */
int bf_hooks_init(void);
void bf_hooks_exit(void);
int bf_submit_hook_get(void);
void bf_submit_hook_put(void);
/* The bio hook's direct-call entry, in assembly (not global). */
void bf_submit_direct(void);

/* sysfs.c */
int bf_sysfs_init(void);
void bf_sysfs_exit(void);
/* The class of disks and partitions, set by bf_sysfs_init(). */
extern typeof_member(struct device, class) bf_block_class;

#endif
/* core.c */
#if !defined(BLKFILTER_IN_TREE) || defined(CONFIG_BLK_FILTER)
bool bf_filter_bio(struct bio *bio);
long blkfilter_ioctl(struct block_device *bdev, unsigned int cmd,
		     void __user *argp);
void blkfilter_device_going(struct blkfilter_dying *dying);
void blkfilter_device_gone(struct blkfilter_dying *dying);
/* The attribute "filter" of disks and partitions. */
extern struct device_attribute blkfilter_attr_filter;
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
#endif

#endif /* _BLKFILTER_INTERNAL_H */
