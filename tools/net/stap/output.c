// SPDX-License-Identifier: GPL-2.0
/*
 * Text or JSON output from one set of calls (iproute2's lib/json_print.c
 * in small). In JSON mode every value goes to one json_writer on stdout,
 * and output_done() closes whatever a command left open, so that a command
 * that fails half way still leaves well-formed JSON behind it.
 */
#include <assert.h>
#include <stdio.h>

#include "json_writer.h"
#include "output.h"

#define OUTPUT_MAX_DEPTH	8

static struct json_writer *jw;
static char open_kind[OUTPUT_MAX_DEPTH];	/* '{' or '[' per level */
static unsigned int depth;

/**
 * output_init_json() - print JSON on stdout from now on
 * @pretty: indent it
 *
 * Return: 0, or -1 when out of memory. Calling it again only sets @pretty.
 */
int output_init_json(bool pretty)
{
	if (!jw)
		jw = jsonw_new(stdout);
	if (!jw)
		return -1;
	jsonw_pretty(jw, pretty);
	return 0;
}

/**
 * output_done() - close every open object and array, end the JSON text
 *
 * Called once, when the command has returned; nothing in text mode.
 */
void output_done(void)
{
	if (!jw)
		return;
	while (depth) {
		if (open_kind[--depth] == '{')
			jsonw_end_object(jw);
		else
			jsonw_end_array(jw);
	}
	jsonw_destroy(&jw);
}

bool output_is_json(void)
{
	return jw;
}

static void open_level(const char *key, char kind)
{
	if (!jw)
		return;
	assert(depth < OUTPUT_MAX_DEPTH);
	if (key)
		jsonw_name(jw, key);
	if (kind == '{')
		jsonw_start_object(jw);
	else
		jsonw_start_array(jw);
	open_kind[depth++] = kind;
}

static void close_level(char kind)
{
	if (!jw)
		return;
	assert(depth && open_kind[depth - 1] == kind);
	depth--;
	if (kind == '{')
		jsonw_end_object(jw);
	else
		jsonw_end_array(jw);
}

/* A JSON object, named @key inside an object or NULL inside an array */
void open_json_object(const char *key)
{
	open_level(key, '{');
}

void close_json_object(void)
{
	close_level('{');
}

void open_json_array(const char *key)
{
	open_level(key, '[');
}

void close_json_array(void)
{
	close_level('[');
}

/* The value goes to JSON, after its @key unless inside an array */
static bool to_json(enum output_type type, const char *key)
{
	if (!jw || !(type & PRINT_JSON))
		return false;
	if (key)
		jsonw_name(jw, key);
	return true;
}

static bool to_text(enum output_type type, const char *fmt)
{
	return !jw && type & PRINT_FP && fmt;
}

/* In text mode @fmt is printf()'s format for @value; NULL prints nothing */
void print_string(enum output_type type, const char *key, const char *fmt,
		  const char *value)
{
	if (to_json(type, key))
		jsonw_string(jw, value);
	else if (to_text(type, fmt))
		printf(fmt, value);
}

void print_uint(enum output_type type, const char *key, const char *fmt,
		unsigned int value)
{
	if (to_json(type, key))
		jsonw_uint(jw, value);
	else if (to_text(type, fmt))
		printf(fmt, value);
}

void print_u64(enum output_type type, const char *key, const char *fmt,
	       __u64 value)
{
	if (to_json(type, key))
		jsonw_uint(jw, value);
	else if (to_text(type, fmt))
		printf(fmt, (unsigned long long)value);
}
