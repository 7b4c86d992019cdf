/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * stap: the socket tap, a TCP upper layer protocol that runs BPF programs on
 * every application message a socket sends or receives.
 *
 * Enable it with setsockopt(fd, SOL_TCP, TCP_ULP, "stap", 4), then attach
 * programs with setsockopt(fd, SOL_STAP, STAP_PARAMS, &params, sizeof(params)).
 * SOL_STAP is in include/linux/socket.h; the sock_diag nest type,
 * INET_ULP_INFO_STAP, in linux/inet_diag.h.
 * See Documentation/networking/stap.rst.
 */
#ifndef _UAPI_LINUX_STAP_H
#define _UAPI_LINUX_STAP_H

#include <linux/types.h>

/* Socket options at level SOL_STAP */
#define STAP_PARAMS		1	/* set once, get: struct stap_params */
#define STAP_STATS		2	/* get: struct stap_stats */
#define STAP_TARGETS		3	/* set, get: struct stap_target[] */

/* Verdicts; a verdict program returning another value drops the message. */
#define STAP_VERDICT_DROP	0	/* == SK_DROP: discard the message */
#define STAP_VERDICT_PASS	1	/* == SK_PASS: deliver the message */
#define STAP_VERDICT_DISCONNECT	2	/* discard and abort the connection */
#define STAP_VERDICT_REDIRECT	3	/* send it on a target: see below */

/* A verdict of STAP_VERDICT_REDIRECT_TO(i), of either direction, sends
 * the message on target i of the socket's STAP_TARGETS, as if the
 * target's application had written it: bits 8-15 hold the index, higher
 * bits must be 0.
 */
#define STAP_VERDICT_TARGET_SHIFT	8
#define STAP_VERDICT_REDIRECT_TO(i)	\
	(STAP_VERDICT_REDIRECT | ((i) << STAP_VERDICT_TARGET_SHIFT))

/* Program slot value: no program in this slot */
#define STAP_NO_PROG		(-1)

/**
 * struct stap_params - programs of a tapped socket (STAP_PARAMS)
 * @bpf_send_parse_fd: BPF_PROG_TYPE_SK_SKB parser for sent data, or -1
 * @bpf_send_verdict_fd: BPF_PROG_TYPE_SK_SKB verdict for sent data, or -1
 * @bpf_recv_parse_fd: BPF_PROG_TYPE_SK_SKB parser for received data, or -1
 * @bpf_recv_verdict_fd: BPF_PROG_TYPE_SK_SKB verdict for received data, or -1
 * @flags: must be 0
 * @reserved: must be 0
 * @send_parse_id: on get, BPF program id in that slot (0: none); must be
 *	0 on set
 * @send_verdict_id: on get, program id (0: none); 0 on set
 * @recv_parse_id: on get, program id (0: none); 0 on set
 * @recv_verdict_id: on get, program id (0: none); 0 on set
 *
 * On set, a direction whose verdict fd is -1 is not tapped and its parser
 * fd must be -1 too. A verdict with a parser fd of -1 treats every chunk
 * as one message. On get, the fd fields read back as -1.
 */
struct stap_params {
	__s32	bpf_send_parse_fd;
	__s32	bpf_send_verdict_fd;
	__s32	bpf_recv_parse_fd;
	__s32	bpf_recv_verdict_fd;
	__u32	flags;
	__u32	reserved;
	__u32	send_parse_id;
	__u32	send_verdict_id;
	__u32	recv_parse_id;
	__u32	recv_verdict_id;
};

/* Size of the first published struct stap_params */
#define STAP_PARAMS_SIZE_VER0	16

/* Most entries of STAP_TARGETS */
#define STAP_MAX_TARGETS	16

/* struct stap_target flags */
/* A redirect to a target that can no longer send disconnects the source
 * (else the message is dropped)
 */
#define STAP_TARGET_DISCONNECT	(1U << 0)
/* Mirror: the message is delivered as passed, and a copy is sent on the
 * target; a copy the target has no room for is lost (counted), so that a
 * slow mirror never slows the connection
 */
#define STAP_TARGET_COPY	(1U << 1)

/**
 * struct stap_target - one redirect target of a socket (STAP_TARGETS)
 * @fd: on set, the target: a connected TCP socket of the same network
 *	namespace with the stap ULP and a tapped send side; -1 on get
 * @flags: STAP_TARGET_* flags
 * @cookie: on get, the target's socket cookie (SO_COOKIE); 0 on set
 *
 * Set takes an array of up to STAP_MAX_TARGETS entries and replaces the
 * socket's targets; an empty one (optlen 0) removes them. Entry i is the
 * target of STAP_VERDICT_REDIRECT_TO(i).
 */
struct stap_target {
	__s32	fd;
	__u32	flags;
	__u64	cookie;
};

/**
 * struct stap_stats - counters of one tapped socket (STAP_STATS)
 * @rx_pass_msgs: received messages passed to the application
 * @rx_pass_bytes: bytes of those messages
 * @rx_drop_msgs: received messages dropped (DROP or unknown verdict)
 * @rx_drop_bytes: bytes of those messages
 * @tx_pass_msgs: sent messages accepted and queued to TCP
 * @tx_pass_bytes: bytes of those messages
 * @tx_drop_msgs: sent messages dropped (DROP or unknown verdict)
 * @tx_drop_bytes: bytes of those messages
 * @disconnects: DISCONNECT verdicts (either direction)
 * @parse_errors: parser errors, truncated and oversize messages
 * @bad_verdicts: verdicts other than DROP, PASS and DISCONNECT
 * @oversize_msgs: messages larger than the limit (also in @parse_errors)
 * @nomem_aborts: directions whose framing stopped because memory for a
 *	message could not be allocated; their readers or senders get ENOMEM
 * @rx_redirect_msgs: received messages redirected to a target
 * @rx_redirect_bytes: bytes of those messages
 * @redirect_errors: redirects that failed: no such target, or a target
 *	that can no longer send; those messages are dropped (and counted in
 *	@rx_drop_msgs or @tx_drop_msgs)
 * @tx_redirect_msgs: sent messages redirected to a target
 * @tx_redirect_bytes: bytes of those messages
 * @copies_lost: copies for a STAP_TARGET_COPY target that had no room;
 *	copies sent are counted in @rx_redirect_msgs or @tx_redirect_msgs
 */
struct stap_stats {
	__u64	rx_pass_msgs;
	__u64	rx_pass_bytes;
	__u64	rx_drop_msgs;
	__u64	rx_drop_bytes;
	__u64	tx_pass_msgs;
	__u64	tx_pass_bytes;
	__u64	tx_drop_msgs;
	__u64	tx_drop_bytes;
	__u64	disconnects;
	__u64	parse_errors;
	__u64	bad_verdicts;
	__u64	oversize_msgs;
	__u64	nomem_aborts;
	__u64	rx_redirect_msgs;
	__u64	rx_redirect_bytes;
	__u64	redirect_errors;
	__u64	tx_redirect_msgs;
	__u64	tx_redirect_bytes;
	__u64	copies_lost;
};

/* sock_diag: the INET_DIAG_ULP_INFO nest of a socket with the stap ULP
 * holds INET_ULP_INFO_NAME "stap" and a nest of type INET_ULP_INFO_STAP
 * with these attributes; the ids and stats only once programs are
 * attached.
 */
enum {
	STAP_INFO_UNSPEC,
	STAP_INFO_SEND_PARSE_ID,	/* u32: BPF program id */
	STAP_INFO_SEND_VERDICT_ID,	/* u32 */
	STAP_INFO_RECV_PARSE_ID,	/* u32 */
	STAP_INFO_RECV_VERDICT_ID,	/* u32 */
	STAP_INFO_STATS,		/* nest: STAP_STATS_* */
	STAP_INFO_PAD,
	__STAP_INFO_MAX
};

#define STAP_INFO_MAX	(__STAP_INFO_MAX - 1)

/* Attributes of the STAP_INFO_STATS nest: one u64 per counter, in the
 * order of struct stap_stats.
 */
enum {
	STAP_STATS_UNSPEC,
	STAP_STATS_PAD,
	STAP_STATS_RX_PASS_MSGS,
	STAP_STATS_RX_PASS_BYTES,
	STAP_STATS_RX_DROP_MSGS,
	STAP_STATS_RX_DROP_BYTES,
	STAP_STATS_TX_PASS_MSGS,
	STAP_STATS_TX_PASS_BYTES,
	STAP_STATS_TX_DROP_MSGS,
	STAP_STATS_TX_DROP_BYTES,
	STAP_STATS_DISCONNECTS,
	STAP_STATS_PARSE_ERRORS,
	STAP_STATS_BAD_VERDICTS,
	STAP_STATS_OVERSIZE_MSGS,
	STAP_STATS_NOMEM_ABORTS,
	STAP_STATS_RX_REDIRECT_MSGS,
	STAP_STATS_RX_REDIRECT_BYTES,
	STAP_STATS_REDIRECT_ERRORS,
	STAP_STATS_TX_REDIRECT_MSGS,
	STAP_STATS_TX_REDIRECT_BYTES,
	STAP_STATS_COPIES_LOST,
	__STAP_STATS_MAX
};

#define STAP_STATS_MAX	(__STAP_STATS_MAX - 1)

#endif /* _UAPI_LINUX_STAP_H */
