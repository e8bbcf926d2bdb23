"""What the benchmark measures: each scenario as one function of a Round,
which polls bgpd (or the BIRD anchor) with a bound until the expected state
is reached and the daemon is idle, and returns the daemon's CPU and wall
time.  The polls' own cost is counted and measured (poll_cost) so that the
report can subtract it."""

import time

from kb_proc import Birdc, cpu_ns, rss_kib
from kb_topo import AS, BIRD_RUN, PEER_ADDR, PEER_ADDRS, VRF

POLL = 0.1           # seconds between polls
IDLE_WINDOW = 1.0    # idle: the daemon used <= IDLE_NS in this window
IDLE_NS = 30e6
QUIET_NS = IDLE_NS * POLL / IDLE_WINDOW
MAX_BLIND = 5.0      # ask the daemon at least this often


class Probe:
    """Polls of one daemon; counts how many of each kind it made."""

    def __init__(self):
        self.counts = {}

    def count(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1


class FrrProbe(Probe):
    def __init__(self, topo):
        super().__init__()
        self.topo = topo
        self.pid = topo.bgpd_pid
        self.vty = topo.vty

    def state(self, need_adj=False):
        self.count("summary")
        j = self.vty.json("show bgp vrf %s ipv4 unicast summary json" % VRF)
        peers = j.get("peers")
        if peers is None:
            raise RuntimeError("bgpd answered no peers: %r" % j)
        p = peers.get(PEER_ADDR) or {}
        pfx = [q.get("pfxRcd", 0) for q in peers.values()] or [0]
        st = {"state": p.get("state"), "pfx": p.get("pfxRcd", 0),
              "dropped": p.get("connectionsDropped", 0),
              "established": sum(1 for q in peers.values()
                                 if q.get("state") == "Established"),
              "pfx_all": sum(pfx), "pfx_min": min(pfx), "pfx_max": max(pfx),
              "dropped_all": sum(q.get("connectionsDropped", 0)
                                 for q in peers.values())}
        if need_adj:
            st["adj_in"] = self.adj_in()[0]
        return st

    def refresh_sent(self):
        """ROUTE-REFRESH messages bgpd has sent, all peers."""
        j = self.vty.json("show bgp vrf %s neighbors json" % VRF)
        return sum((q.get("messageStats") or {}).get("routeRefreshSent", 0)
                   for q in j.values() if isinstance(q, dict))

    def adj_in(self):
        self.count("memory")
        text = self.vty.cmd("show bgp memory")
        for line in text.splitlines():
            if "Adj-In entries" in line:
                words = line.split()
                return int(words[0]), " ".join(words[4:6])
        if "RIB nodes" not in text:
            raise RuntimeError("not an answer of show bgp memory: %r" % text)
        return 0, "0 bytes"


class BirdProbe(Probe):
    """The receiving BIRD's counters of its protocols kbrx, kbrx1, ...
    (O(1) each to read): "state" Established when all are, "pfx" the first
    one's routes imported, "pfx_min"/"pfx_max" over all of them."""

    def __init__(self, topo):
        super().__init__()
        self.pid = topo.rx_pid
        self.c = Birdc(BIRD_RUN + "/rx.ctl")

    def state(self, need_adj=False):
        self.count("protocols")
        up, pfx, name = 0, {}, None
        for line in self.c.cmd('show protocols all "kbrx*"'):
            text = line[5:] if line[:4].isdigit() else line
            words = text.split()
            if words and words[0].startswith("kbrx") and len(words) > 1:
                name = words[0]
                pfx[name] = 0
                up += "Established" in text
            elif words[:1] == ["Routes:"] and name:
                pfx[name] = int(words[1])
        vals = list(pfx.values()) or [0]
        return {"state": "Established" if pfx and up == len(pfx) else None,
                "pfx": pfx.get("kbrx", 0), "established": up,
                "pfx_min": min(vals), "pfx_max": max(vals)}

    def close(self):
        self.c.close()


def rotated(seq, index):
    """seq starting at its element index (mod its length): what goes first
    changes from run to run."""
    k = index % len(seq)
    return seq[k:] + seq[:k]


def wait(probe, cond, timeout, what, need_adj=False):
    """Wait until cond(state) holds and the daemon has been idle for
    IDLE_WINDOW.  The daemon's CPU time is read from /proc every POLL; the
    daemon itself is asked for its state only after a quiet POLL (or every
    MAX_BLIND s), so that while it works it is not also answering polls.
    Returns (t_done, cpu_done_ns, polls, state): t_done is the first sample
    after the last poll that saw cond false from which on the daemon used
    no more than IDLE_NS; polls are those made up to that sample."""
    t_start = time.monotonic()
    samples = []                 # (t, cpu_ns, polls so far)
    false_t = t_start            # last poll that saw cond false
    since = None                 # first poll that saw cond true since then
    asked = None
    st = None
    while True:
        now = time.monotonic()
        cpu = cpu_ns(probe.pid)
        quiet = bool(samples) and cpu - samples[-1][1] <= QUIET_NS
        samples.append((now, cpu, dict(probe.counts)))
        if quiet or asked is None or now - asked >= MAX_BLIND:
            st = probe.state(need_adj)
            asked = now
            if not cond(st):
                false_t, since = now, None
            elif since is None:
                since = now
        if since is not None and now - since >= IDLE_WINDOW:
            back = [x for x in samples if x[0] <= now - IDLE_WINDOW]
            if back and cpu - back[-1][1] <= IDLE_NS:
                for t, c, polls in samples:
                    if t > false_t and c >= cpu - IDLE_NS:
                        return t, c, polls, st
        if now - t_start > timeout:
            raise TimeoutError("%s: not done in %.0f s (last %s)"
                               % (what, timeout, st))
        if len(samples) > 4000:
            samples = samples[-2000:]
        time.sleep(POLL)


def measure(probe, action, cond, timeout, what, need_adj=False):
    """Run action() and wait for cond; CPU and wall from the command to
    the end of the work, and the polls made meanwhile."""
    probe.counts = {}
    t0 = time.monotonic()
    c0 = cpu_ns(probe.pid)
    action()
    t1, c1, polls, st = wait(probe, cond, timeout, what, need_adj)
    return {"wall_s": round(t1 - t0, 4), "cpu_s": round((c1 - c0) / 1e9, 4),
            "polls": polls}, st


def poll_cost(probe, kinds, n=30):
    """CPU the daemon spends answering one poll of each kind, measured on
    the idle daemon (same probes, same interval as the waits)."""
    cost = {}
    for kind in kinds:
        c0 = cpu_ns(probe.pid)
        for _ in range(n):
            if kind == "memory":
                probe.adj_in()
            else:
                probe.state()
            time.sleep(POLL)
        cost[kind] = (cpu_ns(probe.pid) - c0) / 1e9 / n
    return cost


class Round:
    """The scenarios on one topology at one N; every wait has a bound."""

    def __init__(self, topo, n):
        self.topo = topo
        self.n = n
        self.half = n - n // 2          # accepted under the deny-half policy

    def timeout(self, factor=1.0):
        return (60 + self.n / 4000.0) * factor

    # -- FRR -------------------------------------------------------------

    def probe(self):
        return FrrProbe(self.topo)

    def full(self, st, half=False):
        return (st["state"] == "Established"
                and st["pfx"] == (self.half if half else self.n))

    def af_config(self, *lines):
        self.topo.vty.config("router bgp %d vrf %s" % (AS, VRF),
                             "address-family ipv4 unicast", *lines)

    def set_policy(self, half):
        self.topo.vty.config("route-map IMPORT permit 10",
                             ("" if half else "no ") +
                             "match ip address prefix-list KB-HALF")

    def clear(self, soft=True, peer=PEER_ADDR):
        self.topo.vty.cmd("clear bgp vrf %s ipv4 unicast %s%s"
                          % (VRF, peer, " soft in" if soft else ""))

    def learn(self, frr, mode, before=None):
        """A fresh bgpd learns N prefixes: the session is opened by the
        command, CPU and wall time count from it (the wall time includes
        the session's set-up, about 1 s of BIRD's and bgpd's timers).
        before(), if given, runs once bgpd is idle, before the session
        opens."""
        self.topo.start_bgpd(frr, mode, shutdown=True)
        p = self.probe()
        wait(p, lambda st: True, 10, "idle after start")
        if before:
            before()
        rss0 = rss_kib(p.pid)
        adj = self.n if mode in ("soft", "keep") else 0
        r, st = measure(
            p, lambda: self.topo.vty.config(
                "router bgp %d vrf %s" % (AS, VRF),
                "no neighbor %s shutdown" % PEER_ADDR),
            lambda st: self.full(st) and st["adj_in"] == adj,
            self.timeout(2), "learn %s" % mode, need_adj=True)
        r["rss_mib"] = round(rss_kib(p.pid) / 1024.0, 1)
        r["rss_growth_mib"] = round((rss_kib(p.pid) - rss0) / 1024.0, 1)
        r["adj_in_entries"], r["adj_in_memory"] = p.adj_in()
        return r

    def policy(self, method, done=None):
        """Deny half, applied by `clear ... soft in` (from the stored routes
        when bgpd retains them, else by ROUTE-REFRESH) or a hard reset;
        then done() if given, and the permissive policy back (untimed)."""
        p = self.probe()
        d0 = p.state()["dropped"]
        self.set_policy(True)
        wait(p, lambda st: True, 30, "idle after policy edit")
        if method == "hard-reset":
            def cond(st):
                return self.full(st, half=True) and st["dropped"] > d0
        else:
            def cond(st):
                return self.full(st, half=True)
        r, st = measure(p, lambda: self.clear(method != "hard-reset"), cond,
                        self.timeout(2), "policy %s" % method)
        r["session_resets"] = st["dropped"] - d0
        if done:
            done()
        self.set_policy(False)
        self.clear()
        wait(p, self.full, self.timeout(2), "policy revert")
        return r

    def enable(self):
        """`peer X keep-all-routes` on an Established peer without
        retention, until the Adj-RIB-In holds N; then off again."""
        p = self.probe()
        d0 = p.state()["dropped"]
        r, st = measure(
            p, lambda: self.af_config("peer %s keep-all-routes" % PEER_ADDR),
            lambda st: self.full(st) and st["adj_in"] == self.n,
            self.timeout(2), "enable", need_adj=True)
        r["session_resets"] = st["dropped"] - d0
        self.af_config("no peer %s keep-all-routes" % PEER_ADDR)
        wait(p, lambda st: self.full(st) and st["adj_in"] == 0,
             self.timeout(), "disable", need_adj=True)
        return r

    def wait_full(self, adj):
        p = self.probe()
        wait(p, lambda st: self.full(st) and st["adj_in"] == adj,
             self.timeout(3), "full table", need_adj=True)

    def show_keep(self, reps=1):
        """`show bgp vrf all keep-all-routes json`: wall and bgpd CPU of
        each answer."""
        out = []
        pid = self.topo.bgpd_pid
        for _ in range(reps):
            t0, c0 = time.monotonic(), cpu_ns(pid)
            text = self.topo.vty.cmd("show bgp vrf all keep-all-routes json")
            out.append({"wall_s": round(time.monotonic() - t0, 4),
                        "cpu_s": round((cpu_ns(pid) - c0) / 1e9, 4),
                        "bytes": len(text)})
        return out

    def many_peers(self, frr, peers):
        """A bgpd retaining the full table of `peers` peers."""
        self.topo.start_bgpd(frr, "keep", shutdown=False, peers=peers)
        p = self.probe()
        wait(p, lambda st: (st["established"] == peers
                            and st["pfx_all"] == peers * self.n
                            and st["adj_in"] == peers * self.n),
             self.timeout(3 * peers), "learn %d peers" % peers, need_adj=True)

    # -- BIRD, the anchor -------------------------------------------------

    def rx_full(self, st, half=False):
        return (st["state"] == "Established"
                and st["pfx"] == (self.half if half else self.n))

    def bird_wait_full(self):
        p = BirdProbe(self.topo)
        try:
            wait(p, self.rx_full, self.timeout(3), "bird receiver full")
        finally:
            p.close()

    def bird_reload(self):
        """The receiving BIRD's import filter changed to deny half with
        `configure soft` (which does not re-filter), then `reload in`
        replays its import table through it; then back (untimed)."""
        p = BirdProbe(self.topo)
        try:
            p.c.cmd('configure soft "%s/rx-half.conf"' % BIRD_RUN)
            wait(p, lambda st: True, 30, "bird idle after configure")
            r, st = measure(p, lambda: p.c.cmd('reload in "kbrx*"'),
                            lambda st: self.rx_full(st, half=True),
                            self.timeout(2), "bird reload in")
            p.c.cmd('configure soft "%s/rx-all.conf"' % BIRD_RUN)
            p.c.cmd('reload in "kbrx*"')
            wait(p, self.rx_full, self.timeout(2), "bird revert")
        finally:
            p.close()
        return r

    def bird_poll_cost(self):
        p = BirdProbe(self.topo)
        try:
            return poll_cost(p, ["protocols"])
        finally:
            p.close()


__all__ = ["Round", "poll_cost", "rotated", "PEER_ADDRS"]
