// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8): the commands that map onto one library call each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "blksnap-tool.h"

/* Options of the commands that have only --help and maybe --json. */
static int simple_opts(int argc, char **argv, bool *json)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, json ? "hj" : "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			command_help(argv[0]);
			return 1;
		case 'j':
			if (json) {
				*json = true;
				break;
			}
			/* fall through */
		default:
			return -usage_error(argv[0], "invalid option");
		}
	}
	return 0;
}

#define SIMPLE_OPTS(json) do {					\
		int _r = simple_opts(argc, argv, (json));		\
		if (_r > 0)						\
			return EXIT_OK;					\
		if (_r < 0)						\
			return -_r;					\
	} while (0)

#define NEED_ARGS(min, max, what) do {					\
		int _n = argc - optind;					\
		if (_n < (min))						\
			return usage_error(argv[0], "missing %s", (what)); \
		if ((max) >= 0 && _n > (max))				\
			return usage_error(argv[0], "too many arguments"); \
	} while (0)

int cmd_version(int argc, char **argv)
{
	struct blksnap_module_version v = { .size = sizeof(v) };
	struct blksnap_ctl *ctl;
	static const struct out_col cols[] = {
		{ "tool", SCOLS_JSON_STRING, 0 },
		{ "library", SCOLS_JSON_STRING, 0 },
		{ "module", SCOLS_JSON_STRING, 0 },
		{ "major", SCOLS_JSON_NUMBER, 0 },
		{ "minor", SCOLS_JSON_NUMBER, 0 },
		{ "revision", SCOLS_JSON_NUMBER, 0 },
		{ "build", SCOLS_JSON_NUMBER, 0 },
	};
	bool json = false;
	struct out o;
	int ret;

	SIMPLE_OPTS(&json);
	NEED_ARGS(0, 0, "");
	/* The tool's and library's versions even without the module. */
	ret = blksnap_ctl_open(ctl_path(), &ctl);
	if (ret == 0) {
		ret = blksnap_module_version(ctl, &v);
		blksnap_ctl_close(ctl);
		if (ret < 0)
			errmsg(ctl_path(), ret, "cannot get the module version");
	} else {
		errmsg(ctl_path(), ret, "cannot open%s",
		       ret == -ENOENT ? " (is blksnap.ko loaded?)" : "");
	}
	if (json) {
		char mv[32];

		if (out_json_row(&o, "version", cols, ARRAY_SIZE(cols)) < 0)
			return EXIT_FAIL;
		out_str(&o, "tool", BLKSNAP_VERSION);
		out_str(&o, "library", blksnap_lib_version());
		if (ret == 0) {
			snprintf(mv, sizeof(mv), "%u.%u.%u.%u", v.major, v.minor,
				 v.revision, v.build);
			out_str(&o, "module", mv);
			out_u64(&o, "major", v.major);
			out_u64(&o, "minor", v.minor);
			out_u64(&o, "revision", v.revision);
			out_u64(&o, "build", v.build);
		}
		if (out_print(&o) < 0)
			return EXIT_FAIL;
	} else {
		printf("tool: %s\nlibrary: %s\n", BLKSNAP_VERSION, blksnap_lib_version());
		if (ret == 0)
			printf("module: %u.%u.%u.%u\n", v.major, v.minor, v.revision, v.build);
		else
			printf("module: unavailable\n");
	}
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}

static int attach_detach(int argc, char **argv, bool attach)
{
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	struct blksnap_dev *dev;
	bool have_ci;
	int ret;

	SIMPLE_OPTS(NULL);
	NEED_ARGS(1, 1, "device");
	if (open_dev(argv[optind], &dev) < 0)
		return EXIT_FAIL;
	if (attach) {
		ret = attach_dev(argv[optind], dev);	/* reports errors */
		blksnap_dev_close(dev);
		return ret < 0 ? EXIT_FAIL : EXIT_OK;
	}
	/* The tracker's end, for a restore of a state valid with its log
	 * (untracked.c). */
	have_ci = blksnap_cbt_info(dev, &ci) == 0;
	ret = blksnap_detach(dev);
	blksnap_dev_close(dev);
	if (ret == 0 && have_ci)
		detach_note(argv[optind], &ci.generation);
	if (ret == -ENOENT)
		errmsg(argv[optind], 0, "no filter is attached");
	else if (ret == -EINVAL)
		errmsg(argv[optind], 0, "another filter is attached");
	else if (ret < 0)
		errmsg(argv[optind], ret, "cannot detach");
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_attach(int argc, char **argv)
{
	return attach_detach(argc, argv, true);
}

int cmd_detach(int argc, char **argv)
{
	return attach_detach(argc, argv, false);
}

/* Messages for the BLKFILTER_CTL calls. */
static void ctl_error(const char *dev, int ret, const char *what)
{
	if (ret == -ENOENT)
		errmsg(dev, 0, "%s: the blksnap filter is not attached", what);
	else
		errmsg(dev, ret, "%s", what);
}

/* After a BLKFILTER_CTL call on dev (opened from path) that returned ret:
 * dev closed, an error reported (what: the message).  0, or -1 after an
 * error. */
static int ctl_call_end(struct blksnap_dev *dev, const char *path, int ret,
			const char *what)
{
	blksnap_dev_close(dev);
	if (ret < 0) {
		ctl_error(path, ret, what);
		return -1;
	}
	return 0;
}

int cmd_cbtinfo(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "device", SCOLS_JSON_STRING, 0 },
		{ "device_size", SCOLS_JSON_NUMBER, 0 },
		{ "block_size", SCOLS_JSON_NUMBER, 0 },
		{ "block_count", SCOLS_JSON_NUMBER, 0 },
		{ "generation", SCOLS_JSON_STRING, 0 },
		{ "changes_number", SCOLS_JSON_NUMBER, 0 },
	};
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	char gen[BLKSNAP_ID_STR_LEN];
	struct blksnap_dev *dev;
	bool json = false;
	struct out o;
	int ret;

	SIMPLE_OPTS(&json);
	NEED_ARGS(1, 1, "device");
	if (open_dev(argv[optind], &dev) < 0)
		return EXIT_FAIL;
	ret = blksnap_cbt_info(dev, &ci);
	if (ctl_call_end(dev, argv[optind], ret, "cannot read the change tracker") < 0)
		return EXIT_FAIL;
	blksnap_id_format(&ci.generation, gen);
	if (json) {
		if (out_json_row(&o, "cbtinfo", cols, ARRAY_SIZE(cols)) < 0)
			return EXIT_FAIL;
		out_str(&o, "device", argv[optind]);
		out_u64(&o, "device_size", ci.device_size);
		out_u64(&o, "block_size", ci.block_size);
		out_u64(&o, "block_count", ci.block_count);
		out_str(&o, "generation", gen);
		out_u64(&o, "changes_number", ci.changes_number);
		if (out_print(&o) < 0)
			return EXIT_FAIL;
	} else {
		printf("device_size=%llu\nblock_size=%u\nblock_count=%u\n"
		       "generation=%s\nchanges_number=%u\n",
		       (unsigned long long)ci.device_size, ci.block_size,
		       ci.block_count, gen, ci.changes_number);
	}
	return EXIT_OK;
}

int cmd_cbtmap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct out_col cols[] = {
		{ "start", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "count", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
		{ "value", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT },
	};
	struct blksnap_cbt_info ci = { .size = sizeof(ci) };
	const char *output = NULL;
	struct blksnap_dev *dev;
	bool json = false, all = false;
	unsigned int flags = OUT_RAW;
	uint8_t *map = NULL;
	struct out o;
	uint32_t i, start;
	int opt, ret, rc = EXIT_OK;

	while ((opt = getopt_long(argc, argv, "hjao:n", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': return command_help(argv[0]);
		case 'j': json = true; break;
		case 'a': all = true; break;
		case 'o': output = optarg; break;
		case 'n': flags |= OUT_NOHEADINGS; break;
		default: return usage_error(argv[0], "invalid option");
		}
	}
	NEED_ARGS(1, 1, "device");
	if (output && json)
		return usage_error(argv[0], "--output and --json exclude each other");
	if (open_dev(argv[optind], &dev) < 0)
		return EXIT_FAIL;
	ret = blksnap_cbt_map(dev, &ci, &map);
	if (ctl_call_end(dev, argv[optind], ret, "cannot read the change map") < 0)
		return EXIT_FAIL;
	if (output) {
		int fd = strcmp(output, "-") == 0 ? STDOUT_FILENO :
			 open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0) {
			errmsg(output, errno, "cannot open");
			rc = EXIT_FAIL;
		} else {
			size_t done = 0;

			/* write(), not pwrite(): standard output may be a pipe. */
			ret = 0;
			while (done < ci.block_count) {
				ssize_t n = write(fd, map + done, ci.block_count - done);

				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					ret = n < 0 ? -errno : -EIO;
					break;
				}
				done += (size_t)n;
			}
			if (ret < 0) {
				errmsg(output, ret, "cannot write");
				rc = EXIT_FAIL;
			}
			if (fd != STDOUT_FILENO && close(fd) < 0) {
				errmsg(output, errno, "cannot write");
				rc = EXIT_FAIL;
			}
		}
		free(map);
		return rc;
	}
	if (json)
		flags = OUT_JSON;
	if (out_new(&o, "runs", cols, ARRAY_SIZE(cols), flags) < 0) {
		free(map);
		return EXIT_FAIL;
	}
	for (start = 0; start < ci.block_count; start = i) {
		for (i = start + 1; i < ci.block_count && map[i] == map[start]; i++)
			;
		if (!all && map[start] == 0)
			continue;
		out_row(&o);
		out_u64(&o, "start", start);
		out_u64(&o, "count", i - start);
		out_u64(&o, "value", map[start]);
	}
	free(map);
	return out_print(&o) < 0 ? EXIT_FAIL : rc;
}

/* OFFSET:LENGTH in bytes, both multiples of 512, LENGTH > 0. */
static int parse_range(const char *s, struct blksnap_range *r)
{
	char buf[64];
	const char *colon = strchr(s, ':');
	uint64_t off, len;
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (parse_size(buf, &off) < 0 || parse_size(colon + 1, &len) < 0)
		return -EINVAL;
	if (len == 0 || off % 512 || len % 512 || off + len < off)
		return -EINVAL;
	r->offset = off / 512;
	r->count = len / 512;
	return 0;
}

int cmd_markdirty(int argc, char **argv)
{
	struct blksnap_range *ranges;
	struct blksnap_dev *dev;
	int i, n, ret;

	SIMPLE_OPTS(NULL);
	NEED_ARGS(2, -1, "OFFSET:LENGTH");
	n = argc - optind - 1;
	ranges = calloc((size_t)n, sizeof(*ranges));
	if (!ranges) {
		errmsg(NULL, ENOMEM, "markdirty");
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		if (parse_range(argv[optind + 1 + i], &ranges[i]) < 0) {
			free(ranges);
			return usage_error(argv[0], "invalid range '%s' (OFFSET:LENGTH, multiples of 512, LENGTH > 0)",
					   argv[optind + 1 + i]);
		}
	}
	if (open_dev(argv[optind], &dev) < 0) {
		free(ranges);
		return EXIT_FAIL;
	}
	ret = blksnap_cbt_mark_dirty(dev, ranges, (uint32_t)n);
	blksnap_dev_close(dev);
	free(ranges);
	if (ret == -EINVAL) {
		errmsg(argv[optind], 0, "cannot mark: a range reaches past the end of the device");
		return EXIT_FAIL;
	}
	if (ret < 0) {
		ctl_error(argv[optind], ret, "cannot mark");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The default difference storage directory. */
const char *default_storage(void)
{
	const char *p = getenv("BLKSNAP_STORAGE");
	struct stat st;

	if (p && *p)
		return p;
	if (stat("/var/tmp", &st) == 0 && S_ISDIR(st.st_mode))
		return "/var/tmp";
	return "/tmp";
}

/* Messages of snapshot creation and adding devices, shared with backup. */
void create_error(const char *storage, int ret)
{
	if (ret == -EINVAL)
		errmsg(storage, 0, "cannot create a snapshot with this storage (it must be a directory, a regular file or a block device; and a limit >= 512 bytes)");
	else if (ret == -ENOSPC)
		errmsg(storage, 0, "cannot create a snapshot: no free space for the storage");
	else if (ret == -EBUSY)
		errmsg(storage, 0, "cannot create a snapshot: the storage device is in use");
	else
		errmsg(storage, ret, "cannot create a snapshot");
}

void add_error(const char *dev, int ret)
{
	if (ret == -EINVAL)
		errmsg(dev, 0, "cannot add to the snapshot: the difference storage is on this device (use --storage elsewhere)");
	else if (ret == -EBUSY)
		errmsg(dev, 0, "cannot add to the snapshot: in another snapshot, snapshot taken already, or another filter attached");
	else if (ret == -EALREADY)
		errmsg(dev, 0, "cannot add to the snapshot: added already");
	else if (ret == -ESRCH)
		errmsg(dev, 0, "cannot add to the snapshot: no such snapshot");
	else if (ret == -ENOENT)
		errmsg(dev, 0, "cannot add to the snapshot: the blksnap filter is unknown (is blksnap.ko loaded?)");
	else
		errmsg(dev, ret, "cannot add to the snapshot");
}

/* Add the devices at paths[0..n) to snap, in order, up to the first that
 * fails.  EXIT_OK, or EXIT_FAIL after reporting the error. */
static int add_devices(struct blksnap_snapshot *snap, char **paths, int n)
{
	struct blksnap_dev *dev;
	int i, ret;

	for (i = 0; i < n; i++) {
		if (open_dev(paths[i], &dev) < 0)
			return EXIT_FAIL;
		ret = blksnap_snapshot_add(snap, dev);
		blksnap_dev_close(dev);
		if (ret < 0) {
			add_error(paths[i], ret);
			return EXIT_FAIL;
		}
	}
	return EXIT_OK;
}

/* The control device and the snapshot that idstr names.  0, or -1 after
 * reporting the error, nothing left open. */
static int open_snapshot(const char *idstr, struct blksnap_ctl **ctl,
			 struct blksnap_snapshot **snap)
{
	if (open_ctl(ctl) < 0)
		return -1;
	if (get_snapshot(*ctl, idstr, snap) < 0) {
		blksnap_ctl_close(*ctl);
		return -1;
	}
	return 0;
}

static void close_snapshot(struct blksnap_ctl *ctl, struct blksnap_snapshot *snap)
{
	blksnap_snapshot_free(snap);
	blksnap_ctl_close(ctl);
}

int cmd_snapshot_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "storage", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *storage = NULL;
	struct blksnap_snapshot *snap;
	struct blksnap_ctl *ctl;
	struct blksnap_id id;
	char idstr[BLKSNAP_ID_STR_LEN];
	static const struct out_col cols[] = {
		{ "id", SCOLS_JSON_STRING, 0 },
		{ "storage", SCOLS_JSON_STRING, 0 },
		{ "devices", SCOLS_JSON_ARRAY_STRING, 0 },
	};
	uint64_t limit = 0;
	bool json = false;
	struct out o;
	int opt, ret, i, rc = EXIT_OK;

	while ((opt = getopt_long(argc, argv, "hjs:l:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': return command_help(argv[0]);
		case 'j': json = true; break;
		case 's': storage = optarg; break;
		case 'l':
			if (parse_limit(argv[0], optarg, &limit))
				return EXIT_USAGE;
			break;
		default: return usage_error(argv[0], "invalid option");
		}
	}
	if (!storage)
		storage = default_storage();
	if (open_ctl(&ctl) < 0)
		return EXIT_FAIL;
	ret = blksnap_snapshot_create(ctl, storage, limit, &snap);
	if (ret < 0) {
		create_error(storage, ret);
		blksnap_ctl_close(ctl);
		return EXIT_FAIL;
	}
	blksnap_snapshot_id(snap, &id);
	blksnap_id_format(&id, idstr);
	rc = add_devices(snap, argv + optind, argc - optind);
	if (rc != EXIT_OK) {
		/* Leave nothing behind. */
		ret = blksnap_snapshot_destroy(snap);
		if (ret < 0)
			errmsg(idstr, ret, "cannot destroy the snapshot");
	} else if (json) {
		/* The snapshot is made: a failed report leaves it, with
		 * exit status 1, as any error after the creation. */
		if (out_json_row(&o, "snapshot", cols, ARRAY_SIZE(cols)) == 0) {
			out_str(&o, "id", idstr);
			out_str(&o, "storage", storage);
			for (i = optind; i < argc; i++)
				out_str(&o, "devices", argv[i]);
			if (out_print(&o) < 0)
				rc = EXIT_FAIL;
		} else {
			rc = EXIT_FAIL;
		}
	} else {
		printf("%s\n", idstr);
	}
	close_snapshot(ctl, snap);
	return rc;
}

int cmd_snapshot_add(int argc, char **argv)
{
	struct blksnap_snapshot *snap;
	struct blksnap_ctl *ctl;
	int rc;

	SIMPLE_OPTS(NULL);
	NEED_ARGS(2, -1, "snapshot id or device");
	if (open_snapshot(argv[optind], &ctl, &snap) < 0)
		return EXIT_FAIL;
	rc = add_devices(snap, argv + optind + 1, argc - optind - 1);
	close_snapshot(ctl, snap);
	return rc;
}

int cmd_snapshot_take(int argc, char **argv)
{
	struct blksnap_snapshot *snap;
	struct blksnap_ctl *ctl;
	int ret;

	SIMPLE_OPTS(NULL);
	NEED_ARGS(1, 1, "snapshot id");
	if (open_snapshot(argv[optind], &ctl, &snap) < 0)
		return EXIT_FAIL;
	ret = blksnap_snapshot_take(snap);
	close_snapshot(ctl, snap);
	if (ret == -ESRCH)
		errmsg(argv[optind], 0, "cannot take: no such snapshot");
	else if (ret == -EALREADY)
		errmsg(argv[optind], 0, "cannot take: taken already");
	else if (ret == -ENODEV)
		errmsg(argv[optind], 0, "cannot take: no device in the snapshot");
	else if (ret < 0)
		errmsg(argv[optind], ret, "cannot take");
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_snapshot_info(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "device", SCOLS_JSON_STRING, 0 },
		{ "error", SCOLS_JSON_NUMBER, 0 },
		{ "error_text", SCOLS_JSON_STRING, 0 },
		{ "image", SCOLS_JSON_STRING, 0 },
	};
	struct blksnap_image_info ii = { .size = sizeof(ii) };
	struct blksnap_dev *dev;
	bool json = false;
	struct out o;
	int ret;

	SIMPLE_OPTS(&json);
	NEED_ARGS(1, 1, "device");
	if (open_dev(argv[optind], &dev) < 0)
		return EXIT_FAIL;
	ret = blksnap_image_info(dev, &ii);
	if (ctl_call_end(dev, argv[optind], ret, "cannot read the snapshot state") < 0)
		return EXIT_FAIL;
	if (json) {
		if (out_json_row(&o, "snapshotinfo", cols, ARRAY_SIZE(cols)) < 0)
			return EXIT_FAIL;
		out_str(&o, "device", argv[optind]);
		out_i64(&o, "error", ii.error);
		if (ii.error)
			out_str(&o, "error_text", strerror(-ii.error));
		if (ii.image[0])
			out_str(&o, "image", ii.image);
		if (out_print(&o) < 0)
			return EXIT_FAIL;
	} else {
		printf("error=%d%s%s%s\nimage=%s%s\n", ii.error,
		       ii.error ? " (" : "", ii.error ? strerror(-ii.error) : "",
		       ii.error ? ")" : "", ii.image[0] ? "/dev/" : "", ii.image);
	}
	return EXIT_OK;
}

int cmd_snapshot_collect(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "id", SCOLS_JSON_STRING, 0 },
	};
	char idstr[BLKSNAP_ID_STR_LEN];
	struct blksnap_ctl *ctl;
	struct blksnap_id *ids;
	bool json = false;
	struct out o;
	int i, n, ret;

	SIMPLE_OPTS(&json);
	NEED_ARGS(0, 0, "");
	if (open_ctl(&ctl) < 0)
		return EXIT_FAIL;
	n = blksnap_snapshot_collect(ctl, &ids);
	blksnap_ctl_close(ctl);
	if (n < 0) {
		errmsg(ctl_path(), n, "cannot list the snapshots");
		return EXIT_FAIL;
	}
	/* One id a line as text, a plain list for scripts. */
	if (out_new(&o, "snapshots", cols, ARRAY_SIZE(cols),
		    json ? OUT_JSON : OUT_RAW | OUT_NOHEADINGS) < 0) {
		free(ids);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		out_row(&o);
		out_str(&o, "id", blksnap_id_format(&ids[i], idstr));
	}
	free(ids);
	ret = out_print(&o);
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_snapshot_wait_event(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct blksnap_snapshot *snap;
	struct blksnap_ctl *ctl;
	struct blksnap_event ev = { .size = sizeof(ev) };
	static const struct out_col cols[] = {
		{ "id", SCOLS_JSON_STRING, 0 },
		{ "event", SCOLS_JSON_STRING, 0 },
		{ "code", SCOLS_JSON_NUMBER, 0 },
		{ "time_ns", SCOLS_JSON_NUMBER, 0 },
		{ "dev_major", SCOLS_JSON_NUMBER, 0 },
		{ "dev_minor", SCOLS_JSON_NUMBER, 0 },
		{ "error", SCOLS_JSON_NUMBER, 0 },
		{ "error_text", SCOLS_JSON_STRING, 0 },
	};
	uint32_t timeout = 1000;
	bool json = false;
	struct out o;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "hjt:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': return command_help(argv[0]);
		case 'j': json = true; break;
		case 't':
			if (parse_u32(optarg, &timeout) < 0)
				return usage_error(argv[0], "invalid timeout '%s' (milliseconds, 0 to 4294967295)", optarg);
			break;
		default: return usage_error(argv[0], "invalid option");
		}
	}
	NEED_ARGS(1, 1, "snapshot id");
	if (open_snapshot(argv[optind], &ctl, &snap) < 0)
		return EXIT_FAIL;
	ret = blksnap_snapshot_wait_event(snap, timeout, &ev);
	close_snapshot(ctl, snap);
	if (ret == -ESRCH) {
		errmsg(argv[optind], 0, "no such snapshot");
		return EXIT_FAIL;
	}
	if (ret < 0 && ret != -ENOENT) {	/* -ENOENT: none before the timeout */
		errmsg(argv[optind], ret, "cannot wait for an event");
		return EXIT_FAIL;
	}
	if (json) {
		if (out_json_row(&o, "event", cols, ARRAY_SIZE(cols)) < 0)
			return EXIT_FAIL;
		out_str(&o, "id", argv[optind]);
		if (ret == 0) {
			out_str(&o, "event", ev.code == BLKSNAP_EVENT_CORRUPTED ? "corrupted" : "unknown");
			out_u64(&o, "code", ev.code);
			out_i64(&o, "time_ns", ev.time_ns);
			if (ev.code == BLKSNAP_EVENT_CORRUPTED) {
				out_u64(&o, "dev_major", ev.dev_major);
				out_u64(&o, "dev_minor", ev.dev_minor);
				out_i64(&o, "error", ev.error);
				out_str(&o, "error_text", strerror(ev.error));
			}
		}
		if (out_print(&o) < 0)
			return EXIT_FAIL;
	} else if (ret == -ENOENT) {
		printf("no event\n");
	} else if (ev.code == BLKSNAP_EVENT_CORRUPTED) {
		printf("event=corrupted\ntime_ns=%lld\ndevice=%u:%u\nerror=%d (%s)\n",
		       (long long)ev.time_ns, ev.dev_major, ev.dev_minor, ev.error,
		       strerror(ev.error));
	} else {
		printf("event=%u\ntime_ns=%lld\n", ev.code, (long long)ev.time_ns);
	}
	return ret == -ENOENT ? EXIT_TIMEOUT : EXIT_OK;
}

int cmd_snapshot_destroy(int argc, char **argv)
{
	struct blksnap_snapshot *snap;
	struct blksnap_ctl *ctl;
	int i, ret, rc = EXIT_OK;

	SIMPLE_OPTS(NULL);
	NEED_ARGS(1, -1, "snapshot id");
	if (open_ctl(&ctl) < 0)
		return EXIT_FAIL;
	for (i = optind; i < argc; i++) {
		if (get_snapshot(ctl, argv[i], &snap) < 0) {
			rc = EXIT_FAIL;
			continue;
		}
		ret = blksnap_snapshot_destroy(snap);
		blksnap_snapshot_free(snap);
		if (ret == -ENODEV) {
			errmsg(argv[i], 0, "cannot destroy: no such snapshot");
			rc = EXIT_FAIL;
		} else if (ret < 0) {
			errmsg(argv[i], ret, "cannot destroy");
			rc = EXIT_FAIL;
		}
	}
	blksnap_ctl_close(ctl);
	return rc;
}
