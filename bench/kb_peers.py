"""A policy change for every peer at once (`--only peers`): P retained peers
in VRF kbvpna, each sending the same N prefixes, then

  clear    `clear bgp vrf kbvpna ipv4 unicast * soft in` from the stored
           routes, after the import route-map was edited with bgpd's
           route-map delay timer off (0);
  edit     the same edit with the delay timer at 1 s: bgpd applies it to
           every peer that uses the route-map by itself (the wall time
           includes the timer's second);

each measured to convergence (every peer's accepted prefixes = policy(sent))
with bgpd's CPU and wall time, while a second vty client sends
`show bgp vrf kbvpna summary json` every 100 ms and times each answer.
bgpd's hold time is 9 s (keepalive 3 s), so a stall of bgpd shows as a
dropped session.  BIRD 2, the anchor, receives the same P tables in P
sessions (`import table on`) and replays them with `reload in "kbrx*"`
after its filter changed, in the same run."""

import threading
import time

from kb_proc import Vty, log, rss_kib
from kb_report import corrected, fmt, stats
from kb_scenarios import Round, measure, poll_cost, rotated, wait
from kb_topo import FRR_RUN, VRF

HOLD = 9                 # bgpd's hold time in this scenario (keepalive 3)
SAMPLE = 0.1             # the vty client's interval
SUMMARY = "show bgp vrf %s summary json" % VRF


class VtyClock(threading.Thread):
    """A vtysh-like client: `show bgp vrf kbvpna summary json` every
    SAMPLE s on its own connection, the time of each answer recorded."""

    def __init__(self):
        super().__init__(daemon=True)
        self.vty = Vty(FRR_RUN + "/bgpd.vty")
        self.ms = []
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            nxt = time.monotonic()
            while not self.halt.is_set():
                t0 = time.monotonic()
                self.vty.cmd(SUMMARY)
                self.ms.append((time.monotonic() - t0) * 1e3)
                nxt = max(nxt + SAMPLE, time.monotonic())
                self.halt.wait(nxt - time.monotonic())
        except (OSError, RuntimeError) as e:
            self.error = str(e)

    def stop(self):
        self.halt.set()
        self.join(60)
        self.vty.close()
        if self.error:
            raise RuntimeError("vty client: %s" % self.error)
        return self.ms


def event_cpu(vty, clear=False):
    """The event loop's tasks that ran longest since the last clear, from
    `show event cpu` (`show thread cpu` before FRR 9): each task's name,
    runs, average and longest CPU in µs; or, with clear, reset them."""
    words = [vty.event_word] if vty.event_word else ["event", "thread"]
    for word in words:
        try:
            text = vty.cmd("%s %s cpu" % ("clear" if clear else "show", word))
            vty.event_word = word
            break
        except RuntimeError:
            continue
    else:
        return None
    tasks = []
    for line in text.splitlines():
        f = line.split()
        # Active Runtime(ms) Invoked Avg-uSec Max-uSecs ... Type Event
        if (len(f) > 7 and f[0].isdigit() and f[2].isdigit()
                and f[-1] != "TOTAL"):
            tasks.append({"task": f[-1], "invoked": int(f[2]),
                          "avg_us": int(f[3]), "max_us": int(f[4])})
    return sorted(tasks, key=lambda t: -t["max_us"])[:5]


def quantile(values, q):
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, int(q * len(v)))]


def vty_stats(ms):
    return {"p50": quantile(ms, 0.5), "p99": quantile(ms, 0.99),
            "max": max(ms) if ms else None, "n": len(ms)}


class PeersRound(Round):
    """The scenarios with P peers at N prefixes; every wait has a bound.
    Round's policy edit, BIRD's replay and BIRD's probe serve P peers as
    one."""

    def __init__(self, topo, n, peers):
        super().__init__(topo, n)
        self.peers = peers

    def timeout(self, factor=1.0):
        return (60 + self.peers * self.n / 4000.0) * factor

    def done(self, half):
        want = self.half if half else self.n

        def cond(st):
            return (st["established"] == self.peers
                    and st["pfx_min"] == want and st["pfx_max"] == want)
        return cond

    def rx_full(self, st, half=False):
        return self.done(half)(st)

    def delay_timer(self, s):
        self.topo.vty.config("bgp route-map delay-timer %d" % s)

    def clear_all(self):
        self.clear(peer="*")

    def learn(self, frr):
        """A fresh bgpd retaining P full tables; its RSS then."""
        self.topo.start_bgpd(frr, "keep", shutdown=False, peers=self.peers,
                             hold=HOLD)
        p = self.probe()
        total = self.peers * self.n
        wait(p, lambda st: (self.done(False)(st)
                            and st["adj_in"] == total),
             self.timeout(3), "learn %d peers" % self.peers, need_adj=True)
        return {"rss_mib": round(rss_kib(p.pid) / 1024.0, 1),
                "poll_cost": poll_cost(p, ["summary"])}

    def change(self, how, done=None):
        """Deny half for every peer, by `clear ... * soft in` (how="clear")
        or by the route-map delay timer (how="edit"); then done() if given,
        and the permissive policy back the same way (untimed)."""
        p = self.probe()
        d0, rr0 = p.state()["dropped_all"], p.refresh_sent()
        if how == "clear":
            self.set_policy(True)
            wait(p, lambda st: True, 30, "idle after policy edit")
            action = self.clear_all
        else:
            self.delay_timer(1)
            wait(p, lambda st: True, 30, "idle after delay-timer")

            def action():
                self.set_policy(True)
        event_cpu(self.topo.vty, clear=True)
        clock = VtyClock()
        clock.start()
        try:
            r, st = measure(p, action, self.done(True), self.timeout(2),
                            "%s, %d peers" % (how, self.peers))
        finally:
            ms = clock.stop()
        # which tasks the vty's questions waited for
        r["longest_tasks"] = event_cpu(self.topo.vty)
        # the clock's questions cost bgpd CPU as the probe's polls do
        r["polls"]["summary"] = r["polls"].get("summary", 0) + len(ms)
        r["vty_ms"] = vty_stats(ms)
        r["vty_samples_ms"] = [round(x, 1) for x in ms]
        r["sessions_dropped"] = st["dropped_all"] - d0
        r["refresh_sent"] = p.refresh_sent() - rr0
        if done:
            done()
        self.set_policy(False)
        if how == "clear":
            self.clear_all()
        wait(p, self.done(False), self.timeout(2), "revert %s" % how)
        if how == "edit":
            self.delay_timer(0)
        return r

    def bird_reload(self):
        """BIRD's `reload in` of its P import tables (Round's), once they
        are full, with the cost of one of its polls beside it."""
        self.bird_wait_full()
        cost = self.bird_poll_cost()
        r = super().bird_reload()
        r["poll_cost"] = cost
        return r


def peers_run(topo, frrs, ns, peer_counts, index):
    """One run: for each N and P, every build (rotated) learns P tables and
    changes the policy both ways; then BIRD replays the same P tables."""
    builds = rotated(frrs, index)
    run = {"index": index, "builds": [f.label for f in builds], "n": {}}
    for n in ns:
        at = run["n"][str(n)] = {}
        for peers in peer_counts:
            log("run %d, N=%d, %d peers: %s"
                % (index + 1, n, peers, run["builds"]))
            topo.start_rx(peers, hold=HOLD)
            topo.start_sender(n, peers=peers, rx_peers=peers)
            rd = PeersRound(topo, n, peers)
            rec = at[str(peers)] = {"frr": {}}
            for frr in builds:
                f = rec["frr"][frr.label] = rd.learn(frr)
                for how in ("clear", "edit"):
                    f[how] = rd.change(how)
                top = (f["clear"]["longest_tasks"] or [{}])[0]
                log("  %s: RSS %.0f MiB, clear %.2f s CPU (vty p99 %.0f ms,"
                    " longest task %s %.1f ms), edit %.2f s CPU"
                    % (frr.label, f["rss_mib"], f["clear"]["cpu_s"],
                       f["clear"]["vty_ms"]["p99"], top.get("task", "?"),
                       top.get("max_us", 0) / 1e3, f["edit"]["cpu_s"]))
                topo.stop_bgpd()
            rec["bird"] = rd.bird_reload()
            log("  bird: %.2f s CPU" % rec["bird"]["cpu_s"])
    return run


def _cpus(runs, n, peers, label=None, how=None):
    """Each run's bgpd CPU for one scenario (BIRD's without a label), less
    what the polls and the vty client cost the daemon."""
    out = []
    for r in runs:
        at = r["n"][str(n)][str(peers)]
        if label is None:
            out.append(corrected(at["bird"], at["bird"]["poll_cost"])[0])
        else:
            f = at["frr"][label]
            out.append(corrected(f[how], f["poll_cost"])[0])
    return out


def _paired(a, b, k=1.0):
    """Ratios a/b (times k) paired within each run."""
    return stats([x / y * k for x, y in zip(a, b) if y > 0])


def _cell(recs, cpu, n, peers):
    """Figures of one scenario over the runs: CPU, wall, CPU per (peer x
    prefix), vty latency of the pooled samples, sessions dropped and
    ROUTE-REFRESH sent (sums)."""
    out = {"cpu_s": stats(cpu), "wall_s": stats([r["wall_s"] for r in recs]),
           "cpu_per_route_us": stats([c * 1e6 / (peers * n) for c in cpu])}
    if recs and "vty_samples_ms" in recs[0]:
        out["vty_ms"] = vty_stats([x for r in recs
                                   for x in r["vty_samples_ms"]])
        out["sessions_dropped"] = sum(r["sessions_dropped"] for r in recs)
        out["refresh_sent"] = sum(r["refresh_sent"] for r in recs)
    # the task that held the event loop longest at a time, over the runs
    longest = {}
    for r in recs:
        for t in r.get("longest_tasks") or []:
            longest[t["task"]] = max(longest.get(t["task"], 0), t["max_us"])
    if longest:
        task = max(longest, key=longest.get)
        out["longest_task"] = {"task": task,
                               "max_ms": round(longest[task] / 1e3, 1)}
    return out


def summarize(res):
    """summary.many_peers[LABEL][P] (P as a string) at the largest N, with
    BIRD's figures beside them; summary.many_peers_by_n[N] the same for
    every N.  The ratios are paired within each run: FRR ÷ BIRD, and CPU
    per (peer x prefix) at P ÷ at the smallest P."""
    runs = [r for r in res["runs"] if not r["flagged"]] or res["runs"]
    pcs = res["peer_counts"]
    by_n = {}
    for n in res["ns"]:
        sn = by_n[str(n)] = {"bird": {}}
        for peers in pcs:
            at = [r["n"][str(n)][str(peers)] for r in runs]
            bird_cpu = _cpus(runs, n, peers)
            bird = sn["bird"][str(peers)] = _cell(
                [a["bird"] for a in at], bird_cpu, n, peers)
            for label in res["frr_labels"]:
                cell = {}
                for how in ("clear", "edit"):
                    cpu = _cpus(runs, n, peers, label, how)
                    c = cell[how] = _cell([a["frr"][label][how] for a in at],
                                          cpu, n, peers)
                    c["vs_bird"] = _paired(cpu, bird_cpu)
                    if peers != pcs[0]:
                        c["per_route_vs_p%d" % pcs[0]] = _paired(
                            cpu, _cpus(runs, n, pcs[0], label, how),
                            pcs[0] / peers)
                # the shape: the clear's figures at the top
                sn.setdefault(label, {})[str(peers)] = dict(
                    cell["clear"], edit=cell["edit"],
                    rss_mib=stats([a["frr"][label]["rss_mib"] for a in at]),
                    bird_cpu_s=bird["cpu_s"])
    return {"many_peers": dict(by_n[str(max(res["ns"]))], n=max(res["ns"])),
            "many_peers_by_n": by_n}


def markdown(res):
    s = res["summary"]
    lines = ["bgpd CPU s (less polls), median (min-max) over %d runs; "
             "per route: CPU per (peer x prefix); vty: `%s` every %d ms "
             "during the change, pooled samples; ratios paired per run."
             % (len(res["runs"]), SUMMARY, SAMPLE * 1000), ""]
    lines += ["| N | P | build | scenario | CPU s | wall s | µs/route "
              "| per route ÷ P=%d | ÷ BIRD | vty p50/p99/max ms "
              "| longest task ms | dropped | RR sent | RSS MiB |"
              % res["peer_counts"][0],
              "| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: "
              "| --- | --- | ---: | ---: | ---: |"]

    def rng(st, nd=2, k=1.0):
        if not st:
            return "-"
        return "%s (%s–%s)" % (fmt(st["median"] * k, nd),
                               fmt(st["min"] * k, nd), fmt(st["max"] * k, nd))
    for n in res["ns"]:
        sn = s["many_peers_by_n"][str(n)]
        for peers in res["peer_counts"]:
            for label in res["frr_labels"]:
                c = sn[label][str(peers)]
                for how, f in (("clear * soft in", c),
                               ("route-map edit", c["edit"])):
                    v = f.get("vty_ms") or {}
                    vs = f.get("per_route_vs_p%d" % res["peer_counts"][0])
                    t = f.get("longest_task")
                    lines.append(
                        "| %d | %d | %s | %s | %s | %s | %s | %s | %s "
                        "| %s/%s/%s | %s | %s | %s | %s |"
                        % (n, peers, label, how, rng(f["cpu_s"]),
                           rng(f["wall_s"]), rng(f["cpu_per_route_us"], 3),
                           rng(vs, 3) if vs else "-", rng(f["vs_bird"], 1),
                           fmt(v.get("p50"), 0), fmt(v.get("p99"), 0),
                           fmt(v.get("max"), 0),
                           "%s %s" % (t["task"], fmt(t["max_ms"], 1))
                           if t else "-",
                           f.get("sessions_dropped", "-"),
                           f.get("refresh_sent", "-"),
                           rng(c["rss_mib"], 0) if f is c else ""))
            b = sn["bird"][str(peers)]
            lines.append("| %d | %d | BIRD 2 | reload in | %s | %s | %s "
                         "| | | | | | | |"
                         % (n, peers, rng(b["cpu_s"]), rng(b["wall_s"]),
                            rng(b["cpu_per_route_us"], 3)))
    return "\n".join(lines) + "\n"
