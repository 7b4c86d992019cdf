// SPDX-License-Identifier: GPL-2.0
/*
 * stap_proxy: a splice proxy in the kernel. It accepts clients on a port
 * and connects each to a backend; both sockets are tapped on receive with
 * a parser and the deny-list verdict that redirects what passes to the
 * other socket (stap_deny_redirect), and their send sides with pass-all,
 * as a redirect target needs. The process then only waits: the kernel
 * forwards each way, message by message, and drops the messages that
 * start with a denied prefix. A FIN from either side is passed on with
 * shutdown(); the connection ends when both sides have finished.
 *
 *   stap_proxy --parser lines --deny DEL 8080 127.0.0.1 6379
 *
 * An example of STAP_TARGETS and STAP_VERDICT_REDIRECT_TO().
 */
#define _GNU_SOURCE		/* POLLRDHUP */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <linux/tcp.h>		/* struct tcp_info with bytes_received */
#include <sys/socket.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/stap.h>

#include "stap_samples.h"
#include "stap_parse_len.skel.h"
#include "stap_parse_lines.skel.h"
#include "stap_verdict_deny.skel.h"
#include "stap_verdict_pass.skel.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

struct progs {
	struct stap_parse_len_bpf *len;
	struct stap_parse_lines_bpf *lines;
	struct stap_verdict_deny_bpf *deny;
	struct stap_verdict_pass_bpf *pass;
	int parse_fd;		/* -1: every chunk is a message */
};

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: stap_proxy [--parser len|lines|none] [--deny PREFIX]...\n"
		"                  PORT BACKEND_HOST BACKEND_PORT\n"
		"Accept clients on PORT (IPv6 and IPv4) and forward each to the\n"
		"backend in the kernel with stap redirects, dropping the\n"
		"messages that start with a denied prefix. Prints the port it\n"
		"listens on; PORT 0 picks one.\n");
}

static int deny(struct stap_verdict_deny_bpf *v, const char *prefix)
{
	struct stap_deny_val val = { .action = STAP_VERDICT_DROP };
	struct stap_deny_key key = {};
	size_t n = strlen(prefix);

	if (!n || n > STAP_DENY_KEY_LEN) {
		fprintf(stderr, "stap_proxy: %s: 1 to %d bytes\n", prefix,
			STAP_DENY_KEY_LEN);
		return -1;
	}
	memcpy(key.data, prefix, n);
	key.prefixlen = n * 8;
	return bpf_map_update_elem(bpf_map__fd(v->maps.deny), &key, &val, 0);
}

static int load(struct progs *p, const char *parser)
{
	p->len = stap_parse_len_bpf__open_and_load();
	p->lines = stap_parse_lines_bpf__open_and_load();
	p->deny = stap_verdict_deny_bpf__open_and_load();
	p->pass = stap_verdict_pass_bpf__open_and_load();
	if (!p->len || !p->lines || !p->deny || !p->pass) {
		fprintf(stderr, "stap_proxy: loading the programs: %s\n",
			strerror(errno));
		return -1;
	}
	if (!strcmp(parser, "len"))
		p->parse_fd = bpf_program__fd(p->len->progs.stap_parse_len);
	else if (!strcmp(parser, "lines"))
		p->parse_fd = bpf_program__fd(p->lines->progs.stap_parse_lines);
	else
		p->parse_fd = -1;
	return 0;
}

static void unload(struct progs *p)
{
	stap_verdict_pass_bpf__destroy(p->pass);
	stap_verdict_deny_bpf__destroy(p->deny);
	stap_parse_lines_bpf__destroy(p->lines);
	stap_parse_len_bpf__destroy(p->len);
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, err;

	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		fprintf(stderr, "stap_proxy: %s: %s\n", host,
			gai_strerror(err));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype, 0);
		if (fd >= 0 && !connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		fprintf(stderr, "stap_proxy: connect %s:%s: %s\n", host, port,
			strerror(errno));
	return fd;
}

static int set_target(int fd, int target)
{
	struct stap_target t = { .fd = target };

	return setsockopt(fd, SOL_STAP, STAP_TARGETS, &t, sizeof(t));
}

static int set_progs(const struct progs *p, int fd)
{
	struct stap_params sp = {
		.bpf_send_parse_fd = STAP_NO_PROG,
		.bpf_recv_parse_fd = p->parse_fd,
	};

	sp.bpf_send_verdict_fd = bpf_program__fd(p->pass->progs.stap_pass);
	sp.bpf_recv_verdict_fd =
		bpf_program__fd(p->deny->progs.stap_deny_redirect);

	return setsockopt(fd, SOL_STAP, STAP_PARAMS, &sp, sizeof(sp));
}

/* Tap both sockets, each redirecting to the other: the ULP on both, each
 * one's target (a socket with the ULP and no programs yet can be named),
 * then the programs. Nothing is framed before both have their targets,
 * and what arrived meanwhile waits in TCP.
 */
static int splice_pair(const struct progs *p, int a, int b)
{
	if (setsockopt(a, IPPROTO_TCP, TCP_ULP, "stap", 4) ||
	    setsockopt(b, IPPROTO_TCP, TCP_ULP, "stap", 4) ||
	    set_target(a, b) || set_target(b, a))
		return -1;
	return set_progs(p, a) || set_progs(p, b) ? -1 : 0;
}

/* Every byte @fd received before its FIN is judged and gone its way:
 * redirected, passed or dropped (a message that waits for room in its
 * target is not counted yet). tcpi_bytes_received counts the FIN's
 * sequence number too.
 */
static bool all_judged(int fd)
{
	socklen_t len = sizeof(struct stap_stats);
	struct tcp_info ti;
	struct stap_stats st;

	if (getsockopt(fd, SOL_STAP, STAP_STATS, &st, &len))
		return true;
	len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return true;
	return st.rx_redirect_bytes + st.rx_pass_bytes + st.rx_drop_bytes + 1 >=
	       ti.tcpi_bytes_received;
}

/* Wait for both FINs, passing each on once what came before it went to
 * the other socket; the kernel forwards meanwhile.
 */
static void wait_done(int a, int b)
{
	struct pollfd pfd[2] = {
		{ .fd = a, .events = POLLRDHUP },
		{ .fd = b, .events = POLLRDHUP },
	};
	int done = 0, i;

	while (done < 2 && poll(pfd, 2, -1) > 0) {
		for (i = 0; i < 2; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].revents & (POLLERR | POLLHUP))
				return;
			while (!all_judged(pfd[i].fd))
				poll(NULL, 0, 10);
			shutdown(i ? a : b, SHUT_WR);
			pfd[i].fd = -1;
			done++;
		}
	}
}

static void serve(const struct progs *p, int cfd, const char *host,
		  const char *port)
{
	int bfd = connect_to(host, port);

	if (bfd < 0)
		return;
	if (splice_pair(p, cfd, bfd)) {
		fprintf(stderr, "stap_proxy: tapping: %s%s\n", strerror(errno),
			errno == ENOENT || errno == ENOPROTOOPT ?
			" (is the stap module loaded?)" : "");
	} else {
		wait_done(cfd, bfd);
	}
	close(bfd);
}

static int listen_on(const char *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	socklen_t len = sizeof(sa);
	int fd, one = 1;

	sa.sin6_port = htons(atoi(port));
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		fprintf(stderr, "stap_proxy: listen on %s: %s\n", port,
			strerror(errno));
		return -1;
	}
	printf("%d\n", ntohs(sa.sin6_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "parser", required_argument, NULL, 'p' },
		{ "deny", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *parser = "lines";
	struct progs p = {};
	char **denied;
	int n = 0, c, i, lfd, cfd;

	denied = calloc(argc, sizeof(*denied));
	if (!denied)
		return 1;
	while ((c = getopt_long(argc, argv, "p:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			parser = optarg;
			if (strcmp(parser, "len") && strcmp(parser, "lines") &&
			    strcmp(parser, "none")) {
				fprintf(stderr, "stap_proxy: no parser %s\n",
					parser);
				return 2;
			}
			break;
		case 'd':
			denied[n++] = optarg;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 3) {
		print_usage(stderr);
		return 2;
	}
	if (load(&p, parser))
		goto err_unload;
	for (i = 0; i < n; i++)
		if (deny(p.deny, denied[i]))
			goto err_unload;
	lfd = listen_on(argv[optind]);
	if (lfd < 0)
		goto err_unload;
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		cfd = accept(lfd, NULL, NULL);
		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "stap_proxy: accept: %s\n",
				strerror(errno));
			break;
		}
		if (fork() == 0) {
			close(lfd);
			serve(&p, cfd, argv[optind + 1], argv[optind + 2]);
			_exit(0);
		}
		close(cfd);
	}
	close(lfd);
err_unload:
	unload(&p);
	free(denied);
	return 1;
}
