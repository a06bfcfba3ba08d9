// SPDX-License-Identifier: GPL-2.0
/*
 * bftest - a block device filter that exercises every callback of the
 * filtering framework, for the tests: it counts bios by direction, can be
 * told to take writes and complete or fail them, and can submit I/O of its
 * own from its submit_bio callback.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/blk-filter.h>
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "bftest.h"

/* Indexes of &struct bftest.stats, in the order of &struct bftest_stats. */
enum {
	S_READS, S_WRITES, S_OTHERS, S_READ_SECT, S_WRITE_SECT, S_LAST_WRITE,
	S_MAX_END, S_OUTSIDE, S_SKIPPED, S_FAILED, S_OWN_SUBMITTED, S_OWN_SEEN,
	S_NR
};

/**
 * struct bftest - the filter of one device
 * @flt: what the framework knows of us.
 * @bdev: the filtered device.
 * @stats: the counters, as in &struct bftest_stats.
 * @mode: the &enum bftest_mode.
 * @own_pending: own reads still to submit.
 * @own_inflight: own reads not yet completed; detach waits for them.
 * @own_wait: woken when @own_inflight drops to zero.
 * @null: always NULL, for BFTEST_CMD_OOPS.
 */
struct bftest {
	struct blkfilter flt;
	struct block_device *bdev;
	atomic64_t stats[S_NR];
	atomic_t mode;
	atomic_t own_pending;
	atomic_t own_inflight;
	wait_queue_head_t own_wait;
	int *null;
};

static int attached;
module_param(attached, int, 0444);
MODULE_PARM_DESC(attached, "Number of devices the filter is attached to");
static DEFINE_MUTEX(bftest_lock);	/* protects attached */

static void bftest_own_end_io(struct bio *bio)
{
	struct bftest *tf = bio->bi_private;

	__free_page(bio_first_page_all(bio));
	bio_put(bio);
	if (atomic_dec_and_test(&tf->own_inflight))
		wake_up(&tf->own_wait);
}

static void bftest_submit_own(struct bftest *tf)
{
	struct page *page = alloc_page(GFP_NOIO);
	struct bio *bio;

	if (!page)
		return;
	bio = bio_alloc(tf->bdev, 1, REQ_OP_READ, GFP_NOIO);
	__bio_add_page(bio, page, PAGE_SIZE, 0);
	bio->bi_iter.bi_sector = 0;
	bio->bi_private = tf;
	bio->bi_end_io = bftest_own_end_io;
	atomic_inc(&tf->own_inflight);
	atomic64_inc(&tf->stats[S_OWN_SUBMITTED]);
	submit_bio(bio);
}

static bool bftest_submit_bio(struct bio *bio)
{
	struct block_device *bdev = bio->bi_bdev;
	struct bftest *tf = container_of(bdev_filter(bdev), struct bftest, flt);
	sector_t sector = bio->bi_iter.bi_sector;
	sector_t nr = bio_sectors(bio);
	int mode;

	if (bio->bi_end_io == bftest_own_end_io) {
		atomic64_inc(&tf->stats[S_OWN_SEEN]);
		return false;
	}
	if (bio_flagged(bio, BIO_REMAPPED))
		sector -= bdev->bd_start_sect;
	if (nr && sector + nr > bdev_nr_sectors(bdev))
		atomic64_inc(&tf->stats[S_OUTSIDE]);

	if (!op_is_write(bio_op(bio))) {
		if (bio_op(bio) == REQ_OP_READ) {
			atomic64_inc(&tf->stats[S_READS]);
			atomic64_add(nr, &tf->stats[S_READ_SECT]);
		} else {
			atomic64_inc(&tf->stats[S_OTHERS]);
		}
		return false;
	}

	atomic64_inc(&tf->stats[S_WRITES]);
	atomic64_add(nr, &tf->stats[S_WRITE_SECT]);
	atomic64_set(&tf->stats[S_LAST_WRITE], sector);
	if (sector + nr > atomic64_read(&tf->stats[S_MAX_END]))
		atomic64_set(&tf->stats[S_MAX_END], sector + nr);
	if (atomic_add_unless(&tf->own_pending, -1, 0))
		bftest_submit_own(tf);

	mode = atomic_read(&tf->mode);
	if (mode == BFTEST_SKIP_WRITES) {
		atomic64_inc(&tf->stats[S_SKIPPED]);
		bio_endio(bio);
		return true;
	}
	if (mode == BFTEST_FAIL_WRITES) {
		atomic64_inc(&tf->stats[S_FAILED]);
		bio_io_error(bio);
		return true;
	}
	return false;
}

static struct blkfilter *bftest_attach(struct block_device *bdev)
{
	struct bftest *tf;

	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return ERR_PTR(-ENOMEM);
	tf->bdev = bdev;
	init_waitqueue_head(&tf->own_wait);
	mutex_lock(&bftest_lock);
	attached++;
	mutex_unlock(&bftest_lock);
	return &tf->flt;
}

static void bftest_detach(struct blkfilter *flt)
{
	struct bftest *tf = container_of(flt, struct bftest, flt);

	wait_event(tf->own_wait, !atomic_read(&tf->own_inflight));
	mutex_lock(&bftest_lock);
	attached--;
	mutex_unlock(&bftest_lock);
	kfree(tf);
}

static int bftest_ctl(struct blkfilter *flt, const unsigned int cmd,
		      __u8 __user *buf, __u32 *plen)
{
	struct bftest *tf = container_of(flt, struct bftest, flt);
	struct bftest_stats st = {};
	u32 val;
	int i;

	switch (cmd) {
	case BFTEST_CMD_STATS:
		if (*plen < sizeof(st))
			return -EINVAL;
		/* The counters are the first fields, in the order of S_*. */
		BUILD_BUG_ON(offsetof(struct bftest_stats, own_seen) !=
			     S_OWN_SEEN * sizeof(__u64));
		for (i = 0; i < ARRAY_SIZE(tf->stats); i++)
			((__u64 *)&st)[i] = atomic64_read(&tf->stats[i]);
		st.mode = atomic_read(&tf->mode);
		if (copy_to_user(buf, &st, sizeof(st)))
			return -EFAULT;
		*plen = sizeof(st);
		return 0;
	case BFTEST_CMD_MODE:
	case BFTEST_CMD_OWN_IO:
		if (*plen < sizeof(val))
			return -EINVAL;
		if (copy_from_user(&val, buf, sizeof(val)))
			return -EFAULT;
		if (cmd == BFTEST_CMD_OWN_IO) {
			atomic_set(&tf->own_pending, val);
			return 0;
		}
		if (val > BFTEST_FAIL_WRITES)
			return -EINVAL;
		atomic_set(&tf->mode, val);
		return 0;
	case BFTEST_CMD_OOPS:
		pr_warn("oops on request\n");
		return READ_ONCE(*READ_ONCE(tf->null));
	case BFTEST_CMD_RESET:
		for (i = 0; i < ARRAY_SIZE(tf->stats); i++)
			atomic64_set(&tf->stats[i], 0);
		return 0;
	}
	return -EINVAL;
}

static struct blkfilter_operations bftest_ops = {
	.owner = THIS_MODULE,
	.name = BFTEST_NAME,
	.attach = bftest_attach,
	.detach = bftest_detach,
	.ctl = bftest_ctl,
	.submit_bio = bftest_submit_bio,
};

/* A second filter with the same callbacks but no ctl. */
static struct blkfilter_operations bftest_alt_ops = {
	.owner = THIS_MODULE,
	.name = BFTEST_ALT_NAME,
	.attach = bftest_attach,
	.detach = bftest_detach,
	.submit_bio = bftest_submit_bio,
};

static int __init bftest_init(void)
{
	int ret = blkfilter_register(&bftest_ops);

	if (ret)
		return ret;
	ret = blkfilter_register(&bftest_alt_ops);
	if (ret)
		blkfilter_unregister(&bftest_ops);
	return ret;
}

static void __exit bftest_exit(void)
{
	blkfilter_unregister(&bftest_alt_ops);
	blkfilter_unregister(&bftest_ops);
}

module_init(bftest_init);
module_exit(bftest_exit);
MODULE_DESCRIPTION("Block device filter for testing blkfilter");
MODULE_LICENSE("GPL");
