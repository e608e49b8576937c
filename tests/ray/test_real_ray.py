"""Real Ray over ray-federation, under autoscaler v1 and v2 (every test runs once per autoscaler).

Ray's own autoscaler, loading the plugin with ``provider: {type: external}``, decides how many workers of each pool
it wants; the sidecar places them on the simulated members; each pod becomes a real Ray worker that joins the head;
real tasks run on it. See rf_story for the members and pools.
"""

from __future__ import annotations

import re

import pytest

from rf_harness import Federation, wait_until
from rf_story import FULL_MEMBER, GPU_MEMBERS, MEMBER_LABEL, SQUATTER_POD, TEAMS, VC_LABEL

pytestmark = pytest.mark.real_ray

POOL_LABEL = "ray-federation.io/pool"


def test_gpu_tasks_scale_the_gpu_pool_up_from_zero_across_two_members(idle_federation: Federation) -> None:
    fed = idle_federation
    assert fed.sidecar.placement()["gpu"] == {}, "the gpu pool starts empty"

    with fed.observe() as seen:
        results = fed.run(["gpu", "--tasks", "2"], timeout_s=300)

    assert sorted(r["result"] for r in results) == [0, 1]
    assert all(r["together"] for r in results), "both GPU tasks ran at the same time, on two workers"
    assert all(r["gpus"] for r in results), "Ray gave every task a GPU"
    assert sorted(r["labels"][MEMBER_LABEL] for r in results) == sorted(GPU_MEMBERS)
    workers = seen.by_ray_node_id()
    ran_on = [workers[r["node_id"]] for r in results]
    assert sorted(n["cluster"] for n in ran_on) == sorted(GPU_MEMBERS), "the two Ray nodes are the sidecar's workers"
    assert {n["pool"] for n in ran_on} == {"gpu"}
    assert {n["pool"] for n in seen.nodes} == {"gpu"}, "only the gpu pool was scaled"


def test_tasks_for_one_virtual_cluster_run_only_on_its_workers(idle_federation: Federation) -> None:
    """team-a's tasks ask for team-a's custom resource; team-b's use a label selector on the virtual cluster label
    under v2 (Ray 2.60's autoscaler v1 does not scale for label selectors) and team-b's resource under v1."""
    fed = idle_federation
    route_b = "label" if fed.autoscaler == "v2" else "resource"

    with fed.observe() as seen:
        results = fed.run(["teams", "--per-team", "3", "--route-b", route_b], timeout_s=300)

    assert sorted((r["team"], r["result"]) for r in results) == [
        ("team-a", 0), ("team-a", 1), ("team-a", 3), ("team-b", 0), ("team-b", 1), ("team-b", 3)]
    workers = seen.by_ray_node_id()
    for r in results:
        node = workers.get(r["node_id"])
        assert node is not None, f"task {r} ran on a Ray node that is not one of the sidecar's workers"
        assert (node["virtualCluster"], node["pool"]) == (r["team"], TEAMS[r["team"]]), r
        assert r["labels"][VC_LABEL] == r["team"], r
    assert {n["pool"] for n in seen.nodes} == set(TEAMS.values()), "each team's pool was scaled, nothing else"


def test_idle_workers_are_terminated_and_their_pods_disappear_from_every_member(idle_federation: Federation) -> None:
    fed = idle_federation
    log_start = fed.head.monitor_mark()
    with fed.observe() as seen:
        fed.run(["teams", "--per-team", "1"], timeout_s=300)
        assert seen.nodes, "the work brought workers up"
        wait_until(fed.no_workers_left, 240, "the idle workers to be terminated and their pods deleted",
                   poll_s=1.0, diagnostics=fed.diagnostics)

    assert {m: [p["metadata"]["name"] for p in pods] for m, pods in fed.worker_pods().items()} == {
        m.name: [] for m in fed.members.members}
    alive = [n for n in fed.run(["nodes"]) if n["alive"]]
    assert [n["node_id"] for n in alive] == [fed.head.node_id], "Ray sees only the head"
    monitor = fed.head.monitor_log(since=log_start)
    for node in seen.nodes:
        assert _terminated_as_idle(monitor, node["id"], fed.autoscaler), \
            f"Ray's autoscaler terminated {node['id']} because it was idle"


def test_a_full_pool_fails_to_launch_with_the_sidecars_reason_and_leaves_no_pod(idle_federation: Federation) -> None:
    fed = idle_federation
    edge = fed.members.member(FULL_MEMBER)

    log_start = fed.head.monitor_mark()
    with fed.observe() as seen:
        driver = fed.start_driver(["pending", "--resource", "edge"])
        try:
            failure = wait_until(lambda: _launch_failure(fed.head.monitor_log(since=log_start), "edge"), 180,
                                 "Ray's autoscaler to log a failed launch of the edge pool", poll_s=1.0,
                                 diagnostics=fed.diagnostics)
            assert driver.alive(), f"the task stays pending:\n{driver.log_tail()}"
        finally:
            driver.stop()

    assert "unavailable" in failure, failure
    assert f"{FULL_MEMBER} has room for 0" in failure, f"the sidecar's reason reaches Ray's log: {failure}"
    assert [n for n in seen.nodes if n.get("pool") == "edge"] == [], "the sidecar never listed an edge worker"
    assert [p["metadata"]["name"] for p in edge.pods(label_selector="")] == [SQUATTER_POD], \
        "edge holds only the pod that was there before"
    assert [p for pods in fed.worker_pods().values() for p in pods
            if p["metadata"]["labels"].get(POOL_LABEL) == "edge"] == []


def _launch_failure(monitor_log: str, node_type: str) -> str:
    """The first line where the autoscaler (v1 or v2) reports a failed launch of ``node_type``, or ''."""
    pattern = re.compile(rf"Failed to launch .*(type {re.escape(node_type)}\b|of type {re.escape(node_type)}\.).*")
    match = pattern.search(monitor_log)
    return match.group(0) if match else ""


def _terminated_as_idle(monitor_log: str, node_id: str, autoscaler: str) -> bool:
    """Whether the autoscaler's log says it removed the worker ``node_id`` for being idle."""
    if autoscaler == "v1":
        pattern = rf"Terminating the node with id {re.escape(node_id)} .*\(idle\)"
    else:  # v2 drains the Ray node first, then terminates the instance
        pattern = rf"RAY_RUNNING->RAY_STOP_REQUESTED \(.*cloud_instance_id={re.escape(node_id)},.*idle"
    return re.search(pattern, monitor_log) is not None
