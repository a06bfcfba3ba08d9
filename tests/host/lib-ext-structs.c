// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libblksnap's extensible structures (blksnap.h, "Types"): their layouts
 * are pinned here, and against a fake module (this program's ioctl())
 * the size field works as documented: a caller built with version 0
 * gets its fields; a caller with a larger structure (a newer header, this
 * older library) gets the known fields, zeroes beyond them and size set
 * to what was filled in; a size out of range is -EINVAL before any ioctl
 * and leaves the structure alone.  Exit 0 pass, 1 fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/blksnap.h>
#include <blksnap/blksnap.h>

#include "expect.h"
#include "fake-ctl.h"
#include "fake-event.h"

#define OFF(t, f, n) _Static_assert(offsetof(t, f) == (n), #t "." #f)
#define SIZE(t, n) _Static_assert(sizeof(t) == (n), #t " size")

SIZE(struct blksnap_id, 16);
SIZE(struct blksnap_range, 16);
SIZE(struct blksnap_module_version, BLKSNAP_MODULE_VERSION_SIZE_VER0);
SIZE(struct blksnap_module_version, 12);
OFF(struct blksnap_module_version, major, 4);
OFF(struct blksnap_module_version, build, 10);
SIZE(struct blksnap_cbt_info, BLKSNAP_CBT_INFO_SIZE_VER0);
SIZE(struct blksnap_cbt_info, 40);
OFF(struct blksnap_cbt_info, block_size, 4);
OFF(struct blksnap_cbt_info, device_size, 8);
OFF(struct blksnap_cbt_info, block_count, 16);
OFF(struct blksnap_cbt_info, changes_number, 20);
OFF(struct blksnap_cbt_info, generation, 24);
SIZE(struct blksnap_image_info, BLKSNAP_IMAGE_INFO_SIZE_VER0);
SIZE(struct blksnap_image_info, 48);
OFF(struct blksnap_image_info, error, 4);
OFF(struct blksnap_image_info, image, 8);
SIZE(struct blksnap_event, BLKSNAP_EVENT_SIZE_VER0);
SIZE(struct blksnap_event, 32);
OFF(struct blksnap_event, code, 4);
OFF(struct blksnap_event, time_ns, 8);
OFF(struct blksnap_event, dev_major, 16);
OFF(struct blksnap_event, dev_minor, 20);
OFF(struct blksnap_event, error, 24);

static unsigned int ioctls;		/* calls that reached the fake */

static int fake_ctl_ioctl(unsigned long req, void *arg)
{
	struct blksnap_version *v;

	ioctls++;
	switch (req) {
	case IOCTL_BLKSNAP_VERSION:
		v = arg;
		v->major = 1;
		v->minor = 2;
		v->revision = 3;
		v->build = 4;
		return 0;
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT:
		fake_event_corrupted(arg, 8, 16, ENOSPC, 77);
		return 0;
	default:
		errno = ENOTTY;
		return -1;
	}
}

/* A caller built against a newer header: more fields after version 0. */
struct newer_version {
	struct blksnap_module_version v0;
	uint32_t reserved;		/* to 8 */
	uint64_t future;
};

struct newer_event {
	struct blksnap_event v0;
	uint64_t future[3];
};

static void test_version(struct blksnap_ctl *ctl)
{
	struct blksnap_module_version v;
	struct newer_version nv;
	unsigned int before;

	memset(&v, 0xff, sizeof(v));
	v.size = sizeof(v);
	EXPECT_RET(blksnap_module_version(ctl, &v), 0);
	EXPECT(v.size == BLKSNAP_MODULE_VERSION_SIZE_VER0);
	EXPECT(v.major == 1 && v.minor == 2 && v.revision == 3 && v.build == 4);
	/* Reused as it came back. */
	EXPECT_RET(blksnap_module_version(ctl, &v), 0);
	EXPECT(v.size == BLKSNAP_MODULE_VERSION_SIZE_VER0 && v.build == 4);

	memset(&nv, 0xff, sizeof(nv));
	nv.v0.size = sizeof(nv);
	EXPECT_RET(blksnap_module_version(ctl, &nv.v0), 0);
	EXPECT(nv.v0.size == BLKSNAP_MODULE_VERSION_SIZE_VER0);
	EXPECT(nv.v0.major == 1 && nv.v0.build == 4);
	EXPECT(nv.reserved == 0 && nv.future == 0);

	/* Out of range: -EINVAL, no ioctl, nothing written. */
	before = ioctls;
	memset(&nv, 0xee, sizeof(nv));
	nv.v0.size = BLKSNAP_MODULE_VERSION_SIZE_VER0 - 1;
	EXPECT_RET(blksnap_module_version(ctl, &nv.v0), -EINVAL);
	EXPECT(nv.v0.size == BLKSNAP_MODULE_VERSION_SIZE_VER0 - 1);
	EXPECT(nv.v0.major == 0xeeee && nv.future == 0xeeeeeeeeeeeeeeeeULL);
	nv.v0.size = 0;
	EXPECT_RET(blksnap_module_version(ctl, &nv.v0), -EINVAL);
	nv.v0.size = BLKSNAP_EXT_SIZE_MAX + 1;
	EXPECT_RET(blksnap_module_version(ctl, &nv.v0), -EINVAL);
	EXPECT(nv.v0.size == BLKSNAP_EXT_SIZE_MAX + 1 && nv.v0.major == 0xeeee);
	EXPECT(ioctls == before);
}

static void test_event(struct blksnap_ctl *ctl)
{
	struct blksnap_snapshot *snap;
	struct blksnap_event ev;
	struct newer_event ne;
	struct blksnap_id id;
	unsigned int before;

	memset(&id, 0x11, sizeof(id));
	EXPECT_RET(blksnap_snapshot_open(ctl, &id, &snap), 0);
	if (failed)
		return;
	memset(&ev, 0xff, sizeof(ev));
	ev.size = sizeof(ev);
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 0, &ev), 0);
	EXPECT(ev.size == BLKSNAP_EVENT_SIZE_VER0);
	EXPECT(ev.code == BLKSNAP_EVENT_CORRUPTED && ev.time_ns == 77);
	EXPECT(ev.dev_major == 8 && ev.dev_minor == 16 && ev.error == ENOSPC);
	EXPECT(ev.reserved0 == 0);

	memset(&ne, 0xff, sizeof(ne));
	ne.v0.size = sizeof(ne);
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 0, &ne.v0), 0);
	EXPECT(ne.v0.size == BLKSNAP_EVENT_SIZE_VER0);
	EXPECT(ne.v0.dev_minor == 16 && ne.v0.error == ENOSPC);
	EXPECT(ne.future[0] == 0 && ne.future[1] == 0 && ne.future[2] == 0);

	before = ioctls;
	memset(&ev, 0xee, sizeof(ev));
	ev.size = 16;
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 0, &ev), -EINVAL);
	EXPECT(ev.size == 16 && ev.code == 0xeeeeeeee);
	EXPECT(ioctls == before);
	blksnap_snapshot_free(snap);
}

/* Out of range sizes of the device calls fail before the device is
 * looked at: -EINVAL with a NULL device too, the structure untouched. */
static void test_dev_sizes(void)
{
	struct blksnap_image_info ii;
	struct blksnap_cbt_info ci;
	uint8_t *map = (uint8_t *)&map;

	memset(&ci, 0xee, sizeof(ci));
	ci.size = BLKSNAP_CBT_INFO_SIZE_VER0 - 8;
	EXPECT_RET(blksnap_cbt_info(NULL, &ci), -EINVAL);
	EXPECT_RET(blksnap_cbt_map(NULL, &ci, &map), -EINVAL);
	EXPECT(ci.size == BLKSNAP_CBT_INFO_SIZE_VER0 - 8 && ci.block_count == 0xeeeeeeee);
	EXPECT(map == (uint8_t *)&map);
	memset(&ii, 0xee, sizeof(ii));
	ii.size = 0;
	EXPECT_RET(blksnap_image_info(NULL, &ii), -EINVAL);
	EXPECT(ii.error == (int32_t)0xeeeeeeee);
	EXPECT_RET(blksnap_image_info(NULL, NULL), -EINVAL);
	EXPECT_RET(blksnap_cbt_info(NULL, NULL), -EINVAL);
}

int main(void)
{
	struct blksnap_ctl *ctl;

	if (fake_ctl_open(&ctl) < 0)
		return 1;
	test_version(ctl);
	test_event(ctl);
	test_dev_sizes();
	blksnap_ctl_close(ctl);
	return failed;
}
