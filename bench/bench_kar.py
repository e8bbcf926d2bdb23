#!/usr/bin/python3
"""Benchmark of `peer keep-all-routes`: what bgpd spends to learn N
prefixes, to enable retention, and to apply a changed import policy from
the stored routes, by ROUTE-REFRESH or by a reset, next to BIRD 2 replaying
the same change from its import table, on the same machine in the same run.

A run does every scenario once at every N for every FRR build, alternating
them inside the run; the report gives the median with min and max over the
runs and ratios paired inside each run (kb_report).  The topology is
kb_topo's, the scenarios kb_scenarios', the clients kb_proc's.

Usage (as root): bench_kar.py --frr LABEL=ROOT[,LIBDIR...] [--frr ...]
                              [--runs 5] [--out DIR] [--show-peers 8]
                              [--profile LABEL] [--callgrind-learn N]
                              N [N ...]
                 bench_kar.py --only peers --peers 1,4,16 --frr ... N [N ...]
                 bench_kar.py --cleanup
"""

import argparse
import datetime
import os
import platform
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kb_callgrind  # noqa: E402
import kb_peers  # noqa: E402
import kb_report  # noqa: E402
from kb_proc import CpuMeter, cleanup, log  # noqa: E402
from kb_scenarios import FrrProbe, Round, poll_cost, rotated  # noqa: E402
from kb_topo import (MAX_N, MAX_PEERS, NAMESPACES, RUN_DIRS, Frr,  # noqa
                     Topology)

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def frr_block(rd, frr, order, only):
    """Every FRR scenario of one build at one N, the three retention modes
    in the given order, each on a fresh bgpd ("replay" in only: learn and
    the replay from the stored routes, and with "rr" the same policy change
    by ROUTE-REFRESH, nothing else; "learn": only learning, in every
    mode)."""
    rec = {}
    short = "replay" in only
    for mode in order:
        if short and not (mode == "keep" or (mode == "none" and "rr" in only)):
            continue
        rec["learn_" + mode] = rd.learn(frr, mode)
        if mode == "keep":
            rec["poll_cost"] = poll_cost(FrrProbe(rd.topo),
                                         ["summary", "memory"])
        if "learn" in only:
            continue
        if mode == "keep":
            rec["show_keep"] = rd.show_keep()
            rec["policy_stored"] = rd.policy("stored")
        elif mode == "soft":
            rec["policy_stored_native"] = rd.policy("stored")
        else:
            rec["policy_rr"] = rd.policy("route-refresh")
            if short:
                continue
            rec["policy_reset"] = rd.policy("hard-reset")
            rec["enable_rr"] = rd.enable()
    return rec


def one_run(topo, frrs, ns, index, only):
    order = rotated(["keep", "soft", "none"], index)
    builds = rotated(frrs, index)
    run = {"index": index, "order": order,
           "builds": [f.label for f in builds], "n": {}}
    for n in ns:
        log("run %d, N=%d: %s, %s" % (index + 1, n, run["builds"], order))
        topo.start_sender(n)
        rd = Round(topo, n)
        at = run["n"][str(n)] = {"frr": {}}
        for frr in builds:
            at["frr"][frr.label] = frr_block(rd, frr, order, only)
            log("  %s: %s" % (frr.label, brief(at["frr"][frr.label])))
        if "bird" in only:
            rd.bird_wait_full()
            at["bird_poll_cost"] = rd.bird_poll_cost()
            at["bird_reload"] = rd.bird_reload()
            log("  bird: %s" % at["bird_reload"])
        if "replay" in only or "learn" in only:
            continue
        # the reset path: the same peer without route refresh
        topo.reconfigure_sender(n, rr=False, peers=1)
        for frr in builds:
            topo.start_bgpd(frr, "none", shutdown=False)
            rd.wait_full(0)
            at["frr"][frr.label]["enable_reset"] = rd.enable()
        topo.stop_bgpd()
    return run


def brief(rec):
    return ", ".join("%s %.2f" % (k, v["cpu_s"]) for k, v in rec.items()
                     if isinstance(v, dict) and "cpu_s" in v)


def wait_quiet(limit, timeout):
    """Wait (bounded) for the 1-minute load average to drop to limit."""
    end = time.monotonic() + timeout
    while os.getloadavg()[0] > limit and time.monotonic() < end:
        time.sleep(5)
    return os.getloadavg()[0]


def measured_run(topo, frrs, ns, index, only, limit, peer_counts):
    load0 = os.getloadavg()[0]
    busy0, own0 = CpuMeter.machine_busy_s(), topo.own_cpu_s()
    bench0 = sum(os.times()[:4])
    t0 = time.monotonic()
    if "peers" in only:
        run = kb_peers.peers_run(topo, frrs, ns, peer_counts, index)
    else:
        run = one_run(topo, frrs, ns, index, only)
    wall = time.monotonic() - t0
    others = ((CpuMeter.machine_busy_s() - busy0) - (topo.own_cpu_s() - own0)
              - (sum(os.times()[:4]) - bench0)) / wall
    run.update({"loadavg_start": load0, "loadavg_end": os.getloadavg()[0],
                "others_cores": round(max(others, 0.0), 3),
                "wall_s": round(wall, 1)})
    # The load at a run's end is mostly its own work (bgpd learning 1M
    # routes keeps a core busy for seconds), so it is recorded, not judged:
    # a run is flagged when the machine was loaded as it began, or when the
    # rest of the machine took more than half the limit while it ran.
    run["flagged"] = (run["loadavg_start"] > limit
                      or run["others_cores"] > limit / 2)
    log("run %d: %.0f s, load %.2f -> %.2f, others %.2f cores%s"
        % (index + 1, wall, load0, run["loadavg_end"], run["others_cores"],
           " FLAGGED" if run["flagged"] else ""))
    return run


def show_peers(topo, frrs, n, peers, reps):
    """`show bgp vrf all keep-all-routes json` on a bgpd retaining the
    full table of `peers` peers."""
    out = {"n": n, "peers": peers, "frr": {}}
    topo.start_sender(n, peers=peers)
    rd = Round(topo, n)
    for frr in frrs:
        rd.many_peers(frr, peers)
        out["frr"][frr.label] = rd.show_keep(reps)
        log("show, %d peers, %s: %s" % (peers, frr.label,
                                        out["frr"][frr.label]))
        topo.stop_bgpd()
    return out


PROFILE_OF = ("replay", "learn-keep", "learn-soft", "show", "peers")


def profile(topo, frr, n, outdir, callgraph, what, peers):
    """perf record of one policy change from the stored routes (replay),
    of learning N prefixes in a retention mode (learn-keep, learn-soft)
    or of five `show bgp vrf all keep-all-routes json` with peers
    retained peers (show), or of `clear ... * soft in` with peers retained
    peers (peers); call graphs by frame pointers, or dwarf for builds
    without them."""
    rd = Round(topo, n)
    if what == "peers":
        topo.start_rx(peers)
    topo.start_sender(n, peers=peers if what in ("show", "peers") else 1)
    data = os.path.join(outdir, "perf-%s-%s-%d.data" % (frr.label, what, n))
    perf = None

    def start():
        nonlocal perf
        perf = subprocess.Popen(["perf", "record", "--call-graph",
                                 callgraph, "-F", "999", "-p",
                                 str(topo.bgpd_pid), "-o", data],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(1.0)

    def stop():
        if perf and perf.poll() is None:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=120)
    try:
        if what == "replay":
            rd.learn(frr, "keep")
            start()
            r = rd.policy("stored", done=stop)
        elif what == "show":
            rd.many_peers(frr, peers)
            start()
            r = rd.show_keep(5)
        elif what == "peers":
            prd = kb_peers.PeersRound(topo, n, peers)
            prd.learn(frr)
            start()
            r = prd.change("clear", done=stop)
        else:
            r = rd.learn(frr, what.split("-", 1)[1], before=start)
    finally:
        stop()
    txt = data[:-5] + ".txt"
    with open(txt, "w") as f:
        f.write("# perf record --call-graph %s -F 999 -p <bgpd>: %s, "
                "N=%d (%s)\n" % (callgraph, what, n, r))
        f.flush()
        subprocess.run(["perf", "report", "-i", data, "--stdio",
                        "--no-children", "--sort", "dso,symbol", "-g",
                        "none", "--percent-limit", "0.1"], stdout=f,
                       stderr=subprocess.DEVNULL, timeout=600)
    topo.stop_bgpd()
    return {"what": what, "run_under_perf": r, "report": txt}


def host_info():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    bird = subprocess.run(["bird", "--version"], capture_output=True,
                          text=True)
    return {"cores": os.cpu_count(), "cpu": cpu, "mem_mib": mem,
            "kernel": platform.release(),
            "bird": (bird.stdout + bird.stderr).strip()}


FRR_SPEC = ("--frr LABEL=ROOT[,LIBDIR...][,cputime=off][,hugepages=on]"
            "[,sysroot=DIR][,tunables=NAME=VALUE[:NAME=VALUE...]]")
OPTIONS = ("cputime=off", "hugepages=on")


def parse_frr(spec):
    label, _, rest = spec.partition("=")
    if not rest:
        raise argparse.ArgumentTypeError(FRR_SPEC)
    root, *libdirs = rest.split(",")
    opts = [d for d in libdirs if "=" in d]
    valued = {}
    for key in ("sysroot", "tunables"):
        vals = [o.partition("=")[2] for o in opts if o.startswith(key + "=")]
        if len(vals) > 1 or "" in vals:
            raise argparse.ArgumentTypeError(FRR_SPEC)
        valued[key] = vals[0] if vals else None
    opts = [o for o in opts if o.partition("=")[0] not in valued]
    if any(o not in OPTIONS for o in opts) or len(set(opts)) != len(opts):
        raise argparse.ArgumentTypeError(FRR_SPEC)
    libdirs = [d for d in libdirs if "=" not in d]
    return Frr(label, root, libdirs, cputime_stats="cputime=off" not in opts,
               hugepages="hugepages=on" in opts, **valued)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="*", type=int)
    ap.add_argument("--frr", action="append", type=parse_frr, default=[],
                    help="a build to measure; cputime=off starts its bgpd "
                    "with `no service cputime-stats`; hugepages=on starts "
                    "its daemons with glibc.malloc.hugetlb=1, tunables=T with "
                    "GLIBC_TUNABLES=T (and the hugetlb one); sysroot=DIR "
                    "runs its daemons with the loader and libraries of "
                    "the Debian unpacked in DIR")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reruns", type=int, default=3,
                    help="extra runs at most, to replace flagged ones")
    ap.add_argument("--out", default=os.path.join(TOP, "bench-results"))
    ap.add_argument("--only", default="bird",
                    help="bird: with the BIRD anchor; replay: only learn "
                    "and replay from the stored routes; rr: with replay, "
                    "also the ROUTE-REFRESH path; learn: only learning, "
                    "in every retention mode; peers: only the policy "
                    "change for --peers retained peers at once, with BIRD")
    ap.add_argument("--peers", default="1,4,16",
                    help="with --only peers: the peer counts P (at most %d)"
                    % MAX_PEERS)
    ap.add_argument("--show-peers", type=int, default=0)
    ap.add_argument("--show-reps", type=int, default=5)
    ap.add_argument("--profile", default=None, metavar="LABEL",
                    help="perf-profile this build at max N (--profile-of)")
    ap.add_argument("--profile-of", default="replay", choices=PROFILE_OF,
                    help="what --profile records")
    ap.add_argument("--profile-callgraph", default="fp",
                    help="perf's --call-graph mode (fp, dwarf)")
    ap.add_argument("--callgrind-learn", type=int, default=0, metavar="N",
                    help="count bgpd's instructions learning N prefixes "
                    "(valgrind), both retention modes, every build")
    ap.add_argument("--quiet-wait", type=float, default=600, metavar="S",
                    help="wait at most S seconds for a quiet machine "
                    "before each run (runs on a loaded one are flagged)")
    ap.add_argument("--cleanup", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_kar: must run as root")
    if args.cleanup:
        cleanup(NAMESPACES, RUN_DIRS)
        return
    if not args.frr:
        sys.exit("bench_kar: at least one --frr LABEL=ROOT")
    ns = sorted(args.n or [250000, 500000, 1000000])
    if not all(2 <= n <= MAX_N for n in ns):
        sys.exit("bench_kar: N must be in 2..%d" % MAX_N)
    if not 0 <= args.callgrind_learn <= MAX_N:
        sys.exit("bench_kar: --callgrind-learn N must be in 0..%d" % MAX_N)
    if not 0 <= args.show_peers <= MAX_PEERS:
        sys.exit("bench_kar: --show-peers at most %d" % MAX_PEERS)
    labels = {f.label: f for f in args.frr}
    if args.profile not in (None, *labels):
        sys.exit("bench_kar: --profile %s: no --frr of that label"
                 % args.profile)
    only = set(args.only.split(",")) if args.only else set()
    try:
        peer_counts = sorted({int(p) for p in args.peers.split(",")})
    except ValueError:
        sys.exit("bench_kar: --peers: a comma-separated list of numbers")
    if not all(1 <= p <= MAX_PEERS for p in peer_counts):
        sys.exit("bench_kar: --peers: each in 1..%d" % MAX_PEERS)
    os.makedirs(args.out, exist_ok=True)

    def on_signal(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    host = host_info()
    limit = 0.5 * host["cores"]
    res = {"date": datetime.datetime.now().astimezone().isoformat(
               timespec="seconds"),
           "command": " ".join(sys.argv), "host": host, "ns": ns,
           "frr": [f.describe() for f in args.frr],
           "frr_labels": [f.label for f in args.frr],
           "load_limit": limit, "min_runs": args.runs, "runs": []}
    if "peers" in only:
        res["peer_counts"] = peer_counts
    t0 = time.monotonic()
    topo = Topology(args.out)
    try:
        topo.setup()
        if "bird" in only and "peers" not in only:
            topo.start_rx()
        extra = 0
        while (sum(not r["flagged"] for r in res["runs"]) < args.runs
               and len(res["runs"]) < args.runs + extra):
            # the last run's own load decays before the next one starts
            log("waiting for a quiet machine (load %.2f)"
                % wait_quiet(limit, args.quiet_wait))
            res["runs"].append(measured_run(topo, args.frr, ns,
                                            len(res["runs"]), only, limit,
                                            peer_counts))
            if res["runs"][-1]["flagged"] and extra < args.reruns:
                extra += 1
        if args.show_peers:
            res["show_peers"] = show_peers(topo, args.frr, max(ns),
                                           args.show_peers, args.show_reps)
        if args.callgrind_learn:
            res["callgrind"] = [
                kb_callgrind.count_learn(topo, frr, args.callgrind_learn,
                                         args.out) for frr in args.frr]
        if args.profile:
            frr = labels[args.profile]
            res["profile"] = profile(topo, frr, max(ns), args.out,
                                     args.profile_callgraph, args.profile_of,
                                     (max(peer_counts) if args.profile_of
                                      == "peers" else args.show_peers or 1))
    finally:
        topo.teardown()
    res["total_wall_s"] = round(time.monotonic() - t0, 1)
    peers = "peers" in only
    res["summary"] = (kb_peers.summarize(res) if peers
                      else kb_report.summarize(res))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join(args.out, "kar-bench-%s" % stamp)
    kb_report.write_json(res, base + ".json")
    md = ("## %s, %d cores (%s), %s; total %.0f s\n\n"
          % (res["date"], host["cores"], host["cpu"], host["bird"],
             res["total_wall_s"]) +
          (kb_peers.markdown(res) if peers else kb_report.markdown(res)))
    if not peers and kb_report.plot(res, base + ".png"):
        md += "\nplot: %s.png\n" % base
    with open(base + ".md", "w") as f:
        f.write(md)
    print(md, flush=True)
    log("results: %s.{md,json}" % base)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as e:
        sys.exit("bench_kar: interrupted (%s); cleaned up" % (e or "SIGINT"))
