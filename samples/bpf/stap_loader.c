// SPDX-License-Identifier: GPL-2.0
/*
 * stap_loader: connect to a Redis server with the send side tapped by the
 * line parser and the Redis deny-list verdict (inline commands, one per
 * line), then copy stdin to the server and the server's replies to
 * stdout. Commands named on the command line never reach the server;
 * --disconnect aborts the connection on them instead.
 *
 *   printf 'PING\r\nFLUSHALL\r\nPING\r\n' | stap_loader 127.0.0.1 6379 FLUSHALL
 *
 * An example of loading stap programs with libbpf skeletons.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/stap.h>

#include "stap_samples.h"
#include "stap_parse_lines.skel.h"
#include "stap_verdict_deny.skel.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: stap_loader [--disconnect] HOST PORT [COMMAND...]\n"
		"Copy stdin to a Redis server and its replies to stdout, with\n"
		"the named commands dropped (or the connection aborted with\n"
		"--disconnect) by a stap send tap.\n");
}

static int deny(struct stap_verdict_deny_bpf *v, const char *cmd, int action)
{
	struct stap_deny_val val = { .action = action };
	struct stap_deny_key key = {};
	size_t i, n = strlen(cmd);

	if (n >= STAP_DENY_KEY_LEN) {
		fprintf(stderr, "stap_loader: %s: name too long\n", cmd);
		return -1;
	}
	for (i = 0; i < n; i++)
		key.data[i] = cmd[i] >= 'a' && cmd[i] <= 'z' ?
			      cmd[i] - 'a' + 'A' : cmd[i];
	key.prefixlen = (n + 1) * 8;	/* the name and its NUL */
	return bpf_map_update_elem(bpf_map__fd(v->maps.deny), &key, &val, 0);
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, err;

	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		fprintf(stderr, "stap_loader: %s: %s\n", host,
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
		fprintf(stderr, "stap_loader: connect %s:%s: %s\n", host, port,
			strerror(errno));
	return fd;
}

static int copy(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf)), w;

	if (n <= 0)
		return n;
	for (char *p = buf; n > 0; p += w, n -= w) {
		w = write(to, p, n);
		if (w < 0)
			return -1;
	}
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "disconnect", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct stap_verdict_deny_bpf *v = NULL;
	struct stap_parse_lines_bpf *p = NULL;
	int action = STAP_VERDICT_DROP;
	struct pollfd pfd[2];
	struct stap_params sp;
	int fd, c, i, ret = 1;
	bool in_open = true;

	while ((c = getopt_long(argc, argv, "dh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			action = STAP_VERDICT_DISCONNECT;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		print_usage(stderr);
		return 2;
	}
	p = stap_parse_lines_bpf__open_and_load();
	v = stap_verdict_deny_bpf__open_and_load();
	if (!p || !v) {
		fprintf(stderr, "stap_loader: loading the programs: %s\n",
			strerror(errno));
		goto out;
	}
	for (i = optind + 2; i < argc; i++)
		if (deny(v, argv[i], action))
			goto out;
	fd = connect_to(argv[optind], argv[optind + 1]);
	if (fd < 0)
		goto out;
	sp = (struct stap_params){
		.bpf_send_parse_fd = bpf_program__fd(p->progs.stap_parse_lines),
		.bpf_send_verdict_fd = bpf_program__fd(v->progs.stap_deny_resp),
		.bpf_recv_parse_fd = STAP_NO_PROG,
		.bpf_recv_verdict_fd = STAP_NO_PROG,
	};
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "stap", 4) ||
	    setsockopt(fd, SOL_STAP, STAP_PARAMS, &sp, sizeof(sp))) {
		fprintf(stderr, "stap_loader: tapping the socket: %s%s\n",
			strerror(errno), errno == ENOENT ?
			" (is the stap module loaded?)" : "");
		goto out_close;
	}
	pfd[0] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0)
			break;
		if (in_open && pfd[0].revents && copy(STDIN_FILENO, fd) <= 0) {
			in_open = false;
			pfd[0].fd = -1;
			shutdown(fd, SHUT_WR);
		}
		if (pfd[1].revents && copy(fd, STDOUT_FILENO) <= 0)
			break;
	}
	ret = 0;
out_close:
	close(fd);
out:
	stap_verdict_deny_bpf__destroy(v);
	stap_parse_lines_bpf__destroy(p);
	return ret;
}
