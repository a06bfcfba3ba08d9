// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write state of one device of a snapshot: its life, the write
 * path, and the lookups the image (image.c) makes to read and write the
 * snapshot's data.
 *
 * The device is cut into chunks; the chunk map (map.c) says for each chunk
 * where the snapshot's data is: still only on the original, in the
 * difference storage, or in memory, in a struct bs_copy, which holds the
 * old data of a run of adjacent chunks read from the original together.
 *
 * The write path: a write to chunks that are still only on the original is
 * held, taken off its submitter (the filter returns true), and handed to a
 * cow worker, which claims the chunks in the map for a new copy, reads
 * their old data and parks the write on the copy.  When the read is done
 * the write is released, submitted again: its chunks are preserved now, so
 * the filter lets it pass; meanwhile the copy is written to the storage,
 * and the map then points there.  Writes to preserved chunks pass at once.
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
#include "compat.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* The most bytes read from the original into one copy. */
#define BS_COPY_MAX_BYTES	SZ_1M
/* The most read ahead of a sequential writer (cow_ahead_kib). */
#define BS_AHEAD_MAX_KIB	(SZ_64M >> 10)
/* The storage's room left beyond what is read ahead, at least. */
#define BS_AHEAD_ROOM_SECT	(SZ_64M >> SECTOR_SHIFT)

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
 * @ref: one for the table, one per image read using it, one from its
 *	load until it is stored or dropped.
 * @ahead: read ahead of a sequential writer rather than for a write:
 *	should its load fail, its chunks are only on the original again.
 * @error: the error of its load or store.
 * @pending_bios: load bios not yet completed.
 * @waiting: writes waiting for it; under area->lock.
 * @blocked_link: entry in area->blocked while @blocked; under area->lock.
 * @loaded: entry in area->loaded, once its load is done.
 * @store_link: entry in area->to_store while it waits to be stored; under
 *	area->lock; then in the batch of the store work.
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
	bool ahead;
	int error;
	atomic_t pending_bios;
	struct bio_list waiting;
	struct list_head blocked_link;
	struct llist_node loaded;
	struct list_head store_link;
	unsigned int nr_pages;
	struct bio_vec bvec[];
};

static inline struct bs_storage *bs_area_storage(struct bs_area *area)
{
	return area->snap->storage;
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
	bs_storage_wake(bs_area_storage(area));
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

/* Writers throttled by the storage stop waiting once the area failed. */
static bool bs_area_give_up(void *data)
{
	struct bs_area *area = data;

	return READ_ONCE(area->error);
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
	if (__bs_copy_block(area, copy))
		return false;
	bio_list_merge(go, &copy->waiting);
	bio_list_init(&copy->waiting);
	if (copy->state != BS_STORED || !copy->in_table)
		return false;
	bs_map_set_stored(&area->map, copy->first, copy->count,
			  copy->stored_at);
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

/* Release held writes: send them on to the device. */
static void bs_resubmit(struct bs_area *area, struct bio_list *list)
{
	struct bio *bio;

	while ((bio = bio_list_pop(list))) {
		trace_blksnap_cow_release(area->dev, bio->bi_iter.bi_sector -
					  area->start, bio_sectors(bio));
		submit_bio_noacct(bio);
	}
}

/* The store work writes at most this many pages of several copies at once. */
#define BS_STORE_BATCH_PAGES	BS_STORE_VECS

/*
 * Write a batch of loaded copies to the storage, one after the other in
 * one place of it, with one write: under load, copies are loaded faster
 * than they are stored one by one, and their writes merge in none of the
 * layers below.  Then they give their places in the map to the storage.
 */
static void bs_store_batch(struct bs_area *area, struct bio_vec *batch_vec,
			   struct list_head *batch, unsigned int nr_pages)
{
	struct bs_storage *st = bs_area_storage(area);
	struct bio_list go = BIO_EMPTY_LIST;
	struct bs_copy *copy, *tmp;
	struct bio_vec *vec;
	struct iov_iter iter;
	unsigned int done = 0, n = 0;
	bool skip = bs_area_failed(area);
	sector_t at = 0, pos;
	int ret = 0;

	/* Nothing is preserved any more once the device failed. */
	if (skip)
		goto settle;
	copy = list_first_entry(batch, struct bs_copy, store_link);
	if (list_is_singular(batch)) {
		vec = copy->bvec;
	} else {
		/* At most BS_STORE_VECS pages: see bs_store_work(). */
		vec = batch_vec;
		list_for_each_entry(copy, batch, store_link) {
			memcpy(vec + n, copy->bvec,
			       copy->nr_pages * sizeof(*vec));
			n += copy->nr_pages;
		}
	}
	ret = bs_storage_alloc(st, (sector_t)nr_pages <<
			       (PAGE_SHIFT - SECTOR_SHIFT), &at);
	if (ret == -ENOSPC && !list_is_singular(batch)) {
		/* Those that fit still go, one by one. */
		list_for_each_entry_safe(copy, tmp, batch, store_link) {
			LIST_HEAD(one);

			list_move(&copy->store_link, &one);
			bs_store_batch(area, batch_vec, &one, copy->nr_pages);
		}
		return;
	}
	if (!ret) {
		iov_iter_bvec(&iter, ITER_SOURCE, vec, nr_pages,
			      (size_t)nr_pages << PAGE_SHIFT);
		ret = bs_storage_rw(st, at, &iter);
	}

settle:
	pos = at;
	spin_lock(&area->lock);
	list_for_each_entry(copy, batch, store_link) {
		if (skip) {
			copy->state = BS_LOADED;
		} else if (ret) {
			copy->state = BS_FAILED;
			copy->error = ret;
		} else {
			copy->state = BS_STORED;
			copy->stored_at = pos;
			pos += (sector_t)copy->nr_pages <<
			       (PAGE_SHIFT - SECTOR_SHIFT);
			/*
			 * Its writes go, or it is blocked: see bs_unblock().
			 * Settled, it drops the map's reference; the load's
			 * is dropped below.
			 */
			if (__bs_copy_settle(area, copy, &go))
				refcount_dec(&copy->ref);
		}
		done += __bs_copy_dequeue(copy);
	}
	spin_unlock(&area->lock);
	if (done)
		bs_storage_unqueue(st, done);
	list_for_each_entry(copy, batch, store_link)
		trace_blksnap_cow_store_done(area->dev, copy->first,
					     copy->count, skip ? -ESHUTDOWN : ret);
	wake_up_all(&area->wait);
	if (ret) {
		if (ret != -ENOSPC)
			pr_err_ratelimited("%pg: cannot write to the difference storage: %d\n",
					   area->bdev, ret);
		bs_area_fail(area, ret);
	}
	bs_resubmit(area, &go);
	/* The references of their loads, which the settling left. */
	list_for_each_entry_safe(copy, tmp, batch, store_link) {
		list_del_init(&copy->store_link);
		bs_copy_put(copy);
		if (atomic_dec_and_test(&area->inflight))
			wake_up_all(&area->wait);
	}
}

/* Queue the next store worker of the area. */
static void bs_store_kick(struct bs_area *area)
{
	struct bs_store_worker *w;

	spin_lock(&area->lock);
	w = &area->store[area->store_next];
	area->store_next = (area->store_next + 1) % BS_STORE_WORKERS;
	spin_unlock(&area->lock);
	queue_work(bs_wq, &w->work);
}

/*
 * Store the copies waiting in area->to_store, in batches.  A worker that
 * leaves copies behind when it takes a batch queues the next one, so that
 * as many writes as workers go to the storage at once under a backlog, and
 * one at a time otherwise, in as large batches as there are.
 */
static void bs_store_work(struct work_struct *work)
{
	struct bs_store_worker *w = container_of(work, struct bs_store_worker,
						 work);
	struct bs_area *area = w->area;
	unsigned int noio = memalloc_noio_save();
	struct bs_copy *copy;
	unsigned int nr_pages;
	bool more;
	LIST_HEAD(batch);

	for (;;) {
		nr_pages = 0;
		spin_lock(&area->lock);
		while ((copy = list_first_entry_or_null(&area->to_store,
							struct bs_copy,
							store_link))) {
			/* A copy larger than a batch goes alone. */
			if (nr_pages &&
			    nr_pages + copy->nr_pages > BS_STORE_BATCH_PAGES)
				break;
			list_move_tail(&copy->store_link, &batch);
			nr_pages += copy->nr_pages;
			if (nr_pages >= BS_STORE_BATCH_PAGES)
				break;
		}
		more = !list_empty(&area->to_store);
		spin_unlock(&area->lock);
		if (!nr_pages)
			break;
		if (more)
			bs_store_kick(area);
		bs_store_batch(area, w->vec, &batch, nr_pages);
	}
	memalloc_noio_restore(noio);
}

/*
 * A copy's load is done: release the writes waiting for it, and queue it
 * to be stored (returns true: a store worker is to be queued), or drop it
 * if there is nothing to preserve any more.
 */
static bool bs_copy_loaded(struct bs_area *area, struct bs_copy *copy)
{
	struct bio_list go = BIO_EMPTY_LIST;
	unsigned int dropped = 0;
	bool store = false, unset = false;
	int error;

	trace_blksnap_cow_load_done(area->dev, copy->first, copy->count,
				    copy->error);
	spin_lock(&area->lock);
	error = copy->error;
	if (error || area->error) {
		/* Nothing to preserve any more: the writes go on. */
		copy->state = error ? BS_FAILED : BS_LOADED;
		/*
		 * Unless nobody asked for this old data yet: then its chunks
		 * are only on the original again, and the writes that came
		 * for them meanwhile, filtered anew, read it for themselves.
		 */
		unset = error && copy->ahead && !area->error;
		if (unset) {
			bs_map_unset(&area->map, copy->first, copy->count);
			copy->in_table = false;
			refcount_dec(&copy->ref);
		}
		bio_list_merge(&go, &copy->waiting);
		bio_list_init(&copy->waiting);
		dropped = __bs_copy_dequeue(copy);
	} else {
		__bs_copy_settle(area, copy, &go);
		copy->state = BS_STORING;
		list_add_tail(&copy->store_link, &area->to_store);
		store = true;
	}
	spin_unlock(&area->lock);
	if (dropped)
		bs_storage_unqueue(bs_area_storage(area), dropped);
	wake_up_all(&area->wait);

	if (unset) {
		pr_warn_ratelimited("%pg: cannot read ahead of a writer: %d\n",
				    area->bdev, error);
	} else if (error) {
		pr_err_ratelimited("%pg: cannot read old data for copy-on-write: %d\n",
				   area->bdev, error);
		bs_area_fail(area, error);
	}
	bs_resubmit(area, &go);
	if (store)
		return true;
	bs_copy_put(copy);
	if (atomic_dec_and_test(&area->inflight))
		wake_up_all(&area->wait);
	return false;
}

/*
 * Copies whose loads are done, in the order they were done: their writes
 * go on together, under one plug.
 */
static void bs_loaded_work(struct work_struct *work)
{
	struct bs_area *area = container_of(work, struct bs_area,
					    loaded_work);
	unsigned int noio = memalloc_noio_save();
	struct bs_copy *copy, *tmp;
	struct llist_node *list;
	struct blk_plug plug;
	bool store = false;

	list = llist_reverse_order(llist_del_all(&area->loaded));
	blk_start_plug(&plug);
	llist_for_each_entry_safe(copy, tmp, list, loaded)
		store |= bs_copy_loaded(area, copy);
	blk_finish_plug(&plug);
	if (store)
		bs_store_kick(area);
	memalloc_noio_restore(noio);
}

static void bs_load_endio(struct bio *bio)
{
	struct bs_copy *copy = bio->bi_private;
	struct bs_area *area = copy->area;

	if (bio->bi_status)
		copy->error = blk_status_to_errno(bio->bi_status);
	bio_put(bio);
	if (atomic_dec_and_test(&copy->pending_bios) &&
	    llist_add(&copy->loaded, &area->loaded))
		queue_work(bs_wq, &area->loaded_work);
}

/*
 * Read the copy's chunks from the original.  The copy holds a reference
 * and an inflight count from here until it is stored or dropped.
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
	trace_blksnap_cow_load(area->dev, copy->first, copy->count, 0);
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
	if (atomic_dec_and_test(&copy->pending_bios) &&
	    llist_add(&copy->loaded, &area->loaded))
		queue_work(bs_wq, &area->loaded_work);
}

/*
 * A new copy of @count chunks from @first, counted in the storage's queue:
 * waiting for room there, or, @nowait, ERR_PTR(-EAGAIN) if there is none.
 */
static struct bs_copy *bs_copy_alloc(struct bs_area *area, unsigned long first,
				     unsigned int count, bool nowait)
{
	struct bs_storage *st = bs_area_storage(area);
	unsigned int nr_pages = ((size_t)count << area->chunk_shift) >>
				PAGE_SHIFT;
	struct bs_copy *copy;

	if (!nowait)
		bs_storage_queue(st, count, bs_area_give_up, area);
	else if (!bs_storage_try_queue(st, count))
		return ERR_PTR(-EAGAIN);
	copy = kzalloc(struct_size(copy, bvec, nr_pages), GFP_NOIO);
	if (!copy) {
		bs_storage_unqueue(st, count);
		return ERR_PTR(-ENOMEM);
	}
	copy->area = area;
	copy->first = first;
	copy->count = count;
	copy->state = BS_LOADING;
	copy->queued = true;
	copy->nr_pages = nr_pages;
	refcount_set(&copy->ref, 1);
	bio_list_init(&copy->waiting);
	INIT_LIST_HEAD(&copy->blocked_link);
	INIT_LIST_HEAD(&copy->store_link);
	if (bs_storage_pages_get(st, copy->bvec, nr_pages)) {
		bs_copy_free(copy);
		return ERR_PTR(-ENOMEM);
	}
	return copy;
}

/* How bs_load_next_run() goes about it. */
#define BS_LOAD_NOWAIT	BIT(0)	/* no waiting for room in the storage's queue */
#define BS_LOAD_AHEAD	BIT(1)	/* reading ahead of a writer */

/*
 * Start preserving the first run of chunks of [first, last] that are only
 * on the original.  Returns 1 if it started one, 0 if there is none, or a
 * negative errno: -EAGAIN, with BS_LOAD_NOWAIT in @flags, if the storage's
 * queue is full.  May sleep.
 */
static int bs_load_next_run(struct bs_area *area, unsigned long first,
			    unsigned long last, unsigned int flags)
{
	unsigned int max = max(BS_COPY_MAX_BYTES >> area->chunk_shift, 1U);
	unsigned long run = 0, start = 0;
	struct bs_copy *copy;

	spin_lock(&area->lock);
	if (!area->error)
		run = bs_map_next_empty(&area->map, first, last, max, &start);
	spin_unlock(&area->lock);
	if (!run)
		return 0;

	copy = bs_copy_alloc(area, start, run, flags & BS_LOAD_NOWAIT);
	if (IS_ERR(copy))
		return PTR_ERR(copy);
	copy->ahead = flags & BS_LOAD_AHEAD;
	spin_lock(&area->lock);
	if (area->error) {
		spin_unlock(&area->lock);
		bs_copy_put(copy);
		return 0;
	}
	if (bs_map_empty_run(&area->map, start, start + run - 1) != run) {
		/* Someone else was quicker: look again. */
		spin_unlock(&area->lock);
		bs_copy_put(copy);
		return 1;
	}
	bs_map_set(&area->map, start, run, copy);
	copy->in_table = true;
	spin_unlock(&area->lock);
	bs_copy_load(copy);
	return 1;
}

/* For bs_map_scan(), under area->lock: the first copy a write waits for. */
static void bs_write_scan_copy(struct bs_copy *copy, void *data)
{
	struct bs_copy **wait = data;

	if (!*wait && (copy->state == BS_LOADING || copy->blocked))
		*wait = copy;
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

	*fresh = bs_map_scan(&area->map, first, last, bs_write_scan_copy,
			     &wait) <= last - first;
	return wait;
}

/*
 * Copy-on-write for one write: start reading the old data of its chunks
 * that are only on the original, and park it on the first copy it must
 * wait for.  Returns 1 if it was parked, 0 if it may go now (nothing to
 * wait for, or the snapshot failed), or -EAGAIN if it must go to a cow
 * worker: @nowait (in the submitter's context), and the storage's queue
 * is full, or a chunk is only on the original again (an image read
 * dropped its copy meanwhile), which a worker's submission filters anew.
 * May sleep.
 */
static int bs_cow_start(struct bs_area *area, struct bio *bio, bool nowait)
{
	sector_t sector = bio->bi_iter.bi_sector - area->start;
	unsigned long first, last;
	struct bs_copy *wait;
	bool fresh;
	int ret;

	if (!bs_map_range(&area->map, sector, bio_sectors(bio), &first, &last))
		return 0;
	ret = bs_map_reserve(&area->map, first, last);
	if (ret) {
		bs_area_fail(area, ret);
		return 0;
	}
	/* Start reading every run of fresh chunks, then wait for the first. */
	do {
		ret = bs_load_next_run(area, first, last,
				       nowait ? BS_LOAD_NOWAIT : 0);
	} while (ret > 0);
	if (ret == -EAGAIN)
		return ret;
	if (ret < 0) {
		bs_area_fail(area, ret);
		return 0;
	}
	spin_lock(&area->lock);
	if (area->error) {
		spin_unlock(&area->lock);
		return 0;
	}
	wait = __bs_write_scan(area, first, last, &fresh);
	if (wait)
		bio_list_add(&wait->waiting, bio);
	spin_unlock(&area->lock);
	if (wait)
		return 1;
	return fresh && nowait ? -EAGAIN : 0;
}

/* Copy-on-write for one write taken off its submitter.  May sleep. */
static void bs_cow_bio(struct bs_area *area, struct bio *bio)
{
	/* Fresh chunks again (see bs_cow_start()): filtered again. */
	if (bs_cow_start(area, bio, false) <= 0)
		submit_bio_noacct(bio);
}

/* Caller holds area->lock.  Hand a write to a cow worker. */
static void __bs_cow_defer(struct bs_area *area, struct bio *bio)
{
	bio_list_add(&area->pending, bio);
	/* Setting up copies costs CPU: spread it over the workers. */
	queue_work(bs_wq, &area->cow[area->cow_next].work);
	area->cow_next = (area->cow_next + 1) % BS_COW_WORKERS;
}

/*
 * Copy-on-write in the submitter's context, which may sleep: the reads of
 * old data join its bio list and go down as soon as the filter returns,
 * without a worker's hand-off first.  Returns whether the write was taken.
 */
static bool bs_cow_inline(struct bs_area *area, struct bio *bio)
{
	unsigned int noio = memalloc_noio_save();
	int ret = bs_cow_start(area, bio, true);

	memalloc_noio_restore(noio);
	if (ret >= 0)
		return ret;
	spin_lock(&area->lock);
	__bs_cow_defer(area, bio);
	spin_unlock(&area->lock);
	return true;
}

static void bs_cow_work(struct work_struct *work)
{
	struct bs_cow_worker *w = container_of(work, struct bs_cow_worker,
					       work);
	struct bs_area *area = w->area;
	unsigned int noio = memalloc_noio_save();
	struct blk_plug plug;
	struct bio *bio;

	/* The loads of the writes taken together go down together. */
	blk_start_plug(&plug);
	for (;;) {
		spin_lock(&area->lock);
		bio = bio_list_pop(&area->pending);
		spin_unlock(&area->lock);
		if (!bio)
			break;
		bs_cow_bio(area, bio);
	}
	blk_finish_plug(&plug);
	memalloc_noio_restore(noio);
}

/*
 * Caller holds area->lock.  Read ahead of a sequential writer.  A write
 * to chunks [@first, @last], not all stored, continues the sequence when
 * it starts after the last one, at most where what was read ahead of it
 * ends; any other write with a chunk to copy (@fresh) starts a sequence.
 * Writes behind the sequence with nothing to copy leave it as it is:
 * among them the held writes of the sequence itself, which come through
 * the filter again when released.  Once 1 MiB was written in sequence,
 * the old data of the chunks after the write is read too, by a worker,
 * half a window at a time: as much as was written in sequence, at most
 * cow_ahead_kib.  The writer's next writes then find it in memory, or on
 * its way, rather than each waiting for its own read.  One sequence per
 * device is followed; chunks read ahead and never written cost their
 * room in the storage, as if written.
 */
static void __bs_cow_ahead(struct bs_area *area, unsigned long first,
			   unsigned long last, bool fresh)
{
	unsigned long window = min_t(unsigned long, READ_ONCE(cow_ahead_kib),
				     BS_AHEAD_MAX_KIB);
	unsigned long end = (area->capacity - 1) >> area->map.shift;
	unsigned long from, to, run;

	if (last < area->ahead_next && !fresh)
		return;
	if (first < area->ahead_next || first > area->ahead_end + 1) {
		/* A new sequence. */
		area->ahead_start = first;
		WRITE_ONCE(area->ahead_end, last);
	} else if (last > area->ahead_end) {
		WRITE_ONCE(area->ahead_end, last);
	}
	WRITE_ONCE(area->ahead_next, last + 1);
	run = last + 1 - area->ahead_start;
	if (run < max(SZ_1M >> area->chunk_shift, 2U))
		return;
	window = min((window << 10) >> area->chunk_shift, run);
	if (area->ahead_end >= min(last + window / 2, end))
		return;
	from = area->ahead_end + 1;
	to = min(last + window, end);
	/* A request the worker did not take yet is extended, or replaced. */
	if (!area->ahead_to || area->ahead_to + 1 != from)
		area->ahead_from = from;
	area->ahead_to = to;
	WRITE_ONCE(area->ahead_end, to);
	queue_work(bs_wq, &area->ahead_work);
}

/*
 * Read the old data of the chunks __bs_cow_ahead() asked for.  Best
 * effort: it never waits for room in the storage's queue, gives up on
 * any error, and a failed read fails no snapshot: its chunks are
 * only on the original again (see bs_copy_loaded()).  A storage near its
 * limit gets only what is written: the reads ahead must not be what makes
 * the snapshot overflow.
 */
static void bs_ahead_work(struct work_struct *work)
{
	struct bs_area *area = container_of(work, struct bs_area, ahead_work);
	unsigned long max = (2 * (BS_AHEAD_MAX_KIB << 10)) >> area->chunk_shift;
	struct bs_storage *st = bs_area_storage(area);
	sector_t chunk = 1 << area->map.shift;
	unsigned int noio = memalloc_noio_save();
	unsigned long from, to;
	struct blk_plug plug;

	spin_lock(&area->lock);
	from = area->ahead_from;
	to = area->ahead_to;
	area->ahead_to = 0;
	spin_unlock(&area->lock);
	if (to && to >= from && to - from < max &&
	    bs_storage_room(st, chunk) >= (to - from + 1) * chunk + BS_AHEAD_ROOM_SECT &&
	    !bs_map_reserve(&area->map, from, to)) {
		blk_start_plug(&plug);
		while (bs_load_next_run(area, from, to,
					BS_LOAD_NOWAIT | BS_LOAD_AHEAD) > 0)
			;
		blk_finish_plug(&plug);
	}
	memalloc_noio_restore(noio);
}

/*
 * bs_area_write() for a write over several chunks, or to a chunk not
 * stored: under the area's lock, whether it must wait, and for what.  Not
 * inlined: the rewrites of a stored chunk, which never get here, save no
 * registers and set up no stack canary for it.
 */
static noinline bool bs_area_write_slow(struct bs_area *area,
					struct bio *bio, sector_t sector,
					unsigned long first, unsigned long last)
{
	struct bs_copy *wait;
	bool fresh;

	/*
	 * All stored: no lock, as in bs_area_write(); unless the write goes
	 * on a sequence into what was read ahead of it, which
	 * __bs_cow_ahead() must see to read further (a hint, read without
	 * the lock).
	 */
	if (bs_map_all_stored(&area->map, first, last) &&
	    (first != READ_ONCE(area->ahead_next) ||
	     first > READ_ONCE(area->ahead_end)))
		return false;
	spin_lock(&area->lock);
	if (area->error) {
		spin_unlock(&area->lock);
		return false;
	}
	wait = __bs_write_scan(area, first, last, &fresh);
	if (!wait && !fresh) {
		__bs_cow_ahead(area, first, last, false);
		spin_unlock(&area->lock);
		return false;
	}
	if (bio->bi_opf & REQ_NOWAIT) {
		spin_unlock(&area->lock);
		bio_wouldblock_error(bio);
		return true;
	}
	__bs_cow_ahead(area, first, last, fresh);
	trace_blksnap_cow_hold(area->dev, sector, bio_sectors(bio));
	if (wait && !fresh) {
		bio_list_add(&wait->waiting, bio);
	} else if (!READ_ONCE(cow_inline)) {
		__bs_cow_defer(area, bio);
	} else {
		spin_unlock(&area->lock);
		return bs_cow_inline(area, bio);
	}
	spin_unlock(&area->lock);
	return true;
}

/**
 * bs_area_write() - copy-on-write for a write to the original
 * @area: the area of the bio's device.
 * @bio: a write, discard or write-zeroes.
 *
 * Context: the submitter's, from the filter; sleeps only to set up the
 * copy-on-write of a write without REQ_NOWAIT (cow_inline), as a
 * submitter may.
 * Return: true if the write was taken (it goes on once its chunks are
 * preserved), false if it may pass now.
 */
bool bs_area_write(struct bs_area *area, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector - area->start;
	unsigned long first, last;

	if (!bs_map_range(&area->map, sector, bio_sectors(bio), &first, &last))
		return false;
	/*
	 * Rewrites of preserved chunks, the common case, take no lock: the
	 * map's stored bits are set once the old data is in the storage and
	 * no image read of the original keeps writes back, and never cleared
	 * (see bs_map_all_stored()); the area lives until destroy has waited
	 * for this callback (see bs_submit_area()).  A write within one
	 * chunk is answered here, with a bit test; the others go on.
	 */
	if (likely(first == last) && bs_map_all_stored(&area->map, first, last))
		return false;
	return bs_area_write_slow(area, bio, sector, first, last);
}

/* For the image. */

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
	/* Image writes wait in bs_area_preserve() for copies to settle. */
	if (!list_empty(&put))
		wake_up_all(&area->wait);
	bs_resubmit(area, &go);
	/* The map's references of the copies now stored. */
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

/**
 * bs_area_read_map() - where the image finds the data of a stretch
 * @area: the area of the image.
 * @pos: first sector, within the device.
 * @len: sectors wanted, none past the end of the device.
 * @ext: out: the data of the first stretch of [@pos, @pos + @len) that
 *	lies in one place; to be given back with bs_area_read_done().
 * @wait: wait for old data being read from the original; if false,
 *	-EAGAIN instead.
 *
 * A stretch on the original is registered as read until it is given back:
 * writes to its chunks wait until then.
 *
 * Context: process if @wait, else any but interrupt.
 * Return: 0, -EAGAIN, or -EIO if the snapshot of the device failed.
 */
int bs_area_read_map(struct bs_area *area, sector_t pos, sector_t len,
		     struct bs_extent *ext, bool wait)
{
	struct bs_map *map = &area->map;
	unsigned long c = pos >> map->shift;
	unsigned long last = (pos + len - 1) >> map->shift;
	struct bs_copy *copy;
	sector_t end, at;
	bool loading;
	void *e;

	for (;;) {
		spin_lock(&area->lock);
		if (area->error)
			break;
		e = bs_map_get(map, c);
		if (!e) {
			end = c + bs_map_empty_run(map, c, last);
			__bs_reader_start(area, &ext->reader, c, end - 1);
			spin_unlock(&area->lock);
			ext->kind = BS_ON_ORIGINAL;
			end <<= map->shift;
			goto out;
		}
		if (xa_is_value(e)) {
			end = c + bs_map_stored_run(map, c, last, &at);
			spin_unlock(&area->lock);
			ext->kind = BS_IN_STORAGE;
			ext->at = at + pos - ((sector_t)c << map->shift);
			end <<= map->shift;
			goto out;
		}
		copy = e;
		if (copy->state == BS_FAILED)
			break;
		loading = copy->state == BS_LOADING;
		if (loading && !wait) {
			spin_unlock(&area->lock);
			return -EAGAIN;
		}
		refcount_inc(&copy->ref);
		spin_unlock(&area->lock);
		if (loading) {
			bs_copy_wait(area, copy, BS_LOADING);
			continue;
		}
		ext->kind = BS_IN_MEMORY;
		ext->copy = copy;
		ext->offset = (pos - ((sector_t)copy->first << map->shift)) <<
			      SECTOR_SHIFT;
		end = (sector_t)(copy->first + copy->count) << map->shift;
		goto out;
	}
	spin_unlock(&area->lock);
	return -EIO;
out:
	ext->sectors = min(len, end - pos);
	return 0;
}

/**
 * bs_area_read_done() - give back a stretch of bs_area_read_map()
 * @area: the area.
 * @ext: the stretch, read or not.
 *
 * Context: any for a stretch on the original or in the storage; process
 * for one in memory.
 */
void bs_area_read_done(struct bs_area *area, struct bs_extent *ext)
{
	if (ext->kind == BS_ON_ORIGINAL) {
		if (bs_reader_end(area, &ext->reader))
			queue_work(bs_wq, &area->unblock_work);
	} else if (ext->kind == BS_IN_MEMORY) {
		bs_copy_put(ext->copy);
	}
}

/**
 * bs_area_read_memory() - read a stretch in memory
 * @ext: a stretch of bs_area_read_map(), in memory.
 * @iter: where to; its next @ext->sectors are filled.
 *
 * Return: 0 or -EFAULT.
 */
int bs_area_read_memory(struct bs_extent *ext, struct iov_iter *iter)
{
	size_t off = ext->offset, len = ext->sectors << SECTOR_SHIFT;

	while (len) {
		struct page *page = ext->copy->bvec[off >> PAGE_SHIFT].bv_page;
		size_t po = offset_in_page(off);
		size_t n = min(len, PAGE_SIZE - po);

		if (copy_page_to_iter(page, po, n, iter) != n)
			return -EFAULT;
		off += n;
		len -= n;
	}
	return 0;
}

/**
 * bs_area_preserve() - make a chunk stored, for an image write
 * @area: the area.
 * @c: the chunk.
 * @at: out: its place in the storage.
 *
 * Context: process; may sleep.
 * Return: 0, -EIO if the snapshot of the device failed, or another
 * negative errno.
 */
int bs_area_preserve(struct bs_area *area, unsigned long c, sector_t *at)
{
	struct bs_copy *copy;
	void *e;
	int ret;

	ret = bs_map_reserve(&area->map, c, c);
	if (ret)
		return ret;
	for (;;) {
		spin_lock(&area->lock);
		if (area->error) {
			spin_unlock(&area->lock);
			return -EIO;
		}
		e = bs_map_get(&area->map, c);
		if (xa_is_value(e)) {
			spin_unlock(&area->lock);
			*at = xa_to_value(e);
			return 0;
		}
		if (!e) {
			spin_unlock(&area->lock);
			ret = bs_load_next_run(area, c, c, 0);
			if (ret < 0)
				return ret;
			continue;
		}
		copy = e;
		refcount_inc(&copy->ref);
		spin_unlock(&area->lock);
		wait_event(area->wait, READ_ONCE(area->error) ||
			   READ_ONCE(copy->state) == BS_FAILED ||
			   !READ_ONCE(copy->in_table));
		bs_copy_put(copy);
	}
}

/**
 * bs_area_mark_dirty() - the image wrote to a range of the device
 * @area: the area.
 * @sector: first sector.
 * @count: number of sectors.
 *
 * The device's change tracker marks the range, if the device still has
 * its filter.
 */
void bs_area_mark_dirty(struct bs_area *area, sector_t sector,
			sector_t count)
{
	spin_lock(&area->lock);
	if (area->tracker)
		bs_cbt_mark_dirty(area->tracker, sector, count);
	spin_unlock(&area->lock);
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
	area = kvzalloc(sizeof(*area), GFP_KERNEL);
	if (!area)
		return ERR_PTR(-ENOMEM);
	if (bs_map_init(&area->map, capacity, shift)) {
		kvfree(area);
		return ERR_PTR(-ENOMEM);
	}
	area->snap = snap;
	area->tracker = t;
	area->bdev = t->bdev;
	area->dev = t->dev;
	area->start = t->start;
	area->capacity = capacity;
	area->chunk_shift = shift;
	spin_lock_init(&area->lock);
	bio_list_init(&area->pending);
	INIT_LIST_HEAD(&area->readers);
	INIT_LIST_HEAD(&area->blocked);
	spin_lock_init(&area->readers_lock);
	for (i = 0; i < BS_COW_WORKERS; i++) {
		area->cow[i].area = area;
		INIT_WORK(&area->cow[i].work, bs_cow_work);
	}
	INIT_WORK(&area->ahead_work, bs_ahead_work);
	INIT_WORK(&area->unblock_work, bs_unblock_work);
	init_llist_head(&area->loaded);
	INIT_WORK(&area->loaded_work, bs_loaded_work);
	INIT_LIST_HEAD(&area->to_store);
	for (i = 0; i < BS_STORE_WORKERS; i++) {
		area->store[i].area = area;
		INIT_WORK(&area->store[i].work, bs_store_work);
	}
	atomic_set(&area->inflight, 0);
	init_waitqueue_head(&area->wait);
	bs_image_init_area(area);
	get_device(&area->bdev->bd_device);
	return area;
}

/**
 * bs_area_untrack() - the device's filter is going
 * @area: the area.
 *
 * Image writes are no longer marked in the device's change tracker.
 */
void bs_area_untrack(struct bs_area *area)
{
	spin_lock(&area->lock);
	area->tracker = NULL;
	spin_unlock(&area->lock);
}

/**
 * bs_area_freeze() - freeze the filesystem on the area's device, for a take
 * @area: the area.
 *
 * A filesystem frozen already (by fsfreeze, say) is as still as it gets:
 * 6.1 answers EBUSY there, 6.12 nests the freeze; either way it is taken
 * as it is, and not thawed by bs_area_thaw().
 *
 * Context: process; may sleep.
 * Return: 0 or a negative errno.
 */
int bs_area_freeze(struct bs_area *area)
{
	int ret = bdev_freeze(area->bdev);

	if (ret == -EBUSY) {
		pr_info("%pg: filesystem frozen already, taken as it is\n",
			area->bdev);
		return 0;
	}
	if (ret) {
		pr_err("cannot freeze %pg: %d\n", area->bdev, ret);
		return ret;
	}
	area->frozen = true;
	return 0;
}

/**
 * bs_area_thaw() - thaw what bs_area_freeze() froze
 * @area: the area.
 *
 * Context: process; may sleep.
 */
void bs_area_thaw(struct bs_area *area)
{
	if (area->frozen)
		bdev_thaw(area->bdev);
	area->frozen = false;
}

static void bs_cow_flush(struct bs_area *area)
{
	unsigned int i;

	for (i = 0; i < BS_COW_WORKERS; i++)
		flush_work(&area->cow[i].work);
	flush_work(&area->ahead_work);
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
	unsigned int i;

	bs_area_fail(area, -ESHUTDOWN);
	bs_cow_flush(area);
	wait_event(area->wait, !atomic_read(&area->inflight));
	/* Their last copies may still be on their way out of these. */
	flush_work(&area->loaded_work);
	for (i = 0; i < BS_STORE_WORKERS; i++)
		flush_work(&area->store[i].work);
	/* A write parked on a copy whose work ran before the failure. */
	bs_cow_flush(area);
}

/* The map's reference of a copy still in it, at the end. */
static void bs_area_drop_copy(struct bs_copy *copy)
{
	if (!copy->in_table)
		return;
	copy->in_table = false;
	WARN_ON_ONCE(!bio_list_empty(&copy->waiting));
	if (copy->blocked)
		list_del_init(&copy->blocked_link);
	bs_copy_put(copy);
}

/**
 * bs_area_free() - free a stopped area
 * @area: the area.
 */
void bs_area_free(struct bs_area *area)
{
	/* Queued by the end of a direct image read. */
	flush_work(&area->unblock_work);
	bs_map_destroy(&area->map, bs_area_drop_copy);
	put_device(&area->bdev->bd_device);
	kvfree(area);
}
