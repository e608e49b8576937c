"""ant-ray's virtual clusters kept in step with ray-federation's pools, under ant-ray's autoscaler v1 and v2.

Jobs are submitted into a virtual cluster (``--virtual-cluster-id``) and ask for its pools' custom resource: ant-ray
2.44's autoscaler launches by cluster-wide demand, so that resource is what makes it launch a worker of the right
pool; the sidecar places it, and once its pod is Ready asks ant-ray to move it into the virtual cluster. See
ar_story for the members, virtual clusters and pools.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import pytest

from ar_harness import JOB_ENDED, AntRayFederation
from ar_story import HEAD_CPUS, QUOTA_WORKERS
from rf_harness import wait_until

pytestmark = pytest.mark.real_antray

JOB_TIMEOUT_S = 420


def test_each_pools_workers_join_their_virtual_cluster_under_the_pools_node_type(idle_federation: AntRayFederation) -> None:
    fed = idle_federation
    try:
        fed.request_resources([{"team-a": 1}, {"team-b": 1}, {"team-b-big": 1}])
        views = wait_until(lambda: _holding(fed, {"team-a": 1, "team-b": 2}), 300,
                           "one worker of each pool in its virtual cluster", poll_s=1.0, diagnostics=fed.diagnostics)
        workers = {n["internalIp"]: n for n in fed.sidecar.nodes()}
        wait_until(fed.in_step, 60, "the sidecar to report every virtual cluster in step", diagnostics=fed.diagnostics)
        status = fed.antray_status()
    finally:
        fed.request_resources([])

    for vc, nodes in views.items():
        for ray_id, template in nodes.items():
            assert ray_id in workers, f"{ray_id} in {vc} is one of the sidecar's workers"
            assert (workers[ray_id]["virtualCluster"], workers[ray_id]["pool"]) == (vc, template), \
                "ant-ray's templateId is the worker's pool (its Ray node type), in the pool's virtual cluster"
    assert sorted(views["team-b"].values()) == ["batch-b", "big-b"]
    assert {vc: (s["nodes"], s["nodesByTemplate"]) for vc, s in status.items()} == {
        "team-a": (1, {"batch-a": 1}), "team-b": (2, {"batch-b": 1, "big-b": 1})}, "GET /v1/pools shows ant-ray's view"
    assert fed.metric("ray_federation_antray_nodes", virtual_cluster="team-b") == 2


def test_a_job_runs_only_on_its_virtual_clusters_workers_and_waits_for_one_more_though_the_head_has_room(
        idle_federation: AntRayFederation) -> None:
    fed = idle_federation
    head = [n for n in fed.driver(["nodes"]) if n["node_id"] == fed.head.node_id][0]
    assert head["resources"].get("CPU") == HEAD_CPUS, "the head (primary cluster) offers CPUs of its own"

    with fed.watch() as seen:
        job = fed.submit("team-a", "team-a", ["fill", "--resource", "team-a", "--nodes", "2"])
        result = job.result(JOB_TIMEOUT_S, fed.diagnostics)

    in_a = seen.ever_in("team-a")
    ran_on = [t["node_id"] for t in result["tasks"]]
    assert set(ran_on) <= set(in_a), f"every task ran on a node of team-a ({in_a}): {result['tasks']}"
    assert fed.head.node_id not in ran_on
    assert len({t["node_id"] for t in result["tasks"] if t["task"].startswith("up-")}) == 2, \
        "two tasks of team-a's resource ran at once: a second worker was launched and moved into team-a for them"
    assert result["extra_waited"], "a task needing one CPU waited while team-a's CPUs were taken, the head's free"
    assert seen.ray_ids_of_pool("batch-a") == set(in_a), "team-a held exactly the batch-a workers the sidecar placed"
    assert set(in_a.values()) == {"batch-a"}


def test_pods_never_exceed_the_virtual_clusters_quota_over_many_autoscaler_iterations(idle_federation: AntRayFederation) -> None:
    fed = idle_federation
    rejected_before = fed.metric("ray_federation_rejected_workers_total", pool="batch-a", reason="quota")
    polls_before = fed.metric("ray_federation_http_request_duration_seconds_count", route="/v1/nodes", method="GET")

    with fed.watch() as seen:
        job = fed.submit("team-a", "team-a", ["many", "--resource", "team-a", "--tasks", "4", "--seconds", "10"])
        result = job.result(JOB_TIMEOUT_S, fed.diagnostics)

    assert len(result["tasks"]) == 4
    quota = QUOTA_WORKERS["team-a"]
    assert seen.most_pods("batch-a") == quota, "the pool grew to the quota and never past it"
    assert seen.most_nodes_in("team-a") == quota
    assert {t["node_id"] for t in result["tasks"]} <= set(seen.ever_in("team-a"))
    assert fed.metric("ray_federation_rejected_workers_total", pool="batch-a", reason="quota") > rejected_before, \
        "the autoscaler asked for more (4 tasks, maxWorkers 4) and the sidecar refused it for the quota"
    polls = fed.metric("ray_federation_http_request_duration_seconds_count", route="/v1/nodes", method="GET") - polls_before
    assert polls >= 10, f"the autoscaler's iterations while watched: {polls}"


def test_idle_workers_leave_their_virtual_cluster_before_their_pods_go_and_it_is_removable_once_no_job_runs(
        idle_federation: AntRayFederation) -> None:
    fed = idle_federation
    with fed.watch() as seen:
        job = fed.submit("team-a", "team-a", ["hold", "--resource", "team-a", "--seconds", "30"])

        def running_in_team_a() -> bool:
            status = job.status()
            if status in JOB_ENDED:  # it can no longer be seen running: say so now, with what the watch saw
                raise AssertionError(f"the job ended {status} before it was seen running in team-a\n{fed.diagnostics()}")
            return status == "RUNNING" and bool(fed.dashboard.virtual_clusters()["team-a"])

        wait_until(running_in_team_a, JOB_TIMEOUT_S, "the job to run on a worker of team-a", poll_s=1.0,
                   diagnostics=fed.diagnostics)
        refused = fed.dashboard.remove("team-a")
        job.result(JOB_TIMEOUT_S, fed.diagnostics)
        wait_until(fed.no_workers_left, 240, "the idle worker to be terminated and its pod deleted", poll_s=1.0,
                   diagnostics=fed.diagnostics)

    assert refused["result"] is False and "still in use" in refused["msg"], refused
    in_a = seen.ever_in("team-a")
    assert in_a, f"a worker was seen in team-a\n{seen.history()}"
    # Ray's autoscaler may launch a second worker while the first one's resources are not yet reported: each of
    # them must have left team-a before the pool's last pod was gone.
    for worker in in_a:
        gone = [s for s in seen.samples if s.at > _first_seen_in(seen, "team-a", worker) and not s.pods.get("batch-a")]
        assert gone, f"the pod of worker {worker} was seen gone\n{seen.history()}"
        assert all(worker not in s.virtual_clusters.get("team-a", {}) for s in gone), \
            f"worker {worker} had left team-a (the sidecar shrank it first) by the time its pod was gone\n{seen.history()}"
    assert fed.dashboard.virtual_clusters()["team-a"] == {}

    removed = fed.dashboard.remove("team-a")
    assert removed["result"] is True, removed
    wait_until(lambda: "team-a" in fed.dashboard.virtual_clusters(), 60,
               "the sidecar to create team-a again (it is in its config) at its next resync", diagnostics=fed.diagnostics)


def test_two_virtual_clusters_side_by_side_stay_isolated(idle_federation: AntRayFederation, tmp_path: Path) -> None:
    """Both teams' workers are up at once (the jobs meet in a directory); then each job runs tasks that need a CPU
    only: team-a four, team-b two, so team-b's workers and the head have room while team-a's tasks queue."""
    fed = idle_federation
    meeting = ["--meeting", str(tmp_path), "--parties", "2"]
    with fed.watch() as seen:
        job_a = fed.submit("team-a", "team-a", ["plain", "--resource", "team-a", "--team", "team-a", "--plain", "4", *meeting])
        job_b = fed.submit("team-b", "team-b", ["plain", "--resource", "team-b", "--team", "team-b", "--plain", "2", *meeting])
        result_a = job_a.result(JOB_TIMEOUT_S, fed.diagnostics)
        result_b = job_b.result(JOB_TIMEOUT_S, fed.diagnostics)

    in_a, in_b = seen.ever_in("team-a"), seen.ever_in("team-b")
    assert not set(in_a) & set(in_b)
    assert set(in_a.values()) == {"batch-a"} and set(in_b.values()) <= {"batch-b", "big-b"}
    for result, own, name in ((result_a, in_a, "team-a"), (result_b, in_b, "team-b")):
        ran_on = {t["node_id"] for t in result["up"] + result["tasks"]}
        assert ran_on <= set(own), f"{name}'s tasks ran only on {name}'s workers: {result}"
        assert len({t["node_id"] for t in result["up"]}) == 2
    assert len(result_a["tasks"]) == 4 and len(result_b["tasks"]) == 2


def _holding(fed: AntRayFederation, counts: Dict[str, int]) -> Optional[Dict[str, Dict[str, str]]]:
    vcs = fed.dashboard.virtual_clusters()
    if all(len(vcs.get(vc, {})) == n for vc, n in counts.items()):
        return {vc: vcs[vc] for vc in counts}
    return None


def _first_seen_in(seen, vc: str, node: str) -> float:
    return min(s.at for s in seen.samples if node in s.virtual_clusters.get(vc, {}))
