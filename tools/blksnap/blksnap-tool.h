/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blksnap(8): declarations shared by the tool's files.
 */
#ifndef BLKSNAP_TOOL_H
#define BLKSNAP_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/types.h>

#include <blksnap/blksnap.h>
#include <libsmartcols/libsmartcols.h>

/* Exit codes, documented in blksnap(8). */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_CORRUPTED	3	/* the snapshot overflowed or failed */
#define EXIT_TIMEOUT	4	/* snapshot-wait-event: no event in time */
#define EXIT_MISSING	5	/* track: a configured device is absent */

/* util.c */
extern const char *prog_name;
void errmsg(const char *obj, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void warnmsg(const char *obj, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int parse_size(const char *s, uint64_t *out);
int parse_u32(const char *s, uint32_t *out);
int parse_limit(const char *cmd, const char *s, uint64_t *limit);
const char *human_size(uint64_t bytes, char *buf, size_t len);
bool all_zero(const void *buf, size_t len);
int write_all(int fd, const void *buf, size_t len, uint64_t off);
int read_all(int fd, void *buf, size_t len, uint64_t off);
int fsync_dir(const char *dir);
/* The device numbers of a block device's node: 0, or -errno (-ENOTBLK:
 * not a block device). */
int blkdev_number(const char *path, dev_t *rdev);
/* A file written whole and durably: created as tmp (O_EXCL), then
 * file_commit() flushes and syncs it, renames it to path and syncs dir;
 * on an error tmp is removed.  NULL or 0, else -errno (in *err). */
FILE *file_create(const char *tmp, mode_t mode, int *err);
int file_commit(FILE *f, const char *tmp, const char *path, const char *dir);
double now_seconds(void);
const char *ctl_path(void);
bool module_loaded(void);
int load_module(void);
int open_ctl(struct blksnap_ctl **ctl);
int open_dev(const char *path, struct blksnap_dev **dev);
int get_snapshot(struct blksnap_ctl *ctl, const char *idstr,
		 struct blksnap_snapshot **snap);

/* out.c: reports on stdout through libsmartcols, see there. */
#define OUT_JSON	(1u << 0)
#define OUT_NOHEADINGS	(1u << 1)
#define OUT_RAW		(1u << 2)

struct out_col {
	const char *name;	/* header and JSON key */
	int json;		/* SCOLS_JSON_* */
	unsigned int flags;	/* SCOLS_FL_* */
};

struct out {
	struct libscols_table *tb;
	struct libscols_line *ln;	/* the row being filled */
	const struct out_col *cols;
	size_t ncols;
	int err;
};

int out_new(struct out *o, const char *name, const struct out_col *cols,
	    size_t ncols, unsigned int flags);
void out_row(struct out *o);
int out_json_row(struct out *o, const char *name, const struct out_col *cols,
		 size_t ncols);
void out_str(struct out *o, const char *col, const char *val);
void out_u64(struct out *o, const char *col, uint64_t val);
void out_i64(struct out *o, const char *col, int64_t val);
void out_bool(struct out *o, const char *col, bool val);
void out_double(struct out *o, const char *col, double val);
int out_print(struct out *o);

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Termination signals (backup, restore). */
extern volatile sig_atomic_t stop_signal;
void catch_signals(void);

/* cmds.c: messages shared with backup. */
void create_error(const char *storage, int ret);
void add_error(const char *dev, int ret);
const char *default_storage(void);

/* Commands. */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *help;
};
void print_command_help(const struct command *c, FILE *f);
const struct command *find_command(const char *name);
/* Handle --help for a command: prints help to stdout. */
int command_help(const char *name);

int cmd_version(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_cbtinfo(int argc, char **argv);
int cmd_cbtmap(int argc, char **argv);
int cmd_markdirty(int argc, char **argv);
int cmd_snapshot_create(int argc, char **argv);
int cmd_snapshot_add(int argc, char **argv);
int cmd_snapshot_take(int argc, char **argv);
int cmd_snapshot_info(int argc, char **argv);
int cmd_snapshot_collect(int argc, char **argv);
int cmd_snapshot_wait_event(int argc, char **argv);
int cmd_snapshot_destroy(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_cbt_save(int argc, char **argv);
int cmd_cbt_restore(int argc, char **argv);
int cmd_track(int argc, char **argv);

/* cbtstate.c: the tracking state file, see blksnap(8) "TRACKING STATE". */
#define STATE_ID_MAX	255
#define STATE_FL_CONSUMED	1u	/* restored once: never again */
#define STATE_FL_LOGGED		2u	/* valid only with its write-intent log */
#define STATE_FL_CLEAN		4u	/* saved, checkpointed, then detached */
#define STATE_FL_LOGFAILED	8u	/* its log failed (at time): unusable */
#define STATE_FL_UNTRACKED	16u	/* refused: written while untracked */

struct cbt_state {
	uint32_t flags;
	uint64_t device_size;
	uint32_t block_size;
	uint32_t block_count;
	struct blksnap_id generation;
	uint32_t changes_number;
	int64_t time;
	char identity[STATE_ID_MAX + 1];
	uint32_t version;		/* of the file: 1, or 2 with the below */
	char boot_id[40];		/* of the save; "": unknown */
	uint64_t written;		/* sectors written and discarded on the
					 * device at the save (untracked.c) */
	uint64_t diskseq;		/* its disk's sequence number then */
	uint64_t untracked;		/* STATE_FL_UNTRACKED: sectors seen */
	uint8_t *map;			/* block_count bytes, malloc()ed */
};

/* sysfs attribute dir/file into buf, trailing blanks cut; -ENOENT for an
 * empty one. */
int sysfs_read(const char *dir, const char *file, char *buf, size_t len);
int device_identity(const char *path, char *id, size_t len);
void state_default_path(const char *dir, const char *identity, char *buf,
			size_t len);
int state_path(const char *dev, const char *file, const char *dir,
	       const char *given_id, char *identity, char *path, size_t len);
int state_read(const char *path, struct cbt_state *s, char *why, size_t len);
void state_free(struct cbt_state *s);
/* Mark the state file path of s consumed, durably: 0 or -errno. */
int state_consume(const char *path, struct cbt_state *s);
/* Mark it refused for n sectors written while untracked (state_untracked),
 * durably, so that it is refused ever after with that reason: 0 or
 * -errno. */
int state_refuse_untracked(const char *path, struct cbt_state *s, uint64_t n);
/* Set and clear flags of s and rewrite its header at path, durably. */
int state_flags(const char *path, struct cbt_state *s, uint32_t set,
		uint32_t clear);
/* Write s to path whole and durably (file and folder): 0 or -errno. */
int state_write(const char *path, const struct cbt_state *s);
/* Load s into the tracker of dev (attached, never used) under the
 * generation gen: 0 or -1 (reported). */
int state_load(const char *devpath, struct blksnap_dev *dev,
	       const struct cbt_state *s, const struct blksnap_id *gen);
/* The device's size in bytes: 0 or -errno. */
int device_bytes(const char *path, uint64_t *size);
/* The state file's time, for messages. */
const char *state_date(int64_t time, char *buf, size_t len);
int state_belongs(const struct cbt_state *s, const char *identity,
		  uint64_t size, char *why, size_t len);
/* The fields of s but its map from the tracker ci, of identity. */
void state_of(struct cbt_state *s, const struct blksnap_cbt_info *ci,
	      const char *identity);
/* Write s (the state of dev's last take) to path as valid with the log
 * of dev, then make it the log's checkpoint: 0, 1 when a take came in
 * between (ESTALE: the log keeps its older checkpoint), -1 (reported;
 * a failed log is marked in the state file). */
int state_checkpoint(const char *devpath, struct blksnap_dev *dev,
		     const char *path, struct cbt_state *s);
/* What cbt-save and cbt-restore do, for one device: 0, or -1 after an
 * error reported on stderr (a state refused is an error). */
struct cbt_opts {
	const char *storage;	/* of the save's snapshot; NULL: default */
	uint64_t limit;		/* most it may grow to; 0: no limit given */
	bool detach;		/* detach the filter after the save */
	bool quiet;		/* no note on success */
};

int cbt_save(const char *devpath, const char *path, const char *identity,
	     const struct cbt_opts *o);
int cbt_restore(const char *devpath, const char *path, const char *identity,
		bool quiet);
/* Attach the filter, loading the module if needed: 0, 1 if it was
 * attached already, or -errno (reported). */
int attach_dev(const char *devpath, struct blksnap_dev *dev);
/* Why the saved state file (NULL: the default one) of the device, of
 * identity given_id (NULL: its own), did not carry its tracker over. */
void state_explain(const char *devpath, const char *file, const char *given_id,
		   const struct blksnap_cbt_info *ci,
		   const struct blksnap_id *prev_gen, char *why, size_t len);

/* untracked.c: writes no tracker saw, by the devices' I/O statistics. */
#define WRITTEN_UNKNOWN	UINT64_MAX
struct dev_count {
	uint64_t written;	/* sectors written and discarded since the
				 * disk appeared; WRITTEN_UNKNOWN */
	uint64_t diskseq;	/* the disk's sequence number; 0 unknown */
};
/* The device's counts now, once no write is in flight if settle: 0, or
 * -errno (-EAGAIN: writes still in flight after 2 s). */
int device_count(const char *devpath, bool settle, struct dev_count *c);
/* The kernel's boot id into buf ("" if unknown). */
void boot_id(char *buf, size_t len);
/* Record the counts just after the attach of dev's tracker, or just after
 * the detach of the tracker of generation gen (run-time files; nothing on
 * an error). */
void attach_note(const char *devpath, struct blksnap_dev *dev);
void detach_note(const char *devpath, const struct blksnap_id *gen);
/* The counts at the attach of dev's tracker, by its record; without one
 * (attached by another program), those of now. */
void attach_count(const char *devpath, struct blksnap_dev *dev,
		  struct dev_count *c);
/* Whether devpath, of state s, was written while no tracker ran before
 * the attach whose counts are at: 0 no, or not as far as can be told;
 * else the sectors (WRITTEN_UNKNOWN: unknown writes), why into why. */
uint64_t state_untracked(const char *devpath, const struct cbt_state *s,
			 const struct dev_count *at, char *why, size_t len);
/* The boot of s is this one, its counts unknown: for a state rewritten
 * (its flags changed) as the tracker goes on. */
void state_now(struct cbt_state *s);

/* trackconf.c: the configuration of track, blksnap-tracking.conf(5). */
#define TRACK_CONF_DEFAULT	"/etc/blksnap/tracking.conf"

struct track_dev {
	char spec[1024];		/* a path or TAG=VALUE */
	char storage[4096];		/* "": the file's, or the default */
	uint64_t limit;			/* 0: the file's, or none */
	char identity[STATE_ID_MAX + 1];	/* "": the device's own */
	char log[4096];			/* "": no write-intent log */
	uint64_t log_region;		/* 0: the module's default */
	unsigned int line;		/* in the file */
};

struct track_conf {
	char state_dir[4096];		/* "": $BLKSNAP_STATE_DIR or default */
	char storage[4096];		/* "": the tool's default */
	uint64_t limit;
	struct track_dev *devs;
	size_t n;
};

/* Read file into c: 0, or -errno after errors reported as FILE:LINE. */
int track_conf_read(const char *file, struct track_conf *c);
void track_conf_free(struct track_conf *c);
/* The device node of d into path (PATH_MAX bytes): 0, -ENOENT when it is
 * absent, -ENOTBLK when it names something else. */
int track_dev_find(const struct track_dev *d, char *path, size_t len);
/* The entry of c for the block device rdev, or NULL. */
const struct track_dev *track_conf_find(const struct track_conf *c, dev_t rdev);

/* wlog.c: the write-intent log of a tracked device, see blksnap.rst. */
#define LOG_REGION_MIN	(1ull << 20)
#define LOG_REGION_MAX	(1ull << 40)

/* A log read from its file or device. */
struct wlog {
	struct blksnap_cbt_log h;
	uint8_t *bits;			/* a bit per region, malloc()ed */
	uint64_t marked;		/* bits set */
};

/* Read the log at path: 0, or -errno with why (-ENOENT: absent). */
int wlog_read(const char *path, struct wlog *l, char *why, size_t len);
void wlog_free(struct wlog *l);
/* Mark the regions of l changed in dev's tracker (cbtdirty): 0 or -errno. */
int wlog_dirty(struct blksnap_dev *dev, const struct wlog *l);
/* Attach the log at path (a block device, or a file created and sized if
 * needed) to dev's tracker: 0 or -1 (reported). */
int wlog_attach(const char *devpath, struct blksnap_dev *dev,
		const char *path, uint64_t region, struct blksnap_cbt_log *out);
/* Whether path (a block device, or a file or its folder) is on the block
 * device rdev, its disk, or a partition of it. */
bool wlog_on(const char *path, dev_t rdev);
/* The log of the state file path failed: mark the state, durably. */
void wlog_failed(const char *path);
/* Generations continued after a crash recovery, in path.links: whether
 * child continues ancestor, and from which number (0 or -ENOENT). */
int links_find(const char *path, const struct blksnap_id *child,
	       const struct blksnap_id *ancestor, uint32_t *nr);
/* child continues parent from nr (and parent's ancestors): 0 or -errno. */
int links_write(const char *path, const struct blksnap_id *child,
		const struct blksnap_id *parent, uint32_t nr);

/* meta.c: the backup format, see blksnap(8) "BACKUP FORMAT". */
#define META_FORMAT	1
#define META_NAME_MAX	200
#define META_SEQ_MAX	999999u

struct meta {
	unsigned int format;
	char name[META_NAME_MAX + 1];
	char device[4096];
	unsigned int seq;
	bool incremental;
	unsigned int base_seq;
	unsigned int base_changes_number;
	bool base_linked;		/* the base is of base_generation */
	struct blksnap_id base_generation;
	uint64_t device_size;
	uint32_t block_size;
	uint32_t block_count;
	struct blksnap_id generation;
	unsigned int changes_number;
	uint64_t changed_blocks;
	uint64_t data_size;
	uint64_t bytes_copied;
	int64_t time;
	char snapshot[BLKSNAP_ID_STR_LEN];
	bool verified;
	bool complete;
};

/* A changed-block range: tracker blocks [start, start + count). */
struct brange {
	uint32_t start;
	uint32_t count;
};

struct chain {
	struct meta *m;		/* m[0] full, then incrementals in order */
	unsigned int n;
};

int device_name(const char *path, char *name, size_t len);
void file_name(char *buf, size_t len, const char *dir, const char *name,
	       unsigned int seq, const char *ext);
int meta_write(const char *dir, const struct meta *m);
int meta_read(const char *path, struct meta *m, char *why, size_t whylen);
int blocks_write(int fd, const struct brange *r, size_t n);
int blocks_read(const char *path, const struct meta *m, struct brange **rp,
		size_t *np, char *why, size_t whylen);
uint64_t ranges_bytes(const struct meta *m, const struct brange *r, size_t n);
int meta_scan(const char *dir, const char *name, unsigned int *max_seq,
	      unsigned int *latest_complete);
int meta_names(const char *dir, char ***namesp, size_t *np);
int chain_load(const char *dir, const char *name, unsigned int seq,
	       struct chain *c, char *why, size_t whylen);
void chain_free(struct chain *c);

#endif /* BLKSNAP_TOOL_H */
