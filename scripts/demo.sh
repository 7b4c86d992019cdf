#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: boot a VM on KVER with stap.ko and show a tapped socket at
# work: the selftests' fixed-size parser and first-byte verdict (bpftool
# loads them), a TCP connection over loopback whose receive side is
# tapped, messages passed, dropped and counted.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
KVER=${1:-6.1}

if [ "${2:-}" != --guest ]; then
	exec "$TOP/tools/testing/selftests/net/stap/vmtest.sh" -k "$KVER" \
		-t 600 -- bash "$TOP/scripts/demo.sh" "$KVER" --guest
fi

OBJ=$TOP/build/ksft/tools/testing/selftests/net/stap/stap_test.bpf.o
PIN=/sys/fs/bpf/stap_demo
echo "== stap module"
lsmod | grep -w stap
echo "tcp_available_ulp: $(cat /proc/sys/net/ipv4/tcp_available_ulp)"
echo "== loading the selftests' programs with bpftool"
bpftool prog loadall "$OBJ" "$PIN" type sk_skb
bpftool prog show pinned "$PIN/parse_seven"
bpftool prog show pinned "$PIN/verdict_byte"
echo "== a tapped TCP connection over loopback"
python3 "$TOP/scripts/demo.py" "$PIN"
rm -rf "$PIN"
