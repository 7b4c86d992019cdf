/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the stap selftests: tapped socket pairs and programs.
 */
#ifndef _STAP_LIB_H
#define _STAP_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <net/if.h>

#include <linux/sockios.h>
#include <linux/stap.h>

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/* include/linux/socket.h; user space does not see it */
#ifndef SOL_STAP
#define SOL_STAP 288
#endif

/* The module is there when the kernel lists the ULP. */
static inline bool stap_available(void)
{
	char buf[256] = {};
	FILE *f;

	f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "stap");
}

static inline socklen_t stap_loopback(int family, struct sockaddr_storage *ss,
				      unsigned short port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return sizeof(*a);
}

/* SO_RCVBUF and SO_SNDBUF of @fd to @buf bytes: 0, or -1 with errno */
static inline int stap_set_bufs(int fd, int buf)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)))
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
}

/* Run the calling thread on @cpu only; nothing when there is no such
 * CPU. Return: 0, or -1 with errno.
 */
static inline int stap_pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu >= sysconf(_SC_NPROCESSORS_ONLN))
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Seconds on the monotonic clock. */
static inline double stap_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A listening socket on loopback; its port in *port. */
static inline int stap_listen(int family, unsigned short *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	len = stap_loopback(family, &ss, 0);
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64))
		goto err;
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		goto err;
	*port = ntohs(family == AF_INET6 ?
		      ((struct sockaddr_in6 *)&ss)->sin6_port :
		      ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
err:
	close(fd);
	return -1;
}

static inline int stap_connect(int family, unsigned short port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	len = stap_loopback(family, &ss, port);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A connected pair over loopback: *cfd connected, *sfd accepted. */
static inline int stap_pair(int family, int *cfd, int *sfd)
{
	unsigned short port;
	int lfd;

	lfd = stap_listen(family, &port);
	if (lfd < 0)
		return -1;
	*cfd = stap_connect(family, port);
	*sfd = *cfd < 0 ? -1 : accept(lfd, NULL, NULL);
	close(lfd);
	if (*sfd < 0) {
		if (*cfd >= 0)
			close(*cfd);
		return -1;
	}
	return 0;
}

static inline int stap_ulp(int fd)
{
	return setsockopt(fd, SOL_TCP, TCP_ULP, "stap", 4);
}

static inline struct stap_params stap_params_of(int sp, int sv, int rp,
						int rv)
{
	struct stap_params p = {
		.bpf_send_parse_fd = sp,
		.bpf_send_verdict_fd = sv,
		.bpf_recv_parse_fd = rp,
		.bpf_recv_verdict_fd = rv,
	};

	return p;
}

/* Enable the ULP and attach receive programs (parser may be -1). */
static inline int stap_tap_rx(int fd, int parse_fd, int verdict_fd)
{
	struct stap_params p = stap_params_of(-1, -1, parse_fd, verdict_fd);

	if (stap_ulp(fd))
		return -1;
	return setsockopt(fd, SOL_STAP, STAP_PARAMS, &p, sizeof(p));
}

/* Enable the ULP and attach send programs (parser may be -1). */
static inline int stap_tap_tx(int fd, int parse_fd, int verdict_fd)
{
	struct stap_params p = stap_params_of(parse_fd, verdict_fd, -1, -1);

	if (stap_ulp(fd))
		return -1;
	return setsockopt(fd, SOL_STAP, STAP_PARAMS, &p, sizeof(p));
}

static inline int stap_get_stats(int fd, struct stap_stats *st)
{
	socklen_t len = sizeof(*st);

	return getsockopt(fd, SOL_STAP, STAP_STATS, st, &len);
}

/* Write all of buf, or fail. */
static inline int stap_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Read exactly len bytes, or fail (EOF counts as failure). */
static inline int stap_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = recv(fd, p, len, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* A message for the length-prefix parser: 4-byte big-endian payload
 * length, then the payload. Returns its total size.
 */
static inline size_t stap_lp_msg(char *buf, const void *payload, uint32_t len)
{
	uint32_t be = htonl(len);

	memcpy(buf, &be, 4);
	memcpy(buf + 4, payload, len);
	return len + 4;
}

/* How long a condition may take to come. Every wait is for something
 * that must come: only a failing test waits it out. Under emulation the
 * 7.3 debug kernel on a loaded host took more than 5 s to fill the
 * buffers of an 8 MiB send (tx.shutdown_wakes_blocked_sender).
 */
#define STAP_WAIT_SECS	30

/* Wait up to STAP_WAIT_SECS for urgent data at @fd (POLLPRI). */
static inline int stap_wait_urgent(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLPRI };

	return poll(&p, 1, STAP_WAIT_SECS * 1000) == 1 &&
	       (p.revents & POLLPRI) ? 0 : -1;
}

/* SIOCATMARK: 1 at the urgent mark, 0 elsewhere, -1 on error */
static inline int stap_atmark(int fd)
{
	int v;

	return ioctl(fd, SIOCATMARK, &v) ? -1 : v;
}

/* Poll @cond every millisecond for up to STAP_WAIT_SECS: 0 once it holds,
 * else -1
 */
#define stap_wait_until(cond) ({				\
	double __end = stap_now() + STAP_WAIT_SECS;		\
	int __ret = -1;						\
								\
	do {							\
		if (cond) {					\
			__ret = 0;				\
			break;					\
		}						\
		poll(NULL, 0, 1);				\
	} while (stap_now() < __end);				\
	__ret;							\
})

/* SIOCOUTQ: bytes the peer has not acknowledged, -1 on error */
static inline int stap_outq(int fd)
{
	int v;

	return ioctl(fd, SIOCOUTQ, &v) ? -1 : v;
}

/* Wait up to STAP_WAIT_SECS until the peer has acknowledged all that @fd
 * sent (SIOCOUTQ 0): it has received it, and a tapped peer has framed
 * it.
 */
static inline int stap_wait_acked(int fd)
{
	return stap_wait_until(stap_outq(fd) == 0);
}

/* SIOCINQ: bytes a read returns now, -1 on error */
static inline int stap_inq(int fd)
{
	int v;

	return ioctl(fd, SIOCINQ, &v) ? -1 : v;
}

/* Wait up to STAP_WAIT_SECS until a read of @fd would return @n bytes */
static inline int stap_wait_inq(int fd, int n)
{
	return stap_wait_until(stap_inq(fd) == n);
}

/* Wait up to STAP_WAIT_SECS for the end of the connection at @fd: a reset
 * or both directions shut (POLLERR or POLLHUP).
 */
static inline int stap_wait_hup(int fd)
{
	struct pollfd p = { .fd = fd };

	return poll(&p, 1, STAP_WAIT_SECS * 1000) == 1 &&
	       (p.revents & (POLLERR | POLLHUP)) ? 0 : -1;
}

/* /proc/<tid>/@what into @buf, NUL-terminated; -1 on error */
static inline int stap_read_proc(pid_t tid, const char *what, char *buf,
				 size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", tid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* Write @s to @path, opened with O_WRONLY | @flags: 0, or -1 with errno */
static inline int stap_write_file(const char *path, const char *s, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	if (n >= 0 && n != (ssize_t)strlen(s))
		errno = EIO;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* The first number in file @path (a sysctl, a cgroup file), or -1 */
static inline long long stap_read_ll(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * Bring up the loopback of the caller's network namespace (a new one, after
 * unshare(CLONE_NEWNET)): SIOCSIFFLAGS rather than running ip(8), whose two
 * execs cost about a second each case on the debug kernel under emulation.
 */
static inline int stap_lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	err = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (!err) {
		ifr.ifr_flags |= IFF_UP;
		err = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return err;
}

/* Counter @name of /proc/net/stap_stat (this namespace), -1 if absent */
static inline long long stap_netns_stat(const char *name)
{
	long long v = -1, n;
	char key[64];
	FILE *f;

	f = fopen("/proc/net/stap_stat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &n) == 2)
		if (!strcmp(key, name))
			v = n;
	fclose(f);
	return v;
}

/* TcpExt counter @name of this namespace's /proc/net/netstat, or -1 */
static inline long long stap_tcpext(const char *name)
{
	char keys[4096], vals[4096], *k, *v, *ks, *vs;
	long long ret = -1;
	FILE *f;

	f = fopen("/proc/net/netstat", "r");
	if (!f)
		return -1;
	while (fgets(keys, sizeof(keys), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(keys, "TcpExt:", 7))
			continue;
		k = strtok_r(keys, "\n ", &ks);
		v = strtok_r(vals, "\n ", &vs);
		while ((k = strtok_r(NULL, "\n ", &ks)) &&
		       (v = strtok_r(NULL, "\n ", &vs)))
			if (!strcmp(k, name))
				ret = atoll(v);
	}
	fclose(f);
	return ret;
}

/* The calling thread's id, for stap_wait_blocked() */
static inline pid_t stap_tid(void)
{
	return syscall(SYS_gettid);
}

/* Thread @tid sleeps (state S) in system call @nr */
static inline bool stap_sleeps_in(pid_t tid, long nr)
{
	char buf[512], *p;

	if (stap_read_proc(tid, "stat", buf, sizeof(buf)))
		return false;
	p = strrchr(buf, ')');
	if (!p || strncmp(p, ") S", 3))
		return false;
	/* "running", or the number of the call it sleeps in */
	if (stap_read_proc(tid, "syscall", buf, sizeof(buf)))
		return false;
	return strtol(buf, &p, 10) == nr && p != buf;
}

/* Wait up to STAP_WAIT_SECS until thread @tid sleeps in system call @nr
 * (SYS_*): blocked there, not merely on its way in.
 */
static inline int stap_wait_blocked(pid_t tid, long nr)
{
	return stap_wait_until(stap_sleeps_in(tid, nr));
}

#endif /* _STAP_LIB_H */
