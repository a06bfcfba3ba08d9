// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cbtrestore - the blksnap filter's cbtrestore command (an extension of the
 * series) with chosen, often bad, values, from the tests.
 *
 * Builds a struct blksnap_cbtrestore from the device's own tracker
 * (cbtinfo: size, block size, block count) and the options, which change
 * one field at a time, then issues the command.  With -e LIST the call must
 * end with one of the listed outcomes (errno names, OK for success).
 *
 * Exit status: 0 as expected, 1 not as expected, 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/blk-filter.h>
#include <linux/blksnap.h>
#include "progs.h"

static void usage(void)
{
	fputs("Usage: cbtrestore [OPTIONS] DEV\n"
	      "Options (each changes one field of what the tracker has):\n"
	      "  -e LIST   expected outcomes, e.g. EINVAL,EBUSY (default OK)\n"
	      "  -n NR     changes_number (default 3)\n"
	      "  -v VALUE  every map byte (default 0)\n"
	      "  -V I:VAL  map byte I set to VAL (after -v)\n"
	      "  -c BYTES  device_capacity\n"
	      "  -s BYTES  block_size\n"
	      "  -b COUNT  block_count (the map is that long)\n"
	      "  -g HEX    generation_id, 32 hex digits (default 0x5a bytes)\n"
	      "  -r BYTE   reserved[0]\n"
	      "  -f FLAGS  flags\n"
	      "  -L LEN    optlen (default the structure's size)\n"
	      "  -T BYTE   with -L larger than the structure: the first byte\n"
	      "            beyond it (default 0)\n"
	      "  -F        opt is an unmapped address\n"
	      "  -M        map is an unmapped address\n"
	      "  -Z        map is 0\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct blksnap_cbtrestore r;
	struct blksnap_cbtinfo info;
	unsigned long long set_at = 0, set_val = 0;
	int have_set = 0, bad_opt = 0, bad_map = 0, null_map = 0;
	int have_cap = 0, have_bs = 0, have_bc = 0;
	long long optlen = -1;
	unsigned int fill = 0, tail = 0;
	unsigned char *buf, *map = NULL;
	__u32 maplen;
	char *colon;
	int opt, fd, ret, err;

	memset(&r, 0, sizeof(r));
	memset(r.generation_id.b, 0x5a, sizeof(r.generation_id.b));
	r.changes_number = 3;
	while ((opt = getopt(argc, argv, "e:n:v:V:c:s:b:g:r:f:L:T:FMZ")) != -1) {
		switch (opt) {
		case 'e': parse_expected(optarg); break;
		case 'n': r.changes_number = (__u8)num(optarg); break;
		case 'v': fill = (unsigned int)num(optarg); break;
		case 'V':
			colon = strchr(optarg, ':');
			if (!colon)
				usage();
			*colon = '\0';
			set_at = num(optarg);
			set_val = num(colon + 1);
			have_set = 1;
			break;
		case 'c': r.device_capacity = num(optarg); have_cap = 1; break;
		case 's': r.block_size = (__u32)num(optarg); have_bs = 1; break;
		case 'b': r.block_count = (__u32)num(optarg); have_bc = 1; break;
		case 'g': parse_gen(optarg, &r.generation_id); break;
		case 'r': r.reserved[0] = (__u8)num(optarg); break;
		case 'f': r.flags = (__u32)num(optarg); break;
		case 'L': optlen = (long long)num(optarg); break;
		case 'T': tail = (unsigned int)num(optarg); break;
		case 'F': bad_opt = 1; break;
		case 'M': bad_map = 1; break;
		case 'Z': null_map = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	fd = open_dev(argv[optind]);

	memset(&info, 0, sizeof(info));
	if (blksnap_ctl(fd, blkfilter_ctl_blksnap_cbtinfo, &info, sizeof(info)) < 0)
		die("cbtinfo");
	/* What no option gave is the tracker's. */
	if (!have_cap)
		r.device_capacity = info.device_capacity;
	if (!have_bs)
		r.block_size = info.block_size;
	if (!have_bc)
		r.block_count = info.block_count;

	/* A block count the module refuses (ERANGE) before it reads the map
	 * gets a map of the tracker's size, not gigabytes. */
	maplen = r.block_count <= info.block_count ? r.block_count : info.block_count;
	if (maplen) {
		map = malloc(maplen);
		if (!map)
			die("map");
		memset(map, (int)fill, maplen);
		if (have_set) {
			if (set_at >= maplen)
				usage();
			map[set_at] = (unsigned char)set_val;
		}
	}
	r.map = (uintptr_t)map;
	if (bad_map)
		r.map = (uintptr_t)bad_pointer();
	if (null_map)
		r.map = 0;

	/* The structure in a buffer of optlen bytes, zeroes beyond it. */
	if (optlen < 0)
		optlen = sizeof(r);
	buf = calloc(1, (size_t)optlen > sizeof(r) ? (size_t)optlen : sizeof(r));
	if (!buf)
		die("buffer");
	memcpy(buf, &r, sizeof(r));
	if ((size_t)optlen > sizeof(r))
		buf[sizeof(r)] = (unsigned char)tail;

	ret = blksnap_ctl(fd, blkfilter_ctl_blksnap_cbtrestore,
		  bad_opt ? bad_pointer() : buf, (uint32_t)optlen);
	err = ret < 0 ? errno : 0;
	free(buf);
	free(map);
	if (is_expected(err))
		return 0;
	if (err)
		fprintf(stderr, "cbtrestore: %s (%s)\n", strerror(err),
			errname(err));
	else
		fprintf(stderr, "cbtrestore: succeeded, expected %s\n",
			errname(first_expected()));
	return 1;
}
