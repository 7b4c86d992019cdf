/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stap: the socket tap, a TCP upper layer protocol running BPF programs on
 * every application message a socket sends or receives.
 */
#ifndef _NET_STAP_H
#define _NET_STAP_H

#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <net/inet_connection_sock.h>
#include <net/strparser.h>
#include <uapi/linux/stap.h>

struct bpf_prog;

/* Program slots, in the order of struct stap_params */
enum stap_slot {
	STAP_SLOT_SEND_PARSE,
	STAP_SLOT_SEND_VERDICT,
	STAP_SLOT_RECV_PARSE,
	STAP_SLOT_RECV_VERDICT,
	STAP_NUM_SLOTS,
};

struct stap_context;

/**
 * struct stap_strp_ops - what a direction does with its byte stream
 * @parse: the direction's parser: the length of the message @skb starts,
 *	0 for more bytes, or a negative errno (as stap_bpf_parse())
 * @rcv_msg: takes each complete message; false stops framing the chunk
 *	at hand
 */
struct stap_strp_ops {
	int	(*parse)(struct sock *sk, struct stap_context *ctx,
			 struct sk_buff *skb, unsigned int max);
	bool	(*rcv_msg)(struct sock *sk, struct stap_context *ctx,
			   struct sk_buff *msg);
};

/**
 * struct stap_strp - a byte stream being framed into messages
 * @head: the message being assembled, from its first byte; NULL between
 *	messages
 * @tail: last skb chained to @head's frag_list, NULL before the first
 * @ops: the direction's parser and message handler
 * @len: length of the message once the parser has said it, else 0
 */
struct stap_strp {
	struct sk_buff			*head;
	struct sk_buff			*tail;
	const struct stap_strp_ops	*ops;
	unsigned int			len;
};

/* Where the receive side stands with TCP's urgent mark */
enum stap_mark_state {
	STAP_MARK_NONE,		/* no mark noted */
	STAP_MARK_AFTER_MSG,	/* after the message being framed */
	STAP_MARK_SET,		/* at stap_rx.mark */
};

/**
 * struct stap_rx - receive side of a tapped socket
 * @strp: frames the TCP byte stream into messages
 * @queue: passed messages not yet read, charged to the socket
 * @queued: payload bytes in @queue; written under the socket lock, read
 *	locklessly by poll
 * @charged: truesize of @queue, for the gate
 * @rcvlowat: the application's SO_RCVLOWAT, counted in passed bytes; TCP's
 *	own sk_rcvlowat stays 1 so that every arrival is framed
 * @err: positive errno the application gets once @queue is empty;
 *	sticky, read locklessly by poll
 * @readers: readers sleeping in recvmsg or splice_read, which frame what
 *	arrives meanwhile themselves; changed only with the socket owned,
 *	read by stap_rx_data_ready() only when it is not owned
 * @deferred: data arrived for a sleeping reader to frame; set in
 *	softirq, cleared when the receive queue is framed, read locklessly
 *	by the sleeping reader's wait condition
 * @copied: passed bytes the application has read, in all
 * @mark: stream position (as @copied) of the urgent mark, when
 *	@mark_state is STAP_MARK_SET
 * @urg_seq: TCP's urg_seq of that mark; a later urgent pointer voids it
 * @mark_state: &enum stap_mark_state (a u8 to pack the struct); the mark
 *	fields change under the socket lock only
 * @held: a passed message the socket could not be charged for
 *	(sk_rmem_schedule() failed) while @queue was not empty; framing
 *	waits until the reader has made room and it is queued
 * @gated: @queue is full, new data stays in the TCP receive queue
 * @pending: data arrived while the socket was owned by a process
 * @wake: messages or an error were queued, readers are to be woken
 * @saved_data_ready: the socket's sk_data_ready before stap, restored by
 *	stap_rx_stop()
 */
struct stap_rx {
	struct stap_strp	strp;
	struct sk_buff_head	queue;
	unsigned int		queued;
	unsigned int		charged;
	int			rcvlowat;
	int			err;
	unsigned int		readers;
	u32			copied;
	u32			mark;
	u32			urg_seq;
	u8			mark_state;
	bool			deferred;
	bool			gated;
	bool			pending;
	bool			wake;
	struct sk_buff		*held;
	void			(*saved_data_ready)(struct sock *sk);
};

/**
 * struct stap_tx - send side of a tapped socket
 * @strp: frames what the application writes into messages
 * @pending: accepted messages and urgent bytes TCP has not taken all of
 *	yet, in order
 * @urgent: urgent bytes (MSG_OOB) waiting for the message being framed,
 *	which they follow; each charged its truesize
 * @framing: bytes taken from the application and not yet framed into a
 *	message, charged to the socket
 * @pending_bytes: bytes of @pending not yet handed to TCP, charged
 * @flags: MSG_MORE and MSG_EOR of the send being framed
 * @err: positive errno every later send returns; sticky
 * @writers: writers sleeping in sendmsg, which push @pending themselves
 *	when woken; changed only with the socket owned, read by
 *	stap_tx_write_space() under the socket lock
 * @corked: TCP holds frames stap pushed with MSG_MORE; @pending is
 *	pushed from the context's work (STAP_WORK_TX_PUSH) once TCP makes room
 * @msg: the send being framed, while its bytes are taken and @pending is
 *	pushed, under the socket lock that is not dropped meanwhile; else
 *	NULL. Messages it has bytes after go to TCP with MSG_MORE.
 * @saved_write_space: the socket's sk_write_space before stap, restored
 *	by stap_tx_stop()
 */
struct stap_tx {
	struct stap_strp	strp;
	struct sk_buff_head	pending;
	struct sk_buff_head	urgent;
	unsigned int		framing;
	unsigned int		pending_bytes;
	int			flags;
	int			err;
	unsigned int		writers;
	bool			corked;
	struct msghdr		*msg;
	void			(*saved_write_space)(struct sock *sk);
};

/**
 * struct stap_abort - the reset after a DISCONNECT verdict, sent from the
 *	context's work (STAP_WORK_ABORT)
 * @deadline: when to send it even though the peer has not acknowledged
 *	everything: one retransmission timeout after the last progress
 * @snd_una: TCP's snd_una when progress was last seen
 * @armed: a DISCONNECT verdict was given
 */
struct stap_abort {
	unsigned long		deadline;
	u32			snd_una;
	bool			armed;
};

/**
 * struct stap_rdr_target - a socket a receive verdict may redirect to
 * @sk: the target socket, held
 * @ctx: its context, held: it outlives the target's detach
 * @cookie: the target's socket cookie
 * @flags: STAP_TARGET_* flags
 * @refs: the table's reference and one per held message
 */
struct stap_rdr_target {
	struct sock		*sk;
	struct stap_context	*ctx;
	u64			cookie;
	u32			flags;
	refcount_t		refs;
};

/**
 * struct stap_rdr_table - the targets STAP_TARGETS sets, replaced whole
 * @n: entries in @t
 * @t: the targets, by the index a verdict names
 */
struct stap_rdr_table {
	unsigned int		n;
	struct stap_rdr_target	*t[] __counted_by(n);
};

/* Directions of a source, to index struct stap_rdr.src */
enum {
	STAP_RDR_RX,
	STAP_RDR_TX,
	STAP_RDR_DIRS,
};

/**
 * struct stap_rdr_src - one direction of a socket as a redirect source
 * @held: redirected messages waiting for room in their targets, in the
 *	order they were framed, each holding a reference on its target:
 *	at most one received message (receive framing waits for it), and on
 *	the send side what one framing step took (charged to the socket
 *	until it leaves; the writer waits meanwhile); under the socket lock
 * @wait: node on the @waiters of the target of @held's first message,
 *	while that one waits
 * @ctx: the context this is part of, for the wake
 */
struct stap_rdr_src {
	struct sk_buff_head	held;
	struct list_head	wait;
	struct stap_context	*ctx;
};

/**
 * struct stap_rdr - redirect state of a tapped socket, as source and as
 *	target
 * @targets: the socket's targets, or NULL; under the socket lock
 * @src: source state by direction (STAP_RDR_RX, STAP_RDR_TX)
 * @inbox: messages redirected to this socket, for its send side to take
 *	in order
 * @queued: truesize of the redirected skbs this socket holds, in @inbox
 *	or on its send side; each skb's destructor gives its share back
 *	when it is freed, and wakes @waiters once there is room
 * @waiters: sources (their &struct stap_rdr_src) whose held message
 *	waits for room here
 * @lock: guards @inbox, @waiters, @dead and the @wait nodes linked on
 *	@waiters; nests inside any socket lock, never around one
 * @dead: detached: takes no more messages and wakes no more sources
 */
struct stap_rdr {
	struct stap_rdr_table	*targets;
	struct stap_rdr_src	src[STAP_RDR_DIRS];
	struct sk_buff_head	inbox;
	atomic_t		queued;
	struct list_head	waiters;
	spinlock_t		lock;	/* see @lock above */
	bool			dead;
};

/* What the context's work item is to do, bits of stap_context.todo */
enum stap_work_bit {
	STAP_WORK_TX_PUSH,	/* push the send side's pending bytes */
	STAP_WORK_ABORT,	/* reset the connection once it is due */
	STAP_WORK_RDR_IN,	/* send what other sockets redirected here */
	STAP_WORK_RDR_RETRY,	/* a target has room for held messages */
};

/**
 * struct stap_context - state of a socket with the stap ULP
 * @sk: the socket
 * @sk_proto: TCP's proto of the socket, restored on close
 * @sk_ops: the socket's proto_ops before stap, restored on close
 * @progs: programs by &enum stap_slot, NULL for an empty slot
 * @refs: the socket's reference and one of @work while it is queued
 * @rx_on: the receive direction is tapped; set once under the socket lock,
 *	read locklessly by poll and the socket callbacks
 * @tx_on: the send direction is tapped; as @rx_on
 * @stats: counters, written under the socket lock
 * @rx: receive state, valid when @rx_on
 * @tx: send state, valid when @tx_on
 * @abort: the reset after a DISCONNECT verdict
 * @rdr: redirect state
 * @work: runs what @todo asks from process context, the socket locked;
 *	one item for the whole context. Queued, it holds the socket and the
 *	context.
 * @todo: &enum stap_work_bit bits, set atomically by whoever queues @work
 * @rcu: frees the context after a grace period, for sock_diag
 *	(stap_get_info() reads it under RCU); poll holds the file, which
 *	keeps the context
 */
struct stap_context {
	struct sock		*sk;
	struct proto		*sk_proto;
	const struct proto_ops	*sk_ops;
	struct bpf_prog		*progs[STAP_NUM_SLOTS];
	refcount_t		refs;
	bool			rx_on;
	bool			tx_on;
	struct stap_stats	stats;
	struct stap_rx		rx;
	struct stap_tx		tx;
	struct stap_abort	abort;
	struct stap_rdr		rdr;
	struct delayed_work	work;
	unsigned long		todo;
	struct rcu_head		rcu;
};

/* STAP_PARAMS was set (or inherited from the listener): a direction is
 * tapped, as STAP_PARAMS refuses all slots empty.
 */
static inline bool stap_attached(const struct stap_context *ctx)
{
	return READ_ONCE(ctx->rx_on) || READ_ONCE(ctx->tx_on);
}

static inline struct stap_context *stap_get_ctx(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);

	/* Use RCU on icsk_ulp_data only for sock diag code,
	 * TCP-ULP-stap code uses the pointer under the socket lock
	 * or with a reference on the socket file.
	 */
	return (__force void *)icsk->icsk_ulp_data;
}

#endif /* _NET_STAP_H */
