"""
The one model of SPEC.md that the combination walks, the round trips and
the randomized model check hold r1 against, and the checks that compare
r1 with it.

In VRF vpna, r2 (route-refresh) starts as a member of peer-group G2 and r3
(no route-refresh) of G3.  The model holds what configures each peer/AF
(SPEC's four sources: native soft-reconfiguration, the peer's own line,
its group's line while it is a member, the instance-wide command), whether
each peer exists and is a member, the import policy, and the policy each
peer's routes were last evaluated against.  From it follow retained(P, A),
the running configuration's lines, received-routes, Adj-In memory, the
Loc-RIB, and which ROUTE-REFRESH messages and resets a change must cause.

Two families of sessions: IPv4 peers (r1/bgpd-groups.conf: the per-peer
and group lines in ipv4 unicast; the instance-wide command also covers
r2's ipv6 unicast) and IPv6 peers (r1/bgpd-groups6.conf: ipv6 unicast
only, every line in its block).
"""

import copy
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kar_lib as k  # noqa: E402

GROUPS_CONF = os.path.join(k.CWD, "r1", "bgpd-groups.conf")
GROUPS6_CONF = os.path.join(k.CWD, "r1", "bgpd-groups6.conf")

INST = k.VRF
PEERS = ("r2", "r3")
GROUP_OF = {"r2": "G2", "r3": "G3"}
# The walks' coordinates: one bit per source, configured for both peers.
NATIVE, PEER, GROUP, INSTANCE = 1, 2, 4, 8
NAMES = {NATIVE: "native", PEER: "peer", GROUP: "group", INSTANCE: "instance"}


class Family:
    """Which sessions a run drives: the peers' addresses on r1, the AF of
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


def start(module_name, fam):
    """The topology for one family, every session up, policy applied."""
    tgen = k.start(module_name, fam.conf, wait=fam is V4)
    if fam is V6:
        k.add_ipv6_peer_sessions(tgen)
    for peer in PEERS:
        k.wait_established(tgen, INST, peer, addr=fam.addr[peer])
        k.wait_policy_applied(tgen, INST, peer, fam.af, fam.addr[peer])
    return tgen


class PeerConfig:
    def __init__(self):
        self.present = True
        self.member = True  # of G2/G3, as r1's configuration starts
        self.native = False
        self.line = False


class Model:
    """SPEC's rules over what is configured in VRF vpna for one family."""

    def __init__(self, fam):
        self.fam = fam
        self.peers = {p: PeerConfig() for p in PEERS}
        self.group = False  # `peer G2 keep-all-routes`, `peer G3 ...`
        self.instance = False
        self.wide = False  # policy accepts all 6 instead of .1-.3
        self.applied = {p: False for p in PEERS}  # policy last applied

    @classmethod
    def corner(cls, state, fam):
        """The model at one state of the walks: each bit of state one
        source, configured for both peers."""
        model = cls(fam)
        for p in model.peers.values():
            p.native = bool(state & NATIVE)
            p.line = bool(state & PEER)
        model.group = bool(state & GROUP)
        model.instance = bool(state & INSTANCE)
        return model

    def copy(self):
        return copy.deepcopy(self)

    def sources(self, peer, af):
        """The sources that hold peer/af.  The per-peer and group lines sit
        in the family's AF; the instance-wide command covers every AF."""
        p = self.peers[peer]
        if not p.present:
            return set()
        out = {"instance"} if self.instance else set()
        if af == self.fam.af:
            out |= {"native"} if p.native else set()
            out |= {"peer"} if p.line else set()
            out |= {"group"} if p.member and self.group else set()
        return out

    def kept(self, peer, af):
        "retained(P, A): at least one source holds it."
        return bool(self.sources(peer, af))

    def retained(self):
        return [(p, af) for p, af in self.fam.cells if self.kept(p, af)]

    def accepted(self, peer):
        """The peer's routes in the Loc-RIB (family AF): what the policy
        they were last evaluated against accepts."""
        if not self.peers[peer].present:
            return set()
        pool = k.SENT if self.applied[peer] else k.ACCEPTED
        return pool[peer][self.fam.af]

    def retention_lines(self):
        """vpna's retention lines, as the running configuration must show
        them (SPEC 10, 13): each where it was configured."""
        want = []
        for peer in PEERS:
            p, a = self.peers[peer], self.fam.addr[peer]
            if not p.present:
                continue
            if p.native:
                want.append("neighbor {} soft-reconfiguration inbound".format(a))
            if p.line:
                want.append("peer {} keep-all-routes".format(a))
        if self.group:
            want += ["peer {} keep-all-routes".format(g) for g in ("G2", "G3")]
        if self.instance:
            want.append("keep-all-routes")
        return sorted(want)

    def config(self):
        """vpna's membership and retention lines."""
        want = self.retention_lines()
        for peer in PEERS:
            p, a = self.peers[peer], self.fam.addr[peer]
            if p.present and p.member:
                want.append("neighbor {} peer-group {}".format(a, GROUP_OF[peer]))
            elif p.present:
                want.append("neighbor {} remote-as 100".format(a))
        return sorted(want)


class Change:
    """What one step must cause besides the new model: the resets it
    causes itself (a flap, joining a group), the peers it creates anew
    (their counters start over) and the ROUTE-REFRESH messages to r2."""

    def __init__(self):
        self.resets = {p: 0 for p in PEERS}
        self.fresh = set()
        self.rr = 0


def settle(before, after, change):
    """SPEC 1-4: retention turning on for an Established peer/AF sends r2
    a ROUTE-REFRESH for that AF and resets r3 (once, for all its AFs); a
    session that restarts re-reads every route under the current policy."""
    for peer in PEERS:
        if peer in change.fresh or change.resets[peer] or not before.peers[peer].present:
            continue
        on = [af for p, af in before.fam.cells
              if p == peer and not before.kept(p, af) and after.kept(p, af)]
        if not on:
            continue
        if peer == "r2":
            change.rr += len(on)
            if before.fam.af in on:
                after.applied[peer] = after.wide
        else:
            change.resets[peer] += 1
    for peer in PEERS:
        if peer in change.fresh or change.resets[peer]:
            after.applied[peer] = after.wide
    return change


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


def gray_cycle():
    """16 single toggles visiting every state once and returning to 0."""
    codes = [i ^ (i >> 1) for i in range(16)] + [0]
    return [(codes[i], codes[i] ^ codes[i + 1]) for i in range(16)]


def toggle_lines(bit, on, fam):
    """(AF or None, lines) that turn one walk source on or off."""
    neg = "" if on else "no "
    if bit == INSTANCE:
        return [None, [neg + "keep-all-routes"]]
    lines = []
    for peer in PEERS:
        addr = fam.addr[peer]
        if bit == NATIVE:
            lines.append("{}neighbor {} soft-reconfiguration inbound".format(neg, addr))
        elif bit == PEER:
            lines.append("{}peer {} keep-all-routes".format(neg, addr))
        else:
            lines.append("{}peer {} keep-all-routes".format(neg, GROUP_OF[peer]))
    return [fam.af, lines]


def config_lines(tgen, fam):
    """vpna's membership and retention lines of r1's running configuration."""
    member = re.compile(r"^neighbor ({}) (peer-group \S+|remote-as \d+)$".format(
        "|".join(re.escape(a) for a in fam.addr.values())))
    return sorted(
        line for line in (l.strip() for l in k.running_bgp(tgen, INST))
        if "keep-all-routes" in line or "soft-reconfiguration" in line or member.match(line)
    )


def check_retention(tgen, model, what):
    """received-routes of every present peer/AF, the Loc-RIB, Adj-In memory
    and the running configuration match the model."""
    fam = model.fam
    for peer, af in fam.cells:
        if not model.peers[peer].present:
            continue
        kept = model.kept(peer, af)
        k.wait_for(
            "{}: {} {} received-routes".format(what, peer, af),
            lambda: k.adj_in(tgen, INST, peer, af, addr=fam.addr[peer]),
            k.SENT[peer][af] if kept else None,
        )

    def loc_rib():
        paths = k.loc_rib_paths(tgen, INST, fam.af)
        return {p: paths.get(fam.addr[p], set()) for p in PEERS}

    k.wait_for("{}: Loc-RIB".format(what), loc_rib, {p: model.accepted(p) for p in PEERS})
    assert k.adj_in_entries(tgen) == 6 * len(model.retained()), what
    assert config_lines(tgen, fam) == model.config(), what


class Run:
    """A sequence of steps on one topology: the model, and the session
    counters it allows, summed over the whole run (every ROUTE-REFRESH to
    r2 and every reset the steps must cause, nothing else).  The counters
    are compared after every step, so anything extra is caught whenever it
    happens until the run ends, and finish() holds them for a while
    after the last step."""

    def __init__(self, tgen, fam, model=None):
        self.tgen = tgen
        self.fam = fam
        self.model = model or Model(fam)
        self.rebase()

    def sessions(self):
        facts = k.sessions(self.tgen, INST, self.fam.addr.values())
        return {p: facts[self.fam.addr[p]] for p in PEERS}

    def rebase(self):
        """Counters as the live sessions have them (at the start, and after
        bgpd restarted and started its counters over)."""
        now = self.sessions()
        self.want = {p: {"dropped": now[p]["dropped"], "refreshSent": now[p]["refreshSent"]}
                     for p in PEERS if self.model.peers[p].present}
        # r3 cannot refresh: r1 never sends it a ROUTE-REFRESH.
        assert now["r3"]["refreshSent"] in (None, 0), now

    def sessions_match(self, facts):
        for peer in PEERS:
            f = facts[peer]
            if not self.model.peers[peer].present:
                if f["state"] is not None:
                    return False
                continue
            want = self.want[peer]
            if (f["state"] != "Established" or f["dropped"] != want["dropped"]
                    or f["refreshSent"] != want["refreshSent"]):
                return False
        return True

    def advance(self, after, change, what):
        """The step is applied: expect its resets and ROUTE-REFRESH messages
        and the new model's retention."""
        for peer in PEERS:
            if peer in change.fresh:
                self.want[peer] = {"dropped": 0, "refreshSent": 0}
            if after.peers[peer].present:
                self.want[peer]["dropped"] += change.resets[peer]
            else:
                self.want.pop(peer, None)
        if "r2" in self.want:
            self.want["r2"]["refreshSent"] += change.rr
        self.model = after
        k.wait_for(
            "{}: sessions (resets and ROUTE-REFRESH since the run began: {})".format(
                what, self.want),
            self.sessions,
            self.sessions_match,
        )
        check_retention(self.tgen, after, what)

    def toggle(self, state, bit, apply, what):
        """One walk step from state: apply(after state) types the change; it
        prints nothing but SPEC 6's one-line note.  Returns a log line."""
        after = Model.corner(state ^ bit, self.fam)
        change = settle(self.model, after, Change())
        out = apply(state ^ bit)
        for line in (out or "").splitlines():
            assert line == "" or "still keeps all routes" in line, (what, out)
        self.advance(after, change, what)
        return "{:<36} rr={} reset={} retained={}".format(
            what, change.rr, change.resets["r3"], len(after.retained()))

    def finish(self, seconds=1.0):
        """Nothing more is sent to the peers for a while after the last step."""
        k.hold("after the last step: sessions (expected {})".format(self.want),
               self.sessions, self.sessions_match, seconds)
