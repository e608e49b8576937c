"""Runs the autoscaling-config generation the rendered charts put in the head pod, and hands the result to Ray.

Usage: RAY_PYTHON charts/test_generated_config.py RENDERED_DIR   (run by charts/test.sh when a Ray venv exists)

The chart renders no Ray node types: the container that runs Ray's monitor (KubeRay's autoscaler container in mode
kuberay, ray-head in mode rayStart) generates autoscaling.yaml at start with `python -m ray_federation.config`,
from the sidecar's GET /v1/node-types. This runs exactly that command line, taken from every rendered RayCluster and
ray-cluster values block, against a stand-in sidecar (the plugin's test double, with a token when the command
sends one) with the head pod's environment, then checks that Ray's v1 and v2 config readers accept the file and
that it holds the sidecar's node types as given plus the head type the chart names.
"""
import copy
import logging
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "node-provider" / "tests"))
from fake_sidecar import FakeSidecar  # noqa: E402

logging.disable(logging.WARNING)
from ray.autoscaler._private.util import prepare_config, validate_config  # noqa: E402
from ray.autoscaler.v2.instance_manager.config import FileConfigReader  # noqa: E402

GENERATOR = "python -m ray_federation.config"


def commands(rendered):
    """(where, shell script) of every container script in the rendered output that runs the generator."""
    found = []
    for f in sorted(rendered.glob("fed-*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if not doc or doc.get("kind") != "RayCluster":
                continue
            spec = doc["spec"]
            scripts = [" ".join(spec.get("autoscalerOptions", {}).get("args", []))]
            for c in spec["headGroupSpec"]["template"]["spec"]["containers"]:
                scripts.append(" ".join(c.get("args", [])))
            found += [(f.name, s) for s in scripts if GENERATOR in s]
    for f in sorted(rendered.glob("*kuberay-values.txt")):
        head = yaml.safe_load(f.read_text())["head"]
        for s in (" ".join(head.get("autoscalerOptions", {}).get("args", [])), " ".join(head.get("args", []))):
            if GENERATOR in s:
                found.append((f.name, s))
    return found


def run(where, script, work):
    command = script[script.index(GENERATOR):].split("||")[0].split(";")[0]
    argv = shlex.split(command)
    options = dict(zip(argv[3::2], argv[4::2]))
    token_file = options.get("--token-file")
    sidecar = FakeSidecar(token="t0ken" if token_file else None).start()
    try:
        out = work / f"{where}.autoscaling.yaml"
        argv[argv.index("--sidecar-url") + 1] = sidecar.url
        argv[argv.index("-o") + 1] = str(out)
        if token_file:
            token = work / "token"
            token.write_text("t0ken")
            argv[argv.index("--token-file") + 1] = str(token)
        argv[:3] = [sys.executable, "-m", "ray_federation.config"]
        env = dict(os.environ, RAY_FEDERATION_HEAD_IP="10.1.2.3", RAY_FEDERATION_HEAD_POD_NAME="prod-head-abcde")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, f"{where}: {' '.join(argv)} failed:\n{done.stderr}"
        config = yaml.safe_load(out.read_text())
        validate_config(copy.deepcopy(config))  # v1 reads the raw file
        validate_config(prepare_config(copy.deepcopy(config)))
        v2 = FileConfigReader(config_file=str(out), skip_content_hash=True).get_cached_autoscaling_config()
        head = options["--head-node-type"]
        assert set(v2.get_node_type_configs()) == set(sidecar.node_types) | {head}, (where, v2.get_node_type_configs())
        assert config["head_node_type"] == config["provider"]["head_node_type"] == head, (where, config["provider"])
        for name, spec in sidecar.node_types.items():
            assert config["available_node_types"][name]["resources"] == spec["resources"], (where, name)
        return config
    finally:
        sidecar.stop()


def main():
    rendered = pathlib.Path(sys.argv[1])
    found = commands(rendered)
    assert len(found) >= 3, f"only {len(found)} generator commands found in {rendered}"
    with tempfile.TemporaryDirectory() as tmp:
        for i, (where, script) in enumerate(found):
            run(f"{i}-{where}", script, pathlib.Path(tmp))
    print(f"{len(found)} generated autoscaling configs accepted by Ray")


if __name__ == "__main__":
    main()
