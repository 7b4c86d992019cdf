// SPDX-License-Identifier: GPL-2.0
/*
 * stap_bench: stap side by side with plain TCP, sockmap and a userspace
 * relay doing the same work, on loopback, in one run.
 *
 * Configurations (every socket of a pair is tapped both ways where the
 * configuration taps at all; -e taps one end only):
 *   tcp        plain TCP, the limit
 *   stap-pass  stap, pass-all verdicts, no parser
 *   stap-deny  stap, length-prefix parser and a deny-list (LPM trie)
 *              verdict, the realistic case
 *   sockmap    the same verdict as an sk_skb program of a sockmap
 *              without a parser (one verdict per skb: sockmap's strparser
 *              mode stalls and can hit a kernel BUG on the kernels tested,
 *              see sockmap-strp), and an sk_msg verdict framing with
 *              apply_bytes
 *   sockmap-strp  the same with the length-prefix parser as its stream
 *              parser: only with -c, it can crash the kernel
 *   relay      a userspace epoll relay between client and server that
 *              frames and checks the same deny-list
 *   stap-redirect  the relay's work in the kernel: a proxy thread taps
 *              both of its sockets with the parser and the deny-list
 *              verdict redirecting to the other socket, then only waits
 *
 * Workloads: one-way throughput (one message per send(), for each size),
 * the same for TLS-sized records through 4 KiB socket buffers (the
 * window closes for every record), request/response round trips, and N
 * concurrent connections (aggregate throughput and kernel memory). Each
 * repetition runs every workload in every configuration, configurations
 * in a shuffled order, so that drift hits all alike. Output: one
 * tab-separated line per measurement (scripts/bench_report.py makes the
 * tables and plot).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stap_lib.h"
#include "stap_tcpinfo.h"
#include "stap_bench.skel.h"

enum cfg { CFG_TCP, CFG_STAP_PASS, CFG_STAP_DENY, CFG_SOCKMAP, CFG_RELAY,
	   CFG_STAP_RDR, CFG_SOCKMAP_STRP, CFG_MAX };

static const char * const cfg_names[CFG_MAX] = {
	"tcp", "stap-pass", "stap-deny", "sockmap", "relay", "stap-redirect",
	"sockmap-strp",
};

#define DENY_ENTRIES	16
#define KEY_LEN		32
#define BUF_LEN		(128 * 1024)
#define MAX_CONNS	1000
#define STALL_SECS	5	/* no progress for this long: stalled */

static struct stap_bench_bpf *skel;
static int listen_fd, relay_fd, small_fd, rdr_fd;
static unsigned short listen_port, relay_port, small_port, rdr_port;
static double duration = 1.0;
static __u8 deny[DENY_ENTRIES][KEY_LEN];

static void die(const char *what)
{
	fprintf(stderr, "stap_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Busy CPU time of the whole machine, in seconds (/proc/stat) */
static double cpu_busy(void)
{
	unsigned long long v[8] = {};
	FILE *f = fopen("/proc/stat", "r");

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			 &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			 &v[7]) != 8)
		die("/proc/stat");
	fclose(f);
	/* user nice system [idle iowait] irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	       sysconf(_SC_CLK_TCK);
}

/* Kernel memory that sockets and taps take: slab and per-cpu, bytes */
static long long kmem(void)
{
	long long slab = 0, percpu = 0, v;
	char name[64];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fscanf(f, "%63s %lld kB\n", name, &v) == 2) {
		if (!strcmp(name, "Slab:"))
			slab = v;
		else if (!strcmp(name, "Percpu:"))
			percpu = v;
	}
	fclose(f);
	return (slab + percpu) * 1024;
}

/* The relay: both directions of every client<->server pair, framed */
struct relay_dir {
	int src, dst;
	bool eof;
	struct relay_dir *peer;
	size_t len;
	__u8 buf[BUF_LEN];
};

static int relay_ep;

static bool relay_denied(const __u8 *frame)
{
	int i;

	for (i = 0; i < DENY_ENTRIES; i++)
		if (!memcmp(frame, deny[i], KEY_LEN))
			return true;
	return false;
}

static int send_all(int fd, const void *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Forward the complete, allowed frames; one write per run of them */
static void relay_frames(struct relay_dir *d)
{
	size_t off = 0, run = 0, flen;
	__u32 hdr;

	while (d->len - off >= 4) {
		memcpy(&hdr, d->buf + off, 4);
		flen = ntohl(hdr) + 4;
		if (flen > BUF_LEN || d->len - off < flen)
			break;
		if (flen >= KEY_LEN && relay_denied(d->buf + off)) {
			send_all(d->dst, d->buf + run, off - run);
			run = off + flen;
		}
		off += flen;
	}
	send_all(d->dst, d->buf + run, off - run);
	memmove(d->buf, d->buf + off, d->len - off);
	d->len -= off;
}

static void relay_read(struct relay_dir *d)
{
	ssize_t n = recv(d->src, d->buf + d->len, BUF_LEN - d->len,
			 MSG_DONTWAIT);

	if (n > 0) {
		d->len += n;
		relay_frames(d);
	} else if (n == 0 || errno != EAGAIN) {
		shutdown(d->dst, SHUT_WR);
		epoll_ctl(relay_ep, EPOLL_CTL_DEL, d->src, NULL);
		d->eof = true;
		if (d->peer->eof) {
			close(d->src);
			close(d->dst);
			free(d->peer);
			free(d);
		}
	}
}

static bool pin = true;

/* Runs repeat only when the scheduler cannot move the two sides around:
 * the sender (the main thread, and the softirq work its loopback sends
 * raise) on CPU 0, the thread at the other end on CPU 1.
 */
static void pin_self(int cpu)
{
	if (pin && stap_pin_cpu(cpu))
		die("sched_setaffinity");
}

static void *relay_thread(void *arg)
{
	struct epoll_event ev[64], add = { .events = EPOLLIN };
	struct relay_dir *a, *b;
	int i, n, cfd, sfd;

	pin_self(1);
	for (;;) {
		n = epoll_wait(relay_ep, ev, 64, -1);
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr) {
				relay_read(ev[i].data.ptr);
				continue;
			}
			/* A new client: connect it to the server */
			cfd = accept(relay_fd, NULL, NULL);
			sfd = stap_connect(AF_INET, listen_port);
			if (cfd < 0 || sfd < 0)
				die("relay accept/connect");
			a = calloc(1, sizeof(*a));
			b = calloc(1, sizeof(*b));
			if (!a || !b)
				die("relay buffers");
			*a = (struct relay_dir){ .src = cfd, .dst = sfd,
						 .peer = b };
			*b = (struct relay_dir){ .src = sfd, .dst = cfd,
						 .peer = a };
			add.data.ptr = a;
			epoll_ctl(relay_ep, EPOLL_CTL_ADD, cfd, &add);
			add.data.ptr = b;
			epoll_ctl(relay_ep, EPOLL_CTL_ADD, sfd, &add);
		}
	}
	return NULL;
}

static void relay_start(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	pthread_t t;

	relay_fd = stap_listen(AF_INET, &relay_port);
	relay_ep = epoll_create1(0);
	if (relay_fd < 0 || relay_ep < 0 ||
	    epoll_ctl(relay_ep, EPOLL_CTL_ADD, relay_fd, &ev) ||
	    pthread_create(&t, NULL, relay_thread, NULL))
		die("relay");
}

/* stap-redirect: a client and its server connection, each redirecting
 * to the other once tapped; the proxy thread passes FINs on
 */
struct rdr_pair {
	int fd[2];
	bool fin[2];
};

static int rdr_ep;

static int rdr_target(int fd, int target)
{
	struct stap_target t = { .fd = target };

	return setsockopt(fd, SOL_STAP, STAP_TARGETS, &t, sizeof(t));
}

/* ULP and targets on both, then the programs: nothing is framed before
 * it can go to the other socket
 */
static void rdr_tap(int a, int b)
{
	struct stap_params p;

	p = stap_params_of(-1, bpf_program__fd(skel->progs.bench_pass),
			   bpf_program__fd(skel->progs.bench_parse),
			   bpf_program__fd(skel->progs.bench_redirect));
	if (stap_ulp(a) || stap_ulp(b) || rdr_target(a, b) ||
	    rdr_target(b, a) ||
	    setsockopt(a, SOL_STAP, STAP_PARAMS, &p, sizeof(p)) ||
	    setsockopt(b, SOL_STAP, STAP_PARAMS, &p, sizeof(p)))
		die("stap-redirect tap");
}

/* Every byte before the FIN judged and sent on (the FIN counts one in
 * tcpi_bytes_received)
 */
static bool rdr_judged(int fd)
{
	long long rcvd = stap_bytes_received(fd);
	struct stap_stats st;

	if (stap_get_stats(fd, &st) || rcvd < 0)
		return true;
	return st.rx_redirect_bytes + st.rx_drop_bytes + 1 >= rcvd;
}

/* A FIN on side @i of @rp: passed on; both, and the pair is done */
static void rdr_fin(struct rdr_pair *rp, int i)
{
	epoll_ctl(rdr_ep, EPOLL_CTL_DEL, rp->fd[i], NULL);
	rp->fin[i] = true;
	while (!rdr_judged(rp->fd[i]))
		poll(NULL, 0, 1);
	shutdown(rp->fd[!i], SHUT_WR);
	if (!rp->fin[!i])
		return;
	close(rp->fd[0]);
	close(rp->fd[1]);
	free(rp);
}

static void *rdr_thread(void *arg)
{
	struct epoll_event ev[64], add = { .events = EPOLLRDHUP };
	struct rdr_pair *rp;
	int i, n;

	pin_self(1);
	for (;;) {
		n = epoll_wait(rdr_ep, ev, 64, -1);
		for (i = 0; i < n; i++) {
			if (ev[i].data.u64) {
				rp = (void *)(ev[i].data.u64 & ~1ULL);
				rdr_fin(rp, ev[i].data.u64 & 1);
				continue;
			}
			rp = calloc(1, sizeof(*rp));
			if (!rp)
				die("stap-redirect pair");
			rp->fd[0] = accept(rdr_fd, NULL, NULL);
			rp->fd[1] = stap_connect(AF_INET, listen_port);
			if (rp->fd[0] < 0 || rp->fd[1] < 0)
				die("stap-redirect accept/connect");
			rdr_tap(rp->fd[0], rp->fd[1]);
			add.data.u64 = (unsigned long)rp;
			epoll_ctl(rdr_ep, EPOLL_CTL_ADD, rp->fd[0], &add);
			add.data.u64 = (unsigned long)rp | 1;
			epoll_ctl(rdr_ep, EPOLL_CTL_ADD, rp->fd[1], &add);
		}
	}
	return NULL;
}

static void rdr_start(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	pthread_t t;

	rdr_fd = stap_listen(AF_INET, &rdr_port);
	rdr_ep = epoll_create1(0);
	if (rdr_fd < 0 || rdr_ep < 0 ||
	    epoll_ctl(rdr_ep, EPOLL_CTL_ADD, rdr_fd, &ev) ||
	    pthread_create(&t, NULL, rdr_thread, NULL))
		die("stap-redirect");
}

/* The ends of a pair the stap configurations tap (-e) */
enum { TAP_CLIENT = 1, TAP_SERVER = 2, TAP_BOTH = 3 };
static const char * const tap_end_names[] = {
	[TAP_CLIENT] = "client", [TAP_SERVER] = "server", [TAP_BOTH] = "both",
};

static int tap_ends = TAP_BOTH;

static int tap_ends_of(const char *name)
{
	int i;

	for (i = TAP_CLIENT; i <= TAP_BOTH; i++)
		if (!strcmp(name, tap_end_names[i]))
			return i;
	return 0;
}

static void tap(int fd, enum cfg c)
{
	int parse = -1, verdict;
	struct stap_params p;

	if (c == CFG_STAP_DENY) {
		parse = bpf_program__fd(skel->progs.bench_parse);
		verdict = bpf_program__fd(skel->progs.bench_verdict);
	} else {
		verdict = bpf_program__fd(skel->progs.bench_pass);
	}
	p = stap_params_of(parse, verdict, parse, verdict);
	if (stap_ulp(fd) || setsockopt(fd, SOL_STAP, STAP_PARAMS, &p,
				       sizeof(p)))
		die("tap");
}

static void sockmap_add(int fd, bool strp)
{
	static __u32 key;
	__u64 val = fd;
	int map = bpf_map__fd(strp ? skel->maps.bench_sockmap_strp :
				     skel->maps.bench_sockmap);

	if (bpf_map_update_elem(map, &key, &val, BPF_ANY))
		die("sockmap add");
	key = (key + 1) % 4096;
}

/* A client of @port whose buffers are @sockbuf bytes (0: the defaults)
 * before it connects, so that the handshake's window scale fits them
 */
static int connect_bufs(unsigned short port, int sockbuf)
{
	struct sockaddr_storage ss;
	socklen_t len = stap_loopback(AF_INET, &ss, port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || (sockbuf && stap_set_bufs(fd, sockbuf)) ||
	    connect(fd, (struct sockaddr *)&ss, len))
		die("connect");
	return fd;
}

/* A connected pair for @c: the client's and the server's end. With
 * @sockbuf, both ends have buffers of that size from the start: the
 * accepted end inherits them from small_fd.
 */
static void pair_bufs(enum cfg c, int sockbuf, int *cfd, int *sfd)
{
	struct timeval stall = { .tv_sec = STALL_SECS };
	int one = 1, lfd = sockbuf ? small_fd : listen_fd;

	if (sockbuf && stap_set_bufs(small_fd, sockbuf))
		die("SO_RCVBUF/SO_SNDBUF");
	*cfd = connect_bufs(c == CFG_RELAY ? relay_port :
			    c == CFG_STAP_RDR ? rdr_port :
			    sockbuf ? small_port : listen_port, sockbuf);
	*sfd = accept(lfd, NULL, NULL);
	if (*sfd < 0)
		die("accept");
	setsockopt(*cfd, SOL_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*sfd, SOL_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A configuration that stalls ends its measurement, not the run */
	setsockopt(*cfd, SOL_SOCKET, SO_SNDTIMEO, &stall, sizeof(stall));
	setsockopt(*sfd, SOL_SOCKET, SO_SNDTIMEO, &stall, sizeof(stall));
	setsockopt(*cfd, SOL_SOCKET, SO_RCVTIMEO, &stall, sizeof(stall));
	setsockopt(*sfd, SOL_SOCKET, SO_RCVTIMEO, &stall, sizeof(stall));
	if (c == CFG_STAP_PASS || c == CFG_STAP_DENY) {
		if (tap_ends & TAP_CLIENT)
			tap(*cfd, c);
		if (tap_ends & TAP_SERVER)
			tap(*sfd, c);
	} else if (c == CFG_SOCKMAP || c == CFG_SOCKMAP_STRP) {
		sockmap_add(*cfd, c == CFG_SOCKMAP_STRP);
		sockmap_add(*sfd, c == CFG_SOCKMAP_STRP);
	}
}

static void pair(enum cfg c, int *cfd, int *sfd)
{
	pair_bufs(c, 0, cfd, sfd);
}

/* Close without TIME_WAIT: the next measurement's memory stays clean */
static void close_now(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* A message of @size bytes: the length prefix and a payload no deny-list
 * entry matches
 */
static void frame(__u8 *buf, size_t size)
{
	__u32 hdr = htonl(size - 4);

	memset(buf, 'x', size);
	memcpy(buf, &hdr, 4);
}

struct sink {
	int fd;
	long long bytes;
	double end;
	bool stalled;
};

static void *sink_thread(void *arg)
{
	static __thread __u8 buf[BUF_LEN];
	struct sink *s = arg;
	ssize_t n;

	pin_self(1);
	while ((n = recv(s->fd, buf, sizeof(buf), 0)) > 0)
		s->bytes += n;
	s->stalled = n < 0;
	s->end = stap_now();
	return NULL;
}

/* One-way throughput of @size-byte messages; @sockbuf, when not 0, is
 * SO_RCVBUF and SO_SNDBUF of both ends. One line of @kind and @param.
 */
static void tput(enum cfg c, size_t size, int sockbuf, const char *kind,
		 long long param, int rep)
{
	struct sink s = {};
	bool stalled = false;
	double start, cpu;
	pthread_t t;
	__u8 *msg = malloc(size);
	int cfd;

	frame(msg, size);
	pair_bufs(c, sockbuf, &cfd, &s.fd);
	pthread_create(&t, NULL, sink_thread, &s);
	cpu = cpu_busy();
	start = stap_now();
	while (stap_now() - start < duration && !stalled)
		stalled = send_all(cfd, msg, size);
	shutdown(cfd, SHUT_WR);
	pthread_join(t, NULL);
	cpu = cpu_busy() - cpu;
	if (stalled || s.stalled) {
		printf("%s\t%s\t%lld\t%d\tstalled\n", kind, cfg_names[c],
		       param, rep);
		goto out;
	}
	printf("%s\t%s\t%lld\t%d\t%.0f\t%.3f\t%.2f\n", kind, cfg_names[c],
	       param, rep, s.bytes / size / (s.end - start),
	       s.bytes / (s.end - start) / 1e6,
	       cpu * 1e6 / (s.bytes / size));
out:
	close_now(cfd);
	close_now(s.fd);
	free(msg);
}

static void run_tput(enum cfg c, size_t size, int rep)
{
	tput(c, size, 0, "tput", size, rep);
}

/* TLS records (a 4-byte length, 16 KiB of plaintext, 5 bytes of header
 * and 16 of tag) through socket buffers of @sockbuf bytes: the window
 * closes and reopens for every record.
 */
static void run_small(enum cfg c, int sockbuf, int rep)
{
	/* The relay's own sockets would not have them */
	if (c == CFG_RELAY || c == CFG_STAP_RDR)
		return;
	tput(c, 4 + 16384 + 5 + 16, sockbuf, "small", sockbuf, rep);
}

static int recv_all(int fd, void *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = recv(fd, buf, len, 0);
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

struct echo {
	int fd;
	size_t size;
};

static void *echo_thread(void *arg)
{
	struct echo *e = arg;
	__u8 *buf = malloc(e->size);

	pin_self(1);
	while (!recv_all(e->fd, buf, e->size))
		send_all(e->fd, buf, e->size);
	free(buf);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void run_rr(enum cfg c, size_t size, int rep)
{
	size_t n = 0, cap = 1 << 20;
	double *rtt = malloc(cap * sizeof(*rtt)), start, t0;
	__u8 *msg = malloc(size), *back = malloc(size);
	struct echo e = { .size = size };
	pthread_t t;
	int cfd;

	frame(msg, size);
	pair(c, &cfd, &e.fd);
	pthread_create(&t, NULL, echo_thread, &e);
	start = stap_now();
	while ((t0 = stap_now()) - start < duration && n < cap) {
		if (send_all(cfd, msg, size) || recv_all(cfd, back, size))
			break;
		rtt[n++] = stap_now() - t0;
	}
	shutdown(cfd, SHUT_WR);
	pthread_join(t, NULL);
	if (stap_now() - start < duration || !n) {
		printf("rr\t%s\t%zu\t%d\tstalled\n", cfg_names[c], size, rep);
		goto out;
	}
	qsort(rtt, n, sizeof(*rtt), cmp_double);
	printf("rr\t%s\t%zu\t%d\t%.1f\t%.1f\n", cfg_names[c], size, rep,
	       rtt[n / 2] * 1e6, rtt[n * 99 / 100] * 1e6);
out:
	close_now(cfd);
	close_now(e.fd);
	free(rtt);
	free(msg);
	free(back);
}

/* N connections: one writer over all client ends (non-blocking, round
 * robin), one reader over all server ends (epoll)
 */
struct scale {
	int n, *sfd, open;
	bool stalled;
	long long bytes;
	double end;
};

static void *scale_sink(void *arg)
{
	static __thread __u8 buf[BUF_LEN];
	struct scale *s = arg;
	struct epoll_event ev[64], add = { .events = EPOLLIN };
	int ep = epoll_create1(0), i, k;
	double last;
	ssize_t r;

	pin_self(1);
	for (i = 0; i < s->n; i++) {
		add.data.fd = s->sfd[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, s->sfd[i], &add);
	}
	last = stap_now();
	while (s->open && stap_now() - last < STALL_SECS) {
		k = epoll_wait(ep, ev, 64, 1000);
		if (k > 0)
			last = stap_now();
		for (i = 0; i < k; i++) {
			r = recv(ev[i].data.fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0) {
				s->bytes += r;
			} else if (r == 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, ev[i].data.fd,
					  NULL);
				s->open--;
			}
		}
	}
	s->stalled = s->open;
	s->end = stap_now();
	close(ep);
	return NULL;
}

static void run_scale(enum cfg c, int n, int rep)
{
	static int cfd[MAX_CONNS], sfd[MAX_CONNS];
	size_t off[MAX_CONNS] = {};
	ssize_t r;
	struct scale s = { .n = n, .sfd = sfd, .open = n };
	const size_t size = 1024;
	__u8 msg[1024], back[1024];
	long long mem0, mem;
	double start;
	pthread_t t;
	int i;

	frame(msg, size);
	/* Let the previous run's sockets go (RCU) before the baseline */
	usleep(n >= 100 ? 500000 : 0);
	mem0 = kmem();
	for (i = 0; i < n; i++) {
		pair(c, &cfd[i], &sfd[i]);
		/* One message each way, so that every lazy part exists */
		if (send_all(cfd[i], msg, size) ||
		    recv_all(sfd[i], back, size) ||
		    send_all(sfd[i], msg, size) ||
		    recv_all(cfd[i], back, size))
			die("scale warm-up");
	}
	mem = kmem() - mem0;
	for (i = 0; i < n; i++)
		fcntl(cfd[i], F_SETFL, O_NONBLOCK);
	pthread_create(&t, NULL, scale_sink, &s);
	start = stap_now();
	while (stap_now() - start < duration) {
		for (i = 0; i < n; i++) {
			/* Whole messages: a partial send is finished later */
			r = send(cfd[i], msg + off[i], size - off[i],
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r > 0)
				off[i] = (off[i] + r) % size;
		}
	}
	for (i = 0; i < n; i++)
		shutdown(cfd[i], SHUT_WR);
	pthread_join(t, NULL);
	if (s.stalled) {
		printf("scale\t%s\t%d\t%d\tstalled\n", cfg_names[c], n, rep);
		goto out;
	}
	printf("scale\t%s\t%d\t%d\t%.0f\t%lld\n", cfg_names[c], n, rep,
	       s.bytes / size / (s.end - start), mem / n);
out:
	for (i = 0; i < n; i++) {
		close_now(cfd[i]);
		close_now(sfd[i]);
	}
}

static unsigned int cfg_mask = (1 << CFG_SOCKMAP_STRP) - 1;
static const char *running;

static void on_alarm(int sig)
{
	fprintf(stderr, "stap_bench: %s did not finish in 300 s\n", running);
	_exit(1);
}

/* Run @c on one measurement, within a time limit */
#define RUN(fn, c, arg, rep)						\
	do {								\
		char what[64];						\
									\
		if (!(cfg_mask & (1 << (c))))				\
			break;						\
		snprintf(what, sizeof(what), "%s %s %d", #fn,		\
			 cfg_names[c], (int)(arg));			\
		running = what;						\
		alarm(300);						\
		fn(c, arg, rep);					\
		alarm(0);						\
	} while (0)

/* @name is one of the comma-separated names in @list */
static bool cfg_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = strstr(list, name); p; p = strstr(p + 1, name))
		if ((p == list || p[-1] == ',') && (!p[n] || p[n] == ','))
			return true;
	return false;
}

static void shuffle(int *order, int n, unsigned int *seed)
{
	int i, j, t;

	for (i = n - 1; i > 0; i--) {
		j = rand_r(seed) % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

/* bench_verdict and bench_msg on @map, in strparser mode with @parser */
static int sockmap_attach(struct bpf_map *map, struct bpf_program *parser)
{
	int fd = bpf_map__fd(map);

	if (parser && bpf_prog_attach(bpf_program__fd(parser), fd,
				      BPF_SK_SKB_STREAM_PARSER, 0))
		return -1;
	return bpf_prog_attach(bpf_program__fd(skel->progs.bench_verdict), fd,
			       parser ? BPF_SK_SKB_STREAM_VERDICT :
					BPF_SK_SKB_VERDICT, 0) ||
	       bpf_prog_attach(bpf_program__fd(skel->progs.bench_msg), fd,
			       BPF_SK_MSG_VERDICT, 0);
}

static void setup(void)
{
	struct rlimit rl = { 65536, 65536 };
	struct { __u32 prefixlen; __u8 data[KEY_LEN]; } key;
	__u32 val = 0;
	int i;

	setrlimit(RLIMIT_NOFILE, &rl);
	libbpf_set_print(NULL);
	skel = stap_bench_bpf__open_and_load();
	if (!skel)
		die("loading stap_bench.bpf.o");
	for (i = 0; i < DENY_ENTRIES; i++) {
		memset(deny[i], 'A' + i, KEY_LEN);
		key.prefixlen = KEY_LEN * 8;
		memcpy(key.data, deny[i], KEY_LEN);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_deny),
					&key, &val, 0))
			die("deny-list");
	}
	if (sockmap_attach(skel->maps.bench_sockmap, NULL) ||
	    sockmap_attach(skel->maps.bench_sockmap_strp,
			   skel->progs.bench_parse))
		die("sockmap programs");
	listen_fd = stap_listen(AF_INET, &listen_port);
	small_fd = stap_listen(AF_INET, &small_port);
	if (listen_fd < 0 || small_fd < 0)
		die("listen");
	relay_start();
	rdr_start();
}

static const char usage_text[] =
"Usage: stap_bench [-r REPS] [-d SECONDS] [-s SEED] [-c CFGS] [-w WORKLOADS]\n"
"                  [-e ENDS] [-q] [-P]\n"
"\n"
"Measure plain TCP, stap (pass-all; parser and deny-list), sockmap (same\n"
"programs), a userspace relay (same framing and deny-list) and the\n"
"relay's work in the kernel (stap-redirect) on\n"
"loopback: one-way throughput per message size (64 B, 1 KiB, 16 KiB,\n"
"64 KiB; one message per send()), the same for TLS-sized records through\n"
"4 KiB socket buffers, request/response latency (64 B, 1 KiB), and 1,\n"
"10, 100, 1000 concurrent connections (throughput of 1 KiB messages,\n"
"kernel memory per connection: Slab + Percpu).\n"
"Prints one tab-separated line per measurement.\n"
"\n"
"  -r REPS     repetitions (default 5)\n"
"  -d SECONDS  length of each measurement (default 1)\n"
"  -s SEED     seed of the configuration order (default 1)\n"
"  -c CFGS     these configurations (comma-separated: tcp, stap-pass,\n"
"              stap-deny, sockmap, relay, stap-redirect; sockmap-strp\n"
"              only when named)\n"
"  -w WORKLOADS  these workloads (comma-separated: tput, small, rr, scale;\n"
"              default all)\n"
"  -e ENDS     the ends stap-pass and stap-deny tap: both (default),\n"
"              client (the sender of one-way workloads) or server (its\n"
"              sink)\n"
"  -q          quick: 1 repetition, 0.2 s, up to 100 connections\n"
"  -P          no pinning (by default the sender runs on CPU 0 and its\n"
"              peer thread, sink, echo or relay, on CPU 1)\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

int main(int argc, char **argv)
{
	static const size_t tput_sizes[] = { 64, 1024, 16384, 65536 };
	static const size_t rr_sizes[] = { 64, 1024 };
	static const int conns[] = { 1, 10, 100, 1000 };
	int reps = 5, order[CFG_MAX], i, k, rep, c, nconns = 4;
	unsigned int seed = 1;
	const char *workloads = "tput,small,rr,scale";
	struct utsname u;

	while ((c = getopt(argc, argv, "r:d:s:c:w:e:qPh")) != -1) {
		switch (c) {
		case 'e':
			tap_ends = tap_ends_of(optarg);
			if (tap_ends)
				break;
			fprintf(stderr, "stap_bench: -e %s: %s\n", optarg,
				"not both, client or server");
			return 2;
		case 'w':
			workloads = optarg;
			break;
		case 'c':
			cfg_mask = 0;
			for (i = 0; i < CFG_MAX; i++)
				if (cfg_listed(optarg, cfg_names[i]))
					cfg_mask |= 1 << i;
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 's':
			seed = atoi(optarg);
			break;
		case 'P':
			pin = false;
			break;
		case 'q':
			reps = 1;
			duration = 0.2;
			nconns = 3;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (reps < 1 || duration <= 0) {
		usage(stderr);
		return 2;
	}
	if (!stap_available()) {
		fprintf(stderr, "stap_bench: the stap module is not loaded\n");
		return 1;
	}
	signal(SIGALRM, on_alarm);
	setup();
	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	printf("# kernel\t%s\n", u.release);
	pin_self(0);
	printf("# pinned\t%s\n", pin ? "sender cpu0, peer cpu1" : "no");
	printf("# tapped\t%s\n", tap_end_names[tap_ends]);
	for (i = 0; i < CFG_MAX; i++)
		order[i] = i;
	for (rep = 1; rep <= reps; rep++) {
		for (k = 0; k < 4 && cfg_listed(workloads, "tput"); k++) {
			shuffle(order, CFG_MAX, &seed);
			for (i = 0; i < CFG_MAX; i++)
				RUN(run_tput, order[i], tput_sizes[k], rep);
		}
		if (cfg_listed(workloads, "small")) {
			shuffle(order, CFG_MAX, &seed);
			for (i = 0; i < CFG_MAX; i++)
				RUN(run_small, order[i], 4096, rep);
		}
		for (k = 0; k < 2 && cfg_listed(workloads, "rr"); k++) {
			shuffle(order, CFG_MAX, &seed);
			for (i = 0; i < CFG_MAX; i++)
				RUN(run_rr, order[i], rr_sizes[k], rep);
		}
		for (k = 0; k < nconns && cfg_listed(workloads, "scale"); k++) {
			shuffle(order, CFG_MAX, &seed);
			for (i = 0; i < CFG_MAX; i++)
				RUN(run_scale, order[i], conns[k], rep);
		}
	}
	return 0;
}
