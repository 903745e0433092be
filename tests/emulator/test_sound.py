"""The cue tone: generated samples, pygame's mixer on the dummy driver, silence without one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kiosk.config import Config, UiConfig
from kiosk.control import doctor
from kiosk.hardware import sound

pytestmark = pytest.mark.emulator

pygame = pytest.importorskip("pygame")


def test_tone_is_short_faded_and_at_the_asked_pitch() -> None:
    samples = sound.tone(hz=880.0, seconds=0.15, volume=0.5, rate=22050)
    assert samples.dtype == np.int16 and len(samples) == round(0.15 * 22050)
    assert abs(int(samples[0])) < 50 and abs(int(samples[-1])) < 50  # no click at the edges
    assert 0.45 * 32767 < np.abs(samples).max() <= 0.5 * 32767 + 1
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    peak_hz = np.argmax(spectrum) * 22050 / len(samples)
    assert abs(peak_hz - 880.0) < 15


def test_tones_play_through_the_mixer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    tones = sound.Tones(True, 0.5)
    try:
        assert tones.available and tones.reason == ""
        tones.cue()
        assert pygame.mixer.get_busy()
        freq, size, channels = pygame.mixer.get_init()
        assert (freq, size, channels) == (sound.RATE, -16, 1)
    finally:
        tones.close()
    assert not pygame.mixer.get_init()


def test_no_sound_device_degrades_silently(monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    tones = sound.Tones(True, 0.5)
    assert not tones.available and "no sound device" in tones.reason
    tones.cue()  # a no-op, never an error
    tones.close()
    assert "silent" in caplog.text
    off = sound.Tones(False)
    assert not off.available and "ui.sound" in off.reason


def test_sound_cards_are_read_from_alsa(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.write_text(" 0 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0\n"
                     "                      vc4-hdmi-0\n"
                     " 1 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones\n"
                     "                      bcm2835 Headphones at bcm2835_headphones\n")
    assert sound.sound_cards(cards) == ["vc4-hdmi - vc4-hdmi-0",
                                        "bcm2835_headpho - bcm2835 Headphones"]
    (tmp_path / "none").write_text("--- no soundcards ---\n")
    assert sound.sound_cards(tmp_path / "none") == []
    assert sound.sound_cards(tmp_path / "missing") == []


class FakeTones:
    def __init__(self, reason: str = "") -> None:
        self.reason, self.closed = reason, False

    @property
    def available(self) -> bool:
        return not self.reason

    def close(self) -> None:
        self.closed = True


def test_doctor_says_when_the_cues_are_silent() -> None:
    pi = Config(hardware="pi")

    def ctx(cfg: Config = pi, **kw) -> doctor.Context:
        return doctor.Context(cfg, environ={}, emulator=cfg.hardware == "emulator", **kw)

    no_card = doctor.check_sound(ctx(), cards=lambda: [])[0]
    assert no_card.level == "warn" and "without their tone" in no_card.detail
    assert "aplay -l" in no_card.hint
    opened: list[FakeTones] = []

    def fake(reason: str = ""):
        def make() -> FakeTones:
            opened.append(FakeTones(reason))
            return opened[-1]
        return make

    hdmi = lambda: ["vc4-hdmi - vc4-hdmi-0"]  # noqa: E731
    running = doctor.check_sound(ctx(service="active"), cards=hdmi, open_tones=fake())[0]
    assert running.level == "ok" and "not opened" in running.detail and opened == []
    ready = doctor.check_sound(ctx(service="inactive"), cards=hdmi, open_tones=fake())[0]
    assert ready.level == "ok" and "vc4-hdmi" in ready.detail and opened[-1].closed
    busy = doctor.check_sound(ctx(service="inactive"), cards=hdmi,
                              open_tones=fake("no sound device (busy)"))[0]
    assert busy.level == "warn" and "busy" in busy.detail
    off = doctor.check_sound(ctx(Config(hardware="pi", ui=UiConfig(sound=False))))[0]
    assert off.level == "ok" and "ui.sound = false" in off.detail
    emulator = doctor.check_sound(ctx(Config()), cards=lambda: [],
                                  open_tones=fake("no sound device (none)"))[0]
    assert emulator.level == "warn" and emulator.hint == ""
