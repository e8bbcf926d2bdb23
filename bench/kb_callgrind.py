"""Instructions bgpd executes while it learns N prefixes, counted by
valgrind's callgrind.  A count does not depend on the machine's load and
varies by under 0.1 % between runs (heap addresses change some library
calls' paths), where bgpd's CPU time for the same learning varies by
10-30 % (memory stalls in the radix tree): it resolves a per-route cost of
a percent, which timing cannot.  It counts instructions, not their stalls,
so it is reported beside the timed figures, not instead of them."""

import collections
import os
import shutil

from kb_proc import log
from kb_scenarios import Round
from kb_topo import FRR_RUN

MODES = ("soft", "keep")
COUNTED = "bgp_process_packet"


def ir_by_object(path):
    """Self instructions (Ir) per object file of a callgrind output file,
    and the file's total.  Cost lines follow an fn= line and belong to the
    current ob=; the cost line after a calls= line is the callee's
    inclusive cost, counted where the callee's own lines are.  Object
    ids are named where they first appear, in ob= or cob=."""
    names, per_ob = {}, collections.Counter()
    ob, total, after_call = None, 0, False
    with open(path) as f:
        for line in f:
            if line.startswith("ob="):
                ob = _name(names, line[3:].strip())
            elif line.startswith("cob="):       # may name an id first
                _name(names, line[4:].strip())
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_call:
                    after_call = False
                    continue
                fields = line.split()
                if len(fields) > 1:
                    per_ob[ob] += int(fields[1])
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    return per_ob, total


def _name(names, spec):
    """Resolve callgrind's compressed names: "(3) /path" defines id 3,
    "(3)" refers to it."""
    if spec.startswith("("):
        ident, _, rest = spec.partition(")")
        rest = rest.strip()
        if rest:
            names[ident] = rest
        return names.get(ident, spec)
    return spec


def count_learn(topo, frr, n, outdir):
    """bgpd under callgrind learning N prefixes, once per retention mode
    (native soft-reconfiguration, keep-all-routes), counting only inside
    bgp_process_packet(): the task that parses each UPDATE and runs
    bgp_update() for each of its prefixes, the path on which bgpd asks
    whether to keep a route.  Best-path selection runs in another task,
    the same in both modes, and is not counted.  Returns per mode the
    count, the module's share and the count per prefix, and the ratio
    keep / soft."""
    rd = Round(topo, n)
    topo.start_sender(n)
    rundir = os.path.join(FRR_RUN, "callgrind")
    os.makedirs(rundir, exist_ok=True)
    shutil.chown(rundir, "frr", "frr")      # bgpd runs as frr
    out = {"n": n, "label": frr.label, "counted": COUNTED, "modes": {}}
    for mode in MODES:
        path = os.path.join(rundir, "%s.out" % mode)
        # callgrind creates its file as bgpd starts, as root, and writes it
        # at exit, as frr: the file must be frr's from the start
        with open(path, "w"):
            pass
        shutil.chown(path, "frr", "frr")
        topo.bgpd_wrapper = ["valgrind", "--tool=callgrind", "--vgdb=no",
                             "--toggle-collect=" + COUNTED,
                             "--callgrind-out-file=" + path]
        try:
            r = rd.learn(frr, mode)
        finally:
            topo.stop_bgpd()            # callgrind writes its file at exit
            topo.bgpd_wrapper = []
        per_ob, total = ir_by_object(path)
        if not total:
            raise RuntimeError("callgrind counted nothing in %s (see %s)"
                               % (path, topo.daemon_log))
        module = sum(v for k, v in per_ob.items()
                     if k and "keep_all_routes" in os.path.basename(k))
        kept = os.path.join(outdir, "callgrind-%s-learn-%s-%d.out"
                            % (frr.label.replace(" ", "_"), mode, n))
        shutil.copy(path, kept)
        out["modes"][mode] = {"ir": total, "ir_module": module,
                              "ir_per_prefix": round(total / n, 1),
                              "cpu_s_under_callgrind": r["cpu_s"],
                              "file": kept}
        log("callgrind, %s, learn %s: %d instructions in %s (%.1f per "
            "prefix), module %d" % (frr.label, mode, total, COUNTED,
                                    total / n, module))
    m = out["modes"]
    out["ratio_keep_soft"] = round(m["keep"]["ir"] / m["soft"]["ir"], 5)
    return out
