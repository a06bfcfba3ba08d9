// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tests/progs/progs.h, the helpers bfctl and snapctl share: every errno
 * named once (a name and a value each), names and numbers round trip,
 * 0 is "OK" both ways, and -e LIST's default is success only.  (The two
 * programs' copies had drifted: one named 0 "E?", one listed EDEADLK
 * twice.)  Exit 0 pass, 1 fail.
 */
#define _GNU_SOURCE
#include "../progs/progs.h"

static int failed;

#define CHECK(cond) do {						\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
			failed = 1;					\
		}							\
	} while (0)

static void usage(void)
{
	fprintf(stderr, "usage() called\n");
	exit(1);
}

int main(void)
{
	char list[] = "OK,ENOENT,EDEADLK";
	size_t i, j;

	CHECK(strcmp(errname(0), "OK") == 0);
	CHECK(errnum("OK") == 0);
	CHECK(strcmp(errname(EHWPOISON), "E?") == 0);
	for (i = 0; i < NERRNAMES; i++) {
		CHECK(errnames[i].err > 0);
		CHECK(strcmp(errname(errnames[i].err), errnames[i].name) == 0);
		CHECK(errnum(errnames[i].name) == errnames[i].err);
		for (j = i + 1; j < NERRNAMES; j++) {
			if (errnames[i].err == errnames[j].err ||
			    strcmp(errnames[i].name, errnames[j].name) == 0) {
				fprintf(stderr, "%s and %s: listed twice\n",
					errnames[i].name, errnames[j].name);
				failed = 1;
			}
		}
	}
	/* No -e: success only. */
	CHECK(is_expected(0) && !is_expected(ENOENT));
	CHECK(first_expected() == 0);
	parse_expected(list);
	CHECK(nexpected == 3 && is_expected(0) && is_expected(ENOENT) &&
	      is_expected(EDEADLK) && !is_expected(EBUSY));
	CHECK(num("0x10") == 16 && num("010") == 8 && num("12") == 12);
	return failed;
}
