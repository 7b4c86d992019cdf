// SPDX-License-Identifier: GPL-2.0
/*
 * Parser: newline-terminated text lines (SMTP, POP3, memcached text, line
 * protocols). A message is one line with its '\n' ("\r\n" ends in one
 * too). A line longer than STAP_MAX_LINE is a framing error.
 */
#include "stap_common.bpf.h"

SEC("sk_skb/stream_parser")
int stap_parse_lines(struct __sk_buff *skb)
{
	__u32 end = stap_line_end(skb, 0);

	if (end)
		return end;
	return skb->len >= STAP_MAX_LINE ? STAP_MALFORMED : STAP_NEED_MORE;
}

char _license[] SEC("license") = "GPL";
