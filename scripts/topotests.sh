#!/usr/bin/env bash
# scripts/topotests.sh LINE [pytest args]: the project's topotests under
# FRR's topotest library, on the unpacked packages of FRR LINE.
# KAR_TESTS="kar/test_x.py ..." picks files.  The default is every file
# of topotests/ but the long ones (KAR_LONG_TESTS), which KAR_LONG=1 adds:
# test_kar_replay.py sets up 160,000 routes behind a 10,000-line
# access-list (about 13 minutes before its first test) and three of its
# checks that a fault landed inside a replay no longer hold now that the
# replay is linear (README, "Tests").
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=$1
shift
kar_topotest_env "$line"
cd "$kar_tt"
KAR_LONG_TESTS=(kar/test_kar_replay.py)
skip=()
if [[ -z ${KAR_TESTS:-} && ${KAR_LONG:-0} == 0 ]]; then
	for t in "${KAR_LONG_TESTS[@]}"; do skip+=(--ignore="$t"); done
fi
# shellcheck disable=SC2086
exec /usr/bin/python3 -m pytest -p no:cacheprovider -v -o log_cli=false \
	"${skip[@]}" ${KAR_TESTS:-kar/} "$@"
