// SPDX-License-Identifier: GPL-2.0
/*
 * The difference storage: where the old data of overwritten chunks goes.
 *
 * A regular file (named, O_TMPFILE, on any filesystem, tmpfs too) or a
 * block device, given by userspace as a descriptor.  All I/O goes through
 * the VFS, never to the sectors under a file: nothing guarantees that the
 * blocks of a file stay where they are.  Space is handed out from offset 0
 * upwards; a file grows with fallocate() by diff_storage_minimum sectors
 * whenever less than half of that is left, up to the limit set at create.
 * The same descriptors, opened by bs_storage_open_fixed(), serve as stores
 * of a fixed size for small metadata (the write-intent log of a tracker).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "blksnap.h"
#include "compat.h"

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
 * @in_memory: chunks of old data waiting in memory to be stored, of all
 *	the devices of the snapshot.
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

/* The largest storage a file offset can address, in sectors. */
#define BS_STORAGE_MAX_SECT	((sector_t)(MAX_LFS_FILESIZE >> SECTOR_SHIFT))

static sector_t bs_storage_portion(void)
{
	/* At least a megabyte, so that growth is not a fallocate per chunk. */
	return max_t(sector_t, READ_ONCE(diff_storage_minimum), 2048);
}

/* Grow the file by a portion, at most to the limit.  May sleep. */
static int bs_storage_grow(struct bs_storage *st)
{
	sector_t size, add;
	unsigned int noio;
	int ret;

	spin_lock(&st->lock);
	size = st->size;
	add = min(bs_storage_portion(), st->limit - size);
	spin_unlock(&st->lock);
	if (!add)
		return -ENOSPC;

	noio = memalloc_noio_save();
	ret = vfs_fallocate(st->file, 0, (loff_t)size << SECTOR_SHIFT,
			    (loff_t)add << SECTOR_SHIFT);
	memalloc_noio_restore(noio);
	if (ret == -EOPNOTSUPP || ret == -ENODEV)
		ret = -ENOSPC;

	spin_lock(&st->lock);
	if (!ret)
		st->size = size + add;
	spin_unlock(&st->lock);
	return ret;
}

static void bs_storage_grow_work(struct work_struct *work)
{
	struct bs_storage *st = container_of(work, struct bs_storage,
					     grow_work);
	int ret = bs_storage_grow(st);

	spin_lock(&st->lock);
	if (ret)
		st->grow_error = ret;
	st->growing = false;
	spin_unlock(&st->lock);
	if (ret && ret != -ENOSPC)
		pr_warn_ratelimited("difference storage cannot grow: %d\n", ret);
	wake_up_all(&st->wait);
}

/* Caller holds st->lock. */
static bool __bs_storage_can_grow(struct bs_storage *st)
{
	return !st->is_bdev && !st->grow_error && st->size < st->limit;
}

/**
 * bs_storage_alloc() - hand out space for chunks
 * @st: the storage.
 * @count: sectors wanted.
 * @sector: out: the first sector of the space.
 *
 * Waits while the storage grows.
 *
 * Context: process; may sleep.
 * Return: 0, or -ENOSPC when the storage is full and cannot grow.
 */
int bs_storage_alloc(struct bs_storage *st, sector_t count, sector_t *sector)
{
	for (;;) {
		spin_lock(&st->lock);
		if (st->size - st->used >= count) {
			*sector = st->used;
			st->used += count;
			if (__bs_storage_can_grow(st) && !st->growing &&
			    st->size - st->used < bs_storage_portion() / 2) {
				st->growing = true;
				queue_work(bs_wq, &st->grow_work);
			}
			spin_unlock(&st->lock);
			return 0;
		}
		if (!__bs_storage_can_grow(st)) {
			spin_unlock(&st->lock);
			return -ENOSPC;
		}
		if (!st->growing) {
			st->growing = true;
			queue_work(bs_wq, &st->grow_work);
		}
		spin_unlock(&st->lock);
		wait_event(st->wait, !READ_ONCE(st->growing));
	}
}

/**
 * bs_storage_room() - sectors the storage may still hand out
 * @st: the storage.
 * @chunk: sectors to count for each chunk waiting in memory to be stored.
 *
 * Its limit, or its size if it cannot grow any more, less what it handed
 * out and less what the chunks in memory will take.
 *
 * Return: the sectors, or 0.
 */
sector_t bs_storage_room(struct bs_storage *st, sector_t chunk)
{
	sector_t room, queued;

	spin_lock(&st->lock);
	room = (__bs_storage_can_grow(st) ? st->limit : st->size) - st->used;
	queued = st->in_memory * chunk;
	spin_unlock(&st->lock);
	return room > queued ? room - queued : 0;
}

/* bs_storage_rw() with @flags added to the kiocb's (IOCB_DSYNC). */
static int __bs_storage_rw(struct bs_storage *st, sector_t sector,
			   struct iov_iter *iter, int flags)
{
	size_t len = iov_iter_count(iter);
	struct iov_iter saved = *iter;
	bool direct = st->direct;
	struct kiocb kiocb;
	unsigned int noio;
	ssize_t ret;

again:
	init_sync_kiocb(&kiocb, st->file);
	kiocb.ki_pos = (loff_t)sector << SECTOR_SHIFT;
	kiocb.ki_flags |= flags;
	if (direct)
		kiocb.ki_flags |= IOCB_DIRECT;

	noio = memalloc_noio_save();
	if (iov_iter_rw(iter) == WRITE) {
		/*
		 * Straight to ->write_iter(), as the loop driver does, with
		 * freeze protection of our own: vfs_iocb_iter_write() takes
		 * it itself since 6.6 and not before, and taking it twice
		 * deadlocks against a freeze that starts in between.  The
		 * checks it makes were made at create.
		 */
		file_start_write(st->file);
		ret = st->file->f_op->write_iter(&kiocb, iter);
		file_end_write(st->file);
	} else {
		ret = vfs_iocb_iter_read(st->file, &kiocb, iter);
	}
	memalloc_noio_restore(noio);

	/* Memory the filesystem cannot do direct I/O with: use the cache. */
	if (ret == -EINVAL && direct) {
		direct = false;
		*iter = saved;
		goto again;
	}
	/*
	 * The space was handed out within the storage's size: a block device
	 * answering "no space" has shrunk or gone, which is an I/O error, not
	 * an overflow that more space would cure.
	 */
	if (ret == -ENOSPC)
		return -EIO;
	if (ret < 0)
		return ret;
	return ret == len ? 0 : -EIO;
}

/**
 * bs_storage_rw() - read or write the storage
 * @st: the storage.
 * @sector: where, in the storage.
 * @iter: the memory: ITER_SOURCE to write it, ITER_DEST to read into it.
 *
 * Context: process; may sleep.
 * Return: 0 or a negative errno.
 */
int bs_storage_rw(struct bs_storage *st, sector_t sector, struct iov_iter *iter)
{
	return __bs_storage_rw(st, sector, iter, 0);
}

/**
 * bs_storage_write_durable() - write the storage, on stable media at return
 * @st: the storage.
 * @sector: where, in the storage.
 * @iter: the memory, ITER_SOURCE.
 *
 * A write with IOCB_DSYNC: the filesystem or the block device flushes the
 * data (and what a file needs to find it) before the write returns; a
 * block device written directly uses FUA.
 *
 * Context: process; may sleep.
 * Return: 0 or a negative errno.
 */
int bs_storage_write_durable(struct bs_storage *st, sector_t sector,
			     struct iov_iter *iter)
{
	return __bs_storage_rw(st, sector, iter, IOCB_DSYNC);
}

/**
 * bs_storage_on() - whether the storage lies on a block device
 * @st: the storage.
 * @bdev: a device to be added to the snapshot.
 *
 * Return: true for the device itself, the disk of a partition that holds
 * the storage, and the partitions of a disk that holds it.
 */
bool bs_storage_on(struct bs_storage *st, struct block_device *bdev)
{
	struct block_device *s = st->bdev;

	if (!s)
		return false;
	if (s == bdev)
		return true;
	return s->bd_disk == bdev->bd_disk &&
	       (!bdev_is_partition(s) || !bdev_is_partition(bdev));
}

/**
 * bs_storage_bdev() - the block device that is the storage
 * @st: the storage.
 *
 * Return: the device if the storage is a block device, else NULL: a file's
 * data may be anywhere on its filesystem's device.
 */
struct block_device *bs_storage_bdev(struct bs_storage *st)
{
	return st->is_bdev ? st->bdev : NULL;
}

/**
 * bs_storage_queue() - chunks of old data are to wait in memory
 * @st: the storage.
 * @chunks: how many.
 * @give_up: stop waiting, and count them anyway, once this says so.
 * @data: for @give_up.
 *
 * Waits while chunk_maximum_in_queue chunks or more wait already, so that
 * writers cannot fill the memory faster than the storage takes it.  Every
 * chunk queued is unqueued with bs_storage_unqueue() once it is stored or
 * will not be.
 *
 * Context: process; may sleep.
 */
void bs_storage_queue(struct bs_storage *st, unsigned int chunks,
		      bool (*give_up)(void *data), void *data)
{
	unsigned int max = max(READ_ONCE(chunk_maximum_in_queue), 1U);

	wait_event(st->wait,
		   READ_ONCE(st->in_memory) < max || give_up(data));
	spin_lock(&st->lock);
	st->in_memory += chunks;
	spin_unlock(&st->lock);
}

/**
 * bs_storage_try_queue() - bs_storage_queue() if it need not wait
 * @st: the storage.
 * @chunks: how many.
 *
 * Context: process; does not sleep.
 * Return: true if the chunks were counted, false if as many wait already
 * as may (then nothing was counted).
 */
bool bs_storage_try_queue(struct bs_storage *st, unsigned int chunks)
{
	unsigned int max = max(READ_ONCE(chunk_maximum_in_queue), 1U);
	bool ok;

	spin_lock(&st->lock);
	ok = st->in_memory < max;
	if (ok)
		st->in_memory += chunks;
	spin_unlock(&st->lock);
	return ok;
}

/**
 * bs_storage_unqueue() - chunks held in memory went to the storage or away
 * @st: the storage.
 * @chunks: how many.
 */
void bs_storage_unqueue(struct bs_storage *st, unsigned int chunks)
{
	spin_lock(&st->lock);
	st->in_memory -= chunks;
	spin_unlock(&st->lock);
	wake_up_all(&st->wait);
}

/**
 * bs_storage_wake() - make the waiters of bs_storage_queue() look again
 * @st: the storage.
 *
 * For a change of what their give_up() says.
 */
void bs_storage_wake(struct bs_storage *st)
{
	wake_up_all(&st->wait);
}

/* Pages asked of the page allocator at a time, into an array on the stack. */
#define BS_PAGE_BATCH	32

/**
 * bs_storage_pages_get() - pages for a chunk buffer
 * @st: the storage of the snapshot.
 * @bvec: where to put them, one page a vector, @nr of them.
 * @nr: how many.
 *
 * The pages come from the pool first, then from the page allocator in
 * batches.  They are not cleared: copy-on-write reads over all of them, or
 * clears what lies past the end of the device.
 *
 * Context: may sleep.
 * Return: 0, or -ENOMEM with the pages got so far in @bvec (the others'
 * bv_page NULL).
 */
int bs_storage_pages_get(struct bs_storage *st, struct bio_vec *bvec,
			 unsigned int nr)
{
	struct page *batch[BS_PAGE_BATCH];
	unsigned int i = 0, got, j;

	spin_lock(&st->lock);
	for (; i < nr && st->pool_count; i++) {
		struct page *page = list_first_entry(&st->pool, struct page,
						     lru);

		list_del(&page->lru);
		st->pool_count--;
		bvec_set_page(&bvec[i], page, PAGE_SIZE, 0);
	}
	spin_unlock(&st->lock);

	while (i < nr) {
		unsigned int want = min(nr - i, (unsigned int)BS_PAGE_BATCH);

		memset(batch, 0, sizeof(batch));
		got = alloc_pages_bulk_array(GFP_NOIO, want, batch);
		for (j = 0; j < got; j++)
			bvec_set_page(&bvec[i++], batch[j], PAGE_SIZE, 0);
		if (got < want) {
			/* The bulk allocator gives up early; ask once more. */
			struct page *page = alloc_page(GFP_NOIO);

			if (!page)
				return -ENOMEM;
			bvec_set_page(&bvec[i++], page, PAGE_SIZE, 0);
		}
	}
	return 0;
}

/**
 * bs_storage_pages_put() - a chunk buffer's pages are free
 * @st: the storage of the snapshot.
 * @bvec: the buffer's vectors; those with a NULL bv_page are skipped.
 * @nr: how many.
 *
 * The pool keeps up to free_diff_buffer_pool_size pages, the others go.
 */
void bs_storage_pages_put(struct bs_storage *st, struct bio_vec *bvec,
			  unsigned int nr)
{
	unsigned int max = READ_ONCE(free_diff_buffer_pool_size);
	unsigned int i = 0;

	spin_lock(&st->lock);
	for (; i < nr && st->pool_count < max; i++) {
		if (!bvec[i].bv_page)
			continue;
		list_add(&bvec[i].bv_page->lru, &st->pool);
		st->pool_count++;
	}
	spin_unlock(&st->lock);
	for (; i < nr; i++)
		if (bvec[i].bv_page)
			__free_page(bvec[i].bv_page);
}

/* A block device opened with O_EXCL, which do_dentry_open() clears. */
static bool bs_file_excl(struct file *file)
{
#ifdef HAVE_FMODE_EXCL
	return file->f_mode & FMODE_EXCL;
#else
	return file->private_data == file;
#endif
}

/*
 * A storage for descriptor @fd, of at most @limit sectors: its size is that
 * of the file or device now, up to @limit.  Checks what is common to all
 * uses: open for reading and writing (-EBADF), writable through the VFS,
 * not O_APPEND, a regular file or a block device opened with O_EXCL
 * (-EINVAL), a block device not empty (-ENOSPC).
 */
static struct bs_storage *bs_storage_get(unsigned int fd, sector_t limit)
{
	struct bs_storage *st;
	struct inode *inode;
	struct file *file;
	int ret;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	ret = -EBADF;
	if ((file->f_mode & (FMODE_READ | FMODE_WRITE)) !=
	    (FMODE_READ | FMODE_WRITE))
		goto out_fput;
	ret = -EINVAL;
	if (!(file->f_mode & FMODE_CAN_WRITE) || !file->f_op->write_iter ||
	    !file->f_op->read_iter || (file->f_flags & O_APPEND))
		goto out_fput;
	inode = file_inode(file);

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st) {
		ret = -ENOMEM;
		goto out_fput;
	}
	st->file = file;
	spin_lock_init(&st->lock);
	INIT_LIST_HEAD(&st->pool);
	init_waitqueue_head(&st->wait);
	INIT_WORK(&st->grow_work, bs_storage_grow_work);
	st->limit = limit;
	st->direct = !!(file->f_mode & FMODE_CAN_ODIRECT);

	if (S_ISBLK(inode->i_mode)) {
		ret = -EINVAL;
		if (!bs_file_excl(file))
			goto out_free;
		st->is_bdev = true;
		st->bdev = I_BDEV(file->f_mapping->host);
		st->size = min(bdev_nr_sectors(st->bdev), limit);
		st->limit = st->size;
		ret = -ENOSPC;
		if (!st->size)
			goto out_free;
	} else if (S_ISREG(inode->i_mode)) {
		st->bdev = inode->i_sb->s_bdev;
		st->size = min_t(sector_t, i_size_read(inode) >> SECTOR_SHIFT,
				 limit);
	} else {
		ret = -EINVAL;
		goto out_free;
	}
	return st;

out_free:
	kfree(st);
out_fput:
	fput(file);
	return ERR_PTR(ret);
}

/**
 * bs_storage_create() - take a descriptor as difference storage
 * @fd: the descriptor, open for reading and writing.
 * @limit: the most sectors the storage may use.
 *
 * Context: process; may sleep.
 * Return: the storage or an ERR_PTR().
 */
struct bs_storage *bs_storage_create(unsigned int fd, sector_t limit)
{
	struct bs_storage *st;
	int ret;

	if (!limit || limit > BS_STORAGE_MAX_SECT)
		return ERR_PTR(-EINVAL);
	st = bs_storage_get(fd, limit);
	if (IS_ERR(st) || st->is_bdev)
		return st;
	if (st->size < min(bs_storage_portion(), limit)) {
		ret = bs_storage_grow(st);
		if (ret && !st->size) {
			bs_storage_destroy(st);
			return ERR_PTR(ret);
		}
		if (ret)
			st->grow_error = ret;
	}
	return st;
}

/**
 * bs_storage_open_fixed() - take a descriptor as a store of a fixed size
 * @fd: the descriptor, open for reading and writing, as for
 *	bs_storage_create().
 * @size: the sectors wanted; the storage must have them already.
 *
 * For small metadata, such as the write-intent log of a tracker: the
 * storage never grows and is not handed out by bs_storage_alloc(); it is
 * written with bs_storage_write_durable() from sector 0 to @size.
 *
 * Context: process; may sleep.
 * Return: the storage or an ERR_PTR(): -EBADF, -EINVAL as for
 * bs_storage_create(), -ENOSPC if the file or device is smaller than @size.
 */
struct bs_storage *bs_storage_open_fixed(unsigned int fd, sector_t size)
{
	struct bs_storage *st;

	if (!size || size > BS_STORAGE_MAX_SECT)
		return ERR_PTR(-EINVAL);
	st = bs_storage_get(fd, size);
	if (IS_ERR(st))
		return st;
	if (st->size < size) {
		bs_storage_destroy(st);
		return ERR_PTR(-ENOSPC);
	}
	st->grow_error = -ENOSPC;
	return st;
}

/**
 * bs_storage_destroy() - release the storage
 * @st: the storage; no I/O to it is running.
 *
 * An O_TMPFILE file goes with its last reference.
 */
void bs_storage_destroy(struct bs_storage *st)
{
	struct page *page, *tmp;

	cancel_work_sync(&st->grow_work);
	list_for_each_entry_safe(page, tmp, &st->pool, lru)
		__free_page(page);
	fput(st->file);
	kfree(st);
}
