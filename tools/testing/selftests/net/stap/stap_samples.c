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
#include "stap_parse_len.skel.h"
#include "stap_parse_lines.skel.h"
#include "stap_verdict_deny.skel.h"
#include "stap_verdict_log.skel.h"
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
	/* stap_deny_resp is the costly one to verify: only its test loads it */
	self->deny = stap_verdict_deny_bpf__open();
	ASSERT_NE(self->deny, NULL);
	bpf_program__set_autoload(self->deny->progs.stap_deny_resp, false);
	ASSERT_EQ(stap_verdict_deny_bpf__load(self->deny), 0);
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

static void expect_read(struct __test_metadata *_metadata, int fd,
			const char *want)
{
	size_t n = strlen(want);
	char got[1024];

	ASSERT_EQ(stap_read_all(fd, got, n), 0);
	EXPECT_EQ(memcmp(got, want, n), 0);
	usleep(50000);
	EXPECT_EQ(recv(fd, got, 1, MSG_DONTWAIT), -1);
}

/* Redis inline commands framed as lines: FLUSHALL (any case) never
 * reaches the server, FLUSH does not match it, CONFIG disconnects.
 */
/* Verifying stap_deny_resp takes ~2 min on the KASAN kernel under TCG */
TEST_F_TIMEOUT(samples, resp_deny_inline_commands, 600)
{
	const char *cmds = "PING\r\nflushall\r\nFLUSH\r\nSET k v\r\n";
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
	expect_read(_metadata, self->sfd, "PING\r\nFLUSH\r\nSET k v\r\n");
	EXPECT_EQ(deny_hits(deny, "FLUSHALL", true), 1);
	ASSERT_EQ(send(self->cfd, "CONFIG GET x\r\n", 14, 0), 14);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, ECONNABORTED);
	stap_verdict_deny_bpf__destroy(deny);
}

/* Lines, and a prefix deny-list on them */
TEST_F(samples, lines_deny_prefix)
{
	ASSERT_EQ(deny_add(self->deny, "QUIT", false, STAP_VERDICT_DROP), 0);
	ASSERT_EQ(stap_tap_rx(self->sfd, self->p_lines, self->v_prefix), 0);
	ASSERT_EQ(send(self->cfd, "HELO x\r\nQUIT now\r\nNOOP\nQUI\n", 27, 0),
		  27);
	expect_read(_metadata, self->sfd, "HELO x\r\nNOOP\nQUI\n");
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
	expect_read(_metadata, self->sfd, "GET /a HTTP/1.1\r\n");
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
	usleep(50000);
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
