#!/usr/bin/env bash
# README's benchmark command: scripts/bench.sh [N ...]   (default 100000 1000000)
#
# Builds what is missing, installs what the benchmark needs from Debian
# (bird2, python3-matplotlib, linux-perf), then runs bench/bench_kar.py: FRR's
# zebra and bgpd -M keep_all_routes in network namespace kbr1 (VRF kbvpna is
# a netns), BIRD 2 in kbpeer sending N prefixes.  Results (markdown, JSON,
# PNG, perf reports) go to bench-results/ (git-ignored).  Every namespace and
# process it starts is named kb* and removed at the end, also on error.
#
#   KAR_BENCH_RUNS=3        runs per scenario (median reported)
#   KAR_BENCH_PROFILE=0     skip the perf profile of the largest N
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

[[ $(id -u) -eq 0 ]] || { echo "bench: must run as root" >&2; exit 1; }

bdir=$(kar_build_dir)
if [[ ! -x $bdir/install/sbin/bgpd || ! -x $bdir/install/sbin/zebra ||
	! -f $bdir/install/lib/frr/modules/bgpd_keep_all_routes.so ]]; then
	bash "$top/scripts/build.sh"
fi
# users frr/frrvty and the host packages, as for the tests (idempotent)
bash "$top/scripts/setup-host.sh"

# What only the benchmark needs, installed the way setup-host.sh installs.
export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in bird2 python3-matplotlib linux-perf; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		need+=("$pkg")
done
if ((${#need[@]})); then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${need[@]}"
	if [[ " ${need[*]} " == *" bird2 "* ]]; then
		# Debian's bird2 starts a system daemon we do not want.
		systemctl disable --now bird >/dev/null 2>&1 || true
	fi
fi

py=/usr/bin/python3
trap '"$py" "$top/bench/bench_kar.py" --cleanup || true' EXIT
trap 'exit 130' INT TERM

args=(--runs "${KAR_BENCH_RUNS:-3}" --out "$top/bench-results" --frr "$bdir/install")
[[ ${KAR_BENCH_PROFILE:-1} == 0 ]] || args+=(--profile)
(($# > 0)) || set -- 100000 1000000

start=$(date +%s)
"$py" "$top/bench/bench_kar.py" "${args[@]}" "$@"
echo "== benchmark finished in $(($(date +%s) - start)) s; results in $top/bench-results/"
