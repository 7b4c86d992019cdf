// SPDX-License-Identifier: GPL-2.0
/*
 * Verdict: pass every message. With a parser, a tap that only frames
 * (and counts); the baseline of the benchmarks.
 */
#include "stap_common.bpf.h"

SEC("sk_skb/stream_verdict")
int stap_pass(struct __sk_buff *skb)
{
	return STAP_VERDICT_PASS;
}

char _license[] SEC("license") = "GPL";
