// SPDX-License-Identifier: GPL-2.0
/*
 * The sample programs of samples/bpf on tapped sockets: RESP, line and
 * length framing, the deny-list, the rate limit and the logging verdict.
 */
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stap_lib.h"
#include "stap_samples.h"
#include "stap_parse_http.skel.h"
#include "stap_parse_len.skel.h"
#include "stap_parse_lines.skel.h"
#include "stap_parse_resp.skel.h"
#include "stap_verdict_deny.skel.h"
#include "stap_verdict_log.skel.h"
#include "stap_verdict_pass.skel.h"
#include "stap_verdict_ratelimit.skel.h"
#include "../../kselftest_harness.h"

FIXTURE(samples)
{
	struct stap_parse_len_bpf *len;
	struct stap_parse_lines_bpf *lines;
	struct stap_verdict_deny_bpf *deny;
	int p_len, p_lines;			/* parser fds */
	int v_prefix, v_http;			/* deny verdict fds */
	int cfd;
	int sfd;
};

FIXTURE_SETUP(samples)
{
	if (!stap_available())
		SKIP(return, "stap module not loaded");
	libbpf_set_print(NULL);
	self->len = stap_parse_len_bpf__open_and_load();
	self->lines = stap_parse_lines_bpf__open_and_load();
	self->deny = stap_verdict_deny_bpf__open_and_load();
	ASSERT_NE(self->len, NULL);
	ASSERT_NE(self->lines, NULL);
	ASSERT_NE(self->deny, NULL);
	self->p_len = bpf_program__fd(self->len->progs.stap_parse_len);
	self->p_lines = bpf_program__fd(self->lines->progs.stap_parse_lines);
	self->v_prefix = bpf_program__fd(self->deny->progs.stap_deny_prefix);
	self->v_http = bpf_program__fd(self->deny->progs.stap_deny_http);
	ASSERT_EQ(stap_pair(AF_INET, &self->cfd, &self->sfd), 0);
}

FIXTURE_TEARDOWN(samples)
{
	close(self->cfd);
	close(self->sfd);
	stap_verdict_deny_bpf__destroy(self->deny);
	stap_parse_lines_bpf__destroy(self->lines);
	stap_parse_len_bpf__destroy(self->len);
}

/* A deny-list entry: exact (a command name and its NUL) or a prefix */
static int deny_add(struct stap_verdict_deny_bpf *d, const char *s,
		    bool exact, __u32 action)
{
	struct stap_deny_val val = { .action = action };
	struct stap_deny_key key = {};
	size_t n = strlen(s);

	memcpy(key.data, s, n);
	key.prefixlen = (n + exact) * 8;
	return bpf_map_update_elem(bpf_map__fd(d->maps.deny), &key, &val, 0);
}

static __u32 deny_hits(struct stap_verdict_deny_bpf *d, const char *s,
		       bool exact)
{
	struct stap_deny_val val = {};
	struct stap_deny_key key = {};
	size_t n = strlen(s);

	memcpy(key.data, s, n);
	key.prefixlen = (n + exact) * 8;
	bpf_map_lookup_elem(bpf_map__fd(d->maps.deny), &key, &val);
	return val.hits;
}

/* @sfd reads @want, and nothing more once all @cfd sent has arrived */
static void expect_read(struct __test_metadata *_metadata, int cfd, int sfd,
			const char *want)
{
	size_t n = strlen(want);
	char got[1024];

	ASSERT_EQ(stap_read_all(sfd, got, n), 0);
	EXPECT_EQ(memcmp(got, want, n), 0);
	ASSERT_EQ(stap_wait_acked(cfd), 0);
	EXPECT_EQ(recv(sfd, got, 1, MSG_DONTWAIT), -1);
}

/* Redis inline commands framed as lines: FLUSHALL (any case) never
 * reaches the server, FLUSH does not match it, CONFIG disconnects.
 */
TEST_F(samples, resp_deny_inline_commands)
{
	const char *cmds = "PING\r\nflushall\r\nFLUSH\r\nSET k v\r\n"
			   "FlushAll\nECHO FLUSHALL\n";
	struct stap_verdict_deny_bpf *deny;
	char buf[64];

	deny = stap_verdict_deny_bpf__open_and_load();
	ASSERT_NE(deny, NULL);
	ASSERT_EQ(deny_add(deny, "FLUSHALL", true, STAP_VERDICT_DROP), 0);
	ASSERT_EQ(deny_add(deny, "CONFIG", true, STAP_VERDICT_DISCONNECT), 0);
	ASSERT_EQ(stap_tap_rx(self->sfd, self->p_lines,
			      bpf_program__fd(deny->progs.stap_deny_resp)), 0);
	ASSERT_EQ(send(self->cfd, cmds, strlen(cmds), 0),
		  (ssize_t)strlen(cmds));
	expect_read(_metadata, self->cfd, self->sfd,
		    "PING\r\nFLUSH\r\nSET k v\r\nECHO FLUSHALL\n");
	EXPECT_EQ(deny_hits(deny, "FLUSHALL", true), 2);
	ASSERT_EQ(send(self->cfd, "CONFIG GET x\r\n", 14, 0), 14);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, ECONNABORTED);
	stap_verdict_deny_bpf__destroy(deny);
}

/* Send @buf in pieces of 1..@max bytes, each framed by the receiver
 * before the next, so that its parser sees every partial message.
 */
static int send_split(int fd, const char *buf, size_t len, size_t max)
{
	size_t off = 0, n;

	while (off < len) {
		n = 1 + (off * 7 + 3) % max;
		if (n > len - off)
			n = len - off;
		if (send(fd, buf + off, n, 0) != (ssize_t)n)
			return -1;
		off += n;
		if (stap_wait_acked(fd))
			return -1;
	}
	return 0;
}

/* RESP framing: pipelined commands (arrays of bulk strings, inline, one
 * with a bulk string larger than a socket buffer), split at every kind
 * of boundary; FLUSHALL dropped by name, the rest passed byte for byte.
 */
TEST_F(samples, resp_parser_deny_commands)
{
	static const char head[] =
		"*1\r\n$4\r\nPING\r\n"
		"*1\r\n$8\r\nflushall\r\n"
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\r\n\r\n"
		"FLUSHALL ASYNC\r\n"
		"ECHO inline\r\n"
		"*2\r\n$8\r\nFLUSHALL\r\n$4\r\nSYNC\r\n"
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
	static const char want[] =
		"*1\r\n$4\r\nPING\r\n"
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\r\n\r\n"
		"ECHO inline\r\n"
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
	struct stap_parse_resp_bpf *resp;
	struct stap_verdict_deny_bpf *deny;
	size_t big = 300000, n;
	char *buf, *got, small[8];

	resp = stap_parse_resp_bpf__open_and_load();
	ASSERT_NE(resp, NULL);
	deny = stap_verdict_deny_bpf__open_and_load();
	ASSERT_NE(deny, NULL);
	ASSERT_EQ(deny_add(deny, "FLUSHALL", true, STAP_VERDICT_DROP), 0);
	ASSERT_EQ(stap_tap_rx(self->sfd,
			      bpf_program__fd(resp->progs.stap_parse_resp),
			      bpf_program__fd(deny->progs.stap_deny_resp)), 0);
	ASSERT_EQ(send_split(self->cfd, head, sizeof(head) - 1, 13), 0);
	expect_read(_metadata, self->cfd, self->sfd, want);
	EXPECT_EQ(deny_hits(deny, "FLUSHALL", true), 3);

	/* A 300 KB value: framed by its length, not scanned */
	buf = malloc(big + 64);
	got = malloc(big + 64);
	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	n = sprintf(buf, "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$%zu\r\n", big);
	memset(buf + n, 'x', big);
	memcpy(buf + n + big, "\r\n", 2);
	n += big + 2;
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	ASSERT_EQ(stap_read_all(self->sfd, got, n), 0);
	EXPECT_EQ(memcmp(got, buf, n), 0);
	free(buf);
	free(got);

	/* Not RESP: a type byte with a bad count breaks the framing */
	ASSERT_EQ(send(self->cfd, "*x\r\n", 4, 0), 4);
	EXPECT_EQ(recv(self->sfd, small, sizeof(small), 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	stap_verdict_deny_bpf__destroy(deny);
	stap_parse_resp_bpf__destroy(resp);
}

/* RESP replies on the send side: every type, nested, one message each */
TEST_F(samples, resp_parser_replies)
{
	static const char replies[] =
		"+OK\r\n-ERR no\r\n:42\r\n$-1\r\n$3\r\nabc\r\n*-1\r\n"
		"*2\r\n*1\r\n:1\r\n%1\r\n+a\r\n+b\r\n"
		"_\r\n#t\r\n,1.5\r\n(12\r\n=7\r\ntxt:abc\r\n~1\r\n$0\r\n\r\n";
	struct stap_parse_resp_bpf *resp;
	struct stap_stats st;
	char got[sizeof(replies)];

	resp = stap_parse_resp_bpf__open_and_load();
	ASSERT_NE(resp, NULL);
	ASSERT_EQ(stap_tap_tx(self->cfd,
			      bpf_program__fd(resp->progs.stap_parse_resp),
			      self->v_prefix), 0);
	ASSERT_EQ(send_split(self->cfd, replies, sizeof(replies) - 1, 5), 0);
	ASSERT_EQ(stap_read_all(self->sfd, got, sizeof(replies) - 1), 0);
	EXPECT_EQ(memcmp(got, replies, sizeof(replies) - 1), 0);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.tx_pass_msgs, 13);
	EXPECT_EQ(st.tx_drop_msgs, 0);
	stap_parse_resp_bpf__destroy(resp);
}

/* HTTP/1.1 framing: pipelined requests with no body, a Content-Length
 * body and a chunked body with extensions and trailers; the DELETE is
 * dropped whole, body included.
 */
TEST_F(samples, http_parser_requests)
{
	static const char reqs[] =
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
		"DELETE /x HTTP/1.1\r\nContent-Length: 11\r\n\r\nGET /yy\r\n\r\n"
		"POST /p HTTP/1.1\r\ncontent-length:5\r\n\r\n"
		"helloPUT /c HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
		"3;a=b\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n"
		"DELETE /z HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		"1\r\nq\r\n0\r\n\r\n"
		"GET /last HTTP/1.0\r\n\r\n";
	static const char want[] =
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
		"POST /p HTTP/1.1\r\ncontent-length:5\r\n\r\n"
		"helloPUT /c HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
		"3;a=b\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n"
		"GET /last HTTP/1.0\r\n\r\n";
	struct stap_parse_http_bpf *http;
	struct stap_stats st;

	http = stap_parse_http_bpf__open_and_load();
	ASSERT_NE(http, NULL);
	ASSERT_EQ(deny_add(self->deny, "DELETE ", false, STAP_VERDICT_DROP),
		  0);
	ASSERT_EQ(stap_tap_rx(self->sfd,
			      bpf_program__fd(http->progs.stap_parse_http),
			      self->v_http), 0);
	ASSERT_EQ(send_split(self->cfd, reqs, sizeof(reqs) - 1, 17), 0);
	expect_read(_metadata, self->cfd, self->sfd, want);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.rx_pass_msgs, 4);
	EXPECT_EQ(st.rx_drop_msgs, 2);
	stap_parse_http_bpf__destroy(http);
}

/* Two Content-Length headers: the parser refuses to guess */
TEST_F(samples, http_parser_two_lengths)
{
	static const char req[] = "POST / HTTP/1.1\r\nContent-Length: 1\r\n"
				  "Content-Length: 2\r\n\r\nab";
	struct stap_parse_http_bpf *http;
	char buf[8];

	http = stap_parse_http_bpf__open_and_load();
	ASSERT_NE(http, NULL);
	ASSERT_EQ(stap_tap_rx(self->sfd,
			      bpf_program__fd(http->progs.stap_parse_http),
			      self->v_http), 0);
	ASSERT_EQ(send(self->cfd, req, sizeof(req) - 1, 0),
		  (ssize_t)sizeof(req) - 1);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	stap_parse_http_bpf__destroy(http);
}

/* The pass-all verdict, with and without a parser: every byte arrives */
TEST_F(samples, pass_all)
{
	static const char data[] = "\0\0\0\3abc\0\0\0\0\0\0\0\1z";
	struct stap_verdict_pass_bpf *pass;
	struct stap_stats st;
	char got[sizeof(data)];
	int v;

	pass = stap_verdict_pass_bpf__open_and_load();
	ASSERT_NE(pass, NULL);
	v = bpf_program__fd(pass->progs.stap_pass);
	ASSERT_EQ(stap_tap_tx(self->cfd, -1, v), 0);
	ASSERT_EQ(stap_tap_rx(self->sfd, self->p_len, v), 0);
	ASSERT_EQ(send_split(self->cfd, data, sizeof(data) - 1, 3), 0);
	ASSERT_EQ(stap_read_all(self->sfd, got, sizeof(data) - 1), 0);
	EXPECT_EQ(memcmp(got, data, sizeof(data) - 1), 0);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.rx_pass_msgs, 3);
	EXPECT_EQ(st.rx_drop_msgs, 0);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.tx_pass_bytes, sizeof(data) - 1);
	EXPECT_EQ(st.tx_drop_msgs, 0);
	stap_verdict_pass_bpf__destroy(pass);
}

/* Lines, and a prefix deny-list on them */
TEST_F(samples, lines_deny_prefix)
{
	ASSERT_EQ(deny_add(self->deny, "QUIT", false, STAP_VERDICT_DROP), 0);
	ASSERT_EQ(stap_tap_rx(self->sfd, self->p_lines, self->v_prefix), 0);
	ASSERT_EQ(send(self->cfd, "HELO x\r\nQUIT now\r\nNOOP\nQUI\n", 27, 0),
		  27);
	expect_read(_metadata, self->cfd, self->sfd, "HELO x\r\nNOOP\nQUI\n");
}

TEST_F(samples, http_request_line_deny)
{
	ASSERT_EQ(deny_add(self->deny, "GET /admin", false,
			   STAP_VERDICT_DROP), 0);
	ASSERT_EQ(deny_add(self->deny, "DELETE ", false, STAP_VERDICT_DROP),
		  0);
	ASSERT_EQ(stap_tap_rx(self->sfd, self->p_lines, self->v_http), 0);
	ASSERT_EQ(send(self->cfd,
		       "GET /admin/x HTTP/1.1\r\nGET /a HTTP/1.1\r\n"
		       "DELETE /a HTTP/1.1\r\nGET /administrator\r\n", 82, 0),
		  82);
	expect_read(_metadata, self->cfd, self->sfd, "GET /a HTTP/1.1\r\n");
}

TEST_F(samples, ratelimit)
{
	struct stap_verdict_ratelimit_bpf *rl;
	struct stap_stats st;
	char buf[64];
	int i;

	rl = stap_verdict_ratelimit_bpf__open();
	ASSERT_NE(rl, NULL);
	rl->data->rate_msgs = 3;
	rl->data->rate_window_ns = 60ULL * 1000000000;
	ASSERT_EQ(stap_verdict_ratelimit_bpf__load(rl), 0);
	ASSERT_EQ(stap_tap_tx(self->cfd, self->p_len,
			      bpf_program__fd(rl->progs.stap_ratelimit)), 0);
	for (i = 0; i < 10; i++) {
		size_t n = stap_lp_msg(buf, "abc", 3);

		ASSERT_EQ(send(self->cfd, buf, n, 0), (ssize_t)n);
	}
	ASSERT_EQ(stap_read_all(self->sfd, buf, 21), 0);
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	EXPECT_EQ(recv(self->sfd, buf, 1, MSG_DONTWAIT), -1);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.tx_pass_msgs, 3);
	EXPECT_EQ(st.tx_drop_msgs, 7);
	stap_verdict_ratelimit_bpf__destroy(rl);
}

static int count_rec(void *ctx, void *data, size_t size)
{
	struct stap_log_rec *r = data, *out = ctx;

	out[out[0].pad[0]++ % 4 + 1] = *r;
	return 0;
}

TEST_F(samples, log_records)
{
	struct stap_log_rec got[5] = {};
	struct stap_verdict_log_bpf *lg;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct ring_buffer *rb;
	char buf[64];

	lg = stap_verdict_log_bpf__open_and_load();
	ASSERT_NE(lg, NULL);
	ASSERT_EQ(stap_tap_tx(self->cfd, self->p_len,
			      bpf_program__fd(lg->progs.stap_log)), 0);
	ASSERT_EQ(getsockname(self->cfd, (struct sockaddr *)&sa, &sl), 0);
	ASSERT_EQ(send(self->cfd, "\0\0\0\5hello\0\0\0\2hi", 15, 0), 15);
	ASSERT_EQ(stap_read_all(self->sfd, buf, 15), 0);
	rb = ring_buffer__new(bpf_map__fd(lg->maps.records), count_rec, got,
			      NULL);
	ASSERT_NE(rb, NULL);
	EXPECT_EQ(ring_buffer__consume(rb), 2);
	EXPECT_EQ(got[0].pad[0], 2);
	EXPECT_EQ(got[1].len, 9);
	EXPECT_EQ(got[1].caplen, 9);
	EXPECT_EQ(memcmp(got[1].data, "\0\0\0\5hello", 9), 0);
	EXPECT_EQ(got[1].tx, 1);
	EXPECT_EQ(got[1].family, AF_INET);
	EXPECT_EQ(got[1].local_port, ntohs(sa.sin_port));
	EXPECT_EQ(got[1].local_ip[0], htonl(INADDR_LOOPBACK));
	EXPECT_NE(got[1].cookie, 0);
	EXPECT_EQ(got[2].len, 6);
	EXPECT_EQ(got[2].cookie, got[1].cookie);
	ring_buffer__free(rb);
	stap_verdict_log_bpf__destroy(lg);
}

TEST_HARNESS_MAIN
