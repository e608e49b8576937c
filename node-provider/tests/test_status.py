"""``ray-federation status`` against the fake sidecar: the table, --json, --watch, errors."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest

from fake_sidecar import FakeSidecar
from ray_federation.status import main, parse_quantity


def _run(*args: str, environ=None, sleep=None):
    out, err = io.StringIO(), io.StringIO()
    kwargs = {"out": out, "err": err, "environ": environ if environ is not None else {}}
    if sleep is not None:
        kwargs["sleep"] = sleep
    code = main(["status", *args], **kwargs)
    return code, out.getvalue(), err.getvalue()


def _row(text: str, first_cell: str) -> list:
    """The cells (split on 2+ spaces) of the table row starting with ``first_cell``."""
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


def _free_port_nobody_listens_on() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestTable:
    def test_members_pools_and_virtual_clusters_like_ray_status(self, sidecar: FakeSidecar):
        five_minutes_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5, seconds=10)).isoformat()
        sidecar.clusters[1]["stateSince"] = five_minutes_ago

        code, text, err = _run("--url", sidecar.url)

        assert code == 0, err
        assert text.startswith("======== ray-federation status: ")
        assert f"Sidecar: {sidecar.url}" in text
        header = _row(text, "NAME")
        assert header == ["NAME", "CLOUD", "STATE", "BREAKER", "CPU FREE/ALLOC", "MEMORY FREE/ALLOC", "NODES", "BACK-OFFS"]
        # 64 CPU, 12.5 allocated -> 51.5 free; 256Gi, 48Gi allocated -> 208Gi free
        assert _row(text, "aws-use1") == ["aws-use1", "aws", "healthy", "closed", "51.5/12.5", "208Gi/48Gi", "6", "0"]
        # capacity unknown while unreachable
        assert _row(text, "gcp-usc1") == ["gcp-usc1", "gcp", "unreachable", "open", "?", "?", "2", "1"]
        assert _row(text, "cpu-small") == ["cpu-small", "vc-batch", "6", "1", "50", "spread", "aws-use1=6"]
        assert _row(text, "gpu-l4") == ["gpu-l4", "vc-gpu", "2", "0", "200", "priority", "gcp-usc1=2"]
        assert _row(text, "vc-batch") == ["vc-batch", "12/16 (75%)", "0/-", "24Gi/64Gi (38%)"]
        assert _row(text, "vc-gpu") == ["vc-gpu", "16/-", "2/-", "64Gi/-"]
        attention = text.split("Attention:\n", 1)[1]
        assert " member gcp-usc1 is unreachable for 5m: GET /version: connection refused" in attention
        assert " breaker cloud:gcp is open" in attention and "5 of 10 calls failed" in attention
        assert " back-off gcp-usc1/gpu-l4: pause 120s after 2 failure(s)" in attention
        assert "worker evicted" in attention
        assert [r.path for r in sidecar.seen()] == ["/v1/clusters", "/v1/pools", "/v1/events"]
        assert sidecar.seen(path="/v1/events")[0].query == "limit=5"

    def test_a_healthy_federation_needs_no_attention(self, sidecar: FakeSidecar):
        sidecar.clusters = [sidecar.clusters[0]]
        code, text, _ = _run("--url", sidecar.url)
        assert code == 0
        assert "(nothing: every member healthy, every breaker closed, no back-off)" in text

    def test_cordoned_members_and_a_refused_reload_need_attention(self, sidecar: FakeSidecar):
        sidecar.clusters = [dict(sidecar.clusters[0], cordoned=True, cordonedBy="alice", cordonReason="kernel upgrade",
                                 cordonedSince=(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)).isoformat())]
        sidecar.config.update(lastReload="refused", problems=["rayCluster.name: cannot change live", "api.listen: x"])
        code, text, _ = _run("--url", sidecar.url)
        assert code == 0
        attention = text.split("Attention:\n", 1)[1]
        assert " member aws-use1 is cordoned by alice for 3m: kernel upgrade (no new workers; 6 still there)" in attention
        assert " config reload refused, generation 1 stays in force: rayCluster.name: cannot change live (and 1 more)" in attention

    def test_a_member_failing_its_network_preflight_needs_attention(self, sidecar: FakeSidecar):
        since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)).isoformat()
        sidecar.clusters = [dict(sidecar.clusters[0], preflight={
            "result": "failed", "direction": "worker -> head", "error": "cannot connect to 10.0.0.12:6379: timed out",
            "since": since, "lastRunAt": since, "note": None}), dict(sidecar.clusters[1], preflight={
            "result": "ok", "direction": None, "error": None, "since": since, "lastRunAt": since, "note": None})]
        code, text, _ = _run("--url", sidecar.url)
        assert code == 0
        attention = text.split("Attention:\n", 1)[1]
        assert (" member aws-use1 failed network preflight for 2m: worker -> head: cannot connect to 10.0.0.12:6379: "
                "timed out") in attention
        assert "gcp-usc1 failed network preflight" not in attention

    def test_gpu_column_when_a_member_has_gpus(self, sidecar: FakeSidecar):
        sidecar.clusters[0]["capacity"] = {"CPU": "64", "GPU": "8", "memory": "256Gi"}
        sidecar.clusters[0]["allocated"] = {"CPU": "8", "GPU": "3", "memory": "1536Mi"}
        code, text, _ = _run("--url", sidecar.url)
        assert code == 0
        assert _row(text, "NAME")[4:7] == ["CPU FREE/ALLOC", "GPU FREE/ALLOC", "MEMORY FREE/ALLOC"]
        assert _row(text, "aws-use1")[4:7] == ["56/8", "5/3", "254.5Gi/1.5Gi"]


class TestDecisions:
    def test_latest_decisions_newest_first_with_members_and_reasons(self, sidecar: FakeSidecar):
        now = dt.datetime.now(dt.timezone.utc)
        sidecar.events[0]["time"] = (now - dt.timedelta(seconds=9)).isoformat()
        sidecar.events[1]["time"] = (now - dt.timedelta(minutes=3, seconds=5)).isoformat()

        code, text, err = _run("--url", sidecar.url)

        assert code == 0, err
        section = text.split("Latest decisions (newest first):\n", 1)[1].split("\n\n", 1)[0]
        assert _row(section, "AGE") == ["AGE", "KIND", "POOL", "MEMBERS", "COUNT", "REASON"]
        rows = [re.split(r"\s{2,}", line.strip()) for line in section.splitlines()[1:]]
        assert rows[0] == ["9s", "replaced", "gpu-l4", "aws-use1 -> gcp-usc1", "1",
                           "re-placed from aws-use1: unschedulable: 0/4 nodes are available"]
        assert rows[1] == ["3m", "rejected", "cpu-small", "-", "3", "quota: virtual cluster vc-batch quota CPU=16 with 16 in use"]
        assert rows[2][1:] == ["placed", "cpu-small", "aws-use1", "2", "spread: 2 of 2 requested placed (aws-use1 2)"]
        assert rows[3][1:] == ["terminated", "cpu-small", "aws-use1", "1", "terminated at Ray's request"]
        assert len(rows) == 4
        assert text.index("Latest decisions") < text.index("Attention:")

    def test_decisions_n_asks_for_n(self, sidecar: FakeSidecar):
        code, text, err = _run("--url", sidecar.url, "--decisions", "2")
        assert code == 0, err
        assert [r.query for r in sidecar.seen(path="/v1/events")] == ["limit=2"]
        section = text.split("Latest decisions (newest first):\n", 1)[1].split("\n\n", 1)[0]
        assert [re.split(r"\s{2,}", line.strip())[1] for line in section.splitlines()[1:]] == ["replaced", "rejected"]

    def test_no_decisions_yet(self, sidecar: FakeSidecar):
        sidecar.events = []
        code, text, _ = _run("--url", sidecar.url)
        assert code == 0
        assert "Latest decisions (newest first):\n (none yet)\n" in text

    def test_decisions_0_leaves_them_out(self, sidecar: FakeSidecar):
        code, text, _ = _run("--url", sidecar.url, "--decisions", "0")
        assert code == 0
        assert "Latest decisions" not in text
        assert [r.path for r in sidecar.seen()] == ["/v1/clusters", "/v1/pools"]
        code, text, _ = _run("--url", sidecar.url, "--decisions", "0", "--json")
        assert "events" not in json.loads(text)


class TestJson:
    def test_json_is_the_documents(self, sidecar: FakeSidecar):
        code, text, err = _run("--url", sidecar.url, "--json")
        assert code == 0, err
        doc = json.loads(text)
        assert doc == {"clusters": sidecar.clusters, "config": sidecar.config, "pools": sidecar.pools,
                       "virtualClusters": sidecar.virtual_clusters, "events": sidecar.events}

    def test_json_decisions_n(self, sidecar: FakeSidecar):
        code, text, err = _run("--url", sidecar.url, "--json", "--decisions", "1")
        assert code == 0, err
        assert json.loads(text)["events"] == sidecar.events[:1]


class TestWatch:
    def test_watch_refreshes_until_interrupted(self, sidecar: FakeSidecar):
        pauses = []

        def sleep(seconds: float) -> None:
            pauses.append(seconds)
            if len(pauses) == 1:
                sidecar.clusters[0]["nodes"] = 9  # the next refresh shows the change
            else:
                raise KeyboardInterrupt

        code, text, _ = _run("--url", sidecar.url, "--watch", "7", sleep=sleep)

        assert code == 0
        assert pauses == [7.0, 7.0]
        assert text.count("======== ray-federation status: ") == 2
        first, second = text.split("======== ray-federation status: ")[1:]
        assert _row(first, "aws-use1")[6] == "6"
        assert _row(second, "aws-use1")[6] == "9"

    def test_watch_without_seconds_refreshes_every_2s_and_json_watch_prints_json_lines(self, sidecar: FakeSidecar):
        pauses = []

        def sleep(seconds: float) -> None:
            pauses.append(seconds)
            if len(pauses) == 3:
                raise KeyboardInterrupt

        code, text, _ = _run("--url", sidecar.url, "--json", "--watch", sleep=sleep)

        assert code == 0
        assert pauses == [2.0, 2.0, 2.0]
        lines = text.splitlines()
        assert len(lines) == 3
        assert all(json.loads(line)["pools"] == sidecar.pools for line in lines)

    def test_watch_keeps_going_when_the_sidecar_is_briefly_unreadable(self, sidecar: FakeSidecar):
        sidecar.token = "secret"  # the first read fails (no token)...
        pauses = []

        def sleep(seconds: float) -> None:
            pauses.append(seconds)
            if len(pauses) == 1:
                sidecar.token = None  # ...then it answers
            else:
                raise KeyboardInterrupt

        code, text, err = _run("--url", sidecar.url, "--watch", "1", sleep=sleep)
        assert code == 0
        assert "unauthorized" in err
        assert text.count("======== ray-federation status: ") == 1


class TestConnectionAndErrors:
    def test_token_file(self, tmp_path):
        fake = FakeSidecar(token="s3cret").start()
        try:
            token = tmp_path / "token"
            token.write_text("s3cret\n")
            code, _, err = _run("--url", fake.url, "--json")
            assert code == 1
            assert "unauthorized" in err
            code, text, err = _run("--url", fake.url, "--json", "--token-file", str(token))
            assert code == 0, err
            assert json.loads(text)["clusters"][0]["name"] == "aws-use1"
            code, text, err = _run("--json", environ={"RAY_FEDERATION_SIDECAR_URL": fake.url,
                                                      "RAY_FEDERATION_TOKEN_FILE": str(token)})
            assert code == 0, err
        finally:
            fake.stop()

    def test_url_from_the_environment(self, sidecar: FakeSidecar):
        code, text, err = _run(environ={"RAY_FEDERATION_SIDECAR_URL": sidecar.url})
        assert code == 0, err
        assert f"Sidecar: {sidecar.url}" in text

    def test_unreachable_sidecar_exits_1_naming_the_url(self):
        url = f"http://127.0.0.1:{_free_port_nobody_listens_on()}"
        code, text, err = _run("--url", url, "--timeout", "0.5")
        assert code == 1
        assert text == ""
        assert f"cannot read {url}" in err

    @pytest.mark.parametrize(
        "args, field",
        [
            (["--url", "ftp://example"], "--url"),
            (["--url", "127.0.0.1:8765"], "--url"),
            (["--watch", "0"], "--watch"),
            (["--watch", "soon"], "--watch"),
            (["--timeout", "-1"], "--timeout"),
            (["--decisions", "-1"], "--decisions"),
            (["--decisions", "1001"], "--decisions"),
            (["--decisions", "many"], "--decisions"),
        ],
    )
    def test_bad_arguments_exit_2_naming_the_option(self, args, field, capsys):
        code, _, err = _run(*args)
        assert code == 2
        assert field in err + capsys.readouterr().err

    def test_unknown_command(self, capsys):
        out, err = io.StringIO(), io.StringIO()
        assert main(["stats"], out=out, err=err, environ={}) == 2
        assert "invalid choice" in capsys.readouterr().err


class TestQuantities:
    @pytest.mark.parametrize(
        "text, value",
        [("2", 2.0), ("500m", 0.5), ("64Gi", 64 * 2.0**30), ("1.5k", 1500.0), ("1e3", 1000.0), (3, 3.0),
         (None, None), ("lots", None), ("12.5e-1", 1.25)],
    )
    def test_parse(self, text, value):
        assert parse_quantity(text) == value


def test_console_script_is_installed(sidecar: FakeSidecar):
    """`ray-federation status` as installed with the package (pip install, editable or not)."""
    script = shutil.which("ray-federation", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the package is not installed in this Python's environment (no ray-federation script)")
    done = subprocess.run([script, "status", "--url", sidecar.url, "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["virtualClusters"][0]["name"] == "vc-batch"
