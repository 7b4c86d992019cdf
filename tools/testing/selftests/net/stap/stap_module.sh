#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The stap module unloads cleanly once no socket uses it, refuses to
# while one does, and loads again. STAP_KO names the module file.
set -u
ksft_skip=4

if ! grep -qw stap /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
	echo "SKIP: stap module not loaded"
	exit $ksft_skip
fi
if [ -z "${STAP_KO:-}" ] || [ ! -f "$STAP_KO" ]; then
	echo "SKIP: STAP_KO does not name the module file"
	exit $ksft_skip
fi

ret=0
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		ret=1
	fi
}

# A tapped socket pins the module: it lives until the checks are done.
dir=$(mktemp -d /tmp/stap_module.XXXXXX)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY' &
import os, socket, sys, time
ready, done = (os.path.join(sys.argv[1], f) for f in ("ready", "done"))
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
s.setsockopt(socket.SOL_TCP, 31, b"stap")
# A child of a stap listener that closes first leaves a TIME_WAIT socket
tl = socket.socket(); tl.bind(("127.0.0.1", 0)); tl.listen()
tl.setsockopt(socket.SOL_TCP, 31, b"stap")
tc = socket.create_connection(tl.getsockname()); ts, _ = tl.accept()
with open(os.path.join(sys.argv[1], "twport"), "w") as f:
    f.write(str(tl.getsockname()[1]))
ts.close(); tc.close(); tl.close()
open(ready, "w").close()
end = time.time() + 30
while not os.path.exists(done) and time.time() < end:
    time.sleep(0.05)
PY
pid=$!
for _ in $(seq 100); do [ -e "$dir/ready" ] && break; sleep 0.1; done
check "module in use while a socket has the ULP" \
	test "$(cat /sys/module/stap/refcnt)" -ge 1
check "rmmod refused while in use" sh -c '! rmmod stap 2>/dev/null'
touch "$dir/done"
wait $pid

# Sockets are gone: the reference goes when TCP destroys them. An
# earlier test's orphan may still be finishing its close (a FIN's
# retransmission backs off to seconds): up to 30 s, then say what is left.
for _ in $(seq 300); do
	[ "$(cat /sys/module/stap/refcnt)" -eq 0 ] && break
	sleep 0.1
done
[ "$(cat /sys/module/stap/refcnt)" -eq 0 ] ||
	ss -tanie 2>/dev/null | grep -v TIME-WAIT | sed 's/^/# /' | head -40
check "module unused after sockets close" \
	test "$(cat /sys/module/stap/refcnt)" -eq 0
check "rmmod" rmmod stap
# The TIME_WAIT socket must not point into the module now gone (its
# tw_prot is the child's sk_prot_creator): destroy it, where the kernel
# can (CONFIG_INET_DIAG_DESTROY), rather than wait 60 s for its timer.
twport=$(cat "$dir/twport")
tw=(state time-wait '(' sport = ":$twport" ')')
if ss -K "${tw[@]}" >/dev/null 2>&1 && ! ss -Htan "${tw[@]}" | grep -q .; then
	echo "ok: TIME_WAIT child of a stap listener outlives the module"
else
	echo "SKIP: no socket destroy here (CONFIG_INET_DIAG_DESTROY)"
fi
check "ULP gone after rmmod" sh -c \
	'! grep -qw stap /proc/sys/net/ipv4/tcp_available_ulp'
check "insmod again" insmod "$STAP_KO"
check "ULP listed again" grep -qw stap /proc/sys/net/ipv4/tcp_available_ulp
exit $ret
