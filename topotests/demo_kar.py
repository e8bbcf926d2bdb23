#!/usr/bin/env python3
"""
The keep-all-routes demo (README's first command runs it through
scripts/demo.sh).  Not part of the test suite: its file name is not
test_*.py.  It narrates what an operator would check, on the same topology
as the topotests: r1 with VRF vpna, r2 with route-refresh, r3 without.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

INST = k.VRF

# scripts/demo.sh sends pytest's and the topotest library's logging to a
# file and hands the terminal to the narrative as file descriptor 3.
_OUT = os.fdopen(int(os.environ.get("KAR_DEMO_FD", "1")), "w", buffering=1)


def say(text=""):
    _OUT.write(text + "\n")


def ago(epoch):
    return "{}s ago".format(int(time.time() - epoch)) if epoch else "-"


def table(tgen, title):
    say("  {:<10} {:<12} {:>9} {:>8} {:>9} {:>16} {:>8}".format(
        "peer", "state", "up since", "dropped", "RR sent", "received-routes", "Loc-RIB"))
    for peer in ("r2", "r3"):
        s = k.session(tgen, INST, peer)
        rcv = k.adj_in(tgen, INST, peer)
        say("  {:<10} {:<12} {:>9} {:>8} {:>9} {:>16} {:>8}".format(
            k.PEER_ADDR[INST][peer], s["state"], ago(s["upSince"]), s["dropped"],
            s["refreshSent"], "not kept" if rcv is None else str(len(rcv)),
            len(k.loc_rib(tgen, INST, peer))))
    say()


def vty_show(tgen, title, cmd):
    say("  r1# " + cmd)
    for line in k.r1(tgen).vtysh_cmd(cmd).rstrip().splitlines():
        say("    " + line)
    say()


def test_demo(request):
    tgen = k.start(request.module.__name__)
    try:
        run(tgen)
        if os.environ.get("KAR_DEMO_KEEP"):
            pid = k.r1(tgen).net.pid
            say("== The topology keeps running.  Attach vtysh to r1 with:")
            say("     nsenter -t {} -m -n -u vtysh".format(pid))
            say("   (r2, r3: pids {} and {}).  Press Ctrl-C here to tear it down.".format(
                tgen.gears["r2"].net.pid, tgen.gears["r3"].net.pid))
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        k.stop(tgen)


def run(tgen):
    r1 = k.r1(tgen)
    say()
    version = r1.vtysh_cmd("show version").splitlines()[0].strip()
    say("== keep-all-routes demo: r1 runs {} + bgpd -M keep_all_routes".format(version))
    say("   VRF vpna peers: r2 10.0.1.2 (advertises route-refresh),")
    say("                   r3 10.0.1.3 (sends no capabilities: no route-refresh)")
    say("   Each sends 6 prefixes; r1's import policy accepts .1-.3, rejects .4-.6")
    say()
    for peer in ("r2", "r3"):
        k.wait_policy_applied(tgen, INST, peer)
    say("-- 1. Before: the rejected routes are gone, received-routes is not kept")
    table(tgen, "before")

    say("-- 2. Enable, typed into vtysh on r1:")
    for line in ("router bgp 100 vrf vpna", " address-family ipv4 unicast",
                 "  peer 10.0.1.2 keep-all-routes", "  peer 10.0.1.3 keep-all-routes"):
        say("     " + line)
    before = {p: k.session(tgen, INST, p) for p in ("r2", "r3")}
    out = k.configure(r1, INST, "ipv4", "peer 10.0.1.2 keep-all-routes",
                      "peer 10.0.1.3 keep-all-routes")
    if out.strip():
        say(out)
    for peer in ("r2", "r3"):
        k.wait_established(tgen, INST, peer)
        k.wait_for("stored", lambda: k.adj_in(tgen, INST, peer), k.SENT[peer]["ipv4"])
    say()
    table(tgen, "after enable")
    for peer in ("r2", "r3"):
        a, b = k.session(tgen, INST, peer), before[peer]
        st = k.kar_state(tgen, INST, peer)
        say("  {}: action {}; ROUTE-REFRESH sent {} -> {}; dropped {} -> {}; {}".format(
            k.PEER_ADDR[INST][peer], st["lastEnableAction"], b["refreshSent"],
            a["refreshSent"], b["dropped"], a["dropped"],
            "same session" if k.same_session(a, b) or a["dropped"] == b["dropped"]
            else "session re-established (Cease/Other Configuration Change)"))
        say("     received-routes {} = all sent; filtered-routes {} = rejected by policy".format(
            len(k.adj_in(tgen, INST, peer)),
            len(k.adj_in(tgen, INST, peer, kind="filtered-routes"))))
    say()
    vty_show(tgen, "", "show bgp vrf vpna ipv4 unicast neighbors 10.0.1.3 filtered-routes")

    say("-- 3. Change the import policy to accept everything, then soft in:")
    say("     ip prefix-list ACCEPT seq 30 permit 172.16.0.0/16 ge 32")
    say("     clear bgp vrf vpna ipv4 unicast * soft in")
    mid = {p: k.session(tgen, INST, p) for p in ("r2", "r3")}
    k.vtysh(r1, "configure terminal", "bgp route-map delay-timer 0",
            "ip prefix-list ACCEPT seq 30 permit 172.16.0.0/16 ge 32")
    k.vtysh(r1, "clear bgp vrf vpna ipv4 unicast * soft in")
    for peer in ("r2", "r3"):
        k.wait_for("accepted", lambda: k.loc_rib(tgen, INST, peer), k.SENT[peer]["ipv4"])
    say()
    table(tgen, "after policy change")
    for peer in ("r2", "r3"):
        a = k.session(tgen, INST, peer)
        say("  {}: Loc-RIB {} routes; ROUTE-REFRESH sent {} -> {}; dropped {} -> {}: "
            "replayed from the stored copy".format(
                k.PEER_ADDR[INST][peer], len(k.loc_rib(tgen, INST, peer)),
                mid[peer]["refreshSent"], a["refreshSent"], mid[peer]["dropped"],
                a["dropped"]))
    say()
    vty_show(tgen, "", "show bgp vrf vpna keep-all-routes")
    vty_show(tgen, "", "show running-config bgpd")
