// SPDX-License-Identifier: GPL-2.0
/*
 * Parser: HTTP/1.x. A message is one request or one response: its start
 * line, its header lines up to the empty line, and its body as framed by
 * Content-Length or by "Transfer-Encoding: chunked" (chunks, the last
 * chunk and trailers). Pipelined requests become one message each.
 *
 * A message with neither header has no body. That is right for requests,
 * for responses to HEAD and for 1xx/204/304 responses; a response that is
 * delimited by the connection closing cannot be framed by a parser and
 * must not be tapped with this one.
 *
 * One pass over the start line and headers (a byte-level state machine in
 * one bpf_loop(), which keeps verification cheap); body data is skipped by
 * its length, so a Content-Length message is framed as soon as its headers
 * have arrived.
 */
#include "stap_common.bpf.h"

#define HTTP_MAX_HEAD		(1024 * 1024)	/* bytes outside body data */
#define HTTP_CHUNK_DIGITS	15		/* hex digits of a chunk size */

enum {
	ST_START,	/* the start line */
	ST_LINE,	/* first byte of a header line */
	ST_NAME,	/* header name */
	ST_CLEN,	/* Content-Length value */
	ST_TE,		/* Transfer-Encoding value */
	ST_SKIP,	/* rest of a line */
	ST_HEAD_LF,	/* the '\n' of the empty line ending the headers */
	ST_CHUNK,	/* chunk size */
	ST_CHUNK_EXT,	/* chunk extension */
	ST_CHUNK_CR,	/* the "\r\n" after chunk data */
	ST_CHUNK_LF,
	ST_TRAILER,	/* first byte of a trailer line */
	ST_TRAILER_LF,	/* the '\n' of the empty line ending the trailers */
	ST_TRAILER_SKIP,	/* rest of a trailer line */
	ST_MAX,
};

/* The states as writable data: the verifier cannot know their values, so
 * it merges the paths of a loop iteration instead of following each state
 * to the end (which newer kernels reject as too complex).
 */
__u8 http_st[ST_MAX] = {
	ST_START, ST_LINE, ST_NAME, ST_CLEN, ST_TE, ST_SKIP, ST_HEAD_LF,
	ST_CHUNK, ST_CHUNK_EXT, ST_CHUNK_CR, ST_CHUNK_LF, ST_TRAILER,
	ST_TRAILER_LF, ST_TRAILER_SKIP,
};

__u32 http_zero;

/* Header names are matched as the last bytes seen, lower case, packed
 * into words (no table look-ups: they would make the verifier track each
 * position of a match as a state of its own).
 */
#define W8(a, b, c, d, e, f, g, h)					\
	((__u64)(a) << 56 | (__u64)(b) << 48 | (__u64)(c) << 40 |	\
	 (__u64)(d) << 32 | (__u64)(e) << 24 | (__u64)(f) << 16 |	\
	 (__u64)(g) << 8 | (__u64)(h))
#define LOW(n)		((1ULL << (8 * (n))) - 1)

/* "content-length", 14 bytes */
#define CLEN_LEN	14
#define CLEN_W1		W8(0, 0, 'c', 'o', 'n', 't', 'e', 'n')
#define CLEN_W0		W8('t', '-', 'l', 'e', 'n', 'g', 't', 'h')
/* "transfer-encoding", 17 bytes */
#define TE_LEN		17
#define TE_W2		't'
#define TE_W1		W8('r', 'a', 'n', 's', 'f', 'e', 'r', '-')
#define TE_W0		W8('e', 'n', 'c', 'o', 'd', 'i', 'n', 'g')
/* "chunked", the last coding of a Transfer-Encoding value */
#define CHUNKED_W	W8(0, 'c', 'h', 'u', 'n', 'k', 'e', 'd')

struct http {
	struct __sk_buff *skb;
	__s64 clen;		/* Content-Length */
	__s64 chunk;		/* chunk size being read */
	__u64 w0, w1, w2;	/* last bytes of a header name or value */
	__u32 pos;		/* next byte */
	__u32 digits;
	__u32 nlen;		/* bytes in the header name */
	__u8 st;		/* ST_* */
	__u8 chunked;		/* the body is chunked */
	__u8 has_clen;
	__s8 state;		/* 0 running, 1 done, -1 need more, -2 bad */
};

static int http_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static void http_roll(struct http *h, int c)
{
	h->w2 = h->w2 << 8 | h->w1 >> 56;
	h->w1 = h->w1 << 8 | h->w0 >> 56;
	h->w0 = h->w0 << 8 | (__u8)http_lower(c);
}

static void http_word_reset(struct http *h)
{
	h->w0 = stap_forget(0);
	h->w1 = stap_forget(0);
	h->w2 = stap_forget(0);
	h->nlen = stap_forget(0);
}

/* Compared by the bits that differ, so that the verifier does not learn
 * the words' values on the matching path and follow each as a state.
 */
static int http_name_is(struct http *h, __u32 len, __u64 w2, __u64 w1,
			__u64 w0)
{
	__u64 diff = (h->nlen ^ len) | (h->w0 ^ w0);

	if (len <= 16)
		diff |= (h->w1 & LOW(len - 8)) ^ w1;
	else
		diff |= (h->w1 ^ w1) | ((h->w2 & LOW(len - 16)) ^ w2);
	barrier_var(diff);
	return !diff;
}

static int http_name(struct http *h, int c)
{
	if (c == '\n') {
		h->st = http_st[ST_LINE];
		return 0;
	}
	if (c != ':') {
		http_roll(h, c);
		h->nlen = stap_forget(h->nlen + 1);
		return 0;
	}
	if (http_name_is(h, CLEN_LEN, 0, CLEN_W1, CLEN_W0)) {
		if (h->has_clen)
			return -2;	/* two lengths: refuse to guess */
		h->has_clen = 1;
		h->st = http_st[ST_CLEN];
	} else if (http_name_is(h, TE_LEN, TE_W2, TE_W1, TE_W0)) {
		http_word_reset(h);
		h->st = http_st[ST_TE];
	} else {
		h->st = http_st[ST_SKIP];
	}
	return 0;
}

static int http_clen_byte(struct http *h, int c)
{
	if (c >= '0' && c <= '9' && h->digits < 18) {
		h->clen = stap_forget(h->clen * 10 + (c - '0'));
		h->digits = stap_forget(h->digits + 1);
	} else if (c == '\n') {
		h->st = http_st[ST_LINE];
	} else if (c != ' ' && c != '\t' && c != '\r') {
		return -2;
	}
	return 0;
}

/* The value's last coding is "chunked" (after a separator, if any) */
static void http_te_byte(struct http *h, int c)
{
	__u64 sep = h->w0 >> 56, diff;

	if (c == '\r')
		return;
	if (c != '\n') {
		http_roll(h, c);
		return;
	}
	diff = (h->w0 & LOW(7)) ^ CHUNKED_W;
	barrier_var(diff);
	h->chunked = !diff &&
		     (!sep || sep == ' ' || sep == ',' || sep == '\t');
	h->st = http_st[ST_LINE];
}

/* The empty line after the headers: the body follows */
static int http_head_done(struct http *h)
{
	if (h->chunked) {
		h->chunk = stap_forget(0);
		h->digits = stap_forget(0);
		h->st = http_st[ST_CHUNK];
		return 0;
	}
	if (h->clen < 0)
		return -2;
	h->pos += h->clen;
	return 1;
}

static int http_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = http_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int http_chunk_byte(struct http *h, int c)
{
	int v = http_hex(c);

	if (v >= 0 && h->st == ST_CHUNK && h->digits < HTTP_CHUNK_DIGITS) {
		h->chunk = stap_forget(h->chunk * 16 + v);
		h->digits = stap_forget(h->digits + 1);
		return 0;
	}
	if (c == '\n') {
		if (!h->digits)
			return -2;
		if (!h->chunk) {
			h->st = http_st[ST_TRAILER];
			return 0;
		}
		h->pos += h->chunk;	/* chunk data */
		h->st = http_st[ST_CHUNK_CR];
		return 0;
	}
	if (c == ';' || (h->st == ST_CHUNK_EXT && c != '\r'))
		h->st = http_st[ST_CHUNK_EXT];
	else if (c != '\r' && c != ' ' && c != '\t')
		return -2;
	return 0;
}

static long http_step(__u32 i, void *arg)
{
	struct http *h = arg;
	int c = stap_byte(h->skb, h->pos);
	int ret = 0;

	if (c < 0) {
		h->state = -1;
		return 1;
	}
	h->pos++;
	switch (h->st) {
	case ST_START:
	case ST_SKIP:
		if (c == '\n')
			h->st = http_st[ST_LINE];
		break;
	case ST_LINE:
		if (c == '\r') {
			h->st = http_st[ST_HEAD_LF];
			break;
		}
		if (c == '\n') {
			ret = http_head_done(h);
			break;
		}
		http_word_reset(h);
		h->st = http_st[ST_NAME];
		ret = http_name(h, c);
		break;
	case ST_NAME:
		ret = http_name(h, c);
		break;
	case ST_CLEN:
		ret = http_clen_byte(h, c);
		break;
	case ST_TE:
		http_te_byte(h, c);
		break;
	case ST_HEAD_LF:
		ret = c == '\n' ? http_head_done(h) : -2;
		break;
	case ST_CHUNK:
	case ST_CHUNK_EXT:
		ret = http_chunk_byte(h, c);
		break;
	case ST_CHUNK_CR:
		h->st = http_st[ST_CHUNK_LF];
		ret = c == '\r' ? 0 : -2;
		break;
	case ST_CHUNK_LF:
		h->chunk = stap_forget(0);
		h->digits = stap_forget(0);
		h->st = http_st[ST_CHUNK];
		ret = c == '\n' ? 0 : -2;
		break;
	case ST_TRAILER:
		if (c == '\r')
			h->st = http_st[ST_TRAILER_LF];
		else if (c == '\n')
			ret = 1;
		else
			h->st = http_st[ST_TRAILER_SKIP];
		break;
	case ST_TRAILER_LF:
		ret = c == '\n' ? 1 : -2;
		break;
	case ST_TRAILER_SKIP:
		if (c == '\n')
			h->st = http_st[ST_TRAILER];
		break;
	}
	if (ret) {
		h->state = ret;
		return 1;
	}
	return 0;
}

SEC("sk_skb/stream_parser")
int stap_parse_http(struct __sk_buff *skb)
{
	/* Every field the loop branches on starts opaque: 6.1 checks the
	 * callback once, from the state it is first called with, and would
	 * drop as dead the branches that state cannot reach.
	 */
	struct http h = {
		.skb = skb, .clen = stap_forget(0), .chunk = stap_forget(0),
		.w0 = stap_forget(0), .w1 = stap_forget(0),
		.w2 = stap_forget(0), .pos = http_zero,
		.digits = stap_forget(0), .nlen = stap_forget(0),
		.st = http_st[ST_START], .chunked = http_zero,
		.has_clen = http_zero, .state = http_zero,
	};

	bpf_loop(HTTP_MAX_HEAD, http_step, &h, 0);
	if (h.state == 1)
		return h.pos;
	if (h.state == -1 && h.pos < HTTP_MAX_HEAD)
		return STAP_NEED_MORE;
	return STAP_MALFORMED;
}

char _license[] SEC("license") = "GPL";
