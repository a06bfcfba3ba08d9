// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libblksnap without the module: argument checks, ids, storage handling
 * and the -errno values of calls on something that is not the control
 * device or a block device.  Exit 0 pass, 1 fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <blksnap/blksnap.h>

#include "expect.h"

static void test_ids(void)
{
	struct blksnap_id id, id2;
	char buf[BLKSNAP_ID_STR_LEN];
	int i;

	for (i = 0; i < 16; i++)
		id.b[i] = (uint8_t)(i * 17 + 3);
	blksnap_id_format(&id, buf);
	EXPECT(strlen(buf) == 36);
	EXPECT(strcmp(buf, "03142536-4758-697a-8b9c-adbecfe0f102") == 0);
	EXPECT_RET(blksnap_id_parse(buf, &id2), 0);
	EXPECT(memcmp(&id, &id2, sizeof(id)) == 0);
	EXPECT_RET(blksnap_id_parse("03142536475869 7a8b9cadbecfe0f102", &id2), -EINVAL);
	EXPECT_RET(blksnap_id_parse("031425364758697a8b9cadbecfe0f102", &id2), 0);
	EXPECT(memcmp(&id, &id2, sizeof(id)) == 0);
	EXPECT_RET(blksnap_id_parse("03142536475869-7a8b9cadbecfe0f1020", &id2), -EINVAL);
	EXPECT_RET(blksnap_id_parse("0314253g-4758-697a-8b9c-adbecfe0f102", &id2), -EINVAL);
	EXPECT_RET(blksnap_id_parse("03142536-4758-697a-8b9c-adbecfe0f10", &id2), -EINVAL);
	EXPECT_RET(blksnap_id_parse("", &id2), -EINVAL);
	EXPECT_RET(blksnap_id_parse(NULL, &id2), -EINVAL);
	EXPECT_RET(blksnap_id_parse("03142536-4758-697A-8B9C-ADBECFE0F102", &id2), 0);
	EXPECT(memcmp(&id, &id2, sizeof(id)) == 0);
}

static void test_ctl(void)
{
	struct blksnap_module_version v = { .size = sizeof(v) };
	struct blksnap_snapshot *snap;
	struct blksnap_ctl *ctl = NULL;
	struct blksnap_id *ids, id, id2;
	struct blksnap_event ev = { .size = sizeof(ev) };
	char dir[] = "/tmp/blksnap-lib-test.XXXXXX";
	char path[256];
	struct stat st;
	int fd;

	EXPECT_RET(blksnap_ctl_open("/nonexistent/blksnap-control", &ctl), -ENOENT);
	EXPECT(ctl == NULL);
	if (stat(BLKSNAP_CONTROL_PATH, &st) < 0)
		EXPECT_RET(blksnap_ctl_open(NULL, &ctl), -ENOENT);
	EXPECT_RET(blksnap_ctl_open(NULL, NULL), -EINVAL);

	/* A character device that knows none of the ioctls. */
	EXPECT_RET(blksnap_ctl_open("/dev/null", &ctl), 0);
	if (!ctl)
		return;
	EXPECT_RET(blksnap_module_version(ctl, &v), -ENOTTY);
	EXPECT_RET(blksnap_module_version(ctl, NULL), -EINVAL);
	EXPECT_RET(blksnap_snapshot_collect(ctl, &ids), -ENOTTY);
	EXPECT_RET(blksnap_snapshot_collect(ctl, NULL), -EINVAL);

	/* Storage: the kinds, and what is left behind. */
	EXPECT(mkdtemp(dir) != NULL);
	EXPECT_RET(blksnap_snapshot_create(ctl, "/nonexistent/dir/file", 0, &snap), -ENOENT);
	EXPECT_RET(blksnap_snapshot_create(ctl, "/dev/null", 1 << 20, &snap), -EINVAL);
	EXPECT_RET(blksnap_snapshot_create(ctl, dir, 1 << 20, &snap), -ENOTTY);
	EXPECT_RET(blksnap_snapshot_create(ctl, dir, 0, &snap), -ENOTTY);
	EXPECT_RET(blksnap_snapshot_create(ctl, dir, 100, &snap), -EINVAL);
	EXPECT_RET(blksnap_snapshot_create(ctl, "", 1 << 20, &snap), -EINVAL);
	EXPECT_RET(blksnap_snapshot_create(ctl, NULL, 1 << 20, &snap), -EINVAL);
	EXPECT_RET(blksnap_snapshot_create(NULL, dir, 1 << 20, &snap), -EINVAL);
	snprintf(path, sizeof(path), "%s/new", dir);
	EXPECT_RET(blksnap_snapshot_create(ctl, path, 1 << 20, &snap), -ENOTTY);
	EXPECT(stat(path, &st) < 0 && errno == ENOENT);	/* made, then removed */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	EXPECT(fd >= 0);
	close(fd);
	EXPECT_RET(blksnap_snapshot_create(ctl, path, 1 << 20, &snap), -ENOTTY);
	EXPECT(stat(path, &st) == 0);			/* the caller's: kept */
	unlink(path);
	EXPECT_RET(blksnap_snapshot_create_fd(ctl, -1, 1 << 20, &snap), -EINVAL);
	rmdir(dir);

	/* A snapshot handle for an id: calls reach the (wrong) device. */
	memset(&id, 0xab, sizeof(id));
	EXPECT_RET(blksnap_snapshot_open(ctl, &id, &snap), 0);
	blksnap_snapshot_id(snap, &id2);
	EXPECT(memcmp(&id, &id2, sizeof(id)) == 0);
	EXPECT(blksnap_snapshot_storage_created(snap) == 0);
	EXPECT_RET(blksnap_snapshot_take(snap), -ENOTTY);
	EXPECT_RET(blksnap_snapshot_destroy(snap), -ENOTTY);
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 0, &ev), -ENOTTY);
	EXPECT_RET(blksnap_snapshot_wait_event(snap, 0, NULL), -EINVAL);
	EXPECT_RET(blksnap_snapshot_add(snap, NULL), -EINVAL);
	blksnap_snapshot_free(snap);
	blksnap_snapshot_free(NULL);
	blksnap_ctl_close(ctl);
	blksnap_ctl_close(NULL);
}

static void test_dev(void)
{
	struct blksnap_dev *dev = NULL;
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	struct blksnap_image_info ii = { .size = sizeof(ii) };
	uint8_t *map;
	char buf[16];

	EXPECT_RET(blksnap_dev_open("/dev/null", &dev), -ENOTBLK);
	EXPECT(dev == NULL);
	EXPECT_RET(blksnap_dev_open("/proc/self/status", &dev), -ENOTBLK);
	EXPECT_RET(blksnap_dev_open("/nonexistent/disk", &dev), -ENOENT);
	EXPECT_RET(blksnap_dev_open(NULL, &dev), -EINVAL);
	EXPECT_RET(blksnap_attach(NULL), -EINVAL);
	EXPECT_RET(blksnap_detach(NULL), -EINVAL);
	EXPECT_RET(blksnap_cbt_info(NULL, &ci), -EINVAL);
	EXPECT_RET(blksnap_cbt_map(NULL, &ci, &map), -EINVAL);
	EXPECT_RET(blksnap_cbt_map_read(NULL, 0, buf, sizeof(buf)), -EINVAL);
	EXPECT_RET(blksnap_cbt_mark_dirty(NULL, NULL, 0), -EINVAL);
	EXPECT_RET(blksnap_image_info(NULL, &ii), -EINVAL);
	/* cbt_restore: info checked whole before the device is used. */
	memset(&ci, 0, sizeof(ci));
	ci.size = sizeof(ci);
	ci.block_count = sizeof(buf);
	ci.changes_number = 254;
	memset(buf, 0, sizeof(buf));
	EXPECT_RET(blksnap_cbt_restore(NULL, &ci, (uint8_t *)buf), -EINVAL);
	EXPECT_RET(blksnap_cbt_restore(NULL, NULL, (uint8_t *)buf), -EINVAL);
	ci.changes_number = 255;	/* would wrap the module's u8 */
	EXPECT_RET(blksnap_cbt_restore(NULL, &ci, (uint8_t *)buf), -EINVAL);
	ci.changes_number = 256;
	EXPECT_RET(blksnap_cbt_restore(NULL, &ci, (uint8_t *)buf), -EINVAL);
	/* The log: arguments checked before the device is used. */
	EXPECT_RET(blksnap_cbt_log_state(NULL, 0, NULL), -EINVAL);
	EXPECT_RET(blksnap_cbt_log_attach(NULL, -1, 0, NULL), -EBADF);
	EXPECT_RET(blksnap_cbt_log_detach(NULL), -EINVAL);
	EXPECT_RET(blksnap_cbt_log_checkpoint(NULL, &ci, NULL), -EINVAL);
	EXPECT_RET(blksnap_cbt_log_read(-1, NULL, NULL), -EINVAL);
	blksnap_dev_close(NULL);
}

int main(void)
{
	const char *v = blksnap_lib_version();

	EXPECT(v && strspn(v, "0123456789.") == strlen(v) && strchr(v, '.'));
	test_ids();
	test_ctl();
	test_dev();
	return failed;
}
