/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stap private declarations.
 */
#ifndef _STAP_H
#define _STAP_H

#include <linux/skbuff.h>
#include <net/sock.h>
#include <net/stap.h>

#include "compat.h"

/* Proto configurations: which directions are tapped */
enum {
	STAP_CONF_BASE,		/* ULP set, no programs yet */
	STAP_CONF_RX,		/* receive direction tapped */
	STAP_NUM_CONFIG,
};

enum {
	STAPV4,
	STAPV6,
	STAP_NUM_PROTS,
};

#define STAP_STATS_ADD(ctx, field, val)	((ctx)->stats.field += (val))
#define STAP_STATS_INC(ctx, field)	STAP_STATS_ADD(ctx, field, 1)

/* stap_main.c */
void stap_update_sk_prot(struct sock *sk, struct stap_context *ctx);
void stap_disconnect(struct sock *sk);

/* stap_bpf.c */
int stap_bpf_get_progs(struct stap_context *ctx,
		       const struct stap_params *p);
void stap_bpf_put_progs(struct stap_context *ctx);
void stap_bpf_dup_progs(struct stap_context *dst,
			const struct stap_context *src);
void stap_bpf_fill_ids(const struct stap_context *ctx, struct stap_params *p);
int stap_bpf_run(struct bpf_prog *prog, struct sock *sk, struct sk_buff *skb,
		 u8 pkt_type);

/* stap_rx.c */
int stap_rx_init(struct sock *sk, struct stap_context *ctx);
void stap_rx_start(struct sock *sk, struct stap_context *ctx);
void stap_rx_stop(struct sock *sk, struct stap_context *ctx);
bool stap_rx_has_unread(const struct stap_context *ctx);
void stap_rx_data_ready(struct sock *sk);
void stap_rx_release_cb(struct sock *sk);
int stap_rx_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
		    int flags, int *addr_len);
ssize_t stap_rx_splice_read(struct socket *sock, loff_t *ppos,
			    struct pipe_inode_info *pipe, size_t len,
			    unsigned int flags);
__poll_t stap_rx_poll(struct file *file, struct socket *sock,
		      struct poll_table_struct *wait);
bool stap_rx_sock_is_readable(struct sock *sk);
int stap_rx_set_rcvlowat(struct sock *sk, int val);
int stap_rx_ioctl(struct sock *sk, int cmd, stap_ioctl_arg_t karg);

#endif /* _STAP_H */
