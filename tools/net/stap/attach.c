// SPDX-License-Identifier: GPL-2.0
/*
 * stapctl attach: tap sockets of a running process. pidfd_getfd() gives
 * stapctl the process's socket (the same open file), which it taps as its
 * own; the kernel lets it only with the privilege ptrace-attaching to
 * the process needs.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "output.h"
#include "stap.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open		434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd	438
#endif

#define MAX_FDS			256

static void usage(FILE *f)
{
	fprintf(f,
"Usage: stapctl attach --pid PID (--fd FD ... | --all) [PROGRAM OPTIONS]\n"
"\n"
"Tap TCP sockets of the running process PID: the descriptors FD (the\n"
"option repeats), or with --all every connected or listening TCP socket\n"
"it has. A tapped listener taps the connections it accepts from then on.\n"
"stapctl takes the sockets with pidfd_getfd(2), which needs the\n"
"privilege to ptrace-attach to PID (CAP_SYS_PTRACE, or the same user when\n"
"kernel.yama.ptrace_scope allows it). The process cannot remove or\n"
"replace the tap: the ULP stays for the socket's life and STAP_PARAMS\n"
"can be set only once (EBUSY). With stapctl -j, a JSON array of the\n"
"sockets tapped.\n"
"\n");
	stap_progs_usage(f);
	fprintf(f,
"\n"
"  --pid PID                 the process\n"
"  --fd FD                   one of its descriptors (repeatable)\n"
"  --all                     all its TCP sockets (already tapped ones and\n"
"                            sockets in other states are skipped)\n"
"  -h, --help                this help\n"
"\n"
"Exit status: 0 when every socket named was tapped, 1 otherwise, 2 on\n"
"bad options.\n");
}

static int take_fd(int pidfd, int pid, int fd)
{
	int ours = syscall(__NR_pidfd_getfd, pidfd, fd, 0);

	if (ours >= 0)
		return ours;
	if (errno == EPERM)
		stap_err("cannot take fd %d of process %d: %s: stapctl needs the privilege to ptrace-attach to it (CAP_SYS_PTRACE, or the same user with kernel.yama.ptrace_scope allowing it)",
			 fd, pid, strerror(errno));
	else if (errno == EBADF)
		stap_err("process %d has no fd %d", pid, fd);
	else
		stap_err("cannot take fd %d of process %d: %s", fd, pid,
			 strerror(errno));
	return -1;
}

/* The process's socket descriptors, from /proc/PID/fd */
static int socket_fds(int pid, int *fds, int max)
{
	char path[300], link[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir) {
		stap_err("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((d = readdir(dir)) && n < max) {
		ssize_t l;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, d->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		if (l < 0)
			continue;
		link[l] = '\0';
		if (!strncmp(link, "socket:", 7))
			fds[n++] = atoi(d->d_name);
	}
	closedir(dir);
	return n;
}

/* Take fd @fd of @pid if it is a TCP socket: -1 on error, -2 when --all
 * should skip it quietly.
 */
static int take_tcp(int pidfd, int pid, int fd, bool all)
{
	int ours = take_fd(pidfd, pid, fd);

	if (ours < 0 || stap_is_tcp(ours))
		return ours;
	close(ours);
	if (all)
		return -2;
	stap_err("fd %d of process %d is not a TCP socket", fd, pid);
	return -1;
}

/* Tap our copy of fd @fd of @pid; quiet about sockets --all skips */
static int attach_one(int ours, int pid, int fd,
		      const struct stap_params *sp, bool all)
{
	char desc[128];
	int err;

	err = stap_tap_fd(ours, sp);
	if (err && all && (err == -EBUSY || err == -ENOTCONN))
		return 0;
	if (err) {
		stap_err("fd %d of process %d (%s): %s%s", fd, pid,
			 stap_sock_desc(ours, desc, sizeof(desc)),
			 strerror(-err),
			 err == -EBUSY ? " (tapped already)" :
			 err == -ENOPROTOOPT || err == -ENOENT ?
			 " (is the stap module loaded?)" : "");
		return -1;
	}
	open_json_object(NULL);
	print_uint(PRINT_ANY, "fd", "tapped fd %u", fd);
	print_uint(PRINT_ANY, "pid", " of process %u", pid);
	print_string(PRINT_ANY, "socket", ": %s\n",
		     stap_sock_desc(ours, desc, sizeof(desc)));
	close_json_object();
	return 0;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option own[] = {
		{ "pid",	required_argument, NULL, OPT_PID },
		{ "fd",		required_argument, NULL, OPT_FD },
		{ "all",	no_argument,	   NULL, OPT_ALL },
		{ "help",	no_argument,	   NULL, 'h' },
		{}
	};
	int c, i, pid = 0, pidfd, nfds = 0, failed = 0;
	int fds[MAX_FDS], ours[MAX_FDS];
	struct stap_params sp;
	struct option *opts;
	struct stap_progs p;
	bool all = false;
	char *end;

	opts = stap_prog_options(own);
	stap_progs_init(&p);
	while ((c = stap_progs_getopt(&p, argc, argv, STAP_PROG_SHORTOPTS "h",
				      opts)) != -1) {
		switch (c) {
		case OPT_PID:
			pid = strtol(optarg, &end, 10);
			if (*end || pid <= 0) {
				stap_err("--pid %s: not a process id", optarg);
				return STAP_EXIT_USAGE;
			}
			break;
		case OPT_FD:
			fds[nfds] = strtol(optarg, &end, 10);
			if (*end || fds[nfds] < 0 || nfds == MAX_FDS - 1) {
				stap_err("--fd %s: not a descriptor (or too many)",
					 optarg);
				return STAP_EXIT_USAGE;
			}
			nfds++;
			break;
		case OPT_ALL:
			all = true;
			break;
		default:
			return stap_cmd_usage(c, usage);
		}
	}
	if (!pid || (!nfds && !all) || (nfds && all) || optind < argc) {
		stap_err("give --pid and either --fd or --all (stapctl attach --help)");
		return STAP_EXIT_USAGE;
	}
	if (stap_progs_check(&p))
		return STAP_EXIT_USAGE;
	open_json_array(NULL);		/* closed by output_done() on errors */
	pidfd = syscall(__NR_pidfd_open, pid, 0);
	if (pidfd < 0) {
		stap_err("process %d: %s", pid, strerror(errno));
		return STAP_EXIT_FAIL;
	}
	if (all) {
		nfds = socket_fds(pid, fds, MAX_FDS);
		if (nfds < 0)
			return STAP_EXIT_FAIL;
	}
	/* The sockets first: a missing privilege is the likely failure */
	for (i = 0; i < nfds; i++) {
		ours[i] = take_tcp(pidfd, pid, fds[i], all);
		if (ours[i] == -1)
			return STAP_EXIT_FAIL;
	}
	if (stap_progs_load(&p))
		return STAP_EXIT_FAIL;
	sp = stap_progs_params(&p);
	for (i = 0; i < nfds; i++) {
		if (ours[i] < 0)
			continue;
		failed |= attach_one(ours[i], pid, fds[i], &sp, all);
		close(ours[i]);
	}
	close(pidfd);
	close_json_array();
	return failed ? STAP_EXIT_FAIL : STAP_EXIT_OK;
}
