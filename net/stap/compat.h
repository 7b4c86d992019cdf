/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Out of tree only: the sources of stap are written against 7.3; this
 * header adapts the older kernels stap builds against (6.1, 6.12), with
 * compat.c. Kbuild, the out-of-tree makefile, includes it ahead of every
 * source (-include) and builds compat.c; no source names it, and the
 * in-tree submission leaves Kbuild, compat.h and compat.c out.
 *
 * Feature tests where the kernel has a macro to test, else the release
 * that brought the change.
 */
#ifndef _STAP_COMPAT_H
#define _STAP_COMPAT_H

#include <linux/version.h>
#include <linux/inet_diag.h>
#include <linux/skbuff.h>
#include <linux/skmsg.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/sockptr.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
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

/* Typed allocators came with 7.0 */
#ifndef kzalloc_obj
#define kzalloc_obj(P, gfp)	kzalloc(sizeof(P), gfp)
#define kmalloc_obj(P, gfp)	kmalloc(sizeof(P), gfp)
#define kzalloc_flex(P, FAM, COUNT, gfp)				\
	kzalloc(size_add(sizeof(P), size_mul(sizeof((P).FAM[0]), COUNT)), gfp)
#endif

/* The bounds attribute of flexible arrays came with 6.6 */
#ifndef __counted_by
#define __counted_by(member)
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

/* skb_send_sock_locked_with_flags(), which passes MSG_* flags (MSG_MORE,
 * MSG_OOB) to TCP, came with 6.16 (with ovpn). Older kernels get the same
 * walk of the skb as __skb_send_sock() with them: its head through
 * proto_ops.sendmsg_locked, its pages by reference (MSG_SPLICE_PAGES, or
 * proto_ops.sendpage_locked in the sendpage era, which
 * MSG_SENDPAGE_NOTLAST marks: see below), one level of frag_list.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
static inline int stap_send_head(struct sock *sk, void *data, int len,
				 int flags)
{
	struct kvec kv = { .iov_base = data, .iov_len = len };
	struct msghdr msg = { .msg_flags = flags };

	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &kv, 1, len);
	return sk->sk_socket->ops->sendmsg_locked(sk, &msg, len);
}

static inline int stap_send_page(struct sock *sk, struct page *page,
				 int off, int len, int flags)
{
#ifdef MSG_SENDPAGE_NOTLAST
	return sk->sk_socket->ops->sendpage_locked(sk, page, off, len, flags);
#else
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };
	struct bio_vec bvec;

	bvec_set_page(&bvec, page, len, off);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bvec, 1, len);
	return sk->sk_socket->ops->sendmsg_locked(sk, &msg, len);
#endif
}

/* Send up to @len bytes at @off of @skb's own data (not its frag_list).
 * Return: bytes sent, or TCP's error when none were.
 */
static inline int stap_send_linear_frags(struct sock *sk,
					 struct sk_buff *skb, int off,
					 int len, int flags)
{
	int sent = 0, i, n, ret;
	skb_frag_t *frag;

	for (i = -1; i < skb_shinfo(skb)->nr_frags && sent < len; i++) {
		frag = i < 0 ? NULL : &skb_shinfo(skb)->frags[i];
		n = frag ? skb_frag_size(frag) : skb_headlen(skb);
		if (off >= n) {
			off -= n;
			continue;
		}
		n = min(n - off, len - sent);
		if (frag)
			ret = stap_send_page(sk, skb_frag_page(frag),
					     skb_frag_off(frag) + off, n,
					     flags);
		else
			ret = stap_send_head(sk, skb->data + off, n, flags);
		if (ret <= 0)
			return sent ? sent : ret;
		sent += ret;
		if (ret < n)
			break;
		off = 0;
	}
	return sent;
}

/* Bytes of @skb's head and page frags, without its frag_list */
static inline int stap_skb_own_len(const struct sk_buff *skb)
{
	int n = skb_headlen(skb), i;

	for (i = 0; i < skb_shinfo(skb)->nr_frags; i++)
		n += skb_frag_size(&skb_shinfo(skb)->frags[i]);
	return n;
}

static inline int stap_skb_send_sock_flags(struct sock *sk,
					   struct sk_buff *skb, int offset,
					   int len, int flags)
{
	struct sk_buff *part = skb;
	int sent = 0, own, want, ret;

	if (!sk->sk_socket)
		return -EINVAL;
	/* Without flags the kernel's own walk: under make bench's 1000
	 * connections on 6.12 this walk was followed by skbuff_head_cache
	 * corruption, the kernel's was not (cause not yet found).
	 */
	if (!(flags & (MSG_MORE | MSG_OOB | MSG_EOR)))
		return skb_send_sock_locked(sk, skb, offset, len);
	flags |= MSG_DONTWAIT;
	while (part && sent < len) {
		own = stap_skb_own_len(part);
		if (offset < own) {
			want = min(own - offset, len - sent);
			ret = stap_send_linear_frags(sk, part, offset, want,
						     flags);
			if (ret <= 0)
				return sent ? sent : ret;
			sent += ret;
			if (ret < want)
				break;
			offset = 0;
		} else {
			offset -= own;
		}
		part = part == skb ? skb_shinfo(skb)->frag_list : part->next;
	}
	return sent;
}

#define skb_send_sock_locked_with_flags stap_skb_send_sock_flags
#endif

/* Workqueues name their CPU binding (WQ_PERCPU or WQ_UNBOUND) since 6.17
 * (an enumerator, not a macro); before, per-CPU is the default.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 17, 0)
#define WQ_PERCPU	0
#endif

/* Before 6.5, sendfile() and splice() reach proto.sendpage, not
 * proto.sendmsg with MSG_SPLICE_PAGES. The stap_init() wrapper below
 * gives a send-tapped socket no proto.sendpage, so that they copy the page
 * through proto.sendmsg (sock_no_sendpage()), and the splice path of
 * stap_tx.c is never taken. The test is MSG_SENDPAGE_NOTLAST, which went
 * with proto.sendpage in 6.5. MSG_SPLICE_PAGES is no test: 6.1.y defines
 * it (6.1.176 does) without the sendmsg() splicing that came with it.
 * skb_splice_from_iter() lost its unused gfp argument in 6.17.
 */
#ifdef MSG_SENDPAGE_NOTLAST
#define STAP_COMPAT_SENDPAGE
#undef MSG_SPLICE_PAGES
#define MSG_SPLICE_PAGES	0
static inline ssize_t stap_skb_splice_from_iter(struct sk_buff *skb,
						struct iov_iter *iter,
						ssize_t maxsize)
{
	return -EOPNOTSUPP;
}

#define skb_splice_from_iter	stap_skb_splice_from_iter
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 17, 0)
static inline ssize_t stap_skb_splice_from_iter(struct sk_buff *skb,
						struct iov_iter *iter,
						ssize_t maxsize)
{
	return skb_splice_from_iter(skb, iter, maxsize, GFP_KERNEL);
}

#define skb_splice_from_iter	stap_skb_splice_from_iter
#endif

/*
 * Proto and ULP ops whose shape changed. The sources define each op with
 * 7.3's arguments and call TCP's op with them. For an older kernel:
 *  - a function-like macro renames stap's op where it is defined (and
 *    called) to stap_<op>_new; the op tables take the bare name, which a
 *    function-like macro leaves alone, and get a wrapper of the old shape
 *    defined here or in compat.c as (name), out of the macro's reach;
 *  - a function-like macro on the member name adapts the call to TCP's op.
 * Wrappers of the ops static to stap_main.c are built in its unit only
 * (Kbuild defines STAP_COMPAT_MAIN for it).
 */

/* proto.accept takes struct proto_accept_arg since 6.10 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
struct proto_accept_arg {
	int	flags;
	int	err;
	bool	kern;
};

#define accept(sk, arg)	accept(sk, (arg)->flags, &(arg)->err, (arg)->kern)
#define stap_accept(sk, arg)	stap_accept_new(sk, arg)

#ifdef STAP_COMPAT_MAIN
static struct sock *stap_accept_new(struct sock *sk,
				    struct proto_accept_arg *arg);

static struct sock *(stap_accept)(struct sock *sk, int flags, int *err,
				  bool kern)
{
	struct proto_accept_arg arg = { .flags = flags, .kern = kern };
	struct sock *newsk = stap_accept_new(sk, &arg);

	*err = arg.err;
	return newsk;
}
#endif
#endif

/* proto.ioctl answers through an int since 6.5. The wrapper (compat.c)
 * answers SIOCINQ and SIOCATMARK through stap_rx_ioctl(), passes others
 * to TCP with the user's argument, so that stap_rx_ioctl()'s own call to
 * TCP is never reached.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define ioctl(sk, cmd, karg)	ioctl(sk, cmd, (unsigned long)(karg))
#define stap_rx_ioctl(sk, cmd, karg)	stap_rx_ioctl_new(sk, cmd, karg)
int (stap_rx_ioctl)(struct sock *sk, int cmd, unsigned long arg);
#endif

/* proto.recvmsg lost its addr_len argument after 6.12 (7.3 has none).
 * The wrapper (compat.c) passes MSG_OOB and MSG_ERRQUEUE reads to TCP with
 * it, so that stap_rx_recvmsg()'s own call to TCP is never reached.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
#define recvmsg(sk, msg, len, flags)	\
	recvmsg(sk, msg, len, flags, &(int){ 0 })
#define stap_rx_recvmsg(sk, msg, len, flags)	\
	stap_rx_recvmsg_new(sk, msg, len, flags)
int (stap_rx_recvmsg)(struct sock *sk, struct msghdr *msg, size_t len,
		      int flags, int *addr_len);
#endif

/* __tcp_send_ack() takes TCP flags after 6.12 (7.3 has them) */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
#define __tcp_send_ack(sk, rcv_nxt, flags)	\
	((void)(flags), __tcp_send_ack(sk, rcv_nxt))
#endif

/* tcp_ulp_ops.get_info and get_info_size take net_admin after 6.12 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
#define stap_get_info(sk, skb, net_admin)	\
	stap_get_info_new(sk, skb, net_admin)
#define stap_get_info_size(sk, net_admin)	\
	stap_get_info_size_new(sk, net_admin)

#ifdef STAP_COMPAT_MAIN
static int stap_get_info_new(struct sock *sk, struct sk_buff *skb,
			     bool net_admin);
static size_t stap_get_info_size_new(const struct sock *sk, bool net_admin);

static int (stap_get_info)(struct sock *sk, struct sk_buff *skb)
{
	return stap_get_info_new(sk, skb, false);
}

static size_t (stap_get_info_size)(const struct sock *sk)
{
	return stap_get_info_size_new(sk, false);
}
#endif
#endif

/* Before 6.5, the op tables of a send-tapped socket get no proto.sendpage
 * (see MSG_SENDPAGE_NOTLAST above). tcp_ulp_ops.init builds them: its
 * wrapper clears the op in the tables of the socket's family, which sit
 * after the socket's own (STAP_CONF_BASE) in stap_prots[].
 */
#if defined(STAP_COMPAT_SENDPAGE) && defined(STAP_COMPAT_MAIN)
#include "stap.h"

#define stap_init(sk)	stap_init_new(sk)
static int stap_init_new(struct sock *sk);

static int (stap_init)(struct sock *sk)
{
	struct proto *prot;
	int err;

	err = stap_init_new(sk);
	if (err)
		return err;
	prot = READ_ONCE(sk->sk_prot);
	WRITE_ONCE(prot[STAP_CONF_TX].sendpage, NULL);
	WRITE_ONCE(prot[STAP_CONF_RXTX].sendpage, NULL);
	return 0;
}
#endif

#endif /* _STAP_COMPAT_H */
