"""Ray autoscaler node provider (``provider: {type: external}``) backed by the ray-federation sidecar.

Ray loads it with ``module: ray_federation.FederatedNodeProvider`` and constructs it as
``FederatedNodeProvider(provider_config, cluster_name)``.

Read path: one snapshot per autoscaler iteration. :meth:`FederatedNodeProvider.non_terminated_nodes`
makes exactly one ``GET /v1/nodes`` (conditional on the last ETag: a 304 keeps the cached snapshot;
with ``since`` the revision held: a changed listing comes as the nodes that changed, applied to the
listing held; a sidecar that refuses ``since`` gets full listings from then on), and every per-node
read (``node_tags``, ``internal_ip``, ``external_ip``, ``is_running``, ``is_terminated``,
``get_node_id``) is answered from that snapshot, as Ray's ``NodeProvider``
contract allows. Only an id the snapshot has never seen costs one more request (a refresh); if it
is still unknown after that, the read fails with :class:`UnknownNodeError` (``is_terminated``
answers True instead). Nodes that disappear between two refreshes are remembered until the next
listing, so a read for an id from the previous listing keeps working (and reports terminated).

Write path: one request per call. Creates carry a ``requestId`` the sidecar uses for idempotency, so
a create retried after a dropped connection creates its workers once.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ray.autoscaler.node_launch_exception import NodeLaunchException
from ray.autoscaler.node_provider import NodeProvider

from ray_federation.client import DEFAULT_TIMEOUT_S, SidecarClient, SidecarError, SidecarResponse

logger = logging.getLogger(__name__)

__all__ = ["FederatedNodeProvider", "UnknownNodeError"]

# Ray's tag keys (ray.autoscaler.tags), spelled out so the wire format is visible here.
TAG_NODE_KIND = "ray-node-type"
TAG_NODE_STATUS = "ray-node-status"
TAG_USER_NODE_TYPE = "ray-user-node-type"
TAG_LAUNCH_REQUEST = "ray-launch-request"

STATUS_UP_TO_DATE = "up-to-date"
DEFAULT_HEAD_NODE_TYPE = "ray.head.default"
DEFAULT_HEAD_NODE_ID = "ray-federation-head"
# What the sidecar accepts as a requestId.
_REQUEST_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._:/+=@-]")


class UnknownNodeError(KeyError):
    """The sidecar does not know this node id, even after a fresh listing."""

    def __init__(self, node_id: str) -> None:
        super().__init__(node_id)
        self.node_id = node_id

    def __str__(self) -> str:
        return (
            f"node {self.node_id!r} is unknown to the ray-federation sidecar "
            "(not in a fresh GET /v1/nodes)"
        )


class _Entry:
    """One node of a snapshot: the sidecar's Node object and what the per-node reads answer, derived once.

    Never edited after it is made (a change makes a new entry); slots and plain attributes because the v1
    autoscaler reads every node 13 times per iteration.
    """

    __slots__ = ("node", "tags", "internal_ip", "external_ip")

    def __init__(self, node: Mapping[str, Any], tags: Dict[str, str]) -> None:
        self.node = node
        self.tags = tags
        self.internal_ip: Optional[str] = node.get("internalIp")
        self.external_ip: Optional[str] = node.get("externalIp")

    @staticmethod
    def of(node: Mapping[str, Any], head_node_type: str) -> "_Entry":
        tags = dict(node.get("tags") or ())
        for k, v in tags.items():
            if type(k) is not str or type(v) is not str:  # the contract says strings; repair, never fail
                tags = {str(k): str(v) for k, v in tags.items()}
                break
        # The sidecar maintains these tags; fall back on the Node's own fields if one is missing,
        # because the v1 autoscaler indexes ray-node-type and ray-node-status without a default.
        if TAG_NODE_KIND not in tags and node.get("kind"):
            tags[TAG_NODE_KIND] = str(node["kind"])
        if TAG_USER_NODE_TYPE not in tags:
            if tags.get(TAG_NODE_KIND) == "head":
                # v1 counts the head by this tag: it launches a head node when none has it.
                tags[TAG_USER_NODE_TYPE] = head_node_type
            elif node.get("nodeType"):
                tags[TAG_USER_NODE_TYPE] = str(node["nodeType"])
        if TAG_NODE_STATUS not in tags and node.get("status"):
            tags[TAG_NODE_STATUS] = str(node["status"])
        return _Entry(node, tags)


@dataclass(frozen=True)
class _Snapshot:
    """An immutable view of ``GET /v1/nodes``; replaced whole, never edited in place."""

    etag: Optional[str] = None
    revision: Optional[str] = None
    nodes: Dict[str, _Entry] = field(default_factory=dict)
    # The sidecar's listing at ``revision`` exactly, without local edits (what its changes apply to).
    listed: Dict[str, _Entry] = field(default_factory=dict)
    # Nodes gone since an earlier refresh: still readable, reported terminated.
    departed: Dict[str, _Entry] = field(default_factory=dict)

    def find(self, node_id: str) -> Optional[_Entry]:
        entry = self.nodes.get(node_id)
        return entry if entry is not None else self.departed.get(node_id)


class FederatedNodeProvider(NodeProvider):
    """Node provider that forwards the Ray autoscaler's calls to the ray-federation sidecar.

    ``provider_config`` keys: ``sidecar_url`` (required, e.g. ``http://127.0.0.1:8765``),
    ``token_file`` (optional bearer-token file, re-read when it changes), ``timeout_s``
    (optional total time per call, default 4 s), ``head_node_type`` (default
    ``ray.head.default``), ``head_ip`` and ``head_node_id``. When the sidecar lists no head node
    and ``head_ip`` is set, the provider reports one itself (id ``head_node_id``, default
    ``ray-federation-head``): autoscaler v1 launches a head node when none is listed and keys the
    head's load by this IP; v2 matches it to the head's ``RAY_CLOUD_INSTANCE_ID``. Both accept
    ``${VAR}`` references to the autoscaler's environment (e.g. ``${POD_IP}``). Thread-safe.
    """

    def __init__(self, provider_config: Dict[str, Any], cluster_name: str) -> None:
        super().__init__(provider_config, cluster_name)
        url = provider_config.get("sidecar_url")
        if not url or not isinstance(url, str):
            raise ValueError(
                "provider.sidecar_url: required (the sidecar's node-provider API, "
                "e.g. http://127.0.0.1:8765)"
            )
        timeout_s = provider_config.get("timeout_s", DEFAULT_TIMEOUT_S)
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or timeout_s <= 0:
            raise ValueError(f"provider.timeout_s: must be a number > 0, got {timeout_s!r}")
        token_file = provider_config.get("token_file") or None
        if token_file is not None and not isinstance(token_file, str):
            raise ValueError(f"provider.token_file: must be a path, got {token_file!r}")
        self._head_ip = _setting(provider_config, "head_ip", None)
        self._head_node_id = _setting(provider_config, "head_node_id", DEFAULT_HEAD_NODE_ID)
        self._head_node_type = _setting(provider_config, "head_node_type", DEFAULT_HEAD_NODE_TYPE)
        self._warned_headless = False
        self._client = SidecarClient(url, token_file=token_file, timeout_s=float(timeout_s))
        self._lock = threading.Lock()  # guards _snapshot
        self._refresh_lock = threading.Lock()  # one refresh at a time, readers never wait on it
        self._snapshot = _Snapshot()
        self._ask_changes = True  # until the sidecar refuses GET /v1/nodes?since= (guarded by _refresh_lock)

    # ------------------------------------------------------------------ reads

    def non_terminated_nodes(self, tag_filters: Dict[str, str]) -> List[str]:
        snapshot = self._refresh(keep_departed=False)
        filters = dict(tag_filters or {})
        if not filters:
            return list(snapshot.nodes)
        return [
            node_id
            for node_id, entry in snapshot.nodes.items()
            if all(entry.tags.get(k) == v for k, v in filters.items())
        ]

    def node_tags(self, node_id: str) -> Dict[str, str]:
        """The node's tags: the snapshot's own dict, built once per node and listing (read it, do not edit it).

        The v1 autoscaler reads tags 8 times per node per iteration and never edits them; a copy per call would
        cost more than the rest of the read.
        """
        return self._entry(node_id).tags

    def internal_ip(self, node_id: str) -> Optional[str]:
        return self._entry(node_id).internal_ip

    def external_ip(self, node_id: str) -> Optional[str]:
        return self._entry(node_id).external_ip

    def is_running(self, node_id: str) -> bool:
        """True when the worker's pod is Running and Ready: the Node's status is ``up-to-date``.

        Autoscaler v2's NodeProviderAdapter reports this as ``CloudInstance.is_running``, which its
        reconciler reads only to decide when to install Ray through node updaters; with
        ``disable_node_updaters: true`` (pods start Ray themselves) it is informational.
        """
        entry, live = self._lookup(node_id)
        return live and entry.node.get("status") == STATUS_UP_TO_DATE

    def is_terminated(self, node_id: str) -> bool:
        try:
            _, live = self._lookup(node_id)
        except UnknownNodeError:
            return True
        return not live

    def get_node_id(self, ip_address: str, use_internal_ip: bool = False) -> str:
        key = "internalIp" if use_internal_ip else "externalIp"
        with self._lock:
            snapshot = self._snapshot
        found = _find_by_ip(snapshot, key, ip_address)
        if found is None:
            found = _find_by_ip(self._refresh(keep_departed=True), key, ip_address)
        if found is None:
            raise ValueError(
                f"ip {ip_address} not found: no node of the ray-federation sidecar has "
                f"{key} {ip_address}"
            )
        return found

    # ------------------------------------------------------------------ writes

    def create_node(
        self, node_config: Dict[str, Any], tags: Dict[str, str], count: int
    ) -> Optional[Dict[str, Any]]:
        return self.create_node_with_resources_and_labels(node_config, tags, count, {}, {})

    def create_node_with_resources_and_labels(
        self,
        node_config: Dict[str, Any],
        tags: Dict[str, str],
        count: int,
        resources: Dict[str, float],
        labels: Dict[str, str],
    ) -> Optional[Dict[str, Any]]:
        """One ``POST /v1/nodes``; returns ``{id: {"requestId", "nodeType"}}`` for the created.

        Raises NodeLaunchException (category = the sidecar's ``rejected.reason``) when part of the
        request was rejected, after the created workers are recorded by the sidecar, so the
        autoscaler backs off that node type and logs why. Sidecar errors are raised as
        NodeLaunchException too (category = the error code).
        """
        node_type = tags.get(TAG_USER_NODE_TYPE)
        if not node_type:
            raise ValueError(
                f"tags.{TAG_USER_NODE_TYPE}: required to pick the pool, got tags {dict(tags)}"
            )
        request_id = _request_id(tags.get(TAG_LAUNCH_REQUEST))
        body = {
            "nodeType": node_type,
            "count": int(count),
            "requestId": request_id,
            "tags": dict(tags),
            "resources": dict(resources or {}),
            "labels": dict(labels or {}),
            "nodeConfig": dict(node_config or {}),
        }
        try:
            answer = self._client.create_nodes(body)
        except SidecarError as e:
            raise NodeLaunchException(
                category=e.code[:20],
                description=f"creating {count} {node_type} worker(s) (request {request_id}): {e}",
                src_exc_info=sys.exc_info(),
            ) from e
        finally:
            # The listing has (or may have) changed: the next GET /v1/nodes is unconditional.
            self._invalidate()

        created = [str(i) for i in (answer or {}).get("created") or []]
        rejected = (answer or {}).get("rejected") or {}
        rejected_count = int(rejected.get("count") or 0)
        logger.info(
            "ray-federation: request %s for %d %s worker(s): created %d %s, rejected %d",
            request_id, count, node_type, len(created),
            created if len(created) <= 10 else created[:10] + ["..."], rejected_count,
        )
        if rejected_count > 0:
            reason = str(rejected.get("reason") or "rejected")
            message = str(rejected.get("message") or "rejected by the sidecar")
            raise NodeLaunchException(
                category=reason,
                description=(
                    f"{message} ({len(created)} of {count} {node_type} worker(s) created, "
                    f"{rejected_count} rejected; request {request_id})"
                ),
                src_exc_info=None,
            )
        return {i: {"requestId": request_id, "nodeType": node_type} for i in created}

    def terminate_nodes(self, node_ids: List[str]) -> Optional[Dict[str, Any]]:
        """One ``POST /v1/nodes:terminate``; returns ``{id: {"terminating": bool}}``.

        The ids leave the cached listing at once (Ray expects a terminated node to be terminated
        immediately); their last known tags and IPs stay readable until the next listing.
        """
        ids = [str(i) for i in node_ids]
        if not ids:
            return {}
        answer = self._client.terminate_nodes(ids) or {}
        terminating = [str(i) for i in answer.get("terminating") or []]
        unknown = [str(i) for i in answer.get("unknown") or []]
        if unknown:
            logger.info("ray-federation: terminate: already gone %s", unknown)
        self._mark_departed(ids)
        result: Dict[str, Any] = {i: {"terminating": True} for i in terminating}
        result.update({i: {"terminating": False} for i in unknown})
        return result

    def terminate_node(self, node_id: str) -> Optional[Dict[str, Any]]:
        return self.terminate_nodes([node_id])

    def set_node_tags(self, node_id: str, tags: Dict[str, str]) -> None:
        node = self._client.set_node_tags(node_id, tags)
        with self._lock:
            old = self._snapshot
            if isinstance(node, dict) and node.get("id") == node_id:
                entry = _Entry.of(node, self._head_node_type)
            else:
                base = old.find(node_id)
                if base is None:
                    return
                merged = dict(base.node)
                merged["tags"] = {**(base.node.get("tags") or {}), **tags}
                entry = _Entry.of(merged, self._head_node_type)
            if node_id in old.nodes:
                self._snapshot = _replace(old, nodes={**old.nodes, node_id: entry})
            elif node_id in old.departed:
                self._snapshot = _replace(old, departed={**old.departed, node_id: entry})

    # ------------------------------------------------------------------ other hooks

    def is_readonly(self) -> bool:
        return False

    def safe_to_scale(self) -> bool:
        return True

    def post_process(self) -> None:
        return None

    # ------------------------------------------------------------------ snapshot

    def _entry(self, node_id: str) -> _Entry:
        # The snapshot is replaced whole, never edited: reading the attribute needs no lock. Listed nodes are
        # answered here; departed and unknown ones go the long way.
        entry = self._snapshot.nodes.get(node_id)
        return entry if entry is not None else self._lookup(node_id)[0]

    def _lookup(self, node_id: str) -> Tuple[_Entry, bool]:
        """The node's entry and whether it is live (listed) rather than departed.

        Served from the snapshot; an id it has never seen costs one refresh, then
        UnknownNodeError.
        """
        with self._lock:
            snapshot = self._snapshot
        if snapshot.find(node_id) is None:
            snapshot = self._refresh(keep_departed=True)
        entry = snapshot.nodes.get(node_id)
        if entry is not None:
            return entry, True
        entry = snapshot.departed.get(node_id)
        if entry is not None:
            return entry, False
        raise UnknownNodeError(node_id)

    def _refresh(self, keep_departed: bool) -> _Snapshot:
        """One conditional ``GET /v1/nodes``; returns the snapshot now in force.

        ``keep_departed``: a refresh for an unknown id keeps the nodes remembered as departed
        (callers may still hold ids of the previous listing); a new listing starts afresh.
        """
        with self._refresh_lock:
            with self._lock:
                old = self._snapshot
            response = self._list(old)
            if response.not_modified:
                with self._lock:
                    return self._snapshot
            body = response.body if isinstance(response.body, dict) else None
            if body is None or not isinstance(body.get("nodes"), list):
                raise SidecarError(
                    response.status,
                    "bad_response",
                    "GET /v1/nodes: expected {\"revision\", \"nodes\": [...]}",
                )
            removed: Optional[List[str]] = None
            if "since" in body:  # the changes since old.revision
                removed = body.get("removed")
                if body["since"] != old.revision or not isinstance(removed, list):
                    raise SidecarError(
                        response.status,
                        "bad_response",
                        f"GET /v1/nodes?since={old.revision}: expected the changes since that "
                        f"revision with \"removed\": [...], got since {body['since']!r}",
                    )
                listed = dict(old.listed)
                for node_id in removed:
                    listed.pop(str(node_id), None)
            else:
                listed = {}
            for node in body["nodes"]:
                if not isinstance(node, dict) or not node.get("id"):
                    raise SidecarError(
                        response.status, "bad_response", f"GET /v1/nodes: node without id: {node!r}"
                    )
                listed[str(node["id"])] = _Entry.of(node, self._head_node_type)
            nodes = self._with_head(listed)
            with self._lock:
                current = self._snapshot  # may hold local changes made during the request
                if removed is None:
                    gone = {i: e for i, e in current.nodes.items() if i not in nodes}
                else:
                    # Local changes only drop or replace listed nodes, so only the removed ids and
                    # a head this provider reported can have left.
                    candidates = [str(i) for i in removed] + [self._head_node_id]
                    gone = {i: current.nodes[i] for i in candidates if i in current.nodes and i not in nodes}
                if keep_departed:
                    departed = {i: e for i, e in current.departed.items() if i not in nodes}
                    departed.update(gone)
                else:
                    departed = gone
                revision = body.get("revision")
                self._snapshot = _Snapshot(
                    etag=response.etag,
                    revision=None if revision is None else str(revision),
                    nodes=nodes,
                    listed=listed,
                    departed=departed,
                )
                return self._snapshot

    def _list(self, old: _Snapshot) -> SidecarResponse:
        """``GET /v1/nodes``, asking for the changes since the listing held when the sidecar offers them."""
        if old.revision is None or not self._ask_changes:
            return self._client.list_nodes(etag=old.etag)
        try:
            return self._client.list_nodes(etag=old.etag, since=old.revision)
        except SidecarError as e:
            if e.field != "since" or e.status not in (400, 410):
                raise
            if e.status == 410:
                # The sidecar no longer holds that revision (it restarted, or this provider fell far
                # behind): list in full once, and ask for changes since the new revision next time.
                return self._client.list_nodes(etag=None)
        # A sidecar from before GET /v1/nodes?since= refuses the parameter: full listings it is.
        self._ask_changes = False
        logger.info("ray-federation: the sidecar does not list changes (GET /v1/nodes?since=); using full listings")
        return self._client.list_nodes(etag=old.etag)

    def _with_head(self, nodes: Dict[str, _Entry]) -> Dict[str, _Entry]:
        """The listing, with a head node added from ``head_ip`` when the sidecar lists none."""
        if any(e.tags.get(TAG_NODE_KIND) == "head" for e in nodes.values()):
            return nodes
        if self._head_ip is None:
            if not self._warned_headless:
                self._warned_headless = True
                logger.warning(
                    "ray-federation: the sidecar lists no head node and provider.head_ip is not "
                    "set; autoscaler v1 will try to launch a %s node",
                    self._head_node_type,
                )
            return nodes
        head = {
            "id": self._head_node_id,
            "kind": "head",
            "nodeType": self._head_node_type,
            "status": STATUS_UP_TO_DATE,
            "internalIp": self._head_ip,
            "externalIp": None,
            "tags": {
                TAG_NODE_KIND: "head",
                TAG_USER_NODE_TYPE: self._head_node_type,
                TAG_NODE_STATUS: STATUS_UP_TO_DATE,
                "ray-node-name": f"ray-{self.cluster_name}-head",
            },
        }
        return {self._head_node_id: _Entry.of(head, self._head_node_type), **nodes}

    def _invalidate(self) -> None:
        with self._lock:
            self._snapshot = _replace(self._snapshot, etag=None)

    def _mark_departed(self, ids: List[str]) -> None:
        with self._lock:
            old = self._snapshot
            moving = {i: old.nodes[i] for i in ids if i in old.nodes}
            if not moving:
                self._snapshot = _replace(old, etag=None)
                return
            self._snapshot = _replace(
                old,
                etag=None,
                nodes={i: e for i, e in old.nodes.items() if i not in moving},
                departed={**old.departed, **moving},
            )


def _setting(provider_config: Mapping[str, Any], key: str, default: Optional[str]) -> Optional[str]:
    """An optional string from the provider block, with ``${VAR}`` taken from the environment."""
    value = provider_config.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise ValueError(f"provider.{key}: must be a string, got {value!r}")
    expanded = os.path.expandvars(value)
    if "$" in expanded:
        raise ValueError(
            f"provider.{key}: {value!r} refers to an environment variable the autoscaler "
            "process does not have"
        )
    return expanded


def _replace(snapshot: _Snapshot, **changes: Any) -> _Snapshot:
    values = {
        "etag": snapshot.etag,
        "revision": snapshot.revision,
        "nodes": snapshot.nodes,
        "listed": snapshot.listed,
        "departed": snapshot.departed,
    }
    values.update(changes)
    return _Snapshot(**values)


def _find_by_ip(snapshot: _Snapshot, key: str, ip: str) -> Optional[str]:
    for node_id, entry in snapshot.nodes.items():
        if entry.node.get(key) == ip:
            return node_id
    return None


def _request_id(launch_request: Optional[str]) -> str:
    """A request id unique to this create call, derived from Ray's launch request when present.

    Autoscaler v2 sends one ``ray-launch-request`` for every batch of a launch (batches of 5, and
    again when it re-queues failed instances), so the launch request alone would make the sidecar
    answer later batches as replays of the first. The call's own retries reuse the id returned here.
    """
    if not launch_request:
        return str(uuid.uuid4())
    prefix = _REQUEST_ID_UNSAFE.sub("-", launch_request)[:200]
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
