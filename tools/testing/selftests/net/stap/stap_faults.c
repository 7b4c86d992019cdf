// SPDX-License-Identifier: GPL-2.0
/*
 * stap under allocation failure, one fault at a time: each case makes
 * exactly one of stap's allocations fail (failslab, or fail_function on
 * stap_strp_view()) and asserts what the application sees, byte for byte
 * and errno for errno, and what the counters say. Needs a kernel with
 * fault injection (the 7.3 debug kernel); skipped elsewhere.
 */
#include <poll.h>
#include <bpf/bpf.h>

#include "stap_lib.h"
#include "stap_fault.h"
#include "stap_test_progs.h"
#include "../../kselftest_harness.h"

FIXTURE(fault)
{
	struct stap_test_bpf *skel;
	int cfd, sfd;
};

FIXTURE_SETUP(fault)
{
	self->skel = NULL;
	self->cfd = -1;
	self->sfd = -1;
	if (!stap_available())
		SKIP(return, "stap module not loaded");
	if (!stap_fault_available())
		SKIP(return, "no fault injection in this kernel");
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
	ASSERT_EQ(stap_pair(AF_INET, &self->cfd, &self->sfd), 0);
}

FIXTURE_TEARDOWN(fault)
{
	if (stap_fault_available())
		stap_fault_disarm_all();
	if (self->cfd >= 0)
		close(self->cfd);
	if (self->sfd >= 0)
		close(self->sfd);
	if (self->skel)
		stap_test_bpf__destroy(self->skel);
}

static int pass_fd(struct stap_test_bpf *skel)
{
	return bpf_program__fd(skel->progs.verdict_pass);
}

/* TCP_ULP without memory for the context: ENOMEM, and the socket stays
 * plain TCP, usable and tappable once memory is back.
 */
TEST_F(fault, ulp_nomem)
{
	char ulp[16] = {}, buf[8];
	socklen_t len = sizeof(ulp);

	ASSERT_EQ(stap_fault_arm("failslab", 100, 1, true), 0);
	ASSERT_EQ(stap_make_it_fail(true), 0);
	EXPECT_EQ(stap_ulp(self->sfd), -1);
	EXPECT_EQ(errno, ENOMEM);
	ASSERT_EQ(stap_make_it_fail(false), 0);
	EXPECT_EQ(stap_fault_left("failslab"), 0);

	EXPECT_EQ(getsockopt(self->sfd, SOL_TCP, TCP_ULP, ulp, &len), 0);
	EXPECT_EQ(len, 0);
	ASSERT_EQ(stap_write_all(self->cfd, "plain", 5), 0);
	ASSERT_EQ(stap_read_all(self->sfd, buf, 5), 0);
	EXPECT_EQ(memcmp(buf, "plain", 5), 0);

	ASSERT_EQ(stap_tap_rx(self->sfd, -1, pass_fd(self->skel)), 0);
	len = sizeof(ulp);
	EXPECT_EQ(getsockopt(self->sfd, SOL_TCP, TCP_ULP, ulp, &len), 0);
	EXPECT_STREQ(ulp, "stap");
	ASSERT_EQ(stap_write_all(self->cfd, "tapped", 6), 0);
	ASSERT_EQ(stap_read_all(self->sfd, buf, 6), 0);
	EXPECT_EQ(memcmp(buf, "tapped", 6), 0);
}

/* A received message with no memory for it: the reader gets what came
 * before, then ENOMEM; the counters say so, and no parse error.
 */
TEST_F(fault, rx_nomem_aborts)
{
	long long aborts0 = stap_netns_stat("StapNoMemAborts");
	struct stap_stats st;
	char buf[8];

	ASSERT_GE(aborts0, 0);
	ASSERT_EQ(stap_tap_rx(self->sfd, -1, pass_fd(self->skel)), 0);
	ASSERT_EQ(stap_write_all(self->cfd, "abc", 3), 0);
	ASSERT_EQ(stap_read_all(self->sfd, buf, 3), 0);
	EXPECT_EQ(memcmp(buf, "abc", 3), 0);

	ASSERT_EQ(stap_fault_function("stap_strp_view", 0, 1), 0);
	ASSERT_EQ(stap_write_all(self->cfd, "defg", 4), 0);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, ENOMEM);
	EXPECT_EQ(stap_fault_left("fail_function"), 0);

	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.rx_pass_msgs, 1);
	EXPECT_EQ(st.rx_pass_bytes, 3);
	EXPECT_EQ(st.nomem_aborts, 1);
	EXPECT_EQ(st.parse_errors, 0);
	EXPECT_EQ(stap_netns_stat("StapNoMemAborts"), aborts0 + 1);
}

/* The same with a parser: the message being framed cannot be kept */
TEST_F(fault, rx_nomem_aborts_framing)
{
	int pfd = parse_fd(self->skel, PARSE_LEN);
	struct stap_stats st;
	char msg[16], buf[16];
	size_t n;

	ASSERT_EQ(stap_tap_rx(self->sfd, pfd, pass_fd(self->skel)), 0);
	n = stap_lp_msg(msg, "one", 3);
	ASSERT_EQ(stap_write_all(self->cfd, msg, n), 0);
	ASSERT_EQ(stap_read_all(self->sfd, buf, n), 0);
	EXPECT_EQ(memcmp(buf, msg, n), 0);

	ASSERT_EQ(stap_fault_function("stap_strp_view", 0, 1), 0);
	n = stap_lp_msg(msg, "two", 3);
	ASSERT_EQ(stap_write_all(self->cfd, msg, n), 0);
	EXPECT_EQ(recv(self->sfd, buf, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, ENOMEM);
	ASSERT_EQ(stap_get_stats(self->sfd, &st), 0);
	EXPECT_EQ(st.rx_pass_msgs, 1);
	EXPECT_EQ(st.nomem_aborts, 1);
	EXPECT_EQ(st.parse_errors, 0);
}

/* A send with no skb for its bytes waits for memory, as TCP's does: a
 * non-blocking send gets EAGAIN, nothing is lost, and the next send goes.
 */
TEST_F(fault, tx_nomem_waits)
{
	struct stap_stats st;
	char buf[8];

	ASSERT_EQ(stap_tap_tx(self->cfd, -1, pass_fd(self->skel)), 0);
	ASSERT_EQ(stap_fault_arm("failslab", 100, 1, true), 0);
	ASSERT_EQ(stap_make_it_fail(true), 0);
	EXPECT_EQ(send(self->cfd, "xyz", 3, MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_EQ(stap_fault_left("failslab"), 0);
	ASSERT_EQ(stap_fault_arm("failslab", 100, 1, true), 0);
	/* Blocking: fails once, waits, sends */
	EXPECT_EQ(send(self->cfd, "abc", 3, 0), 3);
	EXPECT_EQ(stap_fault_left("failslab"), 0);
	ASSERT_EQ(stap_make_it_fail(false), 0);
	EXPECT_EQ(send(self->cfd, "def", 3, 0), 3);
	ASSERT_EQ(stap_read_all(self->sfd, buf, 6), 0);
	EXPECT_EQ(memcmp(buf, "abcdef", 6), 0);
	ASSERT_EQ(stap_get_stats(self->cfd, &st), 0);
	EXPECT_EQ(st.tx_pass_msgs, 2);
	EXPECT_EQ(st.nomem_aborts, 0);
}

/* A tapped listener's child with no memory for its context is refused at
 * accept() (ENOMEM), never handed over untapped; the next one is tapped.
 */
TEST_F(fault, clone_nomem_refused)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	char ulp[16] = {};
	socklen_t len = sizeof(ulp);
	int lfd, c1, c2, s;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_GE(lfd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_EQ(listen(lfd, 4), 0);
	ASSERT_EQ(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);
	ASSERT_EQ(stap_tap_rx(lfd, -1, pass_fd(self->skel)), 0);

	/* The child is made in softirq: count-bounded, not task-filtered */
	ASSERT_EQ(stap_fault_arm("failslab", 100, 1, false), 0);
	c1 = stap_connect(AF_INET, ntohs(sa.sin_port));
	ASSERT_GE(c1, 0);
	EXPECT_EQ(accept(lfd, NULL, NULL), -1);
	EXPECT_EQ(errno, ENOMEM);
	EXPECT_EQ(stap_fault_left("failslab"), 0);

	c2 = stap_connect(AF_INET, ntohs(sa.sin_port));
	ASSERT_GE(c2, 0);
	s = accept(lfd, NULL, NULL);
	ASSERT_GE(s, 0);
	EXPECT_EQ(getsockopt(s, SOL_TCP, TCP_ULP, ulp, &len), 0);
	EXPECT_STREQ(ulp, "stap");
	close(s);
	close(c2);
	close(c1);
	close(lfd);
}

TEST_HARNESS_MAIN
