// SPDX-License-Identifier: GPL-2.0
/*
 * stap with small socket buffers: a tapped transfer must never wait on a
 * timer the plain one does not.
 *
 * Both ends of a loopback pair get SO_RCVBUF and SO_SNDBUF of the variant
 * (4 KiB, 8 KiB, 64 KiB) before they connect. The client writes records
 * of TLS's shape (a 4-byte length, then 16 KiB + 21 bytes), the server
 * reads them; both ends are plain, tapped on receive without a parser,
 * tapped on receive with the length parser, or tapped both ways. Each
 * test runs in its own network namespace and checks the exact bytes,
 * then TCP's counters: no zero window probe (TcpExtTCPWinProbe), no
 * retransmission timeout (TcpExtTCPTimeouts), and no expiry of the
 * persist timer at all (a kprobe on tcp_send_probe0()), which is what
 * plain TCP makes on loopback. A reader that drains stap's queue without
 * telling TCP leaves the writer to find the reopened window with probes;
 * one that reopens a window too small for the writer's next segment
 * leaves it waiting for the persist timer, which then sends data, and no
 * counter of TCP's own sees that.
 */
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stap_lib.h"
#include "stap_test_progs.h"
#include "../../kselftest_harness.h"

/* One TLS record: 16 KiB of plaintext, 5 bytes of header, 16 of tag */
#define REC_PAYLOAD	(16384 + 5 + 16)
#define REC_LEN		(4 + REC_PAYLOAD)
/* At least this many records a transfer, and three buffers' worth */
#define MIN_RECORDS	6
#define RR_ROUNDS	8
/* The pinned transfer: long enough for TCP's estimates of the segment
 * size and of the buffer's overhead to settle where the window left
 * after a message is smaller than the writer's next segment (under
 * instruction counting, where make check runs it for that); fewer with
 * STAP_WINDOW_RECORDS, as on the debug kernel
 */
#define LONG_RECORDS	300
#define REQ_PAYLOAD	96
/* The kprobe on tcp_send_probe0(), in tracefs */
#define TRACEFS		"/sys/kernel/tracing"
#define PROBE0		"stap_window_probe0"
/* No wait of a correct run comes near this */
#define WAIT_MS		20000

enum tap {
	TAP_NONE,	/* plain TCP, the reference */
	TAP_PASS,	/* receive verdict passes all, no parser */
	TAP_PARSE,	/* receive length parser, verdict passes all */
	TAP_BOTH,	/* length parser and pass-all verdict both ways */
};

enum wait_mode {
	WAIT_BLOCK,	/* blocking calls, the writer in a child */
	WAIT_POLL,	/* one non-blocking loop over both ends */
	WAIT_EPOLL,
	WAIT_SELECT,
};

/* The pair and what crosses it */
struct stream {
	int cfd;
	int sfd;
	char *stream;
	size_t len;
};

FIXTURE(win)
{
	struct stap_test_bpf *skel;
	struct stream s;
	long long probe0;
};

FIXTURE_VARIANT(win)
{
	int buf;
	enum tap tap;
};

FIXTURE_VARIANT_ADD(win, plain_4k)
{
	.buf = 4096,
	.tap = TAP_NONE,
};

FIXTURE_VARIANT_ADD(win, pass_4k)
{
	.buf = 4096,
	.tap = TAP_PASS,
};

FIXTURE_VARIANT_ADD(win, parse_4k)
{
	.buf = 4096,
	.tap = TAP_PARSE,
};

FIXTURE_VARIANT_ADD(win, both_4k)
{
	.buf = 4096,
	.tap = TAP_BOTH,
};

FIXTURE_VARIANT_ADD(win, plain_8k)
{
	.buf = 8192,
	.tap = TAP_NONE,
};

FIXTURE_VARIANT_ADD(win, pass_8k)
{
	.buf = 8192,
	.tap = TAP_PASS,
};

FIXTURE_VARIANT_ADD(win, parse_8k)
{
	.buf = 8192,
	.tap = TAP_PARSE,
};

FIXTURE_VARIANT_ADD(win, both_8k)
{
	.buf = 8192,
	.tap = TAP_BOTH,
};

FIXTURE_VARIANT_ADD(win, plain_64k)
{
	.buf = 65536,
	.tap = TAP_NONE,
};

FIXTURE_VARIANT_ADD(win, pass_64k)
{
	.buf = 65536,
	.tap = TAP_PASS,
};

FIXTURE_VARIANT_ADD(win, parse_64k)
{
	.buf = 65536,
	.tap = TAP_PARSE,
};

FIXTURE_VARIANT_ADD(win, both_64k)
{
	.buf = 65536,
	.tap = TAP_BOTH,
};

/* Every expiry of the persist timer that finds data waiting ends in
 * tcp_send_probe0(): count them with a kprobe there, enabled once for
 * the whole run. Return: 0, or -1 with errno.
 */
static int probe0_setup(void)
{
	static const char def[] = "p:stap_window/" PROBE0 " tcp_send_probe0\n";

	if (access(TRACEFS "/kprobe_events", W_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	if (access(TRACEFS "/events/stap_window/" PROBE0, F_OK) &&
	    stap_write_file(TRACEFS "/kprobe_events", def, O_APPEND))
		return -1;
	return stap_write_file(TRACEFS "/events/stap_window/" PROBE0 "/enable",
			  "1", 0);
}

/* Hits of the kprobe so far (kprobe_profile: name, hits, misses), or -1 */
static long long probe0_hits(void)
{
	char name[128];
	long long hits, ret = -1;
	unsigned long missed;
	FILE *f = fopen(TRACEFS "/kprobe_profile", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%127s %lld %lu", name, &hits, &missed) == 3)
		if (!strcmp(name, PROBE0))
			ret = hits;
	fclose(f);
	return ret;
}

/* A loopback pair whose buffers are set before the handshake, so that
 * the window scale fits them, as an application setting them early has.
 */
static int small_pair(int buf, int *cfd, int *sfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int lfd, ret = -1;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	*cfd = socket(AF_INET, SOCK_STREAM, 0);
	*sfd = -1;
	if (lfd < 0 || *cfd < 0 || stap_set_bufs(lfd, buf) ||
	    stap_set_bufs(*cfd, buf))
		goto out;
	sl = stap_loopback(AF_INET, &ss, 0);
	if (bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 1))
		goto out;
	sl = sizeof(ss);
	if (getsockname(lfd, (struct sockaddr *)&ss, &sl) ||
	    connect(*cfd, (struct sockaddr *)&ss, sl))
		goto out;
	*sfd = accept(lfd, NULL, NULL);
	ret = *sfd < 0 ? -1 : 0;
out:
	close(lfd);
	return ret;
}

/* Records of a bulk transfer through buffers of @buf bytes: the
 * window closes and reopens many times at 4 and 8 KiB, a few at 64 KiB.
 */
static size_t bulk_records(int buf)
{
	size_t n = 3 * (size_t)buf / REC_LEN + 1;

	return n < MIN_RECORDS ? MIN_RECORDS : n;
}

/* @n records of @payload bytes each, framed for the length parser, with
 * payload bytes that differ from record to record.
 */
static char *make_stream(size_t n, size_t payload, size_t *len)
{
	char *s = malloc(n * (payload + 4)), *p;
	uint32_t be = htonl(payload);
	size_t i, j;

	if (!s)
		return NULL;
	for (i = 0, p = s; i < n; i++) {
		memcpy(p, &be, 4);
		p += 4;
		for (j = 0; j < payload; j++)
			*p++ = (char)(i * 31 + j * 7 + 1);
	}
	*len = p - s;
	return s;
}

FIXTURE_SETUP(win)
{
	struct stap_params p;
	int pfd, vfd;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	if (unshare(CLONE_NEWNET))
		SKIP(return, "no network namespace: %s", strerror(errno));
	ASSERT_EQ(stap_lo_up(), 0);
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
	self->s.stream = make_stream(bulk_records(variant->buf), REC_PAYLOAD,
				     &self->s.len);
	ASSERT_NE(self->s.stream, NULL);
	ASSERT_EQ(small_pair(variant->buf, &self->s.cfd, &self->s.sfd), 0);
	pfd = bpf_program__fd(self->skel->progs.parse_len);
	vfd = bpf_program__fd(self->skel->progs.verdict_pass);
	switch (variant->tap) {
	case TAP_NONE:
		break;
	case TAP_PASS:
		ASSERT_EQ(stap_tap_rx(self->s.sfd, -1, vfd), 0);
		break;
	case TAP_PARSE:
		ASSERT_EQ(stap_tap_rx(self->s.sfd, pfd, vfd), 0);
		break;
	case TAP_BOTH:
		p = stap_params_of(pfd, vfd, pfd, vfd);
		ASSERT_EQ(stap_ulp(self->s.cfd), 0);
		ASSERT_EQ(setsockopt(self->s.cfd, SOL_STAP, STAP_PARAMS, &p,
				     sizeof(p)), 0);
		ASSERT_EQ(stap_ulp(self->s.sfd), 0);
		ASSERT_EQ(setsockopt(self->s.sfd, SOL_STAP, STAP_PARAMS, &p,
				     sizeof(p)), 0);
		break;
	}
	ASSERT_EQ(stap_tcpext("TCPWinProbe"), 0);
	ASSERT_EQ(stap_tcpext("TCPTimeouts"), 0);
	ASSERT_EQ(probe0_setup(), 0) {
		TH_LOG("kprobe on tcp_send_probe0: %s", strerror(errno));
	}
	self->probe0 = probe0_hits();
	ASSERT_GE(self->probe0, 0);
}

FIXTURE_TEARDOWN(win)
{
	close(self->s.cfd);
	close(self->s.sfd);
	free(self->s.stream);
	stap_test_bpf__destroy(self->skel);
}

/* What a tapped transfer may not make more of than a plain one: none */
static void expect_no_timers(struct __test_metadata *_metadata,
			     long long probe0)
{
	EXPECT_EQ(stap_tcpext("TCPWinProbe"), 0);
	EXPECT_EQ(stap_tcpext("TCPTimeouts"), 0);
	EXPECT_EQ(probe0_hits() - probe0, 0);
}

/* Blocking: a child writes the stream, the test reads it in reads of
 * @rsize bytes. @pinned puts the writer on CPU 0 and the reader on
 * CPU 1, so that both run at once, as stap_bench's do.
 */
static void bulk_blocking(struct __test_metadata *_metadata,
			  struct stream *self, size_t rsize, bool pinned)
{
	char *got = malloc(self->len);
	size_t off = 0;
	int status;
	pid_t pid;
	ssize_t n;

	ASSERT_NE(got, NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pinned)
		stap_pin_cpu(pid ? 1 : 0);
	if (!pid)
		_exit(stap_write_all(self->cfd, self->stream, self->len) ||
		      shutdown(self->cfd, SHUT_WR));
	while ((n = recv(self->sfd, got + off,
			 self->len - off < rsize ? self->len - off : rsize,
			 0)) > 0)
		off += n;
	EXPECT_EQ(n, 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
	ASSERT_EQ(off, self->len);
	EXPECT_EQ(memcmp(got, self->stream, self->len), 0);
	free(got);
}

/* Wait until @wfd (when @want_w) is writable or @rfd readable, with the
 * variant's primitive. Return: 0, or -1 after WAIT_MS without either.
 */
static int wait_either(enum wait_mode mode, int epfd, int wfd, bool want_w,
		       int rfd)
{
	struct pollfd pfd[2] = {
		{ .fd = rfd, .events = POLLIN },
		{ .fd = wfd, .events = POLLOUT },
	};
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	struct epoll_event ev[2];
	fd_set rs, ws;

	switch (mode) {
	case WAIT_POLL:
		return poll(pfd, want_w ? 2 : 1, WAIT_MS) > 0 ? 0 : -1;
	case WAIT_EPOLL:
		ev[0].events = want_w ? EPOLLOUT : 0;
		ev[0].data.fd = wfd;
		if (epoll_ctl(epfd, EPOLL_CTL_MOD, wfd, &ev[0]))
			return -1;
		return epoll_wait(epfd, ev, 2, WAIT_MS) > 0 ? 0 : -1;
	default:
		FD_ZERO(&rs);
		FD_ZERO(&ws);
		FD_SET(rfd, &rs);
		if (want_w)
			FD_SET(wfd, &ws);
		return select((rfd > wfd ? rfd : wfd) + 1, &rs, &ws, NULL,
			      &tv) > 0 ? 0 : -1;
	}
}

/* One event loop over both non-blocking ends, as an asyncio program with
 * its client and server in one process: write while there is room, read
 * what is readable, until the whole stream has crossed.
 */
static void bulk_loop(struct __test_metadata *_metadata,
		      struct stream *self, enum wait_mode mode)
{
	struct epoll_event ev = { .events = EPOLLIN };
	size_t sent = 0, off = 0;
	char *got = malloc(self->len);
	int epfd = -1;
	ssize_t n;

	ASSERT_NE(got, NULL);
	ASSERT_EQ(fcntl(self->cfd, F_SETFL, O_NONBLOCK), 0);
	ASSERT_EQ(fcntl(self->sfd, F_SETFL, O_NONBLOCK), 0);
	if (mode == WAIT_EPOLL) {
		epfd = epoll_create1(0);
		ASSERT_GE(epfd, 0);
		ev.data.fd = self->sfd;
		ASSERT_EQ(epoll_ctl(epfd, EPOLL_CTL_ADD, self->sfd, &ev), 0);
		ev.events = 0;
		ev.data.fd = self->cfd;
		ASSERT_EQ(epoll_ctl(epfd, EPOLL_CTL_ADD, self->cfd, &ev), 0);
	}
	while (off < self->len) {
		ASSERT_EQ(wait_either(mode, epfd, self->cfd,
				      sent < self->len, self->sfd), 0) {
			TH_LOG("stalled: %zu sent, %zu read", sent, off);
		}
		while (sent < self->len) {
			n = send(self->cfd, self->stream + sent,
				 self->len - sent, MSG_NOSIGNAL);
			if (n < 0) {
				ASSERT_EQ(errno, EAGAIN);
				break;
			}
			sent += n;
		}
		while ((n = recv(self->sfd, got + off, self->len - off,
				 0)) > 0)
			off += n;
		if (n < 0)
			ASSERT_EQ(errno, EAGAIN);
	}
	EXPECT_EQ(memcmp(got, self->stream, self->len), 0);
	if (epfd >= 0)
		close(epfd);
	free(got);
}

TEST_F(win, bulk_blocking)
{
	bulk_blocking(_metadata, &self->s, 4096, false);
	expect_no_timers(_metadata, self->probe0);
}

/* stap_bench's one-way transfer with 4 KiB buffers: TCP_NODELAY, writer
 * and reader on their own CPUs, large reads, many records. The window a
 * message leaves once its last segment is acknowledged can then be too
 * small for the writer's next segment; a read must reopen it (seen as
 * persist timer expiries with an ACK only when the window doubles).
 */
TEST_F_TIMEOUT(win, bulk_pinned, 120)
{
	const char *recs = getenv("STAP_WINDOW_RECORDS");
	int one = 1;

	if (variant->buf != 4096)
		SKIP(return, "4 KiB buffers only");
	free(self->s.stream);
	self->s.stream = make_stream(recs ? atoi(recs) : LONG_RECORDS,
				     REC_PAYLOAD, &self->s.len);
	ASSERT_NE(self->s.stream, NULL);
	ASSERT_EQ(setsockopt(self->s.cfd, SOL_TCP, TCP_NODELAY, &one,
			     sizeof(one)), 0);
	ASSERT_EQ(setsockopt(self->s.sfd, SOL_TCP, TCP_NODELAY, &one,
			     sizeof(one)), 0);
	bulk_blocking(_metadata, &self->s, 128 * 1024, true);
	expect_no_timers(_metadata, self->probe0);
	/* Under instruction counting (make check's icount run sets this)
	 * guest time passes only with work, so a delayed ACK timer that
	 * fires is the transfer waiting for it: a parser that needs more of
	 * a message while the writer, short of send buffer, needs the ACK.
	 * Wall-clock TCG can stall a vCPU past the timer's 40 ms.
	 */
	if (getenv("STAP_WINDOW_NO_DELACK"))
		EXPECT_EQ(stap_tcpext("DelayedACKs"), 0);
}

TEST_F(win, bulk_poll)
{
	bulk_loop(_metadata, &self->s, WAIT_POLL);
	expect_no_timers(_metadata, self->probe0);
}

TEST_F(win, bulk_epoll)
{
	bulk_loop(_metadata, &self->s, WAIT_EPOLL);
	expect_no_timers(_metadata, self->probe0);
}

TEST_F(win, bulk_select)
{
	bulk_loop(_metadata, &self->s, WAIT_SELECT);
	expect_no_timers(_metadata, self->probe0);
}

/* Record @i of the stream, round robin */
static const char *record(const struct stream *s, int i)
{
	return s->stream + (i % (s->len / REC_LEN)) * REC_LEN;
}

/* Request and response: a small request from the client, a record back
 * from the server, RR_ROUNDS times, each end blocking.
 */
TEST_F(win, request_response)
{
	char req[4 + REQ_PAYLOAD], got[4 + REQ_PAYLOAD];
	char *resp = malloc(REC_LEN);
	uint32_t be = htonl(REQ_PAYLOAD);
	int i, status;
	pid_t pid;

	ASSERT_NE(resp, NULL);
	memcpy(req, &be, 4);
	memset(req + 4, 'q', REQ_PAYLOAD);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		for (i = 0; i < RR_ROUNDS; i++)
			if (stap_read_all(self->s.sfd, got, sizeof(got)) ||
			    memcmp(got, req, sizeof(req)) ||
			    stap_write_all(self->s.sfd, record(&self->s, i),
					   REC_LEN))
				_exit(1);
		_exit(0);
	}
	for (i = 0; i < RR_ROUNDS; i++) {
		ASSERT_EQ(stap_write_all(self->s.cfd, req, sizeof(req)), 0);
		ASSERT_EQ(stap_read_all(self->s.cfd, resp, REC_LEN), 0);
		ASSERT_EQ(memcmp(resp, record(&self->s, i), REC_LEN), 0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
	free(resp);
	expect_no_timers(_metadata, self->probe0);
}

#include "stap_main.h"
