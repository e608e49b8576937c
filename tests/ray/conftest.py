"""Fixtures of the real-Ray tier: one set of simulated members per session, one sidecar + Ray head per autoscaler.

Every process is started with a marker in its environment and stopped at the end, whatever happened; anything
still carrying the marker then (a Ray worker orphaned by a crash, say) is killed by pid. Work files live in a short
directory under /tmp (Ray's Unix socket paths are limited to 107 bytes), deleted at the end unless
``RAY_FEDERATION_KEEP_WORK=1``. On a failure the report gets the sidecar's log, Ray's monitor log, ``ray status``,
the pods of every member and the tails of the workers' logs.

Run:  PY=$(scripts/lib/python-env) && $PY -m pytest tests/ray -q
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

import rf_story
from rf_harness import (
    REPO_ROOT, Federation, Jars, SimulatedMembers, default_ray_bin, kill_marked_processes, new_marker, wait_until,
)

AUTOSCALERS = ("v1", "v2")
WORKER_ENV = {
    # Ray sizes a node's object store from the machine's memory: keep each simulated worker small.
    "RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": str(100 * 1000 * 1000),
    "RAY_USAGE_STATS_ENABLED": "0",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_ray: starts a real Ray cluster (slow)")


@pytest.fixture(scope="session")
def ray_bin() -> Path:
    """The bin directory of the venv running pytest (scripts/lib/python-env), which has the pinned Ray."""
    import ray

    pinned = _pinned_ray_version()
    if pinned and ray.__version__ != pinned:
        pytest.fail(f"Ray {ray.__version__} is installed but node-provider/requirements-test.txt pins {pinned}: "
                    "run the tests with the python from scripts/lib/python-env")
    return default_ray_bin()


def _pinned_ray_version() -> str:
    reqs = REPO_ROOT / "node-provider" / "requirements-test.txt"
    for line in reqs.read_text().splitlines():
        if line.strip().startswith("ray=="):
            return line.strip()[len("ray=="):].split()[0]
    return ""


@pytest.fixture(scope="session")
def jars(work_root: Path) -> Jars:
    """Copies of the sidecar and simulator jars (built with scripts/lib/java-jars when missing)."""
    built = Jars()
    if built.missing():
        done = subprocess.run([str(REPO_ROOT / "scripts" / "lib" / "java-jars"), "tests/ray"], capture_output=True,
                              text=True, timeout=1800)
        if done.returncode != 0 or built.missing():
            pytest.fail(f"cannot build the jars:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return built.snapshot(work_root / "jars")


@pytest.fixture(scope="session")
def marker() -> Iterator[str]:
    value = new_marker()
    yield value
    left = kill_marked_processes(value)
    if left:
        print(f"\nreal-Ray tests: killed {left} leftover process(es) of run {value}")


@pytest.fixture(scope="session")
def work_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="rf-", dir="/tmp"))
    yield root
    if os.environ.get("RAY_FEDERATION_KEEP_WORK") == "1":
        print(f"\nreal-Ray tests: work files kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def members(jars: Jars, ray_bin: Path, marker: str, work_root: Path) -> Iterator[SimulatedMembers]:
    """East, west and edge (see rf_story), with edge filled by someone else's pod."""
    sim = SimulatedMembers.start(jars.sim, rf_story.topology(), work_root / "sim", ray_bin, marker, WORKER_ENV)
    try:
        edge = sim.member(rf_story.FULL_MEMBER)
        edge.create_pod(rf_story.squatter_pod())
        wait_until(lambda: (edge.pod(rf_story.SQUATTER_POD).get("status") or {}).get("phase") == "Running", 60,
                   "the pod that fills edge to be Running", diagnostics=lambda: sim.process.log_tail())
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module", params=AUTOSCALERS)
def federation(request: pytest.FixtureRequest, jars: Jars, members: SimulatedMembers, ray_bin: Path, marker: str,
               work_root: Path) -> Iterator[Federation]:
    """A sidecar and a Ray head with autoscaler v1, then the same with v2 (tests run once per autoscaler)."""
    autoscaler = request.param
    fed = Federation.start(jars.sidecar, members, rf_story.sidecar_config, ray_bin, autoscaler, work_root / autoscaler, marker,
                           rf_story.RAY_CLUSTER_NAME)
    try:
        yield fed
    finally:
        fed.stop()


@pytest.fixture
def idle_federation(federation: Federation) -> Federation:
    """The federation with no worker left from an earlier test (the autoscaler removes idle ones)."""
    federation.await_no_workers(what="the workers of earlier tests to be terminated as idle")
    return federation


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        fed = item.funcargs.get("federation") or item.funcargs.get("idle_federation")
        if isinstance(fed, Federation):
            report.sections.append((f"real-Ray diagnostics ({fed.autoscaler})", fed.diagnostics()))
