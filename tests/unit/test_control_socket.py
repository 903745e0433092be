"""Control socket: replies, malformed requests, limits, stale sockets, permissions, paths."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from kiosk.config import Config
from kiosk.control.client import request
from kiosk.control.server import MAX_REQUEST_BYTES, ControlServer, socket_path
from kiosk.errors import ControlError, DaemonNotRunningError

pytestmark = pytest.mark.unit


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "control.sock"


def _raw(path: Path, data: bytes, shut: bool = True) -> list[dict]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        buf = b""
        while chunk := s.recv(65536):
            buf += chunk
    return [json.loads(line) for line in buf.splitlines()]


def test_status_round_trip_and_ping(sock_path: Path) -> None:
    snapshot = {"stage": "idle", "fps": 15.0, "disk_free_mb": float("nan")}
    with ControlServer(sock_path, {"status": lambda req: dict(snapshot)}):
        reply = request(sock_path, "status")
        assert reply == {"ok": True, "stage": "idle", "fps": 15.0, "disk_free_mb": None}
        ping = request(sock_path, "ping")
        assert ping["ok"] and ping["pid"] == os.getpid() and "status" in ping["commands"]
    assert not sock_path.exists(), "close() removes the socket file"


def test_handler_receives_request_fields(sock_path: Path) -> None:
    with ControlServer(sock_path, {"echo": lambda req: {"n": req["n"] * 2}}):
        assert request(sock_path, "echo", n=21) == {"ok": True, "n": 42}


def test_malformed_requests_get_errors_and_server_survives(sock_path: Path) -> None:
    def boom(req: dict) -> dict:
        raise RuntimeError("handler bug")

    with ControlServer(sock_path, {"status": lambda r: {"x": 1}, "boom": boom,
                                   "bad": lambda r: [1, 2]}):  # type: ignore[dict-item]
        replies = _raw(sock_path, b"not json\n[1,2]\n{\"cmd\": 3}\n{\"cmd\": \"nope\"}\n"
                                  b"{\"cmd\": \"boom\"}\n{\"cmd\": \"bad\"}\n\xff\xfe\n"
                                  b"{\"cmd\": \"status\"}\n")
        assert [r["ok"] for r in replies] == [False] * 7 + [True]
        assert "not valid JSON" in replies[0]["error"]
        assert "string \"cmd\"" in replies[1]["error"]
        assert "unknown command 'nope'" in replies[3]["error"] and "status" in replies[3]["error"]
        assert "RuntimeError: handler bug" in replies[4]["error"]
        assert "not an object" in replies[5]["error"]
        # a request without its final newline is still answered
        assert _raw(sock_path, b'{"cmd": "status"}') == [{"ok": True, "x": 1}]
        assert request(sock_path, "status")["ok"]


def test_huge_request_is_refused(sock_path: Path) -> None:
    with ControlServer(sock_path, {"status": lambda r: {}}):
        replies = _raw(sock_path, b"x" * (MAX_REQUEST_BYTES + 10_000), shut=False)
        assert replies and not replies[0]["ok"] and "larger than" in replies[0]["error"]
        assert request(sock_path, "status")["ok"]


def test_clients_that_vanish_or_stall_do_not_block_others(sock_path: Path) -> None:
    with ControlServer(sock_path, {"status": lambda r: {"s": 1}}):
        silent = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
        for s in silent:
            s.connect(str(sock_path))
        gone = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        gone.connect(str(sock_path))
        gone.sendall(b'{"cmd": "sta')
        gone.close()
        assert request(sock_path, "status") == {"ok": True, "s": 1}
        for s in silent:
            s.close()


def test_concurrent_requests(sock_path: Path) -> None:
    results: list[dict] = []
    with ControlServer(sock_path, {"status": lambda r: {"s": 1}}):
        threads = [threading.Thread(target=lambda: results.append(request(sock_path, "status")))
                   for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [{"ok": True, "s": 1}] * 6


def test_socket_is_group_restricted(sock_path: Path) -> None:
    with ControlServer(sock_path, {}):
        assert stat.S_IMODE(sock_path.stat().st_mode) == 0o660
        assert stat.S_ISSOCK(sock_path.stat().st_mode)


def test_stale_socket_is_replaced_live_one_is_refused(sock_path: Path) -> None:
    sock_path.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock_path))
    stale.close()  # file left behind, nobody listening: what a crash leaves
    with ControlServer(sock_path, {"status": lambda r: {}}):
        assert request(sock_path, "status")["ok"]
        with pytest.raises(ControlError, match="already serves"):
            ControlServer(sock_path, {}).start()
        assert request(sock_path, "status")["ok"], "the refused second server left ours alone"


def test_client_errors_are_clear(sock_path: Path, tmp_path: Path) -> None:
    with pytest.raises(DaemonNotRunningError, match="not running"):
        request(sock_path, "status")
    sock_path.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock_path))
    stale.close()
    with pytest.raises(DaemonNotRunningError):
        request(sock_path, "status")
    # a listener that never answers: timeout, not a hang
    mute_path = tmp_path / "mute.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mute:
        mute.bind(str(mute_path))
        mute.listen(1)
        with pytest.raises(ControlError, match="did not answer"):
            request(mute_path, "status", timeout=0.3)


def test_too_long_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ControlError, match="too long"):
        ControlServer(tmp_path / ("x" * 120) / "control.sock", {}).start()


def test_socket_path_rules() -> None:
    pi, emu = Config(hardware="pi"), Config(hardware="emulator")
    assert socket_path(pi, environ={"KIOSK_CONTROL_SOCKET": "/x/c.sock"}) == Path("/x/c.sock")
    assert socket_path(pi, environ={"RUNTIME_DIRECTORY": "/run/kiosk:/run/other"}) == Path(
        "/run/kiosk/control.sock")
    assert socket_path(pi, environ={}) == Path("/run/kiosk/control.sock")
    assert socket_path(emu, environ={"XDG_RUNTIME_DIR": "/run/user/7"}) == Path(
        "/run/user/7/kiosk/control.sock")
    assert socket_path(emu, environ={}).name == "control.sock"
    assert f"kiosk-{os.getuid()}" in str(socket_path(emu, environ={}))
    assert socket_path(pi, emulator=True, environ={}) == socket_path(emu, environ={})
