/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture of stap_rx and stap_tx, named STAP_FIXTURE by the file that
 * includes this one, once, after kselftest_harness.h: the test programs
 * and a connected pair (cfd connected, sfd accepted), in six variants,
 * IPv4 and IPv6 by the three parsers. Teardown closes the pair and frees
 * the programs; each file writes the FIXTURE_SETUP() that taps its side.
 * STAP_ERR_FIXTURE names the fixture of the error tests: the same pair over
 * IPv4, untapped, for each test to tap as it needs. It is also the
 * program's main().
 */
#if !defined(STAP_FIXTURE) || !defined(STAP_ERR_FIXTURE)
#error "define STAP_FIXTURE and STAP_ERR_FIXTURE to the fixtures' names"
#endif

#include "stap_test_progs.h"

/* STAP_FIXTURE expanded before the harness pastes it into names */
#define STAP_FIXTURE_CALL(macro, ...)	macro(__VA_ARGS__)

STAP_FIXTURE_CALL(FIXTURE, STAP_FIXTURE)
{
	struct stap_test_bpf *skel;
	int cfd;
	int sfd;
};

STAP_FIXTURE_CALL(FIXTURE_VARIANT, STAP_FIXTURE)
{
	int family;
	enum parser parser;
};

STAP_FIXTURE_CALL(FIXTURE_VARIANT_ADD, STAP_FIXTURE, ipv4_len)
{
	.family = AF_INET,
	.parser = PARSE_LEN,
};

STAP_FIXTURE_CALL(FIXTURE_VARIANT_ADD, STAP_FIXTURE, ipv6_len)
{
	.family = AF_INET6,
	.parser = PARSE_LEN,
};

STAP_FIXTURE_CALL(FIXTURE_VARIANT_ADD, STAP_FIXTURE, ipv4_chunk)
{
	.family = AF_INET,
	.parser = PARSE_NONE,
};

STAP_FIXTURE_CALL(FIXTURE_VARIANT_ADD, STAP_FIXTURE, ipv6_chunk)
{
	.family = AF_INET6,
	.parser = PARSE_NONE,
};

STAP_FIXTURE_CALL(FIXTURE_VARIANT_ADD, STAP_FIXTURE, ipv4_seven)
{
	.family = AF_INET,
	.parser = PARSE_SEVEN,
};

STAP_FIXTURE_CALL(FIXTURE_VARIANT_ADD, STAP_FIXTURE, ipv6_seven)
{
	.family = AF_INET6,
	.parser = PARSE_SEVEN,
};

STAP_FIXTURE_CALL(FIXTURE_TEARDOWN, STAP_FIXTURE)
{
	close(self->cfd);
	close(self->sfd);
	stap_test_bpf__destroy(self->skel);
}

STAP_FIXTURE_CALL(FIXTURE, STAP_ERR_FIXTURE)
{
	struct stap_test_bpf *skel;
	int cfd;
	int sfd;
};

STAP_FIXTURE_CALL(FIXTURE_SETUP, STAP_ERR_FIXTURE)
{
	if (!stap_available())
		SKIP(return, "stap module not loaded");
	signal(SIGPIPE, SIG_IGN);
	self->skel = stap_skel_open();
	ASSERT_NE(self->skel, NULL);
	ASSERT_EQ(stap_pair(AF_INET, &self->cfd, &self->sfd), 0);
}

STAP_FIXTURE_CALL(FIXTURE_TEARDOWN, STAP_ERR_FIXTURE)
{
	close(self->cfd);
	close(self->sfd);
	stap_test_bpf__destroy(self->skel);
}

/*
 * STAP_SKIP_VARIANTS="ipv6_chunk ipv6_seven" leaves those variants out, as
 * the harness's "-V name" does: the debug kernel runs a subset, the other
 * kernels run all six. Filters given on the command line come first, and
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
