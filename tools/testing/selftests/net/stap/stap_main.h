/* SPDX-License-Identifier: GPL-2.0 */
/*
 * main() of the harness programs that take STAP_SKIP_VARIANTS (stap_rx,
 * stap_tx, stap_window): included once, last, after kselftest_harness.h.
 */
#ifndef _STAP_MAIN_H
#define _STAP_MAIN_H

/*
 * STAP_SKIP_VARIANTS="ipv6_chunk ipv6_seven" leaves those variants out, as
 * the harness's "-V name" does: the debug kernel runs a subset, the other
 * kernels run them all. Filters given on the command line come first, and
 * the harness stops at the first filter that matches.
 */
#define STAP_MAX_SKIPS	16

int main(int argc, char **argv)
{
	char *args[64 + 2 * STAP_MAX_SKIPS + 1], *env, *save, *name;
	int n = 0, i;

	if (argc > 64)
		return test_harness_run(argc, argv);
	for (i = 0; i < argc; i++)
		args[n++] = argv[i];
	env = getenv("STAP_SKIP_VARIANTS");
	env = env ? strdup(env) : NULL;
	for (name = env ? strtok_r(env, " ,", &save) : NULL;
	     name && n < argc + 2 * STAP_MAX_SKIPS;
	     name = strtok_r(NULL, " ,", &save)) {
		args[n++] = "-V";
		args[n++] = name;
	}
	args[n] = NULL;
	return test_harness_run(n, args);
}

#endif /* _STAP_MAIN_H */
