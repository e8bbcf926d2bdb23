#!/usr/bin/env bash
# README's demo command: scripts/demo.sh [--line 10.3|8.4] [--keep]
# Build what is missing, start r1 (VRF vpna) with a route-refresh peer and
# one without on the newest line's packages (FRR 10.7, in its forky
# chroot; --line for another line), enable keep-all-routes through vtysh,
# change the import policy and show the result.  --keep (or
# KAR_DEMO_KEEP=1, lines that run on this machine) leaves the topology
# running and prints how to attach vtysh.
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
if [[ -z ${KAR_IN_LINE_ROOT:-} ]]; then
	# 10.7's packages run in its chroot, whose namespaces end with the
	# demo: nothing stays up to attach to.
	[[ -z ${KAR_FRR_CHROOT[$line]:-} || -z ${KAR_DEMO_KEEP:-} ]] ||
		kar_die "--keep needs a line that runs on this machine, not $line (its chroot)"
	bash "$kar_top/scripts/build.sh" "$line"
	if [[ -n ${KAR_FRR_CHROOT[$line]:-} ]]; then
		kar_in_line_root "$line" "$kar_top/scripts/demo.sh" --line "$line"
		exit
	fi
fi
kar_topotest_env "$line"
cd "$kar_tt"
# Under the checkout, which a chroot line sees at the same path.
log=$kar_top/build/demo-$line.log
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
