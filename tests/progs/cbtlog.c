// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cbtlog - the blksnap filter's cbtlog command (an extension of the
 * series: the write-intent log of a tracker) with chosen, often bad,
 * values, and a decoder of a log on disk, for the tests.
 *
 *   cbtlog [OPTIONS] DEV status|detach|checkpoint
 *   cbtlog [OPTIONS] DEV attach LOG
 *   cbtlog decode LOG
 *
 * The command prints the state it got back as KEY=VALUE lines; decode
 * prints the log's header the same way, "crc=ok" or "crc=bad", and
 * "bits=" with the numbers of the regions whose bits are set.  With -e
 * LIST the command must end with one of the listed outcomes (errno names,
 * OK for success).
 *
 * Exit status: 0 as expected, 1 not as expected, 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <endian.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <linux/blk-filter.h>
#include <linux/blksnap.h>
#include "progs.h"

static void usage(void)
{
	fputs("Usage: cbtlog [OPTIONS] DEV status|detach|checkpoint\n"
	      "       cbtlog [OPTIONS] DEV attach LOG\n"
	      "       cbtlog decode LOG\n"
	      "Options:\n"
	      "  -e LIST   expected outcomes, e.g. EINVAL,EBUSY (default OK)\n"
	      "  -r BYTES  region_size (default 0)\n"
	      "  -g HEX    generation_id, 32 hex digits (checkpoint: default\n"
	      "            the tracker's)\n"
	      "  -n NR     changes_number (checkpoint: default the tracker's)\n"
	      "  -f FLAGS  flags\n"
	      "  -R BYTE   reserved[0]\n"
	      "  -o OP     op, a number, instead of the command's\n"
	      "  -S SIZE   the size field (default optlen)\n"
	      "  -L LEN    optlen (default the structure's size)\n"
	      "  -T BYTE   with -L larger than the structure: the first byte\n"
	      "            beyond it (default 0)\n"
	      "  -F        opt is an unmapped address\n"
	      "  -B        attach: fd is a closed descriptor\n", stderr);
	exit(2);
}

static void print_gen(const char *key, const struct blksnap_uuid *id)
{
	unsigned int i;

	printf("%s=", key);
	for (i = 0; i < sizeof(id->b); i++)
		printf("%02x", id->b[i]);
	putchar('\n');
}

/* CRC-32 as zlib's crc32() computes it (reflected, 0xedb88320). */
static uint32_t crc32_zlib(const unsigned char *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static uint64_t le64(__le64 v)
{
	return le64toh((uint64_t)v);
}

static uint32_t le32(__le32 v)
{
	return le32toh((uint32_t)v);
}

/* Read the log at LOG, with O_DIRECT where it can: what is on disk. */
static int decode(const char *path)
{
	struct blksnap_cbtlog_header h;
	unsigned char *buf = NULL;
	size_t size = 1 << 20, got = 0, i, nbytes;
	uint64_t count;
	const char *sep = "";
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0)
		fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	for (;;) {
		unsigned char *nb;

		if (posix_memalign((void **)&nb, 4096, size))
			die("memory");
		if (buf) {
			memcpy(nb, buf, got);
			free(buf);
		}
		buf = nb;
		n = pread(fd, buf + got, size - got, (off_t)got);
		if (n < 0)
			die("read");
		got += (size_t)n;
		if (!n || got < size)
			break;
		size *= 2;
	}
	close(fd);
	if (got < sizeof(h)) {
		fprintf(stderr, "cbtlog: %s: too short\n", path);
		return 1;
	}
	memcpy(&h, buf, sizeof(h));
	printf("magic=%.8s\n", (const char *)h.magic);
	printf("version=%u\n", le32(h.version));
	printf("header_size=%u\n", le32(h.header_size));
	print_gen("generation", &h.generation_id);
	printf("changes_number=%u\n", h.changes_number);
	printf("capacity=%llu\n", (unsigned long long)le64(h.device_capacity));
	printf("region_size=%llu\n", (unsigned long long)le64(h.region_size));
	count = le64(h.region_count);
	printf("region_count=%llu\n", (unsigned long long)count);
	printf("sequence=%llu\n", (unsigned long long)le64(h.sequence));
	printf("crc=%s\n", crc32_zlib(buf, offsetof(struct blksnap_cbtlog_header,
						    header_crc)) ==
	       le32(h.header_crc) ? "ok" : "bad");
	nbytes = (count + 7) / 8;
	if (le32(h.header_size) + nbytes > got) {
		fprintf(stderr, "cbtlog: %s: bitmap cut short\n", path);
		return 1;
	}
	printf("bits=");
	for (i = 0; i < count; i++) {
		if (buf[le32(h.header_size) + i / 8] & (1u << (i % 8))) {
			printf("%s%zu", sep, i);
			sep = " ";
		}
	}
	putchar('\n');
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct blksnap_cbtlog a;
	struct blksnap_cbtinfo info;
	long long optlen = -1, size = -1;
	int have_gen = 0, have_nr = 0, bad_opt = 0, closed_fd = 0;
	int op = -1, opt, fd, logfd = -1, ret, err;
	unsigned int tail = 0;
	unsigned char *buf;
	const char *cmd;

	memset(&a, 0, sizeof(a));
	while ((opt = getopt(argc, argv, "e:r:g:n:f:R:o:S:L:T:FB")) != -1) {
		switch (opt) {
		case 'e': parse_expected(optarg); break;
		case 'r': a.region_size = num(optarg); break;
		case 'g': parse_gen(optarg, &a.generation_id); have_gen = 1; break;
		case 'n': a.changes_number = (__u8)num(optarg); have_nr = 1; break;
		case 'f': a.flags = (__u32)num(optarg); break;
		case 'R': a.reserved[0] = (__u8)num(optarg); break;
		case 'o': op = (int)num(optarg); break;
		case 'S': size = (long long)num(optarg); break;
		case 'L': optlen = (long long)num(optarg); break;
		case 'T': tail = (unsigned int)num(optarg); break;
		case 'F': bad_opt = 1; break;
		case 'B': closed_fd = 1; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	if (!strcmp(argv[optind], "decode")) {
		if (optind + 2 != argc)
			usage();
		return decode(argv[optind + 1]);
	}
	if (optind + 2 > argc)
		usage();
	fd = open_dev(argv[optind]);
	cmd = argv[optind + 1];
	if (!strcmp(cmd, "status")) {
		a.op = blksnap_cbtlog_status;
	} else if (!strcmp(cmd, "detach")) {
		a.op = blksnap_cbtlog_detach;
	} else if (!strcmp(cmd, "checkpoint")) {
		a.op = blksnap_cbtlog_checkpoint;
		memset(&info, 0, sizeof(info));
		if (blksnap_ctl(fd, blkfilter_ctl_blksnap_cbtinfo, &info, sizeof(info)) < 0)
			die("cbtinfo");
		if (!have_gen)
			a.generation_id = info.generation_id;
		if (!have_nr)
			a.changes_number = info.changes_number;
	} else if (!strcmp(cmd, "attach")) {
		struct stat sb;

		a.op = blksnap_cbtlog_attach;
		if (optind + 3 != argc)
			usage();
		if (stat(argv[optind + 2], &sb))
			die(argv[optind + 2]);
		logfd = open(argv[optind + 2],
			     O_RDWR | (S_ISBLK(sb.st_mode) ? O_EXCL : 0));
		if (logfd < 0)
			die(argv[optind + 2]);
		a.fd = (__u32)logfd;
		if (closed_fd) {
			close(logfd);
			logfd = -1;
		}
	} else {
		usage();
	}
	if (optind + 2 != argc && a.op != blksnap_cbtlog_attach)
		usage();
	if (op >= 0)
		a.op = (__u32)op;

	/* The structure in a buffer of optlen bytes, zeroes beyond it. */
	if (optlen < 0)
		optlen = sizeof(a);
	a.size = (__u32)(size < 0 ? optlen : size);
	buf = calloc(1, (size_t)optlen > sizeof(a) ? (size_t)optlen : sizeof(a));
	if (!buf)
		die("buffer");
	memcpy(buf, &a, sizeof(a));
	if ((size_t)optlen > sizeof(a))
		buf[sizeof(a)] = (unsigned char)tail;

	ret = blksnap_ctl(fd, blkfilter_ctl_blksnap_cbtlog,
		  bad_opt ? bad_pointer() : buf, (uint32_t)optlen);
	err = ret < 0 ? errno : 0;
	if (logfd >= 0)
		close(logfd);
	if (!err) {
		memcpy(&a, buf, sizeof(a));
		printf("state=%u\n", a.state);
		printf("attached=%u\n", !!(a.state & BLKSNAP_CBTLOG_ATTACHED));
		printf("failed=%u\n", !!(a.state & BLKSNAP_CBTLOG_FAILED));
		printf("error=%d\n", a.error);
		printf("region_size=%llu\n", (unsigned long long)a.region_size);
		printf("region_count=%llu\n", (unsigned long long)a.region_count);
		printf("log_size=%llu\n", (unsigned long long)a.log_size);
		printf("sequence=%llu\n", (unsigned long long)a.sequence);
		print_gen("generation", &a.generation_id);
		printf("changes_number=%u\n", a.changes_number);
	}
	free(buf);
	if (is_expected(err))
		return 0;
	if (err)
		fprintf(stderr, "cbtlog: %s (%s)\n", strerror(err),
			errname(err));
	else
		fprintf(stderr, "cbtlog: succeeded, expected %s\n",
			errname(first_expected()));
	return 1;
}
