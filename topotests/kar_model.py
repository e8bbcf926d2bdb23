"""
The model of SPEC.md that the combination and round-trip topotests check
r1 against.  In VRF vpna, r2 (route-refresh) is a member of peer-group G2
and r3 (no route-refresh) of G3.  A state is the set of configured
sources, the same for both peers: native soft-reconfiguration, the peer's
own line, its group's line and the instance-wide command.

Two families of sessions: IPv4 peers (r1/bgpd-groups.conf: the per-peer
and group lines in ipv4 unicast; the instance-wide command also covers
r2's ipv6 unicast) and IPv6 peers (r1/bgpd-groups6.conf: ipv6 unicast
only, every line in its block).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

GROUPS_CONF = os.path.join(k.CWD, "r1", "bgpd-groups.conf")
GROUPS6_CONF = os.path.join(k.CWD, "r1", "bgpd-groups6.conf")

INST = k.VRF
NATIVE, PEER, GROUP, INSTANCE = 1, 2, 4, 8
NAMES = {NATIVE: "native", PEER: "peer", GROUP: "group", INSTANCE: "instance"}
GROUP_OF = {"r2": "G2", "r3": "G3"}


def euler_walk():
    """All 64 directed edges of the 4-cube as one circuit from state 0."""
    out_edges = {s: [NATIVE, PEER, GROUP, INSTANCE] for s in range(16)}
    stack, circuit = [(0, None)], []
    while stack:
        state, via = stack[-1]
        if out_edges[state]:
            bit = out_edges[state].pop()
            stack.append((state ^ bit, bit))
        else:
            circuit.append(stack.pop())
    circuit.reverse()
    return [(circuit[i][0], circuit[i + 1][1]) for i in range(len(circuit) - 1)]


class Family:
    """Which sessions a walk drives: the peers' addresses on r1, the AF of
    their per-peer and group lines, the peer/AF cells that can be retained
    and r1's configuration."""

    def __init__(self, name, conf, af, addr, cells):
        self.name = name
        self.conf = conf
        self.af = af
        self.addr = addr
        self.cells = cells


V4 = Family("ipv4-peers", GROUPS_CONF, "ipv4", k.PEER_ADDR[INST],
            [("r2", "ipv4"), ("r2", "ipv6"), ("r3", "ipv4")])
V6 = Family("ipv6-peers", GROUPS6_CONF, "ipv6", k.PEER_ADDR6[INST],
            [("r2", "ipv6"), ("r3", "ipv6")])
FAMILIES = [V4, V6]
CELLS = V4.cells


def start(module_name, fam):
    """The topology for one family, every session up, policy applied."""
    tgen = k.start(module_name, fam.conf, wait=fam is V4)
    if fam is V6:
        k.add_ipv6_peer_sessions(tgen)
    for peer in ("r2", "r3"):
        k.wait_established(tgen, INST, peer, addr=fam.addr[peer])
        k.wait_policy_applied(tgen, INST, peer, fam.af, fam.addr[peer])
    return tgen


def sources(state, peer, af, fam=V4):
    """The model: which sources hold (peer, af) in a walk state."""
    if af != fam.af:
        return state & INSTANCE  # only the instance-wide command covers it
    return state


def toggle_lines(bit, on, fam=V4):
    neg = "" if on else "no "
    if bit == INSTANCE:
        return [None, [neg + "keep-all-routes"]]
    lines = []
    for peer in ("r2", "r3"):
        addr = fam.addr[peer]
        if bit == NATIVE:
            lines.append("{}neighbor {} soft-reconfiguration inbound".format(neg, addr))
        elif bit == PEER:
            lines.append("{}peer {} keep-all-routes".format(neg, addr))
        else:
            lines.append("{}peer {} keep-all-routes".format(neg, GROUP_OF[peer]))
    return [fam.af, lines]


def config_lines(tgen, also=lambda line: False):
    """The retention lines of vpna's block (and those also() picks)."""
    return sorted(
        l.strip()
        for l in k.running_bgp(tgen, INST)
        if "keep-all-routes" in l or "soft-reconfiguration" in l or also(l.strip())
    )


def model_config(state, fam=V4):
    want = []
    for peer in ("r2", "r3"):
        addr = fam.addr[peer]
        if state & NATIVE:
            want.append("neighbor {} soft-reconfiguration inbound".format(addr))
        if state & PEER:
            want.append("peer {} keep-all-routes".format(addr))
        if state & GROUP:
            want.append("peer {} keep-all-routes".format(GROUP_OF[peer]))
    if state & INSTANCE:
        want.append("keep-all-routes")
    return sorted(want)


def quiet(tgen, snap, seconds=1.0, fam=V4):
    """Nothing is sent to either peer for a moment (no refresh, no reset)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for peer in ("r2", "r3"):
            now = k.session(tgen, INST, peer, fam.addr[peer])
            assert k.same_session(now, snap[peer]), (peer, snap[peer], now)
        time.sleep(0.25)




def gray_cycle():
    """16 single toggles visiting every state once and returning to 0."""
    codes = [i ^ (i >> 1) for i in range(16)] + [0]
    return [(codes[i], codes[i] ^ codes[i + 1]) for i in range(16)]


def expected_refill(state, after, fam=V4):
    """ROUTE-REFRESH messages to r2 and resets of r3 that going from state
    to after must cause: one per peer/AF whose retention turns on."""
    rr = reset = 0
    for peer, af in fam.cells:
        if not sources(state, peer, af, fam) and sources(after, peer, af, fam):
            if peer == "r2":
                rr += 1
            else:
                reset += 1
    return rr, reset


def check_retention(tgen, state, what, fam=V4):
    """received-routes, Adj-In memory and running config match the model."""
    for peer, af in fam.cells:
        kept = sources(state, peer, af, fam) != 0
        k.wait_for(
            "{}: {} {} received-routes".format(what, peer, af),
            lambda: k.adj_in(tgen, INST, peer, af, addr=fam.addr[peer]),
            k.SENT[peer][af] if kept else None,
        )
    retained = sum(1 for p, f in fam.cells if sources(state, p, f, fam))
    assert k.adj_in_entries(tgen) == 6 * retained, what
    assert config_lines(tgen) == model_config(state, fam), what
    return retained


def step(tgen, state, bit, apply, what, fam=V4):
    """Apply one change with apply(after) and check sessions and retention."""
    after = state ^ bit

    def session(peer):
        return k.session(tgen, INST, peer, fam.addr[peer])

    snap = {p: session(p) for p in ("r2", "r3")}
    rr_want, reset_want = expected_refill(state, after, fam)
    out = apply(after)
    for line in (out or "").splitlines():
        assert line == "" or "still keeps all routes" in line, (what, out)
    r2 = k.wait_for(
        what + ": r2 ROUTE-REFRESH",
        lambda: session("r2"),
        lambda s: s["refreshSent"] == snap["r2"]["refreshSent"] + rr_want,
    )
    assert r2["dropped"] == snap["r2"]["dropped"], what
    r3 = k.wait_for(
        what + ": r3 session",
        lambda: session("r3"),
        lambda s: s["state"] == "Established"
        and s["dropped"] == snap["r3"]["dropped"] + reset_want,
    )
    assert r3["refreshSent"] == snap["r3"]["refreshSent"] == 0, what
    if not rr_want and not reset_want:
        quiet(tgen, snap, fam=fam)
    retained = check_retention(tgen, after, what, fam)
    return "{:<36} rr={} reset={} retained={}".format(what, rr_want, reset_want, retained)
