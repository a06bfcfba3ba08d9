// SPDX-License-Identifier: GPL-2.0
/*
 * blksnap: block device snapshots and change tracking.
 *
 * Module parameters, load and unload, and the control device
 * /dev/blksnap-control.  See blksnap.rst beside this file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "blksnap.h"

#define BS_VERSION_MAJOR	1
#define BS_VERSION_MINOR	0
#define BS_VERSION_REVISION	0

/*
 * 4 KiB tracking blocks: the size filesystems write in, so that a small
 * device's incremental backup copies no more than what changed.
 */
unsigned int tracking_block_minimum_shift = 12;
module_param(tracking_block_minimum_shift, uint, 0644);
MODULE_PARM_DESC(tracking_block_minimum_shift,
		 "Smallest change tracking block, log2 of bytes (default 12: 4 KiB)");

/* 64 MiB: beyond that a changed block costs too much to copy again. */
unsigned int tracking_block_maximum_shift = 26;
module_param(tracking_block_maximum_shift, uint, 0644);
MODULE_PARM_DESC(tracking_block_maximum_shift,
		 "Largest change tracking block, log2 of bytes (default 26: 64 MiB)");

/* Two maps of a byte per block: 4 MiB of memory per device at most. */
unsigned int tracking_block_maximum_count = 2097152;
module_param(tracking_block_maximum_count, uint, 0644);
MODULE_PARM_DESC(tracking_block_maximum_count,
		 "Most change tracking blocks per device (default 2097152)");

/* 4 KiB chunks: a small random write copies a small amount of old data. */
unsigned int chunk_minimum_shift = 12;
module_param(chunk_minimum_shift, uint, 0644);
MODULE_PARM_DESC(chunk_minimum_shift,
		 "Smallest copy-on-write chunk, log2 of bytes (default 12: 4 KiB)");

unsigned int chunk_maximum_shift = 26;
module_param(chunk_maximum_shift, uint, 0644);
MODULE_PARM_DESC(chunk_maximum_shift,
		 "Largest copy-on-write chunk, log2 of bytes (default 26: 64 MiB)");

/*
 * Chunk state exists only for chunks written since take, about 9 bytes
 * each (an xarray slot, in nodes of 64): 16M chunks keep a fully
 * overwritten device's map within 150 MiB.  Beside it, a bit per chunk of
 * the device from the add on (the write path's test for stored chunks):
 * 2 MiB at most.
 */
unsigned int chunk_maximum_count = 16777216;
module_param(chunk_maximum_count, uint, 0644);
MODULE_PARM_DESC(chunk_maximum_count,
		 "Most copy-on-write chunks per device (default 16777216)");

/*
 * The series' spelling of the same limit, as a power of two: a system
 * configured for the series' module keeps working.
 */
static int bs_set_count_shift(const char *val, const struct kernel_param *kp)
{
	unsigned int shift;
	int ret;

	ret = kstrtouint(val, 0, &shift);
	if (ret)
		return ret;
	if (shift > 31)
		return -EINVAL;
	WRITE_ONCE(chunk_maximum_count, 1U << shift);
	return 0;
}

static int bs_get_count_shift(char *buf, const struct kernel_param *kp)
{
	unsigned int count = max(READ_ONCE(chunk_maximum_count), 1U);

	return scnprintf(buf, PAGE_SIZE, "%u\n", ilog2(count));
}

static const struct kernel_param_ops bs_count_shift_ops = {
	.set = bs_set_count_shift,
	.get = bs_get_count_shift,
};
module_param_cb(chunk_maximum_count_shift, &bs_count_shift_ops, NULL, 0644);
MODULE_PARM_DESC(chunk_maximum_count_shift,
		 "chunk_maximum_count as a power of two, the series' name (default 24)");

/* 64 MiB of 4 KiB chunks waiting for the storage: enough to keep it busy. */
unsigned int chunk_maximum_in_queue = 16384;
module_param(chunk_maximum_in_queue, uint, 0644);
MODULE_PARM_DESC(chunk_maximum_in_queue,
		 "Most chunks of old data held in memory per snapshot before writers wait (default 16384)");

/*
 * Writes set up their copy-on-write in their submitter's context, which
 * saves a worker's hand-off before the read of old data; off, a worker
 * does it for every write.
 */
bool cow_inline = true;
module_param(cow_inline, bool, 0644);
MODULE_PARM_DESC(cow_inline,
		 "Set up copy-on-write in the writer's context, not a worker's (default Y)");

/*
 * A sequential writer's next writes find their old data read already: a
 * write that has to copy and starts where the last one ended has the
 * chunks of this many KiB after it read too.
 */
unsigned int cow_ahead_kib = 4096;
module_param(cow_ahead_kib, uint, 0644);
MODULE_PARM_DESC(cow_ahead_kib,
		 "Old data read ahead of a sequential writer, in KiB (default 4096, at most 65536, 0: none)");

/*
 * 8 MiB of pages kept: a burst of writes (eight 1 MiB writes in flight)
 * finds its buffers here, without the allocator, which clears every page
 * it hands out on kernels booted with init_on_alloc (Debian's default).
 */
unsigned int free_diff_buffer_pool_size = 2048;
module_param(free_diff_buffer_pool_size, uint, 0644);
MODULE_PARM_DESC(free_diff_buffer_pool_size,
		 "Pages of chunk buffers kept for reuse per snapshot (default 2048)");

/* 1 GiB: a few fallocate() calls per gigabyte of changes at most. */
unsigned long diff_storage_minimum = 2097152;
module_param(diff_storage_minimum, ulong, 0644);
MODULE_PARM_DESC(diff_storage_minimum,
		 "Portion by which a difference storage file grows, in sectors (default 2097152: 1 GiB)");

/* Snapshot membership and the list of snapshots: see blksnap.h. */
DEFINE_MUTEX(bs_mutex);
struct workqueue_struct *bs_wq;

static int bs_ioctl_version(void __user *argp)
{
	struct blksnap_version v = {
		.major = BS_VERSION_MAJOR,
		.minor = BS_VERSION_MINOR,
		.revision = BS_VERSION_REVISION,
	};

	return copy_to_user(argp, &v, sizeof(v)) ? -EFAULT : 0;
}

static int bs_ioctl_create(void __user *argp)
{
	struct blksnap_snapshot_create arg;
	int ret;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	ret = bs_snapshot_create(&arg);
	if (ret)
		return ret;
	/* The snapshot stays; destroy it with the id the caller did not get. */
	if (copy_to_user(argp, &arg, sizeof(arg))) {
		uuid_t id;

		import_uuid(&id, arg.id.b);
		bs_snapshot_destroy(&id);
		return -EFAULT;
	}
	return 0;
}

static int bs_ioctl_id(void __user *argp, int (*fn)(const uuid_t *id))
{
	struct blksnap_uuid arg;
	uuid_t id;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	import_uuid(&id, arg.b);
	return fn(&id);
}

static long bs_ctl_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case IOCTL_BLKSNAP_VERSION:
		return bs_ioctl_version(argp);
	case IOCTL_BLKSNAP_SNAPSHOT_CREATE:
		return bs_ioctl_create(argp);
	case IOCTL_BLKSNAP_SNAPSHOT_DESTROY:
		return bs_ioctl_id(argp, bs_snapshot_destroy);
	case IOCTL_BLKSNAP_SNAPSHOT_TAKE:
		return bs_ioctl_id(argp, bs_snapshot_take);
	case IOCTL_BLKSNAP_SNAPSHOT_COLLECT:
		return bs_snapshot_collect(argp);
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT:
		return bs_snapshot_wait_event(argp);
	}
	return -ENOTTY;
}

static const struct file_operations bs_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = bs_ctl_ioctl,
};

static struct miscdevice bs_ctl_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = BLKSNAP_CTL,
	.fops = &bs_ctl_fops,
	.mode = 0600,
};

static int __init bs_init(void)
{
	int ret;

	bs_wq = alloc_workqueue("blksnap", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!bs_wq)
		return -ENOMEM;
	ret = bs_image_init();
	if (ret)
		goto out_wq;
	ret = misc_register(&bs_ctl_dev);
	if (ret)
		goto out_image;
	ret = bs_tracker_init();
	if (ret)
		goto out_misc;
	pr_info("version %d.%d.%d ready\n", BS_VERSION_MAJOR,
		BS_VERSION_MINOR, BS_VERSION_REVISION);
	return 0;

out_misc:
	misc_deregister(&bs_ctl_dev);
out_image:
	bs_image_exit();
out_wq:
	destroy_workqueue(bs_wq);
	return ret;
}

static void __exit bs_exit(void)
{
	bs_tracker_exit();
	misc_deregister(&bs_ctl_dev);
	bs_image_exit();
	destroy_workqueue(bs_wq);
}

module_init(bs_init);
module_exit(bs_exit);
MODULE_DESCRIPTION("Block device snapshots and change tracking");
MODULE_LICENSE("GPL");
#ifndef BLKFILTER_IN_TREE
MODULE_SOFTDEP("pre: blkfilter");
#endif
