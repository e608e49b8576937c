#!/usr/bin/env python3
"""The KubeRay tier: the ray-federation chart installed with `helm install` next to the real KubeRay operator.

    tests/kuberay/kuberay_tier.py [--versions v1.4.0,v1.5.0] [--report-dir DIR] [--update-docs] [--work-dir DIR]

One real control plane (scripts/lib/kube-member: etcd, kube-apiserver, controller-manager, scheduler, kwok nodes)
serves as the home cluster. For each KubeRay version (scripts/lib/kuberay-operator builds it once) the tier applies
that version's CRDs server-side, runs its operator as a local process against the API server, and installs the
chart with kubeRay.rayCluster.create=true in every autoscaler mode (kuberay, rayStart, auto) with autoscaler v1 and
v2, each in a namespace of its own, next to ray-federation-member for the home member. A combination the chart
supports must give a RayCluster stored exactly as applied (nothing pruned by an older CRD), a head pod that the
operator made with the containers, commands, mounts and restart behaviour the mode promises, no KubeRay worker
group, and a sidecar whose ServiceAccount holds only the member chart's Role. A combination it does not support
must be refused by `helm install` with the chart's message, leaving nothing behind. The RayCluster examples are
applied with strict field validation against each version's CRDs; the rayStart example is applied for real and
must get a head pod.

kwok runs no containers: the head pod is Running as far as Kubernetes knows, but no Ray, sidecar or plugin runs in
it. What the tier proves is what the API server stores and what the operator builds from it.

The report is a JUnit XML file (one test case per combination and example) in --report-dir, and a summary line
"N passed, N failed". --update-docs rewrites the compatibility table in docs/kuberay.md from this run's results.
Every process the tier starts is stopped when it ends, also on failure or SIGTERM. Python 3 standard library only.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "ray-federation"
MEMBER_CHART = ROOT / "charts" / "ray-federation-member"
DOCS = ROOT / "docs" / "kuberay.md"
VERSIONS = ["v1.4.0", "v1.5.0", "v1.6.0", "v1.6.2"]   # v1.7.0: the module proxy refuses its module archive
MODES = ["kuberay", "rayStart", "auto"]
AUTOSCALERS = ["v1", "v2"]
RELEASE = "ray-federation"            # so the sidecar's ServiceAccount is ray-federation, the head pod's ray-federation-head
CLUSTER = "ray-cluster"
REFUSAL = "autoscaler.mode: kuberay needs KubeRay 1.7.0 or newer"
GENERATOR = "python -m ray_federation.config"
SA_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEADLINE = 90.0                       # seconds for anything the operator or a controller does


def log(msg):
    print(f"kuberay-tier: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def await_value(what, probe, deadline=DEADLINE):
    """Polls probe() until it returns something truthy; fails naming what was awaited and the last value."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = probe()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {deadline:.0f} s waiting for {what} (last: {last!r})")


def semver(v):
    return tuple(int(x) for x in v.lstrip("v").split("."))


def supports_autoscaler_command(version):
    """KubeRay 1.7.0 added spec.autoscalerOptions.command/args, which mode kuberay needs."""
    return semver(version) >= (1, 7, 0)


def expected_mode(version, mode):
    """The mode the chart runs, or None where it must refuse."""
    if mode == "auto":
        return "kuberay" if supports_autoscaler_command(version) else "rayStart"
    if mode == "kuberay" and not supports_autoscaler_command(version):
        return None
    return mode


# ------------------------------------------------------------------------------------------- processes and tools

class Kube:
    """kubectl and helm against one API server with its admin kubeconfig."""

    def __init__(self, bin_dir, kubeconfig):
        self.kubectl_bin = str(Path(bin_dir) / "kubectl")
        self.env = dict(os.environ, KUBECONFIG=str(kubeconfig))

    def run(self, cmd, stdin=None, check=True):
        r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r

    def kubectl(self, *args, stdin=None, check=True):
        return self.run([self.kubectl_bin, *args], stdin=stdin, check=check)

    def helm(self, *args, check=True):
        return self.run([str(ROOT / "scripts" / "lib" / "helm"), *args], check=check)

    def get(self, *args):
        r = self.kubectl("get", *args, "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def to_json(self, manifests):
        """YAML manifests as JSON objects, converted by kubectl (no YAML library needed)."""
        text = self.kubectl("create", "--dry-run=client", "-o", "json", "-f", "-", stdin=manifests).stdout
        objects, decoder, i = [], json.JSONDecoder(), 0
        while text[i:].strip():                      # one JSON document per object, one after another
            i += len(text[i:]) - len(text[i:].lstrip())
            obj, i = decoder.raw_decode(text, i)
            objects += obj["items"] if obj.get("kind") == "List" else [obj]
        return objects


class Operator:
    """One KubeRay operator process, started by pid and always stopped."""

    def __init__(self, kube, version, home, log_dir):
        self.kube, self.version, self.home = kube, version, Path(home)
        self.log_path = Path(log_dir) / f"ray-operator-{version}.log"
        self.proc = None

    def __enter__(self):
        probe = free_port()
        cmd = [str(self.home / "bin" / "ray-operator"), f"--metrics-addr=127.0.0.1:{free_port()}",
               f"--health-probe-bind-address=127.0.0.1:{probe}", "--enable-leader-election=false"]
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         env=self.kube.env, start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"the KubeRay {self.version} operator exited ({self.proc.returncode}); "
                                     f"see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{probe}/readyz", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        await_value(f"the KubeRay {self.version} operator's /readyz", ready)
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------------------------------------------- results

@dataclass
class Result:
    name: str                     # the JUnit test case
    version: str
    column: str                   # the compatibility table's column
    outcome: str = ""             # what the table says
    problems: list = field(default_factory=list)
    seconds: float = 0.0


class Checks:
    """Collects every failed expectation of one test case instead of stopping at the first."""

    def __init__(self, result):
        self.result = result

    def that(self, condition, message):
        if not condition:
            self.result.problems.append(message)
        return condition


# ------------------------------------------------------------------------------------------------- the cases

def subset_problems(applied, stored, path="spec"):
    """Paths whose applied value the API server did not keep (pruned by the CRD's schema, or changed)."""
    if isinstance(applied, dict):
        if not isinstance(stored, dict):
            return [f"{path}: stored as {stored!r}"]
        out = []
        for k, v in applied.items():
            if k not in stored:
                out.append(f"{path}.{k}: pruned by the API server")
            else:
                out += subset_problems(v, stored[k], f"{path}.{k}")
        return out
    if isinstance(applied, list):
        if not isinstance(stored, list) or len(stored) != len(applied):
            return [f"{path}: stored as {stored!r}"]
        return [p for i, (a, s) in enumerate(zip(applied, stored)) for p in subset_problems(a, s, f"{path}[{i}]")]
    return [] if applied == stored else [f"{path}: applied {applied!r}, stored {stored!r}"]


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def script_of(container):
    return " ".join(container.get("command", []) + container.get("args", []))


def check_head_pod(c, pod, mode, autoscaler):
    """The head pod the operator built: containers, commands, mounts, identity and restart behaviour."""
    spec = pod["spec"]
    containers = {x["name"]: x for x in spec["containers"]}
    inits = {x["name"]: x for x in spec.get("initContainers", [])}
    c.that(list(containers) == (["ray-head", "autoscaler"] if mode == "kuberay" else ["ray-head"]),
           f"head pod containers are {list(containers)}")
    sidecar = inits.get("ray-federation")
    c.that(sidecar is not None and sidecar.get("restartPolicy") == "Always" and "ray-federation" not in containers,
           "the sidecar is not a native sidecar (an init container with restartPolicy Always), so it is not restarted "
           f"when it exits in a pod with restartPolicy {spec.get('restartPolicy')}")
    if mode == "kuberay" and autoscaler == "v2":
        c.that(spec.get("restartPolicy") == "Never", f"KubeRay's v2 head pod has restartPolicy {spec.get('restartPolicy')}")
    for x in list(containers.values()) + list(inits.values()):
        names = [e["name"] for e in x.get("env", [])]
        c.that(len(names) == len(set(names)), f"{x['name']} has duplicate env names: {names}")
    c.that(spec.get("serviceAccountName") == f"{RELEASE}-head", f"the head pod runs as {spec.get('serviceAccountName')}")
    holders = sorted(n for n, x in {**containers, **inits}.items()
                     if any(m["mountPath"] == SA_TOKEN_DIR for m in x.get("volumeMounts", [])))
    c.that(holders == ["ray-federation"], f"containers holding a ServiceAccount token: {holders} (only the sidecar)")
    api_token = sorted(n for n, x in containers.items()
                       if any(m["mountPath"] == "/var/run/secrets/ray-federation" for m in x.get("volumeMounts", [])))
    head = containers.get("ray-head", {})
    start_line = env_of(head).get("KUBERAY_GEN_RAY_START_CMD") or ""
    if mode == "kuberay":
        auto = containers.get("autoscaler", {})
        module = "ray.autoscaler.v2.monitor" if autoscaler == "v2" else "ray.autoscaler._private.monitor"
        script = script_of(auto)
        c.that(-1 < script.find(GENERATOR) < script.find(f"python -m {module}")
               and "--autoscaling-config=/etc/ray-autoscaler/autoscaling.yaml" in script,
               f"KubeRay's autoscaler container does not generate the config and run {module}: {script[:300]}")
        c.that(api_token == ["autoscaler"], f"the API token is mounted into {api_token} (the autoscaler only)")
        c.that("--no-monitor" in start_line, f"KubeRay's ray start line lacks --no-monitor: {start_line}")
    else:
        script = script_of(head)
        c.that(-1 < script.find(GENERATOR) < script.find('eval "$KUBERAY_GEN_RAY_START_CMD"'),
               f"ray-head does not generate the config before KubeRay's ray start line: {script[:300]}")
        c.that("--autoscaling-config=/etc/ray-autoscaler/autoscaling.yaml" in start_line and "--no-monitor" not in start_line,
               f"KubeRay's ray start line does not start Ray's monitor with the config: {start_line}")
        c.that(("export RAY_enable_autoscaler_v2=1;" in script) == (autoscaler == "v2")
               and "RAY_enable_autoscaler_v2" not in env_of(head),
               f"autoscaler {autoscaler} must be switched on in ray-head's shell only: env {sorted(env_of(head))}")
        c.that(api_token == ["ray-head"], f"the API token is mounted into {api_token} (ray-head runs the plugin)")


def check_identity(c, kube, ns, mode):
    """The sidecar's ServiceAccount holds the member chart's Role only, never KubeRay's autoscaler Role."""
    sidecar = f"system:serviceaccount:{ns}:{RELEASE}"

    def can(verb, resource, namespace):
        r = kube.kubectl("auth", "can-i", verb, resource, "-n", namespace, f"--as={sidecar}", check=False)
        return r.stdout.strip() == "yes"
    c.that(can("create", "pods", f"{ns}-workers"), "the sidecar cannot create pods in its workers' namespace")
    for verb, resource in (("patch", "pods"), ("get", "rayclusters.ray.io"), ("create", "pods"), ("get", "secrets")):
        c.that(not can(verb, resource, ns), f"the sidecar's ServiceAccount may {verb} {resource} in {ns}")
    bindings = kube.get("rolebindings", "-n", ns)["items"]
    theirs = [b["metadata"]["name"] for b in bindings
              if any(s.get("name") == RELEASE and s.get("kind") == "ServiceAccount" for s in b.get("subjects", []))]
    c.that(not theirs, f"RoleBindings in {ns} naming the sidecar's ServiceAccount: {theirs}")
    if mode == "kuberay":
        kuberay = [b for b in bindings if b["roleRef"]["name"] == CLUSTER]
        c.that(kuberay and kuberay[0]["subjects"][0]["name"] == f"{RELEASE}-head",
               f"KubeRay's autoscaler RoleBinding: {[b.get('subjects') for b in kuberay]}")
    token = await_value("the sidecar's token Secret to be filled in", lambda: (
        (kube.get("secret", f"{RELEASE}-token", "-n", ns) or {}).get("data", {}).get("token")))
    c.that(bool(token), "the sidecar's token Secret has no token")


def await_head_pod(kube, version, ns, cluster):
    """The head pod KubeRay creates for the RayCluster; fails at once with the operator's words if it refuses the spec."""
    def probe():
        events = (kube.get("events", "-n", ns, "--field-selector", "reason=InvalidRayClusterSpec") or {}).get("items", [])
        refused = [e["message"] for e in events if e["involvedObject"].get("name") == cluster]
        if refused:
            raise AssertionError(f"KubeRay {version} refused RayCluster {ns}/{cluster}: {refused[0]}")
        pods = kube.get("pods", "-n", ns, "-l", f"ray.io/cluster={cluster},ray.io/node-type=head") or {}
        return next(iter(pods.get("items", [])), None)
    return await_value(f"KubeRay {version} to create the head pod of {ns}/{cluster}", probe)


def install_case(kube, version, mode, autoscaler, result):
    c = Checks(result)
    ns = f"k{version.replace('.', '').lstrip('v')}-{mode.lower()}-{autoscaler}"
    want = expected_mode(version, mode)
    r = kube.helm("install", RELEASE, str(CHART), "-n", ns, "--create-namespace", "--set", "kubeRay.rayCluster.create=true",
                  "--set", f"autoscaler.mode={mode}", "--set", f"autoscaler.version={autoscaler}", check=False)
    if want is None:
        c.that(r.returncode != 0 and REFUSAL in r.stderr, f"helm install was not refused with the chart's message: "
                                                          f"exit {r.returncode}\n{r.stderr[-600:]}")
        c.that(not (kube.get("rayclusters", "-n", ns) or {}).get("items"), "a refused install left a RayCluster behind")
        result.outcome = "refused"
        return
    if not c.that(r.returncode == 0, f"helm install failed:\n{r.stderr[-1500:]}"):
        return
    c.that("unknown field" not in r.stderr, f"the API server dropped fields: {r.stderr}")
    if mode == "auto":
        c.that(f"(provider external, {autoscaler}, mode {want})" in r.stdout
               and (want == "kuberay" or "Mode auto chose rayStart: the RayCluster CRD in this cluster" in r.stdout),
               f"the notes do not say that mode auto runs {want}, and why:\n{r.stdout[:800]}")
    kube.helm("install", "home-member", str(MEMBER_CHART), "-n", ns, "--set", "memberName=home",
              "--set", "serviceAccount.create=false", "--set", f"serviceAccount.name={RELEASE}",
              "--set", f"serviceAccount.namespace={ns}", "--set", f"namespace.name={ns}-workers",
              "--set", "namespace.create=true", "--set", "tokenSecret.create=true")
    applied = next(o for o in kube.to_json(kube.helm("get", "manifest", RELEASE, "-n", ns).stdout)
                   if o["kind"] == "RayCluster")
    stored = kube.get("raycluster", CLUSTER, "-n", ns)
    problems = subset_problems(applied["spec"], stored["spec"])
    c.that(not problems, "the stored RayCluster differs from the applied one: " + "; ".join(problems[:8]))
    c.that(stored["spec"].get("enableInTreeAutoscaling") is (want == "kuberay"),
           f"mode {mode} ran as enableInTreeAutoscaling={stored['spec'].get('enableInTreeAutoscaling')} (want {want})")
    c.that(stored["spec"].get("workerGroupSpecs") in (None, []), "the RayCluster has a KubeRay worker group")
    pod = await_head_pod(kube, version, ns, CLUSTER)
    check_head_pod(c, pod, want, autoscaler)
    await_value(f"the head pod in {ns} to be Running (kwok)", lambda: (
        (kube.get("pod", pod["metadata"]["name"], "-n", ns) or {}).get("status", {}).get("phase") == "Running"))
    workers = (kube.get("pods", "-n", ns, "-l", "ray.io/node-type=worker") or {}).get("items", [])
    c.that(not workers, f"KubeRay made worker pods: {[w['metadata']['name'] for w in workers]}")
    check_identity(c, kube, ns, want)
    result.outcome = "works" if mode != "auto" else f"works ({want})"


# The smallest CRDs that make the API server serve the Prometheus Operator's two kinds (their schemas do not matter).
PROMETHEUS_CRDS = "\n---\n".join(json.dumps({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{plural}.monitoring.coreos.com"},
    "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
             "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    for kind, plural in (("ServiceMonitor", "servicemonitors"), ("PrometheusRule", "prometheusrules")))


def prometheus_case(kube, result):
    """ServiceMonitor and PrometheusRule are left out where the cluster lacks their kinds, and installed where not."""
    c = Checks(result)
    monitoring = ["--set", "serviceMonitor.enabled=true", "--set", "monitoring.prometheusRule.enabled=true"]
    r = kube.helm("install", RELEASE, str(CHART), "-n", "monitoring-absent", "--create-namespace", *monitoring, check=False)
    c.that(r.returncode == 0 and "(no ServiceMonitor: this cluster has no monitoring.coreos.com/v1 ServiceMonitor" in r.stdout
           and "(no PrometheusRule:" in r.stdout,
           f"without the Prometheus Operator's CRDs helm install must succeed and say what it left out: {r.stderr[-600:]}")
    kube.kubectl("apply", "-f", "-", stdin=PROMETHEUS_CRDS)
    kube.kubectl("wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com",
                 "crd/prometheusrules.monitoring.coreos.com", "--timeout=60s")
    r = kube.helm("install", RELEASE, str(CHART), "-n", "monitoring-present", "--create-namespace", *monitoring, check=False)
    c.that(r.returncode == 0, f"helm install with the Prometheus Operator's CRDs failed: {r.stderr[-600:]}")
    for kind in ("servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"):
        c.that(kube.get(kind, RELEASE, "-n", "monitoring-present") is not None, f"no {kind} {RELEASE} where the kind is served")
    result.outcome = "left out without the CRDs, installed with them"


EXAMPLES = {"raycluster-ray-start.yaml": "rayStart", "raycluster-kuberay-autoscaler.yaml": "kuberay"}


def example_case(kube, version, example, result):
    """Strict server-side validation against this version's CRDs; the rayStart example also gets its head pod."""
    c = Checks(result)
    path = CHART / "examples" / example
    r = kube.kubectl("apply", "--dry-run=server", "--validate=strict", "-f", str(path), check=False)
    mode = EXAMPLES[example]
    if mode == "kuberay" and not supports_autoscaler_command(version):
        c.that(r.returncode != 0 and 'unknown field "spec.autoscalerOptions.' in r.stderr,
               f"strict apply was not refused for the missing autoscalerOptions.command/args: {r.stdout}{r.stderr}")
        result.outcome = "refused (unknown field spec.autoscalerOptions.command)"
        return
    if not c.that(r.returncode == 0, f"strict apply failed: {r.stderr}"):
        return
    kube.kubectl("apply", "-f", str(path))
    name = kube.to_json(path.read_text())[0]["metadata"]["name"]
    try:
        await_head_pod(kube, version, "ray", name)
    finally:
        kube.kubectl("delete", "-f", str(path), "--wait=false")
    result.outcome = "applies"


# -------------------------------------------------------------------------------------------- run and report

def run_case(result, case):
    """Runs one test case; any failure, expected or not, is the case's, and the next case still runs."""
    started = time.monotonic()
    try:
        case(result)
    except (AssertionError, subprocess.CalledProcessError, KeyError, StopIteration, ValueError) as e:
        result.problems.append(f"{type(e).__name__}: {e}")
    result.seconds = time.monotonic() - started
    log(f"{'ok  ' if not result.problems else 'FAIL'} {result.name}: {result.outcome or '-'}"
        + "".join(f"\n      {p}" for p in result.problems))
    return result


def run_version(kube, version, log_dir, results):
    started = time.monotonic()
    build = subprocess.run([str(ROOT / "scripts" / "lib" / "kuberay-operator"), version], stdout=subprocess.PIPE, text=True)
    if build.returncode != 0:
        results.append(Result(f"KubeRay {version}: operator", version, "operator", "not built",
                              ["scripts/lib/kuberay-operator failed (see its output above)"]))
        return
    home = build.stdout.strip()
    log(f"KubeRay {version}: operator ready in {time.monotonic() - started:.0f} s ({home})")
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(Path(home) / "crd"))
    kube.kubectl("wait", "--for=condition=Established", "crd/rayclusters.ray.io", "--timeout=60s")
    with Operator(kube, version, home, log_dir):
        installs = [(f"{mode} {autoscaler}", lambda r, m=mode, a=autoscaler: install_case(kube, version, m, a, r))
                    for mode in MODES for autoscaler in AUTOSCALERS]
        examples = [(f"examples/{e}", lambda r, e=e: example_case(kube, version, e, r)) for e in EXAMPLES]
        # the installs use a namespace each and wait mostly on helm, the API server and the operator: run a few at once
        with ThreadPoolExecutor(max_workers=3) as pool:
            results += pool.map(lambda c: run_case(Result(f"KubeRay {version}: {c[0]}", version, c[0]), c[1]), installs)
        results += [run_case(Result(f"KubeRay {version}: {column}", version, column), case) for column, case in examples]
        # the next version's operator must not inherit this one's clusters
        kube.kubectl("delete", "rayclusters", "--all", "--all-namespaces", "--wait=false")


def write_junit(results, path, seconds):
    suite = ET.Element("testsuite", name="kuberay-tier", tests=str(len(results)),
                       failures=str(sum(1 for r in results if r.problems)), errors="0", skipped="0",
                       time=f"{seconds:.1f}")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"kuberay.{r.version}", name=r.column, time=f"{r.seconds:.1f}")
        if r.problems:
            ET.SubElement(case, "failure", message=r.problems[0][:200]).text = "\n".join(r.problems)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


TABLE_BEGIN, TABLE_END = "<!-- kuberay-tier table: begin -->", "<!-- kuberay-tier table: end -->"


def compatibility_table(results):
    columns = [f"{m} {a}" for m in MODES for a in AUTOSCALERS] + [f"examples/{e}" for e in EXAMPLES]
    versions = sorted({r.version for r in results if r.column in columns}, key=semver)
    cell = {(r.version, r.column): (r.outcome if not r.problems else "FAILED") for r in results}
    lines = ["| KubeRay | " + " | ".join(f"`{c}`" if c.startswith("examples/") else f"mode `{c.split()[0]}`, "
                                        f"autoscaler {c.split()[1]}" for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for v in versions:
        lines.append(f"| {v} | " + " | ".join(cell.get((v, c), "not run") for c in columns) + " |")
    return "\n".join(lines)


def update_docs(results, kubernetes):
    text = DOCS.read_text()
    if TABLE_BEGIN not in text or TABLE_END not in text:
        raise SystemExit(f"{DOCS}: no {TABLE_BEGIN} ... {TABLE_END} markers to put the table between")
    head, rest = text.split(TABLE_BEGIN, 1)
    _, tail = rest.split(TABLE_END, 1)
    versions = ",".join(sorted({r.version for r in results if r.version != "any"}, key=semver))
    note = (f"Generated by `tests/kuberay/kuberay_tier.py --versions {versions} --update-docs` on "
            f"{time.strftime('%Y-%m-%d')} (Kubernetes {kubernetes}).")
    DOCS.write_text(f"{head}{TABLE_BEGIN}\n{compatibility_table(results)}\n\n{note}\n{TABLE_END}{tail}")
    log(f"wrote the compatibility table into {DOCS}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--versions", default=",".join(VERSIONS), help=f"KubeRay versions (default {','.join(VERSIONS)})")
    p.add_argument("--report-dir", default=str(ROOT / "target" / "test-reports"), help="where kuberay.xml goes")
    p.add_argument("--work-dir", help="keep the control plane's files and logs here (default: a temp dir)")
    p.add_argument("--update-docs", action="store_true", help="rewrite the compatibility table in docs/kuberay.md")
    args = p.parse_args()
    versions = [f"v{v.strip().lstrip('v')}" for v in args.versions.split(",") if v.strip()]
    for v in versions:
        if not re.fullmatch(r"v\d+\.\d+\.\d+", v):
            raise SystemExit(f"--versions: {v!r} is not a KubeRay release such as v1.6.0")
    # SIGTERM (scripts/test's trap, CI's stop) unwinds through the finally blocks that stop our processes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="kuberay-tier."))
    member_dir = work / "home"
    started = time.monotonic()
    results = []
    try:
        # kube-member binds its own sidecar account in --namespace; rf-member keeps it apart from every namespace here
        state = json.loads(subprocess.run(
            [str(ROOT / "scripts" / "lib" / "kube-member"), "start", "home", str(member_dir), "--namespace", "rf-member"],
            stdout=subprocess.PIPE, text=True, check=True).stdout)
        kube = Kube(state["bin"], member_dir / "admin.kubeconfig")
        kube.kubectl("create", "namespace", "ray")
        kube.kubectl("create", "serviceaccount", f"{RELEASE}-head", "-n", "ray")   # the examples' head pod runs as it
        log(f"home cluster ready in {state['startSeconds']} s; KubeRay versions {', '.join(versions)}")
        results.append(run_case(Result("Prometheus Operator kinds", "any", "prometheus"),
                                lambda r: prometheus_case(kube, r)))
        for version in versions:
            run_version(kube, version, member_dir / "logs", results)
    finally:
        subprocess.run([str(ROOT / "scripts" / "lib" / "kube-member"), "stop", str(member_dir)], check=False)
    seconds = time.monotonic() - started
    write_junit(results, Path(args.report_dir) / "kuberay.xml", seconds)
    failed = sum(1 for r in results if r.problems)
    print(compatibility_table(results))
    print(f"kuberay: {len(results) - failed} passed, {failed} failed ({seconds:.0f} s"
          + (f"; logs in {work})" if failed or args.work_dir else ")"))
    if not args.work_dir and not failed:
        shutil.rmtree(work, ignore_errors=True)
    if args.update_docs and not failed:
        update_docs(results, Path(state["bin"]).parent.name.removeprefix("kube-"))
    elif args.update_docs:
        log("not updating docs/kuberay.md: some combinations failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
