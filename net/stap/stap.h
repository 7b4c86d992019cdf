/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stap private declarations.
 */
#ifndef _STAP_H
#define _STAP_H

#include <linux/skbuff.h>
#include <linux/skmsg.h>
#include <linux/sockios.h>
#include <net/netns/generic.h>
#include <net/snmp.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/stap.h>
#include <asm/ioctls.h>

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
	STAP_MIB_NOMEMABORTS,
	STAP_MIB_RXREDIRECTMSGS,
	STAP_MIB_RXREDIRECTBYTES,
	STAP_MIB_REDIRECTERRORS,
	STAP_MIB_TXREDIRECTMSGS,
	STAP_MIB_TXREDIRECTBYTES,
	STAP_MIB_COPIESLOST,
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
	STAP_DROP_REDIRECT,	/* its redirect failed */
};

/* A sockmap redirect needs sockmap (CONFIG_NET_SOCK_MSG) */
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

/* stap_proc.c */
int stap_proc_register(void);
void stap_proc_unregister(void);

/* What a verdict makes of a message */
enum stap_verdict {
	STAP_MSG_PASS,		/* deliver it */
	STAP_MSG_DROP,		/* free it */
	STAP_MSG_ABORT,		/* free it and abort the connection */
	STAP_MSG_REDIRECT,	/* send it on a target */
};

/* The socket lock in either form: owned by a process, or bh-locked in
 * softirq (which frames only when no process owns the socket).
 */
static inline void stap_assert_locked(const struct sock *sk)
{
	lockdep_assert(lockdep_sock_is_held(sk));
}

/* stap_abort.c */
extern struct workqueue_struct *stap_wq;

void stap_sk_abort(struct sock *sk, struct stap_context *ctx);
void stap_rx_abort(struct sock *sk, struct stap_context *ctx, int err);
void stap_tx_abort(struct sock *sk, struct stap_context *ctx, int err);
bool stap_abort_poll(struct sock *sk, struct stap_context *ctx);

/* Drop a reference on @ctx: the last frees it after a grace period. */
static inline void stap_ctx_put(struct stap_context *ctx)
{
	if (refcount_dec_and_test(&ctx->refs))
		kfree_rcu(ctx, rcu);
}

/**
 * __stap_queue_work() - have the context's work do @what within @delay
 *	jiffies
 * @sk: socket of @ctx
 * @ctx: attached context
 * @what: what to do
 * @delay: at most this many jiffies from now: work queued for later runs
 *	at once when @delay is 0
 *
 * The queued work holds @sk and @ctx until it has run, or until
 * stap_ctx_free() cancels it. Only an attached context queues work, and
 * once detached nothing queues any more, so stap_ctx_free() cancels what
 * is queued without racing a new one.
 *
 * Context: Any context. The caller keeps @ctx attached and @sk alive in
 * one of three ways: it holds @sk's lock (stap_queue_work()); it holds
 * @ctx's own stap_rdr.lock and found it not dead, and a source's
 * reference keeps @sk (a redirect to @ctx); or it holds the
 * stap_rdr.lock of a target whose waiters list has @ctx on it (a wake),
 * which @ctx's stap_rdr_stop() takes to unlink it before @ctx detaches.
 */
static inline void __stap_queue_work(struct sock *sk, struct stap_context *ctx,
				     enum stap_work_bit what,
				     unsigned long delay)
{
	bool pending;

	set_bit(what, &ctx->todo);
	sock_hold(sk);
	refcount_inc(&ctx->refs);
	if (delay)
		pending = !queue_delayed_work(stap_wq, &ctx->work, delay);
	else
		pending = mod_delayed_work(stap_wq, &ctx->work, 0);
	/* Already pending: that one holds them */
	if (pending) {
		refcount_dec(&ctx->refs);
		sock_put(sk);
	}
}

/* __stap_queue_work() for the socket's own context, under its lock */
static inline void stap_queue_work(struct sock *sk, struct stap_context *ctx,
				   enum stap_work_bit what,
				   unsigned long delay)
{
	stap_assert_locked(sk);
	__stap_queue_work(sk, ctx, what, delay);
}

/* stap_bpf.c */
int stap_bpf_get_progs(struct stap_context *ctx,
		       const struct stap_params *p);
void stap_bpf_put_progs(struct stap_context *ctx);
void stap_bpf_dup_progs(struct stap_context *dst,
			const struct stap_context *src);
void stap_bpf_fill_ids(const struct stap_context *ctx, struct stap_params *p);
int stap_bpf_parse(struct stap_context *ctx, enum stap_slot slot,
		   struct sock *sk, struct sk_buff *skb, unsigned int max);
enum stap_verdict stap_bpf_verdict(struct sock *sk, struct stap_context *ctx,
				   struct sk_buff *skb, bool tx,
				   unsigned int *target);
void stap_bpf_count_pass(struct sock *sk, struct stap_context *ctx, bool tx,
			 unsigned int len);
void stap_bpf_count_drop(struct sock *sk, struct stap_context *ctx, bool tx,
			 unsigned int len, int reason);

/* stap_strp.c */
struct sk_buff *stap_strp_view(struct sk_buff *skb, unsigned int off,
			       unsigned int len);
int stap_strp_feed(struct stap_strp *strp, struct stap_context *ctx,
		   struct sock *sk, struct sk_buff *skb, unsigned int off,
		   unsigned int len, unsigned int max);
void stap_strp_init(struct stap_strp *strp, const struct stap_strp_ops *ops);
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

/* The counter of a framing failure: no memory is not the peer's fault */
static inline int stap_framing_mib(int err)
{
	return err == -ENOMEM ? STAP_MIB_NOMEMABORTS : STAP_MIB_PARSEERRORS;
}

/* stap_rx.c */
int stap_rx_init(struct sock *sk, struct stap_context *ctx);
void stap_rx_start(struct sock *sk, struct stap_context *ctx);
void stap_rx_start_clone(struct sock *sk, struct stap_context *ctx);
void stap_rx_stop(struct sock *sk, struct stap_context *ctx);
void stap_rx_ungate(struct sock *sk, struct stap_context *ctx);
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

/* stap_window.c */
void stap_window_update(struct sock *sk, int copied);
void stap_window_framed(struct sock *sk, int framed, bool more);
int stap_window_read_sock(struct sock *sk, read_descriptor_t *desc,
			  sk_read_actor_t actor);

/* stap_redirect.c */

/* What stap_rdr_redirect() made of a message */
enum stap_rdr_result {
	STAP_RDR_TAKEN,		/* queued on its target, or dropped */
	STAP_RDR_HELD,		/* held for room: stop framing */
	STAP_RDR_PASS,		/* copied: deliver it as passed */
};

void stap_rdr_init(struct stap_context *ctx);
enum stap_rdr_result stap_rdr_redirect(struct sock *sk,
				       struct stap_context *ctx,
				       struct sk_buff *msg, unsigned int idx,
				       int dir);
bool stap_rdr_retry(struct sock *sk, struct stap_context *ctx, int dir);
void stap_rdr_flush(struct sock *sk, struct stap_context *ctx);
void stap_rdr_take_inbox(struct stap_context *ctx, struct sk_buff_head *list);
void stap_rdr_kick(struct sock *sk, struct stap_context *ctx);
void stap_rdr_close(struct sock *sk, struct stap_context *ctx);
void stap_rdr_attached(struct sock *sk, struct stap_context *ctx);
void stap_rdr_stop(struct sock *sk, struct stap_context *ctx);
int stap_rdr_set_targets(struct sock *sk, struct stap_context *ctx,
			 sockptr_t optval, unsigned int optlen);
int stap_rdr_get_targets(struct sock *sk, struct stap_context *ctx,
			 char __user *optval, int __user *optlen);

/* Sources wait for room in this socket, or messages in its inbox for its
 * work: lockless, for sk_write_space.
 */
static inline bool stap_rdr_busy(const struct stap_context *ctx)
{
	return !list_empty_careful(&ctx->rdr.waiters) ||
	       skb_queue_len_lockless(&ctx->rdr.inbox);
}

/* Direction @dir holds redirected messages for room in their targets:
 * lockless, for poll and a writer's wait condition.
 */
static inline bool stap_rdr_holding(const struct stap_context *ctx, int dir)
{
	return skb_queue_len_lockless(&ctx->rdr.src[dir].held);
}

/* stap_tx.c */
int stap_tx_init(struct sock *sk, struct stap_context *ctx);
void stap_tx_start(struct sock *sk, struct stap_context *ctx);
void stap_tx_start_clone(struct sock *sk, struct stap_context *ctx);
void stap_tx_stop(struct sock *sk, struct stap_context *ctx);
void stap_tx_push_pending(struct sock *sk, struct stap_context *ctx);
void stap_tx_take_redirected(struct sock *sk, struct stap_context *ctx);
void stap_tx_retry_held(struct sock *sk, struct stap_context *ctx);
bool stap_tx_flush(struct sock *sk, struct stap_context *ctx);
int stap_tx_sendmsg(struct sock *sk, struct msghdr *msg, size_t size);
void stap_tx_write_space(struct sock *sk);
__poll_t stap_tx_poll_mask(struct sock *sk, const struct stap_context *ctx,
			   __poll_t mask);
int stap_tx_shutdown(struct socket *sock, int how);

#endif /* _STAP_H */
