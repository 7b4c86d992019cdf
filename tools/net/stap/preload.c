// SPDX-License-Identifier: GPL-2.0
/*
 * libstap_preload.so: loaded by "stapctl exec" with LD_PRELOAD, taps the TCP
 * sockets the program connects, accepts or listens on with the programs
 * whose descriptors STAP_FDS names ("send_parse,send_verdict,recv_parse,
 * recv_verdict", -1 for none).
 *
 * A listener is tapped when listen() returns, so the kernel taps each
 * connection it accepts before any data arrives. A connect() that returns
 * EINPROGRESS is tapped once it completes: when the program asks for
 * SO_ERROR, or on its first read or write, whichever comes first.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "stap.h"

#define PENDING_MAX	65536	/* fds watched for a connect to complete */
#define FD_HIGH		1000	/* where the program fds are moved to */

static struct stap_params params;
static int active;
static unsigned char pending[PENDING_MAX / 8];
static int warned_errno[8];

static void warn_once(int fd, int err)
{
	unsigned int i;

	for (i = 0; i < sizeof(warned_errno) / sizeof(*warned_errno); i++) {
		if (warned_errno[i] == err)
			return;
		if (!warned_errno[i]) {
			warned_errno[i] = err;
			break;
		}
	}
	fprintf(stderr, "stapctl: cannot tap fd %d: %s%s\n", fd, strerror(err),
		err == ENOPROTOOPT || err == ENOENT ?
		" (is the stap module loaded?)" : "");
}

/* Move a program fd out of the way of the program's own numbers */
static int move_fd(int fd)
{
	int high;

	if (fd < 0)
		return fd;
	high = fcntl(fd, F_DUPFD, FD_HIGH);
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

__attribute__((constructor)) static void stap_preload_init(void)
{
	const char *env = getenv("STAP_FDS");
	int fd[4], moved[4], i, j;
	char buf[64];

	if (!env || sscanf(env, "%d,%d,%d,%d", &fd[0], &fd[1], &fd[2],
			   &fd[3]) != 4)
		return;
	/* One program may fill several slots: move each fd once */
	for (i = 0; i < 4; i++) {
		for (j = 0; j < i && fd[j] != fd[i]; j++)
			;
		moved[i] = j < i ? moved[j] : move_fd(fd[i]);
	}
	params.bpf_send_parse_fd = moved[0];
	params.bpf_send_verdict_fd = moved[1];
	params.bpf_recv_parse_fd = moved[2];
	params.bpf_recv_verdict_fd = moved[3];
	/* For programs this one runs: they get the fds at their new place */
	snprintf(buf, sizeof(buf), "%d,%d,%d,%d", moved[0], moved[1],
		 moved[2], moved[3]);
	setenv("STAP_FDS", buf, 1);
	active = 1;
}

static void pending_set(int fd, int on)
{
	if (fd < 0 || fd >= PENDING_MAX)
		return;
	if (on)
		pending[fd / 8] |= 1 << (fd % 8);
	else
		pending[fd / 8] &= ~(1 << (fd % 8));
}

static int is_pending(int fd)
{
	return fd >= 0 && fd < PENDING_MAX &&
	       (pending[fd / 8] & (1 << (fd % 8)));
}

/* Tap @fd if it is a TCP socket not tapped yet; errno is kept */
static void tap(int fd)
{
	int saved = errno;
	char ulp[16] = "";
	socklen_t len = sizeof(ulp);

	if (!active || !stap_is_tcp(fd))
		goto out;
	if (!getsockopt(fd, SOL_TCP, TCP_ULP, ulp, &len) && ulp[0])
		goto out;	/* stap already (an accepted child), or kTLS */
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "stap", 4) ||
	    setsockopt(fd, SOL_STAP, STAP_PARAMS, &params, sizeof(params)))
		warn_once(fd, errno);
out:
	errno = saved;
}

/* A connect that was in progress: tap it once it is established */
static void tap_pending(int fd)
{
	int saved = errno;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (!is_pending(fd))
		return;
	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len)) {
		pending_set(fd, 0);
	} else if (ti.tcpi_state != TCP_SYN_SENT) {
		pending_set(fd, 0);
		if (ti.tcpi_state == TCP_ESTABLISHED ||
		    ti.tcpi_state == TCP_CLOSE_WAIT)
			tap(fd);
	}
	errno = saved;
}

/* The C library's @name, looked up once */
#define REAL(name) ({							\
	static __typeof__(name) *real;					\
									\
	if (!real)							\
		real = dlsym(RTLD_NEXT, #name);				\
	real;								\
})

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int ret;

	ret = REAL(connect)(fd, addr, len);
	if (!ret)
		tap(fd);
	else if (errno == EINPROGRESS && active && stap_is_tcp(fd))
		pending_set(fd, 1);
	return ret;
}

int listen(int fd, int backlog)
{
	int ret;

	ret = REAL(listen)(fd, backlog);
	if (!ret)
		tap(fd);
	return ret;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int ret;

	ret = REAL(accept)(fd, addr, len);
	if (ret >= 0)
		tap(ret);
	return ret;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int ret;

	ret = REAL(accept4)(fd, addr, len, flags);
	if (ret >= 0)
		tap(ret);
	return ret;
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int ret;

	ret = REAL(getsockopt)(fd, level, name, val, len);
	if (!ret && level == SOL_SOCKET && name == SO_ERROR &&
	    is_pending(fd) && *len >= sizeof(int) && !*(int *)val)
		tap_pending(fd);
	return ret;
}

int close(int fd)
{
	pending_set(fd, 0);
	return REAL(close)(fd);
}

/* The first read or write of a connect that was in progress */
#define IO_WRAP(ret_t, name, params, args)				\
ret_t name params							\
{									\
	if (is_pending(fd))						\
		tap_pending(fd);					\
	return REAL(name) args;					\
}

IO_WRAP(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n))
IO_WRAP(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n))
IO_WRAP(ssize_t, readv, (int fd, const struct iovec *iov, int n),
	(fd, iov, n))
IO_WRAP(ssize_t, writev, (int fd, const struct iovec *iov, int n),
	(fd, iov, n))
IO_WRAP(ssize_t, recv, (int fd, void *buf, size_t n, int flags),
	(fd, buf, n, flags))
IO_WRAP(ssize_t, send, (int fd, const void *buf, size_t n, int flags),
	(fd, buf, n, flags))
IO_WRAP(ssize_t, recvfrom, (int fd, void *buf, size_t n, int flags,
			    struct sockaddr *a, socklen_t *al),
	(fd, buf, n, flags, a, al))
IO_WRAP(ssize_t, sendto, (int fd, const void *buf, size_t n, int flags,
			  const struct sockaddr *a, socklen_t al),
	(fd, buf, n, flags, a, al))
IO_WRAP(ssize_t, recvmsg, (int fd, struct msghdr *m, int flags),
	(fd, m, flags))
IO_WRAP(ssize_t, sendmsg, (int fd, const struct msghdr *m, int flags),
	(fd, m, flags))
