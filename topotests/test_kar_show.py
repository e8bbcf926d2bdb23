#!/usr/bin/env python3
"""
Operator visibility (SPEC 14): show bgp [vrf <NAME|all>] keep-all-routes
[json] in each state SPEC defines, text and JSON carrying the same facts,
the JSON valid against yang/frr-bgp-keep-all-routes.yang (yanglint, with
FRR 8.4.4's own modules), and debug bgp keep-all-routes.
"""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402
import kar_yang  # noqa: E402

pytestmark = [pytest.mark.bgpd]
QUICK_PEERS = True  # r1's bgpd is never restarted here

INST = k.VRF
R2, R3 = k.PEER_ADDR[INST]["r2"], k.PEER_ADDR[INST]["r3"]


@pytest.fixture(autouse=True)
def clean(tgen):
    yield
    k.vtysh(k.r1(tgen), "configure terminal", "router bgp 100 vrf vpna",
            "no keep-all-routes", "no neighbor GX peer-group")
    k.vtysh(k.r1(tgen), "configure terminal", "no debug bgp keep-all-routes")
    k.reset_r1(tgen)


def show_json(tgen, vrf=INST):
    return k.kar_show(tgen, vrf)


def show_text(tgen, vrf=INST):
    return k.r1(tgen).vtysh_cmd("show bgp vrf {} keep-all-routes".format(vrf))


TEXT_AF = {"ipv4 unicast": "ipv4Unicast", "ipv6 unicast": "ipv6Unicast"}


def parse_text(text):
    """The text output, read back into the JSON's shape."""
    out, inst, peer = {}, None, None
    for line in text.splitlines():
        m = re.match(r"BGP instance (\S+): instance-wide keep-all-routes (on|off)$", line)
        if m:
            inst = out[m.group(1)] = {
                "instanceKeepAllRoutes": m.group(2) == "on", "peerGroups": {}, "peers": {}}
            continue
        m = re.match(r" Peer-group (\S+), (ipv\d unicast): keep-all-routes$", line)
        if m:
            inst["peerGroups"].setdefault(m.group(1), {})[TEXT_AF[m.group(2)]] = True
            continue
        m = re.match(r" Peer (\S+), (ipv\d unicast)$", line)
        if m:
            peer = inst["peers"].setdefault(m.group(1), {})[TEXT_AF[m.group(2)]] = {}
            continue
        m = re.match(r"  Sources: (.*)$", line)
        if m:
            peer["sources"] = [] if m.group(1) == "none" else m.group(1).split(", ")
            continue
        m = re.match(r"  Retained: (yes|no)$", line)
        if m:
            peer["retained"] = m.group(1) == "yes"
            continue
        m = re.match(r"  Route-refresh received: (yes|no), enhanced: (yes|no)$", line)
        if m:
            peer["routeRefreshReceived"] = m.group(1) == "yes"
            peer["enhancedRouteRefreshReceived"] = m.group(2) == "yes"
            continue
        m = re.match(r"  Stored prefixes: (\d+), using (\d+) bytes$", line)
        if m:
            peer["storedPrefixes"], peer["storedBytes"] = int(m.group(1)), int(m.group(2))
            continue
        m = re.match(r"  Last enable action: (never enabled|(\S+) \((\S+), \d+ s ago\))$", line)
        if m:
            if m.group(2):
                peer["lastEnableAction"], peer["lastEnableTime"] = m.group(2), m.group(3)
            else:
                peer["lastEnableAction"] = "never"
            continue
        assert line.strip() == "", "unexpected line: {!r}".format(line)
    return out


def same_facts(tgen, vrf=INST):
    """Text and JSON say the same; the JSON is valid in the YANG model."""
    data = show_json(tgen, vrf)
    text = parse_text(show_text(tgen, vrf))
    stripped = {
        i: dict(v, peers={p: {a: {k2: v2 for k2, v2 in f.items() if k2 != "lastEnableEpoch"}
                              for a, f in afs.items()} for p, afs in v["peers"].items()})
        for i, v in data.items()
    }
    assert text == stripped
    res = kar_yang.yanglint(kar_yang.show_to_model(data))
    assert res.returncode == 0, res.stderr
    return data


def peer_af(data, addr, af="ipv4Unicast", inst=INST):
    return data[inst]["peers"][addr][af]


def test_nothing_configured(tgen):
    data = same_facts(tgen)
    assert data[INST]["instanceKeepAllRoutes"] is False
    assert data[INST]["peerGroups"] == {}
    for addr in (R2, R3):
        f = peer_af(data, addr)
        assert f["sources"] == [] and f["retained"] is False
        assert f["storedPrefixes"] == 0 and f["storedBytes"] == 0
        assert f["lastEnableAction"] == "never" and "lastEnableTime" not in f
    assert peer_af(data, R2)["routeRefreshReceived"] is True
    assert peer_af(data, R2)["enhancedRouteRefreshReceived"] is True
    assert peer_af(data, R3)["routeRefreshReceived"] is False


def test_unknown_instance(tgen):
    assert show_json(tgen, "nosuch") == {}
    assert show_text(tgen, "nosuch").strip() == "% BGP instance nosuch not found"


def test_enable_actions_counts_memory_and_disable(tgen):
    "route-refresh and session-reset enables; counts and memory to zero on disable."
    k.configure(k.r1(tgen), INST, "ipv4", "peer {} keep-all-routes".format(R2),
                "peer {} keep-all-routes".format(R3))
    for peer in ("r2", "r3"):
        k.wait_established(tgen, INST, peer)
        k.wait_for("stored", lambda: k.adj_in(tgen, INST, peer), k.SENT[peer]["ipv4"])
    data = same_facts(tgen)
    f2, f3 = peer_af(data, R2), peer_af(data, R3)
    assert f2["lastEnableAction"] == "route-refresh" and f3["lastEnableAction"] == "session-reset"
    for f in (f2, f3):
        assert f["sources"] == ["peer"] and f["retained"] is True
        assert f["storedPrefixes"] == 6
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", f["lastEnableTime"])
    # Memory: the same per-entry cost as show bgp memory's Adj-In line.
    mem = k.r1(tgen).vtysh_cmd("show bgp memory")
    m = re.search(r"^(\d+) Adj-In entries, using (\d+) bytes of memory", mem, re.M)
    assert m and int(m.group(1)) == 12, mem
    assert f2["storedBytes"] + f3["storedBytes"] == int(m.group(2))

    # vrf all covers every instance.
    every = show_json(tgen, "all")
    assert set(every) == {"default", INST}
    assert peer_af(every, R2)["storedPrefixes"] == 6
    assert every["default"]["peers"]["10.0.2.2"]["ipv4Unicast"]["retained"] is False

    k.configure(k.r1(tgen), INST, "ipv4", "no peer {} keep-all-routes".format(R2),
                "no peer {} keep-all-routes".format(R3))
    data = same_facts(tgen)
    for addr, action in ((R2, "route-refresh"), (R3, "session-reset")):
        f = peer_af(data, addr)
        assert f["retained"] is False and f["sources"] == []
        assert f["storedPrefixes"] == 0 and f["storedBytes"] == 0
        assert f["lastEnableAction"] == action
    assert k.adj_in_entries(tgen) == 0


def test_group_and_instance_lines(tgen):
    r1 = k.r1(tgen)
    k.vtysh(r1, "configure terminal", "router bgp 100 vrf vpna", "neighbor GX peer-group",
            "address-family ipv4 unicast", "peer GX keep-all-routes")
    data = same_facts(tgen)
    assert data[INST]["peerGroups"] == {"GX": {"ipv4Unicast": True}}
    k.configure(r1, INST, None, "keep-all-routes")
    for peer in ("r2", "r3"):
        k.wait_established(tgen, INST, peer)
    # r2 refreshes each AF on its own: wait for both.
    for peer, af in (("r2", "ipv4"), ("r2", "ipv6"), ("r3", "ipv4")):
        k.wait_for(
            "{} {} stored".format(peer, af),
            lambda: k.adj_in(tgen, INST, peer, af),
            k.SENT[peer][af],
        )
    data = same_facts(tgen)
    assert data[INST]["instanceKeepAllRoutes"] is True
    f = peer_af(data, R2, "ipv6Unicast")
    assert f["sources"] == ["instance"] and f["retained"] is True and f["storedPrefixes"] == 6
    assert peer_af(data, R3)["lastEnableAction"] == "session-reset"


def test_stored_count_follows_the_adj_rib_in(tgen):
    """storedPrefixes is what received-routes lists, in each AF on its own,
    while the peer withdraws and re-announces and after a hard reset (bgpd
    counts the entries as they come and go; a count that missed one path
    would drift from the list)."""
    r1, r2 = k.r1(tgen), tgen.gears["r2"]
    for af in ("ipv4", "ipv6"):
        k.configure(r1, INST, af, "peer {} keep-all-routes".format(R2))
        k.wait_for("stored " + af, lambda: k.adj_in(tgen, INST, "r2", af), k.SENT["r2"][af])

    def counts():
        data = same_facts(tgen)
        return {af: peer_af(data, R2, af)["storedPrefixes"]
                for af in ("ipv4Unicast", "ipv6Unicast")}

    assert counts() == {"ipv4Unicast": 6, "ipv6Unicast": 6}
    gone = ["172.16.2.5/32", "172.16.2.6/32"]
    r2_ipv4 = ("configure terminal", "router bgp 100", "address-family ipv4 unicast")
    k.vtysh(r2, *r2_ipv4, *["no network " + p for p in gone])
    try:
        k.wait_for("withdrawn from the stored routes", lambda: k.adj_in(tgen, INST, "r2"),
                   k.SENT["r2"]["ipv4"] - set(gone))
        assert counts() == {"ipv4Unicast": 4, "ipv6Unicast": 6}
    finally:
        k.vtysh(r2, *r2_ipv4, *["network " + p for p in gone])
    k.wait_for("announced again", lambda: k.adj_in(tgen, INST, "r2"), k.SENT["r2"]["ipv4"])
    assert counts() == {"ipv4Unicast": 6, "ipv6Unicast": 6}

    # r2 sends every route again: an update of a stored route is no new entry.
    def updates():
        return k.neighbor_fact(k.neighbor(tgen, INST, "r2"), "messageStats", "updatesRecv")

    seen = updates()
    k.vtysh(r2, "clear bgp {} soft out".format(k.R1_ADDR[INST]))
    k.wait_for("updates sent again", updates, lambda n: n > seen)
    assert counts() == {"ipv4Unicast": 6, "ipv6Unicast": 6}

    before = k.session(tgen, INST, "r2")
    k.vtysh(r1, "clear bgp vrf {} {}".format(INST, R2))
    k.wait_for("a new session", lambda: k.session(tgen, INST, "r2"),
               lambda s: s["state"] == "Established" and s["established"] > before["established"])
    for af in ("ipv4", "ipv6"):
        k.wait_for("refilled " + af, lambda: k.adj_in(tgen, INST, "r2", af), k.SENT["r2"][af])
    assert counts() == {"ipv4Unicast": 6, "ipv6Unicast": 6}

    # Turning retention off frees one AF's entries and leaves the other's.
    k.configure(r1, INST, "ipv4", "no peer {} keep-all-routes".format(R2))
    assert counts() == {"ipv4Unicast": 0, "ipv6Unicast": 6}
    k.configure(r1, INST, "ipv6", "no peer {} keep-all-routes".format(R2))
    assert counts() == {"ipv4Unicast": 0, "ipv6Unicast": 0}
    k.assert_bgpd_alive(tgen)


def test_debug_switch(tgen):
    r1 = k.r1(tgen)
    k.vtysh(r1, "configure terminal", "debug bgp keep-all-routes")
    assert "BGP keep-all-routes debugging is on" in r1.vtysh_cmd("show debugging")
    assert "debug bgp keep-all-routes" in r1.vtysh_cmd("show running-config").splitlines()
    # bgpd's log: the file its configuration names (8.4, 10.3), else the
    # one the topotest library started it with (10.7: --log file:bgpd.log).
    logfile = re.search(r"^log file (\S+)", r1.vtysh_cmd("show running-config bgpd"), re.M)

    def log():
        return r1.run("cat " + logfile.group(1)) if logfile else r1.net.getLog("log", "bgpd")

    k.configure(r1, INST, "ipv4", "peer {} keep-all-routes".format(R2))
    # %pBP prints the peer as "address(hostname)".
    want = re.compile(
        r"keep-all-routes: {}\(r2\) vrf vpna ipv4Unicast: peer added, "
        r"retention on, action route-refresh".format(re.escape(R2))
    )
    k.wait_for(
        "debug line",
        lambda: bool(want.search(log())),
        True,
        timeout=10,
    )

    k.vtysh(r1, "configure terminal", "no debug bgp keep-all-routes")
    debugging = r1.vtysh_cmd("show debugging")
    assert "BGP debugging status:" in debugging, debugging  # bgpd answered
    assert "keep-all-routes" not in debugging, debugging
    running = r1.vtysh_cmd("show running-config")
    assert k.router_bgp(INST) in running.splitlines(), running  # bgpd's part is there
    assert "debug bgp keep-all-routes" not in running
