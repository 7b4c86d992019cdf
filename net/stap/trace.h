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

#include "stap.h"

struct sock;

/* enum stap_drop_reason (stap.h), for __print_symbolic() in user space */
TRACE_DEFINE_ENUM(STAP_DROP_VERDICT);
TRACE_DEFINE_ENUM(STAP_DROP_BAD_VERDICT);
TRACE_DEFINE_ENUM(STAP_DROP_DISCONNECT);
TRACE_DEFINE_ENUM(STAP_DROP_INCOMPLETE);
TRACE_DEFINE_ENUM(STAP_DROP_REDIRECT);

/* One message of either direction: @code is its verdict or drop reason */
DECLARE_EVENT_CLASS(stap_msg,

	TP_PROTO(struct sock *sk, bool tx, u32 len, int code),

	TP_ARGS(sk, tx, len, code),

	TP_STRUCT__entry(
		__field(struct sock *, sk)
		__field(u32, len)
		__field(int, code)
		__field(bool, tx)
	),

	TP_fast_assign(
		__entry->sk = sk;
		__entry->len = len;
		__entry->code = code;
		__entry->tx = tx;
	),

	TP_printk("sk=%p %s len=%u verdict=%d",
		  __entry->sk, __entry->tx ? "send" : "recv", __entry->len,
		  __entry->code)
);

DEFINE_EVENT(stap_msg, stap_msg_verdict,

	TP_PROTO(struct sock *sk, bool tx, u32 len, int verdict),

	TP_ARGS(sk, tx, len, verdict)
);

DEFINE_EVENT_PRINT(stap_msg, stap_msg_drop,

	TP_PROTO(struct sock *sk, bool tx, u32 len, int reason),

	TP_ARGS(sk, tx, len, reason),

	TP_printk("sk=%p %s len=%u reason=%s",
		  __entry->sk, __entry->tx ? "send" : "recv", __entry->len,
		  __print_symbolic(__entry->code,
				   { STAP_DROP_VERDICT, "verdict" },
				   { STAP_DROP_BAD_VERDICT, "bad_verdict" },
				   { STAP_DROP_DISCONNECT, "disconnect" },
				   { STAP_DROP_INCOMPLETE, "incomplete" },
				   { STAP_DROP_REDIRECT, "redirect" }))
);

/* A message (or a copy) redirected to a target: @err 0 when it was
 * queued
 */
TRACE_EVENT(stap_msg_redirect,

	TP_PROTO(struct sock *sk, bool tx, u32 len, u64 cookie, int err),

	TP_ARGS(sk, tx, len, cookie, err),

	TP_STRUCT__entry(
		__field(struct sock *, sk)
		__field(u64, cookie)
		__field(u32, len)
		__field(int, err)
		__field(bool, tx)
	),

	TP_fast_assign(
		__entry->sk = sk;
		__entry->cookie = cookie;
		__entry->len = len;
		__entry->err = err;
		__entry->tx = tx;
	),

	TP_printk("sk=%p dir=%s len=%u target=%llu err=%d",
		  __entry->sk, __entry->tx ? "send" : "recv", __entry->len,
		  __entry->cookie, __entry->err)
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
