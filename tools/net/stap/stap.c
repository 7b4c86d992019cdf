// SPDX-License-Identifier: GPL-2.0
/*
 * stapctl(8): run programs with their TCP sockets tapped, tap the sockets of
 * running processes, show the taps and their counters, and print what a
 * logging verdict records.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "stap.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "exec", cmd_exec, "run a program with its TCP sockets tapped" },
	{ "attach", cmd_attach, "tap sockets of a running process" },
	{ "show", cmd_show, "list tapped sockets, programs and counters" },
	{ "log", cmd_log, "print the log verdict's records" },
};

const char *stap_prog_name = "stapctl";

void stap_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", stap_prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/**
 * stap_cmd_usage() - the end of a command's getopt loop
 * @opt: what getopt gave that the command does not take itself: 'h', an
 *	unknown option, or STAP_GETOPT_BAD (a program option whose reason
 *	stap_progs_getopt() printed)
 * @usage: the command's usage text, printed on @f
 *
 * Return: the exit status: STAP_EXIT_OK for -h (usage on stdout), else
 * STAP_EXIT_USAGE (usage on stderr unless a reason was printed already).
 */
int stap_cmd_usage(int opt, void (*usage)(FILE *f))
{
	if (opt == 'h') {
		usage(stdout);
		return STAP_EXIT_OK;
	}
	if (opt != STAP_GETOPT_BAD)
		usage(stderr);
	return STAP_EXIT_USAGE;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: stapctl [-j [-p]] COMMAND [OPTIONS]\n\n");
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f,
"\n"
"  -j, --json     print JSON instead of text (show, attach, log)\n"
"  -p, --pretty   indented JSON; implies -j\n"
"  -h, --help     this help\n"
"\n"
"stapctl COMMAND --help describes each. The stap module must be loaded\n"
"(modprobe stap); loading programs and tapping other users' sockets\n"
"need root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_PTRACE).\n"
"\n"
"Exit status: 0 on success, 1 on failure, 2 on bad usage; stapctl exec\n"
"exits with its command's status.\n");
}

/* The command @argv[0], given its arguments; output_done() after it */
static int run_cmd(int argc, char **argv)
{
	static char name[32];
	size_t i;
	int ret;

	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return STAP_EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[0], cmds[i].name))
			continue;
		snprintf(name, sizeof(name), "stapctl %s", cmds[i].name);
		stap_prog_name = name;
		optind = 0;	/* the command's getopt starts afresh */
		ret = cmds[i].fn(argc, argv);
		output_done();
		return ret;
	}
	stap_err("unknown command '%s'", argv[0]);
	usage(stderr);
	return STAP_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument, NULL, 'j' },
		{ "pretty",	no_argument, NULL, 'p' },
		{ "help",	no_argument, NULL, 'h' },
		{}
	};
	bool json = false, pretty = false;
	int c;

	/* "+": options after COMMAND are the command's */
	while ((c = getopt_long(argc, argv, "+jph", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pretty = true;
			fallthrough;
		case 'j':
			json = true;
			break;
		default:
			return stap_cmd_usage(c, usage);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return STAP_EXIT_USAGE;
	}
	if (json && output_init_json(pretty)) {
		stap_err("out of memory");
		return STAP_EXIT_FAIL;
	}
	return run_cmd(argc - optind, argv + optind);
}
