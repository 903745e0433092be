"""`kiosk run` with no config or a broken one: up, out of service, feeding the watchdog, no key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk import config
from tests.conftest import ROOT
from tests.hil.harness import NotifyListener

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]

WATCHDOG_S = 1.0


def start(folder: Path, **env: str) -> tuple[subprocess.Popen[str], NotifyListener]:
    (folder / "state").mkdir(parents=True)  # systemd's StateDirectory=
    notify = NotifyListener(folder / "notify.sock")
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("KIOSK_", "NOTIFY_", "WATCHDOG_", "STATE_", "RUNTIME_"))}
    environ.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", HOME=str(folder),
                   KIOSK_CONTROL_SOCKET=str(folder / "control.sock"),
                   STATE_DIRECTORY=str(folder / "state"), NOTIFY_SOCKET=str(notify.path),
                   WATCHDOG_USEC=str(int(WATCHDOG_S * 1e6)), PYTHONPATH=str(ROOT), **env)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run"], cwd=folder, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, notify


def status(folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "kiosk", "status", "--json"], cwd=folder,
                         env={**os.environ, "KIOSK_CONTROL_SOCKET": str(folder / "control.sock"),
                              "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)


def test_no_config_or_a_broken_one_keeps_the_daemon_up_out_of_service(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('hardware = "pi"\n[camera\nsource = "picamera2"\n')
    cases = {"broken": ("not valid TOML", {"KIOSK_CONFIG": str(broken)})}
    if not config.DEFAULT_PATH.exists():  # on a machine that is a kiosk, skip this half
        cases["missing"] = ("no config file", {})
    daemons = {name: (*start(tmp_path / name, **env), needle)
               for name, (needle, env) in cases.items()}
    try:
        for name, (proc, notify, needle) in daemons.items():
            ready = notify.wait_for("READY=1", 60)
            time.sleep(max(0.0, ready + 2.5 * WATCHDOG_S - time.monotonic()))
            assert proc.poll() is None, f"{name}: exited {proc.returncode}"
            pings = [t for t, _ in notify.lines("WATCHDOG=1") if t > ready + WATCHDOG_S]
            assert len(pings) >= 3, f"{name}: the watchdog is not fed while out of service"
            snap = status(tmp_path / name)
            assert snap["stage"] == "fault" and needle in snap["fault"], snap
            on_disk = json.loads((tmp_path / name / "state" / "status.json").read_text())
            assert on_disk["stage"] == "fault" and needle in on_disk["fault"]
    finally:
        outputs = {}
        for name, (proc, notify, _) in daemons.items():
            proc.send_signal(signal.SIGTERM)
            outputs[name] = proc.communicate(timeout=30)[0]
            notify.close()
    for name, (proc, _, needle) in daemons.items():
        assert proc.returncode == 0, outputs[name][-2000:]
        assert f"out of service: {needle}" in outputs[name] or needle in outputs[name]
        assert "Traceback" not in outputs[name], outputs[name][-3000:]
        made = sorted(p.name for p in (tmp_path / name).rglob("*") if p.is_file())
        assert not any(n.endswith(".key") for n in made), made  # no key pair, anywhere here
        assert made == ["status.json"], made  # nothing but the status snapshot
