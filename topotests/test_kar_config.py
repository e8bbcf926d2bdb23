#!/usr/bin/env python3
"""
keep-all-routes configuration: the vendor's example, errors (SPEC 7),
isolation between instances and AFs (SPEC 8), peer deletion (SPEC 12), the
running configuration and a bgpd restart (SPEC 13), and the other ways a
line reaches bgpd (vtysh -f, vtysh -b).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

pytestmark = [pytest.mark.bgpd, pytest.mark.usefixtures("reset_r1")]


def kar_json(tgen, inst):
    return k.kar_show(tgen, inst)


def test_vendor_example_typed_into_vtysh(tgen):
    "The vendor's example, in FRR words, is accepted and shows in the config."
    r1 = k.r1(tgen)
    out = k.vtysh(
        r1,
        "configure terminal",
        "router bgp 100 vrf vpna",
        "neighbor 1.1.1.1 remote-as 100",
        "address-family ipv4 unicast",
        "peer 1.1.1.1 keep-all-routes",
    )
    assert out.strip() == "", out
    block = k.running_bgp(tgen, k.VRF)
    assert " neighbor 1.1.1.1 remote-as 100" in block
    af = block[block.index(" address-family ipv4 unicast") :]
    assert "  peer 1.1.1.1 keep-all-routes" in af[: af.index(" exit-address-family")]
    state = kar_json(tgen, k.VRF)[k.VRF]["peers"]["1.1.1.1"]["ipv4Unicast"]
    # 1.1.1.1 is unreachable, so never Established: nothing sent (SPEC 4).
    assert state["retained"] is True
    assert state["sources"] == ["peer"]
    assert state["lastEnableAction"] == "none"
    k.vtysh(r1, "configure terminal", "router bgp 100 vrf vpna", "no neighbor 1.1.1.1")
    assert not [l for l in k.running_bgp(tgen, k.VRF) if "1.1.1.1" in l]
    assert "1.1.1.1" not in kar_json(tgen, k.VRF)[k.VRF]["peers"]


BAD = [
    # (instance, af, peer, expected one-line error)
    (k.VRF, "ipv4", "10.9.9.9", "% peer 10.9.9.9 is not configured in BGP instance vpna"),
    # r2's address in the default instance is not a peer of vpna, and back.
    (k.VRF, "ipv4", "10.0.2.2", "% peer 10.0.2.2 is not configured in BGP instance vpna"),
    ("default", "ipv4", "10.0.1.2", "% peer 10.0.1.2 is not configured in BGP instance default"),
    (k.VRF, "ipv6", "fd00:9::9", "% peer fd00:9::9 is not configured in BGP instance vpna"),
    (k.VRF, "ipv4", "NOSUCHGROUP", "% peer NOSUCHGROUP is not configured in BGP instance vpna"),
    (k.VRF, "ipv4", "10.0.1.300", "% Malformed peer address: 10.0.1.300"),
]


@pytest.mark.parametrize(
    "inst,af,peer,error",
    BAD,
    # FRR's topotest log naming splits test ids on "::".
    ids=["{}-{}-{}".format(*b[:3]).replace(":", "_") for b in BAD],
)
def test_spec7_unknown_peer(tgen, inst, af, peer, error):
    "SPEC 7: one clear line naming peer and instance; nothing changes."
    config_before = k.r1(tgen).vtysh_cmd("show running-config")
    state_before = kar_json(tgen, inst)
    records_before = k.kar_records(tgen)

    out = k.configure(k.r1(tgen), inst, af, "peer {} keep-all-routes".format(peer))

    lines = [l for l in out.splitlines() if l.strip()]
    assert lines == [error], out
    assert k.r1(tgen).vtysh_cmd("show running-config") == config_before
    assert kar_json(tgen, inst) == state_before
    assert k.kar_records(tgen) == records_before


def test_spec8_isolation_between_instances_and_afs(tgen):
    "SPEC 8: vpna ipv4 does not touch the default instance nor ipv6."
    before_default = k.session(tgen, "default", "r2")
    k.configure(k.r1(tgen), k.VRF, "ipv4", "peer 10.0.1.2 keep-all-routes")
    k.wait_for(
        "vpna r2 ipv4 stored",
        lambda: k.adj_in(tgen, k.VRF, "r2", "ipv4"),
        k.SENT["r2"]["ipv4"],
    )
    assert k.adj_in(tgen, k.VRF, "r2", "ipv6") is None
    assert k.adj_in(tgen, "default", "r2", "ipv4") is None
    assert k.adj_in(tgen, "default", "r2", "ipv6") is None
    assert k.same_session(k.session(tgen, "default", "r2"), before_default)

    # Now ipv6 of the same peer: one more ROUTE-REFRESH, for ipv6 only.
    sent = k.session(tgen, k.VRF, "r2")["refreshSent"]
    k.configure(k.r1(tgen), k.VRF, "ipv6", "peer 10.0.1.2 keep-all-routes")
    k.wait_for(
        "vpna r2 ipv6 stored",
        lambda: k.adj_in(tgen, k.VRF, "r2", "ipv6"),
        k.SENT["r2"]["ipv6"],
    )
    assert k.adj_in(tgen, k.VRF, "r2", "ipv6", "filtered-routes") == (
        k.SENT["r2"]["ipv6"] - k.ACCEPTED["r2"]["ipv6"]
    )
    assert k.session(tgen, k.VRF, "r2")["refreshSent"] == sent + 1

    # Disabling ipv4 leaves ipv6 stored.
    k.configure(k.r1(tgen), k.VRF, "ipv4", "no peer 10.0.1.2 keep-all-routes")
    assert k.adj_in(tgen, k.VRF, "r2", "ipv4") is None
    assert k.adj_in(tgen, k.VRF, "r2", "ipv6") == k.SENT["r2"]["ipv6"]


@pytest.mark.parametrize("inst", k.INSTANCES)
def test_spec12_peer_deletion(tgen, inst):
    "SPEC 12: no neighbor removes the line and the state; re-added without."
    r1 = k.r1(tgen)
    addr = k.PEER_ADDR[inst]["r2"]
    # The peer's own line makes a record, unless it has one already.
    records = k.kar_records(tgen) + (not k.kar_has_record(tgen, inst, addr))
    k.configure(r1, inst, "ipv4", "peer {} keep-all-routes".format(addr))
    k.wait_for(
        "stored", lambda: k.adj_in(tgen, inst, "r2"), k.SENT["r2"]["ipv4"]
    )
    assert k.kar_records(tgen) == records

    k.vtysh(r1, "configure terminal", k.router_bgp(inst), "no neighbor " + addr)

    assert not [l for l in k.running_bgp(tgen, inst) if addr in l]
    assert addr not in kar_json(tgen, inst)[inst]["peers"]
    assert k.kar_records(tgen) == records - 1

    k.vtysh(r1, "configure terminal", k.router_bgp(inst), *k.neighbor_lines(inst, "r2"))
    k.wait_established(tgen, inst, "r2")
    k.wait_policy_applied(tgen, inst, "r2")
    assert k.adj_in(tgen, inst, "r2") is None
    state = kar_json(tgen, inst)[inst]["peers"][addr]["ipv4Unicast"]
    assert state["retained"] is False and state["lastEnableAction"] == "never"
    assert not [l for l in k.running_bgp(tgen, inst) if "keep-all-routes" in l]


def af_block(block, af):
    start = block.index(" address-family {} unicast".format(af))
    return block[start : block.index(" exit-address-family", start)]


def test_spec13_running_config_and_restart(tgen):
    "SPEC 13: lines in the right blocks; write, restart bgpd -M, same retention."
    r1 = k.r1(tgen)
    k.configure(r1, k.VRF, "ipv4", "peer 10.0.1.2 keep-all-routes", "peer 10.0.1.3 keep-all-routes")
    k.configure(r1, "default", "ipv6", "peer 10.0.2.2 keep-all-routes")
    want = {
        (k.VRF, "r2", "ipv4"): True,
        (k.VRF, "r3", "ipv4"): True,
        (k.VRF, "r2", "ipv6"): False,
        ("default", "r2", "ipv4"): False,
        ("default", "r3", "ipv4"): False,
        ("default", "r2", "ipv6"): True,
    }

    def check_config():
        vpna = k.running_bgp(tgen, k.VRF)
        dflt = k.running_bgp(tgen, "default")
        assert "  peer 10.0.1.2 keep-all-routes" in af_block(vpna, "ipv4")
        assert "  peer 10.0.1.3 keep-all-routes" in af_block(vpna, "ipv4")
        assert "  peer 10.0.2.2 keep-all-routes" in af_block(dflt, "ipv6")
        assert sum("keep-all-routes" in l for l in vpna + dflt) == 3

    def check_retention():
        for (inst, peer, af), on in want.items():
            k.wait_established(tgen, inst, peer)
            got = k.wait_for(
                "{} {} {} retention".format(inst, peer, af),
                lambda: k.adj_in(tgen, inst, peer, af),
                lambda v: (v == k.SENT[peer][af]) if on else (v is None),
            )
            if on:
                assert k.adj_in(tgen, inst, peer, af, "filtered-routes") == (
                    got - k.ACCEPTED[peer][af]
                )

    check_config()
    check_retention()

    k.restart_daemon(tgen, "bgpd")  # `write memory` first

    check_config()
    check_retention()
    # Loaded before any session came up: nothing had to be sent (SPEC 4).
    st = kar_json(tgen, k.VRF)[k.VRF]["peers"]
    assert st["10.0.1.2"]["ipv4Unicast"]["lastEnableAction"] == "none"
    assert st["10.0.1.3"]["ipv4Unicast"]["lastEnableAction"] == "none"
    # r3 cannot refresh: it was stored from the first UPDATE, and r1 never
    # reset it.
    assert k.session(tgen, k.VRF, "r3")["established"] == 1


def test_vtysh_f_reads_the_command(tgen):
    "vtysh -f: a file with the command configures it."
    r1 = k.r1(tgen)
    k.write_file(r1, k.run_dir("kar-f.conf"), "router bgp 100 vrf vpna\n address-family ipv4 unicast\n"
                 "  peer 10.0.1.2 keep-all-routes")
    out = r1.run("vtysh -f {} 2>&1".format(k.run_dir("kar-f.conf")))
    assert "Unknown command" not in out and "%" not in out, out
    assert "  peer 10.0.1.2 keep-all-routes" in af_block(k.running_bgp(tgen, k.VRF), "ipv4")
    k.wait_for("stored", lambda: k.adj_in(tgen, k.VRF, "r2"), k.SENT["r2"]["ipv4"])


def test_vtysh_b_reads_the_command(tgen):
    "vtysh -b: the integrated frr.conf with the command configures it."
    r1 = k.r1(tgen)
    k.write_file(r1, "/etc/frr/frr.conf", "router bgp 100\n address-family ipv6 unicast\n"
                 "  peer 10.0.2.2 keep-all-routes\n exit-address-family\nexit")
    out = r1.run("vtysh -b 2>&1")
    r1.run("rm -f /etc/frr/frr.conf")
    assert "Unknown command" not in out, out
    assert "  peer 10.0.2.2 keep-all-routes" in af_block(
        k.running_bgp(tgen, "default"), "ipv6"
    )
    k.wait_for(
        "stored", lambda: k.adj_in(tgen, "default", "r2", "ipv6"), k.SENT["r2"]["ipv6"]
    )
