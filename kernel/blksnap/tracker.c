// SPDX-License-Identifier: GPL-2.0
/*
 * The "blksnap" filter: one tracker per block device, holding the change
 * tracker of the device and, while a taken snapshot holds the device,
 * sending its writes through copy-on-write.  Also the BLKFILTER_CTL
 * commands of the filter.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/bio-integrity.h>
#include <linux/blk-crypto.h>
#include <linux/blkdev.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "blksnap.h"
#include "compat.h"

/* The most ranges one cbtdirty command may carry. */
#define BS_DIRTY_MAX_COUNT	BIT(20)
/* The largest extension structure a newer caller may pass (zero beyond). */
#define BS_STRUCT_MAX_SIZE	4096

static inline struct bs_tracker *bs_tracker(struct blkfilter *flt)
{
	return container_of(flt, struct bs_tracker, filter);
}

/* Change tracker. */

static void bs_cbt_free(struct bs_cbt *cbt)
{
	vfree(cbt->active);
	vfree(cbt->readable);
	cbt->active = NULL;
	cbt->readable = NULL;
}

static int bs_cbt_init(struct bs_cbt *cbt, sector_t capacity)
{
	u64 bytes = (u64)capacity << SECTOR_SHIFT;
	unsigned int shift = clamp(tracking_block_minimum_shift, 9U, 30U);
	unsigned int max_shift = clamp(tracking_block_maximum_shift, shift, 30U);
	u64 max_count = max(tracking_block_maximum_count, 1U);
	u64 count;

	while ((bytes >> shift) > max_count && shift < max_shift)
		shift++;
	count = DIV_ROUND_UP_ULL(bytes, 1ULL << shift);
	/* Even the largest block leaves more than a map can count. */
	while (count > (u64)INT_MAX) {
		shift++;
		count = DIV_ROUND_UP_ULL(bytes, 1ULL << shift);
	}
	cbt->block_shift = shift;
	cbt->block_count = max_t(u64, count, 1);
	cbt->active = vzalloc(cbt->block_count);
	cbt->readable = vzalloc(cbt->block_count);
	if (!cbt->active || !cbt->readable) {
		bs_cbt_free(cbt);
		return -ENOMEM;
	}
	cbt->active_nr = 1;
	cbt->readable_nr = 0;
	uuid_gen(&cbt->generation);
	return 0;
}

/* The blocks of [sector, sector + count) of the device; count > 0. */
static void bs_cbt_range(struct bs_cbt *cbt, sector_t sector, sector_t count,
			 u32 *first, u32 *last)
{
	unsigned int shift = cbt->block_shift - SECTOR_SHIFT;
	u64 f = sector >> shift;
	u64 l = (sector + count - 1) >> shift;

	*first = min_t(u64, f, cbt->block_count - 1);
	*last = min_t(u64, l, cbt->block_count - 1);
}

/* A write over more than one block: see bs_cbt_mark_write(). */
static noinline void bs_cbt_mark_range(struct bs_cbt *cbt, u8 nr, u32 first,
				       u32 last)
{
	u32 n = last - first + 1;

	/*
	 * Writers racing here all store the same number, and a take reads
	 * the map only after waiting for them: benign races.
	 */
	if (!data_race(memchr_inv(cbt->active + first, nr, n)))
		return;
	/* All of the range again, the bytes already marked too. */
	data_race(memset(cbt->active + first, nr, n));
}

/*
 * Mark a write in the active map, without the tracker's lock: see
 * bs_submit_bio().  Bytes that hold the number already are not stored again,
 * so that CPUs writing to the same area of the device do not take the cache
 * lines of the map from each other.  A write within one block, the common
 * case, is marked inline: this runs for every write.
 */
static __always_inline void bs_cbt_mark_write(struct bs_tracker *t,
					      sector_t sector, sector_t count)
{
	struct bs_cbt *cbt = &t->cbt;
	u8 nr = READ_ONCE(cbt->active_nr);
	u32 first, last;

	if (sector >= t->capacity)
		return;
	bs_cbt_range(cbt, sector, count, &first, &last);
	if (first != last) {
		bs_cbt_mark_range(cbt, nr, first, last);
		return;
	}
	if (READ_ONCE(cbt->active[first]) != nr)
		WRITE_ONCE(cbt->active[first], nr);
}

/**
 * bs_cbt_mark_dirty() - mark a range changed in both maps
 * @t: the tracker.
 * @sector: first sector, relative to the device.
 * @count: number of sectors.
 *
 * For writes to a snapshot image and for cbtdirty: the backup being made
 * from the snapshot and the next one both see the range as changed.
 */
void bs_cbt_mark_dirty(struct bs_tracker *t, sector_t sector, sector_t count)
{
	struct bs_cbt *cbt = &t->cbt;
	u32 first, last, n;

	if (!count)
		return;
	/* The lock keeps the maps' size: a take may resize them. */
	spin_lock(&t->lock);
	if (sector < t->capacity) {
		bs_cbt_range(cbt, sector, count, &first, &last);
		n = last - first + 1;
		/* Writes racing with this store the same number, see above. */
		data_race(memset(cbt->active + first, cbt->active_nr, n));
		memset(cbt->readable + first, cbt->readable_nr, n);
	}
	spin_unlock(&t->lock);
}

/* The tracker's part in snapshots. */

/**
 * bs_tracker_snap_area() - the device's part of the snapshot it was added to
 * @t: the tracker.
 *
 * Context: bs_mutex held.
 * Return: the area, or NULL if the device is in no snapshot.
 */
struct bs_area *bs_tracker_snap_area(struct bs_tracker *t)
{
	lockdep_assert_held(&bs_mutex);
	return t->snap_area;
}

/**
 * bs_tracker_join() - the device was added to a snapshot
 * @t: the tracker, in no snapshot.
 * @area: the device's part of the snapshot.
 *
 * Context: bs_mutex held.
 */
void bs_tracker_join(struct bs_tracker *t, struct bs_area *area)
{
	lockdep_assert_held(&bs_mutex);
	t->snap_area = area;
	t->used = true;
}

/**
 * bs_tracker_leave() - the device leaves its snapshot
 * @t: the tracker.
 *
 * Copy-on-write ends and writes are no longer held back; writes held back
 * until now stay in @t->held, to be sent on by the caller's caller (the
 * filter's detach).  Callbacks of the filter running may still see the
 * area: bs_tracker_sync() waits for them.
 *
 * Context: bs_mutex held.
 */
void bs_tracker_leave(struct bs_tracker *t)
{
	lockdep_assert_held(&bs_mutex);
	spin_lock(&t->lock);
	WRITE_ONCE(t->area, NULL);
	/* Pairs with the acquire in bs_submit_bio(): @area is seen clear. */
	smp_store_release(&t->hold, false);
	spin_unlock(&t->lock);
	t->snap_area = NULL;
}

/**
 * bs_tracker_hold() - hold back the device's writes, for a take
 * @t: the tracker.
 *
 * Writes that the filter sees from now on wait for bs_tracker_switch();
 * bs_tracker_sync() waits for those that passed before.
 *
 * Context: bs_mutex held; does not sleep.
 */
void bs_tracker_hold(struct bs_tracker *t)
{
	spin_lock(&t->lock);
	WRITE_ONCE(t->hold, true);
	spin_unlock(&t->lock);
}

/**
 * bs_tracker_sync() - wait for the filter's callbacks running on the device
 * @t: the tracker.
 *
 * Context: process; may sleep.
 */
void bs_tracker_sync(struct bs_tracker *t)
{
	blkfilter_sync(t->bdev);
}

/**
 * bs_tracker_prepare() - get a tracker ready for a take
 * @t: the tracker.
 *
 * A device whose size changed since the attach gets new maps for its new
 * size, put in place by the switch: its tracker then starts over, with a
 * new generation, as the series does at a take.
 *
 * Context: process, bs_mutex held, before the freeze; may sleep.
 * Return: 0 or -ENOMEM.
 */
int bs_tracker_prepare(struct bs_tracker *t)
{
	sector_t capacity = bdev_nr_sectors(t->bdev);

	if (capacity == t->capacity || !capacity)
		return 0;
	pr_info("%pg: size changed from %llu to %llu sectors, tracking starts over\n",
		t->bdev, (unsigned long long)t->capacity,
		(unsigned long long)capacity);
	t->next_capacity = capacity;
	return bs_cbt_init(&t->next, capacity);
}

/**
 * bs_tracker_finish() - a take is over
 * @t: the tracker, given to bs_tracker_prepare() before.
 *
 * Frees the maps that the switch replaced, or the new ones if there was
 * no switch, once no cbtmap command reads them.
 *
 * Context: process, bs_mutex held, writes not held back; may sleep.
 */
void bs_tracker_finish(struct bs_tracker *t)
{
	mutex_lock(&t->map_lock);
	bs_cbt_free(&t->next);
	mutex_unlock(&t->map_lock);
}

/*
 * Let the writes of @t go again, with its lock held; unlocks it.  The
 * writes held back meanwhile are sent on, in their order.
 */
static void __bs_tracker_resume(struct bs_tracker *t)
	__releases(&t->lock)
{
	struct bio_list held;
	struct bio *bio;

	held = t->held;
	bio_list_init(&t->held);
	/* Writes that see @hold clear see the maps and @area as set before. */
	smp_store_release(&t->hold, false);
	spin_unlock(&t->lock);

	while ((bio = bio_list_pop(&held)))
		submit_bio_noacct(bio);
}

/**
 * bs_tracker_switch() - the switch point of a take
 * @t: the tracker, whose writes are held back.
 * @area: the copy-on-write state to start.
 *
 * The readable map becomes the active one as it is now, copy-on-write
 * starts and the held writes go on (through copy-on-write).  Writes that
 * passed before this were waited for by the caller.  If the device's size
 * changed, the maps bs_tracker_prepare() made take over instead.
 *
 * Context: process; may sleep.
 */
void bs_tracker_switch(struct bs_tracker *t, struct bs_area *area)
{
	struct bs_cbt *cbt = &t->cbt;

	spin_lock(&t->lock);
	if (t->next.active) {
		/* Maps for the device's new size, all clear, a new generation. */
		swap(t->cbt, t->next);
		t->capacity = t->next_capacity;
	} else if (cbt->active_nr == U8_MAX) {
		memset(cbt->active, 0, cbt->block_count);
		memset(cbt->readable, 0, cbt->block_count);
		uuid_gen(&cbt->generation);
		cbt->readable_nr = 0;
		cbt->active_nr = 1;
	} else {
		memcpy(cbt->readable, cbt->active, cbt->block_count);
		cbt->readable_nr = cbt->active_nr++;
	}
	if (t->wil)
		bs_wil_epoch(t->wil);
	WRITE_ONCE(t->area, area);
	__bs_tracker_resume(t);
}

/* The filter. */

/* Bios that change the data of the device. */
static bool bs_bio_changes_data(struct bio *bio)
{
	switch (bio_op(bio)) {
	case REQ_OP_WRITE:
	case REQ_OP_DISCARD:
	case REQ_OP_SECURE_ERASE:
	case REQ_OP_WRITE_ZEROES:
		return bio_sectors(bio) != 0;
	default:
		return false;
	}
}

/* While a take switches: keep @bio back, unless the switch is over. */
static noinline bool bs_hold(struct bs_tracker *t, struct bio *bio)
{
	spin_lock(&t->lock);
	if (!t->hold) {
		spin_unlock(&t->lock);
		return false;
	}
	if (bio->bi_opf & REQ_NOWAIT) {
		spin_unlock(&t->lock);
		bio_wouldblock_error(bio);
		return true;
	}
	bio_list_add(&t->held, bio);
	spin_unlock(&t->lock);
	return true;
}

/*
 * A write while a snapshot is held: copy-on-write first.  Not inlined, nor
 * is bs_hold(): the path of tracking only stays short.
 */
static noinline bool bs_submit_area(struct bs_tracker *t, struct bs_area *area,
				    struct bio *bio)
{
	if (unlikely(bio_has_crypt_ctx(bio) || bio_integrity(bio))) {
		pr_err_ratelimited("%pg: bio with inline encryption or integrity data refused while a snapshot is held\n",
				   t->bdev);
		bio->bi_status = BLK_STS_NOTSUPP;
		bio_endio(bio);
		return true;
	}
	/* Destroy clears t->area and waits for this callback to return. */
	return bs_area_write(area, bio);
}

/*
 * Writes take the tracker's lock only while a take holds them back.  A take
 * sets @hold, waits for the callbacks running (blkfilter_sync()), switches
 * and clears @hold with a release.  So a callback that sees @hold clear has
 * either run before the switch, all of it, or sees the active map, its
 * number and @area as the switch left them; those change at no other time
 * but @area's clearing, which destroy and detach wait for in the same way.
 */
static bool bs_submit_bio(struct bio *bio)
{
	struct bs_tracker *t;
	struct bs_area *area;
	sector_t sector, count;
	struct bs_wil *wil;

	if (!bs_bio_changes_data(bio))
		return false;
	t = bs_tracker(bdev_filter(bio->bi_bdev));

	/* Pairs with the release of bs_tracker_switch() and of detach. */
	if (unlikely(smp_load_acquire(&t->hold)) && bs_hold(t, bio))
		return true;
	sector = bio->bi_iter.bi_sector - t->start;
	count = bio_sectors(bio);
	/*
	 * A write whose regions are not on the log yet waits for the log, and
	 * is filtered again then: the tracker marks it when it goes.
	 */
	wil = READ_ONCE(t->wil);
	if (unlikely(wil) && !bs_wil_covered(wil, sector, count) &&
	    bs_wil_hold(wil, bio, sector, count))
		return true;
	bs_cbt_mark_write(t, sector, count);
	area = READ_ONCE(t->area);
	if (likely(!area))
		return false;
	return bs_submit_area(t, area, bio);
}

static struct blkfilter *bs_attach(struct block_device *bdev)
{
	struct bs_tracker *t;
	int ret;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return ERR_PTR(-ENOMEM);
	t->bdev = bdev;
	t->dev = bdev->bd_dev;
	t->start = get_start_sect(bdev);
	t->capacity = bdev_nr_sectors(bdev);
	spin_lock_init(&t->lock);
	mutex_init(&t->map_lock);
	bio_list_init(&t->held);
	ret = bs_cbt_init(&t->cbt, t->capacity);
	if (ret) {
		kfree(t);
		return ERR_PTR(ret);
	}
	pr_info("%pg: tracking %u blocks of %u KiB\n", bdev,
		t->cbt.block_count, 1U << (t->cbt.block_shift - 10));
	return &t->filter;
}

static void bs_detach(struct blkfilter *flt)
{
	struct bs_tracker *t = bs_tracker(flt);
	struct bio *bio;

	/* Leaves the snapshot: no more holding back, see bs_tracker_leave(). */
	bs_snapshot_device_gone(t);
	while ((bio = bio_list_pop(&t->held)))
		submit_bio_noacct(bio);
	/* The log stays on disk as it is: saving is userspace's business. */
	if (t->wil)
		bs_wil_destroy(t->wil);
	bs_cbt_free(&t->cbt);
	bs_cbt_free(&t->next);
	kfree(t);
}

/* BLKFILTER_CTL commands. */

static int bs_ctl_cbtinfo(struct bs_tracker *t, __u8 __user *buf, __u32 *plen)
{
	struct blksnap_cbtinfo info = {};

	if (*plen < sizeof(info))
		return -EINVAL;
	spin_lock(&t->lock);
	info.device_capacity = (u64)t->capacity << SECTOR_SHIFT;
	info.block_size = 1U << t->cbt.block_shift;
	info.block_count = t->cbt.block_count;
	export_uuid(info.generation_id.b, &t->cbt.generation);
	info.changes_number = t->cbt.readable_nr;
	spin_unlock(&t->lock);
	if (copy_to_user(buf, &info, sizeof(info)))
		return -EFAULT;
	*plen = sizeof(info);
	return 0;
}

static int bs_ctl_cbtmap(struct bs_tracker *t, __u8 __user *buf, __u32 *plen)
{
	struct blksnap_cbtmap arg;
	u32 count, len;
	u8 *map;
	int ret;

	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	/* The map stays while map_lock is held, even if a take resizes. */
	mutex_lock(&t->map_lock);
	spin_lock(&t->lock);
	map = t->cbt.readable;
	count = t->cbt.block_count;
	spin_unlock(&t->lock);
	if (arg.offset > count) {
		ret = -EINVAL;
		goto out;
	}
	len = min(arg.length, count - arg.offset);
	ret = len;
	if (len && copy_to_user(u64_to_user_ptr(arg.buffer), map + arg.offset,
				len))
		ret = -EFAULT;
out:
	mutex_unlock(&t->map_lock);
	return ret;
}

static int bs_ctl_cbtdirty(struct bs_tracker *t, __u8 __user *buf,
			   __u32 *plen)
{
	struct blksnap_cbtdirty arg;
	struct blksnap_sectors *ranges;
	u32 i;
	int ret = 0;

	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	if (!arg.count)
		return 0;
	if (arg.count > BS_DIRTY_MAX_COUNT)
		return -EINVAL;
	ranges = kvmalloc_array(arg.count, sizeof(*ranges), GFP_KERNEL);
	if (!ranges)
		return -ENOMEM;
	if (copy_from_user(ranges, u64_to_user_ptr(arg.dirty_sectors),
			   array_size(arg.count, sizeof(*ranges)))) {
		ret = -EFAULT;
		goto out;
	}
	for (i = 0; i < arg.count; i++) {
		if (!ranges[i].count || ranges[i].offset >= t->capacity ||
		    ranges[i].count > t->capacity - ranges[i].offset) {
			ret = -EINVAL;
			goto out;
		}
	}
	for (i = 0; i < arg.count; i++)
		bs_cbt_mark_dirty(t, ranges[i].offset, ranges[i].count);
out:
	kvfree(ranges);
	return ret;
}

/*
 * The structure of an extension command, which a newer caller may pass
 * larger: -EINVAL if @len is smaller than @size, -E2BIG if it is above
 * BS_STRUCT_MAX_SIZE or if a byte beyond @size is not zero, -EFAULT.
 */
static int bs_ctl_copy_ext(void *arg, size_t size, __u8 __user *buf, u32 len)
{
	if (len < size)
		return -EINVAL;
	if (len > BS_STRUCT_MAX_SIZE)
		return -E2BIG;
	return copy_struct_from_user(arg, size, buf, len);
}

/*
 * Whether a saved map may go into @t: -EBUSY if the tracker was added to a
 * snapshot or restored since the attach (its numbers moved on from the
 * attach's), -ERANGE if the map was saved for another size of the device
 * or another block size, or if the device was resized since the attach.
 */
static int __bs_restore_check(struct bs_tracker *t,
			      const struct blksnap_cbtrestore *arg)
{
	lockdep_assert_held(&bs_mutex);
	if (t->used || t->snap_area || t->wil)
		return -EBUSY;
	if (arg->device_capacity != (u64)t->capacity << SECTOR_SHIFT ||
	    arg->block_size != 1U << t->cbt.block_shift ||
	    arg->block_count != t->cbt.block_count ||
	    bdev_nr_sectors(t->bdev) != t->capacity)
		return -ERANGE;
	return 0;
}

/*
 * The saved state into the maps of @t, with its writes held back and its
 * lock held: the saved generation and number, the saved map readable;
 * in the active map, the saved map's byte where nothing was written since
 * the attach and the next number where something was, so that the next
 * take counts those writes as changes after the saved number.
 */
static void __bs_cbt_restore(struct bs_cbt *cbt, const u8 *map, u8 nr,
			     const uuid_t *generation)
{
	u8 next = nr + 1;
	u32 i;

	for (i = 0; i < cbt->block_count; i++)
		cbt->active[i] = cbt->active[i] ? next : map[i];
	memcpy(cbt->readable, map, cbt->block_count);
	cbt->readable_nr = nr;
	cbt->active_nr = next;
	uuid_copy(&cbt->generation, generation);
}

/**
 * bs_tracker_restore() - load a saved change tracker into a fresh one
 * @t: the tracker.
 * @arg: the saved tracker, its fields checked by the caller.
 * @map: its readable map, @arg->block_count bytes, none greater than
 *	@arg->changes_number.
 *
 * Writes are held back while the maps change, as at a take, so that none
 * is marked with the attach's number after the active map was rebuilt.
 * Nothing is allocated meanwhile: reclaim might write to the device.
 *
 * Context: process; may sleep.
 * Return: 0, or -EBUSY or -ERANGE (see __bs_restore_check()) with the
 * tracker unchanged.
 */
static int bs_tracker_restore(struct bs_tracker *t,
			      const struct blksnap_cbtrestore *arg,
			      const u8 *map)
{
	unsigned int noio;
	uuid_t generation;
	int ret;

	import_uuid(&generation, arg->generation_id.b);
	mutex_lock(&bs_mutex);
	ret = __bs_restore_check(t, arg);
	if (ret)
		goto out;
	noio = memalloc_noio_save();
	bs_tracker_hold(t);
	bs_tracker_sync(t);
	spin_lock(&t->lock);
	__bs_cbt_restore(&t->cbt, map, arg->changes_number, &generation);
	__bs_tracker_resume(t);
	memalloc_noio_restore(noio);
	t->used = true;
	pr_info("%pg: change tracker restored, generation %pUb, number %u\n",
		t->bdev, &generation, arg->changes_number);
out:
	mutex_unlock(&bs_mutex);
	return ret;
}

/*
 * cbtrestore, an extension: the structure is checked whole, then the
 * tracker's state (__bs_restore_check()), then the map, before anything
 * changes.
 */
static int bs_ctl_cbtrestore(struct bs_tracker *t, __u8 __user *buf,
			     __u32 *plen)
{
	struct blksnap_cbtrestore arg;
	u8 *map;
	u32 i;
	int ret;

	ret = bs_ctl_copy_ext(&arg, sizeof(arg), buf, *plen);
	if (ret)
		return ret;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)) ||
	    arg.changes_number == U8_MAX || !arg.block_count)
		return -EINVAL;
	/* Checked here too, so that the map's size is bounded. */
	mutex_lock(&bs_mutex);
	ret = __bs_restore_check(t, &arg);
	mutex_unlock(&bs_mutex);
	if (ret)
		return ret;
	map = kvmalloc(arg.block_count, GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	if (copy_from_user(map, u64_to_user_ptr(arg.map), arg.block_count)) {
		ret = -EFAULT;
		goto out;
	}
	for (i = 0; i < arg.block_count; i++) {
		if (map[i] > arg.changes_number) {
			ret = -EINVAL;
			goto out;
		}
	}
	ret = bs_tracker_restore(t, &arg, map);
out:
	kvfree(map);
	return ret;
}

/*
 * The regions of the blocks changed since the last take into @wil, a new
 * log: the writes the log must hold from the start.  With writes held back
 * and the tracker's lock held.
 */
static void __bs_wil_mark_active(struct bs_tracker *t, struct bs_wil *wil)
{
	const struct bs_cbt *cbt = &t->cbt;
	unsigned int shift = cbt->block_shift;
	u32 i = 0, j;

	while (i < cbt->block_count) {
		if (cbt->active[i] != cbt->active_nr) {
			i++;
			continue;
		}
		for (j = i + 1; j < cbt->block_count &&
		     cbt->active[j] == cbt->active_nr; j++)
			;
		bs_wil_mark(wil, (u64)i << shift, (u64)(j - i) << shift);
		i = j;
	}
}

/*
 * Put @wil in place, or take it away (NULL), with the writes held back as
 * at a take: a write sees the log from its first region to its last, or
 * not at all.  With bs_mutex held.
 */
static void bs_tracker_set_wil(struct bs_tracker *t, struct bs_wil *wil)
{
	unsigned int noio;

	lockdep_assert_held(&bs_mutex);
	noio = memalloc_noio_save();
	bs_tracker_hold(t);
	bs_tracker_sync(t);
	spin_lock(&t->lock);
	if (wil)
		__bs_wil_mark_active(t, wil);
	WRITE_ONCE(t->wil, wil);
	__bs_tracker_resume(t);
	memalloc_noio_restore(noio);
}

/* Detach the log of @t, with bs_mutex held. */
static void bs_tracker_wil_detach(struct bs_tracker *t)
{
	struct bs_wil *wil = t->wil;

	bs_tracker_set_wil(t, NULL);
	bs_wil_destroy(wil);
}

/*
 * Attach a log, with bs_mutex held: opened, put in place with the regions
 * written since the last take, and written before this returns.  If that
 * first write fails, the log goes again.
 */
static int bs_tracker_wil_attach(struct bs_tracker *t,
				 const struct blksnap_cbtlog *arg)
{
	struct bs_wil *wil;
	uuid_t generation;
	int ret;
	u8 nr;

	if (t->wil)
		return -EBUSY;
	spin_lock(&t->lock);
	uuid_copy(&generation, &t->cbt.generation);
	nr = t->cbt.readable_nr;
	spin_unlock(&t->lock);
	wil = bs_wil_create(arg->fd, t->bdev, t->capacity, arg->region_size,
			    &generation, nr);
	if (IS_ERR(wil))
		return PTR_ERR(wil);
	bs_tracker_set_wil(t, wil);
	ret = bs_wil_sync(wil);
	if (ret) {
		bs_tracker_wil_detach(t);
		return ret;
	}
	pr_info("%pg: write-intent log attached, regions of %llu MiB\n",
		t->bdev, (unsigned long long)(1ULL << (wil->region_shift - 11)));
	return 0;
}

/*
 * A checkpoint, with bs_mutex held (no take meanwhile): only for the state
 * of the tracker's last take, which is what userspace saves.
 */
static int bs_tracker_wil_checkpoint(struct bs_tracker *t,
				     const struct blksnap_cbtlog *arg)
{
	uuid_t generation;
	bool same;

	if (!t->wil)
		return -ENODATA;
	import_uuid(&generation, arg->generation_id.b);
	spin_lock(&t->lock);
	same = uuid_equal(&generation, &t->cbt.generation) &&
	       arg->changes_number == t->cbt.readable_nr;
	spin_unlock(&t->lock);
	if (!same)
		return -ESTALE;
	return bs_wil_checkpoint(t->wil, &generation, arg->changes_number);
}

/*
 * cbtlog, an extension: the structure is checked whole, then the operation
 * runs under bs_mutex; every operation that succeeds fills in the state.
 */
static int bs_ctl_cbtlog(struct bs_tracker *t, __u8 __user *buf, __u32 *plen)
{
	struct blksnap_cbtlog arg;
	u64 region_size;
	int ret;

	ret = bs_ctl_copy_ext(&arg, sizeof(arg), buf, *plen);
	if (ret)
		return ret;
	if (arg.size != *plen || arg.flags || arg.reserved2 ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	region_size = arg.region_size;

	mutex_lock(&bs_mutex);
	switch (arg.op) {
	case blksnap_cbtlog_status:
		break;
	case blksnap_cbtlog_attach:
		ret = bs_tracker_wil_attach(t, &arg);
		break;
	case blksnap_cbtlog_detach:
		if (t->wil)
			bs_tracker_wil_detach(t);
		else
			ret = -ENODATA;
		region_size = 0;
		break;
	case blksnap_cbtlog_checkpoint:
		ret = bs_tracker_wil_checkpoint(t, &arg);
		break;
	default:
		ret = -EINVAL;
	}
	if (!ret) {
		memset(&arg, 0, sizeof(arg));
		arg.size = *plen;
		if (t->wil)
			bs_wil_state(t->wil, &arg);
		else
			ret = bs_wil_geometry(t->capacity, region_size, &arg);
	}
	mutex_unlock(&bs_mutex);
	if (ret)
		return ret;
	if (copy_to_user(buf, &arg, sizeof(arg)))
		return -EFAULT;
	return 0;
}

static int bs_ctl_snapshotadd(struct bs_tracker *t, __u8 __user *buf,
			      __u32 *plen)
{
	struct blksnap_snapshotadd arg;
	uuid_t id;

	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	import_uuid(&id, arg.id.b);
	return bs_snapshot_add(t, &id);
}

static int bs_ctl_snapshotinfo(struct bs_tracker *t, __u8 __user *buf,
			       __u32 *plen)
{
	struct blksnap_snapshotinfo info = {};
	struct bs_area *area;

	if (*plen < sizeof(info))
		return -EINVAL;
	/* Nothing once the snapshot is destroyed, as in the series. */
	mutex_lock(&bs_mutex);
	area = t->snap_area;
	if (area) {
		info.error_code = bs_area_error(area);
		bs_image_name(area, info.image, sizeof(info.image));
	}
	mutex_unlock(&bs_mutex);
	if (copy_to_user(buf, &info, sizeof(info)))
		return -EFAULT;
	*plen = sizeof(info);
	return 0;
}

static int bs_ctl(struct blkfilter *flt, const unsigned int cmd,
		  __u8 __user *buf, __u32 *plen)
{
	struct bs_tracker *t = bs_tracker(flt);

	switch (cmd) {
	case blkfilter_ctl_blksnap_cbtinfo:
		return bs_ctl_cbtinfo(t, buf, plen);
	case blkfilter_ctl_blksnap_cbtmap:
		return bs_ctl_cbtmap(t, buf, plen);
	case blkfilter_ctl_blksnap_cbtdirty:
		return bs_ctl_cbtdirty(t, buf, plen);
	case blkfilter_ctl_blksnap_snapshotadd:
		return bs_ctl_snapshotadd(t, buf, plen);
	case blkfilter_ctl_blksnap_snapshotinfo:
		return bs_ctl_snapshotinfo(t, buf, plen);
	case blkfilter_ctl_blksnap_cbtrestore:
		return bs_ctl_cbtrestore(t, buf, plen);
	case blkfilter_ctl_blksnap_cbtlog:
		return bs_ctl_cbtlog(t, buf, plen);
	}
	return -ENOTTY;
}

static struct blkfilter_operations bs_filter_ops = {
	.owner = THIS_MODULE,
	.name = "blksnap",
	.attach = bs_attach,
	.detach = bs_detach,
	.ctl = bs_ctl,
	.submit_bio = bs_submit_bio,
};

int bs_tracker_init(void)
{
	return blkfilter_register(&bs_filter_ops);
}

void bs_tracker_exit(void)
{
	blkfilter_unregister(&bs_filter_ops);
}
