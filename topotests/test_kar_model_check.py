#!/usr/bin/env python3
"""
Randomized model check (issue 6, item 4): a seeded generator of steps,
applied through vtysh to the live topology (VRF vpna; r2 with route-refresh
starts in peer-group G2, r3 without it in G3), compared after every step
with a reference model written from SPEC.md:

  steps: enable/disable at native and peer level (per peer), group and
  instance level; a peer leaves its group or is removed with `no neighbor`
  (FRR 8.4 deletes the peer either way); the peer joins its group again or
  is re-added on its own; hard session flap; `clear ... soft in`; import
  policy change (prefix-list edit applied by bgpd itself).

  checks after every step: retained or not per peer/AF; received-routes
  equal to exactly what the peer sent when retained; Adj-In entries of
  `show bgp memory` = 6 per retained peer/AF; Loc-RIB equal to the policy
  the peer's routes were last evaluated against (a peer that can neither
  refresh nor replay keeps its old verdicts: the pain keep-all-routes
  removes); ROUTE-REFRESH messages to r2 exactly as many as the model
  expects; sessions reset only where the model expects it (r2: by a flap or
  joining a group; r3: also by an enable); the running configuration's
  keep-all-routes, soft-reconfiguration and membership lines equal the
  model's.

KAR_MODEL_SEED and KAR_MODEL_STEPS choose the run (CI: 200 steps).  A
failure prints the seed and the steps up to the failing one, the shortest
prefix of the run that fails.
"""

import copy
import os
import random
import re
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
PEERS = ("r2", "r3")
ADDR = k.PEER_ADDR[m.INST]
MEMBERSHIP = re.compile(r"^neighbor 10\.0\.1\.\d+ (peer-group|remote-as) ")


class PeerModel:
    def __init__(self):
        self.present = True
        self.member = True  # of G2/G3, as r1/bgpd-groups.conf starts
        self.native = False
        self.line = False


class Model:
    """SPEC.md's rules over the sources that configure a peer/AF."""

    def __init__(self):
        self.peers = {p: PeerModel() for p in PEERS}
        self.group = False  # `peer G2/G3 keep-all-routes`
        self.instance = False
        self.wide = False  # policy accepts all 6 instead of .1-.3
        self.applied = {p: False for p in PEERS}  # policy last applied

    def sources(self, peer, af):
        p = self.peers[peer]
        if not p.present:
            return set()
        out = {"instance"} if self.instance else set()
        if af == "ipv4":  # the per-peer and group lines are ipv4 unicast
            out |= {"native"} if p.native else set()
            out |= {"peer"} if p.line else set()
            out |= {"group"} if p.member and self.group else set()
        return out

    def kept(self, peer, af="ipv4"):
        return bool(self.sources(peer, af))

    def accepted(self, peer):
        if not self.peers[peer].present:
            return set()
        return k.SENT[peer]["ipv4"] if self.applied[peer] else k.ACCEPTED[peer]["ipv4"]

    def config(self):
        want = []
        for peer in PEERS:
            p, a = self.peers[peer], ADDR[peer]
            if not p.present:
                continue
            if p.member:
                want.append("neighbor {} peer-group {}".format(a, m.GROUP_OF[peer]))
            else:
                want.append("neighbor {} remote-as 100".format(a))
            if p.native:
                want.append("neighbor {} soft-reconfiguration inbound".format(a))
            if p.line:
                want.append("peer {} keep-all-routes".format(a))
        if self.group:
            want += ["peer {} keep-all-routes".format(g) for g in ("G2", "G3")]
        if self.instance:
            want.append("keep-all-routes")
        return sorted(want)


class Step:
    """One generated step: what it types and what it must cause."""

    def __init__(self, what, commands, mode="config"):
        self.what = what
        self.commands = commands
        self.mode = mode  # "config": inside router bgp; "exec": top level
        self.resets = {p: 0 for p in PEERS}  # resets the step itself causes
        self.fresh = set()  # peers created anew: counters start over
        self.rr = 0  # ROUTE-REFRESH messages to r2


def settle(before, after, step):
    """SPEC 1-4: retention turning on for an Established peer/AF sends a
    ROUTE-REFRESH to r2 and resets r3; a session that restarts re-reads
    every route under the current policy."""
    for peer, af in m.CELLS:
        if peer in step.fresh or step.resets[peer] or not before.peers[peer].present:
            continue
        if not before.kept(peer, af) and after.kept(peer, af):
            if peer == "r2":
                step.rr += 1
                after.applied[peer] = after.wide
            else:
                step.resets[peer] += 1
    for peer in PEERS:
        if peer in step.fresh or step.resets[peer]:
            after.applied[peer] = after.wide


def gen_toggle(rng, model):
    present = [p for p in PEERS if model.peers[p].present]
    kinds = ["group", "instance"] + (["native", "peer"] * 2 if present else [])
    kind = rng.choice(kinds)
    after = copy.deepcopy(model)
    if kind == "group":
        after.group = not model.group
        neg = "" if after.group else "no "
        cmds = ["address-family ipv4 unicast"]
        cmds += ["{}peer {} keep-all-routes".format(neg, g) for g in ("G2", "G3")]
        step = Step("{}group".format("+" if after.group else "-"), cmds)
    elif kind == "instance":
        after.instance = not model.instance
        neg = "" if after.instance else "no "
        step = Step("{}instance".format("+" if after.instance else "-"),
                    [neg + "keep-all-routes"])
    else:
        peer = rng.choice(present)
        p = after.peers[peer]
        if kind == "native":
            p.native = not p.native
            on = p.native
            line = "neighbor {} soft-reconfiguration inbound".format(ADDR[peer])
        else:
            p.line = not p.line
            on = p.line
            line = "peer {} keep-all-routes".format(ADDR[peer])
        neg = "" if on else rng.choice(["no ", "undo "] if kind == "peer" else ["no "])
        step = Step("{}{} {}".format("+" if on else "-", kind, peer),
                    ["address-family ipv4 unicast", neg + line])
    return step, after


def gen_membership(rng, model):
    peer = rng.choice(PEERS)
    p = model.peers[peer]
    a, group = ADDR[peer], m.GROUP_OF[peer]
    after = copy.deepcopy(model)
    q = after.peers[peer]
    if p.present and rng.random() < 0.5:
        # FRR 8.4 deletes the peer both for `no neighbor` and for leaving
        # its group, so both are removals.
        if p.member and rng.random() < 0.5:
            step = Step("leave {} {}".format(peer, group),
                        ["no neighbor {} peer-group {}".format(a, group)])
        else:
            step = Step("no neighbor {}".format(peer), ["no neighbor " + a])
        after.peers[peer] = PeerModel()
        after.peers[peer].present = False
    elif p.present and not p.member:
        # An existing peer that joins a group: 8.4 resets its session.
        step = Step("join {} {}".format(peer, group),
                    ["neighbor {} peer-group {}".format(a, group)])
        q.member = True
        step.resets[peer] = 1
    elif p.present:
        step = Step("no neighbor {}".format(peer), ["no neighbor " + a])
        after.peers[peer] = PeerModel()
        after.peers[peer].present = False
    else:
        if rng.random() < 0.5:
            step = Step("join {} {} (new)".format(peer, group),
                        ["neighbor {} peer-group {}".format(a, group)])
        else:
            step = Step("re-add {} alone".format(peer), k.neighbor_lines(m.INST, peer))
            q.member = False
        q.present = True
        step.fresh.add(peer)
    return step, after


def gen_step(rng, model):
    kind = rng.choice(["toggle"] * 4 + ["member", "flap", "soft-in", "policy"])
    present = [p for p in PEERS if model.peers[p].present]
    if kind in ("flap", "soft-in") and not present:
        kind = "member"
    if kind == "toggle":
        step, after = gen_toggle(rng, model)
    elif kind == "member":
        step, after = gen_membership(rng, model)
    elif kind == "flap":
        peer = rng.choice(present)
        after = copy.deepcopy(model)
        step = Step("flap " + peer, ["clear bgp vrf vpna " + ADDR[peer]], "exec")
        step.resets[peer] = 1
    elif kind == "soft-in":
        peer = rng.choice(present)
        after = copy.deepcopy(model)
        step = Step("soft-in " + peer, ["clear bgp vrf vpna ipv4 unicast {} soft in".format(
            ADDR[peer])], "exec")
        if model.kept(peer):
            after.applied[peer] = model.wide  # replayed from the store
        elif peer == "r2":
            step.rr += 1
            after.applied[peer] = model.wide
    else:
        after = copy.deepcopy(model)
        after.wide = not model.wide
        step = Step("policy " + ("wide" if after.wide else "narrow"),
                    [("" if after.wide else "no ") + WIDE], "global")
        for peer in present:
            if model.kept(peer):
                after.applied[peer] = after.wide
            elif peer == "r2":
                step.rr += 1
                after.applied[peer] = after.wide
    settle(model, after, step)
    return step, after


def apply(r1, step):
    if step.mode == "exec":
        return k.vtysh(r1, *step.commands)
    if step.mode == "global":
        return k.vtysh(r1, "configure terminal", *step.commands)
    return k.vtysh(r1, "configure terminal", k.router_bgp(m.INST), *step.commands)


def config_lines(tgen):
    return m.config_lines(tgen, also=MEMBERSHIP.match)


def check(tgen, model, step, snap):
    what = step.what
    for peer in PEERS:
        if not model.peers[peer].present:
            assert k.session(tgen, m.INST, peer)["state"] is None, (what, peer)
            continue
        base = None if peer in step.fresh else snap[peer]
        s = k.wait_for(
            "{}: {} session".format(what, peer),
            lambda: k.session(tgen, m.INST, peer),
            lambda s: s["state"] == "Established"
            and (base is None or s["dropped"] == base["dropped"] + step.resets[peer]),
        )
        if peer == "r2":
            rr = step.rr if base is not None else 0
            had = base["refreshSent"] if base is not None else 0
            k.wait_for("{}: r2 ROUTE-REFRESH".format(what),
                       lambda: k.session(tgen, m.INST, "r2")["refreshSent"], had + rr)
        else:
            assert s["refreshSent"] == 0, what
    for peer, af in m.CELLS:
        if not model.peers[peer].present:
            continue
        k.wait_for(
            "{}: {} {} received-routes".format(what, peer, af),
            lambda: k.adj_in(tgen, m.INST, peer, af),
            k.SENT[peer][af] if model.kept(peer, af) else None,
        )
    for peer in PEERS:
        k.wait_for(
            "{}: {} Loc-RIB".format(what, peer),
            lambda: k.loc_rib(tgen, m.INST, peer),
            model.accepted(peer),
        )
    kept = sum(1 for p, af in m.CELLS if model.kept(p, af))
    assert k.adj_in_entries(tgen) == 6 * kept, what
    assert config_lines(tgen) == model.config(), what


def test_random_steps(tgen):
    rng = random.Random(SEED)
    r1 = k.r1(tgen)
    model = Model()
    done = []
    for peer in PEERS:
        k.wait_policy_applied(tgen, m.INST, peer)
    assert config_lines(tgen) == model.config()
    try:
        for n in range(STEPS):
            step, after = gen_step(rng, model)
            step.what = "{} {}".format(n, step.what)
            done.append(step.what)
            snap = {p: k.session(tgen, m.INST, p) for p in PEERS}
            out = apply(r1, step)
            if step.mode == "config":
                for line in out.splitlines():
                    assert not line or "still keeps all routes" in line, (step.what, out)
            model = after
            check(tgen, model, step, snap)
            k.logger.info("model check step %s: ok", step.what)
    except AssertionError as err:
        raise AssertionError(
            "model check diverged (KAR_MODEL_SEED={} KAR_MODEL_STEPS={}); "
            "steps up to the failure:\n  {}\n{}".format(SEED, STEPS, "\n  ".join(done), err)
        )
    k.logger.info("model check: seed %d, %d steps, no divergence", SEED, STEPS)
