// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap(8): command-line control of the blksnap module, and backups.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "blksnap-tool.h"

#ifndef BLKSNAP_VERSION
#error "BLKSNAP_VERSION must be defined by the build"
#endif

static const struct command commands[] = {
	{ "version", cmd_version, "show the versions of the tool, library and module",
	  " blksnap version [--json]\n"
	  "\nOptions:\n"
	  " -j, --json     JSON output\n" },
	{ "attach", cmd_attach, "attach the blksnap filter to a device (start tracking)",
	  " blksnap attach DEVICE\n"
	  "\nAttaching an attached device is not an error.\n" },
	{ "detach", cmd_detach, "detach the blksnap filter from a device",
	  " blksnap detach DEVICE\n" },
	{ "cbtinfo", cmd_cbtinfo, "show the change tracker of a device",
	  " blksnap cbtinfo [--json] DEVICE\n"
	  "\nOptions:\n"
	  " -j, --json     JSON output\n" },
	{ "cbtmap", cmd_cbtmap, "show the change map of a device",
	  " blksnap cbtmap [--json] [--noheadings] [--all] [--output FILE] DEVICE\n"
	  "\nPrints runs of blocks with the same map value: START COUNT VALUE.\n"
	  "\nOptions:\n"
	  " -a, --all          include the runs of value 0\n"
	  " -n, --noheadings   no header line\n"
	  " -o, --output FILE  write the raw map, one byte per block, to FILE\n"
	  "                    ('-' for standard output) instead\n"
	  " -j, --json         JSON output\n" },
	{ "markdirty", cmd_markdirty, "mark ranges of a device as changed",
	  " blksnap markdirty DEVICE OFFSET:LENGTH...\n"
	  "\nOFFSET and LENGTH are in bytes, multiples of 512, with an optional\n"
	  "K, M, G or T suffix (binary).\n" },
	{ "cbt-save", cmd_cbt_save, "save the change tracker of a device to a state file",
	  " blksnap cbt-save [options] DEVICE [FILE]\n"
	  "\nTakes a snapshot of DEVICE for a moment (so that every write so far\n"
	  "is in the change map), writes the tracker to FILE and destroys the\n"
	  "snapshot.  The device must not be written between the save and the\n"
	  "detach (unmount it or remount it read-only first): such writes would\n"
	  "be missed.  FILE defaults to $BLKSNAP_STATE_DIR (/var/lib/blksnap)/\n"
	  "IDENTITY.cbt, IDENTITY the device's WWN, serial or the like.\n"
	  "\nOptions:\n"
	  " -d, --detach        detach the filter right after the save\n"
	  " -I, --identity ID   the device's identity, for a device without one\n"
	  " -s, --storage PATH  difference storage (see snapshot-create)\n"
	  " -l, --limit SIZE    most the storage may grow to\n"
	  " -q, --quiet         no note\n" },
	{ "cbt-restore", cmd_cbt_restore, "restore the change tracker of a device from a state file",
	  " blksnap cbt-restore [options] DEVICE [FILE]\n"
	  "\nAttaches the filter if needed and loads the state saved by cbt-save\n"
	  "into the new tracker, keeping the writes since the attach.  Refused\n"
	  "when FILE belongs to another device, the device's size changed, the\n"
	  "tracker was used by a snapshot, or FILE was restored once already\n"
	  "(after a crash its state misses the writes since): backup\n"
	  "--incremental then makes a full copy.  FILE as for cbt-save.\n"
	  "\nOptions:\n"
	  " -I, --identity ID   the device's identity, as given to cbt-save\n"
	  " -q, --quiet         no note\n" },
	{ "track", cmd_track, "track the configured devices across reboots",
	  " blksnap track start [--config FILE] [--wait SECONDS] [--attach-only] [--quiet] [DEVICE...]\n"
	  " blksnap track stop [--config FILE] [--detach] [--quiet] [DEVICE...]\n"
	  " blksnap track status [--config FILE] [--json] [--noheadings] [--raw] [DEVICE...]\n"
	  "\nstart attaches the filter to every device of the configuration\n"
	  "(/etc/blksnap/tracking.conf) and restores its saved state as\n"
	  "cbt-restore does; stop saves it as cbt-save does, refusing a device\n"
	  "with a file system mounted read-write; status lists the devices.\n"
	  "A device with a write-intent log (log= in the configuration) is\n"
	  "restored with the regions its log marks, recovering after a crash,\n"
	  "and given its log; one mounted read-write is left tracked at stop.\n"
	  "DEVICEs: only those of the configured devices.  Exit status 5: a\n"
	  "configured device is absent (the others are done).\n"
	  "\nOptions:\n"
	  " -c, --config FILE     the configuration file\n"
	  " -w, --wait SECONDS    start: wait so long for absent devices\n"
	  " -A, --attach-only     start: attach only, restore nothing (initramfs)\n"
	  " -d, --detach          stop: detach the filter after each save\n"
	  " -q, --quiet           no notes\n"
	  " -j, --json            status: JSON output\n"
	  " -n, --noheadings      status: no header line\n"
	  " -r, --raw             status: columns separated by one blank\n" },
	{ "snapshot-create", cmd_snapshot_create, "create a snapshot, print its id",
	  " blksnap snapshot-create [--storage PATH] [--limit SIZE] [--json] [DEVICE...]\n"
	  "\nThe DEVICEs, if any, are added to the new snapshot.\n"
	  "\nOptions:\n"
	  " -s, --storage PATH  difference storage: a directory (an unnamed file\n"
	  "                     in it), a block device, a file (created if absent);\n"
	  "                     default $BLKSNAP_STORAGE, /var/tmp or /tmp\n"
	  " -l, --limit SIZE    most the storage may grow to (default: the free\n"
	  "                     space of its file system, or the device size)\n"
	  " -j, --json          JSON output\n" },
	{ "snapshot-add", cmd_snapshot_add, "add devices to a snapshot",
	  " blksnap snapshot-add ID DEVICE...\n"
	  "\nThe filter is attached to each DEVICE first if needed.\n" },
	{ "snapshot-take", cmd_snapshot_take, "take a snapshot",
	  " blksnap snapshot-take ID\n" },
	{ "snapshot-info", cmd_snapshot_info, "show the snapshot state of a device",
	  " blksnap snapshot-info [--json] DEVICE\n"
	  "\nOptions:\n"
	  " -j, --json     JSON output\n" },
	{ "snapshot-collect", cmd_snapshot_collect, "list the snapshots",
	  " blksnap snapshot-collect [--json]\n"
	  "\nOptions:\n"
	  " -j, --json     JSON output\n" },
	{ "snapshot-wait-event", cmd_snapshot_wait_event, "wait for an event of a snapshot",
	  " blksnap snapshot-wait-event [--timeout MS] [--json] ID\n"
	  "\nExits with 4 when no event came in time.\n"
	  "\nOptions:\n"
	  " -t, --timeout MS  how long to wait, in milliseconds (default 1000;\n"
	  "                   0: do not wait)\n"
	  " -j, --json        JSON output\n" },
	{ "snapshot-destroy", cmd_snapshot_destroy, "destroy a snapshot",
	  " blksnap snapshot-destroy ID...\n" },
	{ "backup", cmd_backup, "snapshot devices and copy them to a directory",
	  " blksnap backup [options] TARGETDIR DEVICE...\n"
	  "\nSnapshots all DEVICEs at once and copies each to TARGETDIR as a new\n"
	  "backup NAME.SEQ (NAME: the device path without /dev/, '/' as '-').\n"
	  "\nOptions:\n"
	  " -i, --incremental   copy only the blocks changed since the latest\n"
	  "                     backup of the device in TARGETDIR, if its change\n"
	  "                     tracker still allows it (else a full copy)\n"
	  " -V, --verify        compare each copy with the snapshot before the end\n"
	  " -s, --storage PATH  difference storage (see snapshot-create)\n"
	  " -l, --limit SIZE    most the storage may grow to\n"
	  " -c, --config FILE   the tracking configuration (default\n"
	  "                     /etc/blksnap/tracking.conf): the devices' state\n"
	  "                     files; a device's write-intent log gets the\n"
	  "                     backup's state as its checkpoint\n"
	  " -q, --quiet         no progress line, no notes\n"
	  " -j, --json          JSON summary on standard output\n"
	  "\nExit status 3: the snapshot of a device failed (it overflowed, an I/O\n"
	  "error, the device went away) before its copy was done: no backup of\n"
	  "that device; the backups of the others are complete.\n" },
	{ "restore", cmd_restore, "write a backup back to a device or file",
	  " blksnap restore [options] BACKUPDIR|METAFILE TARGET\n"
	  " blksnap restore --check [options] BACKUPDIR|METAFILE\n"
	  "\nWrites the chain of backups (a full one and the incremental ones up to\n"
	  "the chosen one) to TARGET, a block device or a regular file (created\n"
	  "if absent).  With BACKUPDIR, the latest complete backup of the device\n"
	  "(--name, or the only one in BACKUPDIR); with METAFILE (NAME.SEQ.meta)\n"
	  "that backup.  The whole chain is checked before anything is written.\n"
	  "\nOptions:\n"
	  " -n, --name NAME     the device's backups to use, in BACKUPDIR\n"
	  " -c, --check         only check the chain and print it; no TARGET\n"
	  " -q, --quiet         no progress line\n"
	  " -j, --json          JSON summary on standard output\n" },
	{ "list", cmd_list, "list the backups in a directory",
	  " blksnap list [--json] [--noheadings] [--raw] BACKUPDIR\n"
	  "\nOptions:\n"
	  " -j, --json        JSON output\n"
	  " -n, --noheadings  no header line\n"
	  " -r, --raw         columns separated by one blank\n" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Usage line, summary, the rest of the help text, pointer to the man page. */
void print_command_help(const struct command *c, FILE *f)
{
	const char *p = c->help;
	int len;

	/* The usage lines: those at the start that begin with " blksnap". */
	while (strncmp(p, " blksnap", 8) == 0 && strchr(p, '\n'))
		p = strchr(p, '\n') + 1;
	len = (int)(p - c->help);

	fprintf(f, "\nUsage:\n%.*s", len, c->help);
	fprintf(f, "\n%c%s.\n", c->summary[0] - 'a' + 'A', c->summary + 1);
	fprintf(f, "%s", c->help + len);
	fprintf(f, "\nSee blksnap(8).\n");
}

int command_help(const char *name)
{
	print_command_help(find_command(name), stdout);
	return EXIT_OK;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "\nUsage:\n"
		" blksnap [--help | --version]\n"
		" blksnap COMMAND [options] [arguments]\n"
		"\nBlock-device snapshots, change tracking and backups with the\n"
		"blksnap kernel module.\n"
		"\nCommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, " %-20s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nOptions:\n"
		" -h, --help     display this help\n"
		" -v, --version  display the version\n"
		"\nRun 'blksnap COMMAND --help' for the options of a command.\n"
		"See blksnap(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *c;
	int opt, rc;

	/* Stop at the command name: its options are its own. */
	while ((opt = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			rc = EXIT_OK;
			goto out;
		case 'v':
			printf("blksnap %s (libblksnap %s)\n", BLKSNAP_VERSION,
			       blksnap_lib_version());
			rc = EXIT_OK;
			goto out;
		default:
			return usage_error(NULL, "invalid option");
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "no command given");
	c = find_command(argv[optind]);
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0;	/* reinitialise getopt for the command */
	rc = c->fn(argc, argv);
out:
	/* Output that could not be written is a failure (e.g. a full disk). */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errmsg("standard output", errno, "cannot write");
		if (rc == EXIT_OK)
			rc = EXIT_FAIL;
	}
	return rc;
}
