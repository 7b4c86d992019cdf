// SPDX-License-Identifier: GPL-2.0
/*
 * stap: the socket tap. TCP ULP registration, socket options, proto tables
 * and the life cycle of a tapped socket.
 */

#include <linux/bpf.h>
#include <linux/inet_diag.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/inet_common.h>
#include <net/netlink.h>
#include <net/tcp.h>
#include <net/transp_v6.h>

#include "stap.h"
#include "trace.h"

MODULE_AUTHOR("Seed 7d41800b maintainers <maintainers@users.noreply.r-seed-7d41800b.example>");
MODULE_DESCRIPTION("stap: BPF verdicts on the messages of TCP sockets");
MODULE_LICENSE("GPL");
MODULE_ALIAS_TCP_ULP("stap");

static struct proto *saved_tcpv6_prot;
static DEFINE_MUTEX(tcpv6_prot_mutex);
static struct proto *saved_tcpv4_prot;
static DEFINE_MUTEX(tcpv4_prot_mutex);
static struct proto stap_prots[STAP_NUM_PROTS][STAP_NUM_CONFIG];
/* Built at run time from the socket's own, as kTLS builds tls_proto_ops */
static struct proto_ops stap_proto_ops[STAP_NUM_PROTS][STAP_NUM_CONFIG];

static int stap_conf(const struct stap_context *ctx)
{
	return (ctx->rx_on ? STAP_CONF_RX : 0) |
	       (ctx->tx_on ? STAP_CONF_TX : 0);
}

/**
 * stap_update_sk_prot() - point the socket at the proto of its config
 * @sk: socket, owned by the caller
 * @ctx: its context
 */
static void stap_update_sk_prot(struct sock *sk, struct stap_context *ctx)
{
	int ip_ver = sk->sk_family == AF_INET6 ? STAPV6 : STAPV4;

	sock_owned_by_me(sk);
	WRITE_ONCE(sk->sk_prot, &stap_prots[ip_ver][stap_conf(ctx)]);
	if (sk->sk_socket)
		WRITE_ONCE(sk->sk_socket->ops,
			   &stap_proto_ops[ip_ver][stap_conf(ctx)]);
}

/* Called from stap's workqueue, the socket not locked; holds the socket
 * and the context (stap_queue_work()).
 */
static void stap_work(struct work_struct *work)
{
	struct stap_context *ctx = container_of(to_delayed_work(work),
						struct stap_context, work);
	struct sock *sk = ctx->sk;
	unsigned long todo;
	bool reset = false;

	lock_sock(sk);
	todo = xchg(&ctx->todo, 0);
	/* Detached, the socket is TCP's again: nothing is left to do */
	if (stap_get_ctx(sk) == ctx) {
		if (todo & BIT(STAP_WORK_TX_PUSH))
			stap_tx_push_pending(sk, ctx);
		if ((todo & BIT(STAP_WORK_RDR_IN)) && ctx->tx_on)
			stap_tx_take_redirected(sk, ctx);
		/* The held messages' targets may have room */
		if ((todo & BIT(STAP_WORK_RDR_RETRY)) && ctx->rx_on)
			stap_rx_ungate(sk, ctx);
		if ((todo & BIT(STAP_WORK_RDR_RETRY)) && ctx->tx_on)
			stap_tx_retry_held(sk, ctx);
		if (todo & BIT(STAP_WORK_ABORT))
			reset = stap_abort_poll(sk, ctx);
	}
	release_sock(sk);
	if (reset)
		tcp_abort(sk, ECONNABORTED);
	sock_put(sk);
	stap_ctx_put(ctx);
}

/* What every new context starts with: its socket, the socket's reference
 * and its work item.
 */
static void stap_ctx_init(struct sock *sk, struct stap_context *ctx)
{
	ctx->sk = sk;
	refcount_set(&ctx->refs, 1);
	INIT_DELAYED_WORK(&ctx->work, stap_work);
	stap_rdr_init(ctx);
}

static struct stap_context *stap_ctx_create(struct sock *sk, gfp_t gfp)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct stap_context *ctx;

	ctx = kzalloc_obj(*ctx, gfp);
	if (!ctx)
		return NULL;
	stap_ctx_init(sk, ctx);
	ctx->sk_proto = READ_ONCE(sk->sk_prot);
	ctx->sk_ops = sk->sk_socket ? READ_ONCE(sk->sk_socket->ops) : NULL;
	rcu_assign_pointer(icsk->icsk_ulp_data, ctx);
	return ctx;
}

/* Free a detached context: its work, if queued, is cancelled (running, it
 * finds the context detached and does nothing); the memory goes after an
 * RCU grace period (sock_diag), once that work has put its reference.
 * Callable in any context: no work can be queued once detached.
 */
static void stap_ctx_free(struct stap_context *ctx)
{
	stap_bpf_put_progs(ctx);
	if (cancel_delayed_work(&ctx->work)) {
		sock_put(ctx->sk);
		stap_ctx_put(ctx);
	}
	stap_ctx_put(ctx);
}

/* Detach @ctx from @sk and give the socket back its TCP proto; each
 * direction gives back its own callbacks. Called with the socket owned,
 * or on a socket being destroyed.
 */
static void stap_ctx_detach(struct sock *sk, struct stap_context *ctx)
{
	if (stap_attached(ctx))
		STAP_DEC_STATS(sock_net(sk), STAP_MIB_CURRSOCKETS);
	stap_rdr_stop(sk, ctx);
	if (ctx->rx_on)
		stap_rx_stop(sk, ctx);
	if (ctx->tx_on)
		stap_tx_stop(sk, ctx);
	write_lock_bh(&sk->sk_callback_lock);
	rcu_assign_pointer(inet_csk(sk)->icsk_ulp_data, NULL);
	WRITE_ONCE(sk->sk_prot, ctx->sk_proto);
	if (sk->sk_socket && ctx->sk_ops)
		WRITE_ONCE(sk->sk_socket->ops, ctx->sk_ops);
	write_unlock_bh(&sk->sk_callback_lock);
}

/* Closing with passed data never read resets the connection, as TCP does
 * with unread data in its receive queue; so does a DISCONNECT verdict, or
 * accepted bytes TCP cannot take. Accepted bytes are otherwise handed to
 * TCP first, which delivers them as it delivers its own. Called from
 * inet_release() in process context, the socket not locked.
 */
static void stap_close(struct sock *sk, long timeout)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	struct proto *sk_proto = ctx->sk_proto;
	bool reset;

	lock_sock(sk);
	stap_rdr_close(sk, ctx);
	if (ctx->tx_on)
		stap_tx_take_redirected(sk, ctx);
	reset = stap_rx_has_unread(ctx) || ctx->rx.err == ECONNABORTED ||
		ctx->tx.err == ECONNABORTED;
	if (ctx->tx_on && !reset &&
	    !(sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime))
		reset = stap_tx_flush(sk, ctx);
	if (reset) {
		sock_set_flag(sk, SOCK_LINGER);
		sk->sk_lingertime = 0;
	}
	stap_ctx_detach(sk, ctx);
	release_sock(sk);
	stap_ctx_free(ctx);
	sk_proto->close(sk, timeout);
}

/* connect(AF_UNSPEC) would reuse the socket under the tap's stale state;
 * refused as kTLS does. close() gives TCP its own proto back first.
 */
static int stap_disconnect_proto(struct sock *sk, int flags)
{
	return -EOPNOTSUPP;
}

static int stap_check_params(const struct stap_params *p)
{
	if (p->flags || p->reserved || p->send_parse_id ||
	    p->send_verdict_id || p->recv_parse_id || p->recv_verdict_id)
		return -EINVAL;
	if (p->bpf_send_verdict_fd == STAP_NO_PROG &&
	    p->bpf_send_parse_fd != STAP_NO_PROG)
		return -EINVAL;
	if (p->bpf_recv_verdict_fd == STAP_NO_PROG &&
	    p->bpf_recv_parse_fd != STAP_NO_PROG)
		return -EINVAL;
	if (p->bpf_send_verdict_fd == STAP_NO_PROG &&
	    p->bpf_recv_verdict_fd == STAP_NO_PROG)
		return -EINVAL;
	return 0;
}

static void stap_count_socket(struct sock *sk)
{
	STAP_INC_STATS(sock_net(sk), STAP_MIB_CURRSOCKETS);
	STAP_INC_STATS(sock_net(sk), STAP_MIB_SOCKETS);
}

/* Called with the socket owned. */
static int __stap_attach(struct sock *sk, struct stap_context *ctx,
			 const struct stap_params *p)
{
	int state = sk->sk_state;
	int err;

	sock_owned_by_me(sk);
	if (stap_attached(ctx))
		return -EBUSY;
	if (state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT &&
	    state != TCP_LISTEN)
		return -ENOTCONN;

	err = stap_bpf_get_progs(ctx, p);
	if (err)
		return err;
	if (ctx->progs[STAP_SLOT_RECV_VERDICT]) {
		err = stap_rx_init(sk, ctx);
		if (err)
			goto err_put_progs;
	}
	if (ctx->progs[STAP_SLOT_SEND_VERDICT]) {
		err = stap_tx_init(sk, ctx);
		if (err)
			goto err_put_progs;
	}
	/* Pairs with READ_ONCE() in the lockless callbacks and poll. The
	 * send side first: a redirect source that sees the socket attached
	 * must see whether it sends (stap_rdr_can_send()).
	 */
	WRITE_ONCE(ctx->tx_on, !!ctx->progs[STAP_SLOT_SEND_VERDICT]);
	smp_wmb();	/* pairs with smp_rmb() in stap_rdr_can_send() */
	WRITE_ONCE(ctx->rx_on, !!ctx->progs[STAP_SLOT_RECV_VERDICT]);
	stap_update_sk_prot(sk, ctx);
	stap_count_socket(sk);
	if (state == TCP_LISTEN)
		return 0;
	if (ctx->rx_on)
		stap_rx_start(sk, ctx);
	if (ctx->tx_on)
		stap_tx_start(sk, ctx);
	stap_rdr_attached(sk, ctx);
	return 0;

err_put_progs:
	stap_bpf_put_progs(ctx);
	return err;
}

static int do_stap_setsockopt_params(struct sock *sk, sockptr_t optval,
				     unsigned int optlen)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	struct stap_params p;
	int err;

	if (optlen < STAP_PARAMS_SIZE_VER0)
		return -EINVAL;
	err = copy_struct_from_sockptr(&p, sizeof(p), optval, optlen);
	if (err)
		return err;
	err = stap_check_params(&p);
	if (err)
		return err;

	lock_sock(sk);
	err = __stap_attach(sk, ctx, &p);
	release_sock(sk);
	return err;
}

/* Called in process context, the socket not locked. */
static int stap_setsockopt(struct sock *sk, int level, int optname,
			   sockptr_t optval, unsigned int optlen)
{
	struct stap_context *ctx = stap_get_ctx(sk);

	if (level != SOL_STAP)
		return ctx->sk_proto->setsockopt(sk, level, optname, optval,
						 optlen);
	switch (optname) {
	case STAP_PARAMS:
		return do_stap_setsockopt_params(sk, optval, optlen);
	case STAP_TARGETS:
		return stap_rdr_set_targets(sk, ctx, optval, optlen);
	default:
		return -ENOPROTOOPT;
	}
}

/* Copy @size bytes of @val out, truncated to what the caller asked for. */
static int stap_getsockopt_copy(const void *val, int size, int min_size,
				char __user *optval, int __user *optlen)
{
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < min_size)
		return -EINVAL;
	len = min(len, size);
	if (copy_to_user(optval, val, len))
		return -EFAULT;
	if (put_user(len, optlen))
		return -EFAULT;
	return 0;
}

static int do_stap_getsockopt_params(struct sock *sk, char __user *optval,
				     int __user *optlen)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	struct stap_params p = {};

	lock_sock(sk);
	stap_bpf_fill_ids(ctx, &p);
	release_sock(sk);
	return stap_getsockopt_copy(&p, sizeof(p), STAP_PARAMS_SIZE_VER0,
				    optval, optlen);
}

static int do_stap_getsockopt_stats(struct sock *sk, char __user *optval,
				    int __user *optlen)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	struct stap_stats st;

	lock_sock(sk);
	if (!stap_attached(ctx)) {
		release_sock(sk);
		return -ENODATA;
	}
	st = ctx->stats;
	release_sock(sk);
	return stap_getsockopt_copy(&st, sizeof(st), sizeof(__u64),
				    optval, optlen);
}

/* Called in process context, the socket not locked. */
static int stap_getsockopt(struct sock *sk, int level, int optname,
			   char __user *optval, int __user *optlen)
{
	struct stap_context *ctx = stap_get_ctx(sk);

	if (level != SOL_STAP) {
		/* Zero-copy receive would read around the tap */
		if (level == SOL_TCP && optname == TCP_ZEROCOPY_RECEIVE &&
		    ctx->rx_on)
			return -EOPNOTSUPP;
		return ctx->sk_proto->getsockopt(sk, level, optname, optval,
						 optlen);
	}
	switch (optname) {
	case STAP_PARAMS:
		return do_stap_getsockopt_params(sk, optval, optlen);
	case STAP_STATS:
		return do_stap_getsockopt_stats(sk, optval, optlen);
	case STAP_TARGETS:
		return stap_rdr_get_targets(sk, ctx, optval, optlen);
	default:
		return -ENOPROTOOPT;
	}
}

/**
 * stap_accept() - proto.accept of a listener with the stap ULP
 * @sk: listening socket
 * @arg: accept flags in, error out
 *
 * A child that could not get its own context is not handed out untapped.
 *
 * Context: Process context (inet_accept()), the listener not locked.
 *
 * Return: the accepted socket, or NULL with @arg->err set.
 */
static struct sock *stap_accept(struct sock *sk, struct proto_accept_arg *arg)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	struct sock *newsk;

	newsk = ctx->sk_proto->accept(sk, arg);
	if (!newsk || stap_get_ctx(newsk))
		return newsk;
	/* The child's proto is TCP's again (stap_clone()) */
	newsk->sk_prot->close(newsk, 0);
	arg->err = -ENOMEM;
	return NULL;
}

static void stap_build_rx_proto(struct proto *prot)
{
	prot->recvmsg		= stap_rx_recvmsg;
	prot->sock_is_readable	= stap_rx_sock_is_readable;
	prot->ioctl		= stap_rx_ioctl;
	prot->release_cb	= stap_rx_release_cb;
}

static void stap_build_tx_proto(struct proto *prot)
{
	prot->sendmsg		= stap_tx_sendmsg;
}

static void stap_build_protos(struct proto prot[STAP_NUM_CONFIG],
			      const struct proto *base)
{
	int conf;

	for (conf = 0; conf < STAP_NUM_CONFIG; conf++) {
		prot[conf] = *base;
		prot[conf].setsockopt	= stap_setsockopt;
		prot[conf].getsockopt	= stap_getsockopt;
		prot[conf].close	= stap_close;
		prot[conf].disconnect	= stap_disconnect_proto;
		prot[conf].accept	= stap_accept;
		if (conf & STAP_CONF_RX)
			stap_build_rx_proto(&prot[conf]);
		if (conf & STAP_CONF_TX)
			stap_build_tx_proto(&prot[conf]);
	}
}

/* Called from poll() and select(), lockless. */
static __poll_t stap_poll(struct file *file, struct socket *sock,
			  struct poll_table_struct *wait)
{
	struct sock *sk = sock->sk;
	struct stap_context *ctx;
	__poll_t mask;

	mask = tcp_poll(file, sock, wait);
	ctx = stap_get_ctx(sk);
	if (!ctx || inet_sk_state_load(sk) == TCP_LISTEN)
		return mask;
	if (READ_ONCE(ctx->rx_on))
		mask = stap_rx_poll_mask(sk, ctx, mask);
	if (READ_ONCE(ctx->tx_on))
		mask = stap_tx_poll_mask(sk, ctx, mask);
	return mask;
}

/* proto_ops.shutdown of a tapped send side: what sources redirected here
 * goes to TCP ahead of the FIN, with the accepted messages. Called in
 * process context, the socket not locked.
 */
static int stap_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;

	if (how == SHUT_WR || how == SHUT_RDWR) {
		lock_sock(sk);
		stap_tx_take_redirected(sk, stap_get_ctx(sk));
		release_sock(sk);
	}
	return stap_tx_shutdown(sock, how);
}

static void stap_build_proto_ops(int ip_ver, const struct proto_ops *base)
{
	struct proto_ops *ops;
	int conf;

	for (conf = 0; conf < STAP_NUM_CONFIG; conf++) {
		ops = &stap_proto_ops[ip_ver][conf];
		*ops = *base;
		if (conf != STAP_CONF_BASE)
			ops->poll = stap_poll;
		if (conf & STAP_CONF_RX) {
			ops->splice_read	= stap_rx_splice_read;
			ops->set_rcvlowat	= stap_rx_set_rcvlowat;
			/* Nothing may read the TCP queue around the tap */
			ops->read_sock		= NULL;
			ops->read_skb		= NULL;
		}
		if (conf & STAP_CONF_TX)
			ops->shutdown		= stap_shutdown;
	}
}

/* Build the tables of one family whenever the address of its TCP proto
 * changes.
 */
static void stap_build_family(struct sock *sk, int ip_ver, struct proto **saved,
			      struct mutex *lock)
{
	struct proto *prot = READ_ONCE(sk->sk_prot);

	/* Pairs with smp_store_release() below */
	if (likely(prot == smp_load_acquire(saved)))
		return;
	mutex_lock(lock);
	if (likely(prot != *saved)) {
		stap_build_protos(stap_prots[ip_ver], prot);
		stap_build_proto_ops(ip_ver, sk->sk_socket->ops);
		/* Pairs with smp_load_acquire() above */
		smp_store_release(saved, prot);
	}
	mutex_unlock(lock);
}

static void stap_build_proto(struct sock *sk)
{
	if (sk->sk_family == AF_INET6)
		stap_build_family(sk, STAPV6, &saved_tcpv6_prot,
				  &tcpv6_prot_mutex);
	else
		stap_build_family(sk, STAPV4, &saved_tcpv4_prot,
				  &tcpv4_prot_mutex);
}

/* stap's protos are built from TCP's own. A socket whose proto another
 * layer has replaced (a sockmap member runs on tcp_bpf's) would have the
 * global tables rebuilt from that layer's under live sockets.
 */
static bool stap_sk_is_tcp(const struct sock *sk)
{
	const struct proto *prot = READ_ONCE(sk->sk_prot);

#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6)
		return prot == &tcpv6_prot;
#endif
	return prot == &tcp_prot;
}

/* Called with the socket owned, from setsockopt(TCP_ULP). */
static int stap_init(struct sock *sk)
{
	struct stap_context *ctx;
	int state = sk->sk_state;

	sock_owned_by_me(sk);
	if (!sk->sk_socket)
		return -EINVAL;
	if (!stap_sk_is_tcp(sk))
		return -EBUSY;
	if (state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT &&
	    state != TCP_LISTEN)
		return -ENOTCONN;

	stap_build_proto(sk);
	write_lock_bh(&sk->sk_callback_lock);
	ctx = stap_ctx_create(sk, GFP_ATOMIC);
	if (ctx)
		stap_update_sk_prot(sk, ctx);
	write_unlock_bh(&sk->sk_callback_lock);
	return ctx ? 0 : -ENOMEM;
}

/* Called from tcp_ulp_ops.update (sockmap); stap sockets are not
 * sockmap members, so only keep the saved proto current.
 */
static void stap_update(struct sock *sk, struct proto *p,
			void (*write_space)(struct sock *sk))
{
	struct stap_context *ctx = stap_get_ctx(sk);

	if (likely(ctx)) {
		ctx->sk_proto = p;
	} else {
		/* Pairs with lockless read in sk_clone_lock(). */
		WRITE_ONCE(sk->sk_prot, p);
		sk->sk_write_space = write_space;
	}
}

/* Called from tcp_v4_destroy_sock(), possibly in softirq: a socket that
 * never went through close(), such as a child never accepted.
 */
static void stap_release(struct sock *sk)
{
	struct stap_context *ctx = stap_get_ctx(sk);

	if (!ctx)
		return;
	stap_ctx_detach(sk, ctx);
	stap_ctx_free(ctx);
}

/* Called from softirq with the listener's context copied into @newsk. */
static void stap_clone(const struct request_sock *req, struct sock *newsk,
		       const gfp_t priority)
{
	struct stap_context *lctx = stap_get_ctx(newsk);
	struct stap_context *ctx;

	/* tcp_cleanup_ulp() puts a module reference for every socket with
	 * icsk_ulp_ops, but inet_clone_ulp() takes none for the child.
	 */
	__module_get(THIS_MODULE);
	/* sk_clone() made the listener's proto, stap's, the child's
	 * creator, which its TIME_WAIT socket inherits as tw_prot and uses
	 * after stap may be gone (the module holds no reference for it).
	 * TCP's proto is the child's real creator: same slab, no owner.
	 */
	newsk->sk_prot_creator = lctx->sk_proto;
	rcu_assign_pointer(inet_csk(newsk)->icsk_ulp_data, NULL);
	ctx = kzalloc_obj(*ctx, priority);
	if (!ctx)
		goto err_untap;
	stap_ctx_init(newsk, ctx);
	ctx->sk_proto = lctx->sk_proto;
	ctx->sk_ops = lctx->sk_ops;
	ctx->rx_on = READ_ONCE(lctx->rx_on);
	ctx->tx_on = READ_ONCE(lctx->tx_on);
	stap_bpf_dup_progs(ctx, lctx);
	if (ctx->rx_on && stap_rx_init(newsk, ctx))
		goto err_free_ctx;
	if (ctx->tx_on && stap_tx_init(newsk, ctx))
		goto err_free_ctx;
	if (ctx->rx_on)
		stap_rx_start_clone(newsk, ctx);
	if (ctx->tx_on)
		stap_tx_start_clone(newsk, ctx);
	rcu_assign_pointer(inet_csk(newsk)->icsk_ulp_data, ctx);
	stap_count_socket(newsk);
	return;

err_free_ctx:
	stap_bpf_put_progs(ctx);
	kfree(ctx);
err_untap:
	/* stap_accept() refuses the child */
	WRITE_ONCE(newsk->sk_prot, lctx->sk_proto);
}

static int stap_info_put_ids(struct sk_buff *skb,
			     const struct stap_context *ctx)
{
	static const int attr[STAP_NUM_SLOTS] = {
		[STAP_SLOT_SEND_PARSE]		= STAP_INFO_SEND_PARSE_ID,
		[STAP_SLOT_SEND_VERDICT]	= STAP_INFO_SEND_VERDICT_ID,
		[STAP_SLOT_RECV_PARSE]		= STAP_INFO_RECV_PARSE_ID,
		[STAP_SLOT_RECV_VERDICT]	= STAP_INFO_RECV_VERDICT_ID,
	};
	int i;

	for (i = 0; i < STAP_NUM_SLOTS; i++)
		if (ctx->progs[i] &&
		    nla_put_u32(skb, attr[i], ctx->progs[i]->aux->id))
			return -EMSGSIZE;
	return 0;
}

/* Counters in the STAP_INFO_STATS nest, one u64 attribute each */
#define STAP_INFO_NUM_STATS	(STAP_STATS_MAX - STAP_STATS_PAD)

/* Read locklessly: stap_stat_add() writes them with the socket locked. */
static int stap_info_put_stats(struct sk_buff *skb,
			       const struct stap_stats *st)
{
	const struct {
		int		type;
		const __u64	*val;
	} stats[] = {
		{ STAP_STATS_RX_PASS_MSGS,	&st->rx_pass_msgs },
		{ STAP_STATS_RX_PASS_BYTES,	&st->rx_pass_bytes },
		{ STAP_STATS_RX_DROP_MSGS,	&st->rx_drop_msgs },
		{ STAP_STATS_RX_DROP_BYTES,	&st->rx_drop_bytes },
		{ STAP_STATS_TX_PASS_MSGS,	&st->tx_pass_msgs },
		{ STAP_STATS_TX_PASS_BYTES,	&st->tx_pass_bytes },
		{ STAP_STATS_TX_DROP_MSGS,	&st->tx_drop_msgs },
		{ STAP_STATS_TX_DROP_BYTES,	&st->tx_drop_bytes },
		{ STAP_STATS_DISCONNECTS,	&st->disconnects },
		{ STAP_STATS_PARSE_ERRORS,	&st->parse_errors },
		{ STAP_STATS_BAD_VERDICTS,	&st->bad_verdicts },
		{ STAP_STATS_OVERSIZE_MSGS,	&st->oversize_msgs },
		{ STAP_STATS_NOMEM_ABORTS,	&st->nomem_aborts },
		{ STAP_STATS_RX_REDIRECT_MSGS,	&st->rx_redirect_msgs },
		{ STAP_STATS_RX_REDIRECT_BYTES,	&st->rx_redirect_bytes },
		{ STAP_STATS_REDIRECT_ERRORS,	&st->redirect_errors },
		{ STAP_STATS_TX_REDIRECT_MSGS,	&st->tx_redirect_msgs },
		{ STAP_STATS_TX_REDIRECT_BYTES,	&st->tx_redirect_bytes },
		{ STAP_STATS_COPIES_LOST,	&st->copies_lost },
	};
	struct nlattr *nest;
	int i;

	BUILD_BUG_ON(ARRAY_SIZE(stats) != STAP_INFO_NUM_STATS);
	nest = nla_nest_start(skb, STAP_INFO_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(stats); i++)
		if (nla_put_u64_64bit(skb, stats[i].type,
				      READ_ONCE(*stats[i].val), STAP_STATS_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* tcp_ulp_ops.get_info, for sock_diag (ss -i). Called under RCU; the
 * counters are read without the socket lock.
 */
static int stap_get_info(struct sock *sk, struct sk_buff *skb,
			 bool net_admin)
{
	struct stap_context *ctx;
	struct nlattr *start;
	int err = 0;

	start = nla_nest_start_noflag(skb, INET_ULP_INFO_STAP);
	if (!start)
		return -EMSGSIZE;
	rcu_read_lock();
	ctx = rcu_dereference(inet_csk(sk)->icsk_ulp_data);
	if (ctx && stap_attached(ctx)) {
		err = stap_info_put_ids(skb, ctx);
		if (!err)
			err = stap_info_put_stats(skb, &ctx->stats);
	}
	rcu_read_unlock();
	if (err) {
		nla_nest_cancel(skb, start);
		return err;
	}
	nla_nest_end(skb, start);
	return 0;
}

/* Called from sock_diag with the socket not locked. */
static size_t stap_get_info_size(const struct sock *sk, bool net_admin)
{
	return nla_total_size(0) +		/* INET_ULP_INFO_STAP */
		4 * nla_total_size(sizeof(u32)) + /* STAP_INFO_*_ID */
		nla_total_size(0) +		/* STAP_INFO_STATS */
		STAP_INFO_NUM_STATS *		/* STAP_STATS_* */
			nla_total_size_64bit(sizeof(u64));
}

static struct tcp_ulp_ops stap_ulp_ops __read_mostly = {
	.name		= "stap",
	.owner		= THIS_MODULE,
	.init		= stap_init,
	.update		= stap_update,
	.release	= stap_release,
	.clone		= stap_clone,
	.get_info	= stap_get_info,
	.get_info_size	= stap_get_info_size,
};

static int __init stap_register(void)
{
	int err;

	/* Where the work runs does not order anything (stap_abort.c) */
	stap_wq = alloc_workqueue("stap", WQ_UNBOUND, 0);
	if (!stap_wq)
		return -ENOMEM;

	err = stap_proc_register();
	if (err)
		goto err_destroy_wq;
	err = tcp_register_ulp(&stap_ulp_ops);
	if (err)
		goto err_proc_unregister;
	return 0;

err_proc_unregister:
	stap_proc_unregister();
err_destroy_wq:
	destroy_workqueue(stap_wq);
	return err;
}

static void __exit stap_unregister(void)
{
	tcp_unregister_ulp(&stap_ulp_ops);
	stap_proc_unregister();
	/* Waits for the work of sockets destroyed last */
	destroy_workqueue(stap_wq);
}

module_init(stap_register);
module_exit(stap_unregister);
