/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blksnap: the internal interface between the parts of the module.
 *
 *   main.c      module parameters, load and unload, /dev/blksnap-control
 *   tracker.c   the "blksnap" filter: change tracker, holding writes back
 *               for a take, BLKFILTER_CTL commands
 *   snapshot.c  snapshots: create, add, take, destroy, events
 *   area.c      copy-on-write of one device of a snapshot: the write path
 *               (hold, read old data, release, store), and where the
 *               snapshot's data of a stretch is, for the image
 *   map.c       the chunk map of one device: where each chunk's old data is
 *   storage.c   the difference storage, its space and its accounting of
 *               old data waiting in memory
 *   image.c     the snapshot image block devices and their I/O
 *   wil.c       the write-intent log of a tracker (an extension): the
 *               regions of the device written since a checkpoint, on disk
 *
 * Each file changes only its own structures' fields; the others call its
 * functions.  Structures shared here are read by other files where their
 * comments say so.
 *
 * Lock order: bs_snapshot.lock, then bs_mutex, then bs_area.lock, then
 * bs_tracker.lock or bs_storage.lock; the lock of a write-intent log
 * (wil.c) after bs_tracker.lock.  bs_mutex is never held while an image
 * disk is added or deleted (the blkfilter module takes its own mutex
 * there, and calls our detach with it held).
 */
#ifndef _BLKSNAP_INTERNAL_H
#define _BLKSNAP_INTERNAL_H

#include <linux/bio.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/blk-filter.h>
#include <linux/blkdev.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/uuid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/blksnap.h>

struct bs_area;
struct bs_copy;
struct bs_snapshot;
struct bs_storage;
struct bs_wil;

/* main.c: module parameters, read when they are used. */
extern unsigned int tracking_block_minimum_shift;
extern unsigned int tracking_block_maximum_shift;
extern unsigned int tracking_block_maximum_count;
extern unsigned int chunk_minimum_shift;
extern unsigned int chunk_maximum_shift;
extern unsigned int chunk_maximum_count;
extern unsigned int chunk_maximum_in_queue;
extern bool cow_inline;
extern unsigned int cow_ahead_kib;
extern unsigned int free_diff_buffer_pool_size;
extern unsigned long diff_storage_minimum;

/* Serializes snapshot membership and the list of snapshots. */
extern struct mutex bs_mutex;
/* Copy-on-write, storage and image work; unbound, may reclaim. */
extern struct workqueue_struct *bs_wq;

/**
 * struct bs_cbt - change tracker of one device
 * @block_shift: tracking block size, log2 of bytes.
 * @block_count: number of blocks, one byte each in both maps.
 * @active: map of the changes since the last take.
 * @readable: the map as it was at the last take, for userspace.
 * @active_nr: number written into @active for a change.
 * @readable_nr: the number of the last take (changes_number).
 * @generation: changes when the maps are reset.
 *
 * The maps, numbers and generation are changed under the tracker's lock;
 * @readable is copied to userspace without it, and writes mark @active
 * without it while no take holds them back (see bs_submit_bio()).
 */
struct bs_cbt {
	unsigned int block_shift;
	u32 block_count;
	u8 *active;
	u8 *readable;
	u8 active_nr;
	u8 readable_nr;
	uuid_t generation;
};

/**
 * struct bs_tracker - the blksnap filter on one block device
 * @filter: what the blkfilter framework knows of us.
 * @bdev: the device; read by the other files.
 * @dev: its device number; read by the other files.
 * @start: first sector of the device on its disk (bios arrive remapped);
 *	read by area.c.
 * @capacity: size in sectors when attached.
 * @lock: protects @held, and @cbt, @hold and @area against each other's
 *	writers; the write path reads these without it, ordered by @hold
 *	(see bs_submit_bio()).
 * @cbt: the change tracker.
 * @next: during a take, maps for the device's new size, if it changed;
 *	after the switch, the maps they replaced.  Protected by bs_mutex.
 * @next_capacity: the new size, for @next; protected by bs_mutex.
 * @map_lock: keeps the maps of @cbt from being freed while a cbtmap
 *	command copies from them; taken after bs_mutex.
 * @hold: writes are held back while a take switches the snapshot.
 * @held: the writes held back.
 * @area: copy-on-write state while a taken snapshot holds the device.
 * @snap_area: the device's part of a snapshot it was added to, taken or
 *	not; protected by bs_mutex.
 * @used: the tracker was added to a snapshot or restored since the
 *	attach: a saved map can no longer be restored into it; protected by
 *	bs_mutex.
 * @wil: the write-intent log, or NULL; set and cleared under bs_mutex and
 *	@lock with writes held back, read by the write path as @area is.
 */
struct bs_tracker {
	struct blkfilter filter;
	struct block_device *bdev;
	dev_t dev;
	sector_t start;
	sector_t capacity;
	spinlock_t lock;	/* see above */
	struct bs_cbt cbt;
	struct bs_cbt next;
	sector_t next_capacity;
	struct mutex map_lock;	/* see above */
	bool hold;
	struct bio_list held;
	struct bs_area *area;
	struct bs_area *snap_area;
	bool used;
	struct bs_wil *wil;
};

/* tracker.c */
int bs_tracker_init(void);
void bs_tracker_exit(void);
void bs_cbt_mark_dirty(struct bs_tracker *t, sector_t sector, sector_t count);
struct bs_area *bs_tracker_snap_area(struct bs_tracker *t);
void bs_tracker_join(struct bs_tracker *t, struct bs_area *area);
void bs_tracker_leave(struct bs_tracker *t);
int bs_tracker_prepare(struct bs_tracker *t);
void bs_tracker_hold(struct bs_tracker *t);
void bs_tracker_sync(struct bs_tracker *t);
void bs_tracker_switch(struct bs_tracker *t, struct bs_area *area);
void bs_tracker_finish(struct bs_tracker *t);

/* storage.c */
struct bs_storage *bs_storage_create(unsigned int fd, sector_t limit);
struct bs_storage *bs_storage_open_fixed(unsigned int fd, sector_t size);
void bs_storage_destroy(struct bs_storage *st);
int bs_storage_alloc(struct bs_storage *st, sector_t count, sector_t *sector);
int bs_storage_rw(struct bs_storage *st, sector_t sector,
		  struct iov_iter *iter);
int bs_storage_write_durable(struct bs_storage *st, sector_t sector,
			     struct iov_iter *iter);
bool bs_storage_on(struct bs_storage *st, struct block_device *bdev);
struct block_device *bs_storage_bdev(struct bs_storage *st);
void bs_storage_queue(struct bs_storage *st, unsigned int chunks,
		      bool (*give_up)(void *data), void *data);
bool bs_storage_try_queue(struct bs_storage *st, unsigned int chunks);
sector_t bs_storage_room(struct bs_storage *st, sector_t chunk);
void bs_storage_unqueue(struct bs_storage *st, unsigned int chunks);
void bs_storage_wake(struct bs_storage *st);
int bs_storage_pages_get(struct bs_storage *st, struct bio_vec *bvec,
			 unsigned int nr);
void bs_storage_pages_put(struct bs_storage *st, struct bio_vec *bvec,
			  unsigned int nr);

/**
 * struct bs_wil - the write-intent log of a tracker (wil.c)
 * @cur: the regions written since the last take whose bits are on the log
 *	already: a write into them passes at once.  Bits are set under
 *	@lock once on disk, and tested without it by bs_wil_covered(); the
 *	bitmap is cleared only while the tracker's writes are held back.
 * @region_shift: region size, log2 of sectors.
 * @region_count: number of regions, bits of the bitmaps.
 *
 * The other fields are wil.c's own.
 */
struct bs_wil {
	unsigned long *cur;
	unsigned int region_shift;
	u64 region_count;
};

/**
 * bs_wil_covered() - whether a write needs nothing of the log
 * @wil: the log.
 * @sector: the first sector written, relative to the device.
 * @count: sectors, at least one.
 *
 * Runs for every write of a device with a log, without a lock.  Sectors
 * past the regions (the device grew) count as the last region's.
 *
 * Return: true if the bits of all the regions of the write are on the log.
 */
static __always_inline bool bs_wil_covered(const struct bs_wil *wil,
					   sector_t sector, sector_t count)
{
	u64 last = (sector + count - 1) >> wil->region_shift;
	u64 r = sector >> wil->region_shift;

	if (unlikely(last >= wil->region_count)) {
		last = wil->region_count - 1;
		r = min(r, last);
	}
	for (; r <= last; r++)
		if (!test_bit(r, wil->cur))
			return false;
	return true;
}

/* wil.c */
int bs_wil_geometry(sector_t capacity, u64 region_size,
		    struct blksnap_cbtlog *arg);
struct bs_wil *bs_wil_create(unsigned int fd, struct block_device *bdev,
			     sector_t capacity, u64 region_size,
			     const uuid_t *generation, u8 nr);
void bs_wil_mark(struct bs_wil *wil, u64 offset, u64 len);
int bs_wil_sync(struct bs_wil *wil);
bool bs_wil_hold(struct bs_wil *wil, struct bio *bio, sector_t sector,
		 sector_t count);
void bs_wil_epoch(struct bs_wil *wil);
int bs_wil_checkpoint(struct bs_wil *wil, const uuid_t *generation, u8 nr);
void bs_wil_state(struct bs_wil *wil, struct blksnap_cbtlog *arg);
void bs_wil_destroy(struct bs_wil *wil);

/**
 * struct bs_map - the chunk map of one device of a snapshot (map.c)
 * @chunks: an entry per chunk written since the take: a struct bs_copy
 *	or the old data's place in the storage, xa_mk_value(sector).
 *	Changed under the owner's lock.
 * @stored: a bit per chunk of the device, set once its entry in @chunks
 *	is a place in the storage, after the entry, and never cleared; set
 *	under the owner's lock, read without it by bs_map_all_stored().
 * @shift: chunk size, log2 of sectors.
 * @capacity: size of the device, sectors.
 *
 * @shift, @capacity and the pointers are set at init and read without a
 * lock by the owner and by bs_map_range() and bs_map_all_stored().
 */
struct bs_map {
	struct xarray chunks;
	unsigned long *stored;
	unsigned int shift;
	sector_t capacity;
};

/* map.c */
int bs_map_init(struct bs_map *map, sector_t capacity,
		unsigned int chunk_shift);
void bs_map_destroy(struct bs_map *map, void (*drop)(struct bs_copy *copy));
int bs_map_reserve(struct bs_map *map, unsigned long first,
		   unsigned long last);
void bs_map_set(struct bs_map *map, unsigned long first, unsigned int count,
		struct bs_copy *copy);
void bs_map_unset(struct bs_map *map, unsigned long first, unsigned int count);
void bs_map_set_stored(struct bs_map *map, unsigned long first,
		       unsigned int count, sector_t at);
unsigned long bs_map_empty_run(struct bs_map *map, unsigned long first,
			       unsigned long last);
unsigned long bs_map_next_empty(struct bs_map *map, unsigned long first,
				unsigned long last, unsigned long max,
				unsigned long *start);
unsigned long bs_map_scan(struct bs_map *map, unsigned long first,
			  unsigned long last,
			  void (*visit)(struct bs_copy *copy, void *data),
			  void *data);
unsigned long bs_map_stored_run(struct bs_map *map, unsigned long first,
				unsigned long last, sector_t *at);

/**
 * bs_map_range() - the chunks a range of sectors of the device covers
 * @map: the map.
 * @sector: first sector.
 * @count: number of sectors.
 * @first: out: first chunk.
 * @last: out: last chunk.
 *
 * The part of the range past the end of the device is left out.  Inline:
 * the write path asks it for every write while a snapshot is held.
 *
 * Context: any.
 * Return: false if no chunk is covered.
 */
static __always_inline bool bs_map_range(const struct bs_map *map,
					 sector_t sector, sector_t count,
					 unsigned long *first,
					 unsigned long *last)
{
	if (sector >= map->capacity || !count)
		return false;
	count = min(count, map->capacity - sector);
	*first = sector >> map->shift;
	*last = (sector + count - 1) >> map->shift;
	return true;
}

/**
 * bs_map_all_stored() - whether every chunk of a range is in the storage
 * @map: the map.
 * @first: first chunk.
 * @last: last chunk, of the device (from bs_map_range()).
 *
 * The write path's test, for every write while a snapshot is held: a
 * rewrite of chunks preserved before passes on a bit test, with no lock
 * and no walk of the xarray.  A chunk once stored stays so for the life
 * of the map, so a true answer holds without the owner's lock; a false
 * one may be out of date.
 *
 * Context: any.
 * Return: true if each chunk of [@first, @last] holds a place in the
 * storage.
 */
static __always_inline bool bs_map_all_stored(const struct bs_map *map,
					      unsigned long first,
					      unsigned long last)
{
	if (likely(first == last))
		return test_bit(first, map->stored);
	return find_next_zero_bit(map->stored, last + 1, first) > last;
}

/**
 * bs_map_get() - the entry of a chunk
 * @map: the map.
 * @c: the chunk.
 *
 * Context: the owner's lock held.
 * Return: NULL (only on the original), a value entry (xa_is_value(), the
 * storage's sector by xa_to_value()) or a struct bs_copy.
 */
static inline void *bs_map_get(struct bs_map *map, unsigned long c)
{
	return xa_load(&map->chunks, c);
}

/**
 * struct bs_reader - an image read of the original in progress (area.c)
 * @link: entry in the area's readers.
 * @first: first chunk read.
 * @last: last chunk read.
 */
struct bs_reader {
	struct list_head link;
	unsigned long first;
	unsigned long last;
};

/* Where a stretch of an image read finds its data. */
enum bs_extent_kind {
	BS_ON_ORIGINAL,
	BS_IN_STORAGE,
	BS_IN_MEMORY,
};

/**
 * struct bs_extent - a stretch of an image read, from bs_area_read_map()
 * @kind: where its data is.
 * @sectors: its length, from the sector asked for.
 * @at: BS_IN_STORAGE: where it starts in the storage.
 * @copy: BS_IN_MEMORY: the copy that holds it, referenced.
 * @offset: BS_IN_MEMORY: where it starts in the copy, bytes.
 * @reader: BS_ON_ORIGINAL: keeps writes off it while it is read.
 */
struct bs_extent {
	enum bs_extent_kind kind;
	sector_t sectors;
	sector_t at;
	struct bs_copy *copy;
	size_t offset;
	struct bs_reader reader;
};

/**
 * struct bs_image - the image block device of one snapshot device (image.c)
 * @disk: the disk, from take to destroy.
 * @index: number in its name.
 * @inflight: image bios being served.
 * @idle: woken when @inflight drops to zero.
 */
struct bs_image {
	struct gendisk *disk;
	int index;
	atomic_t inflight;
	wait_queue_head_t idle;
};

/* Work items per area that set up copy-on-write, side by side. */
#define BS_COW_WORKERS		4
/* Pages a store worker writes with one write, at most. */
#define BS_STORE_VECS		256
/* Store workers per area: writes to the storage in flight at once. */
#define BS_STORE_WORKERS	4

/**
 * struct bs_cow_worker - sets up copy-on-write for an area's pending writes
 * @work: the work item.
 * @area: the area.
 */
struct bs_cow_worker {
	struct work_struct work;
	struct bs_area *area;
};

/**
 * struct bs_store_worker - writes an area's loaded copies to the storage
 * @work: the work item.
 * @area: the area.
 * @vec: the pages of the batch it writes; its own.
 */
struct bs_store_worker {
	struct work_struct work;
	struct bs_area *area;
	struct bio_vec vec[BS_STORE_VECS];
};

/**
 * struct bs_area - copy-on-write state of one device of a snapshot (area.c)
 * @link: entry in the snapshot's list of devices; snapshot.c's, under
 *	bs_mutex.
 * @snap: the snapshot.
 * @tracker: the device's tracker; NULL once the filter is detached.
 *	Written under bs_mutex and @lock.
 * @bdev: the original device; a reference on its struct device is held.
 * @dev: its device number.
 * @start: its first sector on the disk.
 * @capacity: its size in sectors.
 * @chunk_shift: chunk size, log2 of bytes.
 * @lock: protects the entries of @map, the copies' states and lists,
 *	@error, @pending and @blocked.
 * @map: where each chunk's old data is.
 * @error: why the snapshot of the device failed, or 0; set once.
 * @pending: writes waiting for a worker of @cow.
 * @readers_lock: protects @readers and @nr_blocked; taken inside @lock,
 *	and from interrupts (the completion of direct image reads).
 * @readers: image reads of the original in progress (struct bs_reader).
 * @blocked: copies whose waiting writes @readers keep back.
 * @nr_blocked: copies in @blocked.
 * @cow: start copy-on-write for @pending.
 * @cow_next: the worker queued next; under @lock.
 * @ahead_start: the first chunk of the sequence of writes followed,
 *	@ahead_next the chunk after its last write, @ahead_end the last
 *	chunk read ahead of it, @ahead_from and @ahead_to the chunks
 *	@ahead_work is to read (@ahead_to 0: none); under @lock (see
 *	__bs_cow_ahead()), @ahead_next and @ahead_end also read without it,
 *	as a hint, by the write path.
 * @ahead_work: reads ahead of a sequential writer.
 * @unblock_work: lets blocked copies go after a direct image read.
 * @loaded: copies whose loads are done, pushed by the loads' completions.
 * @loaded_work: releases the writes of @loaded and queues them for storing.
 * @to_store: copies waiting for a worker of @store; under @lock.
 * @store: write @to_store to the storage, in batches, side by side.
 * @store_next: the store worker queued next; under @lock.
 * @inflight: copies between the start of their load and their end (stored
 *	or dropped).
 * @wait: woken when a copy changed state or @inflight dropped to zero.
 * @frozen: take froze the device's filesystem; under the snapshot's lock.
 * @image: the image device; image.c's.
 */
struct bs_area {
	struct list_head link;
	struct bs_snapshot *snap;
	struct bs_tracker *tracker;
	struct block_device *bdev;
	dev_t dev;
	sector_t start;
	sector_t capacity;
	unsigned int chunk_shift;
	spinlock_t lock;	/* see above */
	struct bs_map map;
	int error;
	struct bio_list pending;
	spinlock_t readers_lock;	/* see above */
	struct list_head readers;
	struct list_head blocked;
	unsigned int nr_blocked;
	struct bs_cow_worker cow[BS_COW_WORKERS];
	unsigned int cow_next;
	unsigned long ahead_start;
	unsigned long ahead_next;
	unsigned long ahead_end;
	unsigned long ahead_from;
	unsigned long ahead_to;
	struct work_struct ahead_work;
	struct work_struct unblock_work;
	struct llist_head loaded;
	struct work_struct loaded_work;
	struct list_head to_store;
	struct bs_store_worker store[BS_STORE_WORKERS];
	unsigned int store_next;
	atomic_t inflight;
	wait_queue_head_t wait;
	bool frozen;
	struct bs_image image;
};

/* area.c */
struct bs_area *bs_area_create(struct bs_snapshot *snap, struct bs_tracker *t);
void bs_area_untrack(struct bs_area *area);
int bs_area_freeze(struct bs_area *area);
void bs_area_thaw(struct bs_area *area);
void bs_area_stop(struct bs_area *area);
void bs_area_free(struct bs_area *area);
bool bs_area_write(struct bs_area *area, struct bio *bio);
void bs_area_fail(struct bs_area *area, int error);
int bs_area_error(struct bs_area *area);
int bs_area_read_map(struct bs_area *area, sector_t pos, sector_t len,
		     struct bs_extent *ext, bool wait);
void bs_area_read_done(struct bs_area *area, struct bs_extent *ext);
int bs_area_read_memory(struct bs_extent *ext, struct iov_iter *iter);
int bs_area_preserve(struct bs_area *area, unsigned long c, sector_t *at);
void bs_area_mark_dirty(struct bs_area *area, sector_t sector,
			sector_t count);

/**
 * bs_area_failed() - whether the snapshot of the area's device failed
 * @area: the area.
 *
 * Without the area's lock, for a quick check; bs_area_error() tells why.
 *
 * Return: true once bs_area_fail() was called.
 */
static inline bool bs_area_failed(struct bs_area *area)
{
	return READ_ONCE(area->error);
}

/* image.c */
int bs_image_init(void);
void bs_image_exit(void);
void bs_image_init_area(struct bs_area *area);
void bs_image_name(struct bs_area *area, char *buf, size_t size);
int bs_image_create(struct bs_area *area);
void bs_image_destroy(struct bs_area *area);

/**
 * struct bs_snapshot - a snapshot of one or more devices
 * @link: entry in the list of snapshots; protected by bs_mutex.
 * @id: its id.
 * @ref: references: the list, waiters for events.
 * @lock: serializes take and destroy.
 * @areas: the devices; protected by bs_mutex.
 * @taken: set by take, under bs_mutex.
 * @dead: set by destroy, under bs_mutex.
 * @error: why the snapshot cannot be taken (a device left it before),
 *	or 0; under @ev_lock.
 * @storage: the difference storage.
 * @ev_lock: protects @events, @spare and @error.
 * @events: events not yet read.
 * @spare: an event for each device that has not failed, allocated when
 *	the device was added.
 * @ev_wait: woken on an event and on destroy.
 */
struct bs_snapshot {
	struct list_head link;
	uuid_t id;
	struct kref ref;
	struct mutex lock;	/* see above */
	struct list_head areas;
	bool taken;
	bool dead;
	int error;
	struct bs_storage *storage;
	spinlock_t ev_lock;	/* see above */
	struct list_head events;
	struct list_head spare;
	wait_queue_head_t ev_wait;
};

/* snapshot.c */
int bs_snapshot_create(struct blksnap_snapshot_create *arg);
int bs_snapshot_destroy(const uuid_t *id);
int bs_snapshot_take(const uuid_t *id);
int bs_snapshot_collect(struct blksnap_snapshot_collect __user *uarg);
int bs_snapshot_wait_event(struct blksnap_snapshot_event __user *uarg);
int bs_snapshot_add(struct bs_tracker *t, const uuid_t *id);
void bs_snapshot_failed(struct bs_snapshot *snap, struct bs_area *area,
			int error);
void bs_snapshot_device_gone(struct bs_tracker *t);

#endif /* _BLKSNAP_INTERNAL_H */
