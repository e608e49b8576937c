"""HTTP client for the ray-federation sidecar's node-provider API.

Standard library only. One persistent HTTP/1.1 connection per client, guarded by a lock, is reused
for every call (the sidecar listens on loopback next to the autoscaler, so a single keep-alive
connection is both the cheapest and the simplest choice). A failed connection is dropped and
re-opened on the next attempt.

Every call has a total deadline (``timeout_s``, 4 s by default: well inside the autoscaler's 5 s
tick). Calls that are safe to repeat are retried after connection failures with a short jittered
backoff while the deadline allows, and so are 503 answers (sidecar not ready yet, or a create still in
progress), honouring Retry-After; other HTTP error answers are never retried, they raise
:class:`SidecarError` with the sidecar's error code, message and field.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

__all__ = ["SidecarClient", "SidecarError", "SidecarResponse", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 4.0
"""Total time budget of one call, retries included."""

_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 0.5
_USER_AGENT = "ray-federation-node-provider/0.1"


class SidecarError(Exception):
    """A call to the sidecar failed.

    ``status`` is the HTTP status, or ``None`` when no answer was received (connection refused,
    reset, timed out). ``code`` is the sidecar's error code (``invalid``, ``quota``, ...) or one
    of the client's own: ``unreachable``, ``timeout``, ``token_unreadable``, ``bad_response``.
    ``field`` names the request field at fault when the sidecar said so.
    """

    def __init__(
        self,
        status: Optional[int],
        code: str,
        message: str,
        field: Optional[str] = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        where = f" (field {field})" if field else ""
        prefix = f"HTTP {status} " if status is not None else ""
        super().__init__(f"ray-federation sidecar: {prefix}{code}: {message}{where}")

    def __reduce__(self):
        return (self.__class__, (self.status, self.code, self.message, self.field))


@dataclass(frozen=True)
class SidecarResponse:
    """A successful answer: status 2xx or 304, the decoded JSON body (None for 304) and ETag."""

    status: int
    body: Any
    etag: Optional[str]

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _TokenSource:
    """The bearer token: fixed, or read from a file and re-read whenever the file changes.

    Kubernetes rotates mounted Secrets by swapping a symlink, so the file is ``stat``-ed (following
    links) on every call and re-read when its inode, size or modification time differ.
    """

    def __init__(self, token: Optional[str], token_file: Optional[str]) -> None:
        self._fixed = token.strip() if token else None
        self._file = token_file
        self._lock = threading.Lock()
        self._stamp: Optional[Tuple[int, int, int]] = None
        self._cached: Optional[str] = None

    def current(self, force_reload: bool = False) -> Optional[str]:
        if self._file is None:
            return self._fixed
        try:
            st = os.stat(self._file)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            with self._lock:
                if force_reload or stamp != self._stamp:
                    with open(self._file, encoding="utf-8") as f:
                        token = f.read().strip()
                    if not token:
                        raise SidecarError(
                            None,
                            "token_unreadable",
                            f"token file {self._file} is empty",
                            field="token_file",
                        )
                    self._cached, self._stamp = token, stamp
                return self._cached
        except OSError as e:
            raise SidecarError(
                None,
                "token_unreadable",
                f"cannot read token file {self._file}: {e.strerror or e}",
                field="token_file",
            ) from None


class SidecarClient:
    """Client for the sidecar's ``/v1`` node-provider API.

    Thread-safe: calls from several threads share one keep-alive connection, one at a time.
    """

    def __init__(
        self,
        url: str,
        token: Optional[str] = None,
        token_file: Optional[str] = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        timeout: Optional[float] = None,
    ) -> None:
        if timeout is not None:
            timeout_s = timeout
        parsed = urllib.parse.urlsplit(url or "")
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(
                f"sidecar_url: expected http://host:port, got {url!r}"
            )
        if not timeout_s or timeout_s <= 0:
            raise ValueError(f"timeout_s: must be > 0, got {timeout_s!r}")
        self.url = url
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._base_path = parsed.path.rstrip("/")
        self._timeout_s = float(timeout_s)
        self._token = _TokenSource(token, token_file)
        self._lock = threading.Lock()
        self._conn: Optional[http.client.HTTPConnection] = None

    @property
    def timeout_s(self) -> float:
        return self._timeout_s

    # ------------------------------------------------------------------ API calls

    def list_nodes(
        self,
        etag: Optional[str] = None,
        tag_filters: Optional[Mapping[str, str]] = None,
        since: Optional[str] = None,
    ) -> SidecarResponse:
        """``GET /v1/nodes``; with ``etag`` a 304 answer means the caller's copy is current.

        With ``since`` (the ``revision`` of a listing the caller holds) the sidecar answers only the
        changes since (``{"revision", "since", "nodes", "removed"}``), or the full listing (no
        ``since`` field) when it no longer holds that revision.
        """
        params = [(f"tag.{k}", v) for k, v in sorted((tag_filters or {}).items())]
        if since is not None:
            params.append(("since", since))
        query = "?" + urllib.parse.urlencode(params) if params else ""
        headers = {"If-None-Match": etag} if etag else None
        return self.request("GET", "/v1/nodes" + query, headers=headers)

    def create_nodes(self, body: Mapping[str, Any]) -> Dict[str, Any]:
        """``POST /v1/nodes``; safe to retry because ``requestId`` makes it idempotent."""
        if not body.get("requestId"):
            raise ValueError("requestId: required so that a retried create is not a second create")
        return self.request("POST", "/v1/nodes", body, idempotent=True).body

    def terminate_nodes(self, ids: Iterable[str]) -> Dict[str, Any]:
        """``POST /v1/nodes:terminate``; terminating twice is harmless, so it is retried too."""
        return self.request(
            "POST", "/v1/nodes:terminate", {"ids": list(ids)}, idempotent=True
        ).body

    def set_node_tags(self, node_id: str, tags: Mapping[str, str]) -> Dict[str, Any]:
        """``PUT /v1/nodes/{id}/tags`` (merged); returns the updated Node."""
        path = "/v1/nodes/" + urllib.parse.quote(node_id, safe="") + "/tags"
        return self.request("PUT", path, {"tags": dict(tags)}).body

    def node_types(self) -> Dict[str, Any]:
        """``GET /v1/node-types``: ``{"availableNodeTypes": {...}}``."""
        return self.request("GET", "/v1/node-types").body

    def clusters(self) -> Dict[str, Any]:
        return self.request("GET", "/v1/clusters").body

    def pools(self) -> Dict[str, Any]:
        return self.request("GET", "/v1/pools").body

    def events(self, limit: Optional[int] = None, **filters: Optional[str]) -> Dict[str, Any]:
        """``GET /v1/events``: the latest placement decisions, newest first.

        ``filters`` are ``pool``, ``member`` and ``kind`` (``None`` or absent: any).
        """
        params = [(k, v) for k, v in sorted(filters.items()) if v is not None]
        if limit is not None:
            params.append(("limit", str(limit)))
        query = "?" + urllib.parse.urlencode(params) if params else ""
        return self.request("GET", "/v1/events" + query).body

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    # ------------------------------------------------------------------ transport

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        idempotent: Optional[bool] = None,
    ) -> SidecarResponse:
        """One call with the client's deadline; see the module docstring for the retry rules.

        ``idempotent`` defaults to True for GET, HEAD, PUT and DELETE.
        """
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE")
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        deadline = time.monotonic() + self._timeout_s
        attempt = 0
        token_reloaded = False
        while True:
            attempt += 1
            token = self._token.current()
            try:
                status, resp_headers, data = self._exchange(
                    method, path, payload, headers, token, deadline
                )
            except _ConnectionFailure as failure:
                backoff = _backoff(attempt)
                if (
                    idempotent
                    and failure.retryable
                    and time.monotonic() + backoff < deadline - 0.05
                ):
                    time.sleep(backoff)
                    continue
                raise failure.as_error(method, path, attempt) from None
            if status == 401 and self._token_may_have_rotated(token, token_reloaded):
                token_reloaded = True
                continue
            if status == 503 and idempotent:
                # Not ready yet (start-up, members syncing) or a create still in progress: Ray's v1
                # autoscaler aborts after 5 failed iterations in total, so wait within the deadline.
                pause = _retry_after(resp_headers, _backoff(attempt))
                if time.monotonic() + pause < deadline - 0.05:
                    time.sleep(pause)
                    continue
            return self._decode(method, path, status, resp_headers, data)

    def _token_may_have_rotated(self, sent: Optional[str], already_reloaded: bool) -> bool:
        """After a 401, re-read the token file once: the sidecar may have seen a rotation first."""
        if already_reloaded:
            return False
        try:
            return self._token.current(force_reload=True) not in (None, sent)
        except SidecarError:
            return False

    def _exchange(
        self,
        method: str,
        path: str,
        payload: Optional[bytes],
        extra_headers: Optional[Mapping[str, str]],
        token: Optional[str],
        deadline: float,
    ) -> Tuple[int, http.client.HTTPMessage, bytes]:
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        if extra_headers:
            headers.update(extra_headers)
        with self._lock:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _ConnectionFailure("timeout", "no time left for this call", False)
            try:
                conn = self._connection(remaining)
                conn.request(method, self._base_path + path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (socket.timeout, TimeoutError) as e:
                self._drop_connection()
                raise _ConnectionFailure("timeout", str(e) or "timed out", False) from None
            except (OSError, http.client.HTTPException) as e:
                self._drop_connection()
                raise _ConnectionFailure("unreachable", _describe(e), True) from None
            if response.will_close:
                self._drop_connection()
            return response.status, response.headers, data

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        conn = self._conn
        conn.timeout = timeout
        if conn.sock is None:
            conn.connect()
            # Requests are small and written whole: never let Nagle hold a segment back.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock.settimeout(timeout)
        return conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _decode(
        self,
        method: str,
        path: str,
        status: int,
        headers: http.client.HTTPMessage,
        data: bytes,
    ) -> SidecarResponse:
        etag = headers.get("ETag")
        if status == 304:
            return SidecarResponse(304, None, etag)
        body: Any = None
        if data:
            try:
                body = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                body = None
                if 200 <= status < 300:
                    raise SidecarError(
                        status,
                        "bad_response",
                        f"{method} {path} answered with a body that is not JSON: "
                        f"{data[:200]!r}",
                    ) from None
        if 200 <= status < 300:
            return SidecarResponse(status, body, etag)
        raise _error_from(status, body, data, method, path)


class _ConnectionFailure(Exception):
    def __init__(self, code: str, detail: str, retryable: bool) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retryable = retryable

    def as_error(self, method: str, path: str, attempts: int) -> SidecarError:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return SidecarError(None, self.code, f"{method} {path} failed{tries}: {self.detail}")


def _error_from(status: int, body: Any, raw: bytes, method: str, path: str) -> SidecarError:
    error = body.get("error") if isinstance(body, dict) else None
    hint = (
        " (check the plugin's provider.token_file against the sidecar's api.tokenFile)"
        if status == 401
        else ""
    )
    if isinstance(error, dict):
        return SidecarError(
            status,
            str(error.get("code") or f"http_{status}"),
            str(error.get("message") or f"{method} {path} failed") + hint,
            error.get("field") or None,
        )
    text = raw[:200].decode("utf-8", "replace").strip() if raw else ""
    if status == 401:
        message = f"{method} {path}: unauthorized, bearer token missing or wrong{hint}"
    else:
        message = f"{method} {path} failed" + (f": {text}" if text else "")
    return SidecarError(status, f"http_{status}", message)


def _retry_after(headers: http.client.HTTPMessage, default: float) -> float:
    """Seconds the sidecar asked to wait (Retry-After), or ``default``; never more than 1 s here."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return min(max(float(value), 0.0), 1.0) if value is not None else default
    except ValueError:
        return default


def _backoff(attempt: int) -> float:
    base = min(_MAX_BACKOFF_S, _FIRST_BACKOFF_S * (2 ** (attempt - 1)))
    return base * random.uniform(0.5, 1.5)


def _describe(e: BaseException) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
