# Shared helpers of the project's scripts (sourced, not run).  The caller
# sets nothing: every function here derives what it needs from its
# arguments and from the checkout this file lives in.

kar_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The FRR lines the project carries, newest first: the demo's default.
KAR_LINES=(10.7 10.3 8.4)

# Debian source package of each line, the suite it comes from, and the
# local version of our rebuild (Debian's version plus "+kar1").  10.7.1-3
# is the newest revision of forky's frr whose source the archive serves
# here (10.7.1-4 to -6 answer 404; docs/PATCHES.md).
declare -A KAR_FRR_VERSION=([8.4]=8.4.4-1.1~deb12u2 [10.3]=10.3-3+deb13u1 [10.7]=10.7.1-3)
declare -A KAR_FRR_SUITE=([8.4]=bookworm [10.3]=trixie [10.7]=forky)
# Lines built and tested in a chroot of their own Debian (scripts/chroot.sh)
# rather than on this Debian 12 machine: 10.7's build dependencies
# (debhelper 14, libyang 6.4, Lua 5.5, Sphinx 9) are not in Debian 12.
declare -A KAR_FRR_CHROOT=([10.7]=forky)
KAR_LOCAL_SUFFIX=+kar1
# FRR 10.x needs libyang >= 2.1.128; Debian 12 has 2.1.30, so the 10.3
# line carries Debian 13's libyang, rebuilt here as a backport would be.
KAR_LIBYANG_VERSION=3.12.2-1
KAR_LIBYANG_LOCAL=3.12.2-1~deb12+kar1

# Builds outside the clone, keyed by the hash of their inputs, so that a
# second clone on the same machine (CI) reuses them.
KAR_CACHE=${KAR_CACHE:-/var/cache/frr-keep-all-routes}

kar_log() { printf '[%s] %s\n' "${0##*/}" "$*"; }
kar_die() { printf '[%s] error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

kar_check_line() {
	[[ -n ${KAR_FRR_VERSION[$1]:-} ]] ||
		kar_die "unknown FRR line '$1' (known: ${KAR_LINES[*]})"
}

# Where a line's build and its unpacked packages live inside the clone.
kar_line_dir() { echo "$kar_top/build/frr-$1"; }
kar_line_root() { echo "$kar_top/build/frr-$1/root"; }

# The lines named on the command line (or in KAR_LINE), else all of them.
kar_lines_from() {
	local l lines=("$@")
	((${#lines[@]})) || read -ra lines <<<"${KAR_LINE:-${KAR_LINES[*]}}"
	for l in "${lines[@]}"; do kar_check_line "$l"; done
	echo "${lines[*]}"
}

# apt-get install that never starts a service: Debian's bird2, gobgpd and
# frr packages start their daemons from postinst, and this project must
# stop only what it started.  policy-rc.d is the interface invoke-rc.d
# asks; one that already exists is left alone, and the one written here
# is removed however apt ends (a subshell's EXIT trap, interrupts too).
kar_apt_install() {
	local policy=/usr/sbin/policy-rc.d
	(
		if [[ ! -e $policy ]]; then
			trap 'rm -f "$policy"' EXIT
			trap 'exit 130' INT TERM HUP
			printf '#!/bin/sh\nexit 101\n' >"$policy"
			chmod 755 "$policy"
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			-o Dpkg::Options::=--force-confold "$@"
	)
}

# Packages of "$@" that are not installed.
kar_missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			echo "$p"
	done
}

# kar_derived_sources TYPES SUITE...: apt entries (deb822) derived from this
# machine's own Debian deb entries, in sources.list.d/*.sources or
# sources.list: the same URIs and components, Types TYPES ("deb-src", "deb
# deb-src"), this release's name replaced by each SUITE; each entry once.
# No mirror is named by the project.  The project's own deb-src file
# (setup-host.sh) is not read.
kar_derived_sources() {
	local types=$1 host f s
	shift
	host=$(. /etc/os-release && echo "$VERSION_CODENAME")
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[[ -f $f && $f != */frr-keep-all-routes-src.sources ]] || continue
			for s in "$@"; do
				awk -v host="$host" -v s="$s" -v types="$types" 'BEGIN { RS=""; ORS="\n\n" }
				     /(^|\n)Types:[^\n]*deb([ \t\n]|$)/ && /debian/ {
					gsub(/Types:[^\n]*/, "Types: " types)
					gsub(host, s)
					print }' "$f"
			done
		done
		if [[ -f /etc/apt/sources.list ]]; then
			for s in "$@"; do
				awk -v host="$host" -v s="$s" -v types="$types" '$1 == "deb" && /debian/ {
					uri=$2; suite=$3; gsub(host, s, suite); $1=""; $2=""; $3=""
					printf "Types: %s\nURIs: %s\nSuites: %s\nComponents:%s\n\n", types, uri, suite, $0 }' \
					/etc/apt/sources.list
			done
		fi
	} | awk 'BEGIN { RS=""; ORS="\n\n" } !seen[$0]++'
}

# Hash of files and strings: a build is redone only when it changes.
kar_hash() {
	local a
	for a in "$@"; do
		if [[ -d $a ]]; then
			(cd "$a" && find . -type f ! -name '*~' -print0 | sort -z | xargs -0 sha256sum)
		elif [[ -f $a ]]; then
			sha256sum <"$a"
		else
			echo "$a"
		fi
	done | sha256sum | cut -c1-16
}

# Debian's own tools only, whatever the caller's PATH holds (another
# python3 first on PATH would be taken by FRR's configure), with ccache.
KAR_BUILD_PATH=/usr/lib/ccache:/usr/sbin:/usr/bin:/sbin:/bin

# Prepare FRR's topotest directory of LINE to run the project's topotests
# on the line's unpacked packages, and export what they need.  FRR's
# topotest library comes from the
# line's (patched) source tree; the daemons, vtysh, frr-reload.py and the
# module come from its packages.  Sets kar_tt to the directory to run
# pytest in (a function, not a subshell: it exports).
kar_topotest_env() {
	local line=$1 ldir root multiarch libs
	ldir=$(kar_line_dir "$line")
	root=$ldir/root
	kar_tt=$ldir/src/tests/topotests
	multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	[[ -x $root/usr/lib/frr/bgpd ]] || kar_die "FRR $line is not built (scripts/build.sh $line)"
	sed -i "s|^#\?frrdir = .*|frrdir = $root/usr/lib/frr|" "$kar_tt/pytest.ini"
	ln -sfn "$kar_top/topotests" "$kar_tt/kar"
	libs=$root/usr/lib/$multiarch/frr
	[[ $line != 10.3 ]] || libs+=:$kar_top/build/libyang/root/usr/lib/$multiarch
	export LD_LIBRARY_PATH=$libs
	export PATH=$root/usr/bin:$root/usr/lib/frr:$KAR_BUILD_PATH
	export KAR_FRR_LINE=$line
	export KAR_MODULEDIR=$root/usr/lib/$multiarch/frr/modules
	export KAR_FRR_YANG=$root/usr/share/yang
}

# What FRR's topotest library and daemons write on the machine's own tree:
# topotest makes a router's private directories with `mkdir -p` before it
# mounts a tmpfs on them in the router's mount namespace, and 8.4's and
# 10.3's daemons leave a directory in /var/tmp/frr at exit (upstream
# removes it since 10.5, 79d5b4fa71), as every daemon a test kills does;
# `ip netns add` (the benchmark's) makes /run/netns and mounts on it.
# A host line's run (and the benchmark's) mounts a tmpfs on each of these
# in its own namespace, making those that are missing first, and the last
# run out removes what the runs made (build/host-dirs.made, under
# build/host-dirs.lock).
KAR_HOST_DIRS=(/etc/frr /var/lib/frr /run/frr /run/netns /var/tmp/frr /tmp/gearlogdir)
kar_host_dirs_take() {
	local d
	mkdir -p "$kar_top/build"
	exec {kar_host_lock}>>"$kar_top/build/host-dirs.lock"
	flock -s "$kar_host_lock"
	for d in "${KAR_HOST_DIRS[@]}"; do
		[[ -e $d ]] && continue
		mkdir -p "$d"
		echo "$d" >>"$kar_top/build/host-dirs.made"
	done
}
kar_host_dirs_give() {
	local d made=$kar_top/build/host-dirs.made
	# Another run still has tmpfs mounts on them: it removes them.
	if flock -x -n "$kar_host_lock" && [[ -f $made ]]; then
		for d in $(sort -ru "$made"); do
			rmdir "$d" 2>/dev/null || [[ ! -e $d ]] ||
				kar_log "left $d: not empty"
		done
		rm -f "$made"
	fi
	exec {kar_host_lock}>&-
}

# kar_in_host_ns CMD [ARGS...]: run CMD on this machine in new mount and
# PID namespaces, with a tmpfs on each of KAR_HOST_DIRS: whatever it leaves
# (processes, mounts, files there) ends with it.  The namespace's init is a
# shell that mounts them, runs CMD as its child and reaps what is orphaned
# to it (FRR's daemons fork into the background), as chroot.sh's does.
kar_in_host_ns() {
	local rc=0
	kar_host_dirs_take
	unshare --mount --pid --fork --kill-child --mount-proc -- \
		/bin/bash -c 'while [[ $1 != -- ]]; do
			mount -t tmpfs tmpfs "$1" || exit; shift
		done; shift; rc=0; "$@" || rc=$?; exit "$rc"' kar-init \
		"${KAR_HOST_DIRS[@]}" -- "$@" || rc=$?
	kar_host_dirs_give
	return "$rc"
}

# kar_in_line_root LINE SCRIPT [ARGS...]: run SCRIPT where LINE's packages
# run, and apart from other runs: in LINE's chroot (scripts/chroot.sh) for
# a chroot line, else on this machine (kar_in_host_ns); in either case in
# new mount and PID namespaces, so that FRR's topotest library, which reaps
# every munet run's processes it sees, sees only this one's, and whatever
# the run leaves (processes, mounts) ends with it.  SCRIPT sees
# KAR_IN_LINE_ROOT=1; every exported KAR_ variable (the project's settings)
# passes into a chroot, which starts from an empty environment.
kar_in_line_root() {
	local line=$1 script=$2 v
	local -a env=(KAR_IN_LINE_ROOT=1)
	shift 2
	for v in $(compgen -e KAR_); do
		env+=("$v=${!v}")
	done
	if [[ -n ${KAR_FRR_CHROOT[$line]:-} ]]; then
		bash "$kar_top/scripts/chroot.sh" "${KAR_FRR_CHROOT[$line]}" \
			/usr/bin/env "${env[@]}" /bin/bash "$script" "$@"
	else
		kar_in_host_ns /usr/bin/env "${env[@]}" /bin/bash "$script" "$@"
	fi
}

# kar_newest_frr LINE: the newest Debian version of frr of LINE's upstream
# release in LINE's suite, its updates and security archive included (what
# `KAR_FRR_FOLLOW=1 scripts/build.sh` builds instead of KAR_FRR_VERSION).
# The lines are distinct upstream releases, so the release picks the suite.
kar_newest_frr() {
	local line=$1 v best=""
	local q='apt-get update -q >/dev/null 2>&1; apt-cache showsrc frr | sed -n "s/^Version: //p"'
	for v in $(if [[ -n ${KAR_FRR_CHROOT[$line]:-} ]]; then
		bash "$kar_top/scripts/chroot.sh" "${KAR_FRR_CHROOT[$line]}" /bin/sh -c "$q"
	else
		sh -c "$q"
	fi | grep -E "^${line//./\\.}([.~+-]|$)"); do
		if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best"; then
			best=$v
		fi
	done
	[[ -n $best ]] || kar_die "no frr $line in Debian ${KAR_FRR_SUITE[$line]}'s sources"
	echo "$best"
}
