// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A fake blksnap module for the tool's host tests, loaded with LD_PRELOAD:
 * its ioctl() answers the control device's commands as the environment
 * says, the way the module does (issue 19, the v6 series); every other
 * call goes to the kernel.
 *
 *   FAKE_WAIT      WAIT_EVENT: an errno name (ENOENT, ESRCH, ...), or an
 *                  event MAJOR:MINOR:ERRNO:TIME_NS (ERRNO as the module
 *                  gives it, positive)
 *   FAKE_TAKE      TAKE: an errno name, or 0
 *   FAKE_DESTROY   DESTROY: an errno name, or 0
 *   FAKE_COLLECT   COLLECT: the number of snapshots at each call, blank
 *                  separated, the last one repeating; ids NULL is the size
 *                  query, an array too small gets ENODATA
 *
 * A command whose variable is unset goes to the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <linux/blksnap.h>

#include "fake-collect.h"
#include "fake-event.h"

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "0", 0 }, { "ENOENT", ENOENT }, { "ESRCH", ESRCH }, { "EINTR", EINTR },
	{ "ENODEV", ENODEV }, { "ETIMEDOUT", ETIMEDOUT }, { "EALREADY", EALREADY },
	{ "ENODATA", ENODATA }, { "EIO", EIO },
};

/* -1 (errno set) for an errno name, 0 for "0"; aborts on anything else. */
static int fail_as(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		if (strcmp(name, errnos[i].name) == 0) {
			errno = errnos[i].err;
			return errnos[i].err ? -1 : 0;
		}
	}
	fprintf(stderr, "preload-module: unknown errno name '%s'\n", name);
	abort();
}

static int fake_wait(const char *how, struct blksnap_snapshot_event *e)
{
	unsigned int mj, mn;
	long long t;
	int err;

	if (sscanf(how, "%u:%u:%d:%lld", &mj, &mn, &err, &t) != 4)
		return fail_as(how);
	fake_event_corrupted(e, mj, mn, err, t);
	return 0;
}

static int fake_collect(const char *counts, struct blksnap_snapshot_collect *arg)
{
	static unsigned int calls;
	const char *p = counts;
	unsigned int i, n = 0;
	char *end;

	for (i = 0; i <= calls; i++) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p)
			break;
		n = (unsigned int)v;
		p = end;
	}
	calls++;
	return fake_collect_answer(arg, n, 0x11);
}

int ioctl(int fd, unsigned long req, ...)
{
	const char *how = NULL;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	switch (req) {
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT:
		how = getenv("FAKE_WAIT");
		if (how)
			return fake_wait(how, arg);
		break;
	case IOCTL_BLKSNAP_SNAPSHOT_TAKE:
		how = getenv("FAKE_TAKE");
		if (how)
			return fail_as(how);
		break;
	case IOCTL_BLKSNAP_SNAPSHOT_DESTROY:
		how = getenv("FAKE_DESTROY");
		if (how)
			return fail_as(how);
		break;
	case IOCTL_BLKSNAP_SNAPSHOT_COLLECT:
		how = getenv("FAKE_COLLECT");
		if (how)
			return fake_collect(how, arg);
		break;
	}
	return (int)syscall(SYS_ioctl, fd, req, arg);
}
