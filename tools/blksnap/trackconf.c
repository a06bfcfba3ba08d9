// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8) track: the configuration file, blksnap-tracking.conf(5), and
 * finding its devices.
 *
 * A line is blank, a comment (# first), or a keyword and its words,
 * separated by blanks:
 *
 *	state-dir DIR
 *	storage PATH
 *	limit SIZE
 *	device SPEC [storage=PATH] [limit=SIZE] [identity=ID] [log=PATH]
 *		[log-region=SIZE]
 *
 * SPEC is an absolute path or TAG=VALUE (UUID, PARTUUID, LABEL, PARTLABEL:
 * udev's /dev/disk/by-TAG links; IDENTITY: the identity of the state
 * files, looked up in sysfs).  Errors name the file and line.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "blksnap-tool.h"

#define CONF_LINE_MAX	4096

/* TAG=VALUE of a device: its folder of udev links, or NULL for IDENTITY. */
static const struct {
	const char *tag, *dir;
} conf_tags[] = {
	{ "UUID", "/dev/disk/by-uuid" },
	{ "PARTUUID", "/dev/disk/by-partuuid" },
	{ "LABEL", "/dev/disk/by-label" },
	{ "PARTLABEL", "/dev/disk/by-partlabel" },
	{ "IDENTITY", NULL },
};

static int conf_error(const char *file, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int conf_error(const char *file, unsigned int line, const char *fmt, ...)
{
	char msg[CONF_LINE_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s:%u: %s\n", prog_name, file, line, msg);
	return -EINVAL;
}

/* A copy of s into a field of len bytes; -ENAMETOOLONG if it does not fit. */
static int conf_copy(char *dst, size_t len, const char *s)
{
	if (strlen(s) >= len)
		return -ENAMETOOLONG;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* SPEC is a path or a known TAG= with a value. */
static int conf_spec_ok(const char *spec, char *why, size_t len)
{
	const char *eq = strchr(spec, '=');
	size_t i;

	if (spec[0] == '/')
		return 0;
	if (!eq) {
		snprintf(why, len, "device '%s': not an absolute path nor TAG=VALUE", spec);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(conf_tags); i++) {
		if (strlen(conf_tags[i].tag) == (size_t)(eq - spec) &&
		    !strncmp(spec, conf_tags[i].tag, (size_t)(eq - spec))) {
			if (!eq[1]) {
				snprintf(why, len, "device '%s': empty value", spec);
				return -EINVAL;
			}
			return 0;
		}
	}
	snprintf(why, len, "device '%s': unknown tag '%.*s' (UUID, PARTUUID, LABEL, PARTLABEL or IDENTITY)",
		 spec, (int)(eq - spec), spec);
	return -EINVAL;
}

/* The words of a device line after its SPEC: KEY=VALUE options. */
static int conf_dev_option(struct track_dev *d, const char *w, const char *file,
			   unsigned int line)
{
	const char *v = strchr(w, '=');

	if (!v || v == w || !v[1])
		return conf_error(file, line, "'%s': an option of a device is KEY=VALUE", w);
	v++;
	if (!strncmp(w, "storage=", 8)) {
		if (*v != '/')
			return conf_error(file, line, "storage '%s': not an absolute path", v);
		if (conf_copy(d->storage, sizeof(d->storage), v) < 0)
			return conf_error(file, line, "storage path too long");
	} else if (!strncmp(w, "limit=", 6)) {
		if (parse_size(v, &d->limit) < 0 || d->limit < 512)
			return conf_error(file, line, "invalid limit '%s' (a size of at least 512 bytes, K, M, G or T suffix)", v);
	} else if (!strncmp(w, "identity=", 9)) {
		if (conf_copy(d->identity, sizeof(d->identity), v) < 0)
			return conf_error(file, line, "identity longer than %d bytes", STATE_ID_MAX);
	} else if (!strncmp(w, "log=", 4)) {
		if (*v != '/')
			return conf_error(file, line, "log '%s': not an absolute path", v);
		if (conf_copy(d->log, sizeof(d->log), v) < 0)
			return conf_error(file, line, "log path too long");
	} else if (!strncmp(w, "log-region=", 11)) {
		if (parse_size(v, &d->log_region) < 0 || d->log_region < LOG_REGION_MIN ||
		    d->log_region > LOG_REGION_MAX || (d->log_region & (d->log_region - 1)))
			return conf_error(file, line, "invalid log-region '%s' (a power of two from 1M to 1T)",
					  v);
	} else {
		return conf_error(file, line, "unknown option '%.*s' of a device (storage, limit, identity, log or log-region)",
				  (int)(v - 1 - w), w);
	}
	return 0;
}

/* One line cut into words: 0 or -EINVAL (reported). */
static int conf_line(struct track_conf *c, char **w, int n, const char *file,
		     unsigned int line, bool *seen)
{
	static const char *const once[] = { "state-dir", "storage", "limit" };
	char why[CONF_LINE_MAX + 128];
	struct track_dev *d;
	size_t k;
	int i;

	for (k = 0; k < ARRAY_SIZE(once); k++) {
		if (strcmp(w[0], once[k]))
			continue;
		if (n != 2)
			return conf_error(file, line, "%s takes one %s", w[0],
					  k == 2 ? "size" : "absolute path");
		if (seen[k])
			return conf_error(file, line, "%s given twice", w[0]);
		seen[k] = true;
		if (k == 2) {
			if (parse_size(w[1], &c->limit) < 0 || c->limit < 512)
				return conf_error(file, line, "invalid limit '%s' (a size of at least 512 bytes, K, M, G or T suffix)",
						  w[1]);
			return 0;
		}
		if (w[1][0] != '/')
			return conf_error(file, line, "%s '%s': not an absolute path", w[0], w[1]);
		if (conf_copy(k ? c->storage : c->state_dir, PATH_MAX, w[1]) < 0)
			return conf_error(file, line, "%s: path too long", w[0]);
		return 0;
	}
	if (strcmp(w[0], "device"))
		return conf_error(file, line, "unknown keyword '%s' (state-dir, storage, limit or device)",
				  w[0]);
	if (n < 2)
		return conf_error(file, line, "device: missing the device (a path or TAG=VALUE)");
	if (conf_spec_ok(w[1], why, sizeof(why)) < 0)
		return conf_error(file, line, "%s", why);
	for (k = 0; k < c->n; k++)
		if (!strcmp(c->devs[k].spec, w[1]))
			return conf_error(file, line, "device '%s' already on line %u",
					  w[1], c->devs[k].line);
	d = reallocarray(c->devs, c->n + 1, sizeof(*d));
	if (!d) {
		errmsg(file, ENOMEM, "cannot read");
		return -ENOMEM;
	}
	c->devs = d;
	d = &c->devs[c->n];
	memset(d, 0, sizeof(*d));
	d->line = line;
	if (conf_copy(d->spec, sizeof(d->spec), w[1]) < 0)
		return conf_error(file, line, "device: too long");
	for (i = 2; i < n; i++)
		if (conf_dev_option(d, w[i], file, line) < 0)
			return -EINVAL;
	if (d->log_region && !d->log[0])
		return conf_error(file, line, "log-region without log");
	for (k = 0; d->log[0] && k < c->n; k++)
		if (!strcmp(c->devs[k].log, d->log))
			return conf_error(file, line, "log '%s' already the log of line %u",
					  d->log, c->devs[k].line);
	c->n++;
	return 0;
}

int track_conf_read(const char *file, struct track_conf *c)
{
	bool seen[3] = { false, false, false };
	char buf[CONF_LINE_MAX + 2], *w[16], *p, *save;
	unsigned int line = 0;
	int n, err, ret = 0;
	FILE *f;

	memset(c, 0, sizeof(*c));
	f = fopen(file, "re");
	if (!f) {
		ret = -errno;
		errmsg(file, ret, "cannot open the configuration");
		return ret;
	}
	/* Every bad line is reported; an error of memory stops at once. */
	while (ret != -ENOMEM && fgets(buf, sizeof(buf), f)) {
		line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			ret = conf_error(file, line, "line longer than %d bytes", CONF_LINE_MAX);
			break;
		}
		p = buf + strspn(buf, " \t\r\n");
		if (!*p || *p == '#')
			continue;
		for (n = 0, p = strtok_r(p, " \t\r\n", &save); p && n <= (int)ARRAY_SIZE(w);
		     p = strtok_r(NULL, " \t\r\n", &save))
			if (n++ < (int)ARRAY_SIZE(w))
				w[n - 1] = p;
		if (n > (int)ARRAY_SIZE(w))
			err = conf_error(file, line, "more than %zu words", ARRAY_SIZE(w));
		else
			err = conf_line(c, w, n, file, line, seen);
		if (err && !ret)
			ret = err;
	}
	if (ret != -ENOMEM && ferror(f))
		ret = -EIO;
	if (ret == -EIO)
		errmsg(file, ret, "cannot read");
	fclose(f);
	if (ret)
		track_conf_free(c);
	return ret;
}

void track_conf_free(struct track_conf *c)
{
	free(c->devs);
	c->devs = NULL;
	c->n = 0;
}

/* udev's encoding of a name in /dev/disk/by-*: bytes other than letters,
 * digits and #+-.:=@_ as \xNN. */
static void conf_udev_encode(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	for (; *s && n + 5 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || strchr("#+-.:=@_", ch) || ch >= 0x80)
			buf[n++] = (char)ch;
		else
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", ch);
	}
	buf[n] = '\0';
}

/* The /dev node of the block device whose identity is id: -ENOENT if
 * none. */
static int conf_find_identity(const char *id, char *path, size_t len)
{
	char dev[PATH_MAX], have[STATE_ID_MAX + 1];
	struct dirent *e;
	int ret = -ENOENT;
	DIR *dir;

	dir = opendir("/sys/class/block");
	if (!dir)
		return -ENOENT;
	while (ret && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
		if (device_identity(dev, have, sizeof(have)) == 0 && !strcmp(have, id)) {
			snprintf(path, len, "%s", dev);
			ret = 0;
		}
	}
	closedir(dir);
	return ret;
}

int track_dev_find(const struct track_dev *d, char *path, size_t len)
{
	const char *eq = strchr(d->spec, '=');
	char link[PATH_MAX + 64], name[PATH_MAX], real[PATH_MAX];
	struct stat st;
	size_t i;

	if (d->spec[0] == '/') {
		snprintf(link, sizeof(link), "%s", d->spec);
	} else {
		for (i = 0; i < ARRAY_SIZE(conf_tags); i++)
			if (!strncmp(d->spec, conf_tags[i].tag, (size_t)(eq - d->spec)) &&
			    strlen(conf_tags[i].tag) == (size_t)(eq - d->spec))
				break;
		if (i == ARRAY_SIZE(conf_tags))
			return -EINVAL;
		if (!conf_tags[i].dir)
			return conf_find_identity(eq + 1, path, len);
		conf_udev_encode(eq + 1, name, sizeof(name));
		snprintf(link, sizeof(link), "%s/%s", conf_tags[i].dir, name);
	}
	if (stat(link, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	/* The link's target, for messages that name the device. */
	snprintf(path, len, "%s", realpath(link, real) ? real : link);
	return 0;
}

const struct track_dev *track_conf_find(const struct track_conf *c, dev_t rdev)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (track_dev_find(&c->devs[i], path, sizeof(path)) == 0 &&
		    stat(path, &st) == 0 && st.st_rdev == rdev)
			return &c->devs[i];
	return NULL;
}
