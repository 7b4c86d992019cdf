/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What stapctl prints: text or JSON from one call, as iproute2's
 * json_print.h. A command prints each value once with PRINT_ANY, a JSON
 * key and a printf() format for the text; PRINT_FP and PRINT_JSON print
 * in one mode only.
 */
#ifndef _STAP_OUTPUT_H
#define _STAP_OUTPUT_H

#include <stdbool.h>
#include <linux/types.h>

enum output_type {
	PRINT_FP	= 1 << 0,	/* text only */
	PRINT_JSON	= 1 << 1,	/* JSON only */
	PRINT_ANY	= PRINT_FP | PRINT_JSON,
};

int output_init_json(bool pretty);
void output_done(void);
bool output_is_json(void);

void open_json_object(const char *key);
void close_json_object(void);
void open_json_array(const char *key);
void close_json_array(void);

void print_string(enum output_type type, const char *key, const char *fmt,
		  const char *value);
void print_uint(enum output_type type, const char *key, const char *fmt,
		unsigned int value);
void print_u64(enum output_type type, const char *key, const char *fmt,
	       __u64 value);

#endif /* _STAP_OUTPUT_H */
