// SPDX-License-Identifier: GPL-2.0
/*
 * Parser and verdict programs for the stap selftests.
 *
 * Parsers: a 4-byte big-endian length prefix (the length counts the
 * payload only), and fixed 7-byte messages (boundaries at odd offsets);
 * parse_const, parse_shrink and parse_resize for the error paths.
 * Verdicts decide on one byte of the message, at offset verdict_off:
 * 'D' drops, 'X' disconnects, 'U' returns an unknown verdict, 'R' tries
 * a sockmap redirect, anything else passes. verdict_redirect sends what
 * it does not drop, disconnect or pass ('P') to a stap target.
 */
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <linux/stap.h>		/* STAP_VERDICT_* */

__u32 verdict_off;		/* where the verdict byte is */
__s32 parse_ret;		/* what parse_const returns */
__s32 verdict_ret;		/* what verdict_const returns */
__s32 rewrite_delta;		/* 3 or -N: verdict_rewrite's resize */
__u32 redirect_idx;		/* verdict_redirect's target */

/* What the verdict programs saw of the last message */
__u32 seen_family;
__u32 seen_local_port;
__u32 seen_remote_port;
__u32 seen_remote_ip4;
__u32 seen_pkt_type;
__u32 seen_len;
__u32 seen_first;		/* first byte, read by direct packet access */
__u64 seen_msgs;

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sock_map SEC(".maps");

SEC("sk_skb/stream_parser")
int parse_len(struct __sk_buff *skb)
{
	__u32 hdr;

	if (bpf_skb_load_bytes(skb, 0, &hdr, sizeof(hdr)))
		return 0;
	return bpf_ntohl(hdr) + sizeof(hdr);
}

SEC("sk_skb/stream_parser")
int parse_seven(struct __sk_buff *skb)
{
	return 7;
}

SEC("sk_skb/stream_parser")
int parse_const(struct __sk_buff *skb)
{
	return parse_ret;
}

/* Asks for more bytes until it has 8, then frames 2: shorter than what
 * it asked more after.
 */
SEC("sk_skb/stream_parser")
int parse_shrink(struct __sk_buff *skb)
{
	return skb->len < 8 ? 0 : 2;
}

/* Grows what it is given by one byte before framing all of it */
SEC("sk_skb/stream_parser")
int parse_resize(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	if (bpf_skb_change_tail(skb, len + 1, 0))
		return len;
	return len + 1;
}

static int verdict_of(struct __sk_buff *skb)
{
	__u8 c;

	if (bpf_skb_load_bytes(skb, verdict_off, &c, 1))
		return STAP_VERDICT_PASS;
	switch (c) {
	case 'D':
		return STAP_VERDICT_DROP;
	case 'X':
		return STAP_VERDICT_DISCONNECT;
	case 'U':
		return 42;
	case 'R':
		return bpf_sk_redirect_map(skb, &sock_map, 0, 0);
	default:
		return STAP_VERDICT_PASS;
	}
}

SEC("sk_skb/stream_verdict")
int verdict_byte(struct __sk_buff *skb)
{
	return verdict_of(skb);
}

SEC("sk_skb/stream_verdict")
int verdict_const(struct __sk_buff *skb)
{
	return verdict_ret;
}

SEC("sk_skb/stream_verdict")
int verdict_pass(struct __sk_buff *skb)
{
	return STAP_VERDICT_PASS;
}

SEC("sk_skb/stream_verdict")
int verdict_inspect(struct __sk_buff *skb)
{
	void *data, *data_end;

	seen_family = skb->family;
	seen_local_port = skb->local_port;
	seen_remote_port = bpf_ntohl(skb->remote_port);
	seen_remote_ip4 = skb->remote_ip4;
	seen_pkt_type = skb->pkt_type;
	seen_len = skb->len;
	seen_first = 0x100;
	if (!bpf_skb_pull_data(skb, 1)) {
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		if (data + 1 <= data_end)
			seen_first = *(__u8 *)data;
	}
	__sync_fetch_and_add(&seen_msgs, 1);
	return verdict_of(skb);
}

/* Resizes the message by rewrite_delta bytes: grows it by 3 ('!!!') for
 * 3, trims it for a negative delta.
 */
SEC("sk_skb/stream_verdict")
int verdict_rewrite(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	if (bpf_skb_change_tail(skb, len + rewrite_delta, 0))
		return STAP_VERDICT_DROP;
	if (rewrite_delta == 3 &&
	    bpf_skb_store_bytes(skb, len, "!!!", 3, 0))
		return STAP_VERDICT_DROP;
	return STAP_VERDICT_PASS;
}

/* Redirects to target redirect_idx, but for the tags 'D' (drop), 'X'
 * (disconnect) and 'P' (pass) at verdict_off.
 */
SEC("sk_skb/stream_verdict")
int verdict_redirect(struct __sk_buff *skb)
{
	__u8 c;

	if (!bpf_skb_load_bytes(skb, verdict_off, &c, 1)) {
		if (c == 'D')
			return STAP_VERDICT_DROP;
		if (c == 'X')
			return STAP_VERDICT_DISCONNECT;
		if (c == 'P')
			return STAP_VERDICT_PASS;
	}
	return STAP_VERDICT_REDIRECT_TO(redirect_idx);
}

char _license[] SEC("license") = "GPL";
