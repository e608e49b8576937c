"""The federation the ant-ray tier and ``scripts/demo --ant-ray`` run: two members, two tenants, three pools.

========  =====  ====================================
member    cloud  nodes
========  =====  ====================================
east      aws    east-cpu-0: 4 CPU / 16Gi
west      gcp    west-cpu-0: 4 CPU / 16Gi
========  =====  ====================================

Virtual clusters, each kept in step with an ant-ray virtual cluster of the same id by the sidecar:

- ``team-a``: quota 2 CPU; pool ``batch-a`` (1 CPU workers, at most 4: the quota, not maxWorkers, is what stops
  it at 2);
- ``team-b``: quota 4 CPU; pools ``batch-b`` (1 CPU, at most 2) and ``big-b`` (2 CPU, at most 1).

ant-ray 2.44's autoscaler knows nothing of virtual clusters, so each pool's workers advertise a custom resource of
their own (``team-a``, ``team-b``, ``team-b-big``) and a tenant's jobs ask for it: the node type the autoscaler
launches then says which virtual cluster asked, and the sidecar moves that worker into it once it is up.
The Ray head offers 2 CPUs of its own: a primary-cluster node with room, which jobs of a virtual cluster must not use.
"""

from __future__ import annotations

from typing import Any, Dict, List

RAY_CLUSTER_NAME = "rf-antray"
HEAD_CPUS = 2
MEMBERS = ("east", "west")

# virtual cluster -> its pools -> the custom resource every worker of the pool advertises
VIRTUAL_CLUSTERS: Dict[str, Dict[str, str]] = {
    "team-a": {"batch-a": "team-a"},
    "team-b": {"batch-b": "team-b", "big-b": "team-b-big"},
}
POOL_VC = {pool: vc for vc, pools in VIRTUAL_CLUSTERS.items() for pool in pools}
QUOTA_WORKERS = {"team-a": 2}  # batch-a workers that team-a's quota allows


def topology() -> List[Dict[str, Any]]:
    """The members as the simulator's ``--topology FILE.json`` expects (a list of MemberSpec)."""

    def member(name: str, cloud: str, region: str, zone: str) -> Dict[str, Any]:
        node = {"name": f"{name}-cpu-0", "labels": {}, "taints": [],
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "20"}, "ready": True, "unschedulable": False}
        return {"name": name, "cloud": cloud, "region": region, "zone": zone, "namespace": "ray-workers", "nodes": [node]}

    return [member("east", "aws", "us-east-1", "us-east-1a"), member("west", "gcp", "us-central1", "us-central1-a")]


def sidecar_config(members: List[Any], head_address: str, dashboard_url: str) -> Dict[str, Any]:
    """The sidecar's configuration (without the listeners, which the harness picks). ``dashboard_url``: where the
    sidecar reaches ant-ray's dashboard (in the tests, through a proxy that can make it go away)."""
    clusters = [{"name": m.name, "cloud": m.cloud, "region": m.region, "zone": m.zone,
                 "kubeconfig": m.kubeconfig, "context": m.context, "namespace": m.namespace} for m in members]

    def pool(name: str, cpus: int, max_workers: int) -> Dict[str, Any]:
        return {"name": name, "virtualCluster": POOL_VC[name], "rayNodeType": name,
                "resources": {"CPU": cpus, "memory": "1Gi"}, "rayResources": {VIRTUAL_CLUSTERS[POOL_VC[name]][name]: 100},
                "minWorkers": 0, "maxWorkers": max_workers, "strategy": "spread", "clusters": list(MEMBERS)}

    return {
        "rayCluster": {"name": RAY_CLUSTER_NAME, "headAddress": head_address},
        "clusters": clusters,
        "virtualClusters": [{"name": "team-a", "quota": {"CPU": 2}}, {"name": "team-b", "quota": {"CPU": 4}}],
        "pools": [pool("batch-a", 1, 4), pool("batch-b", 1, 2), pool("big-b", 2, 1)],
        # retries quick enough for a test to watch; shrinkWait as shipped
        "antRay": {"dashboardUrl": dashboard_url, "requestTimeout": "3s", "retryInterval": "1s", "shrinkWait": "5s"},
    }
