// SPDX-License-Identifier: GPL-2.0
/*
 * stapctl exec: run a program with every TCP socket it connects, accepts or
 * listens on tapped, through the preload library (libstap_preload.so).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stap.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: stapctl exec [PROGRAM OPTIONS] [--preload LIB] -- COMMAND [ARGS...]\n"
"\n"
"Run COMMAND with every TCP socket it connects, accepts or listens on\n"
"tapped by the programs below (sockets accepted from a tapped listener\n"
"are tapped by the kernel before any data arrives). The programs are\n"
"loaded here and passed to COMMAND as open descriptors; an LD_PRELOAD\n"
"library taps the sockets. Statically linked programs, and programs\n"
"that make system calls without the C library, are not tapped.\n"
"\n");
	stap_progs_usage(f);
	fprintf(f,
"\n"
"  --preload LIB             the preload library (default: $STAP_PRELOAD,\n"
"                            or the libstap_preload.so next to stapctl)\n"
"  -h, --help                this help\n"
"\n"
"Exit status: COMMAND's; 1 when the programs could not be loaded; 127\n"
"when COMMAND is not found, 126 when it cannot be run; 2 on bad options.\n");
}

/* The preload library: --preload, $STAP_PRELOAD, or next to stapctl */
static int preload_path(const char *opt, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;

	if (!opt)
		opt = getenv("STAP_PRELOAD");
	if (opt) {
		snprintf(buf, len, "%s", opt);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			return -1;
		self[n] = '\0';
		snprintf(buf, len, "%s/libstap_preload.so", dirname(self));
	}
	if (access(buf, R_OK)) {
		stap_err("%s: %s", buf, strerror(errno));
		return -1;
	}
	return 0;
}

/* Keep the program fds across exec and name them in STAP_FDS */
static int pass_fds(const struct stap_progs *p)
{
	char env[64];
	int i;

	for (i = 0; i < SLOT_MAX; i++)
		if (p->fd[i] >= 0 && fcntl(p->fd[i], F_SETFD, 0))
			return -1;
	snprintf(env, sizeof(env), "%d,%d,%d,%d", p->fd[SLOT_SEND_PARSE],
		 p->fd[SLOT_SEND_VERDICT], p->fd[SLOT_RECV_PARSE],
		 p->fd[SLOT_RECV_VERDICT]);
	return setenv("STAP_FDS", env, 1);
}

static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;
	int err;

	if (old && *old) {
		if (asprintf(&val, "%s:%s", lib, old) < 0)
			return -1;
	} else {
		val = strdup(lib);
		if (!val)
			return -1;
	}
	err = setenv("LD_PRELOAD", val, 1);
	free(val);
	return err;
}

int cmd_exec(int argc, char **argv)
{
	static const struct option own[] = {
		{ "preload",	required_argument, NULL, OPT_PRELOAD },
		{ "help",	no_argument,	   NULL, 'h' },
		{}
	};
	const char *preload = NULL;
	struct option *opts;
	struct stap_progs p;
	char lib[PATH_MAX];
	int c;

	opts = stap_prog_options(own);
	stap_progs_init(&p);
	while ((c = stap_progs_getopt(&p, argc, argv,
				      "+" STAP_PROG_SHORTOPTS "h",
				      opts)) != -1) {
		switch (c) {
		case OPT_PRELOAD:
			preload = optarg;
			break;
		default:
			return stap_cmd_usage(c, usage);
		}
	}
	if (optind >= argc) {
		stap_err("no COMMAND to run (stapctl exec --help)");
		return STAP_EXIT_USAGE;
	}
	if (stap_progs_check(&p))
		return STAP_EXIT_USAGE;
	if (preload_path(preload, lib, sizeof(lib)) || stap_progs_load(&p))
		return STAP_EXIT_FAIL;
	if (pass_fds(&p) || set_preload(lib)) {
		stap_err("cannot pass the programs on: %s", strerror(errno));
		return STAP_EXIT_FAIL;
	}
	execvp(argv[optind], argv + optind);
	stap_err("%s: %s", argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
