// SPDX-License-Identifier: (GPL-2.0-or-later OR BSD-2-Clause)
/*
 * Simple streaming JSON writer
 *
 * This takes care of the annoying bits of JSON syntax like the commas
 * after elements. Trimmed from tools/bpf/bpftool/json_writer.c to what
 * stapctl uses; strings escape every control character.
 *
 * Authors:	Stephen Hemminger <stephen@networkplumber.org>
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "json_writer.h"

struct json_writer {
	FILE		*out;
	unsigned int	depth;	/* nesting */
	bool		pretty;	/* optional white space */
	char		sep;	/* either nul or comma */
};

/* indentation for pretty print */
static void jsonw_indent(struct json_writer *self)
{
	unsigned int i;

	for (i = 0; i < self->depth; ++i)
		fputs("    ", self->out);
}

/* end current line and indent if pretty printing */
static void jsonw_eol(struct json_writer *self)
{
	if (!self->pretty)
		return;

	putc('\n', self->out);
	jsonw_indent(self);
}

/* If current object is not empty print a comma */
static void jsonw_eor(struct json_writer *self)
{
	if (self->sep != '\0')
		putc(self->sep, self->out);
	self->sep = ',';
}

/* Output JSON encoded string; bytes from 0x80 are copied as they are */
static void jsonw_puts(struct json_writer *self, const char *str)
{
	putc('"', self->out);
	for (; *str; ++str)
		switch (*str) {
		case '\t':
			fputs("\\t", self->out);
			break;
		case '\n':
			fputs("\\n", self->out);
			break;
		case '\r':
			fputs("\\r", self->out);
			break;
		case '\f':
			fputs("\\f", self->out);
			break;
		case '\b':
			fputs("\\b", self->out);
			break;
		case '\\':
			fputs("\\\\", self->out);
			break;
		case '"':
			fputs("\\\"", self->out);
			break;
		default:
			if ((unsigned char)*str < 0x20)
				fprintf(self->out, "\\u%04x", *str);
			else
				putc(*str, self->out);
		}
	putc('"', self->out);
}

/* Create a new JSON stream */
struct json_writer *jsonw_new(FILE *f)
{
	struct json_writer *self = malloc(sizeof(*self));

	if (self) {
		self->out = f;
		self->depth = 0;
		self->pretty = false;
		self->sep = '\0';
	}
	return self;
}

/* End output to JSON stream */
void jsonw_destroy(struct json_writer **self_p)
{
	struct json_writer *self = *self_p;

	assert(self->depth == 0);
	fputs("\n", self->out);
	fflush(self->out);
	free(self);
	*self_p = NULL;
}

void jsonw_pretty(struct json_writer *self, bool on)
{
	self->pretty = on;
}

/* Basic blocks */
static void jsonw_begin(struct json_writer *self, int c)
{
	jsonw_eor(self);
	putc(c, self->out);
	++self->depth;
	self->sep = '\0';
}

static void jsonw_end(struct json_writer *self, int c)
{
	assert(self->depth > 0);

	--self->depth;
	if (self->sep != '\0')
		jsonw_eol(self);
	putc(c, self->out);
	self->sep = ',';
}

/* Add a JSON property name */
void jsonw_name(struct json_writer *self, const char *name)
{
	jsonw_eor(self);
	jsonw_eol(self);
	self->sep = '\0';
	jsonw_puts(self, name);
	putc(':', self->out);
	if (self->pretty)
		putc(' ', self->out);
}

static void __attribute__((format(printf, 2, 3)))
jsonw_printf(struct json_writer *self, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jsonw_eor(self);
	vfprintf(self->out, fmt, ap);
	va_end(ap);
}

/* Collections */
void jsonw_start_object(struct json_writer *self)
{
	jsonw_begin(self, '{');
}

void jsonw_end_object(struct json_writer *self)
{
	jsonw_end(self, '}');
}

void jsonw_start_array(struct json_writer *self)
{
	jsonw_begin(self, '[');
}

void jsonw_end_array(struct json_writer *self)
{
	jsonw_end(self, ']');
}

/* JSON value types */
void jsonw_string(struct json_writer *self, const char *value)
{
	jsonw_eor(self);
	jsonw_puts(self, value);
}

void jsonw_uint(struct json_writer *self, uint64_t num)
{
	jsonw_printf(self, "%" PRIu64, num);
}
