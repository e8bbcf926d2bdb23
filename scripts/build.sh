#!/usr/bin/env bash
# Build FRR 8.4.4 (Debian 12's source package, Debian's patches, then
# patches/series) and the keep-all-routes module, and install both under
# build/install.  Every step is guarded by a stamp so that a second run with
# nothing changed downloads nothing and rebuilds nothing.
#
#   KAR_SANITIZE=address   build FRR and the module with ASan+LSan into
#                          build-asan/ instead of build/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

frr_version=8.4.4-1.1~deb12u2
bdir=$(kar_build_dir)
dl=$top/build/dl
pristine=$top/build/frr-debian
src=$bdir/frr
prefix=$bdir/install
jobs=$(nproc)

mkdir -p "$bdir" "$dl"
bash "$top/scripts/setup-host.sh"

log() { printf '[build] %s\n' "$*"; }

# 1. Source package, downloaded once.
if ! ls "$dl"/frr_*.dsc >/dev/null 2>&1; then
	log "fetching Debian source package frr=$frr_version"
	(cd "$dl" && apt-get source --download-only -q "frr=$frr_version")
fi

# 2. Debian's patches applied by dpkg-source into a pristine tree, once.
if [[ ! -f $pristine/.kar-extracted ]]; then
	rm -rf "$pristine"
	log "extracting with Debian's patches"
	dpkg-source -x "$dl"/frr_*.dsc "$pristine" >/dev/null
	touch "$pristine/.kar-extracted"
fi

# 3. Working tree = pristine + our series.  When the series changes, only
#    the files it touches are restored and patched again, so make rebuilds
#    just what depends on them.
if [[ ! -f $src/.kar-copied ]]; then
	rm -rf "$src"
	cp -a "$pristine" "$src"
	rm -f "$src/.kar-extracted"
	touch "$src/.kar-copied"
fi
series_hash=$(cd "$top/patches" && cat series $(grep -v '^#' series) | sha256sum | cut -c1-16)
if [[ $(cat "$src/.kar-series" 2>/dev/null) != "$series_hash" ]]; then
	log "applying patches/series"
	if [[ -f $src/.kar-patched-files ]]; then
		while read -r f; do
			if [[ -f $pristine/$f ]]; then cp "$pristine/$f" "$src/$f"; else rm -f "$src/$f"; fi
		done <"$src/.kar-patched-files"
	fi
	: >"$src/.kar-patched-files.new"
	while read -r p; do
		[[ -z $p || $p == \#* ]] && continue
		patch -d "$src" -p1 -s --no-backup-if-mismatch -F0 <"$top/patches/$p"
		lsdiff --strip=1 "$top/patches/$p" >>"$src/.kar-patched-files.new"
	done <"$top/patches/series"
	sort -u "$src/.kar-patched-files.new" >"$src/.kar-patched-files"
	rm -f "$src/.kar-patched-files.new"
	echo "$series_hash" >"$src/.kar-series"
fi

# 4. Configure once (again only if the options change).
conf_opts=(
	--prefix="$prefix"
	--sysconfdir=/etc/frr --localstatedir=/var/run/frr
	--enable-user=frr --enable-group=frr --enable-vty-group=frrvty
	--enable-multipath=64 --enable-pim6d
	--disable-doc --disable-ldpd --disable-nhrpd --disable-eigrpd
	--disable-babeld --disable-vrrpd --disable-pathd --disable-bfdd
	--disable-fabricd --disable-snmp --disable-rpki --disable-scripting
	--enable-sharpd
)
cflags="-g -O2"
if [[ ${KAR_SANITIZE:-} == address ]]; then
	conf_opts+=(--enable-address-sanitizer)
	cflags="-g -O1 -fno-omit-frame-pointer"
fi
conf_hash=$(printf '%s\n' "${conf_opts[@]}" "$cflags" | sha256sum | cut -c1-16)
if [[ ! -f $src/config.status || $(cat "$src/.kar-configured" 2>/dev/null) != "$conf_hash" ]]; then
	log "configuring FRR"
	(cd "$src" && { [[ -x configure ]] || ./bootstrap.sh >/dev/null; } &&
		CFLAGS="$cflags" ./configure -q "${conf_opts[@]}")
	echo "$conf_hash" >"$src/.kar-configured"
fi

# 5. Build.  vtysh must know the module's commands, so the module's command
#    files are handed to vtysh's extract.pl through a directory named bgpd/
#    (extract.pl picks the daemon from the directory name).
scan_dir=$bdir/vtysh-scan
mkdir -p "$scan_dir"
ln -sfn "$top/bgpd-module" "$scan_dir/bgpd"
vtysh_extra=$(kar_vtysh_scan_files "$scan_dir/bgpd")
log "building FRR (make -j$jobs)"
make -C "$src" -j"$jobs" -s VTYSH_EXTRA_SCAN="$vtysh_extra" >"$bdir/make.log" 2>&1 ||
	{ tail -40 "$bdir/make.log"; exit 1; }
if [[ ! -f $prefix/.kar-installed ]] ||
	[[ -n $(find "$src" -newer "$prefix/.kar-installed" \( -name '*.so*' -o -perm -u+x \) -type f \
		-path '*/.libs/*' -print -quit) ]] ||
	[[ -n $(find "$src/vtysh" -newer "$prefix/.kar-installed" -name vtysh -type f -print -quit) ]]; then
	log "installing FRR into $prefix"
	make -C "$src" -s install VTYSH_EXTRA_SCAN="$vtysh_extra" >>"$bdir/make.log" 2>&1 ||
		{ tail -40 "$bdir/make.log"; exit 1; }
	touch "$prefix/.kar-installed"
fi

# 6. The module, with the project's own autotools, against that tree.
mbuild=$bdir/module
if [[ ! -f $top/configure || $top/configure.ac -nt $top/configure || $top/Makefile.am -nt $top/Makefile.in ]]; then
	log "autoreconf (module)"
	(cd "$top" && autoreconf -fi >"$bdir/autoreconf.log" 2>&1) || { cat "$bdir/autoreconf.log"; exit 1; }
fi
mkdir -p "$mbuild"
if [[ ! -f $mbuild/config.status || $top/configure -nt $mbuild/config.status ]]; then
	log "configuring the module"
	(cd "$mbuild" && CFLAGS="$cflags" "$top/configure" -q --with-frr-source="$src" \
		--with-frr-prefix="$prefix" ${KAR_SANITIZE:+--enable-sanitize=$KAR_SANITIZE})
fi
make -C "$mbuild" -s -j"$jobs" >"$bdir/module-make.log" 2>&1 || { cat "$bdir/module-make.log"; exit 1; }
make -C "$mbuild" -s install >>"$bdir/module-make.log" 2>&1 || { cat "$bdir/module-make.log"; exit 1; }
log "done: FRR and bgpd_keep_all_routes.so in $prefix"
