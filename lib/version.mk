# SPDX-License-Identifier: LGPL-2.1-or-later
# The one place the version of libblksnap and the blksnap tool is defined.
# The shared library's soname follows the major number.
BLKSNAP_VERSION := 1.2.0
BLKSNAP_SOVERSION := 1
