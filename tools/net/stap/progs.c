// SPDX-License-Identifier: GPL-2.0
/*
 * Program options: which parser and verdict go in each of the four slots,
 * the samples built in by name, loading them, and tapping a socket.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stap.h"
#include "stap_samples.h"
#include "stap_parse_http.skel.h"
#include "stap_parse_len.skel.h"
#include "stap_parse_lines.skel.h"
#include "stap_parse_resp.skel.h"
#include "stap_verdict_deny.skel.h"
#include "stap_verdict_log.skel.h"
#include "stap_verdict_pass.skel.h"
#include "stap_verdict_ratelimit.skel.h"

/* The samples, built in: their skeletons carry the objects */
#define SAMPLE_OPEN(o)							\
static struct bpf_object *open_##o(void **skel)				\
{									\
	struct o##_bpf *s = o##_bpf__open();				\
									\
	*skel = s;							\
	return s ? s->obj : NULL;					\
}

SAMPLE_OPEN(stap_parse_http)
SAMPLE_OPEN(stap_parse_len)
SAMPLE_OPEN(stap_parse_lines)
SAMPLE_OPEN(stap_parse_resp)
SAMPLE_OPEN(stap_verdict_deny)
SAMPLE_OPEN(stap_verdict_log)
SAMPLE_OPEN(stap_verdict_pass)
SAMPLE_OPEN(stap_verdict_ratelimit)

struct sample {
	const char *name;
	const char *obj;
	bool verdict;
	const char *prog;
	struct bpf_object *(*open)(void **skel);
	const char *help;
};

#define SAMPLE(name, o, verdict, prog, help) \
	{ name, #o, verdict, prog, open_##o, help }

static const struct sample samples[] = {
	SAMPLE("len", stap_parse_len, false, "stap_parse_len",
	       "4-byte big-endian length prefix, then that many bytes"),
	SAMPLE("lines", stap_parse_lines, false, "stap_parse_lines",
	       "text lines ending in \\n"),
	SAMPLE("http", stap_parse_http, false, "stap_parse_http",
	       "HTTP/1.x requests and responses with their bodies"),
	SAMPLE("resp", stap_parse_resp, false, "stap_parse_resp",
	       "Redis RESP values and inline commands"),
	SAMPLE("pass", stap_verdict_pass, true, "stap_pass",
	       "pass every message"),
	SAMPLE("deny", stap_verdict_deny, true, NULL,
	       "the --deny list: Redis command names with the resp\n"
	       "                         parser, request-line prefixes with http,\n"
	       "                         byte prefixes otherwise"),
	SAMPLE("deny-prefix", stap_verdict_deny, true, "stap_deny_prefix",
	       "the --deny list, as prefixes of the message"),
	SAMPLE("log", stap_verdict_log, true, "stap_log",
	       "pass every message and record it for 'stapctl log'"),
	SAMPLE("ratelimit", stap_verdict_ratelimit, true, "stap_ratelimit",
	       "the --rate limit per connection and direction"),
};

static const struct sample *sample_find(const char *name, bool verdict)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(samples); i++)
		if (samples[i].verdict == verdict &&
		    !strcmp(samples[i].name, name))
			return &samples[i];
	return NULL;
}

void stap_progs_usage(FILE *f)
{
	size_t i;

	fprintf(f,
"Program options (a direction is tapped when it has a verdict):\n"
"  -p, --parser PROG         parser for both directions\n"
"  -v, --verdict PROG        verdict for both directions\n"
"      --recv-parser PROG, --send-parser PROG,\n"
"      --recv-verdict PROG, --send-verdict PROG\n"
"                            one slot only\n"
"      --recv-only, --send-only\n"
"                            tap one direction\n"
"  -d, --deny ENTRY          drop matching messages (verdict: deny)\n"
"  -D, --deny-disconnect ENTRY\n"
"                            abort the connection on a matching message\n"
"  -r, --rate N[/SECONDS]    at most N messages per SECONDS (default 1)\n"
"                            per connection and direction (verdict:\n"
"                            ratelimit); --rate-disconnect aborts instead\n"
"  -l, --log                 verdict: log\n"
"\n"
"PROG is FILE.bpf.o:PROGRAM (an SK_SKB program in an object file) or\n"
"one of the built-in samples (samples/bpf):\n");
	for (i = 0; i < ARRAY_SIZE(samples); i++)
		fprintf(f, "  %-8s %-12s %s\n",
			samples[i].verdict ? "verdict" : "parser",
			samples[i].name, samples[i].help);
	fprintf(f,
"ENTRY may use \\r, \\n, \\\\ and \\xNN escapes.\n");
}

static const struct option prog_options[] = {
	{ "parser",		required_argument, NULL, 'p' },
	{ "verdict",		required_argument, NULL, 'v' },
	{ "recv-parser",	required_argument, NULL, OPT_RECV_PARSER },
	{ "send-parser",	required_argument, NULL, OPT_SEND_PARSER },
	{ "recv-verdict",	required_argument, NULL, OPT_RECV_VERDICT },
	{ "send-verdict",	required_argument, NULL, OPT_SEND_VERDICT },
	{ "recv-only",		no_argument,	   NULL, OPT_RECV_ONLY },
	{ "send-only",		no_argument,	   NULL, OPT_SEND_ONLY },
	{ "deny",		required_argument, NULL, 'd' },
	{ "deny-disconnect",	required_argument, NULL, 'D' },
	{ "rate",		required_argument, NULL, 'r' },
	{ "rate-disconnect",	no_argument,	   NULL, OPT_RATE_DISCONNECT },
	{ "log",		no_argument,	   NULL, 'l' },
};

/**
 * stap_prog_options() - the long program options, then @own
 * @own: a command's own options, ending with an all-zero entry
 *
 * Return: an array for getopt_long(); exits when out of memory.
 */
struct option *stap_prog_options(const struct option *own)
{
	size_t n = 0;
	struct option *all;

	while (own[n].name)
		n++;
	all = calloc(ARRAY_SIZE(prog_options) + n + 1, sizeof(*all));
	if (!all) {
		stap_err("out of memory");
		exit(STAP_EXIT_FAIL);
	}
	memcpy(all, prog_options, sizeof(prog_options));
	memcpy(all + ARRAY_SIZE(prog_options), own, n * sizeof(*own));
	return all;
}

/**
 * stap_progs_getopt() - getopt_long() that takes the program options
 * @p: the program options so far
 * @argc: as for getopt_long()
 * @argv: as for getopt_long()
 * @shortopts: STAP_PROG_SHORTOPTS and the command's own
 * @opts: from stap_prog_options()
 *
 * Return: the next option that is not a program option, -1 at the end,
 * or STAP_GETOPT_BAD after a wrong program option (the reason printed).
 */
int stap_progs_getopt(struct stap_progs *p, int argc, char **argv,
		      const char *shortopts, const struct option *opts)
{
	int c, r;

	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		r = stap_progs_option(p, c, optarg);
		if (r < 0)
			return STAP_GETOPT_BAD;
		if (!r)
			return c;
	}
	return -1;
}

void stap_progs_init(struct stap_progs *p)
{
	int i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < SLOT_MAX; i++)
		p->fd[i] = -1;
}

/* The verdict of a slot is one of the deny-list samples */
static bool is_deny(const char *spec)
{
	return spec && !strncmp(spec, "deny", 4);
}

static int set_verdict(struct stap_progs *p, const char *v)
{
	if (p->spec[SLOT_RECV_VERDICT] &&
	    strcmp(p->spec[SLOT_RECV_VERDICT], v)) {
		stap_err("one verdict per direction: '%s' and '%s' both asked for",
			 p->spec[SLOT_RECV_VERDICT], v);
		return -1;
	}
	p->spec[SLOT_RECV_VERDICT] = v;
	p->spec[SLOT_SEND_VERDICT] = v;
	return 0;
}

static int parse_rate(struct stap_progs *p, const char *arg)
{
	char *end;
	unsigned long n, s = 1;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (*end == '/')
		s = strtoul(end + 1, &end, 10);
	if (errno || *end || !n || !s || n > UINT32_MAX || s > 86400) {
		stap_err("--rate %s: expected N or N/SECONDS", arg);
		return -1;
	}
	p->rate_msgs = n;
	p->rate_secs = s;
	return set_verdict(p, "ratelimit");
}

/**
 * stap_progs_option() - take one program option
 * @p: the options so far
 * @opt: getopt_long()'s value
 * @arg: its argument
 *
 * Return: 1 when @opt is a program option, 0 when it is not, -1 when it
 * is wrong (the reason printed).
 */
int stap_progs_option(struct stap_progs *p, int opt, const char *arg)
{
	switch (opt) {
	case 'p':
		p->spec[SLOT_RECV_PARSE] = arg;
		p->spec[SLOT_SEND_PARSE] = arg;
		return 1;
	case 'v':
		return set_verdict(p, arg) ? -1 : 1;
	case OPT_RECV_PARSER:
		p->spec[SLOT_RECV_PARSE] = arg;
		return 1;
	case OPT_SEND_PARSER:
		p->spec[SLOT_SEND_PARSE] = arg;
		return 1;
	case OPT_RECV_VERDICT:
		p->spec[SLOT_RECV_VERDICT] = arg;
		return 1;
	case OPT_SEND_VERDICT:
		p->spec[SLOT_SEND_VERDICT] = arg;
		return 1;
	case OPT_RECV_ONLY:
		p->no_send = true;
		return 1;
	case OPT_SEND_ONLY:
		p->no_recv = true;
		return 1;
	case 'd':
	case 'D':
		if (p->ndeny == STAP_MAX_DENY) {
			stap_err("at most %d --deny entries", STAP_MAX_DENY);
			return -1;
		}
		p->deny[p->ndeny].text = arg;
		p->deny[p->ndeny++].disconnect = opt == 'D';
		if (!is_deny(p->spec[SLOT_RECV_VERDICT]))
			return set_verdict(p, "deny") ? -1 : 1;
		return 1;
	case 'r':
		return parse_rate(p, arg) ? -1 : 1;
	case OPT_RATE_DISCONNECT:
		p->rate_disconnect = true;
		return 1;
	case 'l':
		return set_verdict(p, "log") ? -1 : 1;
	}
	return 0;
}

/* One object file or built-in sample, opened once for all its slots */
struct obj {
	const char *key;		/* sample object or file name */
	struct bpf_object *obj;
	void *skel;
};

struct loader {
	struct obj objs[SLOT_MAX];
	int nobjs;
	struct bpf_program *prog[SLOT_MAX];
	struct obj *owner[SLOT_MAX];
};

static struct obj *obj_get(struct loader *l, const char *key,
			   const struct sample *s)
{
	struct obj *o;
	int i;

	for (i = 0; i < l->nobjs; i++)
		if (!strcmp(l->objs[i].key, key))
			return &l->objs[i];
	o = &l->objs[l->nobjs];
	o->key = key;
	o->obj = s ? s->open(&o->skel) : bpf_object__open_file(key, NULL);
	if (!o->obj) {
		stap_err("%s: cannot open: %s", key, strerror(errno));
		return NULL;
	}
	l->nobjs++;
	return o;
}

static const char *deny_prog(const struct stap_progs *p, int slot)
{
	const char *parser = p->spec[slot == SLOT_RECV_VERDICT ?
				     SLOT_RECV_PARSE : SLOT_SEND_PARSE];

	if (parser && !strcmp(parser, "resp"))
		return "stap_deny_resp";
	if (parser && !strcmp(parser, "http"))
		return "stap_deny_http";
	return "stap_deny_prefix";
}

/* The object and program of @slot's spec, opened */
static int resolve(struct loader *l, struct stap_progs *p, int slot)
{
	bool verdict = slot == SLOT_RECV_VERDICT || slot == SLOT_SEND_VERDICT;
	const char *spec = p->spec[slot], *colon, *name;
	const struct sample *s = sample_find(spec, verdict);
	char *file = NULL;
	struct obj *o;

	if (s) {
		name = s->prog ? s->prog : deny_prog(p, slot);
		o = obj_get(l, s->obj, s);
	} else {
		colon = strrchr(spec, ':');
		if (!colon || colon == spec || !colon[1]) {
			stap_err("%s: not a built-in %s (see --help) nor FILE:PROGRAM",
				 spec, verdict ? "verdict" : "parser");
			return -1;
		}
		file = strndup(spec, colon - spec);
		name = colon + 1;
		o = file ? obj_get(l, file, NULL) : NULL;
	}
	if (!o)
		return -1;
	l->owner[slot] = o;
	l->prog[slot] = bpf_object__find_program_by_name(o->obj, name);
	if (!l->prog[slot]) {
		stap_err("%s: no program named '%s'", o->key, name);
		return -1;
	}
	if (bpf_program__type(l->prog[slot]) != BPF_PROG_TYPE_SK_SKB) {
		stap_err("%s: '%s' is not an SK_SKB program (SEC(\"sk_skb\"))",
			 o->key, name);
		return -1;
	}
	return 0;
}

/* An entry's bytes, escapes decoded; -1 when it does not fit */
static int unescape(const char *s, __u8 *out, size_t max)
{
	size_t n = 0;
	unsigned int x;

	while (*s) {
		if (n == max)
			return -1;
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		s++;
		if (*s == 'r' || *s == 'n' || *s == '\\') {
			out[n++] = *s == 'r' ? '\r' : *s == 'n' ? '\n' : '\\';
			s++;
		} else if (*s == 'x' && sscanf(s + 1, "%2x", &x) == 1) {
			out[n++] = x;
			s += isxdigit(s[2]) ? 3 : 2;
		} else {
			return -1;
		}
	}
	return n;
}

static int deny_fill(struct stap_progs *p, struct bpf_object *obj,
		     const char *prog)
{
	bool exact = !strcmp(prog, "stap_deny_resp");
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "deny");
	int i, n, j;

	for (i = 0; i < p->ndeny; i++) {
		struct stap_deny_val val = {
			.action = p->deny[i].disconnect ?
				  STAP_VERDICT_DISCONNECT : STAP_VERDICT_DROP,
		};
		struct stap_deny_key key = {};

		n = unescape(p->deny[i].text, key.data,
			     STAP_DENY_KEY_LEN - exact);
		if (n <= 0) {
			stap_err("--deny '%s': empty, longer than %d bytes or a bad escape",
				 p->deny[i].text, STAP_DENY_KEY_LEN - exact);
			return -1;
		}
		/* Redis command names: upper case, exact (with their NUL) */
		for (j = 0; exact && j < n; j++)
			if (key.data[j] >= 'a' && key.data[j] <= 'z')
				key.data[j] -= 'a' - 'A';
		key.prefixlen = (n + exact) * 8;
		if (bpf_map_update_elem(bpf_map__fd(map), &key, &val, 0)) {
			stap_err("--deny '%s': %s", p->deny[i].text,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void ratelimit_config(struct stap_progs *p, struct obj *o)
{
	struct stap_verdict_ratelimit_bpf *rl = o->skel;

	rl->data->rate_msgs = p->rate_msgs ? p->rate_msgs : 100;
	rl->data->rate_window_ns = (p->rate_secs ? p->rate_secs : 1) *
				   1000000000ULL;
	rl->bss->rate_disconnect = p->rate_disconnect;
}

/**
 * stap_progs_check() - check that the program options make a tap
 * @p: the options
 *
 * Return: 0, or -1 with the reason printed (a usage error).
 */
int stap_progs_check(struct stap_progs *p)
{
	int i;

	if (p->no_recv && p->no_send) {
		stap_err("--recv-only and --send-only leave nothing to tap");
		return -1;
	}
	for (i = 0; i < SLOT_MAX; i++)
		if ((p->no_send && i < SLOT_RECV_PARSE) ||
		    (p->no_recv && i >= SLOT_RECV_PARSE))
			p->spec[i] = NULL;
	if (!p->spec[SLOT_RECV_VERDICT] && !p->spec[SLOT_SEND_VERDICT]) {
		stap_err("no verdict: give --verdict, --deny, --rate or --log");
		return -1;
	}
	for (i = 0; i < SLOT_MAX; i += 2) {
		if (p->spec[i] && !p->spec[i + 1]) {
			stap_err("a %s parser needs a %s verdict",
				 i ? "receive" : "send", i ? "receive" : "send");
			return -1;
		}
	}
	if (p->ndeny && !is_deny(p->spec[SLOT_RECV_VERDICT]) &&
	    !is_deny(p->spec[SLOT_SEND_VERDICT])) {
		stap_err("--deny needs the deny verdict");
		return -1;
	}
	return 0;
}

/**
 * stap_progs_load() - open and load the programs the options named
 * @p: the options; on success, fd[] and id[] say what was loaded
 *
 * Return: 0, or -1 with the reason printed.
 */
int stap_progs_load(struct stap_progs *p)
{
	struct bpf_prog_info info;
	struct loader l = {};
	__u32 len;
	int i, j;

	for (i = 0; i < SLOT_MAX; i++)
		if (p->spec[i] && resolve(&l, p, i))
			return -1;
	/* Load only the programs in use: an object may hold others */
	for (i = 0; i < l.nobjs; i++) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, l.objs[i].obj) {
			bool used = false;

			for (j = 0; j < SLOT_MAX; j++)
				used |= l.prog[j] == prog;
			bpf_program__set_autoload(prog, used);
		}
		if (!strcmp(l.objs[i].key, "stap_verdict_ratelimit"))
			ratelimit_config(p, &l.objs[i]);
		if (bpf_object__load(l.objs[i].obj)) {
			stap_err("%s: cannot load: %s (libbpf printed the verifier's log above)",
				 l.objs[i].key, strerror(errno));
			return -1;
		}
	}
	for (i = 0; i < SLOT_MAX; i++) {
		if (!l.prog[i])
			continue;
		p->fd[i] = bpf_program__fd(l.prog[i]);
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(p->fd[i], &info, &len))
			p->id[i] = info.id;
		if (!strcmp(l.owner[i]->key, "stap_verdict_deny") &&
		    (i == SLOT_RECV_VERDICT || i == SLOT_SEND_VERDICT) &&
		    deny_fill(p, l.owner[i]->obj,
			      bpf_program__name(l.prog[i])))
			return -1;
	}
	return 0;
}

struct stap_params stap_progs_params(const struct stap_progs *p)
{
	struct stap_params sp = {
		.bpf_send_parse_fd = p->fd[SLOT_SEND_PARSE],
		.bpf_send_verdict_fd = p->fd[SLOT_SEND_VERDICT],
		.bpf_recv_parse_fd = p->fd[SLOT_RECV_PARSE],
		.bpf_recv_verdict_fd = p->fd[SLOT_RECV_VERDICT],
	};

	return sp;
}

/**
 * stap_tap_fd() - tap a TCP socket
 * @fd: the socket
 * @params: the programs
 *
 * Return: 0 or a negative errno: EBUSY when it is tapped already,
 * ENOTCONN when it is neither connected nor listening, ENOPROTOOPT when
 * the stap module is not loaded.
 */
int stap_tap_fd(int fd, const struct stap_params *params)
{
	char ulp[16] = "";
	socklen_t len = sizeof(ulp);

	if (setsockopt(fd, SOL_TCP, TCP_ULP, "stap", 4)) {
		if (errno != EEXIST)
			return -errno;
		/* Another ULP, or stap already: only the latter can go on */
		if (getsockopt(fd, SOL_TCP, TCP_ULP, ulp, &len) ||
		    strcmp(ulp, "stap"))
			return -EEXIST;
	}
	if (setsockopt(fd, SOL_STAP, STAP_PARAMS, params, sizeof(*params)))
		return -errno;
	return 0;
}

/**
 * stap_addr_str() - "ADDR:PORT", or "[ADDR]:PORT" for IPv6
 * @family: AF_INET or AF_INET6
 * @ip: the address, in network order
 * @port: the port, in host order
 * @buf: where to write it
 * @len: its size; STAP_ADDRSTRLEN is enough
 *
 * Return: @buf.
 */
char *stap_addr_str(int family, const void *ip, unsigned int port, char *buf,
		    size_t len)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family, ip, s, sizeof(s));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", s, port);
	return buf;
}

/* "ADDR:PORT -> ADDR:PORT" of a socket, or its state when it has no peer */
const char *stap_sock_desc(int fd, char *buf, size_t len)
{
	struct sockaddr_storage a, b;
	socklen_t al = sizeof(a), bl = sizeof(b);
	char la[STAP_ADDRSTRLEN], ra[STAP_ADDRSTRLEN];
	const struct sockaddr_storage *ss[2] = { &a, &b };
	char *out[2] = { la, ra };
	int i;

	if (getsockname(fd, (struct sockaddr *)&a, &al))
		return "?";
	if (getpeername(fd, (struct sockaddr *)&b, &bl))
		b.ss_family = AF_UNSPEC;
	for (i = 0; i < 2; i++) {
		const struct sockaddr_in *s4 = (const void *)ss[i];
		const struct sockaddr_in6 *s6 = (const void *)ss[i];

		if (ss[i]->ss_family == AF_INET)
			stap_addr_str(AF_INET, &s4->sin_addr,
				      ntohs(s4->sin_port), out[i], sizeof(la));
		else if (ss[i]->ss_family == AF_INET6)
			stap_addr_str(AF_INET6, &s6->sin6_addr,
				      ntohs(s6->sin6_port), out[i], sizeof(la));
		else
			snprintf(out[i], sizeof(la), "listening");
	}
	snprintf(buf, len, "%s -> %s", la, ra);
	return buf;
}
