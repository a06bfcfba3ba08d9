/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake module for the lib-*.c host tests: the program defines ioctl()
 * by including this header, which the library's calls reach instead of
 * libc's.  Those on the control device that fake_ctl_open() opened go to
 * fake_ctl_ioctl(), which the program defines (the module's answers);
 * every other descriptor goes to the kernel.
 */
#ifndef BLKSNAP_TESTS_FAKE_CTL_H
#define BLKSNAP_TESTS_FAKE_CTL_H

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <blksnap/blksnap.h>

static int fake_ctl_fd = -1;		/* the "control device" */

static int fake_ctl_ioctl(unsigned long req, void *arg);

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != fake_ctl_fd)
		return (int)syscall(SYS_ioctl, fd, req, arg);
	return fake_ctl_ioctl(req, arg);
}

/* The library's control device, on /dev/null.  0, or -1 after saying
 * why. */
static int fake_ctl_open(struct blksnap_ctl **ctl)
{
	/* The library's descriptor will be the lowest free one. */
	fake_ctl_fd = dup(2);
	if (fake_ctl_fd < 0 || close(fake_ctl_fd) < 0 ||
	    blksnap_ctl_open("/dev/null", ctl) < 0) {
		fprintf(stderr, "cannot open /dev/null\n");
		return -1;
	}
	return 0;
}

#endif
