#!/usr/bin/env bash
# README's test command: build what is missing, then run every test: per
# FRR line the module's own build with its unit tests, the topotests on the
# line's packages, and the guest tier (the packages installed in a virtual
# machine of the line's Debian).  Extra arguments go to pytest (e.g. -k
# spec1, -x); KAR_TESTS="kar/test_x.py ..." picks topotest files,
# KAR_LINE="10.3" picks lines, KAR_GUEST_TEST=0 skips the guest tier,
# KAR_PARALLEL=0 runs the lines' topotests one after the other.  Exits
# non-zero when any test fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lines=$(kar_lines_from)
# pytest's JUnit reports of this run, for the failed tests' names, and the
# logs of the parts that run side by side
export KAR_REPORTS=$kar_top/build/test-reports
logs=$kar_top/build/test-logs
rm -rf "$KAR_REPORTS" "$logs"
mkdir -p "$KAR_REPORTS" "$logs"
failed=()
summary=()
record() { # record NAME RC SECONDS
	summary+=("$(printf '%-40s %s  %4d s' "$1" "$( (($2)) && echo FAIL || echo ok)" "$3")")
	(($2 == 0)) || failed+=("$1")
}
step() { # step NAME COMMAND...: run, time and record one part
	local name=$1 start=$SECONDS rc=0
	shift
	echo "== $name ($(date -u +%H:%M:%S))"
	"$@" || rc=$?
	record "$name" $rc $((SECONDS - start))
}
side_by_side() { # side_by_side "LINES" NAME LOG SCRIPT [ARGS...]: bash SCRIPT
	# LINE ARGS... for every line of LINES at once, each into
	# $logs/LOG-LINE.log; each log is printed whole when its run ends, and
	# the run recorded as "NAME, FRR LINE".
	local part_lines=$1 name=$2 log=$3 line rc
	local -A pid=() start=()
	shift 3
	for line in $part_lines; do
		echo "== $name, FRR $line ($(date -u +%H:%M:%S)): log $logs/$log-$line.log"
		start[$line]=$SECONDS
		bash "$1" "$line" "${@:2}" >"$logs/$log-$line.log" 2>&1 &
		pid[$line]=$!
	done
	for line in $part_lines; do
		rc=0
		wait "${pid[$line]}" || rc=$?
		echo "== $name, FRR $line: exit $rc after $((SECONDS - start[$line])) s"
		cat "$logs/$log-$line.log"
		record "$name, FRR $line" $rc $((SECONDS - start[$line]))
	done
}

step "build, FRR $lines" bash "$kar_top/scripts/build.sh" $lines
((${#failed[@]} == 0)) || { printf '%s\n' "${summary[@]}"; exit 1; }
for line in $lines; do
	# The module's own build against the line's tree (configure, make):
	# the unit tests and the tests' second Adj-RIB-In consumer.
	step "module build + unit tests, FRR $line" bash "$kar_top/scripts/build-module.sh" "$line"
done

# The lines' topotests side by side: they mostly wait on timers.  Each
# line's run has its own run directory, peers' files and log, and runs in
# PID and mount namespaces of its own (scripts/topotests.sh; 10.7's in its
# forky chroot), so that 10.x's topotest library, which reaps the processes
# of every other munet run it can see, sees only its own.  Each log is
# printed whole when its run ends.
if [[ ${KAR_PARALLEL:-1} != 0 ]]; then
	side_by_side "$lines" topotests topotests "$kar_top/scripts/topotests.sh" "$@"
else
	for line in $lines; do
		step "topotests, FRR $line" bash "$kar_top/scripts/topotests.sh" "$line" "$@"
	done
fi

# The guest tier (tests/guest/run.sh): each line's packages installed,
# run and purged in a virtual machine of the line's own Debian, where the
# router of the vendor's example (an MPLS L3VPN PE with VRF devices) is
# tested; this machine's packages are not touched.  The lines' guests run
# side by side (one emulated CPU each), after the topotests.
if [[ ${KAR_GUEST_TEST:-1} != 0 ]]; then
	side_by_side "$lines" "guest tier" guest "$kar_top/tests/guest/run.sh"
fi

echo "== summary"
printf '%s\n' "${summary[@]}"
((${#failed[@]} == 0)) || {
	shopt -s nullglob
	/usr/bin/python3 "$kar_top/scripts/failed_tests.py" "$KAR_REPORTS"/*.xml
	echo "FAILED: ${failed[*]}"
	exit 1
}
