// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8): messages, number parsing, I/O helpers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "blksnap-tool.h"

const char *prog_name = "blksnap";

/* "blksnap: OBJ: message", without the end of the line. */
static void vmsg(const char *obj, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog_name);
	if (obj)
		fprintf(stderr, "%s: ", obj);
	vfprintf(stderr, fmt, ap);
}

/* "blksnap: OBJ: message: strerror(err)"; err 0 leaves the reason out. */
void errmsg(const char *obj, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(obj, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
	fputc('\n', stderr);
}

void warnmsg(const char *obj, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(obj, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cmd, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s%s--help' for more information.\n",
		prog_name, cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

/*
 * A size in bytes: decimal digits, optionally followed by one of the
 * binary suffixes K, M, G, T (case-insensitive, optionally followed by
 * "iB").  No sign, no blanks, no other suffix; -ERANGE on overflow.
 */
int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int shift = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*p) {
		switch (*p) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		p++;
		if (*p && strcmp(p, "iB") != 0)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* A decimal unsigned 32-bit number, strictly. */
int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

/* The argument of --limit: a size of at least 512 bytes.  0, or
 * EXIT_USAGE after saying why. */
int parse_limit(const char *cmd, const char *s, uint64_t *limit)
{
	if (parse_size(s, limit) < 0 || *limit < 512)
		return usage_error(cmd, "invalid limit '%s' (a size of at least 512 bytes: N, NK, NM, NG, NT)", s);
	return 0;
}

const char *human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

bool all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (!len)
		return true;
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

/* Exactly len bytes at off: pwrite() from wbuf if given, else pread() into
 * rbuf.  At an early end (0 bytes done) -EIO writing, -ENODATA reading. */
static int pio_all(int fd, const void *wbuf, void *rbuf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = wbuf ? pwrite(fd, (const char *)wbuf + done, len - done, (off_t)off) :
				   pread(fd, (char *)rbuf + done, len - done, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return wbuf ? -EIO : -ENODATA;
		done += (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	return pio_all(fd, buf, NULL, len, off);
}

/* Read exactly len bytes; -ENODATA at an early end of file. */
int read_all(int fd, void *buf, size_t len, uint64_t off)
{
	return pio_all(fd, NULL, buf, len, off);
}

int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = -errno;
	close(fd);
	return ret;
}

int blkdev_number(const char *path, dev_t *rdev)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	*rdev = st.st_rdev;
	return 0;
}

FILE *file_create(const char *tmp, mode_t mode, int *err)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		*err = -errno;
		close(fd);
		unlink(tmp);
	}
	return f;
}

int file_commit(FILE *f, const char *tmp, const char *path, const char *dir)
{
	int ret = 0;

	if (fflush(f) != 0)
		ret = -errno;
	else if (ferror(f))	/* an earlier write of the caller's */
		ret = -EIO;
	else if (fsync(fileno(f)) < 0)
		ret = -errno;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	return fsync_dir(dir);
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The control device: $BLKSNAP_CONTROL or the default. */
const char *ctl_path(void)
{
	const char *p = getenv("BLKSNAP_CONTROL");

	return p && *p ? p : BLKSNAP_CONTROL_PATH;
}

bool module_loaded(void)
{
	return access("/sys/module/blksnap", F_OK) == 0;
}

/* Run "modprobe blksnap" ($BLKSNAP_MODPROBE instead of modprobe, found
 * in PATH; set empty: never); its messages go to stderr as they are (a
 * module not found, or refused under Secure Boot).  0 if it succeeded. */
static int run_modprobe(void)
{
	const char *prog = getenv("BLKSNAP_MODPROBE");
	extern char **environ;
	char *argv[3];
	pid_t pid;
	int status;

	if (!prog)
		prog = "modprobe";
	if (!*prog)
		return -1;
	argv[0] = (char *)prog;
	argv[1] = (char *)"blksnap";
	argv[2] = NULL;
	fflush(stdout);
	fflush(stderr);
	if (posix_spawnp(&pid, prog, NULL, NULL, argv, environ) != 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* What gives this kernel a blksnap module: the package, or with its
 * sources installed the headers or the DKMS command that is missing. */
static void module_hint(void)
{
	struct utsname u;
	char build[sizeof(u.release) + 32];
	glob_t g;
	bool dkms;

	if (uname(&u) < 0)
		strcpy(u.release, "$(uname -r)");
	dkms = glob("/usr/src/blksnap-*", GLOB_NOSORT, NULL, &g) == 0;
	globfree(&g);
	snprintf(build, sizeof(build), "/lib/modules/%s/build", u.release);
	if (!dkms)
		warnmsg(NULL, "no blksnap module for kernel %s: install the blksnap-dkms package (apt install blksnap-dkms), or build the modules from their source (see blksnap(8), NOTES)",
			u.release);
	else if (access(build, F_OK) < 0)
		warnmsg(NULL, "no blksnap module for kernel %s: blksnap-dkms cannot build one without this kernel's headers: install linux-headers-%s, then run 'dkms autoinstall -k %s'",
			u.release, u.release, u.release);
	else
		warnmsg(NULL, "no blksnap module for kernel %s: blksnap-dkms has not built one: run 'dkms autoinstall -k %s' (and see 'dkms status')",
			u.release, u.release);
}

int load_module(void)
{
	int i;

	if (module_loaded())
		return 0;
	if (run_modprobe() == 0 && module_loaded()) {
		/* devtmpfs makes the node at once; udev may take a moment. */
		for (i = 0; i < 100 && access(BLKSNAP_CONTROL_PATH, F_OK) < 0; i++)
			usleep(10000);
		return 0;
	}
	module_hint();
	return -ENOENT;
}

/* The control device; the module is loaded first when it is not and the
 * control device is the default one. */
int open_ctl(struct blksnap_ctl **ctl)
{
	int ret = blksnap_ctl_open(ctl_path(), ctl);

	if (ret == -ENOENT && !getenv("BLKSNAP_CONTROL") && !module_loaded()) {
		if (load_module() < 0) {
			errmsg(ctl_path(), 0, "cannot open: the blksnap module is not loaded");
			return ret;
		}
		ret = blksnap_ctl_open(ctl_path(), ctl);
	}
	if (ret == -ENOENT)
		errmsg(ctl_path(), ret, "cannot open (is blksnap.ko loaded?)");
	else if (ret < 0)
		errmsg(ctl_path(), ret, "cannot open");
	return ret;
}

int open_dev(const char *path, struct blksnap_dev **dev)
{
	int ret = blksnap_dev_open(path, dev);

	if (ret == -ENOTBLK)
		errmsg(path, 0, "not a block device");
	else if (ret < 0)
		errmsg(path, ret, "cannot open");
	return ret;
}

int get_snapshot(struct blksnap_ctl *ctl, const char *idstr,
		 struct blksnap_snapshot **snap)
{
	struct blksnap_id id;
	int ret;

	ret = blksnap_id_parse(idstr, &id);
	if (ret < 0) {
		errmsg(idstr, 0, "not a snapshot id");
		return ret;
	}
	ret = blksnap_snapshot_open(ctl, &id, snap);
	if (ret < 0)
		errmsg(idstr, ret, "cannot open snapshot");
	return ret;
}

/* ---------------------------------------------------------------------- */

volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* SIGINT, SIGTERM, SIGHUP only set stop_signal: the work loops look at it
 * and clean up (no SA_RESTART, so that waits return EINTR). */
void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
