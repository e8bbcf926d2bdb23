#!/usr/bin/env bash
# Debian 13's libyang (3.12) rebuilt as packages for Debian 12, as a
# backport would be: FRR 10.x needs libyang >= 2.1.128 and Debian 12 has
# 2.1.30.  The packages land in build/libyang/ and in the cache outside the
# clone, keyed by the hash of what goes into them.
#
# Installing libyang3 replaces Debian 12's libyang2 (Breaks/Replaces, both
# ship /usr/share/yang/modules/libyang), and with it whatever runs on
# libyang2 here (FRR 8.4's tests).  So nothing installs it on the build
# machine: build/libyang/root holds libyang3 and libyang-dev unpacked,
# FRR 10.3 builds against that tree and its tests run with it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$kar_top/build/libyang
# What goes into the packages: lib.sh's settings by value (lib.sh also
# holds the tests' settings, which must not cost a rebuild).
hash=$(kar_hash "$KAR_LIBYANG_VERSION" "$KAR_LIBYANG_LOCAL" "$0" "path=$KAR_BUILD_PATH")
cache=$KAR_CACHE/libyang-$hash

if [[ ! -f $cache/.complete ]]; then
	bash "$kar_top/scripts/setup-host.sh"
	dl=$KAR_CACHE/dl
	mkdir -p "$dl"
	chown _apt "$dl" 2>/dev/null || true
	dsc=$dl/libyang_${KAR_LIBYANG_VERSION}.dsc
	if [[ ! -f $dsc ]]; then
		kar_log "fetching Debian source package libyang=$KAR_LIBYANG_VERSION"
		(cd "$dl" && apt-get source --download-only -q "libyang=$KAR_LIBYANG_VERSION")
	fi
	work=$KAR_CACHE/work/libyang-$hash
	rm -rf "$work"
	mkdir -p "$work"
	dpkg-source -x "$dsc" "$work/src" >/dev/null 2>&1
	(cd "$work/src" &&
		DEBFULLNAME="frr-keep-all-routes" DEBEMAIL="frr-keep-all-routes@localhost" \
			dch -b -v "$KAR_LIBYANG_LOCAL" -D bookworm --force-distribution \
			"Rebuild for Debian 12: FRR 10.x needs libyang >= 2.1.128.")
	# nodoc would leave out doc/html, which libyang-dev.install lists.
	profiles=nocheck
	kar_log "installing libyang's build dependencies"
	(cd "$work/src" && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q \
		-P "$profiles" ./ >/dev/null)
	kar_log "building libyang $KAR_LIBYANG_LOCAL"
	start=$SECONDS
	(cd "$work/src" && PATH=$KAR_BUILD_PATH \
		DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" DEB_BUILD_PROFILES="${profiles/,/ }" \
		dpkg-buildpackage -b -uc -us >"$work/build.log" 2>&1) ||
		{ tail -40 "$work/build.log"; kar_die "libyang build failed (log: $work/build.log)"; }
	kar_log "libyang built in $((SECONDS - start)) s"
	mkdir -p "$cache"
	cp "$work"/*.deb "$cache"/
	rm -f "$cache"/*-dbgsym_*.deb
	cp "$work/build.log" "$cache"/
	touch "$cache/.complete"
	rm -rf "$work"
fi

if [[ $(cat "$out/.hash" 2>/dev/null) != "$hash" ]]; then
	rm -rf "$out"
	mkdir -p "$out"
	cp "$cache"/*.deb "$out"/
	for pkg in libyang3 libyang-dev; do
		dpkg -x "$out/${pkg}_"*.deb "$out/root"
	done
	echo "$hash" >"$out/.hash"
fi
kar_log "libyang packages in $out"
