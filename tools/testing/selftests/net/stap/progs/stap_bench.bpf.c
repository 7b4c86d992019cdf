// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's programs. One length-prefix parser and one deny-list
 * verdict serve both stap and sockmap, so the two are measured doing the
 * same work; bench_msg is the sockmap send-side equivalent (an sk_msg
 * verdict framing with bpf_msg_apply_bytes()). bench_sockmap runs
 * bench_verdict without a parser (one verdict per skb), bench_sockmap_strp
 * with bench_parse as its stream parser; bench_redirect is stap's proxy.
 */
#include <linux/bpf.h>
#include <linux/stap.h>		/* STAP_VERDICT_REDIRECT_TO() */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define KEY_LEN 32

struct deny_key {
	__u32 prefixlen;
	__u8 data[KEY_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct deny_key);
	__type(value, __u32);
} bench_deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} bench_sockmap SEC(".maps");

/* The same, in strparser mode (bench_parse as the stream parser) */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} bench_sockmap_strp SEC(".maps");

__u64 bench_denied;

/* 4-byte big-endian length of the payload, then the payload */
SEC("sk_skb/stream_parser")
int bench_parse(struct __sk_buff *skb)
{
	__u32 len;

	if (bpf_skb_load_bytes(skb, 0, &len, 4))
		return 0;
	return bpf_ntohl(len) + 4;
}

static int deny_check(struct deny_key *key)
{
	key->prefixlen = KEY_LEN * 8;
	if (bpf_map_lookup_elem(&bench_deny, key)) {
		__sync_fetch_and_add(&bench_denied, 1);
		return SK_DROP;
	}
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int bench_verdict(struct __sk_buff *skb)
{
	struct deny_key key = {};

	bpf_skb_load_bytes(skb, 0, key.data, KEY_LEN);
	return deny_check(&key);
}

/* bench_verdict, sending what passes to the socket's stap target 0: the
 * in-kernel proxy of stap-redirect
 */
SEC("sk_skb/stream_verdict")
int bench_redirect(struct __sk_buff *skb)
{
	struct deny_key key = {};

	bpf_skb_load_bytes(skb, 0, key.data, KEY_LEN);
	if (deny_check(&key) == SK_DROP)
		return SK_DROP;
	return STAP_VERDICT_REDIRECT_TO(0);
}

SEC("sk_skb/stream_verdict")
int bench_pass(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_msg")
int bench_msg(struct sk_msg_md *msg)
{
	struct deny_key key = {};
	__u8 *data, *end;
	__u32 len;

	if (bpf_msg_pull_data(msg, 0, KEY_LEN, 0))
		return SK_PASS;
	data = msg->data;
	end = msg->data_end;
	if (data + KEY_LEN > end)
		return SK_PASS;
	__builtin_memcpy(&len, data, 4);
	bpf_msg_apply_bytes(msg, bpf_ntohl(len) + 4);
	__builtin_memcpy(key.data, data, KEY_LEN);
	return deny_check(&key);
}

char _license[] SEC("license") = "GPL";
