#!/usr/bin/env python3
"""
Faults: sessions reset while enabling, a peer deleted with a ROUTE-REFRESH
outstanding, bgpd and zebra killed and restarted, the VRF's BGP instance
and its network namespace deleted and re-created.  After each fault every
daemon runs and bgpd answers; each test ends by checking that every route
the peers sent is in received-routes and that the Loc-RIB holds exactly
what the import policy accepts.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

pytestmark = [pytest.mark.bgpd, pytest.mark.usefixtures("reset_r1")]

INST = k.VRF
PEERS = ("r2", "r3")


def enable_all(tgen, inst=INST):
    lines = ["peer {} keep-all-routes".format(k.PEER_ADDR[inst][p]) for p in PEERS]
    return k.configure(k.r1(tgen), inst, "ipv4", *lines)


def all_stored_and_policy(tgen, inst=INST):
    for peer in PEERS:
        k.wait_established(tgen, inst, peer)
        k.wait_for(
            "{} {} received-routes".format(inst, peer),
            lambda: k.adj_in(tgen, inst, peer),
            k.SENT[peer]["ipv4"],
        )
        k.wait_policy_applied(tgen, inst, peer)


def test_flap_while_enabling(tgen):
    "Sessions reset in the same breath as the enable: all stored in the end."
    r1 = k.r1(tgen)
    cmds = ["configure terminal", k.router_bgp(INST), "address-family ipv4 unicast"]
    cmds += ["peer {} keep-all-routes".format(k.PEER_ADDR[INST][p]) for p in PEERS]
    cmds += ["end"] + ["clear bgp vrf vpna {}".format(k.PEER_ADDR[INST][p]) for p in PEERS]
    k.vtysh(r1, *cmds)
    k.assert_bgpd_alive(tgen)
    all_stored_and_policy(tgen)


def test_peer_deleted_with_refresh_outstanding(tgen):
    "no neighbor right after the enable sent ROUTE-REFRESH: no crash, state gone."
    r1 = k.r1(tgen)
    addr = k.PEER_ADDR[INST]["r2"]
    # The peer's record goes with the peer (SPEC 12), whether or not it
    # had one before the enable.
    records = k.kar_records(tgen) - k.kar_has_record(tgen, INST, addr)
    k.vtysh(r1, "configure terminal", k.router_bgp(INST), "address-family ipv4 unicast",
            "peer {} keep-all-routes".format(addr), "exit-address-family",
            "no neighbor {}".format(addr))
    k.assert_bgpd_alive(tgen)
    assert k.neighbor(tgen, INST, "r2") == {}
    assert k.kar_records(tgen) == records
    k.vtysh(r1, "configure terminal", k.router_bgp(INST), *k.neighbor_lines(INST, "r2"))
    k.wait_established(tgen, INST, "r2")
    assert k.adj_in(tgen, INST, "r2") is None
    enable_all(tgen)
    all_stored_and_policy(tgen)


def test_bgpd_restart(tgen):
    "bgpd killed and restarted with its saved config: everything stored again."
    enable_all(tgen)
    all_stored_and_policy(tgen)
    k.restart_daemon(tgen, "bgpd")
    all_stored_and_policy(tgen)


def test_zebra_restart(tgen):
    "zebra killed and restarted under a running bgpd: retention survives."
    enable_all(tgen)
    all_stored_and_policy(tgen)
    k.restart_daemon(tgen, "zebra", save=False)
    all_stored_and_policy(tgen)
    k.assert_bgpd_alive(tgen)


def test_vrf_instance_deleted_and_recreated(tgen):
    "no router bgp 100 vrf vpna with keep-all-routes on, then re-created."
    r1 = k.r1(tgen)
    enable_all(tgen)
    k.configure(r1, INST, None, "keep-all-routes")
    all_stored_and_policy(tgen)
    block = [l for l in k.running_bgp(tgen, INST) if l not in ("exit",)]
    k.vtysh(r1, "configure terminal", "no router bgp 100 vrf vpna")
    k.assert_bgpd_alive(tgen)
    assert INST not in k.kar_show(tgen)
    assert k.running_bgp(tgen, INST, required=False) == []
    # Re-create from the saved block: the same lines give the same retention.
    k.vtysh(r1, "configure terminal", *[l.strip() for l in block])
    k.wait_for("vpna back", lambda: k.running_bgp(tgen, INST, required=False)[:1],
               [k.router_bgp(INST)])
    all_stored_and_policy(tgen)
    assert sum("keep-all-routes" in l for l in k.running_bgp(tgen, INST)) == 3
    k.configure(r1, INST, None, "no keep-all-routes")


def test_vrf_namespace_removed_and_recreated(tgen):
    """The network namespace behind VRF vpna deleted (its interface moved
    out first, as an operator would) and re-created: the configuration
    survives and every route is stored again once the sessions return."""
    enable_all(tgen)
    all_stored_and_policy(tgen)
    lines = [l for l in k.running_bgp(tgen, INST) if "keep-all-routes" in l]
    net = tgen.net["r1"]
    net.reset_intf_netns("r1-eth0")
    net.delete_netns(INST)
    for peer in PEERS:
        k.wait_for(
            "{} down with the namespace".format(peer),
            lambda: k.session(tgen, INST, peer)["state"],
            lambda s: s != "Established",
        )
    k.assert_bgpd_alive(tgen)
    assert [l for l in k.running_bgp(tgen, INST) if "keep-all-routes" in l] == lines
    net.add_netns(INST)
    net.set_intf_netns("r1-eth0", INST, up=True)
    all_stored_and_policy(tgen)
    assert k.adj_in_entries(tgen) == 6 * len(PEERS)
