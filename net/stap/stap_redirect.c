// SPDX-License-Identifier: GPL-2.0
/*
 * stap: redirect, a verdict sending a message on another socket.
 *
 * A socket's owner names its targets with STAP_TARGETS: other connected
 * TCP sockets with stap and a tapped send side. A verdict of either
 * direction of STAP_VERDICT_REDIRECT_TO(i) hands the message to target
 * i, or with STAP_TARGET_COPY a copy of it, the message itself passing
 * on as if passed: it joins
 * the target's inbox (struct stap_rdr), and the target's work sends it
 * after the accepted messages waiting there, as if the target's
 * application had written it, without the target's own send verdict.
 * It lands at a message boundary of the target's stream, since a
 * message being framed on the target is not in its send queue yet.
 *
 * Flow control: a target takes messages while the redirected skbs it
 * holds, in its inbox or on its send side, stay below its send buffer by
 * truesize (each skb's destructor gives its share back). Without room,
 * the source holds the message: on receive it stops framing, so that its
 * TCP receive queue fills and its window closes toward its peer; on send
 * its writers wait (or get EAGAIN), as for a full send buffer, with what
 * it holds charged to its own. The last skb freed below the limit wakes
 * it. Nothing is dropped for lack of room but copies, which never wait:
 * a copy without room is lost, and counted.
 *
 * Locking: a source and a target never hold each other's socket lock.
 * The source, under its own socket lock, takes the target's stap_rdr.lock
 * to queue a message or to wait; the target, under its own, takes it to
 * take its inbox and to wake its waiters. Either queues the other's work
 * under that lock, while the other's teardown (stap_rdr_stop(), which
 * takes it too) has not run: the other is still attached and alive.
 */

#include <linux/net.h>
#include <linux/sock_diag.h>
#include <net/tcp.h>

#include "stap.h"
#include "trace.h"

/**
 * stap_rdr_init() - initialise the redirect state of a new context
 * @ctx: context, not yet visible
 */
void stap_rdr_init(struct stap_context *ctx)
{
	struct stap_rdr *rdr = &ctx->rdr;
	int dir;

	for (dir = 0; dir < STAP_RDR_DIRS; dir++) {
		__skb_queue_head_init(&rdr->src[dir].held);
		INIT_LIST_HEAD(&rdr->src[dir].wait);
		rdr->src[dir].ctx = ctx;
	}
	INIT_LIST_HEAD(&rdr->waiters);
	__skb_queue_head_init(&rdr->inbox);
	spin_lock_init(&rdr->lock);
}

static void stap_rdr_target_put(struct stap_rdr_target *t)
{
	if (!refcount_dec_and_test(&t->refs))
		return;
	stap_ctx_put(t->ctx);
	sock_put(t->sk);
	kfree(t);
}

static void stap_rdr_table_free(struct stap_rdr_table *tbl)
{
	unsigned int i;

	if (!tbl)
		return;
	/* A table that failed to fill has NULL entries left */
	for (i = 0; i < tbl->n && tbl->t[i]; i++)
		stap_rdr_target_put(tbl->t[i]);
	kfree(tbl);
}

/**
 * struct stap_rdr_cb - what a held message keeps in its skb
 * @to: its target, referenced
 */
struct stap_rdr_cb {
	struct stap_rdr_target	*to;
};

static struct stap_rdr_cb *stap_rdr_cb(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct stap_rdr_cb) > sizeof(skb->cb));
	return (struct stap_rdr_cb *)skb->cb;
}

/* Wake every source waiting for room here. Called with @rdr->lock. */
static void stap_rdr_wake(struct stap_rdr *rdr)
{
	struct stap_rdr_src *src, *tmp;

	lockdep_assert_held(&rdr->lock);
	list_for_each_entry_safe(src, tmp, &rdr->waiters, wait) {
		list_del_init(&src->wait);
		__stap_queue_work(src->ctx->sk, src->ctx, STAP_WORK_RDR_RETRY,
				  0);
	}
}

/* A send-side message comes charged to the socket, as framing charged
 * it: the charge is given back when it leaves, queued or dropped.
 */
static void stap_rdr_uncharge(struct sock *sk, int dir, unsigned int len)
{
	if (dir == STAP_RDR_TX && len)
		sk_mem_uncharge(sk, len);
}

/* The target can still send: lockless, as a hint its own send path
 * checks again under its lock. Not attached yet, it can (and has no
 * room); attached, only with a tapped send side.
 */
static bool stap_rdr_can_send(const struct sock *sk,
			      const struct stap_context *ctx)
{
	if (READ_ONCE(sk->sk_err) ||
	    (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) ||
	    !((1 << READ_ONCE(sk->sk_state)) &
	      (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		return false;
	if (!READ_ONCE(ctx->rx_on) && !READ_ONCE(ctx->tx_on))
		return true;
	/* Pairs with smp_wmb() in __stap_attach(): tx_on is set first */
	smp_rmb();
	return READ_ONCE(ctx->tx_on) && !READ_ONCE(ctx->tx.err);
}

/* Room for one more message: the target's programs are attached (its
 * send side is tapped once they are, or it cannot send), and what it
 * holds of redirected skbs, by truesize, is below its send buffer: a
 * small message cut from a large skb pins all of that skb.
 */
static bool stap_rdr_room(const struct sock *sk, const struct stap_context *ctx)
{
	return stap_attached(ctx) &&
	       atomic_read(&ctx->rdr.queued) < READ_ONCE(sk->sk_sndbuf);
}

/* Destructor of a redirected skb: its target's share back, and the
 * sources waiting for room woken once there is. The target is still
 * attached: it frees the skbs it holds before it detaches (its inbox in
 * stap_rdr_stop(), its send side in stap_tx_stop()).
 */
static void stap_rdr_skb_free(struct sk_buff *skb)
{
	struct stap_context *ctx = stap_get_ctx(skb->sk);
	struct stap_rdr *rdr = &ctx->rdr;
	int left;

	left = atomic_sub_return(skb->truesize, &rdr->queued);
	/* Pairs with smp_mb() in stap_rdr_queue(): a source that found no
	 * room is on the list by now, or sees the room
	 */
	if (left >= READ_ONCE(skb->sk->sk_sndbuf) ||
	    list_empty_careful(&rdr->waiters))
		return;
	spin_lock_bh(&rdr->lock);
	stap_rdr_wake(rdr);
	spin_unlock_bh(&rdr->lock);
}

/* Charge @msg to target @sk: its destructor gives the charge back */
static void stap_rdr_charge(struct sock *sk, struct stap_context *ctx,
			    struct sk_buff *msg)
{
	DEBUG_NET_WARN_ON_ONCE(msg->destructor);
	msg->sk = sk;
	msg->destructor = stap_rdr_skb_free;
	atomic_add(msg->truesize, &ctx->rdr.queued);
}

/* How stap_rdr_queue() treats a target without room */
enum stap_rdr_mode {
	STAP_RDR_WAIT,		/* the source waits for room */
	STAP_RDR_TRY,		/* the message is not queued (a copy) */
	STAP_RDR_FORCE,		/* queued anyway: a closing source's last */
};

/* Queue @msg on @t; without room, as @mode says. With STAP_RDR_WAIT,
 * @src's wait node is on @t's waiters after -EAGAIN, and on none after
 * anything else: it is only ever on those of its first held message's
 * target.
 *
 * Return: 0 when queued, -EAGAIN without room, -EPIPE when @t cannot
 * send.
 */
static int stap_rdr_queue(struct stap_rdr_src *src, struct stap_rdr_target *t,
			  struct sk_buff *msg, enum stap_rdr_mode mode)
{
	struct stap_rdr *in = &t->ctx->rdr;
	int err = 0;

	spin_lock_bh(&in->lock);
	if (in->dead || !stap_rdr_can_send(t->sk, t->ctx)) {
		err = -EPIPE;
	} else if (mode == STAP_RDR_FORCE) {
		if (!stap_attached(t->ctx))
			err = -EPIPE;
	} else if (!stap_rdr_room(t->sk, t->ctx)) {
		err = -EAGAIN;
		if (mode == STAP_RDR_WAIT && list_empty(&src->wait))
			list_add_tail(&src->wait, &in->waiters);
		/* Pairs with atomic_sub_return() in stap_rdr_skb_free() */
		smp_mb();
		if (mode == STAP_RDR_WAIT && stap_rdr_room(t->sk, t->ctx))
			err = 0;
	}
	/* On no list but while waiting */
	if (mode != STAP_RDR_TRY && err != -EAGAIN)
		list_del_init(&src->wait);
	if (!err) {
		stap_rdr_charge(t->sk, t->ctx, msg);
		__skb_queue_tail(&in->inbox, msg);
		__stap_queue_work(t->sk, t->ctx, STAP_WORK_RDR_IN, 0);
	}
	spin_unlock_bh(&in->lock);
	return err;
}

/* A redirect that cannot be done: the message is dropped, and with
 * STAP_TARGET_DISCONNECT the source's connection aborted.
 */
static void stap_rdr_fail(struct sock *sk, struct stap_context *ctx, int dir,
			  const struct stap_rdr_target *t, struct sk_buff *msg,
			  int err)
{
	bool tx = dir == STAP_RDR_TX;

	trace_stap_msg_redirect(sk, tx, msg->len, t ? t->cookie : 0, err);
	stap_stat_add(sk, ctx, STAP_MIB_REDIRECTERRORS, 1);
	stap_bpf_count_drop(sk, ctx, tx, msg->len, STAP_DROP_REDIRECT);
	stap_rdr_uncharge(sk, dir, msg->len);
	kfree_skb_reason(msg, SKB_DROP_REASON_SOCKET_FILTER);
	if (t && (t->flags & STAP_TARGET_DISCONNECT))
		stap_sk_abort(sk, ctx);
}

/* A message or copy of @len bytes queued on @t */
static void stap_rdr_count(struct sock *sk, struct stap_context *ctx, int dir,
			   const struct stap_rdr_target *t, unsigned int len)
{
	bool tx = dir == STAP_RDR_TX;
	int mib = tx ? STAP_MIB_TXREDIRECTMSGS : STAP_MIB_RXREDIRECTMSGS;

	trace_stap_msg_redirect(sk, tx, len, t->cookie, 0);
	/* REDIRECTBYTES follows REDIRECTMSGS */
	stap_stat_add(sk, ctx, mib, 1);
	stap_stat_add(sk, ctx, mib + 1, len);
}

/* Queue @msg on @t. Return: false when it is to wait for room. */
static bool stap_rdr_send(struct sock *sk, struct stap_context *ctx, int dir,
			  struct stap_rdr_target *t, struct sk_buff *msg,
			  enum stap_rdr_mode mode)
{
	unsigned int len = msg->len;
	int err;

	err = stap_rdr_queue(&ctx->rdr.src[dir], t, msg, mode);
	if (err == -EAGAIN)
		return false;
	if (err) {
		stap_rdr_fail(sk, ctx, dir, t, msg, err);
		return true;
	}
	stap_rdr_uncharge(sk, dir, len);
	stap_rdr_count(sk, ctx, dir, t, len);
	return true;
}

/* A copy of @msg for mirror @t, if it has room: it never waits, and
 * queues behind no held message, which would reorder them.
 */
static void stap_rdr_copy(struct sock *sk, struct stap_context *ctx, int dir,
			  struct stap_rdr_target *t, struct sk_buff *msg)
{
	struct stap_rdr_src *src = &ctx->rdr.src[dir];
	bool tx = dir == STAP_RDR_TX;
	struct sk_buff *copy = NULL;
	int err = -EAGAIN;

	/* The message itself is delivered as passed */
	stap_bpf_count_pass(sk, ctx, tx, msg->len);
	if (skb_queue_empty(&src->held))
		copy = skb_clone(msg, GFP_ATOMIC);
	if (copy)
		err = stap_rdr_queue(src, t, copy, STAP_RDR_TRY);
	if (!err) {
		stap_rdr_count(sk, ctx, dir, t, msg->len);
		return;
	}
	kfree_skb(copy);
	trace_stap_msg_redirect(sk, tx, msg->len, t->cookie, err);
	if (err == -EAGAIN) {
		stap_stat_add(sk, ctx, STAP_MIB_COPIESLOST, 1);
		return;
	}
	stap_stat_add(sk, ctx, STAP_MIB_REDIRECTERRORS, 1);
	if (t->flags & STAP_TARGET_DISCONNECT)
		stap_sk_abort(sk, ctx);
}

/* Keep @msg for @t, behind the messages held before it */
static void stap_rdr_hold(struct stap_rdr_src *src, struct stap_rdr_target *t,
			  struct sk_buff *msg)
{
	refcount_inc(&t->refs);
	stap_rdr_cb(msg)->to = t;
	__skb_queue_tail(&src->held, msg);
}

/**
 * stap_rdr_redirect() - redirect a message to target @idx
 * @sk: the source socket, locked
 * @ctx: its context
 * @msg: the message, judged; a send-side one charged to @sk
 * @idx: the index the verdict named
 * @dir: STAP_RDR_RX or STAP_RDR_TX
 *
 * A message for a target with no room, or behind one held, is held,
 * until stap_rdr_retry() has queued it: the caller is to stop framing
 * (receive) or taking bytes (send) meanwhile. One for no such target, or
 * for a target that can no longer send, is dropped and counted. For a
 * STAP_TARGET_COPY target a copy goes there, when it has room, and the
 * caller delivers @msg as passed.
 *
 * Context: Softirq with the socket bh-locked, or the socket owned.
 *
 * Return: &enum stap_rdr_result: what became of @msg.
 */
enum stap_rdr_result stap_rdr_redirect(struct sock *sk,
				       struct stap_context *ctx,
				       struct sk_buff *msg, unsigned int idx,
				       int dir)
{
	struct stap_rdr_src *src = &ctx->rdr.src[dir];
	struct stap_rdr_table *tbl = ctx->rdr.targets;
	struct stap_rdr_target *t;

	stap_assert_locked(sk);
	/* Receive framing stops while a message is held */
	DEBUG_NET_WARN_ON_ONCE(dir == STAP_RDR_RX &&
			       !skb_queue_empty(&src->held));
	if (!tbl || idx >= tbl->n) {
		stap_rdr_fail(sk, ctx, dir, NULL, msg, -ENOENT);
		return STAP_RDR_TAKEN;
	}
	t = tbl->t[idx];
	if (t->flags & STAP_TARGET_COPY) {
		stap_rdr_copy(sk, ctx, dir, t, msg);
		return STAP_RDR_PASS;
	}
	if (skb_queue_empty(&src->held) &&
	    stap_rdr_send(sk, ctx, dir, t, msg, STAP_RDR_WAIT))
		return STAP_RDR_TAKEN;
	stap_rdr_hold(src, t, msg);
	return STAP_RDR_HELD;
}

static bool __stap_rdr_retry(struct sock *sk, struct stap_context *ctx,
			     int dir, enum stap_rdr_mode mode)
{
	struct stap_rdr_src *src = &ctx->rdr.src[dir];
	struct stap_rdr_target *t;
	struct sk_buff *skb;

	stap_assert_locked(sk);
	while ((skb = skb_peek(&src->held))) {
		t = stap_rdr_cb(skb)->to;
		__skb_unlink(skb, &src->held);
		if (!stap_rdr_send(sk, ctx, dir, t, skb, mode)) {
			__skb_queue_head(&src->held, skb);
			return false;
		}
		stap_rdr_target_put(t);
	}
	return true;
}

/**
 * stap_rdr_retry() - queue the held messages, now that their targets may
 *	have room
 * @sk: the source socket, locked
 * @ctx: its context
 * @dir: STAP_RDR_RX or STAP_RDR_TX
 *
 * Context: Softirq with the socket bh-locked, or the socket owned.
 *
 * Return: true when nothing is held any more.
 */
bool stap_rdr_retry(struct sock *sk, struct stap_context *ctx, int dir)
{
	return __stap_rdr_retry(sk, ctx, dir, STAP_RDR_WAIT);
}

/**
 * stap_rdr_flush() - the send side's held messages go, room or not
 * @sk: the source socket, owned by the caller, shutting its send side
 *	down or closing
 * @ctx: its context
 *
 * Each target takes them over its limit, as it takes its own
 * application's last bytes; each source has at most one framing step
 * held. Those for a target that cannot send are dropped and counted.
 */
void stap_rdr_flush(struct sock *sk, struct stap_context *ctx)
{
	sock_owned_by_me(sk);
	__stap_rdr_retry(sk, ctx, STAP_RDR_TX, STAP_RDR_FORCE);
}

/**
 * stap_rdr_take_inbox() - what sources redirected to this socket
 * @ctx: the target's context
 * @list: gets the messages, in order
 */
void stap_rdr_take_inbox(struct stap_context *ctx, struct sk_buff_head *list)
{
	__skb_queue_head_init(list);
	spin_lock_bh(&ctx->rdr.lock);
	skb_queue_splice_init(&ctx->rdr.inbox, list);
	spin_unlock_bh(&ctx->rdr.lock);
}

/**
 * stap_rdr_kick() - wake the sources waiting for room, if there is
 * @sk: the target socket, owned by the caller
 * @ctx: its context
 *
 * Called after the target took its inbox: the send side's sk_write_space
 * queues that while sources wait, so that each drain wakes them when TCP
 * made room.
 */
void stap_rdr_kick(struct sock *sk, struct stap_context *ctx)
{
	struct stap_rdr *rdr = &ctx->rdr;

	sock_owned_by_me(sk);
	spin_lock_bh(&rdr->lock);
	if (stap_rdr_room(sk, ctx))
		stap_rdr_wake(rdr);
	spin_unlock_bh(&rdr->lock);
}

/**
 * stap_rdr_attached() - a target's programs are attached
 * @sk: socket, owned by the caller
 * @ctx: its context, attached
 *
 * Sources that waited for it go on: to its send side, or to the error of
 * a target whose send side is not tapped.
 */
void stap_rdr_attached(struct sock *sk, struct stap_context *ctx)
{
	sock_owned_by_me(sk);
	spin_lock_bh(&ctx->rdr.lock);
	stap_rdr_wake(&ctx->rdr);
	spin_unlock_bh(&ctx->rdr.lock);
}

/**
 * stap_rdr_close() - a closing target takes no more messages
 * @sk: socket, owned by the caller, about to take its inbox a last time
 *	and flush its send side
 * @ctx: its context
 */
void stap_rdr_close(struct sock *sk, struct stap_context *ctx)
{
	sock_owned_by_me(sk);
	spin_lock_bh(&ctx->rdr.lock);
	ctx->rdr.dead = true;
	spin_unlock_bh(&ctx->rdr.lock);
}

/* Forget the messages held by @src: detaching */
static void stap_rdr_src_stop(struct sock *sk, struct stap_rdr_src *src,
			      int dir)
{
	struct sk_buff *skb = skb_peek(&src->held);
	struct stap_rdr_target *t;

	if (!skb)
		return;
	t = stap_rdr_cb(skb)->to;
	spin_lock_bh(&t->ctx->rdr.lock);
	list_del_init(&src->wait);
	spin_unlock_bh(&t->ctx->rdr.lock);
	while ((skb = __skb_dequeue(&src->held))) {
		stap_rdr_target_put(stap_rdr_cb(skb)->to);
		stap_rdr_uncharge(sk, dir, skb->len);
		kfree_skb(skb);
	}
}

/**
 * stap_rdr_stop() - end redirects from and to a detaching socket
 * @sk: socket, owned by the caller or being destroyed
 * @ctx: its context
 *
 * As a target it takes no more messages: those in its inbox are freed,
 * and its waiters retry, to find it gone. As a source it forgets its
 * held messages and its targets.
 */
void stap_rdr_stop(struct sock *sk, struct stap_context *ctx)
{
	struct stap_rdr *rdr = &ctx->rdr;
	struct sk_buff_head list;
	int dir;

	__skb_queue_head_init(&list);
	spin_lock_bh(&rdr->lock);
	rdr->dead = true;
	skb_queue_splice_init(&rdr->inbox, &list);
	stap_rdr_wake(rdr);
	spin_unlock_bh(&rdr->lock);
	__skb_queue_purge(&list);

	for (dir = 0; dir < STAP_RDR_DIRS; dir++)
		stap_rdr_src_stop(sk, &rdr->src[dir], dir);
	stap_rdr_table_free(rdr->targets);
	rdr->targets = NULL;
}

/* SO_COOKIE's value: sock_gen_cookie() is inline around an unexported
 * function, sock_diag_save_cookie() the export that calls it.
 */
static u64 stap_rdr_cookie(struct sock *sk)
{
	u32 cookie[2];

	sock_diag_save_cookie(sk, cookie);
	return (u64)cookie[1] << 32 | cookie[0];
}

/* A target as STAP_TARGETS names it: a connected TCP socket of @sk's
 * namespace with stap and a tapped send side, or with stap and no
 * programs yet: messages for it wait until they are attached, so that two
 * sockets can name each other before either frames.
 */
static struct stap_rdr_target *stap_rdr_target_get(struct sock *sk,
						   const struct stap_target *u)
{
	struct stap_rdr_target *t;
	struct stap_context *tctx;
	struct socket *sock;
	struct sock *tsk;
	int err;

	sock = sockfd_lookup(u->fd, &err);
	if (!sock)
		return ERR_PTR(err);
	tsk = sock->sk;
	err = -EPROTOTYPE;
	if (!tsk || (tsk->sk_family != AF_INET && tsk->sk_family != AF_INET6) ||
	    !sk_is_tcp(tsk))
		goto err_put;
	err = -EXDEV;
	if (!net_eq(sock_net(tsk), sock_net(sk)))
		goto err_put;

	lock_sock(tsk);
	tctx = stap_get_ctx(tsk);
	err = -EOPNOTSUPP;
	if (!inet_csk(tsk)->icsk_ulp_ops ||
	    strcmp(inet_csk(tsk)->icsk_ulp_ops->name, "stap") || !tctx ||
	    (stap_attached(tctx) && !tctx->tx_on))
		goto err_unlock;
	err = -ENOTCONN;
	if (!((1 << tsk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		goto err_unlock;
	err = -ENOMEM;
	t = kzalloc_obj(*t, GFP_KERNEL);
	if (!t)
		goto err_unlock;
	sock_hold(tsk);
	refcount_inc(&tctx->refs);
	t->sk = tsk;
	t->ctx = tctx;
	t->cookie = stap_rdr_cookie(tsk);
	t->flags = u->flags;
	refcount_set(&t->refs, 1);
	release_sock(tsk);
	sockfd_put(sock);
	return t;

err_unlock:
	release_sock(tsk);
err_put:
	sockfd_put(sock);
	return ERR_PTR(err);
}

static int stap_rdr_check(const struct stap_target *u)
{
	if (u->flags & ~(STAP_TARGET_DISCONNECT | STAP_TARGET_COPY) ||
	    u->cookie)
		return -EINVAL;
	return 0;
}

/* The table of @n entries of @u, or an ERR_PTR(); NULL for none. */
static struct stap_rdr_table *stap_rdr_table_get(struct sock *sk,
						 const struct stap_target *u,
						 unsigned int n)
{
	struct stap_rdr_table *tbl;
	struct stap_rdr_target *t;
	unsigned int i;

	if (!n)
		return NULL;
	tbl = kzalloc_flex(*tbl, t, n, GFP_KERNEL);
	if (!tbl)
		return ERR_PTR(-ENOMEM);
	tbl->n = n;
	for (i = 0; i < n; i++) {
		t = stap_rdr_target_get(sk, &u[i]);
		if (IS_ERR(t))
			goto err_free;
		tbl->t[i] = t;
	}
	return tbl;

err_free:
	stap_rdr_table_free(tbl);
	return ERR_CAST(t);
}

/**
 * stap_rdr_set_targets() - setsockopt(STAP_TARGETS): replace the targets
 * @sk: socket
 * @ctx: its context
 * @optval: array of struct stap_target
 * @optlen: its size, a multiple of the entry's; 0 removes the targets
 *
 * Each target is checked and held under its own socket lock, taken and
 * released before @sk's: no two socket locks are ever held together. A
 * message held for an old target still goes there.
 *
 * Context: Process context, the socket not locked.
 *
 * Return: 0, or a negative errno: EINVAL for a bad length, flag or
 * cookie, or a listening socket; E2BIG for more than STAP_MAX_TARGETS;
 * EBADF, ENOTSOCK for a bad fd; EPROTOTYPE for a socket not TCP; EXDEV
 * for another namespace's; EOPNOTSUPP for a target without stap, or with
 * programs attached and an untapped send side; ENOTCONN for one not
 * connected.
 */
int stap_rdr_set_targets(struct sock *sk, struct stap_context *ctx,
			 sockptr_t optval, unsigned int optlen)
{
	struct stap_target u[STAP_MAX_TARGETS];
	struct stap_rdr_table *tbl, *old;
	unsigned int i, n;
	int err;

	if (optlen % sizeof(u[0]))
		return -EINVAL;
	n = optlen / sizeof(u[0]);
	if (n > STAP_MAX_TARGETS)
		return -E2BIG;
	if (n && copy_from_sockptr(u, optval, optlen))
		return -EFAULT;
	for (i = 0; i < n; i++) {
		err = stap_rdr_check(&u[i]);
		if (err)
			return err;
	}
	tbl = stap_rdr_table_get(sk, u, n);
	if (IS_ERR(tbl))
		return PTR_ERR(tbl);

	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN) {
		release_sock(sk);
		stap_rdr_table_free(tbl);
		return -EINVAL;
	}
	old = ctx->rdr.targets;
	ctx->rdr.targets = tbl;
	release_sock(sk);
	stap_rdr_table_free(old);
	return 0;
}

/**
 * stap_rdr_get_targets() - getsockopt(STAP_TARGETS): the targets' cookies
 * @sk: socket
 * @ctx: its context
 * @optval: room for the array of struct stap_target
 * @optlen: its size in, the array's out
 *
 * Context: Process context, the socket not locked.
 *
 * Return: 0, or a negative errno: ERANGE, with the size needed in
 * @optlen, when the array does not fit.
 */
int stap_rdr_get_targets(struct sock *sk, struct stap_context *ctx,
			 char __user *optval, int __user *optlen)
{
	struct stap_target u[STAP_MAX_TARGETS] = {};
	struct stap_rdr_table *tbl;
	unsigned int i, n = 0;
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	lock_sock(sk);
	tbl = ctx->rdr.targets;
	for (i = 0; tbl && i < tbl->n; i++) {
		u[i].fd = -1;
		u[i].flags = tbl->t[i]->flags;
		u[i].cookie = tbl->t[i]->cookie;
	}
	n = i;
	release_sock(sk);

	if (put_user(n * sizeof(u[0]), optlen))
		return -EFAULT;
	if (len < 0 || len < n * sizeof(u[0]))
		return -ERANGE;
	if (copy_to_user(optval, u, n * sizeof(u[0])))
		return -EFAULT;
	return 0;
}
