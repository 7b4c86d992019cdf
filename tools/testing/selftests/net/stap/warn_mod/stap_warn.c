// SPDX-License-Identifier: GPL-2.0
/*
 * A module that warns on load, on purpose: vmtest.sh must fail a run
 * whose guest kernel reported a splat, whatever the command returned.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init stap_warn_init(void)
{
	WARN(1, "stap_warn: warning on purpose for the splat check\n");
	return 0;
}

static void __exit stap_warn_exit(void)
{
}

module_init(stap_warn_init);
module_exit(stap_warn_exit);
MODULE_DESCRIPTION("Warns on load to test vmtest.sh's splat detection");
MODULE_LICENSE("GPL");
