/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by the stap sample programs and the user space that loads
 * them (map keys and values, ring buffer records), and SOL_STAP.
 */
#ifndef _STAP_SAMPLES_H
#define _STAP_SAMPLES_H

/* The socket level of stap's options. The kernel allocates it in
 * include/linux/socket.h, which user space does not see, and the C
 * libraries do not know it yet.
 */
#ifndef SOL_STAP
#define SOL_STAP	288
#endif

#define STAP_DENY_KEY_LEN	32

/* Deny-list entry: an LPM trie key over the first bytes of a message (or
 * of its command or request line); prefixlen counts bits.
 */
struct stap_deny_key {
	__u32	prefixlen;
	__u8	data[STAP_DENY_KEY_LEN];
};

/* What to do with a matching message: STAP_VERDICT_DROP or
 * STAP_VERDICT_DISCONNECT.
 */
struct stap_deny_val {
	__u32	action;
	__u32	hits;
};

#define STAP_LOG_DATA_LEN	32

/* One record per message from the logging verdict */
struct stap_log_rec {
	__u64	cookie;		/* socket cookie */
	__u32	len;		/* message length */
	__u32	verdict;	/* what the program returned */
	__u32	family;		/* AF_INET or AF_INET6 */
	__u32	local_port;	/* host order */
	__u32	remote_port;	/* host order */
	__u32	local_ip[4];	/* network order; IPv4 in [0] */
	__u32	remote_ip[4];
	__u8	tx;		/* 1: sent, 0: received */
	__u8	caplen;		/* bytes in data */
	__u8	data[STAP_LOG_DATA_LEN];
	__u8	pad[6];
};

#endif /* _STAP_SAMPLES_H */
