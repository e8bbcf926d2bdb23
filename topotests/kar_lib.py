"""
Shared topology and observations for the keep-all-routes topotests.

Topology (iBGP, AS 100, as in the vendor's example):

        r2 (route-refresh)     r3 (no capabilities at all)
         | eth0   | eth1         | eth0   | eth1
    s1 --+--------|--------------+        |        (VRF vpna side)
    s2 -----------+-----------------------+        (default instance side)
         |                       |
        r1-eth0 (netns VRF vpna) r1-eth1 (default)

Every observation here is what an operator would read from vtysh: neighbor
counters, received-routes/filtered-routes, the Loc-RIB, running-config.
Waits poll for a state with a bound; nothing sleeps and hopes.
"""

import json
import os
import re
import sys
import time

CWD = os.path.dirname(os.path.abspath(__file__))
# The tests run from inside FRR's tests/topotests (build/frr), where this
# directory is linked as kar/: FRR's topotest library is one level up.
sys.path.insert(0, os.path.join(CWD, ".."))

from lib import topotest  # noqa: E402
from lib.topogen import Topogen, TopoRouter  # noqa: E402
from lib.topolog import logger  # noqa: E402,F401

VRF = "vpna"
# bgpd's module directory in the packages under test (scripts/lib.sh's
# kar_topotest_env says where they are unpacked), and the options that
# load the module from it.  KAR_MODULE names the module to load: the
# packaged one by default, or a path (scripts/topotests.sh sets the one
# `make` built in build/module-LINE when KAR_MODULE_BUILD=1).
MODULEDIR_ARGS = ["--moduledir", os.environ["KAR_MODULEDIR"]] if os.environ.get(
    "KAR_MODULEDIR") else []
KAR_MODULE = os.environ.get("KAR_MODULE") or "keep_all_routes"
# The test-only second consumer of the Adj-RIB-In (tests/consumer/), built
# by scripts/build-module.sh.
TEST_CONSUMER = os.environ.get("KAR_TEST_CONSUMER", "")


def modules(*more):
    """bgpd's options that load keep_all_routes and the modules named."""
    return " ".join(
        "-M {}".format(m) for m in (KAR_MODULE,) + more
    ) + "".join(" " + a for a in MODULEDIR_ARGS)


MODULE = modules()

# What each peer originates, per AF; r1's import policy accepts .1-.3.
SENT = {
    "r2": {
        "ipv4": {"172.16.2.%d/32" % i for i in range(1, 7)},
        "ipv6": {"fd00:2:1::%d/128" % i for i in range(1, 7)},
    },
    # r3's ipv6 unicast routes travel only over its IPv6 sessions.
    "r3": {
        "ipv4": {"172.16.3.%d/32" % i for i in range(1, 7)},
        "ipv6": {"fd00:3:1::%d/128" % i for i in range(1, 7)},
    },
}
ACCEPTED = {
    "r2": {
        "ipv4": {"172.16.2.%d/32" % i for i in range(1, 4)},
        "ipv6": {"fd00:2:1::%d/128" % i for i in range(1, 4)},
    },
    "r3": {
        "ipv4": {"172.16.3.%d/32" % i for i in range(1, 4)},
        "ipv6": {"fd00:3:1::%d/128" % i for i in range(1, 4)},
    },
}

# r1's address for each peer, per instance.
PEER_ADDR = {
    VRF: {"r2": "10.0.1.2", "r3": "10.0.1.3"},
    "default": {"r2": "10.0.2.2", "r3": "10.0.2.3"},
}
# The peers' view of r1, per instance.
R1_ADDR = {VRF: "10.0.1.1", "default": "10.0.2.1"}
# The same over IPv6 (sessions added by add_ipv6_peer_sessions()).
PEER_ADDR6 = {
    VRF: {"r2": "fd00:1::2", "r3": "fd00:1::3"},
    "default": {"r2": "fd00:2::2", "r3": "fd00:2::3"},
}
R1_ADDR6 = {VRF: "fd00:1::1", "default": "fd00:2::1"}

INSTANCES = [VRF, "default"]

# Where the tests keep their peers' files: one directory per run, so that
# runs of different FRR lines can go on side by side (scripts/topotests.sh
# sets it per line).
RUN_BASE = os.environ.get("KAR_RUN_BASE") or "/tmp"


def run_dir(name):
    return os.path.join(RUN_BASE, name)


def build_topo(tgen):
    for name in ("r1", "r2", "r3"):
        tgen.add_router(name)
    s1 = tgen.add_switch("s1")
    s2 = tgen.add_switch("s2")
    for name in ("r1", "r2", "r3"):
        s1.add_link(tgen.gears[name])
    for name in ("r1", "r2", "r3"):
        s2.add_link(tgen.gears[name])


# Debian builds vtysh with PAM: without the package's /etc/pam.d/frr,
# root's vtysh fails to authenticate and prints nothing.  This vtysh.conf
# line lets root in (each router's /etc/frr is private to it).
VTYSH_ROOT = "username root nopassword"


def allow_root_vtysh(tgen):
    """Before the routers start (the topotest library appends its own
    service line to vtysh.conf then)."""
    for router in tgen.routers().values():
        router.run("grep -qxF '{0}' /etc/frr/vtysh.conf 2>/dev/null || "
                   "echo '{0}' >> /etc/frr/vtysh.conf".format(VTYSH_ROOT))


def write_vtysh_conf(router, *lines):
    """Replace a router's vtysh.conf, keeping root's access."""
    write_file(router, "/etc/frr/vtysh.conf", "\n".join((VTYSH_ROOT,) + lines))


def netns_vrf(router):
    """Make router's VRFs network namespaces; returns zebra's option for it.
    FRR 8.4 has it as zebra's --vrfwnetns; from 9.0 every daemon takes -w,
    which the topotest library's use_netns_vrf() adds to each."""
    if hasattr(router, "use_netns_vrf"):
        router.use_netns_vrf()
        return None
    return "--vrfwnetns"


def start(module_name, r1_bgpd_conf=None, with_module=True, wait=True, r1_modules=()):
    """Start the topology; r1 gets VRF vpna as a network namespace.  With
    wait, return once r1's IPv4 sessions of bgpd.conf are up.  r1's bgpd
    loads the module (unless with_module is false) and r1_modules."""
    tgen = Topogen(build_topo, module_name)
    tgen.start_topology()
    allow_root_vtysh(tgen)
    r1 = r1_in_vrf(tgen)
    for name, router in tgen.routers().items():
        extra = netns_vrf(router) if name == "r1" else None
        router.load_config(
            TopoRouter.RD_ZEBRA, os.path.join(CWD, name, "zebra.conf"), extra
        )
        conf = os.path.join(CWD, name, "bgpd.conf")
        if name == "r1" and r1_bgpd_conf:
            conf = r1_bgpd_conf
        router.load_config(
            TopoRouter.RD_BGP,
            conf,
            modules(*r1_modules) if (name == "r1" and with_module) else None,
        )
    tgen.start_router()
    restore_link_local(r1, VRF, "r1-eth0")
    for inst in INSTANCES if wait else ():
        for peer in ("r2", "r3"):
            wait_established(tgen, inst, peer)
    return tgen


def quick_peers(tgen):
    """r2 and r3 announce as soon as a session comes up instead of after
    the update-group coalesce time (1 s and more): every reset refills
    sooner.  Only for modules that never restart r1's bgpd: bgpd 8.4 reads
    `neighbor X route-map IMPORT in` from its file before IMPORT exists,
    resolves the name only when the route-map delay-timer (1 s) fires, and
    until then denies what arrives; r3, which cannot refresh, keeps those
    verdicts."""
    for name in ("r2", "r3"):
        out = vtysh(tgen.gears[name], "configure terminal", "router bgp 100", "coalesce-time 0")
        assert not out.strip(), out


def add_ipv6_peer_sessions(tgen):
    """The peers' side of IPv6 sessions (ipv6 unicast only) to r1 in both
    instances: r2 with route-refresh, r3 without any capability, sending
    fd00:3:1::1-6; passive, as in their files.  r1's side is up to the
    test."""
    r2, r3 = tgen.gears["r2"], tgen.gears["r3"]
    vtysh(r3, "configure terminal", "interface r3-eth0", "ipv6 address fd00:1::3/64",
          "exit", "interface r3-eth1", "ipv6 address fd00:2::3/64")
    for router, extra in ((r2, ["passive"]), (r3, ["passive", "dont-capability-negotiate"])):
        lines = []
        for r1_addr in R1_ADDR6.values():
            lines += session_lines(r1_addr, *extra)
            lines += ["address-family ipv4 unicast",
                      "no neighbor {} activate".format(r1_addr),
                      "exit-address-family",
                      "address-family ipv6 unicast",
                      "neighbor {} activate".format(r1_addr),
                      "exit-address-family"]
        vtysh(router, "configure terminal", "router bgp 100", *lines)
    vtysh(r3, "configure terminal", "router bgp 100", "address-family ipv6 unicast",
          *["network {}".format(p) for p in sorted(SENT["r3"]["ipv6"])])


def hosts_topo(hosts):
    """build_topo of r1 and hosts {name: address} on switch s1 (r1-eth0),
    each with a route via r1."""
    def build_topo(tgen):
        tgen.add_router("r1")
        s1 = tgen.add_switch("s1")
        s1.add_link(tgen.gears["r1"])
        for name, addr in hosts.items():
            tgen.add_host(name, addr + "/24", "via 10.0.1.1")
            s1.add_link(tgen.gears[name])
    return build_topo


def bird_routes_file(path, prefixes):
    """A BIRD 2 file defining protocol static s1 with prefixes (blackhole
    routes), for a sender's `include`."""
    with open(path, "w") as f:
        f.write("protocol static s1 {\n ipv4;\n")
        f.writelines(" route {} blackhole;\n".format(p) for p in sorted(prefixes))
        f.write("}\n")


def start_r1_and_hosts(module_name, build_topo, r1_bgpd_conf):
    """Start a topology of r1 (VRF vpna as a network namespace on r1-eth0,
    bgpd with the module) and hosts that run other BGP speakers."""
    tgen = Topogen(build_topo, module_name)
    tgen.start_topology()
    allow_root_vtysh(tgen)
    r1 = r1_in_vrf(tgen)
    r1.load_config(TopoRouter.RD_ZEBRA, os.path.join(CWD, "r1", "zebra.conf"), netns_vrf(r1))
    r1.load_config(TopoRouter.RD_BGP, r1_bgpd_conf, MODULE)
    tgen.start_router()
    return tgen


def start_r1_with_conf(module_name, build_topo, run, r1_bgpd_conf):
    """start_r1_and_hosts() with bgpd's configuration given as text
    (written to run/r1-bgpd.conf)."""
    os.makedirs(run, exist_ok=True)
    path = os.path.join(run, "r1-bgpd.conf")
    with open(path, "w") as f:
        f.write(r1_bgpd_conf)
    return start_r1_and_hosts(module_name, build_topo, path)


def start_bird(host, run, name, conf):
    """BIRD 2 on host with configuration conf, its files run/name.*
    (.conf, .ctl, .pid: stop it with kill $(cat run/name.pid))."""
    write_file(host, "{}/{}.conf".format(run, name), conf)
    host.run("bird -c {0}/{1}.conf -s {0}/{1}.ctl -P {0}/{1}.pid".format(run, name))


def r1_in_vrf(tgen):
    """Move r1-eth0 into network namespace vpna (VRF vpna for zebra
    in netns mode, see netns_vrf()); stop() moves it back.  The namespace
    is named in r1's own /run/netns (a tmpfs in r1's private mount
    namespace, where r1's zebra watches): a namespace `vpna` of the machine
    or of another test run is neither seen nor touched."""
    r1 = tgen.gears["r1"]
    r1.net.tmpfs_mount("/run/netns")
    r1.net.add_netns(VRF)
    r1.net.set_intf_netns("r1-eth0", VRF, up=True)
    return r1


def restore_link_local(router, ns, intf):
    """Give intf, moved into namespace ns, its EUI-64 link-local address
    back.  topotest's startRouter() flushes every address of the router's
    interfaces, those moved into a namespace included, but restores
    link-local addresses only in the router's own namespace; without one
    bgpd refuses IPv6 sessions on the interface ("nexthop_set failed")."""
    mac = router.run("ip netns exec {} cat /sys/class/net/{}/address".format(ns, intf))
    b = [int(x, 16) for x in mac.strip().split(":")]
    b[0] ^= 2
    ll = "fe80::{:x}:{:x}ff:fe{:x}:{:x}".format(
        b[0] << 8 | b[1], b[2], b[3], b[4] << 8 | b[5])
    router.run("ip netns exec {} ip address add dev {} scope link {}/64".format(ns, intf, ll))


def stop(tgen):
    """Undo start() in reverse: the daemons first, then r1's namespace.
    Deleting a namespace under a running zebra is a test of its own
    (test_kar_faults.py); done here after a test that installed many routes
    in it, zebra 10.7 can crash on the namespace's freed netlink socket in its
    dataplane thread (FRRouting/frr #22933, open upstream)."""
    stop_daemons(tgen)
    tgen.net["r1"].reset_intf_netns("r1-eth0")
    tgen.net["r1"].delete_netns(VRF)
    tgen.stop_topology()


def daemon_pids(router):
    out = router.run("cat /var/run/frr/*.pid 2>/dev/null")
    return [p for p in out.split() if p.isdigit()]


def alive(router, pid):
    """Whether a process runs; a zombie is dead (it only waits for the
    namespace's init to reap it)."""
    state = router.run("grep -s '^State:' /proc/{}/status".format(pid)).strip()
    return state != "" and "(zombie)" not in state


def stop_daemons(tgen, timeout=60):
    """SIGTERM every daemon of every router at once and wait (bounded)
    until all have exited.  The library's stopRouter() waits 15 s for one
    router's daemons, router after router, then sends SIGBUS; a daemon
    killed that way never gets to frr_fini(), and under valgrind zebra can
    need longer on a loaded machine: valgrind then reports what zebra
    allocated at start-up (libyang's modules loaded by frr_init() among
    it) as possibly lost."""
    pids = {}
    for name, router in tgen.routers().items():
        pids[name] = daemon_pids(router)
        if pids[name]:
            router.run("kill -TERM " + " ".join(pids[name]))
    wait_for(
        "every daemon exited after SIGTERM",
        lambda: {n: [p for p in ps if alive(tgen.gears[n], p)] for n, ps in pids.items()},
        lambda left: not any(left.values()),
        timeout=timeout,
    )


def r1(tgen):
    return tgen.gears["r1"]


def vrf_arg(inst):
    return "" if inst == "default" else " vrf " + inst


def router_bgp(inst):
    return "router bgp 100" + vrf_arg(inst)


# FRR 10.7's vtysh commits the candidate of a mgmtd-backed node (interface,
# route-map, ...) when it leaves the node, and reports that commit even when
# it changed nothing: mgmtd's words, not an answer to the commands typed.
MGMTD_NOTHING_COMMITTED = "% Configuration applied with notes:\nNo changes found to be committed!\n"


def vtysh(router, *cmds):
    """Run commands in one vtysh session; returns its whole output, vtysh's
    own complaints (e.g. "bgpd is not running") included, mgmtd's report
    of an empty commit left out."""
    args = " ".join("-c '{}'".format(c) for c in cmds)
    return router.run("vtysh " + args + " 2>&1").replace(MGMTD_NOTHING_COMMITTED, "")


def daemon_cmd(router, daemon, *cmds):
    """Commands sent to one daemon of router through its vty socket, as
    vtysh sends them, for commands vtysh does not know (those of a module
    built outside FRR's tree); returns the output.  A command the daemon
    refuses fails."""
    cmd = "/usr/bin/python3 {} /var/run/frr/{}.vty {}".format(
        os.path.join(CWD, "kar_vty.py"), daemon,
        " ".join("'{}'".format(c) for c in ("enable",) + cmds))
    out, _, rc = router.run(cmd + " 2>&1; echo rc=$?").rpartition("rc=")
    assert rc.strip() == "0", "{}: {}".format(cmds, out)
    return out


def difference(got, want):
    """"" when got == want, else counts and a few examples each way."""
    missing, extra = sorted(want - got), sorted(got - want)
    if not missing and not extra:
        return ""
    return "{} missing (e.g. {}), {} extra (e.g. {})".format(
        len(missing), missing[:3], len(extra), extra[:3])


def bird_sender_conf(addr, asn, log, extra, refresh=True):
    """BIRD 2 at addr (AS asn) announcing what `extra` defines to r1
    (10.0.1.1, AS 100), logging problems to `log`; without the route
    refresh capability when refresh is false."""
    return """router id {addr};
log "{log}" {{ warning, error, fatal }};
# BIRD 2.0 may leave its last queued TX event until the next wake-up of its
# event loop; a 1 s device scan bounds that stall.
protocol device {{ scan time 1; }}
{extra}
protocol bgp r1 {{
  local {addr} as {asn};
  neighbor 10.0.1.1 as 100;
  hold time 240;
  connect retry time 1;
  connect delay time 1;
  error wait time 1, 2;
  enable route refresh {refresh};
  ipv4 {{ import none; export all; next hop self; }};
}}
""".format(addr=addr, asn=asn, log=log, extra=extra,
           refresh="on" if refresh else "off")


def write_file(host, path, text):
    """Write a file as host sees it (a router has its own /etc/frr), of
    any size: the text goes through the command's standard input."""
    host.cmd_raises(
        "mkdir -p '{}' && cat > '{}'".format(os.path.dirname(path), path),
        stdin=text + "\n",
    )


def configure(router, inst, af, *lines):
    """Type lines into `router bgp ... / address-family <af> unicast`."""
    ctx = ["configure terminal", router_bgp(inst)]
    if af:
        ctx.append("address-family {} unicast".format(af))
    return vtysh(router, *(ctx + list(lines)))


def native(tgen, inst, peer, on=True):
    """Type FRR's own `[no] neighbor P soft-reconfiguration inbound` on r1."""
    line = "neighbor {} soft-reconfiguration inbound".format(PEER_ADDR[inst][peer])
    return configure(r1(tgen), inst, "ipv4", ("" if on else "no ") + line)


def show_json(router, cmd):
    out = router.vtysh_cmd(cmd, isjson=False)
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("not JSON from `{}`: {!r}".format(cmd, out[:300]))


def assert_bgpd_alive(tgen, name="r1"):
    """Every daemon of every router still runs (the topotest library's own
    check, which reads each daemon's answer to `show logging`), and the
    router's bgpd answers a command that only bgpd answers.  vtysh prints
    its own version without asking any daemon: that proves nothing about
    bgpd."""
    assert not tgen.routers_have_failure(), "daemons not running: {}".format(tgen.errors)
    # bgpd prints JSON even with no instance ({}); vtysh prints nothing
    # when bgpd does not answer.
    cmd = "show bgp vrf all summary json"
    data = show_json(tgen.gears[name], cmd)
    assert all(isinstance(v, dict) for v in data.values()), "{}: {!r}".format(cmd, data)


def kill_daemon(router, daemon):
    """kill -9 one of router's daemons, wait (bounded) until it is dead and
    remove its pid file.  (FRR 8.4's killRouterDaemons() sleeps 2 s when
    the process is not reaped at once, then removes the wrong pid file, the
    last one listed: zebra's.)"""
    pidfile = "/var/run/frr/{}.pid".format(daemon)
    pid = router.cmd_raises("cat " + pidfile).strip()
    assert pid.isdigit(), "{}: {!r}".format(pidfile, pid)
    router.cmd_raises("kill -9 " + pid)
    wait_for("{} (pid {}) dead".format(daemon, pid), lambda: alive(router, pid), False,
             timeout=10)
    router.cmd_raises("rm -f " + pidfile)


def restart_daemon(tgen, daemon="bgpd", conf=None, save=True):
    """Kill one of r1's daemons and start it again (the topotest library's
    start).  With save, its running configuration is written first (write
    memory); with conf, conf becomes its configuration file ("" = none).
    Returns once every daemon runs and bgpd answers."""
    from lib.common_config import start_router_daemons

    r1_ = r1(tgen)
    if save and conf is None:
        r1_.vtysh_cmd("write memory")
    kill_daemon(r1_, daemon)
    if conf is not None:
        write_file(r1_, "/etc/frr/{}.conf".format(daemon), conf)
    err = start_router_daemons(tgen, "r1", [daemon])
    assert not err, err
    assert_bgpd_alive(tgen)


def neighbor(tgen, inst, peer, router_name="r1", addr=None):
    """`show bgp neighbors json` of one of r1's peers (or the peer's view);
    {} when bgpd says there is no such neighbor.  addr picks the session
    when the peer has more than one (IPv6)."""
    if router_name == "r1":
        addr = addr or PEER_ADDR[inst][peer]
        cmd = "show bgp{} neighbors {} json".format(vrf_arg(inst), addr)
    else:
        addr = R1_ADDR[inst]
        cmd = "show bgp neighbors {} json".format(addr)
    data = show_json(tgen.gears[router_name], cmd)
    if addr in data:
        return data[addr]
    # A peer being deleted is shown as {} for a moment.
    assert data in ({}, {"bgpNoSuchNeighbor": True}), "{}: {!r}".format(cmd, data)
    return {}


SESSION_KEYS = {
    "state": ("bgpState",),
    "established": ("connectionsEstablished",),
    "dropped": ("connectionsDropped",),
    "upSince": ("bgpTimerUpEstablishedEpoch",),
    "refreshSent": ("messageStats", "routeRefreshSent"),
}


def neighbor_fact(n, *path):
    """One value of a neighbor's JSON; a neighbor that exists reports it."""
    value = n
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise AssertionError("neighbor output without {}: {!r}".format(
                "/".join(path), {k: n[k] for k in list(n)[:12]}))
        value = value[key]
    return value


def session_facts(n):
    """From one neighbor's `show bgp neighbors json`: what an operator
    compares before/after (state, uptime, counters).  A neighbor that does
    not exist ({}) has no facts (all None)."""
    if not n:
        return {fact: None for fact in SESSION_KEYS}
    out = {fact: neighbor_fact(n, *path) for fact, path in SESSION_KEYS.items()
           if fact != "upSince"}
    # The uptime epoch is there only while Established.
    out["upSince"] = n.get("bgpTimerUpEstablishedEpoch")
    return out


def session(tgen, inst, peer, addr=None):
    return session_facts(neighbor(tgen, inst, peer, addr=addr))


def sessions(tgen, inst, addrs):
    """session() of several of r1's neighbors from one `show bgp neighbors
    json`: {addr: facts}, all None for a neighbor bgpd does not have."""
    cmd = "show bgp{} neighbors json".format(vrf_arg(inst))
    data = show_json(r1(tgen), cmd)
    assert "warning" not in data, "{}: {!r}".format(cmd, data)
    return {a: session_facts(data.get(a, {})) for a in addrs}


def same_session(a, b):
    """Two session() snapshots describe the same, untouched session.  The
    established epoch is derived from uptime by bgpd and may differ by 1 s."""
    a, b = dict(a), dict(b)
    up_a, up_b = a.pop("upSince"), b.pop("upSince")
    return a == b and up_a is not None and abs(up_a - up_b) <= 1


def reset_r1(tgen):
    """Undo whatever a test configured on r1, so tests do not depend on
    each other's leftovers, and wait for every session to be up."""
    r1_ = r1(tgen)
    # Policy first, while stored routes (if any) can still re-apply it.
    vtysh(
        r1_,
        "configure terminal",
        "bgp route-map delay-timer 1",
        "no ip prefix-list ACCEPT seq 30",
    )
    for inst in INSTANCES:
        for peer in ("r2", "r3"):
            wait_established(tgen, inst, peer)
            wait_policy_applied(tgen, inst, peer)
    for inst in INSTANCES:
        for peer in ("r2", "r3"):
            addr = PEER_ADDR[inst][peer]
            lines = ["no neighbor {} shutdown".format(addr)]
            for af in ("ipv4", "ipv6"):
                lines += [
                    "address-family {} unicast".format(af),
                    "no peer {} keep-all-routes".format(addr),
                    "no neighbor {} soft-reconfiguration inbound".format(addr),
                    "exit-address-family",
                ]
            vtysh(r1_, "configure terminal", router_bgp(inst), *lines)
    for inst in INSTANCES:
        for peer in ("r2", "r3"):
            wait_established(tgen, inst, peer)
            wait_policy_applied(tgen, inst, peer)


def peer_refresh_received(tgen, inst, peer):
    """ROUTE-REFRESH messages the peer itself counted as received from r1."""
    n = neighbor(tgen, inst, peer, router_name=peer)
    return neighbor_fact(n, "messageStats", "routeRefreshRecv")


NOT_KEPT = "Inbound soft reconfiguration not enabled"


def adj_in(tgen, inst, peer, af="ipv4", kind="received-routes", addr=None):
    """Prefixes of received-routes/filtered-routes, or None when bgpd says
    the Adj-RIB-In is not kept.  Any other answer (no such neighbor, not
    JSON) fails."""
    cmd = "show bgp{} {} unicast neighbors {} {} json".format(
        vrf_arg(inst), af, addr or PEER_ADDR[inst][peer], kind
    )
    data = show_json(r1(tgen), cmd)
    if data.get("warning") == NOT_KEPT:
        return None
    assert "totalPrefixCounter" in data, "{}: {!r}".format(cmd, data)
    # bgpd 8.4 lists filtered-routes under "receivedRoutes" too.
    return set(data.get("receivedRoutes", {}).keys())


def loc_rib_paths(tgen, inst, af="ipv4"):
    """r1's Loc-RIB: {peer address: prefixes with a path from it}."""
    cmd = "show bgp{} {} unicast json".format(vrf_arg(inst), af)
    data = show_json(r1(tgen), cmd)
    assert "routes" in data, "{}: {!r}".format(cmd, data)
    out = {}
    for prefix, paths in data["routes"].items():
        for path in paths:
            out.setdefault(path.get("peerId"), set()).add(prefix)
    return out


def loc_rib(tgen, inst, peer, af="ipv4", addr=None):
    """Prefixes in r1's Loc-RIB with a path from the peer."""
    return loc_rib_paths(tgen, inst, af).get(addr or PEER_ADDR[inst][peer], set())


def neighbor_routes(tgen, inst, addr, af="ipv4"):
    """`show bgp ... neighbors A routes`: the Loc-RIB's paths from one peer,
    without reading the whole table (large transfers)."""
    cmd = "show bgp{} {} unicast neighbors {} routes json".format(vrf_arg(inst), af, addr)
    data = show_json(r1(tgen), cmd)
    assert "routes" in data, "{}: {!r}".format(cmd, data)
    return set(data["routes"])


def kar_show(tgen, inst="all"):
    """`show bgp vrf <inst> keep-all-routes json`; every instance shown
    carries the three parts SPEC 14 defines."""
    cmd = "show bgp vrf {} keep-all-routes json".format(inst)
    data = show_json(r1(tgen), cmd)
    for name, facts in data.items():
        missing = {"instanceKeepAllRoutes", "peerGroups", "peers"} - set(facts)
        assert not missing, "{}: {} lacks {}".format(cmd, name, sorted(missing))
    return data


AF_KEY = {"ipv4": "ipv4Unicast", "ipv6": "ipv6Unicast"}


def kar_state(tgen, inst, peer=None, af="ipv4", addr=None):
    """One peer/AF's entry of `show bgp vrf <inst> keep-all-routes json`;
    the peer must be shown (every configured peer is)."""
    addr = addr or PEER_ADDR[inst][peer]
    data = kar_show(tgen, inst)
    try:
        return data[inst]["peers"][addr][AF_KEY[af]]
    except KeyError:
        raise AssertionError("keep-all-routes json shows no {} {} {}: {!r}".format(
            inst, addr, af, data))


def kar_has_record(tgen, inst, addr):
    """Whether the module holds a record for this peer, from what show says
    of it: a record lives while the peer has its own line or remembers an
    enable action (kar_state.h)."""
    peer = kar_show(tgen, inst)[inst]["peers"].get(addr, {})
    return any("peer" in f["sources"] or f["lastEnableAction"] != "never"
               for f in peer.values())


def kar_records(tgen):
    """The module's peer records, from `show memory bgpd`.  The module's
    memory group must be there; a type FRR never allocated is not listed
    (0)."""
    out = r1(tgen).vtysh_cmd("show memory bgpd")
    group = re.search(r"^--- qmem keep-all-routes ---$(.*?)(?=^--- qmem|\Z)", out, re.M | re.S)
    assert group, "no keep-all-routes memory group in `show memory bgpd`: {!r}".format(out[:300])
    m = re.search(r"^keep-all-routes peer\s*:\s*(\d+)", group.group(1), re.M)
    return int(m.group(1)) if m else 0


def session_lines(addr, *options):
    """remote-as 100, the topology's timers and options for a neighbor."""
    lines = [
        "neighbor {} remote-as 100".format(addr),
        "neighbor {} timers 3 10".format(addr),
        "neighbor {} timers connect 1".format(addr),
    ]
    return lines + ["neighbor {} {}".format(addr, o) for o in options]


def neighbor_session_lines(addr, peer):
    """r1's session lines for r2 or r3; r3 sends no capabilities, hence
    override-capability."""
    return session_lines(addr, *(["override-capability"] if peer == "r3" else []))


def neighbor_lines(inst, peer):
    """A peer's own neighbor lines in r1's instance (as in bgpd.conf), to
    re-add it after `no neighbor`."""
    a = PEER_ADDR[inst][peer]
    lines = neighbor_session_lines(a, peer)
    lines += [
        "address-family ipv4 unicast",
        "neighbor {} route-map IMPORT in".format(a),
        "exit-address-family",
    ]
    if peer == "r2":
        lines += [
            "address-family ipv6 unicast",
            "neighbor {} activate".format(a),
            "neighbor {} route-map IMPORT6 in".format(a),
            "exit-address-family",
        ]
    return lines


def bgp_memory(tgen):
    """`show bgp memory` of r1: {what: count}, e.g. "Adj-In entries".  bgpd
    always prints its RIB nodes and BGP routes; lines of other kinds appear
    only when their count is not 0."""
    out = r1(tgen).vtysh_cmd("show bgp memory")
    counts = {m.group(2): int(m.group(1))
              for m in re.finditer(r"^(\d+) (.+?), using ", out, re.M)}
    assert "RIB nodes" in counts and "BGP routes" in counts, \
        "not bgpd's `show bgp memory`: {!r}".format(out[:300])
    return counts


def adj_in_entries(tgen):
    """Adj-In entries of r1's whole bgpd, from `show bgp memory`."""
    return bgp_memory(tgen).get("Adj-In entries", 0)


def running_bgp(tgen, inst, required=True):
    """The lines of one `router bgp` block of r1's running configuration
    Without the block: fail, or [] when not required."""
    out = r1(tgen).vtysh_cmd("show running-config")
    lines = out.splitlines()
    head = router_bgp(inst)
    if head not in lines:
        assert not required, "no `{}` in bgpd's running-config: {!r}".format(head, out[:300])
        return []
    block = lines[lines.index(head):]
    return block[: block.index("exit") + 1]


def wait_for(what, fn, expect, timeout=60, interval=0.1):
    """Poll fn() with FRR's run_and_expect() until it returns expect (or
    expect(value) is true); fail naming what was awaited and the last
    value.  FRR 10's run_and_expect() waits at least 15 s in all."""
    last = []

    def probe():
        value = fn()
        last[:] = [value]
        return expect(value) if callable(expect) else value == expect

    timeout = max(timeout, 15)
    ok, _ = topotest.run_and_expect(
        probe, True, count=max(1, int(timeout / interval)), wait=interval
    )
    assert ok, "{}: after {}s got {!r}, expected {!r}".format(
        what, timeout, last[0] if last else None, expect
    )
    return last[0]


def hold(what, fn, ok, seconds):
    """fn() satisfies ok() on every try for the whole period: nothing
    happens that should not (a ROUTE-REFRESH or a reset shows within
    milliseconds)."""
    deadline = time.monotonic() + seconds
    while True:
        value = fn()
        assert ok(value), "{}: {!r}".format(what, value)
        if time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def wait_established(tgen, inst, peer, timeout=90, addr=None):
    return wait_for(
        "{} {} Established".format(inst, peer),
        lambda: session(tgen, inst, peer, addr)["state"],
        "Established",
        timeout,
    )


def wait_policy_applied(tgen, inst, peer, af="ipv4", addr=None):
    """r1's Loc-RIB holds exactly what the import policy accepts."""
    return wait_for(
        "{} {} {} Loc-RIB = accepted".format(inst, peer, af),
        lambda: loc_rib(tgen, inst, peer, af, addr),
        ACCEPTED[peer][af],
    )
