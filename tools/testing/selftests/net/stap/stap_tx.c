// SPDX-License-Identifier: GPL-2.0
/*
 * stap send path tests.
 *
 * The client (cfd) is tapped on send and written by the test; the accepted
 * socket (sfd) is plain TCP and shows what reached the wire. Verdicts come
 * from one byte of each message (progs/stap_test.bpf.c): 'D' drop,
 * 'X' disconnect, 'U' unknown verdict, anything else pass. Payload bytes
 * are lower case, so that only tags decide.
 */
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stap_lib.h"
#include "../../kselftest_harness.h"

#define STAP_FIXTURE tx
#define STAP_ERR_FIXTURE tx_err
#include "stap_fixture.h"

/* One message with tag @tag and @len payload bytes (7 for PARSE_SEVEN)
 * filled with @fill. Returns its size on the wire.
 */
static size_t build(enum parser p, char *out, char tag, size_t len, char fill)
{
	size_t hdr = p == PARSE_LEN ? 4 : 0;
	uint32_t be = htonl(len);

	if (hdr)
		memcpy(out, &be, 4);
	memset(out + hdr, fill, len);
	if (len)
		out[hdr] = tag;
	return hdr + len;
}

/* Messages from @tags, 7 payload bytes each; *pass gets what passes. */
static size_t build_tags(enum parser p, const char *tags, char *all,
			 char *pass, size_t *npass)
{
	size_t i, n = 0, m;

	*npass = 0;
	for (i = 0; tags[i]; i++) {
		m = build(p, all + n, tags[i], 7, 'a' + i % 26);
		if (!strchr("DXU", tags[i])) {
			memcpy(pass + *npass, all + n, m);
			*npass += m;
		}
		n += m;
	}
	return n;
}

struct reader {
	pthread_t thread;
	int fd;
	size_t want;
	size_t got;
	char *buf;
	bool eof;
};

/* Read until @want bytes or EOF. */
static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	while (r->got < r->want) {
		n = recv(r->fd, r->buf + r->got, r->want - r->got, 0);
		if (n <= 0) {
			r->eof = !n;
			break;
		}
		r->got += n;
	}
	return NULL;
}

static void reader_start(struct reader *r, int fd, size_t want)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->want = want;
	r->buf = malloc(want + 1);
	pthread_create(&r->thread, NULL, reader_fn, r);
}

static void reader_join(struct reader *r)
{
	pthread_join(r->thread, NULL);
}

FIXTURE_SETUP(tx)
{
	int vfd;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	signal(SIGPIPE, SIG_IGN);
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
	ASSERT_EQ(stap_pair(variant->family, &self->cfd, &self->sfd), 0);
	self->skel->bss->verdict_off = variant->parser == PARSE_LEN ? 4 : 0;
	vfd = bpf_program__fd(self->skel->progs.verdict_inspect);
	ASSERT_EQ(stap_tap_tx(self->cfd, parse_fd(self->skel, variant->parser),
			      vfd), 0);
}

/* Send the messages of @tags, one send each in chunk mode, and check the
 * peer gets exactly the passed ones.
 */
static void send_expect(struct __test_metadata *_metadata, int cfd, int sfd,
			enum parser p, const char *tags)
{
	char all[4096], pass[4096], got[4096];
	size_t n, npass, i, m;

	n = build_tags(p, tags, all, pass, &npass);
	if (p == PARSE_NONE) {
		/* Without a parser each send is judged as it is taken */
		for (i = 0; i < n; i += m) {
			m = 7;
			ASSERT_EQ(send(cfd, all + i, m, 0), (ssize_t)m);
		}
	} else {
		ASSERT_EQ(send(cfd, all, n, 0), (ssize_t)n);
	}
	ASSERT_EQ(stap_read_all(sfd, got, npass), 0);
	EXPECT_EQ(memcmp(got, pass, npass), 0);
}

/* Nothing more comes: what @cfd sent has all arrived, and none of it
 * waits for the reader at @sfd.
 */
static void expect_nothing(struct __test_metadata *_metadata, int cfd,
			   int sfd)
{
	char c;

	ASSERT_EQ(stap_wait_acked(cfd), 0);
	EXPECT_EQ(recv(sfd, &c, 1, MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EAGAIN);
}

/* What TCP holds back does not arrive: the 20 ms sleep is the assertion */
static void expect_held(struct __test_metadata *_metadata, int fd)
{
	char c;

	usleep(20000);
	EXPECT_EQ(recv(fd, &c, 1, MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EAGAIN);
}

TEST_F(tx, single_message)
{
	send_expect(_metadata, self->cfd, self->sfd, variant->parser, "P");
	expect_nothing(_metadata, self->cfd, self->sfd);
}

TEST_F(tx, drop_keeps_order)
{
	send_expect(_metadata, self->cfd, self->sfd, variant->parser,
		    "PDPDDPUP");
	expect_nothing(_metadata, self->cfd, self->sfd);
}

TEST_F(tx, many_messages_one_write)
{
	char tags[301];
	int i;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "one write is one chunk");
	for (i = 0; i < 300; i++)
		tags[i] = i % 3 ? 'P' : 'D';
	tags[300] = 0;
	send_expect(_metadata, self->cfd, self->sfd, variant->parser, tags);
	expect_nothing(_metadata, self->cfd, self->sfd);
}

TEST_F(tx, counters)
{
	struct stap_stats st;

	send_expect(_metadata, self->cfd, self->sfd, variant->parser, "PDPU");
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.tx_pass_msgs, 2);
	EXPECT_EQ(st.tx_drop_msgs, 2);
	EXPECT_EQ(st.tx_pass_bytes, variant->parser == PARSE_LEN ? 22 : 14);
	EXPECT_EQ(st.tx_drop_bytes, variant->parser == PARSE_LEN ? 22 : 14);
	EXPECT_EQ(st.bad_verdicts, 1);
	EXPECT_EQ(st.rx_pass_msgs, 0);
	EXPECT_EQ(st.disconnects, 0);
}

TEST_F(tx, byte_by_byte)
{
	char all[64], pass[64], got[64];
	size_t n, npass, i;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "every byte is a message");
	n = build_tags(variant->parser, "PDP", all, pass, &npass);
	for (i = 0; i < n; i++)
		ASSERT_EQ(send(self->cfd, all + i, 1, 0), 1);
	ASSERT_EQ(stap_read_all(self->sfd, got, npass), 0);
	EXPECT_EQ(memcmp(got, pass, npass), 0);
}

/* The program sees the sending socket and the outgoing direction. */
TEST_F(tx, program_sees_socket)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	send_expect(_metadata, self->cfd, self->sfd, variant->parser, "P");
	ASSERT_EQ(getsockname(self->cfd, (struct sockaddr *)&ss, &sl), 0);
	EXPECT_EQ(self->skel->bss->seen_family, variant->family);
	EXPECT_EQ(self->skel->bss->seen_pkt_type, PACKET_OUTGOING);
	EXPECT_EQ(self->skel->bss->seen_local_port,
		  ntohs(variant->family == AF_INET6 ?
			((struct sockaddr_in6 *)&ss)->sin6_port :
			((struct sockaddr_in *)&ss)->sin_port));
	EXPECT_EQ(self->skel->bss->seen_len,
		  variant->parser == PARSE_LEN ? 11 : 7);
	EXPECT_EQ(self->skel->bss->seen_first,
		  variant->parser == PARSE_LEN ? 0 : 'P');
}

/* One message of each size, written in one send, read whole. */
TEST_F(tx, sizes)
{
	static const size_t sizes[] = { 1, 7, 100, 1400, 4096, 16384,
					65535, 65536, 200000, 1 << 20 };
	struct reader r;
	size_t i, n;
	char *buf;

	buf = malloc((1 << 20) + 8);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t len = sizes[i];

		/* Seven-byte messages: a 1 MiB write is 150000 verdicts */
		if (variant->parser == PARSE_SEVEN && len > 16384)
			break;
		if (variant->parser == PARSE_SEVEN)
			len = (len + 6) / 7 * 7;
		n = build(variant->parser, buf, 'P', len, 'q' + i % 8);
		if (variant->parser == PARSE_SEVEN)
			for (size_t j = 0; j < n; j += 7)
				buf[j] = 'P';
		reader_start(&r, self->sfd, n);
		ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
		reader_join(&r);
		ASSERT_EQ(r.got, n);
		EXPECT_EQ(memcmp(r.buf, buf, n), 0);
		free(r.buf);
	}
	free(buf);
}

/* One message over many small iovecs; and many messages in 1024 iovecs. */
TEST_F(tx, fragmented_iovecs)
{
	char all[16384], pass[16384], got[16384], tags[1025];
	struct iovec iov[1024];
	struct msghdr msg = {};
	size_t n, npass, i;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "one write is one chunk");
	for (i = 0; i < 1024; i++)
		tags[i] = i % 5 == 2 ? 'D' : 'P';
	tags[1024] = 0;
	n = build_tags(variant->parser, tags, all, pass, &npass);
	ASSERT_LE(n, sizeof(all));
	/* 1024 iovecs of uneven sizes covering all of it */
	for (i = 0; i < 1024; i++) {
		iov[i].iov_base = all + n * i / 1024;
		iov[i].iov_len = n * (i + 1) / 1024 - n * i / 1024;
	}
	msg.msg_iov = iov;
	msg.msg_iovlen = 1024;
	ASSERT_EQ(sendmsg(self->cfd, &msg, 0), (ssize_t)n);
	ASSERT_EQ(stap_read_all(self->sfd, got, npass), 0);
	EXPECT_EQ(memcmp(got, pass, npass), 0);
}

/* MSG_MORE holds a complete message in TCP until a send without it. */
TEST_F(tx, msg_more)
{
	char all[64], pass[64], got[64];
	size_t n, npass;

	ASSERT_EQ(setsockopt(self->cfd, SOL_TCP, TCP_NODELAY, &(int){1},
			     sizeof(int)), 0);
	n = build_tags(variant->parser, "P", all, pass, &npass);
	ASSERT_EQ(send(self->cfd, all, n, MSG_MORE), (ssize_t)n);
	expect_held(_metadata, self->sfd);
	ASSERT_EQ(send(self->cfd, all, n, 0), (ssize_t)n);
	ASSERT_EQ(stap_read_all(self->sfd, got, 2 * n), 0);
	EXPECT_EQ(memcmp(got, all, n), 0);
	EXPECT_EQ(memcmp(got + n, all, n), 0);
}

/* struct tcp_info up to tcpi_data_segs_out (4.6): glibc's copy ends at
 * tcpi_total_retrans, and <linux/tcp.h> clashes with <netinet/tcp.h>.
 */
struct tcp_info_segs {
	struct tcp_info info;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in;
	uint32_t data_segs_out;
};

static long long data_segs_out(int fd)
{
	struct tcp_info_segs ti = {};
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) ||
	    len < sizeof(ti))
		return -1;
	return ti.data_segs_out;
}

/* A send pushes TCP once, as tcp_sendmsg() does, not at every message
 * boundary: its passed messages leave in one segment, also when its last
 * message is dropped. A segment per message would lower the window clamp
 * of a 6.12 or 7.3 receiver (see stap_window).
 */
TEST_F(tx, one_push_per_send)
{
	char all[256], pass[256], got[256];
	long long before;
	size_t n, npass;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "one write is one chunk");
	ASSERT_EQ(setsockopt(self->cfd, SOL_TCP, TCP_NODELAY, &(int){1},
			     sizeof(int)), 0);
	n = build_tags(variant->parser, "PDPPD", all, pass, &npass);
	before = data_segs_out(self->cfd);
	ASSERT_GE(before, 0);
	ASSERT_EQ(send(self->cfd, all, n, 0), (ssize_t)n);
	ASSERT_EQ(stap_read_all(self->sfd, got, npass), 0);
	EXPECT_EQ(memcmp(got, pass, npass), 0);
	EXPECT_EQ(data_segs_out(self->cfd) - before, 1);
	expect_nothing(_metadata, self->cfd, self->sfd);
}

/* A send without MSG_MORE that completes no message still releases what
 * an earlier MSG_MORE held.
 */
TEST_F(tx, msg_more_released_by_partial)
{
	char all[64], pass[64], got[64];
	size_t n, npass;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "every chunk is complete");
	n = build_tags(variant->parser, "P", all, pass, &npass);
	ASSERT_EQ(send(self->cfd, all, n, MSG_MORE), (ssize_t)n);
	ASSERT_EQ(send(self->cfd, all, 2, 0), 2);
	ASSERT_EQ(stap_read_all(self->sfd, got, n), 0);
	EXPECT_EQ(memcmp(got, all, n), 0);
	expect_nothing(_metadata, self->cfd, self->sfd);
}

TEST_F(tx, tcp_cork)
{
	char all[64], pass[64], got[64];
	size_t n, npass;

	ASSERT_EQ(setsockopt(self->cfd, SOL_TCP, TCP_CORK, &(int){1},
			     sizeof(int)), 0);
	n = build_tags(variant->parser, "P", all, pass, &npass);
	ASSERT_EQ(send(self->cfd, all, n, 0), (ssize_t)n);
	expect_held(_metadata, self->sfd);
	ASSERT_EQ(setsockopt(self->cfd, SOL_TCP, TCP_CORK, &(int){0},
			     sizeof(int)), 0);
	ASSERT_EQ(stap_read_all(self->sfd, got, n), 0);
	EXPECT_EQ(memcmp(got, all, n), 0);
}

static int tmpfile_with(const char *buf, size_t n)
{
	char path[] = "/tmp/stap_tx_XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, buf, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST_F(tx, sendfile_framed)
{
	char all[4096], pass[4096], got[4096];
	size_t n, npass;
	off_t off = 0;
	int fd;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "chunks of a file are not messages");
	n = build_tags(variant->parser, "PPDPUPDDP", all, pass, &npass);
	fd = tmpfile_with(all, n);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(sendfile(self->cfd, fd, &off, n), (ssize_t)n);
	ASSERT_EQ(stap_read_all(self->sfd, got, npass), 0);
	EXPECT_EQ(memcmp(got, pass, npass), 0);
	expect_nothing(_metadata, self->cfd, self->sfd);
	close(fd);
}

TEST_F(tx, sendfile_large)
{
	size_t len = 3 << 20, n;
	struct reader r;
	off_t off = 0;
	char *buf;
	int fd;

	if (variant->parser != PARSE_LEN)
		SKIP(return, "one big message");
	buf = malloc(len + 4);
	n = build(variant->parser, buf, 'P', len, 's');
	fd = tmpfile_with(buf, n);
	ASSERT_GE(fd, 0);
	reader_start(&r, self->sfd, n);
	while ((size_t)off < n)
		ASSERT_GT(sendfile(self->cfd, fd, &off, n - off), 0);
	reader_join(&r);
	ASSERT_EQ(r.got, n);
	EXPECT_EQ(memcmp(r.buf, buf, n), 0);
	free(r.buf);
	free(buf);
	close(fd);
}

TEST_F(tx, splice_from_pipe)
{
	char all[4096], pass[4096], got[4096];
	size_t n, npass;
	int p[2];

	if (variant->parser == PARSE_NONE)
		SKIP(return, "chunks of a pipe are not messages");
	n = build_tags(variant->parser, "PDPPDUP", all, pass, &npass);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(write(p[1], all, n), (ssize_t)n);
	ASSERT_EQ(splice(p[0], NULL, self->cfd, NULL, n, 0), (ssize_t)n);
	ASSERT_EQ(stap_read_all(self->sfd, got, npass), 0);
	EXPECT_EQ(memcmp(got, pass, npass), 0);
	expect_nothing(_metadata, self->cfd, self->sfd);
	close(p[0]);
	close(p[1]);
}

/* Fill a small send buffer with MSG_DONTWAIT: every byte taken arrives
 * once, none that was refused.
 */
TEST_F(tx, nonblocking_small_sndbuf)
{
	size_t total = 0, off = 0, n, got = 0;
	char buf[1100];
	struct stap_stats st;
	ssize_t r;

	if (variant->parser == PARSE_SEVEN)
		SKIP(return, "covered with the other parsers");
	ASSERT_EQ(setsockopt(self->cfd, SOL_SOCKET, SO_SNDBUF, &(int){4096},
			     sizeof(int)), 0);
	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &(int){4096},
			     sizeof(int)), 0);
	n = build(variant->parser, buf, 'P', 1000, 'n');
	for (;;) {
		r = send(self->cfd, buf + off, n - off, MSG_DONTWAIT);
		if (r < 0)
			break;
		ASSERT_GT(r, 0);
		total += r;
		off = (off + r) % n;
		ASSERT_LT(total, 16u << 20);
	}
	ASSERT_EQ(errno, EAGAIN);
	EXPECT_GT(total, 0);
	/* The rest of the cut message, blocking: the reader drains */
	if (off) {
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (!pid)
			_exit(stap_write_all(self->cfd, buf + off, n - off));
		total += n - off;
		while (got < total) {
			char rb[4096];

			r = recv(self->sfd, rb, sizeof(rb), 0);
			ASSERT_GT(r, 0);
			got += r;
		}
		ASSERT_EQ(waitpid(pid, NULL, 0), pid);
	}
	while (got < total) {
		char rb[4096];

		r = recv(self->sfd, rb, sizeof(rb), 0);
		ASSERT_GT(r, 0);
		got += r;
	}
	EXPECT_EQ(got, total);
	expect_nothing(_metadata, self->cfd, self->sfd);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.tx_pass_bytes, total);
}

/* A blocking send with SO_SNDTIMEO returns what it took when the peer
 * does not read; exactly those bytes arrive.
 */
TEST_F(tx, sndtimeo)
{
	struct timeval tv = { .tv_usec = 200000 };
	size_t len = 4 << 20, n, got = 0;
	char *buf, rb[65536];
	ssize_t r;

	if (variant->parser == PARSE_SEVEN)
		SKIP(return, "covered with the other parsers");
	buf = malloc(len);
	memset(buf, 't', len);
	ASSERT_EQ(setsockopt(self->cfd, SOL_SOCKET, SO_SNDTIMEO, &tv,
			     sizeof(tv)), 0);
	ASSERT_EQ(setsockopt(self->cfd, SOL_SOCKET, SO_SNDBUF, &(int){8192},
			     sizeof(int)), 0);
	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &(int){8192},
			     sizeof(int)), 0);
	/* Messages of 1000 bytes: the send stops at the timeout */
	for (n = 0; n + 1004 <= len; n += 1004)
		build(variant->parser, buf + n, 'P', 1000, 't');
	r = send(self->cfd, buf, n, 0);
	ASSERT_GT(r, 0);
	ASSERT_LT(r, (ssize_t)n);
	/* A second one times out with nothing taken */
	if (variant->parser == PARSE_NONE) {
		EXPECT_EQ(send(self->cfd, buf, 100, 0), -1);
		EXPECT_EQ(errno, EAGAIN);
	}
	shutdown(self->cfd, SHUT_WR);
	while ((r = recv(self->sfd, rb, sizeof(rb), 0)) > 0)
		got += r;
	/* A cut last message never leaves; everything before does */
	if (variant->parser == PARSE_LEN)
		EXPECT_EQ(got % 1004, 0);
	EXPECT_GT(got, 0);
	free(buf);
}

/* EPOLLOUT: not while a send would take nothing, again once it would. */
TEST_F(tx, epollout)
{
	struct epoll_event ev = { .events = EPOLLOUT }, out;
	struct pollfd pfd[2] = { { .fd = self->sfd, .events = POLLIN },
				 { .fd = self->cfd, .events = POLLOUT } };
	size_t total = 0, off = 0, n;
	char buf[1100], rb[65536];
	ssize_t r;
	int ep;

	if (variant->parser == PARSE_SEVEN)
		SKIP(return, "covered with the other parsers");
	ASSERT_EQ(setsockopt(self->cfd, SOL_SOCKET, SO_SNDBUF, &(int){16384},
			     sizeof(int)), 0);
	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &(int){16384},
			     sizeof(int)), 0);
	n = build(variant->parser, buf, 'P', 1000, 'e');
	ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, self->cfd, &ev), 0);
	EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 1);
	/* Fill until TCP stays full: no room comes within 200 ms */
	for (;;) {
		r = send(self->cfd, buf + off, n - off, MSG_DONTWAIT);
		if (r < 0) {
			ASSERT_EQ(errno, EAGAIN);
			if (!epoll_wait(ep, &out, 1, 200))
				break;
			r = send(self->cfd, buf + off, n - off, MSG_DONTWAIT);
			if (r < 0)
				break;
		}
		total += r;
		off = (off + r) % n;
		ASSERT_LT(total, 16u << 20);
	}
	EXPECT_EQ(epoll_wait(ep, &out, 1, 100), 0);
	/* The reader makes room, reading what arrives, until EPOLLOUT */
	while (epoll_wait(ep, &out, 1, 0) != 1) {
		ASSERT_GT(poll(pfd, 2, 5000), 0);
		if (pfd[0].revents & POLLIN)
			ASSERT_GT(recv(self->sfd, rb, sizeof(rb), 0), 0);
	}
	ASSERT_EQ(epoll_wait(ep, &out, 1, 0), 1);
	EXPECT_TRUE(out.events & EPOLLOUT);
	EXPECT_GT(send(self->cfd, buf + off, n - off, MSG_DONTWAIT), 0);
	close(ep);
}

/* Several processes write whole messages; all of them arrive, intact. */
TEST_F(tx, multi_process_writers)
{
	int nproc = 4, per = 300, i, k;
	size_t n, total, j;
	struct reader r;
	char buf[128];
	pid_t pids[4];

	if (variant->parser == PARSE_NONE)
		SKIP(return, "chunks interleave");
	n = build(variant->parser, buf, 'P', 7, 'w');
	total = n * nproc * per;
	reader_start(&r, self->sfd, total);
	for (i = 0; i < nproc; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (!pids[i]) {
			build(variant->parser, buf, 'P', 7, 'k' + i);
			for (k = 0; k < per; k++)
				if (send(self->cfd, buf, n, 0) != (ssize_t)n)
					_exit(1);
			_exit(0);
		}
	}
	for (i = 0; i < nproc; i++) {
		int status;

		ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
		EXPECT_EQ(status, 0);
	}
	reader_join(&r);
	ASSERT_EQ(r.got, total);
	for (j = 0; j < total; j += n) {
		char want[128];

		build(variant->parser, want, 'P', 7,
		      r.buf[j + n - 1]);
		ASSERT_EQ(memcmp(r.buf + j, want, n), 0);
	}
	free(r.buf);
}

/* shutdown(SHUT_WR) drops an incomplete message; the peer gets every
 * message before it, then EOF.
 */
TEST_F(tx, shutdown_drops_incomplete)
{
	char all[64], pass[64], got[64], c;
	struct stap_stats st;
	size_t n, npass;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "no message is incomplete");
	n = build_tags(variant->parser, "PP", all, pass, &npass);
	ASSERT_EQ(send(self->cfd, all, n - 3, 0), (ssize_t)(n - 3));
	ASSERT_EQ(shutdown(self->cfd, SHUT_WR), 0);
	ASSERT_EQ(stap_read_all(self->sfd, got, n / 2), 0);
	EXPECT_EQ(memcmp(got, all, n / 2), 0);
	EXPECT_EQ(recv(self->sfd, &c, 1, 0), 0);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.tx_pass_msgs, 1);
	EXPECT_EQ(st.tx_drop_msgs, 1);
	EXPECT_EQ(st.tx_drop_bytes, n / 2 - 3);
	/* Sending after shutdown */
	EXPECT_EQ(send(self->cfd, all, n, 0), -1);
	EXPECT_EQ(errno, EPIPE);
}

/* Closing with accepted messages queued in TCP delivers them. */
TEST_F(tx, close_delivers_queued)
{
	size_t total = 0, n, got = 0;
	char buf[1100], rb[65536];
	ssize_t r;

	n = build(variant->parser, buf, 'P',
		  variant->parser == PARSE_SEVEN ? 7 : 1000, 'c');
	ASSERT_EQ(setsockopt(self->cfd, SOL_SOCKET, SO_SNDBUF, &(int){16384},
			     sizeof(int)), 0);
	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &(int){16384},
			     sizeof(int)), 0);
	while ((r = send(self->cfd, buf, n, MSG_DONTWAIT)) == (ssize_t)n)
		total += n;
	/* Without a parser the bytes of a cut send are a message too */
	if (variant->parser == PARSE_NONE && r > 0)
		total += r;
	ASSERT_GT(total, 0);
	close(self->cfd);
	while ((r = recv(self->sfd, rb, sizeof(rb), 0)) > 0)
		got += r;
	EXPECT_EQ(r, 0);
	/* The message cut at EAGAIN (if any) was dropped at close */
	EXPECT_EQ(got, total);
	self->cfd = socket(AF_INET, SOCK_STREAM, 0);
}

TEST_F(tx, linger_zero_resets)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	char all[64], pass[64], rb[64];
	size_t n, npass;

	n = build_tags(variant->parser, "P", all, pass, &npass);
	ASSERT_EQ(send(self->cfd, all, n, 0), (ssize_t)n);
	ASSERT_EQ(stap_read_all(self->sfd, rb, n), 0);
	ASSERT_EQ(setsockopt(self->cfd, SOL_SOCKET, SO_LINGER, &l,
			     sizeof(l)), 0);
	ASSERT_EQ(send(self->cfd, all, n, 0), (ssize_t)n);
	close(self->cfd);
	self->cfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(stap_wait_hup(self->sfd), 0);
	/* Data may or may not have arrived first; the end is a reset */
	while (recv(self->sfd, rb, sizeof(rb), 0) > 0)
		;
	EXPECT_EQ(errno, ECONNRESET);
}

TEST_F(tx, linger_waits_for_delivery)
{
	struct linger l = { .l_onoff = 1, .l_linger = 5 };
	size_t len = 1 << 20, n;
	struct reader r;
	char *buf;

	if (variant->parser != PARSE_LEN)
		SKIP(return, "one big message");
	buf = malloc(len + 4);
	n = build(variant->parser, buf, 'P', len, 'l');
	ASSERT_EQ(setsockopt(self->cfd, SOL_SOCKET, SO_LINGER, &l,
			     sizeof(l)), 0);
	reader_start(&r, self->sfd, n + 1);
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	close(self->cfd);
	self->cfd = socket(AF_INET, SOCK_STREAM, 0);
	reader_join(&r);
	EXPECT_EQ(r.got, n);
	EXPECT_TRUE(r.eof);
	EXPECT_EQ(memcmp(r.buf, buf, n), 0);
	free(r.buf);
	free(buf);
}

struct blocked_send {
	int fd;
	char *buf;
	size_t len;
	pid_t tid;
	ssize_t ret;
	int err;
	bool done;
};

static void *blocked_send_fn(void *arg)
{
	struct blocked_send *b = arg;

	__atomic_store_n(&b->tid, stap_tid(), __ATOMIC_RELEASE);
	b->ret = send(b->fd, b->buf, b->len, 0);
	b->err = errno;
	__atomic_store_n(&b->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* The thread of @b sleeps in send() (*@asleep), or its send returned */
static bool blocked_send_seen(struct blocked_send *b, bool *asleep)
{
	pid_t tid = __atomic_load_n(&b->tid, __ATOMIC_ACQUIRE);

	*asleep = tid && stap_sleeps_in(tid, SYS_sendto);
	return *asleep || __atomic_load_n(&b->done, __ATOMIC_ACQUIRE);
}

/* A thread sends @b. Return: 0 once it sleeps in send(), 1 if the send
 * returned first, -1 if neither came.
 */
static int blocked_send_start(struct blocked_send *b, pthread_t *th)
{
	bool asleep = false;

	if (pthread_create(th, NULL, blocked_send_fn, b) ||
	    stap_wait_until(blocked_send_seen(b, &asleep)))
		return -1;
	return !asleep;
}

/* shutdown(SHUT_WR) from another thread wakes a sender blocked on a full
 * buffer: it returns what it took, and the peer gets the whole messages
 * among them.
 */
TEST_F(tx, shutdown_wakes_blocked_sender)
{
	struct blocked_send b = { .fd = self->cfd, .len = 8 << 20 };
	size_t got = 0, n;
	pthread_t th;
	char rb[65536];
	ssize_t r;

	if (variant->parser != PARSE_LEN)
		SKIP(return, "covered by the length parser");
	b.buf = malloc(b.len);
	for (n = 0; n + 1004 <= b.len; n += 1004)
		build(variant->parser, b.buf + n, 'P', 1000, 'b');
	b.len = n;
	EXPECT_EQ(blocked_send_start(&b, &th), 0);
	ASSERT_EQ(shutdown(self->cfd, SHUT_WR), 0);
	pthread_join(th, NULL);
	ASSERT_GT(b.ret, 0);
	ASSERT_LT(b.ret, (ssize_t)b.len);
	while ((r = recv(self->sfd, rb, sizeof(rb), 0)) > 0)
		got += r;
	EXPECT_EQ(r, 0);
	EXPECT_EQ(got, (size_t)b.ret / 1004 * 1004);
	free(b.buf);
}

/* close() from another thread does not disturb a blocked sender (it holds
 * the file): once the peer reads, the send completes and the peer gets
 * all of it, then EOF.
 */
TEST_F(tx, close_racing_blocked_sender)
{
	struct blocked_send b = { .fd = self->cfd, .len = 4 << 20 };
	struct reader r;
	pthread_t th;

	if (variant->parser != PARSE_LEN)
		SKIP(return, "covered by the length parser");
	b.buf = malloc(b.len);
	build(variant->parser, b.buf, 'P', b.len - 4, 'r');
	/* The tap may take the whole message before TCP has room for it */
	ASSERT_GE(blocked_send_start(&b, &th), 0);
	if (__atomic_load_n(&b.done, __ATOMIC_ACQUIRE))
		TH_LOG("the send had returned before close()");
	close(self->cfd);
	self->cfd = socket(AF_INET, SOCK_STREAM, 0);
	reader_start(&r, self->sfd, b.len + 1);
	pthread_join(th, NULL);
	reader_join(&r);
	EXPECT_EQ(b.ret, (ssize_t)b.len);
	EXPECT_EQ(r.got, b.len);
	EXPECT_TRUE(r.eof);
	EXPECT_EQ(memcmp(r.buf, b.buf, b.len), 0);
	free(r.buf);
	free(b.buf);
}

/* A disconnect verdict: the send fails with ECONNABORTED, the peer gets
 * the messages before it and then a reset.
 */
TEST_F(tx, disconnect_verdict)
{
	char all[64], pass[64], got[64];
	struct stap_stats st;
	size_t n, npass;

	n = build_tags(variant->parser, "PX", all, pass, &npass);
	if (variant->parser == PARSE_NONE) {
		ASSERT_EQ(send(self->cfd, all, 7, 0), 7);
		EXPECT_EQ(send(self->cfd, all + 7, 7, 0), -1);
	} else {
		EXPECT_EQ(send(self->cfd, all, n, 0), -1);
	}
	EXPECT_EQ(errno, ECONNABORTED);
	ASSERT_EQ(stap_read_all(self->sfd, got, npass), 0);
	EXPECT_EQ(memcmp(got, pass, npass), 0);
	EXPECT_EQ(recv(self->sfd, got, sizeof(got), 0), -1);
	EXPECT_EQ(errno, ECONNRESET);
	EXPECT_EQ(send(self->cfd, all, 7, 0), -1);
	EXPECT_EQ(errno, ECONNABORTED);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.disconnects, 1);
	EXPECT_EQ(st.tx_pass_msgs, 1);
	EXPECT_EQ(st.tx_drop_msgs, 1);
}

TEST_F(tx, efault)
{
	EXPECT_EQ(send(self->cfd, (void *)8, 100, 0), -1);
	EXPECT_EQ(errno, EFAULT);
	send_expect(_metadata, self->cfd, self->sfd, variant->parser, "P");
	expect_nothing(_metadata, self->cfd, self->sfd);
}

/* Zero-copy sends would go around the tap. */
TEST_F(tx, unsupported_flags)
{
	EXPECT_EQ(send(self->cfd, "x", 1, MSG_ZEROCOPY), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	send_expect(_metadata, self->cfd, self->sfd, variant->parser, "P");
}

/* What the plain TCP reader @fd gets once it has all that @cfd sent:
 * @n1 bytes up to the mark, the urgent byte @urg with MSG_OOB there, then
 * @n2 bytes.
 */
static void expect_urgent(struct __test_metadata *_metadata, int cfd, int fd,
			  const char *m1, size_t n1, char urg,
			  const char *m2, size_t n2)
{
	char got[64], c;

	/* All of it arrived: TCP's mark is final */
	ASSERT_EQ(stap_wait_urgent(fd), 0);
	ASSERT_EQ(stap_wait_acked(cfd), 0);
	ASSERT_EQ(stap_read_all(fd, got, n1), 0);
	EXPECT_EQ(memcmp(got, m1, n1), 0);
	EXPECT_EQ(stap_atmark(fd), 1);
	ASSERT_EQ(recv(fd, &c, 1, MSG_OOB), 1);
	EXPECT_EQ(c, urg);
	ASSERT_EQ(stap_read_all(fd, got, n2), 0);
	EXPECT_EQ(memcmp(got, m2, n2), 0);
	/* Past the mark once a byte after it is read */
	EXPECT_EQ(stap_atmark(fd), !n2);
}

/* An urgent byte sent between messages keeps its place. */
TEST_F(tx, urgent_between_messages)
{
	char m1[16], m2[16];
	size_t n1 = build(variant->parser, m1, 'P', 7, 'a');
	size_t n2 = build(variant->parser, m2, 'P', 7, 'b');

	ASSERT_EQ(send(self->cfd, m1, n1, 0), (ssize_t)n1);
	ASSERT_EQ(send(self->cfd, "!", 1, MSG_OOB), 1);
	ASSERT_EQ(send(self->cfd, m2, n2, 0), (ssize_t)n2);
	expect_urgent(_metadata, self->cfd, self->sfd, m1, n1, '!', m2, n2);
	expect_nothing(_metadata, self->cfd, self->sfd);
}

/* An FTP client's ABOR: the last byte of a MSG_OOB send is urgent, the
 * rest is judged as usual; a dropped message leaves the mark at its place.
 */
TEST_F(tx, urgent_ends_send)
{
	char m1[16], m2[16], d[16];
	size_t n1 = build(variant->parser, m1, 'P', 7, 'a');
	size_t n2 = build(variant->parser, m2, 'P', 7, 'b');
	size_t nd = build(variant->parser, d, 'D', 7, 'c');

	m1[n1] = '#';
	ASSERT_EQ(send(self->cfd, m1, n1 + 1, MSG_OOB), (ssize_t)n1 + 1);
	expect_urgent(_metadata, self->cfd, self->sfd, m1, n1, '#', "", 0);
	d[nd] = '$';
	ASSERT_EQ(send(self->cfd, d, nd + 1, MSG_OOB), (ssize_t)nd + 1);
	ASSERT_EQ(send(self->cfd, m2, n2, 0), (ssize_t)n2);
	expect_urgent(_metadata, self->cfd, self->sfd, "", 0, '$', m2,
		      n2);
	expect_nothing(_metadata, self->cfd, self->sfd);
}

/* An urgent byte sent in the middle of a message follows that message. */
TEST_F(tx, urgent_inside_message)
{
	char m1[16], m2[16];
	size_t n1 = build(variant->parser, m1, 'P', 7, 'a');
	size_t n2 = build(variant->parser, m2, 'P', 7, 'b');

	if (variant->parser == PARSE_NONE)
		SKIP(return, "every send is a message");
	ASSERT_EQ(send(self->cfd, m1, 3, 0), 3);
	ASSERT_EQ(send(self->cfd, "!", 1, MSG_OOB), 1);
	ASSERT_EQ(send(self->cfd, "?", 1, MSG_OOB), 1);
	ASSERT_EQ(send(self->cfd, m1 + 3, n1 - 3, 0), (ssize_t)n1 - 3);
	ASSERT_EQ(send(self->cfd, m2, n2, 0), (ssize_t)n2);
	/* Two urgent bytes: TCP marks the last; the first reads in band */
	m1[n1] = '!';
	expect_urgent(_metadata, self->cfd, self->sfd, m1, n1 + 1, '?', m2,
		      n2);
	expect_nothing(_metadata, self->cfd, self->sfd);
}

/* A peer with SO_OOBINLINE reads the urgent byte in band, in place. */
TEST_F(tx, urgent_inline_at_peer)
{
	char m1[16], m2[16], want[40], got[40];
	size_t n1 = build(variant->parser, m1, 'P', 7, 'a');
	size_t n2 = build(variant->parser, m2, 'P', 7, 'b');
	int one = 1;

	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_OOBINLINE, &one,
			     sizeof(one)), 0);
	ASSERT_EQ(send(self->cfd, m1, n1, 0), (ssize_t)n1);
	ASSERT_EQ(send(self->cfd, "!", 1, MSG_OOB), 1);
	ASSERT_EQ(send(self->cfd, m2, n2, 0), (ssize_t)n2);
	memcpy(want, m1, n1);
	want[n1] = '!';
	memcpy(want + n1 + 1, m2, n2);
	ASSERT_EQ(stap_read_all(self->sfd, got, n1 + 1 + n2), 0);
	EXPECT_EQ(memcmp(got, want, n1 + 1 + n2), 0);
	expect_nothing(_metadata, self->cfd, self->sfd);
}

/* Thousands of random messages with random write splits and iovecs. */
TEST_F(tx, random_fragmentation)
{
	size_t nmsg = 1500, i, len, off, total = 0, npass = 0, w;
	unsigned int seed = 4321;
	char *all, *pass;
	struct reader r;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "writes are not messages");
	all = malloc(64 << 20);
	pass = malloc(64 << 20);
	for (i = 0; i < nmsg; i++) {
		char tag = rand_r(&seed) % 4 ? 'P' : 'D';

		if (variant->parser == PARSE_SEVEN)
			len = 7;
		else if (rand_r(&seed) % 50)
			len = 1 + rand_r(&seed) % 2000;
		else
			len = 1 + rand_r(&seed) % (256 << 10);
		w = build(variant->parser, all + total, tag, len,
			  'a' + rand_r(&seed) % 26);
		if (tag == 'P') {
			memcpy(pass + npass, all + total, w);
			npass += w;
		}
		total += w;
	}
	reader_start(&r, self->sfd, npass);
	for (off = 0; off < total; off += w) {
		struct iovec iov[8];
		struct msghdr msg = { .msg_iov = iov };
		size_t left, k;
		ssize_t sent;

		w = 1 + rand_r(&seed) % (rand_r(&seed) % 2 ? 100 : 70000);
		if (w > total - off)
			w = total - off;
		left = w;
		for (k = 0; k < 8 && left; k++) {
			iov[k].iov_base = all + off + (w - left);
			iov[k].iov_len = k == 7 ? left :
					 1 + rand_r(&seed) % left;
			left -= iov[k].iov_len;
		}
		msg.msg_iovlen = k;
		sent = sendmsg(self->cfd, &msg, 0);
		ASSERT_EQ(sent, (ssize_t)w);
	}
	reader_join(&r);
	ASSERT_EQ(r.got, npass);
	EXPECT_EQ(memcmp(r.buf, pass, npass), 0);
	free(r.buf);
	free(all);
	free(pass);
}

static int tap_tx_const(struct stap_test_bpf *skel, int fd, int ret)
{
	skel->bss->parse_ret = ret;
	return stap_tap_tx(fd, bpf_program__fd(skel->progs.parse_const),
			   bpf_program__fd(skel->progs.verdict_pass));
}

TEST_F(tx_err, parser_error_is_ebadmsg)
{
	struct stap_stats st;

	ASSERT_EQ(tap_tx_const(self->skel, self->cfd, -1), 0);
	EXPECT_EQ(send(self->cfd, "hello", 5, 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	EXPECT_EQ(send(self->cfd, "hello", 5, 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	expect_nothing(_metadata, self->cfd, self->sfd);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.parse_errors, 1);
}

/* A length shorter than the bytes the parser asked more after */
TEST_F(tx_err, parser_shrinking_is_ebadmsg)
{
	struct stap_stats st;

	ASSERT_EQ(stap_tap_tx(self->cfd,
			      bpf_program__fd(self->skel->progs.parse_shrink),
			      bpf_program__fd(self->skel->progs.verdict_pass)),
		  0);
	EXPECT_EQ(send(self->cfd, "abcd", 4, 0), 4);
	EXPECT_EQ(send(self->cfd, "efgh", 4, 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	expect_nothing(_metadata, self->cfd, self->sfd);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.parse_errors, 1);
	EXPECT_EQ(st.tx_pass_msgs, 0);
}

/* A parser may not change the length of what it frames */
TEST_F(tx_err, parser_resizing_is_ebadmsg)
{
	struct stap_stats st;

	ASSERT_EQ(stap_tap_tx(self->cfd,
			      bpf_program__fd(self->skel->progs.parse_resize),
			      bpf_program__fd(self->skel->progs.verdict_pass)),
		  0);
	EXPECT_EQ(send(self->cfd, "abc", 3, 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	expect_nothing(_metadata, self->cfd, self->sfd);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.parse_errors, 1);
	EXPECT_EQ(st.tx_pass_msgs, 0);
}

/* A verdict that resizes a message sends what it made of it; the socket
 * is charged for what it holds (no leak in its accounting at close).
 */
TEST_F(tx_err, verdict_resizes_message)
{
	struct bpf_program *prog = self->skel->progs.verdict_rewrite;
	char got[16];

	ASSERT_EQ(stap_tap_tx(self->cfd, -1, bpf_program__fd(prog)), 0);
	self->skel->bss->rewrite_delta = 3;
	ASSERT_EQ(send(self->cfd, "hello", 5, 0), 5);
	ASSERT_EQ(stap_read_all(self->sfd, got, 8), 0);
	EXPECT_EQ(memcmp(got, "hello!!!", 8), 0);
	self->skel->bss->rewrite_delta = -2;
	ASSERT_EQ(send(self->cfd, "world", 5, 0), 5);
	ASSERT_EQ(stap_read_all(self->sfd, got, 3), 0);
	EXPECT_EQ(memcmp(got, "wor", 3), 0);
	expect_nothing(_metadata, self->cfd, self->sfd);
}

TEST_F(tx_err, oversize_is_emsgsize)
{
	struct stap_stats st;

	ASSERT_EQ(tap_tx_const(self->skel, self->cfd, 0x7fffffff), 0);
	EXPECT_EQ(send(self->cfd, "hello", 5, 0), -1);
	EXPECT_EQ(errno, EMSGSIZE);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.oversize_msgs, 1);
	EXPECT_EQ(st.parse_errors, 1);
}

/* A parser that never finds an end: bytes are taken up to the message
 * limit, then the send fails with EMSGSIZE; memory never runs away.
 */
TEST_F(tx_err, endless_message_is_bounded)
{
	size_t len = 16 << 20;
	char *buf = calloc(1, len);
	ssize_t r;

	ASSERT_EQ(tap_tx_const(self->skel, self->cfd, 0), 0);
	/* parse_const 0 means "need more"; the limit is tcp_wmem[2] */
	r = send(self->cfd, buf, len, 0);
	EXPECT_EQ(r, -1);
	EXPECT_EQ(errno, EMSGSIZE);
	expect_nothing(_metadata, self->cfd, self->sfd);
	free(buf);
}

/* A message larger than a locked small send buffer still goes out. */
TEST_F(tx_err, message_beyond_sndbuf)
{
	size_t len = 2 << 20, n;
	struct reader r;
	char *buf;

	ASSERT_EQ(setsockopt(self->cfd, SOL_SOCKET, SO_SNDBUF, &(int){8192},
			     sizeof(int)), 0);
	self->skel->bss->verdict_off = 4;
	ASSERT_EQ(stap_tap_tx(self->cfd,
			      bpf_program__fd(self->skel->progs.parse_len),
			      bpf_program__fd(self->skel->progs.verdict_byte)),
		  0);
	buf = malloc(len + 4);
	n = build(PARSE_LEN, buf, 'P', len, 'm');
	reader_start(&r, self->sfd, n);
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	reader_join(&r);
	ASSERT_EQ(r.got, n);
	EXPECT_EQ(memcmp(r.buf, buf, n), 0);
	free(r.buf);
	free(buf);
}

/* One parser and one verdict in all four slots, as the original design
 * attached them: both directions framed and filtered.
 */
TEST(same_program_both_directions)
{
	char all[256], pass[256], got[256];
	struct stap_test_bpf *skel;
	struct stap_params p;
	size_t n, npass;
	int cfd, sfd, pfd, vfd;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	skel = stap_skel_open();
	ASSERT_NE(skel, NULL);
	skel->bss->verdict_off = 4;
	pfd = bpf_program__fd(skel->progs.parse_len);
	vfd = bpf_program__fd(skel->progs.verdict_byte);
	p = stap_params_of(pfd, vfd, pfd, vfd);
	ASSERT_EQ(stap_pair(AF_INET6, &cfd, &sfd), 0);
	ASSERT_EQ(stap_ulp(cfd), 0);
	ASSERT_EQ(setsockopt(cfd, SOL_STAP, STAP_PARAMS, &p, sizeof(p)), 0);
	n = build_tags(PARSE_LEN, "PDPUP", all, pass, &npass);
	/* cfd sends: filtered on the way out */
	ASSERT_EQ(send(cfd, all, n, 0), (ssize_t)n);
	ASSERT_EQ(stap_read_all(sfd, got, npass), 0);
	EXPECT_EQ(memcmp(got, pass, npass), 0);
	/* cfd receives: filtered on the way in */
	ASSERT_EQ(send(sfd, all, n, 0), (ssize_t)n);
	ASSERT_EQ(stap_read_all(cfd, got, npass), 0);
	EXPECT_EQ(memcmp(got, pass, npass), 0);
	close(cfd);
	close(sfd);
	stap_test_bpf__destroy(skel);
}

struct bidir {
	int fd;
	unsigned int seed;
	size_t nmsg;
	size_t sent;
	size_t got;
	bool ok;
};

/* The stream of messages side @seed writes: random sizes and tags. */
static size_t bidir_stream(unsigned int seed, size_t nmsg, char *all,
			   char *pass, size_t *npass)
{
	size_t i, len, total = 0, w;

	*npass = 0;
	for (i = 0; i < nmsg; i++) {
		char tag = rand_r(&seed) % 5 ? 'P' : 'D';

		len = 1 + (rand_r(&seed) % 20 ? rand_r(&seed) % 3000 :
			   rand_r(&seed) % 100000);
		w = build(PARSE_LEN, all + total, tag, len,
			  'a' + rand_r(&seed) % 26);
		if (tag == 'P') {
			memcpy(pass + *npass, all + total, w);
			*npass += w;
		}
		total += w;
	}
	return total;
}

static void *bidir_writer(void *arg)
{
	struct bidir *b = arg;
	unsigned int seed = b->seed * 7 + 1;
	size_t total, npass, off, w;
	char *all = malloc(64 << 20), *pass = malloc(64 << 20);

	total = bidir_stream(b->seed, b->nmsg, all, pass, &npass);
	for (off = 0; off < total; off += w) {
		w = 1 + rand_r(&seed) % 50000;
		if (w > total - off)
			w = total - off;
		if (stap_write_all(b->fd, all + off, w))
			break;
	}
	b->sent = off;
	free(all);
	free(pass);
	return NULL;
}

static void *bidir_reader(void *arg)
{
	struct bidir *b = arg;
	char *all = malloc(64 << 20), *pass = malloc(64 << 20), *got;
	unsigned int seed = b->seed * 13 + 5;
	size_t npass, w;
	ssize_t n;

	bidir_stream(b->seed, b->nmsg, all, pass, &npass);
	got = malloc(npass + 1);
	while (b->got < npass) {
		w = 1 + rand_r(&seed) % 40000;
		if (w > npass - b->got)
			w = npass - b->got;
		n = recv(b->fd, got + b->got, w, 0);
		if (n <= 0)
			break;
		b->got += n;
	}
	b->ok = b->got == npass && !memcmp(got, pass, npass);
	free(got);
	free(all);
	free(pass);
	return NULL;
}

/* Both peers tapped both ways; each side writes thousands of random
 * messages with random drops and checks exactly what it receives.
 */
TEST(bidirectional_random)
{
	struct bidir w[2], r[2];
	struct stap_test_bpf *skel;
	pthread_t th[4];
	struct stap_params p;
	int fds[2], pfd, vfd, i;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	skel = stap_skel_open();
	ASSERT_NE(skel, NULL);
	skel->bss->verdict_off = 4;
	pfd = bpf_program__fd(skel->progs.parse_len);
	vfd = bpf_program__fd(skel->progs.verdict_byte);
	p = stap_params_of(pfd, vfd, pfd, vfd);
	ASSERT_EQ(stap_pair(AF_INET, &fds[0], &fds[1]), 0);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(stap_ulp(fds[i]), 0);
		ASSERT_EQ(setsockopt(fds[i], SOL_STAP, STAP_PARAMS, &p,
				     sizeof(p)), 0);
	}
	for (i = 0; i < 2; i++) {
		/* Side i writes stream i; the other side reads it */
		w[i] = (struct bidir){ .fd = fds[i], .seed = 100 + i,
				       .nmsg = 3000 };
		r[i] = (struct bidir){ .fd = fds[!i], .seed = 100 + i,
				       .nmsg = 3000 };
		pthread_create(&th[2 * i], NULL, bidir_writer, &w[i]);
		pthread_create(&th[2 * i + 1], NULL, bidir_reader, &r[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2; i++) {
		struct stap_stats st, peer;

		EXPECT_TRUE(r[i].ok);
		ASSERT_EQ(stap_get_stats(fds[i], &st), 0);
		ASSERT_EQ(stap_get_stats(fds[!i], &peer), 0);
		EXPECT_EQ(st.tx_pass_msgs + st.tx_drop_msgs, 3000);
		/* What one side drops on send never reaches the other */
		EXPECT_EQ(peer.rx_pass_msgs, st.tx_pass_msgs);
		EXPECT_EQ(peer.rx_pass_bytes, st.tx_pass_bytes);
		EXPECT_EQ(peer.rx_drop_msgs, 0);
	}
	close(fds[0]);
	close(fds[1]);
	stap_test_bpf__destroy(skel);
}

static long proc_stat(const char *name)
{
	char line[128], key[64];
	long v = -1, n;
	FILE *f = fopen("/proc/net/stap_stat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", key, &n) == 2 &&
		    !strcmp(key, name))
			v = n;
	fclose(f);
	return v;
}

/* /proc/net/stap_stat counts per network namespace: a fresh one sees
 * exactly this test's sockets and messages.
 */
TEST(proc_net_stap_stat)
{
	char all[256], pass[256], got[256];
	struct stap_test_bpf *skel;
	struct stap_params p;
	int cfd, sfd, pfd, vfd;
	size_t n, npass;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	if (unshare(CLONE_NEWNET))
		SKIP(return, "no new network namespace: %s", strerror(errno));
	ASSERT_EQ(stap_lo_up(), 0);
	EXPECT_EQ(proc_stat("StapCurrSockets"), 0);
	EXPECT_EQ(proc_stat("StapTxPassMsgs"), 0);
	skel = stap_skel_open();
	ASSERT_NE(skel, NULL);
	skel->bss->verdict_off = 4;
	pfd = bpf_program__fd(skel->progs.parse_len);
	vfd = bpf_program__fd(skel->progs.verdict_byte);
	p = stap_params_of(pfd, vfd, pfd, vfd);
	ASSERT_EQ(stap_pair(AF_INET, &cfd, &sfd), 0);
	ASSERT_EQ(stap_ulp(cfd), 0);
	ASSERT_EQ(setsockopt(cfd, SOL_STAP, STAP_PARAMS, &p, sizeof(p)), 0);
	ASSERT_EQ(stap_tap_rx(sfd, pfd, vfd), 0);
	EXPECT_EQ(proc_stat("StapCurrSockets"), 2);
	n = build_tags(PARSE_LEN, "PDUP", all, pass, &npass);
	ASSERT_EQ(send(cfd, all, n, 0), (ssize_t)n);
	ASSERT_EQ(stap_read_all(sfd, got, npass), 0);
	EXPECT_EQ(proc_stat("StapTxPassMsgs"), 2);
	EXPECT_EQ(proc_stat("StapTxPassBytes"), 22);
	EXPECT_EQ(proc_stat("StapTxDropMsgs"), 2);
	EXPECT_EQ(proc_stat("StapBadVerdicts"), 1);
	EXPECT_EQ(proc_stat("StapRxPassMsgs"), 2);
	EXPECT_EQ(proc_stat("StapRxPassBytes"), 22);
	EXPECT_EQ(proc_stat("StapRxDropMsgs"), 0);
	close(cfd);
	close(sfd);
	EXPECT_EQ(proc_stat("StapCurrSockets"), 0);
	EXPECT_EQ(proc_stat("StapSockets"), 2);
	stap_test_bpf__destroy(skel);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC), ret;

	if (fd < 0)
		return -1;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return ret;
}

/* The stap tracepoints report verdicts, drops and disconnects. */
TEST(tracepoints)
{
	const char *tr = "/sys/kernel/tracing";
	char all[256], pass[256], path[256], *trace;
	struct stap_test_bpf *skel;
	int cfd, sfd, fd;
	size_t n, npass;
	ssize_t len;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	snprintf(path, sizeof(path), "%s/events/stap/enable", tr);
	if (access(path, W_OK))
		system("mount -t tracefs nodev /sys/kernel/tracing");
	if (access(path, W_OK))
		SKIP(return, "no stap events in tracefs");
	skel = stap_skel_open();
	ASSERT_NE(skel, NULL);
	skel->bss->verdict_off = 4;
	ASSERT_EQ(stap_pair(AF_INET, &cfd, &sfd), 0);
	ASSERT_EQ(stap_tap_tx(cfd, bpf_program__fd(skel->progs.parse_len),
			      bpf_program__fd(skel->progs.verdict_byte)), 0);
	snprintf(path, sizeof(path), "%s/trace", tr);
	ASSERT_EQ(write_file(path, ""), 0);
	snprintf(path, sizeof(path), "%s/events/stap/enable", tr);
	ASSERT_EQ(write_file(path, "1"), 0);
	n = build_tags(PARSE_LEN, "PDX", all, pass, &npass);
	EXPECT_EQ(send(cfd, all, n, 0), -1);
	EXPECT_EQ(errno, ECONNABORTED);
	ASSERT_EQ(write_file(path, "0"), 0);
	snprintf(path, sizeof(path), "%s/trace", tr);
	trace = calloc(1, 1 << 20);
	fd = open(path, O_RDONLY);
	ASSERT_GE(fd, 0);
	len = read(fd, trace, (1 << 20) - 1);
	close(fd);
	ASSERT_GT(len, 0);
	EXPECT_NE(strstr(trace, "stap_msg_verdict: sk="), NULL);
	EXPECT_NE(strstr(trace, "send len=11 verdict=1"), NULL);
	EXPECT_NE(strstr(trace, "send len=11 verdict=0"), NULL);
	EXPECT_NE(strstr(trace, "send len=11 verdict=2"), NULL);
	EXPECT_NE(strstr(trace, "send len=11 reason=verdict"), NULL);
	EXPECT_NE(strstr(trace, "send len=11 reason=disconnect"), NULL);
	EXPECT_NE(strstr(trace, "stap_sock_disconnect: sk="), NULL);
	free(trace);
	close(cfd);
	close(sfd);
	stap_test_bpf__destroy(skel);
}

/* sock_diag reports the ULP: ss -i shows "tcp-ulp-stap" on the tapped
 * socket only.
 */
TEST(ss_shows_tap)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct stap_test_bpf *skel;
	char cmd[256], out[4096];
	int cfd, sfd, tapped = 0;
	size_t n;
	FILE *f;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	if (system("ss -V >/dev/null 2>&1"))
		SKIP(return, "no ss");
	skel = stap_skel_open();
	ASSERT_NE(skel, NULL);
	ASSERT_EQ(stap_pair(AF_INET, &cfd, &sfd), 0);
	ASSERT_EQ(stap_tap_tx(cfd, -1,
			      bpf_program__fd(skel->progs.verdict_pass)), 0);
	ASSERT_EQ(getsockname(cfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(cmd, sizeof(cmd),
		 "ss -tniH state established '( sport = :%u or dport = :%u )'",
		 ntohs(sa.sin_port), ntohs(sa.sin_port));
	f = popen(cmd, "r");
	ASSERT_NE(f, NULL);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	pclose(f);
	for (char *p = out; (p = strstr(p, "tcp-ulp-stap")); p++)
		tapped++;
	EXPECT_EQ(tapped, 1);
	close(cfd);
	close(sfd);
	stap_test_bpf__destroy(skel);
}
