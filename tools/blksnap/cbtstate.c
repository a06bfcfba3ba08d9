// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8) cbt-save and cbt-restore: the change tracker of a device kept
 * across module reloads and reboots in a state file (format in blksnap(8),
 * "TRACKING STATE"; the protocol in the module's blksnap.rst, Extensions).
 *
 * A state file names its device by a stable identity (the WWN or serial of
 * its disk from sysfs, a device-mapper uuid, a loop device's backing file,
 * or a /dev/disk/by-id name; a partition adds its number and start), never
 * by a name like sdb.  It is used once: cbt-restore marks it consumed on
 * disk before it loads it, so that after a crash the state of the previous
 * boot, whose later writes nobody knows, is refused.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include <zlib.h>

#include "blksnap-tool.h"

#define STATE_MAGIC		"BLKSNCBT"
#define STATE_VERSION		2
#define STATE_HDR_SIZE_V1	328
#define STATE_HDR_SIZE		400
#define STATE_ID_OFF		64
#define STATE_HCRC_OFF		320
/* Version 2: what untracked.c needs, with a CRC of its own. */
#define STATE_BOOT_OFF		328
#define STATE_WRITTEN_OFF	368
#define STATE_DISKSEQ_OFF	376
#define STATE_UNTRACKED_OFF	384
#define STATE_XCRC_OFF		392
#define STATE_DIR_DEFAULT	"/var/lib/blksnap"

/* Little-endian fields of the header. */
static void put32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The header's size in a file of version v (1 or 2). */
static size_t state_hdr_size(uint32_t v)
{
	return v == 1 ? STATE_HDR_SIZE_V1 : STATE_HDR_SIZE;
}

/* The header of s, in the version of its file. */
static void state_encode(const struct cbt_state *s, uint8_t *h)
{
	memset(h, 0, STATE_HDR_SIZE);
	memcpy(h, STATE_MAGIC, 8);
	put32(h + 8, s->version);
	put32(h + 12, s->flags);
	put64(h + 16, s->device_size);
	put32(h + 24, s->block_size);
	put32(h + 28, s->block_count);
	memcpy(h + 32, s->generation.b, 16);
	put32(h + 48, s->changes_number);
	put32(h + 52, crc32_z(0, s->map, s->block_count));
	put64(h + 56, (uint64_t)s->time);
	memcpy(h + STATE_ID_OFF, s->identity, strlen(s->identity));
	put32(h + STATE_HCRC_OFF, crc32_z(0, h, STATE_HCRC_OFF));
	if (s->version == 1)
		return;
	memcpy(h + STATE_BOOT_OFF, s->boot_id, strnlen(s->boot_id, sizeof(s->boot_id) - 1));
	put64(h + STATE_WRITTEN_OFF, s->written);
	put64(h + STATE_DISKSEQ_OFF, s->diskseq);
	put64(h + STATE_UNTRACKED_OFF, s->untracked);
	put32(h + STATE_XCRC_OFF, crc32_z(0, h + STATE_BOOT_OFF,
					  STATE_XCRC_OFF - STATE_BOOT_OFF));
}

int sysfs_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\0'))
		n--;
	buf[n] = '\0';
	return n ? 0 : -ENOENT;
}

/* A /dev/disk/by-id name of the device numbered rdev, the first in
 * alphabetical order (udev's links; absent without udev). */
static int by_id(dev_t rdev, char *buf, size_t len)
{
	struct dirent **names;
	char path[PATH_MAX];
	struct stat st;
	int i, n, ret = -ENOENT;

	n = scandir("/dev/disk/by-id", &names, NULL, alphasort);
	if (n < 0)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/dev/disk/by-id/%s", names[i]->d_name);
		if (ret && names[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISBLK(st.st_mode) && st.st_rdev == rdev) {
			snprintf(buf, len, "by-id:%s", names[i]->d_name);
			ret = 0;
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int device_identity(const char *path, char *id, size_t len)
{
	static const struct {
		const char *file, *kind;
	} keys[] = {
		{ "wwid", "wwid" }, { "device/wwid", "wwid" },
		{ "serial", "serial" }, { "device/serial", "serial" },
		{ "dm/uuid", "dm" }, { "loop/backing_file", "loop" },
	};
	char sys[PATH_MAX], dev[PATH_MAX], disk[PATH_MAX], val[512];
	char part[64] = "", start[64], off[64];
	dev_t rdev;
	size_t i;
	int ret;

	ret = blkdev_number(path, &rdev);
	if (ret < 0)
		return ret;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(rdev),
		 minor(rdev));
	if (!realpath(sys, dev))
		return -errno;
	snprintf(disk, sizeof(disk), "%s", dev);
	if (sysfs_read(dev, "partition", part, sizeof(part)) == 0) {
		if (sysfs_read(dev, "start", start, sizeof(start)) < 0)
			return -ENODEV;
		dirname(disk);
	}
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (sysfs_read(disk, keys[i].file, val, sizeof(val)) < 0)
			continue;
		if (!strcmp(keys[i].kind, "loop") &&
		    sysfs_read(disk, "loop/offset", off, sizeof(off)) == 0)
			snprintf(id, len, "loop:%s@%s", val, off);
		else
			snprintf(id, len, "%s:%s", keys[i].kind, val);
		break;
	}
	if (i == ARRAY_SIZE(keys)) {
		/* A by-id link names the partition itself. */
		return by_id(rdev, id, len) < 0 ? -ENODEV : 0;
	}
	if (part[0]) {
		size_t n = strlen(id);

		snprintf(id + n, len - n, ";part=%s;start=%s", part, start);
	}
	return strlen(id) >= len - 1 ? -ENAMETOOLONG : 0;
}

void state_default_path(const char *dir, const char *identity, char *buf,
			size_t len)
{
	size_t n, i;

	if (!dir || !*dir)
		dir = getenv("BLKSNAP_STATE_DIR");
	if (!dir || !*dir)
		dir = STATE_DIR_DEFAULT;
	n = (size_t)snprintf(buf, len, "%s/", dir);
	for (i = 0; identity[i] && n + 5 < len; i++) {
		char c = identity[i];

		buf[n++] = isalnum((unsigned char)c) || strchr(".+-@", c) ? c : '_';
	}
	snprintf(buf + n, len - n, ".cbt");
}

int state_read(const char *path, struct cbt_state *s, char *why, size_t len)
{
	uint8_t h[STATE_HDR_SIZE];
	struct stat st;
	size_t hsize;
	int fd, ret;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, len, "%s", strerror(-ret));
		return ret;
	}
	ret = fstat(fd, &st) < 0 ? -errno : read_all(fd, h, STATE_HDR_SIZE_V1, 0);
	if (!ret)
		s->version = get32(h + 8);
	if (ret == -ENODATA || (!ret && (memcmp(h, STATE_MAGIC, 8) ||
					 s->version < 1 || s->version > STATE_VERSION))) {
		snprintf(why, len, "not a tracking state file of version 1 to %d",
			 STATE_VERSION);
		ret = -EINVAL;
	} else if (!ret && get32(h + STATE_HCRC_OFF) != crc32_z(0, h, STATE_HCRC_OFF)) {
		snprintf(why, len, "its header is corrupt (CRC)");
		ret = -EINVAL;
	} else if (ret) {
		snprintf(why, len, "%s", strerror(-ret));
	}
	hsize = state_hdr_size(s->version);
	if (!ret && hsize > STATE_HDR_SIZE_V1) {
		ret = read_all(fd, h + STATE_HDR_SIZE_V1, hsize - STATE_HDR_SIZE_V1,
			       STATE_HDR_SIZE_V1);
		if (ret == -ENODATA || (!ret && get32(h + STATE_XCRC_OFF) !=
			crc32_z(0, h + STATE_BOOT_OFF, STATE_XCRC_OFF - STATE_BOOT_OFF))) {
			snprintf(why, len, "its header is corrupt (CRC)");
			ret = -EINVAL;
		} else if (ret) {
			snprintf(why, len, "%s", strerror(-ret));
		}
	}
	if (ret)
		goto out;
	s->written = WRITTEN_UNKNOWN;
	if (s->version >= 2) {
		memcpy(s->boot_id, h + STATE_BOOT_OFF, sizeof(s->boot_id) - 1);
		s->boot_id[sizeof(s->boot_id) - 1] = '\0';
		s->written = get64(h + STATE_WRITTEN_OFF);
		s->diskseq = get64(h + STATE_DISKSEQ_OFF);
		s->untracked = get64(h + STATE_UNTRACKED_OFF);
	}
	s->flags = get32(h + 12);
	s->device_size = get64(h + 16);
	s->block_size = get32(h + 24);
	s->block_count = get32(h + 28);
	memcpy(s->generation.b, h + 32, 16);
	s->changes_number = get32(h + 48);
	s->time = (int64_t)get64(h + 56);
	memcpy(s->identity, h + STATE_ID_OFF, STATE_ID_MAX);
	s->identity[STATE_ID_MAX] = '\0';
	if (!s->block_count || s->changes_number > 254 ||
	    (uint64_t)st.st_size != hsize + (uint64_t)s->block_count) {
		snprintf(why, len, "its header is inconsistent with its size");
		ret = -EINVAL;
		goto out;
	}
	s->map = malloc(s->block_count);
	if (!s->map) {
		snprintf(why, len, "%s", strerror(ENOMEM));
		ret = -ENOMEM;
		goto out;
	}
	ret = read_all(fd, s->map, s->block_count, hsize);
	if (ret) {
		snprintf(why, len, "%s", strerror(ret == -ENODATA ? EIO : -ret));
	} else if (crc32_z(0, s->map, s->block_count) != get32(h + 52)) {
		snprintf(why, len, "its change map is corrupt (CRC)");
		ret = -EINVAL;
	}
out:
	close(fd);
	if (ret)
		state_free(s);
	return ret;
}

void state_free(struct cbt_state *s)
{
	free(s->map);
	s->map = NULL;
}

/* Write s to path whole: a temporary file, fsync, rename, fsync dir. */
int state_write(const char *path, const struct cbt_state *s)
{
	char tmp[PATH_MAX + 32], dir[PATH_MAX];
	uint8_t h[STATE_HDR_SIZE];
	FILE *f;
	int ret;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	snprintf(dir, sizeof(dir), "%s", path);
	dirname(dir);
	state_encode(s, h);
	f = file_create(tmp, 0600, &ret);
	if (!f)
		return ret;
	/* A short write sets the stream's error, which file_commit() sees. */
	fwrite(h, state_hdr_size(s->version), 1, f);
	fwrite(s->map, s->block_count, 1, f);
	return file_commit(f, tmp, path, dir);
}

/* Rewrite the header of s at path with flags changed, durably: a torn
 * header fails its CRC, which refuses the state too. */
int state_flags(const char *path, struct cbt_state *s, uint32_t set,
		uint32_t clear)
{
	uint8_t h[STATE_HDR_SIZE];
	int fd, ret;

	s->flags = (s->flags & ~clear) | set;
	state_encode(s, h);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, h, state_hdr_size(s->version), 0);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* Mark the state file consumed, durably, before its state is loaded. */
int state_consume(const char *path, struct cbt_state *s)
{
	return state_flags(path, s, STATE_FL_CONSUMED, 0);
}

int state_refuse_untracked(const char *path, struct cbt_state *s, uint64_t n)
{
	/* A file of version 1 has no room for the count: the flag alone. */
	s->untracked = n;
	return state_flags(path, s, STATE_FL_UNTRACKED, 0);
}

int device_bytes(const char *path, uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, BLKGETSIZE64, size) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

const char *state_date(int64_t time, char *buf, size_t len)
{
	time_t t = (time_t)time;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

int state_belongs(const struct cbt_state *s, const char *identity,
		  uint64_t size, char *why, size_t len)
{
	char date[64];

	if (strcmp(s->identity, identity)) {
		snprintf(why, len, "it belongs to another device (%s, this one is %s)",
			 s->identity, identity);
		return 1;
	}
	if (s->device_size != size) {
		snprintf(why, len, "the device's size changed since it was saved (%llu bytes then, %llu now)",
			 (unsigned long long)s->device_size, (unsigned long long)size);
		return 1;
	}
	if (s->flags & STATE_FL_CONSUMED) {
		snprintf(why, len, "it was restored once already and not saved again since %s (a crash, or a shutdown without cbt-save): the writes since are unknown",
			 state_date(s->time, date, sizeof(date)));
		return 1;
	}
	if (s->flags & STATE_FL_LOGFAILED) {
		snprintf(why, len, "the write-intent log failed at %s: the writes since are unknown",
			 state_date(s->time, date, sizeof(date)));
		return 1;
	}
	if ((s->flags & STATE_FL_UNTRACKED) && s->untracked == WRITTEN_UNKNOWN) {
		snprintf(why, len, "the device's I/O statistics restarted after the save of %s (it was removed and added again): its writes since are unknown",
			 state_date(s->time, date, sizeof(date)));
		return 1;
	}
	if (s->flags & STATE_FL_UNTRACKED) {
		snprintf(why, len, "the device was written while untracked after the save of %s (%llu sectors, by its I/O statistics)",
			 state_date(s->time, date, sizeof(date)),
			 (unsigned long long)s->untracked);
		return 1;
	}
	return 0;
}

void state_explain(const char *devpath, const char *file, const char *given_id,
		   const struct blksnap_cbt_info *ci,
		   const struct blksnap_id *prev_gen, char *why, size_t len)
{
	char identity[STATE_ID_MAX + 1], path[PATH_MAX], reason[1024];
	struct cbt_state s;
	uint64_t size;
	int ret;

	if (given_id)
		snprintf(identity, sizeof(identity), "%s", given_id);
	else if (device_identity(devpath, identity, sizeof(identity)) < 0) {
		snprintf(why, len, "; the device has no stable identity for a saved tracking state");
		return;
	}
	if (file)
		snprintf(path, sizeof(path), "%s", file);
	else
		state_default_path(NULL, identity, path, sizeof(path));
	ret = state_read(path, &s, reason, sizeof(reason));
	if (ret == -ENOENT) {
		snprintf(why, len, "; no saved tracking state (%s)", path);
		return;
	}
	if (ret < 0) {
		snprintf(why, len, "; saved tracking state %s unusable: %s", path, reason);
		return;
	}
	if (device_bytes(devpath, &size) < 0)
		size = ci->device_size;
	if (state_belongs(&s, identity, size, reason, sizeof(reason)))
		snprintf(why, len, "; saved tracking state %s refused: %s", path, reason);
	else if (s.block_size != ci->block_size || s.block_count != ci->block_count)
		snprintf(why, len, "; saved tracking state %s has another tracker block size (%u bytes, the tracker's %u: module parameters changed?)",
			 path, s.block_size, ci->block_size);
	else if (!memcmp(&s.generation, &ci->generation, sizeof(s.generation)))
		snprintf(why, len, "; the tracker holds the state of %s", path);
	else if (memcmp(&s.generation, prev_gen, sizeof(s.generation)))
		snprintf(why, len, "; saved tracking state %s is of another generation than the previous backup",
			 path);
	else
		snprintf(why, len, "; saved tracking state %s was not restored (blksnap cbt-restore after attach)",
			 path);
	state_free(&s);
}

/* The state file: FILE, or the default one of the device's identity in
 * dir (NULL: $BLKSNAP_STATE_DIR or the default); the identity given, or
 * the device's own.  0, or -errno (reported). */
int state_path(const char *dev, const char *file, const char *dir,
	       const char *given_id, char *identity, char *path, size_t len)
{
	int ret = 0;

	if (given_id)
		snprintf(identity, STATE_ID_MAX + 1, "%s", given_id);
	else
		ret = device_identity(dev, identity, STATE_ID_MAX + 1);
	if (ret == -ENODEV)
		errmsg(dev, 0, "no stable identity (no WWN, serial, device-mapper uuid, loop backing file or /dev/disk/by-id link): give one with --identity");
	else if (ret < 0)
		errmsg(dev, ret, "cannot find the device's identity");
	if (ret < 0)
		return ret;
	if (strlen(identity) > STATE_ID_MAX) {
		errmsg(dev, 0, "identity longer than %d bytes", STATE_ID_MAX);
		return -ENAMETOOLONG;
	}
	if (file)
		snprintf(path, len, "%s", file);
	else
		state_default_path(dir, identity, path, len);
	return 0;
}

/* Options and arguments of cbt-save and cbt-restore. */
struct state_args {
	struct cbt_opts o;
	const char *given_id;
	const char *dev;
	char identity[STATE_ID_MAX + 1];
	char path[PATH_MAX];
};

/* Parse them and find the state file.  Returns -1 to go on, else the exit
 * status (EXIT_OK after --help). */
static int state_args(int argc, char **argv, struct state_args *a, bool save)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "identity", required_argument, NULL, 'I' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "storage", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "detach", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	while ((opt = getopt_long(argc, argv, save ? "hI:qs:l:d" : "hI:q", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'h':
			command_help(argv[0]);
			return EXIT_OK;
		case 'I': a->given_id = optarg; break;
		case 'q': a->o.quiet = true; break;
		case 's': a->o.storage = optarg; break;
		case 'd': a->o.detach = true; break;
		case 'l':
			if (parse_size(optarg, &a->o.limit) < 0 || a->o.limit < 512)
				return usage_error(argv[0], "invalid limit '%s'", optarg);
			break;
		default: return usage_error(argv[0], "invalid option");
		}
	}
	if (argc - optind < 1)
		return usage_error(argv[0], "missing device");
	if (argc - optind > 2)
		return usage_error(argv[0], "too many arguments");
	a->dev = argv[optind];
	if (state_path(a->dev, argv[optind + 1], NULL, a->given_id, a->identity,
		       a->path, sizeof(a->path)) < 0)
		return EXIT_FAIL;
	return -1;
}

/* A snapshot of dev alone, taken and destroyed: the readable map then
 * holds every write so far.  Returns 0 or -1 (reported). */
static int state_take(const char *path, struct blksnap_dev *dev,
		      const struct cbt_opts *o)
{
	const char *storage = o->storage ? o->storage : default_storage();
	struct blksnap_snapshot *snap;
	struct blksnap_ctl *ctl;
	char id[BLKSNAP_ID_STR_LEN];
	struct blksnap_id sid;
	int ret;

	if (open_ctl(&ctl) < 0)
		return -1;
	ret = blksnap_snapshot_create(ctl, storage, o->limit, &snap);
	if (ret < 0) {
		create_error(storage, ret);
		blksnap_ctl_close(ctl);
		return -1;
	}
	blksnap_snapshot_id(snap, &sid);
	blksnap_id_format(&sid, id);
	ret = blksnap_snapshot_add(snap, dev);
	if (ret < 0)
		add_error(path, ret);
	else if ((ret = blksnap_snapshot_take(snap)) < 0)
		errmsg(id, ret, "cannot take the snapshot");
	if (blksnap_snapshot_destroy(snap) < 0 && ret >= 0) {
		errmsg(id, 0, "cannot destroy the snapshot");
		ret = -1;
	}
	if (blksnap_snapshot_storage_created(snap))
		unlink(storage);
	blksnap_snapshot_free(snap);
	blksnap_ctl_close(ctl);
	return ret < 0 ? -1 : 0;
}

void state_of(struct cbt_state *s, const struct blksnap_cbt_info *ci,
	      const char *identity)
{
	s->version = STATE_VERSION;
	state_now(s);
	s->untracked = 0;
	s->flags = 0;
	s->device_size = ci->device_size;
	s->block_size = ci->block_size;
	s->block_count = ci->block_count;
	s->generation = ci->generation;
	s->changes_number = ci->changes_number;
	s->time = (int64_t)time(NULL);
	snprintf(s->identity, sizeof(s->identity), "%s", identity);
}

/* The state of dev's tracker at its last take (ci) into s. */
static int state_fill(const char *devpath, struct blksnap_dev *dev,
		      const char *identity, struct blksnap_cbt_info *ci,
		      struct cbt_state *s)
{
	int ret = blksnap_cbt_map(dev, ci, &s->map);

	if (ret < 0) {
		errmsg(devpath, ret, "cannot read the change tracker");
		return -1;
	}
	if (ci->changes_number > 254) {
		errmsg(devpath, 0, "changes number %u out of range", ci->changes_number);
		return -1;
	}
	state_of(s, ci, identity);
	return 0;
}

int state_checkpoint(const char *devpath, struct blksnap_dev *dev,
		     const char *path, struct cbt_state *s)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	struct blksnap_cbt_log lg = { .size = sizeof(lg) };
	int ret;

	s->flags |= STATE_FL_LOGGED;
	ret = state_write(path, s);
	if (ret < 0) {
		errmsg(path, ret, "cannot write");
		return -1;
	}
	ci.generation = s->generation;
	ci.changes_number = s->changes_number;
	ret = blksnap_cbt_log_checkpoint(dev, &ci, &lg);
	if (ret == -ESTALE)
		return 1;
	if (ret < 0) {
		/* The log failed: the state is of no use without it. */
		errmsg(devpath, ret, "the write-intent log failed");
		wlog_failed(path);
		return -1;
	}
	return 0;
}

int cbt_save(const char *devpath, const char *path, const char *identity,
	     const struct cbt_opts *o)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	struct blksnap_cbt_log lg = { .size = sizeof(lg) };
	struct blksnap_dev *dev;
	struct cbt_state s;
	bool logged;
	int ret, tries, rc = -1;

	if (open_dev(devpath, &dev) < 0)
		return -1;
	memset(&s, 0, sizeof(s));
	ret = blksnap_cbt_info(dev, &ci);
	if (ret == -ENOENT) {
		errmsg(devpath, 0, "cannot save: the blksnap filter is not attached (nothing is tracked)");
		goto out;
	}
	if (ret < 0) {
		errmsg(devpath, ret, "cannot read the change tracker");
		goto out;
	}
	/* A log attached: the state saved is named by its checkpoint and
	 * stays valid with it (STATE_FL_LOGGED).  A failed log is left
	 * out: the state is then valid alone, once, as without a log. */
	logged = blksnap_cbt_log_state(dev, 0, &lg) == 0 &&
		 (lg.state & BLKSNAP_CBT_LOG_ATTACHED);
	if (logged && (lg.state & BLKSNAP_CBT_LOG_FAILED)) {
		errmsg(devpath, -lg.error, "the write-intent log failed: saved without it");
		logged = false;
	}
	for (tries = 0;; tries++) {
		/* Counted before the take: a write between the take and the
		 * detach, missed by the state, shows as untracked. */
		struct dev_count c;

		device_count(devpath, false, &c);

		if (state_take(devpath, dev, o) < 0)
			goto out;
		state_free(&s);
		if (state_fill(devpath, dev, identity, &ci, &s) < 0)
			goto out;
		s.written = c.written;
		s.diskseq = c.diskseq;
		if (!logged) {
			ret = state_write(path, &s);
			if (ret < 0) {
				errmsg(path, ret, "cannot write");
				goto out;
			}
			break;
		}
		ret = state_checkpoint(devpath, dev, path, &s);
		if (ret < 0)
			goto out;
		if (ret == 0)
			break;
		/* ESTALE: a take came in between; the log keeps its older
		 * checkpoint, which with the state saved misses nothing. */
		if (tries == 2) {
			warnmsg(devpath, "snapshots were taken during the save: the write-intent log keeps its older checkpoint");
			logged = false;
			break;
		}
	}
	if (o->detach) {
		ret = blksnap_detach(dev);
		if (ret < 0) {
			errmsg(devpath, ret, "saved, but cannot detach");
			goto out;
		}
		/* No take after the save: the next start keeps the
		 * generation. */
		if (logged && (ret = state_flags(path, &s, STATE_FL_CLEAN, 0)) < 0) {
			errmsg(path, ret, "cannot write");
			goto out;
		}
	}
	if (!o->quiet) {
		char gen[BLKSNAP_ID_STR_LEN];

		warnmsg(devpath, "tracking state saved to %s (%s, generation %s, number %u)%s",
			path, identity, blksnap_id_format(&s.generation, gen),
			s.changes_number, logged ? ", the write-intent log's checkpoint" : "");
	}
	rc = 0;
out:
	state_free(&s);
	blksnap_dev_close(dev);
	return rc;
}

int cmd_cbt_save(int argc, char **argv)
{
	struct state_args a;
	int ret = state_args(argc, argv, &a, true);

	if (ret >= 0)
		return ret;
	return cbt_save(a.dev, a.path, a.identity, &a.o) < 0 ? EXIT_FAIL : EXIT_OK;
}

static void restore_error(const char *dev, int ret)
{
	if (ret == -EBUSY)
		errmsg(dev, 0, "cannot restore: the tracker was in a snapshot or restored since the attach (detach and attach first; the writes in between are then untracked)");
	else if (ret == -ERANGE)
		errmsg(dev, 0, "cannot restore: the tracker's size or block size differs from the saved one (module parameters changed, or the device was resized)");
	else if (ret == -ENOTTY)
		errmsg(dev, 0, "cannot restore: the blksnap module lacks the cbtrestore extension");
	else
		errmsg(dev, ret, "cannot restore");
}

int attach_dev(const char *devpath, struct blksnap_dev *dev)
{
	int ret = blksnap_attach(dev);

	/* The filter is unknown (ENOENT), or out of tree blkfilter.ko is
	 * not loaded either and the ioctl is unknown (ENOTTY): load the
	 * module, which pulls in blkfilter, once. */
	if ((ret == -ENOENT || ret == -ENOTTY) && !module_loaded() &&
	    load_module() == 0)
		ret = blksnap_attach(dev);
	if (ret == -EALREADY)
		return 1;
	if (ret == 0)
		attach_note(devpath, dev);
	if (ret == -EBUSY)
		errmsg(devpath, 0, "another filter is attached");
	else if (ret == -ENOENT)
		errmsg(devpath, 0, "cannot attach: the blksnap filter is unknown (is blksnap.ko loaded?)");
	else if (ret < 0)
		errmsg(devpath, ret, "cannot attach");
	return ret;
}

int state_load(const char *devpath, struct blksnap_dev *dev,
	       const struct cbt_state *s, const struct blksnap_id *gen)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	int ret;

	ret = blksnap_cbt_info(dev, &ci);
	if (ret < 0) {
		errmsg(devpath, ret, "cannot read the change tracker");
		return -1;
	}
	if (ci.block_size != s->block_size || ci.block_count != s->block_count) {
		restore_error(devpath, -ERANGE);
		return -1;
	}
	ci.device_size = s->device_size;
	ci.generation = *gen;
	ci.changes_number = s->changes_number;
	ret = blksnap_cbt_restore(dev, &ci, s->map);
	if (ret < 0) {
		restore_error(devpath, ret);
		return -1;
	}
	return 0;
}

int cbt_restore(const char *devpath, const char *path, const char *identity,
		bool quiet)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	struct blksnap_dev *dev;
	struct dev_count at;
	struct cbt_state s;
	uint64_t size, untracked;
	char why[1024];
	int ret, rc = -1;

	ret = device_bytes(devpath, &size);
	if (ret < 0) {
		errmsg(devpath, ret, "cannot read the device's size");
		return -1;
	}
	ret = state_read(path, &s, why, sizeof(why));
	if (ret < 0) {
		errmsg(path, 0, "cannot restore: %s", why);
		return -1;
	}
	if (state_belongs(&s, identity, size, why, sizeof(why))) {
		errmsg(path, 0, "not restored to %s: %s", devpath, why);
		goto out_free;
	}
	if (s.flags & STATE_FL_LOGGED) {
		errmsg(path, 0, "not restored to %s: it is valid only with its write-intent log (blksnap track start restores both)",
		       devpath);
		goto out_free;
	}
	if (open_dev(devpath, &dev) < 0)
		goto out_free;
	if (attach_dev(devpath, dev) < 0)
		goto out;
	ret = blksnap_cbt_info(dev, &ci);
	if (ret < 0) {
		errmsg(devpath, ret, "cannot read the change tracker");
		goto out;
	}
	if (ci.block_size != s.block_size || ci.block_count != s.block_count) {
		restore_error(devpath, -ERANGE);
		goto out;
	}
	attach_count(devpath, dev, &at);
	untracked = state_untracked(devpath, &s, &at, why, sizeof(why));
	if (untracked) {
		errmsg(path, 0, "not restored to %s: %s", devpath, why);
		ret = state_refuse_untracked(path, &s, untracked);
		if (ret < 0)
			errmsg(path, ret, "cannot mark refused");
		goto out;
	}
	/* Consumed first: if the restore then fails, the state is lost (a
	 * full copy next), never used twice. */
	ret = state_consume(path, &s);
	if (ret < 0) {
		errmsg(path, ret, "cannot mark consumed; not restored");
		goto out;
	}
	if (state_load(devpath, dev, &s, &s.generation) < 0)
		goto out;
	if (!quiet) {
		char gen[BLKSNAP_ID_STR_LEN];

		warnmsg(devpath, "tracking state restored from %s (generation %s, number %u)",
			path, blksnap_id_format(&s.generation, gen), s.changes_number);
	}
	rc = 0;
out:
	blksnap_dev_close(dev);
out_free:
	state_free(&s);
	return rc;
}

int cmd_cbt_restore(int argc, char **argv)
{
	struct state_args a;
	int ret = state_args(argc, argv, &a, false);

	if (ret >= 0)
		return ret;
	return cbt_restore(a.dev, a.path, a.identity, a.o.quiet) < 0 ?
		EXIT_FAIL : EXIT_OK;
}
