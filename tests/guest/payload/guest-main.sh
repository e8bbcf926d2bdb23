#!/bin/bash
# The guest tier's payload, run inside the guest by kar-guest-init with the
# host's share on /kar (tests/guest/run.sh fills it): the line's .deb files
# in /kar/debs, the tests, and /kar/env.  Results go to /kar/out.
set -u
cd /kar || exit 1
. /kar/env
export KAR_LINE PYTHONDONTWRITEBYTECODE=1 PAGER=cat VTYSH_PAGER=cat
up() { cut -d' ' -f1 /proc/uptime; }
echo "boot_seconds=$(up)" >/kar/out/times
# A throwaway guest: dpkg need not fsync every file it unpacks.
echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/kar-guest-unsafe-io
rm -rf /root/debs
cp -r /kar/debs /root/debs
start=$(up)
python3 -m pytest -v -p no:cacheprovider -o junit_family=xunit1 \
	--junitxml=/kar/out/guest.xml test_guest.py 2>&1 | tee /kar/out/pytest.log
rc=${PIPESTATUS[0]}
echo "tests_seconds=$(awk -v a="$start" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }')" >>/kar/out/times
exit "$rc"
