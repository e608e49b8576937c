"""The read cost of one Ray autoscaler (v1) iteration through a node provider, side by side:

* ray-federation's plugin (``ray_federation.FederatedNodeProvider``) reading the sidecar, and
* Ray's in-tree KubeRay provider (``ray.autoscaler._private.kuberay.node_provider.KubeRayNodeProvider``)
  reading the same pods straight from the (mock) Kubernetes API server.

One iteration is what the v1 loop asks of a provider (see shared/reference/ray-autoscaler-contract.md,
"Call volume"): one ``non_terminated_nodes({})``, then ``node_tags`` 8 times and ``internal_ip``
5 times per node. Every HTTP request the provider sends during the iteration is counted (at
``http.client.HTTPConnection.putrequest``, which both ``http.client`` and ``urllib3`` go through).

The plugin is timed in three situations: the listing changed since the last iteration (a tag is
changed through the sidecar's API before each timed iteration; the plugin asks for the changes since
the listing it holds, ``GET /v1/nodes?since=``), the same with full listings only (as against a
sidecar without that extension: the sidecar answers 200 with the whole snapshot), and unchanged (304).
KubeRay's provider has no such cache: it GETs the RayCluster and LISTs the pods every iteration.

KubeRay's provider is driven outside a cluster by changing only where it finds the API server and its
credentials: the environment variables it reads for the address and the CA
(``KUBERNETES_SERVICE_HOST``, ``KUBERNETES_SERVICE_PORT_HTTPS``, ``RAY_KUBERAY_CA_CERT_PATH``), set
before it is imported, and one module attribute, ``IN_CLUSTER_TOKEN_PATH``, pointed at a token file.

Writes ``{"figures": [...]}`` in the shape of the Java harness (dev.rayfederation.sim.bench.Figure).
Standard library plus the venv's Ray; run with the venv's Python.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
import urllib.request
from typing import Any, Callable, Dict, List

NODE_TAGS_PER_NODE = 8
INTERNAL_IP_PER_NODE = 5

_requests_sent = 0
_original_putrequest = http.client.HTTPConnection.putrequest


def _counting_putrequest(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    global _requests_sent
    _requests_sent += 1
    return _original_putrequest(self, *args, **kwargs)


def point_kuberay_at(kube_port: int, ca_cert: str, token_file: str) -> Any:
    """Imports Ray's KubeRay provider module aimed at 127.0.0.1:<kube_port> with the given CA and token."""
    os.environ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
    os.environ["KUBERNETES_SERVICE_PORT_HTTPS"] = str(kube_port)
    os.environ["RAY_KUBERAY_CA_CERT_PATH"] = ca_cert
    from ray.autoscaler._private.kuberay import node_provider as kuberay

    kuberay.IN_CLUSTER_TOKEN_PATH = token_file
    return kuberay


_list_ms = 0.0


def iteration(provider: Any) -> int:
    """One v1-style pass over every node; returns how many nodes were listed (and keeps the listing's time)."""
    global _list_ms
    t0 = time.perf_counter()
    ids = provider.non_terminated_nodes({})
    _list_ms = (time.perf_counter() - t0) * 1000.0
    for _ in range(NODE_TAGS_PER_NODE):
        for node_id in ids:
            provider.node_tags(node_id)
    for _ in range(INTERNAL_IP_PER_NODE):
        for node_id in ids:
            provider.internal_ip(node_id)
    return len(ids)


def timed(provider: Any, expected_nodes: int, before: Callable[[], None]) -> tuple:
    """(milliseconds, HTTP requests, milliseconds of the listing alone) of one iteration, after ``before()``."""
    global _requests_sent
    before()
    _requests_sent = 0
    t0 = time.perf_counter()
    listed = iteration(provider)
    elapsed_ms = (time.perf_counter() - t0) * 1000.0
    if listed != expected_nodes:
        raise SystemExit(f"{type(provider).__name__} listed {listed} nodes, expected {expected_nodes}")
    return elapsed_ms, _requests_sent, _list_ms


def touch_sidecar(sidecar_url: str, node_id: str, counter: List[int]) -> None:
    """Changes one tag through the sidecar's API so its listing gets a new revision."""
    counter[0] += 1
    body = json.dumps({"tags": {"bench-touch": str(counter[0])}}).encode()
    req = urllib.request.Request(
        f"{sidecar_url}/v1/nodes/{node_id}/tags", data=body, method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def figure(fid: str, title: str, unit: str, runs: List[float], notes: str,
           target_op: str = None, target: float = None) -> Dict[str, Any]:
    return {"id": fid, "title": title, "unit": unit, "runs": runs, "targetOp": target_op,
            "target": target, "notes": notes}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sidecar-url", required=True)
    p.add_argument("--kube-port", type=int, required=True)
    p.add_argument("--ca-cert", required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--ray-cluster", required=True)
    p.add_argument("--nodes", type=int, required=True, help="nodes both providers must list")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--iterations", type=int, default=20, help="timed iterations per run and provider")
    p.add_argument("--out", required=True)
    p.add_argument("--profile-out", help="also write a cProfile summary of one iteration of each provider here")
    a = p.parse_args()

    http.client.HTTPConnection.putrequest = _counting_putrequest
    kuberay = point_kuberay_at(a.kube_port, a.ca_cert, a.token_file)
    from ray_federation import FederatedNodeProvider

    plugin = FederatedNodeProvider({"sidecar_url": a.sidecar_url}, a.ray_cluster)
    whole = FederatedNodeProvider({"sidecar_url": a.sidecar_url}, a.ray_cluster)
    whole._ask_changes = False  # what the plugin does once a sidecar refuses ?since=
    peer = kuberay.KubeRayNodeProvider(
        {
            "type": "kuberay",
            "namespace": a.namespace,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
            "foreground_node_launch": True,
            "worker_liveness_check": False,
        },
        a.ray_cluster,
    )
    n = a.nodes
    some_node = plugin.non_terminated_nodes({})[0]
    touches = [0]
    change = lambda: touch_sidecar(a.sidecar_url, some_node, touches)  # noqa: E731
    nothing = lambda: None  # noqa: E731

    for _ in range(2):  # warm-up: imports, connections, caches
        timed(whole, n, change)
        timed(plugin, n, change)
        timed(plugin, n, nothing)
        timed(peer, n, nothing)

    changed, unchanged, theirs, ratio, changed_whole = [], [], [], [], []
    list_changed, list_unchanged, list_theirs, list_whole = [], [], [], []
    req_changed, req_unchanged, req_theirs = [], [], []
    for _ in range(a.runs):
        c_ms, u_ms, k_ms, cl_ms, ul_ms, kl_ms, w_ms, wl_ms = [], [], [], [], [], [], [], []
        for _ in range(a.iterations):
            ms, reqs, listing = timed(whole, n, change)
            w_ms.append(ms)
            wl_ms.append(listing)
            req_changed.append(reqs)
            ms, reqs, listing = timed(plugin, n, change)  # right before its unchanged (304) iteration
            c_ms.append(ms)
            cl_ms.append(listing)
            req_changed.append(reqs)
            ms, reqs, listing = timed(plugin, n, nothing)
            u_ms.append(ms)
            ul_ms.append(listing)
            req_unchanged.append(reqs)
            ms, reqs, listing = timed(peer, n, nothing)
            k_ms.append(ms)
            kl_ms.append(listing)
            req_theirs.append(reqs)
        changed.append(statistics.median(c_ms))
        changed_whole.append(statistics.median(w_ms))
        list_whole.append(statistics.median(wl_ms))
        unchanged.append(statistics.median(u_ms))
        theirs.append(statistics.median(k_ms))
        list_changed.append(statistics.median(cl_ms))
        list_unchanged.append(statistics.median(ul_ms))
        list_theirs.append(statistics.median(kl_ms))
        ratio.append(theirs[-1] / changed[-1])

    how = (f"median of {a.iterations} iterations per run; one iteration = non_terminated_nodes({{}}) + "
           f"{NODE_TAGS_PER_NODE}x node_tags + {INTERNAL_IP_PER_NODE}x internal_ip per node (v1 loop)")
    with_target = n == 1000
    iteration_target = {1000: 10.0, 10000: 100.0}.get(n)
    figures = [
        figure(f"plugin.iteration.changed.n{n}", f"plugin: one autoscaler iteration, {n} nodes, listing changed (200)",
               "ms", changed, how + "; a tag changed through the sidecar before each iteration; the plugin asks for "
               "the changes since its listing (GET /v1/nodes?since=)",
               "<=" if iteration_target else None, iteration_target),
        figure(f"plugin.iteration.changed_full.n{n}",
               f"plugin: one autoscaler iteration, {n} nodes, listing changed, full listings only (200)",
               "ms", changed_whole, how + "; as above, the plugin restricted to full listings (a sidecar without ?since=)"),
        figure(f"plugin.listing.changed_full.n{n}",
               f"plugin: non_terminated_nodes alone, {n} nodes, listing changed, full listing (200)",
               "ms", list_whole, "the GET of the whole listing, parsing it and indexing the snapshot"),
        figure(f"plugin.iteration.unchanged.n{n}", f"plugin: one autoscaler iteration, {n} nodes, unchanged (304)",
               "ms", unchanged, how),
        figure(f"plugin.listing.changed.n{n}", f"plugin: non_terminated_nodes alone, {n} nodes, listing changed (200)",
               "ms", list_changed, "the GET of the changes, parsing them and applying them to the snapshot; the rest "
               "of an iteration is the per-node node_tags/internal_ip calls"),
        figure(f"plugin.listing.unchanged.n{n}", f"plugin: non_terminated_nodes alone, {n} nodes, unchanged (304)",
               "ms", list_unchanged, "the conditional GET answered 304"),
        figure(f"kuberay.listing.n{n}", f"KubeRay provider: non_terminated_nodes alone, {n} pods", "ms", list_theirs,
               "GET of the RayCluster and LIST of the pods, parsed"),
        figure(f"plugin.requests.n{n}", f"plugin: HTTP requests per iteration, {n} nodes", "requests",
               [float(max(req_changed + req_unchanged))] * a.runs, "largest count over all iterations",
               "<=" if with_target else None, 1.0 if with_target else None),
        figure(f"kuberay.iteration.n{n}", f"KubeRay provider: one autoscaler iteration, {n} pods", "ms", theirs,
               how + "; Ray's in-tree KubeRay provider against the same (mock) API server and pods"),
        figure(f"kuberay.requests.n{n}", f"KubeRay provider: HTTP requests per iteration, {n} pods", "requests",
               [float(max(req_theirs))] * a.runs, "largest count over all iterations"),
        figure(f"ratio.kuberay_over_plugin.n{n}", f"KubeRay provider time / plugin time (changed), {n} nodes", "ratio",
               ratio, "per run: median KubeRay iteration / median plugin iteration with a changed listing"),
    ]
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"figures": figures}, f, indent=2)
    if a.profile_out:
        write_profiles(a.profile_out, [("plugin, listing changed, full listings only (200)", whole, change),
                                       ("plugin, listing changed (200)", plugin, change),
                                       ("plugin, unchanged (304)", plugin, nothing),
                                       ("KubeRay provider", peer, nothing)], n)
    return 0


def write_profiles(path: str, cases: list, n: int) -> None:
    """cProfile of one iteration per case: the functions with the most own time."""
    import cProfile
    import io
    import pstats

    with open(path, "w", encoding="utf-8") as out:
        for title, provider, before in cases:
            before()
            prof = cProfile.Profile()
            prof.enable()
            iteration(provider)
            prof.disable()
            text = io.StringIO()
            stats = pstats.Stats(prof, stream=text)
            stats.sort_stats("tottime").print_stats(12)
            body = "\n".join(l for l in text.getvalue().splitlines()
                             if l.strip() and not l.startswith("   Ordered by"))
            out.write(f"== {title}, {n} nodes (cProfile of one iteration; times include profiling overhead)\n{body}\n\n")


if __name__ == "__main__":
    sys.exit(main())
