#!/usr/bin/env bash
# tests/install/run.sh LINE: the installation test of one FRR line's
# packages (test_install.py) on this machine; it leaves the machine as it
# found it.  Run by scripts/test.sh after the line's topotests.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

line=${1:?usage: run.sh LINE}
kar_check_line "$line"
[[ $(id -u) -eq 0 ]] || kar_die "must run as root"
export KAR_FRR_LINE=$line
export KAR_DEB_DIR=$(kar_line_dir "$line")
export KAR_LIBYANG_DEB_DIR=$kar_top/build/libyang
export PATH=$KAR_BUILD_PATH
cd "$kar_top/tests/install"
# shellcheck disable=SC2086
exec /usr/bin/python3 -m pytest -p no:cacheprovider -v \
	${KAR_REPORTS:+--junitxml "$KAR_REPORTS/install-$line.xml"} test_install.py
