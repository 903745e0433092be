"""Hardware-in-the-loop backends: the real Pi (KIOSK_HIL=1) and its fake twin for CI.

Every test in this folder takes the `backend` fixture and so runs twice: against the real
camera, GPIO loopback wires, kmsdrm screen and systemd service on a Raspberry Pi, and against
the fakes (file camera, gpiozero MockFactory with output pins wired to input pins, SDL dummy
display, `kiosk run` under a fake NOTIFY_SOCKET), so the suite cannot rot between Pi runs.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk import config as config_mod
from kiosk.hardware.leds import parse_loopback
from tests.hil.harness import kiosk_config, make_clip

HIL = os.environ.get("KIOSK_HIL") == "1"
DEFAULT_LOOPBACK = "17:5,27:6,22:13"  # the wiring table in README.md (Raspberry Pi)
NOT_ON_A_PI = ("real-hardware run: needs a Raspberry Pi with KIOSK_HIL=1 and the loopback "
               "wires in README.md (the 'fake' twin of this test runs here)")


class ConnectedPWMPin(MockPWMPin):
    """A mock output pin with a wire to another mock pin, like the loopback jumpers."""

    def __init__(self, factory: Any, info: Any, input_pin: Any = None) -> None:
        super().__init__(factory, info)
        self.input_pin = input_pin

    def _change_state(self, value: Any) -> Any:
        if self.input_pin is not None:
            # a steady PWM level at or above half reads as high on a real input pin
            if float(value) >= 0.5:
                self.input_pin.drive_high()
            else:
                self.input_pin.drive_low()
        return super()._change_state(value)


def wired_mock_factory(loopback: dict[int, int]) -> MockFactory:
    factory = MockFactory(pin_class=MockPWMPin)
    for out, inp in loopback.items():
        factory.pin(out, pin_class=ConnectedPWMPin, input_pin=factory.pin(inp))
    return factory


@dataclass
class Backend:
    name: str  # "real" or "fake"
    cfg: config_mod.Config
    config_path: Path | None
    pin_factory: Any
    loopback: dict[int, int]
    folder: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def real(self) -> bool:
        return self.name == "real"

    @property
    def emulator(self) -> bool:
        return not self.real


def _real_backend(folder: Path) -> Iterator[Backend]:
    from kiosk.hardware.leds import pin_factory_from_config

    cfg = config_mod.load()
    if cfg.hardware != "pi":
        pytest.fail(f"KIOSK_HIL=1 but the config says hardware = {cfg.hardware!r}")
    loopback = parse_loopback(os.environ.get("KIOSK_HIL_LOOPBACK", DEFAULT_LOOPBACK))
    leds = {cfg.leds.green, cfg.leds.red, cfg.leds.amber}
    if set(loopback) != leds:
        pytest.fail(f"KIOSK_HIL_LOOPBACK drives {sorted(loopback)}, the LEDs are on {sorted(leds)}")
    # the tests open the camera, screen and pins: the service must let go of them
    was_active = subprocess.run(["systemctl", "is-active", "--quiet", "kiosk.service"]
                                ).returncode == 0
    if was_active:
        subprocess.run(["systemctl", "stop", "kiosk.service"], check=True, timeout=30)
    os.environ["SDL_VIDEODRIVER"] = "kmsdrm"
    factory = pin_factory_from_config("lgpio", emulator=False)
    try:
        yield Backend("real", cfg, None, factory, loopback, folder)
    finally:
        factory.close()
        if was_active:
            subprocess.run(["systemctl", "start", "kiosk.service"], timeout=120)


def _fake_backend(folder: Path) -> Iterator[Backend]:
    path = kiosk_config(folder, make_clip(folder / "clip.avi", seconds=3.0))
    cfg = config_mod.load(path, environ={})
    loopback = parse_loopback(DEFAULT_LOOPBACK)
    factory = wired_mock_factory(loopback)
    try:
        yield Backend("fake", cfg, path, factory, loopback, folder)
    finally:
        factory.close()


@pytest.fixture(scope="module", params=[
    pytest.param("real", marks=[pytest.mark.hil, pytest.mark.skipif(not HIL, reason=NOT_ON_A_PI)]),
    pytest.param("fake", marks=pytest.mark.emulator),
])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Backend]:
    folder = tmp_path_factory.mktemp(f"hil-{request.param}")
    maker = _real_backend if request.param == "real" else _fake_backend
    yield from maker(folder)
