"""Processes and views of the ant-ray tier, on top of the real-Ray tier's harness (tests/ray/rf_harness.py).

- :class:`AntRayFederation`: the simulated members (shared), a sidecar with ``antRay`` on, and an ant-ray head with
  its dashboard (ant-ray's virtual-cluster REST API and job submission) whose autoscaler (v1 or v2) loads the plugin;
  the head offers a few CPUs of its own (a primary-cluster node with room);
- :class:`DashboardProxy`: the sidecar reaches the dashboard through it, so a test can make the dashboard go away for
  the sidecar (connections refused) while ant-ray itself runs on;
- :class:`Dashboard`: what the tests read and do through ant-ray's dashboard: virtual clusters (bypassing its
  10-second cache), removals, jobs in a virtual cluster;
- :class:`Watch`: samples the sidecar, the members' pods and the virtual clusters every half second, so tests can
  look at what was there (and when), not only at what is left.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ray"))

from rf_harness import (  # noqa: E402
    HarnessError, Member, RayHead, Sidecar, SimulatedMembers, free_port, generate_autoscaling_config, http_json,
    marked_env, new_node_id, python_of, wait_until,
)

HERE = Path(__file__).resolve().parent
JOB_DIR = HERE / "job"
POOL_LABEL = "ray-federation.io/pool"


class DashboardProxy:
    """A TCP relay from a free loopback port to the dashboard. :meth:`go_away` refuses new connections and cuts the
    open ones (as a stopped dashboard would, for its clients); :meth:`come_back` relays again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: Optional[socket.socket] = None
        self._open: List[socket.socket] = []
        self.come_back()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def away(self) -> bool:
        return self._listener is None

    def come_back(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="dashboard-proxy", daemon=True).start()

    def go_away(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._open = self._open, []
        if listener is not None:
            listener.close()
        for c in conns:
            _close(c)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: gone away
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(upstream)
                    return
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


class Dashboard:
    """ant-ray's dashboard as the tests use it (directly, never through the sidecar's proxy)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._fresh = itertools.count()

    def virtual_clusters(self) -> Dict[str, Dict[str, str]]:
        """Virtual cluster id -> its nodes (Ray node id -> template), as of now: the dashboard caches this list for
        10 s by path and query, so every read asks with a query of its own."""
        answer = http_json("GET", f"{self.url}/virtual_clusters?fresh={next(self._fresh)}")
        if not answer.get("result"):
            raise HarnessError(f"GET /virtual_clusters: {answer.get('msg')}")
        return {vc["virtualClusterId"]: {n: i.get("templateId", "") for n, i in (vc.get("nodeInstances") or {}).items()}
                for vc in answer["data"]["virtualClusters"]}

    def remove(self, vc: str) -> Dict[str, Any]:
        """DELETE /virtual_clusters/<vc>: ant-ray's answer, refusal included ({"result": false, "msg": ...})."""
        request = urllib.request.Request(f"{self.url}/virtual_clusters/{vc}", method="DELETE")
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:  # a refusal comes with status 500 and the same JSON
            return json.loads(e.read())

    def ready(self) -> bool:
        try:
            return bool(http_json("GET", f"{self.url}/virtual_clusters?ready={next(self._fresh)}", timeout_s=5).get("result"))
        except (OSError, HarnessError, ValueError):
            return False

    def jobs(self) -> Any:
        from ray.job_submission import JobSubmissionClient

        return JobSubmissionClient(self.url)


JOB_ENDED = ("SUCCEEDED", "FAILED", "STOPPED")  # a job's statuses once it has ended


@dataclass
class Job:
    """A job submitted into a virtual cluster."""

    dashboard: Dashboard
    job_id: str
    virtual_cluster: str

    def status(self) -> str:
        return str(self.dashboard.jobs().get_job_status(self.job_id).value)

    def logs(self) -> str:
        return self.dashboard.jobs().get_job_logs(self.job_id)

    def result(self, timeout_s: float, diagnostics: Callable[[], str]) -> Dict[str, Any]:
        """Waits for the job to end; its ``RESULT`` when it succeeded, else an AssertionError with its logs."""
        status = wait_until(self.ended, timeout_s,
                            f"job {self.job_id} in {self.virtual_cluster} to end", poll_s=1.0,
                            diagnostics=lambda: f"--- job logs ---\n{self._logs_tail()}\n{diagnostics()}")
        logs = self.logs()
        if status != "SUCCEEDED":
            raise AssertionError(f"job {self.job_id} in {self.virtual_cluster} ended {status}:\n{logs[-4000:]}\n{diagnostics()}")
        for line in reversed(logs.splitlines()):
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
        raise AssertionError(f"job {self.job_id} printed no RESULT:\n{logs[-4000:]}")

    def stop(self) -> None:
        try:
            self.dashboard.jobs().stop_job(self.job_id)
        except Exception:  # teardown: the job may be gone with its cluster
            pass

    def ended(self) -> Optional[str]:
        """The job's status once it has ended (SUCCEEDED, FAILED, STOPPED), else None."""
        status = self.status()
        return status if status in JOB_ENDED else None

    def describe(self) -> str:
        """Its status and the tail of its logs, for a failed wait."""
        return f"--- job {self.job_id} in {self.virtual_cluster}: {_safe(self.status)} ---\n{self._logs_tail()}"

    def _logs_tail(self) -> str:
        try:
            return self.logs()[-3000:]
        except Exception as e:  # diagnostics must never hide the failure
            return f"(unavailable: {e})"


@dataclass
class Sample:
    """One look at everything: seconds since the watch started, then what each part showed."""

    at: float
    nodes: List[Dict[str, Any]]              # the sidecar's workers
    pods: Dict[str, List[str]]               # pool -> names of its pods, across members
    virtual_clusters: Dict[str, Dict[str, str]]  # id -> Ray node id -> template (ant-ray)


class Watch:
    """Samples the sidecar, the members and ant-ray every ``poll_s`` in a thread while in a ``with`` block."""

    def __init__(self, fed: "AntRayFederation", poll_s: float = 0.5) -> None:
        self._fed = fed
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="antray-watch", daemon=True)
        self._t0 = time.monotonic()
        self.samples: List[Sample] = []

    def __enter__(self) -> "Watch":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(15)
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            self._sample()

    def _sample(self) -> None:
        try:
            nodes = self._fed.sidecar.nodes()
            pods: Dict[str, List[str]] = {}
            for items in self._fed.members.worker_pods().values():
                for p in items:
                    pods.setdefault(p["metadata"]["labels"].get(POOL_LABEL, "?"), []).append(p["metadata"]["name"])
            vcs = self._fed.dashboard.virtual_clusters()
        except (OSError, HarnessError, ValueError, KeyError):
            return
        self.samples.append(Sample(time.monotonic() - self._t0, nodes, pods, vcs))

    def ray_ids_of_pool(self, pool: str) -> set:
        """Ray node ids (the sidecar's internalIp here) of every worker of ``pool`` the sidecar listed."""
        return {n["internalIp"] for s in self.samples for n in s.nodes if n.get("pool") == pool and n.get("internalIp")}

    def ever_in(self, vc: str) -> Dict[str, str]:
        """Every node ever seen in virtual cluster ``vc``: Ray node id -> template."""
        out: Dict[str, str] = {}
        for s in self.samples:
            out.update(s.virtual_clusters.get(vc, {}))
        return out

    def most_pods(self, pool: str) -> int:
        return max((len(s.pods.get(pool, [])) for s in self.samples), default=0)

    def most_nodes_in(self, vc: str) -> int:
        return max((len(s.virtual_clusters.get(vc, {})) for s in self.samples), default=0)

    def history(self, limit: int = 60) -> str:
        """What changed between samples (workers, pods by pool, virtual clusters' nodes), a line per change, the
        last ``limit`` of them: what a failed wait needs to tell a worker that never came from one that came and
        went unseen by the test's own condition."""
        lines: List[str] = []
        last: Optional[str] = None
        for s in list(self.samples):
            now = json.dumps({"workers": sorted(f"{n.get('pool')}:{n.get('id')}:{n.get('status', n.get('state'))}"
                                                for n in s.nodes),
                              "pods": {pool: len(names) for pool, names in sorted(s.pods.items())},
                              "virtualClusters": {vc: sorted(ids) for vc, ids in sorted(s.virtual_clusters.items())}},
                             sort_keys=True)
            if now != last:
                lines.append(f"t={s.at:6.1f}s {now}")
                last = now
        return f"--- watch: {len(self.samples)} samples, {len(lines)} changes ---\n" + "\n".join(lines[-limit:])


class AntRayFederation:
    """The simulated members, a sidecar for them with ``antRay`` on, and an ant-ray head with its dashboard."""

    def __init__(self, members: SimulatedMembers, sidecar: Sidecar, head: RayHead, proxy: DashboardProxy,
                 dashboard: Dashboard, python: Path, marker: str, work_dir: Path) -> None:
        self.members = members
        self.sidecar = sidecar
        self.head = head
        self.proxy = proxy
        self.dashboard = dashboard
        self.python = python
        self.marker = marker
        self.work_dir = work_dir
        self._runs = itertools.count(1)
        self._jobs: List[Job] = []
        self._watch: Optional[Watch] = None

    @property
    def autoscaler(self) -> str:
        return self.head.autoscaler

    @classmethod
    def start(cls, sidecar_jar: Path, members: SimulatedMembers,
              sidecar_config: Callable[[List[Member], str, str], Mapping[str, Any]], ray_bin: Path, autoscaler: str,
              work_dir: Path, marker: str, cluster_name: str, head_cpus: int, virtual_clusters: Sequence[str],
              idle_timeout_minutes: float = 0.1, progress: Callable[[str], None] = lambda s: None) -> "AntRayFederation":
        """Starts the sidecar (its dashboard URL: the proxy), generates the autoscaling config with the plugin's
        generator, starts the ant-ray head with its dashboard, and waits until ant-ray lists every virtual cluster
        (the sidecar creates them once the dashboard answers)."""
        work_dir.mkdir(parents=True, exist_ok=True)
        gcs_port, dashboard_port = free_port(), free_port()
        proxy = DashboardProxy(dashboard_port)
        progress("starting the sidecar (antRay on)")
        sidecar = Sidecar.start(sidecar_jar, sidecar_config(members.members, f"127.0.0.1:{gcs_port}", proxy.url),
                                work_dir / "sidecar", marker)
        head = None
        try:
            head_node_id = new_node_id()
            config_file = work_dir / "autoscaling.yaml"
            progress("generating the autoscaling config (python -m ray_federation.config)")
            generate_autoscaling_config(python_of(ray_bin), sidecar.url, head_node_id, config_file, cluster_name,
                                        idle_timeout_minutes, marker)
            progress(f"starting the ant-ray head with its dashboard and autoscaler {autoscaler}")
            temp_dir = work_dir / "ray"
            if len(str(temp_dir)) > 40:
                raise HarnessError(f"{temp_dir}: too long for Ray's socket paths; use a short work dir under /tmp")
            head = RayHead.start(ray_bin, config_file, gcs_port, temp_dir, work_dir / "head.log", head_node_id,
                                 autoscaler, marker, dashboard_port=dashboard_port, num_cpus=head_cpus)
            dashboard = Dashboard(f"http://127.0.0.1:{dashboard_port}")
            wait_until(dashboard.ready, 180, "ant-ray's dashboard to answer", poll_s=1.0,
                       diagnostics=lambda: f"--- {head.process.log} ---\n{head.process.log_tail()}")
            fed = cls(members, sidecar, head, proxy, dashboard, python_of(ray_bin), marker, work_dir)
            progress("waiting for the sidecar to create the virtual clusters in ant-ray")
            wait_until(lambda: set(virtual_clusters) <= set(dashboard.virtual_clusters()), 120,
                       "the sidecar to create every virtual cluster in ant-ray", poll_s=1.0, diagnostics=fed.diagnostics)
            return fed
        except BaseException:
            if head is not None:
                head.stop()
            sidecar.stop()
            proxy.go_away()
            raise

    # ------------------------------------------------------------------------------------------- doing

    def submit(self, virtual_cluster: str, resource: str, args: Sequence[str]) -> Job:
        """A job of ``vc_job.py`` in ``virtual_cluster``; its supervisor asks for one unit of ``resource`` (ant-ray
        places a job's supervisor inside its virtual cluster, so it must ask for something that brings a worker of
        the virtual cluster up, and leave that worker's CPU to the tasks). The script is run by its path: every
        worker runs on this machine (a ``working_dir`` would be unpacked into the session directory all of them
        share, and removed from under the others when one of them goes)."""
        job_id = self.dashboard.jobs().submit_job(
            entrypoint=" ".join([str(self.python), str(JOB_DIR / "vc_job.py"), *args]),
            virtual_cluster_id=virtual_cluster, entrypoint_resources={resource: 1},
            submission_id=f"{virtual_cluster}-{args[0]}-{os.getpid()}-{next(self._runs)}-{self.autoscaler}")
        job = Job(self.dashboard, job_id, virtual_cluster)
        self._jobs.append(job)
        return job

    def stop_jobs(self) -> None:
        """Stops every job submitted so far that still runs (after a failed test)."""
        for job in self._jobs:
            job.stop()
        self._jobs.clear()

    def driver(self, args: Sequence[str], timeout_s: float = 120.0) -> Any:
        """Runs ``ar_driver.py`` (a Ray driver outside any virtual cluster) to the end; returns its RESULT."""
        argv = [str(self.python), str(HERE / "ar_driver.py"), "--address", self.head.address, *args]
        log = self.work_dir / f"driver-{next(self._runs):02d}-{args[0]}.log"
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                              env=marked_env(self.marker, RAY_USAGE_STATS_ENABLED="0"))
        log.write_text(f"$ {' '.join(argv)}\n{done.stdout}\n--- stderr ---\n{done.stderr}")
        for line in reversed(done.stdout.splitlines()):
            if line.startswith("RESULT ") and done.returncode == 0:
                return json.loads(line[len("RESULT "):])
        raise HarnessError(f"ar_driver.py {' '.join(args)} failed ({done.returncode}); see {log}:\n{done.stderr[-2000:]}")

    def request_resources(self, bundles: List[Dict[str, float]]) -> None:
        self.driver(["request", json.dumps(bundles)])

    def watch(self) -> Watch:
        """A new watch; the diagnostics show its history of changes from then on."""
        self._watch = Watch(self)
        return self._watch

    # ------------------------------------------------------------------------------------------- looking

    def antray_status(self) -> Dict[str, Dict[str, Any]]:
        """Our virtual cluster -> the antRay view of GET /v1/pools."""
        return {vc["name"]: vc.get("antRay") or {} for vc in self.sidecar.get("/v1/pools")["virtualClusters"]}

    def metrics(self) -> str:
        with urllib.request.urlopen(self.sidecar.management_url + "/metrics", timeout=10) as r:
            return r.read().decode()

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the sidecar's samples of ``name`` whose labels include ``labels`` (0 when there is none)."""
        total = 0.0
        for line in self.metrics().splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            series, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in series for k, v in labels.items()):
                total += float(value)
        return total

    def pods_of(self, pool: str) -> List[str]:
        return [p["metadata"]["name"] for items in self.members.worker_pods().values() for p in items
                if p["metadata"]["labels"].get(POOL_LABEL) == pool]

    def no_workers_left(self) -> bool:
        return not self.sidecar.nodes() and not any(self.members.worker_pods().values())

    def await_no_workers(self, timeout_s: float = 240.0, what: str = "every worker to be gone") -> None:
        wait_until(self.no_workers_left, timeout_s, what, poll_s=1.0, diagnostics=self.diagnostics)

    def in_step(self) -> bool:
        """The sidecar reports every virtual cluster in step with ant-ray: no error, nothing left to move."""
        return all(s.get("lastError") is None and s.get("pendingMoves") == 0 and s.get("lastSyncAt")
                   for s in self.antray_status().values())

    def diagnostics(self) -> str:
        parts = [f"--- sidecar GET /v1/nodes ---\n{_safe(lambda: json.dumps(self.sidecar.nodes(), indent=1))}",
                 f"--- sidecar antRay views ---\n{_safe(lambda: json.dumps(self.antray_status(), indent=1))}",
                 f"--- ant-ray virtual clusters ---\n{_safe(lambda: json.dumps(self.dashboard.virtual_clusters(), indent=1))}",
                 f"--- pods ---\n{_safe(self._pod_names)}",
                 f"--- ray status ---\n{_safe(self.head.status)}",
                 self.head.monitor_tail(60),
                 f"--- {self.sidecar.process.log} ---\n{self.sidecar.log_tail(40)}",
                 self.members.worker_log_tails(8)]
        parts += [job.describe() for job in self._jobs[-2:]]
        if self._watch is not None:
            parts.append(self._watch.history())
        return "\n".join(parts)

    def _pod_names(self) -> str:
        return json.dumps({m: [p["metadata"]["name"] for p in ps] for m, ps in self.members.worker_pods().items()})

    def stop(self) -> None:
        """Lets go of any resource request, terminates what is left while the head is up, stops head and sidecar."""
        try:
            self.proxy.come_back()
            self.request_resources([])
            ids = [n["id"] for n in self.sidecar.nodes()]
            if ids:
                self.sidecar.post("/v1/nodes:terminate", {"ids": ids})
            wait_until(lambda: not any(self.members.worker_pods().values()), 90, "the workers to go at teardown", poll_s=1)
        except (AssertionError, OSError, HarnessError, subprocess.TimeoutExpired):
            pass
        finally:
            self.head.stop()
            self.sidecar.stop()
            self.proxy.go_away()


def _safe(call: Callable[[], str]) -> str:
    try:
        return call()
    except Exception as e:  # diagnostics must never hide the real failure
        return f"(unavailable: {e})"

