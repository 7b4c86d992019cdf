#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build stap in tree, as an upstream submission: overlay the project's
# files on a (hard-linked) copy of the 7.3 source, apply the hook patch,
# enable CONFIG_STAP=m on the debug kernel's configuration and build
# net/stap/ with W=1 and sparse. Fails on any warning.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${STAP_CACHE:-$HOME/.cache/stap}
SRC=$("$TOP/scripts/kernel.sh" src 7.3)
KDIR=$("$TOP/scripts/kernel.sh" kdir 7.3)
TREE=$CACHE/intree/src
OBJ=$CACHE/intree/obj
LOG=$TOP/build/intree.log

echo "intree: overlaying stap on $SRC"
rm -rf "$TREE"
mkdir -p "$TREE" "$OBJ" "$TOP/build"
cp -al "$SRC/." "$TREE/"
for f in net/Kconfig net/Makefile include/linux/socket.h \
	 include/uapi/linux/inet_diag.h; do
	# Break the hard link before patching.
	cp --remove-destination "$SRC/$f" "$TREE/$f"
done
cp -r "$TOP/net/stap" "$TREE/net/stap"
cp "$TOP/include/net/stap.h" "$TREE/include/net/stap.h"
cp "$TOP/include/uapi/linux/stap.h" "$TREE/include/uapi/linux/stap.h"
patch -s -p1 -d "$TREE" < "$TOP/patches/0001-net-hook-up-stap.patch"

cp "$KDIR/.config" "$OBJ/.config"
"$TREE/scripts/config" --file "$OBJ/.config" --module STAP
make -s -C "$TREE" O="$OBJ" olddefconfig
grep -qx 'CONFIG_STAP=m' "$OBJ/.config" || {
	echo "intree: CONFIG_STAP=m did not survive olddefconfig"
	exit 1
}
make -s -C "$TREE" O="$OBJ" -j"$(nproc)" modules_prepare
# modpost checks the module against the kernel it was configured from
cp "$KDIR/Module.symvers" "$OBJ/"
ln -sf "$KDIR/vmlinux.o" "$OBJ/vmlinux.o"
make -C "$TREE" O="$OBJ" W=1 C=1 CHECK="$("$TOP/scripts/kernel.sh" sparse)" \
	net/stap/stap.ko 2>&1 | tee "$LOG"
if grep -E 'warning:|error:|not available' "$LOG"; then
	echo "intree: FAIL: the in-tree build warns"
	exit 1
fi
[ -f "$OBJ/net/stap/stap.ko" ] || { echo "intree: FAIL: no stap.ko"; exit 1; }
grep -q 'CHECK.*net/stap/stap_main.c' "$LOG" || {
	echo "intree: FAIL: sparse did not run"
	exit 1
}
echo "intree: ok: net/stap builds in tree with W=1 C=1"
