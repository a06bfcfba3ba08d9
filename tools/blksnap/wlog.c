// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8) track: the write-intent log of a tracked device (the module's
 * cbtlog extension, blksnap.rst "Crash safety"), as the tool keeps it: a
 * file on another file system, created and sized here, or a block device.
 *
 * The log holds every region of the device written since its checkpoint,
 * a state file saved by the tool.  After a crash, that state with the
 * log's regions marked changed misses no write.  A recovery continues the
 * tracker under a new generation (see track.c): the links file beside the
 * state file says which older generations it continues, and from which
 * changes number, for backup's choice of the blocks to copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "blksnap-tool.h"

/* The most ranges a cbtdirty command is given at once. */
#define DIRTY_BATCH	4096
/* The most generations a links file remembers. */
#define LINKS_MAX	32

int wlog_read(const char *path, struct wlog *l, char *why, size_t len)
{
	uint64_t i;
	int fd, ret;

	memset(l, 0, sizeof(*l));
	l->h.size = sizeof(l->h);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, len, "%s", strerror(-ret));
		return ret;
	}
	ret = blksnap_cbt_log_read(fd, &l->h, &l->bits);
	close(fd);
	if (ret == -EBADMSG)
		snprintf(why, len, "not a write-intent log, or its header is damaged");
	else if (ret == -EPROTO)
		snprintf(why, len, "a write-intent log of an unknown version");
	else if (ret == -EIO)
		snprintf(why, len, "the log ends early");
	else if (ret < 0)
		snprintf(why, len, "%s", strerror(-ret));
	if (ret < 0)
		return ret;
	for (i = 0; i < l->h.region_count; i++)
		l->marked += (l->bits[i / 8] >> (i % 8)) & 1;
	return 0;
}

void wlog_free(struct wlog *l)
{
	free(l->bits);
	l->bits = NULL;
}

/* The sectors of regions [first, end) of l, cut at the device's end. */
static void wlog_range(const struct wlog *l, uint64_t first, uint64_t end,
		       struct blksnap_range *r)
{
	uint64_t s = first * l->h.region_size, e = end * l->h.region_size;

	if (e > l->h.device_size)
		e = l->h.device_size;
	r->offset = s >> 9;
	r->count = ((e + 511) >> 9) - r->offset;
}

int wlog_dirty(struct blksnap_dev *dev, const struct wlog *l)
{
	struct blksnap_range r[DIRTY_BATCH];
	uint64_t i = 0, s;
	uint32_t n = 0;
	int ret;

	while (i < l->h.region_count) {
		if (!((l->bits[i / 8] >> (i % 8)) & 1)) {
			i++;
			continue;
		}
		for (s = i; i < l->h.region_count && ((l->bits[i / 8] >> (i % 8)) & 1); i++)
			;
		wlog_range(l, s, i, &r[n]);
		if (r[n].count)
			n++;
		if (n == DIRTY_BATCH) {
			ret = blksnap_cbt_mark_dirty(dev, r, n);
			if (ret < 0)
				return ret;
			n = 0;
		}
	}
	return n ? blksnap_cbt_mark_dirty(dev, r, n) : 0;
}

/* Open the log for its attach, need bytes at least: a block device
 * exclusively, a file created if absent and grown if smaller. */
static int wlog_open(const char *path, uint64_t need, char *why, size_t len)
{
	struct stat st;
	uint64_t size;
	int fd;

	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
		if (fd < 0)
			goto fail;
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			goto fail_fd;
		if (size < need) {
			close(fd);
			snprintf(why, len, "a device of %llu bytes, the log needs %llu",
				 (unsigned long long)size, (unsigned long long)need);
			return -ENOSPC;
		}
		return fd;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (fstat(fd, &st) < 0)
		goto fail_fd;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, len, "neither a regular file nor a block device");
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < need) {
		errno = posix_fallocate(fd, 0, (off_t)need);
		if (errno && errno != EOPNOTSUPP && errno != EINVAL)
			goto fail_fd;
		if (errno && ftruncate(fd, (off_t)need) < 0)
			goto fail_fd;
		if (fsync(fd) < 0)
			goto fail_fd;
	}
	return fd;
fail_fd:
	close(fd);
fail:
	snprintf(why, len, "%s", strerror(errno));
	return -errno;
}

int wlog_attach(const char *devpath, struct blksnap_dev *dev,
		const char *path, uint64_t region, struct blksnap_cbt_log *out)
{
	char why[512], dir[PATH_MAX];
	int fd, ret;

	out->size = sizeof(*out);
	ret = blksnap_cbt_log_state(dev, region, out);
	if (ret == -ENOTTY || ret == -EINVAL) {
		errmsg(devpath, 0, "the blksnap module has no write-intent log (the cbtlog extension)");
		return -1;
	}
	if (ret < 0) {
		errmsg(devpath, ret, "cannot read the write-intent log's state");
		return -1;
	}
	fd = wlog_open(path, out->log_size, why, sizeof(why));
	if (fd < 0) {
		errmsg(path, 0, "cannot open the write-intent log: %s", why);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	fsync_dir(dirname(dir));
	ret = blksnap_cbt_log_attach(dev, fd, region, out);
	close(fd);
	if (ret == -EINVAL)
		errmsg(path, 0, "cannot attach the write-intent log: on the tracked device, or not usable as a log");
	else if (ret < 0)
		errmsg(path, ret, "cannot attach the write-intent log");
	return ret < 0 ? -1 : 0;
}

/* The device numbers of the disk of the block device devt (itself if it
 * is a disk). */
static dev_t disk_of(dev_t devt)
{
	char sys[128], real[PATH_MAX], devno[64];
	unsigned int maj, min;

	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition", major(devt),
		 minor(devt));
	if (access(sys, F_OK) < 0)
		return devt;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(devt), minor(devt));
	if (!realpath(sys, real))
		return devt;
	if (sysfs_read(dirname(real), "dev", devno, sizeof(devno)) < 0 ||
	    sscanf(devno, "%u:%u", &maj, &min) != 2)
		return devt;
	return makedev(maj, min);
}

bool wlog_on(const char *path, dev_t rdev)
{
	char dir[PATH_MAX];
	struct stat st;
	dev_t d;

	snprintf(dir, sizeof(dir), "%s", path);
	if (stat(path, &st) < 0 && stat(dirname(dir), &st) < 0)
		return false;
	d = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
	/* The device itself, its disk, or a partition of it. */
	return d == rdev || disk_of(rdev) == d || disk_of(d) == rdev;
}

void wlog_failed(const char *path)
{
	struct cbt_state s;
	char why[512];
	int ret;

	if (state_read(path, &s, why, sizeof(why)) < 0)
		return;
	if (s.flags & STATE_FL_LOGFAILED) {
		state_free(&s);
		return;
	}
	s.time = (int64_t)time(NULL);
	ret = state_flags(path, &s, STATE_FL_LOGFAILED, STATE_FL_CLEAN);
	if (ret < 0)
		errmsg(path, ret, "cannot mark the write-intent log failed");
	state_free(&s);
}

/* path.links, a line per ancestor: CHILD ANCESTOR NUMBER. */
static void links_path(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s.links", path);
}

struct link {
	struct blksnap_id child, ancestor;
	uint32_t nr;
};

static int links_load(const char *path, struct link *l, size_t max)
{
	char file[PATH_MAX + 16], line[256], c[64], a[64];
	size_t n = 0;
	unsigned int nr;
	FILE *f;

	links_path(path, file, sizeof(file));
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || sscanf(line, "%63s %63s %u", c, a, &nr) != 3 ||
		    nr > 254 || blksnap_id_parse(c, &l[n].child) < 0 ||
		    blksnap_id_parse(a, &l[n].ancestor) < 0)
			continue;
		l[n++].nr = nr;
	}
	fclose(f);
	return (int)n;
}

int links_find(const char *path, const struct blksnap_id *child,
	       const struct blksnap_id *ancestor, uint32_t *nr)
{
	struct link l[LINKS_MAX];
	int i, n = links_load(path, l, LINKS_MAX);

	for (i = 0; i < n; i++) {
		if (!memcmp(&l[i].child, child, sizeof(*child)) &&
		    !memcmp(&l[i].ancestor, ancestor, sizeof(*ancestor))) {
			*nr = l[i].nr;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * The tracker of generation child holds the map of parent's state
 * numbered nr: the blocks changed since a backup numbered k of parent are
 * those above min(k, nr) in child's map.  An ancestor that parent
 * continued from number r is continued by child from min(r, nr).
 */
int links_write(const char *path, const struct blksnap_id *child,
		const struct blksnap_id *parent, uint32_t nr)
{
	char file[PATH_MAX + 16], tmp[PATH_MAX + 48], dir[PATH_MAX + 16];
	char g1[BLKSNAP_ID_STR_LEN], g2[BLKSNAP_ID_STR_LEN];
	struct link l[LINKS_MAX];
	int i, n, ret;
	FILE *f;

	n = links_load(path, l, LINKS_MAX);
	links_path(path, file, sizeof(file));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", file, (int)getpid());
	snprintf(dir, sizeof(dir), "%s", file);
	f = file_create(tmp, 0600, &ret);
	if (!f)
		return ret;
	fprintf(f, "# blksnap: generations continued after a crash, see blksnap(8)\n");
	fprintf(f, "%s %s %u\n", blksnap_id_format(child, g1),
		blksnap_id_format(parent, g2), nr);
	for (i = 0; i < n && i < LINKS_MAX - 1; i++)
		if (!memcmp(&l[i].child, parent, sizeof(*parent)))
			fprintf(f, "%s %s %u\n", g1, blksnap_id_format(&l[i].ancestor, g2),
				l[i].nr < nr ? l[i].nr : nr);
	return file_commit(f, tmp, file, dirname(dir));
}
