#!/usr/bin/env bash
# README's demo command: scripts/demo.sh [--line 8.4] [--keep]
# Build what is missing, start r1 (VRF vpna) with a route-refresh peer and
# one without on FRR 10.3's packages (--line 8.4 for the other line),
# enable keep-all-routes through vtysh, change the import policy and show
# the result.  --keep (or KAR_DEMO_KEEP=1) leaves the topology running and
# prints how to attach vtysh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=${KAR_LINES[0]}
while (($#)); do
	case $1 in
	--keep) export KAR_DEMO_KEEP=1 ;;
	--line) line=${2:?--line needs one of: ${KAR_LINES[*]}}; shift ;;
	*) kar_die "usage: demo.sh [--line LINE] [--keep]" ;;
	esac
	shift
done
kar_check_line "$line"
bash "$kar_top/scripts/build.sh" "$line"
kar_topotest_env "$line"
cd "$kar_tt"
log=/tmp/kar-demo/demo.log
mkdir -p "${log%/*}"
# The narrative goes to the terminal as file descriptor 3; pytest's and the
# topotest library's logging to the log file.
export KAR_DEMO_FD=3
if /usr/bin/python3 -m pytest -p no:cacheprovider -s -q -o log_cli=false \
	--rundir=/tmp/kar-demo kar/demo_kar.py 3>&1 >"$log" 2>&1; then
	echo "== demo finished (details: $log)"
else
	tail -30 "$log"
	echo "== demo FAILED (details: $log)"
	exit 1
fi
