"""FederatedNodeProvider against the fake sidecar: call budget, launches, terminations, tags."""

from __future__ import annotations

import threading

import pytest
from ray.autoscaler._private.autoscaler import NonTerminatedNodes
from ray.autoscaler.node_launch_exception import NodeLaunchException

from fake_sidecar import FakeSidecar
from ray_federation.client import SidecarError
from ray_federation.provider import FederatedNodeProvider, UnknownNodeError


def worker_tags(node_type: str = "gpu-l4", launch_request: str = None) -> dict:
    tags = {
        "ray-node-name": "ray-test-cluster-worker",
        "ray-node-type": "worker",
        "ray-node-status": "uninitialized",
        "ray-launch-config": "abc123",
        "ray-user-node-type": node_type,
    }
    if launch_request:
        tags["ray-launch-request"] = launch_request
    return tags


def v1_pass(provider: FederatedNodeProvider) -> NonTerminatedNodes:
    """What one autoscaler v1 iteration reads: Ray's own NonTerminatedNodes, then per-node calls."""
    nodes = NonTerminatedNodes(provider)
    for node_id in nodes.all_node_ids:
        for _ in range(6):
            provider.node_tags(node_id)
        for _ in range(4):
            provider.internal_ip(node_id)
        provider.is_running(node_id)
    return nodes


class TestCallBudget:
    def test_a_v1_iteration_over_100_nodes_costs_one_request_then_one_304(self, sidecar, provider):
        sidecar.add_node("ray.head.default", kind="head", ip="10.0.0.1")
        for i in range(100):
            sidecar.add_node("cpu-small", ip=f"10.1.0.{i}")

        first = v1_pass(provider)

        assert len(first.worker_ids) == 100 and first.head_id is not None
        assert [(r.method, r.path, r.status) for r in sidecar.seen()] == [("GET", "/v1/nodes", 200)]

        second = v1_pass(provider)

        assert second.worker_ids == first.worker_ids
        assert [r.status for r in sidecar.seen()] == [200, 304]

    def test_a_changed_listing_is_one_request_for_the_changes_since_the_last(self, sidecar, provider):
        a = sidecar.add_node()
        v1_pass(provider)
        sidecar.set_status(a, "up-to-date", ip="10.1.0.9")
        b = sidecar.add_node()

        nodes = v1_pass(provider)

        assert nodes.all_node_ids == [a, b]
        assert provider.internal_ip(a) == "10.1.0.9"
        first, second = sidecar.seen()
        assert (first.status, first.query, second.status) == (200, "", 200)
        assert second.query == "since=r2"

    def test_tag_filters_are_applied_to_the_snapshot(self, sidecar, provider):
        sidecar.add_node("cpu-small")
        gpu = sidecar.add_node("gpu-l4")
        assert provider.non_terminated_nodes({"ray-user-node-type": "gpu-l4"}) == [gpu]
        assert provider.non_terminated_nodes({"ray-node-type": "head"}) == []


class TestPerNodeReads:
    def test_reads_come_from_the_nodes_fields(self, sidecar, provider):
        running = sidecar.add_node("gpu-l4", status="up-to-date", ip="10.2.0.5")
        pending = sidecar.add_node("gpu-l4", status="pending: image-pull")
        provider.non_terminated_nodes({})

        assert provider.internal_ip(running) == "10.2.0.5"
        assert provider.node_tags(running)["ray-user-node-type"] == "gpu-l4"
        assert provider.is_running(running) is True
        assert provider.is_running(pending) is False
        assert provider.node_tags(pending)["ray-node-status"] == "pending: image-pull"
        assert provider.is_terminated(running) is False
        assert provider.get_node_id("10.2.0.5", use_internal_ip=True) == running

    def test_missing_kind_and_status_tags_are_filled_from_the_node(self, sidecar, provider):
        node_id = sidecar.add_node("gpu-l4", status="update-failed")
        del sidecar.nodes[node_id]["tags"]["ray-node-type"]
        del sidecar.nodes[node_id]["tags"]["ray-node-status"]
        provider.non_terminated_nodes({})

        tags = provider.node_tags(node_id)

        assert tags["ray-node-type"] == "worker"
        assert tags["ray-node-status"] == "update-failed"

    def test_an_unknown_id_costs_one_refresh_then_a_clear_error(self, sidecar, provider):
        provider.non_terminated_nodes({})
        sidecar.reset_counts()

        with pytest.raises(UnknownNodeError) as raised:
            provider.node_tags("rf-nope")

        assert "rf-nope" in str(raised.value) and "unknown" in str(raised.value)
        assert isinstance(raised.value, KeyError)
        assert len(sidecar.seen("GET", "/v1/nodes")) == 1
        assert provider.is_terminated("rf-nope") is True

    def test_a_node_created_elsewhere_is_found_by_that_one_refresh(self, sidecar, provider):
        provider.non_terminated_nodes({})
        newcomer = sidecar.add_node("gpu-l4", ip="10.2.0.7")

        assert provider.internal_ip(newcomer) == "10.2.0.7"
        assert provider.node_tags(newcomer)["ray-user-node-type"] == "gpu-l4"
        assert len(sidecar.seen("GET", "/v1/nodes")) == 2

    def test_a_node_gone_since_the_listing_stays_readable_and_reports_terminated(self, sidecar, provider):
        gone = sidecar.add_node("gpu-l4", ip="10.2.0.8")
        provider.non_terminated_nodes({})
        sidecar.remove(gone)
        provider.node_tags(sidecar.add_node())  # an unknown id forces a refresh

        assert provider.is_terminated(gone) is True
        assert provider.is_running(gone) is False
        assert provider.internal_ip(gone) == "10.2.0.8"
        assert gone not in provider.non_terminated_nodes({})

    def test_a_failing_listing_raises_instead_of_serving_old_data(self, sidecar, provider):
        sidecar.token = "now-required"
        with pytest.raises(SidecarError) as raised:
            provider.non_terminated_nodes({})
        assert raised.value.status == 401


class TestChangesListing:
    """GET /v1/nodes?since=: the changes applied to the listing held give what a full listing gives."""

    def test_changes_over_many_iterations_give_what_full_listings_give(self, sidecar, provider, provider_config):
        import random

        rng = random.Random(20261205)
        full = FederatedNodeProvider(provider_config, "test-cluster")
        full._ask_changes = False  # the same provider reading full listings only
        live = [sidecar.add_node(ip=f"10.1.0.{i}") for i in range(30)]
        for _ in range(25):
            for _ in range(rng.randint(0, 5)):
                what = rng.randrange(3)
                if what == 0 or not live:
                    live.append(sidecar.add_node(rng.choice(["cpu-small", "gpu-l4"])))
                elif what == 1:
                    sidecar.set_status(rng.choice(live), rng.choice(["up-to-date", "pending: starting"]),
                                       ip=f"10.2.0.{rng.randrange(250)}")
                else:
                    sidecar.remove(live.pop(rng.randrange(len(live))))
            if live and rng.randrange(5) == 0:
                provider.terminate_nodes([live.pop(rng.randrange(len(live)))])

            got = provider.non_terminated_nodes({})
            want = full.non_terminated_nodes({})

            assert sorted(got) == sorted(want) == sorted(live)
            for node_id in got:
                assert provider.node_tags(node_id) == full.node_tags(node_id)
                assert provider.internal_ip(node_id) == full.internal_ip(node_id)
        asked = [r.query for r in sidecar.seen("GET", "/v1/nodes")]
        assert sum(q.startswith("since=") for q in asked) >= 20
        full._client.close()

    def test_a_removed_node_stays_readable_and_reports_terminated(self, sidecar, provider):
        a, b = sidecar.add_node(), sidecar.add_node()
        provider.non_terminated_nodes({})
        sidecar.remove(a)

        assert provider.non_terminated_nodes({}) == [b]
        assert provider.is_terminated(a) and provider.node_tags(a)["ray-node-status"] == "up-to-date"

    def test_a_revision_the_sidecar_no_longer_holds_is_listed_in_full_then_changes_again(self, sidecar, provider):
        a = sidecar.add_node()
        provider.non_terminated_nodes({})
        sidecar.remove(a)
        b = sidecar.add_node()
        sidecar.forget_listings()  # as a restarted sidecar does

        assert provider.non_terminated_nodes({}) == [b]
        assert provider.is_terminated(a)
        c = sidecar.add_node()
        assert provider.non_terminated_nodes({}) == [b, c]

        answers = [(r.query, r.status) for r in sidecar.seen("GET", "/v1/nodes")]
        assert answers == [("", 200), ("since=r2", 410), ("", 200), ("since=r4", 200)]

    def test_a_sidecar_without_changes_listings_gets_full_listings(self, sidecar, provider):
        sidecar.offers_changes = False
        a = sidecar.add_node()
        provider.non_terminated_nodes({})
        b = sidecar.add_node()

        assert provider.non_terminated_nodes({}) == [a, b]
        sidecar.add_node()
        provider.non_terminated_nodes({})

        answers = [(r.query, r.status) for r in sidecar.seen("GET", "/v1/nodes")]
        assert answers == [("", 200), ("since=r2", 400), ("", 200), ("", 200)]


class TestHeadNode:
    def test_with_head_ip_a_headless_listing_reports_the_head_to_ray(self, sidecar, provider_config):
        provider_config["head_ip"] = "10.0.0.12"
        provider = FederatedNodeProvider(provider_config, "demo")
        worker = sidecar.add_node("cpu-small")

        nodes = NonTerminatedNodes(provider)

        assert nodes.worker_ids == [worker]
        assert nodes.head_id == "ray-federation-head"
        assert provider.internal_ip(nodes.head_id) == "10.0.0.12"
        assert provider.node_tags(nodes.head_id)["ray-user-node-type"] == "ray.head.default"
        assert provider.is_running(nodes.head_id) is True

    def test_a_head_listed_by_the_sidecar_wins_and_gets_the_head_node_type(self, sidecar, provider_config):
        provider_config["head_ip"] = "10.0.0.12"
        provider_config["head_node_type"] = "head"
        provider = FederatedNodeProvider(provider_config, "demo")
        head = sidecar.add_node("ignored", kind="head", ip="10.0.0.99")
        del sidecar.nodes[head]["tags"]["ray-user-node-type"]

        nodes = NonTerminatedNodes(provider)

        assert nodes.head_id == head and nodes.all_node_ids == [head]
        assert provider.node_tags(head)["ray-user-node-type"] == "head"

    def test_without_head_ip_a_headless_listing_is_passed_through(self, sidecar, provider):
        assert NonTerminatedNodes(provider).head_id is None

    def test_head_settings_may_come_from_the_environment(self, sidecar, provider_config, monkeypatch):
        monkeypatch.setenv("POD_IP", "10.9.8.7")
        monkeypatch.setenv("HEAD_POD", "demo-head-x1")
        provider_config.update(head_ip="${POD_IP}", head_node_id="${HEAD_POD}")
        provider = FederatedNodeProvider(provider_config, "demo")

        assert provider.non_terminated_nodes({"ray-node-type": "head"}) == ["demo-head-x1"]
        assert provider.internal_ip("demo-head-x1") == "10.9.8.7"

    def test_an_unset_environment_variable_is_named(self, provider_config, monkeypatch):
        monkeypatch.delenv("NO_SUCH_POD_IP", raising=False)
        provider_config["head_ip"] = "${NO_SUCH_POD_IP}"
        with pytest.raises(ValueError, match="provider.head_ip"):
            FederatedNodeProvider(provider_config, "demo")


class TestCreate:
    def test_one_request_carries_the_launch(self, sidecar, provider):
        created = provider.create_node_with_resources_and_labels(
            {"image": "ignored"}, worker_tags("gpu-l4", launch_request="launch-7"), 2,
            {"CPU": 8, "GPU": 1}, {"accelerator": "l4"},
        )

        [post] = sidecar.seen("POST", "/v1/nodes")
        assert post.body["nodeType"] == "gpu-l4"
        assert post.body["count"] == 2
        assert post.body["requestId"].startswith("launch-7-")
        assert post.body["tags"]["ray-launch-request"] == "launch-7"
        assert post.body["resources"] == {"CPU": 8, "GPU": 1}
        assert post.body["labels"] == {"accelerator": "l4"}
        assert post.body["nodeConfig"] == {"image": "ignored"}
        assert sorted(created) == sorted(sidecar.nodes)
        assert set(provider.non_terminated_nodes({})) == set(created)

    def test_the_listing_after_a_create_is_fetched_unconditionally(self, sidecar, provider):
        provider.non_terminated_nodes({})
        provider.create_node({}, worker_tags("cpu-small"), 1)

        provider.non_terminated_nodes({})

        last_get = sidecar.seen("GET", "/v1/nodes")[-1]
        assert "if-none-match" not in last_get.headers and last_get.status == 200

    def test_a_launch_request_with_characters_the_sidecar_refuses_is_made_safe(self, sidecar, provider):
        provider.create_node({}, worker_tags("cpu-small", launch_request="a b#c"), 1)
        [post] = sidecar.seen("POST", "/v1/nodes")
        assert post.body["requestId"].startswith("a-b-c-")
        assert post.body["tags"]["ray-launch-request"] == "a b#c"

    def test_v1_launches_without_a_launch_request_get_a_fresh_request_id(self, sidecar, provider):
        provider.create_node({}, worker_tags("cpu-small"), 1)
        provider.create_node({}, worker_tags("cpu-small"), 1)
        ids = [p.body["requestId"] for p in sidecar.seen("POST", "/v1/nodes")]
        assert len(set(ids)) == 2 and all(ids)
        assert len(sidecar.nodes) == 2

    def test_batches_of_one_v2_launch_request_are_distinct_requests(self, sidecar, provider):
        # Autoscaler v2 sends the same ray-launch-request on every batch of 5 of a launch.
        for count in (5, 5, 2):
            provider.create_node_with_resources_and_labels(
                {}, worker_tags("gpu-l4", launch_request="launch-8"), count, {}, {}
            )
        assert len(sidecar.nodes) == 12
        assert all(n["tags"]["ray-launch-request"] == "launch-8" for n in sidecar.nodes.values())

    def test_a_create_retried_after_a_dropped_connection_creates_once(self, sidecar, provider):
        sidecar.drop_answer_once("POST", "/v1/nodes")

        created = provider.create_node({}, worker_tags("gpu-l4", launch_request="launch-9"), 4)

        posts = sidecar.seen("POST", "/v1/nodes")
        assert len(posts) == 2
        assert posts[0].body["requestId"] == posts[1].body["requestId"]
        assert len(sidecar.nodes) == 4 and sorted(created) == sorted(sidecar.nodes)

    def test_a_partial_rejection_raises_with_the_sidecars_reason_after_recording_the_created(
        self, sidecar, provider
    ):
        sidecar.limits["gpu-l4"] = (3, "quota", "virtual cluster vc-inference: GPU quota 3 reached")

        with pytest.raises(NodeLaunchException) as raised:
            provider.create_node({}, worker_tags("gpu-l4"), 5)

        e = raised.value
        assert e.category == "quota"
        assert "GPU quota 3 reached" in e.description
        assert "3 of 5" in e.description and "2 rejected" in e.description
        assert e.src_exc_info is None
        assert len(provider.non_terminated_nodes({"ray-user-node-type": "gpu-l4"})) == 3

    def test_an_invalid_request_surfaces_the_field_at_fault(self, sidecar, provider):
        with pytest.raises(NodeLaunchException) as raised:
            provider.create_node({}, worker_tags("gpu-h100"), 1)

        e = raised.value
        assert e.category == "invalid"
        assert "field nodeType" in e.description
        cause = e.src_exc_info[1]
        assert isinstance(cause, SidecarError) and cause.field == "nodeType"

    def test_a_launch_without_node_type_is_refused_with_the_tag_named(self, sidecar, provider):
        tags = worker_tags()
        del tags["ray-user-node-type"]
        with pytest.raises(ValueError, match="ray-user-node-type"):
            provider.create_node({}, tags, 1)
        assert sidecar.seen() == []


class TestTerminateAndTags:
    def test_terminate_nodes_is_one_request_and_the_nodes_are_terminated_at_once(self, sidecar, provider):
        a, b, keep = sidecar.add_node(), sidecar.add_node(), sidecar.add_node()
        provider.non_terminated_nodes({})
        sidecar.reset_counts()

        result = provider.terminate_nodes([a, b, "rf-already-gone"])

        [post] = sidecar.seen()
        assert (post.method, post.path, post.body) == ("POST", "/v1/nodes:terminate", {"ids": [a, b, "rf-already-gone"]})
        assert result == {a: {"terminating": True}, b: {"terminating": True}, "rf-already-gone": {"terminating": False}}
        assert provider.is_terminated(a) and provider.is_terminated(b) and not provider.is_terminated(keep)
        assert provider.node_tags(a)["ray-node-type"] == "worker"  # still readable
        assert len(sidecar.seen()) == 1
        assert provider.non_terminated_nodes({}) == [keep]

    def test_terminate_node_is_one_request(self, sidecar, provider):
        a = sidecar.add_node()
        provider.terminate_node(a)
        assert [(r.path, r.body) for r in sidecar.seen()] == [("/v1/nodes:terminate", {"ids": [a]})]
        assert sidecar.nodes == {}

    def test_set_node_tags_is_one_put_and_updates_the_snapshot(self, sidecar, provider):
        a = sidecar.add_node()
        provider.non_terminated_nodes({})
        sidecar.reset_counts()

        provider.set_node_tags(a, {"ray-node-status": "up-to-date", "team": "ml"})

        [put] = sidecar.seen()
        assert (put.method, put.path, put.body) == ("PUT", f"/v1/nodes/{a}/tags", {"tags": {"ray-node-status": "up-to-date", "team": "ml"}})
        assert provider.node_tags(a)["team"] == "ml"
        assert len(sidecar.seen()) == 1

    def test_set_node_tags_on_an_unknown_node_is_a_404(self, sidecar, provider):
        with pytest.raises(SidecarError) as raised:
            provider.set_node_tags("rf-nope", {"a": "b"})
        assert raised.value.status == 404


class TestThreadSafety:
    def test_readers_never_fail_while_the_listing_is_refreshed(self, sidecar, provider):
        ids = [sidecar.add_node(ip=f"10.3.0.{i}") for i in range(50)]
        provider.non_terminated_nodes({})
        errors = []
        stop = threading.Event()

        def read_forever():
            try:
                while not stop.is_set():
                    for node_id in ids:
                        provider.node_tags(node_id)
                        provider.internal_ip(node_id)
                        provider.is_running(node_id)
            except Exception as e:  # noqa: BLE001 - any failure is the test failing
                errors.append(e)

        readers = [threading.Thread(target=read_forever) for _ in range(4)]
        for t in readers:
            t.start()
        try:
            for round_ in range(25):
                ids_now = set(provider.non_terminated_nodes({}))
                assert set(ids) <= ids_now
                sidecar.set_status(ids[round_], "up-to-date", ip=f"10.4.0.{round_}")
                sidecar.add_node()
        finally:
            stop.set()
            for t in readers:
                t.join(timeout=60)

        assert errors == []
        assert set(provider.non_terminated_nodes({})) == set(sidecar.nodes)
        assert provider.internal_ip(ids[24]) == "10.4.0.24"


class TestConfiguration:
    def test_a_missing_sidecar_url_is_named(self):
        with pytest.raises(ValueError, match="provider.sidecar_url"):
            FederatedNodeProvider({"type": "external"}, "c")

    def test_a_bad_timeout_is_named(self, sidecar):
        with pytest.raises(ValueError, match="provider.timeout_s"):
            FederatedNodeProvider({"sidecar_url": sidecar.url, "timeout_s": "soon"}, "c")

    def test_the_token_file_from_the_provider_block_is_used(self, tmp_path):
        secured = FakeSidecar(token="t0k").start()
        try:
            token_file = tmp_path / "token"
            token_file.write_text("t0k\n")
            p = FederatedNodeProvider({"sidecar_url": secured.url, "token_file": str(token_file)}, "c")
            assert p.non_terminated_nodes({}) == []
            assert secured.seen()[0].headers["authorization"] == "Bearer t0k"
        finally:
            secured.stop()

    def test_the_provider_is_read_write(self, provider):
        assert provider.is_readonly() is False
        assert provider.safe_to_scale() is True
