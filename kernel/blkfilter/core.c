// SPDX-License-Identifier: GPL-2.0
/*
 * Block device filtering: registry of filters, attach, detach and control.
 *
 * One filter may be attached to one block device (a disk or a partition).
 * Userspace manages filters with the BLKFILTER_* ioctls on the device; a
 * filter module cannot be unloaded while it is attached anywhere, and a
 * filter is detached when its device goes away.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/capability.h>
#include <linux/hashtable.h>
#include <linux/jump_label.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "blkfilter.h"
#include "compat.h"

DEFINE_SRCU(bf_srcu);

/* Registered filters. */
static LIST_HEAD(bf_filters);		/* protected by bf_filters_lock */
static DEFINE_SPINLOCK(bf_filters_lock);

/*
 * Serializes attach, detach and device removal, and protects the stores
 * to bf_attached and the list of devices being deleted.
 */
static DEFINE_MUTEX(bf_mutex);
static LIST_HEAD(bf_dying_list);	/* protected by bf_mutex */

/*
 * Attached filters by device number.  Every bio of every device is looked
 * up here while some filter is attached, hence a hash table: a bucket or
 * two to read, where a tree of device numbers has a level per 6 bits.
 * Written under bf_mutex; read under bf_srcu (the I/O path), RCU (sysfs) or
 * bf_mutex.  An attachment is freed after an SRCU grace period and then an
 * RCU one from its removal (bf_put()).
 */
#define BF_HASH_BITS 6
static DEFINE_HASHTABLE(bf_attached, BF_HASH_BITS);

/**
 * bf_lookup() - the attachment of a device
 * @dev: the device number.
 *
 * Context: under bf_srcu, rcu_read_lock() or bf_mutex.
 * Return: the attachment, dead or not, or NULL.
 */
static struct bf_attachment *bf_lookup(dev_t dev)
{
	struct bf_attachment *att;

	hash_for_each_possible_rcu(bf_attached, att, node, dev,
				   lockdep_is_held(&bf_mutex) ||
				   srcu_read_lock_held(&bf_srcu))
		if (att->dev == dev)
			return att;
	return NULL;
}

/**
 * bf_lookup_live() - the attachment that a bio of a device goes to
 * @dev: the device number.
 *
 * An attachment being detached is skipped: detach marks it dead, waits for
 * the SRCU read sections that may not have seen that, and only then takes
 * it out of the table.  One that is not dead stays valid as long as the
 * caller's SRCU read section; and any found stays allocated that long.
 *
 * Context: under bf_srcu.
 * Return: the attachment, or NULL.
 */
static struct bf_attachment *bf_lookup_live(dev_t dev)
{
	struct bf_attachment *att = bf_lookup(dev);

	if (att && READ_ONCE(att->dead))
		return NULL;
	return att;
}

/*
 * Bios that a filter submitted to its own device from its submit_bio
 * callback, on their way through the submitter's bio list; they go past
 * the filter once.  A handful at a time at most, hence a small array.
 * A slot keeps the device too: detach forgets the bios of its device that
 * are still on some list, by number, since such a bio may be gone by then.
 */
#define BF_BYPASS_SLOTS 64
static struct bf_bypass_slot {
	struct bio *bio;
	dev_t dev;
} bf_bypass[BF_BYPASS_SLOTS];			/* bf_bypass_lock */
static unsigned int bf_bypass_count;		/* bf_bypass_lock */
static DEFINE_SPINLOCK(bf_bypass_lock);

static void bf_bypass_add(struct bio *bio, dev_t dev)
{
	unsigned long flags;
	int i;

	spin_lock_irqsave(&bf_bypass_lock, flags);
	for (i = 0; i < BF_BYPASS_SLOTS; i++) {
		if (!bf_bypass[i].bio) {
			bf_bypass[i].bio = bio;
			bf_bypass[i].dev = dev;
			WRITE_ONCE(bf_bypass_count, bf_bypass_count + 1);
			break;
		}
	}
	spin_unlock_irqrestore(&bf_bypass_lock, flags);
	if (i == BF_BYPASS_SLOTS)
		pr_warn_ratelimited("too many bios of filters in flight; one is filtered again\n");
}

static bool bf_bypass_take(struct bio *bio, dev_t dev)
{
	unsigned long flags;
	bool found = false;
	int i;

	if (!READ_ONCE(bf_bypass_count))
		return false;
	spin_lock_irqsave(&bf_bypass_lock, flags);
	for (i = 0; i < BF_BYPASS_SLOTS; i++) {
		if (bf_bypass[i].bio == bio && bf_bypass[i].dev == dev) {
			bf_bypass[i].bio = NULL;
			WRITE_ONCE(bf_bypass_count, bf_bypass_count - 1);
			found = true;
			break;
		}
	}
	spin_unlock_irqrestore(&bf_bypass_lock, flags);
	return found;
}

/*
 * Once no callback of the filter of @dev runs any more: a bio it left in
 * the table and that was then submitted past the detached filter would
 * stay there, and a later bio at the same address, to a new filter on the
 * device, would skip it.
 */
static void bf_bypass_forget(dev_t dev)
{
	unsigned long flags;
	int i;

	spin_lock_irqsave(&bf_bypass_lock, flags);
	for (i = 0; i < BF_BYPASS_SLOTS; i++) {
		if (bf_bypass[i].bio && bf_bypass[i].dev == dev) {
			bf_bypass[i].bio = NULL;
			WRITE_ONCE(bf_bypass_count, bf_bypass_count - 1);
		}
	}
	spin_unlock_irqrestore(&bf_bypass_lock, flags);
}

/*
 * The body of bf_filter_bio(), for the attachment found.  Not inlined: the
 * lookup for a device without a filter then needs no registers saved.
 */
static noinline bool __bf_filter_bio(struct bf_attachment *att,
				     struct bio *bio)
{
	struct bio_list *list = current->bio_list;
	struct bio *tail, *new;
	bool taken;

	if (bf_bypass_take(bio, att->dev))
		return false;

	tail = list ? list[0].tail : NULL;
	taken = att->ops->submit_bio(bio);
	if (!list)
		return taken;
	/* What the callback submitted was appended to the same list. */
	for (new = tail ? tail->bi_next : list[0].head; new; new = new->bi_next)
		if (new->bi_bdev == att->bdev)
			bf_bypass_add(new, att->dev);
	return taken;
}

/**
 * bf_filter_bio() - pass a bio to the filter of its device, if it has one
 * @bio: the bio.
 *
 * One function for the lookup and the call, which run for every bio of
 * every device while a filter is attached anywhere.
 *
 * Context: the submitter's, inside its bio list loop, under bf_srcu.
 * Return: true if a filter took the bio.
 */
bool bf_filter_bio(struct bio *bio)
{
	struct bf_attachment *att = bf_lookup_live(bio->bi_bdev->bd_dev);

	return att && __bf_filter_bio(att, bio);
}

static struct blkfilter_operations *bf_find(const char *name)
{
	struct blkfilter_operations *ops;

	list_for_each_entry(ops, &bf_filters, link)
		if (!strncmp(ops->name, name, BLKFILTER_NAME_LENGTH))
			return ops;
	return NULL;
}

static struct blkfilter_operations *bf_find_get(const char *name)
{
	struct blkfilter_operations *ops;

	spin_lock(&bf_filters_lock);
	ops = bf_find(name);
	if (ops && !try_module_get(ops->owner))
		ops = NULL;
	spin_unlock(&bf_filters_lock);
	return ops;
}

static bool __bf_dying(struct block_device *bdev)
{
	struct blkfilter_dying *dying;

	list_for_each_entry(dying, &bf_dying_list, link)
		if (dying->disk == bdev->bd_disk || dying->part == bdev)
			return true;
	return false;
}

/* Caller holds bf_mutex: the answer holds until it is dropped. */
static bool __bf_bdev_live(struct block_device *bdev)
{
	struct gendisk *disk = bdev->bd_disk;

	if (test_bit(GD_DEAD, &disk->state) || !disk_live(disk))
		return false;
	if (bdev_is_partition(bdev) && !device_is_registered(&bdev->bd_device))
		return false;
	return !__bf_dying(bdev);
}

static ssize_t filter_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct block_device *bdev = dev_to_bdev(dev);
	struct bf_attachment *att;
	ssize_t ret;

	rcu_read_lock();
	att = bf_lookup(bdev->bd_dev);
	if (att && att->bdev == bdev && !READ_ONCE(att->dead))
		ret = sysfs_emit(buf, "%s\n", att->name);
	else
		ret = sysfs_emit(buf, "\n");
	rcu_read_unlock();
	return ret;
}

struct device_attribute blkfilter_attr_filter = __ATTR_RO(filter);

/* The I/O path's readers are gone; sysfs's may still be there. */
static void bf_free_srcu(struct rcu_head *head)
{
	kfree_rcu(container_of(head, struct bf_attachment, rcu), rcu);
}

static void bf_put(struct bf_attachment *att)
{
	unsigned int noio;

	if (!refcount_dec_and_test(&att->ref))
		return;
	noio = memalloc_noio_save();
	att->ops->detach(att->flt);
	memalloc_noio_restore(noio);
	module_put(att->ops->owner);
	put_device(&att->bdev->bd_device);
	call_srcu(&bf_srcu, &att->rcu, bf_free_srcu);
}

/*
 * Caller holds bf_mutex.  After this no bio reaches the filter and no
 * submit_bio callback runs; the attachment lives on while ctl uses it.
 * The entry stays in bf_attached until the callbacks already running are
 * done, so that bdev_filter() keeps answering them.
 */
static void __bf_unpublish(struct bf_attachment *att)
{
	WRITE_ONCE(att->dead, true);
	synchronize_srcu(&bf_srcu);
	bf_bypass_forget(att->dev);
	hash_del_rcu(&att->node);
	bf_bdev_set_filter(att->bdev, NULL);
	bf_submit_hook_put();
}

/* Wait until every bio that entered the device's queue has completed. */
static void bf_drain_queue(struct block_device *bdev)
{
	blk_mq_freeze_queue(bdev_get_queue(bdev));
	blk_mq_unfreeze_queue(bdev_get_queue(bdev));
}

static int bf_attach(struct block_device *bdev, const char *name)
{
	struct request_queue *q = bdev_get_queue(bdev);
	struct blkfilter_operations *ops;
	struct bf_attachment *att;
	struct blkfilter *flt;
	unsigned int noio;
	int ret;

	ops = bf_find_get(name);
	if (!ops)
		return -ENOENT;

	mutex_lock(&bf_mutex);
	if (!__bf_bdev_live(bdev)) {
		ret = -ENODEV;
		goto out_unlock;
	}
	att = bf_lookup(bdev->bd_dev);
	if (att) {
		ret = att->ops == ops ? -EALREADY : -EBUSY;
		goto out_unlock;
	}
	att = kzalloc(sizeof(*att), GFP_KERNEL);
	if (!att) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	ret = bf_submit_hook_get();
	if (ret)
		goto out_free;
	ret = bdev_freeze(bdev);
	if (ret)
		goto out_hook_put;

	/* The filter starts on a device with nothing in flight. */
	blk_mq_freeze_queue(q);
	noio = memalloc_noio_save();
	flt = ops->attach(bdev);
	memalloc_noio_restore(noio);
	if (IS_ERR(flt)) {
		ret = PTR_ERR(flt);
		blk_mq_unfreeze_queue(q);
		goto out_thaw;
	}
	flt->ops = ops;
	att->dev = bdev->bd_dev;
	att->bdev = bdev;
	att->flt = flt;
	att->ops = ops;
	strscpy(att->name, ops->name, sizeof(att->name));
	refcount_set(&att->ref, 1);
	get_device(&bdev->bd_device);
	hash_add_rcu(bf_attached, &att->node, att->dev);
	/* Where the block layer reads it: inside the frozen usage section. */
	bf_bdev_set_filter(bdev, flt);
	blk_mq_unfreeze_queue(q);

	/*
	 * Bios that were past the lookup when the filter appeared are now in
	 * the driver; once they complete, the filter sees all that follows.
	 */
	synchronize_srcu(&bf_srcu);
	bf_drain_queue(bdev);
	bdev_thaw(bdev);
	mutex_unlock(&bf_mutex);
	return 0;

out_thaw:
	bdev_thaw(bdev);
out_hook_put:
	bf_submit_hook_put();
out_free:
	kfree(att);
out_unlock:
	mutex_unlock(&bf_mutex);
	module_put(ops->owner);
	return ret;
}

static int bf_detach(struct block_device *bdev, const char *name)
{
	struct bf_attachment *att;
	int ret = 0;

	mutex_lock(&bf_mutex);
	if (!__bf_bdev_live(bdev)) {
		ret = -ENODEV;
		goto out_unlock;
	}
	att = bf_lookup(bdev->bd_dev);
	if (!att) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (strncmp(att->name, name, BLKFILTER_NAME_LENGTH)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	__bf_unpublish(att);
	/* Bios the filter let through complete before it goes. */
	bf_drain_queue(bdev);
	mutex_unlock(&bf_mutex);
	bf_put(att);
	return 0;

out_unlock:
	mutex_unlock(&bf_mutex);
	return ret;
}

static int bf_ctl(struct block_device *bdev, struct blkfilter_ctl __user *argp)
{
	struct blkfilter_ctl ctl;
	struct bf_attachment *att;
	__u32 len;
	int ret;

	if (copy_from_user(&ctl, argp, sizeof(ctl)))
		return -EFAULT;

	mutex_lock(&bf_mutex);
	if (!__bf_bdev_live(bdev)) {
		mutex_unlock(&bf_mutex);
		return -ENODEV;
	}
	att = bf_lookup(bdev->bd_dev);
	if (!att || strncmp(att->name, ctl.name, BLKFILTER_NAME_LENGTH)) {
		mutex_unlock(&bf_mutex);
		return -ENOENT;
	}
	if (!att->ops->ctl) {
		mutex_unlock(&bf_mutex);
		return -ENOTTY;
	}
	refcount_inc(&att->ref);
	mutex_unlock(&bf_mutex);

	/* No lock held: the filter may open devices or wait for I/O. */
	len = ctl.optlen;
	ret = att->ops->ctl(att->flt, ctl.cmd, u64_to_user_ptr(ctl.opt), &len);
	if (ret >= 0 && len != ctl.optlen &&
	    put_user(len, &argp->optlen))
		ret = -EFAULT;
	bf_put(att);
	return ret;
}

/**
 * blkfilter_ioctl() - serve a BLKFILTER_* ioctl
 * @bdev: the device the ioctl was issued on.
 * @cmd: BLKFILTER_ATTACH, BLKFILTER_DETACH or BLKFILTER_CTL.
 * @argp: the user's argument.
 *
 * Context: process; may sleep.
 * Return: 0, what the filter's ctl returned, or a negative errno.
 */
long blkfilter_ioctl(struct block_device *bdev, unsigned int cmd,
		     void __user *argp)
{
	struct blkfilter_name name;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case BLKFILTER_ATTACH:
		if (copy_from_user(&name, argp, sizeof(name)))
			return -EFAULT;
		return bf_attach(bdev, name.name);
	case BLKFILTER_DETACH:
		if (copy_from_user(&name, argp, sizeof(name)))
			return -EFAULT;
		return bf_detach(bdev, name.name);
	case BLKFILTER_CTL:
		return bf_ctl(bdev, argp);
	}
	return -ENOTTY;
}

/**
 * blkfilter_device_going() - a disk or partition is about to be deleted
 * @dying: what is deleted; stays linked until blkfilter_device_gone().
 *
 * Detaches the filters of the device (for a disk, of its partitions too)
 * and keeps new ones off it.  The disk may be dead already, so nothing here
 * waits for the device's I/O.
 *
 * Context: process; for a partition, with the disk's open_mutex held.
 */
void blkfilter_device_going(struct blkfilter_dying *dying)
{
	struct bf_attachment *att;
	struct hlist_node *next;
	unsigned int bkt;

	mutex_lock(&bf_mutex);
	list_add(&dying->link, &bf_dying_list);
	hash_for_each_safe(bf_attached, bkt, next, att, node) {
		if (att->bdev == dying->part ||
		    (dying->disk && att->bdev->bd_disk == dying->disk)) {
			pr_info("%s: detached from %pg, which is going away\n",
				att->name, att->bdev);
			__bf_unpublish(att);
			bf_put(att);
		}
	}
	mutex_unlock(&bf_mutex);
}

/**
 * blkfilter_device_gone() - the announced deletion is done
 * @dying: as passed to blkfilter_device_going().
 */
void blkfilter_device_gone(struct blkfilter_dying *dying)
{
	mutex_lock(&bf_mutex);
	list_del(&dying->link);
	mutex_unlock(&bf_mutex);
}

/**
 * bdev_filter() - the filter attached to a block device
 * @bdev: the device.
 *
 * The result is stable
 * inside the filter's own submit_bio callback for a bio of @bdev, which is
 * where it is meant to be called: detach keeps the filter findable until
 * the callbacks running have returned.
 *
 * Context: a submit_bio callback of a filter (under bf_srcu).
 * Return: the filter, or NULL if none is attached.
 */
struct blkfilter *bdev_filter(struct block_device *bdev)
{
	struct bf_attachment *att = bf_lookup(bdev->bd_dev);

	return att && att->bdev == bdev ? att->flt : NULL;
}
EXPORT_SYMBOL_GPL(bdev_filter);

/**
 * blkfilter_sync() - wait for the bios a filter let pass
 * @bdev: a device with a filter attached.
 *
 * Waits until the submit_bio callbacks running on any device have
 * returned and every bio that entered the queue of @bdev's disk before has
 * completed.  A filter that changes how it treats bios (a snapshot taken,
 * say) calls this to know that no bio treated the old way is still on its
 * way to the device.
 *
 * Context: process; may sleep.  Not from a submit_bio callback.
 */
void blkfilter_sync(struct block_device *bdev)
{
	/*
	 * Callers hold writers back (blksnap's take, with filesystems
	 * frozen): wait for the callbacks only, not for a batched grace
	 * period.
	 */
	synchronize_srcu_expedited(&bf_srcu);
	bf_drain_queue(bdev);
}
EXPORT_SYMBOL_GPL(blkfilter_sync);

/**
 * blkfilter_sync_prepare() - start the slow part of blkfilter_sync() early
 * @bdev: a device with a filter attached.
 *
 * Besides the bios, blkfilter_sync() waits for an RCU grace period: the
 * usage counter of the device's queue is a per-CPU one, and has to become
 * a single counter before it can be seen to drop to zero.  This starts
 * that change and returns at once, so that the grace period passes while
 * the caller gets ready (freezes filesystems, say) rather than while it
 * holds writes back.  The counter stays single, a little slower to take,
 * until blkfilter_sync_done().  Calls do not nest: the first
 * blkfilter_sync_done() on a queue ends them all (the partitions of a disk
 * share its queue), and a blkfilter_sync() after it waits for a grace
 * period again.
 *
 * Context: process; may sleep.
 */
void blkfilter_sync_prepare(struct block_device *bdev)
{
	percpu_ref_switch_to_atomic(&bdev_get_queue(bdev)->q_usage_counter,
				    NULL);
}
EXPORT_SYMBOL_GPL(blkfilter_sync_prepare);

/**
 * blkfilter_sync_done() - end what blkfilter_sync_prepare() started
 * @bdev: the device given to blkfilter_sync_prepare().
 *
 * The usage counter of the device's queue is a per-CPU one again (once
 * the queue is not frozen, if it is).
 *
 * Context: process; may sleep.
 */
void blkfilter_sync_done(struct block_device *bdev)
{
	percpu_ref_switch_to_percpu(&bdev_get_queue(bdev)->q_usage_counter);
}
EXPORT_SYMBOL_GPL(blkfilter_sync_done);

/**
 * blkfilter_register() - make a filter available for attaching
 * @ops: the filter's operations; must stay valid until unregistered.
 *
 * Return: 0 on success, -EINVAL if @ops is incomplete or its name empty or
 * too long, -EBUSY if a filter of the same name is registered.
 */
int blkfilter_register(struct blkfilter_operations *ops)
{
	size_t len;
	int ret = 0;

	if (!ops || !ops->name || !ops->attach || !ops->detach ||
	    !ops->submit_bio)
		return -EINVAL;
	len = strnlen(ops->name, BLKFILTER_NAME_LENGTH);
	if (!len || len == BLKFILTER_NAME_LENGTH)
		return -EINVAL;

	spin_lock(&bf_filters_lock);
	if (bf_find(ops->name))
		ret = -EBUSY;
	else
		list_add_tail(&ops->link, &bf_filters);
	spin_unlock(&bf_filters_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(blkfilter_register);

/**
 * blkfilter_unregister() - withdraw a filter
 * @ops: as given to blkfilter_register().
 *
 * Called from the filter module's exit.  Attached filters hold a reference
 * on their module, so none of @ops can be attached by then.
 */
void blkfilter_unregister(struct blkfilter_operations *ops)
{
	spin_lock(&bf_filters_lock);
	list_del(&ops->link);
	spin_unlock(&bf_filters_lock);
}
EXPORT_SYMBOL_GPL(blkfilter_unregister);
