// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot images: one block device per original device of a taken
 * snapshot, /dev/blksnap-image_MAJOR:MINOR after the original's device
 * number, readable and writable.  Their bios are
 * served by work items, since serving one may read the difference storage
 * through the VFS and wait for copy-on-write.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "blksnap.h"
#include "compat.h"

static int bs_image_major;
static DEFINE_IDA(bs_image_ida);
static struct kmem_cache *bs_image_io_cache;

/**
 * struct bs_image_io - a bio of an image on its way to the work queue
 * @work: serves it.
 * @area: the image's area.
 * @bio: the bio.
 */
struct bs_image_io {
	struct work_struct work;
	struct bs_area *area;
	struct bio *bio;
};

/**
 * bs_image_done() - an image bio was served
 * @area: the image's area.
 *
 * Context: any.
 */
void bs_image_done(struct bs_area *area)
{
	if (atomic_dec_and_test(&area->image.inflight))
		wake_up_all(&area->image.idle);
}

static void bs_image_work(struct work_struct *work)
{
	struct bs_image_io *io = container_of(work, struct bs_image_io, work);
	struct bs_area *area = io->area;
	struct bio *bio = io->bio;
	unsigned int noio = memalloc_noio_save();
	int ret;

	kmem_cache_free(bs_image_io_cache, io);
	ret = bs_area_image_io(area, bio);
	memalloc_noio_restore(noio);
	if (ret) {
		pr_err_ratelimited("%s: I/O error at sector %llu: %d\n",
				   bio->bi_bdev->bd_disk->disk_name,
				   (unsigned long long)bio->bi_iter.bi_sector,
				   ret);
		bio->bi_status = errno_to_blk_status(ret == -EIO ? ret : -EIO);
	}
	bio_endio(bio);
	bs_image_done(area);
}

static void bs_image_submit_bio(struct bio *bio)
{
	struct bs_area *area = bio->bi_bdev->bd_disk->private_data;
	struct bs_image_io *io;

	switch (bio_op(bio)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		break;
	case REQ_OP_FLUSH:
		bio_endio(bio);
		return;
	default:
		bio->bi_status = BLK_STS_NOTSUPP;
		bio_endio(bio);
		return;
	}
	if (READ_ONCE(area->error)) {
		bio_io_error(bio);
		return;
	}
	atomic_inc(&area->image.inflight);
	if (bio_op(bio) == REQ_OP_READ && bs_area_image_read_direct(area, bio))
		return;
	io = kmem_cache_alloc(bs_image_io_cache, GFP_NOIO);
	if (!io) {
		bio->bi_status = BLK_STS_RESOURCE;
		bio_endio(bio);
		bs_image_done(area);
		return;
	}
	INIT_WORK(&io->work, bs_image_work);
	io->area = area;
	io->bio = bio;
	queue_work(bs_wq, &io->work);
}

static const struct block_device_operations bs_image_fops = {
	.owner = THIS_MODULE,
	.submit_bio = bs_image_submit_bio,
};

/**
 * bs_image_create() - add the image device of an area
 * @area: the area of a snapshot just taken.
 *
 * Context: process, without bs_mutex; may sleep.
 * Return: 0 or a negative errno.
 */
int bs_image_create(struct bs_area *area)
{
	unsigned int lbs = bdev_logical_block_size(area->bdev);
	unsigned int pbs = bdev_physical_block_size(area->bdev);
	struct gendisk *disk;
	int index, ret;

	index = ida_alloc_max(&bs_image_ida, MINORMASK, GFP_KERNEL);
	if (index < 0)
		return index;
#ifdef HAVE_BLK_ALLOC_DISK_LIM
	{
		struct queue_limits lim = {
			.logical_block_size = lbs,
			.physical_block_size = pbs,
			.max_hw_sectors = BLK_DEF_MAX_SECTORS_CAP,
		};

		disk = blk_alloc_disk(&lim, NUMA_NO_NODE);
	}
#else
	disk = blk_alloc_disk(NUMA_NO_NODE);
	if (disk) {
		blk_queue_logical_block_size(disk->queue, lbs);
		blk_queue_physical_block_size(disk->queue, pbs);
		blk_queue_max_hw_sectors(disk->queue, BLK_DEF_MAX_SECTORS);
	} else {
		disk = ERR_PTR(-ENOMEM);
	}
#endif
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_ida;
	}
	disk->major = bs_image_major;
	disk->first_minor = index;
	disk->minors = 1;
	disk->flags |= GENHD_FL_NO_PART;
	disk->fops = &bs_image_fops;
	disk->private_data = area;
	/* The series' name: the original's device number, not the index. */
	snprintf(disk->disk_name, sizeof(disk->disk_name), "%s_%u:%u",
		 BLKSNAP_IMAGE_NAME, MAJOR(area->dev), MINOR(area->dev));
	set_capacity(disk, area->capacity);
	ret = add_disk(disk);
	if (ret)
		goto out_put;
	area->image.disk = disk;
	area->image.index = index;
	return 0;

out_put:
	put_disk(disk);
out_ida:
	ida_free(&bs_image_ida, index);
	return ret;
}

/**
 * bs_image_destroy() - remove the image device of an area
 * @area: the area.
 *
 * Waits until the image serves no bio any more.  Openers of the image keep
 * a dead disk whose I/O fails.
 *
 * Context: process, without bs_mutex; may sleep.
 */
void bs_image_destroy(struct bs_area *area)
{
	struct gendisk *disk = area->image.disk;

	if (!disk)
		return;
	del_gendisk(disk);
	wait_event(area->image.idle, !atomic_read(&area->image.inflight));
	mutex_lock(&bs_mutex);
	area->image.disk = NULL;
	mutex_unlock(&bs_mutex);
	put_disk(disk);
	ida_free(&bs_image_ida, area->image.index);
	area->image.index = -1;
}

int bs_image_init(void)
{
	bs_image_io_cache = KMEM_CACHE(bs_image_io, 0);
	if (!bs_image_io_cache)
		return -ENOMEM;
	bs_image_major = register_blkdev(0, BLKSNAP_IMAGE_NAME);
	if (bs_image_major < 0) {
		kmem_cache_destroy(bs_image_io_cache);
		return bs_image_major;
	}
	return 0;
}

void bs_image_exit(void)
{
	unregister_blkdev(bs_image_major, BLKSNAP_IMAGE_NAME);
	kmem_cache_destroy(bs_image_io_cache);
	ida_destroy(&bs_image_ida);
}
