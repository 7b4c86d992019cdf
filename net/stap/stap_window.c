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

/* The ACK tcp_cleanup_rbuf() would send once a read emptied the receive
 * memory: a delayed ACK that waited for the read, or the peer pushed.
 */
static bool stap_window_ack_due(struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tcp_sock *tp = tcp_sk(sk);

	if (!inet_csk_ack_scheduled(sk))
		return false;
	if (tp->rcv_nxt - tp->rcv_wup > icsk->icsk_ack.rcv_mss)
		return true;
	return ((icsk->icsk_ack.pending & ICSK_ACK_PUSHED2) ||
		((icsk->icsk_ack.pending & ICSK_ACK_PUSHED) &&
		 !inet_csk_in_pingpong_mode(sk))) &&
	       !atomic_read(&sk->sk_rmem_alloc);
}

/**
 * stap_window_update() - tell the peer of the room a read freed
 * @sk: socket
 * @copied: bytes the read took: from stap's queue (the application), or
 *	from TCP's receive queue (framing in process context)
 *
 * Sends an ACK when tcp_cleanup_rbuf() would after a read of @copied
 * bytes (a delayed ACK is due, or the peer has less than half the window
 * and TCP would offer twice what it has), and also when TCP would offer
 * more and the read freed at least what the peer has left.
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
 * way the writer would wait for its persist timer.
 *
 * Context: Process context, the socket owned.
 */
void stap_window_update(struct sock *sk, int copied)
{
	struct tcp_sock *tp = tcp_sk(sk);
	u32 now, offer;

	sock_owned_by_me(sk);
	if (copied <= 0 || sk->sk_state == TCP_LISTEN ||
	    sk->sk_state == TCP_CLOSE)
		return;
	if (!stap_window_ack_due(sk)) {
		if (sk->sk_shutdown & RCV_SHUTDOWN)
			return;
		now = tcp_receive_window(tp);
		offer = stap_window_offer(sk);
		if (offer <= now)
			return;
		/* Not tcp_cleanup_rbuf()'s rule, nor a read of what is left */
		if ((2 * now > tp->window_clamp || offer < 2 * now) &&
		    copied < now)
			return;
	}
	__tcp_send_ack(sk, tp->rcv_nxt, 0);
}
