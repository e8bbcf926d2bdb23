#!/usr/bin/env python3
"""
SPEC 15: the patched bgpd without the module behaves as FRR 8.4.4 does.
The commands do not exist in bgpd, and the native soft-reconfiguration
inbound keeps doing exactly what it did: ROUTE-REFRESH or a reset on
enable, received-routes while on, the Adj-RIB-In freed on disable.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

pytestmark = [pytest.mark.bgpd, pytest.mark.usefixtures("reset_r1")]
QUICK_PEERS = True  # r1's bgpd is never restarted here
WITH_MODULE = False


def test_no_module_loaded(tgen):
    out = k.r1(tgen).vtysh_cmd("show modules")
    # bgpd's own answer, under vtysh's headline for it.
    bgpd = out.partition("Module information for bgpd:")[2].split("Module information for")[0]
    assert "Module Name" in bgpd, out
    assert "keep_all_routes" not in bgpd, out


@pytest.mark.parametrize(
    "cmd",
    [
        ("ipv4", "peer 10.0.1.2 keep-all-routes"),
        ("ipv4", "undo peer 10.0.1.2 keep-all-routes"),
        (None, "keep-all-routes"),
    ],
    ids=["peer", "undo-peer", "instance"],
)
def test_commands_unknown_to_bgpd(tgen, cmd):
    "bgpd refuses the lines; nothing reaches the configuration."
    before = k.r1(tgen).vtysh_cmd("show running-config")
    out = k.configure(k.r1(tgen), k.VRF, *cmd)
    assert "Unknown command" in out, out
    k.assert_bgpd_alive(tgen)
    assert k.r1(tgen).vtysh_cmd("show running-config") == before


def test_show_unknown_to_bgpd(tgen):
    out = k.vtysh(k.r1(tgen), "show bgp vrf vpna keep-all-routes json")
    assert "Unknown command" in out, out
    k.assert_bgpd_alive(tgen)


@pytest.mark.parametrize("inst", k.INSTANCES)
def test_native_soft_reconfiguration_unchanged(tgen, inst):
    "Native flag: ROUTE-REFRESH / reset on enable, store, free on disable."
    assert k.adj_in(tgen, inst, "r2") is None
    b2, b3 = k.session(tgen, inst, "r2"), k.session(tgen, inst, "r3")
    for peer in ("r2", "r3"):
        k.native(tgen, inst, peer)
    for peer in ("r2", "r3"):
        k.wait_established(tgen, inst, peer)
        k.wait_for(
            "{} stored".format(peer),
            lambda: k.adj_in(tgen, inst, peer),
            k.SENT[peer]["ipv4"],
        )
    a2, a3 = k.session(tgen, inst, "r2"), k.session(tgen, inst, "r3")
    assert a2["refreshSent"] == b2["refreshSent"] + 1 and a2["dropped"] == b2["dropped"]
    assert a3["dropped"] == b3["dropped"] + 1 and a3["refreshSent"] == b3["refreshSent"]
    block = k.running_bgp(tgen, inst)
    assert sum("soft-reconfiguration inbound" in l for l in block) == 2
    assert not [l for l in block if "keep-all-routes" in l]

    for peer in ("r2", "r3"):
        k.native(tgen, inst, peer, on=False)
        assert k.adj_in(tgen, inst, peer) is None
    assert k.adj_in_entries(tgen) == 0
