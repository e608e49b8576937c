"""The dashboard goes away mid-scale-up (for the sidecar: a proxy in between refuses its connections, while ant-ray
itself runs on): launches and terminations go on, membership catches up when it is back, nothing lost or duplicated."""

from __future__ import annotations

from pathlib import Path

import pytest

from ar_harness import AntRayFederation
from rf_harness import wait_until

pytestmark = pytest.mark.real_antray

JOB_TIMEOUT_S = 420


def test_while_the_dashboard_is_away_launches_and_terminations_go_on_and_membership_catches_up_after(
        idle_federation: AntRayFederation, tmp_path: Path) -> None:
    fed = idle_federation
    gate = tmp_path / "go"
    errors_before = fed.metric("ray_federation_antray_errors_total", virtual_cluster="team-a")

    with fed.watch() as seen:
        job = fed.submit("team-a", "team-a", ["gated", "--resource", "team-a", "--gate", str(gate)])
        wait_until(lambda: "PHASE A DONE" in job.logs(), JOB_TIMEOUT_S, "the job's first task to run in team-a",
                   poll_s=1.0, diagnostics=fed.diagnostics)
        # Ray's v1 autoscaler may launch a second worker up front, before the first one's resources are reported
        # (seen in CI); it is terminated once idle, and the scenario starts from the job's worker alone.
        (first,) = wait_until(lambda: _alone_in(fed, "team-a"), 180,
            "team-a to hold the job's worker alone (an extra worker launched up front goes once idle)",
            poll_s=1.0, diagnostics=fed.diagnostics)
        early_extra = seen.ray_ids_of_pool("batch-a") - {first}  # launched up front and gone again

        fed.proxy.go_away()
        gate.touch()  # the job now wants two tasks at once: a second worker
        wait_until(lambda: _second_worker_up_but_not_moved(fed), JOB_TIMEOUT_S,
                   "a second batch-a worker to be launched and come up, and the sidecar to report it cannot move it",
                   poll_s=1.0, diagnostics=fed.diagnostics)
        assert list(fed.dashboard.virtual_clusters()["team-a"]) == [first], "ant-ray holds the first worker only"
        assert job.status() == "RUNNING", "the second task waits: the new worker is outside team-a, though idle"
        assert fed.metric("ray_federation_antray_in_error", virtual_cluster="team-a") == 1
        assert fed.metric("ray_federation_antray_errors_total", virtual_cluster="team-a") > errors_before

        fed.proxy.come_back()
        result = job.result(JOB_TIMEOUT_S, fed.diagnostics)
        held = fed.dashboard.virtual_clusters()["team-a"]
        pair = {t["node_id"] for t in result["tasks"] if t["task"].startswith("up-")}
        assert len(pair) == 2 and pair <= set(held), "membership caught up: both workers in team-a ran the pair"

        fed.proxy.go_away()
        wait_until(fed.no_workers_left, 300, "the idle workers to be terminated and their pods deleted, dashboard away",
                   poll_s=1.0, diagnostics=fed.diagnostics)
        assert fed.antray_status()["team-a"]["lastError"].startswith("dashboard unreachable")

        fed.proxy.come_back()
        wait_until(lambda: fed.in_step() and fed.dashboard.virtual_clusters()["team-a"] == {}, 120,
                   "team-a to be emptied in ant-ray once the dashboard is back", poll_s=1.0, diagnostics=fed.diagnostics)

    launched = seen.ray_ids_of_pool("batch-a") - early_extra
    assert len(launched) == 2, f"exactly two workers were placed (no launch lost or repeated): {launched}"
    assert set(seen.ever_in("team-a")) - early_extra == launched, "both joined team-a, nothing else did"
    pods = {name for s in seen.samples for name in s.pods.get("batch-a", [])}
    assert len(pods) == 2 + len(early_extra), f"one pod per worker: {pods}"


def _alone_in(fed: AntRayFederation, vc: str):
    """The one Ray node id in ``vc`` as a 1-tuple while it holds exactly one node, else None."""
    nodes = tuple(fed.dashboard.virtual_clusters()[vc])
    return nodes if len(nodes) == 1 else None


def _second_worker_up_but_not_moved(fed: AntRayFederation) -> bool:
    workers = [n for n in fed.sidecar.nodes() if n.get("pool") == "batch-a"]
    status = fed.antray_status()["team-a"]
    return (len(workers) == 2 and all(n.get("status") == "up-to-date" for n in workers)
            and status.get("pendingMoves") == 1 and str(status.get("lastError")).startswith("dashboard unreachable"))
