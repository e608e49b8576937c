"""The ray-federation demo with real Ray (``scripts/demo``; ``scripts/demo --no-ray`` runs the HTTP-driven one).

Three simulated member Kubernetes clusters on three clouds, the sidecar, and a real Ray head whose autoscaler (v2
by default) loads the ray-federation plugin. Every worker pod the sidecar creates becomes a real Ray worker process
that joins the head. Four steps, each followed by Ray's own view (``ray status``) beside the sidecar's placement:

1. two tasks that need a GPU: Ray asks for two ``gpu`` workers, the sidecar puts one in each GPU member;
2. tasks of two virtual clusters: each runs only on its own team's workers;
3. a task for a pool whose only member is full: Ray logs the sidecar's reason, no pod is created;
4. the work ends: Ray's autoscaler terminates the idle workers and their pods disappear from every member.

Exits non-zero with the logs to look at when a step does not turn out as expected. Ctrl-C stops everything.

    python tests/ray/rf_demo.py [--autoscaler v1|v2] [--dir /tmp/SHORT] [--keep-running]
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rf_story  # noqa: E402
from rf_harness import (  # noqa: E402
    Federation, HarnessError, Jars, SimulatedMembers, default_ray_bin, kill_marked_processes, new_marker,
    wait_until,
)

WORKER_ENV = {"RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": str(100 * 1000 * 1000), "RAY_USAGE_STATS_ENABLED": "0"}
STEPS = 4
IDLE_TIMEOUT_MINUTES = 0.5  # long enough to see the workers in the views, short enough to watch them go


class StepFailed(Exception):
    """A step did not turn out as the demo says it should."""


class Demo:
    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self.step = 0

    def begin(self, title: str, context: str) -> None:
        self.step += 1
        print(f"\n== Step {self.step}/{STEPS}: {title} ==")
        for line in textwrap.wrap(context, 110):
            print(f"  {line}")

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            raise StepFailed(message)
        print(f"  ok: {message}")

    def views(self) -> None:
        """Ray's ``ray status`` and the sidecar's placement, side by side when the terminal is wide enough."""
        left = ["Ray's view (ray status)", ""] + _status_lines(self.fed.head.status())
        right = ["ray-federation's view (sidecar)", ""] + placement_table(self.fed)
        print()
        width = max(len(line) for line in left) + 4
        columns = shutil.get_terminal_size((160, 40)).columns
        if width + max(len(line) for line in right) <= columns:
            for i in range(max(len(left), len(right))):
                a = left[i] if i < len(left) else ""
                b = right[i] if i < len(right) else ""
                print(f"  {a:<{width}}{b}".rstrip())
        else:
            for line in left + [""] + right:
                print(f"  {line}".rstrip())

    def run(self) -> None:
        fed = self.fed
        self.begin("two tasks that each need a GPU",
                   "The gpu pool (1 CPU + 1 GPU per worker, virtual cluster 'inference') is empty. Each GPU member "
                   "(east on aws, west on gcp) has one GPU node with one GPU. The two tasks wait for each other, so "
                   "Ray's autoscaler must ask for two gpu workers; the sidecar can only place them in two members.")
        with fed.observe() as seen:
            results = fed.run(["gpu", "--tasks", "2"], timeout_s=300)
        for r in sorted(results, key=lambda r: r["task"]):
            print(f"  task {r['task']} -> {r['result']} on Ray node {r['node_id'][:12]}... in member "
                  f"{r['labels'].get(rf_story.MEMBER_LABEL)} (GPU {', '.join(r['gpus'])})")
        members = sorted(seen.by_ray_node_id()[r["node_id"]]["cluster"] for r in results)
        self.expect(members == sorted(rf_story.GPU_MEMBERS), f"the two GPU tasks ran in {', '.join(members)}")
        self.views()

        route_b = "label" if fed.autoscaler == "v2" else "resource"
        how_b = ("a label selector on ray-federation.io/virtual-cluster=team-b" if route_b == "label"
                 else "team-b's custom resource (autoscaler v1 does not scale for label selectors)")
        self.begin("tasks of two virtual clusters side by side",
                   "team-a's tasks ask for the custom resource 'team-a' that only batch-a workers advertise; "
                   f"team-b's use {how_b}. Each must run only on its own team's workers.")
        with fed.observe() as seen:
            results = fed.run(["teams", "--per-team", "3", "--route-b", route_b], timeout_s=300)
        workers = seen.by_ray_node_id()
        wrong = []
        for r in sorted(results, key=lambda r: (r["team"], r["task"])):
            node = workers.get(r["node_id"], {})
            print(f"  {r['team']} task {r['task']} -> {r['result']} on {node.get('pool', '?')} worker "
                  f"{node.get('id', '?')} in {node.get('cluster', '?')}")
            if node.get("virtualCluster") != r["team"]:
                wrong.append(r)
        self.expect(not wrong, "every task ran on a worker of its own virtual cluster")
        self.views()

        self.begin("a pool whose only member is full",
                   "The edge pool (2 CPU) may only use member edge (azure), whose one 2-CPU node is taken by "
                   "someone else's pod. A task needing the edge pool makes Ray ask for a worker; the sidecar "
                   "rejects it as 'unavailable' and says why; Ray logs that reason and backs off.")
        start = fed.head.monitor_mark()
        driver = fed.start_driver(["pending", "--resource", "edge"])
        try:
            line = wait_until(lambda: _failure_line(fed.head.monitor_log(since=start), "edge"), 180,
                              "Ray's autoscaler to log a failed launch of the edge pool", poll_s=1.0)
            print(f"  Ray's monitor.log: {line.strip()}")
            pods = [p["metadata"]["name"] for p in fed.members.member(rf_story.FULL_MEMBER).pods(label_selector="")]
            self.expect(pods == [rf_story.SQUATTER_POD], f"member edge still holds only {pods}: no pod left behind")
            self.views()
        finally:
            driver.stop()

        self.begin("the work ends",
                   f"No task is left. After idle_timeout_minutes ({IDLE_TIMEOUT_MINUTES} here) Ray's autoscaler "
                   "terminates the idle "
                   "workers through the plugin; the sidecar deletes their pods in every member.")
        started = time.monotonic()
        wait_until(fed.no_workers_left, 240, "the idle workers to be terminated", poll_s=1.0)
        left = {m: len(p) for m, p in fed.worker_pods().items()}
        self.expect(not any(left.values()),
                    f"all workers gone after {time.monotonic() - started:.0f}s; pods per member: {left}")
        self.views()
        self.decisions()

    def decisions(self) -> None:
        """What the sidecar decided along the way and why, as an operator reads it: ``ray-federation status``."""
        print("\n== What the sidecar decided, and why (ray-federation status) ==")
        done = subprocess.run([sys.executable, "-m", "ray_federation.status", "--url", self.fed.sidecar.url,
                               "--decisions", "8"], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise StepFailed(f"ray-federation status exited with {done.returncode}: {done.stderr.strip()}")
        for line in done.stdout.splitlines():
            print(f"  {line}".rstrip())
        kinds = re.findall(r"^ +\S+ +(placed|rejected|replaced|terminated) ", done.stdout, flags=re.M)
        self.expect("terminated" in kinds, f"ray-federation status lists the latest decisions ({', '.join(kinds)})")


def placement_table(fed: Federation) -> List[str]:
    """Members x pools: how many workers of each pool run in each member, then the workers themselves."""
    nodes = fed.sidecar.nodes()
    clusters = fed.sidecar.get("/v1/clusters")["clusters"]
    pools = [p["name"] for p in fed.sidecar.get("/v1/pools")["pools"]]
    rows = [["member", "cloud", "state"] + pools]
    for c in clusters:
        counts = [str(sum(1 for n in nodes if n.get("cluster") == c["name"] and n.get("pool") == p) or "-")
                  for p in pools]
        rows.append([c["name"], c.get("cloud") or "-", c.get("state") or "-"] + counts)
    lines = _table(rows)
    lines.append("")
    if nodes:
        worker_rows = [["worker", "pool", "member", "status", "Ray node id"]]
        for n in sorted(nodes, key=lambda n: (n.get("pool") or "", n["id"])):
            worker_rows.append([n["id"], n.get("pool") or "-", n.get("cluster") or "-", n.get("status") or "-",
                                (n.get("internalIp") or "-")[:12]])
        lines += _table(worker_rows)
    else:
        lines.append("(no workers)")
    return lines


def _table(rows: List[List[str]]) -> List[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def _status_lines(status: str) -> List[str]:
    """``ray status`` without its banner and rulers; v2 lists every failed launch attempt (it retries each
    reconcile), so repeats of one failure are folded into a count."""
    out: List[str] = []
    repeats = 0
    for line in status.splitlines():
        if line.startswith("=====") or set(line.strip()) == {"-"}:
            continue
        key = line.split("(latest_attempt")[0]
        if "(latest_attempt" in line and out and out[-1].split("(latest_attempt")[0] == key:
            repeats += 1
            continue
        if repeats:
            out[-1] += f" (and {repeats} earlier)"
            repeats = 0
        out.append(line.rstrip())
    if repeats:
        out[-1] += f" (and {repeats} earlier)"
    while out and not out[-1]:
        out.pop()
    return out


def _failure_line(log: str, node_type: str) -> str:
    for line in log.splitlines():
        if "Failed to launch" in line and (f"type {node_type}:" in line or f"type {node_type}." in line):
            return line
    return ""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--autoscaler", choices=("v1", "v2"), default="v2",
                        help="Ray autoscaler to run (default %(default)s; v2 is KubeRay's default)")
    parser.add_argument("--dir", help="work directory (kept); short, under /tmp: Ray's socket paths are limited")
    parser.add_argument("--keep-running", action="store_true", help="after the steps, keep everything up until Ctrl-C")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    keep = args.dir is not None
    work = Path(args.dir).resolve() if args.dir else Path(tempfile.mkdtemp(prefix="rf-demo-", dir="/tmp"))
    marker = new_marker()
    ray_bin = default_ray_bin()
    sim: Optional[SimulatedMembers] = None
    fed: Optional[Federation] = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print("ray-federation demo with real Ray: three member clusters on three clouds, one sidecar, one Ray cluster")
    print(f"  work dir {work}" + ("" if keep else " (deleted at exit unless a step fails)"))
    try:
        jars = Jars().snapshot(work / "jars")
        print("  starting three simulated member clusters (each worker pod becomes a real Ray worker process)")
        sim = SimulatedMembers.start(jars.sim, rf_story.topology(), work / "sim", ray_bin, marker, WORKER_ENV)
        edge = sim.member(rf_story.FULL_MEMBER)
        edge.create_pod(rf_story.squatter_pod())
        for m in sim.members:
            print(f"    member {m.name:<5} {m.cloud:<6} {m.region:<12} {m.url}")
        fed = Federation.start(jars.sidecar, sim, rf_story.sidecar_config, ray_bin, args.autoscaler,
                               work / args.autoscaler, marker, rf_story.RAY_CLUSTER_NAME,
                               idle_timeout_minutes=IDLE_TIMEOUT_MINUTES, progress=lambda s: print(f"  {s}"))
        print(f"  sidecar API {fed.sidecar.url} (log {fed.sidecar.process.log})")
        print(f"  Ray head {fed.head.address}, autoscaler {args.autoscaler}, config "
              f"{fed.work_dir / 'autoscaling.yaml'}, logs {fed.head.logs_dir}")
        Demo(fed).run()
        print(f"\nAll {STEPS} steps behaved as expected.")
        if args.keep_running:
            print(f"Still running: try  {ray_bin}/ray status --address={fed.head.address}   or   "
                  f"{ray_bin}/ray-federation status --url {fed.sidecar.url}   (Ctrl-C to stop)")
            while True:
                time.sleep(3600)
        return 0
    except (StepFailed, AssertionError, HarnessError) as e:
        keep = True
        print(f"\nDEMO FAILED: {e}", file=sys.stderr)
        if fed is not None:
            print(fed.diagnostics(), file=sys.stderr)
        print(f"demo: files kept in {work}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo: interrupted, stopping everything")
        return 130
    finally:
        if fed is not None:
            fed.stop()
        if sim is not None:
            sim.stop()
        kill_marked_processes(marker)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
