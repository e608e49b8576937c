"""A Ray driver for the real-Ray tests and ``scripts/demo``: runs one workload and prints ``RESULT <json>``.

    python rf_workloads.py --address 127.0.0.1:PORT gpu --tasks 2
    python rf_workloads.py --address 127.0.0.1:PORT teams --per-team 3 --route-b label
    python rf_workloads.py --address 127.0.0.1:PORT pending --resource edge
    python rf_workloads.py --address 127.0.0.1:PORT nodes

Run as a script (``__main__``) so that Ray ships these functions to the workers by value: the workers have no
access to this directory. Every task reports where it ran: the Ray node id, the node's labels (which hold the
virtual cluster and the member) and the GPUs Ray gave it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Dict, List

import ray

VC_LABEL = "ray-federation.io/virtual-cluster"


def where() -> Dict[str, Any]:
    """Inside a task: the node it runs on."""
    ctx = ray.get_runtime_context()
    return {
        "node_id": ctx.get_node_id(),
        "labels": dict(ctx.get_node_labels()),
        "gpus": [str(g) for g in ctx.get_accelerator_ids().get("GPU", [])],
    }


@ray.remote(num_cpus=0)
class Barrier:
    """Lets N tasks wait until all N run at once (so they must be on N different single-GPU workers)."""

    def __init__(self) -> None:
        self.arrived: set = set()

    def arrive(self, who: int) -> int:
        self.arrived.add(who)
        return len(self.arrived)

    def count(self) -> int:
        return len(self.arrived)


@ray.remote(num_cpus=1, num_gpus=1)
def on_gpu(i: int, barrier: Any, parties: int, wait_s: float) -> Dict[str, Any]:
    ray.get(barrier.arrive.remote(i))
    deadline = time.monotonic() + wait_s
    together = False
    while time.monotonic() < deadline:
        if ray.get(barrier.count.remote()) >= parties:
            together = True
            break
        time.sleep(0.2)
    return {"task": i, "result": i * i, "together": together, **where()}


@ray.remote(num_cpus=1)
def team_work(team: str, i: int, seconds: float) -> Dict[str, Any]:
    time.sleep(seconds)
    return {"team": team, "task": i, "result": sum(range(i + 1)), **where()}


@ray.remote(num_cpus=1)
def anywhere() -> Dict[str, Any]:
    return where()


def gpu(args: argparse.Namespace) -> List[Dict[str, Any]]:
    """``--tasks`` tasks, each needing one GPU, that wait for each other: N GPU workers must come up."""
    barrier = Barrier.remote()
    refs = [on_gpu.remote(i, barrier, args.tasks, args.wait_s) for i in range(args.tasks)]
    return ray.get(refs)


def teams(args: argparse.Namespace) -> List[Dict[str, Any]]:
    """``--per-team`` tasks per team: team-a's by its custom resource, team-b's by ``--route-b``."""
    refs = []
    for i in range(args.per_team):
        refs.append(team_work.options(resources={"team-a": 1}).remote("team-a", i, args.seconds))
    for i in range(args.per_team):
        if args.route_b == "label":
            opts = {"label_selector": {VC_LABEL: "team-b"}}
        else:
            opts = {"resources": {"team-b": 1}}
        refs.append(team_work.options(**opts).remote("team-b", i, args.seconds))
    return ray.get(refs)


def pending(args: argparse.Namespace) -> Dict[str, Any]:
    """One task needing ``--resource``; waits up to ``--hold-s`` for it (the test stops us before)."""
    ref = anywhere.options(resources={args.resource: 1}).remote()
    ready, _ = ray.wait([ref], timeout=args.hold_s)
    return {"finished": bool(ready), "where": ray.get(ready[0]) if ready else None}


def nodes(args: argparse.Namespace) -> List[Dict[str, Any]]:
    """Ray's view: every node GCS knows, alive or dead, with its resources and labels."""
    out = []
    for n in ray.nodes():
        out.append({
            "node_id": n["NodeID"],
            "alive": bool(n["Alive"]),
            "resources": n.get("Resources", {}),
            "labels": n.get("Labels", {}),
        })
    return out


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="rf_workloads.py")
    parser.add_argument("--address", required=True, help="the head's GCS address, 127.0.0.1:PORT")
    sub = parser.add_subparsers(dest="workload", required=True)
    p = sub.add_parser("gpu")
    p.add_argument("--tasks", type=int, default=2)
    p.add_argument("--wait-s", type=float, default=300)
    p = sub.add_parser("teams")
    p.add_argument("--per-team", type=int, default=3)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--route-b", choices=("resource", "label"), default="resource")
    p = sub.add_parser("pending")
    p.add_argument("--resource", required=True)
    p.add_argument("--hold-s", type=float, default=600)
    sub.add_parser("nodes")
    args = parser.parse_args(argv)

    ray.init(address=args.address, log_to_driver=False, logging_level="WARNING")
    try:
        result = {"gpu": gpu, "teams": teams, "pending": pending, "nodes": nodes}[args.workload](args)
    finally:
        ray.shutdown()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
