#!/usr/bin/env python3
"""
A policy change for every retained peer at once, as on a PE with many CEs.
In VRF vpna four BIRD 2 peers send r1 the same N /24 prefixes
(KAR_MANY_PEERS_PREFIXES, default 40,000): b1 and b2 advertise route
refresh, b3 and b4 do not.  r1 keeps every peer's routes (`peer X
keep-all-routes`) and applies route-map IMPORT to each.  The four peers'
stored routes make 160,000 entries, which bgpd replays in slices of at most
25,000 entries and 10 ms.

The policy change denies 64.0.0.0/9, applied by `clear bgp vrf vpna ipv4
unicast * soft in` (delay timer off) and, back again, by editing the
route-map with the route-map delay timer on: bgpd then applies it to every
peer by itself.  Each time an operator checks, for every peer, that the
Loc-RIB holds exactly policy(sent) from it, that received-routes still
holds everything it sent, that no ROUTE-REFRESH went out and no session
was reset; and that bgpd answered vtysh while the replay was under way (a
summary asked 20 ms after the `clear` shows counts the replay has not
finished changing).
"""

import ipaddress
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

pytestmark = [pytest.mark.bgpd]

INST = k.VRF
RUN = k.run_dir("kar-many-peers")
N = int(os.environ.get("KAR_MANY_PEERS_PREFIXES", "40000"))
# name: (address, AS, route refresh)
PEERS = {"b1": ("10.0.1.21", 65021, True), "b2": ("10.0.1.22", 65022, True),
         "b3": ("10.0.1.23", 65023, False), "b4": ("10.0.1.24", 65024, False)}
ADDRS = [a for a, _, _ in PEERS.values()]
BASE = int(ipaddress.IPv4Address("64.0.0.0"))
SENT = {"{}/24".format(ipaddress.IPv4Address(BASE + (i << 8))) for i in range(N)}
DENIED_NET = ipaddress.IPv4Network("64.0.0.0/9")
POLICY = {"all": SENT,
          "deny": {p for p in SENT
                   if not ipaddress.IPv4Network(p).subnet_of(DENIED_NET)}}
SUMMARY = "show bgp vrf vpna ipv4 unicast summary json"
CLEAR_ALL = "clear bgp vrf vpna ipv4 unicast * soft in"

R1_CONF = """\
bgp route-map delay-timer 0
!
ip prefix-list DENY seq 5 deny any
!
route-map IMPORT deny 10
 match ip address prefix-list DENY
exit
route-map IMPORT permit 20
exit
!
router bgp 100 vrf vpna
{neighbors}
exit
!
"""


def r1_conf():
    lines = []
    for addr, asn, _ in PEERS.values():
        lines += ["neighbor {} remote-as {}".format(addr, asn),
                  "neighbor {} timers connect 1".format(addr)]
    lines.append("address-family ipv4 unicast")
    for addr in ADDRS:
        lines += ["neighbor {} route-map IMPORT in".format(addr),
                  "peer {} keep-all-routes".format(addr)]
    lines.append("exit-address-family")
    return R1_CONF.format(neighbors="\n".join(" " + x for x in lines))


build_topo = k.hosts_topo({name: addr for name, (addr, _, _) in PEERS.items()})


def r1(tgen):
    return tgen.gears["r1"]


def accepted(tgen):
    """Each peer's accepted prefixes, from bgpd's summary (fails when bgpd
    does not answer)."""
    data = k.show_json(r1(tgen), SUMMARY)
    assert "peers" in data, data
    return {a: data["peers"].get(a, {}).get("pfxRcd") for a in ADDRS}


def counts_are(n):
    return {a: n for a in ADDRS}


@pytest.fixture(scope="module")
def tgen(request):
    tgen = k.start_r1_with_conf(request.module.__name__, build_topo, RUN, r1_conf())
    k.bird_routes_file(RUN + "/routes.conf", SENT)
    started = []
    try:
        for name, (addr, asn, refresh) in PEERS.items():
            k.start_bird(tgen.gears[name], RUN, name, k.bird_sender_conf(
                addr, asn, "{}/{}.log".format(RUN, name),
                'include "{}/routes.conf";'.format(RUN), refresh=refresh))
            started.append(name)
        k.wait_for("every peer's routes accepted", lambda: accepted(tgen),
                   counts_are(N), 240)
        yield tgen
    finally:
        for name in started:
            tgen.gears[name].run("kill $(cat {}/{}.pid)".format(RUN, name))
        k.stop(tgen)


def daemons_run(tgen):
    for name, router in tgen.routers().items():
        assert router.check_router_running() == "", name


def config(tgen, *lines):
    out = k.vtysh(r1(tgen), "configure terminal", *lines)
    assert not out.strip(), out


def deny_lines(deny):
    """Route-map IMPORT's prefix-list: deny 64.0.0.0/9 (deny) or nothing."""
    entry = ("permit {} le 32".format(DENIED_NET) if deny else "deny any")
    return ["no ip prefix-list DENY", "ip prefix-list DENY seq 5 " + entry]


def follow(tgen, command, want):
    """Type command into bgpd and ask for the summary every 100 ms until
    each peer's accepted count is want; what the answers said."""
    args = [os.path.join(k.CWD, "kar_follow.py"), "/var/run/frr/bgpd.vty",
            command, SUMMARY, json.dumps(counts_are(want))]
    out = r1(tgen).run("/usr/bin/python3 " + " ".join(
        "'{}'".format(a) for a in args) + " 2>&1")
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("{}: {}".format(command, out.strip()))


def applied(tgen, policy, before):
    """What an operator checks after the change, for every peer: the
    Loc-RIB holds policy(sent) from it, received-routes what it sent, its
    session untouched (no ROUTE-REFRESH sent, no reset)."""
    want = POLICY[policy]
    k.wait_for("every peer's accepted count = {}".format(len(want)),
               lambda: accepted(tgen), counts_are(len(want)), 120)
    for addr in ADDRS:
        # The counts move as the replay treats each path; a path it denied
        # stays in the table (removed) until best-path selection reaps it.
        k.wait_for("{}'s Loc-RIB paths = {}(sent)".format(addr, policy),
                   lambda: k.difference(k.neighbor_routes(tgen, INST, addr), want),
                   "", 60, interval=1)
        kept = k.adj_in(tgen, INST, None, addr=addr)
        assert kept is not None, "{}: its routes are not kept".format(addr)
        assert k.difference(kept, SENT) == "", addr
    after = k.sessions(tgen, INST, ADDRS)
    for addr in ADDRS:
        assert after[addr]["refreshSent"] == before[addr]["refreshSent"], \
            "{}: ROUTE-REFRESH sent: {} -> {}".format(addr, before[addr], after[addr])
        assert k.same_session(before[addr], after[addr]), \
            "{}: session reset: {} -> {}".format(addr, before[addr], after[addr])
    daemons_run(tgen)


def test_every_peer_learned(tgen):
    "Each peer's Loc-RIB paths and received-routes are everything it sent."
    before = k.sessions(tgen, INST, ADDRS)
    applied(tgen, "all", before)


def test_clear_all_soft_in_from_stored(tgen):
    """`clear ... * soft in` after the policy changed: every peer's routes
    replayed from the stored copy in one pass, vtysh answered meanwhile."""
    before = k.sessions(tgen, INST, ADDRS)
    config(tgen, "bgp route-map delay-timer 0", *deny_lines(True))
    assert accepted(tgen) == counts_are(N), "the edit alone applied the policy"
    seen = follow(tgen, CLEAR_ALL, len(POLICY["deny"]))
    k.logger.info("counts during the replay: %s", seen["counts"][:5])
    assert seen["settled"], seen["counts"][-3:]
    # The first answer came while the replay was changing the counts.
    assert seen["first"] != counts_are(len(POLICY["deny"])), \
        "vtysh was answered only after the replay: {}".format(seen["first"])
    applied(tgen, "deny", before)


def test_route_map_edit_applies_to_every_peer(tgen):
    """The route-map edited with the delay timer on: bgpd applies the new
    policy to every peer that uses it from the stored routes."""
    if accepted(tgen) != counts_are(len(POLICY["deny"])):
        config(tgen, "bgp route-map delay-timer 0", *deny_lines(True))
        k.vtysh(r1(tgen), CLEAR_ALL)
        k.wait_for("deny applied", lambda: accepted(tgen),
                   counts_are(len(POLICY["deny"])), 120)
    before = k.sessions(tgen, INST, ADDRS)
    config(tgen, "bgp route-map delay-timer 1", *deny_lines(False))
    applied(tgen, "all", before)
