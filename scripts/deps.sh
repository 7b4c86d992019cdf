#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages stap's build, lint and VM test need.
# Idempotent: runs "apt-get update" at most once per boot and installs
# only what is missing.
set -euo pipefail

PKGS=(
	build-essential bc bison flex cpio kmod xz-utils zstd
	libelf-dev libssl-dev dwarves python3 perl rsync
	clang llvm libbpf-dev libmnl-dev bpftool
	debhelper dh-dkms dkms
	sparse
	qemu-system-x86 busybox-static
	iproute2 procps
	redis-server redis-tools nginx curl
	gnuplot-nox
	python3-docutils bash-completion
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root" >&2
	exit 1
fi

stamp=/run/stap-apt-updated
if [ ! -e "$stamp" ]; then
	apt-get update -q
	touch "$stamp"
fi
echo "deps: installing ${missing[*]}"
# redis-server and nginx are for the VM tests: keep their packages from
# starting them on this machine.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod +x "$policy"
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"${missing[@]}"
[ -z "$policy" ] || rm -f "$policy"
