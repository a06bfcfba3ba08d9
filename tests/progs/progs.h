/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The helpers the test programs share: errno names, the options -e LIST
 * of expected outcomes and -u, dropping privileges, an unmapped pointer, a device
 * given as a path or as fd:N.  Header only (each test program is one
 * .c file, built static); the includer defines usage(), which exits.
 * Messages begin with the program's name.  tests/host/progs.c checks
 * the table.
 */
#ifndef BLKSNAP_TESTS_PROGS_H
#define BLKSNAP_TESTS_PROGS_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include"
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/blk-filter.h>
#include <linux/blksnap.h>

static void usage(void);

/* The errnos the tests name, each once; "OK" is 0. */
static const struct {
	const char *name;
	int err;
} errnames[] = {
	{ "ENOENT", ENOENT }, { "EALREADY", EALREADY }, { "EBUSY", EBUSY },
	{ "EINVAL", EINVAL }, { "ENOTTY", ENOTTY }, { "EFAULT", EFAULT },
	{ "ENODEV", ENODEV }, { "EPERM", EPERM }, { "ENOMEM", ENOMEM },
	{ "EIO", EIO }, { "ENXIO", ENXIO }, { "EACCES", EACCES },
	{ "EBADF", EBADF }, { "ENODATA", ENODATA }, { "ETIMEDOUT", ETIMEDOUT },
	{ "EDEADLK", EDEADLK }, { "ESRCH", ESRCH },
	{ "EINTR", EINTR }, { "ENOSPC", ENOSPC }, { "EEXIST", EEXIST },
	{ "E2BIG", E2BIG }, { "EOVERFLOW", EOVERFLOW }, { "EFBIG", EFBIG },
	{ "EROFS", EROFS }, { "EOPNOTSUPP", EOPNOTSUPP }, { "ERANGE", ERANGE },
	{ "EAGAIN", EAGAIN }, { "ESTALE", ESTALE },
};

#define NERRNAMES (sizeof(errnames) / sizeof(errnames[0]))

/* "OK" for 0, the name of a listed errno, "E?" for any other. */
static inline const char *errname(int err)
{
	size_t i;

	if (!err)
		return "OK";
	for (i = 0; i < NERRNAMES; i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	return "E?";
}

/* The errno of a name, 0 for "OK"; exits 2 for an unknown name. */
static inline int errnum(const char *name)
{
	size_t i;

	if (!strcmp(name, "OK"))
		return 0;
	for (i = 0; i < NERRNAMES; i++)
		if (!strcmp(errnames[i].name, name))
			return errnames[i].err;
	fprintf(stderr, "%s: unknown errno name '%s'\n",
		program_invocation_short_name, name);
	exit(2);
}

/* The accepted outcomes from -e: errno values, 0 for success; none given
 * means success only. */
static int expected[8];
static int nexpected;

static inline void parse_expected(char *list)
{
	char *tok;

	for (tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		if (nexpected == (int)(sizeof(expected) / sizeof(expected[0])))
			usage();
		expected[nexpected++] = errnum(tok);
	}
}

static inline int is_expected(int err)
{
	int i;

	if (!nexpected)
		return err == 0;
	for (i = 0; i < nexpected; i++)
		if (expected[i] == err)
			return 1;
	return 0;
}

/* -u: drop root privileges (drop_privileges()) once the device is open. */
static int unpriv;

/* The options both programs take, -e LIST and -u: 1 if opt is one of
 * them (taken), 0 if not. */
static inline int common_opt(int opt, char *arg)
{
	switch (opt) {
	case 'e':
		parse_expected(arg);
		return 1;
	case 'u':
		unpriv = 1;
		return 1;
	}
	return 0;
}

/* The first expected outcome, for messages. */
static inline int first_expected(void)
{
	return nexpected ? expected[0] : 0;
}

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		strerror(errno));
	exit(2);
}

/* To nobody, once; exits 2 if that fails. */
static inline void drop_privileges(void)
{
	static int dropped;

	if (dropped++)
		return;
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		die("dropping privileges");
}

/* An address that is certainly not mapped: a page we unmap. */
static inline void *bad_pointer(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	munmap(p, 4096);
	return p;
}

/* A decimal, octal (0...) or hexadecimal (0x...) number, whole; exits 2
 * on anything else. */
static inline unsigned long long num(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "%s: bad number '%s'\n",
			program_invocation_short_name, s);
		exit(2);
	}
	return v;
}

/* A device opened read-only, or "fd:N": a descriptor the caller opened
 * (e.g. for a disk that is gone).  Exits 2 if it cannot be opened. */
static inline int open_dev(const char *dev)
{
	int fd;

	if (!strncmp(dev, "fd:", 3))
		return (int)num(dev + 3);
	fd = open(dev, O_RDONLY);
	if (fd < 0)
		die(dev);
	return fd;
}

/* A BLKFILTER_CTL command of the blksnap filter; ioctl()'s result. */
static inline int blksnap_ctl(int fd, unsigned int cmd, void *opt,
			      uint32_t len)
{
	struct blkfilter_ctl c = { .cmd = cmd, .optlen = len };

	strcpy((char *)c.name, "blksnap");
	c.opt = (uintptr_t)opt;
	return ioctl(fd, BLKFILTER_CTL, &c);
}

/* A generation id from 32 hex digits; usage() on anything else. */
static inline void parse_gen(const char *s, struct blksnap_uuid *id)
{
	unsigned int i, v;

	if (strlen(s) != 2 * sizeof(id->b))
		usage();
	for (i = 0; i < sizeof(id->b); i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			usage();
		id->b[i] = (__u8)v;
	}
}

#endif /* BLKSNAP_TESTS_PROGS_H */
