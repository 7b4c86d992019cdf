// SPDX-License-Identifier: GPL-2.0
/*
 * tcpi_bytes_received, which the C library's struct tcp_info lacks and
 * linux/tcp.h has; apart, as the two headers do not mix.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/tcp.h>

#include "stap_tcpinfo.h"

long long stap_bytes_received(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_bytes_received;
}
