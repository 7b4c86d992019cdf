#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# How vmtest.sh picks QEMU's accelerator, on the host, with a stand-in
# qemu-system-x86_64 first on PATH that plays a KVM which cannot run a
# guest. Each case boots the 6.1 guest on TCG in the end (about 10 s).
#
#   vmtest_accel.sh CASE     run one case; exit 0 when it behaves
#   vmtest_accel.sh list     print the cases
#
# Cases:
#   no-kvm         no KVM device: no probe, TCG
#   kvm-aborts     QEMU aborts at once under KVM ("failed to set MSR"):
#                  the probe fails and the run passes on TCG
#   kvm-hangs      a KVM guest prints nothing: the probe times out, TCG
#   kvm-dies-late  the probe boots but the real KVM run aborts: the run
#                  falls back to TCG and the probe's answer becomes "no"
#   force-tcg      VMTEST_ACCEL=tcg never starts KVM
#   force-kvm      VMTEST_ACCEL=kvm with a broken KVM fails with 126
#   bad-mode       VMTEST_ACCEL=other is refused with 126
#   boot-dies-once the guest kernel panics while booting, before any
#                  module is loaded (as 7.3 did under MTTCG): booted again
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
VMTEST=$HERE/vmtest.sh
REAL=$(command -v qemu-system-x86_64) || { echo "no qemu-system-x86_64"; exit 1; }
CASES="no-kvm kvm-aborts kvm-hangs kvm-dies-late force-tcg force-kvm bad-mode boot-dies-once"

# stand_in MODE DIR: a qemu-system-x86_64 in DIR that logs its accelerator
# and plays MODE for KVM (abort, hang, probe-only); TCG runs the real QEMU,
# but for MODE panic-once, whose first TCG guest dies while booting.
stand_in() {
	cat > "$2/qemu-system-x86_64" <<STANDIN
#!/bin/bash
args=" \$* "
case "\$args" in
*" -accel kvm "*) ;;
*)
	echo tcg >> "$2/calls"
	if [ $1 = panic-once ] && [ ! -e "$2/panicked" ]; then
		: > "$2/panicked"
		echo "[   31.000000] Oops: int3: 0000 [#1] SMP KASAN NOPTI"
		echo "[   31.000001] Kernel panic - not syncing: Fatal exception in interrupt"
		exit 0
	fi
	exec "$REAL" "\$@" ;;
esac
echo kvm >> "$2/calls"
case $1 in
abort)
	echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2
	exit 134 ;;
hang)
	exec sleep 600 ;;
probe-only)
	case "\$args" in
	*vmtest.probe*)
		set -- "\${@/#kvm/tcg}"
		exec "$REAL" "\${@/#host/max}" ;;
	esac
	echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2
	exit 134 ;;
esac
STANDIN
	chmod +x "$2/qemu-system-x86_64"
	: > "$2/kvm"
}

# vm DIR [VAR=VALUE...]: vmtest.sh with the stand-in; prints its output,
# returns its status.
vm() {
	local dir=$1
	shift
	env PATH="$dir:$PATH" VMTEST_KVM_DEV="$dir/kvm" \
		VMTEST_KVM_PROBE_TIMEOUT=10 "$@" \
		"$VMTEST" -k 6.1 -m '' -t 300 -l "$dir/console.log" -- \
		sh -c 'exit 3' > "$dir/out" 2>&1
}

# expect DIR STATUS RC CALLS PATTERN: the run's status, the stand-in's
# calls in order, and a line of vmtest's output.
expect() {
	local dir=$1 want=$2 rc=$3 calls=$4 pattern=$5 got
	got=$(tr '\n' ' ' 2>/dev/null < "$dir/calls")
	if [ "$rc" -ne "$want" ] || [ "${got% }" != "$calls" ] ||
	   ! grep -q -- "$pattern" "$dir/out"; then
		echo "vmtest_accel: exit $rc (want $want), calls '${got% }' (want '$calls')," \
			"output lacks '$pattern':"
		tail -n 20 "$dir/out"
		return 1
	fi
	echo "vmtest_accel: exit $rc, calls '${got% }'"
}

run_case() {
	local dir rc
	dir=$(mktemp -d "${TMPDIR:-/tmp}/vmtest-accel.XXXXXX")
	trap 'rm -rf "$dir"' RETURN
	case $1 in
	no-kvm)
		stand_in abort "$dir"
		rm "$dir/kvm"
		vm "$dir"; rc=$?
		expect "$dir" 3 $rc "tcg" "accel tcg" ;;
	kvm-aborts)
		stand_in abort "$dir"
		vm "$dir"; rc=$?
		expect "$dir" 3 $rc "kvm tcg" "failed to set MSR" ;;
	kvm-hangs)
		stand_in hang "$dir"
		vm "$dir"; rc=$?
		expect "$dir" 3 $rc "kvm tcg" "did not boot a guest within 10s" ;;
	kvm-dies-late)
		stand_in probe-only "$dir"
		vm "$dir"; rc=$?
		expect "$dir" 3 $rc "kvm kvm tcg" "the KVM guest did not start" || return 1
		# The next run believes the fallback, not the probe.
		: > "$dir/calls"
		vm "$dir"; rc=$?
		expect "$dir" 3 $rc "tcg" "accel tcg" ;;
	force-tcg)
		stand_in abort "$dir"
		vm "$dir" VMTEST_ACCEL=tcg; rc=$?
		expect "$dir" 3 $rc "tcg" "accel tcg" ;;
	force-kvm)
		stand_in abort "$dir"
		vm "$dir" VMTEST_ACCEL=kvm; rc=$?
		expect "$dir" 126 $rc "kvm" "did not run the command" ;;
	bad-mode)
		stand_in abort "$dir"
		vm "$dir" VMTEST_ACCEL=hvf; rc=$?
		expect "$dir" 126 $rc "" "VMTEST_ACCEL must be auto, kvm, tcg or icount" ;;
	boot-dies-once)
		stand_in panic-once "$dir"
		vm "$dir" VMTEST_ACCEL=tcg; rc=$?
		expect "$dir" 3 $rc "tcg tcg" "died while booting, before any module" ;;
	*)
		echo "vmtest_accel: unknown case '$1' (cases: $CASES)"
		return 2 ;;
	esac
}

case "${1:-}" in
list)	echo "$CASES" ;;
"")	echo "usage: ${0##*/} CASE|list" >&2; exit 2 ;;
*)	run_case "$1" ;;
esac
