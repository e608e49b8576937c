"""Behavioural checks on the charts' rendered output (run by charts/test.sh, needs PyYAML).

Usage: python3 charts/test_rendered.py RENDERED_DIR

Each check states what a user of the chart relies on: the sidecar finds its kubeconfigs where
federation.yaml says they are, Ray's autoscaler gets every key it reads, the pod is restricted, the
member's RBAC is exactly the least privilege documented, and so on. Every failed check is reported.
"""
import pathlib
import shlex
import sys

import yaml

CHARTS = pathlib.Path(__file__).resolve().parent
FULL_VALUES = yaml.safe_load((CHARTS / "ray-federation/examples/full-values.yaml").read_text())

GENERATOR = "python -m ray_federation.config"

problems = []
checks = 0


def check(condition, message):
    global checks
    checks += 1
    if not condition:
        problems.append(message)


def objects(rendered, name):
    docs = [d for d in yaml.safe_load_all((rendered / f"{name}.yaml").read_text()) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def data_yaml(objs, kind_name, key):
    return yaml.safe_load(objs[kind_name]["data"][key])


def generator_options(script):
    """The options of the `python -m ray_federation.config` command in a container's shell script, as a dict
    (flags without a value map to True); None when the script does not run the generator."""
    if GENERATOR not in script:
        return None
    command = script[script.index(GENERATOR):].split("||")[0].split(";")[0]
    words = shlex.split(command)[3:]
    options, i = {}, 0
    while i < len(words):
        if i + 1 < len(words) and not words[i + 1].startswith("-"):
            options[words[i]] = words[i + 1]
            i += 2
        else:
            options[words[i]] = True
            i += 1
    return options


def no_ray_resources_in_the_chart(objs, name):
    """The chart renders no node types: their Ray resources come from the sidecar at container start."""
    check(not any(k == "ConfigMap" and n.endswith("-autoscaling") for k, n in objs),
          f"{name}: an autoscaling ConfigMap is rendered")
    check("available_node_types" not in yaml.safe_dump(list(objs.values())),
          f"{name}: the chart renders Ray node types itself")


def head_pod(raycluster):
    return raycluster["spec"]["headGroupSpec"]["template"]["spec"]


def container(pod, name):
    return next(c for c in pod["containers"] if c["name"] == name)


def mounted_file(mounts, volumes_by_name, path):
    """The (volume, path-inside-volume) that serves the absolute file path, or None."""
    best = None
    for m in mounts:
        prefix = m["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, m["name"])
    if best is None:
        return None
    return volumes_by_name.get(best[1]), path[len(best[0]):]


def volume_serves(volume, inner_path):
    """True when the volume projects a file at inner_path."""
    if volume is None:
        return False
    if "configMap" in volume:
        items = volume["configMap"].get("items")
        return items is None or any(i["path"] == inner_path for i in items)
    if "secret" in volume:
        items = volume["secret"].get("items")
        return items is None or any(i["path"] == inner_path for i in items)
    if "projected" in volume:
        for source in volume["projected"]["sources"]:
            body = source.get("configMap") or source.get("secret") or {}
            if any(i["path"] == inner_path for i in body.get("items", [])):
                return True
    return False


def check_defaults(rendered):
    objs = objects(rendered, "fed-defaults")
    fed = data_yaml(objs, ("ConfigMap", "ray-federation-config"), "federation.yaml")
    check(fed["rayCluster"] == {"name": "ray-cluster", "headAddress": "ray-cluster-head-svc.ray.svc.cluster.local:6379"},
          f"defaults: rayCluster block is {fed['rayCluster']}")
    check(fed["api"] == {"listen": "127.0.0.1:8765", "tokenFile": "/var/run/secrets/ray-federation/token"},
          f"defaults: the API must listen on loopback and require the token: {fed['api']}")
    check(fed["management"] == {"listen": "0.0.0.0:9090"}, f"defaults: management is {fed['management']}")
    check([c["name"] for c in fed["clusters"]] == ["home"] and "kubeconfig" not in fed["clusters"][0],
          "defaults: one in-cluster member 'home' expected")
    check(set(fed) <= {"rayCluster", "api", "management", "clusters", "virtualClusters", "pools", "timing"},
          f"defaults: federation.yaml has keys outside the config format: {sorted(fed)}")
    no_ray_resources_in_the_chart(objs, "defaults")
    gen = generator_options(yaml.safe_load((rendered / "fed-notes-defaults.txt").read_text()
                                           .split("-" * 102)[2])["head"]["autoscalerOptions"]["args"][0])
    check(gen == {
        "--sidecar-url": "http://127.0.0.1:8765", "--wait-s": "300", "--cluster-name": "ray-cluster",
        "--idle-timeout-minutes": "5", "--upscaling-speed": "1", "--timeout-s": "4",
        "--token-file": "/var/run/secrets/ray-federation/token", "--head-node-type": "headgroup",
        "--head-resources": '{"CPU":0}', "--head-ip": "${RAY_FEDERATION_HEAD_IP}",
        "--head-node-id": "${RAY_FEDERATION_HEAD_POD_NAME}", "-o": "/etc/ray-autoscaler/autoscaling.yaml"},
        f"defaults: the autoscaling config is generated with {gen}")
    svc = objs[("Service", "ray-federation-management")]
    check(svc["spec"]["ports"] == [{"name": "management", "port": 9090, "targetPort": "management", "protocol": "TCP"}],
          f"defaults: management Service ports are {svc['spec']['ports']}")
    check(svc["spec"]["selector"] == {"ray.io/cluster": "ray-cluster", "ray.io/node-type": "head"},
          f"defaults: Service selects {svc['spec']['selector']}, not the KubeRay head pod")
    kinds = {k for k, _ in objs}
    check("ServiceMonitor" not in kinds and "RayCluster" not in kinds and "NetworkPolicy" not in kinds,
          f"defaults: optional objects rendered: {kinds}")
    worker = yaml.safe_load((CHARTS / "ray-federation/values.yaml").read_text())["pools"][0]["template"]["spec"]
    shm = [m for c in worker["containers"] for m in c.get("volumeMounts", []) if m["mountPath"] == "/dev/shm"]
    check(len(shm) == 1 and {"name": shm[0]["name"], "emptyDir": {"medium": "Memory"}} in worker.get("volumes", []),
          f"defaults: the default pool's workers need a memory-backed /dev/shm for Ray's object store: {worker}")
    check(fed["pools"][0]["template"]["spec"] == worker, "defaults: the default pool template is not rendered as written")


def check_token(rendered):
    """The API token is on by default: a generated Secret, mounted into the sidecar and the plugin's container only."""
    import base64
    token_path = "/var/run/secrets/ray-federation/token"
    objs = objects(rendered, "fed-defaults")
    secret = objs.get(("Secret", "ray-federation-api-token"))
    check(secret is not None, f"token: no generated Secret ray-federation-api-token among {sorted(objs)}")
    if secret:
        token = base64.b64decode(secret["data"]["token"]).decode()
        check(secret["type"] == "Opaque" and len(token) == 48 and token.isalnum(),
              f"token: the generated Secret holds no 48-character random token: {secret['type']} {len(token)}")
    for render in ("fed-full", "fed-open-api"):
        check(not any(k == "Secret" for k, _ in objects(rendered, render)),
              f"token: {render} names api.token.existingSecret, yet the chart generates one")
    for render, mode in (("fed-defaults-raycluster", "kuberay"), ("fed-defaults-raycluster-raystart", "rayStart"),
                         ("fed-full-raycluster-kuberay", "kuberay"), ("fed-full-raycluster-raystart", "rayStart")):
        rc = next(o for (k, _), o in objects(rendered, render).items() if k == "RayCluster")
        pod = head_pod(rc)
        volumes = {v["name"]: v for v in pod["volumes"]}
        holders = sorted(c["name"] for c in pod["containers"] + pod.get("initContainers", [])
                         if (mounted_file(c.get("volumeMounts", []), volumes, token_path) or (None,))[0] is not None)
        if mode == "kuberay":
            check(mounted_file(rc["spec"]["autoscalerOptions"]["volumeMounts"], volumes, token_path) is not None,
                  f"token: {render}: KubeRay's autoscaler container (the plugin) lacks the token")
            check(holders == ["ray-federation"], f"token: {render}: only the sidecar (and the autoscaler) may mount the "
                                                 f"token, ray-head runs tenants' job entrypoints: {holders}")
        else:
            check(holders == ["ray-federation", "ray-head"],
                  f"token: {render}: the plugin runs in ray-head in mode rayStart: {holders}")
        secret_name = next(v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v and v["name"] == "ray-federation-token")
        want = "ray-federation-api-token" if render.startswith("fed-defaults") else FULL_VALUES["api"]["token"]["existingSecret"]
        check(secret_name == want, f"token: {render}: the token volume reads Secret {secret_name}, expected {want}")
    objs = objects(rendered, "fed-no-token")
    fed = data_yaml(objs, ("ConfigMap", "ray-federation-config"), "federation.yaml")
    rc = objs[("RayCluster", "ray-cluster")]
    check(fed["api"] == {"listen": "127.0.0.1:8765"} and not any(k == "Secret" for k, _ in objs)
          and "ray-federation-token" not in {v["name"] for v in head_pod(rc)["volumes"]} and "--token-file" not in " ".join(
              rc["spec"]["autoscalerOptions"]["args"]),
          f"token: api.token.enabled=false must drop the token everywhere: {fed['api']}")


def admitting(policy, port, protocol="TCP"):
    """The ingress rules of a NetworkPolicy that admit a port, each as its `from` list (None: any source)."""
    found = []
    for rule in policy["spec"].get("ingress", []):
        for p in rule.get("ports", []):
            if p.get("protocol", "TCP") == protocol and p["port"] <= port <= p.get("endPort", p["port"]):
                found.append(rule.get("from"))
                break
    return found


def check_network_policy(rendered):
    """management only from the named peers, the API port from nobody outside the pod, Ray's ports as before."""
    for render, mgmt, api, ray_from in (
            ("fed-netpol", 9090, 8765, None),
            ("fed-netpol-open-api", 9090, 9091, [{"ipBlock": {"cidr": "10.0.0.0/8"}}])):
        objs = objects(rendered, render)
        policy = objs[("NetworkPolicy", "ray-federation")]
        svc = objs[("Service", "ray-federation-management")]
        check(policy["spec"]["podSelector"] == {"matchLabels": svc["spec"]["selector"]}
              and policy["spec"]["policyTypes"] == ["Ingress"],
              f"{render}: the policy must select the head pod (as the management Service does): {policy['spec']}")
        prometheus = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                       "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]
        want = [prometheus] if render == "fed-netpol" else []
        check(admitting(policy, mgmt) == want, f"{render}: management port {mgmt} admitted by {admitting(policy, mgmt)}")
        check(admitting(policy, api) == [], f"{render}: API port {api} admitted by {admitting(policy, api)}")
        for port in (1, 6379, 8265, 10001, api - 1, mgmt + 1, 65535):
            if port not in (api, mgmt):
                check(admitting(policy, port) == [ray_from], f"{render}: Ray's port {port} admitted by {admitting(policy, port)}")
        check(admitting(policy, 53, "UDP") == [ray_from], f"{render}: UDP not admitted like Ray's TCP ports")


def check_full(rendered):
    objs = objects(rendered, "fed-full")
    fed = data_yaml(objs, ("ConfigMap", "ray-federation-config"), "federation.yaml")
    check(fed["api"] == {"listen": "127.0.0.1:8765", "tokenFile": "/var/run/secrets/ray-federation/token"},
          f"full: api block is {fed['api']}")
    for member, cluster in zip(FULL_VALUES["members"], fed["clusters"]):
        name = member["name"]
        expected = {k: v for k, v in member.items() if k != "kubeconfig"}
        expected["kubeconfig"] = f"/etc/ray-federation/kubeconfigs/{name}/{member['kubeconfig']['key']}"
        if member["kubeconfig"].get("context"):
            expected["context"] = member["kubeconfig"]["context"]
        check(cluster == expected, f"full: member {name} renders as {cluster}, expected {expected}")
    check(fed["virtualClusters"] == FULL_VALUES["virtualClusters"], "full: virtualClusters differ from the values")
    check(fed["pools"] == FULL_VALUES["pools"], "full: pools must be passed through unchanged (templates, overrides, ...)")
    check(fed["timing"] == FULL_VALUES["timing"], f"full: timing is {fed.get('timing')}")
    check(fed["preflight"] == FULL_VALUES["preflight"], f"full: preflight is {fed.get('preflight')}")
    no_ray_resources_in_the_chart(objs, "full")
    sm = objs[("ServiceMonitor", "ray-federation")]
    check(sm["spec"]["endpoints"][0]["port"] == "management" and sm["spec"]["endpoints"][0]["path"] == "/metrics",
          "full: ServiceMonitor must scrape /metrics on the management port")
    svc_labels = objs[("Service", "ray-federation-management")]["metadata"]["labels"]
    check(all(svc_labels.get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()),
          "full: the ServiceMonitor does not select the management Service")
    check(sm["metadata"]["labels"].get("release") == "kube-prometheus-stack", "full: serviceMonitor.labels not applied")


def check_pod_wiring(name, pod, fed, auto_path, monitor_mounts, monitor_env):
    """The head pod: every mount has a volume, and every file the configs name is really mounted."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    check(len(volumes) == len(pod["volumes"]), f"{name}: duplicate volume names")
    sidecar = container(pod, "ray-federation")
    for c in pod["containers"] + pod.get("initContainers", []):
        for m in c.get("volumeMounts", []):
            check(m["name"] in volumes, f"{name}: container {c['name']} mounts undeclared volume {m['name']}")
    for m in monitor_mounts:
        check(m["name"] in volumes, f"{name}: the autoscaler mounts undeclared volume {m['name']}")
    check(sidecar["args"] == ["--config", "/etc/ray-federation/federation.yaml"], f"{name}: sidecar args {sidecar['args']}")
    check(volume_serves(*mounted_file(sidecar["volumeMounts"], volumes, "/etc/ray-federation/federation.yaml")),
          f"{name}: federation.yaml is not mounted where --config points")
    for cluster in fed["clusters"]:
        if "kubeconfig" in cluster:
            served = mounted_file(sidecar["volumeMounts"], volumes, cluster["kubeconfig"])
            check(served is not None and volume_serves(*served),
                  f"{name}: member {cluster['name']}'s kubeconfig {cluster['kubeconfig']} is not mounted")
    if "tokenFile" in fed["api"]:
        for who, mounts in (("sidecar", sidecar["volumeMounts"]), ("autoscaler", monitor_mounts)):
            served = mounted_file(mounts, volumes, fed["api"]["tokenFile"])
            check(served is not None and volume_serves(*served), f"{name}: the token file is not mounted in the {who}")
    served = mounted_file(monitor_mounts, volumes, auto_path)
    check(served is not None and served[0] is not None and "emptyDir" in served[0],
          f"{name}: {auto_path} is not on an emptyDir the generator can write: {served}")
    check(not any(m.get("readOnly") for m in monitor_mounts if served and m["name"] == (served[0] or {}).get("name")),
          f"{name}: the volume holding {auto_path} is mounted read-only where the config is generated")
    pythonpath = {e["name"]: e.get("value") for e in monitor_env}.get("PYTHONPATH")
    if pythonpath:
        check(any(m["mountPath"] == pythonpath for m in monitor_mounts), f"{name}: PYTHONPATH {pythonpath} is not mounted")
        init = pod.get("initContainers", [])
        check(any(c["name"] == "ray-federation-plugin" for c in init), f"{name}: no init container copies the plugin")
    sc = sidecar["securityContext"]
    check(sc.get("runAsNonRoot") is True and sc.get("readOnlyRootFilesystem") is True
          and sc.get("allowPrivilegeEscalation") is False and sc.get("capabilities", {}).get("drop") == ["ALL"]
          and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
          f"{name}: sidecar securityContext is not restricted: {sc}")
    check(any(m["mountPath"] == "/tmp" for m in sidecar["volumeMounts"]), f"{name}: the JVM has no writable /tmp")
    state = {e["name"]: e.get("value") for e in sidecar["env"]}.get("RAY_FEDERATION_STATE_FILE")
    check(state is not None and state.startswith("/tmp/"), f"{name}: the state file {state} is not on the writable /tmp")
    check({"name": "management", "containerPort": 9090, "protocol": "TCP"} in sidecar["ports"], f"{name}: no management port")
    probes = {p: sidecar.get(p, {}).get("httpGet") for p in ("startupProbe", "livenessProbe", "readinessProbe")}
    check(probes == {"startupProbe": {"path": "/healthz", "port": "management"},
                     "livenessProbe": {"path": "/healthz", "port": "management"},
                     "readinessProbe": {"path": "/readyz", "port": "management"}}, f"{name}: probes {probes}")


def env_source(env, name):
    """The value, or the downward-API field path, of env var `name`; None when it is not set."""
    for e in env:
        if e["name"] == name:
            return e.get("value") or e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    return None


def check_head_identity(name, monitor_env, head_env, gen):
    """The plugin lists the head as the node the head raylet reports (node-provider README: the head node)."""
    check((gen.get("--head-ip"), gen.get("--head-node-id")) == ("${RAY_FEDERATION_HEAD_IP}", "${RAY_FEDERATION_HEAD_POD_NAME}"),
          f"{name}: the generator's --head-ip / --head-node-id are {gen.get('--head-ip')} / {gen.get('--head-node-id')}")
    check(gen.get("--head-node-type") == FULL_VALUES["autoscaler"]["head"]["nodeType"],
          f"{name}: --head-node-type {gen.get('--head-node-type')} is not autoscaler.head.nodeType")
    check(env_source(monitor_env, "RAY_FEDERATION_HEAD_IP") == "status.podIP"
          and env_source(monitor_env, "RAY_FEDERATION_HEAD_POD_NAME") == "metadata.name",
          f"{name}: the container running Ray's monitor lacks the head's IP or name: {monitor_env}")
    # v2 matches the head by RAY_CLOUD_INSTANCE_ID and RAY_NODE_TYPE_NAME, which KubeRay (1.4+) sets on ray-head
    # itself: the chart must not set them again (the API server warns that the second hides the first)
    for var in ("RAY_CLOUD_INSTANCE_ID", "RAY_NODE_TYPE_NAME"):
        check(env_source(head_env, var) is None, f"{name}: ray-head sets {var}, which KubeRay sets already: {head_env}")
    names = [e["name"] for e in head_env]
    check(len(names) == len(set(names)), f"{name}: duplicate env names on ray-head: {names}")


def check_full_generator(name, gen, auto_path):
    """The generator gets the values' settings; --max-workers only when set (else: the sum of the pools)."""
    expected = {
        "--sidecar-url": "http://127.0.0.1:8765", "--wait-s": "300", "--cluster-name": "prod",
        "--idle-timeout-minutes": "10", "--upscaling-speed": "2", "--timeout-s": "4",
        "--token-file": "/var/run/secrets/ray-federation/token", "--head-node-type": "headgroup",
        "--head-resources": '{"CPU":0}', "--head-ip": "${RAY_FEDERATION_HEAD_IP}",
        "--head-node-id": "${RAY_FEDERATION_HEAD_POD_NAME}", "-o": auto_path,
    }
    check(gen == expected, f"{name}: the generator runs with {gen}, expected {expected}")


def check_rayclusters(rendered):
    fed = data_yaml(objects(rendered, "fed-full"), ("ConfigMap", "ray-federation-config"), "federation.yaml")
    auto_path = "/etc/ray-autoscaler/autoscaling.yaml"

    rc = objects(rendered, "fed-full-raycluster-kuberay")[("RayCluster", "prod")]
    spec = rc["spec"]
    opts = spec["autoscalerOptions"]
    check(spec["enableInTreeAutoscaling"] is True, "kuberay: in-tree autoscaling must be on")
    script = " ".join(opts["command"] + opts["args"])
    check("python -m ray.autoscaler.v2.monitor" in script and f"--autoscaling-config={auto_path}" in script,
          f"kuberay: the autoscaler container does not run Ray's v2 monitor with our config: {script}")
    gen = generator_options(script) or {}
    check(script.find(GENERATOR) < script.find("ray.autoscaler.v2.monitor") and "|| exit 1" in script,
          f"kuberay: the config must be generated before the monitor starts, and a failure must stop it: {script}")
    check_full_generator("kuberay", gen, auto_path)
    no_ray_resources_in_the_chart(objects(rendered, "fed-full-raycluster-kuberay"), "kuberay")
    check(opts["version"] == "v2", "kuberay: autoscalerOptions.version must follow autoscaler.version")
    check(spec["workerGroupSpecs"] == [], "kuberay: the RayCluster must have no KubeRay worker groups")
    check_pod_wiring("kuberay", head_pod(rc), fed, auto_path, opts["volumeMounts"], opts.get("env", []))
    check_head_identity("kuberay", opts.get("env", []), container(head_pod(rc), "ray-head").get("env", []), gen)
    check("command" not in container(head_pod(rc), "ray-head")
          and "ray.io/overwrite-container-cmd" not in (rc["metadata"].get("annotations") or {}),
          "kuberay: KubeRay must keep generating the ray-head command")

    rc = objects(rendered, "fed-full-raycluster-raystart")[("RayCluster", "prod")]
    spec = rc["spec"]
    pod = head_pod(rc)
    head = container(pod, "ray-head")
    check(spec["enableInTreeAutoscaling"] is False and "autoscalerOptions" not in spec, "rayStart: in-tree autoscaling must be off")
    check(spec["headGroupSpec"]["rayStartParams"].get("autoscaling-config") == auto_path,
          "rayStart: rayStartParams.autoscaling-config must point at the mounted config")
    check(env_source(head.get("env", []), "RAY_enable_autoscaler_v2") is None,
          "rayStart: KubeRay 1.5+ refuses RAY_enable_autoscaler_v2 in ray-head's env without in-tree autoscaling")
    check({"name": "PYTHONPATH", "value": "/opt/ray-federation/python"} in head.get("env", []),
          "rayStart: with plugin.source sidecarImage the head must import the copied plugin")
    script = " ".join(head.get("command", []) + head.get("args", []))
    gen = generator_options(script) or {}
    check((rc["metadata"].get("annotations") or {}).get("ray.io/overwrite-container-cmd") == "true",
          "rayStart: the RayCluster needs ray.io/overwrite-container-cmd so that KubeRay keeps the head's command")
    check(script.find(GENERATOR) < script.find('eval "$KUBERAY_GEN_RAY_START_CMD"') and "|| exit 1" in script
          and "ulimit -n 65536" in script,
          f"rayStart: ray-head must generate the config, then run KubeRay's ray start line: {script}")
    check(-1 < script.find("export RAY_enable_autoscaler_v2=1;") < script.find('eval "$KUBERAY_GEN_RAY_START_CMD"'),
          f"rayStart: v2 must be switched on in the shell that runs ray start: {script}")
    check_full_generator("rayStart", gen, auto_path)
    no_ray_resources_in_the_chart(objects(rendered, "fed-full-raycluster-raystart"), "rayStart")
    check_pod_wiring("rayStart", pod, fed, auto_path, head["volumeMounts"], head.get("env", []))
    check_head_identity("rayStart", head.get("env", []), head.get("env", []), gen)

    objs = objects(rendered, "fed-open-api")
    fed = data_yaml(objs, ("ConfigMap", "ray-federation-config"), "federation.yaml")
    check(fed["api"]["listen"] == "0.0.0.0:8765" and "tokenFile" in fed["api"], f"open API: {fed['api']}")
    no_ray_resources_in_the_chart(objs, "open API")


def check_kuberay_values(rendered):
    values = yaml.safe_load((rendered / "fed-kuberay-values.txt").read_text())["head"]
    check([c["name"] for c in values["sidecarContainers"]] == ["ray-federation"], "ray-cluster values: sidecarContainers")
    names = [v["name"] for v in values["volumes"]]
    check("log-volume" in names and "ray-federation-config" in names, f"ray-cluster values: volumes {names}")
    check(values["enableInTreeAutoscaling"] is True and "args" in values["autoscalerOptions"],
          "ray-cluster values: autoscalerOptions with args expected in mode kuberay")
    check(values["serviceAccountName"] == "ray-federation-head", "ray-cluster values: serviceAccountName")
    gen = generator_options(" ".join(values["autoscalerOptions"]["args"])) or {}
    check_full_generator("ray-cluster values", gen, "/etc/ray-autoscaler/autoscaling.yaml")
    check_head_identity("ray-cluster values", values["autoscalerOptions"].get("env", []), values.get("containerEnv", []), gen)
    native = yaml.safe_load((rendered / "fed-kuberay-values-native.txt").read_text())["head"]
    check("sidecarContainers" not in native and [(c["name"], c.get("restartPolicy")) for c in native["initContainers"]]
          == [("ray-federation-plugin", None), ("ray-federation", "Always")],
          f"ray-cluster values (native): the sidecar must be the last init container, restartPolicy Always: {native}")


SA_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def check_identities(rendered):
    """The head pod runs as <release>-head (KubeRay binds its autoscaler Role there); the sidecar alone mounts its own
    ServiceAccount's token, where in-cluster clients read it, and only when some member uses in-cluster credentials."""
    objs = objects(rendered, "fed-defaults-raycluster")
    accounts = {n: o for (k, n), o in objs.items() if k == "ServiceAccount"}
    check(sorted(accounts) == ["ray-federation", "ray-federation-head"]
          and all(o.get("automountServiceAccountToken") is False for o in accounts.values()),
          f"identities: two ServiceAccounts without automounted tokens expected: {accounts}")
    pod = head_pod(objs[("RayCluster", "ray-cluster")])
    check(pod["serviceAccountName"] == "ray-federation-head", f"identities: the head pod runs as {pod['serviceAccountName']}")
    volumes = {v["name"]: v for v in pod["volumes"]}
    holders = sorted(c["name"] for c in pod["containers"] + pod.get("initContainers", [])
                     if any(m["mountPath"] == SA_TOKEN_DIR for m in c.get("volumeMounts", [])))
    check(holders == ["ray-federation"], f"identities: only the sidecar may mount a ServiceAccount token: {holders}")
    sources = volumes.get("ray-federation-identity", {}).get("projected", {}).get("sources", [])
    check([(s["secret"]["name"], s["secret"].get("optional"), sorted(i["key"] for i in s["secret"]["items"])) for s in sources]
          == [("ray-federation-token", True, ["ca.crt", "namespace", "token"])],
          f"identities: the sidecar's token must come from ray-federation-member's Secret ray-federation-token: {sources}")
    rc = objects(rendered, "fed-full-raycluster-kuberay")[("RayCluster", "prod")]
    check("ray-federation-identity" not in {v["name"] for v in head_pod(rc)["volumes"]},
          "identities: every member of the full example has a kubeconfig, yet the sidecar mounts a ServiceAccount token")


def check_native_sidecar(rendered):
    """nativeSidecar: the sidecar becomes the last init container with restartPolicy Always (restarted even when KubeRay
    gives the head pod restartPolicy Never); offline `auto` keeps a regular container."""
    rc = objects(rendered, "fed-full-raycluster-kuberay-native")[("RayCluster", "prod")]
    pod = head_pod(rc)
    init = [(c["name"], c.get("restartPolicy")) for c in pod.get("initContainers", [])]
    check(init == [("ray-federation-plugin", None), ("ray-federation", "Always")], f"native: init containers {init}")
    check([c["name"] for c in pod["containers"]] == ["ray-head"], f"native: containers {[c['name'] for c in pod['containers']]}")
    offline = head_pod(objects(rendered, "fed-full-raycluster-kuberay")[("RayCluster", "prod")])
    check([c["name"] for c in offline["containers"]] == ["ray-head", "ray-federation"]
          and all("restartPolicy" not in c for c in offline.get("initContainers", [])),
          "native: helm template with nativeSidecar auto must keep a regular sidecar container")


def check_mode_resolution(rendered):
    """autoscaler.mode auto: rayStart where kubeRay.version is older than 1.7.0, else kuberay."""
    for render, want in (("fed-defaults-raycluster", "kuberay"), ("fed-auto-kuberay-1.7", "kuberay"),
                         ("fed-auto-kuberay-1.6", "rayStart")):
        rc = next(o for (k, _), o in objects(rendered, render).items() if k == "RayCluster")
        got = "kuberay" if rc["spec"]["enableInTreeAutoscaling"] else "rayStart"
        check(got == want and (("autoscalerOptions" in rc["spec"]) == (want == "kuberay")),
              f"mode auto: {render} runs the autoscaler in mode {got}, expected {want}")
    notes = (rendered / "fed-notes-auto-1.6.txt").read_text()
    check("Mode auto chose rayStart: kubeRay.version is 1.6.0" in notes, "mode auto: the NOTES do not say why rayStart was chosen")
    kinds = {k for k, _ in objects(rendered, "fed-monitoring-no-crds-offline")}
    check({"ServiceMonitor", "PrometheusRule"} <= kinds,
          f"monitoring: helm template cannot see the cluster and must render what the values ask for: {kinds}")


def rules(role):
    return [(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in role["rules"]]


def check_member(rendered):
    objs = objects(rendered, "member-defaults")
    role = objs[("Role", "ray-federation-workers")]
    check(role["metadata"]["namespace"] == "ray-workers", "member: Role must live in the workers' namespace")
    check(rules(role) == [(("",), ("pods",), ("create", "delete", "get", "list", "patch", "watch")),
                          (("",), ("events",), ("create",))],
          f"member: Role rules {rules(role)}")
    name = "ray-federation:ray-workers:ray-federation:capacity-reader"
    check(rules(objs[("ClusterRole", name)]) == [(("",), ("nodes",), ("list", "watch")),
                                                  (("",), ("pods",), ("list", "watch"))],
          "member: the capacity ClusterRole must be read-only on nodes and pods")
    subjects = [objs[("RoleBinding", "ray-federation-workers-ray-federation")]["subjects"],
                objs[("ClusterRoleBinding", name)]["subjects"]]
    for s in subjects:
        check(s == [{"kind": "ServiceAccount", "name": "ray-federation", "namespace": "ray-workers"}], f"member: subjects {s}")
    sa = objs[("ServiceAccount", "ray-federation")]
    check(sa["automountServiceAccountToken"] is False, "member: the ServiceAccount's token must not be automounted")
    kinds = {k for k, _ in objs}
    check("Namespace" not in kinds and "Secret" not in kinds, f"member: optional objects rendered by default: {kinds}")

    objs = objects(rendered, "member-full")
    ns = objs[("Namespace", "ray-workers")]
    check(ns["metadata"]["labels"].get("pod-security.kubernetes.io/enforce") == "baseline", "member: namespace.labels")
    check(ns["metadata"]["annotations"].get("helm.sh/resource-policy") == "keep", "member: the namespace must survive uninstall")
    secret = objs[("Secret", "ray-federation-token")]
    check(secret["type"] == "kubernetes.io/service-account-token"
          and secret["metadata"]["annotations"]["kubernetes.io/service-account.name"] == "ray-federation",
          "member: token Secret must be a service-account-token for the ServiceAccount")

    kinds = {k for k, _ in objects(rendered, "member-no-capacity-reader")}
    check(not kinds & {"ClusterRole", "ClusterRoleBinding"}, "member: capacityReader.enabled=false must drop cluster-wide access")

    objs = objects(rendered, "member-home")
    check(("ServiceAccount", "ray-federation") not in objs, "member (home): no ServiceAccount when create=false")
    check(objs[("RoleBinding", "ray-federation-workers-ray-federation")]["subjects"][0]["namespace"] == "ray",
          "member (home): must bind the ray-federation release's ServiceAccount in its namespace")


def sidecar_env(objs):
    """The env of the sidecar container in the rendered RayCluster's head pod (a container or a native sidecar)."""
    pod = head_pod(objs[("RayCluster", "ray-cluster")])
    sidecar = next(c for c in pod["containers"] + pod.get("initContainers", []) if c["name"] == "ray-federation")
    return {e["name"]: e.get("value") for e in sidecar.get("env", [])}


def check_logging(rendered):
    env = sidecar_env(objects(rendered, "fed-defaults-raycluster"))
    check("RAY_FEDERATION_LOG_FORMAT" not in env and "RAY_FEDERATION_LOG_LEVEL" not in env,
          f"logging: the defaults (text, info) must leave the sidecar's log settings unset: {env}")
    env = sidecar_env(objects(rendered, "fed-logging-json"))
    check(env.get("RAY_FEDERATION_LOG_FORMAT") == "json"
          and env.get("RAY_FEDERATION_LOG_LEVEL") == "info,dev.rayfederation.k8s=debug",
          f"logging: logging.format json and logging.level must reach the sidecar's env: {env}")


def check_notes(rendered):
    notes = (rendered / "fed-notes-defaults.txt").read_text()
    for text in ("sidecarContainers:", "cannot resolve it", "Secret    ray-federation-api-token",
                 "--set serviceAccount.create=false --set serviceAccount.name=ray-federation --set serviceAccount.namespace=ray"):
        check(text in notes, f"ray-federation NOTES lack {text!r}")
    check("networkPolicy.management.from is empty" not in notes, "ray-federation NOTES warn about a NetworkPolicy that is off")
    notes = (rendered / "fed-notes-netpol-no-peers.txt").read_text()
    check("networkPolicy.management.from is empty" in notes,
          "ray-federation NOTES do not warn that a NetworkPolicy without management peers blocks Prometheus")
    notes = (rendered / "fed-notes-full-raystart.txt").read_text()
    check("the API token is mounted into ray-head" in notes, "ray-federation NOTES (rayStart) do not say the token is in ray-head")
    check("enableInTreeAutoscaling: false" in notes and "autoscaling-config: /etc/ray-autoscaler/autoscaling.yaml" in notes,
          "ray-federation NOTES (rayStart) lack the ray start wiring")
    pasted = yaml.safe_load(notes.split("-" * 102)[2])
    check(pasted["head"]["rayStartParams"]["autoscaling-config"] == "/etc/ray-autoscaler/autoscaling.yaml",
          "ray-federation NOTES (rayStart): the pasted block does not parse to the expected values")
    gen = generator_options(" ".join(pasted["head"].get("args", []))) or {}
    check(gen.get("-o") == "/etc/ray-autoscaler/autoscaling.yaml"
          and pasted.get("annotations", {}).get("ray.io/overwrite-container-cmd") == "true",
          "ray-federation NOTES (rayStart): head.args must generate the config, with the RayCluster annotation")
    notes = (rendered / "member-notes.txt").read_text()
    for text in ("kubectl -n ray-workers create token ray-federation", "get secret ray-federation-token",
                 "kubectl --context home -n ray create secret generic ray-federation-kubeconfig-gcp-usc1",
                 "secretName: ray-federation-kubeconfig-gcp-usc1", "auth can-i create pods -n ray-workers"):
        check(text in notes, f"member NOTES lack {text!r}")


def main():
    rendered = pathlib.Path(sys.argv[1])
    for group in (check_defaults, check_token, check_network_policy, check_full, check_rayclusters, check_kuberay_values,
                  check_identities, check_native_sidecar, check_mode_resolution, check_member, check_logging, check_notes):
        try:
            group(rendered)
        except Exception as e:  # a missing object or key is a failure of that group, not a crash
            problems.append(f"{group.__name__}: {type(e).__name__}: {e}")
    for p in problems:
        print(f"- {p}")
    print(f"{checks} checks, {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
