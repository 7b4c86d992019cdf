// SPDX-License-Identifier: GPL-2.0
/*
 * stap: BPF program slots and running a program on one message.
 */

#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/skbuff.h>

#include "stap.h"
#include "trace.h"

static const int stap_slot_off[STAP_NUM_SLOTS] = {
	[STAP_SLOT_SEND_PARSE]	 = offsetof(struct stap_params,
					    bpf_send_parse_fd),
	[STAP_SLOT_SEND_VERDICT] = offsetof(struct stap_params,
					    bpf_send_verdict_fd),
	[STAP_SLOT_RECV_PARSE]	 = offsetof(struct stap_params,
					    bpf_recv_parse_fd),
	[STAP_SLOT_RECV_VERDICT] = offsetof(struct stap_params,
					    bpf_recv_verdict_fd),
};

static const int stap_slot_id_off[STAP_NUM_SLOTS] = {
	[STAP_SLOT_SEND_PARSE]	 = offsetof(struct stap_params, send_parse_id),
	[STAP_SLOT_SEND_VERDICT] = offsetof(struct stap_params,
					    send_verdict_id),
	[STAP_SLOT_RECV_PARSE]	 = offsetof(struct stap_params, recv_parse_id),
	[STAP_SLOT_RECV_VERDICT] = offsetof(struct stap_params,
					    recv_verdict_id),
};

static s32 stap_slot_fd(const struct stap_params *p, int slot)
{
	return *(const s32 *)((const u8 *)p + stap_slot_off[slot]);
}

/**
 * stap_bpf_put_progs() - drop the references on a context's programs
 * @ctx: context whose slots are emptied
 */
void stap_bpf_put_progs(struct stap_context *ctx)
{
	int i;

	for (i = 0; i < STAP_NUM_SLOTS; i++) {
		if (ctx->progs[i])
			bpf_prog_put(ctx->progs[i]);
		ctx->progs[i] = NULL;
	}
}

/**
 * stap_bpf_get_progs() - take the programs named by @p into @ctx
 * @ctx: context with empty slots
 * @p: parameters from user space, already validated
 *
 * Return: 0, -EBADF for an fd that is not a BPF program, -EINVAL for a
 * program of another type than BPF_PROG_TYPE_SK_SKB. On error no slot is
 * filled.
 */
int stap_bpf_get_progs(struct stap_context *ctx, const struct stap_params *p)
{
	struct bpf_prog *prog;
	int i, fd;

	for (i = 0; i < STAP_NUM_SLOTS; i++) {
		fd = stap_slot_fd(p, i);
		if (fd == STAP_NO_PROG)
			continue;
		if (fd < 0)
			goto err_badf;
		prog = bpf_prog_get_type(fd, BPF_PROG_TYPE_SK_SKB);
		if (IS_ERR(prog)) {
			stap_bpf_put_progs(ctx);
			return PTR_ERR(prog);
		}
		ctx->progs[i] = prog;
	}
	return 0;

err_badf:
	stap_bpf_put_progs(ctx);
	return -EBADF;
}

/**
 * stap_bpf_dup_progs() - give @dst the programs of @src, with references
 * @dst: context with empty slots
 * @src: context whose programs are shared
 *
 * Callable from softirq (tcp_ulp_ops.clone).
 */
void stap_bpf_dup_progs(struct stap_context *dst,
			const struct stap_context *src)
{
	int i;

	for (i = 0; i < STAP_NUM_SLOTS; i++) {
		dst->progs[i] = src->progs[i];
		if (dst->progs[i])
			bpf_prog_inc(dst->progs[i]);
	}
}

/**
 * stap_bpf_fill_ids() - report the ids of the attached programs
 * @ctx: context
 * @p: filled with -1 fds and the program ids (0 for an empty slot)
 */
void stap_bpf_fill_ids(const struct stap_context *ctx, struct stap_params *p)
{
	u32 *id;
	int i;

	for (i = 0; i < STAP_NUM_SLOTS; i++) {
		*(s32 *)((u8 *)p + stap_slot_off[i]) = STAP_NO_PROG;
		id = (u32 *)((u8 *)p + stap_slot_id_off[i]);
		*id = ctx->progs[i] ? ctx->progs[i]->aux->id : 0;
	}
}

/**
 * stap_bpf_run() - run an SK_SKB program on one message
 * @prog: parser or verdict program
 * @sk: the tapped socket, seen by the program as skb->sk
 * @skb: the message, starting at its first byte
 * @pkt_type: PACKET_HOST on receive, PACKET_OUTGOING on send, so one
 *	program can serve both directions and tell them apart
 *
 * A verdict program that redirects (bpf_sk_redirect_map() and friends)
 * gets its redirect ignored and its verdict reported as unknown.
 *
 * Return: the program's return value, or -1 after a redirect.
 */
static int stap_bpf_run(struct bpf_prog *prog, struct sock *sk,
			struct sk_buff *skb, u8 pkt_type)
{
	int ret;

	/* The word a sockmap redirect uses holds the dst: dropping it leaves
	 * no redirect for the program to find (stap clears its own below).
	 */
	skb_dst_drop(skb);
	skb->pkt_type = pkt_type;
	skb->sk = sk;
	rcu_read_lock();
	ret = bpf_prog_run_pin_on_cpu(prog, skb);
	rcu_read_unlock();
	skb->sk = NULL;
	if (unlikely(stap_skb_redirected(skb))) {
		stap_skb_redirect_clear(skb);
		ret = -1;
	}
	return ret;
}

/**
 * stap_bpf_parse() - ask the parser the length of the message at hand
 * @ctx: context
 * @slot: the direction's parser slot
 * @sk: the tapped socket
 * @skb: the message so far, from its first byte
 * @max: largest message
 *
 * A parser that keeps asking for more bytes past @max is stopped as one
 * returning too large a length. The parser frames the bytes it is given:
 * one that changes their length (bpf_skb_change_tail() and the like) is
 * a framing error.
 *
 * Return: the message length, 0 when more bytes are needed, -EBADMSG for
 * a negative answer, or -EMSGSIZE.
 */
int stap_bpf_parse(struct stap_context *ctx, enum stap_slot slot,
		   struct sock *sk, struct sk_buff *skb, unsigned int max)
{
	u8 pkt_type = slot == STAP_SLOT_RECV_PARSE ? PACKET_HOST :
						     PACKET_OUTGOING;
	unsigned int avail = skb->len;
	int len;

	len = stap_bpf_run(ctx->progs[slot], sk, skb, pkt_type);
	if (len < 0 || skb->len != avail)
		return -EBADMSG;
	if (len > max || (!len && avail > max)) {
		stap_stat_add(sk, ctx, STAP_MIB_OVERSIZEMSGS, 1);
		return -EMSGSIZE;
	}
	return len;
}

/* A STAP_VERDICT_REDIRECT_TO() verdict: its index into @target */
static bool stap_bpf_redirect_index(int verdict, unsigned int *target)
{
	u32 v = verdict;

	if ((v & 0xff) != STAP_VERDICT_REDIRECT ||
	    v >> (STAP_VERDICT_TARGET_SHIFT + 8))
		return false;
	*target = v >> STAP_VERDICT_TARGET_SHIFT;
	return true;
}

/**
 * stap_bpf_verdict() - run a direction's verdict on one message
 * @sk: the tapped socket, locked
 * @ctx: its context
 * @skb: the message, from its first byte
 * @tx: send direction
 * @target: where a redirect verdict's target index goes, or NULL where
 *	the direction cannot redirect (a redirect is then a bad verdict)
 *
 * Counts and traces the verdict; the caller acts on it, and counts a
 * redirect.
 *
 * Return: &enum stap_verdict.
 */
enum stap_verdict stap_bpf_verdict(struct sock *sk, struct stap_context *ctx,
				   struct sk_buff *skb, bool tx,
				   unsigned int *target)
{
	int slot = tx ? STAP_SLOT_SEND_VERDICT : STAP_SLOT_RECV_VERDICT;
	enum stap_verdict ret = STAP_MSG_DROP;
	unsigned int len = skb->len;
	int verdict, reason;

	verdict = stap_bpf_run(ctx->progs[slot], sk, skb,
			       tx ? PACKET_OUTGOING : PACKET_HOST);
	trace_stap_msg_verdict(sk, tx, len, verdict);
	switch (verdict) {
	case STAP_VERDICT_PASS:
		stap_bpf_count_pass(sk, ctx, tx, len);
		return STAP_MSG_PASS;
	case STAP_VERDICT_DROP:
		reason = STAP_DROP_VERDICT;
		break;
	case STAP_VERDICT_DISCONNECT:
		reason = STAP_DROP_DISCONNECT;
		ret = STAP_MSG_ABORT;
		break;
	default:
		if (target && stap_bpf_redirect_index(verdict, target))
			return STAP_MSG_REDIRECT;
		reason = STAP_DROP_BAD_VERDICT;
		stap_stat_add(sk, ctx, STAP_MIB_BADVERDICTS, 1);
		break;
	}
	stap_bpf_count_drop(sk, ctx, tx, len, reason);
	return ret;
}

/**
 * stap_bpf_count_pass() - count a passed message
 * @sk: the tapped socket, locked
 * @ctx: its context
 * @tx: send direction
 * @len: bytes of the message
 */
void stap_bpf_count_pass(struct sock *sk, struct stap_context *ctx, bool tx,
			 unsigned int len)
{
	int mib = tx ? STAP_MIB_TXPASSMSGS : STAP_MIB_RXPASSMSGS;

	/* PASSBYTES follows PASSMSGS */
	stap_stat_add(sk, ctx, mib, 1);
	stap_stat_add(sk, ctx, mib + 1, len);
}

/**
 * stap_bpf_count_drop() - count and trace a dropped message
 * @sk: the tapped socket, locked
 * @ctx: its context
 * @tx: send direction
 * @len: bytes of the message
 * @reason: &enum stap_drop_reason
 */
void stap_bpf_count_drop(struct sock *sk, struct stap_context *ctx, bool tx,
			 unsigned int len, int reason)
{
	int mib = tx ? STAP_MIB_TXDROPMSGS : STAP_MIB_RXDROPMSGS;

	/* DROPBYTES follows DROPMSGS */
	trace_stap_msg_drop(sk, tx, len, reason);
	stap_stat_add(sk, ctx, mib, 1);
	stap_stat_add(sk, ctx, mib + 1, len);
}
