#!/usr/bin/env python3
"""
keep-all-routes, per peer: what enabling and disabling does to a live
session (SPEC 1, 2, 3, 4, 5) and how a policy change then uses the stored
routes (SPEC 9).  Each test runs in VRF vpna and in the default instance,
against r2 (route-refresh) and r3 (no capabilities at all).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

pytestmark = [pytest.mark.bgpd, pytest.mark.usefixtures("reset_r1")]
QUICK_PEERS = True  # r1's bgpd is never restarted here


def enable(tgen, inst, peer, af="ipv4", neg="", note=None):
    """Type the command; it prints nothing, or exactly the one-line note."""
    out = k.configure(
        k.r1(tgen), inst, af, "{}peer {} keep-all-routes".format(neg, k.PEER_ADDR[inst][peer])
    )
    lines = [line for line in out.splitlines() if line.strip()]
    if note is None:
        assert lines == [], out
    else:
        assert len(lines) == 1 and note in lines[0], out
    return out


def disable(tgen, inst, peer, af="ipv4", note=None):
    return enable(tgen, inst, peer, af, neg="no ", note=note)


def assert_untouched(tgen, inst, peer, before, seconds=3):
    """The session stays exactly as it was for a few seconds: a ROUTE-REFRESH
    or a reset would show within milliseconds."""
    k.hold(
        "{} {} session unchanged since {!r}".format(inst, peer, before),
        lambda: k.session(tgen, inst, peer),
        lambda got: k.same_session(got, before),
        seconds,
    )


def wait_stored(tgen, inst, peer, af="ipv4"):
    return k.wait_for(
        "{} {} received-routes = all sent".format(inst, peer),
        lambda: k.adj_in(tgen, inst, peer, af),
        k.SENT[peer][af],
    )


def enable_and_store(tgen, inst, peer):
    """Enable, and wait until the session is up again (r3 resets), the
    Adj-RIB-In holds everything sent and the Loc-RIB what policy accepts."""
    enable(tgen, inst, peer)
    k.wait_established(tgen, inst, peer)
    wait_stored(tgen, inst, peer)
    k.wait_policy_applied(tgen, inst, peer)


def wait_freed(tgen, inst, peer, af="ipv4"):
    return k.wait_for(
        "{} {} received-routes gone".format(inst, peer),
        lambda: k.adj_in(tgen, inst, peer, af),
        None,
    )


@pytest.mark.parametrize("inst", k.INSTANCES)
def test_spec1_enable_with_route_refresh(tgen, inst):
    "SPEC 1: ROUTE-REFRESH, no reset, rejected routes stored afterwards."
    k.wait_policy_applied(tgen, inst, "r2")
    before = k.session(tgen, inst, "r2")
    peer_rr_before = k.peer_refresh_received(tgen, inst, "r2")
    assert k.adj_in(tgen, inst, "r2") is None, "Adj-RIB-In kept before enable"

    enable(tgen, inst, "r2")

    wait_stored(tgen, inst, "r2")
    assert k.adj_in(tgen, inst, "r2", kind="filtered-routes") == (
        k.SENT["r2"]["ipv4"] - k.ACCEPTED["r2"]["ipv4"]
    )
    after = k.session(tgen, inst, "r2")
    assert after["refreshSent"] == before["refreshSent"] + 1
    assert k.same_session(dict(after, refreshSent=None), dict(before, refreshSent=None))
    assert k.peer_refresh_received(tgen, inst, "r2") == peer_rr_before + 1
    assert k.loc_rib(tgen, inst, "r2") == k.ACCEPTED["r2"]["ipv4"]
    assert k.kar_state(tgen, inst, "r2")["lastEnableAction"] == "route-refresh"

    disable(tgen, inst, "r2")
    wait_freed(tgen, inst, "r2")


@pytest.mark.parametrize("inst", k.INSTANCES)
def test_spec2_enable_without_route_refresh(tgen, inst):
    "SPEC 2: Cease/config-change reset, everything stored from the new session."
    k.wait_policy_applied(tgen, inst, "r3")
    caps = k.neighbor(tgen, inst, "r3").get("neighborCapabilities", {})
    assert "received" not in caps.get("routeRefresh", "").lower(), caps
    before = k.session(tgen, inst, "r3")

    enable(tgen, inst, "r3")

    k.wait_for(
        "{} r3 reset and back".format(inst),
        lambda: k.session(tgen, inst, "r3"),
        lambda s: s["state"] == "Established"
        and s["dropped"] == before["dropped"] + 1
        and s["established"] == before["established"] + 1,
    )
    # The reset was r1's Cease / Other Configuration Change (6/6), in r1's
    # record: r3's own is lost on 8.4 and 10.3 when the session comes back
    # on the connection r1 opened, as it does with r3 passive.  8.4 and 10.3
    # record a sent NOTIFICATION's code and subcode; 10.7 records a sent
    # Cease by its cause instead.
    seen_by_r1 = k.neighbor(tgen, inst, "r3")
    if "lastErrorCodeSubcode" in seen_by_r1:
        assert seen_by_r1["lastErrorCodeSubcode"] == "0606", seen_by_r1
    else:
        assert seen_by_r1.get("lastResetDueTo") == "Cease: other config change", (
            seen_by_r1
        )
    wait_stored(tgen, inst, "r3")
    assert k.adj_in(tgen, inst, "r3", kind="filtered-routes") == (
        k.SENT["r3"]["ipv4"] - k.ACCEPTED["r3"]["ipv4"]
    )
    assert k.session(tgen, inst, "r3")["refreshSent"] == before["refreshSent"]
    k.wait_policy_applied(tgen, inst, "r3")
    assert k.kar_state(tgen, inst, "r3")["lastEnableAction"] == "session-reset"

    disable(tgen, inst, "r3")
    wait_freed(tgen, inst, "r3")


@pytest.mark.parametrize("peer", ["r2", "r3"])
@pytest.mark.parametrize("inst", k.INSTANCES)
def test_spec3_enable_while_already_retained(tgen, inst, peer):
    "SPEC 3: native soft-reconfiguration holds it: nothing sent, no reset."
    k.native(tgen, inst, peer)
    k.wait_established(tgen, inst, peer)
    stored = wait_stored(tgen, inst, peer)
    before = k.session(tgen, inst, peer)
    peer_rr = k.peer_refresh_received(tgen, inst, peer)

    enable(tgen, inst, peer)

    assert k.kar_state(tgen, inst, peer)["lastEnableAction"] == "none"
    assert_untouched(tgen, inst, peer, before)
    assert k.peer_refresh_received(tgen, inst, peer) == peer_rr
    assert k.adj_in(tgen, inst, peer) == stored

    disable(tgen, inst, peer, note="soft-reconfiguration inbound is configured")
    assert k.adj_in(tgen, inst, peer) == stored, "native line alone must keep it"
    k.native(tgen, inst, peer, on=False)
    wait_freed(tgen, inst, peer)
    assert_untouched(tgen, inst, peer, before, seconds=1)


@pytest.mark.parametrize("peer", ["r2", "r3"])
@pytest.mark.parametrize("inst", k.INSTANCES)
def test_spec4_enable_while_not_established(tgen, inst, peer):
    "SPEC 4: nothing sent; routes stored from the first UPDATE of the next session."
    addr = k.PEER_ADDR[inst][peer]
    r1 = k.r1(tgen)
    k.wait_established(tgen, inst, peer)
    before = k.session(tgen, inst, peer)
    peer_rr = k.peer_refresh_received(tgen, inst, peer)
    k.configure(r1, inst, None, "neighbor {} shutdown".format(addr))
    k.wait_for(
        "{} {} down".format(inst, peer),
        lambda: k.session(tgen, inst, peer)["state"],
        lambda s: s != "Established",
    )

    enable(tgen, inst, peer)
    assert k.kar_state(tgen, inst, peer)["lastEnableAction"] == "none"

    k.configure(r1, inst, None, "no neighbor {} shutdown".format(addr))
    k.wait_established(tgen, inst, peer)
    wait_stored(tgen, inst, peer)
    after = k.session(tgen, inst, peer)
    # Exactly the one drop of the shutdown, no reset and no ROUTE-REFRESH
    # from enabling.
    assert after["dropped"] == before["dropped"] + 1
    assert after["established"] == before["established"] + 1
    assert after["refreshSent"] == before["refreshSent"]
    assert k.peer_refresh_received(tgen, inst, peer) == peer_rr
    k.wait_policy_applied(tgen, inst, peer)

    disable(tgen, inst, peer)
    wait_freed(tgen, inst, peer)


@pytest.mark.parametrize("peer", ["r2", "r3"])
@pytest.mark.parametrize("inst", k.INSTANCES)
def test_spec5_disable_frees(tgen, inst, peer):
    "SPEC 5: disable frees the Adj-RIB-In; Loc-RIB and session untouched."
    baseline = k.adj_in_entries(tgen)
    enable_and_store(tgen, inst, peer)
    k.wait_for("Adj-In entries grew", lambda: k.adj_in_entries(tgen), baseline + 6)
    before = k.session(tgen, inst, peer)
    rib = k.loc_rib(tgen, inst, peer)

    disable(tgen, inst, peer)

    assert k.adj_in(tgen, inst, peer) is None
    assert k.adj_in_entries(tgen) == baseline
    assert k.loc_rib(tgen, inst, peer) == rib
    assert_untouched(tgen, inst, peer, before)


@pytest.mark.parametrize("peer", ["r2", "r3"])
@pytest.mark.parametrize("inst", k.INSTANCES)
def test_spec9_soft_in_and_policy_change_use_store(tgen, inst, peer):
    "SPEC 9: clear soft in and a prefix-list change replay the stored routes."
    r1 = k.r1(tgen)
    enable_and_store(tgen, inst, peer)
    before = k.session(tgen, inst, peer)
    peer_rr = k.peer_refresh_received(tgen, inst, peer)

    # Switch off bgpd's own reaction to policy changes (delay-timer 0), so
    # that only `clear ... soft in` can apply this one.
    k.vtysh(
        r1,
        "configure terminal",
        "bgp route-map delay-timer 0",
        "ip prefix-list ACCEPT seq 30 permit 172.16.0.0/16 ge 32",
    )
    assert k.loc_rib(tgen, inst, peer) == k.ACCEPTED[peer]["ipv4"]
    out = k.vtysh(
        r1,
        "clear bgp{} ipv4 unicast {} soft in".format(k.vrf_arg(inst), k.PEER_ADDR[inst][peer]),
    )
    assert "%" not in out, out
    k.wait_for(
        "{} {} rejected routes now accepted".format(inst, peer),
        lambda: k.loc_rib(tgen, inst, peer),
        k.SENT[peer]["ipv4"],
    )

    # Now the policy change itself: bgpd applies it when the timer fires.
    k.vtysh(
        r1,
        "configure terminal",
        "bgp route-map delay-timer 1",
        "no ip prefix-list ACCEPT seq 30 permit 172.16.0.0/16 ge 32",
    )
    k.wait_policy_applied(tgen, inst, peer)

    assert k.same_session(k.session(tgen, inst, peer), before)
    assert k.peer_refresh_received(tgen, inst, peer) == peer_rr
    disable(tgen, inst, peer)
    wait_freed(tgen, inst, peer)


@pytest.mark.parametrize("inst", k.INSTANCES)
def test_spec9_control_without_retention_asks_peer(tgen, inst):
    "Control for SPEC 9: without retention, soft in sends ROUTE-REFRESH."
    before = k.session(tgen, inst, "r2")
    k.vtysh(
        k.r1(tgen),
        "clear bgp{} ipv4 unicast {} soft in".format(k.vrf_arg(inst), k.PEER_ADDR[inst]["r2"]),
    )
    k.wait_for(
        "{} r2 ROUTE-REFRESH sent".format(inst),
        lambda: k.session(tgen, inst, "r2")["refreshSent"],
        before["refreshSent"] + 1,
    )
