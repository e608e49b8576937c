"""Processes of the real-Ray tier: simulated member clusters running real Ray workers, the sidecar, a Ray head.

Everything here starts a process and knows how to stop it again:

- :class:`SimulatedMembers`: the Java simulator (``tests/target/ray-federation-sim-all.jar``,
  ``SimulatedMembersMain --runtime ray``): fabric8 mock API servers plus a small kubelet that turns each worker pod
  the sidecar creates into a real ``ray start --address=<head> --block ...`` process with the pod's env;
- :class:`Sidecar`: ``java -jar sidecar/target/ray-federation-sidecar-all.jar --config FILE``;
- :class:`RayHead`: ``ray start --head --block --autoscaling-config=FILE`` with autoscaler v1 or v2.

All run in sessions of their own and carry ``RAY_FEDERATION_E2E_RUN=<marker>`` in their environment, which Ray
passes on to every process it starts: :func:`kill_marked_processes` finds whatever is left by that marker (by pid,
never by name). Single host: every raylet has the same IP, so, as Ray's own fake multi-node harness does, each
node gets a fixed Ray node id (``RAY_OVERRIDE_NODE_ID_FOR_TESTING``), the simulated kubelet reports a worker's
node id as its pod IP, and the autoscaling config says ``use_node_id_as_ip: true``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SIM_JAR = REPO_ROOT / "tests" / "target" / "ray-federation-sim-all.jar"
SIDECAR_JAR = REPO_ROOT / "sidecar" / "target" / "ray-federation-sidecar-all.jar"
MARKER_ENV = "RAY_FEDERATION_E2E_RUN"
MANAGED_BY_SELECTOR = "app.kubernetes.io/managed-by=ray-federation"
HEAD_NODE_TYPE = "ray.head.default"
HEAD_INSTANCE_ID = "ray-federation-head"  # the plugin's default head_node_id


class HarnessError(Exception):
    """A process did not start or did not behave; the message says which and where its log is."""


class ProcessExited(HarnessError):
    """A process we wait for exited: no point waiting any longer (:func:`wait_until` does not retry it)."""


@dataclass(frozen=True)
class Jars:
    """The two runnable jars. Runs use copies (:meth:`snapshot`): a rebuild of the checkout while a JVM runs from
    the jar it replaces makes that JVM fail with NoClassDefFoundError."""

    sim: Path = SIM_JAR
    sidecar: Path = SIDECAR_JAR

    def missing(self) -> List[Path]:
        return [p for p in (self.sim, self.sidecar) if not p.is_file()]

    def snapshot(self, into: Path) -> "Jars":
        missing = self.missing()
        if missing:
            raise HarnessError(f"missing {', '.join(map(str, missing))}: build them with scripts/lib/java-jars")
        into.mkdir(parents=True, exist_ok=True)
        copies = Jars(into / self.sim.name, into / self.sidecar.name)
        for source, copy in ((self.sim, copies.sim), (self.sidecar, copies.sidecar)):
            shutil.copyfile(source, copy)
            if not zipfile.is_zipfile(copy):
                raise HarnessError(f"{source} is not a complete jar (being rebuilt?): try again")
        return copies


def new_marker() -> str:
    return f"rf-e2e-{os.getpid()}-{secrets.token_hex(4)}"


def new_node_id() -> str:
    """A Ray node id: 28 random bytes as 56 hex digits."""
    return secrets.token_hex(28)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    condition: Callable[[], Any],
    timeout_s: float,
    what: str,
    poll_s: float = 0.5,
    diagnostics: Optional[Callable[[], str]] = None,
) -> Any:
    """Polls ``condition`` until it returns something truthy (which is returned); raises AssertionError after
    ``timeout_s`` naming ``what`` and, when given, the ``diagnostics``."""
    deadline = time.monotonic() + timeout_s
    last_error: Optional[BaseException] = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except ProcessExited:
            raise
        except (OSError, HarnessError, ValueError, KeyError) as e:
            last_error = e
        if time.monotonic() > deadline:
            message = f"timed out after {timeout_s:.0f}s waiting for {what}"
            if last_error is not None:
                message += f" (last error: {last_error})"
            if diagnostics is not None:
                message += "\n" + diagnostics()
            raise AssertionError(message)
        time.sleep(poll_s)


def http_json(method: str, url: str, body: Any = None, timeout_s: float = 10.0,
              headers: Optional[Mapping[str, str]] = None) -> Any:
    """One JSON request; returns the decoded answer (None when empty); HTTP errors raise HarnessError."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as e:
        raise HarnessError(f"{method} {url}: HTTP {e.code}: {e.read()[:500]!r}") from e
    return json.loads(raw) if raw else None


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"({path}: {e})"
    return "\n".join(text[-lines:])


def clean_env() -> Dict[str, str]:
    """Our environment without Ray's knobs (``RAY_*``, ``AUTOSCALER_*``), which would change how the processes we
    start behave; ``RAY_FEDERATION_*`` (such as scripts/test's run marker) is kept."""
    return {k: v for k, v in os.environ.items()
            if k.startswith("RAY_FEDERATION_") or not (k.startswith("RAY_") or k.startswith("AUTOSCALER_"))}


def marked_env(marker: str, base: Optional[Mapping[str, str]] = None, **extra: str) -> Dict[str, str]:
    """The environment for a process of this run: ``base`` (default: :func:`clean_env`), the marker and ``extra``."""
    env = dict(clean_env() if base is None else base)
    env[MARKER_ENV] = marker
    env.update(extra)
    return env


def marked_pids(marker: str) -> List[int]:
    """Pids of the processes whose environment carries ``MARKER_ENV=marker`` (this process excluded)."""
    needle = f"{MARKER_ENV}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_marked_processes(marker: str, grace_s: float = 5.0) -> int:
    """SIGTERM, then SIGKILL after ``grace_s``, to every process left with this run's marker; returns how many."""
    pids = marked_pids(marker)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    return len(pids)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class ManagedProcess:
    """A child process in a session of its own, with its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, env: Mapping[str, str],
                 cwd: Optional[Path] = None, keep_stdin: bool = False) -> None:
        self.name = name
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(log, "ab")
        self._log_file.write(f"=== {time.strftime('%H:%M:%S')} {' '.join(argv)}\n".encode())
        self._log_file.flush()
        self.popen = subprocess.Popen(
            list(argv), stdout=self._log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if keep_stdin else subprocess.DEVNULL,
            env=dict(env), cwd=str(cwd) if cwd else None, start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log, lines)

    def stop(self, grace_s: float = 15.0, close_stdin_first: bool = False, group_first: bool = True) -> None:
        """Closes stdin (when asked) or sends SIGTERM to the process group (or, unless ``group_first``, to the
        process alone, which then stops its children itself); SIGKILL to the group after ``grace_s``."""
        if self.alive():
            if close_stdin_first and self.popen.stdin is not None:
                try:
                    self.popen.stdin.close()
                except OSError:
                    pass
            elif group_first:
                self._signal_group(signal.SIGTERM)
            else:
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGTERM if close_stdin_first else signal.SIGKILL)
                try:
                    self.popen.wait(grace_s)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    self.popen.wait(10)
        self._signal_group(signal.SIGKILL)  # whatever of its group is left
        self._log_file.close()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


# --------------------------------------------------------------------------------------------- members


@dataclass(frozen=True)
class Member:
    """One simulated member Kubernetes cluster, from the simulator's members.json."""

    name: str
    cloud: str
    region: Optional[str]
    zone: Optional[str]
    namespace: str
    kubeconfig: str
    context: str
    url: str

    def _api(self, path: str) -> str:
        return f"{self.url}/api/v1/namespaces/{self.namespace}/{path}"

    def pods(self, label_selector: str = MANAGED_BY_SELECTOR) -> List[Dict[str, Any]]:
        """Pods in the member's namespace (by default: ray-federation's workers), straight from its API server."""
        query = urllib.parse.urlencode({"labelSelector": label_selector}) if label_selector else ""
        answer = http_json("GET", self._api("pods") + (f"?{query}" if query else ""))
        return list((answer or {}).get("items") or [])

    def create_pod(self, manifest: Mapping[str, Any]) -> Dict[str, Any]:
        return http_json("POST", self._api("pods"), manifest)

    def pod(self, name: str) -> Dict[str, Any]:
        return http_json("GET", self._api(f"pods/{name}"))


class SimulatedMembers:
    """The simulator process: members from ``topology`` (a list of MemberSpec objects), real Ray workers."""

    def __init__(self, process: ManagedProcess, members: List[Member], worker_logs: Path) -> None:
        self.process = process
        self.members = members
        self.worker_logs = worker_logs

    @classmethod
    def start(cls, jar: Path, topology: List[Mapping[str, Any]], work_dir: Path, ray_bin: Path, marker: str,
              worker_env: Optional[Mapping[str, str]] = None, timeout_s: float = 120.0) -> "SimulatedMembers":
        work_dir.mkdir(parents=True, exist_ok=True)
        topology_file = work_dir / "topology.json"
        topology_file.write_text(json.dumps(list(topology), indent=2))
        worker_logs = work_dir / "workers"
        argv = [
            _java(), "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-cp", str(jar), "dev.rayfederation.sim.SimulatedMembersMain",
            "--topology", str(topology_file), "--dir", str(work_dir / "members"),
            "--runtime", "ray", "--ray-bin", str(ray_bin), "--worker-logs", str(worker_logs),
        ]
        for k, v in (worker_env or {}).items():
            argv += ["--worker-env", f"{k}={v}"]
        process = ManagedProcess("simulated members", argv, work_dir / "members.log", marked_env(marker),
                                 keep_stdin=True)
        manifest_line = wait_until(
            lambda: _ready_line(process), timeout_s, "the simulated members to print READY",
            poll_s=0.2, diagnostics=lambda: f"--- {process.log} ---\n{process.log_tail()}",
        )
        manifest = Path(manifest_line.split(" ", 1)[1].strip())
        members = [Member(**{k: e.get(k) for k in Member.__dataclass_fields__}) for e in json.loads(manifest.read_text())]
        return cls(process, members, worker_logs)

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(f"member {name!r} unknown (known: {[m.name for m in self.members]})")

    def worker_pods(self) -> Dict[str, List[Dict[str, Any]]]:
        """ray-federation's pods in every member: member name -> pods."""
        return {m.name: m.pods() for m in self.members}

    def worker_log_tails(self, lines: int = 15) -> str:
        out = []
        for log in sorted(self.worker_logs.glob("*.log")):
            out.append(f"--- worker {log.name} ---\n{tail(log, lines)}")
        return "\n".join(out) if out else "(no worker logs)"

    def stop(self) -> None:
        self.process.stop(grace_s=30.0, close_stdin_first=True)


def _ready_line(process: ManagedProcess) -> Optional[str]:
    for line in process.log.read_text(errors="replace").splitlines():
        if line.startswith("READY "):
            return line
    if not process.alive():
        raise ProcessExited(f"the simulated members exited with code {process.popen.returncode}:\n{process.log_tail()}")
    return None


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return "java"


# --------------------------------------------------------------------------------------------- sidecar


class Sidecar:
    """The sidecar jar as a process, on free loopback ports."""

    def __init__(self, process: ManagedProcess, url: str, management_url: str, config_file: Path) -> None:
        self.process = process
        self.url = url
        self.management_url = management_url
        self.config_file = config_file

    @classmethod
    def start(cls, jar: Path, config: Mapping[str, Any], work_dir: Path, marker: str,
              timeout_s: float = 120.0) -> "Sidecar":
        work_dir.mkdir(parents=True, exist_ok=True)
        api_port, management_port = free_port(), free_port()
        full = dict(config)
        full["api"] = {"listen": f"127.0.0.1:{api_port}"}
        full["management"] = {"listen": f"127.0.0.1:{management_port}"}
        # the network preflight's probe pods would reach the Ray worker runtime of the simulated members, which runs
        # every pod as a Ray worker: off unless a story sets its own
        full.setdefault("preflight", {"enabled": False})
        config_file = work_dir / "sidecar.yaml"
        config_file.write_text(yaml.safe_dump(full, sort_keys=False))
        argv = [_java(), "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", str(jar),
                "--config", str(config_file)]
        process = ManagedProcess("sidecar", argv, work_dir / "sidecar.log", marked_env(marker), cwd=work_dir)
        sidecar = cls(process, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{management_port}", config_file)
        wait_until(sidecar._ready, timeout_s, "the sidecar's /readyz to answer 200", poll_s=0.3,
                   diagnostics=lambda: f"--- {process.log} ---\n{process.log_tail()}")
        return sidecar

    def _ready(self) -> bool:
        if not self.process.alive():
            raise ProcessExited(f"the sidecar exited with code {self.process.popen.returncode}:\n"
                               f"{self.process.log_tail()}")
        try:
            with urllib.request.urlopen(self.management_url + "/readyz", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def get(self, path: str) -> Any:
        return http_json("GET", self.url + path)

    def post(self, path: str, body: Any) -> Any:
        return http_json("POST", self.url + path, body)

    def nodes(self) -> List[Dict[str, Any]]:
        """Worker nodes the sidecar lists (the head is never among them)."""
        return [n for n in self.get("/v1/nodes")["nodes"] if n.get("kind") != "head"]

    def placement(self) -> Dict[str, Dict[str, int]]:
        """pool -> member -> workers, from GET /v1/pools."""
        out: Dict[str, Dict[str, int]] = {}
        for p in self.get("/v1/pools")["pools"]:
            by = p.get("byCluster") or {}
            counts = {}
            for member, v in by.items():
                counts[member] = v if isinstance(v, int) else int((v or {}).get("nodes", 0))
            out[p["name"]] = counts
        return out

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines)

    def stop(self) -> None:
        self.process.stop(grace_s=15.0)


# --------------------------------------------------------------------------------------------- Ray head


def generate_autoscaling_config(python: Path, sidecar_url: str, head_node_id: str, out: Path,
                                cluster_name: str, idle_timeout_minutes: float, marker: str) -> Dict[str, Any]:
    """``python -m ray_federation.config`` as a user runs it, for a single-host cluster keyed by node id."""
    argv = [str(python), "-m", "ray_federation.config", "--sidecar-url", sidecar_url,
            "--cluster-name", cluster_name, "--idle-timeout-minutes", str(idle_timeout_minutes),
            "--use-node-id-as-ip", "--head-ip", head_node_id, "-o", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=marked_env(marker))
    if done.returncode != 0:
        raise HarnessError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return yaml.safe_load(out.read_text())


class RayHead:
    """``ray start --head --block`` with an autoscaling config; autoscaler ``v1`` or ``v2``."""

    def __init__(self, process: ManagedProcess, address: str, temp_dir: Path, ray_bin: Path, marker: str,
                 node_id: str, autoscaler: str) -> None:
        self.process = process
        self.address = address
        self.temp_dir = temp_dir
        self.ray_bin = ray_bin
        self.marker = marker
        self.node_id = node_id
        self.autoscaler = autoscaler

    @classmethod
    def start(cls, ray_bin: Path, autoscaling_config: Path, gcs_port: int, temp_dir: Path, log: Path,
              node_id: str, autoscaler: str, marker: str, timeout_s: float = 180.0,
              dashboard_port: Optional[int] = None, num_cpus: int = 0) -> "RayHead":
        """``dashboard_port``: serve Ray's dashboard on 127.0.0.1 at that port (default: no dashboard);
        ``num_cpus``: CPUs the head itself offers to tasks (default none: work goes to the workers)."""
        if autoscaler not in ("v1", "v2"):
            raise ValueError(f"autoscaler: 'v1' or 'v2', got {autoscaler!r}")
        env = head_env(ray_bin, node_id, autoscaler, marker)
        dashboard = ["--include-dashboard=false"] if dashboard_port is None else [
            "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}"]
        argv = [str(ray_bin / "ray"), "start", "--head", "--block",
                f"--port={gcs_port}", "--node-ip-address=127.0.0.1",
                "--dashboard-agent-listen-port=0",
                f"--num-cpus={num_cpus}", "--num-gpus=0", *dashboard,
                "--object-store-memory=100000000", f"--temp-dir={temp_dir}",
                f"--autoscaling-config={autoscaling_config}", "--disable-usage-stats"]
        process = ManagedProcess(f"ray head ({autoscaler})", argv, log, env)
        head = cls(process, f"127.0.0.1:{gcs_port}", temp_dir, ray_bin, marker, node_id, autoscaler)
        wait_until(head._started, timeout_s, "the Ray head to start", poll_s=0.3,
                   diagnostics=lambda: f"--- {log} ---\n{process.log_tail()}")
        return head

    def _started(self) -> bool:
        if not self.process.alive():
            raise ProcessExited(f"ray start --head exited with code {self.process.popen.returncode}:\n"
                               f"{self.process.log_tail()}")
        return "Ray runtime started" in self.process.log.read_text(errors="replace")

    @property
    def logs_dir(self) -> Path:
        return self.temp_dir / "session_latest" / "logs"

    def monitor_log(self, since: int = 0) -> str:
        """What the autoscaler (Ray's monitor) wrote to monitor.log, from byte ``since`` on."""
        try:
            with open(self.logs_dir / "monitor.log", "rb") as f:
                f.seek(since)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def monitor_mark(self) -> int:
        """The current end of monitor.log: pass it to :meth:`monitor_log` to read only what comes next."""
        try:
            return (self.logs_dir / "monitor.log").stat().st_size
        except OSError:
            return 0

    def monitor_tail(self, lines: int = 60) -> str:
        return f"--- {self.logs_dir}/monitor.log ---\n{tail(self.logs_dir / 'monitor.log', lines)}\n" \
               f"--- monitor.err ---\n{tail(self.logs_dir / 'monitor.err', 15)}"

    def status(self, timeout_s: float = 60.0) -> str:
        """``ray status``: Ray's own view of nodes, pending launches, failures and demands."""
        done = subprocess.run([str(self.ray_bin / "ray"), "status", f"--address={self.address}"],
                              capture_output=True, text=True, timeout=timeout_s,
                              env=marked_env(self.marker, PATH=f"{self.ray_bin}:{os.environ.get('PATH', '')}"))
        return (done.stdout + done.stderr).strip()

    def stop(self) -> None:
        # SIGTERM to `ray start` alone: it drains the node through the GCS, which must still be up for that.
        self.process.stop(grace_s=20.0, group_first=False)


def head_env(ray_bin: Path, node_id: str, autoscaler: str, marker: str) -> Dict[str, str]:
    """The head's environment: Ray's knobs for a quick single-host autoscaler, and v2's instance identity."""
    env = marked_env(marker,
                     PATH=f"{ray_bin}:{os.environ.get('PATH', '')}",
                     AUTOSCALER_UPDATE_INTERVAL_S="1",
                     RAY_USAGE_STATS_ENABLED="0",
                     RAY_OVERRIDE_NODE_ID_FOR_TESTING=node_id,
                     RAY_enable_autoscaler_v2="1" if autoscaler == "v2" else "0")
    if autoscaler == "v2":
        # v2 matches the head raylet to the provider's head node through these.
        env["RAY_CLOUD_INSTANCE_ID"] = HEAD_INSTANCE_ID
        env["RAY_NODE_TYPE_NAME"] = HEAD_NODE_TYPE
    return env


# --------------------------------------------------------------------------------------------- drivers


def run_driver(python: Path, address: str, args: Iterable[str], marker: str, timeout_s: float,
               log: Path) -> Any:
    """Runs ``rf_workloads.py`` (a Ray driver) to the end; returns what it printed after ``RESULT``."""
    argv = [str(python), str(Path(__file__).with_name("rf_workloads.py")), "--address", address, *args]
    log.parent.mkdir(parents=True, exist_ok=True)
    env = marked_env(marker, RAY_USAGE_STATS_ENABLED="0")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        log.write_text(f"$ {' '.join(argv)}\n(timed out after {timeout_s}s)\n{out}\n--- stderr ---\n{err}")
        raise HarnessError(f"the Ray driver {' '.join(args)} did not finish within {timeout_s:.0f}s; "
                           f"its output: {log}\n{err[-3000:]}") from e
    log.write_text(f"$ {' '.join(argv)}\n{done.stdout}\n--- stderr ---\n{done.stderr}")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            if done.returncode != 0:
                break
            return json.loads(line[len("RESULT "):])
    raise HarnessError(f"the Ray driver {' '.join(args)} failed (exit {done.returncode}); output {log}:\n"
                       f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def start_driver(python: Path, address: str, args: Iterable[str], marker: str, log: Path) -> ManagedProcess:
    """Starts ``rf_workloads.py`` in the background (stop it with ``.stop()``)."""
    argv = [str(python), str(Path(__file__).with_name("rf_workloads.py")), "--address", address, *args]
    return ManagedProcess("ray driver", argv, log, marked_env(marker, RAY_USAGE_STATS_ENABLED="0"))


def python_of(ray_bin: Path) -> Path:
    return ray_bin / "python"


def default_ray_bin() -> Path:
    """The bin directory of the Python running this (the venv from scripts/lib/python-env)."""
    return Path(sys.executable).parent


# --------------------------------------------------------------------------------------------- all together


class NodeObserver:
    """Records every node the sidecar lists while it runs (polls GET /v1/nodes in a thread): workers come and go
    within seconds, so tests look at what was there, not at what is left."""

    def __init__(self, sidecar: Sidecar, poll_s: float = 0.5) -> None:
        import threading

        self._sidecar = sidecar
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="node-observer", daemon=True)
        self.by_id: Dict[str, Dict[str, Any]] = {}

    def __enter__(self) -> "NodeObserver":
        self._poll()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(10)
        self._poll()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            self._poll()

    def _poll(self) -> None:
        try:
            for n in self._sidecar.nodes():
                merged = dict(self.by_id.get(n["id"], {}))
                merged.update({k: v for k, v in n.items() if v is not None})
                self.by_id[n["id"]] = merged
        except (OSError, HarnessError, ValueError):
            pass

    @property
    def nodes(self) -> List[Dict[str, Any]]:
        return list(self.by_id.values())

    def by_ray_node_id(self) -> Dict[str, Dict[str, Any]]:
        """Nodes by internalIp, which in this single-host setup is the worker's Ray node id."""
        return {n["internalIp"]: n for n in self.by_id.values() if n.get("internalIp")}


class Federation:
    """Simulated members, a sidecar for them and a Ray head whose autoscaler uses the plugin: one Ray cluster."""

    def __init__(self, members: SimulatedMembers, sidecar: Sidecar, head: RayHead, python: Path, marker: str,
                 work_dir: Path) -> None:
        self.members = members
        self.sidecar = sidecar
        self.head = head
        self.python = python
        self.marker = marker
        self.work_dir = work_dir
        self._runs = 0

    @property
    def autoscaler(self) -> str:
        return self.head.autoscaler

    @classmethod
    def start(cls, sidecar_jar: Path, members: SimulatedMembers,
              sidecar_config: Callable[[List[Member], str], Mapping[str, Any]], ray_bin: Path, autoscaler: str, work_dir: Path, marker: str, cluster_name: str,
              idle_timeout_minutes: float = 0.1, progress: Callable[[str], None] = lambda s: None) -> "Federation":
        """Starts a sidecar for ``members`` (config from ``sidecar_config(members, head_address)``), generates the
        autoscaling config from it with the plugin's generator, and starts a Ray head with it."""
        work_dir.mkdir(parents=True, exist_ok=True)
        gcs_port = free_port()
        progress("starting the sidecar")
        sidecar = Sidecar.start(sidecar_jar, sidecar_config(members.members, f"127.0.0.1:{gcs_port}"),
                                work_dir / "sidecar", marker)
        head = None
        try:
            head_node_id = new_node_id()
            config_file = work_dir / "autoscaling.yaml"
            progress("generating the autoscaling config (python -m ray_federation.config)")
            generate_autoscaling_config(python_of(ray_bin), sidecar.url, head_node_id, config_file, cluster_name,
                                        idle_timeout_minutes, marker)
            progress(f"starting the Ray head with autoscaler {autoscaler}")
            temp_dir = work_dir / "ray"
            if len(str(temp_dir)) > 40:
                # Ray's Unix sockets live under <temp dir>/session_<date>_<pid>/sockets: paths max out at 107 bytes.
                raise HarnessError(f"{temp_dir}: too long for Ray's socket paths; use a short work dir under /tmp")
            head = RayHead.start(ray_bin, config_file, gcs_port, temp_dir, work_dir / "head.log", head_node_id,
                                 autoscaler, marker)
        except BaseException:
            if head is not None:
                head.stop()
            sidecar.stop()
            raise
        return cls(members, sidecar, head, python_of(ray_bin), marker, work_dir)

    def run(self, args: Sequence[str], timeout_s: float = 300.0) -> Any:
        """Runs a workload of ``rf_workloads.py`` to the end and returns its result."""
        self._runs += 1
        log = self.work_dir / f"driver-{self._runs:02d}-{args[0]}.log"
        return run_driver(self.python, self.head.address, args, self.marker, timeout_s, log)

    def start_driver(self, args: Sequence[str]) -> ManagedProcess:
        self._runs += 1
        log = self.work_dir / f"driver-{self._runs:02d}-{args[0]}.log"
        return start_driver(self.python, self.head.address, args, self.marker, log)

    def observe(self) -> NodeObserver:
        return NodeObserver(self.sidecar)

    def worker_pods(self) -> Dict[str, List[Dict[str, Any]]]:
        return self.members.worker_pods()

    def no_workers_left(self) -> bool:
        """The sidecar lists no worker and no member holds a pod of ours."""
        return not self.sidecar.nodes() and not any(self.worker_pods().values())

    def await_no_workers(self, timeout_s: float = 240.0, what: str = "every worker to be gone") -> None:
        wait_until(self.no_workers_left, timeout_s, what, poll_s=1.0, diagnostics=self.diagnostics)

    def terminate_all_workers(self) -> None:
        """Asks the sidecar to terminate every worker (teardown; tests let the autoscaler do it)."""
        ids = [n["id"] for n in self.sidecar.nodes()]
        if ids:
            self.sidecar.post("/v1/nodes:terminate", {"ids": ids})

    def diagnostics(self) -> str:
        parts = [f"--- sidecar GET /v1/nodes ---\n{_safe(lambda: json.dumps(self.sidecar.nodes(), indent=1))}",
                 f"--- pods per member ---\n{_safe(lambda: _pod_summary(self.worker_pods()))}",
                 f"--- ray status ---\n{_safe(self.head.status)}",
                 self.head.monitor_tail(80),
                 f"--- {self.sidecar.process.log} ---\n{self.sidecar.log_tail(40)}",
                 self.members.worker_log_tails(10)]
        return "\n".join(parts)

    def stop(self) -> None:
        """Terminates what is left (letting workers drain while the head is up), then stops head and sidecar."""
        try:
            self.terminate_all_workers()
            wait_until(lambda: not any(self.worker_pods().values()), 90, "the workers to go at teardown", poll_s=1)
        except (AssertionError, OSError, HarnessError):
            pass
        finally:
            self.head.stop()
            self.sidecar.stop()


def _pod_summary(pods: Mapping[str, List[Mapping[str, Any]]]) -> str:
    lines = []
    for member, items in pods.items():
        for p in items:
            labels = p["metadata"].get("labels", {})
            lines.append(f"{member}: {p['metadata']['name']} pool={labels.get('ray-federation.io/pool')} "
                         f"phase={(p.get('status') or {}).get('phase')}")
    return "\n".join(lines) or "(none)"


def _safe(call: Callable[[], str]) -> str:
    try:
        return call()
    except Exception as e:  # diagnostics must never hide the real failure
        return f"(unavailable: {e})"
