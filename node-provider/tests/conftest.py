"""Shared fixtures: a fake sidecar per test and a provider pointed at it."""

from __future__ import annotations

import time
from typing import Callable, Iterator

import pytest

from fake_sidecar import FakeSidecar


@pytest.fixture
def sidecar() -> Iterator[FakeSidecar]:
    fake = FakeSidecar().start()
    yield fake
    fake.stop()


@pytest.fixture
def provider_config(sidecar: FakeSidecar) -> dict:
    return {
        "type": "external",
        "module": "ray_federation.FederatedNodeProvider",
        "sidecar_url": sidecar.url,
        "timeout_s": 4,
    }


@pytest.fixture
def provider(provider_config: dict):
    from ray_federation.provider import FederatedNodeProvider

    p = FederatedNodeProvider(provider_config, "test-cluster")
    yield p
    p._client.close()


def wait_until(condition: Callable[[], bool], timeout_s: float = 60.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; generous deadline, short polls (no bare sleeps in tests)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.02)
