/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels stap builds against (6.1, 6.12, 7.3).
 * The code follows the newest kernel; older ones are adapted here only.
 */
#ifndef _STAP_COMPAT_H
#define _STAP_COMPAT_H

#include <linux/version.h>
#include <linux/sockptr.h>
#include <linux/skmsg.h>
#include <net/sock.h>

/* proto.accept takes struct proto_accept_arg since 6.10 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define STAP_ACCEPT_PARAMS	struct sock *sk, struct proto_accept_arg *arg
#define STAP_ACCEPT_ARGS	sk, arg
#define stap_accept_set_err(e)	(arg->err = (e))
#else
#define STAP_ACCEPT_PARAMS	struct sock *sk, int flags, int *err, bool kern
#define STAP_ACCEPT_ARGS	sk, flags, err, kern
#define stap_accept_set_err(e)	(*err = (e))
#endif

/* proto.ioctl returns its answer through an int since 6.5 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
typedef int *stap_ioctl_arg_t;
#define stap_ioctl_answer(karg, v)	(*(karg) = (v), 0)
#else
typedef unsigned long stap_ioctl_arg_t;
#define stap_ioctl_answer(karg, v)	put_user((v), (int __user *)(karg))
#endif

/* tcp_ulp_ops.get_info learnt net_admin in 7.0 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define STAP_GET_INFO_ADMIN	, bool net_admin
#else
#define STAP_GET_INFO_ADMIN
#endif

/* copy_struct_from_sockptr() came with 6.13 and was backported to 6.12.y */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
static inline int copy_struct_from_sockptr(void *dst, size_t ksize,
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
