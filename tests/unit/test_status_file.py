"""status.json: the snapshot the fleet heartbeat reads, written atomically and group-readable."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat

import pytest

from kiosk.runtime.status import StatusPublisher

pytestmark = pytest.mark.unit


def test_status_file_is_atomic_group_readable_and_dated(tmp_path):
    path = tmp_path / "status.json"
    notified: list[str] = []
    pub = StatusPublisher(path, lambda: {"pending_sync": 3}, notified.append,
                          wall=lambda: 1_700_000_000.0)
    old = os.umask(0o077)  # the service's UMask=
    try:
        pub.refresh()
        assert not path.exists(), "nothing is written before the loop published a snapshot"
        pub.publish({"stage": "idle", "fault": ""}, "idle fps=15.0")
        pub.refresh()
    finally:
        os.umask(old)
    data = json.loads(path.read_text())
    assert data["stage"] == "idle" and data["pending_sync"] == 3
    assert dt.datetime.fromisoformat(data["written_at"]).timestamp() == 1_700_000_000.0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temp file left
    assert notified == ["idle fps=15.0"]
    assert pub.snapshot() == {"stage": "idle", "fault": "", "pending_sync": 3}


def test_status_lines_are_rate_limited_and_a_broken_probe_keeps_publishing(tmp_path):
    notified: list[str] = []
    now = [0.0]

    def broken() -> dict:
        raise RuntimeError("sqlite is locked")

    pub = StatusPublisher(tmp_path / "missing-dir" / "status.json", broken, notified.append,
                          clock=lambda: now[0])
    for i in range(30):
        now[0] = i / 8  # 8 iterations a second
        pub.publish({"stage": "idle", "i": i}, f"line {i}")
    assert notified == ["line 0", "line 8", "line 16", "line 24"]
    pub.refresh()  # neither the probe nor the unwritable folder raises
    assert pub.snapshot()["i"] == 29
