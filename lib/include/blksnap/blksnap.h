/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libblksnap: block-device snapshots and change tracking.
 *
 * A thin C library over the ioctls of the blksnap kernel module: the
 * BLKFILTER_* commands on a block device and the commands of the control
 * device /dev/blksnap-control.  See libblksnap(3).
 *
 * Conventions:
 *  - every function returning int returns 0 (or a count where said) on
 *    success and a negative errno value on failure; errno itself is not
 *    a part of the contract; the module's errnos are passed through as
 *    they are;
 *  - nothing is ever printed;
 *  - the handles (struct blksnap_ctl, struct blksnap_dev, struct
 *    blksnap_snapshot) are opaque; the library keeps no global mutable
 *    state, so different handles may be used from different threads at
 *    once; one handle must not be used by two threads at a time;
 *  - descriptors are opened with O_CLOEXEC;
 *  - a snapshot handle refers to the control handle it was made with,
 *    which must stay open as long as the snapshot handle is used.
 */
#ifndef BLKSNAP_BLKSNAP_H
#define BLKSNAP_BLKSNAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------------
 * Types
 *
 * Two kinds of structure:
 *  - fixed values, struct blksnap_id and struct blksnap_range: their
 *    layout never changes (as struct iovec's), they may be stored and
 *    passed in arrays;
 *  - extensible results, the structures the library fills in (struct
 *    blksnap_module_version, blksnap_cbt_info, blksnap_image_info,
 *    blksnap_event): their first field, size, is set by the caller to
 *    sizeof the structure it was built with, e.g.
 *
 *	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
 *
 *    A size below the structure's BLKSNAP_*_SIZE_VER0, or above
 *    BLKSNAP_EXT_SIZE_MAX (the most any of them will ever be), is
 *    -EINVAL.  The library fills in as many bytes as both it and the
 *    caller know, zeroes
 *    the caller's bytes beyond what it knows, and sets size to the number
 *    of bytes it filled in: a field is valid when it ends within size
 *    (offsetof(T, field) + sizeof(field) <= size).  New fields are only
 *    ever appended, at offsets aligned to 8, with a new _SIZE_VERn.  A
 *    program built against an older header gets the fields it knows; one
 *    built against a newer header, run with an older library, sees the
 *    new fields zeroed and size telling they were not filled in.  The size
 *    the library sets is always a valid input again (a structure can be
 *    reused without setting size anew).
 */

#define BLKSNAP_EXT_SIZE_MAX	4096

/* Path of the control device. */
#define BLKSNAP_CONTROL_PATH	"/dev/blksnap-control"

/* A snapshot id or a tracker generation id: 16 bytes.  Fixed. */
struct blksnap_id {
	uint8_t b[16];
};

/* Length of the text form of an id, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
 * with its terminating NUL. */
#define BLKSNAP_ID_STR_LEN	37

/* A range of a device, in 512-byte sectors.  Fixed. */
struct blksnap_range {
	uint64_t offset;
	uint64_t count;
};

/* Version of the kernel module.  Extensible. */
struct blksnap_module_version {
	uint32_t size;			/* in: sizeof; out: bytes filled in */
	uint16_t major;
	uint16_t minor;
	uint16_t revision;
	uint16_t build;
};
#define BLKSNAP_MODULE_VERSION_SIZE_VER0	12

/* The change tracker of a device (blkfilter_ctl_blksnap_cbtinfo).
 * Extensible. */
struct blksnap_cbt_info {
	uint32_t size;			/* in: sizeof; out: bytes filled in */
	uint32_t block_size;		/* bytes per tracker block */
	uint64_t device_size;		/* bytes */
	uint32_t block_count;		/* tracker blocks, one map byte each */
	uint32_t changes_number;	/* number of the last snapshot taken
					 * (0-255 with the v6 module) */
	struct blksnap_id generation;	/* changes when the tracker resets */
};
#define BLKSNAP_CBT_INFO_SIZE_VER0	40

/* The write-intent log of a tracker (blkfilter_ctl_blksnap_cbtlog, an
 * extension of the v6 series), or a log read from disk.  The log holds
 * every region of the device written since its checkpoint: the take
 * numbered changes_number of generation.  Extensible; since 1.2. */
struct blksnap_cbt_log {
	uint32_t size;			/* in: sizeof; out: bytes filled in */
	uint32_t state;			/* BLKSNAP_CBT_LOG_* */
	int32_t error;			/* -errno that failed the log, or 0 */
	uint32_t changes_number;	/* the checkpoint's number ... */
	struct blksnap_id generation;	/* ... and generation */
	uint64_t region_size;		/* bytes of the device per bit */
	uint64_t region_count;		/* bits */
	uint64_t log_size;		/* bytes the log needs */
	uint64_t sequence;		/* number of its last write */
	uint64_t device_size;		/* bytes */
};
#define BLKSNAP_CBT_LOG_SIZE_VER0	72
/* state: a log is attached to the tracker. */
#define BLKSNAP_CBT_LOG_ATTACHED	1u
/* state: a log write failed: the log no longer follows the writes. */
#define BLKSNAP_CBT_LOG_FAILED		2u
/* The default region size: 64 MiB. */
#define BLKSNAP_CBT_LOG_REGION_DEFAULT	(64ull << 20)

/* Longest image name, with its NUL. */
#define BLKSNAP_IMAGE_NAME_MAX	33

/* The snapshot state of a device (blkfilter_ctl_blksnap_snapshotinfo):
 * image is "" until the snapshot is taken; both are 0 and "" again once
 * the snapshot is destroyed.  Extensible. */
struct blksnap_image_info {
	uint32_t size;			/* in: sizeof; out: bytes filled in */
	int32_t error;			/* 0, or -errno (negative, as the kernel
					 * gives it): why the device's image
					 * failed, e.g. -ENOSPC: overflow */
	char image[BLKSNAP_IMAGE_NAME_MAX]; /* "blksnap-image_MAJOR:MINOR" of
					 * the original device, or "" */
	uint8_t reserved0[7];		/* zeroed */
};
#define BLKSNAP_IMAGE_INFO_SIZE_VER0	48

/* Event codes. */
#define BLKSNAP_EVENT_CORRUPTED	0

/* An event of a snapshot.  BLKSNAP_EVENT_CORRUPTED: the image of one
 * device failed (its original went away, an I/O error, the storage
 * overflowed when it needed space); the images of the snapshot's other
 * devices stay readable.  Each failed device sends its own event.  The
 * payload fields of other codes are zero.  Extensible. */
struct blksnap_event {
	uint32_t size;			/* in: sizeof; out: bytes filled in */
	uint32_t code;			/* BLKSNAP_EVENT_* */
	int64_t time_ns;		/* CLOCK_MONOTONIC, nanoseconds */
	/* Payload of BLKSNAP_EVENT_CORRUPTED. */
	uint32_t dev_major;		/* the original device */
	uint32_t dev_minor;
	int32_t error;			/* errno, positive as the kernel gives
					 * it, e.g. ENOSPC: overflow */
	uint32_t reserved0;		/* zeroed */
};
#define BLKSNAP_EVENT_SIZE_VER0	32

struct blksnap_ctl;
struct blksnap_dev;
struct blksnap_snapshot;

/* ----------------------------------------------------------------------
 * Library
 */

/* Version of this library, "MAJOR.MINOR.PATCH"; a static string. */
const char *blksnap_lib_version(void);

/* Text form of an id into buf (BLKSNAP_ID_STR_LEN bytes); returns buf. */
char *blksnap_id_format(const struct blksnap_id *id, char *buf);

/* Parse an id, with dashes (8-4-4-4-12) or as 32 hex digits.
 * -EINVAL if str is anything else. */
int blksnap_id_parse(const char *str, struct blksnap_id *id);

/* ----------------------------------------------------------------------
 * Control device
 */

/* Open the control device at path (NULL: BLKSNAP_CONTROL_PATH).
 * -ENOENT when it does not exist (the module is not loaded), -EACCES,
 * -ENOMEM, ... On success *ctlp is a new handle. */
int blksnap_ctl_open(const char *path, struct blksnap_ctl **ctlp);

/* Close a control handle; NULL is ignored.  Snapshots are not destroyed. */
void blksnap_ctl_close(struct blksnap_ctl *ctl);

/* Version of the module (IOCTL_BLKSNAP_VERSION); ver->size set by the
 * caller, see Types. */
int blksnap_module_version(struct blksnap_ctl *ctl,
			   struct blksnap_module_version *ver);

/* Ids of all snapshots (IOCTL_BLKSNAP_SNAPSHOT_COLLECT: a size query,
 * then the array, again while snapshots are created meanwhile).  Returns
 * their number; *idsp is then an array of them allocated with malloc()
 * (NULL when there is none), for the caller to free().  -EAGAIN if the
 * set kept growing. */
int blksnap_snapshot_collect(struct blksnap_ctl *ctl, struct blksnap_id **idsp);

/* ----------------------------------------------------------------------
 * Block devices: filter and change tracker
 */

/* Open a block device for the calls below (read-only: the ioctls need
 * CAP_SYS_ADMIN, not write access).  -ENOTBLK if path is not a block
 * device, -ENOENT, -EACCES, ... */
int blksnap_dev_open(const char *path, struct blksnap_dev **devp);

/* Close a device handle; NULL is ignored.  The filter stays attached. */
void blksnap_dev_close(struct blksnap_dev *dev);

/* Attach the "blksnap" filter (BLKFILTER_ATTACH): starts change tracking.
 * -EALREADY if it is attached already, -EBUSY if another filter is,
 * -ENOENT if the module is not loaded. */
int blksnap_attach(struct blksnap_dev *dev);

/* Detach the "blksnap" filter (BLKFILTER_DETACH); the tracker is lost.
 * -ENOENT if no filter is attached, -EINVAL if another one is. */
int blksnap_detach(struct blksnap_dev *dev);

/* The device's change tracker (info->size set by the caller, see Types).
 * -ENOENT if the filter is not attached. */
int blksnap_cbt_info(struct blksnap_dev *dev, struct blksnap_cbt_info *info);

/* Read up to len bytes of the readable change map from byte offset into
 * buf.  Returns the number of bytes read (0 at the end). */
int blksnap_cbt_map_read(struct blksnap_dev *dev, uint32_t offset,
			 void *buf, uint32_t len);

/* Read the whole readable change map: *mapp is set to a malloc()ed array
 * of info->block_count bytes (NULL when it is 0), info (its size set by
 * the caller) to the tracker it belongs to.  Returns 0; -EIO if the map
 * ended early. */
int blksnap_cbt_map(struct blksnap_dev *dev, struct blksnap_cbt_info *info,
		    uint8_t **mapp);

/* Load a saved change tracker into the device's tracker (the module's
 * cbtrestore, an extension of the v6 series): info and map as
 * blksnap_cbt_map() gave them when the tracker was saved (info->size from
 * BLKSNAP_CBT_INFO_SIZE_VER0 up; fields this library does not know are
 * ignored).  The tracker must be fresh: attached and neither added to a
 * snapshot nor restored since; the writes since the attach are kept, as
 * changes after the saved changes_number.  -EINVAL a malformed info or map
 * (changes_number above 254, block_count 0, map NULL, a map byte above
 * changes_number), -EBUSY the tracker is not fresh, -ERANGE the device's
 * size or the tracker's block size or count is not the saved one,
 * -ENOTTY the module lacks the extension, -ENOENT the filter is not
 * attached.  On any error the tracker is unchanged.  Since 1.1. */
int blksnap_cbt_restore(struct blksnap_dev *dev,
			const struct blksnap_cbt_info *info,
			const uint8_t *map);

/* The tracker's write-intent log (an extension of the v6 series, for
 * crash safety; kernel/blksnap/blksnap.rst, "Crash safety").  These return
 * -ENOTTY with a module that lacks it and -ENOENT if the filter is not
 * attached; those that succeed fill in *log (NULL allowed where said; its
 * size set by the caller, see Types).  Since 1.2. */

/* The state of the log attached; with none, state 0 and the geometry a
 * log with regions of region_size bytes (0: the default) would have: the
 * file or device must be log->log_size bytes at least.  -EINVAL a bad
 * region_size. */
int blksnap_cbt_log_state(struct blksnap_dev *dev, uint64_t region_size,
			  struct blksnap_cbt_log *log);

/* Attach the log fd (a regular file on another device, or a block device
 * opened O_RDWR | O_EXCL; open for reading and writing) with regions of
 * region_size bytes (0: the default; else a power of two from 1 MiB to
 * 1 TiB).  Its old contents are overwritten: read them first with
 * blksnap_cbt_log_read().  Its checkpoint is the tracker's present
 * generation and changes number; it starts with the regions changed since
 * the last take.  The caller may close fd afterwards.  -EBUSY a log is
 * attached, -EINVAL a bad region_size or a log on the tracked device,
 * -EBADF fd not open for reading and writing, -ENOSPC a log smaller than
 * log_size (blksnap_cbt_log_state()), -EIO (or another errno) its first
 * write failed: nothing is attached then.  log may be NULL. */
int blksnap_cbt_log_attach(struct blksnap_dev *dev, int fd,
			   uint64_t region_size, struct blksnap_cbt_log *log);

/* Detach the log; it stays on disk as it was last written.  -ENODATA none
 * is attached. */
int blksnap_cbt_log_detach(struct blksnap_dev *dev);

/* The state of the tracker's last take, saved->generation and
 * saved->changes_number (as blksnap_cbt_map() gave them), is saved
 * durably: the regions written before that take leave the log, which is
 * written before this returns.  -ESTALE the tracker is no longer at that
 * state (a take came in between, or it was reset), -ENODATA no log is
 * attached, the log's error if it failed.  log may be NULL. */
int blksnap_cbt_log_checkpoint(struct blksnap_dev *dev,
			       const struct blksnap_cbt_info *saved,
			       struct blksnap_cbt_log *log);

/* Read the log on disk at fd (not attached: after a crash, before the
 * attach): its header into *log (state 0, error 0), and its bitmap into
 * *bitsp, malloc()ed, (region_count + 7) / 8 bytes, region i set when
 * bit i % 8 of byte i / 8 is.  -EBADMSG not a log, or a damaged header
 * (magic, CRC, sizes), -EPROTO a format version this library does not
 * know, -EIO the file ends early. */
int blksnap_cbt_log_read(int fd, struct blksnap_cbt_log *log,
			 uint8_t **bitsp);

/* Mark count ranges as changed in both maps (blkfilter_ctl_blksnap_cbtdirty).
 * -EINVAL for a range of 0 sectors or past the end of the device. */
int blksnap_cbt_mark_dirty(struct blksnap_dev *dev,
			   const struct blksnap_range *ranges, uint32_t count);

/* The device's snapshot state: error and image name (see struct
 * blksnap_image_info; info->size set by the caller). */
int blksnap_image_info(struct blksnap_dev *dev, struct blksnap_image_info *info);

/* ----------------------------------------------------------------------
 * Snapshots
 */

/* Create a snapshot (IOCTL_BLKSNAP_SNAPSHOT_CREATE) whose difference
 * storage is storage, chosen by what it is:
 *  - an existing directory: an unnamed O_TMPFILE file in it, gone at
 *    destroy;
 *  - a block device: used whole, opened O_RDWR | O_EXCL;
 *  - an existing regular file: opened O_RDWR and used from offset 0;
 *  - a path that does not exist: a regular file created there (mode 0600,
 *    O_EXCL), left in place after destroy for the caller to remove.
 * limit is the most the storage may grow to, in bytes, rounded down to
 * 512; 0 means: the size of a block device, or the space available on
 * the file's file system (-ENOSPC if that is nothing).  A limit from 1
 * to 511, or a storage of another kind (e.g. a character device), is
 * -EINVAL; a block device in use elsewhere -EBUSY; -EINTR if a signal
 * came while the module allocated the storage.  On success *snapp is a
 * new handle.  The storage descriptor is closed once the module holds
 * it. */
int blksnap_snapshot_create(struct blksnap_ctl *ctl, const char *storage,
			    uint64_t limit, struct blksnap_snapshot **snapp);

/* As blksnap_snapshot_create() with an open descriptor of the storage
 * (regular file or block device, open for reading and writing), which
 * stays the caller's. */
int blksnap_snapshot_create_fd(struct blksnap_ctl *ctl, int fd,
			       uint64_t limit, struct blksnap_snapshot **snapp);

/* A handle for the existing snapshot id (nothing is checked). */
int blksnap_snapshot_open(struct blksnap_ctl *ctl, const struct blksnap_id *id,
			  struct blksnap_snapshot **snapp);

/* Free a snapshot handle; NULL is ignored.  The snapshot is not destroyed. */
void blksnap_snapshot_free(struct blksnap_snapshot *snap);

/* The snapshot's id. */
void blksnap_snapshot_id(const struct blksnap_snapshot *snap,
			 struct blksnap_id *id);

/* Whether blksnap_snapshot_create() made the storage file (path case). */
int blksnap_snapshot_storage_created(const struct blksnap_snapshot *snap);

/* Add a device to the snapshot, attaching the filter first if it is not
 * attached.  -ESRCH unknown (or destroyed) snapshot, -EALREADY already in
 * it, -EBUSY in another snapshot or snapshot taken, -EINVAL the storage
 * is on it, -ENOENT the filter is unknown (the module is not loaded). */
int blksnap_snapshot_add(struct blksnap_snapshot *snap, struct blksnap_dev *dev);

/* Take the snapshot of all its devices at once; images appear.
 * -ESRCH unknown (or destroyed) snapshot, -ENODEV no device added,
 * -EALREADY taken already. */
int blksnap_snapshot_take(struct blksnap_snapshot *snap);

/* Wait up to timeout_ms (0: do not wait) for the snapshot's next event.
 * -ENOENT none came before the timeout (nothing yet: wait again), -ESRCH
 * unknown or destroyed snapshot (also at once for a caller waiting when
 * it is destroyed), -EINTR a signal came.  The errnos are the kernel's,
 * passed through.  ev->size set by the caller (see Types); on any error
 * *ev is left as it was. */
int blksnap_snapshot_wait_event(struct blksnap_snapshot *snap,
				uint32_t timeout_ms, struct blksnap_event *ev);

/* Destroy the snapshot: images go, storage is released.  -ENODEV if it
 * does not exist (any more).  The handle must still be freed. */
int blksnap_snapshot_destroy(struct blksnap_snapshot *snap);

#ifdef __cplusplus
}
#endif

#endif /* BLKSNAP_BLKSNAP_H */
