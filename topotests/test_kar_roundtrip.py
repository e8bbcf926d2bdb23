#!/usr/bin/env python3
"""
Configuration round trips for every combination of sources (SPEC 13 with
the instance, group, peer and native lines together):

- write memory, restart bgpd with -M, same retention and same lines, for
  each of the 16 states;
- boot with an integrated frr.conf holding a state's lines (bgpd started
  without a config file, then vtysh -b, as frrinit.sh does);
- frr-reload.py --reload from one state to the next, adding and removing
  each kind of line: the right state and no spurious ROUTE-REFRESH or reset.

States and expectations come from kar_model's one model of SPEC.md; each
test runs once per family (r2/r3 over IPv4, then over IPv6).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402
import kar_model as m  # noqa: E402

pytestmark = [pytest.mark.bgpd]


def typed(tgen, bit, on, fam):
    af, lines = m.toggle_lines(bit, on, fam)
    return k.configure(k.r1(tgen), m.INST, af, *lines)


def state_lines(state, fam):
    """A state's lines, as they sit in `router bgp 100 vrf vpna`."""
    inst, af = [], []
    for line in m.Model.corner(state, fam).retention_lines():
        (inst if line == "keep-all-routes" else af).append(line)
    return [" " + l for l in inst], ["  " + l for l in af]


def wait_sessions(tgen, fam):
    for peer in m.PEERS:
        k.wait_established(tgen, m.INST, peer, addr=fam.addr[peer])


def never_reset_r3(tgen, fam, what):
    """Loaded before the sessions came up, a state's lines send nothing:
    r3 (no route-refresh) was stored from the first UPDATE, never reset
    (SPEC 4)."""
    assert k.session(tgen, m.INST, "r3", fam.addr["r3"])["established"] == 1, what


def test_restart_keeps_every_state(family_tgen):
    "write memory, restart bgpd -M: same lines, same retention, 16 states."
    fam, tgen = family_tgen
    run = m.Run(tgen, fam)
    for n, (state, bit) in enumerate(m.gray_cycle()):
        what = "restart {} state {:04b}".format(n, state ^ bit)
        run.toggle(state, bit, lambda a, b=bit: typed(tgen, b, bool(a & b), fam), what)

        k.restart_daemon(tgen, "bgpd")  # writes memory first
        wait_sessions(tgen, fam)
        m.check_retention(tgen, run.model, what)
        never_reset_r3(tgen, fam, what)
        # A restarted bgpd starts its counters over.  (r2 may see a
        # ROUTE-REFRESH from bgpd's own delayed route-map processing at
        # start-up, before its routes are all in.)
        run.rebase()
    run.finish()


def boot_config(fam, state):
    """r1's bgpd configuration of the family with a state's lines added."""
    with open(fam.conf) as f:
        lines = f.read().splitlines()
    inst, af = state_lines(state, fam)
    head = lines.index("router bgp 100 vrf vpna")
    af_head = lines.index(" address-family {} unicast".format(fam.af), head)
    af_end = lines.index(" exit-address-family", af_head)
    lines[af_end:af_end] = af
    lines[af_head:af_head] = inst
    return "\n".join(lines)


def test_vtysh_b_every_state(family_tgen):
    """Boot as frrinit.sh does with an integrated config: bgpd starts
    without a config file, then vtysh -b reads frr.conf holding a state's
    lines.  Every state comes up retained as the model says, stored from
    the first UPDATE: r3 is never reset."""
    fam, tgen = family_tgen
    r1 = k.r1(tgen)
    try:
        for state in range(1, 16):
            what = "vtysh -b state {:04b}".format(state)
            k.restart_daemon(tgen, "bgpd", conf="")
            k.write_file(r1, "/etc/frr/frr.conf", boot_config(fam, state))
            out = r1.run("vtysh -b 2>&1")
            r1.run("rm -f /etc/frr/frr.conf")
            assert "Unknown command" not in out and "error" not in out.lower(), out
            wait_sessions(tgen, fam)
            m.check_retention(tgen, m.Model.corner(state, fam), what)
            never_reset_r3(tgen, fam, what)
    finally:
        with open(fam.conf) as f:
            k.restart_daemon(tgen, "bgpd", conf=f.read())
        for peer in m.PEERS:
            k.wait_established(tgen, m.INST, peer, addr=fam.addr[peer])
            k.wait_policy_applied(tgen, m.INST, peer, fam.af, fam.addr[peer])


def test_frr_reload_adds_and_removes_each_line(family_tgen):
    "frr-reload.py --reload through the Gray cycle: each kind of line added and removed."
    # bgpd's part only (`--daemon bgpd`): FRR 10.3's frr-reload.py drops
    # 'vrf NAME' from the 'interface X vrf NAME' lines of a target (upstream
    # c1356f0e85, for kernel VRFs) but not from zebra's running config,
    # which the netns VRF backend of this kernel prints with it; a whole-
    # config reload would delete VRF vpna's interface on every step.
    fam, tgen = family_tgen
    r1 = k.r1(tgen)
    k.write_vtysh_conf(r1, "service integrated-vtysh-config")
    base = r1.vtysh_cmd("show running-config bgpd").splitlines()
    run = m.Run(tgen, fam)
    assert m.config_lines(tgen, fam) == run.model.config()
    head = base.index("router bgp 100 vrf vpna")
    reload_py = r1.run("command -v frr-reload.py").strip()
    bindir = os.path.dirname(r1.run("command -v vtysh").strip())

    def target(state):
        inst, af = state_lines(state, fam)
        out = list(base)
        end = out.index("exit", head)
        af_head = out.index(" address-family {} unicast".format(fam.af), head)
        af_end = out.index(" exit-address-family", af_head)
        out[end:end] = inst
        out[af_end:af_end] = af
        return "\n".join(l for l in out if not l.startswith(("Building", "Current configuration")))

    def reload(after):
        k.write_file(r1, k.run_dir("kar-target.conf"), target(after))
        out = r1.run(
            "/usr/bin/python3 {0} --reload --daemon bgpd --bindir {1} --confdir /etc/frr "
            "--rundir /var/run/frr {2} >{3} 2>&1; "
            "echo rc=$?".format(reload_py, bindir, k.run_dir("kar-target.conf"),
                                k.run_dir("kar-reload.log"))
        )
        assert "rc=0" in out, r1.run("tail -20 " + k.run_dir("kar-reload.log"))
        return ""

    try:
        for n, (state, bit) in enumerate(m.gray_cycle()):
            what = "frr-reload {} {:04b} -> {:04b}".format(n, state, state ^ bit)
            run.toggle(state, bit, reload, what)
        run.finish()
    finally:
        k.write_vtysh_conf(r1, "no service integrated-vtysh-config")
