// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8): the backup format.
 *
 * A backup directory holds, per device NAME and backup number SEQ
 * (printed as 6 digits):
 *   NAME.SEQ.meta    text, "key=value" lines; "complete=1" is the last
 *                    line and the file appears (rename) only when the
 *                    backup is complete;
 *   NAME.SEQ.img     full backup: the device image, sparse where zero;
 *                    incremental backup: the changed tracker blocks one
 *                    after the other, in the order of NAME.SEQ.blocks;
 *   NAME.SEQ.blocks  incremental backup only: the changed blocks as
 *                    "START COUNT" lines (tracker blocks, ascending).
 * An incremental backup names its base (base=SEQ); a chain is a full
 * backup and the incremental ones that follow it.  See blksnap(8).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "blksnap-tool.h"

#define MAX_CHAIN 100000

static void why_set(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* The backup name of a device: its path without "/dev/", '/' as '-', and
 * characters other than [A-Za-z0-9._+-] as '_'. */
int device_name(const char *path, char *name, size_t len)
{
	const char *p = path;
	size_t i = 0;

	if (strncmp(p, "/dev/", 5) == 0)
		p += 5;
	else if (strrchr(p, '/'))
		p = strrchr(p, '/') + 1;
	if (!*p || strlen(p) >= len || strlen(p) > META_NAME_MAX)
		return -EINVAL;
	for (; *p; p++) {
		char c = *p;

		if (c == '/')
			c = '-';
		else if (!isalnum((unsigned char)c) && !strchr("._+-", c))
			c = '_';
		name[i++] = c;
	}
	name[i] = '\0';
	if (name[0] == '.')
		name[0] = '_';
	return 0;
}

void file_name(char *buf, size_t len, const char *dir, const char *name,
	       unsigned int seq, const char *ext)
{
	snprintf(buf, len, "%s/%s.%06u.%s", dir, name, seq, ext);
}

/* Write the metadata: to a temporary name, fsync, rename, fsync dir. */
int meta_write(const char *dir, const struct meta *m)
{
	char path[4096 + 256], tmp[4096 + 300], gen[BLKSNAP_ID_STR_LEN];
	char date[64], bgen[BLKSNAP_ID_STR_LEN];
	struct tm tm;
	time_t t = (time_t)m->time;
	FILE *f;
	int ret;

	file_name(path, sizeof(path), dir, m->name, m->seq, "meta");
	snprintf(tmp, sizeof(tmp), "%s/.%s.%06u.meta.tmp.%d", dir, m->name,
		 m->seq, (int)getpid());
	f = file_create(tmp, 0644, &ret);
	if (!f)
		return ret;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	blksnap_id_format(&m->generation, gen);
	fprintf(f, "# blksnap backup metadata, see blksnap(8)\n");
	fprintf(f, "format=%u\n", META_FORMAT);
	fprintf(f, "name=%s\n", m->name);
	fprintf(f, "device=%s\n", m->device);
	fprintf(f, "sequence=%u\n", m->seq);
	fprintf(f, "type=%s\n", m->incremental ? "incremental" : "full");
	if (m->incremental) {
		fprintf(f, "base=%u\n", m->base_seq);
		fprintf(f, "base_changes_number=%u\n", m->base_changes_number);
		if (m->base_linked)
			fprintf(f, "base_generation=%s\n",
				blksnap_id_format(&m->base_generation, bgen));
	}
	fprintf(f, "device_size=%" PRIu64 "\n", m->device_size);
	fprintf(f, "block_size=%" PRIu32 "\n", m->block_size);
	fprintf(f, "block_count=%" PRIu32 "\n", m->block_count);
	fprintf(f, "generation=%s\n", gen);
	fprintf(f, "changes_number=%u\n", m->changes_number);
	fprintf(f, "changed_blocks=%" PRIu64 "\n", m->changed_blocks);
	fprintf(f, "data_size=%" PRIu64 "\n", m->data_size);
	fprintf(f, "bytes_copied=%" PRIu64 "\n", m->bytes_copied);
	fprintf(f, "snapshot=%s\n", m->snapshot);
	fprintf(f, "time=%lld\n", (long long)m->time);
	fprintf(f, "date=%s\n", date);
	fprintf(f, "verified=%d\n", m->verified ? 1 : 0);
	fprintf(f, "complete=1\n");
	return file_commit(f, tmp, path, dir);
}

static int num(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (!*v || (v[0] == '0' && v[1]))
		return -EINVAL;
	for (; *v; v++) {
		if (!isdigit((unsigned char)*v))
			return -EINVAL;
		if (x > (max - (uint64_t)(*v - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(*v - '0');
	}
	*out = x;
	return 0;
}

/* Bits of the keys seen, to tell which are missing. */
enum {
	K_FORMAT = 1 << 0, K_NAME = 1 << 1, K_SEQ = 1 << 2, K_TYPE = 1 << 3,
	K_BASE = 1 << 4, K_BASECN = 1 << 5, K_DEVSIZE = 1 << 6,
	K_BSIZE = 1 << 7, K_BCOUNT = 1 << 8, K_GEN = 1 << 9, K_CN = 1 << 10,
	K_CHANGED = 1 << 11, K_DSIZE = 1 << 12,
};

/* The numeric keys: the largest value, the field of struct meta it goes
 * to (32 or 64 bits), the key's bit (0: none). */
static const struct num_key {
	const char *key;
	uint64_t max;
	size_t off, size;
	unsigned int bit;
} num_keys[] = {
#define NUM_KEY(key, max, field, bit) \
	{ key, max, offsetof(struct meta, field), sizeof(((struct meta *)0)->field), bit }
	NUM_KEY("format", UINT32_MAX, format, K_FORMAT),
	NUM_KEY("sequence", META_SEQ_MAX, seq, K_SEQ),
	NUM_KEY("base", META_SEQ_MAX, base_seq, K_BASE),
	NUM_KEY("base_changes_number", 255, base_changes_number, K_BASECN),
	NUM_KEY("device_size", UINT64_MAX, device_size, K_DEVSIZE),
	NUM_KEY("block_size", UINT32_MAX, block_size, K_BSIZE),
	NUM_KEY("block_count", UINT32_MAX, block_count, K_BCOUNT),
	NUM_KEY("changes_number", 255, changes_number, K_CN),
	NUM_KEY("changed_blocks", UINT32_MAX, changed_blocks, K_CHANGED),
	NUM_KEY("data_size", UINT64_MAX, data_size, K_DSIZE),
	NUM_KEY("bytes_copied", UINT64_MAX, bytes_copied, 0),
	NUM_KEY("time", INT64_MAX, time, 0),
#undef NUM_KEY
};

_Static_assert(sizeof(unsigned int) == sizeof(uint32_t), "32-bit fields");

static const struct num_key *num_key(const char *key)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(num_keys); i++)
		if (strcmp(num_keys[i].key, key) == 0)
			return &num_keys[i];
	return NULL;
}

/* v, at most k->max, into its field of m. */
static void num_store(struct meta *m, const struct num_key *k, uint64_t v)
{
	char *p = (char *)m + k->off;
	uint32_t v32 = (uint32_t)v;

	if (k->size == sizeof(v))
		memcpy(p, &v, sizeof(v));
	else
		memcpy(p, &v32, sizeof(v32));
}

/*
 * Read and check one metadata file.  Returns 0, -errno for an I/O error,
 * or -EBADMSG with the reason in why.  An incomplete file (no final
 * "complete=1") is -EBADMSG too.
 */
int meta_read(const char *path, struct meta *m, char *why, size_t whylen)
{
	char line[4400];
	unsigned int seen = 0, lineno = 0;
	bool last_complete = false;
	uint64_t v;
	FILE *f;

	memset(m, 0, sizeof(*m));
	f = fopen(path, "re");
	if (!f) {
		int err = -errno;

		why_set(why, whylen, "%s", strerror(-err));
		return err;
	}
	while (fgets(line, sizeof(line), f)) {
		const struct num_key *k;
		char *eq, *key, *val;
		size_t n = strlen(line);

		lineno++;
		if (n == 0 || line[n - 1] != '\n') {
			why_set(why, whylen, "incomplete (line %u too long or unterminated)", lineno);
			goto bad;
		}
		line[n - 1] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		last_complete = false;
		eq = strchr(line, '=');
		if (!eq) {
			why_set(why, whylen, "line %u: no '='", lineno);
			goto bad;
		}
		*eq = '\0';
		key = line;
		val = eq + 1;
		k = num_key(key);
		if (k) {
			if (num(val, k->max, &v) < 0) {
				why_set(why, whylen, "line %u: bad %s '%s'", lineno, key, val);
				goto bad;
			}
			if (k->bit == K_FORMAT && v != META_FORMAT) {
				why_set(why, whylen, "format %llu not supported (this tool reads format %u)",
					(unsigned long long)v, META_FORMAT);
				goto bad;
			}
			num_store(m, k, v);
			seen |= k->bit;
		} else if (strcmp(key, "name") == 0) {
			if (!*val || strlen(val) > META_NAME_MAX || strchr(val, '/') || val[0] == '.') {
				why_set(why, whylen, "line %u: bad name", lineno);
				goto bad;
			}
			strcpy(m->name, val);
			seen |= K_NAME;
		} else if (strcmp(key, "device") == 0) {
			snprintf(m->device, sizeof(m->device), "%s", val);
		} else if (strcmp(key, "type") == 0) {
			if (strcmp(val, "full") == 0) {
				m->incremental = false;
			} else if (strcmp(val, "incremental") == 0) {
				m->incremental = true;
			} else {
				why_set(why, whylen, "line %u: bad type '%s'", lineno, val);
				goto bad;
			}
			seen |= K_TYPE;
		} else if (strcmp(key, "generation") == 0) {
			if (blksnap_id_parse(val, &m->generation) < 0) {
				why_set(why, whylen, "line %u: bad generation", lineno);
				goto bad;
			}
			seen |= K_GEN;
		} else if (strcmp(key, "base_generation") == 0) {
			if (blksnap_id_parse(val, &m->base_generation) < 0) {
				why_set(why, whylen, "line %u: bad base_generation", lineno);
				goto bad;
			}
			m->base_linked = true;
		} else if (strcmp(key, "snapshot") == 0) {
			snprintf(m->snapshot, sizeof(m->snapshot), "%s", val);
		} else if (strcmp(key, "verified") == 0) {
			m->verified = strcmp(val, "1") == 0;
		} else if (strcmp(key, "complete") == 0) {
			if (strcmp(val, "1") != 0) {
				why_set(why, whylen, "line %u: complete is not 1", lineno);
				goto bad;
			}
			last_complete = true;
		}
		/* Other keys: ignored, for later versions of format 1. */
	}
	if (ferror(f)) {
		int err = -errno;

		why_set(why, whylen, "%s", strerror(-err));
		fclose(f);
		return err ? err : -EIO;
	}
	fclose(f);
	if (!last_complete) {
		why_set(why, whylen, "incomplete (no final complete=1)");
		return -EBADMSG;
	}
	{
		unsigned int need = K_FORMAT | K_NAME | K_SEQ | K_TYPE | K_DEVSIZE |
				    K_BSIZE | K_BCOUNT | K_GEN | K_CN | K_CHANGED | K_DSIZE;
		static const char *const names[] = {
			"format", "name", "sequence", "type", "base",
			"base_changes_number", "device_size", "block_size",
			"block_count", "generation", "changes_number",
			"changed_blocks", "data_size",
		};
		unsigned int i;

		if (m->incremental)
			need |= K_BASE | K_BASECN;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if ((need & (1u << i)) && !(seen & (1u << i))) {
				why_set(why, whylen, "no %s", names[i]);
				return -EBADMSG;
			}
		}
	}
	if (m->block_size == 0 || (m->block_size & (m->block_size - 1)) ||
	    m->block_size < 512) {
		why_set(why, whylen, "block_size %u is not a power of two >= 512", m->block_size);
		return -EBADMSG;
	}
	if (m->device_size == 0 ||
	    (m->device_size + m->block_size - 1) / m->block_size != m->block_count) {
		why_set(why, whylen, "device_size %llu does not match %u blocks of %u bytes",
			(unsigned long long)m->device_size, m->block_count, m->block_size);
		return -EBADMSG;
	}
	if (!m->incremental && (m->data_size != m->device_size ||
				m->changed_blocks != m->block_count)) {
		why_set(why, whylen, "full backup whose data_size or changed_blocks is not the device's");
		return -EBADMSG;
	}
	if (m->incremental && m->changed_blocks > m->block_count) {
		why_set(why, whylen, "more changed blocks than blocks");
		return -EBADMSG;
	}
	if (m->incremental && m->base_seq >= m->seq) {
		why_set(why, whylen, "base %u is not before %u", m->base_seq, m->seq);
		return -EBADMSG;
	}
	m->complete = true;
	return 0;

bad:
	fclose(f);
	return -EBADMSG;
}

int blocks_write(int fd, const struct brange *r, size_t n)
{
	char buf[65536];
	size_t len = 0, i;
	uint64_t off = 0;
	int ret;

	len = (size_t)snprintf(buf, sizeof(buf), "# blksnap changed blocks: START COUNT\n");
	for (i = 0; i < n; i++) {
		if (len + 32 > sizeof(buf)) {
			ret = write_all(fd, buf, len, off);
			if (ret < 0)
				return ret;
			off += len;
			len = 0;
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u\n",
					r[i].start, r[i].count);
	}
	ret = write_all(fd, buf, len, off);
	if (ret < 0)
		return ret;
	return ftruncate(fd, (off_t)(off + len)) < 0 ? -errno : 0;
}

/* Bytes the given blocks hold on the device (the last one may be short). */
uint64_t ranges_bytes(const struct meta *m, const struct brange *r, size_t n)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t start = (uint64_t)r[i].start * m->block_size;
		uint64_t end = (uint64_t)(r[i].start + (uint64_t)r[i].count) * m->block_size;

		if (end > m->device_size)
			end = m->device_size;
		total += end - start;
	}
	return total;
}

/* Read and check NAME.SEQ.blocks against its metadata. */
int blocks_read(const char *path, const struct meta *m, struct brange **rp,
		size_t *np, char *why, size_t whylen)
{
	struct brange *r = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0, next = 0;
	char line[128];
	unsigned int lineno = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		int err = -errno;

		why_set(why, whylen, "%s: %s", path, strerror(-err));
		return err;
	}
	while (fgets(line, sizeof(line), f)) {
		char *sp;
		uint64_t s, c;
		size_t len = strlen(line);

		lineno++;
		if (len == 0 || line[len - 1] != '\n') {
			why_set(why, whylen, "%s: line %u: unterminated", path, lineno);
			goto bad;
		}
		line[len - 1] = '\0';
		if (line[0] == '#')
			continue;
		sp = strchr(line, ' ');
		if (!sp)
			goto badline;
		*sp = '\0';
		if (num(line, UINT32_MAX, &s) < 0 || num(sp + 1, UINT32_MAX, &c) < 0 || c == 0)
			goto badline;
		if (s < next || s + c > m->block_count) {
			why_set(why, whylen, "%s: line %u: range out of order or past the end",
				path, lineno);
			goto bad;
		}
		next = s + c;
		total += c;
		if (n == cap) {
			struct brange *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(r, cap * sizeof(*r));
			if (!nr) {
				fclose(f);
				free(r);
				return -ENOMEM;
			}
			r = nr;
		}
		r[n].start = (uint32_t)s;
		r[n].count = (uint32_t)c;
		n++;
	}
	fclose(f);
	if (total != m->changed_blocks) {
		why_set(why, whylen, "%s: %llu blocks listed, the metadata says %llu",
			path, (unsigned long long)total,
			(unsigned long long)m->changed_blocks);
		free(r);
		return -EBADMSG;
	}
	if (ranges_bytes(m, r, n) != m->data_size) {
		why_set(why, whylen, "%s: the blocks hold %llu bytes, the metadata says %llu",
			path, (unsigned long long)ranges_bytes(m, r, n),
			(unsigned long long)m->data_size);
		free(r);
		return -EBADMSG;
	}
	*rp = r;
	*np = n;
	return 0;

badline:
	why_set(why, whylen, "%s: line %u: not 'START COUNT'", path, lineno);
bad:
	fclose(f);
	free(r);
	return -EBADMSG;
}

/* SEQ of a file name NAME.SEQ.meta, or -1. */
static long meta_seq_of(const char *fname, const char *name)
{
	size_t nl = strlen(name), fl = strlen(fname);
	const char *p;
	long seq = 0;
	int i;

	/* NAME . 6 digits . meta */
	if (fl != nl + 1 + 6 + 5 || strncmp(fname, name, nl) != 0 ||
	    fname[nl] != '.' || strcmp(fname + nl + 7, ".meta") != 0)
		return -1;
	p = fname + nl + 1;
	for (i = 0; i < 6; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		seq = seq * 10 + (p[i] - '0');
	}
	return seq;
}

/*
 * The backups of NAME in dir: *max_seq the highest SEQ of any of its
 * .meta, .img or .blocks files (0 if none), *latest_complete the highest
 * SEQ whose metadata is complete (0 if none).
 */
int meta_scan(const char *dir, const char *name, unsigned int *max_seq,
	      unsigned int *latest_complete)
{
	size_t nl = strlen(name);
	struct dirent *de;
	DIR *d;

	*max_seq = 0;
	*latest_complete = 0;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *f = de->d_name;
		char path[4096 + 256], why[256];
		struct meta m;
		unsigned int seq = 0;
		int i;

		if (strncmp(f, name, nl) != 0 || f[nl] != '.')
			continue;
		for (i = 0; i < 6; i++) {
			if (!isdigit((unsigned char)f[nl + 1 + i]))
				break;
			seq = seq * 10 + (unsigned int)(f[nl + 1 + i] - '0');
		}
		if (i < 6 || f[nl + 7] != '.')
			continue;
		if (seq > *max_seq)
			*max_seq = seq;
		if (meta_seq_of(f, name) < 0 || seq <= *latest_complete)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		if (meta_read(path, &m, why, sizeof(why)) == 0 &&
		    strcmp(m.name, name) == 0 && m.seq == seq)
			*latest_complete = seq;
	}
	closedir(d);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct NAMEs of the .meta files in dir, sorted. */
int meta_names(const char *dir, char ***namesp, size_t *np)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *f = de->d_name;
		size_t fl = strlen(f), nl;
		char *nm;
		bool dup = false;

		if (f[0] == '.' || fl < 13 || strcmp(f + fl - 5, ".meta") != 0)
			continue;
		nl = fl - 12;
		nm = strndup(f, nl);
		if (!nm)
			goto nomem;
		if (meta_seq_of(f, nm) < 0) {
			free(nm);
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(names[i], nm) == 0)
				dup = true;
		if (dup) {
			free(nm);
			continue;
		}
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 8;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn) {
				free(nm);
				goto nomem;
			}
			names = nn;
		}
		names[n++] = nm;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	*namesp = names;
	*np = n;
	return 0;

nomem:
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return -ENOMEM;
}

void chain_free(struct chain *c)
{
	free(c->m);
	c->m = NULL;
	c->n = 0;
}

/*
 * The chain that ends with backup SEQ of NAME in dir: each backup
 * complete, each incremental one on its base's generation and changes
 * number, with the same device geometry, and every data file of the
 * expected size.  Returns 0, -ENOMEM, or -EBADMSG with the reason.
 */
int chain_load(const char *dir, const char *name, unsigned int seq,
	       struct chain *c, char *why, size_t whylen)
{
	char path[4096 + 256], sub[512];
	struct meta *ms = NULL, m;
	unsigned int n = 0, cap = 0, i;
	struct stat st;
	int ret;

	c->m = NULL;
	c->n = 0;
	for (;;) {
		file_name(path, sizeof(path), dir, name, seq, "meta");
		ret = meta_read(path, &m, sub, sizeof(sub));
		if (ret < 0) {
			why_set(why, whylen, "%s: %s", path, sub);
			goto fail;
		}
		if (strcmp(m.name, name) != 0 || m.seq != seq) {
			why_set(why, whylen, "%s: names %s.%06u", path, m.name, m.seq);
			goto fail;
		}
		if (n) {
			const struct meta *next = &ms[n - 1];

			if (m.device_size != next->device_size ||
			    m.block_size != next->block_size ||
			    m.block_count != next->block_count) {
				why_set(why, whylen, "%s: device size or tracker blocks differ from backup %u",
					path, next->seq);
				goto fail;
			}
			/* A base of an older generation that the tracker
			 * continued after a crash: next holds the changes since
			 * an older number, a superset (see backup.c). */
			if (next->base_linked) {
				if (memcmp(&m.generation, &next->base_generation,
					   sizeof(m.generation)) != 0 ||
				    next->base_changes_number > m.changes_number) {
					why_set(why, whylen, "%s: generation %s and changes number %u, backup %u expects those of its base",
						path, blksnap_id_format(&m.generation, sub),
						m.changes_number, next->seq);
					goto fail;
				}
			} else if (memcmp(&m.generation, &next->generation, sizeof(m.generation)) != 0) {
				why_set(why, whylen, "%s: generation differs from that of backup %u",
					path, next->seq);
				goto fail;
			} else if (m.changes_number != next->base_changes_number ||
			    m.changes_number >= next->changes_number) {
				why_set(why, whylen, "%s: changes number %u, backup %u expects %u",
					path, m.changes_number, next->seq,
					next->base_changes_number);
				goto fail;
			}
		}
		file_name(path, sizeof(path), dir, name, seq, "img");
		if (stat(path, &st) < 0) {
			why_set(why, whylen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != m.data_size) {
			why_set(why, whylen, "%s: size %llu, the metadata says %llu",
				path, (unsigned long long)st.st_size,
				(unsigned long long)m.data_size);
			goto fail;
		}
		if (n == cap) {
			struct meta *nm;

			cap = cap ? cap * 2 : 8;
			nm = realloc(ms, cap * sizeof(*ms));
			if (!nm) {
				free(ms);
				return -ENOMEM;
			}
			ms = nm;
		}
		ms[n++] = m;
		if (!m.incremental)
			break;
		if (n >= MAX_CHAIN) {
			why_set(why, whylen, "chain longer than %u", MAX_CHAIN);
			goto fail;
		}
		seq = m.base_seq;
	}
	/* Oldest first. */
	for (i = 0; i < n / 2; i++) {
		m = ms[i];
		ms[i] = ms[n - 1 - i];
		ms[n - 1 - i] = m;
	}
	/* The block lists are read again when restoring; check them now. */
	for (i = 1; i < n; i++) {
		struct brange *r;
		size_t nr;

		file_name(path, sizeof(path), dir, name, ms[i].seq, "blocks");
		ret = blocks_read(path, &ms[i], &r, &nr, why, whylen);
		if (ret == -ENOMEM) {
			free(ms);
			return ret;
		}
		if (ret < 0) {
			if (ret != -EBADMSG)
				why_set(why, whylen, "%s: %s", path, strerror(-ret));
			goto fail;
		}
		free(r);
	}
	c->m = ms;
	c->n = n;
	return 0;

fail:
	free(ms);
	return -EBADMSG;
}
