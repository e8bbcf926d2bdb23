#!/usr/bin/env bash
# Prepare a Debian 12 machine (as root) for building the project's Debian
# packages and running its tests: deb-src entries, the tools, the test
# peers, users frr/frrvty.  Each line's own build dependencies are
# installed by scripts/build-frr.sh from its source package.  Idempotent:
# a second run finds everything in place and changes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

stamp=/var/lib/frr-keep-all-routes/host-ready
want_rev=8
[[ -f $stamp && $(cat "$stamp") == "$want_rev" ]] && exit 0
[[ $(id -u) -eq 0 ]] || kar_die "must run as root"

# deb-src entries derived from the machine's own deb entries (same URIs and
# components), for this release and for every suite a line's source comes
# from, so that `apt-get source` works without naming any mirror here.
host_suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
src_list=/etc/apt/sources.list.d/frr-keep-all-routes-src.sources
# (A chroot line's source is fetched in its chroot, scripts/chroot.sh.)
suites=$host_suite
for l in "${KAR_LINES[@]}"; do
	[[ -n ${KAR_FRR_CHROOT[$l]:-} ]] || suites+=$'\n'${KAR_FRR_SUITE[$l]}
done
suites=$(sort -u <<<"$suites" | tr '\n' ' ')
# shellcheck disable=SC2086
kar_derived_sources deb-src $suites >"$src_list.new"
mv "$src_list.new" "$src_list"
# An earlier revision of this script wrote the host's entries alone.
rm -f /etc/apt/sources.list.d/frr-kar-deb-src.sources

apt-get update -q
# Packaging tools, the topotests' needs, the peers they test against, the
# module's unit tests, the guest tier's virtual machines.
kar_apt_install \
	dpkg-dev devscripts libdistro-info-perl quilt fakeroot equivs ccache patchutils \
	iproute2 iputils-ping procps psmisc gdb tcpdump valgrind \
	python3-pytest python3-pytest-xdist python3-scapy python3-exabgp exabgp \
	bird2 gobgpd libyang2-tools \
	libcmocka-dev pkg-config \
	qemu-system-x86 debootstrap busybox-static cpio

getent group frr >/dev/null || groupadd -r frr
getent group frrvty >/dev/null || groupadd -r frrvty
getent passwd frr >/dev/null ||
	useradd -r -g frr -G frrvty -d /nonexistent -s /usr/sbin/nologin frr
usermod -a -G frrvty frr

mkdir -p "$(dirname "$stamp")"
echo "$want_rev" >"$stamp"
