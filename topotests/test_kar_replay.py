#!/usr/bin/env python3
"""
A policy change applied from the stored routes, and what may happen while
that replay runs.  In VRF vpna a BIRD 2 peer (b1) sends N /24 prefixes
(KAR_REPLAY_PREFIXES, default 160,000: bgpd replays 25,000 a slice, so a
replay spans several slices) and r1 keeps them with keep-all-routes.  Half
A (64.0.0.0/7) comes first in the table, half B (66.0.0.0/7) after it.

Policies: P0 accepts everything; P1 denies A, P2 denies B.  P1 and P2 also
match a 10,000-line access-list (SLOW) for every route, as long policies do:
that stretches a replay over seconds, so a fault lands inside it whatever
bgpd's speed, and a replay under P1 is seen under way while b1's accepted
count falls from N towards N/2 (its A half).

Each test starts from P0 applied, changes the policy and injects one fault
while the replay is under way (and checks it was), then ends with what an
operator checks: the Loc-RIB holds exactly policy(sent) from b1, b1's
received-routes exactly what it sent, and bgpd is alive (every daemon runs
and bgpd answers a bgpd command in JSON).  A second BIRD peer (b2) sends
one prefix of B with a better path when a test asks for it.
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
RUN = "/tmp/kar-replay"
B1, B2 = "10.0.1.11", "10.0.1.12"
N = int(os.environ.get("KAR_REPLAY_PREFIXES", "160000"))
SLOW_LINES = 10000
HALF = {"A": int(ipaddress.IPv4Address("64.0.0.0")),
        "B": int(ipaddress.IPv4Address("66.0.0.0"))}


def half_prefixes(base, count):
    return ["{}/24".format(ipaddress.IPv4Address(base + (i << 8))) for i in range(count)]


A = set(half_prefixes(HALF["A"], N // 2))
B_LIST = half_prefixes(HALF["B"], N - N // 2)
B = set(B_LIST)
SENT = A | B
POLICY = {"P0": SENT, "P1": B, "P2": A}
# b2's prefix: the last of the table, so a replay reaches it last.
LATE = B_LIST[-1]

R1_CONF = """\
bgp route-map delay-timer 1
!
router bgp 100 vrf vpna
{neighbors}
exit
!
ip prefix-list DENY seq 5 deny any
ip prefix-list HALF-A seq 5 permit 64.0.0.0/7 le 32
ip prefix-list HALF-B seq 5 permit 66.0.0.0/7 le 32
{slow}
access-list SLOW seq {last} permit any
!
route-map IMPORT deny 10
 match ip address prefix-list DENY
exit
route-map IMPORT permit 20
exit
route-map IMPORT2 permit 10
 set local-preference 200
exit
!
"""


def neighbor_lines():
    """r1's lines for b1 (keep-all-routes) and b2, inside router bgp."""
    return [
        "neighbor {} remote-as 65011".format(B1),
        "neighbor {} timers connect 1".format(B1),
        "neighbor {} remote-as 65012".format(B2),
        "neighbor {} timers connect 1".format(B2),
        "address-family ipv4 unicast",
        "neighbor {} route-map IMPORT in".format(B1),
        "peer {} keep-all-routes".format(B1),
        "neighbor {} route-map IMPORT2 in".format(B2),
        "exit-address-family",
    ]


def r1_conf():
    slow = "\n".join(
        "access-list SLOW seq {} deny 10.255.{}.{}/32".format(i + 1, i >> 8, i & 255)
        for i in range(SLOW_LINES))
    return R1_CONF.format(neighbors="\n".join(" " + x for x in neighbor_lines()),
                          slow=slow, last=SLOW_LINES + 1)


def bird_conf(addr, asn, extra):
    return k.bird_sender_conf(addr, asn, "{}/bird-{}.log".format(RUN, asn), extra)


def build_topo(tgen):
    tgen.add_router("r1")
    s1 = tgen.add_switch("s1")
    s1.add_link(tgen.gears["r1"])
    for name, addr in (("b1", B1), ("b2", B2)):
        tgen.add_host(name, addr + "/24", "via 10.0.1.1")
        s1.add_link(tgen.gears[name])


@pytest.fixture(scope="module")
def tgen(request):
    os.makedirs(RUN, exist_ok=True)
    conf = os.path.join(RUN, "r1-bgpd.conf")
    with open(conf, "w") as f:
        f.write(r1_conf())
    tgen = k.start_r1_and_hosts(request.module.__name__, build_topo, conf)
    with open(RUN + "/routes.conf", "w") as f:
        f.write("protocol static s1 {\n ipv4;\n")
        f.writelines(" route {} blackhole;\n".format(p) for p in sorted(SENT))
        f.write("}\n")
    late = "protocol static s2 {{ disabled; ipv4; route {} blackhole; }}".format(LATE)
    for name, addr, asn, extra in (
            ("b1", B1, 65011, 'include "{}/routes.conf";'.format(RUN)),
            ("b2", B2, 65012, late)):
        host = tgen.gears[name]
        k.write_file(host, "{}/{}.conf".format(RUN, name), bird_conf(addr, asn, extra))
        host.run("bird -c {0}/{1}.conf -s {0}/{1}.ctl -P {0}/{1}.pid".format(RUN, name))
    k.wait_for("b1 Established", lambda: session(tgen, B1)["state"], "Established", 90)
    k.wait_for("b2 Established", lambda: session(tgen, B2)["state"], "Established", 90)
    k.wait_for("b1's routes accepted", lambda: accepted(tgen), N, 180)
    yield tgen
    for name in ("b1", "b2"):
        tgen.gears[name].run("kill $(cat {}/{}.pid)".format(RUN, name))
    k.stop(tgen)


def r1(tgen):
    return tgen.gears["r1"]


def session(tgen, addr):
    return k.session(tgen, INST, None, addr=addr)


def birdc(tgen, name, cmd):
    return tgen.gears[name].run("birdc -s {}/{}.ctl {}".format(RUN, name, cmd))


def summary(tgen):
    """bgpd's summary of the instance, parsed: fails when bgpd is dead."""
    data = k.show_json(r1(tgen), "show bgp vrf vpna ipv4 unicast summary json")
    assert "peers" in data, data
    return data["peers"]


def accepted(tgen):
    """b1's prefixes accepted into the Loc-RIB (None when b1 is gone)."""
    peer = summary(tgen).get(B1)
    return None if peer is None else peer.get("pfxRcd")


def prefixes(tgen, what):
    data = k.show_json(
        r1(tgen), "show bgp vrf vpna ipv4 unicast neighbors {} {} json".format(B1, what))
    key = "receivedRoutes" if what == "received-routes" else "routes"
    assert key in data, "no {} in the answer: {!r}".format(key, str(data)[:300])
    return set(data[key])


def rib_nodes(tgen):
    return k.bgp_memory(tgen)["RIB nodes"]


def daemons_run(tgen):
    """Every daemon of every router runs (what routers_have_failure()
    checks, without its memory of earlier tests' failures)."""
    for name, router in tgen.routers().items():
        assert router.check_router_running() == "", name


def alive(tgen):
    daemons_run(tgen)
    assert B1 in summary(tgen)


def policy_lines(name):
    """Configuration lines that make route-map IMPORT policy `name`."""
    lines = ["no ip prefix-list DENY"]
    if name == "P0":
        return lines + ["ip prefix-list DENY seq 5 deny any",
                        "route-map IMPORT permit 5", "exit",
                        "no route-map IMPORT permit 5"]
    half = {"P1": "64.0.0.0/7", "P2": "66.0.0.0/7"}[name]
    return lines + ["ip prefix-list DENY seq 5 permit {} le 32".format(half),
                    "route-map IMPORT permit 5", "match ip address SLOW",
                    "on-match next", "exit"]


def config(tgen, *lines):
    out = k.vtysh(r1(tgen), "configure terminal", *lines)
    assert not out.strip(), out


def set_policy(tgen, name, delay=0):
    """Policy `name` on route-map IMPORT, with route-map delay-timer delay
    (0: an edit re-applies nothing by itself)."""
    config(tgen, "bgp route-map delay-timer {}".format(delay), *policy_lines(name))


def clear_soft_in(tgen):
    out = k.vtysh(r1(tgen), "clear bgp vrf vpna ipv4 unicast {} soft in".format(B1))
    assert not out.strip(), out


# Run inside r1: speaks bgpd's vty socket as vtysh does (a command ends
# with NUL; an answer with three NULs and a status byte).  bgpd serves its
# vty between two slices of a replay, so a poll over a fresh vtysh (a new
# connection, several reads) can miss a whole replay; one connection kept
# open sees each slice.  Types `before`, polls b1's accepted count until it
# is in (lo, hi), types the fault (bgpd commands, or a command to a BIRD
# control socket), then follows b1's count until it is `until` and, with
# `prefix`, until that prefix has `paths` paths.  Prints what it saw.
INJECT = r"""
import json, socket, sys, time
args = json.loads(sys.argv[1])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/var/run/frr/bgpd.vty")
def cmd(line, check=True):
    s.sendall(line.encode() + b"\0")
    buf = b""
    while not (len(buf) >= 4 and buf[-4:-1] == b"\0\0\0"):
        chunk = s.recv(1 << 20)
        if not chunk:
            sys.exit("bgpd closed its vty during " + line)
        buf += chunk
    if check and buf[-1] not in (0, 10):
        sys.exit("%r failed: %r" % (line, buf[:-4]))
    return buf[:-4].decode()
def count():
    # None once b1 or the instance is gone
    text = cmd("show bgp vrf vpna ipv4 unicast summary json", check=False)
    try:
        return json.loads(text)["peers"][args["peer"]]["pfxRcd"]
    except (ValueError, KeyError):
        return None
def bird(ctl, line):
    b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    b.connect(ctl)
    b.recv(4096)
    b.sendall(line.encode() + b"\n")
    b.recv(4096)
    b.close()
cmd("enable")
for line in args["before"]:
    cmd(line)
out = {"polls": 0}
end = time.monotonic() + 60
while True:
    out["at"] = count()
    out["polls"] += 1
    if out["at"] is not None and args["lo"] < out["at"] < args["hi"]:
        break
    if time.monotonic() > end:
        sys.exit("replay not seen under way: %s" % json.dumps(out))
    time.sleep(0.01)
for step in args["fault"]:
    if step[0] == "bird":
        bird(step[1], step[2])
    else:
        cmd(step[1])
after = [out["at"]]
end = time.monotonic() + 120
while after[-1] != args["until"] or (
        args.get("prefix") and "arrived" not in out):
    if time.monotonic() > end:
        sys.exit("not settled: %s %s" % (json.dumps(out), after[-5:]))
    after.append(count())
    if args.get("prefix") and "arrived" not in out:
        paths = json.loads(cmd("show bgp vrf vpna ipv4 unicast %s json"
                               % args["prefix"])).get("paths", [])
        if len(paths) == args["paths"]:
            out["arrived"] = after[-1]
counts = [c for c in after if c is not None]
out["min"], out["max"] = min(counts), max(counts)
print(json.dumps(out))
"""


def mid_replay(tgen, what, before, fault, until, **watch):
    """Type `before` into bgpd (what starts the P0 -> P1 replay), wait on
    the same vty until the replay is under way (b1's accepted count has
    left N and is still well above N/2, its A half being denied), then
    inject the fault (steps ("bgpd", command) or ("bird", name, command))
    and follow b1's accepted count until it is `until`.  Returns what the
    injector saw: the count when the fault came ("at"), the least and most
    since ("min", "max")."""
    fault = [("bird", "{}/{}.ctl".format(RUN, f[1]), f[2]) if f[0] == "bird" else f
             for f in fault]
    args = dict(watch, peer=B1, lo=N // 2 + N // 10, hi=N, before=before,
                fault=fault, until=until)
    with open(RUN + "/inject.py", "w") as f:
        f.write(INJECT)
    out = r1(tgen).run("/usr/bin/python3 {}/inject.py '{}' 2>&1".format(
        RUN, json.dumps(args)))
    try:
        seen = json.loads(out)
    except ValueError:
        raise AssertionError("{}: {}".format(what, out.strip()))
    k.logger.info("%s with %d of %d prefixes accepted: %s", what, seen["at"], N, seen)
    return seen


CLEAR = "clear bgp vrf vpna ipv4 unicast {} soft in".format(B1)


def in_config(lines):
    return ["configure terminal"] + list(lines) + ["end"]


def to_bgpd(lines):
    return [("bgpd", line) for line in lines]


def in_bgp(*lines):
    return to_bgpd(in_config(["router bgp 100 vrf vpna"] + list(lines)))


def applied(tgen, policy, timeout=180):
    """What an operator checks after the change: the Loc-RIB holds exactly
    policy(sent) from b1, received-routes exactly what b1 sent, bgpd alive."""
    k.wait_for("b1 Established", lambda: session(tgen, B1)["state"], "Established", 90)
    k.wait_for("accepted = {}".format(policy), lambda: accepted(tgen),
               len(POLICY[policy]), timeout)
    # The count alone does not tell P1 from P2.
    k.wait_for("Loc-RIB = {}(sent)".format(policy),
               lambda: k.difference(prefixes(tgen, "routes"), POLICY[policy]), "",
               60, interval=2)
    assert k.difference(prefixes(tgen, "received-routes"), SENT) == ""
    alive(tgen)


@pytest.fixture(autouse=True)
def from_p0(tgen):
    """Every test starts with P0 applied from the stored routes."""
    alive(tgen)
    set_policy(tgen, "P0")
    clear_soft_in(tgen)
    k.wait_for("P0 applied", lambda: accepted(tgen), N, 120)
    yield


def test_second_clear_mid_replay(tgen):
    """`clear ... soft in` again, under another policy, while the first
    replay runs: the second starts over from the table's top, so every
    prefix ends under the second policy."""
    set_policy(tgen, "P1")
    seen = mid_replay(tgen, "second clear", [CLEAR],
                      to_bgpd(in_config(policy_lines("P2")) + [CLEAR]), len(A))
    applied(tgen, "P2")
    # The second replay began inside the first one's half A.
    assert seen["min"] > N // 2


def test_same_clear_twice_mid_replay(tgen):
    "The same `clear ... soft in` typed twice while the replay runs."
    set_policy(tgen, "P1")
    mid_replay(tgen, "same clear again", [CLEAR], to_bgpd([CLEAR]), len(B))
    applied(tgen, "P1")


def test_route_map_edit_mid_replay(tgen):
    """A route-map edit re-applies itself after the delay timer (1 s): the
    second edit lands while the replay of the first runs."""
    edit = ["bgp route-map delay-timer 1"]
    seen = mid_replay(tgen, "route-map edited", in_config(edit + policy_lines("P1")),
                      to_bgpd(in_config(edit + policy_lines("P2"))), len(A))
    applied(tgen, "P2")
    # The re-applied P2 replay began inside P1's half A.
    assert seen["min"] > N // 2


def test_peer_down_mid_replay(tgen):
    "b1's session goes down while the replay runs, then comes back."
    set_policy(tgen, "P1")
    mid_replay(tgen, "b1 shut down", [CLEAR], in_bgp("neighbor {} shutdown".format(B1)), 0)
    alive(tgen)
    config(tgen, "router bgp 100 vrf vpna", "no neighbor {} shutdown".format(B1))
    applied(tgen, "P1")


def test_peer_deleted_mid_replay(tgen):
    "b1 is deleted while the replay runs, then configured again."
    set_policy(tgen, "P1")
    mid_replay(tgen, "b1 deleted", [CLEAR], in_bgp("no neighbor {}".format(B1)), None)
    k.wait_for("b1 gone", lambda: accepted(tgen), None)
    alive_without_b1(tgen)
    config(tgen, "router bgp 100 vrf vpna", *neighbor_lines()[:2] + [
        "address-family ipv4 unicast",
        "neighbor {} route-map IMPORT in".format(B1),
        "peer {} keep-all-routes".format(B1)])
    applied(tgen, "P1")


def test_instance_deleted_mid_replay(tgen):
    "The whole instance is deleted while the replay runs, then configured again."
    set_policy(tgen, "P1")
    mid_replay(tgen, "instance deleted", [CLEAR],
               to_bgpd(in_config(["no router bgp 100 vrf vpna"])), None)
    k.wait_for("instance gone", lambda: "vpna" in k.show_json(
        r1(tgen), "show bgp vrf all summary json"), False)
    daemons_run(tgen)
    config(tgen, "router bgp 100 vrf vpna", *neighbor_lines())
    k.wait_for("b2 Established", lambda: session(tgen, B2)["state"], "Established", 90)
    applied(tgen, "P1")


def test_update_of_other_peer_mid_replay(tgen):
    """b2 announces a better path for the table's last prefix while the
    replay runs: bgpd must select it, though the replay will find b1's
    own path for that prefix unchanged."""
    set_policy(tgen, "P1")
    try:
        seen = mid_replay(tgen, "b2 announces {}".format(LATE), [CLEAR],
                          [("bird", "b2", "enable s2")], len(B), prefix=LATE, paths=2)
        # Only an update that arrives before the replay reaches LATE tests
        # anything: the replay was still in half A.
        assert seen["arrived"] > N // 2, "b2's path came after the replay's half A"
        applied(tgen, "P1")
        best = [p for p in paths(tgen, LATE) if p.get("bestpath", {}).get("overall")]
        assert [p["peer"]["peerId"] for p in best] == [B2]
    finally:
        birdc(tgen, "b2", "disable s2")
        k.wait_for("b2's path gone", lambda: len(paths(tgen, LATE)), 1, 30)


def test_no_node_left_locked(tgen):
    """With b1 down, bgpd holds as many RIB nodes after replays as before
    them: a slice that kept a lock on the node it stopped at kept that node
    for good."""
    shut = ["router bgp 100 vrf vpna", "neighbor {} shutdown".format(B1)]
    config(tgen, *shut)
    k.wait_for("b1 down", lambda: accepted(tgen), 0)
    before = k.wait_for("RIB nodes settled", lambda: rib_nodes(tgen),
                        lambda n: n < N, 60)
    config(tgen, "router bgp 100 vrf vpna", "no neighbor {} shutdown".format(B1))
    applied(tgen, "P0")
    set_policy(tgen, "P1")
    clear_soft_in(tgen)
    applied(tgen, "P1")
    config(tgen, *shut)
    try:
        k.wait_for("b1's nodes freed", lambda: rib_nodes(tgen), before, 60)
        alive(tgen)
    finally:
        config(tgen, "router bgp 100 vrf vpna", "no neighbor {} shutdown".format(B1))
        applied(tgen, "P1")


def paths(tgen, prefix):
    data = k.show_json(r1(tgen), "show bgp vrf vpna ipv4 unicast {} json".format(prefix))
    return data.get("paths", [])


def alive_without_b1(tgen):
    daemons_run(tgen)
    assert B2 in summary(tgen)


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))

