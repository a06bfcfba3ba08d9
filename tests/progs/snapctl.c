// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapctl - drive the blksnap ioctls from the tests.
 *
 * Uses nothing but the UAPI headers, as any program written against the
 * series would: raw ioctls on /dev/blksnap-control and BLKFILTER_CTL
 * commands of the "blksnap" filter on block devices.  With -e LIST the call
 * must end with one of the listed outcomes (errno names, OK for success),
 * and snapctl succeeds only if it does.  Several options pass deliberately
 * bad values (pointers, lengths, counts, descriptors).
 *
 * The "stamp" command is a data checker: writer threads stamp 4 KiB blocks
 * of one or more devices with (thread, sequence) records while the snapshot
 * is taken, and the images must then hold one consistent cut of every
 * thread's writes, the same on two reads.
 *
 * Exit status: 0 as expected, 1 not as expected (or the data check
 * failed), 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/blk-filter.h>
#include <linux/blksnap.h>
#include "progs.h"

#define CONTROL "/dev/" BLKSNAP_CTL
#define FILTER_NAME "blksnap"

#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

static void usage(void)
{
	fputs("Usage: snapctl [OPTIONS] COMMAND [ARGS] [COMMAND OPTIONS]\n"
	      "DEV is a block device path, or fd:N for an inherited descriptor;\n"
	      "ID is a snapshot id, 32 hex digits.\n"
	      "Commands:\n"
	      "  version                  IOCTL_BLKSNAP_VERSION: M.m.r.b\n"
	      "  create STORAGE LIMIT     IOCTL_BLKSNAP_SNAPSHOT_CREATE, prints ID\n"
	      "       STORAGE: regular file (O_RDWR|O_CREAT), directory\n"
	      "       (O_TMPFILE), block device (O_RDWR|O_EXCL); LIMIT in sectors\n"
	      "       -m MODE  pass a bad descriptor instead: rdonly, wronly,\n"
	      "                noexcl, pipe, closed, fifo, null, socket, dir,\n"
	      "                fd:N\n"
	      "  destroy ID | take ID\n"
	      "  take -T ID               take, and print take_ns=N, the\n"
	      "       duration of the ioctl (CLOCK_MONOTONIC)\n"
	      "  collect                  ids, one per line (two-call protocol)\n"
	      "       -n COUNT one call with this count; prints count=,\n"
	      "                untouched= and the ids on success\n"
	      "  wait ID TIMEOUT_MS       IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT: code=,\n"
	      "       time_label=, age_ms= (CLOCK_MONOTONIC), dev=, err= (as given)\n"
	      "  watch ID TIMEOUT_MS      a v6 client's watcher: wait_event in a\n"
	      "       loop until ESRCH; \"event ...\" lines, then polls=N\n"
	      "  attach DEV | detach DEV  BLKFILTER_ATTACH/DETACH \"blksnap\"\n"
	      "  add DEV ID               snapshotadd\n"
	      "  info DEV                 snapshotinfo: error_code=, image=\n"
	      "  cbtinfo DEV              cbtinfo as key=value lines\n"
	      "  cbtmap DEV               the readable map, \"INDEX VALUE\" lines\n"
	      "       for the non-zero bytes, read in a loop\n"
	      "       -o OFFSET -n LENGTH  part of the map (default: all)\n"
	      "       -c CHUNK  bytes per call (default 65536)\n"
	      "       -r FILE   write the raw bytes to FILE instead\n"
	      "       -1        one call only: prints copied=N\n"
	      "  dirty DEV [SECTOR:COUNT...]  cbtdirty\n"
	      "       -n COUNT  put COUNT in the count field instead\n"
	      "  size DEV                 BLKGETSIZE64\n"
	      "  cycle DEV STORAGE LIMIT N  N snapshots of DEV created, taken,\n"
	      "       destroyed; prints \"CHANGES_NUMBER GENERATION\" after each\n"
	      "  stamp ID DEV...          data check of the images across take: each\n"
	      "       writer thread writes the devices in turn, at random blocks\n"
	      "       -t THREADS (4) -b BLOCKS per device (4096)\n"
	      "       -w MS before take (300) -a MS after take (600)\n"
	      "       -N         do not take: ID is taken already by the caller\n"
	      "Options:\n"
	      "  -e LIST  expected outcomes, comma-separated errno names, OK for\n"
	      "           success (default OK)\n"
	      "  -u       drop root privileges before the call\n"
	      "  -F       pass an unmapped address as the ioctl argument (control\n"
	      "           commands) or as opt of BLKFILTER_CTL\n"
	      "  -B       pass an unmapped address as the buffer inside the\n"
	      "           structure (cbtmap buffer, dirty ranges, collect ids)\n"
	      "  -L LEN   optlen of BLKFILTER_CTL (default: the structure's size)\n",
	      stderr);
	exit(2);
}

static int bad_arg;
static int bad_buf;
static long long optlen_override = -1;

static void parse_id(const char *s, struct blksnap_uuid *id)
{
	unsigned int i, v;

	if (strlen(s) != 2 * UUID_SIZE)
		goto bad;
	for (i = 0; i < UUID_SIZE; i++) {
		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			goto bad;
		id->b[i] = v;
	}
	return;
bad:
	fprintf(stderr, "snapctl: bad snapshot id '%s' (32 hex digits)\n", s);
	exit(2);
}

static void print_id(const struct blksnap_uuid *id)
{
	int i;

	for (i = 0; i < UUID_SIZE; i++)
		printf("%02x", id->b[i]);
	printf("\n");
}

static int open_control(void)
{
	int fd = open(CONTROL, O_RDWR);

	if (fd < 0)
		die(CONTROL);
	return fd;
}

/* The ioctl, after dropping privileges if asked to. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	if (unpriv)
		drop_privileges();
	return ioctl(fd, req, bad_arg ? bad_pointer() : arg);
}

static int ctl(int fd, unsigned int cmd, void *opt, unsigned int len)
{
	struct blkfilter_ctl c = { .cmd = cmd };

	memset(c.name, 0, sizeof(c.name));
	strcpy((char *)c.name, FILTER_NAME);
	c.optlen = optlen_override >= 0 ? (__u32)optlen_override : len;
	c.opt = (uintptr_t)(bad_arg ? bad_pointer() : opt);
	if (unpriv)
		drop_privileges();
	return ioctl(fd, BLKFILTER_CTL, &c);
}

/* Report the outcome of the call; returns the exit status. */
static int outcome(const char *what, int ret)
{
	int err = ret < 0 ? errno : 0;

	if (is_expected(err))
		return 0;
	if (err)
		fprintf(stderr, "snapctl: %s: %s (%s)\n", what, strerror(err),
			errname(err));
	else
		fprintf(stderr, "snapctl: %s: succeeded, expected %s\n", what,
			errname(first_expected()));
	return 1;
}

/* ---- control device ---------------------------------------------------- */

static int storage_fd(const char *path, const char *mode)
{
	struct stat st;
	int fds[2], fd;

	if (mode) {
		if (!strncmp(mode, "fd:", 3))
			return (int)num(mode + 3);
		if (!strcmp(mode, "rdonly"))
			return open(path, O_RDONLY | O_CREAT, 0600);
		if (!strcmp(mode, "wronly"))
			return open(path, O_WRONLY | O_CREAT, 0600);
		if (!strcmp(mode, "noexcl"))
			return open(path, O_RDWR);
		if (!strcmp(mode, "pipe")) {
			if (pipe(fds))
				die("pipe");
			return fds[1];
		}
		if (!strcmp(mode, "socket")) {
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
				die("socketpair");
			return fds[0];
		}
		if (!strcmp(mode, "fifo")) {
			/* A FIFO may be opened O_RDWR on Linux. */
			unlink(path);
			if (mkfifo(path, 0600))
				die(path);
			return open(path, O_RDWR);
		}
		if (!strcmp(mode, "null"))
			return open("/dev/null", O_RDWR);
		if (!strcmp(mode, "dir"))
			return open(path, O_RDONLY | O_DIRECTORY);
		if (!strcmp(mode, "closed")) {
			/* Far above what the control device will get. */
			fd = open("/dev/null", O_RDONLY);
			if (fd < 0 || dup2(fd, 900) != 900)
				die("/dev/null");
			close(fd);
			close(900);
			return 900;
		}
		usage();
	}
	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return open(path, O_TMPFILE | O_RDWR, 0600);
	if (!stat(path, &st) && S_ISBLK(st.st_mode))
		return open(path, O_RDWR | O_EXCL);
	return open(path, O_RDWR | O_CREAT, 0600);
}

static int cmd_create(int argc, char **argv)
{
	struct blksnap_snapshot_create c;
	const char *mode = NULL;
	int opt, fd, cfd, ret, st;

	while ((opt = getopt(argc, argv, "m:")) != -1) {
		if (opt == 'm')
			mode = optarg;
		else
			usage();
	}
	if (argc - optind != 2)
		usage();
	memset(&c, 0, sizeof(c));
	fd = storage_fd(argv[optind], mode);
	if (fd < 0 && (!mode || strcmp(mode, "closed")))
		die(argv[optind]);
	c.diff_storage_fd = fd;
	c.diff_storage_limit_sect = num(argv[optind + 1]);
	cfd = open_control();
	ret = xioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &c);
	st = outcome("create", ret);
	if (!st && ret >= 0)
		print_id(&c.id);
	return st;
}

static int cmd_id(int argc, char **argv, unsigned long req, const char *what)
{
	struct blksnap_uuid id;
	int cfd;

	if (argc != 2)
		usage();
	parse_id(argv[1], &id);
	cfd = open_control();
	return outcome(what, xioctl(cfd, req, &id));
}

/* take [-T] ID: with -T, print "take_ns=N", the ioctl's duration. */
static int cmd_take(int argc, char **argv)
{
	struct blksnap_uuid id;
	struct timespec t0, t1;
	int opt, cfd, ret, st, timed = 0;

	while ((opt = getopt(argc, argv, "T")) != -1) {
		if (opt == 'T')
			timed = 1;
		else
			usage();
	}
	if (argc - optind != 1)
		usage();
	parse_id(argv[optind], &id);
	cfd = open_control();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = xioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_TAKE, &id);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st = outcome("take", ret);
	if (timed && !st && ret >= 0)
		printf("take_ns=%lld\n",
		       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
		       (t1.tv_nsec - t0.tv_nsec));
	return st;
}

static int cmd_version(int argc)
{
	struct blksnap_version v;
	int cfd, ret, st;

	if (argc != 1)
		usage();
	memset(&v, 0xff, sizeof(v));
	cfd = open_control();
	ret = xioctl(cfd, IOCTL_BLKSNAP_VERSION, &v);
	st = outcome("version", ret);
	if (!st && ret >= 0)
		printf("%u.%u.%u.%u\n", v.major, v.minor, v.revision, v.build);
	return st;
}

static int cmd_collect(int argc, char **argv)
{
	struct blksnap_snapshot_collect c;
	struct blksnap_uuid *ids = NULL;
	long long count = -1;
	unsigned int i, room;
	int opt, cfd, ret, st, untouched;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt == 'n')
			count = (long long)num(optarg);
		else
			usage();
	}
	if (argc != optind)
		usage();
	cfd = open_control();

	if (count >= 0) {
		/* One call, with this count and an array filled with 0xa5. */
		room = count > 4096 ? 4096 : (count ? (unsigned int)count : 1);
		ids = calloc(room, sizeof(*ids));
		if (!ids)
			die("calloc");
		memset(ids, 0xa5, room * sizeof(*ids));
		c.count = (__u32)count;
		c.ids = (uintptr_t)(bad_buf ? bad_pointer() :
				    count ? (void *)ids : NULL);
		ret = xioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c);
		st = outcome("collect", ret);
		if (st)
			return st;
		untouched = 1;
		for (i = 0; i < room * sizeof(*ids); i++)
			if (((unsigned char *)ids)[i] != 0xa5)
				untouched = 0;
		printf("count=%u\nuntouched=%d\n", c.count, untouched);
		/* With count 0 no array was passed: the call only counts. */
		if (ret >= 0 && !bad_arg && count)
			for (i = 0; i < c.count && i < room; i++)
				print_id(&ids[i]);
		return 0;
	}

	/*
	 * The series' protocol: ask for the count with no array (a success
	 * that sets count), then fetch; retry if more came meanwhile.
	 */
	for (;;) {
		c.count = 0;
		c.ids = 0;
		ret = xioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c);
		if (ret < 0)
			return outcome("collect (count)", ret);
		if (!c.count)
			return outcome("collect", 0);
		room = c.count;
		free(ids);
		ids = calloc(room, sizeof(*ids));
		if (!ids)
			die("calloc");
		c.ids = (uintptr_t)(bad_buf ? bad_pointer() : (void *)ids);
		ret = xioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c);
		if (ret < 0 && errno == ENODATA)
			continue;
		st = outcome("collect", ret);
		if (st || ret < 0)
			return st;
		if (c.count > room) {
			fprintf(stderr, "snapctl: collect: count %u > room %u\n",
				c.count, room);
			return 1;
		}
		for (i = 0; i < c.count; i++)
			print_id(&ids[i]);
		return 0;
	}
}

static void on_signal(int sig)
{
	(void)sig;
}

static int cmd_wait(int argc, char **argv)
{
	struct blksnap_snapshot_event *ev;
	struct blksnap_event_corrupted cor;
	struct sigaction sa;
	struct timespec now;
	int cfd, ret, st;

	if (argc != 3)
		usage();
	/* A handler without SA_RESTART: a signal ends the wait with EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		die("calloc");
	parse_id(argv[1], &ev->id);
	ev->timeout_ms = (__u32)num(argv[2]);
	cfd = open_control();
	ret = xioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, ev);
	st = outcome("wait", ret);
	if (st || ret < 0)
		return st;
	/* The series' events carry CLOCK_MONOTONIC time. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	printf("code=%u\ntime_label=%lld\nage_ms=%lld\n", ev->code,
	       (long long)ev->time_label,
	       ((long long)now.tv_sec * 1000000000LL + now.tv_nsec -
		ev->time_label) / 1000000LL);
	if (ev->code == blksnap_event_code_corrupted) {
		memcpy(&cor, ev->data, sizeof(cor));
		printf("dev=%u:%u\nerr=%d\n", cor.dev_id_mj, cor.dev_id_mn,
		       cor.err_code);
	}
	return 0;
}

/*
 * A v6 client's event watcher: WAIT_EVENT again and again with a timeout,
 * "nothing yet" being ENOENT, until the snapshot is gone (ESRCH).  Prints
 * an "event code=C dev=M:m err=E time_label=T" line per event, then
 * "polls=N" (the calls that returned ENOENT).  Any other answer fails.
 */
static int cmd_watch(int argc, char **argv)
{
	struct blksnap_snapshot_event *ev;
	struct blksnap_event_corrupted cor;
	unsigned long polls = 0;
	int cfd, ret;

	if (argc != 3)
		usage();
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		die("calloc");
	cfd = open_control();
	for (;;) {
		memset(ev, 0, sizeof(*ev));
		parse_id(argv[1], &ev->id);
		ev->timeout_ms = (__u32)num(argv[2]);
		ret = xioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, ev);
		if (ret < 0 && errno == ENOENT) {
			polls++;
			continue;
		}
		if (ret < 0 && errno == ESRCH)
			break;
		if (ret < 0) {
			fprintf(stderr, "snapctl: watch: %s\n", errname(errno));
			return 1;
		}
		memcpy(&cor, ev->data, sizeof(cor));
		printf("event code=%u dev=%u:%u err=%d time_label=%lld\n",
		       ev->code, cor.dev_id_mj, cor.dev_id_mn, cor.err_code,
		       (long long)ev->time_label);
		fflush(stdout);
	}
	printf("polls=%lu\n", polls);
	return 0;
}

/* ---- BLKFILTER_* on a device ------------------------------------------- */

static int cmd_attach(int argc, char **argv, unsigned long req)
{
	struct blkfilter_name bn;
	int fd;

	if (argc != 2)
		usage();
	fd = open_dev(argv[1]);
	memset(&bn, 0, sizeof(bn));
	strcpy((char *)bn.name, FILTER_NAME);
	return outcome(argv[0], xioctl(fd, req, &bn));
}

static int cmd_add(int argc, char **argv)
{
	struct blksnap_snapshotadd a;
	int fd;

	if (argc != 3)
		usage();
	parse_id(argv[2], &a.id);
	fd = open_dev(argv[1]);
	return outcome("add", ctl(fd, blkfilter_ctl_blksnap_snapshotadd, &a,
				  sizeof(a)));
}

static int cmd_info(int argc, char **argv)
{
	struct blksnap_snapshotinfo si;
	int fd, ret, st;

	if (argc != 2)
		usage();
	fd = open_dev(argv[1]);
	memset(&si, 0xa5, sizeof(si));
	ret = ctl(fd, blkfilter_ctl_blksnap_snapshotinfo, &si, sizeof(si));
	st = outcome("info", ret);
	if (st || ret < 0)
		return st;
	if (!memchr(si.image, 0, sizeof(si.image))) {
		fprintf(stderr, "snapctl: info: image name not terminated\n");
		return 1;
	}
	printf("error_code=%d\nimage=%s\n", si.error_code, (char *)si.image);
	return 0;
}

static int cmd_cbtinfo(int argc, char **argv)
{
	struct blksnap_cbtinfo ci;
	int fd, ret, st, i;

	if (argc != 2)
		usage();
	fd = open_dev(argv[1]);
	memset(&ci, 0xa5, sizeof(ci));
	ret = ctl(fd, blkfilter_ctl_blksnap_cbtinfo, &ci, sizeof(ci));
	st = outcome("cbtinfo", ret);
	if (st || ret < 0)
		return st;
	printf("capacity=%llu\nblock_size=%u\nblock_count=%u\ngeneration=",
	       (unsigned long long)ci.device_capacity, ci.block_size,
	       ci.block_count);
	for (i = 0; i < UUID_SIZE; i++)
		printf("%02x", ci.generation_id.b[i]);
	printf("\nchanges_number=%u\n", ci.changes_number);
	return 0;
}

static int cmd_cbtmap(int argc, char **argv)
{
	struct blksnap_cbtinfo ci;
	struct blksnap_cbtmap m;
	unsigned long long offset = 0, length = ~0ULL, chunk = 65536, done = 0;
	const char *raw = NULL;
	unsigned char *buf;
	int opt, fd, ret, one = 0, st;
	unsigned long long i;
	FILE *out = NULL;

	while ((opt = getopt(argc, argv, "o:n:c:r:1")) != -1) {
		switch (opt) {
		case 'o':
			offset = num(optarg);
			break;
		case 'n':
			length = num(optarg);
			break;
		case 'c':
			chunk = num(optarg);
			break;
		case 'r':
			raw = optarg;
			break;
		case '1':
			one = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || !chunk)
		usage();
	fd = open_dev(argv[optind]);

	if (one) {
		/* One call with the raw values, into a buffer of LENGTH bytes. */
		if (length == ~0ULL)
			length = 4096;
		buf = malloc(length ? length : 1);
		if (!buf)
			die("malloc");
		m.offset = (__u32)offset;
		m.length = (__u32)length;
		m.buffer = (uintptr_t)(bad_buf ? bad_pointer() : buf);
		ret = ctl(fd, blkfilter_ctl_blksnap_cbtmap, &m, sizeof(m));
		st = outcome("cbtmap", ret);
		if (!st && ret >= 0)
			printf("copied=%d\n", ret);
		return st;
	}

	if (ctl(fd, blkfilter_ctl_blksnap_cbtinfo, &ci, sizeof(ci)) < 0)
		return outcome("cbtmap: cbtinfo", -1);
	if (length == ~0ULL)
		length = ci.block_count > offset ? ci.block_count - offset : 0;
	buf = malloc(chunk);
	if (!buf)
		die("malloc");
	if (raw) {
		out = fopen(raw, "w");
		if (!out)
			die(raw);
	}
	while (done < length) {
		unsigned long long want = length - done;

		if (want > chunk)
			want = chunk;
		m.offset = (__u32)(offset + done);
		m.length = (__u32)want;
		m.buffer = (uintptr_t)(bad_buf ? bad_pointer() : buf);
		ret = ctl(fd, blkfilter_ctl_blksnap_cbtmap, &m, sizeof(m));
		if (ret < 0 || bad_buf)
			return outcome("cbtmap", ret);
		if (ret == 0)
			break;
		if ((unsigned long long)ret > want) {
			fprintf(stderr, "snapctl: cbtmap returned %d > %llu\n",
				ret, want);
			return 1;
		}
		if (out) {
			if (fwrite(buf, 1, ret, out) != (size_t)ret)
				die(raw);
		} else {
			for (i = 0; i < (unsigned long long)ret; i++)
				if (buf[i])
					printf("%llu %u\n", offset + done + i,
					       buf[i]);
		}
		done += ret;
	}
	if (out && fclose(out))
		die(raw);
	if (done != length) {
		fprintf(stderr, "snapctl: cbtmap: read %llu of %llu bytes\n",
			done, length);
		return 1;
	}
	return outcome("cbtmap", 0);
}

static int cmd_dirty(int argc, char **argv)
{
	struct blksnap_cbtdirty d;
	struct blksnap_sectors *r;
	long long count = -1;
	int opt, fd, n, i;
	char *colon;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt == 'n')
			count = (long long)num(optarg);
		else
			usage();
	}
	if (argc - optind < 1)
		usage();
	fd = open_dev(argv[optind]);
	n = argc - optind - 1;
	r = calloc(n ? n : 1, sizeof(*r));
	if (!r)
		die("calloc");
	for (i = 0; i < n; i++) {
		char *a = argv[optind + 1 + i];

		colon = strchr(a, ':');
		if (!colon)
			usage();
		*colon = 0;
		r[i].offset = num(a);
		r[i].count = num(colon + 1);
	}
	d.count = count >= 0 ? (__u32)count : (__u32)n;
	d.dirty_sectors = (uintptr_t)(bad_buf ? bad_pointer() : r);
	return outcome("dirty", ctl(fd, blkfilter_ctl_blksnap_cbtdirty, &d,
				    sizeof(d)));
}

static int cmd_size(int argc, char **argv)
{
	unsigned long long size;
	int fd;

	if (argc != 2)
		usage();
	fd = open_dev(argv[1]);
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		die(argv[1]);
	printf("%llu\n", size);
	return 0;
}

/*
 * cycle DEV STORAGE LIMIT N: N snapshots of DEV created, taken and
 * destroyed in a row, printing changes_number and generation after each.
 */
static int cmd_cycle(int argc, char **argv)
{
	struct blksnap_snapshot_create c;
	struct blksnap_snapshotadd a;
	struct blksnap_cbtinfo ci;
	unsigned long long i, n;
	int fd, cfd, sfd, j;

	if (argc != 5)
		usage();
	fd = open_dev(argv[1]);
	sfd = storage_fd(argv[2], NULL);
	if (sfd < 0)
		die(argv[2]);
	n = num(argv[4]);
	cfd = open_control();
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		c.diff_storage_fd = sfd;
		c.diff_storage_limit_sect = num(argv[3]);
		if (ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &c) < 0)
			return outcome("cycle: create", -1);
		a.id = c.id;
		if (ctl(fd, blkfilter_ctl_blksnap_snapshotadd, &a, sizeof(a)) < 0)
			return outcome("cycle: add", -1);
		if (ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_TAKE, &c.id) < 0)
			return outcome("cycle: take", -1);
		if (ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &c.id) < 0)
			return outcome("cycle: destroy", -1);
		if (ctl(fd, blkfilter_ctl_blksnap_cbtinfo, &ci, sizeof(ci)) < 0)
			return outcome("cycle: cbtinfo", -1);
		printf("%u ", ci.changes_number);
		for (j = 0; j < UUID_SIZE; j++)
			printf("%02x", ci.generation_id.b[j]);
		printf("\n");
	}
	return 0;
}

/* ---- stamp: the data check across take --------------------------------- */

#define BS 4096
#define STAMP_MAGIC 0x736e6170626c6b73ULL /* "sklbpans" */

struct stamp {
	uint64_t magic;
	uint32_t thread;
	uint32_t dev;
	uint64_t pos;
	uint32_t block;
	uint32_t check;
};

struct logent {
	uint32_t dev;
	uint32_t block;
};

struct writer {
	pthread_t tid;
	unsigned int t;
	uint64_t issued;	/* atomic: last position handed to pwrite */
	uint64_t done;		/* atomic: last position written */
	struct logent *log;	/* log[pos], pos from 1 */
	uint64_t cap;
	unsigned int seed;
	int error;
};

static int s_ndev, s_threads, s_stop;
static uint32_t s_blocks;
static int *s_fds;

static uint32_t stamp_check(const struct stamp *s)
{
	return (uint32_t)(s->magic ^ s->pos ^ ((uint64_t)s->thread << 7) ^
			  ((uint64_t)s->dev << 17) ^ ((uint64_t)s->block << 3)) ^
	       0x5a5a5a5a;
}

static void stamp_fill(void *buf, uint32_t thread, uint32_t dev,
		       uint64_t pos, uint32_t block)
{
	struct stamp s = { .magic = STAMP_MAGIC, .thread = thread, .dev = dev,
			   .pos = pos, .block = block };
	unsigned int i;

	s.check = stamp_check(&s);
	for (i = 0; i < BS / sizeof(s); i++)
		memcpy((char *)buf + i * sizeof(s), &s, sizeof(s));
}

/* Parse a block: 0 and the stamp if all its copies agree, else -1. */
static int stamp_parse(const void *buf, struct stamp *s)
{
	unsigned int i;

	memcpy(s, buf, sizeof(*s));
	if (s->magic != STAMP_MAGIC || s->check != stamp_check(s))
		return -1;
	for (i = 1; i < BS / sizeof(*s); i++)
		if (memcmp((const char *)buf + i * sizeof(*s), s, sizeof(*s)))
			return -1;
	return 0;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint32_t owned = (s_blocks - w->t + s_threads - 1) / s_threads;
	void *buf;
	uint64_t pos = 0;

	if (posix_memalign(&buf, BS, BS)) {
		w->error = ENOMEM;
		return NULL;
	}
	while (!__atomic_load_n(&s_stop, __ATOMIC_ACQUIRE) && pos + 1 < w->cap) {
		uint32_t dev = (pos + 1) % s_ndev;
		uint32_t block = w->t + (rand_r(&w->seed) % owned) * s_threads;
		ssize_t n;

		pos++;
		w->log[pos].dev = dev;
		w->log[pos].block = block;
		__atomic_store_n(&w->issued, pos, __ATOMIC_RELEASE);
		stamp_fill(buf, w->t, dev, pos, block);
		n = pwrite(s_fds[dev], buf, BS, (off_t)block * BS);
		if (n != BS) {
			w->error = n < 0 ? errno : EIO;
			break;
		}
		__atomic_store_n(&w->done, pos, __ATOMIC_RELEASE);
	}
	free(buf);
	return NULL;
}

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int read_all(int fd, void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t n = len - off > (1 << 20) ? (1 << 20) : len - off;
		ssize_t r = pread(fd, (char *)buf + off, n, (off_t)off);

		if (r <= 0)
			return -1;
		off += r;
	}
	return 0;
}

/* The expected state of thread t's blocks after its writes 1..upto. */
static void replay(struct writer *w, uint64_t upto, uint64_t *last)
{
	uint64_t p;

	/* last[dev * s_blocks + block] = position, 0: the initial fill. */
	for (p = 1; p <= upto; p++)
		last[(uint64_t)w->log[p].dev * s_blocks + w->log[p].block] = p;
}

static int cmd_stamp(int argc, char **argv)
{
	unsigned int warm = 300, after = 600;
	struct writer *ws;
	struct blksnap_uuid id;
	unsigned char **copy1, **copy2;
	uint64_t *p0, *i1, *cut, *last;
	char **images;
	int opt, cfd, i, t, bad = 0, notake = 0;
	size_t len;
	void *fillbuf;
	uint64_t total = 0;

	s_threads = 4;
	s_blocks = 4096;
	while ((opt = getopt(argc, argv, "t:b:w:a:N")) != -1) {
		switch (opt) {
		case 't':
			s_threads = (int)num(optarg);
			break;
		case 'b':
			s_blocks = (uint32_t)num(optarg);
			break;
		case 'w':
			warm = (unsigned int)num(optarg);
			break;
		case 'a':
			after = (unsigned int)num(optarg);
			break;
		case 'N':
			notake = 1;
			break;
		default:
			usage();
		}
	}
	s_ndev = argc - optind - 1;
	if (s_ndev < 1 || s_threads < 1 || s_threads > 64 ||
	    s_blocks < (uint32_t)s_threads)
		usage();
	parse_id(argv[optind], &id);
	len = (size_t)s_blocks * BS;

	s_fds = calloc(s_ndev, sizeof(int));
	images = calloc(s_ndev, sizeof(char *));
	copy1 = calloc(s_ndev, sizeof(void *));
	copy2 = calloc(s_ndev, sizeof(void *));
	ws = calloc(s_threads, sizeof(*ws));
	p0 = calloc(s_threads, sizeof(*p0));
	i1 = calloc(s_threads, sizeof(*i1));
	cut = calloc(s_threads, sizeof(*cut));
	last = calloc((size_t)s_ndev * s_blocks, sizeof(*last));
	if (!s_fds || !images || !copy1 || !copy2 || !ws || !p0 || !i1 ||
	    !cut || !last)
		die("calloc");

	/* Initial fill: position 0 of the block's owner. */
	if (posix_memalign(&fillbuf, BS, 1 << 20))
		die("posix_memalign");
	for (i = 0; i < s_ndev; i++) {
		const char *dev = argv[optind + 1 + i];
		uint32_t b, k;

		s_fds[i] = open(dev, O_RDWR | O_DIRECT);
		if (s_fds[i] < 0)
			die(dev);
		for (b = 0; b < s_blocks; b += k) {
			for (k = 0; k < 256 && b + k < s_blocks; k++)
				stamp_fill((char *)fillbuf + k * BS,
					   (b + k) % s_threads, i, 0, b + k);
			if (pwrite(s_fds[i], fillbuf, (size_t)k * BS,
				   (off_t)b * BS) != (ssize_t)k * BS)
				die("initial fill");
		}
		if (posix_memalign((void **)&copy1[i], BS, len) ||
		    posix_memalign((void **)&copy2[i], BS, len))
			die("posix_memalign");
	}

	for (t = 0; t < s_threads; t++) {
		ws[t].t = t;
		ws[t].cap = 1 << 20;
		ws[t].seed = 0x12345 + 7919 * t + (unsigned int)getpid();
		ws[t].log = calloc(ws[t].cap, sizeof(struct logent));
		if (!ws[t].log)
			die("calloc");
		if (pthread_create(&ws[t].tid, NULL, writer_main, &ws[t]))
			die("pthread_create");
	}
	msleep(warm);
	for (t = 0; t < s_threads; t++)
		p0[t] = __atomic_load_n(&ws[t].done, __ATOMIC_ACQUIRE);
	if (!notake) {
		cfd = open_control();
		if (ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_TAKE, &id) < 0) {
			fprintf(stderr, "snapctl: stamp: take: %s\n",
				strerror(errno));
			__atomic_store_n(&s_stop, 1, __ATOMIC_RELEASE);
			for (t = 0; t < s_threads; t++)
				pthread_join(ws[t].tid, NULL);
			return 1;
		}
		close(cfd);
	}
	for (t = 0; t < s_threads; t++)
		i1[t] = __atomic_load_n(&ws[t].issued, __ATOMIC_ACQUIRE);

	/* Images, read twice while the writers go on. */
	for (i = 0; i < s_ndev; i++) {
		struct blksnap_snapshotinfo si;
		int fd = open(argv[optind + 1 + i], O_RDONLY), tries, ifd = -1;

		memset(&si, 0, sizeof(si));
		if (fd < 0 || ctl(fd, blkfilter_ctl_blksnap_snapshotinfo, &si,
				  sizeof(si)) < 0)
			die("stamp: snapshotinfo");
		close(fd);
		if (!si.image[0] || si.error_code) {
			fprintf(stderr, "snapctl: stamp: %s: image '%.32s' error %d\n",
				argv[optind + 1 + i], (char *)si.image,
				si.error_code);
			bad = 1;
			continue;
		}
		if (asprintf(&images[i], "/dev/%.32s", (char *)si.image) < 0)
			die("asprintf");
		for (tries = 0; tries < 100; tries++) {
			ifd = open(images[i], O_RDONLY | O_DIRECT);
			if (ifd >= 0)
				break;
			msleep(50);
		}
		if (ifd < 0)
			die(images[i]);
		close(ifd);
	}
	if (bad)
		goto stop;
	msleep(after / 3);
	for (i = 0; i < s_ndev; i++) {
		int ifd = open(images[i], O_RDONLY | O_DIRECT);

		if (ifd < 0 || read_all(ifd, copy1[i], len))
			die("stamp: first read of the image");
		close(ifd);
	}
	msleep(after - after / 3);
	for (i = 0; i < s_ndev; i++) {
		int ifd = open(images[i], O_RDONLY | O_DIRECT);

		if (ifd < 0 || read_all(ifd, copy2[i], len))
			die("stamp: second read of the image");
		close(ifd);
	}
stop:
	__atomic_store_n(&s_stop, 1, __ATOMIC_RELEASE);
	for (t = 0; t < s_threads; t++) {
		pthread_join(ws[t].tid, NULL);
		if (ws[t].error) {
			fprintf(stderr, "snapctl: stamp: writer %d: %s\n", t,
				strerror(ws[t].error));
			bad = 1;
		}
		total += ws[t].done;
	}
	if (bad)
		return 1;

	/* The two reads agree. */
	for (i = 0; i < s_ndev; i++) {
		if (memcmp(copy1[i], copy2[i], len)) {
			uint32_t b;

			for (b = 0; b < s_blocks; b++)
				if (memcmp(copy1[i] + (size_t)b * BS,
					   copy2[i] + (size_t)b * BS, BS))
					break;
			fprintf(stderr, "snapctl: stamp: %s changed between two reads, first at block %u\n",
				images[i], b);
			bad = 1;
		}
	}

	/* Each block a whole stamp of its own place; the cut of each thread. */
	for (i = 0; i < s_ndev; i++) {
		uint32_t b;

		for (b = 0; b < s_blocks; b++) {
			struct stamp s;

			if (stamp_parse(copy1[i] + (size_t)b * BS, &s) ||
			    s.dev != (uint32_t)i || s.block != b ||
			    s.thread != b % s_threads) {
				if (bad++ < 10)
					fprintf(stderr, "snapctl: stamp: %s block %u: torn or misplaced data\n",
						images[i], b);
				continue;
			}
			if (s.pos > cut[s.thread])
				cut[s.thread] = s.pos;
		}
	}
	for (t = 0; t < s_threads && !bad; t++) {
		printf("thread %d: done before take %" PRIu64 ", image cut %" PRIu64
		       ", issued after take %" PRIu64 ", written %" PRIu64 "\n",
		       t, p0[t], cut[t], i1[t], ws[t].done);
		if (cut[t] < p0[t] || cut[t] > i1[t]) {
			fprintf(stderr, "snapctl: stamp: thread %d: image holds its writes up to %" PRIu64
				", outside [%" PRIu64 ", %" PRIu64 "]\n",
				t, cut[t], p0[t], i1[t]);
			bad++;
		}
		memset(last, 0, (size_t)s_ndev * s_blocks * sizeof(*last));
		replay(&ws[t], cut[t], last);
		for (i = 0; i < s_ndev; i++) {
			uint32_t b;

			for (b = t; b < s_blocks; b += s_threads) {
				struct stamp s;

				stamp_parse(copy1[i] + (size_t)b * BS, &s);
				if (s.pos != last[(uint64_t)i * s_blocks + b]) {
					if (bad++ < 10)
						fprintf(stderr, "snapctl: stamp: %s block %u: write %" PRIu64
							" of thread %d, expected %" PRIu64
							" (cut %" PRIu64 ")\n",
							images[i], b, s.pos, t,
							last[(uint64_t)i * s_blocks + b], cut[t]);
				}
			}
		}
	}

	/* The originals hold every write. */
	for (t = 0; t < s_threads && !bad; t++) {
		memset(last, 0, (size_t)s_ndev * s_blocks * sizeof(*last));
		replay(&ws[t], ws[t].done, last);
		for (i = 0; i < s_ndev; i++) {
			uint32_t b;

			if (t == 0 && read_all(s_fds[i], copy2[i], len))
				die("stamp: reading the original");
			for (b = t; b < s_blocks; b += s_threads) {
				struct stamp s;

				if (stamp_parse(copy2[i] + (size_t)b * BS, &s) ||
				    s.pos != last[(uint64_t)i * s_blocks + b]) {
					if (bad++ < 10)
						fprintf(stderr, "snapctl: stamp: original %s block %u: not the last write %" PRIu64 "\n",
							argv[optind + 1 + i], b,
							last[(uint64_t)i * s_blocks + b]);
				}
			}
		}
	}
	printf("writes: %" PRIu64 ", devices: %d, blocks per device: %u, %s\n",
	       total, s_ndev, s_blocks, bad ? "FAILED" : "consistent");
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int opt;

	while ((opt = getopt(argc, argv, "+e:uFBL:h")) != -1) {
		if (common_opt(opt, optarg))
			continue;
		switch (opt) {
		case 'F':
			bad_arg = 1;
			break;
		case 'B':
			bad_buf = 1;
			break;
		case 'L':
			optlen_override = (long long)num(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 1)
		usage();
	argv += optind;
	argc -= optind;
	cmd = argv[0];
	optind = 0;	/* the commands parse their own options */

	if (!strcmp(cmd, "version"))
		return cmd_version(argc);
	if (!strcmp(cmd, "create"))
		return cmd_create(argc, argv);
	if (!strcmp(cmd, "destroy"))
		return cmd_id(argc, argv, IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
			      "destroy");
	if (!strcmp(cmd, "take"))
		return cmd_take(argc, argv);
	if (!strcmp(cmd, "collect"))
		return cmd_collect(argc, argv);
	if (!strcmp(cmd, "watch"))
		return cmd_watch(argc, argv);
	if (!strcmp(cmd, "wait"))
		return cmd_wait(argc, argv);
	if (!strcmp(cmd, "attach"))
		return cmd_attach(argc, argv, BLKFILTER_ATTACH);
	if (!strcmp(cmd, "detach"))
		return cmd_attach(argc, argv, BLKFILTER_DETACH);
	if (!strcmp(cmd, "add"))
		return cmd_add(argc, argv);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc, argv);
	if (!strcmp(cmd, "cbtinfo"))
		return cmd_cbtinfo(argc, argv);
	if (!strcmp(cmd, "cbtmap"))
		return cmd_cbtmap(argc, argv);
	if (!strcmp(cmd, "dirty"))
		return cmd_dirty(argc, argv);
	if (!strcmp(cmd, "size"))
		return cmd_size(argc, argv);
	if (!strcmp(cmd, "cycle"))
		return cmd_cycle(argc, argv);
	if (!strcmp(cmd, "stamp"))
		return cmd_stamp(argc, argv);
	usage();
	return 2;
}
