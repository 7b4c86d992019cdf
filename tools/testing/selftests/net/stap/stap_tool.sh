#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# stapctl(8) on unmodified programs: exec (servers and non-blocking clients),
# attach to a running process (and without the privilege), show, log, a
# tap the program cannot replace, and real services: redis-server driven
# by redis-cli and redis-benchmark, nginx driven by curl; samples/bpf's
# stap_proxy in front of an echo server.
#
# STAP_TOOLS names the directory with stapctl and libstap_preload.so.
# STAP_SKIP_TESTS names tests to leave out (the debug kernel skips usage,
# which runs no kernel code of stap's).

HERE=$(cd "$(dirname "$0")" && pwd)
STAPCTL=${STAP_TOOLS:-$HERE/../../../../../build/tools}/stapctl
HELPER="python3 $HERE/stap_tool_helper.py"
# samples/bpf's stap_proxy, built by make samples next to the tools
PROXY=${STAP_TOOLS:-$HERE/../../../../../build/tools}/../samples/stap_proxy
TESTS=(usage exec_server_deny exec_client_nonblocking show log
       attach_running_process attach_needs_privilege tap_cannot_be_replaced
       redis nginx proxy)
# shellcheck source=stap_lib.sh
. "$HERE/stap_lib.sh"
PORT=
pass=0
fail=0
skip=0
num=0

# Each test runs in its own directory; background programs are killed.
T=
PIDS=()

bg() {
	"$@" &
	PIDS+=($!)
}

cleanup() {
	local p

	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	PIDS=()
}

wait_for() {
	local i

	for i in $(seq 1 200); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	echo "# timed out waiting for $1"
	return 1
}

# A port of 127.0.0.1 for the test's servers (redis and nginx need one):
# the first of 20000+num, 20100+num, ... with no listener. They lie below
# the ephemeral range, so no client's connection holds one. bash's
# /dev/tcp connects without running a program (one costs about half a
# second on the debug kernel under emulation).
free_port() {
	local p

	for ((p = 20000 + num; p < 32768; p += 100)); do
		if ! (: 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "# no free port below 32768" >&2
	return 1
}

expect_match() {
	if ! echo "$2" | grep -q -- "$3"; then
		echo "# $1: '$2' does not match '$3'"
		return 1
	fi
}

test_usage() {
	local out rc

	"$STAPCTL" --help | grep -q '^Usage: stapctl \[-j \[-p\]\] COMMAND' ||
		return 1
	"$STAPCTL" -j -p show --help | grep -q '^Usage: stapctl show' ||
		return 1
	out=$("$STAPCTL" -x show 2>&1); rc=$?
	expect "unknown global option" "$rc" 2 || return 1
	for c in exec attach show log; do
		"$STAPCTL" $c --help | grep -q "^Usage: stapctl $c" || return 1
	done
	# stapctl(8) renders, with no groff warning, and names every command
	out=$(MANWIDTH=80 man --warnings -l "$STAPCTL.8" 2>&1 >/dev/null)
	expect "man -l stapctl.8 warnings" "$out" "" || return 1
	out=$(MANWIDTH=80 man -l "$STAPCTL.8" 2>/dev/null)
	for c in exec attach show log; do
		expect_match "stapctl.8" "$out" "stapctl $c" || return 1
	done
	out=$("$STAPCTL" frobnicate 2>&1); rc=$?
	expect "unknown command" "$rc" 2 || return 1
	expect_match "unknown command" "$out" "unknown command 'frobnicate'" ||
		return 1
	out=$("$STAPCTL" exec -- true 2>&1); rc=$?
	expect "no verdict" "$rc" 2 || return 1
	expect_match "no verdict" "$out" "no verdict" || return 1
	out=$("$STAPCTL" exec --parser nosuch --verdict pass -- true 2>&1)
	rc=$?
	expect "unknown parser" "$rc" 1 || return 1
	expect_match "unknown parser" "$out" "not a built-in parser" || return 1
	out=$("$STAPCTL" exec --log --deny X -- true 2>&1); rc=$?
	expect "two verdicts" "$rc" 2 || return 1
	out=$("$STAPCTL" attach --pid 1 2>&1); rc=$?
	expect "attach without fd" "$rc" 2 || return 1
	out=$("$STAPCTL" exec --verdict pass -- /nonexistent 2>&1); rc=$?
	expect "missing command" "$rc" 127 || return 1
	"$STAPCTL" exec --verdict pass -- sh -c 'exit 7'; rc=$?
	expect "command status" "$rc" 7
}

# A server under stapctl exec: its listener is tapped, so the connection it
# accepts is too; QUIT lines never reach it, so it never echoes them.
test_exec_server_deny() {
	local got

	bg "$STAPCTL" exec --parser lines --deny 'QUIT' --recv-only -- \
		$HELPER server "$PORT" "$T"
	wait_for "$T/ready" || return 1
	got=$($HELPER client "$PORT" 'HELLO\nQUIT now\nBYE\n')
	expect "echo" "$got" "b'HELLO\\nBYE\\n'"
}

# A client under stapctl exec connecting without blocking: tapped once the
# connection is up (SO_ERROR), before it sends.
test_exec_client_nonblocking() {
	local got

	bg $HELPER server "$PORT" "$T"
	wait_for "$T/ready" || return 1
	got=$("$STAPCTL" exec --parser lines --deny 'SECRET' --send-only -- \
		$HELPER client --nonblock "$PORT" 'a\nSECRET 1\nb\n')
	expect "echo" "$got" "b'a\\nb\\n'"
}

test_show() {
	local got json

	bg "$STAPCTL" exec --parser lines --deny 'QUIT' --recv-only -- \
		$HELPER server "$PORT" "$T" --wait
	wait_for "$T/ready" || return 1
	bg $HELPER client "$PORT" 'one\ntwo\nQUIT\n'
	wait_for "$T/fd" || return 1
	sleep 1
	got=$("$STAPCTL" show) || return 1
	echo "$got" | sed 's/^/# /'
	expect_match "show" "$got" "127.0.0.1:$PORT -> 127.0.0.1:" || return 1
	expect_match "show" "$got" \
		"rx pass 2 msgs 8 bytes, drop 1 msgs 5 bytes" || return 1
	expect_match "show" "$got" "LISTEN .*127.0.0.1:$PORT -> \*" || return 1
	# The global -j and -p, and show's own -j of old
	for args in "-j show" "-p show" "show -j"; do
		# shellcheck disable=SC2086
		json=$("$STAPCTL" $args) || return 1
		echo "$json" | python3 -c "
import json, sys
taps = json.load(sys.stdin)
est = [t for t in taps if t['state'] != 'LISTEN' and
       t['local'] == '127.0.0.1:$PORT']
assert len(est) == 1, taps
t = est[0]
assert t['recv_parser_id'] and t['recv_verdict_id'], t
assert not t['send_parser_id'] and not t['send_verdict_id'], t
assert t['stats']['rx_pass_msgs'] == 2 and t['stats']['rx_drop_msgs'] == 1, t
assert t['stats']['rx_pass_bytes'] == 8 and t['stats']['rx_drop_bytes'] == 5, t
" || { echo "# stapctl $args: $json"; return 1; }
	done
	touch "$T/go"
}

test_log() {
	local got

	bg "$STAPCTL" exec --parser lines --log --recv-only -- \
		$HELPER server "$PORT" "$T"
	wait_for "$T/ready" || return 1
	bg sh -c "'$STAPCTL' log -n 2 -t 60 > '$T/log'"
	sleep 1
	got=$($HELPER client "$PORT" 'GET /a\nPING\n')
	expect "echo" "$got" "b'GET /a\\nPING\\n'" || return 1
	for i in $(seq 1 100); do
		[ "$(wc -l < "$T/log")" -ge 2 ] && break
		sleep 0.1
	done
	sed 's/^/# /' "$T/log"
	got=$(sed -n 1p "$T/log")
	want="recv cookie [0-9]* 127.0.0.1:$PORT <- 127.0.0.1:[0-9]*"
	want="$want len 7 verdict pass \"GET /a\\\\n\""
	expect_match "log" "$got" "$want" || return 1
	expect_match "log" "$(sed -n 2p "$T/log")" \
		'len 5 verdict pass "PING\\n"'
}

# A server started without stapctl, tapped through its pid and fd; with
# "json" first, attach reports in JSON.
attach_and_send() {
	local fd json=

	[ "$1" = json ] && json=-j && shift
	bg $HELPER server "$PORT" "$T" --wait "$@"
	wait_for "$T/ready" || return 1
	bg sh -c "$HELPER client $PORT 'x\nDROP me\ny\n' > '$T/got'"
	wait_for "$T/fd" || return 1
	fd=$(cat "$T/fd")
	"$STAPCTL" $json attach --pid "${PIDS[0]}" --fd "$fd" --parser lines \
		--deny DROP --recv-only > "$T/attach" || return 1
	if [ -n "$json" ]; then
		python3 -c "
import json, sys
got = json.load(open('$T/attach'))
assert len(got) == 1, got
assert got[0]['fd'] == $fd and got[0]['pid'] == ${PIDS[0]}, got
assert got[0]['socket'].startswith('127.0.0.1:$PORT -> 127.0.0.1:'), got
" || { echo "# attach: $(cat "$T/attach")"; return 1; }
	else
		want="^tapped fd $fd of process ${PIDS[0]}:"
		want="$want 127.0.0.1:$PORT -> 127.0.0.1:"
		expect_match "attach" "$(cat "$T/attach")" "$want" || return 1
	fi
	touch "$T/go"
	wait "${PIDS[1]}"
	expect "echo" "$(cat "$T/got")" "b'x\\ny\\n'"
}

test_attach_running_process() {
	attach_and_send
}

# The same user cannot take the socket of a root process: stapctl says what
# is missing and taps nothing.
test_attach_needs_privilege() {
	local out rc

	command -v setpriv > /dev/null || return $KSFT_SKIP
	bg $HELPER server "$PORT" "$T" --wait
	wait_for "$T/ready" || return 1
	bg sh -c "$HELPER client $PORT 'x\n' > '$T/got'"
	wait_for "$T/fd" || return 1
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$STAPCTL" attach --pid "${PIDS[0]}" --fd "$(cat "$T/fd")" \
		--verdict pass 2>&1); rc=$?
	echo "# $out"
	expect "rc" "$rc" 1 || return 1
	want="Operation not permitted: stapctl needs"
	want="$want the privilege to ptrace-attach"
	expect_match "message" "$out" "$want" || return 1
	touch "$T/go"
	wait "${PIDS[1]}"
	expect "untapped echo" "$(cat "$T/got")" "b'x\\n'"
}

# The tapped program tries to replace or remove the operator's tap
test_tap_cannot_be_replaced() {
	attach_and_send json --tamper || return 1
	sed 's/^/# /' "$T/tamper"
	# Another ULP: EEXIST, or ENOENT when its module is not loaded
	want="^params EBUSY ulp_tls E[NX][OI][ES][NT]T*"
	want="$want ulp_stap EEXIST ulp stap $"
	expect_match "tamper" "$(tr '\n' ' ' < "$T/tamper")" "$want"
}

# redis-server under a RESP tap: FLUSHALL is dropped, CONFIG disconnects,
# everything else (redis-benchmark's pipelined load included) works.
# samples/bpf's splice proxy in front of an echo server: the kernel
# forwards both ways, the denied line never reaches the server, and the
# client's FIN is passed on after its last line.
test_proxy() {
	local got port i

	[ -x "$PROXY" ] || { echo "# no $PROXY"; return "$KSFT_SKIP"; }
	bg $HELPER server "$PORT" "$T"
	wait_for "$T/ready" || return 1
	bg "$PROXY" --parser lines --deny 'DEL' 0 127.0.0.1 "$PORT" > "$T/port"
	for i in $(seq 1 200); do
		[ -s "$T/port" ] && break
		sleep 0.1
	done
	port=$(cat "$T/port")
	[ -n "$port" ] || { echo "# stap_proxy did not start"; return 1; }
	got=$($HELPER client "$port" 'HELLO\nDEL x\nBYE\n')
	expect "echo" "$got" "b'HELLO\\nBYE\\n'"
}

test_redis() {
	local cli="redis-cli -p $PORT" got rc

	command -v redis-server > /dev/null || return $KSFT_SKIP
	bg "$STAPCTL" exec --parser resp --deny FLUSHALL \
		--deny-disconnect CONFIG -- \
		redis-server --port "$PORT" --bind 127.0.0.1 --save '' \
		--appendonly no --dir "$T" --logfile "$T/redis.log"
	for i in $(seq 1 100); do
		$cli PING 2>/dev/null | grep -q PONG && break
		sleep 0.1
	done
	expect "set" "$($cli SET k v)" OK || return 1
	expect "get" "$($cli GET k)" v || return 1
	got=$(timeout 3 $cli FLUSHALL 2>&1); rc=$?
	expect "FLUSHALL dropped (no reply)" "$rc" 124 || return 1
	expect "key kept" "$($cli GET k)" v || return 1
	got=$($cli CONFIG GET maxmemory 2>&1)
	expect_match "CONFIG disconnects" "$got" "reset\|closed\|Error" ||
		return 1
	got=$(redis-benchmark -p "$PORT" -t set,get -n 2000 -P 8 -q 2>&1 |
	      tr '\r' '\n' | grep -c 'requests per second')
	expect "benchmark" "$got" 2 || return 1
	expect "dbsize" "$($cli DBSIZE)" 2 || return 1
	"$STAPCTL" show | grep -q "127.0.0.1:$PORT" || return 1
	expect "still serving" "$($cli GET k)" v
}

rx_drops() {
	awk '$1 == "StapRxDropMsgs" { print $2 }' /proc/net/stap_stat
}

# nginx under an HTTP tap: GET and a chunked POST pass, DELETE is dropped
test_nginx() {
	local url=http://127.0.0.1:$PORT got drops rc

	command -v nginx > /dev/null || return $KSFT_SKIP
	command -v curl > /dev/null || return $KSFT_SKIP
	mkdir -p "$T/www" "$T/tmp"
	head -c 100000 /dev/urandom > "$T/www/blob"
	echo hello > "$T/www/index.html"
	cat > "$T/nginx.conf" <<-EOF
	daemon off;
	master_process off;
	pid $T/nginx.pid;
	error_log $T/error.log;
	events { worker_connections 64; }
	http {
		access_log off;
		client_body_temp_path $T/tmp;
		proxy_temp_path $T/tmp;
		fastcgi_temp_path $T/tmp;
		uwsgi_temp_path $T/tmp;
		scgi_temp_path $T/tmp;
		server {
			listen 127.0.0.1:$PORT;
			root $T/www;
			location /echo { return 200 "posted\n"; }
		}
	}
	EOF
	bg "$STAPCTL" exec --parser http --deny 'DELETE ' -- \
		nginx -c "$T/nginx.conf" -e "$T/error.log"
	for i in $(seq 1 100); do
		curl -s "$url/" > /dev/null && break
		sleep 0.1
	done
	expect "get" "$(curl -s "$url/")" hello || return 1
	curl -s "$url/blob" -o "$T/blob" || return 1
	cmp "$T/blob" "$T/www/blob" || return 1
	got=$(curl -s -H 'Transfer-Encoding: chunked' \
		--data-binary @"$T/www/index.html" "$url/echo")
	expect "chunked post" "$got" posted || return 1
	drops=$(rx_drops)
	curl -s -m 3 -X DELETE "$url/" > /dev/null; rc=$?
	expect "DELETE dropped (curl timed out)" "$rc" 28 || return 1
	expect "one more rx drop" "$(rx_drops)" $((drops + 1)) || return 1
	got=$(curl -s "$url/" "$url/" "$url/")
	expect "keep-alive pipeline" "$got" "hello
hello
hello"
}

echo "TAP version 13"
echo "1..${#TESTS[@]}"
grep -q '^stap ' /proc/modules || ktap_skip_all "stap module not loaded"
for t in "${TESTS[@]}"; do
	num=$((num + 1))
	if [[ " ${STAP_SKIP_TESTS:-} " == *" $t "* ]]; then
		skip=$((skip + 1))
		echo "ok $num $t # SKIP in STAP_SKIP_TESTS"
		continue
	fi
	T=$(mktemp -d /tmp/stap_tool.XXXXXX)
	PORT=$(free_port) || exit 1
	echo "# RUN $t"
	t0=$SECONDS
	( "test_$t"; rc=$?; cleanup; exit $rc ); rc=$?
	echo "# $t: $((SECONDS - t0)) s"
	rm -rf "$T"
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $num $t"
	elif [ $rc -eq $KSFT_SKIP ]; then
		skip=$((skip + 1))
		echo "ok $num $t # SKIP"
	else
		fail=$((fail + 1))
		echo "not ok $num $t"
	fi
done
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ $fail -eq 0 ]
