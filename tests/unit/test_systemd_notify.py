"""sd_notify writer and logging set-up: real datagram sockets, abstract names, no-op outside."""

from __future__ import annotations

import io
import logging
import os
import socket
import sys
import uuid
from pathlib import Path

import pytest

from kiosk.hardware import systemd
from kiosk.hardware.systemd import JournalFieldsHandler, Notifier, setup_logging

pytestmark = pytest.mark.unit


def _recv_all(sock: socket.socket) -> list[str]:
    sock.settimeout(0.5)
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except TimeoutError:
            return out


def test_messages_reach_a_path_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        n = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "4000000"})
        assert n.enabled and n.watchdog_interval() == 2.0
        n.ready()
        n.watchdog()
        n.status("liveness fps=14.9\nlag=3ms")
        n.stopping()
        n.close()
        assert _recv_all(sock) == ["READY=1", "WATCHDOG=1", "STATUS=liveness fps=14.9 lag=3ms",
                                   "STOPPING=1"]


def test_abstract_socket_name() -> None:
    name = f"kiosk-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert _recv_all(sock) == ["READY=1"]


def test_no_op_outside_systemd() -> None:
    n = Notifier({})
    assert not n.enabled and n.watchdog_interval() is None
    assert n.notify("READY=1") is False
    n.ready(), n.watchdog(), n.status("x"), n.stopping(), n.close()


def test_vanished_socket_is_logged_once_not_raised(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    with caplog.at_level(logging.WARNING):
        assert n.notify("WATCHDOG=1") is False
        assert n.notify("WATCHDOG=1") is False
    assert len([r for r in caplog.records if "cannot notify" in r.message]) == 1


def test_watchdog_for_another_pid_or_garbage_is_ignored() -> None:
    assert Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}).watchdog_interval() is None
    assert Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
                    ).watchdog_interval() == 0.5
    assert Notifier({"WATCHDOG_USEC": "soon"}).watchdog_interval() is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_interval() is None


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logger")
def test_stderr_logging_keeps_structured_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    handler = setup_logging("debug", environ={})
    assert isinstance(handler, logging.StreamHandler)
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("kiosk.test").info("session %s", "ended", extra={
        "stage": "result", "outcome": "rejected", "reason": "mouth"})
    line = stream.getvalue().strip()
    assert line.endswith("INFO kiosk.test: session ended [stage=result outcome=rejected "
                         "reason=mouth]")


@pytest.mark.usefixtures("restore_root_logger")
def test_journal_chosen_only_when_stderr_is_the_journal(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    class FakeJournalHandler(logging.Handler):
        def __init__(self, **kw: str) -> None:
            super().__init__()
            self.kw = kw

        def emit(self, record: logging.LogRecord) -> None:
            pass

    monkeypatch.setattr(systemd, "_journal_handler", lambda: FakeJournalHandler(x="1"))
    f = (tmp_path / "stream").open("w")
    monkeypatch.setattr(sys, "stderr", f)
    st = os.fstat(f.fileno())
    try:
        assert isinstance(setup_logging("info", {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}),
                          FakeJournalHandler)
        # a JOURNAL_STREAM inherited by a child whose stderr is elsewhere: not the journal
        assert isinstance(setup_logging("info", {"JOURNAL_STREAM": "1:2"}),
                          logging.StreamHandler)
        # under systemd without python3-systemd: stderr, without our own timestamps
        monkeypatch.setattr(systemd, "_journal_handler", lambda: None)
        h = setup_logging("info", {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        assert isinstance(h, logging.StreamHandler) and h.formatter is not None
        assert "asctime" not in (h.formatter._fmt or "")
    finally:
        f.close()


def test_journal_handler_sends_structured_fields_in_upper_case() -> None:
    sent: list[tuple[str, dict]] = []
    handler = JournalFieldsHandler(lambda message, **fields: sent.append((message, fields)))
    logger = logging.getLogger("kiosk.test.journal")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("session %s", "rejected", extra={"stage": "occlusion",
                                                         "outcome": "rejected",
                                                         "reason": "mouth"})
        logger.debug("hidden")  # below the logger's level: not sent
        logger.setLevel(logging.DEBUG)
        logger.debug("plain")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    (message, fields), (plain, plain_fields) = sent
    assert message == "session rejected"
    assert (fields["STAGE"], fields["OUTCOME"], fields["REASON"]) == (
        "occlusion", "rejected", "mouth")
    assert fields["PRIORITY"] == "4" and fields["SYSLOG_IDENTIFIER"] == "kiosk"
    assert fields["LOGGER"] == "kiosk.test.journal"
    assert all(k == k.upper() for k in fields), "journald drops lower-case field names"
    assert plain == "plain" and plain_fields["PRIORITY"] == "7" and "STAGE" not in plain_fields


def test_python_systemd_is_used_where_it_is_installed(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("systemd.daemon", reason="python-systemd not installed (apt "
                        "python3-systemd on the Pi; ./run installs it where libsystemd-dev is)")
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        n = Notifier()  # the process environment: sd_notify itself sends
        assert n.backend == "python-systemd"
        n.ready()
        n.status("idle fps=15.0")
        assert _recv_all(sock) == ["READY=1", "STATUS=idle fps=15.0"]
    assert Notifier({"NOTIFY_SOCKET": str(path)}).backend == "plain"


def test_capture_id_is_a_journal_field_of_its_own() -> None:
    sent: list[dict] = []
    handler = JournalFieldsHandler(lambda message, **fields: sent.append(fields))
    record = logging.LogRecord("kiosk.runtime.writer", logging.INFO, __file__, 1,
                               "selfie stored as %s", ("0000000001-ab",), None)
    record.capture_id = "0000000001-ab"
    handler.emit(record)
    assert sent[0]["CAPTURE_ID"] == "0000000001-ab"
