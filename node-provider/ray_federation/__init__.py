"""ray-federation's Ray autoscaler plugin.

``ray_federation.FederatedNodeProvider`` is the node provider Ray loads from
``provider: {type: external, module: ray_federation.FederatedNodeProvider}``. It is imported
lazily, so ``python -m ray_federation.config`` and the HTTP client work without Ray installed.
"""

from typing import Any

__all__ = ["FederatedNodeProvider", "SidecarClient", "SidecarError", "__version__"]

__version__ = "0.1.0"

from ray_federation.client import SidecarClient, SidecarError  # noqa: E402  (stdlib only)


def __getattr__(name: str) -> Any:
    # Ray's loader does importlib.import_module("ray_federation") then
    # getattr(module, "FederatedNodeProvider"): resolve it on first use (PEP 562).
    if name == "FederatedNodeProvider":
        from ray_federation.provider import FederatedNodeProvider

        return FederatedNodeProvider
    raise AttributeError(f"module 'ray_federation' has no attribute {name!r}")
