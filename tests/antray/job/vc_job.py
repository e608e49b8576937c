"""The entrypoint of the jobs the ant-ray tier submits into a virtual cluster (``--virtual-cluster-id``).

    python vc_job.py fill   --resource team-a --nodes 2
    python vc_job.py many   --resource team-a --tasks 4 --seconds 10
    python vc_job.py hold   --resource team-a --seconds 20
    python vc_job.py plain  --resource team-a --nodes 2 --plain 6 --team team-a --meeting DIR --parties 2
    python vc_job.py gated  --resource team-a --gate FILE

Every task reports where it ran (Ray node id) and when; the job prints ``RESULT <json>`` last. Tasks that ask for
the virtual cluster's custom resource (``--resource``) are what makes ant-ray 2.44's autoscaler launch a worker of
the right pool; "plain" tasks ask for a CPU only and would fit on any node with room, the head included.

Tasks that must run at the same time meet through files: every worker of the tier runs on this one machine. They do
not wait in a Ray call, because Ray lends the CPU of a task blocked in ``ray.get`` to other tasks, which would let
two one-CPU tasks share one worker.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

import ray

DEADLINE_S = 600


def where(label: str, started: float) -> Dict[str, Any]:
    return {"task": label, "node_id": ray.get_runtime_context().get_node_id(), "started": started, "ended": time.time()}


def arrived(meeting: Path) -> int:
    return len(list(meeting.glob("arrived-*")))


def await_arrivals(meeting: Path, n: int) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while arrived(meeting) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {arrived(meeting)} of {n} arrived in {meeting}")
        time.sleep(0.3)


@ray.remote(num_cpus=1)
def together(label: str, meeting: str, parties: int) -> Dict[str, Any]:
    """Holds its CPU until ``parties`` such tasks run at once and the meeting is opened."""
    started = time.time()
    place = Path(meeting)
    (place / f"arrived-{label}").touch()
    await_arrivals(place, parties)
    deadline = time.monotonic() + DEADLINE_S
    while not (place / "open").exists() and time.monotonic() < deadline:
        time.sleep(0.3)
    return where(label, started)


@ray.remote(num_cpus=1)
def sleep_task(label: str, seconds: float) -> Dict[str, Any]:
    started = time.time()
    time.sleep(seconds)
    return where(label, started)


def bring_up(resource: str, nodes: int) -> tuple:
    """``nodes`` tasks of ``resource`` running at once (one worker each), held until the meeting is opened."""
    meeting = Path(tempfile.mkdtemp(prefix="vc-job-"))
    holders = [together.options(resources={resource: 1}).remote(f"up-{i}", str(meeting), nodes) for i in range(nodes)]
    await_arrivals(meeting, nodes)
    return meeting, holders


def fill(args: argparse.Namespace) -> Dict[str, Any]:
    """``--nodes`` tasks of the virtual cluster's resource run at once (a worker each); while they hold every CPU of
    the virtual cluster, one more task that needs only a CPU must wait, though the head has CPUs free."""
    meeting, holders = bring_up(args.resource, args.nodes)
    extra = sleep_task.remote("extra", 0.5)
    ready, _ = ray.wait([extra], timeout=args.wait_s)
    (meeting / "open").touch()
    return {"tasks": ray.get(holders + [extra]), "extra_waited": not ready}


def many(args: argparse.Namespace) -> Dict[str, Any]:
    """``--tasks`` tasks of the virtual cluster's resource, each ``--seconds`` long, all asked for at once."""
    refs = [sleep_task.options(resources={args.resource: 1}).remote(f"many-{i}", args.seconds) for i in range(args.tasks)]
    return {"tasks": ray.get(refs)}


def hold(args: argparse.Namespace) -> Dict[str, Any]:
    """One task of the virtual cluster's resource, ``--seconds`` long."""
    return {"tasks": [ray.get(sleep_task.options(resources={args.resource: 1}).remote("hold", args.seconds))]}


def plain(args: argparse.Namespace) -> Dict[str, Any]:
    """Brings ``--nodes`` workers of the virtual cluster up, meets the other teams' jobs in ``--meeting`` so that
    every team's workers are up at once, then runs ``--plain`` tasks that ask for a CPU only."""
    meeting, holders = bring_up(args.resource, args.nodes)
    teams = Path(args.meeting)
    (teams / f"arrived-{args.team}").touch()
    await_arrivals(teams, args.parties)
    (meeting / "open").touch()
    up = ray.get(holders)
    tasks = ray.get([sleep_task.remote(f"plain-{i}", args.seconds) for i in range(args.plain)])
    return {"up": up, "tasks": tasks}


def gated(args: argparse.Namespace) -> Dict[str, Any]:
    """One task of the resource (one worker), then, once ``--gate`` exists, two at once (a second worker)."""
    first = ray.get(sleep_task.options(resources={args.resource: 1}).remote("first", 0.5))
    print("PHASE A DONE", flush=True)
    deadline = time.monotonic() + DEADLINE_S
    while not os.path.exists(args.gate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{args.gate} never appeared")
        time.sleep(0.3)
    meeting, pair = bring_up(args.resource, 2)
    (meeting / "open").touch()
    return {"tasks": [first] + ray.get(pair)}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="vc_job.py")
    sub = parser.add_subparsers(dest="workload", required=True)
    p = sub.add_parser("fill")
    p.add_argument("--resource", required=True)
    p.add_argument("--nodes", type=int, default=2)
    p.add_argument("--wait-s", type=float, default=10)
    p = sub.add_parser("many")
    p.add_argument("--resource", required=True)
    p.add_argument("--tasks", type=int, default=4)
    p.add_argument("--seconds", type=float, default=10)
    p = sub.add_parser("hold")
    p.add_argument("--resource", required=True)
    p.add_argument("--seconds", type=float, default=20)
    p = sub.add_parser("plain")
    p.add_argument("--resource", required=True)
    p.add_argument("--nodes", type=int, default=2)
    p.add_argument("--plain", type=int, default=6)
    p.add_argument("--seconds", type=float, default=2)
    p.add_argument("--team", required=True)
    p.add_argument("--meeting", required=True, help="a directory every team's job can write to")
    p.add_argument("--parties", type=int, default=2)
    p = sub.add_parser("gated")
    p.add_argument("--resource", required=True)
    p.add_argument("--gate", required=True)
    args = parser.parse_args(argv)

    ray.init(logging_level="WARNING")
    result = {"fill": fill, "many": many, "hold": hold, "plain": plain, "gated": gated}[args.workload](args)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
