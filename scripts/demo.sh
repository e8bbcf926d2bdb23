#!/usr/bin/env bash
# README's demo command: build what is missing, start r1 (VRF vpna) with a
# route-refresh peer and one without, enable keep-all-routes through vtysh,
# change the import policy and show the result.  KAR_DEMO_KEEP=1 (or
# --keep) leaves the topology running and prints how to attach vtysh.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

[[ ${1:-} == --keep ]] && export KAR_DEMO_KEEP=1
bash "$top/scripts/build.sh"
bdir=$(kar_build_dir)
tt=$bdir/frr/tests/topotests
sed -i "s|^#\?frrdir = .*|frrdir = $bdir/install/sbin|" "$tt/pytest.ini"
ln -sfn "$top/topotests" "$tt/kar"
export PATH="$bdir/install/bin:$bdir/install/sbin:$PATH"
cd "$tt"
mkdir -p /tmp/kar-demo
export KAR_DEMO_FD=3
if /usr/bin/python3 -m pytest -p no:cacheprovider -s -q -o log_cli=false \
	--rundir=/tmp/kar-demo kar/demo_kar.py 3>&1 >/tmp/kar-demo/demo.log 2>&1; then
	echo "== demo finished (details: /tmp/kar-demo/demo.log)"
else
	tail -30 /tmp/kar-demo/demo.log
	echo "== demo FAILED (details: /tmp/kar-demo/demo.log)"
	exit 1
fi
