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
 *
 * The owner (area.c) reads and changes entries under a lock of its own,
 * which orders them with the states of its copies; the xarray's lock
 * only guards its nodes.  Changing an entry never allocates: the slots of
 * chunks about to be claimed are reserved before, where sleeping is
 * allowed (bs_map_reserve()), and a reserved slot reads as nothing.
 */
#include <linux/xarray.h>

#include "blksnap.h"

/**
 * bs_map_init() - an empty chunk map
 * @map: the map.
 * @capacity: size of the device, sectors.
 * @chunk_shift: chunk size, log2 of bytes.
 */
void bs_map_init(struct bs_map *map, sector_t capacity,
		 unsigned int chunk_shift)
{
	xa_init(&map->chunks);
	map->shift = chunk_shift - SECTOR_SHIFT;
	map->capacity = capacity;
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
}

/**
 * bs_map_range() - the chunks a range of sectors of the device covers
 * @map: the map.
 * @sector: first sector.
 * @count: number of sectors.
 * @first: out: first chunk.
 * @last: out: last chunk.
 *
 * The part of the range past the end of the device is left out.
 *
 * Return: false if no chunk is covered.
 */
bool bs_map_range(const struct bs_map *map, sector_t sector, sector_t count,
		  unsigned long *first, unsigned long *last)
{
	if (sector >= map->capacity || !count)
		return false;
	count = min(count, map->capacity - sector);
	*first = sector >> map->shift;
	*last = (sector + count - 1) >> map->shift;
	return true;
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
	unsigned long c;
	int ret;

	for (c = first; c <= last; c++) {
		if (xa_load(&map->chunks, c))
			continue;
		ret = xa_reserve(&map->chunks, c, GFP_NOIO);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * bs_map_set() - point a run of chunks at a copy, or at nothing
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
	unsigned int i;

	for (i = 0; i < count; i++)
		WARN_ON_ONCE(xa_is_err(xa_store(&map->chunks, first + i, copy,
						GFP_NOWAIT)));
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
	void *e;

	/* The slots hold the copy's pointer: no node is allocated. */
	for (i = 0; i < count; i++) {
		e = xa_mk_value(at + ((sector_t)i << map->shift));
		WARN_ON_ONCE(xa_is_err(xa_store(&map->chunks, first + i, e,
						GFP_NOWAIT)));
	}
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
	unsigned long c;

	for (c = first; c <= last; c++)
		if (xa_load(&map->chunks, c))
			break;
	return c - first;
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
	sector_t next;
	unsigned long c;
	void *e;

	e = xa_load(&map->chunks, first);
	if (!xa_is_value(e))
		return 0;
	*at = xa_to_value(e);
	next = *at;
	for (c = first; c <= last; c++, next += 1ULL << map->shift) {
		e = xa_load(&map->chunks, c);
		if (!xa_is_value(e) || xa_to_value(e) != next)
			break;
	}
	return c - first;
}
