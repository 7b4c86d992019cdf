// SPDX-License-Identifier: GPL-2.0
/*
 * Verdict: at most rate_msgs messages per connection and direction in
 * each rate_window_ns window (fixed windows, per socket cookie); the
 * excess is dropped, or the connection disconnected when rate_disconnect
 * is set. Set the globals before loading, or through the skeleton's bss.
 */
#include <linux/if_packet.h>

#include "stap_common.bpf.h"

__u32 rate_msgs = 100;
__u64 rate_window_ns = 1000000000ULL;
__u32 rate_disconnect;

struct rate_key {
	__u64 cookie;
	__u32 tx;
	__u32 pad;
};

struct rate_val {
	__u64 start;
	__u32 count;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rate_key);
	__type(value, struct rate_val);
} rates SEC(".maps");

SEC("sk_skb/stream_verdict")
int stap_ratelimit(struct __sk_buff *skb)
{
	struct rate_key key = {
		.cookie = bpf_get_socket_cookie(skb),
		.tx = skb->pkt_type == PACKET_OUTGOING,
	};
	__u64 now = bpf_ktime_get_ns();
	struct rate_val *v, fresh = { .start = now, .count = 1 };

	v = bpf_map_lookup_elem(&rates, &key);
	if (!v) {
		bpf_map_update_elem(&rates, &key, &fresh, BPF_ANY);
		return STAP_VERDICT_PASS;
	}
	if (now - v->start >= rate_window_ns) {
		v->start = now;
		v->count = 0;
	}
	if (++v->count <= rate_msgs)
		return STAP_VERDICT_PASS;
	return rate_disconnect ? STAP_VERDICT_DISCONNECT : STAP_VERDICT_DROP;
}

char _license[] SEC("license") = "GPL";
