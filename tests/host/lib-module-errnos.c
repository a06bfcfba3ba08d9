// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libblksnap against a fake module: this program defines ioctl(), which
 * the library's calls reach instead of libc's, and answers the control
 * device's commands as the module does (issue 19, the v6 series):
 * COLLECT's size query and the array, WAIT_EVENT's -ENOENT, -ESRCH and
 * positive event errno, TAKE's -ESRCH, DESTROY's -ENODEV.  The library
 * must pass the errnos through and follow the two-call protocol of
 * COLLECT.  Exit 0 pass, 1 fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/blksnap.h>
#include <blksnap/blksnap.h>

#include "expect.h"
#include "fake-collect.h"
#include "fake-ctl.h"
#include "fake-event.h"

/* The fake module's state, set by each test. */
static const unsigned int *collect_n;	/* snapshots at each COLLECT call */
static unsigned int collect_len;	/* entries; the last one repeats */
static unsigned int collect_calls;
static unsigned int collect_queries;	/* calls with ids 0 */
static int answer;			/* WAIT_EVENT, TAKE, DESTROY: -errno */
static struct blksnap_event_corrupted event;
static int64_t event_time;

static int fake_collect(struct blksnap_snapshot_collect *arg)
{
	unsigned int n;

	n = collect_n[collect_calls < collect_len ? collect_calls : collect_len - 1];
	collect_calls++;
	if (!arg->ids)
		collect_queries++;
	return fake_collect_answer(arg, n, 1);
}

static int fake_ctl_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case IOCTL_BLKSNAP_SNAPSHOT_COLLECT:
		return fake_collect(arg);
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT:
		if (answer)
			break;
		fake_event_corrupted(arg, event.dev_id_mj, event.dev_id_mn,
				     event.err_code, event_time);
		return 0;
	case IOCTL_BLKSNAP_SNAPSHOT_TAKE:
	case IOCTL_BLKSNAP_SNAPSHOT_DESTROY:
		if (answer)
			break;
		return 0;
	default:
		errno = ENOTTY;
		return -1;
	}
	errno = -answer;
	return -1;
}

/* collect with the module's counts at each call: want returned, after
 * calls calls, one of them a size query. */
static void collect_case(int line, const unsigned int *counts, unsigned int len,
			 struct blksnap_ctl *ctl, int want, unsigned int calls)
{
	struct blksnap_id *ids = (struct blksnap_id *)&ids;	/* not NULL */
	int i, ret;

	collect_n = counts;
	collect_len = len;
	collect_calls = collect_queries = 0;
	ret = blksnap_snapshot_collect(ctl, &ids);
	if (ret != want || collect_calls != calls || collect_queries != 1) {
		fprintf(stderr, "line %d: collect returned %d after %u calls (%u size queries), expected %d after %u (1)\n",
			line, ret, collect_calls, collect_queries, want, calls);
		failed = 1;
	}
	if ((ret == 0 && ids) || (ret > 0 && !ids)) {
		fprintf(stderr, "line %d: %d snapshots, array %p\n", line, ret, (void *)ids);
		failed = 1;
		return;
	}
	for (i = 0; i < ret; i++) {
		if (ids[i].b[0] != i + 1 || ids[i].b[15] != i + 1) {
			fprintf(stderr, "line %d: id %d wrong\n", line, i);
			failed = 1;
		}
	}
	if (ret >= 0)
		free(ids);
}

#define COLLECT(want, calls, ...) do {					\
		static const unsigned int _c[] = { __VA_ARGS__ };	\
		collect_case(__LINE__, _c, sizeof(_c) / sizeof(_c[0]), ctl, \
			     (want), (calls));				\
	} while (0)

int main(void)
{
	struct blksnap_snapshot *snap;
	struct blksnap_ctl *ctl;
	struct blksnap_event ev = { .size = sizeof(ev) };
	struct blksnap_id id;

	if (fake_ctl_open(&ctl) < 0)
		return 1;

	/* COLLECT: a size query (0 and the count), then the array; again
	 * with more room while the set grows; the answer if it shrank. */
	COLLECT(0, 1, 0);
	COLLECT(2, 2, 2);
	COLLECT(3, 3, 2, 3);
	COLLECT(5, 4, 1, 3, 5);
	COLLECT(1, 2, 3, 1);
	COLLECT(0, 2, 2, 0);
	COLLECT(-EAGAIN, 65, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
		33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
		50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66);

	memset(&id, 0x5a, sizeof(id));
	EXPECT_RET(blksnap_snapshot_open(ctl, &id, &snap), 0);

	/* WAIT_EVENT: the errnos as they are; the event's errno positive,
	 * its time CLOCK_MONOTONIC ns, both as the module gives them. */
	answer = -ENOENT;
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 0, &ev), -ENOENT);
	answer = -ESRCH;
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 100, &ev), -ESRCH);
	answer = -EINTR;
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 100, &ev), -EINTR);
	answer = -ETIMEDOUT;
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 100, &ev), -ETIMEDOUT);
	answer = 0;
	event.dev_id_mj = 253;
	event.dev_id_mn = 16;
	event.err_code = ENOSPC;
	event_time = 123456789012LL;
	memset(&ev, 0xff, sizeof(ev));
	ev.size = sizeof(ev);
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 0, &ev), 0);
	EXPECT(ev.code == BLKSNAP_EVENT_CORRUPTED);
	EXPECT(ev.dev_major == 253 && ev.dev_minor == 16);
	EXPECT(ev.error == ENOSPC);
	EXPECT(ev.time_ns == 123456789012LL);

	/* TAKE and DESTROY. */
	answer = -ESRCH;
	EXPECT_RET(blksnap_snapshot_take(snap), -ESRCH);
	answer = -ENODEV;
	EXPECT_RET(blksnap_snapshot_destroy(snap), -ENODEV);
	answer = 0;
	EXPECT_RET(blksnap_snapshot_take(snap), 0);
	EXPECT_RET(blksnap_snapshot_destroy(snap), 0);

	blksnap_snapshot_free(snap);
	blksnap_ctl_close(ctl);
	return failed;
}
