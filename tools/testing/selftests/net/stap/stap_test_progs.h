/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test programs of progs/stap_test.bpf.c, as the fixtures pick them.
 */
#ifndef _STAP_TEST_PROGS_H
#define _STAP_TEST_PROGS_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stap_test.skel.h"

enum parser {
	PARSE_LEN,	/* 4-byte length prefix */
	PARSE_NONE,	/* every chunk is a message */
	PARSE_SEVEN,	/* fixed 7-byte messages */
};

static inline struct stap_test_bpf *stap_skel_open(void)
{
	libbpf_set_print(NULL);
	return stap_test_bpf__open_and_load();
}

static inline int parse_fd(struct stap_test_bpf *skel, enum parser p)
{
	switch (p) {
	case PARSE_LEN:
		return bpf_program__fd(skel->progs.parse_len);
	case PARSE_SEVEN:
		return bpf_program__fd(skel->progs.parse_seven);
	default:
		return -1;
	}
}

/* BPF programs loaded on the system, to check none is left behind */
static inline unsigned int stap_count_progs(void)
{
	unsigned int id = 0, n = 0;

	while (!bpf_prog_get_next_id(id, &id))
		n++;
	return n;
}

#endif /* _STAP_TEST_PROGS_H */
