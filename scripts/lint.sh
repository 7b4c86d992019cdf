#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The gates netdev CI applies, with the 7.3 tree's scripts: checkpatch
# --strict, W=1 + sparse against every kernel, kernel-doc, kconfig, and
# the UAPI header's self-containment. Prints one "lint: ok|FAIL: gate" line a gate
# and exits non-zero when any fails.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
SRC=$("$TOP/scripts/kernel.sh" src 7.3) || exit 1
OUT=$TOP/build/lint
mkdir -p "$OUT"
cd "$TOP" || exit 1
fails=0

gate() {
	local name=$1 log=$OUT/$1.log
	shift
	if "$@" > "$log" 2>&1; then
		echo "lint: ok: $name"
	else
		echo "lint: FAIL: $name"
		sed 's/^/    /' "$log" | head -n 60
		fails=$((fails + 1))
	fi
}

KFILES=$(git ls-files 'include/*.h' 'net/stap/*.[ch]')
CFILES=$(git ls-files 'net/stap/*' 'include/*' \
	 'tools/testing/selftests/net/stap/*.[ch]' \
	 'tools/testing/selftests/net/stap/progs/*.c' \
	 'tools/testing/selftests/net/stap/warn_mod/*.c' \
	 'samples/bpf/*.[ch]')
TFILES=$(git ls-files 'tools/net/stap/*.[ch]')

IGNORE=COMMIT_LOG_LONG_LINE,MACRO_ARG_REUSE,ALLOC_SIZEOF_STRUCT,NO_AUTHOR_SIGN_OFF,GIT_COMMIT_ID,CAMELCASE

checkpatch() {
	local cp="$SRC/scripts/checkpatch.pl --no-tree --strict"

	cp="$cp --max-line-length=80 --show-types --quiet"
	# shellcheck disable=SC2086
	$cp --ignore=$IGNORE -f $(echo "$CFILES" |
		grep -v -e compat -e stap_main.c -e trace.h) || return 1
	# checkpatch does not parse TRACE_EVENT() (net/tls/trace.h fails the
	# same way): its blocks are laid out as the tracing headers are.
	$cp --ignore=$IGNORE,PARENTHESIS_ALIGNMENT,OPEN_ENDED_LINE \
		-f net/stap/trace.h || return 1
	# The proto_ops tables are built at run time, as kTLS's are.
	$cp --ignore=$IGNORE,CONST_STRUCT -f net/stap/stap_main.c || return 1
	# stapctl is user space (as tools/bpf/bpftool): its --help texts
	# and messages stay whole lines, and the preload library defines its
	# wrappers with a macro.
	# shellcheck disable=SC2086
	$cp --ignore=$IGNORE,PARENTHESIS_ALIGNMENT,LONG_LINE_STRING,SPLIT_STRING,VOLATILE,PREFER_DEFINED_ATTRIBUTE_MACRO,EMBEDDED_FUNCTION_NAME,MACRO_WITH_FLOW_CONTROL \
		-f $TFILES || return 1
	# compat.h and compat.c exist for out-of-tree builds only and are not
	# in the upstream series (make patches): their version checks and
	# their stand-ins for newer kernels' helpers are their purpose.
	$cp --ignore=$IGNORE,LINUX_VERSION_CODE,CONSTANT_COMPARISON,ALLOC_WITH_SIZEOF \
		-f net/stap/compat.h net/stap/compat.c
}

# W=1 and sparse against one kernel: any warning fails.
wc1() {
	local log
	log=$(make -s -C "$TOP" module KVER="$1" C=1 2>&1)
	echo "$log"
	! echo "$log" | grep -E 'warning:|error:|not available'
}

kerneldoc() {
	# shellcheck disable=SC2086
	"$SRC/scripts/kernel-doc" -none -Werror $KFILES
}

# net/stap/Kconfig through the 7.3 tree's kconfig, from the root Kconfig:
# it parses and CONFIG_STAP=m holds.
kconfig() {
	local conf d=$OUT/kconfig

	conf="$("$TOP/scripts/kernel.sh" kdir 7.3)/scripts/kconfig/conf"
	mkdir -p "$d"
	echo CONFIG_STAP=m > "$d/.config"
	(cd "$d" && srctree=$TOP KCONFIG_CONFIG=$d/.config \
		"$conf" --olddefconfig "$TOP/Kconfig") || return 1
	grep -qx CONFIG_STAP=m "$d/.config"
}

uapi() {
	local d=$OUT/uapi
	mkdir -p "$d/linux" "$OUT/scripts"
	gcc -O2 -o "$OUT/scripts/unifdef" "$SRC/scripts/unifdef.c" || return 1
	(cd "$OUT" && "$SRC/scripts/headers_install.sh" \
		"$TOP/include/uapi/linux/stap.h" "$d/linux/stap.h") || return 1
	echo '#include <linux/stap.h>' |
		gcc -std=c90 -Wall -Werror -pedantic -fsyntax-only \
			-I"$d" -x c - || return 1
	echo '#include <linux/stap.h>' |
		gcc -std=c90 -Wall -Werror -fsyntax-only -I"$d" -x c++ - 2>&1 |
		grep -q . && return 1
	return 0
}

gate checkpatch checkpatch
for v in 6.1 6.12 7.3; do
	gate "w1-sparse-$v" wc1 "$v"
done
gate kernel-doc kerneldoc
gate kconfig kconfig
gate uapi uapi
exit $((fails > 0))
