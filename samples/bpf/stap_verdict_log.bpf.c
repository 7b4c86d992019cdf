// SPDX-License-Identifier: GPL-2.0
/*
 * Verdict: passes every message and sends a record of it (direction,
 * length, first bytes, verdict, socket cookie, addresses and ports) to
 * user space through the "records" ring buffer. A full ring buffer loses
 * records, never messages.
 */
#include <linux/if_packet.h>

#include "stap_common.bpf.h"
#include "stap_samples.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} records SEC(".maps");

SEC("sk_skb/stream_verdict")
int stap_log(struct __sk_buff *skb)
{
	struct stap_log_rec *r;
	__u32 n;

	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r)
		return STAP_VERDICT_PASS;
	__builtin_memset(r, 0, sizeof(*r));
	r->cookie = bpf_get_socket_cookie(skb);
	r->len = skb->len;
	r->verdict = STAP_VERDICT_PASS;
	r->family = skb->family;
	r->local_port = skb->local_port;
	r->remote_port = bpf_ntohl(skb->remote_port);
	r->tx = skb->pkt_type == PACKET_OUTGOING;
	/* Unconditional loads: the verifier wants constant context offsets */
	r->local_ip[0] = skb->local_ip6[0];
	r->local_ip[1] = skb->local_ip6[1];
	r->local_ip[2] = skb->local_ip6[2];
	r->local_ip[3] = skb->local_ip6[3];
	r->remote_ip[0] = skb->remote_ip6[0];
	r->remote_ip[1] = skb->remote_ip6[1];
	r->remote_ip[2] = skb->remote_ip6[2];
	r->remote_ip[3] = skb->remote_ip6[3];
	if (skb->family == 2) {	/* AF_INET: the address in [0] */
		r->local_ip[0] = skb->local_ip4;
		r->remote_ip[0] = skb->remote_ip4;
		r->local_ip[1] = 0;
		r->local_ip[2] = 0;
		r->local_ip[3] = 0;
		r->remote_ip[1] = 0;
		r->remote_ip[2] = 0;
		r->remote_ip[3] = 0;
	}
	n = skb->len;
	if (n >= STAP_LOG_DATA_LEN) {
		n = STAP_LOG_DATA_LEN;
		bpf_skb_load_bytes(skb, 0, r->data, STAP_LOG_DATA_LEN);
	} else if (n) {
		/* 1..31, in a form older verifiers can bound */
		n = ((n - 1) & (STAP_LOG_DATA_LEN - 1)) + 1;
		bpf_skb_load_bytes(skb, 0, r->data, n);
	}
	r->caplen = n;
	bpf_ringbuf_submit(r, 0);
	return STAP_VERDICT_PASS;
}

char _license[] SEC("license") = "GPL";
