// SPDX-License-Identifier: GPL-2.0
/*
 * stapctl show: the tapped sockets of this network namespace, with their
 * programs and counters, from sock_diag (tcp_ulp_ops.get_info).
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "output.h"
#include "stap.h"

static const char * const tcp_states[] = {
	[0]			= "?",
	[TCP_ESTABLISHED]	= "ESTAB",
	[TCP_SYN_SENT]		= "SYN-SENT",
	[TCP_SYN_RECV]		= "SYN-RECV",
	[TCP_FIN_WAIT1]		= "FIN-WAIT-1",
	[TCP_FIN_WAIT2]		= "FIN-WAIT-2",
	[TCP_TIME_WAIT]		= "TIME-WAIT",
	[TCP_CLOSE]		= "CLOSE",
	[TCP_CLOSE_WAIT]	= "CLOSE-WAIT",
	[TCP_LAST_ACK]		= "LAST-ACK",
	[TCP_LISTEN]		= "LISTEN",
	[TCP_CLOSING]		= "CLOSING",
};

/* What show prints of one socket */
struct tap_info {
	const struct inet_diag_msg *msg;
	struct stap_params params;	/* the *_id fields */
	struct stap_stats stats;
	bool has_stats;
};

/* A value of a nest: its attribute, JSON key, text format and the field
 * it is kept in (of struct stap_params or struct stap_stats).
 */
struct tap_field {
	unsigned int attr;
	const char *key;
	const char *fmt;
	size_t off;
};

#define PROG_ID(attr, field, key, fmt) \
	{ attr, key, fmt, offsetof(struct stap_params, field) }

/* STAP_INFO_*_ID: u32 program ids, 0 for an empty slot */
static const struct tap_field prog_fields[] = {
	PROG_ID(STAP_INFO_SEND_PARSE_ID, send_parse_id, "send_parser_id",
		"\tsend parser %u "),
	PROG_ID(STAP_INFO_SEND_VERDICT_ID, send_verdict_id, "send_verdict_id",
		"verdict %u, "),
	PROG_ID(STAP_INFO_RECV_PARSE_ID, recv_parse_id, "recv_parser_id",
		"recv parser %u "),
	PROG_ID(STAP_INFO_RECV_VERDICT_ID, recv_verdict_id, "recv_verdict_id",
		"verdict %u\n"),
};

/* The STAP_INFO_STATS nest: u64 counters keyed by their field's name */
#define STAT(attr, field, fmt) \
	{ attr, #field, fmt, offsetof(struct stap_stats, field) }

static const struct tap_field stat_fields[] = {
	STAT(STAP_STATS_RX_PASS_MSGS, rx_pass_msgs, "\trx pass %llu msgs "),
	STAT(STAP_STATS_RX_PASS_BYTES, rx_pass_bytes, "%llu bytes, "),
	STAT(STAP_STATS_RX_DROP_MSGS, rx_drop_msgs, "drop %llu msgs "),
	STAT(STAP_STATS_RX_DROP_BYTES, rx_drop_bytes, "%llu bytes\n"),
	STAT(STAP_STATS_TX_PASS_MSGS, tx_pass_msgs, "\ttx pass %llu msgs "),
	STAT(STAP_STATS_TX_PASS_BYTES, tx_pass_bytes, "%llu bytes, "),
	STAT(STAP_STATS_TX_DROP_MSGS, tx_drop_msgs, "drop %llu msgs "),
	STAT(STAP_STATS_TX_DROP_BYTES, tx_drop_bytes, "%llu bytes\n"),
	STAT(STAP_STATS_DISCONNECTS, disconnects, "\tdisconnects %llu "),
	STAT(STAP_STATS_PARSE_ERRORS, parse_errors, "parse_errors %llu "),
	STAT(STAP_STATS_BAD_VERDICTS, bad_verdicts, "bad_verdicts %llu "),
	STAT(STAP_STATS_OVERSIZE_MSGS, oversize_msgs, "oversize %llu "),
	STAT(STAP_STATS_NOMEM_ABORTS, nomem_aborts, "nomem_aborts %llu\n"),
	STAT(STAP_STATS_RX_REDIRECT_MSGS, rx_redirect_msgs,
	     "\tredirect rx %llu msgs "),
	STAT(STAP_STATS_RX_REDIRECT_BYTES, rx_redirect_bytes, "%llu bytes, "),
	STAT(STAP_STATS_TX_REDIRECT_MSGS, tx_redirect_msgs, "tx %llu msgs "),
	STAT(STAP_STATS_TX_REDIRECT_BYTES, tx_redirect_bytes, "%llu bytes, "),
	STAT(STAP_STATS_REDIRECT_ERRORS, redirect_errors, "errors %llu "),
	STAT(STAP_STATS_COPIES_LOST, copies_lost, "copies_lost %llu\n"),
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: stapctl show\n"
"\n"
"List the tapped TCP sockets of this network namespace: addresses, state,\n"
"socket inode, the BPF program ids in each slot (bpftool prog show id\n"
"ID) and the counters of struct stap_stats. Needs the tcp_diag module\n"
"(and inet_diag); the counters of other users' sockets need\n"
"CAP_NET_ADMIN on some kernels. With stapctl -j, one JSON array.\n"
"\n"
"  -j, --json   the same as stapctl -j show\n"
"  -h, --help   this help\n"
"\n"
"Exit status: 0, or 1 when sock_diag cannot be read.\n");
}

/* The attributes of a message or nest by type, those above @max left out */
struct attr_tb {
	const struct nlattr **tb;
	unsigned int max;
};

static int attr_tb_cb(const struct nlattr *a, void *data)
{
	const struct attr_tb *t = data;
	unsigned int type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

/* A nest whose bytes are not all whole attributes is refused: so is
 * STAP_INFO_STATS from a module that sent struct stap_stats as one blob.
 */
static int parse_nest(const struct nlattr *nest, const struct nlattr **tb,
		      unsigned int max)
{
	struct attr_tb t = { .tb = tb, .max = max };
	const struct nlattr *a;
	size_t len = 0;

	mnl_attr_for_each_nested(a, nest)
		len += MNL_ALIGN(a->nla_len);
	if (len != mnl_attr_get_payload_len(nest))
		return -1;
	memset(tb, 0, (max + 1) * sizeof(*tb));
	return mnl_attr_parse_nested(nest, attr_tb_cb, &t);
}

/* Each field of @fields present in @tb, as a u32 or u64 at @base + off */
static int get_fields(const struct nlattr **tb, const struct tap_field *fields,
		      size_t n, void *base, enum mnl_attr_data_type type)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct nlattr *a = tb[fields[i].attr];
		void *p = base + fields[i].off;

		if (!a)
			continue;
		if (mnl_attr_validate(a, type) < 0)
			return -1;
		if (type == MNL_TYPE_U64)
			*(__u64 *)p = mnl_attr_get_u64(a);
		else
			*(__u32 *)p = mnl_attr_get_u32(a);
	}
	return 0;
}

/* The INET_ULP_INFO_STAP nest: program ids and, once attached, the counters */
static int parse_stap(const struct nlattr *nest, struct tap_info *t)
{
	const struct nlattr *tb[STAP_INFO_MAX + 1];
	const struct nlattr *stb[STAP_STATS_MAX + 1];

	if (parse_nest(nest, tb, STAP_INFO_MAX) < 0 ||
	    get_fields(tb, prog_fields, ARRAY_SIZE(prog_fields), &t->params,
		       MNL_TYPE_U32))
		return -1;
	if (!tb[STAP_INFO_STATS])
		return 0;
	if (parse_nest(tb[STAP_INFO_STATS], stb, STAP_STATS_MAX) < 0 ||
	    get_fields(stb, stat_fields, ARRAY_SIZE(stat_fields), &t->stats,
		       MNL_TYPE_U64))
		return -1;
	t->has_stats = true;
	return 0;
}

/* INET_DIAG_ULP_INFO: 1 when the ULP is stap (@t filled), 0 when not */
static int parse_ulp(const struct nlattr *ulp, struct tap_info *t)
{
	const struct nlattr *tb[INET_ULP_INFO_STAP + 1];
	const struct nlattr *name;

	if (parse_nest(ulp, tb, INET_ULP_INFO_STAP) < 0)
		return -1;
	name = tb[INET_ULP_INFO_NAME];
	if (!name || mnl_attr_validate(name, MNL_TYPE_NUL_STRING) < 0 ||
	    strcmp(mnl_attr_get_str(name), "stap"))
		return 0;
	if (tb[INET_ULP_INFO_STAP] && parse_stap(tb[INET_ULP_INFO_STAP], t))
		return -1;
	return 1;
}

static void print_tap(const struct tap_info *t)
{
	const struct inet_diag_msg *m = t->msg;
	const char *state = "?";
	char src[STAP_ADDRSTRLEN], dst[STAP_ADDRSTRLEN];
	size_t i;

	if (m->idiag_state < ARRAY_SIZE(tcp_states))
		state = tcp_states[m->idiag_state];
	stap_addr_str(m->idiag_family, m->id.idiag_src,
		      ntohs(m->id.idiag_sport), src, sizeof(src));
	if (m->idiag_state == TCP_LISTEN)
		snprintf(dst, sizeof(dst), "*");
	else
		stap_addr_str(m->idiag_family, m->id.idiag_dst,
			      ntohs(m->id.idiag_dport), dst, sizeof(dst));

	open_json_object(NULL);
	print_string(PRINT_ANY, "state", "%-10s ", state);
	print_string(PRINT_ANY, "local", "%s -> ", src);
	print_string(PRINT_ANY, "peer", "%s", dst);
	print_uint(PRINT_ANY, "inode", " inode %u", m->idiag_inode);
	print_uint(PRINT_ANY, "uid", " uid %u\n", m->idiag_uid);
	for (i = 0; i < ARRAY_SIZE(prog_fields); i++)
		print_uint(PRINT_ANY, prog_fields[i].key, prog_fields[i].fmt,
			   *(const __u32 *)((const void *)&t->params +
					    prog_fields[i].off));
	if (t->has_stats) {
		open_json_object("stats");
		for (i = 0; i < ARRAY_SIZE(stat_fields); i++)
			print_u64(PRINT_ANY, stat_fields[i].key,
				  stat_fields[i].fmt,
				  *(const __u64 *)((const void *)&t->stats +
						   stat_fields[i].off));
		close_json_object();
	}
	close_json_object();
}

/* One sock_diag reply: print it if the socket is tapped */
static int diag_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[INET_DIAG_MAX + 1] = {};
	struct attr_tb t = { .tb = tb, .max = INET_DIAG_MAX };
	struct tap_info tap = { .msg = m };
	int *count = data;
	int ret;

	if (mnl_attr_parse(nlh, sizeof(*m), attr_tb_cb, &t) < 0)
		goto bad;
	if (!tb[INET_DIAG_ULP_INFO])
		return MNL_CB_OK;
	ret = parse_ulp(tb[INET_DIAG_ULP_INFO], &tap);
	if (ret < 0)
		goto bad;
	if (ret) {
		print_tap(&tap);
		(*count)++;
	}
	return MNL_CB_OK;
bad:
	errno = EBADMSG;
	return MNL_CB_ERROR;
}

static int dump_family(struct mnl_socket *nl, int family, int *count)
{
	static char buf[65536] __attribute__((aligned(8)));
	static unsigned int seq;
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	ssize_t n;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	req->idiag_states = ~0U;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -1;
		ret = mnl_cb_run(buf, n, seq, mnl_socket_get_portid(nl),
				 diag_cb, count);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -1 : 0;
}

static int show_taps(int *count)
{
	struct mnl_socket *nl;
	int err = -1;

	nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!nl)
		return -1;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	open_json_array(NULL);
	err = dump_family(nl, AF_INET, count);
	if (!err)
		err = dump_family(nl, AF_INET6, count);
	close_json_array();
out:
	mnl_socket_close(nl);
	return err;
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument, NULL, 'j' },
		{ "help",	no_argument, NULL, 'h' },
		{}
	};
	int c, count = 0;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (!output_is_json() && output_init_json(false)) {
				stap_err("out of memory");
				return STAP_EXIT_FAIL;
			}
			break;
		default:
			return stap_cmd_usage(c, usage);
		}
	}
	if (optind < argc)
		return stap_cmd_usage('?', usage);
	if (show_taps(&count)) {
		stap_err("sock_diag: %s%s", strerror(errno),
			 errno == ENOENT ? " (load the tcp_diag module)" : "");
		return STAP_EXIT_FAIL;
	}
	if (!count)
		print_string(PRINT_FP, NULL, "%s", "no tapped sockets\n");
	return STAP_EXIT_OK;
}
