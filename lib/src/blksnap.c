// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libblksnap: the ioctls of the blksnap module, see blksnap/blksnap.h.
 *
 * Every function returns -errno and never prints; the only state is in
 * the handles.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <linux/fs.h>

#include <linux/blk-filter.h>
#include <linux/blksnap.h>

#include "blksnap/blksnap.h"

#define BLKSNAP_FILTER_NAME "blksnap"

#ifndef BLKSNAP_LIB_VERSION
#error "BLKSNAP_LIB_VERSION must be defined by the build"
#endif

#define EXPORT __attribute__((visibility("default")))

struct blksnap_ctl {
	int fd;
};

struct blksnap_dev {
	int fd;
};

struct blksnap_snapshot {
	struct blksnap_ctl *ctl;	/* not owned */
	struct blksnap_id id;
	int storage_created;
};

/* The layouts of the public types and the UAPI's must agree where the
 * library copies one into the other. */
_Static_assert(sizeof(struct blksnap_id) == sizeof(struct blksnap_uuid),
	       "id size");
_Static_assert(BLKSNAP_IMAGE_NAME_MAX == IMAGE_DISK_NAME_LEN + 1,
	       "image name size");

/* The sizes of version 0 of the extensible structures are their sizes in
 * this library: they change only by a new _SIZE_VERn, with the fields
 * appended.  The layouts are fixed, without padding the compiler chooses. */
_Static_assert(sizeof(struct blksnap_module_version) ==
	       BLKSNAP_MODULE_VERSION_SIZE_VER0, "module_version size");
_Static_assert(sizeof(struct blksnap_cbt_info) == BLKSNAP_CBT_INFO_SIZE_VER0,
	       "cbt_info size");
_Static_assert(offsetof(struct blksnap_cbt_info, generation) == 24,
	       "cbt_info layout");
_Static_assert(sizeof(struct blksnap_image_info) ==
	       BLKSNAP_IMAGE_INFO_SIZE_VER0, "image_info size");
_Static_assert(offsetof(struct blksnap_image_info, reserved0) ==
	       8 + BLKSNAP_IMAGE_NAME_MAX, "image_info layout");
_Static_assert(sizeof(struct blksnap_event) == BLKSNAP_EVENT_SIZE_VER0,
	       "event size");
_Static_assert(offsetof(struct blksnap_event, reserved0) == 28,
	       "event layout");

_Static_assert(sizeof(struct blksnap_cbt_log) == BLKSNAP_CBT_LOG_SIZE_VER0,
	       "cbt_log size");
_Static_assert(offsetof(struct blksnap_cbt_log, region_size) == 32,
	       "cbt_log layout");

/*
 * The caller's extensible structure at out: -EINVAL unless its size field
 * (the first 4 bytes) is from the structure's version 0 size to
 * BLKSNAP_EXT_SIZE_MAX (a size never set is caught there, most of the
 * time, rather than zeroing the caller's stack).
 */
static int ext_check(const void *out, uint32_t size_ver0)
{
	uint32_t usize;

	if (!out)
		return -EINVAL;
	memcpy(&usize, out, sizeof(usize));
	return usize < size_ver0 || usize > BLKSNAP_EXT_SIZE_MAX ? -EINVAL : 0;
}

/*
 * Copy the library's filled structure src (ksize bytes, its size field
 * ignored) to the caller's out, checked by ext_check(): as many bytes as
 * both know, zeroes in the caller's bytes beyond ksize, and the number of
 * bytes filled in as out's size field.
 */
static void ext_copy(void *out, const void *src, uint32_t ksize)
{
	uint32_t usize, n;

	memcpy(&usize, out, sizeof(usize));
	n = usize < ksize ? usize : ksize;
	memcpy((char *)out + sizeof(n), (const char *)src + sizeof(n),
	       n - sizeof(n));
	if (usize > ksize)
		memset((char *)out + ksize, 0, usize - ksize);
	memcpy(out, &n, sizeof(n));
}

EXPORT const char *blksnap_lib_version(void)
{
	return BLKSNAP_LIB_VERSION;
}

EXPORT char *blksnap_id_format(const struct blksnap_id *id, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;
	int i;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[id->b[i] >> 4];
		*p++ = hex[id->b[i] & 15];
	}
	*p = '\0';
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

EXPORT int blksnap_id_parse(const char *str, struct blksnap_id *id)
{
	struct blksnap_id out;
	size_t len;
	int dashes, i, pos;

	if (!str || !id)
		return -EINVAL;
	len = strlen(str);
	if (len == 36)
		dashes = 1;
	else if (len == 32)
		dashes = 0;
	else
		return -EINVAL;
	pos = 0;
	for (i = 0; i < 16; i++) {
		int hi, lo;

		if (dashes && (i == 4 || i == 6 || i == 8 || i == 10)) {
			if (str[pos] != '-')
				return -EINVAL;
			pos++;
		}
		hi = hexval(str[pos]);
		lo = hi < 0 ? -1 : hexval(str[pos + 1]);
		if (lo < 0)
			return -EINVAL;
		out.b[i] = (uint8_t)(hi << 4 | lo);
		pos += 2;
	}
	*id = out;
	return 0;
}

/* ---------------------------------------------------------------------- */

EXPORT int blksnap_ctl_open(const char *path, struct blksnap_ctl **ctlp)
{
	struct blksnap_ctl *ctl;

	if (!ctlp)
		return -EINVAL;
	ctl = malloc(sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->fd = open(path ? path : BLKSNAP_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (ctl->fd < 0) {
		int err = -errno;

		free(ctl);
		return err;
	}
	*ctlp = ctl;
	return 0;
}

EXPORT void blksnap_ctl_close(struct blksnap_ctl *ctl)
{
	if (!ctl)
		return;
	close(ctl->fd);
	free(ctl);
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret = ioctl(fd, req, arg);

	return ret < 0 ? -errno : ret;
}

EXPORT int blksnap_module_version(struct blksnap_ctl *ctl,
				  struct blksnap_module_version *ver)
{
	struct blksnap_module_version out;
	struct blksnap_version v;
	int ret;

	ret = ext_check(ver, BLKSNAP_MODULE_VERSION_SIZE_VER0);
	if (!ctl || ret < 0)
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	ret = xioctl(ctl->fd, IOCTL_BLKSNAP_VERSION, &v);
	if (ret < 0)
		return ret;
	memset(&out, 0, sizeof(out));
	out.major = v.major;
	out.minor = v.minor;
	out.revision = v.revision;
	out.build = v.build;
	ext_copy(ver, &out, sizeof(out));
	return 0;
}

/* Collect tries: the set must stop growing between a size query and the
 * call with the array within this many rounds. */
#define COLLECT_TRIES	64

EXPORT int blksnap_snapshot_collect(struct blksnap_ctl *ctl,
				    struct blksnap_id **idsp)
{
	struct blksnap_snapshot_collect arg;
	struct blksnap_uuid *ids;
	uint32_t room;
	int ret, tries;

	if (!ctl || !idsp)
		return -EINVAL;
	/* The size query: with ids NULL the module returns 0 and sets count
	 * to the number of snapshots. */
	memset(&arg, 0, sizeof(arg));
	ret = xioctl(ctl->fd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &arg);
	if (ret < 0)
		return ret;
	/* Snapshots may be created between two calls: then the array is too
	 * small, the module says ENODATA with the number needed, and we ask
	 * again with that much room. */
	for (tries = 0; tries < COLLECT_TRIES; tries++) {
		if (arg.count == 0) {
			*idsp = NULL;
			return 0;
		}
		if (arg.count > INT_MAX)
			return -EOVERFLOW;
		room = arg.count;
		ids = calloc(room, sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		arg.ids = (uintptr_t)ids;
		ret = xioctl(ctl->fd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &arg);
		if (ret == 0 && arg.count <= room) {
			if (arg.count == 0) {
				free(ids);
				ids = NULL;
			}
			*idsp = (struct blksnap_id *)ids;
			return (int)arg.count;
		}
		free(ids);
		ids = NULL;
		if (ret == 0)		/* more than the room: not the protocol */
			return -EPROTO;
		if (ret != -ENODATA)
			return ret;
		if (arg.count <= room)	/* too small, yet no more needed */
			return -EPROTO;
	}
	return -EAGAIN;
}

/* ---------------------------------------------------------------------- */

EXPORT int blksnap_dev_open(const char *path, struct blksnap_dev **devp)
{
	struct blksnap_dev *dev;
	struct stat st;
	int err;

	if (!path || !devp)
		return -EINVAL;
	dev = malloc(sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (dev->fd < 0) {
		err = -errno;
		goto out_free;
	}
	if (fstat(dev->fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISBLK(st.st_mode)) {
		err = -ENOTBLK;
		goto out_close;
	}
	*devp = dev;
	return 0;

out_close:
	close(dev->fd);
out_free:
	free(dev);
	return err;
}

EXPORT void blksnap_dev_close(struct blksnap_dev *dev)
{
	if (!dev)
		return;
	close(dev->fd);
	free(dev);
}

static void filter_name(struct blkfilter_name *n)
{
	memset(n, 0, sizeof(*n));
	memcpy(n->name, BLKSNAP_FILTER_NAME, sizeof(BLKSNAP_FILTER_NAME));
}

EXPORT int blksnap_attach(struct blksnap_dev *dev)
{
	struct blkfilter_name n;

	if (!dev)
		return -EINVAL;
	filter_name(&n);
	return xioctl(dev->fd, BLKFILTER_ATTACH, &n);
}

EXPORT int blksnap_detach(struct blksnap_dev *dev)
{
	struct blkfilter_name n;

	if (!dev)
		return -EINVAL;
	filter_name(&n);
	return xioctl(dev->fd, BLKFILTER_DETACH, &n);
}

static int filter_ctl(struct blksnap_dev *dev, unsigned int cmd,
		      void *opt, uint32_t optlen)
{
	struct blkfilter_ctl c;

	if (!dev)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	memcpy(c.name, BLKSNAP_FILTER_NAME, sizeof(BLKSNAP_FILTER_NAME));
	c.cmd = cmd;
	c.optlen = optlen;
	c.opt = (uintptr_t)opt;
	return xioctl(dev->fd, BLKFILTER_CTL, &c);
}

/* The tracker into info, all of this library's structure. */
static int cbt_info(struct blksnap_dev *dev, struct blksnap_cbt_info *info)
{
	struct blksnap_cbtinfo ci;
	int ret;

	memset(&ci, 0, sizeof(ci));
	ret = filter_ctl(dev, blkfilter_ctl_blksnap_cbtinfo, &ci, sizeof(ci));
	if (ret < 0)
		return ret;
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->device_size = ci.device_capacity;
	info->block_size = ci.block_size;
	info->block_count = ci.block_count;
	memcpy(info->generation.b, ci.generation_id.b, 16);
	info->changes_number = ci.changes_number;
	return 0;
}

EXPORT int blksnap_cbt_info(struct blksnap_dev *dev,
			    struct blksnap_cbt_info *info)
{
	struct blksnap_cbt_info ci;
	int ret;

	ret = ext_check(info, BLKSNAP_CBT_INFO_SIZE_VER0);
	if (ret < 0)
		return ret;
	ret = cbt_info(dev, &ci);
	if (ret < 0)
		return ret;
	ext_copy(info, &ci, sizeof(ci));
	return 0;
}

EXPORT int blksnap_cbt_map_read(struct blksnap_dev *dev, uint32_t offset,
				void *buf, uint32_t len)
{
	struct blksnap_cbtmap m;

	if (!buf && len)
		return -EINVAL;
	if (len > INT_MAX)
		len = INT_MAX;
	m.offset = offset;
	m.length = len;
	m.buffer = (uintptr_t)buf;
	return filter_ctl(dev, blkfilter_ctl_blksnap_cbtmap, &m, sizeof(m));
}

EXPORT int blksnap_cbt_map(struct blksnap_dev *dev,
			   struct blksnap_cbt_info *info, uint8_t **mapp)
{
	struct blksnap_cbt_info ci;
	uint8_t *map = NULL;
	uint32_t off = 0;
	int ret;

	if (!mapp || ext_check(info, BLKSNAP_CBT_INFO_SIZE_VER0) < 0)
		return -EINVAL;
	ret = cbt_info(dev, &ci);
	if (ret < 0)
		return ret;
	if (ci.block_count) {
		map = malloc(ci.block_count);
		if (!map)
			return -ENOMEM;
	}
	while (off < ci.block_count) {
		ret = blksnap_cbt_map_read(dev, off, map + off,
					   ci.block_count - off);
		if (ret < 0)
			goto fail;
		if (ret == 0 || (uint32_t)ret > ci.block_count - off) {
			ret = -EIO;
			goto fail;
		}
		off += (uint32_t)ret;
	}
	ext_copy(info, &ci, sizeof(ci));
	*mapp = map;
	return 0;

fail:
	free(map);
	return ret;
}

EXPORT int blksnap_cbt_restore(struct blksnap_dev *dev,
			       const struct blksnap_cbt_info *info,
			       const uint8_t *map)
{
	struct blksnap_cbtrestore r;

	if (ext_check(info, BLKSNAP_CBT_INFO_SIZE_VER0) < 0 || !map ||
	    !info->block_count || info->changes_number > UINT8_MAX - 1)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.device_capacity = info->device_size;
	r.block_size = info->block_size;
	r.block_count = info->block_count;
	memcpy(r.generation_id.b, info->generation.b, 16);
	r.changes_number = (uint8_t)info->changes_number;
	r.map = (uintptr_t)map;
	return filter_ctl(dev, blkfilter_ctl_blksnap_cbtrestore, &r, sizeof(r));
}

/* The kernel's log state into the caller's log, if any (checked). */
static void cbt_log_out(struct blksnap_cbt_log *log,
			const struct blksnap_cbtlog *a, uint64_t device_size)
{
	struct blksnap_cbt_log out;

	if (!log)
		return;
	memset(&out, 0, sizeof(out));
	out.state = a->state;
	out.error = a->error;
	out.changes_number = a->changes_number;
	memcpy(out.generation.b, a->generation_id.b, 16);
	out.region_size = a->region_size;
	out.region_count = a->region_count;
	out.log_size = a->log_size;
	out.sequence = a->sequence;
	out.device_size = device_size;
	ext_copy(log, &out, sizeof(out));
}

/* A cbtlog command with a (op and inputs set); fills in log. */
static int cbt_log_ctl(struct blksnap_dev *dev, struct blksnap_cbtlog *a,
		       struct blksnap_cbt_log *log)
{
	struct blksnap_cbt_info ci;
	int ret;

	if (log && ext_check(log, BLKSNAP_CBT_LOG_SIZE_VER0) < 0)
		return -EINVAL;
	a->size = sizeof(*a);
	ret = filter_ctl(dev, blkfilter_ctl_blksnap_cbtlog, a, sizeof(*a));
	if (ret < 0)
		return ret;
	if (log) {
		ret = cbt_info(dev, &ci);
		cbt_log_out(log, a, ret < 0 ? 0 : ci.device_size);
	}
	return 0;
}

EXPORT int blksnap_cbt_log_state(struct blksnap_dev *dev,
				 uint64_t region_size,
				 struct blksnap_cbt_log *log)
{
	struct blksnap_cbtlog a;

	if (!log)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	a.op = blksnap_cbtlog_status;
	a.region_size = region_size;
	return cbt_log_ctl(dev, &a, log);
}

EXPORT int blksnap_cbt_log_attach(struct blksnap_dev *dev, int fd,
				  uint64_t region_size,
				  struct blksnap_cbt_log *log)
{
	struct blksnap_cbtlog a;

	if (fd < 0)
		return -EBADF;
	memset(&a, 0, sizeof(a));
	a.op = blksnap_cbtlog_attach;
	a.fd = (uint32_t)fd;
	a.region_size = region_size;
	return cbt_log_ctl(dev, &a, log);
}

EXPORT int blksnap_cbt_log_detach(struct blksnap_dev *dev)
{
	struct blksnap_cbtlog a;

	memset(&a, 0, sizeof(a));
	a.op = blksnap_cbtlog_detach;
	return cbt_log_ctl(dev, &a, NULL);
}

EXPORT int blksnap_cbt_log_checkpoint(struct blksnap_dev *dev,
				      const struct blksnap_cbt_info *saved,
				      struct blksnap_cbt_log *log)
{
	struct blksnap_cbtlog a;

	if (ext_check(saved, BLKSNAP_CBT_INFO_SIZE_VER0) < 0 ||
	    saved->changes_number > UINT8_MAX)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	a.op = blksnap_cbtlog_checkpoint;
	memcpy(a.generation_id.b, saved->generation.b, 16);
	a.changes_number = (uint8_t)saved->changes_number;
	return cbt_log_ctl(dev, &a, log);
}

/* CRC-32 as zlib's crc32() computes it: reflected, polynomial 0xedb88320. */
static uint32_t log_crc32(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* Read len bytes at off of fd into buf, aligned for O_DIRECT by the
 * caller; -EIO at an early end. */
static int read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

EXPORT int blksnap_cbt_log_read(int fd, struct blksnap_cbt_log *log,
				uint8_t **bitsp)
{
	struct blksnap_cbtlog_header h;
	struct blksnap_cbt_log out;
	uint64_t count, region, cap;
	size_t nbytes, padded;
	uint8_t *buf = NULL, *bits;
	int ret;

	if (fd < 0 || !bitsp || ext_check(log, BLKSNAP_CBT_LOG_SIZE_VER0) < 0)
		return -EINVAL;
	if (posix_memalign((void **)&buf, 4096, BLKSNAP_CBTLOG_HEADER_SIZE))
		return -ENOMEM;
	ret = read_full(fd, buf, BLKSNAP_CBTLOG_HEADER_SIZE, 0);
	if (ret < 0)
		goto out;
	memcpy(&h, buf, sizeof(h));
	ret = -EBADMSG;
	if (memcmp(h.magic, BLKSNAP_CBTLOG_MAGIC, sizeof(h.magic)) ||
	    log_crc32(buf, offsetof(struct blksnap_cbtlog_header, header_crc)) !=
	    le32toh(h.header_crc))
		goto out;
	if (le32toh(h.version) != BLKSNAP_CBTLOG_VERSION) {
		ret = -EPROTO;
		goto out;
	}
	count = le64toh(h.region_count);
	region = le64toh(h.region_size);
	cap = le64toh(h.device_capacity);
	if (le32toh(h.header_size) != BLKSNAP_CBTLOG_HEADER_SIZE || !region ||
	    (region & (region - 1)) || !count ||
	    count != (cap ? (cap - 1) / region + 1 : 1) ||
	    count > (uint64_t)SIZE_MAX / 2)
		goto out;
	nbytes = (size_t)((count + 7) / 8);
	padded = (nbytes + 4095) / 4096 * 4096;
	free(buf);
	buf = NULL;
	ret = -ENOMEM;
	if (posix_memalign((void **)&buf, 4096, padded))
		goto out;
	ret = read_full(fd, buf, padded, BLKSNAP_CBTLOG_HEADER_SIZE);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	bits = malloc(nbytes);
	if (!bits)
		goto out;
	memcpy(bits, buf, nbytes);
	memset(&out, 0, sizeof(out));
	out.changes_number = h.changes_number;
	memcpy(out.generation.b, h.generation_id.b, 16);
	out.region_size = region;
	out.region_count = count;
	out.log_size = BLKSNAP_CBTLOG_HEADER_SIZE + padded;
	out.sequence = le64toh(h.sequence);
	out.device_size = cap;
	ext_copy(log, &out, sizeof(out));
	*bitsp = bits;
	ret = 0;
out:
	free(buf);
	return ret;
}

EXPORT int blksnap_cbt_mark_dirty(struct blksnap_dev *dev,
				  const struct blksnap_range *ranges,
				  uint32_t count)
{
	struct blksnap_cbtdirty d;
	struct blksnap_sectors *s = NULL;
	uint32_t i;
	int ret;

	if (count && !ranges)
		return -EINVAL;
	if (count) {
		s = calloc(count, sizeof(*s));
		if (!s)
			return -ENOMEM;
		for (i = 0; i < count; i++) {
			s[i].offset = ranges[i].offset;
			s[i].count = ranges[i].count;
		}
	}
	memset(&d, 0, sizeof(d));
	d.count = count;
	d.dirty_sectors = (uintptr_t)s;
	ret = filter_ctl(dev, blkfilter_ctl_blksnap_cbtdirty, &d, sizeof(d));
	free(s);
	return ret;
}

EXPORT int blksnap_image_info(struct blksnap_dev *dev,
			      struct blksnap_image_info *info)
{
	struct blksnap_snapshotinfo si;
	struct blksnap_image_info out;
	int ret;

	ret = ext_check(info, BLKSNAP_IMAGE_INFO_SIZE_VER0);
	if (ret < 0)
		return ret;
	memset(&si, 0, sizeof(si));
	ret = filter_ctl(dev, blkfilter_ctl_blksnap_snapshotinfo, &si,
			 sizeof(si));
	if (ret < 0)
		return ret;
	memset(&out, 0, sizeof(out));
	out.error = si.error_code;
	memcpy(out.image, si.image, IMAGE_DISK_NAME_LEN);
	out.image[IMAGE_DISK_NAME_LEN] = '\0';
	ext_copy(info, &out, sizeof(out));
	return 0;
}

/* ---------------------------------------------------------------------- */

static int snapshot_new(struct blksnap_ctl *ctl, const struct blksnap_id *id,
			struct blksnap_snapshot **snapp)
{
	struct blksnap_snapshot *snap = calloc(1, sizeof(*snap));

	if (!snap)
		return -ENOMEM;
	snap->ctl = ctl;
	snap->id = *id;
	*snapp = snap;
	return 0;
}

/* The default limit: a block device's size, or the free space of a
 * file's file system. */
static int default_limit(int fd, uint64_t *limit)
{
	struct statvfs sv;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, limit) < 0)
			return -errno;
	} else {
		if (fstatvfs(fd, &sv) < 0)
			return -errno;
		/* Room beyond what the file holds already. */
		*limit = (uint64_t)sv.f_bavail * sv.f_frsize +
			 (uint64_t)st.st_blocks * 512;
	}
	if (*limit < 512)
		return -ENOSPC;
	return 0;
}

EXPORT int blksnap_snapshot_create_fd(struct blksnap_ctl *ctl, int fd,
				      uint64_t limit,
				      struct blksnap_snapshot **snapp)
{
	struct blksnap_snapshot_create arg;
	struct blksnap_id id;
	int ret;

	if (!ctl || !snapp || fd < 0)
		return -EINVAL;
	if (limit == 0) {
		ret = default_limit(fd, &limit);
		if (ret < 0)
			return ret;
	}
	if (limit / 512 == 0)
		return -EINVAL;
	memset(&arg, 0, sizeof(arg));
	arg.diff_storage_limit_sect = limit / 512;
	arg.diff_storage_fd = (uint32_t)fd;
	ret = xioctl(ctl->fd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &arg);
	if (ret < 0)
		return ret;
	memcpy(id.b, arg.id.b, 16);
	return snapshot_new(ctl, &id, snapp);
}

/* Open the difference storage at path as blksnap_snapshot_create() says;
 * *created is set when a new named file was made. */
static int open_storage(const char *path, int *created)
{
	struct stat st;
	int fd;

	*created = 0;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		*created = 1;
		return fd;
	}
	if (S_ISDIR(st.st_mode))
		fd = open(path, O_RDWR | O_TMPFILE | O_EXCL | O_CLOEXEC, 0600);
	else if (S_ISBLK(st.st_mode))
		fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
	else if (S_ISREG(st.st_mode))
		fd = open(path, O_RDWR | O_CLOEXEC);
	else
		return -EINVAL;
	return fd < 0 ? -errno : fd;
}

EXPORT int blksnap_snapshot_create(struct blksnap_ctl *ctl, const char *storage,
				   uint64_t limit,
				   struct blksnap_snapshot **snapp)
{
	int created, fd, ret;

	if (!ctl || !storage || !*storage || !snapp)
		return -EINVAL;
	if (limit && limit < 512)
		return -EINVAL;
	fd = open_storage(storage, &created);
	if (fd < 0)
		return fd;
	ret = blksnap_snapshot_create_fd(ctl, fd, limit, snapp);
	close(fd);
	if (ret < 0) {
		if (created)
			unlink(storage);
		return ret;
	}
	(*snapp)->storage_created = created;
	return 0;
}

EXPORT int blksnap_snapshot_open(struct blksnap_ctl *ctl,
				 const struct blksnap_id *id,
				 struct blksnap_snapshot **snapp)
{
	if (!ctl || !id || !snapp)
		return -EINVAL;
	return snapshot_new(ctl, id, snapp);
}

EXPORT void blksnap_snapshot_free(struct blksnap_snapshot *snap)
{
	free(snap);
}

EXPORT void blksnap_snapshot_id(const struct blksnap_snapshot *snap,
				struct blksnap_id *id)
{
	*id = snap->id;
}

EXPORT int blksnap_snapshot_storage_created(const struct blksnap_snapshot *snap)
{
	return snap->storage_created;
}

EXPORT int blksnap_snapshot_add(struct blksnap_snapshot *snap,
				struct blksnap_dev *dev)
{
	struct blksnap_snapshotadd a;
	int ret;

	if (!snap || !dev)
		return -EINVAL;
	ret = blksnap_attach(dev);
	if (ret < 0 && ret != -EALREADY)
		return ret;
	memset(&a, 0, sizeof(a));
	memcpy(a.id.b, snap->id.b, 16);
	return filter_ctl(dev, blkfilter_ctl_blksnap_snapshotadd, &a, sizeof(a));
}

static int snapshot_id_ioctl(struct blksnap_snapshot *snap, unsigned long req)
{
	struct blksnap_uuid u;

	if (!snap)
		return -EINVAL;
	memcpy(u.b, snap->id.b, 16);
	return xioctl(snap->ctl->fd, req, &u);
}

EXPORT int blksnap_snapshot_take(struct blksnap_snapshot *snap)
{
	return snapshot_id_ioctl(snap, IOCTL_BLKSNAP_SNAPSHOT_TAKE);
}

EXPORT int blksnap_snapshot_destroy(struct blksnap_snapshot *snap)
{
	return snapshot_id_ioctl(snap, IOCTL_BLKSNAP_SNAPSHOT_DESTROY);
}

EXPORT int blksnap_snapshot_wait_event(struct blksnap_snapshot *snap,
				       uint32_t timeout_ms,
				       struct blksnap_event *ev)
{
	struct blksnap_snapshot_event *e;
	struct blksnap_event_corrupted c;
	struct blksnap_event out;
	int ret;

	if (!snap || ext_check(ev, BLKSNAP_EVENT_SIZE_VER0) < 0)
		return -EINVAL;
	/* 4 KiB: too big for comfort on small thread stacks. */
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	memcpy(e->id.b, snap->id.b, 16);
	e->timeout_ms = timeout_ms;
	ret = xioctl(snap->ctl->fd, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, e);
	if (ret >= 0) {
		memset(&out, 0, sizeof(out));
		out.code = e->code;
		out.time_ns = e->time_label;	/* CLOCK_MONOTONIC */
		if (e->code == blksnap_event_code_corrupted) {
			memcpy(&c, e->data, sizeof(c));
			out.dev_major = c.dev_id_mj;
			out.dev_minor = c.dev_id_mn;
			out.error = c.err_code;	/* positive, as given */
		}
		ext_copy(ev, &out, sizeof(out));
		ret = 0;
	}
	free(e);
	return ret;
}
