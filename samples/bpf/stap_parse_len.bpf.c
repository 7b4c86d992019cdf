// SPDX-License-Identifier: GPL-2.0
/*
 * Parser: messages with a 4-byte big-endian length prefix counting the
 * payload only (the framing of many RPC protocols). The message is the
 * prefix and its payload.
 */
#include "stap_common.bpf.h"

SEC("sk_skb/stream_parser")
int stap_parse_len(struct __sk_buff *skb)
{
	__u32 hdr;

	if (bpf_skb_load_bytes(skb, 0, &hdr, sizeof(hdr)))
		return STAP_NEED_MORE;
	return bpf_ntohl(hdr) + sizeof(hdr);
}

char _license[] SEC("license") = "GPL";
