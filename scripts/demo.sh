#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: boot a VM on KVER with stap.ko and show a real service under a
# tap: Debian's redis-server started by "stapctl exec" with the RESP parser
# and a deny-list (FLUSHALL dropped, CONFIG disconnects), driven by
# redis-cli and redis-benchmark; then "stapctl show" and /proc/net/stap_stat.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
KVER=${1:-6.1}

if [ "${2:-}" != --guest ]; then
	exec "$TOP/tools/testing/selftests/net/stap/vmtest.sh" -k "$KVER" \
		-t 900 -- bash "$TOP/scripts/demo.sh" "$KVER" --guest
fi

STAPCTL=$TOP/build/tools/stapctl
PORT=6379
CLI="redis-cli -p $PORT"
DIR=$(mktemp -d /tmp/stap_demo.XXXXXX)
fail=0
shown=()

say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
check() {
	if [ "$2" = "$3" ]; then
		shown+=("$1")
	else
		echo "demo: $1: expected '$3', got '$2'"
		fail=1
	fi
}

stat() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/stap_stat; }

say "stap.ko loaded on $(uname -r)"
echo "tcp_available_ulp: $(cat /proc/sys/net/ipv4/tcp_available_ulp)"

say "redis-server under stapctl exec: RESP parser, FLUSHALL dropped, CONFIG disconnects"
echo "$ stapctl exec --parser resp --deny FLUSHALL --deny-disconnect CONFIG -- redis-server ..."
"$STAPCTL" exec --parser resp --deny FLUSHALL --deny-disconnect CONFIG -- \
	redis-server --port $PORT --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$DIR" --logfile "$DIR/redis.log" &
server=$!
for _ in $(seq 1 100); do
	$CLI PING 2>/dev/null | grep -q PONG && break
	sleep 0.1
done

say "normal traffic passes"
run $CLI SET greeting hello
run $CLI RPUSH list a b c
check "SET/GET work" "$($CLI GET greeting)" hello
run $CLI GET greeting
run $CLI LRANGE list 0 -1

say "FLUSHALL is dropped: the server never sees it, so redis-cli waits (3 s)"
run timeout 3 $CLI FLUSHALL
check "FLUSHALL dropped (no reply)" "$?" 124
run $CLI DBSIZE
check "the data survived FLUSHALL" "$($CLI DBSIZE)" 2
check "StapRxDropMsgs counted the FLUSHALL" "$(stat StapRxDropMsgs)" 1

say "CONFIG disconnects the client"
run $CLI CONFIG GET maxmemory
check "CONFIG aborted the connection" "$?" 1
check "StapDisconnects counted it" "$(stat StapDisconnects)" 1

say "redis-benchmark through the tap (50 clients, pipelined)"
echo "(it asks for CONFIG GET first: that connection is dropped, and it warns)"
redis-benchmark -p $PORT -t ping,set,get,lpush -n 5000 -P 4 -q 2>&1 |
	tr '\r' '\n' | grep 'per second\|WARN' | tee "$DIR/bench"
check "redis-benchmark ran PING (inline and RESP), SET, GET, LPUSH" \
	"$(grep -c 'per second' "$DIR/bench")" 5

say "stapctl show: the tapped listener and a subscriber's connection"
$CLI SUBSCRIBE news > /dev/null &
sub=$!
sleep 1
run "$STAPCTL" show
check "stapctl show lists the listener" \
	"$("$STAPCTL" -j show | python3 -c 'import json,sys; print(any(t["state"] == "LISTEN" for t in json.load(sys.stdin)))')" True
kill $sub 2>/dev/null

say "/proc/net/stap_stat"
cat /proc/net/stap_stat
check "every command in the network namespace went through the tap" \
	"$(stat StapRxPassMsgs)" "$(stat StapTxPassMsgs)"

kill $server 2>/dev/null
wait 2>/dev/null
rm -rf "$DIR"

say "make run showed:"
for s in "${shown[@]}"; do
	echo "  - $s"
done
if [ $fail -ne 0 ]; then
	echo "make run: something above did not behave as expected"
	exit 1
fi
echo "make run: redis-server served normal traffic and redis-benchmark through a stap RESP tap, lost FLUSHALL to the deny-list and dropped the CONFIG client"
