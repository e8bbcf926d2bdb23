#!/usr/bin/env bash
# scripts/topotests.sh LINE [pytest args]: the project's topotests, and
# FRR's own BMP topotests (bgp_bmp/, where the line's tree has them) with
# keep_all_routes loaded beside bmp, under FRR's topotest library, on the
# unpacked packages of FRR LINE.
#
#   KAR_TESTS="kar/test_x.py ..."  picks files (default: kar/ and bgp_bmp/)
#   KAR_TOPOTEST_WORKERS=N         test files run by N pytest-xdist
#                                  workers at once (default 1: one after
#                                  the other; with three lines side by
#                                  side on 2 cores, 2 workers a line made
#                                  sessions time out)
#   KAR_MODULE_BUILD=1             loads the module `make` built in
#                                  build/module-LINE (scripts/build-module.sh)
#                                  instead of the packaged one
#
# The test-only second Adj-RIB-In consumer comes from build/module-LINE:
# scripts/build-module.sh LINE builds it (scripts/test.sh does).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=$1
shift
# Where the line's packages run (its chroot, for 10.7), in a PID namespace
# of its own: lines' runs side by side cannot reap each other's routers.
if [[ -z ${KAR_IN_LINE_ROOT:-} ]]; then
	kar_check_line "$line"
	kar_in_line_root "$line" "$kar_top/scripts/topotests.sh" "$line" "$@"
	exit
fi
kar_topotest_env "$line"
mod=$kar_top/build/module-$line
export KAR_TEST_CONSUMER=$mod/tests/consumer/.libs/bgpd_kar_test_consumer.so
if [[ ${KAR_MODULE_BUILD:-0} == 1 ]]; then
	export KAR_MODULE=$mod/.libs/bgpd_keep_all_routes.so
	[[ -f $KAR_MODULE ]] || kar_die "no $KAR_MODULE: run scripts/build-module.sh $line"
fi
# This line's run directory and peers' files, apart from other lines' runs.
export KAR_RUN_BASE=/tmp/kar-run-$line
rm -rf "$KAR_RUN_BASE"
mkdir -p "$KAR_RUN_BASE"
cd "$kar_tt"
tests=${KAR_TESTS:-kar/}
deselect=()
# FRR's BMP topotests, where the line's tree has them (not 8.4.4's).
# test_bgp_bmp_1 runs anywhere; the others build kernel VRF devices
# (`ip link add vrf1 type vrf`), which a kernel without them refuses.
if [[ -z ${KAR_TESTS:-} && -d bgp_bmp ]]; then
	if unshare -n ip link add kar-vrf-probe type vrf table 99 2>/dev/null; then
		tests+=" bgp_bmp/"
	else
		tests+=" bgp_bmp/test_bgp_bmp_1.py"
		echo "[topotests.sh] this kernel has no VRF devices: of FRR's BMP topotests only test_bgp_bmp_1.py runs"
		# 10.7's test_bgp_bmp_1 adds a VRF device too, for its VPN test.
		if grep -q 'type vrf' bgp_bmp/test_bgp_bmp_1.py; then
			deselect+=(--deselect bgp_bmp/test_bgp_bmp_1.py::test_bmp_bgp_vpn)
			echo "[topotests.sh] nor test_bgp_bmp_1.py::test_bmp_bgp_vpn (VRF device vrf1)"
		fi
	fi
fi
# FRR's BMP tests run with keep_all_routes loaded beside bmp (a plugin).
plugins=()
[[ $tests == *bgp_bmp* ]] && plugins=(-p kar.kar_beside_bmp)
# shellcheck disable=SC2086
# -v names each test as it ends; FRR's conftest then logs live at the ini's
# INFO, where 8.4's topotest library logs every vtysh command's output (the
# replay tests' 160,000 routes included): live logging at WARNING instead.
# Everything is in the run directory's exec.log.
# Files side by side (pytest-xdist, whole files to a worker: a file's tests
# share its topology): they mostly wait on timers.  Each file has its own
# routers, namespaces, run directory and peers' files.
workers=()
n=${KAR_TOPOTEST_WORKERS:-1}
((n <= 1)) || workers=(-n "$n" --dist loadfile)
exec /usr/bin/python3 -m pytest -p no:cacheprovider "${plugins[@]}" "${workers[@]}" "${deselect[@]}" \
	-v --log-cli-level=WARNING \
	-o rundir="/tmp/topotests-$line" \
	${KAR_REPORTS:+--junitxml "$KAR_REPORTS/topotests-$line.xml"} \
	$tests "$@"
