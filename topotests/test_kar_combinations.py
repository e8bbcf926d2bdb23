#!/usr/bin/env python3
"""
Every combination of the four sources of retention (SPEC 3, 5, 6, 10, 11
across all of them): a walk through all 16 states takes every single toggle
out of every state exactly once (an Eulerian circuit of the 4-cube: 64
steps), typed into vtysh, and after each step checks what an operator can
see against kar_model's one model of SPEC.md:

- received-routes: all routes the peer sent while retained, "not kept"
  otherwise, for ipv4 and (r2) ipv6 unicast over IPv4 sessions, and for
  ipv6 unicast over IPv6 sessions (the walk runs once per kar_model family);
- ROUTE-REFRESH sent to r2 exactly when a peer/AF's retention turned on,
  r3 reset (Cease) exactly then, and never anything else: the counters are
  summed over the walk and compared after every step and for a while
  after the last;
- the Loc-RIB: what the import policy accepts, throughout;
- show bgp memory's Adj-In entries = 6 per retained peer/AF, 0 at the end;
- the running configuration: exactly the lines the walk typed.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402
import kar_model as m  # noqa: E402

pytestmark = [pytest.mark.bgpd]
QUICK_PEERS = True  # r1's bgpd is never restarted here


def test_every_toggle_of_every_state(family_tgen):
    fam, tgen = family_tgen
    r1 = k.r1(tgen)
    run = m.Run(tgen, fam)
    log = []
    for n, (state, bit) in enumerate(m.euler_walk()):
        on = bool((state ^ bit) & bit)
        what = "step {} state {:04b} {}{}".format(n, state, "+" if on else "-", m.NAMES[bit])

        def typed(after, bit=bit, on=on):
            af, lines = m.toggle_lines(bit, on, fam)
            return k.configure(r1, m.INST, af, *lines)

        log.append(run.toggle(state, bit, typed, what))
    run.finish()
    assert k.adj_in_entries(tgen) == 0
    k.logger.info("keep-all-routes transitions:\n" + "\n".join(log))
