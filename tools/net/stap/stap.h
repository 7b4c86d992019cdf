/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stapctl(8): tap the TCP sockets of unmodified programs with BPF parsers and
 * verdicts, and show what the taps do.
 */
#ifndef _STAP_TOOL_H
#define _STAP_TOOL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/inet_diag.h>
#include <linux/stap.h>

#include "stap_samples.h"	/* SOL_STAP */

/* Exit codes */
#define STAP_EXIT_OK		0
#define STAP_EXIT_FAIL		1	/* the operation failed */
#define STAP_EXIT_USAGE		2	/* bad command line */

enum stap_tool_slot {
	SLOT_SEND_PARSE,
	SLOT_SEND_VERDICT,
	SLOT_RECV_PARSE,
	SLOT_RECV_VERDICT,
	SLOT_MAX,
};

#define STAP_MAX_DENY		64

/* sock_diag: the INET_DIAG_ULP_INFO nest of a stap socket has the stap
 * attributes in a nest of this type, which linux/inet_diag.h defines once
 * the kernel's headers have stap.
 */
#ifndef INET_ULP_INFO_STAP
#define INET_ULP_INFO_STAP	4
#endif

/* getopt_long() values of the long options that have no short form, one
 * list for every command so that the shared program options and a
 * command's own never collide.
 */
enum stap_long_opt {
	OPT_RECV_PARSER = 0x100,	/* program options (progs.c) */
	OPT_SEND_PARSER,
	OPT_RECV_VERDICT,
	OPT_SEND_VERDICT,
	OPT_RECV_ONLY,
	OPT_SEND_ONLY,
	OPT_RATE_DISCONNECT,
	OPT_PRELOAD,			/* exec */
	OPT_PID,			/* attach */
	OPT_FD,
	OPT_ALL,
};

#ifndef fallthrough
#define fallthrough		__attribute__((__fallthrough__))
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

struct stap_deny_entry {
	const char *text;
	bool disconnect;
};

/* What the program options asked for, and the loaded result */
struct stap_progs {
	const char *spec[SLOT_MAX];	/* "NAME" or "FILE:PROG", or NULL */
	struct stap_deny_entry deny[STAP_MAX_DENY];
	int ndeny;
	unsigned int rate_msgs;		/* --rate N[/SECONDS] */
	unsigned int rate_secs;
	bool rate_disconnect;
	bool no_recv, no_send;
	int fd[SLOT_MAX];		/* after stap_progs_load(); -1: none */
	unsigned int id[SLOT_MAX];
};

/* An IPv4 or IPv6 TCP socket */
static inline bool stap_is_tcp(int fd)
{
	int proto = 0, domain = 0;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len))
		return false;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return false;
	return proto == IPPROTO_TCP &&
	       (domain == AF_INET || domain == AF_INET6);
}

extern const char *stap_prog_name;	/* "stapctl COMMAND", for messages */

void stap_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int stap_cmd_usage(int opt, void (*usage)(FILE *f));
void stap_progs_init(struct stap_progs *p);
int stap_progs_option(struct stap_progs *p, int opt, const char *arg);

#define STAP_GETOPT_BAD		(-2)
int stap_progs_getopt(struct stap_progs *p, int argc, char **argv,
		      const char *shortopts, const struct option *opts);
int stap_progs_check(struct stap_progs *p);
int stap_progs_load(struct stap_progs *p);
void stap_progs_usage(FILE *f);
struct stap_params stap_progs_params(const struct stap_progs *p);
int stap_tap_fd(int fd, const struct stap_params *params);
/* "[" INET6_ADDRSTRLEN "]:65535" */
#define STAP_ADDRSTRLEN		(INET6_ADDRSTRLEN + 8)
char *stap_addr_str(int family, const void *ip, unsigned int port, char *buf,
		    size_t len);
const char *stap_sock_desc(int fd, char *buf, size_t len);

/* Short options shared by exec and attach; stap_prog_options() gives
 * the long ones followed by a command's own.
 */
#define STAP_PROG_SHORTOPTS	"p:v:d:D:r:l"

struct option *stap_prog_options(const struct option *own);

int cmd_exec(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_log(int argc, char **argv);

#endif /* _STAP_TOOL_H */
