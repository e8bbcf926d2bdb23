#!/usr/bin/env python3
"""
Every combination of the four sources of retention (SPEC 3, 5, 6, 10, 11
and 13 across all of them).  In VRF vpna, r2 (route-refresh) is a member of
peer-group G2 and r3 (no route-refresh) of G3.  A walk through all 16 states
takes every single toggle out of every state exactly once (an Eulerian
circuit of the 4-cube: 64 steps), and after each step checks what an
operator can see against a model written from SPEC.md:

- received-routes: all routes the peer sent while retained, "not kept"
  otherwise, for ipv4 and (r2) ipv6 unicast;
- ROUTE-REFRESH sent to r2 exactly when a cell's retention turned on, r3
  reset (Cease) exactly then, and never anything else;
- show bgp memory's Adj-In entries = 6 per retained peer/AF, 0 at the end;
- the running configuration: exactly the lines the walk typed.
"""

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

pytestmark = [pytest.mark.bgpd]

INST = k.VRF
NATIVE, PEER, GROUP, INSTANCE = 1, 2, 4, 8
NAMES = {NATIVE: "native", PEER: "peer", GROUP: "group", INSTANCE: "instance"}
GROUP_OF = {"r2": "G2", "r3": "G3"}


@pytest.fixture(scope="module")
def tgen(request):
    tgen = k.start(
        request.module.__name__, os.path.join(k.CWD, "r1", "bgpd-groups.conf")
    )
    yield tgen
    k.stop(tgen)


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


def sources(state, peer, af):
    """The model: which sources hold (peer, af) in a walk state."""
    if af == "ipv6":
        return state & INSTANCE  # only the instance-wide command covers it
    return state


CELLS = [("r2", "ipv4"), ("r2", "ipv6"), ("r3", "ipv4")]


def toggle_lines(bit, on):
    neg = "" if on else "no "
    if bit == INSTANCE:
        return [None, [neg + "keep-all-routes"]]
    lines = []
    for peer in ("r2", "r3"):
        addr = k.PEER_ADDR[INST][peer]
        if bit == NATIVE:
            lines.append("{}neighbor {} soft-reconfiguration inbound".format(neg, addr))
        elif bit == PEER:
            lines.append("{}peer {} keep-all-routes".format(neg, addr))
        else:
            lines.append("{}peer {} keep-all-routes".format(neg, GROUP_OF[peer]))
    return ["ipv4", lines]


def config_lines(tgen):
    return sorted(
        l.strip()
        for l in k.running_bgp(tgen, INST)
        if "keep-all-routes" in l or "soft-reconfiguration" in l
    )


def model_config(state):
    want = []
    for peer in ("r2", "r3"):
        addr = k.PEER_ADDR[INST][peer]
        if state & NATIVE:
            want.append("neighbor {} soft-reconfiguration inbound".format(addr))
        if state & PEER:
            want.append("peer {} keep-all-routes".format(addr))
        if state & GROUP:
            want.append("peer {} keep-all-routes".format(GROUP_OF[peer]))
    if state & INSTANCE:
        want.append("keep-all-routes")
    return sorted(want)


def quiet(tgen, snap, seconds=1.0):
    """Nothing is sent to either peer for a moment (no refresh, no reset)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for peer in ("r2", "r3"):
            now = k.session(tgen, INST, peer)
            assert k.same_session(now, snap[peer]), (peer, snap[peer], now)
        time.sleep(0.25)


def test_every_toggle_of_every_state(tgen):
    r1 = k.r1(tgen)
    walk = euler_walk()
    assert len(walk) == 64 and len(set(walk)) == 64
    for peer in ("r2", "r3"):
        k.wait_policy_applied(tgen, INST, peer)
    log = []
    for step, (state, bit) in enumerate(walk):
        after = state ^ bit
        on = bool(after & bit)
        snap = {p: k.session(tgen, INST, p) for p in ("r2", "r3")}
        adj_before = k.adj_in_entries(tgen)
        rr_want = 0
        reset_want = 0
        for peer, af in CELLS:
            b, a = sources(state, peer, af), sources(after, peer, af)
            if not b and a:
                if peer == "r2":
                    rr_want += 1
                else:
                    reset_want += 1

        af, lines = toggle_lines(bit, on)
        out = k.configure(r1, INST, af, *lines)
        what = "step {} state {:04b} {} {}".format(
            step, state, "+" if on else "-", NAMES[bit]
        )
        # The only thing a command may print: the SPEC 6 note after an undo
        # while another source holds.
        for line in out.splitlines():
            assert line == "" or "still keeps all routes" in line, (what, out)

        # Sessions: r2 gets one ROUTE-REFRESH per AF turned on, r3 one reset.
        r2 = k.wait_for(
            what + ": r2 ROUTE-REFRESH",
            lambda: k.session(tgen, INST, "r2"),
            lambda s: s["refreshSent"] == snap["r2"]["refreshSent"] + rr_want,
        )
        assert r2["dropped"] == snap["r2"]["dropped"], what
        r3 = k.wait_for(
            what + ": r3 session",
            lambda: k.session(tgen, INST, "r3"),
            lambda s: s["state"] == "Established"
            and s["dropped"] == snap["r3"]["dropped"] + reset_want,
        )
        assert r3["refreshSent"] == snap["r3"]["refreshSent"] == 0, what
        if not rr_want and not reset_want:
            quiet(tgen, snap)

        for peer, af in CELLS:
            kept = sources(after, peer, af) != 0
            k.wait_for(
                "{}: {} {} received-routes".format(what, peer, af),
                lambda: k.adj_in(tgen, INST, peer, af),
                k.SENT[peer][af] if kept else None,
            )
        retained = sum(1 for p, f in CELLS if sources(after, p, f))
        assert k.adj_in_entries(tgen) == 6 * retained, (what, adj_before)
        assert config_lines(tgen) == model_config(after), what
        log.append("{:<32} rr={} reset={} retained={}".format(what, rr_want, reset_want, retained))

    assert k.adj_in_entries(tgen) == 0
    k.logger.info("keep-all-routes transitions:\n" + "\n".join(log))
