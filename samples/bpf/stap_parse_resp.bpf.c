// SPDX-License-Identifier: GPL-2.0
/*
 * Parser: Redis RESP2/RESP3. A message is one complete value: a command
 * (an array of bulk strings, or an inline command line) from a client, or
 * a reply of any type, nested arrays and maps included, from a server.
 * Pipelined commands become one message each.
 */
#include "stap_common.bpf.h"

/* Values one message may hold (array elements, nested) */
#define RESP_MAX_VALUES		4096

struct resp {
	struct __sk_buff *skb;
	__u32 off;		/* next byte */
	__s64 pending;		/* values still to read */
	int state;		/* 0 running, 1 done, -1 need more, -2 bad */
};

static int resp_value(struct resp *r)
{
	int t = stap_byte(r->skb, r->off);
	__u32 off = r->off + 1;
	__s64 n;
	int ret;

	if (t < 0)
		return -1;
	switch (t) {
	case '+': case '-': case ':': case '_': case '#': case ',': case '(':
		off = stap_line_end(r->skb, off);
		if (!off)
			return -1;
		r->pending--;
		break;
	case '$': case '!': case '=':
		ret = stap_read_num(r->skb, &off, &n);
		if (ret <= 0)
			return ret ? -2 : -1;
		if (n >= 0)
			off += n + 2;	/* data and its "\r\n" */
		r->pending--;
		break;
	case '*': case '~': case '>': case '%': case '|':
		ret = stap_read_num(r->skb, &off, &n);
		if (ret <= 0)
			return ret ? -2 : -1;
		if (n > RESP_MAX_VALUES)
			return -2;
		if (n > 0)
			r->pending += (t == '%' || t == '|') ? 2 * n : n;
		r->pending--;
		break;
	default:
		return -2;
	}
	r->off = off;
	return 0;
}

static long resp_step(__u32 i, void *arg)
{
	struct resp *r = arg;
	int ret = resp_value(r);

	if (ret) {
		r->state = ret;
		return 1;
	}
	if (r->pending <= 0) {
		r->state = 1;
		return 1;
	}
	/* A bulk string's data need not have arrived: its length is known */
	if (r->pending > RESP_MAX_VALUES) {
		r->state = -2;
		return 1;
	}
	return 0;
}

SEC("sk_skb/stream_parser")
int stap_parse_resp(struct __sk_buff *skb)
{
	struct resp r = { .skb = skb, .pending = 1 };
	int t = stap_byte(skb, 0);
	__u32 end;

	if (t < 0)
		return STAP_NEED_MORE;
	/* Inline command: one line */
	if (t != '+' && t != '-' && t != ':' && t != '$' && t != '*' &&
	    t != '_' && t != '#' && t != ',' && t != '(' && t != '!' &&
	    t != '=' && t != '~' && t != '>' && t != '%' && t != '|') {
		end = stap_line_end(skb, 0);
		if (end)
			return end;
		return skb->len >= STAP_MAX_LINE ? STAP_MALFORMED :
						   STAP_NEED_MORE;
	}
	bpf_loop(RESP_MAX_VALUES + 1, resp_step, &r, 0);
	if (r.state == 1)
		return r.off;
	return r.state == -1 ? STAP_NEED_MORE : STAP_MALFORMED;
}

char _license[] SEC("license") = "GPL";
