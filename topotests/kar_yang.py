"""
show bgp ... keep-all-routes json  ->  yang/frr-bgp-keep-all-routes.yang

The conversion is strict: a key the model does not know fails the
conversion, so the show output and the model cannot drift apart.
"""

import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# This directory is linked into FRR's tree as tests/topotests/kar.
FRR_YANG = os.path.normpath(os.path.join(HERE, "..", "..", "..", "yang"))
MODEL = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "yang",
                     "frr-bgp-keep-all-routes.yang")
PREFIX = "frr-bgp-keep-all-routes:"

AF = {"ipv4Unicast": "ipv4-unicast", "ipv6Unicast": "ipv6-unicast"}
PEER_AF_KEYS = {
    "sources": "sources",
    "retained": "retained",
    "routeRefreshReceived": "route-refresh-received",
    "enhancedRouteRefreshReceived": "enhanced-route-refresh-received",
    "storedPrefixes": "stored-prefixes",
    "storedBytes": "stored-bytes",
    "lastEnableAction": "last-enable-action",
    "lastEnableTime": "last-enable-time",
}
# Carried in JSON for scripts, not a separate fact: the same instant as
# lastEnableTime.
DERIVED = {"lastEnableEpoch"}
UINT64 = {"stored-prefixes", "stored-bytes"}


def _strict(d, known, where):
    extra = set(d) - set(known) - DERIVED
    if extra:
        raise ValueError("{}: keys not in the model: {}".format(where, sorted(extra)))


def show_to_model(show):
    instances = []
    for name, inst in show.items():
        _strict(inst, {"instanceKeepAllRoutes", "peerGroups", "peers"}, name)
        out = {"name": name, "instance-keep-all-routes": inst["instanceKeepAllRoutes"]}
        groups = []
        for gname, afs in inst.get("peerGroups", {}).items():
            _strict(afs, AF, gname)
            groups.append({"name": gname, "afi-safi": [AF[a] for a in afs if afs[a]]})
        if groups:
            out["peer-group"] = groups
        peers = []
        for addr, afs in inst.get("peers", {}).items():
            _strict(afs, AF, addr)
            rows = []
            for af, facts in afs.items():
                _strict(facts, PEER_AF_KEYS, "{} {}".format(addr, af))
                row = {"name": AF[af]}
                for key, leaf in PEER_AF_KEYS.items():
                    if key not in facts:
                        continue
                    value = facts[key]
                    if leaf in UINT64:
                        value = str(value)  # RFC 7951: 64-bit as strings
                    if leaf == "sources" and not value:
                        continue
                    row[leaf] = value
                rows.append(row)
            peers.append({"address": addr, "afi-safi": rows})
        if peers:
            out["peer"] = peers
        instances.append(out)
    return {PREFIX + "keep-all-routes-state": {"instance": instances}}


def yanglint(data):
    """Validate instance data against the model and FRR's modules."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
        path = f.name
    try:
        return subprocess.run(
            ["yanglint", "-p", FRR_YANG, "-p", os.path.join(FRR_YANG, "ietf"),
             "-t", "data", MODEL, path],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        os.unlink(path)
