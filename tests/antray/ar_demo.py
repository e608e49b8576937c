"""The ray-federation demo with ant-ray's virtual clusters (``scripts/demo --ant-ray``).

Two simulated member Kubernetes clusters, the sidecar with ``antRay`` on, and an ant-ray head (its dashboard serves
ant-ray's virtual-cluster API and job submission) whose autoscaler (v2 by default) loads the ray-federation plugin.
Every worker pod becomes a real ant-ray worker process. ray-federation's virtual clusters team-a and team-b are kept
in step with ant-ray's: a worker joins its virtual cluster in ant-ray once it is up, and leaves it before its pod is
deleted. Five steps, each followed by ant-ray's view of the virtual clusters beside the sidecar's:

1. a job in team-a: its tasks run only on team-a's workers; a task beyond them waits though the head has room;
2. more work than team-a's quota: the pool stops at the quota whatever the autoscaler asks;
3. jobs of team-a and team-b side by side: each stays on its own workers;
4. the dashboard goes away for the sidecar mid-scale-up: the launch goes on, the move waits, then catches up;
5. the work ends: idle workers leave team-a, then their pods go; team-a can then be removed (the sidecar creates it
   again: it is in its configuration).

Exits non-zero with the logs to look at when a step does not turn out as expected. Ctrl-C stops everything.

    python tests/antray/ar_demo.py [--autoscaler v1|v2] [--dir /tmp/SHORT] [--keep-running]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ar_story  # noqa: E402
from ar_harness import AntRayFederation  # noqa: E402
from rf_demo import _status_lines, _table  # noqa: E402
from rf_harness import (  # noqa: E402
    HarnessError, Jars, SimulatedMembers, default_ray_bin, kill_marked_processes, new_marker, wait_until,
)

WORKER_ENV = {"RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": str(100 * 1000 * 1000), "RAY_USAGE_STATS_ENABLED": "0"}
STEPS = 5
IDLE_TIMEOUT_MINUTES = 0.25  # long enough to see the workers in the views, short enough to watch them go
JOB_TIMEOUT_S = 420


class StepFailed(Exception):
    """A step did not turn out as the demo says it should."""


class Demo:
    def __init__(self, fed: AntRayFederation, work: Path) -> None:
        self.fed = fed
        self.work = work
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
        print()
        for line in virtual_cluster_table(self.fed):
            print(f"  {line}")
        print()
        for line in _status_lines(self.fed.head.status()):
            if line.startswith("Resources"):
                break  # its node list is what this demo is about
            print(f"  {line}")

    def tasks(self, result: dict, fed_nodes: dict) -> None:
        for t in result["tasks"]:
            node = fed_nodes.get(t["node_id"], {})
            print(f"  task {t['task']:<8} on Ray node {t['node_id'][:12]}... ({node.get('pool', '?')} worker in "
                  f"{node.get('cluster', '?')})")

    def run(self) -> None:
        fed = self.fed
        self.begin("a job in team-a",
                   "The job is submitted with --virtual-cluster-id team-a and asks for the custom resource 'team-a' "
                   "that only batch-a workers advertise: ant-ray's autoscaler knows nothing of virtual clusters, so "
                   "that resource is what makes it launch batch-a workers. Once a worker is up, the sidecar asks ant-ray "
                   "to move it into team-a. Two tasks must run at once (two workers); then a task that needs only a "
                   "CPU has to wait for team-a's CPUs, though the head (primary cluster) has 2 free.")
        with fed.watch() as seen:
            result = fed.submit("team-a", "team-a", ["fill", "--resource", "team-a", "--nodes", "2"]).result(
                JOB_TIMEOUT_S, fed.diagnostics)
            workers = {n["internalIp"]: n for s in seen.samples for n in s.nodes if n.get("internalIp")}
        self.tasks(result, workers)
        in_a = seen.ever_in("team-a")
        self.expect({t["node_id"] for t in result["tasks"]} <= set(in_a), "every task ran on a worker of team-a")
        self.expect(result["extra_waited"], "the CPU-only task waited for team-a's CPUs, not for the head's")
        self.views()

        self.begin("more work than team-a's quota",
                   "Four tasks of 'team-a' at once: the autoscaler asks for four batch-a workers (maxWorkers is 4), "
                   "the sidecar creates two (team-a's quota is 2 CPUs) and refuses the rest with reason 'quota', "
                   "every autoscaler iteration. The tasks run two at a time.")
        with fed.watch() as seen:
            fed.submit("team-a", "team-a", ["many", "--resource", "team-a", "--tasks", "4", "--seconds", "8"]).result(
                JOB_TIMEOUT_S, fed.diagnostics)
        refused = fed.metric("ray_federation_rejected_workers_total", pool="batch-a", reason="quota")
        self.expect(seen.most_pods("batch-a") == ar_story.QUOTA_WORKERS["team-a"],
                    f"at most {seen.most_pods('batch-a')} batch-a pods at any time; {refused:.0f} workers refused for the quota")
        self.views()

        self.begin("two virtual clusters side by side",
                   "team-a and team-b each bring two workers up, wait for each other, then run tasks that need only "
                   "a CPU. Ray alone would spread them over every node with room; ant-ray keeps each job on its "
                   "own virtual cluster's workers.")
        meeting = Path(tempfile.mkdtemp(prefix="meeting-", dir=self.work))
        args = ["--meeting", str(meeting), "--parties", "2"]
        with fed.watch() as seen:
            job_a = fed.submit("team-a", "team-a", ["plain", "--resource", "team-a", "--team", "team-a", "--plain", "4", *args])
            job_b = fed.submit("team-b", "team-b", ["plain", "--resource", "team-b", "--team", "team-b", "--plain", "2", *args])
            results = {"team-a": job_a.result(JOB_TIMEOUT_S, fed.diagnostics),
                       "team-b": job_b.result(JOB_TIMEOUT_S, fed.diagnostics)}
        for team, result in results.items():
            on = {t["node_id"][:12] for t in result["up"] + result["tasks"]}
            own = set(seen.ever_in(team))
            print(f"  {team}: tasks ran on {', '.join(sorted(on))}")
            self.expect({t["node_id"] for t in result["up"] + result["tasks"]} <= own, f"{team} stayed on its own workers")
        self.views()

        self.begin("the dashboard goes away mid-scale-up",
                   "Once the idle workers of the steps before are gone, a job in team-a runs one task, then wants two "
                   "at once. Before that, the dashboard stops answering "
                   "the sidecar. The second worker is launched and comes up anyway; it stays in the primary cluster "
                   "(the task waits) and the sidecar says why. When the dashboard is back, the move catches up.")
        wait_until(fed.no_workers_left, 300, "the idle workers of the steps before to go", poll_s=1.0)
        gate = self.work / "go"
        job = fed.submit("team-a", "team-a", ["gated", "--resource", "team-a", "--gate", str(gate)])
        wait_until(lambda: "PHASE A DONE" in job.logs(), JOB_TIMEOUT_S, "the job's first task", poll_s=1.0)
        fed.proxy.go_away()
        print("  the dashboard is away for the sidecar")
        gate.touch()
        wait_until(lambda: fed.antray_status()["team-a"].get("pendingMoves") == 1
                   and len([n for n in fed.sidecar.nodes() if n.get("pool") == "batch-a"]) == 2, JOB_TIMEOUT_S,
                   "the second worker to come up", poll_s=1.0)
        status = fed.antray_status()["team-a"]
        print(f"  GET /v1/pools, team-a's antRay: pendingMoves {status['pendingMoves']}, lastError: {status['lastError']}")
        self.views()
        fed.proxy.come_back()
        print("  the dashboard is back")
        started = time.monotonic()
        job.result(JOB_TIMEOUT_S, fed.diagnostics)
        self.expect(len(fed.dashboard.virtual_clusters()["team-a"]) == 2,
                    f"the second worker joined team-a and the job finished {time.monotonic() - started:.0f}s later")

        self.begin("the work ends",
                   f"After idle_timeout_minutes ({IDLE_TIMEOUT_MINUTES} here) ant-ray's autoscaler terminates the idle "
                   "workers through the plugin; the sidecar first has them leave their virtual cluster, then deletes "
                   "their pods. With no job left, team-a can be removed from ant-ray.")
        wait_until(fed.no_workers_left, 300, "the idle workers to be terminated", poll_s=1.0)
        self.expect(fed.dashboard.virtual_clusters()["team-a"] == {}, "no worker left, and none left in team-a")
        removed = fed.dashboard.remove("team-a")
        self.expect(bool(removed["result"]), f"DELETE /virtual_clusters/team-a: {removed['msg']}")
        wait_until(lambda: "team-a" in fed.dashboard.virtual_clusters(), 60, "the sidecar to create team-a again")
        print("  the sidecar created team-a again at its next resync: it is in its configuration")
        self.views()


def virtual_cluster_table(fed: AntRayFederation) -> List[str]:
    """Per virtual cluster: what ant-ray holds (by template) beside the sidecar's antRay view and its pods."""
    held = fed.dashboard.virtual_clusters()
    rows = [["virtual cluster", "ant-ray holds", "sidecar: nodes", "pending moves", "last error", "pods"]]
    for name, status in fed.antray_status().items():
        by_template: dict = {}
        for template in held.get(name, {}).values():
            by_template[template] = by_template.get(template, 0) + 1
        pods = sum(len(fed.pods_of(p)) for p in ar_story.VIRTUAL_CLUSTERS[name])
        rows.append([name, ", ".join(f"{n} {t}" for t, n in sorted(by_template.items())) or "-",
                     str(status.get("nodes", "-")), str(status.get("pendingMoves", "-")),
                     (status.get("lastError") or "-").split(":")[0], str(pods)])
    return _table(rows)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/demo --ant-ray", description=__doc__.split("\n\n")[0])
    parser.add_argument("--autoscaler", choices=("v1", "v2"), default="v2", help="autoscaler (default %(default)s)")
    parser.add_argument("--dir", help="work directory (kept); short, under /tmp: Ray's socket paths are limited")
    parser.add_argument("--keep-running", action="store_true", help="after the steps, keep everything up until Ctrl-C")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    keep = args.dir is not None
    work = Path(args.dir).resolve() if args.dir else Path(tempfile.mkdtemp(prefix="rfa-demo-", dir="/tmp"))
    marker = new_marker()
    ray_bin = default_ray_bin()
    sim: Optional[SimulatedMembers] = None
    fed: Optional[AntRayFederation] = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print("ray-federation demo with ant-ray's virtual clusters: two member clusters, one sidecar, one ant-ray cluster")
    print(f"  work dir {work}" + ("" if keep else " (deleted at exit unless a step fails)"))
    try:
        jars = Jars().snapshot(work / "jars")
        print("  starting two simulated member clusters (each worker pod becomes a real ant-ray worker process)")
        sim = SimulatedMembers.start(jars.sim, ar_story.topology(), work / "sim", ray_bin, marker, WORKER_ENV)
        fed = AntRayFederation.start(jars.sidecar, sim, ar_story.sidecar_config, ray_bin, args.autoscaler,
                                     work / args.autoscaler, marker, ar_story.RAY_CLUSTER_NAME, ar_story.HEAD_CPUS,
                                     list(ar_story.VIRTUAL_CLUSTERS), idle_timeout_minutes=IDLE_TIMEOUT_MINUTES,
                                     progress=lambda s: print(f"  {s}"))
        print(f"  sidecar API {fed.sidecar.url} (log {fed.sidecar.process.log})")
        print(f"  ant-ray head {fed.head.address}, dashboard {fed.dashboard.url}, autoscaler {args.autoscaler}")
        Demo(fed, work).run()
        print(f"\nAll {STEPS} steps behaved as expected.")
        if args.keep_running:
            print(f"Still running: try  curl -s {fed.dashboard.url}/virtual_clusters   or   "
                  f"curl -s {fed.sidecar.url}/v1/pools   (Ctrl-C to stop)")
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
