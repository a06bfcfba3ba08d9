// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blkcmp - which blocks of two files or block devices differ, for the
 * tests that need to know what changed on a device (since a backup, since
 * a crash) without trusting the change tracker they test.
 *
 *   blkcmp [-r REGION] A B BLOCK
 *
 * Prints "blocks=N", the number of BLOCK-byte blocks that differ, and with
 * -r "regions=I J ...", the numbers of the REGION-byte regions (a multiple
 * of BLOCK) holding one or more of them, in increasing order.  A and B must
 * have the same size, a multiple of BLOCK.
 *
 * Exit status: 0 compared (whether or not anything differs), 2 usage or
 * I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define BUF_SIZE (1 << 20)

static void usage(void)
{
	fputs("Usage: blkcmp [-r REGION] A B BLOCK\n", stderr);
	exit(2);
}

static void die(const char *what, const char *name)
{
	fprintf(stderr, "blkcmp: %s %s: %s\n", what, name, strerror(errno));
	exit(2);
}

static uint64_t number(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || !v)
		usage();
	return v;
}

static int open_sized(const char *name, uint64_t *size)
{
	struct stat st;
	int fd;

	fd = open(name, O_RDONLY);
	if (fd < 0)
		die("cannot open", name);
	if (fstat(fd, &st))
		die("cannot stat", name);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size))
			die("cannot get the size of", name);
	} else {
		*size = st.st_size;
	}
	/* What the page cache holds of a device may predate a crash. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return fd;
}

/* Reads exactly len bytes at off. */
static void read_at(int fd, const char *name, char *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("cannot read", name);
		if (!n) {
			errno = EIO;
			die("short read of", name);
		}
		done += n;
	}
}

int main(int argc, char **argv)
{
	uint64_t block, region = 0, size_a, size_b, off, b, blocks = 0;
	uint64_t last_region = UINT64_MAX;
	size_t len;
	char *buf_a, *buf_b;
	int fd_a, fd_b, opt;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt != 'r')
			usage();
		region = number(optarg);
	}
	if (argc - optind != 3)
		usage();
	block = number(argv[optind + 2]);
	if (block > BUF_SIZE || BUF_SIZE % block || (region && region % block))
		usage();
	fd_a = open_sized(argv[optind], &size_a);
	fd_b = open_sized(argv[optind + 1], &size_b);
	if (size_a != size_b || size_a % block) {
		fprintf(stderr, "blkcmp: sizes %" PRIu64 " and %" PRIu64
			" differ or are not a multiple of %" PRIu64 "\n",
			size_a, size_b, block);
		return 2;
	}
	buf_a = malloc(BUF_SIZE);
	buf_b = malloc(BUF_SIZE);
	if (!buf_a || !buf_b)
		die("out of memory for", "buffers");

	if (region)
		fputs("regions=", stdout);
	for (off = 0; off < size_a; off += len) {
		len = size_a - off < BUF_SIZE ? size_a - off : BUF_SIZE;
		read_at(fd_a, argv[optind], buf_a, len, off);
		read_at(fd_b, argv[optind + 1], buf_b, len, off);
		for (b = 0; b < len; b += block) {
			if (!memcmp(buf_a + b, buf_b + b, block))
				continue;
			blocks++;
			if (region && (off + b) / region != last_region) {
				printf("%s%" PRIu64, last_region == UINT64_MAX ? "" : " ",
				       (off + b) / region);
				last_region = (off + b) / region;
			}
		}
	}
	if (region)
		putchar('\n');
	printf("blocks=%" PRIu64 "\n", blocks);
	free(buf_a);
	free(buf_b);
	return 0;
}
