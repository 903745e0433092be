"""Maintenance commands against a running emulator daemon, as a maintainer uses them over SSH."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from kiosk.control.client import request
from tests.hil.harness import Daemon, kiosk_config, make_clip

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    folder = tmp_path_factory.mktemp("daemon")
    d = Daemon(kiosk_config(folder, make_clip(folder / "clip.avi")), folder).start()
    try:
        d.wait_for("READY=1", 60)
        d.wait_for("STATUS=", 10)  # a second of loop statistics exists
    except AssertionError:
        d.close()
        raise
    yield d
    d.close()


def test_status_json(daemon: Daemon) -> None:
    result = daemon.cli("status", "--json")
    assert result.returncode == 0, result.stderr
    snap = json.loads(result.stdout)
    assert snap["running"] is True and snap["ok"] is True
    for key in ("stage", "fps", "lag_ms", "overruns", "uptime_s", "outcomes", "models",
                "disk_free_mb", "clock_synchronised"):
        assert key in snap, key
    assert snap["fps"] > 0
    assert "face_detector" in snap["models"]


def test_status_text(daemon: Daemon) -> None:
    result = daemon.cli("status")
    assert result.returncode == 0, result.stderr
    for label in ("stage", "uptime", "loop", "sessions", "models", "disk free", "clock"):
        assert any(line.startswith(label) for line in result.stdout.splitlines()), (
            label, result.stdout)


def test_doctor_uses_the_daemon_and_leaves_the_camera_alone(daemon: Daemon) -> None:
    result = daemon.cli("doctor", "--json")
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert result.returncode == (0 if report["ok"] else 1)
    assert checks["model face_detector"]["level"] == "ok"
    assert checks["camera"]["detail"].startswith("delivering frames to the daemon"), checks
    # out of service (e.g. a model still missing) is a failure, anything else answers ok
    assert checks["daemon"]["level"] in ("ok", "fail")
    assert checks["daemon"]["level"] == "ok" or "out of service" in checks["daemon"]["detail"]


def test_selftest_refuses_while_the_daemon_runs(daemon: Daemon) -> None:
    result = daemon.cli("selftest", "--json")
    assert result.returncode == 2
    assert "sudo systemctl stop kiosk" in json.loads(result.stdout)["error"]


def test_malformed_requests_do_not_hurt_the_daemon(daemon: Daemon) -> None:
    for junk in (b"{not json\n", b"\x00\xff" * 1000 + b"\n", b'{"cmd": "reboot"}\n', b"x" * 70000):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(daemon.control_socket))
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            reply = json.loads(s.makefile("rb").readline())
            assert reply["ok"] is False and reply["error"]
    assert request(daemon.control_socket, "status")["ok"]
    assert daemon.proc is not None and daemon.proc.poll() is None


def test_after_stop_status_says_not_running(daemon: Daemon) -> None:
    # defined last on purpose: it stops the module's shared daemon
    code, _, output = daemon.terminate()
    assert code == 0, output[-2000:]
    result = daemon.cli("status")
    assert result.returncode == 3
    assert "NOT RUNNING" in result.stdout
    doctor = json.loads(daemon.cli("doctor", "--json").stdout)
    assert {c["name"]: c["level"] for c in doctor["checks"]}["daemon"] == "warn"

