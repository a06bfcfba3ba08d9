// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * failnth - run a command with the N-th fault injection point of its task
 * failing (/proc/self/fail-nth, CONFIG_FAULT_INJECTION), and say whether
 * the fault was injected.
 *
 * Usage: failnth N CMD [ARG...]
 *
 * The child writes N to its fail-nth and execs CMD; only fault points
 * whose stack passes the attributes' stack trace filter count, so that
 * with require-start/require-end set to a module's code the N-th fault
 * point of that module in the command's ioctls fails, and nothing of the
 * exec before them.  Once CMD exited, its fail-nth is read while it is a
 * zombie: 0 if the fault was injected, else the points still to go.
 *
 * Prints "injected" or "not-injected" on the last line of stderr, and exits
 * with CMD's exit status (128 + signal if killed), or 125 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_nth(const char *n)
{
	int fd = open("/proc/self/fail-nth", O_WRONLY);
	ssize_t len = (ssize_t)strlen(n);

	if (fd < 0)
		return -1;
	if (write(fd, n, len) != len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int main(int argc, char **argv)
{
	char path[64], buf[32];
	siginfo_t si;
	pid_t pid;
	ssize_t len;
	int fd, status;

	if (argc < 3 || strspn(argv[1], "0123456789") != strlen(argv[1])) {
		fputs("Usage: failnth N CMD [ARG...]\n", stderr);
		return 125;
	}
	pid = fork();
	if (pid < 0) {
		perror("failnth: fork");
		return 125;
	}
	if (!pid) {
		if (write_nth(argv[1])) {
			perror("failnth: /proc/self/fail-nth");
			_exit(125);
		}
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(125);
	}
	/* Wait for the exit but leave the zombie, whose fail-nth we read. */
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR) {
			perror("failnth: waitid");
			return 125;
		}
	snprintf(path, sizeof(path), "/proc/%d/fail-nth", (int)pid);
	fd = open(path, O_RDONLY);
	len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (len <= 0) {
		perror(path);
		return 125;
	}
	buf[len] = 0;
	close(fd);
	if (waitpid(pid, &status, 0) < 0) {
		perror("failnth: waitpid");
		return 125;
	}
	fprintf(stderr, "%s\n", strtoul(buf, NULL, 10) ? "not-injected" :
		"injected");
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
