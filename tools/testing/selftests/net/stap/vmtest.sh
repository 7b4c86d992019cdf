#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run a command, by default the stap selftests, inside a QEMU guest booted
# on one of the kernels stap supports, with stap.ko loaded.
#
# Modelled on tools/testing/selftests/bpf/vmtest.sh. The host's root is
# shared read-only over virtio-9p with a tmpfs overlay on top, so every host
# program runs in the guest; the project directory is shared read-write at
# the same path. The run fails when the command fails, when the guest kernel
# reports a splat (BUG, WARNING, KASAN, lockdep, kmemleak, lockups, panic),
# or when the wall-clock limit is reached.
set -uo pipefail

SELF=$(readlink -f "$0")
HERE=$(dirname "$SELF")
PROJ=$(cd "$HERE/../../../../.." && pwd)
CACHE=${STAP_CACHE:-$HOME/.cache/stap}

usage() {
	cat <<USAGE
Usage: ${0##*/} [-k 6.1|6.12|7.3|PATH/TO/bzImage] [-m MODULE.ko] [-t SECONDS]
       [-l LOGFILE] [-s] [-- COMMAND [ARGS...]]

Boot a QEMU guest on the given kernel, load MODULE (default: the stap.ko
built for that kernel), run COMMAND as root in the project directory
(default: the stap selftests), power off and exit with COMMAND's status.

  -k KERNEL   6.1 (default), 6.12, 7.3, or a bzImage path; with a path,
              -M names its module tree (lib/modules/RELEASE)
  -M DIR      module tree for a bzImage given by path
  -m MODULE   module to load before COMMAND ('' loads none)
  -t SECONDS  wall-clock limit for the whole guest run (default 1200)
  -l LOGFILE  guest console log (default: \$STAP_CACHE/logs/vm-KERNEL.log)
  -s          no splat check (for the splat detection test only)
  -h          this help

Environment:
  VMTEST_ACCEL=auto|kvm|tcg|icount
              how QEMU runs the guest. auto (the default) uses KVM only
              when a probe boot of the same kernel under KVM reaches the
              initramfs within VMTEST_KVM_PROBE_TIMEOUT seconds (default
              30), and falls back to TCG by itself when a KVM run prints
              nothing or fails before the command starts; the probe's
              answer is kept for the host's boot in \$STAP_CACHE. kvm and
              tcg force one (kvm fails with 126 when KVM cannot boot).
              icount is single-threaded TCG counting instructions: guest
              time advances 1 ns per guest instruction and idle time
              costs nothing, so rates repeat from run to run (make bench)
  VMTEST_KVM_DEV
              the KVM device to use (default /dev/kvm)
  VMTEST_KARGS
              more guest kernel parameters (e.g. slub_debug=FZPU)

Exit status: COMMAND's status; 124 on timeout; 125 when the guest kernel
reported a splat; 126 when the guest did not run COMMAND.
USAGE
}

die() { echo "vmtest: $*" >&2; exit 126; }

KERNEL=${KVER:-6.1}
MODULE=
MODULE_SET=0
MODTREE=
TIMEOUT=${VMTEST_TIMEOUT:-1200}
ACCEL_MODE=${VMTEST_ACCEL:-auto}
KVM_DEV=${VMTEST_KVM_DEV:-/dev/kvm}
KVM_PROBE_TIMEOUT=${VMTEST_KVM_PROBE_TIMEOUT:-30}
LOG=
CHECK_SPLAT=1

# Splats the run fails on; kernel lines only (timestamped in the log).
SPLAT_RE='BUG:|WARNING:|Oops|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|lock held when returning|refcount_t:|unreferenced object|soft lockup|hard LOCKUP|rcu_sched self-detected stall|rcu: INFO|Kernel panic|general protection fault|kernel BUG|list_add corruption|list_del corruption|blocked for more than'

guest_main() {
	# Runs inside the guest, chrooted into the host's root (overlay).
	local run=/run/vmtest rc proj
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export HOME=/root
	proj=$(sed -n 's/.*vmtest.proj=\([^ ]*\).*/\1/p' /proc/cmdline)
	mount -t proc proc /proc 2>/dev/null
	mount -t sysfs sys /sys 2>/dev/null
	mount -t devtmpfs dev /dev 2>/dev/null
	# What udev would add: the kselftest runner logs to /dev/stdout
	ln -sf /proc/self/fd /dev/fd
	ln -sf /proc/self/fd/0 /dev/stdin
	ln -sf /proc/self/fd/1 /dev/stdout
	ln -sf /proc/self/fd/2 /dev/stderr
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts 2>/dev/null
	mount -t tmpfs tmpfs /dev/shm 2>/dev/null
	# The overlay root is writable; a read-only fallback root gets a tmpfs
	# /tmp, and the project again if it lives below /tmp.
	if ! (: > /tmp/.vmtest) 2>/dev/null; then
		mount -t tmpfs tmpfs /tmp
		case "$proj" in
		/tmp/*)
			mkdir -p "$proj"
			mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 \
				proj "$proj" ;;
		esac
	fi
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
	ip link set lo up
	hostname stap-vm 2>/dev/null
	sysctl -qw kernel.panic_on_warn=0 2>/dev/null
	# kmemleak scans once, at the end; its thread's scan every ten
	# minutes would take a vCPU from the tests for minutes under TCG.
	if [ -w /sys/kernel/debug/kmemleak ]; then
		echo scan=off > /sys/kernel/debug/kmemleak
		echo clear > /sys/kernel/debug/kmemleak
	fi
	if ! cd "$(cat $run/cwd)"; then
		echo 126 > $run/rc
		return
	fi
	export STAP_KO=$(cat $run/module)
	# The host retries a boot that died before this line, never after.
	echo "vmtest: guest $(uname -r) booted"
	if [ -n "$(cat $run/module)" ]; then
		insmod "$(cat $run/module)" || {
			echo 126 > $run/rc
			return
		}
	fi
	echo "vmtest: guest $(uname -r) ready, running command"
	/bin/bash $run/cmd
	rc=$?
	echo "vmtest: command exited with $rc"
	if [ -w /sys/kernel/debug/kmemleak ]; then
		echo scan > /sys/kernel/debug/kmemleak
		echo scan > /sys/kernel/debug/kmemleak
		cat /sys/kernel/debug/kmemleak > $run/kmemleak
	fi
	dmesg > $run/dmesg
	echo $rc > $run/rc
	sync
}

if [ "${1:-}" = "--guest" ]; then
	guest_main
	echo o > /proc/sysrq-trigger
	poweroff -f
	exit 0
fi

while getopts "k:m:M:t:l:sh" opt; do
	case $opt in
	k) KERNEL=$OPTARG ;;
	m) MODULE=$OPTARG; MODULE_SET=1 ;;
	M) MODTREE=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	l) LOG=$OPTARG ;;
	s) CHECK_SPLAT=0 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 126 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
case "$ACCEL_MODE" in
auto|kvm|tcg|icount) ;;
*) die "VMTEST_ACCEL must be auto, kvm, tcg or icount, not '$ACCEL_MODE'" ;;
esac

case "$KERNEL" in
6.1|6.12|7.3)
	IMAGE=$("$PROJ/scripts/kernel.sh" image "$KERNEL") || die "no kernel $KERNEL"
	MODTREE=$("$PROJ/scripts/kernel.sh" modules "$KERNEL") || die "no modules"
	TAG=$KERNEL ;;
*)
	IMAGE=$KERNEL
	[ -f "$IMAGE" ] || die "no such kernel image: $IMAGE"
	[ -n "$MODTREE" ] || die "-M is required with a bzImage path"
	TAG=custom ;;
esac
[ -d "$MODTREE" ] || die "no module tree $MODTREE"
RELEASE=$(basename "$MODTREE")

# 7.x turns on high-resolution timers by enabling a static key from a work
# item (hrtimer_hres_workfn), about 30 s into the debug kernel's boot under
# TCG. Its jump sites are in enqueue_task_fair() and set_next_task_fair(),
# which the other vCPU runs all the time; QEMU's multi-threaded TCG lets
# that vCPU execute the int3 text_poke_bp() leaves there after the patch
# is done (an "Oops: int3" at those two sites, as seen in 2 of 4 boots).
# With highres=off the key never changes. 6.1 and 6.12 have no such key.
# The first trace event enabled (stap_tx's tracepoints case, stap_window's
# kprobe) flips the keys of the sched_switch and sched_wakeup tracepoints
# in __schedule() and try_to_wake_up() the same way, to record command
# names (tracing_start_cmdline_record()): one CI run died there ("Oops:
# int3" in rcu_gp_kthread, then in stap_tx). An event enabled at boot, in
# an early initcall before the other CPUs start, keeps that recording on
# for good; mark_victim fires only on an OOM kill.
KARGS=
case "$RELEASE" in
[7-9].*) KARGS="highres=off trace_event=oom:mark_victim" ;;
esac
KARGS="$KARGS ${VMTEST_KARGS:-}"

if [ $MODULE_SET -eq 0 ]; then
	MODULE=$PROJ/build/$TAG/net/stap/stap.ko
	[ "$TAG" = custom ] && MODULE=
fi
if [ -n "$MODULE" ]; then
	MODULE=$(readlink -f "$MODULE")
	[ -f "$MODULE" ] || die "no module $MODULE (run make KVER=$TAG)"
fi
[ -n "$LOG" ] || LOG=$CACHE/logs/vm-$TAG.log
mkdir -p "$(dirname "$LOG")"
[ $# -gt 0 ] || set -- make -s -C "$PROJ" KVER="$TAG" run_tests

# Modules the guest needs before it can mount the host's root, and those
# the tests use (sock_diag for ss); built-in ones are skipped.
GUEST_MODS="virtio_pci virtio_console 9pnet_virtio 9p overlay veth tcp_diag"

# build_initramfs OUT: busybox, /init and the guest modules in load order.
build_initramfs() {
	local out=$1 dir m f deps tree
	dir=$(mktemp -d)
	tree=$(mktemp -d)
	mkdir -p "$dir"/{bin,dev,proc,sys,lower,upper,newroot,lib/mod}
	cp /bin/busybox "$dir/bin/busybox" || die "busybox-static missing"
	# depmod into a private copy: Debian's packages ship no modules.dep.
	mkdir -p "$tree/lib/modules"
	ln -s "$MODTREE" "$tree/lib/modules/$RELEASE"
	cp -a "$MODTREE"/modules.* "$tree/" 2>/dev/null
	[ -e "$MODTREE/modules.dep" ] || depmod -b "$tree" "$RELEASE" 2>/dev/null ||
		die "depmod failed for $MODTREE"
	: > "$dir/modules.order"
	for m in $GUEST_MODS; do
		deps=$(modprobe -d "$tree" -S "$RELEASE" --show-depends "$m" \
			2>/dev/null | awk '$1 == "insmod" { print $2 }')
		for f in $deps; do
			f=${f#"$tree/lib/modules/$RELEASE/"}
			f=${f#"$MODTREE/"}
			grep -qx "$(basename "${f%.xz}")" "$dir/modules.order" &&
				continue
			case "$f" in
			*.xz) xz -dc "$MODTREE/$f" > "$dir/lib/mod/$(basename "${f%.xz}")" ;;
			*.zst) zstd -qdc "$MODTREE/$f" > "$dir/lib/mod/$(basename "${f%.zst}")" ;;
			*) cp "$MODTREE/$f" "$dir/lib/mod/" ;;
			esac
			basename "${f%.*z*}" | sed 's/$//' >/dev/null
			basename "$f" | sed -e 's/\.xz$//' -e 's/\.zst$//' \
				>> "$dir/modules.order"
		done
	done
	cat > "$dir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
if grep -qw vmtest.probe /proc/cmdline; then
	echo "vmtest: probe: the guest runs"
	poweroff -f
fi
for m in $(cat /modules.order); do
	insmod /lib/mod/$m || echo "vmtest: insmod $m failed"
done
proj=$(sed -n 's/.*vmtest.proj=\([^ ]*\).*/\1/p' /proc/cmdline)
o=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o $o,ro,cache=loose hostroot /lower || {
	echo "vmtest: cannot mount the host root"; poweroff -f; }
mount -t tmpfs -o size=2g tmpfs /upper
mkdir -p /upper/u /upper/w
if ! mount -t overlay overlay \
	-o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot; then
	echo "vmtest: no overlay, using the host root read-only"
	mount --bind /lower /newroot
fi
mount -t 9p -o $o proj /newroot$proj
mkdir -p /newroot/run/vmtest 2>/dev/null || mount -t tmpfs tmpfs /newroot/run
mkdir -p /newroot/run/vmtest
mount -t 9p -o $o vmrun /newroot/run/vmtest
umount /proc /sys /dev 2>/dev/null
exec chroot /newroot /bin/bash $proj/tools/testing/selftests/net/stap/vmtest.sh --guest
INIT
	chmod +x "$dir/init"
	(cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) > "$out" ||
		die "cannot build the initramfs"
	rm -rf "$dir" "$tree"
}

# kvm_stamp: where the probe's answer is kept for the host's boot, per
# QEMU binary and KVM device.
kvm_stamp() {
	local key
	key=$(echo "$(command -v qemu-system-x86_64) $KVM_DEV" | sha256sum)
	echo "$CACHE/kvm-probe/$BOOT_ID-${key:0:8}"
}

# kvm_boots: true when KVM boots this kernel into the initramfs. A bare
# QEMU probe is not enough: on some hosts /dev/kvm opens and QEMU starts,
# but a real boot aborts ("failed to set MSR") or hangs.
kvm_boots() {
	local stamp log=$RUN/kvm-probe.log ok=no
	stamp=$(kvm_stamp)
	if [ ! -e "$stamp" ]; then
		if [ -r "$KVM_DEV" ] && [ -w "$KVM_DEV" ]; then
			timeout -k 5 "$KVM_PROBE_TIMEOUT" qemu-system-x86_64 \
				-accel kvm -cpu host -smp 1 -m 1G -nodefaults \
				-display none -no-reboot -serial stdio \
				-kernel "$IMAGE" -initrd "$INITRD" \
				-append "console=ttyS0 panic=-1 vmtest.probe" \
				</dev/null > "$log" 2>&1
			grep -q "vmtest: probe: the guest runs" "$log" && ok=yes
			[ $ok = yes ] ||
				echo "vmtest: KVM did not boot a guest within ${KVM_PROBE_TIMEOUT}s, using TCG" \
				     "($(tail -n 1 "$log" | cut -c1-120))"
		fi
		mkdir -p "${stamp%/*}"
		find "${stamp%/*}" -type f ! -name "$BOOT_ID-*" -delete
		echo $ok > "$stamp"
	fi
	[ "$(cat "$stamp")" = yes ]
}

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86 missing"
BOOT_ID=$(cat /proc/sys/kernel/random/boot_id)
INITRD=$CACHE/initramfs/$RELEASE-$(sha256sum "$SELF" | cut -c1-12).cpio.gz
if [ ! -s "$INITRD" ]; then
	mkdir -p "$(dirname "$INITRD")"
	build_initramfs "$INITRD.tmp" && mv "$INITRD.tmp" "$INITRD"
fi

RUN=$(mktemp -d "${TMPDIR:-/tmp}/vmtest.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
{
	printf 'cd %q || exit 126\n' "$PWD"
	printf '%q ' "$@"
	echo
} > "$RUN/cmd"
echo "$PWD" > "$RUN/cwd"
echo "$MODULE" > "$RUN/module"

# run_guest ACCEL...: boot the guest once; QEMU's status in $qrc.
run_guest() {
	echo "vmtest: booting $IMAGE ($RELEASE) with $([ -n "$MODULE" ] && basename "$MODULE" || echo 'no module') ($*)"
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 "$@" -smp 2 -m 4G \
		-nodefaults -display none -no-reboot \
		-serial stdio -kernel "$IMAGE" -initrd "$INITRD" \
		-append "console=ttyS0 no5lvl acpi=noirq panic=-1 printk.time=1 loglevel=5 kmemleak=on softlockup_panic=0 $KARGS vmtest.proj=$PROJ" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$PROJ",mount_tag=proj,security_model=none,multidevs=remap \
		-virtfs local,path="$RUN",mount_tag=vmrun,security_model=none,multidevs=remap \
		</dev/null 2>&1 | tee "$LOG"
	qrc=${PIPESTATUS[0]}
}

# guest_booted: the guest reached the line it prints before it loads the
# module.
guest_booted() {
	grep -q "vmtest: guest .* booted" "$LOG"
}

# boot_died: the guest kernel died before the module was loaded (QEMU
# exits on the panic: panic=-1 and -no-reboot). Such a crash cannot be
# stap's; one that comes later always fails the run.
boot_died() {
	! guest_booted && grep -aqE "Kernel panic|Oops|BUG:" "$LOG"
}

KVM=(-accel kvm -cpu host)
TCG=(-accel tcg,thread=multi -cpu max)
case "$ACCEL_MODE" in
kvm)	ACCEL=("${KVM[@]}") ;;
tcg)	ACCEL=("${TCG[@]}") ;;
# Without cmpxchg16b under icount: single-threaded TCG of QEMU 7.2
# (bookworm's) twice left garbage in EFLAGS right after the cmpxchg16b of
# SLUB's allocation fast path (reserved bits set in the exception frame,
# a #DB from a stray TF, then a double fault), in make bench on 6.12.
icount)	ACCEL=(-accel tcg,thread=single -icount shift=0,sleep=off,align=off
	       -cpu max,-cx16) ;;
auto)	if kvm_boots; then ACCEL=("${KVM[@]}"); else ACCEL=("${TCG[@]}"); fi ;;
esac
for attempt in 1 2 3; do
	run_guest "${ACCEL[@]}"
	[ -s "$RUN/rc" ] || [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ] && break
	if [ "$ACCEL_MODE" = auto ] && [ "${ACCEL[1]}" = kvm ] && ! guest_booted; then
		# KVM passed the probe but did not start this guest.
		echo "vmtest: the KVM guest did not start (QEMU exited $qrc), using TCG"
		echo no > "$(kvm_stamp)"
		ACCEL=("${TCG[@]}")
	elif boot_died && [ $attempt -lt 3 ]; then
		cp "$LOG" "$LOG.boot$attempt"
		echo "vmtest: the guest kernel died while booting, before any module was loaded (log: $LOG.boot$attempt): booting again"
	else
		break
	fi
done

if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	echo "vmtest: FAIL: the guest did not finish within ${TIMEOUT}s (log: $LOG)"
	exit 124
fi

splat=0
if [ $CHECK_SPLAT -eq 1 ]; then
	{
		grep -aE '^\[ *[0-9]+\.[0-9]+\]' "$LOG"
		cat "$RUN/dmesg" "$RUN/kmemleak" 2>/dev/null
	} | grep -aE -A25 "$SPLAT_RE" > "$RUN/splat"
	[ -s "$RUN/splat" ] && splat=1
	if [ $splat -eq 1 ]; then
		echo "vmtest: FAIL: the guest kernel reported a splat:"
		head -n 80 "$RUN/splat"
	fi
fi

if [ ! -s "$RUN/rc" ]; then
	echo "vmtest: FAIL: the guest did not run the command (log: $LOG)"
	exit 126
fi
rc=$(cat "$RUN/rc")
[ $splat -eq 1 ] && [ "$rc" -eq 0 ] && exit 125
exit "$rc"
