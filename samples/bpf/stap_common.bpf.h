/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the stap sample programs: byte access to a message and line
 * scanning with bpf_loop().
 */
#ifndef _STAP_COMMON_BPF_H
#define _STAP_COMMON_BPF_H

#include <linux/bpf.h>
#include <linux/stap.h>		/* STAP_VERDICT_* */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

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
__u64 stap_opaque_zero64;

/* @v, with every bit unknown to the verifier. A bpf_loop() callback that
 * stores a counter or an accumulated number back into its state makes
 * newer verifiers check one more iteration for each new range the value
 * can take; stored through this, the state repeats at once.
 */
static __always_inline __u64 stap_forget(__u64 v)
{
	return v ^ stap_opaque_zero64;
}

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
	__u32 off;		/* in: start; out: offset of the byte found */
	__u8 a, b;		/* the bytes looked for */
	int found;
};

static long stap_scan_step(__u32 i, void *arg)
{
	struct stap_scan *s = arg;
	int c = stap_byte(s->skb, s->off);

	if (c < 0)
		return 1;
	if (c == s->a || c == s->b) {
		s->found = 1;
		return 1;
	}
	s->off++;
	return 0;
}

/* Offset just past the first @a or @b at or after @off, or 0 when there
 * is none in the next @max bytes (or they have not arrived yet).
 */
static __always_inline __u32 stap_find(struct __sk_buff *skb, __u32 off,
				       __u8 a, __u8 b, __u32 max)
{
	struct stap_scan s = {
		.skb = skb, .off = off + stap_opaque_zero, .a = a, .b = b,
	};

	bpf_loop(max, stap_scan_step, &s, 0);
	return s.found ? s.off + 1 : 0;
}

/* Offset just past the '\n' ending the line at @off, or 0 when it has
 * not arrived yet (or is longer than STAP_MAX_LINE).
 */
static __always_inline __u32 stap_line_end(struct __sk_buff *skb, __u32 off)
{
	return stap_find(skb, off, '\n', '\n', STAP_MAX_LINE);
}

#endif /* _STAP_COMMON_BPF_H */
