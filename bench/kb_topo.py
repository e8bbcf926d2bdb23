"""The benchmark's topology: plain network namespaces, FRR from a packaged
root, and BIRD 2 both as the peer that sends N prefixes and as the anchor
that receives them.  Every name starts with "kb", so it never meets the
topotests' names.

    netns kbr1    zebra --vrfwnetns, bgpd -n -M keep_all_routes
                  (router bgp 100 vrf kbvpna; -n: no FIB installation, so
                  the figures are bgpd's own work)
    netns kbvpna  VRF kbvpna of r1: veth kbv0 10.77.0.1/24 (and .101-.189,
                  one per more FRR peer)
    netns kbpeer  BIRD 2 "sender": veth kbv1 10.77.0.2/24 (and .3-.91 for
                  more FRR peers), veth kbw0 10.78.0.2/24 (and .3-.91 for
                  more receiver sessions); exports N static /24 prefixes
                  over iBGP (AS 100) to FRR and to the receiver
    netns kbrx    BIRD 2 "receiver" (the anchor): veth kbw1 10.78.0.1/24
                  (and .101-.189), `import table on`, the same import
                  policy as FRR's, one session per FRR peer measured
"""

import os
import shutil
import time

from kb_proc import (Birdc, Vty, alive, cleanup, cpu_ns, read_pid, sh,
                     start_daemon, stop_pid)

NS_R1, NS_VRF, NS_PEER, NS_RX = "kbr1", "kbvpna", "kbpeer", "kbrx"
NAMESPACES = (NS_R1, NS_VRF, NS_PEER, NS_RX)
VRF = NS_VRF
R1_ADDR, RX_ADDR, RXPEER_ADDR = "10.77.0.1", "10.78.0.1", "10.78.0.2"
# 90: the peers of FRRouting/frr #20527 (bgpd frozen by `clear * soft in`);
# the addresses below stay in their /24s (.2-.91 and .100-.189).
MAX_PEERS = 90
PEER_ADDRS = ["10.77.0.%d" % (2 + i) for i in range(MAX_PEERS)]
PEER_ADDR = PEER_ADDRS[0]
# BIRD 2 locks a BGP session by its remote address: sessions to one address
# run one at a time, the others wait Idle.  So peer i talks to its own
# address of r1 (update-source), peer 0 to R1_ADDR.
R1_ADDRS = [R1_ADDR] + ["10.77.0.%d" % (100 + i) for i in range(1, MAX_PEERS)]
# The same for the receiver's sessions (the many-peers anchor): sender
# address i to receiver address i.
RXPEER_ADDRS = [RXPEER_ADDR] + ["10.78.0.%d" % (2 + i)
                                for i in range(1, MAX_PEERS)]
RX_ADDRS = [RX_ADDR] + ["10.78.0.%d" % (100 + i) for i in range(1, MAX_PEERS)]
HOLD = 240          # BIRD's hold time; bgpd's is its default or `hold`
AS = 100
FRR_RUN = "/var/run/frr-kb"
BIRD_RUN = "/run/kb-bird"
RUN_DIRS = (FRR_RUN, BIRD_RUN)
ZSERV = FRR_RUN + "/zserv.api"
MULTIARCH = "x86_64-linux-gnu"

# Prefix i is a /24: even i in 64.0.0.0/5, odd i in 96.0.0.0/5, so that the
# "deny half" policy is two prefix-list lines and denies floor(N/2) prefixes.
HALF_BASE = (64 << 24, 96 << 24)
MAX_N = 2 * (1 << 19)

FRR_POLICY = """\
bgp route-map delay-timer 0
!
ip prefix-list KB-HALF seq 5 deny 96.0.0.0/5 le 32
ip prefix-list KB-HALF seq 10 permit 0.0.0.0/0 le 32
!
route-map IMPORT permit 10
exit
!"""

BIRD_FILTERS = {
    False: "filter kb_import { accept; }",
    True: "filter kb_import { if net ~ [ 96.0.0.0/5+ ] then reject; accept; }",
}


def prefix(i):
    a = HALF_BASE[i & 1] + ((i >> 1) << 8)
    return "%d.%d.%d.0/24" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255)


def rx_name(i):
    """The receiver's protocol (and the sender's session) number i."""
    return "kbrx" if i == 0 else "kbrx%d" % i


class Frr:
    """One FRR build, unpacked from its packages (dpkg -x) into root."""

    def __init__(self, label, root, libdirs=(), cputime_stats=True,
                 hugepages=False, sysroot=None, tunables=None):
        self.label = label
        # FRR 10 reads the thread CPU clock (a system call) around every
        # task and route-map application when this is on, its default.
        self.cputime_stats = cputime_stats
        self.root = os.path.abspath(root)
        self.sbin = os.path.join(self.root, "usr/lib/frr")
        self.moduledir = os.path.join(self.root, "usr/lib", MULTIARCH,
                                      "frr/modules")
        libs = [os.path.join(self.root, "usr/lib", MULTIARCH, "frr")]
        libs += list(libdirs)
        # A build for another Debian (FRR 10.7: forky) runs under that
        # Debian's dynamic loader and libraries, unpacked in sysroot (the
        # line's chroot), so that it is measured in the same run, against
        # the same BIRD, as the lines of this machine.  The loader searches
        # only the paths given (--inhibit-cache: not this machine's
        # ld.so.cache); libyang reads its own YANG modules from a path it
        # was built with, so the daemon runs in a mount namespace of its
        # own where that Debian's /usr/share/yang is mounted on this one's.
        self.sysroot = sysroot and os.path.abspath(sysroot)
        self.prefix = self.loader = []
        if self.sysroot:
            sys_lib = os.path.join(self.sysroot, "usr/lib", MULTIARCH)
            ld = os.path.join(sys_lib, "ld-linux-x86-64.so.2")
            if not os.access(ld, os.X_OK):
                raise SystemExit("bench: no dynamic loader %s" % ld)
            self.prefix = ["unshare", "--mount", "--propagation", "private",
                           "--", "/bin/sh", "-c",
                           'mount --bind "$1" "$2" && shift 2 && exec "$@"',
                           "sh", os.path.join(self.sysroot, "usr/share/yang"),
                           "/usr/share/yang"]
            self.loader = [ld, "--inhibit-cache", "--library-path",
                           ":".join(libs + [sys_lib])]
            self.env = dict(os.environ)
        else:
            self.env = dict(os.environ, LD_LIBRARY_PATH=":".join(libs))
        # glibc then asks for transparent huge pages for its heap
        # (madvise), which a kernel in `madvise` mode gives only on request:
        # it tells how much of bgpd's cost at 1M is TLB misses.
        self.hugepages = hugepages
        # glibc's tunables for the daemons (e.g. glibc.malloc.mxfast=0)
        self.tunables = tunables
        tun = ([tunables] if tunables else []) + (
            ["glibc.malloc.hugetlb=1"] if hugepages else [])
        if tun:
            self.env["GLIBC_TUNABLES"] = ":".join(tun)
        for daemon in ("bgpd", "zebra"):
            if not os.access(os.path.join(self.sbin, daemon), os.X_OK):
                raise SystemExit("bench: no %s in %s" % (daemon, self.sbin))

    def cmd(self, daemon, wrapper=()):
        """The command that starts daemon of this build (under wrapper,
        e.g. valgrind)."""
        return (self.prefix + list(wrapper) + self.loader +
                [os.path.join(self.sbin, daemon)])

    def describe(self):
        bgpd = os.path.join(self.sbin, "bgpd")
        return {"label": self.label, "root": self.root,
                "sysroot": self.sysroot,
                "cputime_stats": self.cputime_stats,
                "hugepages": self.hugepages,
                "tunables": self.tunables,
                "bgpd_mtime": time.strftime(
                    "%Y-%m-%dT%H:%M:%S",
                    time.localtime(os.path.getmtime(bgpd)))}


class Topology:
    def __init__(self, out):
        self.daemon_log = os.path.join(out, "daemons.log")
        self.frr = None              # the FRR build zebra/bgpd run from
        self.zebra_pid = self.bgpd_pid = None
        self.sender_pid = self.rx_pid = None
        self.vty = None
        self.retired_s = 0.0         # CPU of our daemons that have ended
        self.bgpd_wrapper = []       # a command bgpd runs under (valgrind)

    # -- namespaces ------------------------------------------------------

    def setup(self):
        cleanup(NAMESPACES, RUN_DIRS)
        for ns in NAMESPACES:
            sh(["ip", "netns", "add", ns])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        for a, b, ns_a, ns_b in (("kbv0", "kbv1", NS_VRF, NS_PEER),
                                 ("kbw0", "kbw1", NS_PEER, NS_RX)):
            sh(["ip", "-n", ns_a, "link", "add", a, "type", "veth",
                "peer", "name", b, "netns", ns_b])
        addrs = [(NS_VRF, "kbv0", a) for a in R1_ADDRS]
        addrs += [(NS_PEER, "kbv1", a) for a in PEER_ADDRS]
        addrs += [(NS_PEER, "kbw0", a) for a in RXPEER_ADDRS]
        addrs += [(NS_RX, "kbw1", a) for a in RX_ADDRS]
        for ns, dev, addr in addrs:
            sh(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev])
        for ns, dev in ((NS_VRF, "kbv0"), (NS_PEER, "kbv1"),
                        (NS_PEER, "kbw0"), (NS_RX, "kbw1")):
            sh(["ip", "-n", ns, "link", "set", dev, "up"])
        for d in RUN_DIRS:
            os.makedirs(d, exist_ok=True)
        shutil.chown(FRR_RUN, "frr", "frr")

    def teardown(self):
        self.stop_frr()
        self.stop_bird()
        cleanup(NAMESPACES, RUN_DIRS)

    def own_cpu_s(self):
        """CPU used so far by every daemon the bench started."""
        live = 0
        for pid in (self.zebra_pid, self.bgpd_pid, self.sender_pid,
                    self.rx_pid):
            if pid and alive(pid):
                live += cpu_ns(pid)
        return self.retired_s + live / 1e9

    def _stop(self, pid, timeout=5.0):
        if pid and alive(pid):
            self.retired_s += cpu_ns(pid) / 1e9
            stop_pid(pid, timeout)

    # -- FRR -------------------------------------------------------------

    def start_zebra(self, frr):
        self.stop_frr()
        conf = FRR_RUN + "/zebra.conf"
        with open(conf, "w") as f:
            f.write("hostname kbr1\n")
        shutil.chown(conf, "frr", "frr")
        start_daemon(["ip", "netns", "exec", NS_R1] + frr.cmd("zebra") +
                     ["-d", "--vrfwnetns", "-u", "frr", "-g", "frr", "-P",
                      "0", "-f", conf, "-i", FRR_RUN + "/zebra.pid", "-z",
                      ZSERV, "--vty_socket", FRR_RUN,
                      "--log", "file:" + FRR_RUN + "/zebra.log"],
                     self.daemon_log, frr.env)
        self.zebra_pid = read_pid(FRR_RUN + "/zebra.pid")
        self.frr = frr

    def bgpd_conf(self, frr, mode, shutdown, peers, hold=None):
        lines = ["hostname kbr1"]
        if not frr.cputime_stats:
            lines.append("no service cputime-stats")
        lines += [FRR_POLICY,
                 "router bgp %d vrf %s" % (AS, VRF),
                 " bgp router-id " + R1_ADDR,
                 " no bgp ebgp-requires-policy",
                 " no bgp network import-check"]
        for addr, local in zip(PEER_ADDRS[:peers], R1_ADDRS):
            lines += [" neighbor %s remote-as %d" % (addr, AS),
                      " neighbor %s timers connect 1" % addr]
            if hold:
                lines.append(" neighbor %s timers %d %d"
                             % (addr, hold // 3, hold))
            if local != R1_ADDR:
                lines.append(" neighbor %s update-source %s" % (addr, local))
            if shutdown:
                lines.append(" neighbor %s shutdown" % addr)
        lines.append(" address-family ipv4 unicast")
        for addr in PEER_ADDRS[:peers]:
            lines.append("  neighbor %s route-map IMPORT in" % addr)
            if mode == "soft":
                lines.append("  neighbor %s soft-reconfiguration inbound"
                             % addr)
            elif mode == "keep":
                lines.append("  peer %s keep-all-routes" % addr)
        lines += [" exit-address-family", "exit", ""]
        return "\n".join(lines)

    def start_bgpd(self, frr, mode, shutdown, peers=1, hold=None):
        """A fresh bgpd of build frr (and its zebra) in retention mode
        none, soft (native soft-reconfiguration inbound) or keep, with
        `peers` peers (hold time `hold`, else bgpd's default)."""
        if self.frr is not frr or not alive(self.zebra_pid):
            self.start_zebra(frr)
        self.stop_bgpd()
        conf = FRR_RUN + "/bgpd.conf"
        with open(conf, "w") as f:
            f.write(self.bgpd_conf(frr, mode, shutdown, peers, hold))
        shutil.chown(conf, "frr", "frr")
        try:
            os.unlink(FRR_RUN + "/bgpd.pid")
        except FileNotFoundError:
            pass
        # under a wrapper bgpd stays in the foreground: a daemonizing
        # parent would end under valgrind too, and fail to write its file
        wrapped = bool(self.bgpd_wrapper)
        start_daemon(["ip", "netns", "exec", NS_R1] +
                     frr.cmd("bgpd", self.bgpd_wrapper) +
                     ([] if wrapped else ["-d"]) +
                     ["-n", "-u", "frr", "-g", "frr", "-P", "0",
                      "-M", "keep_all_routes", "--moduledir", frr.moduledir,
                      "-f", conf, "-i", FRR_RUN + "/bgpd.pid", "-z", ZSERV,
                      "--vty_socket", FRR_RUN,
                      "--log", "file:" + FRR_RUN + "/bgpd.log"],
                     self.daemon_log, frr.env, forks=not wrapped)
        # valgrind slows bgpd's start-up (YANG modules) about tenfold
        bound = 300 if wrapped else 30
        self.bgpd_pid = read_pid(FRR_RUN + "/bgpd.pid", bound)
        end = time.monotonic() + bound
        while True:
            try:
                self.vty = Vty(FRR_RUN + "/bgpd.vty")
                j = self.vty.json("show bgp vrf %s ipv4 unicast summary json"
                                  % VRF)
                if PEER_ADDR in (j.get("peers") or {}):
                    return
                self.vty.close()
            except (OSError, RuntimeError, ValueError):
                pass
            if time.monotonic() > end:
                raise RuntimeError("bgpd did not come up (vrf %s)" % VRF)
            time.sleep(0.1)

    def stop_bgpd(self):
        if self.vty:
            self.vty.close()
            self.vty = None
        # under valgrind, bgpd's exit (and callgrind's file) takes a while
        self._stop(self.bgpd_pid, 300 if self.bgpd_wrapper else 5)
        self.bgpd_pid = None

    def stop_frr(self):
        self.stop_bgpd()
        self._stop(self.zebra_pid)
        self.zebra_pid = None
        self.frr = None

    # -- BIRD ------------------------------------------------------------

    def write_sender_conf(self, n, rr, peers, rx_peers=1):
        routes = BIRD_RUN + "/routes-%d.conf" % n
        if not os.path.exists(routes):
            with open(routes + ".tmp", "w") as f:
                f.write("protocol static kbs {\n ipv4;\n")
                f.writelines(" route %s blackhole;\n" % prefix(i)
                             for i in range(n))
                f.write("}\n")
            os.rename(routes + ".tmp", routes)
        conf = ["router id %s;" % PEER_ADDR,
                'log "%s/sender.log" { warning, error, fatal };' % BIRD_RUN,
                "# BIRD 2.0 may leave its last queued TX event until the",
                "# next wake-up of its event loop (poll timeout 3 s); a 1 s",
                "# device scan bounds that stall.",
                "protocol device { scan time 1; }",
                'include "%s";' % routes]
        sessions = [("kbr1_%d" % i, PEER_ADDRS[i], R1_ADDRS[i], rr)
                    for i in range(peers)]
        sessions += [(rx_name(i), RXPEER_ADDRS[i], RX_ADDRS[i], True)
                     for i in range(rx_peers)]
        for name, local, neigh, with_rr in sessions:
            conf += ["protocol bgp %s {" % name,
                     "  local %s as %d;" % (local, AS),
                     "  neighbor %s as %d;" % (neigh, AS),
                     "  direct; hold time %d; connect retry time 1;" % HOLD,
                     "  connect delay time 1; error wait time 1, 2;",
                     "" if with_rr else "  enable route refresh off;",
                     "  ipv4 { import none; export all; next hop self; };",
                     "}"]
        path = BIRD_RUN + "/sender.conf"
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        return path

    def write_rx_conf(self, half, peers=1, hold=HOLD):
        path = BIRD_RUN + "/rx-%s.conf" % ("half" if half else "all")
        conf = ["router id %s;" % RX_ADDR,
                'log "%s/rx.log" { warning, error, fatal };' % BIRD_RUN,
                "protocol device { scan time 1; }",
                BIRD_FILTERS[half]]
        for i in range(peers):
            conf += ["protocol bgp %s {" % rx_name(i),
                     "  local %s as %d;" % (RX_ADDRS[i], AS),
                     "  neighbor %s as %d;" % (RXPEER_ADDRS[i], AS),
                     "  direct; hold time %d; connect retry time 1;" % hold,
                     "  connect delay time 1; error wait time 1, 2;",
                     "  ipv4 { import table on; import filter kb_import;",
                     "         export none; };",
                     "}"]
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        return path

    def start_sender(self, n, rr=True, peers=1, rx_peers=1):
        self._stop(self.sender_pid)
        conf = self.write_sender_conf(n, rr, peers, rx_peers)
        start_daemon(["ip", "netns", "exec", NS_PEER, "bird", "-c", conf,
                      "-s", BIRD_RUN + "/sender.ctl",
                      "-P", BIRD_RUN + "/sender.pid"], self.daemon_log)
        self.sender_pid = read_pid(BIRD_RUN + "/sender.pid")
        self.sender = (n, rr, peers, rx_peers)

    def reconfigure_sender(self, n, rr, peers):
        """Same routes, other sessions: BIRD restarts only the sessions
        whose options changed."""
        conf = self.write_sender_conf(n, rr, peers)
        c = Birdc(BIRD_RUN + "/sender.ctl")
        try:
            c.cmd('configure "%s"' % conf)
        finally:
            c.close()
        self.sender = (n, rr, peers, 1)

    def start_rx(self, peers=1, hold=HOLD):
        """The receiving BIRD with `peers` sessions from the sender."""
        self._stop(self.rx_pid)
        conf = self.write_rx_conf(False, peers, hold)
        self.write_rx_conf(True, peers, hold)
        start_daemon(["ip", "netns", "exec", NS_RX, "bird", "-c", conf,
                      "-s", BIRD_RUN + "/rx.ctl", "-P", BIRD_RUN + "/rx.pid"],
                     self.daemon_log)
        self.rx_pid = read_pid(BIRD_RUN + "/rx.pid")

    def stop_bird(self):
        self._stop(self.rx_pid)
        self._stop(self.sender_pid)
        self.rx_pid = self.sender_pid = None
