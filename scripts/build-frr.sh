#!/usr/bin/env bash
# scripts/build-frr.sh LINE: the Debian packages of one FRR line (8.4,
# 10.3 or 10.7) with keep-all-routes: Debian's frr source package, our
# series added to debian/patches, the module built inside FRR's tree as its
# own binary package frr-keep-all-routes, and a local version (+kar1).
# A line of KAR_FRR_CHROOT (10.7) is fetched and built in a chroot of its
# own Debian (scripts/chroot.sh), with that Debian's build dependencies.
#
# The .deb files land in build/frr-LINE/; the packages the tests run are
# unpacked (dpkg -x) into build/frr-LINE/root, so what is tested is what
# is shipped.  Built packages are kept in the cache outside the clone,
# keyed by the hash of everything that goes into them: a second run with
# nothing changed rebuilds nothing.
#
#   KAR_SANITIZE=address  the same packages built with ASan+LSan, into
#                         build/frr-LINE-asan/ (for the leak checks).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=${1:?usage: build-frr.sh LINE}
kar_check_line "$line"
#   KAR_FRR_FOLLOW=1      the newest frr of the line's release in its
#                         suite (security updates included) instead of
#                         the version the project pins and tests
#                         (KAR_FRR_VERSION): the series applies with fuzz
#                         0 or the build stops.
ver=${KAR_FRR_VERSION[$line]}
if [[ ${KAR_FRR_FOLLOW:-0} == 1 ]]; then
	bash "$kar_top/scripts/setup-host.sh"
	ver=$(kar_newest_frr "$line")
	kar_log "frr $line follows Debian ${KAR_FRR_SUITE[$line]}: $ver (the project tests ${KAR_FRR_VERSION[$line]})"
fi
local_ver=$ver$KAR_LOCAL_SUFFIX
flavour=$line${KAR_SANITIZE:+-asan}
ldir=$kar_top/build/frr-$flavour

# Build profiles: 8.4 leaves pim6d out by default, and FRR's topotest
# library wants every daemon it knows of.
declare -A profiles=([8.4]=pkg.frr.pim6d [10.3]= [10.7]=)
suite_root=${KAR_FRR_CHROOT[$line]:-}
# in_build_root CMD...: run CMD where the line is built.
in_build_root() {
	if [[ -n $suite_root ]]; then
		bash "$kar_top/scripts/chroot.sh" "$suite_root" "$@"
	else
		"$@"
	fi
}

deps=("$ver" "$local_ver" "${profiles[$line]}" "${KAR_SANITIZE:-}"
	"$kar_top/patches/frr-$line" "$kar_top/bgpd-module" "$kar_top/packaging"
	"$kar_top/docs/keep-all-routes.rst" "$kar_top/yang/frr-bgp-keep-all-routes.yang"
	"$0" "$kar_top/scripts/overlay-frr.sh" "path=$KAR_BUILD_PATH")
# (lib.sh's settings go in by value, above: it also holds the tests'
# settings, which must not cost a rebuild.)
# A chroot line: the chroot's name says what is in it.
# (A string: kar_hash would read a directory's every file.)
[[ -z $suite_root ]] || deps+=("chroot=$(bash "$kar_top/scripts/chroot.sh" "$suite_root" --path)")
if [[ $line == 10.3 ]]; then
	bash "$kar_top/scripts/build-libyang.sh"
	deps+=("$(cat "$kar_top/build/libyang/.hash")")
fi
hash=$(kar_hash "${deps[@]}")
cache=$KAR_CACHE/frr-$flavour-$hash

# 1. The source package, downloaded once per machine.
dl=$KAR_CACHE/dl
dsc=$dl/frr_$ver.dsc
if [[ ! -f $dsc ]]; then
	bash "$kar_top/scripts/setup-host.sh"
	mkdir -p "$dl"
	chown _apt "$dl" 2>/dev/null || true
	kar_log "fetching Debian source package frr=$ver"
	if [[ -z $suite_root ]]; then
		(cd "$dl" && apt-get source --download-only -q "frr=$ver")
	else
		# From the suite's index, or, when the suite has moved on to a
		# newer revision, from the archive's pool, which keeps it for a
		# while: dget checks the .dsc's signature (debian-keyring) and
		# every file's checksum.
		in_build_root /bin/sh -ec '
			cd "$1"; apt-get update -q >/dev/null
			apt-get source --download-only -q "frr=$2" 2>/dev/null && exit 0
			uri=$(awk "/^URIs:/ { print \$2; exit }" /etc/apt/sources.list.d/debian.sources)
			dget -q --download-only "$uri/pool/main/f/frr/frr_$2.dsc"' sh "$dl" "$ver"
	fi
	[[ -f $dsc ]] || kar_die "could not fetch frr $ver"
fi

# 2. The tree: Debian's patches, then ours and the module (the tests also
#    need the tree itself: FRR's topotest library lives in it).
if [[ $(cat "$ldir/src/.kar-hash" 2>/dev/null) != "$hash" ]]; then
	rm -rf "$ldir"
	mkdir -p "$ldir"
	dpkg-source -x "$dsc" "$ldir/src" >/dev/null 2>&1
	bash "$kar_top/scripts/overlay-frr.sh" "$line" "$ldir/src" "$local_ver"
	echo "$hash" >"$ldir/src/.kar-hash"
fi

# 3. The packages, unless the cache has them.
if [[ ! -f $cache/.complete ]]; then
	bash "$kar_top/scripts/setup-host.sh"
	kar_log "installing frr $line's build dependencies${suite_root:+ in the $suite_root chroot}"
	need_deps=$ldir/src
	if [[ $line == 10.3 ]]; then
		# Debian 13's libyang is not installed here: installing it would
		# replace Debian 12's libyang2 under anything running on it.  FRR
		# builds against the unpacked packages instead (see below), so
		# libyang-dev is the one build dependency apt is not asked for.
		need_deps=$(mktemp -d)
		mkdir "$need_deps/debian"
		cp "$ldir/src/debian/changelog" "$need_deps/debian/"
		sed '/^ *libyang-dev/d' "$ldir/src/debian/control" >"$need_deps/debian/control"
	fi
	if [[ -n $suite_root ]]; then
		in_build_root /bin/sh -ec 'cd "$1" && apt-get update -q >/dev/null &&
			apt-get build-dep -y -q ./ >/dev/null' sh "$need_deps"
	else
		(cd "$need_deps" && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q \
			${profiles[$line]:+-P "${profiles[$line]}"} ./ >/dev/null)
	fi
	[[ $need_deps == "$ldir/src" ]] || rm -rf "$need_deps"

	env=(PATH="$KAR_BUILD_PATH" CCACHE_DIR="$KAR_CACHE/ccache${suite_root:+-$suite_root}"
		CCACHE_BASEDIR="$ldir/src" DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)"
		DEB_BUILD_PROFILES="${profiles[$line]}")
	build_opts=()
	if [[ $line == 10.3 ]]; then
		# libyang 3 from its unpacked packages: its headers and library
		# before any libyang2 of the system in every compile and link, its
		# library for the tools the build runs, and its shlibs entry for
		# the packages' dependency on libyang3.
		ly=$kar_top/build/libyang/root
		ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
		# pkg-config finds it through a wrapper on PATH: configure records
		# PKG_CONFIG_PATH, when set, in the arguments `bgpd --version`
		# prints, and the packages must not carry this machine's paths.
		mkdir -p "$ldir/tools"
		printf '#!/bin/sh\nPKG_CONFIG_PATH=%q PKG_CONFIG_SYSROOT_DIR=%q exec /usr/bin/pkg-config "$@"\n' \
			"$ly/usr/lib/$ma/pkgconfig" "$ly" >"$ldir/tools/pkg-config"
		chmod +x "$ldir/tools/pkg-config"
		env+=(PATH="$ldir/tools:$KAR_BUILD_PATH")
		env+=(DEB_CPPFLAGS_PREPEND="-I$ly/usr/include" DEB_LDFLAGS_PREPEND="-L$ly/usr/lib/$ma"
			LD_LIBRARY_PATH="$ly/usr/lib/$ma")
		dpkg-deb --ctrl-tarfile "$kar_top"/build/libyang/libyang3_*.deb |
			tar -xO ./shlibs >"$ldir/src/debian/shlibs.local"
		build_opts+=(-d)
	fi
	if [[ ${KAR_SANITIZE:-} == address ]]; then
		env+=(DEB_CFLAGS_APPEND="-fsanitize=address -fno-omit-frame-pointer -O1"
			DEB_LDFLAGS_APPEND="-fsanitize=address")
	fi
	kar_log "building frr $local_ver (log: $ldir/build.log)"
	start=$SECONDS
	rc=0
	in_build_root /usr/bin/env "${env[@]}" /bin/sh -c 'cd "$1" && shift &&
		exec dpkg-buildpackage -b -uc -us "$@"' sh "$ldir/src" "${build_opts[@]}" \
		>"$ldir/build.log" 2>&1 || rc=$?
	((rc == 0)) || { tail -40 "$ldir/build.log"; kar_die "frr $line build failed (log: $ldir/build.log)"; }
	kar_log "frr $line built in $((SECONDS - start)) s"
	mkdir -p "$cache"
	find "$ldir" -maxdepth 1 -name '*.deb' ! -name '*-dbgsym_*' -exec cp {} "$cache"/ \;
	cp "$ldir/build.log" "$cache"/
	# What the module's own build (configure --with-frr) needs of the
	# built tree besides its sources: the configuration, the generated
	# headers and clippy.  Debian builds in src/build, so every header
	# there is generated.
	(cd "$ldir/src/build" && find . -name '*.h' -print0 |
		tar -czf "$cache/devtree.tar.gz" --null -T - config.h Makefile lib/clippy)
	echo "$kar_top" >"$cache/devtree.top"
	touch "$cache/.complete"
fi

# 3b. A tree the module's own build can use: built here, or, when the
#     packages came from the cache, the sources with the configuration,
#     generated headers and clippy of the build that made them (with the
#     paths of the clone that built them changed to this one's).
if [[ ! -x $ldir/src/build/lib/clippy ]]; then
	mkdir -p "$ldir/src/build"
	tar -xzf "$cache/devtree.tar.gz" -C "$ldir/src/build"
	sed -i "s|$(cat "$cache/devtree.top")/|$kar_top/|g" "$ldir/src/build/Makefile"
fi

# 4. The .deb files under build/, and the packages the tests run unpacked.
if [[ $(cat "$ldir/root/.kar-hash" 2>/dev/null) != "$hash" ]]; then
	cp -n "$cache"/*.deb "$ldir"/
	rm -rf "$ldir/root"
	for pkg in frr frr-keep-all-routes frr-pythontools; do
		dpkg -x "$ldir/${pkg}_${local_ver#*:}_"*.deb "$ldir/root"
	done
	echo "$hash" >"$ldir/root/.kar-hash"
fi
echo "$local_ver" >"$ldir/.kar-version"
# A chroot line's tests run its unpacked packages in the chroot: what they
# need of the chroot's Debian.
if [[ -n $suite_root ]]; then
	in_build_root apt-get satisfy -y -q --no-install-recommends \
		"$(dpkg-deb -f "$ldir/frr_${local_ver#*:}_"*.deb Depends)" \
		python3 \
		>/dev/null || kar_die "the $suite_root chroot lacks what frr $line needs to run"
fi
kar_log "frr $line: $(cd "$ldir" && ls -- *.deb | tr '\n' ' ')"
