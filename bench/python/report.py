"""Builds the benchmark report (Markdown and JSON) from the raw results of one scripts/bench run.

Inputs, in the run directory: ``meta.json`` (machine, versions, mode), ``jmh.json`` (JMH's JSON result
file), and one ``<scenario>.json`` per whole-process scenario (``{"figures": [...]}`` as written by
dev.rayfederation.sim.bench.BenchMain and plugin_iteration.py), plus ``profile-*.txt`` summaries of JFR
recordings when the run was profiled.

Every figure is the median of its runs, shown with min and max. A figure with a target is "met" when
its median (for counts of lost, duplicated or orphan workers: its maximum) satisfies the target.

    report.py --run DIR --md OUT.md --json OUT.json [--analysis NOTES.md] [--require-all]

``--require-all`` exits 1 when a scenario or figure the run should have produced is missing, or a figure
has no value (used by the smoke mode, where targets are not held: the sizes are tiny).
Standard library only.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import statistics
import sys
from typing import Any, Dict, List, Optional

# The performance targets, row by row: the figures that answer each target (the scale targets first).
TARGET_ROWS = [
    ("10,000 workers, 3 members, 20 ms API latency: all pods created ≤ 10 s (≥ 40 % of c/L: 16 calls in flight "
     "per member at 20 ms allow 2,400 pods/s)",
     ["scaleup.seconds", "scaleup.pods_per_s", "derived.scaleup.sidecar_cpu_ms_per_pod", "scaleup.cpu.harness",
      "scaleup.seconds.default_limit", "scaleup.pods_per_s.default_limit"]),
    ("placement + registration of one 1,000-worker request with 100,000 already placed ≤ 2× the time with none placed",
     ["ratio.placement_create.e100000_over_e0", "placement.create.w1000.m5.e0", "placement.create.w1000.m5.e10000",
      "placement.create.w1000.m5.e100000", "placement.decide.w1000.m5.e0", "placement.decide.w1000.m5.e100000"]),
    ("`GET /v1/nodes` at 10,000 nodes: 200 after a change p99 ≤ 20 ms, 304 p99 ≤ 1 ms",
     ["nodes.get200.fresh.p99.n10000", "nodes.get304.p99.n10000", "nodes.get200.cached.p99.n10000"]),
    ("`GET /v1/nodes` at 100,000 nodes after a change, p99 ≤ 150 ms, or a delta listing that makes it unnecessary",
     ["snapshot.changes_after_change.n100000", "snapshot.render_after_change.n100000"]),
    ("plugin: one autoscaler iteration (v1-style pass), listing changed: 1,000 nodes ≤ 10 ms, 10,000 nodes ≤ 100 ms",
     ["plugin.iteration.changed.n1000", "plugin.iteration.changed.n10000", "plugin.requests.n1000",
      "plugin.iteration.unchanged.n1000"]),
    ("plugin vs Ray's KubeRay provider, same pods, same API server, 1,000 and 10,000 nodes: ≥ 10× faster",
     ["ratio.kuberay_over_plugin.n1000", "ratio.kuberay_over_plugin.n10000"]),
    ("sidecar RSS with 10,000 / 100,000 workers ≤ 256 MiB / ≤ 1 GiB",
     ["sidecar.rss.n10000", "sidecar.rss.scaleup", "sidecar.rss.scaleup.w100000"]),
    ("100,000 workers over 10 members (simulated), 20 ms: all created ≤ 2 min, nothing lost",
     ["scaleup.seconds.w100000", "scaleup.pods_per_s.w100000", "scaleup.unsettled_at_answer.w100000",
      "scaleup.settle_seconds.w100000", "derived.scaleup.sidecar_cpu_ms_per_pod.w100000"]),
    ("real member API servers (the real-Kubernetes tier's control planes): 3,000 workers over 3 members — all "
     "created and Running, none lost; pods/s beside the simulated figure",
     ["realscaleup.seconds.w3000", "realscaleup.pods_per_s.w3000", "realscaleup.running_seconds.w3000",
      "realscaleup.running_pods_per_s.w3000", "realscaleup.pods.w3000", "realscaleup.lost.w3000",
      "realscaleup.duplicated.w3000", "realscaleup.orphans.w3000", "realscaleup.not_running.w3000",
      "scaleup.pods_per_s"]),
    ("member outage → unreachable and its breaker open, new launches elsewhere ≤ 5 s, zero lost or duplicate workers",
     [f"outage.{mode}.{figure}" for mode in ("down", "blackhole", "answers_lost")
      for figure in ("unreachable_s", "breaker_open_s", "elsewhere_s", "lost", "duplicated", "orphans")]),
    ("start-up time to ready (no target)", ["sidecar.startup.n0", "sidecar.startup.n10000"]),
]


# Targets of figures their scenario writes without one: id → (op, target).
EXTRA_TARGETS = {
    "ratio.kuberay_over_plugin.n1000": (">=", 10.0),
    "ratio.kuberay_over_plugin.n10000": (">=", 10.0),
    # nothing lost: a run fails unless every created id holds exactly one pod, and no other, within 5 minutes
    "scaleup.settle_seconds.w100000": ("<=", 300.0),
}


def derived_figures(raw: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Figures computed from others, run by run: the sidecar's CPU per pod, the placement growth ratio."""
    by_id = {f["id"]: f for f in raw}
    out = []
    for fid, f in by_id.items():
        if not fid.startswith("scaleup.cpu.sidecar"):
            continue
        suffix = fid[len("scaleup.cpu.sidecar"):]
        rate = by_id.get("scaleup.pods_per_s" + suffix)
        seconds = by_id.get("scaleup.seconds" + suffix)
        if not rate or not seconds:
            continue
        per_pod = []
        for cpu, r, t in zip(f["runs"], rate["runs"], seconds["runs"]):
            pods = number(r) * number(t)
            per_pod.append(number(cpu) * 1000 / pods if pods else math.nan)
        out.append({"id": "derived.scaleup.sidecar_cpu_ms_per_pod" + suffix, "unit": "ms",
                    "title": "scale-up: sidecar CPU time per worker created", "runs": per_pod,
                    "notes": "the sidecar's user + system CPU during the scale-up over the workers created, run by run"})
    e0 = by_id.get("placement.create.w1000.m5.e0")
    e100k = by_id.get("placement.create.w1000.m5.e100000")
    if e0 and e100k and e0["runs"] and e100k["runs"]:
        base = statistics.median([number(v) for v in e0["runs"]])
        out.append({"id": "ratio.placement_create.e100000_over_e0", "unit": "×", "targetOp": "<=", "target": 2.0,
                    "title": "create request in process, 1,000 workers: 100,000 already placed over none placed",
                    "runs": [number(v) / base for v in e100k["runs"]],
                    "notes": "each run with 100,000 placed over the median with none placed (JMH)"})
    return out


def growth_table(figures: Dict[str, Dict[str, Any]]) -> List[str]:
    # the growth scenario's points (labels g<workers>), then the 100,000-worker scenario as the last point
    labels = sorted((fid.rsplit(".", 1)[1] for fid in figures
                     if fid.startswith("scaleup.seconds.g") and fid.rsplit(".", 1)[1][1:].isdigit()),
                    key=lambda label: int(label[1:]))
    if not labels:
        return []
    if "scaleup.seconds.w100000" in figures:
        labels.append("w100000")
    rows = []
    for label in labels:
        seconds, rate = figures[f"scaleup.seconds.{label}"], figures.get(f"scaleup.pods_per_s.{label}")
        rows.append((label, round(seconds["median"] * rate["median"]) if rate else int(label[1:])))
    lines = ["", "## Growth curve: scale-up time and create cost, 2,500 to 100,000 workers", "",
             "10 simulated members (light API servers), 20 ms added to every member API call, the sidecar's rate limit "
             "at 1,000 requests/s per member, create requests of 5 with 10 in flight; one run per size (the last row "
             "is the 100,000-worker scenario). Create cost = the sidecar's CPU per worker created.", "",
             "| workers | all created | pods/s | sidecar CPU per worker | harness CPU | ids unsettled at answer | "
             "settled after | sidecar RSS |", "|---|---|---|---|---|---|---|---|"]

    def cell(fid: str) -> str:
        f = figures.get(fid)
        if f is None:
            return "—"
        return f"{fmt(f['median'], f['unit'])} {f['unit']}"
    for label, n in rows:
        lines.append(f"| {n:,} | {cell('scaleup.seconds.' + label)} | {cell('scaleup.pods_per_s.' + label)} | "
                     f"{cell('derived.scaleup.sidecar_cpu_ms_per_pod.' + label)} | {cell('scaleup.cpu.harness.' + label)} | "
                     f"{cell('scaleup.unsettled_at_answer.' + label)} | {cell('scaleup.settle_seconds.' + label)} | "
                     f"{cell('sidecar.rss.scaleup.' + label)} |")
    return lines


# JMH benchmark → (figure id, title, target op, target)
JMH_FIGURES = {
    "dev.rayfederation.bench.PlacementBench.decide":
        ("placement.decide.w{workers}.m{members}.e{existingWorkers}",
         "placement decision: {workers} workers over {members} members ({nodesPerMember} nodes each), "
         "{existingWorkers} workers already placed, JMH",
         "<=", 50.0),
    "dev.rayfederation.bench.PlacementBench.create":
        ("placement.create.w{workers}.m{members}.e{existingWorkers}",
         "create request in process: {workers} workers over {members} members, {existingWorkers} already placed "
         "(limits, decision, registry, pod rendering), JMH",
         None, None),
    "dev.rayfederation.bench.SnapshotRenderBench.render":
        ("snapshot.render.n{nodes}", "render the GET /v1/nodes body with no node rendered before (the first GET), "
         "{nodes} nodes, JMH", None, None),
    "dev.rayfederation.bench.SnapshotRenderBench.renderAfterChange":
        ("snapshot.render_after_change.n{nodes}", "change one node, take a new snapshot and build its GET /v1/nodes "
         "body (the other nodes' JSON reused), {nodes} nodes, JMH", None, None),
    "dev.rayfederation.bench.SnapshotRenderBench.changesAfterChange":
        ("snapshot.changes_after_change.n{nodes}", "change one node, take a new snapshot and build the body of "
         "GET /v1/nodes?since=<the previous revision> (the changed node only), {nodes} nodes, JMH", None, None),
    "dev.rayfederation.bench.SnapshotRenderBench.snapshotAfterChange":
        ("snapshot.change.n{nodes}", "change one node and take a new snapshot, {nodes} nodes, JMH", None, None),
}

SCENARIOS = ["read-path", "scale-up", "scale-up-default-limit", "scale-up-100k", "growth", "outage", "real-scale-up"]


def number(v: Any) -> float:
    if v is None:
        return math.nan
    if isinstance(v, str):
        return math.nan if v.lower() == "nan" else float(v)
    return float(v)


def jmh_figures(path: str) -> List[Dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    out = []
    for b in data:
        spec = JMH_FIGURES.get(b["benchmark"])
        if spec is None:
            continue
        params = b.get("params", {})
        fid, title, op, target = spec
        raw = [x for fork in b["primaryMetric"]["rawData"] for x in fork]
        unit = b["primaryMetric"]["scoreUnit"].replace("/op", "")
        how = (f"JMH {b.get('jmhVersion', '')}, {b['mode']}, {b['forks']} fork(s), {b['warmupIterations']} warm-up and "
               f"{b['measurementIterations']} measured iterations of {b['measurementTime']}; one run = one iteration")
        out.append({"id": fid.format(**params), "title": title.format(**params), "unit": unit, "runs": raw,
                    "targetOp": op, "target": target, "notes": how})
    return out


def summarize(fig: Dict[str, Any], hold_targets: bool) -> Dict[str, Any]:
    runs = [number(v) for v in fig.get("runs", [])]
    finite = [v for v in runs if not math.isnan(v)]
    median = statistics.median(finite) if finite else math.nan
    if finite and len(finite) < len(runs):
        median = math.nan  # a run where it was never observed counts against the figure
    lo = min(finite) if finite else math.nan
    hi = max(finite) if finite else math.nan
    op, target = fig.get("targetOp"), fig.get("target")
    met: Optional[bool] = None
    if hold_targets and op is not None and target is not None:
        judged = hi if fig.get("unit") == "count" else median
        if math.isnan(judged) or (finite and len(finite) < len(runs)):
            met = False
        elif op == "<=":
            met = judged <= target
        else:
            met = judged >= target
    return {**fig, "runs": runs, "median": median, "min": lo, "max": hi, "met": met}


def fmt(v: float, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "not seen"
    if unit in ("count", "requests"):
        return f"{v:.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if abs(v) >= 0.1 else f"{v:.3f}"


def verdict(f: Dict[str, Any]) -> str:
    if f["met"] is None:
        return "" if f.get("targetOp") is None else "(not held)"
    return "**met**" if f["met"] else "**missed**"


def target_text(f: Dict[str, Any]) -> str:
    if f.get("targetOp") is None:
        return ""
    return f"{f['targetOp']} {fmt(f['target'], f['unit'])} {f['unit']}"


def markdown(meta: Dict[str, Any], figures: Dict[str, Dict[str, Any]], profiles: Dict[str, str],
             analysis: Optional[str], hold: bool) -> str:
    m = meta
    lines = [f"# ray-federation benchmark report, {m.get('date', '')}", ""]
    lines.append(f"Produced by `scripts/bench{' --smoke' if m.get('mode') == 'smoke' else ''}` "
                 f"at commit `{m.get('commit', '?')}`{' (working tree had changes)' if m.get('dirty') else ''}.")
    lines.append("")
    lines.append("| machine | |")
    lines.append("|---|---|")
    for key, label in [("cpuModel", "CPU"), ("cores", "cores"), ("memory", "memory"), ("os", "OS"),
                       ("java", "Java"), ("ray", "Ray"), ("python", "Python"),
                       ("loadBefore", "load average before"), ("loadAfter", "load average after"),
                       ("duration", "duration of the run")]:
        lines.append(f"| {label} | {m.get(key, '?')} |")
    if m.get("loadNote"):
        lines += ["", f"> {m['loadNote']}"]
    lines += ["", "Every figure is the median of its runs, with min and max. A target is judged on the median "
              "(counts of lost, duplicated or orphan workers: on the maximum over runs).", ""]
    if not hold:
        lines += ["**Smoke mode: tiny sizes and one iteration; targets are not held.**", ""]
    if m.get("parts"):
        lines += [f"Parts run: {', '.join(m['parts'])}.", ""]
    for part, why in (m.get("skipped") or {}).items():
        lines += [f"Skipped: {part} ({why}).", ""]

    lines += ["## Targets", "", "| target | figure | median | min – max | runs | target | verdict |",
              "|---|---|---|---|---|---|---|"]
    for row, ids in TARGET_ROWS:
        first = True
        for fid in ids:
            f = figures.get(fid)
            label = row if first else ""
            first = False
            if f is None:
                lines.append(f"| {label} | `{fid}` | not measured | | | | |")
                continue
            lines.append(f"| {label} | {f['title']} | {fmt(f['median'], f['unit'])} {f['unit']} | "
                         f"{fmt(f['min'], f['unit'])} – {fmt(f['max'], f['unit'])} | {len(f['runs'])} | "
                         f"{target_text(f)} | {verdict(f)} |")

    sizes = sorted({int(k.rsplit(".n", 1)[1]) for k in figures if k.startswith("kuberay.iteration.n")})
    if sizes:
        lines += ["", "## Plugin versus Ray's KubeRay provider, per autoscaler iteration", "",
                  "Same run, same (mock) API server, same pods. One iteration = `non_terminated_nodes({})` + 8× "
                  "`node_tags` + 5× `internal_ip` per node (the v1 loop's reads). The plugin reads the sidecar "
                  "(200 when the listing changed: the changes since its listing, or the full listing when restricted "
                  "to full listings; 304 when not); KubeRay's provider GETs its RayCluster and LISTs the "
                  "pods every iteration.", "",
                  "| nodes | plugin, changed (200) | plugin, changed, full listings | plugin, unchanged (304) | "
                  "plugin requests | KubeRay provider | KubeRay requests | KubeRay / plugin (changed) |",
                  "|---|---|---|---|---|---|---|---|"]
        for n in sizes:
            def cell(fid: str) -> str:
                f = figures.get(fid)
                if f is None:
                    return "—"
                return f"{fmt(f['median'], f['unit'])} {f['unit']} ({fmt(f['min'], f['unit'])} – {fmt(f['max'], f['unit'])})"
            lines.append(f"| {n:,} | {cell(f'plugin.iteration.changed.n{n}')} | {cell(f'plugin.iteration.changed_full.n{n}')} | "
                         f"{cell(f'plugin.iteration.unchanged.n{n}')} | "
                         f"{cell(f'plugin.requests.n{n}')} | {cell(f'kuberay.iteration.n{n}')} | "
                         f"{cell(f'kuberay.requests.n{n}')} | {cell(f'ratio.kuberay_over_plugin.n{n}')} |")
        lines += ["", "The listing alone (`non_terminated_nodes`), without the per-node calls:", "",
                  "| nodes | plugin, changed (200) | plugin, changed, full listing | plugin, unchanged (304) | "
                  "KubeRay provider |", "|---|---|---|---|---|"]
        for n in sizes:
            lines.append(f"| {n:,} | {cell(f'plugin.listing.changed.n{n}')} | {cell(f'plugin.listing.changed_full.n{n}')} | "
                         f"{cell(f'plugin.listing.unchanged.n{n}')} | "
                         f"{cell(f'kuberay.listing.n{n}')} |")

    lines += growth_table(figures)

    if analysis:
        lines += ["", analysis.strip()]

    if profiles:
        lines += ["", "## Profiles (sidecar: JFR CPU samples, GC pauses, allocation, native memory; plugin and KubeRay provider: cProfile)", ""]
        for name in sorted(profiles):
            lines += [f"### {name}", "", "```", profiles[name].strip(), "```", ""]

    lines += ["", "## All figures", "", "| id | what | median | min | max | runs | target | verdict | how |",
              "|---|---|---|---|---|---|---|---|---|"]
    for fid in sorted(figures):
        f = figures[fid]
        lines.append(f"| `{fid}` | {f['title']} | {fmt(f['median'], f['unit'])} {f['unit']} | {fmt(f['min'], f['unit'])} | "
                     f"{fmt(f['max'], f['unit'])} | {len(f['runs'])} | {target_text(f)} | {verdict(f)} | {f.get('notes') or ''} |")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description="Builds the benchmark report from one scripts/bench run.")
    p.add_argument("--run", required=True, help="directory with meta.json, jmh.json and <scenario>.json")
    p.add_argument("--md", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--analysis", help="Markdown appended after the comparison (what limits a missed target, next steps)")
    p.add_argument("--require-all", action="store_true")
    a = p.parse_args()

    with open(os.path.join(a.run, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    hold = meta.get("mode") != "smoke"
    problems: List[str] = []
    raw: List[Dict[str, Any]] = []
    # What the run should have produced: the parts it ran (meta "parts", all when absent) less those it skipped.
    parts = set(meta.get("parts") or ["jmh"] + [s for s in SCENARIOS if s != "real-scale-up"]) - set(meta.get("skipped") or {})
    jmh = os.path.join(a.run, "jmh.json")
    if os.path.exists(jmh):
        got = jmh_figures(jmh)
        if len(got) < len(JMH_FIGURES):
            problems.append(f"jmh.json has {len(got)} of the {len(JMH_FIGURES)} expected benchmarks")
        raw += got
    elif "jmh" in parts:
        problems.append("jmh.json is missing")
    for scenario in SCENARIOS:
        path = os.path.join(a.run, f"{scenario}.json")
        if not os.path.exists(path):
            if scenario in parts:
                problems.append(f"{scenario}.json is missing")
            continue
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not data.get("figures"):
            problems.append(f"{scenario}.json has no figures")
        raw += data.get("figures", [])

    raw += derived_figures(raw)
    for fig in raw:
        if fig["id"] in EXTRA_TARGETS and fig.get("targetOp") is None:
            fig["targetOp"], fig["target"] = EXTRA_TARGETS[fig["id"]]
    figures = {}
    for fig in raw:
        s = summarize(fig, hold)
        figures[s["id"]] = s
        if not s["runs"]:
            problems.append(f"figure {s['id']} has no runs")
    profiles = {}
    for path in sorted(glob.glob(os.path.join(a.run, "profile-*.txt"))):
        with open(path, encoding="utf-8") as f:
            profiles[os.path.basename(path)[len("profile-"):-len(".txt")]] = f.read()
    analysis = None
    if a.analysis:
        with open(a.analysis, encoding="utf-8") as f:
            analysis = f.read()

    with open(a.md, "w", encoding="utf-8") as f:
        f.write(markdown(meta, figures, profiles, analysis, hold))
    doc = {"meta": meta, "figures": [figures[k] for k in sorted(figures)],
           "targets": [{"target": row, "figures": [i for i in ids if i in figures],
                        "met": all(figures[i]["met"] is not False for i in ids if i in figures) if hold else None}
                       for row, ids in TARGET_ROWS]}
    with open(a.json, "w", encoding="utf-8") as f:
        f.write(json.dumps(_finite(doc), indent=2, default=str))
    missed = [k for k, v in figures.items() if v["met"] is False]
    print(f"report: {len(figures)} figures, {sum(1 for v in figures.values() if v['met'])} targets met, "
          f"{len(missed)} missed{': ' + ', '.join(sorted(missed)) if missed else ''}")
    print(f"report: wrote {a.md} and {a.json}")
    if problems:
        for pr in problems:
            print(f"report: {pr}", file=sys.stderr)
        if a.require_all:
            return 1
    return 0


def _finite(v: Any) -> Any:
    """JSON has no NaN: not-observed values become null."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


if __name__ == "__main__":
    sys.exit(main())
