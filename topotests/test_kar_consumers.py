#!/usr/bin/env python3
"""
keep-all-routes is one consumer of a peer's Adj-RIB-In among several.

r1's bgpd loads keep_all_routes, FRR's bmp module and a second consumer
built only for these tests (tests/consumer/kar_test_consumer.c).  That
consumer claims a peer's Adj-RIB-In exactly as upstream's BMP pre-policy
monitoring does (25024e0434): it answers the bgp_adj_in_needed hook, fills
with peer_change_action(peer_change_reset_in) and frees only when
bgp_adj_in_needed() says no consumer is left; it knows nothing of
keep_all_routes.  Its commands are sent to bgpd's vty socket
(kar_lib.daemon_cmd), since vtysh knows no command of a module built
outside FRR's tree.

What an operator checks: the stored routes (received-routes), the Loc-RIB,
the session's counters (ROUTE-REFRESH, resets) and that bgpd lives, while
each consumer is enabled and undone, beside the other, with soft-in, a
policy change and the peer's deletion.  VRF vpna, r2 (route-refresh) and
r3 (no capabilities).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

pytestmark = [pytest.mark.bgpd]
QUICK_PEERS = True
V = k.VRF


@pytest.fixture(scope="module")
def tgen(request):
    if not k.TEST_CONSUMER or not os.path.exists(k.TEST_CONSUMER):
        pytest.fail("the test consumer module is not built (KAR_TEST_CONSUMER={!r}; "
                    "scripts/topotests.sh builds it with scripts/build-module.sh)"
                    .format(k.TEST_CONSUMER))
    tgen = k.start(request.module.__name__, r1_modules=(k.TEST_CONSUMER, "bmp"))
    k.quick_peers(tgen)
    yield tgen
    k.stop(tgen)


def claim(tgen, peer, on=True):
    """The second consumer claims (or gives up) the peer's IPv4 unicast
    Adj-RIB-In in VRF vpna."""
    k.daemon_cmd(k.r1(tgen), "bgpd", "{}test adj-in-consumer claim vrf {} {} ipv4".format(
        "" if on else "no ", V, k.PEER_ADDR[V][peer]))


def claims(tgen):
    out = k.daemon_cmd(k.r1(tgen), "bgpd", "show test adj-in-consumer")
    return [line.split() for line in out.splitlines() if line.strip()]


def kar(tgen, peer, on=True):
    out = k.configure(k.r1(tgen), V, "ipv4", "{}peer {} keep-all-routes".format(
        "" if on else "no ", k.PEER_ADDR[V][peer]))
    assert not out.strip(), out


@pytest.fixture(autouse=True)
def reset(tgen):
    yield
    for peer in ("r2", "r3"):
        claim(tgen, peer, False)
    assert claims(tgen) == []
    k.reset_r1(tgen)
    k.assert_bgpd_alive(tgen)


def stored(tgen, peer):
    return k.adj_in(tgen, V, peer)


def wait_stored(tgen, peer):
    return k.wait_for("{} received-routes = all sent".format(peer),
                      lambda: stored(tgen, peer), k.SENT[peer]["ipv4"])


def wait_freed(tgen, peer):
    k.wait_for("{} received-routes gone".format(peer), lambda: stored(tgen, peer), None)
    assert k.kar_state(tgen, V, peer)["storedPrefixes"] == 0


def hold_stored(tgen, peer, seconds=3):
    """The stored routes stay (nothing frees them) for a few seconds."""
    k.hold("{} received-routes stay".format(peer), lambda: stored(tgen, peer),
           lambda got: got == k.SENT[peer]["ipv4"], seconds)


def not_reset(now, before):
    """The same session: neither dropped nor established again since."""
    return (now["state"] == "Established" and now["dropped"] == before["dropped"]
            and now["established"] == before["established"]
            and abs(now["upSince"] - before["upSince"]) <= 1)


def hold_untouched(tgen, peer, before, seconds=3):
    """No ROUTE-REFRESH and no reset: both would show within milliseconds."""
    k.hold("{} session unchanged".format(peer), lambda: k.session(tgen, V, peer),
           lambda got: k.same_session(got, before), seconds)


def test_modules_loaded_side_by_side(tgen):
    "keep_all_routes, bmp and the second consumer are loaded in one bgpd."
    out = k.r1(tgen).vtysh_cmd("show modules")
    for name in ("bgpd_keep_all_routes", "bgpd_bmp", "bgpd_kar_test_consumer"):
        assert name in out, out


def test_second_consumer_alone(tgen):
    """The second consumer alone keeps r2's table, and every UPDATE after
    its claim is stored (bgpd's kept answer is current although the
    consumer never tells bgpd its answer changed)."""
    r2 = tgen.gears["r2"]
    k.wait_policy_applied(tgen, V, "r2")
    assert stored(tgen, "r2") is None
    rr = k.peer_refresh_received(tgen, V, "r2")
    before = k.session(tgen, V, "r2")
    claim(tgen, "r2")
    wait_stored(tgen, "r2")
    assert k.peer_refresh_received(tgen, V, "r2") == rr + 1
    assert not_reset(k.session(tgen, V, "r2"), before)
    facts = k.kar_state(tgen, V, "r2")
    assert facts["sources"] == [] and facts["retained"], facts
    new = "172.16.2.7/32"
    k.vtysh(r2, "configure terminal", "router bgp 100", "address-family ipv4 unicast",
            "network " + new)
    try:
        k.wait_for("a route sent after the claim is stored", lambda: stored(tgen, "r2"),
                   k.SENT["r2"]["ipv4"] | {new})
    finally:
        k.vtysh(r2, "configure terminal", "router bgp 100", "address-family ipv4 unicast",
                "no network " + new)
    wait_stored(tgen, "r2")
    claim(tgen, "r2", False)
    wait_freed(tgen, "r2")
    # Given up: a route sent now is not stored either.
    updates = updates_received(tgen, "r2")
    k.vtysh(r2, "configure terminal", "router bgp 100", "address-family ipv4 unicast",
            "network " + new)
    try:
        k.wait_for("r1 received r2's UPDATE", lambda: updates_received(tgen, "r2") > updates,
                   True)
        assert stored(tgen, "r2") is None
    finally:
        k.vtysh(r2, "configure terminal", "router bgp 100", "address-family ipv4 unicast",
                "no network " + new)


def updates_received(tgen, peer):
    return k.neighbor_fact(k.neighbor(tgen, V, peer), "messageStats", "updatesRecv")


@pytest.mark.parametrize("peer", ["r2", "r3"])
def test_keep_all_routes_beside_claim(tgen, peer):
    """Enabled while the other consumer keeps the table: nothing is sent,
    nothing is reset (SPEC 3).  Undone while it still does: the table
    stays.  The other consumer gives up: the table is freed (SPEC 5)."""
    claim(tgen, peer)
    k.wait_established(tgen, V, peer)
    wait_stored(tgen, peer)
    k.wait_policy_applied(tgen, V, peer)
    before = k.session(tgen, V, peer)
    rr = k.peer_refresh_received(tgen, V, peer) if peer == "r2" else None
    kar(tgen, peer)
    hold_untouched(tgen, peer, before)
    if rr is not None:
        assert k.peer_refresh_received(tgen, V, peer) == rr
    facts = k.kar_state(tgen, V, peer)
    assert facts["sources"] == ["peer"] and facts["retained"], facts
    assert facts["lastEnableAction"] == "none", facts
    kar(tgen, peer, False)
    hold_stored(tgen, peer)
    claim(tgen, peer, False)
    wait_freed(tgen, peer)
    k.wait_policy_applied(tgen, V, peer)
    assert k.session(tgen, V, peer)["state"] == "Established"


@pytest.mark.parametrize("peer", ["r2", "r3"])
def test_claim_beside_keep_all_routes(tgen, peer):
    """The other order: keep-all-routes first, then the other consumer
    (which, like BMP, knows only the soft-reconfiguration flag and asks the
    peer again).  Its undo leaves keep-all-routes' table; keep-all-routes'
    undo then frees it."""
    kar(tgen, peer)
    k.wait_established(tgen, V, peer)
    wait_stored(tgen, peer)
    claim(tgen, peer)
    k.wait_established(tgen, V, peer)
    wait_stored(tgen, peer)
    k.wait_policy_applied(tgen, V, peer)
    claim(tgen, peer, False)
    hold_stored(tgen, peer)
    kar(tgen, peer, False)
    wait_freed(tgen, peer)
    k.wait_policy_applied(tgen, V, peer)


def test_soft_in_from_the_other_consumers_table(tgen):
    """A policy change and `clear ... soft in` use the table the other
    consumer keeps: no ROUTE-REFRESH, no reset, Loc-RIB = new policy(sent).
    Once no consumer keeps it, the same clear asks the peer again."""
    claim(tgen, "r2")
    wait_stored(tgen, "r2")
    k.wait_policy_applied(tgen, V, "r2")
    before = k.session(tgen, V, "r2")
    rr = k.peer_refresh_received(tgen, V, "r2")
    r1 = k.r1(tgen)
    k.vtysh(r1, "configure terminal", "bgp route-map delay-timer 0",
            "ip prefix-list ACCEPT seq 30 permit 172.16.2.4/32")
    k.vtysh(r1, "clear bgp vrf {} ipv4 unicast {} soft in".format(V, k.PEER_ADDR[V]["r2"]))
    k.wait_for("Loc-RIB = new policy(sent)", lambda: k.loc_rib(tgen, V, "r2"),
               k.ACCEPTED["r2"]["ipv4"] | {"172.16.2.4/32"})
    hold_untouched(tgen, "r2", before)
    assert k.peer_refresh_received(tgen, V, "r2") == rr
    claim(tgen, "r2", False)
    wait_freed(tgen, "r2")
    k.vtysh(r1, "clear bgp vrf {} ipv4 unicast {} soft in".format(V, k.PEER_ADDR[V]["r2"]))
    k.wait_for("a ROUTE-REFRESH once nothing is kept",
               lambda: k.peer_refresh_received(tgen, V, "r2"), rr + 1)


def test_peer_deleted_with_both_consumers(tgen):
    """`no neighbor` while both consumers hold r2: bgpd lives, neither keeps
    anything of it, and the re-added neighbor is not retained (SPEC 12)."""
    addr = k.PEER_ADDR[V]["r2"]
    kar(tgen, "r2")
    claim(tgen, "r2")
    wait_stored(tgen, "r2")
    r1 = k.r1(tgen)
    k.vtysh(r1, "configure terminal", k.router_bgp(V), "no neighbor " + addr)
    k.assert_bgpd_alive(tgen)
    assert claims(tgen) == []
    assert not k.kar_has_record(tgen, V, addr)
    k.vtysh(r1, "configure terminal", k.router_bgp(V), *k.neighbor_lines(V, "r2"))
    k.wait_established(tgen, V, "r2")
    k.wait_policy_applied(tgen, V, "r2")
    assert stored(tgen, "r2") is None
    facts = k.kar_state(tgen, V, "r2")
    assert facts["sources"] == [] and not facts["retained"], facts


def test_instance_undo_keeps_the_claimed_peer(tgen):
    """`no keep-all-routes` for the instance frees the peers no one else
    keeps (r3) and leaves the one the other consumer claims (r2)."""
    r1 = k.r1(tgen)
    k.vtysh(r1, "configure terminal", k.router_bgp(V), "keep-all-routes")
    for peer in ("r2", "r3"):
        k.wait_established(tgen, V, peer)
        wait_stored(tgen, peer)
    claim(tgen, "r2")
    k.vtysh(r1, "configure terminal", k.router_bgp(V), "no keep-all-routes")
    wait_freed(tgen, "r3")
    hold_stored(tgen, "r2")
    claim(tgen, "r2", False)
    wait_freed(tgen, "r2")
