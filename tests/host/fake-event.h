/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module's answer to IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT with a
 * corrupted event, for the fakes of the module in the host tests (as the
 * v6 series gives it): the device, the errno positive, the time in ns.
 */
#ifndef BLKSNAP_TESTS_FAKE_EVENT_H
#define BLKSNAP_TESTS_FAKE_EVENT_H

#include <stdint.h>
#include <string.h>

#include <linux/blksnap.h>

static void fake_event_corrupted(struct blksnap_snapshot_event *e,
				 unsigned int major, unsigned int minor,
				 int err, int64_t time_ns)
{
	struct blksnap_event_corrupted c;

	memset(&c, 0, sizeof(c));
	c.dev_id_mj = major;
	c.dev_id_mn = minor;
	c.err_code = err;
	e->code = blksnap_event_code_corrupted;
	e->time_label = time_ns;
	memcpy(e->data, &c, sizeof(c));
}

#endif
