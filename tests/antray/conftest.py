"""Fixtures of the ant-ray tier: one set of simulated members per session, one sidecar + ant-ray head per autoscaler.

Runs with the python of ``scripts/lib/python-env --ant-ray`` (ant-ray, pinned in tests/antray/requirements.txt, in a
venv of its own: it imports as ``ray``). Every process carries a marker in its environment and is stopped at the end,
whatever happened; work files live in a short directory under /tmp (Ray's socket paths), deleted at the end unless
``RAY_FEDERATION_KEEP_WORK=1``. On a failure the report gets the sidecar's views and log, ant-ray's virtual clusters,
Ray's monitor log, ``ray status``, the pods and the tails of the workers' logs.

Run:  PY=$(scripts/lib/python-env --ant-ray) && $PY -m pytest tests/antray -q
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

import ar_story
from ar_harness import AntRayFederation
from rf_harness import REPO_ROOT, Jars, SimulatedMembers, default_ray_bin, kill_marked_processes, new_marker, wait_until

AUTOSCALERS = ("v1", "v2")
WORKER_ENV = {
    # Ray sizes a node's object store from the machine's memory: keep each simulated worker small.
    "RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": str(100 * 1000 * 1000),
    "RAY_USAGE_STATS_ENABLED": "0",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_antray: starts a real ant-ray cluster (slow)")


@pytest.fixture(scope="session")
def ray_bin() -> Path:
    """The bin directory of the venv running pytest, which must hold the pinned ant-ray and no upstream Ray."""
    pinned = _pinned_ant_ray_version()
    try:
        installed = importlib.metadata.version("ant-ray")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("ant-ray is not installed: run the tests with the python of scripts/lib/python-env --ant-ray")
    if installed != pinned:
        pytest.fail(f"ant-ray {installed} is installed but tests/antray/requirements.txt pins {pinned}")
    try:
        upstream = importlib.metadata.version("ray")
        pytest.fail(f"upstream Ray {upstream} is installed next to ant-ray (both import as ray): use a venv of its own")
    except importlib.metadata.PackageNotFoundError:
        pass
    return default_ray_bin()


def _pinned_ant_ray_version() -> str:
    text = (Path(__file__).with_name("requirements.txt")).read_text()
    match = re.search(r"^\s*ant-ray(?:\[[^\]]*\])?==(\S+)", text, re.MULTILINE)
    return match.group(1) if match else ""


@pytest.fixture(scope="session")
def jars(work_root: Path) -> Jars:
    """Copies of the sidecar and simulator jars (built with scripts/lib/java-jars when missing or stale)."""
    done = subprocess.run([str(REPO_ROOT / "scripts" / "lib" / "java-jars"), "tests/antray"], capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0 or Jars().missing():
        pytest.fail(f"cannot build the jars:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return Jars().snapshot(work_root / "jars")


@pytest.fixture(scope="session")
def marker() -> Iterator[str]:
    value = new_marker()
    yield value
    left = kill_marked_processes(value)
    if left:
        print(f"\nant-ray tests: killed {left} leftover process(es) of run {value}")


@pytest.fixture(scope="session")
def work_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="rfa-", dir="/tmp"))
    yield root
    if os.environ.get("RAY_FEDERATION_KEEP_WORK") == "1":
        print(f"\nant-ray tests: work files kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def members(jars: Jars, ray_bin: Path, marker: str, work_root: Path) -> Iterator[SimulatedMembers]:
    sim = SimulatedMembers.start(jars.sim, ar_story.topology(), work_root / "sim", ray_bin, marker, WORKER_ENV)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="session", params=AUTOSCALERS)
def federation(request: pytest.FixtureRequest, jars: Jars, members: SimulatedMembers, ray_bin: Path, marker: str,
               work_root: Path) -> Iterator[AntRayFederation]:
    """A sidecar and an ant-ray head with autoscaler v1, then the same with v2 (every test runs once per autoscaler;
    session-scoped so that both test files share one federation per autoscaler)."""
    autoscaler = request.param
    fed = AntRayFederation.start(jars.sidecar, members, ar_story.sidecar_config, ray_bin, autoscaler,
                                 work_root / autoscaler, marker, ar_story.RAY_CLUSTER_NAME, ar_story.HEAD_CPUS,
                                 list(ar_story.VIRTUAL_CLUSTERS))
    try:
        yield fed
    finally:
        fed.stop()


@pytest.fixture
def idle_federation(federation: AntRayFederation) -> Iterator[AntRayFederation]:
    """The federation with no worker left from an earlier test and every virtual cluster in step with ant-ray; the
    jobs a test leaves running (it failed) are stopped after it."""
    federation.proxy.come_back()
    federation.await_no_workers(what="the workers of earlier tests to be terminated as idle")
    wait_until(federation.in_step, 120, "the sidecar to report every virtual cluster in step with ant-ray",
               poll_s=1.0, diagnostics=federation.diagnostics)
    try:
        yield federation
    finally:
        federation.stop_jobs()
        federation.proxy.come_back()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        fed = item.funcargs.get("federation") or item.funcargs.get("idle_federation")
        if isinstance(fed, AntRayFederation):
            report.sections.append((f"ant-ray diagnostics ({fed.autoscaler})", fed.diagnostics()))
