"""Hardware-in-the-loop: camera rate, LED loopback, display, selftest, service lifecycle.

Each test runs on the real Pi (KIOSK_HIL=1) and on the fakes; see conftest.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from gpiozero import DigitalInputDevice

from kiosk.hardware.camera import open_camera
from kiosk.hardware.display import PygameDisplay
from kiosk.hardware.interfaces import Screen
from kiosk.hardware.leds import GpioLeds
from tests.hil.conftest import Backend
from tests.hil.harness import Daemon

pytestmark = pytest.mark.timeout(240)

# Which LEDs are lit in each steady state (idle breathes and fault blinks: not steady).
STEADY = {"pass": {"green"}, "fail": {"red"}, "busy": {"amber"}, "off": set()}


def test_camera_delivers_frames_at_the_configured_rate(backend: Backend) -> None:
    camera = open_camera(backend.cfg, time.monotonic, realtime=True)
    camera.start()
    times: list[float] = []
    try:
        started = time.monotonic()
        while time.monotonic() - started < 3.0:
            frame = camera.read()
            if frame is None:
                time.sleep(0.002)
                continue
            times.append(frame.t)
            h, w = frame.image.shape[:2]
            assert frame.image.dtype.name == "uint8" and frame.image.shape[2] == 3
    finally:
        camera.close()
    assert len(times) > 2, "no frames"
    fps = (len(times) - 1) / (times[-1] - times[0])
    wanted = backend.cfg.loop.fps
    # a generous band: the point is "the configured rate, not a fraction or a multiple of it"
    assert 0.75 * wanted <= fps <= 1.25 * wanted, f"{fps:.1f} fps, configured {wanted:g}"
    if backend.real:
        assert (w, h) == (backend.cfg.camera.width - backend.cfg.camera.width % 2,
                          backend.cfg.camera.height - backend.cfg.camera.height % 2)


def test_each_led_pin_reads_back_what_was_driven(backend: Backend) -> None:
    leds = GpioLeds(backend.cfg.leds, pin_factory=backend.pin_factory)
    inputs = {out: DigitalInputDevice(inp, pull_up=False, pin_factory=backend.pin_factory)
              for out, inp in backend.loopback.items()}
    names = {backend.cfg.leds.green: "green", backend.cfg.leds.red: "red",
             backend.cfg.leds.amber: "amber"}
    try:
        for state, lit in STEADY.items():
            leds.show(state)
            time.sleep(0.05 if backend.real else 0.0)  # settle (lgpio PWM starts a thread)
            seen = {names[out]: bool(dev.value) for out, dev in inputs.items()}
            assert seen == {n: n in lit for n in names.values()}, f"state {state}: read {seen}"
    finally:
        leds.close()
        for dev in inputs.values():
            dev.close()


def test_display_opens_and_draws(backend: Backend) -> None:
    # the real run forces SDL_VIDEODRIVER=kmsdrm (conftest): no desktop, straight to DRM
    display = PygameDisplay(backend.cfg.display, emulator=backend.emulator)
    try:
        assert display.pg.display.get_driver() == ("kmsdrm" if backend.real else "dummy")
        display.render(Screen(kind="attract", prompt="Hardware test"), None, None)
        w, h = display.surface.get_size()
        assert w >= 160 and h >= 120
    finally:
        display.close()


def _kiosk(backend: Backend, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    config = ["--config", str(backend.config_path)] if backend.config_path else []
    return subprocess.run([sys.executable, "-m", "kiosk", *config, *args], cwd=backend.folder,
                          capture_output=True, text=True, timeout=timeout)


def test_full_selftest(backend: Backend) -> None:
    # the real run takes its time so a person can watch the LEDs and the test pattern
    result = _kiosk(backend, "selftest", "--json", *([] if backend.real else ["--quick"]))
    report = json.loads(result.stdout)
    levels = {c["name"]: c["level"] for c in report["checks"]}
    assert set(levels) == {"leds", "camera", "display", "models"}
    assert result.returncode == 0 and "fail" not in levels.values(), report


def test_service_starts_reports_ready_and_stops_cleanly(backend: Backend) -> None:
    if backend.real:
        _real_service_cycle()
    else:
        _fake_service_cycle(backend)


def _systemctl_show(*props: str) -> dict[str, str]:
    out = subprocess.run(["systemctl", "show", "kiosk.service", "-p", ",".join(props)],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _real_service_cycle() -> None:
    # Type=notify: `start` returns only after READY=1 (or fails)
    subprocess.run(["systemctl", "start", "kiosk.service"], check=True, timeout=120)
    try:
        time.sleep(3)
        show = _systemctl_show("ActiveState", "SubState", "StatusText", "NRestarts")
        assert (show["ActiveState"], show["SubState"]) == ("active", "running"), show
        assert "fps=" in show["StatusText"], show
        status = subprocess.run([sys.executable, "-m", "kiosk", "status", "--json"],
                                capture_output=True, text=True, timeout=30)
        assert json.loads(status.stdout)["running"] is True
    finally:
        started = time.monotonic()
        subprocess.run(["systemctl", "stop", "kiosk.service"], check=True, timeout=60)
        took = time.monotonic() - started
    show = _systemctl_show("Result", "ExecMainStatus", "ActiveState")
    assert show["Result"] == "success" and show["ExecMainStatus"] == "0", show
    assert took < 10, f"stop took {took:.1f} s"


def _fake_service_cycle(backend: Backend) -> None:
    folder = backend.folder / "service"
    folder.mkdir(exist_ok=True)
    assert backend.config_path is not None
    daemon = Daemon(backend.config_path, folder).start()
    try:
        daemon.wait_for("READY=1", 60)
        daemon.wait_for("STATUS=", 10)
        status = daemon.cli("status", "--json")
        assert json.loads(status.stdout)["running"] is True, status.stderr
        code, took, output = daemon.terminate()
        assert code == 0 and took < 10, output[-2000:]
        assert daemon.notify is not None and daemon.notify.lines("STOPPING=1")
    finally:
        daemon.close()
