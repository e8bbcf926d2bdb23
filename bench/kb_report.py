"""The report of a benchmark run: figures corrected for the cost of the
polls, medians with min and max over the runs, ratios paired inside each
run, and the same as markdown, JSON and a plot."""

import json
import statistics

# scenario keys of a run record, in table order, with their labels
SCENARIOS = [
    ("learn_none", "learn N, no retention"),
    ("learn_soft", "learn N, soft-reconfiguration inbound"),
    ("learn_keep", "learn N, peer keep-all-routes"),
    ("policy_stored", "policy change, `clear soft in` from stored routes "
                      "(keep-all-routes)"),
    ("policy_stored_native", "policy change, `clear soft in` from stored "
                             "routes (soft-reconfiguration inbound)"),
    ("policy_rr", "policy change, `clear soft in` by ROUTE-REFRESH"),
    ("policy_reset", "policy change, hard reset"),
    ("enable_rr", "enable keep-all-routes, ROUTE-REFRESH path"),
    ("enable_reset", "enable keep-all-routes, reset path"),
]
BIRD = ("bird_reload", "BIRD 2 `reload in` from its import table")

# paired ratios: name -> (numerator, denominator, field)
RATIOS = [
    ("stored ÷ ROUTE-REFRESH (CPU)", "policy_stored", "policy_rr", "cpu"),
    ("stored ÷ hard reset (CPU)", "policy_stored", "policy_reset", "cpu"),
    ("stored, keep-all-routes ÷ native (CPU)", "policy_stored",
     "policy_stored_native", "cpu"),
    ("learn, keep-all-routes ÷ native (CPU)", "learn_keep", "learn_soft",
     "cpu"),
    ("learn, keep-all-routes ÷ native (wall)", "learn_keep", "learn_soft",
     "wall"),
    ("stored ÷ BIRD reload in (CPU)", "policy_stored", "bird_reload", "cpu"),
    ("stored ÷ BIRD reload in (wall)", "policy_stored", "bird_reload",
     "wall"),
]


def corrected(rec, cost):
    """CPU of a measurement less what its polls cost the daemon."""
    polls = sum(n * cost.get(kind, 0.0)
                for kind, n in rec.get("polls", {}).items())
    return max(rec["cpu_s"] - polls, 0.0), polls


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "n": len(values)}


def figures(run, n, label):
    """{scenario: {"cpu": s, "wall": s, "polls_cpu": s}} of one run at N
    for build label, the BIRD anchor included."""
    at = run["n"].get(str(n), {})
    rec = at.get("frr", {}).get(label)
    if not rec:
        return {}
    out = {}
    for key, _ in SCENARIOS:
        if key in rec:
            cpu, polls = corrected(rec[key], rec["poll_cost"])
            out[key] = {"cpu": cpu, "wall": rec[key]["wall_s"],
                        "polls_cpu": polls}
    if "bird_reload" in at:
        cpu, polls = corrected(at["bird_reload"], at["bird_poll_cost"])
        out["bird_reload"] = {"cpu": cpu, "wall": at["bird_reload"]["wall_s"],
                              "polls_cpu": polls}
    return out


def summarize(res):
    """Medians, ranges and paired ratios over the unflagged runs (over all
    runs when fewer than res['min_runs'] are unflagged)."""
    runs = [r for r in res["runs"] if not r["flagged"]]
    used = "unflagged"
    if len(runs) < res["min_runs"]:
        runs, used = res["runs"], "all (too few unflagged)"
    s = {"runs_used": [r["index"] for r in runs], "runs_used_kind": used,
         "n": {}}
    labels = res["frr_labels"]
    for n in res["ns"]:
        sn = s["n"][str(n)] = {}
        for label in labels:
            per = [figures(r, n, label) for r in runs]
            sl = sn[label] = {"scenarios": {}, "ratios": {}}
            for key, _ in SCENARIOS + [BIRD]:
                sl["scenarios"][key] = {
                    f: stats([p[key][f] for p in per if key in p])
                    for f in ("cpu", "wall", "polls_cpu")}
            for name, a, b, f in RATIOS:
                sl["ratios"][name] = stats(
                    [p[a][f] / p[b][f] for p in per
                     if a in p and b in p and p[b][f] > 0])
            st = sl["scenarios"]["policy_stored"]["cpu"]
            sl["stored_us_per_prefix"] = (
                {k: (v * 1e6 / n if k != "n" else v) for k, v in st.items()}
                if st else None)
            sl["poll_cost"] = stats_of_costs(runs, n, label)
            sl["show_1peer"] = stats(
                [x["wall_s"] for r in runs
                 for x in r["n"].get(str(n), {}).get("frr", {})
                 .get(label, {}).get("show_keep", [])])
        # the same policy change between builds, paired per run
        if len(labels) > 1:
            base = labels[0]
            for label in labels[1:]:
                sn[label]["ratios"]["stored ÷ %s stored (CPU)" % base] = stats(
                    [figures(r, n, label)["policy_stored"]["cpu"]
                     / figures(r, n, base)["policy_stored"]["cpu"]
                     for r in runs
                     if "policy_stored" in figures(r, n, label)
                     and "policy_stored" in figures(r, n, base)])
    # replay scaling: CPU per prefix at the largest N over the smallest,
    # paired per run
    lo, hi = min(res["ns"]), max(res["ns"])
    s["scaling"] = {"n_lo": lo, "n_hi": hi, "labels": {}}
    if lo != hi:
        for label in labels:
            vals = []
            for r in runs:
                a, b = figures(r, hi, label), figures(r, lo, label)
                if "policy_stored" in a and "policy_stored" in b:
                    vals.append((a["policy_stored"]["cpu"] / hi)
                                / (b["policy_stored"]["cpu"] / lo))
            s["scaling"]["labels"][label] = stats(vals)
    return s


def stats_of_costs(runs, n, label):
    out = {}
    for r in runs:
        rec = r["n"].get(str(n), {}).get("frr", {}).get(label)
        if rec:
            for kind, v in rec["poll_cost"].items():
                out.setdefault(kind, []).append(v)
    return {k: stats(v) for k, v in out.items()}


def fmt(v, nd=2):
    if v is None:
        return "-"
    return ("%%.%df" % nd) % v


def cell(st, nd=2, scale=1.0):
    """median (min–max)"""
    if not st:
        return "-"
    return "%s (%s–%s)" % (fmt(st["median"] * scale, nd),
                           fmt(st["min"] * scale, nd),
                           fmt(st["max"] * scale, nd))


def markdown(res):
    s = res["summary"]
    L = ["Runs: %d (%s used: %s); every variant alternates inside each run."
         % (len(res["runs"]), s["runs_used_kind"],
            ", ".join(str(i + 1) for i in s["runs_used"])),
         "Cells: median (min–max) over the runs used; CPU is the daemon's, "
         "less what the benchmark's polls cost it (measured in the same run).",
         "", "Load per run (1-minute load average at start / end; CPU the "
         "rest of the machine used while the run ran; flagged when the load "
         "at start is above %.1f or the others' CPU above %.2f cores):"
         % (res["load_limit"], res["load_limit"] / 2), "",
         "| run | load start | load end | others' CPU (cores) | flagged | "
         "wall s |", "| ---: | ---: | ---: | ---: | --- | ---: |"]
    for r in res["runs"]:
        L.append("| %d | %.2f | %.2f | %.2f | %s | %.0f |" % (
            r["index"] + 1, r["loadavg_start"], r["loadavg_end"],
            r["others_cores"], "yes" if r["flagged"] else "no",
            r["wall_s"]))
    for n in res["ns"]:
        sn = s["n"][str(n)]
        for label in res["frr_labels"]:
            sl = sn[label]
            L += ["", "### N = %s, %s" % (format(n, ","), label), "",
                  "| scenario | bgpd CPU s | wall s | polls' CPU s |",
                  "| --- | ---: | ---: | ---: |"]
            for key, title in SCENARIOS + [BIRD]:
                sc = sl["scenarios"][key]
                if not sc["cpu"]:
                    continue
                if key == "bird_reload":
                    title += " (BIRD's CPU)"
                L.append("| %s | %s | %s | %s |" % (
                    title, cell(sc["cpu"]), cell(sc["wall"]),
                    fmt(sc["polls_cpu"]["median"], 3)))
            L += ["", "| paired ratio | median (min–max) |", "| --- | ---: |"]
            for name, st in sl["ratios"].items():
                if st:
                    L.append("| %s | %s |" % (name, cell(st, 3)))
            pc = sl["poll_cost"]
            L += ["", "Replay CPU per prefix: %s µs. One poll costs bgpd "
                  "%s ms (`summary json`), %s ms (`show bgp memory`). "
                  "`show bgp vrf all keep-all-routes json`, 1 peer: %s s."
                  % (cell(sl["stored_us_per_prefix"], 3),
                     cell(scale_stats(pc.get("summary"), 1e3), 3),
                     cell(scale_stats(pc.get("memory"), 1e3), 3),
                     cell(sl["show_1peer"], 3))]
    sc = s["scaling"]
    if sc["labels"]:
        L += ["", "Replay CPU per prefix, N = %s ÷ N = %s (paired per run): "
              % (format(sc["n_hi"], ","), format(sc["n_lo"], ","))
              + "; ".join("%s %s" % (label, cell(st, 3))
                          for label, st in sc["labels"].items())]
    if res.get("show_peers"):
        L += ["", "`show bgp vrf all keep-all-routes json` with N = %s and "
              "%d retained peers:" % (format(res["show_peers"]["n"], ","),
                                      res["show_peers"]["peers"]), "",
              "| build | wall s | bgpd CPU s | answer bytes |",
              "| --- | ---: | ---: | ---: |"]
        for label, reps in res["show_peers"]["frr"].items():
            L.append("| %s | %s | %s | %d |" % (
                label, cell(stats([x["wall_s"] for x in reps]), 3),
                cell(stats([x["cpu_s"] for x in reps]), 3),
                reps[0]["bytes"]))
    if res.get("callgrind"):
        L += ["", "Instructions bgpd executes to learn N prefixes (callgrind, "
              "inside bgp_process_packet(): UPDATE parsing and bgp_update(); "
              "counted, not timed; the module's own over the whole learning):",
              "",
              "| build | N | soft-reconfiguration | keep-all-routes | "
              "module's own | per prefix, soft / keep | keep ÷ soft |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for c in res["callgrind"]:
            soft, keep = c["modes"]["soft"], c["modes"]["keep"]
            L.append("| %s | %s | %s | %s | %s | %.1f / %.1f | %.5f |" % (
                c["label"], format(c["n"], ","), format(soft["ir"], ","),
                format(keep["ir"], ","), format(keep["ir_module"], ","),
                soft["ir_per_prefix"], keep["ir_per_prefix"],
                c["ratio_keep_soft"]))
    return "\n".join(L) + "\n"


def scale_stats(st, k):
    if not st:
        return None
    return {f: (v * k if f != "n" else v) for f, v in st.items()}


def write_json(res, path):
    with open(path, "w") as f:
        json.dump(res, f, indent=1)


def plot(res, path):
    """bgpd CPU of the policy change per prefix against N, for each build,
    with BIRD's for reference."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    s = res["summary"]
    ns = res["ns"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label in res["frr_labels"]:
        for key, style in (("policy_stored", "o-"), ("policy_rr", "s--")):
            ys = [s["n"][str(n)][label]["scenarios"][key]["cpu"] for n in ns]
            if all(ys):
                ax.plot(ns, [y["median"] * 1e6 / n for y, n in zip(ys, ns)],
                        style, label="%s %s" % (label, key))
    ys = [s["n"][str(n)][res["frr_labels"][0]]["scenarios"]["bird_reload"]
          ["cpu"] for n in ns]
    if all(ys):
        ax.plot(ns, [y["median"] * 1e6 / n for y, n in zip(ys, ns)], "k^:",
                label="BIRD reload in")
    ax.set_xlabel("N prefixes")
    ax.set_ylabel("CPU µs per prefix (median)")
    ax.set_title("policy change (deny half)")
    ax.legend(fontsize=8)
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
