// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bfctl - drive the BLKFILTER_* ioctls from the tests.
 *
 * Uses nothing but the UAPI header, as any program written against the
 * in-tree series would.  With -e ERRNAME the command is expected to fail
 * with that errno, and bfctl succeeds only if it does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/blk-filter.h>
#include "../modules/bftest/bftest.h"
#include "progs.h"

static void usage(void)
{
	fputs("Usage: bfctl [-e ERRNAME] [-u] COMMAND DEVICE [ARGS]\n"
	      "DEVICE is a path, or fd:N for an inherited descriptor.\n"
	      "Commands:\n"
	      "  attach DEV NAME        BLKFILTER_ATTACH\n"
	      "  detach DEV NAME        BLKFILTER_DETACH\n"
	      "  ctl DEV NAME CMD [U32] BLKFILTER_CTL with an optional u32\n"
	      "  attach-noterm DEV      attach with a 32-byte name, no NUL\n"
	      "  detach-noterm DEV      detach with a 32-byte name, no NUL\n"
	      "  efault-attach DEV | efault-detach DEV | efault-ctl DEV\n"
	      "  efault-ctlbuf DEV      bftest stats into an unmapped buffer\n"
	      "  stats DEV              bftest counters as key=value lines\n"
	      "  mode DEV pass|skip|fail\n"
	      "  reset DEV | own DEV N  bftest commands\n"
	      "Options:\n"
	      "  -e LIST     expected outcomes, comma-separated errno names,\n"
	      "              OK for success; the default is OK only\n"
	      "  -u          drop root privileges after opening DEV\n", stderr);
	exit(2);
}

static void set_name(__u8 *dst, const char *name)
{
	memset(dst, 0, BLKFILTER_NAME_LENGTH);
	strncpy((char *)dst, name, BLKFILTER_NAME_LENGTH);
}

static int do_ctl(int fd, const char *name, unsigned int cmd, void *buf,
		  unsigned int len)
{
	struct blkfilter_ctl ctl = { .cmd = cmd, .optlen = len,
				     .opt = (uintptr_t)buf };

	set_name(ctl.name, name);
	return ioctl(fd, BLKFILTER_CTL, &ctl);
}

static void print_stats(const struct bftest_stats *st)
{
	printf("reads=%llu\nwrites=%llu\nothers=%llu\nread_sectors=%llu\n"
	       "write_sectors=%llu\nlast_write_sector=%llu\n"
	       "max_write_end=%llu\noutside=%llu\nskipped=%llu\nfailed=%llu\n"
	       "own_submitted=%llu\nown_seen=%llu\nmode=%u\n",
	       (unsigned long long)st->reads, (unsigned long long)st->writes,
	       (unsigned long long)st->others,
	       (unsigned long long)st->read_sectors,
	       (unsigned long long)st->write_sectors,
	       (unsigned long long)st->last_write_sector,
	       (unsigned long long)st->max_write_end,
	       (unsigned long long)st->outside,
	       (unsigned long long)st->skipped, (unsigned long long)st->failed,
	       (unsigned long long)st->own_submitted,
	       (unsigned long long)st->own_seen, st->mode);
}

int main(int argc, char **argv)
{
	struct blkfilter_name bn;
	struct bftest_stats st;
	const char *cmd, *dev;
	int opt, fd, ret;
	__u32 val;

	while ((opt = getopt(argc, argv, "e:uh")) != -1)
		if (!common_opt(opt, optarg))
			usage();
	if (argc - optind < 2)
		usage();
	cmd = argv[optind];
	dev = argv[optind + 1];
	argv += optind + 2;
	argc -= optind + 2;

	fd = open_dev(dev);
	if (unpriv)
		drop_privileges();

	memset(&st, 0, sizeof(st));
	if (!strcmp(cmd, "attach") && argc == 1) {
		set_name(bn.name, argv[0]);
		ret = ioctl(fd, BLKFILTER_ATTACH, &bn);
	} else if (!strcmp(cmd, "detach") && argc == 1) {
		set_name(bn.name, argv[0]);
		ret = ioctl(fd, BLKFILTER_DETACH, &bn);
	} else if (!strcmp(cmd, "ctl") && (argc == 2 || argc == 3)) {
		val = argc == 3 ? strtoul(argv[2], NULL, 0) : 0;
		ret = do_ctl(fd, argv[0], strtoul(argv[1], NULL, 0), &val,
			     argc == 3 ? sizeof(val) : 0);
	} else if (!strcmp(cmd, "attach-noterm") ||
		   !strcmp(cmd, "detach-noterm")) {
		memset(bn.name, 'x', sizeof(bn.name));
		memcpy(bn.name, BFTEST_NAME, strlen(BFTEST_NAME));
		ret = ioctl(fd, cmd[0] == 'a' ? BLKFILTER_ATTACH :
			    BLKFILTER_DETACH, &bn);
	} else if (!strcmp(cmd, "efault-attach")) {
		ret = ioctl(fd, BLKFILTER_ATTACH, bad_pointer());
	} else if (!strcmp(cmd, "efault-detach")) {
		ret = ioctl(fd, BLKFILTER_DETACH, bad_pointer());
	} else if (!strcmp(cmd, "efault-ctl")) {
		ret = ioctl(fd, BLKFILTER_CTL, bad_pointer());
	} else if (!strcmp(cmd, "efault-ctlbuf")) {
		ret = do_ctl(fd, BFTEST_NAME, BFTEST_CMD_STATS, bad_pointer(),
			     sizeof(st));
	} else if (!strcmp(cmd, "stats")) {
		ret = do_ctl(fd, BFTEST_NAME, BFTEST_CMD_STATS, &st,
			     sizeof(st));
	} else if (!strcmp(cmd, "mode") && argc == 1) {
		if (!strcmp(argv[0], "pass"))
			val = BFTEST_PASS;
		else if (!strcmp(argv[0], "skip"))
			val = BFTEST_SKIP_WRITES;
		else if (!strcmp(argv[0], "fail"))
			val = BFTEST_FAIL_WRITES;
		else
			usage();
		ret = do_ctl(fd, BFTEST_NAME, BFTEST_CMD_MODE, &val,
			     sizeof(val));
	} else if (!strcmp(cmd, "reset")) {
		ret = do_ctl(fd, BFTEST_NAME, BFTEST_CMD_RESET, NULL, 0);
	} else if (!strcmp(cmd, "own") && argc == 1) {
		val = strtoul(argv[0], NULL, 0);
		ret = do_ctl(fd, BFTEST_NAME, BFTEST_CMD_OWN_IO, &val,
			     sizeof(val));
	} else {
		usage();
	}

	if (ret < 0) {
		int err = errno;

		if (is_expected(err))
			return 0;
		fprintf(stderr, "bfctl: %s %s: %s (%s)\n", cmd, dev,
			strerror(err), errname(err));
		return 1;
	}
	if (!is_expected(0)) {
		fprintf(stderr, "bfctl: %s %s: succeeded, expected %s\n", cmd,
			dev, errname(first_expected()));
		return 1;
	}
	if (!strcmp(cmd, "stats"))
		print_stats(&st);
	return 0;
}
