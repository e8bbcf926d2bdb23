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
from kb_scenarios import BirdProbe, FrrProbe, measure, poll_cost, wait
from kb_topo import BIRD_RUN, FRR_RUN, VRF

HOLD = 9                 # bgpd's hold time in this scenario (keepalive 3)
SAMPLE = 0.1             # the vty client's interval
SUMMARY = "show bgp vrf %s summary json" % VRF


class PeersProbe(FrrProbe):
    """bgpd's summary of P peers: the smallest and largest accepted count,
    the sessions established and the connections dropped, all peers."""

    def state(self, need_adj=False):
        self.count("summary")
        j = self.vty.json("show bgp vrf %s ipv4 unicast summary json" % VRF)
        peers = (j.get("peers") or {}).values()
        pfx = [q.get("pfxRcd", 0) for q in peers] or [0]
        st = {"pfx_min": min(pfx), "pfx_max": max(pfx),
              "pfx_all": sum(pfx),
              "established": sum(1 for q in peers
                                 if q.get("state") == "Established"),
              "dropped": sum(q.get("connectionsDropped", 0) for q in peers)}
        if need_adj:
            st["adj_in"] = self.adj_in()[0]
        return st

    def refresh_sent(self):
        j = self.vty.json("show bgp vrf %s neighbors json" % VRF)
        return sum((q.get("messageStats") or {}).get("routeRefreshSent", 0)
                   for k, q in j.items() if isinstance(q, dict))


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


def quantile(values, q):
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, int(q * len(v)))]


def vty_stats(ms):
    return {"p50": quantile(ms, 0.5), "p99": quantile(ms, 0.99),
            "max": max(ms) if ms else None, "n": len(ms)}


class PeersRound:
    """The scenarios with P peers at N prefixes; every wait has a bound."""

    def __init__(self, topo, n, peers):
        self.topo, self.n, self.peers = topo, n, peers
        self.half = n - n // 2

    def timeout(self, factor=1.0):
        return (60 + self.peers * self.n / 4000.0) * factor

    def done(self, half):
        want = self.half if half else self.n

        def cond(st):
            return (st["established"] == self.peers
                    and st["pfx_min"] == want and st["pfx_max"] == want)
        return cond

    def set_policy(self, half):
        self.topo.vty.config("route-map IMPORT permit 10",
                             ("" if half else "no ") +
                             "match ip address prefix-list KB-HALF")

    def delay_timer(self, s):
        self.topo.vty.config("bgp route-map delay-timer %d" % s)

    def clear_all(self):
        self.topo.vty.cmd("clear bgp vrf %s ipv4 unicast * soft in" % VRF)

    def learn(self, frr):
        """A fresh bgpd retaining P full tables; its RSS then."""
        self.topo.start_bgpd(frr, "keep", shutdown=False, peers=self.peers,
                             hold=HOLD)
        p = PeersProbe(self.topo)
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
        p = PeersProbe(self.topo)
        d0, rr0 = p.state()["dropped"], p.refresh_sent()
        if how == "clear":
            self.set_policy(True)
            wait(p, lambda st: True, 30, "idle after policy edit")
            action = self.clear_all
        else:
            self.delay_timer(1)
            wait(p, lambda st: True, 30, "idle after delay-timer")

            def action():
                self.set_policy(True)
        clock = VtyClock()
        clock.start()
        try:
            r, st = measure(p, action, self.done(True), self.timeout(2),
                            "%s, %d peers" % (how, self.peers))
        finally:
            ms = clock.stop()
        # the clock's questions cost bgpd CPU as the probe's polls do
        r["polls"]["summary"] = r["polls"].get("summary", 0) + len(ms)
        r["vty_ms"] = vty_stats(ms)
        r["vty_samples_ms"] = [round(x, 1) for x in ms]
        r["sessions_dropped"] = st["dropped"] - d0
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
        """The receiver's filter changed to deny half (`configure soft`),
        then `reload in "kbrx*"` from its P import tables; then back."""
        p = BirdProbe(self.topo)
        try:
            wait(p, self.done(False), self.timeout(3), "bird receiver full")
            cost = poll_cost(p, ["protocols"])
            p.c.cmd('configure soft "%s/rx-half.conf"' % BIRD_RUN)
            wait(p, lambda st: True, 30, "bird idle after configure")
            r, st = measure(p, lambda: p.c.cmd('reload in "kbrx*"'),
                            self.done(True), self.timeout(2),
                            "bird reload in, %d peers" % self.peers)
            r["poll_cost"] = cost
            p.c.cmd('configure soft "%s/rx-all.conf"' % BIRD_RUN)
            p.c.cmd('reload in "kbrx*"')
            wait(p, self.done(False), self.timeout(2), "bird revert")
        finally:
            p.close()
        return r


def peers_run(topo, frrs, ns, peer_counts, index):
    """One run: for each N and P, every build (rotated) learns P tables and
    changes the policy both ways; then BIRD replays the same P tables."""
    builds = frrs[index % len(frrs):] + frrs[:index % len(frrs)]
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
                log("  %s: RSS %.0f MiB, clear %.2f s CPU (vty p99 %.0f ms),"
                    " edit %.2f s CPU" % (frr.label, f["rss_mib"],
                                          f["clear"]["cpu_s"],
                                          f["clear"]["vty_ms"]["p99"],
                                          f["edit"]["cpu_s"]))
                topo.stop_bgpd()
            rec["bird"] = rd.bird_reload()
            log("  bird: %.2f s CPU" % rec["bird"]["cpu_s"])
    return run


def _cell(recs, n, peers):
    """Figures of one scenario over the runs: CPU less the polls' and the
    vty client's cost, wall, CPU per (peer x prefix), vty latency of the
    pooled samples, sessions dropped and ROUTE-REFRESH sent (sums)."""
    cpu = [corrected(r, r["cost"])[0] for r in recs]
    ms = [x for r in recs for x in r.get("vty_samples_ms", [])]
    out = {"cpu_s": stats(cpu), "wall_s": stats([r["wall_s"] for r in recs]),
           "cpu_per_route_us": stats([c * 1e6 / (peers * n) for c in cpu])}
    if recs and "vty_samples_ms" in recs[0]:
        out["vty_ms"] = vty_stats(ms)
        out["sessions_dropped"] = sum(r["sessions_dropped"] for r in recs)
        out["refresh_sent"] = sum(r["refresh_sent"] for r in recs)
    return out


def summarize(res):
    """summary.many_peers[LABEL][P] (P as a string) at the largest N, with
    BIRD's figures beside them; summary.many_peers_by_n[N] the same for
    every N.  The ratios are paired within each run: FRR ÷ BIRD, and CPU
    per (peer x prefix) at P ÷ at the smallest P."""
    runs = [r for r in res["runs"] if not r["flagged"]] or res["runs"]
    by_n = {}
    for n in res["ns"]:
        sn = by_n[str(n)] = {}
        pcs = res["peer_counts"]
        for peers in pcs:
            recs = [r["n"][str(n)][str(peers)] for r in runs]
            bird = []
            for rec in recs:
                b = dict(rec["bird"], cost=rec["bird"]["poll_cost"])
                bird.append(b)
            sn.setdefault("bird", {})[str(peers)] = _cell(bird, n, peers)
            for label in res["frr_labels"]:
                cell = {}
                for how in ("clear", "edit"):
                    rs = [dict(rec["frr"][label][how],
                               cost=rec["frr"][label]["poll_cost"])
                          for rec in recs]
                    cell[how] = _cell(rs, n, peers)
                    cell[how]["vs_bird"] = stats(
                        [corrected(a, a["cost"])[0]
                         / corrected(b, b["cost"])[0]
                         for a, b in zip(rs, bird)
                         if corrected(b, b["cost"])[0] > 0])
                    if peers != pcs[0]:
                        base = [dict(r["n"][str(n)][str(pcs[0])]["frr"]
                                     [label][how],
                                     cost=r["n"][str(n)][str(pcs[0])]["frr"]
                                     [label]["poll_cost"]) for r in runs]
                        cell[how]["per_route_vs_p%d" % pcs[0]] = stats(
                            [(corrected(a, a["cost"])[0] / peers)
                             / corrected(b, b["cost"])[0] * pcs[0]
                             for a, b in zip(rs, base)
                             if corrected(b, b["cost"])[0] > 0])
                cell["rss_mib"] = stats([rec["frr"][label]["rss_mib"]
                                         for rec in recs])
                # the shape: the clear's figures at the top
                flat = dict(cell["clear"], edit=cell["edit"],
                            rss_mib=cell["rss_mib"],
                            bird_cpu_s=sn["bird"][str(peers)]["cpu_s"])
                sn.setdefault(label, {})[str(peers)] = flat
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
              "| dropped | RR sent | RSS MiB |" % res["peer_counts"][0],
              "| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: "
              "| --- | ---: | ---: | ---: |"]

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
                    lines.append(
                        "| %d | %d | %s | %s | %s | %s | %s | %s | %s "
                        "| %s/%s/%s | %d | %d | %s |"
                        % (n, peers, label, how, rng(f["cpu_s"]),
                           rng(f["wall_s"]), rng(f["cpu_per_route_us"], 3),
                           rng(vs, 3) if vs else "-", rng(f["vs_bird"], 1),
                           fmt(v.get("p50"), 0), fmt(v.get("p99"), 0),
                           fmt(v.get("max"), 0), f["sessions_dropped"],
                           f["refresh_sent"],
                           rng(c["rss_mib"], 0) if f is c else ""))
            b = sn["bird"][str(peers)]
            lines.append("| %d | %d | BIRD 2 | reload in | %s | %s | %s "
                         "| | | | | | |"
                         % (n, peers, rng(b["cpu_s"]), rng(b["wall_s"]),
                            rng(b["cpu_per_route_us"], 3)))
    return "\n".join(lines) + "\n"
