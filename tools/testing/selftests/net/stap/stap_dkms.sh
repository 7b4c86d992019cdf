#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# stap installed as an operator installs it: the running kernel's header
# packages, then stap-dkms and stap-tools with apt from local .deb files;
# DKMS builds stap.ko for the running kernel, modprobe loads it, the
# installed stapctl taps a connection, and purging the packages takes the
# module and its sources away again.
#
# Runs as root in a guest booted on a Debian kernel (6.1, 6.12) with no
# stap module loaded, on a writable copy of the host's root (vmtest.sh's
# overlay): no network, and it changes the system it runs on.
#
#   STAP_DEB_DIR   directory with stap-dkms_*.deb and stap-tools_*.deb
#                  (make deb: build/deb)
#   STAP_HDR_DEBS  the running kernel's header packages and what they
#                  need, space-separated (scripts/kernel.sh headers-debs VER)

HERE=$(cd "$(dirname "$0")" && pwd)
HELPER="python3 $HERE/stap_tool_helper.py"
TESTS=(headers install_packages dkms_built modprobe stapctl_taps
       purge removed)
# shellcheck source=stap_lib.sh
. "$HERE/stap_lib.sh"
REL=$(uname -r)
PORT=7200
# apt and dpkg see no package source: only the .deb files given here.
# The guest's root is a throw-away overlay: no fsync per unpacked file.
APT=(apt-get -y -q -o Dir::Etc::SourceList=/dev/null
     -o Dir::Etc::SourceParts=/dev/null
     -o Dpkg::Options::=--force-unsafe-io)
export DEBIAN_FRONTEND=noninteractive
pass=0
fail=0
skip=0
num=0
T=$(mktemp -d /tmp/stap_dkms.XXXXXX)
MANDB=/var/lib/man-db/auto-update

cleanup() {
	# man-db's index is not rebuilt for the man page under emulation.
	[ -e "$T/mandb" ] && mv "$T/mandb" "$MANDB"
	rm -rf "$T"
}
trap cleanup EXIT


# The header packages depend on the kernel image package, for 6.12: the
# guest runs that kernel without it, so a package stands in for it.
image_stub() {
	local f hdr='' ver

	for f in $STAP_HDR_DEBS; do
		[ "$(dpkg-deb -f "$f" Package)" = "linux-headers-$REL" ] && hdr=$f
	done
	[ -n "$hdr" ] || { echo "no linux-headers-$REL in STAP_HDR_DEBS"; return 1; }
	dpkg-deb -f "$hdr" Depends | grep -q "linux-image-$REL" || return 0
	dpkg-query -W "linux-image-$REL" >/dev/null 2>&1 && return 0
	ver=$(dpkg-deb -f "$hdr" Version)
	mkdir -p "$T/stub/DEBIAN"
	cat > "$T/stub/DEBIAN/control" <<-EOF
	Package: stap-test-running-kernel
	Version: 1
	Architecture: all
	Maintainer: stap selftests <root@localhost>
	Provides: linux-image-$REL (= $ver)
	Description: the running kernel, booted without its package
	EOF
	dpkg-deb -b "$T/stub" "$T/stap-test-running-kernel_1_all.deb" >/dev/null &&
		echo "$T/stap-test-running-kernel_1_all.deb"
}

test_headers() {
	local stub

	stub=$(image_stub) || { echo "$stub"; return 1; }
	# shellcheck disable=SC2086
	dpkg -i --force-unsafe-io $stub $STAP_HDR_DEBS || return 1
	[ -e "/lib/modules/$REL/build/include/generated/utsrelease.h" ] ||
		{ echo "no /lib/modules/$REL/build"; return 1; }
}

test_install_packages() {
	local p

	(cd "$STAP_DEB_DIR" &&
	 "${APT[@]}" install ./stap-dkms_*.deb ./stap-tools_*.deb) || return 1
	for p in stap-dkms stap-tools; do
		expect "$p" "$(dpkg-query -W -f='${Status}' $p)" \
			"install ok installed" || return 1
	done
}

test_dkms_built() {
	local st

	st=$(dkms status -m stap -k "$REL")
	echo "$st"
	expect "dkms status" "${st##*: }" installed || return 1
	ls /lib/modules/"$REL"/updates/dkms/stap.ko*
}

test_modprobe() {
	modprobe stap || return 1
	grep -qs '^stap ' /proc/modules &&
		grep -qw stap /proc/sys/net/ipv4/tcp_available_ulp
}

# The installed stapctl runs a server with its listener tapped: QUIT lines
# never reach it, so it never echoes them.
test_stapctl_taps() {
	local got pid

	expect "stapctl" "$(dpkg -S "$(command -v stapctl)")" \
		"stap-tools: /usr/sbin/stapctl" || return 1
	# shellcheck disable=SC2086
	stapctl exec --parser lines --deny QUIT --recv-only -- \
		$HELPER server $PORT "$T" &
	pid=$!
	for _ in $(seq 200); do [ -e "$T/ready" ] && break; sleep 0.1; done
	got=$($HELPER client $PORT 'HELLO\nQUIT now\nBYE\n')
	wait $pid
	expect "echo" "$got" "b'HELLO\\nBYE\\n'"
}

test_purge() {
	local p

	for _ in $(seq 50); do rmmod stap 2>/dev/null && break; sleep 0.1; done
	grep -qs '^stap ' /proc/modules && { echo "rmmod stap failed"; return 1; }
	"${APT[@]}" purge stap-dkms stap-tools || return 1
	for p in stap-dkms stap-tools; do
		dpkg-query -W -f='${Status}' $p 2>/dev/null |
			grep -q ' installed$' && { echo "$p still installed"; return 1; }
	done
	return 0
}

test_removed() {
	local left

	modprobe stap && { echo "modprobe stap loaded a module"; return 1; }
	left=$(find /lib/modules /usr/src /var/lib/dkms -name 'stap.ko*' -o \
		-name 'stap-*' -o -path /var/lib/dkms/stap 2>/dev/null)
	expect "left behind" "$left" "" || return 1
	expect "stapctl" "$(command -v stapctl)" ""
}

echo "TAP version 13"
echo "1..${#TESTS[@]}"
why=
if [ "$(id -u)" -ne 0 ]; then
	why="not root"
elif [ -z "${STAP_DEB_DIR:-}" ] || [ -z "${STAP_HDR_DEBS:-}" ]; then
	why="STAP_DEB_DIR and STAP_HDR_DEBS not set"
elif grep -qs '^stap ' /proc/modules; then
	why="a stap module is loaded"
fi
[ -z "$why" ] || ktap_skip_all "$why"
[ -e "$MANDB" ] && mv "$MANDB" "$T/mandb"
for t in "${TESTS[@]}"; do
	num=$((num + 1))
	if [ $fail -ne 0 ]; then
		skip=$((skip + 1))
		echo "ok $num $t # SKIP after a failed step"
		continue
	fi
	echo "# RUN $t"
	t0=$SECONDS
	"test_$t" > "$T/log" 2>&1
	rc=$?
	echo "# $t: $((SECONDS - t0)) s"
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $num $t"
	else
		fail=$((fail + 1))
		tail -n 30 "$T/log" | sed 's/^/# /'
		echo "not ok $num $t"
	fi
done
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ $fail -eq 0 ]
