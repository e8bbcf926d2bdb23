#!/usr/bin/env python3
"""
Randomized model check (issue 6, item 4): a seeded generator of steps,
applied through vtysh to the live topology (r2 with route-refresh in G2, r3
without in G3, VRF vpna), compared after every step with a reference model
written from SPEC.md (kar_model):

  steps: enable/disable at native, peer, group and instance level; hard
  session flap (clear bgp ... PEER); clear ... soft in; import policy
  change (prefix-list edit applied by bgpd itself).

  checks after every step: retained or not per peer/AF; received-routes
  equal to exactly what the peer sent when retained; Loc-RIB equal to the
  policy the peer's routes were last evaluated against (a peer that can
  neither refresh nor replay keeps its old verdicts: the pain keep-all-routes
  removes); r2 never reset and r3 reset only by an enable or a flap; the
  running configuration's lines equal the model's.

KAR_MODEL_SEED and KAR_MODEL_STEPS choose the run (CI: 200 steps).  A
failure prints the seed and the steps up to the failing one.
"""

import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402
import kar_model as m  # noqa: E402

pytestmark = [pytest.mark.bgpd]
R1_BGPD_CONF = m.GROUPS_CONF

SEED = int(os.environ.get("KAR_MODEL_SEED", "20261125"))
STEPS = int(os.environ.get("KAR_MODEL_STEPS", "200"))
WIDE = "ip prefix-list ACCEPT seq 30 permit 172.16.0.0/16 ge 32"


class Model:
    def __init__(self):
        self.state = 0  # sources, as in kar_model
        self.wide = False  # policy accepts all 6 instead of .1-.3
        self.applied = {"r2": False, "r3": False}  # policy last applied

    def accepted(self, peer):
        return k.SENT[peer]["ipv4"] if self.applied[peer] else k.ACCEPTED[peer]["ipv4"]

    def kept(self, peer, af="ipv4"):
        return m.sources(self.state, peer, af) != 0


def check(tgen, model, what):
    m.check_retention(tgen, model.state, what)
    for peer in ("r2", "r3"):
        k.wait_for(
            "{}: {} Loc-RIB".format(what, peer),
            lambda: k.loc_rib(tgen, m.INST, peer),
            model.accepted(peer),
        )


def test_random_steps(tgen):
    rng = random.Random(SEED)
    r1 = k.r1(tgen)
    model = Model()
    done = []
    for peer in ("r2", "r3"):
        k.wait_policy_applied(tgen, m.INST, peer)
    try:
        for n in range(STEPS):
            kind = rng.choice(["toggle"] * 4 + ["flap", "soft-in", "policy"])
            snap = {p: k.session(tgen, m.INST, p) for p in ("r2", "r3")}
            resets = {"r2": 0, "r3": 0}
            if kind == "toggle":
                bit = rng.choice([m.NATIVE, m.PEER, m.GROUP, m.INSTANCE])
                on = not (model.state & bit)
                what = "{} {}{}".format(n, "+" if on else "-", m.NAMES[bit])
                done.append(what)
                rr_want, reset_want = m.expected_refill(model.state, model.state ^ bit)
                af, lines = m.toggle_lines(bit, on)
                k.configure(r1, m.INST, af, *lines)
                model.state ^= bit
                resets["r3"] = reset_want
                if reset_want:
                    model.applied["r3"] = model.wide
                if rr_want:
                    model.applied["r2"] = model.wide
            elif kind == "flap":
                peer = rng.choice(["r2", "r3"])
                what = "{} flap {}".format(n, peer)
                done.append(what)
                k.vtysh(r1, "clear bgp vrf vpna {}".format(k.PEER_ADDR[m.INST][peer]))
                resets[peer] = 1
                model.applied[peer] = model.wide
            elif kind == "soft-in":
                peer = rng.choice(["r2", "r3"])
                what = "{} soft-in {}".format(n, peer)
                done.append(what)
                k.vtysh(r1, "clear bgp vrf vpna ipv4 unicast {} soft in".format(
                    k.PEER_ADDR[m.INST][peer]))
                if peer == "r2" or model.kept(peer):
                    model.applied[peer] = model.wide
            else:
                model.wide = not model.wide
                what = "{} policy {}".format(n, "wide" if model.wide else "narrow")
                done.append(what)
                k.vtysh(r1, "configure terminal", ("" if model.wide else "no ") + WIDE)
                for peer in ("r2", "r3"):
                    if peer == "r2" or model.kept(peer):
                        model.applied[peer] = model.wide

            for peer in ("r2", "r3"):
                k.wait_for(
                    "{}: {} session".format(what, peer),
                    lambda: k.session(tgen, m.INST, peer),
                    lambda s: s["state"] == "Established"
                    and s["dropped"] == snap[peer]["dropped"] + resets[peer],
                )
            check(tgen, model, what)
            assert m.config_lines(tgen) == m.model_config(model.state), what
    except AssertionError as err:
        raise AssertionError(
            "model check diverged (KAR_MODEL_SEED={} KAR_MODEL_STEPS={}); "
            "steps up to the failure:\n  {}\n{}".format(SEED, STEPS, "\n  ".join(done), err)
        )
    k.logger.info("model check: seed %d, %d steps, no divergence", SEED, STEPS)
