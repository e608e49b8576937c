"""SidecarClient: keep-alive, bearer tokens, error shape, retries, deadlines."""

from __future__ import annotations

import os
import socket

import pytest

from fake_sidecar import FakeSidecar
from ray_federation.client import SidecarClient, SidecarError


def _create_body(request_id: str, count: int = 2) -> dict:
    return {
        "nodeType": "cpu-small",
        "count": count,
        "requestId": request_id,
        "tags": {"ray-node-type": "worker", "ray-user-node-type": "cpu-small"},
        "resources": {"CPU": 2},
        "labels": {},
        "nodeConfig": {},
    }


def _free_port_nobody_listens_on() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_token(path, token: str) -> None:
    # Like a Kubernetes Secret update: write elsewhere, then swap in atomically.
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(token + "\n")
    os.replace(tmp, path)


class TestConnections:
    def test_many_calls_share_one_keep_alive_connection(self, sidecar: FakeSidecar):
        client = SidecarClient(sidecar.url)
        for _ in range(25):
            client.list_nodes()
        assert sidecar.connections == 1
        assert len(sidecar.seen("GET", "/v1/nodes")) == 25

    def test_reconnects_when_the_sidecar_closed_an_idle_connection(self, sidecar: FakeSidecar):
        client = SidecarClient(sidecar.url)
        sidecar.add_node()
        client.list_nodes()
        sidecar.sever_connections()

        answer = client.list_nodes()

        assert len(answer.body["nodes"]) == 1
        assert sidecar.connections == 2

    def test_unreachable_sidecar_is_reported_with_the_call_that_failed(self):
        client = SidecarClient(f"http://127.0.0.1:{_free_port_nobody_listens_on()}", timeout_s=0.5)
        with pytest.raises(SidecarError) as raised:
            client.list_nodes()
        assert raised.value.status is None
        assert raised.value.code == "unreachable"
        assert "GET /v1/nodes" in str(raised.value)

    def test_a_slow_sidecar_fails_the_call_within_its_budget_as_a_timeout(self, sidecar: FakeSidecar):
        sidecar.delay_answers(3)
        client = SidecarClient(sidecar.url, timeout_s=0.3)
        with pytest.raises(SidecarError) as raised:
            client.list_nodes()
        assert raised.value.code == "timeout"
        assert len(sidecar.seen("GET", "/v1/nodes")) == 1  # a timed-out call is not repeated


class TestConditionalGet:
    def test_an_unchanged_listing_is_answered_304_without_a_body(self, sidecar: FakeSidecar):
        sidecar.add_node()
        client = SidecarClient(sidecar.url)
        first = client.list_nodes()

        second = client.list_nodes(etag=first.etag)

        assert first.etag
        assert second.not_modified and second.body is None
        assert sidecar.seen("GET", "/v1/nodes")[1].headers["if-none-match"] == first.etag


class TestRetries:
    def test_a_create_whose_answer_was_lost_is_retried_and_creates_once(self, sidecar: FakeSidecar):
        client = SidecarClient(sidecar.url)
        sidecar.drop_answer_once("POST", "/v1/nodes")

        answer = client.create_nodes(_create_body("req-1", count=3))

        posts = sidecar.seen("POST", "/v1/nodes")
        assert [p.body["requestId"] for p in posts] == ["req-1", "req-1"]
        assert len(answer["created"]) == 3
        assert len(sidecar.nodes) == 3

    def test_a_call_marked_unsafe_to_repeat_is_not_retried(self, sidecar: FakeSidecar):
        client = SidecarClient(sidecar.url)
        sidecar.drop_answer_once("POST", "/v1/nodes:terminate")
        with pytest.raises(SidecarError) as raised:
            client.request("POST", "/v1/nodes:terminate", {"ids": []}, idempotent=False)
        assert raised.value.code == "unreachable"
        assert len(sidecar.seen("POST", "/v1/nodes:terminate")) == 1


class TestErrors:
    def test_the_sidecars_error_code_message_and_field_are_surfaced(self, sidecar: FakeSidecar):
        client = SidecarClient(sidecar.url)
        body = _create_body("req-2")
        body["nodeType"] = "no-such-pool"
        with pytest.raises(SidecarError) as raised:
            client.create_nodes(body)
        e = raised.value
        assert (e.status, e.code, e.field) == (400, "invalid", "nodeType")
        assert "no-such-pool" in e.message
        assert "field nodeType" in str(e)

    def test_reusing_a_request_id_with_another_body_is_a_conflict(self, sidecar: FakeSidecar):
        client = SidecarClient(sidecar.url)
        client.create_nodes(_create_body("req-3", count=1))
        with pytest.raises(SidecarError) as raised:
            client.create_nodes(_create_body("req-3", count=2))
        assert raised.value.status == 409

    def test_a_create_without_request_id_is_refused_before_sending(self, sidecar: FakeSidecar):
        client = SidecarClient(sidecar.url)
        with pytest.raises(ValueError, match="requestId"):
            client.create_nodes({"nodeType": "cpu-small", "count": 1})
        assert sidecar.seen() == []

    def test_a_bad_url_names_the_setting(self):
        with pytest.raises(ValueError, match="sidecar_url"):
            SidecarClient("127.0.0.1:8765")


class TestBearerToken:
    def test_the_token_file_is_sent_as_a_bearer_token(self, tmp_path):
        sidecar = FakeSidecar(token="s3cret").start()
        try:
            token_file = tmp_path / "token"
            _write_token(token_file, "s3cret")
            client = SidecarClient(sidecar.url, token_file=str(token_file))

            client.list_nodes()

            assert sidecar.seen()[0].headers["authorization"] == "Bearer s3cret"
        finally:
            sidecar.stop()

    def test_a_rotated_token_file_is_picked_up_without_a_restart(self, tmp_path):
        sidecar = FakeSidecar(token="old-token").start()
        try:
            token_file = tmp_path / "token"
            _write_token(token_file, "old-token")
            client = SidecarClient(sidecar.url, token_file=str(token_file))
            client.list_nodes()

            sidecar.token = "new-token"
            _write_token(token_file, "new-token")
            client.list_nodes()

            assert [r.status for r in sidecar.seen()] == [200, 200]
            assert sidecar.seen()[-1].headers["authorization"] == "Bearer new-token"
        finally:
            sidecar.stop()

    def test_a_wrong_token_is_surfaced_as_401_pointing_at_the_token_file(self, tmp_path):
        sidecar = FakeSidecar(token="right").start()
        try:
            token_file = tmp_path / "token"
            _write_token(token_file, "wrong")
            client = SidecarClient(sidecar.url, token_file=str(token_file))
            with pytest.raises(SidecarError) as raised:
                client.list_nodes()
            assert raised.value.status == 401
            assert "token_file" in str(raised.value)
        finally:
            sidecar.stop()

    def test_a_missing_token_file_names_the_file(self, sidecar: FakeSidecar, tmp_path):
        client = SidecarClient(sidecar.url, token_file=str(tmp_path / "absent"))
        with pytest.raises(SidecarError) as raised:
            client.list_nodes()
        assert raised.value.field == "token_file"
        assert "absent" in raised.value.message
        assert sidecar.seen() == []


class TestNotReady:
    def test_a_sidecar_that_is_not_ready_yet_is_waited_for_within_the_deadline(self, sidecar):
        # A restarting sidecar answers 503 until its members have synced; Ray's v1 autoscaler gives up
        # after 5 failed iterations in total, so a short wait inside one call is worth it.
        sidecar.not_ready_answers = 2
        client = SidecarClient(sidecar.url, timeout_s=4.0)
        response = client.request("GET", "/v1/nodes")
        assert response.status == 200
        assert len(sidecar.seen("GET", "/v1/nodes")) == 3

    def test_a_sidecar_that_stays_not_ready_surfaces_the_503_before_the_deadline(self, sidecar):
        sidecar.not_ready_answers = 1000
        client = SidecarClient(sidecar.url, timeout_s=0.5)
        with pytest.raises(SidecarError) as err:
            client.request("GET", "/v1/nodes")
        assert err.value.status == 503
        assert err.value.code == "not_ready"


class TestEvents:
    def test_filters_and_limit_become_the_query(self, sidecar: FakeSidecar):
        client = SidecarClient(sidecar.url)

        answer = client.events(limit=1, pool="gpu-l4", member="gcp-usc1", kind=None)

        assert [e["kind"] for e in answer["events"]] == ["replaced"]
        assert sidecar.seen("GET", "/v1/events")[0].query == "member=gcp-usc1&pool=gpu-l4&limit=1"
        client.close()

    def test_a_refused_filter_names_the_parameter(self, sidecar: FakeSidecar):
        client = SidecarClient(sidecar.url)
        with pytest.raises(SidecarError) as refused:
            client.events(limit=5000)
        assert refused.value.status == 400
        assert refused.value.field == "limit"
        client.close()
