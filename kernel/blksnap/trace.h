/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of blksnap's copy-on-write: the stages of a write to chunks
 * not yet preserved, for measuring where its time goes.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM blksnap

#if !defined(_BLKSNAP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _BLKSNAP_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(blksnap_write,
		    TP_PROTO(dev_t dev, sector_t sector, unsigned int nr_sectors),
		    TP_ARGS(dev, sector, nr_sectors),
		    TP_STRUCT__entry(__field(dev_t, dev)
				     __field(sector_t, sector)
				     __field(unsigned int, nr_sectors)),
		    TP_fast_assign(__entry->dev = dev;
				   __entry->sector = sector;
				   __entry->nr_sectors = nr_sectors;),
		    TP_printk("%d,%d sector=%llu nr_sectors=%u",
			      MAJOR(__entry->dev), MINOR(__entry->dev),
			      (unsigned long long)__entry->sector,
			      __entry->nr_sectors)
);

/* A write to chunks not yet preserved is held (sector: of the device). */
DEFINE_EVENT(blksnap_write, blksnap_cow_hold,
	     TP_PROTO(dev_t dev, sector_t sector, unsigned int nr_sectors),
	     TP_ARGS(dev, sector, nr_sectors)
);

/* A held write is released: sent on to the device. */
DEFINE_EVENT(blksnap_write, blksnap_cow_release,
	     TP_PROTO(dev_t dev, sector_t sector, unsigned int nr_sectors),
	     TP_ARGS(dev, sector, nr_sectors)
);

DECLARE_EVENT_CLASS(blksnap_copy,
		    TP_PROTO(dev_t dev, unsigned long chunk, unsigned int count,
			     int error),
		    TP_ARGS(dev, chunk, count, error),
		    TP_STRUCT__entry(__field(dev_t, dev)
				     __field(unsigned long, chunk)
				     __field(unsigned int, count)
				     __field(int, error)),
		    TP_fast_assign(__entry->dev = dev;
				   __entry->chunk = chunk;
				   __entry->count = count;
				   __entry->error = error;),
		    TP_printk("%d,%d chunk=%lu count=%u error=%d",
			      MAJOR(__entry->dev), MINOR(__entry->dev),
			      __entry->chunk, __entry->count, __entry->error)
);

/* The read of the old data of chunks [chunk, chunk + count) is issued. */
DEFINE_EVENT(blksnap_copy, blksnap_cow_load,
	     TP_PROTO(dev_t dev, unsigned long chunk, unsigned int count,
		      int error),
	     TP_ARGS(dev, chunk, count, error)
);

/* The read is done; its work runs. */
DEFINE_EVENT(blksnap_copy, blksnap_cow_load_done,
	     TP_PROTO(dev_t dev, unsigned long chunk, unsigned int count,
		      int error),
	     TP_ARGS(dev, chunk, count, error)
);

/* The old data is in the difference storage, or failed to get there. */
DEFINE_EVENT(blksnap_copy, blksnap_cow_store_done,
	     TP_PROTO(dev_t dev, unsigned long chunk, unsigned int count,
		      int error),
	     TP_ARGS(dev, chunk, count, error)
);

#endif /* _BLKSNAP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
