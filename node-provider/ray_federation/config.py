"""Generate a complete Ray autoscaling config for the ray-federation sidecar.

    python -m ray_federation.config --sidecar-url http://127.0.0.1:8765 -o autoscaling.yaml
    ray start --head --autoscaling-config=autoscaling.yaml ...

The node types come from the sidecar (``GET /v1/node-types``: one per pool) plus a head node type.
Their resources are taken exactly as the sidecar gives them: the sidecar computes them with the same
mapping that builds each worker's ``ray start`` flags, so what the autoscaler plans with is what a
worker registers. Nothing is rounded here; an amount Ray's config schema would refuse (not a whole
number, negative, above Ray's limit) is an error naming the field.
Every key autoscaler v1 reads from the raw file is present, and the result passes Ray's schema.
Prints YAML when PyYAML is importable, JSON otherwise (JSON is valid YAML). Needs no Ray.

In a Kubernetes head pod the file is generated at container start, once the sidecar answers:
``--wait-s`` waits for it, ``--head-node-type headgroup`` names the head as KubeRay does, and
``--head-ip``/``--head-node-id`` let the plugin list the head node itself.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any, Dict, Mapping, Optional, Sequence

from ray_federation.client import DEFAULT_TIMEOUT_S, SidecarClient, SidecarError

__all__ = ["GeneratorOptions", "build_config", "render", "main"]

PROVIDER_MODULE = "ray_federation.FederatedNodeProvider"
HEAD_NODE_TYPE = "ray.head.default"
# Ray's upper limit for a resource amount (ray_constants.MAX_RESOURCE_QUANTITY).
MAX_RESOURCE_QUANTITY = 100_000_000_000_000

# Keys Ray's ray-schema.json allows in a node type (it rejects any other).
_NODE_TYPE_KEYS = (
    "resources",
    "labels",
    "min_workers",
    "max_workers",
    "idle_timeout_s",
    "priority",
    "node_config",
)


class ConfigGenerationError(Exception):
    """The sidecar's answer cannot be turned into a valid Ray config, or an option is invalid."""


class GeneratorOptions:
    """What the command line says, with the defaults Ray would use."""

    def __init__(
        self,
        sidecar_url: str,
        token_file: Optional[str] = None,
        cluster_name: str = "ray-federation",
        max_workers: Optional[int] = None,
        idle_timeout_minutes: float = 5,
        upscaling_speed: float = 1.0,
        head_resources: Optional[Mapping[str, Any]] = None,
        use_node_id_as_ip: bool = False,
        foreground_node_launch: bool = False,
        timeout_s: Optional[float] = None,
        head_ip: Optional[str] = None,
        head_node_type: str = HEAD_NODE_TYPE,
        head_node_id: Optional[str] = None,
    ) -> None:
        self.sidecar_url = sidecar_url
        self.token_file = token_file
        self.cluster_name = cluster_name
        self.max_workers = max_workers
        self.idle_timeout_minutes = idle_timeout_minutes
        self.upscaling_speed = upscaling_speed
        self.head_resources = dict(head_resources) if head_resources is not None else {"CPU": 0}
        self.use_node_id_as_ip = use_node_id_as_ip
        self.foreground_node_launch = foreground_node_launch
        self.timeout_s = timeout_s
        self.head_ip = head_ip
        self.head_node_type = head_node_type
        self.head_node_id = head_node_id


def build_config(node_types_answer: Mapping[str, Any], options: GeneratorOptions) -> Dict[str, Any]:
    """The autoscaling config for ``GET /v1/node-types``'s answer and the options."""
    available = node_types_answer.get("availableNodeTypes")
    if not isinstance(available, dict):
        raise ConfigGenerationError(
            "GET /v1/node-types: expected {\"availableNodeTypes\": {type: {...}}}, got "
            f"{json.dumps(node_types_answer)[:200]}"
        )
    head_type = options.head_node_type
    if not isinstance(head_type, str) or not head_type.strip():
        raise ConfigGenerationError("--head-node-type: must be a non-empty name")
    if options.head_node_id is not None and not options.head_ip:
        raise ConfigGenerationError(
            "--head-node-id: needs --head-ip (the plugin lists the head node itself only when it "
            "knows the head's IP)"
        )
    node_types: Dict[str, Any] = {}
    for name, spec in available.items():
        if name == head_type:
            raise ConfigGenerationError(
                f"availableNodeTypes.{name}: a pool uses the head node type's name "
                f"(--head-node-type {head_type}); rename its rayNodeType"
            )
        node_types[name] = _worker_node_type(name, spec)
    if not options.head_resources:
        # Ray v1 looks an empty head type up by the head's IP, which the sidecar does not list.
        raise ConfigGenerationError(
            '--head-resources: name at least one resource, e.g. {"CPU": 0}'
        )
    node_types[head_type] = {
        "resources": _resources(options.head_resources, "--head-resources"),
        "node_config": {},
        "min_workers": 0,
        "max_workers": 0,
    }

    min_sum = sum(t.get("min_workers", 0) for t in node_types.values())
    max_workers = options.max_workers
    if max_workers is None:
        max_workers = max(min_sum, sum(t.get("max_workers", 0) for t in node_types.values()))
    if max_workers < min_sum:
        raise ConfigGenerationError(
            f"--max-workers: {max_workers} is below the sum of the pools' min_workers ({min_sum})"
        )

    provider: Dict[str, Any] = {
        "type": "external",
        "module": PROVIDER_MODULE,
        "sidecar_url": options.sidecar_url,
    }
    if options.token_file:
        provider["token_file"] = options.token_file
    if options.timeout_s is not None:
        provider["timeout_s"] = options.timeout_s
    if options.head_ip:
        provider["head_ip"] = options.head_ip
    if options.head_node_id is not None:
        provider["head_node_id"] = options.head_node_id
    # The plugin lists the head under this type: it must be the config's head_node_type.
    provider["head_node_type"] = head_type
    # Worker pods start Ray themselves: no SSH updaters, and no launch-config hash to compare.
    provider["disable_node_updaters"] = True
    provider["disable_launch_config_check"] = True
    if options.foreground_node_launch:
        provider["foreground_node_launch"] = True
    if options.use_node_id_as_ip:
        provider["use_node_id_as_ip"] = True

    return {
        "cluster_name": options.cluster_name,
        "max_workers": max_workers,
        "upscaling_speed": options.upscaling_speed,
        "idle_timeout_minutes": options.idle_timeout_minutes,
        "provider": provider,
        "auth": {},
        "available_node_types": node_types,
        "head_node_type": head_type,
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }


def render(config: Mapping[str, Any]) -> str:
    """YAML when PyYAML is importable, else JSON (which any YAML parser reads)."""
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return json.dumps(config, indent=2) + "\n"
    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)


def _worker_node_type(name: str, spec: Any) -> Dict[str, Any]:
    where = f"availableNodeTypes.{name}"
    if not isinstance(spec, dict):
        raise ConfigGenerationError(f"{where}: expected an object, got {spec!r}")
    ignored = sorted(k for k in spec if k not in _NODE_TYPE_KEYS)
    if ignored:
        print(
            f"ray_federation.config: {where}: leaving out {', '.join(ignored)} "
            "(not allowed by Ray's config schema)",
            file=sys.stderr,
        )
    out: Dict[str, Any] = {"resources": _resources(spec.get("resources") or {}, f"{where}.resources")}
    labels = spec.get("labels") or {}
    if not isinstance(labels, dict):
        raise ConfigGenerationError(f"{where}.labels: expected an object, got {labels!r}")
    if labels:
        out["labels"] = {str(k): str(v) for k, v in labels.items()}
    for key in ("min_workers", "max_workers", "priority"):
        if spec.get(key) is not None:
            out[key] = _whole(spec[key], f"{where}.{key}")
    if spec.get("idle_timeout_s") is not None:
        out["idle_timeout_s"] = spec["idle_timeout_s"]
    node_config = spec.get("node_config")
    if node_config is None:
        node_config = {}
    if not isinstance(node_config, dict):
        raise ConfigGenerationError(f"{where}.node_config: expected an object, got {node_config!r}")
    out["node_config"] = node_config
    if out.get("min_workers", 0) > out.get("max_workers", math.inf):
        raise ConfigGenerationError(
            f"{where}: min_workers {out['min_workers']} is above max_workers {out['max_workers']}"
        )
    return out


def _resources(resources: Any, where: str) -> Dict[str, int]:
    """Resource amounts exactly as given; Ray's schema takes whole numbers from 0 to Ray's limit."""
    if not isinstance(resources, dict):
        raise ConfigGenerationError(f"{where}: expected an object of resource: amount, got {resources!r}")
    out: Dict[str, int] = {}
    for k, v in resources.items():
        amount = _whole(v, f"{where}.{k}", "Ray's autoscaling config takes whole resource amounts")
        if amount > MAX_RESOURCE_QUANTITY:
            raise ConfigGenerationError(
                f"{where}.{k}: {amount} is above Ray's limit of {MAX_RESOURCE_QUANTITY}"
            )
        out[str(k)] = amount
    return out


def _whole(value: Any, where: str, why: str = "Ray's config schema takes integers here") -> int:
    """A whole, non-negative number as an int; never rounded (7.0 is 7, 7.5 is an error)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigGenerationError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ConfigGenerationError(f"{where}: {value} is not a whole number ({why})")
    if value < 0:
        raise ConfigGenerationError(f"{where}: must be >= 0, got {value}")
    return int(value)


def _parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ray_federation.config",
        description="Print a Ray autoscaling config whose node types come from the "
        "ray-federation sidecar.",
    )
    parser.add_argument("--sidecar-url", required=True, help="e.g. http://127.0.0.1:8765")
    parser.add_argument("--token-file", help="bearer token file (also written into the provider block)")
    parser.add_argument("--cluster-name", default="ray-federation", help="Ray cluster_name (default %(default)s)")
    parser.add_argument("--max-workers", type=int, help="global max_workers (default: sum of the pools' max_workers)")
    parser.add_argument("--idle-timeout-minutes", type=float, default=5, help="default %(default)s")
    parser.add_argument("--upscaling-speed", type=float, default=1.0, help="default %(default)s")
    parser.add_argument(
        "--head-resources", default='{"CPU": 0}',
        help="JSON resources of the head node type (default %(default)s: no tasks on the head)",
    )
    parser.add_argument("--timeout-s", type=float, help="per-call time budget for the plugin (default 4)")
    parser.add_argument(
        "--use-node-id-as-ip", action="store_true",
        help="single-host tests: Ray keys nodes by node id; the sidecar must report it as internalIp",
    )
    parser.add_argument(
        "--foreground-node-launch", action="store_true",
        help="launch from the autoscaler's main thread instead of launcher threads",
    )
    parser.add_argument(
        "--head-ip",
        help="report a head node with this IP when the sidecar lists none (with "
        "--use-node-id-as-ip: the head's Ray node id)",
    )
    parser.add_argument(
        "--head-node-type", default=HEAD_NODE_TYPE,
        help="name of the head's node type (default %(default)s; KubeRay's head raylet reports "
        "headgroup, which autoscaler v2 matches)",
    )
    parser.add_argument(
        "--head-node-id",
        help="id under which the plugin lists the head (needs --head-ip; autoscaler v2 matches it to "
        "the head raylet's RAY_CLOUD_INSTANCE_ID: the head pod's name under KubeRay)",
    )
    parser.add_argument(
        "--wait-s", type=float, default=0,
        help="wait up to this many seconds for a sidecar that is not answering or not ready yet "
        "(default %(default)s: fail at once); for generating the config at container start",
    )
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    return parser.parse_args(argv)


def _node_types(client: SidecarClient, url: str, wait_s: float) -> Dict[str, Any]:
    """GET /v1/node-types, retrying an unreachable or not-ready (503) sidecar for up to wait_s."""
    deadline = time.monotonic() + wait_s
    next_note = time.monotonic()
    while True:
        try:
            return client.node_types()
        except SidecarError as e:
            waiting = e.status is None or e.status == 503
            if not waiting or time.monotonic() >= deadline:
                raise
            if time.monotonic() >= next_note:
                print(
                    f"ray_federation.config: waiting for the sidecar at {url} ({e.message}); "
                    f"{max(0, int(deadline - time.monotonic()))} s left",
                    file=sys.stderr,
                )
                next_note = time.monotonic() + 10
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse_args(argv)
    try:
        head_resources = json.loads(args.head_resources)
    except ValueError as e:
        print(f"error: --head-resources: not JSON ({e})", file=sys.stderr)
        return 2
    if args.timeout_s is not None and args.timeout_s <= 0:
        print(f"error: --timeout-s: must be > 0, got {args.timeout_s}", file=sys.stderr)
        return 2
    if args.wait_s < 0 or not math.isfinite(args.wait_s):
        print(f"error: --wait-s: must be >= 0, got {args.wait_s}", file=sys.stderr)
        return 2
    options = GeneratorOptions(
        sidecar_url=args.sidecar_url,
        token_file=args.token_file,
        cluster_name=args.cluster_name,
        max_workers=args.max_workers,
        idle_timeout_minutes=args.idle_timeout_minutes,
        upscaling_speed=args.upscaling_speed,
        head_resources=head_resources,
        use_node_id_as_ip=args.use_node_id_as_ip,
        foreground_node_launch=args.foreground_node_launch,
        timeout_s=args.timeout_s,
        head_ip=args.head_ip,
        head_node_type=args.head_node_type,
        head_node_id=args.head_node_id,
    )
    try:
        client = SidecarClient(
            args.sidecar_url,
            token_file=args.token_file,
            timeout_s=args.timeout_s or DEFAULT_TIMEOUT_S,
        )
        try:
            answer = _node_types(client, args.sidecar_url, args.wait_s)
        finally:
            client.close()
        config = build_config(answer or {}, options)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SidecarError as e:
        if e.status is None:
            print(
                f"error: cannot get the node types from the ray-federation sidecar at "
                f"{args.sidecar_url}: {e.message}",
                file=sys.stderr,
            )
        else:
            print(f"error: the sidecar at {args.sidecar_url} refused GET /v1/node-types: {e}", file=sys.stderr)
        return 1
    except ConfigGenerationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    text = render(config)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.output} ({len(config['available_node_types']) - 1} worker node types)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
