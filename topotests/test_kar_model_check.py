#!/usr/bin/env python3
"""
Randomized model check: a seeded generator of steps, applied through
vtysh to the live topology (VRF vpna; r2 with route-refresh starts in
peer-group G2, r3 without it in G3), compared after every step with
kar_model's one model of SPEC.md (the one the combination walks use):

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
  joining a group; r3: also by an enable), both counted over the whole run;
  the running configuration's keep-all-routes, soft-reconfiguration and
  membership lines equal the model's.

KAR_MODEL_SEED (one seed, or several separated by commas: one run each,
in sequence, r1 typed back to its start in between) and
KAR_MODEL_STEPS (steps per seed) choose the runs (CI: one seed, 200
steps); the log gives each step's time and each run's median and maximum.  A failure
prints the seed and the steps up to the failing one, the shortest prefix
of the run that fails.
"""

import os
import random
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402
import kar_model as m  # noqa: E402

pytestmark = [pytest.mark.bgpd]
R1_BGPD_CONF = m.GROUPS_CONF
QUICK_PEERS = True  # r1's bgpd is never restarted here

SEEDS = [int(s) for s in os.environ.get("KAR_MODEL_SEED", "20261125").split(",")]
STEPS = int(os.environ.get("KAR_MODEL_STEPS", "200"))
WIDE = "ip prefix-list ACCEPT seq 30 permit 172.16.0.0/16 ge 32"
PEERS = m.PEERS
FAM = m.V4
ADDR = FAM.addr


def policy_processed(r1):
    """Whether bgpd has applied the last edit of route-map IMPORT's policy.
    bgpd applies a policy edit when its route-map delay-timer fires (1 s in
    r1's configuration), to every peer configured then: a peer created
    before it fires, and not retained, gets a ROUTE-REFRESH for an edit
    older than the peer (native FRR), which the model, counting a policy
    step's messages for the peers present at the step, does not expect.
    bgpd's `show route-map` says "Processed Change: true" while an edit
    waits for the timer."""
    out = r1.run("vtysh -d bgpd -c 'show route-map IMPORT' 2>&1")
    assert "route-map: IMPORT" in out, "not bgpd's route-map IMPORT: {!r}".format(out[:200])
    return "Processed Change: false" in out


class Step(m.Change):
    """One generated step: what it types and what it must cause."""

    def __init__(self, what, commands, mode="config"):
        super().__init__()
        self.what = what
        self.commands = commands
        self.mode = mode  # "config": inside router bgp; "exec": top level


def gen_toggle(rng, model):
    present = [p for p in PEERS if model.peers[p].present]
    kinds = ["group", "instance"] + (["native", "peer"] * 2 if present else [])
    kind = rng.choice(kinds)
    after = model.copy()
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
    after = model.copy()
    q = after.peers[peer]
    if p.present and rng.random() < 0.5:
        # FRR 8.4 deletes the peer both for `no neighbor` and for leaving
        # its group, so both are removals.
        if p.member and rng.random() < 0.5:
            step = Step("leave {} {}".format(peer, group),
                        ["no neighbor {} peer-group {}".format(a, group)])
        else:
            step = Step("no neighbor {}".format(peer), ["no neighbor " + a])
        after.peers[peer] = m.PeerConfig()
        after.peers[peer].present = False
    elif p.present and not p.member:
        # An existing peer that joins a group: 8.4 resets its session.
        step = Step("join {} {}".format(peer, group),
                    ["neighbor {} peer-group {}".format(a, group)])
        q.member = True
        step.resets[peer] = 1
    elif p.present:
        step = Step("no neighbor {}".format(peer), ["no neighbor " + a])
        after.peers[peer] = m.PeerConfig()
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
        after = model.copy()
        step = Step("flap " + peer, ["clear bgp vrf vpna " + ADDR[peer]], "exec")
        step.resets[peer] = 1
    elif kind == "soft-in":
        peer = rng.choice(present)
        after = model.copy()
        step = Step("soft-in " + peer, ["clear bgp vrf vpna ipv4 unicast {} soft in".format(
            ADDR[peer])], "exec")
        if model.kept(peer, FAM.af):
            after.applied[peer] = model.wide  # replayed from the store
        elif peer == "r2":
            step.rr += 1
            after.applied[peer] = model.wide
    else:
        after = model.copy()
        after.wide = not model.wide
        step = Step("policy " + ("wide" if after.wide else "narrow"),
                    [("" if after.wide else "no ") + WIDE], "global")
        for peer in present:
            if model.kept(peer, FAM.af):
                after.applied[peer] = after.wide
            elif peer == "r2":
                step.rr += 1
                after.applied[peer] = after.wide
    m.settle(model, after, step)
    return step, after


def apply(r1, step):
    if step.mode == "exec":
        return k.vtysh(r1, *step.commands)
    if step.mode == "global":
        return k.vtysh(r1, "configure terminal", *step.commands)
    return k.vtysh(r1, "configure terminal", k.router_bgp(m.INST), *step.commands)


def back_to_start(tgen):
    """r1 as the first run began: no retention line, both peers members of
    their groups, the narrow policy; then both sessions reset, so that
    every route is evaluated again under that policy."""
    r1 = k.r1(tgen)
    lines = ["no keep-all-routes"]
    for peer in PEERS:
        lines += ["no neighbor " + ADDR[peer],
                  "neighbor {} peer-group {}".format(ADDR[peer], m.GROUP_OF[peer])]
    lines += ["address-family ipv4 unicast"]
    lines += ["no peer {} keep-all-routes".format(g) for g in ("G2", "G3")]
    k.vtysh(r1, "configure terminal", "no " + WIDE, k.router_bgp(m.INST), *lines)
    k.vtysh(r1, "clear bgp vrf vpna *")


@pytest.mark.parametrize("seed", SEEDS)
def test_random_steps(tgen, seed):
    rng = random.Random(seed)
    r1 = k.r1(tgen)
    if seed != SEEDS[0]:
        back_to_start(tgen)
    for peer in PEERS:
        k.wait_established(tgen, m.INST, peer)
        k.wait_policy_applied(tgen, m.INST, peer)
    run = m.Run(tgen, FAM)
    m.check_retention(tgen, run.model, "start")
    done, took = [], []
    try:
        for n in range(STEPS):
            t0 = time.monotonic()
            step, after = gen_step(rng, run.model)
            step.what = "{} {}".format(n, step.what)
            done.append(step.what)
            if step.fresh:
                k.wait_for("policy edit applied before a peer is created",
                           lambda: policy_processed(r1), True, 10)
            out = apply(r1, step)
            if step.mode == "config":
                for line in out.splitlines():
                    assert not line or "still keeps all routes" in line, (step.what, out)
            run.advance(after, step, step.what)
            took.append(time.monotonic() - t0)
            k.logger.info("model check step %s: ok in %.2fs", step.what, took[-1])
        run.finish()
    except AssertionError as err:
        raise AssertionError(
            "model check diverged (KAR_MODEL_SEED={} KAR_MODEL_STEPS={}); "
            "steps up to the failure:\n  {}\n{}".format(seed, STEPS, "\n  ".join(done), err)
        )
    took.sort()
    k.logger.info(
        "model check: seed %d, %d steps, no divergence; %.1fs in all, step median %.2fs, max %.2fs",
        seed, STEPS, sum(took), took[len(took) // 2], took[-1])
