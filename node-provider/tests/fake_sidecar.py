"""An in-process stand-in for the sidecar's node-provider API, for plugin tests.

Follows the contract: bearer token (401), one error shape, 400/404/409/413, ETag + 304 on
GET /v1/nodes, its changes since an answered revision (``?since=``; 410 naming ``since`` for a revision
it no longer holds; or, with ``offers_changes = False``, a 400 naming ``since`` as a sidecar from
before that extension answers), requestId replay (same body: the first answer with 200, creates nothing; different
body: 409). It counts requests and connections so tests can check the plugin's call budget, and
can drop the connection after doing the work, to test retries.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

MAX_BODY = 1024 * 1024
LISTINGS_HELD = 16
REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,253}")
CREATE_FIELDS = {"nodeType", "count", "requestId", "tags", "resources", "labels", "nodeConfig"}


@dataclass(frozen=True)
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    headers: Dict[str, str]
    body: Any
    status: int
    query: str = ""


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class FakeSidecar:
    """State and behaviour; ``start()`` serves it on 127.0.0.1 on a free port."""

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token
        self.lock = threading.RLock()
        self.nodes: Dict[str, Dict[str, Any]] = {}
        self.revision = 1
        self.node_types: Dict[str, Dict[str, Any]] = {
            "cpu-small": {
                "resources": {"CPU": 2, "memory": 4 * 1024**3},
                "labels": {"ray-federation.io/virtual-cluster": "vc-batch"},
                "min_workers": 0,
                "max_workers": 50,
                "node_config": {},
            },
            "gpu-l4": {
                "resources": {"CPU": 8, "GPU": 1, "memory": 32 * 1024**3, "pool-gpu-l4": 1},
                "labels": {"accelerator": "l4"},
                "min_workers": 0,
                "max_workers": 200,
                "node_config": {},
            },
        }
        # GET /v1/clusters and GET /v1/pools answer these documents as they are (tests edit them).
        self.clusters: List[Dict[str, Any]] = [
            {
                "name": "aws-use1", "cloud": "aws", "region": "us-east-1", "zone": "us-east-1a",
                "state": "healthy", "stateReason": None, "stateSince": "2026-12-04T16:00:00Z",
                "breaker": "closed", "breakerScope": "member:aws-use1", "breakerSince": "2026-12-04T16:00:00Z",
                "breakerReason": None,
                "capacity": {"CPU": "64", "memory": "256Gi"}, "allocated": {"CPU": "12500m", "memory": "48Gi"},
                "nodes": 6, "cordoned": False, "kubeNodes": 4, "cordonedKubeNodes": 0,
                "priority": 10, "elastic": False, "backoffs": [],
            },
            {
                "name": "gcp-usc1", "cloud": "gcp", "region": "us-central1", "zone": "us-central1-a",
                "state": "unreachable", "stateReason": "GET /version: connection refused",
                "stateSince": "2026-12-04T16:58:00Z",
                "breaker": "open", "breakerScope": "cloud:gcp", "breakerSince": "2026-12-04T16:58:30Z",
                "breakerReason": "5 of 10 calls failed, last: connection refused",
                "capacity": None, "allocated": None,
                "nodes": 2, "cordoned": False, "kubeNodes": 0, "cordonedKubeNodes": 0,
                "priority": 5, "elastic": True,
                "backoffs": [
                    {"pool": "gpu-l4", "until": "2026-12-04T17:10:00Z", "pauseSeconds": 120, "failures": 2,
                     "reason": "worker evicted"},
                ],
            },
        ]
        self.pools: List[Dict[str, Any]] = [
            {
                "name": "cpu-small", "virtualCluster": "vc-batch", "rayNodeType": "cpu-small",
                "nodes": 6, "pending": 1, "minWorkers": 0, "maxWorkers": 50, "strategy": "spread",
                "resources": {"CPU": "2", "memory": "4Gi"}, "byCluster": {"aws-use1": 6},
            },
            {
                "name": "gpu-l4", "virtualCluster": "vc-gpu", "rayNodeType": "gpu-l4",
                "nodes": 2, "pending": 0, "minWorkers": 0, "maxWorkers": 200, "strategy": "priority",
                "resources": {"CPU": "8", "GPU": "1", "memory": "32Gi"}, "byCluster": {"gcp-usc1": 2},
            },
        ]
        self.config: Dict[str, Any] = {"generation": 1, "since": "2026-01-01T00:00:00Z", "lastReloadAt": None,
                                       "lastReload": None, "problems": []}
        self.virtual_clusters: List[Dict[str, Any]] = [
            {"name": "vc-batch", "quota": {"CPU": "16", "memory": "64Gi"}, "used": {"CPU": "12", "memory": "24Gi"}},
            {"name": "vc-gpu", "quota": None, "used": {"CPU": "16", "GPU": "2", "memory": "64Gi"}},
        ]
        # GET /v1/events answers these, newest first, filtered and limited as the sidecar does
        self.events: List[Dict[str, Any]] = [
            {"time": "2026-12-04T17:04:40Z", "kind": "replaced", "pool": "gpu-l4", "nodeType": "gpu-l4",
             "from": "aws-use1", "to": "gcp-usc1", "nodeIds": ["rf-7"], "count": 1,
             "reason": "re-placed from aws-use1: unschedulable: 0/4 nodes are available"},
            {"time": "2026-12-04T17:04:10Z", "kind": "rejected", "pool": "cpu-small", "nodeType": "cpu-small",
             "from": None, "to": None, "nodeIds": [], "count": 3,
             "reason": "quota: virtual cluster vc-batch quota CPU=16 with 16 in use"},
            {"time": "2026-12-04T17:03:00Z", "kind": "placed", "pool": "cpu-small", "nodeType": "cpu-small",
             "from": None, "to": "aws-use1", "nodeIds": ["rf-1", "rf-2"], "count": 2,
             "reason": "spread: 2 of 2 requested placed (aws-use1 2)"},
            {"time": "2026-12-04T17:01:00Z", "kind": "terminated", "pool": "cpu-small", "nodeType": "cpu-small",
             "from": "aws-use1", "to": None, "nodeIds": ["rf-0"], "count": 1, "reason": "terminated at Ray's request"},
        ]
        # node type -> (how many more may be created, reason, message) for partial rejections
        self.limits: Dict[str, Tuple[int, str, str]] = {}
        self.requests: List[Seen] = []
        self.connections = 0
        self._ids = itertools.count(1)
        self._replays: Dict[str, Tuple[Dict[str, Any], Dict[str, Any]]] = {}
        self._drop_after: List[Tuple[str, str]] = []  # (method, path) whose answer is dropped once
        self._delay_s = 0.0
        self.not_ready_answers = 0  # answer this many /v1 calls with 503 + Retry-After (a restarting sidecar)
        self.offers_changes = True  # False: refuse ?since= as a sidecar without changes listings does
        # revision -> {id: the node's JSON} of the listings answered, the last LISTINGS_HELD of them
        self._answered: Dict[str, Dict[str, str]] = {}
        self._open_sockets: List[socket.socket] = []
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FakeSidecar":
        fake = self

        class Handler(_Handler):
            sidecar = fake

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-sidecar", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self.sever_connections()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ test controls

    def add_node(
        self,
        node_type: str = "cpu-small",
        kind: str = "worker",
        status: str = "up-to-date",
        ip: Optional[str] = None,
        tags: Optional[Dict[str, str]] = None,
    ) -> str:
        with self.lock:
            node_id = f"rf-{next(self._ids):05d}"
            all_tags = {
                "ray-node-type": kind,
                "ray-user-node-type": node_type,
                "ray-node-status": status,
            }
            all_tags.update(tags or {})
            self.nodes[node_id] = {
                "id": node_id,
                "kind": kind,
                "nodeType": node_type,
                "status": status,
                "internalIp": ip,
                "externalIp": None,
                "tags": all_tags,
                "cluster": "member-a",
                "pool": node_type,
                "virtualCluster": "vc-batch",
                "stale": False,
            }
            self.revision += 1
            return node_id

    def set_status(self, node_id: str, status: str, ip: Optional[str] = None) -> None:
        with self.lock:
            node = self.nodes[node_id]
            node["status"] = status
            node["tags"]["ray-node-status"] = status
            if ip is not None:
                node["internalIp"] = ip
            self.revision += 1

    def remove(self, node_id: str) -> None:
        with self.lock:
            del self.nodes[node_id]
            self.revision += 1

    def drop_answer_once(self, method: str, path: str) -> None:
        """Do the work of the next matching request, then close the connection unanswered."""
        with self.lock:
            self._drop_after.append((method, path))

    def delay_answers(self, seconds: float) -> None:
        self._delay_s = seconds

    def sever_connections(self) -> None:
        """Close every open client connection from the server side (an idle keep-alive drop)."""
        with self.lock:
            sockets, self._open_sockets = self._open_sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def forget_listings(self) -> None:
        """Forget every listing answered (as a restart does, or enough newer ones): ?since= gets 410."""
        with self.lock:
            self._answered.clear()

    def seen(self, method: Optional[str] = None, path: Optional[str] = None) -> List[Seen]:
        with self.lock:
            return [
                r for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()
            self.connections = 0

    # ------------------------------------------------------------------ the API

    def handle(self, method: str, target: str, headers: Dict[str, str], raw: bytes) -> Tuple[int, Dict[str, str], Any]:
        split = urllib.parse.urlsplit(target)
        path = split.path
        if len(raw) > MAX_BODY:
            raise ApiError(413, "too_large", "request body over 1 MiB")
        if self.token is not None and path.startswith("/v1"):
            if headers.get("authorization") != f"Bearer {self.token}":
                raise ApiError(401, "unauthorized", "missing or invalid bearer token")
        if self.not_ready_answers > 0 and path.startswith("/v1"):
            self.not_ready_answers -= 1
            return 503, {"Retry-After": "0.1"}, {"error": {"code": "not_ready", "message": "not ready: member m1 has not synced yet"}}
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "invalid", "body is not JSON") from None
        with self.lock:
            if method == "GET" and path == "/v1/nodes":
                return self._list(split.query, headers.get("if-none-match"))
            if method == "POST" and path == "/v1/nodes":
                return self._create(body)
            if method == "POST" and path == "/v1/nodes:terminate":
                return self._terminate(body)
            if method == "PUT" and path.startswith("/v1/nodes/") and path.endswith("/tags"):
                return self._set_tags(urllib.parse.unquote(path[len("/v1/nodes/"):-len("/tags")]), body)
            if method == "GET" and path == "/v1/node-types":
                return 200, {}, {"availableNodeTypes": self.node_types}
            if method == "GET" and path == "/v1/clusters":
                return 200, {}, {"clusters": self.clusters, "config": self.config}
            if method == "GET" and path == "/v1/pools":
                return 200, {}, {"pools": self.pools, "virtualClusters": self.virtual_clusters}
            if method == "GET" and path == "/v1/events":
                return self._events(split.query)
        raise ApiError(404, "not_found", f"no route {method} {path}")

    def _etag(self) -> str:
        return f'"r{self.revision}"'

    def _list(self, query: str, if_none_match: Optional[str]):
        etag = self._etag()
        params = urllib.parse.parse_qsl(query, keep_blank_values=True)
        since = next((v for k, v in params if k == "since"), None)
        if since is not None and not self.offers_changes:
            raise ApiError(400, "invalid", "unknown query parameter 'since'; filter with tag.<key>=<value>", "since")
        filters = {k[len("tag."):]: v for k, v in params if k.startswith("tag.")}
        if not filters and if_none_match == etag:
            return 304, {"ETag": etag}, None
        nodes = [
            n for n in self.nodes.values()
            if all(n["tags"].get(k) == v for k, v in filters.items())
        ]
        revision = f"r{self.revision}"
        if filters:
            return 200, {"ETag": etag}, {"revision": revision, "nodes": nodes}
        now = {n["id"]: json.dumps(n, sort_keys=True) for n in nodes}
        then = self._answered.get(since) if since is not None else None
        if since is not None and then is None:
            raise ApiError(410, "gone", f"revision '{since}' is no longer held; list without since", "since")
        self._answered[revision] = now
        while len(self._answered) > LISTINGS_HELD:
            del self._answered[next(iter(self._answered))]
        if then is None:
            return 200, {"ETag": etag}, {"revision": revision, "nodes": nodes}
        return 200, {"ETag": etag}, {
            "revision": revision,
            "since": since,
            "nodes": [n for n in nodes if then.get(n["id"]) != now[n["id"]]],
            "removed": [i for i in then if i not in now],
        }

    def _events(self, query: str):
        params = dict(urllib.parse.parse_qsl(query))
        for name in params:
            if name not in ("pool", "member", "kind", "limit"):
                raise ApiError(400, "invalid", f"unknown query parameter '{name}'", name)
        limit = params.get("limit", "100")
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            raise ApiError(400, "invalid", f"limit: must be between 1 and 1000, got {limit}", "limit")
        events = [
            e for e in self.events
            if params.get("pool") in (None, e["pool"])
            and params.get("kind") in (None, e["kind"])
            and params.get("member") in (None, e["from"], e["to"])
        ]
        return 200, {}, {"events": events[: int(limit)]}

    def _create(self, body: Any):
        if not isinstance(body, dict):
            raise ApiError(400, "invalid", "expected an object")
        unknown = sorted(set(body) - CREATE_FIELDS)
        if unknown:
            raise ApiError(400, "invalid", f"unknown field {unknown[0]}", unknown[0])
        request_id = body.get("requestId")
        if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
            raise ApiError(400, "invalid", "requestId must be 1-253 characters of [A-Za-z0-9._:/+=@-]", "requestId")
        if request_id in self._replays:
            first_body, first_answer = self._replays[request_id]
            if first_body != body:
                raise ApiError(409, "conflict", f"requestId {request_id} was used with another body", "requestId")
            return 200, {}, first_answer
        node_type = body.get("nodeType")
        if node_type not in self.node_types:
            raise ApiError(400, "invalid", f"nodeType: unknown node type {node_type!r}", "nodeType")
        count = body.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ApiError(400, "invalid", "count: must be an integer >= 1", "count")
        allowed, reason, message = self.limits.get(node_type, (count, "", ""))
        n = min(count, allowed)
        created = []
        for _ in range(n):
            node_id = self.add_node(node_type, status="pending: scheduling", tags=body.get("tags") or {})
            self.nodes[node_id]["tags"]["ray-node-status"] = "pending: scheduling"
            created.append(node_id)
        if node_type in self.limits:
            self.limits[node_type] = (allowed - n, reason, message)
        rejected = {"count": count - n, "reason": reason if count > n else None, "message": message if count > n else None}
        answer = {"requestId": request_id, "created": created, "rejected": rejected}
        self._replays[request_id] = (body, answer)
        return 201, {}, answer

    def _terminate(self, body: Any):
        if not isinstance(body, dict) or not isinstance(body.get("ids"), list):
            raise ApiError(400, "invalid", "ids: required list", "ids")
        terminating, unknown = [], []
        for node_id in body["ids"]:
            if node_id in self.nodes:
                del self.nodes[node_id]
                terminating.append(node_id)
            else:
                unknown.append(node_id)
        if terminating:
            self.revision += 1
        return 200, {}, {"terminating": terminating, "unknown": unknown}

    def _set_tags(self, node_id: str, body: Any):
        if not isinstance(body, dict) or not isinstance(body.get("tags"), dict):
            raise ApiError(400, "invalid", "tags: required object", "tags")
        node = self.nodes.get(node_id)
        if node is None:
            raise ApiError(404, "not_found", f"node {node_id} not found")
        node["tags"].update(body["tags"])
        self.revision += 1
        return 200, {}, node


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    sidecar: FakeSidecar

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.sidecar.lock:
            self.sidecar.connections += 1
            self.sidecar._open_sockets.append(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        fake = self.sidecar
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, extra, body = fake.handle(self.command, self.path, headers, raw)
        except ApiError as e:
            error: Dict[str, Any] = {"code": e.code, "message": e.message}
            if e.field:
                error["field"] = e.field
            status, extra, body = e.status, {}, {"error": error}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        with fake.lock:
            target = urllib.parse.urlsplit(self.path)
            fake.requests.append(Seen(self.command, target.path, headers, parsed, status, target.query))
            key = (self.command, target.path)
            drop = key in fake._drop_after
            if drop:
                fake._drop_after.remove(key)
        if drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fake._delay_s:
            threading.Event().wait(fake._delay_s)
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 304 and data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve
