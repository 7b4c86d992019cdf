// SPDX-License-Identifier: GPL-2.0
/*
 * stapctl show: the tapped sockets of this network namespace, with their
 * programs and counters, from sock_diag (tcp_ulp_ops.get_info).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "stap.h"

static const char * const tcp_states[] = {
	"?", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
	"TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
};

static const char * const stat_names[] = {
	"rx_pass_msgs", "rx_pass_bytes", "rx_drop_msgs", "rx_drop_bytes",
	"tx_pass_msgs", "tx_pass_bytes", "tx_drop_msgs", "tx_drop_bytes",
	"disconnects", "parse_errors", "bad_verdicts", "oversize_msgs",
};

struct tap_info {
	const struct inet_diag_msg *msg;
	__u32 ids[4];		/* STAP_INFO_*_ID, in attribute order */
	__u64 stats[12];
	bool has_stats;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: stapctl show [-j]\n"
"\n"
"List the tapped TCP sockets of this network namespace: addresses, state,\n"
"socket inode, the BPF program ids in each slot (bpftool prog show id\n"
"ID) and the counters of struct stap_stats. Needs the tcp_diag module\n"
"(and inet_diag); the counters of other users' sockets need\n"
"CAP_NET_ADMIN on some kernels.\n"
"\n"
"  -j, --json   one JSON array instead of text\n"
"  -h, --help   this help\n"
"\n"
"Exit status: 0, or 1 when sock_diag cannot be read.\n");
}

static int diag_request(int nl, int family)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		},
		.req = {
			.sdiag_family = family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_ext = 1 << (INET_DIAG_INFO - 1),
			.idiag_states = ~0U,
		},
	};

	return send(nl, &msg, sizeof(msg), 0) == sizeof(msg) ? 0 : -1;
}

/* An attribute that fits in the @rem bytes left (as the kernel's nla_ok()) */
static bool nla_ok(const struct nlattr *a, int rem)
{
	return rem >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= rem;
}

static const struct nlattr *nla_next(const struct nlattr *a, int *rem)
{
	*rem -= NLA_ALIGN(a->nla_len);
	return (const void *)a + NLA_ALIGN(a->nla_len);
}

/* The stap nest inside INET_DIAG_ULP_INFO, if the ULP is stap */
static bool parse_ulp(const struct nlattr *ulp, struct tap_info *t)
{
	const struct nlattr *a, *b;
	bool stap = false;
	int rem, rem2;

	for (a = (const void *)(ulp + 1), rem = ulp->nla_len - NLA_HDRLEN;
	     nla_ok(a, rem); a = nla_next(a, &rem)) {
		if ((a->nla_type & NLA_TYPE_MASK) == INET_ULP_INFO_NAME)
			stap = !strcmp((const char *)(a + 1), "stap");
		if ((a->nla_type & NLA_TYPE_MASK) != STAP_ULP_INFO)
			continue;
		for (b = (const void *)(a + 1), rem2 = a->nla_len - NLA_HDRLEN;
		     nla_ok(b, rem2); b = nla_next(b, &rem2)) {
			int type = b->nla_type & NLA_TYPE_MASK;

			if (type >= STAP_INFO_SEND_PARSE_ID &&
			    type <= STAP_INFO_RECV_VERDICT_ID &&
			    b->nla_len >= NLA_HDRLEN + 4)
				memcpy(&t->ids[type - STAP_INFO_SEND_PARSE_ID],
				       b + 1, 4);
			if (type == STAP_INFO_STATS &&
			    b->nla_len >= NLA_HDRLEN + sizeof(t->stats)) {
				memcpy(t->stats, b + 1, sizeof(t->stats));
				t->has_stats = true;
			}
		}
	}
	return stap;
}

static void addr_str(const struct inet_diag_msg *m, bool dst, char *buf,
		     size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	const __be32 *a = dst ? m->id.idiag_dst : m->id.idiag_src;
	unsigned int port = ntohs(dst ? m->id.idiag_dport : m->id.idiag_sport);

	inet_ntop(m->idiag_family, a, ip, sizeof(ip));
	snprintf(buf, len, m->idiag_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		 ip, port);
}

static void print_tap(const struct tap_info *t, bool json, bool *first)
{
	const struct inet_diag_msg *m = t->msg;
	const char *state = m->idiag_state < sizeof(tcp_states) /
					     sizeof(tcp_states[0]) ?
			    tcp_states[m->idiag_state] : "?";
	char src[64], dst[64];
	unsigned int i;

	addr_str(m, false, src, sizeof(src));
	if (m->idiag_state == TCP_LISTEN)
		snprintf(dst, sizeof(dst), "*");
	else
		addr_str(m, true, dst, sizeof(dst));
	if (!json) {
		printf("%-10s %s -> %s inode %u uid %u\n", state, src, dst,
		       m->idiag_inode, m->idiag_uid);
		printf("\tsend parser %u verdict %u, recv parser %u verdict %u\n",
		       t->ids[0], t->ids[1], t->ids[2], t->ids[3]);
		if (!t->has_stats)
			return;
		printf("\trx pass %llu msgs %llu bytes, drop %llu msgs %llu bytes\n",
		       t->stats[0], t->stats[1], t->stats[2], t->stats[3]);
		printf("\ttx pass %llu msgs %llu bytes, drop %llu msgs %llu bytes\n",
		       t->stats[4], t->stats[5], t->stats[6], t->stats[7]);
		printf("\tdisconnects %llu parse_errors %llu bad_verdicts %llu oversize %llu\n",
		       t->stats[8], t->stats[9], t->stats[10], t->stats[11]);
		return;
	}
	printf("%s\n  {\"state\": \"%s\", \"local\": \"%s\", \"peer\": \"%s\", "
	       "\"inode\": %u, \"uid\": %u,\n   \"send_parser_id\": %u, "
	       "\"send_verdict_id\": %u, \"recv_parser_id\": %u, "
	       "\"recv_verdict_id\": %u", *first ? "" : ",", state, src, dst,
	       m->idiag_inode, m->idiag_uid, t->ids[0], t->ids[1], t->ids[2],
	       t->ids[3]);
	if (t->has_stats) {
		printf(",\n   \"stats\": {");
		for (i = 0; i < 12; i++)
			printf("%s\"%s\": %llu", i ? ", " : "", stat_names[i],
			       t->stats[i]);
		printf("}");
	}
	printf("}");
	*first = false;
}

/* One sock_diag reply: print it if the socket is tapped */
static void diag_one(const struct nlmsghdr *h, bool json, bool *first,
		     int *count)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	struct tap_info t = { .msg = m };
	const struct nlattr *a;
	int rem = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));

	for (a = (const void *)(m + 1); nla_ok(a, rem);
	     a = nla_next(a, &rem)) {
		if ((a->nla_type & NLA_TYPE_MASK) == INET_DIAG_ULP_INFO &&
		    parse_ulp(a, &t)) {
			print_tap(&t, json, first);
			(*count)++;
		}
	}
}

static int dump_family(int family, bool json, bool *first, int *count)
{
	static char buf[65536] __attribute__((aligned(8)));
	int nl, ret = -1;
	ssize_t n;

	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0 || diag_request(nl, family))
		goto out;
	for (;;) {
		const struct nlmsghdr *h = (const void *)buf;

		n = recv(nl, buf, sizeof(buf), 0);
		if (n < 0)
			goto out;
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				ret = 0;
				goto out;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				errno = -e->error;
				goto out;
			}
			diag_one(h, json, first, count);
		}
	}
out:
	if (nl >= 0)
		close(nl);
	return ret;
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument, NULL, 'j' },
		{ "help",	no_argument, NULL, 'h' },
		{}
	};
	bool json = false, first = true;
	int c, count = 0;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		default:
			return stap_cmd_usage(c, usage);
		}
	}
	if (optind < argc)
		return stap_cmd_usage('?', usage);
	if (json)
		printf("[");
	if (dump_family(AF_INET, json, &first, &count) ||
	    dump_family(AF_INET6, json, &first, &count)) {
		stap_err("sock_diag: %s%s", strerror(errno),
			 errno == ENOENT ? " (load the tcp_diag module)" : "");
		return STAP_EXIT_FAIL;
	}
	if (json)
		printf("%s]\n", first ? "" : "\n");
	else if (!count)
		printf("no tapped sockets\n");
	return STAP_EXIT_OK;
}
