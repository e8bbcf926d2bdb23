#!/usr/bin/python3
"""Performance benchmark of `peer keep-all-routes` (issue 5, part 2).

Topology, plain Linux network namespaces (every name starts with "kb" so
that it never meets the topotests running on the same machine):

    netns kbr1    zebra --vrfwnetns, bgpd -M keep_all_routes -n
                  (router bgp 100 vrf kbvpna; -n: no FIB installation, so
                  the figures are bgpd's own work, not the kernel's)
    netns kbvpna  VRF kbvpna of r1: veth kbv0 10.77.0.1/24
    netns kbpeer  BIRD 2, veth kbv1 10.77.0.2/24, iBGP AS 100, exporting
                  N static /24 prefixes

Scenarios (each the median of --runs runs):
  learn    N prefixes from scratch (fresh bgpd each run) with no retention,
           native soft-reconfiguration inbound, peer keep-all-routes
  enable   `peer X keep-all-routes` on an Established N-prefix peer until the
           Adj-RIB-In holds N: via ROUTE-REFRESH, and via the reset path
           (BIRD with `enable route refresh off`)
  policy   import policy changed to deny half; `clear ... soft in` from the
           stored routes, the same command without retention (ROUTE-REFRESH),
           and a hard reset, until the Loc-RIB holds the expected half

Measures: wall time until the expected count is reached and bgpd is idle,
bgpd CPU (utime+stime of /proc/<pid>/stat, all threads), VmRSS, and
`show bgp memory`'s Adj-In line.  Every wait polls with a bound; nothing
here asserts a time limit.  With --profile, one extra `clear ... soft in`
replay (and one ROUTE-REFRESH replay) at the largest N runs under
`perf record -g`.

Usage (as root): bench_kar.py [--runs 3] [--out DIR] [--frr PREFIX] [--profile]
                              [--only learn,enable,policy] N [N ...]
          bench_kar.py --cleanup
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NS_R1, NS_VRF, NS_PEER = "kbr1", "kbvpna", "kbpeer"
NAMESPACES = (NS_R1, NS_VRF, NS_PEER)
VRF = NS_VRF
R1_ADDR, PEER_ADDR = "10.77.0.1", "10.77.0.2"
AS = 100
FRR_RUN = "/var/run/frr-kb"
BIRD_RUN = "/run/kb-bird"
ZSERV = FRR_RUN + "/zserv.api"

CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL = 0.1           # seconds between polls
IDLE_WINDOW = 1.0    # bgpd is idle when it used <= IDLE_TICKS in this window
IDLE_TICKS = 3

# Prefix i is a /24: even i in 64.0.0.0/5, odd i in 96.0.0.0/5, so that the
# "deny half" policy is two prefix-list lines and denies floor(N/2) prefixes.
HALF_BASE = (64 << 24, 96 << 24)
MAX_N = 2 * (1 << 19)

BASE_CONF_ROUTEMAP = """\
bgp route-map delay-timer 0
!
ip prefix-list KB-HALF seq 5 deny 96.0.0.0/5 le 32
ip prefix-list KB-HALF seq 10 permit 0.0.0.0/0 le 32
!
route-map IMPORT permit 10
exit
!
"""


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


DAEMON_LOG = None     # where the daemons' start-up chatter goes


def sh(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, **kw)


def start_daemon(cmd):
    """Run a daemon's start command (it forks itself); its start-up output
    goes to DAEMON_LOG."""
    out = open(DAEMON_LOG, "a") if DAEMON_LOG else subprocess.DEVNULL
    try:
        if DAEMON_LOG:
            out.write("+ %s\n" % " ".join(cmd))
            out.flush()
        subprocess.run(cmd, check=True, stdout=out, stderr=out)
    finally:
        if DAEMON_LOG:
            out.close()


# ---------------------------------------------------------------------------
# bgpd's vty, spoken directly (the protocol vtysh uses: a command ends with
# NUL; the answer ends with three NULs and a status byte).

class Vty:
    def __init__(self, path, timeout=120):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.cmd("enable")

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\0")
        buf = bytearray()
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("vty closed during %r" % line)
            buf += chunk
            if len(buf) >= 4 and buf[-4:-1] == b"\0\0\0":
                status = buf[-1]
                text = buf[:-4].decode(errors="replace")
                if status not in (0, 10):   # CMD_SUCCESS, CMD_SUCCESS_DAEMON
                    raise RuntimeError("vty %r -> %d: %s"
                                       % (line, status, text))
                return text

    def json(self, line):
        return json.loads(self.cmd(line) or "{}")

    def config(self, *lines):
        self.cmd("configure terminal")
        try:
            for line in lines:
                self.cmd(line)
        finally:
            self.cmd("end")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# process helpers

def read_pid(path, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            time.sleep(0.05)
    raise RuntimeError("no live pid in %s" % path)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])     # utime + stime


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stop_pid(pid, timeout=5.0):
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # reap if it is our child
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    time.sleep(0.2)


def ns_exists(ns):
    return os.path.exists("/var/run/netns/" + ns)


def cleanup():
    """Stop every process living in a kb* namespace we own and delete them."""
    for ns in NAMESPACES:
        if not ns_exists(ns):
            continue
        out = sh(["ip", "netns", "pids", ns], check=False,
                 capture_output=True, text=True).stdout.split()
        for pid in out:
            stop_pid(int(pid), timeout=3.0)
    for ns in NAMESPACES:
        if ns_exists(ns):
            sh(["ip", "netns", "del", ns], check=False)
    for d in (FRR_RUN, BIRD_RUN):
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------
# the benchmark

def prefix(i):
    a = HALF_BASE[i & 1] + ((i >> 1) << 8)
    return "%d.%d.%d.0/24" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255)


class Bench:
    def __init__(self, args, n, frr):
        self.args = args
        self.n = n
        self.frr = frr
        self.half = n - n // 2          # accepted under the deny-half policy
        self.bgpd_pid = None
        self.vty = None
        self.bird_rr = None             # which BIRD config is running
        self.mode = None                # retention mode bgpd runs with
        self.policy_half = False
        self.out = args.out

    # -- set-up ------------------------------------------------------------

    def setup(self):
        cleanup()
        for ns in NAMESPACES:
            sh(["ip", "netns", "add", ns])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        sh(["ip", "-n", NS_VRF, "link", "add", "kbv0", "type", "veth",
            "peer", "name", "kbv1", "netns", NS_PEER])
        sh(["ip", "-n", NS_VRF, "addr", "add", R1_ADDR + "/24", "dev", "kbv0"])
        sh(["ip", "-n", NS_PEER, "addr", "add", PEER_ADDR + "/24",
            "dev", "kbv1"])
        sh(["ip", "-n", NS_VRF, "link", "set", "kbv0", "up"])
        sh(["ip", "-n", NS_PEER, "link", "set", "kbv1", "up"])
        for d in (FRR_RUN, BIRD_RUN):
            os.makedirs(d, exist_ok=True)
        shutil.chown(FRR_RUN, "frr", "frr")
        with open(FRR_RUN + "/zebra.conf", "w") as f:
            f.write("hostname kbr1\n")
        shutil.chown(FRR_RUN + "/zebra.conf", "frr", "frr")
        start_daemon([
            "ip", "netns", "exec", NS_R1, self.frr + "/sbin/zebra", "-d",
            "--vrfwnetns", "-u", "frr", "-g", "frr", "-P", "0",
            "-f", FRR_RUN + "/zebra.conf", "-i", FRR_RUN + "/zebra.pid",
            "-z", ZSERV, "--vty_socket", FRR_RUN,
            "--log", "file:" + FRR_RUN + "/zebra.log"])
        self.zebra_pid = read_pid(FRR_RUN + "/zebra.pid")
        self.write_bird_confs()
        self.start_bird(rr=True)

    def write_bird_confs(self):
        routes = BIRD_RUN + "/routes.conf"
        with open(routes, "w") as f:
            f.write("protocol static kbs {\n ipv4;\n")
            f.writelines(" route %s blackhole;\n" % prefix(i)
                         for i in range(self.n))
            f.write("}\n")
        for rr in (True, False):
            with open(BIRD_RUN + "/bird-%s.conf" % ("rr" if rr else "norr"),
                      "w") as f:
                f.write("""\
router id %(peer)s;
log "%(run)s/bird.log" { warning, error, fatal };
# BIRD 2.0 may leave its last queued TX event until the next wake-up of its
# event loop (poll timeout 3 s); a 1 s device scan bounds that stall.
protocol device { scan time 1; }
include "%(routes)s";
protocol bgp kbr1 {
  local %(peer)s as %(as)d;
  neighbor %(r1)s as %(as)d;
  direct;
  hold time 240;
  connect retry time 1;
  connect delay time 1;
  error wait time 1, 2;
  %(rr)s
  ipv4 { import none; export all; next hop self; };
}
""" % {"peer": PEER_ADDR, "r1": R1_ADDR, "as": AS, "run": BIRD_RUN,
       "routes": routes,
       "rr": "" if rr else "enable route refresh off;"})

    def start_bird(self, rr):
        self.stop_bird()
        conf = BIRD_RUN + "/bird-%s.conf" % ("rr" if rr else "norr")
        start_daemon(["ip", "netns", "exec", NS_PEER, "bird", "-c", conf,
            "-s", BIRD_RUN + "/bird.ctl", "-P", BIRD_RUN + "/bird.pid"])
        self.bird_pid = read_pid(BIRD_RUN + "/bird.pid")
        self.bird_rr = rr

    def stop_bird(self):
        pid = getattr(self, "bird_pid", None)
        if pid:
            stop_pid(pid)
            self.bird_pid = None

    def bgpd_conf(self, mode, shutdown):
        lines = ["hostname kbr1", BASE_CONF_ROUTEMAP.rstrip(),
                 "router bgp %d vrf %s" % (AS, VRF),
                 " bgp router-id " + R1_ADDR,
                 " no bgp ebgp-requires-policy",
                 " no bgp network import-check",
                 " neighbor %s remote-as %d" % (PEER_ADDR, AS),
                 " neighbor %s timers connect 1" % PEER_ADDR]
        if shutdown:
            lines.append(" neighbor %s shutdown" % PEER_ADDR)
        lines += [" address-family ipv4 unicast",
                  "  neighbor %s route-map IMPORT in" % PEER_ADDR]
        if mode == "soft":
            lines.append("  neighbor %s soft-reconfiguration inbound"
                         % PEER_ADDR)
        elif mode == "keep":
            lines.append("  peer %s keep-all-routes" % PEER_ADDR)
        lines += [" exit-address-family", "exit", ""]
        return "\n".join(lines)

    def start_bgpd(self, mode, shutdown):
        self.stop_bgpd()
        conf = FRR_RUN + "/bgpd.conf"
        with open(conf, "w") as f:
            f.write(self.bgpd_conf(mode, shutdown))
        shutil.chown(conf, "frr", "frr")
        cmd = ["ip", "netns", "exec", NS_R1]
        cmd += [self.frr + "/sbin/bgpd", "-d", "-n", "-u", "frr", "-g", "frr",
                "-P", "0", "-M", "keep_all_routes",
                "--moduledir", self.frr + "/lib/frr/modules",
                "-f", conf, "-i", FRR_RUN + "/bgpd.pid", "-z", ZSERV,
                "--vty_socket", FRR_RUN,
                "--log", "file:" + FRR_RUN + "/bgpd.log"]
        try:
            os.unlink(FRR_RUN + "/bgpd.pid")
        except FileNotFoundError:
            pass
        start_daemon(cmd)
        self.bgpd_pid = read_pid(FRR_RUN + "/bgpd.pid")
        end = time.monotonic() + 30
        while True:
            try:
                self.vty = Vty(FRR_RUN + "/bgpd.vty")
                peer = self.peer()
                if peer is not None:
                    break
                self.vty.close()
            except (OSError, RuntimeError, ValueError):
                pass
            if time.monotonic() > end:
                raise RuntimeError("bgpd did not come up (vrf %s)" % VRF)
            time.sleep(0.1)
        self.mode = mode
        self.policy_half = False
        self.wait_idle(timeout=10)

    def stop_bgpd(self):
        if self.vty:
            self.vty.close()
            self.vty = None
        if self.bgpd_pid:
            stop_pid(self.bgpd_pid, timeout=5)
            self.bgpd_pid = None

    # -- probes --------------------------------------------------------------

    def peer(self):
        j = self.vty.json("show bgp vrf %s ipv4 unicast summary json" % VRF)
        peers = j.get("peers") or j.get("ipv4Unicast", {}).get("peers") or {}
        return peers.get(PEER_ADDR)

    def adj_in(self):
        m = re.search(r"(\d+) Adj-In entries, using (.+?) of memory",
                      self.vty.cmd("show bgp memory"))
        return (int(m.group(1)), m.group(2)) if m else (0, "0 bytes")

    def stored(self):
        j = self.vty.json("show bgp vrf %s keep-all-routes json" % VRF)
        try:
            return j[VRF]["peers"][PEER_ADDR]["ipv4Unicast"]["storedPrefixes"]
        except (KeyError, TypeError):
            for inst in j.values():
                for p in inst.get("peers", {}).values():
                    for af in p.values():
                        return af.get("storedPrefixes")
        return None

    def state(self):
        p = self.peer() or {}
        st = {"state": p.get("state"), "pfx": p.get("pfxRcd", 0),
              "up_ms": p.get("peerUptimeMsec", 0),
              "dropped": p.get("connectionsDropped", 0)}
        return st

    def wait(self, cond, timeout, what, need_adj=False):
        """Poll until cond(state) holds and bgpd has been idle for
        IDLE_WINDOW.  Returns (t_done, cpu_done_ticks, state), t_done being
        the first sample after which the condition held and bgpd used no
        more than IDLE_TICKS."""
        t_start = time.monotonic()
        samples = []                 # (t, ticks)
        since = None
        self.t_established = None
        while True:
            st = self.state()
            if need_adj:
                st["adj_in"] = self.adj_in()[0]
            now = time.monotonic()
            if st["state"] != "Established":
                self.t_established = None
            elif self.t_established is None:
                self.t_established = now
            ticks = cpu_ticks(self.bgpd_pid)
            samples.append((now, ticks))
            ok = cond(st)
            if ok and since is None:
                since = now
            elif not ok:
                since = None
            if since is not None and now - since >= IDLE_WINDOW:
                back = [s for s in samples if s[0] <= now - IDLE_WINDOW]
                if back and ticks - back[-1][1] <= IDLE_TICKS:
                    for t, k in samples:
                        if t >= since and k >= ticks - IDLE_TICKS:
                            return t, ticks, st
            if now - t_start > timeout:
                raise TimeoutError("%s: not done in %.0f s (last %s)"
                                   % (what, timeout, st))
            if len(samples) > 4000:
                samples = samples[-2000:]
            time.sleep(POLL)

    def wait_idle(self, timeout=30):
        return self.wait(lambda st: True, timeout, "idle")

    def timeout(self, factor=1.0):
        return (60 + self.n / 4000.0) * factor

    def measure(self, action, cond, what, need_adj=False, factor=1.0):
        """Run action() and wait for cond; returns wall, cpu, state."""
        pid = self.bgpd_pid
        t0 = time.monotonic()
        c0 = cpu_ticks(pid)
        action()
        t1, c1, st = self.wait(cond, self.timeout(factor), what, need_adj)
        self.t_done = t1
        return {"wall_s": round(t1 - t0, 3),
                "cpu_s": round((c1 - c0) / CLK_TCK, 2)}, st

    # -- configuration shortcuts ---------------------------------------------

    def af_config(self, *lines):
        self.vty.config("router bgp %d vrf %s" % (AS, VRF),
                        "address-family ipv4 unicast", *lines)

    def set_policy(self, half):
        self.vty.config("route-map IMPORT permit 10",
                        ("" if half else "no ") +
                        "match ip address prefix-list KB-HALF")
        self.policy_half = half

    def clear_soft_in(self):
        self.vty.cmd("clear bgp vrf %s ipv4 unicast %s soft in"
                     % (VRF, PEER_ADDR))

    def clear_hard(self):
        self.vty.cmd("clear bgp vrf %s ipv4 unicast %s" % (VRF, PEER_ADDR))

    def expect(self):
        return self.half if self.policy_half else self.n

    def full(self, st):
        return st["state"] == "Established" and st["pfx"] == self.expect()

    def ensure(self, mode, rr):
        """bgpd in `mode`, BIRD with/without route refresh, session up with
        the full table under the permissive policy."""
        if self.bird_rr != rr:
            self.start_bird(rr)
        if self.mode != mode or not self.bgpd_pid:
            self.start_bgpd(mode, shutdown=False)
        if self.policy_half:
            self.set_policy(False)
            self.clear_soft_in()
        adj = self.n if mode in ("soft", "keep") else 0
        self.wait(lambda st: self.full(st) and st["adj_in"] == adj,
                  self.timeout(3), "ensure %s" % mode, need_adj=True)

    # -- scenarios -----------------------------------------------------------

    def learn(self, mode):
        self.start_bgpd(mode, shutdown=True)
        rss0 = rss_kib(self.bgpd_pid)
        adj = self.n if mode in ("soft", "keep") else 0
        r, st = self.measure(
            lambda: self.vty.config("router bgp %d vrf %s" % (AS, VRF),
                                    "no neighbor %s shutdown" % PEER_ADDR),
            lambda st: self.full(st) and st["adj_in"] == adj,
            "learn %s" % mode, need_adj=True, factor=2)
        # learn time counted from the first poll that saw the session
        # Established (the connect itself may wait for BIRD's 1 s
        # connect/error-wait timers); polls are POLL apart
        r["wall_from_cmd_s"] = r["wall_s"]
        r["wall_s"] = round(self.t_done - self.t_established, 3)
        r["rss_mib"] = round(rss_kib(self.bgpd_pid) / 1024.0, 1)
        r["rss_delta_mib"] = round((rss_kib(self.bgpd_pid) - rss0) / 1024.0, 1)
        cnt, mem = self.adj_in()
        r["adj_in_entries"] = cnt
        r["adj_in_memory"] = mem
        if mode == "keep":
            r["stored_prefixes"] = self.stored()
        return r

    def enable(self, rr):
        self.ensure("none", rr)
        d0 = self.state()["dropped"]
        r, st = self.measure(
            lambda: self.af_config("peer %s keep-all-routes" % PEER_ADDR),
            lambda st: self.full(st) and st["adj_in"] == self.n,
            "enable rr=%s" % rr, need_adj=True, factor=2)
        r["session_resets"] = self.state()["dropped"] - d0
        r["stored_prefixes"] = self.stored()
        # back to no retention (frees the Adj-RIB-In; session stays)
        self.af_config("no peer %s keep-all-routes" % PEER_ADDR)
        self.mode = "none"
        self.wait(lambda st: self.full(st) and st["adj_in"] == 0,
                  self.timeout(), "disable", need_adj=True)
        return r

    def policy(self, method, perf_file=None):
        mode = "keep" if method == "soft-in-stored" else "none"
        self.ensure(mode, rr=True)
        d0 = self.state()["dropped"]
        self.set_policy(True)
        self.wait_idle()
        action = (self.clear_hard if method == "hard-reset"
                  else self.clear_soft_in)
        perf = None
        if perf_file:
            for old in (perf_file, perf_file + ".old"):
                if os.path.exists(old):
                    os.unlink(old)
            perf = subprocess.Popen(
                ["perf", "record", "-g", "-F", "999", "-p",
                 str(self.bgpd_pid), "-o", perf_file],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(1.0)
        try:
            if method == "hard-reset":
                cond = (lambda st: self.full(st)
                        and st["dropped"] > d0)
            else:
                cond = self.full
            r, st = self.measure(action, cond, "policy %s" % method, factor=2)
        finally:
            if perf:
                perf.send_signal(signal.SIGINT)
                try:
                    perf.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    perf.kill()
                    perf.wait()
        r["session_resets"] = self.state()["dropped"] - d0
        r["locrib_prefixes"] = st["pfx"]
        return r

    # -- driver --------------------------------------------------------------

    def run(self):
        runs = self.args.runs
        res = {"n": self.n, "runs": runs,
               "learn": {m: [] for m in ("none", "soft", "keep")},
               "enable": {"route-refresh": [], "reset": []},
               "policy": {"soft-in-stored": [], "route-refresh": [],
                          "hard-reset": []}}
        self.setup()
        only = self.args.only
        # 1. learn from scratch, modes interleaved; ends in mode none
        for i in range(runs if "learn" in only else 0):
            for m in ("keep", "soft", "none"):
                r = self.learn(m)
                log("N=%d learn %-4s run %d: %s" % (self.n, m, i + 1, r))
                res["learn"][m].append(r)
        # 3. policy change without retention: ROUTE-REFRESH, hard reset
        for method in ("route-refresh", "hard-reset"):
            for i in range(runs if "policy" in only else 0):
                r = self.policy(method)
                log("N=%d policy %s run %d: %s" % (self.n, method, i + 1, r))
                res["policy"][method].append(r)
        # 2. enable on an Established peer, ROUTE-REFRESH path
        for i in range(runs if "enable" in only else 0):
            r = self.enable(rr=True)
            log("N=%d enable route-refresh run %d: %s" % (self.n, i + 1, r))
            res["enable"]["route-refresh"].append(r)
        # 3. policy change from the stored routes
        for i in range(runs if "policy" in only else 0):
            r = self.policy("soft-in-stored")
            log("N=%d policy soft-in-stored run %d: %s" % (self.n, i + 1, r))
            res["policy"]["soft-in-stored"].append(r)
        if self.args.profile_n == self.n:
            res["profile"] = self.profile()
        # 2. enable, reset path (BIRD without route refresh)
        for i in range(runs if "enable" in only else 0):
            r = self.enable(rr=False)
            log("N=%d enable reset run %d: %s" % (self.n, i + 1, r))
            res["enable"]["reset"].append(r)
        return res

    def profile(self):
        prof = {}
        if not shutil.which("perf"):
            return {"error": "perf not installed"}
        for method in ("soft-in-stored", "route-refresh"):
            data = os.path.join(self.out, "perf-%d-%s.data" % (self.n, method))
            try:
                r = self.policy(method, perf_file=data)
            except Exception as e:              # noqa: BLE001
                prof[method] = {"error": str(e)}
                continue
            log("N=%d profiled policy %s: %s" % (self.n, method, r))
            txt = os.path.join(self.out, "perf-%d-%s.txt" % (self.n, method))
            flat = perf_report(data, children=False)
            incl = perf_report(data, children=True)
            callers = perf_callers(data, "route_next")
            with open(txt, "w") as f:
                f.write("# perf record -g -F 999 -p <bgpd> during "
                        "policy change via %s, N=%d (run under perf: %s)\n\n"
                        % (method, self.n, r))
                f.write("## self time (--no-children)\n")
                f.write(flat["text"])
                f.write("\n## inclusive time (--children)\n")
                f.write(incl["text"])
                f.write("\n## callers of route_next "
                        "(bgp_route_next is inline)\n")
                f.write(callers)
            prof[method] = {"run_under_perf": r, "report": txt, "data": data,
                            "self_top": flat["top"][:15],
                            "children_top": incl["top"][:15]}
        return prof


def perf_report(data, children):
    cmd = ["perf", "report", "-i", data, "--stdio", "-g", "none",
           "--sort", "symbol", "--percent-limit", "0.5"]
    cmd.append("--children" if children else "--no-children")
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=600).stdout
    top = []
    for line in out.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?\[[.k]\]\s+(\S+)", line)
        if m:
            top.append({"pct": float(m.group(1)),
                        "self_pct": float(m.group(2) or m.group(1)),
                        "symbol": m.group(3)})
    return {"text": out, "top": top}


def perf_callers(data, sym):
    cmd = ["perf", "report", "-i", data, "--stdio", "--no-children",
           "--sort", "symbol", "--symbols", sym, "-g", "graph,0.5,callee",
           "--percent-limit", "0.5"]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=600).stdout
    return "\n".join(out.splitlines()[:80]) + "\n"


# ---------------------------------------------------------------------------
# reporting

def med(rs, key):
    vals = [r[key] for r in rs if isinstance(r.get(key), (int, float))]
    return round(statistics.median(vals), 3) if vals else None


def summarize(res):
    s = {}
    for group in ("learn", "enable", "policy"):
        s[group] = {}
        for k, rs in res[group].items():
            if not rs:
                continue
            s[group][k] = {key: med(rs, key) for key in
                           ("wall_s", "cpu_s", "rss_mib", "rss_delta_mib",
                            "adj_in_entries", "session_resets")
                           if any(key in r for r in rs)}
            s[group][k]["cpu_runs"] = [r.get("cpu_s") for r in rs]
            s[group][k]["wall_runs"] = [r.get("wall_s") for r in rs]
            if rs and "adj_in_memory" in rs[0]:
                s[group][k]["adj_in_memory"] = rs[0]["adj_in_memory"]
    lk = s["learn"].get("keep", {})
    ls = s["learn"].get("soft", {})

    def ratio(a, b):
        return round(a / b, 3) if a and b else None
    s["ratios_keep_over_soft"] = {
        "learn_wall": ratio(lk.get("wall_s"), ls.get("wall_s")),
        "learn_cpu": ratio(lk.get("cpu_s"), ls.get("cpu_s")),
        "rss": ratio(lk.get("rss_mib"), ls.get("rss_mib")),
        "rss_delta": ratio(lk.get("rss_delta_mib"), ls.get("rss_delta_mib")),
    }
    return s


def fmt(v, nd=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def markdown(res):
    n, s = res["n"], res["summary"]
    runs = res["runs"]
    L = []
    L.append("N = %d prefixes; median of %d runs; load average at start %s, "
             "at end %s"
             % (n, runs,
                " ".join("%.2f" % x for x in res["host"]["loadavg_start"]),
                " ".join("%.2f" % x for x in res["loadavg_end"])))
    L.append("")
    L.append("| scenario | variant | wall s | bgpd CPU s | bgpd RSS MiB | "
             "RSS growth MiB | Adj-In entries | session resets | "
             "CPU s per run |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    names = {"none": "no retention", "soft": "soft-reconfiguration inbound",
             "keep": "peer keep-all-routes",
             "route-refresh": "ROUTE-REFRESH", "reset": "session reset",
             "soft-in-stored": "`clear soft in` from stored routes",
             "hard-reset": "hard reset (`clear bgp ... 10.77.0.2`)"}
    titles = {"learn": "1 learn N", "enable": "2 enable keep-all-routes",
              "policy": "3 policy change (deny half)"}
    for g in ("learn", "enable", "policy"):
        for k, v in s[g].items():
            label = names[k]
            if g == "policy" and k == "route-refresh":
                label = "`clear soft in`, no retention (ROUTE-REFRESH)"
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                titles[g], label, fmt(v.get("wall_s")), fmt(v.get("cpu_s")),
                fmt(v.get("rss_mib"), 1), fmt(v.get("rss_delta_mib"), 1),
                fmt(v.get("adj_in_entries"), 0),
                fmt(v.get("session_resets"), 0),
                " / ".join(fmt(x) for x in v.get("cpu_runs", []))))
    r = s["ratios_keep_over_soft"]
    L.append("")
    L.append("keep-all-routes / soft-reconfiguration inbound (medians, same "
             "run): learn wall %s, learn CPU %s, RSS %s, RSS growth %s; "
             "Adj-In (`show bgp memory`): %s entries, %s"
             % (fmt(r["learn_wall"], 3), fmt(r["learn_cpu"], 3),
                fmt(r["rss"], 3), fmt(r["rss_delta"], 3),
                fmt(s["learn"].get("keep", {}).get("adj_in_entries"), 0),
                s["learn"].get("keep", {}).get("adj_in_memory", "-")))
    prof = res.get("profile")
    if prof:
        for method, p in prof.items():
            if "self_top" not in p:
                L.append("\nprofile %s: %s" % (method, p.get("error")))
                continue
            L.append("")
            L.append("perf, policy change via %s (run under perf: wall %s s, "
                     "CPU %s s), self time:" % (
                         method, p["run_under_perf"]["wall_s"],
                         p["run_under_perf"]["cpu_s"]))
            L.append("")
            L.append("| self % | symbol |")
            L.append("| ---: | --- |")
            for e in p["self_top"][:10]:
                L.append("| %.2f | `%s` |" % (e["pct"], e["symbol"]))
    return "\n".join(L) + "\n"


def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    s = res["summary"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    groups = [("learn", ["none", "soft", "keep"],
               ["no retention", "soft-reconfig", "keep-all-routes"]),
              ("enable", ["route-refresh", "reset"],
               ["ROUTE-REFRESH", "session reset"]),
              ("policy", ["soft-in-stored", "route-refresh", "hard-reset"],
               ["soft in (stored)", "ROUTE-REFRESH", "hard reset"])]
    titles = {"learn": "learn N prefixes", "enable": "enable keep-all-routes",
              "policy": "policy change: deny half"}
    for ax, (g, keys, labels) in zip(axes, groups):
        x = range(len(keys))
        wall = [s[g].get(k, {}).get("wall_s") or 0 for k in keys]
        cpu = [s[g].get(k, {}).get("cpu_s") or 0 for k in keys]
        ax.bar([i - 0.2 for i in x], wall, 0.4, label="wall s")
        ax.bar([i + 0.2 for i in x], cpu, 0.4, label="bgpd CPU s")
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_title(titles[g])
        ax.legend(fontsize=8, loc="upper left")
        ax.set_ylabel("seconds")
        ax.set_ylim(0, max(wall + cpu + [0.01]) * 1.35)
        if g == "learn":
            rss = [s[g].get(k, {}).get("rss_mib") or 0 for k in keys]
            ax2 = ax.twinx()
            ax2.plot(list(x), rss, "ko-", label="bgpd RSS MiB")
            ax2.set_ylabel("bgpd RSS MiB")
            ax2.set_ylim(0, max(rss + [1]) * 1.6)
            ax2.legend(fontsize=8, loc="upper right")
    fig.suptitle("FRR 8.4.4 bgpd, peer keep-all-routes, N = %d (median of %d)"
                 % (res["n"], res["runs"]))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def host_info():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    bird = subprocess.run(["bird", "--version"], capture_output=True,
                          text=True)
    return {"cores": os.cpu_count(), "cpu": cpu, "mem_mib": mem,
            "kernel": platform.release(),
            "bird": (bird.stdout + bird.stderr).strip(),
            "loadavg_start": list(os.getloadavg())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="*", type=int)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(TOP, "bench-results"))
    ap.add_argument("--frr", default=os.path.join(TOP, "build", "install"))
    ap.add_argument("--profile", action="store_true",
                    help="perf-profile the replay at the largest N")
    ap.add_argument("--only", default="learn,enable,policy",
                    help="comma-separated scenario groups to run")
    ap.add_argument("--cleanup", action="store_true",
                    help="only remove kb* namespaces and their processes")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_kar: must run as root")
    if args.cleanup:
        cleanup()
        return
    if not args.n:
        args.n = [100000, 1000000]
    for n in args.n:
        if not 2 <= n <= MAX_N:
            sys.exit("bench_kar: N must be in 2..%d" % MAX_N)
    args.profile_n = max(args.n) if args.profile else None
    args.only = set(args.only.split(","))
    os.makedirs(args.out, exist_ok=True)
    global DAEMON_LOG
    DAEMON_LOG = os.path.join(args.out, "daemons.log")

    def on_signal(signum, frame):
        # once: let the clean-up below finish undisturbed
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    summary_md = []
    try:
        for n in args.n:
            host = host_info()
            t_start = time.monotonic()
            log("N=%d: start (load average %s)" % (n, host["loadavg_start"]))
            b = Bench(args, n, args.frr)
            try:
                res = b.run()
            finally:
                b.stop_bgpd()
                b.stop_bird()
                cleanup()
            res["host"] = host
            res["loadavg_end"] = list(os.getloadavg())
            res["date"] = datetime.datetime.now().astimezone().isoformat(
                timespec="seconds")
            res["command"] = " ".join(sys.argv)
            res["bgpd"] = os.path.realpath(
                os.path.join(args.frr, "sbin", "bgpd"))
            res["bgpd_mtime"] = time.strftime(
                "%Y-%m-%dT%H:%M:%S",
                time.localtime(os.path.getmtime(res["bgpd"])))
            res["setup"] = ("netns kbr1: zebra --vrfwnetns + bgpd -n -M "
                            "keep_all_routes, VRF kbvpna = netns; BIRD %s in "
                            "netns kbpeer, iBGP, N static /24" % host["bird"])
            res["summary"] = summarize(res)
            res["total_wall_s"] = round(time.monotonic() - t_start, 1)
            base = os.path.join(args.out, "kar-bench-%d" % n)
            with open(base + ".json", "w") as f:
                json.dump(res, f, indent=1)
            md = ("## N = %d (%s, %d cores, %s; total %.0f s)\n\n"
                  % (n, res["date"], host["cores"], host["cpu"],
                     res["total_wall_s"]) + markdown(res))
            with open(base + ".md", "w") as f:
                f.write(md)
            if plot(res, base + ".png"):
                md += "\nplot: %s.png\n" % base
            summary_md.append(md)
            print(md, flush=True)
            log("N=%d: done in %.0f s" % (n, res["total_wall_s"]))
    finally:
        cleanup()
    with open(os.path.join(args.out, "kar-bench-%s.md" % stamp), "w") as f:
        f.write("\n".join(summary_md))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as e:
        sys.exit("bench_kar: interrupted (%s); cleaned up" % (e or "SIGINT"))
