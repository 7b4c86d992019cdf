// SPDX-License-Identifier: GPL-2.0
/*
 * Parser: Redis RESP2/RESP3. A message is one complete value: a command
 * (an array of bulk strings, or an inline command line) from a client, or
 * a reply of any type, nested arrays and maps included, from a server.
 * Pipelined commands become one message each.
 *
 * One pass over the type bytes, lengths and counts (a byte-level state
 * machine in one bpf_loop(), which keeps verification cheap); the data of
 * bulk strings is skipped by its length, so it need not have arrived.
 */
#include "stap_common.bpf.h"

#define RESP_MAX_VALUES		4096	/* values in one message, nested */
#define RESP_MAX_HEAD		(1024 * 1024)	/* bytes outside bulk data */

enum { ST_TYPE, ST_NUM, ST_NUM_LF, ST_LINE };
enum { K_BULK, K_AGG, K_MAP };

/* The states as writable data: the verifier cannot know their values, so
 * it merges the paths of a loop iteration instead of following each state
 * to the end (which newer kernels reject as too complex).
 */
__u8 resp_st[4] = { ST_TYPE, ST_NUM, ST_NUM_LF, ST_LINE };
__u8 resp_one = 1;
__u32 resp_zero;

struct resp {
	struct __sk_buff *skb;
	__s64 pending;		/* values still to read */
	__s64 num;		/* length or count being read */
	__u32 pos;		/* next byte */
	__u32 digits;
	__u8 st;		/* ST_* */
	__u8 kind;		/* K_*: what the number is for */
	__u8 neg;
	__s8 state;		/* 0 running, 1 done, -1 need more, -2 bad */
};

/* What a type byte starts, by table: looking it up keeps the verifier
 * from following every type as its own path.
 */
enum { C_BAD, C_LINE, C_BULK, C_AGG, C_MAP };

static const __u8 resp_class[256] = {
	['+'] = C_LINE, ['-'] = C_LINE, [':'] = C_LINE, ['_'] = C_LINE,
	['#'] = C_LINE, [','] = C_LINE, ['('] = C_LINE,
	['$'] = C_BULK, ['!'] = C_BULK, ['='] = C_BULK,
	['*'] = C_AGG, ['~'] = C_AGG, ['>'] = C_AGG,
	['%'] = C_MAP, ['|'] = C_MAP,
};

static int resp_type(struct resp *r, int c)
{
	__u8 idx = c, cls;

	/* Keep the look-up below the caller's check of c */
	barrier_var(idx);
	cls = resp_class[idx];

	if (cls == C_BAD)
		return -2;
	if (cls == C_LINE) {
		r->st = resp_st[ST_LINE];
		return 0;
	}
	r->kind = cls - C_BULK;		/* K_BULK, K_AGG or K_MAP */
	r->st = resp_st[ST_NUM];
	r->num = stap_forget(0);
	r->neg = resp_zero;
	r->digits = stap_forget(0);
	return 0;
}

/* The number's line is complete: account for the value it starts */
static int resp_num_done(struct resp *r)
{
	__s64 n = r->neg ? -r->num : r->num;

	r->pending = stap_forget(r->pending - 1);
	if (r->kind == K_BULK) {
		if (n >= 0)
			r->pos += n + 2;	/* data and its "\r\n" */
		return 0;
	}
	if (n > 0)
		r->pending = stap_forget(r->pending +
					 (r->kind == K_MAP ? 2 * n : n));
	return r->pending > RESP_MAX_VALUES ? -2 : 0;
}

static long resp_step(__u32 i, void *arg)
{
	struct resp *r = arg;
	int c = stap_byte(r->skb, r->pos);
	int err = 0;

	if (c < 0) {
		r->state = -1;
		return 1;
	}
	r->pos++;
	switch (r->st) {
	case ST_TYPE:
		err = resp_type(r, c);
		break;
	case ST_NUM:
		if (c == '-' && !r->digits && !r->neg) {
			r->neg = resp_one;
		} else if (c >= '0' && c <= '9' && r->digits < 18) {
			r->num = stap_forget(r->num * 10 + (c - '0'));
			r->digits = stap_forget(r->digits + 1);
		} else if (c == '\r' && r->digits) {
			r->st = resp_st[ST_NUM_LF];
		} else {
			err = -2;
		}
		break;
	case ST_NUM_LF:
		err = c == '\n' ? resp_num_done(r) : -2;
		r->st = resp_st[ST_TYPE];
		break;
	case ST_LINE:
		if (c == '\n') {
			r->pending = stap_forget(r->pending - 1);
			r->st = resp_st[ST_TYPE];
		}
		break;
	}
	if (err) {
		r->state = err;
		return 1;
	}
	if (r->st == ST_TYPE && r->pending <= 0) {
		r->state = 1;
		return 1;
	}
	return 0;
}

static int resp_is_type(int t)
{
	__u8 idx = t;

	barrier_var(idx);
	return resp_class[idx] != C_BAD;
}

SEC("sk_skb/stream_parser")
int stap_parse_resp(struct __sk_buff *skb)
{
	/* Every field the loop branches on starts opaque: 6.1 checks the
	 * callback once, from the state it is first called with, and would
	 * drop as dead the branches that state cannot reach.
	 */
	struct resp r = {
		.skb = skb, .pending = stap_forget(1), .num = stap_forget(0),
		.pos = resp_zero, .digits = stap_forget(0),
		.st = resp_st[ST_TYPE],
		.kind = resp_zero, .neg = resp_zero, .state = resp_zero,
	};
	int t = stap_byte(skb, 0);
	__u32 end;

	if (t < 0)
		return STAP_NEED_MORE;
	/* Inline command: one line */
	if (!resp_is_type(t)) {
		end = stap_line_end(skb, 0);
		if (end)
			return end;
		return skb->len >= STAP_MAX_LINE ? STAP_MALFORMED :
						   STAP_NEED_MORE;
	}
	bpf_loop(RESP_MAX_HEAD, resp_step, &r, 0);
	if (r.state == 1)
		return r.pos;
	if (r.state == -1 && r.pos < RESP_MAX_HEAD)
		return STAP_NEED_MORE;
	return STAP_MALFORMED;
}

char _license[] SEC("license") = "GPL";
