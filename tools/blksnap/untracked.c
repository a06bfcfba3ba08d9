// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8): writes that no tracker saw.  A saved tracking state is of
 * use only if nothing wrote to its device between the end of the tracker
 * it was saved from and the attach of the tracker that it is restored
 * into.  The block layer counts the sectors written and discarded on every
 * device (its I/O statistics, from zero when the disk appears, which also
 * gives it a new sequence number, diskseq): the state records the count,
 * the disk's sequence number and the boot (the kernel's boot id) at its
 * save; an attach by the tool records them just after it, and a detach
 * just after it, in run-time files (/run/blksnap, which the initramfs
 * hands over to the system), so that a restore knows what was written
 * while no tracker ran:
 *
 *   - in the boot of the save: a disk that went away and came back (its
 *     sequence number changed) is of unknown writes; otherwise the count
 *     at the attach must be the one at the save;
 *   - in a later boot: nothing may have been written since the boot
 *     before the attach (the boot integration attaches before any file
 *     system is checked or mounted);
 *   - a state valid with its write-intent log, of a tracker that ended
 *     without a save in this boot: the log holds the writes until the
 *     tracker's end, and the count at the attach must be the one at its
 *     detach by the tool; a tracker that ended otherwise (the module
 *     unloaded) leaves no record, and then nothing can be told.
 *
 * A count after an attach is taken once the device has no write in flight
 * (a write issued before the attach and completed after it would be in
 * neither the tracker nor the count), or not at all; the other counts are
 * taken as they are, which errs only towards a refusal.  What cannot be
 * told (a state of format version 1, a device whose statistics are off) is
 * taken as nothing written; a tracker with no record of its attach (by
 * another program) counts from the restore's time, which errs only
 * towards a full copy.
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

#define RUN_DIR_DEFAULT		"/run/blksnap"
#define INFLIGHT_WAIT_MS	2000

/* The folder of the records: $BLKSNAP_RUN_DIR or /run/blksnap. */
static const char *run_dir(void)
{
	const char *d = getenv("BLKSNAP_RUN_DIR");

	return d && *d ? d : RUN_DIR_DEFAULT;
}

#define SYS_DIR_LEN	64

/* The sysfs folders of the device and of its disk (the same for a whole
 * disk), SYS_DIR_LEN bytes each. */
static void sys_dirs(dev_t rdev, char *dir, char *disk)
{
	char f[SYS_DIR_LEN + 16];

	snprintf(dir, SYS_DIR_LEN, "/sys/dev/block/%u:%u", major(rdev), minor(rdev));
	snprintf(f, sizeof(f), "%s/partition", dir);
	snprintf(disk, SYS_DIR_LEN, "/sys/dev/block/%u:%u%s", major(rdev), minor(rdev),
		 access(f, F_OK) == 0 ? "/.." : "");
}

/* Writes in flight on the device: until none (1), or not in time (0). */
static int writes_settled(const char *dir)
{
	char buf[128];
	unsigned long r, w;
	int waited;

	for (waited = 0; waited <= INFLIGHT_WAIT_MS; waited += 20) {
		if (sysfs_read(dir, "inflight", buf, sizeof(buf)) < 0 ||
		    sscanf(buf, "%lu %lu", &r, &w) != 2)
			return 0;
		if (!w)
			return 1;
		usleep(20000);
	}
	return 0;
}

int device_count(const char *devpath, bool settle, struct dev_count *c)
{
	char dir[SYS_DIR_LEN], disk[SYS_DIR_LEN], buf[512];
	uint64_t f[14] = { 0 };
	dev_t rdev = 0;
	int n;

	c->written = WRITTEN_UNKNOWN;
	c->diskseq = 0;
	if (blkdev_number(devpath, &rdev) < 0)
		return -ENODEV;
	sys_dirs(rdev, dir, disk);
	if (sysfs_read(disk, "diskseq", buf, sizeof(buf)) == 0)
		c->diskseq = strtoull(buf, NULL, 10);
	/* Statistics switched off count nothing. */
	if (sysfs_read(disk, "queue/iostats", buf, sizeof(buf)) == 0 && !strcmp(buf, "0"))
		return -EOPNOTSUPP;
	if (settle && !writes_settled(dir))
		return -EAGAIN;
	if (sysfs_read(dir, "stat", buf, sizeof(buf)) < 0)
		return -ENODEV;
	/* Fields 7 and 14 (1-based): sectors written, sectors discarded
	 * (the latter since Linux 4.18). */
	n = sscanf(buf, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
		   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8],
		   &f[9], &f[10], &f[11], &f[12], &f[13]);
	if (n < 7)
		return -EINVAL;
	c->written = f[6] + (n >= 14 ? f[13] : 0);
	return 0;
}

void boot_id(char *buf, size_t len)
{
	if (sysfs_read("/proc/sys/kernel/random", "boot_id", buf, len) < 0)
		buf[0] = '\0';
}

/* The record of the attach ("attach") or detach ("detach") of a tracker
 * of the device numbered rdev. */
static void record_path(const char *what, dev_t rdev, char *path, size_t len)
{
	snprintf(path, len, "%s/%s-%u:%u", run_dir(), what, major(rdev), minor(rdev));
}

/* Write the record: the tracker's generation and the counts. */
static void record_write(const char *what, const char *devpath,
			 const struct blksnap_id *gen, const struct dev_count *c)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], g[BLKSNAP_ID_STR_LEN];
	dev_t rdev = 0;
	FILE *f;

	if (blkdev_number(devpath, &rdev) < 0)
		return;
	record_path(what, rdev, path, sizeof(path));
	unlink(path);
	if (c->written == WRITTEN_UNKNOWN)
		return;
	if (mkdir(run_dir(), 0700) < 0 && errno != EEXIST)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s %" PRIu64 " %" PRIu64 "\n", blksnap_id_format(gen, g),
		c->written, c->diskseq);
	if (fclose(f) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

/* The counts of the record, if it is of the tracker gen: 0 or -ENOENT. */
static int record_read(const char *what, const char *devpath,
		       const struct blksnap_id *gen, struct dev_count *c)
{
	char path[PATH_MAX], g[BLKSNAP_ID_STR_LEN], rg[BLKSNAP_ID_STR_LEN + 1];
	dev_t rdev = 0;
	FILE *f;
	int n;

	if (blkdev_number(devpath, &rdev) < 0)
		return -ENOENT;
	record_path(what, rdev, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	n = fscanf(f, "%36s %" SCNu64 " %" SCNu64, rg, &c->written, &c->diskseq);
	fclose(f);
	/* A record of another tracker of the device is stale. */
	if (n != 3 || strcmp(rg, blksnap_id_format(gen, g)))
		return -ENOENT;
	return 0;
}

void attach_note(const char *devpath, struct blksnap_dev *dev)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	struct dev_count c;

	if (blksnap_cbt_info(dev, &ci) < 0)
		return;
	/* No count (writes in flight): no record, and a restore counts
	 * from its own time. */
	if (device_count(devpath, true, &c) < 0)
		c.written = WRITTEN_UNKNOWN;
	record_write("attach", devpath, &ci.generation, &c);
}

void detach_note(const char *devpath, const struct blksnap_id *gen)
{
	struct dev_count c;

	device_count(devpath, false, &c);
	record_write("detach", devpath, gen, &c);
}

void attach_count(const char *devpath, struct blksnap_dev *dev,
		  struct dev_count *c)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };

	if (blksnap_cbt_info(dev, &ci) == 0 &&
	    record_read("attach", devpath, &ci.generation, c) == 0)
		return;
	device_count(devpath, false, c);
}

/* Why: the device came back, or how much was written, into why. */
static uint64_t untracked_since(const struct dev_count *then,
				const struct dev_count *at, const char *when,
				char *why, size_t len)
{
	if (then->diskseq && at->diskseq && then->diskseq != at->diskseq) {
		snprintf(why, len, "the device went away and came back since %s (disk sequence number %" PRIu64 ", now %" PRIu64 "): its writes since are unknown",
			 when, then->diskseq, at->diskseq);
		return WRITTEN_UNKNOWN;
	}
	if (then->written == WRITTEN_UNKNOWN || at->written == then->written)
		return 0;
	if (at->written < then->written) {
		snprintf(why, len, "the device's I/O statistics restarted since %s (it went away and came back): its writes since are unknown",
			 when);
		return WRITTEN_UNKNOWN;
	}
	snprintf(why, len, "the device was written while untracked: %" PRIu64 " sectors between %s and the attach of its tracker",
		 at->written - then->written, when);
	return at->written - then->written;
}

uint64_t state_untracked(const char *devpath, const struct cbt_state *s,
			 const struct dev_count *at, char *why, size_t len)
{
	char id[sizeof(s->boot_id)], date[64], when[128];
	struct dev_count then = { .written = s->written, .diskseq = s->diskseq };

	boot_id(id, sizeof(id));
	if (!s->boot_id[0] || !id[0] || at->written == WRITTEN_UNKNOWN)
		return 0;
	if (strcmp(s->boot_id, id)) {
		if (!at->written)
			return 0;
		snprintf(why, len, "the device was written while untracked: %" PRIu64 " sectors since this boot before its tracker was attached (the state is of an earlier boot, %s)",
			 at->written, state_date(s->time, date, sizeof(date)));
		return at->written;
	}
	/* The log held the writes until the tracker's end. */
	if ((s->flags & STATE_FL_LOGGED) && !(s->flags & STATE_FL_CLEAN)) {
		if (record_read("detach", devpath, &s->generation, &then) < 0)
			return 0;
		return untracked_since(&then, at, "its tracker's detach", why, len);
	}
	snprintf(when, sizeof(when), "the save of %s", state_date(s->time, date, sizeof(date)));
	return untracked_since(&then, at, when, why, len);
}

void state_now(struct cbt_state *s)
{
	boot_id(s->boot_id, sizeof(s->boot_id));
	s->written = WRITTEN_UNKNOWN;
	s->diskseq = 0;
}
