// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8) restore and list: write a chain of backups back, show the
 * backups of a directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "blksnap-tool.h"

#define BUF_SIZE	(1u << 20)

struct restore {
	const char *dir;
	const char *name;
	struct chain c;
	const char *target;	/* as given */
	char tmp[4400];		/* regular file: written here, then renamed */
	int fd;
	bool is_file, progress, quiet;
	uint64_t total, done;
	double start, last;
	unsigned char *buf;
};

static void rprogress(struct restore *r, bool end)
{
	char s1[32], s2[32];
	double now = now_seconds(), rate, left;

	if (!r->progress)
		return;
	if (end) {
		fprintf(stderr, "\r\033[K");
		return;
	}
	if (now - r->last < 0.5)
		return;
	r->last = now;
	rate = now > r->start ? (double)r->done / (now - r->start) : 0;
	left = rate > 0 ? (double)(r->total - r->done) / rate : 0;
	fprintf(stderr, "\r%s: %s: %s of %s, %d:%02d left \033[K", prog_name, r->target,
		human_size(r->done, s1, sizeof(s1)), human_size(r->total, s2, sizeof(s2)),
		(int)(left / 60), (int)left % 60);
}

/* Copy len bytes from src at soff to the target at doff; with skip_zero
 * (a fresh file) zero grains are left as holes. */
static int rcopy(struct restore *r, int src, const char *srcname, uint64_t soff,
		 uint64_t len, uint64_t doff, bool skip_zero)
{
	int ret;

	while (len) {
		size_t n = len < BUF_SIZE ? (size_t)len : BUF_SIZE;

		if (stop_signal) {
			rprogress(r, true);
			errmsg(r->target, 0, "interrupted by signal %d", (int)stop_signal);
			return -1;
		}
		ret = read_all(src, r->buf, n, soff);
		if (ret < 0) {
			rprogress(r, true);
			errmsg(srcname, ret == -ENODATA ? -EIO : ret, "cannot read");
			return -1;
		}
		if (!skip_zero || !all_zero(r->buf, n)) {
			ret = write_all(r->fd, r->buf, n, doff);
			if (ret < 0) {
				rprogress(r, true);
				errmsg(r->target, ret, "cannot write");
				return -1;
			}
		}
		r->done += n;
		rprogress(r, false);
		soff += n;
		doff += n;
		len -= n;
	}
	return 0;
}

static int apply(struct restore *r)
{
	char path[4400], why[4400];
	unsigned int i;
	int src, ret;

	for (i = 0; i < r->c.n; i++) {
		const struct meta *m = &r->c.m[i];
		struct brange *br = NULL;
		size_t nbr = 0, k;
		uint64_t off = 0;

		file_name(path, sizeof(path), r->dir, r->name, m->seq, "img");
		src = open(path, O_RDONLY | O_CLOEXEC);
		if (src < 0) {
			errmsg(path, errno, "cannot open");
			return -1;
		}
		posix_fadvise(src, 0, 0, POSIX_FADV_SEQUENTIAL);
		if (!m->incremental) {
			ret = rcopy(r, src, path, 0, m->device_size, 0, r->is_file);
			close(src);
			if (ret < 0)
				return -1;
			continue;
		}
		file_name(why, sizeof(why), r->dir, r->name, m->seq, "blocks");
		ret = blocks_read(why, m, &br, &nbr, why, sizeof(why));
		if (ret < 0) {
			close(src);
			errmsg(NULL, 0, "%s", why);
			return -1;
		}
		for (k = 0; k < nbr; k++) {
			uint64_t s = (uint64_t)br[k].start * m->block_size;
			uint64_t e = ((uint64_t)br[k].start + br[k].count) * m->block_size;

			if (e > m->device_size)
				e = m->device_size;
			if (rcopy(r, src, path, off, e - s, s, false) < 0) {
				free(br);
				close(src);
				return -1;
			}
			off += e - s;
		}
		free(br);
		close(src);
	}
	return 0;
}

/* Open the target: a block device as it is (O_EXCL), a regular file as a
 * new temporary file beside it. */
static int open_target(struct restore *r, uint64_t size)
{
	struct stat st;
	char *copy, *dir;
	int fd;

	if (stat(r->target, &st) < 0) {
		if (errno != ENOENT) {
			errmsg(r->target, errno, "cannot use as target");
			return -1;
		}
	} else if (S_ISBLK(st.st_mode)) {
		uint64_t devsize;

		fd = open(r->target, O_WRONLY | O_EXCL | O_CLOEXEC);
		if (fd < 0) {
			errmsg(r->target, errno, "cannot open%s", errno == EBUSY ? " (in use: mounted?)" : "");
			return -1;
		}
		if (ioctl(fd, BLKGETSIZE64, &devsize) < 0) {
			errmsg(r->target, errno, "cannot get the size");
			close(fd);
			return -1;
		}
		if (devsize < size) {
			errmsg(r->target, 0, "too small: %llu bytes, the backup has %llu",
			       (unsigned long long)devsize, (unsigned long long)size);
			close(fd);
			return -1;
		}
		r->fd = fd;
		r->is_file = false;
		return 0;
	} else if (!S_ISREG(st.st_mode)) {
		errmsg(r->target, 0, "not a block device or regular file");
		return -1;
	}
	copy = strdup(r->target);
	if (!copy) {
		errmsg(NULL, ENOMEM, "restore");
		return -1;
	}
	dir = dirname(copy);
	snprintf(r->tmp, sizeof(r->tmp), "%s/.blksnap-restore.%d.tmp", dir, (int)getpid());
	free(copy);
	fd = open(r->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		errmsg(r->tmp, errno, "cannot create");
		r->tmp[0] = '\0';
		return -1;
	}
	r->fd = fd;
	r->is_file = true;
	if (ftruncate(fd, (off_t)size) < 0) {
		errmsg(r->target, errno, "cannot write");
		return -1;
	}
	return 0;
}

/* BACKUPDIR or METAFILE to directory, name and backup number. */
static int pick(const char *arg, const char *want_name, char **dirp, char **namep,
		unsigned int *seqp)
{
	struct stat st;
	char **names = NULL;
	size_t n = 0, i;
	unsigned int max_seq, latest;
	int ret;

	if (stat(arg, &st) < 0) {
		errmsg(arg, errno, "cannot use as backup");
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = meta_names(arg, &names, &n);
		if (ret < 0) {
			errmsg(arg, ret, "cannot read");
			return -1;
		}
		if (want_name) {
			for (i = 0; i < n && strcmp(names[i], want_name); i++)
				;
			if (i == n) {
				errmsg(arg, 0, "no backup of %s", want_name);
				goto fail;
			}
		} else if (n == 0) {
			errmsg(arg, 0, "no backup here");
			goto fail;
		} else if (n > 1) {
			errmsg(arg, 0, "backups of several devices here (%s, %s%s): choose one with --name",
			       names[0], names[1], n > 2 ? ", ..." : "");
			goto fail;
		} else {
			i = 0;
		}
		ret = meta_scan(arg, names[i], &max_seq, &latest);
		if (ret < 0 || latest == 0) {
			errmsg(arg, ret < 0 ? ret : 0, "no complete backup of %s", names[i]);
			goto fail;
		}
		*dirp = strdup(arg);
		*namep = strdup(names[i]);
		*seqp = latest;
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		if (!*dirp || !*namep) {
			errmsg(NULL, ENOMEM, "restore");
			return -1;
		}
		return 0;
	}
	/* METAFILE: DIR/NAME.SEQ.meta */
	{
		char *copy = strdup(arg), *base, *dot;
		size_t bl;

		if (!copy) {
			errmsg(NULL, ENOMEM, "restore");
			return -1;
		}
		base = strrchr(copy, '/');
		base = base ? base + 1 : copy;
		bl = strlen(base);
		if (bl < 13 || strcmp(base + bl - 5, ".meta") != 0) {
			errmsg(arg, 0, "not a backup directory or NAME.SEQ.meta file");
			free(copy);
			return -1;
		}
		base[bl - 5] = '\0';
		dot = strrchr(base, '.');
		if (!dot || strlen(dot + 1) != 6 || strspn(dot + 1, "0123456789") != 6) {
			errmsg(arg, 0, "not a backup directory or NAME.SEQ.meta file");
			free(copy);
			return -1;
		}
		*seqp = (unsigned int)strtoul(dot + 1, NULL, 10);
		*dot = '\0';
		if (want_name && strcmp(want_name, base) != 0) {
			errmsg(arg, 0, "is not a backup of %s", want_name);
			free(copy);
			return -1;
		}
		*namep = strdup(base);
		if (base == copy) {
			*dirp = strdup(".");
		} else {
			base[-1] = '\0';
			*dirp = strdup(*copy ? copy : "/");
		}
		free(copy);
		if (!*dirp || !*namep) {
			errmsg(NULL, ENOMEM, "restore");
			return -1;
		}
		return 0;
	}
fail:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return -1;
}

/* The chain as JSON, a row per backup in it, oldest first; target,
 * bytes_read and seconds after a restore (target NULL: a check).
 * Returns 0, or -1 if it could not be written. */
static int chain_json(const char *dir, const char *name, const struct chain *c,
		      const char *target, uint64_t bytes_read, double seconds)
{
	static const struct out_col cols[] = {
		{ "directory", SCOLS_JSON_STRING, 0 },
		{ "name", SCOLS_JSON_STRING, 0 },
		{ "sequence", SCOLS_JSON_NUMBER, 0 },
		{ "type", SCOLS_JSON_STRING, 0 },
		{ "device_size", SCOLS_JSON_NUMBER, 0 },
		{ "generation", SCOLS_JSON_STRING, 0 },
		{ "changes_number", SCOLS_JSON_NUMBER, 0 },
		{ "changed_blocks", SCOLS_JSON_NUMBER, 0 },
		{ "data_size", SCOLS_JSON_NUMBER, 0 },
		{ "time", SCOLS_JSON_NUMBER, 0 },
		{ "target", SCOLS_JSON_STRING, 0 },
		{ "bytes_read", SCOLS_JSON_NUMBER, 0 },
		{ "seconds", SCOLS_JSON_NUMBER, 0 },
	};
	char gen[BLKSNAP_ID_STR_LEN];
	struct out o;
	unsigned int i;

	if (out_new(&o, "chain", cols, ARRAY_SIZE(cols), OUT_JSON) < 0)
		return -1;
	for (i = 0; i < c->n; i++) {
		const struct meta *m = &c->m[i];

		out_row(&o);
		out_str(&o, "directory", dir);
		out_str(&o, "name", name);
		out_u64(&o, "sequence", m->seq);
		out_str(&o, "type", m->incremental ? "incremental" : "full");
		out_u64(&o, "device_size", m->device_size);
		out_str(&o, "generation", blksnap_id_format(&m->generation, gen));
		out_u64(&o, "changes_number", m->changes_number);
		out_u64(&o, "changed_blocks", m->changed_blocks);
		out_u64(&o, "data_size", m->data_size);
		out_i64(&o, "time", m->time);
		if (target) {
			out_str(&o, "target", target);
			out_u64(&o, "bytes_read", bytes_read);
			out_double(&o, "seconds", seconds);
		}
	}
	return out_print(&o) < 0 ? -1 : 0;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "name", required_argument, NULL, 'n' },
		{ "check", no_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *want_name = NULL;
	char *dir = NULL, *name = NULL, why[4400];
	struct restore r;
	unsigned int seq, i;
	bool check = false, json = false;
	double t0;
	int opt, ret, rc = EXIT_FAIL;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	while ((opt = getopt_long(argc, argv, "hjn:cq", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': return command_help(argv[0]);
		case 'j': json = true; break;
		case 'n': want_name = optarg; break;
		case 'c': check = true; break;
		case 'q': r.quiet = true; break;
		default: return usage_error(argv[0], "invalid option");
		}
	}
	if (argc - optind < 1)
		return usage_error(argv[0], "missing backup directory or metadata file");
	if (!check && argc - optind < 2)
		return usage_error(argv[0], "missing target");
	if (argc - optind > (check ? 1 : 2))
		return usage_error(argv[0], "too many arguments");
	if (pick(argv[optind], want_name, &dir, &name, &seq) < 0)
		goto out;
	r.dir = dir;
	r.name = name;
	ret = chain_load(dir, name, seq, &r.c, why, sizeof(why));
	if (ret == -ENOMEM) {
		errmsg(NULL, ENOMEM, "restore");
		goto out;
	}
	if (ret < 0) {
		errmsg(NULL, 0, "%s: broken backup chain: %s", argv[optind], why);
		goto out;
	}
	for (i = 0; i < r.c.n; i++)
		r.total += r.c.m[i].data_size;
	if (check) {
		if (json) {
			if (chain_json(dir, name, &r.c, NULL, 0, 0) < 0)
				goto out;
		} else if (!r.quiet) {
			for (i = 0; i < r.c.n; i++)
				printf("%s/%s.%06u %s\n", dir, name, r.c.m[i].seq,
				       r.c.m[i].incremental ? "incremental" : "full");
		}
		rc = EXIT_OK;
		goto out;
	}
	r.target = argv[optind + 1];
	r.buf = malloc(BUF_SIZE);
	if (!r.buf) {
		errmsg(NULL, ENOMEM, "restore");
		goto out;
	}
	catch_signals();
	if (open_target(&r, r.c.m[0].device_size) < 0)
		goto out;
	r.progress = !r.quiet && isatty(STDERR_FILENO);
	r.start = t0 = now_seconds();
	if (apply(&r) < 0) {
		if (stop_signal)
			rc = 128 + stop_signal;
		goto out;
	}
	rprogress(&r, true);
	if (fsync(r.fd) < 0) {
		errmsg(r.target, errno, "cannot write");
		goto out;
	}
	if (r.is_file) {
		if (rename(r.tmp, r.target) < 0) {
			errmsg(r.target, errno, "cannot rename %s to it", r.tmp);
			goto out;
		}
		r.tmp[0] = '\0';
	}
	rc = EXIT_OK;
	if (json) {
		if (chain_json(dir, name, &r.c, r.target, r.total,
			       now_seconds() - t0) < 0)
			rc = EXIT_FAIL;
	} else if (!r.quiet) {
		fprintf(stderr, "%s: %s: restored %s.%06u (%u backup%s in the chain)\n",
			prog_name, r.target, name, seq, r.c.n, r.c.n == 1 ? "" : "s");
	}
out:
	if (r.fd >= 0)
		close(r.fd);
	if (r.tmp[0])
		unlink(r.tmp);
	chain_free(&r.c);
	free(r.buf);
	free(dir);
	free(name);
	return rc;
}

int cmd_list(int argc, char **argv)
{
	char **names = NULL, path[4400], why[4400], gen[BLKSNAP_ID_STR_LEN];
	size_t n = 0, i;
	unsigned int flags = 0;
	struct out o;
	int opt, ret;
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "raw", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	/* The table's columns first, then those only in JSON. */
	static const struct out_col cols[] = {
		{ "name", SCOLS_JSON_STRING, 0 },
		{ "sequence", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "type", SCOLS_JSON_STRING, 0 },
		{ "base", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "data_size", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "state", SCOLS_JSON_STRING, 0 },
		{ "device", SCOLS_JSON_STRING, 0 },
		{ "device_size", SCOLS_JSON_NUMBER, 0 },
		{ "generation", SCOLS_JSON_STRING, 0 },
		{ "changes_number", SCOLS_JSON_NUMBER, 0 },
		{ "time", SCOLS_JSON_NUMBER, 0 },
		{ "reason", SCOLS_JSON_STRING, 0 },
	};

	while ((opt = getopt_long(argc, argv, "hjnr", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': return command_help(argv[0]);
		case 'j': flags |= OUT_JSON; break;
		case 'n': flags |= OUT_NOHEADINGS; break;
		case 'r': flags |= OUT_RAW; break;
		default: return usage_error(argv[0], "invalid option");
		}
	}
	if (argc - optind != 1)
		return usage_error(argv[0], argc - optind ? "too many arguments" : "missing backup directory");
	ret = meta_names(argv[optind], &names, &n);
	if (ret < 0) {
		errmsg(argv[optind], ret, "cannot read");
		return EXIT_FAIL;
	}
	if (out_new(&o, "backups", cols, (flags & OUT_JSON) ? ARRAY_SIZE(cols) : 6,
		    flags) < 0) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		unsigned int max_seq, latest, s;

		if (meta_scan(argv[optind], names[i], &max_seq, &latest) < 0)
			continue;
		for (s = 1; s <= max_seq; s++) {
			struct meta m;
			struct stat st;
			const char *state = "ok";

			file_name(path, sizeof(path), argv[optind], names[i], s, "meta");
			if (stat(path, &st) < 0)
				continue;
			ret = meta_read(path, &m, why, sizeof(why));
			if (ret < 0) {
				state = "bad";
			} else {
				struct chain c;

				if (chain_load(argv[optind], names[i], s, &c, why, sizeof(why)) < 0)
					state = "broken";
				else
					chain_free(&c);
			}
			out_row(&o);
			out_str(&o, "name", names[i]);
			out_u64(&o, "sequence", s);
			if (ret == 0) {
				out_str(&o, "type", m.incremental ? "incremental" : "full");
				if (m.incremental)
					out_u64(&o, "base", m.base_seq);
				else if (!(flags & OUT_JSON))
					out_str(&o, "base", "-");
				out_u64(&o, "data_size", m.data_size);
				if (flags & OUT_JSON) {
					out_str(&o, "device", m.device);
					out_u64(&o, "device_size", m.device_size);
					out_str(&o, "generation",
						blksnap_id_format(&m.generation, gen));
					out_u64(&o, "changes_number", m.changes_number);
					out_i64(&o, "time", m.time);
				}
			} else if (!(flags & OUT_JSON)) {
				out_str(&o, "type", "?");
				out_str(&o, "base", "?");
				out_str(&o, "data_size", "?");
			}
			out_str(&o, "state", state);
			if (strcmp(state, "ok") && (flags & OUT_JSON))
				out_str(&o, "reason", why);
		}
		free(names[i]);
	}
	free(names);
	return out_print(&o) < 0 ? EXIT_FAIL : EXIT_OK;
}
