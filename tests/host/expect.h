/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The checks of the host tests' C programs: a failed check prints where
 * and why and sets failed; the program exits 1 if it is set.
 */
#ifndef BLKSNAP_TESTS_EXPECT_H
#define BLKSNAP_TESTS_EXPECT_H

#include <stdio.h>
#include <string.h>

static int failed;

#define EXPECT(cond) do {						\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
			failed = 1;					\
		}							\
	} while (0)

#define EXPECT_RET(call, want) do {					\
		int _r = (call);					\
		if (_r != (want)) {					\
			fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s)\n", \
				__FILE__, __LINE__, #call, _r, strerror(-_r), \
				(want), strerror(-(want)));		\
			failed = 1;					\
		}							\
	} while (0)

#endif
