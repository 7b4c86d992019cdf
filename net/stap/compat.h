/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels stap builds against (6.1, 6.12, 7.3).
 * The code follows the newest kernel; older ones are adapted here only.
 */
#ifndef _STAP_COMPAT_H
#define _STAP_COMPAT_H

#include <linux/version.h>
#include <linux/inet_diag.h>
#include <linux/socket.h>
#include <linux/sockptr.h>
#include <linux/skmsg.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

/* The numbers the in-tree series allocates in the core headers: the socket
 * level in include/linux/socket.h, the sock_diag nest type after
 * INET_ULP_INFO_MPTCP in include/uapi/linux/inet_diag.h. The latter is an
 * enumerator, which #ifndef cannot see: a kernel that has it (the series
 * applied) has it with this value, and the macro only repeats it.
 */
#ifndef SOL_STAP
#define SOL_STAP		288
#endif
#define INET_ULP_INFO_STAP	4

/* proto.accept takes struct proto_accept_arg since 6.10; older kernels
 * get stap_accept_args() in stap.h around the new shape.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
static inline struct sock *stap_proto_accept(struct proto *prot,
					     struct sock *sk,
					     struct proto_accept_arg *arg)
{
	return prot->accept(sk, arg);
}
#else
#define STAP_ACCEPT_ARGS
struct proto_accept_arg {
	int flags;
	int err;
	bool kern;
};

static inline struct sock *stap_proto_accept(struct proto *prot,
					     struct sock *sk,
					     struct proto_accept_arg *arg)
{
	return prot->accept(sk, arg->flags, &arg->err, arg->kern);
}
#endif

/* proto.ioctl returns its answer through an int since 6.5; older kernels
 * get stap_ioctl_ulong() in stap.h, which passes other commands to TCP.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
static inline int stap_proto_ioctl(struct proto *prot, struct sock *sk,
				   int cmd, int *karg)
{
	return prot->ioctl(sk, cmd, karg);
}
#else
#define STAP_IOCTL_ULONG
static inline int stap_proto_ioctl(struct proto *prot, struct sock *sk,
				   int cmd, int *karg)
{
	return -ENOIOCTLCMD;
}
#endif

/* proto.recvmsg lost its addr_len argument after 6.12 (7.3 has none):
 * older kernels get stap_recvmsg_addr_len() in stap.h, which passes
 * MSG_OOB and MSG_ERRQUEUE reads to TCP with it.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
static inline int stap_proto_recvmsg(struct proto *prot, struct sock *sk,
				     struct msghdr *msg, size_t len, int flags)
{
	return prot->recvmsg(sk, msg, len, flags);
}
#else
#define STAP_RECVMSG_ADDR_LEN
static inline int stap_proto_recvmsg(struct proto *prot, struct sock *sk,
				     struct msghdr *msg, size_t len, int flags)
{
	return -EOPNOTSUPP;
}
#endif

/* copy_struct_from_sockptr() came with 6.13; 6.12.y's backport copies
 * only min(ksize, usize) bytes from user space and so never sees a
 * non-zero tail. Use a complete one before 7.0.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
static inline int stap_copy_struct_from_sockptr(void *dst, size_t ksize,
						sockptr_t src, size_t usize)
{
	size_t size = min(ksize, usize);

	if (!sockptr_is_kernel(src))
		return copy_struct_from_user(dst, ksize, src.user, usize);
	if (usize > ksize &&
	    memchr_inv((u8 *)src.kernel + ksize, 0, usize - ksize))
		return -E2BIG;
	memset(dst, 0, ksize);
	memcpy(dst, src.kernel, size);
	return 0;
}

#define copy_struct_from_sockptr stap_copy_struct_from_sockptr
#endif

/* skb_send_sock_locked() takes MSG_* flags in 7.3 but not in 6.12 (the
 * release in between is not pinned down here). Without them, MSG_MORE
 * holds TCP's partial frames as TCP_CORK does for the duration of the
 * send, which is what tcp_push() does with it.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
static inline int stap_skb_send_sock_flags(struct sock *sk,
					   struct sk_buff *skb, int offset,
					   int len, int flags)
{
	struct tcp_sock *tp = tcp_sk(sk);
	u8 nonagle = tp->nonagle;
	int ret;

	if (flags & MSG_MORE)
		tp->nonagle |= TCP_NAGLE_CORK;
	ret = skb_send_sock_locked(sk, skb, offset, len);
	tp->nonagle = nonagle;
	return ret;
}

#define skb_send_sock_locked_with_flags stap_skb_send_sock_flags
#endif

/* Workqueues name their CPU binding (WQ_PERCPU or WQ_UNBOUND) in 7.3,
 * which warns without one; 6.12 and older have per-CPU as the default
 * and no flag for it (the release in between is not pinned down here).
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
#define WQ_PERCPU	0
#endif

/* Splicing pages into an skb: skb_splice_from_iter() since 6.5, with a
 * gfp argument until after 6.12; proto.sendpage before 6.5, for which
 * stap takes the page references itself.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define stap_skb_splice_from_iter	skb_splice_from_iter
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
static inline ssize_t stap_skb_splice_from_iter(struct sk_buff *skb,
						struct iov_iter *iter,
						ssize_t maxsize)
{
	return skb_splice_from_iter(skb, iter, maxsize, GFP_KERNEL);
}
#else
static inline ssize_t stap_skb_splice_from_iter(struct sk_buff *skb,
						struct iov_iter *iter,
						ssize_t maxsize)
{
	ssize_t spliced = 0, len;
	struct page *page;
	size_t off;

	while (maxsize > 0 && iov_iter_count(iter) &&
	       skb_shinfo(skb)->nr_frags < MAX_SKB_FRAGS) {
		len = iov_iter_get_pages2(iter, &page, maxsize, 1, &off);
		if (len <= 0)
			return spliced ? spliced : (len ? len : -EIO);
		skb_fill_page_desc(skb, skb_shinfo(skb)->nr_frags, page, off,
				   len);
		skb_len_add(skb, len);
		spliced += len;
		maxsize -= len;
	}
	return spliced;
}
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
static inline bool stap_msg_splice(const struct msghdr *msg)
{
	return msg->msg_flags & MSG_SPLICE_PAGES;
}
#else
#define STAP_TX_SENDPAGE
static inline bool stap_msg_splice(const struct msghdr *msg)
{
	return false;
}
#endif

/* tcp_ulp_ops.get_info and get_info_size take net_admin in 7.3 but not in
 * 6.12: older kernels get wrappers in stap_main.c.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
#define STAP_GET_INFO_NO_ADMIN
#endif

/* Typed allocators came with 7.0 */
#ifndef kzalloc_obj
#define kzalloc_obj(P, gfp)	kzalloc(sizeof(P), gfp)
#define kmalloc_obj(P, gfp)	kmalloc(sizeof(P), gfp)
#endif

#if IS_ENABLED(CONFIG_NET_SOCK_MSG)
static inline bool stap_skb_redirected(const struct sk_buff *skb)
{
	return skb_bpf_redirect_fetch(skb);
}

static inline void stap_skb_redirect_clear(struct sk_buff *skb)
{
	skb_bpf_redirect_clear(skb);
}
#else
static inline bool stap_skb_redirected(const struct sk_buff *skb)
{
	return false;
}

static inline void stap_skb_redirect_clear(struct sk_buff *skb)
{
}
#endif

#endif /* _STAP_COMPAT_H */
