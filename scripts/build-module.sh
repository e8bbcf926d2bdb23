#!/usr/bin/env bash
# scripts/build-module.sh LINE [make target ...]: the module's own build
# (configure.ac, Makefile.am) against FRR LINE's tree under build/, in
# build/module-LINE: bgpd_keep_all_routes.so in .libs/, and with `check`
# (the default) the unit tests and the test-only second Adj-RIB-In
# consumer, tests/consumer/.libs/bgpd_kar_test_consumer.so.  The
# developer's loop: edit bgpd-module/, run this, run the topotests with
# KAR_MODULE_BUILD=1 (scripts/topotests.sh) -- seconds, not a package build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=${1:?usage: build-module.sh LINE [make target ...]}
shift
kar_check_line "$line"
# A chroot line's tree was configured in its chroot: build there too.
if [[ -n ${KAR_FRR_CHROOT[$line]:-} && -z ${KAR_IN_LINE_ROOT:-} ]]; then
	kar_in_line_root "$line" "$kar_top/scripts/build-module.sh" "$line" "$@"
	exit
fi
targets=("${@:-check}")
frr=$(kar_line_dir "$line")/src
out=$kar_top/build/module-$line
[[ -x $frr/build/lib/clippy ]] || kar_die "FRR $line's tree is not built (scripts/build.sh $line)"

cd "$kar_top"
if [[ ! -x configure || configure.ac -nt configure || Makefile.am -nt configure ]]; then
	PATH=$KAR_BUILD_PATH ./bootstrap.sh >/dev/null 2>&1 || kar_die "autoreconf failed (./bootstrap.sh)"
fi
mkdir -p "$out"
cd "$out"
# Configure again when configure or FRR's tree changed.
if [[ ! -f Makefile || $kar_top/configure -nt Makefile || $frr/build/Makefile -nt Makefile ]]; then
	PATH=$KAR_BUILD_PATH "$kar_top/configure" -q --with-frr="$frr" >configure.out 2>&1 ||
		{ cat configure.out; kar_die "configure failed against $frr"; }
fi
PATH=$KAR_BUILD_PATH make -s -j"$(nproc)" "${targets[@]}"
