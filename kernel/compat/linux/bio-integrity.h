/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <linux/bio-integrity.h> for older kernels, without it (6.1), which
 * declare bio_integrity() and the rest of it in <linux/bio.h>.
 *
 * The kernel's include directories come before the modules' own on the
 * compiler's command line, so that this stand-in is found only where the
 * kernel has no such header (see compat.h).
 */
#ifndef _BLKSNAP_COMPAT_BIO_INTEGRITY_H
#define _BLKSNAP_COMPAT_BIO_INTEGRITY_H

#include <linux/bio.h>

#include "compat-gen.h"

#ifdef HAVE_BIO_INTEGRITY_H
#error "the kernel's <linux/bio-integrity.h> should have been found first"
#endif

#endif /* _BLKSNAP_COMPAT_BIO_INTEGRITY_H */
