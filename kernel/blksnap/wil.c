// SPDX-License-Identifier: GPL-2.0
/*
 * The write-intent log of a change tracker, an extension for crash safety.
 *
 * The device is cut into regions (64 MiB by default), one bit each.  Before
 * the first write into a region since the last take passes, the region's
 * bit is on the log, on stable media: the log on disk holds every region
 * written since the last checkpoint, the state userspace saved last.  After
 * a crash, the saved state merged with the log's regions misses no write.
 *
 * Two epochs: @cur, the regions written since the last take, and @prev,
 * those written before it since the checkpoint.  A take moves @cur into
 * @prev; a checkpoint (userspace saved the state of the last take) clears
 * @prev.  The log on disk holds @cur | @prev and the bits of the log write
 * under way.  A write into a region that is in @prev but not in @cur sets
 * its bit in @cur without I/O: the log has it already.
 *
 * The log is a store of storage.c, written whole (header and bitmap) by one
 * work item, one write at a time with IOCB_DSYNC; the writes that wait for
 * their bits wait for the next such write, all together.  A failed log
 * write fails the log: its writes, and all others from then on, pass.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/crc32.h>
#include <linux/log2.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

#include "blksnap.h"

/* The most regions a log may have: a bitmap of 16 MiB. */
#define BS_WIL_MAX_REGIONS	BIT_ULL(27)

/**
 * struct bs_wil_log - a write-intent log
 * @wil: what the write path reads (blksnap.h).
 * @st: the store on disk.
 * @capacity: the device's size, sectors, at the attach.
 * @map_bytes: bytes of the bitmap on disk, without padding.
 * @lock: protects the fields below it, and the setting of @wil.cur.
 * @prev: the regions written before the last take since the checkpoint.
 * @want: the regions of the writes in @waiting, not yet on disk.
 * @want_any: @want is not empty.
 * @waiting: writes waiting for the next log write.
 * @rewrite: the log is to be written, even with nothing waiting.
 * @header_first: the checkpoint changed: write the header before the rest.
 * @error: the error of the log write that failed the log, or 0.
 * @generation: the checkpoint's generation.
 * @nr: the checkpoint's changes number.
 * @sequence: the number of the last log write begun.
 * @written: the number of the last log write done, or of the failed one.
 * @inflight: the regions of the log write under way; the work's own.
 * @buf: the image of the log, header and bitmap; the work's own.
 * @vec: its pages, for the write; the work's own.
 * @nr_vec: number of pages.
 * @bytes: bytes of the image, header and bitmap rounded up.
 * @work: writes the log and lets the waiting writes go.
 */
struct bs_wil_log {
	struct bs_wil wil;
	struct bs_storage *st;
	sector_t capacity;
	size_t map_bytes;
	spinlock_t lock;	/* see above */
	unsigned long *prev;
	unsigned long *want;
	bool want_any;
	struct bio_list waiting;
	bool rewrite;
	bool header_first;
	int error;
	uuid_t generation;
	u8 nr;
	u64 sequence;
	u64 written;
	unsigned long *inflight;
	void *buf;
	struct bio_vec *vec;
	unsigned int nr_vec;
	size_t bytes;
	struct work_struct work;
};

static inline struct bs_wil_log *bs_wil_log(struct bs_wil *wil)
{
	return container_of(wil, struct bs_wil_log, wil);
}

/**
 * bs_wil_geometry() - the regions and size of a log for a device
 * @capacity: the device's size in sectors.
 * @region_size: bytes per region; 0 for the default.
 * @arg: out: its region_size, region_count and log_size.
 *
 * Return: 0, or -EINVAL for a region size that is not a power of two
 * within the bounds, or that leaves too many regions.
 */
int bs_wil_geometry(sector_t capacity, u64 region_size,
		    struct blksnap_cbtlog *arg)
{
	u64 bytes = (u64)capacity << SECTOR_SHIFT;
	u64 count, map;

	if (!region_size)
		region_size = BLKSNAP_CBTLOG_REGION_DEFAULT;
	if (!is_power_of_2(region_size) ||
	    region_size < BLKSNAP_CBTLOG_REGION_MIN ||
	    region_size > BLKSNAP_CBTLOG_REGION_MAX)
		return -EINVAL;
	count = max_t(u64, DIV_ROUND_UP_ULL(bytes, region_size), 1);
	if (count > BS_WIL_MAX_REGIONS)
		return -EINVAL;
	map = round_up(DIV_ROUND_UP_ULL(count, BITS_PER_BYTE),
		       BLKSNAP_CBTLOG_HEADER_SIZE);
	arg->region_size = region_size;
	arg->region_count = count;
	arg->log_size = BLKSNAP_CBTLOG_HEADER_SIZE + map;
	return 0;
}

/* Set the bits of the regions of bytes [@offset, @offset + @len) in @map. */
static void bs_wil_set(struct bs_wil_log *log, unsigned long *map, u64 offset,
		       u64 len)
{
	unsigned int shift = log->wil.region_shift + SECTOR_SHIFT;
	u64 last = (offset + len - 1) >> shift;
	u64 first = offset >> shift;

	last = min(last, log->wil.region_count - 1);
	first = min(first, last);
	bitmap_set(map, first, last - first + 1);
}

/**
 * bs_wil_mark() - regions to put on the log with the next write
 * @wil: the log.
 * @offset: first byte of the device.
 * @len: bytes, at least one.
 *
 * For the writes the tracker saw before the log was attached; bs_wil_sync()
 * writes them.
 */
void bs_wil_mark(struct bs_wil *wil, u64 offset, u64 len)
{
	struct bs_wil_log *log = bs_wil_log(wil);

	spin_lock(&log->lock);
	bs_wil_set(log, log->want, offset, len);
	log->want_any = true;
	spin_unlock(&log->lock);
}

/*
 * The image of the log into @log->buf, with @log->inflight as it goes to
 * disk; under the lock.  The bitmap is @cur | @prev | @inflight, in bytes.
 */
static void bs_wil_fill(struct bs_wil_log *log)
{
	struct blksnap_cbtlog_header *h = log->buf;
	u8 *map = log->buf + BLKSNAP_CBTLOG_HEADER_SIZE;
	size_t i, b;

	for (i = 0; i < BITS_TO_LONGS(log->wil.region_count); i++) {
		unsigned long w = log->wil.cur[i] | log->prev[i] |
				  log->inflight[i];

		for (b = 0; b < sizeof(w); b++) {
			size_t at = i * sizeof(w) + b;

			if (at >= log->map_bytes)
				break;
			map[at] = w >> (b * BITS_PER_BYTE);
		}
	}
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, BLKSNAP_CBTLOG_MAGIC, sizeof(h->magic));
	h->version = cpu_to_le32(BLKSNAP_CBTLOG_VERSION);
	h->header_size = cpu_to_le32(BLKSNAP_CBTLOG_HEADER_SIZE);
	export_uuid(h->generation_id.b, &log->generation);
	h->device_capacity = cpu_to_le64((u64)log->capacity << SECTOR_SHIFT);
	h->region_size = cpu_to_le64(1ULL << (log->wil.region_shift +
					      SECTOR_SHIFT));
	h->region_count = cpu_to_le64(log->wil.region_count);
	h->sequence = cpu_to_le64(log->sequence);
	h->changes_number = log->nr;
	/* zlib's crc32(), which userspace checks it with. */
	h->header_crc = cpu_to_le32(~crc32_le(~0U, (const u8 *)h,
					      offsetof(typeof(*h),
						       header_crc)));
}

/* Write the first @bytes of the image, durably. */
static int bs_wil_write(struct bs_wil_log *log, size_t bytes)
{
	struct iov_iter iter;

	iov_iter_bvec(&iter, ITER_SOURCE, log->vec, log->nr_vec, bytes);
	return bs_storage_write_durable(log->st, 0, &iter);
}

/* The log failed with @error; under the lock. */
static void __bs_wil_fail(struct bs_wil_log *log, int error)
{
	if (log->error)
		return;
	log->error = error;
	/* Every write passes at once from now on. */
	bitmap_fill(log->wil.cur, log->wil.region_count);
	bitmap_zero(log->want, log->wil.region_count);
	log->want_any = false;
	pr_err_ratelimited("write-intent log failed (%d): tracking is no longer safe across a crash\n",
			   error);
}

/*
 * A failed log tries to say so on disk: a header of zeros, which userspace
 * reads as no log at all.  Best effort: the write that failed may well
 * fail again, and then the log on disk still looks sound.  Once the log
 * failed, nothing else uses the image.
 */
static void bs_wil_invalidate(struct bs_wil_log *log)
{
	memset(log->buf, 0, BLKSNAP_CBTLOG_HEADER_SIZE);
	bs_wil_write(log, BLKSNAP_CBTLOG_HEADER_SIZE);
}

/*
 * Writes the log while writes wait for it or a rewrite was asked for, one
 * write for all of them, then lets them go.  One at a time: a work item
 * does not run on two CPUs at once.
 */
static void bs_wil_work(struct work_struct *work)
{
	struct bs_wil_log *log = container_of(work, struct bs_wil_log, work);
	unsigned int noio = memalloc_noio_save();
	struct bio_list go;
	bool head = false, failed;
	u64 sequence = 0;
	struct bio *bio;
	int ret;

	for (;;) {
		spin_lock(&log->lock);
		if (!log->rewrite && !log->want_any &&
		    bio_list_empty(&log->waiting)) {
			spin_unlock(&log->lock);
			break;
		}
		go = log->waiting;
		bio_list_init(&log->waiting);
		log->rewrite = false;
		ret = log->error;
		if (!ret) {
			bitmap_copy(log->inflight, log->want,
				    log->wil.region_count);
			bitmap_zero(log->want, log->wil.region_count);
			log->want_any = false;
			sequence = ++log->sequence;
			bs_wil_fill(log);
		}
		head = log->header_first;
		log->header_first = false;
		spin_unlock(&log->lock);

		/*
		 * A new checkpoint clears bits: its header goes first, so that
		 * the log never names it with the bits of the old one missing.
		 */
		if (!ret && head)
			ret = bs_wil_write(log, BLKSNAP_CBTLOG_HEADER_SIZE);
		if (!ret)
			ret = bs_wil_write(log, log->bytes);

		spin_lock(&log->lock);
		failed = ret && !log->error;
		if (ret) {
			__bs_wil_fail(log, ret);
		} else {
			bitmap_or(log->wil.cur, log->wil.cur, log->inflight,
				  log->wil.region_count);
			log->written = sequence;
		}
		spin_unlock(&log->lock);

		/* They are filtered again, and find their bits on the log. */
		while ((bio = bio_list_pop(&go)))
			submit_bio_noacct(bio);
		if (failed)
			bs_wil_invalidate(log);
	}
	memalloc_noio_restore(noio);
}

/**
 * bs_wil_sync() - write the log now, and wait for the write
 * @wil: the log.
 *
 * Context: process; may sleep.
 * Return: 0, or the error that failed the log.
 */
int bs_wil_sync(struct bs_wil *wil)
{
	struct bs_wil_log *log = bs_wil_log(wil);
	int ret;

	spin_lock(&log->lock);
	log->rewrite = true;
	spin_unlock(&log->lock);
	queue_work(bs_wq, &log->work);
	flush_work(&log->work);
	spin_lock(&log->lock);
	ret = log->error;
	spin_unlock(&log->lock);
	return ret;
}

/**
 * bs_wil_hold() - a write whose regions are not all on the log
 * @wil: the log.
 * @bio: the write.
 * @sector: its first sector, relative to the device.
 * @count: its sectors, at least one.
 *
 * Regions the log has from before the last take get their bits in @cur at
 * once; the others are written to the log, and @bio waits for that.  It is
 * submitted again afterwards, and filtered again.
 *
 * Context: the filter's submit_bio callback; does not sleep.
 * Return: true if @bio was taken (held, or ended for REQ_NOWAIT), false if
 * it may pass.
 */
bool bs_wil_hold(struct bs_wil *wil, struct bio *bio, sector_t sector,
		 sector_t count)
{
	struct bs_wil_log *log = bs_wil_log(wil);
	u64 last = (sector + count - 1) >> wil->region_shift;
	u64 r = sector >> wil->region_shift;
	bool wait = false;

	last = min(last, wil->region_count - 1);
	r = min(r, last);
	spin_lock(&log->lock);
	for (; r <= last; r++) {
		if (test_bit(r, wil->cur))
			continue;
		if (test_bit(r, log->prev)) {
			__set_bit(r, wil->cur);
			continue;
		}
		wait = true;
		if (bio->bi_opf & REQ_NOWAIT)
			break;
		__set_bit(r, log->want);
		log->want_any = true;
	}
	if (!wait) {
		spin_unlock(&log->lock);
		return false;
	}
	if (bio->bi_opf & REQ_NOWAIT) {
		spin_unlock(&log->lock);
		bio_wouldblock_error(bio);
		return true;
	}
	bio_list_add(&log->waiting, bio);
	spin_unlock(&log->lock);
	queue_work(bs_wq, &log->work);
	return true;
}

/**
 * bs_wil_epoch() - the tracker switched at a take
 * @wil: the log.
 *
 * The regions written so far go to @prev, kept on the log until the next
 * checkpoint; the writes of the new epoch mark @cur again.
 *
 * Context: the tracker's lock held, its writes held back and waited for.
 */
void bs_wil_epoch(struct bs_wil *wil)
{
	struct bs_wil_log *log = bs_wil_log(wil);

	spin_lock(&log->lock);
	if (!log->error) {
		bitmap_or(log->prev, log->prev, wil->cur, wil->region_count);
		bitmap_zero(wil->cur, wil->region_count);
	}
	spin_unlock(&log->lock);
}

/**
 * bs_wil_checkpoint() - userspace saved the tracker's state of its last take
 * @wil: the log.
 * @generation: the state's generation.
 * @nr: the state's changes number.
 *
 * The regions written before the last take leave the log; the log is
 * written with the new checkpoint before this returns.  The caller checked
 * that @generation and @nr are the tracker's, with takes excluded.
 *
 * Context: process; may sleep.
 * Return: 0, or the error that failed the log.
 */
int bs_wil_checkpoint(struct bs_wil *wil, const uuid_t *generation, u8 nr)
{
	struct bs_wil_log *log = bs_wil_log(wil);

	spin_lock(&log->lock);
	bitmap_zero(log->prev, wil->region_count);
	uuid_copy(&log->generation, generation);
	log->nr = nr;
	log->header_first = true;
	spin_unlock(&log->lock);
	return bs_wil_sync(wil);
}

/**
 * bs_wil_state() - the state of the log, for userspace
 * @wil: the log.
 * @arg: out: state, error, region_size, region_count, log_size, sequence,
 *	generation_id and changes_number.
 */
void bs_wil_state(struct bs_wil *wil, struct blksnap_cbtlog *arg)
{
	struct bs_wil_log *log = bs_wil_log(wil);

	bs_wil_geometry(log->capacity,
			1ULL << (wil->region_shift + SECTOR_SHIFT), arg);
	spin_lock(&log->lock);
	arg->state = BLKSNAP_CBTLOG_ATTACHED;
	if (log->error)
		arg->state |= BLKSNAP_CBTLOG_FAILED;
	arg->error = log->error;
	arg->sequence = log->written;
	export_uuid(arg->generation_id.b, &log->generation);
	arg->changes_number = log->nr;
	spin_unlock(&log->lock);
}

static void bs_wil_free(struct bs_wil_log *log)
{
	kfree(log->vec);
	vfree(log->buf);
	kvfree(log->inflight);
	kvfree(log->want);
	kvfree(log->prev);
	kvfree(log->wil.cur);
	if (log->st)
		bs_storage_destroy(log->st);
	kfree(log);
}

/**
 * bs_wil_create() - open a log for a tracker
 * @fd: the descriptor of the log.
 * @bdev: the tracked device.
 * @capacity: its size, sectors.
 * @region_size: bytes per region, 0 for the default.
 * @generation: the tracker's generation, the first checkpoint's.
 * @nr: the tracker's changes number, the first checkpoint's.
 *
 * Nothing is written yet: bs_wil_sync() writes the first image.
 *
 * Context: process; may sleep.
 * Return: the log, or an ERR_PTR(): -EINVAL for a bad region size or a log
 * on @bdev (or its disk), -ENOSPC for a log smaller than it must be,
 * -EBADF, -EINVAL (see bs_storage_open_fixed()) or -ENOMEM.
 */
struct bs_wil *bs_wil_create(unsigned int fd, struct block_device *bdev,
			     sector_t capacity, u64 region_size,
			     const uuid_t *generation, u8 nr)
{
	struct blksnap_cbtlog geo;
	struct bs_wil_log *log;
	size_t longs, i;
	int ret;

	ret = bs_wil_geometry(capacity, region_size, &geo);
	if (ret)
		return ERR_PTR(ret);
	log = kzalloc(sizeof(*log), GFP_KERNEL);
	if (!log)
		return ERR_PTR(-ENOMEM);
	log->st = bs_storage_open_fixed(fd, geo.log_size >> SECTOR_SHIFT);
	if (IS_ERR(log->st)) {
		ret = PTR_ERR(log->st);
		log->st = NULL;
		goto fail;
	}
	ret = -EINVAL;
	if (bs_storage_on(log->st, bdev))
		goto fail;

	log->wil.region_shift = ilog2(geo.region_size) - SECTOR_SHIFT;
	log->wil.region_count = geo.region_count;
	log->capacity = capacity;
	log->map_bytes = DIV_ROUND_UP(geo.region_count, BITS_PER_BYTE);
	spin_lock_init(&log->lock);
	bio_list_init(&log->waiting);
	uuid_copy(&log->generation, generation);
	log->nr = nr;
	INIT_WORK(&log->work, bs_wil_work);

	ret = -ENOMEM;
	longs = BITS_TO_LONGS(geo.region_count);
	log->wil.cur = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	log->prev = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	log->want = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	log->inflight = kvcalloc(longs, sizeof(long), GFP_KERNEL);
	log->bytes = geo.log_size;
	log->nr_vec = DIV_ROUND_UP(geo.log_size, PAGE_SIZE);
	log->buf = vzalloc(geo.log_size);
	log->vec = kcalloc(log->nr_vec, sizeof(*log->vec), GFP_KERNEL);
	if (!log->wil.cur || !log->prev || !log->want || !log->inflight ||
	    !log->buf || !log->vec)
		goto fail;
	for (i = 0; i < log->nr_vec; i++)
		bvec_set_page(&log->vec[i],
			      vmalloc_to_page(log->buf + i * PAGE_SIZE),
			      PAGE_SIZE, 0);
	return &log->wil;

fail:
	bs_wil_free(log);
	return ERR_PTR(ret);
}

/**
 * bs_wil_destroy() - close a log
 * @wil: the log, which the write path no longer sees.
 *
 * The writes still waiting are written to the log and let go; the log stays
 * on disk as it is.
 *
 * Context: process; may sleep.
 */
void bs_wil_destroy(struct bs_wil *wil)
{
	struct bs_wil_log *log = bs_wil_log(wil);

	flush_work(&log->work);
	bs_wil_free(log);
}
