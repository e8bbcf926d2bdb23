#!/usr/bin/env bash
# scripts/build.sh [LINE ...]: the Debian packages of every FRR line the
# project carries (default: all of them, or KAR_LINE), each unpacked for the
# tests.  See build-frr.sh; a second run with nothing changed rebuilds
# nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || kar_die "must run as root"
bash "$kar_top/scripts/setup-host.sh"
for line in $(kar_lines_from "$@"); do
	bash "$kar_top/scripts/build-frr.sh" "$line"
done
