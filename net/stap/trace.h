/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stap tracepoints: a verdict on every message, why messages are dropped,
 * framing errors and disconnects.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM stap

#if !defined(_STAP_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _STAP_TRACE_H_

#include <linux/tracepoint.h>

struct sock;

TRACE_EVENT(stap_msg_verdict,

	TP_PROTO(struct sock *sk, bool tx, u32 len, int verdict),

	TP_ARGS(sk, tx, len, verdict),

	TP_STRUCT__entry(
		__field(struct sock *, sk)
		__field(u32, len)
		__field(int, verdict)
		__field(bool, tx)
	),

	TP_fast_assign(
		__entry->sk = sk;
		__entry->len = len;
		__entry->verdict = verdict;
		__entry->tx = tx;
	),

	TP_printk("sk=%p %s len=%u verdict=%d",
		  __entry->sk, __entry->tx ? "send" : "recv", __entry->len,
		  __entry->verdict)
);

/* reason: enum stap_drop_reason of stap.h */
TRACE_EVENT(stap_msg_drop,

	TP_PROTO(struct sock *sk, bool tx, u32 len, int reason),

	TP_ARGS(sk, tx, len, reason),

	TP_STRUCT__entry(
		__field(struct sock *, sk)
		__field(u32, len)
		__field(int, reason)
		__field(bool, tx)
	),

	TP_fast_assign(
		__entry->sk = sk;
		__entry->len = len;
		__entry->reason = reason;
		__entry->tx = tx;
	),

	TP_printk("sk=%p %s len=%u reason=%s",
		  __entry->sk, __entry->tx ? "send" : "recv", __entry->len,
		  __print_symbolic(__entry->reason,
				   { 0, "verdict" },
				   { 1, "bad_verdict" },
				   { 2, "disconnect" },
				   { 3, "incomplete" }))
);

TRACE_EVENT(stap_strp_error,

	TP_PROTO(struct sock *sk, bool tx, int err),

	TP_ARGS(sk, tx, err),

	TP_STRUCT__entry(
		__field(struct sock *, sk)
		__field(int, err)
		__field(bool, tx)
	),

	TP_fast_assign(
		__entry->sk = sk;
		__entry->err = err;
		__entry->tx = tx;
	),

	TP_printk("sk=%p %s err=%d",
		  __entry->sk, __entry->tx ? "send" : "recv", __entry->err)
);

TRACE_EVENT(stap_sock_disconnect,

	TP_PROTO(struct sock *sk),

	TP_ARGS(sk),

	TP_STRUCT__entry(
		__field(struct sock *, sk)
	),

	TP_fast_assign(
		__entry->sk = sk;
	),

	TP_printk("sk=%p", __entry->sk)
);

#endif /* _STAP_TRACE_H_ */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace

#include <trace/define_trace.h>
