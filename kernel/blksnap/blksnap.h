/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blksnap: the internal interface between the parts of the module.
 *
 *   main.c      module parameters, load and unload, /dev/blksnap-control
 *   tracker.c   the "blksnap" filter: change tracker, BLKFILTER_CTL commands
 *   snapshot.c  snapshots: create, add, take, destroy, events
 *   area.c      copy-on-write state of one device of a snapshot
 *   storage.c   the difference storage
 *   image.c     the snapshot image block devices
 *
 * Lock order: bs_snapshot.lock, then bs_mutex, then bs_area.lock, then
 * bs_tracker.lock or bs_storage.lock.  bs_mutex is never held while an
 * image disk is added or deleted (the blkfilter module takes its own mutex
 * there, and calls our detach with it held).
 */
#ifndef _BLKSNAP_INTERNAL_H
#define _BLKSNAP_INTERNAL_H

#include <linux/bio.h>
#include <linux/blk-filter.h>
#include <linux/blkdev.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/uuid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/blksnap.h>

struct bs_area;
struct bs_snapshot;

/* main.c: module parameters, read when they are used. */
extern unsigned int tracking_block_minimum_shift;
extern unsigned int tracking_block_maximum_shift;
extern unsigned int tracking_block_maximum_count;
extern unsigned int chunk_minimum_shift;
extern unsigned int chunk_maximum_shift;
extern unsigned int chunk_maximum_count;
extern unsigned int chunk_maximum_in_queue;
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
 * @bdev: the device.
 * @dev: its device number.
 * @start: first sector of the device on its disk (bios arrive remapped).
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
};

/* tracker.c */
int bs_tracker_init(void);
void bs_tracker_exit(void);
void bs_cbt_mark_dirty(struct bs_tracker *t, sector_t sector, sector_t count);
int bs_tracker_prepare(struct bs_tracker *t);
void bs_tracker_switch(struct bs_tracker *t, struct bs_area *area);
void bs_tracker_finish(struct bs_tracker *t);

/**
 * struct bs_storage - the difference storage of a snapshot
 * @file: the file or block device, our own reference.
 * @bdev: the block device that holds the storage, if known.
 * @direct: I/O may bypass the page cache.
 * @is_bdev: @file is a block device.
 * @lock: protects the fields below it.
 * @size: sectors usable now.
 * @used: sectors handed out.
 * @limit: sectors the storage may grow to.
 * @growing: a fallocate() is under way.
 * @grow_error: why the storage cannot grow any more, or 0.
 * @in_memory: chunks whose old data waits in memory.
 * @pool: free pages kept for chunk buffers, linked by page->lru.
 * @pool_count: pages in @pool.
 * @wait: woken when the storage grew or @in_memory went down.
 * @grow_work: grows the storage.
 */
struct bs_storage {
	struct file *file;
	struct block_device *bdev;
	bool direct;
	bool is_bdev;
	spinlock_t lock;	/* see above */
	sector_t size;
	sector_t used;
	sector_t limit;
	bool growing;
	int grow_error;
	unsigned int in_memory;
	struct list_head pool;
	unsigned int pool_count;
	wait_queue_head_t wait;
	struct work_struct grow_work;
};

/* storage.c */
struct bs_storage *bs_storage_create(unsigned int fd, sector_t limit);
void bs_storage_destroy(struct bs_storage *st);
int bs_storage_alloc(struct bs_storage *st, sector_t count, sector_t *sector);
int bs_storage_rw(struct bs_storage *st, sector_t sector,
		  struct iov_iter *iter);
bool bs_storage_on(struct bs_storage *st, struct block_device *bdev);
void bs_storage_throttle(struct bs_storage *st, int *error);
void bs_storage_unqueue(struct bs_storage *st, unsigned int chunks);
int bs_storage_pages_get(struct bs_storage *st, struct bio_vec *bvec,
			 unsigned int nr);
void bs_storage_pages_put(struct bs_storage *st, struct bio_vec *bvec,
			  unsigned int nr);

/**
 * struct bs_image - the image block device of one snapshot device
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
 * struct bs_area - copy-on-write state of one device of a snapshot
 * @link: entry in the snapshot's list of devices.
 * @snap: the snapshot.
 * @tracker: the device's tracker; NULL once the filter is detached.
 *	Written under bs_mutex and @lock.
 * @bdev: the original device; a reference on its struct device is held.
 * @dev: its device number.
 * @start: its first sector on the disk.
 * @capacity: its size in sectors.
 * @chunk_shift: chunk size, log2 of bytes.
 * @chunk_count: number of chunks.
 * @lock: protects the chunk table, the copies' states and lists, @error,
 *	@pending and @blocked.
 * @table: chunk table, two levels: leaves of BS_LEAF_ENTRIES entries.
 * @leaves: number of leaves.
 * @error: why the snapshot of the device failed, or 0; set once.
 * @pending: writes waiting for a worker of @cow.
 * @readers_lock: protects @readers and @nr_blocked; taken inside @lock,
 *	and from interrupts (the completion of direct image reads).
 * @readers: image reads of the original in progress (struct bs_reader).
 * @blocked: copies whose waiting writes @readers keep back.
 * @nr_blocked: copies in @blocked.
 * @cow: start copy-on-write for @pending.
 * @cow_next: the worker queued next; under @lock.
 * @unblock_work: lets blocked copies go after a direct image read.
 * @inflight: copy-on-write work in progress (loads and stores).
 * @wait: woken when a copy changed state or @inflight dropped to zero.
 * @frozen: take froze the device's filesystem; under the snapshot's lock.
 * @image: the image device.
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
	unsigned long chunk_count;
	spinlock_t lock;	/* see above */
	unsigned long **table;
	unsigned long leaves;
	int error;
	struct bio_list pending;
	spinlock_t readers_lock;	/* see above */
	struct list_head readers;
	struct list_head blocked;
	unsigned int nr_blocked;
	struct bs_cow_worker cow[BS_COW_WORKERS];
	unsigned int cow_next;
	struct work_struct unblock_work;
	atomic_t inflight;
	wait_queue_head_t wait;
	bool frozen;
	struct bs_image image;
};

/* area.c */
struct bs_area *bs_area_create(struct bs_snapshot *snap, struct bs_tracker *t);
void bs_area_stop(struct bs_area *area);
void bs_area_free(struct bs_area *area);
bool bs_area_write(struct bs_area *area, struct bio *bio);
void bs_area_fail(struct bs_area *area, int error);
int bs_area_error(struct bs_area *area);
int bs_area_image_io(struct bs_area *area, struct bio *bio);
bool bs_area_image_read_direct(struct bs_area *area, struct bio *bio);
int bs_area_init(void);
void bs_area_exit(void);

/* image.c */
int bs_image_init(void);
void bs_image_exit(void);
int bs_image_create(struct bs_area *area);
void bs_image_destroy(struct bs_area *area);
void bs_image_done(struct bs_area *area);

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

/* Chunk table entries: 0 for a chunk whose old data is still only on the
 * original, BS_STORED(sector) once it is in the storage, else a pointer to
 * the struct bs_copy holding it in memory.
 */
#define BS_LEAF_ENTRIES		(PAGE_SIZE / sizeof(unsigned long))
#define BS_STORED_BIT		1UL

static inline sector_t bs_chunk_sectors(const struct bs_area *area)
{
	return 1ULL << (area->chunk_shift - SECTOR_SHIFT);
}

#endif /* _BLKSNAP_INTERNAL_H */
