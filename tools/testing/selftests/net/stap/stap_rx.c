// SPDX-License-Identifier: GPL-2.0
/*
 * stap receive path and attach tests.
 *
 * The client (cfd) writes; the accepted socket (sfd) is tapped on receive
 * and read by the test. Verdicts come from one byte of each message
 * (progs/stap_test.bpf.c): 'D' drop, 'X' disconnect, 'U' unknown verdict,
 * anything else pass.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stap_lib.h"
#include "../../kselftest_harness.h"

#define STAP_FIXTURE rx
#define STAP_ERR_FIXTURE rx_err
#include "stap_fixture.h"

/* Frame @payload for parser @p; return the bytes to write. For the
 * seven-byte parser @payload must be 7 bytes, without the parser none.
 */
static size_t frame(enum parser p, char *out, const char *payload,
		    size_t len)
{
	if (p == PARSE_LEN)
		return stap_lp_msg(out, payload, len);
	memcpy(out, payload, len);
	return len;
}

FIXTURE_SETUP(rx)
{
	int vfd;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
	ASSERT_EQ(stap_pair(variant->family, &self->cfd, &self->sfd), 0);
	self->skel->bss->verdict_off = variant->parser == PARSE_LEN ? 4 : 0;
	vfd = bpf_program__fd(self->skel->progs.verdict_byte);
	ASSERT_EQ(stap_tap_rx(self->sfd, parse_fd(self->skel, variant->parser),
			      vfd), 0);
}

/* Messages the receive verdicts of this namespace have judged */
static long long rx_judged(void)
{
	return stap_netns_stat("StapRxPassMsgs") +
	       stap_netns_stat("StapRxDropMsgs");
}

/* Send messages of 7 bytes each, made from @tags: one message per tag
 * character, whose first payload byte is the tag. In chunk mode one send
 * per message, waiting until the receiver has judged it: its ACK is not
 * enough, as a sleeping reader frames what arrived only once it runs.
 * Nothing is judged after a disconnect.
 */
static void send_tagged(struct __test_metadata *_metadata, int fd,
			enum parser p, const char *tags)
{
	long long judged = rx_judged();
	char payload[7], buf[16];
	size_t i, n;

	for (i = 0; tags[i]; i++) {
		memset(payload, 'a' + (i % 26), sizeof(payload));
		payload[0] = tags[i];
		n = frame(p, buf, payload, sizeof(payload));
		ASSERT_EQ(send(fd, buf, n, 0), (ssize_t)n);
		if (p != PARSE_NONE || tags[i] == 'X')
			continue;
		judged++;
		ASSERT_EQ(stap_wait_until(rx_judged() >= judged), 0);
	}
}

/* Bytes on the wire of one tagged message */
static size_t msg_len(enum parser p)
{
	return p == PARSE_LEN ? 11 : 7;
}

/* Offset of the tag in a message */
static size_t tag_off(enum parser p)
{
	return p == PARSE_LEN ? 4 : 0;
}

/* What the reader gets of send_tagged(): the passed messages, whole. */
static size_t expect_tagged(enum parser p, const char *tags, char *out)
{
	char payload[7];
	size_t i, n = 0;

	for (i = 0; tags[i]; i++) {
		if (tags[i] == 'D' || tags[i] == 'U' || tags[i] == 'X')
			continue;
		memset(payload, 'a' + (i % 26), sizeof(payload));
		payload[0] = tags[i];
		n += frame(p, out + n, payload, sizeof(payload));
	}
	return n;
}

static void expect_tags(struct __test_metadata *_metadata, int fd,
			enum parser p, const char *tags)
{
	char want[256], got[256];
	size_t n = expect_tagged(p, tags, want);

	ASSERT_EQ(stap_read_all(fd, got, n), 0);
	EXPECT_EQ(memcmp(got, want, n), 0);
}

TEST_F(rx, single_message)
{
	send_tagged(_metadata, self->cfd, variant->parser, "P");
	expect_tags(_metadata, self->sfd, variant->parser, "P");
}

TEST_F(rx, many_messages_one_write)
{
	char buf[4096], payload[7];
	size_t n = 0;
	int i;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "one write is one chunk");
	for (i = 0; i < 100; i++) {
		memset(payload, 'a' + i % 26, 7);
		payload[0] = i % 3 ? 'P' : 'D';
		n += frame(variant->parser, buf + n, payload, 7);
	}
	ASSERT_EQ(send(self->cfd, buf, n, 0), (ssize_t)n);
	for (i = 0; i < 100; i++) {
		char got[16], want[16];

		if (!(i % 3))
			continue;
		memset(payload, 'a' + i % 26, 7);
		payload[0] = 'P';
		n = frame(variant->parser, want, payload, 7);
		ASSERT_EQ(stap_read_all(self->sfd, got, n), 0);
		ASSERT_EQ(memcmp(got, want, n), 0);
	}
}

TEST_F(rx, drop_keeps_order)
{
	send_tagged(_metadata, self->cfd, variant->parser, "PDPDDP");
	expect_tags(_metadata, self->sfd, variant->parser, "PDPDDP");
}

TEST_F(rx, byte_by_byte)
{
	char want[64], c;
	size_t n, i;

	send_tagged(_metadata, self->cfd, variant->parser, "PPP");
	n = expect_tagged(variant->parser, "PPP", want);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(recv(self->sfd, &c, 1, 0), 1);
		ASSERT_EQ(c, want[i]);
	}
}

TEST_F(rx, counters)
{
	struct stap_stats st;

	send_tagged(_metadata, self->cfd, variant->parser, "PDPU");
	expect_tags(_metadata, self->sfd, variant->parser, "PDPU");
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.rx_pass_msgs, 2);
	EXPECT_EQ(st.rx_pass_bytes, 2 * msg_len(variant->parser));
	EXPECT_EQ(st.rx_drop_msgs, 2);
	EXPECT_EQ(st.rx_drop_bytes, 2 * msg_len(variant->parser));
	EXPECT_EQ(st.bad_verdicts, 1);
	EXPECT_EQ(st.tx_pass_msgs, 0);
	EXPECT_EQ(st.disconnects, 0);
	EXPECT_EQ(st.parse_errors, 0);
}

TEST_F(rx, peek_across_messages)
{
	char want[64], got[64];
	size_t n;

	send_tagged(_metadata, self->cfd, variant->parser, "PDPP");
	n = expect_tagged(variant->parser, "PDPP", want);
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	ASSERT_EQ(recv(self->sfd, got, n, MSG_PEEK | MSG_WAITALL), (ssize_t)n);
	EXPECT_EQ(memcmp(got, want, n), 0);
	memset(got, 0, sizeof(got));
	ASSERT_EQ(recv(self->sfd, got, 10, MSG_PEEK), 10);
	EXPECT_EQ(memcmp(got, want, 10), 0);
	ASSERT_EQ(stap_read_all(self->sfd, got, n), 0);
	EXPECT_EQ(memcmp(got, want, n), 0);
}

TEST_F(rx, dontwait_eagain)
{
	char buf[16];

	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EAGAIN);
	send_tagged(_metadata, self->cfd, variant->parser, "D");
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EAGAIN);
}

TEST_F(rx, nonblock_eagain)
{
	char buf[16];

	ASSERT_EQ(fcntl(self->sfd, F_SETFL, O_NONBLOCK), 0);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EAGAIN);
	send_tagged(_metadata, self->cfd, variant->parser, "P");
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0),
		  (ssize_t)msg_len(variant->parser));
}

TEST_F(rx, poll_only_passed)
{
	struct pollfd pfd = { .fd = self->sfd, .events = POLLIN };

	EXPECT_EQ(poll(&pfd, 1, 0), 0);
	send_tagged(_metadata, self->cfd, variant->parser, "DD");
	EXPECT_EQ(poll(&pfd, 1, 200), 0);
	send_tagged(_metadata, self->cfd, variant->parser, "P");
	ASSERT_EQ(poll(&pfd, 1, 2000), 1);
	EXPECT_TRUE(pfd.revents & POLLIN);
	expect_tags(_metadata, self->sfd, variant->parser, "P");
	EXPECT_EQ(poll(&pfd, 1, 0), 0);
}

TEST_F(rx, epoll_and_select)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct timeval tv = {};
	fd_set rfds;
	int ep;

	ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, self->sfd, &ev), 0);
	send_tagged(_metadata, self->cfd, variant->parser, "D");
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 200), 0);
	FD_ZERO(&rfds);
	FD_SET(self->sfd, &rfds);
	EXPECT_EQ(select(self->sfd + 1, &rfds, NULL, NULL, &tv), 0);
	send_tagged(_metadata, self->cfd, variant->parser, "P");
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 2000), 1);
	FD_ZERO(&rfds);
	FD_SET(self->sfd, &rfds);
	tv.tv_sec = 2;
	EXPECT_EQ(select(self->sfd + 1, &rfds, NULL, NULL, &tv), 1);
	close(ep);
}

TEST_F(rx, rcvtimeo)
{
	struct timeval tv = { .tv_usec = 200000 };
	char buf[16];
	double t0;

	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			     sizeof(tv)), 0);
	send_tagged(_metadata, self->cfd, variant->parser, "D");
	t0 = stap_now();
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_GE(stap_now() - t0, 0.19);
}

TEST_F(rx, rcvlowat)
{
	struct pollfd pfd = { .fd = self->sfd, .events = POLLIN };
	int lowat = 2 * msg_len(variant->parser);
	char buf[32];

	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_RCVLOWAT, &lowat,
			     sizeof(lowat)), 0);
	send_tagged(_metadata, self->cfd, variant->parser, "PD");
	EXPECT_EQ(poll(&pfd, 1, 200), 0);
	send_tagged(_metadata, self->cfd, variant->parser, "P");
	ASSERT_EQ(poll(&pfd, 1, 2000), 1);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), lowat);
}

TEST_F(rx, fionread)
{
	int avail = -1;

	send_tagged(_metadata, self->cfd, variant->parser, "PDP");
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	ASSERT_EQ(ioctl(self->sfd, FIONREAD, &avail), 0);
	EXPECT_EQ(avail, 2 * (int)msg_len(variant->parser));
	expect_tags(_metadata, self->sfd, variant->parser, "PDP");
	ASSERT_EQ(ioctl(self->sfd, FIONREAD, &avail), 0);
	EXPECT_EQ(avail, 0);
}

TEST_F(rx, waitall_blocks_for_all)
{
	char want[64], got[64];
	pid_t pid, tid = stap_tid();
	int status;
	size_t n;

	n = expect_tagged(variant->parser, "P", want);
	n += expect_tagged(variant->parser, "DP", want + n);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		/* The first message while the reader sleeps, the rest once it
		 * has taken that one and sleeps again; a wait that times out
		 * is the child's status.
		 */
		status = stap_wait_blocked(tid, SYS_recvfrom);
		send_tagged(_metadata, self->cfd, variant->parser, "P");
		status |= stap_wait_acked(self->cfd);
		status |= stap_wait_inq(self->sfd, 0);
		status |= stap_wait_blocked(tid, SYS_recvfrom);
		send_tagged(_metadata, self->cfd, variant->parser, "DP");
		_exit(!!status);
	}
	EXPECT_EQ(recv(self->sfd, got, n, MSG_WAITALL), (ssize_t)n);
	EXPECT_EQ(memcmp(got, want, n), 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
}

TEST_F(rx, blocking_read_woken)
{
	pid_t pid, tid = stap_tid();
	char got[16];
	int status;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		status = stap_wait_blocked(tid, SYS_recvfrom);
		send_tagged(_metadata, self->cfd, variant->parser, "DP");
		_exit(!!status);
	}
	EXPECT_EQ(recv(self->sfd, got, sizeof(got), 0),
		  (ssize_t)msg_len(variant->parser));
	EXPECT_EQ(got[tag_off(variant->parser)], 'P');
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
}

TEST_F(rx, splice_passed_only)
{
	char want[64], got[64];
	int p[2];
	size_t n;

	ASSERT_EQ(pipe(p), 0);
	send_tagged(_metadata, self->cfd, variant->parser, "PDP");
	n = expect_tagged(variant->parser, "PDP", want);
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	ASSERT_EQ(splice(self->sfd, NULL, p[1], NULL, sizeof(got), 0),
		  (ssize_t)n);
	ASSERT_EQ(read(p[0], got, sizeof(got)), (ssize_t)n);
	EXPECT_EQ(memcmp(got, want, n), 0);
	ASSERT_EQ(fcntl(self->sfd, F_SETFL, O_NONBLOCK), 0);
	EXPECT_EQ(splice(self->sfd, NULL, p[1], NULL, sizeof(got), 0), -1);
	EXPECT_EQ(errno, EAGAIN);
	close(p[0]);
	close(p[1]);
}

TEST_F(rx, eof_after_data)
{
	char buf[16];

	send_tagged(_metadata, self->cfd, variant->parser, "PD");
	ASSERT_EQ(shutdown(self->cfd, SHUT_WR), 0);
	expect_tags(_metadata, self->sfd, variant->parser, "PD");
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), 0);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), 0);
}

TEST_F(rx, partial_message_at_fin)
{
	char buf[32];
	size_t n;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "no partial chunks");
	send_tagged(_metadata, self->cfd, variant->parser, "P");
	n = frame(variant->parser, buf, "Ptrunc!", 7);
	ASSERT_EQ(send(self->cfd, buf, n - 3, 0), (ssize_t)(n - 3));
	ASSERT_EQ(shutdown(self->cfd, SHUT_WR), 0);
	expect_tags(_metadata, self->sfd, variant->parser, "P");
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EPROTO);
}

TEST_F(rx, disconnect_verdict)
{
	struct stap_stats st;
	char buf[16];

	send_tagged(_metadata, self->cfd, variant->parser, "PX");
	expect_tags(_metadata, self->sfd, variant->parser, "P");
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, ECONNABORTED);
	/* The peer sees a reset */
	EXPECT_EQ(recv(self->cfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, ECONNRESET);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.disconnects, 1);
	EXPECT_EQ(st.rx_pass_msgs, 1);
}

/* Nothing after a disconnect verdict is framed, even in the same write */
/* The reset follows what the tapped side sent before the verdict, even
 * when TCP still held it unsent: the peer reads all of it, then the reset.
 */
TEST_F(rx, disconnect_after_data_sent)
{
	size_t chunk = 64 << 10, sent = 0, got = 0;
	char *buf = malloc(chunk);
	ssize_t n;

	if (variant->parser != PARSE_LEN)
		SKIP(free(buf); return, "covered by the length parser");
	ASSERT_NE(buf, NULL);
	memset(buf, 'z', chunk);
	/* Fill TCP's send queue while the peer reads nothing */
	while ((n = send(self->sfd, buf, chunk, MSG_DONTWAIT)) > 0)
		sent += n;
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_GT(sent, 0);
	send_tagged(_metadata, self->cfd, variant->parser, "X");
	while ((n = recv(self->cfd, buf, chunk, 0)) > 0)
		got += n;
	EXPECT_EQ(n, -1);
	EXPECT_EQ(errno, ECONNRESET);
	EXPECT_EQ(got, sent);
	free(buf);
}

TEST_F(rx, disconnect_stops_framing)
{
	char buf[64], payload[7];
	struct stap_stats st;
	size_t n = 0;
	int i;

	if (variant->parser == PARSE_NONE)
		SKIP(return, "one write is one chunk");
	for (i = 0; i < 3; i++) {
		memset(payload, 'm', 7);
		payload[0] = "PXP"[i];
		n += frame(variant->parser, buf + n, payload, 7);
	}
	ASSERT_EQ(send(self->cfd, buf, n, 0), (ssize_t)n);
	n = msg_len(variant->parser);
	ASSERT_EQ(recv(self->sfd, buf, sizeof(buf), 0), (ssize_t)n);
	EXPECT_EQ(buf[tag_off(variant->parser)], 'P');
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, ECONNABORTED);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.rx_pass_msgs, 1);
	EXPECT_EQ(st.disconnects, 1);
}

TEST_F(rx, reset_by_peer)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[16];

	send_tagged(_metadata, self->cfd, variant->parser, "P");
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	ASSERT_EQ(setsockopt(self->cfd, SOL_SOCKET, SO_LINGER, &lg,
			     sizeof(lg)), 0);
	close(self->cfd);
	self->cfd = -1;
	/* The reset comes while the message waits unread */
	ASSERT_EQ(stap_wait_hup(self->sfd), 0);
	expect_tags(_metadata, self->sfd, variant->parser, "P");
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, ECONNRESET);
}

TEST_F(rx, close_with_unread_resets_peer)
{
	char buf[16];

	send_tagged(_metadata, self->cfd, variant->parser, "P");
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	close(self->sfd);
	self->sfd = -1;
	ASSERT_EQ(stap_wait_hup(self->cfd), 0);
	EXPECT_EQ(recv(self->cfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, ECONNRESET);
}

struct blocked_reader {
	int fd;		/* read by the test */
	int cfd;	/* its peer */
	pid_t tid;	/* the test's thread */
	int late;	/* it was not seen asleep in recv() */
	char msg[16];
	size_t len;
};

/* Shut the reader's socket down once it sleeps in recv() */
static void *shutdown_later(void *arg)
{
	struct blocked_reader *br = arg;

	br->late = stap_wait_blocked(br->tid, SYS_recvfrom);
	shutdown(br->fd, SHUT_RD);
	return NULL;
}

TEST_F(rx, shutdown_wakes_blocked_reader)
{
	struct blocked_reader br = { .fd = self->sfd, .tid = stap_tid() };
	pthread_t t;
	char buf[16];

	ASSERT_EQ(pthread_create(&t, NULL, shutdown_later, &br), 0);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), 0);
	pthread_join(t, NULL);
	EXPECT_EQ(br.late, 0);
}

/* Close the reader's socket once it sleeps in recv(), then send */
static void *close_then_send(void *arg)
{
	struct blocked_reader *cr = arg;

	cr->late = stap_wait_blocked(cr->tid, SYS_recvfrom);
	close(cr->fd);
	send(cr->cfd, cr->msg, cr->len, 0);
	return NULL;
}

/* close() from another thread does not end a blocked read (the read still
 * holds the file), but must not break it either: the data arrives, then
 * the socket is released.
 */
TEST_F(rx, close_racing_blocked_reader)
{
	struct blocked_reader cr = { .fd = self->sfd, .cfd = self->cfd,
				     .tid = stap_tid() };
	char want[64], got[64];
	pthread_t t;

	self->sfd = -1;
	cr.len = expect_tagged(variant->parser, "P", want);
	memcpy(cr.msg, want, cr.len);
	ASSERT_EQ(pthread_create(&t, NULL, close_then_send, &cr), 0);
	EXPECT_EQ(recv(cr.fd, got, sizeof(got), 0), (ssize_t)cr.len);
	EXPECT_EQ(memcmp(got, want, cr.len), 0);
	pthread_join(t, NULL);
	EXPECT_EQ(cr.late, 0);
}

/* Two processes read one tapped socket: every passed byte is read once. */
TEST_F(rx, multi_process_readers)
{
	size_t i, n, total = 0, got = 0;
	char buf[4096], payload[7];
	int p[2], status;
	pid_t pid[2];

	if (variant->parser == PARSE_NONE)
		SKIP(return, "covered with the framing parsers");
	ASSERT_EQ(pipe(p), 0);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (!pid[i]) {
			size_t mine = 0;
			ssize_t r;

			while ((r = recv(self->sfd, buf, 100, 0)) > 0)
				mine += r;
			_exit(write(p[1], &mine, sizeof(mine)) !=
			      sizeof(mine));
		}
	}
	for (i = 0; i < 2000; i++) {
		memset(payload, 'a' + i % 26, 7);
		payload[0] = i % 4 ? 'P' : 'D';
		n = frame(variant->parser, buf, payload, 7);
		ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
		if (i % 4)
			total += n;
	}
	ASSERT_EQ(shutdown(self->cfd, SHUT_WR), 0);
	for (i = 0; i < 2; i++) {
		size_t mine;

		ASSERT_EQ(read(p[0], &mine, sizeof(mine)), sizeof(mine));
		got += mine;
		ASSERT_EQ(waitpid(pid[i], &status, 0), pid[i]);
		EXPECT_EQ(status, 0);
	}
	EXPECT_EQ(got, total);
	close(p[0]);
	close(p[1]);
}

TEST_F(rx, efault)
{
	send_tagged(_metadata, self->cfd, variant->parser, "P");
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	EXPECT_EQ(recv(self->sfd, (void *)8, 7, 0), -1);
	EXPECT_EQ(errno, EFAULT);
	expect_tags(_metadata, self->sfd, variant->parser, "P");
}

TEST_F(rx, program_sees_socket)
{
	struct stap_test_bpf *skel = self->skel;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned short cport;
	int fd;

	close(self->sfd);
	close(self->cfd);
	ASSERT_EQ(stap_pair(variant->family, &self->cfd, &self->sfd), 0);
	fd = bpf_program__fd(skel->progs.verdict_inspect);
	ASSERT_EQ(stap_tap_rx(self->sfd, parse_fd(skel, variant->parser), fd),
		  0);
	send_tagged(_metadata, self->cfd, variant->parser, "P");
	expect_tags(_metadata, self->sfd, variant->parser, "P");
	ASSERT_EQ(getsockname(self->cfd, (struct sockaddr *)&ss, &len), 0);
	cport = ntohs(variant->family == AF_INET6 ?
		      ((struct sockaddr_in6 *)&ss)->sin6_port :
		      ((struct sockaddr_in *)&ss)->sin_port);
	EXPECT_EQ(skel->bss->seen_family, variant->family);
	EXPECT_EQ(skel->bss->seen_remote_port, cport);
	EXPECT_EQ(skel->bss->seen_pkt_type, PACKET_HOST);
	EXPECT_EQ(skel->bss->seen_len,
		  variant->parser == PARSE_LEN ? 11 : 7);
	EXPECT_EQ(skel->bss->seen_first,
		  variant->parser == PARSE_LEN ? 0 : 'P');
	if (variant->family == AF_INET)
		EXPECT_EQ(skel->bss->seen_remote_ip4, htonl(INADDR_LOOPBACK));
	EXPECT_EQ(skel->bss->seen_msgs, 1);
}

/* A writer that outruns the reader is held back by TCP's window: the
 * tap buffers no more than the receive buffer allows.
 */
TEST_F(rx, slow_reader_blocks_writer)
{
	struct pollfd pfd = { .fd = self->cfd, .events = POLLOUT };
	size_t total = 0, got = 0, off = 0, n;
	char buf[1100], payload[1024];
	socklen_t sl = sizeof(int);
	struct stap_stats st;
	int rcvbuf, queued;
	pid_t pid;
	ssize_t r;

	if (variant->parser == PARSE_SEVEN)
		SKIP(return, "covered with the other parsers");
	memset(payload, 'P', sizeof(payload));
	n = frame(variant->parser, buf, payload, sizeof(payload));
	/* Write without reading until TCP pushes back: no room comes
	 * within 200 ms
	 */
	for (;;) {
		r = send(self->cfd, buf + off, n - off, MSG_DONTWAIT);
		if (r < 0) {
			ASSERT_EQ(errno, EAGAIN);
			if (!poll(&pfd, 1, 200))
				break;
			r = send(self->cfd, buf + off, n - off, MSG_DONTWAIT);
			if (r < 0)
				break;
		}
		total += r;
		off = (off + r) % n;
		ASSERT_LT(total, 64u << 20);
	}
	ASSERT_EQ(errno, EAGAIN);
	/* What waits for the reader stays within the receive buffer */
	ASSERT_EQ(getsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &sl),
		  0);
	ASSERT_EQ(ioctl(self->sfd, FIONREAD, &queued), 0);
	EXPECT_GT(queued, 0);
	EXPECT_LE(queued, rcvbuf);
	/* Finish the message cut by the full window, then drain. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(off && stap_write_all(self->cfd, buf + off, n - off));
	total += off ? n - off : 0;
	while (got < total) {
		char rb[4096];

		r = recv(self->sfd, rb, sizeof(rb), 0);
		ASSERT_GT(r, 0);
		got += r;
	}
	EXPECT_EQ(got, total);
	ASSERT_EQ(waitpid(pid, NULL, 0), pid);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.rx_pass_bytes, total);
}

/* A read takes all that is passed and all that TCP holds, as TCP's does.
 * 48 messages of 1 KiB, each acknowledged before the next: the receiver
 * frames them as they come until its queue holds half the receive buffer,
 * and TCP keeps the rest. One read must return all 48: bytes it left
 * framed and unread would hold their memory and close TCP's window.
 */
TEST_F(rx, read_takes_all_queued)
{
	const size_t nmsg = 48;
	char payload[1024], *want, *got;
	size_t n, total = 0, i;
	struct stap_stats st;

	if (variant->parser == PARSE_SEVEN)
		SKIP(return, "covered with the other parsers");
	memset(payload, 'P', sizeof(payload));
	want = malloc(nmsg * (sizeof(payload) + 4));
	got = malloc(nmsg * (sizeof(payload) + 4) + 1);
	ASSERT_TRUE(want && got);
	for (i = 0; i < nmsg; i++) {
		payload[1] = 'a' + i % 26;
		n = frame(variant->parser, want + total, payload,
			  sizeof(payload));
		ASSERT_EQ(send(self->cfd, want + total, n, 0), (ssize_t)n);
		ASSERT_EQ(stap_wait_acked(self->cfd), 0);
		total += n;
	}
	/* The case at hand: stap's queue is full and TCP holds the rest */
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	ASSERT_LT(st.rx_pass_bytes, total);
	ASSERT_EQ(recv(self->sfd, got, total + 1, MSG_DONTWAIT),
		  (ssize_t)total);
	EXPECT_EQ(memcmp(got, want, total), 0);
	EXPECT_EQ(recv(self->sfd, got, 1, MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EAGAIN);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.rx_pass_bytes, total);
	free(want);
	free(got);
}

/* Thousands of messages of random sizes, written with random splits. */
/* Send @m1, the urgent byte @urg (MSG_OOB), then @m2, and wait until the
 * tapped reader has received and framed them.
 */
static void send_urgent(struct __test_metadata *_metadata, int cfd, int sfd,
			const char *m1, size_t n1, char urg, const char *m2,
			size_t n2)
{
	if (n1)
		ASSERT_EQ(send(cfd, m1, n1, 0), (ssize_t)n1);
	ASSERT_EQ(send(cfd, &urg, 1, MSG_OOB), 1);
	if (n2)
		ASSERT_EQ(send(cfd, m2, n2, 0), (ssize_t)n2);
	ASSERT_EQ(stap_wait_urgent(sfd), 0);
	ASSERT_EQ(stap_wait_acked(cfd), 0);
}

/* Read at the mark: the urgent byte with MSG_OOB, then @n2 bytes of @m2. */
static void read_past_mark(struct __test_metadata *_metadata, int fd,
			   char urg, const char *m2, size_t n2)
{
	char got[64], c;

	EXPECT_EQ(stap_atmark(fd), 1);
	ASSERT_EQ(recv(fd, &c, 1, MSG_OOB), 1);
	EXPECT_EQ(c, urg);
	EXPECT_EQ(stap_atmark(fd), 1);
	ASSERT_EQ(recv(fd, got, sizeof(got), 0), (ssize_t)n2);
	EXPECT_EQ(memcmp(got, m2, n2), 0);
	EXPECT_EQ(stap_atmark(fd), 0);
	/* Past the mark TCP forgets the urgent byte */
	EXPECT_EQ(recv(fd, &c, 1, MSG_OOB), -1);
	EXPECT_EQ(errno, EINVAL);
}

/* Framing goes on past the urgent byte; a read stops at the mark. */
TEST_F(rx, urgent_between_messages)
{
	char m1[16], m2[16], got[64];
	size_t n1 = frame(variant->parser, m1, "Paaaaaa", 7);
	size_t n2 = frame(variant->parser, m2, "Qbbbbbb", 7);

	send_urgent(_metadata, self->cfd, self->sfd, m1, n1, '!', m2, n2);
	EXPECT_EQ(stap_atmark(self->sfd), 0);
	/* As TCP's: what a read returns, up to the mark */
	EXPECT_EQ(stap_inq(self->sfd), (int)n1);
	ASSERT_EQ(recv(self->sfd, got, sizeof(got), MSG_PEEK), (ssize_t)n1);
	ASSERT_EQ(recv(self->sfd, got, sizeof(got), MSG_WAITALL),
		  (ssize_t)n1);
	EXPECT_EQ(memcmp(got, m1, n1), 0);
	EXPECT_EQ(stap_inq(self->sfd), 0);
	read_past_mark(_metadata, self->sfd, '!', m2, n2);
}

/* The mark of a dropped message stays where the message was. */
TEST_F(rx, urgent_after_dropped_message)
{
	char m1[16], m2[16];
	size_t n1 = frame(variant->parser, m1, "Daaaaaa", 7);
	size_t n2 = frame(variant->parser, m2, "Qbbbbbb", 7);

	send_urgent(_metadata, self->cfd, self->sfd, m1, n1, '!', m2, n2);
	read_past_mark(_metadata, self->sfd, '!', m2, n2);
}

/* An urgent byte inside a message: the mark follows the message. */
TEST_F(rx, urgent_inside_message)
{
	char m1[16], m2[16], got[64];
	size_t n1 = frame(variant->parser, m1, "Paaaaaa", 7);
	size_t n2 = frame(variant->parser, m2, "Qbbbbbb", 7);

	if (variant->parser == PARSE_NONE)
		SKIP(return, "every chunk is a message");
	ASSERT_EQ(send(self->cfd, m1, 3, 0), 3);
	send_urgent(_metadata, self->cfd, self->sfd, "", 0, '!', m1 + 3,
		    n1 - 3);
	EXPECT_EQ(stap_atmark(self->sfd), 0);
	ASSERT_EQ(send(self->cfd, m2, n2, 0), (ssize_t)n2);
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	ASSERT_EQ(recv(self->sfd, got, sizeof(got), 0), (ssize_t)n1);
	EXPECT_EQ(memcmp(got, m1, n1), 0);
	read_past_mark(_metadata, self->sfd, '!', m2, n2);
}

/* SO_OOBINLINE: the urgent byte is framed and judged in band. */
TEST_F(rx, urgent_inline)
{
	char m1[16], m2[16], d[16], want[64], got[64], c;
	size_t n1 = frame(variant->parser, m1, "Paaaaaa", 7);
	size_t n2 = frame(variant->parser, m2, "Qbbbbbb", 7);
	size_t nd = frame(variant->parser, d, "Dcccccc", 7);
	int one = 1;

	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_OOBINLINE, &one,
			     sizeof(one)), 0);
	/* The last byte of each message is sent urgent */
	send_urgent(_metadata, self->cfd, self->sfd, m1, n1 - 1, m1[n1 - 1],
		    "", 0);
	memcpy(want, m1, n1);
	if (variant->parser != PARSE_NONE) {
		/* A dropped message takes its urgent byte with it */
		send_urgent(_metadata, self->cfd, self->sfd, d, nd - 1,
			    d[nd - 1], m2, n2);
		memcpy(want + n1, m2, n2);
	} else {
		n2 = 0;
	}
	ASSERT_EQ(stap_read_all(self->sfd, got, n1 + n2), 0);
	EXPECT_EQ(memcmp(got, want, n1 + n2), 0);
	EXPECT_EQ(recv(self->sfd, &c, 1, MSG_OOB), -1);
	EXPECT_EQ(errno, EINVAL);
}

/* Urgent data alone wakes no reader and leaves nothing to read in band. */
TEST_F(rx, urgent_alone)
{
	struct timeval tv = { .tv_usec = 200000 };
	char m1[16], got[64], c;
	size_t n1 = frame(variant->parser, m1, "Paaaaaa", 7);

	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			     sizeof(tv)), 0);
	ASSERT_EQ(send(self->cfd, "!", 1, MSG_OOB), 1);
	ASSERT_EQ(stap_wait_urgent(self->sfd), 0);
	EXPECT_EQ(recv(self->sfd, got, sizeof(got), 0), -1);
	EXPECT_EQ(errno, EAGAIN);
	/* The reads below wait for bytes that are sent: no timeout */
	tv.tv_usec = 0;
	ASSERT_EQ(setsockopt(self->sfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			     sizeof(tv)), 0);
	EXPECT_EQ(stap_atmark(self->sfd), 1);
	ASSERT_EQ(recv(self->sfd, &c, 1, MSG_OOB), 1);
	EXPECT_EQ(c, '!');
	ASSERT_EQ(send(self->cfd, m1, n1, 0), (ssize_t)n1);
	ASSERT_EQ(stap_read_all(self->sfd, got, n1), 0);
	EXPECT_EQ(memcmp(got, m1, n1), 0);
	EXPECT_EQ(stap_atmark(self->sfd), 0);
}

TEST_F(rx, random_fragmentation)
{
	size_t nmsg = 2000, i, wlen, off, maxmsg = 256 << 10;
	unsigned int seed = 1234;
	char *wbuf, *want;
	size_t wtotal = 0, ptotal = 0;
	pid_t pid;

	if (variant->parser != PARSE_LEN)
		SKIP(return, "messages need the length parser");
	wbuf = malloc(64 << 20);
	want = malloc(64 << 20);
	ASSERT_NE(wbuf, NULL);
	ASSERT_NE(want, NULL);
	for (i = 0; i < nmsg; i++) {
		uint32_t len = 1u << (rand_r(&seed) % 19);
		bool drop = !(rand_r(&seed) % 5);
		uint32_t be;
		size_t j;

		len = 1 + rand_r(&seed) % len;
		if (len > maxmsg)
			len = maxmsg;
		be = htonl(len);
		memcpy(wbuf + wtotal, &be, 4);
		for (j = 0; j < len; j++)
			wbuf[wtotal + 4 + j] = 'a' + (i + j) % 26;
		wbuf[wtotal + 4] = drop ? 'D' : 'P';
		if (!drop) {
			memcpy(want + ptotal, wbuf + wtotal, len + 4);
			ptotal += len + 4;
		}
		wtotal += 4 + len;
	}
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		for (off = 0; off < wtotal; off += wlen) {
			wlen = 1 + rand_r(&seed) % 70000;
			if (wlen > wtotal - off)
				wlen = wtotal - off;
			if (stap_write_all(self->cfd, wbuf + off, wlen))
				_exit(1);
		}
		_exit(0);
	}
	for (off = 0; off < ptotal; ) {
		ssize_t r;

		wlen = 1 + rand_r(&seed) % 100000;
		if (wlen > ptotal - off)
			wlen = ptotal - off;
		r = recv(self->sfd, wbuf, wlen, 0);
		ASSERT_GT(r, 0);
		ASSERT_EQ(memcmp(wbuf, want + off, r), 0);
		off += r;
	}
	EXPECT_EQ(off, ptotal);
	waitpid(pid, NULL, 0);
	free(wbuf);
	free(want);
}

TEST_F(rx, queued_before_attach_is_tapped)
{
	char buf[64], payload[7];
	int fd, vfd;
	size_t n;

	/* A second pair, data written before the tap is attached */
	close(self->sfd);
	close(self->cfd);
	ASSERT_EQ(stap_pair(variant->family, &self->cfd, &self->sfd), 0);
	if (variant->parser == PARSE_NONE)
		SKIP(return, "chunks depend on timing");
	memset(payload, 'd', 7);
	payload[0] = 'D';
	n = frame(variant->parser, buf, payload, 7);
	payload[0] = 'P';
	n += frame(variant->parser, buf + n, payload, 7);
	ASSERT_EQ(send(self->cfd, buf, n, 0), (ssize_t)n);
	/* All of it in TCP's queue before the tap */
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	fd = parse_fd(self->skel, variant->parser);
	vfd = bpf_program__fd(self->skel->progs.verdict_byte);
	ASSERT_EQ(stap_tap_rx(self->sfd, fd, vfd), 0);
	n = msg_len(variant->parser);
	ASSERT_EQ(recv(self->sfd, buf, sizeof(buf), 0), (ssize_t)n);
	EXPECT_EQ(memcmp(buf + tag_off(variant->parser), payload, 7), 0);
}

/* Error paths of the receive side: parser errors and oversize. */
static int tap_const(struct stap_test_bpf *skel, int fd, int ret)
{
	skel->bss->parse_ret = ret;
	return stap_tap_rx(fd, bpf_program__fd(skel->progs.parse_const),
			   bpf_program__fd(skel->progs.verdict_pass));
}

TEST_F(rx_err, parser_error_is_ebadmsg)
{
	struct stap_stats st;
	char buf[16];

	ASSERT_EQ(tap_const(self->skel, self->sfd, -22), 0);
	ASSERT_EQ(send(self->cfd, "abc", 3, 0), 3);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.parse_errors, 1);
}

/* A length shorter than the bytes the parser asked more after */
TEST_F(rx_err, parser_shrinking_is_ebadmsg)
{
	struct stap_stats st;
	char buf[16];

	ASSERT_EQ(stap_tap_rx(self->sfd,
			      bpf_program__fd(self->skel->progs.parse_shrink),
			      bpf_program__fd(self->skel->progs.verdict_pass)),
		  0);
	ASSERT_EQ(send(self->cfd, "abcd", 4, 0), 4);
	/* The first four bytes are framed (and more asked for) on arrival */
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EAGAIN);
	ASSERT_EQ(send(self->cfd, "efgh", 4, 0), 4);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.parse_errors, 1);
	EXPECT_EQ(st.rx_pass_msgs, 0);
}

/* A parser may not change the length of what it frames */
TEST_F(rx_err, parser_resizing_is_ebadmsg)
{
	struct stap_stats st;
	char buf[16];

	ASSERT_EQ(stap_tap_rx(self->sfd,
			      bpf_program__fd(self->skel->progs.parse_resize),
			      bpf_program__fd(self->skel->progs.verdict_pass)),
		  0);
	ASSERT_EQ(send(self->cfd, "abc", 3, 0), 3);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EBADMSG);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.parse_errors, 1);
	EXPECT_EQ(st.rx_pass_msgs, 0);
}

/* What a verdict makes of a message is what the application reads */
TEST_F(rx_err, verdict_resizes_message)
{
	struct bpf_program *prog = self->skel->progs.verdict_rewrite;
	char got[16];

	ASSERT_EQ(stap_tap_rx(self->sfd, -1, bpf_program__fd(prog)), 0);
	self->skel->bss->rewrite_delta = 3;
	ASSERT_EQ(send(self->cfd, "hello", 5, 0), 5);
	ASSERT_EQ(stap_read_all(self->sfd, got, 8), 0);
	EXPECT_EQ(memcmp(got, "hello!!!", 8), 0);
	self->skel->bss->rewrite_delta = -2;
	ASSERT_EQ(send(self->cfd, "world", 5, 0), 5);
	ASSERT_EQ(stap_read_all(self->sfd, got, 3), 0);
	EXPECT_EQ(memcmp(got, "wor", 3), 0);
}

TEST_F(rx_err, oversize_is_emsgsize)
{
	struct stap_stats st;
	char buf[16];

	ASSERT_EQ(tap_const(self->skel, self->sfd, 0x7fffffff), 0);
	ASSERT_EQ(send(self->cfd, "abc", 3, 0), 3);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EMSGSIZE);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.oversize_msgs, 1);
	EXPECT_EQ(st.parse_errors, 1);
}

/* A parser that never finds the end of a message: the tap holds no more
 * than the message limit, then the reader gets EMSGSIZE.
 */
TEST_F(rx_err, endless_message_is_bounded)
{
	char buf[16], *big, rmem[128], *max;
	size_t len = 8 << 20;
	struct stap_stats st;
	pid_t pid;
	FILE *f;

	/* The limit is tcp_rmem[2] (32 MiB on newer kernels): make it 4 MiB
	 * for a run that stays short under emulation.
	 */
	f = fopen("/proc/sys/net/ipv4/tcp_rmem", "r+");
	ASSERT_NE(f, NULL);
	ASSERT_NE(fgets(rmem, sizeof(rmem), f), NULL);
	max = strrchr(rmem, '\t') ?: strrchr(rmem, ' ');
	ASSERT_NE(max, NULL);
	rewind(f);
	fprintf(f, "%.*s 4194304\n", (int)(max - rmem), rmem);
	fclose(f);
	ASSERT_EQ(tap_const(self->skel, self->sfd, 0), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		big = calloc(1, len);
		send(self->cfd, big, len, MSG_NOSIGNAL);
		_exit(0);
	}
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EMSGSIZE);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.oversize_msgs, 1);
	close(self->cfd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	f = fopen("/proc/sys/net/ipv4/tcp_rmem", "w");
	ASSERT_NE(f, NULL);
	fputs(rmem, f);
	fclose(f);
}

TEST_F(rx_err, large_message_fits_rmem_max)
{
	size_t len = 3 << 20;
	char *buf, *got;
	int rcvbuf;
	socklen_t sl = sizeof(rcvbuf);
	pid_t pid;

	ASSERT_EQ(stap_tap_rx(self->sfd,
			      bpf_program__fd(self->skel->progs.parse_len),
			      bpf_program__fd(self->skel->progs.verdict_pass)),
		  0);
	buf = malloc(len + 4);
	got = malloc(len + 4);
	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	memset(buf + 4, 'L', len);
	stap_lp_msg(buf, buf + 4, len);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(stap_write_all(self->cfd, buf, len + 4) ? 1 : 0);
	ASSERT_EQ(stap_read_all(self->sfd, got, len + 4), 0);
	EXPECT_EQ(memcmp(got, buf, len + 4), 0);
	ASSERT_EQ(getsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &sl),
		  0);
	EXPECT_GE(rcvbuf, (int)len);
	waitpid(pid, NULL, 0);
	free(buf);
	free(got);
}

TEST_F(rx_err, redirect_is_not_followed)
{
	int key = 0, map = bpf_map__fd(self->skel->maps.sock_map);
	__u64 val = self->cfd;
	struct stap_stats st;
	char buf[16];

	/* A socket in the map, so that the redirect would succeed */
	ASSERT_EQ(bpf_map_update_elem(map, &key, &val, BPF_ANY), 0);
	self->skel->bss->verdict_off = 0;
	ASSERT_EQ(stap_tap_rx(self->sfd, -1,
			      bpf_program__fd(self->skel->progs.verdict_byte)),
		  0);
	ASSERT_EQ(send(self->cfd, "Rxx", 3, 0), 3);
	/* Two chunks: the first framed before the second is sent */
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	ASSERT_EQ(send(self->cfd, "Pyy", 3, 0), 3);
	ASSERT_EQ(recv(self->sfd, buf, sizeof(buf), 0), 3);
	EXPECT_EQ(memcmp(buf, "Pyy", 3), 0);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.bad_verdicts, 1);
	EXPECT_EQ(st.rx_drop_msgs, 1);
}

/* Attaching: every bad input gets its errno and changes nothing. */
FIXTURE(attach)
{
	struct stap_test_bpf *skel;
	int cfd;
	int sfd;
	int pfd;
	int vfd;
};

FIXTURE_SETUP(attach)
{
	if (!stap_available())
		SKIP(return, "stap module not loaded");
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
	ASSERT_EQ(stap_pair(AF_INET, &self->cfd, &self->sfd), 0);
	self->pfd = bpf_program__fd(self->skel->progs.parse_len);
	self->vfd = bpf_program__fd(self->skel->progs.verdict_pass);
	ASSERT_EQ(stap_ulp(self->sfd), 0);
}

FIXTURE_TEARDOWN(attach)
{
	close(self->cfd);
	close(self->sfd);
	stap_test_bpf__destroy(self->skel);
}

static int set_params(int fd, const void *p, socklen_t len)
{
	return setsockopt(fd, SOL_STAP, STAP_PARAMS, p, len);
}

TEST_F(attach, bad_fd)
{
	struct stap_params p = stap_params_of(-1, -1, -1, 1000);

	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, EBADF);
	p = stap_params_of(-1, -1, -5, self->vfd);
	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, EBADF);
	/* Nothing changed: a good attach still works */
	p = stap_params_of(-1, -1, self->pfd, self->vfd);
	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), 0);
}

TEST_F(attach, wrong_prog_type)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },	/* r0 = 0 */
		{ .code = 0x95 },				/* exit */
	};
	struct stap_params p;
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns,
			   2, NULL);
	ASSERT_GE(fd, 0);
	p = stap_params_of(-1, -1, -1, fd);
	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, EINVAL);
	p = stap_params_of(-1, -1, -1, self->cfd);
	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, EINVAL);
	close(fd);
}

TEST_F(attach, all_slots_empty)
{
	struct stap_params p = stap_params_of(-1, -1, -1, -1);

	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST_F(attach, parser_without_verdict)
{
	struct stap_params p = stap_params_of(-1, -1, self->pfd, -1);

	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST_F(attach, short_optlen)
{
	struct stap_params p = stap_params_of(-1, -1, -1, self->vfd);

	EXPECT_EQ(set_params(self->sfd, &p, STAP_PARAMS_SIZE_VER0 - 1), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST_F(attach, original_size_accepted)
{
	struct stap_params p = stap_params_of(-1, -1, -1, self->vfd);

	EXPECT_EQ(set_params(self->sfd, &p, STAP_PARAMS_SIZE_VER0), 0);
}

TEST_F(attach, unknown_tail)
{
	char big[sizeof(struct stap_params) + 8] = {};
	struct stap_params p = stap_params_of(-1, -1, -1, self->vfd);

	memcpy(big, &p, sizeof(p));
	big[sizeof(p) + 3] = 1;
	EXPECT_EQ(set_params(self->sfd, big, sizeof(big)), -1);
	EXPECT_EQ(errno, E2BIG);
	big[sizeof(p) + 3] = 0;
	EXPECT_EQ(set_params(self->sfd, big, sizeof(big)), 0);
}

TEST_F(attach, flags_must_be_zero)
{
	struct stap_params p = stap_params_of(-1, -1, -1, self->vfd);

	p.flags = 1;
	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, EINVAL);
	p.flags = 0;
	p.recv_verdict_id = 1;
	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST_F(attach, twice_is_ebusy)
{
	struct stap_params p = stap_params_of(-1, -1, -1, self->vfd);

	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), 0);
	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, EBUSY);
}

TEST_F(attach, send_side_only)
{
	struct stap_params p = stap_params_of(-1, self->vfd, -1, -1), q;
	socklen_t len = sizeof(q);

	EXPECT_EQ(set_params(self->sfd, &p, sizeof(p)), 0);
	ASSERT_EQ(getsockopt(self->sfd, SOL_STAP, STAP_PARAMS, &q, &len), 0);
	EXPECT_NE(q.send_verdict_id, 0);
	EXPECT_EQ(q.send_parse_id, 0);
	EXPECT_EQ(q.recv_verdict_id, 0);
}

TEST_F(attach, stats_before_params)
{
	struct stap_stats st;

	EXPECT_EQ(stap_get_stats(self->sfd, &st), -1);
	EXPECT_EQ(errno, ENODATA);
}

TEST_F(attach, unknown_option)
{
	int v = 0;
	socklen_t len = sizeof(v);

	EXPECT_EQ(setsockopt(self->sfd, SOL_STAP, 99, &v, sizeof(v)), -1);
	EXPECT_EQ(errno, ENOPROTOOPT);
	EXPECT_EQ(getsockopt(self->sfd, SOL_STAP, 99, &v, &len), -1);
	EXPECT_EQ(errno, ENOPROTOOPT);
}

TEST_F(attach, params_report_ids)
{
	struct stap_params p = stap_params_of(-1, -1, self->pfd, self->vfd);
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	socklen_t len = sizeof(p);

	memset(&p, 0xff, sizeof(p));
	ASSERT_EQ(getsockopt(self->sfd, SOL_STAP, STAP_PARAMS, &p, &len), 0);
	EXPECT_EQ(p.recv_verdict_id, 0);
	p = stap_params_of(-1, -1, self->pfd, self->vfd);
	ASSERT_EQ(set_params(self->sfd, &p, sizeof(p)), 0);
	memset(&p, 0, sizeof(p));
	len = sizeof(p);
	ASSERT_EQ(getsockopt(self->sfd, SOL_STAP, STAP_PARAMS, &p, &len), 0);
	EXPECT_EQ(len, sizeof(p));
	EXPECT_EQ(p.bpf_recv_verdict_fd, -1);
	ASSERT_EQ(bpf_obj_get_info_by_fd(self->vfd, &info, &ilen), 0);
	EXPECT_EQ(p.recv_verdict_id, info.id);
	memset(&info, 0, sizeof(info));
	ilen = sizeof(info);
	ASSERT_EQ(bpf_obj_get_info_by_fd(self->pfd, &info, &ilen), 0);
	EXPECT_EQ(p.recv_parse_id, info.id);
	EXPECT_EQ(p.send_parse_id, 0);
	EXPECT_EQ(p.send_verdict_id, 0);
	len = STAP_PARAMS_SIZE_VER0 - 1;
	EXPECT_EQ(getsockopt(self->sfd, SOL_STAP, STAP_PARAMS, &p, &len), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST_F(attach, refs_dropped_on_close)
{
	struct stap_params p = stap_params_of(-1, -1, self->pfd, self->vfd);
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	__u32 id;
	int fd;

	ASSERT_EQ(set_params(self->sfd, &p, sizeof(p)), 0);
	ASSERT_EQ(bpf_obj_get_info_by_fd(self->vfd, &info, &ilen), 0);
	id = info.id;
	stap_test_bpf__destroy(self->skel);
	self->skel = NULL;
	fd = bpf_prog_get_fd_by_id(id);
	ASSERT_GE(fd, 0);		/* the socket holds it */
	close(fd);
	close(self->sfd);
	self->sfd = -1;
	EXPECT_LT(bpf_prog_get_fd_by_id(id), 0);
	EXPECT_EQ(errno, ENOENT);
	self->skel = stap_skel_open();
}

TEST_F(attach, connect_unspec_refused)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	EXPECT_EQ(connect(self->sfd, &sa, sizeof(sa)), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
}

TEST_F(attach, sol_stap_without_ulp)
{
	struct stap_params p = stap_params_of(-1, -1, -1, self->vfd);

	EXPECT_EQ(set_params(self->cfd, &p, sizeof(p)), -1);
	EXPECT_EQ(errno, ENOPROTOOPT);
}

/* A sockmap member runs on tcp_bpf's proto: stap refuses it, and takes
 * the same socket once it has left the map.
 */
TEST(sockmap_member_refused)
{
	int map, cfd, sfd, key = 0, val;
	char buf[8];

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	map = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, NULL, sizeof(key),
			     sizeof(val), 1, NULL);
	ASSERT_GE(map, 0);
	ASSERT_EQ(stap_pair(AF_INET, &cfd, &sfd), 0);
	val = sfd;
	ASSERT_EQ(bpf_map_update_elem(map, &key, &val, BPF_ANY), 0);

	EXPECT_EQ(stap_ulp(sfd), -1);
	EXPECT_EQ(errno, EBUSY);
	/* The socket is untouched: data still flows */
	ASSERT_EQ(stap_write_all(cfd, "ping", 4), 0);
	ASSERT_EQ(stap_read_all(sfd, buf, 4), 0);
	EXPECT_EQ(memcmp(buf, "ping", 4), 0);

	ASSERT_EQ(bpf_map_delete_elem(map, &key), 0);
	EXPECT_EQ(stap_ulp(sfd), 0);
	close(map);
	close(cfd);
	close(sfd);
}

/* A tapped listener gives every accepted socket its programs. */
TEST(listener_inherits)
{
	struct stap_test_bpf *skel;
	struct stap_params p, q;
	socklen_t len = sizeof(q);
	unsigned short port;
	int lfd, cfd, sfd, i;
	char buf[32];

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	skel = stap_skel_open();
	ASSERT_NE(skel, NULL);
	skel->bss->verdict_off = 4;
	lfd = stap_listen(AF_INET6, &port);
	ASSERT_GE(lfd, 0);
	ASSERT_EQ(stap_ulp(lfd), 0);
	p = stap_params_of(-1, -1, bpf_program__fd(skel->progs.parse_len),
			   bpf_program__fd(skel->progs.verdict_byte));
	ASSERT_EQ(setsockopt(lfd, SOL_STAP, STAP_PARAMS, &p, sizeof(p)), 0);
	for (i = 0; i < 3; i++) {
		size_t n;

		cfd = stap_connect(AF_INET6, port);
		ASSERT_GE(cfd, 0);
		/* Data that arrives before accept() is tapped too */
		n = stap_lp_msg(buf, "Dropme!", 7);
		n += stap_lp_msg(buf + n, "Passme!", 7);
		ASSERT_EQ(send(cfd, buf, n, 0), (ssize_t)n);
		ASSERT_EQ(stap_wait_acked(cfd), 0);
		sfd = accept(lfd, NULL, NULL);
		ASSERT_GE(sfd, 0);
		ASSERT_EQ(recv(sfd, buf, sizeof(buf), 0), 11);
		EXPECT_EQ(memcmp(buf + 4, "Passme!", 7), 0);
		len = sizeof(q);
		ASSERT_EQ(getsockopt(sfd, SOL_STAP, STAP_PARAMS, &q, &len), 0);
		EXPECT_NE(q.recv_verdict_id, 0);
		EXPECT_EQ(setsockopt(sfd, SOL_STAP, STAP_PARAMS, &p,
				     sizeof(p)), -1);
		EXPECT_EQ(errno, EBUSY);
		close(sfd);
		close(cfd);
	}
	close(lfd);
	stap_test_bpf__destroy(skel);
}
