#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build stap in tree, as an upstream submission: the series of make
# patches (scripts/patches.sh) applied with git am to its base (the 7.3
# source's versions of the files it changes), the result overlaid on a
# (hard-linked) copy of the 7.3 source, CONFIG_STAP=m on the debug
# kernel's configuration, and net/stap/ built with W=1 and sparse. No
# compat.h: the series has none. Fails on any warning.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${STAP_CACHE:-$HOME/.cache/stap}
SRC=$("$TOP/scripts/kernel.sh" src 7.3)
KDIR=$("$TOP/scripts/kernel.sh" kdir 7.3)
TREE=$CACHE/intree/src
OBJ=$CACHE/intree/obj
AM=$TOP/build/intree-am
LOG=$TOP/build/intree.log

bash "$TOP/scripts/patches.sh" > /dev/null
echo "intree: git am of build/patches onto the 7.3 base"
rm -rf "$AM"
git clone -q --no-checkout "$TOP/build/series" "$AM"
git -C "$AM" checkout -q --detach base
# shellcheck disable=SC2046
git -C "$AM" -c user.name=intree -c user.email=intree@localhost \
	am -q $(ls "$TOP"/build/patches/*.patch | grep -v /0000-cover-letter)
git -C "$AM" diff --quiet HEAD stap || {
	echo "intree: FAIL: git am gives another tree than the series"
	exit 1
}

echo "intree: overlaying the series on $SRC"
rm -rf "$TREE"
mkdir -p "$TREE" "$OBJ" "$TOP/build"
cp -al "$SRC/." "$TREE/"
git -C "$AM" diff --name-only base HEAD | while IFS= read -r f; do
	mkdir -p "$TREE/$(dirname "$f")"
	# Break the hard link of a file the series changes.
	cp --remove-destination "$AM/$f" "$TREE/$f"
done
if [ -e "$TREE/net/stap/compat.h" ] || [ -e "$TREE/net/stap/Kbuild" ]; then
	echo "intree: FAIL: the series carries the out-of-tree build"
	exit 1
fi

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
echo "intree: ok: the series applies with git am and net/stap builds in tree with W=1 C=1"
