#!/usr/bin/env bash
# scripts/topotests.sh LINE [pytest args]: the project's topotests under
# FRR's topotest library, on the unpacked packages of FRR LINE.
# KAR_TESTS="kar/test_x.py ..." picks files; the default is every file of
# topotests/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=$1
shift
kar_topotest_env "$line"
cd "$kar_tt"
# shellcheck disable=SC2086
exec /usr/bin/python3 -m pytest -p no:cacheprovider -v -o log_cli=false \
	${KAR_REPORTS:+--junitxml "$KAR_REPORTS/topotests-$line.xml"} \
	${KAR_TESTS:-kar/} "$@"
