#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make patches: the upstream submission as a git format-patch series with
# a cover letter, in build/patches/:
#
#   1 the UAPI header          3 the core hooks       5 Documentation
#   2 net/stap                 4 the selftests
#
# The series is committed onto a scratch repository, build/series, whose
# base commit holds the 7.3 source's versions of the files it changes
# (a git add of the whole tree takes too long). intree.sh applies the
# series to that base with git am and builds it in the 7.3 tree.
#
# Left out, as they are not for upstream: the out-of-tree build
# (net/stap/Kbuild, compat.h, compat.c), the project's VM runner
# (vmtest*.sh, config.vm, config.debug, stap_dkms.sh, warn_mod/) and
# stap_samples.c, the test of samples/bpf, which the series does not
# carry (the selftests' Makefile builds it only where samples/bpf has
# stap's programs).
#
#   patches.sh            write the series
#   patches.sh check      write it, then checkpatch --strict each patch
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# STAP_SRC: a 7.3 source tree other than the cache's
SRC=${STAP_SRC:-$("$TOP/scripts/kernel.sh" src 7.3)}
OUT=$TOP/build/patches
REPO=$TOP/build/series
KSFT=tools/testing/selftests/net/stap
BASE_FILES="MAINTAINERS Documentation/networking/index.rst
	include/linux/socket.h include/uapi/linux/inet_diag.h
	net/Kconfig net/Makefile tools/testing/selftests/Makefile"

# The maintainers' identity, as the project's commits sign off; the
# series has the date of the project's last commit, so that the same
# tree gives the same series.
ID=$(git -C "$TOP" log --format='%(trailers:key=Signed-off-by,valueonly)' |
	awk 'NF && !id { id = $0 } END { print id }')
export GIT_AUTHOR_NAME=${ID% <*} GIT_AUTHOR_EMAIL=${ID##*<}
GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL%>}
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME
export GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
GIT_AUTHOR_DATE=$(git -C "$TOP" log -1 --format=%cD)
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE

die() { echo "patches: $*" >&2; exit 1; }

g() { git -C "$REPO" "$@"; }

# commit SUBJECT BODY: commit what is staged, signed off
commit() {
	g commit -q -s -m "$1" -m "$2"
}

# edit FILE AFTER LINE: insert LINE after the line AFTER (exact) of FILE
edit() {
	local f=$REPO/$1

	grep -qxF -- "$2" "$f" || die "$1: no line '$2'"
	awk -v after="$2" -v line="$3" \
		'{ print } $0 == after { print line }' "$f" > "$f.new"
	mv "$f.new" "$f"
	g add "$1"
}

# maintainers PATTERN: an F: line in stap's MAINTAINERS entry, in order;
# the first call adds the entry, before TCP's.
maintainers() {
	python3 - "$REPO/MAINTAINERS" "$1" "$ID" <<-'EOF'
	import sys
	path, pattern, ident = sys.argv[1:]
	lines = open(path).read().split("\n")
	head = "NETWORKING [STAP]"
	if head not in lines:
	    at = lines.index("NETWORKING [TCP]")
	    lines[at:at] = [head, "M:\t" + ident, "L:\tnetdev@vger.kernel.org",
	                    "S:\tMaintained", ""]
	at = lines.index(head)
	end = lines.index("", at)
	lines[at + 4:end] = sorted(lines[at + 4:end] + ["F:\t" + pattern])
	open(path, "w").write("\n".join(lines))
	EOF
	g add MAINTAINERS
}

# copy PATH...: the project's files into the series repository
copy() {
	local f

	for f in "$@"; do
		mkdir -p "$REPO/$(dirname "$f")"
		cp "$TOP/$f" "$REPO/$f"
		g add "$f"
	done
}

base() {
	local f

	rm -rf "$REPO"
	mkdir -p "$REPO"
	g init -q -b stap
	for f in $BASE_FILES; do
		mkdir -p "$REPO/$(dirname "$f")"
		cp "$SRC/$f" "$REPO/$f"
	done
	g add -A
	g commit -q -m "Linux 7.3: the files the stap series changes"
	g tag base
}

series() {
	local ksft

	copy include/uapi/linux/stap.h
	maintainers include/uapi/linux/stap.h
	commit "net: stap: add the UAPI header" \
"stap (the socket tap) is a TCP upper layer protocol that frames what a
socket sends and receives into application messages with a BPF parser
program and passes, drops or aborts on each message with a BPF verdict
program (BPF_PROG_TYPE_SK_SKB, as sockmap's stream parser and verdict).

linux/stap.h has its ABI: the options at level SOL_STAP (STAP_PARAMS,
an extensible struct of program fds and ids, and STAP_STATS), the
verdicts, and the sock_diag attributes, one u64 per counter."

	# shellcheck disable=SC2046
	copy include/net/stap.h $(cd "$TOP" && git ls-files net/stap |
		grep -v -e '^net/stap/compat\.' -e '^net/stap/Kbuild$')
	maintainers include/net/stap.h
	maintainers net/stap/
	commit "net: stap: add the socket tap" \
"A socket opts in with setsockopt(TCP_ULP, \"stap\") and attaches its
programs with setsockopt(SOL_STAP, STAP_PARAMS). Received bytes are
framed from TCP's queue and each message runs through the receive
verdict before recvmsg(), splice_read() and poll() see it; what is left
in TCP's queue while stap's is full keeps TCP's window closed. Sent bytes
are framed as they are taken, with tcp_sendmsg()'s memory accounting,
and each message runs through the send verdict; accepted messages go to
TCP with skb_send_sock_locked_with_flags(), dropped ones never reach it.
A DISCONNECT verdict aborts the connection (the peer gets a reset).

stap_main.c registers the ULP and holds the options, the proto tables
(built from TCP's, per family and per tapped direction) and sock_diag;
stap_rx.c and stap_tx.c are the two directions, stap_strp.c the framing,
stap_bpf.c runs the programs, stap_proc.c has /proc/net/stap_stat.

Nothing builds it yet: the next patch hooks it up."

	edit net/Kconfig 'source "net/tls/Kconfig"' 'source "net/stap/Kconfig"'
	edit net/Makefile 'obj-$(CONFIG_TLS)		+= tls/' \
		'obj-$(CONFIG_STAP)		+= stap/'
	edit include/linux/socket.h '#define SOL_VSOCK	287' \
		'#define SOL_STAP	288'
	edit include/uapi/linux/inet_diag.h '	INET_ULP_INFO_MPTCP,' \
		'	INET_ULP_INFO_STAP,'
	commit "net: hook up stap" \
"Build net/stap when CONFIG_STAP is set, offer its Kconfig next to kTLS's,
and allocate its numbers: the socket level SOL_STAP (288, after
SOL_VSOCK) and the sock_diag ULP nest type INET_ULP_INFO_STAP (after
INET_ULP_INFO_MPTCP)."

	ksft=$(cd "$TOP" && git ls-files "$KSFT" | grep -v \
		-e "^$KSFT/vmtest" -e "^$KSFT/config\.vm$" \
		-e "^$KSFT/config\.debug$" -e "^$KSFT/stap_dkms\.sh$" \
		-e "^$KSFT/warn_mod/" -e "^$KSFT/stap_samples\.c$")
	# shellcheck disable=SC2086
	copy $ksft
	edit tools/testing/selftests/Makefile 'TARGETS += net/rds' \
		'TARGETS += net/stap'
	maintainers "$KSFT/"
	commit "selftests: net: stap: add the stap tests" \
"kselftest harness tests in the shape of net/tls.c: fixtures with
variants (address family and parser), one for error cases, one helper
that builds a tapped socket pair, exact checks of return values, bytes
and errno; receive (stap_rx), send (stap_tx), many sockets at once
(stap_stress), random options and programs (stap_fuzz), the module's
life cycle (stap_module.sh) and the stapctl tool (stap_tool.sh, which
skips without it). The BPF test programs are built with clang and
loaded through bpftool skeletons.

The project's test of its samples/bpf programs (stap_samples) is not in
this series, which does not carry them: the Makefile builds it only
where samples/bpf has stap's programs."

	copy Documentation/networking/stap.rst
	edit Documentation/networking/index.rst '   sriov' '   stap'
	maintainers Documentation/networking/stap.rst
	commit "Documentation: networking: describe stap" \
"stap.rst, in the shape of tls.rst: overview, the user interface step by
step, one section per socket option with its errors, the statistics
(/proc/net/stap_stat, sock_diag), the tracepoints and the limitations."
}

cover() {
	g config branch.stap.description "net: stap, BPF verdicts on the messages of TCP sockets

stap (the socket tap) is a TCP upper layer protocol, like kTLS: a socket
opts in with setsockopt(TCP_ULP, \"stap\"), then attaches a BPF parser and
a BPF verdict program per direction with setsockopt(SOL_STAP,
STAP_PARAMS). The parser cuts the byte stream into application messages;
the verdict passes each one, drops it, or aborts the connection. The
programs are BPF_PROG_TYPE_SK_SKB, the types sockmap's stream parser and
verdict use, so existing parsers carry over; unlike sockmap, stap keeps
TCP's semantics for the application on both sides (blocking, timeouts,
MSG_PEEK, MSG_WAITALL, SO_RCVLOWAT, poll, sendfile and splice), bounds
what it holds by the socket's buffers, and leaves bytes in TCP's queue
while its own is full, so that TCP's window pushes back.

Patch 1 adds the UAPI header, patch 2 the module (net/stap), patch 3
hooks it into the build and allocates SOL_STAP and INET_ULP_INFO_STAP,
patch 4 adds the selftests and patch 5 the documentation.

Counters are per socket (getsockopt(STAP_STATS), and sock_diag with one
u64 attribute per counter) and per namespace (/proc/net/stap_stat);
tracepoints cover verdicts, drops and disconnects.

Each patch passes checkpatch --strict; net/stap builds with W=1 and
sparse (C=1) without a warning. The project also builds stap out of
tree for 6.1 and 6.12 with a compat layer that is not part of this
series, and runs the selftests on all three kernels, on 7.3 with
lockdep, KASAN and kmemleak."
	rm -rf "$OUT"
	g format-patch -q --cover-letter --cover-from-description=subject \
		--subject-prefix="PATCH net-next" -o "$OUT" base..stap
}

# checkpatch --strict as lint.sh runs it, on each patch; the net/stap
# patch also gets lint.sh's file-specific exceptions (trace.h's
# TRACE_EVENT blocks, the proto_ops built at run time).
check() {
	local p ignore fails=0
	local cp="$SRC/scripts/checkpatch.pl --no-tree --strict --quiet"

	cp="$cp --max-line-length=80 --show-types"
	for p in "$OUT"/00*.patch; do
		case $p in *0000-cover-letter.patch) continue ;; esac
		ignore=COMMIT_LOG_LONG_LINE,MACRO_ARG_REUSE,ALLOC_SIZEOF_STRUCT
		ignore=$ignore,NO_AUTHOR_SIGN_OFF,GIT_COMMIT_ID,CAMELCASE
		if grep -q '^+++ b/net/stap/trace.h' "$p"; then
			ignore=$ignore,PARENTHESIS_ALIGNMENT,OPEN_ENDED_LINE
			ignore=$ignore,CONST_STRUCT
		fi
		if $cp --ignore=$ignore "$p"; then
			echo "patches: checkpatch ok: $(basename "$p")"
		else
			echo "patches: checkpatch FAIL: $(basename "$p")"
			fails=$((fails + 1))
		fi
	done
	return $((fails > 0))
}

base
series
cover
ls "$OUT"
[ "${1:-}" != check ] || check
