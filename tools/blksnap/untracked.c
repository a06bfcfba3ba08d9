// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8): writes that no tracker saw.  A saved tracking state is of
 * use only if nothing wrote to its device between the save and the attach
 * of the tracker that it is restored into.  The block layer counts the
 * sectors written and discarded on every device (its I/O statistics, which
 * start at zero when the device appears): the state records the count at
 * its save and the boot it was made in (the kernel's boot id), and the
 * attach records the count just before it in a run-time file, so that a
 * later restore into that tracker knows what was written before it:
 *
 *   - in the boot of the save: more than at the save, or less (the device
 *     went away and came back, its count with it): written untracked;
 *   - in a later boot: anything written since this boot before the attach
 *     (the boot integration attaches before any file system is checked or
 *     mounted, so nothing is).  Writes after the save in the boot of the
 *     save are beyond any count; a clean stop refuses to save a device
 *     mounted read-write, and the clean-stop flag says the save ended its
 *     tracking.
 *
 * A state of an older format, or a tracker attached by another program
 * (no record of it), cannot tell: the latter counts as attached now, so
 * that only a write since its attach can be taken for an untracked one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blksnap-tool.h"

#define RUN_DIR_DEFAULT "/run/blksnap"

/* The folder of the attach records: $BLKSNAP_RUN_DIR or /run/blksnap. */
static const char *run_dir(void)
{
	const char *d = getenv("BLKSNAP_RUN_DIR");

	return d && *d ? d : RUN_DIR_DEFAULT;
}

static int dev_number(const char *devpath, dev_t *rdev)
{
	struct stat st;

	if (stat(devpath, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	*rdev = st.st_rdev;
	return 0;
}

uint64_t device_written(const char *devpath)
{
	char dir[64], buf[512];
	uint64_t f[17] = { 0 };
	dev_t rdev = 0;
	int n;

	if (dev_number(devpath, &rdev) < 0)
		return WRITTEN_UNKNOWN;
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(rdev), minor(rdev));
	if (sysfs_read(dir, "stat", buf, sizeof(buf)) < 0)
		return WRITTEN_UNKNOWN;
	/* Fields 7 and 14 (1-based): sectors written, sectors discarded
	 * (the latter since Linux 4.18). */
	n = sscanf(buf, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
		   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8],
		   &f[9], &f[10], &f[11], &f[12], &f[13]);
	if (n < 7)
		return WRITTEN_UNKNOWN;
	return f[6] + (n >= 14 ? f[13] : 0);
}

void boot_id(char *buf, size_t len)
{
	if (sysfs_read("/proc/sys/kernel/random", "boot_id", buf, len) < 0)
		buf[0] = '\0';
}

/* The record of the attach of the device numbered rdev. */
static void record_path(dev_t rdev, char *path, size_t len)
{
	snprintf(path, len, "%s/attach-%u:%u", run_dir(), major(rdev), minor(rdev));
}

void attach_note(const char *devpath, struct blksnap_dev *dev, uint64_t before)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	char path[PATH_MAX], tmp[PATH_MAX + 16], gen[BLKSNAP_ID_STR_LEN];
	dev_t rdev = 0;
	FILE *f;

	if (before == WRITTEN_UNKNOWN || dev_number(devpath, &rdev) < 0 ||
	    blksnap_cbt_info(dev, &ci) < 0)
		return;
	/* No record: the restore counts from its own time, which only
	 * errs towards a full copy. */
	if (mkdir(run_dir(), 0700) < 0 && errno != EEXIST)
		return;
	record_path(rdev, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s %" PRIu64 "\n", blksnap_id_format(&ci.generation, gen), before);
	if (fclose(f) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

uint64_t attach_written(const char *devpath, struct blksnap_dev *dev)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	char path[PATH_MAX], gen[BLKSNAP_ID_STR_LEN], rgen[BLKSNAP_ID_STR_LEN + 1];
	uint64_t before;
	dev_t rdev = 0;
	FILE *f;
	int n;

	if (dev_number(devpath, &rdev) < 0 || blksnap_cbt_info(dev, &ci) < 0)
		return device_written(devpath);
	record_path(rdev, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return device_written(devpath);
	n = fscanf(f, "%36s %" SCNu64, rgen, &before);
	fclose(f);
	/* A record of an earlier tracker of the device is stale. */
	if (n != 2 || strcmp(rgen, blksnap_id_format(&ci.generation, gen)))
		return device_written(devpath);
	return before;
}

uint64_t state_untracked(const struct cbt_state *s, uint64_t before,
			 char *why, size_t len)
{
	char id[sizeof(s->boot_id)], date[64];

	boot_id(id, sizeof(id));
	if (!s->boot_id[0] || !id[0] || before == WRITTEN_UNKNOWN)
		return 0;
	if (strcmp(s->boot_id, id)) {
		if (!before)
			return 0;
		snprintf(why, len, "the device was written while untracked: %" PRIu64 " sectors since this boot before its tracker was attached (the state is of an earlier boot, %s)",
			 before, state_date(s->time, date, sizeof(date)));
		return before;
	}
	/* The log of a tracker left running holds what followed its
	 * checkpoint. */
	if ((s->flags & STATE_FL_LOGGED) && !(s->flags & STATE_FL_CLEAN))
		return 0;
	if (s->written == WRITTEN_UNKNOWN || before == s->written)
		return 0;
	if (before < s->written) {
		snprintf(why, len, "the device's I/O statistics restarted since the save of %s (it was removed and added again): its writes since are unknown",
			 state_date(s->time, date, sizeof(date)));
		return 1;
	}
	snprintf(why, len, "the device was written while untracked: %" PRIu64 " sectors between the save of %s and the attach of its tracker",
		 before - s->written, state_date(s->time, date, sizeof(date)));
	return before - s->written;
}
