// SPDX-License-Identifier: GPL-2.0
/*
 * stap: aborting a connection after a DISCONNECT verdict.
 *
 * Both directions stop at once: readers get ECONNABORTED once what was
 * passed before is read, senders at once. The reset follows every byte
 * TCP took before the verdict: it is sent once the peer has acknowledged
 * them all, or once a retransmission timeout has gone by with no
 * acknowledgment progress (a peer that stopped reading does not keep the
 * connection open). A reset sent after the acknowledgment cannot
 * overtake the data, whichever CPU the work runs on. tcp_abort() needs
 * the socket unlocked, so the reset comes from stap's workqueue, which
 * checks every jiffy. Closing the socket first resets at once, as close()
 * with a zero SO_LINGER does.
 */

#include <linux/workqueue.h>
#include <net/tcp.h>

#include "stap.h"
#include "trace.h"

struct workqueue_struct *stap_wq;

/* Called with the socket owned. */
static bool stap_abort_due(struct sock *sk, struct stap_abort *ab)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	sock_owned_by_me(sk);
	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)) ||
	    tp->snd_una == tp->write_seq)
		return true;
	if (tp->snd_una != ab->snd_una) {
		ab->snd_una = tp->snd_una;
		ab->deadline = jiffies + inet_csk(sk)->icsk_rto;
		return false;
	}
	return time_after_eq(jiffies, ab->deadline);
}

/**
 * stap_abort_poll() - whether the reset of an armed abort is due
 * @sk: socket, owned by the caller
 * @ctx: its context
 *
 * Called from the context's work. When the reset is not due yet, the
 * work checks again in a jiffy.
 *
 * Return: true when the caller is to reset the connection, with
 * tcp_abort() once the socket is released.
 */
bool stap_abort_poll(struct sock *sk, struct stap_context *ctx)
{
	if (stap_abort_due(sk, &ctx->abort))
		return true;
	stap_queue_work(sk, ctx, STAP_WORK_ABORT, 1);
	return false;
}

/**
 * stap_rx_abort() - stop framing; readers get @err once the queue is empty
 * @sk: socket, locked (stap_assert_locked())
 * @ctx: its context
 * @err: positive errno
 */
void stap_rx_abort(struct sock *sk, struct stap_context *ctx, int err)
{
	struct stap_rx *rx = &ctx->rx;

	stap_assert_locked(sk);
	if (rx->err)
		return;
	stap_strp_done(&rx->strp);
	/* Pairs with READ_ONCE() in stap_rx_readable() */
	WRITE_ONCE(rx->err, err);
	rx->wake = true;
}

/**
 * stap_tx_abort() - stop framing; every later send returns @err
 * @sk: socket, locked (stap_assert_locked()): a receive verdict aborts
 *	from softirq, where no process owns the socket
 * @ctx: its context
 * @err: positive errno
 */
void stap_tx_abort(struct sock *sk, struct stap_context *ctx, int err)
{
	stap_assert_locked(sk);
	if (!ctx->tx.err)
		ctx->tx.err = err;
}

/**
 * stap_sk_abort() - abort the connection after a DISCONNECT verdict
 * @sk: socket, locked (stap_assert_locked())
 * @ctx: its context
 *
 * Context: Softirq with the socket bh-locked, or the socket owned.
 */
void stap_sk_abort(struct sock *sk, struct stap_context *ctx)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	struct stap_abort *ab = &ctx->abort;

	stap_assert_locked(sk);
	trace_stap_sock_disconnect(sk);
	stap_stat_add(sk, ctx, STAP_MIB_DISCONNECTS, 1);
	if (ctx->rx_on)
		stap_rx_abort(sk, ctx, ECONNABORTED);
	if (ctx->tx_on)
		stap_tx_abort(sk, ctx, ECONNABORTED);
	if (ab->armed)
		return;
	ab->armed = true;
	ab->snd_una = tp->snd_una;
	ab->deadline = jiffies + inet_csk(sk)->icsk_rto;
	stap_queue_work(sk, ctx, STAP_WORK_ABORT, 0);
}
