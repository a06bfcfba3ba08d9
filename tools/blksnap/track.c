// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8) track start|stop|status: cbt-restore and cbt-save for every
 * device of the configuration file, as the boot and the shutdown run them
 * (the systemd unit blksnap-tracking.service, the initramfs-tools script).
 *
 * A device with a write-intent log (log= in the configuration) follows
 * the protocol of blksnap.rst, "Crash safety": at start, its saved state
 * is loaded with the regions its old log marks, then the log is attached
 * (its checkpoint: the state loaded); each save writes the state durably,
 * then makes it the log's checkpoint.  Such a state stays valid after its
 * restore (STATE_FL_LOGGED): with the log, it misses no write even after
 * a crash; without a sound log it is refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "blksnap-tool.h"

enum track_action { TRACK_START, TRACK_STOP, TRACK_STATUS };

struct track_args {
	enum track_action action;
	const char *conf;
	bool quiet, detach, attach_only;
	double wait;			/* seconds */
	unsigned int out_flags;
	char **devs;			/* DEVICE arguments */
	int ndevs;
};

/* A device of the configuration, found or not. */
struct track_item {
	const struct track_dev *d;
	char path[PATH_MAX];		/* "" while absent */
	int err;			/* of track_dev_find() */
};

static int track_args(int argc, char **argv, struct track_args *a)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "attach-only", no_argument, NULL, 'A' },
		{ "wait", required_argument, NULL, 'w' },
		{ "detach", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "raw", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const actions[] = { "start", "stop", "status" };
	/* The options each action takes, besides -h, -c and -q. */
	static const char *const own[] = { "Aw", "d", "jnr" };
	uint32_t secs;
	size_t i;
	int opt;

	memset(a, 0, sizeof(*a));
	a->conf = TRACK_CONF_DEFAULT;
	a->action = (enum track_action)-1;
	/* The action is the first argument; options may come before it. */
	while ((opt = getopt_long(argc, argv, "hc:qAw:djnr", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			command_help(argv[0]);
			return EXIT_OK;
		case 'c': a->conf = optarg; break;
		case 'q': a->quiet = true; break;
		case 'A': a->attach_only = true; break;
		case 'd': a->detach = true; break;
		case 'j': a->out_flags |= OUT_JSON; break;
		case 'n': a->out_flags |= OUT_NOHEADINGS; break;
		case 'r': a->out_flags |= OUT_RAW; break;
		case 'w':
			if (parse_u32(optarg, &secs) < 0 || secs > 3600)
				return usage_error(argv[0], "invalid wait '%s' (seconds, 0 to 3600)",
						   optarg);
			a->wait = secs;
			break;
		default: return usage_error(argv[0], "invalid option");
		}
	}
	if (optind >= argc)
		return usage_error(argv[0], "missing action (start, stop or status)");
	for (i = 0; i < ARRAY_SIZE(actions); i++)
		if (!strcmp(argv[optind], actions[i]))
			a->action = (enum track_action)i;
	if (a->action == (enum track_action)-1)
		return usage_error(argv[0], "unknown action '%s' (start, stop or status)",
				   argv[optind]);
	/* Options of another action: named by their letters in own[]. */
	for (i = 0; i < ARRAY_SIZE(own); i++) {
		bool given = (strchr(own[i], 'A') && a->attach_only) ||
			     (strchr(own[i], 'w') && a->wait > 0) ||
			     (strchr(own[i], 'd') && a->detach) ||
			     (strchr(own[i], 'j') && a->out_flags);

		if (given && i != (size_t)a->action)
			return usage_error(argv[0], "an option of 'track %s' given to 'track %s'",
					   actions[i], argv[optind]);
	}
	a->devs = argv + optind + 1;
	a->ndevs = argc - optind - 1;
	return -1;
}

/* Find the configured devices, waiting up to a->wait seconds for absent
 * ones.  Returns how many are absent. */
static size_t track_find(const struct track_conf *c, struct track_item *it,
			 double wait)
{
	double end = now_seconds() + wait;
	size_t i, absent;

	for (;;) {
		absent = 0;
		for (i = 0; i < c->n; i++) {
			it[i].d = &c->devs[i];
			if (it[i].path[0])
				continue;
			it[i].err = track_dev_find(&c->devs[i], it[i].path,
						   sizeof(it[i].path));
			if (it[i].err < 0) {
				it[i].path[0] = '\0';
				absent++;
			}
		}
		if (!absent || now_seconds() >= end)
			return absent;
		usleep(200000);
	}
}

/* The device numbers of a path, or 0. */
static dev_t track_rdev(const char *path)
{
	dev_t rdev;

	return blkdev_number(path, &rdev) == 0 ? rdev : 0;
}

/* Whether the user asked for this device (no DEVICE argument: all). */
static bool track_wanted(const struct track_args *a, const struct track_item *it)
{
	dev_t rdev = it->path[0] ? track_rdev(it->path) : 0;
	int i;

	if (!a->ndevs)
		return true;
	for (i = 0; i < a->ndevs; i++)
		if (rdev && track_rdev(a->devs[i]) == rdev)
			return true;
	return false;
}

/* DEVICE arguments that are no configured device: a note each. */
static void track_unlisted(const struct track_args *a, const struct track_item *it,
			   size_t n)
{
	size_t k;
	int i;

	for (i = 0; i < a->ndevs; i++) {
		dev_t rdev = track_rdev(a->devs[i]);

		for (k = 0; k < n; k++)
			if (rdev && it[k].path[0] && track_rdev(it[k].path) == rdev)
				break;
		if (k == n && !a->quiet)
			warnmsg(a->devs[i], "not a device of %s: nothing done", a->conf);
	}
}

/* Whether the device numbered disk, or a partition of it, has a file
 * system mounted read-write; its mount point into mnt. */
static bool track_mounted_rw(dev_t disk, char *mnt, size_t len)
{
	char line[8192], sys[128], parent[PATH_MAX], devno[64], want[64];
	unsigned int maj, min;
	bool found = false;
	FILE *f;

	snprintf(want, sizeof(want), "%u:%u", major(disk), minor(disk));
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char point[4096], *sep, super[1024];

		/* ID PARENT MAJ:MIN ROOT POINT OPTIONS ... - TYPE SOURCE SUPER */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, point) != 3)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep, " - %*s %*s %1023s", super) != 1 ||
		    strncmp(super, "rw", 2) || (super[2] && super[2] != ','))
			continue;
		if (makedev(maj, min) == disk) {
			found = true;
		} else {
			/* A partition: its sysfs folder is in the disk's. */
			snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition", maj, min);
			if (access(sys, F_OK) < 0)
				continue;
			snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", maj, min);
			if (!realpath(sys, parent))
				continue;
			dirname(parent);
			found = sysfs_read(parent, "dev", devno, sizeof(devno)) == 0 &&
				!strcmp(devno, want);
		}
		if (found)
			snprintf(mnt, len, "%s", point);
	}
	fclose(f);
	return found;
}

/* The device's identity and state file, as the entry says.  0 or -1
 * (reported). */
static int track_state(const struct track_conf *c, const struct track_item *it,
		       char *identity, char *path, size_t len)
{
	return state_path(it->path, NULL, c->state_dir,
			  it->d->identity[0] ? it->d->identity : NULL,
			  identity, path, len) < 0 ? -1 : 0;
}

/* A new generation id, random (RFC 4122 version 4). */
static int track_new_generation(struct blksnap_id *g)
{
	if (getrandom(g->b, sizeof(g->b), 0) != (ssize_t)sizeof(g->b))
		return -errno;
	g->b[6] = (uint8_t)((g->b[6] & 0x0f) | 0x40);
	g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80);
	return 0;
}

/* Why the old log l cannot complete the state s of a device of size
 * bytes, into why; 0 if it can. */
static int track_log_fits(const struct cbt_state *s, const struct wlog *l,
			  uint64_t size, char *why, size_t len)
{
	char g[BLKSNAP_ID_STR_LEN];

	if (l->h.device_size != size)
		snprintf(why, len, "its write-intent log is of a device of %llu bytes, this one has %llu",
			 (unsigned long long)l->h.device_size, (unsigned long long)size);
	else if (memcmp(&l->h.generation, &s->generation, sizeof(s->generation)))
		snprintf(why, len, "its write-intent log is of another tracker (generation %s)",
			 blksnap_id_format(&l->h.generation, g));
	/* The log holds every write since the take of its checkpoint; a
	 * state of a later take of the same generation holds all before. */
	else if (l->h.changes_number > s->changes_number)
		snprintf(why, len, "the checkpoint of its write-intent log (number %u) is newer than the state (number %u)",
			 l->h.changes_number, s->changes_number);
	else
		return 0;
	return -EINVAL;
}

/*
 * Load the state s, valid only with its log, and the regions the old log
 * marks.  After a clean stop (STATE_FL_CLEAN: saved, checkpointed, then
 * detached, so no take followed the save) the tracker goes on in its
 * generation.  Otherwise (a crash, or a device left running at the stop)
 * snapshots may have been taken after the save, and backups made of them
 * with higher changes numbers than the state's: the same numbers given
 * again by the restored tracker would name other changes.  The tracker
 * then goes on as a new generation, which the links file records as
 * continuing the old one from the state's number: an incremental backup
 * on a backup numbered k of the old generation copies the blocks above
 * min(k, number) (backup.c), a superset of what changed since either.
 * 0 loaded, -1 not (reported: the tracker stays fresh).
 */
static int track_recover(const struct track_args *a, const struct track_dev *d,
			 const char *dev, struct blksnap_dev *bd,
			 const char *path, struct cbt_state *s)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	char why[1024], g1[BLKSNAP_ID_STR_LEN], g2[BLKSNAP_ID_STR_LEN], rs[32];
	bool clean = s->flags & STATE_FL_CLEAN;
	struct blksnap_id gen = s->generation;
	struct dev_count at;
	struct cbt_state n;
	struct wlog l;
	uint64_t size, untracked;
	int ret;

	ret = device_bytes(dev, &size);
	if (ret < 0) {
		errmsg(dev, ret, "cannot read the device's size");
		return -1;
	}
	ret = wlog_read(d->log, &l, why, sizeof(why));
	if (ret < 0) {
		warnmsg(dev, "saved tracking state %s refused: it needs its write-intent log %s: %s",
			path, d->log, why);
		return -1;
	}
	if (track_log_fits(s, &l, size, why, sizeof(why)) < 0) {
		warnmsg(dev, "saved tracking state %s refused: %s", path, why);
		goto fail;
	}
	/* The log holds the writes of trackers with it, not those before
	 * this one's attach. */
	attach_count(dev, bd, &at);
	untracked = state_untracked(dev, s, &at, why, sizeof(why));
	if (untracked) {
		warnmsg(dev, "saved tracking state %s refused: %s", path, why);
		ret = state_refuse_untracked(path, s, untracked);
		if (ret < 0)
			errmsg(path, ret, "cannot mark refused");
		goto fail;
	}
	/* Rewritten as a state of this boot: the tracker goes on in it. */
	state_now(s);
	if (clean)
		ret = state_flags(path, s, 0, STATE_FL_CLEAN);
	else if (!(ret = track_new_generation(&gen)))
		ret = links_write(path, &gen, &s->generation, s->changes_number);
	if (ret < 0) {
		errmsg(path, ret, "cannot write");
		goto fail;
	}
	if (state_load(dev, bd, s, &gen) < 0)
		goto fail;
	ret = wlog_dirty(bd, &l);
	if (ret < 0) {
		/* The tracker misses the log's regions: start afresh. */
		errmsg(dev, ret, "cannot mark the write-intent log's regions changed");
		blksnap_detach(bd);
		attach_dev(dev, bd);
		goto fail;
	}
	if (!clean) {
		/* The state of the new generation, which the log's
		 * checkpoint will name: the old one and the log's regions. */
		n = *s;
		n.map = NULL;
		ret = blksnap_cbt_map(bd, &ci, &n.map);
		if (ret == 0) {
			state_of(&n, &ci, s->identity);
			n.flags = STATE_FL_LOGGED;
			ret = state_write(path, &n);
		}
		state_free(&n);
		if (ret < 0)
			errmsg(path, ret, "cannot save the recovered state");
	}
	if (!a->quiet && clean)
		warnmsg(dev, "tracking state restored from %s (generation %s, number %u) with the %llu regions its write-intent log marks",
			path, blksnap_id_format(&s->generation, g1), s->changes_number,
			(unsigned long long)l.marked);
	else if (!a->quiet)
		warnmsg(dev, "recovered from %s (generation %s, number %u) and the %llu regions of %s that %s marks: tracked on as generation %s",
			path, blksnap_id_format(&s->generation, g1), s->changes_number,
			(unsigned long long)l.marked,
			human_size(l.h.region_size, rs, sizeof(rs)), d->log,
			blksnap_id_format(&gen, g2));
	wlog_free(&l);
	return 0;
fail:
	wlog_free(&l);
	return -1;
}

/* The state loaded into a tracker that got its log: valid with the log
 * (not consumed) when the log's checkpoint names it. */
static void track_log_names(const char *path, const struct blksnap_cbt_log *lg)
{
	struct cbt_state s;
	char why[512];
	int ret;

	if (state_read(path, &s, why, sizeof(why)) < 0)
		return;
	if (!(s.flags & STATE_FL_LOGFAILED) &&
	    !memcmp(&s.generation, &lg->generation, sizeof(s.generation)) &&
	    s.changes_number == lg->changes_number &&
	    (s.flags & (STATE_FL_LOGGED | STATE_FL_CONSUMED | STATE_FL_CLEAN)) != STATE_FL_LOGGED) {
		state_now(&s);
		ret = state_flags(path, &s, STATE_FL_LOGGED,
				  STATE_FL_CONSUMED | STATE_FL_CLEAN);
		if (ret < 0)
			errmsg(path, ret, "cannot write");
	}
	state_free(&s);
}

/* Attach the device's log, after its state was loaded (or not). */
static void track_attach_log(const struct track_args *a, const struct track_dev *d,
			     const char *dev, struct blksnap_dev *bd, const char *path)
{
	struct blksnap_cbt_log lg = { .size = sizeof(lg) };
	char rs[32];

	if (wlog_attach(dev, bd, d->log, d->log_region, &lg) < 0) {
		warnmsg(dev, "tracked without a write-intent log: after a crash, its next incremental backup is full");
		return;
	}
	track_log_names(path, &lg);
	if (!a->quiet)
		warnmsg(dev, "write-intent log %s attached (%llu regions of %s)", d->log,
			(unsigned long long)lg.region_count,
			human_size(lg.region_size, rs, sizeof(rs)));
}

/* The log of d is on none of the configured devices: 0, else -1
 * (reported). */
static int track_log_place(const struct track_args *a, const struct track_item *it,
			   size_t n, const struct track_item *self)
{
	size_t i;

	if (!self->d->log[0])
		return 0;
	for (i = 0; i < n; i++) {
		if (!it[i].path[0] || !wlog_on(self->d->log, track_rdev(it[i].path)))
			continue;
		errmsg(self->path, 0, "%s line %u: the write-intent log %s is on the configured device %s: not tracked",
		       a->conf, self->d->line, self->d->log, it[i].path);
		return -1;
	}
	return 0;
}

/* Attach, then restore the saved state if there is one; with a log, see
 * track_recover().  0 when the device is tracked (its state restored or
 * not), else -1. */
static int track_start(const struct track_args *a, const struct track_conf *c,
		       const struct track_item *it)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	struct blksnap_cbt_log lg = { .size = sizeof(lg) };
	char identity[STATE_ID_MAX + 1], path[PATH_MAX], why[1024];
	const char *dev = it->path;
	bool logged = it->d->log[0] && !a->attach_only;
	struct blksnap_dev *bd;
	struct cbt_state s;
	uint64_t size;
	int ret;

	if (!a->attach_only && track_state(c, it, identity, path, sizeof(path)) < 0)
		return -1;
	if (open_dev(dev, &bd) < 0)
		return -1;
	ret = attach_dev(dev, bd);
	if (ret == 1 && !a->attach_only) {
		int err = blksnap_cbt_info(bd, &ci);

		if (err < 0) {
			errmsg(dev, err, "cannot read the change tracker");
			ret = -1;
		}
	}
	if (ret < 0)
		goto out;
	if (a->attach_only) {
		if (!a->quiet)
			warnmsg(dev, "%s", ret == 1 ? "already tracked" : "tracked from now on");
		ret = 0;
		goto out;
	}
	if (ret == 1 && logged && blksnap_cbt_log_state(bd, 0, &lg) == 0 &&
	    (lg.state & BLKSNAP_CBT_LOG_ATTACHED)) {
		if (!a->quiet)
			warnmsg(dev, "already tracked, with its write-intent log");
		ret = 0;
		goto out;
	}
	/* Attached before, and of the generation of path: restored from it
	 * (consumed), or saved to it and attached since (stop without
	 * --detach).  The tracker holds all; a state left unconsumed would
	 * miss its later writes after a crash. */
	if (ret == 1 && state_read(path, &s, why, sizeof(why)) == 0) {
		bool held = !memcmp(&s.generation, &ci.generation, sizeof(ci.generation));
		bool restored = s.flags & STATE_FL_CONSUMED;

		ret = held && !restored ? state_consume(path, &s) : 0;
		state_free(&s);
		if (ret < 0) {
			errmsg(path, ret, "cannot mark consumed");
			ret = -1;
			goto out;
		}
		if (held) {
			if (!a->quiet)
				warnmsg(dev, restored ? "already tracked, with the state restored from %s" :
					"already tracked since the save to %s",
					path);
			goto log;
		}
	}
	ret = state_read(path, &s, why, sizeof(why));
	if (ret == -ENOENT) {
		if (!a->quiet)
			warnmsg(dev, "no saved tracking state (%s): tracked from now on, the next incremental backup is full",
				path);
		goto log;
	}
	if (ret == 0 && logged && (s.flags & STATE_FL_LOGGED) &&
	    device_bytes(dev, &size) == 0 && !state_belongs(&s, identity, size, why, sizeof(why))) {
		ret = track_recover(a, it->d, dev, bd, path, &s);
		state_free(&s);
		if (ret < 0)
			warnmsg(dev, "tracked from now on without the saved state: the next incremental backup is full");
		goto log;
	}
	if (ret == 0)
		state_free(&s);
	if (cbt_restore(dev, path, identity, a->quiet) < 0)
		warnmsg(dev, "tracked from now on without the saved state: the next incremental backup is full");
log:
	if (logged)
		track_attach_log(a, it->d, dev, bd, path);
	ret = 0;
out:
	blksnap_dev_close(bd);
	return ret;
}

/* The state of the log attached to the tracker of dev: 1 attached and
 * sound, 0 none, -1 failed (then marked in the state file path). */
static int track_log_state(const char *dev, const char *path,
			   struct blksnap_cbt_log *lg)
{
	struct blksnap_dev *bd;
	int ret;

	lg->size = sizeof(*lg);
	if (blksnap_dev_open(dev, &bd) < 0)
		return 0;
	ret = blksnap_cbt_log_state(bd, 0, lg);
	blksnap_dev_close(bd);
	if (ret < 0 || !(lg->state & BLKSNAP_CBT_LOG_ATTACHED))
		return 0;
	if (lg->state & BLKSNAP_CBT_LOG_FAILED) {
		wlog_failed(path);
		return -1;
	}
	return 1;
}

static int track_stop(const struct track_args *a, const struct track_conf *c,
		      const struct track_item *it)
{
	struct cbt_opts o = { .detach = a->detach, .quiet = a->quiet };
	char identity[STATE_ID_MAX + 1], path[PATH_MAX], dir[PATH_MAX], mnt[4096];
	struct blksnap_cbt_log lg;

	if (track_state(c, it, identity, path, sizeof(path)) < 0)
		return -1;
	if (track_mounted_rw(track_rdev(it->path), mnt, sizeof(mnt))) {
		/* The root device at shutdown: its log holds the writes since
		 * its last checkpoint, so that the next start recovers from
		 * the state saved then and the log, as after a crash. */
		if (it->d->log[0] && track_log_state(it->path, path, &lg) > 0) {
			if (!a->quiet)
				warnmsg(it->path, "not saved: %s is mounted read-write from it; left tracked with its write-intent log, from which the next start recovers",
					mnt);
			return 0;
		}
		errmsg(it->path, 0, "not saved: %s is mounted read-write from it, and its writes after the save would be missed (unmount it or remount it read-only first)",
		       mnt);
		return -1;
	}
	/* The state folder of a first save; its parent must exist. */
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0700) < 0 && errno != EEXIST) {
		errmsg(dir, errno, "cannot create the state folder");
		return -1;
	}
	o.storage = it->d->storage[0] ? it->d->storage :
		    c->storage[0] ? c->storage : NULL;
	o.limit = it->d->limit ? it->d->limit : c->limit;
	return cbt_save(it->path, path, identity, &o);
}

/* The log columns of track status for the device of it. */
static void track_status_log(struct out *o, const struct track_item *it,
			     const char *path, bool json)
{
	struct blksnap_cbt_log lg;
	const char *state = "none";
	char why[512];
	struct wlog l;
	int ret;

	if (!it->d->log[0]) {
		out_str(o, "log-state", state);
		return;
	}
	ret = track_log_state(it->path, path, &lg);
	if (ret > 0)
		state = "ok";
	else if (ret < 0)
		state = "FAILED";
	if (wlog_read(it->d->log, &l, why, sizeof(why)) == 0) {
		if (!ret)
			state = "detached";
		if (json) {
			out_u64(o, "region-size", l.h.region_size);
			out_u64(o, "marked-regions", l.marked);
		}
		wlog_free(&l);
	} else if (!ret) {
		state = "unusable";
		if (json)
			out_str(o, "log-reason", why);
	}
	if (ret && json)
		out_u64(o, "region-size", lg.region_size);
	if (json)
		out_str(o, "log", it->d->log);
	out_str(o, "log-state", state);
}

static int track_status(const struct track_args *a, const struct track_conf *c,
			const struct track_item *it, size_t n)
{
	static const struct out_col cols[] = {
		{ "device", SCOLS_JSON_STRING, 0 },
		{ "path", SCOLS_JSON_STRING, 0 },
		{ "tracked", SCOLS_JSON_BOOLEAN, 0 },
		{ "state", SCOLS_JSON_STRING, 0 },
		{ "log-state", SCOLS_JSON_STRING, 0 },
		{ "file", SCOLS_JSON_STRING, 0 },
		{ "line", SCOLS_JSON_NUMBER, 0 },
		{ "identity", SCOLS_JSON_STRING, 0 },
		{ "generation", SCOLS_JSON_STRING, 0 },
		{ "saved", SCOLS_JSON_NUMBER, 0 },
		{ "reason", SCOLS_JSON_STRING, 0 },
		{ "log", SCOLS_JSON_STRING, 0 },
		{ "region-size", SCOLS_JSON_NUMBER, 0 },
		{ "marked-regions", SCOLS_JSON_NUMBER, 0 },
		{ "log-reason", SCOLS_JSON_STRING, 0 },
	};
	bool json = a->out_flags & OUT_JSON;
	struct out o;
	size_t i;

	if (out_new(&o, "devices", cols, json ? ARRAY_SIZE(cols) : 6, a->out_flags) < 0)
		return EXIT_FAIL;
	for (i = 0; i < n; i++) {
		struct blksnap_cbt_info ci = { .size = sizeof(ci) };
		char identity[STATE_ID_MAX + 1], path[PATH_MAX], why[1024];
		char gen[BLKSNAP_ID_STR_LEN];
		const char *state = "absent";
		struct blksnap_dev *bd;
		struct cbt_state s;
		int ret;

		if (!track_wanted(a, &it[i]))
			continue;
		out_row(&o);
		out_str(&o, "device", it[i].d->spec);
		if (json)
			out_u64(&o, "line", it[i].d->line);
		if (!it[i].path[0]) {
			out_str(&o, "state", state);
			continue;
		}
		out_str(&o, "path", it[i].path);
		ret = blksnap_dev_open(it[i].path, &bd);
		if (ret == 0) {
			ret = blksnap_cbt_info(bd, &ci);
			blksnap_dev_close(bd);
		}
		out_bool(&o, "tracked", ret == 0);
		if (track_state(c, &it[i], identity, path, sizeof(path)) < 0) {
			out_str(&o, "state", "no identity");
			continue;
		}
		out_str(&o, "file", path);
		if (json)
			out_str(&o, "identity", identity);
		track_status_log(&o, &it[i], path, json);
		ret = state_read(path, &s, why, sizeof(why));
		if (ret == -ENOENT) {
			state = "none";
		} else if (ret < 0) {
			state = "bad";
		} else {
			state = s.flags & STATE_FL_CONSUMED ? "consumed" :
				s.flags & STATE_FL_LOGFAILED ? "log-failed" :
				s.flags & STATE_FL_UNTRACKED ? "written-untracked" :
				s.flags & STATE_FL_LOGGED ? "logged" : "saved";
			if (json) {
				out_str(&o, "generation", blksnap_id_format(&s.generation, gen));
				out_i64(&o, "saved", s.time);
			}
			if (strcmp(s.identity, identity)) {
				state = "bad";
				snprintf(why, sizeof(why), "it belongs to %s", s.identity);
				ret = -EINVAL;
			}
			state_free(&s);
		}
		out_str(&o, "state", state);
		if (json && ret < 0 && ret != -ENOENT)
			out_str(&o, "reason", why);
	}
	return out_print(&o) < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_track(int argc, char **argv)
{
	struct track_args a;
	struct track_conf c;
	struct track_item *it;
	size_t i, absent;
	int ret, failed = 0, missing = 0;

	ret = track_args(argc, argv, &a);
	if (ret >= 0)
		return ret;
	if (track_conf_read(a.conf, &c) < 0)
		return EXIT_FAIL;
	it = calloc(c.n ? c.n : 1, sizeof(*it));
	if (!it) {
		errmsg(NULL, ENOMEM, "cannot track");
		track_conf_free(&c);
		return EXIT_FAIL;
	}
	absent = track_find(&c, it, a.action == TRACK_START ? a.wait : 0);
	if (a.action == TRACK_STATUS) {
		ret = track_status(&a, &c, it, c.n);
		goto out;
	}
	track_unlisted(&a, it, c.n);
	for (i = 0; i < c.n && (absent || a.ndevs); i++) {
		if (it[i].path[0] || a.ndevs)
			continue;
		if (it[i].err == -ENOENT)
			warnmsg(it[i].d->spec, "%s line %u: absent: not %s", a.conf,
				it[i].d->line, a.action == TRACK_START ? "tracked" : "saved");
		else
			errmsg(it[i].d->spec, it[i].err, "%s line %u: not %s", a.conf,
			       it[i].d->line, a.action == TRACK_START ? "tracked" : "saved");
		missing++;
	}
	for (i = 0; i < c.n; i++) {
		if (!it[i].path[0] || !track_wanted(&a, &it[i]))
			continue;
		if (a.action == TRACK_START)
			ret = track_log_place(&a, it, c.n, &it[i]) < 0 ? -1 :
			      track_start(&a, &c, &it[i]);
		else
			ret = track_stop(&a, &c, &it[i]);
		if (ret < 0)
			failed++;
	}
	ret = failed ? EXIT_FAIL : missing ? EXIT_MISSING : EXIT_OK;
out:
	free(it);
	track_conf_free(&c);
	return ret;
}
