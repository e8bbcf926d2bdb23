#!/usr/bin/env bash
# README's test command: build what is missing, then run every test: the
# module's unit tests once, then per FRR line the topotests on the line's
# packages and the installation test of those packages.  Extra arguments
# go to pytest (e.g. -k spec1, -x); KAR_TESTS="kar/test_x.py ..." picks
# topotest files, KAR_LINE="10.3" picks lines, KAR_INSTALL_TEST=0 skips
# the installation tests.  Exits non-zero when any test fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lines=$(kar_lines_from)
# pytest's JUnit reports of this run, for the failed tests' names
export KAR_REPORTS=$kar_top/build/test-reports
rm -rf "$KAR_REPORTS"
mkdir -p "$KAR_REPORTS"
failed=()
summary=()
step() { # step NAME COMMAND...: run, time and record one part
	local name=$1 start=$SECONDS rc=0
	shift
	echo "== $name ($(date -u +%H:%M:%S))"
	"$@" || rc=$?
	summary+=("$(printf '%-34s %s  %4d s' "$name" "$( ((rc)) && echo FAIL || echo ok)" $((SECONDS - start)))")
	((rc == 0)) || failed+=("$name")
}

step "build, FRR $lines" bash "$kar_top/scripts/build.sh" $lines
((${#failed[@]} == 0)) || { printf '%s\n' "${summary[@]}"; exit 1; }
for line in $lines; do
	# The module's own build against the line's tree (configure, make):
	# the unit tests and the tests' second Adj-RIB-In consumer.
	step "module build + unit tests, FRR $line" bash "$kar_top/scripts/build-module.sh" "$line"
done
for line in $lines; do
	step "topotests, FRR $line" bash "$kar_top/scripts/topotests.sh" "$line" "$@"
	if [[ ${KAR_INSTALL_TEST:-1} != 0 ]]; then
		step "installation test, FRR $line" bash "$kar_top/tests/install/run.sh" "$line"
	fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
((${#failed[@]} == 0)) || {
	shopt -s nullglob
	/usr/bin/python3 "$kar_top/scripts/failed_tests.py" "$KAR_REPORTS"/*.xml
	echo "FAILED: ${failed[*]}"
	exit 1
}
