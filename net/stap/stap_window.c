// SPDX-License-Identifier: GPL-2.0
/*
 * stap: the receive window that reads give back.
 *
 * Passed messages wait in stap's queue charged to the socket, so TCP's
 * receive window closes while the application has not read them. TCP
 * reopens a window when a read frees room (tcp_cleanup_rbuf() after
 * tcp_recvmsg()), but stap takes the bytes from TCP (tcp_read_sock())
 * before the application reads them, and the room comes back only when
 * the application reads stap's queue. Without an ACK then, the peer
 * learns of the reopened window from its zero window probes, whose timer
 * backs off to seconds. tcp_cleanup_rbuf() is not exported: this is its
 * decision, on TCP's inline helpers, and its ACK, through __tcp_send_ack().
 */

#include <net/tcp.h>

#include "stap.h"

/* The window an ACK sent now would offer, as __tcp_select_window() works
 * it out but without its side effects (it may clear icsk_ack.quick and
 * lower rcv_ssthresh): no more than TCP would offer, so that stap never
 * sends an ACK that reopens nothing, which the peer would count as a
 * duplicate.
 */
static u32 stap_window_offer(const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	int mss = inet_csk(sk)->icsk_ack.rcv_mss;
	int free_space = tcp_space(sk);
	int allowed = tcp_full_space(sk);
	int full = min_t(int, tp->window_clamp, allowed);
	int scale = tp->rx_opt.rcv_wscale;

	if (unlikely(mss > full)) {
		mss = full;
		if (mss <= 0)
			return 0;
	}
	if (free_space < full >> 1) {
		free_space = round_down(free_space, 1 << scale);
		if (free_space < allowed >> 4 || free_space < mss)
			return 0;
	}
	free_space = min_t(int, free_space, tp->rcv_ssthresh);
	if (scale)
		return ALIGN(free_space, 1 << scale);
	return rounddown(free_space, mss);
}

/* The peer pushed a segment smaller than its MSS since the last ACK */
static bool stap_window_pushed(struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);

	return (icsk->icsk_ack.pending & ICSK_ACK_PUSHED2) ||
	       ((icsk->icsk_ack.pending & ICSK_ACK_PUSHED) &&
		!inet_csk_in_pingpong_mode(sk));
}

/* The ACK tcp_cleanup_rbuf() would send once a read @drained what it
 * reads: a delayed ACK after more than a segment, or the peer pushed.
 */
static bool stap_window_ack_due(struct sock *sk, bool drained)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	if (!inet_csk_ack_scheduled(sk))
		return false;
	if (tp->rcv_nxt - tp->rcv_wup > inet_csk(sk)->icsk_ack.rcv_mss)
		return true;
	return drained && stap_window_pushed(sk);
}

/* TCP would offer twice what the peer has (tcp_cleanup_rbuf()'s rule), or
 * more than it has once @freed bytes, at least what it has, came back, or
 * room for a segment where the peer has less (it cannot send then).
 */
static bool stap_window_opens(struct sock *sk, int freed)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	u32 mss = inet_csk(sk)->icsk_ack.rcv_mss;
	u32 now, offer;

	if (sk->sk_shutdown & RCV_SHUTDOWN)
		return false;
	now = tcp_receive_window(tp);
	offer = stap_window_offer(sk);
	if (offer <= now)
		return false;
	return (2 * now <= tp->window_clamp && offer >= 2 * now) ||
	       freed >= now || (now < mss && offer >= mss);
}

static bool stap_window_active(const struct sock *sk)
{
	return sk->sk_state != TCP_LISTEN && sk->sk_state != TCP_CLOSE;
}

/**
 * stap_window_update() - tell the peer of the room a read freed
 * @sk: socket
 * @copied: bytes the application took from stap's queue
 *
 * Sends an ACK when tcp_cleanup_rbuf() would after a read of @copied
 * bytes (a delayed ACK is due, or the peer has less than half the window
 * and TCP would offer twice what it has), and also when TCP would offer
 * more and the read freed at least what the peer has left, or room for a
 * segment (icsk_ack.rcv_mss) where the peer has less.
 *
 * A reader of TCP's queue frees room a little at a time, and waiting for
 * the offer to double saves an ACK per read. stap's reader frees a whole
 * message at once, after its last segment was acknowledged with the
 * window it left, and a reader that waits for the rest of a message
 * frames what arrives after TCP acknowledged it with the window those
 * bytes left in its queue. With buffers smaller than a message, what the
 * peer has left can then be smaller than its next segment while a doubled
 * offer is more than rcv_ssthresh allows. Nor does "less than half the
 * window" say that the peer can send: its segments may be half the
 * largest window it was offered (tcp_bound_to_half_wnd()), and
 * window_clamp follows the ratio of payload to truesize of the segments
 * received (tcp_measure_rcv_mss()), so it can fall below that. Either
 * way the writer would wait for its persist timer; nor may a read that
 * frees less than the peer has, but lets it send a segment again, wait
 * for the offer to double.
 *
 * Context: Process context, the socket owned.
 */
void stap_window_update(struct sock *sk, int copied)
{
	sock_owned_by_me(sk);
	if (copied <= 0 || !stap_window_active(sk))
		return;
	if (stap_window_ack_due(sk, !atomic_read(&sk->sk_rmem_alloc)) ||
	    stap_window_opens(sk, copied))
		__tcp_send_ack(sk, tcp_sk(sk)->rcv_nxt, 0);
}

/**
 * stap_window_framed() - the ACK owed once stap framed what TCP held
 * @sk: socket
 * @framed: bytes stap took from TCP's receive queue
 * @more: the parser waits for more bytes of the message it frames
 *
 * Framing frees no room: the bytes stay charged to the socket in stap's
 * queue until the application reads them, and an ACK sent now would
 * offer the window they leave, often none, so that the peer stops until
 * the read's update. So a due ACK waits for the read, as it does for a
 * reader of TCP's queue, except when the parser needs more bytes before
 * the application can read at all: TCP acknowledges at once then, as it
 * does for a reader waiting on SO_RCVLOWAT (__tcp_ack_snd_check()), and
 * for a pushed segment once the parser took all TCP held, as
 * tcp_cleanup_rbuf() does once a read emptied the queue: no read will
 * come to send it, and a writer short of send buffer waits for it. A
 * window that opens (the views' truesize is smaller than the segments')
 * is offered at once.
 *
 * Context: Any context, the socket locked: owned, or bh-locked in softirq
 * (from sk_data_ready, where TCP's own ACK check may already have run).
 */
void stap_window_framed(struct sock *sk, int framed, bool more)
{
	stap_assert_locked(sk);
	if (framed <= 0 || !stap_window_active(sk))
		return;
	/* The parser's read is done once TCP's queue is empty */
	if ((more &&
	     stap_window_ack_due(sk, skb_queue_empty(&sk->sk_receive_queue))) ||
	    stap_window_opens(sk, 0))
		__tcp_send_ack(sk, tcp_sk(sk)->rcv_nxt, 0);
}

/**
 * stap_window_read_sock() - tcp_read_sock() without its ACK
 * @sk: socket
 * @desc: read descriptor for @actor
 * @actor: takes the bytes
 *
 * tcp_read_sock() ends in tcp_cleanup_rbuf(), which sends an ACK that is
 * scheduled once more than a segment arrived since the last one, whatever
 * window it offers: after framing, the window the bytes in stap's queue
 * leave (see stap_window_framed()). tcp_read_sock_noack() skips that
 * call, and tcp_rcv_space_adjust() with it, and is not exported; so the
 * scheduled ACK is hidden from tcp_cleanup_rbuf() for the read and stays
 * scheduled: TCP's input path, its delayed ACK timer, and stap after the
 * application's read send it. tcp_cleanup_rbuf()'s other rule, an offer
 * that doubles, still applies.
 *
 * Context: Any context, the socket locked (owned, or bh-locked in
 * softirq), so that neither TCP's input nor its timers run meanwhile.
 *
 * Return: what tcp_read_sock() returns.
 */
int stap_window_read_sock(struct sock *sk, read_descriptor_t *desc,
			  sk_read_actor_t actor)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	u8 sched = icsk->icsk_ack.pending & ICSK_ACK_SCHED;
	int n;

	icsk->icsk_ack.pending &= ~ICSK_ACK_SCHED;
	n = tcp_read_sock(sk, desc, actor);
	icsk->icsk_ack.pending |= sched;
	return n;
}
