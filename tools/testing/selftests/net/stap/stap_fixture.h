/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture of stap_rx and stap_tx, named STAP_FIXTURE by the file that
 * includes this one, once, after kselftest_harness.h: the test programs
 * and a connected pair (cfd connected, sfd accepted), in six variants,
 * IPv4 and IPv6 by the three parsers. Teardown closes the pair and frees
 * the programs; each file writes the FIXTURE_SETUP() that taps its side.
 * STAP_ERR_FIXTURE names the fixture of the error tests: the same pair over
 * IPv4, untapped, for each test to tap as it needs. stap_main.h is the
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

#include "stap_main.h"
