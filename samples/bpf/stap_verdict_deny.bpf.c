// SPDX-License-Identifier: GPL-2.0
/*
 * Verdicts: a deny-list kept in an LPM trie map ("deny") that can change
 * while sockets are tapped. Each entry says what to do with a matching
 * message: STAP_VERDICT_DROP or STAP_VERDICT_DISCONNECT, and counts its
 * hits. Messages that match nothing pass.
 *
 * stap_deny_prefix: the first 32 bytes of the message, by prefix.
 * stap_deny_http:   the request line ("GET /admin"), by prefix.
 * stap_deny_resp:   the Redis command name, upper case, exactly: an entry
 *                   is the name followed by a NUL, prefixlen counting both.
 * stap_deny_redirect: as stap_deny_prefix, but what passes goes to the
 *                   socket's redirect target 0 (STAP_TARGETS): the
 *                   verdict of a splice proxy (stap_proxy.c).
 */
#include "stap_common.bpf.h"
#include "stap_samples.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct stap_deny_key);
	__type(value, struct stap_deny_val);
} deny SEC(".maps");

static int deny_lookup(struct stap_deny_key *key)
{
	struct stap_deny_val *v;

	key->prefixlen = STAP_DENY_KEY_LEN * 8;
	v = bpf_map_lookup_elem(&deny, key);
	if (!v)
		return STAP_VERDICT_PASS;
	__sync_fetch_and_add(&v->hits, 1);
	return v->action == STAP_VERDICT_DISCONNECT ? STAP_VERDICT_DISCONNECT :
						      STAP_VERDICT_DROP;
}

/* The first bytes of the message; zeros past its end */
static void key_prefix(struct __sk_buff *skb, struct stap_deny_key *key)
{
	__u32 n = skb->len < STAP_DENY_KEY_LEN ? skb->len : STAP_DENY_KEY_LEN;
	int i;

	if (!bpf_skb_load_bytes(skb, 0, key->data, STAP_DENY_KEY_LEN))
		return;
	for (i = 0; i < STAP_DENY_KEY_LEN; i++)
		if (i < n)
			bpf_skb_load_bytes(skb, i, &key->data[i], 1);
}

SEC("sk_skb/stream_verdict")
int stap_deny_prefix(struct __sk_buff *skb)
{
	struct stap_deny_key key = {};

	key_prefix(skb, &key);
	return deny_lookup(&key);
}

SEC("sk_skb/stream_verdict")
int stap_deny_redirect(struct __sk_buff *skb)
{
	struct stap_deny_key key = {};
	int verdict;

	key_prefix(skb, &key);
	verdict = deny_lookup(&key);
	return verdict == STAP_VERDICT_PASS ? STAP_VERDICT_REDIRECT_TO(0) :
					      verdict;
}

SEC("sk_skb/stream_verdict")
int stap_deny_http(struct __sk_buff *skb)
{
	struct stap_deny_key key = {};
	int i, end = 0;

	key_prefix(skb, &key);
	/* The request line only */
	for (i = 0; i < STAP_DENY_KEY_LEN; i++) {
		if (key.data[i] == '\r' || key.data[i] == '\n')
			end = 1;
		if (end)
			key.data[i] = 0;
	}
	return deny_lookup(&key);
}

/* Copy the command name of @len bytes at @off into @key, upper-cased */
static void key_name(struct __sk_buff *skb, __u32 off, __u32 len,
		     struct stap_deny_key *key)
{
	int i, c;

	if (!len || len >= STAP_DENY_KEY_LEN)
		return;
	/* 1..31, in a form every verifier can bound */
	len = ((len - 1) & 31) + 1;
	if (bpf_skb_load_bytes(skb, off, key->data, len))
		return;
	for (i = 0; i < STAP_DENY_KEY_LEN - 1; i++) {
		c = key->data[i];
		if (c >= 'a' && c <= 'z')
			key->data[i] = c - ('a' - 'A');
	}
}

/* RESP lines before a command's name: "*N\r\n$L\r\n" */
#define RESP_HEAD_LINE	24

SEC("sk_skb/stream_verdict")
int stap_deny_resp(struct __sk_buff *skb)
{
	struct stap_deny_key key = {};
	__u32 start = 0, end;

	if (stap_byte(skb, 0) == '*') {
		/* An array of bulk strings: the name is the first */
		start = stap_find(skb, 0, '\n', '\n', RESP_HEAD_LINE);
		if (!start || stap_byte(skb, start) != '$')
			return STAP_VERDICT_PASS;
		start = stap_find(skb, start, '\n', '\n', RESP_HEAD_LINE);
		if (!start)
			return STAP_VERDICT_PASS;
		end = stap_find(skb, start, '\r', '\r', STAP_DENY_KEY_LEN);
	} else {
		/* An inline command: the name ends at a space or the line end,
		 * "\r\n" or "\n" (Redis takes both)
		 */
		end = stap_find(skb, 0, ' ', '\n', STAP_DENY_KEY_LEN);
		if (end > 1 && stap_byte(skb, end - 2) == '\r')
			end--;
	}
	if (end <= start + 1)
		return STAP_VERDICT_PASS;
	key_name(skb, start, end - 1 - start, &key);
	return deny_lookup(&key);
}

char _license[] SEC("license") = "GPL";
