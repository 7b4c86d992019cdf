// SPDX-License-Identifier: GPL-2.0
/*
 * stapctl log: print the records of the logging verdict (samples/bpf
 * stap_verdict_log.bpf.c) as they come, from every "records" ring buffer
 * of a loaded log verdict, or from one map given by id.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "output.h"
#include "stap.h"
#include "stap_samples.h"

#define MAX_RINGS	64

static volatile sig_atomic_t stop;
static long limit = -1;		/* -n: records to print, -1 for no limit */
static long printed;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: stapctl log [-m MAP_ID] [-n COUNT] [-t SECONDS]\n"
"\n"
"Print one line per message seen by the log verdict (stapctl exec/attach\n"
"--log): time, direction, socket cookie, addresses, length, verdict and\n"
"the first bytes, until interrupted. Reads every ring buffer map named\n"
"\"records\" (each loaded log verdict has one) that exists at start, or\n"
"the map MAP_ID. A full ring buffer loses records, never messages.\n"
"With stapctl -j, one JSON array of records (the bytes in hex),\n"
"closed when stapctl log stops.\n"
"\n"
"  -m, --map-id ID   read this ring buffer only\n"
"  -n, --count N     stop after N records\n"
"  -t, --timeout S   stop after S seconds\n"
"  -h, --help        this help\n"
"\n"
"Exit status: 0; 1 when there is no log verdict loaded or a map cannot\n"
"be read; 2 on bad options.\n");
}

static void on_signal(int sig)
{
	stop = 1;
}

static const char *verdict_name(__u32 verdict)
{
	switch (verdict) {
	case STAP_VERDICT_PASS:
		return "pass";
	case STAP_VERDICT_DROP:
		return "drop";
	default:
		return "disconnect";
	}
}

/* The captured bytes: C escapes for the text, hex digits for JSON */
static void print_data(const struct stap_log_rec *r)
{
	char text[STAP_LOG_DATA_LEN * 4 + 1], hex[STAP_LOG_DATA_LEN * 2 + 1];
	unsigned int i, caplen = r->caplen;
	char *t = text;

	if (caplen > STAP_LOG_DATA_LEN)
		caplen = STAP_LOG_DATA_LEN;
	for (i = 0; i < caplen; i++) {
		__u8 c = r->data[i];

		if (c == '"' || c == '\\')
			t += sprintf(t, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			*t++ = c;
		else if (c == '\r' || c == '\n')
			t += sprintf(t, c == '\r' ? "\\r" : "\\n");
		else
			t += sprintf(t, "\\x%02x", c);
		sprintf(hex + 2 * i, "%02x", c);
	}
	*t = '\0';
	hex[2 * i] = '\0';
	print_string(PRINT_FP, NULL, " \"%s\"", text);
	print_string(PRINT_FP, NULL, "%s\n", caplen < r->len ? "..." : "");
	print_string(PRINT_JSON, "data", NULL, hex);
}

static int on_record(void *ctx, void *data, size_t size)
{
	char local[STAP_ADDRSTRLEN], remote[STAP_ADDRSTRLEN], now[32];
	const struct stap_log_rec *r = data;
	struct timespec ts;

	if (size < sizeof(*r) || (limit >= 0 && printed >= limit))
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(now, sizeof(now), "%ld.%06ld", (long)ts.tv_sec,
		 ts.tv_nsec / 1000);
	stap_addr_str(r->family, r->local_ip, r->local_port, local,
		      sizeof(local));
	stap_addr_str(r->family, r->remote_ip, r->remote_port, remote,
		      sizeof(remote));

	open_json_object(NULL);
	print_string(PRINT_FP, NULL, "%s ", now);
	print_u64(PRINT_JSON, "time_ns", NULL,
		  ts.tv_sec * 1000000000ULL + ts.tv_nsec);
	print_string(PRINT_ANY, "dir", "%s", r->tx ? "send" : "recv");
	print_u64(PRINT_ANY, "cookie", " cookie %llu ", r->cookie);
	print_string(PRINT_ANY, "local", "%s", local);
	print_string(PRINT_ANY, "peer", r->tx ? " -> %s" : " <- %s", remote);
	print_uint(PRINT_ANY, "len", " len %u", r->len);
	print_string(PRINT_ANY, "verdict", " verdict %s",
		     verdict_name(r->verdict));
	print_data(r);
	close_json_object();
	fflush(stdout);
	if (limit >= 0 && ++printed >= limit)
		stop = 1;
	return 0;
}

/* Every ring buffer named "records", or only @want */
static int add_rings(struct ring_buffer **rb, __u32 want)
{
	struct bpf_map_info info;
	__u32 id = 0, len;
	int fd, n = 0;

	while (!bpf_map_get_next_id(id, &id)) {
		if (want && id != want)
			continue;
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.type != BPF_MAP_TYPE_RINGBUF ||
		    (!want && strcmp(info.name, "records"))) {
			close(fd);
			continue;
		}
		if (!*rb)
			*rb = ring_buffer__new(fd, on_record, NULL, NULL);
		else if (ring_buffer__add(*rb, fd, on_record, NULL))
			*rb = NULL;
		if (!*rb)
			return -1;
		if (++n == MAX_RINGS)
			break;
	}
	if (!n)
		errno = want ? ENOENT : errno;
	return n;
}

int cmd_log(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "map-id",	required_argument, NULL, 'm' },
		{ "count",	required_argument, NULL, 'n' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "help",	no_argument,	   NULL, 'h' },
		{}
	};
	struct ring_buffer *rb = NULL;
	long timeout = -1;
	__u32 want = 0;
	time_t end = 0;
	char *e;
	int c, n;

	while ((c = getopt_long(argc, argv, "m:n:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			want = strtoul(optarg, &e, 10);
			if (*e || !want)
				goto bad;
			break;
		case 'n':
			limit = strtol(optarg, &e, 10);
			if (*e || limit <= 0)
				goto bad;
			break;
		case 't':
			timeout = strtol(optarg, &e, 10);
			if (*e || timeout <= 0)
				goto bad;
			break;
		default:
			return stap_cmd_usage(c, usage);
		}
	}
	if (optind < argc)
		goto bad;
	open_json_array(NULL);
	n = add_rings(&rb, want);
	if (n < 0) {
		stap_err("cannot read a ring buffer: %s", strerror(errno));
		return STAP_EXIT_FAIL;
	}
	if (!n) {
		if (want)
			stap_err("map %u: no such ring buffer", want);
		else
			stap_err("no log verdict loaded (stapctl exec --log ...)%s",
				 errno == EPERM ?
				 ": listing maps needs CAP_SYS_ADMIN" : "");
		return STAP_EXIT_FAIL;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (timeout > 0)
		end = time(NULL) + timeout;
	while (!stop && (!end || time(NULL) < end)) {
		if (ring_buffer__poll(rb, 200) < 0 && errno != EINTR) {
			stap_err("ring buffer: %s", strerror(errno));
			ring_buffer__free(rb);
			return STAP_EXIT_FAIL;
		}
	}
	ring_buffer__free(rb);
	close_json_array();
	return STAP_EXIT_OK;
bad:
	stap_err("bad option value '%s' (stapctl log --help)",
		 optind < argc ? argv[optind] : optarg);
	return STAP_EXIT_USAGE;
}
