/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stap private declarations.
 */
#ifndef _STAP_H
#define _STAP_H

#include <linux/skbuff.h>
#include <linux/sockios.h>
#include <net/netns/generic.h>
#include <net/snmp.h>
#include <linux/uaccess.h>
#include <net/sock.h>
#include <net/stap.h>
#include <asm/ioctls.h>

#include "compat.h"

/* Proto configurations: which directions are tapped */
enum {
	STAP_CONF_BASE,		/* ULP set, no programs yet */
	STAP_CONF_RX,		/* receive direction tapped */
	STAP_CONF_TX,		/* send direction tapped */
	STAP_CONF_RXTX,		/* both */
	STAP_NUM_CONFIG,
};

enum {
	STAPV4,
	STAPV6,
	STAP_NUM_PROTS,
};

/* Per-namespace counters. The first ones follow struct stap_stats, whose
 * per-socket counters they sum.
 */
enum {
	STAP_MIB_RXPASSMSGS,
	STAP_MIB_RXPASSBYTES,
	STAP_MIB_RXDROPMSGS,
	STAP_MIB_RXDROPBYTES,
	STAP_MIB_TXPASSMSGS,
	STAP_MIB_TXPASSBYTES,
	STAP_MIB_TXDROPMSGS,
	STAP_MIB_TXDROPBYTES,
	STAP_MIB_DISCONNECTS,
	STAP_MIB_PARSEERRORS,
	STAP_MIB_BADVERDICTS,
	STAP_MIB_OVERSIZEMSGS,
	STAP_MIB_CURRSOCKETS,	/* sockets tapped now */
	STAP_MIB_SOCKETS,	/* sockets ever tapped */
	__STAP_MIB_MAX
};

struct stap_mib {
	unsigned long	mibs[__STAP_MIB_MAX];
};

struct stap_net {
	struct stap_mib __percpu	*mib;
};

extern unsigned int stap_net_id;

static inline struct stap_net *stap_pernet(const struct net *net)
{
	return net_generic(net, stap_net_id);
}

#define STAP_INC_STATS(net, field)	\
	SNMP_INC_STATS(stap_pernet(net)->mib, field)
#define STAP_DEC_STATS(net, field)	\
	SNMP_DEC_STATS(stap_pernet(net)->mib, field)

/* Count on the socket and in its namespace. Called with the socket
 * locked.
 */
static inline void stap_stat_add(struct sock *sk, struct stap_context *ctx,
				 int field, u64 val)
{
	u64 *st = (u64 *)&ctx->stats;

	BUILD_BUG_ON(sizeof(ctx->stats) !=
		     STAP_MIB_CURRSOCKETS * sizeof(u64));
	st[field] += val;
	SNMP_ADD_STATS(stap_pernet(sock_net(sk))->mib, field, val);
}

/* Why a message was dropped, for the stap_msg_drop tracepoint */
enum stap_drop_reason {
	STAP_DROP_VERDICT,	/* the verdict said drop */
	STAP_DROP_BAD_VERDICT,	/* unknown verdict or redirect */
	STAP_DROP_DISCONNECT,	/* disconnect verdict */
	STAP_DROP_INCOMPLETE,	/* cut by shutdown or close */
};

/* stap_proc.c */
int stap_proc_register(void);
void stap_proc_unregister(void);

/* stap_main.c */
struct sock *stap_accept(struct sock *sk, struct proto_accept_arg *arg);
int stap_defer(struct sock *sk, void (*fn)(struct sock *sk));
void stap_disconnect(struct sock *sk, struct stap_context *ctx);

/* stap_bpf.c */
int stap_bpf_get_progs(struct stap_context *ctx,
		       const struct stap_params *p);
void stap_bpf_put_progs(struct stap_context *ctx);
void stap_bpf_dup_progs(struct stap_context *dst,
			const struct stap_context *src);
void stap_bpf_fill_ids(const struct stap_context *ctx, struct stap_params *p);
int stap_bpf_parse(struct stap_context *ctx, enum stap_slot slot,
		   struct sock *sk, struct sk_buff *skb, unsigned int max);
bool stap_bpf_verdict(struct sock *sk, struct stap_context *ctx,
		      struct sk_buff *skb, bool tx);
void stap_bpf_count_drop(struct sock *sk, struct stap_context *ctx, bool tx,
			 unsigned int len, int reason);

/* stap_strp.c */
struct sk_buff *stap_strp_view(struct sk_buff *skb, unsigned int off,
			       unsigned int len);
int stap_strp_feed(struct stap_strp *strp, struct stap_context *ctx,
		   struct sock *sk, struct sk_buff *skb, unsigned int off,
		   unsigned int len, unsigned int max);
void stap_strp_init(struct stap_strp *strp, enum stap_slot slot,
		    bool (*rcv_msg)(struct sock *sk, struct stap_context *ctx,
				    struct sk_buff *msg));
void stap_strp_done(struct stap_strp *strp);

/* The errno a framing failure leaves on a direction (positive): a
 * message too large, out of memory, cut by the peer's FIN, or else a
 * parser error.
 */
static inline int stap_parse_errno(int err)
{
	if (err != -EMSGSIZE && err != -ENOMEM && err != -EPROTO)
		err = -EBADMSG;
	return -err;
}

/* stap_rx.c */
int stap_rx_init(struct sock *sk, struct stap_context *ctx);
void stap_rx_start(struct sock *sk, struct stap_context *ctx);
void stap_rx_stop(struct sock *sk, struct stap_context *ctx);
void stap_rx_abort(struct sock *sk, struct stap_context *ctx, int err);
bool stap_rx_has_unread(const struct stap_context *ctx);
void stap_rx_data_ready(struct sock *sk);
void stap_rx_release_cb(struct sock *sk);
int stap_rx_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
		    int flags);
ssize_t stap_rx_splice_read(struct socket *sock, loff_t *ppos,
			    struct pipe_inode_info *pipe, size_t len,
			    unsigned int flags);
__poll_t stap_rx_poll_mask(struct sock *sk, const struct stap_context *ctx,
			   __poll_t mask);
bool stap_rx_sock_is_readable(struct sock *sk);
int stap_rx_set_rcvlowat(struct sock *sk, int val);
int stap_rx_ioctl(struct sock *sk, int cmd, int *karg);

/* stap_tx.c */
int stap_tx_init(struct sock *sk, struct stap_context *ctx);
void stap_tx_start(struct sock *sk, struct stap_context *ctx);
void stap_tx_stop(struct sock *sk, struct stap_context *ctx);
void stap_tx_abort(struct sock *sk, struct stap_context *ctx, int err);
bool stap_tx_flush(struct sock *sk, struct stap_context *ctx);
int stap_tx_sendmsg(struct sock *sk, struct msghdr *msg, size_t size);
int stap_tx_sendpage(struct sock *sk, struct page *page, int offset,
		     size_t size, int flags);
void stap_tx_write_space(struct sock *sk);
__poll_t stap_tx_poll_mask(struct sock *sk, const struct stap_context *ctx,
			   __poll_t mask);
int stap_tx_shutdown(struct socket *sock, int how);

#ifdef STAP_TX_SENDPAGE
static inline void stap_proto_set_sendpage(struct proto *prot)
{
	prot->sendpage = stap_tx_sendpage;
}
#else
static inline void stap_proto_set_sendpage(struct proto *prot)
{
}
#endif

#ifdef STAP_IOCTL_ULONG
static inline int stap_ioctl_ulong(struct sock *sk, int cmd,
				   unsigned long arg)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	int karg, err;

	if (cmd != SIOCINQ && cmd != SIOCATMARK)
		return ctx->sk_proto->ioctl(sk, cmd, arg);
	err = stap_rx_ioctl(sk, cmd, &karg);
	return err ? err : put_user(karg, (int __user *)arg);
}

#define STAP_PROTO_IOCTL	stap_ioctl_ulong
#else
#define STAP_PROTO_IOCTL	stap_rx_ioctl
#endif

#ifdef STAP_ACCEPT_ARGS
static inline struct sock *stap_accept_args(struct sock *sk, int flags,
					    int *err, bool kern)
{
	struct proto_accept_arg arg = { .flags = flags, .kern = kern };
	struct sock *newsk = stap_accept(sk, &arg);

	*err = arg.err;
	return newsk;
}

#define STAP_PROTO_ACCEPT	stap_accept_args
#else
#define STAP_PROTO_ACCEPT	stap_accept
#endif

#ifdef STAP_RECVMSG_ADDR_LEN
static inline int stap_recvmsg_addr_len(struct sock *sk, struct msghdr *msg,
					size_t len, int flags, int *addr_len)
{
	struct stap_context *ctx = stap_get_ctx(sk);

	if (unlikely(flags & (MSG_OOB | MSG_ERRQUEUE)))
		return ctx->sk_proto->recvmsg(sk, msg, len, flags, addr_len);
	return stap_rx_recvmsg(sk, msg, len, flags);
}

#define STAP_PROTO_RECVMSG	stap_recvmsg_addr_len
#else
#define STAP_PROTO_RECVMSG	stap_rx_recvmsg
#endif

#endif /* _STAP_H */
