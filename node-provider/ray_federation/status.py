"""``ray-federation status``: the federation at a glance, like ``ray status``.

Reads ``GET /v1/clusters``, ``GET /v1/pools`` and ``GET /v1/events`` from the sidecar and prints the
member clusters (state, circuit breaker, free and allocated capacity, worker nodes, back-offs), the
pools (nodes, pending, maximum, where they run), the virtual clusters (quota used) and the latest
placement decisions (placed, rejected, re-placed, terminated, with their reasons), then anything that
needs attention (members not healthy, breakers not closed, back-offs).

    ray-federation status                      # once
    ray-federation status --watch              # every 2 s until Ctrl-C (--watch 10: every 10 s)
    ray-federation status --json               # the documents as one JSON object
    ray-federation status --decisions 20       # the 20 latest decisions (0: none)
    ray-federation status --url http://127.0.0.1:8765 --token-file /var/run/secrets/ray-federation/token
    ray-federation status --url http://HEAD_POD_IP:9090   # the management port: read-only, no token

Defaults come from the environment (``RAY_FEDERATION_SIDECAR_URL``, ``RAY_FEDERATION_TOKEN_FILE``),
else the values the chart gives the autoscaler plugin: ``http://127.0.0.1:8765`` and, when that file
exists, the token file ``/var/run/secrets/ray-federation/token``. Standard library only.
Exit status: 0 shown, 1 the sidecar could not be read, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, TextIO

from ray_federation.client import SidecarClient, SidecarError

__all__ = ["main", "fetch", "render", "parse_quantity"]

DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_TOKEN_FILE = "/var/run/secrets/ray-federation/token"
DEFAULT_WATCH_S = 2.0
DEFAULT_DECISIONS = 5
MAX_DECISIONS = 1000  # what GET /v1/events answers at most
URL_ENV = "RAY_FEDERATION_SIDECAR_URL"
TOKEN_FILE_ENV = "RAY_FEDERATION_TOKEN_FILE"

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
_SUFFIX = {
    None: 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
}
# Resources shown as table columns, in this order, when any member or pool has them.
_COLUMNS = ("CPU", "GPU", "memory")


# ---------------------------------------------------------------------------------------- data


def fetch(client: SidecarClient, decisions: int = DEFAULT_DECISIONS) -> Dict[str, Any]:
    """One status document: ``{"clusters": [...], "config": {...}, "pools": [...], "virtualClusters": [...], "events": [...]}``.

    ``events`` holds the ``decisions`` latest decisions, newest first; it is left out when ``decisions`` is 0.
    """
    clusters = client.clusters()
    pools = client.pools()
    status = {
        "clusters": list(clusters.get("clusters") or []),
        "config": clusters.get("config") or {},
        "pools": list(pools.get("pools") or []),
        "virtualClusters": list(pools.get("virtualClusters") or []),
    }
    if decisions > 0:
        status["events"] = list(client.events(limit=decisions).get("events") or [])
    return status


def parse_quantity(value: Any) -> Optional[float]:
    """A Kubernetes quantity ("500m", "64Gi", "2", 1.5) as a number; None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = _QUANTITY.match(str(value).strip())
    if not m:
        return None
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def _is_memory(resource: str) -> bool:
    return resource == "memory" or resource.endswith("memory")


def _fmt(resource: str, amount: Optional[float]) -> str:
    if amount is None:
        return "?"
    if _is_memory(resource):
        for unit, size in (("Ti", 2.0**40), ("Gi", 2.0**30), ("Mi", 2.0**20), ("Ki", 2.0**10)):
            if abs(amount) >= size:
                return f"{amount / size:.1f}".rstrip("0").rstrip(".") + unit
        return f"{amount:.0f}"
    text = f"{amount:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pct(used: Optional[float], limit: Optional[float]) -> str:
    if used is None or not limit:
        return ""
    return f" ({100.0 * used / limit:.0f}%)"


# ---------------------------------------------------------------------------------------- text


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], indent: str = " ") -> List[str]:
    rows = [list(map(str, r)) for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r)]
    def line(cells: Sequence[str]) -> str:
        return (indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths))).rstrip()
    return [line(headers)] + [line(r) for r in rows]


def _resources_present(docs: Iterable[Optional[Mapping[str, Any]]]) -> List[str]:
    seen = set()
    for d in docs:
        for k, v in (d or {}).items():
            if (parse_quantity(v) or 0) > 0:
                seen.add(k)
    return [r for r in _COLUMNS if r in seen]


def _free_alloc(member: Mapping[str, Any], resource: str) -> str:
    capacity = member.get("capacity")
    if capacity is None:
        return "?"
    total = parse_quantity(capacity.get(resource)) or 0.0
    allocated = parse_quantity((member.get("allocated") or {}).get(resource)) or 0.0
    return f"{_fmt(resource, max(0.0, total - allocated))}/{_fmt(resource, allocated)}"


def _age(value: Optional[str], now: _dt.datetime) -> Optional[str]:
    """How long ago an ISO-8601 time was ("42s", "6m", "2h05m"); None when unreadable."""
    try:
        then = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def _since(value: Optional[str], now: _dt.datetime) -> str:
    if not value:
        return ""
    ago = _age(value, now)
    return f" since {value}" if ago is None else f" for {ago}"


def _where(event: Mapping[str, Any]) -> str:
    """The members a decision concerns: "aws-use1", "aws-use1 -> gcp-usc1", or "-" (a rejection)."""
    source, target = event.get("from"), event.get("to")
    if source and target:
        return f"{source} -> {target}"
    return source or target or "-"


def render(status: Mapping[str, Any], url: str = "", now: Optional[_dt.datetime] = None) -> str:
    """The status document as text, in the spirit of ``ray status``."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    clusters = status.get("clusters") or []
    pools = status.get("pools") or []
    vcs = status.get("virtualClusters") or []
    out: List[str] = [f"======== ray-federation status: {now.strftime('%Y-%m-%d %H:%M:%S %Z').strip()} ========"]
    if url:
        out.append(f"Sidecar: {url}")

    out.append("")
    out.append("Members:")
    if clusters:
        resources = _resources_present(c.get("capacity") for c in clusters) or ["CPU"]
        headers = ["NAME", "CLOUD", "STATE", "BREAKER"] + [f"{r.upper()} FREE/ALLOC" for r in resources] + ["NODES", "BACK-OFFS"]
        rows = []
        for c in clusters:
            rows.append([c.get("name", "?"), c.get("cloud", ""), c.get("state", "?"), c.get("breaker", "?")]
                        + [_free_alloc(c, r) for r in resources]
                        + [str(c.get("nodes", 0)), str(len(c.get("backoffs") or []))])
        out += _table(headers, rows)
    else:
        out.append(" (no members)")

    out.append("")
    out.append("Pools:")
    if pools:
        rows = []
        for p in pools:
            by = ", ".join(f"{m}={n}" for m, n in sorted((p.get("byCluster") or {}).items())) or "-"
            rows.append([p.get("name", "?"), p.get("virtualCluster", ""), str(p.get("nodes", 0)),
                         str(p.get("pending", 0)), str(p.get("maxWorkers", "")), p.get("strategy", ""), by])
        out += _table(["NAME", "VIRTUAL CLUSTER", "NODES", "PENDING", "MAX", "STRATEGY", "BY MEMBER"], rows)
    else:
        out.append(" (no pools)")

    out.append("")
    out.append("Virtual clusters:")
    if vcs:
        resources = _resources_present([v.get("used") for v in vcs] + [v.get("quota") for v in vcs]) or ["CPU"]
        rows = []
        for v in vcs:
            quota = v.get("quota")
            used = v.get("used") or {}
            cells = []
            for r in resources:
                u = parse_quantity(used.get(r)) or 0.0
                if quota is not None and r in quota:
                    q = parse_quantity(quota.get(r))
                    cells.append(f"{_fmt(r, u)}/{_fmt(r, q)}{_pct(u, q)}")
                else:
                    cells.append(f"{_fmt(r, u)}/-")
            rows.append([v.get("name", "?")] + cells)
        out += _table(["NAME"] + [f"{r.upper()} USED/QUOTA" for r in resources], rows)
    else:
        out.append(" (no virtual clusters)")

    if "events" in status:
        events = status.get("events") or []
        out.append("")
        out.append("Latest decisions (newest first):")
        if events:
            rows = [[_age(e.get("time"), now) or "?", e.get("kind", "?"), e.get("pool", "?"), _where(e),
                     str(e.get("count", "")), e.get("reason", "")] for e in events]
            out += _table(["AGE", "KIND", "POOL", "MEMBERS", "COUNT", "REASON"], rows)
        else:
            out.append(" (none yet)")

    problems: List[str] = []
    for c in clusters:
        name = c.get("name", "?")
        if c.get("state") not in (None, "healthy"):
            reason = f": {c['stateReason']}" if c.get("stateReason") else ""
            problems.append(f" member {name} is {c.get('state')}{_since(c.get('stateSince'), now)}{reason}")
    breakers: Dict[str, Mapping[str, Any]] = {}
    for c in clusters:
        if c.get("breaker") not in (None, "closed"):
            breakers.setdefault(c.get("breakerScope") or f"member:{c.get('name')}", c)
    for scope, c in sorted(breakers.items()):
        reason = f": {c['breakerReason']}" if c.get("breakerReason") else ""
        problems.append(f" breaker {scope} is {c.get('breaker')}{_since(c.get('breakerSince'), now)}{reason}")
    for c in clusters:
        if c.get("cordoned"):
            what = "removed from the configuration" if c.get("removed") else f"cordoned by {c.get('cordonedBy')}"
            reason = f": {c['cordonReason']}" if c.get("cordonReason") and not c.get("removed") else ""
            problems.append(f" member {c.get('name', '?')} is {what}{_since(c.get('cordonedSince'), now)}{reason}"
                            f" (no new workers; {c.get('nodes', 0)} still there)")
    for c in clusters:
        preflight = c.get("preflight") or {}
        if preflight.get("result") == "failed":
            problems.append(f" member {c.get('name', '?')} failed network preflight{_since(preflight.get('since'), now)}: "
                            f"{preflight.get('direction')}: {preflight.get('error')}")
    config = status.get("config") or {}
    if config.get("lastReload") == "refused":
        first = (config.get("problems") or ["?"])[0]
        problems.append(f" config reload refused{_since(config.get('lastReloadAt'), now)}, generation "
                        f"{config.get('generation')} stays in force: {first}"
                        + (f" (and {len(config['problems']) - 1} more)" if len(config.get("problems") or []) > 1 else ""))
    for c in clusters:
        for b in c.get("backoffs") or []:
            reason = f": {b['reason']}" if b.get("reason") else ""
            problems.append(f" back-off {c.get('name')}/{b.get('pool')}: pause {b.get('pauseSeconds')}s after "
                            f"{b.get('failures')} failure(s), until {b.get('until')}{reason}")
    out.append("")
    out.append("Attention:")
    out += problems or [" (nothing: every member healthy, every breaker closed, no back-off)"]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------- CLI


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--watch: expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--watch: must be > 0 seconds, got {text!r}")
    return value


def _decisions(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--decisions: expected a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_DECISIONS:
        raise argparse.ArgumentTypeError(f"--decisions: must be between 0 and {MAX_DECISIONS}, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ray-federation",
        description="ray-federation command line: the state of the federation from its sidecar.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    status = sub.add_parser(
        "status",
        help="members, pools, virtual clusters and decisions at a glance (like `ray status`)",
        description="Members (state, breaker, capacity, nodes, back-offs), pools, virtual clusters and the "
                    "latest placement decisions.",
    )
    status.add_argument("--url", default=None,
                        help=f"the sidecar's API (default: ${URL_ENV} or {DEFAULT_URL})")
    status.add_argument("--token-file", default=None,
                        help=f"bearer token file (default: ${TOKEN_FILE_ENV}, or {DEFAULT_TOKEN_FILE} when it exists)")
    status.add_argument("--json", action="store_true", help="print JSON (one object per refresh)")
    status.add_argument("--decisions", type=_decisions, default=DEFAULT_DECISIONS, metavar="N",
                        help=f"show the N latest placement decisions (default {DEFAULT_DECISIONS}; 0: none)")
    status.add_argument("--watch", nargs="?", const=DEFAULT_WATCH_S, type=_positive_seconds, metavar="SECONDS",
                        help=f"refresh every SECONDS (default {DEFAULT_WATCH_S:g}) until interrupted")
    status.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                        help="time budget of each read, retries included (default 5)")
    return parser


def main(
    argv: Optional[Sequence[str]] = None,
    out: Optional[TextIO] = None,
    err: Optional[TextIO] = None,
    sleep: Callable[[float], None] = time.sleep,
    environ: Optional[Mapping[str, str]] = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    environ = os.environ if environ is None else environ
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed the problem (or --help)
        return int(e.code or 0)

    url = args.url or environ.get(URL_ENV) or DEFAULT_URL
    token_file = args.token_file or environ.get(TOKEN_FILE_ENV)
    if token_file is None and os.path.isfile(DEFAULT_TOKEN_FILE):
        token_file = DEFAULT_TOKEN_FILE
    if not args.timeout > 0:
        print(f"ray-federation status: --timeout: must be > 0 seconds, got {args.timeout}", file=err)
        return 2
    try:
        client = SidecarClient(url, token_file=token_file, timeout_s=args.timeout)
    except ValueError as e:
        print(f"ray-federation status: --url: {str(e).split(': ', 1)[-1]}", file=err)
        return 2

    clear = args.watch is not None and not args.json and out.isatty()
    try:
        while True:
            try:
                status = fetch(client, args.decisions)
            except SidecarError as e:
                print(f"ray-federation status: cannot read {url}: {e}", file=err)
                if args.watch is None:
                    return 1
            else:
                if args.json:
                    # one line per refresh when watching (JSON lines), indented otherwise
                    out.write(json.dumps(status, indent=None if args.watch else 2) + "\n")
                else:
                    if clear:
                        out.write("\x1b[H\x1b[2J")
                    out.write(render(status, url))
                out.flush()
            if args.watch is None:
                return 0
            sleep(args.watch)
    except KeyboardInterrupt:
        return 0
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main(["status"] + sys.argv[1:]))
