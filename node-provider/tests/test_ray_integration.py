"""The generated config and the provider as Ray itself sees them (real Ray installed)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import yaml
from ray.autoscaler._private.providers import _clear_provider_cache, _get_node_provider
from ray.autoscaler._private.util import prepare_config, validate_config
from ray.autoscaler.v2.instance_manager.config import FileConfigReader
from ray.autoscaler.v2.instance_manager.node_provider import NodeProviderAdapter

from conftest import wait_until
from fake_sidecar import FakeSidecar
from ray_federation.provider import FederatedNodeProvider

# Keys autoscaler v1 indexes in the raw file (see shared/reference/ray-autoscaler-contract.md).
V1_RAW_KEYS = [
    "cluster_name", "max_workers", "upscaling_speed", "idle_timeout_minutes", "provider", "auth",
    "available_node_types", "head_node_type", "file_mounts", "cluster_synced_files",
    "file_mounts_sync_continuously", "rsync_exclude", "rsync_filter", "initialization_commands",
    "setup_commands", "head_setup_commands", "worker_setup_commands", "head_start_ray_commands",
    "worker_start_ray_commands",
]


def generate(*args: str, ray_importable: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m ray_federation.config`` as a user would."""
    if ray_importable:
        cmd = [sys.executable, "-m", "ray_federation.config", *args]
    else:
        # sys.modules["ray"] = None makes every `import ray...` fail, as on a machine without Ray.
        code = (
            "import runpy, sys; sys.modules['ray'] = None; sys.argv[1:] = sys.argv[1:]; "
            "runpy.run_module('ray_federation.config', run_name='__main__')"
        )
        cmd = [sys.executable, "-c", code, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def config_file(sidecar: FakeSidecar, tmp_path):
    path = tmp_path / "autoscaling.yaml"
    done = generate("--sidecar-url", sidecar.url, "--cluster-name", "demo", "-o", str(path))
    assert done.returncode == 0, done.stderr
    return path


class TestGeneratedConfig:
    def test_it_passes_rays_validation_and_default_filling(self, config_file):
        config = yaml.safe_load(config_file.read_text())

        validate_config(config)  # what v1 runs on the raw file
        prepared = prepare_config(copy.deepcopy(config))  # what v2 runs first
        validate_config(prepared)
        FileConfigReader(str(config_file), skip_content_hash=True)  # v2's own reader

        assert [k for k in V1_RAW_KEYS if k not in config] == []

    def test_it_holds_the_sidecars_node_types_and_a_head_type(self, config_file, sidecar):
        config = yaml.safe_load(config_file.read_text())
        types = config["available_node_types"]

        assert config["cluster_name"] == "demo"
        assert config["head_node_type"] == "ray.head.default"
        assert types["ray.head.default"] == {
            "resources": {"CPU": 0}, "node_config": {}, "min_workers": 0, "max_workers": 0,
        }
        assert types["gpu-l4"]["resources"] == sidecar.node_types["gpu-l4"]["resources"]
        assert types["gpu-l4"]["labels"] == {"accelerator": "l4"}
        assert types["gpu-l4"]["max_workers"] == 200
        assert config["max_workers"] == 250

    def test_its_provider_block_loads_the_plugin_without_updaters(self, config_file, sidecar):
        provider = yaml.safe_load(config_file.read_text())["provider"]
        assert provider == {
            "type": "external",
            "module": "ray_federation.FederatedNodeProvider",
            "sidecar_url": sidecar.url,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
            "head_node_type": "ray.head.default",
        }

    def test_options_reach_the_config(self, sidecar, tmp_path):
        token_file = tmp_path / "token"
        token_file.write_text("abc")
        done = generate(
            "--sidecar-url", sidecar.url, "--token-file", str(token_file), "--max-workers", "40",
            "--idle-timeout-minutes", "2", "--upscaling-speed", "3", "--head-resources", '{"CPU": 2}',
            "--use-node-id-as-ip", "--foreground-node-launch", "--timeout-s", "2.5",
            "--head-ip", "10.0.0.12",
        )
        assert done.returncode == 0, done.stderr
        config = yaml.safe_load(done.stdout)
        validate_config(config)
        assert config["max_workers"] == 40
        assert config["idle_timeout_minutes"] == 2
        assert config["upscaling_speed"] == 3
        assert config["available_node_types"]["ray.head.default"]["resources"] == {"CPU": 2}
        p = config["provider"]
        assert p["token_file"] == str(token_file)
        assert p["use_node_id_as_ip"] is True and p["foreground_node_launch"] is True
        assert p["timeout_s"] == 2.5
        assert p["head_ip"] == "10.0.0.12"

    def test_the_generator_runs_without_ray(self, sidecar):
        done = generate("--sidecar-url", sidecar.url, ray_importable=False)
        assert done.returncode == 0, done.stderr
        validate_config(yaml.safe_load(done.stdout))

    def test_an_unreachable_sidecar_is_a_clear_error(self, sidecar):
        url = sidecar.url
        sidecar.stop()
        done = generate("--sidecar-url", url, "--timeout-s", "0.5")
        assert done.returncode == 1
        assert f"cannot get the node types from the ray-federation sidecar at {url}" in done.stderr
        assert done.stdout == ""

    def test_a_sidecar_error_is_shown_with_its_status(self, tmp_path):
        secured = FakeSidecar(token="t").start()
        try:
            done = generate("--sidecar-url", secured.url)
        finally:
            secured.stop()
        assert done.returncode == 1
        assert "HTTP 401" in done.stderr and "GET /v1/node-types" in done.stderr

    def test_an_empty_head_type_is_refused(self, sidecar):
        done = generate("--sidecar-url", sidecar.url, "--head-resources", "{}")
        assert done.returncode == 1
        assert "--head-resources" in done.stderr

    def test_a_fractional_resource_is_refused_naming_the_field(self, sidecar):
        sidecar.node_types["gpu-l4"]["resources"]["CPU"] = 7.5
        done = generate("--sidecar-url", sidecar.url)
        assert done.returncode == 1
        assert "availableNodeTypes.gpu-l4.resources.CPU" in done.stderr

    def test_resources_are_taken_exactly_as_the_sidecar_gives_them(self, sidecar):
        # what the sidecar says a worker of 500m CPU, 1500M memory, 1 GPU and 3 slots registers in Ray
        sidecar.node_types["gpu-l4"]["resources"] = {"CPU": 1, "GPU": 1, "memory": 1500000000, "slots": 3}
        done = generate("--sidecar-url", sidecar.url)
        assert done.returncode == 0, done.stderr
        config = yaml.safe_load(done.stdout)
        validate_config(config)
        assert config["available_node_types"]["gpu-l4"]["resources"] == {
            "CPU": 1, "GPU": 1, "memory": 1500000000, "slots": 3,
        }

    def test_a_fractional_custom_resource_is_refused_not_rounded(self, sidecar):
        sidecar.node_types["gpu-l4"]["resources"]["slots"] = 0.5
        done = generate("--sidecar-url", sidecar.url)
        assert done.returncode == 1
        assert "availableNodeTypes.gpu-l4.resources.slots: 0.5 is not a whole number" in done.stderr
        assert done.stdout == ""

    def test_an_amount_above_rays_limit_is_refused(self, sidecar):
        sidecar.node_types["gpu-l4"]["resources"]["slots"] = 10**15
        done = generate("--sidecar-url", sidecar.url)
        assert done.returncode == 1
        assert "availableNodeTypes.gpu-l4.resources.slots: 1000000000000000 is above Ray's limit" in done.stderr

    def test_kuberays_head_node_type_and_head_pod_name(self, sidecar):
        done = generate(
            "--sidecar-url", sidecar.url, "--head-node-type", "headgroup",
            "--head-ip", "${RAY_FEDERATION_HEAD_IP}", "--head-node-id", "${RAY_FEDERATION_HEAD_POD_NAME}",
        )
        assert done.returncode == 0, done.stderr
        config = yaml.safe_load(done.stdout)
        validate_config(config)
        validate_config(prepare_config(copy.deepcopy(config)))
        assert config["head_node_type"] == "headgroup"
        assert set(config["available_node_types"]) == {"headgroup", "cpu-small", "gpu-l4"}
        assert config["available_node_types"]["headgroup"]["max_workers"] == 0
        p = config["provider"]
        assert (p["head_node_type"], p["head_ip"], p["head_node_id"]) == (
            "headgroup", "${RAY_FEDERATION_HEAD_IP}", "${RAY_FEDERATION_HEAD_POD_NAME}",
        )

    def test_a_pool_named_like_the_head_node_type_is_refused(self, sidecar):
        sidecar.node_types["headgroup"] = sidecar.node_types.pop("cpu-small")
        done = generate("--sidecar-url", sidecar.url, "--head-node-type", "headgroup")
        assert done.returncode == 1
        assert "availableNodeTypes.headgroup: a pool uses the head node type's name" in done.stderr

    def test_a_head_node_id_without_a_head_ip_is_refused(self, sidecar):
        done = generate("--sidecar-url", sidecar.url, "--head-node-id", "head-pod")
        assert done.returncode == 1
        assert "--head-node-id: needs --head-ip" in done.stderr

    def test_wait_s_waits_for_a_sidecar_that_is_not_ready_yet(self, sidecar, tmp_path):
        sidecar.not_ready_answers = 15  # several calls' worth at a 0.5 s call budget
        path = tmp_path / "autoscaling.yaml"
        done = generate("--sidecar-url", sidecar.url, "--timeout-s", "0.5", "--wait-s", "60", "-o", str(path))
        assert done.returncode == 0, done.stderr
        assert "waiting for the sidecar" in done.stderr
        validate_config(yaml.safe_load(path.read_text()))

    def test_wait_s_gives_up_on_a_sidecar_that_never_answers(self, sidecar):
        url = sidecar.url
        sidecar.stop()
        done = generate("--sidecar-url", url, "--timeout-s", "0.5", "--wait-s", "1")
        assert done.returncode == 1
        assert f"cannot get the node types from the ray-federation sidecar at {url}" in done.stderr

    def test_without_wait_s_a_sidecar_that_is_not_ready_fails_at_once(self, sidecar):
        sidecar.not_ready_answers = 1000
        done = generate("--sidecar-url", sidecar.url, "--timeout-s", "0.5")
        assert done.returncode == 1
        assert "HTTP 503" in done.stderr

    def test_keys_rays_schema_forbids_are_left_out(self, sidecar):
        sidecar.node_types["gpu-l4"]["pool"] = "gpu-l4"
        done = generate("--sidecar-url", sidecar.url)
        assert done.returncode == 0, done.stderr
        config = yaml.safe_load(done.stdout)
        validate_config(config)
        assert "pool" not in config["available_node_types"]["gpu-l4"]
        assert "leaving out pool" in done.stderr

    def test_without_pyyaml_the_output_is_json(self, sidecar):
        code = (
            "import runpy, sys; sys.modules['yaml'] = None; "
            "runpy.run_module('ray_federation.config', run_name='__main__')"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, "--sidecar-url", sidecar.url],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        validate_config(json.loads(done.stdout))


class TestRaysLoader:
    def test_rays_loader_builds_the_provider_from_the_provider_block(self, config_file, sidecar):
        sidecar.add_node("cpu-small")
        provider_config = yaml.safe_load(config_file.read_text())["provider"]
        _clear_provider_cache()
        try:
            provider = _get_node_provider(provider_config, "demo")
        finally:
            _clear_provider_cache()
        assert isinstance(provider, FederatedNodeProvider)
        assert provider.cluster_name == "demo"
        assert provider.non_terminated_nodes({}) == list(sidecar.nodes)


class TestAutoscalerV2Adapter:
    def test_a_v2_launch_of_12_workers_creates_12_in_batches(self, config_file, sidecar):
        reader = FileConfigReader(str(config_file), skip_content_hash=True)
        provider = FederatedNodeProvider(reader.get_cached_autoscaling_config().get_provider_config(), "demo")
        adapter = NodeProviderAdapter(provider, reader)

        adapter.launch({"gpu-l4": 12}, request_id="v2-launch-1")

        wait_until(lambda: len(sidecar.nodes) == 12, what="12 workers created")
        wait_until(lambda: len(adapter.get_non_terminated()) == 12, what="12 cloud instances listed")
        assert adapter.poll_errors() == []
        instances = adapter.get_non_terminated().values()
        assert {i.request_id for i in instances} == {"v2-launch-1"}
        assert {i.node_type for i in instances} == {"gpu-l4"}
        assert not any(i.is_running for i in instances)  # pods still pending
        posts = sidecar.seen("POST", "/v1/nodes")
        assert sorted(p.body["count"] for p in posts) == [2, 5, 5]
        assert posts[0].body["resources"] == sidecar.node_types["gpu-l4"]["resources"]

    def test_a_v2_launch_rejected_by_quota_is_reported_as_a_launch_error(self, config_file, sidecar):
        sidecar.limits["gpu-l4"] = (0, "quota", "virtual cluster vc-inference is at its GPU quota")
        reader = FileConfigReader(str(config_file), skip_content_hash=True)
        provider = FederatedNodeProvider(reader.get_cached_autoscaling_config().get_provider_config(), "demo")
        adapter = NodeProviderAdapter(provider, reader)

        adapter.launch({"gpu-l4": 2}, request_id="v2-launch-2")

        errors = []
        wait_until(lambda: errors.extend(adapter.poll_errors()) or errors, what="a launch error")
        assert errors[0].node_type == "gpu-l4" and errors[0].count == 2
        assert "GPU quota" in str(errors[0].__cause__)
