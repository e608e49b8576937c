"""A pool's Ray resources and labels agree everywhere, checked against what real Ray workers register.

Pools with fractional CPUs (500m, 1.5), memory quantities (1500M, 32Gi), GPUs (on a machine without any: Ray
takes ``--num-gpus`` as given), a custom resource and a pool without CPU go through every consumer:

- ``GET /v1/node-types`` of the sidecar (what the autoscaler is told to plan with);
- the autoscaling config that ``python -m ray_federation.config`` generates from it;
- the ``ray start`` line the sidecar puts in each worker pod, which the simulated kubelet runs as a real Ray worker
  (with the pod's ``RAY_CLOUD_INSTANCE_ID`` / ``RAY_NODE_TYPE_NAME`` / region / zone);

and all three must equal what Ray's own ``ray.nodes()`` reports for those workers (Ray's own extras aside: the
``node:<ip>`` and ``object_store_memory`` resources, and its ``ray.io/`` labels). The workers are launched by Ray's
autoscaler (v1) itself: every pool has ``minWorkers: 1``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping

import pytest
import yaml

from conftest import WORKER_ENV
from rf_harness import (
    Federation, HarnessError, Jars, Member, SimulatedMembers, marked_env, python_of, wait_until,
)

pytestmark = pytest.mark.real_ray

VC_LABEL = "ray-federation.io/virtual-cluster"
MEMBER_LABEL = "ray-federation.io/member"
MEMBER = "big"
REGION, ZONE = "eu-west-1", "eu-west-1b"

# What a user configures, and what each pool's workers must register in Ray (CPU rounded up to whole CPUs,
# memory in bytes, custom resources as given; nothing the pool does not ask for).
POOLS: Dict[str, Dict[str, Any]] = {
    "half-cpu": {
        "config": {"resources": {"CPU": "500m", "memory": "1500M"}, "rayResources": {"slots": 3},
                   "labels": {"tier": "small"}},
        "ray": {"CPU": 1, "memory": 1_500_000_000, "slots": 3},
        "flags": ["--num-cpus=1", "--num-gpus=0", "--memory=1500000000"],
    },
    "gpu-big": {
        "config": {"resources": {"CPU": 1.5, "GPU": 2, "memory": "32Gi"}, "rayResources": {"gpu-pool": 1}},
        "ray": {"CPU": 2, "GPU": 2, "memory": 32 * 1024 ** 3, "gpu-pool": 1},
        "flags": ["--num-cpus=2", "--num-gpus=2", "--memory=34359738368"],
    },
    "memory-only": {
        "config": {"resources": {"memory": "2Gi"}},
        "ray": {"memory": 2 * 1024 ** 3},
        "flags": ["--num-cpus=0", "--num-gpus=0", "--memory=2147483648"],
    },
}
VIRTUAL_CLUSTER = "vc-res"

# Resources and labels Ray gives every node by itself.
RAY_OWN_RESOURCES = ("node:", "object_store_memory", "accelerator_type:")
RAY_OWN_LABEL_PREFIX = "ray.io/"


def topology() -> List[Dict[str, Any]]:
    """One member with one node big enough for every pool (the simulated kubelet checks requests)."""
    node = {"name": "big-0", "labels": {}, "taints": [], "ready": True, "unschedulable": False,
            "allocatable": {"cpu": "64", "memory": "256Gi", "nvidia.com/gpu": "8", "pods": "20"}}
    return [{"name": MEMBER, "cloud": "aws", "region": REGION, "zone": ZONE, "namespace": "ray-workers",
             "nodes": [node]}]


def sidecar_config(members: List[Member], head_address: str) -> Dict[str, Any]:
    clusters = [{"name": m.name, "cloud": m.cloud, "region": m.region, "zone": m.zone, "kubeconfig": m.kubeconfig,
                 "context": m.context, "namespace": m.namespace} for m in members]
    pools = [{"name": name, "virtualCluster": VIRTUAL_CLUSTER, "minWorkers": 1, "maxWorkers": 1, **p["config"]}
             for name, p in POOLS.items()]
    return {"rayCluster": {"name": "rf-res", "headAddress": head_address}, "clusters": clusters,
            "virtualClusters": [{"name": VIRTUAL_CLUSTER}], "pools": pools}


@pytest.fixture(scope="module")
def federation(jars: Jars, ray_bin: Path, marker: str, work_root: Path) -> Iterator[Federation]:
    members = SimulatedMembers.start(jars.sim, topology(), work_root / "res-sim", ray_bin, marker, WORKER_ENV)
    try:
        fed = Federation.start(jars.sidecar, members, sidecar_config, ray_bin, "v1", work_root / "res", marker,
                               "rf-res", idle_timeout_minutes=60)
        try:
            yield fed
        finally:
            fed.head.stop()  # first, so that the autoscaler does not replace the min workers being terminated
            fed.stop()
    finally:
        members.stop()


# A driver that waits until `count` worker nodes are alive and prints ray.nodes() as JSON.
NODES_DRIVER = """
import json, sys, time
import ray
address, head_id, count, timeout_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ray.init(address=address, logging_level="ERROR", log_to_driver=False)
deadline = time.monotonic() + timeout_s
while True:
    nodes = [n for n in ray.nodes() if n["Alive"] and n["NodeID"] != head_id]
    if len(nodes) >= count or time.monotonic() > deadline:
        break
    time.sleep(1)
print("NODES " + json.dumps(nodes))
"""


def ray_worker_nodes(fed: Federation, count: int, timeout_s: float = 600) -> List[Dict[str, Any]]:
    argv = [str(fed.python), "-c", NODES_DRIVER, fed.head.address, fed.head.node_id, str(count), str(timeout_s)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s + 120,
                          env=marked_env(fed.marker, RAY_USAGE_STATS_ENABLED="0"))
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("NODES "):
            return json.loads(line[len("NODES "):])
    raise HarnessError(f"ray.nodes() driver failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def own_resources(resources: Mapping[str, float]) -> Dict[str, float]:
    """A Ray node's resources without those Ray adds to every node."""
    return {k: v for k, v in resources.items() if not k.startswith(RAY_OWN_RESOURCES)}


def as_floats(resources: Mapping[str, Any]) -> Dict[str, float]:
    return {k: float(v) for k, v in resources.items()}


def ray_start_args(pod: Mapping[str, Any]) -> List[str]:
    """The words of the worker container's ``ray start`` line."""
    container = next(c for c in pod["spec"]["containers"] if c["name"] == "ray-worker")
    line = " ".join(container.get("args") or [])
    words = shlex.split(line)
    assert words[:2] == ["ray", "start"], f"not a ray start line: {line}"
    return words[2:]


@pytest.fixture(scope="module")
def registered(federation: Federation) -> Dict[str, Dict[str, Any]]:
    """node type -> the Ray node (from ray.nodes()) of its one worker, once every pool's worker has joined."""
    nodes = ray_worker_nodes(federation, len(POOLS))
    by_type = {n["Labels"].get("ray.io/node-group"): n for n in nodes}
    if set(by_type) != set(POOLS):
        raise AssertionError(f"expected one Ray worker per pool {sorted(POOLS)}, Ray lists {sorted(map(str, by_type))}"
                             f"\n{federation.diagnostics()}")
    return by_type


def test_every_consumer_states_exactly_what_the_ray_workers_register(federation: Federation,
                                                                     registered: Dict[str, Dict[str, Any]]) -> None:
    node_types = federation.sidecar.get("/v1/node-types")["availableNodeTypes"]
    generated = yaml.safe_load((federation.work_dir / "autoscaling.yaml").read_text())["available_node_types"]

    for name, pool in POOLS.items():
        in_ray = own_resources(registered[name]["Resources"])
        assert in_ray == as_floats(pool["ray"]), f"{name}: Ray registered {in_ray}"
        assert node_types[name]["resources"] == pool["ray"], f"{name}: GET /v1/node-types says {node_types[name]}"
        assert generated[name]["resources"] == pool["ray"], f"{name}: the generated config says {generated[name]}"


def test_each_worker_was_started_with_the_flags_of_the_rule(federation: Federation,
                                                            registered: Dict[str, Dict[str, Any]]) -> None:
    pods = {p["metadata"]["labels"]["ray-federation.io/pool"]: p for p in federation.members.member(MEMBER).pods()}
    for name, pool in POOLS.items():
        args = ray_start_args(pods[name])
        assert [a for a in args if a.startswith(("--num-cpus=", "--num-gpus=", "--memory="))] == pool["flags"], \
            f"{name}: {args}"
        custom = [a for a in args if a.startswith("--resources=")]
        expected = {k: v for k, v in pool["ray"].items() if k not in ("CPU", "GPU", "memory")}
        assert [json.loads(a[len("--resources="):]) for a in custom] == ([expected] if expected else []), \
            f"{name}: {args}"


def test_labels_agree_and_the_worker_adds_only_its_member_and_rays_own(federation: Federation,
                                                                      registered: Dict[str, Dict[str, Any]]) -> None:
    node_types = federation.sidecar.get("/v1/node-types")["availableNodeTypes"]
    generated = yaml.safe_load((federation.work_dir / "autoscaling.yaml").read_text())["available_node_types"]

    for name, pool in POOLS.items():
        labels = registered[name]["Labels"]
        ours = {k: v for k, v in labels.items() if not k.startswith(RAY_OWN_LABEL_PREFIX)}
        expected = {VC_LABEL: VIRTUAL_CLUSTER, **pool["config"].get("labels", {})}
        assert node_types[name]["labels"] == expected, f"{name}: GET /v1/node-types labels {node_types[name]}"
        assert generated[name]["labels"] == expected, f"{name}: generated labels {generated[name]}"
        assert ours == {**expected, MEMBER_LABEL: MEMBER}, f"{name}: Ray registered labels {labels}"
        # Ray's own labels, from the pod's environment
        assert labels.get("ray.io/node-group") == name
        assert (labels.get("ray.io/availability-region"), labels.get("ray.io/availability-zone")) == (REGION, ZONE)


def test_ray_plans_with_the_resources_it_was_told(federation: Federation,
                                                  registered: Dict[str, Dict[str, Any]]) -> None:
    """A task that needs a whole gpu-big worker (2 CPU, 2 GPU, 32Gi) fits on it: the rounding matches Ray's node."""
    code = (
        "import ray, sys\n"
        "ray.init(address=sys.argv[1], logging_level='ERROR', log_to_driver=False)\n"
        "@ray.remote(num_cpus=2, num_gpus=2, memory=32 * 1024 ** 3, resources={'gpu-pool': 1})\n"
        "def whole():\n"
        "    return ray.get_runtime_context().get_node_id()\n"
        "@ray.remote(num_cpus=1, memory=1_500_000_000, resources={'slots': 3})\n"
        "def half():\n"
        "    return ray.get_runtime_context().get_node_id()\n"
        "print('RESULT', ray.get(whole.remote(), timeout=300), ray.get(half.remote(), timeout=300))\n"
    )
    done = subprocess.run([str(federation.python), "-c", code, federation.head.address], capture_output=True,
                          text=True, timeout=420, env=marked_env(federation.marker, RAY_USAGE_STATS_ENABLED="0"))
    result = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert result, f"driver failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert result[0] == [registered["gpu-big"]["NodeID"], registered["half-cpu"]["NodeID"]]
