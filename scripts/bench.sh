#!/usr/bin/env bash
# README's benchmark command: scripts/bench.sh [N ...]
# (default N = 250000 500000 1000000)
#
# Builds the Debian packages of every FRR line the project carries (those
# with a series under patches/, or KAR_LINE) where missing, installs what
# the benchmark needs from Debian (bird2, python3-matplotlib, linux-perf,
# valgrind), then runs bench/bench_kar.py on the unpacked packages: zebra
# and bgpd -M keep_all_routes of each line, BIRD 2 sending N prefixes, and
# BIRD 2 as the anchor receiving them.  Every scenario alternates inside
# each run; after the runs, callgrind counts what learning costs bgpd.
# Results (markdown, JSON, PNG) go to bench-results/ (git-ignored).  Every
# namespace and process it starts is named kb* and removed at the end, also
# on error; it runs in mount and PID namespaces of its own, with a tmpfs on
# the directories its daemons and `ip netns` would write on the machine
# (kar_in_host_ns, scripts/lib.sh).  Other load skews its figures: run it
# alone.
#
#   KAR_BENCH_RUNS=5         runs (the report's medians and ranges)
#   KAR_BENCH_SHOW_PEERS=8   retained peers for the `show ... keep-all-routes`
#                            timing at the largest N (0: skip it)
#   KAR_BENCH_FRR="LABEL=ROOT[,LIBDIR][,cputime=off][,hugepages=on][,sysroot=DIR][,tunables=T] ..."
#                            more FRR builds to compare (unpacked like
#                            build/frr-LINE/root)
#   KAR_BENCH_CPUTIME_OFF=1  also each line with `no service cputime-stats`
#                            (FRR 10's per-task and per-route-map CPU clock)
#   KAR_BENCH_HUGEPAGES=1    also each line with glibc.malloc.hugetlb=1 in its
#                            daemons' environment (transparent huge pages for
#                            the heap, which a kernel in `madvise` mode gives
#                            only on request)
#   KAR_BENCH_CALLGRIND_N=100000   also count the instructions bgpd executes
#                            to learn that many prefixes, native soft-
#                            reconfiguration against keep-all-routes
#                            (valgrind; 0: skip it)
#   KAR_BENCH_PEERS=1,4,16   only the policy change for P retained peers (1-90) at
#                            once, for each P listed (`clear ... * soft in`
#                            and a route-map edit, vty latency meanwhile,
#                            BIRD's `reload in` of P peers beside them)
#   KAR_BENCH_PROFILE="FRR 8.4"  also a perf profile of that build at the
#                            largest N (bench_kar.py --profile), of what
#   KAR_BENCH_PROFILE_OF=replay  names (--profile-of: replay, learn-keep,
#                            learn-soft, show, peers: `clear * soft in` for
#                            the largest P of KAR_BENCH_PEERS)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || kar_die "must run as root"

# shellcheck disable=SC2119 # the arguments are N, not lines
line_list=$(kar_lines_from)
read -ra lines <<<"$line_list"
bash "$kar_top/scripts/build.sh" "${lines[@]}"

mapfile -t need < <(kar_missing_pkgs bird2 python3-matplotlib linux-perf valgrind)
if ((${#need[@]})); then
	apt-get update -q
	kar_apt_install "${need[@]}"
fi

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
frr=()
for line in "${lines[@]}"; do
	spec="$line=$(kar_line_root "$line")"
	[[ $line != 10.3 ]] || spec+=",$kar_top/build/libyang/root/usr/lib/$multiarch"
	# A line built for another Debian (10.7: forky) runs here with the
	# loader and libraries of its chroot, in the same run as the others.
	if [[ -n ${KAR_FRR_CHROOT[$line]:-} ]]; then
		spec+=",sysroot=$(bash "$kar_top/scripts/chroot.sh" "${KAR_FRR_CHROOT[$line]}" --path)"
	fi
	frr+=(--frr "FRR $spec")
	if [[ ${KAR_BENCH_CPUTIME_OFF:-0} == 1 ]]; then
		frr+=(--frr "FRR ${spec/=/ cputime off=},cputime=off")
	fi
	if [[ ${KAR_BENCH_HUGEPAGES:-0} == 1 ]]; then
		frr+=(--frr "FRR ${spec/=/ hugepages=},hugepages=on")
	fi
done
for spec in ${KAR_BENCH_FRR:-}; do
	frr+=(--frr "$spec")
done

py=/usr/bin/python3
trap '"$py" "$kar_top/bench/bench_kar.py" --cleanup || true' EXIT
trap 'exit 130' INT TERM

(($# > 0)) || set -- 250000 500000 1000000
what=(--show-peers "${KAR_BENCH_SHOW_PEERS:-8}"
	--callgrind-learn "${KAR_BENCH_CALLGRIND_N:-100000}")
if [[ -n ${KAR_BENCH_PEERS:-} ]]; then
	what=(--only peers --peers "$KAR_BENCH_PEERS")
fi
if [[ -n ${KAR_BENCH_PROFILE:-} ]]; then
	what+=(--profile "$KAR_BENCH_PROFILE" --profile-of "${KAR_BENCH_PROFILE_OF:-replay}")
fi
start=$(date +%s)
kar_in_host_ns "$py" "$kar_top/bench/bench_kar.py" "${frr[@]}" --runs "${KAR_BENCH_RUNS:-5}" \
	"${what[@]}" --out "$kar_top/bench-results" "$@"
kar_log "benchmark finished in $(($(date +%s) - start)) s; results in $kar_top/bench-results/"
