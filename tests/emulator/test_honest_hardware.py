"""Checks that say what they saw: no display is no display, LEDs are measured only when wired,
and a kiosk's keyboard cannot stop or steer it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pygame
import pytest

from kiosk.config import Config, DisplayConfig, LedConfig
from kiosk.control import doctor, selftest
from kiosk.hardware.display import PygameDisplay, invisible
from kiosk.hardware.leds import parse_loopback
from tests.conftest import ROOT
from tests.hil.conftest import wired_mock_factory

pytestmark = pytest.mark.emulator

SMALL = DisplayConfig(fullscreen=False, width=320, height=240)
NO_SCREEN = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def test_an_invisible_sdl_driver_is_no_display_unless_asked_for():
    assert "no display" in invisible("offscreen", {})
    assert "--headless" in invisible("dummy", {"SDL_VIDEODRIVER": "x11"})
    assert invisible("dummy", {"SDL_VIDEODRIVER": "dummy"}) == ""  # tests, --headless
    assert invisible("kmsdrm", {}) == invisible("x11", {}) == ""


@pytest.mark.skipif(not NO_SCREEN, reason="this machine has a screen: SDL would open it")
def test_emulate_without_a_display_says_so_and_fails(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "KIOSK_CONFIG")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "kiosk", "emulate", "--seconds", "1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "no display" in proc.stderr and "--headless" in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "kiosk-state").exists()  # it stopped before opening a store


@pytest.mark.parametrize("emulator, expected", [(True, ["quit", "reset"]), (False, [])])
def test_keys_reach_the_loop_only_in_the_emulator(emulator, expected):
    display = PygameDisplay(SMALL, emulator=emulator)
    try:
        for key in (pygame.K_q, pygame.K_r):
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0))
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        events = display.poll()
    finally:
        display.close()
    assert sorted(set(events)) == expected


def test_selftest_display_on_the_dummy_driver_is_a_warning_not_shown():
    check = selftest.step_display(Config(display=SMALL), selftest.Options(
        emulator=True, display_s=0.0, sleep=lambda s: None))
    assert check.level == "warn" and "nobody saw" in check.detail, check
    assert check.data["visible"] is False


def test_doctor_names_the_display_the_emulator_would_really_get(monkeypatch):
    ctx = doctor.Context(Config(), environ={"SDL_VIDEODRIVER": "dummy"}, emulator=True)
    [check] = doctor.check_display(ctx)
    assert check.level == "warn" and "nothing is shown" in check.detail


def _leds(loopback: dict[int, int], factory) -> selftest.Check:
    return selftest.step_leds(Config(leds=LedConfig(pin_factory="mock")), selftest.Options(
        emulator=True, led_step_s=0.0, pin_factory=factory, loopback=loopback,
        sleep=time.sleep))


def test_led_selftest_without_loopback_says_it_measured_nothing():
    check = _leds({}, None)
    assert check.level == "ok" and check.data["measured"] is False
    assert "nothing was measured" in check.detail


def test_led_selftest_reads_the_leds_back_on_loopback_pins():
    loopback = parse_loopback("17:5,27:6,22:13")
    check = _leds(loopback, wired_mock_factory(loopback))
    assert check.level == "ok" and check.data["measured"] is True, check
    # green's wire on the wrong input pin: the read-back disagrees and the step fails
    crossed = {17: 6, 27: 5, 22: 13}
    check = _leds(loopback, wired_mock_factory(crossed))
    assert check.level == "fail" and "pass: lit ['red'], expected ['green']" in check.detail
