#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: stap_bench inside the VM on KVER (default 6.12, Debian 13's
# kernel: no debug options to distort the figures), then the tables and
# the plot in build/bench: raw.tsv, results.md, results.png.
#
# BENCH_REPS (default 5) and BENCH_SECONDS (default 1) set the
# repetitions and the length of each measurement; BENCH_ARGS passes more
# stap_bench options (e.g. "-c tcp,stap-pass").
#
# The guest runs under QEMU's instruction counting (VMTEST_ACCEL=icount):
# guest time is one nanosecond per guest instruction and idle time costs
# nothing, so a rate is work per billion instructions plus real waits and
# repeats from run to run; wall-clock TCG moves 20-30% between runs.
# BENCH_ACCEL=tcg measures wall-clock time instead.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
KVER=${1:-6.12}
OUT=$TOP/build/bench
BENCH=$TOP/build/ksft/tools/testing/selftests/net/stap/stap_bench

mkdir -p "$OUT"
echo "bench: stap_bench -r ${BENCH_REPS:-5} -d ${BENCH_SECONDS:-1} ${BENCH_ARGS:-} on $KVER, ${BENCH_ACCEL:-icount} (about 10 minutes under emulation)"
VMTEST_ACCEL=${BENCH_ACCEL:-icount} \
"$TOP/tools/testing/selftests/net/stap/vmtest.sh" -k "$KVER" -t 2400 \
	-l "$OUT/console.log" -- "$BENCH" -r "${BENCH_REPS:-5}" \
	-d "${BENCH_SECONDS:-1}" ${BENCH_ARGS:-} > "$OUT/raw.log" 2>&1 || {
	tail -20 "$OUT/raw.log" >&2
	exit 1
}
grep -E '^(tput|small|rr|scale|# kernel|# tapped)' "$OUT/raw.log" > "$OUT/raw.tsv"
python3 "$TOP/scripts/bench_report.py" "$OUT/raw.tsv" "$OUT"
# The plot needs the one-way throughput rows (-w without tput has none)
[ "$(wc -l < "$OUT/ratios.dat")" -le 1 ] ||
	gnuplot -e "dir='$OUT'" "$TOP/scripts/bench.gp"
echo "bench: $OUT/results.md, $OUT/results.png ($(date -u +%F), $(grep '^# kernel' "$OUT/raw.tsv" | cut -f2))"
