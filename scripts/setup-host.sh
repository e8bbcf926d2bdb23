#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine (as root) for building FRR 8.4.4 from
# Debian's source package and for running the topotests.  Idempotent: a
# second run finds everything in place and changes nothing.
set -euo pipefail

stamp=/var/lib/frr-kar-host-ready
want_rev=5
if [[ -f $stamp && $(cat "$stamp") == "$want_rev" ]]; then
	exit 0
fi

[[ $(id -u) -eq 0 ]] || { echo "setup-host: must run as root" >&2; exit 1; }

# A deb-src entry derived from the machine's own deb entries (same URIs,
# suites and components), so `apt-get source frr` works without naming any
# mirror in this project.
src_list=/etc/apt/sources.list.d/frr-kar-deb-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null &&
	! grep -qs '^deb-src' /etc/apt/sources.list 2>/dev/null; then
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[[ -f $f && $f != "$src_list" ]] || continue
			awk 'BEGIN { RS=""; ORS="\n\n" }
			     /(^|\n)Types:[^\n]*deb([ \t\n]|$)/ && /debian/ {
				gsub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f"
		done
		if [[ -f /etc/apt/sources.list ]]; then
			awk '$1 == "deb" && /debian/ {
				sub(/^deb /, ""); uri=$1; suite=$2; $1=""; $2="";
				printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:%s\n\n", uri, suite, $0 }' \
				/etc/apt/sources.list
		fi
	} >"$src_list"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q

# FRR's own build dependencies plus what the topotests, the peers used in
# the tests and the module's unit tests need.
apt-get install -y -q --no-install-recommends \
	dpkg-dev devscripts quilt fakeroot patchutils \
	build-essential autoconf automake libtool pkg-config bison flex \
	texinfo python3-dev python3-sphinx \
	libjson-c-dev libreadline-dev libc-ares-dev libcap-dev libelf-dev \
	libpcre2-dev libsnmp-dev libssh-dev libyang2-dev libyang2-tools \
	libprotobuf-c-dev protobuf-c-compiler libzmq3-dev liblua5.3-dev \
	librtr-dev libunwind-dev \
	iproute2 iputils-ping procps psmisc gdb tcpdump \
	python3-pytest python3-pytest-xdist python3-scapy python3-exabgp exabgp \
	bird2 gobgpd \
	libcmocka-dev

# Debian's bird2 and gobgpd packages start system daemons we do not want.
for svc in bird bird6 gobgpd; do
	systemctl disable --now "$svc" >/dev/null 2>&1 || true
	pkill -x "$svc" >/dev/null 2>&1 || true
done

getent group frr >/dev/null || groupadd -r frr
getent group frrvty >/dev/null || groupadd -r frrvty
getent passwd frr >/dev/null ||
	useradd -r -g frr -G frrvty -d /var/run/frr -s /usr/sbin/nologin frr
usermod -a -G frrvty frr
mkdir -p /etc/frr /var/run/frr /var/log/frr
chown frr:frr /etc/frr /var/run/frr /var/log/frr

echo "$want_rev" >"$stamp"
