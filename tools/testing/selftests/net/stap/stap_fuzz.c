// SPDX-License-Identifier: GPL-2.0
/*
 * stap syscall fuzzer: random sequences of socket calls on tapped sockets
 * from several threads, with random parser and verdict behaviour.
 *
 * Each thread's sequence of calls follows from the seed (the interleaving
 * of threads does not): STAP_FUZZ_SEEDS=1,2,3 (default) and
 * STAP_FUZZ_OPS calls per thread (default 2000). Results of the calls are
 * not checked; the test passes when the kernel survives without a splat
 * (vmtest checks the log), no call hangs, and every socket and program is
 * gone at the end. A seed that finds a bug becomes a test of its own.
 *
 * fuzz.faults runs seeds 4 and 5 (STAP_FUZZ_FAULT_SEEDS) with failslab
 * and fail_page_alloc on stap's allocations (stap_fault.h): the even
 * seed's faults reach softirq, bounded by a count; the odd seed's only
 * the fuzzer's own threads.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>

#include "stap_lib.h"
#include "stap_fault.h"
#include "stap_test_progs.h"
#include "../../kselftest_harness.h"

#define NSLOTS		6
#define NTHREADS	3
#define BUFSZ		(256 << 10)

struct slot {
	pthread_rwlock_t lock;
	int fd[2];
};

static struct stap_test_bpf *skel;
static struct slot slots[NSLOTS];
static unsigned long n_ops;

static void slot_open(struct slot *s, unsigned int *seed)
{
	struct timeval tv = { .tv_usec = 20000 };
	int i;

	if (stap_pair(rand_r(seed) % 2 ? AF_INET6 : AF_INET, &s->fd[0],
		      &s->fd[1])) {
		s->fd[0] = -1;
		s->fd[1] = -1;
		return;
	}
	for (i = 0; i < 2; i++) {
		setsockopt(s->fd[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(s->fd[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
}

static void slot_close(struct slot *s)
{
	close(s->fd[0]);
	close(s->fd[1]);
	s->fd[0] = -1;
	s->fd[1] = -1;
}

static int rand_prog(unsigned int *seed, bool parser)
{
	struct bpf_program *p[] = {
		skel->progs.parse_len, skel->progs.parse_seven,
		skel->progs.parse_const, skel->progs.verdict_byte,
		skel->progs.verdict_pass, skel->progs.verdict_const,
		skel->progs.verdict_inspect,
	};
	unsigned int r = rand_r(seed) % 10;

	if (r == 0)
		return -1;
	if (r == 1)
		return rand_r(seed) % 64 - 2;	/* some fd, or a bad one */
	return bpf_program__fd(parser ? p[rand_r(seed) % 3] :
				 p[3 + rand_r(seed) % 4]);
}

/* Parser and verdict behaviour, changed under attached programs */
static void rand_globals(unsigned int *seed)
{
	static const int parse[] = { 0, -1, -22, 1, 4, 7, 11, 4096, 65536,
				     1 << 22, 0x7fffffff, -0x7fffffff };
	static const int verdict[] = { 0, 1, 2, 3, 42, -1, 0x7fffffff };

	skel->bss->parse_ret = parse[rand_r(seed) % 12];
	skel->bss->verdict_ret = verdict[rand_r(seed) % 7];
	skel->bss->verdict_off = rand_r(seed) % 3 ? rand_r(seed) % 8 :
				 rand_r(seed);
}

static void op_stap_params(int fd, unsigned int *seed, char *buf)
{
	struct stap_params p = stap_params_of(rand_prog(seed, true),
					      rand_prog(seed, false),
					      rand_prog(seed, true),
					      rand_prog(seed, false));
	socklen_t len = sizeof(p);

	if (rand_r(seed) % 3 == 0)
		setsockopt(fd, SOL_TCP, TCP_ULP, "stap", 4);
	if (rand_r(seed) % 4 == 0) {
		len = rand_r(seed) % 80;
		memcpy(buf, &p, sizeof(p));
		buf[rand_r(seed) % 80] = rand_r(seed);
		setsockopt(fd, SOL_STAP, rand_r(seed) % 4, buf, len);
		return;
	}
	setsockopt(fd, SOL_STAP, STAP_PARAMS, &p, len);
}

static void op_getsockopt(int fd, unsigned int *seed, char *buf)
{
	static const int tcp[] = { TCP_INFO, TCP_ULP, TCP_ZEROCOPY_RECEIVE,
				   TCP_INQ, TCP_NODELAY, TCP_CORK };
	socklen_t len = rand_r(seed) % 300;

	if (rand_r(seed) % 2)
		getsockopt(fd, SOL_STAP, rand_r(seed) % 4, buf, &len);
	else
		getsockopt(fd, SOL_TCP, tcp[rand_r(seed) % 6], buf, &len);
}

static void op_setsockopt(int fd, unsigned int *seed)
{
	static const struct { int level, name; } o[] = {
		{ SOL_TCP, TCP_NODELAY }, { SOL_TCP, TCP_CORK },
		{ SOL_TCP, TCP_NOTSENT_LOWAT }, { SOL_TCP, TCP_QUICKACK },
		{ SOL_TCP, TCP_INQ }, { SOL_SOCKET, SO_RCVBUF },
		{ SOL_SOCKET, SO_SNDBUF }, { SOL_SOCKET, SO_RCVLOWAT },
		{ SOL_SOCKET, SO_KEEPALIVE }, { SOL_SOCKET, SO_PEEK_OFF },
	};
	int v = rand_r(seed) % 3 ? rand_r(seed) % 70000 : rand_r(seed);
	struct linger lg = { .l_onoff = rand_r(seed) % 2, .l_linger = 0 };

	if (rand_r(seed) % 10 == 0) {
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		return;
	}
	if (rand_r(seed) % 20 == 0) {
		setsockopt(fd, SOL_TCP, TCP_ULP, rand_r(seed) % 2 ? "tls" :
			   "stap", rand_r(seed) % 5);
		return;
	}
	setsockopt(fd, o[rand_r(seed) % 10].level, o[rand_r(seed) % 10].name,
		   &v, sizeof(v));
}

static int rand_flags(unsigned int *seed, bool send)
{
	static const int sf[] = { MSG_DONTWAIT, MSG_MORE, MSG_OOB, MSG_EOR,
				  MSG_ZEROCOPY, MSG_WAITALL, MSG_CONFIRM };
	static const int rf[] = { MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC,
				  MSG_WAITALL, MSG_OOB, MSG_ERRQUEUE };
	int f = MSG_NOSIGNAL, i;

	for (i = 0; i < 3; i++)
		if (rand_r(seed) % 3 == 0)
			f |= send ? sf[rand_r(seed) % 7] : rf[rand_r(seed) % 6];
	return send ? f : f & ~MSG_NOSIGNAL;
}

static size_t rand_size(unsigned int *seed)
{
	switch (rand_r(seed) % 4) {
	case 0:
		return rand_r(seed) % 16;
	case 1:
		return rand_r(seed) % 2048;
	case 2:
		return rand_r(seed) % 65536;
	}
	/* Rarely large: seven-byte framing makes each byte costly */
	return rand_r(seed) % (rand_r(seed) % 8 ? 65536 : BUFSZ);
}

static void op_io(int fd, unsigned int *seed, char *buf, int memfd,
		  int pipefd[2])
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	size_t n = rand_size(seed);
	off_t off;
	int v;

	switch (rand_r(seed) % 8) {
	case 0:
	case 1:
		buf[0] = "PDXUR"[rand_r(seed) % 5];
		send(fd, buf, n, rand_flags(seed, true));
		break;
	case 2:
	case 3:
		recv(fd, buf, n, rand_flags(seed, false));
		break;
	case 4:
		splice(fd, NULL, pipefd[1], NULL, n, SPLICE_F_NONBLOCK);
		splice(pipefd[0], NULL, fd, NULL, n, SPLICE_F_NONBLOCK);
		break;
	case 5:
		off = rand_r(seed) % 4096;
		sendfile(fd, memfd, &off, n);
		break;
	case 6:
		poll(&pfd, 1, rand_r(seed) % 5);
		break;
	case 7:
		ioctl(fd, rand_r(seed) % 2 ? FIONREAD : SIOCOUTQ, &v);
		break;
	}
	/* Keep the pipe from filling up */
	while (read(pipefd[0], buf, BUFSZ) > 0)
		;
}

static void fuzz_one(struct slot *s, unsigned int *seed, char *buf,
		     int memfd, int pipefd[2])
{
	int fd = s->fd[rand_r(seed) % 2];
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	if (fd < 0)
		return;
	switch (rand_r(seed) % 16) {
	case 0:
	case 1:
		op_stap_params(fd, seed, buf);
		break;
	case 2:
		op_getsockopt(fd, seed, buf);
		break;
	case 3:
		op_setsockopt(fd, seed);
		break;
	case 4:
		shutdown(fd, rand_r(seed) % 3);
		break;
	case 5:
		rand_globals(seed);
		break;
	case 6:
		if (rand_r(seed) % 8 == 0)
			connect(fd, &sa, sizeof(sa));
		break;
	default:
		op_io(fd, seed, buf, memfd, pipefd);
		break;
	}
}

struct worker {
	unsigned int seed;
	unsigned long ops;
};

static void *fuzz_thread(void *arg)
{
	struct worker *w = arg;
	unsigned int seed = w->seed;
	char *buf = calloc(1, BUFSZ);
	int memfd = memfd_create("stap_fuzz", 0), pipefd[2];
	struct slot *s;
	unsigned long i;

	if (ftruncate(memfd, 1 << 20) || pipe2(pipefd, O_NONBLOCK))
		return NULL;
	for (i = 0; i < w->ops; i++) {
		s = &slots[rand_r(&seed) % NSLOTS];
		if (rand_r(&seed) % 50 == 0) {
			/* Close and reopen, racing the other threads */
			pthread_rwlock_wrlock(&s->lock);
			slot_close(s);
			slot_open(s, &seed);
			pthread_rwlock_unlock(&s->lock);
			continue;
		}
		pthread_rwlock_rdlock(&s->lock);
		fuzz_one(s, &seed, buf, memfd, pipefd);
		pthread_rwlock_unlock(&s->lock);
		__atomic_add_fetch(&n_ops, 1, __ATOMIC_RELAXED);
	}
	close(pipefd[0]);
	close(pipefd[1]);
	close(memfd);
	free(buf);
	return NULL;
}

static void fuzz_seed(struct __test_metadata *_metadata, unsigned int seed,
		      unsigned long ops)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	unsigned int s = seed;
	int i;

	skel = stap_skel_open();
	ASSERT_NE(skel, NULL);
	rand_globals(&s);
	for (i = 0; i < NSLOTS; i++) {
		pthread_rwlock_init(&slots[i].lock, NULL);
		slot_open(&slots[i], &s);
	}
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .seed = seed * 101 + i, .ops = ops };
		pthread_create(&th[i], NULL, fuzz_thread, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NSLOTS; i++)
		slot_close(&slots[i]);
	stap_test_bpf__destroy(skel);
}

FIXTURE(fuzz)
{
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, seeds, 1500)
{
	const char *seeds = getenv("STAP_FUZZ_SEEDS") ?: "1,2,3";
	const char *ops = getenv("STAP_FUZZ_OPS");
	unsigned int progs0, i;
	char *list, *tok, *save;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	signal(SIGPIPE, SIG_IGN);
	progs0 = stap_count_progs();
	list = strdup(seeds);
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		TH_LOG("seed %s", tok);
		fuzz_seed(_metadata, strtoul(tok, NULL, 0),
			  ops ? strtoul(ops, NULL, 0) : 2000);
	}
	free(list);
	TH_LOG("%lu calls", n_ops);
	for (i = 0; i < 100 && stap_count_progs() != progs0; i++)
		usleep(100000);
	EXPECT_EQ(stap_count_progs(), progs0);
}

TEST_F_TIMEOUT(fuzz, faults, 1500)
{
	const char *seeds = getenv("STAP_FUZZ_FAULT_SEEDS") ?: "4,5";
	const char *ops = getenv("STAP_FUZZ_OPS");
	unsigned int progs0, seed, i;
	char *list, *tok, *save;
	bool tf;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	if (!stap_fault_available())
		SKIP(return, "no fault injection in this kernel");
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(stap_fault_lock_memory(), 0);
	progs0 = stap_count_progs();
	list = strdup(seeds);
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		seed = strtoul(tok, NULL, 0);
		tf = seed % 2;
		TH_LOG("seed %u, %s", seed,
		       tf ? "task-filtered" : "softirq too");
		ASSERT_EQ(stap_fault_arm_allocs(10, tf ? -1 : 300, tf), 0);
		fuzz_seed(_metadata, seed, ops ? strtoul(ops, NULL, 0) : 2000);
		stap_fault_disarm_all();
	}
	free(list);
	TH_LOG("%lu calls", n_ops);
	for (i = 0; i < 100 && stap_count_progs() != progs0; i++)
		usleep(100000);
	EXPECT_EQ(stap_count_progs(), progs0);
}

TEST_HARNESS_MAIN
