// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8) backup: snapshot devices at once and copy them, fully or
 * only their changed blocks, into a backup directory (format in meta.c).
 *
 * Nothing that is not complete ever looks complete: data goes to hidden
 * temporary files, renamed when every device is copied; the metadata file
 * comes last.  On any failure, and on SIGINT, SIGTERM or SIGHUP, the
 * temporary files are removed and the snapshot is destroyed.
 *
 * The module fails the image of one device at a time (its original went
 * away, an I/O error, the storage overflowed as the device needed space),
 * with a corrupted event naming the device; the other images stay
 * readable.  A device whose image fails before its copy (and
 * verification) is done gets no backup: its temporary files go at once
 * and the other devices go on, to complete backups; the run then ends
 * with EXIT_CORRUPTED.  A copy done before the failure was read whole
 * from a sound image and is kept.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "blksnap-tool.h"

#define BUF_SIZE	(1u << 20)
#define ZERO_GRAIN	4096u
#define EVENT_PERIOD	0.5	/* seconds between checks for a corrupted event */
#define ERROR_WAIT_MS	1000	/* for the event that may explain an error */

struct bdev {
	const char *path;
	char name[META_NAME_MAX + 1];
	struct blksnap_dev *dev;
	dev_t rdev;
	bool have_prev;
	struct meta prev;	/* latest complete backup, its chain checked */
	struct meta m;		/* the new one */
	char image[64];		/* /dev/ + the image name of snapshotinfo */
	int image_fd;
	char img_tmp[4400], img_final[4400];
	char blk_tmp[4400], blk_final[4400];
	int img_fd, blk_fd;
	struct brange *ranges;
	size_t nranges;
	uint64_t to_read;
	uint64_t done;		/* bytes of to_read (twice with verify) done */
	double seconds;
	bool finished;		/* copied and verified from a sound image */
	bool failed;		/* its image failed before: no backup of it */
	int error;		/* then why, a positive errno */
	/* Of the tracking configuration (blksnap-tracking.conf(5)). */
	const struct track_dev *conf;	/* its entry, or NULL */
	char identity[STATE_ID_MAX + 1];
	char state[4096];	/* its state file, "" unknown */
	struct blksnap_cbt_info ci;	/* the tracker at the take ... */
	uint8_t *map;		/* ... and its readable map */
};

struct backup {
	const char *dir;
	struct bdev *devs;
	int ndevs;
	struct blksnap_ctl *ctl;
	struct blksnap_snapshot *snap;
	char id[BLKSNAP_ID_STR_LEN];
	bool incremental, verify, quiet, json;
	/* progress */
	bool progress;
	uint64_t total, done;
	double start, last_print, last_event;
	const char *current;
	bool copying;		/* total is set */
	int nfailed;		/* devices with failed */
	bool gone;		/* the snapshot was destroyed under us */
	bool ended;		/* the finished copies are written */
	unsigned char *buf, *buf2;
	const char *confpath;
	struct track_conf conf;	/* the tracking configuration, or none */
};

static void progress_show(struct backup *b, bool force)
{
	char s1[32], s2[32], s3[32];
	double now, el, rate, left;

	if (!b->progress)
		return;
	now = now_seconds();
	if (!force && now - b->last_print < 0.5)
		return;
	b->last_print = now;
	el = now - b->start;
	rate = el > 0 ? (double)b->done / el : 0;
	left = rate > 0 ? (double)(b->total - b->done) / rate : 0;
	fprintf(stderr, "\r%s: %s: %s of %s, %s/s, %d:%02d left \033[K",
		prog_name, b->current, human_size(b->done, s1, sizeof(s1)),
		human_size(b->total, s2, sizeof(s2)),
		human_size((uint64_t)rate, s3, sizeof(s3)),
		(int)(left / 60), (int)left % 60);
}

static void progress_end(struct backup *b)
{
	if (b->progress)
		fprintf(stderr, "\r\033[K");
}

/* Remove the temporary data files of d. */
static void discard_device(struct bdev *d)
{
	if (d->img_fd >= 0) {
		close(d->img_fd);
		d->img_fd = -1;
		unlink(d->img_tmp);
	}
	if (d->blk_fd >= 0) {
		close(d->blk_fd);
		d->blk_fd = -1;
		unlink(d->blk_tmp);
	}
}

/* The image of d failed (err: a positive errno; ESRCH: the snapshot is
 * gone).  Before its copy is finished, d gets no backup: its files go,
 * the run goes on with the other devices.  A finished copy was read from
 * a sound image and stays: a note only. */
static void device_failed(struct backup *b, struct bdev *d, int err)
{
	const char *hint = err == ENOSPC ?
		" (the difference storage overflowed: give a larger --limit or --storage)" : "";

	if (d->failed || (d->finished && err == ESRCH))
		return;
	progress_end(b);
	if (d->finished) {
		if (!b->quiet)
			warnmsg(d->path, "the snapshot failed after the copy was done: %s%s",
				strerror(err), hint);
		return;
	}
	d->failed = true;
	d->error = err;
	b->nfailed++;
	if (err == ESRCH)
		errmsg(d->path, 0, "no backup: the snapshot was destroyed meanwhile");
	else
		errmsg(d->path, 0, "no backup: the snapshot failed: %s%s", strerror(err), hint);
	discard_device(d);
	if (b->copying)
		b->total -= (b->verify ? 2 : 1) * d->to_read - d->done;
}

static struct bdev *find_device(struct backup *b, unsigned int major,
				unsigned int minor)
{
	int i;

	for (i = 0; i < b->ndevs; i++)
		if (b->devs[i].rdev == makedev(major, minor))
			return &b->devs[i];
	return NULL;
}

/* Read the snapshot's events, now and then (always when now), waiting up
 * to wait_ms for the first: each corrupted one fails its device, the
 * snapshot gone all devices.  Returns 0, or -1 after reporting an error
 * that ends the run. */
static int check_snapshot(struct backup *b, bool now, uint32_t wait_ms)
{
	struct blksnap_event ev = { .size = sizeof(ev) };
	double t = now_seconds();
	struct bdev *d;
	int i, ret;

	if (b->gone)
		return 0;
	if (!now && t - b->last_event < EVENT_PERIOD)
		return 0;
	b->last_event = t;
	for (;;) {
		ret = blksnap_snapshot_wait_event(b->snap, wait_ms, &ev);
		wait_ms = 0;
		if (ret == -ENOENT || ret == -EINTR)	/* nothing (more) yet */
			return 0;
		if (ret == -ESRCH) {
			b->gone = true;
			for (i = 0; i < b->ndevs; i++)
				device_failed(b, &b->devs[i], ESRCH);
			return 0;
		}
		if (ret < 0) {
			progress_end(b);
			errmsg(b->id, ret, "cannot watch the snapshot");
			return -1;
		}
		if (ev.code != BLKSNAP_EVENT_CORRUPTED)
			continue;
		d = find_device(b, ev.dev_major, ev.dev_minor);
		if (d) {
			device_failed(b, d, ev.error);
		} else {
			progress_end(b);
			warnmsg(b->id, "the snapshot failed for device %u:%u: %s",
				ev.dev_major, ev.dev_minor, strerror(ev.error));
		}
	}
}

/* Whether d's image failed: 1 if so (d is dropped), 0 if not, -1 if the
 * snapshot cannot be watched.  After an error that the failure would
 * explain, wait_ms gives its event time to come. */
static int device_check(struct backup *b, struct bdev *d, uint32_t wait_ms)
{
	struct blksnap_image_info ii = { .size = sizeof(ii) };

	if (!d->failed && blksnap_image_info(d->dev, &ii) == 0 && ii.error)
		device_failed(b, d, -ii.error);
	if (!d->failed && check_snapshot(b, true, wait_ms) < 0)
		return -1;
	return d->failed;
}

/* After a failed read of an image: 1 if d's image failed, else -1 after
 * reporting the I/O error. */
static int read_failed(struct backup *b, struct bdev *d, const char *what,
		       int err)
{
	int ret = device_check(b, d, ERROR_WAIT_MS);

	if (ret)
		return ret;
	progress_end(b);
	errmsg(d->image, err, "%s", what);
	return -1;
}

static int stopped(struct backup *b)
{
	if (!stop_signal)
		return 0;
	progress_end(b);
	errmsg(NULL, 0, "interrupted by signal %d (%s): nothing written", (int)stop_signal,
	       strsignal(stop_signal));
	return 1;
}

/* Write buf to fd at off, leaving holes where whole grains are zero. */
static int write_sparse(int fd, const unsigned char *buf, size_t len, uint64_t off,
			uint64_t *written)
{
	size_t pos = 0;

	while (pos < len) {
		size_t end, n;
		int ret;

		n = len - pos < ZERO_GRAIN ? len - pos : ZERO_GRAIN;
		if (all_zero(buf + pos, n)) {
			pos += n;
			continue;
		}
		/* A run of non-zero grains. */
		for (end = pos + n; end < len; end += n) {
			n = len - end < ZERO_GRAIN ? len - end : ZERO_GRAIN;
			if (all_zero(buf + end, n))
				break;
		}
		ret = write_all(fd, buf + pos, end - pos, off + pos);
		if (ret < 0)
			return ret;
		*written += end - pos;
		pos = end;
	}
	return 0;
}

/* The n bytes of the image in b->buf go to the data file at dst.  0, or
 * -1 after reporting an error. */
static int copy_chunk(struct backup *b, struct bdev *d, size_t n, uint64_t dst)
{
	int ret = write_sparse(d->img_fd, b->buf, n, dst, &d->m.bytes_copied);

	if (ret < 0) {
		progress_end(b);
		errmsg(d->img_final, ret, "cannot write");
		return -1;
	}
	return 0;
}

/* The n bytes of the image in b->buf, read at src, are what the data
 * file holds at dst.  0, or -1 after reporting an error or a difference. */
static int compare_chunk(struct backup *b, struct bdev *d, size_t n, uint64_t src,
			 uint64_t dst)
{
	int ret = read_all(d->img_fd, b->buf2, n, dst);

	if (ret < 0) {
		progress_end(b);
		errmsg(d->img_final, ret == -ENODATA ? -EIO : ret, "cannot read back");
		return -1;
	}
	if (memcmp(b->buf, b->buf2, n) != 0) {
		progress_end(b);
		errmsg(d->img_final, 0, "verification failed: differs from %s near byte %llu",
		       d->image, (unsigned long long)src);
		return -1;
	}
	return 0;
}

/* Copy bytes [src, src + len) of the image to [dst, ...) of the data file,
 * or with compare check that the data file holds them there.  This and
 * walk_device(): 0 done, 1 d's image failed, -1 the run failed (reported). */
static int walk_range(struct backup *b, struct bdev *d, uint64_t src, uint64_t len,
		      uint64_t dst, bool compare)
{
	int ret;

	while (len) {
		size_t n = len < BUF_SIZE ? (size_t)len : BUF_SIZE;

		if (stopped(b) || check_snapshot(b, false, 0) < 0)
			return -1;
		if (d->failed)
			return 1;
		ret = read_all(d->image_fd, b->buf, n, src);
		if (ret < 0)
			return read_failed(b, d, "cannot read", ret == -ENODATA ? -EIO : ret);
		ret = compare ? compare_chunk(b, d, n, src, dst) : copy_chunk(b, d, n, dst);
		if (ret < 0)
			return -1;
		b->done += n;
		d->done += n;
		progress_show(b, false);
		src += n;
		dst += n;
		len -= n;
	}
	return 0;
}

/* Copy (or compare) what the backup of d holds. */
static int walk_device(struct backup *b, struct bdev *d, bool compare)
{
	uint64_t dst = 0;
	size_t i;

	b->current = d->path;
	if (!d->m.incremental)
		return walk_range(b, d, 0, d->m.device_size, 0, compare);
	for (i = 0; i < d->nranges; i++) {
		uint64_t s = (uint64_t)d->ranges[i].start * d->m.block_size;
		uint64_t e = ((uint64_t)d->ranges[i].start + d->ranges[i].count) *
			     d->m.block_size;
		int ret;

		if (e > d->m.device_size)
			e = d->m.device_size;
		ret = walk_range(b, d, s, e - s, dst, compare);
		if (ret)
			return ret;
		dst += e - s;
	}
	return 0;
}

/* The changed blocks: map bytes greater than the base's changes number. */
static int changed_ranges(struct bdev *d, const uint8_t *map, uint32_t count)
{
	size_t cap = 0;
	uint32_t i = 0;

	d->nranges = 0;
	d->m.changed_blocks = 0;
	while (i < count) {
		uint32_t s;

		if (map[i] <= d->m.base_changes_number) {
			i++;
			continue;
		}
		for (s = i; i < count && map[i] > d->m.base_changes_number; i++)
			;
		if (d->nranges == cap) {
			struct brange *nr;

			cap = cap ? cap * 2 : 256;
			nr = realloc(d->ranges, cap * sizeof(*nr));
			if (!nr)
				return -ENOMEM;
			d->ranges = nr;
		}
		d->ranges[d->nranges].start = s;
		d->ranges[d->nranges].count = i - s;
		d->nranges++;
		d->m.changed_blocks += i - s;
	}
	return 0;
}

/* 0 opened, 1 d's image failed, -1 the run failed (reported). */
static int open_image(struct backup *b, struct bdev *d)
{
	struct blksnap_image_info ii = { .size = sizeof(ii) };
	int ret, i;

	ret = blksnap_image_info(d->dev, &ii);
	if (ret == 0 && ii.error) {
		device_failed(b, d, -ii.error);
		return 1;
	}
	if (ret < 0 || !ii.image[0]) {
		int err = ret;

		ret = device_check(b, d, ERROR_WAIT_MS);
		if (ret)
			return ret;
		if (err < 0)
			errmsg(d->path, err, "cannot read the snapshot state");
		else
			errmsg(d->path, 0, "no snapshot image after take");
		return -1;
	}
	snprintf(d->image, sizeof(d->image), "/dev/%s", ii.image);
	/* Without udev settling, the node may take a moment to appear.
	 * O_DIRECT: no second copy of the device in the page cache. */
	for (i = 0; i < 100; i++) {
		d->image_fd = open(d->image, O_RDONLY | O_CLOEXEC | O_DIRECT);
		if (d->image_fd < 0 && errno == EINVAL)
			d->image_fd = open(d->image, O_RDONLY | O_CLOEXEC);
		if (d->image_fd >= 0 || errno != ENOENT || stop_signal)
			break;
		usleep(50000);
	}
	if (d->image_fd < 0)
		return read_failed(b, d, "cannot open", -errno);
	posix_fadvise(d->image_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

/*
 * Whether the tracker (generation ci->generation) continues the one of
 * the previous backup after a crash (links file beside the state file,
 * see wlog.c and track.c): then the base is min(k, r), k the previous
 * backup's number, r the number of the state the tracker was recovered
 * from.
 *
 * Why: the recovered tracker holds the state saved at number r and, as
 * changed after it, every region the write-intent log marked (every
 * write since that save).  Backups may have been taken after the save
 * and before the crash, with numbers above r: their numbers mean nothing
 * to the new tracker.  The blocks changed since the previous backup are
 * either changed after the save (in the log's regions, above r in the
 * map) or between the backup and the save when k < r (above k in the
 * saved map).  Above min(k, r) is all of them, and more when k > r (the
 * changes between the save and that backup, copied again): never less.
 */
static bool backup_linked(struct bdev *d, const struct blksnap_cbt_info *ci)
{
	uint32_t r;

	if (!d->state[0] ||
	    links_find(d->state, &ci->generation, &d->prev.generation, &r) < 0)
		return false;
	d->m.base_linked = true;
	d->m.base_generation = d->prev.generation;
	d->m.base_changes_number = r < d->prev.changes_number ? r : d->prev.changes_number;
	return true;
}

/* Decide full or incremental, set up the new metadata and temp files.
 * 0 ready, 1 d's image failed, -1 the run failed (reported). */
static int prepare_device(struct backup *b, struct bdev *d)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	uint8_t *map = NULL;
	bool incr = false;
	int ret;

	ret = open_image(b, d);
	if (ret)
		return ret;
	ret = blksnap_cbt_map(d->dev, &ci, &map);
	if (ret < 0) {
		int err = ret;

		ret = device_check(b, d, ERROR_WAIT_MS);
		if (ret)
			return ret;
		errmsg(d->path, err, "cannot read the change tracker");
		return -1;
	}
	d->m.format = META_FORMAT;
	snprintf(d->m.name, sizeof(d->m.name), "%s", d->name);
	snprintf(d->m.device, sizeof(d->m.device), "%s", d->path);
	d->m.device_size = ci.device_size;
	d->m.block_size = ci.block_size;
	d->m.block_count = ci.block_count;
	d->m.generation = ci.generation;
	d->m.changes_number = ci.changes_number;
	snprintf(d->m.snapshot, sizeof(d->m.snapshot), "%s", b->id);
	d->m.time = (int64_t)time(NULL);
	if (b->incremental) {
		const char *why = NULL;
		char state[2048] = "";

		if (!d->have_prev) {
			why = "no previous complete backup";
		} else if (memcmp(&d->prev.generation, &ci.generation, sizeof(ci.generation)) &&
			   !backup_linked(d, &ci)) {
			why = "the change tracker was reset since the previous backup (generation changed)";
			/* Why no saved state carried it over, if one could. */
			state_explain(d->path, d->state[0] ? d->state : NULL,
				      d->identity[0] ? d->identity : NULL, &ci,
				      &d->prev.generation, state, sizeof(state));
		} else if (d->prev.device_size != ci.device_size ||
			 d->prev.block_size != ci.block_size ||
			 d->prev.block_count != ci.block_count)
			why = "the device size or tracker block size changed";
		else if (!d->m.base_linked && d->prev.changes_number >= ci.changes_number)
			why = "the change tracker is behind the previous backup";
		if (why && !b->quiet)
			warnmsg(d->path, "full copy: %s%s", why, state);
		incr = !why;
	}
	d->m.incremental = incr;
	if (incr) {
		d->m.base_seq = d->prev.seq;
		if (!d->m.base_linked)
			d->m.base_changes_number = d->prev.changes_number;
		ret = changed_ranges(d, map, ci.block_count);
		if (ret < 0) {
			free(map);
			errmsg(d->path, ret, "change map");
			return -1;
		}
		d->m.data_size = ranges_bytes(&d->m, d->ranges, d->nranges);
	} else {
		d->m.base_linked = false;
		d->m.changed_blocks = ci.block_count;
		d->m.data_size = ci.device_size;
	}
	/* Kept for the state saved after the backup. */
	d->ci = ci;
	d->map = map;
	d->to_read = d->m.data_size;

	file_name(d->img_final, sizeof(d->img_final), b->dir, d->name, d->m.seq, "img");
	snprintf(d->img_tmp, sizeof(d->img_tmp), "%s/.%s.%06u.img.tmp.%d", b->dir,
		 d->name, d->m.seq, (int)getpid());
	d->img_fd = open(d->img_tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (d->img_fd < 0) {
		errmsg(d->img_tmp, errno, "cannot create");
		return -1;
	}
	if (incr) {
		file_name(d->blk_final, sizeof(d->blk_final), b->dir, d->name,
			  d->m.seq, "blocks");
		snprintf(d->blk_tmp, sizeof(d->blk_tmp), "%s/.%s.%06u.blocks.tmp.%d",
			 b->dir, d->name, d->m.seq, (int)getpid());
		d->blk_fd = open(d->blk_tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (d->blk_fd < 0) {
			errmsg(d->blk_tmp, errno, "cannot create");
			return -1;
		}
	}
	return 0;
}

static int flush_device(struct bdev *d)
{
	int ret;

	if (ftruncate(d->img_fd, (off_t)d->m.data_size) < 0) {
		errmsg(d->img_final, errno, "cannot write");
		return -1;
	}
	if (fsync(d->img_fd) < 0) {
		errmsg(d->img_final, errno, "cannot write");
		return -1;
	}
	if (d->blk_fd >= 0) {
		ret = blocks_write(d->blk_fd, d->ranges, d->nranges);
		if (ret == 0 && fsync(d->blk_fd) < 0)
			ret = -errno;
		if (ret < 0) {
			errmsg(d->blk_final, ret, "cannot write");
			return -1;
		}
	}
	return 0;
}

static void discard_temps(struct backup *b)
{
	int i;

	for (i = 0; i < b->ndevs; i++)
		discard_device(&b->devs[i]);
}

/* Rename the data of every device with a finished copy in place, then
 * write their metadata files. */
static int finalize(struct backup *b)
{
	int i, ret;

	for (i = 0; i < b->ndevs; i++) {
		struct bdev *d = &b->devs[i];

		if (!d->finished)
			continue;
		if (rename(d->img_tmp, d->img_final) < 0) {
			errmsg(d->img_final, errno, "cannot rename %s to it", d->img_tmp);
			return -1;
		}
		close(d->img_fd);
		d->img_fd = -1;
		if (d->blk_fd >= 0) {
			if (rename(d->blk_tmp, d->blk_final) < 0) {
				errmsg(d->blk_final, errno, "cannot rename %s to it", d->blk_tmp);
				return -1;
			}
			close(d->blk_fd);
			d->blk_fd = -1;
		}
	}
	ret = fsync_dir(b->dir);
	if (ret < 0) {
		errmsg(b->dir, ret, "cannot sync");
		return -1;
	}
	for (i = 0; i < b->ndevs; i++) {
		struct bdev *d = &b->devs[i];
		char meta[4400];

		if (!d->finished)
			continue;
		d->m.verified = b->verify;
		ret = meta_write(b->dir, &d->m);
		if (ret < 0) {
			file_name(meta, sizeof(meta), b->dir, d->name, d->m.seq, "meta");
			errmsg(meta, ret, "cannot write");
			return -1;
		}
	}
	return 0;
}

/* The JSON summary: a row per device.  Returns 0, or -1 if it could not
 * be written. */
static int print_summary(struct backup *b, double seconds)
{
	static const struct out_col cols[] = {
		{ "snapshot", SCOLS_JSON_STRING, 0 },
		{ "directory", SCOLS_JSON_STRING, 0 },
		{ "device", SCOLS_JSON_STRING, 0 },
		{ "name", SCOLS_JSON_STRING, 0 },
		{ "failed", SCOLS_JSON_BOOLEAN, 0 },
		{ "errno", SCOLS_JSON_NUMBER, 0 },
		{ "error_text", SCOLS_JSON_STRING, 0 },
		{ "sequence", SCOLS_JSON_NUMBER, 0 },
		{ "type", SCOLS_JSON_STRING, 0 },
		{ "base", SCOLS_JSON_NUMBER, 0 },
		{ "device_size", SCOLS_JSON_NUMBER, 0 },
		{ "changed_blocks", SCOLS_JSON_NUMBER, 0 },
		{ "bytes_read", SCOLS_JSON_NUMBER, 0 },
		{ "bytes_copied", SCOLS_JSON_NUMBER, 0 },
		{ "verified", SCOLS_JSON_BOOLEAN, 0 },
		{ "seconds", SCOLS_JSON_NUMBER, 0 },
		{ "total_seconds", SCOLS_JSON_NUMBER, 0 },
		{ "metadata", SCOLS_JSON_STRING, 0 },
	};
	struct out o;
	int i;

	if (b->json) {
		if (out_new(&o, "backups", cols, ARRAY_SIZE(cols), OUT_JSON) < 0)
			return -1;
		for (i = 0; i < b->ndevs; i++) {
			struct bdev *d = &b->devs[i];
			char meta[4400];

			out_row(&o);
			out_str(&o, "snapshot", b->id);
			out_str(&o, "directory", b->dir);
			out_str(&o, "device", d->path);
			out_str(&o, "name", d->name);
			out_bool(&o, "failed", d->failed);
			out_double(&o, "total_seconds", seconds);
			if (d->failed) {
				out_u64(&o, "errno", (uint64_t)d->error);
				out_str(&o, "error_text", d->error == ESRCH ?
					"the snapshot was destroyed meanwhile" :
					strerror(d->error));
				continue;
			}
			file_name(meta, sizeof(meta), b->dir, d->name, d->m.seq, "meta");
			out_u64(&o, "sequence", d->m.seq);
			out_str(&o, "type", d->m.incremental ? "incremental" : "full");
			if (d->m.incremental)
				out_u64(&o, "base", d->m.base_seq);
			out_u64(&o, "device_size", d->m.device_size);
			out_u64(&o, "changed_blocks", d->m.changed_blocks);
			out_u64(&o, "bytes_read", d->m.data_size);
			out_u64(&o, "bytes_copied", d->m.bytes_copied);
			out_bool(&o, "verified", d->m.verified);
			out_double(&o, "seconds", d->seconds);
			out_str(&o, "metadata", meta);
		}
		return out_print(&o) < 0 ? -1 : 0;
	}
	if (b->quiet)
		return 0;
	for (i = 0; i < b->ndevs; i++) {
		struct bdev *d = &b->devs[i];
		char s1[32], s2[32];

		if (d->failed)
			continue;
		fprintf(stderr, "%s: %s: %s backup %s.%06u: %s read, %s written, %.1f s\n",
			prog_name, d->path, d->m.incremental ? "incremental" : "full",
			d->name, d->m.seq, human_size(d->m.data_size, s1, sizeof(s1)),
			human_size(d->m.bytes_copied, s2, sizeof(s2)), d->seconds);
	}
	return 0;
}

/*
 * A device whose tracker has a write-intent log of the configuration:
 * the state of the backup's take saved and made the log's checkpoint, as
 * track stop saves it, so that the log holds the regions written since
 * this backup only.  Without it the log keeps growing until the next
 * save, and a crash recovers from the older state: correct, but more
 * is copied.
 */
static void backup_checkpoint(struct backup *b, struct bdev *d)
{
	struct blksnap_cbt_log lg = { .size = sizeof(lg) };
	char dir[4096];
	struct cbt_state s;
	int ret;

	if (!d->map || blksnap_cbt_log_state(d->dev, 0, &lg) < 0 ||
	    !(lg.state & BLKSNAP_CBT_LOG_ATTACHED))
		return;
	if (!d->conf || !d->conf->log[0] || !d->state[0]) {
		if (!b->quiet)
			warnmsg(d->path, "its write-intent log is not one of %s: its checkpoint stays",
				b->confpath);
		return;
	}
	if (lg.state & BLKSNAP_CBT_LOG_FAILED) {
		errmsg(d->path, -lg.error, "the write-intent log failed: after a crash, the next incremental backup is full");
		wlog_failed(d->state);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", d->state);
	if (mkdir(dirname(dir), 0700) < 0 && errno != EEXIST) {
		errmsg(dir, errno, "cannot create the state folder");
		return;
	}
	memset(&s, 0, sizeof(s));
	state_of(&s, &d->ci, d->identity);
	s.map = d->map;
	ret = state_checkpoint(d->path, d->dev, d->state, &s);
	if (ret == 1)
		warnmsg(d->path, "a snapshot was taken after the backup's: the write-intent log keeps its older checkpoint");
	else if (ret == 0 && !b->quiet)
		warnmsg(d->path, "tracking state saved to %s, the write-intent log's checkpoint",
			d->state);
}

static int backup_run(struct backup *b, const char *storage, uint64_t limit)
{
	int i, ret;
	double t0;

	ret = blksnap_snapshot_create(b->ctl, storage, limit, &b->snap);
	if (ret == -EINTR && stopped(b))
		return 128 + stop_signal;
	if (ret < 0) {
		create_error(storage, ret);
		return EXIT_FAIL;
	}
	{
		struct blksnap_id id;

		blksnap_snapshot_id(b->snap, &id);
		blksnap_id_format(&id, b->id);
	}
	for (i = 0; i < b->ndevs; i++) {
		if (stopped(b))
			return 128 + stop_signal;
		ret = blksnap_snapshot_add(b->snap, b->devs[i].dev);
		if (ret == -EINTR && stopped(b))
			return 128 + stop_signal;
		if (ret < 0) {
			add_error(b->devs[i].path, ret);
			return EXIT_FAIL;
		}
	}
	if (stopped(b))
		return 128 + stop_signal;
	ret = blksnap_snapshot_take(b->snap);
	if (ret == -EINTR && stopped(b))
		return 128 + stop_signal;
	if (ret < 0) {
		if (ret == -ENOSPC || ret == -EIO || ret == -ENODEV) {
			errmsg(b->id, ret, "the snapshot failed at take");
			return EXIT_CORRUPTED;
		}
		errmsg(b->id, ret, "cannot take the snapshot");
		return EXIT_FAIL;
	}
	for (i = 0; i < b->ndevs; i++) {
		if (stopped(b))
			return 128 + stop_signal;
		if (prepare_device(b, &b->devs[i]) < 0)
			goto failed;
	}
	b->total = 0;
	for (i = 0; i < b->ndevs; i++)
		if (!b->devs[i].failed)
			b->total += (b->verify ? 2 : 1) * b->devs[i].to_read;
	b->copying = true;
	b->start = now_seconds();
	b->last_event = 0;
	for (i = 0; i < b->ndevs; i++) {
		struct bdev *d = &b->devs[i];

		if (d->failed)
			continue;
		t0 = now_seconds();
		ret = walk_device(b, d, false);
		if (ret == 0 && flush_device(d) < 0)
			ret = -1;
		if (ret == 0 && b->verify) {
			posix_fadvise(d->img_fd, 0, 0, POSIX_FADV_DONTNEED);
			posix_fadvise(d->image_fd, 0, 0, POSIX_FADV_DONTNEED);
			ret = walk_device(b, d, true);
		}
		if (ret < 0)
			goto failed;
		if (ret > 0)
			continue;
		/* Every read succeeded: the image was sound while it was
		 * read, unless it is known to have failed already. */
		ret = device_check(b, d, 0);
		if (ret < 0)
			goto failed;
		if (ret > 0)
			continue;
		d->finished = true;
		d->seconds = now_seconds() - t0;
	}
	progress_end(b);
	if (check_snapshot(b, true, 0) < 0)
		goto failed;
	if (stopped(b))
		return 128 + stop_signal;
	if (finalize(b) < 0)
		return EXIT_FAIL;
	b->ended = true;
	for (i = 0; i < b->ndevs; i++)
		if (b->devs[i].finished)
			backup_checkpoint(b, &b->devs[i]);
	return b->nfailed ? EXIT_CORRUPTED : EXIT_OK;

failed:
	progress_end(b);
	if (stop_signal)
		return 128 + stop_signal;
	return EXIT_FAIL;
}

/*
 * The tracking configuration (--config, or the default one if it exists):
 * each device's entry and state file, for the links of a recovered
 * tracker and the checkpoint of its write-intent log.  -1 if a
 * configuration given cannot be used (reported).
 */
static int backup_conf(struct backup *b, bool given)
{
	int i;

	if ((given || access(b->confpath, F_OK) == 0) &&
	    track_conf_read(b->confpath, &b->conf) < 0) {
		if (given)
			return -1;
		warnmsg(b->confpath, "unusable: the devices' tracking states are not used");
		return 0;
	}
	for (i = 0; i < b->ndevs; i++) {
		struct bdev *d = &b->devs[i];

		d->conf = track_conf_find(&b->conf, d->rdev);
		if (d->conf && d->conf->identity[0])
			snprintf(d->identity, sizeof(d->identity), "%s", d->conf->identity);
		else if (device_identity(d->path, d->identity, sizeof(d->identity)) < 0)
			continue;
		state_default_path(b->conf.state_dir, d->identity, d->state, sizeof(d->state));
	}
	return 0;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "incremental", no_argument, NULL, 'i' },
		{ "verify", no_argument, NULL, 'V' },
		{ "storage", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct backup b;
	const char *storage = NULL;
	char storage_path[4096];
	uint64_t limit = 0;
	struct stat st;
	double t_start;
	int opt, i, k, rc = EXIT_FAIL, ret;
	bool conf_given = false;

	memset(&b, 0, sizeof(b));
	b.confpath = TRACK_CONF_DEFAULT;
	while ((opt = getopt_long(argc, argv, "hjiVs:l:qc:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': return command_help(argv[0]);
		case 'j': b.json = true; break;
		case 'i': b.incremental = true; break;
		case 'V': b.verify = true; break;
		case 'q': b.quiet = true; break;
		case 's': storage = optarg; break;
		case 'c': b.confpath = optarg; conf_given = true; break;
		case 'l':
			if (parse_limit(argv[0], optarg, &limit))
				return EXIT_USAGE;
			break;
		default: return usage_error(argv[0], "invalid option");
		}
	}
	if (argc - optind < 1)
		return usage_error(argv[0], "missing target directory");
	if (argc - optind < 2)
		return usage_error(argv[0], "missing device");
	b.dir = argv[optind];
	if (stat(b.dir, &st) < 0) {
		errmsg(b.dir, errno, "cannot use as target directory");
		return EXIT_FAIL;
	}
	if (!S_ISDIR(st.st_mode)) {
		errmsg(b.dir, 0, "not a directory");
		return EXIT_FAIL;
	}
	b.ndevs = argc - optind - 1;
	b.devs = calloc((size_t)b.ndevs, sizeof(*b.devs));
	b.buf = aligned_alloc(4096, BUF_SIZE);
	b.buf2 = aligned_alloc(4096, BUF_SIZE);
	if (!b.devs || !b.buf || !b.buf2) {
		errmsg(NULL, ENOMEM, "backup");
		goto out;
	}
	for (i = 0; i < b.ndevs; i++) {
		struct bdev *d = &b.devs[i];

		d->path = argv[optind + 1 + i];
		d->img_fd = d->blk_fd = d->image_fd = -1;
	}
	for (i = 0; i < b.ndevs; i++) {
		struct bdev *d = &b.devs[i];

		if (device_name(d->path, d->name, sizeof(d->name)) < 0) {
			rc = usage_error(argv[0], "device path '%s' gives no backup name", d->path);
			goto out;
		}
		for (k = 0; k < i; k++) {
			if (strcmp(b.devs[k].name, d->name) == 0) {
				rc = usage_error(argv[0], "%s and %s have the same backup name %s",
						 b.devs[k].path, d->path, d->name);
				goto out;
			}
		}
	}
	for (i = 0; i < b.ndevs; i++) {
		struct bdev *d = &b.devs[i];
		unsigned int max_seq, latest;

		if (open_dev(d->path, &d->dev) < 0)
			goto out;
		if (stat(d->path, &st) == 0)
			d->rdev = st.st_rdev;
		ret = meta_scan(b.dir, d->name, &max_seq, &latest);
		if (ret < 0) {
			errmsg(b.dir, ret, "cannot read");
			goto out;
		}
		if (max_seq >= META_SEQ_MAX) {
			errmsg(b.dir, 0, "%s: no backup number left", d->name);
			goto out;
		}
		d->m.seq = max_seq + 1;
		if (b.incremental && latest) {
			struct chain c;
			char why[4400];

			ret = chain_load(b.dir, d->name, latest, &c, why, sizeof(why));
			if (ret == -ENOMEM) {
				errmsg(NULL, ENOMEM, "backup");
				goto out;
			}
			if (ret < 0) {
				if (!b.quiet)
					warnmsg(d->path, "previous backup %s.%06u unusable: %s",
						d->name, latest, why);
			} else {
				d->prev = c.m[c.n - 1];
				d->have_prev = true;
				chain_free(&c);
			}
		}
	}
	if (backup_conf(&b, conf_given) < 0)
		goto out;
	if (!storage)
		storage = default_storage();
	snprintf(storage_path, sizeof(storage_path), "%s", storage);
	b.progress = !b.quiet && isatty(STDERR_FILENO);
	catch_signals();
	if (open_ctl(&b.ctl) < 0)
		goto out;
	t_start = now_seconds();
	rc = backup_run(&b, storage, limit);
	/* The backups are written: an unwritable summary only fails the
	 * exit status. */
	if (b.ended && print_summary(&b, now_seconds() - t_start) < 0 &&
	    rc == EXIT_OK)
		rc = EXIT_FAIL;
	if (b.ended && b.nfailed && b.ndevs > 1) {
		fprintf(stderr, "%s: %d of %d devices backed up; no backup of", prog_name,
			b.ndevs - b.nfailed, b.ndevs);
		for (i = 0, k = 0; i < b.ndevs; i++)
			if (b.devs[i].failed)
				fprintf(stderr, "%s %s", k++ ? "," : "", b.devs[i].path);
		fputc('\n', stderr);
	}
out:
	discard_temps(&b);
	for (i = 0; b.devs && i < b.ndevs; i++) {
		if (b.devs[i].image_fd >= 0)
			close(b.devs[i].image_fd);
		b.devs[i].image_fd = -1;
	}
	if (b.snap) {
		ret = blksnap_snapshot_destroy(b.snap);
		if (ret < 0 && !(b.gone && ret == -ENODEV)) {
			errmsg(b.id, ret, "cannot destroy the snapshot");
			if (rc == EXIT_OK)
				rc = EXIT_FAIL;
		}
		if (blksnap_snapshot_storage_created(b.snap))
			unlink(storage_path);
		blksnap_snapshot_free(b.snap);
	}
	blksnap_ctl_close(b.ctl);
	if (b.devs) {
		for (i = 0; i < b.ndevs; i++) {
			blksnap_dev_close(b.devs[i].dev);
			free(b.devs[i].ranges);
			free(b.devs[i].map);
		}
	}
	track_conf_free(&b.conf);
	free(b.devs);
	free(b.buf);
	free(b.buf2);
	return rc;
}
