"""The blink cue's tone through pygame's mixer, generated with numpy; silent without a device."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

RATE = 22050
CUE_HZ = 880.0  # A5: clear over a noisy room, well inside what older ears still hear
CUE_S = 0.15
FADE_S = 0.012  # raised-cosine edges: no click at start or end


def tone(hz: float = CUE_HZ, seconds: float = CUE_S, volume: float = 0.6,
         rate: int = RATE) -> np.ndarray:
    """A short tone as int16 samples: the note plus a soft octave, faded in and out."""
    t = np.arange(round(seconds * rate)) / rate
    wave = 0.8 * np.sin(2 * np.pi * hz * t) + 0.2 * np.sin(4 * np.pi * hz * t)
    wave /= max(1e-9, float(np.abs(wave).max()))  # `volume` is the peak
    fade = min(len(t) // 2, round(FADE_S * rate))
    if fade:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade))
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
    return (wave * volume * 32767).astype(np.int16)


class Tones:
    """Plays the cue tone; with sound off or no device it stays silent and says why."""

    def __init__(self, enabled: bool = True, volume: float = 0.6) -> None:
        self.reason = ""  # why there is no sound ("" = sound works)
        self._cue: Any = None
        self._pg: Any = None
        if not enabled:
            self.reason = "off in the config (ui.sound = false)"
            return
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        try:
            import pygame as pg
        except ImportError as e:
            self.reason = f"pygame is not installed ({e})"
            return
        try:
            # allowedchanges=0: SDL converts to exactly this format, so the samples fit it
            pg.mixer.init(frequency=RATE, size=-16, channels=1, buffer=512, allowedchanges=0)
            self._cue = pg.sndarray.make_sound(tone(volume=volume))
        except pg.error as e:
            self.reason = f"no sound device ({e})"
            log.warning("blink cues will be silent: %s", self.reason)
            return
        self._pg = pg

    @property
    def available(self) -> bool:
        return self._cue is not None

    def cue(self) -> None:
        if self._cue is None or self._pg is None:
            return
        try:
            self._cue.play()
        except self._pg.error as e:  # the device went away: carry on in silence
            log.warning("cannot play the cue tone: %s", e)
            self._cue = None
            self.reason = f"sound device lost ({e})"

    def close(self) -> None:
        if self._pg is not None:
            self._pg.mixer.quit()
            self._pg = self._cue = None


def sound_cards(path: Path = Path("/proc/asound/cards")) -> list[str]:
    """Names of the ALSA sound cards ([] when there are none or ALSA is absent)."""
    try:
        text = path.read_text()
    except OSError:
        return []
    return re.findall(r"^\s*\d+\s+\[[^\]]*\]:\s*(.+?)\s*$", text, flags=re.M)
