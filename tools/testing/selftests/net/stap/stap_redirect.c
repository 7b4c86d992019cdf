// SPDX-License-Identifier: GPL-2.0
/*
 * stap redirect tests: a verdict sends messages on another socket.
 *
 * Receive (FIXTURE rdr): the client (cfd) writes to the proxy's accepted socket
 * (pin), tapped on receive with verdict_redirect; it redirects to its
 * target, the proxy's connected socket (pout, its send side tapped), whose
 * peer is the backend (bfd). Tags at the verdict offset: 'D' drops, 'X'
 * disconnects, 'P' passes to pin's reader, anything else is redirected to
 * target redirect_idx.
 *
 * Send (FIXTURE txr): the application writes on src, tapped on send with
 * verdict_redirect: 'P' messages go to src's own peer, the others to the
 * target tgt, whose peer is sink.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/sock_diag.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stap_lib.h"
#include "../../kselftest_harness.h"
#include "stap_test_progs.h"

/* Payload bytes of the messages the tests send: lowercase, so that no
 * byte is a tag
 */
static char fill_byte(size_t i, unsigned int seed)
{
	return 'a' + (i * 7 + seed) % 26;
}

/* A tagged message for the length parser: tag, then @len - 1 bytes */
static size_t tagged(char *out, char tag, size_t len, unsigned int seed)
{
	char payload[4096];
	size_t i;

	payload[0] = tag;
	for (i = 1; i < len; i++)
		payload[i] = fill_byte(i, seed);
	return stap_lp_msg(out, payload, len);
}

/* One message of @len bytes for parser @p: tagged for the length parser,
 * one chunk of filler without. Return: its bytes on the wire.
 */
static size_t one_msg(enum parser p, char *out, size_t len, unsigned int seed)
{
	size_t i;

	if (p == PARSE_LEN)
		return tagged(out, 'r', len, seed);
	for (i = 0; i < len; i++)
		out[i] = fill_byte(i, seed);
	return len;
}

/* Tap @fd's send side with the pass-all verdict, to be a target */
static int tap_target(struct stap_test_bpf *skel, int fd)
{
	return stap_tap_tx(fd, -1, bpf_program__fd(skel->progs.verdict_pass));
}

/* STAP_PARAMS of a receive tap, on a socket with the ULP */
static int set_rx_progs(int fd, int pfd, int vfd)
{
	struct stap_params p = stap_params_of(-1, -1, pfd, vfd);

	return setsockopt(fd, SOL_STAP, STAP_PARAMS, &p, sizeof(p));
}

/* Tap @fd on receive with @pfd and @vfd, and its send side pass-all */
static int tap_both(struct stap_test_bpf *skel, int fd, int pfd, int vfd)
{
	struct stap_params p;

	p = stap_params_of(-1, bpf_program__fd(skel->progs.verdict_pass),
			   pfd, vfd);
	if (stap_ulp(fd))
		return -1;
	return setsockopt(fd, SOL_STAP, STAP_PARAMS, &p, sizeof(p));
}

static int set_targets(int fd, const int *tfd, int n, __u32 flags)
{
	struct stap_target t[STAP_MAX_TARGETS + 1] = {};
	int i;

	for (i = 0; i < n; i++) {
		t[i].fd = tfd[i];
		t[i].flags = flags;
	}
	return setsockopt(fd, SOL_STAP, STAP_TARGETS, t, n * sizeof(t[0]));
}

static __u64 cookie_of(int fd)
{
	socklen_t len = sizeof(__u64);
	__u64 c = 0;

	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
	return c;
}

FIXTURE(rdr)
{
	struct stap_test_bpf *skel;
	int cfd, pin;		/* client and the proxy's accepted socket */
	int pout, bfd;		/* the proxy's connected socket, backend */
};

FIXTURE_VARIANT(rdr)
{
	int family;
	enum parser parser;
};

FIXTURE_VARIANT_ADD(rdr, ipv4_len)
{
	.family = AF_INET,
	.parser = PARSE_LEN,
};

FIXTURE_VARIANT_ADD(rdr, ipv6_len)
{
	.family = AF_INET6,
	.parser = PARSE_LEN,
};

FIXTURE_VARIANT_ADD(rdr, ipv4_chunk)
{
	.family = AF_INET,
	.parser = PARSE_NONE,
};

FIXTURE_VARIANT_ADD(rdr, ipv6_chunk)
{
	.family = AF_INET6,
	.parser = PARSE_NONE,
};

FIXTURE_SETUP(rdr)
{
	int vfd;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	signal(SIGPIPE, SIG_IGN);
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
	ASSERT_EQ(stap_pair(variant->family, &self->cfd, &self->pin), 0);
	ASSERT_EQ(stap_pair(variant->family, &self->pout, &self->bfd), 0);
	self->skel->bss->verdict_off = variant->parser == PARSE_LEN ? 4 : 0;
	ASSERT_EQ(tap_target(self->skel, self->pout), 0);
	/* Targets first, then the programs that redirect to them */
	ASSERT_EQ(stap_ulp(self->pin), 0);
	ASSERT_EQ(set_targets(self->pin, &self->pout, 1, 0), 0);
	vfd = bpf_program__fd(self->skel->progs.verdict_redirect);
	ASSERT_EQ(set_rx_progs(self->pin, parse_fd(self->skel, variant->parser),
			       vfd), 0);
}

static void close_if(int fd)
{
	if (fd >= 0)
		close(fd);
}

FIXTURE_TEARDOWN(rdr)
{
	close_if(self->cfd);
	close_if(self->pin);
	close_if(self->pout);
	close_if(self->bfd);
	stap_test_bpf__destroy(self->skel);
}

/* A stream of random messages (length parser) or random bytes in random
 * sends (no parser); *nmsgs gets the messages.
 */
static size_t random_stream(enum parser p, char *buf, size_t size,
			    unsigned int seed, unsigned long *nmsgs)
{
	size_t n = 0, len;

	*nmsgs = 0;
	srand(seed);
	while (n + 4 + 3000 <= size) {
		len = 1 + rand() % 3000;
		if (p == PARSE_LEN) {
			n += tagged(buf + n, 'r', len, seed + n);
		} else {
			for (size_t i = 0; i < len; i++)
				buf[n + i] = fill_byte(n + i, seed);
			n += len;
		}
		++*nmsgs;
	}
	return n;
}

struct writer {
	int fd;
	const char *buf;
	size_t len;
	size_t done;		/* bytes written so far */
	int err;
};

/* Write in random-sized sends */
static void *writer_run(void *arg)
{
	struct writer *w = arg;
	ssize_t n;
	size_t len;

	while (w->done < w->len) {
		len = 1 + rand() % 5000;
		if (len > w->len - w->done)
			len = w->len - w->done;
		n = send(w->fd, w->buf + w->done, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->err = errno;
			break;
		}
		__atomic_store_n(&w->done, w->done + n, __ATOMIC_RELEASE);
	}
	return NULL;
}

#define STREAM_SIZE	(512 * 1024)

/* Every byte arrives at the backend, in order; the counters say so */
TEST_F(rdr, exact_bytes)
{
	char *buf = malloc(STREAM_SIZE), *got = malloc(STREAM_SIZE);
	struct writer w = { .fd = self->cfd };
	unsigned long nmsgs;
	struct stap_stats st;
	pthread_t th;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	w.buf = buf;
	w.len = random_stream(variant->parser, buf, STREAM_SIZE, 1, &nmsgs);
	ASSERT_EQ(pthread_create(&th, NULL, writer_run, &w), 0);
	ASSERT_EQ(stap_read_all(self->bfd, got, w.len), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_EQ(w.err, 0);
	ASSERT_EQ(memcmp(got, buf, w.len), 0);

	ASSERT_EQ(stap_get_stats(self->pin, &st), 0);
	EXPECT_EQ(st.rx_redirect_bytes, w.len);
	if (variant->parser == PARSE_LEN)
		EXPECT_EQ(st.rx_redirect_msgs, nmsgs);
	EXPECT_EQ(st.redirect_errors, 0);
	EXPECT_EQ(st.rx_pass_msgs, 0);
	EXPECT_EQ(st.rx_drop_msgs, 0);
	/* The target's own send verdict never saw them */
	ASSERT_EQ(stap_get_stats(self->pout, &st), 0);
	EXPECT_EQ(st.tx_pass_msgs, 0);
	EXPECT_EQ(stap_inq(self->pin), 0);
	free(buf);
	free(got);
}

/* Drop, pass and redirect, message by message */
TEST_F(rdr, mixed_verdicts)
{
	static const char tags[] = "rrDPrPDrrP";
	char buf[4096], want_b[4096], want_p[4096], got[4096];
	size_t nb = 0, np = 0, n, i;
	struct stap_stats st;

	if (variant->parser != PARSE_LEN)
		SKIP(return, "tags need message boundaries");
	for (i = 0; tags[i]; i++) {
		n = tagged(buf, tags[i], 10 + i, i);
		ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
		if (tags[i] == 'r') {
			memcpy(want_b + nb, buf, n);
			nb += n;
		} else if (tags[i] == 'P') {
			memcpy(want_p + np, buf, n);
			np += n;
		}
	}
	ASSERT_EQ(stap_read_all(self->bfd, got, nb), 0);
	EXPECT_EQ(memcmp(got, want_b, nb), 0);
	ASSERT_EQ(stap_read_all(self->pin, got, np), 0);
	EXPECT_EQ(memcmp(got, want_p, np), 0);
	ASSERT_EQ(stap_get_stats(self->pin, &st), 0);
	EXPECT_EQ(st.rx_redirect_msgs, 5);
	EXPECT_EQ(st.rx_pass_msgs, 3);
	EXPECT_EQ(st.rx_drop_msgs, 2);
	EXPECT_EQ(st.redirect_errors, 0);
	EXPECT_EQ(stap_inq(self->bfd), 0);
}

/* Bytes a socket holds: its receive and send queues as SO_MEMINFO says */
static unsigned int meminfo(int fd, int what)
{
	__u32 mem[SK_MEMINFO_VARS] = {};
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len))
		return ~0U;
	return mem[what];
}

/* The writer at rest: no byte written for a second. Return: bytes
 * written.
 */
static size_t wait_rest(struct writer *w)
{
	size_t at_rest, last = ~(size_t)0;

	for (;;) {
		at_rest = __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
		if (at_rest == last || at_rest == w->len)
			return at_rest;
		last = at_rest;
		poll(NULL, 0, 1000);
	}
}

#define FLOW_SIZE	(2 * 1024 * 1024)
#define FLOW_BOUND	(1024 * 1024)

/*
 * The backend stops reading: the chain fills and the client's writer
 * stops, with a bounded amount written; when the backend reads again,
 * every byte arrives in order.
 */
TEST_F(rdr, flow_control)
{
	char *buf = malloc(FLOW_SIZE), *got = malloc(FLOW_SIZE);
	struct writer w = { .fd = self->cfd };
	unsigned long nmsgs;
	size_t at_rest;
	pthread_t th;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	/* Before the peers' windows grow (set on connected sockets) */
	ASSERT_EQ(stap_set_bufs(self->bfd, 32768), 0);
	ASSERT_EQ(stap_set_bufs(self->pout, 32768), 0);
	ASSERT_EQ(stap_set_bufs(self->pin, 32768), 0);
	ASSERT_EQ(stap_set_bufs(self->cfd, 32768), 0);
	w.buf = buf;
	w.len = random_stream(variant->parser, buf, FLOW_SIZE, 2, &nmsgs);
	ASSERT_EQ(pthread_create(&th, NULL, writer_run, &w), 0);

	at_rest = wait_rest(&w);
	TH_LOG("at rest: %zu of %zu bytes written", at_rest, w.len);
	TH_LOG("pin rmem %u, pout wmem_queued %u sndbuf %u",
	       meminfo(self->pin, SK_MEMINFO_RMEM_ALLOC),
	       meminfo(self->pout, SK_MEMINFO_WMEM_QUEUED),
	       meminfo(self->pout, SK_MEMINFO_SNDBUF));
	EXPECT_LT(at_rest, FLOW_BOUND);
	EXPECT_LE(meminfo(self->pout, SK_MEMINFO_WMEM_QUEUED),
		  2 * meminfo(self->pout, SK_MEMINFO_SNDBUF));

	ASSERT_EQ(stap_read_all(self->bfd, got, w.len), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_EQ(w.err, 0);
	ASSERT_EQ(memcmp(got, buf, w.len), 0);
	free(buf);
	free(got);
}

/* The next message of the length parser's stream at *@off, or NULL */
static const char *next_lp(const char *buf, size_t len, size_t *off,
			   size_t *n)
{
	uint32_t be;

	if (*off + 4 > len)
		return NULL;
	memcpy(&be, buf + *off, 4);
	*n = 4 + ntohl(be);
	if (*off + *n > len)
		return NULL;
	*off += *n;
	return buf + *off - *n;
}

/* Bytes of the whole messages @buf's first @len bytes hold: the framed
 * ones, which a verdict has seen
 */
static size_t whole_msgs(enum parser p, const char *buf, size_t len)
{
	size_t off = 0, n;

	if (p != PARSE_LEN)
		return len;
	while (next_lp(buf, len, &off, &n))
		;
	return off;
}

/* Write @len bytes of @buf to @wfd in batches of up to @batch whole
 * messages, and after each read them back from @r1 and @r2: nothing runs
 * ahead of the readers.
 */
static int lockstep(enum parser p, int wfd, const char *buf, size_t len,
		    size_t batch, int r1, char *got1, int r2, char *got2)
{
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < batch ? len - off : batch;
		n = whole_msgs(p, buf + off, n);
		if (!n)
			return -1;
		if (stap_write_all(wfd, buf + off, n) ||
		    stap_read_all(r1, got1 + off, n) ||
		    stap_read_all(r2, got2 + off, n))
			return -1;
	}
	return 0;
}

/* A copy target: every message reaches pin's reader and the backend */
TEST_F(rdr, copy_exact_bytes)
{
	char *buf = malloc(STREAM_SIZE), *got = malloc(STREAM_SIZE);
	char *copy = malloc(STREAM_SIZE);
	struct stap_stats st;
	unsigned long nmsgs;
	size_t len;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	ASSERT_NE(copy, NULL);
	/* Room for a whole batch of copies: none is lost */
	ASSERT_EQ(stap_set_bufs(self->pout, 1 << 20), 0);
	ASSERT_EQ(set_targets(self->pin, &self->pout, 1, STAP_TARGET_COPY), 0);
	len = random_stream(variant->parser, buf, STREAM_SIZE, 9, &nmsgs);
	ASSERT_EQ(lockstep(variant->parser, self->cfd, buf, len, 32768,
			   self->pin, got, self->bfd, copy), 0);
	EXPECT_EQ(memcmp(got, buf, len), 0);
	EXPECT_EQ(memcmp(copy, buf, len), 0);
	ASSERT_EQ(stap_get_stats(self->pin, &st), 0);
	EXPECT_EQ(st.rx_pass_bytes, len);
	EXPECT_EQ(st.rx_redirect_bytes, len);
	EXPECT_EQ(st.rx_redirect_msgs, st.rx_pass_msgs);
	EXPECT_EQ(st.copies_lost, 0);
	EXPECT_EQ(st.redirect_errors, 0);
	if (variant->parser == PARSE_LEN)
		EXPECT_EQ(st.rx_pass_msgs, nmsgs);
}

/* Wait until pin's verdict has judged @n messages */
static int wait_judged(int fd, unsigned long n)
{
	struct stap_stats st;

	return stap_wait_until(!stap_get_stats(fd, &st) &&
			       st.rx_redirect_msgs + st.rx_pass_msgs +
			       st.rx_drop_msgs >= n);
}

/* A bad index drops the message, counted, and sends it nowhere */
TEST_F(rdr, bad_index)
{
	char buf[64], got[64];
	struct stap_stats st;
	size_t n;

	self->skel->bss->redirect_idx = 1;
	n = one_msg(variant->parser, buf, 20, 1);
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	ASSERT_EQ(wait_judged(self->pin, 1), 0);
	/* Beyond the index field: not a redirect at all */
	self->skel->bss->redirect_idx = 256;
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	ASSERT_EQ(wait_judged(self->pin, 2), 0);
	ASSERT_EQ(stap_get_stats(self->pin, &st), 0);
	EXPECT_EQ(st.redirect_errors, 1);
	EXPECT_EQ(st.bad_verdicts, 1);
	EXPECT_EQ(st.rx_drop_msgs, 2);
	EXPECT_EQ(st.rx_drop_bytes, 2 * n);

	self->skel->bss->redirect_idx = 0;
	n = one_msg(variant->parser, buf, 30, 2);
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	ASSERT_EQ(stap_read_all(self->bfd, got, n), 0);
	EXPECT_EQ(memcmp(got, buf, n), 0);
	EXPECT_EQ(stap_inq(self->bfd), 0);
}

/* Without targets a redirect is an error, counted */
TEST_F(rdr, no_targets)
{
	char buf[64];
	struct stap_stats st;
	size_t n = 25;

	ASSERT_EQ(setsockopt(self->pin, SOL_STAP, STAP_TARGETS, NULL, 0), 0);
	n = one_msg(variant->parser, buf, 21, 3);
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	ASSERT_EQ(wait_judged(self->pin, 1), 0);
	ASSERT_EQ(stap_get_stats(self->pin, &st), 0);
	EXPECT_EQ(st.redirect_errors, 1);
	EXPECT_EQ(st.rx_drop_msgs, 1);
	EXPECT_EQ(st.rx_redirect_msgs, 0);
}

/* A target that is gone: the message is dropped, counted, or with
 * STAP_TARGET_DISCONNECT the client's connection is reset.
 */
static void target_gone(struct __test_metadata *_metadata,
			struct _test_data_rdr *self, enum parser p,
			bool disconnect)
{
	char buf[64];
	struct stap_stats st;
	size_t n = 25;

	if (disconnect)
		ASSERT_EQ(set_targets(self->pin, &self->pout, 1,
				      STAP_TARGET_DISCONNECT), 0);
	close(self->pout);
	close(self->bfd);
	self->pout = -1;
	self->bfd = -1;
	n = one_msg(p, buf, 21, 3);
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	ASSERT_EQ(wait_judged(self->pin, 1), 0);
	ASSERT_EQ(stap_get_stats(self->pin, &st), 0);
	EXPECT_EQ(st.redirect_errors, 1);
	EXPECT_EQ(st.rx_drop_msgs, 1);
	EXPECT_EQ(st.disconnects, disconnect);
	if (disconnect) {
		ASSERT_EQ(stap_wait_hup(self->cfd), 0);
		EXPECT_EQ(recv(self->cfd, buf, sizeof(buf), 0), -1);
		EXPECT_EQ(errno, ECONNRESET);
		return;
	}
	/* The source lives on: a passed message reaches its reader */
	n = tagged(buf, 'P', 9, 4);
	if (p == PARSE_NONE)
		return;
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	ASSERT_EQ(stap_read_all(self->pin, buf, n), 0);
	EXPECT_EQ(buf[4], 'P');
}

TEST_F(rdr, target_closed_drops)
{
	target_gone(_metadata, self, variant->parser, false);
}

TEST_F(rdr, target_closed_disconnects)
{
	target_gone(_metadata, self, variant->parser, true);
}

/* get: the targets' cookies, ERANGE for too small a buffer */
TEST_F(rdr, get_cookies)
{
	struct stap_target t[2] = {};
	socklen_t len = sizeof(t);

	ASSERT_EQ(getsockopt(self->pin, SOL_STAP, STAP_TARGETS, t, &len), 0);
	ASSERT_EQ(len, sizeof(t[0]));
	EXPECT_EQ(t[0].fd, -1);
	EXPECT_EQ(t[0].flags, 0);
	EXPECT_EQ(t[0].cookie, cookie_of(self->pout));
	EXPECT_NE(t[0].cookie, 0);

	len = sizeof(t[0]) - 1;
	EXPECT_EQ(getsockopt(self->pin, SOL_STAP, STAP_TARGETS, t, &len), -1);
	EXPECT_EQ(errno, ERANGE);
	EXPECT_EQ(len, sizeof(t[0]));

	ASSERT_EQ(setsockopt(self->pin, SOL_STAP, STAP_TARGETS, NULL, 0), 0);
	len = sizeof(t);
	ASSERT_EQ(getsockopt(self->pin, SOL_STAP, STAP_TARGETS, t, &len), 0);
	EXPECT_EQ(len, 0);
}

/* Replacing the targets sends later messages to the new one */
TEST_F(rdr, replace)
{
	char buf[64], got[64];
	int pout2, bfd2;
	size_t n;

	ASSERT_EQ(stap_pair(variant->family, &pout2, &bfd2), 0);
	ASSERT_EQ(tap_target(self->skel, pout2), 0);
	n = one_msg(variant->parser, buf, 30, 5);
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	ASSERT_EQ(stap_read_all(self->bfd, got, n), 0);
	EXPECT_EQ(memcmp(got, buf, n), 0);

	ASSERT_EQ(set_targets(self->pin, &pout2, 1, 0), 0);
	memset(buf + 5, 'z', n - 5);
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	ASSERT_EQ(stap_read_all(bfd2, got, n), 0);
	EXPECT_EQ(memcmp(got, buf, n), 0);
	EXPECT_EQ(stap_inq(self->bfd), 0);
	close(pout2);
	close(bfd2);
}

/* A message for a second target, pout2, which has the ULP and no
 * programs yet: it waits, uncounted. Return: its bytes on the wire.
 */
static size_t held_for_unattached(struct __test_metadata *_metadata,
				  struct _test_data_rdr *self, enum parser p,
				  int pout2, int bfd2, char *buf)
{
	struct stap_stats st;
	size_t n;

	ASSERT_EQ(stap_ulp(pout2), 0);
	ASSERT_EQ(set_targets(self->pin, &pout2, 1, 0), 0);
	n = one_msg(p, buf, 30, 6);
	ASSERT_EQ(stap_write_all(self->cfd, buf, n), 0);
	/* Acknowledged once pin framed it, in the same softirq */
	ASSERT_EQ(stap_wait_acked(self->cfd), 0);
	ASSERT_EQ(stap_get_stats(self->pin, &st), 0);
	EXPECT_EQ(st.rx_redirect_msgs, 0);
	EXPECT_EQ(st.redirect_errors, 0);
	EXPECT_EQ(st.rx_drop_msgs, 0);
	EXPECT_EQ(stap_inq(bfd2), 0);
	return n;
}

/* Attached with a send tap, the target sends what waited */
TEST_F(rdr, target_attaches_later)
{
	char buf[64], got[64];
	struct stap_params sp;
	struct stap_stats st;
	int pout2, bfd2;
	size_t n;

	ASSERT_EQ(stap_pair(variant->family, &pout2, &bfd2), 0);
	n = held_for_unattached(_metadata, self, variant->parser, pout2, bfd2,
				buf);
	sp = stap_params_of(-1, bpf_program__fd(self->skel->progs.verdict_pass),
			    -1, -1);
	ASSERT_EQ(setsockopt(pout2, SOL_STAP, STAP_PARAMS, &sp, sizeof(sp)),
		  0);
	ASSERT_EQ(stap_read_all(bfd2, got, n), 0);
	EXPECT_EQ(memcmp(got, buf, n), 0);
	ASSERT_EQ(stap_get_stats(self->pin, &st), 0);
	EXPECT_EQ(st.rx_redirect_msgs, 1);
	close(pout2);
	close(bfd2);
}

/* Attached without a send tap, the target fails what waited for it */
TEST_F(rdr, target_attaches_receive_only)
{
	struct stap_stats st;
	int pout2, bfd2;
	char buf[64];

	ASSERT_EQ(stap_pair(variant->family, &pout2, &bfd2), 0);
	held_for_unattached(_metadata, self, variant->parser, pout2, bfd2, buf);
	ASSERT_EQ(set_rx_progs(pout2, -1,
			       bpf_program__fd(self->skel->progs.verdict_pass)),
		  0);
	ASSERT_EQ(wait_judged(self->pin, 1), 0);
	ASSERT_EQ(stap_get_stats(self->pin, &st), 0);
	EXPECT_EQ(st.redirect_errors, 1);
	EXPECT_EQ(st.rx_drop_msgs, 1);
	close(pout2);
	close(bfd2);
}

#define SRC_MSGS	400

/* Two sources into one target: whole messages, each source's in order */
TEST_F(rdr, two_sources)
{
	int cfd2, pin2, vfd, i, k, seq[2] = { 0, 0 };
	char got[4 + 64];
	struct writer w[2];
	pthread_t th[2];
	size_t n[2] = { 0, 0 };
	uint32_t len;

	if (variant->parser != PARSE_LEN)
		SKIP(return, "needs message boundaries");
	ASSERT_EQ(stap_pair(variant->family, &cfd2, &pin2), 0);
	ASSERT_EQ(stap_ulp(pin2), 0);
	ASSERT_EQ(set_targets(pin2, &self->pout, 1, 0), 0);
	vfd = bpf_program__fd(self->skel->progs.verdict_redirect);
	ASSERT_EQ(set_rx_progs(pin2, parse_fd(self->skel, PARSE_LEN), vfd), 0);
	/* Message: source ('0' or '1'), sequence number, filler */
	for (k = 0; k < 2; k++) {
		char *p = malloc(SRC_MSGS * 64);

		ASSERT_NE(p, NULL);
		for (i = 0; i < SRC_MSGS; i++) {
			char payload[60];
			size_t l = 8 + i % 50;

			memset(payload, 'a' + k, l);
			snprintf(payload, 7, "%c%05d", '0' + k, i);
			n[k] += stap_lp_msg(p + n[k], payload, l);
		}
		w[k] = (struct writer){ .fd = k ? cfd2 : self->cfd,
					.buf = p, .len = n[k] };
		ASSERT_EQ(pthread_create(&th[k], NULL, writer_run, &w[k]), 0);
	}
	for (i = 0; i < 2 * SRC_MSGS; i++) {
		ASSERT_EQ(stap_read_all(self->bfd, &len, 4), 0);
		len = ntohl(len);
		ASSERT_LE(len, 60);
		ASSERT_EQ(stap_read_all(self->bfd, got, len), 0);
		k = got[0] - '0';
		ASSERT_TRUE(k == 0 || k == 1);
		ASSERT_EQ(atoi(got + 1), seq[k]);
		ASSERT_EQ(len, 8 + seq[k] % 50);
		ASSERT_EQ(got[len - 1], 'a' + k);
		seq[k]++;
	}
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(pthread_join(th[k], NULL), 0);
		free((void *)w[k].buf);
	}
	close(cfd2);
	close(pin2);
}

/*
 * Both ways, as a splice proxy: pin redirects to pout and pout to pin,
 * each tapped both ways: a cycle of targets. Closing them in either
 * order leaks nothing (kmemleak runs on the debug kernel).
 */
TEST_F(rdr, both_ways_cycle)
{
	char a[4096], b[4096], got[4096];
	int vfd, pfd, i;
	size_t n;

	vfd = bpf_program__fd(self->skel->progs.verdict_redirect);
	pfd = parse_fd(self->skel, variant->parser);
	/* New pairs: STAP_PARAMS is set once, and each proxy socket is
	 * tapped both ways here
	 */
	close(self->pout);
	close(self->bfd);
	close(self->cfd);
	close(self->pin);
	ASSERT_EQ(stap_pair(variant->family, &self->pout, &self->bfd), 0);
	ASSERT_EQ(stap_pair(variant->family, &self->cfd, &self->pin), 0);
	ASSERT_EQ(tap_both(self->skel, self->pout, pfd, vfd), 0);
	ASSERT_EQ(tap_both(self->skel, self->pin, pfd, vfd), 0);
	ASSERT_EQ(set_targets(self->pin, &self->pout, 1, 0), 0);
	ASSERT_EQ(set_targets(self->pout, &self->pin, 1, 0), 0);

	for (i = 0; i < 20; i++) {
		n = one_msg(variant->parser, a, 100 + i * 50, i);
		memcpy(b, a, n);
		b[variant->parser == PARSE_LEN ? 5 : 1] = 'b';
		ASSERT_EQ(stap_write_all(self->cfd, a, n), 0);
		ASSERT_EQ(stap_read_all(self->bfd, got, n), 0);
		ASSERT_EQ(memcmp(got, a, n), 0);
		ASSERT_EQ(stap_write_all(self->bfd, b, n), 0);
		ASSERT_EQ(stap_read_all(self->cfd, got, n), 0);
		ASSERT_EQ(memcmp(got, b, n), 0);
	}
	/* Traffic in flight both ways while the proxy closes */
	ASSERT_EQ(stap_write_all(self->cfd, a, n), 0);
	ASSERT_EQ(stap_write_all(self->bfd, b, n), 0);
	if (variant->family == AF_INET) {
		close(self->pin);
		self->pin = -1;
	} else {
		close(self->pout);
		self->pout = -1;
	}
}

FIXTURE(txr)
{
	struct stap_test_bpf *skel;
	int src, peer;		/* the writer's socket and its peer */
	int tgt, sink;		/* the target and its peer */
};

FIXTURE_VARIANT(txr)
{
	int family;
	enum parser parser;
};

FIXTURE_VARIANT_ADD(txr, ipv4_len)
{
	.family = AF_INET,
	.parser = PARSE_LEN,
};

FIXTURE_VARIANT_ADD(txr, ipv6_len)
{
	.family = AF_INET6,
	.parser = PARSE_LEN,
};

FIXTURE_VARIANT_ADD(txr, ipv4_chunk)
{
	.family = AF_INET,
	.parser = PARSE_NONE,
};

FIXTURE_SETUP(txr)
{
	if (!stap_available())
		SKIP(return, "stap module not loaded");
	signal(SIGPIPE, SIG_IGN);
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
	ASSERT_EQ(stap_pair(variant->family, &self->src, &self->peer), 0);
	ASSERT_EQ(stap_pair(variant->family, &self->tgt, &self->sink), 0);
	self->skel->bss->verdict_off = variant->parser == PARSE_LEN ? 4 : 0;
	ASSERT_EQ(tap_target(self->skel, self->tgt), 0);
}

FIXTURE_TEARDOWN(txr)
{
	close_if(self->src);
	close_if(self->peer);
	close_if(self->tgt);
	close_if(self->sink);
	stap_test_bpf__destroy(self->skel);
}

/* Tap src's send side to redirect to tgt, a target with @flags */
static int tap_src(struct stap_test_bpf *skel, int src, int tgt,
		   enum parser p, __u32 flags)
{
	int vfd = bpf_program__fd(skel->progs.verdict_redirect);

	if (stap_tap_tx(src, parse_fd(skel, p), vfd))
		return -1;
	return set_targets(src, &tgt, 1, flags);
}

/* Every byte written on src arrives at the sink, in order */
TEST_F(txr, exact_bytes)
{
	char *buf = malloc(STREAM_SIZE), *got = malloc(STREAM_SIZE);
	struct writer w = { .fd = self->src };
	struct stap_stats st;
	unsigned long nmsgs;
	pthread_t th;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	ASSERT_EQ(tap_src(self->skel, self->src, self->tgt, variant->parser,
			  0), 0);
	w.buf = buf;
	w.len = random_stream(variant->parser, buf, STREAM_SIZE, 5, &nmsgs);
	ASSERT_EQ(pthread_create(&th, NULL, writer_run, &w), 0);
	ASSERT_EQ(stap_read_all(self->sink, got, w.len), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_EQ(w.err, 0);
	EXPECT_EQ(memcmp(got, buf, w.len), 0);
	ASSERT_EQ(stap_get_stats(self->src, &st), 0);
	EXPECT_EQ(st.tx_redirect_bytes, w.len);
	EXPECT_EQ(st.tx_pass_msgs, 0);
	EXPECT_EQ(st.redirect_errors, 0);
	if (variant->parser == PARSE_LEN)
		EXPECT_EQ(st.tx_redirect_msgs, nmsgs);
	EXPECT_EQ(stap_wait_acked(self->src), 0);
	EXPECT_EQ(stap_inq(self->peer), 0);
}

/* 'P' messages go to src's peer, 'D' nowhere, the others to the sink */
TEST_F(txr, mixed_verdicts)
{
	static const char tags[] = "rPrDrrPD";
	char buf[8 * 600], want_sink[8 * 600], want_peer[8 * 600];
	char got[8 * 600];
	size_t n, off = 0, ns = 0, np = 0;
	struct stap_stats st;
	int i;

	if (variant->parser != PARSE_LEN)
		SKIP(return, "tags need the length parser");
	ASSERT_EQ(tap_src(self->skel, self->src, self->tgt, variant->parser,
			  0), 0);
	for (i = 0; tags[i]; i++) {
		n = tagged(buf + off, tags[i], 100 + 50 * i, i);
		if (tags[i] == 'r')
			memcpy(want_sink + ns, buf + off, n), ns += n;
		else if (tags[i] == 'P')
			memcpy(want_peer + np, buf + off, n), np += n;
		off += n;
	}
	ASSERT_EQ(stap_write_all(self->src, buf, off), 0);
	ASSERT_EQ(stap_read_all(self->sink, got, ns), 0);
	EXPECT_EQ(memcmp(got, want_sink, ns), 0);
	ASSERT_EQ(stap_read_all(self->peer, got, np), 0);
	EXPECT_EQ(memcmp(got, want_peer, np), 0);
	EXPECT_EQ(stap_wait_acked(self->src), 0);
	EXPECT_EQ(stap_wait_acked(self->tgt), 0);
	EXPECT_EQ(stap_inq(self->peer), 0);
	EXPECT_EQ(stap_inq(self->sink), 0);
	ASSERT_EQ(stap_get_stats(self->src, &st), 0);
	EXPECT_EQ(st.tx_redirect_msgs, 4);
	EXPECT_EQ(st.tx_redirect_bytes, ns);
	EXPECT_EQ(st.tx_pass_msgs, 2);
	EXPECT_EQ(st.tx_drop_msgs, 2);
}

/*
 * The sink stops reading: the writer stops, with a bounded amount
 * written and held; when the sink reads again, every byte arrives.
 */
TEST_F(txr, flow_control)
{
	char *buf = malloc(FLOW_SIZE), *got = malloc(FLOW_SIZE);
	struct writer w = { .fd = self->src };
	unsigned long nmsgs;
	size_t at_rest;
	pthread_t th;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	ASSERT_EQ(stap_set_bufs(self->sink, 32768), 0);
	ASSERT_EQ(stap_set_bufs(self->tgt, 32768), 0);
	ASSERT_EQ(stap_set_bufs(self->src, 32768), 0);
	ASSERT_EQ(tap_src(self->skel, self->src, self->tgt, variant->parser,
			  0), 0);
	w.buf = buf;
	w.len = random_stream(variant->parser, buf, FLOW_SIZE, 6, &nmsgs);
	ASSERT_EQ(pthread_create(&th, NULL, writer_run, &w), 0);

	at_rest = wait_rest(&w);
	TH_LOG("at rest: %zu of %zu bytes written; src wmem %u, tgt wmem %u",
	       at_rest, w.len, meminfo(self->src, SK_MEMINFO_WMEM_QUEUED),
	       meminfo(self->tgt, SK_MEMINFO_WMEM_QUEUED));
	EXPECT_LT(at_rest, FLOW_BOUND);
	EXPECT_LE(meminfo(self->tgt, SK_MEMINFO_WMEM_QUEUED),
		  2 * meminfo(self->tgt, SK_MEMINFO_SNDBUF));
	EXPECT_LE(meminfo(self->src, SK_MEMINFO_FWD_ALLOC) +
		  meminfo(self->src, SK_MEMINFO_WMEM_QUEUED),
		  2 * meminfo(self->src, SK_MEMINFO_SNDBUF) + 65536);

	ASSERT_EQ(stap_read_all(self->sink, got, w.len), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_EQ(w.err, 0);
	ASSERT_EQ(memcmp(got, buf, w.len), 0);
	free(buf);
	free(got);
}

/* Write non-blocking until EAGAIN. Return: bytes written. */
static size_t fill_nonblock(int fd, const char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(fd, buf + off, len - off < 4096 ? len - off : 4096,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			break;
		off += n;
	}
	return off;
}

static bool pollout(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLOUT);
}

/*
 * Non-blocking: a target without room gives EAGAIN and no POLLOUT; once
 * the sink has read, POLLOUT comes back and nothing was lost.
 */
TEST_F(txr, nonblocking_poll)
{
	char *buf = malloc(FLOW_SIZE), *got = malloc(FLOW_SIZE);
	unsigned long nmsgs;
	size_t len, done, n;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	ASSERT_EQ(stap_set_bufs(self->sink, 32768), 0);
	ASSERT_EQ(stap_set_bufs(self->tgt, 32768), 0);
	ASSERT_EQ(tap_src(self->skel, self->src, self->tgt, variant->parser,
			  0), 0);
	len = random_stream(variant->parser, buf, FLOW_SIZE, 7, &nmsgs);
	/* Until TCP's buffers on the way are full too: no byte for 1 s */
	done = fill_nonblock(self->src, buf, len);
	for (;;) {
		poll(NULL, 0, 1000);
		n = fill_nonblock(self->src, buf + done, len - done);
		if (!n)
			break;
		done += n;
	}
	TH_LOG("%zu of %zu bytes taken", done, len);
	ASSERT_LT(done, FLOW_BOUND);
	/* The sink gets the messages framed */
	done = whole_msgs(variant->parser, buf, done);
	EXPECT_EQ(send(self->src, buf + done, len - done,
		       MSG_DONTWAIT | MSG_NOSIGNAL), -1);
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_FALSE(pollout(self->src, 0));
	ASSERT_EQ(stap_read_all(self->sink, got, done), 0);
	EXPECT_TRUE(pollout(self->src, STAP_WAIT_SECS * 1000));
	EXPECT_EQ(memcmp(got, buf, done), 0);
	free(buf);
	free(got);
}

/* A copy target: every message reaches src's peer and the sink */
TEST_F(txr, copy_exact_bytes)
{
	char *buf = malloc(STREAM_SIZE), *got = malloc(STREAM_SIZE);
	char *copy = malloc(STREAM_SIZE);
	struct stap_stats st;
	unsigned long nmsgs;
	size_t len;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	ASSERT_NE(copy, NULL);
	ASSERT_EQ(stap_set_bufs(self->tgt, 1 << 20), 0);
	ASSERT_EQ(tap_src(self->skel, self->src, self->tgt, variant->parser,
			  STAP_TARGET_COPY), 0);
	len = random_stream(variant->parser, buf, STREAM_SIZE, 10, &nmsgs);
	ASSERT_EQ(lockstep(variant->parser, self->src, buf, len, 32768,
			   self->peer, got, self->sink, copy), 0);
	EXPECT_EQ(memcmp(got, buf, len), 0);
	EXPECT_EQ(memcmp(copy, buf, len), 0);
	ASSERT_EQ(stap_get_stats(self->src, &st), 0);
	EXPECT_EQ(st.tx_pass_bytes, len);
	EXPECT_EQ(st.tx_redirect_bytes, len);
	EXPECT_EQ(st.tx_redirect_msgs, st.tx_pass_msgs);
	EXPECT_EQ(st.copies_lost, 0);
	if (variant->parser == PARSE_LEN)
		EXPECT_EQ(st.tx_pass_msgs, nmsgs);
}

/* @got is whole messages of @buf, in order, some left out */
static bool is_subsequence(const char *buf, size_t len, const char *got,
			   size_t glen)
{
	size_t off = 0, goff = 0, n, gn;
	const char *m, *g;

	while ((g = next_lp(got, glen, &goff, &gn))) {
		do {
			m = next_lp(buf, len, &off, &n);
		} while (m && (n != gn || memcmp(m, g, n)));
		if (!m)
			return false;
	}
	return goff == glen;
}

/*
 * A mirror that does not read loses copies, counted, and never slows the
 * connection: src's peer gets every byte while the sink reads nothing;
 * then the sink gets whole copies, in order.
 */
TEST_F(txr, copy_lost_never_slows)
{
	char *buf = malloc(STREAM_SIZE), *got = malloc(STREAM_SIZE);
	struct writer w = { .fd = self->src };
	struct stap_stats st;
	unsigned long nmsgs;
	pthread_t th;

	if (variant->parser != PARSE_LEN)
		SKIP(return, "whole copies need the length parser");
	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	ASSERT_EQ(stap_set_bufs(self->sink, 16384), 0);
	ASSERT_EQ(stap_set_bufs(self->tgt, 16384), 0);
	ASSERT_EQ(tap_src(self->skel, self->src, self->tgt, variant->parser,
			  STAP_TARGET_COPY), 0);
	w.buf = buf;
	w.len = random_stream(variant->parser, buf, STREAM_SIZE, 11, &nmsgs);
	ASSERT_EQ(pthread_create(&th, NULL, writer_run, &w), 0);
	ASSERT_EQ(stap_read_all(self->peer, got, w.len), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_EQ(w.err, 0);
	EXPECT_EQ(memcmp(got, buf, w.len), 0);

	ASSERT_EQ(stap_get_stats(self->src, &st), 0);
	TH_LOG("%llu of %lu copies lost", st.copies_lost, nmsgs);
	EXPECT_GT(st.copies_lost, 0);
	EXPECT_EQ(st.tx_redirect_msgs + st.copies_lost, nmsgs);
	EXPECT_EQ(st.tx_pass_msgs, nmsgs);
	EXPECT_EQ(st.redirect_errors, 0);
	ASSERT_LT(st.tx_redirect_bytes, w.len);
	ASSERT_EQ(stap_read_all(self->sink, got, st.tx_redirect_bytes), 0);
	EXPECT_TRUE(is_subsequence(buf, w.len, got, st.tx_redirect_bytes));
	EXPECT_EQ(stap_wait_acked(self->tgt), 0);
	EXPECT_EQ(stap_inq(self->sink), 0);
	free(buf);
	free(got);
}

/*
 * shutdown(SHUT_WR) and close() of src hand the messages held for the
 * target over, room or not: the sink gets every byte src took.
 */
static void held_at_end(struct __test_metadata *_metadata,
			struct _test_data_txr *self, enum parser p,
			bool do_close)
{
	char *buf = malloc(FLOW_SIZE), *got = malloc(FLOW_SIZE);
	unsigned long nmsgs;
	struct stap_stats st;
	size_t len, done, n;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(got, NULL);
	ASSERT_EQ(stap_set_bufs(self->sink, 32768), 0);
	ASSERT_EQ(stap_set_bufs(self->tgt, 32768), 0);
	ASSERT_EQ(tap_src(self->skel, self->src, self->tgt, p, 0), 0);
	len = random_stream(p, buf, FLOW_SIZE, 8, &nmsgs);
	done = fill_nonblock(self->src, buf, len);
	ASSERT_EQ(stap_wait_until((n = fill_nonblock(self->src, buf + done,
						     len - done),
				   done += n, n == 0 && errno == EAGAIN)), 0);
	/* The message cut by the end is dropped */
	done = whole_msgs(p, buf, done);
	ASSERT_EQ(stap_get_stats(self->src, &st), 0);
	if (do_close) {
		close(self->src);
		self->src = -1;
	} else {
		ASSERT_EQ(shutdown(self->src, SHUT_WR), 0);
	}
	ASSERT_EQ(stap_read_all(self->sink, got, done), 0);
	EXPECT_EQ(memcmp(got, buf, done), 0);
	/* The peer gets src's FIN */
	EXPECT_EQ(recv(self->peer, got, 1, 0), 0);
	free(buf);
	free(got);
}

TEST_F(txr, shutdown_sends_held)
{
	held_at_end(_metadata, self, variant->parser, false);
}

TEST_F(txr, close_sends_held)
{
	held_at_end(_metadata, self, variant->parser, true);
}

/*
 * The target closes while src's writer waits for it: the held messages
 * and those after fail, counted, and the writer goes on.
 */
TEST_F(txr, target_closed_writer_goes_on)
{
	char *buf = malloc(FLOW_SIZE);
	struct writer w = { .fd = self->src };
	struct stap_stats st;
	unsigned long nmsgs;
	pthread_t th;

	ASSERT_NE(buf, NULL);
	ASSERT_EQ(stap_set_bufs(self->sink, 32768), 0);
	ASSERT_EQ(stap_set_bufs(self->tgt, 32768), 0);
	ASSERT_EQ(tap_src(self->skel, self->src, self->tgt, variant->parser,
			  0), 0);
	w.buf = buf;
	w.len = random_stream(variant->parser, buf, FLOW_SIZE, 12, &nmsgs);
	ASSERT_EQ(pthread_create(&th, NULL, writer_run, &w), 0);
	wait_rest(&w);
	ASSERT_LT(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE), w.len);
	close(self->tgt);
	self->tgt = -1;
	ASSERT_EQ(pthread_join(th, NULL), 0);
	EXPECT_EQ(w.err, 0);
	EXPECT_EQ(w.done, w.len);
	ASSERT_EQ(stap_get_stats(self->src, &st), 0);
	EXPECT_GT(st.redirect_errors, 0);
	EXPECT_EQ(st.tx_drop_msgs, st.redirect_errors);
	EXPECT_EQ(st.tx_redirect_bytes + st.tx_drop_bytes, w.len);
	free(buf);
}

FIXTURE(rdr_err)
{
	struct stap_test_bpf *skel;
	int src, peer;		/* the source and its peer */
	int tgt, tpeer;		/* a target and its peer */
};

FIXTURE_SETUP(rdr_err)
{
	if (!stap_available())
		SKIP(return, "stap module not loaded");
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
	ASSERT_EQ(stap_pair(AF_INET, &self->peer, &self->src), 0);
	ASSERT_EQ(stap_pair(AF_INET, &self->tgt, &self->tpeer), 0);
	ASSERT_EQ(stap_ulp(self->src), 0);
}

FIXTURE_TEARDOWN(rdr_err)
{
	close(self->src);
	close(self->peer);
	close(self->tgt);
	close(self->tpeer);
	stap_test_bpf__destroy(self->skel);
}

static int targets_errno(int src, const struct stap_target *t, int len)
{
	return setsockopt(src, SOL_STAP, STAP_TARGETS, t, len) ? errno : 0;
}

TEST_F(rdr_err, bad_targets)
{
	struct stap_target t[STAP_MAX_TARGETS + 1] = {}, g[STAP_MAX_TARGETS];
	int udp, lfd, i, null = open("/dev/null", O_RDONLY);
	socklen_t len = sizeof(g);
	unsigned short port;

	t[0].fd = 9999;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), EBADF);
	t[0].fd = null;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), ENOTSOCK);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	t[0].fd = udp;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), EPROTOTYPE);
	/* Plain TCP, then stap without a send tap */
	t[0].fd = self->tgt;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), EOPNOTSUPP);
	ASSERT_EQ(stap_tap_rx(self->tgt, -1,
			      bpf_program__fd(self->skel->progs.verdict_pass)),
		  0);
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), EOPNOTSUPP);
	/* A listener with a send tap is not connected */
	lfd = stap_listen(AF_INET, &port);
	ASSERT_GE(lfd, 0);
	ASSERT_EQ(tap_target(self->skel, lfd), 0);
	t[0].fd = lfd;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), ENOTCONN);
	/* Bad entries and lengths */
	ASSERT_EQ(tap_target(self->skel, self->tpeer), 0);
	t[0].fd = self->tpeer;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), 0);
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0]) - 1), EINVAL);
	t[0].flags = 0x80;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), EINVAL);
	t[0].flags = STAP_TARGET_COPY | STAP_TARGET_DISCONNECT;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), 0);
	t[0].flags = 0;
	t[0].cookie = 1;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t[0])), EINVAL);
	t[0].cookie = 0;
	for (i = 0; i <= STAP_MAX_TARGETS; i++)
		t[i].fd = self->tpeer;
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t)), E2BIG);
	EXPECT_EQ(targets_errno(self->src, t, sizeof(t) - sizeof(t[0])), 0);
	/* A failed set keeps the targets there were */
	t[1].fd = udp;
	EXPECT_EQ(targets_errno(self->src, t, 2 * sizeof(t[0])), EPROTOTYPE);
	ASSERT_EQ(getsockopt(self->src, SOL_STAP, STAP_TARGETS, g, &len), 0);
	EXPECT_EQ(len, sizeof(g));
	/* Not on a listener: its children would not have them */
	close(lfd);
	lfd = stap_listen(AF_INET, &port);
	ASSERT_GE(lfd, 0);
	ASSERT_EQ(stap_ulp(lfd), 0);
	EXPECT_EQ(targets_errno(lfd, t, sizeof(t[0])), EINVAL);
	close(lfd);
	close(udp);
	close(null);
}

/* A target of another network namespace: EXDEV */
TEST_F(rdr_err, other_netns)
{
	int status, tfd = self->tpeer;
	pid_t pid;

	ASSERT_EQ(tap_target(self->skel, tfd), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct stap_target t = { .fd = tfd };
		int a, b;

		if (unshare(CLONE_NEWNET) || stap_lo_up() ||
		    stap_pair(AF_INET, &a, &b) || stap_ulp(b))
			_exit(100);
		_exit(targets_errno(b, &t, sizeof(t)));
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), EXDEV);
}

/* A send verdict cannot redirect: it is a bad verdict, dropped */
/* A send verdict naming a target that is not there: dropped, counted */
TEST_F(rdr_err, send_bad_index)
{
	char buf[16] = "0123456789abcdef";
	struct stap_stats st;
	int vfd;

	ASSERT_EQ(tap_target(self->skel, self->tpeer), 0);
	close(self->src);
	close(self->peer);
	ASSERT_EQ(stap_pair(AF_INET, &self->peer, &self->src), 0);
	vfd = bpf_program__fd(self->skel->progs.verdict_redirect);
	ASSERT_EQ(stap_tap_tx(self->src, -1, vfd), 0);
	ASSERT_EQ(set_targets(self->src, &self->tpeer, 1, 0), 0);
	self->skel->bss->redirect_idx = 1;
	ASSERT_EQ(send(self->src, buf, sizeof(buf), 0), sizeof(buf));
	ASSERT_EQ(stap_get_stats(self->src, &st), 0);
	EXPECT_EQ(st.bad_verdicts, 0);
	EXPECT_EQ(st.redirect_errors, 1);
	EXPECT_EQ(st.tx_drop_msgs, 1);
	EXPECT_EQ(st.tx_redirect_msgs, 0);
	EXPECT_EQ(stap_wait_acked(self->src), 0);
	EXPECT_EQ(stap_inq(self->peer), 0);
	EXPECT_EQ(stap_inq(self->tgt), 0);
	/* A verdict value past the index byte is a bad verdict */
	self->skel->bss->redirect_idx = 256;
	ASSERT_EQ(send(self->src, buf, sizeof(buf), 0), sizeof(buf));
	ASSERT_EQ(stap_get_stats(self->src, &st), 0);
	EXPECT_EQ(st.bad_verdicts, 1);
	EXPECT_EQ(st.tx_drop_msgs, 2);
}

#include "stap_main.h"
