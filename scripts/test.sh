#!/usr/bin/env bash
# README's test command: build what is missing, then run every test (the C
# unit tests of the module's rules, then the topotests).  Extra arguments go
# to pytest (e.g. -k spec1, -x); KAR_TESTS=kar/test_x.py picks one file.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

bash "$top/scripts/build.sh"
bdir=$(kar_build_dir)
prefix=$bdir/install

echo "== unit tests (cmocka)"
make -C "$bdir/module" -s check || { cat "$bdir/module/test-suite.log"; exit 1; }
"$bdir/module/tests/unit/test_kar_rules"

echo "== topotests"
tt=$bdir/frr/tests/topotests
sed -i "s|^#\?frrdir = .*|frrdir = $prefix/sbin|" "$tt/pytest.ini"
ln -sfn "$top/topotests" "$tt/kar"
export PATH="$prefix/bin:$prefix/sbin:$PATH"
cd "$tt"
exec /usr/bin/python3 -m pytest -p no:cacheprovider -v -o log_cli=false ${KAR_TESTS:-kar/} "$@"
