// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write state of one device of a snapshot, and the I/O of its image.
 *
 * The device is cut into chunks.  A chunk table says for each chunk where
 * the snapshot's data is: still on the original (0), in the difference
 * storage (a stored entry), or in memory (a struct bs_copy, which holds a
 * run of adjacent chunks read from the original together).
 *
 * A write to chunks that are still only on the original is taken off the
 * submitter (the filter returns true) and handed to a cow worker, which reads
 * the old data into a copy and parks the write on it.  When the read is
 * done the write is submitted again: its chunks are preserved now, so the
 * filter lets it pass; meanwhile the copy is written to the storage and the
 * table then points there.  Writes to preserved chunks pass straight away.
 *
 * The image reads preserved chunks from the copy or the storage and the
 * others from the original.  While it reads the original, a struct
 * bs_reader keeps writes to those chunks waiting ("blocked" copies), so that
 * the old data it reads cannot be overwritten under it.  Image writes go to
 * the storage, after the chunk was preserved.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

#include "blksnap.h"

/* The most bytes read from the original into one copy. */
#define BS_COPY_MAX_BYTES	SZ_1M

enum bs_copy_state {
	BS_LOADING,	/* being read from the original */
	BS_LOADED,	/* in memory, not to be stored: the snapshot failed */
	BS_STORING,	/* in memory, being written to the storage */
	BS_STORED,	/* in the storage too */
	BS_FAILED,	/* could not be read or stored */
};

/**
 * struct bs_copy - old data of a run of chunks, in memory
 * @area: the area.
 * @first: first chunk.
 * @count: number of chunks.
 * @state: an enum bs_copy_state; under area->lock.
 * @in_table: the table points at it; under area->lock.
 * @blocked: an image read of the original overlaps it: the writes waiting
 *	on it must go on waiting; under area->lock.
 * @stored_at: its place in the storage once stored; under area->lock.
 * @queued: counted in the storage's chunks waiting in memory, which it is
 *	until it is stored or will not be; under area->lock.
 * @ref: one for the table, one per image read using it, one for its
 *	load and the work that follows.
 * @error: the error of its load or store.
 * @pending_bios: load bios not yet completed.
 * @waiting: writes waiting for it; under area->lock.
 * @blocked_link: entry in area->blocked while @blocked; under area->lock.
 * @work: what follows its load, its store.
 * @nr_pages: pages of @bvec.
 * @bvec: the memory, a page each.
 */
struct bs_copy {
	struct bs_area *area;
	unsigned long first;
	unsigned int count;
	enum bs_copy_state state;
	bool in_table;
	bool blocked;
	sector_t stored_at;
	bool queued;
	refcount_t ref;
	int error;
	atomic_t pending_bios;
	struct bio_list waiting;
	struct list_head blocked_link;
	struct work_struct work;
	unsigned int nr_pages;
	struct bio_vec bvec[];
};

/**
 * struct bs_reader - an image read of the original in progress
 * @link: entry in area->readers; under area->readers_lock.
 * @first: first chunk read.
 * @last: last chunk read.
 */
struct bs_reader {
	struct list_head link;
	unsigned long first;
	unsigned long last;
};

/**
 * struct bs_direct_read - an image read sent on to a device as it is
 * @area: the image's area.
 * @parent: the image's bio.
 * @reader: registers the read while it reads the original.
 * @original: it reads the original, not the storage.
 * @clone: the bio sent on; last, see bs_direct_set.
 */
struct bs_direct_read {
	struct bs_area *area;
	struct bio *parent;
	struct bs_reader reader;
	bool original;
	struct bio clone;
};

/* Clones for direct image reads, with their struct bs_direct_read before. */
static struct bio_set bs_direct_set;

static inline bool bs_is_stored(unsigned long e)
{
	return e & BS_STORED_BIT;
}

static inline sector_t bs_stored_sector(unsigned long e)
{
	return e >> 1;
}

static inline unsigned long bs_mk_stored(sector_t sector)
{
	return ((unsigned long)sector << 1) | BS_STORED_BIT;
}

static inline struct bs_storage *bs_area_storage(struct bs_area *area)
{
	return area->snap->storage;
}

/* Caller holds area->lock.  NULL if the leaf does not exist yet. */
static unsigned long *__bs_entry(struct bs_area *area, unsigned long chunk)
{
	unsigned long *leaf = area->table[chunk / BS_LEAF_ENTRIES];

	return leaf ? &leaf[chunk % BS_LEAF_ENTRIES] : NULL;
}

static unsigned long __bs_entry_get(struct bs_area *area, unsigned long chunk)
{
	unsigned long *e = __bs_entry(area, chunk);

	return e ? *e : 0;
}

/* Make sure the leaves of [first, last] exist.  May sleep. */
static int bs_leaves_alloc(struct bs_area *area, unsigned long first,
			   unsigned long last)
{
	unsigned long l;

	for (l = first / BS_LEAF_ENTRIES; l <= last / BS_LEAF_ENTRIES; l++) {
		unsigned long *leaf;

		if (READ_ONCE(area->table[l]))
			continue;
		leaf = (unsigned long *)get_zeroed_page(GFP_NOIO);
		if (!leaf)
			return -ENOMEM;
		spin_lock(&area->lock);
		if (!area->table[l]) {
			area->table[l] = leaf;
			leaf = NULL;
		}
		spin_unlock(&area->lock);
		if (leaf)
			free_page((unsigned long)leaf);
	}
	return 0;
}

/* The chunks a range of sectors of the device covers; false if none. */
static bool bs_chunks(struct bs_area *area, sector_t sector, sector_t count,
		      unsigned long *first, unsigned long *last)
{
	unsigned int shift = area->chunk_shift - SECTOR_SHIFT;

	if (sector >= area->capacity || !count)
		return false;
	count = min(count, area->capacity - sector);
	*first = sector >> shift;
	*last = (sector + count - 1) >> shift;
	return true;
}

/**
 * bs_area_fail() - the snapshot of the area's device cannot go on
 * @area: the area.
 * @error: why, negative.
 *
 * Copy-on-write of the device stops, its waiting writes go on, its image's
 * I/O fails; the other devices of the snapshot are not touched.  The first
 * error counts; the snapshot is told, so that it sends the device's event.
 *
 * Context: process; may sleep.
 */
void bs_area_fail(struct bs_area *area, int error)
{
	bool first;

	spin_lock(&area->lock);
	first = !area->error;
	if (first)
		area->error = error;
	spin_unlock(&area->lock);
	if (!first)
		return;
	wake_up_all(&area->wait);
	wake_up_all(&bs_area_storage(area)->wait);
	if (error != -ESHUTDOWN)
		bs_snapshot_failed(area->snap, area, error);
}

/**
 * bs_area_error() - why the snapshot of the area's device failed
 * @area: the area.
 *
 * Return: 0 or the negative errno of bs_area_fail().
 */
int bs_area_error(struct bs_area *area)
{
	int error;

	spin_lock(&area->lock);
	error = area->error;
	spin_unlock(&area->lock);
	return error;
}

static void bs_copy_free(struct bs_copy *copy)
{
	struct bs_storage *st = bs_area_storage(copy->area);

	bs_storage_pages_put(st, copy->bvec, copy->nr_pages);
	if (copy->queued)
		bs_storage_unqueue(st, copy->count);
	kfree(copy);
}

static void bs_copy_put(struct bs_copy *copy)
{
	if (refcount_dec_and_test(&copy->ref))
		bs_copy_free(copy);
}

/*
 * Caller holds area->lock.  Mark the copy blocked if an image read of the
 * original overlaps it, unblock it otherwise; returns whether it is.
 */
static bool __bs_copy_block(struct bs_area *area, struct bs_copy *copy)
{
	unsigned long last = copy->first + copy->count - 1;
	bool overlap = false;
	struct bs_reader *r;

	/* Direct reads leave area->readers from their completion (irq). */
	spin_lock_irq(&area->readers_lock);
	list_for_each_entry(r, &area->readers, link) {
		if (r->first <= last && r->last >= copy->first) {
			overlap = true;
			break;
		}
	}
	if (overlap && !copy->blocked) {
		copy->blocked = true;
		list_add_tail(&copy->blocked_link, &area->blocked);
		area->nr_blocked++;
	} else if (!overlap && copy->blocked) {
		copy->blocked = false;
		list_del_init(&copy->blocked_link);
		area->nr_blocked--;
	}
	spin_unlock_irq(&area->readers_lock);
	return overlap;
}

/*
 * Caller holds area->lock.  The copy's old data is safe (in memory or in
 * the storage); once no image read of the original overlaps it, the writes
 * waiting on it may go, and a stored copy gives its place in the table to
 * the storage.  Returns true if the caller must drop the table's reference.
 */
static bool __bs_copy_settle(struct bs_area *area, struct bs_copy *copy,
			     struct bio_list *go)
{
	unsigned long i, *e;

	if (__bs_copy_block(area, copy))
		return false;
	bio_list_merge(go, &copy->waiting);
	bio_list_init(&copy->waiting);
	if (copy->state != BS_STORED || !copy->in_table)
		return false;
	for (i = 0; i < copy->count; i++) {
		e = __bs_entry(area, copy->first + i);
		*e = bs_mk_stored(copy->stored_at + (i << (area->chunk_shift -
							   SECTOR_SHIFT)));
	}
	copy->in_table = false;
	return true;
}

/*
 * Caller holds area->lock.  The copy was stored, or will not be: it no
 * longer counts against the storage's queue, so that a failed device's
 * copies, which stay until destroy, do not hold back the other devices.
 * Returns the chunks for bs_storage_unqueue(), to call without the lock.
 */
static unsigned int __bs_copy_dequeue(struct bs_copy *copy)
{
	unsigned int n = copy->queued ? copy->count : 0;

	copy->queued = false;
	return n;
}

static void bs_resubmit(struct bio_list *list)
{
	struct bio *bio;

	while ((bio = bio_list_pop(list)))
		submit_bio_noacct(bio);
}

/* Write a loaded copy to the storage. */
static void bs_copy_store(struct bs_copy *copy)
{
	struct bs_area *area = copy->area;
	struct bs_storage *st = bs_area_storage(area);
	sector_t sectors = (sector_t)copy->count <<
			   (area->chunk_shift - SECTOR_SHIFT);
	struct bio_list go = BIO_EMPTY_LIST;
	bool put_table = false;
	struct iov_iter iter;
	unsigned int done;
	sector_t at;
	int ret;

	ret = bs_storage_alloc(st, sectors, &at);
	if (!ret) {
		iov_iter_bvec(&iter, ITER_SOURCE, copy->bvec, copy->nr_pages,
			      (size_t)copy->nr_pages << PAGE_SHIFT);
		ret = bs_storage_rw(st, at, &iter);
	}
	spin_lock(&area->lock);
	if (ret) {
		copy->state = BS_FAILED;
		copy->error = ret;
	} else {
		copy->state = BS_STORED;
		copy->stored_at = at;
		put_table = __bs_copy_settle(area, copy, &go);
	}
	done = __bs_copy_dequeue(copy);
	spin_unlock(&area->lock);
	if (done)
		bs_storage_unqueue(st, done);
	wake_up_all(&area->wait);
	if (ret) {
		if (ret != -ENOSPC)
			pr_err_ratelimited("%pg: cannot write to the difference storage: %d\n",
					   area->bdev, ret);
		bs_area_fail(area, ret);
	}
	bs_resubmit(&go);
	if (put_table)
		bs_copy_put(copy);
}

static void bs_copy_work(struct work_struct *work)
{
	struct bs_copy *copy = container_of(work, struct bs_copy, work);
	struct bs_area *area = copy->area;
	struct bio_list go = BIO_EMPTY_LIST;
	unsigned int noio = memalloc_noio_save();
	unsigned int dropped = 0;
	bool store = false;
	int error = 0;

	spin_lock(&area->lock);
	error = copy->error;
	if (error || area->error) {
		/* Nothing to preserve any more: the writes go on. */
		copy->state = error ? BS_FAILED : BS_LOADED;
		bio_list_merge(&go, &copy->waiting);
		bio_list_init(&copy->waiting);
		dropped = __bs_copy_dequeue(copy);
	} else {
		__bs_copy_settle(area, copy, &go);
		copy->state = BS_STORING;
		store = true;
	}
	spin_unlock(&area->lock);
	if (dropped)
		bs_storage_unqueue(bs_area_storage(area), dropped);
	wake_up_all(&area->wait);

	if (error) {
		pr_err_ratelimited("%pg: cannot read old data for copy-on-write: %d\n",
				   area->bdev, error);
		bs_area_fail(area, error);
	}
	bs_resubmit(&go);
	if (store)
		bs_copy_store(copy);

	memalloc_noio_restore(noio);
	bs_copy_put(copy);
	if (atomic_dec_and_test(&area->inflight))
		wake_up_all(&area->wait);
}

static void bs_load_endio(struct bio *bio)
{
	struct bs_copy *copy = bio->bi_private;

	if (bio->bi_status)
		copy->error = blk_status_to_errno(bio->bi_status);
	bio_put(bio);
	if (atomic_dec_and_test(&copy->pending_bios))
		queue_work(bs_wq, &copy->work);
}

/*
 * Read the copy's chunks from the original.  The copy holds a reference
 * and an inflight count for its work, which its last bio queues.
 */
static void bs_copy_load(struct bs_copy *copy)
{
	struct bs_area *area = copy->area;
	sector_t sector = (sector_t)copy->first <<
			  (area->chunk_shift - SECTOR_SHIFT);
	size_t len = min_t(u64, (u64)copy->nr_pages << PAGE_SHIFT,
			   (u64)(area->capacity - sector) << SECTOR_SHIFT);
	size_t off;
	unsigned int i = 0;

	/* Past the end of the device: zeros, not old memory, get stored. */
	for (off = len; off < (size_t)copy->nr_pages << PAGE_SHIFT;
	     off = round_down(off, PAGE_SIZE) + PAGE_SIZE)
		memzero_page(copy->bvec[off >> PAGE_SHIFT].bv_page,
			     offset_in_page(off), PAGE_SIZE - offset_in_page(off));

	refcount_inc(&copy->ref);
	atomic_inc(&area->inflight);
	atomic_set(&copy->pending_bios, 1);
	while (len) {
		unsigned int nr = min_t(unsigned int, copy->nr_pages - i,
					BIO_MAX_VECS);
		struct bio *bio = bio_alloc(area->bdev, nr, REQ_OP_READ,
					    GFP_NOIO);

		bio->bi_iter.bi_sector = sector;
		bio->bi_end_io = bs_load_endio;
		bio->bi_private = copy;
		while (len && nr--) {
			unsigned int n = min_t(size_t, len, PAGE_SIZE);

			__bio_add_page(bio, copy->bvec[i++].bv_page, n, 0);
			len -= n;
			sector += n >> SECTOR_SHIFT;
		}
		atomic_inc(&copy->pending_bios);
		submit_bio(bio);
	}
	if (atomic_dec_and_test(&copy->pending_bios))
		queue_work(bs_wq, &copy->work);
}

static struct bs_copy *bs_copy_alloc(struct bs_area *area, unsigned long first,
				     unsigned int count)
{
	struct bs_storage *st = bs_area_storage(area);
	unsigned int nr_pages = ((size_t)count << area->chunk_shift) >>
				PAGE_SHIFT;
	struct bs_copy *copy;

	bs_storage_throttle(st, &area->error);
	copy = kzalloc(struct_size(copy, bvec, nr_pages), GFP_NOIO);
	if (!copy)
		return NULL;
	copy->area = area;
	copy->first = first;
	copy->count = count;
	copy->state = BS_LOADING;
	copy->queued = true;
	copy->nr_pages = nr_pages;
	refcount_set(&copy->ref, 1);
	bio_list_init(&copy->waiting);
	INIT_LIST_HEAD(&copy->blocked_link);
	INIT_WORK(&copy->work, bs_copy_work);
	spin_lock(&st->lock);
	st->in_memory += count;
	spin_unlock(&st->lock);
	if (bs_storage_pages_get(st, copy->bvec, nr_pages)) {
		bs_copy_free(copy);
		return NULL;
	}
	return copy;
}

/*
 * Start preserving the first run of chunks of [first, last] that are only
 * on the original.  Returns 1 if it started one, 0 if there is none, or a
 * negative errno.  May sleep.
 */
static int bs_load_next_run(struct bs_area *area, unsigned long first,
			    unsigned long last)
{
	unsigned int max = max(BS_COPY_MAX_BYTES >> area->chunk_shift, 1U);
	unsigned long c, run = 0, start = 0, i;
	struct bs_copy *copy;

	spin_lock(&area->lock);
	if (area->error) {
		spin_unlock(&area->lock);
		return 0;
	}
	for (c = first; c <= last; c++) {
		if (__bs_entry_get(area, c)) {
			if (run)
				break;
			continue;
		}
		if (!run)
			start = c;
		if (++run == max)
			break;
	}
	spin_unlock(&area->lock);
	if (!run)
		return 0;

	copy = bs_copy_alloc(area, start, run);
	if (!copy)
		return -ENOMEM;
	spin_lock(&area->lock);
	if (area->error) {
		spin_unlock(&area->lock);
		bs_copy_put(copy);
		return 0;
	}
	for (i = 0; i < run; i++) {
		if (__bs_entry_get(area, start + i)) {
			/* Someone else was quicker: look again. */
			spin_unlock(&area->lock);
			bs_copy_put(copy);
			return 1;
		}
	}
	for (i = 0; i < run; i++)
		*__bs_entry(area, start + i) = (unsigned long)copy;
	copy->in_table = true;
	spin_unlock(&area->lock);
	bs_copy_load(copy);
	return 1;
}

/*
 * Caller holds area->lock.  Scan the chunks of a write: the first copy the
 * write must wait for (loading or blocked), or NULL if there is none;
 * *fresh says whether a chunk is only on the original.
 */
static struct bs_copy *__bs_write_scan(struct bs_area *area,
				       unsigned long first, unsigned long last,
				       bool *fresh)
{
	struct bs_copy *wait = NULL;
	unsigned long c, e;

	*fresh = false;
	for (c = first; c <= last; c++) {
		struct bs_copy *copy;

		e = __bs_entry_get(area, c);
		if (!e) {
			*fresh = true;
			continue;
		}
		if (bs_is_stored(e))
			continue;
		copy = (struct bs_copy *)e;
		if (!wait && (copy->state == BS_LOADING || copy->blocked))
			wait = copy;
	}
	return wait;
}

/* Copy-on-write for one write taken off its submitter.  May sleep. */
static void bs_cow_bio(struct bs_area *area, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector - area->start;
	unsigned long first, last;
	struct bs_copy *wait;
	bool fresh;
	int ret;

	if (!bs_chunks(area, sector, bio_sectors(bio), &first, &last))
		goto pass;
	ret = bs_leaves_alloc(area, first, last);
	if (ret) {
		bs_area_fail(area, ret);
		goto pass;
	}
	/* Start reading every run of fresh chunks, then wait for the first. */
	do {
		ret = bs_load_next_run(area, first, last);
	} while (ret > 0);
	if (ret < 0) {
		bs_area_fail(area, ret);
		goto pass;
	}
	spin_lock(&area->lock);
	if (area->error) {
		spin_unlock(&area->lock);
		goto pass;
	}
	wait = __bs_write_scan(area, first, last, &fresh);
	if (wait) {
		bio_list_add(&wait->waiting, bio);
		spin_unlock(&area->lock);
		return;
	}
	spin_unlock(&area->lock);
	/* Fresh chunks again: a read dropped its copy meanwhile; filter again. */
pass:
	submit_bio_noacct(bio);
}

static void bs_cow_work(struct work_struct *work)
{
	struct bs_cow_worker *w = container_of(work, struct bs_cow_worker,
					       work);
	struct bs_area *area = w->area;
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;

	for (;;) {
		spin_lock(&area->lock);
		bio = bio_list_pop(&area->pending);
		spin_unlock(&area->lock);
		if (!bio)
			break;
		bs_cow_bio(area, bio);
	}
	memalloc_noio_restore(noio);
}

/**
 * bs_area_write() - copy-on-write for a write to the original
 * @area: the area of the bio's device.
 * @bio: a write, discard or write-zeroes.
 *
 * Context: the submitter's, from the filter; does not sleep.
 * Return: true if the write was taken (it goes on once its chunks are
 * preserved), false if it may pass now.
 */
bool bs_area_write(struct bs_area *area, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector - area->start;
	unsigned long first, last;
	struct bs_copy *wait;
	bool fresh;

	if (!bs_chunks(area, sector, bio_sectors(bio), &first, &last))
		return false;
	spin_lock(&area->lock);
	if (area->error) {
		spin_unlock(&area->lock);
		return false;
	}
	wait = __bs_write_scan(area, first, last, &fresh);
	if (!wait && !fresh) {
		spin_unlock(&area->lock);
		return false;
	}
	if (bio->bi_opf & REQ_NOWAIT) {
		spin_unlock(&area->lock);
		bio_wouldblock_error(bio);
		return true;
	}
	if (wait && !fresh) {
		bio_list_add(&wait->waiting, bio);
	} else {
		bio_list_add(&area->pending, bio);
		/* Setting up copies costs CPU: spread it over the workers. */
		queue_work(bs_wq, &area->cow[area->cow_next].work);
		area->cow_next = (area->cow_next + 1) % BS_COW_WORKERS;
	}
	spin_unlock(&area->lock);
	return true;
}

/* Image I/O. */

/* Wait for a copy to leave a state; drops the reference taken for it. */
static void bs_copy_wait(struct bs_area *area, struct bs_copy *copy,
			 enum bs_copy_state state)
{
	wait_event(area->wait, READ_ONCE(copy->state) != state ||
		   READ_ONCE(area->error));
	bs_copy_put(copy);
}

/* Settle the blocked copies again: the writes of those no read overlaps go. */
static void bs_unblock(struct bs_area *area)
{
	struct bio_list go = BIO_EMPTY_LIST;
	struct bs_copy *copy, *tmp;
	LIST_HEAD(put);

	spin_lock(&area->lock);
	list_for_each_entry_safe(copy, tmp, &area->blocked, blocked_link) {
		/* Settling takes it off area->blocked once nothing overlaps. */
		if (__bs_copy_settle(area, copy, &go))
			list_add_tail(&copy->blocked_link, &put);
	}
	spin_unlock(&area->lock);
	bs_resubmit(&go);
	/* The table's references of the copies now stored. */
	list_for_each_entry_safe(copy, tmp, &put, blocked_link) {
		list_del_init(&copy->blocked_link);
		bs_copy_put(copy);
	}
}

static void bs_unblock_work(struct work_struct *work)
{
	struct bs_area *area = container_of(work, struct bs_area,
					    unblock_work);
	unsigned int noio = memalloc_noio_save();

	bs_unblock(area);
	memalloc_noio_restore(noio);
}

/*
 * Caller holds area->lock.  Register an image read of chunks
 * [first, last] of the original.
 */
static void __bs_reader_start(struct bs_area *area, struct bs_reader *r,
			      unsigned long first, unsigned long last)
{
	r->first = first;
	r->last = last;
	spin_lock_irq(&area->readers_lock);
	list_add_tail(&r->link, &area->readers);
	spin_unlock_irq(&area->readers_lock);
}

/*
 * Unregister an image read; true if copies are blocked, which may now be
 * let go.  Any context.
 */
static bool bs_reader_end(struct bs_area *area, struct bs_reader *r)
{
	unsigned long flags;
	bool blocked;

	spin_lock_irqsave(&area->readers_lock, flags);
	list_del(&r->link);
	blocked = area->nr_blocked;
	spin_unlock_irqrestore(&area->readers_lock, flags);
	return blocked;
}

static void bs_direct_endio(struct bio *clone)
{
	struct bs_direct_read *dr = container_of(clone, struct bs_direct_read,
						 clone);
	struct bs_area *area = dr->area;
	struct bio *parent = dr->parent;

	if (dr->original && bs_reader_end(area, &dr->reader))
		queue_work(bs_wq, &area->unblock_work);
	if (clone->bi_status && !parent->bi_status)
		parent->bi_status = clone->bi_status;
	bio_put(clone);
	bio_endio(parent);
	bs_image_done(area);
}

/**
 * bs_area_image_read_direct() - serve an image read without a work item
 * @area: the area of the image.
 * @bio: a read within the image's capacity.
 *
 * A read whose chunks are all still only on the original is sent on to
 * the original, registered as a reader until it completes; one whose
 * chunks all lie one after the other in a storage that is a block device
 * is sent on to that device.  Anything else is left to the image's work.
 * On success the bio ends through bs_image_done().
 *
 * Context: the image's submit_bio; does not wait for I/O.
 * Return: true if the bio was sent on.
 */
bool bs_area_image_read_direct(struct bs_area *area, struct bio *bio)
{
	struct bs_storage *st = bs_area_storage(area);
	sector_t pos = bio->bi_iter.bi_sector, len = bio_sectors(bio);
	unsigned int shift = area->chunk_shift - SECTOR_SHIFT;
	unsigned long first, last, c, e, e0;
	struct bs_direct_read *dr;
	struct bio *clone;

	if (!len || pos >= area->capacity || len > area->capacity - pos)
		return false;
	first = pos >> shift;
	last = (pos + len - 1) >> shift;
	clone = bio_alloc_clone(area->bdev, bio, GFP_NOIO, &bs_direct_set);
	if (!clone)
		return false;
	dr = container_of(clone, struct bs_direct_read, clone);
	dr->area = area;
	dr->parent = bio;

	spin_lock(&area->lock);
	if (area->error)
		goto slow;
	e0 = __bs_entry_get(area, first);
	if (!e0) {
		for (c = first + 1; c <= last; c++)
			if (__bs_entry_get(area, c))
				goto slow;
		dr->original = true;
		__bs_reader_start(area, &dr->reader, first, last);
	} else {
		if (!bs_is_stored(e0) || !st->is_bdev)
			goto slow;
		for (c = first + 1; c <= last; c++) {
			e = __bs_entry_get(area, c);
			if (!bs_is_stored(e) || bs_stored_sector(e) !=
			    bs_stored_sector(e0) + ((c - first) << shift))
				goto slow;
		}
		dr->original = false;
		bio_set_dev(clone, st->bdev);
		clone->bi_iter.bi_sector = bs_stored_sector(e0) + pos -
					   ((sector_t)first << shift);
	}
	spin_unlock(&area->lock);
	clone->bi_opf &= ~REQ_NOWAIT;
	clone->bi_end_io = bs_direct_endio;
	submit_bio_noacct(clone);
	return true;

slow:
	spin_unlock(&area->lock);
	bio_put(clone);
	return false;
}

/* Read [pos, pos + len) of the device from the original into @iter. */
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

/* Copy between a copy's memory and @iter. */
static int bs_copy_iter(struct bs_copy *copy, size_t off, size_t len,
			struct iov_iter *iter, bool write)
{
	while (len) {
		struct page *page = copy->bvec[off >> PAGE_SHIFT].bv_page;
		size_t po = offset_in_page(off);
		size_t n = min(len, PAGE_SIZE - po);
		size_t done;

		if (write)
			done = copy_page_from_iter(page, po, n, iter);
		else
			done = copy_page_to_iter(page, po, n, iter);
		if (done != n)
			return -EFAULT;
		off += n;
		len -= n;
	}
	return 0;
}

/* Read or write the next @len bytes of @iter at @at in the storage. */
static int bs_storage_iter_rw(struct bs_area *area, sector_t at,
			      struct iov_iter *iter, size_t len)
{
	struct iov_iter part = *iter;
	int ret;

	iov_iter_truncate(&part, len);
	ret = bs_storage_rw(bs_area_storage(area), at, &part);
	if (!ret)
		iov_iter_advance(iter, len);
	return ret;
}

/*
 * One stretch of an image read starting at chunk @c, at most @len sectors
 * from sector @pos; returns the sectors done or a negative errno.
 */
static long bs_image_read_part(struct bs_area *area, struct bio *bio,
			       sector_t skip, sector_t pos, sector_t len,
			       struct iov_iter *iter)
{
	unsigned int shift = area->chunk_shift - SECTOR_SHIFT;
	unsigned long c = pos >> shift, last = (pos + len - 1) >> shift, n;
	sector_t in_chunk = pos - ((sector_t)c << shift);
	struct bs_reader reader;
	struct bs_copy *copy;
	unsigned long e;
	sector_t done;
	int ret;

	spin_lock(&area->lock);
	if (area->error) {
		spin_unlock(&area->lock);
		return -EIO;
	}
	e = __bs_entry_get(area, c);
	if (!e) {
		/* Only on the original: as many such chunks as follow. */
		for (n = c + 1; n <= last && !__bs_entry_get(area, n); n++)
			;
		__bs_reader_start(area, &reader, c, n - 1);
		spin_unlock(&area->lock);
		done = min(len, ((sector_t)n << shift) - pos);
		ret = bs_read_original(area, bio, skip, pos, done);
		if (bs_reader_end(area, &reader))
			bs_unblock(area);
		if (ret)
			return ret;
		iov_iter_advance(iter, done << SECTOR_SHIFT);
		return done;
	}
	if (bs_is_stored(e)) {
		/* Adjacent chunks stored one after the other: one read. */
		for (n = c + 1; n <= last; n++) {
			unsigned long f = __bs_entry_get(area, n);

			if (!bs_is_stored(f) || bs_stored_sector(f) !=
			    bs_stored_sector(e) + ((n - c) << shift))
				break;
		}
		spin_unlock(&area->lock);
		done = min(len, ((sector_t)n << shift) - pos);
		ret = bs_storage_iter_rw(area, bs_stored_sector(e) + in_chunk,
					 iter,
					 done << SECTOR_SHIFT);
		return ret ? ret : done;
	}
	copy = (struct bs_copy *)e;
	refcount_inc(&copy->ref);
	if (copy->state == BS_LOADING) {
		spin_unlock(&area->lock);
		bs_copy_wait(area, copy, BS_LOADING);
		return 0;
	}
	if (copy->state == BS_FAILED) {
		spin_unlock(&area->lock);
		bs_copy_put(copy);
		return -EIO;
	}
	spin_unlock(&area->lock);
	done = min(len, ((sector_t)(copy->first + copy->count) << shift) - pos);
	ret = bs_copy_iter(copy, (pos - ((sector_t)copy->first << shift)) <<
			   SECTOR_SHIFT, done << SECTOR_SHIFT, iter, false);
	bs_copy_put(copy);
	return ret ? ret : done;
}

/*
 * Make chunk @c stored, for an image write; returns its place in the
 * storage or a negative errno.
 */
static int bs_image_prepare(struct bs_area *area, unsigned long c,
			    sector_t *at)
{
	struct bs_copy *copy;
	unsigned long e;
	int ret;

	for (;;) {
		spin_lock(&area->lock);
		if (area->error) {
			spin_unlock(&area->lock);
			return -EIO;
		}
		e = __bs_entry_get(area, c);
		if (bs_is_stored(e)) {
			spin_unlock(&area->lock);
			*at = bs_stored_sector(e);
			return 0;
		}
		if (!e) {
			spin_unlock(&area->lock);
			ret = bs_load_next_run(area, c, c);
			if (ret < 0)
				return ret;
			continue;
		}
		copy = (struct bs_copy *)e;
		refcount_inc(&copy->ref);
		spin_unlock(&area->lock);
		wait_event(area->wait, READ_ONCE(area->error) ||
			   READ_ONCE(copy->state) == BS_FAILED ||
			   !READ_ONCE(copy->in_table));
		bs_copy_put(copy);
	}
}

static int bs_image_write(struct bs_area *area, sector_t pos, sector_t len,
			  struct iov_iter *iter)
{
	unsigned int shift = area->chunk_shift - SECTOR_SHIFT;
	int ret;

	ret = bs_leaves_alloc(area, pos >> shift, (pos + len - 1) >> shift);
	if (ret)
		return ret;
	while (len) {
		unsigned long c = pos >> shift;
		sector_t in_chunk = pos - ((sector_t)c << shift);
		sector_t n = min(len, (1ULL << shift) - in_chunk);
		sector_t at;

		ret = bs_image_prepare(area, c, &at);
		if (!ret)
			ret = bs_storage_iter_rw(area, at + in_chunk, iter,
						 n << SECTOR_SHIFT);
		if (ret)
			return ret;
		pos += n;
		len -= n;
	}
	return 0;
}

/**
 * bs_area_image_io() - serve a bio of the image
 * @area: the area of the image.
 * @bio: a read or write within the image's capacity.
 *
 * Context: process (image work); may sleep.
 * Return: 0 or a negative errno.
 */
int bs_area_image_io(struct bs_area *area, struct bio *bio)
{
	sector_t pos = bio->bi_iter.bi_sector, len = bio_sectors(bio);
	bool write = bio_op(bio) == REQ_OP_WRITE;
	struct bio_vec *vecs, bv;
	struct bvec_iter bi;
	struct iov_iter iter;
	unsigned int nr = 0;
	sector_t skip = 0;
	int ret = 0;

	if (!len)
		return 0;
	if (pos >= area->capacity || len > area->capacity - pos)
		return -EIO;
	vecs = kmalloc_array(bio_segments(bio), sizeof(*vecs), GFP_NOIO);
	if (!vecs)
		return -ENOMEM;
	bio_for_each_segment(bv, bio, bi)
		vecs[nr++] = bv;
	iov_iter_bvec(&iter, write ? ITER_SOURCE : ITER_DEST, vecs, nr,
		      (size_t)len << SECTOR_SHIFT);

	if (write) {
		ret = bs_image_write(area, pos, len, &iter);
		if (!ret) {
			spin_lock(&area->lock);
			if (area->tracker)
				bs_cbt_mark_dirty(area->tracker, pos, len);
			spin_unlock(&area->lock);
		}
	} else {
		while (len) {
			long done = bs_image_read_part(area, bio, skip, pos,
						       len, &iter);

			if (done < 0) {
				ret = done;
				break;
			}
			skip += done;
			pos += done;
			len -= done;
		}
	}
	kfree(vecs);
	return ret;
}

/* Life of an area. */

/**
 * bs_area_create() - the copy-on-write state of a device added to a snapshot
 * @snap: the snapshot.
 * @t: the device's tracker.
 *
 * Context: process, bs_mutex held; may sleep.
 * Return: the area or an ERR_PTR().
 */
struct bs_area *bs_area_create(struct bs_snapshot *snap, struct bs_tracker *t)
{
	unsigned int shift = clamp_t(unsigned int, chunk_minimum_shift,
				     PAGE_SHIFT, 30);
	unsigned int max_shift = clamp(chunk_maximum_shift, shift, 30U);
	u64 max_count = max(chunk_maximum_count, 1U);
	/* The size now: the tracker follows a change at the take. */
	sector_t capacity = bdev_nr_sectors(t->bdev);
	u64 bytes = (u64)capacity << SECTOR_SHIFT;
	unsigned int lbs = bdev_logical_block_size(t->bdev);
	struct bs_area *area;
	unsigned int i;

	if (!capacity)
		return ERR_PTR(-EINVAL);
	while ((1U << shift) < lbs)
		shift++;
	while ((bytes >> shift) > max_count && shift < max_shift)
		shift++;
	area = kzalloc(sizeof(*area), GFP_KERNEL);
	if (!area)
		return ERR_PTR(-ENOMEM);
	area->snap = snap;
	area->tracker = t;
	area->bdev = t->bdev;
	area->dev = t->dev;
	area->start = t->start;
	area->capacity = capacity;
	area->chunk_shift = shift;
	area->chunk_count = DIV_ROUND_UP_ULL(bytes, 1ULL << shift);
	area->leaves = DIV_ROUND_UP(area->chunk_count, BS_LEAF_ENTRIES);
	area->table = kvcalloc(area->leaves, sizeof(*area->table), GFP_KERNEL);
	if (!area->table) {
		kfree(area);
		return ERR_PTR(-ENOMEM);
	}
	spin_lock_init(&area->lock);
	bio_list_init(&area->pending);
	INIT_LIST_HEAD(&area->readers);
	INIT_LIST_HEAD(&area->blocked);
	spin_lock_init(&area->readers_lock);
	for (i = 0; i < BS_COW_WORKERS; i++) {
		area->cow[i].area = area;
		INIT_WORK(&area->cow[i].work, bs_cow_work);
	}
	INIT_WORK(&area->unblock_work, bs_unblock_work);
	atomic_set(&area->inflight, 0);
	init_waitqueue_head(&area->wait);
	area->image.index = -1;
	atomic_set(&area->image.inflight, 0);
	init_waitqueue_head(&area->image.idle);
	get_device(&area->bdev->bd_device);
	return area;
}

static void bs_cow_flush(struct bs_area *area)
{
	unsigned int i;

	for (i = 0; i < BS_COW_WORKERS; i++)
		flush_work(&area->cow[i].work);
}

/**
 * bs_area_stop() - end copy-on-write on an area
 * @area: the area; its tracker no longer sends writes to it, and its
 *	image does no I/O any more.
 *
 * Waiting writes go on; waits until no load or store of the area runs.
 *
 * Context: process; may sleep.
 */
void bs_area_stop(struct bs_area *area)
{
	bs_area_fail(area, -ESHUTDOWN);
	bs_cow_flush(area);
	wait_event(area->wait, !atomic_read(&area->inflight));
	/* A write parked on a copy whose work ran before the failure. */
	bs_cow_flush(area);
}

/**
 * bs_area_free() - free a stopped area
 * @area: the area.
 */
void bs_area_free(struct bs_area *area)
{
	unsigned long l, i;

	/* Queued by the completion of a direct image read. */
	flush_work(&area->unblock_work);
	for (l = 0; l < area->leaves; l++) {
		unsigned long *leaf = area->table[l];
		struct bs_copy *last = NULL;

		if (!leaf)
			continue;
		for (i = 0; i < BS_LEAF_ENTRIES; i++) {
			struct bs_copy *copy;

			if (!leaf[i] || bs_is_stored(leaf[i]))
				continue;
			copy = (struct bs_copy *)leaf[i];
			/* A copy fills adjacent entries, possibly two leaves. */
			if (copy == last || !copy->in_table)
				continue;
			last = copy;
			copy->in_table = false;
			WARN_ON_ONCE(!bio_list_empty(&copy->waiting));
			if (copy->blocked)
				list_del_init(&copy->blocked_link);
			bs_copy_put(copy);
		}
		free_page((unsigned long)leaf);
	}
	kvfree(area->table);
	put_device(&area->bdev->bd_device);
	kfree(area);
}

int bs_area_init(void)
{
	return bioset_init(&bs_direct_set, BIO_POOL_SIZE,
			   offsetof(struct bs_direct_read, clone), 0);
}

void bs_area_exit(void)
{
	bioset_exit(&bs_direct_set);
}
