/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Block device filters: the userspace interface.
 *
 * A filter is attached to, detached from and controlled through ioctls on
 * the block device's own file descriptor.  The names, numbers and layouts
 * below are those of the "blksnap" v6 series and must not change.
 */
#ifndef _UAPI_LINUX_BLK_FILTER_H
#define _UAPI_LINUX_BLK_FILTER_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define BLKFILTER_NAME_LENGTH	32

/**
 * struct blkfilter_name - argument of BLKFILTER_ATTACH and BLKFILTER_DETACH
 * @name: filter name; NUL-terminated unless it fills all the bytes.
 */
struct blkfilter_name {
	__u8 name[BLKFILTER_NAME_LENGTH];
};

/**
 * struct blkfilter_ctl - argument of BLKFILTER_CTL
 * @name: name of the filter the command is meant for.
 * @cmd: filter-specific command code.
 * @optlen: size in bytes of the buffer at @opt.
 * @opt: userspace address of the command's buffer.
 */
struct blkfilter_ctl {
	__u8 name[BLKFILTER_NAME_LENGTH];
	__u32 cmd;
	__u32 optlen;
	__u64 opt;
};

/*
 * In the in-tree series these live in <linux/fs.h>; they are repeated here,
 * with identical values, so that this header is usable on its own.
 */
#ifndef BLKFILTER_ATTACH
#define BLKFILTER_ATTACH	_IOWR(0x12, 140, struct blkfilter_name)
#endif
#ifndef BLKFILTER_DETACH
#define BLKFILTER_DETACH	_IOWR(0x12, 141, struct blkfilter_name)
#endif
#ifndef BLKFILTER_CTL
#define BLKFILTER_CTL		_IOWR(0x12, 142, struct blkfilter_ctl)
#endif

#endif /* _UAPI_LINUX_BLK_FILTER_H */
