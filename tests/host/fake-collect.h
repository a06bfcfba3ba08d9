/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module's answer to IOCTL_BLKSNAP_SNAPSHOT_COLLECT, for the fakes of
 * the module in the host tests (as the v6 series answers it): without an
 * array the count and success; with one too small the count and ENODATA;
 * else N ids, id i filled with the byte STEP * (i + 1).
 */
#ifndef BLKSNAP_TESTS_FAKE_COLLECT_H
#define BLKSNAP_TESTS_FAKE_COLLECT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <linux/blksnap.h>

static int fake_collect_answer(struct blksnap_snapshot_collect *arg,
			       unsigned int n, unsigned int step)
{
	unsigned int i;

	if (!arg->ids) {
		arg->count = n;
		return 0;
	}
	if (arg->count < n) {
		arg->count = n;
		errno = ENODATA;
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct blksnap_uuid *u = (struct blksnap_uuid *)(uintptr_t)arg->ids + i;

		memset(u->b, (int)(step * (i + 1)), sizeof(u->b));
	}
	arg->count = n;
	return 0;
}

#endif
