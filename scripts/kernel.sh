#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch or build the kernels stap is tested on, cached outside the tree.
#
#   kernel.sh prepare VER    fetch (6.1, 6.12) or build (7.3) VER
#   kernel.sh kdir VER       print the kbuild tree to build modules against
#   kernel.sh image VER      print the bzImage path
#   kernel.sh modules VER    print the module tree (lib/modules/<release>)
#   kernel.sh src VER        fetch and print the kernel source tree (7.3 only;
#                            does not build it)
#   kernel.sh sparse         build and print a sparse new enough for 7.3
#                            (bookworm's 0.6.4 lacks __typeof_unqual__)
#   kernel.sh headers-debs VER
#                            fetch and print the .deb files a guest booted
#                            on VER (6.1, 6.12) installs to build modules:
#                            the headers and what they need that this
#                            machine lacks, except the kernel image
#
# Kernels come from Debian through a private apt configuration (own source
# list and state directory under the cache), with "apt-get download" and
# "dpkg -x": the machine's apt sources and installed packages are untouched.
# Everything lands in $STAP_CACHE (default ~/.cache/stap), keyed by package
# version and, for built kernels, by the hash of the configuration.
set -euo pipefail

CACHE=${STAP_CACHE:-$HOME/.cache/stap}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CFGDIR=$ROOT/tools/testing/selftests/net/stap
JOBS=${JOBS:-$(nproc)}

die() { echo "kernel.sh: $*" >&2; exit 1; }
log() { echo "kernel.sh: $*" >&2; }

suite_of() {
	case "$1" in
	sid) echo sid ;;
	6.1) echo bookworm ;;
	6.12) echo bookworm-backports ;;
	7.3) echo trixie-backports ;;
	*) die "unknown kernel version '$1' (use 6.1, 6.12 or 7.3)" ;;
	esac
}

# apt_private SUITE CMD ARGS...: run apt-get/apt-cache on SUITE alone.
apt_private() {
	local suite=$1 cmd=$2 d=$CACHE/apt/$1
	shift 2
	"$cmd" -q -o Dir::Etc::SourceList="$d/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State="$d" -o Dir::State::Lists="$d/lists" \
		-o Dir::State::status="$d/status" -o Dir::Cache="$d" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

apt_update() {
	local suite=$1 d=$CACHE/apt/$1
	# Refresh the private lists at most once a day.
	if [ -e "$d/sources.list" ] &&
	   [ -n "$(find "$d/lists" -maxdepth 1 -name '*Packages*' \
			-mmin -1440 2>/dev/null)" ]; then
		return 0
	fi
	mkdir -p "$d/lists/partial" "$d/archives/partial"
	{
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
			"http://deb.debian.org/debian $suite main"
		[ "$suite" != sid ] ||
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
			"http://deb.debian.org/debian $suite main"
	} > "$d/sources.list"
	: > "$d/status"
	log "updating private package lists for $suite"
	apt_private "$suite" apt-get update >/dev/null
}

# candidate SUITE PKG: version apt would pick for PKG in SUITE.
dep_of_meta() {
	local suite=$1 meta=$2
	apt_private "$suite" apt-cache depends "$meta" |
		awk '/Depends: linux-/ { print $2; exit }'
}

# fetch PKG... into the download cache; print the .deb paths.
fetch() {
	local suite=$1 dl=$CACHE/dl
	shift
	mkdir -p "$dl"
	(cd "$dl" && apt_private "$suite" apt-get download "$@" >/dev/null)
	for p in "$@"; do
		ls "$dl/${p}_"*.deb | tail -n 1
	done
}

# Debian kernels (6.1, 6.12): prebuilt image, modules and headers.
prepare_debian() {
	local ver=$1 suite image headers release common kbuild dir
	suite=$(suite_of "$ver")
	apt_update "$suite"
	image=$(dep_of_meta "$suite" linux-image-amd64)
	[ -n "$image" ] || die "no linux-image-amd64 in $suite"
	image=${image%-unsigned}
	release=${image#linux-image-}
	dir=$CACHE/k/$ver/$release
	if [ -e "$dir/.done" ]; then
		echo "$dir"
		return
	fi
	headers=linux-headers-$release
	common=$(apt_private "$suite" apt-cache depends "$headers" |
		 awk '/Depends: linux-headers-.*-common/ { print $2; exit }')
	kbuild=$(apt_private "$suite" apt-cache depends "$headers" |
		 awk '/Depends: linux-kbuild-/ { print $2; exit }')
	[ -n "$common" ] && [ -n "$kbuild" ] || die "cannot resolve $headers"
	# The signed image package may not exist for every version.
	apt_private "$suite" apt-cache show "$image" >/dev/null 2>&1 ||
		image=$image-unsigned
	log "fetching $image $headers $common $kbuild"
	rm -rf "$dir"
	mkdir -p "$dir/root"
	for deb in $(fetch "$suite" "$image" "$headers" "$common" "$kbuild"); do
		dpkg -x "$deb" "$dir/root"
	done
	fix_debian_headers "$dir/root" "$release"
	echo "$release" > "$dir/release"
	touch "$dir/.done"
	echo "$dir"
}

# Debian's header packages refer to each other by absolute path
# (/usr/src/..., /usr/lib/linux-kbuild-*): point them into the extracted tree.
fix_debian_headers() {
	local root=$1 release=$2 hdr l t
	hdr=$root/usr/src/linux-headers-$release
	[ -d "$hdr" ] || die "no headers for $release"
	sed -i "s|include /usr/src/|include $root/usr/src/|" "$hdr/Makefile"
	find "$root/usr/src" -type l | while read -r l; do
		t=$(readlink "$l")
		case "$t" in
		/*) ln -sfn "$root$t" "$l" ;;
		esac
	done
	grep -q "$root" "$hdr/Makefile" || die "cannot fix $hdr/Makefile"
}

# deps_of SUITE PKG: PKG's Depends and Pre-Depends, one line per
# dependency, alternatives joined with "|" (virtual names as "<name>").
deps_of() {
	apt_private "$1" apt-cache depends --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances "$2" |
		awk '$1 ~ /Depends:$/ {
			g = g (g == "" ? "" : "|") $2
			if ($1 !~ /^\|/) { print g; g = "" }
		}'
}

# Names this machine has installed or provided, one a line.
host_names() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Provides}\n' |
		awk '$1 == "ii" {
			for (i = 2; i <= NF; i++)
				if ($i !~ /^\(|\)/) { sub(/,$/, "", $i); print $i }
		}' | sort -u
}

# headers_debs VER: the header packages of VER's Debian kernel and the
# packages they need that this machine lacks (the guest's root is this
# machine's), fetched; print the .deb paths. The image is left out: the
# guest runs that kernel without its package.
headers_debs() {
	local ver=$1 suite dir release have want=() todo p dep alt ok
	suite=$(suite_of "$ver")
	dir=$(prepare_debian "$ver")
	release=$(cat "$dir/release")
	have=$(host_names)
	todo=("linux-headers-$release")
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		case " ${want[*]} " in *" $p "*) continue ;; esac
		want+=("$p")
		while read -r dep; do
			ok=0
			for alt in ${dep//|/ }; do
				alt=${alt#<}
				alt=${alt%>}
				case "$alt" in
				"linux-image-$release"*) ok=1 ;;
				*) grep -qx -- "$alt" <<< "$have" && ok=1 ;;
				esac
			done
			[ $ok -eq 1 ] && continue
			alt=${dep%%|*}
			case "$alt" in
			"<"*) die "$p needs ${dep//[<>]/}: not installed here, not in $suite" ;;
			esac
			todo+=("$alt")
		done < <(deps_of "$suite" "$p")
	done
	fetch "$suite" "${want[@]}"
}

config_hash() {
	cat "$CFGDIR/config" "$CFGDIR/config.vm" "$CFGDIR/config.debug" |
		sha256sum | cut -c1-12
}

# fetch_source VER: Debian's linux-source-VER, extracted; print its path.
fetch_source() {
	local ver=$1 suite deb srcver src
	suite=$(suite_of "$ver")
	apt_update "$suite"
	srcver=$(apt_private "$suite" apt-cache policy "linux-source-$ver" |
		 awk '/Candidate:/ { print $2 }')
	[ -n "$srcver" ] && [ "$srcver" != "(none)" ] ||
		die "no linux-source-$ver in $suite"
	src=$CACHE/src/$ver-$srcver
	if [ ! -e "$src/.done" ]; then
		deb=$(fetch "$suite" "linux-source-$ver")
		rm -rf "$src" "$src.x"
		mkdir -p "$src.x"
		dpkg -x "$deb" "$src.x"
		mkdir -p "$src"
		tar -C "$src" --strip-components=1 \
			-xf "$src.x/usr/src/linux-source-$ver.tar.xz"
		rm -rf "$src.x"
		touch "$src/.done"
	fi
	echo "$src"
}

# 7.3: Debian's linux-source, built here as a debug kernel.
prepare_source() {
	local ver=$1 srcver dir src obj
	src=$(fetch_source "$ver")
	srcver=${src##*/$ver-}
	dir=$CACHE/k/$ver/$srcver-$(config_hash)
	if [ -e "$dir/.done" ]; then
		echo "$dir"
		return
	fi
	obj=$dir/build
	mkdir -p "$obj"
	log "building $ver debug kernel in $obj (about 20 minutes with 2 CPUs)"
	make -C "$src" O="$obj" -s defconfig
	make -C "$src" O="$obj" -s kvm_guest.config
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"$CFGDIR/config" "$CFGDIR/config.vm" "$CFGDIR/config.debug" \
		>/dev/null
	make -C "$src" O="$obj" -s olddefconfig
	check_config "$obj/.config"
	make -C "$src" O="$obj" -s -j"$JOBS" bzImage modules
	make -C "$src" O="$obj" -s INSTALL_MOD_PATH="$dir/root" \
		INSTALL_MOD_STRIP=1 modules_install
	rm -f "$dir/root/lib/modules/"*/build "$dir/root/lib/modules/"*/source
	cp "$obj/arch/x86/boot/bzImage" "$dir/bzImage"
	make -C "$src" O="$obj" -s kernelrelease > "$dir/release"
	echo "$src" > "$dir/src"
	touch "$dir/.done"
	echo "$dir"
}

# Fail if a required option did not survive olddefconfig.
check_config() {
	local cfg=$1 line bad=0
	while read -r line; do
		case "$line" in
		CONFIG_*=y|CONFIG_*=m)
			grep -qx "$line" "$cfg" || {
				log "option lost: $line"
				bad=1
			} ;;
		esac
	done < <(cat "$CFGDIR/config" "$CFGDIR/config.vm" \
		 "$CFGDIR/config.debug")
	[ $bad -eq 0 ] || die "kernel configuration incomplete"
}

# sparse from unstable's source package, built here (its binary package
# needs a newer libc than bookworm's).
build_sparse() {
	local dir=$CACHE/sparse src
	if [ -x "$dir/bin/sparse" ]; then
		echo "$dir/bin/sparse"
		return
	fi
	apt_update sid
	rm -rf "$dir"
	mkdir -p "$dir/src" "$dir/bin"
	(cd "$dir/src" &&
	 apt_private sid apt-get source --download-only sparse >/dev/null)
	src=$(ls "$dir/src/"sparse_*.orig.tar.* | tail -n 1)
	tar -C "$dir/src" -xf "$src"
	make -s -C "$dir/src/"sparse-*/ -j"$JOBS" sparse HAVE_LLVM=no \
		HAVE_GTK=no HAVE_LIBXML=no HAVE_SQLITE=no >&2
	cp "$dir/src/"sparse-*/sparse "$dir/bin/sparse"
	echo "$dir/bin/sparse"
}

# lock NAME: hold $CACHE/.lock-NAME until this script exits. A second
# kernel.sh preparing the same entry (another make, a CI run in another
# clone) waits for the first instead of building over it.
lock() {
	mkdir -p "$CACHE"
	exec 9> "$CACHE/.lock-$1"
	flock 9 || die "cannot lock $CACHE/.lock-$1"
}

prepare() {
	lock "$1"
	case "$1" in
	6.1|6.12) prepare_debian "$1" ;;
	7.3) prepare_source "$1" ;;
	*) suite_of "$1" ;;
	esac
}

main() {
	local what=${1:-} ver=${2:-6.1} dir release
	[ -n "$what" ] ||
		die "usage: kernel.sh prepare|kdir|image|modules|src|headers-debs VER"
	if [ "$what" = sparse ]; then
		lock sparse
		build_sparse
		return
	fi
	if [ "$what" = headers-debs ]; then
		case "$ver" in
		6.1|6.12) headers_debs "$ver" ;;
		*) die "headers-debs: only Debian's kernels (6.1, 6.12)" ;;
		esac
		return
	fi
	if [ "$what" = src ]; then
		[ "$ver" = 7.3 ] || die "only 7.3 is built from source"
		lock "$ver"
		fetch_source "$ver"
		return
	fi
	dir=$(prepare "$ver")
	release=$(cat "$dir/release")
	case "$what" in
	prepare) echo "$dir" ;;
	kdir)
		if [ -d "$dir/build" ]; then
			echo "$dir/build"
		else
			echo "$dir/root/usr/src/linux-headers-$release"
		fi ;;
	image)
		if [ -e "$dir/bzImage" ]; then
			echo "$dir/bzImage"
		else
			echo "$dir/root/boot/vmlinuz-$release"
		fi ;;
	modules)
		if [ -d "$dir/root/lib/modules/$release" ]; then
			echo "$dir/root/lib/modules/$release"
		else
			echo "$dir/root/usr/lib/modules/$release"
		fi ;;
	*) die "unknown command '$what'" ;;
	esac
}

main "$@"
