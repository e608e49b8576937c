"""The federation the real-Ray tests and ``scripts/demo`` run: members, virtual clusters and pools.

Three simulated member clusters on three clouds, sized so that every scenario is forced, not lucky:

========  =====  ==============================================================================
member    cloud  nodes
========  =====  ==============================================================================
east      aws    east-cpu-0: 4 CPU / 16Gi;  east-gpu-0: 2 CPU / 8Gi / 1 nvidia.com/gpu (tainted)
west      gcp    west-cpu-0: 4 CPU / 16Gi;  west-gpu-0: 2 CPU / 8Gi / 1 nvidia.com/gpu (tainted)
edge      azure  edge-cpu-0: 2 CPU / 4Gi, all taken by a pod that is not ours (see :func:`squatter_pod`)
========  =====  ==============================================================================

Pools (one Ray node type each; workers are small so several fit on 2 cores):

- ``gpu`` (virtual cluster ``inference``): 1 CPU + 1 GPU, on east and west: one GPU per member, so two GPU workers
  must land on two members;
- ``batch-a`` (``team-a``) and ``batch-b`` (``team-b``): 1 CPU each, at most 2 workers, each advertising its
  team's custom resource (``team-a`` / ``team-b``) and the label ``ray-federation.io/virtual-cluster``;
- ``edge`` (``team-b``): 2 CPU, only on edge, which is full: every launch is rejected ``unavailable``.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rf_harness import Member

RAY_CLUSTER_NAME = "rf-e2e"
VC_LABEL = "ray-federation.io/virtual-cluster"
MEMBER_LABEL = "ray-federation.io/member"
GPU_MEMBERS = ("east", "west")
FULL_MEMBER = "edge"
SQUATTER_POD = "not-ours"

# Per team: the pool, and the custom resource every worker of the pool advertises.
TEAMS = {"team-a": "batch-a", "team-b": "batch-b"}


GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def _node(name: str, cpu: int, memory: str, gpus: int = 0) -> Dict[str, Any]:
    """A Node; GPU nodes are labelled accelerator=sim-gpu and tainted as GKE taints them."""
    allocatable = {"cpu": str(cpu), "memory": memory, "pods": "20"}
    labels, taints = {}, []
    if gpus:
        allocatable["nvidia.com/gpu"] = str(gpus)
        labels["accelerator"] = "sim-gpu"
        taints.append(GPU_TAINT)
    return {"name": name, "labels": labels, "taints": taints, "allocatable": allocatable,
            "ready": True, "unschedulable": False}


def topology() -> List[Dict[str, Any]]:
    """The members as the simulator's ``--topology FILE.json`` expects (a list of MemberSpec)."""

    def member(name: str, cloud: str, region: str, zone: str, nodes: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {"name": name, "cloud": cloud, "region": region, "zone": zone, "namespace": "ray-workers",
                "nodes": nodes}

    return [
        member("east", "aws", "us-east-1", "us-east-1a", [_node("east-cpu-0", 4, "16Gi"), _node("east-gpu-0", 2, "8Gi", 1)]),
        member("west", "gcp", "us-central1", "us-central1-a",
               [_node("west-cpu-0", 4, "16Gi"), _node("west-gpu-0", 2, "8Gi", 1)]),
        member("edge", "azure", "eastus", "eastus-1", [_node("edge-cpu-0", 2, "4Gi")]),
    ]


def squatter_pod() -> Dict[str, Any]:
    """A pod that is not ray-federation's and takes all of edge's room (someone else's workload)."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": SQUATTER_POD, "labels": {"app": "someone-elses"}},
        "spec": {"containers": [{"name": "main", "image": "busybox",
                                 "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}]},
    }


def sidecar_config(members: List[Member], head_address: str) -> Dict[str, Any]:
    """The sidecar's configuration (without the listeners, which the harness picks)."""
    clusters = [{"name": m.name, "cloud": m.cloud, "region": m.region, "zone": m.zone,
                 "kubeconfig": m.kubeconfig, "context": m.context, "namespace": m.namespace} for m in members]
    small = {"CPU": 1, "memory": "1Gi"}
    return {
        "rayCluster": {"name": RAY_CLUSTER_NAME, "headAddress": head_address},
        "clusters": clusters,
        "virtualClusters": [{"name": "inference", "quota": {"GPU": 4}}, {"name": "team-a"}, {"name": "team-b"}],
        "pools": [
            {"name": "gpu", "virtualCluster": "inference", "rayNodeType": "gpu",
             "resources": {"CPU": 1, "GPU": 1, "memory": "1Gi"}, "labels": {"accelerator": "sim-gpu"},
             "minWorkers": 0, "maxWorkers": 2, "strategy": "spread", "clusters": list(GPU_MEMBERS),
             "template": {"spec": {"nodeSelector": {"accelerator": "sim-gpu"},
                                   "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                                    "effect": "NoSchedule"}]}}},
            {"name": "batch-a", "virtualCluster": "team-a", "rayNodeType": "batch-a", "resources": small,
             "rayResources": {"team-a": 100}, "minWorkers": 0, "maxWorkers": 2, "strategy": "spread",
             "clusters": list(GPU_MEMBERS)},
            {"name": "batch-b", "virtualCluster": "team-b", "rayNodeType": "batch-b", "resources": small,
             "rayResources": {"team-b": 100}, "minWorkers": 0, "maxWorkers": 2, "strategy": "spread",
             "clusters": list(GPU_MEMBERS)},
            {"name": "edge", "virtualCluster": "team-b", "rayNodeType": "edge",
             "resources": {"CPU": 2, "memory": "1Gi"}, "rayResources": {"edge": 100},
             "minWorkers": 0, "maxWorkers": 2, "strategy": "spread", "clusters": [FULL_MEMBER]},
        ],
    }
