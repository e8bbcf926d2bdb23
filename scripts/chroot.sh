#!/usr/bin/env bash
# scripts/chroot.sh SUITE [CMD ...]: run CMD (default: a shell) as root in a
# chroot of Debian SUITE, the release a line's packages are built for and
# tested on when it is not this machine's (FRR 10.7: forky).
# scripts/chroot.sh SUITE --path: make it if needed and print its directory.
#
# The chroot is made once per machine with Debian's debootstrap into
# /var/cache/frr-keep-all-routes/chroot/SUITE-HASH (HASH of what goes into
# it: the suite, the packages, the revision of the steps below), with the packaging tools and the test peers the host has (see
# setup-host.sh), apt entries derived from this machine's own deb entries
# (same URIs, components and keyring, suite replaced; no mirror is named
# here), and users frr/frrvty.  A line's own build dependencies are added
# by build-frr.sh from its source package.
#
# CMD runs in its own mount and PID namespaces: /proc, /sys, /dev, a fresh
# /run, this checkout and the cache are mounted there at the same paths and
# vanish with the namespace, so nothing is left mounted on the host, and FRR's
# topotest library, which reaps every other munet run's processes it can
# see in /proc, sees only this run's.  The network namespace is the
# host's: topotests make their own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

suite=${1:?usage: chroot.sh SUITE [CMD ...]}
shift
[[ $suite =~ ^[a-z]+$ ]] || kar_die "bad suite '$suite'"
[[ $(id -u) -eq 0 ]] || kar_die "must run as root"

# What the chroot holds besides debootstrap's buildd variant: the tools
# build-frr.sh and the tests use, as setup-host.sh installs them on the host.
pkgs=(devscripts debian-keyring curl quilt fakeroot equivs ccache patchutils
	iproute2 iputils-ping procps psmisc kmod gdb
	python3-pytest python3-pytest-xdist python3-scapy python3-exabgp exabgp
	bird2 gobgpd libyang-tools libcmocka-dev pkg-config autoconf automake libtool)

# Bump when the steps that make the chroot change.
chroot_rev=1
hash=$(kar_hash "rev=$chroot_rev" "suite=$suite" "pkgs=${pkgs[*]}")
base=$KAR_CACHE/chroot
root=$base/$suite-$hash

# The machine's deb entries for SUITE, deb and deb-src.
suite_sources() { kar_derived_sources "deb deb-src" "$suite"; }

# enter CMD...: run CMD in the chroot, in new mount and PID namespaces.  The
# chroot becomes the namespace's root (pivot_root, not chroot), as in a
# container: a process that enters the mount namespace (nsenter, as FRR's
# topotest library does for every command on a router) lands in it too.
enter() {
	unshare --mount --propagation private --pid --fork --kill-child -- \
		/bin/bash -euc '
		r=$1 top=$2 cache=$3; shift 3
		mount --bind "$r" "$r"
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs tmpfs "$r/dev/shm"
		# /run is a tmpfs on a running Debian, empty at boot.
		mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$r/run"
		mkdir -m 1777 "$r/run/lock"
		for d in "$top" "$cache"; do
			mkdir -p "$r$d"
			mount --bind "$d" "$r$d"
		done
		mkdir -p "$r/.kar-oldroot"
		cd "$r"
		pivot_root . .kar-oldroot
		cd /
		umount -l /.kar-oldroot
		# Not exec: this shell stays the init of the namespace and reaps the
		# processes orphaned in it (daemons that fork into the background),
		# which would otherwise stay zombies that look alive to whoever
		# waits for them to exit.
		rc=0
		/usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@" || rc=$?
		exit "$rc"
		' enter "$root" "$kar_top" "$KAR_CACHE" "$@"
}

# --path: the directory alone on standard output (build-frr.sh hashes it),
# the making's messages on standard error.
if [[ ${1:-} == --path ]]; then
	exec 3>&1 >&2
fi
if [[ ! -f $root/.complete ]]; then
	mkdir -p "$base"
	exec 9>"$base/.lock-$suite"
	flock 9
fi
if [[ ! -f $root/.complete ]]; then
	command -v debootstrap >/dev/null || kar_die "debootstrap missing (scripts/setup-host.sh installs it)"
	uri=$(suite_sources | awk 'BEGIN { RS="" } !/-security/ {
		for (i = 1; i <= NF; i++) if ($i == "URIs:") { print $(i + 1); exit } }')
	[[ -n $uri ]] || kar_die "no Debian deb entry in /etc/apt/sources.list.d"
	# This suite's chroots of earlier inputs, and a half-made one, unless a
	# command still runs in one (it holds a shared lock on its .complete).
	for old in "$base/$suite"-*/; do
		[[ -d $old ]] || continue
		if [[ -f $old/.complete ]] && ! flock -xn "$old/.complete" true; then
			kar_log "leaving ${old%/}: in use"
			continue
		fi
		rm -rf --one-file-system "$old"
	done
	start=$SECONDS
	kar_log "making the $suite chroot in $root"
	# Debian 12's debootstrap knows the releases after it by sid's script.
	script=/usr/share/debootstrap/scripts/$suite
	[[ -e $script ]] || script=/usr/share/debootstrap/scripts/sid
	debootstrap --variant=buildd --components=main "$suite" "$root" "$uri" "$script" \
		>"$base/$suite-debootstrap.log" 2>&1 ||
		{ tail -20 "$base/$suite-debootstrap.log"; kar_die "debootstrap $suite failed"; }
	suite_sources >"$root/etc/apt/sources.list.d/debian.sources"
	rm -f "$root/etc/apt/sources.list"
	# What the host's apt does with Release files past their Valid-Until,
	# the chroot's does too.
	apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' \
		>"$root/etc/apt/apt.conf.d/99frr-keep-all-routes" || true
	# Packages' maintainer scripts start no service in the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	enter /bin/sh -ec '
		apt-get update -q
		apt-get install -y -q --no-install-recommends "$@"
		getent group frr >/dev/null || groupadd -r frr
		getent group frrvty >/dev/null || groupadd -r frrvty
		getent passwd frr >/dev/null ||
			useradd -r -g frr -G frrvty -d /nonexistent -s /usr/sbin/nologin frr
		usermod -a -G frrvty frr' sh "${pkgs[@]}" >>"$base/$suite-debootstrap.log" 2>&1 ||
		{ tail -20 "$base/$suite-debootstrap.log"; kar_die "$suite chroot: package installation failed"; }
	touch "$root/.complete"
	kar_log "$suite chroot ready in $((SECONDS - start)) s"
fi
exec 9>&-

if [[ ${1:-} == --path ]]; then
	echo "$root" >&3
	exit 0
fi
(($#)) || set -- /bin/bash
# A shared lock for as long as the command runs: a newer chroot's making
# does not delete this one under it.
exec 8<"$root/.complete"
flock -s 8
enter "$@"
