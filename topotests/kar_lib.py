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

from lib.topogen import Topogen, TopoRouter  # noqa: E402
from lib.topolog import logger  # noqa: E402,F401

VRF = "vpna"
# bgpd's module directory in the packages under test (scripts/lib.sh's
# kar_topotest_env says where they are unpacked), and the options that
# load the module from it.
MODULEDIR_ARGS = ["--moduledir", os.environ["KAR_MODULEDIR"]] if os.environ.get(
    "KAR_MODULEDIR") else []
MODULE = " ".join(["-M", "keep_all_routes"] + MODULEDIR_ARGS)

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
        router.run("echo '{}' >> /etc/frr/vtysh.conf".format(VTYSH_ROOT))


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


def start(module_name, r1_bgpd_conf=None, with_module=True, wait=True):
    """Start the topology; r1 gets VRF vpna as a network namespace.  With
    wait, return once r1's IPv4 sessions of bgpd.conf are up."""
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
            MODULE if (name == "r1" and with_module) else None,
        )
    tgen.start_router()
    restore_link_local(r1, VRF, "r1-eth0")
    for inst in INSTANCES if wait else ():
        for peer in ("r2", "r3"):
            wait_established(tgen, inst, peer)
    return tgen


def add_ipv6_peer_sessions(tgen):
    """The peers' side of IPv6 sessions (ipv6 unicast only) to r1 in both
    instances: r2 with route-refresh, r3 without any capability, sending
    fd00:3:1::1-6.  r1's side is up to the test."""
    r2, r3 = tgen.gears["r2"], tgen.gears["r3"]
    vtysh(r3, "configure terminal", "interface r3-eth0", "ipv6 address fd00:1::3/64",
          "exit", "interface r3-eth1", "ipv6 address fd00:2::3/64")
    for router, extra in ((r2, []), (r3, ["dont-capability-negotiate"])):
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


def r1_in_vrf(tgen):
    """Move r1-eth0 into network namespace vpna (VRF vpna for zebra
    in netns mode, see netns_vrf()); stop() moves it back."""
    r1 = tgen.gears["r1"]
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
    tgen.net["r1"].reset_intf_netns("r1-eth0")
    tgen.net["r1"].delete_netns(VRF)
    tgen.stop_topology()


def r1(tgen):
    return tgen.gears["r1"]


def vrf_arg(inst):
    return "" if inst == "default" else " vrf " + inst


def router_bgp(inst):
    return "router bgp 100" + vrf_arg(inst)


def vtysh(router, *cmds):
    """Run commands in one vtysh session; returns its whole output."""
    args = " ".join("-c '{}'".format(c) for c in cmds)
    return router.run("vtysh " + args + " 2>&1")


def write_file(host, path, text):
    """Write a file as seen from inside a topology node."""
    host.run("mkdir -p {0} && cat > {1} <<'EOF'\n{2}\nEOF".format(
        os.path.dirname(path), path, text))


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


def neighbor(tgen, inst, peer, router_name="r1", addr=None):
    """`show bgp neighbors json` of one of r1's peers (or the peer's view).
    addr picks the session when the peer has more than one (IPv6)."""
    if router_name == "r1":
        addr = addr or PEER_ADDR[inst][peer]
        cmd = "show bgp{} neighbors {} json".format(vrf_arg(inst), addr)
    else:
        addr = R1_ADDR[inst]
        cmd = "show bgp neighbors {} json".format(addr)
    return show_json(tgen.gears[router_name], cmd).get(addr, {})


def session_facts(n):
    """From one neighbor's `show bgp neighbors json`: what an operator
    compares before/after (state, uptime, counters)."""
    return {
        "state": n.get("bgpState"),
        "established": n.get("connectionsEstablished"),
        "dropped": n.get("connectionsDropped"),
        "upSince": n.get("bgpTimerUpEstablishedEpoch"),
        "refreshSent": n.get("messageStats", {}).get("routeRefreshSent"),
    }


def session(tgen, inst, peer, addr=None):
    return session_facts(neighbor(tgen, inst, peer, addr=addr))


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
    return n.get("messageStats", {}).get("routeRefreshRecv")


def adj_in(tgen, inst, peer, af="ipv4", kind="received-routes", addr=None):
    """Prefixes of received-routes/filtered-routes, or None when bgpd says
    the Adj-RIB-In is not kept."""
    cmd = "show bgp{} {} unicast neighbors {} {} json".format(
        vrf_arg(inst), af, addr or PEER_ADDR[inst][peer], kind
    )
    data = show_json(r1(tgen), cmd)
    if "warning" in data:
        return None
    # bgpd 8.4 lists filtered-routes under "receivedRoutes" too.
    return set(data.get("receivedRoutes", {}).keys())


def loc_rib(tgen, inst, peer, af="ipv4", addr=None):
    """Prefixes in r1's Loc-RIB with a path from the peer."""
    data = show_json(
        r1(tgen), "show bgp{} {} unicast json".format(vrf_arg(inst), af)
    )
    addr = addr or PEER_ADDR[inst][peer]
    out = set()
    for prefix, paths in data.get("routes", {}).items():
        for path in paths:
            if path.get("peerId") == addr:
                out.add(prefix)
    return out


def kar_state(tgen, inst, peer, af="ipv4"):
    """One peer's entry of `show bgp vrf X keep-all-routes json`."""
    data = show_json(r1(tgen), "show bgp vrf {} keep-all-routes json".format(inst))
    key = "ipv4Unicast" if af == "ipv4" else "ipv6Unicast"
    return data.get(inst, {}).get("peers", {}).get(PEER_ADDR[inst][peer], {}).get(key)


def kar_records(tgen):
    """The module's peer records, from `show memory bgpd`."""
    out = r1(tgen).vtysh_cmd("show memory bgpd")
    m = re.search(r"keep-all-routes peer\s*:\s*(\d+)", out)
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


def adj_in_entries(tgen):
    """Adj-In entries of r1's whole bgpd, from `show bgp memory`."""
    out = r1(tgen).vtysh_cmd("show bgp memory")
    m = re.search(r"(\d+) Adj-In entries", out)
    return int(m.group(1)) if m else 0


def running_bgp(tgen, inst):
    """The lines of one `router bgp` block of r1's running configuration."""
    out = r1(tgen).vtysh_cmd("show running-config")
    block = []
    inside = False
    for line in out.splitlines():
        if line == router_bgp(inst):
            inside = True
        if inside:
            block.append(line)
            if line == "exit":
                break
    return block


def wait_for(what, fn, expect, timeout=60, interval=0.5):
    """Poll fn() until it returns expect (or expect(value) is true)."""
    deadline = time.monotonic() + timeout
    value = None
    while True:
        value = fn()
        ok = expect(value) if callable(expect) else value == expect
        if ok:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                "{}: after {}s got {!r}, expected {!r}".format(
                    what, timeout, value, expect
                )
            )
        time.sleep(interval)


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
