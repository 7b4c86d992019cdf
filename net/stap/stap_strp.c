// SPDX-License-Identifier: GPL-2.0
/*
 * stap: framing a byte stream into messages with a parser program.
 *
 * A message is assembled in one skb of its own (stap_strp.head) that starts
 * at its first byte, so the parser and then the verdict run on it as it is:
 * no copy of the message per parse, none for the verdict, and no skb per
 * chunk beyond the one the message is made of. Bytes come from skbs the
 * caller keeps (TCP's receive queue, or what stap took from a send); they
 * are referenced, not copied, except for the linear part of a view that
 * starts inside another skb's frags. This is net/strparser's job without
 * its clone of the source skb per message, as net/tls/tls_strp.c does it
 * for TLS records.
 */

#include <linux/error-injection.h>
#include <linux/if_packet.h>
#include <linux/skbuff.h>

#include "stap.h"

/* A view that holds a small part of a large skb would pin and charge all
 * of its truesize: count the head it owns and the bytes it holds instead,
 * as skb_try_coalesce() moves a fragment's bytes only. A clone shares the
 * whole skb and keeps its truesize.
 */
static void stap_strp_set_truesize(struct sk_buff *skb)
{
	if (skb_cloned(skb) || skb_has_frag_list(skb))
		return;
	skb->truesize = SKB_TRUESIZE(skb_end_offset(skb)) + skb->data_len;
}

/**
 * stap_strp_view() - bytes of an skb as an skb of their own
 * @skb: skb holding them, kept by the caller
 * @off: offset of the first byte in @skb
 * @len: bytes
 *
 * Callable in any context (GFP_ATOMIC). The allocation of every message
 * handed to a verdict: fail_function can fail it (error injection).
 *
 * Return: the new skb, whose first byte is the one at @off, or NULL.
 */
struct sk_buff *stap_strp_view(struct sk_buff *skb, unsigned int off,
			       unsigned int len)
{
	struct sk_buff *view;

	if (off > skb_headlen(skb)) {
		view = pskb_extract(skb, off, len, GFP_ATOMIC);
	} else {
		view = skb_clone(skb, GFP_ATOMIC);
		if (view) {
			__skb_pull(view, off);
			if (pskb_trim(view, len)) {
				kfree_skb(view);
				view = NULL;
			}
		}
	}
	if (view)
		stap_strp_set_truesize(view);
	return view;
}
ALLOW_ERROR_INJECTION(stap_strp_view, NULL);

/* Before the first skb is chained to @strp->head: give it a frag_list of
 * its own, or, when it has one already, make it the first skb of a new
 * head's (as strparser does).
 */
static int stap_strp_start_chain(struct stap_strp *strp)
{
	struct sk_buff *head = strp->head;
	struct sk_buff *skb;

	if (skb_unclone(head, GFP_ATOMIC))
		return -ENOMEM;
	if (!skb_has_frag_list(head))
		return 0;
	skb = alloc_skb(0, GFP_ATOMIC);
	if (!skb)
		return -ENOMEM;
	skb_shinfo(skb)->frag_list = head;
	skb->len = head->len;
	skb->data_len = head->len;
	skb->truesize += head->truesize;
	strp->head = skb;
	strp->tail = head;
	return 0;
}

/* Add @len bytes at @off of @skb to the message being assembled: into
 * the head's frags when they fit, else chained to its frag_list.
 */
static int stap_strp_append(struct stap_strp *strp, struct sk_buff *skb,
			    unsigned int off, unsigned int len)
{
	struct sk_buff *frag, *head;
	bool stolen;
	int delta;

	frag = stap_strp_view(skb, off, len);
	if (!frag)
		return -ENOMEM;
	if (!strp->tail) {
		if (skb_try_coalesce(strp->head, frag, &stolen, &delta)) {
			kfree_skb_partial(frag, stolen);
			return 0;
		}
		if (stap_strp_start_chain(strp))
			goto err_free_frag;
	}
	/* A clone sharing its frag_list with the source is not chained */
	if (skb_has_frag_list(frag) && skb_unclone(frag, GFP_ATOMIC))
		goto err_free_frag;
	head = strp->head;
	if (strp->tail)
		strp->tail->next = frag;
	else
		skb_shinfo(head)->frag_list = frag;
	strp->tail = frag;
	head->len += frag->len;
	head->data_len += frag->len;
	head->truesize += frag->truesize;
	return 0;

err_free_frag:
	kfree_skb(frag);
	return -ENOMEM;
}

/* Take up to @len bytes at @off of @skb into the message being assembled:
 * all of them while its length is unknown, at most the rest of it once
 * known. Return: bytes taken, or a negative errno.
 */
static int stap_strp_take(struct stap_strp *strp, struct sk_buff *skb,
			  unsigned int off, unsigned int len)
{
	int err;

	if (strp->len)
		len = min(len, strp->len - strp->head->len);
	if (strp->head) {
		err = stap_strp_append(strp, skb, off, len);
		return err ? err : len;
	}
	strp->head = stap_strp_view(skb, off, len);
	return strp->head ? len : -ENOMEM;
}

/* The message is complete: give back the @excess bytes past its end,
 * which were taken before its length was known, and hand it over.
 */
static struct sk_buff *stap_strp_pop(struct stap_strp *strp,
				     unsigned int excess)
{
	struct sk_buff *msg = strp->head;

	if (excess) {
		if (pskb_trim(msg, strp->len))
			return NULL;
		stap_strp_set_truesize(msg);
	}
	strp->head = NULL;
	strp->tail = NULL;
	strp->len = 0;
	return msg;
}

/**
 * stap_strp_feed() - frame @len bytes at @off of @skb
 * @strp: framing state of the direction
 * @ctx: the socket's context
 * @sk: the tapped socket, locked
 * @skb: source of the bytes, kept by the caller
 * @off: offset of the first new byte in @skb
 * @len: new bytes
 * @max: largest message
 *
 * Runs @strp->ops->parse on the message being assembled until it
 * says its length, then hands each complete message, from its first byte,
 * to @strp->ops->rcv_msg; stops early when that returns false.
 *
 * Return: bytes taken (@len unless stopped early), or a negative errno
 * after which the direction cannot frame any more: -EBADMSG from the
 * parser, -EMSGSIZE for a message larger than @max, or -ENOMEM.
 */
int stap_strp_feed(struct stap_strp *strp, struct stap_context *ctx,
		   struct sock *sk, struct sk_buff *skb, unsigned int off,
		   unsigned int len, unsigned int max)
{
	unsigned int taken = 0, excess;
	struct sk_buff *msg;
	int n, plen;

	while (taken < len) {
		n = stap_strp_take(strp, skb, off + taken, len - taken);
		if (n < 0)
			return n;
		if (!strp->len) {
			plen = strp->ops->parse(sk, ctx, strp->head, max);
			if (plen < 0)
				return plen;
			strp->len = plen;
		}
		if (!strp->len || strp->head->len < strp->len) {
			taken += n;
			continue;
		}
		excess = strp->head->len - strp->len;
		/* A length shorter than what it asked more bytes after */
		if (excess > n)
			return -EBADMSG;
		msg = stap_strp_pop(strp, excess);
		if (!msg)
			return -ENOMEM;
		taken += n - excess;
		if (!strp->ops->rcv_msg(sk, ctx, msg))
			break;
	}
	return taken;
}

/**
 * stap_strp_init() - set up the framing of one direction
 * @strp: framing state
 * @ops: the direction's parser and message handler
 */
void stap_strp_init(struct stap_strp *strp, const struct stap_strp_ops *ops)
{
	memset(strp, 0, sizeof(*strp));
	strp->ops = ops;
}

/**
 * stap_strp_done() - forget the message being assembled
 * @strp: framing state
 */
void stap_strp_done(struct stap_strp *strp)
{
	kfree_skb(strp->head);
	strp->head = NULL;
	strp->tail = NULL;
	strp->len = 0;
}
