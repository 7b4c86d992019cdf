#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: build everything, run every gate and every test on the
# three kernels, and end with one line "check: N passed, N failed".
# Each gate counts as one test; each kselftest case counts as one.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
VMTEST=$TOP/tools/testing/selftests/net/stap/vmtest.sh
ACCEL_TEST=$TOP/tools/testing/selftests/net/stap/vmtest_accel.sh
RES=$TOP/build/check
KERNELS=${CHECK_KERNELS:-6.1 6.12 7.3}
pass=0
fail=0
skip=0
failed=()

mkdir -p "$RES"
t0=$(date +%s)

ok() { pass=$((pass + 1)); echo "check: ok: $1"; }
nok() { fail=$((fail + 1)); failed+=("$1"); echo "check: FAIL: $1"; }

# step NAME CMD...: one gate, its output in build/check/NAME.log
step() {
	local name=$1 log
	shift
	log=$RES/${name//[^A-Za-z0-9._-]/_}.log
	if "$@" > "$log" 2>&1; then
		ok "$name"
	else
		nok "$name"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
}

# The VM runner itself: exit status passes through, splats fail the run.
vm_exit_status() {
	"$VMTEST" -k 6.1 -m '' -t 300 -- sh -c 'exit 3'
	[ $? -eq 3 ]
}

vm_splat_fails() {
	local kdir dir=$TOP/build/6.1/warn_mod
	kdir=$("$TOP/scripts/kernel.sh" kdir 6.1) || return 1
	mkdir -p "$dir"
	cp "$TOP"/tools/testing/selftests/net/stap/warn_mod/* "$dir/"
	make -s -C "$kdir" M="$dir" modules || return 1
	"$VMTEST" -k 6.1 -m "$dir/stap_warn.ko" -t 300 -- true
	[ $? -eq 125 ]
}

# Count the kselftest results of one kernel: harness programs by their
# "Totals" line, other programs by the runner's ok/not ok line.
count_tap() {
	local out=$1 k=$2 line p f s totals=0
	while IFS= read -r line; do
		case "$line" in
		"# # Totals: pass:"*|"# Totals: pass:"*)
			p=$(echo "$line" | sed -n 's/.*Totals: pass:\([0-9]*\).*/\1/p')
			f=$(echo "$line" | sed -n 's/.* fail:\([0-9]*\).*/\1/p')
			s=$(echo "$line" | sed -n 's/.* skip:\([0-9]*\).*/\1/p')
			pass=$((pass + p))
			fail=$((fail + f))
			skip=$((skip + s))
			[ "$f" -eq 0 ] || failed+=("kselftests on $k")
			totals=1 ;;
		"ok "*" selftests: "*)
			[ $totals -eq 1 ] || pass=$((pass + 1))
			totals=0 ;;
		"not ok "*" selftests: "*)
			if [ $totals -eq 0 ]; then
				fail=$((fail + 1))
				failed+=("${line#not ok } on $k")
			fi
			totals=0 ;;
		esac
	done < "$out"
}

vm_tests() {
	local k=$1 out=$RES/selftests-$1.tap rc
	echo "check: selftests in the VM on $k"
	"$VMTEST" -k "$k" -t 2400 -l "$RES/console-$k.log" -- \
		make -s -C "$TOP" KVER="$k" run_tests > "$out" 2>&1
	rc=$?
	count_tap "$out" "$k"
	if [ $rc -ne 0 ]; then
		nok "VM run on $k exited $rc (see $out)"
		grep -A30 'vmtest: FAIL' "$out" | head -n 40 | sed 's/^/    /'
	fi
}

step "build: stap.ko for $KERNELS" make -s -C "$TOP" modules
step "build: selftests and BPF skeletons" make -s -C "$TOP" selftests
step "build: samples/bpf and stap_loader" make -s -C "$TOP" samples
step "build: the stap tool and its preload library" make -s -C "$TOP" tools
while IFS= read -r line; do
	echo "$line"
	case "$line" in
	"lint: ok: "*) pass=$((pass + 1)) ;;
	"lint: FAIL: "*) fail=$((fail + 1)); failed+=("${line#lint: FAIL: }") ;;
	esac
done < <(bash "$TOP/scripts/lint.sh" 2>&1)
step "intree-check: net/stap in the 7.3 tree, W=1 C=1" \
	bash "$TOP/scripts/intree.sh"
step "vmtest: exit status passes through" vm_exit_status
step "vmtest: a guest kernel warning fails the run" vm_splat_fails
for c in $("$ACCEL_TEST" list); do
	step "vmtest: accelerator: $c" "$ACCEL_TEST" "$c"
done
for k in $KERNELS; do
	vm_tests "$k"
done

echo "check: $(( $(date +%s) - t0 )) s"
for f in "${failed[@]}"; do
	echo "check: failed: $f"
done
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
