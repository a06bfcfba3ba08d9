/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block device filters: the in-kernel interface for filter modules.
 */
#ifndef BLKFILTER_IN_TREE
/*
 * Shared with the in-tree series (kernel/intree/mkseries.sh): code under
 * BLKFILTER_IN_TREE is only there.
 */
#endif
#ifndef _LINUX_BLK_FILTER_H
#define _LINUX_BLK_FILTER_H

#include <linux/blk_types.h>
#include <linux/jump_label.h>
#include <linux/list.h>
#include <linux/types.h>
#include <uapi/linux/blk-filter.h>

struct bio;
struct block_device;
struct module;
struct blkfilter_operations;

/**
 * struct blkfilter - one filter attached to one block device
 * @ops: the operations of the filter; set by the framework after attach.
 *
 * A filter embeds this in its own per-device structure, returns it from
 * &blkfilter_operations.attach and gets it back in the other callbacks.
 */
struct blkfilter {
	const struct blkfilter_operations *ops;
};

/**
 * struct blkfilter_operations - a filter implementation
 * @link: entry in the list of registered filters; owned by the framework.
 * @owner: the module implementing the filter (THIS_MODULE).
 * @name: unique name, shorter than %BLKFILTER_NAME_LENGTH.
 * @attach: create the filter for a block device.  Called with the device's
 *	filesystem and queue frozen, in a memalloc_noio scope.  Returns the
 *	filter or an ERR_PTR().
 * @detach: release a filter.  No @submit_bio call is running or will start.
 * @ctl: optional; a filter-specific command from BLKFILTER_CTL.  @buf and
 *	*@plen are the user's buffer and its length; the filter may update
 *	*@plen, which is copied back to the caller.  May sleep.
 * @submit_bio: called for every bio submitted to the device, in the
 *	context of the submitter.  Returns true if the filter took the bio
 *	(it then owns it and must end or resubmit it), false to let it pass.
 *	The bio has passed the block layer's checks: for a partition its
 *	sector is already relative to the whole disk (%BIO_REMAPPED is set),
 *	as in the in-tree series.  A bio the block layer splits is seen again
 *	for its remainder.  Bios that the callback itself submits to the same
 *	device are not passed to it again.
 */
struct blkfilter_operations {
	struct list_head link;
	struct module *owner;
	const char *name;
	struct blkfilter *(*attach)(struct block_device *bdev);
	void (*detach)(struct blkfilter *flt);
	int (*ctl)(struct blkfilter *flt, const unsigned int cmd,
		   __u8 __user *buf, __u32 *plen);
	bool (*submit_bio)(struct bio *bio);
};

int blkfilter_register(struct blkfilter_operations *ops);
void blkfilter_unregister(struct blkfilter_operations *ops);
struct blkfilter *bdev_filter(struct block_device *bdev);
void blkfilter_sync(struct block_device *bdev);
void blkfilter_sync_prepare(struct block_device *bdev);
void blkfilter_sync_done(struct block_device *bdev);

#ifdef BLKFILTER_IN_TREE
#ifdef CONFIG_BLK_FILTER
DECLARE_STATIC_KEY_FALSE(blkfilter_attached);
bool __blkfilter_submit_bio(struct bio *bio);

/**
 * blkfilter_submit_bio() - pass a bio to the filter of its device, if any
 * @bio: the bio being submitted.
 *
 * While no filter is attached anywhere this is a patched-out jump; after
 * that, a load of bdev->bd_filter, which attach sets with the queue of the
 * device frozen.
 *
 * Context: the submitter's, inside the queue usage section of the device.
 * Return: true if the filter took the bio; the caller must forget it.
 */
static inline bool blkfilter_submit_bio(struct bio *bio)
{
	if (static_branch_unlikely(&blkfilter_attached) &&
	    unlikely(READ_ONCE(bio->bi_bdev->bd_filter)))
		return __blkfilter_submit_bio(bio);
	return false;
}
#else
static inline bool blkfilter_submit_bio(struct bio *bio)
{
	return false;
}
#endif
#endif

#endif /* _LINUX_BLK_FILTER_H */
