#!/usr/bin/env python3
"""
IPv6 parity: IPv6 peers (X:X::X:X), ipv6 unicast, in VRF vpna and in the
default instance.  r2 peers over fd00:1::2 (vpna) and fd00:2::2 (default)
with route-refresh; r3 over fd00:1::3 and fd00:2::3 without capabilities.

Each sends fd00:P:1::1-6/128; r1 accepts ::1-::3.  SPEC 1/2 (enable), 3
(native already holds), 5 (disable frees), 6 (instance wins over undo),
9 (soft in from the stored routes), 13 (config lines and restart).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

pytestmark = [pytest.mark.bgpd]

ADDR6 = k.PEER_ADDR6
SENT6 = {p: k.SENT[p]["ipv6"] for p in ("r2", "r3")}
ACCEPTED6 = {p: k.ACCEPTED[p]["ipv6"] for p in ("r2", "r3")}
CASES = [(inst, peer) for inst in k.INSTANCES for peer in ("r2", "r3")]


def r1_peer_lines(inst, peer):
    a = ADDR6[inst][peer]
    return k.neighbor_session_lines(a, peer) + [
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
    r1 = k.r1(tgen)
    k.vtysh(r1, "configure terminal",
            "ipv6 prefix-list ACCEPT6 seq 20 permit fd00:3:1::/126 ge 128")
    for inst in k.INSTANCES:
        k.vtysh(r1, "configure terminal", k.router_bgp(inst),
                *(r1_peer_lines(inst, "r2") + r1_peer_lines(inst, "r3")))
    k.add_ipv6_peer_sessions(tgen)
    for inst, peer in CASES:
        wait_up(tgen, inst, peer)
    yield tgen
    k.stop(tgen)


def nbr(tgen, inst, peer):
    return k.neighbor(tgen, inst, peer, addr=ADDR6[inst][peer])


def session(tgen, inst, peer):
    return k.session(tgen, inst, peer, ADDR6[inst][peer])


def wait_up(tgen, inst, peer):
    k.wait_established(tgen, inst, peer, addr=ADDR6[inst][peer])
    k.wait_policy_applied(tgen, inst, peer, "ipv6", ADDR6[inst][peer])


def adj(tgen, inst, peer, kind="received-routes"):
    return k.adj_in(tgen, inst, peer, "ipv6", kind, ADDR6[inst][peer])


def loc_rib(tgen, inst, peer):
    return k.loc_rib(tgen, inst, peer, "ipv6", ADDR6[inst][peer])


def cfg(tgen, inst, *lines, af="ipv6"):
    out = k.configure(k.r1(tgen), inst, af, *lines)
    return [l for l in out.splitlines() if l.strip()]


@pytest.fixture(autouse=True)
def clean(tgen):
    yield
    # Policy first, while the stored routes can still re-apply it.
    k.vtysh(k.r1(tgen), "configure terminal", "bgp route-map delay-timer 1",
            "no ipv6 prefix-list ACCEPT6 seq 30")
    for inst, peer in CASES:
        wait_up(tgen, inst, peer)
    for inst, peer in CASES:
        a = ADDR6[inst][peer]
        cfg(tgen, inst, "no peer {} keep-all-routes".format(a),
            "no neighbor {} soft-reconfiguration inbound".format(a))
    for inst in k.INSTANCES:
        cfg(tgen, inst, "no keep-all-routes", af=None)


@pytest.mark.parametrize("inst,peer", CASES)
def test_v6_enable_refill_and_disable_free(tgen, inst, peer):
    "SPEC 1/2 and 5 with an IPv6 peer in ipv6 unicast."
    a = ADDR6[inst][peer]
    caps = nbr(tgen, inst, peer).get("neighborCapabilities", {})
    rr = "received" in caps.get("routeRefresh", "").lower()
    assert rr == (peer == "r2"), caps
    before = session(tgen, inst, peer)
    assert adj(tgen, inst, peer) is None

    assert cfg(tgen, inst, "peer {} keep-all-routes".format(a)) == []
    if rr:
        k.wait_for("RR sent", lambda: session(tgen, inst, peer)["refreshSent"],
                   before["refreshSent"] + 1)
        assert session(tgen, inst, peer)["dropped"] == before["dropped"]
    else:
        k.wait_for("reset", lambda: session(tgen, inst, peer),
                   lambda s: s["dropped"] == before["dropped"] + 1 and s["state"] == "Established")
    k.wait_for("stored", lambda: adj(tgen, inst, peer), SENT6[peer])
    assert adj(tgen, inst, peer, "filtered-routes") == SENT6[peer] - ACCEPTED6[peer]
    mid = session(tgen, inst, peer)

    assert cfg(tgen, inst, "no peer {} keep-all-routes".format(a)) == []
    assert adj(tgen, inst, peer) is None
    assert loc_rib(tgen, inst, peer) == ACCEPTED6[peer]
    assert k.same_session(session(tgen, inst, peer), mid)


@pytest.mark.parametrize("inst,peer", CASES)
def test_v6_soft_in_from_store(tgen, inst, peer):
    "SPEC 9: clear soft in replays stored IPv6 routes; nothing sent."
    cfg(tgen, inst, "peer {} keep-all-routes".format(ADDR6[inst][peer]))
    wait_up(tgen, inst, peer)
    k.wait_for("stored", lambda: adj(tgen, inst, peer), SENT6[peer])
    before = session(tgen, inst, peer)
    k.vtysh(k.r1(tgen), "configure terminal", "bgp route-map delay-timer 0",
            "ipv6 prefix-list ACCEPT6 seq 30 permit fd00::/16 ge 128")
    k.vtysh(k.r1(tgen), "clear bgp{} ipv6 unicast {} soft in".format(
        k.vrf_arg(inst), ADDR6[inst][peer]))
    k.wait_for("all accepted", lambda: loc_rib(tgen, inst, peer), SENT6[peer])
    assert k.same_session(session(tgen, inst, peer), before)


@pytest.mark.parametrize("inst", k.INSTANCES)
def test_v6_native_and_instance_hold(tgen, inst):
    "SPEC 3, 6, 10: native and instance-wide sources with an IPv6 peer."
    a = ADDR6[inst]["r2"]
    cfg(tgen, inst, "neighbor {} soft-reconfiguration inbound".format(a))
    k.wait_for("stored", lambda: adj(tgen, inst, "r2"), SENT6["r2"])
    before = session(tgen, inst, "r2")
    assert cfg(tgen, inst, "peer {} keep-all-routes".format(a)) == []
    assert cfg(tgen, inst, "keep-all-routes", af=None) == []
    assert cfg(tgen, inst, "no neighbor {} soft-reconfiguration inbound".format(a)) == []
    out = cfg(tgen, inst, "no peer {} keep-all-routes".format(a))
    assert out == ["% {} still keeps all routes: keep-all-routes is configured "
                   "for BGP instance {}".format(a, inst)], out
    assert adj(tgen, inst, "r2") == SENT6["r2"]
    assert k.same_session(session(tgen, inst, "r2"), before)
    assert cfg(tgen, inst, "no keep-all-routes", af=None) == []
    assert adj(tgen, inst, "r2") is None
    assert k.same_session(session(tgen, inst, "r2"), before)


def test_v6_config_lines_and_restart(tgen):
    "SPEC 13: ipv6 lines in the ipv6 blocks; restart keeps retention."
    for inst in k.INSTANCES:
        cfg(tgen, inst, *["peer {} keep-all-routes".format(ADDR6[inst][p]) for p in ("r2", "r3")])
        block = k.running_bgp(tgen, inst)
        v6 = block[block.index(" address-family ipv6 unicast"):]
        v6 = v6[: v6.index(" exit-address-family")]
        for p in ("r2", "r3"):
            assert "  peer {} keep-all-routes".format(ADDR6[inst][p]) in v6, (inst, v6)
    k.restart_daemon(tgen, "bgpd")  # `write memory` first
    for inst, peer in CASES:
        wait_up(tgen, inst, peer)
        k.wait_for("stored after restart", lambda: adj(tgen, inst, peer), SENT6[peer])
    # A restarted bgpd starts its counters over: r3 was not reset to refill.
    for inst in k.INSTANCES:
        assert session(tgen, inst, "r3")["established"] == 1, inst
