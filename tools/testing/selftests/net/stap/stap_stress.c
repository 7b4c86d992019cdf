// SPDX-License-Identifier: GPL-2.0
/*
 * stap stress test: many tapped connections at once, both directions,
 * random messages, verdicts, read and write sizes and calls, with threads
 * that shut connections down, attach taps to live sockets and churn
 * through short-lived ones.
 *
 * Every byte a reader gets must be the next byte of the passed messages of
 * its stream; a stream ends with EOF exactly after its last message unless
 * the connection was aborted (disconnect verdict or shutdown), in which
 * case what arrived must still be a prefix. The run is bounded by
 * STAP_STRESS_SECONDS (default 60) and ends clean: no BPF program or
 * socket left, and the module unloads once the sockets are gone.
 *
 * stress.faults runs the same under failslab and fail_page_alloc on
 * stap's allocations (stap_fault.h), STAP_STRESS_FAULT_SECONDS (default
 * 6) per setting. A stream may then also end early with ENOMEM, which
 * must be the errno of a direction stap aborted for want of memory
 * (StapNoMemAborts): what came before it is still checked byte for byte.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <bpf/bpf.h>

#include "stap_lib.h"
#include "stap_fault.h"
#include "stap_test_progs.h"
#include "../../kselftest_harness.h"

#define NSLOTS		8	/* connections at once, 4 threads each */
#define MAXMSG		(64 << 10)

static struct stap_test_bpf *skel;
static double deadline;
static atomic_ulong n_conns, n_msgs, n_bytes, n_pass, n_drop, n_abort;
static atomic_ulong n_churn, n_attach_live, n_errors;
static atomic_ulong n_nomem, n_tap_nomem;
static bool faults;		/* ENOMEM may end a stream */

#define FAILF(...) do {					\
	fprintf(stderr, "# stress: " __VA_ARGS__);		\
	atomic_fetch_add(&n_errors, 1);				\
} while (0)

/* The next message of a stream: 4-byte length, tag, payload. */
static size_t gen_msg(unsigned int *seed, char *buf, char *tag)
{
	unsigned int t = rand_r(seed) % 1000;
	size_t len;
	uint32_t be;

	len = rand_r(seed) % 20 ? 1 + rand_r(seed) % 1500 :
				  1 + rand_r(seed) % (MAXMSG - 4);
	*tag = t < 2 ? 'X' : t < 150 ? 'D' : 'P';
	be = htonl(len);
	memcpy(buf, &be, 4);
	memset(buf + 4, 'a' + rand_r(seed) % 26, len);
	buf[4] = *tag;
	return len + 4;
}

struct pair;

struct stream {
	struct pair *pair;
	int wfd, rfd;
	unsigned int seed;
	int nmsg;
};

struct pair {
	int fd[2];
	atomic_bool aborted;
	struct stream dir[2];
};

/* Under faults, a stream ended by ENOMEM ends its connection: both sides
 * shut down, so the other threads of the pair return at once.
 */
static bool nomem_ends(struct pair *pr, int err)
{
	if (!faults || err != ENOMEM)
		return false;
	atomic_fetch_add(&n_nomem, 1);
	atomic_store(&pr->aborted, true);
	shutdown(pr->fd[0], SHUT_RDWR);
	shutdown(pr->fd[1], SHUT_RDWR);
	return true;
}

static int send_chunk(int fd, const char *p, size_t n, unsigned int *seed,
		      int *memfd, int pipefd[2])
{
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov };
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t r;
	off_t off;

	switch (rand_r(seed) % 6) {
	case 0:
		if (n < 2)
			break;
		iov[0].iov_base = (void *)p;
		iov[0].iov_len = n / 2;
		iov[1].iov_base = (void *)(p + n / 2);
		iov[1].iov_len = n - n / 2;
		msg.msg_iovlen = 2;
		return sendmsg(fd, &msg, MSG_NOSIGNAL |
			       (rand_r(seed) % 2 ? MSG_MORE : 0));
	case 1:
		if (ftruncate(*memfd, 0) ||
		    pwrite(*memfd, p, n, 0) != (ssize_t)n)
			return -1;
		off = 0;
		return sendfile(fd, *memfd, &off, n);
	case 2:
		if (n > 4096)
			break;
		if (write(pipefd[1], p, n) != (ssize_t)n)
			return -1;
		r = splice(pipefd[0], NULL, fd, NULL, n, 0);
		if (r >= 0 && (size_t)r < n) {
			/* Put back nothing: drain the rest of the pipe */
			char tmp[4096];

			if (read(pipefd[0], tmp, n - r) < 0)
				return -1;
		}
		return r;
	case 3:
		r = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno == EAGAIN) {
			poll(&pfd, 1, 1000);
			return 0;
		}
		return r;
	}
	return send(fd, p, n, MSG_NOSIGNAL);
}

static void *writer(void *arg)
{
	struct stream *s = arg;
	unsigned int seed = s->seed, wseed = s->seed ^ 0x5eed;
	char *buf = malloc(MAXMSG + 8), tag;
	int memfd = memfd_create("stap_stress", 0), pipefd[2];
	size_t n, off, w;
	ssize_t r;
	int i;

	if (pipe(pipefd))
		return NULL;
	for (i = 0; i < s->nmsg; i++) {
		n = gen_msg(&seed, buf, &tag);
		if (tag == 'X')
			atomic_store(&s->pair->aborted, true);
		for (off = 0; off < n; off += r) {
			w = 1 + rand_r(&wseed) % (n - off);
			r = send_chunk(s->wfd, buf + off, w, &wseed, &memfd,
				       pipefd);
			if (r < 0) {
				if (!nomem_ends(s->pair, errno) &&
				    !atomic_load(&s->pair->aborted))
					FAILF("send: %s\n", strerror(errno));
				goto out;
			}
		}
		atomic_fetch_add(&n_msgs, 1);
		atomic_fetch_add(&n_bytes, n);
		if (tag == 'X')
			goto out;
	}
	shutdown(s->wfd, SHUT_WR);
out:
	close(pipefd[0]);
	close(pipefd[1]);
	close(memfd);
	free(buf);
	return NULL;
}

static ssize_t recv_some(int fd, char *p, size_t n, unsigned int *seed,
			 int pipefd[2])
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char peek[4096];
	ssize_t r, q;

	switch (rand_r(seed) % 5) {
	case 0:
		r = recv(fd, peek, n < sizeof(peek) ? n : sizeof(peek),
			 MSG_PEEK);
		if (r <= 0)
			return r;
		q = recv(fd, p, r, 0);
		if (q != r || memcmp(p, peek, r))
			FAILF("peek saw other bytes than the read\n");
		return q;
	case 1:
		poll(&pfd, 1, 2000);
		r = recv(fd, p, n, MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			return recv(fd, p, n, 0);
		return r;
	case 2:
		r = splice(fd, NULL, pipefd[1], NULL, n < 4096 ? n : 4096, 0);
		if (r <= 0)
			return r;
		return read(pipefd[0], p, r);
	}
	return recv(fd, p, n, 0);
}

static void *reader(void *arg)
{
	struct stream *s = arg;
	unsigned int seed = s->seed, rseed = s->seed ^ 0xbeef;
	char *want = malloc(MAXMSG + 8), *got = malloc(MAXMSG + 8), tag;
	size_t wlen = 0, wpos = 0;
	int i = 0, pipefd[2];
	bool end = false;
	ssize_t r;

	if (pipe(pipefd))
		return NULL;
	for (;;) {
		/* Next passed message, or the end of the stream */
		while (wpos == wlen && !end) {
			if (i++ == s->nmsg) {
				end = true;
				break;
			}
			wlen = gen_msg(&seed, want, &tag);
			wpos = 0;
			if (tag == 'X')
				end = true;
			if (tag != 'P')
				wlen = 0;
			else
				atomic_fetch_add(&n_pass, 1);
			if (tag == 'D')
				atomic_fetch_add(&n_drop, 1);
		}
		r = recv_some(s->rfd, got, end ? 1 : 1 + rand_r(&rseed) %
			      (wlen - wpos), &rseed, pipefd);
		if (r <= 0) {
			if (r == 0 && end && wpos == wlen)
				break;
			if (r < 0 && nomem_ends(s->pair, errno))
				break;
			if (!atomic_load(&s->pair->aborted))
				FAILF("read: %zd %s at message %d\n", r,
				      r ? strerror(errno) : "EOF", i);
			break;
		}
		if (end || (size_t)r > wlen - wpos ||
		    memcmp(got, want + wpos, r)) {
			FAILF("unexpected bytes at message %d\n", i);
			break;
		}
		wpos += r;
	}
	close(pipefd[0]);
	close(pipefd[1]);
	free(want);
	free(got);
	return NULL;
}

static int tap_both(int fd)
{
	int pfd = bpf_program__fd(skel->progs.parse_len);
	int vfd = bpf_program__fd(skel->progs.verdict_byte);
	struct stap_params p = stap_params_of(pfd, vfd, pfd, vfd);

	if (stap_ulp(fd))
		return -1;
	return setsockopt(fd, SOL_STAP, STAP_PARAMS, &p, sizeof(p));
}

/* One connection, both sides tapped both ways, to the end of its streams */
static void run_pair(unsigned int seed)
{
	struct timeval tv = { .tv_sec = 30 };
	pthread_t th[4];
	struct pair pr = {};
	int i;

	if (stap_pair(seed % 2 ? AF_INET6 : AF_INET, &pr.fd[0], &pr.fd[1])) {
		FAILF("pair: %s\n", strerror(errno));
		return;
	}
	for (i = 0; i < 2; i++) {
		if (tap_both(pr.fd[i])) {
			if (!faults || errno != ENOMEM)
				FAILF("tap: %s\n", strerror(errno));
			atomic_fetch_add(&n_tap_nomem, 1);
			close(pr.fd[0]);
			close(pr.fd[1]);
			return;
		}
		setsockopt(pr.fd[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(pr.fd[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		pr.dir[i] = (struct stream){ .pair = &pr, .wfd = pr.fd[i],
					     .rfd = pr.fd[!i],
					     .seed = seed * 2 + i,
					     .nmsg = 50 + seed % 300 };
	}
	atomic_fetch_add(&n_conns, 1);
	for (i = 0; i < 2; i++) {
		pthread_create(&th[2 * i], NULL, writer, &pr.dir[i]);
		pthread_create(&th[2 * i + 1], NULL, reader, &pr.dir[i]);
	}
	/* Sometimes shut a side down while the threads run, at a moment
	 * the seed picks: a random point of the run, not an ordering
	 */
	if (seed % 7 == 3) {
		usleep(1000 * (seed % 200));
		atomic_store(&pr.aborted, true);
		shutdown(pr.fd[seed % 2], SHUT_RDWR);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&pr.aborted))
		atomic_fetch_add(&n_abort, 1);
	close(pr.fd[0]);
	close(pr.fd[1]);
}

static void *slot(void *arg)
{
	unsigned int seed = (uintptr_t)arg * 1000;

	while (stap_now() < deadline)
		run_pair(seed++);
	return NULL;
}

/* Short-lived connections: taps attached while data flows, closes with
 * data unread and in flight, resets, listeners that pass taps on.
 */
static void churn_one(unsigned int *seed)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	static char buf[MAXMSG + 8];
	int cfd, sfd, i, n;

	if (stap_pair(rand_r(seed) % 2 ? AF_INET6 : AF_INET, &cfd, &sfd))
		return;
	n = rand_r(seed) % 8;
	for (i = 0; i < n; i++) {
		size_t len = gen_msg(seed, buf, &(char){0});

		send(cfd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (i == n / 2 && !tap_both(sfd))
			atomic_fetch_add(&n_attach_live, 1);
	}
	if (rand_r(seed) % 2)
		tap_both(cfd);
	send(sfd, buf, rand_r(seed) % 8192, MSG_DONTWAIT | MSG_NOSIGNAL);
	recv(sfd, buf, rand_r(seed) % 8192, MSG_DONTWAIT);
	if (rand_r(seed) % 3 == 0)
		setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (rand_r(seed) % 2) {
		close(cfd);
		close(sfd);
	} else {
		close(sfd);
		close(cfd);
	}
	atomic_fetch_add(&n_churn, 1);
}

static void churn_listener(unsigned int *seed)
{
	unsigned short port;
	int lfd, c[4], s, i;

	lfd = stap_listen(AF_INET, &port);
	if (lfd < 0 || tap_both(lfd))
		goto out;
	for (i = 0; i < 4; i++) {
		c[i] = stap_connect(AF_INET, port);
		if (c[i] >= 0)
			send(c[i], "\0\0\0\2Pa\0\0\0\1D", 11, MSG_NOSIGNAL);
	}
	/* Accept some; the others die unaccepted with the listener */
	for (i = 0; i < rand_r(seed) % 4; i++) {
		s = accept(lfd, NULL, NULL);
		if (s >= 0)
			close(s);
	}
	for (i = 0; i < 4; i++)
		if (c[i] >= 0)
			close(c[i]);
	atomic_fetch_add(&n_churn, 1);
out:
	if (lfd >= 0)
		close(lfd);
}

static void *churn(void *arg)
{
	unsigned int seed = 77;

	while (stap_now() < deadline) {
		if (rand_r(&seed) % 10)
			churn_one(&seed);
		else
			churn_listener(&seed);
	}
	return NULL;
}

static int tcp_inuse(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/net/sockstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TCP: inuse %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int delete_module(void)
{
	return syscall(SYS_delete_module, "stap", O_NONBLOCK);
}

FIXTURE(stress)
{
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
}

/* Run the slots and the churn until @seconds have passed */
static void stress_threads(double seconds)
{
	pthread_t th[NSLOTS + 1];
	unsigned int i;

	deadline = stap_now() + seconds;
	for (i = 0; i < NSLOTS; i++)
		pthread_create(&th[i], NULL, slot, (void *)(uintptr_t)(i + 1));
	pthread_create(&th[NSLOTS], NULL, churn, NULL);
	for (i = 0; i <= NSLOTS; i++)
		pthread_join(th[i], NULL);
}

static void stress_log(struct __test_metadata *_metadata, double t0)
{
	TH_LOG("%.0f s: %lu connections, %lu aborted", stap_now() - t0, n_conns,
	       n_abort);
	TH_LOG("%lu messages (%lu bytes) sent", n_msgs, n_bytes);
	TH_LOG("read: %lu passed, %lu dropped", n_pass, n_drop);
	TH_LOG("%lu short-lived connections, %lu taps on live sockets",
	       n_churn, n_attach_live);
}

/* Nothing left behind: programs, sockets */
static void stress_gone(struct __test_metadata *_metadata,
			unsigned int progs0, int inuse0)
{
	int i;

	for (i = 0; i < 100 && (stap_count_progs() != progs0 ||
				tcp_inuse() > inuse0); i++)
		usleep(100000);
	EXPECT_EQ(stap_count_progs(), progs0);
	EXPECT_LE(tcp_inuse(), inuse0);
}

TEST_F_TIMEOUT(stress, run, 1200)
{
	const char *secs = getenv("STAP_STRESS_SECONDS");
	const char *ko = getenv("STAP_KO");
	int inuse0, fd, cfd, sfd;
	unsigned int progs0, i;
	double t0;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	signal(SIGPIPE, SIG_IGN);
	progs0 = stap_count_progs();
	inuse0 = tcp_inuse();
	skel = stap_skel_open();
	ASSERT_NE(skel, NULL);
	skel->bss->verdict_off = 4;
	/* The module cannot go while sockets are tapped: for certain this
	 * one, tapped before the threads start
	 */
	ASSERT_EQ(stap_pair(AF_INET, &cfd, &sfd), 0);
	ASSERT_EQ(tap_both(sfd), 0);
	EXPECT_EQ(delete_module(), -1);
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	close(cfd);
	close(sfd);
	t0 = stap_now();
	stress_threads(secs ? atof(secs) : 60);
	stap_test_bpf__destroy(skel);

	stress_log(_metadata, t0);
	EXPECT_EQ(n_errors, 0);
	EXPECT_GT(n_conns, NSLOTS);
	stress_gone(_metadata, progs0, inuse0);
	if (!ko)
		return;
	for (i = 0; i < 100 && delete_module(); i++)
		usleep(100000);
	EXPECT_EQ(delete_module() && errno != ENOENT, 0);
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(syscall(SYS_finit_module, fd, "", 0), 0);
	close(fd);
}

/* How the faults of one round are made: the task-filtered rounds fail
 * process-context allocations of the test's own threads at a higher
 * rate; the others reach softirq (receive, clone), bounded by a count.
 */
static const struct {
	bool	task_filter;
	int	probability;
	long	times;
} fault_rounds[] = {
	{ true,  2, -1 },
	{ false, 1, 200 },
	{ true,  10, -1 },
};

TEST_F_TIMEOUT(stress, faults, 1200)
{
	const char *secs = getenv("STAP_STRESS_FAULT_SECONDS");
	long long aborts0, aborts;
	unsigned int progs0, i;
	int inuse0;
	double t0;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	if (!stap_fault_available())
		SKIP(return, "no fault injection in this kernel");
	signal(SIGPIPE, SIG_IGN);
	progs0 = stap_count_progs();
	inuse0 = tcp_inuse();
	aborts0 = stap_netns_stat("StapNoMemAborts");
	ASSERT_GE(aborts0, 0);
	skel = stap_skel_open();
	ASSERT_NE(skel, NULL);
	skel->bss->verdict_off = 4;
	ASSERT_EQ(stap_fault_lock_memory(), 0);
	faults = true;
	t0 = stap_now();
	for (i = 0; i < ARRAY_SIZE(fault_rounds); i++) {
		bool tf = fault_rounds[i].task_filter;
		int p = fault_rounds[i].probability;
		long n = fault_rounds[i].times;

		/* make-it-fail: inherited by the threads started now */
		ASSERT_EQ(stap_fault_arm_allocs(p, n, tf), 0);
		stress_threads(secs ? atof(secs) : 6);
		stap_fault_disarm_all();
		if (n > 0)
			TH_LOG("round %u: slab %lld, page %lld of %ld left",
			       i, stap_fault_left("failslab"),
			       stap_fault_left("fail_page_alloc"), n);
	}
	stap_test_bpf__destroy(skel);

	aborts = stap_netns_stat("StapNoMemAborts") - aborts0;
	stress_log(_metadata, t0);
	TH_LOG("ENOMEM: %lu streams ended, %lld directions aborted",
	       n_nomem, aborts);
	TH_LOG("ENOMEM: %lu taps refused", n_tap_nomem);
	EXPECT_EQ(n_errors, 0);
	EXPECT_GT(n_conns, NSLOTS);
	/* Every ENOMEM the applications saw is one stap counted */
	EXPECT_LE(n_nomem, aborts);
	stress_gone(_metadata, progs0, inuse0);
}

TEST_HARNESS_MAIN
