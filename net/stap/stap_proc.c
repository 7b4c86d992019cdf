// SPDX-License-Identifier: GPL-2.0
/*
 * stap: per-network-namespace counters in /proc/net/stap_stat.
 */

#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "stap.h"

unsigned int stap_net_id __read_mostly;

#ifdef CONFIG_PROC_FS
static const char * const stap_mib_names[__STAP_MIB_MAX] = {
	[STAP_MIB_CURRSOCKETS]	= "StapCurrSockets",
	[STAP_MIB_SOCKETS]	= "StapSockets",
	[STAP_MIB_RXPASSMSGS]	= "StapRxPassMsgs",
	[STAP_MIB_RXPASSBYTES]	= "StapRxPassBytes",
	[STAP_MIB_RXDROPMSGS]	= "StapRxDropMsgs",
	[STAP_MIB_RXDROPBYTES]	= "StapRxDropBytes",
	[STAP_MIB_TXPASSMSGS]	= "StapTxPassMsgs",
	[STAP_MIB_TXPASSBYTES]	= "StapTxPassBytes",
	[STAP_MIB_TXDROPMSGS]	= "StapTxDropMsgs",
	[STAP_MIB_TXDROPBYTES]	= "StapTxDropBytes",
	[STAP_MIB_DISCONNECTS]	= "StapDisconnects",
	[STAP_MIB_PARSEERRORS]	= "StapParseErrors",
	[STAP_MIB_BADVERDICTS]	= "StapBadVerdicts",
	[STAP_MIB_OVERSIZEMSGS]	= "StapOversizeMsgs",
	[STAP_MIB_NOMEMABORTS]	= "StapNoMemAborts",
	[STAP_MIB_RXREDIRECTMSGS]	= "StapRxRedirectMsgs",
	[STAP_MIB_RXREDIRECTBYTES]	= "StapRxRedirectBytes",
	[STAP_MIB_REDIRECTERRORS]	= "StapRedirectErrors",
	[STAP_MIB_TXREDIRECTMSGS]	= "StapTxRedirectMsgs",
	[STAP_MIB_TXREDIRECTBYTES]	= "StapTxRedirectBytes",
	[STAP_MIB_COPIESLOST]		= "StapCopiesLost",
};

/* Called in process context when /proc/net/stap_stat is read. */
static int stap_statistics_seq_show(struct seq_file *seq, void *v)
{
	struct stap_net *sn = stap_pernet(seq->private);
	unsigned long sum;
	int i, cpu;

	for (i = 0; i < __STAP_MIB_MAX; i++) {
		sum = 0;
		for_each_possible_cpu(cpu)
			sum += per_cpu_ptr(sn->mib, cpu)->mibs[i];
		seq_printf(seq, "%-32s\t%lu\n", stap_mib_names[i], sum);
	}
	return 0;
}
#endif

static int __net_init stap_init_net(struct net *net)
{
	struct stap_net *sn = stap_pernet(net);

	sn->mib = alloc_percpu(struct stap_mib);
	if (!sn->mib)
		return -ENOMEM;
#ifdef CONFIG_PROC_FS
	if (!proc_create_net_single("stap_stat", 0444, net->proc_net,
				    stap_statistics_seq_show, NULL))
		goto err_free_mib;
#endif
	return 0;

#ifdef CONFIG_PROC_FS
err_free_mib:
	free_percpu(sn->mib);
	return -ENOMEM;
#endif
}

static void __net_exit stap_exit_net(struct net *net)
{
	remove_proc_entry("stap_stat", net->proc_net);
	free_percpu(stap_pernet(net)->mib);
}

static struct pernet_operations stap_net_ops = {
	.init	= stap_init_net,
	.exit	= stap_exit_net,
	.id	= &stap_net_id,
	.size	= sizeof(struct stap_net),
};

/**
 * stap_proc_register() - set up the counters of every network namespace
 *
 * Return: 0 or a negative errno.
 */
int __init stap_proc_register(void)
{
	return register_pernet_subsys(&stap_net_ops);
}

/**
 * stap_proc_unregister() - undo stap_proc_register()
 */
void stap_proc_unregister(void)
{
	unregister_pernet_subsys(&stap_net_ops);
}
