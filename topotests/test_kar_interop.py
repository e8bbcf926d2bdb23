#!/usr/bin/env python3
"""
keep-all-routes against BGP speakers this project did not write, each in
VRF vpna's network and each sending 172.16.P.1-6/32 of which r1's import
policy rejects .4-.6:

  b1  BIRD 2, route refresh on        (AS 65011, 10.0.1.11)
  b2  BIRD 2, enable route refresh off (AS 65012, 10.0.1.12)
  g1  GoBGP                             (AS 65013, 10.0.1.13)
  e1  ExaBGP 4, started by this test    (AS 65014, 10.0.1.14)

Per peer: the capability r1 really received decides SPEC 1 (ROUTE-REFRESH)
or SPEC 2 (reset); received-routes lists exactly what the peer was told to
send; disable frees (SPEC 5); clear soft in replays the stored routes with
nothing sent to the peer (SPEC 9), checked with r1's counters and, where
the peer keeps them, the peer's own (BIRD's export updates, GoBGP's
received ROUTE-REFRESH count, ExaBGP's message log).
"""

import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402


pytestmark = [pytest.mark.bgpd]

INST = k.VRF
RUN = k.run_dir("kar-interop")
PEERS = {
    # name: (address, AS, third octet of its prefixes)
    "b1": ("10.0.1.11", 65011, 11),
    "b2": ("10.0.1.12", 65012, 12),
    "g1": ("10.0.1.13", 65013, 13),
    "e1": ("10.0.1.14", 65014, 14),
}


def sent(name):
    return {"172.16.{}.{}/32".format(PEERS[name][2], i) for i in range(1, 7)}


def accepted(name):
    return {"172.16.{}.{}/32".format(PEERS[name][2], i) for i in range(1, 4)}


build_topo = k.hosts_topo({name: addr for name, (addr, _, _) in PEERS.items()})


def bird_conf(name, refresh):
    addr, asn, net = PEERS[name]
    routes = "\n".join(
        "  route 172.16.{}.{}/32 blackhole;".format(net, i) for i in range(1, 7)
    )
    return """router id {addr};
log "{run}/{name}/bird.log" all;
protocol device {{ }}
protocol static s4 {{
  ipv4;
{routes}
}}
protocol bgp r1 {{
  local {addr} as {asn};
  neighbor 10.0.1.1 as 100;
  hold time 9;
  keepalive time 3;
  connect retry time 1;
  enable route refresh {refresh};
  ipv4 {{ import none; export where source = RTS_STATIC; next hop self; }};
}}
""".format(addr=addr, asn=asn, run=RUN, name=name, routes=routes,
           refresh="on" if refresh else "off")


def gobgp_conf(name):
    addr, asn, _ = PEERS[name]
    return """[global.config]
  as = {asn}
  router-id = "{addr}"
  port = 179
  local-address-list = ["{addr}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.1.1"
    peer-as = 100
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
""".format(asn=asn, addr=addr)


def exabgp_conf(name):
    addr, asn, net = PEERS[name]
    routes = "\n".join(
        "    route 172.16.{}.{}/32 next-hop self;".format(net, i) for i in range(1, 7)
    )
    return """neighbor 10.0.1.1 {{
  router-id {addr};
  local-address {addr};
  local-as {asn};
  peer-as 100;
  hold-time 9;
  static {{
{routes}
  }}
}}
""".format(addr=addr, asn=asn, routes=routes)


@pytest.fixture(scope="module")
def tgen(request):
    tgen = k.start_r1_and_hosts(
        request.module.__name__, build_topo, os.path.join(k.CWD, "interop", "r1-bgpd.conf")
    )

    for name in ("b1", "b2"):
        h = tgen.gears[name]
        d = "{}/{}".format(RUN, name)
        k.write_file(h, d + "/bird.conf", bird_conf(name, refresh=(name == "b1")))
        h.run("bird -c {0}/bird.conf -s {0}/bird.ctl -P {0}/bird.pid".format(d))
    g = tgen.gears["g1"]
    d = RUN + "/g1"
    k.write_file(g, d + "/gobgpd.toml", gobgp_conf("g1"))
    # gobgpd has no pid file of its own: the shell records the one it starts.
    g.run("gobgpd -f {0}/gobgpd.toml -l info > {0}/gobgpd.log 2>&1 & echo $! > {0}/gobgpd.pid".format(d))
    e = tgen.gears["e1"]
    d = RUN + "/e1"
    k.write_file(e, d + "/exabgp.conf", exabgp_conf("e1"))
    # In the background, as gobgpd: ExaBGP 5 (forky) daemonized keeps the
    # caller's output open, and the topotest library waits for it to close.
    e.run(
        "env exabgp.daemon.user=root exabgp.daemon.daemonize=false "
        "exabgp.log.destination={0}/exabgp.log "
        "exabgp.log.packets=true exabgp.log.message=true exabgp.api.cli=false "
        "exabgp {0}/exabgp.conf > {0}/exabgp.out 2>&1 < /dev/null & echo $! > {0}/exabgp.pid".format(d)
    )
    # GoBGP's routes come from its CLI once the daemon answers.
    k.wait_for("gobgpd up", lambda: g.run("gobgp global 2>&1").startswith("AS:"), True, 30)
    for i in range(1, 7):
        g.run("gobgp global rib add -a ipv4 172.16.13.{}/32 nexthop 10.0.1.13".format(i))
    for name in PEERS:
        wait_up(tgen, name)
    yield tgen
    for name in ("b1", "b2"):
        tgen.gears[name].run("kill $(cat {}/{}/bird.pid)".format(RUN, name))
    tgen.gears["g1"].run("kill $(cat {}/g1/gobgpd.pid)".format(RUN))
    tgen.gears["e1"].run("kill $(cat {}/e1/exabgp.pid)".format(RUN))
    k.stop(tgen)


def nbr(tgen, name):
    return k.neighbor(tgen, INST, name, addr=PEERS[name][0])


def session(tgen, name):
    return k.session(tgen, INST, name, PEERS[name][0])


def adj(tgen, name, kind="received-routes"):
    return k.adj_in(tgen, INST, name, kind=kind, addr=PEERS[name][0])


def loc_rib(tgen, name):
    return k.loc_rib(tgen, INST, name, addr=PEERS[name][0])


def wait_up(tgen, name):
    k.wait_for(name + " Established", lambda: session(tgen, name)["state"], "Established", 90)
    k.wait_for(name + " policy", lambda: loc_rib(tgen, name), accepted(name), 60)


def refresh_capable(tgen, name):
    cap = nbr(tgen, name).get("neighborCapabilities", {}).get("routeRefresh", "")
    return "received" in cap.lower()


def peer_side_counter(tgen, name):
    """What the peer itself says about being asked again, if it keeps it:
    BIRD's export updates, GoBGP's received ROUTE-REFRESH count, ExaBGP's
    logged ROUTE-REFRESH messages."""
    h = tgen.gears[name]
    d = "{}/{}".format(RUN, name)
    if name in ("b1", "b2"):
        out = h.run("birdc -s {}/bird.ctl show protocols all r1".format(d))
        m = re.search(r"Export updates:\s+(\d+)", out)
        assert m, "not BIRD's protocol details: {!r}".format(out[:300])
        return int(m.group(1))
    if name == "g1":
        data = json.loads(h.run("gobgp neighbor 10.0.1.1 -j"))
        msgs = data["state"]["messages"]["received"]
        # GoBGP leaves counters that are 0 out of its JSON.
        return int(msgs.get("refresh", 0))
    out = h.run("grep -ci 'route.refresh' {}/exabgp.log; test -s {}/exabgp.log".format(d, d))
    assert re.match(r"^\d+\s*$", out), "no ExaBGP message log: {!r}".format(out)
    return int(out)


def cfg(tgen, *lines):
    out = k.configure(tgen.gears["r1"], INST, "ipv4", *lines)
    return [l for l in out.splitlines() if l.strip()]


EXPECT_REFRESH = {"b1": True, "b2": False, "g1": True}


@pytest.mark.parametrize("name", list(PEERS))
def test_interop_enable_store_soft_in_disable(tgen, name):
    addr = PEERS[name][0]
    rr = refresh_capable(tgen, name)
    if name in EXPECT_REFRESH:
        assert rr == EXPECT_REFRESH[name], nbr(tgen, name).get("neighborCapabilities")
    before = session(tgen, name)
    peer_before = peer_side_counter(tgen, name)
    assert adj(tgen, name) is None

    # Enable: SPEC 1 or 2, whichever the received capabilities call for.
    assert cfg(tgen, "peer {} keep-all-routes".format(addr)) == []
    if rr:
        k.wait_for("ROUTE-REFRESH sent", lambda: session(tgen, name)["refreshSent"],
                   before["refreshSent"] + 1)
    else:
        k.wait_for("reset", lambda: session(tgen, name),
                   lambda s: s["state"] == "Established"
                   and s["dropped"] == before["dropped"] + 1)
    k.wait_for("stored", lambda: adj(tgen, name), sent(name))
    assert adj(tgen, name, "filtered-routes") == sent(name) - accepted(name)
    after = session(tgen, name)
    if rr:
        assert after["dropped"] == before["dropped"]
        if name in ("b1", "g1"):
            assert peer_side_counter(tgen, name) != peer_before, "peer saw no refresh"
    else:
        assert after["refreshSent"] == before["refreshSent"]
    action = k.kar_state(tgen, INST, addr=addr)["lastEnableAction"]
    assert action == ("route-refresh" if rr else "session-reset")

    # SPEC 9: policy change applied from the stored routes, nothing sent.
    mid = session(tgen, name)
    peer_mid = peer_side_counter(tgen, name)
    r1 = tgen.gears["r1"]
    k.vtysh(r1, "configure terminal", "bgp route-map delay-timer 0",
            "ip prefix-list ACCEPT seq 30 permit 172.16.0.0/16 ge 32")
    k.vtysh(r1, "clear bgp vrf vpna ipv4 unicast {} soft in".format(addr))
    k.wait_for("all accepted", lambda: loc_rib(tgen, name), sent(name))
    assert k.same_session(session(tgen, name), mid)
    assert peer_side_counter(tgen, name) == peer_mid
    k.vtysh(r1, "configure terminal", "bgp route-map delay-timer 1",
            "no ip prefix-list ACCEPT seq 30")
    k.wait_for("policy back", lambda: loc_rib(tgen, name), accepted(name))

    # SPEC 5: disable frees, session untouched.
    assert cfg(tgen, "no peer {} keep-all-routes".format(addr)) == []
    assert adj(tgen, name) is None
    assert k.same_session(session(tgen, name), mid)
    assert loc_rib(tgen, name) == accepted(name)
    k.assert_bgpd_alive(tgen)
