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
# The DKMS install in the VM takes about 4 minutes a kernel; the build
# against each Debian kernel's headers is a host gate on both.
DKMS_KERNELS=${CHECK_DKMS_KERNELS-6.1}
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
	local out=$1 k=$2 line p f s totals=0 why=
	while IFS= read -r line; do
		# the guest's serial console ends its lines with CR LF
		line=${line%$'\r'}
		case "$line" in
		*"#  RUN "*) why= ;;
		*.c:[0-9]*:*)
			# an assertion's file:line: the first two go with the
			# failed case's name
			[ "${#why}" -gt 300 ] || why+=" ${line##*# }" ;;
		esac
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
		"# not ok "*|"# # not ok "*)
			# name the failed case: CI shows only this output
			failed+=("${line##*not ok } on $k${why:+:$why}") ;;
		"ok "*" selftests: "*)
			[ $totals -eq 1 ] || pass=$((pass + 1))
			totals=0 ;;
		"not ok "*" selftests: "*)
			if [ $totals -eq 0 ]; then
				fail=$((fail + 1))
				failed+=("${line#not ok } on $k")
			fi
			totals=0 ;;
		"not ok "*)
			# a harness program run by itself (the icount run)
			failed+=("${line#not ok } on $k") ;;
		esac
	done < "$out"
}

# make KDIR=... as an operator runs it against a kernel's headers: here
# Debian's, extracted in the cache; no scripts/kernel.sh inside make.
kdir_build() {
	local kdir
	kdir=$("$TOP/scripts/kernel.sh" kdir "$1") || return 1
	make -s -C "$TOP" KDIR="$kdir" &&
		modinfo -F vermagic "$TOP/build/kdir-$(kernel_release "$kdir")/net/stap/stap.ko"
}

kernel_release() {
	sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' "$1/include/generated/utsrelease.h"
}

# make install DESTDIR=...: exactly these files, nothing else.
install_lists_files() {
	local kdir rel dest=$RES/install got want
	kdir=$("$TOP/scripts/kernel.sh" kdir 6.1) || return 1
	rel=$(kernel_release "$kdir")
	rm -rf "$dest"
	make -s -C "$TOP" install KDIR="$kdir" DESTDIR="$dest" PREFIX=/usr || return 1
	got=$(cd "$dest" && find . ! -type d | sort)
	want=$(sort <<-EOF
	./lib/modules/$rel/updates/stap.ko
	./usr/include/linux/stap.h
	./usr/include/stap/stap_common.bpf.h
	./usr/include/stap/stap_samples.h
	./usr/lib/stap/libstap_preload.so
	$(cd "$TOP/build/samples" && ls ./*.bpf.o | sed 's|^\./|./usr/lib/stap/samples/|')
	./usr/lib/stap/stapctl
	./usr/sbin/stapctl
	./usr/share/bash-completion/completions/stapctl
	./usr/share/man/man8/stapctl.8
	EOF
	)
	echo "$got"
	[ "$got" = "$want" ] || { diff <(echo "$want") <(echo "$got"); return 1; }
	[ "$(readlink -f "$dest/usr/sbin/stapctl")" = "$dest/usr/lib/stap/stapctl" ]
}

# The DKMS package test in the VM (stap_dkms.sh), on a Debian kernel.
vm_dkms() {
	local k=$1 out=$RES/dkms-$1.tap hdrs rc
	echo "check: DKMS packages in the VM on $k"
	hdrs=$("$TOP/scripts/kernel.sh" headers-debs "$k" | tr '\n' ' ') || {
		nok "DKMS on $k: no header packages"
		return
	}
	"$VMTEST" -k "$k" -m '' -t 900 -l "$RES/console-dkms-$k.log" -- \
		env STAP_DEB_DIR="$TOP/build/deb" STAP_HDR_DEBS="$hdrs" \
		"$TOP/tools/testing/selftests/net/stap/stap_dkms.sh" > "$out" 2>&1
	rc=$?
	count_tap "$out" "$k (DKMS)"
	if [ $rc -ne 0 ]; then
		nok "DKMS VM run on $k exited $rc (see $out)"
		grep -E '^(not ok|# )' "$out" | tail -n 30 | sed 's/^/    /'
	fi
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

# stap_window's pinned transfer under instruction counting, make bench's
# mode: there the writer runs at the pace a CPU would, and catches a
# window too small for its next segment, as wall-clock TCG (where the
# emulated writer is slow) does not; and idle time costs nothing, so
# STAP_WINDOW_NO_DELACK asserts that no delayed ACK timer fired. On 6.12 only: the 6.1 guest does not
# get through its boot under icount here, and the 7.3 debug kernel boots
# for minutes. 1500 records (about 10 s of guest time): with a push at
# every message boundary, 8 of 18 such runs waited for the persist timer,
# against 1 of 9 with the default 300 (and 0 of 15 without that push).
vm_icount_window() {
	local out=$RES/icount-window-6.12.tap rc
	local dir=$TOP/build/ksft/tools/testing/selftests/net/stap
	echo "check: stap_window bulk_pinned in the VM on 6.12 (instruction counting)"
	VMTEST_ACCEL=icount "$VMTEST" -k 6.12 -t 600 \
		-l "$RES/console-icount-6.12.log" -- sh -c \
		"cd $dir && STAP_WINDOW_RECORDS=1500 STAP_WINDOW_NO_DELACK=1 ./stap_window -t bulk_pinned" \
		> "$out" 2>&1
	rc=$?
	count_tap "$out" "6.12 (icount)"
	if [ $rc -ne 0 ]; then
		nok "icount VM run on 6.12 exited $rc (see $out)"
		grep -E '^(not ok|# )' "$out" | tail -n 20 | sed 's/^/    /'
	fi
}

step "build: stap.ko for $KERNELS" make -s -C "$TOP" modules
step "build: selftests and BPF skeletons" make -s -C "$TOP" selftests
step "build: samples/bpf and stap_loader" make -s -C "$TOP" samples
step "build: stapctl, its man page and preload library" make -s -C "$TOP" tools
for k in 6.1 6.12; do
	step "build: make KDIR= against Debian's $k headers" kdir_build "$k"
done
step "install: make install DESTDIR= installs exactly its files" install_lists_files
step "package: make deb builds stap-dkms and stap-tools" make -s -C "$TOP" deb
while IFS= read -r line; do
	echo "$line"
	case "$line" in
	"lint: ok: "*) pass=$((pass + 1)) ;;
	"lint: FAIL: "*) fail=$((fail + 1)); failed+=("${line#lint: FAIL: }") ;;
	esac
done < <(bash "$TOP/scripts/lint.sh" 2>&1)
step "patches: checkpatch --strict on each patch of the series" \
	bash "$TOP/scripts/patches.sh" check
step "patches: the series applies with git am to 7.3 and builds (W=1 C=1)" \
	bash "$TOP/scripts/intree.sh"
step "vmtest: exit status passes through" vm_exit_status
step "vmtest: a guest kernel warning fails the run" vm_splat_fails
for c in $("$ACCEL_TEST" list); do
	step "vmtest: accelerator: $c" "$ACCEL_TEST" "$c"
done
for k in $KERNELS; do
	vm_tests "$k"
	case " $DKMS_KERNELS " in
	*" $k "*) vm_dkms "$k" ;;
	esac
	[ "$k" = 6.12 ] && vm_icount_window
done

echo "check: $(( $(date +%s) - t0 )) s"
for f in "${failed[@]}"; do
	echo "check: failed: $f"
done
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
