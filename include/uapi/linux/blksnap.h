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
 * @blkfilter_ctl_blksnap_cbtlog: an extension, not in the v6 series: the
 *	write-intent log of the tracker, for crash safety: attach, detach,
 *	checkpoint or state, as described by a &struct blksnap_cbtlog.
 */
enum blkfilter_ctl_blksnap {
	blkfilter_ctl_blksnap_cbtinfo,
	blkfilter_ctl_blksnap_cbtmap,
	blkfilter_ctl_blksnap_cbtdirty,
	blkfilter_ctl_blksnap_snapshotadd,
	blkfilter_ctl_blksnap_snapshotinfo,
	blkfilter_ctl_blksnap_cbtrestore,
	blkfilter_ctl_blksnap_cbtlog,
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
 * enum blksnap_cbtlog_op - what a cbtlog command does (extension)
 * @blksnap_cbtlog_status: fill in the state of the log, if one is
 *	attached; else the size a log would need.
 * @blksnap_cbtlog_attach: attach a log to the tracker.
 * @blksnap_cbtlog_detach: detach the log; it stays on disk as it is.
 * @blksnap_cbtlog_checkpoint: the tracker's state at its last take was
 *	saved durably: forget the regions written before that take.
 */
enum blksnap_cbtlog_op {
	blksnap_cbtlog_status,
	blksnap_cbtlog_attach,
	blksnap_cbtlog_detach,
	blksnap_cbtlog_checkpoint,
};

/* &struct blksnap_cbtlog.state: a log is attached. */
#define BLKSNAP_CBTLOG_ATTACHED		0x1U
/* &struct blksnap_cbtlog.state: a log write failed; the log is unsafe. */
#define BLKSNAP_CBTLOG_FAILED		0x2U

/* The default region size of a log, and the bounds of a region's size. */
#define BLKSNAP_CBTLOG_REGION_DEFAULT	(64ULL << 20)
#define BLKSNAP_CBTLOG_REGION_MIN	(1024ULL * 1024)
#define BLKSNAP_CBTLOG_REGION_MAX	(1024ULL << 30)

/**
 * struct blksnap_cbtlog - argument of the cbtlog command (extension)
 * @size: the size of this structure as the caller knows it, equal to
 *	optlen: a later version may grow it.
 * @op: an &enum blksnap_cbtlog_op.
 * @flags: zero.
 * @fd: attach: descriptor of the log, open for reading and writing: a
 *	regular file on another device, or a block device opened with
 *	O_EXCL, at least @log_size bytes.
 * @region_size: attach and status: bytes of the device one bit of the log
 *	stands for, a power of two from BLKSNAP_CBTLOG_REGION_MIN to
 *	BLKSNAP_CBTLOG_REGION_MAX, 0 for BLKSNAP_CBTLOG_REGION_DEFAULT; out:
 *	that of the log attached, or the one asked for.
 * @generation_id: checkpoint: the generation of the state saved; out: the
 *	checkpoint of the log attached.
 * @changes_number: checkpoint: the changes number of the state saved, the
 *	tracker's present one; out: the checkpoint of the log attached.
 * @reserved: zero.
 * @state: out: BLKSNAP_CBTLOG_ATTACHED, BLKSNAP_CBTLOG_FAILED.
 * @error: out: why the log failed, a negative errno, or 0.
 * @reserved2: zero.
 * @region_count: out: regions of the device, bits of the log.
 * @log_size: out: bytes the log needs (or uses): a header of 4096 bytes
 *	and the bitmap, rounded up to 4096 bytes.
 * @sequence: out: the sequence number of the last log write.
 *
 * Every operation fills in the out fields.  Extensible: @size and optlen
 * may be larger than this structure if the bytes beyond it are zero.
 */
struct blksnap_cbtlog {
	__u32 size;
	__u32 op;
	__u32 flags;
	__u32 fd;
	__u64 region_size;
	struct blksnap_uuid generation_id;
	__u8 changes_number;
	__u8 reserved[3];
	__u32 state;
	__s32 error;
	__u32 reserved2;
	__u64 region_count;
	__u64 log_size;
	__u64 sequence;
};

#define BLKSNAP_CBTLOG_MAGIC		"BSNAPWIL"
#define BLKSNAP_CBTLOG_VERSION		1
#define BLKSNAP_CBTLOG_HEADER_SIZE	4096

/**
 * struct blksnap_cbtlog_header - the header of a log on disk (extension)
 * @magic: BLKSNAP_CBTLOG_MAGIC, without its NUL.
 * @version: BLKSNAP_CBTLOG_VERSION.
 * @header_size: BLKSNAP_CBTLOG_HEADER_SIZE: where the bitmap starts.
 * @generation_id: the checkpoint: the log holds every region written
 *	since the take numbered @changes_number of this generation.
 * @device_capacity: size of the device in bytes.
 * @region_size: bytes of the device per bit.
 * @region_count: bits of the bitmap.
 * @sequence: number of this write of the log, from 1 at the attach.
 * @changes_number: see @generation_id.
 * @reserved: zero.
 * @header_crc: CRC-32 (that of zlib's crc32()) of the header up to this
 *	field.
 *
 * Little-endian, at offset 0 of the log.  The bitmap follows at
 * @header_size: bit i, region i, is bit (i % 8) of byte (i / 8).
 */
struct blksnap_cbtlog_header {
	__u8 magic[8];
	__le32 version;
	__le32 header_size;
	struct blksnap_uuid generation_id;
	__le64 device_capacity;
	__le64 region_size;
	__le64 region_count;
	__le64 sequence;
	__u8 changes_number;
	__u8 reserved[3];
	__le32 header_crc;
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
