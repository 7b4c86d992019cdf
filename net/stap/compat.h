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
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

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

/* skb_send_sock_locked() takes MSG_* flags (MSG_MORE, MSG_OOB) in 7.3 but
 * not in 6.12. Older kernels get the same walk of the skb as
 * __skb_send_sock() with them: its head through proto_ops.sendmsg_locked,
 * its pages by reference (MSG_SPLICE_PAGES, or proto_ops.sendpage_locked
 * before it), one level of frag_list.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
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
#ifdef MSG_SPLICE_PAGES
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };
	struct bio_vec bvec;

	bvec_set_page(&bvec, page, len, off);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bvec, 1, len);
	return sk->sk_socket->ops->sendmsg_locked(sk, &msg, len);
#else
	return sk->sk_socket->ops->sendpage_locked(sk, page, off, len, flags);
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
		ret = frag ? stap_send_page(sk, skb_frag_page(frag),
					    skb_frag_off(frag) + off, n, flags) :
			     stap_send_head(sk, skb->data + off, n, flags);
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
