// SPDX-License-Identifier: GPL-2.0
/*
 * Out of tree only: the proto ops of older kernels around stap's, which
 * have 7.3's shape (compat.h).
 */

#include <linux/sockios.h>
#include <linux/uaccess.h>

#include "stap.h"

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
/* proto.ioctl before 6.5. Called in process context. */
int (stap_rx_ioctl)(struct sock *sk, int cmd, unsigned long arg)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	int karg, err;

	if (cmd != SIOCINQ && cmd != SIOCATMARK)
		return ctx->sk_proto->ioctl(sk, cmd, arg);
	err = stap_rx_ioctl(sk, cmd, &karg);
	return err ? err : put_user(karg, (int __user *)arg);
}
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
/* proto.recvmsg before 7.0. Called in process context. */
int (stap_rx_recvmsg)(struct sock *sk, struct msghdr *msg, size_t len,
		      int flags, int *addr_len)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	/* TCP's op, out of reach of compat.h's recvmsg() macro */
	int (*tcp_op)(struct sock *sk, struct msghdr *msg, size_t len,
		      int flags, int *addr_len) = ctx->sk_proto->recvmsg;

	if (unlikely(flags & (MSG_OOB | MSG_ERRQUEUE)))
		return tcp_op(sk, msg, len, flags, addr_len);
	return stap_rx_recvmsg(sk, msg, len, flags);
}
#endif
