/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bftest: a block device filter for testing the filtering framework.
 * Commands and structures of its BLKFILTER_CTL interface.
 */
#ifndef _BFTEST_H
#define _BFTEST_H

#include <linux/types.h>

#define BFTEST_NAME "bftest"
/* The same filter without a ctl callback. */
#define BFTEST_ALT_NAME "bftest-alt"

/**
 * enum bftest_cmd - BLKFILTER_CTL commands of the bftest filter
 * @BFTEST_CMD_STATS: copy &struct bftest_stats to the buffer.
 * @BFTEST_CMD_MODE: set the mode from a __u32 &enum bftest_mode.
 * @BFTEST_CMD_RESET: zero the counters.
 * @BFTEST_CMD_OWN_IO: a __u32 N: the callback submits a 4 KiB read of the
 *	device's first block for each of the next N writes it sees.
 * @BFTEST_CMD_OOPS: dereference NULL, to test that the harness catches an
 *	Oops (stock kernels have no lkdtm).
 */
enum bftest_cmd {
	BFTEST_CMD_STATS,
	BFTEST_CMD_MODE,
	BFTEST_CMD_RESET,
	BFTEST_CMD_OWN_IO,
	BFTEST_CMD_OOPS,
};

/**
 * enum bftest_mode - what the filter does with writes
 * @BFTEST_PASS: let them through.
 * @BFTEST_SKIP_WRITES: take them and complete them without writing.
 * @BFTEST_FAIL_WRITES: take them and fail them with an I/O error.
 */
enum bftest_mode {
	BFTEST_PASS,
	BFTEST_SKIP_WRITES,
	BFTEST_FAIL_WRITES,
};

/**
 * struct bftest_stats - what the filter saw since attach or reset
 * @reads: read bios.
 * @writes: write bios (write, discard, write zeroes).
 * @others: flushes and other bios.
 * @read_sectors: sectors read.
 * @write_sectors: sectors written.
 * @last_write_sector: start of the last write, relative to the device.
 * @max_write_end: end of the farthest write, relative to the device.
 * @outside: bios reaching beyond the device (a bug if not zero).
 * @skipped: writes taken and completed without writing.
 * @failed: writes failed.
 * @own_submitted: reads the callback submitted itself.
 * @own_seen: of those, the ones passed to the callback again (a bug).
 * @mode: the current &enum bftest_mode.
 * @padding: zero.
 */
struct bftest_stats {
	__u64 reads;
	__u64 writes;
	__u64 others;
	__u64 read_sectors;
	__u64 write_sectors;
	__u64 last_write_sector;
	__u64 max_write_end;
	__u64 outside;
	__u64 skipped;
	__u64 failed;
	__u64 own_submitted;
	__u64 own_seen;
	__u32 mode;
	__u32 padding;
};

#endif /* _BFTEST_H */
