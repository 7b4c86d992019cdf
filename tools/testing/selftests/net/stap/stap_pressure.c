// SPDX-License-Identifier: GPL-2.0
/*
 * stap under memory pressure, with no fault injected: connections whose
 * readers start only once their writers are blocked, then read slowly.
 *
 * - tcp_mem: TCP's global limit (net.ipv4.tcp_mem) at a few hundred KiB,
 *   plain TCP first, then tapped. Each run must take place under TCP's
 *   memory pressure (entered during the run, or still held from the one
 *   before) and still deliver every byte in order, with no abort:
 *   pressure is not a failure, stap waits and makes progress as TCP
 *   does. (The global count lags by the per-CPU reserves, 1 MiB a CPU:
 *   the second run may start over the hard limit, where only TCP's
 *   forced charges move a connection.)
 * - memcg: 12 MiB through connections with fixed 128 KiB buffers, in a
 *   cgroup v2 memory cgroup of 8 MiB (memory.max), plain and tapped. The
 *   tapped run must stay within the limit with no OOM, its peak
 *   (memory.peak) within the plain run's plus what the taps may hold (a
 *   message or so each), and every socket charge must be given back.
 *
 * Both directions of both ends are tapped (the length parser and a pass
 * verdict), so a byte crosses four taps on its way.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#include "stap_lib.h"
#include "stap_test_progs.h"
#include "../../kselftest_harness.h"

#define NPAIRS		4
#define MSG_LEN		(16 << 10)	/* payload of one message */
#define TCP_MEM_MSGS	192		/* per connection: 3 MiB */
#define MEMCG_MSGS	192		/* per connection: 3 MiB */
#define MEMCG_BUF	(128 << 10)	/* SO_SNDBUF and SO_RCVBUF */
#define MEMCG_MAX	(8 << 20)	/* below the 12 MiB sent */
/* What the taps may hold beyond TCP: a message or so on each side */
#define MEMCG_SLACK	(NPAIRS * (256 << 10))
#define READ_LEN	1024		/* the slow reader's reads */
#define TCP_MEM		"/proc/sys/net/ipv4/tcp_mem"
#define CG_MNT		"/sys/fs/cgroup"
#define CG_LEN		64

struct conn {
	int cfd, sfd;
	pid_t writer;		/* its thread id, once it runs */
	bool written;		/* the writer is done */
	unsigned int seed;
	int nmsgs;
	int err;		/* 0, or what went wrong, as an errno */
	const char *where;	/* and where */
	size_t got;
};

static unsigned char pattern(unsigned int seed, size_t i)
{
	return (seed * 131 + i * 7 + i / 251) & 0xff;
}

/* The first failure of a connection, whichever thread saw it */
static void conn_fail(struct conn *c, int err, const char *where)
{
	int none = 0;

	if (__atomic_compare_exchange_n(&c->err, &none, err, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		c->where = where;
}

static void *writer(void *arg)
{
	char *msg = malloc(MSG_LEN + 4);
	struct conn *c = arg;
	size_t off = 0;
	int m, i;

	__atomic_store_n(&c->writer, stap_tid(), __ATOMIC_RELEASE);
	if (!msg) {
		conn_fail(c, ENOMEM, "malloc");
		return NULL;
	}
	for (m = 0; m < c->nmsgs; m++) {
		for (i = 0; i < MSG_LEN; i++)
			msg[4 + i] = pattern(c->seed, off + i);
		stap_lp_msg(msg, msg + 4, MSG_LEN);
		if (stap_write_all(c->cfd, msg, MSG_LEN + 4)) {
			conn_fail(c, errno, "send");
			break;
		}
		off += MSG_LEN;
	}
	free(msg);
	shutdown(c->cfd, SHUT_WR);
	__atomic_store_n(&c->written, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Byte @pos of the stream: 4-byte big-endian lengths, then the payload */
static unsigned char stream_byte(unsigned int seed, size_t pos)
{
	size_t m = pos / (MSG_LEN + 4), o = pos % (MSG_LEN + 4);

	if (o < 4)
		return (MSG_LEN >> (8 * (3 - o))) & 0xff;
	return pattern(seed, m * MSG_LEN + o - 4);
}

/* Whether the writer of @c sleeps in send() or is done */
static bool writer_waits(struct conn *c)
{
	pid_t w = __atomic_load_n(&c->writer, __ATOMIC_ACQUIRE);

	return __atomic_load_n(&c->written, __ATOMIC_ACQUIRE) ||
	       (w && stap_sleeps_in(w, SYS_sendto));
}

/* A late reader: it starts once its writer is blocked (every buffer on
 * the way is full) or done, then reads READ_LEN at a time to the end.
 */
static void *reader(void *arg)
{
	struct conn *c = arg;
	char buf[READ_LEN];
	struct pollfd pfd;
	ssize_t n, i;

	if (stap_wait_until(writer_waits(c))) {
		conn_fail(c, ETIMEDOUT, "waiting for the writer to block");
		return NULL;
	}
	pfd.fd = c->sfd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, STAP_WAIT_SECS * 1000) != 1) {
			conn_fail(c, ETIMEDOUT, "poll");
			return NULL;
		}
		n = recv(c->sfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++, c->got++)
			if ((unsigned char)buf[i] !=
			    stream_byte(c->seed, c->got)) {
				conn_fail(c, EBADMSG, "compare");
				return NULL;
			}
	}
	if (n < 0)
		conn_fail(c, errno, "recv");
	return NULL;
}

static int tap_both(struct stap_test_bpf *skel, int fd)
{
	int pfd = bpf_program__fd(skel->progs.parse_len);
	int vfd = bpf_program__fd(skel->progs.verdict_pass);
	struct stap_params p = stap_params_of(pfd, vfd, pfd, vfd);

	if (stap_ulp(fd))
		return -1;
	return setsockopt(fd, SOL_STAP, STAP_PARAMS, &p, sizeof(p));
}

/* NPAIRS connections at once, each to the end of its stream; with @skel
 * both ends are tapped both ways; @buf, when not 0, is each socket's
 * SO_SNDBUF and SO_RCVBUF. Every byte must arrive, in order.
 */
static void transfer(struct __test_metadata *_metadata,
		     struct stap_test_bpf *skel, int nmsgs, int buf)
{
	struct timeval tv = { .tv_sec = STAP_WAIT_SECS };
	long long aborts0 = stap_netns_stat("StapNoMemAborts");
	struct conn c[NPAIRS] = {};
	pthread_t th[2 * NPAIRS];
	struct stap_stats st;
	int i;

	for (i = 0; i < NPAIRS; i++) {
		c[i].seed = i + 1;
		c[i].nmsgs = nmsgs;
		ASSERT_EQ(stap_pair(AF_INET, &c[i].cfd, &c[i].sfd), 0);
		if (buf) {
			ASSERT_EQ(stap_set_bufs(c[i].cfd, buf), 0);
			ASSERT_EQ(stap_set_bufs(c[i].sfd, buf), 0);
		}
		if (skel) {
			ASSERT_EQ(tap_both(skel, c[i].cfd), 0);
			ASSERT_EQ(tap_both(skel, c[i].sfd), 0);
		}
		/* a writer stuck past the reader's waits fails, not hangs */
		ASSERT_EQ(setsockopt(c[i].cfd, SOL_SOCKET, SO_SNDTIMEO,
				     &tv, sizeof(tv)), 0);
	}
	for (i = 0; i < NPAIRS; i++) {
		ASSERT_EQ(pthread_create(&th[2 * i], NULL, writer, &c[i]), 0);
		ASSERT_EQ(pthread_create(&th[2 * i + 1], NULL, reader, &c[i]),
			  0);
	}
	for (i = 0; i < 2 * NPAIRS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NPAIRS; i++) {
		EXPECT_EQ(c[i].err, 0)
			TH_LOG("connection %d: %s in %s after %zu bytes", i,
			       strerror(c[i].err), c[i].where, c[i].got);
		EXPECT_EQ(c[i].got, (size_t)nmsgs * (MSG_LEN + 4));
		if (skel) {
			ASSERT_EQ(stap_get_stats(c[i].cfd, &st), 0);
			EXPECT_EQ(st.tx_pass_msgs, nmsgs);
			ASSERT_EQ(stap_get_stats(c[i].sfd, &st), 0);
			EXPECT_EQ(st.rx_pass_msgs, nmsgs);
			EXPECT_EQ(st.nomem_aborts, 0);
			EXPECT_EQ(st.parse_errors, 0);
		}
		close(c[i].cfd);
		close(c[i].sfd);
	}
	if (skel)
		EXPECT_EQ(stap_netns_stat("StapNoMemAborts"), aborts0);
}

/* Field @key of a cgroup's flat keyed file (memory.stat, memory.events) */
static long long cg_key(const char *dir, const char *file, const char *key)
{
	char path[256], k[64];
	long long v, ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (!strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

static long long cg_file(const char *dir, const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return stap_read_ll(path);
}

FIXTURE(pressure)
{
	struct stap_test_bpf *skel;
	char tcp_mem[128];
	char cg[CG_LEN];	/* the test's memory cgroup, while it exists */
};

FIXTURE_SETUP(pressure)
{
	FILE *f;

	if (!stap_available())
		SKIP(return, "stap module not loaded");
	signal(SIGPIPE, SIG_IGN);
	f = fopen(TCP_MEM, "re");
	ASSERT_NE(f, NULL);
	ASSERT_NE(fgets(self->tcp_mem, sizeof(self->tcp_mem), f), NULL);
	fclose(f);
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
}

/* Leave the cgroup and remove it; the harness forked this process */
static void cg_leave(const char *cg)
{
	stap_write_file(CG_MNT "/cgroup.procs", "0", 0);
	if (cg[0])
		rmdir(cg);
}

FIXTURE_TEARDOWN(pressure)
{
	if (self->tcp_mem[0])
		stap_write_file(TCP_MEM, self->tcp_mem, 0);
	cg_leave(self->cg);
	stap_test_bpf__destroy(self->skel);
}

/* Whether TCP is under memory pressure now: the "press" column of
 * /proc/net/protocols
 */
static bool tcp_under_pressure(void)
{
	char line[512], press[8];
	bool ret = false;
	FILE *f = fopen("/proc/net/protocols", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TCP %*d %*d %*d %7s", press) == 1) {
			ret = !strcmp(press, "yes");
			break;
		}
	fclose(f);
	return ret;
}

/* One transfer() under TCP's global limit: pressure above 64 pages, 128
 * at most (with 4 KiB pages, 512 KiB for all TCP sockets of the machine)
 */
static void tcp_mem_transfer(struct __test_metadata *_metadata,
			     const char *saved, struct stap_test_bpf *skel)
{
	long long pressures0 = stap_tcpext("TCPMemoryPressures");
	double t0 = stap_now();
	bool pressed;

	ASSERT_GE(pressures0, 0);
	ASSERT_EQ(stap_write_file(TCP_MEM, "32 64 128", 0), 0);
	pressed = tcp_under_pressure();
	transfer(_metadata, skel, TCP_MEM_MSGS, 0);
	TH_LOG("%s: %.1f s, %lld memory pressure events%s",
	       skel ? "tapped" : "plain", stap_now() - t0,
	       stap_tcpext("TCPMemoryPressures") - pressures0,
	       pressed ? ", under pressure from the start" : "");
	ASSERT_EQ(stap_write_file(TCP_MEM, saved, 0), 0);
	/* The limit was reached, or still held from the run before (TCP
	 * counts entries into pressure): else this tested nothing
	 */
	EXPECT_TRUE(pressed ||
		    stap_tcpext("TCPMemoryPressures") > pressures0);
}

/* Plain TCP first: the same transfer must pass untapped, else the
 * limit is what fails it
 */
TEST_F_TIMEOUT(pressure, tcp_mem, 300)
{
	tcp_mem_transfer(_metadata, self->tcp_mem, NULL);
	ASSERT_EQ(_metadata->exit_code, KSFT_PASS);
	tcp_mem_transfer(_metadata, self->tcp_mem, self->skel);
}

/* Whether cgroup v2's root at CG_MNT offers the memory controller */
static bool cg_has_memory(void)
{
	char buf[256], *tok, *save;
	FILE *f = fopen(CG_MNT "/cgroup.controllers", "re");
	bool found = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		for (tok = strtok_r(buf, "\n ", &save); tok && !found;
		     tok = strtok_r(NULL, "\n ", &save))
			found = !strcmp(tok, "memory");
	fclose(f);
	return found;
}

/* cgroup v2 at CG_MNT, with the memory controller for its children: in
 * a mount namespace of this test's own when the guest mounted none.
 * Return: 0, -1 with errno, or 1 when the kernel has no memory
 * controller (CONFIG_MEMCG).
 */
static int cg_root(void)
{
	struct statfs fs;

	if (statfs(CG_MNT, &fs) || fs.f_type != CGROUP2_SUPER_MAGIC) {
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("cgroup2", CG_MNT, "cgroup2", 0, NULL))
			return -1;
	}
	if (!cg_has_memory())
		return 1;
	return stap_write_file(CG_MNT "/cgroup.subtree_control", "+memory", 0);
}

/* Write @val to file @file of cgroup @dir */
static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return stap_write_file(path, val, 0);
}

/* One run of transfer() in a new memory cgroup @name, limited to
 * MEMCG_MAX: its peak in bytes, or -1
 */
static long long cg_transfer(struct __test_metadata *_metadata, char *cg,
			     const char *name, struct stap_test_bpf *skel)
{
	char max[16];
	long long peak;

	snprintf(cg, CG_LEN, CG_MNT "/%s", name);
	snprintf(max, sizeof(max), "%d", MEMCG_MAX);
	rmdir(cg);
	if (mkdir(cg, 0755) || cg_write(cg, "memory.max", max) ||
	    cg_write(cg, "cgroup.procs", "0"))
		return -1;
	transfer(_metadata, skel, MEMCG_MSGS, MEMCG_BUF);
	peak = cg_file(cg, "memory.peak");
	TH_LOG("%s: memory.peak %lld KiB (max %d KiB)", name, peak >> 10,
	       MEMCG_MAX >> 10);
	EXPECT_EQ(cg_key(cg, "memory.events", "oom"), 0);
	EXPECT_LE(peak, MEMCG_MAX);
	/* Every socket charge is given back once the sockets are closed */
	EXPECT_EQ(stap_wait_until(cg_key(cg, "memory.stat", "sock") == 0),
		  0)
		TH_LOG("%s: %lld bytes of socket memory left", name,
		       cg_key(cg, "memory.stat", "sock"));
	cg_leave(cg);
	cg[0] = '\0';
	return peak;
}

/* 12 MiB through four connections with 128 KiB buffers in an 8 MiB
 * cgroup: plain TCP holds what its buffers bound; tapped, the memory may
 * grow by what the taps hold (a message or so each), not by the stream.
 */
TEST_F_TIMEOUT(pressure, memcg, 300)
{
	int ret = cg_root();
	long long plain, tapped;

	if (ret > 0)
		SKIP(return, "no cgroup v2 memory controller (CONFIG_MEMCG)");
	ASSERT_EQ(ret, 0)
		TH_LOG("cgroup v2 at " CG_MNT ": %s", strerror(errno));
	plain = cg_transfer(_metadata, self->cg, "stap_pressure_plain", NULL);
	ASSERT_GT(plain, 0);
	tapped = cg_transfer(_metadata, self->cg, "stap_pressure_tapped",
			     self->skel);
	ASSERT_GT(tapped, 0);
	EXPECT_LE(tapped, plain + MEMCG_SLACK);
}

TEST_HARNESS_MAIN
