#!/usr/bin/env python3
"""
Faults during a large initial transfer: in VRF vpna, a BIRD 2 peer (b1, route refresh on) sends N /32 prefixes (KAR_FAULT_PREFIXES,
default 100,000) from 198.18.0.0/15; r1's import policy accepts the 65,536
in 198.18.0.0/16.  b1's link is rate-limited (tbf) so the transfer takes
seconds and a fault can land in the middle of it; each test records the
stored count at the moment of the fault and fails if the transfer had
already finished.

Each test ends with the checks of every fault test: every daemon runs and
bgpd answers, received-routes holds exactly the N prefixes sent, the Loc-RIB's paths from b1 are exactly the
accepted ones, and `show bgp memory` counts N Adj-In entries.  The last
test has b1 withdraw 5,000 routes while the answer to the ROUTE-REFRESH of
an enable is under way: none may stay behind in the Loc-RIB.
"""

import ipaddress
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402


pytestmark = [pytest.mark.bgpd]

INST = k.VRF
RUN = k.run_dir("kar-transfer")
B1 = "10.0.1.11"
N = int(os.environ.get("KAR_FAULT_PREFIXES", "100000"))
BASE = int(ipaddress.IPv4Address("198.18.0.0"))
SENT = {"{}/32".format(ipaddress.IPv4Address(BASE + i)) for i in range(N)}
ACCEPTED = {p for p in SENT if p.startswith("198.18.")}
# About 2 s for 100k prefixes: long enough to land a fault mid-transfer.
RATE = "tbf rate 3mbit burst 64kbit latency 2s"
SLOW = "tbf rate 1mbit burst 64kbit latency 4s"


build_topo = k.hosts_topo({"b1": B1})


def bird_conf():
    return k.bird_sender_conf(B1, 65011, RUN + "/bird.log",
                              'include "{}/routes.conf";'.format(RUN))


@pytest.fixture(scope="module")
def tgen(request):
    tgen = k.start_r1_and_hosts(
        request.module.__name__, build_topo, os.path.join(k.CWD, "transfer", "r1-bgpd.conf")
    )
    b1 = tgen.gears["b1"]
    write_routes(b1, SENT)
    k.write_file(b1, RUN + "/bird.conf", bird_conf())
    b1.run("tc qdisc add dev b1-eth0 root " + RATE)
    # A small send buffer keeps most of an answer in BIRD's own queues, as
    # on a real router with a large table: what BIRD withdraws meanwhile
    # can overtake the updates it has not sent yet.
    b1.run("sysctl -w net.ipv4.tcp_wmem='4096 16384 16384'")
    b1.run("bird -c {0}/bird.conf -s {0}/bird.ctl -P {0}/bird.pid".format(RUN))
    k.wait_for("b1 Established", lambda: session(tgen)["state"], "Established", 90)
    k.wait_for("b1 transfer", lambda: accepted_count(tgen), len(ACCEPTED), 120)
    yield tgen
    b1.run("kill $(cat {}/bird.pid)".format(RUN))
    k.stop(tgen)


def r1_cfg(tgen, *lines):
    out = k.configure(tgen.gears["r1"], INST, "ipv4", *lines)
    assert not out.strip(), out


def session(tgen):
    return k.session(tgen, INST, "b1", B1)


def accepted_count(tgen):
    n = k.neighbor(tgen, INST, "b1", addr=B1)
    return n.get("addressFamilyInfo", {}).get("ipv4Unicast", {}).get("acceptedPrefixCounter")


def stored_count(tgen):
    state = k.kar_state(tgen, INST, addr=B1)
    return state["storedPrefixes"] if state["retained"] else None


def received(tgen):
    return k.adj_in(tgen, INST, None, addr=B1)


def loc_rib(tgen):
    return k.neighbor_routes(tgen, INST, B1)


def mid_transfer(count, total):
    """Poll count() until the transfer is under way and not finished; what
    it was when the fault is about to be injected."""
    return k.wait_for(
        "transfer under way",
        count,
        lambda c: c is not None and 0 < c < total,
        timeout=60,
        interval=0.05,
    )


def restart_session(tgen):
    """shutdown / no shutdown: the next session starts a full transfer."""
    r1_cfg(tgen, "exit-address-family", "neighbor {} shutdown".format(B1))
    k.wait_for("b1 down", lambda: session(tgen)["state"], lambda s: s != "Established")
    r1_cfg(tgen, "exit-address-family", "no neighbor {} shutdown".format(B1))


def all_stored_and_policy(tgen):
    k.assert_bgpd_alive(tgen)
    k.wait_for("b1 Established", lambda: session(tgen)["state"], "Established", 90)
    k.wait_for("all stored", lambda: stored_count(tgen), N, 180)
    k.wait_for("policy applied", lambda: accepted_count(tgen), len(ACCEPTED), 60)
    assert k.difference(received(tgen), SENT) == ""
    assert k.difference(loc_rib(tgen), ACCEPTED) == ""
    assert k.adj_in_entries(tgen) == N


@pytest.fixture
def retained(tgen):
    r1_cfg(tgen, "peer {} keep-all-routes".format(B1))
    k.wait_for("stored", lambda: stored_count(tgen), N, 120)
    yield
    r1_cfg(tgen, "no peer {} keep-all-routes".format(B1))
    assert k.adj_in_entries(tgen) == 0


def test_r1_resets_session_mid_transfer(tgen, retained):
    "clear bgp (hard) on r1 while the initial transfer is under way."
    before = session(tgen)
    restart_session(tgen)
    at = mid_transfer(lambda: stored_count(tgen), N)
    k.vtysh(tgen.gears["r1"], "clear bgp vrf vpna {}".format(B1))
    k.logger.info("r1 reset the session with %d of %d prefixes stored", at, N)
    all_stored_and_policy(tgen)
    assert session(tgen)["dropped"] >= before["dropped"] + 2


def test_peer_resets_session_mid_transfer(tgen, retained):
    "b1 restarts its BGP session while the initial transfer is under way."
    before = session(tgen)
    restart_session(tgen)
    at = mid_transfer(lambda: stored_count(tgen), N)
    tgen.gears["b1"].run("birdc -s {}/bird.ctl restart r1".format(RUN))
    k.logger.info("b1 reset the session with %d of %d prefixes stored", at, N)
    all_stored_and_policy(tgen)
    assert session(tgen)["dropped"] >= before["dropped"] + 2


def test_enable_then_flap_mid_transfer(tgen):
    """keep-all-routes enabled while the initial transfer is under way
    (ROUTE-REFRESH on a session still receiving), then a reset."""
    restart_session(tgen)
    before = session(tgen)
    at = mid_transfer(lambda: accepted_count(tgen), len(ACCEPTED))
    r1_cfg(tgen, "peer {} keep-all-routes".format(B1))
    k.vtysh(tgen.gears["r1"], "clear bgp vrf vpna {}".format(B1))
    k.logger.info("enabled and reset with %d of %d prefixes accepted", at, len(ACCEPTED))
    all_stored_and_policy(tgen)
    assert session(tgen)["dropped"] == before["dropped"] + 1
    r1_cfg(tgen, "no peer {} keep-all-routes".format(B1))
    assert k.adj_in_entries(tgen) == 0


def test_enable_mid_transfer(tgen):
    "ROUTE-REFRESH sent while the initial transfer is still under way."
    restart_session(tgen)
    before = session(tgen)
    at = mid_transfer(lambda: accepted_count(tgen), len(ACCEPTED))
    r1_cfg(tgen, "peer {} keep-all-routes".format(B1))
    k.logger.info("enabled with %d of %d prefixes accepted", at, len(ACCEPTED))
    all_stored_and_policy(tgen)
    after = session(tgen)
    assert after["refreshSent"] == before["refreshSent"] + 1
    assert after["dropped"] == before["dropped"]
    r1_cfg(tgen, "no peer {} keep-all-routes".format(B1))
    assert k.adj_in_entries(tgen) == 0


def write_routes(b1, prefixes):
    routes = "".join(" route {} blackhole;\n".format(p) for p in sorted(prefixes))
    k.write_file(b1, RUN + "/routes.conf", "protocol static s4 {\n ipv4;\n" + routes + "}")


def test_withdraw_while_refresh_answer_under_way(tgen):
    """The peer withdraws routes while r1 waits for its answer to the
    ROUTE-REFRESH that enabling keep-all-routes sent.  A withdrawn route
    that had not been re-sent yet is not in Adj-RIB-In, but its path is in
    the Loc-RIB: it must go, not stay behind as a stale route."""
    b1 = tgen.gears["b1"]
    removed = set(random.Random(20261125).sample(sorted(SENT), 5000))
    kept = SENT - removed
    b1.run("tc qdisc change dev b1-eth0 root " + SLOW)
    before = session(tgen)
    try:
        r1_cfg(tgen, "peer {} keep-all-routes".format(B1))
        k.wait_for("ROUTE-REFRESH sent", lambda: session(tgen)["refreshSent"],
                   before["refreshSent"] + 1)
        at = mid_transfer(lambda: stored_count(tgen), N)
        write_routes(b1, kept)
        b1.run("birdc -s {}/bird.ctl configure".format(RUN))
        k.logger.info("b1 withdrew %d routes with %d of %d re-sent", len(removed), at, N)
        k.wait_for("stored", lambda: stored_count(tgen), len(kept), 180)
        assert k.difference(received(tgen), kept) == ""
        k.wait_for("Loc-RIB = accepted and not withdrawn",
                   lambda: k.difference(loc_rib(tgen), ACCEPTED - removed), "", 60)
        k.assert_bgpd_alive(tgen)
        after = session(tgen)
        assert after["dropped"] == before["dropped"]
    finally:
        b1.run("tc qdisc change dev b1-eth0 root " + RATE)
        write_routes(b1, SENT)
        b1.run("birdc -s {}/bird.ctl configure".format(RUN))
        r1_cfg(tgen, "no peer {} keep-all-routes".format(B1))
        k.vtysh(tgen.gears["r1"], "clear bgp vrf vpna {}".format(B1))
        k.wait_for("b1 back", lambda: accepted_count(tgen), len(ACCEPTED), 120)
