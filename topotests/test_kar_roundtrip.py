#!/usr/bin/env python3
"""
Configuration round trips for every combination of sources (SPEC 13 with
the instance, group, peer and native lines together):

- write memory, restart bgpd with -M, same retention and same lines, for
  each of the 16 states;
- vtysh -b with an integrated frr.conf holding a state's lines;
- frr-reload.py --reload from one state to the next, adding and removing
  each kind of line: the right state and no spurious ROUTE-REFRESH or reset.

States and expectations come from kar_model (written from SPEC.md).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402
import kar_model as m  # noqa: E402

from lib.common_config import kill_router_daemons, start_router_daemons  # noqa: E402

pytestmark = [pytest.mark.bgpd]
R1_BGPD_CONF = m.GROUPS_CONF


def typed(tgen, bit, on):
    af, lines = m.toggle_lines(bit, on)
    return k.configure(k.r1(tgen), m.INST, af, *lines)


def state_lines(state):
    """A state's lines, as they sit in `router bgp 100 vrf vpna`."""
    inst, af = [], []
    for line in m.model_config(state):
        (inst if line == "keep-all-routes" else af).append(line)
    return [" " + l for l in inst], ["  " + l for l in af]


def test_restart_keeps_every_state(tgen):
    "write memory, restart bgpd -M: same lines, same retention, 16 states."
    for n, (state, bit) in enumerate(m.gray_cycle()):
        after = state ^ bit
        what = "restart {} state {:04b}".format(n, after)
        m.step(tgen, state, bit, lambda a, b=bit: typed(tgen, b, bool(a & b)), what)

        kill_router_daemons(tgen, "r1", ["bgpd"])  # writes memory first
        start_router_daemons(tgen, "r1", ["bgpd"])
        for peer in ("r2", "r3"):
            k.wait_established(tgen, m.INST, peer)
        m.check_retention(tgen, after, what)
        # Loaded before the sessions came up: stored from the first UPDATE,
        # r3 (no route-refresh) never reset.  (r2 may see a ROUTE-REFRESH
        # from bgpd's own delayed route-map processing at start-up.)
        assert k.session(tgen, m.INST, "r3")["established"] == 1, what


def test_vtysh_b_every_state(tgen):
    "vtysh -b with a state's lines in frr.conf gives that state."
    r1 = k.r1(tgen)
    for state in range(1, 16):
        inst, af = state_lines(state)
        conf = ["router bgp 100 vrf vpna"] + inst + [" address-family ipv4 unicast"]
        conf += af + [" exit-address-family", "exit"]

        def boot(after, conf=conf):
            r1.run("cat > /etc/frr/frr.conf <<'EOF'\n{}\nEOF".format("\n".join(conf)))
            out = r1.run("vtysh -b 2>&1")
            r1.run("rm -f /etc/frr/frr.conf")
            assert "Unknown command" not in out and "error" not in out.lower(), out
            return ""

        m.step(tgen, 0, state, boot, "vtysh -b state {:04b}".format(state))

        def remove(after, state=state):
            out = []
            for bit in (m.INSTANCE, m.GROUP, m.PEER, m.NATIVE):
                if state & bit:
                    out.append(typed(tgen, bit, False))
            return "\n".join(out)

        m.step(tgen, state, state, remove, "back to 0 from {:04b}".format(state))


def test_frr_reload_adds_and_removes_each_line(tgen):
    "frr-reload.py --reload through the Gray cycle: each kind of line added and removed."
    r1 = k.r1(tgen)
    r1.run("echo 'service integrated-vtysh-config' > /etc/frr/vtysh.conf")
    base = r1.vtysh_cmd("show running-config").splitlines()
    assert m.config_lines(tgen) == []
    head = base.index("router bgp 100 vrf vpna")
    reload_py = r1.run("command -v frr-reload.py").strip()
    bindir = os.path.dirname(r1.run("command -v vtysh").strip())

    def target(state):
        inst, af = state_lines(state)
        out = list(base)
        end = out.index("exit", head)
        af_end = out.index(" exit-address-family", out.index(" address-family ipv4 unicast", head))
        out[end:end] = inst
        out[af_end:af_end] = af
        return "\n".join(l for l in out if not l.startswith(("Building", "Current configuration")))

    try:
        for n, (state, bit) in enumerate(m.gray_cycle()):
            after = state ^ bit

            def reload(after):
                r1.run("cat > /tmp/kar-target.conf <<'EOF'\n{}\nEOF".format(target(after)))
                out = r1.run(
                    "/usr/bin/python3 {} --reload --bindir {} --confdir /etc/frr "
                    "--rundir /var/run/frr /tmp/kar-target.conf >/tmp/kar-reload.log 2>&1; "
                    "echo rc=$?".format(reload_py, bindir)
                )
                assert "rc=0" in out, r1.run("tail -20 /tmp/kar-reload.log")
                return ""

            what = "frr-reload {} {:04b} -> {:04b}".format(n, state, after)
            m.step(tgen, state, bit, reload, what)
    finally:
        r1.run("echo 'no service integrated-vtysh-config' > /etc/frr/vtysh.conf")
