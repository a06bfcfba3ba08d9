// SPDX-License-Identifier: GPL-2.0
/*
 * The chunk map of one device of a snapshot: for each chunk, where the
 * snapshot's data of it is.
 *
 * An xarray indexed by chunk number holds one of three entries:
 * - nothing: the chunk was not written since the take, its data is still
 *   only on the original;
 * - a value entry, xa_mk_value(sector): the old data is in the difference
 *   storage at that sector;
 * - a pointer to a struct bs_copy of area.c: the old data is in memory,
 *   being read from the original or written to the storage.  A copy holds
 *   a run of adjacent chunks, and every chunk of the run points to it.
 *   A copy read ahead of a writer whose read failed gives its chunks back:
 *   nothing again.
 *
 * The owner (area.c) reads and changes entries under a lock of its own,
 * which orders them with the states of its copies; the xarray's lock
 * only guards its nodes.  Changing an entry never allocates: the slots of
 * chunks about to be claimed are reserved before, where sleeping is
 * allowed (bs_map_reserve()), and a reserved slot reads as nothing.
 *
 * Beside the xarray, a bit per chunk says that its entry is a place in
 * the storage.  Every write to the device asks that while a snapshot is
 * held (bs_map_all_stored()), and most of them are rewrites of chunks
 * preserved before: a bit test, with no lock, answers them where a walk of
 * the xarray from its root would cost some hundred instructions more.  The
 * bitmap costs a bit per chunk of the whole device, allocated with the
 * map: 2 MiB at most with the default chunk_maximum_count.
 *
 * Runs of chunks are walked with one xa_state, from slot to slot of a
 * node, rather than from the root for every chunk: a 1 MiB write covers
 * 256 chunks of 4 KiB.
 */
#include <linux/bitops.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "blksnap.h"

/*
 * The entry at the walk's index, or NULL for a reserved slot.  A node
 * being freed holds retry entries; entries are never erased before
 * bs_map_destroy(), so there is none, but a walk would start again there.
 */
static void *bs_map_entry(struct xa_state *xas, void *e)
{
	while (xa_is_retry(e)) {
		xas_reset(xas);
		e = xas_load(xas);
	}
	return xa_is_zero(e) ? NULL : e;
}

/**
 * bs_map_init() - an empty chunk map
 * @map: the map.
 * @capacity: size of the device, sectors, at least one.
 * @chunk_shift: chunk size, log2 of bytes.
 *
 * Context: process; may sleep.
 * Return: 0 or -ENOMEM.
 */
int bs_map_init(struct bs_map *map, sector_t capacity,
		unsigned int chunk_shift)
{
	unsigned int shift = chunk_shift - SECTOR_SHIFT;
	unsigned long chunks = ((capacity - 1) >> shift) + 1;

	map->stored = kvcalloc(BITS_TO_LONGS(chunks), sizeof(unsigned long),
			       GFP_KERNEL);
	if (!map->stored)
		return -ENOMEM;
	xa_init(&map->chunks);
	map->shift = shift;
	map->capacity = capacity;
	return 0;
}

/**
 * bs_map_destroy() - free a chunk map
 * @map: the map; nobody uses it any more.
 * @drop: called once for each copy the map still points to.
 */
void bs_map_destroy(struct bs_map *map, void (*drop)(struct bs_copy *copy))
{
	struct bs_copy *last = NULL;
	unsigned long c;
	void *e;

	/* In index order: the chunks of a copy follow each other. */
	xa_for_each(&map->chunks, c, e) {
		if (xa_is_value(e) || e == last)
			continue;
		last = e;
		drop(last);
	}
	xa_destroy(&map->chunks);
	kvfree(map->stored);
}

/**
 * bs_map_reserve() - make room for claiming chunks
 * @map: the map.
 * @first: first chunk.
 * @last: last chunk.
 *
 * Reserves the slots of the chunks of [@first, @last] that hold nothing,
 * so that bs_map_set() can fill them without allocating.  Reserved slots
 * still read as nothing.
 *
 * Context: process; may sleep, does no I/O.
 * Return: 0 or -ENOMEM.
 */
int bs_map_reserve(struct bs_map *map, unsigned long first,
		   unsigned long last)
{
	XA_STATE(xas, &map->chunks, first);
	void *e;

	/* A node allocation that fails under the lock is retried outside. */
	do {
		xas_lock(&xas);
		for (e = xas_load(&xas);; e = xas_next(&xas)) {
			if (!e)
				xas_store(&xas, XA_ZERO_ENTRY);
			if (xas_error(&xas) || xas.xa_index >= last)
				break;
		}
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_NOIO));
	return xas_error(&xas);
}

/* Store @count entries from @first on, each @step more than the one before. */
static void bs_map_store(struct bs_map *map, unsigned long first,
			 unsigned int count, void *entry, unsigned long step)
{
	XA_STATE(xas, &map->chunks, first);
	unsigned int i;

	/* The slots exist (reserved or filled): storing allocates nothing. */
	xas_lock(&xas);
	xas_load(&xas);
	for (i = 0; i < count; i++) {
		if (i)
			xas_next(&xas);
		xas_store(&xas, entry);
		entry = (void *)((unsigned long)entry + step);
	}
	WARN_ON_ONCE(xas_error(&xas));
	xas_unlock(&xas);
}

/**
 * bs_map_set() - point a run of chunks at a copy
 * @map: the map.
 * @first: first chunk.
 * @count: number of chunks.
 * @copy: the copy.
 *
 * The slots were reserved, or hold entries already.
 *
 * Context: the owner's lock held; does not sleep.
 */
void bs_map_set(struct bs_map *map, unsigned long first, unsigned int count,
		struct bs_copy *copy)
{
	bs_map_store(map, first, count, copy, 0);
}

/**
 * bs_map_unset() - a run of chunks is only on the original again
 * @map: the map.
 * @first: first chunk.
 * @count: number of chunks.
 *
 * For a copy given up before anything needed it: its slots go back to
 * reserved, which read as nothing.
 *
 * Context: the owner's lock held; does not sleep.
 */
void bs_map_unset(struct bs_map *map, unsigned long first, unsigned int count)
{
	bs_map_store(map, first, count, XA_ZERO_ENTRY, 0);
}

/**
 * bs_map_set_stored() - a run of chunks is in the storage
 * @map: the map.
 * @first: first chunk.
 * @count: number of chunks.
 * @at: where the first one is, in the storage; the others follow it.
 *
 * Context: the owner's lock held; does not sleep.
 */
void bs_map_set_stored(struct bs_map *map, unsigned long first,
		       unsigned int count, sector_t at)
{
	unsigned int i;

	/*
	 * xa_mk_value(v) is (v << 1) | 1: the entries of consecutive places
	 * are 2 << shift apart.
	 */
	bs_map_store(map, first, count, xa_mk_value(at), 2UL << map->shift);
	/*
	 * Atomic: bs_map_all_stored() reads the words without the lock.  A
	 * bit is set after the entry and never cleared.
	 */
	for (i = 0; i < count; i++)
		set_bit(first + i, map->stored);
}

/**
 * bs_map_empty_run() - chunks only on the original, from a chunk on
 * @map: the map.
 * @first: first chunk.
 * @last: the last one to look at.
 *
 * Context: the owner's lock held.
 * Return: how many chunks from @first on hold nothing, at most up to @last.
 */
unsigned long bs_map_empty_run(struct bs_map *map, unsigned long first,
			       unsigned long last)
{
	unsigned long c = first;

	/* xa_find() skips empty and reserved slots, a node at a time. */
	if (!xa_find(&map->chunks, &c, last, XA_PRESENT))
		return last - first + 1;
	return c - first;
}

/**
 * bs_map_next_empty() - the first run of chunks only on the original
 * @map: the map.
 * @first: first chunk to look at.
 * @last: the last one.
 * @max: the longest run wanted.
 * @start: out: the run's first chunk.
 *
 * Context: the owner's lock held.
 * Return: the run's length, at most @max; 0 if every chunk of
 * [@first, @last] holds something.
 */
unsigned long bs_map_next_empty(struct bs_map *map, unsigned long first,
				unsigned long last, unsigned long max,
				unsigned long *start)
{
	XA_STATE(xas, &map->chunks, first);
	unsigned long c;
	void *e;

	rcu_read_lock();
	for (e = xas_load(&xas);; e = xas_next(&xas)) {
		if (!bs_map_entry(&xas, e))
			break;
		if (xas.xa_index >= last) {
			rcu_read_unlock();
			return 0;
		}
	}
	c = xas.xa_index;
	rcu_read_unlock();
	*start = c;
	return min(bs_map_empty_run(map, c, last), max);
}

/**
 * bs_map_scan() - the entries of a range of chunks
 * @map: the map.
 * @first: first chunk.
 * @last: last chunk.
 * @visit: called for each copy the range points to, once per run of
 *	chunks pointing to it, in order.
 * @data: for @visit.
 *
 * Context: the owner's lock held.
 * Return: how many chunks of the range hold something (a copy or a place
 * in the storage).
 */
unsigned long bs_map_scan(struct bs_map *map, unsigned long first,
			  unsigned long last,
			  void (*visit)(struct bs_copy *copy, void *data),
			  void *data)
{
	XA_STATE(xas, &map->chunks, first);
	struct bs_copy *prev = NULL;
	unsigned long n = 0;
	void *e;

	rcu_read_lock();
	xas_for_each(&xas, e, last) {
		if (xas_retry(&xas, e))
			continue;
		n++;
		if (xa_is_value(e) || e == prev)
			continue;
		prev = e;
		visit(prev, data);
	}
	rcu_read_unlock();
	return n;
}

/**
 * bs_map_stored_run() - chunks stored one after the other, from a chunk on
 * @map: the map.
 * @first: first chunk, a stored one.
 * @last: the last one to look at.
 * @at: out: where @first is in the storage.
 *
 * Context: the owner's lock held.
 * Return: how many chunks from @first on are stored, each right after the
 * one before, at most up to @last; 0 if @first is not stored.
 */
unsigned long bs_map_stored_run(struct bs_map *map, unsigned long first,
				unsigned long last, sector_t *at)
{
	XA_STATE(xas, &map->chunks, first);
	unsigned long n = 0;
	sector_t next = 0;
	void *e;

	rcu_read_lock();
	for (e = xas_load(&xas);; e = xas_next(&xas)) {
		e = bs_map_entry(&xas, e);
		if (!xa_is_value(e) || (n && xa_to_value(e) != next))
			break;
		if (!n)
			*at = xa_to_value(e);
		next = xa_to_value(e) + (1UL << map->shift);
		if (++n > last - first)
			break;
	}
	rcu_read_unlock();
	return n;
}
