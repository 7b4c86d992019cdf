/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Simple streaming JSON writer: the part of tools/bpf/bpftool/json_writer.c
 * (Stephen Hemminger) that stapctl uses. Only output.c calls it.
 */
#ifndef _STAP_JSON_WRITER_H
#define _STAP_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_writer;

struct json_writer *jsonw_new(FILE *f);
void jsonw_destroy(struct json_writer **self_p);
void jsonw_pretty(struct json_writer *self, bool on);

void jsonw_name(struct json_writer *self, const char *name);
void jsonw_string(struct json_writer *self, const char *value);
void jsonw_uint(struct json_writer *self, uint64_t number);

void jsonw_start_object(struct json_writer *self);
void jsonw_end_object(struct json_writer *self);
void jsonw_start_array(struct json_writer *self);
void jsonw_end_array(struct json_writer *self);

#endif /* _STAP_JSON_WRITER_H */
