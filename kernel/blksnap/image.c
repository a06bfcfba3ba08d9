// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot images: one block device per original device of a taken
 * snapshot, /dev/blksnap-image_MAJOR:MINOR after the original's device
 * number, readable and writable, and their I/O.
 *
 * A read whose data lies in one place, all of it on the original or all
 * of it in a storage that is a block device, is sent on there as it is,
 * from the image's submit_bio.  Other bios are served by work items, since
 * serving one may read the difference storage through the VFS and wait for
 * copy-on-write: reads stretch by stretch from where area.c says the
 * snapshot's data is, writes chunk by chunk to the storage once the chunk
 * is preserved.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
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
/* Clones for direct reads, with their struct bs_direct_read before. */
static struct bio_set bs_direct_set;

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
 * struct bs_direct_read - an image read sent on to a device as it is
 * @area: the image's area.
 * @parent: the image's bio.
 * @ext: where the data is.
 * @clone: the bio sent on; last, see bs_direct_set.
 */
struct bs_direct_read {
	struct bs_area *area;
	struct bio *parent;
	struct bs_extent ext;
	struct bio clone;
};

/* An image bio was served. */
static void bs_image_done(struct bs_area *area)
{
	if (atomic_dec_and_test(&area->image.inflight))
		wake_up_all(&area->image.idle);
}

static void bs_direct_endio(struct bio *clone)
{
	struct bs_direct_read *dr = container_of(clone, struct bs_direct_read,
						 clone);
	struct bs_area *area = dr->area;
	struct bio *parent = dr->parent;

	bs_area_read_done(area, &dr->ext);
	if (clone->bi_status && !parent->bi_status)
		parent->bi_status = clone->bi_status;
	bio_put(clone);
	bio_endio(parent);
	bs_image_done(area);
}

/*
 * Send a read on to the original or to the storage's block device if all
 * of its data is there, without waiting.  True if it was sent.
 */
static bool bs_image_read_direct(struct bs_area *area, struct bio *bio)
{
	struct block_device *st_bdev;
	struct bs_direct_read *dr;
	struct bio *clone;

	clone = bio_alloc_clone(area->bdev, bio, GFP_NOIO, &bs_direct_set);
	if (!clone)
		return false;
	dr = container_of(clone, struct bs_direct_read, clone);
	dr->area = area;
	dr->parent = bio;
	if (bs_area_read_map(area, bio->bi_iter.bi_sector, bio_sectors(bio),
			     &dr->ext, false))
		goto slow;
	if (dr->ext.sectors != bio_sectors(bio))
		goto slow_done;
	if (dr->ext.kind == BS_IN_STORAGE) {
		st_bdev = bs_storage_bdev(area->snap->storage);
		if (!st_bdev)
			goto slow_done;
		bio_set_dev(clone, st_bdev);
		clone->bi_iter.bi_sector = dr->ext.at;
	} else if (dr->ext.kind != BS_ON_ORIGINAL) {
		goto slow_done;
	}
	clone->bi_opf &= ~REQ_NOWAIT;
	clone->bi_end_io = bs_direct_endio;
	submit_bio_noacct(clone);
	return true;

slow_done:
	bs_area_read_done(area, &dr->ext);
slow:
	bio_put(clone);
	return false;
}

/* Read a stretch of the original into the bio, @skip sectors into it. */
static int bs_read_original(struct bs_area *area, struct bio *bio,
			    sector_t skip, sector_t pos, sector_t len)
{
	struct bio *clone;
	int ret;

	clone = bio_alloc_clone(area->bdev, bio, GFP_NOIO, &fs_bio_set);
	if (!clone)
		return -ENOMEM;
	bio_trim(clone, skip, len);
	clone->bi_iter.bi_sector = pos;
	clone->bi_opf = REQ_OP_READ;
	ret = submit_bio_wait(clone);
	bio_put(clone);
	return ret;
}

/* Read or write the next @len bytes of @iter at @at in the storage. */
static int bs_image_storage_rw(struct bs_area *area, sector_t at,
			       struct iov_iter *iter, size_t len)
{
	struct iov_iter part = *iter;
	int ret;

	iov_iter_truncate(&part, len);
	ret = bs_storage_rw(area->snap->storage, at, &part);
	if (!ret)
		iov_iter_advance(iter, len);
	return ret;
}

/* A read, stretch by stretch, each from where its data is. */
static int bs_image_read(struct bs_area *area, struct bio *bio,
			 struct iov_iter *iter)
{
	sector_t pos = bio->bi_iter.bi_sector, len = bio_sectors(bio);
	struct bs_extent ext;
	sector_t skip = 0;
	int ret;

	while (len) {
		ret = bs_area_read_map(area, pos, len, &ext, true);
		if (ret)
			return ret;
		switch (ext.kind) {
		case BS_ON_ORIGINAL:
			ret = bs_read_original(area, bio, skip, pos,
					       ext.sectors);
			if (!ret)
				iov_iter_advance(iter,
						 ext.sectors << SECTOR_SHIFT);
			break;
		case BS_IN_STORAGE:
			ret = bs_image_storage_rw(area, ext.at, iter,
						  ext.sectors << SECTOR_SHIFT);
			break;
		default:
			ret = bs_area_read_memory(&ext, iter);
			break;
		}
		bs_area_read_done(area, &ext);
		if (ret)
			return ret;
		skip += ext.sectors;
		pos += ext.sectors;
		len -= ext.sectors;
	}
	return 0;
}

/* A write, chunk by chunk, into the storage once the chunk is preserved. */
static int bs_image_write(struct bs_area *area, struct bio *bio,
			  struct iov_iter *iter)
{
	sector_t pos = bio->bi_iter.bi_sector, len = bio_sectors(bio);
	unsigned int shift = area->chunk_shift - SECTOR_SHIFT;
	int ret;

	while (len) {
		unsigned long c = pos >> shift;
		sector_t in_chunk = pos - ((sector_t)c << shift);
		sector_t n = min(len, (1ULL << shift) - in_chunk);
		sector_t at;

		ret = bs_area_preserve(area, c, &at);
		if (!ret)
			ret = bs_image_storage_rw(area, at + in_chunk, iter,
						  n << SECTOR_SHIFT);
		if (ret)
			return ret;
		pos += n;
		len -= n;
	}
	bs_area_mark_dirty(area, bio->bi_iter.bi_sector, bio_sectors(bio));
	return 0;
}

/* Serve a read or write within the image's capacity, not empty. */
static int bs_image_io(struct bs_area *area, struct bio *bio)
{
	bool write = bio_op(bio) == REQ_OP_WRITE;
	struct bio_vec *vecs, bv;
	struct bvec_iter bi;
	struct iov_iter iter;
	unsigned int nr = 0;
	int ret;

	vecs = kmalloc_array(bio_segments(bio), sizeof(*vecs), GFP_NOIO);
	if (!vecs)
		return -ENOMEM;
	bio_for_each_segment(bv, bio, bi)
		vecs[nr++] = bv;
	iov_iter_bvec(&iter, write ? ITER_SOURCE : ITER_DEST, vecs, nr,
		      bio->bi_iter.bi_size);
	if (write)
		ret = bs_image_write(area, bio, &iter);
	else
		ret = bs_image_read(area, bio, &iter);
	kfree(vecs);
	return ret;
}

static void bs_image_work(struct work_struct *work)
{
	struct bs_image_io *io = container_of(work, struct bs_image_io, work);
	struct bs_area *area = io->area;
	struct bio *bio = io->bio;
	unsigned int noio = memalloc_noio_save();
	int ret;

	kmem_cache_free(bs_image_io_cache, io);
	ret = bs_image_io(area, bio);
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
	if (bs_area_failed(area) || bio_end_sector(bio) > area->capacity) {
		bio_io_error(bio);
		return;
	}
	if (!bio_sectors(bio)) {
		bio_endio(bio);
		return;
	}
	atomic_inc(&area->image.inflight);
	if (bio_op(bio) == REQ_OP_READ && bs_image_read_direct(area, bio))
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
 * bs_image_init_area() - an area has no image yet
 * @area: a new area.
 */
void bs_image_init_area(struct bs_area *area)
{
	area->image.index = -1;
	atomic_set(&area->image.inflight, 0);
	init_waitqueue_head(&area->image.idle);
}

/**
 * bs_image_name() - the name of an area's image device
 * @area: the area.
 * @buf: where to put it; "" if the area has no image.
 * @size: size of @buf.
 *
 * Context: bs_mutex held.
 */
void bs_image_name(struct bs_area *area, char *buf, size_t size)
{
	lockdep_assert_held(&bs_mutex);
	if (area->image.disk)
		strscpy(buf, area->image.disk->disk_name, size);
	else if (size)
		buf[0] = 0;
}

/**
 * bs_image_create() - add the image device of an area
 * @area: the area of a snapshot just taken.
 *
 * Context: process, without bs_mutex; may sleep.
 * Return: 0 or a negative errno.
 */
int bs_image_create(struct bs_area *area)
{
	struct queue_limits lim = {
		.logical_block_size = bdev_logical_block_size(area->bdev),
		.physical_block_size = bdev_physical_block_size(area->bdev),
		.max_hw_sectors = BLK_DEF_MAX_SECTORS_CAP,
	};
	struct gendisk *disk;
	int index, ret;

	index = ida_alloc_max(&bs_image_ida, MINORMASK, GFP_KERNEL);
	if (index < 0)
		return index;
	disk = blk_alloc_disk(&lim, NUMA_NO_NODE);
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
	int ret;

	ret = bioset_init(&bs_direct_set, BIO_POOL_SIZE,
			  offsetof(struct bs_direct_read, clone), 0);
	if (ret)
		return ret;
	bs_image_io_cache = KMEM_CACHE(bs_image_io, 0);
	if (!bs_image_io_cache) {
		ret = -ENOMEM;
		goto out_bioset;
	}
	bs_image_major = register_blkdev(0, BLKSNAP_IMAGE_NAME);
	if (bs_image_major < 0) {
		ret = bs_image_major;
		goto out_cache;
	}
	return 0;

out_cache:
	kmem_cache_destroy(bs_image_io_cache);
out_bioset:
	bioset_exit(&bs_direct_set);
	return ret;
}

void bs_image_exit(void)
{
	unregister_blkdev(bs_image_major, BLKSNAP_IMAGE_NAME);
	kmem_cache_destroy(bs_image_io_cache);
	bioset_exit(&bs_direct_set);
	ida_destroy(&bs_image_ida);
}
