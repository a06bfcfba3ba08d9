// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: create with a difference storage, add devices, take them all
 * at one point, report events, destroy.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "blksnap.h"
#include "compat.h"

/* The snapshots; protected by bs_mutex. */
static LIST_HEAD(bs_snapshots);

/**
 * struct bs_event - an event of a snapshot, not yet read
 * @link: entry in the snapshot's list.
 * @code: an enum blksnap_event_codes.
 * @time: CLOCK_MONOTONIC, ns, as the series' events have it.
 * @data: its data.
 */
struct bs_event {
	struct list_head link;
	u32 code;
	s64 time;
	struct blksnap_event_corrupted data;
};

/* Caller holds snap->ev_lock.  The first event not yet read, or NULL. */
static struct bs_event *__bs_event_first(struct bs_snapshot *snap)
{
	return list_first_entry_or_null(&snap->events, struct bs_event, link);
}

static void bs_snapshot_release(struct kref *ref)
{
	struct bs_snapshot *snap = container_of(ref, struct bs_snapshot, ref);
	struct bs_event *ev, *tmp;

	list_for_each_entry_safe(ev, tmp, &snap->events, link)
		kfree(ev);
	list_for_each_entry_safe(ev, tmp, &snap->spare, link)
		kfree(ev);
	kfree(snap);
	module_put(THIS_MODULE);
}

static void bs_snapshot_put(struct bs_snapshot *snap)
{
	kref_put(&snap->ref, bs_snapshot_release);
}

/* Caller holds bs_mutex. */
static struct bs_snapshot *__bs_snapshot_find(const uuid_t *id)
{
	struct bs_snapshot *snap;

	list_for_each_entry(snap, &bs_snapshots, link)
		if (uuid_equal(&snap->id, id))
			return snap;
	return NULL;
}

static struct bs_snapshot *bs_snapshot_get(const uuid_t *id)
{
	struct bs_snapshot *snap;

	mutex_lock(&bs_mutex);
	snap = __bs_snapshot_find(id);
	if (snap)
		kref_get(&snap->ref);
	mutex_unlock(&bs_mutex);
	return snap;
}

/**
 * bs_snapshot_create() - IOCTL_BLKSNAP_SNAPSHOT_CREATE
 * @arg: the argument; its id is filled in.
 *
 * Return: 0 or a negative errno.
 */
int bs_snapshot_create(struct blksnap_snapshot_create *arg)
{
	struct bs_storage *st;
	struct bs_snapshot *snap;

	st = bs_storage_create(arg->diff_storage_fd,
			       arg->diff_storage_limit_sect);
	if (IS_ERR(st))
		return PTR_ERR(st);
	snap = kzalloc(sizeof(*snap), GFP_KERNEL);
	if (!snap) {
		bs_storage_destroy(st);
		return -ENOMEM;
	}
	uuid_gen(&snap->id);
	kref_init(&snap->ref);
	mutex_init(&snap->lock);
	INIT_LIST_HEAD(&snap->areas);
	snap->storage = st;
	spin_lock_init(&snap->ev_lock);
	INIT_LIST_HEAD(&snap->events);
	INIT_LIST_HEAD(&snap->spare);
	init_waitqueue_head(&snap->ev_wait);
	/* The module stays while the snapshot exists. */
	__module_get(THIS_MODULE);

	mutex_lock(&bs_mutex);
	list_add_tail(&snap->link, &bs_snapshots);
	mutex_unlock(&bs_mutex);
	export_uuid(arg->id.b, &snap->id);
	pr_info("snapshot %pUb created\n", &snap->id);
	return 0;
}

/**
 * bs_snapshot_failed() - a device of a snapshot cannot go on
 * @snap: the snapshot.
 * @area: the device's part of it, which failed.
 * @error: why, negative.
 *
 * Sends the device's corrupted event, with the positive errno as the
 * series has it.  The other devices of the snapshot go on: their images
 * stay readable, and each fails on its own if its turn comes (a storage
 * that cannot grow fails each device as it next needs space).  Called once
 * per device: bs_area_fail() reports only the first error of an area.
 *
 * Context: process; does not sleep.
 */
void bs_snapshot_failed(struct bs_snapshot *snap, struct bs_area *area,
			int error)
{
	struct bs_event *ev;

	spin_lock(&snap->ev_lock);
	/* Reserved when the device was added: a failure needs no memory. */
	ev = list_first_entry_or_null(&snap->spare, struct bs_event, link);
	if (!WARN_ON_ONCE(!ev)) {
		ev->code = blksnap_event_code_corrupted;
		ev->time = ktime_get_ns();
		ev->data.dev_id_mj = MAJOR(area->dev);
		ev->data.dev_id_mn = MINOR(area->dev);
		ev->data.err_code = -error;
		list_move_tail(&ev->link, &snap->events);
	}
	spin_unlock(&snap->ev_lock);
	wake_up_all(&snap->ev_wait);
	pr_err("snapshot %pUb: %u:%u failed: %d\n", &snap->id,
	       MAJOR(area->dev), MINOR(area->dev), error);
}

/* Caller holds bs_mutex.  True if @st lies on a device of @snap. */
static bool __bs_storage_in(struct bs_storage *st, struct bs_snapshot *snap)
{
	struct bs_area *area;

	list_for_each_entry(area, &snap->areas, link)
		if (bs_storage_on(st, area->bdev))
			return true;
	return false;
}

/*
 * Caller holds bs_mutex.  True if copy-on-write of @from waits, through
 * the storages, for that of @to: @from's storage lies on a device of @to,
 * or of a snapshot that waits for @to.
 */
static bool __bs_waits_for(struct bs_snapshot *from, struct bs_snapshot *to,
			   unsigned int depth)
{
	struct bs_snapshot *snap;

	if (depth > 8)
		return true;	/* too deep to be sure: say yes */
	list_for_each_entry(snap, &bs_snapshots, link) {
		if (snap == from || !__bs_storage_in(from->storage, snap))
			continue;
		if (snap == to || __bs_waits_for(snap, to, depth + 1))
			return true;
	}
	return false;
}

/*
 * Caller holds bs_mutex.  Adding @bdev to @snap makes every snapshot whose
 * storage is on @bdev wait for @snap; if @snap waits for one of them
 * already, their copy-on-write would wait for each other's forever.
 */
static bool __bs_would_deadlock(struct bs_snapshot *snap,
				struct block_device *bdev)
{
	struct bs_snapshot *other;

	list_for_each_entry(other, &bs_snapshots, link)
		if (other != snap && bs_storage_on(other->storage, bdev) &&
		    __bs_waits_for(snap, other, 0))
			return true;
	return false;
}

/**
 * bs_snapshot_add() - add a device to a snapshot (snapshotadd)
 * @t: the device's tracker.
 * @id: the snapshot.
 *
 * Return: 0 or a negative errno.
 */
int bs_snapshot_add(struct bs_tracker *t, const uuid_t *id)
{
	struct bs_snapshot *snap;
	struct bs_area *area;
	struct bs_event *ev;
	int ret = 0;

	/* The device's corrupted event, should it fail. */
	ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return -ENOMEM;
	mutex_lock(&bs_mutex);
	snap = __bs_snapshot_find(id);
	if (!snap) {
		ret = -ESRCH;
		goto out;
	}
	area = bs_tracker_snap_area(t);
	if (area) {
		ret = area->snap == snap ? -EALREADY : -EBUSY;
		goto out;
	}
	if (snap->taken) {
		ret = -EBUSY;
		goto out;
	}
	if (bs_storage_on(snap->storage, t->bdev)) {
		ret = -EINVAL;
		goto out;
	}
	if (__bs_would_deadlock(snap, t->bdev)) {
		ret = -EDEADLK;
		goto out;
	}
	area = bs_area_create(snap, t);
	if (IS_ERR(area)) {
		ret = PTR_ERR(area);
		goto out;
	}
	list_add_tail(&area->link, &snap->areas);
	bs_tracker_join(t, area);
	spin_lock(&snap->ev_lock);
	list_add(&ev->link, &snap->spare);
	spin_unlock(&snap->ev_lock);
	ev = NULL;
	pr_info("%pg added to snapshot %pUb, chunks of %u KiB\n", t->bdev,
		&snap->id, 1U << (area->chunk_shift - 10));
out:
	mutex_unlock(&bs_mutex);
	kfree(ev);
	return ret;
}

/*
 * The switch of a take, with bs_mutex and snap->lock held: hold back the
 * writes of every device, wait for those that passed, then switch them all.
 * No write can then be in one image and not in another that it followed.
 */
static void __bs_snapshot_switch(struct bs_snapshot *snap)
{
	struct bs_area *area;

	list_for_each_entry(area, &snap->areas, link)
		bs_tracker_hold(area->tracker);
	list_for_each_entry(area, &snap->areas, link)
		bs_tracker_sync(area->tracker);
	list_for_each_entry(area, &snap->areas, link)
		bs_tracker_switch(area->tracker, area);
}

/**
 * bs_snapshot_take() - IOCTL_BLKSNAP_SNAPSHOT_TAKE
 * @id: the snapshot.
 *
 * Return: 0 or a negative errno.
 */
int bs_snapshot_take(const uuid_t *id)
{
	struct bs_snapshot *snap;
	struct bs_area *area;
	unsigned int noio;
	int ret = 0;

	snap = bs_snapshot_get(id);
	if (!snap)
		return -ESRCH;
	mutex_lock(&snap->lock);
	mutex_lock(&bs_mutex);
	if (snap->dead) {
		ret = -ESRCH;
		goto out_unlock;
	}
	if (snap->taken) {
		ret = -EALREADY;
		goto out_unlock;
	}
	if (list_empty(&snap->areas)) {
		ret = -ENODEV;
		goto out_unlock;
	}
	ret = READ_ONCE(snap->error);
	if (ret)
		goto out_unlock;
	list_for_each_entry(area, &snap->areas, link) {
		ret = bs_tracker_prepare(area->tracker);
		if (ret)
			goto out_finish;
	}

	/*
	 * Writers wait from the first freeze to the last thaw.  Freezing a
	 * filesystem waits for an RCU grace period at each of its three
	 * levels (percpu rwsems), expedited here as suspend has them: the
	 * freeze takes about a third of the time under load.  The grace
	 * periods of the whole system are expedited meanwhile (with
	 * rcupdate.rcu_normal=1, none are).  The one that blkfilter_sync()
	 * waits for passes during the freezes.
	 */
	rcu_expedite_gp();
	list_for_each_entry(area, &snap->areas, link)
		blkfilter_sync_prepare(area->bdev);
	list_for_each_entry(area, &snap->areas, link) {
		ret = bs_area_freeze(area);
		if (ret)
			goto out_thaw;
	}
	/* Nothing from here on may wait for writes to a frozen device. */
	noio = memalloc_noio_save();
	__bs_snapshot_switch(snap);
	memalloc_noio_restore(noio);
	snap->taken = true;
	ret = 0;
out_thaw:
	list_for_each_entry(area, &snap->areas, link)
		bs_area_thaw(area);
	list_for_each_entry(area, &snap->areas, link)
		blkfilter_sync_done(area->bdev);
	rcu_unexpedite_gp();
out_finish:
	list_for_each_entry(area, &snap->areas, link)
		bs_tracker_finish(area->tracker);
out_unlock:
	mutex_unlock(&bs_mutex);
	if (!ret) {
		/* Images are added without bs_mutex: see blksnap.h. */
		list_for_each_entry(area, &snap->areas, link) {
			ret = bs_image_create(area);
			if (ret) {
				bs_area_fail(area, ret);
				break;
			}
		}
		if (!ret)
			pr_info("snapshot %pUb taken\n", &snap->id);
	}
	mutex_unlock(&snap->lock);
	bs_snapshot_put(snap);
	return ret;
}

/**
 * bs_snapshot_destroy() - IOCTL_BLKSNAP_SNAPSHOT_DESTROY
 * @id: the snapshot.
 *
 * Return: 0, or -ENODEV if there is no such snapshot (as in the series).
 */
int bs_snapshot_destroy(const uuid_t *id)
{
	struct bs_snapshot *snap;
	struct bs_area *area, *tmp;

	snap = bs_snapshot_get(id);
	if (!snap)
		return -ENODEV;
	mutex_lock(&snap->lock);
	mutex_lock(&bs_mutex);
	if (snap->dead) {
		mutex_unlock(&bs_mutex);
		mutex_unlock(&snap->lock);
		bs_snapshot_put(snap);
		return -ENODEV;
	}
	snap->dead = true;
	list_del(&snap->link);
	/* Copy-on-write ends; the trackers go on tracking. */
	list_for_each_entry(area, &snap->areas, link)
		if (area->tracker)
			bs_tracker_leave(area->tracker);
	mutex_unlock(&bs_mutex);
	/* Waiters for events learn at once that there will be none. */
	wake_up_all(&snap->ev_wait);

	/* No filter callback uses the areas once these return. */
	list_for_each_entry(area, &snap->areas, link)
		if (area->tracker)
			bs_tracker_sync(area->tracker);
	list_for_each_entry(area, &snap->areas, link)
		bs_image_destroy(area);
	list_for_each_entry(area, &snap->areas, link)
		bs_area_stop(area);

	mutex_lock(&bs_mutex);
	list_for_each_entry_safe(area, tmp, &snap->areas, link) {
		bs_area_untrack(area);
		list_del(&area->link);
		bs_area_free(area);
	}
	mutex_unlock(&bs_mutex);
	bs_storage_destroy(snap->storage);
	snap->storage = NULL;
	mutex_unlock(&snap->lock);
	pr_info("snapshot %pUb destroyed\n", &snap->id);
	bs_snapshot_put(snap);	/* the list's */
	bs_snapshot_put(snap);	/* ours */
	return 0;
}

/**
 * bs_snapshot_device_gone() - the filter is leaving a device
 * @t: its tracker.
 *
 * The device's snapshot fails with -ENODEV.  A device only added leaves
 * it (the snapshot cannot be taken any more); the image of a device of a
 * taken snapshot stays, failing, until destroy.
 *
 * Context: process; may sleep.  Called from the filter's detach, possibly
 * with the blkfilter module's mutex held.
 */
void bs_snapshot_device_gone(struct bs_tracker *t)
{
	struct bs_area *area;

	mutex_lock(&bs_mutex);
	area = bs_tracker_snap_area(t);
	bs_tracker_leave(t);
	if (area) {
		bs_area_untrack(area);
		if (!area->snap->taken) {
			/* The snapshot cannot be taken whole any more. */
			spin_lock(&area->snap->ev_lock);
			area->snap->error = -ENODEV;
			spin_unlock(&area->snap->ev_lock);
			bs_snapshot_failed(area->snap, area, -ENODEV);
			list_del(&area->link);
			bs_area_free(area);
			area = NULL;
		}
	}
	mutex_unlock(&bs_mutex);
	if (area)
		bs_area_fail(area, -ENODEV);
}

/**
 * bs_snapshot_collect() - IOCTL_BLKSNAP_SNAPSHOT_COLLECT
 * @uarg: the user's argument.
 *
 * With no array (ids 0) only the count is returned; with one too small,
 * -ENODATA and the count needed.
 *
 * Return: 0, -ENODATA if the array is too small, or a negative errno.
 */
int bs_snapshot_collect(struct blksnap_snapshot_collect __user *uarg)
{
	struct blksnap_snapshot_collect arg;
	struct blksnap_uuid __user *ids;
	struct blksnap_uuid *buf = NULL;
	struct bs_snapshot *snap;
	u32 n = 0, i = 0;
	int ret = 0;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	ids = u64_to_user_ptr(arg.ids);

	mutex_lock(&bs_mutex);
	list_for_each_entry(snap, &bs_snapshots, link)
		n++;
	if (!ids) {
		/* The size query: the count alone, as the series answers it. */
		mutex_unlock(&bs_mutex);
		return put_user(n, &uarg->count) ? -EFAULT : 0;
	}
	if (n > arg.count) {
		ret = -ENODATA;
	} else if (n) {
		buf = kcalloc(n, sizeof(*buf), GFP_KERNEL);
		if (!buf)
			ret = -ENOMEM;
		else
			list_for_each_entry(snap, &bs_snapshots, link)
				export_uuid(buf[i++].b, &snap->id);
	}
	mutex_unlock(&bs_mutex);

	if (!ret && n && copy_to_user(ids, buf, n * sizeof(*buf)))
		ret = -EFAULT;
	kfree(buf);
	if ((!ret || ret == -ENODATA) && put_user(n, &uarg->count))
		ret = -EFAULT;
	return ret;
}

static bool bs_snapshot_has_event(struct bs_snapshot *snap)
{
	bool ret;

	if (READ_ONCE(snap->dead))
		return true;
	spin_lock(&snap->ev_lock);
	ret = __bs_event_first(snap);
	spin_unlock(&snap->ev_lock);
	return ret;
}

/**
 * bs_snapshot_wait_event() - IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT
 * @uarg: the user's argument.
 *
 * As in the series: -ENOENT if no event came within the timeout (the
 * caller waits again), -ESRCH if there is no such snapshot, also when it
 * is destroyed during the wait, which ends the wait at once.
 *
 * Return: 0, -ENOENT, -ESRCH, -EINTR or -EFAULT.
 */
int bs_snapshot_wait_event(struct blksnap_snapshot_event __user *uarg)
{
	struct blksnap_snapshot_event *arg;
	struct bs_snapshot *snap;
	struct bs_event *ev = NULL;
	long left;
	uuid_t id;
	int ret;

	arg = kzalloc(sizeof(*arg), GFP_KERNEL);
	if (!arg)
		return -ENOMEM;
	if (copy_from_user(arg, uarg, offsetof(typeof(*arg), code))) {
		ret = -EFAULT;
		goto out_free;
	}
	import_uuid(&id, arg->id.b);
	snap = bs_snapshot_get(&id);
	if (!snap) {
		ret = -ESRCH;
		goto out_free;
	}
	left = wait_event_interruptible_timeout(snap->ev_wait,
						bs_snapshot_has_event(snap),
						msecs_to_jiffies(arg->timeout_ms));
	spin_lock(&snap->ev_lock);
	ev = __bs_event_first(snap);
	if (ev)
		list_del(&ev->link);
	spin_unlock(&snap->ev_lock);
	if (ev)
		ret = 0;
	else if (READ_ONCE(snap->dead))
		ret = -ESRCH;
	else if (left < 0)
		ret = -EINTR;
	else
		ret = -ENOENT;
	bs_snapshot_put(snap);
	if (ev) {
		arg->code = ev->code;
		arg->time_label = ev->time;
		memcpy(arg->data, &ev->data, sizeof(ev->data));
		kfree(ev);
		if (copy_to_user(uarg, arg, sizeof(*arg)))
			ret = -EFAULT;
	}
out_free:
	kfree(arg);
	return ret;
}
