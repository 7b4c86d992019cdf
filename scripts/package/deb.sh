#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: the stap-dkms and stap-tools packages, into build/deb.
#
# As the kernel's scripts/package/mkdebian does, the packaging is written
# into a build directory, not the tree: the sources the packages are built
# from (git's tracked and new files, so no build products) are copied to
# build/deb/stap-VERSION with scripts/package/debian as its debian/, and
# dpkg-buildpackage -b runs there. VERSION is dkms.conf's PACKAGE_VERSION.
# DEBFULLNAME and DEBEMAIL name the maintainer (default: git's user).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/build/deb
SRCS=(Makefile dkms.conf include net/stap samples/bpf tools/net/stap)

die() { echo "deb: $*" >&2; exit 1; }

VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$TOP/dkms.conf")
[ -n "$VERSION" ] || die "no PACKAGE_VERSION in dkms.conf"
DIR=$OUT/stap-$VERSION

maintainer() {
	local name email
	name=${DEBFULLNAME:-$(git -C "$TOP" config user.name 2>/dev/null ||
			      echo "stap builder")}
	email=${DEBEMAIL:-$(git -C "$TOP" config user.email 2>/dev/null ||
			    echo "$(id -nu)@$(hostname -f 2>/dev/null || hostname)")}
	echo "$name <$email>"
}

# The files of SRCS that git tracks or would track, or all of them
# outside a git checkout.
list_sources() {
	local f
	if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$TOP" ls-files -c -o --exclude-standard -- "${SRCS[@]}" |
		while read -r f; do
			[ -e "$TOP/$f" ] && echo "$f"
		done | sort -u
	else
		(cd "$TOP" && find "${SRCS[@]}" -type f)
	fi
}

changelog() {
	local rev
	rev=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
	cat <<CHANGELOG
stap ($VERSION) unstable; urgency=medium

  * Built from the stap tree at $rev.

 -- $(maintainer)  $(date -R)
CHANGELOG
}

rm -rf "$OUT"
mkdir -p "$DIR"
list_sources | tar -C "$TOP" -cf - --verbatim-files-from -T - |
	tar -C "$DIR" -xf -
cp -a "$TOP/scripts/package/debian" "$DIR/debian"
sed -i "s|@MAINTAINER@|$(maintainer)|" "$DIR/debian/control"
changelog > "$DIR/debian/changelog"

echo "deb: building stap $VERSION in $DIR (log: $OUT/build.log)"
if ! (cd "$DIR" && dpkg-buildpackage -b -us -uc) > "$OUT/build.log" 2>&1; then
	tail -n 40 "$OUT/build.log" >&2
	die "dpkg-buildpackage failed (see $OUT/build.log)"
fi
ls "$OUT"/*.deb
