// SPDX-License-Identifier: GPL-2.0
/*
 * stap: the send path.
 *
 * What the application writes is copied into page fragments, in skbs
 * charged to the socket, and framed (stap_strp.c); without a parser
 * program each skb taken is one message. Each message runs through the
 * send verdict; accepted messages go to TCP with skb_send_sock_locked(),
 * which takes their pages by reference, in order, and dropped ones never
 * reach it. Everything here runs with the socket owned
 * by a process, except stap_tx_write_space().
 *
 * Bytes are taken only while TCP's send buffer has room, as tcp_sendmsg()
 * takes them, and TCP takes of an accepted message what its own buffer
 * has room for. The rest waits in stap_tx.pending, is pushed before
 * anything else when TCP makes room (stap_tx_write_space()), and holds
 * later sends back meanwhile.
 *
 * A send pushes TCP's queue once, as tcp_sendmsg() does, not once per
 * message: a message the send has bytes after goes to TCP with MSG_MORE
 * (stap_tx_more()). TCP still sends every full segment and pushes when it
 * runs out of room; a writer about to wait for room, and the end of the
 * send, push the rest (stap_tx_unhold(), stap_tx_send_locking()). Pushing
 * at every message boundary would send a short segment after each one;
 * a receiver with tcp_sock.scaling_ratio (6.12 and 7.3 of the kernels
 * stap supports) sizes its window clamp from the ratio of payload to
 * truesize of what it receives (tcp_measure_rcv_mss()), and with small
 * buffers the window then falls below the segments the writer was
 * allowed earlier: it waits for its persist timer.
 *
 * Urgent data (MSG_OOB): the in-band bytes of the send are framed and
 * judged; its last byte, the urgent one, is not part of any message. It
 * follows the message that holds the bytes sent before it, once that
 * message is judged, and goes to TCP with MSG_OOB there.
 */

#include <linux/if_packet.h>
#include <linux/poll.h>
#include <linux/skbuff.h>
#include <linux/uio.h>
#include <net/tcp.h>

#include "stap.h"
#include "trace.h"

/* Bytes taken from the application per framing step */
#define STAP_TX_CHUNK	(64 * 1024)

/**
 * struct stap_tx_cb - what stap keeps in an skb it holds for sending
 * @offset: next byte to hand to TCP
 * @urgent: the skb is one urgent byte, for TCP with MSG_OOB
 * @redirected: another socket's verdict redirected the skb here: the
 *	application's MSG_MORE and MSG_EOR are not its
 */
struct stap_tx_cb {
	unsigned int	offset;
	bool		urgent;
	bool		redirected;
};

static struct stap_tx_cb *stap_tx_cb(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct stap_tx_cb) > sizeof(skb->cb));
	return (struct stap_tx_cb *)skb->cb;
}

/* Largest message: the bigger of the send buffer and tcp_wmem[2] */
static unsigned int stap_tx_max_msg(const struct sock *sk)
{
	return max_t(unsigned int, READ_ONCE(sk->sk_sndbuf),
		     READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_wmem[2]));
}

static void stap_tx_uncharge(struct sock *sk, unsigned int bytes)
{
	if (bytes)
		sk_mem_uncharge(sk, bytes);
}

/* More of the send being framed follows, taken (@framing, after the
 * message being sent) or not: TCP need not push yet.
 */
static bool stap_tx_more(const struct stap_tx *tx)
{
	return tx->msg && (tx->framing || msg_data_left(tx->msg));
}

/* Hand up to @len bytes at @off of @skb to TCP, as far as its send buffer
 * has room. Their charge goes with them: TCP charges what it takes to
 * the forward allocation, which under memory pressure is all it may use
 * (tcp_wmem_schedule()), so stap's charge is put back there first, not
 * reclaimed, and what TCP leaves is charged again. Called with the socket
 * owned.
 *
 * Return: bytes TCP took, or TCP's error (-EAGAIN when it took none).
 */
static int stap_tx_xmit(struct sock *sk, struct stap_tx *tx,
			struct sk_buff *skb, unsigned int off, unsigned int len)
{
	int flags = stap_tx_cb(skb)->redirected ? 0 : tx->flags;
	int ret;

	if (stap_tx_cb(skb)->urgent)
		flags |= MSG_OOB;
	else if (stap_tx_more(tx))
		flags |= MSG_MORE;
	if (sk_has_account(sk))
		sk_forward_alloc_add(sk, len);
	ret = skb_send_sock_locked_with_flags(sk, skb, off, len, flags);
	sk_mem_charge(sk, len - max(ret, 0));
	if (ret > 0) {
		sk_mem_reclaim(sk);
		tx->corked = flags & MSG_MORE;
	}
	return ret;
}

/* Push what waits in @pending, in order. Return: 0 when it is empty,
 * -EAGAIN when TCP has no room, or TCP's error.
 */
static int __stap_tx_push(struct sock *sk, struct stap_tx *tx)
{
	struct stap_tx_cb *cb;
	struct sk_buff *skb;
	int ret;

	sock_owned_by_me(sk);
	while ((skb = skb_peek(&tx->pending))) {
		cb = stap_tx_cb(skb);
		ret = stap_tx_xmit(sk, tx, skb, cb->offset,
				   skb->len - cb->offset);
		if (ret <= 0)
			return ret ? ret : -EAGAIN;
		cb->offset += ret;
		tx->pending_bytes -= ret;
		if (cb->offset < skb->len)
			return -EAGAIN;
		__skb_unlink(skb, &tx->pending);
		consume_skb(skb);
	}
	return 0;
}

/* Send an accepted message, urgent byte or redirected message, or queue
 * what TCP did not take of it.
 */
static void __stap_tx_send(struct sock *sk, struct stap_tx *tx,
			   struct sk_buff *skb, bool urgent, bool redirected)
{
	struct stap_tx_cb *cb = stap_tx_cb(skb);
	int ret = 0;

	cb->urgent = urgent;
	cb->redirected = redirected;
	if (skb_queue_empty(&tx->pending)) {
		ret = stap_tx_xmit(sk, tx, skb, 0, skb->len);
		if (ret == skb->len) {
			consume_skb(skb);
			return;
		}
	}
	cb->offset = max(ret, 0);
	tx->pending_bytes += skb->len - cb->offset;
	__skb_queue_tail(&tx->pending, skb);
}

static void stap_tx_send(struct sock *sk, struct stap_tx *tx,
			 struct sk_buff *skb, bool urgent)
{
	__stap_tx_send(sk, tx, skb, urgent, false);
}

/* Send the urgent bytes that waited for the message they follow. */
static void stap_tx_release_urgent(struct sock *sk, struct stap_tx *tx)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(&tx->urgent))) {
		/* Held, it was charged its truesize; now its length */
		stap_tx_uncharge(sk, skb->truesize - skb->len);
		stap_tx_send(sk, tx, skb, true);
	}
}

/* Forget the bytes framing holds: after an error, or at shutdown and close
 * for an incomplete message.
 */
static void stap_tx_discard_framing(struct sock *sk, struct stap_context *ctx)
{
	struct stap_tx *tx = &ctx->tx;

	stap_strp_done(&tx->strp);
	stap_tx_uncharge(sk, tx->framing);
	tx->framing = 0;
	stap_tx_release_urgent(sk, tx);
}

/* A verdict may resize the message it passes (bpf_skb_change_tail()):
 * charge the socket for what it holds now, as what TCP takes of it is
 * uncharged. Return: false when the growth cannot be charged.
 */
static bool stap_tx_recharge(struct sock *sk, unsigned int old,
			     unsigned int new)
{
	if (new <= old) {
		stap_tx_uncharge(sk, old - new);
		return true;
	}
	if (!sk_wmem_schedule(sk, new - old))
		return false;
	sk_mem_charge(sk, new - old);
	return true;
}

/* A framing error, or no memory for a message: this and every later send
 * fail with its errno.
 */
static void stap_tx_parse_error(struct sock *sk, struct stap_context *ctx,
				int err)
{
	trace_stap_strp_error(sk, true, err);
	stap_stat_add(sk, ctx, stap_framing_mib(err), 1);
	stap_tx_abort(sk, ctx, stap_parse_errno(err));
}

/* Run the verdict on a framed message: send it, redirect it or drop it.
 * A redirected one goes with its charge. Called with the socket owned.
 *
 * Return: whether to go on framing what was taken: a message held for
 * room in its target stops the writer before its next bytes, not the
 * framing of those it took, which queue behind it.
 */
static bool stap_tx_msg(struct sock *sk, struct stap_context *ctx,
			struct sk_buff *msg)
{
	unsigned int len = msg->len, target;
	enum stap_verdict verdict;

	verdict = stap_bpf_verdict(sk, ctx, msg, true, &target);
	if ((verdict == STAP_MSG_PASS || verdict == STAP_MSG_REDIRECT) &&
	    stap_tx_recharge(sk, len, msg->len)) {
		if (verdict == STAP_MSG_PASS ||
		    stap_rdr_redirect(sk, ctx, msg, target, STAP_RDR_TX) ==
		    STAP_RDR_PASS)
			stap_tx_send(sk, &ctx->tx, msg, false);
		return !ctx->tx.err;
	}
	if (verdict == STAP_MSG_ABORT)
		stap_sk_abort(sk, ctx);
	stap_tx_uncharge(sk, len);
	kfree_skb_reason(msg, SKB_DROP_REASON_SOCKET_FILTER);
	return !ctx->tx.err;
}

/* Called with the socket owned, from stap_strp_feed(). */
static bool stap_tx_framed(struct sock *sk, struct stap_context *ctx,
			   struct sk_buff *msg)
{
	bool more;

	ctx->tx.framing -= msg->len;
	more = stap_tx_msg(sk, ctx, msg);
	stap_tx_release_urgent(sk, &ctx->tx);
	return more;
}

/* Copy up to @size bytes from @msg into @pfrag, as fragments of @skb.
 * Return: bytes copied, 0 when out of memory or frags, or -EFAULT.
 */
static int stap_tx_copy_frag(struct sock *sk, struct sk_buff *skb,
			     struct page_frag *pfrag, struct msghdr *msg,
			     size_t size)
{
	int i = skb_shinfo(skb)->nr_frags;
	size_t copy;

	if (!sk_page_frag_refill(sk, pfrag))
		return 0;
	copy = min_t(size_t, size, pfrag->size - pfrag->offset);
	if (!copy_from_iter_full(page_address(pfrag->page) + pfrag->offset,
				 copy, &msg->msg_iter))
		return -EFAULT;
	if (skb_can_coalesce(skb, i, pfrag->page, pfrag->offset)) {
		skb_frag_size_add(&skb_shinfo(skb)->frags[i - 1], copy);
	} else {
		if (i == MAX_SKB_FRAGS) {
			iov_iter_revert(&msg->msg_iter, copy);
			return 0;
		}
		skb_fill_page_desc(skb, i, pfrag->page, pfrag->offset, copy);
		get_page(pfrag->page);
	}
	pfrag->offset += copy;
	skb->len += copy;
	skb->data_len += copy;
	skb->truesize += copy;
	return copy;
}

/* Copy up to @size bytes from @msg into page fragments, as tcp_sendmsg()
 * fills its skbs (and sockmap its messages): TCP then takes the pages by
 * reference, so the bytes are copied once, as without stap. No skb or no
 * page: NULL with *@err 0, and the caller waits for memory, as
 * tcp_sendmsg_locked() does.
 */
static struct sk_buff *stap_tx_copy(struct sock *sk, struct msghdr *msg,
				    size_t size, int *err)
{
	struct page_frag *pfrag = sk_page_frag(sk);
	struct sk_buff *skb;
	int n = 0;

	*err = 0;
	skb = alloc_skb(0, sk->sk_allocation);
	if (!skb)
		return NULL;
	/* Nobody checksums these bytes: TCP builds its own skbs */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	while (skb->len < size) {
		n = stap_tx_copy_frag(sk, skb, pfrag, msg, size - skb->len);
		if (n <= 0)
			break;
	}
	/* A fault after some bytes: those are sent, the next take fails */
	if (!skb->len) {
		*err = n;
		kfree_skb(skb);
		return NULL;
	}
	return skb;
}

/* Take references on up to @size bytes of the pages @msg carries. No
 * skb: NULL with *@err 0, the caller waits for memory.
 */
static struct sk_buff *stap_tx_splice(struct sock *sk, struct msghdr *msg,
				      size_t size, int *err)
{
	struct sk_buff *skb;
	ssize_t n;

	*err = 0;
	skb = alloc_skb(0, sk->sk_allocation);
	if (!skb)
		return NULL;
	/* Nobody checksums these bytes: TCP builds its own skbs */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	n = skb_splice_from_iter(skb, &msg->msg_iter, size);
	if (n <= 0) {
		*err = n ? n : -EIO;
		kfree_skb(skb);
		return NULL;
	}
	return skb;
}

/* How many of @size bytes the send path may charge now. Over the memory
 * limits, TCP still takes bytes while its queue holds less than
 * tcp_wmem[0] (tcp_wmem_schedule()), so that every socket makes
 * progress; stap takes them on the same terms, while nothing it accepted
 * waits for TCP. The charge may then take the forward allocation below
 * zero: handing the bytes to TCP settles it (stap_tx_xmit()). That lets a
 * message longer than tcp_wmem[0] be framed under pressure: the excess
 * is one message per socket.
 *
 * Return: bytes to take, 0 to wait for memory.
 */
static size_t stap_tx_schedule(struct sock *sk, const struct stap_tx *tx,
			       size_t size)
{
	int wmem0 = READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_wmem[0]);

	if (sk_wmem_schedule(sk, size))
		return size;
	if (!skb_queue_empty(&tx->pending) ||
	    READ_ONCE(sk->sk_wmem_queued) >= wmem0)
		return 0;
	return min_t(size_t, size, wmem0);
}

/* Take up to @left bytes, as far as TCP has room, from @msg and frame
 * them. Return: bytes taken, 0 when the socket is out of memory, or a
 * negative errno.
 */
static int stap_tx_take(struct sock *sk, struct stap_context *ctx,
			struct msghdr *msg, size_t left, bool splice)
{
	struct stap_tx *tx = &ctx->tx;
	struct sk_buff *skb;
	size_t size;
	int err, n;

	size = min_t(size_t, left, STAP_TX_CHUNK);
	size = min_t(size_t, size, max(sk_stream_wspace(sk), 1));
	size = stap_tx_schedule(sk, tx, size);
	if (!size)
		return 0;

	skb = splice ? stap_tx_splice(sk, msg, size, &err) :
		       stap_tx_copy(sk, msg, size, &err);
	if (!skb)
		return err;
	n = skb->len;
	sk_mem_charge(sk, n);
	/* Without a parser each chunk is one message: no framing to do */
	if (!ctx->progs[STAP_SLOT_SEND_PARSE]) {
		stap_tx_msg(sk, ctx, skb);
		return n;
	}
	tx->framing += n;
	err = stap_strp_feed(&tx->strp, ctx, sk, skb, 0, n,
			     stap_tx_max_msg(sk));
	if (err < 0)
		stap_tx_parse_error(sk, ctx, err);
	consume_skb(skb);
	if (tx->err)
		stap_tx_discard_framing(sk, ctx);
	return n;
}

/* Take the urgent byte of a MSG_OOB send. Between messages it goes to TCP
 * at once; else it waits for the message being framed, charged its
 * truesize meanwhile. Return: 1, 0 when the socket is out of memory, or a
 * negative errno.
 */
static int stap_tx_take_urgent(struct sock *sk, struct stap_tx *tx,
			       struct msghdr *msg)
{
	struct sk_buff *skb;
	unsigned int charge;
	int err;

	skb = stap_tx_copy(sk, msg, 1, &err);
	if (!skb)
		return err;
	charge = tx->framing ? skb->truesize : skb->len;
	if (!sk_wmem_schedule(sk, charge)) {
		iov_iter_revert(&msg->msg_iter, skb->len);
		kfree_skb(skb);
		return 0;
	}
	sk_mem_charge(sk, charge);
	if (tx->framing)
		__skb_queue_tail(&tx->urgent, skb);
	else
		stap_tx_send(sk, tx, skb, true);
	return 1;
}

/* Take the next bytes of @msg; with MSG_OOB (@oob) its last byte apart. */
static int stap_tx_take_next(struct sock *sk, struct stap_context *ctx,
			     struct msghdr *msg, bool oob, bool splice)
{
	size_t left = msg_data_left(msg);

	if (oob && left == 1)
		return stap_tx_take_urgent(sk, &ctx->tx, msg);
	return stap_tx_take(sk, ctx, msg, left - oob, splice);
}

/* Room for more bytes: TCP's test, nothing accepted still waiting, and
 * no redirected message waiting for its target
 */
static bool stap_tx_room(struct sock *sk, const struct stap_context *ctx)
{
	return sk_stream_memory_free(sk) &&
	       skb_queue_empty(&ctx->tx.pending) &&
	       !stap_rdr_holding(ctx, STAP_RDR_TX);
}

/* 0 while the application may send, else the negative errno it gets */
static int stap_tx_status(struct sock *sk, const struct stap_tx *tx)
{
	if (tx->err)
		return -tx->err;
	if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN))
		return -EPIPE;
	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		return -EPIPE;
	return 0;
}

/* TCP holds frames of stap's MSG_MORE that neither the application's
 * MSG_MORE nor its TCP_CORK asked for: they are to be pushed.
 */
static bool stap_tx_uncork_due(struct sock *sk, const struct stap_tx *tx,
			       int flags)
{
	return tx->corked && !(flags & MSG_MORE) &&
	       !(tcp_sk(sk)->nonagle & TCP_NAGLE_CORK);
}

/* A writer is about to wait for room: TCP sends what stap's MSG_MORE
 * left in its queue, as tcp_sendmsg() pushes before it waits, since no
 * ACK may come to send it. tcp_push() is TCP's own, and
 * tcp_sock_set_cork() takes the socket lock. Return: whether there was
 * something to push, with the lock dropped meanwhile.
 */
static bool stap_tx_unhold(struct sock *sk, struct stap_tx *tx, int flags)
{
	if (!stap_tx_uncork_due(sk, tx, flags))
		return false;
	tx->corked = false;
	release_sock(sk);
	tcp_sock_set_cork(sk, false);
	lock_sock(sk);
	return true;
}

/* Wait until the redirected messages held go to their targets: a target
 * with room again has the socket's work retry them (stap_tx_retry_held()),
 * which wakes the writer. Return: 0, or the errno of the wait.
 */
static int stap_tx_wait_held(struct sock *sk, struct stap_context *ctx,
			     long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	while (stap_rdr_holding(ctx, STAP_RDR_TX)) {
		if (!*timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		if (stap_tx_status(sk, &ctx->tx))
			break;
		sk_wait_event(sk, timeo, !stap_rdr_holding(ctx, STAP_RDR_TX) ||
			      READ_ONCE(sk->sk_err) ||
			      (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN),
			      &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/* The sendmsg main loop. Called with the socket owned. */
static int __stap_tx_sendmsg(struct sock *sk, struct stap_context *ctx,
			     struct msghdr *msg, int flags, bool splice)
{
	long timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT);
	struct stap_tx *tx = &ctx->tx;
	bool oob = flags & MSG_OOB;
	int copied = 0;
	int err = 0;
	int n;

	sock_owned_by_me(sk);
	tx->flags = flags & (MSG_MORE | MSG_EOR);
	while (msg_data_left(msg)) {
		err = stap_tx_status(sk, tx);
		if (err)
			break;
		tx->msg = msg;
		err = __stap_tx_push(sk, tx);
		stap_rdr_retry(sk, ctx, STAP_RDR_TX);
		n = 0;
		if ((!err || err == -EAGAIN) && stap_tx_room(sk, ctx))
			n = stap_tx_take_next(sk, ctx, msg, oob, splice);
		tx->msg = NULL;
		if (err && err != -EAGAIN)
			break;
		if (n > 0) {
			copied += n;
			/* A send whose own bytes broke the stream fails */
			if (tx->err)
				return -tx->err;
			continue;
		}
		if (n < 0) {
			err = n;
			break;
		}
		if (stap_tx_unhold(sk, tx, flags))
			continue;
		if (stap_rdr_holding(ctx, STAP_RDR_TX)) {
			err = stap_tx_wait_held(sk, ctx, &timeo);
			if (err)
				break;
			continue;
		}
		set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		/* Counted while owned, as stap_rx_wait() counts readers */
		tx->writers++;
		err = sk_stream_wait_memory(sk, &timeo);
		tx->writers--;
		if (err)
			break;
	}
	/* A writer woken for TCP's room pushes: leave nothing stranded */
	if (!skb_queue_empty(&tx->pending))
		__stap_tx_push(sk, tx);
	if (copied)
		return copied;
	return err == -EPIPE ? sk_stream_error(sk, flags, err) : err;
}

/* Zero-copy sends and TCP Fast Open would go around the framing */
#define STAP_TX_BAD_FLAGS	(MSG_ZEROCOPY | MSG_FASTOPEN)

/* Called in process context, the socket not locked. */
static int stap_tx_send_locking(struct sock *sk, struct msghdr *msg,
				int flags, bool splice)
{
	struct stap_context *ctx = stap_get_ctx(sk);
	bool uncork;
	int ret;

	if (flags & STAP_TX_BAD_FLAGS)
		return -EOPNOTSUPP;

	lock_sock(sk);
	ret = __stap_tx_sendmsg(sk, ctx, msg, flags, splice);
	uncork = stap_tx_uncork_due(sk, &ctx->tx, flags);
	if (uncork)
		ctx->tx.corked = false;
	release_sock(sk);
	/* Frames held for an earlier MSG_MORE go out with this send */
	if (uncork)
		tcp_sock_set_cork(sk, false);
	return ret;
}

/**
 * stap_tx_sendmsg() - proto.sendmsg of a socket whose send side is tapped
 * @sk: socket
 * @msg: what the application writes; with MSG_SPLICE_PAGES (sendfile,
 *	splice) its pages are referenced, not copied
 * @size: bytes in @msg
 *
 * Takes bytes with TCP's semantics for blocking, SO_SNDTIMEO, MSG_DONTWAIT
 * and MSG_NOSIGNAL; MSG_MORE and MSG_EOR reach TCP with the messages.
 *
 * Context: Process context; takes the socket lock.
 *
 * Return: bytes taken (including those of dropped messages), or a negative
 * errno; the errno of a verdict or parser failure caused by this send.
 */
int stap_tx_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	return stap_tx_send_locking(sk, msg, msg->msg_flags,
				    msg->msg_flags & MSG_SPLICE_PAGES);
}

/**
 * stap_tx_push_pending() - push what TCP refused, now that it has room
 * @sk: socket, owned by the caller
 * @ctx: its context
 *
 * Called from the context's work (STAP_WORK_TX_PUSH).
 */
void stap_tx_push_pending(struct sock *sk, struct stap_context *ctx)
{
	if (!__stap_tx_push(sk, &ctx->tx))
		ctx->tx.saved_write_space(sk);
}

/* Send a message another socket's verdict redirected here, judged by
 * the source's verdict: this socket's own send verdict does not see it.
 *
 * It goes after the accepted messages waiting, as if the application had
 * written it between two messages: the one being framed is not in
 * @pending yet. It is charged as an accepted message; the source's flow
 * control (stap_redirect.c) keeps what waits below the send buffer, so
 * it is charged even over the memory limits, as the first skb of a
 * receive queue is.
 */
static void stap_tx_send_redirected(struct sock *sk, struct stap_context *ctx,
				    struct sk_buff *skb)
{
	struct stap_tx *tx = &ctx->tx;

	if (stap_tx_status(sk, tx)) {
		stap_bpf_count_drop(sk, ctx, true, skb->len,
				    STAP_DROP_REDIRECT);
		kfree_skb(skb);
		return;
	}
	/* Raises the forward allocation where the limits allow it */
	sk_wmem_schedule(sk, skb->len);
	sk_mem_charge(sk, skb->len);
	__stap_tx_send(sk, tx, skb, false, true);
}

/**
 * stap_tx_take_redirected() - send what sources redirected to this socket
 * @sk: socket, owned by the caller
 * @ctx: its context, with a tapped send side
 *
 * Called from the context's work (STAP_WORK_RDR_IN), which
 * stap_tx_write_space() also queues while sources wait: each call wakes
 * them when there is room again. Shutdown and close call it a last time
 * before the flush.
 */
void stap_tx_take_redirected(struct sock *sk, struct stap_context *ctx)
{
	struct sk_buff_head list;
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	stap_rdr_take_inbox(ctx, &list);
	while ((skb = __skb_dequeue(&list)))
		stap_tx_send_redirected(sk, ctx, skb);
	stap_rdr_kick(sk, ctx);
}

/**
 * stap_tx_retry_held() - a target may have room for the messages held
 * @sk: socket, owned by the caller
 * @ctx: its context, with a tapped send side
 *
 * Called from the context's work (STAP_WORK_RDR_RETRY): once nothing is
 * held, writers waiting in sendmsg and poll are woken.
 */
void stap_tx_retry_held(struct sock *sk, struct stap_context *ctx)
{
	sock_owned_by_me(sk);
	if (stap_rdr_holding(ctx, STAP_RDR_TX) &&
	    stap_rdr_retry(sk, ctx, STAP_RDR_TX))
		ctx->tx.saved_write_space(sk);
}

/**
 * stap_tx_write_space() - sk_write_space of a tapped socket
 * @sk: socket
 *
 * Writers wait for TCP's room; accepted bytes TCP refused are pushed
 * first: by a writer sleeping in sendmsg, else from process context.
 *
 * Context: Softirq with the socket bh-locked, or the socket owned.
 */
void stap_tx_write_space(struct sock *sk)
{
	struct stap_context *ctx = stap_get_ctx(sk);

	if (unlikely(!ctx || !READ_ONCE(ctx->tx_on)))
		return;
	/* Sources redirecting here wait for this room */
	if (stap_rdr_busy(ctx))
		stap_queue_work(sk, ctx, STAP_WORK_RDR_IN, 0);
	/* A sleeping writer pushes them itself when it wakes */
	if (skb_queue_empty(&ctx->tx.pending) || ctx->tx.writers) {
		ctx->tx.saved_write_space(sk);
		return;
	}
	stap_queue_work(sk, ctx, STAP_WORK_TX_PUSH, 0);
}

/**
 * stap_tx_poll_mask() - EPOLLOUT only when a send makes progress
 * @sk: socket
 * @ctx: its context
 * @mask: tcp_poll()'s answer
 *
 * Context: Any process context; lockless.
 *
 * Return: @mask without EPOLLOUT while accepted bytes wait for TCP, or
 * redirected messages for their targets.
 */
__poll_t stap_tx_poll_mask(struct sock *sk, const struct stap_context *ctx,
			   __poll_t mask)
{
	if (!(mask & EPOLLOUT) || (!skb_queue_len_lockless(&ctx->tx.pending) &&
				   !stap_rdr_holding(ctx, STAP_RDR_TX)))
		return mask;
	set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
	return mask & ~(EPOLLOUT | EPOLLWRNORM);
}

/* Hand TCP all that waits, ahead of its FIN. Its send buffer grows for
 * good to hold it, as tcp_sndbuf_expand() grows it: twice the bytes, for
 * the skbs around them, and never shrinks back, so that no lockless
 * reader sees a passing value. Return: 0, or an error when TCP still
 * refuses them (memory pressure).
 */
static int stap_tx_push_all(struct sock *sk, struct stap_tx *tx)
{
	unsigned int left = UINT_MAX;
	u64 want;
	int err;

	/* Grow again only while the last growth let TCP take some */
	while ((err = __stap_tx_push(sk, tx)) == -EAGAIN &&
	       tx->pending_bytes != left) {
		left = tx->pending_bytes;
		want = (u64)READ_ONCE(sk->sk_wmem_queued) + 2ULL * left +
		       SKB_TRUESIZE(0);
		if (want <= READ_ONCE(sk->sk_sndbuf))
			break;
		WRITE_ONCE(sk->sk_sndbuf, min_t(u64, want, INT_MAX));
	}
	return err;
}

/**
 * stap_tx_flush() - end of the send side: shutdown(SHUT_WR) or close
 * @sk: socket, owned by the caller
 * @ctx: its context
 *
 * An incomplete message is dropped; accepted bytes still waiting are
 * handed to TCP, ahead of its FIN, and redirected messages still held
 * to their targets.
 *
 * Return: true when TCP could not take them all (memory pressure).
 */
bool stap_tx_flush(struct sock *sk, struct stap_context *ctx)
{
	struct stap_tx *tx = &ctx->tx;

	sock_owned_by_me(sk);
	stap_rdr_flush(sk, ctx);
	if (tx->framing)
		stap_bpf_count_drop(sk, ctx, true, tx->framing,
				    STAP_DROP_INCOMPLETE);
	stap_tx_discard_framing(sk, ctx);
	tx->flags = 0;
	return stap_tx_push_all(sk, tx) != 0;
}

/**
 * stap_tx_shutdown() - proto_ops.shutdown of a tapped socket
 * @sock: socket
 * @how: SHUT_RD, SHUT_WR or SHUT_RDWR
 *
 * Context: Process context; takes the socket lock.
 *
 * Return: 0 or a negative errno, as inet_shutdown().
 */
int stap_tx_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	struct stap_context *ctx = stap_get_ctx(sk);

	if (how == SHUT_WR || how == SHUT_RDWR) {
		lock_sock(sk);
		if (stap_tx_flush(sk, ctx))
			stap_sk_abort(sk, ctx);
		release_sock(sk);
	}
	return ctx->sk_ops->shutdown(sock, how);
}

/* The direction's parser, for stap_strp_feed() */
static int stap_tx_parse(struct sock *sk, struct stap_context *ctx,
			 struct sk_buff *skb, unsigned int max)
{
	return stap_bpf_parse(ctx, STAP_SLOT_SEND_PARSE, sk, skb, max);
}

static const struct stap_strp_ops stap_tx_strp_ops = {
	.parse		= stap_tx_parse,
	.rcv_msg	= stap_tx_framed,
};

/**
 * stap_tx_init() - set up the send state of a context
 * @sk: socket the context belongs to
 * @ctx: context with the send programs in place
 *
 * Callable from softirq (tcp_ulp_ops.clone).
 *
 * Return: 0 or a negative errno.
 */
int stap_tx_init(struct sock *sk, struct stap_context *ctx)
{
	ctx->tx.saved_write_space = sk->sk_write_space;
	__skb_queue_head_init(&ctx->tx.pending);
	__skb_queue_head_init(&ctx->tx.urgent);
	stap_strp_init(&ctx->tx.strp, &stap_tx_strp_ops);
	return 0;
}

/**
 * stap_tx_start() - tap the send side
 * @sk: socket, owned by the caller
 * @ctx: context after stap_tx_init()
 */
void stap_tx_start(struct sock *sk, struct stap_context *ctx)
{
	sock_owned_by_me(sk);
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_write_space = stap_tx_write_space;
	write_unlock_bh(&sk->sk_callback_lock);
}

/**
 * stap_tx_start_clone() - tap the send side of a listener's new child
 * @sk: the child, not yet visible to anyone else
 * @ctx: its context after stap_tx_init()
 *
 * Context: Softirq (tcp_ulp_ops.clone).
 */
void stap_tx_start_clone(struct sock *sk, struct stap_context *ctx)
{
	sk->sk_write_space = stap_tx_write_space;
}

/**
 * stap_tx_stop() - untap the send side and free what it holds
 * @sk: socket, owned by the caller or being destroyed
 * @ctx: context
 */
void stap_tx_stop(struct sock *sk, struct stap_context *ctx)
{
	struct stap_tx *tx = &ctx->tx;
	struct sk_buff *skb;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_write_space = tx->saved_write_space;
	write_unlock_bh(&sk->sk_callback_lock);
	while ((skb = __skb_dequeue(&tx->urgent))) {
		stap_tx_uncharge(sk, skb->truesize);
		kfree_skb(skb);
	}
	stap_tx_discard_framing(sk, ctx);
	__skb_queue_purge(&tx->pending);
	stap_tx_uncharge(sk, tx->pending_bytes);
	tx->pending_bytes = 0;
}
