#!/usr/bin/env python3
"""
IPv6 parity: IPv6 peers (X:X::X:X), ipv6 unicast.  r2 peers over fd00:2::2
with route-refresh; r3 over fd00:2::3 without capabilities.

These sessions run in the default instance: with FRR 8.4's netns VRF
backend (this kernel has no VRF devices) bgpd cannot resolve the local
interface of an IPv6 session inside the VRF namespace ("nexthop_set
failed"), so IPv6 *sessions* cannot come up in vpna here.  ipv6 unicast
inside VRF vpna is covered over IPv4 sessions (test_kar_config's SPEC 8,
test_kar_combinations, test_kar_roundtrip).
Each sends fd00:P:1::1-6/128; r1 accepts ::1-::3.  SPEC 1/2 (enable), 3
(native already holds), 5 (disable frees), 6 (instance wins over undo),
9 (soft in from the stored routes), 11 (peer-group), 13 (config lines and
restart).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

from lib.common_config import kill_router_daemons, start_router_daemons  # noqa: E402

pytestmark = [pytest.mark.bgpd]

INST = "default"
ADDR6 = {"r2": "fd00:2::2", "r3": "fd00:2::3"}
SENT6 = {p: {"fd00:%d:1::%d/128" % (n, i) for i in range(1, 7)} for p, n in (("r2", 2), ("r3", 3))}
ACCEPTED6 = {p: {"fd00:%d:1::%d/128" % (n, i) for i in range(1, 4)} for p, n in (("r2", 2), ("r3", 3))}


def r1_peer_lines(peer):
    a = ADDR6[peer]
    lines = [
        "neighbor {} remote-as 100".format(a),
        "neighbor {} timers 3 10".format(a),
        "neighbor {} timers connect 1".format(a),
    ]
    if peer == "r3":
        lines.append("neighbor {} override-capability".format(a))
    return lines + [
        "address-family ipv4 unicast",
        "no neighbor {} activate".format(a),
        "exit-address-family",
        "address-family ipv6 unicast",
        "neighbor {} activate".format(a),
        "neighbor {} route-map IMPORT6 in".format(a),
        "exit-address-family",
    ]


@pytest.fixture(scope="module")
def tgen(request):
    tgen = k.start(request.module.__name__)
    r1, r2, r3 = (tgen.gears[n] for n in ("r1", "r2", "r3"))
    k.vtysh(r1, "configure terminal",
            "ipv6 prefix-list ACCEPT6 seq 20 permit fd00:3:1::/126 ge 128")
    k.vtysh(r1, "configure terminal", "router bgp 100",
            *(r1_peer_lines("r2") + r1_peer_lines("r3")))
    k.vtysh(r2, "configure terminal", "router bgp 100",
            "neighbor fd00:2::1 remote-as 100", "neighbor fd00:2::1 timers 3 10",
            "neighbor fd00:2::1 timers connect 1",
            "address-family ipv4 unicast", "no neighbor fd00:2::1 activate",
            "exit-address-family", "address-family ipv6 unicast",
            "neighbor fd00:2::1 activate")
    k.vtysh(r3, "configure terminal", "interface r3-eth1", "ipv6 address fd00:2::3/64")
    k.vtysh(r3, "configure terminal", "router bgp 100",
            "neighbor fd00:2::1 remote-as 100", "neighbor fd00:2::1 timers 3 10",
            "neighbor fd00:2::1 timers connect 1",
            "neighbor fd00:2::1 dont-capability-negotiate",
            "address-family ipv4 unicast", "no neighbor fd00:2::1 activate",
            "exit-address-family", "address-family ipv6 unicast",
            "neighbor fd00:2::1 activate",
            *["network fd00:3:1::%d/128" % i for i in range(1, 7)])
    for peer in ("r2", "r3"):
        wait_up(tgen, peer)
    yield tgen
    k.stop(tgen)


def nbr(tgen, peer):
    cmd = "show bgp neighbors {} json".format(ADDR6[peer])
    return k.show_json(k.r1(tgen), cmd).get(ADDR6[peer], {})


def session(tgen, peer):
    return k.session_facts(nbr(tgen, peer))


def wait_up(tgen, peer):
    k.wait_for(peer + " v6 Established", lambda: session(tgen, peer)["state"], "Established", 90)
    k.wait_for(peer + " v6 policy", lambda: loc_rib(tgen, peer), ACCEPTED6[peer])


def adj(tgen, peer, kind="received-routes"):
    data = k.show_json(
        k.r1(tgen),
        "show bgp ipv6 unicast neighbors {} {} json".format(ADDR6[peer], kind),
    )
    return None if "warning" in data else set(data.get("receivedRoutes", {}))


def loc_rib(tgen, peer):
    data = k.show_json(k.r1(tgen), "show bgp ipv6 unicast json")
    return {
        p for p, paths in data.get("routes", {}).items()
        for path in paths if path.get("peerId") == ADDR6[peer]
    }


def cfg(tgen, *lines, af="ipv6"):
    out = k.configure(k.r1(tgen), INST, af, *lines)
    return [l for l in out.splitlines() if l.strip()]


@pytest.fixture(autouse=True)
def clean(tgen):
    yield
    # Policy first, while the stored routes can still re-apply it.
    k.vtysh(k.r1(tgen), "configure terminal", "bgp route-map delay-timer 1",
            "no ipv6 prefix-list ACCEPT6 seq 30")
    for peer in ("r2", "r3"):
        wait_up(tgen, peer)
    for peer in ("r2", "r3"):
        a = ADDR6[peer]
        cfg(tgen, "no peer {} keep-all-routes".format(a),
            "no neighbor {} soft-reconfiguration inbound".format(a))
    cfg(tgen, "no keep-all-routes", af=None)


@pytest.mark.parametrize("peer", ["r2", "r3"])
def test_v6_enable_refill_and_disable_free(tgen, peer):
    "SPEC 1/2 and 5 with an IPv6 peer in ipv6 unicast."
    caps = nbr(tgen, peer).get("neighborCapabilities", {})
    rr = "received" in caps.get("routeRefresh", "").lower()
    assert rr == (peer == "r2"), caps
    before = session(tgen, peer)
    assert adj(tgen, peer) is None

    assert cfg(tgen, "peer {} keep-all-routes".format(ADDR6[peer])) == []
    if rr:
        k.wait_for("RR sent", lambda: session(tgen, peer)["refreshSent"], before["refreshSent"] + 1)
        assert session(tgen, peer)["dropped"] == before["dropped"]
    else:
        k.wait_for("reset", lambda: session(tgen, peer),
                   lambda s: s["dropped"] == before["dropped"] + 1 and s["state"] == "Established")
    k.wait_for("stored", lambda: adj(tgen, peer), SENT6[peer])
    assert adj(tgen, peer, "filtered-routes") == SENT6[peer] - ACCEPTED6[peer]
    mid = session(tgen, peer)

    assert cfg(tgen, "no peer {} keep-all-routes".format(ADDR6[peer])) == []
    assert adj(tgen, peer) is None
    assert loc_rib(tgen, peer) == ACCEPTED6[peer]
    assert k.same_session(session(tgen, peer), mid)


@pytest.mark.parametrize("peer", ["r2", "r3"])
def test_v6_soft_in_from_store(tgen, peer):
    "SPEC 9: clear soft in replays stored IPv6 routes; nothing sent."
    cfg(tgen, "peer {} keep-all-routes".format(ADDR6[peer]))
    wait_up(tgen, peer)
    k.wait_for("stored", lambda: adj(tgen, peer), SENT6[peer])
    before = session(tgen, peer)
    k.vtysh(k.r1(tgen), "configure terminal", "bgp route-map delay-timer 0",
            "ipv6 prefix-list ACCEPT6 seq 30 permit fd00::/16 ge 128")
    k.vtysh(k.r1(tgen), "clear bgp ipv6 unicast {} soft in".format(ADDR6[peer]))
    k.wait_for("all accepted", lambda: loc_rib(tgen, peer), SENT6[peer])
    assert k.same_session(session(tgen, peer), before)


def test_v6_native_and_instance_hold(tgen):
    "SPEC 3, 6, 10: native and instance-wide sources with an IPv6 peer."
    a = ADDR6["r2"]
    cfg(tgen, "neighbor {} soft-reconfiguration inbound".format(a))
    k.wait_for("stored", lambda: adj(tgen, "r2"), SENT6["r2"])
    before = session(tgen, "r2")
    assert cfg(tgen, "peer {} keep-all-routes".format(a)) == []
    assert cfg(tgen, "keep-all-routes", af=None) == []
    assert cfg(tgen, "no neighbor {} soft-reconfiguration inbound".format(a)) == []
    out = cfg(tgen, "no peer {} keep-all-routes".format(a))
    assert out == ["% {} still keeps all routes: keep-all-routes is configured "
                   "for BGP instance default".format(a)], out
    assert adj(tgen, "r2") == SENT6["r2"]
    assert k.same_session(session(tgen, "r2"), before)
    assert cfg(tgen, "no keep-all-routes", af=None) == []
    assert adj(tgen, "r2") is None
    assert k.same_session(session(tgen, "r2"), before)


def test_v6_config_lines_and_restart(tgen):
    "SPEC 13: ipv6 lines in the ipv6 block; restart keeps retention."
    cfg(tgen, "peer fd00:2::2 keep-all-routes", "peer fd00:2::3 keep-all-routes")
    block = k.running_bgp(tgen, INST)
    v6 = block[block.index(" address-family ipv6 unicast"):]
    v6 = v6[: v6.index(" exit-address-family")]
    assert "  peer fd00:2::2 keep-all-routes" in v6
    assert "  peer fd00:2::3 keep-all-routes" in v6
    kill_router_daemons(tgen, "r1", ["bgpd"])
    start_router_daemons(tgen, "r1", ["bgpd"])
    for peer in ("r2", "r3"):
        wait_up(tgen, peer)
        k.wait_for("stored after restart", lambda: adj(tgen, peer), SENT6[peer])
    assert session(tgen, "r3")["established"] == 1
