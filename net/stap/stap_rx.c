// SPDX-License-Identifier: GPL-2.0
/*
 * stap: the receive path.
 *
 * stap reads the TCP receive queue itself and frames it (stap_strp.c);
 * without a parser program each chunk of the queue is one message. Each
 * message runs through the receive verdict program, and passed messages
 * wait in stap_rx.queue, charged to the socket, for recvmsg, splice_read
 * and poll. Everything on this path runs under the
 * socket lock: either owned by a process, or bh-locked in softirq when no
 * process owns the socket.
 *
 * Urgent data: TCP's reader stops at the urgent mark. stap notes where
 * the mark falls in the passed stream (after the message being framed,
 * if the mark is inside one), then frames the urgent byte with the
 * stream (SO_OOBINLINE) or steps over it, leaving it to recv(MSG_OOB) as
 * TCP does. Reads stop at the mark and SIOCATMARK reports it; TCP forgets
 * the urgent byte once the application reads past the mark.
 */

#include <linux/if_packet.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/sockios.h>
#include <linux/splice.h>
#include <net/tcp.h>

#include "stap.h"
#include "trace.h"

/* Largest message: the bigger of the receive buffer and tcp_rmem[2] */
static unsigned int stap_rx_max_msg(const struct sock *sk)
{
	return max_t(unsigned int, READ_ONCE(sk->sk_rcvbuf),
		     READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_rmem[2]));
}

/* Grow the receive buffer for a message of @len bytes as TCP autotuning
 * would, since the application's reads no longer drive it.
 */
static void stap_rx_grow_rcvbuf(struct sock *sk, unsigned int len)
{
	int rmem2 = READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_rmem[2]);
	int want = min_t(u64, (u64)len * 2, rmem2);

	if (sk->sk_userlocks & SOCK_RCVBUF_LOCK)
		return;
	if (want > READ_ONCE(sk->sk_rcvbuf))
		WRITE_ONCE(sk->sk_rcvbuf, want);
}

/* A framing error, or no memory for a message: readers get its errno
 * once the queue is empty.
 */
static void stap_rx_parse_error(struct sock *sk, struct stap_context *ctx,
				int err)
{
	trace_stap_strp_error(sk, false, err);
	stap_stat_add(sk, ctx, stap_framing_mib(err), 1);
	stap_rx_abort(sk, ctx, stap_parse_errno(err));
}

/* Queue a passed message for the application, charged to the socket.
 * Over the memory limits it waits while the application has messages to
 * read, whose memory reading frees. With none queued it is charged
 * anyway, as tcp_data_queue() queues into an empty receive queue with
 * sk_forced_mem_schedule() (which modules cannot call): the forward
 * allocation may go below zero until the socket's next charge settles
 * it. Waiting there would be for good: the rest of the stream sits in
 * the TCP receive queue, whose memory only framing frees.
 *
 * Return: false when the message is to wait for the reader.
 */
static bool stap_rx_charge_queue(struct sock *sk, struct stap_rx *rx,
				 struct sk_buff *skb)
{
	if (!sk_rmem_schedule(sk, skb, skb->truesize) &&
	    !skb_queue_empty(&rx->queue))
		return false;
	skb_set_owner_r(skb, sk);
	__skb_queue_tail(&rx->queue, skb);
	rx->charged += skb->truesize;
	/* Pairs with READ_ONCE() in stap_rx_readable() */
	WRITE_ONCE(rx->queued, rx->queued + skb->len);
	if (rx->charged >= READ_ONCE(sk->sk_rcvbuf) / 2)
		WRITE_ONCE(rx->gated, true);
	rx->wake = true;
	return true;
}

/* Open the gate once the application's reads made room in the queue */
static void stap_rx_reopen(struct sock *sk, struct stap_rx *rx)
{
	if (rx->gated && rx->charged < READ_ONCE(sk->sk_rcvbuf) / 4)
		WRITE_ONCE(rx->gated, false);
}

/* Queue the message held back for memory, or for room in its redirect
 * target. Return: whether framing may go on.
 */
static bool stap_rx_queue_held(struct sock *sk, struct stap_context *ctx)
{
	struct stap_rx *rx = &ctx->rx;

	if (stap_rdr_holding(ctx, STAP_RDR_RX)) {
		if (!stap_rdr_retry(sk, ctx, STAP_RDR_RX)) {
			WRITE_ONCE(rx->gated, true);
			return false;
		}
		/* The gate it closed opens, from whatever path retried */
		stap_rx_reopen(sk, rx);
	}
	if (!rx->held)
		return true;
	if (!stap_rx_charge_queue(sk, rx, rx->held)) {
		WRITE_ONCE(rx->gated, true);
		return false;
	}
	rx->held = NULL;
	return true;
}

static void stap_rx_enqueue(struct sock *sk, struct stap_context *ctx,
			    struct sk_buff *skb)
{
	struct stap_rx *rx = &ctx->rx;
	struct strp_msg *stm = strp_msg(skb);

	if (unlikely(!skb->len)) {
		consume_skb(skb);
		return;
	}

	/* stm->offset is the read position from now on */
	stm->offset = 0;
	stm->full_len = skb->len;
	if (stap_rx_charge_queue(sk, rx, skb))
		return;
	/* Framing stops until the reader makes room: nothing lost */
	rx->held = skb;
	WRITE_ONCE(rx->gated, true);
}

/* End of the passed stream, in stap_rx.copied's terms */
static u32 stap_rx_end(const struct stap_rx *rx)
{
	return rx->copied + rx->queued + (rx->held ? rx->held->len : 0);
}

/* A redirect verdict: a copy's message is queued as passed; one held for
 * room in its target stops framing.
 */
static void stap_rx_redirect(struct sock *sk, struct stap_context *ctx,
			     struct sk_buff *msg, unsigned int target)
{
	switch (stap_rdr_redirect(sk, ctx, msg, target, STAP_RDR_RX)) {
	case STAP_RDR_PASS:
		stap_rx_enqueue(sk, ctx, msg);
		break;
	case STAP_RDR_HELD:
		WRITE_ONCE(ctx->rx.gated, true);
		break;
	case STAP_RDR_TAKEN:
		break;
	}
}

/* Run the verdict on a framed message: queue it for the application,
 * redirect it or drop it. Called with the socket lock held.
 *
 * Return: whether to go on framing the chunk at hand.
 */
static bool stap_rx_deliver(struct sock *sk, struct stap_context *ctx,
			    struct sk_buff *msg)
{
	struct stap_rx *rx = &ctx->rx;
	unsigned int target;

	switch (stap_bpf_verdict(sk, ctx, msg, false, &target)) {
	case STAP_MSG_PASS:
		stap_rx_enqueue(sk, ctx, msg);
		break;
	case STAP_MSG_REDIRECT:
		stap_rx_redirect(sk, ctx, msg, target);
		break;
	case STAP_MSG_ABORT:
		stap_sk_abort(sk, ctx);
		fallthrough;
	default:
		kfree_skb_reason(msg, SKB_DROP_REASON_SOCKET_FILTER);
	}
	/* The urgent mark noted inside this message follows it */
	if (rx->mark_state == STAP_MARK_AFTER_MSG) {
		rx->mark = stap_rx_end(rx);
		rx->mark_state = STAP_MARK_SET;
	}
	return !rx->gated && !rx->err;
}

/* Without a parser every chunk TCP hands over is one message: it goes to
 * the verdict unframed. Called with the socket lock held.
 *
 * Return: bytes taken.
 */
static int stap_rx_chunk(struct sock *sk, struct stap_context *ctx,
			 struct sk_buff *skb, unsigned int off, size_t len)
{
	struct sk_buff *msg;

	msg = stap_strp_view(skb, off, len);
	if (unlikely(!msg)) {
		stap_rx_parse_error(sk, ctx, -ENOMEM);
		return 0;
	}
	stap_rx_deliver(sk, ctx, msg);
	return len;
}

/* tcp_read_sock() actor. Called with the socket lock held. */
static int stap_rx_recv(read_descriptor_t *desc, struct sk_buff *skb,
			unsigned int off, size_t len)
{
	struct stap_context *ctx = desc->arg.data;
	struct sock *sk = ctx->sk;
	int n;

	if (ctx->rx.gated || ctx->rx.err)
		return 0;
	if (!ctx->progs[STAP_SLOT_RECV_PARSE])
		return stap_rx_chunk(sk, ctx, skb, off, len);
	n = stap_strp_feed(&ctx->rx.strp, ctx, sk, skb, off, len,
			   stap_rx_max_msg(sk));
	if (n < 0) {
		stap_rx_parse_error(sk, ctx, n);
		return 0;
	}
	if (ctx->rx.strp.len)
		stap_rx_grow_rcvbuf(sk, ctx->rx.strp.len);
	return n;
}

/* A message cut by the peer's FIN: the application gets EPROTO. */
static void stap_rx_check_fin(struct sock *sk, struct stap_context *ctx)
{
	if (ctx->rx.err || !ctx->rx.strp.head ||
	    !sock_flag(sk, SOCK_DONE) ||
	    !skb_queue_empty(&sk->sk_receive_queue))
		return;
	stap_rx_parse_error(sk, ctx, -EPROTO);
}

/* TCP's reader is at the urgent byte (tcp_read_sock() stops there). */
static bool stap_rx_at_urg(const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return unlikely(tp->urg_data) && tp->urg_seq == tp->copied_seq;
}

/* The urgent mark stap noted is still TCP's current one */
static bool stap_rx_mark_live(const struct sock *sk, const struct stap_rx *rx)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return rx->mark_state == STAP_MARK_SET && READ_ONCE(tp->urg_data) &&
	       READ_ONCE(tp->urg_seq) == rx->urg_seq;
}

/* Note where the urgent mark falls in the passed stream: here, or after
 * the message being framed, which holds bytes sent before it.
 */
static void stap_rx_note_mark(struct sock *sk, struct stap_rx *rx)
{
	rx->urg_seq = tcp_sk(sk)->urg_seq;
	if (rx->strp.head) {
		rx->mark_state = STAP_MARK_AFTER_MSG;
		return;
	}
	rx->mark = stap_rx_end(rx);
	rx->mark_state = STAP_MARK_SET;
}

/* Frame the urgent byte at @seq with the stream (SO_OOBINLINE). */
static bool stap_rx_frame_urg(struct sock *sk, struct stap_context *ctx,
			      u32 seq)
{
	read_descriptor_t desc = { .arg.data = ctx, .count = 1 };
	struct sk_buff *skb;
	u32 off;

	skb = tcp_recv_skb(sk, seq, &off);
	if (!skb || off >= skb->len)
		return false;
	return stap_rx_recv(&desc, skb, off, 1) == 1;
}

/* At the urgent byte: note the mark, then frame the byte in band or step
 * over it; out of band it stays in tp->urg_data for recv(MSG_OOB).
 *
 * Return: whether framing goes on past it.
 */
static bool stap_rx_urg(struct sock *sk, struct stap_context *ctx)
{
	struct tcp_sock *tp = tcp_sk(sk);
	u32 seq = tp->copied_seq;

	stap_assert_locked(sk);
	if (ctx->rx.mark_state == STAP_MARK_NONE ||
	    ctx->rx.urg_seq != tp->urg_seq)
		stap_rx_note_mark(sk, &ctx->rx);
	if (sock_flag(sk, SOCK_URGINLINE) && !stap_rx_frame_urg(sk, ctx, seq))
		return false;
	WRITE_ONCE(tp->copied_seq, seq + 1);
	return true;
}

/* The application read past the mark: TCP forgets the urgent byte, as
 * tcp_recvmsg() does there.
 */
static void stap_rx_pass_mark(struct sock *sk, struct stap_rx *rx)
{
	if (stap_rx_mark_live(sk, rx)) {
		WRITE_ONCE(tcp_sk(sk)->urg_data, 0);
		tcp_fast_path_check(sk);
	}
	rx->mark_state = STAP_MARK_NONE;
}

/* Bytes a read at @pos may take before the urgent mark, or UINT_MAX */
static unsigned int stap_rx_to_mark(const struct sock *sk,
				    const struct stap_rx *rx, u32 pos)
{
	return stap_rx_mark_live(sk, rx) ? rx->mark - pos : UINT_MAX;
}

/* Frame what waits in the TCP receive queue, until it is empty or ours is
 * full. Called with the socket lock held.
 *
 * Return: bytes taken from the TCP receive queue.
 */
static int stap_rx_read(struct sock *sk, struct stap_context *ctx)
{
	struct stap_rx *rx = &ctx->rx;
	read_descriptor_t desc;
	int framed = 0, n;

	stap_assert_locked(sk);
	/* Pairs with READ_ONCE() in stap_rx_wakeup() */
	WRITE_ONCE(rx->deferred, false);
	if (!stap_rx_queue_held(sk, ctx))
		goto out;
	while (!rx->gated && !rx->err &&
	       !skb_queue_empty(&sk->sk_receive_queue)) {
		if (stap_rx_at_urg(sk)) {
			if (!stap_rx_urg(sk, ctx))
				break;
			continue;
		}
		desc.arg.data = ctx;
		desc.error = 0;
		desc.count = 1;
		n = stap_window_read_sock(sk, &desc, stap_rx_recv);
		if (n <= 0)
			break;
		framed += n;
	}
	stap_rx_check_fin(sk, ctx);
out:
	if (rx->wake) {
		rx->wake = false;
		ctx->rx.saved_data_ready(sk);
	}
	return framed;
}

/* The ACK owed once stap framed @framed bytes */
static void stap_rx_framed(struct sock *sk, struct stap_context *ctx,
			   int framed)
{
	struct stap_rx *rx = &ctx->rx;

	stap_window_framed(sk, framed, rx->strp.head && !rx->gated &&
			   !rx->err);
}

/* Called from softirq with the socket bh-locked, or with the socket owned
 * (backlog processing in release_sock(), tcp_set_rcvlowat()).
 */
void stap_rx_data_ready(struct sock *sk)
{
	struct stap_context *ctx = stap_get_ctx(sk);

	if (unlikely(!ctx || !READ_ONCE(ctx->rx_on)))
		return;
	if (sock_owned_by_user_nocheck(sk)) {
		ctx->rx.pending = true;
		return;
	}
	/* A reader sleeps in recvmsg: it frames what arrived itself, on
	 * its own CPU, as kTLS decrypts in recvmsg.
	 */
	if (ctx->rx.readers) {
		/* Pairs with READ_ONCE() in stap_rx_wakeup() */
		WRITE_ONCE(ctx->rx.deferred, true);
		ctx->rx.saved_data_ready(sk);
		return;
	}
	stap_rx_framed(sk, ctx, stap_rx_read(sk, ctx));
}

/* Called from release_sock() with the socket owned and bh-locked. */
void stap_rx_release_cb(struct sock *sk)
{
	struct stap_context *ctx = stap_get_ctx(sk);

	ctx->sk_proto->release_cb(sk);
	if (ctx->rx.pending) {
		ctx->rx.pending = false;
		stap_rx_framed(sk, ctx, stap_rx_read(sk, ctx));
	}
}

/**
 * stap_rx_ungate() - reopen the gate once the application has read enough
 * @sk: socket, owned by the caller
 * @ctx: its context
 *
 * Frames what waited in TCP meanwhile, and queues the message held back
 * for memory if there is room now: the reader's paths call it.
 */
void stap_rx_ungate(struct sock *sk, struct stap_context *ctx)
{
	struct stap_rx *rx = &ctx->rx;

	sock_owned_by_me(sk);
	stap_rx_reopen(sk, rx);
	/* A message held for its redirect target is retried whatever the
	 * queue's gate: stap_rx_queue_held() opens the gate it closed
	 */
	if (!rx->gated || stap_rdr_holding(ctx, STAP_RDR_RX))
		stap_rx_framed(sk, ctx, stap_rx_read(sk, ctx));
}

static void stap_rx_consume(struct sock *sk, struct stap_rx *rx,
			    struct sk_buff *skb, unsigned int n)
{
	struct strp_msg *stm = strp_msg(skb);

	if (rx->mark_state == STAP_MARK_SET && before(rx->mark, rx->copied + n))
		stap_rx_pass_mark(sk, rx);
	rx->copied += n;
	stm->offset += n;
	/* Pairs with READ_ONCE() in stap_rx_readable() */
	WRITE_ONCE(rx->queued, rx->queued - n);
	if (stm->offset < skb->len)
		return;
	__skb_unlink(skb, &rx->queue);
	rx->charged -= skb->truesize;
	consume_skb(skb);
}

/* Copy (or with MSG_PEEK look at, after @skip bytes) up to @len queued
 * bytes. Return: bytes copied, or -EFAULT when none could be.
 */
static int stap_rx_copy(struct sock *sk, struct stap_rx *rx,
			struct msghdr *msg, size_t len, int flags, size_t skip)
{
	struct sk_buff *skb, *tmp;
	unsigned int off, n;
	size_t copied = 0;

	skb_queue_walk_safe(&rx->queue, skb, tmp) {
		off = strp_msg(skb)->offset;
		n = skb->len - off;
		if (skip >= n) {
			skip -= n;
			continue;
		}
		off += skip;
		n -= skip;
		skip = 0;
		n = min_t(size_t, n, len - copied);
		if (!(flags & MSG_TRUNC) &&
		    skb_copy_datagram_msg(skb, off, msg, n))
			return copied ? copied : -EFAULT;
		copied += n;
		if (!(flags & MSG_PEEK))
			stap_rx_consume(sk, rx, skb, n);
		if (copied == len)
			break;
	}
	return copied;
}

/* sock_rcvlowat() with the application's SO_RCVLOWAT */
static int stap_rx_rcvlowat(const struct stap_context *ctx, int waitall,
			    int len)
{
	int v = waitall ? len : min_t(int, READ_ONCE(ctx->rx.rcvlowat), len);

	return v ?: 1;
}

/* Readable without blocking: enough passed bytes, an error or EOF.
 * Lockless: used by poll and as the wait condition.
 */
static bool stap_rx_readable(const struct sock *sk,
			     const struct stap_context *ctx, int target)
{
	if (READ_ONCE(ctx->rx.queued) >= target || READ_ONCE(ctx->rx.err))
		return true;
	return READ_ONCE(sk->sk_err) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN);
}

/* What wakes a sleeping reader: what makes the socket readable, or data
 * stap_rx_data_ready() left to the reader to frame. Not TCP's queue as
 * such: what stap cannot frame yet (a full queue) would wake it in a loop.
 * Lockless, as the wait condition of sk_wait_event().
 */
static bool stap_rx_wakeup(const struct sock *sk,
			   const struct stap_context *ctx, int target)
{
	if (stap_rx_readable(sk, ctx, target))
		return true;
	/* Pairs with WRITE_ONCE() in stap_rx_data_ready(), stap_rx_read(),
	 * stap_rx_enqueue() and stap_rx_ungate()
	 */
	return READ_ONCE(ctx->rx.deferred) && !READ_ONCE(ctx->rx.gated);
}

/* What a read finding no data returns: 0 to wait, 1 for EOF, or an error.
 * Errors are consumed only when @consume (nothing copied yet).
 */
static int stap_rx_status(struct sock *sk, struct stap_context *ctx,
			  bool consume)
{
	if (sk->sk_state == TCP_LISTEN)
		return -ENOTCONN;
	if (ctx->rx.err)
		return -ctx->rx.err;
	if (sk->sk_err)
		return consume ? sock_error(sk) : -EAGAIN;
	if (sk->sk_shutdown & RCV_SHUTDOWN)
		return 1;
	if (sk->sk_state == TCP_CLOSE)
		return sock_flag(sk, SOCK_DONE) ? 1 : -ENOTCONN;
	return 0;
}

/* Nothing (more) to read: wait for @target passed bytes, or say what the
 * read returns instead: 1 for EOF or a negative errno. Called with the
 * socket owned; sleeps with it released.
 */
static int stap_rx_wait(struct sock *sk, struct stap_context *ctx,
			long *timeo, int target, bool consume)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err;

	sock_owned_by_me(sk);
	err = stap_rx_status(sk, ctx, consume);
	if (err)
		return err;
	if (!*timeo)
		return -EAGAIN;
	if (signal_pending(current))
		return sock_intr_errno(*timeo);

	add_wait_queue(sk_sleep(sk), &wait);
	sk_set_bit(SOCKWQ_ASYNC_WAITDATA, sk);
	/* Counted while the socket is owned: sk_wait_event() releases it
	 * to sleep and owns it again before returning.
	 */
	ctx->rx.readers++;
	sk_wait_event(sk, timeo, stap_rx_wakeup(sk, ctx, target), &wait);
	ctx->rx.readers--;
	sk_clear_bit(SOCKWQ_ASYNC_WAITDATA, sk);
	remove_wait_queue(sk_sleep(sk), &wait);
	return 0;
}

/**
 * stap_rx_recvmsg() - proto.recvmsg of a socket whose receive side is tapped
 * @sk: socket
 * @msg: destination
 * @len: bytes wanted
 * @flags: MSG_* flags; MSG_OOB and MSG_ERRQUEUE go to TCP unchanged
 *
 * Reads the passed messages as one byte stream, with TCP's semantics for
 * blocking, SO_RCVTIMEO, SO_RCVLOWAT, MSG_WAITALL, MSG_PEEK, MSG_TRUNC and
 * MSG_DONTWAIT.
 *
 * Context: Process context; takes the socket lock.
 *
 * Return: bytes read, 0 at EOF, or a negative errno.
 */
int stap_rx_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
		    int flags)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	int target, want, err, n;
	unsigned int tomark;
	size_t copied = 0;
	long timeo;

	if (unlikely(flags & (MSG_OOB | MSG_ERRQUEUE)))
		return ctx->sk_proto->recvmsg(sk, msg, len, flags);

	lock_sock(sk);
	target = stap_rx_rcvlowat(ctx, flags & MSG_WAITALL, len);
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	err = 0;
	while (copied < len) {
		stap_rx_ungate(sk, ctx);
		/* A read stops at the urgent mark, as tcp_recvmsg() does */
		tomark = stap_rx_to_mark(sk, &ctx->rx, ctx->rx.copied +
					 ((flags & MSG_PEEK) ? copied : 0));
		if (!tomark && copied)
			break;
		want = min_t(size_t, len - copied, tomark ?: UINT_MAX);
		n = stap_rx_copy(sk, &ctx->rx, msg, want, flags,
				 (flags & MSG_PEEK) ? copied : 0);
		if (n < 0) {
			err = n;
			break;
		}
		copied += n;
		/* Stopped at the mark with data read */
		if (tomark && n == tomark)
			break;
		/* Read on while stap_rx_ungate() frames more, as tcp_recvmsg()
		 * reads all that is queued: passed bytes left unread hold
		 * their memory, and TCP offers the window that leaves.
		 */
		if (n)
			continue;
		if (copied >= target)
			break;
		/* A peek has consumed nothing: wait for all of @target */
		want = (flags & MSG_PEEK) ? target : target - copied;
		stap_window_update(sk, (flags & MSG_PEEK) ? 0 : copied);
		err = stap_rx_wait(sk, ctx, &timeo, want, !copied);
		if (err) {
			err = err > 0 ? 0 : err;
			break;
		}
	}
	stap_rx_ungate(sk, ctx);
	stap_window_update(sk, (flags & MSG_PEEK) ? 0 : copied);
	release_sock(sk);
	return copied ? copied : err;
}

static int stap_rx_splice_one(struct sock *sk, struct stap_rx *rx,
			      struct pipe_inode_info *pipe, size_t len,
			      unsigned int flags)
{
	struct sk_buff *skb = skb_peek(&rx->queue);
	unsigned int off;
	int n;

	if (!skb)
		return 0;
	off = strp_msg(skb)->offset;
	n = skb_splice_bits(skb, sk, off, pipe,
			    min_t(size_t, len, skb->len - off), flags);
	if (n > 0)
		stap_rx_consume(sk, rx, skb, n);
	return n;
}

/**
 * stap_rx_splice_read() - proto_ops.splice_read of a tapped socket
 * @sock: socket
 * @ppos: unused
 * @pipe: destination pipe
 * @len: bytes wanted
 * @flags: SPLICE_F_* flags
 *
 * Moves passed bytes only, blocking as tcp_splice_read() does.
 *
 * Context: Process context, the pipe locked; takes the socket lock.
 *
 * Return: bytes spliced, 0 at EOF, or a negative errno.
 */
ssize_t stap_rx_splice_read(struct socket *sock, loff_t *ppos,
			    struct pipe_inode_info *pipe, size_t len,
			    unsigned int flags)
{
	struct sock *sk = sock->sk;
	struct stap_context *ctx = stap_get_ctx(sk);
	ssize_t spliced = 0;
	long timeo;
	int n;

	lock_sock(sk);
	timeo = sock_rcvtimeo(sk, sock->file->f_flags & O_NONBLOCK);
	while (len) {
		stap_rx_ungate(sk, ctx);
		n = stap_rx_splice_one(sk, &ctx->rx, pipe, len, flags);
		if (n < 0) {
			if (!spliced)
				spliced = n;
			break;
		}
		if (n > 0) {
			spliced += n;
			len -= n;
			continue;
		}
		if (spliced)
			break;
		n = stap_rx_wait(sk, ctx, &timeo, 1, true);
		if (n) {
			spliced = n > 0 ? 0 : n;
			break;
		}
	}
	stap_rx_ungate(sk, ctx);
	stap_window_update(sk, spliced);
	release_sock(sk);
	return spliced;
}

/**
 * stap_rx_poll_mask() - EPOLLIN for passed bytes only
 * @sk: socket
 * @ctx: its context
 * @mask: tcp_poll()'s answer
 *
 * EPOLLIN means passed bytes (at least SO_RCVLOWAT of them), an error or
 * EOF, never unframed TCP data.
 *
 * Context: Any process context; lockless.
 *
 * Return: the poll mask.
 */
__poll_t stap_rx_poll_mask(struct sock *sk, const struct stap_context *ctx,
			   __poll_t mask)
{
	mask &= ~(EPOLLIN | EPOLLRDNORM);
	if (stap_rx_readable(sk, ctx, stap_rx_rcvlowat(ctx, 0, INT_MAX)))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/**
 * stap_rx_set_rcvlowat() - proto_ops.set_rcvlowat of a tapped socket
 * @sk: socket
 * @val: the new SO_RCVLOWAT
 *
 * TCP signals data only once sk_rcvlowat bytes are queued, which would
 * leave smaller messages unframed: stap keeps the value for passed bytes
 * and TCP's at 1. TCP still sizes the receive buffer for it.
 *
 * Context: Process context with the socket owned.
 *
 * Return: 0 or a negative errno.
 */
int stap_rx_set_rcvlowat(struct sock *sk, int val)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	int err;

	err = ctx->sk_ops->set_rcvlowat(sk, val);
	if (err)
		return err;
	WRITE_ONCE(ctx->rx.rcvlowat, READ_ONCE(sk->sk_rcvlowat));
	WRITE_ONCE(sk->sk_rcvlowat, 1);
	if (stap_rx_readable(sk, ctx, stap_rx_rcvlowat(ctx, 0, INT_MAX)))
		ctx->rx.saved_data_ready(sk);
	return 0;
}

/**
 * stap_rx_sock_is_readable() - proto.sock_is_readable of a tapped socket
 * @sk: socket
 *
 * Context: Any context; lockless.
 *
 * Return: true when passed bytes wait to be read.
 */
bool stap_rx_sock_is_readable(struct sock *sk)
{
	struct stap_context *ctx = stap_get_ctx(sk);

	return ctx && READ_ONCE(ctx->rx.queued);
}

/**
 * stap_rx_ioctl() - proto.ioctl of a tapped socket
 * @sk: socket
 * @cmd: SIOCINQ counts passed bytes up to the urgent mark, SIOCATMARK says
 *	whether the next passed byte follows it, as TCP's; everything else
 *	goes to TCP
 * @karg: the answer
 *
 * Context: Process context; takes the socket lock.
 *
 * Return: 0 or a negative errno.
 */
int stap_rx_ioctl(struct sock *sk, int cmd, int *karg)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	bool slow;

	switch (cmd) {
	case SIOCINQ:
		if (sk->sk_state == TCP_LISTEN)
			return -EINVAL;
		slow = lock_sock_fast(sk);
		*karg = min(ctx->rx.queued,
			    stap_rx_to_mark(sk, &ctx->rx, ctx->rx.copied));
		unlock_sock_fast(sk, slow);
		return 0;
	case SIOCATMARK:
		slow = lock_sock_fast(sk);
		*karg = stap_rx_to_mark(sk, &ctx->rx, ctx->rx.copied) == 0;
		unlock_sock_fast(sk, slow);
		return 0;
	default:
		return ctx->sk_proto->ioctl(sk, cmd, karg);
	}
}

/* The direction's parser, for stap_strp_feed() */
static int stap_rx_parse(struct sock *sk, struct stap_context *ctx,
			 struct sk_buff *skb, unsigned int max)
{
	return stap_bpf_parse(ctx, STAP_SLOT_RECV_PARSE, sk, skb, max);
}

static const struct stap_strp_ops stap_rx_strp_ops = {
	.parse		= stap_rx_parse,
	.rcv_msg	= stap_rx_deliver,
};

/**
 * stap_rx_init() - set up the receive state of a context
 * @sk: socket the context belongs to
 * @ctx: context with the receive programs in place
 *
 * Callable from softirq (tcp_ulp_ops.clone).
 *
 * Return: 0 or a negative errno.
 */
int stap_rx_init(struct sock *sk, struct stap_context *ctx)
{
	ctx->rx.saved_data_ready = sk->sk_data_ready;
	__skb_queue_head_init(&ctx->rx.queue);
	ctx->rx.rcvlowat = READ_ONCE(sk->sk_rcvlowat);
	stap_strp_init(&ctx->rx.strp, &stap_rx_strp_ops);
	return 0;
}

/**
 * stap_rx_start() - tap the receive side, including data already queued
 * @sk: socket, owned by the caller
 * @ctx: context after stap_rx_init()
 */
void stap_rx_start(struct sock *sk, struct stap_context *ctx)
{
	sock_owned_by_me(sk);
	ctx->rx.rcvlowat = READ_ONCE(sk->sk_rcvlowat);
	WRITE_ONCE(sk->sk_rcvlowat, 1);
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_data_ready = stap_rx_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	stap_rx_read(sk, ctx);
}

/**
 * stap_rx_start_clone() - tap the receive side of a listener's new child
 * @sk: the child, not yet visible to anyone else
 * @ctx: its context after stap_rx_init()
 *
 * Context: Softirq (tcp_ulp_ops.clone).
 */
void stap_rx_start_clone(struct sock *sk, struct stap_context *ctx)
{
	sk->sk_data_ready = stap_rx_data_ready;
}

/**
 * stap_rx_stop() - untap the receive side and free what it holds
 * @sk: socket, owned by the caller or being destroyed
 * @ctx: context
 */
void stap_rx_stop(struct sock *sk, struct stap_context *ctx)
{
	struct stap_rx *rx = &ctx->rx;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_data_ready = rx->saved_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	stap_strp_done(&rx->strp);
	kfree_skb(rx->held);
	rx->held = NULL;
	__skb_queue_purge(&rx->queue);
	rx->charged = 0;
	WRITE_ONCE(rx->queued, 0);
	rx->mark_state = STAP_MARK_NONE;
	if (rx->rcvlowat)
		WRITE_ONCE(sk->sk_rcvlowat, rx->rcvlowat);
}

/**
 * stap_rx_has_unread() - whether passed bytes were never read
 * @ctx: context
 *
 * Return: true when closing now would toss data, as TCP's data_was_unread.
 */
bool stap_rx_has_unread(const struct stap_context *ctx)
{
	return ctx->rx_on && (ctx->rx.queued || ctx->rx.held ||
			      stap_rdr_holding(ctx, STAP_RDR_RX));
}
