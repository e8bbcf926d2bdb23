#!/usr/bin/env python3
"""
Bad input: a table of malformed, out-of-range, unknown and misplaced
keep-all-routes lines (SPEC 7 and FRR's own command errors), typed into
vtysh one by one, then all together through `vtysh -b` (integrated
frr.conf) and through bgpd's own configuration file at start-up.  Each
line gets a clear one-line error (FRR's own where FRR gives one), and
nothing changes: running configuration, retention, every daemon running
and bgpd answering, every session untouched.
"""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

pytestmark = [pytest.mark.bgpd]

V, D = k.VRF, "default"
NOT_CONF = r"^% peer {} is not configured in BGP instance {}$"
MALFORMED = r"^% Malformed peer address: {}$"
UNKNOWN = r"^% Unknown command: .*$"
LONG = "G" * 300

# (instance or None for config node, node: af | "bgp" | "config" | other,
#  line, expected error regex)
CASES = [
    (V, "ipv4", "peer 10.0.1.300 keep-all-routes", MALFORMED.format(r"10\.0\.1\.300")),
    (V, "ipv4", "peer 256.1.1.1 keep-all-routes", MALFORMED.format(r"256\.1\.1\.1")),
    (V, "ipv4", "peer 10.0.1 keep-all-routes", MALFORMED.format(r"10\.0\.1")),
    (V, "ipv4", "peer 10.0.1.2.5 keep-all-routes", MALFORMED.format(r"10\.0\.1\.2\.5")),
    (V, "ipv4", "peer 1.2.3.4.5.6 keep-all-routes", MALFORMED.format(r"1\.2\.3\.4\.5\.6")),
    (V, "ipv4", "peer 999999999999 keep-all-routes", MALFORMED.format("999999999999")),
    (V, "ipv6", "peer fd00::1::2 keep-all-routes", MALFORMED.format("fd00::1::2")),
    (V, "ipv6", "peer fd00:1::zz keep-all-routes", MALFORMED.format("fd00:1::zz")),
    (V, "ipv6", "peer 1:2:3:4:5:6:7:8:9 keep-all-routes", MALFORMED.format("1:2:3:4:5:6:7:8:9")),
    (V, "ipv4", "peer 10.9.9.9 keep-all-routes", NOT_CONF.format(r"10\.9\.9\.9", V)),
    (V, "ipv4", "peer 0.0.0.0 keep-all-routes", NOT_CONF.format(r"0\.0\.0\.0", V)),
    (V, "ipv4", "peer 255.255.255.255 keep-all-routes", NOT_CONF.format(r"255\.255\.255\.255", V)),
    (V, "ipv6", "peer fd00:9::9 keep-all-routes", NOT_CONF.format("fd00:9::9", V)),
    (V, "ipv6", "peer fe80::1 keep-all-routes", NOT_CONF.format("fe80::1", V)),
    (V, "ipv4", "peer ::ffff:10.0.1.2 keep-all-routes", NOT_CONF.format(r"::ffff:10\.0\.1\.2", V)),
    # IPv6 where IPv4 is expected and back: the address family of the
    # node is not the peer's, the peer simply does not exist.
    (V, "ipv4", "peer fd00:1::2 keep-all-routes", NOT_CONF.format("fd00:1::2", V)),
    (V, "ipv6", "peer 10.0.9.2 keep-all-routes", NOT_CONF.format(r"10\.0\.9\.2", V)),
    # Same address, another VRF (SPEC 7).
    (V, "ipv4", "peer 10.0.2.2 keep-all-routes", NOT_CONF.format(r"10\.0\.2\.2", V)),
    (V, "ipv4", "peer 10.0.2.3 keep-all-routes", NOT_CONF.format(r"10\.0\.2\.3", V)),
    (D, "ipv4", "peer 10.0.1.2 keep-all-routes", NOT_CONF.format(r"10\.0\.1\.2", D)),
    (D, "ipv6", "peer 10.0.1.3 keep-all-routes", NOT_CONF.format(r"10\.0\.1\.3", D)),
    # Unknown peer-groups and interface names, short and very long.
    (V, "ipv4", "peer NOSUCHGROUP keep-all-routes", NOT_CONF.format("NOSUCHGROUP", V)),
    (V, "ipv4", "peer eth9 keep-all-routes", NOT_CONF.format("eth9", V)),
    (V, "ipv4", "peer {} keep-all-routes".format(LONG), NOT_CONF.format(LONG, V)),
    (D, "ipv6", "peer -1.0.0.1 keep-all-routes", NOT_CONF.format(r"-1\.0\.0\.1", D)),
    # The negative forms check the peer too.
    (V, "ipv4", "no peer 10.9.9.9 keep-all-routes", NOT_CONF.format(r"10\.9\.9\.9", V)),
    (V, "ipv4", "undo peer 10.9.9.9 keep-all-routes", NOT_CONF.format(r"10\.9\.9\.9", V)),
    (D, "ipv4", "undo peer NOSUCHGROUP keep-all-routes", NOT_CONF.format("NOSUCHGROUP", D)),
    # Malformed command lines.
    (V, "ipv4", "peer 10.0.1.2 keep-all-routes now", UNKNOWN),
    (V, "ipv4", "peer keep-all-routes", r"^% Command incomplete: peer keep-all-routes$"),
    (V, "ipv4", "peer 10.0.1.2 keep-some-routes", UNKNOWN),
    (V, "bgp", "keep-all-routes 5", UNKNOWN),
    (V, "bgp", "undo keep-all-routes please", UNKNOWN),
    (None, "config", "debug bgp keep-all-routes verbose", UNKNOWN),
    # The command in the wrong node.
    (V, "bgp", "peer 10.0.1.2 keep-all-routes", UNKNOWN),
    (D, "bgp", "peer 10.0.2.2 keep-all-routes", UNKNOWN),
    (V, "ipv4 multicast", "peer 10.0.1.2 keep-all-routes", UNKNOWN),
    (D, "ipv4 vpn", "peer 10.0.2.2 keep-all-routes", UNKNOWN),
    (D, "ipv6 multicast", "peer 10.0.2.2 keep-all-routes", UNKNOWN),
    (D, "l2vpn evpn", "peer 10.0.2.2 keep-all-routes", UNKNOWN),
    (None, "config", "peer 10.0.1.2 keep-all-routes", UNKNOWN),
    (None, "config", "keep-all-routes", UNKNOWN),
    (None, "interface r1-eth1", "peer 10.0.2.2 keep-all-routes", UNKNOWN),
]


def context(inst, node):
    ctx = ["configure terminal"]
    if node == "config":
        return ctx
    if node.startswith("interface"):
        return ctx + [node]
    ctx.append(k.router_bgp(inst))
    if node == "bgp":
        return ctx
    return ctx + ["address-family " + (node if " " in node else node + " unicast")]


def snapshot(tgen):
    r1 = k.r1(tgen)
    return {
        "config": r1.vtysh_cmd("show running-config"),
        "kar": k.kar_show(tgen),
        "sessions": {
            (i, p): k.session(tgen, i, p) for i in k.INSTANCES for p in ("r2", "r3")
        },
    }


def assert_nothing_changed(tgen, before, what):
    k.assert_bgpd_alive(tgen)
    after = snapshot(tgen)
    assert after["config"] == before["config"], what
    assert after["kar"] == before["kar"], what
    for key, s in before["sessions"].items():
        assert k.same_session(after["sessions"][key], s), (what, key)


def case_id(case):
    inst, node, line, _ = case
    return "{}-{}-{}".format(inst or "cfg", node, line[:40]).replace(":", "_").replace(" ", "_")


@pytest.mark.parametrize("inst,node,line,error", CASES, ids=[case_id(c) for c in CASES])
def test_vtysh_bad_line(tgen, inst, node, line, error):
    "Interactive vtysh: one clear line, nothing changes."
    before = snapshot(tgen)
    out = k.vtysh(k.r1(tgen), *(context(inst, node) + [line]))
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == 1 and re.match(error, lines[0]), out
    assert_nothing_changed(tgen, before, line)


def test_repeated_enable_disable_changes_nothing_more(tgen):
    "Repeating a line is accepted silently and sends nothing again."
    r1 = k.r1(tgen)
    k.configure(r1, V, "ipv4", "peer 10.0.1.2 keep-all-routes")
    k.wait_for("stored", lambda: k.adj_in(tgen, V, "r2"), k.SENT["r2"]["ipv4"])
    before = snapshot(tgen)
    for _ in range(3):
        assert k.configure(r1, V, "ipv4", "peer 10.0.1.2 keep-all-routes").strip() == ""
    assert_nothing_changed(tgen, before, "repeat enable")
    k.configure(r1, V, "ipv4", "no peer 10.0.1.2 keep-all-routes")
    before = snapshot(tgen)
    for _ in range(3):
        assert k.configure(r1, V, "ipv4", "undo peer 10.0.1.2 keep-all-routes").strip() == ""
    assert_nothing_changed(tgen, before, "repeat disable")


def test_af_not_activated_sends_nothing(tgen):
    "Enable for a peer whose AF is not activated: accepted, no reset, nothing kept."
    r1 = k.r1(tgen)
    before = snapshot(tgen)
    assert k.configure(r1, V, "ipv6", "peer 10.0.1.3 keep-all-routes").strip() == ""
    after = snapshot(tgen)
    for key, s in before["sessions"].items():
        assert k.same_session(after["sessions"][key], s), key
    f = after["kar"][V]["peers"]["10.0.1.3"]
    assert "ipv6Unicast" not in f  # not activated: not shown as a retained AF
    assert "  peer 10.0.1.3 keep-all-routes" in k.running_bgp(tgen, V)
    k.configure(r1, V, "ipv6", "no peer 10.0.1.3 keep-all-routes")
    k.assert_bgpd_alive(tgen)


@pytest.mark.parametrize(
    "spec,error",
    [
        ("keep_all_routes:verbose", 'the module takes no arguments (got "verbose")'),
        ("keep_all_routez", "bgpd_keep_all_routez.so: cannot open shared object file"),
    ],
    ids=["argument", "name"],
)
def test_bad_module_option(spec, error):
    "bgpd -M with a bad argument or name: a clear error, bgpd does not start."
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kar-badmod-") as d:
        res = subprocess.run(
            ["bgpd", "-M", spec, *k.MODULEDIR_ARGS, "-Z", "-p", "0", "-f", "/dev/null",
             "-i", d + "/bgpd.pid", "--vty_socket", d],
            capture_output=True, text=True, timeout=30,
        )
    assert res.returncode != 0
    assert error in res.stderr, res.stderr


def bad_file_lines():
    """All table lines as a configuration file, each in its context."""
    out = []
    for inst, node, line, _ in CASES:
        ctx = context(inst, node)[1:]  # without "configure terminal"
        out += ctx + [line]
        out += ["exit"] * len(ctx)
    return out


def test_vtysh_b_bad_lines(tgen):
    "vtysh -b with every bad line: errors reported, nothing changes."
    r1 = k.r1(tgen)
    before = snapshot(tgen)
    k.write_file(r1, "/etc/frr/frr.conf", "\n".join(bad_file_lines()))
    out = r1.run("vtysh -b 2>&1")
    r1.run("rm -f /etc/frr/frr.conf")
    assert "not configured in BGP instance" in out and "Malformed peer address" in out, out
    assert_nothing_changed(tgen, before, "vtysh -b")


def test_bgpd_config_file_bad_lines(tgen):
    "bgpd reading its own config file with every bad line: starts, same state."
    r1 = k.r1(tgen)
    r1.vtysh_cmd("write memory")
    good = r1.run("cat /etc/frr/bgpd.conf")
    assert "router bgp 100 vrf vpna" in good, good
    k.restart_daemon(tgen, "bgpd", conf=good + "\n".join(bad_file_lines()))
    for inst in k.INSTANCES:
        for peer in ("r2", "r3"):
            k.wait_established(tgen, inst, peer)
    k.assert_bgpd_alive(tgen)
    running = r1.vtysh_cmd("show running-config")
    assert k.router_bgp(V) in running.splitlines(), running
    assert "keep-all-routes" not in running, running
    # (bgpd -d reads its file after daemonizing: refused lines are not
    # printed anywhere by FRR 8.4; what matters is that none took effect.)
    kar = k.kar_show(tgen)
    assert not any(i["instanceKeepAllRoutes"] or i["peerGroups"] for i in kar.values()), kar
    k.write_file(r1, "/etc/frr/bgpd.conf", good)
