/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * blksnap: block device snapshots and change tracking, the userspace
 * interface.
 *
 * Two ways in: BLKFILTER_CTL commands of the filter named "blksnap" on a
 * block device (change tracker, adding the device to a snapshot), and the
 * ioctls of the control device /dev/blksnap-control (snapshot life cycle).
 * Names, numbers and layouts are those of the "blksnap" v6 series and must
 * not change.
 */
#ifndef _UAPI_LINUX_BLKSNAP_H
#define _UAPI_LINUX_BLKSNAP_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define BLKSNAP_CTL		"blksnap-control"
#define BLKSNAP_IMAGE_NAME	"blksnap-image"
#define BLKSNAP			'V'

/**
 * enum blkfilter_ctl_blksnap - BLKFILTER_CTL commands of the blksnap filter
 * @blkfilter_ctl_blksnap_cbtinfo: fill a &struct blksnap_cbtinfo.
 * @blkfilter_ctl_blksnap_cbtmap: read part of the change map as described
 *	by a &struct blksnap_cbtmap; returns the number of bytes read.  The
 *	map is read in a loop, advancing the offset.
 * @blkfilter_ctl_blksnap_cbtdirty: mark the ranges of a &struct
 *	blksnap_cbtdirty as changed.
 * @blkfilter_ctl_blksnap_snapshotadd: add the device to the snapshot named
 *	by a &struct blksnap_snapshotadd.
 * @blkfilter_ctl_blksnap_snapshotinfo: fill a &struct blksnap_snapshotinfo.
 * @blkfilter_ctl_blksnap_cbtrestore: an extension, not in the v6 series:
 *	load a saved change map, its generation id and changes number into
 *	the tracker of a device just attached, as described by a &struct
 *	blksnap_cbtrestore.
 */
enum blkfilter_ctl_blksnap {
	blkfilter_ctl_blksnap_cbtinfo,
	blkfilter_ctl_blksnap_cbtmap,
	blkfilter_ctl_blksnap_cbtdirty,
	blkfilter_ctl_blksnap_snapshotadd,
	blkfilter_ctl_blksnap_snapshotinfo,
	blkfilter_ctl_blksnap_cbtrestore,
};

#ifndef UUID_SIZE
#define UUID_SIZE 16
#endif

/**
 * struct blksnap_uuid - a 16-byte unique identifier
 * @b: its bytes.
 */
struct blksnap_uuid {
	__u8 b[UUID_SIZE];
};

/**
 * struct blksnap_cbtinfo - the change tracker of a device
 * @device_capacity: device size in bytes.
 * @block_size: tracking block size in bytes.
 * @block_count: number of tracking blocks, one map byte each.
 * @generation_id: changes when the tracker is reset.
 * @changes_number: number of the current snapshot in this generation.
 */
struct blksnap_cbtinfo {
	__u64 device_capacity;
	__u32 block_size;
	__u32 block_count;
	struct blksnap_uuid generation_id;
	__u8 changes_number;
};

/**
 * struct blksnap_cbtmap - a piece of the change map to read
 * @offset: first map byte to read.
 * @length: size of @buffer in bytes.
 * @buffer: userspace address to read into.
 */
struct blksnap_cbtmap {
	__u32 offset;
	__u32 length;
	__u64 buffer;
};

/**
 * struct blksnap_sectors - a range of a device
 * @offset: first sector.
 * @count: number of sectors.
 */
struct blksnap_sectors {
	__u64 offset;
	__u64 count;
};

/**
 * struct blksnap_cbtdirty - ranges to mark as changed
 * @count: number of elements at @dirty_sectors.
 * @dirty_sectors: userspace address of an array of &struct blksnap_sectors.
 */
struct blksnap_cbtdirty {
	__u32 count;
	__u64 dirty_sectors;
};

/**
 * struct blksnap_cbtrestore - a saved change tracker to restore (extension)
 * @device_capacity: device size in bytes when the map was saved; must be
 *	the tracker's.
 * @block_size: tracking block size of the map, bytes; must be the
 *	tracker's.
 * @block_count: number of bytes at @map; must be the tracker's.
 * @generation_id: the saved tracker's generation id.
 * @changes_number: the saved tracker's changes number, at most 254; no
 *	byte of the map may be greater.
 * @reserved: zero.
 * @flags: zero.
 * @map: userspace address of the saved readable map.
 *
 * Extensible: optlen may be larger than this structure if the bytes
 * beyond it are zero.
 */
struct blksnap_cbtrestore {
	__u64 device_capacity;
	__u32 block_size;
	__u32 block_count;
	struct blksnap_uuid generation_id;
	__u8 changes_number;
	__u8 reserved[3];
	__u32 flags;
	__u64 map;
};

/**
 * struct blksnap_snapshotadd - the snapshot to add the device to
 * @id: the snapshot's id, from IOCTL_BLKSNAP_SNAPSHOT_CREATE.
 */
struct blksnap_snapshotadd {
	struct blksnap_uuid id;
};

#define IMAGE_DISK_NAME_LEN 32

/**
 * struct blksnap_snapshotinfo - the snapshot state of a device
 * @error_code: 0, or why the snapshot failed (-ENOSPC: it overflowed);
 *	reset when the device is added to a new snapshot.
 * @image: name of the snapshot image block device once taken, else "".
 */
struct blksnap_snapshotinfo {
	__s32 error_code;
	__u8 image[IMAGE_DISK_NAME_LEN];
};

/* Commands of the control device. */
enum blksnap_ioctl {
	blksnap_ioctl_version,
	blksnap_ioctl_snapshot_create,
	blksnap_ioctl_snapshot_destroy,
	blksnap_ioctl_snapshot_take,
	blksnap_ioctl_snapshot_collect,
	blksnap_ioctl_snapshot_wait_event,
};

/**
 * struct blksnap_version - module version, for logs
 * @major: major part.
 * @minor: minor part.
 * @revision: revision.
 * @build: build number, zero.
 */
struct blksnap_version {
	__u16 major;
	__u16 minor;
	__u16 revision;
	__u16 build;
};

/* Get the module version. */
#define IOCTL_BLKSNAP_VERSION \
	_IOR(BLKSNAP, blksnap_ioctl_version, struct blksnap_version)

/**
 * struct blksnap_snapshot_create - argument of IOCTL_BLKSNAP_SNAPSHOT_CREATE
 * @diff_storage_limit_sect: largest size the difference storage may grow
 *	to, in sectors.
 * @diff_storage_fd: descriptor of the difference storage: a regular file
 *	(possibly O_TMPFILE) or a block device, open for writing.
 * @id: out: the new snapshot's id.
 */
struct blksnap_snapshot_create {
	__u64 diff_storage_limit_sect;
	__u32 diff_storage_fd;
	struct blksnap_uuid id;
};

/* Create a snapshot and its difference storage. */
#define IOCTL_BLKSNAP_SNAPSHOT_CREATE \
	_IOWR(BLKSNAP, blksnap_ioctl_snapshot_create, \
	      struct blksnap_snapshot_create)

/* Destroy a snapshot: its images go, its storage is released. */
#define IOCTL_BLKSNAP_SNAPSHOT_DESTROY \
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_destroy, struct blksnap_uuid)

/* Take a snapshot of all its devices at once. */
#define IOCTL_BLKSNAP_SNAPSHOT_TAKE \
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_take, struct blksnap_uuid)

/**
 * struct blksnap_snapshot_collect - argument of
 *	IOCTL_BLKSNAP_SNAPSHOT_COLLECT
 * @count: in: room at @ids; out: number of snapshots.
 * @ids: userspace address of an array of &struct blksnap_uuid.
 *
 * With too little room the array is left alone, @count says how much is
 * needed and the ioctl fails with ENODATA: call once with 0 and NULL,
 * then with an array of that size.
 */
struct blksnap_snapshot_collect {
	__u32 count;
	__u64 ids;
};

/* List the snapshots. */
#define IOCTL_BLKSNAP_SNAPSHOT_COLLECT \
	_IOR(BLKSNAP, blksnap_ioctl_snapshot_collect, \
	     struct blksnap_snapshot_collect)

/**
 * enum blksnap_event_codes - events of a snapshot
 * @blksnap_event_code_corrupted: the snapshot failed (e.g. its storage
 *	overflowed); the data is a &struct blksnap_event_corrupted.
 */
enum blksnap_event_codes {
	blksnap_event_code_corrupted,
};

/**
 * struct blksnap_snapshot_event - argument of
 *	IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT
 * @id: the snapshot.
 * @timeout_ms: how long to wait, in milliseconds.
 * @code: out: an &enum blksnap_event_codes.
 * @time_label: out: when the event happened.
 * @data: out: the event's data.
 */
struct blksnap_snapshot_event {
	struct blksnap_uuid id;
	__u32 timeout_ms;
	__u32 code;
	__s64 time_label;
	__u8 data[4096 - 32];
};

/* Wait for the next event of a snapshot. */
#define IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT \
	_IOR(BLKSNAP, blksnap_ioctl_snapshot_wait_event, \
	     struct blksnap_snapshot_event)

/**
 * struct blksnap_event_corrupted - data of the corrupted event
 * @dev_id_mj: major number of the original device.
 * @dev_id_mn: minor number of the original device.
 * @err_code: the error, negative.
 */
struct blksnap_event_corrupted {
	__u32 dev_id_mj;
	__u32 dev_id_mn;
	__s32 err_code;
};

#endif /* _UAPI_LINUX_BLKSNAP_H */
