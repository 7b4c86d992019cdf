#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the stap selftests with the kselftest framework of the 7.3 tree,
# or run them (inside the VM) and print one summary line.
#
#   selftests.sh build    build into build/ksft (host)
#   selftests.sh run      run every test, TAP output (guest)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
KSFT=$TOP/build/ksft/tools/testing/selftests
OUT=$KSFT/net/stap

build() {
	local src
	src=$("$TOP/scripts/kernel.sh" src 7.3)
	mkdir -p "$KSFT/net"
	# The framework: lib.mk, kselftest*.h and the runner, from 7.3
	find "$src/tools/testing/selftests" -maxdepth 1 -type f \
		-exec cp -u {} "$KSFT/" \;
	rsync -a "$src/tools/testing/selftests/kselftest/" "$KSFT/kselftest/"
	rsync -a --delete --exclude vmtest.sh --exclude vmtest_accel.sh \
		"$TOP/tools/testing/selftests/net/stap/" "$OUT/"
	make -s -C "$OUT" OUTPUT="$OUT" KHDR_INCLUDES="-isystem $TOP/include/uapi" \
		STAP_SAMPLES="$TOP/samples/bpf"
}

# Each program's wall time after its result line, for the time budget.
timed() {
	local line name t=$SECONDS

	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
		"ok "*" selftests: "*|"not ok "*" selftests: "*)
			name=${line#*selftests: net/stap: }
			echo "# time: ${name%% *}: $((SECONDS - t)) s"
			t=$SECONDS ;;
		esac
	done
}

run() {
	local skip

	# The stress test and the fuzzer run longest on the debug kernel,
	# which also runs them under fault injection (about 70 s more).
	# The debug kernel is there to run each of stap's paths under
	# KASAN, lockdep and kmemleak; the 6.x kernels run every variant.
	# There stap_rx and stap_tx run three of their six variants: each
	# framing once over IPv4 (length parser, no parser), and IPv6 with
	# the length parser (the seven-byte parser's path is the length
	# parser's). stap_window leaves out its untapped controls, which
	# run no stap code, and stap_tool.sh its usage test (no kernel code).
	case "$(uname -r)" in
	7.*)	: "${STAP_STRESS_SECONDS:=45}" "${STAP_FUZZ_OPS:=150}"
		: "${STAP_WINDOW_RECORDS:=60}"
		skip="ipv4_seven ipv6_chunk ipv6_seven"
		skip+=" plain_4k plain_8k plain_64k"
		: "${STAP_SKIP_VARIANTS=$skip}"
		: "${STAP_SKIP_TESTS=usage}" ;;
	*)	: "${STAP_STRESS_SECONDS:=30}" "${STAP_FUZZ_OPS:=1000}"
		: "${STAP_WINDOW_RECORDS:=300}" "${STAP_SKIP_VARIANTS=}"
		: "${STAP_SKIP_TESTS=}" ;;
	esac
	export STAP_STRESS_SECONDS STAP_FUZZ_OPS STAP_WINDOW_RECORDS
	export STAP_SKIP_VARIANTS STAP_SKIP_TESTS
	export STAP_TOOLS=$TOP/build/tools
	cd "$OUT"
	make -s -C "$OUT" OUTPUT="$OUT" KHDR_INCLUDES="-isystem $TOP/include/uapi" \
		STAP_SAMPLES="$TOP/samples/bpf" run_tests 2>&1 | timed | tee "$OUT/results.tap"
}

case "${1:-}" in
build) build ;;
run) run ;;
*) echo "usage: selftests.sh build|run" >&2; exit 2 ;;
esac
