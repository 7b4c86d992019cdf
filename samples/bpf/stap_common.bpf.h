/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the stap sample programs: byte access to a message and line
 * scanning with bpf_loop().
 */
#ifndef _STAP_COMMON_BPF_H
#define _STAP_COMMON_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define STAP_VERDICT_DROP	0
#define STAP_VERDICT_PASS	1
#define STAP_VERDICT_DISCONNECT	2

/* Parser answers besides a length */
#define STAP_NEED_MORE		0
#define STAP_MALFORMED		(-1)

/* Longest line the samples scan for its end */
#define STAP_MAX_LINE		65536

/* Zero, as writable data the verifier cannot see into: offsets that start
 * from it are unknown to the verifier, so it checks a bpf_loop() callback
 * once for all offsets instead of once per offset (newer kernels verify
 * callbacks iteration by iteration until states repeat).
 */
__u32 stap_opaque_zero;

/* The byte at @off, or -1 past the bytes there are. */
static __always_inline int stap_byte(struct __sk_buff *skb, __u32 off)
{
	__u8 c;

	if (bpf_skb_load_bytes(skb, off, &c, 1))
		return -1;
	return c;
}

struct stap_scan {
	struct __sk_buff *skb;
	__u32 off;		/* in: start; out: offset of the '\n' */
	int found;
};

static long stap_scan_step(__u32 i, void *arg)
{
	struct stap_scan *s = arg;
	int c = stap_byte(s->skb, s->off);

	if (c < 0)
		return 1;
	if (c == '\n') {
		s->found = 1;
		return 1;
	}
	s->off++;
	return 0;
}

/* Offset just past the '\n' ending the line at @off, or 0 when it has
 * not arrived yet (or is longer than STAP_MAX_LINE).
 */
static __always_inline __u32 stap_line_end(struct __sk_buff *skb, __u32 off)
{
	struct stap_scan s = { .skb = skb, .off = off + stap_opaque_zero };

	bpf_loop(STAP_MAX_LINE, stap_scan_step, &s, 0);
	return s.found ? s.off + 1 : 0;
}

struct stap_num {
	struct __sk_buff *skb;
	__u32 off;		/* in: first digit or '-'; out: past "\r\n" */
	__s64 val;
	int neg;
	int state;		/* 0 digits, 1 done, -1 need more, -2 bad */
};

static long stap_num_step(__u32 i, void *arg)
{
	struct stap_num *n = arg;
	int c = stap_byte(n->skb, n->off);

	if (c < 0) {
		n->state = -1;
		return 1;
	}
	n->off++;
	if (c == '-' && i == 0) {
		n->neg = 1;
		return 0;
	}
	if (c >= '0' && c <= '9') {
		n->val = n->val * 10 + (c - '0');
		return 0;
	}
	if (c != '\r') {
		n->state = -2;
		return 1;
	}
	c = stap_byte(n->skb, n->off);
	if (c < 0) {
		n->state = -1;
		return 1;
	}
	n->off++;
	n->state = c == '\n' ? 1 : -2;
	return 1;
}

/* A decimal number ending in "\r\n" at *off (RESP lengths and counts).
 * Return: 1 with *val and *off past the line, 0 when it has not all
 * arrived, -1 when it is not a number.
 */
static __always_inline int stap_read_num(struct __sk_buff *skb, __u32 *off,
					 __s64 *val)
{
	struct stap_num n = { .skb = skb, .off = *off + stap_opaque_zero };

	bpf_loop(22, stap_num_step, &n, 0);
	if (n.state == -1)
		return 0;
	if (n.state != 1)
		return -1;
	*val = n.neg ? -n.val : n.val;
	*off = n.off;
	return 1;
}

#endif /* _STAP_COMMON_BPF_H */
